/* src/proto/methods.c: the methods a client calls, for both eras.
 *
 * cmcp__dispatch gates each method by era and session state, then a
 * handler checks the params (naming the offending field in a -32602),
 * answers at once (lists, initialize, ...) or admits a call and runs the
 * feature's handler. cmcp__call_complete turns a finished call into its
 * response.
 */
#include "engine.h"

#include <string.h>

/* ---- method lookup ---------------------------------------------------------
 */

#define IS(lit) (memcmp(name, lit, sizeof(lit) - 1) == 0)

/* O(1): the length picks a handful of candidates, memcmp settles it. */
cmcp__method cmcp__method_lookup(const char *name) {
  switch (strlen(name)) {
  case 4:
    return IS("ping") ? CMCP__M_PING : CMCP__M_UNKNOWN;
  case 9:
    return IS("tasks/get") ? CMCP__M_TASKS : CMCP__M_UNKNOWN;
  case 10:
    if (IS("tools/call"))
      return CMCP__M_TOOLS_CALL;
    if (IS("tools/list"))
      return CMCP__M_TOOLS_LIST;
    if (IS("initialize"))
      return CMCP__M_INITIALIZE;
    return IS("tasks/list") ? CMCP__M_TASKS : CMCP__M_UNKNOWN;
  case 11:
    return IS("prompts/get") ? CMCP__M_PROMPTS_GET : CMCP__M_UNKNOWN;
  case 12:
    if (IS("prompts/list"))
      return CMCP__M_PROMPTS_LIST;
    return IS("tasks/result") || IS("tasks/cancel") || IS("tasks/update")
               ? CMCP__M_TASKS
               : CMCP__M_UNKNOWN;
  case 14:
    if (IS("resources/read"))
      return CMCP__M_RESOURCES_READ;
    return IS("resources/list") ? CMCP__M_RESOURCES_LIST : CMCP__M_UNKNOWN;
  case 15:
    return IS("server/discover") ? CMCP__M_DISCOVER : CMCP__M_UNKNOWN;
  case 16:
    return IS("logging/setLevel") ? CMCP__M_SET_LEVEL : CMCP__M_UNKNOWN;
  case 19:
    if (IS("completion/complete"))
      return CMCP__M_COMPLETE;
    return IS("resources/subscribe") ? CMCP__M_SUBSCRIBE : CMCP__M_UNKNOWN;
  case 20:
    return IS("subscriptions/listen") ? CMCP__M_LISTEN : CMCP__M_UNKNOWN;
  case 21:
    return IS("resources/unsubscribe") ? CMCP__M_UNSUBSCRIBE : CMCP__M_UNKNOWN;
  case 24:
    return IS("resources/templates/list") ? CMCP__M_TEMPLATES_LIST
                                          : CMCP__M_UNKNOWN;
  default:
    return CMCP__M_UNKNOWN;
  }
}

#undef IS

/* ---- helpers
 * ------------------------------------------------------------------ */

/* Answers -32602 with a message built from fmt. */
static void invalid_params(cmcp__peer_t *peer, cmcp__req *req, const char *fmt,
                           const char *arg) {
  char text[512];
  snprintf(text, sizeof(text), fmt, arg);
  cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS, text, NULL);
}

/* params.field as a string; answers -32602 naming it and returns NULL when
 * it is missing (and required) or not a string. *ok is 0 after an answer. */
static const char *param_string(cmcp__peer_t *peer, cmcp__req *req,
                                const char *field, int required, int *ok) {
  json_object *v = NULL;
  *ok = 1;
  if (req->msg->params == NULL ||
      !json_object_object_get_ex(req->msg->params, field, &v)) {
    if (required) {
      invalid_params(peer, req, "Missing required parameter: params.%s", field);
      *ok = 0;
    }
    return NULL;
  }
  if (!json_object_is_type(v, json_type_string)) {
    invalid_params(peer, req, "Invalid params: params.%s must be a string",
                   field);
    *ok = 0;
    return NULL;
  }
  return json_object_get_string(v);
}

/* params.field as an object (NULL if absent); answers -32602 if it is of
 * another type. */
