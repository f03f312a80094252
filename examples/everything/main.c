/* main.c: cmcp-everything, the server with every conformance fixture.
 *
 *   cmcp-everything --stdio
 *   cmcp-everything --listen 127.0.0.1:8080
 *
 * Options are the common ones of every cmcp server (cmcp_server_main).
 */
#include "everything.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The same bytes as the conformance suite's own fixture server. */
const char ev_png_base64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX"
    "8jx0gAAAABJRU5ErkJggg==";
const char ev_wav_base64[] =
    "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

#define EV_SLEEP_SLICE_MS 20

int ev_sleep_ms(cmcp_call_t *call, long ms) {
  while (ms > 0) {
    long slice = ms < EV_SLEEP_SLICE_MS ? ms : EV_SLEEP_SLICE_MS;
    struct timespec ts = {0, slice * 1000000L};

    if (call != NULL && cmcp_call_is_cancelled(call))
      return 1;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
    ms -= slice;
  }
  return call != NULL && cmcp_call_is_cancelled(call);
}

const char *ev_json_text(struct json_object *obj) {
  return json_object_to_json_string_ext(
      obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

const char *ev_json_string(struct json_object *obj, const char *key) {
  struct json_object *v;

  if (obj == NULL || !json_object_is_type(obj, json_type_object))
    return NULL;
  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

int ev_add_textf(cmcp_call_t *call, const char *fmt, ...) {
  char text[4096];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  return cmcp_call_add_text(call, text);
}

struct json_object *ev_elicit_answer(const cmcp_call_t *call, const char *key) {
  struct json_object *ans = cmcp_call_input(call, key);

  if (ev_json_string(ans, "action") == NULL)
    return NULL;
  return ans;
}

/* The text of one content block, or NULL if it is not a text block. */
static const char *block_text(struct json_object *block) {
  const char *type = ev_json_string(block, "type");

  if (type == NULL || strcmp(type, "text") != 0)
    return NULL;
  return ev_json_string(block, "text");
}

const char *ev_sampling_text(const cmcp_call_t *call, const char *key) {
  struct json_object *ans = cmcp_call_input(call, key);
  struct json_object *content;
  size_t i, n;

  if (ans == NULL || !json_object_is_type(ans, json_type_object) ||
      !json_object_object_get_ex(ans, "content", &content))
    return NULL;
  if (!json_object_is_type(content, json_type_array))
    return block_text(content);
  n = json_object_array_length(content);
  for (i = 0; i < n; i++) {
    const char *t = block_text(json_object_array_get_idx(content, i));
    if (t != NULL)
      return t;
  }
  return NULL;
}

int ev_missing_capability(cmcp_call_t *call, const char *capability) {
  char msg[160], data[160];

  snprintf(msg, sizeof(msg), "Missing required client capability: %s",
           capability);
  if (!cmcp_call_is_modern(call))
    return cmcp_call_tool_error(call, msg);
  /* 2026-07-28, basic/index: requiredCapabilities is a ClientCapabilities
   * object keyed by the missing capability. */
  snprintf(data, sizeof(data), "{\"requiredCapabilities\":{\"%s\":{}}}",
           capability);
  return cmcp_call_error(call, CMCP_MCP_MISSING_CAPABILITY, msg, data);
}

/* Registers every fixture on srv. */
static int register_all(cmcp_server_t *srv) {
  int rc;

  if ((rc = ev_register_tools(srv)) != 0 ||
      (rc = ev_register_ask_tools(srv)) != 0 ||
      (rc = ev_register_task_tools(srv)) != 0 ||
      (rc = ev_register_resources(srv)) != 0 ||
      (rc = ev_register_prompts(srv)) != 0)
    return rc;
  return cmcp_server_set_instructions(
      srv, "Conformance fixture server: every tool, resource and prompt the "
           "MCP conformance suite calls by name.");
}

int main(int argc, char **argv) {
  cmcp_server_t *srv;
  int rc, status;

  srv = cmcp_server_new("cmcp-everything", CMCP_VERSION_STRING);
  if (srv == NULL) {
    fprintf(stderr, "cmcp-everything: %s\n", cmcp_strerror(CMCP_ENOMEM));
    return 1;
  }
  rc = register_all(srv);
  if (rc != 0) {
    fprintf(stderr, "cmcp-everything: registering fixtures: %s\n",
            cmcp_strerror(rc));
    cmcp_server_free(srv);
    return 1;
  }
  status = cmcp_server_main(srv, argc, argv);
  cmcp_server_free(srv);
  return status;
}
