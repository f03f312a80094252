/* tests/unit/test_engine_tasks.c: tasks on the MCP engine, in the
 * 2025-11-25 core (task-augmented tools/call, tasks/get, tasks/result,
 * tasks/list, tasks/cancel, notifications/tasks/status) and the
 * 2026-07-28 extension io.modelcontextprotocol/tasks (server-directed
 * creation, DetailedTask, tasks/update, -32021 gating). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_alloc.h"
#include "helper_engine.h"
#include "helper_spec.h"
#include "proto/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V1 "2025-11-25"
#define V2 "2026-07-28"
#define EXT "io.modelcontextprotocol/tasks"
#define RELATED "io.modelcontextprotocol/related-task"
#define ELICIT_CAPS "{\"elicitation\":{}}"
#define EXT_CAPS "{\"elicitation\":{},\"extensions\":{\"" EXT "\":{}}}"

/* ---- fixtures --------------------------------------------------------- */

static cmcp_call_t *parked[8];
static int nparked;

/* "fail": "tool" -> tool error, "rpc" -> JSON-RPC error, else a result. */
static void quick(cmcp_call_t *call, void *data) {
  const char *fail = "";
  (void)data;
  cmcp_call_arg_string(call, "fail", &fail);
  if (strcmp(fail, "tool") == 0) {
    cmcp_call_tool_error(call, "quick failed");
  } else if (strcmp(fail, "rpc") == 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, "quick broke",
                    "{\"why\":\"asked to\"}");
  } else {
    cmcp_call_add_text(call, "quick done");
    cmcp_call_done(call);
  }
}

/* Keeps the call open until the test finishes it. */
static void park(cmcp_call_t *call, void *data) {
  (void)data;
  assert_true(nparked < 8);
  parked[nparked++] = call;
}

static void sleepy(cmcp_call_t *call, void *data) {
  (void)data;
  usleep(20000);
  cmcp_call_add_text(call, "slept");
  cmcp_call_done(call);
}

#define NAME_SCHEMA                                                            \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}"

/* Asks for "name" (or "a" and "b" when data is non-NULL), then greets. */
static void asker(cmcp_call_t *call, void *data) {
  json_object *a = cmcp_call_input(call, data ? "a" : "name");
  json_object *b = data ? cmcp_call_input(call, "b") : a;
  char text[200];
  if (a != NULL && b != NULL) {
    snprintf(text, sizeof(text), "Hello, %s!",
             jstr(a, "content.name") ? jstr(a, "content.name") : "?");
    cmcp_call_add_text(call, text);
    cmcp_call_done(call);
    return;
  }
  if (a == NULL)
    cmcp_call_ask_elicit(call, data ? "a" : "name", "Name?", NAME_SCHEMA);
  if (b == NULL && data != NULL)
    cmcp_call_ask_elicit(call, "b", "Other name?", NAME_SCHEMA);
  cmcp_call_need_input(call);
}

#define TOOL(name, support)                                                    \
  "{\"name\":\"" name "\",\"inputSchema\":{\"type\":\"object\"},"              \
  "\"execution\":{\"taskSupport\":\"" support "\"}}"

static void add(cmcp_server_t *srv, const char *json, unsigned flags,
                cmcp_handler_fn fn, void *data) {
  assert_int_equal(cmcp_server_add_tool_json(srv, json, flags, fn, data), 0);
}

static cmcp_server_t *server(void) {
  cmcp_server_t *srv = cmcp_server_new("tasks", "1.0.0");
  static int two = 2;
  assert_non_null(srv);
  add(srv, TOOL("quick", "optional"), 0, quick, NULL);
  add(srv, TOOL("parked", "optional"), 0, park, NULL);
  add(srv, TOOL("needs_task", "required"), 0, quick, NULL);
  add(srv, TOOL("never", "forbidden"), 0, quick, NULL);
  add(srv, "{\"name\":\"plain\",\"inputSchema\":{\"type\":\"object\"}}", 0,
      quick, NULL);
  add(srv, TOOL("sleepy", "optional"), CMCP_FEATURE_BLOCKING, sleepy, NULL);
  add(srv, TOOL("asker", "optional"), 0, asker, NULL);
  add(srv, TOOL("two_asks", "optional"), 0, asker, &two);
  add(srv, TOOL("gather", "required"), 0, asker, NULL);
  add(srv, TOOL("slow_required", "required"), CMCP_FEATURE_BLOCKING, sleepy,
      NULL);
  nparked = 0;
  return srv;
}

/* A legacy 2025-11-25 session with elicitation. */
static tpeer *session(cmcp_server_t *srv, unsigned flags) {
  tpeer *tp = tp_new(srv, flags);
  tp_initialize(tp, V1, ELICIT_CAPS);
  return tp;
}

/* Sends a task-augmented tools/call; returns the new taskId (borrowed). */
static const char *create(tpeer *tp, int id, const char *tool,
                          const char *args) {
  char text[512];
  json_object *r;
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"%s\",\"arguments\":%s,\"task\":"
           "{\"ttl\":999999999}}}",
           id, tool, args);
  r = tp_call(tp, text);
  assert_int_equal(jint(r, "id"), id);
  assert_non_null(jstr(r, "result.task.taskId"));
  spec_assert_valid(V1, "CreateTaskResult", jpath(r, "result"));
  spec_assert_valid(V1, "JSONRPCResponse", r);
  return jstr(r, "result.task.taskId");
}

