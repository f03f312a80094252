/* tests/unit/test_engine_calls.c: how calls run and finish: asynchronous
 * handlers finishing on other threads, blocking handlers on the worker
 * pool, progress, cancellation, duplicate ids, admission limits, output
 * schemas, late results of a closed peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "helper_spec.h"
#include "proto/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- handlers
 * ------------------------------------------------------------------ */

static void *finish_later(void *arg) {
  cmcp_call_t *call = arg;
  usleep(2000);
  assert_int_equal(cmcp_call_progress(call, 1, 2, "half"), 0);
  assert_int_equal(cmcp_call_progress(call, 1, 2, NULL), CMCP_EINVAL);
  assert_int_equal(cmcp_call_progress(call, 2, -1, NULL), 0);
  cmcp_call_log(call, CMCP_LOG_ERROR, "async", "\"from a thread\"");
  cmcp_call_add_text(call, "async done");
  assert_int_equal(cmcp_call_done(call), 0);
  return NULL;
}

/* Hands the call to a real thread and returns without finishing. */
static void async_tool(cmcp_call_t *call, void *data) {
  pthread_t t;
  (void)data;
  assert_int_equal(pthread_create(&t, NULL, finish_later, call), 0);
  pthread_detach(t);
}

static void blocking_tool(cmcp_call_t *call, void *data) {
  (void)data;
  usleep(1000);
  cmcp_call_add_text(call, "slept");
  cmcp_call_done(call);
  assert_int_equal(cmcp_call_done(call), CMCP_ESTATE);
  assert_int_equal(cmcp_call_error(call, 1, "x", NULL), CMCP_ESTATE);
}

static cmcp_call_t *parked[8];
static int nparked;

/* Keeps the call open until the test finishes it. */
static void park_tool(cmcp_call_t *call, void *data) {
  (void)data;
  parked[nparked++] = call;
}

static void structured_tool(cmcp_call_t *call, void *data) {
  int64_t n = 0;
  (void)data;
  cmcp_call_arg_int64(call, "n", &n);
  if (n == 1)
    cmcp_call_set_structured(call, "{\"sum\":3}");
  else if (n == 2)
    cmcp_call_set_structured(call, "{\"sum\":\"three\"}");
  assert_int_equal(cmcp_call_set_structured(call, "[1]"), CMCP_EINVAL);
  assert_int_equal(cmcp_call_set_result_field(call, "content", "[]"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_call_set_result_field(call, "note", "{bad"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_call_set_result_field(call, "_meta", "{\"k\":1}"), 0);
  cmcp_call_done(call);
}

static void error_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, "discarded");
  cmcp_call_error(call, -32099, "custom failure", "{\"why\":\"test\"}");
}