static json_object *param_object(cmcp__peer_t *peer, cmcp__req *req,
                                 const char *field, int *ok) {
  json_object *v = NULL;
  *ok = 1;
  if (req->msg->params == NULL ||
      !json_object_object_get_ex(req->msg->params, field, &v))
    return NULL;
  if (!json_object_is_type(v, json_type_object)) {
    invalid_params(peer, req, "Invalid params: params.%s must be an object",
                   field);
    *ok = 0;
    return NULL;
  }
  return v;
}

/* Sends result to req, decorated for the modern wire (consumes result). */
static void reply(cmcp__peer_t *peer, cmcp__req *req, json_object *result,
                  int cacheable) {
  if (result == NULL ||
      (req->modern &&
       cmcp__modern_decorate(peer->srv, result, cacheable, "complete") != 0))
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  else
    cmcp__send_result(peer, req->id, result);
  if (result != NULL)
    json_object_put(result);
}

/* Sets o[key] = v (consumed); CMCP_ENOMEM leaves o unchanged. */
static int set(json_object *o, const char *key, json_object *v) {
  if (o == NULL || v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* ---- what the server looks like to a version ------------------------------
 */

/* Keys each version's schema lists, per kind; NULL-terminated. The 2025-11
 * and 2026 rows differ only for Tool.execution (tasks moved out). */
static const char *const tool_keys[CMCP__VERSION_COUNT][10] = {
    {"name", "title", "description", "inputSchema", "outputSchema",
     "annotations", "icons", "_meta", NULL},
    {"name", "title", "description", "inputSchema", "outputSchema",
     "annotations", "icons", "execution", "_meta", NULL},
    {"name", "title", "description", "inputSchema", "outputSchema",
     "annotations", "_meta", NULL},
    {"name", "description", "inputSchema", "annotations", NULL},
    {"name", "description", "inputSchema", NULL}};
static const char *const resource_keys[CMCP__VERSION_COUNT][10] = {
    {"uri", "uriTemplate", "name", "title", "description", "mimeType", "size",
     "annotations", "icons", "_meta"},
    {"uri", "uriTemplate", "name", "title", "description", "mimeType", "size",
     "annotations", "icons", "_meta"},
    {"uri", "uriTemplate", "name", "title", "description", "mimeType", "size",
     "annotations", "_meta", NULL},
    {"uri", "uriTemplate", "name", "description", "mimeType", "size",
     "annotations", NULL},
    {"uri", "uriTemplate", "name", "description", "mimeType", "size",
     "annotations", NULL}};
static const char *const prompt_keys[CMCP__VERSION_COUNT][7] = {
    {"name", "title", "description", "arguments", "icons", "_meta", NULL},
    {"name", "title", "description", "arguments", "icons", "_meta", NULL},
    {"name", "title", "description", "arguments", "_meta", NULL},
    {"name", "description", "arguments", NULL},
    {"name", "description", "arguments", NULL}};
static const char *const info_keys[CMCP__VERSION_COUNT][7] = {
    {"name", "version", "title", "description", "icons", "websiteUrl", NULL},
    {"name", "version", "title", "description", "icons", "websiteUrl", NULL},
    {"name", "version", "title", NULL},
    {"name", "version", NULL},
    {"name", "version", NULL}};

/* A deep copy of src holding only the listed keys (size n). Shared objects
 * are only read here: json-c reference counts are not atomic, so registry
 * objects, which every loop thread sees, are copied, never referenced. */
static json_object *copy_keys(json_object *src, const char *const *keys,
                              size_t n) {
  json_object *out = json_object_new_object();
  size_t i;
  for (i = 0; out != NULL && i < n && keys[i] != NULL; i++) {
    json_object *v = NULL, *copy = NULL;
    if (!json_object_object_get_ex(src, keys[i], &v))
      continue;
    if (json_object_deep_copy(v, &copy, NULL) != 0 ||
        set(out, keys[i], copy) != 0) {
      json_object_put(out);
      return NULL;
    }
  }
  return out;
}

static int clamp_version(int version) {
  return version < 0 || version >= CMCP__VERSION_COUNT ? CMCP__V2025_11_25
                                                       : version;
}

json_object *cmcp__def_for_version(const cmcp__feature *f, int version) {
  int v = clamp_version(version);
  switch (f->kind) {
  case CMCP__TOOL:
    return copy_keys(f->def, tool_keys[v], 10);
  case CMCP__PROMPT:
    return copy_keys(f->def, prompt_keys[v], 7);
  default:
    return copy_keys(f->def, resource_keys[v], 10);
  }
}

json_object *cmcp__server_info(cmcp_server_t *srv, int version) {
  return copy_keys(srv->info, info_keys[clamp_version(version)], 7);
}

/* {"listChanged": true} plus, when subscribe, "subscribe": true. */
static json_object *cap_obj(int subscribe) {
  json_object *o = json_object_new_object();
  if (set(o, "listChanged", json_object_new_boolean(1)) != 0 ||
      (subscribe && set(o, "subscribe", json_object_new_boolean(1)) != 0)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

json_object *cmcp__capabilities(cmcp_server_t *srv, const cmcp__registry *reg,
                                int version) {
  json_object *caps = json_object_new_object();
  int ok = caps != NULL;
  ok = ok && set(caps, "logging", json_object_new_object()) == 0;
  if (ok && srv->completion_fn != NULL && version <= CMCP__V2025_03_26)
    ok = set(caps, "completions", json_object_new_object()) == 0;
  if (ok && reg->count[CMCP__TOOL] > 0)
    ok = set(caps, "tools", cap_obj(0)) == 0;
  if (ok && reg->count[CMCP__RESOURCE] + reg->count[CMCP__TEMPLATE] > 0)
    ok = set(caps, "resources", cap_obj(1)) == 0;
  if (ok && reg->count[CMCP__PROMPT] > 0)
    ok = set(caps, "prompts", cap_obj(0)) == 0;
  if (ok && srv->tasks != NULL && srv->tasks->capabilities != NULL)
    srv->tasks->capabilities(srv, version, caps);
  if (!ok && caps != NULL) {
    json_object_put(caps);
    caps = NULL;
  }
  return caps;
}

/* ---- legacy session --------------------------------------------------------
 */

/* Checks the InitializeRequest params; answers and returns -1 if bad. */
static int initialize_params(cmcp__peer_t *peer, cmcp__req *req,
                             const char **version, json_object **caps) {
  int ok;
  *version = param_string(peer, req, "protocolVersion", 1, &ok);
  if (!ok)
    return -1;
  *caps = param_object(peer, req, "capabilities", &ok);
  if (!ok)
    return -1;
  if (*caps == NULL) {
    invalid_params(peer, req, "Missing required parameter: params.%s",
                   "capabilities");
    return -1;
  }
  if (param_object(peer, req, "clientInfo", &ok) == NULL) {
    if (ok)
      invalid_params(peer, req, "Missing required parameter: params.%s",
                     "clientInfo");
    return -1;
  }
  return 0;
}

void cmcp__m_initialize(cmcp__peer_t *peer, cmcp__req *req) {
  const char *requested;
  json_object *caps, *result;
  cmcp__registry *reg;
  int v;
  if (peer->initialized) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_REQUEST,
                     "Invalid request: this session is already initialized",
                     NULL);
    return;
  }
  if (initialize_params(peer, req, &requested, &caps) != 0)
    return;
  /* "If the server supports the requested protocol version, it MUST
   * respond with the same version. Otherwise, the server MUST respond with
   * another protocol version it supports." (lifecycle) */
  v = cmcp__version_index(requested);
  if (v < CMCP__V2025_11_25)
    v = CMCP__V2025_11_25;
  reg = cmcp__registry_acquire(peer->srv);
  result = json_object_new_object();
  if (set(result, "protocolVersion",
          json_object_new_string(cmcp__version_name(v))) != 0 ||
      set(result, "capabilities", cmcp__capabilities(peer->srv, reg, v)) != 0 ||
      set(result, "serverInfo", cmcp__server_info(peer->srv, v)) != 0 ||
      (peer->srv->instructions != NULL &&
       set(result, "instructions",
           json_object_new_string(peer->srv->instructions)) != 0)) {
    json_object_put(result);
    result = NULL;
  }
  cmcp__registry_unref(reg);
  if (result != NULL) {
    peer->initialized = 1;
    peer->version = v;
    /* An empty capabilities object is not kept: readers take NULL as
     * "nothing declared", and an idle session saves a json-c table. */
    if (json_object_object_length(caps) > 0)
      peer->caps = json_object_get(caps);
    cmcp__peer_update_want(peer);
  }
  reply(peer, req, result, 0);
}

void cmcp__m_set_level(cmcp__peer_t *peer, cmcp__req *req) {
  cmcp_log_level_t level;
  int ok;
  const char *name = param_string(peer, req, "level", 1, &ok);
  if (!ok)
    return;
  if (cmcp_log_level_parse(name, &level) != 0) {
    invalid_params(peer, req, "Invalid params: unknown log level \"%s\"", name);
    return;
  }
  atomic_store(&peer->log_level, (int)level);
  reply(peer, req, json_object_new_object(), 0);
}

void cmcp__m_subscribe(cmcp__peer_t *peer, cmcp__req *req) {
  int ok;
  const char *uri = param_string(peer, req, "uri", 1, &ok);
  if (!ok)
    return;
  if (req->method == CMCP__M_SUBSCRIBE) {
    if (peer->subs == NULL && (peer->subs = json_object_new_object()) == NULL)
      goto nomem;
    if (json_object_object_length(peer->subs) >= CMCP__SUBS_MAX &&
        !json_object_object_get_ex(peer->subs, uri, NULL)) {
      cmcp__stats_refused(CMCP__REFUSE_SUBSCRIPTIONS);
      cmcp__send_error(peer, req->id, CMCP_MCP_SERVER_OVERLOADED,
                       "Server overloaded: this session already subscribes "
                       "to 1024 resources (CMCP__SUBS_MAX, the "
                       "per-session bound); unsubscribe from some first",
                       NULL);
      return;
    }
    if (json_object_object_add(peer->subs, uri, NULL) != 0)
      goto nomem;
  } else if (peer->subs != NULL) {
    json_object_object_del(peer->subs, uri);
  }
  cmcp__peer_update_want(peer);
  reply(peer, req, json_object_new_object(), 0);
  return;
nomem:
  cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory",
                   NULL);
}

/* ---- lists
 * -------------------------------------------------------------------- */

static cmcp__kind list_kind(cmcp__method m, const char **field) {
  switch (m) {
  case CMCP__M_TOOLS_LIST:
    *field = "tools";
    return CMCP__TOOL;
  case CMCP__M_RESOURCES_LIST:
    *field = "resources";
    return CMCP__RESOURCE;
  case CMCP__M_TEMPLATES_LIST:
    *field = "resourceTemplates";
    return CMCP__TEMPLATE;
  default:
    *field = "prompts";
    return CMCP__PROMPT;
  }
}

/* The page [offset, offset + page) of kind as a list result. */
static json_object *list_page(cmcp__peer_t *peer, cmcp__req *req,
                              const cmcp__registry *reg, cmcp__kind kind,
                              const char *field, size_t offset) {
  size_t n = reg->count[kind], i, end;
  size_t page = (size_t)cmcp__limit(peer->srv, CMCP_LIMIT_PAGE_SIZE);
  json_object *arr = json_object_new_array(), *result;
  if (offset > n)
    offset = n;
  end = n - offset > page ? offset + page : n;
  for (i = offset; arr != NULL && i < end; i++) {
    json_object *item =
        cmcp__def_for_version(reg->items[kind][i], req->version);
    if (item == NULL || json_object_array_add(arr, item) != 0) {
      json_object_put(item);
      json_object_put(arr);
      arr = NULL;
    }
  }
  result = json_object_new_object();
  if (set(result, field, arr) != 0)
    goto fail;
  if (end < n) {
    cmcp__buf cur;
    int rc;
    cmcp__buf_init(&cur, 1024);
    rc = cmcp__cursor_make(peer->srv, req->method_name, end, &cur);
    if (rc == 0)
      rc = set(result, "nextCursor", json_object_new_string(cur.data));
    cmcp__buf_free(&cur);
    if (rc != 0)
      goto fail;
  }
  return result;
fail:
  json_object_put(result);
  return NULL;
}

void cmcp__m_list(cmcp__peer_t *peer, cmcp__req *req) {
  const char *field;
  cmcp__kind kind = list_kind(req->method, &field);
  size_t offset = 0;
  cmcp__registry *reg;
  int ok;
  const char *cursor = param_string(peer, req, "cursor", 0, &ok);
  if (!ok)
    return;
  if (cursor != NULL &&
      cmcp__cursor_open(peer->srv, req->method_name, cursor, &offset) != 0) {
    invalid_params(peer, req, "Invalid params: invalid or expired cursor%s",
                   "");
    return;
  }
  reg = cmcp__registry_acquire(peer->srv);
  reply(peer, req, list_page(peer, req, reg, kind, field, offset), 1);
  cmcp__registry_unref(reg);
}

/* ---- calls ------------------------------------------------------------------
 */

/* Admits a request as a call, or answers why not (never queues). */
cmcp_call_t *cmcp__admit(cmcp__peer_t *peer, cmcp__req *req,
                         cmcp__registry *reg, const cmcp__feature *feat) {
  cmcp_server_t *srv = peer->srv;
  int64_t per_peer = cmcp__limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER);
  int64_t total = cmcp__limit(srv, CMCP_LIMIT_INFLIGHT_TOTAL);
  char text[200];
  cmcp_call_t *call;
  if ((int64_t)peer->inflight >= per_peer) {
    snprintf(text, sizeof(text),
             "Server overloaded: %lld requests already "
             "in flight on this connection (CMCP_LIMIT_INFLIGHT_PER_PEER, "
             "--max-inflight)",
             (long long)per_peer);
    cmcp__stats_refused(CMCP__REFUSE_MAX_INFLIGHT_PEER);
    goto refuse;
  }
  if (atomic_fetch_add(&srv->inflight_total, 1) >= total) {
    atomic_fetch_sub(&srv->inflight_total, 1);
    snprintf(text, sizeof(text),
             "Server overloaded: %lld requests already "
             "in flight in this process (CMCP_LIMIT_INFLIGHT_TOTAL, "
             "--max-inflight)",
             (long long)total);
    cmcp__stats_refused(CMCP__REFUSE_MAX_INFLIGHT);
    goto refuse;
  }
  call = cmcp__call_new(peer, req, reg, feat);
  if (call == NULL) {
    atomic_fetch_sub(&srv->inflight_total, 1);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
    return NULL;
  }
  if (cmcp__inflight_add(peer, call) != 0) {
    cmcp__call_free(call);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
    return NULL;
  }
  return call;
refuse:
  cmcp__send_error(peer, req->id, CMCP_MCP_SERVER_OVERLOADED, text, NULL);
  return NULL;
}

