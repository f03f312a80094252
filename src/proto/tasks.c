/* src/proto/tasks.c: tasks, in both eras.
 *
 * 2025-11-25 (core): a tools/call whose params carry "task" on a tool with
 * execution.taskSupport "optional" or "required" is answered at once with
 * a CreateTaskResult; the handler then runs as usual and its outcome
 * becomes the task's payload, read with tasks/get, tasks/result (which
 * waits for a terminal status), tasks/list and tasks/cancel. Tasks belong
 * to the session that created them; status changes are announced with
 * notifications/tasks/status.
 *
 * 2026-07-28 (extension io.modelcontextprotocol/tasks, SEP-2663): the
 * server decides. A client that declares the extension gets a flat
 * CreateTaskResult (resultType "task", ttlMs, pollIntervalMs) for every
 * call of a task-supporting tool; tasks/get inlines the result, the error
 * or the pending inputRequests, tasks/update delivers inputResponses and
 * tasks/cancel answers an empty ack. A "required" tool first gathers its
 * input with ordinary MRTR rounds and becomes a task on the round that
 * does not ask for more. Modern tasks have no session: any request that
 * names the (unguessable) task id may reach them.
 *
 * A session's tasks hang on its peer; modern tasks sit in one server-wide
 * list. Each list is bounded by CMCP_LIMIT_TASKS_PER_PEER (the modern wire
 * counting as one peer) and every list is guarded by the one store mutex.
 * A task's call is touched on its own loop thread only; finished tasks
 * are swept after their ttl by cmcp__peer_tick and on creation.
 */
#include "engine.h"

#include <string.h>
#include <time.h>

#define EXT_TASKS "io.modelcontextprotocol/tasks"
#define META_RELATED "io.modelcontextprotocol/related-task"

/* Suggested polling interval, in milliseconds. */
#define POLL_INTERVAL_MS 500
/* tasks/result requests that may wait on one task at a time. */
#define MAX_WAITERS 8

typedef enum {
  TS_WORKING = 0,
  TS_INPUT_REQUIRED,
  TS_COMPLETED,
  TS_FAILED,
  TS_CANCELLED
} task_status;

static const char *const status_names[] = {"working", "input_required",
                                           "completed", "failed", "cancelled"};

enum { SUPPORT_FORBIDDEN = 0, SUPPORT_OPTIONAL, SUPPORT_REQUIRED };

typedef struct cmcp__task {
  struct cmcp__task *next;
  char id[33];         /* 128 random bits, hex */
  cmcp__peer_t *owner; /* legacy: the session; NULL: modern */
  int modern;
  int announced; /* the CreateTaskResult was sent */
  int idle;      /* modern: the call waits, no handler runs */
  task_status status;
  char *message; /* statusMessage, or NULL */
  int64_t created_wall, updated_wall;
  uint64_t created_ms, finished_ms;
  int64_t ttl_ms;
  cmcp_call_t *call;    /* the running (or waiting) call, or NULL */
  json_object *result;  /* payload of a finished call, or NULL */
  json_object *error;   /* {code, message, data?} payload, or NULL */
  json_object *inputs;  /* modern: pending inputRequests, or NULL */
  json_object *waiters; /* legacy: ids of waiting tasks/result */
} task;

/* Modern tasks, shared by every 2026-07-28 request. A session's tasks hang
 * on its peer (peer->tasks), so every list is bounded by
 * CMCP_LIMIT_TASKS_PER_PEER. The one mutex covers both kinds of list. */
typedef struct store {
  pthread_mutex_t mu; /* recursive: a handler may finish inline */
  task *head;         /* modern tasks, creation order */
  size_t modern_count;
} store;

/* ---- small helpers ------------------------------------------------------ */

