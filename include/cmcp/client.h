/* cmcp/client.h: writing an MCP client.
 *
 * A client object talks to one server, over stdio (it spawns the server
 * process) or Streamable HTTP (libcurl's multi-socket interface driven by a
 * libuv loop, so any number of clients share one thread). It speaks both
 * protocol eras: by default it probes with server/discover (2026-07-28) and
 * falls back to initialize (2025-11-25 and older) as the spec's versioning
 * page says; cmcp_client_set_protocol() pins a version instead.
 *
 * Loops. A client runs on a libuv loop: the caller's (cmcp_client_new with
 * a loop; the caller runs it) or a private one (loop NULL; the synchronous
 * calls run it until their answer arrives). Every function must be called
 * on the loop's thread.
 *
 * Callback contract (as libuv's): if a function returns an error, its
 * callback never runs; a callback never fires inside the call that armed
 * it; every armed callback fires exactly once (with CMCP_ECANCELED when the
 * client closes first). JSON values handed to a callback are owned by the
 * library and valid during the callback only (json_object_get() to keep
 * one). JSON given to the library is JSON text and is validated.
 *
 * Outcomes of a request, as the status of its callback:
 *   0              the server answered with a result (a tool's own failure
 *                  is a result too: see cmcp_result_is_tool_error());
 *   CMCP_ERPC      the server answered with a JSON-RPC error; the callback
 *                  gets the error object {code, message, data?};
 *   CMCP_ETIMEDOUT the per-request timeout passed (the request is cancelled
 *                  on the wire);
 *   CMCP_ECANCELED cmcp_client_cancel() or the client closed;
 *   CMCP_EIO, CMCP_EPROTO, CMCP_ECLOSED  the transport failed, the server
 *                  broke the protocol, or the connection is gone; the
 *                  callback gets NULL, cmcp_client_last_error() says why.
 */
#ifndef CMCP_CLIENT_H
#define CMCP_CLIENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object; /* json-c */
struct uv_loop_s;   /* libuv */

typedef struct cmcp_client cmcp_client_t;
typedef struct cmcp_ask cmcp_ask_t;

/* The answer to a request (see the outcomes above). */
typedef void (*cmcp_result_fn)(cmcp_client_t *cli, int status,
                               struct json_object *result, void *data);

/* ---- client object ----------------------------------------------------- */

/* Creates a client on loop (NULL: a private loop). name and version form
 * clientInfo. NULL on ENOMEM or a NULL/empty name. */
CMCP_EXTERN cmcp_client_t *cmcp_client_new(struct uv_loop_s *loop,
                                           const char *name,
                                           const char *version);
/* Closes the connection (legacy HTTP sessions are ended with DELETE, a
 * spawned server gets EOF on stdin, then SIGTERM after a grace period),
 * fails what is pending with CMCP_ECANCELED, and frees the client once
 * every handle is closed: on a private loop before it returns, otherwise
 * from the caller's loop. NULL is ignored. */
CMCP_EXTERN void cmcp_client_free(cmcp_client_t *cli);

/* The user's pointer, untouched by the library. */
CMCP_EXTERN void cmcp_client_set_data(cmcp_client_t *cli, void *data);
CMCP_EXTERN void *cmcp_client_data(const cmcp_client_t *cli);
/* The loop the client runs on. */
CMCP_EXTERN struct uv_loop_s *cmcp_client_loop(const cmcp_client_t *cli);

/* A human-readable reason for the last failure (transport error, HTTP
 * status, protocol violation); never NULL ("" when none). */
CMCP_EXTERN const char *cmcp_client_last_error(const cmcp_client_t *cli);

/* ---- configuration (before cmcp_client_connect) ------------------------ */

/* Spawns argv[0] (looked up in PATH) with argv; env (NULL-terminated
 * "K=V" strings; NULL inherits ours) and cwd (NULL: ours). The server's
 * stderr goes to ours. */
CMCP_EXTERN int cmcp_client_set_stdio(cmcp_client_t *cli,
                                      const char *const *argv,
                                      const char *const *env, const char *cwd);
