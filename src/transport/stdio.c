/* src/transport/stdio.c: newline-delimited JSON-RPC on two descriptors,
 * on a private libuv loop (see stdio.h for the behaviour).
 *
 * States: SERVING (reading) -> DRAINING (input over: EOF or a signal;
 * in-flight work finishes) -> FLUSHING (peer closed; queued output is
 * written) -> CLOSING (worker threads joined, mailbox and handles closed).
 * A check handle runs once per loop turn after I/O: it writes the output
 * queued during the turn in one write and advances the state; an idle
 * handle ("kick") keeps the loop from sleeping when something was queued
 * outside the I/O phase.
 */
#include "transport/stdio.h"
#include "base/shed.h"
#include "base/stats.h"

#include "proto/peer.h"
#include "rt/rt.h"
#include "transport/framing.h"
#include "json/json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)64 * 1024)
#define KEEP_BYTES ((size_t)64 * 1024) /* write buffers kept when idle */
#define TICK_MS 250
#define FLUSH_GRACE_MS 1000 /* output flush after a drain timeout */

typedef enum { FD_PIPE, FD_TCP, FD_TTY, FD_PLAIN } fd_kind;

typedef union any_stream {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_pipe_t pipe;
  uv_tcp_t tcp;
  uv_tty_t tty;
} any_stream;

typedef enum { ST_SERVING, ST_DRAINING, ST_FLUSHING, ST_CLOSING } run_state;

typedef struct stdio_rt {
  uv_loop_t loop;
  const cmcp__stdio_config *cfg;
  cmcp__peer_t *peer;
  cmcp__mailbox *mb;
  cmcp__workers *pool;
  cmcp__framer framer;
  /* input */
  int in_fd;
  fd_kind in_kind;
  any_stream in;
  int in_open;       /* in needs uv_close */
  uv_stream_t *in_s; /* NULL for plain read() */
  uv_idle_t in_idle; /* drives plain read() */
  char *rbuf;        /* READ_CHUNK bytes */
  const char *held;  /* unconsumed rest of rbuf while paused */
  size_t held_len;
  int in_active; /* a read is armed */
  int in_done;   /* no more input will be read */
  int paused;    /* stopped by back-pressure */
  /* output */
  int out_fd;
  fd_kind out_kind;
  any_stream out;
  int out_open;
  uv_stream_t *out_s; /* NULL for plain write() */
  cmcp__buf pending;  /* queued during this turn */
  cmcp__buf writing;  /* handed to uv_write */
  uv_write_t wreq;
  int write_busy;
  int out_broken; /* nothing more can be written */
  size_t high_water, hard_limit;
  /* loop handles */
  uv_timer_t tick, drain_timer;
  uv_check_t check;
  uv_idle_t kick;
  uv_prepare_t lag; /* measures each turn's busy time for shed */
  cmcp__shed shed;  /* --max-queue-delay */
  uv_signal_t sig[2];
  int sig_open;
  /* state */
  run_state state;
  int drain_signal; /* a signal started the drain */
  int close_asked;  /* the engine asked to end */
  int expired;      /* the drain deadline passed; calls were cancelled */
  int abandon;      /* blocking work outlived the grace period too */
  uint64_t asks_sent;
  int result;
  int saved_flags[2];
  struct sigaction old_sigpipe;
  int sigpipe_set;
} stdio_rt;

static void advance(stdio_rt *rt);
static void on_drain_timer(uv_timer_t *h);
static void consume_input(stdio_rt *rt, const char *data, size_t n);

void cmcp__stdio_config_from(cmcp__stdio_config *cfg,
                             const cmcp_server_t *srv) {
  int64_t v;
  memset(cfg, 0, sizeof *cfg);
  v = cmcp_server_limit(srv, CMCP_LIMIT_MESSAGE_BYTES);
  cfg->max_message_bytes = v > 0 ? (size_t)v : CMCP__JSON_DEFAULT_MAX_BYTES;
  v = cmcp_server_limit(srv, CMCP_LIMIT_OUTBOUND_BYTES);
  cfg->outbound_bytes = v > 0 ? (size_t)v : (size_t)16 << 20;
  v = cmcp_server_limit(srv, CMCP_LIMIT_WORKERS);
  cfg->workers = v > 0 && v <= 1024 ? (int)v : 4;
  v = cmcp_server_limit(srv, CMCP_LIMIT_WORKER_QUEUE);
  cfg->worker_queue = v > 0 ? (size_t)v : 1024;
  cfg->drain_timeout_ms = 5000;
}

/* Makes the loop run the check handle without sleeping in poll first, so
 * it sees what a timer, a close callback or the check itself changed. The
 * check stops the idle handle when it runs. */
