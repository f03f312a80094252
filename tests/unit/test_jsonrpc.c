/* Unit tests for src/json/jsonrpc.c: message decoding, ids, encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"
#include "json/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ(rest) "{\"jsonrpc\":\"2.0\"," rest "}"

/* Decodes text that must succeed as the given kind. */
static void decode_ok(const char *text, cmcp__msg_kind kind, cmcp__msg *m) {
  json_object *bad_id = (json_object *)1;
  char err[256] = "";
  int code = 1;
  int rc = cmcp__rpc_decode(text, strlen(text), NULL, m, &code, &bad_id, err,
                            sizeof err);
  if (rc != 0)
    fail_msg("decode of %s failed: %d %d %s", text, rc, code, err);
  assert_int_equal(code, 0);
  assert_null(bad_id);
  assert_int_equal(m->kind, kind);
  assert_non_null(m->root);
}

/* Decodes text that must fail with status rc, JSON-RPC code rpc and a
 * reason containing want; returns the bad id (a reference) or NULL. */
static json_object *decode_bad(const char *text, int rc, int rpc,
                               const char *want) {
  cmcp__msg m;
  json_object *bad_id = NULL;
  char err[256] = "";
  int code = 0;
  int got = cmcp__rpc_decode(text, strlen(text), NULL, &m, &code, &bad_id, err,
                             sizeof err);
  if (got != rc || code != rpc || strstr(err, want) == NULL)
    fail_msg("decode of %s: got %d/%d \"%s\", want %d/%d \"%s\"", text, got,
             code, err, rc, rpc, want);
  assert_null(m.root);
  assert_null(m.method);
  return bad_id;
}

/* Decodes text that must fail; returns the kind it was recognized as. */
static int failed_kind(const char *text) {
  cmcp__msg m;
  int code = 0;
  if (cmcp__rpc_decode(text, strlen(text), NULL, &m, &code, NULL, NULL, 0) == 0)
    fail_msg("decode of %s succeeded", text);
  assert_null(m.root);
  return (int)m.kind;
}

/* A failed notification or response must not be answered: the decoder
 * says what the message looked like. */
static void failures_tell_what_was_seen(void **state) {
  (void)state;
  assert_int_equal(failed_kind(REQ("\"method\":\"n\",\"params\":[1]")),
                   CMCP__MSG_NOTIFICATION);
  assert_int_equal(failed_kind(REQ("\"id\":true,\"method\":\"x\"")),
                   CMCP__MSG_REQUEST);
  assert_int_equal(failed_kind(REQ("\"id\":1,\"result\":7")), CMCP__MSG_RESULT);
  assert_int_equal(failed_kind(REQ("\"id\":1,\"error\":{}")), CMCP__MSG_ERROR);
  assert_int_equal(
      failed_kind("{\"jsonrpc\":\"1.0\",\"method\":\"notifications/x\"}"),
      CMCP__MSG_NOTIFICATION);
  assert_int_equal(failed_kind(REQ("\"id\":1")), 0);
  assert_int_equal(failed_kind("[]"), 0);
  assert_int_equal(failed_kind("{"), 0);
}

static void expect_bad(const char *text, int rc, int rpc, const char *want) {
  json_object *id = decode_bad(text, rc, rpc, want);
  assert_null(id);
}

/* ---- decoding valid messages -------------------------------------------- */

static void decodes_request(void **state) {
  cmcp__msg m;
  (void)state;
  decode_ok(
      REQ("\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}"),
      CMCP__MSG_REQUEST, &m);
  assert_string_equal(m.method, "tools/call");
  assert_int_equal(json_object_get_int64(m.id), 1);
  assert_string_equal(cmcp__json_get_string(m.params, "name"), "a");
  assert_null(m.result);
  cmcp__msg_free(&m);
  assert_null(m.root);
  cmcp__msg_free(&m); /* a freed message can be freed again */
  cmcp__msg_free(NULL);
  decode_ok("{\"method\":\"ping\",\"id\":\"abc\",\"jsonrpc\":\"2.0\"}",
            CMCP__MSG_REQUEST, &m);
  assert_string_equal(json_object_get_string(m.id), "abc");
  assert_null(m.params);
  cmcp__msg_free(&m);
}