/* The Streamable HTTP endpoint (http:// or https://). */
CMCP_EXTERN int cmcp_client_set_url(cmcp_client_t *cli, const char *url);
/* A header sent with every HTTP request ("Name", "value"); repeatable. */
CMCP_EXTERN int cmcp_client_add_header(cmcp_client_t *cli, const char *name,
                                       const char *value);
/* A fixed bearer token (Authorization: Bearer TOKEN). */
CMCP_EXTERN int cmcp_client_set_bearer(cmcp_client_t *cli, const char *token);
/* Pins the protocol version ("2026-07-28", "2025-11-25", ...); NULL (the
 * default) negotiates. CMCP_EUNSUPPORTED for a version cmcp does not speak. */
CMCP_EXTERN int cmcp_client_set_protocol(cmcp_client_t *cli,
                                         const char *version);
/* Default per-request timeout in milliseconds (default 60,000; 0: none). */
CMCP_EXTERN int cmcp_client_set_timeout(cmcp_client_t *cli,
                                        uint64_t timeout_ms);
/* Client limits. */
typedef enum {
  CMCP_CLIENT_LIMIT_MESSAGE_BYTES, /* one incoming message (4 MiB) */
  CMCP_CLIENT_LIMIT_INFLIGHT,      /* requests awaiting an answer (1024) */
  CMCP_CLIENT_LIMIT_MRTR_ROUNDS,   /* InputRequiredResult rounds (16) */
  CMCP_CLIENT_LIMIT_RECONNECTS,    /* stream resumptions in a row (5) */
  CMCP_CLIENT_LIMIT_COUNT_
} cmcp_client_limit_t;
CMCP_EXTERN int cmcp_client_set_limit(cmcp_client_t *cli,
                                      cmcp_client_limit_t which,
                                      int64_t value);
/* Caching of results by ttlMs/cacheScope (2026-07-28): on by default. */
CMCP_EXTERN int cmcp_client_set_cache(cmcp_client_t *cli, int enabled);
/* OAuth 2.1 for an HTTP server that asks for it (cmcp/auth.h). The
 * client uses but does not own oauth: free it after the client. */
typedef struct cmcp_oauth cmcp_oauth_t;
CMCP_EXTERN int cmcp_client_set_oauth(cmcp_client_t *cli, cmcp_oauth_t *oauth);
/* Extra Implementation fields for clientInfo, as a JSON object text. */
CMCP_EXTERN int cmcp_client_set_info_json(cmcp_client_t *cli,
                                          const char *json);

/* ---- what the server may ask (sampling, elicitation, roots) ------------ */

/* One handler serves both eras: a legacy server-to-client request and an
 * inputRequest of a 2026-07-28 InputRequiredResult look the same to it.
 * The handler answers with cmcp_ask_reply() or cmcp_ask_reply_error(),
 * at once or later (it must not block the loop). Registering a handler
 * declares the capability. */
typedef void (*cmcp_ask_fn)(cmcp_client_t *cli, cmcp_ask_t *ask, void *data);

enum {
  CMCP_ELICIT_FORM = 1u << 0,
  CMCP_ELICIT_URL = 1u << 1
};
CMCP_EXTERN int cmcp_client_on_sampling(cmcp_client_t *cli, cmcp_ask_fn fn,
                                        void *data);
/* modes: CMCP_ELICIT_FORM and/or CMCP_ELICIT_URL. */
CMCP_EXTERN int cmcp_client_on_elicitation(cmcp_client_t *cli, unsigned modes,
                                           cmcp_ask_fn fn, void *data);
/* roots/list; list_changed says whether notifications/roots/list_changed
 * will be sent (cmcp_client_roots_changed). */
CMCP_EXTERN int cmcp_client_on_roots(cmcp_client_t *cli, int list_changed,
                                     cmcp_ask_fn fn, void *data);
CMCP_EXTERN int cmcp_client_roots_changed(cmcp_client_t *cli);

/* "sampling/createMessage", "elicitation/create" or "roots/list". */
CMCP_EXTERN const char *cmcp_ask_method(const cmcp_ask_t *ask);
/* The request's params (valid until the ask is answered). */
CMCP_EXTERN struct json_object *cmcp_ask_params(const cmcp_ask_t *ask);
/* Answers with a result object (JSON text: CreateMessageResult,
 * ElicitResult or ListRootsResult). Frees the ask. */
