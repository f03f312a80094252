/* src/proto/schema_re.c: ECMA-262 regular expressions (JSON Schema's
 * "pattern" dialect) translated to POSIX extended syntax for regcomp().
 *
 * The translation reads the pattern once, left to right, and writes an ERE
 * that accepts the same strings: class escapes become bracket expressions,
 * '.' and negated classes become "one ASCII character of the set, or one
 * whole UTF-8 sequence" so that they keep code-point semantics in the C
 * locale, and a multi-byte literal is grouped so that a quantifier applies
 * to all its bytes. What cannot be expressed is refused with a reason.
 */
#include "proto/schema_re.h"

#include "base/base.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A set of code points: an ASCII bitmap (NUL excluded) plus "every
 * non-ASCII code point" or none of them. Bracket expressions can only hold
 * ASCII here, which is what lets a negated set keep code-point semantics:
 * a multi-byte character is matched as one lead byte and its continuation
 * bytes. */
typedef struct cset {
  uint32_t bits[4];
  int nonascii;
} cset;

#define RE_UTF8_SEQ "[\xc0-\xff][\x80-\xbf]*"

/* glibc's regcomp copies a subexpression once per allowed repetition, so
 * "(a{1,100}){1,100}" builds 10,000 copies, and both regcomp and regexec
 * then slow down with the square of the copies (^a{0,1000}$ costs about
 * half a second). The translation keeps a count of atoms after repetition
 * (an atom that must also match whole UTF-8 sequences, like '.', counts
 * twice) and refuses patterns past RE_MAX_COST: ^.{1,256}$ and
 * ^[a-z]{0,512}$ are the largest of their kind. */
#define RE_MAX_GROUPS 32
#define RE_MAX_REPEAT 1000
#define RE_MAX_COST 512

typedef struct retr { /* translation state */
  const char *s;
  size_t i;
  cmcp__buf *o;
  const char *why;                /* reason when unsupported or malformed */
  size_t cost[RE_MAX_GROUPS + 1]; /* atoms in each open group so far */
  size_t last;                    /* atoms a quantifier here would repeat */
  int level;                      /* open groups */
  int can_repeat;                 /* an atom or group just ended */
  size_t weight;                  /* cost of the atom being emitted */
} retr;

static void cset_add(cset *c, unsigned lo, unsigned hi) {
  unsigned ch;
  for (ch = lo ? lo : 1; ch <= hi && ch < 128; ch++)
    c->bits[ch >> 5] |= 1u << (ch & 31);
}

static int cset_has(const cset *c, unsigned ch) {
  return ch > 0 && ch < 128 && (c->bits[ch >> 5] >> (ch & 31)) & 1u;
}

static cset cset_invert(const cset *c) {
  cset r;
  size_t k;
  for (k = 0; k < 4; k++)
    r.bits[k] = ~c->bits[k];
  r.bits[0] &= ~1u;
  r.nonascii = !c->nonascii;
  return r;
}

static size_t cset_count(const cset *c) {
  unsigned ch;
  size_t n = 0;
  for (ch = 1; ch < 128; ch++)
    n += (size_t)cset_has(c, ch);
  return n;
}

/* Adds a class escape (d D w W s S) to c. ECMA's \s also covers Unicode
 * spaces; only the ASCII ones are in the set. */
static void cset_class(cset *c, char esc) {
  cset t;
  memset(&t, 0, sizeof t);
  switch (esc | 0x20) {
  case 'd':
    cset_add(&t, '0', '9');
    break;
  case 'w':
    cset_add(&t, '0', '9');
    cset_add(&t, 'A', 'Z');
    cset_add(&t, 'a', 'z');
    cset_add(&t, '_', '_');
    break;
  default: /* s */
    cset_add(&t, '\t', '\r');
    cset_add(&t, ' ', ' ');
    break;
  }
  if (esc >= 'A' && esc <= 'Z')
    t = cset_invert(&t);
  for (size_t k = 0; k < 4; k++)
    c->bits[k] |= t.bits[k];
  c->nonascii |= t.nonascii;
}

/* Emits a POSIX bracket for the ASCII members of c ("[^" form when neg,
 * which then also excludes every non-ASCII byte). Metacharacters of
 * brackets are placed where POSIX reads them literally: ']' first, '^'
 * never first, '-' last. */
