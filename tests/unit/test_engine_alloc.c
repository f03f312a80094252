/* tests/unit/test_engine_alloc.c: the engine under allocation failure.
 *
 * The Nth allocation through the cmcp allocator fails, for N = 1, 2, ...
 * until a whole flow (server setup, initialize, tools/list, tools/call on
 * both wires, an MRTR round, a subscription, a legacy ask, close) runs
 * without reaching N. Each run must neither crash nor leak (the ASan build
 * checks leaks) and must never answer a request twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_alloc.h"
#include "helper_engine.h"

#include <stdlib.h>
#include <string.h>


static void echo(cmcp_call_t *call, void *data) {
  const char *text = "";
  (void)data;
  cmcp_call_arg_string(call, "text", &text);
  cmcp_call_add_text(call, text);
  cmcp_call_set_structured(call, "{\"n\":1}");
  cmcp_call_done(call);
}

static void ask(cmcp_call_t *call, void *data) {
  (void)data;
  if (cmcp_call_input(call, "e") != NULL) {
    cmcp_call_add_text(call, "ok");
    cmcp_call_done(call);
    return;
  }
  cmcp_call_ask_elicit(call, "e", "Name?", "{\"type\":\"object\"}");
  cmcp_call_set_state(call, "s");
  cmcp_call_need_input(call);
}

static void read_res(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text_contents(call, NULL, "text/plain",
                              cmcp_call_uri_var(call, "id"));
  cmcp_call_done(call);
}

static const char *const flow[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"elicitation\":{}},"
    "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"echo\",\"arguments\":{\"text\":5}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\","
    "\"params\":{\"uri\":\"t://x/1\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/read\",\"params\":{"
    "\"uri\":\"t://x/1\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"ask\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"action\":\"accept\","
    "\"content\":{}}}",
    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"echo\",\"arguments\":{\"text\":\"m\"}," MODERN_META("{}") "}}",
    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
    "\"name\":\"ask\"," MODERN_META("{\"elicitation\":{}}") "}}",
    "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"server/"
    "discover\",\"params\":{" MODERN_META("{}") "}}",
    "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"subscriptions/listen\","
    "\"params\":{\"notifications\":{\"toolsListChanged\":true}," MODERN_META(
        "{}") "}}",
    "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"bogus\"}",
    "not json",
};

/* 1 for a response with a non-null id. */
static int is_response(json_object *m) {
  json_object *id = jpath(m, "id");
  return jpath(m, "method") == NULL && id != NULL &&
         !json_object_is_type(id, json_type_null);
}

/* Runs the flow once; returns 1 if an allocation failed on the way. */
static int run_flow(long n_failing) {
  cmcp_server_t *srv;
  tpeer *tp;
  size_t i, j;
  srv = cmcp_server_new("alloc", "1");
  if (srv == NULL)
    return 1;
  cmcp_server_add_tool(srv, "echo", NULL,
                       "{\"type\":\"object\",\"properties\":{\"text\":"
                       "{\"type\":\"string\"}}}",
                       echo, NULL);
  cmcp_server_add_tool(srv, "ask", NULL, NULL, ask, NULL);
  cmcp_server_add_resource_template_json(
      srv, "{\"uriTemplate\":\"t://x/{id}\",\"name\":\"x\"}", 0, read_res,
      NULL);
  tp = tp_new_or_null(srv);
  if (tp != NULL) {
    for (i = 0; i < sizeof(flow) / sizeof(flow[0]); i++) {
      int rc = cmcp__peer_feed(tp->peer, flow[i], strlen(flow[i]));
      assert_true(rc == 0 || rc == CMCP_ENOMEM);
    }
    cmcp_server_notify_resource_updated(srv, "t://x/1");
    cmcp_server_add_tool(srv, "late", NULL, NULL, echo, NULL);
    cmcp_server_log(srv, CMCP_LOG_ERROR, NULL, "x");
    /* at most one response per request id */
    for (i = 0; i < tp->n; i++)
      for (j = i + 1; j < tp->n; j++)
        assert_false(is_response(tp->out[i]) && is_response(tp->out[j]) &&
                     json_object_equal(jpath(tp->out[i], "id"),
                                       jpath(tp->out[j], "id")));
    tp_free(tp);
  }
  cmcp_server_free(srv);
  return alloc_fail_count() >= n_failing;
}

static void test_alloc_failure_sweep(void **state) {
  long n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 5000; n++) {
    alloc_fail_arm(n);
    if (!run_flow(n))
      break;
  }
  alloc_fail_uninstall();
  print_message("allocation failure injected at %ld points\n", n - 1);
  assert_true(n > 20);   /* the flow does allocate */
  assert_true(n < 5000); /* and finished without failure in the end */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