static void fail_tool(cmcp_call_t *call, void *data) {
  (void)data;
  assert_int_equal(cmcp_call_add_image(call, "not base64!", "image/png"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_call_add_image(call, "AAAA", "image/png"), 0);
  assert_int_equal(cmcp_call_add_audio(call, "AAAA", "audio/wav"), 0);
  assert_int_equal(cmcp_call_add_content_json(call, "{\"no\":\"type\"}"),
                   CMCP_EINVAL);
  cmcp_call_tool_error(call, "it broke");
}

static void typed_args_tool(cmcp_call_t *call, void *data) {
  const char *s;
  double d;
  int64_t i;
  int b;
  (void)data;
  assert_int_equal(cmcp_call_arg_string(call, "s", &s), 0);
  assert_string_equal(s, "x");
  assert_int_equal(cmcp_call_arg_string(call, "i", &s), CMCP_EINVAL);
  assert_int_equal(cmcp_call_arg_string(call, "none", &s), CMCP_ENOENT);
  assert_int_equal(cmcp_call_arg_double(call, "d", &d), 0);
  assert_true(d > 1.4 && d < 1.6);
  assert_int_equal(cmcp_call_arg_double(call, "i", &d), 0);
  assert_int_equal(cmcp_call_arg_int64(call, "i", &i), 0);
  assert_int_equal(i, 9007199254740993LL);
  assert_int_equal(cmcp_call_arg_int64(call, "d", &i), CMCP_EINVAL);
  assert_int_equal(cmcp_call_arg_int64(call, "f", &i), 0);
  assert_int_equal(i, 2);
  assert_int_equal(cmcp_call_arg_bool(call, "b", &b), 0);
  assert_int_equal(b, 1);
  assert_int_equal(cmcp_call_arg_bool(call, "s", &b), CMCP_EINVAL);
  assert_string_equal(cmcp_call_name(call), "typed");
  assert_string_equal(cmcp_call_method(call), "tools/call");
  assert_string_equal(cmcp_call_protocol_version(call), "2025-06-18");
  assert_int_equal(cmcp_call_is_modern(call), 0);
  assert_non_null(cmcp_call_params(call));
  assert_non_null(cmcp_call_arguments(call));
  assert_ptr_equal(cmcp_call_data(call), (void *)0x1234);
  assert_non_null(cmcp_call_server(call));
  assert_true(cmcp_call_client_has(call, "roots"));
  assert_false(cmcp_call_client_has(call, "sampling"));
  assert_null(cmcp_call_state(call));
  assert_null(cmcp_call_input(call, "k"));
  cmcp_call_done(call);
}

static void content_tool(cmcp_call_t *call, void *data) {
  int old = strcmp(cmcp_call_protocol_version(call), "2024-11-05") == 0;
  (void)data;
  assert_int_equal(cmcp_call_add_text(call, "q\"b\\n\nt\tc\x01/\xc3\xa9"), 0);
  assert_int_equal(cmcp_call_add_audio(call, "AAAA", "audio/wav"),
                   old ? CMCP_EUNSUPPORTED : 0);
  assert_int_equal(
      cmcp_call_add_content_json(call, "{\"type\":\"resource_link\",\"uri\":"
                                       "\"test://x\",\"name\":\"x\"}"),
      old ? CMCP_EUNSUPPORTED : 0);
  assert_int_equal(cmcp_call_add_content_json(call, "[1]"), CMCP_EINVAL);
  assert_int_equal(cmcp_call_add_content_json(call, "{bad"), CMCP_EINVAL);
  assert_int_equal(
      cmcp_call_add_content_json(call, "{\"type\":\"resource\",\"resource\":{"
                                       "\"uri\":\"test://e\",\"text\":\"e\"}}"),
      0);
  cmcp_call_done(call);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("calls", "1");
  assert_int_equal(
      cmcp_server_add_tool(srv, "async", NULL, NULL, async_tool, NULL), 0);
  assert_int_equal(cmcp_server_add_tool_json(srv, "{\"name\":\"blocking\"}",
                                             CMCP_FEATURE_BLOCKING,
                                             blocking_tool, NULL),
                   0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "park", NULL, NULL, park_tool, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool_json(
          srv,
          "{\"name\":\"structured\",\"inputSchema\":{\"type\":\"object\"},"
          "\"outputSchema\":{\"type\":\"object\",\"properties\":{\"sum\":"
          "{\"type\":\"number\"}},\"required\":[\"sum\"]}}",
          0, structured_tool, NULL),
      0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "error", NULL, NULL, error_tool, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "fail", NULL, NULL, fail_tool, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "content", NULL, NULL, content_tool, NULL), 0);
  assert_int_equal(cmcp_server_add_tool(srv, "typed", NULL, NULL,
                                        typed_args_tool, (void *)0x1234),
                   0);
  nparked = 0;
  return srv;
}

