/* src/proto/server.c: the server object, its limits and features, and the
 * notifications that may be raised from any thread. */
#include "engine.h"

#include "base/memory.h"

#include <string.h>

static const char *const version_names[CMCP__VERSION_COUNT] = {
    "2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

int cmcp__version_index(const char *v) {
  int i;
  if (v == NULL)
    return -1;
  for (i = 0; i < CMCP__VERSION_COUNT; i++)
    if (strcmp(v, version_names[i]) == 0)
      return i;
  return -1;
}

const char *cmcp__version_name(int v) {
  return v >= 0 && v < CMCP__VERSION_COUNT ? version_names[v] : NULL;
}

static const int64_t limit_defaults[CMCP_LIMIT_COUNT_] = {
    [CMCP_LIMIT_MESSAGE_BYTES] = (int64_t)4 << 20,
    [CMCP_LIMIT_JSON_DEPTH] = 128,
    [CMCP_LIMIT_INFLIGHT_PER_PEER] = 1024,
    [CMCP_LIMIT_INFLIGHT_TOTAL] = 65536,
    [CMCP_LIMIT_PAGE_SIZE] = 100,
    [CMCP_LIMIT_ASK_TIMEOUT_MS] = 60000,
    [CMCP_LIMIT_STATE_TTL_MS] = 600000,
    [CMCP_LIMIT_TASKS_PER_PEER] = 64,
    [CMCP_LIMIT_TASK_TTL_MS] = 60000,
    [CMCP_LIMIT_WORKERS] = 4,
    [CMCP_LIMIT_WORKER_QUEUE] = 1024,
    [CMCP_LIMIT_OUTBOUND_BYTES] = (int64_t)16 << 20,
    [CMCP_LIMIT_MEMORY_BYTES] = INT64_MAX, /* set from the machine's memory */
};

int cmcp__parse_api_object(const char *text, json_object **out) {
  int rc = cmcp__json_parse_object(text, out);
  return rc == 0 || rc == CMCP_ENOMEM ? rc : CMCP_EINVAL;
}

/* Refreshes the cached 2026-07-28 serverInfo text from srv->info. */
static int info_cache(cmcp_server_t *srv) {
  json_object *info = cmcp__server_info(srv, CMCP__V2026_07_28);
  char *text = NULL;
  if (info != NULL) {
    text = cmcp__strdup(json_object_to_json_string_ext(
        info, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(info);
  }
  if (text == NULL)
    return CMCP_ENOMEM;
  cmcp__free(srv->info_modern);
  srv->info_modern = text;
  return 0;
}

/* ---- server object ------------------------------------------------------- */

/* {name, version} as the serverInfo base. */
static json_object *info_new(const char *name, const char *version) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  if (json_object_object_add(o, "name", json_object_new_string(name)) != 0 ||
      json_object_object_add(o, "version", json_object_new_string(version)) !=
          0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

cmcp_server_t *cmcp_server_new(const char *name, const char *version) {
  cmcp_server_t *srv;
  if (name == NULL || *name == '\0')
    return NULL;
  srv = cmcp__calloc(1, sizeof(*srv));
  if (srv == NULL)
    return NULL;
  if (pthread_mutex_init(&srv->lock, NULL) != 0) {
    cmcp__free(srv);
    return NULL;
  }
  memcpy(srv->limits, limit_defaults, sizeof(srv->limits));
  srv->limits[CMCP_LIMIT_MEMORY_BYTES] = cmcp__mem_default_budget();
  srv->cache_scope = "private";
  srv->tasks = &cmcp__tasks_ops;
  atomic_init(&srv->reg, cmcp__registry_empty());
  srv->info = info_new(name, version != NULL ? version : "0.0.0");
  srv->sealer = cmcp__sealer_new(NULL, 0);
  if (atomic_load(&srv->reg) == NULL || srv->info == NULL ||
      srv->sealer == NULL || info_cache(srv) != 0) {
    cmcp_server_free(srv);
    return NULL;
  }
  return srv;
}

void cmcp_server_free(cmcp_server_t *srv) {
  if (srv == NULL)
    return;
  if (srv->tasks != NULL && srv->tasks->server_free != NULL)
    srv->tasks->server_free(srv);
  cmcp__registry_unref(atomic_load(&srv->reg));
  if (srv->info != NULL)
    json_object_put(srv->info);
  cmcp__sealer_free(srv->sealer);
  cmcp__free(srv->instructions);
  cmcp__free(srv->info_modern);
  pthread_mutex_destroy(&srv->lock);
  cmcp__free(srv);
}

void cmcp_server_set_data(cmcp_server_t *srv, void *data) {
  srv->data = data;
}
void *cmcp_server_data(const cmcp_server_t *srv) {
  return srv->data;
}

int cmcp_server_set_instructions(cmcp_server_t *srv, const char *text) {
  char *copy = NULL;
  if (srv == NULL)
    return CMCP_EINVAL;
  if (text != NULL && (copy = cmcp__strdup(text)) == NULL)
    return CMCP_ENOMEM;
  cmcp__free(srv->instructions);
  srv->instructions = copy;
  return 0;
}

int cmcp_server_set_info_json(cmcp_server_t *srv, const char *json) {
  json_object *extra = NULL;
  int rc;
  if (srv == NULL)
    return CMCP_EINVAL;
  rc = cmcp__parse_api_object(json, &extra);
  if (rc != 0)
    return rc;
  {
    json_object_object_foreach(extra, k, v) {
      if (json_object_object_add(srv->info, k, json_object_get(v)) != 0) {
        json_object_put(extra);
        return CMCP_ENOMEM;
      }
    }
  }
  json_object_put(extra);
  return info_cache(srv);
}

int cmcp_server_set_limit(cmcp_server_t *srv, cmcp_limit_t which,
                          int64_t value) {
  if (srv == NULL || (int)which < 0 || which >= CMCP_LIMIT_COUNT_ || value <= 0)
    return CMCP_EINVAL;
  srv->limits[which] = value;
  return 0;
}

int64_t cmcp_server_limit(const cmcp_server_t *srv, cmcp_limit_t which) {
  if (srv == NULL || (int)which < 0 || which >= CMCP_LIMIT_COUNT_)
    return CMCP_EINVAL;
  return srv->limits[which];
}

int64_t cmcp__limit(const cmcp_server_t *srv, cmcp_limit_t which) {
  return srv->limits[which];
}

int cmcp_server_set_state_key(cmcp_server_t *srv, const void *key, size_t len) {
  cmcp__sealer_t *s;
  if (srv == NULL || key == NULL || len < CMCP__SEAL_MIN_KEY)
    return CMCP_EINVAL;
  s = cmcp__sealer_new(key, len);
  if (s == NULL)
    return CMCP_ENOMEM;
  cmcp__sealer_free(srv->sealer);
  srv->sealer = s;
  return 0;
}

int cmcp_server_set_cache_hint(cmcp_server_t *srv, int64_t ttl_ms,
                               const char *scope) {
  if (srv == NULL || ttl_ms < 0 || scope == NULL)
    return CMCP_EINVAL;
  if (strcmp(scope, "public") == 0)
    srv->cache_scope = "public";
  else if (strcmp(scope, "private") == 0)
    srv->cache_scope = "private";
  else
    return CMCP_EINVAL;
  srv->cache_ttl_ms = ttl_ms;
  return 0;
}

/* ---- features ------------------------------------------------------------ */

static unsigned kind_list_bit(cmcp__kind kind) {
  switch (kind) {
  case CMCP__TOOL:
    return CMCP_LIST_TOOLS;
  case CMCP__PROMPT:
    return CMCP_LIST_PROMPTS;
  default:
    return CMCP_LIST_RESOURCES;
  }
}

/* Registers a feature from def (the caller's reference is consumed). */
static int add_feature(cmcp_server_t *srv, cmcp__kind kind, json_object *def,
                       unsigned flags, cmcp_handler_fn fn, void *data) {
  int rc;
  cmcp__feature *f = cmcp__feature_new(kind, def, flags, fn, data, &rc);
  cmcp__registry *cur, *next;
  json_object_put(def);
  if (f == NULL)
    return rc;
  pthread_mutex_lock(&srv->lock);
  cur = atomic_load(&srv->reg);
  if (cmcp__registry_find(cur, kind, f->key) != NULL) {
    rc = CMCP_EEXIST;
  } else if ((next = cmcp__registry_derive(cur, f, kind, NULL)) == NULL) {
    rc = CMCP_ENOMEM;
  } else {
    cmcp__registry_publish(srv, next);
    rc = 0;
  }
  pthread_mutex_unlock(&srv->lock);
  cmcp__feature_unref(f);
  if (rc == 0)
    cmcp_server_notify_list_changed(srv, kind_list_bit(kind));
  return rc;
}

static int remove_feature(cmcp_server_t *srv, cmcp__kind kind,
                          const char *key) {
  cmcp__registry *cur, *next;
  int rc = 0;
  if (srv == NULL || key == NULL)
    return CMCP_EINVAL;
  pthread_mutex_lock(&srv->lock);
  cur = atomic_load(&srv->reg);
  if (cmcp__registry_find(cur, kind, key) == NULL)
    rc = CMCP_ENOENT;
  else if ((next = cmcp__registry_derive(cur, NULL, kind, key)) == NULL)
    rc = CMCP_ENOMEM;
  else
    cmcp__registry_publish(srv, next);
  pthread_mutex_unlock(&srv->lock);
  if (rc == 0)
    cmcp_server_notify_list_changed(srv, kind_list_bit(kind));
  return rc;
}

/* Parses a definition text that must be an object with a string field. */
static int parse_def(const char *json, const char *field, json_object **out) {
  int rc = cmcp__parse_api_object(json, out);
  if (rc != 0)
    return rc;
  if (cmcp__json_get_string(*out, field) == NULL) {
    json_object_put(*out);
    *out = NULL;
    return CMCP_EINVAL;
  }
  return 0;
}

/* Sets obj[key] = string s (skipped when s is NULL). */
static int add_str(json_object *obj, const char *key, const char *s) {
  json_object *v;
  if (s == NULL)
    return 0;
  v = json_object_new_string(s);
  if (v == NULL || json_object_object_add(obj, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

int cmcp_server_add_tool(cmcp_server_t *srv, const char *name,
                         const char *description, const char *input_schema,
                         cmcp_handler_fn fn, void *data) {
  json_object *def, *schema = NULL;
  int rc;
  if (srv == NULL || name == NULL || fn == NULL)
    return CMCP_EINVAL;
  rc = cmcp__parse_api_object(
      input_schema != NULL ? input_schema : "{\"type\":\"object\"}", &schema);
  if (rc != 0)
    return rc;
  def = json_object_new_object();
  if (def == NULL || add_str(def, "name", name) != 0 ||
      add_str(def, "description", description) != 0 ||
      json_object_object_add(def, "inputSchema", schema) != 0) {
    json_object_put(schema);
    json_object_put(def);
    return CMCP_ENOMEM;
  }
  return add_feature(srv, CMCP__TOOL, def, 0, fn, data);
}

int cmcp_server_add_tool_json(cmcp_server_t *srv, const char *tool_json,
                              unsigned flags, cmcp_handler_fn fn, void *data) {
  json_object *def = NULL, *schema;
  int rc;
  if (srv == NULL || fn == NULL)
    return CMCP_EINVAL;
  if ((rc = parse_def(tool_json, "name", &def)) != 0)
    return rc;
  if (!json_object_object_get_ex(def, "inputSchema", NULL)) {
    schema = json_object_new_object();
    if (schema == NULL || add_str(schema, "type", "object") != 0 ||
        json_object_object_add(def, "inputSchema", schema) != 0) {
      json_object_put(schema);
      json_object_put(def);
      return CMCP_ENOMEM;
    }
  }
  return add_feature(srv, CMCP__TOOL, def, flags, fn, data);
}

int cmcp_server_remove_tool(cmcp_server_t *srv, const char *name) {
  return remove_feature(srv, CMCP__TOOL, name);
}

int cmcp_server_add_resource(cmcp_server_t *srv, const char *uri,
                             const char *name, const char *mime_type,
                             cmcp_handler_fn fn, void *data) {
  json_object *def;
  if (srv == NULL || uri == NULL || fn == NULL)
    return CMCP_EINVAL;
  def = json_object_new_object();
  if (def == NULL || add_str(def, "uri", uri) != 0 ||
      add_str(def, "name", name != NULL ? name : uri) != 0 ||
      add_str(def, "mimeType", mime_type) != 0) {
    json_object_put(def);
    return CMCP_ENOMEM;
  }
  return add_feature(srv, CMCP__RESOURCE, def, 0, fn, data);
}

/* Adds a resource or template from its JSON definition, which must carry
 * its key field and a "name" (both required by the schema). */
static int add_named_json(cmcp_server_t *srv, cmcp__kind kind, const char *json,
                          const char *key_field, unsigned flags,
                          cmcp_handler_fn fn, void *data) {
  json_object *def = NULL;
  int rc;
  if (srv == NULL || fn == NULL)
    return CMCP_EINVAL;
  if ((rc = parse_def(json, key_field, &def)) != 0)
    return rc;
  if (cmcp__json_get_string(def, "name") == NULL) {
    json_object_put(def);
    return CMCP_EINVAL;
  }
  return add_feature(srv, kind, def, flags, fn, data);
}

int cmcp_server_add_resource_json(cmcp_server_t *srv, const char *resource_json,
                                  unsigned flags, cmcp_handler_fn fn,
                                  void *data) {
  return add_named_json(srv, CMCP__RESOURCE, resource_json, "uri", flags, fn,
                        data);
}

int cmcp_server_remove_resource(cmcp_server_t *srv, const char *uri) {
  return remove_feature(srv, CMCP__RESOURCE, uri);
}

int cmcp_server_add_resource_template_json(cmcp_server_t *srv,
                                           const char *template_json,
                                           unsigned flags, cmcp_handler_fn fn,
                                           void *data) {
  return add_named_json(srv, CMCP__TEMPLATE, template_json, "uriTemplate",
                        flags, fn, data);
}

int cmcp_server_remove_resource_template(cmcp_server_t *srv,
                                         const char *uri_template) {
  return remove_feature(srv, CMCP__TEMPLATE, uri_template);
}

/* 1 if every element of a prompt's "arguments" is {name: string, ...}. */
static int prompt_args_valid(json_object *def) {
  json_object *args;
  size_t i;
  if (!json_object_object_get_ex(def, "arguments", &args))
    return 1;
  if (!json_object_is_type(args, json_type_array))
    return 0;
  for (i = 0; i < json_object_array_length(args); i++)
    if (cmcp__json_get_string(json_object_array_get_idx(args, i), "name") ==
        NULL)
      return 0;
  return 1;
}

int cmcp_server_add_prompt_json(cmcp_server_t *srv, const char *prompt_json,
                                unsigned flags, cmcp_handler_fn fn,
                                void *data) {
  json_object *def = NULL;
  int rc;
  if (srv == NULL || fn == NULL)
    return CMCP_EINVAL;
  if ((rc = parse_def(prompt_json, "name", &def)) != 0)
    return rc;
  if (!prompt_args_valid(def)) {
    json_object_put(def);
    return CMCP_EINVAL;
  }
  return add_feature(srv, CMCP__PROMPT, def, flags, fn, data);
}

int cmcp_server_remove_prompt(cmcp_server_t *srv, const char *name) {
  return remove_feature(srv, CMCP__PROMPT, name);
}

int cmcp_server_set_completion(cmcp_server_t *srv, cmcp_handler_fn fn,
                               void *data) {
  if (srv == NULL)
    return CMCP_EINVAL;
  srv->completion_fn = fn;
  srv->completion_data = data;
  return 0;
}

/* ---- notifications from anywhere ----------------------------------------
 *
 * A peer belongs to one loop thread, so a notification raised elsewhere is
 * handed to each interested peer's loop through ops->post. A transport
 * frees a peer's ctx only after cmcp__peer_close returns, and closing
 * detaches the peer under srv->lock; so ops->post is called with the lock
 * held, on peers still in the list, and their ctx is alive for the call.
 * ops->post is cheap and never runs fn inside the call, so holding the lock
 * across it is safe. The jobs are allocated before the lock is taken.
 * Peers without ops->post (single-threaded use) get their job run inline
 * after the lock is released.
 */

typedef enum { JOB_LIST, JOB_UPDATED, JOB_LOG } job_type;

typedef struct notify_job {
  struct notify_job *next; /* the caller's list until posted */
  cmcp__peer_t *peer;
  job_type type;
  unsigned kinds;         /* JOB_LIST */
  cmcp_log_level_t level; /* JOB_LOG */
  size_t cost;            /* counted in peer->posted_bytes (0: inline) */
  size_t len;
  char text[]; /* URI (JOB_UPDATED) or notification (JOB_LOG) */
} notify_job;

static void job_run(void *arg) {
  notify_job *job = arg;
  cmcp__peer_post_release(job->peer, job->cost);
  cmcp__peer_check_lagging(job->peer);
  if (!atomic_load(&job->peer->closed)) {
    if (job->type == JOB_LIST)
      cmcp__peer_deliver_list_changed(job->peer, job->kinds);
    else if (job->type == JOB_UPDATED)
      cmcp__peer_deliver_updated(job->peer, job->text);
    else
      cmcp__peer_deliver_log(job->peer, job->text, job->len, job->level);
  }
  cmcp__peer_unref(job->peer);
  cmcp__free(job);
}

/* The number of live peers whose interests meet want (a hint: the list
 * may change once the lock is released). */
static size_t peers_wanting(cmcp_server_t *srv, unsigned want) {
  cmcp__peer_t *p;
  size_t count = 0;
  pthread_mutex_lock(&srv->lock);
  for (p = srv->peers; p != NULL; p = p->next)
    count += (atomic_load(&p->want) & want) != 0;
  pthread_mutex_unlock(&srv->lock);
  return count;
}

static void jobs_free(notify_job *jobs) {
  while (jobs != NULL) {
    notify_job *next = jobs->next;
    cmcp__free(jobs);
    jobs = next;
  }
}

/* A list of n jobs with their text set (text may be NULL), or NULL on
 * ENOMEM. */
static notify_job *jobs_new(size_t n, job_type type, unsigned kinds,
                            cmcp_log_level_t level, const char *text,
                            size_t len) {
  notify_job *jobs = NULL;
  size_t i;
  for (i = 0; i < n; i++) {
    notify_job *job = cmcp__malloc(sizeof(*job) + len + 1);
    if (job == NULL)
      goto fail;
    job->next = jobs;
    job->peer = NULL;
    job->type = type;
    job->kinds = kinds;
    job->level = level;
    job->cost = 0;
    job->len = len;
    if (len > 0)
      memcpy(job->text, text, len);
    job->text[len] = '\0';
    jobs = job;
  }
  return jobs;
fail:
  jobs_free(jobs);
  return NULL;
}

/* Under srv->lock: posts one of jobs to every live peer that wants it.
 * Jobs for peers without ops->post are moved to *inline_jobs (with a peer
 * reference); jobs left over stay in *jobs. A peer that came to want the
 * notification since the count (racing with it) may find none left. A
 * peer whose loop already holds CMCP_LIMIT_OUTBOUND_BYTES of them gets none
 * and is marked lagging: its loop closes it as a slow consumer when it runs
 * the jobs it has. */
static void post_locked(cmcp_server_t *srv, unsigned want, notify_job **jobs,
                        notify_job **inline_jobs) {
  cmcp__peer_t *p;
  for (p = srv->peers; p != NULL; p = p->next) {
    notify_job *job = *jobs;
    if ((atomic_load(&p->want) & want) == 0 || atomic_load(&p->closed))
      continue;
    if (job == NULL)
      return;
    if (p->ops->post != NULL &&
        cmcp__peer_post_reserve(p, sizeof(*job) + job->len + 1) != 0) {
      atomic_store(&p->lagging, 1);
      continue;
    }
    *jobs = job->next;
    job->peer = p;
    cmcp__peer_ref(p);
    if (p->ops->post == NULL) {
      job->next = *inline_jobs;
      *inline_jobs = job;
    } else {
      job->cost = sizeof(*job) + job->len + 1;
      if (p->ops->post(p->ctx, job_run, job) != 0) {
        cmcp__peer_post_release(p, job->cost);
        job->cost = 0;
        atomic_fetch_sub(&p->refs, 1); /* the list holds p: never the last */
        job->next = *jobs;
        *jobs = job;
      }
    }
  }
}

/* Posts one job per wanting peer; the text (may be NULL) is copied into
 * each. 0, or CMCP_ENOMEM when no job could be allocated. */
static int post_jobs(cmcp_server_t *srv, unsigned want, job_type type,
                     unsigned kinds, cmcp_log_level_t level, const char *text,
                     size_t len) {
  notify_job *jobs, *inline_jobs = NULL;
  size_t n = peers_wanting(srv, want);
  if (n == 0)
    return 0;
  jobs = jobs_new(n, type, kinds, level, text, len);
  if (jobs == NULL)
    return CMCP_ENOMEM;
  pthread_mutex_lock(&srv->lock);
  post_locked(srv, want, &jobs, &inline_jobs);
  pthread_mutex_unlock(&srv->lock);
  jobs_free(jobs);
  while (inline_jobs != NULL) {
    notify_job *job = inline_jobs;
    inline_jobs = job->next;
    job_run(job);
  }
  return 0;
}

int cmcp_server_notify_resource_updated(cmcp_server_t *srv, const char *uri) {
  if (srv == NULL || uri == NULL)
    return CMCP_EINVAL;
  return post_jobs(srv, CMCP__WANT_UPDATES, JOB_UPDATED, 0, CMCP_LOG_OFF, uri,
                   strlen(uri));
}

int cmcp_server_notify_list_changed(cmcp_server_t *srv, unsigned kinds) {
  if (srv == NULL ||
      (kinds & ~(unsigned)(CMCP_LIST_TOOLS | CMCP_LIST_RESOURCES |
                           CMCP_LIST_PROMPTS)) != 0)
    return CMCP_EINVAL;
  if (kinds == 0)
    return 0;
  return post_jobs(srv, kinds, JOB_LIST, kinds, CMCP_LOG_OFF, NULL, 0);
}

/* The LoggingMessageNotification params {level, logger?, data}. */
static json_object *log_params(cmcp_log_level_t level, const char *logger,
                               json_object *data) {
  json_object *p = json_object_new_object();
  if (p == NULL || add_str(p, "level", cmcp_log_level_name(level)) != 0 ||
      add_str(p, "logger", logger) != 0 ||
      json_object_object_add(p, "data", data) != 0) {
    json_object_put(p);
    json_object_put(data);
    return NULL;
  }
  return p;
}

json_object *cmcp__log_params(cmcp_log_level_t level, const char *logger,
                              json_object *data) {
  return log_params(level, logger, data);
}

int cmcp_server_log(cmcp_server_t *srv, cmcp_log_level_t level,
                    const char *logger, const char *text) {
  json_object *params;
  char *msg;
  size_t len;
  int rc;
  if (srv == NULL || text == NULL || cmcp_log_level_name(level) == NULL)
    return CMCP_EINVAL;
  params = log_params(level, logger, json_object_new_string(text));
  if (params == NULL)
    return CMCP_ENOMEM;
  msg = cmcp__rpc_encode_notification("notifications/message", params, &len);
  json_object_put(params);
  if (msg == NULL)
    return CMCP_ENOMEM;
  rc = post_jobs(srv, CMCP__WANT_LOGS, JOB_LOG, 0, level, msg, len);
  cmcp__free(msg);
  return rc;
}

/* ---- peer list ------------------------------------------------------------
 */

void cmcp__server_attach(cmcp_server_t *srv, cmcp__peer_t *peer) {
  pthread_mutex_lock(&srv->lock);
  peer->prev = NULL;
  peer->next = srv->peers;
  if (srv->peers != NULL)
    srv->peers->prev = peer;
  srv->peers = peer;
  pthread_mutex_unlock(&srv->lock);
}

void cmcp__server_detach(cmcp_server_t *srv, cmcp__peer_t *peer) {
  pthread_mutex_lock(&srv->lock);
  if (peer->prev != NULL)
    peer->prev->next = peer->next;
  else if (srv->peers == peer)
    srv->peers = peer->next;
  if (peer->next != NULL)
    peer->next->prev = peer->prev;
  peer->prev = peer->next = NULL;
  pthread_mutex_unlock(&srv->lock);
}