/* Finishes a call from the engine with a tool error (input validation). */
static void tool_error_now(cmcp_call_t *call, const char *text) {
  atomic_store(&call->claimed, 1);
  call->err_msg = cmcp__strdup(text);
  call->outcome = CMCP__OUT_TOOL_ERROR;
  cmcp__call_complete(call);
}

/* Validates tools/call arguments against the compiled inputSchema. "Input
 * validation errors ... should be reported as tool execution errors" (tools
 * page, 2025-11-25), so the model sees them and can correct itself. */
static int tool_args_valid(cmcp_call_t *call) {
  char err[400], text[512];
  json_object *empty = NULL;
  int rc;
  if (call->args == NULL && (empty = json_object_new_object()) == NULL) {
    cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory", NULL);
    return 0;
  }
  rc = cmcp__schema_validate(call->feat->input, NULL,
                             call->args != NULL ? call->args : empty, err,
                             sizeof(err));
  if (empty != NULL)
    json_object_put(empty);
  if (rc == 0)
    return 1;
  snprintf(text, sizeof(text), "Invalid arguments for tool %s: %s",
           call->feat->key, err);
  tool_error_now(call, text);
  return 0;
}

/* Checks that a prompt's required arguments are given as strings. */
static int prompt_args_ok(cmcp__peer_t *peer, cmcp__req *req,
                          const cmcp__feature *f, json_object *args) {
  json_object *list = NULL, *v;
  size_t i, n;
  if (!json_object_object_get_ex(f->def, "arguments", &list))
    return 1;
  n = json_object_array_length(list);
  for (i = 0; i < n; i++) {
    json_object *a = json_object_array_get_idx(list, i), *req_flag = NULL;
    const char *name = cmcp__json_get_string(a, "name");
    int required = json_object_object_get_ex(a, "required", &req_flag) &&
                   json_object_get_boolean(req_flag);
    if (args != NULL && json_object_object_get_ex(args, name, &v)) {
      if (!json_object_is_type(v, json_type_string)) {
        invalid_params(peer, req,
                       "Invalid params: argument \"%s\" must be a string",
                       name);
        return 0;
      }
    } else if (required) {
      invalid_params(peer, req, "Missing required argument: %s", name);
      return 0;
    }
  }
  return 1;
}