static int emit_bracket(cmcp__buf *o, const cset *c, int neg) {
  unsigned ch, end;
  int rc;
  /* Only '^' (and maybe '-'): a bracket would start with '^'. */
  if (!neg && cset_has(c, '^') && cset_count(c) == 1)
    return cmcp__buf_adds(o, "\\^");
  if (!neg && cset_has(c, '^') && cset_has(c, '-') && cset_count(c) == 2)
    return cmcp__buf_adds(o, "[-^]");
  rc = cmcp__buf_adds(o, neg ? "[^" : "[");
  if (rc == 0 && cset_has(c, ']'))
    rc = cmcp__buf_adds(o, "]");
  if (rc == 0 && neg)
    rc = cmcp__buf_adds(o, "\x80-\xff");
  for (ch = 1; rc == 0 && ch < 128; ch++) {
    if (!cset_has(c, ch) || ch == ']' || ch == '^' || ch == '-')
      continue;
    for (end = ch; end + 1 < 128 && cset_has(c, end + 1) && end + 1 != ']' &&
                   end + 1 != '^' && end + 1 != '-';
         end++)
      ;
    if (end - ch >= 2)
      rc = cmcp__buf_printf(o, "%c-%c", (char)ch, (char)end);
    else if (end > ch)
      rc = cmcp__buf_printf(o, "%c%c", (char)ch, (char)end);
    else
      rc = cmcp__buf_printf(o, "%c", (char)ch);
    ch = end;
  }
  if (rc == 0 && cset_has(c, '^'))
    rc = cmcp__buf_adds(o, "^");
  if (rc == 0 && cset_has(c, '-'))
    rc = cmcp__buf_adds(o, "-");
  return rc == 0 ? cmcp__buf_adds(o, "]") : rc;
}

/* Emits an atom matching one code point of c. */
static int emit_cset(retr *r, const cset *c) {
  size_t n = cset_count(c);
  cset inv = cset_invert(c);
  int rc = 0;
  if (n == 0 && !c->nonascii) {
    r->why = "a character class that matches nothing is not supported";
    return CMCP_EINVAL;
  }
  if (!c->nonascii)
    return n > 64 ? emit_bracket(r->o, &inv, 1) : emit_bracket(r->o, c, 0);
  r->weight = 2; /* an alternation with a UTF-8 sequence */
  rc = cmcp__buf_adds(r->o, "(");
  if (rc == 0 && n > 0) {
    rc = n > 64 ? emit_bracket(r->o, &inv, 1) : emit_bracket(r->o, c, 0);
    if (rc == 0)
      rc = cmcp__buf_adds(r->o, "|");
  }
  return rc == 0 ? cmcp__buf_adds(r->o, RE_UTF8_SEQ ")") : rc;
}

/* Emits one literal code point; a multi-byte one is grouped so that a
 * quantifier after it applies to the whole character. */
static int emit_literal(retr *r, unsigned cp) {
  char u[8];
  size_t n;
  if (cp == 0) {
    r->why = "NUL in a pattern is not supported";
    return CMCP_EINVAL;
  }
  if (cp < 0x80) {
    u[0] = '\\';
    u[1] = (char)cp;
    return strchr(".[\\()*+?{|^$", (int)cp) ? cmcp__buf_add(r->o, u, 2)
                                            : cmcp__buf_add(r->o, u + 1, 1);
  }
  u[0] = '(';
  if (cp < 0x800) {
    u[1] = (char)(0xC0 | (cp >> 6));
    n = 2;
  } else if (cp < 0x10000) {
    u[1] = (char)(0xE0 | (cp >> 12));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    n = 3;
  } else {
    u[1] = (char)(0xF0 | (cp >> 18));
    u[2] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[3] = (char)(0x80 | ((cp >> 6) & 0x3F));
    n = 4;
  }
  u[n] = (char)(0x80 | (cp & 0x3F));
  u[n + 1] = ')';
  return cmcp__buf_add(r->o, u, n + 2);
}

