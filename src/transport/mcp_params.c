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
 *
 * cmcp__mcp_params_check is the pure check (mcp_params.h);
 * cmcp__mcp_check_params (mcp_int.h) feeds it the tool's definition from
 * the server's registry and the headers of an HTTP request.
 */
#include "transport/mcp_params.h"

#include "base/base64.h"
#include "proto/engine.h"
#include "transport/mcp_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32  /* nested "properties" followed at most */
#define NUMBER_MAX 64 /* longest integer text compared */
#define SENTINEL "=?base64?"
#define SENTINEL_END "?="

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

typedef struct check_ctx {
  cmcp__mcp_header_fn header;
  void *ctx;
  char *msg;
  size_t msgsz;
} check_ctx;

/* A header value: plain text, or (b64) canonical base64 text whose decoded
 * bytes are the value. Points into the header; nothing is copied. */
typedef struct hval {
  const char *s;
  size_t n;
  int b64;
} hval;

static int mismatch(check_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Writes "Header mismatch: " and the formatted text to c->msg; returns
 * CMCP_MCP_HEADER_MISMATCH. */
static int mismatch(check_ctx *c, const char *fmt, ...) {
  va_list ap;
  int n;
  if (c->msgsz == 0)
    return CMCP_MCP_HEADER_MISMATCH;
  n = snprintf(c->msg, c->msgsz, "Header mismatch: ");
  if (n > 0 && (size_t)n < c->msgsz) {
    va_start(ap, fmt);
    vsnprintf(c->msg + n, c->msgsz - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return CMCP_MCP_HEADER_MISMATCH;
}

/* Reads a header value into h. 0, -1 for a character a plain value may not
 * hold ("visible ASCII characters (0x21-0x7E), space (0x20), and horizontal
 * tab (0x09)"), -2 for "=?base64?...?=" around text that is not canonical
 * base64 with its padding. */
static int read_value(const char *v, hval *h) {
  size_t n = strlen(v), i;
  size_t pre = sizeof SENTINEL - 1, post = sizeof SENTINEL_END - 1;
  if (n >= pre + post && strncmp(v, SENTINEL, pre) == 0 &&
      strcmp(v + n - post, SENTINEL_END) == 0) {
    h->s = v + pre;
    h->n = n - pre - post;
    h->b64 = 1;
    return cmcp__base64_check(h->s, h->n, CMCP__B64_STD, NULL) == 0 ? 0 : -2;
  }
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if ((ch < 0x20 && ch != '\t') || ch > 0x7e)
      return -1;
  }
  h->s = v;
  h->n = n;
  h->b64 = 0;
  return 0;
}

/* Decodes the 4 characters at q (checked base64) into out; returns the
 * number of bytes (1-3). */
static size_t b64_quad(const char *q, unsigned char out[3]) {
  unsigned long v = 0;
  size_t k, bytes = 3;
  for (k = 0; k < 4; k++) {
    if (q[k] == '=') {
      v <<= 6;
      bytes--;
    } else {
      v = (v << 6) | (unsigned long)(strchr(B64, q[k]) - B64);
    }
  }
  out[0] = (unsigned char)(v >> 16);
  out[1] = (unsigned char)(v >> 8);
  out[2] = (unsigned char)v;
  return bytes;
}

/* 1 if the value of h is exactly the bytes want[0..len). */
static int value_is(const hval *h, const char *want, size_t len) {
  unsigned char quad[3];
  size_t i, got = 0, k;
  if (!h->b64)
    return h->n == len && memcmp(h->s, want, len) == 0;
  for (i = 0; i + 4 <= h->n; i += 4) {
    k = b64_quad(h->s + i, quad);
    if (k > len - got || memcmp(want + got, quad, k) != 0)
      return 0;
    got += k;
  }
  return got == len;
}

/* Copies the value of h, NUL-terminated, into out (cap bytes). -1 when it
 * does not fit or holds a NUL. */
static int value_text(const hval *h, char *out, size_t cap) {
  unsigned char quad[3];
  size_t i, got = 0, k;
  if (!h->b64) {
    if (h->n >= cap)
      return -1;
    memcpy(out, h->s, h->n);
    got = h->n;
  } else {
    for (i = 0; i + 4 <= h->n; i += 4) {
      k = b64_quad(h->s + i, quad);
      if (k >= cap - got)
        return -1;
      memcpy(out + got, quad, k);
      got += k;
    }
  }
  out[got] = '\0';
  return memchr(out, '\0', got) == NULL ? 0 : -1;
}

/* Skips decimal digits; returns how many there were. */
static size_t digits(const char **p) {
  size_t n = 0;
  while (**p >= '0' && **p <= '9') {
    (*p)++;
    n++;
  }
  return n;
}

/* 1 if t is decimal number text, -?D+(.D+)?([eE][+-]?D+)? (no hex, no
 * spaces, no inf/nan); *integral says it has no fraction or exponent. */
static int number_text(const char *t, int *integral) {
  const char *p = t + (*t == '-');
  *integral = 1;
  if (digits(&p) == 0)
    return 0;
  if (*p == '.') {
    p++;
    *integral = 0;
    if (digits(&p) == 0)
      return 0;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    *integral = 0;
    p += (*p == '+' || *p == '-');
    if (digits(&p) == 0)
      return 0;
  }
  return *p == '\0';
}

/* 1 if the header text t stands for the number v. "When validating integer
 * parameter values, servers SHOULD compare the header value and the body
 * value numerically rather than as strings (e.g., 42.0 and 42 are
 * considered equal)": integers exactly, anything else as doubles. */
static int number_matches(const char *t, json_object *v) {
  int integral;
  char *end = NULL;
  long long ll;
  double d;
  if (!number_text(t, &integral))
    return 0;
  errno = 0;
  if (integral && json_object_is_type(v, json_type_int)) {
    ll = strtoll(t, &end, 10);
    return errno == 0 && *end == '\0' &&
           (int64_t)ll == json_object_get_int64(v);
  }
  d = strtod(t, &end);
  return errno == 0 && *end == '\0' && d == json_object_get_double(v);
}

/* Checks h against the body value v (not NULL) of the argument key. */
static int compare(check_ctx *c, const char *hname, const char *key,
                   const hval *h, json_object *v) {
  char text[NUMBER_MAX];
  int ok;
  switch (json_object_get_type(v)) {
  case json_type_string:
    ok = value_is(h, json_object_get_string(v),
                  (size_t)json_object_get_string_len(v));
    break;
  case json_type_boolean:
    ok = value_is(h, json_object_get_boolean(v) ? "true" : "false",
                  json_object_get_boolean(v) ? 4 : 5);
    break;
  case json_type_int:
  case json_type_double:
    ok = value_text(h, text, sizeof text) == 0 && number_matches(text, v);
    break;
  default:
    return mismatch(c,
                    "%s mirrors argument \"%.64s\", which is not a "
                    "string, integer or boolean",
                    hname, key);
  }
  if (!ok)
    return mismatch(c, "%s does not match argument \"%.64s\" in the body",
                    hname, key);
  return 0;
}

/* Checks the header named by the x-mcp-header mark of the argument key,
 * whose body value is v (NULL when absent or null). */
static int check_one(check_ctx *c, const char *mark, const char *key,
                     json_object *v) {
  char hname[CMCP__MCP_PARAMS_MSG_MAX / 2];
  const char *hv;
  hval h;
  int rc;
  if (snprintf(hname, sizeof hname, "Mcp-Param-%s", mark) >= (int)sizeof hname)
    return mismatch(c, "x-mcp-header \"%.32s...\" is too long", mark);
  hv = c->header(c->ctx, hname, 0);
  if (hv == NULL && v == NULL)
    return 0; /* "Server MUST NOT expect the header" */
  if (hv == NULL)
    return mismatch(c,
                    "required header %s is missing (argument \"%.64s\" "
                    "has a value)",
                    hname, key);
  if (v == NULL)
    return mismatch(c, "%s is present but argument \"%.64s\" has no value",
                    hname, key);
  if (c->header(c->ctx, hname, 1) != NULL)
    return mismatch(c, "%s appears more than once", hname);
  rc = read_value(hv, &h);
  if (rc == -1)
    return mismatch(c,
                    "%s holds characters a plain header value may not "
                    "hold (send it as =?base64?...?=)",
                    hname);
  if (rc == -2)
    return mismatch(c,
                    "%s is not valid =?base64?...?= (bad alphabet or "
                    "padding)",
                    hname);
  return compare(c, hname, key, &h, v);
}

/* Walks the "properties" of schema with the arguments object args beside
 * it (NULL when absent: stray headers are still caught). */
static int walk(check_ctx *c, json_object *schema, json_object *args,
                int depth) {
  json_object *props = NULL;
  int rc;
  if (depth > MAX_DEPTH ||
      !json_object_object_get_ex(schema, "properties", &props) ||
      !json_object_is_type(props, json_type_object))
    return 0;
  json_object_object_foreach(props, key, prop) {
    json_object *v = NULL, *mark = NULL;
    if (!json_object_is_type(prop, json_type_object))
      continue;
    if (json_object_is_type(args, json_type_object))
      json_object_object_get_ex(args, key, &v);
    if (json_object_object_get_ex(prop, "x-mcp-header", &mark) &&
        json_object_is_type(mark, json_type_string) &&
        (rc = check_one(c, json_object_get_string(mark), key, v)) != 0)
      return rc;
    if ((rc = walk(c, prop, v, depth + 1)) != 0)
      return rc;
  }
  return 0;
}

int cmcp__mcp_params_check(json_object *input_schema, json_object *arguments,
                           cmcp__mcp_header_fn header, void *ctx, char *msg,
                           size_t msgsz) {
  check_ctx c;
  c.header = header;
  c.ctx = ctx;
  c.msg = msg;
  c.msgsz = msg == NULL ? 0 : msgsz;
  if (msg != NULL && msgsz > 0)
    msg[0] = '\0';
  if (!json_object_is_type(input_schema, json_type_object))
    return 0;
  return walk(&c, input_schema, arguments, 0);
}

/* ---- the transport's side ------------------------------------------------ */

static const char *request_header(void *ctx, const char *name, size_t nth) {
  return cmcp__http_request_header_nth(ctx, name, nth);
}

const char *cmcp__mcp_check_params(cmcp_server_t *srv, cmcp__http_request *req,
                                   const char *tool, json_object *arguments) {
  /* The caller answers with the message before this thread checks another
   * request, so one buffer per thread is enough. */
  static _Thread_local char why[CMCP__MCP_PARAMS_MSG_MAX];
  cmcp__registry *reg;
  cmcp__feature *f;
  json_object *schema = NULL;
  int rc = 0;
  if (tool == NULL)
    return NULL;
  reg = cmcp__registry_acquire(srv);
  if (reg == NULL)
    return NULL;
  f = cmcp__registry_find(reg, CMCP__TOOL, tool);
  if (f != NULL && json_object_object_get_ex(f->def, "inputSchema", &schema))
    rc = cmcp__mcp_params_check(schema, arguments, request_header, req, why,
                                sizeof why);
  cmcp__registry_unref(reg);
  return rc == 0 ? NULL : why;
}
