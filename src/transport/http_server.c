/* src/transport/http_server.c: the HTTP/1.1 server's libuv side: listening
 * (SO_REUSEPORT or an adopted fd), accepting under max_connections, reading
 * into a per-loop buffer pool, coalesced writes once per loop turn, one
 * timer per server over FIFO deadline lists, lingering close and drain. */
#include "transport/http_conn.h"
#include "base/stats.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_READ_SIZE (64u * 1024u) /* one pooled read buffer */
#define HTTP_POOL_MAX 8              /* idle read buffers kept per loop */
#define HTTP_LINGER_MS 2000u         /* reading after our last byte */
#define HTTP_WRITE_BUFS 64           /* bufs per uv_write */
#define HTTP_BACKLOG 511

/* The JSON-RPC error names the limit, as every refusal of the server does
 * (the HTTP layer knows no more of MCP than this constant). */
#define REFUSED_BODY                                                           \
  "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,"               \
  "\"message\":\"Server overloaded: too many connections "                     \
  "(--max-connections)\"}}"
static const char refused_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                  "Retry-After: 1\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: 123\r\n"
                                  "Connection: close\r\n\r\n" REFUSED_BODY;
_Static_assert(sizeof(REFUSED_BODY) - 1 == 123, "Content-Length above");

/* One accepted connection: the TCP handle, the protocol core, and links
 * into the server's lists. This is all an idle connection holds. */
typedef struct sconn {
  uv_tcp_t tcp;
  cmcp__http_conn core;
  cmcp__http_server *srv;
  struct sconn *tprev, *tnext; /* the deadline list of its kind */
  struct sconn *dprev, *dnext; /* connections with work for this turn */
  struct sconn *aprev, *anext; /* every connection */
  uint64_t deadline;
  uint16_t nwrites; /* uv_writes in flight */
  uint8_t tkind;
  unsigned dirty : 1;
  unsigned reading : 1;
  unsigned resume : 1;
  unsigned closing : 1;
  unsigned lingering : 1;
} sconn;

typedef struct sconn_list {
  sconn *head, *tail;
} sconn_list;

/* A uv_write and the chunks it carries. */
typedef struct http_write {
  uv_write_t req;
  sconn *sc;
  cmcp__http_chunk *chunks;
  size_t bytes;
} http_write;

struct cmcp__http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t timer;  /* the earliest connection deadline */
  uv_timer_t drain;  /* close()'s deadline */
  uv_idle_t flush;   /* writes and resumes, once per loop turn ... */
  uv_check_t flushc; /* ... before polling or right after it */
  cmcp__http_ctx ctx;
  sconn_list deadlines[CMCP__HTTP_T_COUNT];
  sconn *dirty;
  sconn *all;
  char *pool[HTTP_POOL_MAX];
  unsigned npool;
  uint64_t timer_due;
  int port;
  unsigned listening : 1;
  unsigned closing : 1;
  unsigned hard : 1; /* drain deadline passed: no more lingering */
  unsigned closing_handles : 1;
  unsigned handles; /* own handles not yet closed */
  cmcp__http_close_fn close_cb;
  void *close_data;
};

static void conn_close(sconn *sc);
static void on_timer(uv_timer_t *t);

static sconn *sc_of(cmcp__http_conn *c) {
  return (sconn *)(void *)((char *)c - offsetof(sconn, core));
}

void cmcp__http_config_init(cmcp__http_config *cfg) {
  cfg->max_header_bytes = 16u * 1024u;
  cfg->max_header_count = 100;
  cfg->max_body_bytes = 4u * 1024u * 1024u;
  cfg->max_url_bytes = 8u * 1024u;
  cfg->header_timeout_ms = 10000;
  cfg->body_timeout_ms = 30000;
  cfg->idle_timeout_ms = 60000;
  cfg->send_timeout_ms = 30000;
  cfg->drain_timeout_ms = 10000;
  cfg->max_connections = 10000;
  cfg->max_pipelined = 16;
  cfg->max_outbound_bytes = 1024u * 1024u;
}

size_t cmcp__http_idle_conn_bytes(void) {
  return sizeof(sconn);
}