/* Sends method with {"taskId": id} (plus extra params text, may be ""). */
static json_object *task_req(tpeer *tp, int id, const char *method,
                             const char *task_id, const char *extra) {
  char text[2048];
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":"
           "{\"taskId\":\"%s\"%s}}",
           id, method, task_id, extra);
  return tp_call(tp, text);
}

/* o.<path>[key] for a key holding dots (extension ids, _meta keys). */
static json_object *jkey(json_object *o, const char *path, const char *key) {
  json_object *v = NULL;
  json_object *parent = jpath(o, path);
  return parent != NULL && json_object_object_get_ex(parent, key, &v) ? v
                                                                      : NULL;
}

/* The taskId of the related-task _meta under o.<path>._meta. */
static const char *related(json_object *o, const char *meta_path) {
  return jstr(jkey(o, meta_path, RELATED), "taskId");
}

/* Checks that o is a notifications/tasks/status with status. */
static void assert_status_note(json_object *o, const char *status) {
  assert_non_null(o);
  assert_string_equal(jstr(o, "method"), "notifications/tasks/status");
  assert_string_equal(jstr(o, "params.status"), status);
  spec_assert_valid(V1, "TaskStatusNotification", o);
}

/* Checks every message the peer sent against the schema of version,
 * then frees the peer. */
static void finish(tpeer *tp, const char *version) {
  size_t i;
  for (i = 0; i < tp->n; i++)
    spec_assert_valid(version, "JSONRPCMessage", tp->out[i]);
  tp_free(tp);
}

/* ---- 2025-11-25 ------------------------------------------------------- */

static void test_capabilities(void **state) {
  cmcp_server_t *srv = server(), *bare = cmcp_server_new("bare", "1");
  tpeer *tp = tp_new(srv, 0), *old, *none;
  json_object *r;
  (void)state;
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":{\"protocolVersion\":\"" V1 "\","
                  "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\","
                  "\"version\":\"1\"}}}");
  assert_non_null(jpath(r, "result.capabilities.tasks.list"));
  assert_non_null(jpath(r, "result.capabilities.tasks.cancel"));
  assert_non_null(jpath(r, "result.capabilities.tasks.requests.tools.call"));
  spec_assert_valid(V1, "InitializeResult", jpath(r, "result"));
  /* Earlier versions have no tasks: the param is ignored. */
  old = tp_new(srv, 0);
  tp_initialize(old, "2025-06-18", "{}");
  assert_null(jpath(old->out[0], "result.capabilities.tasks"));
  r = tp_call(old, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"quick\",\"task\":{}}}");
  assert_string_equal(jstr(r, "result.content.0.text"), "quick done");
  assert_rpc_error(task_req(old, 3, "tasks/get", "x", ""),
                   CMCP_JSONRPC_METHOD_NOT_FOUND, "tasks/get");
  /* A server with no task tool declares nothing and knows no tasks/get. */
  assert_non_null(bare);
  none = tp_new(bare, 0);
  tp_initialize(none, V1, "{}");
  assert_null(jpath(none->out[0], "result.capabilities.tasks"));
  assert_rpc_error(task_req(none, 4, "tasks/get", "x", ""),
                   CMCP_JSONRPC_METHOD_NOT_FOUND, "no tool");
  finish(none, V1);
  finish(old, "2025-06-18");
  finish(tp, V1);
  cmcp_server_free(bare);
  cmcp_server_free(srv);
}

