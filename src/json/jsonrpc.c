/* src/json/jsonrpc.c: the JSON-RPC 2.0 message codec.
 *
 * Decoding classifies one message as request, notification, result or
 * error and checks its envelope against the MCP schemas (every revision
 * agrees on it): "jsonrpc" is exactly "2.0", ids are strings or integers,
 * params and result are objects, an error has an integer code and a string
 * message. What a method's params must contain is the engine's business.
 *
 * Encoders write the envelope by hand around json-c's serialization of the
 * payload, so a reply costs one allocation and one copy of the payload.
 */
#include "base/base.h"
#include "json/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (errbuf == NULL || errlen == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(errbuf, errlen, fmt, ap);
  va_end(ap);
}

/* ---- ids ---------------------------------------------------------------- */

/* 1 if v is a valid RequestId: a string or an integer. json-c keeps
 * integers up to 2^64 - 1 exactly (the parser refuses anything wider). */
static int id_valid(json_object *v) {
  return json_object_is_type(v, json_type_string) ||
         json_object_is_type(v, json_type_int);
}

/* Splits an integer id into sign and magnitude, exact over int64 and
 * uint64 alike (json_object_get_int64 clamps values above INT64_MAX). */
static void id_int(json_object *v, int *neg, uint64_t *mag) {
  int64_t i = json_object_get_int64(v);
  *neg = i < 0;
  if (i == INT64_MAX)
    *mag = json_object_get_uint64(v);
  else if (i < 0)
    *mag = (uint64_t)(-(i + 1)) + 1;
  else
    *mag = (uint64_t)i;
}

int cmcp__rpc_id_equal(json_object *a, json_object *b) {
  int na, nb;
  uint64_t ma, mb;
  if (a == NULL || b == NULL)
    return a == b;
  if (json_object_get_type(a) != json_object_get_type(b))
    return 0;
  if (json_object_is_type(a, json_type_string))
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)json_object_get_string_len(a)) == 0;
  if (!json_object_is_type(a, json_type_int))
    return 0;
  id_int(a, &na, &ma);
  id_int(b, &nb, &mb);
  return na == nb && ma == mb;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct fields {
  json_object *jsonrpc, *id, *method, *params, *result, *error;
  int has_id, has_method, has_params, has_result, has_error;
} fields;

static void read_fields(json_object *root, fields *f) {
  f->has_id = json_object_object_get_ex(root, "id", &f->id);
  f->has_method = json_object_object_get_ex(root, "method", &f->method);
  f->has_params = json_object_object_get_ex(root, "params", &f->params);
  f->has_result = json_object_object_get_ex(root, "result", &f->result);
  f->has_error = json_object_object_get_ex(root, "error", &f->error);
  if (!json_object_object_get_ex(root, "jsonrpc", &f->jsonrpc))
    f->jsonrpc = NULL;
}

/* Decoding state: where the reason and the JSON-RPC code go. */
typedef struct dec {
  int rpc_code;
  cmcp__msg_kind seen; /* what the message looks like, once known */
  char *errbuf;
  size_t errlen;
} dec;

static int bad(dec *d, int rpc_code, const char *why) {
  d->rpc_code = rpc_code;
  set_err(d->errbuf, d->errlen, "%s", why);
  return CMCP_EPROTO;
}

static int check_version(dec *d, const fields *f) {
  if (f->jsonrpc == NULL)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "missing \"jsonrpc\": \"2.0\" member");
  if (!json_object_is_type(f->jsonrpc, json_type_string) ||
      json_object_get_string_len(f->jsonrpc) != 3 ||
      memcmp(json_object_get_string(f->jsonrpc), "2.0", 3) != 0)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
  return 0;
}

/* A request (with id) or notification (without). MCP: "Requests MUST
 * include a string or integer ID. Unlike base JSON-RPC, the ID MUST NOT be
 * null." Params, when present, are an object in every MCP schema. */