/* ---- read buffer pool -------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  cmcp__http_server *srv = ((sconn *)h->data)->srv;
  char *p;
  CMCP__UNUSED(hint);
  p = srv->npool > 0 ? srv->pool[--srv->npool] : cmcp__malloc(HTTP_READ_SIZE);
  *buf = uv_buf_init(p, p != NULL ? HTTP_READ_SIZE : 0);
}

static void pool_put(cmcp__http_server *srv, char *p) {
  if (p == NULL)
    return;
  if (srv->npool < HTTP_POOL_MAX)
    srv->pool[srv->npool++] = p;
  else
    cmcp__free(p);
}

/* ---- deadlines: one FIFO list per kind, one uv timer ------------------- */

static uint64_t kind_ms(const cmcp__http_server *srv, int kind) {
  switch (kind) {
  case CMCP__HTTP_T_HEAD:
    return srv->ctx.cfg.header_timeout_ms;
  case CMCP__HTTP_T_BODY:
    return srv->ctx.cfg.body_timeout_ms;
  case CMCP__HTTP_T_IDLE:
    return srv->ctx.cfg.idle_timeout_ms;
  case CMCP__HTTP_T_SEND:
    return srv->ctx.cfg.send_timeout_ms;
  default:
    return HTTP_LINGER_MS;
  }
}

static void timer_arm(cmcp__http_server *srv, uint64_t due) {
  uint64_t now = uv_now(srv->loop);
  if (uv_is_active((uv_handle_t *)&srv->timer) && due >= srv->timer_due)
    return;
  srv->timer_due = due;
  uv_timer_start(&srv->timer, on_timer, due > now ? due - now : 0, 0);
}

/* Moves sc to the tail of its kind's list: every deadline of one kind has
 * the same length, so each list stays sorted without a heap. */
static void deadline_set(sconn *sc, int kind) {
  cmcp__http_server *srv = sc->srv;
  sconn_list *l;
  if (sc->tkind != CMCP__HTTP_T_NONE) {
    l = &srv->deadlines[sc->tkind];
    *(sc->tprev ? &sc->tprev->tnext : &l->head) = sc->tnext;
    *(sc->tnext ? &sc->tnext->tprev : &l->tail) = sc->tprev;
    sc->tprev = sc->tnext = NULL;
  }
  sc->tkind = (uint8_t)kind;
  if (kind == CMCP__HTTP_T_NONE)
    return;
  l = &srv->deadlines[kind];
  sc->deadline = uv_now(srv->loop) + kind_ms(srv, kind);
  sc->tprev = l->tail;
  *(l->tail ? &l->tail->tnext : &l->head) = sc;
  l->tail = sc;
  timer_arm(srv, sc->deadline);
}

/* Fires every deadline that passed, then re-arms for the earliest left. */
static void on_timer(uv_timer_t *t) {
  cmcp__http_server *srv = t->data;
  uint64_t now = uv_now(srv->loop), next = UINT64_MAX;
  sconn *sc;
  int k;
  for (k = 1; k < CMCP__HTTP_T_COUNT; k++) {
    while ((sc = srv->deadlines[k].head) != NULL && sc->deadline <= now) {
      deadline_set(sc, CMCP__HTTP_T_NONE);
      if (k == CMCP__HTTP_T_SEND)
        cmcp__log(CMCP_LOG_INFO, "http: dropping a peer that stopped reading");
      if (k == CMCP__HTTP_T_LINGER || k == CMCP__HTTP_T_SEND)
        conn_close(sc);
      else
        cmcp__http_conn_timeout(&sc->core);
    }
  }
  for (k = 1; k < CMCP__HTTP_T_COUNT; k++)
    if ((sc = srv->deadlines[k].head) != NULL && sc->deadline < next)
      next = sc->deadline;
  if (next != UINT64_MAX)
    timer_arm(srv, next);
}

/* ---- writing: coalesced once per loop turn ----------------------------- */

static void dirty_remove(sconn *sc) {
  if (!sc->dirty)
    return;
  *(sc->dprev ? &sc->dprev->dnext : &sc->srv->dirty) = sc->dnext;
  if (sc->dnext != NULL)
    sc->dnext->dprev = sc->dprev;
  sc->dprev = sc->dnext = NULL;
  sc->dirty = 0;
}

