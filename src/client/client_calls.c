/* src/client/client_calls.c: the typed requests, pagination
 * (cmcp_client_list_all), listening for changes and the synchronous calls
 * on the private loop. */
#include "client/client_eng.h"

#include <string.h>

/* Adds key: value (consumed) to o. 0 or CMCP_ENOMEM. */
static int put(json_object *o, const char *key, json_object *value) {
  if (!value || json_object_object_add(o, key, value) != 0) {
    json_object_put(value);
    return CMCP_ENOMEM;
  }
  return 0;
}

/* {key: s} (s NULL gives {}), or NULL on ENOMEM. */
static json_object *obj1(const char *key, const char *s) {
  json_object *o = json_object_new_object();
  if (o && s && put(o, key, json_object_new_string(s)) != 0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* Sends method with params (consumed; NULL from a failed build is
 * CMCP_ENOMEM when want_params). */
static int send_obj(cmcp_client_t *cli, const char *method, json_object *p,
                    int want_params, unsigned flags, cmcp_result_fn cb,
                    void *data, uint64_t *req_out) {
  if (!cli || !cb) {
    json_object_put(p);
    return CMCP_EINVAL;
  }
  if (want_params && !p)
    return CMCP_ENOMEM;
  return cmcp__client_request_obj(cli, method, p, 0, flags, cb, data, req_out,
                                  NULL);
}

int cmcp_client_ping(cmcp_client_t *cli, cmcp_result_fn cb, void *data) {
  /* ping is not a 2026-07-28 method: a request of the era checks the
   * server's liveness there; server/discover is the cheapest one. */
  if (cli && cli->modern && cli->state == CMCP__CLI_READY)
    return send_obj(cli, "server/discover", NULL, 0, CMCP_REQ_NO_CACHE, cb,
                    data, NULL);
  return send_obj(cli, "ping", NULL, 0, 0, cb, data, NULL);
}

/* A list request with an optional cursor. */
static int list(cmcp_client_t *cli, const char *method, const char *cursor,
                cmcp_result_fn cb, void *data) {
  return send_obj(cli, method, cursor ? obj1("cursor", cursor) : NULL,
                  cursor != NULL, 0, cb, data, NULL);
}

int cmcp_client_list_tools(cmcp_client_t *cli, const char *cursor,
                           cmcp_result_fn cb, void *data) {
  return list(cli, "tools/list", cursor, cb, data);
}

int cmcp_client_list_resources(cmcp_client_t *cli, const char *cursor,
                               cmcp_result_fn cb, void *data) {
  return list(cli, "resources/list", cursor, cb, data);
}

int cmcp_client_list_resource_templates(cmcp_client_t *cli, const char *cursor,
                                        cmcp_result_fn cb, void *data) {
  return list(cli, "resources/templates/list", cursor, cb, data);
}

int cmcp_client_list_prompts(cmcp_client_t *cli, const char *cursor,
                             cmcp_result_fn cb, void *data) {
  return list(cli, "prompts/list", cursor, cb, data);
}

/* {name: name, arguments: <arguments_json or {} when def_empty>}. */
static int named_params(const char *name, const char *args_json, int def_empty,
                        json_object **out) {
  json_object *p = NULL, *args = NULL;
  int st;
  *out = NULL;
  if (!name)
    return CMCP_EINVAL;
  if (args_json && (st = cmcp__json_parse_object(args_json, &args)) != 0)
    return st;
  if (!args && def_empty && !(args = json_object_new_object()))
    return CMCP_ENOMEM;
  if (!(p = obj1("name", name)) ||
      (args && put(p, "arguments", json_object_get(args)) != 0)) {
    json_object_put(args);
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  json_object_put(args);
  *out = p;
  return 0;
}

int cmcp_client_call_tool(cmcp_client_t *cli, const char *name,
                          const char *arguments_json, unsigned flags,
                          cmcp_result_fn cb, void *data, uint64_t *req_out) {
  json_object *p;
  int st;
  if (!cli || !cb)
    return CMCP_EINVAL;
  if ((st = named_params(name, arguments_json, 1, &p)) != 0)
    return st;
  flags &= CMCP_REQ_PROGRESS | CMCP_REQ_NO_CACHE;
  return send_obj(cli, "tools/call", p, 1, flags, cb, data, req_out);
}

int cmcp_client_read_resource(cmcp_client_t *cli, const char *uri,
                              cmcp_result_fn cb, void *data) {
  if (!uri)
    return CMCP_EINVAL;
  return send_obj(cli, "resources/read", obj1("uri", uri), 1, 0, cb, data,
                  NULL);
}

int cmcp_client_get_prompt(cmcp_client_t *cli, const char *name,
                           const char *arguments_json, cmcp_result_fn cb,
                           void *data) {
  json_object *p;
  int st;
  if (!cli || !cb)
    return CMCP_EINVAL;
  if ((st = named_params(name, arguments_json, 0, &p)) != 0)
    return st;
  return send_obj(cli, "prompts/get", p, 1, 0, cb, data, NULL);
}

int cmcp_client_complete(cmcp_client_t *cli, const char *ref_json,
                         const char *argument, const char *value,
                         const char *context_json, cmcp_result_fn cb,
                         void *data) {
  json_object *p = NULL, *ref = NULL, *arg = NULL, *ctx = NULL, *c = NULL;
  int st;
  if (!cli || !cb || !ref_json || !argument || !value)
    return CMCP_EINVAL;
  if ((st = cmcp__json_parse_object(ref_json, &ref)) != 0)
    return st;
  if (context_json && (st = cmcp__json_parse_object(context_json, &ctx)) != 0)
    goto out;
  st = CMCP_ENOMEM;
  if (!(p = json_object_new_object()) || !(arg = obj1("name", argument)) ||
      put(arg, "value", json_object_new_string(value)) != 0)
    goto out;
  if (put(p, "ref", json_object_get(ref)) != 0 ||
      put(p, "argument", json_object_get(arg)) != 0)
    goto out;
  if (ctx && (!(c = json_object_new_object()) ||
              put(c, "arguments", json_object_get(ctx)) != 0 ||
              put(p, "context", json_object_get(c)) != 0))
    goto out;
  st = send_obj(cli, "completion/complete", json_object_get(p), 1, 0, cb, data,
                NULL);
out:
  json_object_put(p);
  json_object_put(ref);
  json_object_put(arg);
  json_object_put(ctx);
  json_object_put(c);
  return st;
}

int cmcp_client_set_log_level(cmcp_client_t *cli, cmcp_log_level_t level,
                              cmcp_result_fn cb, void *data) {
  const char *name = cmcp_log_level_name(level);
  if (!cli || !cb || !name)
    return CMCP_EINVAL;
  if (cli->modern && cli->state == CMCP__CLI_READY)
    return CMCP_EUNSUPPORTED;
  return send_obj(cli, "logging/setLevel", obj1("level", name), 1, 0, cb, data,
                  NULL);
}

/* resources/subscribe or resources/unsubscribe (legacy only). */
static int subscription(cmcp_client_t *cli, const char *method, const char *uri,
                        cmcp_result_fn cb, void *data) {
  if (!cli || !cb || !uri)
    return CMCP_EINVAL;
  if (cli->modern && cli->state == CMCP__CLI_READY)
    return CMCP_EUNSUPPORTED;
  return send_obj(cli, method, obj1("uri", uri), 1, 0, cb, data, NULL);
}

int cmcp_client_subscribe(cmcp_client_t *cli, const char *uri,
                          cmcp_result_fn cb, void *data) {
  return subscription(cli, "resources/subscribe", uri, cb, data);
}

int cmcp_client_unsubscribe(cmcp_client_t *cli, const char *uri,
                            cmcp_result_fn cb, void *data) {
  return subscription(cli, "resources/unsubscribe", uri, cb, data);
}

int cmcp_result_is_tool_error(json_object *result) {
  json_object *e;
  return json_object_object_get_ex(result, "isError", &e) &&
         json_object_is_type(e, json_type_boolean) &&
         json_object_get_boolean(e);
}

/* ---- listening --------------------------------------------------------- */

/* The default SubscriptionFilter: every list change. */
static json_object *all_changes(void) {
  json_object *f = json_object_new_object();
  if (!f || put(f, "toolsListChanged", json_object_new_boolean(1)) != 0 ||
      put(f, "promptsListChanged", json_object_new_boolean(1)) != 0 ||
      put(f, "resourcesListChanged", json_object_new_boolean(1)) != 0) {
    json_object_put(f);
    return NULL;
  }
  return f;
}

/* subscriptions/listen on the 2026-07-28 wire. */
static int listen_modern(cmcp_client_t *cli, const char *filter_json,
                         cmcp_result_fn cb, void *data, uint64_t *req_out) {
  json_object *p = NULL, *f = NULL;
  int st;
  if (filter_json) {
    if ((st = cmcp__json_parse_object(filter_json, &p)) != 0)
      return st;
  } else if (!(p = json_object_new_object()) || !(f = all_changes()) ||
             put(p, "notifications", f) != 0) {
    json_object_put(p);
    return CMCP_ENOMEM;
  }
  return cmcp__client_request_obj(cli, "subscriptions/listen", p, 0,
                                  CMCP_REQ_NO_CACHE | CMCP__REQ_STREAM, cb,
                                  data, req_out, NULL);
}

int cmcp_client_listen(cmcp_client_t *cli, const char *filter_json,
                       cmcp_result_fn cb, void *data, uint64_t *req_out) {
  cmcp__creq *r;
  int st;
  if (!cli || !cb)
    return CMCP_EINVAL;
  if (cli->state != CMCP__CLI_READY)
    return cli->state == CMCP__CLI_DEAD ? CMCP_ECLOSED : CMCP_ESTATE;
  if (cli->modern)
    return listen_modern(cli, filter_json, cb, data, req_out);
  /* Legacy: notifications come on the session's stream (HTTP: the
   * standalone GET stream; stdio: the one channel). The request object
   * only stands for the listening until it is cancelled. */
  st = cli->t->vt->open_stream(cli->t);
  if (st != 0 && !(st == CMCP_EUNSUPPORTED && cli->argv))
    return st;
  if (!(r = cmcp__creq_new(cli, "(listen)", NULL, 0, 0, cb, data)))
    return CMCP_ENOMEM;
  r->local = 1;
  r->stream = 1;
  if (req_out)
    *req_out = r->handle;
  return 0;
}

/* ---- pagination -------------------------------------------------------- */

typedef struct list_job {
  char *method;
  const char *key; /* the result's array member */
  size_t max;      /* 0: no bound */
  size_t pages;
  json_object *items;
  char *cursor; /* the last cursor followed */
  cmcp_result_fn cb;
  void *data;
} list_job;

/* Pages followed at most (a server handing out cursors forever). */
#define CMCP__LIST_MAX_PAGES 100000

static const char *list_key(const char *method) {
  static const char *const map[][2] = {
      {"tools/list", "tools"},
      {"resources/list", "resources"},
      {"resources/templates/list", "resourceTemplates"},
      {"prompts/list", "prompts"}};
  for (size_t i = 0; i < CMCP__ARRAY_SIZE(map); i++)
    if (strcmp(map[i][0], method) == 0)
      return map[i][1];
  return NULL;
}

static void job_free(list_job *j) {
  json_object_put(j->items);
  cmcp__free(j->cursor);
  cmcp__free(j->method);
  cmcp__free(j);
}

static int list_page(cmcp_client_t *cli, list_job *j);

/* Ends the job with status (and the gathered items when 0). */
static void job_end(cmcp_client_t *cli, list_job *j, int status,
                    json_object *error) {
  json_object *res = NULL;
  if (status == 0) {
    if (!(res = json_object_new_object()) ||
        put(res, j->key, json_object_get(j->items)) != 0)
      status = CMCP_ENOMEM;
  }
  j->cb(cli, status, status == 0 ? res : error, j->data);
  json_object_put(res);
  job_free(j);
}

/* One page came back: keep its items, follow nextCursor. */
static void page_done(cmcp_client_t *cli, cmcp__creq *r, int status,
                      json_object *result) {
  list_job *j = r->ctx;
  json_object *arr = json_object_object_get(result, j->key);
  const char *next = cmcp__json_get_string(result, "nextCursor");
  size_t n;
  int st;
  if (status != 0) {
    job_end(cli, j, status, result);
    return;
  }
  if (!json_object_is_type(arr, json_type_array)) {
    cmcp__client_errorf(cli, "%s: the result has no %s array", j->method,
                        j->key);
    job_end(cli, j, CMCP_EPROTO, NULL);
    return;
  }
  n = json_object_array_length(arr);
  for (size_t i = 0;
       i < n && (j->max == 0 || json_object_array_length(j->items) < j->max);
       i++)
    if (json_object_array_add(
            j->items, json_object_get(json_object_array_get_idx(arr, i))) !=
        0) {
      job_end(cli, j, CMCP_ENOMEM, NULL);
      return;
    }
  if (!next || (j->max && json_object_array_length(j->items) >= j->max) ||
      (j->cursor && strcmp(j->cursor, next) == 0) ||
      ++j->pages >= CMCP__LIST_MAX_PAGES) {
    job_end(cli, j, 0, NULL);
    return;
  }
  cmcp__free(j->cursor);
  if (!(j->cursor = cmcp__strdup(next))) {
    job_end(cli, j, CMCP_ENOMEM, NULL);
    return;
  }
  if ((st = list_page(cli, j)) != 0)
    job_end(cli, j, st, NULL);
}

static void no_cb(cmcp_client_t *cli, int status, json_object *result,
                  void *data) {
  CMCP__UNUSED(cli);
  CMCP__UNUSED(status);
  CMCP__UNUSED(result);
  CMCP__UNUSED(data);
}

/* Requests the page after j->cursor (the first when NULL). */
static int list_page(cmcp_client_t *cli, list_job *j) {
  json_object *p = j->cursor ? obj1("cursor", j->cursor) : NULL;
  cmcp__creq *r = NULL;
  int st;
  if (j->cursor && !p)
    return CMCP_ENOMEM;
  if ((st = cmcp__client_request_obj(cli, j->method, p, 0, 0, no_cb, NULL, NULL,
                                     &r)) != 0)
    return st;
  r->done = page_done;
  r->ctx = j;
  return 0;
}

int cmcp_client_list_all(cmcp_client_t *cli, const char *method,
                         size_t max_items, cmcp_result_fn cb, void *data) {
  list_job *j;
  int st;
  if (!cli || !cb || !method || !list_key(method))
    return CMCP_EINVAL;
  if (!(j = cmcp__calloc(1, sizeof(*j))))
    return CMCP_ENOMEM;
  j->key = list_key(method);
  j->max = max_items;
  j->cb = cb;
  j->data = data;
  if (!(j->method = cmcp__strdup(method)) ||
      !(j->items = json_object_new_array())) {
    job_free(j);
    return CMCP_ENOMEM;
  }
  if ((st = list_page(cli, j)) != 0)
    job_free(j);
  return st;
}

/* ---- synchronous calls ------------------------------------------------- */

typedef struct sync_wait {
  int done;
  int status;
  json_object *result;
} sync_wait;

static void sync_cb(cmcp_client_t *cli, int status, json_object *result,
                    void *data) {
  sync_wait *w = data;
  CMCP__UNUSED(cli);
  w->done = 1;
  w->status = status;
  w->result = result ? json_object_get(result) : NULL;
}

/* Runs the private loop until w is done; hands the result over. */
static int sync_run(cmcp_client_t *cli, sync_wait *w,
                    json_object **result_out) {
  cli->sync_depth++;
  while (!w->done)
    if (uv_run(cli->loop, UV_RUN_ONCE) == 0 && !w->done) {
      w->status = CMCP_EIO; /* nothing left that could answer */
      break;
    }
  cmcp__client_sync_leave(cli);
  if (result_out)
    *result_out = w->result;
  else
    json_object_put(w->result);
  return w->status;
}

/* 0 if cli may make a synchronous call. */
static int sync_ok(cmcp_client_t *cli, json_object **result_out) {
  if (result_out)
    *result_out = NULL;
  if (!cli)
    return CMCP_EINVAL;
  return cli->own_loop && cli->sync_depth == 0 ? 0 : CMCP_ESTATE;
}

int cmcp_client_connect_sync(cmcp_client_t *cli, json_object **result_out) {
  sync_wait w = {0};
  int st = sync_ok(cli, result_out);
  if (st != 0 || (st = cmcp_client_connect(cli, sync_cb, &w)) != 0)
    return st;
  return sync_run(cli, &w, result_out);
}

int cmcp_client_request_sync(cmcp_client_t *cli, const char *method,
                             const char *params_json,
                             json_object **result_out) {
  sync_wait w = {0};
  int st = sync_ok(cli, result_out);
  if (st != 0 || (st = cmcp_client_request(cli, method, params_json, 0, 0,
                                           sync_cb, &w, NULL)) != 0)
    return st;
  return sync_run(cli, &w, result_out);
}

int cmcp_client_call_tool_sync(cmcp_client_t *cli, const char *name,
                               const char *arguments_json,
                               json_object **result_out) {
  sync_wait w = {0};
  int st = sync_ok(cli, result_out);
  if (st != 0 || (st = cmcp_client_call_tool(cli, name, arguments_json, 0,
                                             sync_cb, &w, NULL)) != 0)
    return st;
  return sync_run(cli, &w, result_out);
}
