/* src/proto/uritemplate.c: RFC 6570 URI templates: compile, expand (levels
 * 1-4) and match (levels 1-3 plus exploded lists), see uritemplate.h. */
#include "uritemplate.h"

#include <stdio.h>
#include <string.h>

/* How many candidate splits one match may try before giving up (the memo
 * below keeps real templates far from it). */
#define MATCH_BUDGET 20000

/* One operator's expansion behaviour (RFC 6570 Appendix A), plus the
 * characters a matched value of that operator may not contain. */
typedef struct {
  char op;           /* '\0' for a simple expression */
  const char *first; /* emitted before the first defined variable */
  char sep;          /* between variables and exploded items */
  int named;         /* name=value pairs */
  const char *ifemp; /* after the name when the value is empty */
  int reserved;      /* reserved characters pass unencoded */
  const char *stop;  /* characters a matched value never holds */
} opinfo;

static const opinfo k_ops[] = {
    {'\0', "", ',', 0, "", 0, "/?#"}, {'+', "", ',', 0, "", 1, "#"},
    {'#', "#", ',', 0, "", 1, "#"},   {'.', ".", '.', 0, "", 0, "/?#"},
    {'/', "/", '/', 0, "", 0, "?#"},  {';', ";", ';', 1, "", 0, "/?#"},
    {'?', "?", '&', 1, "=", 0, "#"},  {'&', "&", '&', 1, "=", 0, "#"},
};

/* One variable occurrence inside an expression. */
typedef struct {
  const char *name; /* into t->text; not NUL-terminated */
  size_t namelen;
  size_t uid;      /* index into t->names (distinct names) */
  unsigned prefix; /* {var:N}; 0 when absent */
  int explode;     /* {var*} */
} tvar;

/* A literal run of the template or one {expression}. */
typedef struct {
  const opinfo *op; /* NULL for a literal */
  const char *lit;  /* literal text (into t->text) */
  size_t litlen;
  size_t first, nvars; /* the expression's variables in t->vars */
} tpart;

struct cmcp__uritpl {
  char *text;
  tpart *parts;
  size_t nparts;
  tvar vars[CMCP__URITPL_MAX_VARS]; /* occurrences, template order */
  size_t nvars;
  char *names[CMCP__URITPL_MAX_VARS]; /* distinct names, NUL-terminated */
  size_t nnames;
};

/* ---- character classes ------------------------------------------------- */