static void decodes_notification(void **state) {
  cmcp__msg m;
  (void)state;
  decode_ok(REQ("\"method\":\"notifications/initialized\""),
            CMCP__MSG_NOTIFICATION, &m);
  assert_string_equal(m.method, "notifications/initialized");
  assert_null(m.id);
  assert_null(m.params);
  cmcp__msg_free(&m);
  decode_ok(REQ("\"method\":\"notifications/cancelled\",\"params\":"
                "{\"requestId\":3}"),
            CMCP__MSG_NOTIFICATION, &m);
  assert_non_null(m.params);
  cmcp__msg_free(&m);
}

static void decodes_result_and_error(void **state) {
  cmcp__msg m;
  (void)state;
  decode_ok(REQ("\"id\":\"r1\",\"result\":{\"resultType\":\"complete\"}"),
            CMCP__MSG_RESULT, &m);
  assert_string_equal(json_object_get_string(m.id), "r1");
  assert_string_equal(cmcp__json_get_string(m.result, "resultType"),
                      "complete");
  cmcp__msg_free(&m);
  decode_ok(REQ("\"id\":2,\"error\":{\"code\":-32601,\"message\":\"no\","
                "\"data\":[1]}"),
            CMCP__MSG_ERROR, &m);
  assert_int_equal(m.error_code, -32601);
  assert_string_equal(m.error_message, "no");
  assert_true(json_object_is_type(m.error_data, json_type_array));
  assert_int_equal(json_object_get_int64(m.id), 2);
  cmcp__msg_free(&m);
  /* An error response whose request id could not be read: no id, or the
   * null of plain JSON-RPC. */
  decode_ok(REQ("\"error\":{\"code\":-32700,\"message\":\"Parse error\"}"),
            CMCP__MSG_ERROR, &m);
  assert_null(m.id);
  assert_null(m.error_data);
  cmcp__msg_free(&m);
  decode_ok(REQ("\"id\":null,\"error\":{\"code\":-32600,\"message\":\"x\"}"),
            CMCP__MSG_ERROR, &m);
  assert_null(m.id);
  cmcp__msg_free(&m);
}

/* ---- ids ---------------------------------------------------------------- */

/* Decodes a request with the given id text and re-encodes a result for it:
 * the id must come back byte for byte. */
static void id_round_trip(const char *id_text) {
  char text[256], want[256];
  cmcp__msg m;
  size_t len = 0;
  char *out;
  snprintf(text, sizeof text, REQ("\"id\":%s,\"method\":\"ping\""), id_text);
  decode_ok(text, CMCP__MSG_REQUEST, &m);
  out = cmcp__rpc_encode_result(m.id, NULL, &len);
  snprintf(want, sizeof want, REQ("\"id\":%s,\"result\":{}"), id_text);
  assert_string_equal(out, want);
  assert_int_equal(len, strlen(want));
  cmcp__free(out);
  cmcp__msg_free(&m);
}

static void ids_round_trip_exactly(void **state) {
  (void)state;
  id_round_trip("9223372036854775807");  /* INT64_MAX */
  id_round_trip("-9223372036854775808"); /* INT64_MIN */
  id_round_trip("18446744073709551615"); /* UINT64_MAX: json-c keeps it */
  id_round_trip("9007199254740993");     /* 2^53 + 1: no double rounding */
  id_round_trip("0");
  id_round_trip("-1");
  id_round_trip("\"\"");
  id_round_trip("\"a\\\"b\\\\c\\n\\u0000\\u001f/\xC3\xA9\"");
}

