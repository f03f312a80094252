/* src/proto/schema.c: JSON Schema (2020-12 and draft-07 keywords) compiled
 * into a graph of nodes once, then checked against many instances.
 *
 * Compiling walks the schema document and makes one node per subschema,
 * keyed by the json_object it came from, so that a "$ref" resolves to the
 * very node its target compiled to and recursive schemas become cycles in
 * the graph. Validation walks the graph with the instance; it stops at the
 * first failure and only then renders a message (the instance location as
 * a JSON pointer, then the rule), so a valid instance costs no allocation.
 */
#include "proto/schema.h"
#include "proto/schema_re.h"

#include "base/base.h"

#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deep the schema document itself may nest (compile recursion). */
#define SCHEMA_MAX_COMPILE_DEPTH 512
/* Longest "$ref" accepted, in bytes. */
#define SCHEMA_MAX_REF 1024

/* ---- types ------------------------------------------------------------- */

enum {
  TY_NULL = 1u << 0,
  TY_BOOLEAN = 1u << 1,
  TY_OBJECT = 1u << 2,
  TY_ARRAY = 1u << 3,
  TY_NUMBER = 1u << 4,
  TY_STRING = 1u << 5,
  TY_INTEGER = 1u << 6
};

static const struct {
  const char *name;
  unsigned bit;
} type_names[] = {{"null", TY_NULL},      {"boolean", TY_BOOLEAN},
                  {"object", TY_OBJECT},  {"array", TY_ARRAY},
                  {"number", TY_NUMBER},  {"string", TY_STRING},
                  {"integer", TY_INTEGER}};

typedef struct snode snode;

typedef struct sprop { /* a named subschema (properties, dependentSchemas) */
  const char *name;
  snode *sub;
} sprop;

typedef struct spat { /* one patternProperties entry */
  regex_t re;
  snode *sub;
} spat;

typedef struct slist {
  snode **v;
  size_t n;
} slist;

/* One compiled subschema. Pointers into the document are borrowed: the
 * schema holds a reference to the whole document. Counts are -1 when the
 * keyword is absent. */
struct snode {
  json_object *src;
  int boolean;    /* -1: an object schema; 0 or 1: the schema false or true */
  unsigned types; /* "type" bits, 0 when absent */
  int has_const;
  json_object *const_v;
  json_object *enum_v;
  /* numbers */
  json_object *minimum, *maximum, *xminimum, *xmaximum, *multiple_of;
  int xmin_flag, xmax_flag; /* draft-04 boolean exclusiveMinimum/Maximum */
  /* strings */
  int64_t min_len, max_len;
  regex_t *pattern;
  const char *pattern_src;
  /* arrays */
  slist prefix;
  snode *items; /* every item past the prefix */
  int64_t min_items, max_items;
  int unique;
  snode *contains;
  int64_t min_contains, max_contains;
  /* objects */
  sprop *props; /* sorted by name */
  size_t nprops;
  spat *pats;
  size_t npats;
  snode *additional, *prop_names;
  json_object *required, *dep_required;
  json_object *dependencies; /* draft-07: names or a schema per key */
  sprop *dep_schemas;
  size_t ndep_schemas;
  int64_t min_props, max_props;
  /* applicators */
  slist all_of, any_of, one_of;
  snode *not_, *if_, *then_, *else_;
  const char *ref_str;
  snode *ref;
  snode *next_pending; /* unresolved "$ref" chain while compiling */
};

struct cmcp__schema {
  json_object *doc;
  snode *root;
  snode **tab; /* open addressing, keyed by snode.src */
  size_t cap, count;
};

/* A location as a chain of frames on the C stack, leaf first. A frame
 * names an object key, an array index, or (raw) a pointer text as is. */
typedef struct spath {
  const struct spath *up;
  const char *key; /* NULL: index */
  size_t index;
  int raw;
} spath;

/* ---- bounded message output -------------------------------------------- */

typedef struct outbuf {
  char *p;
  size_t cap, len;
} outbuf;

/* Appends formatted text, truncating at the end of the buffer; the buffer
 * stays NUL-terminated whenever cap > 0. */
static void ob_vprintf(outbuf *o, const char *fmt, va_list ap) {
  int n;
  if (o->cap == 0 || o->len + 1 >= o->cap)
    return;
  n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  if (n < 0)
    return;
  o->len += (size_t)n;
  if (o->len >= o->cap)
    o->len = o->cap - 1;
}

static void ob_printf(outbuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ob_printf(outbuf *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ob_vprintf(o, fmt, ap);
  va_end(ap);
}

/* Appends s[0..len) as a JSON string literal, shortened past 60 bytes. */
static void ob_quoted(outbuf *o, const char *s, size_t len) {
  size_t i, shown = len > 60 ? 57 : len;
  ob_printf(o, "\"");
  for (i = 0; i < shown; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\')
      ob_printf(o, "\\%c", ch);
    else if (ch < 0x20)
      ob_printf(o, "\\u%04x", ch);
    else
      ob_printf(o, "%c", ch);
  }
  ob_printf(o, "%s\"", shown < len ? "..." : "");
}

/* Appends one pointer token with "~" and "/" escaped (RFC 6901). */
static void ob_token(outbuf *o, const char *s) {
  for (; *s; s++) {
    if (*s == '~')
      ob_printf(o, "~0");
    else if (*s == '/')
      ob_printf(o, "~1");
    else
      ob_printf(o, "%c", *s);
  }
}

/* Long paths keep their first and last frames, with "/..." between. */
#define PATH_HEAD 8
#define PATH_TAIL 12

static size_t path_frames(const spath *p) {
  size_t n = 0;
  for (; p; p = p->up)
    n++;
  return n;
}

/* Renders frames root first; from_leaf counts frames below p. */
static void path_render_frames(const spath *p, size_t from_leaf, size_t total,
                               outbuf *o) {
  size_t from_root;
  if (!p)
    return;
  from_root = total - 1 - from_leaf;
  path_render_frames(p->up, from_leaf + 1, total, o);
  if (total > PATH_HEAD + PATH_TAIL && from_root >= PATH_HEAD &&
      from_leaf >= PATH_TAIL) {
    if (from_root == PATH_HEAD)
      ob_printf(o, "/...");
  } else if (p->raw) {
    ob_printf(o, "%s", p->key);
  } else if (p->key) {
    ob_printf(o, "/");
    ob_token(o, p->key);
  } else {
    ob_printf(o, "/%zu", p->index);
  }
}

/* Appends the JSON pointer of p; the root renders as "/". */
static void path_render(const spath *p, outbuf *o) {
  size_t start = o->len;
  path_render_frames(p, 0, path_frames(p), o);
  if (o->len == start)
    ob_printf(o, "/");
}

/* ---- JSON values ------------------------------------------------------- */

typedef struct snum {
  int is_int;
  int64_t i;
  double d;
} snum;

/* The value of a json-c number; integers above INT64_MAX become doubles. */
static snum num_of(json_object *o) {
  snum n = {0, 0, 0.0};
  if (json_object_is_type(o, json_type_int)) {
    n.i = json_object_get_int64(o);
    if (n.i == INT64_MAX && json_object_get_uint64(o) > (uint64_t)INT64_MAX) {
      n.d = (double)json_object_get_uint64(o);
      return n;
    }
    n.is_int = 1;
    n.d = (double)n.i;
  } else {
    n.d = json_object_get_double(o);
  }
  return n;
}

/* -1, 0 or 1 as a < b, a == b, a > b, comparing mathematically (long
 * double holds every int64 and every double exactly on common targets). */
static int num_cmp(snum a, snum b) {
  long double x, y;
  if (a.is_int && b.is_int)
    return (a.i > b.i) - (a.i < b.i);
  x = a.is_int ? (long double)a.i : (long double)a.d;
  y = b.is_int ? (long double)b.i : (long double)b.d;
  return (x > y) - (x < y);
}

static void ob_num(outbuf *o, snum n) {
  if (n.is_int)
    ob_printf(o, "%" PRId64, n.i);
  else
    ob_printf(o, "%.15g", n.d);
}

static int is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) ||
         json_object_is_type(v, json_type_double);
}

