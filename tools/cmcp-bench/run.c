/* run.c: one process's share of the load, on one libuv loop.
 *
 * Three timers drive it: "pace" (every 10 ms) starts clients up to the
 * number wanted now (--ramp, --steps) with at most --connect-concurrency
 * handshakes at once; "sweep" (every 100 ms) times requests out and
 * retries failed handshakes and streams; "tick" (every second) hands the
 * second's counters and histogram to the caller. At the end (--duration or
 * --requests) no request starts; those in flight get up to --timeout to
 * finish, then count as timeouts, so every request sent ends as an answer
 * or an error.
 */
#include "client.h"

#include <math.h>
#include <signal.h>
#include <string.h>

#define PACE_MS 10
#define SWEEP_MS 100
#define TICK_MS 1000

uint64_t bench_now_ns(void) {
  return uv_hrtime();
}

/* This process's share of n clients. */
static int share(const bench_opts *o, int n) {
  int procs = o->procs > 0 ? o->procs : 1, i = o->child_index;
  if (i < 0)
    return n;
  return n / procs + (i < n % procs ? 1 : 0);
}

/* This process's share of a request bound n (0: it sends none). */
static uint64_t share_u64(const bench_opts *o, uint64_t n) {
  uint64_t procs = o->procs > 0 ? (uint64_t)o->procs : 1, i;
  if (o->child_index < 0)
    return n;
  i = (uint64_t)o->child_index;
  return n / procs + (i < n % procs ? 1 : 0);
}

/* The first global client number of this process. */
static int share_base(const bench_opts *o, int n) {
  int base = 0, i;
  bench_opts tmp = *o;
  for (i = 0; i < o->child_index; i++) {
    tmp.child_index = i;
    base += share(&tmp, n);
  }
  return base;
}

static int max_clients(const bench_opts *o) {
  int n = o->clients, i;
  for (i = 0; i < o->nsteps; i++)
    if (o->steps[i] > n)
      n = o->steps[i];
  return n;
}

/* The plateau at ns since start. */
static int step_at(const bench_opts *o, uint64_t since) {
  int k;
  if (o->nsteps == 0 || o->step_duration <= 0)
    return 0;
  k = (int)((double)since / 1e9 / o->step_duration);
  return k < o->nsteps ? k : o->nsteps - 1;
}

int bench_target_clients(const bench_runner *r, uint64_t since) {
  const bench_opts *o = r->o;
  double t = (double)since / 1e9;
  int n;
  if (o->nsteps > 0) /* the idle clients come first in the array */
    return r->nidle + share(o, o->steps[step_at(o, since)]);
  n = r->nclients;
  if (o->ramp > 0 && t < o->ramp) {
    n = (int)ceil((double)n * t / o->ramp);
    if (n < 1)
      n = 1;
  }
  return n;
}

/* ---- the end --------------------------------------------------------------
 */

static void emit(bench_runner *r, int ms);

static void on_close_nothing(uv_handle_t *h) {
  (void)h;
}

/* Ends the run: what is still in flight times out, the last tick goes out
 * and every handle closes. */
static void finish(bench_runner *r) {
  int i;
  uint64_t now = bench_now_ns();
  int ms = (int)((now - r->t0) / 1000000 - (uint64_t)r->sec * TICK_MS);
  for (i = 0; i < r->started; i++)
    bench_client_sweep(&r->clients[i], UINT64_MAX);
  if (r->stdio != NULL)
    bench_stdio_sweep(r, UINT64_MAX);
  emit(r, ms > 0 ? ms : 1);
  for (i = 0; i < r->started; i++)
    bench_client_stop(&r->clients[i]);
  for (i = 0; i < r->nclients; i++)
    uv_close((uv_handle_t *)&r->clients[i].timer, on_close_nothing);
  if (r->stdio != NULL)
    bench_stdio_stop(r);
  uv_close((uv_handle_t *)&r->tick, on_close_nothing);
  uv_close((uv_handle_t *)&r->pace, on_close_nothing);
  uv_close((uv_handle_t *)&r->sweep, on_close_nothing);
  uv_close((uv_handle_t *)&r->sigint, on_close_nothing);
}

/* No new request from now on; the sweep finishes the run. */
static void stop_soon(bench_runner *r) {
  int i;
  if (r->stopping)
    return;
  r->stopping = 1;
  uv_timer_stop(&r->pace);
  for (i = 0; i < r->started; i++)
    uv_timer_stop(&r->clients[i].timer);
}

/* Ctrl-C: end the run now, with its report. */
static void on_sigint(uv_signal_t *s, int signum) {
  (void)signum;
  stop_soon(s->data);
}

/* ---- timers ----------------------------------------------------------------
 */

/* 1 when at least 99% of the clients wanted now are ready: a plateau
 * whose last few clients keep failing their handshake still counts. */
static int mostly_ready(const bench_runner *r) {
  return (int64_t)r->ready * 100 >= (int64_t)r->step_target * 99;
}

static void emit(bench_runner *r, int ms) {
  const bench_opts *o = r->o;
  bench_tick t;
  memset(&t, 0, sizeof t);
  t.sec = ++r->sec;
  t.ms = ms;
  t.step = r->step;
  t.steady = r->steady && mostly_ready(r);
  t.warm = o->warmup > 0 && (double)t.sec <= o->warmup;
  t.clients = (uint64_t)r->ready;
  t.target = (uint64_t)r->step_target;
  t.streams = (uint64_t)r->streams;
  t.c = r->c;
  t.h = &r->h;
  t.svc = &r->svc;
  r->fn(&t, r->fn_data);
  memset(&r->c, 0, sizeof r->c);
  bench_hist_reset(&r->h);
  bench_hist_reset(&r->svc);
  r->steady = mostly_ready(r);
}