static void ids_of_other_types_are_invalid(void **state) {
  const char *ids[] = {"1.0", "1e3", "-0.5", "true",     "false",
                       "{}",  "[]",  "[1]",  "{\"a\":1}"};
  char text[128];
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(ids); i++) {
    snprintf(text, sizeof text, REQ("\"id\":%s,\"method\":\"ping\""), ids[i]);
    expect_bad(text, CMCP_EPROTO, -32600, "id must be a string or an integer");
  }
  expect_bad(REQ("\"id\":null,\"method\":\"ping\""), CMCP_EPROTO, -32600,
             "id must not be null");
  expect_bad(REQ("\"id\":1.5,\"result\":{}"), CMCP_EPROTO, -32600,
             "id must be a string or an integer");
  expect_bad(REQ("\"id\":true,\"error\":{\"code\":1,\"message\":\"m\"}"),
             CMCP_EPROTO, -32600, "id must be a string or an integer");
  expect_bad(REQ("\"id\":18446744073709551616,\"method\":\"ping\""),
             CMCP_EPARSE, -32700, "integer out of 64-bit range");
}

static void id_equal_compares_type_and_value(void **state) {
  json_object *i1 = json_object_new_int64(1), *i1b = json_object_new_int64(1);
  json_object *s1 = json_object_new_string("1");
  json_object *s1b = json_object_new_string_len("1", 1);
  json_object *nul1 = json_object_new_string_len("a\0b", 3);
  json_object *nul2 = json_object_new_string_len("a\0c", 3);
  json_object *max = json_object_new_int64(INT64_MAX);
  json_object *big = json_object_new_uint64((uint64_t)INT64_MAX + 1);
  json_object *big2 = json_object_new_uint64((uint64_t)INT64_MAX + 1);
  json_object *umax = json_object_new_uint64(UINT64_MAX);
  json_object *m1 = json_object_new_int64(-1);
  json_object *min = json_object_new_int64(INT64_MIN);
  json_object *b = json_object_new_boolean(1);
  (void)state;
  assert_true(cmcp__rpc_id_equal(i1, i1b));
  assert_true(cmcp__rpc_id_equal(s1, s1b));
  assert_false(cmcp__rpc_id_equal(i1, s1));
  assert_false(cmcp__rpc_id_equal(nul1, nul2));
  assert_true(cmcp__rpc_id_equal(nul1, nul1));
  assert_false(cmcp__rpc_id_equal(max, big));
  assert_true(cmcp__rpc_id_equal(big, big2));
  assert_false(cmcp__rpc_id_equal(m1, umax));
  assert_false(cmcp__rpc_id_equal(min, max));
  assert_true(cmcp__rpc_id_equal(min, min));
  assert_false(cmcp__rpc_id_equal(b, b)); /* not an id type */
  assert_true(cmcp__rpc_id_equal(NULL, NULL));
  assert_false(cmcp__rpc_id_equal(NULL, i1));
  assert_false(cmcp__rpc_id_equal(s1, NULL));
  json_object_put(i1), json_object_put(i1b), json_object_put(s1);
  json_object_put(s1b), json_object_put(nul1), json_object_put(nul2);
  json_object_put(max), json_object_put(big), json_object_put(big2);
  json_object_put(umax), json_object_put(m1), json_object_put(min);
  json_object_put(b);
}

/* ---- decoding invalid messages ------------------------------------------ */

static void not_json_is_parse_error(void **state) {
  (void)state;
  expect_bad("{\"jsonrpc\":\"2.0\",", CMCP_EPARSE, -32700, "invalid JSON");
  expect_bad("", CMCP_EPARSE, -32700, "no JSON value");
  expect_bad(REQ("\"id\":1,\"method\":\"x\",\"params\":{\"v\":NaN}"),
             CMCP_EPARSE, -32700, "NaN and Infinity");
  expect_bad(REQ("\"id\":1,\"method\":\"x\",\"params\":{\"v\":1e999}"),
             CMCP_EPARSE, -32700, "overflows a double");
  expect_bad(REQ("\"id\":\"\xC0\xAF\",\"method\":\"x\""), CMCP_EPARSE, -32700,
             "invalid UTF-8");
  expect_bad(REQ("\"id\":1,\"method\":\"x\"") " x", CMCP_EPARSE, -32700,
             "after the JSON value");
}

