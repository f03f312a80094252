/* src/proto/peer.c: one conversation with a client.
 *
 * A peer decodes what the transport feeds it, sorts messages into requests
 * (dispatched by methods.c), notifications and responses to the server's
 * own requests, keeps the table of admitted requests still in flight and
 * the legacy asks awaiting the client, and sends through ops. Everything
 * here runs on the peer's loop thread.
 */
#include "engine.h"

#include "base/memory.h"
#include "base/stats.h"

#include <sched.h>
#include <string.h>

/* ---- lifetime ---------------------------------------------------------------
 */

cmcp__peer_t *cmcp__peer_new(cmcp_server_t *srv, const cmcp__peer_ops *ops,
                             void *ctx) {
  cmcp__peer_t *peer;
  if (srv == NULL || ops == NULL || ops->send == NULL)
    return NULL;
  peer = cmcp__calloc(1, sizeof(*peer));
  if (peer == NULL)
    return NULL;
  peer->srv = srv;
  peer->ops = ops;
  peer->ctx = ctx;
  atomic_init(&peer->refs, 1);
  atomic_init(&peer->closed, 0);
  atomic_init(&peer->want, 0);
  atomic_init(&peer->log_level, CMCP_LOG_INFO);
  atomic_init(&peer->posting, 0);
  peer->loop = pthread_self();
  peer->version = -1;
  peer->next_ask_id = 1;
  cmcp__server_attach(srv, peer);
  return peer;
}

void cmcp__peer_ref(cmcp__peer_t *peer) {
  atomic_fetch_add(&peer->refs, 1);
}

void cmcp__peer_unref(cmcp__peer_t *peer) {
  if (atomic_fetch_sub(&peer->refs, 1) != 1)
    return;
  if (peer->caps != NULL)
    json_object_put(peer->caps);
  if (peer->subs != NULL)
    json_object_put(peer->subs);
  cmcp__free(peer->buckets);
  cmcp__free(peer);
}

int cmcp__peer_post(cmcp__peer_t *peer, void (*fn)(void *), void *arg) {
  int rc = CMCP_ECLOSED;
  if (peer->ops->post == NULL) {
    fn(arg);
    return 0;
  }
  atomic_fetch_add(&peer->posting, 1);
  if (!atomic_load(&peer->closed))
    rc = peer->ops->post(peer->ctx, fn, arg);
  atomic_fetch_sub(&peer->posting, 1);
  return rc;
}

int cmcp__peer_post_reserve(cmcp__peer_t *peer, size_t cost) {
  size_t max = (size_t)cmcp__limit(peer->srv, CMCP_LIMIT_OUTBOUND_BYTES);
  if (atomic_fetch_add(&peer->posted_bytes, cost) + cost > max) {
    atomic_fetch_sub(&peer->posted_bytes, cost);
    return CMCP_ELIMIT;
  }
  return 0;
}

void cmcp__peer_post_release(cmcp__peer_t *peer, size_t cost) {
  atomic_fetch_sub(&peer->posted_bytes, cost);
}

void cmcp__peer_check_lagging(cmcp__peer_t *peer) {
  if (!atomic_load(&peer->lagging) || atomic_load(&peer->closed) ||
      peer->closing || peer->ops->close == NULL)
    return;
  peer->closing = 1;
  cmcp__stats_refused(CMCP__REFUSE_OUTBOUND_BYTES);
  peer->ops->close(peer->ctx, "slow consumer: notifications queued past the "
                              "outbound limit (CMCP_LIMIT_OUTBOUND_BYTES)");
}

/* Waits out the cmcp__peer_post calls that saw the peer open (closed is
 * already set, so no new one starts). Each is a short non-blocking
 * ops->post, never waiting on this thread. */
static void posts_drain(cmcp__peer_t *peer) {
  while (atomic_load(&peer->posting) != 0)
    sched_yield();
}

size_t cmcp__peer_inflight(const cmcp__peer_t *peer) {
  return peer->inflight;
}

/* Unlinks every in-flight call. Calls whose handler is not running (a
 * listen stream, a call waiting for the client's answers) are freed now;
 * the others free themselves when their handler finishes. */
static void orphan_calls(cmcp__peer_t *peer) {
  size_t b;
  for (b = 0; b < peer->nbuckets; b++) {
    cmcp_call_t *c = peer->buckets[b], *next;
    peer->buckets[b] = NULL;
    for (; c != NULL; c = next) {
      next = c->next;
      c->next = NULL;
      atomic_store(&c->cancelled, 1);
      c->peer_linked = 0;
      if (c->completing)
        continue; /* its completion frees it */
      if (c->method == CMCP__M_LISTEN || c->asks_pending > 0)
        cmcp__call_free(c);
      else
        cmcp__call_orphaned(c); /* the handler still runs */
    }
  }
  peer->inflight = 0;
  peer->listens = NULL;
}