static void on_kick(uv_idle_t *h) {
  (void)h;
}
static void kick(stdio_rt *rt) {
  if (rt->state != ST_CLOSING) /* the handles may be closing */
    uv_idle_start(&rt->kick, on_kick);
}

static size_t out_total(const stdio_rt *rt) {
  return rt->pending.len + rt->writing.len;
}

/* ---- input --------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  stdio_rt *rt = h->data;
  (void)hint;
  *buf = uv_buf_init(rt->rbuf, (unsigned)READ_CHUNK);
}

static void input_ended(stdio_rt *rt, int status);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  stdio_rt *rt = s->data;
  if (nread > 0) {
    consume_input(rt, buf->base, (size_t)nread);
  } else if (nread < 0) {
    if (nread != UV_EOF)
      cmcp__log(CMCP_LOG_WARNING, "stdio: reading stdin: %s",
                uv_strerror((int)nread));
    input_ended(rt, nread == UV_EOF || nread == UV_ECONNRESET ? 0 : CMCP_EIO);
  }
}

/* Reads a regular file, /dev/null or another plain descriptor, one chunk
 * per loop turn so completions and output interleave with the input. */
static void on_plain_readable(uv_idle_t *h) {
  stdio_rt *rt = h->data;
  ssize_t n = read(rt->in_fd, rt->rbuf, READ_CHUNK);
  if (n > 0) {
    consume_input(rt, rt->rbuf, (size_t)n);
  } else if (n == 0) {
    input_ended(rt, 0);
  } else if (errno != EINTR && errno != EAGAIN) {
    cmcp__log(CMCP_LOG_WARNING, "stdio: reading stdin: %s", strerror(errno));
    input_ended(rt, CMCP_EIO);
  }
}

static void input_arm(stdio_rt *rt) {
  int rc = 0;
  if (rt->in_active || rt->in_done)
    return;
  if (rt->in_s != NULL)
    rc = uv_read_start(rt->in_s, on_alloc, on_read);
  else
    rc = uv_idle_start(&rt->in_idle, on_plain_readable);
  if (rc != 0) {
    cmcp__log(CMCP_LOG_ERROR, "stdio: cannot read stdin: %s", uv_strerror(rc));
    input_ended(rt, CMCP_EIO);
    return;
  }
  rt->in_active = 1;
}

static void input_disarm(stdio_rt *rt) {
  if (!rt->in_active)
    return;
  if (rt->in_s != NULL)
    uv_read_stop(rt->in_s);
  else
    uv_idle_stop(&rt->in_idle);
  rt->in_active = 0;
}

/* Stops reading for good: what was read and not yet fed is dropped (it
 * was never admitted, so nothing is owed for it). */
static void input_stop(stdio_rt *rt) {
  input_disarm(rt);
  rt->in_done = 1;
  rt->held = NULL;
  rt->held_len = 0;
}

/* Back-pressure: stops reading while the output queue is full. */
static void input_pause(stdio_rt *rt) {
  if (rt->paused || rt->in_done)
    return;
  rt->paused = 1;
  input_disarm(rt);
  cmcp__log(CMCP_LOG_DEBUG, "stdio: output queue at %zu bytes; input paused",
            out_total(rt));
}

/* Resumes reading once the output queue drained to half its threshold:
 * first the rest of the chunk read before the pause, then the descriptor. */
static void input_maybe_resume(stdio_rt *rt) {
  const char *held = rt->held;
  size_t n = rt->held_len;
  if (!rt->paused || rt->state != ST_SERVING ||
      out_total(rt) > rt->high_water / 2)
    return;
  rt->paused = 0;
  rt->held = NULL;
  rt->held_len = 0;
  if (held != NULL)
    consume_input(rt, held, n);
  if (!rt->paused)
    input_arm(rt);
}

/* ---- output -------------------------------------------------------------- */

/* Appends one message and its '\n' to the queue; see the bound in
 * stdio.h. Loop thread. */
static int queue_out(stdio_rt *rt, const char *text, size_t len) {
  size_t before = rt->pending.len;
  int rc;
  if (rt->out_broken)
    return CMCP_ECLOSED;
  if (len >= rt->hard_limit - out_total(rt)) {
    cmcp__stats_refused(CMCP__REFUSE_OUTBOUND_BYTES);
    return CMCP_ELIMIT;
  }
  rc = cmcp__buf_add(&rt->pending, text, len);
  if (rc == 0)
    rc = cmcp__buf_add(&rt->pending, "\n", 1);
  if (rc != 0) { /* no half message in the queue */
    rt->pending.len = before;
    if (rt->pending.data != NULL)
      rt->pending.data[before] = '\0';
    return rc;
  }
  kick(rt);
  if (out_total(rt) >= rt->high_water)
    input_pause(rt);
  return 0;
}

