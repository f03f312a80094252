/* Unit tests for src/transport/http*: a real server on 127.0.0.1 (port 0)
 * driven by blocking clients on a helper thread, plus the socket-free
 * connection core driven directly (allocation failures). Every wait is
 * bounded: sockets time out after 3 s, a watchdog ends a case after 15 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "transport/http_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the harness: loop + server on the main thread, client on another -- */

typedef struct harness harness;
typedef void (*client_fn)(harness *h);

struct harness {
  uv_loop_t loop;
  cmcp__http_server *srv;
  int port;
  uv_async_t done;
  uv_async_t drain; /* client asks the server to close now */
  uv_timer_t watchdog;
  client_fn client;
  int fail_line; /* first failed CHECK in the client, 0 if none */
  char fail_msg[512];
  int server_closed;
  int watchdog_fired;
  /* what the handler saw and did */
  int aborts;
  int elimit;
  int bad_header_rc;
  int requests;
  cmcp__http_stats stats;
};

#define CHECK(h, cond)                                                         \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if ((h)->fail_line == 0) {                                               \
        (h)->fail_line = __LINE__;                                             \
        snprintf((h)->fail_msg, sizeof((h)->fail_msg), "%s", #cond);           \
      }                                                                        \
      return;                                                                  \
    }                                                                          \
  } while (0)

static uint64_t now_ms(void) {
  return cmcp__now_ms();
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* -- a delayed answer, cancelled if the connection goes first ------------- */
typedef struct delayed {
  uv_timer_t timer;
  cmcp__http_request *req;
  harness *h;
  int streaming; /* the slow-consumer writer */
  unsigned writes;
} delayed;

static void on_delayed_closed(uv_handle_t *t) {
  free(t->data);
}

static void delayed_abort(cmcp__http_request *req, void *data) {
  delayed *d = data;
  (void)req;
  d->h->aborts++;
  d->req = NULL;
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, on_delayed_closed);
}

static void on_delayed(uv_timer_t *t) {
  delayed *d = t->data;
  const char *q = cmcp__http_request_query(d->req);
  cmcp__http_respond(d->req, 200, NULL, 0, q, strlen(q));
  d->req = NULL;
  uv_close((uv_handle_t *)t, on_delayed_closed);
}

/* Writes 64 KiB every 2 ms until the outbound bound refuses, then drops
 * the connection as a slow consumer. */
static void on_slow_write(uv_timer_t *t) {
  static char block[64 * 1024];
  delayed *d = t->data;
  int rc;
  memset(block, 'x', sizeof(block));
  rc = cmcp__http_stream_write(d->req, block, sizeof(block));
  if (rc == CMCP_ELIMIT || ++d->writes > 500) {
    if (rc == CMCP_ELIMIT)
      d->h->elimit++;
    cmcp__http_request_abort(d->req);
    d->req = NULL;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, on_delayed_closed);
  }
}

static void answer_later(harness *h, cmcp__http_request *req, unsigned ms,
                         uv_timer_cb cb, unsigned repeat) {
  delayed *d = calloc(1, sizeof(*d));
  d->req = req;
  d->h = h;
  uv_timer_init(&h->loop, &d->timer);
  d->timer.data = d;
  cmcp__http_request_on_abort(req, delayed_abort, d);
  uv_timer_start(&d->timer, cb, ms, repeat);
}

static void answer_echo(cmcp__http_request *req) {
  char count[16], method[16], query[64];
  const char *v = cmcp__http_request_header_nth(req, "x-rep", 1);
  size_t n = 0, len;
  const char *body = cmcp__http_request_body(req, &len);
  cmcp__http_header hs[4];
  while (cmcp__http_request_header_nth(req, "X-REP", n) != NULL)
    n++;
  snprintf(count, sizeof(count), "%zu", n);
  snprintf(method, sizeof(method), "%s", cmcp__http_request_method(req));
  snprintf(query, sizeof(query), "%s", cmcp__http_request_query(req));
  hs[0] = (cmcp__http_header){"X-Rep-Count", count};
  hs[1] = (cmcp__http_header){"X-Rep-1", v != NULL ? v : "-"};
  hs[2] = (cmcp__http_header){"X-Method", method};
  hs[3] = (cmcp__http_header){"X-Query", query};
  cmcp__http_respond(req, 200, hs, 4, body, len);
}

static void answer_stream(cmcp__http_request *req) {
  cmcp__http_header ct = {"Content-Type", "text/event-stream"};
  cmcp__http_stream_begin(req, 200, &ct, 1);
  cmcp__http_stream_write(req, "data: 1\n\n", 9);
  cmcp__http_stream_write(req, "data: 2\n\n", 9);
  cmcp__http_stream_write(req, "", 0);
  cmcp__http_stream_write(req, "data: 3\n\n", 9);
  cmcp__http_stream_end(req);
}

