/* src/client/oauth_agent.c: the two ready user agents of the OAuth client.
 *
 * Headless: GETs the authorization URL and takes the Location of the
 * redirect (for authorization servers that need no user, as test servers).
 *
 * Loopback (RFC 8252 s7.3): prints the authorization URL to stderr, maybe
 * opens it with xdg-open, and listens on 127.0.0.1:PORT for the browser's
 * redirect to the redirect URI; answers it with a short page and hands the
 * URL back. One connection is read at a time, each bounded in size; the
 * whole wait is bounded in time.
 */
#include "oauth_flow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define AGENT_MAX_BODY (64 * 1024)
#define AGENT_FETCH_MS 30000
#define LOOPBACK_WAIT_MS (5 * 60 * 1000)
#define LOOPBACK_MAX_REQUEST 8192

/* ---- headless ---------------------------------------------------------- */

static void on_headless(void *data, const cmcp__fetch_res *res) {
  cmcp_oauth_authz_t *a = data;
  char why[256];
  if (res->status == 0 && res->http_status >= 300 && res->http_status < 400 &&
      res->location != NULL) {
    cmcp_oauth_authz_done(a, res->location);
    return;
  }
  if (res->status != 0)
    snprintf(why, sizeof(why), "the authorization endpoint failed: %s",
             res->detail);
  else
    snprintf(why, sizeof(why),
             "the authorization endpoint answered HTTP %ld "
             "without a redirect",
             res->http_status);
  cmcp_oauth_authz_fail(a, why);
}

void cmcp__oauth_headless_authorize(cmcp_oauth_t *o, cmcp_oauth_authz_t *a,
                                    const char *url, void *data) {
  int rc = cmcp__fetch(cmcp_oauth_authz_loop(a), "GET", url, NULL, NULL, 0,
                       AGENT_MAX_BODY, AGENT_FETCH_MS, on_headless, a);
  (void)o;
  (void)data;
  if (rc != 0)
    cmcp_oauth_authz_fail(a, cmcp_strerror(rc));
}

/* ---- loopback ---------------------------------------------------------- */