static void test_create_get_result(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp;
  json_object *r, *first;
  const char *id;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_TASK_TTL_MS, 30000),
                   0);
  tp = session(srv, 0);
  id = create(tp, 10, "quick", "{}");
  first = tp->out[tp->next - 1];
  assert_string_equal(jstr(first, "result.task.status"), "working");
  assert_int_equal(jint(first, "result.task.ttl"), 30000); /* clamped */
  assert_true(jint(first, "result.task.pollInterval") > 0);
  assert_int_equal(strlen(id), 32);
  assert_int_equal(strlen(jstr(first, "result.task.createdAt")), 24);
  /* The handler finished inline: the status change is announced. */
  assert_status_note(tp_next(tp), "completed");
  r = task_req(tp, 11, "tasks/get", id, "");
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_null(jpath(r, "result.statusMessage"));
  assert_string_equal(jstr(r, "result.taskId"), id);
  spec_assert_valid(V1, "GetTaskResult", jpath(r, "result"));
  r = task_req(tp, 12, "tasks/result", id, "");
  assert_string_equal(jstr(r, "result.content.0.text"), "quick done");
  assert_string_equal(related(r, "result._meta"), id);
  spec_assert_valid(V1, "CallToolResult", jpath(r, "result"));
  spec_assert_valid(V1, "JSONRPCResponse", r);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_async_working_then_result(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r;
  const char *id;
  char text[256];
  size_t before;
  (void)state;
  id = create(tp, 20, "parked", "{}");
  assert_int_equal(nparked, 1);
  /* The request is answered; the session owns the task. */
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  r = task_req(tp, 21, "tasks/get", id, "");
  assert_string_equal(jstr(r, "result.status"), "working");
  spec_assert_valid(V1, "GetTaskResult", jpath(r, "result"));
  /* tasks/result blocks while the task works. */
  before = tp->n;
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":22,\"method\":\"tasks/result\","
           "\"params\":{\"taskId\":\"%s\"}}",
           id);
  tp_feed(tp, text);
  assert_int_equal(tp->n, before);
  cmcp_call_add_text(parked[0], "late");
  assert_int_equal(cmcp_call_done(parked[0]), 0);
  assert_status_note(tp_next(tp), "completed");
  r = tp_next(tp);
  assert_non_null(r);
  assert_int_equal(jint(r, "id"), 22);
  assert_string_equal(jstr(r, "result.content.0.text"), "late");
  assert_string_equal(related(r, "result._meta"), id);
  spec_assert_valid(V1, "JSONRPCResponse", r);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_blocking_handler(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, TP_POST | TP_BLOCKING);
  json_object *r;
  const char *id;
  (void)state;
  id = create(tp, 30, "sleepy", "{}");
  r = task_req(tp, 31, "tasks/get", id, "");
  assert_string_equal(jstr(r, "result.status"), "working");
  assert_int_equal(tp_pump(tp, tp->n + 1, 3000), tp->next + 1);
  assert_status_note(tp_next(tp), "completed");
  r = task_req(tp, 32, "tasks/result", id, "");
  assert_string_equal(jstr(r, "result.content.0.text"), "slept");
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_failed_tool(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r;
  const char *id;
  (void)state;
  /* A tool error: failed, and the payload is the isError result. */
  id = create(tp, 40, "quick", "{\"fail\":\"tool\"}");
  assert_status_note(tp_next(tp), "failed");
  r = task_req(tp, 41, "tasks/get", id, "");
  assert_string_equal(jstr(r, "result.status"), "failed");
  assert_string_equal(jstr(r, "result.statusMessage"), "quick failed");
  r = task_req(tp, 42, "tasks/result", id, "");
  assert_true(json_object_get_boolean(jpath(r, "result.isError")));
  spec_assert_valid(V1, "CallToolResult", jpath(r, "result"));
  /* A JSON-RPC error: tasks/result answers exactly that error. */
  id = create(tp, 43, "quick", "{\"fail\":\"rpc\"}");
  assert_status_note(tp_next(tp), "failed");
  r = task_req(tp, 44, "tasks/result", id, "");
  assert_rpc_error(r, CMCP_JSONRPC_INTERNAL_ERROR, "quick broke");
  assert_string_equal(jstr(r, "error.data.why"), "asked to");
  spec_assert_valid(V1, "JSONRPCErrorResponse", r);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_cancel(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r;
  const char *id;
  char idcopy[64];
  size_t before;
  (void)state;
  id = create(tp, 50, "parked", "{}");
  snprintf(idcopy, sizeof(idcopy), "%s", id);
  r = task_req(tp, 52, "tasks/cancel", idcopy, "");
  /* "MUST transition the task to cancelled status before sending the
   * response": the notification comes first. */
  assert_string_equal(jstr(r, "method"), "notifications/tasks/status");
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 52);
  assert_string_equal(jstr(r, "result.status"), "cancelled");
  spec_assert_valid(V1, "CancelTaskResult", jpath(r, "result"));
  assert_true(cmcp_call_is_cancelled(parked[0]));
  /* The late outcome changes nothing and sends nothing. */
  before = tp->n;
  cmcp_call_add_text(parked[0], "too late");
  assert_int_equal(cmcp_call_done(parked[0]), 0);
  assert_int_equal(tp->n, before);
  r = task_req(tp, 53, "tasks/get", idcopy, "");
  assert_string_equal(jstr(r, "result.status"), "cancelled");
  assert_rpc_error(task_req(tp, 54, "tasks/cancel", idcopy, ""),
                   CMCP_JSONRPC_INVALID_PARAMS, "already cancelled");
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_cancel_waiter_and_finished(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r;
  const char *id;
  char text[256], idcopy[64];
  (void)state;
  /* A waiting tasks/result is answered when the task is cancelled. */
  id = create(tp, 60, "parked", "{}");
  snprintf(idcopy, sizeof(idcopy), "%s", id);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":61,\"method\":"
           "\"tasks/result\",\"params\":{\"taskId\":\"%s\"}}",
           idcopy);
  tp_feed(tp, text);
  r = task_req(tp, 62, "tasks/cancel", idcopy, "");
  assert_status_note(r, "cancelled");
  r = tp_next(tp);
  assert_int_equal(jint(r, "id"), 61);
  assert_rpc_error(r, CMCP_JSONRPC_INTERNAL_ERROR, "cancelled");
  assert_int_equal(jint(tp_next(tp), "id"), 62);
  cmcp_call_done(parked[0]);
  /* A finished task cannot be cancelled: -32602. */
  id = create(tp, 63, "quick", "{}");
  tp_next(tp);
  r = task_req(tp, 64, "tasks/cancel", id, "");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "already completed");
  spec_assert_valid(V1, "JSONRPCErrorResponse", r);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_list_pagination(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp;
  json_object *r;
  char ids[5][40], text[1024];
  const char *cursor;
  int i;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_PAGE_SIZE, 2), 0);
  tp = session(srv, 0);
  for (i = 0; i < 5; i++) {
    snprintf(ids[i], sizeof(ids[i]), "%s", create(tp, 70 + i, "quick", "{}"));
    tp_next(tp);
  }
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":80,\"method\":\"tasks/list\"}");
  spec_assert_valid(V1, "ListTasksResult", jpath(r, "result"));
  assert_int_equal(json_object_array_length(jpath(r, "result.tasks")), 2);
  assert_string_equal(jstr(r, "result.tasks.0.taskId"), ids[0]);
  assert_string_equal(jstr(r, "result.tasks.1.taskId"), ids[1]);
  cursor = jstr(r, "result.nextCursor");
  assert_non_null(cursor);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":81,\"method\":"
           "\"tasks/list\",\"params\":{\"cursor\":\"%s\"}}",
           cursor);
  r = tp_call(tp, text);
  assert_string_equal(jstr(r, "result.tasks.0.taskId"), ids[2]);
  assert_string_equal(jstr(r, "result.tasks.1.taskId"), ids[3]);
  cursor = jstr(r, "result.nextCursor");
  assert_non_null(cursor);
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":82,\"method\":"
           "\"tasks/list\",\"params\":{\"cursor\":\"%s\"}}",
           cursor);
  r = tp_call(tp, text);
  assert_int_equal(json_object_array_length(jpath(r, "result.tasks")), 1);
  assert_string_equal(jstr(r, "result.tasks.0.taskId"), ids[4]);
  assert_null(jpath(r, "result.nextCursor"));
  spec_assert_valid(V1, "ListTasksResult", jpath(r, "result"));
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":83,\"method\":\"tasks/list\","
                  "\"params\":{\"cursor\":\"forged\"}}");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "cursor");
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_expiry(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp;
  json_object *r;
  const char *id;
  char idcopy[64];
  int64_t next;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_TASK_TTL_MS, 5000), 0);
  tp = session(srv, 0);
  id = create(tp, 90, "quick", "{}");
  snprintf(idcopy, sizeof(idcopy), "%s", id);
  tp_next(tp);
  /* Kept for its ttl: the next deadline is about 5 s away. */
  next = cmcp__peer_tick(tp->peer, cmcp__now_ms());
  assert_true(next > 4000 && next <= 5000);
  r = task_req(tp, 91, "tasks/get", idcopy, "");
  assert_string_equal(jstr(r, "result.status"), "completed");
  /* A working task is never swept. */
  create(tp, 92, "parked", "{}");
  cmcp__peer_tick(tp->peer, cmcp__now_ms() + 6000);
  r = task_req(tp, 93, "tasks/get", idcopy, "");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "not found");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":94,\"method\":\"tasks/list\"}");
  assert_int_equal(json_object_array_length(jpath(r, "result.tasks")), 1);
  assert_string_equal(jstr(r, "result.tasks.0.status"), "working");
  cmcp_call_done(parked[0]);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_limit_per_peer(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp, *other;
  json_object *r;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_TASKS_PER_PEER, 2), 0);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_TASK_TTL_MS, 1000), 0);
  tp = session(srv, 0);
  create(tp, 100, "quick", "{}");
  tp_next(tp);
  create(tp, 101, "parked", "{}");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":102,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"quick\",\"task\":{}}}");
  assert_rpc_error(r, CMCP_MCP_SERVER_OVERLOADED, "CMCP_LIMIT_TASKS_PER_PEER");
  /* Another session has its own allowance. */
  other = session(srv, 0);
  create(other, 103, "quick", "{}");
  /* Once the finished one expires there is room again. */
  cmcp__peer_tick(tp->peer, cmcp__now_ms() + 2000);
  create(tp, 104, "quick", "{}");
  cmcp_call_done(parked[0]);
  finish(other, V1);
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_sessions_are_isolated(void **state) {
  cmcp_server_t *srv = server();
  tpeer *a = session(srv, 0), *b = session(srv, 0);
  json_object *r;
  const char *id;
  (void)state;
  id = create(a, 110, "quick", "{}");
  r = task_req(b, 111, "tasks/get", id, "");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "not found");
  r = task_req(b, 112, "tasks/result", id, "");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "not found");
  r = tp_call(b, "{\"jsonrpc\":\"2.0\",\"id\":113,\"method\":\"tasks/list\"}");
  assert_int_equal(json_object_array_length(jpath(r, "result.tasks")), 0);
  finish(b, V1);
  finish(a, V1);
  cmcp_server_free(srv);
}

