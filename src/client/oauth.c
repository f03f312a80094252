/* src/client/oauth.c: the OAuth 2.1 client's flow, as the HTTP transport
 * drives it through cmcp__oauth_challenge().
 *
 * One flow at a time per OAuth object; challenges that arrive while one
 * runs wait for it. Its steps, each one HTTP exchange on the loop:
 *   PRM     protected-resource metadata: the WWW-Authenticate
 *           resource_metadata URL, else the path-suffixed then the root
 *           well-known URL; its resource must cover the server URL;
 *   ASMETA  authorization-server metadata at the spec's URLs in order; its
 *           issuer must be identical; S256 must be advertised;
 *   REFRESH a refresh_token grant, when a 401 finds one (falls through to
 *           a new authorization when it is refused);
 *   REGISTER dynamic client registration, when neither pre-registered
 *           credentials nor a client ID metadata document serve;
 *   AUTHZ   the user-agent step (the authorize callback);
 *   TOKEN   the authorization_code grant with the PKCE verifier.
 */
#include "oauth_flow.h"

#include "base/base64.h"
#include "json/json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { ST_PRM, ST_ASMETA, ST_REFRESH, ST_REGISTER, ST_AUTHZ, ST_TOKEN };

struct cmcp__oauth_flow {
  cmcp_oauth_t *o; /* NULL once the object is freed (a fetch in flight) */
  uv_loop_t *loop;
  char *server_url;
  long http_status;
  cmcp__www_auth www;
  char *urls[3]; /* the metadata URLs of the current step */
  int nurls, iurl;
  cmcp__prm prm;
  cmcp__asmeta meta;
  cmcp__oauth_as *as;
  char *scope, *verifier, *state;
  cmcp_oauth_authz_t *authz;
  int step;
  int busy; /* a fetch is in flight */
  cmcp__oauth_waiter waiters[CMCP__OAUTH_MAX_WAITERS];
  size_t nwaiters;
  char err[256]; /* why the last metadata URL was not usable */
};

static void flow_next_prm(cmcp__oauth_flow *f);
static void flow_next_asmeta(cmcp__oauth_flow *f);
static void flow_client(cmcp__oauth_flow *f);
static void flow_authorize(cmcp__oauth_flow *f);

/* ---- the object -------------------------------------------------------- */

cmcp_oauth_t *cmcp_oauth_new(void) {
  cmcp_oauth_t *o = cmcp__calloc(1, sizeof(*o));
  if (o == NULL)
    return NULL;
  o->offline = 1;
  o->client_name = cmcp__strdup("cmcp");
  o->redirect_uri = cmcp__strdup("http://127.0.0.1/callback");
  if (o->client_name == NULL || o->redirect_uri == NULL) {
    cmcp_oauth_free(o);
    return NULL;
  }
  return o;
}

static void flow_free(cmcp__oauth_flow *f) {
  int i;
  cmcp__free(f->server_url);
  cmcp__www_auth_clear(&f->www);
  for (i = 0; i < f->nurls; i++)
    cmcp__free(f->urls[i]);
  cmcp__prm_clear(&f->prm);
  cmcp__asmeta_clear(&f->meta);
  cmcp__free(f->scope);
  cmcp__free(f->verifier);
  cmcp__free(f->state);
  if (f->authz != NULL) {
    f->authz->flow = NULL; /* the user agent still holds it */
    if (f->authz->on_abandon != NULL)
      f->authz->on_abandon(f->authz);
  }
  cmcp__free(f);
}

void cmcp_oauth_free(cmcp_oauth_t *o) {
  size_t i;
  if (o == NULL)
    return;
  if (o->flow != NULL) {
    /* Waiters were cancelled by their transports, which close first. */
    o->flow->nwaiters = 0;
    if (o->flow->busy)
      o->flow->o = NULL; /* freed when its fetch ends */
    else
      flow_free(o->flow);
  }
  for (i = 0; i < o->nservers; i++)
    cmcp__oauth_as_free(o->servers[i]);
  cmcp__free(o->pre_id);
  cmcp__free(o->pre_secret);
  cmcp__free(o->pre_issuer);
  cmcp__free(o->cimd_url);
  cmcp__free(o->client_name);
  cmcp__free(o->redirect_uri);
  cmcp__free(o);
}

void cmcp_oauth_set_data(cmcp_oauth_t *o, void *data) {
  if (o != NULL)
    o->data = data;
}

void *cmcp_oauth_data(const cmcp_oauth_t *o) {
  return o != NULL ? o->data : NULL;
}

const char *cmcp_oauth_last_error(const cmcp_oauth_t *o) {
  return o != NULL ? o->last_error : "";
}

