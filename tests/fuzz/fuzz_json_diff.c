/* libFuzzer target: differential test of the strict JSON parser.
 *
 * The oracle below is the earlier two-pass parser, kept verbatim: a
 * lexical pre-scan (RFC 8259 tokens, UTF-8, surrogates, 64-bit integers,
 * nesting) followed by json-c's strict tokener and a check that no double
 * overflowed. For every input, cmcp__json_parse must:
 *  - give the same status as the oracle (accept, EPARSE or ELIMIT);
 *  - on acceptance, build a tree json_object_equal to the oracle's that
 *    serializes to the same bytes (doubles keep their text);
 *  - on refusal, give the same reason, except where the oracle's reason
 *    is json-c's own grammar wording ("invalid JSON: ..."). */
#include "base/base.h"
#include "json/json.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

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

static size_t old_utf8_char_len(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  return len == 0 ? 0 : utf8_seq(p, p + len);
}

static int old_utf8_valid(const char *s, size_t len) {
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
  int check_doubles; /* a number that might overflow a double was seen */
  int done;          /* the top-level value is complete */
  int nul_escape;    /* the current string holds a \u0000 escape */
  int rc;            /* CMCP_EPARSE or CMCP_ELIMIT once an error is set */
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
  /* DBL_MAX has 309 integer digits: only an exponent or that many digits
   * can overflow, and only then is the parsed tree checked for it. */
  if (exp || nint + nfrac > 300)
    s->check_doubles = 1;
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

/* 1 if every double in the tree is finite. Recursion is bounded by the
 * depth limit the text already passed. */
static int doubles_finite(json_object *o) {
  size_t i, n;
  switch (json_object_get_type(o)) {
  case json_type_double:
    return isfinite(json_object_get_double(o));
  case json_type_array:
    n = json_object_array_length(o);
    for (i = 0; i < n; i++)
      if (!doubles_finite(json_object_array_get_idx(o, i)))
        return 0;
    return 1;
  case json_type_object: {
    json_object_object_foreach(o, key, val) {
      (void)key;
      if (!doubles_finite(val))
        return 0;
    }
    return 1;
  }
  default:
    return 1;
  }
}

/* ---- per-thread tokener ------------------------------------------------- */

typedef struct tok_cache {
  json_tokener *tok;
  int depth;
} tok_cache;

static pthread_once_t g_tok_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_tok_key;
static int g_tok_key_ok;

static void tok_cache_free(void *p) {
  tok_cache *c = p;
  if (c == NULL)
    return;
  if (c->tok != NULL)
    json_tokener_free(c->tok);
  cmcp__free(c);
}

static void tok_key_init(void) {
  g_tok_key_ok = pthread_key_create(&g_tok_key, tok_cache_free) == 0;
}

static json_tokener *tok_new(int depth) {
  json_tokener *tok = json_tokener_new_ex(depth);
  if (tok != NULL)
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  return tok;
}

/* This thread's tokener, able to nest at least depth levels, or NULL on
 * ENOMEM. *owned is set when the caller must free it (no thread cache). */
static json_tokener *tok_get(int depth, int *owned) {
  tok_cache *c;
  *owned = 0;
  pthread_once(&g_tok_once, tok_key_init);
  if (!g_tok_key_ok) {
    *owned = 1;
    return tok_new(depth);
  }
  c = pthread_getspecific(g_tok_key);
  if (c == NULL) {
    c = cmcp__calloc(1, sizeof *c);
    if (c == NULL || pthread_setspecific(g_tok_key, c) != 0) {
      cmcp__free(c);
      return NULL;
    }
  }
  if (c->tok == NULL || c->depth < depth) {
    if (c->tok != NULL)
      json_tokener_free(c->tok);
    c->depth = depth;
    c->tok = tok_new(depth);
  }
  if (c->tok != NULL)
    json_tokener_reset(c->tok);
  return c->tok;
}

/* ---- parsing ------------------------------------------------------------ */

/* Builds the tree with json-c from lexically clean text. A top-level number
 * or literal needs a terminator to be complete, hence the final "" chunk. */
static int build_tree(const char *text, size_t len, int depth,
                      json_object **out, char *errbuf, size_t errlen) {
  json_tokener *tok;
  json_object *obj;
  enum json_tokener_error jerr;
  size_t at;
  int owned, rc = 0;
  tok = tok_get(depth, &owned);
  if (tok == NULL)
    return CMCP_ENOMEM;
  obj = json_tokener_parse_ex(tok, text, (int)len);
  jerr = json_tokener_get_error(tok);
  at = json_tokener_get_parse_end(tok);
  if (obj == NULL && jerr == json_tokener_continue && at == len) {
    obj = json_tokener_parse_ex(tok, "", 1);
    jerr = json_tokener_get_error(tok);
  } else if (obj != NULL && at != len) {
    json_object_put(obj);
    obj = NULL;
    jerr = json_tokener_error_parse_unexpected;
  }
  /* json-c represents a JSON null as a NULL object, with success. */
  if (obj == NULL && jerr != json_tokener_success) {
    rc = jerr == json_tokener_error_depth ? CMCP_ELIMIT : CMCP_EPARSE;
    if (jerr == json_tokener_continue)
      jerr = json_tokener_error_parse_eof;
    set_err(errbuf, errlen, "invalid JSON: %s at byte %zu",
            json_tokener_error_desc(jerr), at);
  }
  if (owned)
    json_tokener_free(tok);
  else
    json_tokener_reset(tok);
  *out = obj;
  return rc;
}

static int old_json_parse(const char *text, size_t len,
                          const cmcp__json_limits *lim, json_object **out,
                          char *errbuf, size_t errlen) {
  size_t max_bytes = lim ? lim->max_bytes : CMCP__JSON_DEFAULT_MAX_BYTES;
  size_t limit = (size_t)INT_MAX - 1; /* json-c takes an int length */
  int max_depth =
      lim && lim->max_depth > 0 ? lim->max_depth : CMCP__JSON_DEFAULT_MAX_DEPTH;
  scan s;
  int rc;
  *out = NULL;
  if (max_depth > CMCP__JSON_MAX_DEPTH_CAP)
    max_depth = CMCP__JSON_MAX_DEPTH_CAP;
  if (max_bytes > 0 && max_bytes < limit)
    limit = max_bytes;
  if (text == NULL)
    len = 0;
  if (len > limit) {
    set_err(errbuf, errlen, "JSON text of %zu bytes exceeds the limit of %zu",
            len, limit);
    return CMCP_ELIMIT;
  }
  memset(&s, 0, sizeof s);
  s.start = s.p = (const unsigned char *)text;
  s.end = s.start + len;
  s.max_depth = max_depth;
  s.errbuf = errbuf;
  s.errlen = errlen;
  if (scan_text(&s) != 0)
    return s.rc;
  if (!s.done && s.depth == 0) {
    set_err(errbuf, errlen, "no JSON value in the text");
    return CMCP_EPARSE;
  }
  rc = build_tree(text, len, max_depth + 1, out, errbuf, errlen);
  if (rc == 0 && s.check_doubles && !doubles_finite(*out)) {
    json_object_put(*out);
    *out = NULL;
    set_err(errbuf, errlen, "number out of range (overflows a double)");
    rc = CMCP_EPARSE;
  }
  return rc;
}

/* Serialization of o (NULL is json-c's null), copied into out. */
static void text_of(json_object *o, char **out, size_t *n) {
  const char *t = o != NULL ? cmcp__json_text(o, n) : "null";
  if (o == NULL)
    *n = 4;
  if (t == NULL)
    abort();
  *out = malloc(*n + 1);
  if (*out == NULL)
    abort();
  memcpy(*out, t, *n);
  (*out)[*n] = '\0';
}

/* Same status, same tree, same bytes, same reason. */
static void compare(const uint8_t *data, size_t size,
                    const cmcp__json_limits *lim) {
  json_object *a = NULL, *b = NULL;
  char ea[256] = "", eb[256] = "", *ta, *tb;
  size_t na, nb;
  int ra = old_json_parse((const char *)data, size, lim, &a, ea, sizeof ea);
  int rb = cmcp__json_parse((const char *)data, size, lim, &b, eb, sizeof eb);
  if (ra != rb)
    abort();
  if (ra != 0) {
    if (a != NULL || b != NULL)
      abort();
    if (strncmp(ea, "invalid JSON", 12) == 0
            ? strncmp(eb, "invalid JSON", 12) != 0
            : strcmp(ea, eb) != 0)
      abort();
    return;
  }
  if (!json_object_equal(a, b))
    abort();
  text_of(a, &ta, &na);
  text_of(b, &tb, &nb);
  if (na != nb || memcmp(ta, tb, na) != 0)
    abort();
  free(ta);
  free(tb);
  json_object_put(a);
  json_object_put(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cmcp__json_limits shallow = {0, 3};
  if (size > 65536)
    return 0;
  if (old_utf8_valid((const char *)data, size) !=
          cmcp__utf8_valid((const char *)data, size) ||
      old_utf8_char_len((const char *)data, size) !=
          cmcp__utf8_char_len((const char *)data, size))
    abort();
  compare(data, size, NULL);
  compare(data, size, &shallow);
  return 0;
}