/* Reads n hex digits at r->s[r->i]; -1 if they are not all there. */
static long re_hex(retr *r, size_t n) {
  long v = 0;
  size_t k;
  for (k = 0; k < n; k++) {
    char ch = r->s[r->i + k];
    int d = ch >= '0' && ch <= '9'   ? ch - '0'
            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                     : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  r->i += n;
  return v;
}

/* Reads \uXXXX (r->i just past the 'u'), joining a surrogate pair. */
static int re_unicode(retr *r, unsigned *cp) {
  long hi = re_hex(r, 4), lo;
  if (hi < 0)
    goto bad;
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    goto bad;
  if (hi >= 0xD800 && hi <= 0xDBFF) {
    if (r->s[r->i] != '\\' || r->s[r->i + 1] != 'u')
      goto bad;
    r->i += 2;
    lo = re_hex(r, 4);
    if (lo < 0xDC00 || lo > 0xDFFF)
      goto bad;
    hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  }
  *cp = (unsigned)hi;
  return 0;
bad:
  r->why = "malformed \\u escape";
  return CMCP_EINVAL;
}

/* Reads the escape after a backslash (r->i on the character after it).
 * A class escape (\d \w \s and negations) is added to set with *is_set = 1;
 * anything else yields a code point in *cp. Inside a class \b is the
 * backspace character, as in ECMA-262. */
static int re_escape(retr *r, int in_class, unsigned *cp, cset *set,
                     int *is_set) {
  static const char controls[] = "t\tn\nr\rf\fv\v";
  char ch = r->s[r->i];
  const char *k;
  long v;
  *is_set = 0;
  if (ch == '\0') {
    r->why = "pattern ends with a backslash";
    return CMCP_EINVAL;
  }
  r->i++;
  if (strchr("dDwWsS", ch)) {
    cset_class(set, ch);
    *is_set = 1;
    return 0;
  }
  for (k = controls; *k; k += 2)
    if (*k == ch) {
      *cp = (unsigned char)k[1];
      return 0;
    }
  if (ch == 'b' && in_class) {
    *cp = 8;
    return 0;
  }
  if (ch == 'x') {
    v = re_hex(r, 2);
    *cp = (unsigned)v;
    r->why = v < 0 ? "malformed \\x escape" : NULL;
    return v < 0 ? CMCP_EINVAL : 0;
  }
  if (ch == 'u')
    return re_unicode(r, cp);
  if ((unsigned char)ch >= 0x80 || (ch >= '0' && ch <= '9') ||
      ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')) {
    r->why = (ch == 'b' || ch == 'B') ? "word boundaries (\\b, \\B) are not "
                                        "supported"
             : (ch >= '1' && ch <= '9') || ch == 'k'
                 ? "backreferences are not supported"
             : (ch == 'p' || ch == 'P')
                 ? "Unicode property escapes are not supported"
                 : "unsupported escape sequence";
    return CMCP_EINVAL;
  }
  *cp = (unsigned char)ch; /* escaped punctuation stands for itself */
  return 0;
}

/* Reads one class member: a character, an escape or a class escape. */
static int re_class_atom(retr *r, cset *c, unsigned *cp, int *is_set) {
  unsigned char ch = (unsigned char)r->s[r->i];
  int rc = 0;
  *is_set = 0;
  if (ch == '\\') {
    r->i++;
    rc = re_escape(r, 1, cp, c, is_set);
  } else {
    *cp = ch;
    r->i++;
  }
  if (rc == 0 && !*is_set && (*cp >= 0x80 || *cp == 0)) {
    r->why = "non-ASCII characters inside [...] are not supported";
    rc = CMCP_EINVAL;
  }
  return rc;
}

/* Parses "[...]" (r->i on the '['), leaving r->i past the ']'. */
static int re_class(retr *r, cset *out) {
  cset c;
  unsigned lo, hi;
  int neg = 0, is_set, rc;
  memset(&c, 0, sizeof c);
  if (r->s[++r->i] == '^') {
    neg = 1;
    r->i++;
  }
  while (r->s[r->i] != ']') {
    if (r->s[r->i] == '\0') {
      r->why = "unterminated character class";
      return CMCP_EINVAL;
    }
    if ((rc = re_class_atom(r, &c, &lo, &is_set)) != 0)
      return rc;
    if (is_set)
      continue;
    if (r->s[r->i] != '-' || r->s[r->i + 1] == ']' || !r->s[r->i + 1]) {
      cset_add(&c, lo, lo);
      continue;
    }
    r->i++;
    if ((rc = re_class_atom(r, &c, &hi, &is_set)) != 0)
      return rc;
    if (is_set) { /* [\w-x]-style: the '-' is literal */
      cset_add(&c, lo, lo);
      cset_add(&c, '-', '-');
      continue;
    }
    if (hi < lo) {
      r->why = "character class range out of order";
      return CMCP_EINVAL;
    }
    cset_add(&c, lo, hi);
  }
  r->i++;
  *out = neg ? cset_invert(&c) : c;
  return 0;
}

/* Emits an escape met outside a class. */
static int re_atom_escape(retr *r) {
  cset c;
  unsigned cp = 0;
  int is_set, rc;
  memset(&c, 0, sizeof c);
  r->i++;
  rc = re_escape(r, 0, &cp, &c, &is_set);
  if (rc != 0)
    return rc;
  return is_set ? emit_cset(r, &c) : emit_literal(r, cp);
}

/* "(" or "(?:" become a POSIX group; other "(?" forms are refused. */
static int re_group(retr *r) {
  const char *s = r->s + r->i;
  if (s[1] != '?' || s[2] == ':') {
    if (r->level == RE_MAX_GROUPS) {
      r->why = "groups nest too deep";
      return CMCP_EINVAL;
    }
    r->cost[++r->level] = 0;
    r->can_repeat = 0;
    r->i += s[1] == '?' ? 3 : 1;
    return cmcp__buf_adds(r->o, "(");
  }
  r->why = s[2] == '=' || s[2] == '!' ? "lookahead is not supported"
           : s[2] == '<' && (s[3] == '=' || s[3] == '!')
               ? "lookbehind is not supported"
           : s[2] == '<' ? "named groups are not supported"
                         : "unknown group syntax";
  return CMCP_EINVAL;
}

/* A lazy quantifier matches the same strings as the greedy one (only the
 * match boundaries differ, and only "does it match" is asked), so the
 * trailing '?' is dropped. */
static void re_skip_lazy(retr *r) {
  if (r->s[r->i] == '?')
    r->i++;
}

/* Counts one atom just emitted. */
static int re_atom_done(retr *r) {
  r->last = r->weight;
  r->can_repeat = 1;
  r->cost[r->level] += r->weight;
  if (r->cost[r->level] <= RE_MAX_COST)
    return 0;
  r->why = "pattern is too complex";
  return CMCP_EINVAL;
}

/* Accounts for a quantifier repeating the last atom up to times times:
 * a quantifier needs something to repeat and cannot follow another one
 * ("a**" is a syntax error in ECMA-262). */
static int re_repeat(retr *r, size_t times) {
  if (!r->can_repeat) {
    r->why = "nothing to repeat";
    return CMCP_EINVAL;
  }
  r->can_repeat = 0;
  r->cost[r->level] += r->last * (times - 1);
  if (r->cost[r->level] <= RE_MAX_COST)
    return 0;
  r->why = "pattern is too complex";
  return CMCP_EINVAL;
}

/* Reads up to 4 digits (more is over RE_MAX_REPEAT anyway); -1 if none. */
static long re_count(const char *s, size_t *j) {
  long v = 0;
  size_t start = *j;
  while (s[*j] >= '0' && s[*j] <= '9') {
    if (*j - start < 5)
      v = v * 10 + (s[*j] - '0');
    (*j)++;
  }
  return *j == start ? -1 : v;
}

/* "{n}", "{n,}" or "{n,m}" is a quantifier, copied; any other '{' is a
 * literal, as ECMA-262 (Annex B) reads it. */
static int re_brace(retr *r) {
  const char *s = r->s + r->i;
  size_t j = 1;
  long lo = re_count(s, &j), hi = lo;
  int rc;
  if (lo >= 0 && s[j] == ',') {
    j++;
    hi = re_count(s, &j);
    hi = hi < 0 ? lo + 1 : hi; /* "{n,}": n copies then a star */
  }
  if (lo < 0 || s[j] != '}') {
    r->i++;
    r->weight = 1;
    rc = cmcp__buf_adds(r->o, "\\{");
    return rc ? rc : re_atom_done(r);
  }
  if (lo > RE_MAX_REPEAT || hi > RE_MAX_REPEAT || hi < lo) {
    r->why = hi < lo ? "numbers out of order in {} quantifier"
                     : "repetition count above 1000";
    return CMCP_EINVAL;
  }
  if ((rc = re_repeat(r, hi > 0 ? (size_t)hi : 1)) != 0)
    return rc;
  rc = cmcp__buf_add(r->o, s, j + 1);
  r->i += j + 1;
  re_skip_lazy(r);
  return rc;
}

/* ')' closes a group, which then counts as one atom for a quantifier. */
static int re_close(retr *r) {
  if (r->level == 0) {
    r->why = "unmatched ')'";
    return CMCP_EINVAL;
  }
  r->last = r->cost[r->level--];
  r->cost[r->level] += r->last;
  r->can_repeat = 1;
  r->i++;
  if (r->cost[r->level] > RE_MAX_COST) {
    r->why = "pattern is too complex";
    return CMCP_EINVAL;
  }
  return cmcp__buf_adds(r->o, ")");
}

/* Copies one raw UTF-8 character as a group. */
static int re_utf8(retr *r) {
  const unsigned char *s = (const unsigned char *)r->s + r->i;
  size_t n = 1;
  int rc;
  while (n < 4 && (s[n] & 0xC0) == 0x80)
    n++;
  rc = cmcp__buf_adds(r->o, "(");
  if (rc == 0)
    rc = cmcp__buf_add(r->o, s, n);
  r->i += n;
  return rc == 0 ? cmcp__buf_adds(r->o, ")") : rc;
}

/* Emits "*", "+" or "?" (dropping a lazy '?' after it). */
static int re_quantifier(retr *r) {
  int rc = re_repeat(r, r->s[r->i] == '?' ? 1 : 2);
  if (rc == 0)
    rc = cmcp__buf_add(r->o, &r->s[r->i++], 1);
  re_skip_lazy(r);
  return rc;
}

/* Emits '.', any code point but the line terminators \n and \r. */
static int re_dot(retr *r) {
  cset c;
  memset(&c, 0, sizeof c);
  cset_add(&c, '\n', '\n');
  cset_add(&c, '\r', '\r');
  c = cset_invert(&c);
  r->i++;
  return emit_cset(r, &c);
}

/* Emits an atom: an escape, a class, '.', or a literal character. */
static int re_atom(retr *r) {
  unsigned char ch = (unsigned char)r->s[r->i];
  cset c;
  int rc;
  r->weight = 1;
  if (ch == '\\') {
    rc = re_atom_escape(r);
  } else if (ch == '[') {
    rc = re_class(r, &c);
    if (rc == 0)
      rc = emit_cset(r, &c);
  } else if (ch == '.') {
    rc = re_dot(r);
  } else if (ch >= 0x80) {
    rc = re_utf8(r);
  } else {
    rc = cmcp__buf_add(r->o, &r->s[r->i++], 1);
  }
  return rc ? rc : re_atom_done(r);
}

/* Translates the whole pattern into r->o. */
static int re_translate(retr *r) {
  int rc = 0;
  while (rc == 0 && r->s[r->i]) {
    char ch = r->s[r->i];
    if (ch == '(') {
      rc = re_group(r);
    } else if (ch == ')') {
      rc = re_close(r);
    } else if (ch == '{') {
      rc = re_brace(r);
    } else if (ch == '*' || ch == '+' || ch == '?') {
      rc = re_quantifier(r);
    } else if (ch == '|' || ch == '^' || ch == '$') {
      r->can_repeat = 0; /* nothing to repeat after these */
      rc = cmcp__buf_add(r->o, &r->s[r->i++], 1);
    } else {
      rc = re_atom(r);
    }
  }
  return rc;
}

int cmcp__re_compile(regex_t *re, const char *pat, char *why, size_t whylen) {
  cmcp__buf o;
  retr r;
  size_t len = strlen(pat);
  int rc, code;
  if (len > CMCP__RE_MAX_PATTERN) {
    snprintf(why, whylen, "pattern is longer than %d bytes",
             CMCP__RE_MAX_PATTERN);
    return CMCP_EINVAL;
  }
  memset(&r, 0, sizeof r);
  r.s = pat;
  r.o = &o;
  cmcp__buf_init(&o, 64 * len + 256);
  rc = re_translate(&r);
  if (rc == 0) {
    code = regcomp(re, o.data ? o.data : "()", REG_EXTENDED | REG_NOSUB);
    if (code == REG_ESPACE)
      rc = CMCP_ENOMEM;
    else if (code != 0)
      regerror(code, re, why, whylen);
    rc = rc ? rc : code ? CMCP_EINVAL : 0;
  } else if (rc == CMCP_EINVAL || rc == CMCP_ELIMIT) {
    snprintf(why, whylen, "%s", r.why ? r.why : "pattern is too complex");
    rc = CMCP_EINVAL;
  }
  cmcp__buf_free(&o);
  return rc;
}

int cmcp__re_match(const regex_t *re, const char *s, size_t len) {
#ifdef REG_STARTEND
  regmatch_t m[1];
  m[0].rm_so = 0;
  m[0].rm_eo = (regoff_t)len;
  return regexec(re, s, 1, m, REG_STARTEND) == 0;
#else
  (void)len; /* a NUL inside the string ends it here */
  return regexec(re, s, 0, NULL, 0) == 0;
#endif
}
