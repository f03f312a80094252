/* tests/unit/test_engine_memory.c: what an idle legacy session keeps. An
 * empty capabilities object is not held (a json-c table per session);
 * declared capabilities still are, and both read right from handlers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "proto/engine.h"

#include <string.h>

/* Answers the names of the capabilities the client declared, of three. */
static void caps_tool(cmcp_call_t *call, void *data) {
  static const char *const names[] = {"sampling", "roots", "elicitation"};
  size_t i;
  (void)data;
  for (i = 0; i < 3; i++)
    if (cmcp_call_client_has(call, names[i]))
      cmcp_call_add_text(call, names[i]);
  cmcp_call_done(call);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("mem", "1");
  assert_non_null(srv);
  assert_int_equal(cmcp_server_add_tool(srv, "caps", "t",
                                        "{\"type\":\"object\"}", caps_tool,
                                        NULL),
                   0);
  return srv;
}

static json_object *call_caps(tpeer *tp) {
  json_object *r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
                               "\"tools/call\",\"params\":{\"name\":\"caps\","
                               "\"arguments\":{}}}");
  assert_non_null(jpath(r, "result.content"));
  return jpath(r, "result.content");
}

static void test_empty_caps_not_kept(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-06-18", "{}");
  assert_int_equal(tp->peer->initialized, 1);
  assert_null(tp->peer->caps);
  assert_int_equal(json_object_array_length(call_caps(tp)), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_declared_caps_kept(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *content;
  (void)state;
  tp_initialize(tp, "2025-06-18", "{\"roots\":{\"listChanged\":true}}");
  assert_non_null(tp->peer->caps);
  content = call_caps(tp);
  assert_int_equal(json_object_array_length(content), 1);
  assert_string_equal(jstr(content, "0.text"), "roots");
  tp_free(tp);
  cmcp_server_free(srv);
}

/* A session that never had a request in flight holds no in-flight table. */
static void test_idle_session_no_tables(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-06-18", "{}");
  assert_null(tp->peer->buckets);
  assert_null(tp->peer->subs);
  assert_null(tp->peer->asks);
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_caps_not_kept),
      cmocka_unit_test(test_declared_caps_kept),
      cmocka_unit_test(test_idle_session_no_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