static void on_flush(uv_idle_t *h);
static void on_flush_check(uv_check_t *h);

static void dirty_add(sconn *sc) {
  cmcp__http_server *srv = sc->srv;
  if (sc->dirty || sc->closing)
    return;
  sc->dirty = 1;
  sc->dprev = NULL;
  sc->dnext = srv->dirty;
  if (srv->dirty != NULL)
    srv->dirty->dprev = sc;
  srv->dirty = sc;
  uv_idle_start(&srv->flush, on_flush);
  uv_check_start(&srv->flushc, on_flush_check);
}

/* While no read deadline runs, a connection with writes in flight is under
 * the send deadline, renewed by each write that completes: a peer that
 * stops reading is dropped instead of holding its slot forever. */
static void send_deadline(sconn *sc) {
  if (sc->closing || sc->lingering)
    return;
  if (sc->tkind == CMCP__HTTP_T_NONE && sc->nwrites > 0)
    deadline_set(sc, CMCP__HTTP_T_SEND);
  else if (sc->tkind == CMCP__HTTP_T_SEND)
    deadline_set(sc, sc->nwrites > 0 ? CMCP__HTTP_T_SEND : CMCP__HTTP_T_NONE);
}

static void on_write(uv_write_t *req, int status) {
  http_write *wr = (http_write *)(void *)req;
  sconn *sc = wr->sc;
  cmcp__http_chunks_free(wr->chunks);
  sc->nwrites--;
  if (status < 0) {
    if (!sc->closing)
      conn_close(sc);
  } else {
    send_deadline(sc);
    cmcp__http_conn_written(&sc->core, wr->bytes);
  }
  cmcp__free(wr);
}

/* Sends up to HTTP_WRITE_BUFS chunks from *list in one uv_write. */
static int write_some(sconn *sc, cmcp__http_chunk **list) {
  uv_buf_t bufs[HTTP_WRITE_BUFS];
  unsigned n = 0;
  cmcp__http_chunk *ch = *list, *last = NULL;
  http_write *wr = cmcp__malloc(sizeof(*wr));
  if (wr == NULL)
    return CMCP_ENOMEM;
  wr->sc = sc;
  wr->chunks = ch;
  wr->bytes = 0;
  while (ch != NULL && n < HTTP_WRITE_BUFS) {
    bufs[n++] = uv_buf_init(ch->data, (unsigned)ch->len);
    wr->bytes += ch->len;
    last = ch;
    ch = ch->next;
  }
  last->next = NULL;
  *list = ch;
  if (uv_write(&wr->req, (uv_stream_t *)&sc->tcp, bufs, n, on_write) != 0) {
    cmcp__http_chunks_free(wr->chunks);
    cmcp__free(wr);
    return CMCP_EIO;
  }
  sc->nwrites++;
  send_deadline(sc);
  return 0;
}

static void conn_flush(sconn *sc) {
  cmcp__http_chunk *list;
  if (sc->closing)
    return;
  list = cmcp__http_conn_take_output(&sc->core);
  while (list != NULL) {
    if (write_some(sc, &list) != 0) {
      cmcp__http_chunks_free(list);
      conn_close(sc);
      return;
    }
  }
}

/* Parses input held while paused, then writes, for every connection with
 * work. Runs once per loop turn: in the idle phase for work made by timers
 * (the idle handle also keeps the poll from blocking), in the check phase,
 * right after the poll, for work made by reads and writes. */
static void flush_all(cmcp__http_server *srv) {
  sconn *sc;
  while ((sc = srv->dirty) != NULL) {
    dirty_remove(sc);
    if (sc->resume && !sc->closing) {
      sc->resume = 0;
      cmcp__http_conn_resume(&sc->core);
    }
    conn_flush(sc);
  }
  uv_idle_stop(&srv->flush);
  uv_check_stop(&srv->flushc);
}

static void on_flush(uv_idle_t *h) {
  flush_all(h->data);
}

static void on_flush_check(uv_check_t *h) {
  flush_all(h->data);
}

/* ---- closing ----------------------------------------------------------- */

static void server_maybe_done(cmcp__http_server *srv);

