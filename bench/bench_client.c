/* bench/bench_client.c: the client library's Streamable HTTP throughput.
 *
 *   bench_client --url http://127.0.0.1:PORT/mcp [--clients N] [--era E]
 *                [--seconds S] [--warmup W] [--runs R] [--text TEXT]
 *
 * One thread, one libuv loop, N clients on it (default 1,000), all sharing
 * one libcurl multi handle. E is "legacy" (each client initializes its own
 * 2025-11-25 session: Mcp-Session-Id on every POST, DELETE at the end),
 * "modern" (2026-07-28, stateless: server/discover, then every call carries
 * its _meta) or "both" (default: a run of each, alternating). Each client
 * runs a closed loop of tools/call echo {"text": TEXT}: a new call as soon
 * as the last answer arrives, so N calls are always in flight. W seconds of
 * warm-up (default 1), then S measured seconds (default 5); every answer is
 * checked (status 0, the text comes back). R runs per era (default 3), each
 * with fresh clients; prints calls/s per run and the median per era, then
 * a "RESULT" line. Exits 1 if a client failed to connect or a call failed.
 *
 * Mind the open-files limit: every in-flight call holds a connection.
 */
#include "cmcp/client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <uv.h>

#define RUNS_MAX 32

typedef struct bench bench;

typedef struct client {
  cmcp_client_t *cli;
  bench *b;
  int connected;
} client;

struct bench {
  uv_loop_t loop;
  const char *url, *text;
  char args[512];
  int n;
  client *clients;
  int connected, failed;
  int measuring; /* 0 warm-up, 1 measuring, 2 draining */
  uint64_t calls, errors;
  int in_flight;
  double cpu_us; /* this process's CPU time per measured call */
};

static void on_call(cmcp_client_t *cli, int status, json_object *res,
                    void *data);

/* Sends the next call of c unless the run is draining. */
static void next_call(client *c) {
  bench *b = c->b;
  if (b->measuring == 2)
    return;
  if (cmcp_client_call_tool(c->cli, "echo", b->args, 0, on_call, c, NULL) !=
      0) {
    b->errors++;
    return;
  }
  b->in_flight++;
}

/* 1 if res is a CallToolResult carrying the text back. */
static int echoed(const bench *b, json_object *res) {
  json_object *content, *first, *text;
  if (!json_object_object_get_ex(res, "content", &content) ||
      json_object_array_length(content) < 1)
    return 0;
  first = json_object_array_get_idx(content, 0);
  return json_object_object_get_ex(first, "text", &text) &&
         strcmp(json_object_get_string(text), b->text) == 0;
}

static void on_call(cmcp_client_t *cli, int status, json_object *res,
                    void *data) {
  client *c = data;
  bench *b = c->b;
  b->in_flight--;
  if (status != 0 || !echoed(b, res)) {
    if (b->errors++ < 5)
      fprintf(stderr, "bench_client: call failed: %s (%s)\n",
              cmcp_strerror(status), cmcp_client_last_error(cli));
    return;
  }
  if (b->measuring == 1)
    b->calls++;
  next_call(c);
}

static void on_connect(cmcp_client_t *cli, int status, json_object *res,
                       void *data) {
  client *c = data;
  (void)res;
  if (status != 0) {
    if (c->b->failed++ < 5)
      fprintf(stderr, "bench_client: connect failed: %s (%s)\n",
              cmcp_strerror(status), cmcp_client_last_error(cli));
    return;
  }
  c->connected = 1;
  c->b->connected++;
}

/* This process's user + system CPU time in microseconds. */
static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

/* Runs the loop for ms milliseconds. */
static void run_for(uv_loop_t *loop, uint64_t ms) {
  uint64_t end;
  uv_update_time(loop);
  end = uv_now(loop) + ms;
  while (uv_now(loop) < end) {
    uv_run(loop, UV_RUN_ONCE);
    uv_update_time(loop);
  }
}

/* Creates and connects b->n clients speaking version. 0 or -1. */
static int connect_all(bench *b, const char *version) {
  int i;
  uint64_t start;
  for (i = 0; i < b->n; i++) {
    client *c = &b->clients[i];
    c->b = b;
    c->connected = 0;
    if ((c->cli = cmcp_client_new(&b->loop, "bench_client", "1")) == NULL ||
        cmcp_client_set_url(c->cli, b->url) != 0 ||
        cmcp_client_set_protocol(c->cli, version) != 0 ||
        cmcp_client_set_timeout(c->cli, 30000) != 0 ||
        cmcp_client_connect(c->cli, on_connect, c) != 0)
      return -1;
  }
  uv_update_time(&b->loop);
  start = uv_now(&b->loop);
  while (b->connected + b->failed < b->n && uv_now(&b->loop) - start < 60000) {
    uv_run(&b->loop, UV_RUN_ONCE);
    uv_update_time(&b->loop);
  }
  return b->connected == b->n ? 0 : -1;
}

