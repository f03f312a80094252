/* src/transport/mcp_params.c: the Mcp-Param-{Name} headers of a modern
 * tools/call (SEP-2243, "Custom Headers from Tool Parameters").
 *
 * A tool's inputSchema may mark parameters reachable through a chain of
 * "properties" with "x-mcp-header": NAME; a client then mirrors the
 * argument's value into Mcp-Param-NAME. "Any server that processes the
 * message body MUST validate that encoded header values, after decoding if
 * Base64-encoded, match the corresponding values in the request body" and
 * "Servers MUST reject requests with a recognized Mcp-Param-{Name} header
 * that contains invalid characters": both are 400 with -32020. A value
 * absent or null in the arguments expects no header.
 */
#include "transport/mcp_int.h"

#include "base/base64.h"
#include "proto/engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define HEADER_NAME_MAX 128

/* Decodes a header value (plain or "=?base64?...?=") into out, with a NUL.
 * -1 for invalid characters or invalid base64. */
static int decode_value(const char *v, cmcp__buf *out) {
  size_t n = strlen(v), i;
  if (n >= 11 && strncmp(v, "=?base64?", 9) == 0 &&
      strcmp(v + n - 2, "?=") == 0) {
    if (cmcp__base64_decode(v + 9, n - 11, CMCP__B64_STD, out) != 0)
      return -1;
    return cmcp__buf_add(out, "", 1) == 0 ? 0 : -1;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c > 0x7e)
      return -1;
  }
  return cmcp__buf_add(out, v, n + 1) == 0 ? 0 : -1;
}

/* 1 if text (decoded header) stands for the body value v. Integers
 * compare numerically ("42.0" equals 42). */
static int value_matches(const char *text, size_t len, json_object *v) {
  char *end = NULL;
  double d;
  switch (json_object_get_type(v)) {
  case json_type_string:
    return len == (size_t)json_object_get_string_len(v) &&
           memcmp(text, json_object_get_string(v), len) == 0;
  case json_type_boolean:
    return strcmp(text, json_object_get_boolean(v) ? "true" : "false") == 0;
  case json_type_int:
  case json_type_double:
    if (len == 0)
      return 0;
    errno = 0;
    d = strtod(text, &end);
    return errno == 0 && end == text + len && isfinite(d) &&
           d == json_object_get_double(v);
  default:
    return 0;
  }
}

/* Checks the header of one annotated parameter whose body value is v. */
static const char *check_one(cmcp__http_request *req, const char *name,
                             json_object *v) {
  char hname[HEADER_NAME_MAX];
  const char *hv, *why = NULL;
  cmcp__buf b;
  if (v == NULL)
    return NULL; /* absent or null: "Server MUST NOT expect the header" */
  if (snprintf(hname, sizeof hname, "Mcp-Param-%s", name) >=
      (int)sizeof hname)
    return "Header mismatch: x-mcp-header name too long";
  hv = cmcp__http_request_header(req, hname);
  if (hv == NULL)
    return "Header mismatch: a required Mcp-Param header is missing";
  cmcp__buf_init(&b, strlen(hv) + 1);
  if (decode_value(hv, &b) != 0)
    why = "Header mismatch: an Mcp-Param header holds invalid characters "
          "or invalid base64";
  else if (!value_matches(b.data, b.len - 1, v))
    why = "Header mismatch: an Mcp-Param header does not match the "
          "arguments";
  cmcp__buf_free(&b);
  return why;
}

/* Walks schema's properties with the arguments object args beside it. */
static const char *walk(cmcp__http_request *req, json_object *schema,
                        json_object *args, int depth) {
  json_object *props = NULL;
  const char *why = NULL;
  if (depth > MAX_DEPTH ||
      !json_object_object_get_ex(schema, "properties", &props) ||
      !json_object_is_type(props, json_type_object))
    return NULL;
  json_object_object_foreach(props, key, prop) {
    json_object *v = NULL, *mark = NULL;
    if (!json_object_is_type(prop, json_type_object))
      continue;
    if (json_object_is_type(args, json_type_object))
      json_object_object_get_ex(args, key, &v);
    if (json_object_object_get_ex(prop, "x-mcp-header", &mark) &&
        json_object_is_type(mark, json_type_string))
      why = check_one(req, json_object_get_string(mark), v);
    if (why == NULL)
      why = walk(req, prop, v, depth + 1);
    if (why != NULL)
      return why;
  }
  return NULL;
}

const char *cmcp__mcp_check_params(cmcp_server_t *srv,
                                   cmcp__http_request *req, const char *tool,
                                   json_object *arguments) {
  cmcp__registry *reg;
  cmcp__feature *f;
  json_object *schema = NULL;
  const char *why = NULL;
  if (tool == NULL)
    return NULL;
  reg = cmcp__registry_acquire(srv);
  if (reg == NULL)
    return NULL;
  f = cmcp__registry_find(reg, CMCP__TOOL, tool);
  if (f != NULL && json_object_object_get_ex(f->def, "inputSchema", &schema))
    why = walk(req, schema, arguments, 0);
  cmcp__registry_unref(reg);
  return why;
}