static void on_conn_closed(uv_handle_t *h) {
  sconn *sc = h->data;
  cmcp__http_server *srv = sc->srv;
  *(sc->aprev ? &sc->aprev->anext : &srv->all) = sc->anext;
  if (sc->anext != NULL)
    sc->anext->aprev = sc->aprev;
  srv->ctx.stats.open_connections--;
  cmcp__stats_gauge_add(CMCP__SG_CONNECTIONS, -1);
  cmcp__free(sc);
  server_maybe_done(srv);
}

/* Closes at once: unanswered requests are aborted. */
static void conn_close(sconn *sc) {
  if (sc->closing)
    return;
  cmcp__http_conn_teardown(&sc->core);
  if (sc->closing)
    return; /* an abort callback closed it */
  sc->closing = 1;
  deadline_set(sc, CMCP__HTTP_T_NONE);
  dirty_remove(sc);
  uv_close((uv_handle_t *)&sc->tcp, on_conn_closed);
}

static void on_linger_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sconn *sc = s->data;
  pool_put(sc->srv, buf->base);
  if (n < 0)
    conn_close(sc);
}

/* Our last byte left: read (and drop) what the peer still sends for a
 * while, so closing does not reset the connection before it read the
 * answer. */
static void on_shutdown(uv_shutdown_t *req, int status) {
  sconn *sc = req->data;
  cmcp__free(req);
  if (sc->closing)
    return;
  if (status < 0 || sc->core.eof || sc->srv->hard ||
      uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_linger_read) != 0) {
    conn_close(sc);
    return;
  }
  deadline_set(sc, CMCP__HTTP_T_LINGER);
}

static void conn_linger(sconn *sc) {
  uv_shutdown_t *req;
  cmcp__http_conn_teardown(&sc->core);
  if (sc->closing || sc->lingering)
    return;
  sc->lingering = 1;
  uv_read_stop((uv_stream_t *)&sc->tcp);
  deadline_set(sc, CMCP__HTTP_T_NONE);
  req = cmcp__malloc(sizeof(*req));
  if (req == NULL)
    goto fail;
  req->data = sc;
  if (uv_shutdown(req, (uv_stream_t *)&sc->tcp, on_shutdown) != 0) {
    cmcp__free(req);
    goto fail;
  }
  return;
fail:
  conn_close(sc);
}

/* ---- the core's sink --------------------------------------------------- */

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void ops_want_write(cmcp__http_conn *c) {
  dirty_add(sc_of(c));
}

static void ops_set_reading(cmcp__http_conn *c, int on) {
  sconn *sc = sc_of(c);
  if (sc->closing || sc->lingering)
    return;
  if (!on) {
    uv_read_stop((uv_stream_t *)&sc->tcp);
    sc->reading = 0;
    return;
  }
  if (!sc->reading && !sc->core.eof) {
    if (uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read) != 0) {
      conn_close(sc);
      return;
    }
    sc->reading = 1;
  }
  sc->resume = 1; /* input held while paused is parsed this turn */
  dirty_add(sc);
}

static void ops_set_timer(cmcp__http_conn *c, int kind) {
  sconn *sc = sc_of(c);
  if (sc->closing || sc->lingering)
    return;
  if (kind == CMCP__HTTP_T_NONE && sc->nwrites > 0)
    kind = CMCP__HTTP_T_SEND;
  deadline_set(sc, kind);
}

static void ops_finish(cmcp__http_conn *c, int graceful) {
  sconn *sc = sc_of(c);
  if (graceful && !sc->srv->hard)
    conn_linger(sc);
  else
    conn_close(sc);
}

static const cmcp__http_conn_ops uv_ops = {ops_want_write, ops_set_reading,
                                           ops_set_timer, ops_finish};

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sconn *sc = s->data;
  if (n > 0) {
    cmcp__http_conn_feed(&sc->core, buf->base, (size_t)n);
  } else if (n == UV_EOF) {
    uv_read_stop(s);
    sc->reading = 0;
    cmcp__http_conn_eof(&sc->core);
  } else if (n < 0) {
    conn_close(sc); /* reset, or no buffer for the read */
  }
  pool_put(sc->srv, buf->base);
}

/* ---- accepting --------------------------------------------------------- */

static void on_refused_closed(uv_handle_t *h) {
  cmcp__free(h);
}

