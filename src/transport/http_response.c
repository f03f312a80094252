/* src/transport/http_response.c: request accessors and response framing
 * (Content-Length for full answers, chunked for streams). */
#include "transport/http_conn.h"
#include "base/stats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- request accessors ------------------------------------------------- */

const char *cmcp__http_request_method(const cmcp__http_request *req) {
  return llhttp_method_name((llhttp_method_t)req->method);
}

const char *cmcp__http_request_path(const cmcp__http_request *req) {
  if (req->head.data == NULL || req->path_off == UINT32_MAX)
    return "/";
  return req->head.data + req->path_off;
}

const char *cmcp__http_request_query(const cmcp__http_request *req) {
  if (req->head.data == NULL || req->query_off == 0)
    return "";
  return req->head.data + req->query_off;
}

int cmcp__http_request_minor(const cmcp__http_request *req) {
  return req->minor;
}

size_t cmcp__http_request_header_count(const cmcp__http_request *req) {
  return req->nheaders;
}

int cmcp__http_request_header_at(const cmcp__http_request *req, size_t i,
                                 const char **name, const char **value) {
  const char *p;
  size_t k;
  if (i >= req->nheaders || req->head.data == NULL)
    return CMCP_ENOENT;
  p = req->head.data + req->names_off;
  for (k = 0; k < i; k++) {
    p += strlen(p) + 1;
    p += strlen(p) + 1;
  }
  *name = p;
  *value = p + strlen(p) + 1;
  return 0;
}

const char *cmcp__http_request_header_nth(const cmcp__http_request *req,
                                          const char *name, size_t nth) {
  const char *n, *v;
  size_t i;
  for (i = 0; cmcp__http_request_header_at(req, i, &n, &v) == 0; i++)
    if (strcasecmp(n, name) == 0 && nth-- == 0)
      return v;
  return NULL;
}

const char *cmcp__http_request_header(const cmcp__http_request *req,
                                      const char *name) {
  return cmcp__http_request_header_nth(req, name, 0);
}

const char *cmcp__http_request_body(const cmcp__http_request *req,
                                    size_t *len) {
  if (len != NULL)
    *len = req->body.len;
  return req->body.data != NULL ? req->body.data : "";
}

void cmcp__http_request_on_abort(cmcp__http_request *req,
                                 cmcp__http_abort_fn fn, void *data) {
  req->on_abort = fn;
  req->abort_data = data;
}

void cmcp__http_request_abort(cmcp__http_request *req) {
  cmcp__http_conn *c = req->conn;
  req->on_abort = NULL;
  if (c->closed)
    return;
  c->finishing = 1;
  c->ctx->ops->finish(c, 0);
}

/* ---- the response head ------------------------------------------------- */

static const struct {
  int status;
  const char *reason;
} http_reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *cmcp__http_reason(int status) {
  size_t i;
  for (i = 0; i < CMCP__ARRAY_SIZE(http_reasons); i++)
    if (http_reasons[i].status == status)
      return http_reasons[i].reason;
  return "Unknown";
}

