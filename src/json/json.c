/* src/json/json.c: strict JSON parsing into json-c trees.
 *
 * json-c's own tokener is not strict enough: it accepts NaN and Infinity,
 * "1." and raw control characters in strings, turns lone UTF-16 surrogate
 * escapes into U+FFFD, clamps integers beyond 64 bits to the nearest bound
 * and lets 1e999 become Infinity; it also switches the thread's locale on
 * every call. So the text is parsed here in one pass (parse_*) that checks
 * every token against RFC 8259 and builds the json-c objects directly. The
 * walk is iterative with an explicit stack bounded by the depth limit, so a
 * 100,000-deep array is refused at the first bracket past the limit.
 *
 * Only when a text is refused does a second, lexical pass (scan_*) run over
 * it, to give the reason: lexical faults and nesting first, in text order,
 * then grammar faults, then numbers that overflow a double.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l */
#endif
#include "json/json.h"
#include "base/base.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output flags for every serialization: compact, "/" left alone. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Writes a one-line reason into errbuf (if there is one). */
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (errbuf == NULL || errlen == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(errbuf, errlen, fmt, ap);
  va_end(ap);
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence starting at p (p < end), or 0
 * when it is malformed: a stray continuation byte, 0xC0/0xC1 or 0xF5..0xFF,
 * an overlong form, a surrogate (U+D800..U+DFFF), a code point above
 * U+10FFFF or a sequence cut short. Ranges follow RFC 3629 section 4. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0], lo = 0x80, hi = 0xBF;
  size_t n, i;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  if ((size_t)(end - p) < n)
    return 0;
  if (c == 0xE0)
    lo = 0xA0; /* overlong 3-byte form */
  else if (c == 0xED)
    hi = 0x9F; /* UTF-16 surrogates */
  else if (c == 0xF0)
    lo = 0x90; /* overlong 4-byte form */
  else if (c == 0xF4)
    hi = 0x8F; /* above U+10FFFF */
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return n;
}

size_t cmcp__utf8_char_len(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  return len == 0 ? 0 : utf8_seq(p, p + len);
}

int cmcp__utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  size_t n;
  while (p < end) {
    if (*p < 0x80) {
      p++;
      continue;
    }
    n = utf8_seq(p, end);
    if (n == 0)
      return 0;
    p += n;
  }
  return 1;
}

/* ---- lexical pass ------------------------------------------------------- */

typedef struct scan {
  const unsigned char *start, *p, *end;
  int depth, max_depth;
  int done;       /* the top-level value is complete */
  int nul_escape; /* the current string holds a \u0000 escape */
  int rc;         /* CMCP_EPARSE or CMCP_ELIMIT once an error is set */
  char *errbuf;
  size_t errlen;
} scan;

#define SCAN_OFF(s) ((size_t)((s)->p - (s)->start))

static int scan_fail(scan *s, int rc, const char *what) {
  s->rc = rc;
  set_err(s->errbuf, s->errlen, "%s at byte %zu", what, SCAN_OFF(s));
  return -1;
}

