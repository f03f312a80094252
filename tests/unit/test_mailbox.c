/* Unit tests for src/rt/mailbox.c: the MPSC closure queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "rt/rt.h"
#include <stdlib.h>
#include <string.h>

#define PRODUCERS 4
#define PER_PRODUCER 10000

typedef struct slot {
  int count;
  int producer;
  int seq;
} slot;

static slot g_slots[PRODUCERS * PER_PRODUCER];
static int g_last_seq[PRODUCERS];
static int g_order_ok = 1;
static uv_thread_t g_loop_thread;
static int g_wrong_thread;

static void mark(void *arg) {
  slot *s = arg;
  s->count++;
  if (!uv_thread_equal(&g_loop_thread, &(uv_thread_t){uv_thread_self()}))
    g_wrong_thread++;
  /* one producer's posts arrive in the order it made them */
  if (s->seq <= g_last_seq[s->producer])
    g_order_ok = 0;
  g_last_seq[s->producer] = s->seq;
}

typedef struct producer_arg {
  cmcp__mailbox *mb;
  int id;
  int failures;
} producer_arg;

static void producer(void *arg) {
  producer_arg *p = arg;
  int i;
  for (i = 0; i < PER_PRODUCER; i++) {
    slot *s = &g_slots[p->id * PER_PRODUCER + i];
    s->producer = p->id;
    s->seq = i;
    if (cmcp__mailbox_post(p->mb, mark, s) != 0)
      p->failures++;
  }
}

static void wake(uv_timer_t *t) {
  (void)t;
}

/* Runs loop turns until *counter reaches want or 20 s pass. */
static void run_until(uv_loop_t *loop, const uint64_t *counter, uint64_t want) {
  uv_timer_t tick;
  uint64_t deadline = uv_hrtime() + 20 * (uint64_t)1000000000;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, wake, 10, 10);
  uv_unref((uv_handle_t *)&tick);
  while (*counter < want && uv_hrtime() < deadline)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static uint64_t g_batches;
static void count_batch(void *data) {
  (void)data;
  g_batches++;
}

static void count_delivered(void *data) {
  cmcp__mailbox *mb = *(cmcp__mailbox **)data;
  g_batches = cmcp__mailbox_delivered(mb);
}

static void posts_from_four_threads_delivered_exactly_once(void **state) {
  uv_loop_t loop;
  cmcp__mailbox *mb = NULL;
  uv_thread_t threads[PRODUCERS];
  producer_arg args[PRODUCERS];
  int i;
  (void)state;
  memset(g_slots, 0, sizeof g_slots);
  for (i = 0; i < PRODUCERS; i++)
    g_last_seq[i] = -1;
  g_loop_thread = uv_thread_self();
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, count_delivered, &mb), 0);
  g_batches = 0;
  for (i = 0; i < PRODUCERS; i++) {
    args[i].mb = mb;
    args[i].id = i;
    args[i].failures = 0;
    assert_int_equal(uv_thread_create(&threads[i], producer, &args[i]), 0);
  }
  run_until(&loop, &g_batches, PRODUCERS * PER_PRODUCER);
  for (i = 0; i < PRODUCERS; i++) {
    uv_thread_join(&threads[i]);
    assert_int_equal(args[i].failures, 0);
  }
  assert_int_equal(cmcp__mailbox_delivered(mb), PRODUCERS * PER_PRODUCER);
  for (i = 0; i < PRODUCERS * PER_PRODUCER; i++)
    assert_int_equal(g_slots[i].count, 1);
  assert_true(g_order_ok);
  assert_int_equal(g_wrong_thread, 0);
  cmcp__mailbox_close(mb);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static int g_runs;
static void bump(void *arg) {
  (void)arg;
  g_runs++;
}

static void post_after_close_is_eclosed(void **state) {
  uv_loop_t loop;
  cmcp__mailbox *mb;
  cmcp__mail node;
  (void)state;
  g_runs = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, NULL, NULL), 0);
  cmcp__mailbox_close(mb);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), CMCP_ECLOSED);
  node.fn = bump;
  node.arg = NULL;
  node.owned = 0;
  assert_int_equal(cmcp__mailbox_push(mb, &node), CMCP_ECLOSED);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(g_runs, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closures queued when the mailbox closes still run, exactly once, inside
 * the close (never later, never twice). */
static void close_runs_what_was_queued(void **state) {
  uv_loop_t loop;
  cmcp__mailbox *mb;
  (void)state;
  g_runs = 0;
  g_batches = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, count_batch, NULL), 0);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), 0);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), 0);
  assert_int_equal(g_runs, 0); /* never inside the post */
  cmcp__mailbox_close(mb);
  assert_int_equal(g_runs, 2);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(g_runs, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void after_batch_runs_after_closures(void **state) {
  uv_loop_t loop;
  cmcp__mailbox *mb;
  uint64_t runs;
  (void)state;
  g_runs = 0;
  g_batches = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, count_batch, NULL), 0);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), 0);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), 0);
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), 0);
  runs = 0;
  while (g_runs < 3 && runs++ < 100)
    uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(g_runs, 3);
  assert_int_equal(g_batches, 1); /* one wake-up, one batch */
  cmcp__mailbox_close(mb);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static int fail_alloc;
static void *t_malloc(size_t n) {
  return fail_alloc ? NULL : malloc(n);
}
static void *t_realloc(void *p, size_t n) {
  return fail_alloc ? NULL : realloc(p, n);
}
static void *t_calloc(size_t c, size_t n) {
  return fail_alloc ? NULL : calloc(c, n);
}

static void out_of_memory_is_reported(void **state) {
  uv_loop_t loop;
  cmcp__mailbox *mb;
  cmcp__mail node;
  int runs = 0;
  (void)state;
  g_runs = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free), 0);
  fail_alloc = 1;
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, NULL, NULL), CMCP_ENOMEM);
  assert_null(mb);
  fail_alloc = 0;
  assert_int_equal(cmcp__mailbox_new(&mb, &loop, NULL, NULL), 0);
  fail_alloc = 1;
  assert_int_equal(cmcp__mailbox_post(mb, bump, NULL), CMCP_ENOMEM);
  /* a caller-owned node needs no memory */
  node.fn = bump;
  node.arg = NULL;
  node.owned = 0;
  assert_int_equal(cmcp__mailbox_push(mb, &node), 0);
  while (g_runs < 1 && runs++ < 100)
    uv_run(&loop, UV_RUN_NOWAIT);
  fail_alloc = 0;
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  assert_int_equal(g_runs, 1);
  cmcp__mailbox_close(mb);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(posts_from_four_threads_delivered_exactly_once),
      cmocka_unit_test(post_after_close_is_eclosed),
      cmocka_unit_test(close_runs_what_was_queued),
      cmocka_unit_test(after_batch_runs_after_closures),
      cmocka_unit_test(out_of_memory_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
