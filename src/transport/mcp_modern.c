/* src/transport/mcp_modern.c: modern (2026-07-28) requests, each served by
 * a short-lived engine peer on the loop that received it.
 *
 * The answer is one JSON body unless something must go out before the
 * response (progress, logs, the subscriptions/listen acknowledgement):
 * then it becomes an SSE stream ("X-Accel-Buffering: no") that the
 * response ends. "Closing the SSE response stream MUST be treated by the
 * server as cancellation of that request": an aborted request closes its
 * peer, which cancels the call. Streams that stay quiet get a comment as a
 * keep-alive. A request answered while its peer still has a call in
 * flight (a task that outlives its tools/call) keeps the peer until that
 * call ends: closing it would cancel the task.
 */
#include "transport/mcp_int.h"

#include <string.h>

struct mcp_modern {
  mcp_modern *next, *prev;
  cmcp__mcp_loop *lp;
  cmcp__http_request *req; /* NULL once answered or aborted */
  cmcp__peer_t *peer;
  uint64_t last_write;
  int streaming;
  int aborted;           /* the client went away: the call is cancelled */
  int lingering;         /* answered; its peer still runs a task's call */
  int reaping;           /* on the loop's reap list: closes soon */
  mcp_modern *reap_next; /* that list */
};

static void modern_unlink(mcp_modern *mr) {
  if (mr->prev != NULL)
    mr->prev->next = mr->next;
  else
    mr->lp->moderns = mr->next;
  if (mr->next != NULL)
    mr->next->prev = mr->prev;
}

/* Closes the peer and frees mr (never from inside an engine call). */
static void modern_close(mcp_modern *mr) {
  modern_unlink(mr);
  if (mr->peer != NULL)
    cmcp__peer_close(mr->peer);
  if (mr->req != NULL)
    cmcp__http_request_abort(mr->req);
  cmcp__free(mr);
}

static void modern_reap_soon(mcp_modern *mr);

static void on_modern_abort(cmcp__http_request *req, void *data) {
  mcp_modern *mr = data;
  (void)req;
  mr->req = NULL;
  mr->aborted = 1;
  modern_reap_soon(mr);
}

/* Writes SSE bytes; a client that does not read is dropped. */
static int modern_write(mcp_modern *mr, const char *data, size_t len) {
  if (cmcp__http_stream_write(mr->req, data, len) != 0) {
    cmcp__http_request_abort(mr->req);
    mr->req = NULL;
    mr->aborted = 1;
    modern_reap_soon(mr);
    return CMCP_ELIMIT;
  }
  mr->last_write = cmcp__now_ms();
  return 0;
}

/* Sends one message as an SSE event, starting the stream if needed. */
static int modern_event(mcp_modern *mr, const char *json, size_t len) {
  cmcp__buf b;
  int rc;
  if (!mr->streaming) {
    if (cmcp__mcp_stream_begin(mr->req, NULL) != 0) {
      cmcp__http_request_abort(mr->req);
      mr->req = NULL;
      mr->aborted = 1;
      modern_reap_soon(mr);
      return CMCP_ECLOSED;
    }
    mr->streaming = 1;
  }
  cmcp__buf_init(&b, CMCP__SSE_EVENT_MAX(len));
  rc = cmcp__sse_event(&b, NULL, "message", json, len);
  if (rc == 0)
    rc = modern_write(mr, b.data, b.len);
  cmcp__buf_free(&b);
  return rc;
}

/* The response: ends the stream, or is the whole JSON answer, with the
 * status the engine hints ("unknown method -> 404" is the transport's). */
static int modern_response(mcp_modern *mr, const char *json, size_t len,
                           const cmcp__out_info *info) {
  int status = info->http_status != 0 ? info->http_status : 200;
  cmcp__http_request *req = mr->req;
  if (mr->streaming) {
    if (modern_event(mr, json, len) == 0 && cmcp__http_stream_end(req) != 0)
      cmcp__http_request_abort(req);
  } else {
    if (status == 200 &&
        cmcp__mcp_error_code(json, len) == CMCP_JSONRPC_METHOD_NOT_FOUND)
      status = 404;
    /* A refusal at a limit (503) says when to come back, as every other
     * 503 of the endpoint does. */
    cmcp__mcp_respond(req, status, "application/json", NULL,
                      status == 503 ? 5 : 0, json, len);
  }
  mr->req = NULL;
  modern_reap_soon(mr);
  return 0;
}

