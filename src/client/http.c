/* src/client/http.c: the Streamable HTTP client transport on libcurl (see
 * client_int.h). Every message is its own POST; the answer is a JSON body,
 * an SSE stream (notifications, server requests, then the response) or 202.
 * A legacy session (2025-11-25 and older) also has its session id, its
 * standalone GET stream, resumption with Last-Event-ID, and DELETE at the
 * end; the 2026-07-28 wire has none of them but mirrors the method and
 * name into Mcp-Method and Mcp-Name.
 *
 * Each transfer is a hreq. It ends in exactly one way: its answer was
 * handed to the engine, cmcp__client_on_send_failed() was called, or it was
 * abandoned (no upcall). Upcalls happen with the hreq marked busy; an
 * abandon that arrives meanwhile only marks it, and the code that made the
 * upcall finishes it afterwards.
 */
#include "client/client_int.h"
#include "client/curl_loop.h"
#include "client/sse_parse.h"

#include "base/base64.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RETRY_DEFAULT_MS 1000  /* before resuming when the server gave none */
#define MAX_LIVE 4096          /* transfers per transport (POSTs and streams) */
#define ERROR_BODY_MAX 65536   /* an error answer kept for its JSON-RPC error */
#define SESSION_ID_MAX 256     /* longest Mcp-Session-Id accepted */
#define DELETE_TIMEOUT_MS 5000 /* the closing DELETE */
#define HEADER_MAX CMCP__CURL_HEADER_MAX /* a header value kept or sent */
#define CONNECT_TIMEOUT_MS 30000
#define AUTH_401_MAX 1 /* token renewals per request after a 401 */
#define AUTH_403_MAX 3 /* scope step-ups per request after a 403 */
#define DETAIL_MAX 256
#define LINGER_MS 2000 /* a POST stream left open after its response */

enum { K_POST = 1, K_GET, K_DELETE };
enum { CT_NONE = 0, CT_JSON, CT_SSE, CT_OTHER };
enum { M_UNSET = 0, M_SSE, M_BODY };

typedef struct http_t http_t;

typedef struct hreq {
  cmcp__curl_xfer x; /* first: the done/release callbacks cast back */
  http_t *h;
  struct hreq *prev, *next;
  uv_timer_t timer; /* the wait before resuming */
  int kind;
  int64_t id;
  int has_id;
  int modern;     /* sent on the 2026-07-28 wire: nothing to resume */
  int standalone; /* the session's GET stream */
  char *body;     /* the POST body (kept for a retry after a new token) */
  size_t body_len;
  struct curl_slist *hdrs; /* the request's headers except Authorization */
  struct curl_slist *sent; /* hdrs + Authorization / Last-Event-ID */
  int ctype;               /* of the response */
  int mode;                /* how the response body is read */
  cmcp__buf resp;          /* a JSON or error body */
  cmcp__ssep sse;          /* an SSE body (its ids survive a resume) */
  char *www_auth;
  int over_limit; /* a message passed max_message */
  int error_body; /* the status says the body is an error */
  int no_memory;
  int got_response; /* the response to id has been handed over */
  int reconnects;   /* resumptions since the last message */
  int auth_401, auth_403;
  int in_curl;   /* the transfer is in the curl loop */
  int busy;      /* an upcall for it is running */
  int auth_wait; /* waiting for the OAuth client */
  int waiting;   /* its resume timer runs */
  int abandoned; /* no upcall may follow */
  int finished;  /* closing: memory goes in the timer's close callback */
  char err[CURL_ERROR_SIZE];
} hreq;

struct http_t {
  cmcp__ctransport base;
  cmcp__curl_loop *cl;
  uv_timer_t timer; /* closed last: its close callback ends the transport */
  char *url;
  char **headers; /* the user's "Name: value" lines */
  char *bearer;
  cmcp_oauth_t *oauth;
  size_t max_message;
  int max_reconnects;
  char *session_id;
  char *protocol; /* the last MCP-Protocol-Version sent, for GET/DELETE */
  hreq *reqs;     /* live transfers */
  size_t live;    /* hreqs whose memory is not freed yet */
  int closing;
  int ended; /* the final close has started */
  void (*done)(cmcp__ctransport *t);
};

static int start(hreq *r);
static void finish(hreq *r);
static void on_http_closed(uv_handle_t *hd);

/* ---- small helpers ------------------------------------------------------- */

static int is_modern(const char *protocol) {
  return protocol != NULL && strcmp(protocol, CMCP_PROTOCOL_MODERN) == 0;
}