int cmcp__oauth_free_port(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
  if (fd < 0)
    return 0;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

typedef struct loopback {
  uv_tcp_t server;
  uv_timer_t timer;
  cmcp_oauth_authz_t *authz;
  int open;        /* handles not yet closed */
  int finishing;   /* the result is decided */
  char origin[64]; /* http://127.0.0.1:PORT */
  char path[256];  /* the redirect URI's path */
  char *result;    /* the redirect URL, or NULL */
  char fail[128];  /* why not */
} loopback;

typedef struct lb_conn {
  uv_tcp_t tcp;
  uv_write_t wreq;
  loopback *lb;
  cmcp__buf req;
  int answered;
  char out[256]; /* the response, alive until written */
} lb_conn;

static void lb_closed(uv_handle_t *h);

/* Delivers the result once every handle is closed. */
static void lb_maybe_done(loopback *lb) {
  cmcp_oauth_authz_t *a = lb->authz;
  if (!lb->finishing || lb->open > 0)
    return;
  if (lb->result != NULL)
    cmcp_oauth_authz_done(a, lb->result);
  else
    cmcp_oauth_authz_fail(a, lb->fail);
  cmcp__free(lb->result);
  cmcp__free(lb);
}

static void lb_closed(uv_handle_t *h) {
  loopback *lb = h->data;
  lb->open--;
  lb_maybe_done(lb);
}

/* Stops listening; the result goes out when the last handle closes. */
static void lb_finish(loopback *lb) {
  if (lb->finishing)
    return;
  lb->finishing = 1;
  uv_close((uv_handle_t *)&lb->server, lb_closed);
  uv_close((uv_handle_t *)&lb->timer, lb_closed);
}

static void conn_closed(uv_handle_t *h) {
  lb_conn *c = h->data;
  loopback *lb = c->lb;
  cmcp__buf_free(&c->req);
  cmcp__free(c);
  lb->open--;
  lb_maybe_done(lb);
}

static void conn_close(lb_conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *w, int status) {
  lb_conn *c = w->data;
  (void)status;
  conn_close(c);
}

static void conn_answer(lb_conn *c, int ok) {
  static const char body[] =
      "Authorization received. You may close this window.\n";
  uv_buf_t b;
  int n;
  if (ok)
    n = snprintf(c->out, sizeof(c->out),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
                 "charset=utf-8\r\nConnection: close\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 sizeof(body) - 1, body);
  else
    n = snprintf(c->out, sizeof(c->out),
                 "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                 "Content-Length: 0\r\n\r\n");
  b = uv_buf_init(c->out, (unsigned)n);
  c->answered = 1;
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
    conn_close(c);
}

/* Reads "GET TARGET HTTP/1.x" from a whole request head; 1 if TARGET is
 * the redirect path (then the result is kept). */
static int conn_take(lb_conn *c) {
  loopback *lb = c->lb;
  const char *t, *sp;
  size_t plen = strlen(lb->path);
  if (strncmp(c->req.data, "GET ", 4) != 0)
    return 0;
  t = c->req.data + 4;
  sp = strchr(t, ' ');
  if (sp == NULL || (size_t)(sp - t) < plen || memcmp(t, lb->path, plen) != 0 ||
      (t[plen] != '?' && t + plen != sp) || lb->result != NULL)
    return 0;
  lb->result = cmcp__malloc(strlen(lb->origin) + (size_t)(sp - t) + 1);
  if (lb->result == NULL)
    return 0;
  memcpy(lb->result, lb->origin, strlen(lb->origin));
  memcpy(lb->result + strlen(lb->origin), t, (size_t)(sp - t));
  lb->result[strlen(lb->origin) + (size_t)(sp - t)] = '\0';
  return 1;
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char slab[2048];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(slab, sizeof(slab)); /* copied out at once */
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  lb_conn *c = s->data;
  int ok;
  if (n < 0 || c->answered) {
    if (n < 0)
      conn_close(c);
    return;
  }
  if (cmcp__buf_add(&c->req, buf->base, (size_t)n) != 0) {
    conn_close(c); /* too large */
    return;
  }
  if (c->req.data == NULL || strstr(c->req.data, "\r\n\r\n") == NULL)
    return;
  uv_read_stop(s);
  ok = conn_take(c);
  conn_answer(c, ok);
  if (ok)
    lb_finish(c->lb);
}

static void on_connection(uv_stream_t *server, int status) {
  loopback *lb = server->data;
  lb_conn *c;
  if (status != 0 || lb->finishing)
    return;
  c = cmcp__calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->lb = lb;
  cmcp__buf_init(&c->req, LOOPBACK_MAX_REQUEST);
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  lb->open++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) != 0)
    conn_close(c);
}

static void on_timeout(uv_timer_t *t) {
  loopback *lb = t->data;
  snprintf(lb->fail, sizeof(lb->fail), "no redirect within %d minutes",
           LOOPBACK_WAIT_MS / 60000);
  lb_finish(lb);
}

static void free_handle(uv_handle_t *h) {
  cmcp__free(h);
}

static void on_opener_exit(uv_process_t *p, int64_t status, int sig) {
  (void)status;
  (void)sig;
  uv_close((uv_handle_t *)p, free_handle);
}

/* Opens url in the desktop's browser when there is a desktop session;
 * failing that silently is fine (the URL is printed). */
static void open_browser(uv_loop_t *loop, const char *url) {
  char *args[3];
  uv_process_options_t opt;
  uv_stdio_container_t io[3];
  uv_process_t *p;
  if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
    return;
  p = cmcp__calloc(1, sizeof(*p));
  if (p == NULL)
    return;
  args[0] = "xdg-open";
  args[1] = (char *)url;
  args[2] = NULL;
  memset(&opt, 0, sizeof(opt));
  memset(io, 0, sizeof(io));
  io[0].flags = io[1].flags = io[2].flags = UV_IGNORE;
  opt.file = "xdg-open";
  opt.args = args;
  opt.stdio = io;
  opt.stdio_count = 3;
  opt.exit_cb = on_opener_exit;
  if (uv_spawn(loop, p, &opt) != 0) {
    uv_close((uv_handle_t *)p, free_handle);
    return;
  }
  uv_unref((uv_handle_t *)p);
}

/* Binds 127.0.0.1 at the redirect URI's port and arms the wait. */
static int lb_listen(loopback *lb, uv_loop_t *loop, const char *redirect) {
  struct sockaddr_in sa;
  cmcp__url u;
  const char *colon;
  long port;
  int rc;
  if (cmcp__url_split(redirect, &u) != 0 ||
      (colon = memchr(u.host, ':', u.host_len)) == NULL)
    return UV_EINVAL;
  port = strtol(colon + 1, NULL, 10);
  if (port <= 0 || port > 65535 || u.path_len >= sizeof(lb->path))
    return UV_EINVAL;
  snprintf(lb->origin, sizeof(lb->origin), "http://127.0.0.1:%ld", port);
  memcpy(lb->path, u.path, u.path_len);
  lb->path[u.path_len] = '\0';
  uv_tcp_init(loop, &lb->server);
  uv_timer_init(loop, &lb->timer);
  lb->server.data = lb->timer.data = lb;
  lb->open = 2;
  uv_ip4_addr("127.0.0.1", (int)port, &sa);
  rc = uv_tcp_bind(&lb->server, (const struct sockaddr *)&sa, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&lb->server, 8, on_connection);
  if (rc == 0)
    rc = uv_timer_start(&lb->timer, on_timeout, LOOPBACK_WAIT_MS, 0);
  return rc;
}

/* The flow is gone: stop listening now rather than at the timeout. */
static void lb_abandon(cmcp_oauth_authz_t *a) {
  loopback *lb = a->agent;
  a->on_abandon = NULL;
  snprintf(lb->fail, sizeof(lb->fail), "abandoned");
  lb_finish(lb);
}

void cmcp__oauth_loopback_authorize(cmcp_oauth_t *o, cmcp_oauth_authz_t *a,
                                    const char *url, void *data) {
  loopback *lb = cmcp__calloc(1, sizeof(*lb));
  int rc;
  (void)data;
  if (lb == NULL) {
    cmcp_oauth_authz_fail(a, "out of memory");
    return;
  }
  lb->authz = a;
  rc =
      lb_listen(lb, cmcp_oauth_authz_loop(a), cmcp_oauth_authz_redirect_uri(a));
  if (rc != 0) {
    snprintf(lb->fail, sizeof(lb->fail), "cannot listen for the redirect: %s",
             uv_strerror(rc));
    if (lb->open == 0) {
      cmcp_oauth_authz_fail(a, lb->fail);
      cmcp__free(lb);
      return;
    }
    lb_finish(lb);
    return;
  }
  a->agent = lb;
  a->on_abandon = lb_abandon;
  fprintf(stderr, "Open this URL in a browser to authorize:\n\n  %s\n\n", url);
  if (cmcp__oauth_open_browser(o))
    open_browser(cmcp_oauth_authz_loop(a), url);
}
