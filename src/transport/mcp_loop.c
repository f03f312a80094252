/* src/transport/mcp_loop.c: the lifetime of one loop's endpoint: setup,
 * the once-a-second tick, the stop sequence and the final close.
 *
 * Stop: the loop refuses new work (503), its HTTP server stops accepting,
 * the standalone GET streams and subscriptions/listen streams end (the
 * latter with their result), and in-flight requests get drain_timeout_ms
 * (the HTTP server's drain deadline) to be answered. Once the server has
 * closed every connection and the loop's sessions have nothing in flight
 * (their requests may come through other loops), or at the deadline, the
 * peers are closed, the worker pool joins, the mailbox and handles close,
 * and uv_run returns.
 */
#include "transport/mcp_int.h"

#include <arpa/inet.h>
#include <string.h>

cmcp__mcp_shared *cmcp__mcp_shared_new(cmcp_server_t *srv,
                                       const cmcp__mcp_config *cfg,
                                       int nloops) {
  cmcp__mcp_shared *sh;
  struct in6_addr a6;
  struct in_addr a4;
  if (srv == NULL || cfg == NULL || cfg->host == NULL || nloops < 1)
    return NULL;
  sh = cmcp__calloc(1, sizeof *sh);
  if (sh == NULL)
    return NULL;
  sh->loops = cmcp__calloc((size_t)nloops, sizeof *sh->loops);
  if (sh->loops == NULL) {
    cmcp__free(sh);
    return NULL;
  }
  sh->srv = srv;
  sh->cfg = *cfg;
  if (sh->cfg.session_idle_timeout_ms == 0)
    sh->cfg.session_idle_timeout_ms = CMCP__MCP_IDLE_TIMEOUT_DEFAULT_MS;
  if (sh->cfg.max_sessions == 0)
    sh->cfg.max_sessions = CMCP__MCP_MAX_SESSIONS_DEFAULT;
  if (sh->cfg.session_events == 0)
    sh->cfg.session_events = CMCP__MCP_SESSION_EVENTS_DEFAULT;
  if (sh->cfg.keepalive_ms == 0)
    sh->cfg.keepalive_ms = MCP_KEEPALIVE_MS;
  sh->nloops = nloops;
  sh->start_ms = cmcp__now_ms();
  atomic_init(&sh->sessions, 0);
  sh->host_loopback =
      (inet_pton(AF_INET, cfg->host, &a4) == 1 &&
       (ntohl(a4.s_addr) >> 24) == 127) ||
      (inet_pton(AF_INET6, cfg->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)) ||
      strcmp(cfg->host, "localhost") == 0;
  return sh;
}

void cmcp__mcp_shared_free(cmcp__mcp_shared *sh) {
  if (sh == NULL)
    return;
  cmcp__free(sh->loops);
  cmcp__free(sh);
}

static void on_reaper(uv_idle_t *h) {
  cmcp__mcp_loop *lp = h->data;
  uv_idle_stop(h);
  cmcp__mcp_moderns_reap(lp);
}

void cmcp__mcp_reap_kick(cmcp__mcp_loop *lp) {
  if (!lp->closing)
    uv_idle_start(&lp->reaper, on_reaper);
}

/* Before each poll: the turn that just ended was busy for the time since
 * the last prepare less the time the loop waited in poll; the shedding
 * rule takes it. */
static void on_lag(uv_prepare_t *h) {
  cmcp__mcp_loop *lp = h->data;
  cmcp__shed_mark(&lp->shed, uv_hrtime(), uv_metrics_idle_time(lp->loop));
}

/* Starts the measure when --max-queue-delay is on. */
static void lag_start(cmcp__mcp_loop *lp) {
  cmcp__shed_init(&lp->shed, lp->sh->cfg.max_queue_delay_ms);
  if (lp->sh->cfg.max_queue_delay_ms == 0)
    return;
  if (uv_loop_configure(lp->loop, UV_METRICS_IDLE_TIME) != 0) {
    cmcp__log(CMCP_LOG_WARNING, "http: no loop idle time: "
                                "--max-queue-delay is off");
    return;
  }
  uv_prepare_start(&lp->lag, on_lag);
}

static void maybe_finish(cmcp__mcp_loop *lp);

static void on_tick(uv_timer_t *h) {
  cmcp__mcp_loop *lp = h->data;
  uint64_t now = cmcp__now_ms();
  if (lp->stopping) {
    maybe_finish(lp);
    if (lp->closing)
      return;
  }
  if (lp->http != NULL)
    cmcp__mcp_update_stats(lp);
  cmcp__mcp_sessions_tick(lp, now);
  cmcp__mcp_moderns_tick(lp, now);
}

