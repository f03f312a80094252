/* src/client/client_req.c: requests and their answers — the correlation
 * table, per-request timeouts and cancellation, the request metadata of
 * each era, the ttlMs cache and the answers from the transport. */
#include "client/client_eng.h"

#include <stdio.h>
#include <string.h>

/* ---- request objects --------------------------------------------------- */

cmcp__creq *cmcp__creq_new(cmcp_client_t *cli, const char *method,
                           json_object *params, uint64_t timeout_ms,
                           unsigned flags, cmcp_result_fn cb, void *data) {
  cmcp__creq *r = cmcp__calloc(1, sizeof(*r));
  if (!r || !(r->method = cmcp__strdup(method))) {
    cmcp__free(r);
    json_object_put(params);
    return NULL;
  }
  r->cli = cli;
  r->params = params;
  r->flags = flags;
  r->timeout_ms = timeout_ms;
  r->cb = cb;
  r->data = data;
  r->handle = ++cli->next_handle;
  if (flags & CMCP__REQ_STREAM) {
    r->stream = 1;
    r->timeout_ms = 0;
  }
  uv_timer_init(cli->loop, &r->timer);
  r->timer.data = r;
  cli->open_handles++;
  r->next = cli->reqs;
  if (cli->reqs)
    cli->reqs->prev = r;
  cli->reqs = r;
  cli->nreqs++;
  return r;
}

static void unlink_req(cmcp__creq *r) {
  cmcp_client_t *cli = r->cli;
  if (r->prev)
    r->prev->next = r->next;
  else if (cli->reqs == r)
    cli->reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->next = r->prev = NULL;
  cli->nreqs--;
}

static void timer_closed(uv_handle_t *h) {
  cmcp__creq *r = h->data;
  cmcp_client_t *cli = r->cli;
  cmcp__free(r->method);
  json_object_put(r->params);
  json_object_put(r->deferred_result);
  json_object_put(r->mrtr_responses);
  json_object_put(r->retry_fields);
  cmcp__free(r->mrtr_state);
  cmcp__free(r);
  cli->open_handles--;
  cmcp__client_maybe_release(cli);
}

/* Unlinks r and closes its timer (the memory follows). */
static void retire(cmcp__creq *r) {
  r->finished = 1;
  unlink_req(r);
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, timer_closed);
}

void cmcp__creq_discard(cmcp__creq *r) {
  if (!r->finished)
    retire(r);
}

void cmcp__creq_finish(cmcp__creq *r, int status, json_object *result) {
  cmcp_client_t *cli = r->cli;
  if (r->finished)
    return;
  retire(r);
  cmcp__client_detach_asks(cli, r);
  if (r->role != CMCP__ROLE_USER && status != 0 &&
      cli->state == CMCP__CLI_CONNECTING)
    cli->state = CMCP__CLI_DEAD;
  if (r->done && r->role == CMCP__ROLE_USER)
    r->done(cli, r, status, result);
  else if (r->cb)
    r->cb(cli, status, status == 0 || status == CMCP_ERPC ? result : NULL,
          r->data);
}

cmcp__creq *cmcp__creq_find(cmcp_client_t *cli, int64_t id) {
  for (cmcp__creq *r = cli->reqs; r; r = r->next)
    if (r->wire_id == id && id != 0)
      return r;
  return NULL;
}

void cmcp__client_fail_all(cmcp_client_t *cli, int status) {
  /* Each completion may start other requests (which fail at once: the
   * state no longer allows sending); take the first until none is left. */
  while (cli->reqs)
    cmcp__creq_finish(cli->reqs, status, NULL);
}

/* ---- sending ----------------------------------------------------------- */

/* Sends one serialized message (a request, a notification or a response). */
int cmcp__client_send_text(cmcp_client_t *cli, const char *text, size_t len,
                           const cmcp__csend *info) {
  if (!cli->t || cli->state == CMCP__CLI_DEAD ||
      cli->state == CMCP__CLI_CLOSING)
    return CMCP_ECLOSED;
  return cli->t->vt->send(cli->t, text, len, info);
}

