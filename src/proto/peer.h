/* src/proto/peer.h: the boundary between the MCP engine and whatever
 * carries its bytes (stdio, an HTTP session, a test). Internal.
 *
 * The engine does no I/O. A transport creates a peer for one conversation
 * (a stdio connection, a legacy HTTP session, or one modern HTTP request),
 * feeds it whole JSON-RPC messages, and receives outbound messages through
 * the ops vtable. All peer functions run on the peer's owning loop thread;
 * handlers finishing on other threads reach it through ops->post.
 */
#ifndef CMCP_PEER_H
#define CMCP_PEER_H

#include "cmcp/server.h"
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cmcp__peer cmcp__peer_t;

/* What an outbound message is, so a transport can route it (on HTTP: to
 * the SSE stream of the request it relates to, or the session's stream). */
typedef enum {
  CMCP__OUT_RESPONSE = 1, /* result or error to a client request */
  CMCP__OUT_NOTIFICATION,
  CMCP__OUT_REQUEST /* server -> client request */
} cmcp__out_kind;

typedef struct cmcp__out_info {
  cmcp__out_kind kind;
  /* The client request this message answers or belongs to (progress, logs,
   * asks made while serving it), or NULL when unrelated (list_changed,
   * resource updates, server-wide logs). Borrowed for the call only. */
  json_object *related_id;
  /* For a response on the modern wire: the HTTP status a transport should
   * use if nothing was streamed yet (200, or 400/404 for errors the
   * transport spec maps to a status). 0 means 200. */
  int http_status;
} cmcp__out_info;

typedef struct cmcp__peer_ops {
  /* Sends one serialized JSON-RPC message. Returns 0, or CMCP_ELIMIT when
   * the transport's outbound bound is hit (the engine then treats the peer
   * as a slow consumer and closes it), or CMCP_ECLOSED. */
  int (*send)(void *ctx, const char *json, size_t len,
              const cmcp__out_info *info);
  /* Runs fn(arg) on the peer's loop thread soon (never inside this call).
   * Safe from any thread. CMCP_ECLOSED when the loop is gone. NULL means
   * single-threaded use: the engine calls fn inline. */
  int (*post)(void *ctx, void (*fn)(void *), void *arg);
  /* Runs work(arg) on the worker pool, then done(arg) on the loop thread.
   * CMCP_ELIMIT when the worker queue is full. NULL: work runs inline. */
  int (*run_blocking)(void *ctx, void (*work)(void *), void (*done)(void *),
                      void *arg);
  /* Called once when the engine wants the transport to end the
   * conversation (slow consumer, fatal framing). */
  void (*close)(void *ctx, const char *reason);
} cmcp__peer_ops;

/* Creates a peer served by srv. ctx is passed to every op. */
cmcp__peer_t *cmcp__peer_new(cmcp_server_t *srv, const cmcp__peer_ops *ops,
                             void *ctx);

/* Handles one complete inbound message (a stdio line, a POST body). Any
 * reply goes out through ops->send, possibly later. Never fails for bad
 * input: that is answered on the wire. Returns CMCP_ENOMEM or CMCP_ECLOSED
 * only. */
int cmcp__peer_feed(cmcp__peer_t *peer, const char *text, size_t len);

/* Expires timed-out asks and finished tasks; call about once a second.
 * Returns the milliseconds until the next deadline (or -1 for none). */
int64_t cmcp__peer_tick(cmcp__peer_t *peer, uint64_t now_ms);

/* Sends a ping request to the client of a legacy session (2026-07-28 has
 * no ping). If no answer comes within CMCP_LIMIT_ASK_TIMEOUT_MS,
 * cmcp__peer_tick asks the transport to close the conversation
 * (ops->close). Returns 0, CMCP_ESTATE without a legacy session,
 * CMCP_ECLOSED, CMCP_ENOMEM. */
int cmcp__peer_ping(cmcp__peer_t *peer);

/* Number of admitted requests not yet answered. */
size_t cmcp__peer_inflight(const cmcp__peer_t *peer);

/* Ends every subscriptions/listen stream of the peer gracefully, each with
 * its SubscriptionsListenResult (server shutdown). Other requests are not
 * touched. */
void cmcp__peer_shutdown(cmcp__peer_t *peer);

/* Ends the conversation: in-flight calls are marked cancelled and their
 * late results dropped; the peer is freed once the last of them finishes.
 * No op runs after this returns, except post/run_blocking completions that
 * were already queued (which the engine then ignores). */
void cmcp__peer_close(cmcp__peer_t *peer);

#endif /* CMCP_PEER_H */
