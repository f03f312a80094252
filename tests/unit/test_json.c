/* Unit tests for src/json/json.c: strict parsing, UTF-8, limits, helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"
#include "json/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Parses text (given with its length) and expects the status rc with a
 * reason containing want; returns nothing on failure paths. */
static void expect_fail_n(const char *text, size_t len,
                          const cmcp__json_limits *lim, int rc,
                          const char *want) {
  json_object *obj = (json_object *)1;
  char err[256] = "";
  int got = cmcp__json_parse(text, len, lim, &obj, err, sizeof err);
  if (got != rc || strstr(err, want) == NULL)
    fail_msg("parse of [%.*s]: got %d \"%s\", want %d \"%s\"",
             (int)(len > 60 ? 60 : len), text, got, err, rc, want);
  assert_null(obj);
}

static void expect_fail(const char *text, int rc, const char *want) {
  expect_fail_n(text, strlen(text), NULL, rc, want);
}

/* Parses text that must succeed and returns the value. */
static json_object *parse_ok(const char *text) {
  json_object *obj = NULL;
  char err[256] = "";
  int rc = cmcp__json_parse(text, strlen(text), NULL, &obj, err, sizeof err);
  if (rc != 0)
    fail_msg("parse of [%s] failed: %d %s", text, rc, err);
  assert_non_null(obj);
  return obj;
}

/* ---- UTF-8 -------------------------------------------------------------- */

static void utf8_accepts_well_formed(void **state) {
  (void)state;
  assert_true(cmcp__utf8_valid("", 0));
  assert_true(cmcp__utf8_valid("plain ascii", 11));
  assert_true(cmcp__utf8_valid("\xC2\x80", 2));          /* U+0080 */
  assert_true(cmcp__utf8_valid("\xC3\xA9t\xC3\xA9", 5)); /* été */
  assert_true(cmcp__utf8_valid("\xE0\xA0\x80", 3));      /* U+0800 */
  assert_true(cmcp__utf8_valid("\xED\x9F\xBF", 3));      /* U+D7FF */
  assert_true(cmcp__utf8_valid("\xEE\x80\x80", 3));      /* U+E000 */
  assert_true(cmcp__utf8_valid("\xEF\xBF\xBD", 3));      /* U+FFFD */
  assert_true(cmcp__utf8_valid("\xF0\x90\x80\x80", 4));  /* U+10000 */
  assert_true(cmcp__utf8_valid("\xF0\x9F\x98\x80", 4));  /* emoji */
  assert_true(cmcp__utf8_valid("\xF4\x8F\xBF\xBF", 4));  /* U+10FFFF */
  assert_true(cmcp__utf8_valid("a\0b", 3)); /* NUL is a character */
}