static int hex_val(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at s->p into *cp; advances past them. */
static int scan_hex4(scan *s, unsigned *cp) {
  int i, v;
  *cp = 0;
  if (s->end - s->p < 4)
    return scan_fail(s, CMCP_EPARSE, "truncated \\u escape");
  for (i = 0; i < 4; i++) {
    v = hex_val(s->p[i]);
    if (v < 0)
      return scan_fail(s, CMCP_EPARSE, "bad hex digit in \\u escape");
    *cp = (*cp << 4) | (unsigned)v;
  }
  s->p += 4;
  return 0;
}

/* Checks an escape; s->p is on the byte after the backslash. A \u escape
 * of a UTF-16 surrogate must be a high one immediately followed by an
 * escaped low one: lone surrogates are not Unicode text (RFC 8259 sec. 8.2)
 * and json-c would silently turn them into U+FFFD. */
static int scan_escape(scan *s) {
  const unsigned char *esc = s->p - 1;
  unsigned cp, lo;
  if (s->p >= s->end)
    return scan_fail(s, CMCP_EPARSE, "unterminated string");
  if (strchr("\"\\/bfnrt", *s->p) != NULL && *s->p != '\0') {
    s->p++;
    return 0;
  }
  if (*s->p != 'u')
    return scan_fail(s, CMCP_EPARSE, "invalid escape in string");
  s->p++;
  if (scan_hex4(s, &cp) != 0)
    return -1;
  if (cp == 0)
    s->nul_escape = 1;
  if (cp < 0xD800 || cp > 0xDFFF)
    return 0;
  if (cp >= 0xDC00)
    goto lone;
  if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
    goto lone;
  s->p += 2;
  if (scan_hex4(s, &lo) != 0)
    return -1;
  if (lo < 0xDC00 || lo > 0xDFFF)
    goto lone;
  return 0;
lone:
  s->p = esc;
  return scan_fail(s, CMCP_EPARSE, "lone UTF-16 surrogate in \\u escape");
}

/* After a string holding \u0000: json-c keeps object keys as C strings,
 * so such a key would be cut short and could collide with another key.
 * Refused when the string is followed by ':'. */
static int check_key(scan *s, const unsigned char *start) {
  const unsigned char *q = s->p;
  while (q < s->end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
    q++;
  if (q < s->end && *q == ':') {
    s->p = start;
    return scan_fail(s, CMCP_EPARSE, "object key contains \\u0000");
  }
  return 0;
}

/* A string; s->p is on the opening quote. Raw bytes below 0x20 must be
 * escaped (RFC 8259 sec. 7), the rest must be well-formed UTF-8. */
static int scan_string(scan *s) {
  const unsigned char *start = s->p;
  size_t n;
  s->p++;
  s->nul_escape = 0;
  while (s->p < s->end) {
    unsigned char c = *s->p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      s->p++; /* the common case first: plain printable ASCII */
      continue;
    }
    if (c == '"') {
      s->p++;
      return s->nul_escape ? check_key(s, start) : 0;
    }
    if (c == '\\') {
      s->p++;
      if (scan_escape(s) != 0)
        return -1;
    } else if (c < 0x20) {
      return scan_fail(s, CMCP_EPARSE, "unescaped control character in string");
    } else {
      n = utf8_seq(s->p, s->end);
      if (n == 0)
        return scan_fail(s, CMCP_EPARSE, "invalid UTF-8");
      s->p += n;
    }
  }
  return scan_fail(s, CMCP_EPARSE, "unterminated string");
}

/* Skips digits; returns how many. */
static size_t scan_digits(scan *s) {
  const unsigned char *from = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
    s->p++;
  return (size_t)(s->p - from);
}

/* 1 if the integer digits d[0..n) (no sign, no leading zero) exceed
 * 2^63 (negative) or 2^64 - 1 (positive): json-c would clamp them. */
static int int_out_of_range(const unsigned char *d, size_t n, int neg) {
  const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
  size_t ln = strlen(lim);
  if (n != ln)
    return n > ln;
  return memcmp(d, lim, n) > 0;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(scan *s) {
  const unsigned char *digits;
  size_t nint, nfrac = 0;
  int neg = 0, exp = 0;
  if (*s->p == '-') {
    neg = 1;
    s->p++;
    if (s->p < s->end && (*s->p == 'I' || *s->p == 'N'))
      return scan_fail(s, CMCP_EPARSE, "NaN and Infinity are not JSON");
  }
  digits = s->p;
  nint = scan_digits(s);
  if (nint == 0)
    return scan_fail(s, CMCP_EPARSE, "digit expected in number");
  if (nint > 1 && digits[0] == '0')
    return scan_fail(s, CMCP_EPARSE, "leading zero in number");
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    nfrac = scan_digits(s);
    if (nfrac == 0)
      return scan_fail(s, CMCP_EPARSE, "digit expected after decimal point");
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    exp = 1;
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
      s->p++;
    if (scan_digits(s) == 0)
      return scan_fail(s, CMCP_EPARSE, "digit expected in exponent");
  }
  if (!exp && nfrac == 0 && int_out_of_range(digits, nint, neg)) {
    s->p = digits - neg;
    return scan_fail(s, CMCP_EPARSE, "integer out of 64-bit range");
  }
  return 0;
}

/* true, false or null; anything else made of letters is an error. */
static int scan_literal(scan *s) {
  static const char *const words[] = {"true", "false", "null"};
  size_t i, n, left = (size_t)(s->end - s->p);
  if (*s->p == 'N' || *s->p == 'I')
    return scan_fail(s, CMCP_EPARSE, "NaN and Infinity are not JSON");
  for (i = 0; i < CMCP__ARRAY_SIZE(words); i++) {
    n = strlen(words[i]);
    if (left >= n && memcmp(s->p, words[i], n) == 0) {
      s->p += n;
      return 0;
    }
  }
  return scan_fail(s, CMCP_EPARSE, "invalid literal");
}

/* An opening bracket: one level deeper, refused past the limit. */
static int scan_open(scan *s) {
  if (++s->depth > s->max_depth) {
    s->rc = CMCP_ELIMIT;
    set_err(s->errbuf, s->errlen,
            "JSON nested deeper than the limit of %d levels at byte %zu",
            s->max_depth, SCAN_OFF(s));
    return -1;
  }
  s->p++;
  return 0;
}

/* One pass over the whole text, token by token. Structure (commas, colons,
 * which bracket closes which) is left to json-c. */
static int scan_text(scan *s) {
  while (s->p < s->end) {
    unsigned char c = *s->p;
    int r = 0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      s->p++;
      continue;
    }
    if (s->done)
      return scan_fail(s, CMCP_EPARSE, "unexpected data after the JSON value");
    if (c == ',' || c == ':') {
      s->p++;
    } else if (c == '{' || c == '[') {
      r = scan_open(s);
    } else if (c == '}' || c == ']') {
      if (--s->depth < 0)
        return scan_fail(s, CMCP_EPARSE, "unbalanced closing bracket");
      s->p++;
    } else if (c == '"') {
      r = scan_string(s);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      r = scan_number(s);
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      r = scan_literal(s);
    } else {
      r = scan_fail(s, CMCP_EPARSE, "unexpected character");
    }
    if (r != 0)
      return -1;
    if (c != ',' && c != ':')
      s->done = s->depth == 0;
  }
  return 0;
}

