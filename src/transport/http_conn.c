/* src/transport/http_conn.c: the socket-free core of one HTTP/1.1
 * connection: request parsing on llhttp, limits, pipelining order and the
 * connection's lifecycle. Responses are built in http_response.c. */
#include "transport/http_conn.h"
#include "base/stats.h"

#include <string.h>
#include <strings.h>

/* Parser phases. */
enum { PH_BETWEEN = 0, PH_HEAD, PH_BODY, PH_TRAILERS };
/* Why llhttp paused. */
enum { EV_NONE = 0, EV_HEADERS, EV_TRAILERS, EV_MESSAGE };

/* Held input while reading is paused: a read or two past the pause. */
#define HTTP_UNPARSED_LIMIT (256u * 1024u)

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const cmcp__http_header text_plain = {"Content-Type",
                                             "text/plain; charset=utf-8"};

static void conn_parse(cmcp__http_conn *c, const char *data, size_t len);
static void conn_fail(cmcp__http_conn *c, int status);

#define CONN(p) ((cmcp__http_conn *)(p)->data)

/* ---- small helpers ----------------------------------------------------- */

cmcp__http_chunk *cmcp__http_chunk_new(size_t len) {
  cmcp__http_chunk *ch = cmcp__malloc(sizeof(*ch) + len);
  if (ch == NULL)
    return NULL;
  ch->next = NULL;
  ch->len = len;
  return ch;
}

void cmcp__http_chunks_free(cmcp__http_chunk *list) {
  while (list != NULL) {
    cmcp__http_chunk *next = list->next;
    cmcp__free(list);
    list = next;
  }
}

void cmcp__http_request_free(struct cmcp__http_request *req) {
  if (req == NULL)
    return;
  if (req->state == CMCP__HTTP_R_STREAMING) /* ended by the connection */
    cmcp__stats_gauge_add(CMCP__SG_STREAMS, -1);
  cmcp__buf_free(&req->head);
  cmcp__buf_free(&req->body);
  cmcp__http_chunks_free(req->held_first);
  cmcp__free(req);
}

/* Asks the sink for a deadline, only when the kind changes: a deadline runs
 * from the moment its phase began, whatever arrives meanwhile. */
static void conn_timer(cmcp__http_conn *c, int kind) {
  if (c->closed || c->timer == kind)
    return;
  c->timer = (uint8_t)kind;
  c->ctx->ops->set_timer(c, kind);
}

/* Finishes the connection once (graceful: everything was written). */
static void conn_finish(cmcp__http_conn *c, int graceful) {
  if (c->closed || c->finishing)
    return;
  c->finishing = 1;
  c->ctx->ops->finish(c, graceful);
}

/* Stops taking requests: later input is ignored. */
static void conn_stop_reading(cmcp__http_conn *c) {
  c->closing = 1;
  if (c->unparsed != NULL) {
    cmcp__buf_free(c->unparsed);
    cmcp__free(c->unparsed);
    c->unparsed = NULL;
  }
  if (!c->closed)
    c->ctx->ops->set_reading(c, 0);
  conn_timer(c, CMCP__HTTP_T_NONE);
}

int cmcp__http_conn_idle(const cmcp__http_conn *c) {
  return c->first == NULL && c->cur == NULL && c->out_bytes == 0 &&
         c->held_bytes == 0 && c->unparsed == NULL && c->phase == PH_BETWEEN;
}

/* After any change: finish a closing connection whose output is all out, or
 * arm the idle deadline of one that has nothing left to do. */
static void conn_check_done(cmcp__http_conn *c) {
  if (c->closed || c->finishing)
    return;
  if (c->closing) {
    if ((c->first == NULL || c->stop_output) && c->out_bytes == 0 &&
        c->out_first == NULL)
      conn_finish(c, 1);
    return;
  }
  if (cmcp__http_conn_idle(c))
    conn_timer(c, CMCP__HTTP_T_IDLE);
}

/* ---- output ordering --------------------------------------------------- */

static void out_append(cmcp__http_conn *c, cmcp__http_chunk *ch) {
  if (c->out_last != NULL)
    c->out_last->next = ch;
  else
    c->out_first = ch;
  c->out_last = ch;
  c->out_bytes += ch->len;
}

void cmcp__http_conn_emit(cmcp__http_conn *c, struct cmcp__http_request *req,
                          cmcp__http_chunk *ch) {
  ch->next = NULL;
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES, (int64_t)ch->len);
  if (req == c->first && !c->stop_output) {
    out_append(c, ch);
    c->ctx->ops->want_write(c);
    return;
  }
  if (req->held_last != NULL)
    req->held_last->next = ch;
  else
    req->held_first = ch;
  req->held_last = ch;
  c->held_bytes += ch->len;
}