/* Appends one "Name: value" line. libcurl reads "Name:" with nothing
 * after the colon as "remove that header"; an empty value is sent as
 * "Name;" instead, which it turns into "Name:" on the wire. */
static int add_raw(struct curl_slist **list, const char *line) {
  const char *colon = strchr(line, ':'), *v;
  struct curl_slist *s;
  char *semi;
  if (colon == NULL)
    return CMCP_EINVAL;
  for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
    ;
  if (*v != '\0') {
    s = curl_slist_append(*list, line);
  } else {
    if ((semi = cmcp__strndup(line, (size_t)(colon - line) + 1)) == NULL)
      return CMCP_ENOMEM;
    semi[colon - line] = ';';
    s = curl_slist_append(*list, semi);
    cmcp__free(semi);
  }
  if (s == NULL)
    return CMCP_ENOMEM;
  *list = s;
  return 0;
}

/* Appends each of a NULL-terminated list of header lines. */
static int add_lines(struct curl_slist **list, const char *const *lines) {
  int rc;
  for (; lines != NULL && *lines != NULL; lines++)
    if ((rc = add_raw(list, *lines)) != 0)
      return rc;
  return 0;
}

/* Appends "Name: value" to *list. 0 or CMCP_ENOMEM. */
static int add_line(struct curl_slist **list, const char *name,
                    const char *value) {
  cmcp__buf b;
  int rc;
  cmcp__buf_init(&b, HEADER_MAX * 2);
  rc = cmcp__buf_printf(&b, "%s: %s", name, value);
  if (rc == 0)
    rc = add_raw(list, b.data);
  cmcp__buf_free(&b);
  return rc;
}

/* 1 if v can go in a header as it is: "visible ASCII characters
 * (0x21-0x7E), space (0x20), and horizontal tab (0x09)", no leading or
 * trailing whitespace, and not looking like the base64 sentinel. */
static int plain_ok(const char *v) {
  size_t n = strlen(v), i;
  if (n > 0 &&
      (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
    return 0;
  for (i = 0; i < n; i++)
    if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
        (unsigned char)v[i] > 0x7e)
      return 0;
  /* "clients MUST also Base64-encode any plain-ASCII value that matches
   * the sentinel pattern" */
  return !(n >= 11 && strncmp(v, "=?base64?", 9) == 0 &&
           strcmp(v + n - 2, "?=") == 0);
}

/* Appends "Mcp-Name: v", as "=?base64?...?=" when v cannot go plain. */
static int add_name(struct curl_slist **list, const char *v) {
  cmcp__buf b;
  int rc;
  if (plain_ok(v))
    return add_line(list, "Mcp-Name", v);
  cmcp__buf_init(&b, HEADER_MAX);
  rc = cmcp__buf_adds(&b, "=?base64?");
  if (rc == 0)
    rc = cmcp__base64_encode(v, strlen(v), CMCP__B64_STD, &b);
  if (rc == 0)
    rc = cmcp__buf_adds(&b, "?=");
  if (rc == 0)
    rc = add_line(list, "Mcp-Name", b.data);
  cmcp__buf_free(&b);
  return rc == CMCP_ELIMIT ? CMCP_EINVAL : rc;
}

/* ---- a tiny look at a message's top level -------------------------------- */

typedef struct top {
  int has_method, has_error, has_result, has_id;
  int64_t id; /* when has_id and the id is an integer */
} top;

/* Index just past the JSON string starting at s[i] ('"'), or n. */
static size_t skip_string(const char *s, size_t i, size_t n) {
  for (i++; i < n; i++) {
    if (s[i] == '\\')
      i++;
    else if (s[i] == '"')
      return i + 1;
  }
  return n;
}

/* Index just past the JSON value starting at s[i], or n. */
static size_t skip_value(const char *s, size_t i, size_t n) {
  int depth = 0;
  for (; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i, n) - 1;
      if (depth == 0)
        return i + 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0)
        return depth < 0 ? i : i + 1;
    } else if (depth == 0 &&
               (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
      return i;
    }
  }
  return n;
}

static size_t skip_ws(const char *s, size_t i, size_t n) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
    i++;
  return i;
}

/* Reads an integer id at s[i..n) into t. */
static void read_id(const char *s, size_t i, size_t n, top *t) {
  int64_t v = 0;
  int neg = 0, digits = 0;
  if (i < n && s[i] == '-') {
    neg = 1;
    i++;
  }
  for (; i < n && s[i] >= '0' && s[i] <= '9' && digits < 18; i++, digits++)
    v = v * 10 + (s[i] - '0');
  if (digits == 0 || (i < n && s[i] >= '0' && s[i] <= '9'))
    return; /* not an integer we sent */
  t->has_id = 1;
  t->id = neg ? -v : v;
}