static void free_all(bench *b) {
  int i;
  for (i = 0; i < b->n; i++)
    if (b->clients[i].cli != NULL)
      cmcp_client_free(b->clients[i].cli);
  for (i = 0; i < 100000 && uv_run(&b->loop, UV_RUN_NOWAIT) != 0; i++)
    ;
}

/* One run: connect, warm up, measure, drain. Returns calls/s or -1. */
static double one_run(bench *b, const char *version, double seconds,
                      double warmup) {
  uint64_t t0, t1;
  double c0;
  int i;
  double rate = -1;
  memset(b->clients, 0, sizeof *b->clients * (size_t)b->n);
  b->connected = b->failed = 0;
  b->calls = b->errors = 0;
  b->measuring = 0;
  b->in_flight = 0;
  if (connect_all(b, version) != 0) {
    fprintf(stderr, "bench_client: %d of %d clients connected\n", b->connected,
            b->n);
    goto out;
  }
  for (i = 0; i < b->n; i++)
    next_call(&b->clients[i]);
  run_for(&b->loop, (uint64_t)(warmup * 1000));
  b->measuring = 1;
  t0 = uv_hrtime();
  c0 = cpu_now();
  run_for(&b->loop, (uint64_t)(seconds * 1000));
  t1 = uv_hrtime();
  b->cpu_us = b->calls > 0 ? (cpu_now() - c0) / (double)b->calls : 0;
  b->measuring = 2;
  rate = (double)b->calls / ((double)(t1 - t0) / 1e9);
  for (i = 0; i < 30000 && b->in_flight > 0; i++)
    uv_run(&b->loop, UV_RUN_ONCE);
  if (b->errors > 0) {
    fprintf(stderr, "bench_client: %llu calls failed\n",
            (unsigned long long)b->errors);
    rate = -1;
  }
out:
  free_all(b);
  return rate;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_client --url URL [--clients N] "
                  "[--era legacy|modern|both] [--seconds S] [--warmup W] "
                  "[--runs R] [--text TEXT]\n");
  exit(2);
}

/* Raises the open-files limit to its hard maximum. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  static bench b;
  const char *era = "both";
  const char *eras[2];
  double seconds = 5, warmup = 1, rates[2][RUNS_MAX], cpu[2][RUNS_MAX], med[2];
  int runs = 3, n_eras, i, e, bad = 0;
  b.n = 1000;
  b.text = "hello";
  for (i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "--url") == 0)
      b.url = argv[++i];
    else if (strcmp(argv[i], "--clients") == 0)
      b.n = (int)strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--era") == 0)
      era = argv[++i];
    else if (strcmp(argv[i], "--seconds") == 0)
      seconds = strtod(argv[++i], NULL);
    else if (strcmp(argv[i], "--warmup") == 0)
      warmup = strtod(argv[++i], NULL);
    else if (strcmp(argv[i], "--runs") == 0)
      runs = (int)strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--text") == 0)
      b.text = argv[++i];
    else
      usage();
  }
  if (b.url == NULL || b.n < 1 || runs < 1 || runs > RUNS_MAX || seconds <= 0)
    usage();
  if (strcmp(era, "both") == 0) {
    eras[0] = CMCP_PROTOCOL_LEGACY_LATEST;
    eras[1] = CMCP_PROTOCOL_MODERN;
    n_eras = 2;
  } else if (strcmp(era, "legacy") == 0 || strcmp(era, "modern") == 0) {
    eras[0] = strcmp(era, "legacy") == 0 ? CMCP_PROTOCOL_LEGACY_LATEST
                                         : CMCP_PROTOCOL_MODERN;
    n_eras = 1;
  } else {
    usage();
  }
  {
    json_object *a = json_object_new_object();
    json_object_object_add(a, "text", json_object_new_string(b.text));
    snprintf(b.args, sizeof b.args, "%s", json_object_to_json_string(a));
    json_object_put(a);
  }
  raise_nofile();
  uv_loop_init(&b.loop);
  b.clients = calloc((size_t)b.n, sizeof *b.clients);
  if (b.clients == NULL)
    return 1;
  for (i = 0; i < runs; i++)
    for (e = 0; e < n_eras; e++) {
      rates[e][i] = one_run(&b, eras[e], seconds, warmup);
      cpu[e][i] = b.cpu_us;
      printf("run %d %s: %d clients, %.0f calls/s, client CPU %.1f us/call\n",
             i + 1, eras[e], b.n, rates[e][i], cpu[e][i]);
      fflush(stdout);
      bad |= rates[e][i] < 0;
    }
  for (e = 0; e < n_eras; e++) {
    med[e] = median(rates[e], runs);
    printf("RESULT era=%s clients=%d runs=%d calls_per_s_median=%.0f "
           "client_cpu_us_per_call_median=%.1f\n",
           eras[e], b.n, runs, med[e], median(cpu[e], runs));
  }
  free(b.clients);
  uv_loop_close(&b.loop);
  return bad ? 1 : 0;
}
