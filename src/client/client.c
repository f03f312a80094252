/* src/client/client.c: the client object, its configuration, connecting
 * (discovery, the fallback to initialize) and closing.
 *
 * Connecting follows the spec's versioning page (2026-07-28, "Backward
 * Compatibility with Initialization-Based Versions") and the stdio and
 * Streamable HTTP binding pages:
 *   - nothing pinned: server/discover first. A DiscoverResult, or a
 *     recognized modern error (-32020, -32021, -32022), identifies a modern
 *     server; "Any other error, or no response within a reasonable timeout,
 *     identifies a legacy server — fall back to the legacy initialize
 *     handshake" (on HTTP: a 4xx without a recognized modern error body).
 *     An UnsupportedProtocolVersionError is answered by retrying with a
 *     version from its `supported` list, or by initialize when that list
 *     holds only legacy versions;
 *   - a pinned legacy version: initialize with it;
 *   - 2026-07-28 pinned: server/discover only, no fallback.
 */
#include "client/client_eng.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A probe for the server's era gives up after this long at most (a legacy
 * server may never answer an unknown method before initialize). */
#define CMCP__PROBE_TIMEOUT_MS 10000

static const int64_t default_limits[CMCP_CLIENT_LIMIT_COUNT_] = {
    (int64_t)4 << 20, 1024, 16, 5};

void cmcp__client_errorf(cmcp_client_t *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cli->err, sizeof(cli->err), fmt, ap);
  va_end(ap);
  cmcp__log(CMCP_LOG_INFO, "client: %s", cli->err);
}