static int is_integral(json_object *v) {
  double d;
  if (json_object_is_type(v, json_type_int))
    return 1;
  if (!json_object_is_type(v, json_type_double))
    return 0;
  d = json_object_get_double(v);
  return isfinite(d) && floor(d) == d;
}

/* The name of an instance's JSON type as a schema would say it. */
static const char *type_name_of(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "boolean";
  case json_type_int:
    return "integer";
  case json_type_double:
    return "number";
  case json_type_string:
    return "string";
  case json_type_array:
    return "array";
  case json_type_object:
    return "object";
  }
  return "unknown";
}

/* A short rendering of a value for messages: scalars in full (strings
 * shortened), containers as {...} and [...]. Never touches json-c's own
 * serializer, which writes into the object and so is not thread-safe. */
static void ob_value(outbuf *o, json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    ob_printf(o, "null");
    break;
  case json_type_boolean:
    ob_printf(o, "%s", json_object_get_boolean(v) ? "true" : "false");
    break;
  case json_type_int:
  case json_type_double:
    ob_num(o, num_of(v));
    break;
  case json_type_string:
    ob_quoted(o, json_object_get_string(v),
              (size_t)json_object_get_string_len(v));
    break;
  case json_type_array:
    ob_printf(o, "[...]");
    break;
  case json_type_object:
    ob_printf(o, "{...}");
    break;
  }
}

static int json_eq(json_object *a, json_object *b, int depth);

static int json_eq_object(json_object *a, json_object *b, int depth) {
  json_object *bv;
  int rc;
  if (json_object_object_length(a) != json_object_object_length(b))
    return 0;
  json_object_object_foreach(a, key, av) {
    if (!json_object_object_get_ex(b, key, &bv))
      return 0;
    rc = json_eq(av, bv, depth + 1);
    if (rc != 1)
      return rc;
  }
  return 1;
}

/* JSON equality as JSON Schema defines it (1 and 1.0 are equal, key order
 * does not matter): 1 if equal, 0 if not, -1 if nested too deep to say. */
static int json_eq(json_object *a, json_object *b, int depth) {
  enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  size_t i, n;
  int rc;
  if (depth > CMCP__SCHEMA_MAX_DEPTH)
    return -1;
  if (is_number(a) && is_number(b))
    return num_cmp(num_of(a), num_of(b)) == 0;
  if (ta != tb)
    return 0;
  switch (ta) {
  case json_type_boolean:
    return json_object_get_boolean(a) == json_object_get_boolean(b);
  case json_type_string:
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)json_object_get_string_len(a)) == 0;
  case json_type_array:
    n = json_object_array_length(a);
    if (n != json_object_array_length(b))
      return 0;
    for (i = 0; i < n; i++) {
      rc = json_eq(json_object_array_get_idx(a, i),
                   json_object_array_get_idx(b, i), depth + 1);
      if (rc != 1)
        return rc;
    }
    return 1;
  case json_type_object:
    return json_eq_object(a, b, depth);
  default:
    return 1; /* null */
  }
}

/* Code points in well-formed UTF-8: every byte that is not a
 * continuation byte starts one. */
