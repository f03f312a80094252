/* Unit tests for the client's stdio transport (src/client/stdio.c) and the
 * engine's handling of bad servers: real processes (python3 running
 * tests/integration/client_fake_server.py, or sh), bounded in time. Each
 * misbehaviour ends in a clear error or a timeout, never a crash or hang:
 * truncated JSON, answers to unknown ids, non-JSON lines, a line over the
 * message limit, a server that hangs, one that exits, one that ignores EOF
 * and SIGTERM. Also the era probe against legacy servers, the MRTR rules
 * (requestState echoed exactly, omitted when absent, an absent resultType
 * is "complete"), pagination and the ttlMs cache. */
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

static char fake[PATH_MAX];

static int find_fake(void **state) {
  const char *src = getenv("CMCP_SRC");
  (void)state;
  snprintf(fake, sizeof(fake), "%s/tests/integration/client_fake_server.py",
           src ? src : ".");
  return 0;
}

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

/* A client on a private loop spawning the fake server in mode. */
static cmcp_client_t *fake_client(const char *mode, const char *version,
                                  uint64_t timeout_ms) {
  const char *argv[] = {"python3", fake, mode, NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "test-client", "1.0");
  assert_non_null(cli);
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, version), 0);
  assert_int_equal(cmcp_client_set_timeout(cli, timeout_ms), 0);
  return cli;
}

static void ignore_cb(cmcp_client_t *cli, int status, json_object *result,
                      void *data) {
  (void)cli;
  (void)status;
  (void)result;
  (void)data;
}

static const char *text_of(json_object *result) {
  json_object *content = json_object_object_get(result, "content");
  json_object *first = json_object_array_get_idx(content, 0);
  return json_object_get_string(json_object_object_get(first, "text"));
}

/* Calls tool synchronously; returns the status, *text its first text. */
static int call_text(cmcp_client_t *cli, const char *tool, char *text,
                     size_t len) {
  json_object *res = NULL;
  int st = cmcp_client_call_tool_sync(cli, tool, NULL, &res);
  text[0] = '\0';
  if (st == 0 && text_of(res))
    snprintf(text, len, "%s", text_of(res));
  json_object_put(res);
  return st;
}

/* ---- era probing ------------------------------------------------------- */

static void test_probe_legacy_error(void **state) {
  cmcp_client_t *cli = fake_client("legacy", NULL, 30000);
  char text[4096];
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_string_equal(cmcp_client_protocol_version(cli), "2025-11-25");
  assert_int_equal(cmcp_client_is_modern(cli), 0);
  assert_string_equal(cmcp_client_instructions(cli), "be nice");
  assert_true(cmcp_client_server_has(cli, "tools.listChanged"));
  assert_false(cmcp_client_server_has(cli, "prompts"));
  assert_int_equal(call_text(cli, "seen", text, sizeof(text)), 0);
  /* discover, then initialize and notifications/initialized, in order. */
  assert_non_null(strstr(text, "\"server/discover\""));
  assert_true(strstr(text, "\"initialize\"") > strstr(text, "server/discover"));
  assert_non_null(strstr(text, "notifications/initialized"));
  assert_null(
      strstr(text, "io.modelcontextprotocol/protocolVersion\": \"2025"));
  cmcp_client_free(cli);
}

/* A legacy server in sh (quick to start even on a loaded machine): reads
 * the probe (id 1) and then initialize (id 2), answering only the latter
 * after printing first_line. */
static cmcp_client_t *sh_legacy(const char *first_line, uint64_t timeout_ms) {
  char script[1024];
  const char *argv[] = {"sh", "-c", script, NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "c", "1");
  snprintf(script, sizeof(script),
           "read probe; printf '%%s' '%s'; read init; "
           "printf '%%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":"
           "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
           "\"serverInfo\":{\"name\":\"sh\",\"version\":\"1\"}}}'; "
           "cat >/dev/null",
           first_line);
  assert_non_null(cli);
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_set_timeout(cli, timeout_ms), 0);
  return cli;
}

static void test_probe_silent_legacy(void **state) {
  cmcp_client_t *cli = sh_legacy("", 500);
  uint64_t t0 = now_ms();
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_string_equal(cmcp_client_protocol_version(cli), "2025-11-25");
  assert_true(now_ms() - t0 >= 450);
  cmcp_client_free(cli);
}

