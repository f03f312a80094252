/* content.c: cmcpd's resources and prompt, sized for load generators.
 *
 * Resources bench://128, bench://512, bench://1024, bench://2048 and
 * bench://4096 are text/plain of exactly that many bytes; the template
 * bench://blob/{bytes} reads as text of any size from 0 to
 * CMCPD_BLOB_MAX bytes. All of it is cut from one text made at start-up,
 * so a read costs a copy at most. The prompt "echo" sends its "text"
 * argument back as one user message.
 */
#include "cmcpd.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text every resource is cut from: CMCPD_BLOB_MAX printable ASCII
 * bytes (nothing JSON must escape), lines of 64 ending in a newline. */
static char blob[CMCPD_BLOB_MAX + 1];

/* A direct resource: its size and its text (a NUL-terminated copy of the
 * start of blob, made at start-up). */
typedef struct {
  size_t size;
  char *text;
  char uri[32];
} sized_resource;

static sized_resource sized[] = {{128, NULL, ""},
                                 {512, NULL, ""},
                                 {1024, NULL, ""},
                                 {2048, NULL, ""},
                                 {4096, NULL, ""}};

#define NSIZED (sizeof(sized) / sizeof(sized[0]))

/* Fills blob once: letters and digits, a newline every 64 bytes. */
static void blob_fill(void) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t i;

  for (i = 0; i < CMCPD_BLOB_MAX; i++)
    blob[i] = (i % 64 == 63) ? '\n' : alphabet[i % (sizeof(alphabet) - 1)];
  blob[CMCPD_BLOB_MAX] = '\0';
}

/* resources/read of a bench://N resource: its precomputed text. */
static void read_sized(cmcp_call_t *call, void *data) {
  const sized_resource *r = data;

  if (cmcp_call_add_text_contents(call, r->uri, "text/plain", r->text) != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
    return;
  }
  cmcp_call_done(call);
}

/* Parses the decimal {bytes} of a blob URI into *out: 0 if it is digits
 * only and at most CMCPD_BLOB_MAX, else -1. */
static int parse_bytes(const char *s, size_t *out) {
  char *end;
  unsigned long v;

  if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 9)
    return -1;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > CMCPD_BLOB_MAX)
    return -1;
  *out = (size_t)v;
  return 0;
}

/* Answers a blob URI whose size is not one we serve, with the error the
 * engine gives any unknown URI: -32602 on 2026-07-28, -32002 before. */
static void blob_not_found(cmcp_call_t *call) {
  char text[160];

  snprintf(text, sizeof(text),
           "Resource not found: %.64s (bytes must be 0 to %d)",
           cmcp_call_name(call), CMCPD_BLOB_MAX);
  cmcp_call_error(
      call, cmcp_call_is_modern(call) ? CMCP_JSONRPC_INVALID_PARAMS : -32002,
      text, NULL);
}

/* resources/read of bench://blob/{bytes}: the first {bytes} of blob. */
static void read_blob(cmcp_call_t *call, void *data) {
  size_t n;
  char *text;
  int rc;

  (void)data;
  if (parse_bytes(cmcp_call_uri_var(call, "bytes"), &n) != 0) {
    blob_not_found(call);
    return;
  }
  text = malloc(n + 1);
  if (text == NULL) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
    return;
  }
  memcpy(text, blob, n);
  text[n] = '\0';
  rc = cmcp_call_add_text_contents(call, cmcp_call_name(call), "text/plain",
                                   text);
  free(text);
  if (rc != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
    return;
  }
  cmcp_call_done(call);
}

/* A text ContentBlock {"type":"text","text":text}, or NULL if out of
 * memory. json-c writes it, so any text stays valid JSON. */
static struct json_object *text_block(const char *text) {
  struct json_object *block = json_object_new_object();
  struct json_object *t = json_object_new_string("text");
  struct json_object *v = json_object_new_string(text);

  if (block == NULL || t == NULL || v == NULL)
    goto fail;
  json_object_object_add(block, "type", t);
  t = NULL;
  if (json_object_object_add(block, "text", v) != 0)
    goto fail;
  return block;
fail:
  json_object_put(t);
  json_object_put(v);
  json_object_put(block);
  return NULL;
}

/* prompts/get echo: one user message whose text is the "text" argument
 * (the prompt declares it required and the engine checks that prompt
 * arguments are strings, so the first error below is a safety net). */
static void prompt_echo(cmcp_call_t *call, void *data) {
  struct json_object *block;
  const char *text;
  int rc;

  (void)data;
  if (cmcp_call_arg_string(call, "text", &text) != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INVALID_PARAMS,
                    "echo: argument text must be a string", NULL);
    return;
  }
  block = text_block(text);
  rc = block == NULL
           ? CMCP_ENOMEM
           : cmcp_call_add_prompt_message(
                 call, "user",
                 json_object_to_json_string_ext(block, JSON_C_TO_STRING_PLAIN));
  json_object_put(block);
  if (rc == 0)
    rc = cmcp_call_set_description(call, "The given text, echoed");
  if (rc != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
    return;
  }
  cmcp_call_done(call);
}

/* Registers bench://N number i. Returns 0 or a negative cmcp status. */
static int add_sized(cmcp_server_t *srv, size_t i) {
  sized_resource *r = &sized[i];
  char json[320];

  r->text = malloc(r->size + 1);
  if (r->text == NULL)
    return CMCP_ENOMEM;
  memcpy(r->text, blob, r->size);
  r->text[r->size] = '\0';
  snprintf(r->uri, sizeof(r->uri), "bench://%zu", r->size);
  snprintf(json, sizeof(json),
           "{\"uri\":\"%s\",\"name\":\"bench-%zu\",\"title\":\"%zu bytes\","
           "\"description\":\"%zu bytes of text, for load tests\","
           "\"mimeType\":\"text/plain\",\"size\":%zu}",
           r->uri, r->size, r->size, r->size, r->size);
  return cmcp_server_add_resource_json(srv, json, 0, read_sized, r);
}

int cmcpd_register_content(cmcp_server_t *srv) {
  size_t i;
  int rc;

  blob_fill();
  for (i = 0; i < NSIZED; i++) {
    rc = add_sized(srv, i);
    if (rc != 0)
      return rc;
  }
  rc = cmcp_server_add_resource_template_json(
      srv,
      "{\"uriTemplate\":\"bench://blob/{bytes}\",\"name\":\"bench-blob\","
      "\"title\":\"Text of any size\",\"description\":\"{bytes} bytes of "
      "text (0 to 65536), for load tests\",\"mimeType\":\"text/plain\"}",
      0, read_blob, NULL);
  if (rc != 0)
    return rc;
  return cmcp_server_add_prompt_json(
      srv,
      "{\"name\":\"echo\",\"title\":\"Echo\",\"description\":\"One user "
      "message holding the given text.\",\"arguments\":[{\"name\":\"text\","
      "\"description\":\"The text of the message\",\"required\":true}]}",
      0, prompt_echo, NULL);
}

void cmcpd_free_content(void) {
  size_t i;

  for (i = 0; i < NSIZED; i++) {
    free(sized[i].text);
    sized[i].text = NULL;
  }
}