/* The resource for uri: direct first, then templates in order (variables
 * into *vars). NULL if none. */
static const cmcp__feature *resource_find(const cmcp__registry *reg,
                                          const char *uri,
                                          cmcp__uritpl_match *vars) {
  const cmcp__feature *f = cmcp__registry_find(reg, CMCP__RESOURCE, uri);
  size_t i;
  if (f != NULL)
    return f;
  for (i = 0; i < reg->count[CMCP__TEMPLATE]; i++)
    if (cmcp__uritpl_match_uri(reg->items[CMCP__TEMPLATE][i]->tpl, uri, vars) ==
        0)
      return reg->items[CMCP__TEMPLATE][i];
  return NULL;
}

/* Answers a read of an unknown URI: -32602 on 2026-07-28 ("Change resource
 * not found error code from -32002 to -32602"), -32002 before. */
static void resource_not_found(cmcp__peer_t *peer, cmcp__req *req,
                               const char *uri) {
  json_object *data = json_object_new_object();
  char text[512];
  snprintf(text, sizeof(text), "Resource not found: %s", uri);
  if (set(data, "uri", json_object_new_string(uri)) != 0) {
    json_object_put(data);
    data = NULL;
  }
  cmcp__send_error(peer, req->id,
                   req->modern ? CMCP_JSONRPC_INVALID_PARAMS : -32002, text,
                   data);
  if (data != NULL)
    json_object_put(data);
}

