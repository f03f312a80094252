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

#include "helper_alloc.h"
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

/* ---- a client on the test's own loop ---------------------------------- */

typedef struct outcome {
  int done;
  int status;
  json_object *result; /* a reference */
  int calls;
} outcome;

static void on_result(cmcp_client_t *cli, int status, json_object *result,
                      void *data) {
  outcome *o = data;
  (void)cli;
  o->done = 1;
  o->calls++;
  o->status = status;
  json_object_put(o->result);
  o->result = result ? json_object_get(result) : NULL;
}

/* Runs loop until *flag is set, for at most ms milliseconds. */
static void run_until(uv_loop_t *loop, const int *flag, uint64_t ms) {
  uint64_t end = uv_hrtime() / 1000000 + ms;
  while (!*flag && uv_hrtime() / 1000000 < end)
    uv_run(loop, UV_RUN_NOWAIT), uv_sleep(1);
  assert_true(*flag);
}

static void outcome_reset(outcome *o) {
  json_object_put(o->result);
  memset(o, 0, sizeof(*o));
}

typedef struct fixture {
  uv_loop_t loop;
  cmcp_client_t *cli;
  int notes, progress, logs, list_changed;
  int asks;
  char last_method[64];
} fixture;

static void on_note(cmcp_client_t *cli, const char *method, json_object *params,
                    void *data) {
  fixture *f = data;
  (void)cli;
  (void)params;
  f->notes++;
  snprintf(f->last_method, sizeof(f->last_method), "%s", method);
  if (strcmp(method, "notifications/progress") == 0)
    f->progress++;
  else if (strcmp(method, "notifications/message") == 0)
    f->logs++;
  else if (strstr(method, "list_changed"))
    f->list_changed++;
}

/* Answers every ask at once. */
static void answer_now(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  fixture *f = data;
  const char *m = cmcp_ask_method(ask);
  (void)cli;
  f->asks++;
  if (strcmp(m, "sampling/createMessage") == 0)
    assert_int_equal(
        cmcp_ask_reply(ask, "{\"role\":\"assistant\",\"content\":{\"type\":"
                            "\"text\",\"text\":\"Paris\"},\"model\":\"m\","
                            "\"stopReason\":\"endTurn\"}"),
        0);
  else if (strcmp(m, "elicitation/create") == 0)
    assert_int_equal(
        cmcp_ask_reply(ask, "{\"action\":\"accept\",\"content\":{\"name\":"
                            "\"Ada\",\"username\":\"ada\",\"email\":"
                            "\"ada@example.com\"}}"),
        0);
  else if (strcmp(m, "roots/list") == 0)
    assert_int_equal(
        cmcp_ask_reply(ask, "{\"roots\":[{\"uri\":\"file:///tmp/r1\"}]}"), 0);
  else
    assert_int_equal(cmcp_ask_reply_error(ask, -1, "unexpected"), 0);
}

