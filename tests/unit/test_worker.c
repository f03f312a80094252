/* Unit tests for src/rt/worker.c: the bounded worker pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "rt/rt.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
  uv_loop_t loop;
  cmcp__mailbox *mb;
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL || uv_loop_init(&fx->loop) != 0)
    return -1;
  if (cmcp__mailbox_new(&fx->mb, &fx->loop, NULL, NULL) != 0)
    return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  cmcp__mailbox_close(fx->mb);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  free(fx);
  return 0;
}

static void wake(uv_timer_t *t) {
  (void)t;
}

/* Runs loop turns until *flag >= want or 20 s pass. */
static void run_until(uv_loop_t *loop, const int *flag, int want) {
  uv_timer_t tick;
  uint64_t deadline = uv_hrtime() + 20 * (uint64_t)1000000000;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, wake, 5, 5);
  uv_unref((uv_handle_t *)&tick);
  while (*flag < want && uv_hrtime() < deadline)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- queue bound ------------------------------------------------------- */

static uv_sem_t g_started, g_release;
static int g_done;
static atomic_int g_worked;

static void blocker(void *arg) {
  (void)arg;
  uv_sem_post(&g_started);
  uv_sem_wait(&g_release);
  atomic_fetch_add(&g_worked, 1);
}

static void quick(void *arg) {
  (void)arg;
  atomic_fetch_add(&g_worked, 1);
}

static void count_done(void *arg) {
  (void)arg;
  g_done++;
}

static int g_closed;
static void on_closed(void *data) {
  (void)data;
  g_closed++;
}

static void queue_bound_gives_elimit(void **state) {
  fixture *fx = *state;
  cmcp__workers *w;
  (void)state;
  g_done = 0;
  g_closed = 0;
  atomic_store(&g_worked, 0);
  uv_sem_init(&g_started, 0);
  uv_sem_init(&g_release, 0);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 1, 2), 0);
  assert_int_equal(cmcp__workers_submit(w, blocker, count_done, NULL), 0);
  uv_sem_wait(&g_started); /* the only thread is busy now */
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL), 0);
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL), 0);
  assert_int_equal(cmcp__workers_queued(w), 2);
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL),
                   CMCP_ELIMIT);
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL),
                   CMCP_ELIMIT);
  assert_int_equal(cmcp__workers_queued(w), 2); /* never grows */
  assert_int_equal(cmcp__workers_pending(w), 3);
  uv_sem_post(&g_release);
  run_until(&fx->loop, &g_done, 3);
  assert_int_equal(g_done, 3);
  assert_int_equal(atomic_load(&g_worked), 3); /* refused work never ran */
  assert_int_equal(cmcp__workers_pending(w), 0);
  /* room again once the queue drained */
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL), 0);
  run_until(&fx->loop, &g_done, 4);
  cmcp__workers_close(w, on_closed, NULL);
  run_until(&fx->loop, &g_closed, 1);
  assert_int_equal(g_closed, 1);
  uv_sem_destroy(&g_started);
  uv_sem_destroy(&g_release);
}

/* ---- threads ----------------------------------------------------------- */

static uv_thread_t g_main;
static atomic_int g_work_on_main;
static int g_done_off_main;

static void note_work_thread(void *arg) {
  uv_thread_t self = uv_thread_self();
  (void)arg;
  if (uv_thread_equal(&self, &g_main))
    atomic_fetch_add(&g_work_on_main, 1);
  atomic_fetch_add(&g_worked, 1);
}

static void note_done_thread(void *arg) {
  uv_thread_t self = uv_thread_self();
  (void)arg;
  if (!uv_thread_equal(&self, &g_main))
    g_done_off_main++;
  g_done++;
}

static void done_runs_on_the_loop_thread(void **state) {
  fixture *fx = *state;
  cmcp__workers *w;
  int i;
  g_main = uv_thread_self();
  g_done = 0;
  g_closed = 0;
  g_done_off_main = 0;
  atomic_store(&g_work_on_main, 0);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 2, 16), 0);
  for (i = 0; i < 10; i++)
    assert_int_equal(
        cmcp__workers_submit(w, note_work_thread, note_done_thread, NULL), 0);
  assert_int_equal(g_done, 0); /* done never runs inside submit */
  run_until(&fx->loop, &g_done, 10);
  assert_int_equal(g_done, 10);
  assert_int_equal(g_done_off_main, 0);
  assert_int_equal(atomic_load(&g_work_on_main), 0);
  cmcp__workers_close(w, on_closed, NULL);
  run_until(&fx->loop, &g_closed, 1);
  assert_int_equal(g_closed, 1);
}

