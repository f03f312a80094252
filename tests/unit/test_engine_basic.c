/* tests/unit/test_engine_basic.c: the legacy handshake, ping, gating by
 * session state, method lookup and tools/call on the MCP engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "helper_spec.h"
#include "proto/engine.h"

#include <string.h>

static void echo(cmcp_call_t *call, void *data) {
  const char *text = NULL;
  (void)data;
  if (cmcp_call_arg_string(call, "text", &text) != 0) {
    cmcp_call_tool_error(call, "text is required");
    return;
  }
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("basic", "1.2.3");
  assert_non_null(srv);
  assert_int_equal(
      cmcp_server_add_tool(srv, "echo", "Echoes text",
                           "{\"type\":\"object\",\"properties\":{\"text\":"
                           "{\"type\":\"string\"}},\"required\":[\"text\"]}",
                           echo, NULL),
      0);
  return srv;
}

static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18",
                                              "2025-03-26", "2024-11-05"};

static void test_initialize_each_version(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < 4; i++) {
    cmcp_server_t *srv = server();
    tpeer *tp = tp_new(srv, 0);
    char text[512];
    json_object *r;
    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
             "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}",
             legacy_versions[i]);
    r = tp_call(tp, text);
    assert_string_equal(jstr(r, "result.protocolVersion"), legacy_versions[i]);
    assert_string_equal(jstr(r, "result.serverInfo.name"), "basic");
    assert_non_null(jpath(r, "result.capabilities.tools"));
    spec_assert_valid(legacy_versions[i], "InitializeResult",
                      jpath(r, "result"));
    spec_assert_valid(legacy_versions[i], "JSONRPCResponse", r);
    tp_free(tp);
    cmcp_server_free(srv);
  }
}

static void test_initialize_unknown_version(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"1999-01-01\","
                  "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\","
                  "\"version\":\"1\"}}}");
  assert_string_equal(jstr(r, "result.protocolVersion"), "2025-11-25");
  /* Once is enough. */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2025-11-25\","
                  "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\","
                  "\"version\":\"1\"}}}");
  assert_rpc_error(r, -32600, "already initialized");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_initialize_bad_params(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"capabilities\":{},\"clientInfo\":{}}}"),
      -32602, "params.protocolVersion");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":7,\"capabilities\":{},"
                  "\"clientInfo\":{}}}"),
      -32602, "params.protocolVersion must be a string");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2025-11-25\","
                  "\"clientInfo\":{}}}"),
      -32602, "params.capabilities");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2025-11-25\","
                  "\"capabilities\":[]}}"),
      -32602, "params.capabilities must be an object");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2025-11-25\","
                  "\"capabilities\":{}}}"),
      -32602, "params.clientInfo");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_before_initialize(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}");
  assert_rpc_error(r, -32600, "before initialize");
  assert_int_equal(jint(r, "id"), 5);
  /* ping is allowed at any time */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}");
  assert_non_null(jpath(r, "result"));
  assert_int_equal(json_object_object_length(jpath(r, "result")), 0);
  spec_assert_valid("2025-11-25", "JSONRPCResponse", r);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_unknown_method_and_bad_json(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope/nope\"}"),
      -32601, "nope/nope");
  assert_rpc_error(tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,"), -32700, "");
  assert_rpc_error(tp_call(tp, "[1,2]"), -32600, "");
  /* a modern-only method without _meta */
  assert_rpc_error(
      tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}"),
      -32602, "_meta");
  /* notifications are never answered, known or not */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/"
              "list_changed\"}");
  /* ... nor malformed ones, nor malformed responses (an error with their id
   * would answer the client's own request of that id) */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\","
              "\"params\":[1]}");
  tp_feed(tp, "{\"jsonrpc\":\"1.0\",\"method\":\"notifications/x\"}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":5}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":\"x\"}}");
  assert_null(tp_next(tp));
  /* a malformed request is still answered */
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":5}"), -32600,
      "method must be a string");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_method_lookup(void **state) {
  (void)state;
  assert_int_equal(cmcp__method_lookup("tools/call"), CMCP__M_TOOLS_CALL);
  assert_int_equal(cmcp__method_lookup("tools/list"), CMCP__M_TOOLS_LIST);
  assert_int_equal(cmcp__method_lookup("resources/templates/list"),
                   CMCP__M_TEMPLATES_LIST);
  assert_int_equal(cmcp__method_lookup("subscriptions/listen"), CMCP__M_LISTEN);
  assert_int_equal(cmcp__method_lookup("tasks/update"), CMCP__M_TASKS);
  assert_int_equal(cmcp__method_lookup("tools/cal"), CMCP__M_UNKNOWN);
  assert_int_equal(cmcp__method_lookup(""), CMCP__M_UNKNOWN);
  assert_int_equal(cmcp__method_lookup("tools/callx"), CMCP__M_UNKNOWN);
}

static void test_tools_list_and_call(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < 4; i++) {
    cmcp_server_t *srv = server();
    tpeer *tp = tp_new(srv, 0);
    json_object *r;
    tp_initialize(tp, legacy_versions[i], "{}");
    r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_string_equal(jstr(r, "result.tools.0.name"), "echo");
    assert_null(jpath(r, "result.nextCursor"));
    spec_assert_valid(legacy_versions[i], "ListToolsResult",
                      jpath(r, "result"));
    r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":"
                    "\"hi\"}}}");
    assert_string_equal(jstr(r, "result.content.0.text"), "hi");
    assert_string_equal(jstr(r, "result.content.0.type"), "text");
    assert_null(jpath(r, "result.isError"));
    assert_null(jpath(r, "result.resultType"));
    spec_assert_valid(legacy_versions[i], "CallToolResult", jpath(r, "result"));
    spec_assert_valid(legacy_versions[i], "JSONRPCResponse", r);
    assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
    tp_free(tp);
    cmcp_server_free(srv);
  }
}

