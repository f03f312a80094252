/* src/proto/engine.h: the MCP engine's internal interfaces. Internal.
 *
 * Files:
 *   server.c    the server object, limits, notifications from any thread
 *   registry.c  immutable feature snapshots swapped atomically
 *   call.c      cmcp_call_t: the handler-facing API, finishing from any thread
 *   complete.c  a finished call becomes its response (or asks the client)
 *   writer.c    JSON text written directly for the tools/call hot path
 *   peer.c      peers: feed, decode, in-flight table, asks, ping, tick
 *   methods.c   dispatch, admission and the method handlers of both eras
 *   modern.c    2026-07-28 specifics: _meta, discover, listen, MRTR state
 *   tasks.c     the tasks extension (hooked through cmcp__ext_ops)
 *
 * Threads. A peer and everything reachable from it is touched on its loop
 * thread only. A call's result may be built on another thread (blocking or
 * asynchronous handlers); finishing it hands it back to the loop thread
 * through ops->post. The registry snapshot is read with an atomic load and a
 * reference count; writers serialize on the server mutex.
 */
#ifndef CMCP_PROTO_ENGINE_H
#define CMCP_PROTO_ENGINE_H

#include "base/base.h"
#include "base/stats.h"
#include "proto/peer.h"
#include "proto/schema.h"
#include "proto/seal.h"
#include "proto/uritemplate.h"
#include "json/json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Parses a JSON object text from the public API: CMCP_EINVAL for anything
 * that is not a JSON object (even malformed text), CMCP_ENOMEM. */
int cmcp__parse_api_object(const char *text, json_object **out);

/* ---- protocol versions -------------------------------------------------- */

/* Index into the version table, newest first. */
typedef enum {
  CMCP__V2026_07_28 = 0,
  CMCP__V2025_11_25,
  CMCP__V2025_06_18,
  CMCP__V2025_03_26,
  CMCP__V2024_11_05,
  CMCP__VERSION_COUNT
} cmcp__version;

/* The version index of a version string, or -1 when unknown. */
int cmcp__version_index(const char *v);
/* The static string of a version index. */
const char *cmcp__version_name(int v);

/* ---- feature registry ---------------------------------------------------- */

typedef enum {
  CMCP__TOOL = 0,
  CMCP__RESOURCE,
  CMCP__TEMPLATE,
  CMCP__PROMPT,
  CMCP__KIND_COUNT
} cmcp__kind;

/* One registered feature. Immutable once published; shared by every
 * snapshot that lists it (reference counted). */
typedef struct cmcp__feature {
  atomic_int refs;
  cmcp__kind kind;
  unsigned flags;   /* CMCP_FEATURE_* */
  char *key;        /* tool/prompt name, resource URI, uriTemplate */
  json_object *def; /* the Tool/Resource/... object as listed */
  cmcp_handler_fn fn;
  void *data;
  cmcp__schema_t *input;  /* tools: compiled inputSchema */
  cmcp__schema_t *output; /* tools: compiled outputSchema, or NULL */
  cmcp__uritpl_t *tpl;    /* templates: compiled uriTemplate */
} cmcp__feature;

/* An immutable snapshot of every feature. */
typedef struct cmcp__registry {
  atomic_int refs;
  size_t count[CMCP__KIND_COUNT];
  cmcp__feature **items[CMCP__KIND_COUNT]; /* registration order */
  uint32_t *index[CMCP__KIND_COUNT];       /* hash: item index + 1, 0 empty */
  size_t mask[CMCP__KIND_COUNT];           /* index size - 1 */
} cmcp__registry;

/* Creates a feature from its definition object (a reference is taken).
 * Compiles the schemas or template the kind needs. NULL with a reason in
 * err on an invalid definition, or on ENOMEM (*status tells which). */
cmcp__feature *cmcp__feature_new(cmcp__kind kind, json_object *def,
                                 unsigned flags, cmcp_handler_fn fn, void *data,
                                 int *status);
void cmcp__feature_unref(cmcp__feature *f);