/* Drops a write buffer's memory if it grew large, else empties it. */
static void buf_settle(cmcp__buf *b) {
  if (b->cap > KEEP_BYTES)
    cmcp__buf_free(b);
  else
    cmcp__buf_reset(b);
}

static void output_broke(stdio_rt *rt, int err) {
  if (rt->out_broken)
    return;
  rt->out_broken = 1;
  if (err == UV_EPIPE || err == -EPIPE)
    cmcp__log(CMCP_LOG_INFO, "stdio: stdout was closed by its reader");
  else
    cmcp__log(CMCP_LOG_ERROR, "stdio: writing stdout: %s", uv_strerror(err));
  buf_settle(&rt->pending);
  kick(rt);
}

static void on_written(uv_write_t *req, int status) {
  stdio_rt *rt = req->data;
  rt->write_busy = 0;
  buf_settle(&rt->writing);
  if (status == UV_ECANCELED) /* the handle closed with the write queued */
    rt->out_broken = 1;
  else if (status < 0)
    output_broke(rt, status);
  input_maybe_resume(rt);
  kick(rt); /* the check writes what queued meanwhile */
}

/* Writes the queue to a plain descriptor (regular file, /dev/null), where
 * write() does not wait for a reader. */
static void flush_plain(stdio_rt *rt) {
  size_t off = 0;
  while (off < rt->pending.len) {
    ssize_t n =
        write(rt->out_fd, rt->pending.data + off, rt->pending.len - off);
    if (n > 0) {
      off += (size_t)n;
    } else if (n == 0 || errno == EAGAIN) {
      kick(rt); /* try again next turn */
      break;
    } else if (errno != EINTR) {
      output_broke(rt, -errno);
      return;
    }
  }
  cmcp__buf_consume(&rt->pending, off);
  if (rt->pending.len == 0)
    buf_settle(&rt->pending);
  input_maybe_resume(rt);
}

/* Starts one write with everything queued (coalesced: one write per turn,
 * at most one in progress). */
static void flush_output(stdio_rt *rt) {
  cmcp__buf tmp;
  uv_buf_t b;
  int rc;
  if (rt->write_busy || rt->pending.len == 0 || rt->out_broken)
    return;
  if (rt->out_s == NULL) {
    flush_plain(rt);
    return;
  }
  tmp = rt->writing; /* empty */
  rt->writing = rt->pending;
  rt->pending = tmp;
  b = uv_buf_init(rt->writing.data, (unsigned)rt->writing.len);
  rt->wreq.data = rt;
  rc = uv_write(&rt->wreq, rt->out_s, &b, 1, on_written);
  if (rc != 0) {
    buf_settle(&rt->writing);
    output_broke(rt, rc);
    return;
  }
  rt->write_busy = 1;
}

/* Answers a line that passed the message limit with -32600 Invalid
 * Request: the text may well be JSON, but it is not an acceptable message.
 * It is not parsed, so its id is unknown and the error carries none (the
 * codec's rule; the 2025-11-25 schema makes id optional on an error). */
static void answer_oversize(stdio_rt *rt) {
  char msg[192];
  size_t len;
  char *text;
  snprintf(msg, sizeof msg,
           "Invalid Request: message longer than the limit of %zu bytes "
           "(max-message-bytes); the line was skipped",
           rt->cfg->max_message_bytes);
  text = cmcp__rpc_encode_error(NULL, CMCP_JSONRPC_INVALID_REQUEST, msg, NULL,
                                &len);
  if (text == NULL || queue_out(rt, text, len) != 0)
    cmcp__log(CMCP_LOG_ERROR, "stdio: could not answer an oversize message");
  cmcp__free(text);
}

/* ---- framing ------------------------------------------------------------- */

/* While the loop lags over --max-queue-delay (base/shed.h) a new request
 * is answered at once with -32000 naming the limit; anything else, and a
 * line that does not decode (the peer answers it), goes on. 1 if refused. */