static int is_alpha(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static int is_digit(int c) {
  return c >= '0' && c <= '9';
}
static int hexval(int c) {
  if (is_digit(c))
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}
static int is_unreserved(int c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}
static int is_reserved(int c) {
  return c != '\0' && strchr(":/?#[]@!$&'()*+,;=", c) != NULL;
}
/* True if s[0..n) starts with a %XX triplet. */
static int is_pct(const char *s, size_t n) {
  return n >= 3 && s[0] == '%' && hexval((unsigned char)s[1]) >= 0 &&
         hexval((unsigned char)s[2]) >= 0;
}
/* Characters RFC 6570 section 2.1 allows in a literal (besides pct-encoded
 * triplets and non-ASCII). */
static int is_literal_char(int c) {
  if (c >= 0x80)
    return 1;
  if (c <= 0x20 || c == 0x7f)
    return 0;
  return strchr("\"'%<>\\^`{|}", c) == NULL;
}

static const opinfo *op_lookup(char c) {
  size_t i;
  for (i = 1; i < CMCP__ARRAY_SIZE(k_ops); i++)
    if (k_ops[i].op == c)
      return &k_ops[i];
  return &k_ops[0];
}

/* ---- compile ----------------------------------------------------------- */

typedef struct {
  cmcp__uritpl_t *t;
  const char *s; /* t->text */
  size_t pos;
  char *err;
  size_t errlen;
} parser;

static int perr(parser *p, const char *why) {
  if (p->err != NULL && p->errlen > 0)
    snprintf(p->err, p->errlen, "%s at offset %zu", why, p->pos);
  return CMCP_EPARSE;
}

/* Index of name[0..n) among the distinct names, adding it if new. */
static int intern_name(parser *p, const char *name, size_t n, size_t *uid) {
  cmcp__uritpl_t *t = p->t;
  size_t i;
  for (i = 0; i < t->nnames; i++)
    if (strlen(t->names[i]) == n && memcmp(t->names[i], name, n) == 0) {
      *uid = i;
      return 0;
    }
  t->names[t->nnames] = cmcp__strndup(name, n);
  if (t->names[t->nnames] == NULL)
    return CMCP_ENOMEM;
  *uid = t->nnames++;
  return 0;
}

/* varname = varchar *( ["."] varchar ); varchar = ALPHA / DIGIT / "_" /
 * pct-encoded. Advances p->pos past the name. */
static int parse_varname(parser *p) {
  const char *s = p->s;
  size_t start = p->pos;
  for (;;) {
    unsigned char c = (unsigned char)s[p->pos];
    if (is_alpha(c) || is_digit(c) || c == '_')
      p->pos++;
    else if (c == '%' && is_pct(s + p->pos, 3))
      p->pos += 3;
    else if (c == '.' && p->pos > start && s[p->pos - 1] != '.')
      p->pos++;
    else
      break;
  }
  if (p->pos == start)
    return perr(p, "empty or invalid variable name");
  if (s[p->pos - 1] == '.') {
    p->pos--;
    return perr(p, s[p->pos + 1] == '.' ? "'..' in variable name"
                                        : "variable name ends with '.'");
  }
  return 0;
}

/* Parses the optional ":N" (1..9999) or "*" after a variable name. */
static int parse_modifier(parser *p, tvar *v) {
  const char *s = p->s;
  unsigned n = 0;
  size_t digits = 0;
  if (s[p->pos] == '*') {
    v->explode = 1;
    p->pos++;
    return 0;
  }
  if (s[p->pos] != ':')
    return 0;
  p->pos++;
  if (!is_digit((unsigned char)s[p->pos]) || s[p->pos] == '0')
    return perr(p, "prefix length must be 1 to 9999");
  while (is_digit((unsigned char)s[p->pos]) && digits < 5) {
    n = n * 10 + (unsigned)(s[p->pos] - '0');
    p->pos++;
    digits++;
  }
  if (digits > 4)
    return perr(p, "prefix length must be 1 to 9999");
  v->prefix = n;
  return 0;
}

/* Parses one varspec at p->pos into a new occurrence of the template. */
static int parse_varspec(parser *p) {
  cmcp__uritpl_t *t = p->t;
  tvar *v;
  size_t start = p->pos;
  int rc;
  if (t->nvars == CMCP__URITPL_MAX_VARS)
    return perr(p, "too many variables");
  v = &t->vars[t->nvars];
  memset(v, 0, sizeof(*v));
  if ((rc = parse_varname(p)) != 0)
    return rc;
  v->name = p->s + start;
  v->namelen = p->pos - start;
  if ((rc = parse_modifier(p, v)) != 0)
    return rc;
  if ((rc = intern_name(p, v->name, v->namelen, &v->uid)) != 0)
    return rc;
  t->nvars++;
  return 0;
}

/* Parses "{...}" at p->pos into part. */
static int parse_expression(parser *p, tpart *part) {
  const char *s = p->s;
  char c;
  int rc;
  p->pos++; /* '{' */
  c = s[p->pos];
  if (c == '}')
    return perr(p, "empty expression");
  if (c != '\0' && strchr("=,!@|", c) != NULL)
    return perr(p, "reserved operator");
  part->op = op_lookup(c);
  if (part->op->op != '\0')
    p->pos++;
  part->first = p->t->nvars;
  for (;;) {
    if ((rc = parse_varspec(p)) != 0)
      return rc;
    c = s[p->pos];
    if (c == '}')
      break;
    if (c == '\0')
      return perr(p, "unclosed '{'");
    if (c != ',')
      return perr(p,
                  c == '{' ? "nested '{'" : "invalid character in expression");
    p->pos++;
  }
  p->pos++; /* '}' */
  part->nvars = p->t->nvars - part->first;
  return 0;
}

/* Parses a literal run at p->pos into part. */
static int parse_literal(parser *p, tpart *part) {
  const char *s = p->s;
  part->op = NULL;
  part->lit = s + p->pos;
  while (s[p->pos] != '\0' && s[p->pos] != '{') {
    unsigned char c = (unsigned char)s[p->pos];
    if (c == '%' && is_pct(s + p->pos, 3)) {
      p->pos += 3;
      continue;
    }
    if (c == '}')
      return perr(p, "unmatched '}'");
    if (c == '%')
      return perr(p, "bad percent-encoding");
    if (!is_literal_char(c))
      return perr(p, "character not allowed in a literal");
    p->pos++;
  }
  part->litlen = (size_t)(s + p->pos - part->lit);
  return 0;
}

static int parse_template(parser *p) {
  cmcp__uritpl_t *t = p->t;
  size_t i, n = 1;
  int rc;
  for (i = 0; p->s[i] != '\0'; i++)
    n += p->s[i] == '{' ? 2 : 0;
  t->parts = cmcp__calloc(n, sizeof(tpart));
  if (t->parts == NULL)
    return CMCP_ENOMEM;
  while (p->s[p->pos] != '\0') {
    tpart *part = &t->parts[t->nparts];
    rc = p->s[p->pos] == '{' ? parse_expression(p, part)
                             : parse_literal(p, part);
    if (rc != 0)
      return rc;
    t->nparts++;
  }
  return 0;
}

cmcp__uritpl_t *cmcp__uritpl_compile(const char *tpl, char *err,
                                     size_t errlen) {
  parser p = {NULL, NULL, 0, err, errlen};
  int rc;
  if (err != NULL && errlen > 0)
    err[0] = '\0';
  if (tpl == NULL ||
      strnlen(tpl, CMCP__URITPL_MAX_LEN + 1) > CMCP__URITPL_MAX_LEN) {
    perr(&p, tpl == NULL ? "no template" : "template too long");
    return NULL;
  }
  p.t = cmcp__calloc(1, sizeof(*p.t));
  if (p.t == NULL || (p.t->text = cmcp__strdup(tpl)) == NULL) {
    rc = CMCP_ENOMEM;
    goto fail;
  }
  p.s = p.t->text;
  rc = parse_template(&p);
  if (rc != 0)
    goto fail;
  return p.t;
fail:
  if (rc == CMCP_ENOMEM && err != NULL && errlen > 0)
    snprintf(err, errlen, "out of memory");
  cmcp__uritpl_free(p.t);
  return NULL;
}

void cmcp__uritpl_free(cmcp__uritpl_t *t) {
  size_t i;
  if (t == NULL)
    return;
  for (i = 0; i < t->nnames; i++)
    cmcp__free(t->names[i]);
  cmcp__free(t->parts);
  cmcp__free(t->text);
  cmcp__free(t);
}

const char *cmcp__uritpl_text(const cmcp__uritpl_t *t) {
  return t->text;
}

size_t cmcp__uritpl_var_count(const cmcp__uritpl_t *t) {
  return t->nnames;
}

const char *cmcp__uritpl_var_name(const cmcp__uritpl_t *t, size_t i) {
  return i < t->nnames ? t->names[i] : NULL;
}

/* Index of name among t's distinct names, or -1. */
static int name_index(const cmcp__uritpl_t *t, const char *name) {
  size_t i;
  for (i = 0; i < t->nnames; i++)
    if (strcmp(t->names[i], name) == 0)
      return (int)i;
  return -1;
}

/* ---- expand ------------------------------------------------------------ */

/* Appends s[0..n) encoded for an expression: unreserved characters pass,
 * and with reserved also reserved characters and existing %XX triplets;
 * every other byte becomes %XX. */
static int encode(cmcp__buf *out, const char *s, size_t n, int reserved) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i = 0;
  int rc = 0;
  while (i < n && rc == 0) {
    unsigned char c = (unsigned char)s[i];
    if (reserved && c == '%' && is_pct(s + i, n - i)) {
      rc = cmcp__buf_add(out, s + i, 3);
      i += 3;
      continue;
    }
    if (is_unreserved(c) || (reserved && is_reserved(c))) {
      rc = cmcp__buf_add(out, s + i, 1);
    } else {
      char trip[3] = {'%', hex[c >> 4], hex[c & 15]};
      rc = cmcp__buf_add(out, trip, 3);
    }
    i++;
  }
  return rc;
}