/* Over max_connections: a static 503 with Retry-After, then close. It costs
 * one non-blocking send on a fresh socket (its send buffer is empty) and no
 * state, and tells the client the server is full rather than broken, which
 * a silent close would not. */
static void conn_refuse(cmcp__http_server *srv) {
  uv_tcp_t *t = cmcp__malloc(sizeof(*t));
  uv_buf_t b = uv_buf_init((char *)refused_503, sizeof(refused_503) - 1);
  srv->ctx.stats.refused++;
  cmcp__stats_refused(CMCP__REFUSE_MAX_CONNECTIONS);
  if (t == NULL) {
    cmcp__log(CMCP_LOG_ERROR, "http: out of memory refusing a connection");
    return;
  }
  uv_tcp_init(srv->loop, t);
  if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0)
    if (uv_try_write((uv_stream_t *)t, &b, 1) > 0)
      cmcp__stats_http_response(503);
  uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *l, int status) {
  cmcp__http_server *srv = l->data;
  sconn *sc;
  if (status < 0) {
    cmcp__log(CMCP_LOG_WARNING, "http: accept: %s", uv_strerror(status));
    return;
  }
  if (srv->ctx.stats.open_connections >= srv->ctx.cfg.max_connections ||
      (sc = cmcp__calloc(1, sizeof(*sc))) == NULL) {
    conn_refuse(srv);
    return;
  }
  sc->srv = srv;
  uv_tcp_init(srv->loop, &sc->tcp);
  sc->tcp.data = sc;
  sc->anext = srv->all;
  if (srv->all != NULL)
    srv->all->aprev = sc;
  srv->all = sc;
  srv->ctx.stats.open_connections++;
  srv->ctx.stats.total_accepted++;
  cmcp__stats_count(CMCP__SC_CONNECTIONS_ACCEPTED);
  cmcp__stats_gauge_add(CMCP__SG_CONNECTIONS, 1);
  cmcp__http_conn_init(&sc->core, &srv->ctx);
  if (uv_accept(l, (uv_stream_t *)&sc->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read) != 0) {
    conn_close(sc);
    return;
  }
  sc->reading = 1;
  uv_tcp_nodelay(&sc->tcp, 1);
  deadline_set(sc, CMCP__HTTP_T_HEAD);
}

/* ---- the server -------------------------------------------------------- */

/* Zero limits in cfg take their defaults. */
static void config_fill(cmcp__http_config *dst, const cmcp__http_config *cfg) {
  cmcp__http_config d;
  cmcp__http_config_init(&d);
  *dst = cfg != NULL ? *cfg : d;
#define HTTP_DEFAULT(f)                                                        \
  if (dst->f == 0)                                                             \
  dst->f = d.f
  HTTP_DEFAULT(max_header_bytes);
  HTTP_DEFAULT(max_header_count);
  HTTP_DEFAULT(max_body_bytes);
  HTTP_DEFAULT(max_url_bytes);
  HTTP_DEFAULT(header_timeout_ms);
  HTTP_DEFAULT(body_timeout_ms);
  HTTP_DEFAULT(idle_timeout_ms);
  HTTP_DEFAULT(send_timeout_ms);
  HTTP_DEFAULT(drain_timeout_ms);
  HTTP_DEFAULT(max_connections);
  HTTP_DEFAULT(max_pipelined);
  HTTP_DEFAULT(max_outbound_bytes);
#undef HTTP_DEFAULT
}

cmcp__http_server *cmcp__http_server_new(uv_loop_t *loop,
                                         const cmcp__http_config *cfg,
                                         cmcp__http_handler_fn on_request,
                                         void *data) {
  cmcp__http_server *srv;
  if (loop == NULL || on_request == NULL)
    return NULL;
  srv = cmcp__calloc(1, sizeof(*srv));
  if (srv == NULL)
    return NULL;
  srv->loop = loop;
  config_fill(&srv->ctx.cfg, cfg);
  srv->ctx.on_request = on_request;
  srv->ctx.data = data;
  srv->ctx.ops = &uv_ops;
  uv_tcp_init(loop, &srv->listener);
  uv_timer_init(loop, &srv->timer);
  uv_timer_init(loop, &srv->drain);
  uv_idle_init(loop, &srv->flush);
  uv_check_init(loop, &srv->flushc);
  srv->listener.data = srv->timer.data = srv->drain.data = srv;
  srv->flush.data = srv->flushc.data = srv;
  srv->handles = 5;
  return srv;
}