static int refused_for_delay(stdio_rt *rt, const char *text, size_t len) {
  cmcp__json_limits lim = {rt->cfg->max_message_bytes,
                           CMCP__JSON_DEFAULT_MAX_DEPTH};
  cmcp__msg msg;
  json_object *bad_id = NULL;
  char err[128], *out;
  int code, refused = 0;
  size_t olen;
  if (!cmcp__shed_on(&rt->shed) ||
      cmcp__rpc_decode(text, len, &lim, &msg, &code, &bad_id, err,
                       sizeof err) != 0) {
    if (bad_id != NULL)
      json_object_put(bad_id);
    return 0;
  }
  if (msg.kind == CMCP__MSG_REQUEST) {
    refused = 1;
    cmcp__stats_refused(CMCP__REFUSE_MAX_QUEUE_DELAY);
    out = cmcp__rpc_encode_error(msg.id, CMCP_MCP_SERVER_OVERLOADED,
                                 "Server overloaded: queueing delay over "
                                 "--max-queue-delay",
                                 NULL, &olen);
    if (out == NULL || queue_out(rt, out, olen) != 0)
      cmcp__log(CMCP_LOG_ERROR, "stdio: could not answer a refused request");
    cmcp__free(out);
  }
  cmcp__msg_free(&msg);
  return refused;
}

/* One frame from the framer: feed a line to the peer, answer an oversize
 * one; ask the framer to pause when the output queue is full. */
static int on_frame(void *ctx, cmcp__frame_kind kind, const char *text,
                    size_t len) {
  stdio_rt *rt = ctx;
  int rc;
  if (rt->state != ST_SERVING || rt->peer == NULL)
    return CMCP_ECLOSED;
  if (kind == CMCP__FRAME_OVERSIZE) {
    cmcp__log(CMCP_LOG_WARNING, "stdio: skipping a message over %zu bytes",
              rt->cfg->max_message_bytes);
    answer_oversize(rt);
  } else if (!refused_for_delay(rt, text, len)) {
    rc = cmcp__peer_feed(rt->peer, text, len);
    if (rc == CMCP_ECLOSED) {
      rt->close_asked = 1;
      return rc;
    }
    if (rc != 0)
      cmcp__log(CMCP_LOG_ERROR, "stdio: message dropped: %s",
                cmcp_strerror(rc));
  }
  return out_total(rt) >= rt->high_water ? 1 : 0;
}

static void consume_input(stdio_rt *rt, const char *data, size_t n) {
  size_t used = 0, off = 0;
  int rc;
  do {
    rc = cmcp__framer_push(&rt->framer, data + off, n - off, &used, on_frame,
                           rt);
    off += used;
    if (rc == CMCP_ENOMEM)
      cmcp__log(CMCP_LOG_ERROR, "stdio: out of memory; a message is skipped");
  } while (rc == CMCP_ENOMEM && off < n);
  if (rc == 0 && off < n) { /* paused by back-pressure */
    rt->held = data + off;
    rt->held_len = n - off;
    input_pause(rt);
  }
  kick(rt);
}

/* End of input (EOF or a read error): a last line without '\n' is still a
 * message; then in-flight work drains. */
static void input_ended(stdio_rt *rt, int status) {
  input_stop(rt);
  if (status != 0 && rt->result == 0)
    rt->result = status;
  if (rt->state == ST_SERVING)
    cmcp__framer_finish(&rt->framer, on_frame, rt);
  if (rt->state == ST_SERVING)
    rt->state = ST_DRAINING;
  kick(rt);
}

/* ---- peer ops ------------------------------------------------------------ */

static int op_send(void *ctx, const char *json, size_t len,
                   const cmcp__out_info *info) {
  stdio_rt *rt = ctx;
  if (rt->peer == NULL)
    return CMCP_ECLOSED;
  /* "Messages are delimited by newlines, and MUST NOT contain embedded
   * newlines." Compact JSON never has one; refuse rather than corrupt the
   * framing if a caller ever produced one. */
  if (memchr(json, '\n', len) != NULL) {
    cmcp__log(CMCP_LOG_ERROR, "stdio: refusing a message with a raw newline");
    return CMCP_EINVAL;
  }
  if (info != NULL && info->kind == CMCP__OUT_REQUEST)
    rt->asks_sent++;
  return queue_out(rt, json, len);
}

static int op_post(void *ctx, void (*fn)(void *), void *arg) {
  stdio_rt *rt = ctx;
  return cmcp__mailbox_post(rt->mb, fn, arg);
}

static int op_run_blocking(void *ctx, void (*work)(void *),
                           void (*done)(void *), void *arg) {
  stdio_rt *rt = ctx;
  return cmcp__workers_submit(rt->pool, work, done, arg);
}

static void op_close(void *ctx, const char *reason) {
  stdio_rt *rt = ctx;
  cmcp__log(CMCP_LOG_WARNING, "stdio: ending the conversation: %s",
            reason != NULL ? reason : "closed by the server");
  rt->close_asked = 1;
  if (rt->result == 0)
    rt->result = CMCP_ECLOSED;
  /* The engine gives up on a consumer that does not read: waiting to
   * flush its queue could last forever, so the queue is dropped. */
  rt->out_broken = 1;
  buf_settle(&rt->pending);
  kick(rt);
}

