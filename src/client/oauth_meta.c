/* src/client/oauth_meta.c: discovery for the OAuth client. Parses the
 * WWW-Authenticate challenge, builds the well-known metadata URLs in the
 * order the spec gives, parses and checks protected-resource metadata
 * (RFC 9728) and authorization-server metadata (RFC 8414), and selects
 * scopes. Pure functions: no I/O. */
#include "oauth_int.h"

#include "json/json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- WWW-Authenticate -------------------------------------------------- */

typedef struct cursor {
  const char *p;
  const char *end;
} cursor;

static int is_tchar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token68(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || (c != 0 && strchr("-._~+/", c));
}

static void skip_ows(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static void skip_ows_commas(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == ','))
    c->p++;
}

static size_t read_token(cursor *c, const char **start) {
  *start = c->p;
  while (c->p < c->end && is_tchar((unsigned char)*c->p))
    c->p++;
  return (size_t)(c->p - *start);
}

/* Reads a token or a quoted-string (RFC 9110 s5.6.4) into val. */
static int read_value(cursor *c, cmcp__buf *val) {
  const char *s;
  size_t n;
  if (c->p < c->end && *c->p == '"') {
    for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
      if (*c->p == '\\' && ++c->p == c->end)
        return CMCP_EPARSE;
      if (cmcp__buf_add(val, c->p, 1) != 0)
        return CMCP_ENOMEM;
    }
    if (c->p == c->end)
      return CMCP_EPARSE; /* unterminated */
    c->p++;
    return cmcp__buf_add(val, "", 0) == 0 ? 0 : CMCP_ENOMEM;
  }
  n = read_token(c, &s);
  if (n == 0)
    return CMCP_EPARSE;
  return cmcp__buf_add(val, s, n) == 0 ? 0 : CMCP_ENOMEM;
}

/* Stores one Bearer parameter we care about (the first of each name). */
static int keep_param(cmcp__www_auth *out, const char *name, size_t n,
                      cmcp__buf *val) {
  char **slot = NULL;
  if (n == 17 && strncasecmp(name, "resource_metadata", n) == 0)
    slot = &out->resource_metadata;
  else if (n == 5 && strncasecmp(name, "scope", n) == 0)
    slot = &out->scope;
  else if (n == 5 && strncasecmp(name, "error", n) == 0)
    slot = &out->error;
  if (slot == NULL || *slot != NULL)
    return 0;
  *slot = cmcp__strdup(val->data != NULL ? val->data : "");
  return *slot != NULL ? 0 : CMCP_ENOMEM;
}

/* Consumes a token68 ("Basic dXNlcg==") after a scheme. */
static int skip_token68(cursor *c) {
  const char *start = c->p;
  while (c->p < c->end && is_token68((unsigned char)*c->p))
    c->p++;
  while (c->p < c->end && *c->p == '=')
    c->p++;
  return c->p > start ? 0 : CMCP_EPARSE;
}

/* After "name" and optional spaces at '=': 1 if this is "name=value" (an
 * auth-param), 0 if it is the padding of a token68. */
static int is_param(const cursor *c) {
  cursor look = {c->p + 1, c->end};
  skip_ows(&look);
  return look.p < look.end && *look.p != ',' && *look.p != '=';
}

/* Parses the parameters of one challenge; stops before the next scheme. */
static int parse_params(cursor *c, int bearer, cmcp__www_auth *out) {
  cmcp__buf val;
  int rc = 0;
  cmcp__buf_init(&val, CMCP__OAUTH_MAX_HEADER);
  while (rc == 0) {
    const char *save, *name;
    size_t n;
    skip_ows_commas(c);
    if (c->p == c->end)
      break;
    save = c->p;
    n = read_token(c, &name);
    skip_ows(c);
    if (n == 0 || c->p == c->end || *c->p != '=') {
      if (n == 0) {
        rc = skip_token68(c);
        continue;
      }
      c->p = save; /* the next challenge's scheme */
      break;
    }
    if (!is_param(c)) {
      c->p = save;
      rc = skip_token68(c);
      continue;
    }
    c->p++;
    skip_ows(c);
    cmcp__buf_reset(&val);
    rc = read_value(c, &val);
    if (rc == 0 && bearer)
      rc = keep_param(out, name, n, &val);
  }
  cmcp__buf_free(&val);
  return rc;
}

