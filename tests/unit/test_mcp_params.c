/* Unit tests for src/transport/mcp_params.c: Mcp-Param-{Name} headers of a
 * modern tools/call checked against its arguments (SEP-2243). The headers
 * come from a table looked up case-insensitively, as the HTTP layer does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "cmcp.h"
#include "transport/mcp_params.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 8

/* The request's headers: name/value pairs in wire order. */
typedef struct headers {
  const char *name[MAX_HEADERS];
  const char *value[MAX_HEADERS];
  size_t n;
  int lookups;
} headers;

static const char *lookup(void *ctx, const char *name, size_t nth) {
  headers *h = ctx;
  size_t i;
  h->lookups++;
  for (i = 0; i < h->n; i++)
    if (strcasecmp(h->name[i], name) == 0 && nth-- == 0)
      return h->value[i];
  return NULL;
}

/* Builds the table from NULL-terminated name, value pairs. */
static headers hdrs(const char *first, ...) {
  headers h;
  va_list ap;
  const char *name = first;
  memset(&h, 0, sizeof h);
  va_start(ap, first);
  while (name != NULL && h.n < MAX_HEADERS) {
    h.name[h.n] = name;
    h.value[h.n] = va_arg(ap, const char *);
    h.n++;
    name = va_arg(ap, const char *);
  }
  va_end(ap);
  return h;
}

#define REGION_SCHEMA                                                          \
  "{\"type\":\"object\",\"properties\":{"                                      \
  "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"              \
  "\"query\":{\"type\":\"string\"},"                                           \
  "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"N\"},"                       \
  "\"flag\":{\"type\":\"boolean\",\"x-mcp-header\":\"Flag\"},"                 \
  "\"opts\":{\"type\":\"object\",\"properties\":{"                             \
  "\"zone\":{\"type\":\"string\",\"x-mcp-header\":\"Zone\"}}},"                \
  "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"object\","               \
  "\"properties\":{\"deep\":{\"type\":\"string\",\"x-mcp-header\":"            \
  "\"Deep\"}}}},"                                                              \
  "\"alt\":{\"anyOf\":[{\"type\":\"string\",\"x-mcp-header\":\"Alt\"}]}}}"

static char msg[CMCP__MCP_PARAMS_MSG_MAX];

/* Runs the check of REGION_SCHEMA with args (JSON text, or NULL for no
 * arguments) against h; returns its status, the message in msg. */
static int run(const char *args, headers *h) {
  json_object *schema = json_tokener_parse(REGION_SCHEMA);
  json_object *a = args != NULL ? json_tokener_parse(args) : NULL;
  int rc;
  assert_non_null(schema);
  if (args != NULL)
    assert_non_null(a);
  memset(msg, 'x', sizeof msg);
  rc = cmcp__mcp_params_check(schema, a, lookup, h, msg, sizeof msg);
  assert_non_null(memchr(msg, '\0', sizeof msg));
  if (rc == 0)
    assert_string_equal(msg, "");
  json_object_put(a);
  json_object_put(schema);
  return rc;
}

/* Asserts that args against h is refused with a message holding both
 * needles. */
static void refused(const char *args, headers h, const char *needle1,
                    const char *needle2) {
  assert_int_equal(run(args, &h), CMCP_MCP_HEADER_MISMATCH);
  assert_non_null(strstr(msg, "Header mismatch: "));
  if (strstr(msg, needle1) == NULL || strstr(msg, needle2) == NULL)
    fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", msg, needle1, needle2);
}

static void accepted(const char *args, headers h) {
  int rc = run(args, &h);
  if (rc != 0)
    fail_msg("refused: %s", msg);
}

static void plain_value_that_matches_passes(void **state) {
  (void)state;
  accepted("{\"region\":\"us-west1\",\"query\":\"SELECT 1\"}",
           hdrs("Mcp-Param-Region", "us-west1", NULL));
  accepted("{\"region\":\"a b\\tc\"}",
           hdrs("Mcp-Param-Region", "a b\tc", NULL)); /* SP, HTAB allowed */
  accepted("{\"query\":\"no header for me\"}", hdrs(NULL));
}

static void missing_header_is_refused_by_name(void **state) {
  (void)state;
  refused("{\"region\":\"eu\"}", hdrs(NULL), "Mcp-Param-Region", "missing");
  refused("{\"region\":\"\"}", hdrs(NULL), "Mcp-Param-Region", "missing");
  refused("{\"region\":\"eu\"}", hdrs("Mcp-Param-Zone", "eu", NULL),
          "Mcp-Param-Region", "missing");
}

