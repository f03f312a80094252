/* stdio.c: cmcp-bench over a server's stdio (--stdio 'CMD ARGS').
 *
 * The server runs under /bin/sh -c; requests are newline-delimited JSON-RPC
 * on its stdin, answers lines on its stdout, matched to their client by
 * id (id = request number << 20 | client slot). All clients share the
 * pipe, pipelined: each client has one request in flight, so with many
 * clients many requests are. A legacy protocol does initialize and
 * notifications/initialized once for the pipe; 2026-07-28 requests carry
 * _meta. Streams are not held over stdio.
 */
#define _GNU_SOURCE /* memmem */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ID_SHIFT 20 /* clients per process < 2^20 */
#define LINE_LIMIT (64u << 20)

typedef struct slot {
  int64_t id; /* 0: nothing in flight */
  uint64_t intended;
  uint64_t sent;     /* ns */
  uint64_t deadline; /* ms */
  uint8_t method;
} slot;

typedef struct stdio_state {
  uv_process_t proc;
  uv_pipe_t in, out;
  cmcp__buf line;
  slot *slots;
  int ready; /* handshake done */
  int exited;
} stdio_state;

static void on_closed(uv_handle_t *h) {
  (void)h;
}

static void on_write(uv_write_t *req, int status) {
  (void)status;
  cmcp__free(req->data);
  cmcp__free(req);
}

/* Writes text plus a newline to the server (taken over). */
static int write_line(bench_runner *r, char *text, size_t len) {
  stdio_state *s = r->stdio;
  uv_write_t *w = cmcp__malloc(sizeof *w);
  uv_buf_t b[2];
  int rc;
  if (w == NULL) {
    cmcp__free(text);
    return CMCP_ENOMEM;
  }
  w->data = text;
  b[0] = uv_buf_init(text, (unsigned)len);
  b[1] = uv_buf_init("\n", 1);
  rc = uv_write(w, (uv_stream_t *)&s->in, b, 2, on_write);
  if (rc != 0) {
    cmcp__free(text);
    cmcp__free(w);
    return rc;
  }
  r->c.bytes_out += len + 1;
  return 0;
}

static int write_str(bench_runner *r, const char *text) {
  char *copy = cmcp__strdup(text);
  return copy == NULL ? CMCP_ENOMEM : write_line(r, copy, strlen(copy));
}

/* The legacy handshake of the pipe. */
static int handshake(bench_runner *r) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
           "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
           "\"clientInfo\":{\"name\":\"cmcp-bench\",\"version\":\"1\"}}}",
           r->o->protocol);
  return write_str(r, body);
}

/* One answer line from the server. */
static void on_line(bench_runner *r, const char *p, size_t n) {
  stdio_state *s = r->stdio;
  const char *at = memmem(p, n < 64 ? n : 64, "\"id\":", 5);
  long long id;
  char *end;
  size_t k;
  slot *sl;
  r->c.bytes_in += n + 1;
  if (at == NULL)
    return; /* a notification or a server request */
  errno = 0;
  id = strtoll(at + 5, &end, 10);
  if (errno != 0 || end == at + 5)
    return;
  if (id == 0 && !s->ready) {
    s->ready = write_str(r, "{\"jsonrpc\":\"2.0\",\"method\":"
                            "\"notifications/initialized\"}") == 0;
    return;
  }
  k = (size_t)(id & ((1 << ID_SHIFT) - 1));
  if (k >= (size_t)r->nclients)
    return;
  sl = &s->slots[k];
  if (sl->id != id)
    return; /* timed out already */
  sl->id = 0;
  r->inflight--;
  bench_record(r, bench_classify(p, n, id, sl->method), sl->intended, sl->sent);
  bench_client_answered(&r->clients[k]);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char mem[65536];
  (void)h;
  (void)hint;
  buf->base = mem;
  buf->len = sizeof mem;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  bench_runner *r = st->data;
  stdio_state *s = r->stdio;
  const char *p = buf->base, *end, *nl;
  if (nread < 0) {
    uv_read_stop(st);
    s->exited = 1;
    return;
  }
  end = p + nread;
  while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    if (s->line.len > 0) {
      if (cmcp__buf_add(&s->line, p, (size_t)(nl - p)) == 0)
        on_line(r, s->line.data, s->line.len);
      cmcp__buf_reset(&s->line);
    } else {
      on_line(r, p, (size_t)(nl - p));
    }
    p = nl + 1;
  }
  if (p < end && cmcp__buf_add(&s->line, p, (size_t)(end - p)) != 0)
    cmcp__buf_reset(&s->line); /* a line past the limit: dropped */
}