static const cmcp__peer_ops stdio_ops = {op_send, op_post, op_run_blocking,
                                         op_close};

/* ---- shutdown ------------------------------------------------------------ */

/* Ends the conversation: no more input, the peer closes (calls still in
 * flight are cancelled), then queued output is flushed. */
static void finish_now(stdio_rt *rt) {
  cmcp__peer_t *peer = rt->peer;
  if (rt->state >= ST_FLUSHING)
    return;
  rt->state = ST_FLUSHING;
  input_stop(rt);
  uv_timer_stop(&rt->tick);
  rt->peer = NULL; /* op_send refuses from here on */
  if (peer != NULL)
    cmcp__peer_close(peer);
  kick(rt);
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void close_handles(stdio_rt *rt) {
  int i;
  if (rt->in_open)
    close_handle(&rt->in.handle);
  if (rt->out_open)
    close_handle(&rt->out.handle);
  rt->in_open = rt->out_open = 0;
  close_handle((uv_handle_t *)&rt->in_idle);
  close_handle((uv_handle_t *)&rt->kick);
  close_handle((uv_handle_t *)&rt->check);
  close_handle((uv_handle_t *)&rt->lag);
  close_handle((uv_handle_t *)&rt->tick);
  close_handle((uv_handle_t *)&rt->drain_timer);
  for (i = 0; i < rt->sig_open; i++)
    close_handle((uv_handle_t *)&rt->sig[i]);
}

static void on_pool_closed(void *data) {
  stdio_rt *rt = data;
  rt->pool = NULL;
  cmcp__mailbox_close(rt->mb); /* runs completions still queued */
  rt->mb = NULL;
  close_handles(rt);
}

/* Output flushed (or unwritable): join the workers, then close all. After
 * a drain timeout with handlers still running, stop the loop instead and
 * leave everything in place for the threads (the process ends next). */
static void begin_close(stdio_rt *rt) {
  rt->state = ST_CLOSING;
  if (rt->abandon) {
    uv_stop(&rt->loop);
    return;
  }
  /* After a signal the deadline still holds while the workers finish. */
  if (!rt->drain_signal)
    uv_timer_stop(&rt->drain_timer);
  cmcp__workers_close(rt->pool, on_pool_closed, rt);
}

/* At EOF: 1 if the calls still in flight can no longer finish on their
 * own. With no blocking job left, they wait either for an asynchronous
 * handler or for the client's answer to a server->client request; once the
 * server has asked the client anything, they are taken as the latter (the
 * answer could only come on the closed input). */
static int only_asks_remain(stdio_rt *rt) {
  return !rt->drain_signal && rt->asks_sent > 0 &&
         cmcp__workers_pending(rt->pool) == 0;
}

/* Moves the state machine on; runs once per loop turn (check handle). */
static void advance(stdio_rt *rt) {
  size_t inflight;
  switch (rt->state) {
  case ST_SERVING:
    if (rt->close_asked || rt->out_broken)
      finish_now(rt);
    break;
  case ST_DRAINING:
    inflight = rt->peer != NULL ? cmcp__peer_inflight(rt->peer) : 0;
    if (rt->close_asked || rt->out_broken || inflight == 0) {
      finish_now(rt);
    } else if (only_asks_remain(rt)) {
      cmcp__log(CMCP_LOG_WARNING,
                "stdio: stdin closed while %zu request(s) wait for the "
                "client; cancelling them",
                inflight);
      finish_now(rt);
    }
    break;
  case ST_FLUSHING:
    if (!rt->out_broken && (rt->write_busy || rt->pending.len > 0))
      break; /* still writing */
    /* Cancelled blocking handlers get the grace period to return. */
    if (!rt->abandon && rt->expired && cmcp__workers_pending(rt->pool) > 0)
      break;
    begin_close(rt);
    break;
  case ST_CLOSING:
    break;
  }
}

/* Before each poll: the turn that just ended was busy for the time since
 * the last prepare less the time the loop waited in poll. */
static void on_lag(uv_prepare_t *h) {
  stdio_rt *rt = h->data;
  cmcp__shed_mark(&rt->shed, uv_hrtime(), uv_metrics_idle_time(&rt->loop));
}

static void on_check(uv_check_t *h) {
  stdio_rt *rt = h->data;
  uv_idle_stop(&rt->kick);
  flush_output(rt);
  advance(rt);
  flush_output(rt); /* what finishing produced, in the same turn */
}

static void on_tick(uv_timer_t *h) {
  stdio_rt *rt = h->data;
  int64_t next;
  if (rt->peer == NULL)
    return;
  next = cmcp__peer_tick(rt->peer, cmcp__now_ms());
  if (next < 0 || next > TICK_MS)
    next = TICK_MS;
  uv_timer_start(&rt->tick, on_tick, next < 1 ? 1 : (uint64_t)next, 0);
  kick(rt);
}

/* The drain deadline passed (or a second signal came). While serving or
 * draining: cancel what is in flight and give the output and the cancelled
 * blocking handlers FLUSH_GRACE_MS more. Past that: drop the output, and if
 * blocking handlers still run, abandon them (the loop stops; the caller
 * ends the process). */
static void drain_expired(stdio_rt *rt) {
  size_t n;
  switch (rt->state) {
  case ST_SERVING:
  case ST_DRAINING:
    n = rt->peer != NULL ? cmcp__peer_inflight(rt->peer) : 0;
    if (n > 0)
      cmcp__log(CMCP_LOG_WARNING,
                "stdio: drain timeout: cancelling %zu request(s) in flight", n);
    rt->expired = 1;
    finish_now(rt);
    uv_timer_start(&rt->drain_timer, on_drain_timer, FLUSH_GRACE_MS, 0);
    break;
  case ST_FLUSHING:
    if (out_total(rt) > 0)
      cmcp__log(CMCP_LOG_WARNING,
                "stdio: stdout not drained in time; dropping %zu bytes",
                out_total(rt));
    rt->out_broken = 1;
    rt->abandon = cmcp__workers_pending(rt->pool) > 0;
    break;
  case ST_CLOSING:
    if (rt->pool != NULL) { /* the worker threads have not all returned */
      rt->abandon = 1;
      uv_stop(&rt->loop);
    }
    break;
  }
  if (rt->abandon)
    cmcp__log(CMCP_LOG_WARNING,
              "stdio: blocking handlers still running; giving up on them");
  kick(rt);
}

static void on_drain_timer(uv_timer_t *h) {
  drain_expired(h->data);
}

static void on_signal(uv_signal_t *h, int signum) {
  stdio_rt *rt = h->data;
  if (rt->drain_signal || rt->state >= ST_FLUSHING) {
    cmcp__log(CMCP_LOG_NOTICE, "stdio: second signal; ending now");
    drain_expired(rt);
    return;
  }
  cmcp__log(CMCP_LOG_NOTICE,
            "stdio: %s: finishing in-flight work (at most %lld ms)",
            signum == SIGINT ? "SIGINT" : "SIGTERM",
            (long long)rt->cfg->drain_timeout_ms);
  rt->drain_signal = 1;
  input_stop(rt);
  if (rt->state == ST_SERVING)
    rt->state = ST_DRAINING;
  uv_timer_start(&rt->drain_timer, on_drain_timer,
                 (uint64_t)rt->cfg->drain_timeout_ms, 0);
  kick(rt);
}

/* ---- setup --------------------------------------------------------------- */

/* Sorts a descriptor: libuv streams for pipes, stream sockets and ttys;
 * plain read()/write() for the rest (regular files, /dev/null and other
 * devices, which libuv refuses to open as streams). */
static int classify(int fd, fd_kind *kind) {
  struct stat st;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss, tlen;
  int type = 0;
  if (fstat(fd, &st) != 0)
    return CMCP_EIO;
  *kind = FD_PLAIN;
  if (isatty(fd)) {
    *kind = FD_TTY;
  } else if (S_ISFIFO(st.st_mode)) {
    *kind = FD_PIPE;
  } else if (S_ISSOCK(st.st_mode)) {
    tlen = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
        type != SOCK_STREAM ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
      return 0;
    if (ss.ss_family == AF_UNIX)
      *kind = FD_PIPE;
    else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
      *kind = FD_TCP;
  }
  return 0;
}

/* Opens a libuv stream on a duplicate of fd, so that closing the handle
 * never closes the caller's descriptor. *opened tells whether the handle
 * was initialised (and so must be closed); *extra_fd receives a duplicate
 * that libuv does not own (a tty it reopened), to be closed at the end. */
static int open_stream(stdio_rt *rt, int fd, fd_kind kind, int readable,
                       any_stream *s, int *opened, int *extra_fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3), rc;
  uv_os_fd_t used = -1;
  *opened = 0;
  if (d < 0)
    return CMCP_EIO;
  if (kind == FD_TTY) {
    rc = uv_tty_init(&rt->loop, &s->tty, d, readable);
    *opened = rc == 0;
    if (rc == 0 && uv_fileno(&s->handle, &used) == 0 && used != d)
      *extra_fd = d;
  } else if (kind == FD_TCP) {
    rc = uv_tcp_init(&rt->loop, &s->tcp);
    *opened = rc == 0;
    if (rc == 0)
      rc = uv_tcp_open(&s->tcp, d);
  } else {
    rc = uv_pipe_init(&rt->loop, &s->pipe, 0);
    *opened = rc == 0;
    if (rc == 0)
      rc = uv_pipe_open(&s->pipe, d);
  }
  if (rc != 0) {
    cmcp__log(CMCP_LOG_ERROR, "stdio: cannot open descriptor %d: %s", fd,
              uv_strerror(rc));
    close(d);
    return CMCP_EIO;
  }
  s->handle.data = rt;
  return 0;
}