CMCP_EXTERN int cmcp_ask_reply(cmcp_ask_t *ask, const char *result_json);
/* Answers with a JSON-RPC error. Frees the ask. */
CMCP_EXTERN int cmcp_ask_reply_error(cmcp_ask_t *ask, int code,
                                     const char *message);

/* ---- notifications ----------------------------------------------------- */

/* Every notification from the server (progress, message, list_changed,
 * resources/updated, elicitation/complete, tasks/status, ...), on the
 * loop, in arrival order. params may be NULL. */
typedef void (*cmcp_notify_fn)(cmcp_client_t *cli, const char *method,
                               struct json_object *params, void *data);
CMCP_EXTERN int cmcp_client_on_notification(cmcp_client_t *cli,
                                            cmcp_notify_fn fn, void *data);

/* ---- connecting -------------------------------------------------------- */

/* Connects: spawns the server or checks the URL, then discovers or
 * initializes. cb gets the DiscoverResult or InitializeResult. */
CMCP_EXTERN int cmcp_client_connect(cmcp_client_t *cli, cmcp_result_fn cb,
                                    void *data);
/* After a successful connect: the protocol version in use, whether it is
 * the stateless era, and the server's Implementation, capabilities and
 * instructions (NULL when absent). */
CMCP_EXTERN const char *cmcp_client_protocol_version(const cmcp_client_t *cli);
CMCP_EXTERN int cmcp_client_is_modern(const cmcp_client_t *cli);
CMCP_EXTERN struct json_object *
cmcp_client_server_info(const cmcp_client_t *cli);
CMCP_EXTERN struct json_object *
cmcp_client_server_capabilities(const cmcp_client_t *cli);
CMCP_EXTERN const char *cmcp_client_instructions(const cmcp_client_t *cli);
/* Whether the server declared capability path, e.g. "tools",
 * "resources.subscribe", "prompts.listChanged". */
CMCP_EXTERN int cmcp_client_server_has(const cmcp_client_t *cli,
                                       const char *path);

/* ---- requests ---------------------------------------------------------- */

/* Request flags. */
enum {
  CMCP_REQ_PROGRESS = 1u << 0, /* send a progressToken; progress comes to
                                  the notification handler */
  CMCP_REQ_NO_CACHE = 1u << 1  /* bypass the ttlMs cache */
};

/* Sends any request. params_json is the params object text (NULL: none;
 * the library adds _meta for the era in use). timeout_ms 0 uses the
 * client's default. *req_out (may be NULL) receives a handle for
 * cmcp_client_cancel(). InputRequiredResult rounds are handled inside: the
 * ask handlers answer them and the request is retried with requestState
 * untouched, up to CMCP_CLIENT_LIMIT_MRTR_ROUNDS. */
CMCP_EXTERN int cmcp_client_request(cmcp_client_t *cli, const char *method,
                                    const char *params_json,
                                    uint64_t timeout_ms, unsigned flags,
                                    cmcp_result_fn cb, void *data,
                                    uint64_t *req_out);
/* Cancels a pending request (notifications/cancelled on a legacy session;
 * the request's stream is closed on the 2026-07-28 wire). Its callback
 * runs with CMCP_ECANCELED. CMCP_ENOENT if it already finished. */
CMCP_EXTERN int cmcp_client_cancel(cmcp_client_t *cli, uint64_t req,
                                   const char *reason);

/* Typed requests (same outcomes as cmcp_client_request). cursor NULL asks
 * for the first page. */
CMCP_EXTERN int cmcp_client_ping(cmcp_client_t *cli, cmcp_result_fn cb,
                                 void *data);
CMCP_EXTERN int cmcp_client_list_tools(cmcp_client_t *cli, const char *cursor,
                                       cmcp_result_fn cb, void *data);
/* arguments_json: the arguments object text (NULL: {}). */
CMCP_EXTERN int cmcp_client_call_tool(cmcp_client_t *cli, const char *name,
                                      const char *arguments_json,
                                      unsigned flags, cmcp_result_fn cb,
                                      void *data, uint64_t *req_out);