static void test_probe_unsupported_version(void **state) {
  cmcp_client_t *cli = fake_client("v32022_legacy", NULL, 30000);
  json_object *res = NULL;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_string_equal(cmcp_client_protocol_version(cli), "2025-11-25");
  cmcp_client_free(cli);
  /* -32022 naming our version: the same request is retried once. */
  cli = fake_client("v32022_modern", NULL, 30000);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_string_equal(cmcp_client_protocol_version(cli), "2026-07-28");
  cmcp_client_free(cli);
  /* No version in common: the error is the connect's answer. */
  cli = fake_client("v32022_none", NULL, 30000);
  assert_int_equal(cmcp_client_connect_sync(cli, &res), CMCP_ERPC);
  assert_int_equal(json_object_get_int(json_object_object_get(res, "code")),
                   -32022);
  json_object_put(res);
  assert_non_null(strstr(cmcp_client_last_error(cli), "no protocol version"));
  assert_int_equal(cmcp_client_request_sync(cli, "ping", NULL, NULL),
                   CMCP_ECLOSED);
  cmcp_client_free(cli);
}

static void test_pinned_modern_no_fallback(void **state) {
  cmcp_client_t *cli = fake_client("legacy", "2026-07-28", 30000);
  json_object *res = NULL;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, &res), CMCP_ERPC);
  json_object_put(res);
  cmcp_client_free(cli);
  cli = fake_client("init_unknown_version", "2025-06-18", 30000);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), CMCP_EUNSUPPORTED);
  assert_non_null(strstr(cmcp_client_last_error(cli), "1999-01-01"));
  cmcp_client_free(cli);
}

/* ---- bad input --------------------------------------------------------- */

static void test_truncated_json_times_out(void **state) {
  cmcp_client_t *cli = fake_client("truncated", NULL, 30000);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_set_timeout(cli, 400), 0);
  assert_int_equal(cmcp_client_request_sync(cli, "tools/list", NULL, NULL),
                   CMCP_ETIMEDOUT);
  cmcp_client_free(cli);
}

static void test_bad_result_fails_at_once(void **state) {
  cmcp_client_t *cli = fake_client("bad_result", NULL, 30000);
  uint64_t t0;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  t0 = now_ms();
  assert_int_equal(cmcp_client_call_tool_sync(cli, "x", NULL, NULL),
                   CMCP_EPROTO);
  assert_true(now_ms() - t0 < 10000);
  assert_non_null(strstr(cmcp_client_last_error(cli), "result must be"));
  cmcp_client_free(cli);
}

static void test_discover_garbage_falls_back(void **state) {
  /* A probe answered with garbage gets no answer: timeout, then legacy. */
  cmcp_client_t *cli = sh_legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"res\n", 500);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_string_equal(cmcp_client_protocol_version(cli), "2025-11-25");
  assert_non_null(strstr(cmcp_client_last_error(cli), "no answer"));
  cmcp_client_free(cli);
}

static void test_unknown_ids_and_nonjson_ignored(void **state) {
  const char *modes[] = {"unknown_id", "nonjson"};
  (void)state;
  for (size_t i = 0; i < 2; i++) {
    cmcp_client_t *cli = fake_client(modes[i], NULL, 30000);
    char text[256];
    assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
    assert_int_equal(call_text(cli, "x", text, sizeof(text)), 0);
    assert_string_equal(text, "called x");
    cmcp_client_free(cli);
  }
}

static void test_huge_line_fails_clearly(void **state) {
  cmcp_client_t *cli = fake_client("huge", NULL, 30000);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_request_sync(cli, "tools/list", NULL, NULL),
                   CMCP_ELIMIT);
  assert_non_null(strstr(cmcp_client_last_error(cli), "longer than"));
  assert_int_equal(cmcp_client_request_sync(cli, "ping", NULL, NULL),
                   CMCP_ECLOSED);
  cmcp_client_free(cli);
}

static void test_hanging_server_times_out(void **state) {
  cmcp_client_t *cli = fake_client("hang", NULL, 30000);
  uint64_t t0;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_set_timeout(cli, 300), 0);
  t0 = now_ms();
  assert_int_equal(cmcp_client_call_tool_sync(cli, "x", NULL, NULL),
                   CMCP_ETIMEDOUT);
  assert_true(now_ms() - t0 < 2000);
  cmcp_client_free(cli);
}