static void test_tools_call_errors(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"missing\",\"arguments\":{}}}");
  assert_rpc_error(r, -32602, "Unknown tool: missing");
  /* schema violation: a tool error naming the field */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":5}}}");
  assert_true(json_object_get_boolean(jpath(r, "result.isError")));
  assert_non_null(strstr(jstr(r, "result.content.0.text"), "/text"));
  spec_assert_valid("2025-11-25", "CallToolResult", jpath(r, "result"));
  /* missing arguments entirely: the required field is named */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"echo\"}}");
  assert_true(json_object_get_boolean(jpath(r, "result.isError")));
  assert_non_null(strstr(jstr(r, "result.content.0.text"), "text"));
  /* params of the wrong type */
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                  "\"params\":{\"name\":7}}"),
      -32602, "params.name must be a string");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"echo\",\"arguments\":[1]}}"),
      -32602, "params.arguments must be an object");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\","
                  "\"params\":{}}"),
      -32602, "params.name");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_features_registry(void **state) {
  cmcp_server_t *srv = server();
  (void)state;
  assert_int_equal(cmcp_server_add_tool(srv, "echo", NULL, NULL, echo, NULL),
                   CMCP_EEXIST);
  assert_int_equal(cmcp_server_add_tool(srv, "bad", NULL, "{", echo, NULL),
                   CMCP_EINVAL);
  assert_int_equal(
      cmcp_server_add_tool(srv, "bad", NULL, "{\"type\":5}", echo, NULL),
      CMCP_EINVAL);
  assert_int_equal(
      cmcp_server_add_tool_json(srv, "{\"title\":\"x\"}", 0, echo, NULL),
      CMCP_EINVAL);
  assert_int_equal(cmcp_server_add_tool(srv, "t2", NULL, NULL, NULL, NULL),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_server_remove_tool(srv, "nope"), CMCP_ENOENT);
  assert_int_equal(cmcp_server_remove_tool(srv, "echo"), 0);
  assert_int_equal(cmcp_server_remove_tool(srv, "echo"), CMCP_ENOENT);
  assert_int_equal(
      cmcp_server_add_resource_json(srv, "{\"uri\":\"a://b\"}", 0, echo, NULL),
      CMCP_EINVAL);
  assert_int_equal(
      cmcp_server_add_resource_template_json(
          srv, "{\"uriTemplate\":\"a://{\",\"name\":\"n\"}", 0, echo, NULL),
      CMCP_EINVAL);
  assert_int_equal(
      cmcp_server_add_prompt_json(srv, "{\"name\":\"p\",\"arguments\":[{}]}", 0,
                                  echo, NULL),
      CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_PAGE_SIZE, 0),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_COUNT_, 1),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_PAGE_SIZE, 7), 0);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_PAGE_SIZE), 7);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_ASK_TIMEOUT_MS), 60000);
  assert_int_equal(cmcp_server_set_cache_hint(srv, 10, "shared"), CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_cache_hint(srv, -1, "public"), CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_state_key(srv, "short", 5), CMCP_EINVAL);
  assert_int_equal(cmcp_server_set_info_json(srv, "[1]"), CMCP_EINVAL);
  assert_null(cmcp_server_new("", "1"));
  assert_null(cmcp_server_new(NULL, "1"));
  cmcp_server_set_data(srv, srv);
  assert_ptr_equal(cmcp_server_data(srv), srv);
  cmcp_server_free(srv);
}

static void test_info_per_version(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp;
  json_object *r;
  (void)state;
  assert_int_equal(
      cmcp_server_set_info_json(srv, "{\"title\":\"Basic\",\"websiteUrl\":"
                                     "\"https://example.com\"}"),
      0);
  assert_int_equal(cmcp_server_set_instructions(srv, "Be nice"), 0);
  assert_int_equal(
      cmcp_server_add_tool_json(srv,
                                "{\"name\":\"fancy\",\"title\":\"Fancy\","
                                "\"icons\":[{\"src\":\"https://x/i.png\"}],"
                                "\"execution\":{\"taskSupport\":\"optional\"},"
                                "\"annotations\":{\"readOnlyHint\":true}}",
                                0, echo, NULL),
      0);
  tp = tp_new(srv, 0);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2024-11-05\","
                  "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\","
                  "\"version\":\"1\"}}}");
  assert_null(jpath(r, "result.serverInfo.title"));
  assert_string_equal(jstr(r, "result.instructions"), "Be nice");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
  assert_null(jpath(r, "result.tools.1.title"));
  assert_null(jpath(r, "result.tools.1.icons"));
  assert_null(jpath(r, "result.tools.1.annotations"));
  assert_non_null(jpath(r, "result.tools.1.inputSchema"));
  tp_free(tp);
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
  assert_string_equal(jstr(r, "result.tools.1.title"), "Fancy");
  assert_non_null(jpath(r, "result.tools.1.execution"));
  spec_assert_valid("2025-11-25", "ListToolsResult", jpath(r, "result"));
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_initialize_each_version),
      cmocka_unit_test(test_initialize_unknown_version),
      cmocka_unit_test(test_initialize_bad_params),
      cmocka_unit_test(test_before_initialize),
      cmocka_unit_test(test_unknown_method_and_bad_json),
      cmocka_unit_test(test_method_lookup),
      cmocka_unit_test(test_tools_list_and_call),
      cmocka_unit_test(test_tools_call_errors),
      cmocka_unit_test(test_features_registry),
      cmocka_unit_test(test_info_per_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
