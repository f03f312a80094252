/* src/rt/loops.h: the multi-threaded HTTP runtime. Internal.
 *
 * N loop threads, each a libuv loop with its own Streamable HTTP endpoint
 * (transport/mcp_http.h): its own listener on the same port (SO_REUSEPORT,
 * the kernel spreads connections), its own mailbox, its own worker pool
 * (the process's worker count split between the loops, so completions
 * always come back to the loop that submitted them) and its own table of
 * legacy sessions.
 */
#ifndef CMCP_RT_LOOPS_H
#define CMCP_RT_LOOPS_H

#include "transport/mcp_http.h"

typedef struct cmcp__loops cmcp__loops;

typedef struct cmcp__loops_config {
  int threads;        /* loop threads; 0: one per core */
  int port;           /* 0: any free port (the first loop picks it) */
  int separate_ports; /* each loop on its own port, no SO_REUSEPORT (tests
                         that must reach a given loop) */
  uv_async_t *on_end; /* if not NULL, sent as each loop thread ends */
  cmcp__mcp_config mcp;
} cmcp__loops_config;

/* Binds and starts the loop threads serving srv (SIGPIPE is ignored from
 * then on unless the program handles it). Returns 0, CMCP_EIO when
 * the address cannot be bound, CMCP_ENOMEM or CMCP_EINVAL (nothing then
 * runs). */
int cmcp__loops_start(cmcp__loops **out, cmcp_server_t *srv,
                      const cmcp__loops_config *cfg);

/* Number of loops, and the port loop i listens on. */
int cmcp__loops_count(const cmcp__loops *l);
int cmcp__loops_port(const cmcp__loops *l, int i);

/* Asks every loop to stop gracefully (now: abort what is left). Safe from
 * any thread and from a signal watcher; calling it again is harmless. */
void cmcp__loops_stop(cmcp__loops *l, int now);

/* Waits for every loop thread to end, then frees everything. */
void cmcp__loops_wait(cmcp__loops *l);

/* Runs srv over HTTP until SIGINT/SIGTERM: prints "cmcp: listening on
 * http://HOST:PORT/mcp" to stderr once bound, stops gracefully on the
 * first signal (a second one, or drain_timeout_ms plus a grace period,
 * ends at once). Returns the process exit status (0 on a clean stop). */
int cmcp__serve_http(cmcp_server_t *srv, const cmcp__loops_config *cfg);

#endif /* CMCP_RT_LOOPS_H */
