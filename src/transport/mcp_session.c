/* src/transport/mcp_session.c: legacy (2025-11-25 and older) Streamable
 * HTTP sessions, on the loop that owns them.
 *
 * A session holds its engine peer, its streams and a bounded log of the
 * SSE events it sent. Streams are numbered per session: 0 is the
 * standalone GET stream, 1.. are POST streams, one per request. Every
 * event gets the id "STREAM-SEQ" with SEQ counting the session's events,
 * and is logged, so a GET with Last-Event-ID replays what a dropped stream
 * missed: "The server MAY use this header to replay messages that would
 * have been sent after the last event ID, on the stream that was
 * disconnected, and to resume the stream from that point" and "MUST NOT
 * replay messages that would have been delivered on a different stream".
 *
 * Routing of what the engine sends: a response ends the POST stream of its
 * request; a notification or request related to a request goes on that
 * request's stream while it is open as SSE; anything else goes on stream 0
 * (logged even while no GET is connected, so a resumed GET gets it).
 */
#include "transport/mcp_int.h"
#include "base/stats.h"

#include <stdio.h>
#include <string.h>

typedef struct mcp_evt {
  struct mcp_evt *next;
  uint64_t stream, seq;
  size_t len;
  char text[]; /* the encoded SSE event */
} mcp_evt;

typedef struct mcp_stream {
  struct mcp_stream *next;
  uint64_t no;              /* 0: the standalone GET stream */
  cmcp__mcp_loop *front_lp; /* the loop holding its HTTP request */
  uint64_t token;           /* 0: no request attached */
  int json;                 /* POST answered as one JSON body */
  int init;                 /* the initialize request's stream */
  int pending;              /* POST being fed: SSE not begun yet */
  int priming;              /* pending: begin it with a priming event */
  json_object *req_id;      /* POST: the request it carries */
} mcp_stream;

struct mcp_session {
  mcp_session *next;
  char id[MCP_SID_MAX];
  cmcp__mcp_loop *lp;
  cmcp__peer_t *peer;
  uint64_t last_active;
  uint64_t next_seq, next_stream;
  uint64_t evicted_upto; /* highest seq dropped from the log (0: none) */
  mcp_evt *log_head, *log_tail;
  size_t log_count, log_bytes;
  mcp_stream *streams;
  int reaping; /* queued for closing */
};

static size_t bucket_of(const char *sid) {
  size_t h = 5381;
  for (; *sid != '\0'; sid++)
    h = h * 33 + (unsigned char)*sid;
  return h % MCP_SESSION_BUCKETS;
}

int cmcp__mcp_sid_make(cmcp__mcp_loop *lp, char *sid) {
  static const char hex[] = "0123456789abcdef";
  unsigned char r[16];
  size_t i;
  int rc = cmcp__random(r, sizeof r);
  if (rc != 0)
    return rc;
  for (i = 0; i < sizeof r; i++) {
    sid[2 * i] = hex[r[i] >> 4];
    sid[2 * i + 1] = hex[r[i] & 15];
  }
  snprintf(sid + 32, MCP_SID_MAX - 32, ".%d", lp->index);
  return 0;
}

static mcp_session *session_find(cmcp__mcp_loop *lp, const char *sid) {
  mcp_session *s;
  for (s = lp->sessions[bucket_of(sid)]; s != NULL; s = s->next)
    if (strcmp(s->id, sid) == 0)
      return s;
  return NULL;
}

/* ---- sending to fronts --------------------------------------------------- */

/* Sends an answer to the request attached to st (if any). */
static void front_respond(mcp_session *s, mcp_stream *st, int status,
                          const char *ctype, const char *body, size_t len) {
  mcp_fmsg *m;
  if (st->token == 0)
    return;
  m = cmcp__mcp_fmsg_new(st->front_lp, st->token, FM_RESPOND, body, len);
  st->token = 0;
  if (m == NULL)
    return;
  m->status = status;
  m->ctype = ctype;
  m->retry_after = status == 503 ? 5 : 0;
  if (st->init)
    memcpy(m->sid, s->id, sizeof m->sid);
  cmcp__mcp_to_front(s->lp, m);
}