/* Which members a JSON object text has at its top level (the engine does
 * the real parsing; this only tells a response to id from the rest). */
static void peek(const char *s, size_t n, top *t) {
  size_t i = skip_ws(s, 0, n), k, len;
  memset(t, 0, sizeof *t);
  if (i >= n || s[i] != '{')
    return;
  for (i++;;) {
    i = skip_ws(s, i, n);
    if (i >= n || s[i] != '"')
      return;
    k = i + 1;
    i = skip_string(s, i, n);
    len = i - k - 1; /* without the quotes */
    i = skip_ws(s, i, n);
    if (i >= n || s[i] != ':')
      return;
    i = skip_ws(s, i + 1, n);
    if (len == 6 && memcmp(s + k, "method", 6) == 0)
      t->has_method = 1;
    else if (len == 5 && memcmp(s + k, "error", 5) == 0)
      t->has_error = 1;
    else if (len == 6 && memcmp(s + k, "result", 6) == 0)
      t->has_result = 1;
    else if (len == 2 && memcmp(s + k, "id", 2) == 0)
      read_id(s, i, n, t);
    i = skip_ws(s, skip_value(s, i, n), n);
    if (i >= n || s[i] != ',')
      return;
    i++;
  }
}

/* ---- upcalls ------------------------------------------------------------- */

/* Hands one message to the engine. */
static void deliver(hreq *r, const char *text, size_t len) {
  top t;
  if (r->has_id && !r->got_response) {
    peek(text, len, &t);
    if (!t.has_method && t.has_id && t.id == r->id &&
        (t.has_result || t.has_error))
      r->got_response = 1;
  }
  r->busy++;
  cmcp__client_on_message(r->h->base.cli, text, len);
  r->busy--;
}

/* The request can get no answer: tells the engine (or logs, for a message
 * that had no id). */
static void fail(hreq *r, int status, long http_status, const char *detail) {
  if (!r->has_id || r->got_response) {
    cmcp__log(CMCP_LOG_WARNING, "cmcp: HTTP %s: %s",
              r->kind == K_GET ? "stream" : "message", detail);
    return;
  }
  r->busy++;
  cmcp__client_on_send_failed(r->h->base.cli, r->id, status, (int)http_status,
                              detail);
  r->busy--;
}

/* ---- response callbacks -------------------------------------------------- */

static int content_type(const char *v, size_t n) {
  char *s = cmcp__curl_header_copy(v, n);
  int ct = CT_OTHER;
  if (s == NULL)
    return CT_NONE;
  if (strncasecmp(s, "text/event-stream", 17) == 0)
    ct = CT_SSE;
  else if (strncasecmp(s, "application/json", 16) == 0)
    ct = CT_JSON;
  cmcp__free(s);
  return ct;
}

/* Keeps the session id the server gave with its answer to initialize. */
static void keep_session(http_t *h, const char *v, size_t n) {
  char *s;
  size_t i;
  if (h->session_id != NULL || (s = cmcp__curl_header_copy(v, n)) == NULL)
    return;
  /* "The session ID MUST only contain visible ASCII characters (ranging
   * from 0x21 to 0x7E)." */
  for (i = 0; s[i] != '\0'; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
      break;
  if (s[i] != '\0' || i == 0 || i > SESSION_ID_MAX) {
    cmcp__log(CMCP_LOG_WARNING, "cmcp: ignoring a malformed Mcp-Session-Id");
    cmcp__free(s);
    return;
  }
  h->session_id = s;
}

/* CURLOPT_HEADERFUNCTION. A status line starts a new response. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  hreq *r = ud;
  const char *v;
  (void)size;
  if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    r->ctype = CT_NONE;
    cmcp__free(r->www_auth);
    r->www_auth = NULL;
  } else if (cmcp__curl_header_is(p, n, "Content-Type", &v)) {
    r->ctype = content_type(v, n - (size_t)(v - p));
  } else if (cmcp__curl_header_is(p, n, "Mcp-Session-Id", &v)) {
    if (r->kind == K_POST && !r->modern)
      keep_session(r->h, v, n - (size_t)(v - p));
  } else if (cmcp__curl_header_is(p, n, "WWW-Authenticate", &v)) {
    cmcp__free(r->www_auth);
    if ((r->www_auth = cmcp__curl_header_copy(v, n - (size_t)(v - p))) == NULL)
      r->no_memory = 1;
  }
  return r->no_memory ? 0 : n;
}

/* The response came but the server keeps the POST's stream open ("The
 * final JSON-RPC response SHOULD terminate the stream"): close it. */
static void on_linger(uv_timer_t *t) {
  hreq *r = t->data;
  if (r->in_curl && !r->abandoned) {
    r->abandoned = 1;
    cmcp__curl_cancel(&r->x); /* release finishes it */
  }
}

/* Each SSE event: a "message" event with data is one JSON-RPC message. */
static int on_event(void *ud, const cmcp__ssep_event *ev) {
  hreq *r = ud;
  int had = r->got_response;
  if (ev->len == 0 || strcmp(ev->type, "message") != 0)
    return 0; /* a priming event, or an event type MCP does not use */
  r->reconnects = 0;
  deliver(r, ev->data, ev->len);
  if (!had && r->got_response && !r->abandoned)
    uv_timer_start(&r->timer, on_linger, LINGER_MS, 0);
  return r->abandoned ? 1 : 0;
}

/* Decides how to read the body once the status and headers are known. */
static void pick_mode(hreq *r) {
  long code = 0;
  curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300 && r->ctype == CT_SSE) {
    r->mode = M_SSE;
    return;
  }
  r->mode = M_BODY;
  r->error_body = code < 200 || code >= 300;
  r->resp.limit = !r->error_body || r->h->max_message < ERROR_BODY_MAX
                      ? r->h->max_message
                      : ERROR_BODY_MAX;
}