/* Byte length of the first max code points of the UTF-8 string s. */
static size_t utf8_prefix(const char *s, unsigned max) {
  size_t i = 0;
  unsigned cps = 0;
  while (s[i] != '\0') {
    if (((unsigned char)s[i] & 0xc0) != 0x80) {
      if (cps == max)
        break;
      cps++;
    }
    i++;
  }
  return i;
}

static const cmcp__uritpl_value *find_value(const cmcp__uritpl_value *vars,
                                            size_t n, const tvar *v) {
  size_t i;
  for (i = 0; i < n; i++)
    if (vars[i].name != NULL && strlen(vars[i].name) == v->namelen &&
        memcmp(vars[i].name, v->name, v->namelen) == 0)
      return &vars[i];
  return NULL;
}

static int is_defined(const cmcp__uritpl_value *val) {
  if (val == NULL)
    return 0;
  if (val->kind == CMCP__URITPL_STRING)
    return val->str != NULL;
  return val->n > 0 && val->items != NULL;
}

/* Appends "name" plus '=' or the operator's ifemp for a named expansion. */
static int add_name(cmcp__buf *out, const opinfo *op, const char *name,
                    size_t namelen, int empty) {
  int rc = cmcp__buf_add(out, name, namelen);
  if (rc == 0)
    rc = cmcp__buf_adds(out, empty ? op->ifemp : "=");
  return rc;
}

