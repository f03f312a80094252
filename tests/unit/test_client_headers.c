/* Unit tests for the client's tool headers (src/client/client_ask.c): the
 * x-mcp-header rules of the 2026-07-28 Streamable HTTP page (invalid tools
 * are dropped from tools/list; the conformance scenarios
 * http-invalid-tool-headers and http-custom-headers), the Mcp-Param-*
 * lines built from a call's arguments and their value encoding. Also the
 * allocation-failure sweeps over the client's API calls. No I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "client/client_eng.h"
#include "helper_alloc.h"
#include <stdio.h>
#include <string.h>

/* A client configured for HTTP (never connected). */
static cmcp_client_t *http_client(void) {
  cmcp_client_t *cli = cmcp_client_new(NULL, "t", "1");
  assert_non_null(cli);
  assert_int_equal(cmcp_client_set_url(cli, "http://127.0.0.1:9/mcp"), 0);
  return cli;
}

static json_object *parse(const char *text) {
  json_object *o = NULL;
  assert_int_equal(cmcp__json_parse_object(text, &o), 0);
  return o;
}

/* The names left in a tools/list result after filtering, comma joined. */
static void names(json_object *res, char *out, size_t len) {
  json_object *arr = json_object_object_get(res, "tools");
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_object_array_length(arr); i++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "",
                             json_object_get_string(json_object_object_get(
                                 json_object_array_get_idx(arr, i), "name")));
}

#define TOOL(name, props)                                                      \
  "{\"name\":\"" name "\",\"inputSchema\":{\"type\":\"object\","               \
  "\"properties\":{" props "}}}"

static void test_invalid_tools_dropped(void **state) {
  cmcp_client_t *cli = http_client();
  char out[512];
  json_object *res = parse("{\"tools\":[" TOOL("valid_tool",
                                               "\"region\":{\"type\":"
                                               "\"string\",\"x-mcp-header\":"
                                               "\"Region\"}") "," TOOL("plain", "\"q\":{\"type\":\"string\"}") "," TOOL("nested_ok",
                                                                                                                        "\"o\":{\"type\":\"object\",\"properties\":{\"i\":{"
                                                                                                                        "\"type\":\"integer\",\"x-mcp-header\":\"I\"}}}") "," TOOL("invalid_empty", "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"\"}") "," TOOL("invalid_object",
                                                                                                                                                                                                                                                                  "\"v\":{\"type\":\"object\",\"x-mcp-header\":\"D\"}") "," TOOL("invalid_array", "\"v\":{\"type\":\"array\",\"x-mcp-header\":\"I\"}") "," TOOL("invalid_null", "\"v\":{\"type\":\"null\",\"x-mcp-header\":\"N\"}") "," TOOL("invalid_number", "\"v\":{\"type\":\"number\",\"x-mcp-header\":\"S\"}") "," TOOL("invalid_dup", "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"R\"},"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             "\"b\":{\"type\":\"string\",\"x-mcp-header\":\"R\"}") "," TOOL("invalid_dup_case", "\"a\":{\"type\":\"string\",\"x-mcp-header\":"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                "\"MyField\"},\"b\":{\"type\":\"string\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                "\"x-mcp-header\":\"myfield\"}") "," TOOL("invalid_space",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"A B\"}") "," TOOL("invalid_colon",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"A:B\"}") "," TOOL("invalid_non_ascii", "\"v\":{\"type\":\"string\",\"x-mcp-header\":"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 "\"R\\u00e9gion\"}") "," TOOL("invalid_ctl",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                               "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"R\\t1\"}") "," TOOL("invalid_not_string",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "\"v\":{\"type\":\"string\",\"x-mcp-header\":5}") "]}");
  (void)state;
  cmcp__client_take_tools(cli, res, 1);
  names(res, out, sizeof(out));
  assert_string_equal(out, "valid_tool,plain,nested_ok");
  json_object_put(res);
  /* Without filtering (stdio, legacy) every tool stays. */
  res = parse("{\"tools\":[" TOOL("x", "\"v\":{\"type\":\"number\","
                                       "\"x-mcp-header\":\"S\"}") "]}");
  cmcp__client_take_tools(cli, res, 0);
  names(res, out, sizeof(out));
  assert_string_equal(out, "x");
  json_object_put(res);
  cmcp__client_take_tools(cli, NULL, 1); /* no tools array: nothing */
  cmcp_client_free(cli);
}

