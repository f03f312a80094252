/* bench/bench_stdio.c: echo round trips per second through a stdio server.
 *
 *   bench_stdio --server "build/bin/cmcpd --stdio" [--window W]
 *               [--count N] [--warmup M] [--max-seconds S] [--modern]
 *               [--text TEXT]
 *
 * Starts the server command (through /bin/sh -c "exec ...", so any stdio
 * MCP server will do: cmcpd, bench/ts/echo-server.mjs under node, ...)
 * with pipes on its stdin and stdout; its stderr is ours. In legacy mode
 * it first does the handshake (initialize at 2025-11-25, then
 * notifications/initialized); in --modern mode every request is the
 * stateless 2026-07-28 form with _meta protocolVersion, clientCapabilities
 * and clientInfo, and there is no handshake.
 *
 * Then it keeps W tools/call echo requests in flight (a new one goes out as
 * each reply comes back): M warm-up requests first, drained, then the N
 * measured ones. Every reply is checked: its id was sent and comes back
 * exactly once, it is a result, and its content carries the text back.
 * Latency runs from the moment a request is handed to write() to the
 * moment its reply is read. Prints round trips/s, latency p50/p99/max and
 * the CPU time used per measured request by the server (all its threads,
 * read from /proc/PID/stat before and after the measured phase; from
 * wait4, start-up and warm-up included, where /proc is missing) and by
 * this client, then a "RESULT" line for scripts/bench.sh. Exits 1 if a check
 * failed or the run did not finish within --max-seconds.
 */
#define _GNU_SOURCE /* pipe2, memmem */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE ((size_t)1 << 20) /* longest reply accepted */
#define READ_CHUNK ((size_t)256 << 10)
#define MAX_TEXT 256
#define STALL_MS 10000 /* no reply for this long: the server is stuck */

/* ---- options ------------------------------------------------------------ */

typedef struct options {
  const char *server;
  size_t window, count, warmup;
  double max_seconds;
  int modern;
  const char *text;
} options;

static void usage(FILE *f) {
  fprintf(f, "usage: bench_stdio --server CMD [--window W] [--count N]\n"
             "                   [--warmup M] [--max-seconds S] [--modern]\n"
             "                   [--text TEXT]\n"
             "defaults: --window 64 --count 200000 --warmup 5000 "
             "--max-seconds 60 --text hello\n"
             "CMD runs under /bin/sh -c, e.g. \"build/bin/cmcpd --stdio\" or "
             "\"node bench/ts/echo-server.mjs\"\n");
}

static int parse_size(const char *s, size_t min, size_t max, size_t *out) {
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
      v > max)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_seconds(const char *s, double *out) {
  char *end;
  double v;

  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0 && v <= 86400))
    return -1;
  *out = v;
  return 0;
}

/* The text must come back byte for byte whatever the server's JSON
 * escaping style, so only characters no encoder escapes are allowed. */
static int plain_text(const char *s) {
  size_t n = strlen(s), i;

  if (n == 0 || n > MAX_TEXT)
    return -1;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || strchr(" .,:;-_+=!?", s[i])))
      return -1;
  return 0;
}

/* Fills o from argv; returns 0, 1 for --help, or -1. */
static int parse_options(int argc, char **argv, options *o) {
  int i, rc = 0;

  *o = (options){NULL, 64, 200000, 5000, 60.0, 0, "hello"};
  for (i = 1; i < argc && rc == 0; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0)
      return 1;
    if (strcmp(a, "--modern") == 0) {
      o->modern = 1;
      i--; /* a flag: no value to skip */
      continue;
    }
    if (v == NULL)
      return -1;
    if (strcmp(a, "--server") == 0)
      o->server = v;
    else if (strcmp(a, "--window") == 0)
      rc = parse_size(v, 1, 65536, &o->window);
    else if (strcmp(a, "--count") == 0)
      rc = parse_size(v, 1, 50000000, &o->count);
    else if (strcmp(a, "--warmup") == 0)
      rc = parse_size(v, 0, 50000000, &o->warmup);
    else if (strcmp(a, "--max-seconds") == 0)
      rc = parse_seconds(v, &o->max_seconds);
    else if (strcmp(a, "--text") == 0)
      rc = plain_text(v) == 0 ? (o->text = v, 0) : -1;
    else
      rc = -1;
  }
  return rc == 0 && o->server != NULL && o->server[0] != '\0' ? 0 : -1;
}

