#define _GNU_SOURCE
/* tests/unit/test_client_http.c: the one-shot fetch and the Streamable HTTP
 * client transport against real servers on 127.0.0.1: a scripted server
 * on the test's own loop (exact bytes, pauses, cuts, silence) and
 * cmcp-everything from the build directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "client/client_int.h"
#include "client/curl_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- a scripted HTTP server on the test loop ----------------------------- */

/* One piece of a response: bytes written after delay_ms. */
typedef struct piece {
  const char *bytes;
  uint64_t delay_ms;
} piece;

/* What the server does with one request: writes pieces, then closes the
 * connection (hang 0) or keeps it open and silent (hang 1). */
typedef struct script {
  const piece *pieces;
  size_t n;
  int hang;
} script;

#define MAX_CONNS 16
#define REQ_MAX 16384

typedef struct canned canned;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  canned *srv;
  const script *sc;
  size_t next; /* next piece */
  char req[REQ_MAX];
  size_t req_len;
  int answered;
  int open; /* handles not yet closed */
} conn;

struct canned {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  int port;
  const script *scripts; /* one per request in order; the last repeats */
  size_t n_scripts;
  size_t requests;         /* requests seen */
  char last_req[REQ_MAX];  /* the last whole request */
  char first_req[REQ_MAX]; /* the first whole request */
  uint64_t req_time_ms[8];
  conn *conns[MAX_CONNS];
  size_t n_conns;
};

static void conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->open == 0)
    free(c);
}