static void test_bad_requests(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r;
  (void)state;
  /* "required" without params.task, or a task on a forbidden tool. */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":120,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"needs_task\"}}");
  assert_rpc_error(r, CMCP_JSONRPC_METHOD_NOT_FOUND,
                   "must be called as a task");
  spec_assert_valid(V1, "JSONRPCErrorResponse", r);
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":121,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"never\",\"task\":{}}}");
  assert_rpc_error(r, CMCP_JSONRPC_METHOD_NOT_FOUND, "cannot run as a task");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":122,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"plain\",\"task\":{}}}");
  assert_rpc_error(r, CMCP_JSONRPC_METHOD_NOT_FOUND, "cannot run as a task");
  /* A tool that may run either way runs normally without params.task. */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":123,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"quick\"}}");
  assert_string_equal(jstr(r, "result.content.0.text"), "quick done");
  /* Malformed params.task. */
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":124,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"quick\",\"task\":5}}");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "params.task");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":125,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"quick\",\"task\":{\"ttl\":-1}}}");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "ttl");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":126,\"method\":\"tools/call\","
                  "\"params\":{\"name\":\"quick\",\"task\":{\"ttl\":\"x\"}}}");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "ttl");
  /* Unknown or missing taskId; tasks/update is not a 2025-11-25 method. */
  assert_rpc_error(task_req(tp, 127, "tasks/get", "nope", ""),
                   CMCP_JSONRPC_INVALID_PARAMS, "not found");
  assert_rpc_error(task_req(tp, 128, "tasks/cancel", "nope", ""),
                   CMCP_JSONRPC_INVALID_PARAMS, "not found");
  r = tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":129,\"method\":\"tasks/get\","
                  "\"params\":{}}");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "taskId");
  assert_rpc_error(task_req(tp, 130, "tasks/update", "nope", ""),
                   CMCP_JSONRPC_METHOD_NOT_FOUND, "tasks/update");
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_input_required(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  json_object *r, *ask;
  const char *id;
  char text[512], idcopy[64];
  (void)state;
  id = create(tp, 140, "asker", "{}");
  snprintf(idcopy, sizeof(idcopy), "%s", id);
  /* The ask carries the task's related-task _meta. */
  ask = tp_next(tp);
  assert_string_equal(jstr(ask, "method"), "elicitation/create");
  assert_string_equal(related(ask, "params._meta"), idcopy);
  spec_assert_valid(V1, "ElicitRequest", ask);
  assert_status_note(tp_next(tp), "input_required");
  r = task_req(tp, 141, "tasks/get", idcopy, "");
  assert_string_equal(jstr(r, "result.status"), "input_required");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":"
           "{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}}",
           (long long)jint(ask, "id"));
  tp_feed(tp, text);
  assert_status_note(tp_next(tp), "completed");
  r = task_req(tp, 142, "tasks/result", idcopy, "");
  assert_string_equal(jstr(r, "result.content.0.text"), "Hello, Ada!");
  /* A task cancelled while waiting for the client frees its call. */
  id = create(tp, 143, "asker", "{}");
  snprintf(idcopy, sizeof(idcopy), "%s", id);
  ask = tp_next(tp);
  tp_next(tp);
  r = task_req(tp, 144, "tasks/cancel", idcopy, "");
  assert_status_note(r, "cancelled");
  assert_string_equal(jstr(tp_next(tp), "result.status"), "cancelled");
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":"
           "{\"action\":\"decline\"}}",
           (long long)jint(ask, "id"));
  tp_feed(tp, text); /* answers nothing any more: ignored */
  assert_null(tp_next(tp));
  finish(tp, V1);
  cmcp_server_free(srv);
}