/* Sends stream bytes to the request attached to st; end detaches it. */
static void front_stream(mcp_session *s, mcp_stream *st, const char *data,
                         size_t len, int end) {
  mcp_fmsg *m;
  if (st->token == 0)
    return;
  m = cmcp__mcp_fmsg_new(st->front_lp, st->token, FM_STREAM, data, len);
  if (end)
    st->token = 0;
  if (m == NULL)
    return;
  m->end = end;
  if (st->init)
    memcpy(m->sid, s->id, sizeof m->sid);
  cmcp__mcp_to_front(s->lp, m);
}

/* Starts the SSE answer of a newly attached stream, with a priming event
 * when the client reads them ("The server SHOULD immediately send an SSE
 * event consisting of an event ID and an empty data field"). */
static void stream_start(mcp_session *s, mcp_stream *st, int priming) {
  cmcp__buf b;
  char id[CMCP__SSE_ID_MAX];
  cmcp__buf_init(&b, 256);
  if (priming && cmcp__sse_id_format(id, sizeof id, st->no, s->next_seq++) > 0)
    (void)cmcp__sse_priming(&b, id, MCP_RETRY_MS);
  front_stream(s, st, b.data, b.len, 0);
  cmcp__buf_free(&b);
}

/* ---- the event log ------------------------------------------------------- */

static void log_drop_head(mcp_session *s) {
  mcp_evt *e = s->log_head;
  s->log_head = e->next;
  if (s->log_head == NULL)
    s->log_tail = NULL;
  s->log_count--;
  s->log_bytes -= e->len;
  s->evicted_upto = e->seq;
  cmcp__free(e);
}

/* Keeps a copy of an event; the oldest go past the bounds. */
static void log_add(mcp_session *s, uint64_t stream, uint64_t seq,
                    const char *text, size_t len) {
  size_t max = s->lp->sh->cfg.session_events;
  mcp_evt *e = cmcp__malloc(sizeof *e + len);
  if (e == NULL) {
    s->evicted_upto = seq; /* resuming past it would lose it */
    return;
  }
  e->next = NULL;
  e->stream = stream;
  e->seq = seq;
  e->len = len;
  memcpy(e->text, text, len);
  if (s->log_tail != NULL)
    s->log_tail->next = e;
  else
    s->log_head = e;
  s->log_tail = e;
  s->log_count++;
  s->log_bytes += len;
  while (s->log_count > max || s->log_bytes > MCP_LOG_BYTES_MAX)
    log_drop_head(s);
}

/* Sends one message as an event of st (logged); end ends the stream. */
static int stream_event(mcp_session *s, mcp_stream *st, const char *json,
                        size_t len, int end) {
  cmcp__buf b;
  char id[CMCP__SSE_ID_MAX];
  int rc;
  if (st->pending) { /* the first thing the request's stream carries */
    st->pending = 0;
    stream_start(s, st, st->priming);
  }
  cmcp__buf_init(&b, CMCP__SSE_EVENT_MAX(len));
  if (cmcp__sse_id_format(id, sizeof id, st->no, s->next_seq) < 0)
    return CMCP_EINVAL;
  rc = cmcp__sse_event(&b, id, "message", json, len);
  if (rc == 0) {
    log_add(s, st->no, s->next_seq++, b.data, b.len);
    front_stream(s, st, b.data, b.len, end);
  }
  cmcp__buf_free(&b);
  return rc;
}

/* ---- streams ------------------------------------------------------------- */

static mcp_stream *stream_find_no(mcp_session *s, uint64_t no) {
  mcp_stream *st;
  for (st = s->streams; st != NULL; st = st->next)
    if (st->no == no)
      return st;
  return NULL;
}

/* The open POST stream carrying request id (newest first). */
static mcp_stream *stream_for(mcp_session *s, json_object *id) {
  mcp_stream *st;
  for (st = s->streams; st != NULL; st = st->next)
    if (st->no != 0 && cmcp__rpc_id_equal(st->req_id, id))
      return st;
  return NULL;
}