static int decode_call(dec *d, const fields *f, cmcp__msg *msg) {
  if (!json_object_is_type(f->method, json_type_string))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "method must be a string");
  if (f->has_result || f->has_error)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "a request must not carry result or error");
  if (f->has_id && f->id == NULL)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "id must not be null");
  if (f->has_id && !id_valid(f->id))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "id must be a string or an integer");
  /* JSON-RPC allows positional (array) params, so an array is a valid
   * JSON-RPC request whose params MCP cannot take: -32602. Any other
   * non-object is not a JSON-RPC request at all: -32600. */
  if (f->has_params && json_object_is_type(f->params, json_type_array))
    return bad(d, CMCP_JSONRPC_INVALID_PARAMS,
               "params must be an object, not an array");
  if (f->has_params && !json_object_is_type(f->params, json_type_object))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "params must be an object");
  msg->kind = f->has_id ? CMCP__MSG_REQUEST : CMCP__MSG_NOTIFICATION;
  msg->id = f->has_id ? f->id : NULL;
  msg->method = json_object_get_string(f->method);
  msg->params = f->has_params ? f->params : NULL;
  return 0;
}

/* The error member of an error response: integer code, string message,
 * optional data of any type. */
static int decode_error_obj(dec *d, json_object *e, cmcp__msg *msg) {
  json_object *code, *message, *data;
  int64_t c;
  if (!json_object_is_type(e, json_type_object))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "error must be an object");
  if (!json_object_object_get_ex(e, "code", &code) ||
      !json_object_is_type(code, json_type_int))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "error.code must be an integer");
  c = json_object_get_int64(code);
  if (c < INT32_MIN || c > INT32_MAX)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "error.code out of range");
  if (!json_object_object_get_ex(e, "message", &message) ||
      !json_object_is_type(message, json_type_string))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "error.message must be a string");
  msg->kind = CMCP__MSG_ERROR;
  msg->error_code = (int)c;
  msg->error_message = json_object_get_string(message);
  msg->error_data = json_object_object_get_ex(e, "data", &data) ? data : NULL;
  return 0;
}

/* A response. A result needs the request's id and an object; an error
 * response may lack an id (or carry null) when the request's id could not
 * be read (MCP 2025-11-25 and later make "id" optional there). */
static int decode_response(dec *d, const fields *f, cmcp__msg *msg) {
  if (f->has_result && f->has_error)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "a response must not have both result and error");
  if (!f->has_result && !f->has_error)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "message has no method, result or error");
  if (f->has_params)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "a response must not carry params");
  if (f->id != NULL && !id_valid(f->id))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "id must be a string or an integer");
  msg->id = f->id;
  if (f->has_error)
    return decode_error_obj(d, f->error, msg);
  if (f->id == NULL)
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "a result response needs a string or integer id");
  if (!json_object_is_type(f->result, json_type_object))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST, "result must be an object");
  msg->kind = CMCP__MSG_RESULT;
  msg->result = f->result;
  return 0;
}

/* Envelope checks on a parsed root; fills msg, which borrows from root. */
static int decode_root(dec *d, json_object *root, cmcp__msg *msg,
                       json_object **bad_id) {
  fields f;
  int rc;
  if (json_object_is_type(root, json_type_array))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "batch (a top-level array) is not supported since MCP "
               "2025-06-18: send one message per request");
  if (!json_object_is_type(root, json_type_object))
    return bad(d, CMCP_JSONRPC_INVALID_REQUEST,
               "a JSON-RPC message must be an object");
  read_fields(root, &f);
  if (f.has_id && id_valid(f.id) && bad_id != NULL)
    *bad_id = f.id; /* reference taken by the caller on failure */
  if (f.has_method)
    d->seen = f.has_id ? CMCP__MSG_REQUEST : CMCP__MSG_NOTIFICATION;
  else if (f.has_error || f.has_result)
    d->seen = f.has_error ? CMCP__MSG_ERROR : CMCP__MSG_RESULT;
  rc = check_version(d, &f);
  if (rc == 0 && f.has_method)
    rc = decode_call(d, &f, msg);
  else if (rc == 0)
    rc = decode_response(d, &f, msg);
  return rc;
}