/* Expands a composite value with the explode modifier. */
static int expand_exploded(cmcp__buf *out, const opinfo *op, const tvar *v,
                           const cmcp__uritpl_value *val) {
  int assoc = val->kind == CMCP__URITPL_ASSOC;
  size_t i, step = assoc ? 2 : 1;
  int rc = 0;
  for (i = 0; i + step <= val->n && rc == 0; i += step) {
    const char *item = val->items[i + step - 1];
    item = item != NULL ? item : "";
    if (i > 0)
      rc = cmcp__buf_add(out, &op->sep, 1);
    if (rc == 0 && assoc) {
      rc = encode(out, val->items[i] ? val->items[i] : "",
                  val->items[i] ? strlen(val->items[i]) : 0, op->reserved);
      if (rc == 0)
        rc =
            cmcp__buf_adds(out, op->named && item[0] == '\0' ? op->ifemp : "=");
    } else if (rc == 0 && op->named) {
      rc = add_name(out, op, v->name, v->namelen, item[0] == '\0');
    }
    if (rc == 0)
      rc = encode(out, item, strlen(item), op->reserved);
  }
  return rc;
}

/* Expands a defined value (the separator is already written). */
static int expand_value(cmcp__buf *out, const opinfo *op, const tvar *v,
                        const cmcp__uritpl_value *val) {
  size_t i, len;
  int rc = 0;
  if (val->kind != CMCP__URITPL_STRING && v->explode)
    return expand_exploded(out, op, v, val);
  if (val->kind == CMCP__URITPL_STRING) {
    len = v->prefix ? utf8_prefix(val->str, v->prefix) : strlen(val->str);
    if (op->named)
      rc = add_name(out, op, v->name, v->namelen, len == 0);
    return rc == 0 ? encode(out, val->str, len, op->reserved) : rc;
  }
  /* A list or assoc without explode: items joined by ','. Prefixes do not
   * apply to composite values (RFC 6570 section 2.4.1). */
  if (op->named)
    rc = add_name(out, op, v->name, v->namelen, 0);
  for (i = 0; i < val->n && rc == 0; i++) {
    const char *item = val->items[i] != NULL ? val->items[i] : "";
    if (i > 0)
      rc = cmcp__buf_add(out, ",", 1);
    if (rc == 0)
      rc = encode(out, item, strlen(item), op->reserved);
  }
  return rc;
}