static mcp_stream *stream_add(mcp_session *s, uint64_t no) {
  mcp_stream *st = cmcp__calloc(1, sizeof *st);
  if (st == NULL)
    return NULL;
  st->no = no;
  st->next = s->streams;
  s->streams = st;
  return st;
}

static void stream_remove(mcp_session *s, mcp_stream *st) {
  mcp_stream **pp = &s->streams;
  while (*pp != NULL && *pp != st)
    pp = &(*pp)->next;
  if (*pp == st)
    *pp = st->next;
  if (st->req_id != NULL)
    json_object_put(st->req_id);
  cmcp__free(st);
}

/* Stream 0, made when first needed. NULL on ENOMEM. */
static mcp_stream *stream_zero(mcp_session *s) {
  mcp_stream *st = stream_find_no(s, 0);
  return st != NULL ? st : stream_add(s, 0);
}

/* Ends the request attached to st, politely. */
static void stream_detach_end(mcp_session *s, mcp_stream *st) {
  if (st->token == 0)
    return;
  if (st->json)
    front_respond(s, st, 404, NULL, NULL, 0);
  else
    front_stream(s, st, NULL, 0, 1);
}

/* ---- lifetime ------------------------------------------------------------ */

static void session_reap_soon(mcp_session *s);

static void session_free(mcp_session *s) {
  while (s->log_head != NULL)
    log_drop_head(s);
  while (s->streams != NULL)
    stream_remove(s, s->streams);
  atomic_fetch_sub(&s->lp->sh->sessions, 1);
  cmcp__free(s);
}

/* Ends a session: its requests are answered or their streams ended, the
 * peer closed (calls in flight cancelled), the id forgotten (404 after). */
static void session_close(mcp_session *s) {
  mcp_session **pp = &s->lp->sessions[bucket_of(s->id)];
  mcp_stream *st;
  while (*pp != NULL && *pp != s)
    pp = &(*pp)->next;
  if (*pp == s)
    *pp = s->next;
  s->lp->nsessions--;
  cmcp__stats_gauge_add(CMCP__SG_SESSIONS, -1);
  for (st = s->streams; st != NULL; st = st->next)
    stream_detach_end(s, st);
  cmcp__peer_close(s->peer);
  session_free(s);
}

/* ---- peer ops ------------------------------------------------------------ */

/* A response: ends its POST stream (or answers its JSON request). */
static int send_response(mcp_session *s, mcp_stream *st, const char *json,
                         size_t len) {
  int refused = cmcp__mcp_error_code(json, len) == CMCP_MCP_SERVER_OVERLOADED;
  if (st->init && cmcp__mcp_error_code(json, len) != 0)
    session_reap_soon(s); /* a failed initialize makes no session */
  if (st->json || (st->pending && refused)) {
    /* A refusal at a limit is a 503 (with Retry-After) when no stream
     * began yet. */
    front_respond(s, st, refused ? 503 : 200, "application/json", json, len);
  } else {
    stream_event(s, st, json, len, 1);
  }
  stream_remove(s, st);
  return 0;
}

static int s_send(void *ctx, const char *json, size_t len,
                  const cmcp__out_info *info) {
  mcp_session *s = ctx;
  mcp_stream *st = NULL;
  if (info->related_id != NULL)
    st = stream_for(s, info->related_id);
  if (info->kind == CMCP__OUT_RESPONSE && st != NULL)
    return send_response(s, st, json, len);
  if (st == NULL || st->json)
    st = stream_zero(s);
  if (st == NULL)
    return CMCP_ENOMEM;
  return stream_event(s, st, json, len, 0) == CMCP_ENOMEM ? CMCP_ENOMEM : 0;
}

static int s_post(void *ctx, void (*fn)(void *), void *arg) {
  mcp_session *s = ctx;
  return cmcp__mcp_post(s->lp, fn, arg);
}

static int s_run_blocking(void *ctx, void (*work)(void *), void (*done)(void *),
                          void *arg) {
  mcp_session *s = ctx;
  return cmcp__workers_submit(s->lp->pool, work, done, arg);
}