void cmcp__peer_close(cmcp__peer_t *peer) {
  cmcp__ask *a, *next;
  if (peer == NULL || atomic_exchange(&peer->closed, 1))
    return;
  posts_drain(peer);
  cmcp__server_detach(peer->srv, peer);
  if (peer->srv->tasks != NULL && peer->srv->tasks->peer_closed != NULL)
    peer->srv->tasks->peer_closed(peer);
  for (a = peer->asks; a != NULL; a = next) {
    next = a->next;
    cmcp__free(a->key);
    cmcp__free(a);
  }
  peer->asks = NULL;
  orphan_calls(peer);
  cmcp__peer_unref(peer);
}

void cmcp__peer_shutdown(cmcp__peer_t *peer) {
  while (peer->listens != NULL && !atomic_load(&peer->closed))
    cmcp__listen_end(peer, peer->listens, 1);
}

/* ---- sending ----------------------------------------------------------------
 */

/* Hands one serialized message to the transport; a refusal (slow
 * consumer) asks the transport to end the conversation. */
static int send_text(cmcp__peer_t *peer, char *text, size_t len,
                     const cmcp__out_info *info) {
  int rc;
  if (text == NULL)
    return CMCP_ENOMEM;
  rc = cmcp__send_text(peer, text, len, info);
  cmcp__free(text);
  return rc;
}

int cmcp__send_text(cmcp__peer_t *peer, const char *text, size_t len,
                    const cmcp__out_info *info) {
  int rc;
  if (atomic_load(&peer->closed))
    return CMCP_ECLOSED;
  if (info->kind == CMCP__OUT_RESPONSE)
    cmcp__stats_answered(CMCP__SO_OK); /* no-op if counted as an error */
  rc = peer->ops->send(peer->ctx, text, len, info);
  if (rc == CMCP_ELIMIT && peer->ops->close != NULL && !peer->closing) {
    peer->closing = 1;
    peer->ops->close(peer->ctx, "slow consumer: outbound limit reached");
  }
  return rc;
}

int cmcp__send_result(cmcp__peer_t *peer, json_object *id,
                      json_object *result) {
  cmcp__out_info info = {CMCP__OUT_RESPONSE, id, 0};
  size_t len = 0;
  char *text = cmcp__rpc_encode_result(id, result, &len);
  return send_text(peer, text, len, &info);
}

/* The HTTP status a modern error maps to (0: 200). */
static int error_status(int code) {
  switch (code) {
  case CMCP_MCP_HEADER_MISMATCH:
  case CMCP_MCP_MISSING_CAPABILITY:
  case CMCP_MCP_UNSUPPORTED_VERSION:
    return 400;
  case CMCP_MCP_SERVER_OVERLOADED: /* a refusal at a limit */
    return 503;
  default:
    return 0;
  }
}

int cmcp__send_error(cmcp__peer_t *peer, json_object *id, int code,
                     const char *message, json_object *data) {
  cmcp__out_info info = {CMCP__OUT_RESPONSE, id, error_status(code)};
  size_t len = 0;
  cmcp__stats_answered(code == CMCP_MCP_SERVER_OVERLOADED ? CMCP__SO_REFUSED
                                                          : CMCP__SO_ERROR);
  char *text = cmcp__rpc_encode_error(id, code, message, data, &len);
  return send_text(peer, text, len, &info);
}

int cmcp__send_notification(cmcp__peer_t *peer, const char *method,
                            json_object *params, json_object *related) {
  cmcp__out_info info = {CMCP__OUT_NOTIFICATION, related, 0};
  size_t len = 0;
  char *text = cmcp__rpc_encode_notification(method, params, &len);
  return send_text(peer, text, len, &info);
}