static size_t utf8_count(const char *s, size_t len) {
  size_t i, n = 0;
  for (i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

/* ---- the node table ---------------------------------------------------- */

static size_t ptr_hash(const void *p, size_t cap) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return (size_t)x & (cap - 1);
}

/* The node compiled from js, or NULL. */
static snode *tab_get(const cmcp__schema_t *s, json_object *js) {
  size_t i;
  if (s->cap == 0)
    return NULL;
  for (i = ptr_hash(js, s->cap); s->tab[i]; i = (i + 1) & (s->cap - 1))
    if (s->tab[i]->src == js)
      return s->tab[i];
  return NULL;
}

static void tab_insert(snode **tab, size_t cap, snode *n) {
  size_t i;
  for (i = ptr_hash(n->src, cap); tab[i]; i = (i + 1) & (cap - 1))
    ;
  tab[i] = n;
}

/* Adds n, doubling the table at half load. 0 or CMCP_ENOMEM. */
static int tab_put(cmcp__schema_t *s, snode *n) {
  size_t i, cap;
  snode **tab;
  if (2 * (s->count + 1) > s->cap) {
    cap = s->cap ? 2 * s->cap : 64;
    tab = cmcp__calloc(cap, sizeof *tab);
    if (tab == NULL)
      return CMCP_ENOMEM;
    for (i = 0; i < s->cap; i++)
      if (s->tab[i])
        tab_insert(tab, cap, s->tab[i]);
    cmcp__free(s->tab);
    s->tab = tab;
    s->cap = cap;
  }
  tab_insert(s->tab, s->cap, n);
  s->count++;
  return 0;
}

static void node_free(snode *n) {
  size_t i;
  if (n->pattern) {
    regfree(n->pattern);
    cmcp__free(n->pattern);
  }
  for (i = 0; i < n->npats; i++)
    regfree(&n->pats[i].re);
  cmcp__free(n->pats);
  cmcp__free(n->props);
  cmcp__free(n->dep_schemas);
  cmcp__free(n->prefix.v);
  cmcp__free(n->all_of.v);
  cmcp__free(n->any_of.v);
  cmcp__free(n->one_of.v);
  cmcp__free(n);
}

void cmcp__schema_free(cmcp__schema_t *s) {
  size_t i;
  if (s == NULL)
    return;
  for (i = 0; i < s->cap; i++)
    if (s->tab[i])
      node_free(s->tab[i]);
  cmcp__free(s->tab);
  json_object_put(s->doc);
  cmcp__free(s);
}

/* ---- "$ref" resolution ------------------------------------------------- */

static int hexval(char ch) {
  return ch >= '0' && ch <= '9'   ? ch - '0'
         : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                  : -1;
}

/* Percent-decodes the URI fragment after '#' into buf. -1 if it is too
 * long or malformed. */
static int ref_decode(const char *frag, char *buf, size_t cap) {
  size_t n = 0;
  for (; *frag; frag++) {
    char ch = *frag;
    if (ch == '%') {
      if (hexval(frag[1]) < 0 || hexval(frag[2]) < 0)
        return -1;
      ch = (char)(hexval(frag[1]) * 16 + hexval(frag[2]));
      frag += 2;
    }
    if (ch == '\0' || n + 1 >= cap)
      return -1;
    buf[n++] = ch;
  }
  buf[n] = '\0';
  return 0;
}

/* Steps from cur into the child named by one unescaped pointer token. */
static int ref_step(json_object *cur, const char *tok, json_object **next) {
  char *end;
  unsigned long idx;
  if (json_object_is_type(cur, json_type_object))
    return json_object_object_get_ex(cur, tok, next) ? 0 : -1;
  if (!json_object_is_type(cur, json_type_array) || tok[0] < '0' ||
      tok[0] > '9' || (tok[0] == '0' && tok[1] != '\0'))
    return -1;
  idx = strtoul(tok, &end, 10);
  if (*end != '\0' || idx >= json_object_array_length(cur))
    return -1;
  *next = json_object_array_get_idx(cur, idx);
  return 0;
}

/* Finds what a "#..." reference points to in doc (RFC 6901 pointer after
 * percent-decoding). 0 with *out set, or -1 if it names nothing. */
static int ref_resolve(json_object *doc, const char *ref, json_object **out) {
  char buf[SCHEMA_MAX_REF], tok[SCHEMA_MAX_REF];
  const char *s = buf;
  size_t n;
  json_object *cur = doc;
  if (ref_decode(ref + 1, buf, sizeof buf) != 0)
    return -1;
  while (*s == '/') {
    for (s++, n = 0; *s && *s != '/'; s++) {
      if (*s == '~' && (s[1] == '0' || s[1] == '1'))
        tok[n++] = *++s == '0' ? '~' : '/';
      else if (*s == '~')
        return -1;
      else
        tok[n++] = *s;
    }
    tok[n] = '\0';
    if (ref_step(cur, tok, &cur) != 0)
      return -1;
  }
  *out = cur;
  return *s == '\0' ? 0 : -1;
}

/* ---- compiling --------------------------------------------------------- */

typedef struct cctx {
  cmcp__schema_t *s;
  char *err;
  size_t errlen;
  int depth;
  snode *pending; /* nodes whose "$ref" is not resolved yet */
} cctx;

/* Records that memory ran out; returns CMCP_ENOMEM. */
static int c_nomem(cctx *c) {
  outbuf o = {c->err, c->errlen, 0};
  ob_printf(&o, "out of memory");
  return CMCP_ENOMEM;
}

/* Records why compiling failed: "schema <pointer>: <reason>". Returns rc. */
static int cfail(cctx *c, const spath *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cfail(cctx *c, const spath *p, int rc, const char *fmt, ...) {
  outbuf o = {c->err, c->errlen, 0};
  va_list ap;
  if (rc == CMCP_ENOMEM)
    return c_nomem(c);
  ob_printf(&o, "schema ");
  path_render(p, &o);
  ob_printf(&o, ": ");
  va_start(ap, fmt);
  ob_vprintf(&o, fmt, ap);
  va_end(ap);
  return rc;
}

static int c_schema(cctx *c, json_object *js, const spath *p, snode **out);

/* Compiles the subschema under keyword-relative path key/index. */
static int c_sub(cctx *c, json_object *js, const spath *p, const char *key,
                 size_t index, snode **out) {
  spath q = {p, key, index, 0};
  return c_schema(c, js, &q, out);
}

/* Compiles a non-empty array of schemas into l. */
static int c_list(cctx *c, json_object *val, const spath *p, slist *l) {
  size_t i, n;
  int rc;
  if (!json_object_is_type(val, json_type_array) ||
      json_object_array_length(val) == 0)
    return cfail(c, p, CMCP_EINVAL, "must be a non-empty array of schemas");
  n = json_object_array_length(val);
  l->v = cmcp__calloc(n, sizeof *l->v);
  if (l->v == NULL)
    return c_nomem(c);
  l->n = n;
  for (i = 0; i < n; i++) {
    rc = c_sub(c, json_object_array_get_idx(val, i), p, NULL, i, &l->v[i]);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Reads a non-negative integer keyword (2020-12 also allows 2.0); counts
 * past INT64_MAX, which no instance can reach, are clamped to it. */
static int c_count(cctx *c, json_object *val, const spath *p, int64_t *out) {
  snum n = num_of(val);
  if (!is_integral(val) || num_cmp(n, (snum){1, 0, 0.0}) < 0)
    return cfail(c, p, CMCP_EINVAL, "must be a non-negative integer");
  *out = n.is_int ? n.i : n.d >= 9.2e18 ? INT64_MAX : (int64_t)n.d;
  return 0;
}

static int c_number(cctx *c, json_object *val, const spath *p,
                    json_object **out) {
  if (!is_number(val) || !isfinite(json_object_get_double(val)))
    return cfail(c, p, CMCP_EINVAL, "must be a number");
  *out = val;
  return 0;
}

/* Checks an array of strings (required, dependentRequired values). */
static int c_strings(cctx *c, json_object *val, const spath *p) {
  size_t i;
  if (!json_object_is_type(val, json_type_array))
    return cfail(c, p, CMCP_EINVAL, "must be an array of strings");
  for (i = 0; i < json_object_array_length(val); i++)
    if (!json_object_is_type(json_object_array_get_idx(val, i),
                             json_type_string))
      return cfail(c, p, CMCP_EINVAL, "must be an array of strings");
  return 0;
}

static int c_regex(cctx *c, const char *pat, const spath *p, regex_t *re) {
  char why[160];
  int rc = cmcp__re_compile(re, pat, why, sizeof why);
  size_t len = strlen(pat);
  if (rc != 0) /* the pattern is quoted, shortened */
    return cfail(c, p, rc, "bad pattern %.*s%s: %s", len > 60 ? 57 : (int)len,
                 pat, len > 60 ? "..." : "", why);
  return 0;
}

/* One keyword handler: validates the keyword's value and stores it. */
typedef int (*kw_fn)(cctx *c, snode *n, json_object *val, const spath *p);

static unsigned type_bit(json_object *v) {
  size_t k;
  if (!json_object_is_type(v, json_type_string))
    return 0;
  for (k = 0; k < CMCP__ARRAY_SIZE(type_names); k++)
    if (strcmp(json_object_get_string(v), type_names[k].name) == 0)
      return type_names[k].bit;
  return 0;
}

static int kw_type(cctx *c, snode *n, json_object *val, const spath *p) {
  size_t i;
  unsigned bit;
  if (!json_object_is_type(val, json_type_array)) {
    n->types = type_bit(val);
    return n->types ? 0
                    : cfail(c, p, CMCP_EINVAL,
                            "must be a type name or an "
                            "array of type names");
  }
  for (i = 0; i < json_object_array_length(val); i++) {
    bit = type_bit(json_object_array_get_idx(val, i));
    if (bit == 0)
      return cfail(c, p, CMCP_EINVAL, "element %zu is not a type name", i);
    n->types |= bit;
  }
  if (n->types == 0)
    return cfail(c, p, CMCP_EINVAL, "must not be an empty array");
  return 0;
}

static int kw_enum(cctx *c, snode *n, json_object *val, const spath *p) {
  if (!json_object_is_type(val, json_type_array))
    return cfail(c, p, CMCP_EINVAL, "must be an array");
  n->enum_v = val;
  return 0;
}

static int kw_const(cctx *c, snode *n, json_object *val, const spath *p) {
  (void)c;
  (void)p;
  n->has_const = 1;
  n->const_v = val;
  return 0;
}

static int kw_minimum(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_number(c, val, p, &n->minimum);
}

static int kw_maximum(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_number(c, val, p, &n->maximum);
}

/* exclusiveMinimum/Maximum: a number (2020-12) or, as in draft-04, a
 * boolean making minimum/maximum exclusive. */
static int kw_xminimum(cctx *c, snode *n, json_object *val, const spath *p) {
  if (json_object_is_type(val, json_type_boolean)) {
    n->xmin_flag = json_object_get_boolean(val);
    return 0;
  }
  return c_number(c, val, p, &n->xminimum);
}

static int kw_xmaximum(cctx *c, snode *n, json_object *val, const spath *p) {
  if (json_object_is_type(val, json_type_boolean)) {
    n->xmax_flag = json_object_get_boolean(val);
    return 0;
  }
  return c_number(c, val, p, &n->xmaximum);
}

static int kw_multiple_of(cctx *c, snode *n, json_object *val, const spath *p) {
  int rc = c_number(c, val, p, &n->multiple_of);
  if (rc == 0 && json_object_get_double(val) <= 0)
    return cfail(c, p, CMCP_EINVAL, "must be greater than 0");
  return rc;
}

static int kw_min_length(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->min_len);
}

static int kw_max_length(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->max_len);
}

static int kw_pattern(cctx *c, snode *n, json_object *val, const spath *p) {
  int rc;
  if (!json_object_is_type(val, json_type_string))
    return cfail(c, p, CMCP_EINVAL, "must be a string");
  n->pattern = cmcp__malloc(sizeof *n->pattern);
  if (n->pattern == NULL)
    return c_nomem(c);
  rc = c_regex(c, json_object_get_string(val), p, n->pattern);
  if (rc != 0) {
    cmcp__free(n->pattern);
    n->pattern = NULL;
    return rc;
  }
  n->pattern_src = json_object_get_string(val);
  return 0;
}

static int kw_prefix_items(cctx *c, snode *n, json_object *val,
                           const spath *p) {
  return c_list(c, val, p, &n->prefix);
}

/* items: a schema for every item past prefixItems; or (draft-07) an array
 * of schemas, one per position, with additionalItems for the rest. */
static int kw_items(cctx *c, snode *n, json_object *val, const spath *p) {
  if (!json_object_is_type(val, json_type_array))
    return c_schema(c, val, p, &n->items);
  if (json_object_object_get_ex(n->src, "prefixItems", NULL))
    return cfail(c, p, CMCP_EINVAL, "must be a schema next to prefixItems");
  return c_list(c, val, p, &n->prefix);
}

static int kw_additional_items(cctx *c, snode *n, json_object *val,
                               const spath *p) {
  json_object *items;
  if (!json_object_object_get_ex(n->src, "items", &items) ||
      !json_object_is_type(items, json_type_array))
    return 0; /* ignored unless "items" is an array */
  return c_schema(c, val, p, &n->items);
}

static int kw_min_items(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->min_items);
}

static int kw_max_items(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->max_items);
}