/* ---- clock -------------------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the server process ------------------------------------------------- */

typedef struct child {
  pid_t pid;
  int to;   /* its stdin (non-blocking) */
  int from; /* its stdout (non-blocking) */
} child;

/* Starts cmd under /bin/sh with pipes on stdin and stdout. Returns 0 or
 * -1 (with a message). */
static int spawn(const char *cmd, child *c) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  char *line = NULL;
  size_t n = strlen(cmd) + 6;

  line = malloc(n);
  if (line == NULL || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
    goto fail;
  snprintf(line, n, "exec %s", cmd);
  c->pid = fork();
  if (c->pid < 0)
    goto fail;
  if (c->pid == 0) {
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
      _exit(127);
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  free(line);
  c->to = in[1];
  c->from = out[0];
  fcntl(c->to, F_SETFL, fcntl(c->to, F_GETFL) | O_NONBLOCK);
  fcntl(c->from, F_SETFL, fcntl(c->from, F_GETFL) | O_NONBLOCK);
  return 0;
fail:
  fprintf(stderr, "bench_stdio: cannot start the server: %s\n",
          strerror(errno));
  free(line);
  if (in[0] >= 0) {
    close(in[0]);
    close(in[1]);
  }
  if (out[0] >= 0) {
    close(out[0]);
    close(out[1]);
  }
  return -1;
}

/* Closes the server's stdin (end of input) and waits up to 5 s for it to
 * exit, then signals it. Fills *ru with its resource usage. Returns its
 * wait status, or -1. */
static int reap(child *c, struct rusage *ru) {
  int status, i;
  pid_t r = 0;

  if (c->to >= 0)
    close(c->to);
  c->to = -1;
  for (i = 0; i < 600 && r == 0; i++) {
    r = wait4(c->pid, &status, WNOHANG, ru);
    if (r == 0) {
      struct timespec ts = {0, 10 * 1000000L};
      if (i == 500)
        kill(c->pid, SIGTERM);
      nanosleep(&ts, NULL);
    }
  }
  if (r == 0) {
    kill(c->pid, SIGKILL);
    r = wait4(c->pid, &status, 0, ru);
  }
  close(c->from);
  return r == c->pid ? status : -1;
}

/* CPU time (user + system, all threads) the process has used so far, in
 * microseconds, from /proc/PID/stat; -1 if it cannot be read. */
static double proc_cpu_us(pid_t pid) {
  char path[64], buf[1024];
  unsigned long long ut, st;
  const char *p;
  ssize_t n;
  int fd;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  p = strrchr(buf, ')'); /* the command name may hold spaces */
  /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
   * majflt cmajflt utime stime (fields 3..15) */
  if (p == NULL || sscanf(p + 2,
                          "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                          "%*u %llu %llu",
                          &ut, &st) != 2)
    return -1;
  return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* ---- a tiny JSON scanner for replies ------------------------------------ */

/* The top-level members of a reply that matter here, as value spans. */
typedef struct reply {
  const char *id, *id_end;
  const char *result, *result_end;
  int has_error, has_method;
} reply;

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

/* p is at '"'; returns the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\')
      p++;
    else if (*p == '"')
      return p + 1;
  }
  return NULL;
}

/* Skips one value (string, object, array, or a bare literal/number). */
static const char *skip_value(const char *p, const char *end) {
  int depth = 0;

  if (p < end && *p == '"')
    return skip_string(p, end);
  while (p < end) {
    if (*p == '"') {
      p = skip_string(p, end);
      if (p == NULL)
        return NULL;
      continue;
    }
    if (*p == '{' || *p == '[')
      depth++;
    else if (*p == '}' || *p == ']') {
      if (depth == 0)
        return p;
      if (--depth == 0)
        return p + 1;
    } else if (depth == 0 && (*p == ',' || *p == ' ' || *p == '\t' ||
                              *p == '\r' || *p == '\n'))
      return p;
    p++;
  }
  return depth == 0 ? p : NULL;
}

static int key_is(const char *k, const char *k_end, const char *name) {
  size_t n = strlen(name);

  return (size_t)(k_end - k) == n && memcmp(k, name, n) == 0;
}

/* Splits a one-line JSON object into the members of struct reply.
 * Returns 0, or -1 if it is not a JSON object. */
static int scan_reply(const char *p, const char *end, reply *r) {
  memset(r, 0, sizeof(*r));
  p = skip_ws(p, end);
  if (p >= end || *p++ != '{')
    return -1;
  for (;;) {
    const char *k, *k_end, *v, *v_end;
    p = skip_ws(p, end);
    if (p < end && *p == '}')
      return 0;
    if (p >= end || *p != '"' || (k_end = skip_string(p, end)) == NULL)
      return -1;
    k = p + 1;
    k_end--;
    p = skip_ws(k_end + 1, end);
    if (p >= end || *p++ != ':')
      return -1;
    v = skip_ws(p, end);
    v_end = skip_value(v, end);
    if (v_end == NULL || v_end == v)
      return -1;
    if (key_is(k, k_end, "id")) {
      r->id = v;
      r->id_end = v_end;
    } else if (key_is(k, k_end, "result")) {
      r->result = v;
      r->result_end = v_end;
    } else if (key_is(k, k_end, "error"))
      r->has_error = 1;
    else if (key_is(k, k_end, "method"))
      r->has_method = 1;
    p = skip_ws(v_end, end);
    if (p < end && *p == ',')
      p++;
    else if (p < end && *p == '}')
      return 0;
    else
      return -1;
  }
}

/* The reply's id as a non-negative integer, or -1. */
static int64_t reply_id(const reply *r) {
  int64_t v = 0;
  const char *p;

  if (r->id == NULL || r->id == r->id_end || r->id_end - r->id > 18)
    return -1;
  for (p = r->id; p < r->id_end; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

/* 1 if the result holds a member "text" whose value is exactly "text". */
static int result_has_text(const reply *r, const char *text, size_t len) {
  const char *p = r->result, *end = r->result_end;

  while (p != NULL && p < end) {
    const char *q = memmem(p, (size_t)(end - p), "\"text\"", 6);
    if (q == NULL)
      return 0;
    p = skip_ws(q + 6, end);
    if (p < end && *p == ':') {
      p = skip_ws(p + 1, end);
      if ((size_t)(end - p) >= len + 2 && p[0] == '"' &&
          memcmp(p + 1, text, len) == 0 && p[len + 1] == '"')
        return 1;
    }
  }
  return 0;
}

/* ---- the conversation --------------------------------------------------- */

typedef struct bench {
  const options *o;
  child c;
  /* outbound */
  char *out;
  size_t out_len, out_off, out_cap;
  /* inbound */
  char *in;
  size_t in_len;
  int eof;
  /* requests: ids 1 .. total; sent[id] is the send time, 0 when unsent,
   * UINT64_MAX once answered */
  uint64_t *sent;
  size_t total, next_id, answered, inflight;
  uint64_t *lat;             /* latencies of measured requests */
  size_t nlat, measure_from; /* ids >= measure_from are measured */
  size_t text_len;
  /* failures */
  size_t bad_id, dup, wrong, errors, others;
  int got_init;              /* the initialize reply (id 0) arrived */
  double srv_cpu0, srv_cpu1; /* server CPU us around the measured phase */
} bench;

#define LEGACY_FMT                                                             \
  "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":{"     \
  "\"name\":\"echo\",\"arguments\":{\"text\":\"%s\"}}}\n"
#define MODERN_FMT                                                             \
  "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":{"     \
  "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","     \
  "\"io.modelcontextprotocol/clientCapabilities\":{},"                         \
  "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"bench_stdio\","          \
  "\"version\":\"1\"}},\"name\":\"echo\",\"arguments\":{\"text\":\"%s\"}}}\n"
#define REQ_ROOM (sizeof(MODERN_FMT) + MAX_TEXT + 24)

/* Queues bytes for the server; the buffer holds at most a window of
 * requests, so it never grows past out_cap. Returns 0 or -1. */
static int queue(bench *b, const char *s, size_t n) {
  if (b->out_off > 0 && b->out_off == b->out_len)
    b->out_off = b->out_len = 0;
  if (b->out_cap - b->out_len < n) {
    memmove(b->out, b->out + b->out_off, b->out_len - b->out_off);
    b->out_len -= b->out_off;
    b->out_off = 0;
    if (b->out_cap - b->out_len < n)
      return -1;
  }
  memcpy(b->out + b->out_len, s, n);
  b->out_len += n;
  return 0;
}

/* Queues echo requests until the window is full or ids up to limit are
 * all sent. */
static void fill_window(bench *b, size_t limit) {
  char req[REQ_ROOM];
  uint64_t t = now_ns();

  while (b->inflight < b->o->window && b->next_id <= limit) {
    int n = snprintf(req, sizeof(req), b->o->modern ? MODERN_FMT : LEGACY_FMT,
                     b->next_id, b->o->text);
    if (queue(b, req, (size_t)n) != 0)
      return;
    b->sent[b->next_id++] = t;
    b->inflight++;
  }
}

/* Writes what is queued, as far as the pipe takes it. -1 if the server
 * closed its stdin. */
static int flush_out(bench *b) {
  while (b->out_off < b->out_len) {
    ssize_t w = write(b->c.to, b->out + b->out_off, b->out_len - b->out_off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return 0;
    if (w < 0) {
      fprintf(stderr, "bench_stdio: write: %s\n", strerror(errno));
      return -1;
    }
    b->out_off += (size_t)w;
  }
  return 0;
}

/* Checks one reply to an echo request. */
static void on_echo_reply(bench *b, const reply *r, uint64_t t) {
  int64_t id = reply_id(r);

  if (id < 1 || (size_t)id >= b->next_id) {
    b->bad_id++;
    return;
  }
  if (b->sent[id] == UINT64_MAX) {
    b->dup++;
    return;
  }
  if (r->has_error || r->result == NULL)
    b->errors++;
  else if (!result_has_text(r, b->o->text, b->text_len))
    b->wrong++;
  if ((size_t)id >= b->measure_from)
    b->lat[b->nlat++] = t - b->sent[id];
  b->sent[id] = UINT64_MAX;
  b->answered++;
  b->inflight--;
}

/* Sorts one line from the server. */
static void on_line(bench *b, const char *p, const char *end, uint64_t t) {
  reply r;

  if (scan_reply(p, end, &r) != 0) {
    fprintf(stderr, "bench_stdio: not a JSON object: %.*s\n",
            (int)(end - p > 200 ? 200 : end - p), p);
    b->others++;
    return;
  }
  if (r.has_method) { /* a notification or a request to the client */
    b->others++;
    return;
  }
  if (reply_id(&r) == 0) {
    b->got_init = r.result != NULL && !r.has_error;
    if (!b->got_init)
      fprintf(stderr, "bench_stdio: initialize failed: %.*s\n",
              (int)(end - p > 200 ? 200 : end - p), p);
    return;
  }
  on_echo_reply(b, &r, t);
}

/* Reads what the server wrote and handles every complete line. -1 on a
 * line longer than MAX_LINE or a read error; sets eof at end of output. */
static int read_in(bench *b) {
  for (;;) {
    ssize_t n;
    size_t start = 0, i;
    uint64_t t;
    if (b->in_len == MAX_LINE + READ_CHUNK) {
      fprintf(stderr, "bench_stdio: a reply exceeds %zu bytes\n", MAX_LINE);
      return -1;
    }
    n = read(b->c.from, b->in + b->in_len, MAX_LINE + READ_CHUNK - b->in_len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n <= 0) {
      b->eof = 1;
      return n == 0 ? 0 : -1;
    }
    t = now_ns();
    for (i = b->in_len; i < b->in_len + (size_t)n; i++) {
      if (b->in[i] == '\n') {
        if (i > start)
          on_line(b, b->in + start, b->in + i, t);
        start = i + 1;
      }
    }
    b->in_len += (size_t)n;
    memmove(b->in, b->in + start, b->in_len - start);
    b->in_len -= start;
  }
}

/* One poll round: writes, waits up to timeout_ms, reads. -1 on failure. */
static int pump(bench *b, int timeout_ms) {
  struct pollfd p[2];
  int n;

  if (flush_out(b) != 0)
    return -1;
  p[0] = (struct pollfd){b->c.from, POLLIN, 0};
  p[1] = (struct pollfd){b->c.to, POLLOUT, 0};
  n = poll(p, b->out_off < b->out_len ? 2 : 1, timeout_ms);
  if (n < 0 && errno != EINTR)
    return -1;
  if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
    return read_in(b);
  return 0;
}

/* Legacy handshake: initialize (id 0) at 2025-11-25, wait for its reply,
 * then notifications/initialized. Returns 0 or -1. */
static int handshake(bench *b) {
  static const char init[] =
      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
      "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":"
      "{\"name\":\"bench_stdio\",\"version\":\"1\"}}}\n";
  static const char done[] =
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
  uint64_t deadline = now_ns() + (uint64_t)STALL_MS * 1000000u;

  if (queue(b, init, sizeof(init) - 1) != 0)
    return -1;
  while (!b->got_init && !b->eof && now_ns() < deadline)
    if (pump(b, 100) != 0)
      return -1;
  if (!b->got_init) {
    fprintf(stderr, "bench_stdio: no initialize result\n");
    return -1;
  }
  return queue(b, done, sizeof(done) - 1);
}

/* Sends requests up to id limit with the window kept full and waits for
 * the replies to all of them (ids 1 .. limit), or until deadline. Returns 0, or
 * -1 when the server died, stalled or the deadline passed. */
static int run_phase(bench *b, size_t limit, uint64_t deadline) {
  uint64_t last = now_ns();
  size_t seen = b->answered;

  while (b->answered < limit) {
    uint64_t t = now_ns();
    fill_window(b, limit);
    if (pump(b, 100) != 0 || b->eof) {
      fprintf(stderr, "bench_stdio: the server %s\n",
              b->eof ? "closed its output" : "failed");
      return -1;
    }
    if (b->answered != seen) {
      seen = b->answered;
      last = t;
    } else if (t - last > (uint64_t)STALL_MS * 1000000u) {
      fprintf(stderr, "bench_stdio: no reply for %d ms\n", STALL_MS);
      return -1;
    }
    if (t > deadline) {
      fprintf(stderr, "bench_stdio: --max-seconds reached\n");
      return -1;
    }
  }
  return 0;
}

/* ---- report ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

  return (x > y) - (x < y);
}

static double pct_us(const uint64_t *v, size_t n, double p) {
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.5);

  if (n == 0)
    return 0;
  rank = rank < 1 ? 1 : rank > n ? n : rank;
  return (double)v[rank - 1] / 1000.0;
}

static double tv_us(struct timeval tv) {
  return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

/* Prints the summary and the RESULT line; returns the exit status. */
static int report(bench *b, double seconds, int complete,
                  const struct rusage *srv, const struct rusage *self) {
  double rps = seconds > 0 ? (double)b->nlat / seconds : 0;
  double all = (double)b->total, p50, p99, pmax;
  double srv_total = (tv_us(srv->ru_utime) + tv_us(srv->ru_stime)) / all;
  double cli_us = (tv_us(self->ru_utime) + tv_us(self->ru_stime)) / all;
  double srv_us = srv_total;
  size_t bad = b->bad_id + b->dup + b->wrong + b->errors;

  if (b->srv_cpu0 >= 0 && b->srv_cpu1 >= b->srv_cpu0 && b->nlat > 0)
    srv_us = (b->srv_cpu1 - b->srv_cpu0) / (double)b->nlat;
  qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_u64);
  p50 = pct_us(b->lat, b->nlat, 50);
  p99 = pct_us(b->lat, b->nlat, 99);
  pmax = pct_us(b->lat, b->nlat, 100);
  printf("%zu round trips in %.3f s: %.0f/s; latency p50 %.1f us, p99 %.1f "
         "us, max %.1f us\n",
         b->nlat, seconds, rps, p50, p99, pmax);
  printf("cpu per request: server %.2f us measured (%.2f us with start-up "
         "and warm-up), client %.2f us; failures: %zu bad id, %zu "
         "duplicate, %zu wrong text, %zu errors; %zu other messages\n",
         srv_us, srv_total, cli_us, b->bad_id, b->dup, b->wrong, b->errors,
         b->others);
  printf("RESULT stdio mode=%s window=%zu count=%zu done=%zu seconds=%.3f "
         "rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f server_cpu_us=%.2f "
         "server_cpu_total_us=%.2f client_cpu_us=%.2f failures=%zu "
         "complete=%d\n",
         b->o->modern ? "modern" : "legacy", b->o->window, b->o->count, b->nlat,
         seconds, rps, p50, p99, pmax, srv_us, srv_total, cli_us, bad,
         complete);
  return complete && bad == 0 ? 0 : 1;
}

/* ---- main --------------------------------------------------------------- */

static int bench_init(bench *b, const options *o) {
  memset(b, 0, sizeof(*b));
  b->o = o;
  b->c.to = b->c.from = -1;
  b->srv_cpu0 = b->srv_cpu1 = -1;
  b->total = o->warmup + o->count;
  b->next_id = 1;
  b->measure_from = o->warmup + 1;
  b->text_len = strlen(o->text);
  b->out_cap = (o->window + 2) * REQ_ROOM;
  b->out = malloc(b->out_cap);
  b->in = malloc(MAX_LINE + READ_CHUNK);
  b->sent = calloc(b->total + 1, sizeof(*b->sent));
  b->lat = malloc(o->count * sizeof(*b->lat));
  return b->out && b->in && b->sent && b->lat ? 0 : -1;
}

static void bench_free(bench *b) {
  free(b->out);
  free(b->in);
  free(b->sent);
  free(b->lat);
}

/* Handshake, warm-up, measured phase. Returns 1 if all went through, and
 * the measured seconds in *seconds. */
static int run(bench *b, double *seconds) {
  const options *o = b->o;
  uint64_t start = now_ns(), t0;
  uint64_t deadline = start + (uint64_t)(o->max_seconds * 1e9);

  *seconds = 0;
  if (!o->modern && handshake(b) != 0)
    return 0;
  if (run_phase(b, o->warmup, deadline) != 0)
    return 0;
  b->srv_cpu0 = proc_cpu_us(b->c.pid);
  t0 = now_ns();
  if (run_phase(b, o->warmup + o->count, deadline) != 0) {
    *seconds = (double)(now_ns() - t0) / 1e9;
    return 0;
  }
  *seconds = (double)(now_ns() - t0) / 1e9;
  b->srv_cpu1 = proc_cpu_us(b->c.pid);
  return 1;
}

int main(int argc, char **argv) {
  options o;
  bench b;
  struct rusage srv_ru, self_ru;
  double seconds = 0;
  int rc, complete, status = 1;

  rc = parse_options(argc, argv, &o);
  if (rc != 0) {
    usage(rc > 0 ? stdout : stderr);
    return rc > 0 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (bench_init(&b, &o) != 0) {
    fprintf(stderr, "bench_stdio: out of memory\n");
    goto out;
  }
  printf("bench_stdio: server \"%s\", %s, window %zu, %zu requests after "
         "%zu warm-up, text \"%s\"\n",
         o.server, o.modern ? "modern (2026-07-28)" : "legacy (2025-11-25)",
         o.window, o.count, o.warmup, o.text);
  fflush(stdout);
  if (spawn(o.server, &b.c) != 0)
    goto out;
  complete = run(&b, &seconds);
  memset(&srv_ru, 0, sizeof(srv_ru));
  if (reap(&b.c, &srv_ru) < 0)
    fprintf(stderr, "bench_stdio: could not reap the server\n");
  getrusage(RUSAGE_SELF, &self_ru);
  status = report(&b, seconds, complete, &srv_ru, &self_ru);
out:
  bench_free(&b);
  return status;
}