static int expand_expr(const cmcp__uritpl_t *t, const tpart *part,
                       const cmcp__uritpl_value *vars, size_t n,
                       cmcp__buf *out) {
  size_t i;
  int first = 1, rc = 0;
  for (i = 0; i < part->nvars && rc == 0; i++) {
    const tvar *v = &t->vars[part->first + i];
    const cmcp__uritpl_value *val = find_value(vars, n, v);
    if (!is_defined(val))
      continue;
    if (first)
      rc = cmcp__buf_adds(out, part->op->first);
    else
      rc = cmcp__buf_add(out, &part->op->sep, 1);
    first = 0;
    if (rc == 0)
      rc = expand_value(out, part->op, v, val);
  }
  return rc;
}

/* Literal characters are copied, except that non-ASCII bytes are
 * percent-encoded (RFC 6570 section 3.1). */
static int expand_literal(const tpart *part, cmcp__buf *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  int rc = 0;
  for (i = 0; i < part->litlen && rc == 0; i++) {
    unsigned char c = (unsigned char)part->lit[i];
    if (c < 0x80) {
      rc = cmcp__buf_add(out, part->lit + i, 1);
    } else {
      char trip[3] = {'%', hex[c >> 4], hex[c & 15]};
      rc = cmcp__buf_add(out, trip, 3);
    }
  }
  return rc;
}

int cmcp__uritpl_expand_values(const cmcp__uritpl_t *t,
                               const cmcp__uritpl_value *vars, size_t n,
                               cmcp__buf *out) {
  size_t i, old;
  int rc = 0;
  if (t == NULL || out == NULL || (vars == NULL && n > 0))
    return CMCP_EINVAL;
  old = out->len;
  for (i = 0; i < t->nparts && rc == 0; i++) {
    const tpart *part = &t->parts[i];
    rc = part->op == NULL ? expand_literal(part, out)
                          : expand_expr(t, part, vars, n, out);
  }
  if (rc == 0 && out->data == NULL)
    rc = cmcp__buf_add(out, "", 0);
  if (rc != 0) {
    out->len = old;
    if (out->data != NULL)
      out->data[old] = '\0';
  }
  return rc;
}

int cmcp__uritpl_expand(const cmcp__uritpl_t *t, const char *const *names,
                        const char *const *values, size_t n, cmcp__buf *out) {
  cmcp__uritpl_value vals[CMCP__URITPL_MAX_VARS];
  size_t i, k = 0;
  if (t == NULL || out == NULL || (n > 0 && (names == NULL || values == NULL)))
    return CMCP_EINVAL;
  /* Only names the template uses matter, so at most MAX_VARS are kept. */
  for (i = 0; i < n && k < CMCP__URITPL_MAX_VARS; i++) {
    if (names[i] == NULL || name_index(t, names[i]) < 0)
      continue;
    memset(&vals[k], 0, sizeof(vals[k]));
    vals[k].name = names[i];
    vals[k].kind = CMCP__URITPL_STRING;
    vals[k].str = values[i];
    k++;
  }
  return cmcp__uritpl_expand_values(t, vals, k, out);
}

/* ---- match ------------------------------------------------------------- */

/* Longest URI cmcp__uritpl_match_uri considers. */
#define MATCH_MAX_URI 8192
#define MATCH_MAX_PARTS (2 * CMCP__URITPL_MAX_VARS + 1)

/* Where the values of one match go once its split is known: one buffer per
 * variable occurrence. */
typedef struct {
  cmcp__buf vals[CMCP__URITPL_MAX_VARS];
  int defined[CMCP__URITPL_MAX_VARS];
} sink;

typedef struct {
  const cmcp__uritpl_t *t;
  const char *uri;
  size_t ulen;
  size_t start[MATCH_MAX_PARTS], end[MATCH_MAX_PARTS]; /* expression spans */
  long steps;
  /* Bit (pi * (ulen + 1) + pos) set once parts[pi..] failed at uri[pos..]:
   * the search then visits each state once, not exponentially often. */
  unsigned char *dead;
} matcher;

/* True if c can never be part of a value of op. */
static int stops(const opinfo *op, unsigned char c) {
  return c <= 0x20 || c == 0x7f || strchr(op->stop, c) != NULL;
}

/* Checks one matched value s[0..n): no stop characters, and every '%' a
 * triplet that does not decode to NUL. *cps gets its decoded length in code
 * points. Returns 0 or CMCP_ENOENT. */