static int kw_unique(cctx *c, snode *n, json_object *val, const spath *p) {
  if (!json_object_is_type(val, json_type_boolean))
    return cfail(c, p, CMCP_EINVAL, "must be a boolean");
  n->unique = json_object_get_boolean(val);
  return 0;
}

static int kw_contains(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->contains);
}

static int kw_min_contains(cctx *c, snode *n, json_object *val,
                           const spath *p) {
  return c_count(c, val, p, &n->min_contains);
}

static int kw_max_contains(cctx *c, snode *n, json_object *val,
                           const spath *p) {
  return c_count(c, val, p, &n->max_contains);
}

static int prop_cmp(const void *a, const void *b) {
  return strcmp(((const sprop *)a)->name, ((const sprop *)b)->name);
}

/* Compiles an object of named schemas into a sorted array. */
static int c_named(cctx *c, json_object *val, const spath *p, sprop **out,
                   size_t *nout) {
  size_t i = 0, n;
  int rc;
  if (!json_object_is_type(val, json_type_object))
    return cfail(c, p, CMCP_EINVAL, "must be an object of schemas");
  n = (size_t)json_object_object_length(val);
  *out = cmcp__calloc(n ? n : 1, sizeof **out);
  if (*out == NULL)
    return c_nomem(c);
  json_object_object_foreach(val, key, sub) {
    (*out)[i].name = key;
    rc = c_sub(c, sub, p, key, 0, &(*out)[i].sub);
    if (rc != 0)
      return rc;
    *nout = ++i;
  }
  qsort(*out, n, sizeof **out, prop_cmp);
  return 0;
}

static int kw_properties(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_named(c, val, p, &n->props, &n->nprops);
}

static int kw_dep_schemas(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_named(c, val, p, &n->dep_schemas, &n->ndep_schemas);
}

static int kw_pattern_props(cctx *c, snode *n, json_object *val,
                            const spath *p) {
  size_t len;
  int rc;
  if (!json_object_is_type(val, json_type_object))
    return cfail(c, p, CMCP_EINVAL, "must be an object of schemas");
  len = (size_t)json_object_object_length(val);
  n->pats = cmcp__calloc(len ? len : 1, sizeof *n->pats);
  if (n->pats == NULL)
    return c_nomem(c);
  json_object_object_foreach(val, key, sub) {
    spath q = {p, key, 0, 0};
    rc = c_regex(c, key, &q, &n->pats[n->npats].re);
    if (rc != 0)
      return rc;
    n->npats++; /* counted once compiled, so node_free frees it */
    rc = c_schema(c, sub, &q, &n->pats[n->npats - 1].sub);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int kw_additional_props(cctx *c, snode *n, json_object *val,
                               const spath *p) {
  return c_schema(c, val, p, &n->additional);
}

static int kw_prop_names(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->prop_names);
}

static int kw_required(cctx *c, snode *n, json_object *val, const spath *p) {
  int rc = c_strings(c, val, p);
  n->required = rc == 0 ? val : NULL;
  return rc;
}

static int kw_dep_required(cctx *c, snode *n, json_object *val,
                           const spath *p) {
  int rc;
  if (!json_object_is_type(val, json_type_object))
    return cfail(c, p, CMCP_EINVAL, "must be an object of string arrays");
  json_object_object_foreach(val, key, names) {
    spath q = {p, key, 0, 0};
    if ((rc = c_strings(c, names, &q)) != 0)
      return rc;
  }
  n->dep_required = val;
  return 0;
}

/* draft-07 "dependencies": per key, an array of names (as in
 * dependentRequired) or a schema (as in dependentSchemas). */
static int kw_dependencies(cctx *c, snode *n, json_object *val,
                           const spath *p) {
  snode *unused;
  int rc;
  if (!json_object_is_type(val, json_type_object))
    return cfail(c, p, CMCP_EINVAL, "must be an object");
  json_object_object_foreach(val, key, dep) {
    spath q = {p, key, 0, 0};
    rc = json_object_is_type(dep, json_type_array)
             ? c_strings(c, dep, &q)
             : c_schema(c, dep, &q, &unused);
    if (rc != 0)
      return rc;
  }
  n->dependencies = val;
  return 0;
}

static int kw_min_props(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->min_props);
}

static int kw_max_props(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_count(c, val, p, &n->max_props);
}

static int kw_all_of(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_list(c, val, p, &n->all_of);
}

static int kw_any_of(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_list(c, val, p, &n->any_of);
}