int cmcp__send_ask(cmcp__peer_t *peer, cmcp_call_t *call, const char *key,
                   const char *method, json_object *params) {
  cmcp__out_info info = {CMCP__OUT_REQUEST, call ? call->id : NULL, 0};
  cmcp__ask *a = cmcp__calloc(1, sizeof(*a));
  json_object *id;
  size_t len = 0;
  char *text;
  if (a == NULL || (a->key = cmcp__strdup(key)) == NULL)
    goto nomem;
  a->id = peer->next_ask_id++;
  a->call = call;
  a->deadline_ms = cmcp__now_ms() +
                   (uint64_t)cmcp__limit(peer->srv, CMCP_LIMIT_ASK_TIMEOUT_MS);
  id = json_object_new_int64(a->id);
  text = id != NULL ? cmcp__rpc_encode_request(id, method, params, &len) : NULL;
  json_object_put(id);
  if (text == NULL)
    goto nomem;
  a->next = peer->asks;
  peer->asks = a;
  if (call != NULL)
    call->asks_pending++;
  return send_text(peer, text, len, &info) == CMCP_ECLOSED ? CMCP_ECLOSED : 0;
nomem:
  if (a != NULL)
    cmcp__free(a->key);
  cmcp__free(a);
  return CMCP_ENOMEM;
}

/* ---- in-flight table ------------------------------------------------------
 */

static uint64_t id_hash(json_object *id) {
  uint64_t h = 1469598103934665603ull;
  if (json_object_is_type(id, json_type_int)) {
    h = (uint64_t)json_object_get_int64(id) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
  }
  if (json_object_is_type(id, json_type_string)) {
    const char *s = json_object_get_string(id);
    int n = json_object_get_string_len(id), i;
    for (i = 0; i < n; i++)
      h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  }
  return h;
}

/* Grows (or first allocates) the bucket array and rehashes. */
static int buckets_grow(cmcp__peer_t *peer) {
  size_t n = peer->nbuckets ? peer->nbuckets * 2 : 16, b;
  cmcp_call_t **nb = cmcp__calloc(n, sizeof(*nb));
  if (nb == NULL)
    return CMCP_ENOMEM;
  for (b = 0; b < peer->nbuckets; b++) {
    cmcp_call_t *c = peer->buckets[b], *next;
    for (; c != NULL; c = next) {
      size_t slot = id_hash(c->id) & (n - 1);
      next = c->next;
      c->next = nb[slot];
      nb[slot] = c;
    }
  }
  cmcp__free(peer->buckets);
  peer->buckets = nb;
  peer->nbuckets = n;
  return 0;
}

int cmcp__inflight_add(cmcp__peer_t *peer, cmcp_call_t *call) {
  size_t slot;
  if ((peer->nbuckets == 0 || peer->inflight >= peer->nbuckets * 2) &&
      buckets_grow(peer) != 0 && peer->nbuckets == 0)
    return CMCP_ENOMEM;
  slot = id_hash(call->id) & (peer->nbuckets - 1);
  call->next = peer->buckets[slot];
  peer->buckets[slot] = call;
  call->peer_linked = 1;
  peer->inflight++;
  return 0;
}

cmcp_call_t *cmcp__inflight_find(cmcp__peer_t *peer, json_object *id) {
  cmcp_call_t *c;
  if (peer->nbuckets == 0 || id == NULL)
    return NULL;
  for (c = peer->buckets[id_hash(id) & (peer->nbuckets - 1)]; c != NULL;
       c = c->next)
    if (cmcp__rpc_id_equal(c->id, id))
      return c;
  return NULL;
}

void cmcp__inflight_remove(cmcp__peer_t *peer, cmcp_call_t *call) {
  cmcp_call_t **pp;
  if (!call->peer_linked)
    return;
  pp = &peer->buckets[id_hash(call->id) & (peer->nbuckets - 1)];
  for (; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == call) {
      *pp = call->next;
      call->next = NULL;
      call->peer_linked = 0;
      peer->inflight--;
      return;
    }
  }
}

/* ---- asks ------------------------------------------------------------------
 */

void cmcp__asks_drop_call(cmcp__peer_t *peer, cmcp_call_t *call) {
  cmcp__ask **pp = &peer->asks;
  while (*pp != NULL) {
    cmcp__ask *a = *pp;
    if (a->call == call) {
      *pp = a->next;
      cmcp__free(a->key);
      cmcp__free(a);
    } else {
      pp = &a->next;
    }
  }
  if (call != NULL)
    call->asks_pending = 0;
}

/* Unlinks and returns the ask with this id, or NULL. */
static cmcp__ask *ask_take(cmcp__peer_t *peer, json_object *id) {
  cmcp__ask **pp;
  int64_t n;
  if (!json_object_is_type(id, json_type_int))
    return NULL;
  n = json_object_get_int64(id);
  for (pp = &peer->asks; *pp != NULL; pp = &(*pp)->next) {
    cmcp__ask *a = *pp;
    if (a->id == n) {
      *pp = a->next;
      return a;
    }
  }
  return NULL;
}