static void test_exiting_server(void **state) {
  cmcp_client_t *cli = fake_client("exit", NULL, 30000);
  uint64_t t0;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  t0 = now_ms();
  assert_int_equal(cmcp_client_call_tool_sync(cli, "x", NULL, NULL),
                   CMCP_ECLOSED);
  assert_true(now_ms() - t0 < 3000);
  assert_non_null(strstr(cmcp_client_last_error(cli), "exited with status 3"));
  assert_int_equal(cmcp_client_call_tool_sync(cli, "x", NULL, NULL),
                   CMCP_ECLOSED);
  cmcp_client_free(cli);
}

static void test_missing_program(void **state) {
  const char *argv[] = {"/nonexistent/cmcp-no-such-server", NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "c", "1");
  (void)state;
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), CMCP_EIO);
  assert_non_null(strstr(cmcp_client_last_error(cli), "cannot start"));
  cmcp_client_free(cli);
}

static void test_env_and_cwd(void **state) {
  const char *argv[] = {"sh", "-c",
                        "read line; printf '%s\\n' \"{\\\"jsonrpc\\\":\\\"2.0\\"
                        "\",\\\"id\\\":1,\\\"error\\\":{\\\"code\\\":-32601,"
                        "\\\"message\\\":\\\"$CMCP_T_VAR $(pwd)\\\"}}\"",
                        NULL};
  const char *env[] = {"CMCP_T_VAR=hello", "PATH=/usr/bin:/bin", NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "c", "1");
  json_object *res = NULL;
  (void)state;
  assert_int_equal(cmcp_client_set_stdio(cli, argv, env, "/tmp"), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2026-07-28"), 0);
  assert_int_equal(cmcp_client_connect_sync(cli, &res), CMCP_ERPC);
  assert_string_equal(
      json_object_get_string(json_object_object_get(res, "message")),
      "hello /tmp");
  json_object_put(res);
  cmcp_client_free(cli);
}

static void test_close_escalates_to_kill(void **state) {
  cmcp_client_t *cli = fake_client("ignore_term", NULL, 30000);
  uint64_t t0;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  t0 = now_ms();
  cmcp_client_free(cli); /* EOF, 2 s, SIGTERM (ignored), 2 s, SIGKILL */
  assert_true(now_ms() - t0 >= 3500);
  assert_true(now_ms() - t0 < 8000);
}

static void test_close_on_eof_is_quick(void **state) {
  cmcp_client_t *cli = fake_client("normal", NULL, 30000);
  uint64_t t0;
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  t0 = now_ms();
  cmcp_client_free(cli);
  assert_true(now_ms() - t0 < 1500);
}

/* A server that stops reading: the unsent bytes are bounded (four times
 * the message limit, at least 1 MiB) and a request past the bound is
 * refused with CMCP_ELIMIT at once. */
static void test_write_queue_bounded(void **state) {
  const char *argv[] = {
      "sh", "-c",
      "read probe; printf '%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":"
      "{\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\","
      "\"supportedVersions\":[\"2026-07-28\"],\"capabilities\":{}}}'; "
      "exec sleep 30",
      NULL};
  cmcp_client_t *cli = cmcp_client_new(NULL, "c", "1");
  static char params[70000];
  int st = 0, sent = 0;
  (void)state;
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2026-07-28"), 0);
  assert_int_equal(
      cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_MESSAGE_BYTES, 65536), 0);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  memset(params, 'x', sizeof(params));
  memcpy(params, "{\"p\":\"", 6);
  memcpy(params + 60000, "\"}", 3);
  for (int i = 0; i < 100 && st == 0; i++)
    if ((st = cmcp_client_request(cli, "x/y", params, 0, 0, ignore_cb, NULL,
                                  NULL)) == 0)
      sent++;
  assert_int_equal(st, CMCP_ELIMIT);
  assert_true(sent >= 10 && sent <= 20);
  cmcp_client_free(cli); /* EOF is not read: SIGTERM ends it */
}

/* ---- legacy server->client requests ------------------------------------ */

