/* src/client/client_int.h: the boundary between the client engine
 * (client.c: requests, eras, handlers) and what carries its bytes (stdio.c:
 * a spawned process; http.c: Streamable HTTP on libcurl), plus the one-shot
 * HTTP fetch the OAuth client uses. Internal.
 *
 * The engine owns the transport. A transport reports every whole incoming
 * JSON-RPC message with cmcp__client_on_message(), a request that can no
 * longer be answered with cmcp__client_on_send_failed(), and its own end
 * with cmcp__client_on_transport_closed(). All of it runs on the client's
 * loop thread; no upcall happens inside the downcall that caused it.
 */
#ifndef CMCP_CLIENT_INT_H
#define CMCP_CLIENT_INT_H

#include "base/base.h"
#include "cmcp/client.h"
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct cmcp__ctransport cmcp__ctransport;

/* What an outgoing message is, for the HTTP headers and for routing the
 * answer. Everything is borrowed for the call only. */
typedef struct cmcp__csend {
  const char *method;   /* request/notification method; NULL: a response */
  const char *name;     /* Mcp-Name value (tool/prompt name, resource uri)
                           on the 2026-07-28 wire, else NULL */
  const char *protocol; /* MCP-Protocol-Version header; NULL before the
                           version is known (initialize, discover) */
  int64_t id;           /* the request id; valid when has_id */
  int has_id;
  int stream;           /* 1: the answer is a long-lived stream
                           (subscriptions/listen): no response timeout */
  /* Extra header lines ("Name: value"), e.g. Mcp-Param-* from a tool's
   * x-mcp-header properties; NULL-terminated, or NULL. */
  const char *const *headers;
} cmcp__csend;

typedef struct cmcp__ctransport_vtbl {
  /* Starts the transport (spawns the process, or prepares curl). 0 or a
   * status; the engine then sends its first request. */
  int (*open)(cmcp__ctransport *t);
  /* Sends one serialized JSON-RPC message. On HTTP each message is its
   * own POST; answers (JSON or SSE) come back through on_message. 0,
   * CMCP_ELIMIT (too much unsent), CMCP_ECLOSED. */
  int (*send)(cmcp__ctransport *t, const char *json, size_t len,
              const cmcp__csend *info);
  /* Legacy HTTP: opens the session's standalone GET stream (resumed on a
   * drop). CMCP_EUNSUPPORTED on stdio or when the server answers 405. */
  int (*open_stream)(cmcp__ctransport *t);
  /* Stops waiting for the answer to request id (cancellation, timeout):
   * on HTTP, aborts that POST and its stream. No upcall follows for it. */
  void (*abandon)(cmcp__ctransport *t, int64_t id);
  /* Legacy HTTP: the session id the server gave (Mcp-Session-Id), or
   * NULL. */
  const char *(*session_id)(cmcp__ctransport *t);
  /* Closes politely (DELETE the session, EOF then SIGTERM to a child) and
   * calls done(t) once every handle is closed; t is then freed. */
  void (*close)(cmcp__ctransport *t, void (*done)(cmcp__ctransport *t));
} cmcp__ctransport_vtbl;

struct cmcp__ctransport {
  const cmcp__ctransport_vtbl *vt;
  cmcp_client_t *cli;
  uv_loop_t *loop;
};

/* Transport constructors. The strings are copied. NULL on ENOMEM. */
cmcp__ctransport *cmcp__ctransport_stdio(cmcp_client_t *cli, uv_loop_t *loop,
                                         const char *const *argv,
                                         const char *const *env,
                                         const char *cwd, size_t max_message);

/* Header lines ("Name: value") sent with every request; bearer may be
 * NULL; oauth may be NULL (then a 401 fails the request). */
cmcp__ctransport *cmcp__ctransport_http(cmcp_client_t *cli, uv_loop_t *loop,
                                        const char *url,
                                        const char *const *headers,
                                        const char *bearer,
                                        cmcp_oauth_t *oauth,
                                        size_t max_message,
                                        int max_reconnects);