static int g_seen[1000];
static void mark_seen(void *arg) {
  g_seen[(intptr_t)arg]++;
  g_done++;
}

static void all_submitted_work_completes(void **state) {
  fixture *fx = *state;
  cmcp__workers *w;
  int i;
  g_done = 0;
  g_closed = 0;
  memset(g_seen, 0, sizeof g_seen);
  atomic_store(&g_worked, 0);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 4, 64), 0);
  for (i = 0; i < 1000; i++) {
    int rc, tries = 0;
    while ((rc = cmcp__workers_submit(w, quick, mark_seen,
                                      (void *)(intptr_t)i)) == CMCP_ELIMIT &&
           tries++ < 100000) {
      uv_run(&fx->loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(rc, 0);
  }
  run_until(&fx->loop, &g_done, 1000);
  assert_int_equal(g_done, 1000);
  assert_int_equal(cmcp__workers_pending(w), 0);
  assert_int_equal(atomic_load(&g_worked), 1000);
  for (i = 0; i < 1000; i++)
    assert_int_equal(g_seen[i], 1);
  cmcp__workers_close(w, on_closed, NULL);
  run_until(&fx->loop, &g_closed, 1);
  assert_int_equal(g_closed, 1);
}

/* Close lets queued jobs finish, joins every thread, then reports. */
static void shutdown_finishes_queued_work_and_joins(void **state) {
  fixture *fx = *state;
  cmcp__workers *w;
  int i;
  g_done = 0;
  g_closed = 0;
  atomic_store(&g_worked, 0);
  uv_sem_init(&g_started, 0);
  uv_sem_init(&g_release, 0);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 3, 32), 0);
  assert_int_equal(cmcp__workers_submit(w, blocker, count_done, NULL), 0);
  uv_sem_wait(&g_started);
  for (i = 0; i < 20; i++)
    assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL), 0);
  cmcp__workers_close(w, on_closed, NULL);
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL),
                   CMCP_ECLOSED);
  cmcp__workers_close(w, on_closed, NULL); /* twice is harmless */
  assert_int_equal(g_closed, 0);           /* never inside the call */
  uv_sem_post(&g_release);
  run_until(&fx->loop, &g_closed, 1);
  assert_int_equal(g_closed, 1);
  assert_int_equal(g_done, 21); /* every done ran before the close report */
  assert_int_equal(atomic_load(&g_worked), 21);
  uv_sem_destroy(&g_started);
  uv_sem_destroy(&g_release);
}

static void bad_arguments_are_einval(void **state) {
  fixture *fx = *state;
  cmcp__workers *w;
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 0, 4), CMCP_EINVAL);
  assert_null(w);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 2000, 4), CMCP_EINVAL);
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 2, 0), CMCP_EINVAL);
  assert_int_equal(cmcp__workers_new(&w, NULL, 2, 4), CMCP_EINVAL);
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
  fixture *fx = *state;
  cmcp__workers *w;
  g_closed = 0;
  assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free), 0);
  fail_alloc = 1;
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 2, 4), CMCP_ENOMEM);
  fail_alloc = 0;
  assert_int_equal(cmcp__workers_new(&w, fx->mb, 2, 4), 0);
  fail_alloc = 1;
  assert_int_equal(cmcp__workers_submit(w, quick, count_done, NULL),
                   CMCP_ENOMEM);
  fail_alloc = 0;
  assert_int_equal(cmcp__workers_pending(w), 0);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  cmcp__workers_close(w, on_closed, NULL);
  run_until(&fx->loop, &g_closed, 1);
  assert_int_equal(g_closed, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(queue_bound_gives_elimit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(done_runs_on_the_loop_thread, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(all_submitted_work_completes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(shutdown_finishes_queued_work_and_joins,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(bad_arguments_are_einval, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(out_of_memory_is_reported, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