static void test_param_headers(void **state) {
  cmcp_client_t *cli = http_client();
  json_object *res = parse("{\"tools\":[" TOOL(
      "t", "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
           "\"priority\":{\"type\":\"integer\",\"x-mcp-header\":\"Priority\"},"
           "\"verbose\":{\"type\":\"boolean\",\"x-mcp-header\":\"Verbose\"},"
           "\"debug\":{\"type\":\"boolean\",\"x-mcp-header\":\"Debug\"},"
           "\"empty\":{\"type\":\"string\",\"x-mcp-header\":\"EmptyVal\"},"
           "\"method_val\":{\"type\":\"string\",\"x-mcp-header\":\"Method\"},"
           "\"greet\":{\"type\":\"string\",\"x-mcp-header\":\"Greeting\"},"
           "\"pad\":{\"type\":\"string\",\"x-mcp-header\":\"Text\"},"
           "\"nl\":{\"type\":\"string\",\"x-mcp-header\":\"Nl\"},"
           "\"tab\":{\"type\":\"string\",\"x-mcp-header\":\"Tab\"},"
           "\"inner\":{\"type\":\"string\",\"x-mcp-header\":\"Inner\"},"
           "\"sentinel\":{\"type\":\"string\",\"x-mcp-header\":\"Val\"},"
           "\"missing\":{\"type\":\"string\",\"x-mcp-header\":\"Missing\"},"
           "\"o\":{\"type\":\"object\",\"properties\":{\"deep\":{"
           "\"type\":\"string\",\"x-mcp-header\":\"Deep\"}}},"
           "\"query\":{\"type\":\"string\"}") "]}");
  json_object *args =
      parse("{\"region\":\"us-west1\",\"priority\":42,\"verbose\":null,"
            "\"debug\":true,\"empty\":\"\",\"method_val\":\"test-method\","
            "\"greet\":\"Hello, \\u4e16\\u754c\",\"pad\":\" padded \","
            "\"nl\":\"line1\\nline2\",\"tab\":\"\\tindented\","
            "\"inner\":\"us west 1\",\"sentinel\":\"=?base64?literal?=\","
            "\"o\":{\"deep\":\"d\"},\"query\":\"SELECT 1\"}");
  const char *want[] = {"Mcp-Param-Region: us-west1",
                        "Mcp-Param-Priority: 42",
                        "Mcp-Param-Debug: true",
                        "Mcp-Param-EmptyVal: =?base64?\?=",
                        "Mcp-Param-Method: test-method",
                        "Mcp-Param-Greeting: =?base64?SGVsbG8sIOS4lueVjA==?=",
                        "Mcp-Param-Text: =?base64?IHBhZGRlZCA=?=",
                        "Mcp-Param-Nl: =?base64?bGluZTEKbGluZTI=?=",
                        "Mcp-Param-Tab: =?base64?CWluZGVudGVk?=",
                        "Mcp-Param-Inner: us west 1",
                        "Mcp-Param-Val: =?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=",
                        "Mcp-Param-Deep: d",
                        NULL};
  char **lines;
  size_t n = 0;
  int st;
  (void)state;
  cmcp__client_take_tools(cli, res, 1);
  lines = cmcp__client_tool_headers(cli, "t", args, &st);
  assert_int_equal(st, 0);
  assert_non_null(lines);
  for (; lines[n]; n++)
    assert_string_equal(lines[n], want[n]);
  assert_null(want[n]);
  cmcp__strv_free(lines);
  /* An unknown tool, or a call without arguments: no headers. */
  assert_null(cmcp__client_tool_headers(cli, "other", args, &st));
  assert_int_equal(st, 0);
  assert_null(cmcp__client_tool_headers(cli, "t", NULL, &st));
  assert_int_equal(st, 0);
  json_object_put(args);
  json_object_put(res);
  cmcp_client_free(cli);
}

/* ---- allocation failures ----------------------------------------------- */

/* Fails each allocation of a configuration sequence in turn: every step
 * returns CMCP_ENOMEM (or NULL) and nothing leaks. */
static void test_alloc_sweep_config(void **state) {
  const char *argv[] = {"x", "--stdio", NULL};
  const char *env[] = {"A=1", NULL};
  (void)state;
  alloc_fail_install();
  for (long n = 1; n < 200; n++) {
    cmcp_client_t *cli;
    long used;
    int st = 0;
    alloc_fail_arm(n);
    cli = cmcp_client_new(NULL, "name", "1.0");
    if (cli) {
      if ((st = cmcp_client_set_stdio(cli, argv, env, "/tmp")) == 0 &&
          (st = cmcp_client_set_url(cli, "http://127.0.0.1:1/mcp")) == 0 &&
          (st = cmcp_client_add_header(cli, "X-A", "b")) == 0 &&
          (st = cmcp_client_set_bearer(cli, "tok")) == 0)
        st = cmcp_client_set_info_json(cli, "{\"title\":\"T\"}");
      assert_true(st == 0 || st == CMCP_ENOMEM);
    }
    used = alloc_fail_count();
    alloc_fail_arm(0);
    cmcp_client_free(cli);
    if (cli && st == 0 && used < n)
      break; /* the nth allocation was never reached: every one was tried */
  }
  alloc_fail_uninstall();
}

/* The tool-header and tools/list paths under allocation failure. */
static void test_alloc_sweep_headers(void **state) {
  (void)state;
  alloc_fail_install();
  for (long n = 1; n < 400; n++) {
    cmcp_client_t *cli;
    json_object *res, *args;
    char **lines;
    int st = 0;
    alloc_fail_arm(0);
    cli = http_client();
    res = parse("{\"tools\":[" TOOL("t", "\"a\":{\"type\":\"string\","
                                         "\"x-mcp-header\":\"A\"},"
                                         "\"b\":{\"type\":\"string\","
                                         "\"x-mcp-header\":\"B\"}") "]}");
    args = parse("{\"a\":\"\\u00e9\",\"b\":\"plain\"}");
    cmcp__client_take_tools(cli, res, 1);
    alloc_fail_arm(n);
    lines = cmcp__client_tool_headers(cli, "t", args, &st);
    alloc_fail_arm(0);
    assert_true(st == 0 || st == CMCP_ENOMEM);
    assert_true((lines != NULL) == (st == 0));
    cmcp__strv_free(lines);
    json_object_put(res);
    json_object_put(args);
    cmcp_client_free(cli);
    if (st == 0)
      break;
  }
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invalid_tools_dropped),
      cmocka_unit_test(test_param_headers),
      cmocka_unit_test(test_alloc_sweep_config),
      cmocka_unit_test(test_alloc_sweep_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
