/* src/transport/mcp_int.h: what the files of the Streamable HTTP endpoint
 * share (mcp_http.c routing and checks, mcp_session.c legacy sessions,
 * mcp_modern.c per-request peers, mcp_params.c Mcp-Param headers,
 * mcp_front.c requests waiting for a
 * session's messages, mcp_loop.c the loop's lifetime). Internal to
 * src/transport/mcp_*.c.
 */
#ifndef CMCP_TRANSPORT_MCP_INT_H
#define CMCP_TRANSPORT_MCP_INT_H

#include "base/shed.h"
#include "proto/peer.h"
#include "rt/rt.h"
#include "transport/http.h"
#include "transport/mcp_http.h"
#include "transport/sse.h"
#include "json/json.h"

#include <stdatomic.h>

#define MCP_SID_MAX 48 /* session id text with its NUL */
#define MCP_SESSION_BUCKETS 1024
#define MCP_FRONT_BUCKETS 256
#define MCP_TICK_MS 1000
#define MCP_STOP_TICK_MS 50    /* while stopping */
#define MCP_RETRY_MS 1000      /* SSE retry field of priming events */
#define MCP_KEEPALIVE_MS 15000 /* comment on quiet modern streams */
#define MCP_LOG_BYTES_MAX ((size_t)8 << 20) /* event log bytes per session */

typedef struct mcp_front mcp_front;
typedef struct mcp_session mcp_session;
typedef struct mcp_modern mcp_modern;

struct cmcp__mcp_shared {
  cmcp_server_t *srv;
  cmcp__mcp_config cfg;
  int nloops;
  cmcp__mcp_loop **loops; /* filled before any loop runs */
  atomic_size_t sessions; /* live sessions, every loop */
  uint64_t start_ms;
  int host_loopback; /* bound to a loopback address */
};

struct cmcp__mcp_loop {
  cmcp__mcp_shared *sh;
  int index;
  uv_loop_t *loop;
  cmcp__mailbox *mb;
  uv_mutex_t mb_lock; /* guards mb_open for cmcp__mcp_loop_stop */
  int mb_open;        /* mb takes posts from other threads */
  cmcp__workers *pool;
  cmcp__http_server *http;
  int port;
  atomic_uint_fast64_t open_conns; /* copied from the server's stats */
  mcp_session *sessions[MCP_SESSION_BUCKETS]; /* owned by this loop */
  size_t nsessions;
  mcp_front *fronts[MCP_FRONT_BUCKETS]; /* requests held by this loop */
  uint64_t next_token;
  mcp_modern *moderns; /* modern requests in flight */
  mcp_modern *reap;    /* of those, the ones to close after this turn */
  uv_idle_t reaper;    /* runs the reap list */
  uv_timer_t tick;
  uv_prepare_t lag; /* measures each turn's busy time for shed */
  cmcp__shed shed;  /* --max-queue-delay */
  int stopping;            /* no new work; draining */
  int http_closed;         /* the HTTP server finished closing */
  uint64_t drain_deadline; /* stopping: when what is left is cut off */
  int closing;             /* handles closing */
};

/* ---- messages between loops (mailbox closures) --------------------------- */

/* What a front (the loop holding an HTTP request) asks a session's owner. */
typedef enum { SM_POST = 1, SM_GET, SM_DELETE, SM_GONE } mcp_smsg_op;

typedef struct mcp_smsg {
  cmcp__mail mail; /* first member: pushed without another allocation */
  cmcp__mcp_loop *from, *to;
  uint64_t token; /* the front's */
  mcp_smsg_op op;
  int kind;    /* SM_POST: cmcp__msg_kind of the body */
  int priming; /* the client understands priming events (2025-11-25+) */
  int init;    /* SM_POST: initialize that created the session here */
  char sid[MCP_SID_MAX];
  char last_id[CMCP__SSE_ID_MAX]; /* SM_GET: Last-Event-ID or "" */
  char *id_text;                  /* SM_POST request: its id as JSON */
  size_t len;
  char body[]; /* SM_POST: the JSON-RPC message, NUL-terminated */
} mcp_smsg;

/* What a session's owner sends back to a front. */
typedef enum { FM_RESPOND = 1, FM_STREAM } mcp_fmsg_op;

typedef struct mcp_fmsg {
  cmcp__mail mail;
  cmcp__mcp_loop *to;
  uint64_t token;
  mcp_fmsg_op op;
  int status;            /* FM_RESPOND */
  const char *ctype;     /* FM_RESPOND: static Content-Type, or NULL */
  int end;               /* FM_STREAM: end the stream after data */
  int retry_after;       /* FM_RESPOND 503 */
  char sid[MCP_SID_MAX]; /* Mcp-Session-Id to send, or "" */
  size_t len;
  char data[];
} mcp_fmsg;

/* ---- mcp_http.c ---------------------------------------------------------- */

/* The HTTP server's handler: routes one request of loop data. */
void cmcp__mcp_on_request(cmcp__http_request *req, void *data);

/* Answers req with status, an optional Content-Type, the session id header
 * (sid NULL or "": none) and body; logs a failure (the request is then
 * aborted, which closes its connection). */