/* CURLOPT_WRITEFUNCTION. Returning less than n aborts the transfer. */
static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  hreq *r = ud;
  int rc;
  (void)size;
  if (r->abandoned)
    return 0;
  if (r->mode == M_UNSET)
    pick_mode(r);
  if (r->mode == M_SSE) {
    rc = cmcp__ssep_feed(&r->sse, p, n, on_event, r);
    if (rc == CMCP_ELIMIT)
      r->over_limit = 1;
    else if (rc == CMCP_ENOMEM)
      r->no_memory = 1;
    return rc == 0 ? n : 0;
  }
  rc = cmcp__buf_add(&r->resp, p, n);
  if (rc == CMCP_ELIMIT && r->error_body)
    return n; /* an error body: its start is enough */
  if (rc == CMCP_ELIMIT)
    r->over_limit = 1;
  else if (rc == CMCP_ENOMEM)
    r->no_memory = 1;
  return rc == 0 ? n : 0;
}

/* ---- transfers ----------------------------------------------------------- */

static void on_req_closed(uv_handle_t *hd) {
  hreq *r = hd->data;
  http_t *h = r->h;
  cmcp__curl_easy_put(h->cl, r->x.easy);
  curl_slist_free_all(r->hdrs);
  curl_slist_free_all(r->sent);
  cmcp__buf_free(&r->resp);
  cmcp__ssep_free(&r->sse);
  cmcp__free(r->www_auth);
  cmcp__free(r->body);
  cmcp__free(r);
  h->live--;
  if (h->closing && h->live == 0 && !h->ended) {
    h->ended = 1;
    uv_close((uv_handle_t *)&h->timer, on_http_closed);
  }
}

/* Unlinks r; its memory goes once its timer is closed. */
static void finish(hreq *r) {
  http_t *h = r->h;
  if (r->finished)
    return;
  r->finished = 1;
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    h->reqs = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  uv_close((uv_handle_t *)&r->timer, on_req_closed);
}

/* No upcall may follow for r; it goes as soon as nothing holds it. */
static void abandon_req(hreq *r) {
  r->abandoned = 1;
  if (r->auth_wait && !r->busy) { /* the OAuth client must not call back */
    cmcp__oauth_cancel(r->h->oauth, r);
    r->auth_wait = 0;
    finish(r);
    return;
  }
  if (r->busy || r->auth_wait || r->finished)
    return; /* the holder finishes it */
  if (r->in_curl) {
    cmcp__curl_cancel(&r->x); /* release finishes it */
    return;
  }
  uv_timer_stop(&r->timer);
  finish(r);
}

static void on_release(cmcp__curl_xfer *x) {
  hreq *r = (hreq *)x;
  r->in_curl = 0;
  if (!r->busy)
    finish(r);
}

static void schedule_resume(hreq *r);
static void on_auth(void *data, int status, const char *detail);

