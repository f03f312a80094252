/* src/proto/call.c: cmcp_call_t, what a handler sees of a request.
 *
 * A call is one allocation made when a request is admitted. The handler
 * fills the result with the cmcp_call_add_* / _set_* functions from
 * whatever thread it runs on and finishes it once; finishing hands the call
 * back to its peer's loop thread, where cmcp__call_complete sends the
 * answer and frees the call.
 *
 * Exactly-once: call->claimed makes the second finishing function fail
 * with CMCP_ESTATE; call->state (IN_HANDLER | FINISHED, changed only with
 * atomic read-modify-write) decides who completes: the finisher when no
 * handler invocation is running, else the engine when the invocation
 * returns. Whichever sees the other's bit does the work, and only one can.
 */
#include "engine.h"

#include "base/base64.h"

#include <math.h>
#include <string.h>

/* ---- lifetime -------------------------------------------------------------
 */

/* The name a call is about: the tool or prompt name, or the URI. */
static const char *call_name(const cmcp__req *req) {
  const char *field = req->method == CMCP__M_RESOURCES_READ ? "uri" : "name";
  return req->msg->params ? cmcp__json_get_string(req->msg->params, field)
                          : NULL;
}

cmcp_call_t *cmcp__call_new(cmcp__peer_t *peer, const cmcp__req *req,
                            cmcp__registry *reg, const cmcp__feature *feat) {
  cmcp_call_t *call = cmcp__calloc(1, sizeof(*call));
  json_object *args = NULL;
  if (call == NULL)
    return NULL;
  call->srv = peer->srv;
  call->peer = peer;
  cmcp__peer_ref(peer);
  call->reg = reg;
  if (reg != NULL)
    atomic_fetch_add(&reg->refs, 1);
  call->feat = feat;
  call->root = json_object_get(req->msg->root);
  call->id = req->id;
  call->params = req->msg->params;
  if (call->params != NULL &&
      json_object_object_get_ex(call->params, "arguments", &args) &&
      json_object_is_type(args, json_type_object))
    call->args = args;
  call->caps = req->caps;
  call->method = req->method;
  call->modern = req->modern;
  call->version = req->version;
  call->log_level = req->log_level;
  call->name = call_name(req);
  /* ProgressToken is a string or an integer; anything else is ignored. */
  if (req->meta != NULL &&
      json_object_object_get_ex(req->meta, "progressToken",
                                &call->progress_token) &&
      !json_object_is_type(call->progress_token, json_type_string) &&
      !json_object_is_type(call->progress_token, json_type_int))
    call->progress_token = NULL;
  cmcp__buf_init(&call->content,
                 (size_t)cmcp__limit(peer->srv, CMCP_LIMIT_OUTBOUND_BYTES));
  atomic_init(&call->state, 0);
  atomic_init(&call->cancelled, 0);
  atomic_init(&call->claimed, 0);
  /* The call now owns the request's meter: its answer, or its end
   * unanswered, counts it. */
  if (cmcp__stats_meter_current() != NULL) {
    call->meter = *cmcp__stats_meter_current();
    cmcp__stats_meter_current()->done = 1;
  }
  cmcp__stats_gauge_add(CMCP__SG_INFLIGHT, 1);
  return call;
}

static void put(json_object **o) {
  if (*o != NULL)
    json_object_put(*o);
  *o = NULL;
}

void cmcp__call_reset_round(cmcp_call_t *call) {
  cmcp__buf_reset(&call->content);
  put(&call->structured);
  put(&call->contents);
  put(&call->messages);
  put(&call->values);
  put(&call->extra);
  put(&call->err_data);
  put(&call->asks);
  cmcp__free(call->err_msg);
  call->err_msg = NULL;
  call->has_total = call->has_more = 0;
  call->values_dropped = 0;
  call->outcome = CMCP__OUT_NONE;
  atomic_store(&call->claimed, 0);
}

void cmcp__call_free(cmcp_call_t *call) {
  cmcp__peer_t *peer;
  if (call == NULL)
    return;
  peer = call->peer;
  cmcp__call_reset_round(call);
  cmcp__buf_free(&call->content);
  put(&call->inputs);
  put(&call->listen_uris);
  put(&call->root);
  cmcp__free(call->state_in);
  cmcp__free(call->state_out);
  cmcp__uritpl_match_free(&call->vars);
  cmcp__registry_unref(call->reg);
  atomic_fetch_sub(&call->srv->inflight_total, 1);
  cmcp__stats_gauge_add(CMCP__SG_INFLIGHT, -1);
  cmcp__stats_meter_end(&call->meter, CMCP__SO_CANCELLED);
  cmcp__free(call);
  cmcp__peer_unref(peer);
}

