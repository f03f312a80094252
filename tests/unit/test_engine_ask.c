/* tests/unit/test_engine_ask.c: one handler asking the client for input on
 * both wires: real server->client requests on a legacy session (sampling,
 * elicitation, roots; answers, errors, timeouts, cancellation) and
 * multi round-trip requests with a sealed requestState on 2026-07-28. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"
#include "helper_engine.h"
#include "helper_spec.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SAMPLING_PARAMS                                                        \
  "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","          \
  "\"text\":\"Capital of France?\"}}],\"maxTokens\":10}"

/* One round: ask the model, answer with what it said. */
static void sample_tool(cmcp_call_t *call, void *data) {
  json_object *ans = cmcp_call_input(call, "llm"), *text;
  (void)data;
  if (ans == NULL) {
    /* first round, or a retry that came back without the answer */
    assert_true(cmcp_call_state(call) == NULL ||
                strcmp(cmcp_call_state(call), "round1") == 0);
    assert_int_equal(cmcp_call_ask_sampling(call, "llm", "{\"maxTokens\":1}"),
                     CMCP_EINVAL);
    assert_int_equal(cmcp_call_ask_sampling(call, "llm", SAMPLING_PARAMS), 0);
    cmcp_call_set_state(call, "round1");
    cmcp_call_need_input(call);
    return;
  }
  assert_string_equal(cmcp_call_state(call), "round1");
  json_object_object_get_ex(json_object_object_get(ans, "content"), "text",
                            &text);
  cmcp_call_add_text(call, json_object_get_string(text));
  cmcp_call_done(call);
}

/* Two rounds: a form elicitation, then the roots. */
static void multi_tool(cmcp_call_t *call, void *data) {
  json_object *name = cmcp_call_input(call, "name");
  json_object *roots = cmcp_call_input(call, "roots");
  char text[256];
  (void)data;
  if (name == NULL) {
    cmcp_call_ask_elicit(call, "name", "Your name?",
                         "{\"type\":\"object\",\"properties\":{\"n\":"
                         "{\"type\":\"string\"}},\"required\":[\"n\"]}");
    cmcp_call_set_state(call, "asked-name");
    cmcp_call_need_input(call);
    return;
  }
  if (roots == NULL) {
    assert_string_equal(cmcp_call_state(call), "asked-name");
    cmcp_call_ask_roots(call, "roots");
    cmcp_call_set_state(call, "asked-roots");
    cmcp_call_need_input(call);
    return;
  }
  assert_string_equal(cmcp_call_state(call), "asked-roots");
  snprintf(
      text, sizeof(text), "%s:%s",
      json_object_get_string(
          json_object_object_get(json_object_object_get(name, "content"), "n")),
      json_object_get_string(json_object_object_get(
          json_object_array_get_idx(json_object_object_get(roots, "roots"), 0),
          "uri")));
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

static void url_tool(cmcp_call_t *call, void *data) {
  (void)data;
  if (cmcp_call_input(call, "go") != NULL) {
    cmcp_call_add_text(call, "visited");
    cmcp_call_done(call);
    return;
  }
  cmcp_call_ask_elicit_url(call, "go", "Please log in",
                           "https://example.com/login", NULL);
  cmcp_call_need_input(call);
}

static void no_ask_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_need_input(call);
}

static void read_with_ask(cmcp_call_t *call, void *data) {
  (void)data;
  if (cmcp_call_input(call, "ok") == NULL) {
    cmcp_call_ask_elicit(call, "ok", "Read it?",
                         "{\"type\":\"object\",\"properties\":{}}");
    cmcp_call_need_input(call);
    return;
  }
  cmcp_call_add_text_contents(call, NULL, "text/plain", "secret");
  cmcp_call_done(call);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("ask", "1");
  assert_int_equal(
      cmcp_server_add_tool(srv, "sample", NULL, NULL, sample_tool, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "multi", NULL, NULL, multi_tool, NULL), 0);
  assert_int_equal(cmcp_server_add_tool(srv, "url", NULL, NULL, url_tool, NULL),
                   0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "noask", NULL, NULL, no_ask_tool, NULL), 0);
  assert_int_equal(cmcp_server_add_resource(srv, "test://guarded", "g",
                                            "text/plain", read_with_ask, NULL),
                   0);
  return srv;
}

#define SAMPLING_RESULT                                                        \
  "{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":"           \
  "\"Paris\"},\"model\":\"m\"}"

/* ---- legacy
 * -------------------------------------------------------------------- */