/* Writes "HTTP <status>" and what the body says into detail. */
static void http_detail(hreq *r, long code, char *detail, size_t size) {
  size_t n = r->resp.len < 160 ? r->resp.len : 160, i;
  int w = snprintf(detail, size, "HTTP %ld", code);
  if (n == 0 || w < 0 || (size_t)w + 3 >= size)
    return;
  detail[w++] = ':';
  detail[w++] = ' ';
  for (i = 0; i < n && (size_t)w + 1 < size; i++)
    detail[w++] = (r->resp.data[i] >= 0x20 && r->resp.data[i] < 0x7f)
                      ? r->resp.data[i]
                      : ' ';
  detail[w] = '\0';
}

/* 1 if a dropped stream may be resumed. */
static int resumable(hreq *r) {
  if (r->modern || r->h->closing || r->reconnects >= r->h->max_reconnects)
    return 0;
  if (r->standalone)
    return 1;
  return r->has_id && !r->got_response && r->sse.last_id[0] != '\0';
}

/* An SSE stream ended (cleanly or cut). Returns 1 if r goes on. */
static int stream_ended(hreq *r, const char *why) {
  char detail[DETAIL_MAX];
  cmcp__ssep_reset(&r->sse); /* a half-received event is dropped */
  if (r->has_id && r->got_response)
    return 0;
  if (resumable(r)) {
    schedule_resume(r);
    return 1;
  }
  snprintf(detail, sizeof detail, "%s%s", why,
           r->reconnects > 0 ? " (after resuming)" : "");
  fail(r, CMCP_EIO, 0, detail);
  return 0;
}

/* A body answer (JSON or an error). Returns 1 if r goes on. */
static int body_ended(hreq *r, long code) {
  char detail[DETAIL_MAX];
  top t;
  if (code >= 200 && code < 300) {
    if (r->resp.len > 0 && r->ctype == CT_JSON && !r->standalone)
      deliver(r, r->resp.data, r->resp.len);
    if (r->has_id && !r->got_response && !r->abandoned)
      fail(r, CMCP_EPROTO, code,
           r->resp.len == 0 ? "the server answered a request with no response"
                            : "the server's answer holds no response");
    else if (r->standalone)
      cmcp__log(CMCP_LOG_WARNING,
                "cmcp: the server answered the GET stream "
                "with HTTP %ld and no event stream",
                code);
    return 0;
  }
  if (r->standalone && code == 405) {
    cmcp__log(CMCP_LOG_INFO, "cmcp: the server offers no GET stream (405)");
    return 0;
  }
  if ((code == 401 || code == 403) && r->h->oauth != NULL &&
      r->kind == K_POST &&
      (code == 401 ? r->auth_401++ < AUTH_401_MAX
                   : r->auth_403++ < AUTH_403_MAX)) {
    r->auth_wait = 1;
    if (cmcp__oauth_challenge(r->h->oauth, r->h->base.loop, r->h->url, code,
                              r->www_auth, on_auth, r) == 0)
      return 1;
    r->auth_wait = 0;
  }
  peek(r->resp.data != NULL ? r->resp.data : "", r->resp.len, &t);
  if (r->has_id && t.has_error && !t.has_method && t.has_id && t.id == r->id) {
    deliver(r, r->resp.data, r->resp.len); /* the engine matches the id */
    return 0;
  }
  http_detail(r, code, detail, sizeof detail);
  fail(r, code >= 500 ? CMCP_EIO : CMCP_EPROTO, code, detail);
  return 0;
}

/* Decides what a finished transfer means. Returns 1 if r goes on (a
 * resume or a new token is on its way). */
static int ended(hreq *r, CURLcode rc) {
  long code = 0;
  curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &code);
  if (r->kind == K_DELETE)
    return 0;
  if (r->over_limit) {
    fail(r, CMCP_EPROTO, code, "a message from the server passes the limit");
    return 0;
  }
  if (r->no_memory) {
    fail(r, CMCP_EIO, code, "out of memory");
    return 0;
  }
  if (r->mode == M_SSE)
    return stream_ended(r, rc == CURLE_OK ? "the stream ended before the "
                                            "response"
                                          : "the stream was cut before the "
                                            "response");
  if (rc != CURLE_OK && r->kind == K_GET && r->mode == M_UNSET &&
      resumable(r)) {
    schedule_resume(r); /* a failed attempt counts as one reconnect */
    return 1;
  }
  if (rc != CURLE_OK) {
    fail(r, CMCP_EIO, code,
         r->err[0] != '\0' ? r->err : curl_easy_strerror(rc));
    return 0;
  }
  if (r->mode == M_UNSET)
    pick_mode(r); /* no body at all */
  return body_ended(r, code);
}