static void fixture_up(fixture *f, const char *version, int with_asks) {
  const char *argv[] = {everything, "--stdio", NULL};
  outcome o = {0};
  memset(f, 0, sizeof(*f));
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->cli = cmcp_client_new(&f->loop, "test-client", "1.0");
  assert_non_null(f->cli);
  assert_int_equal(cmcp_client_set_stdio(f->cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_set_protocol(f->cli, version), 0);
  cmcp_client_set_timeout(f->cli, 10000);
  cmcp_client_on_notification(f->cli, on_note, f);
  if (with_asks) {
    assert_int_equal(cmcp_client_on_sampling(f->cli, answer_now, f), 0);
    assert_int_equal(
        cmcp_client_on_elicitation(f->cli, CMCP_ELICIT_FORM, answer_now, f), 0);
    assert_int_equal(cmcp_client_on_roots(f->cli, 1, answer_now, f), 0);
  }
  assert_int_equal(cmcp_client_connect(f->cli, on_result, &o), 0);
  assert_int_equal(o.done, 0); /* never inside the call that armed it */
  run_until(&f->loop, &o.done, 10000);
  assert_int_equal(o.status, 0);
  outcome_reset(&o);
}

static void fixture_down(fixture *f) {
  cmcp_client_free(f->cli);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Calls tool with args and waits for the answer. */
static void call(fixture *f, const char *tool, const char *args, unsigned flags,
                 outcome *o) {
  outcome_reset(o);
  assert_int_equal(
      cmcp_client_call_tool(f->cli, tool, args, flags, on_result, o, NULL), 0);
  run_until(&f->loop, &o->done, 10000);
}

static const char *const eras[] = {"2026-07-28", "2025-11-25"};

static void test_typed_calls(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    fixture f;
    outcome o = {0};
    fixture_up(&f, eras[e], 0);
#define WAIT_OK(expr)                                                          \
  do {                                                                         \
    outcome_reset(&o);                                                         \
    assert_int_equal((expr), 0);                                               \
    run_until(&f.loop, &o.done, 10000);                                        \
    assert_int_equal(o.status, 0);                                             \
  } while (0)
    WAIT_OK(cmcp_client_ping(f.cli, on_result, &o));
    WAIT_OK(cmcp_client_list_tools(f.cli, NULL, on_result, &o));
    assert_true(json_object_array_length(
                    json_object_object_get(o.result, "tools")) > 10);
    WAIT_OK(cmcp_client_list_resources(f.cli, NULL, on_result, &o));
    assert_non_null(json_object_object_get(o.result, "resources"));
    WAIT_OK(cmcp_client_list_resource_templates(f.cli, NULL, on_result, &o));
    assert_non_null(json_object_object_get(o.result, "resourceTemplates"));
    WAIT_OK(
        cmcp_client_read_resource(f.cli, "test://static-text", on_result, &o));
    assert_non_null(strstr(json_object_to_json_string(o.result),
                           "This is the content of the static text"));
    WAIT_OK(cmcp_client_list_prompts(f.cli, NULL, on_result, &o));
    assert_non_null(json_object_object_get(o.result, "prompts"));
    WAIT_OK(cmcp_client_get_prompt(f.cli, "test_prompt_with_arguments",
                                   "{\"arg1\":\"a\",\"arg2\":\"b\"}", on_result,
                                   &o));
    assert_non_null(
        strstr(json_object_to_json_string(o.result), "arg1='a', arg2='b'"));
    WAIT_OK(cmcp_client_complete(
        f.cli,
        "{\"type\":\"ref/prompt\",\"name\":\"test_prompt_with_arguments\"}",
        "arg1", "pa", NULL, on_result, &o));
    assert_non_null(strstr(json_object_to_json_string(o.result), "paris"));
    /* A tool's own failure is a result. */
    call(&f, "test_error_handling", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    assert_true(cmcp_result_is_tool_error(o.result));
    /* An unknown method is a JSON-RPC error with its object. */
    outcome_reset(&o);
    assert_int_equal(cmcp_client_request(f.cli, "no/such/method", "{}", 0, 0,
                                         on_result, &o, NULL),
                     0);
    run_until(&f.loop, &o.done, 10000);
    assert_int_equal(o.status, CMCP_ERPC);
    assert_int_equal(
        json_object_get_int(json_object_object_get(o.result, "code")),
        CMCP_JSONRPC_METHOD_NOT_FOUND);
    if (e == 0) {
      assert_int_equal(
          cmcp_client_set_log_level(f.cli, CMCP_LOG_INFO, on_result, &o),
          CMCP_EUNSUPPORTED);
      assert_int_equal(
          cmcp_client_subscribe(f.cli, "test://static-text", on_result, &o),
          CMCP_EUNSUPPORTED);
    } else {
      WAIT_OK(cmcp_client_set_log_level(f.cli, CMCP_LOG_INFO, on_result, &o));
      WAIT_OK(cmcp_client_subscribe(f.cli, "test://watched-resource", on_result,
                                    &o));
      WAIT_OK(cmcp_client_unsubscribe(f.cli, "test://watched-resource",
                                      on_result, &o));
    }
#undef WAIT_OK
    outcome_reset(&o);
    fixture_down(&f);
  }
}

static void test_asks_both_eras(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    fixture f;
    outcome o = {0};
    fixture_up(&f, eras[e], 1);
    call(&f, "test_sampling", "{\"prompt\":\"Capital of France?\"}", 0, &o);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(text_of(o.result), "Paris"));
    call(&f, "test_elicitation", "{\"message\":\"Who?\"}", 0, &o);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(text_of(o.result), "action=accept"));
    call(&f, "test_input_required_result_list_roots", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(text_of(o.result), "file:///tmp/r1"));
    call(&f, "test_input_required_result_multi_round", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    call(&f, "test_input_required_result_request_state", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(text_of(o.result), "state-ok"));
    assert_true(f.asks >= 5);
    outcome_reset(&o);
    fixture_down(&f);
  }
}

