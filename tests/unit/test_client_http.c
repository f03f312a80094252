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
#include "cmcp/client.h"
#include "helper_alloc.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
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

#define MAX_CONNS 2048
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
  int open;    /* handles not yet closed */
  char id[24]; /* the JSON-RPC id of the request ("" when none) */
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
  char reqs[8][REQ_MAX / 4]; /* the start of each request */
  char last_id[24];          /* the id of the last request that had one */
  size_t eofs;               /* connections the client closed */
  conn *conns[MAX_CONNS];
  size_t n_conns;
};

static void conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  c->open--; /* the memory goes in canned_stop */
}

static void conn_close(conn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
  uv_close((uv_handle_t *)&c->timer, conn_closed);
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

/* A write request with its own copy of the bytes. */
typedef struct wreq {
  uv_write_t w;
  char bytes[];
} wreq;

static void wreq_done(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

/* Writes p's bytes with "%ID%" replaced by the request's id. */
static void next_piece(uv_timer_t *t) {
  conn *c = t->data;
  const piece *p = &c->sc->pieces[c->next++];
  const char *at = strstr(p->bytes, "%ID%");
  size_t n = strlen(p->bytes), k = at != NULL ? (size_t)(at - p->bytes) : n;
  wreq *w = malloc(sizeof *w + n + sizeof c->id);
  uv_buf_t b;
  assert_non_null(w);
  memcpy(w->bytes, p->bytes, k);
  if (at != NULL) {
    memcpy(w->bytes + k, c->id, strlen(c->id));
    memcpy(w->bytes + k + strlen(c->id), at + 4, n - k - 4);
    n = n - 4 + strlen(c->id);
  }
  b = uv_buf_init(w->bytes, (unsigned)n);
  if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, wreq_done) != 0)
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

/* The integer id of the request body in req, or "". */
static void find_id(const char *req, char *out, size_t size) {
  const char *body = strstr(req, "\r\n\r\n"), *p;
  size_t n = 0;
  out[0] = '\0';
  if (body == NULL || (p = strstr(body, "\"id\":")) == NULL)
    return;
  for (p += 5; (p[n] >= '0' && p[n] <= '9') && n + 1 < size; n++)
    out[n] = p[n];
  out[n] = '\0';
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
    srv->eofs++;
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
  if (srv->requests < 8)
    snprintf(srv->reqs[srv->requests], sizeof srv->reqs[0], "%.4000s", c->req);
  find_id(c->req, c->id, sizeof c->id);
  if (c->id[0] != '\0')
    snprintf(srv->last_id, sizeof srv->last_id, "%s", c->id);
  else
    snprintf(c->id, sizeof c->id, "%s", srv->last_id);
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

/* Closes the listener and every connection still open, and frees them. */
static void canned_stop(canned *srv) {
  size_t i;
  int k;
  for (i = 0; i < srv->n_conns; i++)
    conn_close(srv->conns[i]);
  uv_close((uv_handle_t *)&srv->tcp, NULL);
  for (i = 0; i < srv->n_conns; i++) {
    for (k = 0; k < 1000 && srv->conns[i]->open > 0; k++)
      uv_run(srv->loop, UV_RUN_NOWAIT);
    assert_int_equal(srv->conns[i]->open, 0);
    free(srv->conns[i]);
  }
  srv->n_conns = 0;
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

static void on_guard(uv_timer_t *t) {
  *(int *)t->data = 1;
}

/* Runs loop until nothing is left on it (at most 15 s: the closing DELETE
 * of a legacy session may take a while on a busy machine), then closes it. */
static void loop_finish(uv_loop_t *loop) {
  uv_timer_t guard;
  int expired = 0;
  uv_timer_init(loop, &guard);
  guard.data = &expired;
  uv_timer_start(&guard, on_guard, 15000, 0);
  uv_unref((uv_handle_t *)&guard);
  while (uv_loop_alive(loop) && !expired)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
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

/* Failing each allocation of a fetch in turn: either cmcp__fetch refuses
 * at once (its callback never runs) or the callback runs exactly once,
 * never a transfer that waits forever. */
static void fetch_allocation_failures(void **state) {
  static const piece p = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          "Connection: close\r\n\r\nok",
                          0};
  static const script sc = {&p, 1, 0};
  uv_loop_t loop;
  canned srv;
  char url[64];
  long n;
  int ok = 0;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, &sc, 1);
  canned_url(&srv, url, sizeof url);
  alloc_fail_install();
  for (n = 1; n < 200 && !ok; n++) {
    fetch_out o;
    int rc;
    memset(&o, 0, sizeof o);
    alloc_fail_arm(n);
    rc = cmcp__fetch(&loop, "GET", url, NULL, NULL, 0, 64, 5000, on_fetch, &o);
    if (rc != 0) {
      assert_int_equal(rc, CMCP_ENOMEM);
      uv_run(&loop, UV_RUN_NOWAIT);
      assert_int_equal(o.calls, 0);
      continue;
    }
    run_until(&loop, &o.done, 10000);
    assert_int_equal(o.calls, 1);
    assert_true(o.status == 0 || o.status == CMCP_ENOMEM);
    ok = o.status == 0 && alloc_fail_count() < n;
    if (o.status == 0)
      assert_string_equal(o.body, "ok");
  }
  alloc_fail_uninstall();
  assert_true(ok);
  canned_stop(&srv);
  loop_finish(&loop);
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

/* ---- a TCP proxy on the test loop (to cut a stream from outside) -------- */

#define PROXY_PAIRS 64

typedef struct proxy proxy;

/* One client connection and its upstream twin. */
typedef struct pair {
  uv_tcp_t down, up;
  uv_connect_t connecting;
  proxy *px;
  char head[8]; /* the first bytes from the client ("GET ", "POST") */
  size_t head_len;
  char pending[REQ_MAX]; /* client bytes before upstream is connected */
  size_t pending_len;
  int up_ready;
  int closed;
  int open;
  char rbuf_down[65536], rbuf_up[65536];
} pair;

struct proxy {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  int port, target;
  pair *pairs[PROXY_PAIRS];
  size_t n;
  size_t gets;           /* GET requests seen */
  size_t gets_with_last; /* ... carrying Last-Event-ID */
  char last_event_id[64];
  /* Cut the POST connection after this text came down it once. */
  const char *cut_post_after;
  int cut_done;
};

static void pair_closed(uv_handle_t *h) {
  pair *p = h->data;
  p->open--; /* the memory goes in proxy_stop */
}

static void pair_close(pair *p) {
  if (p->closed)
    return;
  p->closed = 1;
  uv_close((uv_handle_t *)&p->down, pair_closed);
  uv_close((uv_handle_t *)&p->up, pair_closed);
}

static void px_write_done(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

/* Copies n bytes to stream s. */
static void px_send(uv_stream_t *s, const char *bytes, size_t n) {
  wreq *w = malloc(sizeof *w + n);
  uv_buf_t b;
  assert_non_null(w);
  memcpy(w->bytes, bytes, n);
  b = uv_buf_init(w->bytes, (unsigned)n);
  if (uv_write(&w->w, s, &b, 1, px_write_done) != 0)
    free(w);
}

static void px_alloc_down(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  pair *p = h->data;
  (void)hint;
  *b = uv_buf_init(p->rbuf_down, sizeof p->rbuf_down);
}

static void px_alloc_up(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  pair *p = h->data;
  (void)hint;
  *b = uv_buf_init(p->rbuf_up, sizeof p->rbuf_up);
}

/* Notes what a request from the client is. */
static void px_inspect(pair *p, const char *bytes, size_t n) {
  proxy *px = p->px;
  const char *l;
  char text[REQ_MAX];
  size_t k = n < sizeof text - 1 ? n : sizeof text - 1;
  memcpy(text, bytes, k);
  text[k] = '\0';
  if (strncmp(text, "GET ", 4) != 0)
    return;
  px->gets++;
  if ((l = strcasestr(text, "\r\nLast-Event-ID: ")) != NULL) {
    px->gets_with_last++;
    sscanf(l + 17, "%63[^\r]", px->last_event_id);
  }
}

static void px_read_down(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pair *p = s->data;
  if (n < 0) {
    pair_close(p);
    return;
  }
  /* connections are reused: each request start says what it is now */
  if ((n >= 4 && memcmp(b->base, "GET ", 4) == 0) ||
      (n >= 5 && memcmp(b->base, "POST ", 5) == 0) ||
      (n >= 7 && memcmp(b->base, "DELETE ", 7) == 0)) {
    p->head_len = (size_t)n < sizeof p->head ? (size_t)n : sizeof p->head;
    memcpy(p->head, b->base, p->head_len);
  }
  px_inspect(p, b->base, (size_t)n);
  if (p->up_ready) {
    px_send((uv_stream_t *)&p->up, b->base, (size_t)n);
    return;
  }
  assert_true(p->pending_len + (size_t)n <= sizeof p->pending);
  memcpy(p->pending + p->pending_len, b->base, (size_t)n);
  p->pending_len += (size_t)n;
}

static void px_read_up(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pair *p = s->data;
  proxy *px = p->px;
  if (n < 0) {
    pair_close(p);
    return;
  }
  px_send((uv_stream_t *)&p->down, b->base, (size_t)n);
  if (px->cut_post_after != NULL && !px->cut_done &&
      strncmp(p->head, "POST", 4) == 0 &&
      memmem(b->base, (size_t)n, px->cut_post_after,
             strlen(px->cut_post_after)) != NULL) {
    px->cut_done = 1;
    pair_close(p); /* the stream is cut after what was just passed on */
  }
}

static void px_connected(uv_connect_t *c, int status) {
  pair *p = c->data;
  if (status != 0 || p->closed) {
    pair_close(p);
    return;
  }
  p->up_ready = 1;
  if (p->pending_len > 0)
    px_send((uv_stream_t *)&p->up, p->pending, p->pending_len);
  uv_read_start((uv_stream_t *)&p->up, px_alloc_up, px_read_up);
}

static void px_accept(uv_stream_t *s, int status) {
  proxy *px = s->data;
  struct sockaddr_in a;
  pair *p = calloc(1, sizeof *p);
  assert_int_equal(status, 0);
  assert_non_null(p);
  p->px = px;
  p->open = 2;
  uv_tcp_init(px->loop, &p->down);
  uv_tcp_init(px->loop, &p->up);
  p->down.data = p->up.data = p->connecting.data = p;
  assert_int_equal(uv_accept(s, (uv_stream_t *)&p->down), 0);
  assert_true(px->n < PROXY_PAIRS);
  px->pairs[px->n++] = p;
  uv_ip4_addr("127.0.0.1", px->target, &a);
  assert_int_equal(uv_tcp_connect(&p->connecting, &p->up, (struct sockaddr *)&a,
                                  px_connected),
                   0);
  uv_read_start((uv_stream_t *)&p->down, px_alloc_down, px_read_down);
}

static void proxy_start(proxy *px, uv_loop_t *loop, int target) {
  struct sockaddr_in a;
  int len = sizeof a;
  memset(px, 0, sizeof *px);
  px->loop = loop;
  px->target = target;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(loop, &px->tcp);
  px->tcp.data = px;
  assert_int_equal(uv_tcp_bind(&px->tcp, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&px->tcp, 64, px_accept), 0);
  uv_tcp_getsockname(&px->tcp, (struct sockaddr *)&a, &len);
  px->port = ntohs(a.sin_port);
}

/* Cuts every open connection that carries a GET. */
static size_t proxy_cut_gets(proxy *px) {
  size_t i, cut = 0;
  for (i = 0; i < px->n; i++)
    if (!px->pairs[i]->closed && strncmp(px->pairs[i]->head, "GET ", 4) == 0) {
      pair_close(px->pairs[i]);
      cut++;
    }
  return cut;
}

static void proxy_stop(proxy *px) {
  size_t i;
  int k;
  for (i = 0; i < px->n; i++)
    pair_close(px->pairs[i]);
  uv_close((uv_handle_t *)&px->tcp, NULL);
  for (i = 0; i < px->n; i++) {
    for (k = 0; k < 1000 && px->pairs[i]->open > 0; k++)
      uv_run(px->loop, UV_RUN_NOWAIT);
    assert_int_equal(px->pairs[i]->open, 0);
    free(px->pairs[i]);
  }
  px->n = 0;
}

/* ---- cmcp-everything as a child process ---------------------------------- */

typedef struct server {
  pid_t pid;
  int port;
  char log[64];
} server;

/* Starts cmcp-everything --listen 127.0.0.1:0 [extra] and waits for its
 * "listening on" line (in a log file, so the server never blocks on a full
 * pipe). */
static void server_start(server *sv, const char *extra) {
  const char *bin = getenv("CMCP_BIN");
  char path[512], buf[4096];
  int fd, i;
  assert_non_null(bin);
  snprintf(path, sizeof path, "%s/cmcp-everything", bin);
  snprintf(sv->log, sizeof sv->log, "/tmp/cmcp-client-http-XXXXXX");
  fd = mkstemp(sv->log);
  assert_true(fd >= 0);
  sv->pid = fork();
  assert_true(sv->pid >= 0);
  if (sv->pid == 0) {
    dup2(fd, 2);
    execl(path, path, "--listen", "127.0.0.1:0", extra, (char *)NULL);
    _exit(127);
  }
  close(fd);
  sv->port = 0;
  for (i = 0; i < 1000 && sv->port == 0; i++) {
    FILE *f = fopen(sv->log, "r");
    const char *at;
    size_t n = 0;
    if (f != NULL) {
      n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
    }
    buf[n] = '\0';
    if ((at = strstr(buf, "listening on http://127.0.0.1:")) != NULL)
      sv->port = atoi(at + 30);
    else
      usleep(10000);
  }
  assert_true(sv->port > 0);
}

static void server_stop(server *sv) {
  int st = 0, i;
  kill(sv->pid, SIGTERM);
  for (i = 0; i < 500; i++) {
    if (waitpid(sv->pid, &st, WNOHANG) == sv->pid)
      break;
    usleep(10000);
  }
  if (i == 500) {
    kill(sv->pid, SIGKILL);
    waitpid(sv->pid, &st, 0);
  }
  unlink(sv->log);
}

/* ---- clients on the test loop -------------------------------------------- */

typedef struct outcome {
  int done;
  int status;
  char text[1024]; /* the result (or error object) as JSON text */
  char err[256];   /* cmcp_client_last_error() at the time */
} outcome;

static void on_result(cmcp_client_t *cli, int status, json_object *res,
                      void *data) {
  outcome *o = data;
  o->done = 1;
  o->status = status;
  snprintf(o->text, sizeof o->text, "%s",
           res != NULL ? json_object_to_json_string(res) : "");
  snprintf(o->err, sizeof o->err, "%s", cmcp_client_last_error(cli));
}

typedef struct notes {
  int n;
  int progress;
  int updated;
  int messages;
} notes;

static void on_note(cmcp_client_t *cli, const char *method, json_object *params,
                    void *data) {
  notes *n = data;
  (void)cli;
  (void)params;
  n->n++;
  if (strcmp(method, "notifications/progress") == 0)
    n->progress++;
  else if (strcmp(method, "notifications/resources/updated") == 0)
    n->updated++;
  else if (strcmp(method, "notifications/message") == 0)
    n->messages++;
}

/* A client on loop for port, pinned to version (NULL: negotiates),
 * connected. */
static cmcp_client_t *client_connect(uv_loop_t *loop, int port,
                                     const char *version, notes *nt) {
  cmcp_client_t *cli = cmcp_client_new(loop, "test-client-http", "1.0");
  char url[64];
  outcome o;
  assert_non_null(cli);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", port);
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  if (version != NULL)
    assert_int_equal(cmcp_client_set_protocol(cli, version), 0);
  if (nt != NULL)
    assert_int_equal(cmcp_client_on_notification(cli, on_note, nt), 0);
  memset(&o, 0, sizeof o);
  assert_int_equal(cmcp_client_connect(cli, on_result, &o), 0);
  run_until(loop, &o.done, 20000);
  if (o.status != 0)
    fail_msg("connect: %s (%s)", cmcp_strerror(o.status), o.err);
  return cli;
}

/* Calls tool name with arguments and waits for the outcome. */
static void call(uv_loop_t *loop, cmcp_client_t *cli, const char *name,
                 const char *args, unsigned flags, outcome *o) {
  memset(o, 0, sizeof *o);
  assert_int_equal(
      cmcp_client_call_tool(cli, name, args, flags, on_result, o, NULL), 0);
  run_until(loop, &o->done, 20000);
}

static void client_close(uv_loop_t *loop, cmcp_client_t *cli) {
  int i;
  cmcp_client_free(cli);
  for (i = 0; i < 1000; i++)
    uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- the transport against cmcp-everything ------------------------------- */

/* Calls in one era: a plain result, and progress on an SSE answer (or no
 * progress at all when the server answers with JSON). */
static void calls_in_era(const char *version, const char *server_flag,
                         int expect_modern) {
  uv_loop_t loop;
  server sv;
  notes nt;
  outcome o;
  cmcp_client_t *cli;
  memset(&nt, 0, sizeof nt);
  server_start(&sv, server_flag);
  uv_loop_init(&loop);
  cli = client_connect(&loop, sv.port, version, &nt);
  assert_int_equal(cmcp_client_is_modern(cli), expect_modern);
  call(&loop, cli, "test_simple_text", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  assert_non_null(strstr(o.text, "This is a simple text response"));
  call(&loop, cli, "test_tool_with_progress", NULL, CMCP_REQ_PROGRESS, &o);
  assert_int_equal(o.status, 0);
  if (server_flag == NULL)
    assert_int_equal(nt.progress, 3);
  call(&loop, cli, "no_such_tool", NULL, 0, &o);
  assert_true(o.status == CMCP_ERPC || o.status == 0);
  client_close(&loop, cli);
  loop_finish(&loop);
  server_stop(&sv);
}

static void everything_legacy_sse(void **state) {
  (void)state;
  calls_in_era("2025-11-25", NULL, 0);
}

static void everything_legacy_json(void **state) {
  (void)state;
  calls_in_era("2025-11-25", "--json-response", 0);
}

static void everything_modern_sse(void **state) {
  (void)state;
  calls_in_era("2026-07-28", NULL, 1);
}

static void everything_modern_json(void **state) {
  (void)state;
  calls_in_era("2026-07-28", "--json-response", 1);
}

static void everything_negotiates_modern(void **state) {
  (void)state;
  calls_in_era(NULL, NULL, 1);
}

/* Runs the loop until cond(arg) holds or limit_ms passes (fails). */
static void run_for(uv_loop_t *loop, const int *a, int want, uint64_t ms) {
  uint64_t start = uv_now(loop);
  while (*a < want) {
    uv_run(loop, UV_RUN_ONCE);
    uv_update_time(loop);
    if (uv_now(loop) - start >= ms)
      fail_msg("waited %llu ms: have %d, want %d", (unsigned long long)ms, *a,
               want);
  }
}

/* The session's GET stream is cut; the client resumes it with
 * Last-Event-ID after the server's retry (1 s) and the server replays what
 * was sent meanwhile: no event lost, none twice. */
static void everything_get_stream_resumed(void **state) {
  uv_loop_t loop;
  server sv;
  proxy px;
  notes nt;
  outcome o, listen;
  cmcp_client_t *cli;
  uint64_t req = 0;
  (void)state;
  memset(&nt, 0, sizeof nt);
  memset(&listen, 0, sizeof listen);
  server_start(&sv, NULL);
  uv_loop_init(&loop);
  proxy_start(&px, &loop, sv.port);
  cli = client_connect(&loop, px.port, "2025-11-25", &nt);
  memset(&o, 0, sizeof o);
  assert_int_equal(
      cmcp_client_subscribe(cli, "test://watched-resource", on_result, &o), 0);
  run_until(&loop, &o.done, 10000);
  assert_int_equal(o.status, 0);
  assert_int_equal(cmcp_client_listen(cli, NULL, on_result, &listen, &req), 0);
  run_for(&loop, (const int *)&px.gets, 1, 10000);
  call(&loop, cli, "test_update_watched_resource", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  run_for(&loop, &nt.updated, 1, 10000);
  assert_int_equal(proxy_cut_gets(&px), 1);
  /* two updates while the stream is down */
  call(&loop, cli, "test_update_watched_resource", NULL, 0, &o);
  call(&loop, cli, "test_update_watched_resource", NULL, 0, &o);
  run_for(&loop, &nt.updated, 3, 10000);
  assert_int_equal(px.gets, 2);
  assert_int_equal(px.gets_with_last, 1);
  assert_true(px.last_event_id[0] != '\0');
  call(&loop, cli, "test_update_watched_resource", NULL, 0, &o);
  run_for(&loop, &nt.updated, 4, 10000);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(nt.updated, 4);
  assert_false(listen.done);
  client_close(&loop, cli);
  assert_true(listen.done); /* ended with the client */
  proxy_stop(&px);
  loop_finish(&loop);
  server_stop(&sv);
}

/* A POST's SSE answer is cut after the first progress event: the client
 * resumes it with a GET and Last-Event-ID, and gets the rest and the
 * result, each progress event once. */
static void everything_post_stream_resumed(void **state) {
  uv_loop_t loop;
  server sv;
  proxy px;
  notes nt;
  outcome o;
  cmcp_client_t *cli;
  (void)state;
  memset(&nt, 0, sizeof nt);
  server_start(&sv, NULL);
  uv_loop_init(&loop);
  proxy_start(&px, &loop, sv.port);
  cli = client_connect(&loop, px.port, "2025-11-25", &nt);
  px.cut_post_after = "notifications/progress";
  call(&loop, cli, "test_tool_with_progress", NULL, CMCP_REQ_PROGRESS, &o);
  assert_true(px.cut_done);
  assert_int_equal(o.status, 0);
  assert_int_equal(nt.progress, 3);
  assert_int_equal(px.gets_with_last, 1);
  client_close(&loop, cli);
  proxy_stop(&px);
  loop_finish(&loop);
  server_stop(&sv);
}

/* A client on its private loop leaves nothing on it when freed (the
 * engine closes the loop: every handle of the transport and of the shared
 * curl loop must be gone by then). */
static int busy_warnings;

static void count_busy(cmcp_log_level_t level, const char *msg, void *data) {
  (void)level;
  (void)data;
  if (strstr(msg, "still busy") != NULL)
    busy_warnings++;
}

static void everything_private_loop_sync(void **state) {
  server sv;
  cmcp_client_t *cli;
  json_object *res = NULL;
  char url[64];
  const char *versions[] = {"2025-11-25", "2026-07-28"};
  size_t i;
  (void)state;
  server_start(&sv, NULL);
  cmcp_log_set_sink(count_busy, NULL);
  for (i = 0; i < 2; i++) {
    cli = cmcp_client_new(NULL, "t", "1");
    assert_non_null(cli);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", sv.port);
    assert_int_equal(cmcp_client_set_url(cli, url), 0);
    assert_int_equal(cmcp_client_set_protocol(cli, versions[i]), 0);
    assert_int_equal(cmcp_client_connect_sync(cli, &res), 0);
    json_object_put(res);
    assert_int_equal(
        cmcp_client_call_tool_sync(cli, "test_simple_text", NULL, &res), 0);
    assert_non_null(strstr(json_object_to_json_string(res), "simple text"));
    json_object_put(res);
    cmcp_client_free(cli);
  }
  cmcp_log_set_sink(NULL, NULL);
  assert_int_equal(busy_warnings, 0);
  server_stop(&sv);
}

/* A legacy server's request on a POST's SSE stream (sampling) is answered
 * with a POST of its own, and the tool's result follows on the stream. */
static void answer_sampling(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  (void)cli;
  (*(int *)data)++;
  assert_string_equal(cmcp_ask_method(ask), "sampling/createMessage");
  assert_int_equal(
      cmcp_ask_reply(ask, "{\"role\":\"assistant\",\"content\":{\"type\":"
                          "\"text\",\"text\":\"Paris\"},\"model\":\"m\"}"),
      0);
}

static void everything_legacy_sampling(void **state) {
  uv_loop_t loop;
  server sv;
  outcome o, c;
  cmcp_client_t *cli;
  char url[64];
  int asked = 0;
  (void)state;
  server_start(&sv, NULL);
  uv_loop_init(&loop);
  cli = cmcp_client_new(&loop, "t", "1");
  snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", sv.port);
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  assert_int_equal(cmcp_client_on_sampling(cli, answer_sampling, &asked), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  assert_int_equal(c.status, 0);
  call(&loop, cli, "test_sampling", "{\"prompt\":\"Capital of France?\"}", 0,
       &o);
  assert_int_equal(o.status, 0);
  assert_int_equal(asked, 1);
  assert_non_null(strstr(o.text, "Paris"));
  client_close(&loop, cli);
  loop_finish(&loop);
  server_stop(&sv);
}

/* ---- misbehaving servers ------------------------------------------------- */

#define INIT_ANSWER                                                            \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"                      \
  "Mcp-Session-Id: sess-1\r\nConnection: close\r\n\r\n"                        \
  "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":{\"protocolVersion\":"          \
  "\"2025-11-25\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":"   \
  "\"canned\",\"version\":\"1\"}}}"
#define ACCEPTED "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
#define SSE_HEAD                                                               \
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"                     \
  "Connection: close\r\n\r\n"

static const piece p_init[] = {{INIT_ANSWER, 0}};
static const piece p_accepted[] = {{ACCEPTED, 0}};

/* A legacy client of a scripted server whose third request (the one the
 * test makes) gets answer; returns the call's outcome. */
static void canned_call(const piece *answer, size_t n, int hang,
                        int64_t message_limit, uint64_t timeout_ms, outcome *o,
                        canned *srv, notes *nt) {
  uv_loop_t loop;
  script sc[] = {{p_init, 1, 0},
                 {p_accepted, 1, 0},
                 {answer, n, hang},
                 {p_accepted, 1, 0}};
  cmcp_client_t *cli;
  uv_loop_init(&loop);
  canned_start(srv, &loop, sc, 4);
  cli = cmcp_client_new(&loop, "t", "1");
  {
    char url[64];
    outcome c;
    canned_url(srv, url, sizeof url);
    assert_int_equal(cmcp_client_set_url(cli, url), 0);
    assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
    if (message_limit > 0)
      assert_int_equal(cmcp_client_set_limit(
                           cli, CMCP_CLIENT_LIMIT_MESSAGE_BYTES, message_limit),
                       0);
    if (timeout_ms > 0)
      assert_int_equal(cmcp_client_set_timeout(cli, timeout_ms), 0);
    if (nt != NULL)
      assert_int_equal(cmcp_client_on_notification(cli, on_note, nt), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
    run_until(&loop, &c.done, 10000);
    assert_int_equal(c.status, 0);
  }
  call(&loop, cli, "t", NULL, 0, o);
  client_close(&loop, cli);
  canned_stop(srv);
  loop_finish(&loop);
}

static void stream_cut_mid_event(void **state) {
  static const piece ans[] = {
      {SSE_HEAD "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                "message\",\"params\":{\"level\":\"info\",\"data\":1}}\n\n",
       0},
      {"data: {\"jsonrpc\":\"2.0\",\"id\":%ID%,\"resu", 20}};
  canned srv;
  outcome o;
  notes nt;
  (void)state;
  memset(&nt, 0, sizeof nt);
  canned_call(ans, 2, 0, 0, 0, &o, &srv, &nt);
  assert_int_equal(o.status, CMCP_EIO);
  assert_non_null(strstr(o.err, "stream"));
  assert_int_equal(nt.messages, 1); /* the whole event came; the cut one not */
}

static void truncated_json_body(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Content-Length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"res",
       0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EIO);
}

static void huge_event_refused(void **state) {
  static char big[8192];
  static piece ans[1];
  canned srv;
  outcome o;
  int n;
  (void)state;
  n = snprintf(big, sizeof big,
               "%sdata: {\"jsonrpc\":\"2.0\",\"id\":%%ID%%,"
               "\"result\":{\"pad\":\"",
               SSE_HEAD);
  memset(big + n, 'x', 5000);
  snprintf(big + n + 5000, sizeof big - (size_t)n - 5000, "\"}}\n\n");
  ans[0].bytes = big;
  canned_call(ans, 1, 0, 2048, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EPROTO);
  assert_non_null(strstr(o.err, "limit"));
}

static void huge_json_body_refused(void **state) {
  static char big[8192];
  static piece ans[1];
  canned srv;
  outcome o;
  int n;
  (void)state;
  n = snprintf(big, sizeof big,
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%%ID%%,"
               "\"result\":{\"pad\":\"");
  memset(big + n, 'x', 5000);
  snprintf(big + n + 5000, sizeof big - (size_t)n - 5000, "\"}}");
  ans[0].bytes = big;
  canned_call(ans, 1, 0, 2048, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EPROTO);
}

static void status_500_without_body(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EIO);
  assert_non_null(strstr(o.err, "500"));
}

static void status_400_plain_text(void **state) {
  static const piece ans[] = {{"HTTP/1.1 400 Bad Request\r\nContent-Type: "
                               "text/plain\r\nContent-Length: 7\r\n\r\nno way!",
                               0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EPROTO);
  assert_non_null(strstr(o.err, "no way!"));
}

static void error_body_goes_to_engine(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
       "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":"
       "{\"code\":-32602,\"message\":\"bad tool\"}}",
       0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_ERPC);
  assert_non_null(strstr(o.text, "bad tool"));
}

static void unauthorized_without_oauth(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
       "Content-Length: 0\r\n\r\n",
       0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_EPROTO);
  assert_non_null(strstr(o.err, "401"));
}

static void session_expired_404(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_ECLOSED);
}

/* A server that accepts and never answers: the engine's timeout abandons
 * the request, which closes its connection at once. */
static void silent_server_times_out(void **state) {
  canned srv;
  outcome o;
  (void)state;
  canned_call(NULL, 0, 1, 0, 300, &o, &srv, NULL);
  assert_int_equal(o.status, CMCP_ETIMEDOUT);
  assert_true(srv.eofs >= 1);
}

/* The session id is sent on every later request, and DELETE ends the
 * session when the client closes. */
static void session_id_and_delete(void **state) {
  static const piece ans[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
       "{\"content\":[]}}",
       0}};
  canned srv;
  outcome o;
  (void)state;
  canned_call(ans, 1, 0, 0, 0, &o, &srv, NULL);
  assert_int_equal(o.status, 0);
  assert_int_equal(srv.requests, 4);
  assert_null(strstr(srv.reqs[0], "Mcp-Session-Id"));
  assert_non_null(strstr(srv.reqs[1], "\r\nMcp-Session-Id: sess-1\r\n"));
  assert_non_null(strstr(srv.reqs[2], "\r\nMcp-Session-Id: sess-1\r\n"));
  assert_non_null(strstr(srv.reqs[2], "\r\nMCP-Protocol-Version: 2025-11-25"));
  assert_non_null(
      strstr(srv.reqs[2], "\r\nAccept: application/json, text/event-stream"));
  assert_non_null(strstr(srv.reqs[2], "\r\nContent-Type: application/json"));
  assert_null(strstr(srv.reqs[2], "Mcp-Method"));
  assert_int_equal(strncmp(srv.reqs[3], "DELETE /mcp ", 12), 0);
  assert_non_null(strstr(srv.reqs[3], "\r\nMcp-Session-Id: sess-1\r\n"));
}

/* A cut stream that had an event id is resumed with Last-Event-ID after
 * the server's retry, not before. */
static void resume_honours_retry(void **state) {
  static const piece ans[] = {{SSE_HEAD "id: ev-1\nretry: 400\ndata: \n\n", 0}};
  static const piece again[] = {
      {SSE_HEAD "id: ev-2\ndata: {\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
                "{\"content\":[]}}\n\n",
       0}};
  uv_loop_t loop;
  script sc[] = {{p_init, 1, 0},
                 {p_accepted, 1, 0},
                 {ans, 1, 0},
                 {again, 1, 0},
                 {p_accepted, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome o, c;
  char url[64];
  uint64_t gap;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 5);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  call(&loop, cli, "t", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  assert_int_equal(strncmp(srv.reqs[3], "GET /mcp ", 9), 0);
  assert_non_null(strstr(srv.reqs[3], "\r\nLast-Event-ID: ev-1\r\n"));
  assert_non_null(strstr(srv.reqs[3], "\r\nMcp-Session-Id: sess-1\r\n"));
  gap = srv.req_time_ms[3] - srv.req_time_ms[2];
  assert_true(gap >= 395);
  assert_true(gap < 400 + 500);
  client_close(&loop, cli);
  canned_stop(&srv);
  loop_finish(&loop);
}

/* A server that leaves a POST's stream open after the response: the call
 * completes at once and the client closes the stream itself later. */
static void open_stream_after_response_closed(void **state) {
  static const piece ans[] = {
      {SSE_HEAD "data: {\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
                "{\"content\":[]}}\n\n",
       0}};
  uv_loop_t loop;
  script sc[] = {
      {p_init, 1, 0}, {p_accepted, 1, 0}, {ans, 1, 1}, {p_accepted, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome o, c;
  char url[64];
  uint64_t t0;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 4);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  t0 = uv_now(&loop);
  call(&loop, cli, "t", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  assert_true(uv_now(&loop) - t0 < 1500);
  assert_int_equal(srv.eofs, 0);
  run_for(&loop, (const int *)&srv.eofs, 1, 5000);
  assert_true(uv_now(&loop) - t0 >= 1900);
  client_close(&loop, cli);
  canned_stop(&srv);
  loop_finish(&loop);
}

/* A resumption attempt that fails before any answer (the server closes
 * at once) is one reconnect of the limit, not the end of the stream. */
static void failed_resume_attempt_retried(void **state) {
  static const piece first[] = {{SSE_HEAD "id: g1\nretry: 100\ndata: \n\n", 0}};
  static const piece third[] = {
      {SSE_HEAD "id: g2\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                "\"notifications/message\",\"params\":{\"level\":\"info\","
                "\"data\":\"x\"}}\n\n",
       0}};
  uv_loop_t loop;
  script sc[] = {{p_init, 1, 0}, {p_accepted, 1, 0}, {first, 1, 0},
                 {NULL, 0, 0},   {third, 1, 1},      {p_accepted, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome c, listen;
  notes nt;
  char url[64];
  uint64_t req;
  (void)state;
  memset(&nt, 0, sizeof nt);
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 6);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  assert_int_equal(cmcp_client_on_notification(cli, on_note, &nt), 0);
  memset(&c, 0, sizeof c);
  memset(&listen, 0, sizeof listen);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  assert_int_equal(cmcp_client_listen(cli, NULL, on_result, &listen, &req), 0);
  run_for(&loop, &nt.messages, 1, 10000);
  assert_false(listen.done);
  assert_int_equal(srv.requests, 5);
  assert_non_null(strstr(srv.reqs[3], "\r\nLast-Event-ID: g1\r\n"));
  assert_non_null(strstr(srv.reqs[4], "\r\nLast-Event-ID: g1\r\n"));
  client_close(&loop, cli);
  canned_stop(&srv);
  loop_finish(&loop);
}

/* A stream that keeps being cut gives up after the reconnect limit. */
static void resume_gives_up_after_the_limit(void **state) {
  static const piece ans[] = {{SSE_HEAD "id: ev-1\nretry: 10\ndata: \n\n", 0}};
  uv_loop_t loop;
  script sc[] = {{p_init, 1, 0}, {p_accepted, 1, 0}, {ans, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome o, c;
  char url[64];
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 3);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  assert_int_equal(cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_RECONNECTS, 3),
                   0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  call(&loop, cli, "t", NULL, 0, &o);
  assert_int_equal(o.status, CMCP_EIO);
  assert_int_equal(srv.requests, 2 + 1 + 3); /* the POST, then 3 GETs */
  client_close(&loop, cli);
  canned_stop(&srv);
  loop_finish(&loop);
}

/* The 2026-07-28 wire: Mcp-Method, Mcp-Name (base64 when not plain
 * ASCII), the protocol version, no session. */
static void modern_headers(void **state) {
  static const piece disc[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
       "{\"supportedVersions\":[\"2026-07-28\"],\"capabilities\":{\"tools\":{}"
       "},\"resultType\":\"complete\",\"_meta\":{\"io.modelcontextprotocol/"
       "serverInfo\":{\"name\":\"canned\",\"version\":\"1\"}}}}",
       0}};
  static const piece ans[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
       "{\"content\":[],\"resultType\":\"complete\"}}",
       0}};
  uv_loop_t loop;
  script sc[] = {{disc, 1, 0}, {ans, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome o, c;
  char url[64];
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 2);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2026-07-28"), 0);
  assert_int_equal(cmcp_client_add_header(cli, "X-Team", "blue"), 0);
  assert_int_equal(cmcp_client_add_header(cli, "X-Empty", ""), 0);
  assert_int_equal(cmcp_client_set_bearer(cli, "tok-123"), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  if (c.status != 0)
    fail_msg("connect: %s", c.err);
  assert_non_null(strstr(srv.reqs[0], "\r\nMcp-Method: server/discover\r\n"));
  call(&loop, cli, "h\xC3\xA9llo", NULL, 0, &o); /* "héllo" */
  assert_int_equal(o.status, 0);
  assert_non_null(strstr(srv.reqs[1], "\r\nMcp-Method: tools/call\r\n"));
  assert_non_null(strstr(srv.reqs[1], "\r\nMcp-Name: =?base64?aMOpbGxv?=\r\n"));
  assert_non_null(strstr(srv.reqs[1], "\r\nMCP-Protocol-Version: 2026-07-28"));
  assert_non_null(strstr(srv.reqs[1], "\r\nX-Team: blue\r\n"));
  /* an empty value is sent, not dropped */
  assert_non_null(strstr(srv.reqs[1], "\r\nX-Empty:\r\n"));
  assert_non_null(strstr(srv.reqs[1], "\r\nAuthorization: Bearer tok-123\r\n"));
  assert_null(strstr(srv.reqs[1], "Mcp-Session-Id"));
  call(&loop, cli, "plain_name", NULL, 0, &o);
  assert_non_null(strstr(srv.last_req, "\r\nMcp-Name: plain_name\r\n"));
  call(&loop, cli, " padded", NULL, 0, &o);
  assert_non_null(
      strstr(srv.last_req, "\r\nMcp-Name: =?base64?IHBhZGRlZA==?="));
  call(&loop, cli, "=?base64?x?=", NULL, 0, &o);
  assert_non_null(
      strstr(srv.last_req, "\r\nMcp-Name: =?base64?PT9iYXNlNjQ/eD89?="));
  client_close(&loop, cli);
  assert_int_equal(srv.requests, 5); /* no DELETE without a session */
  canned_stop(&srv);
  loop_finish(&loop);
}

/* A server without a GET stream (405): nothing fails, calls go on. */
static void get_stream_405(void **state) {
  static const piece no[] = {
      {"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n", 0}};
  static const piece ans[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
       "{\"content\":[]}}",
       0}};
  uv_loop_t loop;
  script sc[] = {{p_init, 1, 0},
                 {p_accepted, 1, 0},
                 {no, 1, 0},
                 {ans, 1, 0},
                 {p_accepted, 1, 0}};
  canned srv;
  cmcp_client_t *cli;
  outcome o, c, listen;
  char url[64];
  uint64_t req;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 5);
  canned_url(&srv, url, sizeof url);
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  assert_int_equal(cmcp_client_set_protocol(cli, "2025-11-25"), 0);
  memset(&c, 0, sizeof c);
  memset(&listen, 0, sizeof listen);
  assert_int_equal(cmcp_client_connect(cli, on_result, &c), 0);
  run_until(&loop, &c.done, 10000);
  assert_int_equal(cmcp_client_listen(cli, NULL, on_result, &listen, &req), 0);
  run_for(&loop, (const int *)&srv.requests, 3, 10000);
  call(&loop, cli, "t", NULL, 0, &o);
  assert_int_equal(o.status, 0);
  assert_int_equal(strncmp(srv.reqs[2], "GET /mcp ", 9), 0);
  assert_non_null(strstr(srv.reqs[2], "\r\nAccept: text/event-stream\r\n"));
  client_close(&loop, cli);
  canned_stop(&srv);
  loop_finish(&loop);
}

/* Failing each allocation in turn through connect, a call and close over
 * HTTP: every step fails cleanly or succeeds; nothing hangs or leaks. */
static void http_allocation_failures(void **state) {
  static const piece ans[] = {
      {SSE_HEAD "id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":"
                "{\"content\":[]}}\n\n",
       0}};
  /* every request after the handshake gets the call's answer */
  script sc[] = {{p_init, 1, 0}, {p_accepted, 1, 0}, {ans, 1, 0}};
  uv_loop_t loop;
  canned srv;
  char url[64];
  long n;
  int clean = 0;
  (void)state;
  uv_loop_init(&loop);
  canned_start(&srv, &loop, sc, 3);
  canned_url(&srv, url, sizeof url);
  alloc_fail_install();
  for (n = 1; n < 400 && !clean; n++) {
    cmcp_client_t *cli;
    outcome c, o;
    srv.requests = 0; /* each client starts the script over */
    srv.last_id[0] = '\0';
    alloc_fail_arm(n);
    memset(&c, 0, sizeof c);
    memset(&o, 0, sizeof o);
    cli = cmcp_client_new(&loop, "t", "1");
    if (cli == NULL)
      continue;
    if (cmcp_client_set_url(cli, url) != 0 ||
        cmcp_client_set_protocol(cli, "2025-11-25") != 0 ||
        cmcp_client_connect(cli, on_result, &c) != 0) {
      client_close(&loop, cli);
      continue;
    }
    run_until(&loop, &c.done, 10000);
    if (c.status == 0 &&
        cmcp_client_call_tool(cli, "t", NULL, 0, on_result, &o, NULL) == 0) {
      run_until(&loop, &o.done, 10000);
      clean = o.status == 0 && alloc_fail_count() < n;
    }
    if (getenv("SWEEP_TRACE"))
      fprintf(stderr, "n=%ld connect=%d call=%d\n", n, c.status, o.status);
    client_close(&loop, cli);
  }
  alloc_fail_uninstall();
  assert_true(clean);
  assert_true(n > 20); /* the handshake and the call allocate that much */
  canned_stop(&srv);
  loop_finish(&loop);
}

/* Connection refused: the connect fails with a transport error. */
static void connection_refused(void **state) {
  uv_loop_t loop;
  uv_tcp_t t;
  struct sockaddr_in a;
  int len = sizeof a;
  char url[64];
  outcome o;
  cmcp_client_t *cli;
  (void)state;
  uv_loop_init(&loop);
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&loop, &t);
  assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&a, 0), 0);
  uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", ntohs(a.sin_port));
  cli = cmcp_client_new(&loop, "t", "1");
  assert_int_equal(cmcp_client_set_url(cli, url), 0);
  memset(&o, 0, sizeof o);
  assert_int_equal(cmcp_client_connect(cli, on_result, &o), 0);
  run_until(&loop, &o.done, 10000);
  assert_true(o.status == CMCP_EIO || o.status == CMCP_EPROTO);
  assert_true(o.err[0] != '\0');
  client_close(&loop, cli);
  loop_finish(&loop);
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
      cmocka_unit_test(fetch_allocation_failures),
      cmocka_unit_test(everything_legacy_sse),
      cmocka_unit_test(everything_legacy_json),
      cmocka_unit_test(everything_modern_sse),
      cmocka_unit_test(everything_modern_json),
      cmocka_unit_test(everything_negotiates_modern),
      cmocka_unit_test(everything_get_stream_resumed),
      cmocka_unit_test(everything_post_stream_resumed),
      cmocka_unit_test(everything_private_loop_sync),
      cmocka_unit_test(everything_legacy_sampling),
      cmocka_unit_test(stream_cut_mid_event),
      cmocka_unit_test(truncated_json_body),
      cmocka_unit_test(huge_event_refused),
      cmocka_unit_test(huge_json_body_refused),
      cmocka_unit_test(status_500_without_body),
      cmocka_unit_test(status_400_plain_text),
      cmocka_unit_test(error_body_goes_to_engine),
      cmocka_unit_test(session_expired_404),
      cmocka_unit_test(unauthorized_without_oauth),
      cmocka_unit_test(silent_server_times_out),
      cmocka_unit_test(session_id_and_delete),
      cmocka_unit_test(resume_honours_retry),
      cmocka_unit_test(resume_gives_up_after_the_limit),
      cmocka_unit_test(open_stream_after_response_closed),
      cmocka_unit_test(failed_resume_attempt_retried),
      cmocka_unit_test(modern_headers),
      cmocka_unit_test(get_stream_405),
      cmocka_unit_test(connection_refused),
      cmocka_unit_test(http_allocation_failures),
  };
  if (getenv("TEST_FILTER") != NULL)
    cmocka_set_test_filter(getenv("TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
