/* tests/unit/test_memory.c: the process memory budget (base/memory.c) and
 * the engine's refusals above it (CMCP_LIMIT_MEMORY_BYTES), plus the byte
 * counts --max-memory takes (cmcp__parse_bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/memory.h"
#include "helper_engine.h"
#include "rt/options.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char init_req[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
    "\"name\":\"t\",\"version\":\"1\"}}}";

static void test_rss_is_read(void **state) {
  int64_t rss = cmcp__mem_rss(), recent = cmcp__mem_rss_recent();
  void *block;
  (void)state;
  assert_true(rss > 0);
  assert_true(recent > 0);
  /* Touching 32 MiB shows once the sample is older than its period. */
  block = malloc((size_t)32 << 20);
  assert_non_null(block);
  memset(block, 1, (size_t)32 << 20);
  usleep((CMCP__MEM_SAMPLE_MS + 20) * 1000);
  assert_true(cmcp__mem_rss_recent() >= rss + ((int64_t)24 << 20));
  /* Within the period the last sample is kept (no file read). */
  assert_int_equal(cmcp__mem_rss_recent(), cmcp__mem_rss_recent());
  free(block);
}

static void test_default_budget(void **state) {
  int64_t avail = cmcp__mem_available(), budget = cmcp__mem_default_budget();
  cmcp_server_t *srv = cmcp_server_new("m", "1");
  (void)state;
  assert_true(avail > 0);
  assert_int_equal(budget, avail / 100 * CMCP__MEM_DEFAULT_PERCENT);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_MEMORY_BYTES), budget);
  /* A budget is a positive byte count: INT64_MAX is "none". */
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_MEMORY_BYTES, 0),
                   CMCP_EINVAL);
  assert_int_equal(
      cmcp_server_set_limit(srv, CMCP_LIMIT_MEMORY_BYTES, INT64_MAX), 0);
  cmcp_server_free(srv);
}

static void test_over(void **state) {
  char text[256];
  (void)state;
  assert_int_equal(cmcp__mem_over(1, text, sizeof text), 1);
  assert_non_null(strstr(text, "CMCP_LIMIT_MEMORY_BYTES"));
  assert_non_null(strstr(text, "--max-memory"));
  assert_int_equal(cmcp__mem_over(1, NULL, 0), 1);
  assert_int_equal(cmcp__mem_over(INT64_MAX, text, sizeof text), 0);
  assert_int_equal(cmcp__mem_over(0, text, sizeof text), 0);
  assert_int_equal(cmcp__mem_over(-5, NULL, 0), 0);
  assert_int_equal(cmcp__mem_over((int64_t)1 << 50, NULL, 0), 0);
}

static void test_spares(void **state) {
  (void)state;
  assert_true(cmcp__mem_spares("ping"));
  assert_true(cmcp__mem_spares("resources/unsubscribe"));
  assert_true(cmcp__mem_spares("tasks/cancel"));
  assert_false(cmcp__mem_spares("tools/call"));
  assert_false(cmcp__mem_spares("initialize"));
  assert_false(cmcp__mem_spares("pingx"));
  assert_false(cmcp__mem_spares(NULL));
}

/* Above the budget a new session and new requests are refused with -32000
 * naming the limit; ping and notifications still pass. */
static void test_engine_refuses(void **state) {
  cmcp_server_t *srv = cmcp_server_new("m", "1");
  tpeer *tp;
  json_object *r;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_MEMORY_BYTES, 1), 0);
  tp = tp_new(srv, 0);
  r = tp_call(tp, init_req);
  assert_rpc_error(r, -32000, "CMCP_LIMIT_MEMORY_BYTES");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
  assert_non_null(jpath(r, "result"));
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":9}}");
  assert_null(tp_next(tp));
  /* Modern requests too. */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\","
                  "\"params\":{" MODERN_META("{}") "}}");
  assert_rpc_error(r, -32000, "--max-memory");
  assert_int_equal(tp->status[tp->next - 1], 503);
  tp_free(tp);
  /* Under the budget the same session is made. */
  assert_int_equal(
      cmcp_server_set_limit(srv, CMCP_LIMIT_MEMORY_BYTES, INT64_MAX), 0);
  tp = tp_new(srv, 0);
  r = tp_call(tp, init_req);
  assert_non_null(jpath(r, "result.protocolVersion"));
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_parse_bytes(void **state) {
  int64_t v = -1;
  static const char *const bad[] = {"",     "K",           "-1", "1.5G",
                                    "12KB", "1T",          " 1", "+1",
                                    "0x10", "9999999999G", "1 K"};
  size_t i;
  (void)state;
  assert_int_equal(cmcp__parse_bytes("0", &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(cmcp__parse_bytes("1234", &v), 0);
  assert_int_equal(v, 1234);
  assert_int_equal(cmcp__parse_bytes("2k", &v), 0);
  assert_int_equal(v, 2048);
  assert_int_equal(cmcp__parse_bytes("512M", &v), 0);
  assert_int_equal(v, (int64_t)512 << 20);
  assert_int_equal(cmcp__parse_bytes("3g", &v), 0);
  assert_int_equal(v, (int64_t)3 << 30);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cmcp__parse_bytes(bad[i], &v), CMCP_EINVAL);
  assert_int_equal(cmcp__parse_bytes(NULL, &v), CMCP_EINVAL);
}

static void test_option(void **state) {
  cmcp__options o;
  char err[256];
  char *ok[] = {"prog", "--max-memory", "1G"};
  char *eq[] = {"prog", "--max-memory=0"};
  char *bad[] = {"prog", "--max-memory", "lots"};
  char *missing[] = {"prog", "--max-memory"};
  (void)state;
  cmcp__options_init(&o);
  assert_int_equal(o.max_memory, -1);
  assert_int_equal(cmcp__options_parse(&o, 3, ok, err, sizeof err), 0);
  assert_int_equal(o.max_memory, (int64_t)1 << 30);
  assert_int_equal(cmcp__options_parse(&o, 2, eq, err, sizeof err), 0);
  assert_int_equal(o.max_memory, 0);
  assert_int_equal(cmcp__options_parse(&o, 3, bad, err, sizeof err),
                   CMCP_EINVAL);
  assert_non_null(strstr(err, "--max-memory"));
  assert_int_equal(cmcp__options_parse(&o, 2, missing, err, sizeof err),
                   CMCP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rss_is_read),
      cmocka_unit_test(test_default_budget),
      cmocka_unit_test(test_over),
      cmocka_unit_test(test_spares),
      cmocka_unit_test(test_engine_refuses),
      cmocka_unit_test(test_parse_bytes),
      cmocka_unit_test(test_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