/* Sets o[key] = v (consumed); CMCP_ENOMEM leaves o unchanged. */
static int set(json_object *o, const char *key, json_object *v) {
  if (o == NULL || v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* A copy of a request id (the original may belong to a freed message). */
static json_object *id_copy(json_object *id) {
  if (json_object_is_type(id, json_type_int))
    return json_object_new_int64(json_object_get_int64(id));
  return json_object_new_string_len(json_object_get_string(id),
                                    json_object_get_string_len(id));
}

/* The ISO 8601 (RFC 3339) UTC text of a wall-clock time in ms. */
static json_object *iso_time(int64_t wall_ms) {
  char text[40];
  struct tm tm;
  time_t secs = (time_t)(wall_ms / 1000);
  size_t n;
  if (gmtime_r(&secs, &tm) == NULL)
    return NULL;
  n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text + n, sizeof(text) - n, ".%03dZ", (int)(wall_ms % 1000));
  return json_object_new_string(text);
}

static int terminal(task_status s) {
  return s >= TS_COMPLETED;
}

/* A tool's execution.taskSupport. */
static int task_support(const cmcp__feature *f) {
  const char *v;
  if (f == NULL || f->kind != CMCP__TOOL)
    return SUPPORT_FORBIDDEN;
  v = cmcp__json_get_string(cmcp__json_get_object(f->def, "execution"),
                            "taskSupport");
  if (v != NULL && strcmp(v, "optional") == 0)
    return SUPPORT_OPTIONAL;
  if (v != NULL && strcmp(v, "required") == 0)
    return SUPPORT_REQUIRED;
  return SUPPORT_FORBIDDEN;
}

/* 1 if some tool of reg may run as a task. */
static int any_task_tool(const cmcp__registry *reg) {
  size_t i;
  for (i = 0; i < reg->count[CMCP__TOOL]; i++)
    if (task_support(reg->items[CMCP__TOOL][i]) != SUPPORT_FORBIDDEN)
      return 1;
  return 0;
}

/* 1 if the client capabilities declare the tasks extension. */
static int ext_declared(json_object *caps) {
  return json_object_object_get_ex(cmcp__json_get_object(caps, "extensions"),
                                   EXT_TASKS, NULL);
}

/* {"requiredCapabilities": {"extensions": {EXT_TASKS: {}}}}, or NULL. */
static json_object *ext_required_data(void) {
  json_object *data = json_object_new_object(),
              *caps = json_object_new_object();
  json_object *ext = json_object_new_object();
  if (set(ext, EXT_TASKS, json_object_new_object()) != 0 ||
      set(caps, "extensions", ext) != 0) {
    json_object_put(caps);
    json_object_put(data);
    return NULL;
  }
  if (set(data, "requiredCapabilities", caps) != 0) {
    json_object_put(data);
    return NULL;
  }
  return data;
}

/* Answers req with -32021 naming the tasks extension. */
static void missing_ext(cmcp__peer_t *peer, json_object *id) {
  json_object *data = ext_required_data();
  cmcp__send_error(
      peer, id, CMCP_MCP_MISSING_CAPABILITY,
      "Missing required client capability: the extension " EXT_TASKS
      " must be declared in clientCapabilities",
      data);
  if (data != NULL)
    json_object_put(data);
}

/* ---- the store ------------------------------------------------------------
 */

/* The server's store, created on first use; NULL on ENOMEM. */
static store *store_get(cmcp_server_t *srv) {
  store *st;
  pthread_mutexattr_t attr;
  pthread_mutex_lock(&srv->lock);
  st = srv->tasks_state;
  if (st == NULL && (st = cmcp__calloc(1, sizeof(*st))) != NULL) {
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (pthread_mutex_init(&st->mu, &attr) != 0) {
      cmcp__free(st);
      st = NULL;
    }
    pthread_mutexattr_destroy(&attr);
    srv->tasks_state = st;
  }
  pthread_mutex_unlock(&srv->lock);
  return st;
}

static void task_free(task *t) {
  if (t->result != NULL)
    json_object_put(t->result);
  if (t->error != NULL)
    json_object_put(t->error);
  if (t->inputs != NULL)
    json_object_put(t->inputs);
  if (t->waiters != NULL)
    json_object_put(t->waiters);
  cmcp__free(t->message);
  cmcp__free(t);
}

/* The list that holds the tasks of owner (NULL: the modern ones). */
static task **list_of(store *st, cmcp__peer_t *owner) {
  return owner != NULL ? &owner->tasks : &st->head;
}

/* Unlinks t from its list (does not free it). */
static void unlink_task(store *st, task *t) {
  task **pp;
  for (pp = list_of(st, t->owner); *pp != NULL; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      if (t->modern)
        st->modern_count--;
      return;
    }
  }
}

/* The task with id that a request of peer (modern or not) may see. */
static task *find(store *st, const char *id, cmcp__peer_t *peer, int modern) {
  task *t;
  for (t = *list_of(st, modern ? NULL : peer); t != NULL; t = t->next)
    if (t->announced && strcmp(t->id, id) == 0)
      return t;
  return NULL;
}

/* Tasks held for peer (legacy) or for the modern wire. */
static size_t count_for(store *st, cmcp__peer_t *owner) {
  const task *t;
  size_t n = 0;
  if (owner == NULL)
    return st->modern_count;
  for (t = *list_of(st, owner); t != NULL; t = t->next)
    n++;
  return n;
}

/* When a finished task may be deleted (monotonic ms). Kept for its ttl
 * from creation, and at least one poll interval after it finished. */
static uint64_t expiry(const task *t) {
  uint64_t a = t->created_ms + (uint64_t)t->ttl_ms;
  uint64_t b = t->finished_ms + POLL_INTERVAL_MS;
  return a > b ? a : b;
}

/* Deletes the finished tasks of owner (NULL: modern) past their ttl;
 * returns ms to the next deadline or -1. Caller holds st->mu. */
static int64_t sweep(store *st, cmcp__peer_t *owner, uint64_t now_ms) {
  task **pp = list_of(st, owner);
  int64_t next = -1;
  while (*pp != NULL) {
    task *t = *pp;
    if (!terminal(t->status) || t->call != NULL) {
      pp = &t->next;
      continue;
    }
    if (expiry(t) <= now_ms) {
      *pp = t->next;
      if (t->modern)
        st->modern_count--;
      task_free(t);
      continue;
    }
    if (next < 0 || (int64_t)(expiry(t) - now_ms) < next)
      next = (int64_t)(expiry(t) - now_ms);
    pp = &t->next;
  }
  return next;
}

/* A new task linked at the end of the store; NULL on ENOMEM or when the
 * random source fails. Caller holds st->mu. */
static task *task_new(store *st, cmcp__peer_t *owner, int modern,
                      int64_t ttl_ms) {
  unsigned char raw[16];
  task *t, **pp;
  int i;
  if (cmcp__random(raw, sizeof(raw)) != 0)
    return NULL;
  if ((t = cmcp__calloc(1, sizeof(*t))) == NULL)
    return NULL;
  for (i = 0; i < 16; i++)
    snprintf(t->id + 2 * i, 3, "%02x", raw[i]);
  t->owner = owner;
  t->modern = modern;
  t->status = TS_WORKING;
  t->created_wall = t->updated_wall = cmcp__wall_ms();
  t->created_ms = cmcp__now_ms();
  t->ttl_ms = ttl_ms;
  for (pp = list_of(st, owner); *pp != NULL; pp = &(*pp)->next)
    ;
  *pp = t;
  if (modern)
    st->modern_count++;
  return t;
}

/* ---- the Task object ------------------------------------------------------
 */

/* The Task fields of t into o: 2025-11-25 names, or the extension's
 * (ttlMs, pollIntervalMs). 0 or CMCP_ENOMEM. */
static int task_fields(const task *t, json_object *o) {
  int rc = set(o, "taskId", json_object_new_string(t->id));
  if (rc == 0)
    rc = set(o, "status", json_object_new_string(status_names[t->status]));
  if (rc == 0 && t->message != NULL)
    rc = set(o, "statusMessage", json_object_new_string(t->message));
  if (rc == 0)
    rc = set(o, "createdAt", iso_time(t->created_wall));
  if (rc == 0)
    rc = set(o, "lastUpdatedAt", iso_time(t->updated_wall));
  if (rc == 0)
    rc = set(o, t->modern ? "ttlMs" : "ttl", json_object_new_int64(t->ttl_ms));
  if (rc == 0)
    rc = set(o, t->modern ? "pollIntervalMs" : "pollInterval",
             json_object_new_int(POLL_INTERVAL_MS));
  return rc;
}