/* Takes each limit the user set (non-zero) over the layer's default. */
static void http_overrides(const cmcp__http_config *u, cmcp__http_config *hc) {
#define TAKE(f)                                                                \
  if (u->f != 0)                                                               \
  hc->f = u->f
  TAKE(max_header_bytes);
  TAKE(max_header_count);
  TAKE(max_url_bytes);
  TAKE(header_timeout_ms);
  TAKE(body_timeout_ms);
  TAKE(idle_timeout_ms);
  TAKE(send_timeout_ms);
  TAKE(max_pipelined);
  TAKE(max_outbound_bytes);
#undef TAKE
}

/* Fills the HTTP layer's configuration from the endpoint's. */
static void http_config(const cmcp__mcp_shared *sh, cmcp__http_config *hc) {
  int64_t msg = cmcp_server_limit(sh->srv, CMCP_LIMIT_MESSAGE_BYTES);
  cmcp__http_config_init(hc);
  http_overrides(&sh->cfg.http, hc);
  if (sh->cfg.max_connections > 0)
    hc->max_connections = sh->cfg.max_connections;
  hc->max_body_bytes = sh->cfg.max_body_bytes > 0 ? sh->cfg.max_body_bytes
                       : msg > 0                  ? (size_t)msg
                                                  : hc->max_body_bytes;
  /* 0 would mean the default to the HTTP layer: "no time" is 1 ms. */
  hc->drain_timeout_ms =
      sh->cfg.drain_timeout_ms > 0 ? sh->cfg.drain_timeout_ms : 1;
}

static void on_pool_closed(void *data);

/* Undoes a half-made loop: whatever exists closes as the loop runs. */
static void loop_abandon(cmcp__mcp_loop *lp) {
  lp->closing = 1;
  if (lp->http != NULL)
    cmcp__http_server_close(lp->http, NULL, NULL);
  lp->http = NULL;
  if (lp->pool != NULL)
    cmcp__workers_close(lp->pool, on_pool_closed, lp);
  else
    on_pool_closed(lp);
}

int cmcp__mcp_loop_new(cmcp__mcp_loop **out, cmcp__mcp_shared *sh, int index,
                       uv_loop_t *loop, int workers, size_t queue_max, int port,
                       int reuseport) {
  cmcp__http_config hc;
  cmcp__mcp_loop *lp;
  int rc;
  *out = NULL;
  if (sh == NULL || index < 0 || index >= sh->nloops || loop == NULL)
    return CMCP_EINVAL;
  lp = cmcp__calloc(1, sizeof *lp);
  if (lp == NULL)
    return CMCP_ENOMEM;
  if (uv_mutex_init(&lp->mb_lock) != 0) {
    cmcp__free(lp);
    return CMCP_ENOMEM;
  }
  *out = lp;
  lp->sh = sh;
  lp->index = index;
  lp->loop = loop;
  atomic_init(&lp->open_conns, 0);
  uv_timer_init(loop, &lp->tick);
  uv_idle_init(loop, &lp->reaper);
  uv_prepare_init(loop, &lp->lag);
  lp->lag.data = lp;
  lp->tick.data = lp;
  lp->reaper.data = lp;
  rc = cmcp__mailbox_new(&lp->mb, loop, NULL, NULL);
  lp->mb_open = rc == 0;
  if (rc == 0)
    rc = cmcp__workers_new(&lp->pool, lp->mb, workers, queue_max);
  if (rc == 0) {
    http_config(sh, &hc);
    lp->http = cmcp__http_server_new(loop, &hc, cmcp__mcp_on_request, lp);
    rc = lp->http == NULL ? CMCP_ENOMEM
                          : cmcp__http_server_listen(lp->http, sh->cfg.host,
                                                     port, reuseport);
  }
  if (rc != 0) {
    loop_abandon(lp);
    return rc;
  }
  lp->port = cmcp__http_server_port(lp->http);
  uv_timer_start(&lp->tick, on_tick, MCP_TICK_MS, MCP_TICK_MS);
  lag_start(lp);
  sh->loops[index] = lp;
  return 0;
}

int cmcp__mcp_loop_port(const cmcp__mcp_loop *lp) {
  return lp->port;
}

