/* src/rt/loops.c: loop threads for the HTTP transport (see loops.h). */
#include "rt/loops.h"

#include "base/base.h"
#include "base/stats.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FORCE_GRACE_MS 3000 /* after the drain, before _exit */

typedef struct loop_thread {
  uv_loop_t loop;
  cmcp__mcp_loop *lp;
  uv_thread_t tid;
  int started;
  struct cmcp__loops *owner;
} loop_thread;

struct cmcp__loops {
  cmcp__mcp_shared *sh;
  int n;
  loop_thread *t;
  atomic_int finished;
  uv_async_t *notify; /* cfg->on_end */
};

static void thread_main(void *arg) {
  loop_thread *t = arg;
  cmcp__stats_thread_attach(); /* this loop's own metrics shard */
  uv_run(&t->loop, UV_RUN_DEFAULT);
  cmcp__stats_thread_detach();
  atomic_fetch_add(&t->owner->finished, 1);
  if (t->owner->notify != NULL)
    uv_async_send(t->owner->notify);
}

static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Frees the loops made so far (none of them started). */
static void loops_unwind(cmcp__loops *l, int made) {
  int i;
  for (i = 0; i < made; i++) {
    if (l->t[i].lp != NULL) {
      uv_run(&l->t[i].loop, UV_RUN_DEFAULT); /* lets the handles close */
      cmcp__mcp_loop_free(l->t[i].lp);
    }
    uv_loop_close(&l->t[i].loop);
  }
  cmcp__mcp_shared_free(l->sh);
  cmcp__free(l->t);
  cmcp__free(l);
}

/* Creates loop i on its port; stops the loops made so far on failure. */
static int make_loop(cmcp__loops *l, int i, const cmcp__loops_config *cfg,
                     cmcp_server_t *srv) {
  int64_t w = cmcp_server_limit(srv, CMCP_LIMIT_WORKERS);
  int64_t q = cmcp_server_limit(srv, CMCP_LIMIT_WORKER_QUEUE);
  int workers = (int)(w > 0 ? w : 4) / l->n, port = cfg->port;
  size_t queue = (size_t)(q > 0 ? q : 1024) / (size_t)l->n;
  int rc;
  if (i > 0 && !cfg->separate_ports)
    port = cmcp__mcp_loop_port(l->t[0].lp);
  if (cfg->separate_ports && cfg->port != 0)
    port = cfg->port + i;
  rc = uv_loop_init(&l->t[i].loop);
  if (rc != 0)
    return CMCP_EIO;
  l->t[i].owner = l;
  return cmcp__mcp_loop_new(&l->t[i].lp, l->sh, i, &l->t[i].loop,
                            workers > 0 ? workers : 1, queue > 0 ? queue : 1,
                            port, !cfg->separate_ports);
}

/* A peer that resets its connection must not kill the process through
 * SIGPIPE on the next write: ignored unless the program set a handler. */
static void ignore_sigpipe(void) {
  struct sigaction old, ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
    sigaction(SIGPIPE, &ign, NULL);
}

int cmcp__loops_start(cmcp__loops **out, cmcp_server_t *srv,
                      const cmcp__loops_config *cfg) {
  cmcp__loops *l;
  int i, rc = 0;
  *out = NULL;
  ignore_sigpipe();
  l = cmcp__calloc(1, sizeof *l);
  if (l == NULL)
    return CMCP_ENOMEM;
  l->n = cfg->threads > 0 ? cfg->threads : default_threads();
  l->t = cmcp__calloc((size_t)l->n, sizeof *l->t);
  l->sh = cmcp__mcp_shared_new(srv, &cfg->mcp, l->n);
  atomic_init(&l->finished, 0);
  l->notify = cfg->on_end;
  if (l->t == NULL || l->sh == NULL) {
    cmcp__mcp_shared_free(l->sh);
    cmcp__free(l->t);
    cmcp__free(l);
    return CMCP_ENOMEM;
  }
  /* Every loop is bound before any runs: the loops are only touched by
   * this thread until their threads start. */
  for (i = 0; i < l->n && rc == 0; i++)
    rc = make_loop(l, i, cfg, srv);
  if (rc != 0) {
    loops_unwind(l, i);
    return rc;
  }
  for (i = 0; i < l->n; i++) {
    if (uv_thread_create(&l->t[i].tid, thread_main, &l->t[i]) != 0)
      break;
    l->t[i].started = 1;
  }
  *out = l;
  if (i < l->n) { /* a thread could not start: stop the others */
    cmcp__loops_stop(l, 1);
    cmcp__loops_wait(l);
    *out = NULL;
    return CMCP_EIO;
  }
  return 0;
}

