/* src/client/stdio.c: the stdio client transport — a spawned server
 * process spoken to over its stdin and stdout (spec, basic/transports,
 * "stdio"): one JSON-RPC message per line, no embedded newlines; the
 * server's stderr goes to ours.
 *
 *   - Input is split by the framer (src/transport/framing.h). A line longer
 *     than the message limit is never buffered: the framer reports it as
 *     soon as it is known to be too long, and the transport then ends the
 *     connection with a clear reason (the message cannot be read, so the
 *     request it answers could never complete).
 *   - Output is a bounded queue of uv_write requests: a message that would
 *     take the unsent bytes past the bound is refused with CMCP_ELIMIT.
 *   - The child's exit ends the transport (after its last output is read),
 *     reported once with its exit status.
 *   - Closing follows the spec's shutdown order: close the child's stdin,
 *     wait (2 s), SIGTERM, wait (2 s), SIGKILL.
 * Writing to a child that is gone must not kill the process: SIGPIPE is
 * ignored (when it still has its default action) the first time a child
 * is spawned.
 */
#include "client/client_eng.h"
#include "transport/framing.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define GRACE_MS 2000 /* each step of the shutdown */
#define EXIT_WAIT_MS 500

typedef struct stdio_t {
  cmcp__ctransport base;
  char **argv, **env, *cwd;
  size_t max_message;
  size_t queued, queue_limit; /* unsent bytes and their bound */
  uv_process_t proc;
  uv_pipe_t in, out; /* the child's stdin (we write), stdout (we read) */
  uv_timer_t timer;
  cmcp__framer framer;
  char rbuf[65536];
  int proc_init; /* proc is a handle of the loop (uv_spawn was called) */
  int running, exited, out_eof, reported, closing, closed_in, all_closing;
  int64_t exit_status;
  int term_signal;
  int handles; /* handles not yet closed */
  void (*done)(cmcp__ctransport *t);
} stdio_t;

typedef struct wreq {
  uv_write_t req;
  stdio_t *s;
  size_t len;
  char data[];
} wreq;

/* ---- ending ------------------------------------------------------------ */

static void free_stdio(stdio_t *s) {
  cmcp__framer_free(&s->framer);
  cmcp__strv_free(s->argv);
  cmcp__strv_free(s->env);
  cmcp__free(s->cwd);
  cmcp__free(s);
}

static void handle_closed(uv_handle_t *h) {
  stdio_t *s = h->data;
  if (--s->handles > 0 || !s->all_closing)
    return;
  if (s->done)
    s->done(&s->base);
  free_stdio(s);
}

static void close_handle(stdio_t *s, uv_handle_t *h) {
  if (!uv_is_closing(h)) {
    s->handles++;
    uv_close(h, handle_closed);
  }
}

/* Closes every handle; done runs when the last one is closed. */
static void close_all(stdio_t *s) {
  s->all_closing = 1;
  s->handles++; /* held until every close is queued */
  if (s->proc_init)
    close_handle(s, (uv_handle_t *)&s->proc);
  close_handle(s, (uv_handle_t *)&s->in);
  close_handle(s, (uv_handle_t *)&s->out);
  close_handle(s, (uv_handle_t *)&s->timer);
  handle_closed((uv_handle_t *)&s->timer);
}

/* Tells the engine the connection is over (once, never while closing). */
static void report_end(stdio_t *s, int status, const char *why) {
  char detail[160];
  if (s->reported || s->closing)
    return;
  s->reported = 1;
  if (!why) {
    if (!s->exited)
      snprintf(detail, sizeof(detail), "the server closed its output");
    else if (s->term_signal)
      snprintf(detail, sizeof(detail), "the server was killed by signal %d",
               s->term_signal);
    else
      snprintf(detail, sizeof(detail), "the server exited with status %lld",
               (long long)s->exit_status);
    why = detail;
  }
  uv_read_stop((uv_stream_t *)&s->out);
  cmcp__client_on_transport_closed(s->base.cli, status, why);
}

