/* src/base/stats.h: the process's counters, gauges and latency histograms,
 * recorded by every layer and read by the /metrics scrape (rt/metrics.h).
 * Internal.
 *
 * Nothing here is shared on the hot path. A thread that calls
 * cmcp__stats_thread_attach (each loop thread does) records into its own
 * shard with plain relaxed load + store (one writer per shard: no locked
 * instruction). Any other thread (workers, the user's threads) records into
 * one common shard with relaxed atomic adds. A scrape sums every shard.
 * Labels come from closed enums, never from strings off the wire: a
 * metric is an array index.
 *
 * Gauges are kept as per-shard deltas: a connection opened on loop A and
 * closed on loop A nets zero in A's shard; a worker job queued on a loop and
 * taken by a worker thread nets zero across the two shards. The sum is read
 * without a global lock, so a gauge read during a change may be off by the
 * changes in flight; readers clamp it at zero.
 *
 * Every function is safe from any thread and never allocates, except
 * cmcp__stats_thread_attach.
 */
#ifndef CMCP_BASE_STATS_H
#define CMCP_BASE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* ---- labels ------------------------------------------------------------- */

/* The method label of a request: the closed set of MCP request methods a
 * server answers (2024-11-05 ... 2026-07-28), plus "other" for any other
 * name (unknown methods, answered -32601). */
typedef enum {
  CMCP__SM_OTHER = 0,
  CMCP__SM_INITIALIZE,
  CMCP__SM_PING,
  CMCP__SM_DISCOVER,
  CMCP__SM_TOOLS_LIST,
  CMCP__SM_TOOLS_CALL,
  CMCP__SM_RESOURCES_LIST,
  CMCP__SM_TEMPLATES_LIST,
  CMCP__SM_RESOURCES_READ,
  CMCP__SM_SUBSCRIBE,
  CMCP__SM_UNSUBSCRIBE,
  CMCP__SM_PROMPTS_LIST,
  CMCP__SM_PROMPTS_GET,
  CMCP__SM_COMPLETE,
  CMCP__SM_SET_LEVEL,
  CMCP__SM_LISTEN,
  CMCP__SM_TASKS_GET,
  CMCP__SM_TASKS_RESULT,
  CMCP__SM_TASKS_LIST,
  CMCP__SM_TASKS_CANCEL,
  CMCP__SM_COUNT
} cmcp__stats_method;

/* How a request ended (label "outcome"). */
typedef enum {
  CMCP__SO_OK = 0,     /* a result (tool calls: isError absent or false) */
  CMCP__SO_TOOL_ERROR, /* a CallToolResult with isError: true */
  CMCP__SO_ERROR,      /* a JSON-RPC error other than a refusal */
  CMCP__SO_REFUSED,    /* -32000 "Server overloaded": a limit refused it */
  CMCP__SO_CANCELLED,  /* never answered: cancelled, or its peer closed */
  CMCP__SO_COUNT
} cmcp__stats_outcome;

/* The limit behind a refusal (label "limit" of cmcp_refusals_total). Each
 * is named after the option that sets it. */
typedef enum {
  CMCP__REFUSE_MAX_CONNECTIONS = 0, /* accept over --max-connections: 503 */
  CMCP__REFUSE_MAX_SESSIONS,        /* initialize over --max-sessions: 503 */
  CMCP__REFUSE_MAX_INFLIGHT,        /* over --max-inflight (process): -32000 */
  CMCP__REFUSE_MAX_INFLIGHT_PEER,   /* over the per-connection in-flight
                                       bound: -32000 */
  CMCP__REFUSE_QUEUE,               /* worker queue full (--queue): -32000 */
  CMCP__REFUSE_MAX_MEMORY,          /* RSS over --max-memory: 503 / -32000 */
  CMCP__REFUSE_MAX_MESSAGE_BYTES,   /* body or line too long: 413 */
  CMCP__REFUSE_MAX_HEADER_BYTES,    /* header block too long: 431 */
  CMCP__REFUSE_MAX_HEADER_COUNT,    /* too many header fields: 431 */
  CMCP__REFUSE_MAX_URL_BYTES,       /* request target too long: 414 */
  CMCP__REFUSE_HEADER_TIMEOUT,      /* head not read in time: 408 */
  CMCP__REFUSE_BODY_TIMEOUT,        /* body not read in time: 408 */
  CMCP__REFUSE_MAX_PIPELINED,       /* too many requests queued on one
                                       connection: reading paused */
  CMCP__REFUSE_OUTBOUND_BYTES,      /* slow consumer dropped over
                                       --max-outbound-bytes */
  CMCP__REFUSE_OUT_OF_MEMORY,       /* allocation failed: 503 / -32603 */
  CMCP__REFUSE_TASKS_PER_PEER,      /* tasks held per session/client: -32000 */
  CMCP__REFUSE_TASK_WAITERS,        /* tasks/result waiting on one task */
  CMCP__REFUSE_SUBSCRIPTIONS,       /* resources/subscribe per session */
  CMCP__REFUSE_MAX_QUEUE_DELAY,     /* loop lagging over --max-queue-delay:
                                       503 / -32000 */
  CMCP__REFUSE_COUNT
} cmcp__stats_limit;

/* Monotonic counters without labels. */
typedef enum {
  CMCP__SC_CONNECTIONS_ACCEPTED = 0, /* HTTP connections accepted */
  CMCP__SC_SESSIONS_CREATED,         /* legacy sessions created */
  CMCP__SC_STREAMS_OPENED,           /* SSE streams opened */
  CMCP__SC_COUNT
} cmcp__stats_counter;