/* A response of the client to one of our asks. */
static void handle_response(cmcp__peer_t *peer, cmcp__msg *msg) {
  cmcp__ask *a = ask_take(peer, msg->id);
  cmcp_call_t *call;
  if (a == NULL) {
    cmcp__log(CMCP_LOG_DEBUG, "response to an unknown request id ignored");
    return;
  }
  call = a->call;
  if (call == NULL) { /* our ping: the client is alive */
    cmcp__free(a->key);
    cmcp__free(a);
    return;
  }
  call->asks_pending--;
  if (msg->kind == CMCP__MSG_RESULT) {
    if (json_object_object_add(call->inputs, a->key,
                               json_object_get(msg->result)) != 0) {
      cmcp__asks_drop_call(peer, call);
      cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory", NULL);
    } else if (call->asks_pending == 0) {
      cmcp__call_reset_round(call);
      cmcp__call_invoke(call);
    }
  } else {
    char text[512];
    snprintf(text, sizeof(text),
             "The client answered input request '%s' "
             "with error %d: %s",
             a->key, msg->error_code,
             msg->error_message ? msg->error_message : "");
    cmcp__asks_drop_call(peer, call);
    cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR, text, NULL);
  }
  cmcp__free(a->key);
  cmcp__free(a);
}

/* ---- notifications from the client --------------------------------------- */

/* notifications/cancelled: stop the request and never answer it. */
static void handle_cancelled(cmcp__peer_t *peer, cmcp__msg *msg) {
  json_object *rid = NULL;
  cmcp_call_t *call;
  if (msg->params == NULL ||
      !json_object_object_get_ex(msg->params, "requestId", &rid))
    return;
  call = cmcp__inflight_find(peer, rid);
  if (call == NULL)
    return; /* finished already, or never existed: nothing to do */
  if (call->task != NULL)
    return; /* answered with a CreateTaskResult: tasks/cancel stops it */
  atomic_store(&call->cancelled, 1);
  if (call->method == CMCP__M_LISTEN) {
    cmcp__listen_end(peer, call, 0);
  } else if (call->asks_pending > 0) {
    /* No handler is running: the call only waited for the client. */
    cmcp__asks_drop_call(peer, call);
    cmcp__inflight_remove(peer, call);
    cmcp__call_free(call);
  }
}

static void handle_notification(cmcp__peer_t *peer, cmcp__msg *msg) {
  const char *m = msg->method;
  if (strcmp(m, "notifications/cancelled") == 0)
    handle_cancelled(peer, msg);
  else if (strcmp(m, "notifications/initialized") == 0)
    peer->client_ready = 1;
  else if (strcmp(m, "notifications/roots/list_changed") == 0)
    cmcp__log(CMCP_LOG_DEBUG, "client roots changed");
  /* Other notifications (progress, unknown ones) need no action; a
   * notification is never answered. */
}

/* ---- feeding
 * ----------------------------------------------------------------- */

/* Refuses a request that would start new work while the process is above
 * its memory budget (CMCP_LIMIT_MEMORY_BYTES): "above which new sessions
 * and new requests are refused". 1 if it was refused. */
static int refused_for_memory(cmcp__peer_t *peer, const cmcp__req *req) {
  char text[256];
  if (cmcp__mem_spares(req->method_name) ||
      !cmcp__mem_over(cmcp__limit(peer->srv, CMCP_LIMIT_MEMORY_BYTES), text,
                      sizeof text))
    return 0;
  cmcp__stats_refused(CMCP__REFUSE_MAX_MEMORY);
  cmcp__send_error(peer, req->id, CMCP_MCP_SERVER_OVERLOADED, text, NULL);
  return 1;
}

/* Classifies a request's era and answers what needs no dispatch. */
static void handle_request(cmcp__peer_t *peer, cmcp__msg *msg) {
  cmcp__req req;
  json_object *pv = NULL;
  memset(&req, 0, sizeof(req));
  req.msg = msg;
  req.id = msg->id;
  req.method_name = msg->method;
  req.method = cmcp__method_lookup(msg->method);
  req.log_level = CMCP_LOG_OFF;
  if (msg->params != NULL &&
      json_object_object_get_ex(msg->params, "_meta", &req.meta) &&
      json_object_is_type(req.meta, json_type_object))
    json_object_object_get_ex(req.meta,
                              "io.modelcontextprotocol/protocolVersion", &pv);
  else
    req.meta = NULL;
  if (pv != NULL && cmcp__version_index(json_object_get_string(pv)) <= 0) {
    req.modern = 1;
    if (cmcp__modern_check(peer, &req) != 0)
      return;
  } else {
    req.version = peer->version;
    req.caps = peer->caps;
  }
  if (cmcp__inflight_find(peer, req.id) != NULL) {
    cmcp__send_error(peer, req.id, CMCP_JSONRPC_INVALID_REQUEST,
                     "Duplicate request id: a request with this id is still "
                     "in flight",
                     NULL);
    return;
  }
  if (refused_for_memory(peer, &req))
    return;
  cmcp__dispatch(peer, &req);
}