/* Finds the feature a call targets; answers and returns NULL if none. */
static const cmcp__feature *call_target(cmcp__peer_t *peer, cmcp__req *req,
                                        const cmcp__registry *reg,
                                        cmcp__uritpl_match *vars) {
  const char *field = req->method == CMCP__M_RESOURCES_READ ? "uri" : "name";
  const cmcp__feature *f = NULL;
  json_object *args;
  int ok;
  const char *key = param_string(peer, req, field, 1, &ok);
  if (!ok)
    return NULL;
  args = param_object(peer, req, "arguments", &ok);
  if (!ok)
    return NULL;
  if (req->method == CMCP__M_TOOLS_CALL) {
    if ((f = cmcp__registry_find(reg, CMCP__TOOL, key)) == NULL)
      invalid_params(peer, req, "Unknown tool: %s", key);
  } else if (req->method == CMCP__M_PROMPTS_GET) {
    if ((f = cmcp__registry_find(reg, CMCP__PROMPT, key)) == NULL)
      invalid_params(peer, req, "Unknown prompt: %s", key);
    else if (!prompt_args_ok(peer, req, f, args))
      f = NULL;
  } else if ((f = resource_find(reg, key, vars)) == NULL) {
    resource_not_found(peer, req, key);
  }
  return f;
}

