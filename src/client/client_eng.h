/* src/client/client_eng.h: the client engine's own state, shared by its
 * files (client.c: the object, configuration and connecting; client_req.c:
 * requests, answers, timeouts, the cache, pagination and the synchronous
 * calls; client_ask.c: what the server asks, notifications, MRTR and the
 * tool headers). Internal to src/client.
 *
 * A request the caller makes is a cmcp__creq. It keeps the caller's params
 * and its handle (the value of *req_out and of the progress token) for its
 * whole life; each attempt on the wire (the first send, an MRTR retry, a
 * retry with another protocol version) gets a fresh integer JSON-RPC id.
 * The request's uv_timer serves its timeout and, with a 0 ms timeout, the
 * completions that must not run inside the call that armed them (cache
 * hits, cancellation). A finished request closes its timer; the memory
 * goes when the close callback runs.
 */
#ifndef CMCP_CLIENT_ENG_H
#define CMCP_CLIENT_ENG_H

#include "client/client_int.h"
#include "json/json.h"

#define CMCP__CLIENT_ERRLEN 256
#define CMCP__CLIENT_CACHE_MAX 128 /* cached results kept at most */
#define CMCP__TOOLS_MAX 10000      /* tool definitions kept for headers */
/* An internal request flag beside CMCP_REQ_*: the answer is a long-lived
 * stream (subscriptions/listen), so no timeout applies. */
#define CMCP__REQ_STREAM (1u << 16)

typedef struct cmcp__creq cmcp__creq;

/* An internal completion: runs instead of the caller's callback. */
typedef void (*cmcp__creq_done)(cmcp_client_t *cli, cmcp__creq *r, int status,
                                json_object *result);

typedef enum {
  CMCP__CLI_IDLE = 0, /* configured, not connected */
  CMCP__CLI_CONNECTING,
  CMCP__CLI_READY,
  CMCP__CLI_DEAD,   /* the transport ended or connecting failed */
  CMCP__CLI_CLOSING /* cmcp_client_free was called */
} cmcp__cli_state;

/* Why a request exists, for the steps of connecting. */
typedef enum {
  CMCP__ROLE_USER = 0,
  CMCP__ROLE_DISCOVER, /* server/discover while connecting */
  CMCP__ROLE_INIT      /* initialize while connecting */
} cmcp__creq_role;

struct cmcp__creq {
  cmcp__creq *next, *prev; /* in cli->reqs */
  cmcp_client_t *cli;
  uint64_t handle; /* the caller's handle and the progress token */
  int64_t wire_id; /* the attempt on the wire; 0: none */
  char *method;
  json_object *params; /* the caller's params (an object), owned */
  unsigned flags;      /* CMCP_REQ_* */
  uint64_t timeout_ms; /* 0: none */
  uv_timer_t timer;
  cmcp_result_fn cb;
  void *data;
  cmcp__creq_done done; /* NULL: the caller's cb */
  void *ctx;            /* for done */
  cmcp__creq_role role;
  int stream;   /* subscriptions/listen: the answer is a stream */
  int local;    /* no wire request (a legacy listen on stdio) */
  int finished; /* completed; the timer is closing */
  int deferred; /* the timer completes it with the fields below */
  int deferred_status;
  json_object *deferred_result; /* owned; also the error kept while a
                                   tools/list runs after -32020 */
  int version_retries;          /* retries after -32022 */
  int header_retries;           /* tools/list + retry after -32020 */
  int rounds;                   /* InputRequiredResult rounds so far */
  /* The MRTR round being answered. */
  json_object *mrtr_responses; /* inputResponses under construction */
  char *mrtr_state;            /* requestState to echo, or NULL */
  int mrtr_has_state;
  int mrtr_pending;          /* asks of the round not answered yet */
  json_object *retry_fields; /* inputResponses/requestState of the retry */
};

struct cmcp_ask {
  cmcp_ask_t *next, *prev; /* in cli->asks */
  cmcp_client_t *cli;      /* NULL once the client is gone */
  cmcp__creq *req;         /* MRTR: the request it belongs to; else NULL */
  char *key;               /* MRTR: the inputRequests key */
  json_object *id;         /* legacy: the server's request id (owned) */
  char *method;
  json_object *params; /* owned; may be NULL */
  int cancelled;       /* the server cancelled it, or its request ended */
};

typedef struct cmcp__centry {
  struct cmcp__centry *next;
  char *key;           /* method, '\n', the params text */
  json_object *result; /* owned */
  uint64_t expires_ms; /* monotonic */
} cmcp__centry;

struct cmcp_client {
  uv_loop_t *loop;
  int own_loop; /* loop is private: allocated here, run by the sync calls */
  void *data;
  char err[CMCP__CLIENT_ERRLEN];
  cmcp__cli_state state;
  /* identity and configuration */
  json_object *client_info; /* Implementation: name, version, extras */
  char **argv, **env, *cwd; /* stdio */
  char *url;                /* HTTP */
  char **headers;           /* "Name: value" lines, NULL-terminated */
  size_t nheaders;
  char *bearer;
  cmcp_oauth_t *oauth;
  const char *pinned; /* a version from cmcp_protocol_versions() or NULL */
  uint64_t timeout_ms;
  int64_t limits[CMCP_CLIENT_LIMIT_COUNT_];
  int cache_enabled;
  /* what the server may ask */
  cmcp_ask_fn sampling_fn, elicit_fn, roots_fn;
  void *sampling_data, *elicit_data, *roots_data;
  unsigned elicit_modes;
  int roots_list_changed;
  cmcp_notify_fn notify_fn;
  void *notify_data;
  /* the connection */
  cmcp__ctransport *t;
  const char *protocol; /* in use (static string); NULL before connect */
  int modern;
  json_object *server_info, *server_caps; /* owned, may be NULL */
  char *instructions;
  int64_t next_id;
  uint64_t next_handle;
  cmcp__creq *reqs; /* pending requests */
  size_t nreqs;
  cmcp_ask_t *asks; /* unanswered asks */
  cmcp__centry *cache;
  size_t ncache;
  json_object *tools; /* tool name -> Tool, from tools/list */
  /* lifetime */
  int open_handles;   /* request timers not yet closed */
  int transport_open; /* the transport was not yet done closing */
  int sync_depth;     /* synchronous calls running the private loop */
  int free_pending;   /* freed during a synchronous call */
};

