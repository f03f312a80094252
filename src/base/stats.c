/* src/base/stats.c: per-thread counter shards summed at read time (see
 * stats.h for the threading rules). */
#include "base/stats.h"
#include "base/base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

typedef _Atomic uint64_t ctr;

typedef struct shard {
  struct shard *next; /* attached shards, under lock */
  ctr counter[CMCP__SC_COUNT];
  _Atomic int64_t gauge[CMCP__SG_COUNT];
  ctr refused[CMCP__REFUSE_COUNT];
  ctr http[CMCP__SH_COUNT];
  ctr requests[CMCP__SM_COUNT][CMCP__SO_COUNT];
  ctr latency[CMCP__SM_COUNT][CMCP__STATS_BUCKETS + 1];
  ctr latency_sum_ns[CMCP__SM_COUNT];
} shard;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static shard *attached; /* under lock */
/* Threads without a shard of their own, and detached shards' totals. */
static shard common;
static _Thread_local shard *mine;
static _Thread_local cmcp__stats_meter *meter;

static const char *const method_names[CMCP__SM_COUNT] = {
    [CMCP__SM_OTHER] = "other",
    [CMCP__SM_INITIALIZE] = "initialize",
    [CMCP__SM_PING] = "ping",
    [CMCP__SM_DISCOVER] = "server/discover",
    [CMCP__SM_TOOLS_LIST] = "tools/list",
    [CMCP__SM_TOOLS_CALL] = "tools/call",
    [CMCP__SM_RESOURCES_LIST] = "resources/list",
    [CMCP__SM_TEMPLATES_LIST] = "resources/templates/list",
    [CMCP__SM_RESOURCES_READ] = "resources/read",
    [CMCP__SM_SUBSCRIBE] = "resources/subscribe",
    [CMCP__SM_UNSUBSCRIBE] = "resources/unsubscribe",
    [CMCP__SM_PROMPTS_LIST] = "prompts/list",
    [CMCP__SM_PROMPTS_GET] = "prompts/get",
    [CMCP__SM_COMPLETE] = "completion/complete",
    [CMCP__SM_SET_LEVEL] = "logging/setLevel",
    [CMCP__SM_LISTEN] = "subscriptions/listen",
    [CMCP__SM_TASKS_GET] = "tasks/get",
    [CMCP__SM_TASKS_RESULT] = "tasks/result",
    [CMCP__SM_TASKS_LIST] = "tasks/list",
    [CMCP__SM_TASKS_CANCEL] = "tasks/cancel",
};

static const char *const outcome_names[CMCP__SO_COUNT] = {
    "ok", "tool_error", "error", "refused", "cancelled"};

static const char *const limit_names[CMCP__REFUSE_COUNT] = {
    [CMCP__REFUSE_MAX_CONNECTIONS] = "max-connections",
    [CMCP__REFUSE_MAX_SESSIONS] = "max-sessions",
    [CMCP__REFUSE_MAX_INFLIGHT] = "max-inflight",
    [CMCP__REFUSE_MAX_INFLIGHT_PEER] = "max-inflight-per-peer",
    [CMCP__REFUSE_QUEUE] = "queue",
    [CMCP__REFUSE_MAX_MEMORY] = "max-memory",
    [CMCP__REFUSE_MAX_MESSAGE_BYTES] = "max-message-bytes",
    [CMCP__REFUSE_MAX_HEADER_BYTES] = "max-header-bytes",
    [CMCP__REFUSE_MAX_HEADER_COUNT] = "max-header-count",
    [CMCP__REFUSE_MAX_URL_BYTES] = "max-url-bytes",
    [CMCP__REFUSE_HEADER_TIMEOUT] = "header-timeout",
    [CMCP__REFUSE_BODY_TIMEOUT] = "body-timeout",
    [CMCP__REFUSE_MAX_PIPELINED] = "max-pipelined",
    [CMCP__REFUSE_OUTBOUND_BYTES] = "max-outbound-bytes",
    [CMCP__REFUSE_OUT_OF_MEMORY] = "out-of-memory",
    [CMCP__REFUSE_TASKS_PER_PEER] = "tasks-per-peer",
    [CMCP__REFUSE_TASK_WAITERS] = "task-waiters",
    [CMCP__REFUSE_SUBSCRIPTIONS] = "subscriptions-per-session",
    [CMCP__REFUSE_MAX_QUEUE_DELAY] = "max-queue-delay",
};

static const int http_codes[CMCP__SH_OTHER] = {
#define X(c) c,
    CMCP__STATS_HTTP_CODES
#undef X
};