static void answer_bad_header(harness *h, cmcp__http_request *req) {
  cmcp__http_header split = {"X-Split", "a\r\nInjected: 1"};
  cmcp__http_header framing = {"Content-Length", "3"};
  cmcp__http_header badname = {"X Space", "1"};
  int rc = cmcp__http_respond(req, 200, &split, 1, "x", 1);
  if (rc == CMCP_EINVAL)
    rc = cmcp__http_respond(req, 200, &framing, 1, "x", 1);
  if (rc == CMCP_EINVAL)
    rc = cmcp__http_respond(req, 200, &badname, 1, "x", 1);
  if (rc == CMCP_EINVAL)
    rc = cmcp__http_respond(req, 99, NULL, 0, NULL, 0);
  if (rc == CMCP_EINVAL)
    rc = cmcp__http_stream_write(req, "x", 1) == CMCP_ESTATE &&
                 cmcp__http_stream_end(req) == CMCP_ESTATE
             ? CMCP_EINVAL
             : 0;
  h->bad_header_rc = rc;
  /* while streaming, the handle stays valid and a second answer is refused */
  cmcp__http_stream_begin(req, 500, NULL, 0);
  if (cmcp__http_respond(req, 200, NULL, 0, NULL, 0) != CMCP_ESTATE ||
      cmcp__http_stream_begin(req, 200, NULL, 0) != CMCP_ESTATE)
    h->bad_header_rc = 0;
  cmcp__http_stream_write(req, "refused", 7);
  cmcp__http_stream_end(req);
}

static void handler(cmcp__http_request *req, void *data) {
  harness *h = data;
  const char *path = cmcp__http_request_path(req);
  h->requests++;
  if (strcmp(path, "/hello") == 0) {
    cmcp__http_header ct = {"Content-Type", "text/plain"};
    cmcp__http_respond(req, 200, &ct, 1, "hello", 5);
  } else if (strcmp(path, "/echo") == 0) {
    answer_echo(req);
  } else if (strcmp(path, "/delay") == 0) {
    answer_later(h, req, (unsigned)atoi(cmcp__http_request_query(req) + 3),
                 on_delayed, 0);
  } else if (strcmp(path, "/stream") == 0) {
    answer_stream(req);
  } else if (strcmp(path, "/slow") == 0) {
    cmcp__http_stream_begin(req, 200, NULL, 0);
    answer_later(h, req, 1, on_slow_write, 2);
  } else if (strcmp(path, "/bad-header") == 0) {
    answer_bad_header(h, req);
  } else if (strcmp(path, "/big") == 0) {
    static char big[256 * 1024];
    memset(big, 'x', sizeof(big));
    cmcp__http_respond(req, 200, NULL, 0, big, sizeof(big));
  } else if (strcmp(path, "/nobody") == 0) {
    cmcp__http_respond(req, 204, NULL, 0, NULL, 0);
  } else if (strcmp(path, "/close") == 0) {
    cmcp__http_header cl = {"Connection", "close"};
    cmcp__http_respond(req, 200, &cl, 1, "bye", 3);
  } else {
    cmcp__http_respond(req, 404, NULL, 0, "no", 2);
  }
}

static void on_server_closed(cmcp__http_server *srv, void *data) {
  (void)srv;
  ((harness *)data)->server_closed = 1;
}

static void finish_loop(harness *h) {
  if (h->srv != NULL) {
    cmcp__http_server_stats(h->srv, &h->stats);
    cmcp__http_server_close(h->srv, on_server_closed, h);
    h->srv = NULL;
  }
  if (!uv_is_closing((uv_handle_t *)&h->done)) {
    uv_close((uv_handle_t *)&h->done, NULL);
    uv_close((uv_handle_t *)&h->drain, NULL);
    uv_close((uv_handle_t *)&h->watchdog, NULL);
  }
}

static void on_done(uv_async_t *a) {
  finish_loop(a->data);
}

static void on_drain_now(uv_async_t *a) {
  harness *h = a->data;
  if (h->srv != NULL) {
    cmcp__http_server_close(h->srv, on_server_closed, h);
    h->srv = NULL;
  }
}

static void on_watchdog(uv_timer_t *t) {
  harness *h = t->data;
  h->watchdog_fired = 1;
  finish_loop(h);
}

static void *client_main(void *arg) {
  harness *h = arg;
  h->client(h);
  uv_async_send(&h->done);
  return NULL;
}

/* Runs client against a fresh server with cfg, then closes everything. */
static void run_case(harness *h, const cmcp__http_config *cfg, client_fn fn) {
  pthread_t th;
  memset(h, 0, sizeof(*h));
  assert_int_equal(uv_loop_init(&h->loop), 0);
  h->srv = cmcp__http_server_new(&h->loop, cfg, handler, h);
  assert_non_null(h->srv);
  assert_int_equal(cmcp__http_server_listen(h->srv, "127.0.0.1", 0, 1), 0);
  h->port = cmcp__http_server_port(h->srv);
  assert_true(h->port > 0);
  h->client = fn;
  uv_async_init(&h->loop, &h->done, on_done);
  uv_async_init(&h->loop, &h->drain, on_drain_now);
  uv_timer_init(&h->loop, &h->watchdog);
  h->done.data = h->drain.data = h->watchdog.data = h;
  uv_timer_start(&h->watchdog, on_watchdog, 15000, 0);
  assert_int_equal(pthread_create(&th, NULL, client_main, h), 0);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  if (h->fail_line != 0)
    fail_msg("client check failed at line %d: %s", h->fail_line, h->fail_msg);
  assert_false(h->watchdog_fired);
  assert_true(h->server_closed);
}

