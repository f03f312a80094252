/* tests/unit/test_engine_features.c: lists and pagination, resources
 * (direct, template, unknown), subscriptions, prompts, completion and
 * logging levels on the legacy wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "helper_spec.h"

#include <stdio.h>
#include <string.h>

static void noop_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, cmcp_call_name(call));
  cmcp_call_done(call);
}

static void read_static(cmcp_call_t *call, void *data) {
  cmcp_call_add_text_contents(call, NULL, "text/plain", (const char *)data);
  cmcp_call_done(call);
}

static void read_blob(cmcp_call_t *call, void *data) {
  (void)data;
  assert_int_equal(cmcp_call_add_blob_contents(call, NULL, "image/png", "%%"),
                   CMCP_EINVAL);
  cmcp_call_add_blob_contents(call, NULL, "application/octet-stream", "AAEC");
  cmcp_call_done(call);
}

static void read_template(cmcp_call_t *call, void *data) {
  char text[128];
  (void)data;
  snprintf(text, sizeof(text), "item %s", cmcp_call_uri_var(call, "id"));
  assert_null(cmcp_call_uri_var(call, "nope"));
  assert_string_equal(cmcp_call_method(call), "resources/read");
  cmcp_call_add_text_contents(call, NULL, "text/plain", text);
  cmcp_call_done(call);
}

static void get_prompt(cmcp_call_t *call, void *data) {
  const char *who = "world";
  char text[256];
  (void)data;
  cmcp_call_arg_string(call, "who", &who);
  snprintf(text, sizeof(text), "{\"type\":\"text\",\"text\":\"Hello %s\"}",
           who);
  assert_int_equal(cmcp_call_add_prompt_message(call, "robot", text),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_call_add_prompt_message(call, "user", "{\"x\":1}"),
                   CMCP_EINVAL);
  cmcp_call_set_description(call, "A greeting");
  cmcp_call_add_prompt_message(call, "user", text);
  cmcp_call_add_prompt_message(
      call, "assistant",
      "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://a\","
      "\"text\":\"embedded\",\"mimeType\":\"text/plain\"}}");
  cmcp_call_done(call);
}

static void complete(cmcp_call_t *call, void *data) {
  int i;
  char v[16];
  (void)data;
  assert_string_equal(cmcp_call_method(call), "completion/complete");
  for (i = 0; i < 150; i++) {
    snprintf(v, sizeof(v), "v%03d", i);
    assert_int_equal(cmcp_call_add_completion(call, v), 0);
  }
  cmcp_call_done(call);
}

static void complete_small(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_completion(call, cmcp_call_name(call));
  assert_int_equal(cmcp_call_set_completion_total(call, -1, 0), CMCP_EINVAL);
  cmcp_call_set_completion_total(call, 10, 1);
  cmcp_call_done(call);
}

static cmcp_server_t *server(int ntools) {
  cmcp_server_t *srv = cmcp_server_new("features", "1");
  int i;
  char name[32];
  for (i = 0; i < ntools; i++) {
    snprintf(name, sizeof(name), "tool%02d", i);
    assert_int_equal(
        cmcp_server_add_tool(srv, name, "t", NULL, noop_tool, NULL), 0);
  }
  assert_int_equal(cmcp_server_add_resource(srv, "test://static-text", "static",
                                            "text/plain", read_static, "hello"),
                   0);
  assert_int_equal(cmcp_server_add_resource_json(
                       srv,
                       "{\"uri\":\"test://static-binary\",\"name\":\"bin\","
                       "\"mimeType\":\"application/octet-stream\"}",
                       0, read_blob, NULL),
                   0);
  assert_int_equal(cmcp_server_add_resource_template_json(
                       srv,
                       "{\"uriTemplate\":\"test://template/{id}/data\","
                       "\"name\":\"tpl\",\"mimeType\":\"text/plain\"}",
                       0, read_template, NULL),
                   0);
  assert_int_equal(
      cmcp_server_add_prompt_json(
          srv,
          "{\"name\":\"greet\",\"description\":\"Greets\",\"arguments\":"
          "[{\"name\":\"who\",\"required\":true},{\"name\":\"how\"}]}",
          0, get_prompt, NULL),
      0);
  return srv;
}

static void test_pagination(void **state) {
  cmcp_server_t *srv = server(25);
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char text[2048];
  int pages = 0, seen = 0;
  const char *cursor = NULL;
  char cur_copy[1024];
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_PAGE_SIZE, 10), 0);
  tp_initialize(tp, "2025-11-25", "{}");
  do {
    if (cursor != NULL)
      snprintf(text, sizeof(text),
               "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\","
               "\"params\":{\"cursor\":\"%s\"}}",
               pages + 10, cursor);
    else
      snprintf(text, sizeof(text),
               "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\"}",
               pages + 10);
    r = tp_call(tp, text);
    spec_assert_valid("2025-11-25", "ListToolsResult", jpath(r, "result"));
    seen += (int)json_object_array_length(jpath(r, "result.tools"));
    cursor = jstr(r, "result.nextCursor");
    if (cursor != NULL) {
      snprintf(cur_copy, sizeof(cur_copy), "%s", cursor);
      cursor = cur_copy;
    }
    pages++;
  } while (cursor != NULL && pages < 10);
  assert_int_equal(pages, 3);
  assert_int_equal(seen, 25);
  /* tampered, foreign and ill-typed cursors */
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                  "\"params\":{\"cursor\":\"AAAA\"}}"),
      -32602, "cursor");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                  "\"params\":{\"cursor\":5}}"),
      -32602, "params.cursor must be a string");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/list\","
           "\"params\":{\"cursor\":\"%s\"}}",
           jstr(r, "result.nextCursor"));
  assert_rpc_error(tp_call(tp, text), -32602, "cursor");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_resources(void **state) {
  cmcp_server_t *srv = server(0);
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}");
  assert_int_equal(json_object_array_length(jpath(r, "result.resources")), 2);
  spec_assert_valid("2025-11-25", "ListResourcesResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                  "\"resources/templates/list\"}");
  assert_string_equal(jstr(r, "result.resourceTemplates.0.uriTemplate"),
                      "test://template/{id}/data");
  spec_assert_valid("2025-11-25", "ListResourceTemplatesResult",
                    jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://static-text\"}}");
  assert_string_equal(jstr(r, "result.contents.0.text"), "hello");
  assert_string_equal(jstr(r, "result.contents.0.uri"), "test://static-text");
  spec_assert_valid("2025-11-25", "ReadResourceResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://static-binary\"}}");
  assert_string_equal(jstr(r, "result.contents.0.blob"), "AAEC");
  spec_assert_valid("2025-11-25", "ReadResourceResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://template/42/data\"}}");
  assert_string_equal(jstr(r, "result.contents.0.text"), "item 42");
  assert_string_equal(jstr(r, "result.contents.0.uri"),
                      "test://template/42/data");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://nothing\"}}");
  assert_rpc_error(r, -32002, "Resource not found");
  assert_string_equal(jstr(r, "error.data.uri"), "test://nothing");
  assert_rpc_error(tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":"
                               "\"resources/read\",\"params\":{}}"),
                   -32602, "params.uri");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_subscribe_and_updates(void **state) {
  cmcp_server_t *srv = server(1);
  tpeer *tp = tp_new(srv, 0), *other = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"2025-11-25\","
                  "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\","
                  "\"version\":\"1\"}}}");
  assert_rpc_error(r, -32600, "already");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                  "\"resources/subscribe\",\"params\":{\"uri\":"
                  "\"test://static-text\"}}");
  assert_non_null(jpath(r, "result"));
  spec_assert_valid("2025-11-25", "JSONRPCResponse", r);
  assert_int_equal(cmcp_server_notify_resource_updated(srv, "test://other"), 0);
  assert_null(tp_next(tp));
  assert_int_equal(
      cmcp_server_notify_resource_updated(srv, "test://static-text"), 0);
  r = tp_next(tp);
  assert_non_null(r);
  assert_string_equal(jstr(r, "method"), "notifications/resources/updated");
  assert_string_equal(jstr(r, "params.uri"), "test://static-text");
  spec_assert_valid("2025-11-25", "ResourceUpdatedNotification", r);
  assert_null(tp_next(other)); /* not initialized, not subscribed */
  /* list_changed on a feature change */
  assert_int_equal(
      cmcp_server_add_tool(srv, "late", NULL, NULL, noop_tool, NULL), 0);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/tools/list_changed");
  spec_assert_valid("2025-11-25", "ToolListChangedNotification", r);
  assert_int_equal(cmcp_server_notify_list_changed(
                       srv, CMCP_LIST_PROMPTS | CMCP_LIST_RESOURCES),
                   0);
  assert_string_equal(jstr(tp_next(tp), "method"),
                      "notifications/resources/list_changed");
  assert_string_equal(jstr(tp_next(tp), "method"),
                      "notifications/prompts/list_changed");
  assert_int_equal(cmcp_server_notify_list_changed(srv, 64), CMCP_EINVAL);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                  "\"resources/unsubscribe\",\"params\":{\"uri\":"
                  "\"test://static-text\"}}");
  assert_non_null(jpath(r, "result"));
  cmcp_server_notify_resource_updated(srv, "test://static-text");
  assert_null(tp_next(tp));
  assert_null(tp_next(other));
  tp_free(other);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_prompts(void **state) {
  cmcp_server_t *srv = server(0);
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-06-18", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
  assert_string_equal(jstr(r, "result.prompts.0.name"), "greet");
  spec_assert_valid("2025-06-18", "ListPromptsResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/get\","
                  "\"params\":{\"name\":\"greet\",\"arguments\":{\"who\":"
                  "\"Ada\"}}}");
  assert_string_equal(jstr(r, "result.messages.0.content.text"), "Hello Ada");
  assert_string_equal(jstr(r, "result.description"), "A greeting");
  assert_string_equal(jstr(r, "result.messages.1.content.type"), "resource");
  spec_assert_valid("2025-06-18", "GetPromptResult", jpath(r, "result"));
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\","
                  "\"params\":{\"name\":\"greet\"}}"),
      -32602, "Missing required argument: who");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"prompts/get\","
                  "\"params\":{\"name\":\"greet\",\"arguments\":{\"who\":1}}}"),
      -32602, "\"who\" must be a string");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/get\","
                  "\"params\":{\"name\":\"nope\"}}"),
      -32602, "Unknown prompt: nope");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_completion(void **state) {
  cmcp_server_t *srv = server(0);
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  /* no provider: the method is not offered */
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/prompt\",\"name\":\"greet\"},\"argument\":{\"name\":"
                  "\"who\",\"value\":\"A\"}}}"),
      -32601, "completion");
  assert_int_equal(cmcp_server_set_completion(srv, complete, NULL), 0);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/prompt\",\"name\":\"greet\"},\"argument\":{\"name\":"
                  "\"who\",\"value\":\"A\"}}}");
  assert_int_equal(
      json_object_array_length(jpath(r, "result.completion.values")), 100);
  assert_int_equal(jint(r, "result.completion.total"), 150);
  assert_true(json_object_get_boolean(jpath(r, "result.completion.hasMore")));
  spec_assert_valid("2025-11-25", "CompleteResult", jpath(r, "result"));
  assert_int_equal(cmcp_server_set_completion(srv, complete_small, NULL), 0);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/resource\",\"uri\":\"test://template/{id}/data\"},"
                  "\"argument\":{\"name\":\"id\",\"value\":\"4\"}}}");
  assert_string_equal(jstr(r, "result.completion.values.0"),
                      "test://template/{id}/data");
  assert_int_equal(jint(r, "result.completion.total"), 10);
  spec_assert_valid("2025-11-25", "CompleteResult", jpath(r, "result"));
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/other\"},\"argument\":{\"name\":\"a\",\"value\":"
                  "\"b\"}}}"),
      -32602, "params.ref");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/prompt\",\"name\":\"greet\"}}}"),
      -32602, "params.argument");
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
                  "\"completion/complete\",\"params\":{\"ref\":{\"type\":"
                  "\"ref/prompt\",\"name\":\"greet\"},\"argument\":{\"name\":"
                  "\"who\"}}}"),
      -32602, "params.argument");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void log_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_log(call, CMCP_LOG_DEBUG, "t", "\"debug line\"");
  cmcp_call_log(call, CMCP_LOG_WARNING, "t", "{\"w\":1}");
  assert_int_equal(cmcp_call_log(call, CMCP_LOG_ERROR, NULL, "{bad"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_call_log(call, CMCP_LOG_OFF, NULL, "1"), CMCP_EINVAL);
  cmcp_call_done(call);
}

