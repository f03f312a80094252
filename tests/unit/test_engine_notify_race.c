/* tests/unit/test_engine_notify_race.c: notifications and late results
 * posted from other threads while peers open and close. A transport frees
 * a peer's context right after cmcp__peer_close; any post reaching a freed
 * context is caught by ASan (and the races by TSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/engine.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define ROUNDS 300     /* peers opened and closed per test */
#define NOTIFIERS 2    /* threads raising notifications */
#define RUN_MS 20000   /* bound on any test's wall time */
#define QUEUE_MAX 4096 /* posted closures a loop may hold */

/* ---- a minimal threaded transport --------------------------------------- */

typedef struct rloop {
  pthread_mutex_t mu;
  struct {
    void (*fn)(void *);
    void *arg;
  } q[QUEUE_MAX];
  size_t n;
  atomic_long sent;
} rloop;

typedef struct rctx {
  rloop *lp; /* read by every op: a freed ctx is a use after free */
} rctx;

static int r_send(void *ctx, const char *json, size_t len,
                  const cmcp__out_info *info) {
  rctx *c = ctx;
  (void)json;
  (void)len;
  (void)info;
  atomic_fetch_add(&c->lp->sent, 1);
  return 0;
}

static int r_post(void *ctx, void (*fn)(void *), void *arg) {
  rctx *c = ctx;
  rloop *lp = c->lp;
  int rc = CMCP_ELIMIT;
  pthread_mutex_lock(&lp->mu);
  if (lp->n < QUEUE_MAX) {
    lp->q[lp->n].fn = fn;
    lp->q[lp->n].arg = arg;
    lp->n++;
    rc = 0;
  }
  pthread_mutex_unlock(&lp->mu);
  return rc;
}

static void r_close(void *ctx, const char *reason) {
  (void)ctx;
  (void)reason;
}

static const cmcp__peer_ops rops = {r_send, r_post, NULL, r_close};

