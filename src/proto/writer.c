/* src/proto/writer.c: JSON text written directly, for the hot path.
 *
 * A tools/call result is mostly content blocks the handler just made. They
 * are written as JSON text as they are added, and the response is
 * assembled as text around them, so answering a call builds no json-c
 * object tree (each json-c object costs a hash table). Values that already
 * are json-c objects (structuredContent, extra fields) are serialized by
 * json-c into the same buffer.
 */
#include "engine.h"

#include <string.h>

/* Writes the escape sequence of byte c (one that needs escaping). */
static int w_escape(cmcp__buf *b, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
  switch (c) {
  case '"':
    return cmcp__buf_add(b, "\\\"", 2);
  case '\\':
    return cmcp__buf_add(b, "\\\\", 2);
  case '\b':
    return cmcp__buf_add(b, "\\b", 2);
  case '\f':
    return cmcp__buf_add(b, "\\f", 2);
  case '\n':
    return cmcp__buf_add(b, "\\n", 2);
  case '\r':
    return cmcp__buf_add(b, "\\r", 2);
  case '\t':
    return cmcp__buf_add(b, "\\t", 2);
  default:
    return cmcp__buf_add(b, esc, 6);
  }
}

int cmcp__w_string(cmcp__buf *b, const char *s, size_t len) {
  size_t i, run = 0;
  int rc = cmcp__w_reserve(b, b->len + len + 2);
  if (rc == 0)
    rc = cmcp__buf_add(b, "\"", 1);
  for (i = 0; rc == 0 && i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    rc = cmcp__buf_add(b, s + run, i - run);
    if (rc == 0)
      rc = w_escape(b, c);
    run = i + 1;
  }
  if (rc == 0)
    rc = cmcp__buf_add(b, s + run, len - run);
  return rc == 0 ? cmcp__buf_add(b, "\"", 1) : rc;
}

int cmcp__w_str(cmcp__buf *b, const char *s) {
  return cmcp__w_string(b, s, strlen(s));
}

int cmcp__w_json(cmcp__buf *b, json_object *v) {
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  return text != NULL ? cmcp__buf_add(b, text, len) : CMCP_ENOMEM;
}

/* Appends ,"key": (or "key": first in an object). */
static int w_key(cmcp__buf *b, const char *key, int first) {
  int rc = first ? 0 : cmcp__buf_add(b, ",", 1);
  if (rc == 0)
    rc = cmcp__w_str(b, key);
  return rc == 0 ? cmcp__buf_add(b, ":", 1) : rc;
}

int cmcp__w_reserve(cmcp__buf *b, size_t n) {
  char *p;
  if (n > b->limit)
    n = b->limit;
  if (b->cap >= n + 1)
    return 0;
  if (n + 1 < b->cap * 2) /* grow geometrically, like the buffer itself */
    n = b->cap * 2 - 1 < b->limit ? b->cap * 2 - 1 : b->limit;
  p = cmcp__realloc(b->data, n + 1);
  if (p == NULL)
    return CMCP_ENOMEM;
  if (b->data == NULL)
    p[0] = '\0';
  b->data = p;
  b->cap = n + 1;
  return 0;
}

void cmcp__w_truncate(cmcp__buf *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    if (b->data != NULL)
      b->data[len] = '\0';
  }
}

int cmcp__w_block(cmcp__buf *content, const char *const *kv, size_t n) {
  size_t i, mark = content->len;
  int rc = mark > 0 ? cmcp__buf_add(content, ",{", 2)
                    : cmcp__buf_add(content, "{", 1);
  int first = 1;
  for (i = 0; rc == 0 && i + 1 < n; i += 2) {
    if (kv[i + 1] == NULL)
      continue;
    rc = w_key(content, kv[i], first);
    if (rc == 0)
      rc = cmcp__w_str(content, kv[i + 1]);
    first = 0;
  }
  if (rc == 0)
    rc = cmcp__buf_add(content, "}", 1);
  if (rc != 0) /* leave the list as it was */
    cmcp__w_truncate(content, mark);
  return rc;
}

/* The modern decorations: resultType and _meta with serverInfo, merged
 * with a _meta object the handler set (given as user_meta, or NULL). */
static int w_modern(cmcp__buf *b, cmcp_server_t *srv, json_object *user_meta) {
  int rc = cmcp__buf_adds(b, ",\"resultType\":\"complete\",\"_meta\":{");
  int first = 1;
  if (rc == 0 && user_meta != NULL &&
      json_object_is_type(user_meta, json_type_object)) {
    json_object_object_foreach(user_meta, k, v) {
      if (strcmp(k, "io.modelcontextprotocol/serverInfo") == 0)
        continue;
      rc = w_key(b, k, first);
      if (rc == 0)
        rc = cmcp__w_json(b, v);
      first = 0;
      if (rc != 0)
        break;
    }
  }
  if (rc == 0)
    rc = w_key(b, "io.modelcontextprotocol/serverInfo", first);
  if (rc == 0)
    rc = cmcp__buf_adds(b, srv->info_modern);
  return rc == 0 ? cmcp__buf_add(b, "}", 1) : rc;
}