/* An empty snapshot, or NULL on ENOMEM. */
cmcp__registry *cmcp__registry_empty(void);
/* A new snapshot: reg plus add (if not NULL), minus the feature of kind
 * keyed remove_key (if not NULL). NULL on ENOMEM. */
cmcp__registry *cmcp__registry_derive(const cmcp__registry *reg,
                                      cmcp__feature *add, cmcp__kind kind,
                                      const char *remove_key);
void cmcp__registry_unref(cmcp__registry *reg);
/* The feature of kind with key, or NULL. O(1). */
cmcp__feature *cmcp__registry_find(const cmcp__registry *reg, cmcp__kind kind,
                                   const char *key);

/* The current snapshot with a reference for the caller (lock-free). */
cmcp__registry *cmcp__registry_acquire(cmcp_server_t *srv);
/* Publishes next (consuming the caller's reference) and drops the old one
 * once no reader is between its load and its increment. Caller holds
 * srv->lock. */
void cmcp__registry_publish(cmcp_server_t *srv, cmcp__registry *next);

/* ---- server ----------------------------------------------------------------
 */

/* Task extension hook: set by the tasks module; NULL means the tasks
 * methods are unknown (-32601). */
typedef struct cmcp__req cmcp__req;
typedef struct cmcp__ext_ops {
  /* Handles tasks/get, tasks/result, tasks/list, tasks/cancel,
   * tasks/update; answers exactly once. */
  void (*request)(cmcp__peer_t *peer, cmcp__req *req);
  /* Every admitted tools/call, after argument validation: returns 1 if it
   * took the call (and answers it), 0 to let the engine run it normally. */
  int (*call)(cmcp__peer_t *peer, cmcp__req *req, cmcp_call_t *call);
  /* Expires tasks; returns ms to its next deadline or -1. */
  int64_t (*tick)(cmcp__peer_t *peer, uint64_t now_ms);
  /* The peer is closing: release its tasks. */
  void (*peer_closed)(cmcp__peer_t *peer);
  /* Adds the extension's capability to a ServerCapabilities object. */
  void (*capabilities)(cmcp_server_t *srv, int version, json_object *caps);
  /* A call that runs a task (call->task set) finished a round, on its
   * loop thread: returns 1 if it took the outcome (the call is then kept
   * or retired by the extension), 0 to let the engine deliver it. */
  int (*finished)(cmcp_call_t *call);
  /* The server is being freed: release the extension's state. */
  void (*server_free)(cmcp_server_t *srv);
} cmcp__ext_ops;

/* The tasks extension (tasks.c), installed by cmcp_server_new. */
extern const cmcp__ext_ops cmcp__tasks_ops;

struct cmcp_server {
  pthread_mutex_t lock;          /* features writers, peer list */
  _Atomic(cmcp__registry *) reg; /* current snapshot */
  atomic_int acquiring;          /* readers between load and increment */
  json_object *info;             /* Implementation: name, version, ... */
  char *info_modern;             /* serverInfo text for 2026-07-28 */
  char *instructions;
  int64_t limits[CMCP_LIMIT_COUNT_];
  cmcp__sealer_t *sealer;
  int64_t cache_ttl_ms;
  const char *cache_scope; /* "public" or "private" (static) */
  cmcp_handler_fn completion_fn;
  void *completion_data;
  atomic_long inflight_total; /* admitted requests, every peer */
  cmcp__peer_t *peers;        /* live peers (under lock) */
  const cmcp__ext_ops *tasks; /* tasks extension, or NULL */
  void *tasks_state;          /* its server-wide state (tasks.c) */
  void *data;
};

/* A peer's limits read from the server. */
int64_t cmcp__limit(const cmcp_server_t *srv, cmcp_limit_t which);

/* Notification kinds a peer may want from notify-from-anywhere. */
enum {
  CMCP__WANT_TOOLS = CMCP_LIST_TOOLS,
  CMCP__WANT_RESOURCES = CMCP_LIST_RESOURCES,
  CMCP__WANT_PROMPTS = CMCP_LIST_PROMPTS,
  CMCP__WANT_UPDATES = 8, /* resources/updated for some URI */
  CMCP__WANT_LOGS = 16    /* server-wide notifications/message */
};