static void conn_close(conn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
  uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void write_done(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static void next_piece(uv_timer_t *t);

/* Writes the next piece after its delay, then ends as the script says. */
static void schedule(conn *c) {
  if (c->next < c->sc->n) {
    uv_timer_start(&c->timer, next_piece, c->sc->pieces[c->next].delay_ms, 0);
    return;
  }
  if (!c->sc->hang)
    conn_close(c);
}

static void next_piece(uv_timer_t *t) {
  conn *c = t->data;
  const piece *p = &c->sc->pieces[c->next++];
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init((char *)p->bytes, (unsigned)strlen(p->bytes));
  assert_non_null(w);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0)
    free(w);
  schedule(c);
}

/* 1 once req holds a whole request (headers and Content-Length body). */
static int request_complete(const char *req, size_t len) {
  const char *end = strstr(req, "\r\n\r\n"), *cl;
  size_t body = 0;
  if (end == NULL)
    return 0;
  cl = strcasestr(req, "\r\nContent-Length:");
  if (cl != NULL && cl < end)
    body = strtoul(cl + 17, NULL, 10);
  return len >= (size_t)(end + 4 - req) + body;
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  conn *c = h->data;
  (void)hint;
  *b = uv_buf_init(c->req + c->req_len, (unsigned)(REQ_MAX - 1 - c->req_len));
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn *c = s->data;
  canned *srv = c->srv;
  (void)b;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->req_len += (size_t)n;
  c->req[c->req_len] = '\0';
  if (c->answered || !request_complete(c->req, c->req_len))
    return;
  c->answered = 1;
  if (srv->requests < CMCP__ARRAY_SIZE(srv->req_time_ms))
    srv->req_time_ms[srv->requests] = uv_now(srv->loop);
  c->sc = &srv->scripts[srv->requests < srv->n_scripts ? srv->requests
                                                       : srv->n_scripts - 1];
  if (srv->requests == 0)
    memcpy(srv->first_req, c->req, c->req_len + 1);
  memcpy(srv->last_req, c->req, c->req_len + 1);
  srv->requests++;
  schedule(c);
}

static void on_connection(uv_stream_t *s, int status) {
  canned *srv = s->data;
  conn *c;
  assert_int_equal(status, 0);
  c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open = 2;
  assert_int_equal(uv_accept(s, (uv_stream_t *)&c->tcp), 0);
  assert_true(srv->n_conns < MAX_CONNS);
  srv->conns[srv->n_conns++] = c;
  uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

/* Starts a server on a free loopback port. */
static void canned_start(canned *srv, uv_loop_t *loop, const script *scripts,
                         size_t n) {
  struct sockaddr_in a;
  int len = sizeof a;
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->scripts = scripts;
  srv->n_scripts = n;
  uv_ip4_addr("127.0.0.1", 0, &a);
  assert_int_equal(uv_tcp_init(loop, &srv->tcp), 0);
  srv->tcp.data = srv;
  assert_int_equal(uv_tcp_bind(&srv->tcp, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp, 16, on_connection), 0);
  uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&a, &len);
  srv->port = ntohs(a.sin_port);
}

/* Closes the listener and every connection still open. */
static void canned_stop(canned *srv) {
  size_t i;
  for (i = 0; i < srv->n_conns; i++)
    if (!uv_is_closing((uv_handle_t *)&srv->conns[i]->tcp))
      conn_close(srv->conns[i]);
  uv_close((uv_handle_t *)&srv->tcp, NULL);
}

static void canned_url(const canned *srv, char *buf, size_t size) {
  snprintf(buf, size, "http://127.0.0.1:%d/mcp", srv->port);
}

/* Runs loop until *flag is set or limit_ms passes (fails the test). */
static void run_until(uv_loop_t *loop, const int *flag, uint64_t limit_ms) {
  uint64_t start = uv_now(loop);
  while (!*flag) {
    uv_run(loop, UV_RUN_ONCE);
    uv_update_time(loop);
    assert_true(uv_now(loop) - start < limit_ms);
  }
}

/* Closes every handle left on loop and frees its resources. */
static void loop_finish(uv_loop_t *loop) {
  int i;
  for (i = 0; i < 100 && uv_loop_alive(loop); i++)
    uv_run(loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- fetch ------------------------------------------------------------- */

typedef struct fetch_out {
  int done;
  int calls;
  int status;
  long http_status;
  char body[REQ_MAX];
  size_t body_len;
  char www[512], location[512], ctype[128], detail[256];
  int has_www, has_location;
  uint64_t at_ms;
} fetch_out;

static void copy_opt(char *dst, size_t size, const char *src, int *has) {
  if (has != NULL)
    *has = src != NULL;
  snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void on_fetch(void *data, const cmcp__fetch_res *res) {
  fetch_out *o = data;
  o->calls++;
  o->done = 1;
  o->status = res->status;
  o->http_status = res->http_status;
  o->body_len = res->body_len < sizeof o->body - 1 ? res->body_len : 0;
  memcpy(o->body, res->body, o->body_len);
  o->body[o->body_len] = '\0';
  assert_int_equal(res->body[res->body_len], '\0');
  copy_opt(o->www, sizeof o->www, res->www_authenticate, &o->has_www);
  copy_opt(o->location, sizeof o->location, res->location, &o->has_location);
  copy_opt(o->ctype, sizeof o->ctype, res->content_type, NULL);
  copy_opt(o->detail, sizeof o->detail, res->detail, NULL);
}

/* Fetches from a scripted server answering with one piece. */
static void fetch_one(const char *response, int hang, const char *method,
                      const char *body, size_t max_body, uint64_t timeout,
                      fetch_out *o, canned *srv) {
  uv_loop_t loop;
  piece p = {response, 0};
  script sc = {&p, response != NULL, hang};
  const char *hdrs[] = {"X-Test: yes", "Content-Type: application/json", NULL};
  char url[64];
  uv_loop_init(&loop);
  canned_start(srv, &loop, &sc, 1);
  canned_url(srv, url, sizeof url);
  memset(o, 0, sizeof *o);
  assert_int_equal(cmcp__fetch(&loop, method, url, hdrs, body,
                               body != NULL ? strlen(body) : 0, max_body,
                               timeout, on_fetch, o),
                   0);
  assert_int_equal(o->calls, 0); /* never inside the call */
  run_until(&loop, &o->done, 10000);
  canned_stop(srv);
  loop_finish(&loop);
  assert_int_equal(o->calls, 1);
}

static void fetch_status_and_headers(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 401 Unauthorized\r\n"
            "WWW-Authenticate: Bearer resource_metadata=\"http://x/y\"\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
            0, "GET", NULL, 1024, 5000, &o, &srv);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.http_status, 401);
  assert_string_equal(o.www, "Bearer resource_metadata=\"http://x/y\"");
  assert_string_equal(o.ctype, "application/json");
  assert_false(o.has_location);
  assert_string_equal(o.body, "{}");
  assert_string_equal(o.detail, "");
  assert_non_null(strstr(srv.last_req, "GET /mcp HTTP/1.1\r\n"));
  assert_non_null(strstr(srv.last_req, "\r\nX-Test: yes\r\n"));
}

static void fetch_redirect_not_followed(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/cb?code=x\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n",
            0, "GET", NULL, 1024, 5000, &o, &srv);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.http_status, 302);
  assert_string_equal(o.location, "http://127.0.0.1:1/cb?code=x");
  assert_int_equal(srv.requests, 1);
  assert_int_equal(o.body_len, 0);
}

static void fetch_post_body(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
            0, "POST", "{\"grant\":1}", 1024, 5000, &o, &srv);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.http_status, 200);
  assert_string_equal(o.body, "{\"ok\":true}");
  assert_non_null(strstr(srv.last_req, "POST /mcp HTTP/1.1\r\n"));
  assert_non_null(strstr(srv.last_req, "\r\n\r\n{\"grant\":1}"));
  assert_non_null(strstr(srv.last_req, "Content-Type: application/json\r\n"));
}

static void fetch_body_over_limit(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n"
            "\r\n0123456789012345678901234567890123456789",
            0, "GET", NULL, 16, 5000, &o, &srv);
  assert_int_equal(o.status, CMCP_ELIMIT);
  assert_int_equal(o.http_status, 200);
  assert_string_equal(o.detail, "response body too large");
}

static void fetch_body_at_limit(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n"
            "\r\n0123456789abcdef",
            0, "GET", NULL, 16, 5000, &o, &srv);
  assert_int_equal(o.status, 0);
  assert_string_equal(o.body, "0123456789abcdef");
}