static void s_close(void *ctx, const char *reason) {
  mcp_session *s = ctx;
  cmcp__log(CMCP_LOG_WARNING, "http: ending session %s: %s", s->id, reason);
  session_reap_soon(s);
}

static const cmcp__peer_ops session_ops = {s_send, s_post, s_run_blocking,
                                           s_close};

/* ---- deferred closing ---------------------------------------------------- */

typedef struct reap_mail {
  cmcp__mcp_loop *lp;
  char sid[MCP_SID_MAX];
} reap_mail;

static void reap_run(void *arg) {
  reap_mail *r = arg;
  mcp_session *s = session_find(r->lp, r->sid);
  if (s != NULL && s->reaping)
    session_close(s);
  cmcp__free(r);
}

/* Closes s soon, outside the engine call that is running now. The
 * closure finds it by id, so a session closed meanwhile is not touched. */
static void session_reap_soon(mcp_session *s) {
  reap_mail *r;
  if (s->reaping)
    return;
  s->reaping = 1;
  r = cmcp__malloc(sizeof *r);
  if (r == NULL)
    return; /* left to idle expiry */
  r->lp = s->lp;
  memcpy(r->sid, s->id, sizeof r->sid);
  if (cmcp__mailbox_post(s->lp->mb, reap_run, r) != 0)
    cmcp__free(r); /* closing: the final close takes it */
}

/* Answers the front of m with a JSON-RPC error (the request id when m
 * carries one) and an HTTP status. */
static void reply_error(cmcp__mcp_loop *lp, mcp_smsg *m, int status, int code,
                        const char *message) {
  json_object *id = NULL;
  size_t len = 0;
  char *body;
  mcp_fmsg *f;
  if (m->id_text != NULL)
    (void)cmcp__json_parse(m->id_text, strlen(m->id_text), NULL, &id, NULL, 0);
  body = cmcp__rpc_encode_error(id, code, message, NULL, &len);
  if (id != NULL)
    json_object_put(id);
  f = cmcp__mcp_fmsg_new(m->from, m->token, FM_RESPOND, body, body ? len : 0);
  cmcp__free(body);
  if (f == NULL)
    return;
  f->status = status;
  f->ctype = "application/json";
  f->retry_after = status == 503 ? 5 : 0;
  cmcp__mcp_to_front(lp, f);
}

/* Answers the front of m with a bare status. */
static void reply_status(cmcp__mcp_loop *lp, mcp_smsg *m, int status) {
  mcp_fmsg *f = cmcp__mcp_fmsg_new(m->from, m->token, FM_RESPOND, NULL, 0);
  if (f == NULL)
    return;
  f->status = status;
  cmcp__mcp_to_front(lp, f);
}

/* Makes the session of an initialize request. NULL (answered) if over
 * the bound or out of memory. */
static mcp_session *session_new(cmcp__mcp_loop *lp, mcp_smsg *m) {
  cmcp__mcp_shared *sh = lp->sh;
  mcp_session *s;
  size_t b;
  if (atomic_fetch_add(&sh->sessions, 1) >= sh->cfg.max_sessions) {
    atomic_fetch_sub(&sh->sessions, 1);
    cmcp__stats_refused(CMCP__REFUSE_MAX_SESSIONS);
    goto refuse;
  }
  s = cmcp__calloc(1, sizeof *s);
  if (s == NULL) {
    atomic_fetch_sub(&sh->sessions, 1);
    goto refuse;
  }
  memcpy(s->id, m->sid, sizeof s->id);
  s->lp = lp;
  s->next_seq = 1;
  s->next_stream = 1;
  s->peer = cmcp__peer_new(sh->srv, &session_ops, s);
  if (s->peer == NULL) {
    session_free(s);
    goto refuse;
  }
  b = bucket_of(s->id);
  s->next = lp->sessions[b];
  lp->sessions[b] = s;
  lp->nsessions++;
  cmcp__stats_count(CMCP__SC_SESSIONS_CREATED);
  cmcp__stats_gauge_add(CMCP__SG_SESSIONS, 1);
  return s;
refuse:
  reply_error(lp, m, 503, CMCP_MCP_SERVER_OVERLOADED,
              "Server overloaded: too many sessions (--max-sessions)");
  return NULL;
}