static cmcp__http_config test_config(void) {
  cmcp__http_config cfg;
  cmcp__http_config_init(&cfg);
  cfg.max_header_bytes = 4096;
  cfg.max_header_count = 20;
  cfg.max_body_bytes = 1024;
  cfg.header_timeout_ms = 200;
  cfg.body_timeout_ms = 200;
  cfg.idle_timeout_ms = 300;
  cfg.drain_timeout_ms = 2000;
  cfg.max_outbound_bytes = 256 * 1024;
  return cfg;
}

/* ---- a blocking client -------------------------------------------------- */

typedef struct cli {
  int fd;
  int head_only; /* the next response answers HEAD: no body */
  size_t len;
  char buf[1 << 16];
} cli;

typedef struct resp {
  int status;
  char head[4096];
  char body[8192];
  size_t blen;
} resp;

static int cli_open(cli *c, int port, int rcvbuf) {
  struct sockaddr_in sa;
  struct timeval tv = {3, 0};
  c->len = 0;
  c->head_only = 0;
  c->buf[0] = '\0';
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0)
    return -1;
  if (rcvbuf > 0)
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int cli_send(cli *c, const char *s) {
  size_t n = strlen(s), off = 0;
  while (off < n) {
    ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    off += (size_t)w;
  }
  return 0;
}

/* Reads more bytes; 0 on EOF, -1 on error or timeout. */
static int cli_fill(cli *c) {
  ssize_t n;
  if (c->len >= sizeof(c->buf) - 1)
    return -1;
  n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
  if (n <= 0)
    return n == 0 ? 0 : -1;
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  return 1;
}

static void cli_consume(cli *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
  c->buf[c->len] = '\0';
}

/* Value of header name in a response head, or NULL. */
static const char *resp_header(const resp *r, const char *name, char *out,
                               size_t cap) {
  const char *p = strstr(r->head, "\r\n");
  size_t nl = strlen(name);
  while (p != NULL && p[2] != '\0') {
    p += 2;
    if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1, *e = strstr(v, "\r\n");
      while (*v == ' ')
        v++;
      snprintf(out, cap, "%.*s", (int)(e - v), v);
      return out;
    }
    p = strstr(p, "\r\n");
  }
  return NULL;
}

/* Decodes a chunked body from c's buffer; 0 once the last chunk came. */
static int cli_dechunk(cli *c, size_t *pos, resp *r) {
  for (;;) {
    char *end = strstr(c->buf + *pos, "\r\n");
    size_t size;
    if (end == NULL)
      return 1;
    size = strtoul(c->buf + *pos, NULL, 16);
    if (size == 0) {
      if (strstr(end + 2, "\r\n") == NULL && end[2] != '\r')
        return 1;
      if (end[2] == '\r' && end[3] == '\n') {
        *pos = (size_t)(end + 4 - c->buf);
        return 0;
      }
      return 1;
    }
    if ((size_t)(end + 2 - c->buf) + size + 2 > c->len)
      return 1;
    if (r->blen + size < sizeof(r->body)) {
      memcpy(r->body + r->blen, end + 2, size);
      r->blen += size;
    }
    *pos = (size_t)(end + 2 - c->buf) + size + 2;
  }
}

/* Reads one whole response (Content-Length or chunked, or to EOF). */
static int cli_response(cli *c, resp *r) {
  char v[64], *eoh;
  size_t hl, pos;
  long cl = -1;
  int chunked;
  memset(r, 0, sizeof(*r));
  while ((eoh = strstr(c->buf, "\r\n\r\n")) == NULL)
    if (cli_fill(c) <= 0)
      return -1;
  hl = (size_t)(eoh + 4 - c->buf);
  if (hl >= sizeof(r->head))
    return -1;
  memcpy(r->head, c->buf, hl);
  r->head[hl] = '\0';
  r->status = atoi(r->head + 9);
  chunked = resp_header(r, "Transfer-Encoding", v, sizeof(v)) != NULL;
  if (resp_header(r, "Content-Length", v, sizeof(v)) != NULL)
    cl = atol(v);
  if (r->status == 100 || r->status == 204 || r->status == 304 || c->head_only)
    cl = 0;
  c->head_only = 0;
  if (chunked) {
    pos = hl;
    while (cli_dechunk(c, &pos, r) != 0) {
      r->blen = 0;
      pos = hl;
      if (cli_fill(c) <= 0)
        return -1;
    }
    cli_consume(c, pos);
    return 0;
  }
  while (cl >= 0 && c->len < hl + (size_t)cl)
    if (cli_fill(c) <= 0)
      return -1;
  while (cl < 0 && cli_fill(c) > 0)
    ;
  r->blen = cl >= 0 ? (size_t)cl : c->len - hl;
  if (r->blen >= sizeof(r->body))
    return -1;
  memcpy(r->body, c->buf + hl, r->blen);
  cli_consume(c, hl + r->blen);
  return 0;
}

/* 1 when the server closed the connection (EOF or reset) within 3 s. */
static int cli_closed(cli *c) {
  char tmp[4096];
  int i;
  for (i = 0; i < 1000; i++) {
    ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return 1;
    if (n < 0)
      return 0;
  }
  return 0;
}

static int body_is(const resp *r, const char *s) {
  return r->blen == strlen(s) && memcmp(r->body, s, r->blen) == 0;
}

/* ---- cases: clients ----------------------------------------------------- */

static void c_simple_get(harness *h) {
  cli c;
  resp r;
  char v[64];
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, r.status == 200);
  CHECK(h, body_is(&r, "hello"));
  CHECK(h, resp_header(&r, "Content-Length", v, sizeof(v)) && !strcmp(v, "5"));
  CHECK(h, resp_header(&r, "Date", v, sizeof(v)) != NULL);
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) == NULL);
  close(c.fd);
}