/* ---- the tree builder --------------------------------------------------- */

/* A scratch buffer for decoded strings: on the stack while short, then on
 * the heap, never longer than the text plus a NUL. */
typedef struct sbuf {
  char *p;
  size_t cap;
  char small[256];
} sbuf;

typedef struct parser {
  const unsigned char *start, *p, *end;
  int max_depth;
  int overflow;   /* a number overflowed a double */
  int structural; /* the text broke the grammar (what, at) */
  int nomem;
  locale_t c_locale; /* for strtod_l */
  const char *what;
  size_t at;
  sbuf key, val;
} parser;

#define PARSE_STACK_SMALL 32

/* Per-thread state (a pthread key, freed at thread exit): the "C" locale
 * numbers are read in, made on the thread's first parse. */
typedef struct parse_ctx {
  locale_t c_locale;
} parse_ctx;

static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_ctx_key;
static int g_ctx_key_ok;

static void ctx_free(void *p) {
  parse_ctx *c = p;
  if (c == NULL)
    return;
  if (c->c_locale != (locale_t)0)
    freelocale(c->c_locale);
  cmcp__free(c);
}

static void ctx_key_init(void) {
  g_ctx_key_ok = pthread_key_create(&g_ctx_key, ctx_free) == 0;
}

/* This thread's state, or NULL on ENOMEM (or when no key could be made). */
static parse_ctx *ctx_get(void) {
  parse_ctx *c;
  pthread_once(&g_ctx_once, ctx_key_init);
  if (!g_ctx_key_ok)
    return NULL;
  c = pthread_getspecific(g_ctx_key);
  if (c != NULL)
    return c;
  c = cmcp__calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (c->c_locale == (locale_t)0 || pthread_setspecific(g_ctx_key, c) != 0) {
    ctx_free(c);
    return NULL;
  }
  return c;
}