/* A new Task object, or NULL on ENOMEM. */
static json_object *task_json(const task *t) {
  json_object *o = json_object_new_object();
  if (o != NULL && task_fields(t, o) != 0) {
    json_object_put(o);
    o = NULL;
  }
  return o;
}

/* The modern tasks/get result: the Task plus the inlined result, error or
 * pending inputRequests (DetailedTask). */
static json_object *detailed_json(const task *t) {
  json_object *o = task_json(t), *copy = NULL;
  json_object *src = t->status == TS_COMPLETED        ? t->result
                     : t->status == TS_FAILED         ? t->error
                     : t->status == TS_INPUT_REQUIRED ? t->inputs
                                                      : NULL;
  const char *key = t->status == TS_COMPLETED ? "result"
                    : t->status == TS_FAILED  ? "error"
                                              : "inputRequests";
  if (o == NULL || src == NULL)
    return o;
  if (json_object_deep_copy(src, &copy, NULL) != 0 || set(o, key, copy) != 0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* ---- status changes ----------------------------------------------------- */

/* Moves t to status with an optional message (copied). */
static void set_status(task *t, task_status status, const char *message) {
  char *copy = message != NULL ? cmcp__strdup(message) : NULL;
  cmcp__free(t->message);
  t->message = copy;
  t->status = status;
  t->updated_wall = cmcp__wall_ms();
  if (terminal(status))
    t->finished_ms = cmcp__now_ms();
}

/* "When a task status changes, receivers MAY send a
 * notifications/tasks/status notification" (tasks, 2025-11-25); the
 * extension's notifications travel on subscriptions/listen streams,
 * which this server does not feed, so modern tasks send none. */
static void notify_status(const task *t) {
  json_object *params;
  if (t->modern || t->owner == NULL || !t->owner->initialized ||
      atomic_load(&t->owner->closed))
    return;
  if ((params = task_json(t)) == NULL)
    return;
  cmcp__send_notification(t->owner, "notifications/tasks/status", params, NULL);
  json_object_put(params);
}

/* Sends the payload of a terminal task as the answer to a tasks/result
 * request id: the original result with _meta related-task, or the
 * original JSON-RPC error. */
static void send_payload(cmcp__peer_t *peer, const task *t, json_object *id) {
  json_object *r = NULL, *meta, *rel;
  if (t->result == NULL && t->error == NULL)
    goto nomem; /* even the error payload could not be stored */
  if (t->result == NULL) {
    json_object *err = t->error;
    cmcp__send_error(
        peer, id, (int)json_object_get_int(json_object_object_get(err, "code")),
        cmcp__json_get_string(err, "message"),
        json_object_object_get(err, "data"));
    return;
  }
  if (json_object_deep_copy(t->result, &r, NULL) != 0)
    goto nomem;
  meta = cmcp__json_get_object(r, "_meta");
  if (meta == NULL && set(r, "_meta", meta = json_object_new_object()) != 0)
    goto nomem;
  rel = json_object_new_object();
  if (set(rel, "taskId", json_object_new_string(t->id)) != 0) {
    if (rel != NULL)
      json_object_put(rel);
    goto nomem;
  }
  if (set(meta, META_RELATED, rel) != 0)
    goto nomem;
  cmcp__send_result(peer, id, r);
  json_object_put(r);
  return;
nomem:
  if (r != NULL)
    json_object_put(r);
  cmcp__send_error(peer, id, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory",
                   NULL);
}

/* Answers every tasks/result waiting on t (now terminal). */
static void wake_waiters(task *t) {
  size_t i, n;
  if (t->waiters == NULL)
    return;
  n = json_object_array_length(t->waiters);
  for (i = 0; i < n && t->owner != NULL; i++)
    send_payload(t->owner, t, json_object_array_get_idx(t->waiters, i));
  json_object_put(t->waiters);
  t->waiters = NULL;
}

/* Stores a JSON-RPC error payload {code, message, data?} on t. */
static void set_error(task *t, int code, const char *message,
                      json_object *data) {
  json_object *e = json_object_new_object(), *copy = NULL;
  if (set(e, "code", json_object_new_int(code)) != 0 ||
      set(e, "message", json_object_new_string(message)) != 0 ||
      (data != NULL && (json_object_deep_copy(data, &copy, NULL) != 0 ||
                        set(e, "data", copy) != 0))) {
    json_object_put(e);
    /* The stored payload must exist: fall back to a static shape. */
    e = NULL;
  }
  if (t->error != NULL)
    json_object_put(t->error);
  t->error = e;
}

/* Ends t with status (terminal), its payload already stored. */
static void finish_task(task *t, task_status status, const char *message) {
  if (t->result == NULL && t->error == NULL)
    set_error(t, CMCP_JSONRPC_INTERNAL_ERROR,
              message != NULL ? message : "Internal error", NULL);
  if (t->result == NULL && t->error == NULL) {
    /* Out of memory even for the error: report it without a payload. */
    status = TS_FAILED;
  }
  set_status(t, status, message);
  notify_status(t);
  wake_waiters(t);
}

/* ---- the call behind a task ---------------------------------------------- */

/* Frees a call the task no longer needs (its loop thread). */
static void retire_call(cmcp_call_t *call) {
  task *t = call->task;
  if (t != NULL)
    t->call = NULL;
  call->task = NULL;
  cmcp__asks_drop_call(call->peer, call);
  cmcp__inflight_remove(call->peer, call);
  cmcp__call_free(call);
}

/* Runs fn(call) on the call's loop thread (now, or posted); -1 when that
 * loop is gone (the call is then released when its peer closes). */
static int on_call_loop(cmcp_call_t *call, void (*fn)(void *)) {
  cmcp__peer_t *peer = call->peer;
  if (cmcp__call_on_loop(call)) {
    fn(call);
    return 0;
  }
  if (cmcp__peer_post(peer, fn, call) != 0)
    return -1;
  return 0;
}

/* 1 if no handler of t's call is running: it waits for the client. */
static int call_idle(const task *t) {
  return t->modern ? t->idle : t->call->asks_pending > 0;
}

/* A posted retire: the task may have let go of the call meanwhile. */
static void retire_job(void *arg) {
  cmcp_call_t *call = arg;
  store *st = call->srv->tasks_state;
  pthread_mutex_lock(&st->mu);
  retire_call(call);
  pthread_mutex_unlock(&st->mu);
}

/* A posted resume: the next handler round with the answers gathered. */
static void resume_job(void *arg) {
  cmcp_call_t *call = arg;
  cmcp__call_reset_round(call);
  cmcp__call_invoke(call);
}

/* Sends the CreateTaskResult of t to its call's request. A session's task
 * call then leaves the in-flight table: the session owns the task, and the
 * request is answered. A modern task's call stays in flight on the peer
 * that carried the request, so a transport keeps that peer (its loop
 * context) until the task's handler is done: cmcp__peer_inflight counts
 * it. Either way notifications/cancelled does not reach it; tasks/cancel
 * does. */
static void announce(task *t) {
  cmcp_call_t *call = t->call;
  json_object *r = json_object_new_object(), *inner;
  int rc;
  t->announced = 1;
  if (t->modern) {
    rc = r != NULL ? task_fields(t, r) : CMCP_ENOMEM;
    if (rc == 0)
      rc = cmcp__modern_decorate(call->srv, r, 0, "task");
  } else {
    inner = task_json(t);
    rc = set(r, "task", inner);
  }
  if (rc == 0)
    cmcp__send_result(call->peer, call->id, r);
  else
    cmcp__send_error(call->peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  if (r != NULL)
    json_object_put(r);
  if (!t->modern)
    cmcp__inflight_remove(call->peer, call);
}

/* ---- outcomes ---------------------------------------------------------- */

/* Stores a finished call's outcome on t and retires the call. A tool
 * error is "failed" in 2025-11-25 ("For tool calls specifically, this
 * includes cases where the tool call result has isError set to true") and
 * "completed" with result.isError under the extension (SEP-2663: failed is
 * for protocol-level errors). */
static void settle(task *t, cmcp_call_t *call) {
  task_status status = TS_COMPLETED;
  const char *msg = NULL;
  int code = 0;
  json_object *r = NULL;
  if (call->outcome == CMCP__OUT_ERROR) {
    set_error(t, call->err_code, call->err_msg ? call->err_msg : "Error",
              call->err_data);
    status = TS_FAILED;
    msg = call->err_msg;
  } else if ((r = cmcp__call_result(call, &code, &msg)) == NULL) {
    set_error(t, code, msg, NULL);
    status = TS_FAILED;
  } else {
    msg = NULL; /* cmcp__call_result presets it for its error case */
    if (t->modern &&
        set(r, "resultType", json_object_new_string("complete")) != 0) {
      json_object_put(r);
      r = NULL;
      set_error(t, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory", NULL);
      status = TS_FAILED;
    }
    t->result = r;
    if (call->outcome == CMCP__OUT_TOOL_ERROR) {
      msg = call->err_msg;
      if (!t->modern)
        status = TS_FAILED;
    }
  }
  finish_task(t, status, msg);
  retire_call(call);
}

/* Fails t with an engine error and retires its call. */
static void fail_task(task *t, cmcp_call_t *call, int code, const char *msg,
                      json_object *data) {
  set_error(t, code, msg, data);
  finish_task(t, TS_FAILED, msg);
  retire_call(call);
}

/* Adds _meta related-task to a server->client request's params: "an
 * elicitation that a task-augmented tool call depends on MUST share the
 * same related task ID" (tasks, 2025-11-25). */
static int add_related(json_object *params, const char *task_id) {
  json_object *meta = cmcp__json_get_object(params, "_meta"), *rel;
  if (meta == NULL && set(params, "_meta", meta = json_object_new_object()))
    return CMCP_ENOMEM;
  rel = json_object_new_object();
  if (set(rel, "taskId", json_object_new_string(task_id)) != 0) {
    if (rel != NULL)
      json_object_put(rel);
    return CMCP_ENOMEM;
  }
  return set(meta, META_RELATED, rel);
}

/* URL-mode elicitation needs an elicitationId in 2025-11-25. */
static int ensure_elicitation_id(json_object *params) {
  unsigned char raw[8];
  char hex[17];
  int i;
  const char *mode = cmcp__json_get_string(params, "mode");
  if (mode == NULL || strcmp(mode, "url") != 0 ||
      json_object_object_get_ex(params, "elicitationId", NULL))
    return 0;
  if (cmcp__random(raw, sizeof(raw)) != 0)
    return CMCP_EIO;
  for (i = 0; i < 8; i++)
    snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  return set(params, "elicitationId", json_object_new_string(hex));
}

/* Why the call's asks cannot be put to the client, or NULL. Fills
 * *missing with the capabilities the client lacks, if that is why. */
static const char *asks_problem(cmcp_call_t *call, json_object **missing) {
  *missing = NULL;
  if (call->asks == NULL || json_object_object_length(call->asks) == 0)
    return "Internal error: the handler needs input but asked for none";
  {
    json_object_object_foreach(call->asks, key, ask) {
      (void)key;
      if ((*missing = cmcp__ask_missing_cap(call, ask)) != NULL)
        return "Missing required client capability";
    }
  }
  return NULL;
}

/* Carries the handler's state into its next round. */
static void keep_state(cmcp_call_t *call) {
  if (call->state_out == NULL)
    return;
  cmcp__free(call->state_in);
  call->state_in = call->state_out;
  call->state_out = NULL;
}

/* Legacy: the call asks the client with real requests (tagged with the
 * task) and the task waits in input_required. */
static void park_legacy(task *t, cmcp_call_t *call) {
  json_object *missing;
  const char *why = asks_problem(call, &missing);
  if (why != NULL) {
    if (missing != NULL)
      json_object_put(missing);
    fail_task(t, call, CMCP_JSONRPC_INTERNAL_ERROR, why, NULL);
    return;
  }
  keep_state(call);
  if (call->inputs == NULL && (call->inputs = json_object_new_object()) == NULL)
    goto nomem;
  {
    json_object_object_foreach(call->asks, key, ask) {
      json_object *params = cmcp__json_get_object(ask, "params");
      if (add_related(params, t->id) != 0 ||
          ensure_elicitation_id(params) != 0 ||
          cmcp__send_ask(call->peer, call, key,
                         cmcp__json_get_string(ask, "method"), params) != 0)
        goto nomem;
    }
  }
  json_object_put(call->asks);
  call->asks = NULL;
  set_status(t, TS_INPUT_REQUIRED, "Waiting for input from the client");
  notify_status(t);
  return;
nomem:
  cmcp__asks_drop_call(call->peer, call);
  fail_task(t, call, CMCP_JSONRPC_INTERNAL_ERROR,
            "Internal error: the client could not be asked for input", NULL);
}

/* Modern: the asks become the task's inputRequests, answered by
 * tasks/update; the call waits without a running handler. */
static void park_modern(task *t, cmcp_call_t *call) {
  json_object *missing, *data;
  const char *why = asks_problem(call, &missing);
  if (why != NULL) {
    data = NULL;
    if (missing != NULL && (data = json_object_new_object()) != NULL &&
        set(data, "requiredCapabilities", missing) != 0) {
      json_object_put(data);
      data = NULL;
    } else if (missing != NULL && data == NULL) {
      json_object_put(missing);
    }
    fail_task(t, call,
              missing != NULL ? CMCP_MCP_MISSING_CAPABILITY
                              : CMCP_JSONRPC_INTERNAL_ERROR,
              why, data);
    if (data != NULL)
      json_object_put(data);
    return;
  }
  keep_state(call);
  if (call->inputs == NULL &&
      (call->inputs = json_object_new_object()) == NULL) {
    fail_task(t, call, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory", NULL);
    return;
  }
  {
    /* 2026-07-28 dropped elicitationId from URL elicitation. */
    json_object_object_foreach(call->asks, key, ask) {
      (void)key;
      json_object_object_del(cmcp__json_get_object(ask, "params"),
                             "elicitationId");
    }
  }
  if (t->inputs != NULL)
    json_object_put(t->inputs);
  t->inputs = call->asks;
  call->asks = NULL;
  t->idle = 1;
  set_status(t, TS_INPUT_REQUIRED, "Waiting for input from the client");
}

/* ext finished(): a task's call finished a round. */
static int tasks_finished(cmcp_call_t *call) {
  store *st = call->srv->tasks_state;
  task *t = call->task;
  pthread_mutex_lock(&st->mu);
  if (!t->announced) {
    if (call->outcome == CMCP__OUT_NEED_INPUT) {
      /* A "required" tool still gathering input: an ordinary MRTR round,
       * not yet a task. The caller frees the unlinked task. */
      unlink_task(st, t);
      t->call = NULL;
      t->announced = -1;
      call->task = NULL;
      pthread_mutex_unlock(&st->mu);
      return 0;
    }
    announce(t);
  }
  if (t->status == TS_CANCELLED || terminal(t->status))
    retire_call(call); /* "it MUST remain in cancelled status" */
  else if (call->outcome == CMCP__OUT_NEED_INPUT && t->modern)
    park_modern(t, call);
  else if (call->outcome == CMCP__OUT_NEED_INPUT)
    park_legacy(t, call);
  else
    settle(t, call);
  pthread_mutex_unlock(&st->mu);
  return 1;
}

/* ---- creating tasks --------------------------------------------------- */

/* Starts a task for an admitted call and runs its handler. announce_now:
 * answer with CreateTaskResult before the handler runs (else only once
 * the handler gets past asking for input). Returns 1 (the call is taken). */
static int start_task(cmcp__peer_t *peer, cmcp_call_t *call, int modern,
                      int64_t ttl_ms, int announce_now) {
  store *st = store_get(peer->srv);
  int64_t limit = cmcp__limit(peer->srv, CMCP_LIMIT_TASKS_PER_PEER);
  cmcp__peer_t *owner = modern ? NULL : peer;
  char text[200];
  task *t;
  if (st == NULL) {
    cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory", NULL);
    return 1;
  }
  pthread_mutex_lock(&st->mu);
  sweep(st, owner, cmcp__now_ms());
  if ((int64_t)count_for(st, owner) >= limit) {
    pthread_mutex_unlock(&st->mu);
    snprintf(text, sizeof(text),
             "Server overloaded: %lld tasks already held "
             "%s (CMCP_LIMIT_TASKS_PER_PEER); retry once some expire",
             (long long)limit,
             modern ? "for 2026-07-28 clients" : "for this session");
    cmcp__stats_refused(CMCP__REFUSE_TASKS_PER_PEER);
    cmcp__call_fail(call, CMCP_MCP_SERVER_OVERLOADED, text, NULL);
    return 1;
  }
  if ((t = task_new(st, owner, modern, ttl_ms)) == NULL) {
    pthread_mutex_unlock(&st->mu);
    cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR,
                    "Internal error: the task could not be created", NULL);
    return 1;
  }
  t->call = call;
  call->task = t;
  if (announce_now)
    announce(t);
  pthread_mutex_unlock(&st->mu);
  cmcp__call_invoke(call);
  if (!announce_now) {
    pthread_mutex_lock(&st->mu);
    if (t->announced < 0)
      task_free(t); /* stayed an MRTR round */
    else if (!t->announced)
      announce(t); /* still running: the answer comes as a task */
    pthread_mutex_unlock(&st->mu);
  }
  return 1;
}

/* The ttl a 2025-11-25 client asked for in params.task, clamped; -1 after
 * answering a malformed one. */
static int64_t legacy_ttl(cmcp_call_t *call) {
  json_object *task_p = NULL, *ttl = NULL;
  int64_t limit = cmcp__limit(call->srv, CMCP_LIMIT_TASK_TTL_MS), v;
  json_object_object_get_ex(call->params, "task", &task_p);
  if (!json_object_is_type(task_p, json_type_object)) {
    cmcp__call_fail(call, CMCP_JSONRPC_INVALID_PARAMS,
                    "Invalid params: params.task must be an object", NULL);
    return -1;
  }
  if (!json_object_object_get_ex(task_p, "ttl", &ttl) || ttl == NULL)
    return limit;
  if (!json_object_is_type(ttl, json_type_int) ||
      (v = json_object_get_int64(ttl)) < 0) {
    cmcp__call_fail(call, CMCP_JSONRPC_INVALID_PARAMS,
                    "Invalid params: params.task.ttl must be a non-negative "
                    "integer (milliseconds)",
                    NULL);
    return -1;
  }
  /* "Receivers MAY override the requested ttl duration." */
  return v < 1 ? 1 : v > limit ? limit : v;
}

/* A 2025-11-25 tools/call: a task when params.task asks for one. */
static int legacy_call(cmcp_call_t *call, int support) {
  char text[300];
  int64_t ttl;
  int has_task = json_object_object_get_ex(call->params, "task", NULL);
  if (call->version != CMCP__V2025_11_25 || !any_task_tool(call->reg))
    return 0; /* no tasks capability: "process requests normally" */
  if (has_task && support == SUPPORT_FORBIDDEN) {
    /* "Servers SHOULD return a -32601 (Method not found) error" */
    snprintf(text, sizeof(text),
             "Method not found: tool %s cannot run as a "
             "task (its execution.taskSupport is not \"optional\" or "
             "\"required\")",
             call->feat->key);
    cmcp__call_fail(call, CMCP_JSONRPC_METHOD_NOT_FOUND, text, NULL);
    return 1;
  }
  if (!has_task && support == SUPPORT_REQUIRED) {
    /* "Servers MUST return a -32601 (Method not found) error" */
    snprintf(text, sizeof(text),
             "Method not found: tool %s must be called "
             "as a task (execution.taskSupport is \"required\"): add "
             "params.task",
             call->feat->key);
    cmcp__call_fail(call, CMCP_JSONRPC_METHOD_NOT_FOUND, text, NULL);
    return 1;
  }
  if (!has_task)
    return 0;
  if ((ttl = legacy_ttl(call)) < 0)
    return 1;
  return start_task(call->peer, call, 0, ttl, 1);
}

/* ext call(): decides whether an admitted tools/call runs as a task. */
static int tasks_call(cmcp__peer_t *peer, cmcp__req *req, cmcp_call_t *call) {
  int support = task_support(call->feat);
  if (!req->modern)
    return legacy_call(call, support);
  if (support == SUPPORT_FORBIDDEN)
    return 0; /* "MUST NOT promote a sync-only tool to a task" */
  if (!ext_declared(req->caps)) {
    if (support == SUPPORT_OPTIONAL)
      return 0;
    /* "the server MUST return an error with the code -32021" */
    cmcp__call_fail(
        call, CMCP_MCP_MISSING_CAPABILITY,
        "Missing required client capability: tool needs the " EXT_TASKS
        " extension (execution.taskSupport is "
        "\"required\")",
        ext_required_data());
    return 1;
  }
  return start_task(peer, call, 1,
                    cmcp__limit(peer->srv, CMCP_LIMIT_TASK_TTL_MS),
                    support == SUPPORT_OPTIONAL);
}

/* ---- the tasks methods -------------------------------------------------- */

/* Sends a modern result decorated with resultType "complete" (consumed). */
static void reply(cmcp__peer_t *peer, cmcp__req *req, json_object *r) {
  if (r == NULL ||
      (req->modern && cmcp__modern_decorate(peer->srv, r, 0, "complete")))
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  else
    cmcp__send_result(peer, req->id, r);
  if (r != NULL)
    json_object_put(r);
}

/* A legacy task whose answers all came back runs again: working. */
static void refresh(task *t) {
  if (!t->modern && t->status == TS_INPUT_REQUIRED && t->call != NULL &&
      t->call->asks_pending == 0) {
    set_status(t, TS_WORKING, NULL);
    notify_status(t);
  }
}

/* tasks/get */
static void m_get(cmcp__peer_t *peer, cmcp__req *req, task *t) {
  json_object *r;
  refresh(t);
  r = req->modern ? detailed_json(t) : task_json(t);
  reply(peer, req, r);
}

/* tasks/result: the payload now, or when the task ends. */
static void m_result(cmcp__peer_t *peer, cmcp__req *req, task *t) {
  json_object *id;
  refresh(t);
  if (terminal(t->status)) {
    send_payload(peer, t, req->id);
    return;
  }
  if (t->waiters == NULL && (t->waiters = json_object_new_array()) == NULL)
    goto nomem;
  if (json_object_array_length(t->waiters) >= MAX_WAITERS) {
    cmcp__stats_refused(CMCP__REFUSE_TASK_WAITERS);
    cmcp__send_error(peer, req->id, CMCP_MCP_SERVER_OVERLOADED,
                     "Server overloaded: too many tasks/result requests "
                     "already wait for this task",
                     NULL);
    return;
  }
  if ((id = id_copy(req->id)) == NULL ||
      json_object_array_add(t->waiters, id) != 0) {
    if (id != NULL)
      json_object_put(id);
    goto nomem;
  }
  return;
nomem:
  cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory",
                   NULL);
}

/* tasks/cancel */
static void m_cancel(cmcp__peer_t *peer, cmcp__req *req, task *t) {
  cmcp_call_t *call = t->call;
  char text[200];
  int idle;
  if (terminal(t->status)) {
    if (req->modern) { /* idempotent ack (SEP-2663) */
      reply(peer, req, json_object_new_object());
      return;
    }
    /* "Receivers MUST reject cancellation requests for tasks already in a
     * terminal status ... with error code -32602 (Invalid params)." */
    snprintf(text, sizeof(text),
             "Invalid params: cannot cancel task %s: it "
             "is already %s",
             t->id, status_names[t->status]);
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS, text, NULL);
    return;
  }
  idle = call != NULL && call_idle(t);
  /* "MUST transition the task to cancelled status before sending the
   * response" */
  set_error(t, CMCP_JSONRPC_INTERNAL_ERROR,
            "The task was cancelled before it finished", NULL);
  finish_task(t, TS_CANCELLED, "The task was cancelled by request.");
  if (call != NULL) {
    atomic_store(&call->cancelled, 1);
    /* Posted, the job owns the call; else its peer's close frees it. */
    if (idle && on_call_loop(call, retire_job) == 0)
      t->idle = 0;
  }
  reply(peer, req, req->modern ? json_object_new_object() : task_json(t));
}

/* Moves the answered keys of inputResponses into the call; 1 when no
 * input is pending any more. Unknown keys are ignored. */
static int take_answers(task *t, json_object *resp) {
  json_object_object_foreach(resp, key, v) {
    if (!json_object_object_get_ex(t->inputs, key, NULL) ||
        !json_object_is_type(v, json_type_object))
      continue;
    /* A copy: the request's objects belong to this loop thread, the call
     * may run on another (json-c reference counts are not atomic). */
    json_object *copy = NULL;
    if (json_object_deep_copy(v, &copy, NULL) != 0 ||
        json_object_object_add(t->call->inputs, key, copy) != 0) {
      if (copy != NULL)
        json_object_put(copy);
      return -1;
    }
    json_object_object_del(t->inputs, key);
  }
  return json_object_object_length(t->inputs) == 0;
}

/* tasks/update (extension): answers to the pending inputRequests. */
static void m_update(cmcp__peer_t *peer, cmcp__req *req, task *t) {
  json_object *resp = cmcp__json_get_object(req->msg->params, "inputResponses");
  cmcp_call_t *resume = NULL;
  int done;
  if (resp == NULL) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS,
                     "Invalid params: params.inputResponses must be an "
                     "object",
                     NULL);
    return;
  }
  if (t->status == TS_INPUT_REQUIRED && t->call != NULL && t->inputs != NULL) {
    done = take_answers(t, resp);
    if (done < 0) {
      cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                       "Out of memory", NULL);
      return;
    }
    if (done) {
      json_object_put(t->inputs);
      t->inputs = NULL;
      t->idle = 0;
      set_status(t, TS_WORKING, NULL);
      resume = t->call;
    }
  }
  reply(peer, req, json_object_new_object());
  if (resume != NULL && on_call_loop(resume, resume_job) != 0) {
    t->idle = 1; /* released when its peer closes */
    set_error(t, CMCP_JSONRPC_INTERNAL_ERROR,
              "The connection that ran this "
              "task closed before it finished",
              NULL);
    finish_task(t, TS_FAILED, "The connection that ran this task closed");
  }
}