static int open_ends(stdio_rt *rt, int *extra_in, int *extra_out) {
  int rc;
  if (rt->in_kind != FD_PLAIN) {
    rc = open_stream(rt, rt->in_fd, rt->in_kind, 1, &rt->in, &rt->in_open,
                     extra_in);
    if (rc != 0)
      return rc;
    rt->in_s = &rt->in.stream;
  }
  if (rt->out_kind == FD_PLAIN)
    return 0;
  if (rt->out_fd == rt->in_fd) { /* one socket or tty both ways */
    rt->out_s = rt->in_s;
    return 0;
  }
  rc = open_stream(rt, rt->out_fd, rt->out_kind, 0, &rt->out, &rt->out_open,
                   extra_out);
  if (rc != 0)
    return rc;
  rt->out_s = &rt->out.stream;
  return 0;
}

/* Handles that cannot fail to initialise, so that close_handles can
 * always close them all. */
static void init_handles(stdio_rt *rt) {
  uv_idle_init(&rt->loop, &rt->in_idle);
  uv_idle_init(&rt->loop, &rt->kick);
  uv_check_init(&rt->loop, &rt->check);
  uv_prepare_init(&rt->loop, &rt->lag);
  uv_timer_init(&rt->loop, &rt->tick);
  uv_timer_init(&rt->loop, &rt->drain_timer);
  rt->in_idle.data = rt->kick.data = rt->check.data = rt->lag.data = rt;
  rt->tick.data = rt->drain_timer.data = rt;
}