static const char *const http_names[CMCP__SH_COUNT] = {
#define X(c) #c,
    CMCP__STATS_HTTP_CODES
#undef X
    "other"};

/* Bucket bounds: 100 us to 10 s, 1-2.5-5 steps. */
static const uint64_t bucket_ns[CMCP__STATS_BUCKETS] = {
    100000,     250000,     500000,     1000000,    2500000,   5000000,
    10000000,   25000000,   50000000,   100000000,  250000000, 500000000,
    1000000000, 2500000000, 5000000000, 10000000000};
static const char *const bucket_le[CMCP__STATS_BUCKETS + 1] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
    "1",      "2.5",     "5",      "10",    "+Inf"};

/* ---- recording ---------------------------------------------------------- */

/* Adds n to c: a plain load + store in the thread's own shard (its only
 * writer), an atomic add in the common one. */
static inline void add(ctr *c, uint64_t n) {
  if (mine != NULL)
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
  else
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline shard *here(void) {
  return mine != NULL ? mine : &common;
}

void cmcp__stats_count(cmcp__stats_counter c) {
  if ((unsigned)c < CMCP__SC_COUNT)
    add(&here()->counter[c], 1);
}

void cmcp__stats_gauge_add(cmcp__stats_gauge g, int64_t delta) {
  _Atomic int64_t *v;
  if ((unsigned)g >= CMCP__SG_COUNT)
    return;
  v = &here()->gauge[g];
  if (mine != NULL)
    atomic_store_explicit(v,
                          atomic_load_explicit(v, memory_order_relaxed) + delta,
                          memory_order_relaxed);
  else
    atomic_fetch_add_explicit(v, delta, memory_order_relaxed);
}

void cmcp__stats_refused(cmcp__stats_limit l) {
  if ((unsigned)l < CMCP__REFUSE_COUNT)
    add(&here()->refused[l], 1);
}

/* The code's index in the HTTP table (a handful of compares). */
static int http_index(int status) {
  int i;
  for (i = 0; i < CMCP__SH_OTHER; i++)
    if (http_codes[i] == status)
      return i;
  return CMCP__SH_OTHER;
}

void cmcp__stats_http_response(int status) {
  add(&here()->http[http_index(status)], 1);
}

/* The bucket of a duration: the first bound at or above it. */
static int bucket_of(uint64_t ns) {
  int b = 0;
  while (b < CMCP__STATS_BUCKETS && ns > bucket_ns[b])
    b++;
  return b;
}

void cmcp__stats_request(cmcp__stats_method m, cmcp__stats_outcome o,
                         uint64_t ns) {
  shard *s = here();
  if ((unsigned)m >= CMCP__SM_COUNT)
    m = CMCP__SM_OTHER;
  if ((unsigned)o >= CMCP__SO_COUNT)
    o = CMCP__SO_ERROR;
  add(&s->requests[m][o], 1);
  add(&s->latency[m][bucket_of(ns)], 1);
  add(&s->latency_sum_ns[m], ns);
}

/* ---- meters ------------------------------------------------------------- */

cmcp__stats_meter *cmcp__stats_meter_push(cmcp__stats_meter *m) {
  cmcp__stats_meter *prev = meter;
  meter = m;
  return prev;
}

void cmcp__stats_meter_pop(cmcp__stats_meter *prev) {
  meter = prev;
}

cmcp__stats_meter *cmcp__stats_meter_current(void) {
  return meter;
}

void cmcp__stats_meter_end(cmcp__stats_meter *m, cmcp__stats_outcome o) {
  uint64_t now;
  if (m == NULL || m->done)
    return;
  m->done = 1;
  if (o == CMCP__SO_OK && m->tool_error)
    o = CMCP__SO_TOOL_ERROR;
  now = cmcp__now_ns();
  cmcp__stats_request((cmcp__stats_method)m->method, o,
                      now > m->t0_ns ? now - m->t0_ns : 0);
}

void cmcp__stats_answered(cmcp__stats_outcome o) {
  cmcp__stats_meter_end(meter, o);
}

/* ---- threads ------------------------------------------------------------ */

int cmcp__stats_thread_attach(void) {
  shard *s;
  if (mine != NULL)
    return 0;
  s = cmcp__calloc(1, sizeof(*s));
  if (s == NULL)
    return CMCP_ENOMEM;
  pthread_mutex_lock(&lock);
  s->next = attached;
  attached = s;
  pthread_mutex_unlock(&lock);
  mine = s;
  return 0;
}

/* Adds n counters of from into to (atomic adds: to may be shared). */
static void fold_run(ctr *to, ctr *from, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    atomic_fetch_add_explicit(
        &to[i], atomic_load_explicit(&from[i], memory_order_relaxed),
        memory_order_relaxed);
}

/* Adds every value of shard from into shard to. */
static void fold(shard *to, shard *from) {
  size_t i;
  for (i = 0; i < CMCP__SG_COUNT; i++)
    atomic_fetch_add_explicit(
        &to->gauge[i],
        atomic_load_explicit(&from->gauge[i], memory_order_relaxed),
        memory_order_relaxed);
  fold_run(to->counter, from->counter, CMCP__SC_COUNT);
  fold_run(to->refused, from->refused, CMCP__REFUSE_COUNT);
  fold_run(to->http, from->http, CMCP__SH_COUNT);
  fold_run(&to->requests[0][0], &from->requests[0][0],
           (size_t)CMCP__SM_COUNT * CMCP__SO_COUNT);
  fold_run(&to->latency[0][0], &from->latency[0][0],
           (size_t)CMCP__SM_COUNT * (CMCP__STATS_BUCKETS + 1));
  fold_run(to->latency_sum_ns, from->latency_sum_ns, CMCP__SM_COUNT);
}

void cmcp__stats_thread_detach(void) {
  shard *s = mine, **pp;
  if (s == NULL)
    return;
  pthread_mutex_lock(&lock);
  for (pp = &attached; *pp != NULL; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  fold(&common, s);
  pthread_mutex_unlock(&lock);
  mine = NULL;
  cmcp__free(s);
}

/* ---- reading ------------------------------------------------------------ */

static uint64_t ld(ctr *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

/* Adds shard s into the snapshot. */
static void sum_into(cmcp__stats_snapshot *out, shard *s) {
  int i, j;
  for (i = 0; i < CMCP__SC_COUNT; i++)
    out->counter[i] += ld(&s->counter[i]);
  for (i = 0; i < CMCP__SG_COUNT; i++)
    out->gauge[i] += atomic_load_explicit(&s->gauge[i], memory_order_relaxed);
  for (i = 0; i < CMCP__REFUSE_COUNT; i++)
    out->refused[i] += ld(&s->refused[i]);
  for (i = 0; i < CMCP__SH_COUNT; i++)
    out->http[i] += ld(&s->http[i]);
  for (i = 0; i < CMCP__SM_COUNT; i++) {
    for (j = 0; j < CMCP__SO_COUNT; j++)
      out->requests[i][j] += ld(&s->requests[i][j]);
    for (j = 0; j <= CMCP__STATS_BUCKETS; j++)
      out->latency[i][j] += ld(&s->latency[i][j]);
    out->latency_sum_ns[i] += ld(&s->latency_sum_ns[i]);
  }
}

void cmcp__stats_read(cmcp__stats_snapshot *out) {
  shard *s;
  int i;
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&lock);
  for (s = attached; s != NULL; s = s->next)
    sum_into(out, s);
  sum_into(out, &common);
  pthread_mutex_unlock(&lock);
  for (i = 0; i < CMCP__SG_COUNT; i++)
    if (out->gauge[i] < 0)
      out->gauge[i] = 0;
}

/* ---- names -------------------------------------------------------------- */

const char *cmcp__stats_method_name(int m) {
  return (unsigned)m < CMCP__SM_COUNT ? method_names[m] : "other";
}

const char *cmcp__stats_outcome_name(int o) {
  return (unsigned)o < CMCP__SO_COUNT ? outcome_names[o] : "error";
}

const char *cmcp__stats_limit_name(int l) {
  return (unsigned)l < CMCP__REFUSE_COUNT ? limit_names[l] : NULL;
}

const char *cmcp__stats_http_code_name(int h) {
  return (unsigned)h < CMCP__SH_COUNT ? http_names[h] : NULL;
}

uint64_t cmcp__stats_bucket_ns(int b) {
  return (unsigned)b < CMCP__STATS_BUCKETS ? bucket_ns[b] : UINT64_MAX;
}

const char *cmcp__stats_bucket_le(int b) {
  return (unsigned)b <= CMCP__STATS_BUCKETS ? bucket_le[b] : NULL;
}

cmcp__stats_method cmcp__stats_method_lookup(const char *name) {
  int i;
  if (name == NULL)
    return CMCP__SM_OTHER;
  for (i = 1; i < CMCP__SM_COUNT; i++) /* first byte first: cheap misses */
    if (method_names[i][0] == name[0] && strcmp(method_names[i], name) == 0)
      return (cmcp__stats_method)i;
  return CMCP__SM_OTHER;
}
