/* cmcp-bench: a load generator that speaks MCP.
 *
 *   cmcp-bench --profile baseline --url http://127.0.0.1:8080/mcp
 *   cmcp-bench --clients 100 --rate 5000 --open-loop --duration 30 --json
 *
 * Options and profiles: opts.c (--help). One process runs the load itself;
 * with --procs N (or when the connections would pass --fds-per-proc) it
 * runs N copies of itself with --child I, each printing its per-second
 * ticks (counters and raw histogram) as JSON lines on a pipe, and merges
 * them exactly. bomber and soak first measure the server's capacity with
 * a short closed-loop probe unless --capacity is given.
 */
#include "bench.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define LINE_LIMIT (16u << 20)

/* ---- a child: ticks out on stdout ------------------------------------------
 */

static void tick_to_stdout(const bench_tick *t, void *data) {
  cmcp__buf b;
  (void)data;
  cmcp__buf_init(&b, LINE_LIMIT);
  if (bench_tick_to_json(t, &b) == 0) {
    fwrite(b.data, 1, b.len, stdout);
    fflush(stdout);
  }
  cmcp__buf_free(&b);
}

static void tick_to_report(const bench_tick *t, void *data) {
  bench_report_add(data, 0, t);
}

/* ---- the parent: children and their pipes -----------------------------------
 */

typedef struct child {
  uv_process_t proc;
  uv_pipe_t out;
  cmcp__buf line;
  bench_report *rep;
  bench_tick tick;
  bench_hist h, svc;
  int index; /* its source number in the report */
  int alive; /* handles still open */
  int64_t status;
} child;

static void on_child_closed(uv_handle_t *h) {
  child *c = h->data;
  c->alive--;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char mem[65536];
  (void)h;
  (void)hint;
  buf->base = mem;
  buf->len = sizeof mem;
}

/* Hands every whole line in c->line to the report. */
static void take_lines(child *c) {
  char *nl;
  while (c->line.len > 0 &&
         (nl = memchr(c->line.data, '\n', c->line.len)) != NULL) {
    size_t n = (size_t)(nl - c->line.data);
    if (bench_tick_from_json(c->line.data, n, &c->tick) == 0)
      bench_report_add(c->rep, c->index, &c->tick);
    cmcp__buf_consume(&c->line, n + 1);
  }
}

static void on_child_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  child *c = s->data;
  if (n < 0) {
    uv_close((uv_handle_t *)s, on_child_closed);
    bench_report_source_done(c->rep, c->index);
    return;
  }
  if (cmcp__buf_add(&c->line, buf->base, (size_t)n) != 0) {
    fprintf(stderr, "cmcp-bench: a child's line is too long\n");
    cmcp__buf_reset(&c->line);
    return;
  }
  take_lines(c);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig) {
  child *c = p->data;
  c->status = status != 0 ? status : sig;
  uv_close((uv_handle_t *)p, on_child_closed);
}

/* argv for child i: ours, the extra options, then --procs N --child I. */
static char **child_argv(int argc, char **argv, char **extra, int nextra,
                         int procs, int i, char nums[2][16]) {
  char **a = cmcp__calloc((size_t)(argc + nextra + 6), sizeof *a);
  int k, n = 0;
  if (a == NULL)
    return NULL;
  for (k = 0; k < argc; k++)
    a[n++] = argv[k];
  for (k = 0; k < nextra; k++)
    a[n++] = extra[k];
  snprintf(nums[0], 16, "%d", procs);
  snprintf(nums[1], 16, "%d", i);
  a[n++] = "--procs";
  a[n++] = nums[0];
  a[n++] = "--child";
  a[n++] = nums[1];
  a[n++] = "--no-progress";
  a[n] = NULL;
  return a;
}

/* Starts child i reading into rep. 0 or a libuv error. */
static int spawn_child(uv_loop_t *loop, child *c, char **args) {
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  char exe[4096];
  size_t len = sizeof exe;
  int rc;
  if ((rc = uv_exepath(exe, &len)) != 0)
    return rc;
  memset(&po, 0, sizeof po);
  uv_pipe_init(loop, &c->out, 0);
  c->out.data = c;
  c->proc.data = c;
  io[0].flags = UV_IGNORE;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&c->out;
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  po.file = exe;
  po.args = args;
  po.stdio = io;
  po.stdio_count = 3;
  po.exit_cb = on_child_exit;
  c->alive = 1; /* the pipe */
  rc = uv_spawn(loop, &c->proc, &po);
  if (rc != 0)
    return rc;
  c->alive = 2;
  return uv_read_start((uv_stream_t *)&c->out, on_alloc, on_child_read);
}

/* Ctrl-C in the parent: every child ends its run and reports (a child
 * that got it from the terminal already does). */
static void on_parent_sigint(uv_signal_t *s, int signum) {
  child *kids = s->data;
  int i;
  (void)signum;
  for (i = 0; kids[i].rep != NULL; i++)
    if (kids[i].alive == 2)
      uv_process_kill(&kids[i].proc, SIGINT);
}