int cmcp__www_auth_parse(const char *header, cmcp__www_auth *out) {
  cursor c;
  size_t len;
  int rc = 0;
  memset(out, 0, sizeof(*out));
  if (header == NULL)
    return 0;
  len = strlen(header);
  if (len > CMCP__OAUTH_MAX_HEADER)
    return CMCP_ELIMIT;
  c.p = header;
  c.end = header + len;
  while (rc == 0) {
    const char *scheme;
    size_t n;
    skip_ows_commas(&c);
    if (c.p == c.end)
      break;
    n = read_token(&c, &scheme);
    if (n == 0) {
      rc = CMCP_EPARSE;
      break;
    }
    skip_ows(&c);
    rc = parse_params(&c, n == 6 && strncasecmp(scheme, "Bearer", 6) == 0, out);
  }
  if (rc != 0)
    cmcp__www_auth_clear(out);
  return rc;
}

void cmcp__www_auth_clear(cmcp__www_auth *w) {
  cmcp__free(w->resource_metadata);
  cmcp__free(w->scope);
  cmcp__free(w->error);
  memset(w, 0, sizeof(*w));
}

/* ---- URLs -------------------------------------------------------------- */

int cmcp__url_split(const char *url, cmcp__url *out) {
  const char *p, *colon;
  memset(out, 0, sizeof(*out));
  if (url == NULL || strlen(url) > CMCP__OAUTH_MAX_URL)
    return CMCP_EPARSE;
  colon = strstr(url, "://");
  if (colon == NULL)
    return CMCP_EPARSE;
  out->scheme = url;
  out->scheme_len = (size_t)(colon - url);
  if (!((out->scheme_len == 4 && strncasecmp(url, "http", 4) == 0) ||
        (out->scheme_len == 5 && strncasecmp(url, "https", 5) == 0)))
    return CMCP_EPARSE;
  out->host = colon + 3;
  p = out->host + strcspn(out->host, "/?#");
  out->host_len = (size_t)(p - out->host);
  if (out->host_len == 0 || memchr(out->host, '@', out->host_len) ||
      memchr(out->host, ' ', out->host_len))
    return CMCP_EPARSE;
  out->path = p;
  out->path_len = strcspn(p, "?#");
  p += out->path_len;
  if (*p == '?') {
    out->query = p + 1;
    out->query_len = strcspn(out->query, "#");
  }
  return 0;
}

/* Without a terminating '/' ("/" alone is no path at all). */
static size_t trim_slash(const char *path, size_t len) {
  while (len > 0 && path[len - 1] == '/')
    len--;
  return len;
}

/* Joins origin (scheme://host), a and b[0..blen) into a new string. */
static char *join_url(const cmcp__url *u, const char *a, size_t alen,
                      const char *b, size_t blen) {
  cmcp__buf buf;
  int rc;
  cmcp__buf_init(&buf, CMCP__OAUTH_MAX_URL + 64);
  rc = cmcp__buf_printf(&buf, "%.*s://%.*s", (int)u->scheme_len, u->scheme,
                        (int)u->host_len, u->host);
  if (rc == 0)
    rc = cmcp__buf_add(&buf, a, alen);
  if (rc == 0)
    rc = cmcp__buf_add(&buf, b, blen);
  if (rc != 0) {
    cmcp__buf_free(&buf);
    return NULL;
  }
  return cmcp__buf_take(&buf, NULL);
}

static void free_urls(char **urls, int n) {
  int i;
  for (i = 0; i < n; i++) {
    cmcp__free(urls[i]);
    urls[i] = NULL;
  }
}

/* Appends join_url(u, a, b) to urls[*n]. */
static int push_url(char **urls, int *n, const cmcp__url *u, const char *a,
                    const char *b, size_t blen) {
  urls[*n] = join_url(u, a, strlen(a), b, blen);
  if (urls[*n] == NULL)
    return CMCP_ENOMEM;
  (*n)++;
  return 0;
}