void cmcp__m_feature_call(cmcp__peer_t *peer, cmcp__req *req) {
  cmcp__registry *reg = cmcp__registry_acquire(peer->srv);
  cmcp__uritpl_match vars;
  const cmcp__feature *f;
  cmcp_call_t *call = NULL;
  memset(&vars, 0, sizeof(vars));
  f = call_target(peer, req, reg, &vars);
  if (f != NULL)
    call = cmcp__admit(peer, req, reg, f);
  cmcp__registry_unref(reg);
  if (call == NULL) {
    cmcp__uritpl_match_free(&vars);
    return;
  }
  call->vars = vars;
  if (call->modern && cmcp__mrtr_restore(call) != 0)
    return;
  if (req->method == CMCP__M_TOOLS_CALL) {
    if (!tool_args_valid(call))
      return;
    if (peer->srv->tasks != NULL && peer->srv->tasks->call != NULL &&
        peer->srv->tasks->call(peer, req, call))
      return;
  }
  cmcp__call_invoke(call);
}

/* Checks completion/complete's ref and argument; returns the name or URI
 * the completion is about, or NULL after answering. */
static const char *complete_params(cmcp__peer_t *peer, cmcp__req *req) {
  int ok;
  json_object *ref = param_object(peer, req, "ref", &ok), *arg;
  const char *type, *key;
  if (!ok)
    return NULL;
  arg = param_object(peer, req, "argument", &ok);
  if (!ok)
    return NULL;
  if (ref == NULL || arg == NULL) {
    invalid_params(peer, req, "Missing required parameter: params.%s",
                   ref == NULL ? "ref" : "argument");
    return NULL;
  }
  if (cmcp__json_get_string(arg, "name") == NULL ||
      cmcp__json_get_string(arg, "value") == NULL) {
    invalid_params(peer, req,
                   "Invalid params: params.argument needs string "
                   "%s",
                   "name and value");
    return NULL;
  }
  type = cmcp__json_get_string(ref, "type");
  if (type != NULL && strcmp(type, "ref/prompt") == 0)
    key = cmcp__json_get_string(ref, "name");
  else if (type != NULL && strcmp(type, "ref/resource") == 0)
    key = cmcp__json_get_string(ref, "uri");
  else
    key = NULL;
  if (key == NULL)
    invalid_params(peer, req, "Invalid params: params.ref must be %s",
                   "{type: \"ref/prompt\", name} or {type: \"ref/resource\", "
                   "uri}");
  return key;
}