static void test_legacy_sampling(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *ask, *r;
  char text[1024];
  (void)state;
  tp_initialize(tp, "2025-11-25", "{\"sampling\":{}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"sample\"}}");
  ask = tp_next(tp);
  assert_non_null(ask);
  assert_int_equal(tp->kind[tp->next - 1], CMCP__OUT_REQUEST);
  assert_int_equal(json_object_get_int(tp->related[tp->next - 1]), 1);
  assert_string_equal(jstr(ask, "method"), "sampling/createMessage");
  spec_assert_valid("2025-11-25", "CreateMessageRequest", ask);
  assert_null(tp_next(tp));
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  /* an unrelated response is ignored */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":" SAMPLING_RESULT "}",
           (long long)jint(ask, "id"));
  tp_feed(tp, text);
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 1);
  assert_string_equal(jstr(r, "result.content.0.text"), "Paris");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

/* Answers the next server->client request with result_json. */
static void answer(tpeer *tp, const char *method, const char *result_json) {
  json_object *ask = tp_next(tp);
  char text[2048];
  assert_non_null(ask);
  assert_string_equal(jstr(ask, "method"), method);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":%s}",
           (long long)jint(ask, "id"), result_json);
  tp_feed(tp, text);
}

static void test_legacy_two_rounds(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{\"elicitation\":{},\"roots\":{}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":\"m\",\"method\":\"tools/call\","
              "\"params\":{\"name\":\"multi\"}}");
  r = tp->out[tp->next];
  assert_string_equal(jstr(r, "params.mode"), "form");
  spec_assert_valid("2025-11-25", "ElicitRequest", r);
  answer(tp, "elicitation/create",
         "{\"action\":\"accept\",\"content\":{\"n\":\"ada\"}}");
  r = tp->out[tp->next];
  spec_assert_valid("2025-11-25", "ListRootsRequest", r);
  answer(tp, "roots/list", "{\"roots\":[{\"uri\":\"file:///home\"}]}");
  r = tp_next(tp);
  assert_string_equal(jstr(r, "id"), "m");
  assert_string_equal(jstr(r, "result.content.0.text"), "ada:file:///home");
  tp_free(tp);
  /* 2025-06-18 elicitation has no mode field */
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2025-06-18", "{\"elicitation\":{},\"roots\":{}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"multi\"}}");
  r = tp_next(tp);
  assert_null(jpath(r, "params.mode"));
  spec_assert_valid("2025-06-18", "ElicitRequest", r);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_legacy_url_elicitation(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{\"elicitation\":{\"url\":{}}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"url\"}}");
  r = tp->out[tp->next];
  assert_string_equal(jstr(r, "params.mode"), "url");
  assert_non_null(jstr(r, "params.elicitationId"));
  spec_assert_valid("2025-11-25", "ElicitRequest", r);
  answer(tp, "elicitation/create", "{\"action\":\"accept\"}");
  assert_string_equal(jstr(tp_next(tp), "result.content.0.text"), "visited");
  tp_free(tp);
  /* a client that only does forms cannot be asked for a URL */
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2025-11-25", "{\"elicitation\":{\"form\":{}}}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"url\"}}");
  assert_rpc_error(r, -32603, "did not declare");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_legacy_ask_failures(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *ask, *r;
  char text[256];
  (void)state;
  /* no sampling capability */
  tp_initialize(tp, "2025-11-25", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"sample\"}}");
  assert_rpc_error(r, -32603, "did not declare");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"noask\"}}");
  assert_rpc_error(r, -32603, "asked for none");
  tp_free(tp);
  /* the client answers with an error */
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2025-11-25", "{\"sampling\":{}}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"sample\"}}");
  ask = tp_next(tp);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":"
           "{\"code\":-1,\"message\":\"user rejected\"}}",
           (long long)jint(ask, "id"));
  r = tp_call(tp, text);
  assert_rpc_error(r, -32603, "user rejected");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  /* the client never answers */
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_ASK_TIMEOUT_MS, 50),
                   0);
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"sample\"}}");
  assert_non_null(tp_next(tp));
  assert_int_equal(cmcp__peer_tick(tp->peer, cmcp__now_ms()) > 0, 1);
  assert_null(tp_next(tp));
  assert_int_equal(cmcp__peer_tick(tp->peer, cmcp__now_ms() + 1000), -1);
  assert_rpc_error(tp_next(tp), -32603, "Timed out");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  /* cancelled while waiting for the client: no answer at all */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"sample\"}}");
  ask = tp_next(tp);
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":3}}");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":" SAMPLING_RESULT "}",
           (long long)jint(ask, "id"));
  tp_feed(tp, text);
  assert_null(tp_next(tp));
  /* closing with an ask pending frees the waiting call */
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"sample\"}}");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  tp_free(tp);
  cmcp_server_free(srv);
}

