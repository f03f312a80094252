/* Unit tests for src/base: status table, bounded buffer, log levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/base.h"
#include <string.h>

static void strerror_covers_every_code(void **state) {
  (void)state;
  assert_string_equal(cmcp_strerror(CMCP_ENOMEM), "out of memory");
  assert_string_equal(cmcp_err_name(CMCP_ELIMIT), "CMCP_ELIMIT");
  assert_string_equal(cmcp_strerror(0), "success");
  assert_string_equal(cmcp_strerror(-9999), "unknown status");
}

static void buf_refuses_past_limit(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 8);
  assert_int_equal(cmcp__buf_adds(&b, "12345"), 0);
  assert_int_equal(cmcp__buf_adds(&b, "6789"), CMCP_ELIMIT);
  assert_int_equal(b.len, 5);
  assert_int_equal(cmcp__buf_printf(&b, "%d", 678), 0);
  assert_string_equal(b.data, "12345678");
  assert_int_equal(cmcp__buf_add(&b, "x", 1), CMCP_ELIMIT);
  cmcp__buf_consume(&b, 3);
  assert_string_equal(b.data, "45678");
  cmcp__buf_free(&b);
}

static void log_levels_round_trip(void **state) {
  cmcp_log_level_t l;
  (void)state;
  assert_int_equal(cmcp_log_level_parse("warning", &l), 0);
  assert_int_equal(l, CMCP_LOG_WARNING);
  assert_string_equal(cmcp_log_level_name(CMCP_LOG_EMERGENCY), "emergency");
  assert_int_equal(cmcp_log_level_parse("loud", &l), CMCP_EINVAL);
  assert_null(cmcp_log_level_name(CMCP_LOG_OFF));
}

static void allocator_rejects_null_hooks(void **state) {
  (void)state;
  assert_int_equal(cmcp_set_allocator(NULL, NULL, NULL, NULL), CMCP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(strerror_covers_every_code),
      cmocka_unit_test(buf_refuses_past_limit),
      cmocka_unit_test(log_levels_round_trip),
      cmocka_unit_test(allocator_rejects_null_hooks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