/* handle_request under a meter: the first answer sent for the request
 * counts it in the request metrics (base/stats.h). */
static void metered_request(cmcp__peer_t *peer, cmcp__msg *msg) {
  cmcp__stats_meter m = {cmcp__now_ns(), 0, 0, 0};
  cmcp__stats_meter *outer;
  m.method = (uint8_t)cmcp__stats_method_lookup(msg->method);
  outer = cmcp__stats_meter_push(&m);
  handle_request(peer, msg);
  cmcp__stats_meter_pop(outer);
}

int cmcp__peer_feed(cmcp__peer_t *peer, const char *text, size_t len) {
  cmcp__json_limits lim;
  cmcp__msg msg;
  json_object *bad_id = NULL;
  char err[256];
  int code = 0, rc;
  if (peer == NULL || atomic_load(&peer->closed))
    return CMCP_ECLOSED;
  peer->loop = pthread_self();
  lim.max_bytes = (size_t)cmcp__limit(peer->srv, CMCP_LIMIT_MESSAGE_BYTES);
  lim.max_depth = (int)cmcp__limit(peer->srv, CMCP_LIMIT_JSON_DEPTH);
  /* A defective message is answered with the spec's error, unless it was a
   * notification ("the receiver MUST NOT send a response") or a response
   * (an error carrying its id would read, to the client, as the answer to
   * its own request of that id): those are logged and dropped. */
  rc =
      cmcp__rpc_decode(text, len, &lim, &msg, &code, &bad_id, err, sizeof(err));
  if (rc != 0) {
    if (rc == CMCP_ENOMEM)
      return CMCP_ENOMEM;
    if (msg.kind == CMCP__MSG_REQUEST || msg.kind == 0)
      cmcp__send_error(peer, bad_id, code, err, NULL);
    else /* see below */
      cmcp__log(CMCP_LOG_WARNING, "dropped a malformed %s: %s",
                msg.kind == CMCP__MSG_NOTIFICATION ? "notification"
                                                   : "response",
                err);
    if (bad_id != NULL)
      json_object_put(bad_id);
    return 0;
  }
  cmcp__peer_ref(peer); /* a handler may close the peer meanwhile */
  if (msg.kind == CMCP__MSG_REQUEST)
    metered_request(peer, &msg);
  else if (msg.kind == CMCP__MSG_NOTIFICATION)
    handle_notification(peer, &msg);
  else
    handle_response(peer, &msg);
  cmcp__msg_free(&msg);
  cmcp__peer_unref(peer);
  return 0;
}

/* ---- tick
 * --------------------------------------------------------------------- */

/* Fails the first call whose ask is past its deadline; 1 if one was. */
static int expire_one(cmcp__peer_t *peer, uint64_t now_ms, int64_t *next) {
  cmcp__ask *a;
  for (a = peer->asks; a != NULL; a = a->next) {
    if (a->deadline_ms <= now_ms && a->call == NULL) {
      /* "the sender MAY consider the connection stale and terminate"
       * (ping) */
      cmcp__asks_drop_call(peer, NULL);
      if (peer->ops->close != NULL && !peer->closing) {
        peer->closing = 1;
        peer->ops->close(peer->ctx, "the client did not answer ping");
      }
      return 0;
    }
    if (a->deadline_ms <= now_ms) {
      char text[256];
      cmcp_call_t *call = a->call;
      snprintf(text, sizeof(text),
               "Timed out after %lld ms waiting for the client's answer to "
               "input request '%s'",
               (long long)cmcp__limit(peer->srv, CMCP_LIMIT_ASK_TIMEOUT_MS),
               a->key);
      cmcp__asks_drop_call(peer, call);
      cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR, text, NULL);
      return 1;
    }
    if (*next < 0 || (int64_t)(a->deadline_ms - now_ms) < *next)
      *next = (int64_t)(a->deadline_ms - now_ms);
  }
  return 0;
}