int cmcp__http_server_adopt(cmcp__http_server *srv, int fd) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  if (srv->listening || srv->closing) {
    close(fd);
    return CMCP_ESTATE;
  }
  if (uv_tcp_open(&srv->listener, (uv_os_sock_t)fd) != 0) {
    close(fd);
    return CMCP_EIO;
  }
  if (uv_listen((uv_stream_t *)&srv->listener, HTTP_BACKLOG, on_connection) !=
      0)
    return CMCP_EIO;
  srv->listening = 1;
  if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) == 0)
    srv->port = ss.ss_family == AF_INET6
                    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

/* A bound (not yet listening) socket for host:port, or a negative status. */
static int bind_socket(const char *host, int port, int reuseport) {
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, one = 1;
  if (host == NULL || port < 0 || port > 65535)
    return CMCP_EINVAL;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0)
    len = sizeof(struct sockaddr_in);
  else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0)
    len = sizeof(struct sockaddr_in6);
  else
    return CMCP_EINVAL;
#ifdef SOCK_CLOEXEC
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
  fd = socket(ss.ss_family, SOCK_STREAM, 0); /* uv_tcp_open sets the rest */
#endif
  if (fd < 0)
    return CMCP_EIO;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      (reuseport &&
       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
      bind(fd, (struct sockaddr *)&ss, len) != 0) {
    cmcp__log(CMCP_LOG_ERROR, "http: bind %s:%d: errno %d", host, port, errno);
    close(fd);
    return CMCP_EIO;
  }
  return fd;
}

int cmcp__http_server_listen(cmcp__http_server *srv, const char *host, int port,
                             int reuseport) {
  int fd;
  if (srv->listening || srv->closing)
    return CMCP_ESTATE;
  fd = bind_socket(host, port, reuseport);
  if (fd < 0)
    return fd;
  return cmcp__http_server_adopt(srv, fd);
}

int cmcp__http_server_port(const cmcp__http_server *srv) {
  return srv->listening ? srv->port : 0;
}

void cmcp__http_server_stats(const cmcp__http_server *srv,
                             cmcp__http_stats *out) {
  *out = srv->ctx.stats;
}

static void on_server_handle_closed(uv_handle_t *h) {
  cmcp__http_server *srv = h->data;
  if (--srv->handles > 0)
    return;
  while (srv->npool > 0)
    cmcp__free(srv->pool[--srv->npool]);
  if (srv->close_cb != NULL)
    srv->close_cb(srv, srv->close_data);
  cmcp__free(srv);
}

/* Closes the server's own handles once the last connection is gone. */
static void server_maybe_done(cmcp__http_server *srv) {
  if (!srv->closing || srv->all != NULL || srv->closing_handles)
    return;
  srv->closing_handles = 1;
  uv_close((uv_handle_t *)&srv->timer, on_server_handle_closed);
  uv_close((uv_handle_t *)&srv->drain, on_server_handle_closed);
  uv_close((uv_handle_t *)&srv->flush, on_server_handle_closed);
  uv_close((uv_handle_t *)&srv->flushc, on_server_handle_closed);
}

/* The drain deadline: whatever is still open closes now. */
static void on_drain(uv_timer_t *t) {
  cmcp__http_server *srv = t->data;
  sconn *sc, *next;
  srv->hard = 1;
  for (sc = srv->all; sc != NULL; sc = next) {
    next = sc->anext;
    conn_close(sc);
  }
}

void cmcp__http_server_close(cmcp__http_server *srv, cmcp__http_close_fn cb,
                             void *data) {
  sconn *sc, *next;
  if (srv->closing)
    return;
  srv->closing = 1;
  srv->close_cb = cb;
  srv->close_data = data;
  uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
  for (sc = srv->all; sc != NULL; sc = next) {
    next = sc->anext;
    cmcp__http_conn_drain(&sc->core);
  }
  if (srv->all != NULL)
    uv_timer_start(&srv->drain, on_drain, srv->ctx.cfg.drain_timeout_ms, 0);
  server_maybe_done(srv);
}
