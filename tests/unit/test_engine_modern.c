/* tests/unit/test_engine_modern.c: the 2026-07-28 wire: per-request _meta
 * checks, server/discover, result decoration, per-request log levels,
 * subscriptions/listen, and both eras on one peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "helper_spec.h"
#include "proto/engine.h"

#include <stdio.h>
#include <string.h>

#define M(caps) MODERN_META(caps)

static void echo(cmcp_call_t *call, void *data) {
  const char *text = "";
  (void)data;
  assert_int_equal(cmcp_call_is_modern(call), 1);
  assert_string_equal(cmcp_call_protocol_version(call), "2026-07-28");
  cmcp_call_arg_string(call, "text", &text);
  cmcp_call_log(call, CMCP_LOG_DEBUG, "echo", "\"debug\"");
  cmcp_call_log(call, CMCP_LOG_ERROR, "echo", "\"error\"");
  cmcp_call_progress(call, 1, 1, NULL);
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

static void read_text(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text_contents(call, NULL, "text/plain", "body");
  cmcp_call_done(call);
}

static void prompt(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_prompt_message(call, "user",
                               "{\"type\":\"text\",\"text\":\"hi\"}");
  cmcp_call_done(call);
}

static void complete(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_completion(call, "one");
  cmcp_call_done(call);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("modern", "2.0");
  assert_int_equal(cmcp_server_add_tool(srv, "echo", "Echo", NULL, echo, NULL),
                   0);
  assert_int_equal(
      cmcp_server_add_resource(srv, "test://r", "r", NULL, read_text, NULL), 0);
  assert_int_equal(
      cmcp_server_add_prompt_json(srv, "{\"name\":\"p\"}", 0, prompt, NULL), 0);
  assert_int_equal(cmcp_server_set_completion(srv, complete, NULL), 0);
  assert_int_equal(cmcp_server_set_instructions(srv, "Use echo"), 0);
  return srv;
}

static json_object *server_info_meta(json_object *r) {
  return json_object_object_get(jpath(r, "result._meta"),
                                "io.modelcontextprotocol/serverInfo");
}

static void test_discover(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  assert_int_equal(cmcp_server_set_cache_hint(srv, 5000, "public"), 0);
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
              "\"params\":{" M("{}") "}}");
  assert_string_equal(jstr(r, "result.supportedVersions.0"), "2026-07-28");
  assert_string_equal(jstr(r, "result.supportedVersions.1"), "2025-11-25");
  assert_non_null(jpath(r, "result.capabilities.tools"));
  assert_non_null(jpath(r, "result.capabilities.completions"));
  assert_string_equal(jstr(r, "result.instructions"), "Use echo");
  assert_int_equal(jint(r, "result.ttlMs"), 5000);
  assert_string_equal(jstr(r, "result.cacheScope"), "public");
  assert_string_equal(jstr(r, "result.resultType"), "complete");
  assert_string_equal(jstr(server_info_meta(r), "name"), "modern");
  spec_assert_valid("2026-07-28", "DiscoverResult", jpath(r, "result"));
  spec_assert_valid("2026-07-28", "DiscoverResultResponse", r);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_meta_errors(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"1900-01-01\",\"io.modelcontextprotocol/"
                  "clientCapabilities\":{}}}}");
  assert_rpc_error(r, -32022, "Unsupported protocol version");
  assert_string_equal(jstr(r, "error.data.requested"), "1900-01-01");
  assert_string_equal(jstr(r, "error.data.supported.0"), "2026-07-28");
  assert_int_equal(tp->status[tp->next - 1], 400);
  spec_assert_valid("2026-07-28", "UnsupportedProtocolVersionError", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"2026-07-28\"}}}");
  assert_rpc_error(r, -32602, "io.modelcontextprotocol/clientCapabilities");
  spec_assert_valid("2026-07-28", "JSONRPCErrorResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/"
                  "clientCapabilities\":[]}}}");
  assert_rpc_error(r, -32602, "must be an object");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":2026,\"io.modelcontextprotocol/"
                  "clientCapabilities\":{}}}}");
  assert_rpc_error(r, -32602, "protocolVersion must be a string");
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\","
              "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
              "protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/"
              "clientCapabilities\":{},\"io.modelcontextprotocol/logLevel\":"
              "\"chatty\"}}}");
  assert_rpc_error(r, -32602, "logLevel");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/"
                  "clientCapabilities\":{},\"io.modelcontextprotocol/"
                  "clientInfo\":{\"name\":1}}}}");
  assert_rpc_error(r, -32602, "clientInfo");
  /* legacy-only methods do not exist on this wire */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\","
                  "\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32601, "ping");
  r = tp_call(
      tp, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":"
          "\"logging/setLevel\",\"params\":{\"level\":\"info\"," M("{}") "}}");
  assert_rpc_error(r, -32601, "logging/setLevel");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"initialize\","
                  "\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32601, "initialize");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"nope\","
                  "\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32601, "nope");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tasks/get\","
                  "\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32601, "tasks");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_results(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                  "\"params\":{" M("{}") "}}");
  assert_string_equal(jstr(r, "result.tools.0.name"), "echo");
  assert_int_equal(jint(r, "result.ttlMs"), 0);
  assert_string_equal(jstr(r, "result.cacheScope"), "private");
  spec_assert_valid("2026-07-28", "ListToolsResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":"
                  "\"yo\"}," M("{}") "}}");
  assert_string_equal(jstr(r, "result.content.0.text"), "yo");
  assert_string_equal(jstr(r, "result.resultType"), "complete");
  assert_null(jpath(r, "result.ttlMs"));
  assert_non_null(server_info_meta(r));
  spec_assert_valid("2026-07-28", "CallToolResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://r\"," M("{}") "}}");
  assert_string_equal(jstr(r, "result.contents.0.text"), "body");
  assert_non_null(jpath(r, "result.ttlMs"));
  spec_assert_valid("2026-07-28", "ReadResourceResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://none\"," M("{}") "}}");
  assert_rpc_error(r, -32602, "Resource not found");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/list\","
                  "\"params\":{" M("{}") "}}");
  spec_assert_valid("2026-07-28", "ListResourcesResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
                  "\"resources/templates/list\",\"params\":{" M("{}") "}}");
  spec_assert_valid("2026-07-28", "ListResourceTemplatesResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"prompts/list\","
                  "\"params\":{" M("{}") "}}");
  spec_assert_valid("2026-07-28", "ListPromptsResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"prompts/get\","
                  "\"params\":{\"name\":\"p\"," M("{}") "}}");
  spec_assert_valid("2026-07-28", "GetPromptResultResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/prompt\",\"name\":\"p\"},\"argument\":{\"name\":\"a\","
                  "\"value\":\"\"}," M("{}") "}}");
  assert_string_equal(jstr(r, "result.completion.values.0"), "one");
  spec_assert_valid("2026-07-28", "CompleteResultResponse", r);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_request_log_level(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  /* no logLevel: no notifications/message at all */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"echo\"," M("{}") "}}");
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 1);
  assert_null(tp_next(tp));
  /* logLevel error: only the error line; progressToken: progress */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"echo\",\"_meta\":{"
              "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
              "\"io.modelcontextprotocol/clientCapabilities\":{},"
              "\"io.modelcontextprotocol/logLevel\":\"error\","
              "\"progressToken\":99}}}");
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/message");
  assert_string_equal(jstr(r, "params.data"), "error");
  assert_int_equal(json_object_get_int(tp->related[tp->next - 1]), 2);
  spec_assert_valid("2026-07-28", "LoggingMessageNotification", r);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/progress");
  assert_int_equal(jint(r, "params.progressToken"), 99);
  spec_assert_valid("2026-07-28", "ProgressNotification", r);
  assert_int_equal(jint(tp_next(tp), "id"), 2);
  /* server-wide logs never reach a stateless peer */
  assert_int_equal(cmcp_server_log(srv, CMCP_LOG_EMERGENCY, NULL, "x"), 0);
  assert_null(tp_next(tp));
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_listen(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":\"sub\",\"method\":"
                  "\"subscriptions/listen\",\"params\":{\"notifications\":{"
                  "\"toolsListChanged\":true,\"promptsListChanged\":false,"
                  "\"resourceSubscriptions\":[\"test://r\"]}," M("{}") "}}");
  assert_string_equal(jstr(r, "method"),
                      "notifications/subscriptions/acknowledged");
  assert_true(json_object_get_boolean(
      jpath(r, "params.notifications.toolsListChanged")));
  assert_null(jpath(r, "params.notifications.promptsListChanged"));
  assert_string_equal(jstr(r, "params.notifications.resourceSubscriptions.0"),
                      "test://r");
  assert_string_equal(
      json_object_get_string(json_object_object_get(
          jpath(r, "params._meta"), "io.modelcontextprotocol/subscriptionId")),
      "sub");
  spec_assert_valid("2026-07-28", "SubscriptionsAcknowledgedNotification", r);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  /* a list change the stream asked for */
  assert_int_equal(cmcp_server_add_tool(srv, "new", NULL, NULL, echo, NULL), 0);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/tools/list_changed");
  assert_string_equal(
      json_object_get_string(json_object_object_get(
          jpath(r, "params._meta"), "io.modelcontextprotocol/subscriptionId")),
      "sub");
  assert_string_equal(json_object_get_string(tp->related[tp->next - 1]), "sub");
  spec_assert_valid("2026-07-28", "ToolListChangedNotification", r);
  /* one it did not */
  cmcp_server_notify_list_changed(srv, CMCP_LIST_PROMPTS);
  assert_null(tp_next(tp));
  cmcp_server_notify_resource_updated(srv, "test://r");
  r = tp_next(tp);
  assert_string_equal(jstr(r, "params.uri"), "test://r");
  spec_assert_valid("2026-07-28", "ResourceUpdatedNotification", r);
  cmcp_server_notify_resource_updated(srv, "test://other");
  assert_null(tp_next(tp));
  /* the server ends the stream */
  cmcp__peer_shutdown(tp->peer);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "id"), "sub");
  assert_string_equal(jstr(r, "result.resultType"), "complete");
  spec_assert_valid("2026-07-28", "SubscriptionsListenResultResponse", r);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  cmcp_server_notify_list_changed(srv, CMCP_LIST_TOOLS);
  assert_null(tp_next(tp));
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_listen_cancel_and_errors(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                  "\"subscriptions/listen\",\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32602, "params.notifications");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                  "\"subscriptions/listen\",\"params\":{\"notifications\":{"
                  "\"resourceSubscriptions\":[1]}," M("{}") "}}");
  assert_rpc_error(r, -32602, "resourceSubscriptions");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                  "\"subscriptions/listen\",\"params\":{\"notifications\":{"
                  "\"toolsListChanged\":true}," M("{}") "}}");
  assert_string_equal(jstr(r, "method"),
                      "notifications/subscriptions/acknowledged");
  /* the same id again while the stream is open */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\","
                  "\"params\":{" M("{}") "}}");
  assert_rpc_error(r, -32600, "Duplicate");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":3}}");
  assert_null(tp_next(tp));
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  cmcp_server_notify_list_changed(srv, CMCP_LIST_TOOLS);
  assert_null(tp_next(tp));
  /* a stream left open is freed with its peer */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
              "\"subscriptions/listen\",\"params\":{\"notifications\":{"
              "\"toolsListChanged\":true}," M("{}") "}}");
  assert_non_null(tp_next(tp));
  tp_free(tp);
  cmcp_server_free(srv);
}