/* tasks/list (2025-11-25): this session's tasks, paginated. */
static void m_list(cmcp__peer_t *peer, cmcp__req *req, store *st) {
  size_t page = (size_t)cmcp__limit(peer->srv, CMCP_LIMIT_PAGE_SIZE);
  size_t offset = 0, i = 0, end;
  const char *cursor = cmcp__json_get_string(req->msg->params, "cursor");
  json_object *arr = json_object_new_array(), *r = json_object_new_object();
  json_object *item;
  cmcp__buf cur;
  task *t;
  if (cursor != NULL &&
      cmcp__cursor_open(peer->srv, "tasks/list", cursor, &offset) != 0) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS,
                     "Invalid params: invalid or expired cursor", NULL);
    goto out;
  }
  end = offset + page;
  for (t = *list_of(st, peer); t != NULL && arr != NULL; t = t->next) {
    if (!t->announced || i++ < offset)
      continue;
    if (i > end)
      break;
    refresh(t);
    item = task_json(t);
    if (item == NULL || json_object_array_add(arr, item) != 0) {
      if (item != NULL)
        json_object_put(item);
      goto nomem;
    }
  }
  if (set(r, "tasks", json_object_get(arr)) != 0)
    goto nomem;
  if (t != NULL) { /* more after this page */
    cmcp__buf_init(&cur, 1024);
    if (cmcp__cursor_make(peer->srv, "tasks/list", end, &cur) != 0 ||
        set(r, "nextCursor", json_object_new_string(cur.data)) != 0) {
      cmcp__buf_free(&cur);
      goto nomem;
    }
    cmcp__buf_free(&cur);
  }
  cmcp__send_result(peer, req->id, r);
  goto out;