int cmcp__peer_ping(cmcp__peer_t *peer) {
  if (peer == NULL || atomic_load(&peer->closed))
    return CMCP_ECLOSED;
  if (!peer->initialized)
    return CMCP_ESTATE; /* 2026-07-28 has no ping */
  return cmcp__send_ask(peer, NULL, "ping", "ping", NULL);
}

int64_t cmcp__peer_tick(cmcp__peer_t *peer, uint64_t now_ms) {
  int64_t next = -1;
  if (peer == NULL || atomic_load(&peer->closed))
    return -1;
  cmcp__peer_ref(peer); /* a transport may close the peer inside ops */
  while (!atomic_load(&peer->closed) && expire_one(peer, now_ms, &next))
    next = -1;
  if (!atomic_load(&peer->closed) && peer->srv->tasks != NULL &&
      peer->srv->tasks->tick != NULL) {
    int64_t t = peer->srv->tasks->tick(peer, now_ms);
    if (t >= 0 && (next < 0 || t < next))
      next = t;
  }
  cmcp__peer_unref(peer);
  return next;
}

/* ---- deliveries from notify-from-anywhere ------------------------------- */

static const char *const list_methods[] = {
    "notifications/tools/list_changed", "notifications/resources/list_changed",
    "notifications/prompts/list_changed"};

void cmcp__peer_deliver_list_changed(cmcp__peer_t *peer, unsigned kinds) {
  unsigned i;
  for (i = 0; i < 3; i++) {
    unsigned bit = 1u << i;
    cmcp_call_t *l;
    if ((kinds & bit) == 0)
      continue;
    if (peer->initialized)
      cmcp__send_notification(peer, list_methods[i], NULL, NULL);
    /* A refused send may close the peer (and free its streams). */
    for (l = peer->listens; l != NULL; l = l->listen_next) {
      if (l->listen_want & bit)
        cmcp__listen_notify(peer, l, list_methods[i], NULL);
      if (atomic_load(&peer->closed))
        return;
    }
  }
}

/* 1 if uris (an array of strings) holds uri. */
static int uri_listed(json_object *uris, const char *uri) {
  size_t i, n = uris != NULL ? json_object_array_length(uris) : 0;
  for (i = 0; i < n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(uris, i)),
               uri) == 0)
      return 1;
  return 0;
}

void cmcp__peer_deliver_updated(cmcp__peer_t *peer, const char *uri) {
  cmcp_call_t *l;
  json_object *params = NULL;
  if (peer->subs != NULL && json_object_object_get_ex(peer->subs, uri, NULL)) {
    params = json_object_new_object();
    if (params != NULL &&
        json_object_object_add(params, "uri", json_object_new_string(uri)) == 0)
      cmcp__send_notification(peer, "notifications/resources/updated", params,
                              NULL);
    json_object_put(params);
  }
  for (l = peer->listens; l != NULL && !atomic_load(&peer->closed);
       l = l->listen_next) {
    if (!uri_listed(l->listen_uris, uri))
      continue;
    params = json_object_new_object();
    if (params != NULL &&
        json_object_object_add(params, "uri", json_object_new_string(uri)) == 0)
      cmcp__listen_notify(peer, l, "notifications/resources/updated", params);
    json_object_put(params);
    if (atomic_load(&peer->closed)) /* l may be gone: stop here */
      break;
  }
}

void cmcp__peer_deliver_log(cmcp__peer_t *peer, const char *json, size_t len,
                            cmcp_log_level_t level) {
  cmcp__out_info info = {CMCP__OUT_NOTIFICATION, NULL, 0};
  char *copy;
  if (!peer->initialized || (int)level < atomic_load(&peer->log_level))
    return;
  copy = cmcp__strndup(json, len);
  send_text(peer, copy, len, &info);
}

/* Recomputes what notify-from-anywhere should bring this peer. */
void cmcp__peer_update_want(cmcp__peer_t *peer) {
  unsigned want = 0;
  cmcp_call_t *l;
  if (peer->initialized)
    want |= CMCP__WANT_TOOLS | CMCP__WANT_RESOURCES | CMCP__WANT_PROMPTS |
            CMCP__WANT_LOGS;
  if (peer->subs != NULL && json_object_object_length(peer->subs) > 0)
    want |= CMCP__WANT_UPDATES;
  for (l = peer->listens; l != NULL; l = l->listen_next)
    want |= l->listen_want;
  atomic_store(&peer->want, want);
}