int cmcp__call_on_loop(const cmcp_call_t *call) {
  return pthread_equal(pthread_self(), call->peer->loop) ||
         call->peer->ops->post == NULL;
}

/* ---- running the handler ------------------------------------------------- */

static void run_handler(cmcp_call_t *call) {
  if (call->feat != NULL)
    call->feat->fn(call, call->feat->data);
  else if (call->srv->completion_fn != NULL)
    call->srv->completion_fn(call, call->srv->completion_data);
}

/* The invocation returned: complete the call if it finished meanwhile. */
static void handler_returned(cmcp_call_t *call) {
  unsigned old = atomic_fetch_and(&call->state, ~(unsigned)CMCP__CS_IN_HANDLER);
  if (old & CMCP__CS_FINISHED)
    cmcp__call_complete(call);
}

static void blocking_work(void *arg) {
  run_handler(arg);
}
static void blocking_done(void *arg) {
  handler_returned(arg);
}

void cmcp__call_invoke(cmcp_call_t *call) {
  const cmcp__peer_ops *ops = call->peer->ops;
  int rc;
  atomic_store(&call->state, CMCP__CS_IN_HANDLER);
  if (call->feat != NULL && (call->feat->flags & CMCP_FEATURE_BLOCKING) &&
      ops->run_blocking != NULL) {
    rc = ops->run_blocking(call->peer->ctx, blocking_work, blocking_done, call);
    if (rc == 0)
      return;
    atomic_store(&call->state, 0);
    if (rc == CMCP_ELIMIT)
      cmcp__stats_refused(CMCP__REFUSE_QUEUE);
    if (rc == CMCP_ELIMIT)
      cmcp__call_fail(call, CMCP_MCP_SERVER_OVERLOADED,
                      "Server overloaded: the worker queue is full "
                      "(CMCP_LIMIT_WORKER_QUEUE, --queue); retry later",
                      NULL);
    else
      cmcp__call_fail(call, CMCP_JSONRPC_INTERNAL_ERROR,
                      "The worker pool is not available", NULL);
    return;
  }
  run_handler(call);
  handler_returned(call);
}

/* ---- finishing ------------------------------------------------------------
 */

static void complete_posted(void *arg) {
  cmcp__call_complete(arg);
}

/* Drops a late result of a closed peer. The peer may still be writing to
 * the call as it closes: the second of the two parties frees it. */
static void drop_late(cmcp_call_t *call) {
  unsigned old = atomic_fetch_or(&call->state, CMCP__CS_DROPPED);
  if (old & CMCP__CS_ORPHANED)
    cmcp__call_free(call);
}

void cmcp__call_orphaned(cmcp_call_t *call) {
  unsigned old = atomic_fetch_or(&call->state, CMCP__CS_ORPHANED);
  if (old & CMCP__CS_DROPPED)
    cmcp__call_free(call);
}

/* Brings a finished call to its loop thread for completion. */
static void handoff(cmcp_call_t *call) {
  cmcp__peer_t *peer = call->peer;
  if (cmcp__call_on_loop(call)) {
    cmcp__call_complete(call);
    return;
  }
  /* After cmcp__peer_close no op may run: the late result is dropped. */
  if (cmcp__peer_post(peer, complete_posted, call) != 0)
    drop_late(call);
}

/* Claims the right to finish the current round. */
static int claim(cmcp_call_t *call) {
  if (call == NULL)
    return CMCP_EINVAL;
  return atomic_exchange(&call->claimed, 1) ? CMCP_ESTATE : 0;
}

/* Publishes the outcome written after a successful claim. */
static int finish(cmcp_call_t *call, cmcp__outcome outcome) {
  unsigned old;
  call->outcome = outcome;
  old = atomic_fetch_or(&call->state, CMCP__CS_FINISHED);
  if (!(old & CMCP__CS_IN_HANDLER))
    handoff(call);
  return 0;
}

int cmcp_call_done(cmcp_call_t *call) {
  int rc = claim(call);
  return rc != 0 ? rc : finish(call, CMCP__OUT_DONE);
}