static void test_server_requests_answered(void **state) {
  cmcp_client_t *cli = fake_client("request_from_server", NULL, 30000);
  char text[8192];
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  /* The fake server logs the client's answers; wait (bounded) for four. */
  for (int i = 0; i < 50; i++) {
    assert_int_equal(call_text(cli, "seen", text, sizeof(text)), 0);
    if (strstr(text, "\"bad\""))
      break;
    uv_sleep(20);
  }
  /* ping: an empty result; unknown methods and sampling without a handler:
   * -32601; a request whose method is not a string: -32600. */
  assert_non_null(strstr(text, "\"id\": \"p1\", \"result\": {}"));
  assert_non_null(strstr(text, "\"id\": \"u1\", \"error\": {\"code\": -32601"));
  assert_non_null(strstr(text, "\"id\": 7, \"error\": {\"code\": -32601"));
  assert_non_null(strstr(text, "\"id\": \"bad\", \"error\": {\"code\": -3260"));
  cmcp_client_free(cli);
}

/* 2026-07-28: a server request is dropped, never answered. */
static void test_modern_server_request_ignored(void **state) {
  cmcp_client_t *cli = fake_client("modern_request", NULL, 30000);
  char text[8192];
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_request_sync(cli, "ping", NULL, NULL), 0);
  assert_int_equal(call_text(cli, "seen", text, sizeof(text)), 0);
  assert_null(strstr(text, "\"m1\""));
  assert_non_null(strstr(text, "\"ping\""));
  cmcp_client_free(cli);
}

/* ---- MRTR -------------------------------------------------------------- */

static void accept_all(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  int *asks = data;
  (void)cli;
  (*asks)++;
  if (strcmp(cmcp_ask_method(ask), "roots/list") == 0)
    assert_int_equal(cmcp_ask_reply(ask, "{\"roots\":[]}"), 0);
  else if (strcmp(cmcp_ask_method(ask), "sampling/createMessage") == 0)
    assert_int_equal(cmcp_ask_reply_error(ask, -1, "no model here"), 0);
  else
    assert_int_equal(
        cmcp_ask_reply(ask,
                       "{\"action\":\"accept\",\"content\":{\"ok\":true}}"),
        0);
}

static void test_mrtr_rules(void **state) {
  cmcp_client_t *cli = fake_client("normal", NULL, 30000);
  json_object *res = NULL;
  char text[4096];
  int asks = 0;
  (void)state;
  assert_int_equal(
      cmcp_client_on_elicitation(cli, CMCP_ELICIT_FORM, accept_all, &asks), 0);
  assert_int_equal(cmcp_client_on_roots(cli, 0, accept_all, &asks), 0);
  assert_int_equal(cmcp_client_on_sampling(cli, accept_all, &asks), 0);
  assert_int_equal(cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_MRTR_ROUNDS, 3),
                   0);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(call_text(cli, "echo_state", text, sizeof(text)), 0);
  assert_string_equal(text, "state-ok");
  assert_int_equal(call_text(cli, "no_state", text, sizeof(text)), 0);
  assert_string_equal(text, "no-state-ok");
  assert_int_equal(call_text(cli, "state_only", text, sizeof(text)), 0);
  assert_string_equal(text, "state-only-ok");
  assert_int_equal(call_text(cli, "no_type", text, sizeof(text)), 0);
  assert_string_equal(text, "no-type-ok");
  assert_int_equal(asks, 2);
  assert_int_equal(cmcp_client_call_tool_sync(cli, "bad_type", NULL, NULL),
                   CMCP_EPROTO);
  assert_int_equal(cmcp_client_call_tool_sync(cli, "forever", NULL, NULL),
                   CMCP_EPROTO);
  assert_non_null(strstr(cmcp_client_last_error(cli), "rounds"));
  /* A handler's error ends the request with it. */
  assert_int_equal(cmcp_client_call_tool_sync(cli, "ask_sampling", NULL, &res),
                   CMCP_ERPC);
  assert_string_equal(
      json_object_get_string(json_object_object_get(res, "message")),
      "no model here");
  json_object_put(res);
  /* Every attempt used a fresh id, and the unrelated call carried no MRTR
   * fields. */
  assert_int_equal(call_text(cli, "seen", text, sizeof(text)), 0);
  assert_null(strstr(text, "\"requestState\": \"again\"}, {\"method\": "
                           "\"tools/call\", \"id\": 1"));
  cmcp_client_free(cli);
}