/* ---- stop and close ------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h) {
  (void)h;
}

static void on_pool_closed(void *data) {
  cmcp__mcp_loop *lp = data;
  /* The mailbox is freed as the loop runs: cmcp__mcp_loop_stop, which
   * other threads call at any time, must not reach it from now on. */
  uv_mutex_lock(&lp->mb_lock);
  lp->mb_open = 0;
  uv_mutex_unlock(&lp->mb_lock);
  if (lp->mb != NULL)
    cmcp__mailbox_close(lp->mb); /* runs what is still queued */
  uv_close((uv_handle_t *)&lp->tick, on_handle_closed);
  uv_close((uv_handle_t *)&lp->reaper, on_handle_closed);
  uv_close((uv_handle_t *)&lp->lag, on_handle_closed);
}

/* The final close: peers closed, worker pool joined, handles closed. */
static void final_close(cmcp__mcp_loop *lp) {
  cmcp__mcp_fronts_abort(lp);
  cmcp__mcp_sessions_close_all(lp);
  cmcp__mcp_moderns_close_all(lp);
  lp->closing = 1;
  uv_idle_stop(&lp->reaper);
  uv_prepare_stop(&lp->lag);
  uv_timer_stop(&lp->tick);
  cmcp__workers_close(lp->pool, on_pool_closed, lp);
}

/* Closes once this loop's connections are gone and its sessions have no
 * call in flight (requests of its sessions may be held by other loops),
 * or at the drain deadline. */
static void maybe_finish(cmcp__mcp_loop *lp) {
  if (!lp->http_closed || lp->closing)
    return;
  if (cmcp__now_ms() < lp->drain_deadline && cmcp__mcp_sessions_busy(lp))
    return;
  final_close(lp);
}

static void on_http_closed(cmcp__http_server *srv, void *data) {
  cmcp__mcp_loop *lp = data;
  (void)srv;
  lp->http_closed = 1;
  lp->http = NULL;
  maybe_finish(lp);
}

typedef struct stop_mail {
  cmcp__mcp_loop *lp;
  int now;
} stop_mail;

static void stop_run(void *arg) {
  stop_mail *sm = arg;
  cmcp__mcp_loop *lp = sm->lp;
  int now = sm->now;
  cmcp__free(sm);
  if (lp->closing)
    return;
  if (!lp->stopping) {
    lp->stopping = 1;
    lp->drain_deadline = cmcp__now_ms() + lp->sh->cfg.drain_timeout_ms;
    uv_timer_start(&lp->tick, on_tick, MCP_STOP_TICK_MS, MCP_STOP_TICK_MS);
    cmcp__mcp_sessions_shutdown(lp);
    cmcp__mcp_moderns_shutdown(lp);
    cmcp__http_server_close(lp->http, on_http_closed, lp);
  }
  if (now && !lp->http_closed) {
    /* A second signal: whatever is left is aborted at once. */
    lp->drain_deadline = 0;
    cmcp__mcp_fronts_abort(lp);
    cmcp__mcp_moderns_close_all(lp);
    cmcp__mcp_sessions_close_all(lp);
  }
}

int cmcp__mcp_push(cmcp__mcp_loop *to, cmcp__mail *mail) {
  int rc;
  uv_mutex_lock(&to->mb_lock);
  rc = to->mb_open ? cmcp__mailbox_push(to->mb, mail) : CMCP_ECLOSED;
  uv_mutex_unlock(&to->mb_lock);
  return rc;
}

int cmcp__mcp_post(cmcp__mcp_loop *to, void (*fn)(void *), void *arg) {
  int rc;
  uv_mutex_lock(&to->mb_lock);
  rc = to->mb_open ? cmcp__mailbox_post(to->mb, fn, arg) : CMCP_ECLOSED;
  uv_mutex_unlock(&to->mb_lock);
  return rc;
}

int cmcp__mcp_loop_stop(cmcp__mcp_loop *lp, int now) {
  stop_mail *sm = cmcp__malloc(sizeof *sm);
  int rc;
  if (sm == NULL)
    return CMCP_ENOMEM;
  sm->lp = lp;
  sm->now = now;
  rc = cmcp__mcp_post(lp, stop_run, sm);
  if (rc != 0)
    cmcp__free(sm);
  return rc;
}

void cmcp__mcp_loop_free(cmcp__mcp_loop *lp) {
  if (lp == NULL)
    return;
  if (lp->sh->loops[lp->index] == lp)
    lp->sh->loops[lp->index] = NULL;
  uv_mutex_destroy(&lp->mb_lock);
  cmcp__free(lp);
}