/* ---- requests and calls -------------------------------------------------- */

typedef enum {
  CMCP__M_UNKNOWN = 0,
  CMCP__M_INITIALIZE,
  CMCP__M_PING,
  CMCP__M_DISCOVER,
  CMCP__M_TOOLS_LIST,
  CMCP__M_TOOLS_CALL,
  CMCP__M_RESOURCES_LIST,
  CMCP__M_TEMPLATES_LIST,
  CMCP__M_RESOURCES_READ,
  CMCP__M_SUBSCRIBE,
  CMCP__M_UNSUBSCRIBE,
  CMCP__M_PROMPTS_LIST,
  CMCP__M_PROMPTS_GET,
  CMCP__M_COMPLETE,
  CMCP__M_SET_LEVEL,
  CMCP__M_LISTEN,
  CMCP__M_TASKS, /* tasks/get, tasks/result, tasks/list, tasks/cancel,
                    tasks/update: the tasks extension */
  CMCP__M_COUNT
} cmcp__method;

/* The method code of a method name (O(1): switch on length and bytes). */
cmcp__method cmcp__method_lookup(const char *name);

/* A request being dispatched (lives for the dispatch only). */
struct cmcp__req {
  cmcp__msg *msg;
  json_object *id;
  const char *method_name;
  cmcp__method method;
  int modern;        /* 1 on the 2026-07-28 wire */
  int version;       /* cmcp__version */
  json_object *meta; /* params._meta, or NULL */
  json_object *caps; /* client capabilities (borrowed) */
  cmcp_log_level_t log_level;
};

/* Call state bits (cmcp_call_t.state). */
enum {
  CMCP__CS_IN_HANDLER = 1, /* a handler invocation is running */
  CMCP__CS_FINISHED = 2,   /* the handler finished this round */
  /* A call finishing off the loop after its peer closed is freed by
   * whichever of these two sets its bit second: */
  CMCP__CS_ORPHANED = 4, /* the closing peer is done with the call */
  CMCP__CS_DROPPED = 8   /* the finisher gave up handing it back */
};

/* How the handler finished. */
typedef enum {
  CMCP__OUT_NONE = 0,
  CMCP__OUT_DONE,
  CMCP__OUT_TOOL_ERROR,
  CMCP__OUT_ERROR,
  CMCP__OUT_NEED_INPUT
} cmcp__outcome;

struct cmcp_call {
  cmcp_server_t *srv;
  cmcp__peer_t *peer;
  cmcp__registry *reg;       /* snapshot the call holds */
  const cmcp__feature *feat; /* NULL for completion, listen */
  cmcp_call_t *next;         /* in-flight hash chain */
  cmcp_call_t *listen_next;  /* peer's subscriptions/listen list */
  json_object *root;         /* reference to the request message */
  json_object *id, *params, *args, *caps;
  cmcp__method method;
  int modern, version;
  cmcp_log_level_t log_level; /* modern: from _meta (OFF if absent) */
  const char *name;           /* tool/prompt name or URI (in root) */
  json_object *progress_token;
  double progress_last;
  int progress_sent;
  cmcp__uritpl_match vars;
  /* result under construction */
  cmcp__buf content; /* content blocks as JSON text, comma-joined */
  json_object *structured, *contents, *messages, *values, *extra;
  int64_t total;
  int has_total, has_more;
  /* finishing */
  atomic_uint state;
  atomic_int cancelled;
  cmcp__outcome outcome;
  int err_code;
  char *err_msg;
  json_object *err_data;
  /* asking for input */
  json_object *inputs;        /* key -> answer (earlier rounds + this) */
  json_object *asks;          /* key -> {method, params} of this round */
  char *state_in, *state_out; /* handler state */
  int asks_pending;           /* legacy: server->client requests open */
  /* subscriptions/listen */
  unsigned listen_want;     /* CMCP__WANT_* */
  json_object *listen_uris; /* array of URIs, or NULL */
  int peer_linked;          /* in the peer's in-flight table */
  atomic_int claimed;       /* a finishing function was called */
  size_t values_dropped;    /* completion values past the cap */
  int completing;           /* inside cmcp__call_complete */
  void *task;               /* the task this call runs (tasks.c) */
  cmcp__stats_meter meter;  /* arrival and method label (metrics) */
};