static int value_ok(const opinfo *op, const char *s, size_t n, unsigned *cps) {
  size_t i = 0;
  unsigned count = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (stops(op, c))
      return CMCP_ENOENT;
    if (c == '%') {
      if (!is_pct(s + i, n - i) || (s[i + 1] == '0' && s[i + 2] == '0'))
        return CMCP_ENOENT;
      c = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
                          hexval((unsigned char)s[i + 2]));
      i += 3;
    } else {
      i++;
    }
    count += (c & 0xc0) != 0x80;
  }
  *cps = count;
  return 0;
}

/* Validates value s[0..n) for occurrence occ and, with a sink, appends it
 * percent-decoded to the occurrence's buffer (after a ',' when the
 * occurrence already has a value: exploded items). */
static int take_value(const cmcp__uritpl_t *t, const opinfo *op, size_t occ,
                      const char *s, size_t n, sink *sk) {
  unsigned cps;
  size_t i;
  int rc = value_ok(op, s, n, &cps);
  if (rc != 0 || (t->vars[occ].prefix && cps > t->vars[occ].prefix))
    return CMCP_ENOENT;
  if (sk == NULL)
    return 0;
  if (sk->defined[occ] && (rc = cmcp__buf_add(&sk->vals[occ], ",", 1)) != 0)
    return rc;
  sk->defined[occ] = 1;
  for (i = 0; i < n && rc == 0; i++) {
    char c = s[i];
    if (c == '%') {
      c = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                 hexval((unsigned char)s[i + 2]));
      i += 2;
    }
    rc = cmcp__buf_add(&sk->vals[occ], &c, 1);
  }
  return rc;
}

/* End of the item starting at s[i] within s[0..n). */
static size_t item_end(const char *s, size_t n, size_t i, char sep) {
  while (i < n && s[i] != sep)
    i++;
  return i;
}

/* Body of an unnamed expression ("", +, #, ., /): items in template order.
 * A lone unexploded variable of a ','-separated operator takes everything;
 * otherwise items are split on the separator, one per variable, the one
 * exploded variable (if any) taking the surplus, and variables past the last
 * item are undefined. */
static int scan_unnamed(const cmcp__uritpl_t *t, const tpart *part,
                        const char *s, size_t n, sink *sk) {
  const opinfo *op = part->op;
  size_t nv = part->nvars, k = 1, i, vi, explode_at = nv, extra = 0, p = 0;
  int single = nv == 1 && !t->vars[part->first].explode && op->sep == ',';
  int rc;
  for (i = 0; i < n && !single; i++)
    k += s[i] == op->sep;
  for (vi = 0; vi < nv; vi++)
    if (t->vars[part->first + vi].explode)
      explode_at = explode_at == nv ? vi : nv + 1; /* nv + 1: two of them */
  if (k > nv) {
    if (explode_at >= nv)
      return CMCP_ENOENT;
    extra = k - nv;
  }
  for (vi = 0; vi < nv && p <= n; vi++) {
    size_t take = 1 + (vi == explode_at ? extra : 0), j;
    for (j = 0; j < take && p <= n; j++) {
      size_t q = single ? n : item_end(s, n, p, op->sep);
      rc = take_value(t, op, part->first + vi, s + p, q - p, sk);
      if (rc != 0)
        return rc;
      p = q + 1;
    }
  }
  return 0;
}

/* The occurrence in part named s[0..n), or (size_t)-1. */
static size_t find_occ(const cmcp__uritpl_t *t, const tpart *part,
                       const char *s, size_t n) {
  size_t i;
  for (i = part->first; i < part->first + part->nvars; i++)
    if (t->vars[i].namelen == n && memcmp(t->vars[i].name, s, n) == 0)
      return i;
  return (size_t)-1;
}

/* Body of a named expression (;, ?, &): name[=value] items in any order;
 * an unknown name, or a repeated one that is not exploded, fails. */