/* The transport closes the peer inside a refused send of an ask. */
static void test_legacy_ask_close_inside_send(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  (void)state;
  tp_initialize(tp, "2025-11-25", "{\"elicitation\":{},\"roots\":{}}");
  tp->close_now = 1;
  tp->send_rc = CMCP_ELIMIT;
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"multi\"}}");
  assert_null(tp->peer);
  assert_int_equal(tp->close_calls, 1);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_legacy_ping(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *ping;
  char text[128];
  (void)state;
  assert_int_equal(cmcp__peer_ping(tp->peer), CMCP_ESTATE);
  tp_initialize(tp, "2025-11-25", "{}");
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_ASK_TIMEOUT_MS, 50),
                   0);
  assert_int_equal(cmcp__peer_ping(tp->peer), 0);
  ping = tp_next(tp);
  assert_string_equal(jstr(ping, "method"), "ping");
  assert_int_equal(tp->kind[tp->next - 1], CMCP__OUT_REQUEST);
  assert_null(tp->related[tp->next - 1]);
  spec_assert_valid("2025-11-25", "PingRequest", ping);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
           "\"result\":{}}",
           (long long)jint(ping, "id"));
  tp_feed(tp, text);
  assert_int_equal(cmcp__peer_tick(tp->peer, cmcp__now_ms() + 1000), -1);
  assert_int_equal(tp->close_calls, 0);
  /* unanswered: the conversation is stale */
  assert_int_equal(cmcp__peer_ping(tp->peer), 0);
  assert_non_null(tp_next(tp));
  tp->close_now = 1;
  assert_int_equal(cmcp__peer_tick(tp->peer, cmcp__now_ms() + 1000), -1);
  assert_int_equal(tp->close_calls, 1);
  assert_null(tp->peer);
  tp_free(tp);
  cmcp_server_free(srv);
}

/* ---- modern (MRTR)
 * ------------------------------------------------------------ */

static char *retry_text(const char *id, const char *name, const char *caps,
                        const char *responses, const char *state_token) {
  static char text[16384];
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"%s\",\"arguments\":{\"b\":[1,2],\"a\":"
           "\"x\"},\"inputResponses\":%s,\"requestState\":\"%s\","
           "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
           "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":"
           "%s}}}",
           id, name, responses, state_token, caps);
  return text;
}