int cmcp__oauth_prm_urls(const char *server_url, char *out[2], int *n) {
  static const char wk[] = "/.well-known/oauth-protected-resource";
  cmcp__url u;
  size_t plen;
  int rc;
  *n = 0;
  out[0] = out[1] = NULL;
  rc = cmcp__url_split(server_url, &u);
  if (rc != 0)
    return CMCP_EINVAL;
  plen = trim_slash(u.path, u.path_len);
  if (plen > 0)
    rc = push_url(out, n, &u, wk, u.path, plen);
  if (rc == 0)
    rc = push_url(out, n, &u, wk, "", 0);
  if (rc != 0)
    free_urls(out, *n), *n = 0;
  return rc;
}

int cmcp__oauth_as_urls(const char *issuer, char *out[3], int *n) {
  static const char oauth[] = "/.well-known/oauth-authorization-server";
  static const char oidc[] = "/.well-known/openid-configuration";
  cmcp__url u;
  size_t plen;
  int rc;
  *n = 0;
  out[0] = out[1] = out[2] = NULL;
  rc = cmcp__url_split(issuer, &u);
  if (rc != 0)
    return CMCP_EINVAL;
  plen = trim_slash(u.path, u.path_len);
  rc = push_url(out, n, &u, oauth, u.path, plen);
  if (rc == 0)
    rc = push_url(out, n, &u, oidc, u.path, plen);
  if (rc == 0 && plen > 0) {
    out[*n] = join_url(&u, u.path, plen, oidc, strlen(oidc));
    rc = out[*n] != NULL ? 0 : CMCP_ENOMEM;
    *n += rc == 0;
  }
  if (rc != 0)
    free_urls(out, *n), *n = 0;
  return rc;
}

/* The length of host without a default port (":80" for http, ":443" for
 * https). */
static size_t host_len_no_default_port(const cmcp__url *u) {
  int https = u->scheme_len == 5;
  const char *port = https ? ":443" : ":80";
  size_t plen = strlen(port);
  if (u->host_len > plen &&
      memcmp(u->host + u->host_len - plen, port, plen) == 0)
    return u->host_len - plen;
  return u->host_len;
}

int cmcp__oauth_resource_matches(const char *resource, const char *server_url) {
  cmcp__url r, s;
  size_t rh, sh, rp, sp;
  if (cmcp__url_split(resource, &r) != 0 ||
      cmcp__url_split(server_url, &s) != 0)
    return 0;
  rh = host_len_no_default_port(&r);
  sh = host_len_no_default_port(&s);
  if (r.scheme_len != s.scheme_len ||
      strncasecmp(r.scheme, s.scheme, r.scheme_len) != 0 || rh != sh ||
      strncasecmp(r.host, s.host, rh) != 0)
    return 0;
  rp = trim_slash(r.path, r.path_len);
  sp = trim_slash(s.path, s.path_len);
  if (rp == 0)
    return 1;
  return sp >= rp && memcmp(r.path, s.path, rp) == 0 &&
         (sp == rp || s.path[rp] == '/');
}

/* 1 for https, or http to a loopback host (the only place the spec lets
 * plain HTTP carry OAuth: "All authorization server endpoints MUST be
 * served over HTTPS", and loopback redirects per RFC 8252). */
static int url_secure(const char *url) {
  cmcp__url u;
  size_t h;
  if (cmcp__url_split(url, &u) != 0)
    return 0;
  if (u.scheme_len == 5)
    return 1;
  h = strcspn(u.host, ":/?#");
  if (u.host[0] == '[')
    return strncmp(u.host, "[::1]", 5) == 0;
  return (h == 9 && strncasecmp(u.host, "localhost", 9) == 0) ||
         strncmp(u.host, "127.", 4) == 0;
}

/* ---- metadata documents ------------------------------------------------ */

static int doc_parse(const char *text, size_t len, json_object **root,
                     char *err, size_t errlen) {
  cmcp__json_limits lim = {CMCP__OAUTH_MAX_DOC, 32};
  int rc = cmcp__json_parse(text, len, &lim, root, err, errlen);
  if (rc != 0)
    return rc;
  if (!json_object_is_type(*root, json_type_object)) {
    json_object_put(*root);
    *root = NULL;
    snprintf(err, errlen, "the metadata is not a JSON object");
    return CMCP_EPARSE;
  }
  return 0;
}

