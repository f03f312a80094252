/* tools.c: the tools that answer on their own (no input from the client):
 * content of every type, logging, progress, errors, the JSON Schema 2020-12
 * tool, and the hooks that change the tool and prompt lists.
 */
#include "everything.h"

#include <stdio.h>
#include <string.h>

#define EV_NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

static void simple_text(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, "This is a simple text response for testing.");
  cmcp_call_done(call);
}

static void image_content(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_image(call, ev_png_base64, "image/png");
  cmcp_call_done(call);
}

static void audio_content(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_audio(call, ev_wav_base64, "audio/wav");
  cmcp_call_done(call);
}

static void embedded_resource(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_content_json(
      call, "{\"type\":\"resource\",\"resource\":{"
            "\"uri\":\"test://embedded-resource\",\"mimeType\":\"text/plain\","
            "\"text\":\"This is an embedded resource content.\"}}");
  cmcp_call_done(call);
}

static void multiple_content_types(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, "Multiple content types test:");
  cmcp_call_add_image(call, ev_png_base64, "image/png");
  cmcp_call_add_content_json(
      call, "{\"type\":\"resource\",\"resource\":{"
            "\"uri\":\"test://mixed-content-resource\","
            "\"mimeType\":\"application/json\","
            "\"text\":\"{\\\"test\\\":\\\"data\\\",\\\"value\\\":123}\"}}");
  cmcp_call_done(call);
}

/* Blocking: three info messages about 50 ms apart, then a text result.
 * The messages go out only if the client's log level admits them. */
static void tool_with_logging(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_log(call, CMCP_LOG_INFO, "cmcp-everything",
                "\"Tool execution started\"");
  ev_sleep_ms(call, 50);
  cmcp_call_log(call, CMCP_LOG_INFO, "cmcp-everything",
                "\"Tool processing data\"");
  ev_sleep_ms(call, 50);
  cmcp_call_log(call, CMCP_LOG_INFO, "cmcp-everything",
                "\"Tool execution completed\"");
  cmcp_call_add_text(call, "Tool with logging executed successfully");
  cmcp_call_done(call);
}

/* The request's progressToken as text ("0" when there is none). */
static void progress_token_text(cmcp_call_t *call, char *out, size_t len) {
  struct json_object *meta, *tok;
  const char *s = "0";

  if (json_object_object_get_ex(cmcp_call_params(call), "_meta", &meta) &&
      json_object_object_get_ex(meta, "progressToken", &tok))
    s = json_object_get_string(tok);
  snprintf(out, len, "%s", s != NULL ? s : "0");
}

/* Blocking: progress 0, 50, 100 of 100, about 50 ms apart; the result is
 * the progress token it reported to. */
static void tool_with_progress(cmcp_call_t *call, void *data) {
  char token[256], msg[64];
  int step;

  (void)data;
  for (step = 0; step <= 100; step += 50) {
    snprintf(msg, sizeof(msg), "Completed step %d of 100", step);
    cmcp_call_progress(call, step, 100, msg);
    if (step < 100)
      ev_sleep_ms(call, 50);
  }
  progress_token_text(call, token, sizeof(token));
  cmcp_call_add_text(call, token);
  cmcp_call_done(call);
}

static void error_handling(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_tool_error(call,
                       "This tool intentionally returns an error for testing");
}

/* Blocking: a call that takes a moment. Over Streamable HTTP the suite uses
 * it to watch the server's SSE priming event and retry field. */
static void reconnection(cmcp_call_t *call, void *data) {
  (void)data;
  ev_sleep_ms(call, 100);
  cmcp_call_add_text(call, "Reconnection test completed successfully. If you "
                           "received this, the client properly reconnected "
                           "after stream closure.");
  cmcp_call_done(call);
}

/* Echoes the arguments it was given. */
static void json_schema_tool(cmcp_call_t *call, void *data) {
  struct json_object *args = cmcp_call_arguments(call);

  (void)data;
  ev_add_textf(call, "JSON Schema 2020-12 tool called with: %s",
               args != NULL ? ev_json_text(args) : "{}");
  cmcp_call_done(call);
}

/* Logs at every level; on the 2026-07-28 wire nothing may reach a client
 * whose request carried no logLevel. */
static void logging_tool(cmcp_call_t *call, void *data) {
  cmcp_log_level_t lv;

  (void)data;
  for (lv = CMCP_LOG_DEBUG; lv <= CMCP_LOG_EMERGENCY; lv++)
    cmcp_call_log(call, lv, "cmcp-everything", "\"logging tool message\"");
  cmcp_call_add_text(call, "Logged one message at every level.");
  cmcp_call_done(call);
}

/* Reports the arguments; its "region" is mirrored into the Mcp-Param-Region
 * header on Streamable HTTP (x-mcp-header), which the server checks. */
static void header_param(cmcp_call_t *call, void *data) {
  const char *region = "", *query = "";

  (void)data;
  cmcp_call_arg_string(call, "region", &region);
  cmcp_call_arg_string(call, "query", &query);
  ev_add_textf(call, "region=%s query=%s", region, query);
  cmcp_call_done(call);
}

static void dynamic_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, "This tool was added while the server ran.");
  cmcp_call_done(call);
}

