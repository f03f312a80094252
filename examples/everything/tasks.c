/* tasks.c: the fixtures of the tasks extension scenarios
 * (io.modelcontextprotocol/tasks, SEP-2663; run with --scenario tasks-*).
 *
 * Each tool declares its task support in the Tool object's
 * execution.taskSupport; whether a call becomes a task is the engine's
 * decision, so the handlers below are plain handlers: they run the same
 * way inside a task as outside one.
 */
#include "everything.h"

#include <stdio.h>
#include <string.h>

/* greet: sync-only, "Hello, {name}!". */
static void greet(cmcp_call_t *call, void *data) {
  const char *name = "World";

  (void)data;
  cmcp_call_arg_string(call, "name", &name);
  ev_add_textf(call, "Hello, %s!", name);
  cmcp_call_done(call);
}

/* slow_compute: sleeps "seconds" seconds (0..600) on the worker pool,
 * stopping as soon as the call is cancelled. */
static void slow_compute(cmcp_call_t *call, void *data) {
  int64_t seconds = 0;
  const char *label = "";

  (void)data;
  cmcp_call_arg_int64(call, "seconds", &seconds);
  cmcp_call_arg_string(call, "label", &label);
  if (ev_sleep_ms(call, (long)seconds * 1000)) {
    cmcp_call_tool_error(call, "slow_compute was cancelled");
    return;
  }
  ev_add_textf(call, "slow_compute%s%s finished after %lld s",
               label[0] ? " " : "", label, (long long)seconds);
  cmcp_call_done(call);
}

/* failing_job: a tool execution error after about one second. */
static void failing_job(cmcp_call_t *call, void *data) {
  (void)data;
  ev_sleep_ms(call, 1000);
  cmcp_call_tool_error(call, "failing_job failed, as it always does");
}

/* protocol_error_job: fails with a JSON-RPC error, not a tool error. */
static void protocol_error_job(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR,
                  "protocol_error_job failed with an internal error", NULL);
}

#define EV_CONFIRM_SCHEMA                                                      \
  "{\"type\":\"object\",\"properties\":{\"confirm\":{\"type\":\"boolean\","    \
  "\"description\":\"Delete the file?\"}},\"required\":[\"confirm\"]}"

/* Ends a round of asks, or fails the call if an ask was refused. */
static void end_round(cmcp_call_t *call, int rc) {
  if (rc == 0)
    cmcp_call_need_input(call);
  else
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc), NULL);
}

/* 1 if an elicitation answer accepted with content.<field> == true. */
static int accepted_true(struct json_object *ans, const char *field) {
  struct json_object *content, *v;
  const char *action = ev_json_string(ans, "action");

  if (action == NULL || strcmp(action, "accept") != 0 ||
      !json_object_object_get_ex(ans, "content", &content) ||
      !json_object_object_get_ex(content, field, &v))
    return 0;
  return json_object_get_boolean(v);
}

/* confirm_delete: one elicitation, then "deleted" or "kept". */
static void confirm_delete(cmcp_call_t *call, void *data) {
  struct json_object *ans;
  const char *file = "file";
  char msg[512];

  (void)data;
  cmcp_call_arg_string(call, "filename", &file);
  ans = ev_elicit_answer(call, "confirm");
  if (ans == NULL) {
    snprintf(msg, sizeof(msg), "Delete %s?", file);
    end_round(call,
              cmcp_call_ask_elicit(call, "confirm", msg, EV_CONFIRM_SCHEMA));
    return;
  }
  ev_add_textf(call, "%s %s", file,
               accepted_true(ans, "confirm") ? "deleted" : "kept");
  cmcp_call_done(call);
}

#define EV_ANSWER_SCHEMA                                                       \
  "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}},"    \
  "\"required\":[\"answer\"]}"

/* multi_input: two elicitations pending at once; asks again only for the
 * ones still unanswered. */