/* ---- client.c ---------------------------------------------------------- */

/* The ClientCapabilities object for the era in use (new reference). */
json_object *cmcp__client_caps(cmcp_client_t *cli, int modern);
/* Frees the client's memory once nothing of it is open any more. */
void cmcp__client_maybe_release(cmcp_client_t *cli);
/* A synchronous call stops running the private loop; finishes a
 * cmcp_client_free made meanwhile. */
void cmcp__client_sync_leave(cmcp_client_t *cli);
/* A connecting step finished (r is the discover or initialize request). */
void cmcp__client_connect_step(cmcp_client_t *cli, cmcp__creq *r, int status,
                               json_object *result, json_object *error);

/* ---- client_req.c ------------------------------------------------------ */

/* Makes a request object (params consumed, may be NULL for none). NULL on
 * ENOMEM (params then released). */
cmcp__creq *cmcp__creq_new(cmcp_client_t *cli, const char *method,
                           json_object *params, uint64_t timeout_ms,
                           unsigned flags, cmcp_result_fn cb, void *data);
/* Sends a request with params (consumed): the cache, the in-flight
 * limit, the first attempt. *req_out and *out (each may be NULL) receive
 * the handle and the request object. 0 or a status (cb never runs). */
int cmcp__client_request_obj(cmcp_client_t *cli, const char *method,
                             json_object *params, uint64_t timeout_ms,
                             unsigned flags, cmcp_result_fn cb, void *data,
                             uint64_t *req_out, cmcp__creq **out);
/* Sends r's next attempt (a fresh id) and (re)arms its timeout. 0 or the
 * transport's status. */
int cmcp__creq_send(cmcp_client_t *cli, cmcp__creq *r);
/* Completes r now: unlinks it, runs its completion and closes its timer.
 * result/error are borrowed. */
void cmcp__creq_finish(cmcp__creq *r, int status, json_object *result);
/* Completes r from the loop soon (never inside the current call); result
 * is borrowed (a reference is taken). */
void cmcp__creq_finish_later(cmcp__creq *r, int status, json_object *result);
/* Drops a request that was never sent (its callback never runs). */
void cmcp__creq_discard(cmcp__creq *r);
/* Fails every pending request with status. */
void cmcp__client_fail_all(cmcp_client_t *cli, int status);
/* Sends a notification (params consumed). */
int cmcp__client_notify(cmcp_client_t *cli, const char *method,
                        json_object *params);
/* Sends one serialized message with the routing info filled for cli. */
int cmcp__client_send_text(cmcp_client_t *cli, const char *text, size_t len,
                           const cmcp__csend *info);
/* Drops every cached result whose method is method (NULL: all). */
void cmcp__cache_drop(cmcp_client_t *cli, const char *method);
/* Frees the cache. */
void cmcp__cache_free(cmcp_client_t *cli);
/* The request with wire id id, or NULL. */
cmcp__creq *cmcp__creq_find(cmcp_client_t *cli, int64_t id);

/* ---- client_ask.c ------------------------------------------------------ */

/* A request from the server (legacy era): answered here or by a handler. */
void cmcp__client_on_request(cmcp_client_t *cli, cmcp__msg *msg);
/* A notification from the server. */
void cmcp__client_on_notify(cmcp_client_t *cli, cmcp__msg *msg);
/* An InputRequiredResult for r: runs the ask handlers, then retries. */
void cmcp__client_on_input_required(cmcp_client_t *cli, cmcp__creq *r,
                                    json_object *result);
/* Detaches the asks of r (its request ended) or of every request (r
 * NULL: the client closes). */
void cmcp__client_detach_asks(cmcp_client_t *cli, cmcp__creq *r);
/* Remembers the tools of a tools/list page and, when filter is set, drops
 * from it the tools whose x-mcp-header annotations are invalid. */
void cmcp__client_take_tools(cmcp_client_t *cli, json_object *result,
                             int filter);
/* The Mcp-Param-* header lines for calling tool name with arguments, as a
 * NULL-terminated array from the cmcp allocator (free with
 * cmcp__strv_free), or NULL when there are none. *status is 0 or
 * CMCP_ENOMEM. */
char **cmcp__client_tool_headers(cmcp_client_t *cli, const char *name,
                                 json_object *arguments, int *status);
/* Whether value needs the =?base64?...?= form in a header; writes the
 * header form of the UTF-8 text s[0..len) to out. 0 or a cmcp__buf status. */
int cmcp__client_header_value(const char *s, size_t len, cmcp__buf *out);
/* Whether c is an RFC 9110 token character (a header name's bytes). */
int cmcp__client_tchar(unsigned char c);

#endif /* CMCP_CLIENT_ENG_H */