/* ---- upcalls into the engine (client.c) -------------------------------- */

/* One whole JSON-RPC message (a response, a request or a notification),
 * not NUL-terminated. */
void cmcp__client_on_message(cmcp_client_t *cli, const char *json,
                             size_t len);
/* The request id will get no answer: status CMCP_EIO/CMCP_EPROTO/
 * CMCP_ECLOSED, http_status the HTTP status when there was one (0
 * otherwise; 404 on a legacy session means the session expired), detail a
 * human-readable reason. */
void cmcp__client_on_send_failed(cmcp_client_t *cli, int64_t id, int status,
                                 int http_status, const char *detail);
/* The transport ended by itself (the child exited, the server went away). */
void cmcp__client_on_transport_closed(cmcp_client_t *cli, int status,
                                      const char *detail);

/* Sets the reason cmcp_client_last_error() gives (a transport may call it
 * before failing a downcall, e.g. open). */
void cmcp__client_errorf(cmcp_client_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- one-shot HTTP on the loop (fetch.c), for OAuth and discovery ------ */

typedef struct cmcp__fetch_res {
  int status; /* 0, or CMCP_EIO/CMCP_ETIMEDOUT/CMCP_ELIMIT/CMCP_ENOMEM */
  long http_status;       /* 0 when no response */
  const char *body;       /* NUL-terminated (may hold NULs before it) */
  size_t body_len;
  const char *www_authenticate; /* WWW-Authenticate header or NULL */
  const char *location;         /* Location header or NULL (redirects are
                                   never followed) */
  const char *content_type;     /* or NULL */
  const char *detail;           /* reason on failure, "" otherwise */
} cmcp__fetch_res;

/* Runs when the fetch ends; res and everything in it is valid during the
 * call only. */
typedef void (*cmcp__fetch_cb)(void *data, const cmcp__fetch_res *res);

/* Performs one HTTP request on loop without blocking it. method "GET" or
 * "POST"; headers: NULL-terminated "Name: value" lines or NULL; body may
 * be NULL. The response body is bounded by max_body (413-like failure:
 * CMCP_ELIMIT), the whole exchange by timeout_ms. cb runs exactly once,
 * never inside this call. 0 or CMCP_ENOMEM/CMCP_EINVAL (then cb never
 * runs). */
int cmcp__fetch(uv_loop_t *loop, const char *method, const char *url,
                const char *const *headers, const char *body, size_t body_len,
                size_t max_body, uint64_t timeout_ms, cmcp__fetch_cb cb,
                void *data);

/* ---- OAuth 2.1 (oauth.c), as the HTTP transport uses it ---------------- */

/* The access token for a request to resource_url: one whose resource
 * covers that URL, or NULL when there is none yet. */
const char *cmcp__oauth_token(cmcp_oauth_t *o, const char *resource_url);
/* The server refused a request to resource_url with http_status 401 or
 * 403 and this WWW-Authenticate header (may be NULL). The OAuth client
 * discovers, authorizes (or refreshes, or steps up the scope) and then
 * calls done(data, 0) when a new token is ready, or done(data, status)
 * with a reason in detail when it gives up (the transport then fails the
 * request). done never runs inside this call. */
typedef void (*cmcp__oauth_done)(void *data, int status, const char *detail);
int cmcp__oauth_challenge(cmcp_oauth_t *o, uv_loop_t *loop,
                          const char *resource_url, long http_status,
                          const char *www_authenticate, cmcp__oauth_done done,
                          void *data);

/* The transport no longer waits for the challenge it armed with data (it
 * is closing, or gave up on the request): that done will not run. Call it
 * for every pending challenge before the transport goes away. */
void cmcp__oauth_cancel(cmcp_oauth_t *o, void *data);

#endif /* CMCP_CLIENT_INT_H */