static void utf8_rejects_malformed(void **state) {
  (void)state;
  assert_false(cmcp__utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
  assert_false(cmcp__utf8_valid("\xC1\xBF", 2));         /* overlong */
  assert_false(cmcp__utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
  assert_false(cmcp__utf8_valid("\xE0\x9F\xBF", 3));     /* overlong */
  assert_false(cmcp__utf8_valid("\xF0\x80\x80\xAF", 4)); /* overlong */
  assert_false(cmcp__utf8_valid("\xF0\x8F\xBF\xBF", 4)); /* overlong */
  assert_false(cmcp__utf8_valid("\xED\xA0\x80", 3));     /* U+D800 */
  assert_false(cmcp__utf8_valid("\xED\xBF\xBF", 3));     /* U+DFFF */
  assert_false(cmcp__utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
  assert_false(cmcp__utf8_valid("\xF5\x80\x80\x80", 4));
  assert_false(cmcp__utf8_valid("\xF8\x88\x80\x80\x80", 5));
  assert_false(cmcp__utf8_valid("\xFE", 1));
  assert_false(cmcp__utf8_valid("\xFF", 1));
  assert_false(cmcp__utf8_valid("\x80", 1));         /* stray */
  assert_false(cmcp__utf8_valid("a\xBF", 2));        /* stray */
  assert_false(cmcp__utf8_valid("\xC3", 1));         /* truncated */
  assert_false(cmcp__utf8_valid("\xE2\x82", 2));     /* truncated */
  assert_false(cmcp__utf8_valid("\xF0\x9F\x98", 3)); /* truncated */
  assert_false(cmcp__utf8_valid("\xE2\x82x", 3));    /* cut by ASCII */
  assert_false(cmcp__utf8_valid("ok \xC3\xA9 \xC0\xAF", 8));
}

static void utf8_char_len_measures_one_character(void **state) {
  (void)state;
  assert_int_equal(cmcp__utf8_char_len("a", 1), 1);
  assert_int_equal(cmcp__utf8_char_len("\xC3\xA9zz", 4), 2);
  assert_int_equal(cmcp__utf8_char_len("\xE2\x82\xAC", 3), 3);
  assert_int_equal(cmcp__utf8_char_len("\xF0\x9F\x98\x80", 4), 4);
  assert_int_equal(cmcp__utf8_char_len("\xF0\x9F\x98\x80", 3), 0);
  assert_int_equal(cmcp__utf8_char_len("\xED\xA0\x80", 3), 0);
  assert_int_equal(cmcp__utf8_char_len("x", 0), 0);
}

/* ---- parsing: what is accepted ----------------------------------------- */

static void parse_accepts_rfc8259_values(void **state) {
  json_object *o;
  (void)state;
  o = parse_ok(" \t\r\n{\"a\": [1, -2.5e+3, true, false, null, \"s\"]} \n");
  assert_true(json_object_is_type(o, json_type_object));
  assert_int_equal(json_object_array_length(json_object_object_get(o, "a")), 6);
  json_object_put(o);
  o = parse_ok("12");
  assert_int_equal(json_object_get_int64(o), 12);
  json_object_put(o);
  o = parse_ok("-0");
  assert_int_equal(json_object_get_int64(o), 0);
  json_object_put(o);
  o = parse_ok("true");
  assert_true(json_object_get_boolean(o));
  json_object_put(o);
  o = (json_object *)1; /* json-c's null is a NULL object */
  assert_int_equal(cmcp__json_parse(" null ", 6, NULL, &o, NULL, 0), 0);
  assert_null(o);
  o = parse_ok("\"x\"");
  assert_string_equal(json_object_get_string(o), "x");
  json_object_put(o);
  o = parse_ok("1e-999"); /* underflow rounds to zero: finite, accepted */
  assert_true(json_object_get_double(o) == 0.0);
  json_object_put(o);
}

static void parse_keeps_64_bit_integers_exact(void **state) {
  json_object *o;
  (void)state;
  o = parse_ok("9223372036854775807");
  assert_true(json_object_get_int64(o) == INT64_MAX);
  json_object_put(o);
  o = parse_ok("-9223372036854775808");
  assert_true(json_object_get_int64(o) == INT64_MIN);
  json_object_put(o);
  o = parse_ok("18446744073709551615");
  assert_true(json_object_get_uint64(o) == UINT64_MAX);
  json_object_put(o);
}

static void parse_decodes_escapes_and_pairs(void **state) {
  json_object *o;
  (void)state;
  o = parse_ok("\"\\ud83d\\ude00 \\u00e9\\/\\b\\f\\n\\r\\t\\\"\\\\\"");
  assert_string_equal(json_object_get_string(o),
                      "\xF0\x9F\x98\x80 \xC3\xA9/\b\f\n\r\t\"\\");
  json_object_put(o);
  o = parse_ok("\"a\\u0000b\""); /* an escaped NUL keeps its length */
  assert_int_equal(json_object_get_string_len(o), 3);
  assert_memory_equal(json_object_get_string(o), "a\0b", 3);
  json_object_put(o);
  o = parse_ok("\"\xF4\x8F\xBF\xBF\"");
  assert_int_equal(json_object_get_string_len(o), 4);
  json_object_put(o);
}

/* The spec is silent on duplicate keys; RFC 8259 says names SHOULD be
 * unique. We keep the last value, as the JavaScript and Python SDKs do. */
static void parse_duplicate_keys_last_wins(void **state) {
  json_object *o;
  (void)state;
  o = parse_ok("{\"a\":1,\"b\":0,\"a\":2}");
  assert_int_equal(json_object_object_length(o), 2);
  assert_int_equal(json_object_get_int(json_object_object_get(o, "a")), 2);
  json_object_put(o);
}

/* ---- parsing: what is refused ------------------------------------------ */

static void parse_rejects_invalid_utf8(void **state) {
  (void)state;
  expect_fail("\"\xC0\xAF\"", CMCP_EPARSE, "invalid UTF-8 at byte 1");
  expect_fail("\"ab\xED\xA0\x80\"", CMCP_EPARSE, "invalid UTF-8 at byte 3");
  expect_fail("\"\xF4\x90\x80\x80\"", CMCP_EPARSE, "invalid UTF-8");
  expect_fail("\"\xE2\x82\"", CMCP_EPARSE, "invalid UTF-8");
  expect_fail("{\"k\xFF\":1}", CMCP_EPARSE, "invalid UTF-8");
  expect_fail_n("\"\xF0\x9F\x98", 4, NULL, CMCP_EPARSE, "invalid UTF-8");
  expect_fail("\xC3\xA9", CMCP_EPARSE, "unexpected character at byte 0");
}

/* json-c turns lone surrogate escapes into U+FFFD silently: refused. */
static void parse_rejects_lone_surrogate_escapes(void **state) {
  (void)state;
  expect_fail("\"\\ud800\"", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\uDBFF\"", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\udc00\"", CMCP_EPARSE, "surrogate in \\u escape at byte 1");
  expect_fail("\"\\ud800\\u0041\"", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\ud800\\ud800\"", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\ud800x\"", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\ud800\\", CMCP_EPARSE, "lone UTF-16 surrogate");
  expect_fail("\"\\ud800\\u12x4\"", CMCP_EPARSE, "bad hex digit");
}

static void parse_rejects_bad_strings(void **state) {
  (void)state;
  expect_fail("\"a\tb\"", CMCP_EPARSE, "unescaped control character");
  expect_fail("\"a\nb\"", CMCP_EPARSE, "unescaped control character");
  expect_fail_n("\"a\0b\"", 5, NULL, CMCP_EPARSE,
                "unescaped control character in string at byte 2");
  expect_fail("\"\\x41\"", CMCP_EPARSE, "invalid escape");
  expect_fail("\"\\u12G4\"", CMCP_EPARSE, "bad hex digit");
  expect_fail("\"\\u12", CMCP_EPARSE, "truncated \\u escape");
  expect_fail("\"abc", CMCP_EPARSE, "unterminated string");
  expect_fail("\"abc\\", CMCP_EPARSE, "unterminated string");
  expect_fail("'a'", CMCP_EPARSE, "unexpected character");
  /* json-c would cut the key at the NUL and merge it with "a". */
  expect_fail("{\"a\":1,\"a\\u0000b\" :2}", CMCP_EPARSE,
              "object key contains \\u0000 at byte 7");
  json_object_put(parse_ok("{\"k\":\"a\\u0000b\",\"l\":[\"\\u0000\"]}"));
}

/* json-c accepts these even in strict mode. */
static void parse_rejects_nan_and_infinity(void **state) {
  (void)state;
  expect_fail("NaN", CMCP_EPARSE, "NaN and Infinity are not JSON");
  expect_fail("Infinity", CMCP_EPARSE, "NaN and Infinity");
  expect_fail("-Infinity", CMCP_EPARSE, "NaN and Infinity");
  expect_fail("-NaN", CMCP_EPARSE, "NaN and Infinity");
  expect_fail("[1, NaN]", CMCP_EPARSE,
              "NaN and Infinity are not JSON at byte 4");
  expect_fail("{\"v\":-Infinity}", CMCP_EPARSE, "NaN and Infinity");
  expect_fail("nan", CMCP_EPARSE, "invalid literal");
}

static void parse_rejects_numbers_out_of_range(void **state) {
  (void)state;
  expect_fail("1e999", CMCP_EPARSE, "overflows a double");
  expect_fail("-1e999", CMCP_EPARSE, "overflows a double");
  expect_fail("{\"a\":[2e308]}", CMCP_EPARSE, "overflows a double");
  expect_fail("1E400", CMCP_EPARSE, "overflows a double");
  expect_fail("18446744073709551616", CMCP_EPARSE,
              "integer out of 64-bit range");
  expect_fail("-9223372036854775809", CMCP_EPARSE, "64-bit range");
  expect_fail("[123456789012345678901234567890]", CMCP_EPARSE,
              "64-bit range at byte 1");
  json_object_put(parse_ok("1e308"));
  json_object_put(parse_ok("123456789012345678901234567890.5"));
}

static void parse_rejects_bad_numbers(void **state) {
  (void)state;
  expect_fail("1.", CMCP_EPARSE, "digit expected after decimal point");
  expect_fail("[1.e5]", CMCP_EPARSE, "digit expected after decimal point");
  expect_fail("01", CMCP_EPARSE, "leading zero");
  expect_fail("-", CMCP_EPARSE, "digit expected in number");
  expect_fail("-a", CMCP_EPARSE, "digit expected in number");
  expect_fail("1e", CMCP_EPARSE, "digit expected in exponent");
  expect_fail("1e+", CMCP_EPARSE, "digit expected in exponent");
  expect_fail(".5", CMCP_EPARSE, "unexpected character");
  expect_fail("+1", CMCP_EPARSE, "unexpected character");
}

static void parse_rejects_bad_structure(void **state) {
  (void)state;
  expect_fail("", CMCP_EPARSE, "no JSON value");
  expect_fail(" \n ", CMCP_EPARSE, "no JSON value");
  expect_fail_n(NULL, 0, NULL, CMCP_EPARSE, "no JSON value");
  expect_fail("{} x", CMCP_EPARSE, "unexpected data after the JSON value");
  expect_fail("{}{}", CMCP_EPARSE, "after the JSON value at byte 2");
  expect_fail("1 2", CMCP_EPARSE, "after the JSON value");
  expect_fail("\"a\" ,", CMCP_EPARSE, "after the JSON value");
  expect_fail("[1", CMCP_EPARSE, "invalid JSON: unexpected end of data");
  expect_fail("{\"a\":1", CMCP_EPARSE, "invalid JSON");
  expect_fail("[1,]", CMCP_EPARSE, "invalid JSON");
  expect_fail("{\"a\" 1}", CMCP_EPARSE, "invalid JSON");
  expect_fail("[1}", CMCP_EPARSE, "invalid JSON");
  expect_fail("]", CMCP_EPARSE, "unbalanced closing bracket");
  expect_fail("tru", CMCP_EPARSE, "invalid literal");
  expect_fail("truex", CMCP_EPARSE, "after the JSON value");
  expect_fail("/* c */ 1", CMCP_EPARSE, "unexpected character at byte 0");
  expect_fail("\f1", CMCP_EPARSE, "unexpected character");
  expect_fail_n("{}\0", 3, NULL, CMCP_EPARSE, "after the JSON value at byte 2");
}

/* ---- limits ------------------------------------------------------------- */

/* depth levels of [ ... ] around 1, or NULL on ENOMEM. */
static char *nested(int depth, char open, char close) {
  char *s = malloc((size_t)depth * 2 + 2);
  int i;
  assert_non_null(s);
  for (i = 0; i < depth; i++) {
    s[i] = open;
    s[depth + 1 + i] = close;
  }
  s[depth] = '1';
  s[2 * depth + 1] = '\0';
  return s;
}

static void parse_depth_limit_is_exact(void **state) {
  cmcp__json_limits lim = {0, 4};
  json_object *o = NULL;
  char *s;
  (void)state;
  assert_int_equal(cmcp__json_parse("[[[[1]]]]", 9, &lim, &o, NULL, 0), 0);
  json_object_put(o);
  expect_fail_n("[[[[[1]]]]]", 11, &lim, CMCP_ELIMIT,
                "nested deeper than the limit of 4 levels at byte 4");
  expect_fail_n("{\"a\":[{\"b\":[{}]}]}", 18, &lim, CMCP_ELIMIT, "limit of 4");
  assert_int_equal(
      cmcp__json_parse("{\"a\":[{\"b\":[]}]}", 16, &lim, &o, NULL, 0), 0);
  json_object_put(o);
  /* The default limit, at and past it. */
  s = nested(CMCP__JSON_DEFAULT_MAX_DEPTH, '[', ']');
  json_object_put(parse_ok(s));
  free(s);
  s = nested(CMCP__JSON_DEFAULT_MAX_DEPTH + 1, '[', ']');
  expect_fail(s, CMCP_ELIMIT, "limit of 128 levels");
  free(s);
}

static void parse_depth_limit_grows_thread_tokener(void **state) {
  cmcp__json_limits deep = {0, 1000}, shallow = {0, 2};
  json_object *o = NULL;
  char *s = nested(1000, '[', ']');
  (void)state;
  assert_int_equal(cmcp__json_parse("[[1]]", 5, &shallow, &o, NULL, 0), 0);
  json_object_put(o);
  assert_int_equal(cmcp__json_parse(s, strlen(s), &deep, &o, NULL, 0), 0);
  json_object_put(o);
  expect_fail_n(s, strlen(s), &shallow, CMCP_ELIMIT, "limit of 2");
  free(s);
  /* An absurd limit is capped, not trusted. */
  deep.max_depth = 1 << 30;
  s = nested(CMCP__JSON_MAX_DEPTH_CAP + 1, '[', ']');
  expect_fail_n(s, strlen(s), &deep, CMCP_ELIMIT, "limit of 10000 levels");
  free(s);
}

static void parse_refuses_100000_deep_array_quickly(void **state) {
  char *s = nested(100000, '[', ']');
  uint64_t t0 = cmcp__now_ms();
  (void)state;
  expect_fail(s, CMCP_ELIMIT, "limit of 128 levels at byte 128");
  free(s);
  s = nested(100000, '{', '}'); /* not even valid JSON, still refused */
  expect_fail(s, CMCP_ELIMIT, "limit of 128");
  free(s);
  assert_true(cmcp__now_ms() - t0 < 1000);
}

static void parse_size_limit_checked_before_parsing(void **state) {
  cmcp__json_limits lim = {10, 8};
  json_object *o = NULL;
  (void)state;
  assert_int_equal(cmcp__json_parse("[1,2,3,45]", 10, &lim, &o, NULL, 0), 0);
  json_object_put(o);
  /* 11 bytes of garbage: refused for its size, never looked at. */
  expect_fail_n("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 11, &lim,
                CMCP_ELIMIT, "JSON text of 11 bytes exceeds the limit of 10");
  lim.max_bytes = 0; /* no limit */
  assert_int_equal(cmcp__json_parse("[1,2,3,456]", 11, &lim, &o, NULL, 0), 0);
  json_object_put(o);
  /* Even without a limit, json-c cannot take 2 GiB: refused unread. */
  expect_fail_n("[]", (size_t)INT32_MAX, &lim, CMCP_ELIMIT,
                "bytes exceeds the limit");
}

static void parse_without_errbuf_still_fails(void **state) {
  json_object *o = NULL;
  (void)state;
  assert_int_equal(cmcp__json_parse("NaN", 3, NULL, &o, NULL, 0), CMCP_EPARSE);
  assert_int_equal(cmcp__json_parse("[1", 2, NULL, &o, NULL, 0), CMCP_EPARSE);
  assert_null(o);
}

/* ---- helpers ------------------------------------------------------------ */

static void parse_object_requires_an_object(void **state) {
  json_object *o = (json_object *)1;
  (void)state;
  assert_int_equal(cmcp__json_parse_object(NULL, &o), CMCP_EINVAL);
  assert_null(o);
  assert_int_equal(cmcp__json_parse_object("[1]", &o), CMCP_EINVAL);
  assert_null(o);
  assert_int_equal(cmcp__json_parse_object("\"s\"", &o), CMCP_EINVAL);
  assert_int_equal(cmcp__json_parse_object("{", &o), CMCP_EPARSE);
  assert_null(o);
  assert_int_equal(cmcp__json_parse_object("{\"type\":\"object\"}", &o), 0);
  assert_string_equal(cmcp__json_get_string(o, "type"), "object");
  json_object_put(o);
}

static void json_text_is_compact_without_slash_escapes(void **state) {
  json_object *o = parse_ok("{ \"u\" : \"http://x/y\", \"a\" : [ 1 , 2.50 ] ,"
                            " \"e\" : \"\\u00e9\\n\\u0001\" }");
  size_t len = 0;
  const char *t;
  (void)state;
  t = cmcp__json_text(o, &len);
  assert_string_equal(
      t, "{\"u\":\"http://x/y\",\"a\":[1,2.50],\"e\":\"\xC3\xA9\\n\\u0001\"}");
  assert_int_equal(len, strlen(t));
  json_object_put(o);
}

static void get_helpers_treat_missing_and_mistyped_as_null(void **state) {
  json_object *o = parse_ok("{\"s\":\"v\",\"o\":{\"k\":1},\"n\":3}");
  (void)state;
  assert_string_equal(cmcp__json_get_string(o, "s"), "v");
  assert_null(cmcp__json_get_string(o, "n"));
  assert_null(cmcp__json_get_string(o, "missing"));
  assert_null(cmcp__json_get_string(NULL, "s"));
  assert_non_null(cmcp__json_get_object(o, "o"));
  assert_null(cmcp__json_get_object(o, "s"));
  assert_null(cmcp__json_get_object(o, "missing"));
  assert_null(cmcp__json_get_object(json_object_object_get(o, "n"), "k"));
  json_object_put(o);
}

/* ---- threads and memory ------------------------------------------------- */

static void *parse_many(void *arg) {
  const char *text = "{\"jsonrpc\":\"2.0\",\"id\":7,\"params\":{\"a\":[1,2]}}";
  int i, *bad = arg;
  for (i = 0; i < 2000; i++) {
    json_object *o = NULL;
    if (cmcp__json_parse(text, strlen(text), NULL, &o, NULL, 0) != 0 ||
        json_object_get_int(json_object_object_get(o, "id")) != 7)
      (*bad)++;
    json_object_put(o);
  }
  return NULL;
}

static void parse_is_safe_across_threads(void **state) {
  pthread_t th[4];
  int bad[4] = {0, 0, 0, 0}, i;
  (void)state;
  for (i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, parse_many, &bad[i]), 0);
  for (i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(bad[i], 0);
  }
}

static void *failing_calloc(size_t n, size_t size) {
  (void)n;
  (void)size;
  return NULL;
}

static void *parse_once(void *arg) {
  json_object *o = NULL;
  char err[64] = "";
  *(int *)arg = cmcp__json_parse("[1]", 3, NULL, &o, err, sizeof err);
  json_object_put(o);
  return NULL;
}

/* A thread's first parse allocates its tokener cache through the cmcp
 * allocator: when that fails, the parse reports ENOMEM. */
static void parse_reports_enomem(void **state) {
  pthread_t th;
  int rc = 0;
  (void)state;
  assert_int_equal(cmcp_set_allocator(malloc, realloc, failing_calloc, free),
                   0);
  assert_int_equal(pthread_create(&th, NULL, parse_once, &rc), 0);
  pthread_join(th, NULL);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  assert_int_equal(rc, CMCP_ENOMEM);
  assert_int_equal(pthread_create(&th, NULL, parse_once, &rc), 0);
  pthread_join(th, NULL);
  assert_int_equal(rc, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_accepts_well_formed),
      cmocka_unit_test(utf8_rejects_malformed),
      cmocka_unit_test(utf8_char_len_measures_one_character),
      cmocka_unit_test(parse_accepts_rfc8259_values),
      cmocka_unit_test(parse_keeps_64_bit_integers_exact),
      cmocka_unit_test(parse_decodes_escapes_and_pairs),
      cmocka_unit_test(parse_duplicate_keys_last_wins),
      cmocka_unit_test(parse_rejects_invalid_utf8),
      cmocka_unit_test(parse_rejects_lone_surrogate_escapes),
      cmocka_unit_test(parse_rejects_bad_strings),
      cmocka_unit_test(parse_rejects_nan_and_infinity),
      cmocka_unit_test(parse_rejects_numbers_out_of_range),
      cmocka_unit_test(parse_rejects_bad_numbers),
      cmocka_unit_test(parse_rejects_bad_structure),
      cmocka_unit_test(parse_depth_limit_is_exact),
      cmocka_unit_test(parse_depth_limit_grows_thread_tokener),
      cmocka_unit_test(parse_refuses_100000_deep_array_quickly),
      cmocka_unit_test(parse_size_limit_checked_before_parsing),
      cmocka_unit_test(parse_without_errbuf_still_fails),
      cmocka_unit_test(parse_object_requires_an_object),
      cmocka_unit_test(json_text_is_compact_without_slash_escapes),
      cmocka_unit_test(get_helpers_treat_missing_and_mistyped_as_null),
      cmocka_unit_test(parse_is_safe_across_threads),
      cmocka_unit_test(parse_reports_enomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
