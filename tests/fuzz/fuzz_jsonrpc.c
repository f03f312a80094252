/* libFuzzer target for the JSON facade and the JSON-RPC codec
 * (src/json/). For any input:
 *  - text the strict parser accepts is valid UTF-8, and json-c's
 *    serialization of it parses again to the same text;
 *  - a decoded message re-encodes to text that decodes to the same kind,
 *    id, method and error code, and encoding that again gives the same
 *    bytes (round-trip stability);
 *  - an error answer built from a refused message's readable id and reason
 *    decodes as an error response carrying that id. */
#include "base/base.h"
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes a decoded message back to text (cmcp allocator), or NULL. */
static char *reencode(const cmcp__msg *m, size_t *len) {
  switch (m->kind) {
  case CMCP__MSG_REQUEST:
    return cmcp__rpc_encode_request(m->id, m->method, m->params, len);
  case CMCP__MSG_NOTIFICATION:
    return cmcp__rpc_encode_notification(m->method, m->params, len);
  case CMCP__MSG_RESULT:
    return cmcp__rpc_encode_result(m->id, m->result, len);
  case CMCP__MSG_ERROR:
    return cmcp__rpc_encode_error(m->id, m->error_code, m->error_message,
                                  m->error_data, len);
  }
  return NULL;
}

static int same_str(const char *a, const char *b) {
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The facade: accepted text is UTF-8 and serializes to a fixed point. */
static void check_parse(const char *text, size_t size) {
  json_object *a = NULL, *b = NULL;
  const char *ta, *tb;
  size_t la, lb;
  if (cmcp__json_parse(text, size, NULL, &a, NULL, 0) != 0)
    return;
  if (!cmcp__utf8_valid(text, size))
    abort();
  ta = cmcp__json_text(a, &la);
  if (ta == NULL || cmcp__json_parse(ta, la, NULL, &b, NULL, 0) != 0)
    abort();
  tb = cmcp__json_text(b, &lb);
  if (tb == NULL || la != lb || memcmp(ta, tb, la) != 0)
    abort();
  json_object_put(a);
  json_object_put(b);
}

/* A message that decoded: encode, decode, encode again. */
static void check_round_trip(const cmcp__msg *m) {
  cmcp__msg m2;
  size_t l1 = 0, l2 = 0;
  char *e1, *e2 = NULL;
  int code;
  e1 = reencode(m, &l1);
  if (e1 == NULL)
    abort();
  if (cmcp__rpc_decode(e1, l1, NULL, &m2, &code, NULL, NULL, 0) != 0)
    abort();
  if (m2.kind != m->kind || !cmcp__rpc_id_equal(m->id, m2.id) ||
      m2.error_code != m->error_code)
    abort();
  e2 = reencode(&m2, &l2);
  if (e2 == NULL || l1 != l2 || memcmp(e1, e2, l1) != 0)
    abort();
  /* C strings stop at an escaped NUL; otherwise they must survive. */
  if (m->method != NULL && strlen(m->method) == strlen(m2.method) &&
      !same_str(m->method, m2.method))
    abort();
  cmcp__msg_free(&m2);
  cmcp__free(e1);
  cmcp__free(e2);
}

/* A refused message: the error answer must carry its readable id. */
static void check_error_reply(json_object *bad_id, int rpc_code,
                              const char *reason) {
  cmcp__msg m;
  size_t len = 0;
  char *out = cmcp__rpc_encode_error(bad_id, rpc_code, reason, NULL, &len);
  if (out == NULL ||
      cmcp__rpc_decode(out, len, NULL, &m, NULL, NULL, NULL, 0) != 0 ||
      m.kind != CMCP__MSG_ERROR || m.error_code != rpc_code ||
      !cmcp__rpc_id_equal(m.id, bad_id) || !same_str(m.error_message, reason))
    abort();
  cmcp__msg_free(&m);
  cmcp__free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  cmcp__msg m;
  json_object *bad_id = NULL;
  char err[256];
  int code = 0;
  check_parse(text, size);
  err[0] = '\0';
  if (cmcp__rpc_decode(text, size, NULL, &m, &code, &bad_id, err, sizeof err) ==
      0) {
    if (code != 0 || bad_id != NULL || m.root == NULL)
      abort();
    check_round_trip(&m);
    cmcp__msg_free(&m);
    return 0;
  }
  if (m.root != NULL || err[0] == '\0' ||
      (code != -32700 && code != -32600 && code != -32602))
    abort();
  check_error_reply(bad_id, code, err);
  json_object_put(bad_id);
  return 0;
}