nomem:
  cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory",
                   NULL);
out:
  if (arr != NULL)
    json_object_put(arr);
  if (r != NULL)
    json_object_put(r);
}

/* Gates a tasks method by era and capability; answers and returns -1 when
 * it is not served here. */
static int gate(cmcp__peer_t *peer, cmcp__req *req) {
  const char *m = req->method_name;
  char text[200];
  cmcp__registry *reg = cmcp__registry_acquire(peer->srv);
  int offered = any_task_tool(reg), removed;
  cmcp__registry_unref(reg);
  removed = req->modern
                ? strcmp(m, "tasks/result") == 0 || strcmp(m, "tasks/list") == 0
                : strcmp(m, "tasks/update") == 0;
  if (!offered || removed ||
      (!req->modern && req->version != CMCP__V2025_11_25)) {
    snprintf(text, sizeof(text), "Method not found: %s%s", m,
             !offered      ? " (no tool of this server runs as a task)"
             : req->modern ? " is not part of the tasks extension"
                           : " is not available in this protocol version");
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_METHOD_NOT_FOUND, text, NULL);
    return -1;
  }
  if (req->modern && !ext_declared(req->caps)) {
    missing_ext(peer, req->id);
    return -1;
  }
  return 0;
}

/* ext request(): tasks/get, tasks/result, tasks/list, tasks/cancel,
 * tasks/update. */