void cmcp__m_complete(cmcp__peer_t *peer, cmcp__req *req) {
  cmcp__registry *reg;
  cmcp_call_t *call;
  const char *key = complete_params(peer, req);
  if (key == NULL)
    return;
  if (peer->srv->completion_fn == NULL) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_METHOD_NOT_FOUND,
                     "Method not found: completion/complete (this server "
                     "offers no completions)",
                     NULL);
    return;
  }
  reg = cmcp__registry_acquire(peer->srv);
  call = cmcp__admit(peer, req, reg, NULL);
  cmcp__registry_unref(reg);
  if (call == NULL)
    return;
  call->name = key;
  cmcp__call_invoke(call);
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

enum { LEGACY = 1, MODERN = 2, ANYTIME = 4 };

typedef struct method_entry {
  unsigned flags;
  void (*fn)(cmcp__peer_t *peer, cmcp__req *req);
} method_entry;

static void m_ping(cmcp__peer_t *peer, cmcp__req *req) {
  reply(peer, req, json_object_new_object(), 0);
}

static void m_tasks(cmcp__peer_t *peer, cmcp__req *req) {
  if (peer->srv->tasks != NULL && peer->srv->tasks->request != NULL)
    peer->srv->tasks->request(peer, req);
  else
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_METHOD_NOT_FOUND,
                     "Method not found: the tasks extension is not enabled",
                     NULL);
}

static const method_entry methods[CMCP__M_COUNT] = {
    [CMCP__M_INITIALIZE] = {LEGACY | ANYTIME, cmcp__m_initialize},
    [CMCP__M_PING] = {LEGACY | ANYTIME, m_ping},
    [CMCP__M_DISCOVER] = {MODERN, cmcp__m_discover},
    [CMCP__M_TOOLS_LIST] = {LEGACY | MODERN, cmcp__m_list},
    [CMCP__M_TOOLS_CALL] = {LEGACY | MODERN, cmcp__m_feature_call},
    [CMCP__M_RESOURCES_LIST] = {LEGACY | MODERN, cmcp__m_list},
    [CMCP__M_TEMPLATES_LIST] = {LEGACY | MODERN, cmcp__m_list},
    [CMCP__M_RESOURCES_READ] = {LEGACY | MODERN, cmcp__m_feature_call},
    [CMCP__M_SUBSCRIBE] = {LEGACY, cmcp__m_subscribe},
    [CMCP__M_UNSUBSCRIBE] = {LEGACY, cmcp__m_subscribe},
    [CMCP__M_PROMPTS_LIST] = {LEGACY | MODERN, cmcp__m_list},
    [CMCP__M_PROMPTS_GET] = {LEGACY | MODERN, cmcp__m_feature_call},
    [CMCP__M_COMPLETE] = {LEGACY | MODERN, cmcp__m_complete},
    [CMCP__M_SET_LEVEL] = {LEGACY, cmcp__m_set_level},
    [CMCP__M_LISTEN] = {MODERN, cmcp__m_listen},
    [CMCP__M_TASKS] = {LEGACY | MODERN, m_tasks},
};