static void test_session_close_frees_tasks(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = session(srv, 0);
  (void)state;
  create(tp, 150, "parked", "{}");
  create(tp, 151, "asker", "{}");
  tp->next = tp->n; /* the ask and the status notification */
  create(tp, 152, "quick", "{}");
  /* Closing the session takes its tasks (ASan checks for leaks); the
   * running handler learns it was cancelled and its outcome is dropped. */
  cmcp__peer_close(tp->peer);
  tp->peer = NULL;
  assert_true(cmcp_call_is_cancelled(parked[0]));
  assert_int_equal(cmcp_call_done(parked[0]), 0);
  finish(tp, V1);
  cmcp_server_free(srv);
}

/* ---- 2026-07-28 extension ---------------------------------------------- */

/* A modern request text: method, params body (without braces), caps. */
static json_object *modern(tpeer *tp, int id, const char *method,
                           const char *params, int with_ext) {
  char text[2048];
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":{%s%s"
           "%s}}",
           id, method, params, *params ? "," : "",
           with_ext ? MODERN_META(EXT_CAPS) : MODERN_META("{}"));
  return tp_call(tp, text);
}

static void assert_modern_result(json_object *r, const char *result_type) {
  assert_null(jpath(r, "error"));
  assert_string_equal(jstr(r, "result.resultType"), result_type);
  spec_assert_valid(V2, "Result", jpath(r, "result"));
  spec_assert_valid(V2, "JSONRPCResponse", r);
}

static void test_modern_lifecycle(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char id[64], params[256];
  (void)state;
  r = modern(tp, 1, "server/discover", "", 1);
  assert_non_null(jkey(r, "result.capabilities.extensions", EXT));
  assert_null(jpath(r, "result.capabilities.tasks"));
  spec_assert_valid(V2, "DiscoverResult", jpath(r, "result"));
  /* Server-directed: no task param, a flat CreateTaskResult. */
  r = modern(tp, 2, "tools/call", "\"name\":\"parked\"", 1);
  assert_modern_result(r, "task");
  assert_null(jpath(r, "result.task"));
  assert_null(jpath(r, "result.ttl"));
  assert_null(jpath(r, "result.requestState"));
  assert_true(jint(r, "result.ttlMs") > 0);
  assert_true(jint(r, "result.pollIntervalMs") > 0);
  assert_string_equal(jstr(r, "result.status"), "working");
  snprintf(id, sizeof(id), "%s", jstr(r, "result.taskId"));
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"", id);
  r = modern(tp, 3, "tasks/get", params, 1);
  assert_modern_result(r, "complete");
  assert_string_equal(jstr(r, "result.status"), "working");
  assert_null(jpath(r, "result.result"));
  /* The running call keeps its peer busy, and cancelling the request
   * that created it does nothing (tasks/cancel is the way). */
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":2}}");
  assert_false(cmcp_call_is_cancelled(parked[0]));
  cmcp_call_add_text(parked[0], "done later");
  cmcp_call_done(parked[0]);
  assert_null(tp_next(tp)); /* no 2025-11-25 notification on this wire */
  r = modern(tp, 4, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_string_equal(jstr(r, "result.result.content.0.text"), "done later");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  assert_null(jpath(r, "result.result._meta"));
  spec_assert_valid(V2, "CallToolResult", jpath(r, "result.result"));
  /* Cancel of a finished task: the same empty ack. */
  r = modern(tp, 5, "tasks/cancel", params, 1);
  assert_modern_result(r, "complete");
  assert_null(jpath(r, "result.status"));
  assert_null(jpath(r, "result.taskId"));
  /* Sync-only tools stay sync, even with a legacy task hint. */
  r = modern(tp, 6, "tools/call", "\"name\":\"plain\",\"task\":{\"ttl\":100}",
             1);
  assert_modern_result(r, "complete");
  assert_string_equal(jstr(r, "result.content.0.text"), "quick done");
  finish(tp, V2);
  cmcp_server_free(srv);
}