/* Creates a call for req on peer, holding reg (a reference is taken) and
 * feat. NULL on ENOMEM. */
cmcp_call_t *cmcp__call_new(cmcp__peer_t *peer, const cmcp__req *req,
                            cmcp__registry *reg, const cmcp__feature *feat);
/* Frees the call and what it holds (not the in-flight bookkeeping). */
void cmcp__call_free(cmcp_call_t *call);
/* Clears the result under construction for another handler round. */
void cmcp__call_reset_round(cmcp_call_t *call);
/* Runs the call's handler (on the loop, or the worker pool when blocking)
 * and completes it if it finished. */
void cmcp__call_invoke(cmcp_call_t *call);
/* Finishes the call with a JSON-RPC error from the engine itself. */
void cmcp__call_fail(cmcp_call_t *call, int code, const char *message,
                     json_object *data);
/* Sends the call's outcome and retires it (loop thread). */
void cmcp__call_complete(cmcp_call_t *call);
/* The closing peer is done touching a call whose handler still runs:
 * frees it if its finisher already dropped it (peer.c, loop thread). */
void cmcp__call_orphaned(cmcp_call_t *call);
/* 1 when running on the call's loop thread. */
int cmcp__call_on_loop(const cmcp_call_t *call);

/* ---- peers -----------------------------------------------------------------
 */

/* resources/subscribe URIs one session may hold (the message text in
 * methods.c says the number). */
#define CMCP__SUBS_MAX 1024

struct cmcp__peer {
  cmcp_server_t *srv;
  const cmcp__peer_ops *ops;
  void *ctx;
  atomic_int refs;
  atomic_int closed;
  pthread_t loop;            /* the owning loop thread */
  cmcp__peer_t *prev, *next; /* server's peer list */
  atomic_uint want;          /* CMCP__WANT_* */
  /* legacy session */
  int initialized;
  int version;          /* negotiated cmcp__version, or -1 */
  json_object *caps;    /* client capabilities from initialize */
  atomic_int log_level; /* legacy logging/setLevel */
  atomic_int posting;   /* threads inside cmcp__peer_post */
  /* Bytes of notifications posted from other threads and not yet run on
   * the loop, bounded by CMCP_LIMIT_OUTBOUND_BYTES; lagging is set when a
   * server-wide one did not fit (the loop then closes the peer). */
  atomic_size_t posted_bytes;
  atomic_int lagging;
  json_object *subs; /* resources/subscribe URIs, <= CMCP__SUBS_MAX */
  /* in-flight requests */
  cmcp_call_t **buckets;
  size_t nbuckets;
  size_t inflight;
  cmcp_call_t *listens;
  /* server->client requests (legacy asks) */
  struct cmcp__ask *asks;
  int64_t next_ask_id;
  struct cmcp__task *tasks; /* this session's tasks (tasks.c) */
  int closing;              /* ops->close was requested */
  int client_ready;         /* notifications/initialized seen */
};

/* One server->client request awaiting the client's response. */
typedef struct cmcp__ask {
  struct cmcp__ask *next;
  int64_t id;
  cmcp_call_t *call; /* NULL for a ping */
  char *key;
  uint64_t deadline_ms;
} cmcp__ask;

void cmcp__peer_ref(cmcp__peer_t *peer);
void cmcp__peer_unref(cmcp__peer_t *peer);
/* Runs fn(arg) on the peer's loop through ops->post, from any thread; the
 * caller holds a reference on peer (or otherwise keeps it allocated).
 * CMCP_ECLOSED once the peer is closed: cmcp__peer_close waits for the
 * posts under way, so the transport's ctx is never used after it returns.
 * Without ops->post (single-threaded use) fn runs inline. */