static void test_mrtr_one_round(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char token[8192];
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"sample\",\"arguments\":{\"a\":\"x\","
                  "\"b\":[1,2]}," MODERN_META("{\"sampling\":{}}") "}}");
  assert_string_equal(jstr(r, "result.resultType"), "input_required");
  assert_string_equal(jstr(r, "result.inputRequests.llm.method"),
                      "sampling/createMessage");
  assert_non_null(jstr(r, "result.requestState"));
  assert_non_null(json_object_object_get(jpath(r, "result._meta"),
                                         "io.modelcontextprotocol/serverInfo"));
  spec_assert_valid("2026-07-28", "InputRequiredResult", jpath(r, "result"));
  spec_assert_valid("2026-07-28", "JSONRPCResponse", r);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  snprintf(token, sizeof(token), "%s", jstr(r, "result.requestState"));
  /* the retry: arguments in another key order still match */
  r = tp_call(tp, retry_text("2", "sample", "{\"sampling\":{}}",
                             "{\"llm\":" SAMPLING_RESULT "}", token));
  assert_string_equal(jstr(r, "result.content.0.text"), "Paris");
  assert_string_equal(jstr(r, "result.resultType"), "complete");
  spec_assert_valid("2026-07-28", "CallToolResult", jpath(r, "result"));
  /* a retry without the answer asks again */
  r = tp_call(tp, retry_text("3", "sample", "{\"sampling\":{}}", "{}", token));
  assert_string_equal(jstr(r, "result.resultType"), "input_required");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_mrtr_two_rounds(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char token[8192];
  const char *caps = "{\"elicitation\":{},\"roots\":{}}";
  (void)state;
  r = tp_call(tp, retry_text("1", "multi", caps, "{}", ""));
  /* an empty requestState does not verify */
  assert_rpc_error(r, -32602, "requestState");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"multi\",\"arguments\":{\"a\":\"x\","
                  "\"b\":[1,2]},\"_meta\":{\"io.modelcontextprotocol/"
                  "protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/"
                  "clientCapabilities\":{\"elicitation\":{},\"roots\":{}}}}}");
  assert_string_equal(jstr(r, "result.inputRequests.name.method"),
                      "elicitation/create");
  spec_assert_valid("2026-07-28", "InputRequiredResult", jpath(r, "result"));
  snprintf(token, sizeof(token), "%s", jstr(r, "result.requestState"));
  r = tp_call(tp, retry_text("2", "multi", caps,
                             "{\"name\":{\"action\":\"accept\",\"content\":"
                             "{\"n\":\"ada\"}}}",
                             token));
  assert_string_equal(jstr(r, "result.inputRequests.roots.method"),
                      "roots/list");
  assert_null(jpath(r, "result.inputRequests.name"));
  spec_assert_valid("2026-07-28", "InputRequiredResult", jpath(r, "result"));
  snprintf(token, sizeof(token), "%s", jstr(r, "result.requestState"));
  /* the first answer travels in the sealed state */
  r = tp_call(tp, retry_text("3", "multi", caps,
                             "{\"roots\":{\"roots\":[{\"uri\":"
                             "\"file:///w\"}]}}",
                             token));
  assert_string_equal(jstr(r, "result.content.0.text"), "ada:file:///w");
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_mrtr_bad_state(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char token[8192], text[16384];
  size_t len;
  (void)state;
  r = tp_call(tp, retry_text("1", "sample", "{\"sampling\":{}}", "{}", "x"));
  assert_rpc_error(r, -32602, "requestState");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"sample\",\"arguments\":{\"a\":\"x\","
                  "\"b\":[1,2]}," MODERN_META("{\"sampling\":{}}") "}}");
  snprintf(token, sizeof(token), "%s", jstr(r, "result.requestState"));
  /* tampered: one character changed */
  len = strlen(token);
  token[len / 2] = token[len / 2] == 'A' ? 'B' : 'A';
  r = tp_call(tp, retry_text("2", "sample", "{\"sampling\":{}}", "{}", token));
  assert_rpc_error(r, -32602, "tampered");
  token[len / 2] = token[len / 2] == 'A' ? 'B' : 'A';
  /* rebound: the same state on other arguments */
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"sample\",\"arguments\":{\"a\":\"y\"},"
           "\"requestState\":\"%s\"," MODERN_META("{\"sampling\":{}}") "}}",
           token);
  assert_rpc_error(tp_call(tp, text), -32602, "another request");
  /* on another tool */
  r = tp_call(tp, retry_text("4", "multi", "{\"sampling\":{}}", "{}", token));
  assert_rpc_error(r, -32602, "requestState");
  /* wrong types */
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"sample\",\"requestState\":5," MODERN_META(
               "{}") "}}");
  assert_rpc_error(tp_call(tp, text), -32602, "params.requestState");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"sample\",\"inputResponses\":[]," MODERN_META(
               "{}") "}}");
  assert_rpc_error(tp_call(tp, text), -32602, "params.inputResponses");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"sample\",\"inputResponses\":{\"llm\":1}"
           "," MODERN_META("{}") "}}");
  assert_rpc_error(tp_call(tp, text), -32602, "inputResponses");
  /* expired */
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_STATE_TTL_MS, 1), 0);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"sample\",\"arguments\":{\"a\":\"x\","
                  "\"b\":[1,2]}," MODERN_META("{\"sampling\":{}}") "}}");
  snprintf(token, sizeof(token), "%s", jstr(r, "result.requestState"));
  usleep(10000);
  r = tp_call(tp, retry_text("9", "sample", "{\"sampling\":{}}", "{}", token));
  assert_rpc_error(r, -32602, "expired");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_mrtr_missing_capability(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"sample\"," MODERN_META("{}") "}}");
  assert_rpc_error(r, -32021, "capability");
  assert_non_null(jpath(r, "error.data.requiredCapabilities.sampling"));
  assert_int_equal(tp->status[tp->next - 1], 400);
  spec_assert_valid("2026-07-28", "MissingRequiredClientCapabilityError", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"url\"," MODERN_META(
                      "{\"elicitation\":{\"form\":{}}}") "}}");
  assert_rpc_error(r, -32021, "capability");
  assert_non_null(jpath(r, "error.data.requiredCapabilities.elicitation.url"));
  /* URL elicitation on the modern wire carries no elicitationId */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"url\"," MODERN_META(
                      "{\"elicitation\":{\"url\":{}}}") "}}");
  assert_null(jpath(r, "result.inputRequests.go.params.elicitationId"));
  assert_string_equal(jstr(r, "result.inputRequests.go.params.url"),
                      "https://example.com/login");
  spec_assert_valid("2026-07-28", "InputRequiredResult", jpath(r, "result"));
  /* resources/read may ask too */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\","
                  "\"params\":{\"uri\":\"test://guarded\"," MODERN_META(
                      "{\"elicitation\":{}}") "}}");
  assert_string_equal(jstr(r, "result.resultType"), "input_required");
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_legacy_sampling),
      cmocka_unit_test(test_legacy_two_rounds),
      cmocka_unit_test(test_legacy_url_elicitation),
      cmocka_unit_test(test_legacy_ask_failures),
      cmocka_unit_test(test_legacy_ask_close_inside_send),
      cmocka_unit_test(test_legacy_ping),
      cmocka_unit_test(test_mrtr_one_round),
      cmocka_unit_test(test_mrtr_two_rounds),
      cmocka_unit_test(test_mrtr_bad_state),
      cmocka_unit_test(test_mrtr_missing_capability),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