/* The IMF-fixdate of now (RFC 9110 5.6.7), cached per second and thread. */
static const char *http_date(void) {
  static _Thread_local char buf[80]; /* 29 used; room for any int */
  static _Thread_local time_t last;
  static const char days[] = "SunMonTueWedThuFriSat";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  time_t now = time(NULL);
  struct tm tm;
  if (now == last && buf[0] != '\0')
    return buf;
  if (gmtime_r(&now, &tm) == NULL)
    return "Thu, 01 Jan 1970 00:00:00 GMT";
  snprintf(buf, sizeof(buf), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
           days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  last = now;
  return buf;
}

/* Counts (dst NULL) or writes bytes. */
typedef struct writer {
  char *dst;
  size_t n;
} writer;

static void put(writer *w, const char *s, size_t n) {
  if (w->dst != NULL)
    memcpy(w->dst + w->n, s, n);
  w->n += n;
}

static void puts_(writer *w, const char *s) {
  put(w, s, strlen(s));
}

static int is_tchar(unsigned char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
      (ch >= '0' && ch <= '9'))
    return 1;
  return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Checks the owner's headers: token names, values free of CR, LF and NUL
 * (response splitting), no framing headers. *close is set when one is
 * "Connection: close". */
static int headers_check(const cmcp__http_header *h, size_t n, int *close) {
  size_t i;
  const char *s;
  for (i = 0; i < n; i++) {
    if (h[i].name == NULL || h[i].value == NULL || h[i].name[0] == '\0')
      return CMCP_EINVAL;
    for (s = h[i].name; *s != '\0'; s++)
      if (!is_tchar((unsigned char)*s))
        return CMCP_EINVAL;
    if (strpbrk(h[i].value, "\r\n") != NULL)
      return CMCP_EINVAL;
    if (strcasecmp(h[i].name, "content-length") == 0 ||
        strcasecmp(h[i].name, "transfer-encoding") == 0)
      return CMCP_EINVAL;
    if (strcasecmp(h[i].name, "connection") == 0 &&
        strcasecmp(h[i].value, "close") == 0)
      *close = 1;
  }
  return 0;
}

typedef struct head_spec {
  int status;
  const cmcp__http_header *headers;
  size_t nheaders;
  int stream;    /* chunked (1.1) or close-delimited (1.0) */
  size_t length; /* Content-Length of a full response */
  int no_length; /* 204 / 304: no Content-Length */
  int close;     /* Connection: close */
} head_spec;

/* The status line, Date, the owner's headers and the framing headers. */
static void head_write(writer *w, const struct cmcp__http_request *req,
                       const head_spec *hs) {
  char num[32];
  size_t i;
  snprintf(num, sizeof(num), "HTTP/1.1 %03d ", hs->status);
  puts_(w, num);
  puts_(w, cmcp__http_reason(hs->status));
  puts_(w, "\r\nDate: ");
  puts_(w, http_date());
  puts_(w, "\r\n");
  for (i = 0; i < hs->nheaders; i++) {
    if (strcasecmp(hs->headers[i].name, "connection") == 0)
      continue; /* framed below */
    puts_(w, hs->headers[i].name);
    puts_(w, ": ");
    puts_(w, hs->headers[i].value);
    puts_(w, "\r\n");
  }
  if (hs->stream && req->minor >= 1) {
    puts_(w, "Transfer-Encoding: chunked\r\n");
  } else if (!hs->stream && !hs->no_length) {
    snprintf(num, sizeof(num), "Content-Length: %zu\r\n", hs->length);
    puts_(w, num);
  }
  if (hs->close)
    puts_(w, "Connection: close\r\n");
  else if (req->minor == 0)
    puts_(w, "Connection: keep-alive\r\n");
  puts_(w, "\r\n");
}

/* Builds the head plus body_len more bytes of room; *off gets the head's
 * length. Sets req->close_after when the connection ends after it. */
static int head_build(struct cmcp__http_request *req, head_spec *hs,
                      size_t body_len, cmcp__http_chunk **out, size_t *off) {
  cmcp__http_conn *c = req->conn;
  writer w = {NULL, 0};
  int user_close = 0, rc;
  if (hs->status < 200 || hs->status > 599 ||
      (hs->headers == NULL && hs->nheaders > 0))
    return CMCP_EINVAL;
  rc = headers_check(hs->headers, hs->nheaders, &user_close);
  if (rc != 0)
    return rc;
  hs->close = !req->keep_alive || user_close || c->draining ||
              (hs->stream && req->minor == 0);
  head_write(&w, req, hs);
  *out = cmcp__http_chunk_new(w.n + body_len);
  if (*out == NULL)
    return CMCP_ENOMEM;
  w.dst = (*out)->data;
  w.n = 0;
  head_write(&w, req, hs);
  *off = w.n;
  req->close_after = hs->close ? 1 : 0;
  return 0;
}

/* ---- answering --------------------------------------------------------- */

int cmcp__http_respond(cmcp__http_request *req, int status,
                       const cmcp__http_header *headers, size_t nheaders,
                       const void *body, size_t len) {
  head_spec hs = {status, headers, nheaders, 0, len, 0, 0};
  cmcp__http_chunk *ch;
  size_t off, send;
  int rc;
  if (req == NULL || (body == NULL && len > 0))
    return CMCP_EINVAL;
  if (req->state != CMCP__HTTP_R_PENDING)
    return CMCP_ESTATE;
  hs.no_length = status == 204 || status == 304;
  if (hs.no_length && len > 0)
    return CMCP_EINVAL;
  send = req->head_only ? 0 : len;
  rc = head_build(req, &hs, send, &ch, &off);
  if (rc != 0)
    return rc;
  if (send > 0)
    memcpy(ch->data + off, body, send);
  req->state = CMCP__HTTP_R_DONE;
  cmcp__stats_http_response(status);
  cmcp__http_conn_emit(req->conn, req, ch);
  cmcp__http_conn_advance(req->conn);
  return 0;
}

int cmcp__http_stream_begin(cmcp__http_request *req, int status,
                            const cmcp__http_header *headers, size_t nheaders) {
  head_spec hs = {status, headers, nheaders, 1, 0, 0, 0};
  cmcp__http_chunk *ch;
  size_t off;
  int rc;
  if (req == NULL)
    return CMCP_EINVAL;
  if (req->state != CMCP__HTTP_R_PENDING)
    return CMCP_ESTATE;
  if (status == 204 || status == 304)
    return CMCP_EINVAL;
  rc = head_build(req, &hs, 0, &ch, &off);
  if (rc != 0)
    return rc;
  req->chunked = req->minor >= 1 && !req->head_only;
  req->state = CMCP__HTTP_R_STREAMING;
  cmcp__stats_http_response(status);
  cmcp__stats_count(CMCP__SC_STREAMS_OPENED);
  cmcp__stats_gauge_add(CMCP__SG_STREAMS, 1);
  cmcp__http_conn_emit(req->conn, req, ch);
  return 0;
}

/* 1 if a stream write of need bytes finds the consumer too slow: the bytes
 * not yet sent would pass max_outbound_bytes. A write that does not fit is
 * still taken while less than half the bound is waiting, so that one
 * message larger than the bound reaches a client that reads; what one
 * connection holds stays under half the bound plus one message. */
static int stream_over_bound(const cmcp__http_conn *c, size_t need) {
  size_t waiting = c->out_bytes + c->held_bytes;
  size_t max = c->ctx->cfg.max_outbound_bytes;
  return waiting + need > max && waiting >= max / 2;
}

int cmcp__http_stream_write(cmcp__http_request *req, const void *data,
                            size_t len) {
  cmcp__http_conn *c;
  cmcp__http_chunk *ch;
  char hex[24];
  int hn = 0;
  size_t need;
  if (req == NULL || (data == NULL && len > 0))
    return CMCP_EINVAL;
  if (req->state != CMCP__HTTP_R_STREAMING)
    return CMCP_ESTATE;
  if (len == 0 || req->head_only)
    return 0;
  c = req->conn;
  if (req->chunked)
    hn = snprintf(hex, sizeof(hex), "%zx\r\n", len);
  need = (size_t)hn + len + (req->chunked ? 2 : 0);
  if (stream_over_bound(c, need)) {
    cmcp__stats_refused(CMCP__REFUSE_OUTBOUND_BYTES); /* a slow consumer */
    return CMCP_ELIMIT;
  }
  ch = cmcp__http_chunk_new(need);
  if (ch == NULL)
    return CMCP_ENOMEM;
  memcpy(ch->data, hex, (size_t)hn);
  memcpy(ch->data + hn, data, len);
  if (req->chunked)
    memcpy(ch->data + hn + len, "\r\n", 2);
  cmcp__http_conn_emit(c, req, ch);
  return 0;
}

int cmcp__http_stream_end(cmcp__http_request *req) {
  cmcp__http_chunk *ch;
  if (req == NULL)
    return CMCP_EINVAL;
  if (req->state != CMCP__HTTP_R_STREAMING)
    return CMCP_ESTATE;
  if (req->chunked) {
    ch = cmcp__http_chunk_new(5);
    if (ch == NULL)
      return CMCP_ENOMEM;
    memcpy(ch->data, "0\r\n\r\n", 5);
    cmcp__http_conn_emit(req->conn, req, ch);
  }
  req->state = CMCP__HTTP_R_DONE;
  cmcp__stats_gauge_add(CMCP__SG_STREAMS, -1);
  cmcp__http_conn_advance(req->conn);
  return 0;
}