static void on_done(cmcp__curl_xfer *x, CURLcode rc) {
  hreq *r = (hreq *)x;
  int goes_on = 0;
  r->in_curl = 0;
  if (!r->abandoned) {
    r->busy++;
    goes_on = ended(r, rc);
    r->busy--;
  }
  if (r->abandoned && r->waiting) {
    uv_timer_stop(&r->timer);
    r->waiting = 0;
    goes_on = 0;
  }
  if (r->abandoned && r->auth_wait) {
    cmcp__oauth_cancel(r->h->oauth, r);
    r->auth_wait = 0;
    goes_on = 0;
  }
  if (!goes_on || r->abandoned)
    finish(r);
}

static void on_resume(uv_timer_t *t) {
  hreq *r = t->data;
  r->waiting = 0;
  if (r->abandoned) {
    finish(r);
    return;
  }
  r->kind = K_GET;
  if (start(r) != 0) {
    r->busy++;
    fail(r, CMCP_EIO, 0, "cannot resume the stream");
    r->busy--;
    finish(r);
  }
}

/* Waits the server's retry, then GETs the stream again with
 * Last-Event-ID: "If the client wishes to resume after a disconnection
 * ... it SHOULD issue an HTTP GET to the MCP endpoint, and include the
 * Last-Event-ID header". */
static void schedule_resume(hreq *r) {
  uint64_t ms =
      r->sse.retry_ms >= 0 ? (uint64_t)r->sse.retry_ms : RETRY_DEFAULT_MS;
  r->reconnects++;
  r->waiting = 1;
  uv_timer_start(&r->timer, on_resume, ms, 0);
}

static void on_auth(void *data, int status, const char *detail) {
  hreq *r = data;
  char why[DETAIL_MAX];
  r->auth_wait = 0;
  if (r->abandoned) {
    finish(r);
    return;
  }
  if (status == 0 && start(r) == 0)
    return;
  snprintf(why, sizeof why, "authorization failed: %s",
           detail != NULL && *detail != '\0' ? detail : cmcp_strerror(status));
  r->busy++;
  fail(r, CMCP_EPROTO, status == 0 ? 0 : 401, why);
  r->busy--;
  finish(r);
}

/* The Authorization header for the next attempt, if any. */
static int add_auth(http_t *h, struct curl_slist **list) {
  const char *tok = h->bearer;
  cmcp__buf b;
  int rc;
  if (h->oauth != NULL && cmcp__oauth_token(h->oauth, h->url) != NULL)
    tok = cmcp__oauth_token(h->oauth, h->url);
  if (tok == NULL)
    return 0;
  cmcp__buf_init(&b, HEADER_MAX);
  rc = cmcp__buf_printf(&b, "Bearer %s", tok);
  if (rc == 0)
    rc = add_line(list, "Authorization", b.data);
  cmcp__buf_free(&b);
  return rc;
}

/* The header list of this attempt: the request's own, then the token and,
 * for a resume, Last-Event-ID. */
static int attempt_headers(hreq *r) {
  struct curl_slist *s;
  curl_slist_free_all(r->sent);
  r->sent = NULL;
  for (s = r->hdrs; s != NULL; s = s->next) {
    struct curl_slist *n = curl_slist_append(r->sent, s->data);
    if (n == NULL)
      return CMCP_ENOMEM;
    r->sent = n;
  }
  if (r->kind == K_GET && r->sse.last_id[0] != '\0' &&
      add_line(&r->sent, "Last-Event-ID", r->sse.last_id) != 0)
    return CMCP_ENOMEM;
  return add_auth(r->h, &r->sent);
}

/* Sets every option of r's easy handle for its next attempt. */
static int setup(hreq *r) {
  CURL *e = r->x.easy;
  static const char *const method[] = {"", "POST", "GET", "DELETE"};
  int bad = 0;
  curl_easy_reset(e);
  bad |= curl_easy_setopt(e, CURLOPT_URL, r->h->url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "cmcp/" CMCP_VERSION_STRING) !=
         CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                          (long)CONNECT_TIMEOUT_MS) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->sent) != CURLE_OK;
  if (r->kind == K_POST) {
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)r->body_len) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK;
  } else if (r->kind == K_DELETE) {
    bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method[K_DELETE]) !=
           CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)DELETE_TIMEOUT_MS) !=
           CURLE_OK;
  } else {
    bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
  }
  return bad ? CMCP_EINVAL : 0;
}

/* Starts r's next attempt (the first, a resume or a retry with a new
 * token). 0 or a status. */