static void test_progress_and_logs(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    fixture f;
    outcome o = {0};
    fixture_up(&f, eras[e], 0);
    call(&f, "test_tool_with_progress", NULL, CMCP_REQ_PROGRESS, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(f.progress, 3);
    if (e == 0) {
      /* The 2026-07-28 wire: the request asks for logs in its _meta. */
      outcome_reset(&o);
      assert_int_equal(
          cmcp_client_request(
              f.cli, "tools/call",
              "{\"name\":\"test_tool_with_logging\",\"arguments\":{},"
              "\"_meta\":{\"io.modelcontextprotocol/logLevel\":\"info\"}}",
              0, 0, on_result, &o, NULL),
          0);
    } else {
      outcome_reset(&o);
      assert_int_equal(
          cmcp_client_set_log_level(f.cli, CMCP_LOG_INFO, on_result, &o), 0);
      run_until(&f.loop, &o.done, 10000);
      outcome_reset(&o);
      assert_int_equal(cmcp_client_call_tool(f.cli, "test_tool_with_logging",
                                             NULL, 0, on_result, &o, NULL),
                       0);
    }
    run_until(&f.loop, &o.done, 10000);
    assert_int_equal(o.status, 0);
    assert_int_equal(f.logs, 3);
    outcome_reset(&o);
    fixture_down(&f);
  }
}

static void test_cancel_and_timeout(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    fixture f;
    outcome o = {0}, t = {0};
    uint64_t req = 0, start;
    fixture_up(&f, eras[e], 0);
    start = uv_hrtime() / 1000000;
    assert_int_equal(cmcp_client_call_tool(f.cli, "slow_compute",
                                           "{\"seconds\":5}", 0, on_result, &o,
                                           &req),
                     0);
    assert_true(req != 0);
    assert_int_equal(cmcp_client_cancel(f.cli, req, "changed my mind"), 0);
    assert_int_equal(o.done, 0);
    assert_int_equal(cmcp_client_cancel(f.cli, req, NULL), CMCP_ENOENT);
    run_until(&f.loop, &o.done, 2000);
    assert_int_equal(o.status, CMCP_ECANCELED);
    assert_int_equal(cmcp_client_cancel(f.cli, req, NULL), CMCP_ENOENT);
    /* A per-request timeout. */
    assert_int_equal(cmcp_client_request(f.cli, "tools/call",
                                         "{\"name\":\"slow_compute\","
                                         "\"arguments\":{\"seconds\":5}}",
                                         200, 0, on_result, &t, NULL),
                     0);
    run_until(&f.loop, &t.done, 3000);
    assert_int_equal(t.status, CMCP_ETIMEDOUT);
    assert_true(uv_hrtime() / 1000000 - start < 3000);
    assert_non_null(strstr(cmcp_client_last_error(f.cli), "no answer"));
    /* The connection still works. */
    call(&f, "test_simple_text", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.calls, 1);
    outcome_reset(&o);
    outcome_reset(&t);
    fixture_down(&f);
  }
}

static void test_inflight_limit(void **state) {
  fixture f;
  outcome a = {0}, b = {0};
  (void)state;
  fixture_up(&f, "2026-07-28", 0);
  assert_int_equal(cmcp_client_set_limit(f.cli, CMCP_CLIENT_LIMIT_INFLIGHT, 1),
                   0);
  assert_int_equal(cmcp_client_call_tool(f.cli, "test_simple_text", NULL, 0,
                                         on_result, &a, NULL),
                   0);
  assert_int_equal(cmcp_client_call_tool(f.cli, "test_simple_text", NULL, 0,
                                         on_result, &b, NULL),
                   CMCP_ELIMIT);
  run_until(&f.loop, &a.done, 10000);
  assert_int_equal(a.status, 0);
  assert_int_equal(b.done, 0);
  outcome_reset(&a);
  fixture_down(&f);
}

/* Closing with requests in flight: each callback gets CMCP_ECANCELED. */
static void test_free_cancels_pending(void **state) {
  fixture f;
  outcome a = {0}, b = {0};
  (void)state;
  fixture_up(&f, "2025-11-25", 0);
  assert_int_equal(cmcp_client_call_tool(f.cli, "slow_compute",
                                         "{\"seconds\":5}", 0, on_result, &a,
                                         NULL),
                   0);
  assert_int_equal(cmcp_client_list_tools(f.cli, NULL, on_result, &b), 0);
  fixture_down(&f);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.status, CMCP_ECANCELED);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.status, CMCP_ECANCELED);
}