static int start_signals(stdio_rt *rt) {
  static const int signums[2] = {SIGINT, SIGTERM};
  int i, rc;
  for (i = 0; i < 2; i++) {
    rc = uv_signal_init(&rt->loop, &rt->sig[i]);
    if (rc != 0)
      return CMCP_EIO;
    rt->sig_open++;
    rt->sig[i].data = rt;
    rc = uv_signal_start(&rt->sig[i], on_signal, signums[i]);
    if (rc != 0)
      return CMCP_EIO;
  }
  return 0;
}

/* Creates everything serving needs; on failure what was made is left for
 * abort_setup to close. */
static int setup(stdio_rt *rt, cmcp_server_t *srv, int *extra_in,
                 int *extra_out) {
  const cmcp__stdio_config *cfg = rt->cfg;
  int rc;
  init_handles(rt);
  rt->high_water = cfg->outbound_bytes > 0 ? cfg->outbound_bytes : 1;
  if (rt->high_water > (size_t)1 << 30)
    rt->high_water = (size_t)1 << 30;
  /* Room for one more message of the largest size past the threshold. */
  rt->hard_limit = 2 * rt->high_water;
  if (rt->hard_limit < rt->high_water + cfg->max_message_bytes + 1)
    rt->hard_limit = rt->high_water + cfg->max_message_bytes + 1;
  if (rt->hard_limit > UINT_MAX) /* one uv_buf_t holds the whole queue */
    rt->hard_limit = UINT_MAX;
  cmcp__buf_init(&rt->pending, rt->hard_limit);
  cmcp__buf_init(&rt->writing, rt->hard_limit);
  cmcp__framer_init(&rt->framer, cfg->max_message_bytes);
  rc = cmcp__mailbox_new(&rt->mb, &rt->loop, NULL, NULL);
  if (rc == 0)
    rc = cmcp__workers_new(&rt->pool, rt->mb, cfg->workers, cfg->worker_queue);
  if (rc == 0)
    rc = open_ends(rt, extra_in, extra_out);
  if (rc == 0 && cfg->handle_signals)
    rc = start_signals(rt);
  if (rc != 0)
    return rc;
  rt->peer = cmcp__peer_new(srv, &stdio_ops, rt);
  if (rt->peer == NULL)
    return CMCP_ENOMEM;
  cmcp__shed_init(&rt->shed, cfg->max_queue_delay_ms);
  if (cfg->max_queue_delay_ms > 0 &&
      uv_loop_configure(&rt->loop, UV_METRICS_IDLE_TIME) == 0)
    uv_prepare_start(&rt->lag, on_lag);
  uv_check_start(&rt->check, on_check);
  uv_timer_start(&rt->tick, on_tick, TICK_MS, 0);
  return 0;
}