static int start(hreq *r) {
  int rc;
  r->ctype = CT_NONE;
  r->mode = M_UNSET;
  r->err[0] = '\0';
  cmcp__buf_reset(&r->resp);
  if ((rc = attempt_headers(r)) != 0 || (rc = setup(r)) != 0)
    return rc;
  if ((rc = cmcp__curl_add(r->h->cl, &r->x)) != 0)
    return rc;
  r->in_curl = 1;
  return 0;
}

/* A new hreq, linked in. NULL on ENOMEM. */
static hreq *req_new(http_t *h, int kind) {
  hreq *r = cmcp__calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  if ((r->x.easy = cmcp__curl_easy(h->cl)) == NULL) {
    cmcp__free(r);
    return NULL;
  }
  r->h = h;
  r->kind = kind;
  r->x.done = on_done;
  r->x.release = on_release;
  cmcp__buf_init(&r->resp, h->max_message);
  cmcp__ssep_init(&r->sse, h->max_message);
  uv_timer_init(h->base.loop, &r->timer);
  r->timer.data = r;
  r->next = h->reqs;
  if (h->reqs != NULL)
    h->reqs->prev = r;
  h->reqs = r;
  h->live++;
  return r;
}

/* The headers every request of the session carries. */
static int common_headers(http_t *h, hreq *r, const char *accept,
                          const char *protocol) {
  int rc = add_line(&r->hdrs, "Accept", accept);
  if (rc == 0 && r->kind == K_POST)
    rc = add_line(&r->hdrs, "Content-Type", "application/json");
  if (rc == 0 && protocol != NULL)
    rc = add_line(&r->hdrs, "MCP-Protocol-Version", protocol);
  if (rc == 0 && h->session_id != NULL && !is_modern(protocol))
    rc = add_line(&r->hdrs, "Mcp-Session-Id", h->session_id);
  if (rc == 0)
    rc = add_lines(&r->hdrs, (const char *const *)h->headers);
  if (rc == 0) { /* no "Expect: 100-continue" round trip for big bodies */
    struct curl_slist *s = curl_slist_append(r->hdrs, "Expect:");
    if (s == NULL)
      rc = CMCP_ENOMEM;
    else
      r->hdrs = s;
  }
  return rc;
}

/* The headers of one POST. */
static int post_headers(http_t *h, hreq *r, const cmcp__csend *info) {
  int rc = common_headers(h, r, "application/json, text/event-stream",
                          info->protocol);
  if (rc == 0 && r->modern && info->method != NULL)
    rc = add_line(&r->hdrs, "Mcp-Method", info->method);
  if (rc == 0 && r->modern && info->name != NULL)
    rc = add_name(&r->hdrs, info->name);
  if (rc == 0)
    rc = add_lines(&r->hdrs, info->headers);
  return rc;
}

/* Remembers the protocol version for the GET and DELETE requests. */
static int note_protocol(http_t *h, const char *protocol) {
  char *p;
  if (protocol == NULL || (h->protocol && strcmp(h->protocol, protocol) == 0))
    return 0;
  if ((p = cmcp__strdup(protocol)) == NULL)
    return CMCP_ENOMEM;
  cmcp__free(h->protocol);
  h->protocol = p;
  return 0;
}

/* ---- the vtable ---------------------------------------------------------- */

static int ht_open(cmcp__ctransport *t) {
  http_t *h = (http_t *)t;
  if (h->cl == NULL && (h->cl = cmcp__curl_loop_get(t->loop)) == NULL)
    return CMCP_ENOMEM;
  return 0;
}

static int ht_send(cmcp__ctransport *t, const char *json, size_t len,
                   const cmcp__csend *info) {
  http_t *h = (http_t *)t;
  hreq *r;
  int rc = CMCP_ENOMEM;
  if (h->closing || h->cl == NULL)
    return CMCP_ECLOSED;
  if (h->live >= MAX_LIVE)
    return CMCP_ELIMIT;
  if (note_protocol(h, info->protocol) != 0 || (r = req_new(h, K_POST)) == NULL)
    return CMCP_ENOMEM;
  /* A new initialize starts a new session: the old id must not go with
   * it. */
  if (info->method != NULL && strcmp(info->method, "initialize") == 0) {
    cmcp__free(h->session_id);
    h->session_id = NULL;
  }
  r->id = info->id;
  r->has_id = info->has_id && info->method != NULL;
  r->modern = is_modern(info->protocol);
  if ((r->body = cmcp__strndup(json, len)) == NULL)
    goto fail;
  r->body_len = len;
  if ((rc = post_headers(h, r, info)) != 0 || (rc = start(r)) != 0)
    goto fail;
  return 0;
fail:
  finish(r);
  return rc;
}