CMCP_EXTERN int cmcp_client_list_resources(cmcp_client_t *cli,
                                           const char *cursor,
                                           cmcp_result_fn cb, void *data);
CMCP_EXTERN int cmcp_client_list_resource_templates(cmcp_client_t *cli,
                                                    const char *cursor,
                                                    cmcp_result_fn cb,
                                                    void *data);
CMCP_EXTERN int cmcp_client_read_resource(cmcp_client_t *cli, const char *uri,
                                          cmcp_result_fn cb, void *data);
CMCP_EXTERN int cmcp_client_list_prompts(cmcp_client_t *cli,
                                         const char *cursor, cmcp_result_fn cb,
                                         void *data);
/* arguments_json: an object of string values (NULL: none). */
CMCP_EXTERN int cmcp_client_get_prompt(cmcp_client_t *cli, const char *name,
                                       const char *arguments_json,
                                       cmcp_result_fn cb, void *data);
/* ref_json: {"type":"ref/prompt","name":...} or
 * {"type":"ref/resource","uri":...}; context_json: the already-resolved
 * arguments object (NULL: none). */
CMCP_EXTERN int cmcp_client_complete(cmcp_client_t *cli, const char *ref_json,
                                     const char *argument,
                                     const char *value,
                                     const char *context_json,
                                     cmcp_result_fn cb, void *data);
/* Legacy sessions only (CMCP_EUNSUPPORTED on the 2026-07-28 wire). */
CMCP_EXTERN int cmcp_client_set_log_level(cmcp_client_t *cli,
                                          cmcp_log_level_t level,
                                          cmcp_result_fn cb, void *data);
CMCP_EXTERN int cmcp_client_subscribe(cmcp_client_t *cli, const char *uri,
                                      cmcp_result_fn cb, void *data);
CMCP_EXTERN int cmcp_client_unsubscribe(cmcp_client_t *cli, const char *uri,
                                        cmcp_result_fn cb, void *data);

/* Listens for list changes and resource updates: on the 2026-07-28 wire a
 * subscriptions/listen stream (filter_json: the request's params object,
 * NULL for everything), on a legacy HTTP session the standalone GET
 * stream. Notifications go to the notification handler; a dropped stream
 * is resumed (Last-Event-ID, the server's retry). cb runs when the stream
 * ends for good (cmcp_client_cancel(*req_out) ends it). */
CMCP_EXTERN int cmcp_client_listen(cmcp_client_t *cli, const char *filter_json,
                                   cmcp_result_fn cb, void *data,
                                   uint64_t *req_out);

/* Pagination: follows nextCursor for a list method ("tools/list",
 * "resources/list", "resources/templates/list", "prompts/list") and
 * answers with one result whose array holds every page's items, up to
 * max_items (0: no bound beyond the message limits). */
CMCP_EXTERN int cmcp_client_list_all(cmcp_client_t *cli, const char *method,
                                     size_t max_items, cmcp_result_fn cb,
                                     void *data);

/* ---- results ----------------------------------------------------------- */

/* 1 if a CallToolResult has isError true. */
CMCP_EXTERN int cmcp_result_is_tool_error(struct json_object *result);

/* ---- synchronous convenience (private loop only) ----------------------- */

/* Each runs the client's private loop until the answer arrives and hands
 * the caller a reference to the result (json_object_put() it) in
 * *result_out (the error object when CMCP_ERPC; NULL otherwise).
 * CMCP_ESTATE on a client created on the caller's loop. */
CMCP_EXTERN int cmcp_client_connect_sync(cmcp_client_t *cli,
                                         struct json_object **result_out);
CMCP_EXTERN int cmcp_client_request_sync(cmcp_client_t *cli,
                                         const char *method,
                                         const char *params_json,
                                         struct json_object **result_out);
CMCP_EXTERN int cmcp_client_call_tool_sync(cmcp_client_t *cli,
                                           const char *name,
                                           const char *arguments_json,
                                           struct json_object **result_out);

#ifdef __cplusplus
}
#endif
#endif /* CMCP_CLIENT_H */