static void on_tick(uv_timer_t *t) {
  bench_runner *r = t->data;
  emit(r, TICK_MS);
}

static void on_pace(uv_timer_t *t) {
  bench_runner *r = t->data;
  uint64_t since = bench_now_ns() - r->t0;
  int target = bench_target_clients(r, since);
  int step = step_at(r->o, since);
  if (r->stdio != NULL && !bench_stdio_ready(r))
    return;
  if (step != r->step) {
    r->step = step;
    r->steady = 0;
  }
  r->step_target = target;
  while (r->started < target && r->started < r->nclients &&
         r->handshaking < r->o->connect_concurrency)
    bench_client_start(&r->clients[r->started++]);
  if (!mostly_ready(r))
    r->steady = 0;
}

static void on_sweep(uv_timer_t *t) {
  bench_runner *r = t->data;
  uint64_t now = uv_now(&r->loop), since = bench_now_ns() - r->t0;
  int i;
  if (!r->stopping &&
      (since >= (uint64_t)(r->o->duration * 1e9) || r->budget == 0))
    stop_soon(r);
  if (r->stopping && (r->inflight == 0 || since >= r->drain_until)) {
    finish(r);
    return;
  }
  if (r->stopping && r->drain_until == UINT64_MAX)
    r->drain_until = since + (uint64_t)r->o->timeout_ms * 1000000;
  for (i = 0; i < r->started; i++)
    bench_client_sweep(&r->clients[i], now);
  if (r->stdio != NULL)
    bench_stdio_sweep(r, now);
}

/* ---- setup -----------------------------------------------------------------
 */

/* Expands the --mix weights into the method sequence clients cycle. */
static void expand_mix(bench_runner *r) {
  int m, k, total = 0, round;
  for (m = 0; m < BENCH_M_COUNT; m++)
    total += r->o->mix[m];
  /* interleave: one of each method per round while its weight lasts */
  for (round = 0; r->nmix < total && r->nmix < BENCH_MIX_MAX; round++)
    for (m = 0; m < BENCH_M_COUNT; m++)
      for (k = 0; k < 1 && round < r->o->mix[m] && r->nmix < BENCH_MIX_MAX; k++)
        r->mix[r->nmix++] = (uint8_t)m;
  if (r->nmix == 0)
    r->mix[r->nmix++] = BENCH_M_TOOLS_CALL;
}

static int setup(bench_runner *r) {
  const bench_opts *o = r->o;
  int i, n = max_clients(o), base = share_base(o, n);
  double rate = o->client_rate;
  r->nidle = o->stdio_cmd == NULL ? share(o, o->idle) : 0;
  r->nclients = r->nidle + share(o, n);
  r->clients = cmcp__calloc(r->nclients > 0 ? (size_t)r->nclients : 1,
                            sizeof *r->clients);
  r->pad = cmcp__malloc(o->payload + 1);
  if (r->clients == NULL || r->pad == NULL)
    return CMCP_ENOMEM;
  memset(r->pad, 'x', o->payload);
  r->pad[o->payload] = '\0';
  expand_mix(r);
  if (bench_templates_init(r) != 0 || bench_hist_init(&r->h) != 0 ||
      bench_hist_init(&r->svc) != 0)
    return CMCP_ENOMEM;
  for (i = 0; i < r->nclients; i++) {
    bench_client *cl = &r->clients[i];
    cl->r = r;
    cl->idle = (uint8_t)(i < r->nidle);
    /* idle clients are numbered after every active one */
    cl->index = cl->idle ? n + share_base(o, o->idle) + i : base + i - r->nidle;
    cl->interval = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    cl->stream_wanted =
        (uint8_t)((o->streams || cl->idle) && o->stdio_cmd == NULL);
    uv_timer_init(&r->loop, &cl->timer);
    cl->timer.data = cl;
  }
  r->budget = o->max_requests > 0 ? share_u64(o, o->max_requests) : UINT64_MAX;
  r->drain_until = UINT64_MAX;
  return 0;
}

int bench_run(const bench_opts *o, bench_tick_fn fn, void *data) {
  bench_runner *r = cmcp__calloc(1, sizeof *r);
  int rc;
  if (r == NULL)
    return CMCP_ENOMEM;
  r->o = o;
  r->fn = fn;
  r->fn_data = data;
  if ((rc = uv_loop_init(&r->loop)) != 0) {
    cmcp__free(r);
    return rc;
  }
  rc = setup(r);
  if (rc == 0 && o->stdio_cmd != NULL)
    rc = bench_stdio_start(r);
  if (rc == 0) {
    r->t0 = bench_now_ns();
    r->end = r->t0 + (uint64_t)(o->duration * 1e9);
    uv_update_time(&r->loop);
    uv_timer_init(&r->loop, &r->tick);
    uv_timer_init(&r->loop, &r->pace);
    uv_timer_init(&r->loop, &r->sweep);
    r->tick.data = r->pace.data = r->sweep.data = r;
    uv_signal_init(&r->loop, &r->sigint);
    r->sigint.data = r;
    uv_signal_start(&r->sigint, on_sigint, SIGINT);
    uv_unref((uv_handle_t *)&r->sigint);
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_start(&r->pace, on_pace, 0, PACE_MS);
    uv_timer_start(&r->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  } else {
    int i;
    for (i = 0; i < r->nclients && r->clients[i].r != NULL; i++)
      uv_close((uv_handle_t *)&r->clients[i].timer, on_close_nothing);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&r->loop);
  bench_stdio_free(r);
  bench_templates_free(r);
  bench_hist_free(&r->h);
  bench_hist_free(&r->svc);
  cmcp__free(r->clients);
  cmcp__free(r->pad);
  cmcp__free(r);
  return rc;
}
