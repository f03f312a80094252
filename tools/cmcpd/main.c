/* cmcpd: the ready-to-run MCP daemon with a few built-in tools.
 *
 *   cmcpd --stdio
 *   cmcpd --listen 127.0.0.1:8080 [--threads N] [--workers N] ...
 *
 * Tools: echo (text back), add (a + b, with structured output), sleep
 * (waits on the worker pool) and fail (always a tool error). Resources
 * bench://128 ... bench://4096 and bench://blob/{bytes} (text of that size)
 * and the prompt echo, for load generators (content.c). Options are the
 * common ones of every cmcp server (cmcp_server_main; --help lists them).
 */
#include "cmcpd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* echo: returns its "text" argument as text content. */
static void tool_echo(cmcp_call_t *call, void *data) {
  const char *text;

  (void)data;
  if (cmcp_call_arg_string(call, "text", &text) != 0) {
    cmcp_call_tool_error(call, "echo: argument text must be a string");
    return;
  }
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

/* Formats d in the shortest form that reads back as the same double. */
static void format_number(double d, char *out, size_t len) {
  int prec;

  for (prec = 15; prec <= 17; prec++) {
    snprintf(out, len, "%.*g", prec, d);
    if (strtod(out, NULL) == d)
      return;
  }
}

/* add: a + b, as text and as structuredContent {"sum": ...}. */
static void tool_add(cmcp_call_t *call, void *data) {
  double a, b, sum;
  char num[64], structured[96];

  (void)data;
  if (cmcp_call_arg_double(call, "a", &a) != 0 ||
      cmcp_call_arg_double(call, "b", &b) != 0) {
    cmcp_call_tool_error(call, "add: arguments a and b must be numbers");
    return;
  }
  sum = a + b;
  if (sum - sum != 0) { /* inf or nan: JSON has no such number */
    cmcp_call_tool_error(call, "add: the sum is out of range");
    return;
  }
  format_number(sum, num, sizeof(num));
  snprintf(structured, sizeof(structured), "{\"sum\":%s}", num);
  if (cmcp_call_add_text(call, num) != 0 ||
      cmcp_call_set_structured(call, structured) != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "add: out of memory",
                    NULL);
    return;
  }
  cmcp_call_done(call);
}

#define SLEEP_SLICE_MS 20

/* Sleeps ms milliseconds in slices; returns 1 if the call was cancelled
 * meanwhile (the sleep then stops early), else 0. */
static int sleep_ms(cmcp_call_t *call, int64_t ms) {
  while (ms > 0) {
    int64_t slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
    struct timespec ts = {0, (long)slice * 1000000L};

    if (cmcp_call_is_cancelled(call))
      return 1;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
    ms -= slice;
  }
  return 0;
}

/* sleep: waits "ms" milliseconds on the worker pool (the input schema
 * bounds ms to 0..60000; checked again here). */
static void tool_sleep(cmcp_call_t *call, void *data) {
  int64_t ms;
  char text[64];

  (void)data;
  if (cmcp_call_arg_int64(call, "ms", &ms) != 0 || ms < 0 || ms > 60000) {
    cmcp_call_tool_error(call, "sleep: ms must be an integer in 0..60000");
    return;
  }
  if (sleep_ms(call, ms)) {
    cmcp_call_tool_error(call, "sleep: cancelled");
    return;
  }
  snprintf(text, sizeof(text), "slept %lld ms", (long long)ms);
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

/* fail: a tool error carrying "message" (or a default one). */
static void tool_fail(cmcp_call_t *call, void *data) {
  const char *message = "fail: this tool always fails";

  (void)data;
  cmcp_call_arg_string(call, "message", &message);
  cmcp_call_tool_error(call, message);
}

static const struct {
  const char *json;
  unsigned flags;
  cmcp_handler_fn fn;
} tools[] = {
    {"{\"name\":\"echo\",\"title\":\"Echo\",\"description\":\"Returns the "
     "given text unchanged, as one text content block.\",\"inputSchema\":{"
     "\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
     "\"description\":\"The text to send back\"}},\"required\":[\"text\"],"
     "\"additionalProperties\":false},\"annotations\":{\"readOnlyHint\":true,"
     "\"idempotentHint\":true,\"openWorldHint\":false}}",
     0, tool_echo},
    {"{\"name\":\"add\",\"title\":\"Add\",\"description\":\"Adds two numbers; "
     "the sum comes back as text and as structured content {sum}.\","
     "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
     "\"number\",\"description\":\"First addend\"},\"b\":{\"type\":"
     "\"number\",\"description\":\"Second addend\"}},\"required\":[\"a\","
     "\"b\"],\"additionalProperties\":false},\"outputSchema\":{\"type\":"
     "\"object\",\"properties\":{\"sum\":{\"type\":\"number\",\"description\":"
     "\"a + b\"}},\"required\":[\"sum\"]},\"annotations\":{\"readOnlyHint\":"
     "true,\"idempotentHint\":true,\"openWorldHint\":false}}",
     0, tool_add},
    {"{\"name\":\"sleep\",\"title\":\"Sleep\",\"description\":\"Waits the "
     "given number of milliseconds (0 to 60000) on the worker pool, then "
     "says how long it slept. Stops early if the call is cancelled.\","
     "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":"
     "\"integer\",\"minimum\":0,\"maximum\":60000,\"description\":"
     "\"Milliseconds to sleep\"}},\"required\":[\"ms\"],"
     "\"additionalProperties\":false},\"annotations\":{\"readOnlyHint\":true,"
     "\"openWorldHint\":false}}",
     CMCP_FEATURE_BLOCKING, tool_sleep},
    {"{\"name\":\"fail\",\"title\":\"Fail\",\"description\":\"Always fails "
     "with a tool error (isError: true) carrying the given message; for "
     "testing how clients show tool errors.\",\"inputSchema\":{\"type\":"
     "\"object\",\"properties\":{\"message\":{\"type\":\"string\","
     "\"description\":\"The error message to return\"}},"
     "\"additionalProperties\":false},\"annotations\":{\"readOnlyHint\":true,"
     "\"openWorldHint\":false}}",
     0, tool_fail},
};

/* Registers the built-in tools. Returns 0 or a negative cmcp status. */
static int register_tools(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
    rc = cmcp_server_add_tool_json(srv, tools[i].json, tools[i].flags,
                                   tools[i].fn, NULL);
    if (rc != 0)
      return rc;
  }
  return cmcp_server_set_instructions(
      srv, "cmcpd: tools echo, add, sleep and fail, text resources "
           "bench://<bytes> and a prompt echo, for trying out MCP clients "
           "and loading servers.");
}

int main(int argc, char **argv) {
  cmcp_server_t *srv;
  int rc, status;

  srv = cmcp_server_new("cmcpd", CMCP_VERSION_STRING);
  if (srv == NULL) {
    fprintf(stderr, "cmcpd: %s\n", cmcp_strerror(CMCP_ENOMEM));
    return 1;
  }
  rc = register_tools(srv);
  if (rc == 0)
    rc = cmcpd_register_content(srv);
  if (rc != 0) {
    fprintf(stderr, "cmcpd: registering features: %s\n", cmcp_strerror(rc));
    cmcp_server_free(srv);
    cmcpd_free_content();
    return 1;
  }
  status = cmcp_server_main(srv, argc, argv);
  cmcp_server_free(srv);
  cmcpd_free_content();
  return status;
}