int cmcp__peer_post(cmcp__peer_t *peer, void (*fn)(void *), void *arg);
/* Counts cost bytes of a notification about to be posted to peer from
 * another thread: 0, or CMCP_ELIMIT (nothing counted) when the peer already
 * has CMCP_LIMIT_OUTBOUND_BYTES of them waiting for its loop. Any thread. */
int cmcp__peer_post_reserve(cmcp__peer_t *peer, size_t cost);
/* Uncounts them once the notification ran (or was not posted). */
void cmcp__peer_post_release(cmcp__peer_t *peer, size_t cost);
/* On the loop: closes a peer that fell behind its notifications (a
 * server-wide one found no room) as a slow consumer. */
void cmcp__peer_check_lagging(cmcp__peer_t *peer);

/* Sends one serialized message (borrowed) through ops->send; a refusal
 * (slow consumer) asks the transport to end the conversation. */
int cmcp__send_text(cmcp__peer_t *peer, const char *text, size_t len,
                    const cmcp__out_info *info);
/* Sending (loop thread). related may be NULL. Each returns 0 or a status;
 * a failing transport closes the peer. */
int cmcp__send_result(cmcp__peer_t *peer, json_object *id, json_object *result);
int cmcp__send_error(cmcp__peer_t *peer, json_object *id, int code,
                     const char *message, json_object *data);
int cmcp__send_notification(cmcp__peer_t *peer, const char *method,
                            json_object *params, json_object *related);
/* Sends params as a server->client request for call's ask key (call NULL:
 * a ping of our own, answered by nobody's handler). */
int cmcp__send_ask(cmcp__peer_t *peer, cmcp_call_t *call, const char *key,
                   const char *method, json_object *params);

/* In-flight table. */
int cmcp__inflight_add(cmcp__peer_t *peer, cmcp_call_t *call);
cmcp_call_t *cmcp__inflight_find(cmcp__peer_t *peer, json_object *id);
void cmcp__inflight_remove(cmcp__peer_t *peer, cmcp_call_t *call);
/* Drops a call's legacy asks (after cancel or failure). */
void cmcp__asks_drop_call(cmcp__peer_t *peer, cmcp_call_t *call);

/* Delivery from notify-from-anywhere (loop thread). */
void cmcp__peer_deliver_list_changed(cmcp__peer_t *peer, unsigned kinds);
void cmcp__peer_deliver_updated(cmcp__peer_t *peer, const char *uri);
void cmcp__peer_deliver_log(cmcp__peer_t *peer, const char *json, size_t len,
                            cmcp_log_level_t level);

/* The server's peer list (server.c). */
void cmcp__server_attach(cmcp_server_t *srv, cmcp__peer_t *peer);
void cmcp__server_detach(cmcp_server_t *srv, cmcp__peer_t *peer);
/* LoggingMessageNotification params {level, logger?, data}; data is
 * consumed. NULL on ENOMEM. */
json_object *cmcp__log_params(cmcp_log_level_t level, const char *logger,
                              json_object *data);

/* Recomputes peer->want from its session and listen streams. */
void cmcp__peer_update_want(cmcp__peer_t *peer);
/* Sends a notification on a subscriptions/listen stream, tagged with its
 * subscription id (params may be NULL). */
int cmcp__listen_notify(cmcp__peer_t *peer, cmcp_call_t *listen,
                        const char *method, json_object *params);

/* ---- methods ----------------------------------------------------------- */

/* Dispatches an admitted-or-not request; answers exactly once. */
void cmcp__dispatch(cmcp__peer_t *peer, cmcp__req *req);
/* Admits req as a call (in-flight limits, never queued) or answers why
 * not and returns NULL. */
cmcp_call_t *cmcp__admit(cmcp__peer_t *peer, cmcp__req *req,
                         cmcp__registry *reg, const cmcp__feature *feat);