/* A copy of the string member key; CMCP_ENOENT when absent, CMCP_EPARSE
 * when not a string. */
static int get_str(json_object *obj, const char *key, char **out, char *err,
                   size_t errlen) {
  json_object *v;
  *out = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
    return CMCP_ENOENT;
  if (!json_object_is_type(v, json_type_string)) {
    snprintf(err, errlen, "'%s' is not a string", key);
    return CMCP_EPARSE;
  }
  *out = cmcp__strdup(json_object_get_string(v));
  return *out != NULL ? 0 : CMCP_ENOMEM;
}

/* A scope token: 1*NQCHAR (RFC 6749 s3.3). */
static int scope_token_ok(const char *s) {
  if (*s == '\0')
    return 0;
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e)
      return 0;
  }
  return 1;
}

/* Joins the string array key (names without spaces) with spaces into
 * *out; NULL for an empty array, CMCP_ENOENT when absent. */
static int get_strings(json_object *obj, const char *key, char **out, char *err,
                       size_t errlen) {
  json_object *arr;
  cmcp__buf b;
  size_t i, n;
  int rc = 0;
  *out = NULL;
  if (!json_object_object_get_ex(obj, key, &arr) || arr == NULL)
    return CMCP_ENOENT;
  if (!json_object_is_type(arr, json_type_array))
    goto bad;
  cmcp__buf_init(&b, CMCP__OAUTH_MAX_SCOPE);
  n = json_object_array_length(arr);
  for (i = 0; i < n && rc == 0; i++) {
    json_object *v = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(v, json_type_string) ||
        !scope_token_ok(json_object_get_string(v))) {
      cmcp__buf_free(&b);
      goto bad;
    }
    if (b.len > 0)
      rc = cmcp__buf_add(&b, " ", 1);
    if (rc == 0)
      rc = cmcp__buf_adds(&b, json_object_get_string(v));
  }
  if (rc == 0 && b.len > 0)
    *out = cmcp__buf_take(&b, NULL);
  cmcp__buf_free(&b);
  if (rc == CMCP_ELIMIT)
    snprintf(err, errlen, "'%s' is too long", key);
  return rc;
bad:
  snprintf(err, errlen, "'%s' is not an array of names", key);
  return CMCP_EPARSE;
}

static int get_bool(json_object *obj, const char *key) {
  json_object *v;
  return json_object_object_get_ex(obj, key, &v) && v != NULL &&
         json_object_is_type(v, json_type_boolean) &&
         json_object_get_boolean(v);
}

/* A required string member that must also be a secure URL. */
static int get_url(json_object *obj, const char *key, int required, char **out,
                   char *err, size_t errlen) {
  int rc = get_str(obj, key, out, err, errlen);
  if (rc == CMCP_ENOENT && !required)
    return 0;
  if (rc == CMCP_ENOENT)
    snprintf(err, errlen, "the metadata has no '%s'", key);
  if (rc != 0)
    return rc == CMCP_ENOENT ? CMCP_EPARSE : rc;
  if (!url_secure(*out)) {
    snprintf(err, errlen, "'%s' is not an https URL", key);
    cmcp__free(*out);
    *out = NULL;
    return CMCP_EPARSE;
  }
  return 0;
}

int cmcp__prm_parse(const char *text, size_t len, cmcp__prm *out, char *err,
                    size_t errlen) {
  json_object *root = NULL, *as, *first;
  int rc;
  memset(out, 0, sizeof(*out));
  rc = doc_parse(text, len, &root, err, errlen);
  if (rc != 0)
    return rc;
  rc = get_str(root, "resource", &out->resource, err, errlen);
  if (rc == CMCP_ENOENT) {
    snprintf(err, errlen, "the resource metadata has no 'resource'");
    rc = CMCP_EPARSE;
  }
  if (rc != 0)
    goto out;
  if (!json_object_object_get_ex(root, "authorization_servers", &as) ||
      !json_object_is_type(as, json_type_array) ||
      json_object_array_length(as) == 0 ||
      !json_object_is_type(first = json_object_array_get_idx(as, 0),
                           json_type_string)) {
    snprintf(err, errlen,
             "the resource metadata lists no authorization "
             "server");
    rc = CMCP_EPARSE;
    goto out;
  }
  out->auth_server = cmcp__strdup(json_object_get_string(first));
  rc = out->auth_server != NULL ? 0 : CMCP_ENOMEM;
  if (rc == 0 && !url_secure(out->auth_server)) {
    snprintf(err, errlen, "the authorization server is not an https URL");
    rc = CMCP_EPARSE;
  }
  if (rc == 0) {
    rc = get_strings(root, "scopes_supported", &out->scopes_supported, err,
                     errlen);
    rc = rc == CMCP_ENOENT ? 0 : rc;
  }
out:
  json_object_put(root);
  if (rc != 0)
    cmcp__prm_clear(out);
  return rc;
}