static int m_send(void *ctx, const char *json, size_t len,
                  const cmcp__out_info *info) {
  mcp_modern *mr = ctx;
  if (mr->req == NULL) /* answered: what a lingering call says is dropped */
    return mr->aborted ? CMCP_ECLOSED : 0;
  if (info->kind == CMCP__OUT_RESPONSE)
    return modern_response(mr, json, len, info);
  if (info->kind == CMCP__OUT_REQUEST) {
    /* "The server MUST NOT send independent JSON-RPC requests on this
     * stream": the engine asks through MRTR on this wire. */
    cmcp__log(CMCP_LOG_WARNING, "http: dropped a server request on a "
                                "modern stream");
    return 0;
  }
  return modern_event(mr, json, len);
}

static int m_post(void *ctx, void (*fn)(void *), void *arg) {
  mcp_modern *mr = ctx;
  return cmcp__mcp_post(mr->lp, fn, arg);
}

static int m_run_blocking(void *ctx, void (*work)(void *), void (*done)(void *),
                          void *arg) {
  mcp_modern *mr = ctx;
  return cmcp__workers_submit(mr->lp->pool, work, done, arg);
}

static void m_close(void *ctx, const char *reason) {
  mcp_modern *mr = ctx;
  cmcp__log(CMCP_LOG_WARNING, "http: ending a modern request: %s", reason);
  if (mr->req != NULL) {
    cmcp__http_request_abort(mr->req);
    mr->req = NULL;
  }
  mr->aborted = 1;
  modern_reap_soon(mr);
}

static const cmcp__peer_ops modern_ops = {m_send, m_post, m_run_blocking,
                                          m_close};

/* ---- deferred closing ---------------------------------------------------- */

/* Queues mr on the loop's reap list; the reaper (an idle handle, so right
 * after this loop turn) closes it outside any engine call. */
static void modern_reap_soon(mcp_modern *mr) {
  if (mr->reaping)
    return;
  mr->reaping = 1;
  mr->reap_next = mr->lp->reap;
  mr->lp->reap = mr;
  cmcp__mcp_reap_kick(mr->lp);
}

void cmcp__mcp_moderns_reap(cmcp__mcp_loop *lp) {
  while (lp->reap != NULL) {
    mcp_modern *mr = lp->reap;
    lp->reap = mr->reap_next;
    if (!mr->aborted && cmcp__peer_inflight(mr->peer) > 0) {
      mr->reaping = 0; /* the tick closes it once the call ends */
      mr->lingering = 1;
      continue;
    }
    modern_close(mr);
  }
}

void cmcp__mcp_modern_serve(cmcp__mcp_loop *lp, cmcp__http_request *req,
                            const char *body, size_t len, int kind) {
  mcp_modern *mr = cmcp__calloc(1, sizeof *mr);
  int rc;
  if (mr == NULL)
    goto busy;
  mr->lp = lp;
  mr->req = req;
  mr->peer = cmcp__peer_new(lp->sh->srv, &modern_ops, mr);
  if (mr->peer == NULL) {
    cmcp__free(mr);
    goto busy;
  }
  mr->next = lp->moderns;
  if (lp->moderns != NULL)
    lp->moderns->prev = mr;
  lp->moderns = mr;
  cmcp__http_request_on_abort(req, on_modern_abort, mr);
  rc = cmcp__peer_feed(mr->peer, body, len);
  if (mr->req != NULL && (rc != 0 || kind != CMCP__MSG_REQUEST)) {
    /* "If the server accepts [a notification], the server MUST return
     * HTTP status code 202 Accepted with no body." */
    if (rc == 0)
      cmcp__mcp_respond(req, 202, NULL, NULL, 0, NULL, 0);
    else
      cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                              cmcp_strerror(rc));
    mr->req = NULL;
  }
  if (mr->req == NULL)
    modern_reap_soon(mr);
  return;
busy:
  cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                          "Server overloaded: out of memory");
}

void cmcp__mcp_moderns_tick(cmcp__mcp_loop *lp, uint64_t now) {
  mcp_modern *mr;
  for (mr = lp->moderns; mr != NULL; mr = mr->next) {
    if (mr->reaping)
      continue;
    (void)cmcp__peer_tick(mr->peer, now);
    if (mr->lingering && cmcp__peer_inflight(mr->peer) == 0) {
      modern_reap_soon(mr);
      continue;
    }
    if (mr->req != NULL && mr->streaming &&
        now - mr->last_write >= lp->sh->cfg.keepalive_ms)
      (void)modern_write(mr, ":\n\n", 3);
  }
}

void cmcp__mcp_moderns_shutdown(cmcp__mcp_loop *lp) {
  mcp_modern *mr;
  for (mr = lp->moderns; mr != NULL; mr = mr->next)
    if (!mr->reaping)
      cmcp__peer_shutdown(mr->peer);
}

void cmcp__mcp_moderns_close_all(cmcp__mcp_loop *lp) {
  cmcp__mcp_moderns_reap(lp);
  while (lp->moderns != NULL)
    modern_close(lp->moderns);
}