static void limits_are_invalid_request(void **state) {
  cmcp__json_limits lim = {0, 2};
  cmcp__msg m;
  json_object *bad_id = NULL;
  char err[128] = "";
  int code = 0;
  const char *deep = REQ("\"id\":1,\"method\":\"x\",\"params\":{\"a\":[]}");
  const char *big = REQ("\"id\":1,\"method\":\"a_rather_long_name\"");
  (void)state;
  assert_int_equal(cmcp__rpc_decode(deep, strlen(deep), &lim, &m, &code,
                                    &bad_id, err, sizeof err),
                   CMCP_ELIMIT);
  assert_int_equal(code, -32600);
  assert_non_null(strstr(err, "limit of 2 levels"));
  assert_null(bad_id);
  lim.max_bytes = 32;
  lim.max_depth = 8;
  assert_int_equal(cmcp__rpc_decode(big, strlen(big), &lim, &m, &code, &bad_id,
                                    err, sizeof err),
                   CMCP_ELIMIT);
  assert_int_equal(code, -32600);
  assert_non_null(strstr(err, "exceeds the limit of 32"));
}

static void non_objects_are_invalid_request(void **state) {
  (void)state;
  expect_bad("[" REQ("\"id\":1,\"method\":\"ping\"") "]", CMCP_EPROTO, -32600,
             "batch (a top-level array) is not supported");
  expect_bad("[]", CMCP_EPROTO, -32600, "batch");
  expect_bad("12", CMCP_EPROTO, -32600, "must be an object");
  expect_bad("\"x\"", CMCP_EPROTO, -32600, "must be an object");
  expect_bad("null", CMCP_EPROTO, -32600, "must be an object");
}

static void version_is_checked(void **state) {
  json_object *id;
  (void)state;
  id = decode_bad("{\"id\":4,\"method\":\"ping\"}", CMCP_EPROTO, -32600,
                  "missing \"jsonrpc\": \"2.0\"");
  assert_int_equal(json_object_get_int64(id), 4); /* the reply carries it */
  json_object_put(id);
  expect_bad("{\"jsonrpc\":\"1.0\",\"method\":\"ping\"}", CMCP_EPROTO, -32600,
             "\"jsonrpc\" must be \"2.0\"");
  expect_bad("{\"jsonrpc\":2.0,\"method\":\"ping\"}", CMCP_EPROTO, -32600,
             "\"jsonrpc\" must be \"2.0\"");
  expect_bad("{\"jsonrpc\":\"2.00\",\"method\":\"ping\"}", CMCP_EPROTO, -32600,
             "must be \"2.0\"");
}

static void calls_are_checked(void **state) {
  json_object *id;
  (void)state;
  id = decode_bad(REQ("\"id\":\"q\",\"method\":5"), CMCP_EPROTO, -32600,
                  "method must be a string");
  assert_string_equal(json_object_get_string(id), "q");
  json_object_put(id);
  expect_bad(REQ("\"method\":null"), CMCP_EPROTO, -32600,
             "method must be a string");
  id = decode_bad(REQ("\"id\":7,\"method\":\"ping\",\"result\":{}"),
                  CMCP_EPROTO, -32600, "must not carry result or error");
  json_object_put(id);
  expect_bad(REQ("\"method\":\"n\",\"error\":{}"), CMCP_EPROTO, -32600,
             "must not carry result or error");
}

/* JSON-RPC allows positional params; no MCP method takes them: -32602.
 * Params that are not structured at all break JSON-RPC itself: -32600. */
static void params_must_be_an_object(void **state) {
  json_object *id;
  (void)state;
  id =
      decode_bad(REQ("\"id\":9,\"method\":\"tools/call\",\"params\":[1]"),
                 CMCP_EPROTO, -32602, "params must be an object, not an array");
  assert_int_equal(json_object_get_int64(id), 9);
  json_object_put(id);
  id = decode_bad(REQ("\"id\":9,\"method\":\"x\",\"params\":\"s\""),
                  CMCP_EPROTO, -32600, "params must be an object");
  json_object_put(id);
  id = decode_bad(REQ("\"id\":9,\"method\":\"x\",\"params\":null"), CMCP_EPROTO,
                  -32600, "params must be an object");
  json_object_put(id);
  expect_bad(REQ("\"method\":\"n\",\"params\":3"), CMCP_EPROTO, -32600,
             "params must be an object");
}