/* A transport that closes the peer inside ops->close, called from a send
 * the engine makes while walking its streams. */
static void test_close_inside_send(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  int i;
  char text[512];
  (void)state;
  tp->close_now = 1;
  for (i = 0; i < 3; i++) {
    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
             "\"subscriptions/listen\",\"params\":{\"notifications\":{"
             "\"toolsListChanged\":true,\"resourceSubscriptions\":"
             "[\"test://r\"]}," M("{}") "}}",
             i);
    tp_feed(tp, text);
  }
  tp->send_rc = CMCP_ELIMIT;
  cmcp_server_notify_resource_updated(srv, "test://r");
  assert_null(tp->peer);
  assert_int_equal(tp->close_calls, 1);
  cmcp_server_notify_list_changed(srv, CMCP_LIST_TOOLS);
  tp_free(tp);
  /* the same while ending the streams */
  tp = tp_new(srv, 0);
  tp->close_now = 1;
  for (i = 0; i < 3; i++) {
    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
             "\"subscriptions/listen\",\"params\":{\"notifications\":{"
             "\"toolsListChanged\":true}," M("{}") "}}",
             i);
    tp_feed(tp, text);
  }
  tp->send_rc = CMCP_ELIMIT;
  cmcp__peer_ref(tp->peer);
  {
    cmcp__peer_t *peer = tp->peer;
    cmcp__peer_shutdown(peer);
    assert_null(tp->peer);
    cmcp__peer_unref(peer);
  }
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_both_eras_one_peer(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-03-26", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
  assert_null(jpath(r, "result.resultType"));
  spec_assert_valid("2025-03-26", "ListToolsResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\","
                  "\"params\":{" M("{}") "}}");
  assert_string_equal(jstr(r, "result.resultType"), "complete");
  /* a legacy version named in _meta is served on the legacy session */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\","
                  "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"2025-11-25\"}}}");
  assert_null(jpath(r, "result.resultType"));
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_discover),
      cmocka_unit_test(test_meta_errors),
      cmocka_unit_test(test_results),
      cmocka_unit_test(test_request_log_level),
      cmocka_unit_test(test_listen),
      cmocka_unit_test(test_listen_cancel_and_errors),
      cmocka_unit_test(test_close_inside_send),
      cmocka_unit_test(test_both_eras_one_peer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