static void test_logging_levels(void **state) {
  cmcp_server_t *srv = server(0);
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  assert_int_equal(cmcp_server_add_tool(srv, "log", NULL, NULL, log_tool, NULL),
                   0);
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                  "\"logging/setLevel\",\"params\":{\"level\":\"warning\"}}");
  assert_non_null(jpath(r, "result"));
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"log\"}}");
  r = tp_next(tp);
  assert_string_equal(jstr(r, "method"), "notifications/message");
  assert_string_equal(jstr(r, "params.level"), "warning");
  assert_int_equal(jint(r, "params.data.w"), 1);
  assert_int_equal(tp->kind[tp->next - 1], CMCP__OUT_NOTIFICATION);
  assert_int_equal(json_object_get_int(tp->related[tp->next - 1]), 2);
  spec_assert_valid("2025-11-25", "LoggingMessageNotification", r);
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 2);
  /* server-wide logs follow the same level */
  assert_int_equal(cmcp_server_log(srv, CMCP_LOG_INFO, "srv", "quiet"), 0);
  assert_null(tp_next(tp));
  assert_int_equal(cmcp_server_log(srv, CMCP_LOG_ERROR, "srv", "loud"), 0);
  r = tp_next(tp);
  assert_string_equal(jstr(r, "params.data"), "loud");
  assert_string_equal(jstr(r, "params.logger"), "srv");
  spec_assert_valid("2025-11-25", "LoggingMessageNotification", r);
  assert_int_equal(cmcp_server_log(srv, CMCP_LOG_OFF, "srv", "x"), CMCP_EINVAL);
  assert_rpc_error(
      tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                  "\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}"),
      -32602, "loud");
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pagination),
      cmocka_unit_test(test_resources),
      cmocka_unit_test(test_subscribe_and_updates),
      cmocka_unit_test(test_prompts),
      cmocka_unit_test(test_completion),
      cmocka_unit_test(test_logging_levels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