/* Moves the front request's held output to the connection. */
static void conn_release_held(cmcp__http_conn *c) {
  struct cmcp__http_request *req = c->first;
  cmcp__http_chunk *ch;
  if (req == NULL || req->held_first == NULL || c->stop_output)
    return;
  while ((ch = req->held_first) != NULL) {
    req->held_first = ch->next;
    c->held_bytes -= ch->len;
    ch->next = NULL;
    out_append(c, ch);
  }
  req->held_last = NULL;
  c->ctx->ops->want_write(c);
}

/* Sends "100 Continue" straight out (only when no response is ahead). */
static void conn_send_continue(cmcp__http_conn *c) {
  cmcp__http_chunk *ch = cmcp__http_chunk_new(sizeof(continue_100) - 1);
  c->cur->want_continue = 0;
  if (ch == NULL)
    return; /* the client sends its body after its own wait anyway */
  memcpy(ch->data, continue_100, ch->len);
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES, (int64_t)ch->len);
  out_append(c, ch);
  c->ctx->ops->want_write(c);
}

/* 1 when no more requests should be read for now: too many wait for an
 * answer, or the peer is not reading the answers it already has. */
static int conn_backlogged(const cmcp__http_conn *c) {
  return c->nqueued >= c->ctx->cfg.max_pipelined ||
         c->out_bytes + c->held_bytes >= c->ctx->cfg.max_outbound_bytes;
}

static void conn_maybe_resume(cmcp__http_conn *c) {
  if (c->paused && !c->closing && !c->closed && !conn_backlogged(c)) {
    c->paused = 0;
    c->ctx->ops->set_reading(c, 1);
  }
}

void cmcp__http_conn_advance(cmcp__http_conn *c) {
  struct cmcp__http_request *req;
  if (c->closed)
    return;
  while ((req = c->first) != NULL && req->state == CMCP__HTTP_R_DONE &&
         !c->stop_output) {
    c->first = req->next;
    if (c->first == NULL)
      c->last = NULL;
    c->nqueued--;
    if (req->close_after) {
      c->stop_output = 1;
      if (!c->closing)
        conn_stop_reading(c);
    }
    cmcp__http_request_free(req);
    conn_release_held(c);
  }
  conn_maybe_resume(c);
  if (c->first == NULL && c->cur != NULL && c->cur->want_continue &&
      !c->closing)
    conn_send_continue(c);
  conn_check_done(c);
}

/* ---- llhttp callbacks -------------------------------------------------- */

static int on_message_begin(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  struct cmcp__http_request *req;
  if (c->cur == NULL) {
    req = cmcp__calloc(1, sizeof(*req));
    if (req == NULL) {
      c->error = 503;
      cmcp__stats_refused(CMCP__REFUSE_OUT_OF_MEMORY);
      return -1;
    }
    req->conn = c;
    cmcp__buf_init(&req->head, c->ctx->cfg.max_header_bytes);
    cmcp__buf_init(&req->body, c->ctx->cfg.max_body_bytes);
    c->cur = req;
  }
  c->phase = PH_HEAD;
  conn_timer(c, CMCP__HTTP_T_HEAD);
  return 0;
}

/* Appends to the head being parsed; a full head is 431, ENOMEM 503. */
static int head_add(cmcp__http_conn *c, const char *at, size_t n) {
  int rc = cmcp__buf_add(&c->cur->head, at, n);
  if (rc == 0)
    return 0;
  c->error = rc == CMCP_ELIMIT ? 431 : 503;
  cmcp__stats_refused(rc == CMCP_ELIMIT ? CMCP__REFUSE_MAX_HEADER_BYTES
                                        : CMCP__REFUSE_OUT_OF_MEMORY);
  return -1;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  cmcp__http_conn *c = CONN(p);
  if (c->cur->head.len + n > c->ctx->cfg.max_url_bytes) {
    c->error = 414;
    cmcp__stats_refused(CMCP__REFUSE_MAX_URL_BYTES);
    return -1;
  }
  return head_add(c, at, n);
}

static int on_url_complete(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  if (head_add(c, "", 1) != 0)
    return -1;
  c->cur->names_off = (uint32_t)c->cur->head.len;
  c->cur->url_done = 1;
  return 0;
}