/* Method handlers (methods.c). */
void cmcp__m_initialize(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_list(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_feature_call(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_complete(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_set_level(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_subscribe(cmcp__peer_t *peer, cmcp__req *req);
/* Server capabilities for a version (a new object, or NULL on ENOMEM). */
json_object *cmcp__capabilities(cmcp_server_t *srv, const cmcp__registry *reg,
                                int version);
/* serverInfo for a version (new object with the fields it allows). */
json_object *cmcp__server_info(cmcp_server_t *srv, int version);
/* A copy of a listed definition with only the fields version allows. */
json_object *cmcp__def_for_version(const cmcp__feature *f, int version);
/* Builds the result object of a finished call (DONE / TOOL_ERROR); sets
 * code and msg on an engine-detected error instead (NULL returned). */
json_object *cmcp__call_result(cmcp_call_t *call, int *code, const char **msg);

/* ---- JSON text writer (writer.c) ------------------------------------- */

/* A JSON string of s[0..len) (escaped as json-c does, "/" unescaped). */
int cmcp__w_string(cmcp__buf *b, const char *s, size_t len);
int cmcp__w_str(cmcp__buf *b, const char *s);
/* A json-c value, compact. */
int cmcp__w_json(cmcp__buf *b, json_object *v);
/* Appends one content block {"k1":"v1",...} (pairs with a NULL value are
 * skipped) to a comma-joined list of blocks. */
int cmcp__w_block(cmcp__buf *content, const char *const *kv, size_t n);
/* Makes room for n bytes in all (capped at the limit), at once. */
int cmcp__w_reserve(cmcp__buf *b, size_t n);
/* Cuts b back to len bytes (len <= b->len). */
void cmcp__w_truncate(cmcp__buf *b, size_t len);
/* {"jsonrpc":"2.0","id":ID,"result": (the caller adds the result and
 * the closing brace). */
int cmcp__w_envelope_start(cmcp__buf *b, json_object *id);
/* The CallToolResult text of a finished call, decorated for the modern
 * wire when decorate is set. 0, or a status with code and msg for the
 * JSON-RPC error to answer instead (outputSchema violated, ENOMEM). */
int cmcp__tool_result_text(cmcp_call_t *call, cmcp__buf *b, int decorate,
                           int *code, const char **msg);

/* ---- modern (2026-07-28) --------------------------------------------- */

/* Validates a modern request's _meta and fills req; answers and returns -1
 * when invalid. */
int cmcp__modern_check(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_discover(cmcp__peer_t *peer, cmcp__req *req);
void cmcp__m_listen(cmcp__peer_t *peer, cmcp__req *req);
/* Ends one listen stream with its SubscriptionsListenResult. */
void cmcp__listen_end(cmcp__peer_t *peer, cmcp_call_t *call, int respond);
/* Adds resultType, _meta serverInfo and (cacheable) ttlMs/cacheScope to a
 * modern result. 0 or CMCP_ENOMEM. */
int cmcp__modern_decorate(cmcp_server_t *srv, json_object *result,
                          int cacheable, const char *result_type);
/* Reads requestState and inputResponses of a retried request into call.
 * Returns 0, or answers the request with -32602 and returns -1. */
int cmcp__mrtr_restore(cmcp_call_t *call);
/* Builds the InputRequiredResult of a call that needs input; NULL with
 * code, msg and data set when it cannot (missing client capability). */
json_object *cmcp__mrtr_result(cmcp_call_t *call, int *code, const char **msg,
                               json_object **data);
/* The client capability an ask needs, as a ClientCapabilities object, or
 * NULL when the client declared it. */
json_object *cmcp__ask_missing_cap(const cmcp_call_t *call, json_object *ask);

/* Sealed list cursors: offset <-> token bound to the method. */
int cmcp__cursor_make(cmcp_server_t *srv, const char *method, size_t offset,
                      cmcp__buf *out);
int cmcp__cursor_open(cmcp_server_t *srv, const char *method, const char *token,
                      size_t *offset);

#endif /* CMCP_PROTO_ENGINE_H */