void cmcp__prm_clear(cmcp__prm *p) {
  cmcp__free(p->resource);
  cmcp__free(p->auth_server);
  cmcp__free(p->scopes_supported);
  memset(p, 0, sizeof(*p));
}

/* Reads token_endpoint_auth_methods_supported and
 * code_challenge_methods_supported. */
static int asmeta_methods(json_object *root, cmcp__asmeta *m, char *err,
                          size_t errlen) {
  char *list = NULL;
  int rc = get_strings(root, "token_endpoint_auth_methods_supported", &list,
                       err, errlen);
  if (rc == 0 && list != NULL) {
    m->auth_methods |= cmcp__scope_has(list, "none") ? CMCP__AUTH_NONE : 0;
    m->auth_methods |=
        cmcp__scope_has(list, "client_secret_basic") ? CMCP__AUTH_BASIC : 0;
    m->auth_methods |=
        cmcp__scope_has(list, "client_secret_post") ? CMCP__AUTH_POST : 0;
    /* Listed, but nothing we speak (private_key_jwt, ...): keep a bit so
     * that "absent" (the client_secret_basic default) is not assumed. */
    m->auth_methods |= m->auth_methods == 0 ? 1u << 8 : 0;
  }
  cmcp__free(list);
  if (rc != 0 && rc != CMCP_ENOENT)
    return rc;
  list = NULL;
  rc =
      get_strings(root, "code_challenge_methods_supported", &list, err, errlen);
  m->s256 = rc == 0 && cmcp__scope_has(list, "S256");
  cmcp__free(list);
  return rc == CMCP_ENOENT ? 0 : rc;
}

int cmcp__asmeta_parse(const char *text, size_t len,
                       const char *expected_issuer, cmcp__asmeta *out,
                       char *err, size_t errlen) {
  json_object *root = NULL;
  int rc;
  memset(out, 0, sizeof(*out));
  rc = doc_parse(text, len, &root, err, errlen);
  if (rc != 0)
    return rc;
  rc = get_str(root, "issuer", &out->issuer, err, errlen);
  if (rc == 0 && strcmp(out->issuer, expected_issuer) != 0) {
    snprintf(err, errlen, "the metadata's issuer '%.200s' is not '%.200s'",
             out->issuer, expected_issuer);
    rc = CMCP_EPROTO;
  } else if (rc == CMCP_ENOENT) {
    snprintf(err, errlen, "the metadata has no issuer");
    rc = CMCP_EPARSE;
  }
  if (rc == 0)
    rc = get_url(root, "authorization_endpoint", 1,
                 &out->authorization_endpoint, err, errlen);
  if (rc == 0)
    rc = get_url(root, "token_endpoint", 1, &out->token_endpoint, err, errlen);
  if (rc == 0)
    rc = get_url(root, "registration_endpoint", 0, &out->registration_endpoint,
                 err, errlen);
  if (rc == 0) {
    rc = get_strings(root, "scopes_supported", &out->scopes_supported, err,
                     errlen);
    rc = rc == CMCP_ENOENT ? 0 : rc;
  }
  if (rc == 0)
    rc = asmeta_methods(root, out, err, errlen);
  out->cimd = get_bool(root, "client_id_metadata_document_supported");
  out->iss_supported =
      get_bool(root, "authorization_response_iss_parameter_supported");
  json_object_put(root);
  if (rc != 0)
    cmcp__asmeta_clear(out);
  return rc;
}

