/* http.c: a minimal HTTP/1.1 client connection on libuv for cmcp-bench.
 *
 * Keep-alive, one request in flight per connection; responses parsed by
 * llhttp in response mode. A JSON body is buffered (bounded); an SSE body
 * goes through the library's SSE parser (src/client/sse_parse.h), keeping the
 * data of the answer event. A held stream (GET or subscriptions/listen) is
 * never buffered: its events are only counted. Each connection binds to the
 * next source address (127.0.0.2 ... by default) so that many connections do
 * not run out of ephemeral ports. With --slow-read a connection reads at most
 * that many bytes a second and stops reading in between (a slow consumer).
 */
#define _GNU_SOURCE /* memmem */
#include "client.h"

#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define BODY_LIMIT (8u << 20) /* largest answer buffered */
#define SSE_LIMIT (8u << 20)
#define SLOW_PERIOD_MS 100

/* One read buffer for the whole loop: every read is parsed at once. */
static char read_buf[65536];

static bench_conn *of_parser(llhttp_t *p) {
  return p->data;
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int on_message_begin(llhttp_t *p) {
  bench_conn *c = of_parser(p);
  c->sse = 0;
  c->retry_after = 0;
  c->done = 0;
  c->field_len = 0;
  c->sid_len = 0;
  cmcp__buf_reset(&c->body);
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  bench_conn *c = of_parser(p);
  size_t room = sizeof c->field - 1 - c->field_len;
  if (n > room)
    n = room;
  memcpy(c->field + c->field_len, at, n);
  c->field_len = (uint8_t)(c->field_len + n);
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  bench_conn *c = of_parser(p);
  c->field[c->field_len] = '\0';
  c->in_sid = strcasecmp(c->field, "Mcp-Session-Id") == 0;
  c->in_ct = strcasecmp(c->field, "Content-Type") == 0;
  c->in_ra = strcasecmp(c->field, "Retry-After") == 0;
  c->field_len = 0;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  bench_conn *c = of_parser(p);
  if (c->in_sid) {
    size_t room = sizeof c->sid - 1 - c->sid_len;
    if (n > room)
      n = room;
    memcpy(c->sid + c->sid_len, at, n);
    c->sid_len = (uint8_t)(c->sid_len + n);
    c->sid[c->sid_len] = '\0';
  } else if (c->in_ct) {
    if (n >= 17 && strncasecmp(at, "text/event-stream", 17) == 0)
      c->sse = 1;
  } else if (c->in_ra) {
    c->retry_after = 1;
  }
  return 0;
}

/* Keeps the data of an answer event (not a notification or request). */
static int on_sse_event(void *arg, const cmcp__ssep_event *ev) {
  bench_conn *c = arg;
  const char *data = ev->data;
  size_t len = ev->len;
  size_t head = len < 48 ? len : 48;
  if (c->is_stream) {
    bench_on_stream_event(c, data, len);
    return 0;
  }
  if (memmem(data, head, "\"method\"", 8) != NULL)
    return 0;
  cmcp__buf_reset(&c->body);
  (void)cmcp__buf_add(&c->body, data, len);
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  bench_conn *c = of_parser(p);
  c->status = (uint16_t)p->status_code;
  if (c->sse) {
    if (c->ssep == NULL) {
      c->ssep = cmcp__malloc(sizeof *c->ssep);
      if (c->ssep == NULL)
        return -1;
    }
    cmcp__ssep_init(c->ssep, SSE_LIMIT);
  }
  if (c->is_stream)
    bench_on_response(c); /* the stream is open (or refused) */
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  bench_conn *c = of_parser(p);
  if (c->state == CONN_CLOSING)
    return -1;
  if (c->sse)
    return cmcp__ssep_feed(c->ssep, at, n, on_sse_event, c) == 0 ? 0 : -1;
  if (c->is_stream)
    return 0;
  return cmcp__buf_add(&c->body, at, n) == 0 ? 0 : -1;
}

static int on_message_complete(llhttp_t *p) {
  bench_conn *c = of_parser(p);
  c->done = 1;
  if (c->ssep != NULL) {
    cmcp__ssep_free(c->ssep);
    cmcp__free(c->ssep);
    c->ssep = NULL;
  }
  return HPE_PAUSED; /* handled after llhttp_execute returns */
}

static const llhttp_settings_t *settings(void) {
  static llhttp_settings_t s;
  static int ready;
  if (!ready) {
    llhttp_settings_init(&s);
    s.on_message_begin = on_message_begin;
    s.on_header_field = on_header_field;
    s.on_header_field_complete = on_header_field_complete;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    ready = 1;
  }
  return &s;
}

/* ---- reading ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  bench_conn *c = h->data;
  size_t n = sizeof read_buf;
  (void)hint;
  if (c->slow != NULL && c->budget < n)
    n = c->budget > 0 ? (size_t)c->budget : 1;
  buf->base = read_buf;
  buf->len = n;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_slow_timer(uv_timer_t *t) {
  bench_conn *c = t->data;
  c->budget = c->cl->r->o->slow_read * SLOW_PERIOD_MS / 1000;
  if (c->budget == 0)
    c->budget = 1;
  if (c->paused && c->state != CONN_CLOSING) {
    c->paused = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
}

/* Parses what came in; a complete response goes to the client layer. */
static void parse(bench_conn *c, const char *p, size_t n) {
  llhttp_errno_t err = llhttp_execute(&c->parser, p, n);
  if (err == HPE_PAUSED) {
    llhttp_resume(&c->parser);
    if (c->state == CONN_BUSY) {
      c->state = CONN_IDLE;
      bench_on_response(c);
    } else if (c->state == CONN_HOLDING) {
      bench_on_broken(c, -1); /* the server ended the stream */
    }
    return;
  }
  if (err != HPE_OK)
    bench_on_broken(c, BENCH_E_PROTOCOL);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  bench_conn *c = s->data;
  bench_runner *r = c->cl->r;
  if (nread < 0) {
    if (c->state == CONN_BUSY)
      bench_on_broken(c, BENCH_E_PROTOCOL);
    else
      bench_on_broken(c, c->state == CONN_HOLDING ? -1 : BENCH_E_CONNECT);
    return;
  }
  r->c.bytes_in += (uint64_t)nread;
  if (c->slow != NULL) {
    c->budget -= (uint64_t)nread < c->budget ? (uint64_t)nread : c->budget;
    if (c->budget == 0) {
      uv_read_stop(s);
      c->paused = 1;
    }
  }
  if (nread > 0)
    parse(c, buf->base, (size_t)nread);
}

/* ---- connecting ---------------------------------------------------------- */

typedef struct {
  uv_connect_t req;
  bench_conn *c;
} connect_req;

static void on_connect(uv_connect_t *req, int status) {
  connect_req *cr = (connect_req *)req;
  bench_conn *c = cr->c;
  cmcp__free(cr);
  if (c->state == CONN_CLOSING)
    return;
  if (status != 0) {
    bench_on_connected(c, status);
    return;
  }
  c->state = CONN_IDLE;
  if (c->slow != NULL) {
    int sz = 4096; /* a small window: the server sees the slowness */
    uv_recv_buffer_size((uv_handle_t *)&c->tcp, &sz);
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  bench_on_connected(c, 0);
}

/* Binds the socket to the next source address, port chosen at connect. */
static int bind_source(bench_runner *r, bench_conn *c) {
  const bench_opts *o = r->o;
  const struct sockaddr_in *src;
  uv_os_fd_t fd;
  int one = 1;
  if (o->nsrc == 0)
    return 0;
  src = &o->src[r->src_next++ % o->nsrc];
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
#ifdef IP_BIND_ADDRESS_NO_PORT
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
  }
  (void)one;
  return uv_tcp_bind(&c->tcp, (const struct sockaddr *)src, 0);
}

int bench_conn_open(bench_client *cl, bench_conn *c) {
  bench_runner *r = cl->r;
  const bench_opts *o = r->o;
  struct sockaddr_in dst;
  connect_req *cr;
  int rc;
  memset(c, 0, offsetof(bench_conn, body));
  c->cl = cl;
  cmcp__buf_init(&c->body, BODY_LIMIT);
  c->ssep = NULL;
  c->slow = NULL;
  c->next = NULL;
  if ((rc = uv_tcp_init_ex(&r->loop, &c->tcp, AF_INET)) != 0)
    return rc;
  c->tcp.data = c;
  c->state = CONN_CONNECTING;
  llhttp_init(&c->parser, HTTP_RESPONSE, settings());
  c->parser.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  cr = cmcp__malloc(sizeof *cr);
  rc = cr == NULL ? CMCP_ENOMEM : bind_source(r, c);
  if (rc == 0)
    rc = uv_ip4_addr(o->host, o->port, &dst);
  if (rc == 0) {
    cr->c = c;
    rc = uv_tcp_connect(&cr->req, &c->tcp, (const struct sockaddr *)&dst,
                        on_connect);
  }
  if (rc != 0) {
    cmcp__free(cr);
    bench_conn_close(c);
    return rc;
  }
  if (o->slow_read > 0) {
    c->slow = cmcp__malloc(sizeof *c->slow);
    if (c->slow != NULL) {
      uv_timer_init(&r->loop, c->slow);
      c->slow->data = c;
      on_slow_timer(c->slow);
      uv_timer_start(c->slow, on_slow_timer, SLOW_PERIOD_MS, SLOW_PERIOD_MS);
    }
  }
  return 0;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct {
  uv_write_t req;
  char *data;
} write_req;

static void on_write(uv_write_t *req, int status) {
  write_req *wr = (write_req *)req;
  cmcp__free(wr->data);
  cmcp__free(wr);
  (void)status; /* a failed write shows up as a failed read */
}

int bench_conn_send(bench_conn *c, char *data, size_t len) {
  write_req *wr = cmcp__malloc(sizeof *wr);
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  int rc;
  if (wr == NULL) {
    cmcp__free(data);
    return CMCP_ENOMEM;
  }
  wr->data = data;
  c->state = c->is_stream ? CONN_HOLDING : CONN_BUSY;
  rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc != 0) {
    cmcp__free(data);
    cmcp__free(wr);
    return rc;
  }
  c->cl->r->c.bytes_out += len;
  return 0;
}

/* ---- closing ------------------------------------------------------------- */

static void on_slow_closed(uv_handle_t *h) {
  cmcp__free(h);
}

static void on_tcp_closed(uv_handle_t *h) {
  bench_conn *c = h->data;
  bench_on_closed(c);
}

void bench_conn_close(bench_conn *c) {
  if (c->state == CONN_CLOSING)
    return;
  c->state = CONN_CLOSING;
  if (c->slow != NULL) {
    uv_close((uv_handle_t *)c->slow, on_slow_closed);
    c->slow = NULL;
  }
  if (c->ssep != NULL) {
    cmcp__ssep_free(c->ssep);
    cmcp__free(c->ssep);
    c->ssep = NULL;
  }
  cmcp__buf_free(&c->body);
  c->tcp.data = c;
  uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}