static void absent_or_null_value_expects_no_header(void **state) {
  (void)state;
  accepted(NULL, hdrs(NULL));
  accepted("{}", hdrs(NULL));
  accepted("{\"region\":null,\"n\":null,\"flag\":null}", hdrs(NULL));
  accepted("\"not an object\"", hdrs(NULL));
}

static void header_without_a_body_value_is_refused(void **state) {
  (void)state;
  refused("{}", hdrs("Mcp-Param-Region", "eu", NULL), "Mcp-Param-Region",
          "no value");
  refused("{\"region\":null}", hdrs("Mcp-Param-Region", "eu", NULL),
          "Mcp-Param-Region", "no value");
  refused(NULL, hdrs("Mcp-Param-Zone", "eu", NULL), "Mcp-Param-Zone",
          "no value");
}

static void different_value_is_refused_by_name(void **state) {
  (void)state;
  refused("{\"region\":\"eu\"}", hdrs("Mcp-Param-Region", "us", NULL),
          "Mcp-Param-Region", "does not match");
  refused("{\"region\":\"eu\"}", hdrs("Mcp-Param-Region", "EU", NULL),
          "Mcp-Param-Region", "\"region\"");
  refused("{\"region\":\"eu\"}", hdrs("Mcp-Param-Region", "eu2", NULL),
          "Mcp-Param-Region", "does not match");
  refused("{\"region\":\"eu2\"}", hdrs("Mcp-Param-Region", "eu", NULL),
          "Mcp-Param-Region", "does not match");
}

static void header_names_are_case_insensitive(void **state) {
  headers h = hdrs("MCP-PARAM-REGION", "eu", NULL);
  (void)state;
  accepted("{\"region\":\"eu\"}", hdrs("mcp-param-region", "eu", NULL));
  accepted("{\"region\":\"eu\"}", h);
  accepted("{\"n\":7}", hdrs("mcp-param-n", "7", NULL));
  /* Both spellings are one field: a second value is a duplicate. */
  refused("{\"region\":\"eu\"}",
          hdrs("Mcp-Param-Region", "eu", "mcp-param-region", "us", NULL),
          "Mcp-Param-Region", "more than once");
}

static void base64_values_are_decoded(void **state) {
  (void)state;
  /* The spec's own table. */
  accepted("{\"region\":\"Hello, \xe4\xb8\x96\xe7\x95\x8c\"}",
           hdrs("Mcp-Param-Region", "=?base64?SGVsbG8sIOS4lueVjA==?=", NULL));
  accepted("{\"region\":\" padded \"}",
           hdrs("Mcp-Param-Region", "=?base64?IHBhZGRlZCA=?=", NULL));
  accepted("{\"region\":\"line1\\nline2\"}",
           hdrs("Mcp-Param-Region", "=?base64?bGluZTEKbGluZTI=?=", NULL));
  accepted(
      "{\"region\":\"=?base64?literal?=\"}",
      hdrs("Mcp-Param-Region", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", NULL));
  /* The suite's valid case, an empty value and an embedded NUL. */
  accepted("{\"region\":\"Hello\"}",
           hdrs("Mcp-Param-Region", "=?base64?SGVsbG8=?=", NULL));
  accepted("{\"region\":\"\"}", hdrs("Mcp-Param-Region",
                                     "=?base64?"
                                     "?=",
                                     NULL));
  accepted("{\"region\":\"a\\u0000b\"}",
           hdrs("Mcp-Param-Region", "=?base64?YQBi?=", NULL));
  refused("{\"region\":\"Hello!\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG8=?=", NULL),
          "Mcp-Param-Region", "does not match");
  refused("{\"region\":\"Hell\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG8=?=", NULL),
          "Mcp-Param-Region", "does not match");
}

static void bad_base64_is_refused_by_name(void **state) {
  (void)state;
  /* Padding missing (the suite's case), extra, or inside. */
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG8?=", NULL),
          "Mcp-Param-Region", "base64");
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG8==?=", NULL),
          "Mcp-Param-Region", "base64");
  refused("{\"region\":\"Hi\"}",
          hdrs("Mcp-Param-Region", "=?base64?SG=k?=", NULL), "Mcp-Param-Region",
          "base64");
  /* Characters outside the alphabet (the suite's case), URL-safe ones,
   * spaces; non-zero unused bits. */
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVs!!!bG8=?=", NULL),
          "Mcp-Param-Region", "base64");
  refused("{\"region\":\"x\"}",
          hdrs("Mcp-Param-Region", "=?base64?-_8=?=", NULL), "Mcp-Param-Region",
          "base64");
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVs bG8=?=", NULL),
          "Mcp-Param-Region", "base64");
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG9=?=", NULL),
          "Mcp-Param-Region", "base64");
}