static void exit_wait_over(uv_timer_t *t) {
  report_end(t->data, CMCP_ECLOSED, NULL);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  stdio_t *s = p->data;
  s->exited = 1;
  s->running = 0;
  s->exit_status = status;
  s->term_signal = sig;
  if (s->closing) {
    close_all(s);
    return;
  }
  /* Its last lines may still be in the pipe: wait for EOF, briefly (a
   * grandchild may hold the pipe open). */
  if (s->out_eof)
    report_end(s, CMCP_ECLOSED, NULL);
  else
    uv_timer_start(&s->timer, exit_wait_over, EXIT_WAIT_MS, 0);
}

/* ---- reading ----------------------------------------------------------- */

static int on_frame(void *ctx, cmcp__frame_kind kind, const char *text,
                    size_t len) {
  stdio_t *s = ctx;
  char why[128];
  if (s->closing || s->reported)
    return -1;
  if (kind == CMCP__FRAME_OVERSIZE) {
    snprintf(why, sizeof(why),
             "the server sent a message longer than %zu bytes", s->max_message);
    report_end(s, CMCP_ELIMIT, why);
    return -1;
  }
  cmcp__client_on_message(s->base.cli, text, len);
  return s->closing || s->reported ? -1 : 0;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  stdio_t *s = h->data;
  CMCP__UNUSED(hint);
  buf->base = s->rbuf;
  buf->len = sizeof(s->rbuf);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  stdio_t *s = st->data;
  size_t used;
  if (s->closing) {
    if (n < 0)
      uv_read_stop(st);
    return;
  }
  if (n > 0) {
    if (cmcp__framer_push(&s->framer, buf->base, (size_t)n, &used, on_frame,
                          s) == CMCP_ENOMEM)
      report_end(s, CMCP_ENOMEM, "out of memory reading from the server");
    return;
  }
  if (n == 0)
    return;
  uv_read_stop(st);
  s->out_eof = 1;
  if (n == UV_EOF)
    (void)cmcp__framer_finish(&s->framer, on_frame, s);
  if (s->closing || s->reported)
    return;
  if (s->exited)
    report_end(s, CMCP_ECLOSED, NULL);
  else
    uv_timer_start(&s->timer, exit_wait_over, EXIT_WAIT_MS, 0);
}

/* ---- the vtable -------------------------------------------------------- */

static int st_open(cmcp__ctransport *t) {
  stdio_t *s = (stdio_t *)t;
  uv_process_options_t o;
  uv_stdio_container_t io[3];
  int rc;
  static int sigpipe_done;
  if (!sigpipe_done) {
    struct sigaction sa;
    sigpipe_done = 1;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
      signal(SIGPIPE, SIG_IGN);
  }
  memset(&o, 0, sizeof(o));
  memset(io, 0, sizeof(io));
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&s->in;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&s->out;
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  o.file = s->argv[0];
  o.args = s->argv;
  o.env = s->env;
  o.cwd = s->cwd;
  o.stdio = io;
  o.stdio_count = 3;
  o.exit_cb = on_exit_cb;
  s->proc.data = s;
  rc = uv_spawn(t->loop, &s->proc, &o);
  s->proc_init = 1; /* initialized even when spawning failed */
  if (rc != 0) {
    cmcp__client_errorf(t->cli, "cannot start %s: %s", s->argv[0],
                        uv_strerror(rc));
    return CMCP_EIO;
  }
  s->running = 1;
  if ((rc = uv_read_start((uv_stream_t *)&s->out, alloc_cb, read_cb)) != 0) {
    cmcp__client_errorf(t->cli, "cannot read from %s: %s", s->argv[0],
                        uv_strerror(rc));
    return CMCP_EIO;
  }
  return 0;
}

static void write_cb(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  stdio_t *s = w->s;
  s->queued -= w->len;
  cmcp__free(w);
  if (status != 0 && status != UV_ECANCELED && !s->closing)
    cmcp__log(CMCP_LOG_INFO, "client: writing to the server failed: %s",
              uv_strerror(status));
}

