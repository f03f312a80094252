/* Unit tests for the client engine (src/client/client*.c) over the stdio
 * transport against the real cmcp-everything fixture server, in both
 * protocol eras: connecting, the typed calls, the synchronous calls,
 * pagination, the cache, progress and logging notifications, cancellation
 * and timeouts, sampling/elicitation/roots (legacy server->client requests
 * and 2026-07-28 MRTR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include <cmcp.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static char everything[PATH_MAX];

static int find_everything(void **state) {
  const char *bin = getenv("CMCP_BIN");
  (void)state;
  snprintf(everything, sizeof(everything), "%s/cmcp-everything",
           bin ? bin : "build/bin");
  return 0;
}

/* A client on a private loop spawning cmcp-everything --stdio, pinned to
 * version (NULL: negotiate). */
static cmcp_client_t *spawn(const char *version) {
  const char *argv[] = {everything, "--stdio", NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "test-client", "1.0");
  assert_non_null(cli);
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, version), 0);
  cmcp_client_set_timeout(cli, 10000);
  return cli;
}

static const char *text_of(json_object *result) {
  json_object *content = json_object_object_get(result, "content");
  json_object *first = json_object_array_get_idx(content, 0);
  return json_object_get_string(json_object_object_get(first, "text"));
}

static void connect_era(const char *version, const char *expect, int modern) {
  cmcp_client_t *cli = spawn(version);
  json_object *res = NULL;
  assert_int_equal(cmcp_client_connect_sync(cli, &res), 0);
  assert_non_null(res);
  json_object_put(res);
  assert_string_equal(cmcp_client_protocol_version(cli), expect);
  assert_int_equal(cmcp_client_is_modern(cli), modern);
  assert_non_null(cmcp_client_server_info(cli));
  assert_true(cmcp_client_server_has(cli, "tools"));
  assert_int_equal(
      cmcp_client_call_tool_sync(cli, "test_simple_text", NULL, &res), 0);
  assert_string_equal(text_of(res),
                      "This is a simple text response for testing.");
  json_object_put(res);
  cmcp_client_free(cli);
}

static void test_connect_modern(void **state) {
  (void)state;
  connect_era("2026-07-28", "2026-07-28", 1);
}

static void test_connect_legacy(void **state) {
  (void)state;
  connect_era("2025-11-25", "2025-11-25", 0);
}

static void test_connect_auto(void **state) {
  (void)state;
  connect_era(NULL, "2026-07-28", 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_modern),
      cmocka_unit_test(test_connect_legacy),
      cmocka_unit_test(test_connect_auto),
  };
  return cmocka_run_group_tests(tests, find_everything, NULL);
}