static void abort_setup(stdio_rt *rt) {
  if (rt->pool != NULL) {
    cmcp__workers_close(rt->pool, on_pool_closed, rt);
  } else {
    if (rt->mb != NULL)
      cmcp__mailbox_close(rt->mb);
    rt->mb = NULL;
    close_handles(rt);
  }
  uv_run(&rt->loop, UV_RUN_DEFAULT);
}

/* Saves what serving changes in the process: the descriptors' status
 * flags (libuv sets O_NONBLOCK, shared with every process holding the same
 * pipe) and SIGPIPE, ignored so that a gone reader is an EPIPE error. */
static void save_process_state(stdio_rt *rt) {
  struct sigaction ign;
  rt->saved_flags[0] = fcntl(rt->in_fd, F_GETFL);
  rt->saved_flags[1] = fcntl(rt->out_fd, F_GETFL);
  if (sigaction(SIGPIPE, NULL, &rt->old_sigpipe) == 0 &&
      rt->old_sigpipe.sa_handler == SIG_DFL) {
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    rt->sigpipe_set = sigaction(SIGPIPE, &ign, NULL) == 0;
  }
}

static void restore_process_state(stdio_rt *rt) {
  if (rt->saved_flags[0] >= 0)
    fcntl(rt->in_fd, F_SETFL, rt->saved_flags[0]);
  if (rt->saved_flags[1] >= 0)
    fcntl(rt->out_fd, F_SETFL, rt->saved_flags[1]);
  if (rt->sigpipe_set)
    sigaction(SIGPIPE, &rt->old_sigpipe, NULL);
}

static stdio_rt *rt_new(const cmcp__stdio_config *cfg, int in_fd, int out_fd,
                        const fd_kind kinds[2]) {
  stdio_rt *rt = cmcp__calloc(1, sizeof *rt);
  if (rt == NULL)
    return NULL;
  rt->in_kind = kinds[0];
  rt->out_kind = kinds[1];
  rt->rbuf = cmcp__malloc(READ_CHUNK);
  if (rt->rbuf == NULL || uv_loop_init(&rt->loop) != 0) {
    cmcp__free(rt->rbuf);
    cmcp__free(rt);
    return NULL;
  }
  rt->cfg = cfg;
  rt->in_fd = in_fd;
  rt->out_fd = out_fd;
  return rt;
}

static void rt_free(stdio_rt *rt) {
  if (uv_loop_close(&rt->loop) != 0)
    cmcp__log(CMCP_LOG_ERROR, "stdio: loop closed with handles open");
  cmcp__framer_free(&rt->framer);
  cmcp__buf_free(&rt->pending);
  cmcp__buf_free(&rt->writing);
  cmcp__free(rt->rbuf);
  cmcp__free(rt);
}

int cmcp__stdio_serve(cmcp_server_t *srv, int in_fd, int out_fd,
                      const cmcp__stdio_config *cfg) {
  int extra_in = -1, extra_out = -1, rc;
  fd_kind kinds[2];
  stdio_rt *rt;
  if (srv == NULL || cfg == NULL || in_fd < 0 || out_fd < 0)
    return CMCP_EINVAL;
  /* Before anything opens descriptors of its own. */
  if (classify(in_fd, &kinds[0]) != 0 || classify(out_fd, &kinds[1]) != 0) {
    cmcp__log(CMCP_LOG_ERROR, "stdio: %s descriptor %d is not open",
              fcntl(in_fd, F_GETFD) < 0 ? "input" : "output",
              fcntl(in_fd, F_GETFD) < 0 ? in_fd : out_fd);
    return CMCP_EIO;
  }
  rt = rt_new(cfg, in_fd, out_fd, kinds);
  if (rt == NULL)
    return CMCP_ENOMEM;
  save_process_state(rt);
  rc = setup(rt, srv, &extra_in, &extra_out);
  if (rc != 0) {
    abort_setup(rt);
  } else {
    input_arm(rt);
    cmcp__stats_thread_attach(); /* this loop's own metrics shard */
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    cmcp__stats_thread_detach();
    rc = rt->result;
  }
  restore_process_state(rt);
  if (rt->abandon)
    return CMCP_ETIMEDOUT; /* threads still use rt: it stays */
  if (extra_in >= 0)
    close(extra_in);
  if (extra_out >= 0)
    close(extra_out);
  rt_free(rt);
  return rc;
}