static void test_sync_calls(void **state) {
  cmcp_client_t *cli = spawn("2026-07-28");
  json_object *res = NULL;
  uv_loop_t loop;
  (void)state;
  assert_int_equal(cmcp_client_request_sync(cli, "tools/list", NULL, &res),
                   CMCP_ESTATE); /* not connected yet */
  assert_null(res);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_request_sync(cli, "tools/list", NULL, &res), 0);
  assert_non_null(json_object_object_get(res, "tools"));
  json_object_put(res);
  assert_int_equal(cmcp_client_request_sync(cli, "nope", "{}", &res),
                   CMCP_ERPC);
  assert_non_null(json_object_object_get(res, "code"));
  json_object_put(res);
  assert_int_equal(cmcp_client_request_sync(cli, "x", "[1]", &res),
                   CMCP_EINVAL);
  cmcp_client_free(cli);
  /* Synchronous calls belong to private loops. */
  assert_int_equal(uv_loop_init(&loop), 0);
  cli = cmcp_client_new(&loop, "c", "1");
  assert_int_equal(cmcp_client_connect_sync(cli, &res), CMCP_ESTATE);
  cmcp_client_free(cli);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_config_errors(void **state) {
  const char *argv[] = {everything, "--stdio", NULL};
  const char *empty[] = {NULL};
  cmcp_client_t *cli;
  outcome o = {0};
  (void)state;
  assert_null(cmcp_client_new(NULL, "", "1"));
  assert_null(cmcp_client_new(NULL, NULL, "1"));
  cli = cmcp_client_new(NULL, "c", NULL);
  assert_non_null(cli);
  assert_string_equal(cmcp_client_last_error(cli), "");
  assert_int_equal(cmcp_client_set_protocol(cli, "1999-01-01"),
                   CMCP_EUNSUPPORTED);
  assert_int_equal(cmcp_client_set_stdio(cli, empty, NULL, NULL), CMCP_EINVAL);
  assert_int_equal(cmcp_client_set_url(cli, "ftp://x"), CMCP_EINVAL);
  assert_int_equal(cmcp_client_add_header(cli, "Bad Name", "v"), CMCP_EINVAL);
  assert_int_equal(cmcp_client_add_header(cli, "X-A", "a\r\nb"), CMCP_EINVAL);
  assert_int_equal(cmcp_client_add_header(cli, "X-A", "b"), 0);
  assert_int_equal(cmcp_client_set_bearer(cli, ""), CMCP_EINVAL);
  assert_int_equal(cmcp_client_set_info_json(cli, "[]"), CMCP_EINVAL);
  assert_int_equal(cmcp_client_set_info_json(cli, "{\"name\":1}"), CMCP_EINVAL);
  assert_int_equal(cmcp_client_set_info_json(cli, "{\"title\":\"T\"}"), 0);
  assert_int_equal(cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_COUNT_, 1),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_INFLIGHT, 0),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_client_on_elicitation(cli, 0, answer_now, NULL),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_client_list_tools(cli, NULL, on_result, &o),
                   CMCP_ESTATE);
  assert_int_equal(cmcp_client_connect(cli, on_result, &o), CMCP_EINVAL);
  assert_non_null(strstr(cmcp_client_last_error(cli), "no server"));
  assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
  assert_int_equal(cmcp_client_connect_sync(cli, NULL), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, NULL), CMCP_ESTATE);
  assert_int_equal(cmcp_client_connect(cli, on_result, &o), CMCP_ESTATE);
  assert_int_equal(o.done, 0);
  assert_int_equal(cmcp_client_list_all(cli, "tools/call", 0, on_result, &o),
                   CMCP_EINVAL);
  assert_int_equal(
      cmcp_client_call_tool(cli, NULL, NULL, 0, on_result, &o, NULL),
      CMCP_EINVAL);
  assert_int_equal(
      cmcp_client_call_tool(cli, "t", "not json", 0, on_result, &o, NULL),
      CMCP_EPARSE);
  cmcp_client_free(cli);
  cmcp_client_free(NULL);
}

