/* src/transport/mcp_http.h: the Streamable HTTP endpoint (MCP at /mcp,
 * GET /health) on one loop thread of a multi-threaded runtime. Internal.
 *
 * Both wire eras share the endpoint (spec 2025-11-25 and 2026-07-28
 * basic/transports):
 *   - modern (2026-07-28): a POST whose body's params._meta names a
 *     protocol version, or whose MCP-Protocol-Version header says
 *     2026-07-28 without a session, is served statelessly on the loop that
 *     received it, by a short-lived engine peer: the answer is JSON, or SSE
 *     once something has to be streamed before it (progress, logs, the
 *     subscriptions/listen stream). Closing the stream cancels the request.
 *   - legacy (2025-11-25 and older): initialize creates a session whose id
 *     encodes the loop that owns it; the session's requests, GET stream and
 *     DELETE reach the owner through its mailbox (arithmetic routing: no
 *     shared table), and what the owner sends comes back to the loop that
 *     holds the HTTP request through that loop's mailbox. Streams carry
 *     event ids, kept in a bounded per-session log, so a GET with
 *     Last-Event-ID resumes a stream that dropped.
 *
 * Threads: one cmcp__mcp_loop per libuv loop; its functions run on that
 * loop's thread except cmcp__mcp_loop_stop. The shared part is read-only
 * once the loops start, except its atomic counters.
 */
#ifndef CMCP_TRANSPORT_MCP_HTTP_H
#define CMCP_TRANSPORT_MCP_HTTP_H

#include "cmcp/server.h"
#include "transport/http.h"
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CMCP__MCP_IDLE_TIMEOUT_DEFAULT_MS 600000
#define CMCP__MCP_MAX_SESSIONS_DEFAULT 10000
#define CMCP__MCP_SESSION_EVENTS_DEFAULT 256

typedef struct cmcp__mcp_config {
  int json_response;                /* legacy POST answered as JSON, not SSE */
  uint64_t session_idle_timeout_ms; /* 0: default */
  size_t max_sessions;              /* process-wide; 0: default */
  size_t session_events;            /* events kept per session; 0: default */
  const char *const *origins;       /* accepted Origin values (borrowed) */
  size_t n_origins;
  const char *host;          /* the bound host (numeric; borrowed) */
  unsigned max_connections;  /* process-wide; 0: the HTTP layer's default
                                (per loop) */
  size_t max_body_bytes;     /* 0: the HTTP layer's default */
  uint32_t drain_timeout_ms; /* given to in-flight work at stop */
  uint32_t keepalive_ms;     /* comment on a quiet modern stream; 0: 15 s */
  uint32_t max_queue_delay_ms; /* shed new requests above it; 0: off */
  /* HTTP layer limits and timeouts: each field left 0 keeps the layer's
   * default (max_connections, max_body_bytes and drain_timeout_ms are
   * taken from the fields above instead). */
  cmcp__http_config http;
} cmcp__mcp_config;

typedef struct cmcp__mcp_shared cmcp__mcp_shared;
typedef struct cmcp__mcp_loop cmcp__mcp_loop;

/* The process-wide part for nloops loops (cfg is copied; its strings stay
 * borrowed). NULL on ENOMEM or bad arguments. */
cmcp__mcp_shared *cmcp__mcp_shared_new(cmcp_server_t *srv,
                                       const cmcp__mcp_config *cfg, int nloops);
/* Frees it once every loop is freed. */
void cmcp__mcp_shared_free(cmcp__mcp_shared *sh);

/* Creates loop number index (0 <= index < nloops) on loop, with its own
 * mailbox, a worker pool of workers threads (queue of queue_max) and an
 * HTTP server listening on cfg->host:port (reuseport: SO_REUSEPORT). May
 * run on any thread while loop is not running yet. CMCP_EIO when the
 * address cannot be bound, CMCP_ENOMEM, CMCP_EINVAL. On a failure that
 * left *out set, the handles made so far are closing: run loop until
 * uv_run returns, then free *out with cmcp__mcp_loop_free. */
int cmcp__mcp_loop_new(cmcp__mcp_loop **out, cmcp__mcp_shared *sh, int index,
                       uv_loop_t *loop, int workers, size_t queue_max, int port,
                       int reuseport);

/* The port the loop's server is bound to. */
int cmcp__mcp_loop_port(const cmcp__mcp_loop *lp);

/* Asks the loop to stop, from any thread: it stops accepting, ends the
 * listen and GET streams, gives in-flight requests cfg->drain_timeout_ms,
 * then closes every handle so that uv_run returns. now != 0 (a second
 * signal) aborts what is left at once. Returns 0 or CMCP_ECLOSED. */
int cmcp__mcp_loop_stop(cmcp__mcp_loop *lp, int now);

/* Frees the loop's memory after uv_run returned (a blocking handler that
 * never returns keeps the loop running: the caller then ends the process
 * instead, as the stdio transport does). */
void cmcp__mcp_loop_free(cmcp__mcp_loop *lp);

#endif /* CMCP_TRANSPORT_MCP_HTTP_H */
