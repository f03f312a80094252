/* Unit tests for cmcp-bench's latency histogram (tools/cmcp-bench/hist.c)
 * and the per-second ticks that carry it between processes (report.c):
 * slot bounds, percentiles within the stated 0.2% of the exact ones,
 * exact merging, and a lossless JSON round trip. */
/* cmocka needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../tools/cmcp-bench/hist.c"
#include "../../tools/cmcp-bench/report.c"
#include "helper_alloc.h"

#include <stdlib.h>

#define N 20000

/* A deterministic spread of latencies from 1 us to about 10 s: a
 * log-uniform body and a few very large values. */
static uint64_t sample(uint32_t *seed) {
  double u;
  *seed = *seed * 1103515245u + 12345u;
  u = (double)(*seed >> 8) / (double)(1u << 24);
  return (uint64_t)exp(u * log(1e7));
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The exact value of rank ceil(p% of n) among sorted v. */
static uint64_t exact(const uint64_t *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);
  return v[rank < 1 ? 0 : rank - 1];
}

static void slots_tile_the_range(void **state) {
  size_t i;
  (void)state;
  assert_int_equal(bench_hist_slot_low(0), 0);
  for (i = 0; i < BENCH_HIST_SLOTS; i++) {
    uint64_t lo = bench_hist_slot_low(i), hi = bench_hist_slot_high(i);
    assert_true(lo <= hi);
    assert_int_equal(bench_hist_slot(lo), i);
    assert_int_equal(bench_hist_slot(hi), i);
    if (i + 1 < BENCH_HIST_SLOTS) /* no gap, no overlap */
      assert_int_equal(bench_hist_slot_low(i + 1), hi + 1);
    /* a slot is at most 1/512 of its values wide */
    assert_true((hi - lo + 1) * 512 <= lo || lo < BENCH_HIST_SUB);
  }
}

static void small_values_are_exact(void **state) {
  bench_hist h;
  uint64_t v;
  (void)state;
  assert_int_equal(bench_hist_init(&h), 0);
  for (v = 0; v < BENCH_HIST_SUB; v++)
    bench_hist_record(&h, v);
  assert_int_equal(bench_hist_percentile(&h, 50), 511);
  assert_int_equal(bench_hist_percentile(&h, 0), 0);
  assert_int_equal(bench_hist_percentile(&h, 100), 1023);
  assert_int_equal(bench_hist_percentile(&h, 0.1), 1);
  bench_hist_free(&h);
}

static void percentiles_within_precision(void **state) {
  static uint64_t v[N];
  static const double ps[] = {1, 10, 50, 90, 95, 99, 99.9, 99.99};
  bench_hist h;
  uint32_t seed = 42;
  size_t i, k;
  (void)state;
  assert_int_equal(bench_hist_init(&h), 0);
  for (i = 0; i < N; i++) {
    v[i] = sample(&seed);
    bench_hist_record(&h, v[i]);
  }
  qsort(v, N, sizeof v[0], cmp_u64);
  assert_int_equal(h.total, N);
  assert_int_equal(h.min, v[0]);
  assert_int_equal(h.max, v[N - 1]);
  for (k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    uint64_t e = exact(v, N, ps[k]), got = bench_hist_percentile(&h, ps[k]);
    /* never below the exact value, at most 0.2% above it */
    assert_true(got >= e);
    assert_true((double)(got - e) <= (double)e / 512.0 + 1e-9);
  }
  bench_hist_free(&h);
}

static void huge_values_clamp_but_max_is_exact(void **state) {
  bench_hist h;
  (void)state;
  assert_int_equal(bench_hist_init(&h), 0);
  bench_hist_record(&h, UINT64_MAX / 2);
  bench_hist_record(&h, 5);
  assert_int_equal(h.counts[BENCH_HIST_SLOTS - 1], 1);
  assert_int_equal(bench_hist_percentile(&h, 100), UINT64_MAX / 2);
  assert_int_equal(bench_hist_percentile(&h, 50), 5);
  bench_hist_free(&h);
}

static void empty_and_reset(void **state) {
  bench_hist h;
  (void)state;
  assert_int_equal(bench_hist_init(&h), 0);
  assert_int_equal(bench_hist_percentile(&h, 99), 0);
  assert_true(bench_hist_mean(&h) == 0.0);
  bench_hist_record(&h, 70000);
  bench_hist_record(&h, 3);
  bench_hist_reset(&h);
  assert_int_equal(h.total, 0);
  assert_int_equal(h.counts[bench_hist_slot(70000)], 0);
  assert_int_equal(h.counts[3], 0);
  assert_int_equal(bench_hist_percentile(&h, 50), 0);
  bench_hist_free(&h);
}

static void merge_equals_recording_all(void **state) {
  bench_hist a, b, all;
  uint32_t seed = 7;
  size_t i;
  (void)state;
  assert_int_equal(bench_hist_init(&a), 0);
  assert_int_equal(bench_hist_init(&b), 0);
  assert_int_equal(bench_hist_init(&all), 0);
  for (i = 0; i < N; i++) {
    uint64_t x = sample(&seed);
    bench_hist_record(i % 3 ? &a : &b, x);
    bench_hist_record(&all, x);
  }
  bench_hist_merge(&a, &b);
  assert_int_equal(a.total, all.total);
  assert_int_equal(a.min, all.min);
  assert_int_equal(a.max, all.max);
  assert_int_equal(a.lo, all.lo);
  assert_int_equal(a.hi, all.hi);
  assert_memory_equal(a.counts, all.counts,
                      BENCH_HIST_SLOTS * sizeof a.counts[0]);
  assert_int_equal(bench_hist_percentile(&a, 99.9),
                   bench_hist_percentile(&all, 99.9));
  assert_true(fabs(a.sum - all.sum) < 1.0);
  /* merging an empty histogram changes nothing */
  bench_hist_reset(&b);
  bench_hist_merge(&a, &b);
  assert_int_equal(a.total, all.total);
  bench_hist_free(&a);
  bench_hist_free(&b);
  bench_hist_free(&all);
}