static void tasks_request(cmcp__peer_t *peer, cmcp__req *req) {
  const char *m = req->method_name, *id;
  store *st;
  task *t;
  char text[200];
  if (gate(peer, req) != 0)
    return;
  if ((st = store_get(peer->srv)) == NULL) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
    return;
  }
  pthread_mutex_lock(&st->mu);
  if (strcmp(m, "tasks/list") == 0) {
    m_list(peer, req, st);
    goto out;
  }
  id = cmcp__json_get_string(req->msg->params, "taskId");
  if (id == NULL) {
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS,
                     "Invalid params: params.taskId must be a string", NULL);
    goto out;
  }
  if ((t = find(st, id, peer, req->modern)) == NULL) {
    /* "Invalid or nonexistent taskId ...: -32602 (Invalid params)" */
    snprintf(text, sizeof(text),
             "Invalid params: task not found (unknown "
             "or expired taskId)%s",
             "");
    cmcp__send_error(peer, req->id, CMCP_JSONRPC_INVALID_PARAMS, text, NULL);
    goto out;
  }
  if (strcmp(m, "tasks/get") == 0)
    m_get(peer, req, t);
  else if (strcmp(m, "tasks/result") == 0)
    m_result(peer, req, t);
  else if (strcmp(m, "tasks/cancel") == 0)
    m_cancel(peer, req, t);
  else
    m_update(peer, req, t);