static void test_mrtr_undeclared_ask(void **state) {
  cmcp_client_t *cli = fake_client("normal", NULL, 30000);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_call_tool_sync(cli, "echo_state", NULL, NULL),
                   CMCP_EPROTO);
  assert_non_null(strstr(cmcp_client_last_error(cli), "did not declare"));
  cmcp_client_free(cli);
}

/* ---- pagination and the cache ------------------------------------------ */

typedef struct outcome {
  int done, status;
  json_object *result;
} outcome;

static void on_result(cmcp_client_t *cli, int status, json_object *result,
                      void *data) {
  outcome *o = data;
  (void)cli;
  o->done = 1;
  o->status = status;
  o->result = result ? json_object_get(result) : NULL;
}

static size_t list_all(cmcp_client_t *cli, size_t max) {
  outcome o = {0};
  size_t n;
  assert_int_equal(cmcp_client_list_all(cli, "tools/list", max, on_result, &o),
                   0);
  assert_int_equal(o.done, 0);
  while (!o.done)
    uv_run(cmcp_client_loop(cli), UV_RUN_ONCE);
  assert_int_equal(o.status, 0);
  n = json_object_array_length(json_object_object_get(o.result, "tools"));
  json_object_put(o.result);
  return n;
}

static void test_list_all_pages(void **state) {
  cmcp_client_t *cli = fake_client("normal", NULL, 30000);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(list_all(cli, 0), 5);
  assert_int_equal(list_all(cli, 3), 3);
  cmcp_client_free(cli);
}

/* The number in the "countN" tool of a cached tools/list. */
static int list_count(cmcp_client_t *cli, unsigned flags) {
  outcome o = {0};
  json_object *tools;
  const char *name;
  int n;
  assert_int_equal(cmcp_client_request(cli, "tools/list", NULL, 0, flags,
                                       on_result, &o, NULL),
                   0);
  while (!o.done)
    uv_run(cmcp_client_loop(cli), UV_RUN_ONCE);
  assert_int_equal(o.status, 0);
  tools = json_object_object_get(o.result, "tools");
  name = json_object_get_string(json_object_object_get(
      json_object_array_get_idx(tools, json_object_array_length(tools) - 1),
      "name"));
  n = atoi(name + 5);
  json_object_put(o.result);
  return n;
}

static void test_cache(void **state) {
  cmcp_client_t *cli = fake_client("cache", NULL, 30000);
  (void)state;
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(list_count(cli, 0), 1);
  assert_int_equal(list_count(cli, 0), 1); /* a hit */
  assert_int_equal(list_count(cli, CMCP_REQ_NO_CACHE), 2);
  /* The ping's answer comes after the notification that followed. */
  assert_int_equal(cmcp_client_request_sync(cli, "ping", NULL, NULL), 0);
  /* The server said tools/list_changed after the second: stale now. */
  assert_int_equal(list_count(cli, 0), 3);
  assert_int_equal(list_count(cli, 0), 3);
  assert_int_equal(cmcp_client_set_cache(cli, 0), 0);
  assert_int_equal(list_count(cli, 0), 4);
  cmcp_client_free(cli);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe_legacy_error),
      cmocka_unit_test(test_probe_silent_legacy),
      cmocka_unit_test(test_probe_unsupported_version),
      cmocka_unit_test(test_pinned_modern_no_fallback),
      cmocka_unit_test(test_truncated_json_times_out),
      cmocka_unit_test(test_bad_result_fails_at_once),
      cmocka_unit_test(test_discover_garbage_falls_back),
      cmocka_unit_test(test_unknown_ids_and_nonjson_ignored),
      cmocka_unit_test(test_huge_line_fails_clearly),
      cmocka_unit_test(test_hanging_server_times_out),
      cmocka_unit_test(test_exiting_server),
      cmocka_unit_test(test_missing_program),
      cmocka_unit_test(test_env_and_cwd),
      cmocka_unit_test(test_close_escalates_to_kill),
      cmocka_unit_test(test_close_on_eof_is_quick),
      cmocka_unit_test(test_write_queue_bounded),
      cmocka_unit_test(test_server_requests_answered),
      cmocka_unit_test(test_modern_server_request_ignored),
      cmocka_unit_test(test_mrtr_rules),
      cmocka_unit_test(test_mrtr_undeclared_ask),
      cmocka_unit_test(test_list_all_pages),
      cmocka_unit_test(test_cache),
  };
  return cmocka_run_group_tests(tests, find_fake, NULL);
}