static void c_keep_alive(harness *h) {
  cli c;
  resp r;
  int i;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  for (i = 0; i < 3; i++) {
    CHECK(h, cli_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(h, cli_response(&c, &r) == 0);
    CHECK(h, r.status == 200 && body_is(&r, "hello"));
  }
  close(c.fd);
}

static void c_pipelined_out_of_order(harness *h) {
  cli c;
  resp r;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /delay?ms=150 HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /delay?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /delay?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && body_is(&r, "ms=150"));
  CHECK(h, cli_response(&c, &r) == 0 && body_is(&r, "ms=50"));
  CHECK(h, cli_response(&c, &r) == 0 && body_is(&r, "ms=0"));
  close(c.fd);
}

static void c_pipeline_bound(harness *h) {
  cli c;
  resp r;
  char all[1024] = "", one[64];
  int i;
  for (i = 0; i < 6; i++) {
    snprintf(one, sizeof(one), "GET /delay?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n",
             30 - i);
    strcat(all, one);
  }
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, all) == 0);
  for (i = 0; i < 6; i++) {
    snprintf(one, sizeof(one), "ms=%d", 30 - i);
    CHECK(h, cli_response(&c, &r) == 0 && body_is(&r, one));
  }
  close(c.fd);
}

static void c_chunked_body(harness *h) {
  cli c;
  resp r;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
                        "X-Trailer: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, r.status == 200 && body_is(&r, "hello world"));
  /* the connection lives on */
  CHECK(h, cli_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  close(c.fd);
}

/* Sends raw, expects status with Connection: close, then the close. */
static void expect_error(harness *h, const char *raw, int status) {
  cli c;
  resp r;
  char v[64];
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, raw) == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  if (r.status != status)
    fprintf(stderr, "for %.40s: got %d, want %d\n", raw, r.status, status);
  CHECK(h, r.status == status);
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) && !strcmp(v, "close"));
  CHECK(h, cli_closed(&c));
  close(c.fd);
}