out:
  pthread_mutex_unlock(&st->mu);
}

/* ---- lifetime hooks ------------------------------------------------------ */

/* ext tick(): sweeps this session's finished tasks and the modern ones. */
static int64_t tasks_tick(cmcp__peer_t *peer, uint64_t now_ms) {
  store *st = peer->srv->tasks_state;
  int64_t a, b;
  if (st == NULL)
    return -1;
  pthread_mutex_lock(&st->mu);
  a = sweep(st, peer, now_ms);
  b = sweep(st, NULL, now_ms);
  pthread_mutex_unlock(&st->mu);
  return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Lets go of a task's call when its peer closes: an idle call (waiting
 * for answers) is freed now, a running one when its handler returns. */
static void detach_call(task *t) {
  cmcp_call_t *call = t->call;
  int idle = call_idle(t);
  t->call = NULL;
  t->idle = 0;
  call->task = NULL;
  atomic_store(&call->cancelled, 1);
  if (idle) {
    cmcp__asks_drop_call(call->peer, call);
    cmcp__inflight_remove(call->peer, call);
    cmcp__call_free(call);
  }
}

/* ext peer_closed(): a session's tasks go with it; a modern task whose
 * call ran on this peer fails (nothing can finish it any more). */
static void tasks_peer_closed(cmcp__peer_t *peer) {
  store *st = peer->srv->tasks_state;
  task *t, *next;
  if (st == NULL)
    return;
  pthread_mutex_lock(&st->mu);
  for (t = st->head; t != NULL; t = t->next) {
    if (t->call == NULL || t->call->peer != peer)
      continue;
    detach_call(t);
    if (!terminal(t->status)) {
      set_error(t, CMCP_JSONRPC_INTERNAL_ERROR,
                "The connection that ran this task closed before it "
                "finished",
                NULL);
      set_status(t, TS_FAILED, "The connection that ran this task closed");
    }
  }
  for (t = peer->tasks; t != NULL; t = next) {
    next = t->next;
    if (t->call != NULL)
      detach_call(t);
    task_free(t);
  }
  peer->tasks = NULL;
  pthread_mutex_unlock(&st->mu);
}