static void values_without_the_whole_sentinel_are_literal(void **state) {
  (void)state;
  accepted("{\"region\":\"SGVsbG8=\"}",
           hdrs("Mcp-Param-Region", "SGVsbG8=", NULL));
  accepted("{\"region\":\"=?base64?SGVsbG8=\"}",
           hdrs("Mcp-Param-Region", "=?base64?SGVsbG8=", NULL));
  accepted("{\"region\":\"SGVsbG8=?=\"}",
           hdrs("Mcp-Param-Region", "SGVsbG8=?=", NULL));
  accepted("{\"region\":\"=?BASE64?SGVsbG8=?=\"}", /* markers are lowercase */
           hdrs("Mcp-Param-Region", "=?BASE64?SGVsbG8=?=", NULL));
  refused("{\"region\":\"Hello\"}",
          hdrs("Mcp-Param-Region", "=?base64?SGVsbG8=", NULL),
          "Mcp-Param-Region", "does not match");
}

static void plain_values_with_invalid_characters_are_refused(void **state) {
  (void)state;
  refused("{\"region\":\"caf\xc3\xa9\"}",
          hdrs("Mcp-Param-Region", "caf\xc3\xa9", NULL), "Mcp-Param-Region",
          "characters");
  refused("{\"region\":\"a\\rb\"}", hdrs("Mcp-Param-Region", "a\rb", NULL),
          "Mcp-Param-Region", "characters");
  refused("{\"region\":\"a\\u007fb\"}",
          hdrs("Mcp-Param-Region",
               "a\x7f"
               "b",
               NULL),
          "Mcp-Param-Region", "characters");
}

static void integers_compare_numerically(void **state) {
  (void)state;
  accepted("{\"n\":42}", hdrs("Mcp-Param-N", "42", NULL));
  accepted("{\"n\":42}", hdrs("Mcp-Param-N", "42.0", NULL));
  accepted("{\"n\":42}", hdrs("Mcp-Param-N", "4.2e1", NULL));
  accepted("{\"n\":-7}", hdrs("Mcp-Param-N", "-7", NULL));
  accepted("{\"n\":0}", hdrs("Mcp-Param-N", "-0", NULL));
  accepted("{\"n\":42.0}", hdrs("Mcp-Param-N", "42", NULL));
  accepted("{\"n\":42}", hdrs("Mcp-Param-N", "=?base64?NDI=?=", NULL));
  accepted("{\"n\":9007199254740991}",
           hdrs("Mcp-Param-N", "9007199254740991", NULL));
  refused("{\"n\":9007199254740993}",
          hdrs("Mcp-Param-N", "9007199254740992", NULL), "Mcp-Param-N",
          "does not match"); /* exact, not through a double */
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "43", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "42.5", NULL), "Mcp-Param-N",
          "\"n\"");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "0x2A", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "+42", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "42.", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "4e", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":1}", hdrs("Mcp-Param-N", "true", NULL), "Mcp-Param-N",
          "does not match");
  refused("{\"n\":1}", hdrs("Mcp-Param-N", "99999999999999999999", NULL),
          "Mcp-Param-N", "does not match"); /* out of range */
  refused("{\"n\":42}", hdrs("Mcp-Param-N", "=?base64?NAAy?=", NULL),
          "Mcp-Param-N", "does not match"); /* "4\0" "2" */
  refused("{\"n\":1}",
          hdrs("Mcp-Param-N",
               "1.00000000000000000000000000000000000000000000000000000000"
               "0000000000",
               NULL),
          "Mcp-Param-N", "does not match"); /* longer than compared */
}

static void booleans_are_lowercase_words(void **state) {
  (void)state;
  accepted("{\"flag\":true}", hdrs("Mcp-Param-Flag", "true", NULL));
  accepted("{\"flag\":false}", hdrs("Mcp-Param-Flag", "false", NULL));
  accepted("{\"flag\":true}",
           hdrs("Mcp-Param-Flag", "=?base64?dHJ1ZQ==?=", NULL));
  refused("{\"flag\":true}", hdrs("Mcp-Param-Flag", "True", NULL),
          "Mcp-Param-Flag", "does not match");
  refused("{\"flag\":true}", hdrs("Mcp-Param-Flag", "1", NULL),
          "Mcp-Param-Flag", "does not match");
  refused("{\"flag\":false}", hdrs("Mcp-Param-Flag", "true", NULL),
          "Mcp-Param-Flag", "does not match");
  refused("{\"flag\":false}", hdrs("Mcp-Param-Flag", "", NULL),
          "Mcp-Param-Flag", "does not match");
}