static void test_modern_errors_and_cancel(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char id[64], params[256];
  (void)state;
  /* A tool error completes with isError; a JSON-RPC error fails. */
  r = modern(tp, 1, "tools/call",
             "\"name\":\"quick\",\"arguments\":{\"fail\":\"tool\"}", 1);
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"",
           jstr(r, "result.taskId"));
  r = modern(tp, 2, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_true(json_object_get_boolean(jpath(r, "result.result.isError")));
  r = modern(tp, 3, "tools/call",
             "\"name\":\"quick\",\"arguments\":{\"fail\":\"rpc\"}", 1);
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"",
           jstr(r, "result.taskId"));
  r = modern(tp, 4, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "failed");
  assert_int_equal(jint(r, "result.error.code"), CMCP_JSONRPC_INTERNAL_ERROR);
  assert_string_equal(jstr(r, "result.error.message"), "quick broke");
  assert_null(jpath(r, "result.result"));
  /* Cancel while running: ack, then cancelled. */
  r = modern(tp, 5, "tools/call", "\"name\":\"parked\"", 1);
  snprintf(id, sizeof(id), "%s", jstr(r, "result.taskId"));
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"", id);
  r = modern(tp, 6, "tasks/cancel", params, 1);
  assert_modern_result(r, "complete");
  assert_true(cmcp_call_is_cancelled(parked[0]));
  cmcp_call_done(parked[0]);
  r = modern(tp, 7, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "cancelled");
  /* Removed methods, unknown ids, and gating without the extension. */
  assert_rpc_error(modern(tp, 8, "tasks/result", params, 1),
                   CMCP_JSONRPC_METHOD_NOT_FOUND, "tasks/result");
  assert_rpc_error(modern(tp, 9, "tasks/list", "", 1),
                   CMCP_JSONRPC_METHOD_NOT_FOUND, "tasks/list");
  assert_rpc_error(modern(tp, 10, "tasks/get", "\"taskId\":\"zz\"", 1),
                   CMCP_JSONRPC_INVALID_PARAMS, "not found");
  r = modern(tp, 11, "tasks/get", params, 0);
  assert_rpc_error(r, CMCP_MCP_MISSING_CAPABILITY, EXT);
  assert_non_null(jkey(r, "error.data.requiredCapabilities.extensions", EXT));
  spec_assert_valid(V2, "MissingRequiredClientCapabilityError", r);
  assert_int_equal(tp->status[tp->n - 1], 400);
  /* Without the extension: optional runs sync, required is refused. */
  r = modern(tp, 12, "tools/call", "\"name\":\"quick\"", 0);
  assert_modern_result(r, "complete");
  r = modern(tp, 13, "tools/call", "\"name\":\"needs_task\"", 0);
  assert_rpc_error(r, CMCP_MCP_MISSING_CAPABILITY, EXT);
  spec_assert_valid(V2, "MissingRequiredClientCapabilityError", r);
  finish(tp, V2);
  cmcp_server_free(srv);
}

static void test_modern_input_and_update(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char params[512], base[128];
  (void)state;
  r = modern(tp, 1, "tools/call", "\"name\":\"two_asks\"", 1);
  assert_modern_result(r, "task");
  snprintf(base, sizeof(base), "\"taskId\":\"%s\"", jstr(r, "result.taskId"));
  r = modern(tp, 2, "tasks/get", base, 1);
  assert_string_equal(jstr(r, "result.status"), "input_required");
  assert_string_equal(jstr(r, "result.inputRequests.a.method"),
                      "elicitation/create");
  assert_non_null(jpath(r, "result.inputRequests.b"));
  spec_assert_valid(V2, "InputRequests", jpath(r, "result.inputRequests"));
  assert_null(jpath(r, "result.requestState"));
  /* A partial answer (and an unknown key) keeps it waiting for "b". */
  snprintf(params, sizeof(params),
           "%s,\"inputResponses\":{\"a\":{\"action\":"
           "\"accept\",\"content\":{\"name\":\"Ann\"}},\"zz\":{}}",
           base);
  r = modern(tp, 3, "tasks/update", params, 1);
  assert_modern_result(r, "complete");
  assert_null(jpath(r, "result.status"));
  r = modern(tp, 4, "tasks/get", base, 1);
  assert_string_equal(jstr(r, "result.status"), "input_required");
  assert_null(jpath(r, "result.inputRequests.a"));
  assert_non_null(jpath(r, "result.inputRequests.b"));
  snprintf(params, sizeof(params),
           "%s,\"inputResponses\":{\"b\":{\"action\":"
           "\"decline\"}}",
           base);
  modern(tp, 5, "tasks/update", params, 1);
  r = modern(tp, 6, "tasks/get", base, 1);
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_string_equal(jstr(r, "result.result.content.0.text"), "Hello, Ann!");
  /* inputResponses must be an object. */
  snprintf(params, sizeof(params), "%s,\"inputResponses\":3", base);
  assert_rpc_error(modern(tp, 7, "tasks/update", params, 1),
                   CMCP_JSONRPC_INVALID_PARAMS, "inputResponses");
  /* Cancelled while waiting for input: the waiting call is released. */
  r = modern(tp, 8, "tools/call", "\"name\":\"asker\"", 1);
  snprintf(base, sizeof(base), "\"taskId\":\"%s\"", jstr(r, "result.taskId"));
  assert_int_equal(cmcp__peer_inflight(tp->peer), 1);
  assert_modern_result(modern(tp, 9, "tasks/cancel", base, 1), "complete");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  r = modern(tp, 10, "tasks/get", base, 1);
  assert_string_equal(jstr(r, "result.status"), "cancelled");
  assert_null(jpath(r, "result.inputRequests"));
  snprintf(params, sizeof(params), "%s,\"inputResponses\":{\"name\":{}}", base);
  assert_modern_result(modern(tp, 11, "tasks/update", params, 1), "complete");
  /* One left waiting when the peer closes is freed with it (ASan). */
  modern(tp, 12, "tools/call", "\"name\":\"asker\"", 1);
  finish(tp, V2);
  cmcp_server_free(srv);
}