int cmcp_call_tool_error(cmcp_call_t *call, const char *message) {
  int rc = claim(call);
  if (rc != 0)
    return rc;
  call->err_msg = cmcp__strdup(message != NULL ? message : "Tool error");
  if (call->method != CMCP__M_TOOLS_CALL) {
    call->err_code = CMCP_JSONRPC_INTERNAL_ERROR;
    return finish(call, CMCP__OUT_ERROR);
  }
  return finish(call, CMCP__OUT_TOOL_ERROR);
}

/* Parses any JSON value text with the server's limits. */
static int parse_value(const cmcp_call_t *call, const char *text,
                       json_object **out) {
  cmcp__json_limits lim;
  char err[128];
  lim.max_bytes = (size_t)cmcp__limit(call->srv, CMCP_LIMIT_MESSAGE_BYTES);
  lim.max_depth = (int)cmcp__limit(call->srv, CMCP_LIMIT_JSON_DEPTH);
  *out = NULL;
  if (text == NULL)
    return CMCP_EINVAL;
  return cmcp__json_parse(text, strlen(text), &lim, out, err, sizeof(err)) == 0
             ? 0
             : CMCP_EINVAL;
}

int cmcp_call_error(cmcp_call_t *call, int code, const char *message,
                    const char *data_json) {
  int rc = claim(call);
  if (rc != 0)
    return rc;
  call->err_code = code;
  call->err_msg = cmcp__strdup(message != NULL ? message : "Error");
  if (data_json != NULL && parse_value(call, data_json, &call->err_data) != 0)
    cmcp__log(CMCP_LOG_WARNING, "cmcp_call_error: data is not JSON; omitted");
  return finish(call, CMCP__OUT_ERROR);
}

int cmcp_call_need_input(cmcp_call_t *call) {
  int rc = claim(call);
  if (rc != 0)
    return rc;
  if (call->method == CMCP__M_COMPLETE) {
    call->err_code = CMCP_JSONRPC_INTERNAL_ERROR;
    call->err_msg = cmcp__strdup("completion/complete cannot ask for input");
    return finish(call, CMCP__OUT_ERROR);
  }
  return finish(call, CMCP__OUT_NEED_INPUT);
}

void cmcp__call_fail(cmcp_call_t *call, int code, const char *message,
                     json_object *data) {
  cmcp__call_reset_round(call);
  atomic_store(&call->claimed, 1);
  call->err_code = code;
  call->err_msg = cmcp__strdup(message);
  call->err_data = data;
  call->outcome = CMCP__OUT_ERROR;
  cmcp__call_complete(call);
}

/* ---- accessors ------------------------------------------------------------
 */

cmcp_server_t *cmcp_call_server(const cmcp_call_t *call) {
  return call->srv;
}

const char *cmcp_call_method(const cmcp_call_t *call) {
  switch (call->method) {
  case CMCP__M_TOOLS_CALL:
    return "tools/call";
  case CMCP__M_RESOURCES_READ:
    return "resources/read";
  case CMCP__M_PROMPTS_GET:
    return "prompts/get";
  case CMCP__M_COMPLETE:
    return "completion/complete";
  default:
    return "";
  }
}

const char *cmcp_call_name(const cmcp_call_t *call) {
  return call->name;
}

const char *cmcp_call_protocol_version(const cmcp_call_t *call) {
  return cmcp__version_name(call->version);
}

int cmcp_call_is_modern(const cmcp_call_t *call) {
  return call->modern;
}
json_object *cmcp_call_params(const cmcp_call_t *call) {
  return call->params;
}

json_object *cmcp_call_arguments(const cmcp_call_t *call) {
  return call->args;
}

/* The argument key of json type t, or a status. */
static int arg_get(const cmcp_call_t *call, const char *key, json_object **v) {
  if (call == NULL || key == NULL)
    return CMCP_EINVAL;
  if (call->args == NULL || !json_object_object_get_ex(call->args, key, v) ||
      *v == NULL)
    return CMCP_ENOENT;
  return 0;
}

int cmcp_call_arg_string(const cmcp_call_t *call, const char *key,
                         const char **out) {
  json_object *v;
  int rc = arg_get(call, key, &v);
  if (rc != 0)
    return rc;
  if (!json_object_is_type(v, json_type_string))
    return CMCP_EINVAL;
  *out = json_object_get_string(v);
  return 0;
}