int cmcp__loops_count(const cmcp__loops *l) {
  return l->n;
}

int cmcp__loops_port(const cmcp__loops *l, int i) {
  return i >= 0 && i < l->n ? cmcp__mcp_loop_port(l->t[i].lp) : 0;
}

void cmcp__loops_stop(cmcp__loops *l, int now) {
  int i;
  for (i = 0; i < l->n; i++)
    if (l->t[i].started)
      (void)cmcp__mcp_loop_stop(l->t[i].lp, now);
}

void cmcp__loops_wait(cmcp__loops *l) {
  int i;
  for (i = 0; i < l->n; i++) {
    if (l->t[i].started) {
      uv_thread_join(&l->t[i].tid);
    } else {
      /* Never started (thread creation failed): close its handles here. */
      (void)cmcp__mcp_loop_stop(l->t[i].lp, 1);
      uv_run(&l->t[i].loop, UV_RUN_DEFAULT);
    }
    cmcp__mcp_loop_free(l->t[i].lp);
    uv_loop_close(&l->t[i].loop);
  }
  cmcp__mcp_shared_free(l->sh);
  cmcp__free(l->t);
  cmcp__free(l);
}

/* ---- running as a program ------------------------------------------------ */

typedef struct serve_ctx {
  uv_loop_t loop;
  cmcp__loops *loops;
  uv_signal_t sig[2];
  uv_timer_t force;
  uv_async_t done;
  int signals;
  uint64_t drain_ms;
} serve_ctx;

static void on_force(uv_timer_t *h) {
  (void)h;
  /* Blocking handlers outlived the drain: their threads still use the
   * server, so the process ends here (every answer that could be sent
   * was sent). */
  cmcp__log(CMCP_LOG_WARNING, "http: drain timeout passed; exiting");
  fflush(NULL);
  _exit(0);
}

static void on_signal(uv_signal_t *h, int signum) {
  serve_ctx *c = h->data;
  (void)signum;
  cmcp__loops_stop(c->loops, c->signals++ > 0);
  if (c->signals == 1)
    uv_timer_start(&c->force, on_force, c->drain_ms + FORCE_GRACE_MS, 0);
}

static void close_handles(serve_ctx *c) {
  int i;
  for (i = 0; i < 2; i++)
    uv_close((uv_handle_t *)&c->sig[i], NULL);
  uv_close((uv_handle_t *)&c->force, NULL);
  uv_close((uv_handle_t *)&c->done, NULL);
}

/* A loop thread ended; after the last, the threads are joined (so none
 * still touches the async handle) and the handles close. */
static void on_done(uv_async_t *h) {
  serve_ctx *c = h->data;
  if (c->loops == NULL || atomic_load(&c->loops->finished) < c->loops->n)
    return;
  cmcp__loops_wait(c->loops);
  c->loops = NULL;
  close_handles(c);
}

/* Prints the line tests wait for, with the bound port. */
static void print_listening(const cmcp__loops_config *cfg, int port) {
  int v6 = strchr(cfg->mcp.host, ':') != NULL;
  fprintf(stderr, "cmcp: listening on http://%s%s%s:%d/mcp\n", v6 ? "[" : "",
          cfg->mcp.host, v6 ? "]" : "", port);
  fflush(stderr);
}

int cmcp__serve_http(cmcp_server_t *srv, const cmcp__loops_config *cfg) {
  cmcp__loops_config local;
  serve_ctx c;
  int rc;
  memset(&c, 0, sizeof c);
  if (uv_loop_init(&c.loop) != 0)
    return 1;
  c.drain_ms = cfg->mcp.drain_timeout_ms;
  uv_signal_init(&c.loop, &c.sig[0]);
  uv_signal_init(&c.loop, &c.sig[1]);
  uv_timer_init(&c.loop, &c.force);
  uv_async_init(&c.loop, &c.done, on_done);
  c.sig[0].data = c.sig[1].data = c.done.data = &c;
  uv_signal_start(&c.sig[0], on_signal, SIGINT);
  uv_signal_start(&c.sig[1], on_signal, SIGTERM);
  local = *cfg;
  local.on_end = &c.done;
  rc = cmcp__loops_start(&c.loops, srv, &local);
  if (rc != 0) {
    fprintf(stderr, "cmcp: cannot listen on %s:%d: %s\n", cfg->mcp.host,
            cfg->port, cmcp_strerror(rc));
    close_handles(&c);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    uv_loop_close(&c.loop);
    return 1;
  }
  print_listening(cfg, cmcp__loops_port(c.loops, 0));
  uv_run(&c.loop, UV_RUN_DEFAULT);
  uv_loop_close(&c.loop);
  return 0;
}