static int kw_one_of(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_list(c, val, p, &n->one_of);
}

static int kw_not(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->not_);
}

static int kw_if(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->if_);
}

static int kw_then(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->then_);
}

static int kw_else(cctx *c, snode *n, json_object *val, const spath *p) {
  return c_schema(c, val, p, &n->else_);
}

/* $ref: only references inside the document ("#" and "#/..." pointers)
 * are resolved; they are queued and resolved once the walk is over. */
static int kw_ref(cctx *c, snode *n, json_object *val, const spath *p) {
  json_object *target;
  const char *ref;
  if (!json_object_is_type(val, json_type_string))
    return cfail(c, p, CMCP_EINVAL, "must be a string");
  ref = json_object_get_string(val);
  if (ref[0] != '#' || (ref[1] != '\0' && ref[1] != '/'))
    return cfail(c, p, CMCP_EINVAL,
                 "unsupported reference \"%s\" (only \"#\" and \"#/...\" "
                 "pointers into the same document are resolved)",
                 ref);
  if (ref_resolve(c->s->doc, ref, &target) != 0)
    return cfail(c, p, CMCP_EINVAL, "\"%s\" names nothing in the document",
                 ref);
  n->ref_str = ref;
  n->next_pending = c->pending;
  c->pending = n;
  return 0;
}

/* $defs/definitions: every definition is compiled, used or not, so that
 * it can be validated against by name and its errors show up now. */
static int kw_defs(cctx *c, snode *n, json_object *val, const spath *p) {
  int rc;
  (void)n;
  if (!json_object_is_type(val, json_type_object))
    return cfail(c, p, CMCP_EINVAL, "must be an object of schemas");
  json_object_object_foreach(val, key, sub) {
    snode *unused;
    if ((rc = c_sub(c, sub, p, key, 0, &unused)) != 0)
      return rc;
  }
  return 0;
}

static const struct {
  const char *name;
  kw_fn fn;
} keywords[] = {
    {"type", kw_type},
    {"enum", kw_enum},
    {"const", kw_const},
    {"minimum", kw_minimum},
    {"maximum", kw_maximum},
    {"exclusiveMinimum", kw_xminimum},
    {"exclusiveMaximum", kw_xmaximum},
    {"multipleOf", kw_multiple_of},
    {"minLength", kw_min_length},
    {"maxLength", kw_max_length},
    {"pattern", kw_pattern},
    {"prefixItems", kw_prefix_items},
    {"items", kw_items},
    {"additionalItems", kw_additional_items},
    {"minItems", kw_min_items},
    {"maxItems", kw_max_items},
    {"uniqueItems", kw_unique},
    {"contains", kw_contains},
    {"minContains", kw_min_contains},
    {"maxContains", kw_max_contains},
    {"properties", kw_properties},
    {"patternProperties", kw_pattern_props},
    {"additionalProperties", kw_additional_props},
    {"propertyNames", kw_prop_names},
    {"required", kw_required},
    {"dependentRequired", kw_dep_required},
    {"dependentSchemas", kw_dep_schemas},
    {"dependencies", kw_dependencies},
    {"minProperties", kw_min_props},
    {"maxProperties", kw_max_props},
    {"allOf", kw_all_of},
    {"anyOf", kw_any_of},
    {"oneOf", kw_one_of},
    {"not", kw_not},
    {"if", kw_if},
    {"then", kw_then},
    {"else", kw_else},
    {"$ref", kw_ref},
    {"$defs", kw_defs},
    {"definitions", kw_defs},
};

/* Runs the handler of every known keyword of an object schema; unknown
 * keywords, "format" and annotations are left alone. */
static int c_keywords(cctx *c, snode *n, const spath *p) {
  size_t k;
  int rc;
  json_object_object_foreach(n->src, key, val) {
    spath q = {p, key, 0, 0};
    for (k = 0; k < CMCP__ARRAY_SIZE(keywords); k++)
      if (strcmp(key, keywords[k].name) == 0)
        break;
    if (k == CMCP__ARRAY_SIZE(keywords))
      continue;
    if ((rc = keywords[k].fn(c, n, val, &q)) != 0)
      return rc;
  }
  return 0;
}

/* Compiles js (an object or boolean schema) into *out. A json_object
 * already compiled yields its existing node, which is what turns "$ref"
 * cycles into graph cycles instead of endless recursion. */
static int c_schema(cctx *c, json_object *js, const spath *p, snode **out) {
  snode *n = tab_get(c->s, js);
  int rc;
  if ((*out = n) != NULL)
    return 0;
  if (!json_object_is_type(js, json_type_object) &&
      !json_object_is_type(js, json_type_boolean))
    return cfail(c, p, CMCP_EINVAL, "a schema must be an object or a boolean");
  if (c->depth >= SCHEMA_MAX_COMPILE_DEPTH)
    return cfail(c, p, CMCP_ELIMIT, "schema nests deeper than %d levels",
                 SCHEMA_MAX_COMPILE_DEPTH);
  n = cmcp__calloc(1, sizeof *n);
  if (n == NULL)
    return c_nomem(c);
  n->src = js;
  n->boolean = json_object_is_type(js, json_type_boolean)
                   ? json_object_get_boolean(js) != 0
                   : -1;
  n->min_len = n->max_len = n->min_items = n->max_items = -1;
  n->min_contains = n->max_contains = n->min_props = n->max_props = -1;
  if (tab_put(c->s, n) != 0) {
    cmcp__free(n);
    return c_nomem(c);
  }
  *out = n;
  if (n->boolean >= 0)
    return 0;
  c->depth++;
  rc = c_keywords(c, n, p);
  c->depth--;
  return rc;
}

/* Resolves every queued "$ref"; compiling a target may queue more. */
static int c_resolve(cctx *c) {
  json_object *target;
  snode *n;
  int rc;
  while ((n = c->pending) != NULL) {
    spath at = {NULL, n->ref_str + 1, 0, 1};
    c->pending = n->next_pending;
    if (ref_resolve(c->s->doc, n->ref_str, &target) != 0)
      return cfail(c, &at, CMCP_EINVAL, "names nothing"); /* checked before */
    if ((rc = c_schema(c, target, &at, &n->ref)) != 0)
      return rc;
  }
  return 0;
}

cmcp__schema_t *cmcp__schema_compile(json_object *schema, char *err,
                                     size_t errlen) {
  cctx c = {NULL, err, errlen, 0, NULL};
  cmcp__schema_t *s;
  if (err && errlen)
    err[0] = '\0';
  s = cmcp__calloc(1, sizeof *s);
  if (s == NULL) {
    c_nomem(&c);
    return NULL;
  }
  s->doc = json_object_get(schema);
  c.s = s;
  if (c_schema(&c, schema, NULL, &s->root) != 0 || c_resolve(&c) != 0) {
    cmcp__schema_free(s);
    return NULL;
  }
  return s;
}

/* ---- validating -------------------------------------------------------- */

typedef struct vctx {
  const cmcp__schema_t *s;
  char *err;
  size_t errlen;
  int quiet;  /* inside anyOf/oneOf/not/if: failures are expected */
  int nopath; /* leave the location out of the message */
  int depth;
  int explaining;      /* nested v_explain calls */
  unsigned long score; /* checks passed so far: ranks failed branches */
} vctx;