static int ht_open_stream(cmcp__ctransport *t) {
  http_t *h = (http_t *)t;
  hreq *r;
  int rc;
  if (h->closing || h->cl == NULL)
    return CMCP_ECLOSED;
  if (is_modern(h->protocol))
    return CMCP_EUNSUPPORTED; /* "Removal of the GET stream endpoint." */
  for (r = h->reqs; r != NULL; r = r->next)
    if (r->standalone && !r->abandoned)
      return 0; /* one is enough */
  if ((r = req_new(h, K_GET)) == NULL)
    return CMCP_ENOMEM;
  r->standalone = 1;
  if ((rc = common_headers(h, r, "text/event-stream", h->protocol)) != 0 ||
      (rc = start(r)) != 0) {
    finish(r);
    return rc;
  }
  return 0;
}

static void ht_abandon(cmcp__ctransport *t, int64_t id) {
  http_t *h = (http_t *)t;
  hreq *r, *next;
  for (r = h->reqs; r != NULL; r = next) {
    next = r->next;
    if (r->has_id && r->id == id && !r->abandoned)
      abandon_req(r);
  }
}

static const char *ht_session_id(cmcp__ctransport *t) {
  return ((http_t *)t)->session_id;
}

/* Ends a legacy session: "Clients that no longer need a particular
 * session ... SHOULD send an HTTP DELETE to the MCP endpoint with the
 * Mcp-Session-Id header". The answer (405 included) does not matter. */
static void send_delete(http_t *h) {
  hreq *r;
  if (h->session_id == NULL || h->cl == NULL || is_modern(h->protocol))
    return;
  if ((r = req_new(h, K_DELETE)) == NULL)
    return;
  if (common_headers(h, r, "application/json, text/event-stream",
                     h->protocol) != 0 ||
      start(r) != 0)
    finish(r);
}

static void free_http(http_t *h) {
  cmcp__strv_free(h->headers);
  cmcp__free(h->url);
  cmcp__free(h->bearer);
  cmcp__free(h->session_id);
  cmcp__free(h->protocol);
  cmcp__free(h);
}

/* Nothing of the transport is left on the loop: the engine may go. */
static void on_curl_gone(void *data) {
  http_t *h = data;
  if (h->done != NULL)
    h->done(&h->base);
  free_http(h);
}

static void on_http_closed(uv_handle_t *hd) {
  http_t *h = hd->data;
  cmcp__curl_loop *cl = h->cl;
  h->cl = NULL;
  cmcp__curl_loop_put_then(cl, on_curl_gone, h);
}

static void ht_close(cmcp__ctransport *t, void (*done)(cmcp__ctransport *t)) {
  http_t *h = (http_t *)t;
  hreq *r, *next;
  if (h->closing)
    return;
  h->closing = 1;
  h->done = done;
  h->timer.data = h;
  for (r = h->reqs; r != NULL; r = next) {
    next = r->next;
    abandon_req(r);
  }
  send_delete(h);
  if (h->live == 0 && !h->ended) {
    h->ended = 1;
    uv_close((uv_handle_t *)&h->timer, on_http_closed);
  }
}

static const cmcp__ctransport_vtbl http_vtbl = {
    ht_open, ht_send, ht_open_stream, ht_abandon, ht_session_id, ht_close};

cmcp__ctransport *cmcp__ctransport_http(cmcp_client_t *cli, uv_loop_t *loop,
                                        const char *url,
                                        const char *const *headers,
                                        const char *bearer, cmcp_oauth_t *oauth,
                                        size_t max_message,
                                        int max_reconnects) {
  http_t *h = cmcp__calloc(1, sizeof *h);
  int rc = 0;
  if (h == NULL)
    return NULL;
  h->base.vt = &http_vtbl;
  h->base.cli = cli;
  h->base.loop = loop;
  h->oauth = oauth;
  h->max_message = max_message > 0 ? max_message : ((size_t)4 << 20);
  h->max_reconnects = max_reconnects > 0 ? max_reconnects : 0;
  if (url == NULL || (h->url = cmcp__strdup(url)) == NULL ||
      (bearer != NULL && (h->bearer = cmcp__strdup(bearer)) == NULL) ||
      ((h->headers = cmcp__strv_dup(headers, &rc)) == NULL && rc != 0))
    goto fail;
  uv_timer_init(loop, &h->timer);
  h->timer.data = h;
  return &h->base;
fail:
  free_http(h);
  return NULL;
}