static void on_server_exit(uv_process_t *p, int64_t status, int sig) {
  bench_runner *r = p->data;
  stdio_state *s = r->stdio;
  (void)status;
  (void)sig;
  s->exited = 1;
  uv_close((uv_handle_t *)p, on_closed);
}

int bench_stdio_start(bench_runner *r) {
  stdio_state *s = cmcp__calloc(1, sizeof *s);
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  char *args[] = {"/bin/sh", "-c", (char *)r->o->stdio_cmd, NULL};
  int rc;
  if (s == NULL)
    return CMCP_ENOMEM;
  s->slots = cmcp__calloc((size_t)r->nclients + 1, sizeof *s->slots);
  if (s->slots == NULL) {
    cmcp__free(s);
    return CMCP_ENOMEM;
  }
  r->stdio = s;
  cmcp__buf_init(&s->line, LINE_LIMIT);
  uv_pipe_init(&r->loop, &s->in, 0);
  uv_pipe_init(&r->loop, &s->out, 0);
  s->in.data = s->out.data = s->proc.data = r;
  memset(&po, 0, sizeof po);
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&s->in;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&s->out;
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  po.file = args[0];
  po.args = args;
  po.stdio = io;
  po.stdio_count = 3;
  po.exit_cb = on_server_exit;
  rc = uv_spawn(&r->loop, &s->proc, &po);
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
  if (rc == 0 && !r->o->modern)
    rc = handshake(r);
  else
    s->ready = 1;
  return rc;
}

int bench_stdio_ready(const bench_runner *r) {
  const stdio_state *s = r->stdio;
  return s->ready;
}

void bench_stdio_fire(bench_client *cl) {
  bench_runner *r = cl->r;
  stdio_state *s = r->stdio;
  size_t k = (size_t)(cl - r->clients);
  slot *sl = &s->slots[k];
  cmcp__buf b;
  int m;
  int64_t seq;
  if (cl->bl_len == 0 || s->exited)
    return;
  if (sl->id != 0) { /* its request is still out: this one waits, late */
    cl->bl_late = 1;
    return;
  }
  sl->intended = bench_client_take(cl, &m, &seq);
  sl->sent = bench_now_ns();
  sl->id = (seq << ID_SHIFT) | (int64_t)k;
  sl->method = (uint8_t)m;
  sl->deadline = uv_now(&r->loop) + (uint64_t)r->o->timeout_ms;
  cmcp__buf_init(&b, LINE_LIMIT);
  if (bench_build_body(r, m, sl->id, &b) != 0 ||
      write_line(r, cmcp__buf_take(&b, NULL), b.len) != 0) {
    cmcp__buf_free(&b);
    sl->id = 0;
    bench_record(r, BENCH_E_CONNECT, sl->intended, 0);
    return;
  }
  r->inflight++;
}

void bench_stdio_sweep(bench_runner *r, uint64_t now_ms) {
  stdio_state *s = r->stdio;
  int k;
  for (k = 0; k < r->nclients; k++) {
    slot *sl = &s->slots[k];
    if (sl->id != 0 && (now_ms >= sl->deadline || s->exited)) {
      sl->id = 0;
      r->inflight--;
      bench_record(r, BENCH_E_TIMEOUT, sl->intended, 0);
      if (now_ms != UINT64_MAX)
        bench_client_answered(&r->clients[k]);
    }
  }
}

void bench_stdio_stop(bench_runner *r) {
  stdio_state *s = r->stdio;
  uv_close((uv_handle_t *)&s->in, on_closed); /* EOF: the server ends */
  uv_close((uv_handle_t *)&s->out, on_closed);
  if (!s->exited)
    uv_process_kill(&s->proc, SIGTERM);
  /* the exit callback closes the process handle */
}

/* Frees what bench_stdio_start() made, once the loop has ended. */
void bench_stdio_free(bench_runner *r) {
  stdio_state *s = r->stdio;
  if (s == NULL)
    return;
  cmcp__buf_free(&s->line);
  cmcp__free(s->slots);
  cmcp__free(s);
  r->stdio = NULL;
}