static int scan_named(const cmcp__uritpl_t *t, const tpart *part, const char *s,
                      size_t n, sink *sk) {
  const opinfo *op = part->op;
  uint32_t seen = 0;
  size_t p = 0;
  int rc;
  while (p <= n) {
    size_t q = item_end(s, n, p, op->sep), eq = item_end(s, q, p, '=');
    size_t occ = find_occ(t, part, s + p, eq - p);
    if (occ == (size_t)-1)
      return CMCP_ENOENT;
    if ((seen >> (occ % 32) & 1) && !t->vars[occ].explode)
      return CMCP_ENOENT;
    seen |= (uint32_t)1 << (occ % 32);
    eq = eq < q ? eq + 1 : q;
    rc = take_value(t, op, occ, s + eq, q - eq, sk);
    if (rc != 0)
      return rc;
    p = q + 1;
  }
  return 0;
}

/* Checks that s[0..n) is an expansion of expression part (and extracts it
 * into sk when given). Returns 0, CMCP_ENOENT or CMCP_ENOMEM. */
static int scan_expr(const cmcp__uritpl_t *t, const tpart *part, const char *s,
                     size_t n, sink *sk) {
  const opinfo *op = part->op;
  if (n == 0) /* every variable undefined; a bare {var} must not be empty */
    return op->first[0] != '\0' ? 0 : CMCP_ENOENT;
  if (op->first[0] != '\0') {
    if (s[0] != op->first[0])
      return CMCP_ENOENT;
    s++;
    n--;
  }
  return op->named ? scan_named(t, part, s, n, sk)
                   : scan_unnamed(t, part, s, n, sk);
}

static int match_from(matcher *m, size_t pi, size_t pos);

/* Tries the spans of expression pi starting at pos, shortest first. */
static int match_expr(matcher *m, size_t pi, size_t pos) {
  const cmcp__uritpl_t *t = m->t;
  const tpart *part = &t->parts[pi];
  const tpart *next = pi + 1 < t->nparts ? &t->parts[pi + 1] : NULL;
  size_t maxend = pos, e;
  int rc;
  if (maxend < m->ulen && m->uri[maxend] == part->op->first[0])
    maxend++; /* the '#' of {#var} is not part of its value */
  while (maxend < m->ulen && !stops(part->op, (unsigned char)m->uri[maxend]))
    maxend++;
  e = next == NULL ? m->ulen : pos; /* the last part must reach the end */
  for (; e <= maxend; e++) {
    /* A literal after the expression pins where the expression can end. */
    if (next != NULL && next->op == NULL &&
        (e == m->ulen || m->uri[e] != next->lit[0]))
      continue;
    m->steps += 1 + (long)((e - pos) / 64);
    if (m->steps > MATCH_BUDGET)
      return CMCP_ELIMIT;
    if (scan_expr(t, part, m->uri + pos, e - pos, NULL) != 0)
      continue;
    m->start[pi] = pos;
    m->end[pi] = e;
    rc = match_from(m, pi + 1, e);
    if (rc != CMCP_ENOENT)
      return rc;
  }
  return CMCP_ENOENT;
}

/* Matches parts[pi..] against uri[pos..]: 0, CMCP_ENOENT or CMCP_ELIMIT
 * (budget spent). Recursion depth is at most the number of parts. */
static int match_from(matcher *m, size_t pi, size_t pos) {
  const tpart *part;
  if (pi == m->t->nparts)
    return pos == m->ulen ? 0 : CMCP_ENOENT;
  part = &m->t->parts[pi];
  if (part->op != NULL) {
    size_t bit = pi * (m->ulen + 1) + pos;
    int rc;
    if (m->dead[bit / 8] & (1u << (bit % 8)))
      return CMCP_ENOENT;
    rc = match_expr(m, pi, pos);
    if (rc == CMCP_ENOENT)
      m->dead[bit / 8] |= (unsigned char)(1u << (bit % 8));
    return rc;
  }
  if (m->ulen - pos < part->litlen ||
      memcmp(m->uri + pos, part->lit, part->litlen) != 0)
    return CMCP_ENOENT;
  return match_from(m, pi + 1, pos + part->litlen);
}

/* The value every defined occurrence of name uid agrees on; NULL when none
 * is defined; sets *clash when two occurrences disagree. */
