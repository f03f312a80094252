/* src/json/json.h: the JSON facade (strict json-c) and the JSON-RPC 2.0
 * codec. Internal to libcmcp.
 *
 * Parsing is strict: RFC 8259 only (json-c strict mode), valid UTF-8 only
 * (no overlong forms, no surrogates, nothing above U+10FFFF), no NaN or
 * Infinity, nesting no deeper than the limit, text no longer than the limit.
 * Objects returned are json-c objects with one reference owned by the caller.
 */
#ifndef CMCP_JSON_H
#define CMCP_JSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cmcp__json_limits {
  size_t max_bytes; /* longest text accepted (0: no limit) */
  int max_depth;    /* deepest nesting accepted (objects and arrays) */
} cmcp__json_limits;

#define CMCP__JSON_DEFAULT_MAX_BYTES ((size_t)4 << 20)
#define CMCP__JSON_DEFAULT_MAX_DEPTH 128
/* A larger max_depth is lowered to this: json-c's serializer recurses. */
#define CMCP__JSON_MAX_DEPTH_CAP 10000

/* 1 if s[0..len) is well-formed UTF-8, else 0. */
int cmcp__utf8_valid(const char *s, size_t len);
/* Length (1..4) of the well-formed UTF-8 character at s[0..len), or 0 if
 * the bytes there are malformed, truncated or len is 0. */
size_t cmcp__utf8_char_len(const char *s, size_t len);

/* Parses exactly one JSON value from text[0..len) (surrounding whitespace
 * allowed). On success returns 0 and stores the value in *out (NULL for
 * a JSON null, as json-c represents it). On failure
 * returns CMCP_EPARSE (not JSON), CMCP_ELIMIT (too long or too deep) or
 * CMCP_ENOMEM and writes a one-line reason into errbuf (may be NULL).
 * lim NULL means the defaults; lim->max_depth <= 0 means the default depth.
 * Also refused as CMCP_EPARSE: lone UTF-16 surrogates in \u escapes, raw
 * control characters in strings, integers outside [-2^63, 2^64-1] (json-c
 * would clamp them), numbers that overflow a double (1e999) and object
 * keys holding \u0000 (json-c would cut them at the NUL).
 * Duplicate keys in an object are accepted and the last one wins, as in
 * JavaScript's JSON.parse and Python's json module. */
int cmcp__json_parse(const char *text, size_t len, const cmcp__json_limits *lim,
                     json_object **out, char *errbuf, size_t errlen);

/* The lexical pass of the parser alone: RFC 8259 tokens, UTF-8 and
 * surrogates, 64-bit integers and nesting up to max_depth, without building
 * anything. 0 when text holds exactly one value (well-bracketed or not:
 * the bracket grammar is the parser's), else CMCP_EPARSE or CMCP_ELIMIT
 * with the reason and byte offset in errbuf. The parser uses it to explain
 * a failure; the differential fuzz target pairs it with json-c. */
int cmcp__json_scan(const char *text, size_t len, int max_depth, char *errbuf,
                    size_t errlen);

/* Parses JSON text that must be an object (used for schemas and the JSON
 * pieces of the public API), with the default limits. NULL text or a
 * non-object is CMCP_EINVAL; text that does not parse gives
 * cmcp__json_parse's status. */
int cmcp__json_parse_object(const char *text, json_object **out);

/* Serializes compactly (no spaces, "\/" not escaped). The string lives as
 * long as obj is not modified or freed; *len gets its length. NULL on
 * ENOMEM. json-c writes the text into obj's own buffer: never serialize
 * the same root object from two threads at once (this and the encoders
 * below); objects shared as children of per-thread roots are only read. */
const char *cmcp__json_text(json_object *obj, size_t *len);

/* Small helpers over json-c that treat a missing key as NULL. */
const char *cmcp__json_get_string(json_object *obj, const char *key);
json_object *cmcp__json_get_object(json_object *obj, const char *key);

/* ---- JSON-RPC 2.0 ------------------------------------------------------ */

typedef enum {
  CMCP__MSG_REQUEST = 1,
  CMCP__MSG_NOTIFICATION,
  CMCP__MSG_RESULT,
  CMCP__MSG_ERROR
} cmcp__msg_kind;

/* A decoded message. All pointers borrow from root, which the message owns. */
typedef struct cmcp__msg {
  cmcp__msg_kind kind;
  json_object *root;
  json_object *id;     /* string or integer; NULL for a notification */
  const char *method;  /* requests and notifications */
  json_object *params; /* object, or NULL when absent */
  json_object *result; /* CMCP__MSG_RESULT */
  int error_code;      /* CMCP__MSG_ERROR */
  const char *error_message;
  json_object *error_data;
} cmcp__msg;

/* Decodes one JSON-RPC message. On success returns 0 and fills *msg (free
 * it with cmcp__msg_free). On failure returns a negative status, sets
 * *rpc_code to the JSON-RPC error to answer with (-32700 for text that is
 * not JSON, -32600 for JSON that is not a valid message, including a
 * top-level array: batching is not part of MCP since 2025-06-18), writes a
 * clear one-line reason into errbuf and, when the id could still be read,
 * leaves a new reference to it in *bad_id (else NULL).
 * Statuses: CMCP_EPARSE (-32700), CMCP_ELIMIT (text too long or too deep:
 * -32600), CMCP_EPROTO (not a valid message: -32600, or -32602 for params
 * given as an array, which JSON-RPC allows but no MCP method takes),
 * CMCP_ENOMEM (-32603). An error response may come without an id (or with
 * a null one): msg->id is then NULL.
 * On failure msg->root is NULL and msg->kind says what the message looked
 * like when that could be told (0 when not): a receiver answers a failed
 * REQUEST (or 0), but never a failed NOTIFICATION ("The receiver MUST NOT
 * send a response"), RESULT or ERROR. */
int cmcp__rpc_decode(const char *text, size_t len, const cmcp__json_limits *lim,
                     cmcp__msg *msg, int *rpc_code, json_object **bad_id,
                     char *errbuf, size_t errlen);
void cmcp__msg_free(cmcp__msg *msg);

/* Encoders. Each returns a new NUL-terminated string from the cmcp
 * allocator (free with cmcp__free) with its length in *len, or NULL on
 * ENOMEM. Output is compact, "jsonrpc":"2.0" first, "/" not escaped.
 * id may be NULL: encoded as null, except in an error response where the
 * id is then omitted (MCP 2025-11-25+: "error response that has no id";
 * null is not a valid RequestId). result/params/data may be NULL (result
 * NULL encodes {}, params/data NULL are omitted). method and message are
 * C strings; bytes in them that are not UTF-8 are written as U+FFFD. */
char *cmcp__rpc_encode_result(json_object *id, json_object *result,
                              size_t *len);
char *cmcp__rpc_encode_error(json_object *id, int code, const char *message,
                             json_object *data, size_t *len);
char *cmcp__rpc_encode_request(json_object *id, const char *method,
                               json_object *params, size_t *len);
char *cmcp__rpc_encode_notification(const char *method, json_object *params,
                                    size_t *len);

/* 1 if two ids are equal (same type and value), else 0. */
int cmcp__rpc_id_equal(json_object *a, json_object *b);

#endif /* CMCP_JSON_H */