static void responses_are_checked(void **state) {
  json_object *id;
  (void)state;
  id = decode_bad(REQ("\"id\":1,\"result\":{},\"error\":{\"code\":1,"
                      "\"message\":\"x\"}"),
                  CMCP_EPROTO, -32600, "both result and error");
  assert_int_equal(json_object_get_int64(id), 1);
  json_object_put(id);
  id = decode_bad(REQ("\"id\":1"), CMCP_EPROTO, -32600,
                  "no method, result or error");
  json_object_put(id);
  id = decode_bad(REQ("\"id\":1,\"result\":[]"), CMCP_EPROTO, -32600,
                  "result must be an object");
  json_object_put(id);
  id = decode_bad(REQ("\"id\":1,\"result\":null"), CMCP_EPROTO, -32600,
                  "result must be an object");
  json_object_put(id);
  expect_bad(REQ("\"result\":{}"), CMCP_EPROTO, -32600,
             "a result response needs a string or integer id");
  expect_bad(REQ("\"id\":null,\"result\":{}"), CMCP_EPROTO, -32600,
             "needs a string or integer id");
  id = decode_bad(REQ("\"id\":1,\"result\":{},\"params\":{}"), CMCP_EPROTO,
                  -32600, "must not carry params");
  json_object_put(id);
}

static void error_objects_are_checked(void **state) {
  static const struct {
    const char *error, *want;
  } cases[] = {
      {"\"boom\"", "error must be an object"},
      {"null", "error must be an object"},
      {"{\"message\":\"m\"}", "error.code must be an integer"},
      {"{\"code\":-32600.0,\"message\":\"m\"}",
       "error.code must be an integer"},
      {"{\"code\":\"-32600\",\"message\":\"m\"}",
       "error.code must be an integer"},
      {"{\"code\":1099511627776,\"message\":\"m\"}", "error.code out of range"},
      {"{\"code\":-2147483649,\"message\":\"m\"}", "error.code out of range"},
      {"{\"code\":1}", "error.message must be a string"},
      {"{\"code\":1,\"message\":7}", "error.message must be a string"},
  };
  char text[256];
  json_object *id;
  cmcp__msg m;
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(cases); i++) {
    snprintf(text, sizeof text, REQ("\"id\":5,\"error\":%s"), cases[i].error);
    id = decode_bad(text, CMCP_EPROTO, -32600, cases[i].want);
    assert_int_equal(json_object_get_int64(id), 5);
    json_object_put(id);
  }
  decode_ok(REQ("\"id\":5,\"error\":{\"code\":-2147483648,\"message\":\"\"}"),
            CMCP__MSG_ERROR, &m);
  assert_int_equal(m.error_code, INT32_MIN);
  cmcp__msg_free(&m);
}

static void decode_works_without_optional_outputs(void **state) {
  cmcp__msg m;
  const char *t = REQ("\"id\":1,\"method\":5");
  (void)state;
  assert_int_equal(
      cmcp__rpc_decode(t, strlen(t), NULL, &m, NULL, NULL, NULL, 0),
      CMCP_EPROTO);
  t = REQ("\"id\":1,\"method\":\"ping\"");
  assert_int_equal(
      cmcp__rpc_decode(t, strlen(t), NULL, &m, NULL, NULL, NULL, 0), 0);
  cmcp__msg_free(&m);
}

/* ---- encoders ----------------------------------------------------------- */

/* len is read through a pointer: the encoder sets it while the arguments
 * are evaluated, in an order C leaves open. */
static void check_out(char *out, const size_t *len, const char *want) {
  assert_non_null(out);
  assert_string_equal(out, want);
  assert_int_equal(*len, strlen(want));
  cmcp__free(out);
}