/* ---- what fronts ask ----------------------------------------------------- */

/* A POST: a request gets a stream (SSE, or a JSON answer); a notification
 * or a response is fed and acknowledged with 202. */
static void on_post(cmcp__mcp_loop *lp, mcp_session *s, mcp_smsg *m) {
  mcp_stream *st;
  uint64_t no;
  int rc;
  if (m->kind != CMCP__MSG_REQUEST) {
    rc = cmcp__peer_feed(s->peer, m->body, m->len);
    if (rc == 0)
      reply_status(lp, m, 202);
    else
      reply_error(lp, m, 503, CMCP_MCP_SERVER_OVERLOADED, cmcp_strerror(rc));
    return;
  }
  st = stream_add(s, s->next_stream);
  if (st == NULL || cmcp__json_parse(m->id_text, strlen(m->id_text), NULL,
                                     &st->req_id, NULL, 0) != 0) {
    if (st != NULL)
      stream_remove(s, st);
    reply_error(lp, m, 503, CMCP_MCP_SERVER_OVERLOADED, "Out of memory");
    return;
  }
  s->next_stream++;
  st->front_lp = m->from;
  st->token = m->token;
  st->json = lp->sh->cfg.json_response;
  st->init = m->init;
  /* The SSE answer begins with the first event, or right after the feed:
   * a request refused at once (a limit) still gets its 503. */
  st->pending = !st->json;
  st->priming = m->priming;
  no = st->no;
  rc = cmcp__peer_feed(s->peer, m->body, m->len);
  st = stream_find_no(s, no);
  if (st == NULL)
    return; /* answered */
  if (rc != 0) {
    /* Not admitted: nothing will answer it. */
    cmcp__log(CMCP_LOG_ERROR, "http: session %s: %s", s->id, cmcp_strerror(rc));
    if (st->pending)
      front_respond(s, st, 503, NULL, NULL, 0);
    else
      stream_detach_end(s, st);
    stream_remove(s, st);
  } else if (st->pending) {
    st->pending = 0;
    stream_start(s, st, st->priming);
  }
}

/* Replays the logged events of stream no after seq into b. */
static void replay(mcp_session *s, uint64_t no, uint64_t seq, cmcp__buf *b) {
  mcp_evt *e;
  for (e = s->log_head; e != NULL; e = e->next)
    if (e->stream == no && e->seq > seq &&
        cmcp__buf_add(b, e->text, e->len) != 0)
      cmcp__log(CMCP_LOG_WARNING, "http: session %s: replay cut short", s->id);
}

/* A GET with a Last-Event-ID this session can honour: the stream it names
 * continues on this request, after the events the client missed. Returns
 * 0, or -1 when resuming is impossible (the events were dropped, or the
 * stream answered as JSON): the caller opens a fresh stream instead. */
static int resume(mcp_session *s, mcp_smsg *m, uint64_t no, uint64_t seq) {
  mcp_stream *st = no == 0 ? stream_zero(s) : stream_find_no(s, no);
  int finished = 0;
  cmcp__buf b;
  if (seq >= s->next_seq || no >= s->next_stream || s->evicted_upto > seq ||
      (st != NULL && st->json) || (no == 0 && st == NULL))
    return -1;
  if (st == NULL) { /* answered already: replay what is left, then end */
    st = stream_add(s, no);
    if (st == NULL)
      return -1;
    finished = 1;
  } else {
    stream_detach_end(s, st); /* a stale connection of the same stream */
  }
  st->front_lp = m->from;
  st->token = m->token;
  cmcp__buf_init(&b, MCP_LOG_BYTES_MAX + 1);
  replay(s, no, seq, &b);
  front_stream(s, st, b.data, b.len, finished);
  cmcp__buf_free(&b);
  if (finished)
    stream_remove(s, st);
  return 0;
}