static void test_listen_both_eras(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    fixture f;
    outcome l = {0}, o = {0};
    uint64_t req = 0;
    fixture_up(&f, eras[e], 0);
    assert_int_equal(cmcp_client_set_timeout(f.cli, 200), 0);
    assert_int_equal(cmcp_client_listen(f.cli, NULL, on_result, &l, &req), 0);
    /* A stream: the per-request timeout does not apply to it. */
    for (uint64_t end = uv_hrtime() / 1000000 + 600;
         uv_hrtime() / 1000000 < end;)
      uv_run(&f.loop, UV_RUN_NOWAIT), uv_sleep(5);
    assert_int_equal(l.done, 0);
    assert_int_equal(cmcp_client_set_timeout(f.cli, 10000), 0);
    /* Give a modern server the time to acknowledge the subscription. */
    call(&f, "test_simple_text", NULL, 0, &o);
    call(&f, "test_trigger_tool_change", NULL, 0, &o);
    assert_int_equal(o.status, 0);
    run_until(&f.loop, &f.list_changed, 5000);
    assert_int_equal(l.done, 0);
    assert_int_equal(cmcp_client_cancel(f.cli, req, NULL), 0);
    run_until(&f.loop, &l.done, 5000);
    assert_int_equal(l.status, CMCP_ECANCELED);
    outcome_reset(&o);
    outcome_reset(&l);
    fixture_down(&f);
  }
}

/* Asks answered later, from a timer: the handler must not block. */
typedef struct later {
  uv_timer_t timer;
  cmcp_ask_t *ask;
  int answered;
} later;

static void later_fire(uv_timer_t *t) {
  later *l = t->data;
  assert_int_equal(
      cmcp_ask_reply(l->ask, "{\"action\":\"accept\",\"content\":{\"name\":"
                             "\"Later\"}}"),
      0);
  l->answered++;
}

static void answer_later(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  later *l = data;
  (void)cli;
  assert_string_equal(cmcp_ask_method(ask), "elicitation/create");
  assert_non_null(cmcp_ask_params(ask));
  l->ask = ask;
  uv_timer_start(&l->timer, later_fire, 20, 0);
}

static void test_ask_answered_later(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    const char *argv[] = {everything, "--stdio", NULL};
    uv_loop_t loop;
    later l = {0};
    outcome o = {0};
    cmcp_client_t *cli;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &l.timer);
    l.timer.data = &l;
    cli = cmcp_client_new(&loop, "c", "1");
    assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
    assert_int_equal(cmcp_client_set_protocol(cli, eras[e]), 0);
    assert_int_equal(
        cmcp_client_on_elicitation(cli, CMCP_ELICIT_FORM, answer_later, &l), 0);
    assert_int_equal(cmcp_client_connect(cli, on_result, &o), 0);
    run_until(&loop, &o.done, 10000);
    assert_int_equal(o.status, 0);
    outcome_reset(&o);
    assert_int_equal(cmcp_client_call_tool(cli,
                                           "test_input_required_result_"
                                           "elicitation",
                                           NULL, 0, on_result, &o, NULL),
                     0);
    run_until(&loop, &o.done, 10000);
    assert_int_equal(o.status, 0);
    assert_string_equal(text_of(o.result), "Hello, Later!");
    assert_int_equal(l.answered, 1);
    outcome_reset(&o);
    cmcp_client_free(cli);
    uv_close((uv_handle_t *)&l.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
  }
}

/* An ask still unanswered when the client closes: the reply is accepted
 * (and dropped) afterwards. */
static cmcp_ask_t *kept_ask;

static void keep_ask(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  int *n = data;
  (void)cli;
  (*n)++;
  kept_ask = ask;
}

static void test_ask_outlives_client(void **state) {
  (void)state;
  for (size_t e = 0; e < 2; e++) {
    const char *argv[] = {everything, "--stdio", NULL};
    uv_loop_t loop;
    outcome o = {0};
    int asked = 0;
    cmcp_client_t *cli;
    assert_int_equal(uv_loop_init(&loop), 0);
    cli = cmcp_client_new(&loop, "c", "1");
    assert_int_equal(cmcp_client_set_stdio(cli, argv, NULL, NULL), 0);
    assert_int_equal(cmcp_client_set_protocol(cli, eras[e]), 0);
    assert_int_equal(cmcp_client_on_roots(cli, 1, keep_ask, &asked), 0);
    assert_int_equal(cmcp_client_connect(cli, on_result, &o), 0);
    run_until(&loop, &o.done, 10000);
    outcome_reset(&o);
    if (e == 1)
      assert_int_equal(cmcp_client_roots_changed(cli), 0);
    assert_int_equal(cmcp_client_call_tool(cli,
                                           "test_input_required_result_"
                                           "list_roots",
                                           NULL, 0, on_result, &o, NULL),
                     0);
    run_until(&loop, &asked, 10000);
    cmcp_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.status, CMCP_ECANCELED);
    assert_int_equal(cmcp_ask_reply(kept_ask, "{\"roots\":[]}"), 0);
    outcome_reset(&o);
    assert_int_equal(uv_loop_close(&loop), 0);
  }
}