static void multi_input(cmcp_call_t *call, void *data) {
  struct json_object *a = ev_elicit_answer(call, "first");
  struct json_object *b = ev_elicit_answer(call, "second");
  int rc = 0;

  (void)data;
  if (a != NULL && b != NULL) {
    ev_add_textf(call, "first=%s second=%s", ev_json_string(a, "action"),
                 ev_json_string(b, "action"));
    cmcp_call_done(call);
    return;
  }
  if (a == NULL)
    rc = cmcp_call_ask_elicit(call, "first", "First question?",
                              EV_ANSWER_SCHEMA);
  if (rc == 0 && b == NULL)
    rc = cmcp_call_ask_elicit(call, "second", "Second question?",
                              EV_ANSWER_SCHEMA);
  end_round(call, rc);
}

#define EV_NAME_SCHEMA                                                         \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"      \
  "\"required\":[\"name\"]}"

/* test_tool_with_task: asks for user_name (MRTR), then greets; the engine
 * turns the final round into a task (taskSupport required). */
static void tool_with_task(cmcp_call_t *call, void *data) {
  struct json_object *ans = ev_elicit_answer(call, "user_name");
  struct json_object *content;
  const char *name = NULL;

  (void)data;
  if (ans == NULL) {
    end_round(call, cmcp_call_ask_elicit(call, "user_name",
                                         "What is your name?", EV_NAME_SCHEMA));
    return;
  }
  if (json_object_object_get_ex(ans, "content", &content))
    name = ev_json_string(content, "name");
  ev_add_textf(call, "Hello, %s! (finished as a task)",
               name != NULL ? name : "stranger");
  cmcp_call_done(call);
}

#define EV_TASK_TOOL(name, desc, schema, support)                              \
  "{\"name\":\"" name "\",\"description\":\"" desc                             \
  "\",\"inputSchema\":" schema ",\"execution\":{\"taskSupport\":\"" support    \
  "\"}}"
#define EV_NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

static const struct {
  const char *json;
  unsigned flags;
  cmcp_handler_fn fn;
} tools[] = {
    {"{\"name\":\"greet\",\"description\":\"Greets by name (never a task).\","
     "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"name\":{"
     "\"type\":\"string\",\"description\":\"Who to greet\"}},"
     "\"required\":[\"name\"]}}",
     0, greet},
    {EV_TASK_TOOL("slow_compute",
                  "Sleeps the given number of seconds, then answers; stops "
                  "when cancelled.",
                  "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":"
                  "\"integer\",\"minimum\":0,\"maximum\":600},\"label\":{"
                  "\"type\":\"string\"}},\"required\":[\"seconds\"]}",
                  "optional"),
     CMCP_FEATURE_BLOCKING, slow_compute},
    {EV_TASK_TOOL("failing_job",
                  "Fails with a tool error after about one second.", EV_NO_ARGS,
                  "required"),
     CMCP_FEATURE_BLOCKING, failing_job},
    {EV_TASK_TOOL("protocol_error_job", "Fails with a JSON-RPC internal error.",
                  EV_NO_ARGS, "optional"),
     0, protocol_error_job},
    {EV_TASK_TOOL("confirm_delete", "Asks the user to confirm deleting a file.",
                  "{\"type\":\"object\",\"properties\":{\"filename\":{"
                  "\"type\":\"string\"}},\"required\":[\"filename\"]}",
                  "optional"),
     0, confirm_delete},
    {EV_TASK_TOOL("multi_input",
                  "Asks two questions at once (two pending inputs).",
                  EV_NO_ARGS, "optional"),
     0, multi_input},
    {EV_TASK_TOOL("test_tool_with_task",
                  "Asks for the user's name, then finishes as a task.",
                  EV_NO_ARGS, "required"),
     0, tool_with_task},
};

int ev_register_task_tools(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
    rc = cmcp_server_add_tool_json(srv, tools[i].json, tools[i].flags,
                                   tools[i].fn, NULL);
    if (rc != 0)
      return rc;
  }
  return 0;
}