/* The 2025-11-25 ServerCapabilities.tasks object, or NULL on ENOMEM. */
static json_object *legacy_caps(void) {
  json_object *o = json_object_new_object(), *req = json_object_new_object();
  json_object *tools = json_object_new_object();
  if (set(tools, "call", json_object_new_object()) != 0) {
    json_object_put(tools);
    goto fail;
  }
  if (set(req, "tools", tools) != 0)
    goto fail;
  if (set(o, "requests", req) != 0) {
    req = NULL;
    goto fail;
  }
  req = NULL;
  if (set(o, "list", json_object_new_object()) != 0 ||
      set(o, "cancel", json_object_new_object()) != 0)
    goto fail;
  return o;
fail:
  if (req != NULL)
    json_object_put(req);
  if (o != NULL)
    json_object_put(o);
  return NULL;
}

/* ext capabilities(): declared only when some tool runs as a task. */
static void tasks_capabilities(cmcp_server_t *srv, int version,
                               json_object *caps) {
  cmcp__registry *reg = cmcp__registry_acquire(srv);
  json_object *ext;
  int offered = any_task_tool(reg);
  cmcp__registry_unref(reg);
  if (!offered)
    return;
  if (version == CMCP__V2026_07_28) {
    ext = cmcp__json_get_object(caps, "extensions");
    if (ext == NULL &&
        set(caps, "extensions", ext = json_object_new_object()) != 0)
      return;
    set(ext, EXT_TASKS, json_object_new_object());
  } else if (version == CMCP__V2025_11_25) { /* tasks came with 2025-11-25 */
    set(caps, "tasks", legacy_caps());
  }
}

/* ext server_free(): every peer is closed (their tasks went with them);
 * free the modern ones. */
static void tasks_server_free(cmcp_server_t *srv) {
  store *st = srv->tasks_state;
  task *t, *next;
  if (st == NULL)
    return;
  for (t = st->head; t != NULL; t = next) {
    next = t->next;
    task_free(t);
  }
  pthread_mutex_destroy(&st->mu);
  cmcp__free(st);
  srv->tasks_state = NULL;
}

const cmcp__ext_ops cmcp__tasks_ops = {
    tasks_request,      tasks_call,     tasks_tick,       tasks_peer_closed,
    tasks_capabilities, tasks_finished, tasks_server_free};