static void encodes_results(void **state) {
  json_object *id = json_object_new_int64(1);
  json_object *sid = json_object_new_string("a/\"b\"");
  json_object *res = NULL;
  size_t len = 0;
  (void)state;
  assert_int_equal(cmcp__json_parse_object(
                       "{ \"content\" : [ {\"type\":\"text\",\"text\":\"x/y\"} "
                       "], \"n\" : 1.50 }",
                       &res),
                   0);
  check_out(cmcp__rpc_encode_result(id, res, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":"
            "\"text\",\"text\":\"x/y\"}],\"n\":1.50}}");
  check_out(cmcp__rpc_encode_result(sid, NULL, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":\"a/\\\"b\\\"\",\"result\":{}}");
  check_out(cmcp__rpc_encode_result(NULL, NULL, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}");
  json_object_put(id), json_object_put(sid), json_object_put(res);
}

static void encodes_errors(void **state) {
  json_object *id = json_object_new_string("r-1");
  json_object *data = json_object_new_array();
  size_t len = 0;
  (void)state;
  json_object_array_add(data, json_object_new_string("2026-07-28"));
  check_out(
      cmcp__rpc_encode_error(id, -32602, "Invalid params: \"x\"", NULL, &len),
      &len,
      "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32602,"
      "\"message\":\"Invalid params: \\\"x\\\"\"}}");
  check_out(cmcp__rpc_encode_error(id, 42, "m", data, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":42,"
            "\"message\":\"m\",\"data\":[\"2026-07-28\"]}}");
  /* No readable id: the id member is left out (null is no RequestId). */
  check_out(cmcp__rpc_encode_error(NULL, -32700, "Parse error", NULL, &len),
            &len,
            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,"
            "\"message\":\"Parse error\"}}");
  check_out(cmcp__rpc_encode_error(NULL, INT32_MIN, NULL, NULL, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-2147483648,"
            "\"message\":\"\"}}");
  json_object_put(id), json_object_put(data);
}

static void encodes_requests_and_notifications(void **state) {
  json_object *id = json_object_new_int64(-7);
  json_object *params = NULL;
  size_t len = 0;
  (void)state;
  assert_int_equal(cmcp__json_parse_object("{\"uri\":\"test://a/b\"}", &params),
                   0);
  check_out(cmcp__rpc_encode_request(id, "resources/read", params, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":-7,\"method\":\"resources/read\","
            "\"params\":{\"uri\":\"test://a/b\"}}");
  check_out(cmcp__rpc_encode_request(id, "ping", NULL, &len), &len,
            "{\"jsonrpc\":\"2.0\",\"id\":-7,\"method\":\"ping\"}");
  check_out(cmcp__rpc_encode_notification("notifications/resources/updated",
                                          params, &len),
            &len,
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/"
            "updated\",\"params\":{\"uri\":\"test://a/b\"}}");
  check_out(
      cmcp__rpc_encode_notification("notifications/initialized", NULL, &len),
      &len, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
  json_object_put(id), json_object_put(params);
}

/* Strings from C are escaped; bytes that are not UTF-8 become U+FFFD so
 * the output always parses. */
static void encoders_escape_c_strings(void **state) {
  json_object *o = NULL;
  size_t len = 0;
  char *out;
  (void)state;
  check_out(cmcp__rpc_encode_notification("a\"\\\n\r\t\b\f\x01\x1f/\xC3\xA9",
                                          NULL, &len),
            &len,
            "{\"jsonrpc\":\"2.0\",\"method\":\"a\\\"\\\\\\n\\r\\t\\b\\f"
            "\\u0001\\u001f/\xC3\xA9\"}");
  out = cmcp__rpc_encode_error(NULL, 1, "bad \xC0\xAF \xED\xA0\x80 \xE2\x82",
                               NULL, &len);
  assert_string_equal(out, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,"
                           "\"message\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD "
                           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
                           "\xEF\xBF\xBD\xEF\xBF\xBD\"}}");
  assert_int_equal(cmcp__json_parse(out, len, NULL, &o, NULL, 0), 0);
  json_object_put(o);
  cmcp__free(out);
}

static void encoded_messages_decode_back(void **state) {
  json_object *id = json_object_new_string("k");
  cmcp__msg m;
  size_t len;
  char *out;
  (void)state;
  out = cmcp__rpc_encode_request(id, "tools/list", NULL, &len);
  decode_ok(out, CMCP__MSG_REQUEST, &m);
  assert_true(cmcp__rpc_id_equal(m.id, id));
  assert_string_equal(m.method, "tools/list");
  cmcp__msg_free(&m);
  cmcp__free(out);
  out = cmcp__rpc_encode_error(id, -32601, "Method not found", NULL, &len);
  decode_ok(out, CMCP__MSG_ERROR, &m);
  assert_int_equal(m.error_code, -32601);
  cmcp__msg_free(&m);
  cmcp__free(out);
  json_object_put(id);
}

static void *failing_malloc(size_t size) {
  (void)size;
  return NULL;
}

static void encoders_report_enomem(void **state) {
  json_object *id = json_object_new_int64(1);
  size_t len = 99;
  (void)state;
  assert_int_equal(cmcp_set_allocator(failing_malloc, realloc, calloc, free),
                   0);
  assert_null(cmcp__rpc_encode_result(id, NULL, &len));
  assert_null(cmcp__rpc_encode_error(id, 1, "m", NULL, &len));
  assert_null(cmcp__rpc_encode_request(id, "ping", NULL, &len));
  assert_null(cmcp__rpc_encode_notification("n", NULL, &len));
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  assert_int_equal(len, 99);
  json_object_put(id);
}

static void *failing_calloc(size_t n, size_t size) {
  (void)n;
  (void)size;
  return NULL;
}

static void *decode_once(void *arg) {
  const char *t = REQ("\"id\":1,\"method\":\"ping\"");
  int *code = arg;
  cmcp__msg m;
  char err[64];
  if (cmcp__rpc_decode(t, strlen(t), NULL, &m, code, NULL, err, sizeof err) !=
      CMCP_ENOMEM)
    *code = 0;
  cmcp__msg_free(&m);
  return NULL;
}

/* A thread's first decode needs memory for its parser: without it the
 * answer is -32603 Internal error. */
static void decode_reports_enomem(void **state) {
  pthread_t th;
  int code = 0;
  (void)state;
  assert_int_equal(cmcp_set_allocator(malloc, realloc, failing_calloc, free),
                   0);
  assert_int_equal(pthread_create(&th, NULL, decode_once, &code), 0);
  pthread_join(th, NULL);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  assert_int_equal(code, -32603);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decodes_request),
      cmocka_unit_test(decodes_notification),
      cmocka_unit_test(decodes_result_and_error),
      cmocka_unit_test(ids_round_trip_exactly),
      cmocka_unit_test(ids_of_other_types_are_invalid),
      cmocka_unit_test(id_equal_compares_type_and_value),
      cmocka_unit_test(not_json_is_parse_error),
      cmocka_unit_test(limits_are_invalid_request),
      cmocka_unit_test(non_objects_are_invalid_request),
      cmocka_unit_test(version_is_checked),
      cmocka_unit_test(calls_are_checked),
      cmocka_unit_test(params_must_be_an_object),
      cmocka_unit_test(responses_are_checked),
      cmocka_unit_test(error_objects_are_checked),
      cmocka_unit_test(decode_works_without_optional_outputs),
      cmocka_unit_test(failures_tell_what_was_seen),
      cmocka_unit_test(encodes_results),
      cmocka_unit_test(encodes_errors),
      cmocka_unit_test(encodes_requests_and_notifications),
      cmocka_unit_test(encoders_escape_c_strings),
      cmocka_unit_test(encoded_messages_decode_back),
      cmocka_unit_test(encoders_report_enomem),
      cmocka_unit_test(decode_reports_enomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