/* Records a failure as "<pointer>: <rule>" and returns rc. Quiet mode
 * skips the formatting, except for hard errors, which end everything. */
static int vfail(vctx *c, const spath *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int vfail(vctx *c, const spath *p, int rc, const char *fmt, ...) {
  outbuf o = {c->err, c->errlen, 0};
  va_list ap;
  if (c->quiet && rc == CMCP_EINVAL)
    return rc;
  if (!c->nopath) {
    path_render(p, &o);
    ob_printf(&o, ": ");
  }
  va_start(ap, fmt);
  ob_vprintf(&o, fmt, ap);
  va_end(ap);
  return rc;
}

static int v_node(vctx *c, const snode *n, json_object *v, const spath *p);

/* Appends "a or b or c" for a set of type bits. */
static void ob_types(outbuf *o, unsigned types) {
  size_t k;
  int first = 1;
  for (k = 0; k < CMCP__ARRAY_SIZE(type_names); k++) {
    if (!(types & type_names[k].bit))
      continue;
    ob_printf(o, "%s%s", first ? "" : " or ", type_names[k].name);
    first = 0;
  }
}

static int type_ok(unsigned types, json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    return types & TY_NULL;
  case json_type_boolean:
    return types & TY_BOOLEAN;
  case json_type_object:
    return types & TY_OBJECT;
  case json_type_array:
    return types & TY_ARRAY;
  case json_type_string:
    return types & TY_STRING;
  case json_type_int:
    return types & (TY_NUMBER | TY_INTEGER);
  case json_type_double:
    return (types & TY_NUMBER) || ((types & TY_INTEGER) && is_integral(v));
  }
  return 0;
}

static int v_type(vctx *c, const snode *n, json_object *v, const spath *p) {
  char want[80];
  outbuf o = {want, sizeof want, 0};
  if (n->types == 0 || type_ok(n->types, v))
    return 0;
  want[0] = '\0';
  ob_types(&o, n->types);
  return vfail(c, p, CMCP_EINVAL, "expected %s, got %s", want, type_name_of(v));
}

/* const and enum. */
static int v_values(vctx *c, const snode *n, json_object *v, const spath *p) {
  char shown[80];
  outbuf o = {shown, sizeof shown, 0};
  size_t i, len;
  int eq = 0;
  shown[0] = '\0';
  if (n->has_const && (eq = json_eq(n->const_v, v, 0)) != 1) {
    if (eq < 0)
      return vfail(c, p, CMCP_ELIMIT, "value nests too deep to compare");
    ob_value(&o, n->const_v);
    return vfail(c, p, CMCP_EINVAL, "expected the constant %s", shown);
  }
  if (n->enum_v == NULL)
    return 0;
  len = json_object_array_length(n->enum_v);
  for (i = 0, eq = 0; i < len && eq == 0; i++)
    eq = json_eq(json_object_array_get_idx(n->enum_v, i), v, 0);
  if (eq < 0)
    return vfail(c, p, CMCP_ELIMIT, "value nests too deep to compare");
  if (eq == 1)
    return 0;
  ob_value(&o, v);
  return vfail(c, p, CMCP_EINVAL, "%s is not one of the %zu enum values", shown,
               len);
}

/* Checks v against a bound: -1 below, 1 above; exclusive rejects equal. */
static int v_bound(vctx *c, json_object *v, json_object *bound, int side,
                   int exclusive, const char *kw, const spath *p) {
  char a[40], b[40];
  outbuf oa = {a, sizeof a, 0}, ob = {b, sizeof b, 0};
  int cmp = num_cmp(num_of(v), num_of(bound));
  if (cmp != side && !(cmp == 0 && exclusive))
    return 0;
  a[0] = b[0] = '\0';
  ob_num(&oa, num_of(v));
  ob_num(&ob, num_of(bound));
  return vfail(c, p, CMCP_EINVAL, "%s is %s %s %s", a,
               side < 0 ? (exclusive ? "not greater than" : "less than")
                        : (exclusive ? "not less than" : "greater than"),
               kw, b);
}

/* 1 if v is an integer multiple of m (m > 0); doubles within a relative
 * 1e-9 of a whole quotient count, so 0.3 is a multiple of 0.1. */