int cmcp_call_arg_double(const cmcp_call_t *call, const char *key,
                         double *out) {
  json_object *v;
  int rc = arg_get(call, key, &v);
  if (rc != 0)
    return rc;
  if (!json_object_is_type(v, json_type_double) &&
      !json_object_is_type(v, json_type_int))
    return CMCP_EINVAL;
  *out = json_object_get_double(v);
  return 0;
}

int cmcp_call_arg_int64(const cmcp_call_t *call, const char *key,
                        int64_t *out) {
  json_object *v;
  double d;
  int rc = arg_get(call, key, &v);
  if (rc != 0)
    return rc;
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v);
    return 0;
  }
  if (!json_object_is_type(v, json_type_double))
    return CMCP_EINVAL;
  d = json_object_get_double(v);
  if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
    return CMCP_EINVAL;
  *out = (int64_t)d;
  return 0;
}

int cmcp_call_arg_bool(const cmcp_call_t *call, const char *key, int *out) {
  json_object *v;
  int rc = arg_get(call, key, &v);
  if (rc != 0)
    return rc;
  if (!json_object_is_type(v, json_type_boolean))
    return CMCP_EINVAL;
  *out = json_object_get_boolean(v) ? 1 : 0;
  return 0;
}

const char *cmcp_call_uri_var(const cmcp_call_t *call, const char *name) {
  return cmcp__uritpl_match_get(&call->vars, name);
}

int cmcp_call_client_has(const cmcp_call_t *call, const char *capability) {
  return call->caps != NULL && capability != NULL &&
         json_object_object_get_ex(call->caps, capability, NULL);
}

void *cmcp_call_data(const cmcp_call_t *call) {
  return call->feat != NULL ? call->feat->data : call->srv->completion_data;
}

int cmcp_call_is_cancelled(const cmcp_call_t *call) {
  return atomic_load(&call->cancelled);
}

/* ---- building the result --------------------------------------------------
 */