/* The handler's extra fields; "_meta" is left to w_modern on that wire. */
static int w_extra(cmcp__buf *b, const cmcp_call_t *call, int modern) {
  int rc = 0;
  if (call->extra == NULL)
    return 0;
  json_object_object_foreach(call->extra, k, v) {
    if (modern && strcmp(k, "_meta") == 0)
      continue;
    rc = w_key(b, k, 0);
    if (rc == 0)
      rc = cmcp__w_json(b, v);
    if (rc != 0)
      break;
  }
  return rc;
}

/* Checks structuredContent against the tool's outputSchema; a handler
 * that breaks its own contract is an internal error, logged. */
static int output_valid(const cmcp_call_t *call) {
  char err[400];
  if (call->feat == NULL || call->feat->output == NULL)
    return 1;
  if (call->structured != NULL &&
      cmcp__schema_validate(call->feat->output, NULL, call->structured, err,
                            sizeof(err)) == 0)
    return 1;
  cmcp__log(CMCP_LOG_ERROR,
            "tool %s: structuredContent violates its outputSchema: %s",
            call->feat->key, call->structured == NULL ? "missing" : err);
  return 0;
}

/* The CallToolResult object text of a finished DONE / TOOL_ERROR call. */
static int w_tool_result(cmcp__buf *b, cmcp_call_t *call, int decorate) {
  const char *err_text = call->err_msg != NULL ? call->err_msg : "Tool error";
  int rc = 0;
  if (call->outcome == CMCP__OUT_TOOL_ERROR) {
    const char *kv[4] = {"type", "text", "text", err_text};
    cmcp__buf_reset(&call->content);
    rc = cmcp__w_block(&call->content, kv, 4);
  } else if (call->content.len == 0 && call->structured != NULL) {
    /* "a tool that returns structured content SHOULD also return the
     * serialized JSON in a TextContent block" (tools, 2025-06-18) */
    const char *kv[4] = {
        "type", "text", "text",
        json_object_to_json_string_ext(call->structured,
                                       JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE)};
    rc = cmcp__w_block(&call->content, kv, 4);
  }
  if (rc == 0)
    rc = cmcp__buf_adds(b, "{\"content\":[");
  if (rc == 0 && call->content.len > 0)
    rc = cmcp__buf_add(b, call->content.data, call->content.len);
  if (rc == 0)
    rc = cmcp__buf_add(b, "]", 1);
  if (rc == 0 && call->outcome == CMCP__OUT_TOOL_ERROR)
    rc = cmcp__buf_adds(b, ",\"isError\":true");
  if (rc == 0 && call->outcome != CMCP__OUT_TOOL_ERROR &&
      call->structured != NULL && call->version <= CMCP__V2025_06_18) {
    rc = w_key(b, "structuredContent", 0);
    if (rc == 0)
      rc = cmcp__w_json(b, call->structured);
  }
  if (rc == 0)
    rc = w_extra(b, call, decorate && call->modern);
  if (rc == 0 && decorate && call->modern)
    rc = w_modern(b, call->srv,
                  call->extra ? json_object_object_get(call->extra, "_meta")
                              : NULL);
  return rc == 0 ? cmcp__buf_add(b, "}", 1) : rc;
}

int cmcp__tool_result_text(cmcp_call_t *call, cmcp__buf *b, int decorate,
                           int *code, const char **msg) {
  int rc;
  *code = CMCP_JSONRPC_INTERNAL_ERROR;
  if (call->outcome != CMCP__OUT_TOOL_ERROR && !output_valid(call)) {
    *msg = "Internal error: the tool's result does not match its "
           "outputSchema";
    return CMCP_EINVAL;
  }
  rc = w_tool_result(b, call, decorate);
  *msg = rc == CMCP_ELIMIT ? "Internal error: the result is too large"
                           : "Out of memory";
  return rc;
}

int cmcp__w_envelope_start(cmcp__buf *b, json_object *id) {
  int rc = cmcp__buf_adds(b, "{\"jsonrpc\":\"2.0\",\"id\":");
  if (rc == 0 && json_object_is_type(id, json_type_int))
    rc = cmcp__buf_printf(b, "%lld", (long long)json_object_get_int64(id));
  else if (rc == 0 && json_object_is_type(id, json_type_string))
    rc = cmcp__w_string(b, json_object_get_string(id),
                        (size_t)json_object_get_string_len(id));
  else if (rc == 0)
    rc = cmcp__w_json(b, id);
  return rc == 0 ? cmcp__buf_adds(b, ",\"result\":") : rc;
}