static int multiple_ok(json_object *v, json_object *m) {
  snum a = num_of(v), b = num_of(m);
  double q;
  if (a.is_int && b.is_int)
    return a.i % b.i == 0;
  q = a.d / b.d;
  if (!isfinite(q))
    return 0;
  return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static int v_number(vctx *c, const snode *n, json_object *v, const spath *p) {
  char a[40];
  outbuf o = {a, sizeof a, 0};
  int rc = 0;
  if (n->minimum)
    rc = v_bound(c, v, n->minimum, -1, n->xmin_flag, "minimum", p);
  if (rc == 0 && n->xminimum)
    rc = v_bound(c, v, n->xminimum, -1, 1, "exclusiveMinimum", p);
  if (rc == 0 && n->maximum)
    rc = v_bound(c, v, n->maximum, 1, n->xmax_flag, "maximum", p);
  if (rc == 0 && n->xmaximum)
    rc = v_bound(c, v, n->xmaximum, 1, 1, "exclusiveMaximum", p);
  if (rc == 0 && n->multiple_of && !multiple_ok(v, n->multiple_of)) {
    a[0] = '\0';
    ob_num(&o, num_of(v));
    ob_printf(&o, " is not a multiple of ");
    ob_num(&o, num_of(n->multiple_of));
    rc = vfail(c, p, CMCP_EINVAL, "%s", a);
  }
  return rc;
}

static int v_string(vctx *c, const snode *n, json_object *v, const spath *p) {
  const char *s = json_object_get_string(v);
  size_t len = (size_t)json_object_get_string_len(v), chars;
  if (n->min_len >= 0 || n->max_len >= 0) {
    chars = utf8_count(s, len);
    if (n->min_len >= 0 && chars < (uint64_t)n->min_len)
      return vfail(c, p, CMCP_EINVAL,
                   "string has %zu characters, fewer than minLength %" PRId64,
                   chars, n->min_len);
    if (n->max_len >= 0 && chars > (uint64_t)n->max_len)
      return vfail(c, p, CMCP_EINVAL,
                   "string has %zu characters, more than maxLength %" PRId64,
                   chars, n->max_len);
  }
  if (n->pattern && !cmcp__re_match(n->pattern, s, len))
    return vfail(c, p, CMCP_EINVAL, "string does not match pattern \"%s\"",
                 n->pattern_src);
  return 0;
}

/* uniqueItems: quadratic, which is fine for argument-sized arrays. */
static int v_unique(vctx *c, json_object *v, const spath *p) {
  size_t i, j, len = json_object_array_length(v);
  int eq;
  for (i = 0; i < len; i++)
    for (j = i + 1; j < len; j++) {
      eq = json_eq(json_object_array_get_idx(v, i),
                   json_object_array_get_idx(v, j), 0);
      if (eq < 0)
        return vfail(c, p, CMCP_ELIMIT, "items nest too deep to compare");
      if (eq == 1)
        return vfail(c, p, CMCP_EINVAL,
                     "items %zu and %zu are equal (uniqueItems)", i, j);
    }
  return 0;
}

/* contains, minContains, maxContains. */
static int v_contains(vctx *c, const snode *n, json_object *v, const spath *p) {
  size_t i, hits = 0, len = json_object_array_length(v);
  int64_t min = n->min_contains >= 0 ? n->min_contains : 1;
  int quiet = c->quiet, rc = 0;
  c->quiet = 1;
  for (i = 0; i < len && (rc == 0 || rc == CMCP_EINVAL); i++) {
    spath q = {p, NULL, i, 0};
    rc = v_node(c, n->contains, json_object_array_get_idx(v, i), &q);
    hits += rc == 0;
  }
  c->quiet = quiet;
  if (rc != 0 && rc != CMCP_EINVAL)
    return rc;
  if (hits < (uint64_t)min)
    return vfail(c, p, CMCP_EINVAL,
                 "%zu items match \"contains\", fewer than %" PRId64, hits,
                 min);
  if (n->max_contains >= 0 && hits > (uint64_t)n->max_contains)
    return vfail(c, p, CMCP_EINVAL,
                 "%zu items match \"contains\", more than maxContains %" PRId64,
                 hits, n->max_contains);
  return 0;
}

static int v_array(vctx *c, const snode *n, json_object *v, const spath *p) {
  size_t i, len = json_object_array_length(v);
  const snode *sub;
  int rc;
  if (n->min_items >= 0 && len < (uint64_t)n->min_items)
    return vfail(c, p, CMCP_EINVAL,
                 "array has %zu items, fewer than minItems %" PRId64, len,
                 n->min_items);
  if (n->max_items >= 0 && len > (uint64_t)n->max_items)
    return vfail(c, p, CMCP_EINVAL,
                 "array has %zu items, more than maxItems %" PRId64, len,
                 n->max_items);
  for (i = 0; i < len; i++) {
    spath q = {p, NULL, i, 0};
    sub = i < n->prefix.n ? n->prefix.v[i] : n->items;
    if (sub && (rc = v_node(c, sub, json_object_array_get_idx(v, i), &q)))
      return rc;
  }
  if (n->unique && (rc = v_unique(c, v, p)) != 0)
    return rc;
  return n->contains ? v_contains(c, n, v, p) : 0;
}

static const snode *find_prop(const snode *n, const char *key) {
  sprop k = {key, NULL}, *hit;
  if (n->nprops == 0)
    return NULL;
  hit = bsearch(&k, n->props, n->nprops, sizeof k, prop_cmp);
  return hit ? hit->sub : NULL;
}

/* propertyNames: the name is checked as a string instance; the message
 * names the object and the property. */
static int v_prop_name(vctx *c, const snode *n, const char *key,
                       const spath *p) {
  char why[200], shown[80];
  outbuf o = {shown, sizeof shown, 0};
  vctx sub = *c;
  json_object *name = json_object_new_string(key);
  int rc;
  if (name == NULL)
    return vfail(c, p, CMCP_ENOMEM, "out of memory");
  why[0] = shown[0] = '\0';
  sub.err = why;
  sub.errlen = sizeof why;
  sub.nopath = 1;
  rc = v_node(&sub, n->prop_names, name, p);
  c->score = sub.score;
  json_object_put(name);
  if (rc == 0)
    return 0;
  ob_quoted(&o, key, strlen(key));
  return vfail(c, p, rc, "property name %s: %s", shown, why);
}

/* Applies properties, patternProperties, additionalProperties and
 * propertyNames to one member. */
static int v_member(vctx *c, const snode *n, const char *key, json_object *val,
                    const spath *p) {
  spath q = {p, key, 0, 0};
  const snode *sub = find_prop(n, key);
  int rc, matched = sub != NULL;
  size_t i;
  if (sub && (rc = v_node(c, sub, val, &q)) != 0)
    return rc;
  for (i = 0; i < n->npats; i++) {
    if (!cmcp__re_match(&n->pats[i].re, key, strlen(key)))
      continue;
    matched = 1;
    if ((rc = v_node(c, n->pats[i].sub, val, &q)) != 0)
      return rc;
  }
  if (!matched && n->additional && n->additional->boolean == 0)
    return vfail(c, p, CMCP_EINVAL,
                 "property \"%s\" is not allowed (additionalProperties)", key);
  if (!matched && n->additional &&
      (rc = v_node(c, n->additional, val, &q)) != 0)
    return rc;
  return n->prop_names ? v_prop_name(c, n, key, p) : 0;
}

/* The names that must be present because v has property key. */
static int v_dep_names(vctx *c, const char *key, json_object *names,
                       json_object *v, const spath *p) {
  size_t i;
  const char *name;
  for (i = 0; i < json_object_array_length(names); i++) {
    name = json_object_get_string(json_object_array_get_idx(names, i));
    if (!json_object_object_get_ex(v, name, NULL))
      return vfail(c, p, CMCP_EINVAL,
                   "property \"%s\" requires property \"%s\"", key, name);
  }
  return 0;
}

/* required, dependentRequired and draft-07 dependencies. */
static int v_required(vctx *c, const snode *n, json_object *v, const spath *p) {
  size_t i;
  const char *name;
  int rc;
  if (n->required)
    for (i = 0; i < json_object_array_length(n->required); i++) {
      name = json_object_get_string(json_object_array_get_idx(n->required, i));
      if (!json_object_object_get_ex(v, name, NULL))
        return vfail(c, p, CMCP_EINVAL, "missing required property \"%s\"",
                     name);
    }
  if (n->dep_required) {
    json_object_object_foreach(n->dep_required, key, names) {
      if (json_object_object_get_ex(v, key, NULL) &&
          (rc = v_dep_names(c, key, names, v, p)) != 0)
        return rc;
    }
  }
  if (n->dependencies) {
    json_object_object_foreach(n->dependencies, dkey, dep) {
      if (!json_object_object_get_ex(v, dkey, NULL))
        continue;
      rc = json_object_is_type(dep, json_type_array)
               ? v_dep_names(c, dkey, dep, v, p)
               : v_node(c, tab_get(c->s, dep), v, p);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

static int v_object(vctx *c, const snode *n, json_object *v, const spath *p) {
  size_t i, count = (size_t)json_object_object_length(v);
  int rc;
  if (n->min_props >= 0 && count < (uint64_t)n->min_props)
    return vfail(c, p, CMCP_EINVAL,
                 "object has %zu properties, fewer than minProperties %" PRId64,
                 count, n->min_props);
  if (n->max_props >= 0 && count > (uint64_t)n->max_props)
    return vfail(c, p, CMCP_EINVAL,
                 "object has %zu properties, more than maxProperties %" PRId64,
                 count, n->max_props);
  if (n->nprops || n->npats || n->additional || n->prop_names) {
    json_object_object_foreach(v, key, val) {
      if ((rc = v_member(c, n, key, val, p)) != 0)
        return rc;
      c->score++;
    }
  }
  if ((rc = v_required(c, n, v, p)) != 0)
    return rc;
  for (i = 0; i < n->ndep_schemas; i++)
    if (json_object_object_get_ex(v, n->dep_schemas[i].name, NULL) &&
        (rc = v_node(c, n->dep_schemas[i].sub, v, p)) != 0)
      return rc;
  return 0;
}

/* How many anyOf/oneOf failures inside one another are explained; past
 * it, re-running every branch would cost branches^levels. */
#define SCHEMA_MAX_EXPLAIN 3

/* Explains why no branch of anyOf/oneOf matched: every branch is run
 * again with messages on, and the one that got furthest (passed the most
 * checks) is quoted. Only runs on the failure path. */
static int v_explain(vctx *c, const slist *l, json_object *v, const spath *p,
                     const char *kw) {
  char tmp[256], best[256];
  char *err = c->err;
  size_t i, errlen = c->errlen, besti = 0;
  unsigned long s0, gain, best_gain = 0;
  int rc = CMCP_EINVAL;
  if (c->explaining >= SCHEMA_MAX_EXPLAIN)
    return vfail(c, p, rc, "matches none of the %zu %s alternatives", l->n, kw);
  best[0] = '\0';
  c->explaining++;
  for (i = 0; i < l->n; i++) {
    tmp[0] = '\0';
    c->err = tmp;
    c->errlen = sizeof tmp;
    s0 = c->score;
    rc = v_node(c, l->v[i], v, p);
    gain = c->score - s0;
    if (rc != CMCP_EINVAL)
      break; /* cannot pass now (it did not before); a hard error can */
    if (i == 0 || gain > best_gain) {
      memcpy(best, tmp, sizeof best);
      besti = i;
      best_gain = gain;
    }
  }
  c->err = err;
  c->errlen = errlen;
  c->explaining--;
  if (rc != CMCP_EINVAL) { /* e.g. ENOMEM: its message is in tmp */
    outbuf o = {err, errlen, 0};
    ob_printf(&o, "%s", tmp);
    return rc;
  }
  return vfail(c, p, rc,
               "matches none of the %zu %s alternatives; closest "
               "(#%zu): %s",
               l->n, kw, besti, best);
}

/* anyOf. The branches run quietly; only a failure is explained. */
static int v_any_of(vctx *c, const slist *l, json_object *v, const spath *p) {
  int quiet = c->quiet, rc = CMCP_EINVAL;
  size_t i;
  if (l->n == 1)
    return v_node(c, l->v[0], v, p);
  c->quiet = 1;
  for (i = 0; i < l->n && rc == CMCP_EINVAL; i++)
    rc = v_node(c, l->v[i], v, p);
  c->quiet = quiet;
  if (rc != CMCP_EINVAL || quiet)
    return rc;
  return v_explain(c, l, v, p, "anyOf");
}

static int v_one_of(vctx *c, const slist *l, json_object *v, const spath *p) {
  int quiet = c->quiet, rc = 0;
  size_t i, hits = 0, first = 0, second = 0;
  c->quiet = 1;
  for (i = 0; i < l->n; i++) {
    rc = v_node(c, l->v[i], v, p);
    if (rc != 0 && rc != CMCP_EINVAL)
      break;
    if (rc == 0 && hits++ == 0)
      first = i;
    else if (rc == 0 && hits == 2)
      second = i;
    rc = 0;
  }
  c->quiet = quiet;
  if (rc != 0)
    return rc;
  if (hits == 1)
    return 0;
  if (hits > 1)
    return vfail(c, p, CMCP_EINVAL,
                 "matches oneOf alternatives #%zu and #%zu; exactly one must "
                 "match",
                 first, second);
  return quiet ? CMCP_EINVAL : v_explain(c, l, v, p, "oneOf");
}

/* not, and if/then/else: the condition is only probed, quietly. */
static int v_probe(vctx *c, const snode *n, json_object *v, const spath *p) {
  int quiet = c->quiet, rc;
  c->quiet = 1;
  rc = v_node(c, n, v, p);
  c->quiet = quiet;
  return rc;
}

static int v_apply(vctx *c, const snode *n, json_object *v, const spath *p) {
  size_t i;
  int rc = 0;
  if (n->ref && (rc = v_node(c, n->ref, v, p)) != 0)
    return rc;
  for (i = 0; i < n->all_of.n; i++)
    if ((rc = v_node(c, n->all_of.v[i], v, p)) != 0)
      return rc;
  if (n->any_of.n && (rc = v_any_of(c, &n->any_of, v, p)) != 0)
    return rc;
  if (n->one_of.n && (rc = v_one_of(c, &n->one_of, v, p)) != 0)
    return rc;
  if (n->not_) {
    rc = v_probe(c, n->not_, v, p);
    if (rc == 0)
      return vfail(c, p, CMCP_EINVAL, "must not match the \"not\" schema");
    if (rc != CMCP_EINVAL)
      return rc;
    rc = 0;
  }
  if (n->if_) {
    rc = v_probe(c, n->if_, v, p);
    if (rc == 0 && n->then_)
      return v_node(c, n->then_, v, p);
    if (rc == CMCP_EINVAL)
      return n->else_ ? v_node(c, n->else_, v, p) : 0;
  }
  return rc;
}

/* The keywords that apply to the instance's own type. */
static int v_typed(vctx *c, const snode *n, json_object *v, const spath *p) {
  switch (json_object_get_type(v)) {
  case json_type_int:
  case json_type_double:
    return v_number(c, n, v, p);
  case json_type_string:
    return v_string(c, n, v, p);
  case json_type_array:
    return v_array(c, n, v, p);
  case json_type_object:
    return v_object(c, n, v, p);
  default:
    return 0;
  }
}

/* Validates v against one node: 0, CMCP_EINVAL (not valid), CMCP_ELIMIT
 * (too deep) or CMCP_ENOMEM. */
static int v_node(vctx *c, const snode *n, json_object *v, const spath *p) {
  int rc;
  if (n->boolean == 1)
    return 0;
  if (n->boolean == 0)
    return vfail(c, p, CMCP_EINVAL,
                 "no value is allowed here (false "
                 "schema)");
  if (c->depth >= CMCP__SCHEMA_MAX_DEPTH)
    return vfail(c, p, CMCP_ELIMIT, "validation nests deeper than %d levels",
                 CMCP__SCHEMA_MAX_DEPTH);
  c->depth++;
  rc = v_type(c, n, v, p);
  if (rc == 0)
    rc = v_values(c, n, v, p);
  if (rc == 0) {
    c->score++;
    rc = v_typed(c, n, v, p);
  }
  if (rc == 0)
    rc = v_apply(c, n, v, p);
  c->depth--;
  c->score += rc == 0;
  return rc;
}

/* The node of "#/$defs/<def>" (or "#/definitions/<def>"), or NULL. */
static const snode *find_def(const cmcp__schema_t *s, const char *def) {
  json_object *defs, *js;
  if ((json_object_object_get_ex(s->doc, "$defs", &defs) &&
       json_object_object_get_ex(defs, def, &js)) ||
      (json_object_object_get_ex(s->doc, "definitions", &defs) &&
       json_object_object_get_ex(defs, def, &js)))
    return tab_get(s, js);
  return NULL;
}

int cmcp__schema_validate(const cmcp__schema_t *s, const char *def,
                          json_object *instance, char *err, size_t errlen) {
  vctx c = {s, err, errlen, 0, 0, 0, 0, 0};
  const snode *n;
  if (err && errlen)
    err[0] = '\0';
  c.nopath = 1;
  if (s == NULL)
    return vfail(&c, NULL, CMCP_EINVAL, "no schema");
  n = def ? find_def(s, def) : s->root;
  if (n == NULL)
    return vfail(&c, NULL, CMCP_ENOENT, "the schema has no definition \"%s\"",
                 def);
  c.nopath = 0;
  return v_node(&c, n, instance, NULL);
}