/* Runs o->procs children with extra options; their ticks go to rep. */
static int run_children(const bench_opts *o, int argc, char **argv,
                        char **extra, int nextra, bench_report *rep) {
  uv_loop_t loop;
  /* one more, zeroed: the end of the list for on_parent_sigint */
  child *kids = cmcp__calloc((size_t)o->procs + 1, sizeof *kids);
  uv_signal_t sig;
  int i, rc = 0, started = 0;
  if (kids == NULL || uv_loop_init(&loop) != 0) {
    cmcp__free(kids);
    return CMCP_ENOMEM;
  }
  for (i = 0; i < o->procs; i++) {
    char nums[2][16], **args;
    child *c = &kids[i];
    c->rep = rep;
    c->index = i;
    cmcp__buf_init(&c->line, LINE_LIMIT);
    if (bench_hist_init(&c->h) != 0 || bench_hist_init(&c->svc) != 0)
      break;
    c->tick.h = &c->h;
    c->tick.svc = &c->svc;
    args = child_argv(argc, argv, extra, nextra, o->procs, i, nums);
    rc = args == NULL ? CMCP_ENOMEM : spawn_child(&loop, c, args);
    cmcp__free(args);
    started++;
    if (rc != 0) {
      fprintf(stderr, "cmcp-bench: cannot start a child: %s\n",
              uv_strerror(rc));
      if (c->alive == 1)
        uv_close((uv_handle_t *)&c->out, on_child_closed);
      bench_report_source_done(rep, i);
    }
  }
  uv_signal_init(&loop, &sig);
  sig.data = kids;
  uv_signal_start(&sig, on_parent_sigint, SIGINT);
  uv_unref((uv_handle_t *)&sig);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&sig, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < started; i++) {
    if (kids[i].status != 0) {
      fprintf(stderr, "cmcp-bench: child %d ended with status %lld\n", i,
              (long long)kids[i].status);
      rc = -1;
    }
    cmcp__buf_free(&kids[i].line);
    bench_hist_free(&kids[i].h);
    bench_hist_free(&kids[i].svc);
  }
  uv_loop_close(&loop);
  cmcp__free(kids);
  return rc;
}

/* Runs the load of o into rep: here, or in children. */
static int run(const bench_opts *o, int argc, char **argv, char **extra,
               int nextra, bench_report *rep) {
  if (o->procs <= 1)
    return bench_run(o, tick_to_report, rep);
  return run_children(o, argc, argv, extra, nextra, rep);
}

/* ---- capacity ----------------------------------------------------------- */

/* Measures answers/s with a closed-loop unpaced probe. */
static double measure_capacity(const bench_opts *o, int argc, char **argv) {
  bench_opts p = *o;
  bench_report *rep;
  char clients[16], dur[32];
  char *extra[] = {
      "--clients",         clients, "--client-rate", "0",
      "--duration",        dur,     "--closed-loop", "--no-streams",
      "--steps",           "none",  "--warmup",      "1",
      "--capacity-factor", "0",     "--rate",        "0"};
  double cap;
  snprintf(clients, sizeof clients, "%d", o->capacity_clients);
  snprintf(dur, sizeof dur, "%g", o->capacity_duration + 1);
  p.clients = o->capacity_clients;
  p.client_rate = 0;
  p.rate = 0;
  p.open_loop = 0;
  p.streams = 0;
  p.nsteps = 0;
  p.ramp = 0;
  p.warmup = 1;
  p.duration = o->capacity_duration + 1;
  p.conns_per_client = 1;
  p.progress = 0;
  p.max_requests = 0;
  p.procs = o->procs;
  rep = bench_report_new(&p, p.procs);
  if (rep == NULL)
    return 0;
  if (run(&p, argc, argv, extra, (int)(sizeof extra / sizeof extra[0]), rep) !=
      0) {
    bench_report_free(rep);
    return 0;
  }
  cap = bench_report_throughput(rep);
  bench_report_free(rep);
  return cap;
}

/* Raises the open-files soft limit to the hard one: every client holds one
 * or two sockets. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  bench_opts o;
  bench_report *rep;
  char capbuf[32];
  char *extra[2];
  int rc, nextra = 0;
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  rc = bench_opts_parse(&o, argc, argv);
  if (rc != 0)
    return rc > 0 ? 0 : 2;
  if (o.child_index >= 0)
    return bench_run(&o, tick_to_stdout, NULL) == 0 ? 0 : 1;
  if (o.capacity_factor > 0 && o.capacity <= 0) {
    o.capacity = measure_capacity(&o, argc, argv);
    if (o.capacity <= 0) {
      fprintf(stderr, "cmcp-bench: the capacity probe got no answers\n");
      return 1;
    }
    fprintf(stderr, "cmcp-bench: capacity %.0f answers/s; offering %.0f/s\n",
            o.capacity, o.capacity * o.capacity_factor);
    o.rate = o.capacity * o.capacity_factor;
    o.client_rate = o.rate / o.clients;
    snprintf(capbuf, sizeof capbuf, "%.3f", o.capacity);
    extra[0] = "--capacity";
    extra[1] = capbuf;
    nextra = 2;
  }
  rep = bench_report_new(&o, o.procs);
  if (rep == NULL) {
    fprintf(stderr, "cmcp-bench: out of memory\n");
    return 1;
  }
  rc = run(&o, argc, argv, extra, nextra, rep);
  if (rc != 0 && o.procs <= 1)
    fprintf(stderr, "cmcp-bench: setup failed: %s\n",
            rc >= CMCP_ERPC ? cmcp_strerror(rc) : uv_strerror(rc));
  if (bench_report_write(rep) != 0 && rc == 0)
    rc = -1;
  bench_report_free(rep);
  return rc == 0 ? 0 : 1;
}