static void test_modern_mrtr_then_task(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  char params[2048], get[128];
  const char *key = NULL;
  (void)state;
  /* A "required" tool gathers input with MRTR first: no task yet. */
  r = modern(tp, 1, "tools/call", "\"name\":\"gather\"", 1);
  assert_modern_result(r, "input_required");
  assert_null(jpath(r, "result.taskId"));
  json_object_object_foreach(jpath(r, "result.inputRequests"), k, v) {
    (void)v;
    key = k;
  }
  assert_string_equal(key, "name");
  snprintf(params, sizeof(params),
           "\"name\":\"gather\",\"inputResponses\":{"
           "\"name\":{\"action\":\"accept\",\"content\":{\"name\":\"Alice\"}}},"
           "\"requestState\":\"%s\"",
           jstr(r, "result.requestState"));
  /* The round that asks no more becomes a task. */
  r = modern(tp, 2, "tools/call", params, 1);
  assert_modern_result(r, "task");
  assert_null(jpath(r, "result.requestState"));
  assert_null(jpath(r, "result.inputRequests"));
  snprintf(get, sizeof(get), "\"taskId\":\"%s\"", jstr(r, "result.taskId"));
  r = modern(tp, 3, "tasks/get", get, 1);
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_string_equal(jstr(r, "result.result.content.0.text"), "Hello, Alice!");
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  finish(tp, V2);
  cmcp_server_free(srv);
}

static void test_modern_required_blocking(void **state) {
  cmcp_server_t *srv = server();
  tpeer *tp = tp_new(srv, TP_POST | TP_BLOCKING);
  json_object *r;
  char params[256];
  int i;
  (void)state;
  /* The handler runs on a worker: the answer is a task at once. */
  r = modern(tp, 1, "tools/call", "\"name\":\"slow_required\"", 1);
  assert_modern_result(r, "task");
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"",
           jstr(r, "result.taskId"));
  r = modern(tp, 2, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "working");
  /* Bounded wait for the worker's completion to come back to the loop. */
  for (i = 0; i < 100 && cmcp__peer_inflight(tp->peer) > 0; i++)
    tp_pump(tp, SIZE_MAX, 50);
  assert_int_equal(cmcp__peer_inflight(tp->peer), 0);
  r = modern(tp, 3, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "completed");
  assert_string_equal(jstr(r, "result.result.content.0.text"), "slept");
  finish(tp, V2);
  cmcp_server_free(srv);
}

static void test_modern_shared_and_closed_runner(void **state) {
  cmcp_server_t *srv = server();
  tpeer *a = tp_new(srv, 0), *b = tp_new(srv, 0), *legacy = session(srv, 0);
  json_object *r;
  char params[256];
  (void)state;
  /* A modern task is reachable from any modern request by its id... */
  r = modern(a, 1, "tools/call", "\"name\":\"parked\"", 1);
  snprintf(params, sizeof(params), "\"taskId\":\"%s\"",
           jstr(r, "result.taskId"));
  r = modern(b, 2, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "working");
  /* ...but not from a 2025-11-25 session. */
  r = task_req(legacy, 3, "tasks/get", jstr(r, "result.taskId"), "");
  assert_rpc_error(r, CMCP_JSONRPC_INVALID_PARAMS, "not found");
  /* When the conversation running it closes, the task fails. */
  cmcp__peer_close(a->peer);
  a->peer = NULL;
  assert_true(cmcp_call_is_cancelled(parked[0]));
  assert_int_equal(cmcp_call_done(parked[0]), 0);
  r = modern(b, 4, "tasks/get", params, 1);
  assert_string_equal(jstr(r, "result.status"), "failed");
  assert_string_equal(jstr(r, "result.error.message"),
                      "The connection that ran this task closed before it "
                      "finished");
  finish(legacy, V1);
  finish(b, V2);
  finish(a, V2);
  cmcp_server_free(srv);
}

/* ---- allocation failure ------------------------------------------------ */