/* A GET: opens (or resumes) a stream of the session. */
static void on_get(cmcp__mcp_loop *lp, mcp_session *s, mcp_smsg *m) {
  uint64_t no, seq;
  mcp_stream *st;
  if (m->last_id[0] != '\0' && cmcp__sse_id_parse(m->last_id, &no, &seq) == 0 &&
      resume(s, m, no, seq) == 0)
    return;
  st = stream_zero(s);
  if (st == NULL) {
    reply_error(lp, m, 503, CMCP_MCP_SERVER_OVERLOADED, "Out of memory");
    return;
  }
  if (st->token != 0) {
    /* "The server MUST either return Content-Type: text/event-stream ... or
     * else return HTTP 405"; one standalone stream at a time: 409. */
    reply_error(lp, m, 409, CMCP_JSONRPC_INVALID_REQUEST,
                "Conflict: this session already has a GET stream open");
    return;
  }
  st->front_lp = m->from;
  st->token = m->token;
  stream_start(s, st, m->priming);
}

/* A front's request went away: its stream stays, detached, so that its
 * events are logged for a resumption. */
static void on_gone(mcp_session *s, mcp_smsg *m) {
  mcp_stream *st;
  for (st = s->streams; st != NULL; st = st->next) {
    if (st->token == m->token && st->front_lp == m->from) {
      st->token = 0;
      return;
    }
  }
}

void cmcp__mcp_session_handle(cmcp__mcp_loop *lp, mcp_smsg *m) {
  mcp_session *s = session_find(lp, m->sid);
  if (s != NULL && s->reaping)
    s = NULL;
  if (m->op == SM_POST && m->init && s == NULL)
    s = session_new(lp, m);
  else if (s == NULL && m->op != SM_GONE)
    reply_error(lp, m, 404, CMCP_JSONRPC_INVALID_REQUEST,
                "Session not found: it ended or never existed; start a new "
                "one with initialize");
  if (s == NULL)
    goto out;
  s->last_active = cmcp__now_ms();
  switch (m->op) {
  case SM_POST:
    on_post(lp, s, m);
    break;
  case SM_GET:
    on_get(lp, s, m);
    break;
  case SM_DELETE:
    reply_status(lp, m, 200);
    session_close(s);
    break;
  default:
    on_gone(s, m);
    break;
  }
out:
  cmcp__free(m->id_text);
  cmcp__free(m);
}

/* 1 if s has a request attached to one of its streams. */
static int session_attached(const mcp_session *s) {
  const mcp_stream *st;
  for (st = s->streams; st != NULL; st = st->next)
    if (st->token != 0)
      return 1;
  return 0;
}

void cmcp__mcp_sessions_tick(cmcp__mcp_loop *lp, uint64_t now) {
  uint64_t idle = lp->sh->cfg.session_idle_timeout_ms;
  size_t b;
  for (b = 0; b < MCP_SESSION_BUCKETS; b++) {
    mcp_session *s = lp->sessions[b], *next;
    for (; s != NULL; s = next) {
      next = s->next;
      (void)cmcp__peer_tick(s->peer, now);
      if (s->reaping ||
          (now - s->last_active >= idle && cmcp__peer_inflight(s->peer) == 0 &&
           !session_attached(s)))
        session_close(s);
    }
  }
}

int cmcp__mcp_sessions_busy(cmcp__mcp_loop *lp) {
  size_t b;
  mcp_session *s;
  for (b = 0; b < MCP_SESSION_BUCKETS; b++)
    for (s = lp->sessions[b]; s != NULL; s = s->next)
      if (cmcp__peer_inflight(s->peer) > 0)
        return 1;
  return 0;
}

void cmcp__mcp_sessions_shutdown(cmcp__mcp_loop *lp) {
  size_t b;
  for (b = 0; b < MCP_SESSION_BUCKETS; b++) {
    mcp_session *s;
    for (s = lp->sessions[b]; s != NULL; s = s->next) {
      mcp_stream *st = stream_find_no(s, 0);
      cmcp__peer_shutdown(s->peer);
      if (st != NULL)
        stream_detach_end(s, st);
    }
  }
}

void cmcp__mcp_sessions_close_all(cmcp__mcp_loop *lp) {
  size_t b;
  for (b = 0; b < MCP_SESSION_BUCKETS; b++)
    while (lp->sessions[b] != NULL)
      session_close(lp->sessions[b]);
}