int cmcp__rpc_decode(const char *text, size_t len, const cmcp__json_limits *lim,
                     cmcp__msg *msg, int *rpc_code, json_object **bad_id,
                     char *errbuf, size_t errlen) {
  json_object *root = NULL, *id = NULL;
  dec d = {0, 0, errbuf, errlen};
  int rc;
  memset(msg, 0, sizeof *msg);
  if (bad_id != NULL)
    *bad_id = NULL;
  rc = cmcp__json_parse(text, len, lim, &root, errbuf, errlen);
  if (rc != 0) {
    /* Too long or too deep is JSON we refuse, not JSON we cannot read. */
    d.rpc_code = rc == CMCP_EPARSE   ? CMCP_JSONRPC_PARSE_ERROR
                 : rc == CMCP_ELIMIT ? CMCP_JSONRPC_INVALID_REQUEST
                                     : CMCP_JSONRPC_INTERNAL_ERROR;
    goto fail;
  }
  rc = decode_root(&d, root, msg, &id);
  if (rc != 0)
    goto fail;
  msg->root = root;
  if (rpc_code != NULL)
    *rpc_code = 0;
  return 0;
fail:
  if (bad_id != NULL && id != NULL)
    *bad_id = json_object_get(id);
  json_object_put(root);
  memset(msg, 0, sizeof *msg);
  msg->kind = d.seen;
  if (rpc_code != NULL)
    *rpc_code = d.rpc_code;
  return rc;
}

void cmcp__msg_free(cmcp__msg *msg) {
  if (msg == NULL)
    return;
  json_object_put(msg->root);
  memset(msg, 0, sizeof *msg);
}

/* ---- encoding ----------------------------------------------------------- */

/* An output cursor. With p == NULL it only counts, so every encoder runs
 * twice over the same code: once to size the buffer, once to fill it. */
typedef struct emit {
  char *p;
  size_t n;
} emit;

static void put(emit *e, const char *s, size_t n) {
  if (e->p != NULL)
    memcpy(e->p + e->n, s, n);
  e->n += n;
}

#define PUT_LIT(e, lit) put((e), (lit), sizeof(lit) - 1)

/* Writes s[0..n) as a quoted JSON string: '"', '\\' and control characters
 * escaped, "/" and non-ASCII left as they are. Bytes that are not
 * well-formed UTF-8 become U+FFFD, so the output is always valid JSON. */
static void put_str(emit *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const char *end = s + n;
  char u[6] = {'\\', 'u', '0', '0', 0, 0};
  size_t k;
  PUT_LIT(e, "\"");
  while (s < end) {
    unsigned char c = (unsigned char)*s;
    const char *short_esc = c == '"'    ? "\\\""
                            : c == '\\' ? "\\\\"
                            : c == '\n' ? "\\n"
                            : c == '\r' ? "\\r"
                            : c == '\t' ? "\\t"
                            : c == '\b' ? "\\b"
                            : c == '\f' ? "\\f"
                                        : NULL;
    if (short_esc != NULL) {
      put(e, short_esc, 2), s++;
    } else if (c < 0x20) {
      u[4] = hex[c >> 4], u[5] = hex[c & 15];
      put(e, u, 6), s++;
    } else if (c < 0x80) {
      for (k = 1; s + k < end && (unsigned char)s[k] >= 0x20 &&
                  (unsigned char)s[k] < 0x80 && s[k] != '"' && s[k] != '\\';
           k++)
        ;
      put(e, s, k), s += k;
    } else if ((k = cmcp__utf8_char_len(s, (size_t)(end - s))) > 0) {
      put(e, s, k), s += k;
    } else {
      PUT_LIT(e, "\xEF\xBF\xBD"), s++;
    }
  }
  PUT_LIT(e, "\"");
}

static void put_u64(emit *e, int neg, uint64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (neg)
    tmp[--i] = '-';
  put(e, tmp + i, sizeof tmp - i);
}

/* An id: string, integer, or null when absent or of another type. */
static void put_id(emit *e, json_object *id) {
  int neg;
  uint64_t mag;
  if (json_object_is_type(id, json_type_string)) {
    put_str(e, json_object_get_string(id),
            (size_t)json_object_get_string_len(id));
  } else if (json_object_is_type(id, json_type_int)) {
    id_int(id, &neg, &mag);
    put_u64(e, neg, mag);
  } else {
    PUT_LIT(e, "null");
  }
}