static void tick_json_round_trip(void **state) {
  bench_hist h, back, svc, svc_back;
  bench_tick t, u;
  cmcp__buf b;
  uint32_t seed = 3;
  size_t i;
  (void)state;
  assert_int_equal(bench_hist_init(&h), 0);
  assert_int_equal(bench_hist_init(&back), 0);
  assert_int_equal(bench_hist_init(&svc), 0);
  assert_int_equal(bench_hist_init(&svc_back), 0);
  for (i = 0; i < 500; i++) {
    uint64_t x = sample(&seed);
    bench_hist_record(&h, x);
    bench_hist_record(&svc, x / 2 + 1);
  }
  memset(&t, 0, sizeof t);
  memset(&u, 0, sizeof u);
  t.sec = 4;
  t.ms = 1000;
  t.step = 2;
  t.steady = 1;
  t.clients = 250;
  t.c.sent = 510;
  t.c.ok = 500;
  t.c.err[BENCH_E_REFUSED] = 10;
  t.c.retry_after = 9;
  t.h = &h;
  t.svc = &svc;
  u.h = &back;
  u.svc = &svc_back;
  cmcp__buf_init(&b, 1u << 20);
  assert_int_equal(bench_tick_to_json(&t, &b), 0);
  assert_int_equal(bench_tick_from_json(b.data, b.len, &u), 0);
  assert_int_equal(u.sec, 4);
  assert_int_equal(u.step, 2);
  assert_int_equal(u.steady, 1);
  assert_int_equal(u.clients, 250);
  assert_memory_equal(&u.c, &t.c, sizeof t.c);
  assert_int_equal(back.total, h.total);
  assert_int_equal(back.min, h.min);
  assert_int_equal(back.max, h.max);
  assert_memory_equal(back.counts, h.counts,
                      BENCH_HIST_SLOTS * sizeof h.counts[0]);
  assert_int_equal(svc_back.total, svc.total);
  assert_int_equal(svc_back.max, svc.max);
  assert_memory_equal(svc_back.counts, svc.counts,
                      BENCH_HIST_SLOTS * sizeof svc.counts[0]);
  /* not a tick */
  assert_int_equal(bench_tick_from_json("[1,2]", 5, &u), -1);
  assert_int_equal(bench_tick_from_json("{\"sec\":1}", 9, &u), -1);
  cmcp__buf_free(&b);
  bench_hist_free(&h);
  bench_hist_free(&back);
  bench_hist_free(&svc);
  bench_hist_free(&svc_back);
}

/* Regression: a process that ended first lowered the ticks expected of
 * every row, so the last process's seconds missed their plateau. */
static void rows_wait_for_every_process(void **state) {
  bench_opts o;
  bench_report *r;
  bench_hist h;
  bench_tick t;
  int src, sec;
  (void)state;
  memset(&o, 0, sizeof o);
  o.nsteps = 1;
  o.steps[0] = 10;
  o.progress = 0;
  o.format = BENCH_FMT_JSON;
  o.output = "/dev/null";
  o.url = "http://127.0.0.1:1/mcp";
  o.protocol = "2026-07-28";
  r = bench_report_new(&o, 2);
  assert_non_null(r);
  assert_int_equal(bench_hist_init(&h), 0);
  for (src = 0; src < 2; src++) {
    for (sec = 1; sec <= 3; sec++) {
      memset(&t, 0, sizeof t);
      bench_hist_reset(&h);
      bench_hist_record(&h, 100u * (unsigned)(src + 1));
      t.sec = sec;
      t.ms = 1000;
      t.steady = 1;
      t.clients = 5;
      t.c.sent = t.c.ok = 1;
      t.h = &h;
      bench_report_add(r, src, &t);
      /* nothing completes before the other process sent that second */
      assert_int_equal(r->shown, src == 0 ? 0 : sec);
    }
    if (src == 0)
      bench_report_source_done(r, 0);
  }
  assert_int_equal(r->rows[0].clients, 10);
  assert_int_equal(r->steps[0].total, 6);
  assert_int_equal(r->tc.ok, 6);
  assert_int_equal(bench_report_write(r), 0);
  assert_true(bench_report_throughput(r) > 1.99);
  bench_hist_free(&h);
  bench_report_free(r);
}

static void init_fails_cleanly_without_memory(void **state) {
  bench_hist h;
  (void)state;
  alloc_fail_install();
  alloc_fail_arm(1);
  assert_int_equal(bench_hist_init(&h), CMCP_ENOMEM);
  assert_null(h.counts);
  bench_hist_free(&h); /* harmless after a failed init */
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(slots_tile_the_range),
      cmocka_unit_test(small_values_are_exact),
      cmocka_unit_test(percentiles_within_precision),
      cmocka_unit_test(huge_values_clamp_but_max_is_exact),
      cmocka_unit_test(empty_and_reset),
      cmocka_unit_test(merge_equals_recording_all),
      cmocka_unit_test(tick_json_round_trip),
      cmocka_unit_test(rows_wait_for_every_process),
      cmocka_unit_test(init_fails_cleanly_without_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