/* The taskId answered to request id, or NULL. */
static const char *task_of(tpeer *tp, int64_t id) {
  size_t i;
  for (i = 0; i < tp->n; i++) {
    json_object *m = tp->out[i];
    if (jpath(m, "method") == NULL && jpath(m, "id") != NULL &&
        json_object_is_type(jpath(m, "id"), json_type_int) &&
        jint(m, "id") == id)
      return jstr(m, "result.task.taskId") ? jstr(m, "result.task.taskId")
                                           : jstr(m, "result.taskId");
  }
  return NULL;
}

static void feed_any(tpeer *tp, const char *text) {
  int rc = cmcp__peer_feed(tp->peer, text, strlen(text));
  assert_true(rc == 0 || rc == CMCP_ENOMEM);
}

/* Feeds method {taskId, extra} if id is known. */
static void feed_task(tpeer *tp, int n, const char *method, const char *id,
                      const char *extra, int modern_req) {
  char text[2048];
  if (id == NULL)
    return;
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":{"
           "\"taskId\":\"%s\"%s%s}}",
           n, method, id, extra, modern_req ? "," MODERN_META(EXT_CAPS) : "");
  feed_any(tp, text);
}

/* 1 for a response with a non-null id. */
static int is_response(json_object *m) {
  json_object *id = jpath(m, "id");
  return jpath(m, "method") == NULL && id != NULL &&
         !json_object_is_type(id, json_type_null);
}

/* Runs a flow over both eras once; 1 if an allocation failed on the way. */
static int run_alloc_flow(long n_failing) {
  cmcp_server_t *srv;
  tpeer *tp;
  size_t i, j;
  if ((srv = cmcp_server_new("alloc", "1")) == NULL)
    return 1;
  cmcp_server_add_tool_json(srv, TOOL("quick", "optional"), 0, quick, NULL);
  cmcp_server_add_tool_json(srv, TOOL("asker", "optional"), 0, asker, NULL);
  cmcp_server_add_tool_json(srv, TOOL("two", "optional"), 0, asker, srv);
  cmcp_server_add_tool_json(srv, TOOL("gather", "required"), 0, asker, NULL);
  tp = tp_new_or_null(srv);
  if (tp != NULL) {
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                 "\"params\":{\"protocolVersion\":\"" V1
                 "\",\"capabilities\":" ELICIT_CAPS
                 ",\"clientInfo\":{\"name\":\"c\",\"version\":"
                 "\"1\"}}}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                 "initialized\"}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"quick\",\"task\":{\"ttl\":10}}}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"asker\",\"task\":{}}}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"action\":"
                 "\"accept\",\"content\":{\"name\":\"x\"}}}");
    feed_task(tp, 4, "tasks/get", task_of(tp, 2), "", 0);
    feed_task(tp, 5, "tasks/result", task_of(tp, 2), "", 0);
    feed_task(tp, 6, "tasks/cancel", task_of(tp, 3), "", 0);
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tasks/list\"}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"two\"," MODERN_META(EXT_CAPS) "}}");
    feed_task(tp, 9, "tasks/update", task_of(tp, 8),
              ",\"inputResponses\":{\"a\":{},\"b\":{}}", 1);
    feed_task(tp, 10, "tasks/get", task_of(tp, 8), "", 1);
    feed_task(tp, 11, "tasks/cancel", task_of(tp, 8), "", 1);
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"gather\"," MODERN_META(EXT_CAPS) "}}");
    feed_any(tp, "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"two\"," MODERN_META(EXT_CAPS) "}}");
    cmcp__peer_tick(tp->peer, cmcp__now_ms() + 3600000);
    /* at most one response per request id */
    for (i = 0; i < tp->n; i++)
      for (j = i + 1; j < tp->n; j++)
        assert_false(is_response(tp->out[i]) && is_response(tp->out[j]) &&
                     json_object_equal(jpath(tp->out[i], "id"),
                                       jpath(tp->out[j], "id")));
    tp_free(tp);
  }
  cmcp_server_free(srv);
  return alloc_fail_count() >= n_failing;
}

static void test_alloc_failure_sweep(void **state) {
  long n;
  (void)state;
  spec_release(); /* its cache came from the default allocator */
  alloc_fail_install();
  for (n = 1; n < 5000; n++) {
    alloc_fail_arm(n);
    if (!run_alloc_flow(n))
      break;
  }
  alloc_fail_uninstall();
  print_message("allocation failure injected at %ld points\n", n - 1);
  assert_true(n > 20);
  assert_true(n < 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_capabilities),
      cmocka_unit_test(test_create_get_result),
      cmocka_unit_test(test_async_working_then_result),
      cmocka_unit_test(test_blocking_handler),
      cmocka_unit_test(test_failed_tool),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_cancel_waiter_and_finished),
      cmocka_unit_test(test_list_pagination),
      cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_limit_per_peer),
      cmocka_unit_test(test_sessions_are_isolated),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_input_required),
      cmocka_unit_test(test_session_close_frees_tasks),
      cmocka_unit_test(test_modern_lifecycle),
      cmocka_unit_test(test_modern_errors_and_cancel),
      cmocka_unit_test(test_modern_input_and_update),
      cmocka_unit_test(test_modern_mrtr_then_task),
      cmocka_unit_test(test_modern_required_blocking),
      cmocka_unit_test(test_modern_shared_and_closed_runner),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  spec_release();
  return rc;
}