/* Replaces *slot with a copy of s (NULL clears it). */
static int set_str(char **slot, const char *s) {
  char *copy = NULL;
  if (s != NULL && (copy = cmcp__strdup(s)) == NULL)
    return CMCP_ENOMEM;
  cmcp__free(*slot);
  *slot = copy;
  return 0;
}

int cmcp_oauth_set_client(cmcp_oauth_t *o, const char *client_id,
                          const char *client_secret, const char *issuer) {
  char *id = NULL, *secret = NULL, *iss = NULL;
  if (o == NULL || client_id == NULL || client_id[0] == '\0')
    return CMCP_EINVAL;
  if (set_str(&id, client_id) != 0 || set_str(&secret, client_secret) != 0 ||
      set_str(&iss, issuer) != 0) {
    cmcp__free(id);
    cmcp__free(secret);
    return CMCP_ENOMEM;
  }
  cmcp__free(o->pre_id);
  cmcp__free(o->pre_secret);
  cmcp__free(o->pre_issuer);
  o->pre_id = id;
  o->pre_secret = secret;
  o->pre_issuer = iss;
  return 0;
}

int cmcp_oauth_set_client_metadata_url(cmcp_oauth_t *o, const char *url) {
  cmcp__url u;
  /* "Client IDs MUST be URLs using the https scheme and contain a path
   * component" (client ID metadata documents). */
  if (o == NULL || url == NULL || cmcp__url_split(url, &u) != 0 ||
      u.scheme_len != 5 || u.path_len <= 1)
    return CMCP_EINVAL;
  return set_str(&o->cimd_url, url);
}

int cmcp_oauth_set_client_name(cmcp_oauth_t *o, const char *name) {
  if (o == NULL || name == NULL || name[0] == '\0')
    return CMCP_EINVAL;
  return set_str(&o->client_name, name);
}

int cmcp_oauth_set_redirect_uri(cmcp_oauth_t *o, const char *uri) {
  cmcp__url u;
  if (o == NULL || uri == NULL || cmcp__url_split(uri, &u) != 0)
    return CMCP_EINVAL;
  return set_str(&o->redirect_uri, uri);
}

int cmcp_oauth_set_offline(cmcp_oauth_t *o, int want) {
  if (o == NULL)
    return CMCP_EINVAL;
  o->offline = want != 0;
  return 0;
}

int cmcp_oauth_on_authorize(cmcp_oauth_t *o, cmcp_oauth_authorize_fn fn,
                            void *data) {
  if (o == NULL || fn == NULL)
    return CMCP_EINVAL;
  o->authorize = fn;
  o->authorize_data = data;
  return 0;
}

int cmcp_oauth_use_headless(cmcp_oauth_t *o) {
  return cmcp_oauth_on_authorize(o, cmcp__oauth_headless_authorize, NULL);
}

int cmcp_oauth_use_loopback(cmcp_oauth_t *o, int port, int open_browser) {
  char uri[64];
  int rc;
  if (o == NULL || port < 0 || port > 65535)
    return CMCP_EINVAL;
  if (port == 0 && (port = cmcp__oauth_free_port()) == 0)
    return CMCP_EIO;
  snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/callback", port);
  rc = set_str(&o->redirect_uri, uri);
  if (rc != 0)
    return rc;
  o->open_browser = open_browser != 0;
  return cmcp_oauth_on_authorize(o, cmcp__oauth_loopback_authorize, NULL);
}

int cmcp__oauth_open_browser(const cmcp_oauth_t *o) {
  return o->open_browser;
}

int cmcp_oauth_set_store(cmcp_oauth_t *o, cmcp_oauth_load_fn load,
                         cmcp_oauth_save_fn save, void *data) {
  if (o == NULL)
    return CMCP_EINVAL;
  o->load = load;
  o->save = save;
  o->store_data = data;
  o->loaded = 0;
  return 0;
}

/* "Access tokens MUST NOT be sent to a resource they were not issued for"
 * (RFC 8707 audience binding, as the MCP authorization page requires): a
 * stored token is used only for a URL its resource covers. The current
 * entry wins over older ones. */
static int as_serves(const cmcp__oauth_as *as, const char *resource_url) {
  return as != NULL && as->access_token != NULL && as->resource != NULL &&
         resource_url != NULL &&
         cmcp__oauth_resource_matches(as->resource, resource_url);
}

const char *cmcp__oauth_token(cmcp_oauth_t *o, const char *resource_url) {
  size_t i;
  if (o == NULL)
    return NULL;
  cmcp__oauth_load(o);
  if (as_serves(o->current, resource_url))
    return o->current->access_token;
  for (i = 0; i < o->nservers; i++)
    if (as_serves(o->servers[i], resource_url))
      return o->servers[i]->access_token;
  return NULL;
}

/* ---- ending a flow ----------------------------------------------------- */