/* cmcp_client_free from inside a callback, on the caller's loop. */
static void free_in_cb(cmcp_client_t *cli, int status, json_object *result,
                       void *data) {
  int *n = data;
  (void)status;
  (void)result;
  (*n)++;
  cmcp_client_free(cli);
}

static void test_free_inside_callback(void **state) {
  fixture f;
  outcome other = {0};
  int n = 0;
  (void)state;
  fixture_up(&f, "2026-07-28", 0);
  assert_int_equal(cmcp_client_call_tool(f.cli, "test_simple_text", NULL, 0,
                                         free_in_cb, &n, NULL),
                   0);
  assert_int_equal(cmcp_client_call_tool(f.cli, "slow_compute",
                                         "{\"seconds\":5}", 0, on_result,
                                         &other, NULL),
                   0);
  run_until(&f.loop, &n, 10000);
  uv_run(&f.loop, UV_RUN_DEFAULT); /* the client's handles close */
  assert_int_equal(n, 1);
  assert_int_equal(other.status, CMCP_ECANCELED);
  outcome_reset(&other);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* Fails each allocation of a request in turn on a connected client: the
 * call returns CMCP_ENOMEM (its callback never runs) or succeeds and is
 * answered; the connection keeps working. */
static int api_call(cmcp_client_t *cli, outcome *o) {
  return cmcp_client_call_tool(cli, "test_simple_text", "{\"a\":[1,2]}",
                               CMCP_REQ_PROGRESS, on_result, o, NULL);
}

static int api_list_all(cmcp_client_t *cli, outcome *o) {
  return cmcp_client_list_all(cli, "prompts/list", 0, on_result, o);
}

static int api_complete(cmcp_client_t *cli, outcome *o) {
  return cmcp_client_complete(
      cli, "{\"type\":\"ref/prompt\",\"name\":\"test_prompt_with_arguments\"}",
      "arg1", "p", "{\"arg2\":\"x\"}", on_result, o);
}

static int api_listen(cmcp_client_t *cli, outcome *o) {
  uint64_t req = 0;
  int st = cmcp_client_listen(cli, NULL, on_result, o, &req);
  if (st == 0)
    assert_int_equal(cmcp_client_cancel(cli, req, NULL), 0);
  return st;
}

static void test_alloc_sweep_requests(void **state) {
  int (*apis[])(cmcp_client_t *, outcome *) = {api_call, api_list_all,
                                               api_complete, api_listen};
  fixture f;
  outcome o = {0};
  (void)state;
  fixture_up(&f, "2026-07-28", 0);
  alloc_fail_install();
  for (size_t a = 0; a < sizeof(apis) / sizeof(apis[0]); a++) {
    int finished = 0;
    for (long n = 1; n < 400 && !finished; n++) {
      long used;
      int st;
      outcome_reset(&o);
      alloc_fail_arm(n);
      st = apis[a](f.cli, &o);
      used = alloc_fail_count();
      alloc_fail_arm(0);
      assert_true(st == 0 || st == CMCP_ENOMEM);
      if (st != 0) {
        for (int i = 0; i < 5; i++)
          uv_run(&f.loop, UV_RUN_NOWAIT);
        assert_int_equal(o.calls, 0);
        continue;
      }
      run_until(&f.loop, &o.done, 10000);
      assert_true(o.status == 0 || o.status == CMCP_ECANCELED);
      finished = used < n;
    }
    assert_true(finished);
  }
  alloc_fail_uninstall();
  call(&f, "test_simple_text", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  outcome_reset(&o);
  fixture_down(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_modern),
      cmocka_unit_test(test_connect_legacy),
      cmocka_unit_test(test_connect_auto),
      cmocka_unit_test(test_typed_calls),
      cmocka_unit_test(test_asks_both_eras),
      cmocka_unit_test(test_progress_and_logs),
      cmocka_unit_test(test_cancel_and_timeout),
      cmocka_unit_test(test_inflight_limit),
      cmocka_unit_test(test_free_cancels_pending),
      cmocka_unit_test(test_sync_calls),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_listen_both_eras),
      cmocka_unit_test(test_ask_answered_later),
      cmocka_unit_test(test_ask_outlives_client),
      cmocka_unit_test(test_free_inside_callback),
      cmocka_unit_test(test_alloc_sweep_requests),
  };
  return cmocka_run_group_tests(tests, find_everything, NULL);
}