static int st_send(cmcp__ctransport *t, const char *json, size_t len,
                   const cmcp__csend *info) {
  stdio_t *s = (stdio_t *)t;
  wreq *w;
  uv_buf_t b;
  CMCP__UNUSED(info);
  if (s->closing || s->reported || s->closed_in)
    return CMCP_ECLOSED;
  /* "Messages are delimited by newlines, and MUST NOT contain embedded
   * newlines": the encoder escapes them inside strings; refuse any other. */
  if (memchr(json, '\n', len))
    return CMCP_EINVAL;
  if (s->queued + len + 1 > s->queue_limit)
    return CMCP_ELIMIT;
  if (!(w = cmcp__malloc(sizeof(*w) + len + 1)))
    return CMCP_ENOMEM;
  memcpy(w->data, json, len);
  w->data[len] = '\n';
  w->len = len + 1;
  w->s = s;
  b = uv_buf_init(w->data, (unsigned)(len + 1));
  if (uv_write(&w->req, (uv_stream_t *)&s->in, &b, 1, write_cb) != 0) {
    cmcp__free(w);
    return CMCP_ECLOSED;
  }
  s->queued += w->len;
  return 0;
}

static int st_open_stream(cmcp__ctransport *t) {
  CMCP__UNUSED(t);
  return CMCP_EUNSUPPORTED;
}

static void st_abandon(cmcp__ctransport *t, int64_t id) {
  /* One shared channel: nothing to stop but the engine's own waiting. */
  CMCP__UNUSED(t);
  CMCP__UNUSED(id);
}

static const char *st_session_id(cmcp__ctransport *t) {
  CMCP__UNUSED(t);
  return NULL;
}

static void shutdown_step(uv_timer_t *timer) {
  stdio_t *s = timer->data;
  if (s->exited)
    return;
  if (s->term_signal == 0) {
    s->term_signal = -1; /* SIGTERM sent */
    uv_process_kill(&s->proc, SIGTERM);
    uv_timer_start(&s->timer, shutdown_step, GRACE_MS, 0);
    return;
  }
  uv_process_kill(&s->proc, SIGKILL);
}

static void st_close(cmcp__ctransport *t, void (*done)(cmcp__ctransport *t)) {
  stdio_t *s = (stdio_t *)t;
  s->closing = 1;
  s->done = done;
  uv_timer_stop(&s->timer);
  if (!s->running) {
    close_all(s);
    return;
  }
  /* "Closing the input stream to the child process", then wait, then
   * SIGTERM, then SIGKILL. Unsent messages are dropped (uv_close cancels
   * them). Its output is still read (and dropped) meanwhile, so that a
   * child blocked on a full pipe can see the EOF and exit. */
  s->closed_in = 1;
  s->term_signal = 0;
  if (!s->out_eof)
    (void)uv_read_start((uv_stream_t *)&s->out, alloc_cb, read_cb);
  close_handle(s, (uv_handle_t *)&s->in);
  uv_timer_start(&s->timer, shutdown_step, GRACE_MS, 0);
}

static const cmcp__ctransport_vtbl stdio_vtbl = {
    st_open, st_send, st_open_stream, st_abandon, st_session_id, st_close};

cmcp__ctransport *cmcp__ctransport_stdio(cmcp_client_t *cli, uv_loop_t *loop,
                                         const char *const *argv,
                                         const char *const *env,
                                         const char *cwd, size_t max_message) {
  stdio_t *s;
  int st1, st2;
  if (!argv || !argv[0])
    return NULL;
  if (!(s = cmcp__calloc(1, sizeof(*s))))
    return NULL;
  s->argv = cmcp__strv_dup(argv, &st1);
  s->env = cmcp__strv_dup(env, &st2);
  if (st1 != 0 || st2 != 0 || (cwd && !(s->cwd = cmcp__strdup(cwd)))) {
    free_stdio(s);
    return NULL;
  }
  s->base.vt = &stdio_vtbl;
  s->base.cli = cli;
  s->base.loop = loop;
  s->max_message = max_message;
  s->queue_limit =
      max_message * 4 > ((size_t)1 << 20) ? max_message * 4 : (size_t)1 << 20;
  cmcp__framer_init(&s->framer, max_message);
  uv_pipe_init(loop, &s->in, 0);
  uv_pipe_init(loop, &s->out, 0);
  uv_timer_init(loop, &s->timer);
  s->in.data = s->out.data = s->timer.data = s;
  return &s->base;
}
