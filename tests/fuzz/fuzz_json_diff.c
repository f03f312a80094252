/* libFuzzer target: differential test of the strict JSON parser.
 *
 * The oracle is the earlier two-pass parser: the lexical pass
 * (cmcp__json_scan: RFC 8259 tokens, UTF-8, surrogates, 64-bit integers,
 * nesting) followed by json-c's strict tokener and a check that no double
 * overflowed; the one-pass parser builds its tree without either. For every
 * input, cmcp__json_parse must:
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
  rc = cmcp__json_scan(text, len, max_depth, errbuf, errlen);
  if (rc != 0)
    return rc;
  rc = build_tree(text, len, max_depth + 1, out, errbuf, errlen);
  if (rc == 0 && !doubles_finite(*out)) {
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
  compare(data, size, NULL);
  compare(data, size, &shallow);
  return 0;
}