/* What one message holds; the payload is already serialized text. */
typedef struct env {
  int with_id; /* write "id" (null when id is NULL) */
  json_object *id;
  const char *method; /* requests and notifications */
  const char *member; /* "params" or "result" (body), or NULL */
  const char *body;
  size_t body_len;
  int is_error;
  int code;
  const char *message;
  const char *data; /* error data text, or NULL */
  size_t data_len;
} env;

/* {"jsonrpc":"2.0", then id, method, then params/result or error. */
static void put_env(emit *e, const env *v) {
  PUT_LIT(e, "{\"jsonrpc\":\"2.0\"");
  if (v->with_id) {
    PUT_LIT(e, ",\"id\":");
    put_id(e, v->id);
  }
  if (v->method != NULL) {
    PUT_LIT(e, ",\"method\":");
    put_str(e, v->method, strlen(v->method));
  }
  if (v->is_error) {
    PUT_LIT(e, ",\"error\":{\"code\":");
    put_u64(e, v->code < 0,
            v->code < 0 ? (uint64_t)(-(int64_t)v->code) : (uint64_t)v->code);
    PUT_LIT(e, ",\"message\":");
    put_str(e, v->message, strlen(v->message));
    if (v->data != NULL) {
      PUT_LIT(e, ",\"data\":");
      put(e, v->data, v->data_len);
    }
    PUT_LIT(e, "}");
  } else if (v->member != NULL) {
    PUT_LIT(e, ",\"");
    put(e, v->member, strlen(v->member));
    PUT_LIT(e, "\":");
    put(e, v->body, v->body_len);
  }
  PUT_LIT(e, "}");
}

/* Sizes, allocates and fills one message; NULL on ENOMEM. */
static char *encode(const env *v, size_t *len) {
  emit e = {NULL, 0};
  put_env(&e, v);
  e.p = cmcp__malloc(e.n + 1);
  if (e.p == NULL)
    return NULL;
  e.n = 0;
  put_env(&e, v);
  e.p[e.n] = '\0';
  if (len != NULL)
    *len = e.n;
  return e.p;
}

/* json-c's compact text of obj, or NULL on ENOMEM. */
static const char *payload(json_object *obj, size_t *len) {
  return json_object_to_json_string_length(obj, JSON_FLAGS, len);
}

char *cmcp__rpc_encode_result(json_object *id, json_object *result,
                              size_t *len) {
  env v = {0};
  v.with_id = 1;
  v.id = id;
  v.member = "result";
  v.body = "{}";
  v.body_len = 2;
  if (result != NULL && (v.body = payload(result, &v.body_len)) == NULL)
    return NULL;
  return encode(&v, len);
}

char *cmcp__rpc_encode_error(json_object *id, int code, const char *message,
                             json_object *data, size_t *len) {
  env v = {0};
  /* MCP 2025-11-25 and later: an error response omits the id when the
   * request's id could not be read; null is no valid RequestId. */
  v.with_id = id != NULL;
  v.id = id;
  v.is_error = 1;
  v.code = code;
  v.message = message != NULL ? message : "";
  if (data != NULL && (v.data = payload(data, &v.data_len)) == NULL)
    return NULL;
  return encode(&v, len);
}

char *cmcp__rpc_encode_request(json_object *id, const char *method,
                               json_object *params, size_t *len) {
  env v = {0};
  v.with_id = 1;
  v.id = id;
  v.method = method != NULL ? method : "";
  if (params != NULL) {
    v.member = "params";
    if ((v.body = payload(params, &v.body_len)) == NULL)
      return NULL;
  }
  return encode(&v, len);
}

char *cmcp__rpc_encode_notification(const char *method, json_object *params,
                                    size_t *len) {
  env v = {0};
  v.method = method != NULL ? method : "";
  if (params != NULL) {
    v.member = "params";
    if ((v.body = payload(params, &v.body_len)) == NULL)
      return NULL;
  }
  return encode(&v, len);
}
