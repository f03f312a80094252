/* tests/fuzz/fuzz_engine.c: the MCP engine fed arbitrary conversations.
 *
 * Each line of the input is one message to a single peer of a server with
 * a few tools, resources, a template, a prompt and completion (handlers are
 * synchronous). The engine must not crash or leak, and no message may
 * produce more than one response: every request is answered at most once.
 */
#include "proto/peer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int responses; /* responses sent while handling the current line */

static int fz_send(void *ctx, const char *json, size_t len,
                   const cmcp__out_info *info) {
  (void)ctx;
  (void)json;
  (void)len;
  if (info->kind == CMCP__OUT_RESPONSE)
    responses++;
  return 0;
}

static void fz_close(void *ctx, const char *reason) {
  (void)ctx;
  (void)reason;
}

static void echo(cmcp_call_t *call, void *data) {
  const char *text = "";
  (void)data;
  cmcp_call_arg_string(call, "text", &text);
  cmcp_call_progress(call, 1, 2, text);
  cmcp_call_log(call, CMCP_LOG_INFO, "echo", "\"log\"");
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

static void structured(cmcp_call_t *call, void *data) {
  int64_t n = 0;
  (void)data;
  if (cmcp_call_arg_int64(call, "n", &n) == 0 && n > 0)
    cmcp_call_set_structured(call, "{\"n\":1}");
  cmcp_call_done(call);
}

static void ask(cmcp_call_t *call, void *data) {
  (void)data;
  if (cmcp_call_input(call, "a") != NULL &&
      cmcp_call_input(call, "b") != NULL) {
    cmcp_call_add_text(call,
                       cmcp_call_state(call) ? cmcp_call_state(call) : "");
    cmcp_call_done(call);
    return;
  }
  if (cmcp_call_input(call, "a") == NULL)
    cmcp_call_ask_elicit(call, "a", "A?", "{\"type\":\"object\"}");
  else
    cmcp_call_ask_sampling(call, "b", "{\"messages\":[],\"maxTokens\":1}");
  cmcp_call_set_state(call, "st");
  cmcp_call_need_input(call);
}

static void failing(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_tool_error(call, "no");
}

static void read_res(cmcp_call_t *call, void *data) {
  const char *id = cmcp_call_uri_var(call, "id");
  (void)data;
  cmcp_call_add_text_contents(call, NULL, "text/plain", id ? id : "static");
  cmcp_call_done(call);
}

static void prompt(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_prompt_message(call, "user",
                               "{\"type\":\"text\",\"text\":\"x\"}");
  cmcp_call_done(call);
}

static void complete(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_completion(call, "a");
  cmcp_call_done(call);
}

static cmcp_server_t *make_server(void) {
  cmcp_server_t *srv = cmcp_server_new("fuzz", "1");
  if (srv == NULL)
    abort();
  cmcp_server_set_limit(srv, CMCP_LIMIT_PAGE_SIZE, 2);
  cmcp_server_set_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER, 8);
  cmcp_server_add_tool(srv, "echo", "Echo",
                       "{\"type\":\"object\",\"properties\":{\"text\":"
                       "{\"type\":\"string\",\"maxLength\":64}}}",
                       echo, NULL);
  cmcp_server_add_tool_json(
      srv,
      "{\"name\":\"structured\",\"inputSchema\":{\"type\":\"object\"},"
      "\"outputSchema\":{\"type\":\"object\",\"required\":[\"n\"]}}",
      0, structured, NULL);
  cmcp_server_add_tool(srv, "ask", NULL, NULL, ask, NULL);
  cmcp_server_add_tool(srv, "fail", NULL, NULL, failing, NULL);
  cmcp_server_add_resource(srv, "test://static", "s", "text/plain", read_res,
                           NULL);
  cmcp_server_add_resource_template_json(
      srv, "{\"uriTemplate\":\"test://t/{id}\",\"name\":\"t\"}", 0, read_res,
      NULL);
  cmcp_server_add_prompt_json(
      srv,
      "{\"name\":\"p\",\"arguments\":[{\"name\":\"a\",\"required\":true}]}", 0,
      prompt, NULL);
  cmcp_server_set_completion(srv, complete, NULL);
  return srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const cmcp__peer_ops ops = {fz_send, NULL, NULL, fz_close};
  cmcp_server_t *srv = make_server();
  cmcp__peer_t *peer = cmcp__peer_new(srv, &ops, NULL);
  size_t start = 0, i;
  if (peer == NULL)
    abort();
  for (i = 0; i <= size; i++) {
    if (i < size && data[i] != '\n')
      continue;
    if (i > start) {
      responses = 0;
      cmcp__peer_feed(peer, (const char *)data + start, i - start);
      if (responses > 1)
        abort();
    }
    start = i + 1;
  }
  responses = 0;
  cmcp__peer_tick(peer, UINT64_MAX / 2);
  cmcp_server_notify_list_changed(srv, CMCP_LIST_TOOLS);
  cmcp_server_notify_resource_updated(srv, "test://static");
  cmcp__peer_shutdown(peer);
  cmcp__peer_close(peer);
  cmcp_server_free(srv);
  return 0;
}
