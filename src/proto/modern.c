/* src/proto/modern.c: what only the 2026-07-28 wire has.
 *
 * Per-request _meta (version, client capabilities, log level), the
 * server/discover and subscriptions/listen methods, result decoration
 * (resultType, ttlMs/cacheScope, serverInfo in _meta), multi round-trip
 * requests with a sealed requestState, and sealed list cursors (used by
 * both eras).
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_INFO "io.modelcontextprotocol/clientInfo"
#define META_LEVEL "io.modelcontextprotocol/logLevel"
#define META_SERVER "io.modelcontextprotocol/serverInfo"
#define META_SUB "io.modelcontextprotocol/subscriptionId"

/* Sets o[key] = v (consumed); CMCP_ENOMEM leaves o unchanged. */
static int set(json_object *o, const char *key, json_object *v) {
  if (o == NULL || v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

static void bad_meta(cmcp__peer_t *peer, cmcp__req *req, const char *text) {
  cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS, text, NULL);
}

/* Every version this server speaks, as a JSON array. */
static json_object *versions_array(void) {
  json_object *a = json_object_new_array();
  int v;
  for (v = 0; a != NULL && v < CMCP__VERSION_COUNT; v++) {
    json_object *s = json_object_new_string(cmcp__version_name(v));
    if (s == NULL || json_object_array_add(a, s) != 0) {
      json_object_put(s);
      json_object_put(a);
      return NULL;
    }
  }
  return a;
}

/* "If the server does not implement the requested version ... it MUST
 * respond with an UnsupportedProtocolVersionError listing the versions it
 * does support" (versioning) */
static void unsupported_version(cmcp__peer_t *peer, cmcp__req *req,
                                const char *requested) {
  json_object *data = json_object_new_object();
  if (set(data, "requested", json_object_new_string(requested)) != 0 ||
      set(data, "supported", versions_array()) != 0) {
    json_object_put(data);
    data = NULL;
  }
  cmcp__send_error(peer, req->id, CMCP_MCP_UNSUPPORTED_VERSION,
                   "Unsupported protocol version", data);
  if (data != NULL)
    json_object_put(data);
}

/* Checks the optional clientInfo and logLevel fields of _meta. */
static int meta_optional(cmcp__peer_t *peer, cmcp__req *req) {
  json_object *v = NULL;
  if (json_object_object_get_ex(req->meta, META_INFO, &v) &&
      (cmcp__json_get_string(v, "name") == NULL ||
       cmcp__json_get_string(v, "version") == NULL)) {
    bad_meta(peer, req,
             "Invalid params: _meta " META_INFO " must be an "
             "object with string name and version");
    return -1;
  }
  if (json_object_object_get_ex(req->meta, META_LEVEL, &v)) {
    if (!json_object_is_type(v, json_type_string) ||
        cmcp_log_level_parse(json_object_get_string(v), &req->log_level) != 0) {
      bad_meta(peer, req,
               "Invalid params: _meta " META_LEVEL " must be a "
               "log level (debug, info, ..., emergency)");
      return -1;
    }
  }
  return 0;
}

int cmcp__modern_check(cmcp__peer_t *peer, cmcp__req *req) {
  json_object *pv = NULL, *caps = NULL;
  json_object_object_get_ex(req->meta, META_VERSION, &pv);
  if (!json_object_is_type(pv, json_type_string)) {
    bad_meta(peer, req,
             "Invalid params: _meta " META_VERSION " must be a string");
    return -1;
  }
  if (cmcp__version_index(json_object_get_string(pv)) != CMCP__V2026_07_28) {
    unsupported_version(peer, req, json_object_get_string(pv));
    return -1;
  }
  if (!json_object_object_get_ex(req->meta, META_CAPS, &caps)) {
    bad_meta(peer, req,
             "Invalid params: missing required _meta field " META_CAPS);
    return -1;
  }
  if (!json_object_is_type(caps, json_type_object)) {
    bad_meta(peer, req,
             "Invalid params: _meta " META_CAPS " must be an "
             "object");
    return -1;
  }
  req->version = CMCP__V2026_07_28;
  req->caps = caps;
  return meta_optional(peer, req);
}

int cmcp__modern_decorate(cmcp_server_t *srv, json_object *result,
                          int cacheable, const char *result_type) {
  json_object *meta = NULL;
  if (set(result, "resultType", json_object_new_string(result_type)) != 0)
    return CMCP_ENOMEM;
  if (cacheable &&
      (set(result, "ttlMs", json_object_new_int64(srv->cache_ttl_ms)) != 0 ||
       set(result, "cacheScope", json_object_new_string(srv->cache_scope)) !=
           0))
    return CMCP_ENOMEM;
  if (!json_object_object_get_ex(result, "_meta", &meta) ||
      !json_object_is_type(meta, json_type_object)) {
    meta = json_object_new_object();
    if (set(result, "_meta", meta) != 0)
      return CMCP_ENOMEM;
  }
  return set(meta, META_SERVER, cmcp__server_info(srv, CMCP__V2026_07_28));
}

/* ---- server/discover -------------------------------------------------------
 */

void cmcp__m_discover(cmcp__peer_t *peer, cmcp__req *req) {
  cmcp__registry *reg = cmcp__registry_acquire(peer->srv);
  json_object *r = json_object_new_object();
  int rc = set(r, "supportedVersions", versions_array());
  if (rc == 0)
    rc = set(r, "capabilities",
             cmcp__capabilities(peer->srv, reg, CMCP__V2026_07_28));
  if (rc == 0 && peer->srv->instructions != NULL)
    rc =
        set(r, "instructions", json_object_new_string(peer->srv->instructions));
  if (rc == 0)
    rc = cmcp__modern_decorate(peer->srv, r, 1, "complete");
  cmcp__registry_unref(reg);
  if (rc == 0)
    cmcp__send_result(peer, req->id, r);
  else
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  json_object_put(r);
}

/* ---- subscriptions/listen -------------------------------------------------
 */

/* A copy of a request id for a notification's _meta. */
static json_object *id_copy(json_object *id) {
  if (json_object_is_type(id, json_type_int))
    return json_object_new_int64(json_object_get_int64(id));
  return json_object_new_string_len(json_object_get_string(id),
                                    json_object_get_string_len(id));
}

int cmcp__listen_notify(cmcp__peer_t *peer, cmcp_call_t *listen,
                        const char *method, json_object *params) {
  json_object *p =
      params != NULL ? json_object_get(params) : json_object_new_object();
  json_object *meta = json_object_new_object();
  int rc;
  if (set(meta, META_SUB, id_copy(listen->id)) != 0 ||
      set(p, "_meta", meta) != 0) {
    if (p != NULL && !json_object_object_get_ex(p, "_meta", NULL))
      json_object_put(meta);
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  rc = cmcp__send_notification(peer, method, p, listen->id);
  json_object_put(p);
  return rc;
}

/* The filter the server honours: "Only includes notification types the
 * server actually supports" (SubscriptionsAcknowledgedNotification). */
static int listen_filter(cmcp__peer_t *peer, cmcp__req *req, json_object *f,
                         unsigned *want, json_object **uris) {
  static const char *const keys[3] = {
      "toolsListChanged", "resourcesListChanged", "promptsListChanged"};
  cmcp__registry *reg = cmcp__registry_acquire(peer->srv);
  size_t have[3], i;
  json_object *v;
  have[0] = reg->count[CMCP__TOOL];
  have[1] = reg->count[CMCP__RESOURCE] + reg->count[CMCP__TEMPLATE];
  have[2] = reg->count[CMCP__PROMPT];
  cmcp__registry_unref(reg);
  *want = 0;
  *uris = NULL;
  for (i = 0; i < 3; i++)
    if (json_object_object_get_ex(f, keys[i], &v) &&
        json_object_get_boolean(v) && have[i] > 0)
      *want |= 1u << i;
  if (json_object_object_get_ex(f, "resourceSubscriptions", &v)) {
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : 0;
    for (i = 0; i < n; i++)
      if (!json_object_is_type(json_object_array_get_idx(v, i),
                               json_type_string))
        break;
    if (!json_object_is_type(v, json_type_array) || i < n) {
      bad_meta(peer, req,
               "Invalid params: params.notifications."
               "resourceSubscriptions must be an array of strings");
      return -1;
    }
    if (n > 0 && have[1] > 0) {
      *uris = json_object_get(v);
      *want |= CMCP__WANT_UPDATES;
    }
  }
  return 0;
}

/* The acknowledged filter as a SubscriptionFilter object. */
static json_object *filter_json(unsigned want, json_object *uris) {
  static const char *const keys[3] = {
      "toolsListChanged", "resourcesListChanged", "promptsListChanged"};
  json_object *f = json_object_new_object();
  unsigned i;
  for (i = 0; f != NULL && i < 3; i++)
    if ((want & (1u << i)) && set(f, keys[i], json_object_new_boolean(1)) != 0)
      goto fail;
  if (f != NULL && uris != NULL &&
      set(f, "resourceSubscriptions", json_object_get(uris)) != 0)
    goto fail;
  return f;
fail:
  json_object_put(f);
  return NULL;
}

void cmcp__m_listen(cmcp__peer_t *peer, cmcp__req *req) {
  json_object *f = NULL, *uris, *ack;
  cmcp_call_t *call;
  unsigned want;
  if (req->msg->params == NULL ||
      !json_object_object_get_ex(req->msg->params, "notifications", &f) ||
      !json_object_is_type(f, json_type_object)) {
    bad_meta(peer, req,
             "Invalid params: params.notifications must be a "
             "SubscriptionFilter object");
    return;
  }
  if (listen_filter(peer, req, f, &want, &uris) != 0)
    return;
  call = cmcp__admit(peer, req, NULL, NULL);
  if (call == NULL) {
    if (uris != NULL)
      json_object_put(uris);
    return;
  }
  call->listen_want = want;
  call->listen_uris = uris;
  call->listen_next = peer->listens;
  peer->listens = call;
  cmcp__peer_update_want(peer);
  ack = json_object_new_object();
  if (set(ack, "notifications", filter_json(want, uris)) != 0 ||
      cmcp__listen_notify(peer, call,
                          "notifications/subscriptions/acknowledged",
                          ack) == CMCP_ENOMEM)
    cmcp__log(CMCP_LOG_WARNING, "subscriptions/listen: acknowledgement lost "
                                "(out of memory)");
  if (ack != NULL)
    json_object_put(ack);
}

void cmcp__listen_end(cmcp__peer_t *peer, cmcp_call_t *call, int respond) {
  cmcp_call_t **pp;
  for (pp = &peer->listens; *pp != NULL; pp = &(*pp)->listen_next) {
    if (*pp == call) {
      *pp = call->listen_next;
      break;
    }
  }
  cmcp__peer_update_want(peer);
  call->completing = 1; /* a refused send may close the peer meanwhile */
  if (respond && !atomic_load(&peer->closed)) {
    json_object *r = json_object_new_object(), *meta = json_object_new_object();
    if (set(meta, META_SUB, id_copy(call->id)) == 0 &&
        set(r, "_meta", meta) == 0 &&
        cmcp__modern_decorate(peer->srv, r, 0, "complete") == 0) {
      cmcp__stats_meter *outer = cmcp__stats_meter_push(&call->meter);
      cmcp__send_result(peer, call->id, r);
      cmcp__stats_meter_pop(outer);
    } else if (r != NULL && !json_object_object_get_ex(r, "_meta", NULL))
      json_object_put(meta);
    if (r != NULL)
      json_object_put(r);
  }
  cmcp__inflight_remove(peer, call);
  cmcp__call_free(call);
}

/* ---- cursors ---------------------------------------------------------------
 */

int cmcp__cursor_make(cmcp_server_t *srv, const char *method, size_t offset,
                      cmcp__buf *out) {
  char payload[32];
  int n = snprintf(payload, sizeof(payload), "o=%zu", offset);
  return cmcp__seal(srv->sealer, payload, (size_t)n, method,
                    cmcp__limit(srv, CMCP_LIMIT_STATE_TTL_MS), out);
}

int cmcp__cursor_open(cmcp_server_t *srv, const char *method, const char *token,
                      size_t *offset) {
  cmcp__buf b;
  char *end;
  unsigned long long v;
  int rc;
  cmcp__buf_init(&b, 64);
  rc = cmcp__unseal(srv->sealer, token, method, &b);
  if (rc == 0 && (b.len < 3 || memcmp(b.data, "o=", 2) != 0))
    rc = CMCP_EPARSE;
  if (rc == 0) {
    errno = 0;
    v = strtoull(b.data + 2, &end, 10);
    if (errno != 0 || *end != '\0' || end == b.data + 2)
      rc = CMCP_EPARSE;
    else
      *offset = (size_t)v;
  }
  cmcp__buf_free(&b);
  return rc;
}

/* ---- multi round-trip requests --------------------------------------------
 */

/* Writes v as canonical JSON (object keys sorted) into b. */
static int canon(json_object *v, cmcp__buf *b, int depth);

static int key_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int canon_object(json_object *v, cmcp__buf *b, int depth) {
  size_t n = (size_t)json_object_object_length(v), i = 0;
  const char **keys = cmcp__malloc((n ? n : 1) * sizeof(*keys));
  int rc = 0;
  if (keys == NULL)
    return CMCP_ENOMEM;
  {
    json_object_object_foreach(v, k, val) {
      (void)val;
      keys[i++] = k;
    }
  }
  qsort(keys, n, sizeof(*keys), key_cmp);
  rc = cmcp__buf_adds(b, "{");
  for (i = 0; rc == 0 && i < n; i++) {
    json_object *key = json_object_new_string(keys[i]);
    rc = key == NULL ? CMCP_ENOMEM : 0;
    if (rc == 0 && i > 0)
      rc = cmcp__buf_adds(b, ",");
    if (rc == 0)
      rc = canon(key, b, depth);
    if (rc == 0)
      rc = cmcp__buf_adds(b, ":");
    if (rc == 0)
      rc = canon(json_object_object_get(v, keys[i]), b, depth);
    json_object_put(key);
  }
  if (rc == 0)
    rc = cmcp__buf_adds(b, "}");
  cmcp__free(keys);
  return rc;
}

static int canon(json_object *v, cmcp__buf *b, int depth) {
  size_t i, n;
  int rc;
  if (depth > 256)
    return CMCP_ELIMIT;
  if (json_object_is_type(v, json_type_object))
    return canon_object(v, b, depth + 1);
  if (!json_object_is_type(v, json_type_array))
    return cmcp__buf_adds(
        b, json_object_to_json_string_ext(
               v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  n = json_object_array_length(v);
  rc = cmcp__buf_adds(b, "[");
  for (i = 0; rc == 0 && i < n; i++) {
    if (i > 0)
      rc = cmcp__buf_adds(b, ",");
    if (rc == 0)
      rc = canon(json_object_array_get_idx(v, i), b, depth + 1);
  }
  return rc == 0 ? cmcp__buf_adds(b, "]") : rc;
}

/* The binding of a call's requestState: method, name and a digest of the
 * arguments, so the state cannot be replayed on another request ("an
 * identifier for the originating request, e.g. the method name and a
 * digest of its salient parameters", MRTR). */
static int state_binding(const cmcp_call_t *call, char *out, size_t outlen) {
  cmcp__buf b;
  unsigned char digest[32];
  char hex[65];
  int rc, i;
  cmcp__buf_init(&b, (size_t)cmcp__limit(call->srv, CMCP_LIMIT_MESSAGE_BYTES));
  rc = call->args != NULL ? canon(call->args, &b, 0) : cmcp__buf_adds(&b, "{}");
  if (rc == 0)
    rc = cmcp__sha256(b.data, b.len, digest);
  cmcp__buf_free(&b);
  if (rc != 0)
    return rc;
  for (i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  snprintf(out, outlen, "%s\n%s\n%s", cmcp_call_method(call), hex,
           call->name != NULL ? call->name : "");
  return 0;
}

/* Loads the sealed payload {"s": state, "i": {answers}} into call. */
static int state_load(cmcp_call_t *call, const char *token, const char **why) {
  char binding[1200];
  cmcp__buf b;
  json_object *payload = NULL, *answers;
  const char *s;
  int rc;
  *why = "Invalid params: requestState is malformed, tampered with, or "
         "belongs to another request";
  if (state_binding(call, binding, sizeof(binding)) != 0)
    return CMCP_ENOMEM;
  cmcp__buf_init(&b, CMCP__SEAL_MAX_TOKEN);
  rc = cmcp__unseal(call->srv->sealer, token, binding, &b);
  if (rc == CMCP_EEXPIRED)
    *why = "Invalid params: requestState has expired; send the original "
           "request again";
  if (rc == 0 && cmcp__json_parse_object(b.data, &payload) != 0)
    rc = CMCP_EPARSE;
  cmcp__buf_free(&b);
  if (rc != 0)
    return rc;
  if ((s = cmcp__json_get_string(payload, "s")) != NULL &&
      (call->state_in = cmcp__strdup(s)) == NULL)
    rc = CMCP_ENOMEM;
  answers = cmcp__json_get_object(payload, "i");
  if (rc == 0 && answers != NULL) {
    json_object_object_foreach(answers, k, v) {
      if (json_object_object_add(call->inputs, k, json_object_get(v)) != 0)
        rc = CMCP_ENOMEM;
    }
  }
  json_object_put(payload);
  return rc;
}

/* Copies inputResponses into call->inputs; NULL or a reason. */
static const char *responses_load(cmcp_call_t *call, json_object *resp) {
  json_object_object_foreach(resp, k, v) {
    if (!json_object_is_type(v, json_type_object))
      return "Invalid params: every params.inputResponses value must be an "
             "object";
    if (json_object_object_add(call->inputs, k, json_object_get(v)) != 0)
      return "Out of memory";
  }
  return NULL;
}

int cmcp__mrtr_restore(cmcp_call_t *call) {
  json_object *state = NULL, *resp = NULL;
  const char *why = NULL;
  int has_state =
      json_object_object_get_ex(call->params, "requestState", &state);
  int has_resp =
      json_object_object_get_ex(call->params, "inputResponses", &resp);
  if (!has_state && !has_resp)
    return 0;
  if (has_state && !json_object_is_type(state, json_type_string))
    why = "Invalid params: params.requestState must be a string";
  else if (has_resp && !json_object_is_type(resp, json_type_object))
    why = "Invalid params: params.inputResponses must be an object";
  else if ((call->inputs = json_object_new_object()) == NULL)
    why = "Out of memory";
  else if (has_state &&
           state_load(call, json_object_get_string(state), &why) != 0)
    ; /* why is set */
  else if (has_resp)
    why = responses_load(call, resp);
  if (why == NULL)
    return 0;
  cmcp__call_fail(call, CMCP_JSONRPC_INVALID_PARAMS, why, NULL);
  return -1;
}

/* Sets caps.<name> = {} (or caps.<name>.<sub> = {}). */
static json_object *cap_need(const char *name, const char *sub) {
  json_object *caps = json_object_new_object(),
              *inner = json_object_new_object();
  if (sub != NULL && set(inner, sub, json_object_new_object()) != 0)
    goto fail;
  if (set(caps, name, inner) != 0) {
    inner = NULL;
    goto fail;
  }
  return caps;
fail:
  json_object_put(inner);
  json_object_put(caps);
  return NULL;
}

json_object *cmcp__ask_missing_cap(const cmcp_call_t *call, json_object *ask) {
  const char *method = cmcp__json_get_string(ask, "method");
  json_object *el = NULL;
  const char *mode;
  if (strcmp(method, "sampling/createMessage") == 0)
    return cmcp_call_client_has(call, "sampling") ? NULL
                                                  : cap_need("sampling", NULL);
  if (strcmp(method, "roots/list") == 0)
    return cmcp_call_client_has(call, "roots") ? NULL : cap_need("roots", NULL);
  mode = cmcp__json_get_string(cmcp__json_get_object(ask, "params"), "mode");
  if (call->caps == NULL ||
      !json_object_object_get_ex(call->caps, "elicitation", &el))
    return cap_need("elicitation",
                    mode != NULL && strcmp(mode, "url") == 0 ? "url" : NULL);
  if (mode != NULL && strcmp(mode, "url") == 0)
    return json_object_object_get_ex(el, "url", NULL)
               ? NULL
               : cap_need("elicitation", "url");
  /* An empty elicitation object means form support (2025-11-25 compat). */
  return json_object_object_get_ex(el, "form", NULL) ||
                 !json_object_object_get_ex(el, "url", NULL)
             ? NULL
             : cap_need("elicitation", "form");
}

/* Seals {"s": state, "i": answers so far} bound to the call. */
static char *state_seal(cmcp_call_t *call) {
  char binding[1200];
  json_object *p = json_object_new_object();
  const char *text;
  cmcp__buf out;
  char *token = NULL;
  size_t len;
  if (p == NULL || state_binding(call, binding, sizeof(binding)) != 0 ||
      (call->state_out != NULL &&
       set(p, "s", json_object_new_string(call->state_out)) != 0) ||
      (call->inputs != NULL && set(p, "i", json_object_get(call->inputs)) != 0))
    goto out;
  text = cmcp__json_text(p, &len);
  cmcp__buf_init(&out, CMCP__SEAL_MAX_TOKEN);
  if (text != NULL &&
      cmcp__seal(call->srv->sealer, text, len, binding,
                 cmcp__limit(call->srv, CMCP_LIMIT_STATE_TTL_MS), &out) == 0)
    token = cmcp__buf_take(&out, &len);
  cmcp__buf_free(&out);
out:
  if (p != NULL)
    json_object_put(p);
  return token;
}

json_object *cmcp__mrtr_result(cmcp_call_t *call, int *code, const char **msg,
                               json_object **data) {
  json_object *r, *missing;
  char *token;
  *code = CMCP_JSONRPC_INTERNAL_ERROR;
  *msg = "Out of memory";
  *data = NULL;
  if (call->asks != NULL) {
    json_object_object_foreach(call->asks, key, ask) {
      (void)key;
      if ((missing = cmcp__ask_missing_cap(call, ask)) != NULL) {
        *code = CMCP_MCP_MISSING_CAPABILITY;
        *msg = "Missing required client capability";
        *data = json_object_new_object();
        if (set(*data, "requiredCapabilities", missing) != 0) {
          json_object_put(*data);
          *data = NULL;
        }
        return NULL;
      }
      /* 2026-07-28 dropped elicitationId from URL elicitation. */
      json_object_object_del(cmcp__json_get_object(ask, "params"),
                             "elicitationId");
    }
  }
  if ((token = state_seal(call)) == NULL) {
    *msg = "Internal error: the request state could not be sealed";
    return NULL;
  }
  r = json_object_new_object();
  if (set(r, "requestState", json_object_new_string(token)) != 0 ||
      (call->asks != NULL && json_object_object_length(call->asks) > 0 &&
       set(r, "inputRequests", json_object_get(call->asks)) != 0)) {
    json_object_put(r);
    r = NULL;
  }
  cmcp__free(token);
  return r;
}