static void fetch_timeout(void **state) {
  canned srv;
  fetch_out o;
  uint64_t t0 = uv_hrtime();
  (void)state;
  fetch_one(NULL, 1, "GET", NULL, 1024, 300, &o, &srv);
  assert_int_equal(o.status, CMCP_ETIMEDOUT);
  assert_int_equal(o.http_status, 0);
  assert_true(o.detail[0] != '\0');
  assert_true((uv_hrtime() - t0) / 1000000 >= 290);
  assert_int_equal(srv.requests, 1);
}

static void fetch_truncated_body(void **state) {
  canned srv;
  fetch_out o;
  (void)state;
  fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 0, "GET",
            NULL, 1024, 5000, &o, &srv);
  assert_int_equal(o.status, CMCP_EIO);
  assert_true(o.detail[0] != '\0');
}

static void fetch_connection_refused(void **state) {
  uv_loop_t loop;
  uv_tcp_t t;
  struct sockaddr_in a;
  int len = sizeof a;
  char url[64];
  fetch_out o;
  (void)state;
  /* A port that was just free: bound, then closed. */
  uv_loop_init(&loop);
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&loop, &t);
  assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&a, 0), 0);
  uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
  memset(&o, 0, sizeof o);
  assert_int_equal(
      cmcp__fetch(&loop, "GET", url, NULL, NULL, 0, 64, 5000, on_fetch, &o), 0);
  run_until(&loop, &o.done, 10000);
  loop_finish(&loop);
  assert_int_equal(o.status, CMCP_EIO);
  assert_int_equal(o.http_status, 0);
  assert_true(o.detail[0] != '\0');
}

static void fetch_bad_arguments(void **state) {
  uv_loop_t loop;
  fetch_out o;
  (void)state;
  uv_loop_init(&loop);
  memset(&o, 0, sizeof o);
  assert_int_equal(cmcp__fetch(&loop, "PUT", "http://127.0.0.1:1/", NULL, NULL,
                               0, 64, 100, on_fetch, &o),
                   CMCP_EINVAL);
  assert_int_equal(
      cmcp__fetch(&loop, "GET", NULL, NULL, NULL, 0, 64, 100, on_fetch, &o),
      CMCP_EINVAL);
  assert_int_equal(cmcp__fetch(&loop, "GET", "http://127.0.0.1:1/", NULL, NULL,
                               0, 0, 100, on_fetch, &o),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__fetch(&loop, "POST", "http://127.0.0.1:1/", NULL, NULL,
                               5, 64, 100, on_fetch, &o),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__fetch(NULL, "GET", "http://127.0.0.1:1/", NULL, NULL,
                               0, 64, 100, on_fetch, &o),
                   CMCP_EINVAL);
  loop_finish(&loop);
  assert_int_equal(o.calls, 0);
}

/* Several fetches at once on one loop share one curl loop; a new fetch
 * started from a fetch's callback works (the OAuth client chains them). */
typedef struct chain {
  uv_loop_t *loop;
  char url[64];
  int left;
  int done;
  fetch_out outs[4];
  int n;
} chain;

static void on_chain(void *data, const cmcp__fetch_res *res) {
  chain *c = data;
  on_fetch(&c->outs[c->n++], res);
  if (--c->left > 0)
    assert_int_equal(cmcp__fetch(c->loop, "GET", c->url, NULL, NULL, 0, 64,
                                 5000, on_chain, c),
                     0);
  else
    c->done = 1;
}

static void fetch_chained_and_parallel(void **state) {
  uv_loop_t loop;
  canned srv;
  piece p = {"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 0};
  script sc = {&p, 1, 0};
  chain c;
  fetch_out a, b;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, &sc, 1);
  memset(&c, 0, sizeof c);
  c.loop = &loop;
  c.left = 3;
  canned_url(&srv, c.url, sizeof c.url);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  assert_int_equal(
      cmcp__fetch(&loop, "GET", c.url, NULL, NULL, 0, 64, 5000, on_chain, &c),
      0);
  assert_int_equal(
      cmcp__fetch(&loop, "GET", c.url, NULL, NULL, 0, 64, 5000, on_fetch, &a),
      0);
  assert_int_equal(
      cmcp__fetch(&loop, "GET", c.url, NULL, NULL, 0, 64, 5000, on_fetch, &b),
      0);
  run_until(&loop, &c.done, 10000);
  run_until(&loop, &a.done, 10000);
  run_until(&loop, &b.done, 10000);
  canned_stop(&srv);
  loop_finish(&loop);
  assert_int_equal(c.n, 3);
  assert_int_equal(c.outs[2].http_status, 204);
  assert_int_equal(a.http_status, 204);
  assert_int_equal(b.http_status, 204);
  assert_int_equal(srv.requests, 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fetch_status_and_headers),
      cmocka_unit_test(fetch_redirect_not_followed),
      cmocka_unit_test(fetch_post_body),
      cmocka_unit_test(fetch_body_over_limit),
      cmocka_unit_test(fetch_body_at_limit),
      cmocka_unit_test(fetch_timeout),
      cmocka_unit_test(fetch_truncated_body),
      cmocka_unit_test(fetch_connection_refused),
      cmocka_unit_test(fetch_bad_arguments),
      cmocka_unit_test(fetch_chained_and_parallel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