#define EV_DYNAMIC_TOOL                                                        \
  "{\"name\":\"test_dynamic_tool\",\"description\":\"Appears and disappears "  \
  "each time test_trigger_tool_change is "                                     \
  "called.\",\"inputSchema\":" EV_NO_ARGS "}"

/* Adds test_dynamic_tool if it is absent, removes it if present: either
 * way the tool list changes and list_changed goes out. */
static void trigger_tool_change(cmcp_call_t *call, void *data) {
  cmcp_server_t *srv = cmcp_call_server(call);
  int rc;

  (void)data;
  rc = cmcp_server_remove_tool(srv, "test_dynamic_tool");
  if (rc == CMCP_ENOENT)
    rc = cmcp_server_add_tool_json(srv, EV_DYNAMIC_TOOL, 0, dynamic_tool, NULL);
  if (rc != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc), NULL);
    return;
  }
  cmcp_call_add_text(call, "The tool list changed.");
  cmcp_call_done(call);
}

static void trigger_prompt_change(cmcp_call_t *call, void *data) {
  int rc;

  (void)data;
  rc = ev_toggle_dynamic_prompt(cmcp_call_server(call));
  if (rc != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc), NULL);
    return;
  }
  cmcp_call_add_text(call, "The prompt list changed.");
  cmcp_call_done(call);
}

/* The schema the json-schema-2020-12 scenario looks for, keyword for
 * keyword ($schema, $defs with $anchor, allOf/anyOf, if/then/else,
 * additionalProperties). */
#define EV_SCHEMA_2020_12                                                      \
  "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","             \
  "\"type\":\"object\",\"$defs\":{\"address\":{\"$anchor\":\"addressDef\","    \
  "\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"      \
  "\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"      \
  "\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},\"contactMethod\":"  \
  "{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},\"phone\":{\"type\":"  \
  "\"string\"},\"email\":{\"type\":\"string\"}},\"allOf\":[{\"anyOf\":["       \
  "{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],\"if\":{"          \
  "\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":["    \
  "\"contactMethod\"]},\"then\":{\"required\":[\"phone\"]},\"else\":{"         \
  "\"required\":[\"email\"]},\"additionalProperties\":false}"

#define EV_TOOL(name, desc)                                                    \
  "{\"name\":\"" name "\",\"description\":\"" desc                             \
  "\",\"inputSchema\":" EV_NO_ARGS "}"

static const struct {
  const char *json;
  unsigned flags;
  cmcp_handler_fn fn;
} tools[] = {
    {EV_TOOL("test_simple_text", "Returns one text content block."), 0,
     simple_text},
    {EV_TOOL("test_image_content", "Returns one image content block (PNG)."), 0,
     image_content},
    {EV_TOOL("test_audio_content", "Returns one audio content block (WAV)."), 0,
     audio_content},
    {EV_TOOL("test_embedded_resource",
             "Returns an embedded text resource content block."),
     0, embedded_resource},
    {EV_TOOL("test_multiple_content_types",
             "Returns text, image and embedded resource content together."),
     0, multiple_content_types},
    {EV_TOOL("test_tool_with_logging",
             "Sends three info log messages about 50 ms apart while it runs."),
     CMCP_FEATURE_BLOCKING, tool_with_logging},
    {EV_TOOL("test_tool_with_progress",
             "Reports progress 0, 50 and 100 of 100 to the request's "
             "progressToken, then returns the token."),
     CMCP_FEATURE_BLOCKING, tool_with_progress},
    {EV_TOOL("test_error_handling",
             "Always fails with a tool error (isError: true)."),
     0, error_handling},
    {EV_TOOL("test_reconnection",
             "Takes about 100 ms, then returns a text result."),
     CMCP_FEATURE_BLOCKING, reconnection},
    {"{\"name\":\"json_schema_2020_12_tool\",\"description\":\"Tool with JSON "
     "Schema 2020-12 features: $defs, $anchor, allOf/anyOf, if/then/else.\","
     "\"inputSchema\":" EV_SCHEMA_2020_12 "}",
     0, json_schema_tool},
    {"{\"name\":\"test_header_param\",\"description\":\"Echoes region and "
     "query; region travels in the Mcp-Param-Region header too "
     "(x-mcp-header).\",\"inputSchema\":{\"type\":\"object\",\"properties\":"
     "{\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\","
     "\"description\":\"Where to run\"},\"query\":{\"type\":\"string\"}},"
     "\"required\":[\"region\"]}}",
     0, header_param},
    {EV_TOOL("test_logging_tool",
             "Logs one message at every level, then returns text."),
     0, logging_tool},
    {EV_TOOL("test_trigger_tool_change",
             "Adds or removes test_dynamic_tool, so the tool list changes."),
     0, trigger_tool_change},
    {EV_TOOL("test_trigger_prompt_change",
             "Adds or removes test_dynamic_prompt, so the prompt list "
             "changes."),
     0, trigger_prompt_change},
};

int ev_register_tools(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
    rc = cmcp_server_add_tool_json(srv, tools[i].json, tools[i].flags,
                                   tools[i].fn, NULL);
    if (rc != 0)
      return rc;
  }
  return 0;
}