/* Records a grammar error at the current byte; always returns -1. */
static int parse_fail(parser *ps, const char *what) {
  ps->structural = 1;
  ps->what = what;
  ps->at = (size_t)(ps->p - ps->start);
  return -1;
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end &&
         (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
    ps->p++;
}

/* Makes room for need bytes in b; -1 (and ps->nomem) on ENOMEM. */
static int sbuf_reserve(parser *ps, sbuf *b, size_t need) {
  size_t cap = b->cap * 2;
  char *n;
  if (need <= b->cap)
    return 0;
  if (cap < need)
    cap = need;
  n = cmcp__malloc(cap);
  if (n == NULL) {
    ps->nomem = 1;
    return -1;
  }
  memcpy(n, b->p, b->cap);
  if (b->p != b->small)
    cmcp__free(b->p);
  b->p = n;
  b->cap = cap;
  return 0;
}

/* Appends code point cp to b at *o as UTF-8. */
static int sbuf_put_cp(parser *ps, sbuf *b, size_t *o, unsigned cp) {
  unsigned char *q;
  if (sbuf_reserve(ps, b, *o + 5) != 0)
    return -1;
  q = (unsigned char *)b->p + *o;
  if (cp < 0x80) {
    q[0] = (unsigned char)cp;
    *o += 1;
  } else if (cp < 0x800) {
    q[0] = (unsigned char)(0xC0 | (cp >> 6));
    q[1] = (unsigned char)(0x80 | (cp & 0x3F));
    *o += 2;
  } else if (cp < 0x10000) {
    q[0] = (unsigned char)(0xE0 | (cp >> 12));
    q[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    q[2] = (unsigned char)(0x80 | (cp & 0x3F));
    *o += 3;
  } else {
    q[0] = (unsigned char)(0xF0 | (cp >> 18));
    q[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    q[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    q[3] = (unsigned char)(0x80 | (cp & 0x3F));
    *o += 4;
  }
  return 0;
}

/* Reads 4 hex digits at ps->p (bounds already checked by the caller). */
static int read_hex4(parser *ps, unsigned *cp) {
  int i, v;
  *cp = 0;
  for (i = 0; i < 4; i++) {
    v = hex_val(ps->p[i]);
    if (v < 0)
      return -1;
    *cp = (*cp << 4) | (unsigned)v;
  }
  ps->p += 4;
  return 0;
}

/* Decodes the escape after a backslash (ps->p on the byte after it) into
 * b at *o. Lone surrogates are refused, as in scan_escape. */
static int decode_escape(parser *ps, sbuf *b, size_t *o) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *e;
  unsigned cp, lo;
  if (ps->p >= ps->end)
    return parse_fail(ps, "unterminated string");
  e = *ps->p != '\0' ? strchr(from, *ps->p) : NULL;
  if (e != NULL) {
    ps->p++;
    return sbuf_put_cp(ps, b, o, (unsigned char)to[e - from]);
  }
  if (*ps->p != 'u' || ps->end - ps->p < 5)
    return parse_fail(ps, "invalid escape in string");
  ps->p++;
  if (read_hex4(ps, &cp) != 0)
    return parse_fail(ps, "bad hex digit in \\u escape");
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    if (cp >= 0xDC00 || ps->end - ps->p < 6 || ps->p[0] != '\\' ||
        ps->p[1] != 'u')
      return parse_fail(ps, "lone UTF-16 surrogate in \\u escape");
    ps->p += 2;
    if (read_hex4(ps, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
      return parse_fail(ps, "lone UTF-16 surrogate in \\u escape");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  return sbuf_put_cp(ps, b, o, cp);
}

/* A string; ps->p is on the opening quote. Sets *s and *n to its decoded
 * bytes: the text itself when it has no escape and need_nul is 0, else a
 * NUL-terminated copy in b. */
static int parse_string(parser *ps, sbuf *b, int need_nul, const char **s,
                        size_t *n) {
  const unsigned char *from = ++ps->p;
  size_t o = 0, k;
  for (;;) {
    while (ps->p < ps->end && *ps->p >= 0x20 && *ps->p < 0x80 &&
           *ps->p != '"' && *ps->p != '\\')
      ps->p++;
    if (ps->p >= ps->end)
      return parse_fail(ps, "unterminated string");
    if (*ps->p == '"' || *ps->p == '\\') {
      k = (size_t)(ps->p - from);
      if (*ps->p == '"' && o == 0 && !need_nul) {
        *s = (const char *)from;
        *n = k;
        ps->p++;
        return 0;
      }
      if (sbuf_reserve(ps, b, o + k + 1) != 0)
        return -1;
      memcpy(b->p + o, from, k);
      o += k;
      if (*ps->p++ == '"')
        break;
      if (decode_escape(ps, b, &o) != 0)
        return -1;
      from = ps->p;
    } else if (*ps->p < 0x20) {
      return parse_fail(ps, "unescaped control character in string");
    } else {
      k = utf8_seq(ps->p, ps->end);
      if (k == 0)
        return parse_fail(ps, "invalid UTF-8");
      ps->p += k;
    }
  }
  b->p[o] = '\0';
  *s = b->p;
  *n = o;
  return 0;
}

/* A double from the number text [from, ps->p), converted in the "C"
 * locale; the text is kept so that it serializes as it was written. */
static json_object *make_double(parser *ps, const unsigned char *from) {
  size_t n = (size_t)(ps->p - from);
  json_object *o;
  double d;
  if (sbuf_reserve(ps, &ps->val, n + 1) != 0)
    return NULL;
  memcpy(ps->val.p, from, n);
  ps->val.p[n] = '\0';
  d = strtod_l(ps->val.p, NULL, ps->c_locale);
  if (isinf(d))
    ps->overflow = 1;
  o = json_object_new_double_s(d, ps->val.p);
  if (o == NULL)
    ps->nomem = 1;
  return o;
}

/* Skips digits, folding them into *v; sets *big when *v overflows. */
static size_t number_digits(parser *ps, uint64_t *v, int *big) {
  const unsigned char *from = ps->p;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    unsigned d = (unsigned)(*ps->p++ - '0');
    if (*v > (UINT64_MAX - d) / 10)
      *big = 1;
    *v = *v * 10 + d;
  }
  return (size_t)(ps->p - from);
}

/* A number: int64 when it fits, else uint64 for a positive integer, else
 * a double. Integers beyond 64 bits are refused. */
static int parse_number(parser *ps, json_object **out) {
  const unsigned char *from = ps->p, *digits;
  uint64_t v = 0, ignored = 0;
  size_t nint;
  int neg = *ps->p == '-', big = 0, dbl = 0;
  ps->p += neg;
  digits = ps->p;
  nint = number_digits(ps, &v, &big);
  if (nint == 0 || (nint > 1 && digits[0] == '0'))
    return parse_fail(ps, "bad number");
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    if (number_digits(ps, &ignored, &dbl) == 0)
      return parse_fail(ps, "bad number");
    dbl = 1;
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    ps->p++;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
      ps->p++;
    if (number_digits(ps, &ignored, &dbl) == 0)
      return parse_fail(ps, "bad number");
    dbl = 1;
  }
  if (dbl) {
    *out = make_double(ps, from);
    return *out != NULL ? 0 : -1;
  }
  if (big || (neg && v > (uint64_t)INT64_MAX + 1))
    return parse_fail(ps, "integer out of 64-bit range");
  if (neg)
    *out = json_object_new_int64(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                              : -(int64_t)v);
  else if (v <= (uint64_t)INT64_MAX)
    *out = json_object_new_int64((int64_t)v);
  else
    *out = json_object_new_uint64(v);
  if (*out == NULL)
    ps->nomem = 1;
  return *out != NULL ? 0 : -1;
}

/* true, false or null at ps->p. */
static int parse_literal(parser *ps, json_object **out) {
  size_t left = (size_t)(ps->end - ps->p);
  *out = NULL;
  if (left >= 4 && memcmp(ps->p, "null", 4) == 0) {
    ps->p += 4;
    return 0;
  }
  if (left >= 4 && memcmp(ps->p, "true", 4) == 0) {
    ps->p += 4;
    *out = json_object_new_boolean(1);
  } else if (left >= 5 && memcmp(ps->p, "false", 5) == 0) {
    ps->p += 5;
    *out = json_object_new_boolean(0);
  } else {
    return parse_fail(ps, "unexpected character");
  }
  if (*out == NULL)
    ps->nomem = 1;
  return *out != NULL ? 0 : -1;
}

/* A scalar value (string, number or literal) at ps->p. */
static int parse_scalar(parser *ps, json_object **out) {
  const char *s;
  size_t n;
  unsigned char c = *ps->p;
  *out = NULL;
  if (c == '"') {
    if (parse_string(ps, &ps->val, 0, &s, &n) != 0)
      return -1;
    *out = json_object_new_string_len(s, (int)n);
    if (*out == NULL)
      ps->nomem = 1;
    return *out != NULL ? 0 : -1;
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return parse_number(ps, out);
  return parse_literal(ps, out);
}

/* Adds v to the container top (under key when top is an object); v is
 * released on failure. */
static int attach(parser *ps, json_object *top, const char *key,
                  json_object *v) {
  int r = json_object_is_type(top, json_type_object)
              ? json_object_object_add(top, key, v)
              : json_object_array_add(top, v);
  if (r != 0) {
    json_object_put(v);
    ps->nomem = 1;
    return -1;
  }
  return 0;
}

/* Reads an object key and its colon; ps->p is on the first byte after
 * '{' or ',' and white space. The key is NUL-terminated in ps->key. */
static int parse_key(parser *ps, const char **key) {
  size_t n;
  if (ps->p >= ps->end)
    return parse_fail(ps, "unexpected end of data");
  if (*ps->p != '"')
    return parse_fail(ps, "quoted object property name expected");
  if (parse_string(ps, &ps->key, 1, key, &n) != 0)
    return -1;
  if (strlen(*key) != n)
    return parse_fail(ps, "object key contains \\u0000");
  skip_ws(ps);
  if (ps->p >= ps->end)
    return parse_fail(ps, "unexpected end of data");
  if (*ps->p != ':')
    return parse_fail(ps, "object property name separator ':' expected");
  ps->p++;
  skip_ws(ps);
  return 0;
}

/* Pushes a new container on the stack, moving it once from small (the
 * caller's array) to the heap, sized for max_depth. */
static int push(parser *ps, json_object **small, json_object ***stack,
                int *depth, json_object *c) {
  json_object **big;
  if (*depth >= ps->max_depth)
    return parse_fail(ps, "nesting too deep");
  if (*depth == PARSE_STACK_SMALL && *stack == small) {
    big = cmcp__malloc((size_t)ps->max_depth * sizeof *big);
    if (big == NULL) {
      ps->nomem = 1;
      return -1;
    }
    memcpy(big, *stack, sizeof(json_object *) * PARSE_STACK_SMALL);
    *stack = big;
  }
  (*stack)[(*depth)++] = c;
  return 0;
}

/* The grammar walk. Containers join their parent when opened, so the root
 * owns everything built so far and one put frees it on any failure. Key
 * order and "last duplicate wins" are those of json_object_object_add. */
static int parse_tree(parser *ps, json_object **stack, json_object **root) {
  json_object **st = stack, *top = NULL, *v;
  const char *key = NULL;
  int depth = 0, rc = -1;
  unsigned char c;
  skip_ws(ps);
value:
  if (ps->p >= ps->end) {
    parse_fail(ps, "unexpected end of data");
    goto out;
  }
  c = *ps->p;
  if (c == '{' || c == '[') {
    v = c == '{' ? json_object_new_object() : json_object_new_array();
    if (v == NULL) {
      ps->nomem = 1;
      goto out;
    }
    if (top == NULL)
      *root = v;
    else if (attach(ps, top, key, v) != 0)
      goto out;
    if (push(ps, stack, &st, &depth, v) != 0)
      goto out;
    top = v;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (c == '{' ? '}' : ']')) {
      ps->p++;
      goto close;
    }
    if (c == '[')
      goto value;
    goto member;
  }
  if (parse_scalar(ps, &v) != 0)
    goto out;
  if (top == NULL) {
    *root = v;
    goto next;
  }
  if (attach(ps, top, key, v) != 0)
    goto out;
  goto next;
close:
  depth--;
  top = depth > 0 ? st[depth - 1] : NULL;
next:
  skip_ws(ps);
  if (top == NULL) {
    if (ps->p < ps->end) {
      parse_fail(ps, "unexpected data after the JSON value");
      goto out;
    }
    rc = 0;
    goto out;
  }
  if (ps->p >= ps->end) {
    parse_fail(ps, "unexpected end of data");
    goto out;
  }
  c = *ps->p++;
  if (json_object_is_type(top, json_type_object)) {
    if (c == '}')
      goto close;
    if (c != ',') {
      ps->p--;
      parse_fail(ps, "object value separator ',' expected");
      goto out;
    }
    skip_ws(ps);
    goto member;
  }
  if (c == ']')
    goto close;
  if (c != ',') {
    ps->p--;
    parse_fail(ps, "array value separator ',' expected");
    goto out;
  }
  skip_ws(ps);
  goto value;
member:
  if (parse_key(ps, &key) != 0)
    goto out;
  goto value;
out:
  if (st != stack)
    cmcp__free(st);
  return rc;
}

/* Tells why parse_tree failed, with the same verdict and reason the
 * lexical pass gives (errors before the first token json-c would have
 * looked at come first), then the grammar error, then double overflow. */
int cmcp__json_scan(const char *text, size_t len, int max_depth, char *errbuf,
                    size_t errlen) {
  scan s;
  memset(&s, 0, sizeof s);
  s.start = s.p = (const unsigned char *)text;
  s.end = s.start + (text != NULL ? len : 0);
  s.max_depth = max_depth;
  s.errbuf = errbuf;
  s.errlen = errlen;
  if (scan_text(&s) != 0)
    return s.rc;
  if (!s.done && s.depth == 0) {
    set_err(errbuf, errlen, "no JSON value in the text");
    return CMCP_EPARSE;
  }
  return 0;
}

static int diagnose(const parser *ps, char *errbuf, size_t errlen) {
  int rc;
  if (ps->nomem) {
    set_err(errbuf, errlen, "out of memory while parsing JSON");
    return CMCP_ENOMEM;
  }
  rc = cmcp__json_scan((const char *)ps->start, (size_t)(ps->end - ps->start),
                       ps->max_depth, errbuf, errlen);
  if (rc != 0)
    return rc;
  if (ps->structural) {
    set_err(errbuf, errlen, "invalid JSON: %s at byte %zu", ps->what, ps->at);
    return CMCP_EPARSE;
  }
  set_err(errbuf, errlen, "number out of range (overflows a double)");
  return CMCP_EPARSE;
}

int cmcp__json_parse(const char *text, size_t len, const cmcp__json_limits *lim,
                     json_object **out, char *errbuf, size_t errlen) {
  size_t max_bytes = lim ? lim->max_bytes : CMCP__JSON_DEFAULT_MAX_BYTES;
  size_t limit = (size_t)INT_MAX - 1; /* json-c takes int lengths */
  json_object *stack[PARSE_STACK_SMALL], *root = NULL;
  parse_ctx *ctx;
  parser ps;
  int rc;
  *out = NULL;
  if (max_bytes > 0 && max_bytes < limit)
    limit = max_bytes;
  if (text == NULL)
    len = 0;
  if (len > limit) {
    set_err(errbuf, errlen, "JSON text of %zu bytes exceeds the limit of %zu",
            len, limit);
    return CMCP_ELIMIT;
  }
  memset(&ps, 0, offsetof(parser, key));
  ps.start = ps.p = (const unsigned char *)text;
  ps.end = ps.start + len;
  ps.max_depth =
      lim && lim->max_depth > 0 ? lim->max_depth : CMCP__JSON_DEFAULT_MAX_DEPTH;
  if (ps.max_depth > CMCP__JSON_MAX_DEPTH_CAP)
    ps.max_depth = CMCP__JSON_MAX_DEPTH_CAP;
  ps.key.p = ps.key.small;
  ps.key.cap = sizeof ps.key.small;
  ps.val.p = ps.val.small;
  ps.val.cap = sizeof ps.val.small;
  ctx = ctx_get();
  if (ctx == NULL) {
    set_err(errbuf, errlen, "out of memory while parsing JSON");
    return CMCP_ENOMEM;
  }
  ps.c_locale = ctx->c_locale;
  rc = parse_tree(&ps, stack, &root);
  if (ps.key.p != ps.key.small)
    cmcp__free(ps.key.p);
  if (ps.val.p != ps.val.small)
    cmcp__free(ps.val.p);
  if (rc == 0 && !ps.overflow) {
    *out = root;
    return 0;
  }
  json_object_put(root);
  return diagnose(&ps, errbuf, errlen);
}

int cmcp__json_parse_object(const char *text, json_object **out) {
  json_object *obj = NULL;
  int rc;
  *out = NULL;
  if (text == NULL)
    return CMCP_EINVAL;
  rc = cmcp__json_parse(text, strlen(text), NULL, &obj, NULL, 0);
  if (rc != 0)
    return rc;
  if (!json_object_is_type(obj, json_type_object)) {
    json_object_put(obj);
    return CMCP_EINVAL;
  }
  *out = obj;
  return 0;
}

const char *cmcp__json_text(json_object *obj, size_t *len) {
  size_t n = 0;
  const char *s = json_object_to_json_string_length(obj, JSON_FLAGS, &n);
  if (len != NULL)
    *len = s != NULL ? n : 0;
  return s;
}

const char *cmcp__json_get_string(json_object *obj, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

json_object *cmcp__json_get_object(json_object *obj, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_object))
    return NULL;
  return v;
}