/* Ends the flow: every waiter hears status (0: a new token is ready). */
static void flow_finish(cmcp__oauth_flow *f, int status, const char *detail) {
  cmcp__oauth_waiter w[CMCP__OAUTH_MAX_WAITERS];
  char why[256];
  size_t i, n = f->nwaiters;
  cmcp_oauth_t *o = f->o;
  snprintf(why, sizeof(why), "%s", detail != NULL ? detail : "");
  memcpy(w, f->waiters, n * sizeof(w[0]));
  o->flow = NULL;
  if (status != 0) {
    snprintf(o->last_error, sizeof(o->last_error), "%s", why);
    cmcp__log(CMCP_LOG_WARNING, "oauth: %s", why);
  }
  flow_free(f);
  for (i = 0; i < n; i++)
    w[i].done(w[i].data, status, why);
}

static void flow_fail(cmcp__oauth_flow *f, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void flow_fail(cmcp__oauth_flow *f, int status, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  flow_finish(f, status, why);
}

/* ---- HTTP exchanges ---------------------------------------------------- */

static void flow_on_fetch(void *data, const cmcp__fetch_res *res);

/* Starts one exchange of the current step. 0 or cmcp__fetch's status. */
static int fetch_raw(cmcp__oauth_flow *f, const char *method, const char *url,
                     const char *const *headers, const char *body) {
  int rc = cmcp__fetch(f->loop, method, url, headers, body,
                       body != NULL ? strlen(body) : 0, CMCP__OAUTH_MAX_DOC,
                       CMCP__OAUTH_FETCH_MS, flow_on_fetch, f);
  if (rc == 0)
    f->busy = 1;
  return rc;
}

/* As fetch_raw, but a failure ends the flow. */
static void flow_fetch(cmcp__oauth_flow *f, const char *method, const char *url,
                       const char *const *headers, const char *body) {
  int rc = fetch_raw(f, method, url, headers, body);
  if (rc != 0)
    flow_fail(f, rc, "cannot send a request to %.200s: %s", url,
              cmcp_strerror(rc));
}

static const char *const json_hdrs[] = {"Accept: application/json", NULL};

static void flow_get_json(cmcp__oauth_flow *f, const char *url) {
  flow_fetch(f, "GET", url, json_hdrs, NULL);
}

/* A one-line summary of a failed exchange. */
static void describe_res(char *out, size_t n, const char *what,
                         const cmcp__fetch_res *res) {
  if (res->status != 0)
    snprintf(out, n, "%s: %s", what,
             res->detail[0] ? res->detail : cmcp_strerror(res->status));
  else
    snprintf(out, n, "%s: HTTP %ld", what, res->http_status);
}

/* The OAuth error of a refused token or registration request. */
static void describe_oauth_error(char *out, size_t n, const char *what,
                                 const cmcp__fetch_res *res) {
  json_object *root = NULL;
  const char *e = NULL, *d = NULL;
  if (res->status == 0 && res->body_len > 0 &&
      cmcp__json_parse_object(res->body, &root) == 0) {
    e = cmcp__json_get_string(root, "error");
    d = cmcp__json_get_string(root, "error_description");
  }
  if (e != NULL)
    snprintf(out, n, "%s: HTTP %ld %.60s%s%.120s", what, res->http_status, e,
             d ? ": " : "", d ? d : "");
  else
    describe_res(out, n, what, res);
  json_object_put(root);
}

/* Replaces the flow's URL list. */
static void set_urls(cmcp__oauth_flow *f, char **urls, int n) {
  int i;
  for (i = 0; i < f->nurls; i++)
    cmcp__free(f->urls[i]);
  for (i = 0; i < n; i++)
    f->urls[i] = urls[i];
  f->nurls = n;
  f->iurl = 0;
}

/* ---- PRM and AS metadata ----------------------------------------------- */

static void on_prm(cmcp__oauth_flow *f, const cmcp__fetch_res *res) {
  char *urls[3];
  int n, rc;
  if (res->status != 0 || res->http_status != 200) {
    describe_res(f->err, sizeof(f->err), f->urls[f->iurl], res);
    f->iurl++;
    flow_next_prm(f);
    return;
  }
  rc = cmcp__prm_parse(res->body, res->body_len, &f->prm, f->err,
                       sizeof(f->err));
  if (rc != 0) {
    f->iurl++;
    flow_next_prm(f);
    return;
  }
  /* The resource must be this server: a client "MUST validate that the
   * resource ... matches the MCP server" before using what it names. */
  if (!cmcp__oauth_resource_matches(f->prm.resource, f->server_url)) {
    flow_fail(f, CMCP_EPROTO,
              "the protected resource metadata is for '%.200s', not for "
              "'%.200s'",
              f->prm.resource, f->server_url);
    return;
  }
  rc = cmcp__oauth_as_urls(f->prm.auth_server, urls, &n);
  if (rc != 0) {
    flow_fail(f, rc, "bad authorization server URL '%.200s'",
              f->prm.auth_server);
    return;
  }
  set_urls(f, urls, n);
  f->step = ST_ASMETA;
  flow_next_asmeta(f);
}

static void flow_next_prm(cmcp__oauth_flow *f) {
  if (f->iurl >= f->nurls) {
    flow_fail(f, CMCP_EPROTO, "no protected resource metadata for %.200s (%s)",
              f->server_url, f->err);
    return;
  }
  flow_get_json(f, f->urls[f->iurl]);
}

static void on_asmeta(cmcp__oauth_flow *f, const cmcp__fetch_res *res) {
  int rc;
  if (res->status != 0 || res->http_status != 200) {
    if (f->err[0] == '\0' || res->status != 0 || res->http_status != 404)
      describe_res(f->err, sizeof(f->err), f->urls[f->iurl], res);
    f->iurl++;
    flow_next_asmeta(f);
    return;
  }
  rc = cmcp__asmeta_parse(res->body, res->body_len, f->prm.auth_server,
                          &f->meta, f->err, sizeof(f->err));
  if (rc != 0) {
    f->iurl++;
    flow_next_asmeta(f);
    return;
  }
  /* "If code_challenge_methods_supported is absent, the authorization
   * server does not support PKCE and MCP clients MUST refuse to
   * proceed." */
  if (!f->meta.s256) {
    flow_fail(f, CMCP_EUNSUPPORTED,
              "the authorization server %.200s does not support PKCE S256",
              f->meta.issuer);
    return;
  }
  f->as = cmcp__oauth_as_get(f->o, f->meta.issuer);
  if (f->as == NULL) {
    flow_fail(f, CMCP_ENOMEM, "out of memory");
    return;
  }
  flow_client(f);
}

static void flow_next_asmeta(cmcp__oauth_flow *f) {
  if (f->iurl >= f->nurls) {
    flow_fail(f, CMCP_EPROTO,
              "no usable authorization server metadata for %.200s (%s)",
              f->prm.auth_server, f->err);
    return;
  }
  flow_get_json(f, f->urls[f->iurl]);
}

/* ---- token endpoint ---------------------------------------------------- */

/* The token endpoint authentication method for as. */
static const char *auth_method(const cmcp__oauth_as *as,
                               const cmcp__asmeta *m) {
  if (as->auth_method != NULL)
    return as->auth_method;
  if (as->client_secret == NULL)
    return "none";
  /* Absent: "the default is client_secret_basic" (RFC 8414 s2). */
  if (m->auth_methods == 0 || (m->auth_methods & CMCP__AUTH_BASIC))
    return "client_secret_basic";
  if (m->auth_methods & CMCP__AUTH_POST)
    return "client_secret_post";
  return "none";
}

/* Client authentication for a token request: the Basic header line in
 * *hdr (cmcp__free it), or client_id (and client_secret) in the form. */
static int client_auth(const cmcp__oauth_flow *f, cmcp__buf *form, char **hdr) {
  const char *m = auth_method(f->as, &f->meta);
  cmcp__buf cred, line;
  int rc;
  *hdr = NULL;
  if (strcmp(m, "client_secret_basic") != 0) {
    rc = cmcp__form_add(form, 0, "client_id", f->as->client_id);
    if (rc == 0 && strcmp(m, "client_secret_post") == 0)
      rc = cmcp__form_add(form, 0, "client_secret", f->as->client_secret);
    return rc;
  }
  /* RFC 6749 s2.3.1: id and secret form-encoded, joined by ':'. */
  cmcp__buf_init(&cred, 4096);
  cmcp__buf_init(&line, 8192);
  rc = cmcp__form_add(&cred, 0, "a", f->as->client_id);
  if (rc == 0)
    rc = cmcp__form_add(&cred, ':', "b", f->as->client_secret);
  if (rc == 0) {
    /* Keep the encoded values only: "a=ID:b=SECRET" -> "ID:SECRET". */
    char *colon = strstr(cred.data, ":b=");
    memmove(colon + 1, colon + 3, strlen(colon + 3) + 1);
    rc = cmcp__buf_adds(&line, "Authorization: Basic ");
    if (rc == 0)
      rc = cmcp__base64_encode(cred.data + 2, strlen(cred.data + 2),
                               CMCP__B64_STD, &line);
  }
  cmcp__buf_free(&cred);
  if (rc == 0)
    *hdr = cmcp__buf_take(&line, NULL);
  cmcp__buf_free(&line);
  return rc;
}

/* Sets f->step and POSTs the form of the name/value pairs kv (NULL
 * name ends them) to the token endpoint with client authentication. */
static void post_token(cmcp__oauth_flow *f, int step, const char *const *kv) {
  const char *hdrs[4] = {"Content-Type: application/x-www-form-urlencoded",
                         "Accept: application/json", NULL, NULL};
  char *basic = NULL;
  cmcp__buf form;
  int rc = 0;
  cmcp__buf_init(&form, CMCP__OAUTH_MAX_URL);
  for (; kv[0] != NULL && rc == 0; kv += 2)
    rc = cmcp__form_add(&form, 0, kv[0], kv[1]);
  if (rc == 0)
    rc = client_auth(f, &form, &basic);
  if (rc != 0) {
    cmcp__buf_free(&form);
    flow_fail(f, rc, "out of memory");
    return;
  }
  f->step = step;
  hdrs[2] = basic;
  flow_fetch(f, "POST", f->meta.token_endpoint, hdrs, form.data);
  cmcp__free(basic);
  cmcp__buf_free(&form);
}

/* Stores a successful token response in f->as. */
static int keep_tokens(cmcp__oauth_flow *f, const cmcp__fetch_res *res) {
  json_object *root = NULL, *exp;
  const char *type;
  int rc = cmcp__json_parse_object(res->body, &root);
  if (rc != 0)
    return CMCP_EPROTO;
  type = cmcp__json_get_string(root, "token_type");
  rc = CMCP_EPROTO;
  if (cmcp__json_get_string(root, "access_token") == NULL ||
      (type != NULL && strcasecmp(type, "Bearer") != 0))
    goto out;
  rc = set_str(&f->as->access_token,
               cmcp__json_get_string(root, "access_token"));
  if (rc == 0 && cmcp__json_get_string(root, "refresh_token") != NULL)
    rc = set_str(&f->as->refresh_token,
                 cmcp__json_get_string(root, "refresh_token"));
  if (rc == 0)
    rc = set_str(&f->as->resource, f->prm.resource);
  if (rc == 0 && f->scope != NULL)
    rc = set_str(&f->as->scope, f->scope);
  f->as->expires_at = 0;
  if (json_object_object_get_ex(root, "expires_in", &exp) &&
      json_object_is_type(exp, json_type_int) && json_object_get_int64(exp) > 0)
    f->as->expires_at = cmcp__wall_ms() + json_object_get_int64(exp) * 1000;
out:
  json_object_put(root);
  return rc;
}

static void on_token(cmcp__oauth_flow *f, const cmcp__fetch_res *res) {
  char why[256];
  int rc;
  if (res->status != 0 || res->http_status != 200) {
    describe_oauth_error(why, sizeof(why), "the token request failed", res);
    if (f->step == ST_REFRESH) {
      /* A refused refresh token is spent: authorize anew. */
      cmcp__free(f->as->refresh_token);
      f->as->refresh_token = NULL;
      flow_client(f);
      return;
    }
    flow_finish(f, CMCP_EPROTO, why);
    return;
  }
  rc = keep_tokens(f, res);
  if (rc != 0) {
    flow_fail(f, rc, "the token response is not a usable bearer token");
    return;
  }
  f->o->current = f->as;
  cmcp__oauth_save(f->o);
  flow_finish(f, 0, "");
}

static void flow_refresh(cmcp__oauth_flow *f) {
  const char *kv[] = {"grant_type",    "refresh_token",
                      "refresh_token", f->as->refresh_token,
                      "resource",      f->prm.resource,
                      NULL};
  post_token(f, ST_REFRESH, kv);
}

/* ---- client identity --------------------------------------------------- */

/* The token_endpoint_auth_method to ask for in registration: a public
 * client when the server allows it (PKCE protects the code). */
static const char *wanted_method(const cmcp__asmeta *m) {
  if (m->auth_methods & CMCP__AUTH_NONE)
    return "none";
  if (m->auth_methods == 0 || (m->auth_methods & CMCP__AUTH_BASIC))
    return "client_secret_basic";
  return "client_secret_post";
}

/* The RFC 7591 registration request. NULL on ENOMEM. */
static char *registration_body(const cmcp__oauth_flow *f) {
  json_object *r = json_object_new_object(), *uris, *grants, *types;
  char *text = NULL;
  const char *s;
  if (r == NULL)
    return NULL;
  uris = json_object_new_array();
  grants = json_object_new_array();
  types = json_object_new_array();
  json_object_object_add(r, "redirect_uris", uris);
  json_object_object_add(r, "grant_types", grants);
  json_object_object_add(r, "response_types", types);
  json_object_object_add(r, "client_name",
                         json_object_new_string(f->o->client_name));
  json_object_object_add(r, "token_endpoint_auth_method",
                         json_object_new_string(wanted_method(&f->meta)));
  /* SEP-837: "Clients MUST specify an appropriate application_type". */
  json_object_object_add(r, "application_type",
                         json_object_new_string("native"));
  if (uris == NULL || grants == NULL || types == NULL)
    goto out;
  json_object_array_add(uris, json_object_new_string(f->o->redirect_uri));
  json_object_array_add(grants, json_object_new_string("authorization_code"));
  if (f->o->offline)
    json_object_array_add(grants, json_object_new_string("refresh_token"));
  json_object_array_add(types, json_object_new_string("code"));
  s = cmcp__json_text(r, NULL);
  text = s != NULL ? cmcp__strdup(s) : NULL;
out:
  json_object_put(r);
  return text;
}

static void on_register(cmcp__oauth_flow *f, const cmcp__fetch_res *res) {
  json_object *root = NULL;
  char why[256];
  int rc;
  if (res->status != 0 ||
      (res->http_status != 201 && res->http_status != 200)) {
    describe_oauth_error(why, sizeof(why), "client registration failed", res);
    flow_finish(f, CMCP_EPROTO, why);
    return;
  }
  rc = cmcp__json_parse_object(res->body, &root);
  if (rc != 0 || cmcp__json_get_string(root, "client_id") == NULL) {
    json_object_put(root);
    flow_fail(f, CMCP_EPROTO, "the registration response has no client_id");
    return;
  }
  rc = set_str(&f->as->client_id, cmcp__json_get_string(root, "client_id"));
  if (rc == 0)
    rc = set_str(&f->as->client_secret,
                 cmcp__json_get_string(root, "client_secret"));
  if (rc == 0)
    rc = set_str(&f->as->auth_method,
                 cmcp__json_get_string(root, "token_endpoint_auth_method"));
  json_object_put(root);
  if (rc != 0) {
    flow_fail(f, rc, "out of memory");
    return;
  }
  cmcp__oauth_save(f->o);
  flow_authorize(f);
}

static void flow_register(cmcp__oauth_flow *f) {
  static const char *const hdrs[] = {"Content-Type: application/json",
                                     "Accept: application/json", NULL};
  char *body = registration_body(f);
  if (body == NULL) {
    flow_fail(f, CMCP_ENOMEM, "out of memory");
    return;
  }
  f->step = ST_REGISTER;
  flow_fetch(f, "POST", f->meta.registration_endpoint, hdrs, body);
  cmcp__free(body);
}

/* Finds the client's identity at this authorization server, in the spec's
 * order: what it already has there, pre-registered credentials, a client
 * ID metadata document, dynamic registration. A 401 with a refresh token
 * refreshes first. */
static void flow_client(cmcp__oauth_flow *f) {
  cmcp_oauth_t *o = f->o;
  cmcp__oauth_as *as = f->as;
  int rc = 0;
  if (f->http_status == 401 && as->refresh_token != NULL &&
      as->client_id != NULL && f->step != ST_REFRESH) {
    flow_refresh(f);
    return;
  }
  if (as->client_id != NULL) {
    flow_authorize(f);
    return;
  }
  if (o->pre_id != NULL &&
      (o->pre_issuer == NULL || strcmp(o->pre_issuer, as->issuer) == 0)) {
    rc = set_str(&as->client_id, o->pre_id);
    if (rc == 0)
      rc = set_str(&as->client_secret, o->pre_secret);
  } else if (o->cimd_url != NULL && f->meta.cimd) {
    rc = set_str(&as->client_id, o->cimd_url);
    if (rc == 0)
      rc = set_str(&as->auth_method, "none");
  } else if (f->meta.registration_endpoint != NULL) {
    flow_register(f);
    return;
  } else {
    flow_fail(f, CMCP_EUNSUPPORTED,
              "no client identity for %.200s: it offers no registration; "
              "configure a pre-registered client",
              as->issuer);
    return;
  }
  if (rc != 0) {
    flow_fail(f, rc, "out of memory");
    return;
  }
  flow_authorize(f);
}

/* ---- the user-agent step ----------------------------------------------- */

/* 1 if another authorization now would pass CMCP__OAUTH_PER_WINDOW within
 * CMCP__OAUTH_WINDOW_MS; else records it. */
static int too_many_authorizations(cmcp_oauth_t *o) {
  uint64_t now = cmcp__now_ms();
  size_t i, oldest = 0;
  for (i = 0; i < CMCP__OAUTH_PER_WINDOW; i++)
    if (o->authz_times[i] < o->authz_times[oldest])
      oldest = i;
  if (o->authz_times[oldest] != 0 &&
      now - o->authz_times[oldest] < CMCP__OAUTH_WINDOW_MS)
    return 1;
  o->authz_times[oldest] = now;
  return 0;
}

/* The scope to ask for; 1 when a step-up would ask for nothing new (the
 * server refuses scopes already requested: retrying cannot help). */
static int choose_scope(cmcp__oauth_flow *f, int *futile) {
  int step_up = f->http_status == 403;
  const char *prev = f->as->scope;
  *futile =
      step_up && (f->www.scope == NULL ||
                  (prev != NULL && cmcp__scope_subset(f->www.scope, prev)));
  return cmcp__oauth_select_scope(f->www.scope, f->prm.scopes_supported,
                                  f->meta.scopes_supported, prev, step_up,
                                  f->o->offline, &f->scope);
}

/* Draws the PKCE verifier and the state, and builds the authorization
 * request URL for them. NULL on ENOMEM (or a failed random source). */
static char *authorization_url(cmcp__oauth_flow *f) {
  char *challenge, *url = NULL;
  f->verifier = cmcp__oauth_random_b64url(32);
  f->state = cmcp__oauth_random_b64url(16);
  challenge = f->verifier ? cmcp__oauth_pkce_s256(f->verifier) : NULL;
  if (f->state != NULL && challenge != NULL)
    url = cmcp__oauth_authorize_url(
        f->meta.authorization_endpoint, f->as->client_id, f->o->redirect_uri,
        challenge, f->state, f->prm.resource, f->scope);
  cmcp__free(challenge);
  return url;
}

/* A new user-agent step for f. NULL on ENOMEM. */
static cmcp_oauth_authz_t *authz_new(cmcp__oauth_flow *f) {
  cmcp_oauth_authz_t *a = cmcp__calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  a->redirect_uri = cmcp__strdup(f->o->redirect_uri);
  if (a->redirect_uri == NULL) {
    cmcp__free(a);
    return NULL;
  }
  a->flow = f;
  a->loop = f->loop;
  return a;
}

/* Hands the authorization request to the user agent, unless a step-up
 * would be futile or too many authorizations ran lately. */
static void flow_authorize(cmcp__oauth_flow *f) {
  cmcp_oauth_t *o = f->o;
  cmcp_oauth_authz_t *a = NULL;
  char *url = NULL;
  int futile = 0, rc;
  if (o->authorize == NULL) {
    flow_fail(f, CMCP_ESTATE,
              "authorization needed but no user agent set "
              "(cmcp_oauth_on_authorize)");
    return;
  }
  rc = choose_scope(f, &futile);
  if (rc == 0 && futile) {
    flow_fail(f, CMCP_EPROTO,
              "the server still refuses with insufficient_scope for scopes "
              "already requested (%.100s)",
              f->www.scope ? f->www.scope : "none named");
    return;
  }
  if (rc == 0 && too_many_authorizations(o)) {
    flow_fail(f, CMCP_ELIMIT, "too many authorizations in a row");
    return;
  }
  if (rc == 0 && (url = authorization_url(f)) != NULL)
    a = authz_new(f);
  if (a == NULL) {
    cmcp__free(url);
    flow_fail(f, rc != 0 ? rc : CMCP_ENOMEM,
              "cannot build the authorization request");
    return;
  }
  f->authz = a;
  f->step = ST_AUTHZ;
  o->authorize(o, a, url, o->authorize_data);
  cmcp__free(url);
}

uv_loop_t *cmcp_oauth_authz_loop(const cmcp_oauth_authz_t *a) {
  return a != NULL ? a->loop : NULL;
}

const char *cmcp_oauth_authz_redirect_uri(const cmcp_oauth_authz_t *a) {
  return a != NULL ? a->redirect_uri : NULL;
}

static void authz_free(cmcp_oauth_authz_t *a) {
  if (a->flow != NULL)
    a->flow->authz = NULL;
  cmcp__free(a->redirect_uri);
  cmcp__free(a);
}

/* The code exchange (RFC 6749 s4.1.3 with RFC 7636's verifier and RFC
 * 8707's resource). */
static void flow_exchange(cmcp__oauth_flow *f, const char *code) {
  const char *kv[] = {"grant_type",    "authorization_code",
                      "code",          code,
                      "redirect_uri",  f->o->redirect_uri,
                      "code_verifier", f->verifier,
                      "resource",      f->prm.resource,
                      NULL};
  post_token(f, ST_TOKEN, kv);
}

int cmcp_oauth_authz_done(cmcp_oauth_authz_t *a, const char *redirect_url) {
  cmcp__oauth_flow *f;
  char *code = NULL, why[256];
  int rc;
  if (a == NULL || redirect_url == NULL)
    return CMCP_EINVAL;
  f = a->flow;
  authz_free(a);
  if (f == NULL)
    return 0; /* abandoned */
  rc = cmcp__oauth_check_redirect(redirect_url, f->state, f->meta.issuer,
                                  f->meta.iss_supported, &code, why,
                                  sizeof(why));
  if (rc != 0) {
    flow_finish(f, rc, why);
    return 0;
  }
  flow_exchange(f, code);
  cmcp__free(code);
  return 0;
}

int cmcp_oauth_authz_fail(cmcp_oauth_authz_t *a, const char *reason) {
  cmcp__oauth_flow *f;
  if (a == NULL)
    return CMCP_EINVAL;
  f = a->flow;
  authz_free(a);
  if (f != NULL)
    flow_fail(f, CMCP_ECANCELED, "authorization not completed: %.200s",
              reason != NULL ? reason : "no reason given");
  return 0;
}

/* ---- the transport's entry points -------------------------------------- */

static void flow_on_fetch(void *data, const cmcp__fetch_res *res) {
  cmcp__oauth_flow *f = data;
  f->busy = 0;
  if (f->o == NULL) {
    flow_free(f); /* the object was freed meanwhile */
    return;
  }
  switch (f->step) {
  case ST_PRM:
    on_prm(f, res);
    break;
  case ST_ASMETA:
    on_asmeta(f, res);
    break;
  case ST_REGISTER:
    on_register(f, res);
    break;
  default:
    on_token(f, res);
    break;
  }
}

/* A new flow for this challenge, at its first step. */
static int flow_start(cmcp_oauth_t *o, uv_loop_t *loop, const char *url,
                      long http_status, const cmcp__www_auth *www) {
  cmcp__oauth_flow *f = cmcp__calloc(1, sizeof(*f));
  char *urls[2];
  int n = 0, rc = CMCP_ENOMEM;
  if (f == NULL)
    return CMCP_ENOMEM;
  f->o = o;
  f->loop = loop;
  f->http_status = http_status;
  f->www = *www;
  f->server_url = cmcp__strdup(url);
  if (f->server_url == NULL)
    goto fail;
  if (www->resource_metadata != NULL) {
    urls[0] = cmcp__strdup(www->resource_metadata);
    n = urls[0] != NULL;
  } else {
    rc = cmcp__oauth_prm_urls(url, urls, &n);
    if (rc != 0)
      goto fail;
  }
  if (n == 0)
    goto fail;
  set_urls(f, urls, n);
  f->step = ST_PRM;
  o->flow = f;
  return 0;
fail:
  memset(&f->www, 0, sizeof(f->www)); /* still the caller's */
  flow_free(f);
  return rc;
}

int cmcp__oauth_challenge(cmcp_oauth_t *o, uv_loop_t *loop,
                          const char *resource_url, long http_status,
                          const char *www_authenticate, cmcp__oauth_done done,
                          void *data) {
  cmcp__www_auth www;
  cmcp__oauth_flow *f;
  int rc;
  if (o == NULL || loop == NULL || resource_url == NULL || done == NULL)
    return CMCP_EINVAL;
  cmcp__oauth_load(o);
  if (o->flow == NULL) {
    /* A malformed challenge is treated as one without parameters. */
    if (cmcp__www_auth_parse(www_authenticate, &www) != 0)
      memset(&www, 0, sizeof(www));
    /* A 403 is an authorization matter only for insufficient_scope
     * (RFC 6750 s3.1). */
    if (http_status == 403 &&
        (www.error == NULL || strcmp(www.error, "insufficient_scope") != 0)) {
      cmcp__www_auth_clear(&www);
      return CMCP_EPROTO;
    }
    rc = flow_start(o, loop, resource_url, http_status, &www);
    if (rc != 0) {
      cmcp__www_auth_clear(&www);
      return rc;
    }
    f = o->flow;
    /* The first exchange starts here so that a failure is returned, not
     * reported through done inside this call. */
    rc = fetch_raw(f, "GET", f->urls[0], json_hdrs, NULL);
    if (rc != 0) {
      o->flow = NULL;
      flow_free(f);
      return rc;
    }
    f->waiters[f->nwaiters++] = (cmcp__oauth_waiter){done, data};
    return 0;
  }
  f = o->flow;
  if (f->nwaiters == CMCP__OAUTH_MAX_WAITERS)
    return CMCP_ELIMIT;
  f->waiters[f->nwaiters++] = (cmcp__oauth_waiter){done, data};
  return 0;
}

void cmcp__oauth_cancel(cmcp_oauth_t *o, void *data) {
  cmcp__oauth_flow *f = o != NULL ? o->flow : NULL;
  size_t i, n = 0;
  if (f == NULL)
    return;
  for (i = 0; i < f->nwaiters; i++)
    if (f->waiters[i].data != data)
      f->waiters[n++] = f->waiters[i];
  f->nwaiters = n;
}