void cmcp__dispatch(cmcp__peer_t *peer, cmcp__req *req) {
  const method_entry *m = &methods[req->method];
  char text[256];
  if (m->fn == NULL) {
    snprintf(text, sizeof(text), "Method not found: %s", req->method_name);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_METHOD_NOT_FOUND, text, NULL);
  } else if (req->modern && !(m->flags & MODERN)) {
    snprintf(text, sizeof(text),
             "Method not found: %s is not part of "
             "protocol version 2026-07-28",
             req->method_name);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_METHOD_NOT_FOUND, text, NULL);
  } else if (!req->modern && !(m->flags & LEGACY)) {
    snprintf(text, sizeof(text),
             "Invalid params: %s is a 2026-07-28 method "
             "and needs params._meta with io.modelcontextprotocol/"
             "protocolVersion",
             req->method_name);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS, text, NULL);
  } else if (!req->modern && !peer->initialized && !(m->flags & ANYTIME)) {
    snprintf(text, sizeof(text),
             "Invalid request: %s before initialize; "
             "send initialize first (or 2026-07-28 requests with _meta)",
             req->method_name);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_REQUEST, text, NULL);
  } else {
    m->fn(peer, req);
  }
}

/* ---- completing a call ------------------------------------------------------
 */

/* CallToolResult of a finished tools/call, as an object (the hot path
 * sends the text of cmcp__tool_result_text without building one). */
static json_object *tool_result(cmcp_call_t *call, int *code,
                                const char **msg) {
  cmcp__buf b;
  json_object *r = NULL;
  cmcp__buf_init(&b, (size_t)cmcp__limit(call->srv, CMCP_LIMIT_OUTBOUND_BYTES));
  if (cmcp__tool_result_text(call, &b, 0, code, msg) == 0 &&
      (r = json_tokener_parse(b.data)) == NULL)
    *msg = "Out of memory";
  cmcp__buf_free(&b);
  return r;
}

/* Moves *field (or a new empty array) into r[key]. */
static int move_array(json_object *r, const char *key, json_object **field) {
  json_object *v = *field != NULL ? *field : json_object_new_array();
  *field = NULL;
  return set(r, key, v);
}

static json_object *completion_result(cmcp_call_t *call) {
  json_object *r = json_object_new_object(), *c = json_object_new_object();
  size_t n = call->values ? json_object_array_length(call->values) : 0;
  int64_t total =
      call->has_total ? call->total : (int64_t)(n + call->values_dropped);
  int more = call->has_more || call->values_dropped > 0;
  if (move_array(c, "values", &call->values) != 0 ||
      ((call->has_total || call->values_dropped > 0) &&
       set(c, "total", json_object_new_int64(total)) != 0) ||
      (more && set(c, "hasMore", json_object_new_boolean(1)) != 0) ||
      set(r, "completion", c) != 0) {
    if (json_object_object_length(r) == 0)
      json_object_put(c);
    json_object_put(r);
    return NULL;
  }
  return r;
}

/* Copies the handler's extra fields into r. */
static int merge_extra(cmcp_call_t *call, json_object *r) {
  if (call->extra == NULL)
    return 0;
  json_object_object_foreach(call->extra, k, v) {
    if (set(r, k, json_object_get(v)) != 0)
      return CMCP_ENOMEM;
  }
  return 0;
}

json_object *cmcp__call_result(cmcp_call_t *call, int *code, const char **msg) {
  json_object *r = NULL;
  int ok = 1;
  *code = CMCP_JSONRPC_INTERNAL_ERROR;
  *msg = "Out of memory";
  switch (call->method) {
  case CMCP__M_TOOLS_CALL:
    return tool_result(call, code, msg); /* extra fields included */
  case CMCP__M_RESOURCES_READ:
    r = json_object_new_object();
    ok = move_array(r, "contents", &call->contents) == 0;
    break;
  case CMCP__M_PROMPTS_GET:
    r = json_object_new_object();
    ok = move_array(r, "messages", &call->messages) == 0;
    break;
  default:
    r = completion_result(call);
    ok = r != NULL;
    break;
  }
  if (!ok || merge_extra(call, r) != 0) {
    json_object_put(r);
    return NULL;
  }
  return r;
}