/* Runs every queued closure (those queued meanwhile too). */
static void pump(rloop *lp) {
  for (;;) {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_lock(&lp->mu);
    if (lp->n == 0) {
      pthread_mutex_unlock(&lp->mu);
      return;
    }
    lp->n--;
    fn = lp->q[lp->n].fn;
    arg = lp->q[lp->n].arg;
    pthread_mutex_unlock(&lp->mu);
    fn(arg);
  }
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char init_msg[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
static const char ready_msg[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
static const char call_msg[] =
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"slow\",\"arguments\":{},\"_meta\":{\"progressToken\":7}}}";

/* Opens an initialized peer on the calling thread; its ctx is malloc'd. */
static cmcp__peer_t *open_peer(cmcp_server_t *srv, rloop *lp, rctx **out) {
  rctx *c = cmcp__malloc(sizeof(*c));
  cmcp__peer_t *peer;
  assert_non_null(c);
  c->lp = lp;
  peer = cmcp__peer_new(srv, &rops, c);
  assert_non_null(peer);
  assert_int_equal(cmcp__peer_feed(peer, init_msg, strlen(init_msg)), 0);
  assert_int_equal(cmcp__peer_feed(peer, ready_msg, strlen(ready_msg)), 0);
  *out = c;
  return peer;
}

/* Closes the peer and frees its ctx at once, as a transport does. */
static void close_peer(cmcp__peer_t *peer, rctx *c) {
  cmcp__peer_close(peer);
  memset(c, 0, sizeof(*c));
  cmcp__free(c);
}

/* ---- notifications from anywhere ----------------------------------------- */

typedef struct notifier {
  cmcp_server_t *srv;
  atomic_int *stop;
  atomic_int *started; /* notifiers that have raised at least once */
  long raised;
} notifier;

/* Raises notifications until told to stop (at least one round, so the
 * test never depends on how the threads were scheduled). */
static void *notify_main(void *arg) {
  notifier *n = arg;
  uint64_t end = now_ms() + RUN_MS;
  do {
    assert_int_equal(cmcp_server_notify_list_changed(n->srv, CMCP_LIST_TOOLS),
                     0);
    assert_int_equal(cmcp_server_log(n->srv, CMCP_LOG_ERROR, "t", "x"), 0);
    if (n->raised++ == 0)
      atomic_fetch_add(n->started, 1);
  } while (!atomic_load(n->stop) && now_ms() < end);
  return NULL;
}

static void noop_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_done(call);
}

static cmcp_server_t *server(cmcp_handler_fn fn) {
  cmcp_server_t *srv = cmcp_server_new("race", "1");
  assert_non_null(srv);
  assert_int_equal(
      cmcp_server_add_tool(srv, "slow", "t", "{\"type\":\"object\"}", fn, NULL),
      0);
  return srv;
}

static void test_notify_while_peers_close(void **state) {
  cmcp_server_t *srv = server(noop_tool);
  static rloop lp;
  atomic_int stop, started;
  notifier ns[NOTIFIERS];
  pthread_t th[NOTIFIERS];
  long raised = 0;
  int i;
  (void)state;
  memset(&lp, 0, sizeof(lp));
  pthread_mutex_init(&lp.mu, NULL);
  atomic_init(&stop, 0);
  atomic_init(&started, 0);
  for (i = 0; i < NOTIFIERS; i++) {
    ns[i].srv = srv;
    ns[i].stop = &stop;
    ns[i].started = &started;
    ns[i].raised = 0;
    assert_int_equal(pthread_create(&th[i], NULL, notify_main, &ns[i]), 0);
  }
  /* peers open and close while every notifier is already running */
  {
    uint64_t end = now_ms() + RUN_MS;
    while (atomic_load(&started) < NOTIFIERS && now_ms() < end)
      sched_yield();
  }
  for (i = 0; i < ROUNDS; i++) {
    rctx *a, *b;
    cmcp__peer_t *pa = open_peer(srv, &lp, &a);
    cmcp__peer_t *pb = open_peer(srv, &lp, &b);
    pump(&lp);
    close_peer(pa, a);
    pump(&lp);
    close_peer(pb, b);
  }
  atomic_store(&stop, 1);
  for (i = 0; i < NOTIFIERS; i++) {
    pthread_join(th[i], NULL);
    raised += ns[i].raised;
  }
  pump(&lp);
  assert_true(raised > 0);
  assert_true(atomic_load(&lp.sent) >= 2 * ROUNDS); /* initialize results */
  assert_int_equal(lp.n, 0);
  cmcp_server_free(srv);
  pthread_mutex_destroy(&lp.mu);
}

/* ---- late results and progress from a finisher thread ------------------- */

static _Atomic(cmcp_call_t *) parked; /* the call a finisher will finish */

static void park_tool(cmcp_call_t *call, void *data) {
  (void)data;
  atomic_store(&parked, call);
}

static void *finisher_main(void *arg) {
  atomic_int *stop = arg;
  uint64_t end = now_ms() + RUN_MS;
  while (!atomic_load(stop) && now_ms() < end) {
    cmcp_call_t *call = atomic_exchange(&parked, NULL);
    if (call == NULL) {
      sched_yield();
      continue;
    }
    cmcp_call_progress(call, 1, 2, NULL);
    assert_int_equal(cmcp_call_done(call), 0);
  }
  return NULL;
}

static void test_late_results_while_peers_close(void **state) {
  cmcp_server_t *srv = server(park_tool);
  static rloop lp;
  atomic_int stop;
  pthread_t th;
  uint64_t end = now_ms() + RUN_MS;
  int i;
  (void)state;
  memset(&lp, 0, sizeof(lp));
  pthread_mutex_init(&lp.mu, NULL);
  atomic_init(&stop, 0);
  atomic_store(&parked, NULL);
  assert_int_equal(pthread_create(&th, NULL, finisher_main, &stop), 0);
  for (i = 0; i < ROUNDS; i++) {
    rctx *c;
    cmcp__peer_t *peer = open_peer(srv, &lp, &c);
    assert_int_equal(cmcp__peer_feed(peer, call_msg, strlen(call_msg)), 0);
    if (i % 2 == 0)
      sched_yield(); /* let some finish before the close, some after */
    close_peer(peer, c);
    pump(&lp);
    /* One call parked at a time: the finisher takes it before the next. */
    while (atomic_load(&parked) != NULL && now_ms() < end)
      sched_yield();
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  pump(&lp);
  assert_null(atomic_load(&parked));
  assert_int_equal(lp.n, 0);
  cmcp_server_free(srv);
  pthread_mutex_destroy(&lp.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_notify_while_peers_close),
      cmocka_unit_test(test_late_results_while_peers_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