void cmcp__mcp_respond(cmcp__http_request *req, int status, const char *ctype,
                       const char *sid, int retry_after, const char *body,
                       size_t len);
/* Answers req with a JSON-RPC error (id may be NULL) and an HTTP status. */
void cmcp__mcp_respond_error(cmcp__http_request *req, int status,
                             json_object *id, int code, const char *message);
/* Starts an SSE answer (200) on req; 0 or the HTTP layer's status. */
int cmcp__mcp_stream_begin(cmcp__http_request *req, const char *sid);
/* The JSON-RPC error code of an encoded error response, or 0 when text is
 * not one (a cheap look at the encoder's fixed layout). */
int cmcp__mcp_error_code(const char *text, size_t len);
/* Copies the HTTP server's open connection count for /health. */
void cmcp__mcp_update_stats(cmcp__mcp_loop *lp);
/* Makes the loop run cmcp__mcp_moderns_reap right after this turn. */
void cmcp__mcp_reap_kick(cmcp__mcp_loop *lp);

/* ---- mcp_loop.c ---------------------------------------------------------- */

/* Queues mail on loop to's mailbox from any thread; CMCP_ECLOSED once that
 * loop has closed it (its memory may be gone: never touch to->mb
 * directly from another loop). */
int cmcp__mcp_push(cmcp__mcp_loop *to, cmcp__mail *mail);
/* Same with an allocated node: fn(arg) runs on loop to. */
int cmcp__mcp_post(cmcp__mcp_loop *to, void (*fn)(void *), void *arg);

/* ---- mcp_front.c --------------------------------------------------------- */

/* Forwards a legacy request to the owner of sid (which may be this loop):
 * registers req as a front waiting for the answer. m is filled by the
 * caller except from, to, token and mail; it is consumed. */
void cmcp__mcp_forward(cmcp__mcp_loop *lp, cmcp__http_request *req,
                       cmcp__mcp_loop *owner, mcp_smsg *m);
/* Sends m to its front's loop (m->to), directly when that is the current
 * loop lp. Consumes m. */
void cmcp__mcp_to_front(cmcp__mcp_loop *lp, mcp_fmsg *m);
/* A new message to a front, with len bytes of data copied in. NULL on
 * ENOMEM. */
mcp_fmsg *cmcp__mcp_fmsg_new(cmcp__mcp_loop *to, uint64_t token, mcp_fmsg_op op,
                             const char *data, size_t len);
/* The loop that owns session id sid, or NULL for an id no loop made. */
cmcp__mcp_loop *cmcp__mcp_sid_owner(cmcp__mcp_shared *sh, const char *sid);
/* Aborts every front of the loop (final close). */
void cmcp__mcp_fronts_abort(cmcp__mcp_loop *lp);

/* ---- mcp_session.c ------------------------------------------------------- */

/* Runs a front's message on the session's owner (this loop). Consumes m. */
void cmcp__mcp_session_handle(cmcp__mcp_loop *lp, mcp_smsg *m);
/* Makes a session id for loop lp into sid (MCP_SID_MAX bytes). */
int cmcp__mcp_sid_make(cmcp__mcp_loop *lp, char *sid);
/* Ticks the loop's sessions: peer deadlines, idle expiry. */
void cmcp__mcp_sessions_tick(cmcp__mcp_loop *lp, uint64_t now);
/* 1 if a session of the loop has a call in flight. */
int cmcp__mcp_sessions_busy(cmcp__mcp_loop *lp);
/* At stop: ends every session's GET stream and listen streams. */
void cmcp__mcp_sessions_shutdown(cmcp__mcp_loop *lp);
/* Closes every session (final close). */
void cmcp__mcp_sessions_close_all(cmcp__mcp_loop *lp);

/* ---- mcp_params.c -------------------------------------------------------- */

/* Checks the Mcp-Param-* headers of a modern tools/call of tool against the
 * x-mcp-header marks of its inputSchema (mcp_params.h). NULL when fine,
 * else the -32020 message, valid until the thread's next call. */
const char *cmcp__mcp_check_params(cmcp_server_t *srv, cmcp__http_request *req,
                                   const char *tool, json_object *arguments);

/* ---- mcp_modern.c -------------------------------------------------------- */

/* Serves one modern POST (headers already checked) on this loop. kind is
 * the body's cmcp__msg_kind. */
void cmcp__mcp_modern_serve(cmcp__mcp_loop *lp, cmcp__http_request *req,
                            const char *body, size_t len, int kind);
/* Keep-alive comments and peer deadlines of modern streams. */
void cmcp__mcp_moderns_tick(cmcp__mcp_loop *lp, uint64_t now);
/* At stop: ends subscriptions/listen streams with their result. */
void cmcp__mcp_moderns_shutdown(cmcp__mcp_loop *lp);
/* Closes the modern requests queued for closing. */
void cmcp__mcp_moderns_reap(cmcp__mcp_loop *lp);
/* Closes every modern peer (final close). */
void cmcp__mcp_moderns_close_all(cmcp__mcp_loop *lp);

#endif /* CMCP_TRANSPORT_MCP_INT_H */