static void c_body_too_large(harness *h) {
  char big[1500];
  char raw[2048];
  memset(big, 'b', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  expect_error(
      h, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n", 413);
  snprintf(
      raw, sizeof(raw),
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5dc\r\n%s\r\n0\r\n\r\n",
      big);
  expect_error(h, raw, 413);
  /* the body arrives anyway: it is read and dropped (lingering close), so
   * the client gets its 413 instead of a reset */
  {
    static char huge[200 * 1024 + 64];
    int n =
        snprintf(huge, sizeof(huge),
                 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
                 200 * 1024);
    memset(huge + n, 'z', 200 * 1024);
    huge[n + 200 * 1024] = '\0';
    expect_error(h, huge, 413);
  }
}

static void c_too_many_headers(harness *h) {
  char raw[4096] = "GET /hello HTTP/1.1\r\nHost: t\r\n", line[32];
  int i;
  for (i = 0; i < 200; i++) {
    snprintf(line, sizeof(line), "X-%d: v\r\n", i);
    strcat(raw, line);
  }
  strcat(raw, "\r\n");
  expect_error(h, raw, 431);
}

static void c_headers_too_big(harness *h) {
  static char raw[8192];
  memset(raw, 0, sizeof(raw));
  strcpy(raw, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
  memset(raw + strlen(raw), 'a', 5000);
  strcat(raw, "\r\n\r\n");
  expect_error(h, raw, 431);
  /* whitespace padding counts too, even though it is never stored */
  memset(raw, 0, sizeof(raw));
  strcpy(raw, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad:");
  memset(raw + strlen(raw), ' ', 5000);
  strcat(raw, "v\r\n\r\n");
  expect_error(h, raw, 431);
}

static void c_smuggling(harness *h) {
  expect_error(h,
               "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               400);
  expect_error(h, "GET /hello HTTP/1.1\nHost: x\n\n", 400);
  expect_error(h, "GET /hello HTTP/1.1\r\nHost: t\r\n\n", 400);
  expect_error(h, "GET /hello HTTP/1.1\r\nHost: t\r\nHost : x\r\n\r\n", 400);
  expect_error(h, "GET /hello HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400);
  expect_error(h,
               "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
               "Content-Length: 2\r\n\r\nab",
               400);
  expect_error(h, "GARBAGE\r\n\r\n", 400);
  expect_error(h, "GET /hello HTTP/1.1\r\n\r\n", 400); /* no Host */
  expect_error(h, "GET /hello HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
  expect_error(h, "CONNECT x:443 HTTP/1.1\r\nHost: t\r\n\r\n", 501);
  expect_error(h,
               "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n"
               "Content-Length: 1\r\n\r\nx",
               417);
}

static void c_stream(harness *h) {
  cli c;
  resp r;
  char v[64];
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, r.status == 200);
  CHECK(h, resp_header(&r, "Transfer-Encoding", v, sizeof(v)) &&
               !strcmp(v, "chunked"));
  CHECK(h, body_is(&r, "data: 1\n\ndata: 2\n\ndata: 3\n\n"));
  /* HTTP/1.0 has no chunked framing: the body runs to the close */
  close(c.fd);
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /stream HTTP/1.0\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, resp_header(&r, "Transfer-Encoding", v, sizeof(v)) == NULL);
  CHECK(h, body_is(&r, "data: 1\n\ndata: 2\n\ndata: 3\n\n"));
  close(c.fd);
}

static void c_async(harness *h) {
  cli c;
  resp r;
  uint64_t t0 = now_ms();
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /delay?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, r.status == 200 && body_is(&r, "ms=100"));
  CHECK(h, now_ms() - t0 >= 90);
  close(c.fd);
  /* a client that leaves before the answer: the owner hears of it */
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /delay?ms=2000 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  sleep_ms(50);
  close(c.fd);
  for (int i = 0; i < 100 && h->aborts == 0; i++)
    sleep_ms(10);
  CHECK(h, h->aborts == 1);
}

static void c_slow_consumer(harness *h) {
  cli c;
  int i;
  CHECK(h, cli_open(&c, h->port, 4096) == 0);
  CHECK(h, cli_send(&c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  for (i = 0; i < 500 && h->elimit == 0; i++)
    sleep_ms(10);
  CHECK(h, h->elimit == 1);
  CHECK(h, cli_closed(&c));
  close(c.fd);
}

static void c_slowloris(harness *h) {
  const char *req =
      "GET /hello HTTP/1.1\r\nHost: t\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "\r\n\r\n";
  cli c;
  resp r;
  uint64_t t0 = now_ms();
  size_t i;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  for (i = 0; i < strlen(req); i++) {
    char one[2] = {req[i], 0};
    char peek;
    if (cli_send(&c, one) != 0)
      break;
    sleep_ms(20);
    if (now_ms() - t0 > 1500 ||
        recv(c.fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
      break; /* cut (or answered) */
  }
  CHECK(h, i < strlen(req)); /* the whole head (1.5 s) was never needed */
  CHECK(h, cli_response(&c, &r) == 0);
  CHECK(h, r.status == 408);
  CHECK(h, now_ms() - t0 < 1000);
  CHECK(h, cli_closed(&c));
  close(c.fd);
  /* a connection that never sends a byte is cut at the same deadline */
  t0 = now_ms();
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_closed(&c));
  if (now_ms() - t0 >= 1000)
    fprintf(stderr, "silent connection cut after %llu ms\n",
            (unsigned long long)(now_ms() - t0));
  CHECK(h, now_ms() - t0 < 1000);
  close(c.fd);
}

static void c_max_connections(harness *h) {
  cli a, b, x;
  resp r;
  char v[64];
  CHECK(h, cli_open(&a, h->port, 0) == 0);
  CHECK(h, cli_send(&a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&a, &r) == 0 && r.status == 200);
  CHECK(h, cli_open(&b, h->port, 0) == 0);
  CHECK(h, cli_send(&b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&b, &r) == 0 && r.status == 200);
  CHECK(h, cli_open(&x, h->port, 0) == 0);
  CHECK(h, cli_response(&x, &r) == 0);
  CHECK(h, r.status == 503);
  CHECK(h, resp_header(&r, "Retry-After", v, sizeof(v)) != NULL);
  CHECK(h, cli_closed(&x));
  close(x.fd);
  /* once one leaves there is room again */
  close(a.fd);
  sleep_ms(100);
  CHECK(h, cli_open(&x, h->port, 0) == 0);
  CHECK(h, cli_send(&x, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&x, &r) == 0 && r.status == 200);
  close(x.fd);
  close(b.fd);
}

static void c_versions_and_close(harness *h) {
  cli c;
  resp r;
  char v[64];
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /hello HTTP/1.0\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) && !strcmp(v, "close"));
  CHECK(h, cli_closed(&c));
  close(c.fd);
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(
               &c,
               "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n"
               "\r\nGET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) &&
               !strcmp(v, "keep-alive"));
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) && !strcmp(v, "close"));
  CHECK(h, cli_closed(&c)); /* the third request is never read */
  close(c.fd);
  /* the handler can close too */
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && body_is(&r, "bye"));
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) && !strcmp(v, "close"));
  CHECK(h, cli_closed(&c));
  close(c.fd);
}

static void c_expect_continue(harness *h) {
  cli c;
  resp r;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c,
                    "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 5\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 100);
  CHECK(h, cli_send(&c, "hello") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, body_is(&r, "hello"));
  close(c.fd);
}

static void c_headers_and_query(harness *h) {
  cli c;
  resp r;
  char v[64];
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h,
        cli_send(&c,
                 "PUT /echo?a=1&b=2 HTTP/1.1\r\nHost: t\r\nX-Rep: one  \r\n"
                 "x-rep:two\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n"
                 "GET http://example.org/echo?abs=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                 "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /nobody HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "X-Rep-Count", v, sizeof(v)) && !strcmp(v, "2"));
  CHECK(h, resp_header(&r, "X-Rep-1", v, sizeof(v)) && !strcmp(v, "two"));
  CHECK(h, resp_header(&r, "X-Method", v, sizeof(v)) && !strcmp(v, "PUT"));
  CHECK(h, resp_header(&r, "X-Query", v, sizeof(v)) && !strcmp(v, "a=1&b=2"));
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "X-Query", v, sizeof(v)) && !strcmp(v, "abs=1"));
  /* HEAD: the length of the body, not the body */
  c.head_only = 1;
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, resp_header(&r, "Content-Length", v, sizeof(v)) && !strcmp(v, "5"));
  CHECK(h, strncmp(c.buf, "HTTP/1.1 204", 12) == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 204);
  CHECK(h, resp_header(&r, "Content-Length", v, sizeof(v)) == NULL);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 404);
  close(c.fd);
}

