/* src/rt/metrics.h: the Prometheus /metrics exposition. Internal.
 *
 * Recording lives one layer down, in base/stats.h, so that every layer
 * (engine, transports, runtime) can count without depending on the
 * runtime. What to call where:
 *
 *   cmcp__stats_refused(CMCP__REFUSE_MAX_MEMORY);     a refusal, by limit
 *   cmcp__stats_count(CMCP__SC_SESSIONS_CREATED);     a counter
 *   cmcp__stats_gauge_add(CMCP__SG_STREAMS, +1 / -1); a gauge
 *   cmcp__stats_http_response(status);               an HTTP answer
 *   cmcp__stats_thread_attach() / _detach();         a loop thread's shard
 *
 * This file turns the sums into the Prometheus text format (version 0.0.4;
 * docs/METRICS.md lists every metric) and serves it: GET /metrics on the
 * MCP HTTP port, and on a port of its own with --metrics-listen (HTTP and
 * stdio servers alike).
 */
#ifndef CMCP_RT_METRICS_H
#define CMCP_RT_METRICS_H

#include "base/base.h"
#include "base/stats.h"

/* Content-Type of the exposition. */
#define CMCP__METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Most bytes one exposition may take. */
#define CMCP__METRICS_MAX_BYTES (256 * 1024)

/* Appends the whole exposition (every metric with its # HELP and # TYPE,
 * plus the process's resident memory read from /proc/self/statm) to b.
 * Returns 0, CMCP_ENOMEM, or CMCP_ELIMIT when b's limit is too small. Safe
 * from any thread. */
int cmcp__metrics_render(cmcp__buf *b);

/* Resident set size of this process in bytes, or 0 when unknown. */
uint64_t cmcp__metrics_rss_bytes(void);

/* A dedicated metrics endpoint (--metrics-listen): one thread with its own
 * loop answering GET /metrics (and /health) on host:port, so that a scrape
 * never waits behind MCP traffic, and stdio servers can be scraped too. */
typedef struct cmcp__metrics_server cmcp__metrics_server;

/* Binds host:port (numeric address; port 0 picks one) and starts the
 * thread. Returns 0, CMCP_EIO when the address cannot be bound,
 * CMCP_EINVAL, or CMCP_ENOMEM (nothing then runs). */
int cmcp__metrics_server_start(cmcp__metrics_server **out, const char *host,
                               int port);
/* The bound port. */
int cmcp__metrics_server_port(const cmcp__metrics_server *ms);
/* Stops the thread, waits for it and frees everything (NULL is fine). */
void cmcp__metrics_server_stop(cmcp__metrics_server *ms);

#endif /* CMCP_RT_METRICS_H */