void cmcp__asmeta_clear(cmcp__asmeta *m) {
  cmcp__free(m->issuer);
  cmcp__free(m->authorization_endpoint);
  cmcp__free(m->token_endpoint);
  cmcp__free(m->registration_endpoint);
  cmcp__free(m->scopes_supported);
  memset(m, 0, sizeof(*m));
}

/* ---- scopes ------------------------------------------------------------ */

/* Calls each space-separated token of set until fn returns non-zero. */
static int scope_each(const char *set, int (*fn)(const char *, size_t, void *),
                      void *arg) {
  const char *p = set;
  int rc = 0;
  while (p != NULL && *p != '\0' && rc == 0) {
    size_t n;
    p += strspn(p, " ");
    n = strcspn(p, " ");
    if (n > 0)
      rc = fn(p, n, arg);
    p += n;
  }
  return rc;
}

typedef struct scope_probe {
  const char *want;
  size_t len;
} scope_probe;

static int probe_one(const char *s, size_t n, void *arg) {
  scope_probe *pr = arg;
  return n == pr->len && memcmp(s, pr->want, n) == 0;
}

/* scope_has on a token that is not NUL-terminated. */
static int has_n(const char *set, const char *s, size_t n) {
  scope_probe pr = {s, n};
  return scope_each(set, probe_one, &pr);
}

int cmcp__scope_has(const char *set, const char *scope) {
  return has_n(set, scope, strlen(scope));
}

static int missing_from(const char *s, size_t n, void *arg) {
  return !has_n(arg, s, n);
}

int cmcp__scope_subset(const char *a, const char *b) {
  return !scope_each(a, missing_from, (void *)b);
}

typedef struct scope_acc {
  cmcp__buf *b;
  int rc;
} scope_acc;

static int add_new(const char *s, size_t n, void *arg) {
  scope_acc *acc = arg;
  if (has_n(acc->b->data, s, n))
    return 0;
  if (acc->b->len > 0)
    acc->rc = cmcp__buf_add(acc->b, " ", 1);
  if (acc->rc == 0)
    acc->rc = cmcp__buf_add(acc->b, s, n);
  return acc->rc;
}

int cmcp__scope_union(const char *a, const char *b, char **out) {
  cmcp__buf buf;
  scope_acc acc = {&buf, 0};
  *out = NULL;
  cmcp__buf_init(&buf, CMCP__OAUTH_MAX_SCOPE);
  scope_each(a, add_new, &acc);
  if (acc.rc == 0)
    scope_each(b, add_new, &acc);
  if (acc.rc == 0 && buf.len > 0) {
    *out = cmcp__buf_take(&buf, NULL);
    acc.rc = *out != NULL ? 0 : CMCP_ENOMEM;
  }
  cmcp__buf_free(&buf);
  return acc.rc;
}

int cmcp__oauth_select_scope(const char *challenge_scope,
                             const char *prm_scopes, const char *as_scopes,
                             const char *previous, int step_up,
                             int want_offline, char **out) {
  const char *base;
  char *tmp = NULL;
  int rc;
  *out = NULL;
  /* "Clients SHOULD compute the union of previously requested scopes and
   * newly challenged scopes when initiating re-authorization"; otherwise
   * "Use scope parameter from the initial WWW-Authenticate header ... If
   * scope is not available, use all scopes defined in scopes_supported
   * from the Protected Resource Metadata document, omitting the scope
   * parameter if scopes_supported is undefined". */
  if (step_up)
    rc = cmcp__scope_union(previous, challenge_scope, &tmp);
  else {
    base = challenge_scope != NULL && challenge_scope[0] != '\0'
               ? challenge_scope
               : prm_scopes;
    rc = cmcp__scope_union(base, NULL, &tmp);
  }
  if (rc != 0 || tmp == NULL)
    return rc;
  /* offline_access only where the authorization server lists it. */
  if (want_offline && cmcp__scope_has(as_scopes, "offline_access")) {
    rc = cmcp__scope_union(tmp, "offline_access", out);
    cmcp__free(tmp);
    return rc;
  }
  *out = tmp;
  return 0;
}