/* RFC 9110 tchar: the bytes a field name may hold. */
static int is_tchar(unsigned char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
      (ch >= '0' && ch <= '9'))
    return 1;
  return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  cmcp__http_conn *c = CONN(p);
  struct cmcp__http_request *req = c->cur;
  size_t i;
  /* RFC 9112 5.1: "No whitespace is allowed between the field name and
   * colon. ... A server MUST reject, with a response status code of 400
   * (Bad Request), any received request message that contains whitespace
   * between a header field name and colon." */
  for (i = 0; i < n; i++)
    if (!is_tchar((unsigned char)at[i])) {
      c->error = 400;
      return -1;
    }
  if (c->phase == PH_TRAILERS)
    return 0; /* trailers are checked and dropped */
  if (!req->in_field) {
    if (req->need_value && head_add(c, "", 1) != 0)
      return -1;
    req->need_value = 0;
    req->in_field = 1;
  }
  return head_add(c, at, n);
}

static int on_header_field_complete(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  struct cmcp__http_request *req = c->cur;
  if (c->phase == PH_TRAILERS)
    return 0;
  if (req->nheaders >= c->ctx->cfg.max_header_count) {
    c->error = 431;
    cmcp__stats_refused(CMCP__REFUSE_MAX_HEADER_COUNT);
    return -1;
  }
  req->nheaders++;
  req->in_field = 0;
  req->need_value = 1;
  return head_add(c, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  cmcp__http_conn *c = CONN(p);
  if (c->phase == PH_TRAILERS)
    return 0;
  return head_add(c, at, n);
}

/* Ends a value: trailing whitespace is not part of it (RFC 9110 5.5). */
static int on_header_value_complete(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  cmcp__buf *h = &c->cur->head;
  if (c->phase == PH_TRAILERS)
    return 0;
  while (h->len > 0 &&
         (h->data[h->len - 1] == ' ' || h->data[h->len - 1] == '\t'))
    h->len--;
  c->cur->need_value = 0;
  return head_add(c, "", 1);
}

static int on_headers_complete(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  if (!c->cur->url_done) {
    c->error = 400;
    return -1;
  }
  if (c->cur->need_value && head_add(c, "", 1) != 0)
    return -1;
  c->cur->need_value = 0;
  if ((p->flags & F_CONTENT_LENGTH) &&
      p->content_length > c->ctx->cfg.max_body_bytes) {
    c->error = 413;
    cmcp__stats_refused(CMCP__REFUSE_MAX_MESSAGE_BYTES);
    return -1;
  }
  if (p->method == HTTP_CONNECT) {
    c->error = 501;
    return -1;
  }
  c->event = EV_HEADERS;
  return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  cmcp__http_conn *c = CONN(p);
  int rc = cmcp__buf_add(&c->cur->body, at, n);
  if (rc == 0)
    return 0;
  c->error = rc == CMCP_ELIMIT ? 413 : 503;
  cmcp__stats_refused(rc == CMCP_ELIMIT ? CMCP__REFUSE_MAX_MESSAGE_BYTES
                                        : CMCP__REFUSE_OUT_OF_MEMORY);
  return -1;
}

static int on_chunk_header(llhttp_t *p) {
  cmcp__http_conn *c = CONN(p);
  if (p->content_length > c->ctx->cfg.max_body_bytes - c->cur->body.len) {
    c->error = 413;
    cmcp__stats_refused(CMCP__REFUSE_MAX_MESSAGE_BYTES);
    return -1;
  }
  if (p->content_length != 0)
    return 0;
  c->event = EV_TRAILERS; /* the last chunk: trailers (or CRLF) follow */
  return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *p) {
  CONN(p)->event = EV_MESSAGE;
  return HPE_PAUSED;
}

static const llhttp_settings_t *http_settings(void) {
  static llhttp_settings_t s;
  static int ready;
  if (!ready) {
    llhttp_settings_init(&s);
    s.on_message_begin = on_message_begin;
    s.on_url = on_url;
    s.on_url_complete = on_url_complete;
    s.on_header_field = on_header_field;
    s.on_header_field_complete = on_header_field_complete;
    s.on_header_value = on_header_value;
    s.on_header_value_complete = on_header_value_complete;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_chunk_header = on_chunk_header;
    s.on_message_complete = on_message_complete;
    ready = 1;
  }
  return &s;
}

void cmcp__http_conn_init(cmcp__http_conn *c, cmcp__http_ctx *ctx) {
  memset(c, 0, sizeof(*c));
  c->ctx = ctx;
  c->timer = CMCP__HTTP_T_HEAD; /* the sink arms it when it accepts */
  llhttp_init(&c->parser, HTTP_REQUEST, http_settings());
  c->parser.data = c;
}

/* ---- events between llhttp pauses -------------------------------------- */

/* Splits the request target into path and query; absolute-form targets
 * ("http://host/p?q") keep only their path (RFC 9112 3.2.2). */
static void request_split_target(struct cmcp__http_request *req) {
  char *url = req->head.data, *path = url, *q;
  if (strncasecmp(url, "http://", 7) == 0 ||
      strncasecmp(url, "https://", 8) == 0) {
    path = strchr(url + 7 + (url[4] == 's' || url[4] == 'S'), '/');
    if (path == NULL) {
      req->path_off = UINT32_MAX;
      path = strchr(url, '?');
      if (path == NULL)
        return;
    }
  }
  if (req->path_off != UINT32_MAX)
    req->path_off = (uint32_t)(path - url);
  q = strchr(path, '?');
  if (q != NULL) {
    *q = '\0';
    req->query_off = (uint32_t)(q + 1 - url);
  }
}

/* Expect (RFC 9110 10.1.1): "100-continue" is honoured once no response is
 * ahead of this one; any other expectation gets 417. */
static int on_expect(cmcp__http_conn *c, const char *v, int has_body) {
  if (strcasecmp(v, "100-continue") != 0) {
    conn_fail(c, 417);
    return -1;
  }
  if (c->cur->minor == 0 || !has_body)
    return 0;
  c->cur->want_continue = 1;
  if (c->first == NULL)
    conn_send_continue(c);
  return 0;
}

/* RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status
 * code to any HTTP/1.1 request message that lacks a Host header field and
 * to any request message that contains more than one Host header field
 * line". */
static int host_ok(const struct cmcp__http_request *req) {
  int n = (cmcp__http_request_header_nth(req, "host", 0) != NULL) +
          (cmcp__http_request_header_nth(req, "host", 1) != NULL);
  return n == 1 || (n == 0 && req->minor == 0);
}

static int ev_headers(cmcp__http_conn *c) {
  struct cmcp__http_request *req = c->cur;
  llhttp_t *p = &c->parser;
  const char *expect;
  int has_body = (p->flags & F_CHUNKED) ||
                 ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  req->method = p->method;
  req->minor = p->http_minor;
  req->head_only = p->method == HTTP_HEAD;
  request_split_target(req);
  c->phase = PH_BODY;
  c->head_bytes = 0;
  if (!host_ok(req)) {
    conn_fail(c, 400);
    return -1;
  }
  expect = cmcp__http_request_header(req, "expect");
  if (expect != NULL && on_expect(c, expect, has_body) != 0)
    return -1;
  if (has_body)
    conn_timer(c, CMCP__HTTP_T_BODY);
  return 0;
}

/* A request is complete: queue it in order and hand it to the handler. */
static int ev_message(cmcp__http_conn *c) {
  struct cmcp__http_request *req = c->cur;
  c->cur = NULL;
  c->phase = PH_BETWEEN;
  c->head_bytes = 0;
  c->prev = 0;
  req->keep_alive = llhttp_should_keep_alive(&c->parser) ? 1 : 0;
  if (c->last != NULL)
    c->last->next = req;
  else
    c->first = req;
  c->last = req;
  c->nqueued++;
  c->ctx->stats.requests++;
  conn_timer(c, CMCP__HTTP_T_NONE);
  if (!req->keep_alive)
    conn_stop_reading(c);
  else if (conn_backlogged(c)) {
    c->paused = 1;
    c->ctx->ops->set_reading(c, 0);
  }
  c->ctx->on_request(req, c->ctx->data);
  return c->closed ? -1 : 0;
}

static int conn_event(cmcp__http_conn *c) {
  int ev = c->event;
  c->event = EV_NONE;
  switch (ev) {
  case EV_HEADERS:
    return ev_headers(c);
  case EV_TRAILERS:
    c->phase = PH_TRAILERS;
    c->head_bytes = 0;
    c->prev = 2;
    return 0;
  case EV_MESSAGE:
    return ev_message(c);
  default:
    return 0;
  }
}

/* Checks the raw head bytes [p, q) llhttp lets through: the head's size,
 * and line endings. RFC 9112 2.2: "a recipient MAY recognize a single LF as
 * a line terminator" - cmcp does not (request smuggling); nor obs-fold
 * ("A server that receives an obs-fold ... MUST either reject the message
 * by sending a 400 (Bad Request) ..."). Bodies are not scanned. */
static int conn_check_raw(cmcp__http_conn *c, const char *p, const char *q) {
  if (c->phase == PH_BODY)
    return 0;
  c->head_bytes += (size_t)(q - p);
  if (c->head_bytes > c->ctx->cfg.max_header_bytes) {
    c->error = 431;
    cmcp__stats_refused(CMCP__REFUSE_MAX_HEADER_BYTES);
    return -1;
  }
  for (; p < q; p++) {
    if (*p == '\n') {
      if (c->prev != 1)
        goto bad;
      c->prev = 2;
    } else if (c->prev == 2 && (*p == ' ' || *p == '\t') &&
               c->phase != PH_BETWEEN) {
      goto bad;
    } else {
      c->prev = *p == '\r' ? 1 : 0;
    }
  }
  return 0;
bad:
  c->error = 400;
  return -1;
}

/* Keeps bytes that arrived while paused; past the bound, closes. */
static int conn_hold(cmcp__http_conn *c, const char *p, size_t n) {
  if (n == 0)
    return 0;
  if (c->unparsed == NULL) {
    c->unparsed = cmcp__malloc(sizeof(*c->unparsed));
    if (c->unparsed == NULL)
      goto fail;
    cmcp__buf_init(c->unparsed, HTTP_UNPARSED_LIMIT);
  }
  if (cmcp__buf_add(c->unparsed, p, n) != 0)
    goto fail;
  return 0;
fail:
  cmcp__stats_refused(CMCP__REFUSE_MAX_PIPELINED);
  conn_finish(c, 0);
  return -1;
}

/* Runs llhttp over [data, data + len), stopping at each pause to check the
 * raw bytes and handle the event outside the parser's callbacks. */
static void conn_parse(cmcp__http_conn *c, const char *data, size_t len) {
  const char *p = data, *end = data + len, *q;
  llhttp_errno_t err;
  /* after a pause at the very end, llhttp still owes the callbacks that
   * follow it (message complete), so it runs again on zero bytes */
  while (!c->closing && !c->closed && !c->finishing) {
    err = llhttp_execute(&c->parser, p, (size_t)(end - p));
    q = err == HPE_OK ? end : llhttp_get_error_pos(&c->parser);
    if (q == NULL || q < p || q > end)
      q = end;
    if (err != HPE_OK && err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
      conn_fail(c, c->error ? c->error : 400);
      return;
    }
    if (conn_check_raw(c, p, q) != 0) {
      conn_fail(c, c->error);
      return;
    }
    p = q;
    if (err == HPE_OK)
      return;
    if (err == HPE_PAUSED)
      llhttp_resume(&c->parser);
    else
      llhttp_resume_after_upgrade(&c->parser);
    if (conn_event(c) != 0)
      return;
    if (c->paused && !c->closing) {
      conn_hold(c, p, (size_t)(end - p));
      return;
    }
  }
}

void cmcp__http_conn_feed(cmcp__http_conn *c, const char *data, size_t len) {
  if (c->closed || c->finishing || c->closing)
    return;
  if (c->paused || c->unparsed != NULL) {
    if (conn_hold(c, data, len) == 0 && !c->paused)
      cmcp__http_conn_resume(c);
    return;
  }
  conn_parse(c, data, len);
}

/* 1 when a dispatched request still waits for (the end of) its answer. */
static int conn_has_unanswered(const cmcp__http_conn *c) {
  const struct cmcp__http_request *req;
  for (req = c->first; req != NULL; req = req->next)
    if (req->state != CMCP__HTTP_R_DONE)
      return 1;
  return 0;
}

/* The peer sends no more. A client that leaves while its request is being
 * answered has gone for good in practice (half-closing HTTP clients are
 * rare), and the owner of a long answer (an SSE stream) must hear of it:
 * unanswered requests are aborted. Answers already made are still sent. */
static void conn_eof_now(cmcp__http_conn *c) {
  if (conn_has_unanswered(c)) {
    conn_finish(c, 0);
    return;
  }
  if (c->phase != PH_BETWEEN) {
    cmcp__http_request_free(c->cur);
    c->cur = NULL;
    c->phase = PH_BETWEEN;
  }
  if (!c->closing)
    conn_stop_reading(c);
  conn_timer(c, CMCP__HTTP_T_NONE);
  conn_check_done(c);
}

void cmcp__http_conn_resume(cmcp__http_conn *c) {
  cmcp__buf *held = c->unparsed;
  if (c->closed || c->finishing || c->paused)
    return;
  if (held != NULL) {
    c->unparsed = NULL;
    conn_parse(c, held->data, held->len);
    cmcp__buf_free(held);
    cmcp__free(held);
  }
  if (c->eof && c->unparsed == NULL && !c->paused)
    conn_eof_now(c);
}

void cmcp__http_conn_eof(cmcp__http_conn *c) {
  if (c->closed || c->finishing)
    return;
  c->eof = 1;
  if (c->unparsed != NULL || c->paused)
    return; /* held requests are parsed first */
  conn_eof_now(c);
}

/* ---- errors, timeouts, shutdown ---------------------------------------- */

/* Answers a broken or refused request with status and closes after it
 * (framing is lost once a request goes wrong midway). */
static void conn_fail(cmcp__http_conn *c, int status) {
  struct cmcp__http_request *req;
  int rc;
  c->ctx->stats.bad_requests++;
  cmcp__http_request_free(c->cur);
  c->cur = NULL;
  c->phase = PH_BETWEEN;
  conn_stop_reading(c);
  conn_timer(c, CMCP__HTTP_T_NONE);
  req = cmcp__calloc(1, sizeof(*req));
  if (req == NULL)
    goto fail;
  req->conn = c;
  req->synthetic = 1;
  if (c->last != NULL)
    c->last->next = req;
  else
    c->first = req;
  c->last = req;
  c->nqueued++;
  rc =
      cmcp__http_respond(req, status, &text_plain, 1, cmcp__http_reason(status),
                         strlen(cmcp__http_reason(status)));
  if (rc != 0)
    goto fail;
  return;
fail:
  conn_finish(c, 0);
}

void cmcp__http_conn_timeout(cmcp__http_conn *c) {
  int kind = c->timer;
  if (c->closed || c->finishing)
    return;
  c->timer = CMCP__HTTP_T_NONE;
  if (kind == CMCP__HTTP_T_HEAD || kind == CMCP__HTTP_T_BODY) {
    if (c->phase == PH_BETWEEN && c->first == NULL) {
      conn_finish(c, 0); /* connected, never sent a byte */
      return;
    }
    cmcp__stats_refused(kind == CMCP__HTTP_T_HEAD ? CMCP__REFUSE_HEADER_TIMEOUT
                                                  : CMCP__REFUSE_BODY_TIMEOUT);
    conn_fail(c, 408);
  } else if (kind == CMCP__HTTP_T_IDLE) {
    conn_finish(c, 0);
  }
}

void cmcp__http_conn_drain(cmcp__http_conn *c) {
  if (c->closed || c->finishing)
    return;
  c->draining = 1;
  if (c->phase != PH_BETWEEN) {
    cmcp__http_request_free(c->cur);
    c->cur = NULL;
    c->phase = PH_BETWEEN;
  }
  conn_stop_reading(c);
  conn_timer(c, CMCP__HTTP_T_NONE);
  conn_check_done(c);
}

cmcp__http_chunk *cmcp__http_conn_take_output(cmcp__http_conn *c) {
  cmcp__http_chunk *list = c->out_first;
  c->out_first = NULL;
  c->out_last = NULL;
  return list;
}

void cmcp__http_conn_written(cmcp__http_conn *c, size_t n) {
  if (c->closed)
    return;
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES,
                        -(int64_t)(n < c->out_bytes ? n : c->out_bytes));
  c->out_bytes = n < c->out_bytes ? c->out_bytes - n : 0;
  conn_maybe_resume(c);
  if (c->out_bytes == 0)
    conn_check_done(c);
}

void cmcp__http_conn_teardown(cmcp__http_conn *c) {
  struct cmcp__http_request *req;
  if (c->closed)
    return;
  c->closed = 1;
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES,
                        -(int64_t)(c->out_bytes + c->held_bytes));
  while ((req = c->first) != NULL) {
    c->first = req->next;
    if (req->state != CMCP__HTTP_R_DONE && req->on_abort != NULL)
      req->on_abort(req, req->abort_data);
    cmcp__http_request_free(req);
  }
  c->last = NULL;
  c->nqueued = 0;
  cmcp__http_request_free(c->cur);
  c->cur = NULL;
  cmcp__http_chunks_free(c->out_first);
  c->out_first = c->out_last = NULL;
  if (c->unparsed != NULL) {
    cmcp__buf_free(c->unparsed);
    cmcp__free(c->unparsed);
    c->unparsed = NULL;
  }
  c->held_bytes = 0;
}