/* Gauges, changed by +/- deltas. */
typedef enum {
  CMCP__SG_CONNECTIONS = 0, /* open HTTP connections */
  CMCP__SG_SESSIONS,        /* live legacy sessions */
  CMCP__SG_STREAMS,         /* open SSE streams: GET, listen, per-request */
  CMCP__SG_INFLIGHT,        /* admitted requests not yet finished */
  CMCP__SG_WORKER_QUEUE,    /* blocking calls waiting for a worker */
  CMCP__SG_OUTBOUND_BYTES,  /* bytes queued for sending, not yet written */
  CMCP__SG_COUNT
} cmcp__stats_gauge;

/* HTTP status codes counted (label "code"); anything else is "other". */
/* clang-format off */
#define CMCP__STATS_HTTP_CODES                                                 \
  X(200) X(202) X(204) X(400) X(403) X(404) X(405) X(406) X(408) X(413)        \
  X(414) X(415) X(422) X(431) X(500) X(503)
enum {
#define X(c) CMCP__SH_##c,
  CMCP__STATS_HTTP_CODES
#undef X
  CMCP__SH_OTHER,
  CMCP__SH_COUNT
};
/* clang-format on */

/* Latency buckets: upper bounds in seconds (Prometheus "le"), plus +Inf. */
#define CMCP__STATS_BUCKETS 16

/* ---- recording ---------------------------------------------------------- */

void cmcp__stats_count(cmcp__stats_counter c);
void cmcp__stats_gauge_add(cmcp__stats_gauge g, int64_t delta);
/* Counts one refusal by limit l (call it where the refusal is answered or
 * the peer is dropped, once per refusal). */
void cmcp__stats_refused(cmcp__stats_limit l);
/* Counts one HTTP response with this status code. */
void cmcp__stats_http_response(int status);
/* Counts one request of method m that ended with outcome o after ns
 * nanoseconds (arrival to answer) in the request counter and the latency
 * histogram. */
void cmcp__stats_request(cmcp__stats_method m, cmcp__stats_outcome o,
                         uint64_t ns);

/* ---- requests being answered (the engine) ------------------------------ */

/* A request's meter: when it arrived and how it is labelled. The engine
 * makes one current while it may answer the request (dispatch, completion)
 * and the first answer sent records it, once. */
typedef struct cmcp__stats_meter {
  uint64_t t0_ns;     /* arrival, cmcp__now_ns() */
  uint8_t method;     /* cmcp__stats_method */
  uint8_t done;       /* recorded already */
  uint8_t tool_error; /* a result sent for it is a tool error */
} cmcp__stats_meter;

/* Makes m the calling thread's current meter; returns the previous one,
 * to give back to cmcp__stats_meter_pop (meters nest). */
cmcp__stats_meter *cmcp__stats_meter_push(cmcp__stats_meter *m);
void cmcp__stats_meter_pop(cmcp__stats_meter *prev);
/* The current meter, or NULL. */
cmcp__stats_meter *cmcp__stats_meter_current(void);
/* The current request was answered with outcome o (OK becomes TOOL_ERROR
 * when the meter says so): records it unless already recorded. No-op
 * without a current meter. */
void cmcp__stats_answered(cmcp__stats_outcome o);
/* Records m as ended with outcome o unless already recorded. */
void cmcp__stats_meter_end(cmcp__stats_meter *m, cmcp__stats_outcome o);

/* ---- threads ------------------------------------------------------------ */

/* Gives the calling thread a shard of its own (idempotent). CMCP_ENOMEM
 * leaves it on the common shard, which stays correct, only slower. */
int cmcp__stats_thread_attach(void);
/* Folds the thread's shard into the common one and frees it (call before
 * the thread ends; nothing recorded is lost). */
void cmcp__stats_thread_detach(void);

/* ---- reading ------------------------------------------------------------ */

typedef struct cmcp__stats_snapshot {
  uint64_t counter[CMCP__SC_COUNT];
  int64_t gauge[CMCP__SG_COUNT]; /* clamped at 0 */
  uint64_t refused[CMCP__REFUSE_COUNT];
  uint64_t http[CMCP__SH_COUNT];
  uint64_t requests[CMCP__SM_COUNT][CMCP__SO_COUNT];
  /* Per bucket, not cumulative; [CMCP__STATS_BUCKETS] is over the last
   * bound. */
  uint64_t latency[CMCP__SM_COUNT][CMCP__STATS_BUCKETS + 1];
  uint64_t latency_sum_ns[CMCP__SM_COUNT];
} cmcp__stats_snapshot;

/* Sums every shard into out (about 4 KB; safe from any thread). */
void cmcp__stats_read(cmcp__stats_snapshot *out);

/* Label strings and bucket bounds. */
const char *cmcp__stats_method_name(int m);
const char *cmcp__stats_outcome_name(int o);
const char *cmcp__stats_limit_name(int l);
/* "200" ... or "other" for CMCP__SH_OTHER. */
const char *cmcp__stats_http_code_name(int h);
/* Upper bound of bucket b in nanoseconds, and as Prometheus "le" text. */
uint64_t cmcp__stats_bucket_ns(int b);
const char *cmcp__stats_bucket_le(int b);
/* The method label of a request method name (closed set; else OTHER). */
cmcp__stats_method cmcp__stats_method_lookup(const char *name);

#endif /* CMCP_BASE_STATS_H */