static const cmcp__buf *agreed_value(const cmcp__uritpl_t *t, const sink *sk,
                                     size_t uid, int *clash) {
  const cmcp__buf *v = NULL;
  size_t i;
  for (i = 0; i < t->nvars; i++) {
    const cmcp__buf *b = &sk->vals[i];
    if (t->vars[i].uid != uid || !sk->defined[i])
      continue;
    if (v == NULL)
      v = b;
    else if (v->len != b->len || (b->len && memcmp(v->data, b->data, b->len)))
      *clash = 1;
  }
  return v;
}

/* Copies the names and agreed values of sk into m's arena. */
static int fill_match(const cmcp__uritpl_t *t, const sink *sk,
                      cmcp__uritpl_match *m) {
  const cmcp__buf *vals[CMCP__URITPL_MAX_VARS];
  size_t uid, total = 0, off = 0;
  int clash = 0;
  for (uid = 0; uid < t->nnames; uid++) {
    vals[uid] = agreed_value(t, sk, uid, &clash);
    if (vals[uid] != NULL)
      total += strlen(t->names[uid]) + vals[uid]->len + 2;
  }
  if (clash)
    return CMCP_ENOENT;
  m->arena = cmcp__malloc(total);
  if (m->arena == NULL)
    return CMCP_ENOMEM;
  for (uid = 0; uid < t->nnames; uid++) {
    size_t nl = strlen(t->names[uid]) + 1;
    if (vals[uid] == NULL)
      continue;
    m->names[m->count] = memcpy(m->arena + off, t->names[uid], nl);
    off += nl;
    if (vals[uid]->len > 0)
      memcpy(m->arena + off, vals[uid]->data, vals[uid]->len);
    m->arena[off + vals[uid]->len] = '\0';
    m->values[m->count++] = m->arena + off;
    off += vals[uid]->len + 1;
  }
  return 0;
}

/* Second pass over the spans found by match_from: decode and collect. */
static int extract(const matcher *mt, cmcp__uritpl_match *m) {
  const cmcp__uritpl_t *t = mt->t;
  sink sk;
  size_t i;
  int rc = 0;
  memset(&sk, 0, sizeof(sk));
  for (i = 0; i < t->nvars; i++)
    cmcp__buf_init(&sk.vals[i], mt->ulen + 1);
  for (i = 0; i < t->nparts && rc == 0; i++)
    if (t->parts[i].op != NULL)
      rc = scan_expr(t, &t->parts[i], mt->uri + mt->start[i],
                     mt->end[i] - mt->start[i], &sk);
  if (rc == 0)
    rc = fill_match(t, &sk, m);
  for (i = 0; i < t->nvars; i++)
    cmcp__buf_free(&sk.vals[i]);
  return rc;
}

int cmcp__uritpl_match_uri(const cmcp__uritpl_t *t, const char *uri,
                           cmcp__uritpl_match *m) {
  matcher mt;
  int rc;
  if (m != NULL)
    memset(m, 0, sizeof(*m));
  if (t == NULL || uri == NULL || m == NULL)
    return CMCP_EINVAL;
  mt.t = t;
  mt.uri = uri;
  mt.ulen = strnlen(uri, MATCH_MAX_URI + 1);
  mt.steps = 0;
  if (mt.ulen > MATCH_MAX_URI)
    return CMCP_ENOENT;
  mt.dead = cmcp__calloc(t->nparts * (mt.ulen + 1) / 8 + 1, 1);
  if (mt.dead == NULL)
    return CMCP_ENOMEM;
  rc = match_from(&mt, 0, 0);
  cmcp__free(mt.dead);
  if (rc == 0)
    rc = extract(&mt, m);
  if (rc != 0)
    cmcp__uritpl_match_free(m);
  return rc == CMCP_ELIMIT ? CMCP_ENOENT : rc;
}

void cmcp__uritpl_match_free(cmcp__uritpl_match *m) {
  if (m == NULL)
    return;
  cmcp__free(m->arena);
  memset(m, 0, sizeof(*m));
}

const char *cmcp__uritpl_match_get(const cmcp__uritpl_match *m,
                                   const char *name) {
  size_t i;
  if (m == NULL || name == NULL)
    return NULL;
  for (i = 0; i < m->count; i++)
    if (strcmp(m->names[i], name) == 0)
      return m->values[i];
  return NULL;
}