static void test_async_from_thread(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, TP_POST);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"async\",\"_meta\":{\"progressToken\":"
              "\"pt\"}}}");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  assert_int_equal(tp_pump(tp, tp->n + 4, 3000), 5);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/progress");
  assert_string_equal(jstr(r, "params.progressToken"), "pt");
  assert_string_equal(jstr(r, "params.message"), "half");
  spec_assert_valid("2025-11-25", "ProgressNotification", r);
  assert_int_equal(json_object_get_int(tp->related[tp->next - 1]), 7);
  r = tp_next(tp);
  assert_null(jpath(r, "params.total"));
  spec_assert_valid("2025-11-25", "ProgressNotification", r);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/message");
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 7);
  assert_string_equal(jstr(r, "result.content.0.text"), "async done");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_blocking(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, TP_POST | TP_BLOCKING), *inline_tp;
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"blocking\"}}");
  assert_null(tp_next(tp)); /* on the worker */
  assert_int_equal(tp_pump(tp, tp->n + 1, 3000), tp->next + 1);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "result.content.0.text"), "slept");
  tp_free(tp);
  /* no worker pool: runs inline */
  inline_tp = tp_new(srv, 0);
  tp_initialize(inline_tp, "2025-11-25", "{}");
  r = tp_call(inline_tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                         "\"tools/call\",\"params\":{\"name\":\"blocking\"}}");
  assert_string_equal(jstr(r, "result.content.0.text"), "slept");
  tp_free(inline_tp);
  /* a full worker queue is an overload error, at once */
  tp = tp_new(srv, TP_BUSY);
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"blocking\"}}");
  assert_rpc_error(r, -32000, "worker queue");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_results_and_errors(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-06-18", "{\"roots\":{}}");
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"structured\",\"arguments\":{\"n\":1}}}");
  assert_int_equal(jint(r, "result.structuredContent.sum"), 3);
  assert_string_equal(jstr(r, "result.content.0.text"), "{\"sum\":3}");
  assert_int_equal(jint(r, "result._meta.k"), 1);
  spec_assert_valid("2025-06-18", "CallToolResult", jpath(r, "result"));
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"structured\",\"arguments\":{\"n\":2}}}");
  assert_rpc_error(r, -32603, "outputSchema");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"structured\",\"arguments\":{}}}");
  assert_rpc_error(r, -32603, "outputSchema");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"error\"}}");
  assert_rpc_error(r, -32099, "custom failure");
  assert_string_equal(jstr(r, "error.data.why"), "test");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"fail\"}}");
  assert_true(json_object_get_boolean(jpath(r, "result.isError")));
  assert_string_equal(jstr(r, "result.content.0.text"), "it broke");
  assert_int_equal(json_object_array_length(jpath(r, "result.content")), 1);
  spec_assert_valid("2025-06-18", "CallToolResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"typed\",\"arguments\":{\"s\":\"x\","
                  "\"d\":1.5,\"i\":9007199254740993,\"f\":2.0,\"b\":true}}}");
  assert_non_null(jpath(r, "result.content"));
  tp_free(tp);
  /* 2024-11-05 has no structuredContent: the text block carries it */
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2024-11-05", "{}");
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"structured\",\"arguments\":{\"n\":1}}}");
  assert_null(jpath(r, "result.structuredContent"));
  assert_string_equal(jstr(r, "result.content.0.text"), "{\"sum\":3}");
  spec_assert_valid("2024-11-05", "CallToolResult", jpath(r, "result"));
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_content_text(void **state) {
  static const char *const versions[] = {"2024-11-05", "2025-11-25"};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    cmcp_server_t *srv = server();
    tpeer *tp = tp_new(srv, 0);
    json_object *r;
    tp_initialize(tp, versions[i], "{}");
    r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":\"q\\\"\",\"method\":"
                    "\"tools/call\",\"params\":{\"name\":\"content\"}}");
    assert_string_equal(jstr(r, "id"), "q\"");
    assert_string_equal(jstr(r, "result.content.0.text"),
                        "q\"b\\n\nt\tc\x01/\xc3\xa9");
    assert_int_equal(json_object_array_length(jpath(r, "result.content")),
                     i == 0 ? 2 : 4);
    spec_assert_valid(versions[i], "CallToolResult", jpath(r, "result"));
    spec_assert_valid(versions[i], "JSONRPCResponse", r);
    tp_free(tp);
    cmcp_server_free(srv);
  }
}