/* Appends item (consumed) to the array *arr, created on first use. */
static int append(json_object **arr, json_object *item) {
  if (item == NULL)
    return CMCP_ENOMEM;
  if (*arr == NULL && (*arr = json_object_new_array()) == NULL) {
    json_object_put(item);
    return CMCP_ENOMEM;
  }
  if (json_object_array_add(*arr, item) != 0) {
    json_object_put(item);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* A new object with up to three string fields (NULL values skipped). */
static json_object *obj3(const char *k1, const char *v1, const char *k2,
                         const char *v2, const char *k3, const char *v3) {
  const char *k[3] = {k1, k2, k3}, *v[3] = {v1, v2, v3};
  json_object *o = json_object_new_object();
  int i;
  for (i = 0; o != NULL && i < 3; i++) {
    json_object *s;
    if (k[i] == NULL || v[i] == NULL)
      continue;
    s = json_object_new_string(v[i]);
    if (s == NULL || json_object_object_add(o, k[i], s) != 0) {
      json_object_put(s);
      json_object_put(o);
      return NULL;
    }
  }
  return o;
}

int cmcp_call_add_text(cmcp_call_t *call, const char *text) {
  const char *kv[4] = {"type", "text", "text", text};
  if (call == NULL || text == NULL)
    return CMCP_EINVAL;
  return cmcp__w_block(&call->content, kv, 4);
}

/* 1 if the call's protocol version has content blocks of this type
 * (audio came in 2025-03-26, resource_link in 2025-06-18). */
static int content_type_known(const cmcp_call_t *call, const char *type) {
  if (strcmp(type, "audio") == 0)
    return call->version <= CMCP__V2025_03_26;
  if (strcmp(type, "resource_link") == 0)
    return call->version <= CMCP__V2025_06_18;
  return 1;
}

/* image/audio content after checking the base64. */
static int add_media(cmcp_call_t *call, const char *type, const char *b64,
                     const char *mime) {
  const char *kv[6] = {"type", type, "data", b64, "mimeType", mime};
  if (call == NULL || b64 == NULL || mime == NULL ||
      cmcp__base64_check(b64, strlen(b64), CMCP__B64_STD, NULL) != 0)
    return CMCP_EINVAL;
  if (!content_type_known(call, type))
    return CMCP_EUNSUPPORTED;
  return cmcp__w_block(&call->content, kv, 6);
}

int cmcp_call_add_image(cmcp_call_t *call, const char *base64,
                        const char *mime_type) {
  return add_media(call, "image", base64, mime_type);
}

int cmcp_call_add_audio(cmcp_call_t *call, const char *base64,
                        const char *mime_type) {
  return add_media(call, "audio", base64, mime_type);
}

int cmcp_call_add_content_json(cmcp_call_t *call, const char *block_json) {
  json_object *block = NULL;
  int rc;
  if (call == NULL)
    return CMCP_EINVAL;
  if ((rc = cmcp__parse_api_object(block_json, &block)) != 0)
    return rc;
  if (cmcp__json_get_string(block, "type") == NULL) {
    rc = CMCP_EINVAL;
  } else if (!content_type_known(call, cmcp__json_get_string(block, "type"))) {
    rc = CMCP_EUNSUPPORTED;
  } else {
    size_t mark = call->content.len;
    rc = cmcp__buf_add(&call->content, mark > 0 ? "," : "", mark > 0);
    if (rc == 0)
      rc = cmcp__w_json(&call->content, block);
    if (rc != 0) /* leave the list as it was */
      cmcp__w_truncate(&call->content, mark);
  }
  json_object_put(block);
  return rc;
}

int cmcp_call_set_structured(cmcp_call_t *call, const char *json) {
  json_object *v = NULL;
  int rc;
  if (call == NULL)
    return CMCP_EINVAL;
  if ((rc = cmcp__parse_api_object(json, &v)) != 0)
    return rc;
  put(&call->structured);
  call->structured = v;
  return 0;
}

int cmcp_call_add_text_contents(cmcp_call_t *call, const char *uri,
                                const char *mime_type, const char *text) {
  if (call == NULL || text == NULL)
    return CMCP_EINVAL;
  return append(&call->contents, obj3("uri", uri != NULL ? uri : call->name,
                                      "mimeType", mime_type, "text", text));
}

int cmcp_call_add_blob_contents(cmcp_call_t *call, const char *uri,
                                const char *mime_type, const char *base64) {
  if (call == NULL || base64 == NULL ||
      cmcp__base64_check(base64, strlen(base64), CMCP__B64_STD, NULL) != 0)
    return CMCP_EINVAL;
  return append(&call->contents, obj3("uri", uri != NULL ? uri : call->name,
                                      "mimeType", mime_type, "blob", base64));
}

/* Sets extra[key] = v (consumed). */
static int extra_set(cmcp_call_t *call, const char *key, json_object *v) {
  if (v == NULL)
    return CMCP_ENOMEM;
  if (call->extra == NULL && (call->extra = json_object_new_object()) == NULL) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  if (json_object_object_add(call->extra, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

int cmcp_call_set_description(cmcp_call_t *call, const char *text) {
  if (call == NULL || text == NULL)
    return CMCP_EINVAL;
  return extra_set(call, "description", json_object_new_string(text));
}

int cmcp_call_add_prompt_message(cmcp_call_t *call, const char *role,
                                 const char *content_json) {
  json_object *content = NULL, *msg;
  int rc;
  if (call == NULL || role == NULL ||
      (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
    return CMCP_EINVAL;
  if ((rc = cmcp__parse_api_object(content_json, &content)) != 0)
    return rc;
  if (cmcp__json_get_string(content, "type") == NULL) {
    json_object_put(content);
    return CMCP_EINVAL;
  }
  msg = obj3("role", role, NULL, NULL, NULL, NULL);
  if (msg == NULL || json_object_object_add(msg, "content", content) != 0) {
    json_object_put(content);
    json_object_put(msg);
    return CMCP_ENOMEM;
  }
  return append(&call->messages, msg);
}

/* CompleteResult allows at most this many values. */
#define COMPLETION_MAX_VALUES 100

int cmcp_call_add_completion(cmcp_call_t *call, const char *value) {
  if (call == NULL || value == NULL)
    return CMCP_EINVAL;
  if (call->values != NULL &&
      json_object_array_length(call->values) >= COMPLETION_MAX_VALUES) {
    call->values_dropped++;
    return 0;
  }
  return append(&call->values, json_object_new_string(value));
}

int cmcp_call_set_completion_total(cmcp_call_t *call, int64_t total,
                                   int has_more) {
  if (call == NULL || total < 0)
    return CMCP_EINVAL;
  call->total = total;
  call->has_total = 1;
  call->has_more = has_more != 0;
  return 0;
}

/* Result keys the engine writes itself. */
static int engine_owned(const char *key) {
  static const char *const owned[] = {
      "content",    "structuredContent", "isError",     "contents",
      "messages",   "completion",        "resultType",  "ttlMs",
      "cacheScope", "inputRequests",     "requestState"};
  size_t i;
  for (i = 0; i < CMCP__ARRAY_SIZE(owned); i++)
    if (strcmp(key, owned[i]) == 0)
      return 1;
  return 0;
}

int cmcp_call_set_result_field(cmcp_call_t *call, const char *key,
                               const char *json) {
  json_object *v = NULL;
  if (call == NULL || key == NULL || engine_owned(key))
    return CMCP_EINVAL;
  if (parse_value(call, json, &v) != 0)
    return CMCP_EINVAL;
  return extra_set(call, key, v);
}

/* ---- while running: progress and logs -------------------------------------
 */

typedef struct out_job {
  cmcp__peer_t *peer;
  json_object *related; /* a copy of the call's id */
  size_t cost;          /* counted in peer->posted_bytes */
  size_t len;
  char text[];
} out_job;

static void out_job_run(void *arg) {
  out_job *job = arg;
  cmcp__out_info info = {CMCP__OUT_NOTIFICATION, job->related, 0};
  if (!atomic_load(&job->peer->closed))
    job->peer->ops->send(job->peer->ctx, job->text, job->len, &info);
  cmcp__peer_post_release(job->peer, job->cost);
  json_object_put(job->related);
  cmcp__peer_unref(job->peer);
  cmcp__free(job);
}

/* A copy of a request id that another thread may own. */
static json_object *id_copy(json_object *id) {
  if (json_object_is_type(id, json_type_int))
    return json_object_new_int64(json_object_get_int64(id));
  return json_object_new_string_len(json_object_get_string(id),
                                    json_object_get_string_len(id));
}

/* Sends a notification related to call from any thread. Off the loop, what
 * waits for the loop is bounded by CMCP_LIMIT_OUTBOUND_BYTES per peer: past
 * it the notification is dropped and the handler told (CMCP_ELIMIT). */
static int call_notify(cmcp_call_t *call, const char *method,
                       json_object *params) {
  cmcp__peer_t *peer = call->peer;
  size_t len;
  char *text;
  out_job *job;
  int rc;
  if (cmcp__call_on_loop(call))
    return cmcp__send_notification(peer, method, params, call->id);
  text = cmcp__rpc_encode_notification(method, params, &len);
  job = text != NULL ? cmcp__malloc(sizeof(*job) + len + 1) : NULL;
  if (job == NULL || (job->related = id_copy(call->id)) == NULL) {
    cmcp__free(job);
    cmcp__free(text);
    return CMCP_ENOMEM;
  }
  memcpy(job->text, text, len + 1);
  cmcp__free(text);
  job->len = len;
  job->peer = peer;
  job->cost = sizeof(*job) + len + 1;
  if (cmcp__peer_post_reserve(peer, job->cost) != 0) {
    json_object_put(job->related);
    cmcp__free(job);
    return CMCP_ELIMIT;
  }
  cmcp__peer_ref(peer);
  rc = cmcp__peer_post(peer, out_job_run, job);
  if (rc != 0) {
    cmcp__peer_post_release(peer, job->cost);
    json_object_put(job->related);
    cmcp__peer_unref(peer);
    cmcp__free(job);
  }
  return rc;
}

/* Sets o[key] = v (consumed); ENOMEM leaves o as it was. */
static int set(json_object *o, const char *key, json_object *v) {
  if (v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

int cmcp_call_progress(cmcp_call_t *call, double progress, double total,
                       const char *message) {
  json_object *p;
  int rc;
  if (call == NULL || !isfinite(progress))
    return CMCP_EINVAL;
  if (call->progress_token == NULL)
    return 0;
  if (call->progress_sent && progress <= call->progress_last)
    return CMCP_EINVAL;
  p = json_object_new_object();
  if (p == NULL ||
      set(p, "progressToken", id_copy(call->progress_token)) != 0 ||
      set(p, "progress", json_object_new_double(progress)) != 0 ||
      (total >= 0 && set(p, "total", json_object_new_double(total)) != 0) ||
      (message != NULL &&
       set(p, "message", json_object_new_string(message)) != 0)) {
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  call->progress_sent = 1;
  call->progress_last = progress;
  rc = call_notify(call, "notifications/progress", p);
  json_object_put(p);
  return rc;
}

/* 1 if a message at level may be sent for this call. */
static int log_admitted(const cmcp_call_t *call, cmcp_log_level_t level) {
  int threshold =
      call->modern ? (int)call->log_level : atomic_load(&call->peer->log_level);
  return threshold != CMCP_LOG_OFF && (int)level >= threshold;
}

int cmcp_call_log(cmcp_call_t *call, cmcp_log_level_t level, const char *logger,
                  const char *data_json) {
  json_object *data = NULL, *params;
  int rc;
  if (call == NULL || cmcp_log_level_name(level) == NULL)
    return CMCP_EINVAL;
  if (data_json == NULL || !log_admitted(call, level))
    return 0;
  if (parse_value(call, data_json, &data) != 0)
    return CMCP_EINVAL;
  params = cmcp__log_params(level, logger, data);
  if (params == NULL)
    return CMCP_ENOMEM;
  rc = call_notify(call, "notifications/message", params);
  json_object_put(params);
  return rc;
}

/* ---- asking the client ------------------------------------------------------
 */

json_object *cmcp_call_input(const cmcp_call_t *call, const char *key) {
  json_object *v = NULL;
  if (call == NULL || key == NULL || call->inputs == NULL)
    return NULL;
  return json_object_object_get_ex(call->inputs, key, &v) ? v : NULL;
}

/* Records asks[key] = {method, params} (params consumed). */
static int ask(cmcp_call_t *call, const char *key, const char *method,
               json_object *params) {
  json_object *req;
  if (params == NULL)
    return CMCP_ENOMEM;
  req = obj3("method", method, NULL, NULL, NULL, NULL);
  if (req == NULL || set(req, "params", params) != 0) {
    if (req == NULL)
      json_object_put(params);
    json_object_put(req);
    return CMCP_ENOMEM;
  }
  if (call->asks == NULL && (call->asks = json_object_new_object()) == NULL) {
    json_object_put(req);
    return CMCP_ENOMEM;
  }
  return set(call->asks, key, req);
}

int cmcp_call_ask_elicit(cmcp_call_t *call, const char *key,
                         const char *message,
                         const char *requested_schema_json) {
  json_object *schema = NULL, *p;
  int rc;
  if (call == NULL || key == NULL || message == NULL)
    return CMCP_EINVAL;
  if ((rc = cmcp__parse_api_object(requested_schema_json, &schema)) != 0)
    return rc;
  p = obj3("mode", "form", "message", message, NULL, NULL);
  if (p == NULL || set(p, "requestedSchema", schema) != 0) {
    if (p == NULL)
      json_object_put(schema);
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  return ask(call, key, "elicitation/create", p);
}

int cmcp_call_ask_elicit_url(cmcp_call_t *call, const char *key,
                             const char *message, const char *url,
                             const char *elicitation_id) {
  json_object *p;
  if (call == NULL || key == NULL || message == NULL || url == NULL)
    return CMCP_EINVAL;
  p = obj3("mode", "url", "message", message, "url", url);
  if (p != NULL && elicitation_id != NULL &&
      set(p, "elicitationId", json_object_new_string(elicitation_id)) != 0) {
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  return ask(call, key, "elicitation/create", p);
}

int cmcp_call_ask_sampling(cmcp_call_t *call, const char *key,
                           const char *params_json) {
  json_object *p = NULL;
  int rc;
  if (call == NULL || key == NULL)
    return CMCP_EINVAL;
  if ((rc = cmcp__parse_api_object(params_json, &p)) != 0)
    return rc;
  if (!json_object_object_get_ex(p, "messages", NULL) ||
      !json_object_object_get_ex(p, "maxTokens", NULL)) {
    json_object_put(p);
    return CMCP_EINVAL;
  }
  return ask(call, key, "sampling/createMessage", p);
}

int cmcp_call_ask_roots(cmcp_call_t *call, const char *key) {
  if (call == NULL || key == NULL)
    return CMCP_EINVAL;
  return ask(call, key, "roots/list", json_object_new_object());
}

int cmcp_call_set_state(cmcp_call_t *call, const char *state) {
  char *copy;
  if (call == NULL || state == NULL)
    return CMCP_EINVAL;
  if ((copy = cmcp__strdup(state)) == NULL)
    return CMCP_ENOMEM;
  cmcp__free(call->state_out);
  call->state_out = copy;
  return 0;
}

const char *cmcp_call_state(const cmcp_call_t *call) {
  return call != NULL ? call->state_in : NULL;
}