int cmcp__client_notify(cmcp_client_t *cli, const char *method,
                        json_object *params) {
  cmcp__csend info = {0};
  size_t len;
  char *text = cmcp__rpc_encode_notification(method, params, &len);
  int st;
  json_object_put(params);
  if (!text)
    return CMCP_ENOMEM;
  info.method = method;
  info.protocol = cli->protocol;
  st = cmcp__client_send_text(cli, text, len, &info);
  cmcp__free(text);
  return st;
}

/* Adds key: value (consumed) to o. 0 or CMCP_ENOMEM. */
static int put(json_object *o, const char *key, json_object *value) {
  if (!value || json_object_object_add(o, key, value) != 0) {
    json_object_put(value);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* The _meta of one attempt: the caller's own _meta keys plus the era's
 * fields. New reference or NULL on ENOMEM. */
static json_object *make_meta(cmcp_client_t *cli, cmcp__creq *r,
                              json_object *user_meta) {
  json_object *m = json_object_new_object();
  if (!m)
    return NULL;
  if (json_object_is_type(user_meta, json_type_object)) {
    json_object_object_foreach(user_meta, k, v) {
      if (put(m, k, json_object_get(v)) != 0)
        goto fail;
    }
  }
  /* Every 2026-07-28 request "MUST include" protocolVersion and
   * clientCapabilities; clientInfo "SHOULD" be included on every request. */
  if (cli->modern && (put(m, "io.modelcontextprotocol/protocolVersion",
                          json_object_new_string(cli->protocol)) != 0 ||
                      put(m, "io.modelcontextprotocol/clientInfo",
                          json_object_get(cli->client_info)) != 0 ||
                      put(m, "io.modelcontextprotocol/clientCapabilities",
                          cmcp__client_caps(cli, 1)) != 0))
    goto fail;
  if ((r->flags & CMCP_REQ_PROGRESS) &&
      put(m, "progressToken", json_object_new_int64((int64_t)r->handle)) != 0)
    goto fail;
  return m;
fail:
  json_object_put(m);
  return NULL;
}

/* The params of one attempt: the caller's params, MRTR retry fields and
 * _meta. NULL with *status set when there are none or on ENOMEM. */
static json_object *attempt_params(cmcp_client_t *cli, cmcp__creq *r,
                                   int *status) {
  json_object *p, *user_meta = NULL, *meta;
  *status = 0;
  if (!cli->modern && !(r->flags & CMCP_REQ_PROGRESS) && !r->retry_fields)
    return r->params ? json_object_get(r->params) : NULL;
  if (!(p = json_object_new_object()))
    goto nomem;
  if (r->params) {
    json_object_object_foreach(r->params, k, v) {
      if (strcmp(k, "_meta") == 0)
        user_meta = v;
      else if (put(p, k, json_object_get(v)) != 0)
        goto nomem;
    }
  }
  if (r->retry_fields) {
    json_object_object_foreach(r->retry_fields, k, v) {
      if (put(p, k, json_object_get(v)) != 0)
        goto nomem;
    }
  }
  meta = make_meta(cli, r, user_meta);
  if (put(p, "_meta", meta) != 0)
    goto nomem;
  return p;
nomem:
  json_object_put(p);
  *status = CMCP_ENOMEM;
  return NULL;
}

/* The Mcp-Name value of a request: the tool or prompt name, or the uri. */
static const char *name_of(const cmcp__creq *r) {
  if (strcmp(r->method, "tools/call") == 0 ||
      strcmp(r->method, "prompts/get") == 0)
    return cmcp__json_get_string(r->params, "name");
  if (strcmp(r->method, "resources/read") == 0)
    return cmcp__json_get_string(r->params, "uri");
  return NULL;
}

/* Arms r's timeout for the attempt just sent. */
static void arm_timeout(cmcp__creq *r);

int cmcp__creq_send(cmcp_client_t *cli, cmcp__creq *r) {
  cmcp__csend info = {0};
  json_object *params, *id;
  char **headers = NULL, *text = NULL;
  size_t len;
  int st;
  if (!(params = attempt_params(cli, r, &st)) && st != 0)
    return st;
  r->wire_id = ++cli->next_id;
  if (!(id = json_object_new_int64(r->wire_id))) {
    json_object_put(params);
    return CMCP_ENOMEM;
  }
  text = cmcp__rpc_encode_request(id, r->method, params, &len);
  json_object_put(id);
  if (!text) {
    st = CMCP_ENOMEM;
    goto out;
  }
  info.method = r->method;
  info.id = r->wire_id;
  info.has_id = 1;
  info.stream = r->stream;
  /* MCP-Protocol-Version goes with every request, server/discover too;
   * initialize comes before any version is agreed. */
  info.protocol = r->role == CMCP__ROLE_INIT ? NULL : cli->protocol;
  if (cli->modern) {
    info.name = name_of(r);
    if (strcmp(r->method, "tools/call") == 0 && info.name) {
      headers = cmcp__client_tool_headers(
          cli, info.name, json_object_object_get(r->params, "arguments"), &st);
      if (st != 0)
        goto out;
      info.headers = (const char *const *)headers;
    }
  }
  if ((st = cmcp__client_send_text(cli, text, len, &info)) != 0) {
    cmcp__client_errorf(cli, "cannot send %s: %s", r->method,
                        cmcp_strerror(st));
    goto out;
  }
  arm_timeout(r);
out:
  if (st != 0)
    r->wire_id = 0;
  cmcp__strv_free(headers);
  cmcp__free(text);
  json_object_put(params);
  return st;
}

/* ---- timeouts and cancellation ----------------------------------------- */

/* Tells the server r's attempt is no longer wanted. "To cancel an
 * in-flight request, the client MUST send a notifications/cancelled" on
 * stdio and on a legacy session; on the 2026-07-28 HTTP wire "closing the
 * SSE response stream is itself the cancellation signal". "The initialize
 * request MUST NOT be cancelled by clients." */
static void cancel_on_wire(cmcp_client_t *cli, cmcp__creq *r,
                           const char *reason) {
  json_object *p;
  int64_t id = r->wire_id;
  if (id == 0 || !cli->t || r->local)
    return;
  r->wire_id = 0;
  cli->t->vt->abandon(cli->t, id);
  if (r->role != CMCP__ROLE_USER || (cli->modern && cli->url))
    return;
  if (cli->state != CMCP__CLI_READY)
    return;
  p = json_object_new_object();
  if (!p || put(p, "requestId", json_object_new_int64(id)) != 0 ||
      (reason && put(p, "reason", json_object_new_string(reason)) != 0)) {
    json_object_put(p);
    return;
  }
  if (cmcp__client_notify(cli, "notifications/cancelled", p) != 0)
    cmcp__log(CMCP_LOG_DEBUG, "client: cannot send notifications/cancelled");
}

static void timer_fired(uv_timer_t *t) {
  cmcp__creq *r = t->data;
  cmcp_client_t *cli = r->cli;
  if (r->deferred) {
    json_object *res = r->deferred_result;
    r->deferred_result = NULL;
    r->deferred = 0;
    cmcp__creq_finish(r, r->deferred_status, res);
    json_object_put(res);
    return;
  }
  cmcp__client_errorf(cli, "%s: no answer within %llu ms", r->method,
                      (unsigned long long)r->timeout_ms);
  cancel_on_wire(cli, r, "timeout");
  if (r->role != CMCP__ROLE_USER)
    cmcp__client_connect_step(cli, r, CMCP_ETIMEDOUT, NULL, NULL);
  else
    cmcp__creq_finish(r, CMCP_ETIMEDOUT, NULL);
}

static void arm_timeout(cmcp__creq *r) {
  uv_timer_stop(&r->timer);
  if (r->timeout_ms > 0 && !r->stream)
    uv_timer_start(&r->timer, timer_fired, r->timeout_ms, 0);
}

void cmcp__creq_finish_later(cmcp__creq *r, int status, json_object *result) {
  if (r->finished)
    return;
  json_object_put(r->deferred_result);
  r->deferred = 1;
  r->deferred_status = status;
  r->deferred_result = result ? json_object_get(result) : NULL;
  uv_timer_stop(&r->timer);
  uv_timer_start(&r->timer, timer_fired, 0, 0);
}

/* The user request with handle h, or NULL. */
static cmcp__creq *find_handle(cmcp_client_t *cli, uint64_t h) {
  for (cmcp__creq *r = cli->reqs; r; r = r->next)
    if (r->handle == h && r->role == CMCP__ROLE_USER && !r->deferred)
      return r;
  return NULL;
}

int cmcp_client_cancel(cmcp_client_t *cli, uint64_t req, const char *reason) {
  cmcp__creq *r;
  if (!cli)
    return CMCP_EINVAL;
  if (!(r = find_handle(cli, req)))
    return CMCP_ENOENT;
  cancel_on_wire(cli, r, reason);
  cmcp__client_detach_asks(cli, r);
  cmcp__creq_finish_later(r, CMCP_ECANCELED, NULL);
  return 0;
}

/* ---- the cache (2026-07-28 ttlMs) -------------------------------------- */

static int cacheable(const char *method) {
  static const char *const m[] = {"tools/list", "resources/list",
                                  "resources/templates/list", "prompts/list",
                                  "resources/read"};
  for (size_t i = 0; i < CMCP__ARRAY_SIZE(m); i++)
    if (strcmp(m[i], method) == 0)
      return 1;
  return 0;
}

/* The cache key of a request, or NULL on ENOMEM. */
static char *cache_key(const char *method, json_object *params) {
  cmcp__buf b;
  const char *text = params ? cmcp__json_text(params, NULL) : "";
  cmcp__buf_init(&b, (size_t)64 << 20);
  if (!text || cmcp__buf_printf(&b, "%s\n%s", method, text) != 0) {
    cmcp__buf_free(&b);
    return NULL;
  }
  return cmcp__buf_take(&b, NULL);
}

static void centry_free(cmcp__centry *e) {
  cmcp__free(e->key);
  json_object_put(e->result);
  cmcp__free(e);
}

void cmcp__cache_drop(cmcp_client_t *cli, const char *method) {
  cmcp__centry **pp = &cli->cache;
  size_t n = method ? strlen(method) : 0;
  while (*pp) {
    cmcp__centry *e = *pp;
    if (!method || (strncmp(e->key, method, n) == 0 && e->key[n] == '\n')) {
      *pp = e->next;
      centry_free(e);
      cli->ncache--;
    } else {
      pp = &e->next;
    }
  }
}

void cmcp__cache_free(cmcp_client_t *cli) {
  cmcp__cache_drop(cli, NULL);
}

/* A fresh cached result for key, or NULL (expired entries are dropped). */
static json_object *cache_get(cmcp_client_t *cli, const char *key) {
  uint64_t now = cmcp__now_ms();
  for (cmcp__centry **pp = &cli->cache; *pp; pp = &(*pp)->next) {
    cmcp__centry *e = *pp;
    if (strcmp(e->key, key) != 0)
      continue;
    if (e->expires_ms > now)
      return e->result;
    *pp = e->next;
    centry_free(e);
    cli->ncache--;
    return NULL;
  }
  return NULL;
}

/* Keeps result for r when the server said it may be cached (ttlMs > 0). */
static void cache_put(cmcp_client_t *cli, cmcp__creq *r, json_object *result) {
  json_object *ttl = json_object_object_get(result, "ttlMs");
  int64_t ms =
      json_object_is_type(ttl, json_type_int) ? json_object_get_int64(ttl) : 0;
  cmcp__centry *e, **pp;
  char *key;
  if (!cli->cache_enabled || ms <= 0 || !cacheable(r->method))
    return;
  if (!(key = cache_key(r->method, r->params)))
    return;
  for (pp = &cli->cache; *pp; pp = &(*pp)->next)
    if (strcmp((*pp)->key, key) == 0) {
      e = *pp;
      *pp = e->next;
      centry_free(e);
      cli->ncache--;
      break;
    }
  if (!(e = cmcp__calloc(1, sizeof(*e)))) {
    cmcp__free(key);
    return;
  }
  e->key = key;
  e->result = json_object_get(result);
  e->expires_ms = cmcp__now_ms() + (uint64_t)ms;
  e->next = cli->cache;
  cli->cache = e;
  /* Bounded: the oldest entry (the list's tail) goes first. */
  if (++cli->ncache > CMCP__CLIENT_CACHE_MAX) {
    for (pp = &cli->cache; (*pp)->next; pp = &(*pp)->next)
      ;
    centry_free(*pp);
    *pp = NULL;
    cli->ncache--;
  }
}

/* ---- answers ----------------------------------------------------------- */

/* The request's id as an integer, or 0 when it is not one of ours. */
static int64_t our_id(json_object *id) {
  if (!id || !json_object_is_type(id, json_type_int))
    return 0;
  return json_object_get_int64(id);
}

/* -32022 on a 2026-07-28 request: "The client SHOULD select a mutually
 * supported version from the supported list and retry the request". Once
 * per request. 1 if r was retried. */
static int retry_version(cmcp_client_t *cli, cmcp__creq *r,
                         json_object *error) {
  json_object *list = json_object_object_get(
      json_object_object_get(error, "data"), "supported");
  size_t n = json_object_is_type(list, json_type_array)
                 ? json_object_array_length(list)
                 : 0;
  int st;
  if (!cli->modern || r->version_retries > 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = json_object_get_string(json_object_array_get_idx(list, i));
    if (v && strcmp(v, CMCP_PROTOCOL_MODERN) == 0) {
      r->version_retries++;
      if ((st = cmcp__creq_send(cli, r)) != 0)
        cmcp__creq_finish(r, st, NULL);
      return 1;
    }
  }
  return 0;
}

/* Whether r is still pending (it may have ended while a helper request
 * it waits for was out: its memory is then still there, unlinked). */
static int still_pending(cmcp_client_t *cli, const cmcp__creq *r) {
  for (cmcp__creq *p = cli->reqs; p; p = p->next)
    if (p == r)
      return 1;
  return 0;
}

/* The fresh tools/list that follows a HeaderMismatch came back: retry the
 * call with headers from the new definition, or fail it with its error. */
static void relist_done(cmcp_client_t *cli, cmcp__creq *lr, int status,
                        json_object *result) {
  cmcp__creq *r = lr->ctx;
  json_object *err;
  int st;
  CMCP__UNUSED(result);
  if (!still_pending(cli, r) || r->deferred)
    return; /* it ended meanwhile (closing, cancelled) */
  err = r->deferred_result;
  r->deferred_result = NULL;
  if (status == 0 && (st = cmcp__creq_send(cli, r)) == 0) {
    json_object_put(err);
    return;
  }
  cmcp__creq_finish(r, CMCP_ERPC, err);
  json_object_put(err);
}

static void ignore_result(cmcp_client_t *cli, int status, json_object *result,
                          void *data) {
  CMCP__UNUSED(cli);
  CMCP__UNUSED(status);
  CMCP__UNUSED(result);
  CMCP__UNUSED(data);
}

/* A tools/call refused with HeaderMismatch (-32020): "the client SHOULD
 * call tools/list to check for changes to the tool's inputSchema, then
 * retry the original request with the appropriate headers". Once per
 * call. 1 if the tools/list went out. */
static int retry_headers(cmcp_client_t *cli, cmcp__creq *r,
                         json_object *error) {
  cmcp__creq *lr = NULL;
  if (!cli->modern || !cli->url || r->header_retries > 0 ||
      strcmp(r->method, "tools/call") != 0)
    return 0;
  r->header_retries++;
  if (cmcp__client_request_obj(cli, "tools/list", NULL, 0, CMCP_REQ_NO_CACHE,
                               ignore_result, NULL, NULL, &lr) != 0)
    return 0;
  lr->done = relist_done;
  lr->ctx = r;
  json_object_put(r->deferred_result);
  r->deferred_result = json_object_get(error);
  return 1;
}

static void on_error(cmcp_client_t *cli, cmcp__creq *r, cmcp__msg *msg) {
  json_object *err = json_object_object_get(msg->root, "error");
  r->wire_id = 0;
  if (msg->error_code == CMCP_MCP_UNSUPPORTED_VERSION &&
      retry_version(cli, r, err))
    return;
  if (msg->error_code == CMCP_MCP_HEADER_MISMATCH && retry_headers(cli, r, err))
    return;
  cmcp__client_errorf(cli, "%s: error %d: %s", r->method, msg->error_code,
                      msg->error_message ? msg->error_message : "");
  if (r->role != CMCP__ROLE_USER)
    cmcp__client_connect_step(cli, r, CMCP_ERPC, NULL, err);
  else
    cmcp__creq_finish(r, CMCP_ERPC, err);
}

/* Whether an InputRequiredResult may answer this method (MRTR page:
 * "Servers MUST NOT send InputRequiredResult responses on any other client
 * requests"). */
static int mrtr_allowed(const char *method) {
  return strcmp(method, "tools/call") == 0 ||
         strcmp(method, "prompts/get") == 0 ||
         strcmp(method, "resources/read") == 0;
}

static void on_result(cmcp_client_t *cli, cmcp__creq *r, json_object *res) {
  const char *type = cmcp__json_get_string(res, "resultType");
  r->wire_id = 0;
  if (r->role != CMCP__ROLE_USER) {
    cmcp__client_connect_step(cli, r, 0, res, NULL);
    return;
  }
  /* "clients MUST treat an absent resultType as complete"; "A resultType
   * of any value unrecognized by the client MUST be considered invalid." */
  if (type && strcmp(type, "input_required") == 0 && mrtr_allowed(r->method)) {
    cmcp__client_on_input_required(cli, r, res);
    return;
  }
  if (type && strcmp(type, "complete") != 0) {
    cmcp__client_errorf(cli, "%s: the server answered with resultType \"%s\"",
                        r->method, type);
    cmcp__creq_finish(r, CMCP_EPROTO, NULL);
    return;
  }
  if (strcmp(r->method, "tools/list") == 0)
    cmcp__client_take_tools(cli, res, cli->modern && cli->url != NULL);
  cache_put(cli, r, res);
  cmcp__creq_finish(r, 0, res);
}

static void on_response(cmcp_client_t *cli, cmcp__msg *msg) {
  int64_t id = our_id(msg->id);
  cmcp__creq *r = cmcp__creq_find(cli, id);
  if (!r) {
    if (msg->kind == CMCP__MSG_ERROR && !msg->id)
      cmcp__client_errorf(cli, "the server reported error %d: %s",
                          msg->error_code,
                          msg->error_message ? msg->error_message : "");
    else
      cmcp__log(CMCP_LOG_INFO, "client: ignored a response to unknown id %s",
                msg->id ? json_object_to_json_string(msg->id) : "null");
    return;
  }
  uv_timer_stop(&r->timer);
  if (msg->kind == CMCP__MSG_ERROR)
    on_error(cli, r, msg);
  else
    on_result(cli, r, msg->result);
}

/* Answers a request from the server that could not be decoded. */
static void answer_bad(cmcp_client_t *cli, json_object *id, int code,
                       const char *why) {
  cmcp__csend info = {0};
  size_t len;
  char *text = cmcp__rpc_encode_error(id, code, why, NULL, &len);
  if (!text)
    return;
  info.protocol = cli->protocol;
  (void)cmcp__client_send_text(cli, text, len, &info);
  cmcp__free(text);
}

/* A malformed answer whose id could still be read: its request fails now
 * rather than at its timeout. */
static void fail_bad_answer(cmcp_client_t *cli, int64_t id) {
  cmcp__creq *r = cmcp__creq_find(cli, id);
  if (!r)
    return;
  uv_timer_stop(&r->timer);
  r->wire_id = 0;
  if (r->role != CMCP__ROLE_USER)
    cmcp__client_connect_step(cli, r, CMCP_EPROTO, NULL, NULL);
  else
    cmcp__creq_finish(r, CMCP_EPROTO, NULL);
}

void cmcp__client_on_message(cmcp_client_t *cli, const char *json, size_t len) {
  cmcp__json_limits lim = {(size_t)cli->limits[CMCP_CLIENT_LIMIT_MESSAGE_BYTES],
                           0};
  cmcp__msg msg;
  json_object *bad_id = NULL;
  char why[160];
  int code = 0, st;
  if (cli->state == CMCP__CLI_CLOSING || cli->state == CMCP__CLI_IDLE)
    return;
  st =
      cmcp__rpc_decode(json, len, &lim, &msg, &code, &bad_id, why, sizeof(why));
  if (st != 0) {
    cmcp__client_errorf(cli, "malformed message from the server: %s", why);
    if (msg.kind == CMCP__MSG_REQUEST && bad_id)
      answer_bad(cli, bad_id, code, why);
    else if (msg.kind == CMCP__MSG_RESULT || msg.kind == CMCP__MSG_ERROR)
      fail_bad_answer(cli, our_id(bad_id));
    json_object_put(bad_id);
    return;
  }
  switch (msg.kind) {
  case CMCP__MSG_RESULT:
  case CMCP__MSG_ERROR:
    on_response(cli, &msg);
    break;
  case CMCP__MSG_REQUEST:
    cmcp__client_on_request(cli, &msg);
    break;
  case CMCP__MSG_NOTIFICATION:
    cmcp__client_on_notify(cli, &msg);
    break;
  }
  cmcp__msg_free(&msg);
}

void cmcp__client_on_send_failed(cmcp_client_t *cli, int64_t id, int status,
                                 int http_status, const char *detail) {
  cmcp__creq *r = cmcp__creq_find(cli, id);
  if (!r || cli->state == CMCP__CLI_CLOSING)
    return;
  uv_timer_stop(&r->timer);
  r->wire_id = 0;
  if (http_status)
    cmcp__client_errorf(cli, "%s: HTTP %d: %s", r->method, http_status,
                        detail ? detail : "");
  else
    cmcp__client_errorf(cli, "%s: %s", r->method,
                        detail && *detail ? detail : cmcp_strerror(status));
  if (r->role != CMCP__ROLE_USER) {
    /* On HTTP "the modern request returns a 4xx without a recognized modern
     * error body, and the client falls back to initialize". */
    if (http_status >= 400 && http_status < 500)
      status = CMCP_EPROTO;
    cmcp__client_connect_step(cli, r, status ? status : CMCP_EIO, NULL, NULL);
    return;
  }
  /* "The server MAY terminate the session at any time, after which it
   * MUST respond to requests containing that session ID with HTTP 404":
   * every later request would fail the same way. */
  if (!cli->modern && http_status == 404 && cli->t &&
      cli->t->vt->session_id(cli->t)) {
    cmcp__client_errorf(cli, "%s: the server ended the session (HTTP 404)",
                        r->method);
    cli->state = CMCP__CLI_DEAD;
    status = CMCP_ECLOSED;
  }
  cmcp__creq_finish(r, status ? status : CMCP_EIO, NULL);
}

/* ---- the request API --------------------------------------------------- */

/* 0 if cli can take one more request now. */
static int can_request(cmcp_client_t *cli) {
  if (cli->state == CMCP__CLI_DEAD)
    return CMCP_ECLOSED;
  if (cli->state != CMCP__CLI_READY)
    return CMCP_ESTATE;
  if ((int64_t)cli->nreqs >= cli->limits[CMCP_CLIENT_LIMIT_INFLIGHT]) {
    cmcp__client_errorf(cli, "%zu requests already in flight", cli->nreqs);
    return CMCP_ELIMIT;
  }
  return 0;
}

int cmcp__client_request_obj(cmcp_client_t *cli, const char *method,
                             json_object *params, uint64_t timeout_ms,
                             unsigned flags, cmcp_result_fn cb, void *data,
                             uint64_t *req_out, cmcp__creq **out) {
  cmcp__creq *r;
  json_object *hit = NULL;
  char *key = NULL;
  int st;
  if ((st = can_request(cli)) != 0) {
    json_object_put(params);
    return st;
  }
  if (!(r = cmcp__creq_new(cli, method, params,
                           timeout_ms ? timeout_ms : cli->timeout_ms, flags, cb,
                           data)))
    return CMCP_ENOMEM;
  if (cli->cache_enabled && !(flags & CMCP_REQ_NO_CACHE) && cacheable(method) &&
      cli->ncache > 0) {
    if (!(key = cache_key(method, r->params))) {
      cmcp__creq_discard(r);
      return CMCP_ENOMEM;
    }
    hit = cache_get(cli, key);
    cmcp__free(key);
  }
  if (hit)
    cmcp__creq_finish_later(r, 0, hit);
  else if ((st = cmcp__creq_send(cli, r)) != 0) {
    cmcp__creq_discard(r);
    return st;
  }
  if (req_out)
    *req_out = r->handle;
  if (out)
    *out = r;
  return 0;
}

int cmcp_client_request(cmcp_client_t *cli, const char *method,
                        const char *params_json, uint64_t timeout_ms,
                        unsigned flags, cmcp_result_fn cb, void *data,
                        uint64_t *req_out) {
  json_object *params = NULL;
  int st;
  if (!cli || !method || !*method || !cb)
    return CMCP_EINVAL;
  if (params_json && (st = cmcp__json_parse_object(params_json, &params)) != 0)
    return st;
  flags &= CMCP_REQ_PROGRESS | CMCP_REQ_NO_CACHE;
  return cmcp__client_request_obj(cli, method, params, timeout_ms, flags, cb,
                                  data, req_out, NULL);
}