static void test_cancellation(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\","
              "\"params\":{\"name\":\"park\"}}");
  assert_int_equal(nparked, 1);
  assert_false(cmcp_call_is_cancelled(parked[0]));
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":\"a\",\"reason\":\"user\"}}");
  assert_true(cmcp_call_is_cancelled(parked[0]));
  /* cancelling an unknown request is harmless */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":\"zzz\"}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}");
  cmcp_call_add_text(parked[0], "late");
  assert_int_equal(cmcp_call_done(parked[0]), 0);
  /* no response for a cancelled request */
  assert_null(tp_next(tp));
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_duplicate_id(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"park\"}}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"park\"}}");
  assert_rpc_error(r, -32600, "Duplicate request id");
  assert_int_equal(nparked, 1);
  /* the same id as a string is another id */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":\"9\",\"method\":\"tools/call\","
              "\"params\":{\"name\":\"park\"}}");
  assert_int_equal(nparked, 2);
  cmcp_call_add_text(parked[0], "first");
  cmcp_call_done(parked[0]);
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 9);
  assert_string_equal(jstr(r, "result.content.0.text"), "first");
  cmcp_call_done(parked[1]);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "id"), "9");
  /* once answered, the id may be used again */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"park\"}}");
  assert_int_equal(nparked, 3);
  cmcp_call_done(parked[2]);
  assert_int_equal(jint(tp_next(tp), "id"), 9);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_inflight_limits(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0), *tp2 = tp_new(srv, 0);
  json_object *r;
  char text[256];
  int i;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER, 2),
                   0);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_INFLIGHT_TOTAL, 3), 0);
  tp_initialize(tp, "2025-11-25", "{}");
  tp_initialize(tp2, "2025-11-25", "{}");
  for (i = 0; i < 2; i++) {
    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"park\"}}",
             i);
    tp_feed(tp, text);
  }
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"park\"}}");
  assert_rpc_error(r, -32000, "CMCP_LIMIT_INFLIGHT_PER_PEER");
  /* lists are answered at once and are not admitted calls */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}");
  assert_non_null(jpath(r, "result.tools"));
  tp_feed(tp2, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
               "\"params\":{\"name\":\"park\"}}");
  r = tp_call(tp2, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"park\"}}");
  assert_rpc_error(r, -32000, "CMCP_LIMIT_INFLIGHT_TOTAL");
  assert_int_equal(nparked, 3);
  for (i = 0; i < 3; i++)
    cmcp_call_done(parked[i]);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  assert_int_equal(cmcp__peer_inflight(tp2->peer), 0);
  tp_free(tp);
  tp_free(tp2);
  cmcp_server_free(srv);
}

static void *finish_after_close(void *arg) {
  cmcp_call_t *call = arg;
  usleep(20000);
  cmcp_call_add_text(call, "too late");
  cmcp_call_done(call);
  return NULL;
}

static void test_late_result_of_closed_peer(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, TP_POST);
  pthread_t t;
  size_t before;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"park\"}}");
  assert_int_equal(pthread_create(&t, NULL, finish_after_close, parked[0]), 0);
  before = tp->n;
  /* the call keeps the peer's memory alive, not its use */
  cmcp__peer_ref(tp->peer);
  cmcp__peer_close(tp->peer);
  assert_int_equal(cmcp__peer_feed(tp->peer, "{}", 2), CMCP_ECLOSED);
  assert_int_equal(cmcp__peer_tick(tp->peer, 0), -1);
  cmcp__peer_unref(tp->peer);
  pthread_join(t, NULL);
  tp->peer = NULL; /* closed already */
  tp_pump(tp, SIZE_MAX, 50);
  assert_int_equal(tp->n, before); /* dropped */
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_slow_consumer(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  tp->send_rc = CMCP_ELIMIT;
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
  assert_int_equal(tp->close_calls, 1);
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_async_from_thread),
      cmocka_unit_test(test_blocking),
      cmocka_unit_test(test_results_and_errors),
      cmocka_unit_test(test_content_text),
      cmocka_unit_test(test_cancellation),
      cmocka_unit_test(test_duplicate_id),
      cmocka_unit_test(test_inflight_limits),
      cmocka_unit_test(test_late_result_of_closed_peer),
      cmocka_unit_test(test_slow_consumer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