/* Adds key: a new string s to o. 0 or CMCP_ENOMEM. */
static int add_string(json_object *o, const char *key, const char *s) {
  json_object *v = json_object_new_string(s);
  if (!v || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* clientInfo: {"name":..,"version":..}. NULL on ENOMEM. */
static json_object *make_info(const char *name, const char *version) {
  json_object *o = json_object_new_object();
  if (!o || add_string(o, "name", name) != 0 ||
      add_string(o, "version", version ? version : "0.0.0") != 0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

cmcp_client_t *cmcp_client_new(uv_loop_t *loop, const char *name,
                               const char *version) {
  cmcp_client_t *cli;
  if (!name || !*name)
    return NULL;
  cli = cmcp__calloc(1, sizeof(*cli));
  if (!cli)
    return NULL;
  if (!(cli->client_info = make_info(name, version)))
    goto fail;
  if (!loop) {
    if (!(loop = cmcp__malloc(sizeof(*loop))))
      goto fail;
    if (uv_loop_init(loop) != 0) {
      cmcp__free(loop);
      goto fail;
    }
    cli->own_loop = 1;
  }
  cli->loop = loop;
  cli->timeout_ms = 60000;
  cli->cache_enabled = 1;
  memcpy(cli->limits, default_limits, sizeof(cli->limits));
  return cli;
fail:
  json_object_put(cli->client_info);
  cmcp__free(cli);
  return NULL;
}

void cmcp_client_set_data(cmcp_client_t *cli, void *data) {
  if (cli)
    cli->data = data;
}

void *cmcp_client_data(const cmcp_client_t *cli) {
  return cli ? cli->data : NULL;
}

uv_loop_t *cmcp_client_loop(const cmcp_client_t *cli) {
  return cli ? cli->loop : NULL;
}

const char *cmcp_client_last_error(const cmcp_client_t *cli) {
  return cli ? cli->err : "";
}

/* 0 if cli may still be configured. */
static int configurable(const cmcp_client_t *cli) {
  if (!cli)
    return CMCP_EINVAL;
  return cli->state == CMCP__CLI_IDLE && !cli->t ? 0 : CMCP_ESTATE;
}

int cmcp_client_set_stdio(cmcp_client_t *cli, const char *const *argv,
                          const char *const *env, const char *cwd) {
  int st = configurable(cli);
  char **a, **e = NULL, *c = NULL;
  if (st != 0)
    return st;
  if (!argv || !argv[0] || !*argv[0])
    return CMCP_EINVAL;
  if (!(a = cmcp__strv_dup(argv, &st)))
    return CMCP_ENOMEM;
  e = cmcp__strv_dup(env, &st);
  if (st != 0 || (cwd && !(c = cmcp__strdup(cwd)))) {
    cmcp__strv_free(a);
    cmcp__strv_free(e);
    return CMCP_ENOMEM;
  }
  cmcp__strv_free(cli->argv);
  cmcp__strv_free(cli->env);
  cmcp__free(cli->cwd);
  cli->argv = a;
  cli->env = e;
  cli->cwd = c;
  cmcp__free(cli->url);
  cli->url = NULL;
  return 0;
}

int cmcp_client_set_url(cmcp_client_t *cli, const char *url) {
  int st = configurable(cli);
  char *u;
  if (st != 0)
    return st;
  if (!url ||
      (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
    return CMCP_EINVAL;
  if (!(u = cmcp__strdup(url)))
    return CMCP_ENOMEM;
  cmcp__free(cli->url);
  cli->url = u;
  cmcp__strv_free(cli->argv);
  cli->argv = NULL;
  return 0;
}

/* A header name is an RFC 9110 token; a value has no CR, LF or NUL. */
static int header_ok(const char *name, const char *value) {
  if (!*name)
    return 0;
  for (const char *p = name; *p; p++)
    if (!cmcp__client_tchar((unsigned char)*p))
      return 0;
  return strpbrk(value, "\r\n") == NULL;
}

int cmcp_client_add_header(cmcp_client_t *cli, const char *name,
                           const char *value) {
  int st = configurable(cli);
  cmcp__buf b;
  char **v;
  if (st != 0)
    return st;
  if (!name || !value || !header_ok(name, value))
    return CMCP_EINVAL;
  cmcp__buf_init(&b, 65536);
  if ((st = cmcp__buf_printf(&b, "%s: %s", name, value)) != 0)
    return st;
  v = cmcp__realloc(cli->headers, (cli->nheaders + 2) * sizeof(*v));
  if (!v) {
    cmcp__buf_free(&b);
    return CMCP_ENOMEM;
  }
  cli->headers = v;
  v[cli->nheaders++] = cmcp__buf_take(&b, NULL);
  v[cli->nheaders] = NULL;
  return 0;
}

int cmcp_client_set_bearer(cmcp_client_t *cli, const char *token) {
  int st = configurable(cli);
  char *t;
  if (st != 0)
    return st;
  if (!token || !*token || strpbrk(token, "\r\n"))
    return CMCP_EINVAL;
  if (!(t = cmcp__strdup(token)))
    return CMCP_ENOMEM;
  cmcp__free(cli->bearer);
  cli->bearer = t;
  return 0;
}

int cmcp_client_set_protocol(cmcp_client_t *cli, const char *version) {
  int st = configurable(cli);
  const char *const *all = cmcp_protocol_versions();
  if (st != 0)
    return st;
  if (!version) {
    cli->pinned = NULL;
    return 0;
  }
  for (size_t i = 0; all[i]; i++)
    if (strcmp(all[i], version) == 0) {
      cli->pinned = all[i];
      return 0;
    }
  return CMCP_EUNSUPPORTED;
}

int cmcp_client_set_timeout(cmcp_client_t *cli, uint64_t timeout_ms) {
  if (!cli)
    return CMCP_EINVAL;
  cli->timeout_ms = timeout_ms;
  return 0;
}

int cmcp_client_set_limit(cmcp_client_t *cli, cmcp_client_limit_t which,
                          int64_t value) {
  if (!cli || (int)which < 0 || which >= CMCP_CLIENT_LIMIT_COUNT_)
    return CMCP_EINVAL;
  if (value < (which == CMCP_CLIENT_LIMIT_RECONNECTS ? 0 : 1))
    return CMCP_EINVAL;
  if (which == CMCP_CLIENT_LIMIT_MESSAGE_BYTES && value < 64)
    return CMCP_EINVAL;
  if (which != CMCP_CLIENT_LIMIT_INFLIGHT && configurable(cli) != 0)
    return CMCP_ESTATE;
  cli->limits[which] = value;
  return 0;
}

int cmcp_client_set_cache(cmcp_client_t *cli, int enabled) {
  if (!cli)
    return CMCP_EINVAL;
  cli->cache_enabled = enabled != 0;
  if (!enabled)
    cmcp__cache_drop(cli, NULL);
  return 0;
}

int cmcp_client_set_oauth(cmcp_client_t *cli, cmcp_oauth_t *oauth) {
  int st = configurable(cli);
  if (st != 0)
    return st;
  cli->oauth = oauth;
  return 0;
}

int cmcp_client_set_info_json(cmcp_client_t *cli, const char *json) {
  int st = configurable(cli);
  json_object *extra = NULL;
  if (st != 0)
    return st;
  if ((st = cmcp__json_parse_object(json, &extra)) != 0)
    return st;
  json_object_object_foreach(extra, k, v) {
    if (strcmp(k, "name") == 0 || strcmp(k, "version") == 0) {
      if (!json_object_is_type(v, json_type_string) ||
          !*json_object_get_string(v)) {
        st = CMCP_EINVAL;
        break;
      }
    }
    if (json_object_object_add(cli->client_info, k, json_object_get(v)) != 0) {
      json_object_put(v);
      st = CMCP_ENOMEM;
      break;
    }
  }
  json_object_put(extra);
  return st;
}

/* ---- what the server may ask ------------------------------------------- */

int cmcp_client_on_sampling(cmcp_client_t *cli, cmcp_ask_fn fn, void *data) {
  int st = configurable(cli);
  if (st != 0)
    return st;
  cli->sampling_fn = fn;
  cli->sampling_data = data;
  return 0;
}

int cmcp_client_on_elicitation(cmcp_client_t *cli, unsigned modes,
                               cmcp_ask_fn fn, void *data) {
  int st = configurable(cli);
  if (st != 0)
    return st;
  if (fn && (modes == 0 || (modes & ~(CMCP_ELICIT_FORM | CMCP_ELICIT_URL))))
    return CMCP_EINVAL;
  cli->elicit_fn = fn;
  cli->elicit_data = data;
  cli->elicit_modes = fn ? modes : 0;
  return 0;
}

int cmcp_client_on_roots(cmcp_client_t *cli, int list_changed, cmcp_ask_fn fn,
                         void *data) {
  int st = configurable(cli);
  if (st != 0)
    return st;
  cli->roots_fn = fn;
  cli->roots_data = data;
  cli->roots_list_changed = fn && list_changed;
  return 0;
}

int cmcp_client_on_notification(cmcp_client_t *cli, cmcp_notify_fn fn,
                                void *data) {
  if (!cli)
    return CMCP_EINVAL;
  cli->notify_fn = fn;
  cli->notify_data = data;
  return 0;
}

int cmcp_client_roots_changed(cmcp_client_t *cli) {
  if (!cli)
    return CMCP_EINVAL;
  if (cli->state != CMCP__CLI_READY)
    return CMCP_ESTATE;
  if (!cli->roots_list_changed)
    return CMCP_EINVAL;
  /* The 2026-07-28 wire has no such notification: a server asks for the
   * roots again inside the request that needs them. */
  if (cli->modern)
    return 0;
  return cmcp__client_notify(cli, "notifications/roots/list_changed", NULL);
}

/* Adds key: {} to o. 0 or CMCP_ENOMEM. */
static int add_empty(json_object *o, const char *key) {
  json_object *e = json_object_new_object();
  if (!e || json_object_object_add(o, key, e) != 0) {
    json_object_put(e);
    return CMCP_ENOMEM;
  }
  return 0;
}

json_object *cmcp__client_caps(cmcp_client_t *cli, int modern) {
  json_object *caps = json_object_new_object(), *el = NULL, *roots = NULL;
  if (!caps)
    return NULL;
  if (cli->sampling_fn && add_empty(caps, "sampling") != 0)
    goto fail;
  if (cli->elicit_fn) {
    if (!(el = json_object_new_object()) ||
        json_object_object_add(caps, "elicitation", el) != 0) {
      json_object_put(el);
      goto fail;
    }
    if ((cli->elicit_modes & CMCP_ELICIT_FORM) && add_empty(el, "form") != 0)
      goto fail;
    if ((cli->elicit_modes & CMCP_ELICIT_URL) && add_empty(el, "url") != 0)
      goto fail;
  }
  if (cli->roots_fn) {
    if (!(roots = json_object_new_object()) ||
        json_object_object_add(caps, "roots", roots) != 0) {
      json_object_put(roots);
      goto fail;
    }
    /* ClientCapabilities.roots has no listChanged on the 2026-07-28 wire. */
    if (!modern && cli->roots_list_changed &&
        json_object_object_add(roots, "listChanged",
                               json_object_new_boolean(1)) != 0)
      goto fail;
  }
  return caps;
fail:
  json_object_put(caps);
  return NULL;
}

/* ---- connecting -------------------------------------------------------- */

static int is_modern_version(const char *v) {
  return strcmp(v, CMCP_PROTOCOL_MODERN) == 0;
}

/* The version of ours named in list (an array of strings) that we prefer
 * (newest first), or NULL. */
static const char *pick_version(json_object *list) {
  const char *const *all = cmcp_protocol_versions();
  size_t n;
  if (!json_object_is_type(list, json_type_array))
    return NULL;
  n = json_object_array_length(list);
  for (size_t i = 0; all[i]; i++)
    for (size_t j = 0; j < n; j++) {
      const char *s =
          json_object_get_string(json_object_array_get_idx(list, j));
      if (json_object_is_type(json_object_array_get_idx(list, j),
                              json_type_string) &&
          strcmp(s, all[i]) == 0)
        return all[i];
    }
  return NULL;
}

/* Starts the connecting request of role with the current cli->protocol.
 * 0 or a status (r is then dropped). */
static int start_step(cmcp_client_t *cli, cmcp__creq *old,
                      cmcp__creq_role role);

/* Sends initialize for cli->protocol. */
static json_object *init_params(cmcp_client_t *cli) {
  json_object *p = json_object_new_object(), *caps;
  if (!p)
    return NULL;
  caps = cmcp__client_caps(cli, 0);
  if (!caps || add_string(p, "protocolVersion", cli->protocol) != 0 ||
      json_object_object_add(p, "capabilities", caps) != 0) {
    json_object_put(caps);
    goto fail;
  }
  if (json_object_object_add(p, "clientInfo",
                             json_object_get(cli->client_info)) != 0) {
    json_object_put(cli->client_info);
    goto fail;
  }
  return p;
fail:
  json_object_put(p);
  return NULL;
}

/* Keeps what a DiscoverResult or InitializeResult says about the server. */
static int keep_server(cmcp_client_t *cli, json_object *result) {
  json_object *info = NULL, *caps = NULL;
  const char *ins = cmcp__json_get_string(result, "instructions");
  char *ins_copy = NULL;
  /* 2026-07-28 results name the server in _meta ("Per-response protocol
   * fields"); InitializeResult (and some servers' DiscoverResult) in
   * serverInfo. */
  if (!json_object_object_get_ex(result, "serverInfo", &info))
    info = json_object_object_get(json_object_object_get(result, "_meta"),
                                  "io.modelcontextprotocol/serverInfo");
  json_object_object_get_ex(result, "capabilities", &caps);
  if (ins && !(ins_copy = cmcp__strdup(ins)))
    return CMCP_ENOMEM;
  json_object_put(cli->server_info);
  json_object_put(cli->server_caps);
  cmcp__free(cli->instructions);
  cli->server_info = json_object_is_type(info, json_type_object)
                         ? json_object_get(info)
                         : NULL;
  cli->server_caps = json_object_is_type(caps, json_type_object)
                         ? json_object_get(caps)
                         : NULL;
  cli->instructions = ins_copy;
  return 0;
}

/* Falls back to initialize with version v after a discovery that showed a
 * legacy server. */
static void fall_back(cmcp_client_t *cli, cmcp__creq *r, const char *v) {
  int st;
  cmcp__log(CMCP_LOG_DEBUG, "client: legacy server, initialize with %s", v);
  cli->protocol = v;
  cli->modern = 0;
  if ((st = start_step(cli, r, CMCP__ROLE_INIT)) != 0)
    cmcp__creq_finish(r, st, NULL);
}

/* The discover step ended. */
static void discover_step(cmcp_client_t *cli, cmcp__creq *r, int status,
                          json_object *result, json_object *error) {
  const char *v;
  int code = 0;
  if (status == 0) {
    v = pick_version(json_object_object_get(result, "supportedVersions"));
    if (!v) {
      cmcp__client_errorf(cli, "the server supports no protocol version "
                               "this client speaks");
      cmcp__creq_finish(r, CMCP_EUNSUPPORTED, NULL);
      return;
    }
    if (!is_modern_version(v)) {
      fall_back(cli, r, v);
      return;
    }
    if (keep_server(cli, result) != 0) {
      cmcp__creq_finish(r, CMCP_ENOMEM, NULL);
      return;
    }
    cli->state = CMCP__CLI_READY;
    cmcp__creq_finish(r, 0, result);
    return;
  }
  if (error)
    code = json_object_get_int(json_object_object_get(error, "code"));
  if (status == CMCP_ERPC && code == CMCP_MCP_UNSUPPORTED_VERSION) {
    v = pick_version(json_object_object_get(
        json_object_object_get(error, "data"), "supported"));
    if (v && !is_modern_version(v) && !cli->pinned) {
      fall_back(cli, r, v);
      return;
    }
    cmcp__client_errorf(cli, "no protocol version in common with the server");
    cmcp__creq_finish(r, status, error);
    return;
  }
  /* "A recognized modern JSON-RPC error identifies a modern server: the
   * client retries ... rather than falling back. Anything else identifies a
   * legacy server." */
  if (!cli->pinned &&
      (status == CMCP_ETIMEDOUT ||
       (status == CMCP_ERPC && code != CMCP_MCP_HEADER_MISMATCH &&
        code != CMCP_MCP_MISSING_CAPABILITY) ||
       status == CMCP_EPROTO)) {
    fall_back(cli, r, CMCP_PROTOCOL_LEGACY_LATEST);
    return;
  }
  cmcp__creq_finish(r, status, status == CMCP_ERPC ? error : NULL);
}

/* The initialize step ended. */
static void init_step(cmcp_client_t *cli, cmcp__creq *r, int status,
                      json_object *result, json_object *error) {
  const char *v, *const *all = cmcp_protocol_versions();
  int st;
  if (status != 0) {
    cmcp__creq_finish(r, status, status == CMCP_ERPC ? error : NULL);
    return;
  }
  v = cmcp__json_get_string(result, "protocolVersion");
  cli->protocol = NULL;
  for (size_t i = 0; v && all[i]; i++)
    if (strcmp(all[i], v) == 0 && !is_modern_version(all[i]))
      cli->protocol = all[i];
  /* "If the client does not support the version in the server's response,
   * it SHOULD disconnect." */
  if (!cli->protocol) {
    cmcp__client_errorf(cli,
                        "the server answered initialize with protocol "
                        "version %s, which this client does not speak",
                        v ? v : "(none)");
    cmcp__creq_finish(r, CMCP_EUNSUPPORTED, NULL);
    return;
  }
  if ((st = keep_server(cli, result)) != 0 ||
      (st = cmcp__client_notify(cli, "notifications/initialized", NULL)) != 0) {
    cmcp__client_errorf(cli, "cannot send notifications/initialized: %s",
                        cmcp_strerror(st));
    cmcp__creq_finish(r, st, NULL);
    return;
  }
  cli->state = CMCP__CLI_READY;
  cmcp__creq_finish(r, 0, result);
}

void cmcp__client_connect_step(cmcp_client_t *cli, cmcp__creq *r, int status,
                               json_object *result, json_object *error) {
  if (r->role == CMCP__ROLE_DISCOVER)
    discover_step(cli, r, status, result, error);
  else
    init_step(cli, r, status, result, error);
}

static int start_step(cmcp_client_t *cli, cmcp__creq *r, cmcp__creq_role role) {
  json_object *params = NULL;
  char *m;
  if (role == CMCP__ROLE_INIT && !(params = init_params(cli)))
    return CMCP_ENOMEM;
  m = cmcp__strdup(role == CMCP__ROLE_INIT ? "initialize" : "server/discover");
  if (!m) {
    json_object_put(params);
    return CMCP_ENOMEM;
  }
  cmcp__free(r->method);
  r->method = m;
  json_object_put(r->params);
  r->params = params;
  r->role = role;
  r->version_retries = 0;
  r->timeout_ms = cli->timeout_ms;
  if (role == CMCP__ROLE_DISCOVER && !cli->pinned &&
      (r->timeout_ms == 0 || r->timeout_ms > CMCP__PROBE_TIMEOUT_MS))
    r->timeout_ms = CMCP__PROBE_TIMEOUT_MS;
  return cmcp__creq_send(cli, r);
}

/* Makes the transport the configuration asks for. */
static int make_transport(cmcp_client_t *cli) {
  size_t max = (size_t)cli->limits[CMCP_CLIENT_LIMIT_MESSAGE_BYTES];
  if (cli->argv)
    cli->t =
        cmcp__ctransport_stdio(cli, cli->loop, (const char *const *)cli->argv,
                               (const char *const *)cli->env, cli->cwd, max);
  else if (cli->url)
    cli->t = cmcp__ctransport_http(
        cli, cli->loop, cli->url, (const char *const *)cli->headers,
        cli->bearer, cli->oauth, max,
        (int)cli->limits[CMCP_CLIENT_LIMIT_RECONNECTS]);
  else {
    cmcp__client_errorf(cli, "no server configured (cmcp_client_set_stdio or "
                             "cmcp_client_set_url)");
    return CMCP_EINVAL;
  }
  if (!cli->t)
    return CMCP_ENOMEM;
  cli->transport_open = 1;
  return 0;
}

static void transport_done(cmcp__ctransport *t) {
  cmcp_client_t *cli = t->cli;
  cli->transport_open = 0;
  cmcp__client_maybe_release(cli);
}

/* Closes the transport (if any); transport_done follows. */
static void close_transport(cmcp_client_t *cli) {
  cmcp__ctransport *t = cli->t;
  if (!t)
    return;
  cli->t = NULL;
  t->vt->close(t, transport_done);
}

int cmcp_client_connect(cmcp_client_t *cli, cmcp_result_fn cb, void *data) {
  cmcp__creq *r;
  int st;
  if (!cli || !cb)
    return CMCP_EINVAL;
  if (cli->state != CMCP__CLI_IDLE || cli->t)
    return CMCP_ESTATE;
  if ((st = make_transport(cli)) != 0)
    return st;
  if ((st = cli->t->vt->open(cli->t)) != 0)
    goto fail;
  if (!(r = cmcp__creq_new(cli, "server/discover", NULL, 0, 0, cb, data))) {
    st = CMCP_ENOMEM;
    goto fail;
  }
  cli->state = CMCP__CLI_CONNECTING;
  cli->protocol = cli->pinned ? cli->pinned : CMCP_PROTOCOL_MODERN;
  cli->modern = is_modern_version(cli->protocol);
  st = start_step(cli, r, cli->modern ? CMCP__ROLE_DISCOVER : CMCP__ROLE_INIT);
  if (st != 0) {
    cmcp__creq_discard(r);
    cli->state = CMCP__CLI_IDLE;
    goto fail;
  }
  return 0;
fail:
  close_transport(cli);
  return st;
}

/* ---- after connecting -------------------------------------------------- */

const char *cmcp_client_protocol_version(const cmcp_client_t *cli) {
  return cli && cli->state == CMCP__CLI_READY ? cli->protocol : NULL;
}

int cmcp_client_is_modern(const cmcp_client_t *cli) {
  return cli && cli->state == CMCP__CLI_READY && cli->modern;
}

json_object *cmcp_client_server_info(const cmcp_client_t *cli) {
  return cli ? cli->server_info : NULL;
}

json_object *cmcp_client_server_capabilities(const cmcp_client_t *cli) {
  return cli ? cli->server_caps : NULL;
}

const char *cmcp_client_instructions(const cmcp_client_t *cli) {
  return cli ? cli->instructions : NULL;
}

int cmcp_client_server_has(const cmcp_client_t *cli, const char *path) {
  json_object *o = cli ? cli->server_caps : NULL;
  char part[128];
  if (!o || !path)
    return 0;
  while (*path) {
    size_t n = strcspn(path, ".");
    if (n == 0 || n >= sizeof(part))
      return 0;
    memcpy(part, path, n);
    part[n] = '\0';
    if (!json_object_object_get_ex(o, part, &o))
      return 0;
    path += n;
    if (*path == '.')
      path++;
  }
  /* A flag such as listChanged counts only when true. */
  if (json_object_is_type(o, json_type_boolean))
    return json_object_get_boolean(o);
  return o != NULL && !json_object_is_type(o, json_type_null);
}

/* ---- closing ----------------------------------------------------------- */

static void free_memory(cmcp_client_t *cli) {
  uv_loop_t *loop = cli->own_loop ? cli->loop : NULL;
  cmcp__cache_free(cli);
  json_object_put(cli->tools);
  json_object_put(cli->client_info);
  json_object_put(cli->server_info);
  json_object_put(cli->server_caps);
  cmcp__free(cli->instructions);
  cmcp__strv_free(cli->argv);
  cmcp__strv_free(cli->env);
  cmcp__strv_free(cli->headers);
  cmcp__free(cli->cwd);
  cmcp__free(cli->url);
  cmcp__free(cli->bearer);
  cmcp__free(cli);
  if (loop) {
    if (uv_loop_close(loop) != 0)
      cmcp__log(CMCP_LOG_WARNING, "client: private loop still busy");
    else
      cmcp__free(loop);
  }
}

void cmcp__client_maybe_release(cmcp_client_t *cli) {
  if (cli->state != CMCP__CLI_CLOSING || cli->open_handles > 0 ||
      cli->transport_open || cli->sync_depth > 0)
    return;
  /* On a private loop cmcp_client_free (or the synchronous call that saw
   * it) releases the memory after running the loop dry. */
  if (cli->own_loop)
    return;
  free_memory(cli);
}

void cmcp_client_free(cmcp_client_t *cli) {
  if (!cli || cli->state == CMCP__CLI_CLOSING)
    return;
  cli->state = CMCP__CLI_CLOSING;
  cmcp__client_detach_asks(cli, NULL);
  cmcp__client_fail_all(cli, CMCP_ECANCELED);
  close_transport(cli);
  if (!cli->own_loop) {
    cmcp__client_maybe_release(cli);
    return;
  }
  if (cli->sync_depth > 0) {
    cli->free_pending = 1; /* the running synchronous call finishes it */
    return;
  }
  while (cli->open_handles > 0 || cli->transport_open)
    if (uv_run(cli->loop, UV_RUN_ONCE) == 0 &&
        (cli->open_handles > 0 || cli->transport_open))
      break;
  free_memory(cli);
}

void cmcp__client_sync_leave(cmcp_client_t *cli) {
  if (--cli->sync_depth > 0 || !cli->free_pending)
    return;
  while (cli->open_handles > 0 || cli->transport_open)
    if (uv_run(cli->loop, UV_RUN_ONCE) == 0 &&
        (cli->open_handles > 0 || cli->transport_open))
      break;
  free_memory(cli);
}

/* ---- upcalls from the transport ---------------------------------------- */

void cmcp__client_on_transport_closed(cmcp_client_t *cli, int status,
                                      const char *detail) {
  if (cli->state == CMCP__CLI_CLOSING)
    return;
  cmcp__client_errorf(cli, "connection closed: %s",
                      detail && *detail ? detail : cmcp_strerror(status));
  cli->state = CMCP__CLI_DEAD;
  cmcp__client_detach_asks(cli, NULL);
  cmcp__client_fail_all(cli, status ? status : CMCP_ECLOSED);
}