static void c_bad_response_headers(harness *h) {
  cli c;
  resp r;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 500);
  CHECK(h, body_is(&r, "refused"));
  CHECK(h, strstr(r.head, "Injected") == NULL);
  close(c.fd);
}

static void c_idle_timeout(harness *h) {
  cli c;
  resp r;
  uint64_t t0;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  t0 = now_ms();
  CHECK(h, cli_closed(&c));
  CHECK(h, now_ms() - t0 >= 250 && now_ms() - t0 < 2000);
  close(c.fd);
}

static void c_drain(harness *h) {
  cli c, idle;
  resp r;
  char v[64];
  CHECK(h, cli_open(&idle, h->port, 0) == 0);
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /delay?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  sleep_ms(50);
  uv_async_send(&h->drain);
  CHECK(h, cli_closed(&idle));
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 200);
  CHECK(h, body_is(&r, "ms=200"));
  CHECK(h, resp_header(&r, "Connection", v, sizeof(v)) && !strcmp(v, "close"));
  CHECK(h, cli_closed(&c));
  close(c.fd);
  close(idle.fd);
}

static void c_body_timeout(harness *h) {
  cli c;
  resp r;
  uint64_t t0 = now_ms();
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(
      h,
      cli_send(
          &c,
          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") ==
          0);
  CHECK(h, cli_response(&c, &r) == 0 && r.status == 408);
  CHECK(h, now_ms() - t0 >= 150 && now_ms() - t0 < 1500);
  CHECK(h, cli_closed(&c));
  close(c.fd);
}

static void c_drain_deadline(harness *h) {
  cli c;
  uint64_t t0;
  int i;
  CHECK(h, cli_open(&c, h->port, 0) == 0);
  CHECK(h, cli_send(&c, "GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  sleep_ms(50);
  t0 = now_ms();
  uv_async_send(&h->drain);
  CHECK(h, cli_closed(&c));
  CHECK(h, now_ms() - t0 >= 250 && now_ms() - t0 < 2000);
  for (i = 0; i < 100 && h->aborts == 0; i++)
    sleep_ms(10);
  CHECK(h, h->aborts == 1);
  close(c.fd);
}

/* A client that pipelines and does not read: the server stops reading
 * requests once the unread answers pass the outbound bound. */
static void c_unread_answers(harness *h) {
  static char all[100 * 32];
  char buf[65536 + 16];
  size_t carry = 0, total = 0, k;
  int i, seen = 0, handled;
  cli c;
  all[0] = '\0';
  for (i = 0; i < 99; i++)
    strcat(all, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  strcat(all, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  CHECK(h, cli_open(&c, h->port, 4096) == 0);
  CHECK(h, cli_send(&c, all) == 0);
  sleep_ms(300);
  handled = h->requests;
  CHECK(h, handled > 0 && handled < 40);
  for (i = 0; i < 20000; i++) {
    ssize_t n = recv(c.fd, buf + carry, sizeof(buf) - 16 - carry, 0);
    if (n <= 0)
      break;
    total += (size_t)n;
    n += (ssize_t)carry;
    for (k = 0; k + 15 <= (size_t)n; k++)
      if (buf[k] == 'H' && memcmp(buf + k, "HTTP/1.1 200 OK", 15) == 0)
        seen++;
    carry = n >= 14 ? 14 : (size_t)n;
    memmove(buf, buf + n - carry, carry);
  }
  CHECK(h, seen == 100);
  CHECK(h, total >= 100u * 256u * 1024u);
  close(c.fd);
}

/* A client that asks for a lot and stops reading: once nothing moves for
 * send_timeout_ms, the server drops it. */
static void c_slow_reader(harness *h) {
  static char all[40 * 40], buf[1 << 16];
  size_t total = 0;
  int i;
  cli c;
  all[0] = '\0';
  for (i = 0; i < 40; i++)
    strcat(all, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(h, cli_open(&c, h->port, 4096) == 0);
  CHECK(h, cli_send(&c, all) == 0);
  sleep_ms(1500); /* not reading */
  for (i = 0; i < 100000; i++) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      CHECK(h, n == 0 || errno == ECONNRESET); /* closed, not timed out */
      break;
    }
    total += (size_t)n;
  }
  CHECK(h, total < 40u * 256u * 1024u);
  close(c.fd);
}

/* ---- cases: cmocka wrappers -------------------------------------------- */

#define CASE(name, client, tweak)                                              \
  static void name(void **state) {                                             \
    harness *h = calloc(1, sizeof(*h));                                        \
    cmcp__http_config cfg = test_config();                                     \
    (void)state;                                                               \
    tweak;                                                                     \
    run_case(h, &cfg, client);                                                 \
    free(h);                                                                   \
  }

CASE(simple_get, c_simple_get, (void)0)
CASE(keep_alive_three_requests, c_keep_alive, (void)0)
CASE(pipelined_answered_in_order, c_pipelined_out_of_order, (void)0)
CASE(pipeline_bound_pauses_reading, c_pipeline_bound, cfg.max_pipelined = 2)
CASE(chunked_request_body, c_chunked_body, (void)0)
CASE(body_over_limit_is_413, c_body_too_large, (void)0)
CASE(too_many_headers_is_431, c_too_many_headers, (void)0)
CASE(headers_over_byte_limit_is_431, c_headers_too_big, (void)0)
CASE(smuggling_and_malformed_are_400, c_smuggling, (void)0)
CASE(streamed_response_in_chunks, c_stream, (void)0)
CASE(async_answer_and_abort, c_async, (void)0)
CASE(slow_consumer_hits_outbound_bound, c_slow_consumer, (void)0)
CASE(slowloris_cut_at_header_timeout, c_slowloris, (void)0)
CASE(max_connections_answers_503, c_max_connections, cfg.max_connections = 2)
CASE(http10_and_connection_close, c_versions_and_close, (void)0)
CASE(expect_100_continue, c_expect_continue, (void)0)
CASE(headers_query_head_and_204, c_headers_and_query, (void)0)
CASE(response_headers_validated, c_bad_response_headers, (void)0)
CASE(idle_keep_alive_times_out, c_idle_timeout, (void)0)
CASE(close_drains_in_flight, c_drain, (void)0)
CASE(body_timeout_is_408, c_body_timeout, (void)0)
CASE(unread_answers_pause_reading, c_unread_answers, (void)0)
CASE(slow_reader_dropped_at_send_timeout, c_slow_reader,
     cfg.send_timeout_ms = 300)
CASE(drain_deadline_aborts_the_rest, c_drain_deadline,
     cfg.drain_timeout_ms = 300)

static void stats_count_what_happened(void **state) {
  harness *h = calloc(1, sizeof(*h));
  cmcp__http_config cfg = test_config();
  (void)state;
  run_case(h, &cfg, c_keep_alive);
  assert_int_equal(h->stats.total_accepted, 1);
  assert_int_equal(h->stats.requests, 3);
  assert_int_equal(h->stats.refused, 0);
  free(h);
  h = calloc(1, sizeof(*h));
  cfg.max_connections = 2;
  run_case(h, &cfg, c_max_connections);
  assert_int_equal(h->stats.refused, 1);
  free(h);
}

static void bad_response_calls_are_refused(void **state) {
  harness *h = calloc(1, sizeof(*h));
  cmcp__http_config cfg = test_config();
  (void)state;
  run_case(h, &cfg, c_bad_response_headers);
  assert_int_equal(h->bad_header_rc, CMCP_EINVAL);
  free(h);
}

static void idle_connection_is_small(void **state) {
  (void)state;
  assert_true(cmcp__http_idle_conn_bytes() < 1024);
}

static void on_closed_flag(cmcp__http_server *srv, void *data) {
  (void)srv;
  *(int *)data = 1;
}

static void noop_handler(cmcp__http_request *req, void *data) {
  (void)data;
  cmcp__http_respond(req, 200, NULL, 0, NULL, 0);
}

static void listen_errors(void **state) {
  uv_loop_t loop;
  cmcp__http_server *srv, *other;
  int closed = 0, fd, port;
  (void)state;
  uv_loop_init(&loop);
  assert_null(cmcp__http_server_new(&loop, NULL, NULL, NULL));
  srv = cmcp__http_server_new(&loop, NULL, noop_handler, NULL);
  assert_non_null(srv);
  assert_int_equal(cmcp__http_server_port(srv), 0);
  assert_int_equal(cmcp__http_server_listen(srv, "not-an-ip", 0, 0),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__http_server_listen(srv, "127.0.0.1", 70000, 0),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__http_server_listen(srv, "127.0.0.1", 0, 1), 0);
  port = cmcp__http_server_port(srv);
  assert_int_equal(cmcp__http_server_listen(srv, "127.0.0.1", 0, 0),
                   CMCP_ESTATE);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(cmcp__http_server_adopt(srv, fd), CMCP_ESTATE);
  /* a second listener on the same port: only with SO_REUSEPORT */
  other = cmcp__http_server_new(&loop, NULL, noop_handler, NULL);
  assert_int_equal(cmcp__http_server_listen(other, "127.0.0.1", port, 0),
                   CMCP_EIO);
  assert_int_equal(cmcp__http_server_listen(other, "127.0.0.1", port, 1), 0);
  assert_int_equal(cmcp__http_server_port(other), port);
  cmcp__http_server_close(other, NULL, NULL);
  cmcp__http_server_close(srv, on_closed_flag, &closed);
  cmcp__http_server_close(srv, on_closed_flag, &closed);
  assert_int_equal(closed, 0); /* never inside the call */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void adopt_an_open_socket(void **state) {
  uv_loop_t loop;
  cmcp__http_server *srv;
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int fd, one = 1;
  (void)state;
  uv_loop_init(&loop);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(fd, 16), 0);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  srv = cmcp__http_server_new(&loop, NULL, noop_handler, NULL);
  assert_int_equal(cmcp__http_server_adopt(srv, fd), 0);
  assert_int_equal(cmcp__http_server_port(srv), ntohs(sa.sin_port));
  cmcp__http_server_close(srv, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- the core without sockets: every allocation failing in turn -------- */

typedef struct fake_sink {
  cmcp__http_conn conn;
  size_t written;
  int finished;
  int reading;
} fake_sink;

static void fk_want_write(cmcp__http_conn *c) {
  (void)c;
}
static void fk_set_reading(cmcp__http_conn *c, int on) {
  ((fake_sink *)(void *)c)->reading = on;
}
static void fk_set_timer(cmcp__http_conn *c, int kind) {
  (void)c;
  (void)kind;
}
static void fk_finish(cmcp__http_conn *c, int graceful) {
  (void)graceful;
  ((fake_sink *)(void *)c)->finished = 1;
  cmcp__http_conn_teardown(c);
}
static const cmcp__http_conn_ops fake_ops = {fk_want_write, fk_set_reading,
                                             fk_set_timer, fk_finish};

static long fail_after = -1; /* allocations left before one fails */

static void *fail_malloc(size_t n) {
  if (fail_after == 0)
    return NULL;
  if (fail_after > 0)
    fail_after--;
  return malloc(n);
}
static void *fail_realloc(void *p, size_t n) {
  if (fail_after == 0)
    return NULL;
  if (fail_after > 0)
    fail_after--;
  return realloc(p, n);
}
static void *fail_calloc(size_t a, size_t b) {
  if (fail_after == 0)
    return NULL;
  if (fail_after > 0)
    fail_after--;
  return calloc(a, b);
}

static void streaming_handler(cmcp__http_request *req, void *data) {
  (void)data;
  if (strcmp(cmcp__http_request_path(req), "/s") == 0) {
    if (cmcp__http_stream_begin(req, 200, NULL, 0) != 0 ||
        cmcp__http_stream_write(req, "abc", 3) != 0 ||
        cmcp__http_stream_end(req) != 0)
      cmcp__http_request_abort(req);
    return;
  }
  if (cmcp__http_respond(req, 200, NULL, 0, "ok", 2) != 0)
    cmcp__http_request_abort(req);
}

/* Feeds one pipelined batch; 1 if every response came out. */
static int core_round(size_t *out) {
  static const char in[] =
      "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\nGET /s HTTP/1.1\r\nHost: t\r\nX: y\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: t\r\n\r\n";
  cmcp__http_ctx ctx;
  fake_sink fs;
  cmcp__http_chunk *list, *ch;
  memset(&ctx, 0, sizeof(ctx));
  cmcp__http_config_init(&ctx.cfg);
  ctx.cfg.max_pipelined = 1;
  ctx.on_request = streaming_handler;
  ctx.ops = &fake_ops;
  memset(&fs, 0, sizeof(fs));
  cmcp__http_conn_init(&fs.conn, &ctx);
  cmcp__http_conn_feed(&fs.conn, in, sizeof(in) - 1);
  cmcp__http_conn_resume(&fs.conn);
  list = cmcp__http_conn_take_output(&fs.conn);
  *out = 0;
  for (ch = list; ch != NULL; ch = ch->next)
    *out += ch->len;
  cmcp__http_conn_written(&fs.conn, *out);
  cmcp__http_chunks_free(list);
  cmcp__http_conn_teardown(&fs.conn);
  return ctx.stats.requests == 3 && !fs.finished;
}

static void core_survives_each_failed_allocation(void **state) {
  size_t full, got;
  long n;
  (void)state;
  assert_true(core_round(&full));
  assert_true(full > 0);
  assert_int_equal(
      cmcp_set_allocator(fail_malloc, fail_realloc, fail_calloc, free), 0);
  for (n = 0; n < 200; n++) {
    fail_after = n;
    if (core_round(&got) && fail_after > 0)
      break; /* n passed the last allocation: the whole round worked */
  }
  fail_after = -1;
  cmcp_set_allocator(malloc, realloc, calloc, free);
  assert_true(n > 5 && n < 200);
  assert_int_equal(got, full);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(simple_get),
      cmocka_unit_test(keep_alive_three_requests),
      cmocka_unit_test(pipelined_answered_in_order),
      cmocka_unit_test(pipeline_bound_pauses_reading),
      cmocka_unit_test(chunked_request_body),
      cmocka_unit_test(body_over_limit_is_413),
      cmocka_unit_test(too_many_headers_is_431),
      cmocka_unit_test(headers_over_byte_limit_is_431),
      cmocka_unit_test(smuggling_and_malformed_are_400),
      cmocka_unit_test(streamed_response_in_chunks),
      cmocka_unit_test(async_answer_and_abort),
      cmocka_unit_test(slow_consumer_hits_outbound_bound),
      cmocka_unit_test(slowloris_cut_at_header_timeout),
      cmocka_unit_test(max_connections_answers_503),
      cmocka_unit_test(http10_and_connection_close),
      cmocka_unit_test(expect_100_continue),
      cmocka_unit_test(headers_query_head_and_204),
      cmocka_unit_test(response_headers_validated),
      cmocka_unit_test(idle_keep_alive_times_out),
      cmocka_unit_test(close_drains_in_flight),
      cmocka_unit_test(body_timeout_is_408),
      cmocka_unit_test(unread_answers_pause_reading),
      cmocka_unit_test(slow_reader_dropped_at_send_timeout),
      cmocka_unit_test(drain_deadline_aborts_the_rest),
      cmocka_unit_test(stats_count_what_happened),
      cmocka_unit_test(bad_response_calls_are_refused),
      cmocka_unit_test(idle_connection_is_small),
      cmocka_unit_test(listen_errors),
      cmocka_unit_test(adopt_an_open_socket),
      cmocka_unit_test(core_survives_each_failed_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
