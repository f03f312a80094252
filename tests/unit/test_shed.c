/* tests/unit/test_shed.c: the queueing-delay rule behind --max-queue-delay
 * (base/shed.c) and the option's parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/shed.h"
#include "rt/options.h"

#include <string.h>

#define MS(n) ((uint64_t)(n) * 1000000u)

/* Turns of busy ms each, back to back from start (ms): the last result. */
static int turns(cmcp__shed *s, uint64_t *at, uint64_t busy, int n) {
  int on = 0;
  while (n-- > 0) {
    *at += MS(busy);
    on = cmcp__shed_turn(s, *at, MS(busy));
  }
  return on;
}

static void test_off_never_sheds(void **state) {
  cmcp__shed s;
  uint64_t at = MS(1000);
  (void)state;
  cmcp__shed_init(&s, 0);
  assert_int_equal(turns(&s, &at, 500, 20), 0);
  assert_false(cmcp__shed_on(&s));
}

static void test_fast_turns_never_shed(void **state) {
  cmcp__shed s;
  uint64_t at = MS(1000);
  (void)state;
  cmcp__shed_init(&s, 20);
  assert_int_equal(turns(&s, &at, 20, 100), 0); /* at the target: not over */
  assert_int_equal(turns(&s, &at, 1, 100), 0);
}

static void test_one_slow_turn_does_not_shed(void **state) {
  cmcp__shed s;
  uint64_t at = MS(1000);
  (void)state;
  cmcp__shed_init(&s, 20);
  assert_int_equal(turns(&s, &at, 500, 1), 0);
  assert_int_equal(turns(&s, &at, 5, 1), 0);
  assert_int_equal(turns(&s, &at, 500, 1), 0);
  assert_false(cmcp__shed_on(&s));
}

static void test_sheds_after_an_interval_above(void **state) {
  cmcp__shed s;
  uint64_t at = MS(1000);
  (void)state;
  cmcp__shed_init(&s, 20);
  /* 25 ms turns: the run starts at the first; 2 x 20 ms later it sheds. */
  assert_int_equal(turns(&s, &at, 25, 2), 0);
  assert_int_equal(turns(&s, &at, 25, 1), 1);
  assert_true(cmcp__shed_on(&s));
  assert_int_equal(turns(&s, &at, 30, 5), 1); /* stays on while above */
}

static void test_stops_at_first_turn_below(void **state) {
  cmcp__shed s;
  uint64_t at = MS(1000);
  (void)state;
  cmcp__shed_init(&s, 10);
  assert_int_equal(turns(&s, &at, 15, 4), 1);
  assert_int_equal(turns(&s, &at, 2, 1), 0);
  assert_false(cmcp__shed_on(&s));
  /* A new run above has to last an interval again. */
  assert_int_equal(turns(&s, &at, 15, 2), 0);
  assert_int_equal(turns(&s, &at, 15, 1), 1);
}

static void test_clock_at_zero(void **state) {
  cmcp__shed s;
  (void)state;
  cmcp__shed_init(&s, 1);
  assert_int_equal(cmcp__shed_turn(&s, 0, MS(5)), 0);
  assert_int_equal(cmcp__shed_turn(&s, MS(1), MS(5)), 0);
  assert_int_equal(cmcp__shed_turn(&s, MS(3), MS(5)), 1);
}

/* Marks at the end of each loop turn: busy time is wall time less the
 * idle time that grew meanwhile; the first mark only starts the measure. */
static void test_mark_busy_is_wall_less_idle(void **state) {
  cmcp__shed s;
  (void)state;
  cmcp__shed_init(&s, 10);
  cmcp__shed_mark(&s, MS(100), MS(50));
  assert_int_equal(s.last_ns, 0);
  cmcp__shed_mark(&s, MS(130), MS(55)); /* 30 wall, 5 idle: 25 busy */
  assert_int_equal(s.last_ns, MS(25));
  assert_int_equal(cmcp__shed_on(&s), 0);
  cmcp__shed_mark(&s, MS(160), MS(60)); /* 25 busy again, 30 above */
  assert_int_equal(cmcp__shed_on(&s), 1);
  cmcp__shed_mark(&s, MS(170), MS(69)); /* 1 busy: stops */
  assert_int_equal(s.last_ns, MS(1));
  assert_int_equal(cmcp__shed_on(&s), 0);
  cmcp__shed_mark(&s, MS(180), MS(85)); /* idle grew more than wall: 0 */
  assert_int_equal(s.last_ns, 0);
}

static void test_option(void **state) {
  cmcp__options o;
  char err[256];
  char *ok[] = {"cmcpd", "--max-queue-delay", "5"};
  char *off[] = {"cmcpd", "--max-queue-delay", "0"};
  char *bad[] = {"cmcpd", "--max-queue-delay", "-1"};
  char *big[] = {"cmcpd", "--max-queue-delay", "60001"};
  char *none[] = {"cmcpd"};
  (void)state;
  assert_int_equal(cmcp__options_parse(&o, 1, none, err, sizeof err), 0);
  assert_int_equal(o.max_queue_delay_ms, CMCP__SHED_DEFAULT_MS);
  assert_int_equal(cmcp__options_parse(&o, 3, ok, err, sizeof err), 0);
  assert_int_equal(o.max_queue_delay_ms, 5);
  assert_int_equal(cmcp__options_parse(&o, 3, off, err, sizeof err), 0);
  assert_int_equal(o.max_queue_delay_ms, 0);
  assert_int_equal(cmcp__options_parse(&o, 3, bad, err, sizeof err),
                   CMCP_EINVAL);
  assert_non_null(strstr(err, "--max-queue-delay"));
  assert_int_equal(cmcp__options_parse(&o, 3, big, err, sizeof err),
                   CMCP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off_never_sheds),
      cmocka_unit_test(test_fast_turns_never_shed),
      cmocka_unit_test(test_one_slow_turn_does_not_shed),
      cmocka_unit_test(test_sheds_after_an_interval_above),
      cmocka_unit_test(test_stops_at_first_turn_below),
      cmocka_unit_test(test_clock_at_zero),
      cmocka_unit_test(test_mark_busy_is_wall_less_idle),
      cmocka_unit_test(test_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