static void nested_properties_are_followed(void **state) {
  (void)state;
  accepted("{\"opts\":{\"zone\":\"b\"}}", hdrs("Mcp-Param-Zone", "b", NULL));
  accepted("{\"opts\":{}}", hdrs(NULL));
  accepted("{\"opts\":\"not an object\"}", hdrs(NULL));
  refused("{\"opts\":{\"zone\":\"b\"}}", hdrs(NULL), "Mcp-Param-Zone",
          "\"zone\"");
  refused("{\"opts\":{\"zone\":\"b\"}}", hdrs("Mcp-Param-Zone", "c", NULL),
          "Mcp-Param-Zone", "does not match");
}

static void marks_not_statically_reachable_are_ignored(void **state) {
  (void)state;
  /* Under items or anyOf a mark is not a header parameter: no header is
   * asked for, and one sent is not looked at. */
  accepted("{\"list\":[{\"deep\":\"x\"}],\"alt\":\"y\"}", hdrs(NULL));
  accepted("{\"list\":[{\"deep\":\"x\"}],\"alt\":\"y\"}",
           hdrs("Mcp-Param-Deep", "z", "Mcp-Param-Alt", "z", NULL));
}

static void non_primitive_value_is_refused(void **state) {
  (void)state;
  refused("{\"region\":{\"a\":1}}", hdrs("Mcp-Param-Region", "x", NULL),
          "Mcp-Param-Region", "not a string, integer or boolean");
  refused("{\"region\":[1]}", hdrs("Mcp-Param-Region", "x", NULL),
          "Mcp-Param-Region", "not a string, integer or boolean");
}

static void schema_without_marks_asks_nothing(void **state) {
  json_object *s = json_tokener_parse(
      "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
      "\"b\":7,\"c\":{\"x-mcp-header\":5}}}");
  json_object *a = json_tokener_parse("{\"a\":\"x\",\"c\":1}");
  headers h = hdrs(NULL);
  (void)state;
  assert_int_equal(cmcp__mcp_params_check(s, a, lookup, &h, msg, sizeof msg),
                   0);
  assert_int_equal(h.lookups, 0);
  assert_int_equal(cmcp__mcp_params_check(NULL, a, lookup, &h, msg, sizeof msg),
                   0);
  json_object_put(a);
  json_object_put(s);
}

static void message_is_bounded(void **state) {
  json_object *s = json_tokener_parse(REGION_SCHEMA);
  json_object *a = json_tokener_parse("{\"region\":\"eu\"}");
  headers h = hdrs(NULL);
  char small[20];
  (void)state;
  memset(small, 'x', sizeof small);
  assert_int_equal(
      cmcp__mcp_params_check(s, a, lookup, &h, small, sizeof small),
      CMCP_MCP_HEADER_MISMATCH);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_memory_equal(small, "Header mismatch: ", 17);
  assert_int_equal(cmcp__mcp_params_check(s, a, lookup, &h, NULL, 0),
                   CMCP_MCP_HEADER_MISMATCH);
  json_object_put(a);
  json_object_put(s);
}

static void overlong_mark_is_refused(void **state) {
  char schema[600], name[300];
  json_object *s, *a = json_tokener_parse("{\"v\":\"x\"}");
  headers h = hdrs(NULL);
  (void)state;
  memset(name, 'A', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  snprintf(schema, sizeof schema,
           "{\"properties\":{\"v\":{\"type\":\"string\","
           "\"x-mcp-header\":\"%s\"}}}",
           name);
  s = json_tokener_parse(schema);
  assert_non_null(s);
  assert_int_equal(cmcp__mcp_params_check(s, a, lookup, &h, msg, sizeof msg),
                   CMCP_MCP_HEADER_MISMATCH);
  assert_non_null(strstr(msg, "too long"));
  json_object_put(a);
  json_object_put(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plain_value_that_matches_passes),
      cmocka_unit_test(missing_header_is_refused_by_name),
      cmocka_unit_test(absent_or_null_value_expects_no_header),
      cmocka_unit_test(header_without_a_body_value_is_refused),
      cmocka_unit_test(different_value_is_refused_by_name),
      cmocka_unit_test(header_names_are_case_insensitive),
      cmocka_unit_test(base64_values_are_decoded),
      cmocka_unit_test(bad_base64_is_refused_by_name),
      cmocka_unit_test(values_without_the_whole_sentinel_are_literal),
      cmocka_unit_test(plain_values_with_invalid_characters_are_refused),
      cmocka_unit_test(integers_compare_numerically),
      cmocka_unit_test(booleans_are_lowercase_words),
      cmocka_unit_test(nested_properties_are_followed),
      cmocka_unit_test(marks_not_statically_reachable_are_ignored),
      cmocka_unit_test(non_primitive_value_is_refused),
      cmocka_unit_test(schema_without_marks_asks_nothing),
      cmocka_unit_test(message_is_bounded),
      cmocka_unit_test(overlong_mark_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
