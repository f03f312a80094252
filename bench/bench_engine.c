/* bench/bench_engine.c: nanoseconds per tools/call echo inside the engine.
 *
 *   bench_engine [--requests N] [--reps K] [--warmup W]
 *                [--era both|legacy|modern] [--text TEXT]
 *
 * One server with the echo tool of cmcpd (a synchronous handler and the same
 * input schema) and one peer per era, whose ops->send only counts bytes
 * (ops->post and ops->run_blocking are NULL, so everything runs inline).
 * The legacy peer is initialized first (initialize + initialized at
 * 2025-11-25); the modern peer gets 2026-07-28 requests carrying _meta
 * protocolVersion, clientCapabilities and clientInfo. A repetition feeds N
 * requests with distinct ids, built before the clock starts, so one
 * request's time is parse + dispatch + schema check + handler + serialize
 * + send. After W warm-up repetitions per era, K repetitions are timed,
 * interleaved (legacy, modern, legacy, ...), so that drifts of a shared
 * machine hit both eras alike. The main figure is the thread's CPU time
 * per request (the median over the repetitions): on a machine shared with
 * other work, wall-clock time also counts the time the core was given to
 * others; it is printed beside it.
 *
 * Allocations are counted twice: through cmcp_set_allocator's hooks (the
 * library's own allocations) and by replacing malloc/calloc/realloc/free for
 * the whole process, forwarding to glibc, which also sees json-c's objects
 * (json-c has no allocator hooks).
 *
 * Prints a table, then one "RESULT" line per era that scripts/bench.sh
 * reads. For instruction counts run the loop under callgrind and collect
 * only inside feed_batch_legacy or feed_batch_modern:
 *
 *   valgrind --tool=callgrind --toggle-collect=feed_batch_legacy \
 *     bench_engine --era legacy --requests 2000 --reps 1 --warmup 1
 */
#include "proto/peer.h"

#include <cmcp.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- counting allocators ------------------------------------------------ */

/* Under a sanitizer, which replaces malloc itself, only the hooks count. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define COUNT_ALL 0
#endif
#endif
#ifndef COUNT_ALL
#define COUNT_ALL 1
#endif

typedef struct alloc_count {
  unsigned long long calls; /* malloc + calloc + realloc */
  unsigned long long bytes; /* bytes asked for */
} alloc_count;

static alloc_count g_all;  /* every allocation of the process */
static alloc_count g_cmcp; /* those made through the library's hooks */

#if COUNT_ALL
/* glibc's own entry points, which the replacements below forward to. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

/* The process-wide replacements. The benchmark is single-threaded, so plain
 * counters are enough. */
void *malloc(size_t size) {
  g_all.calls++;
  g_all.bytes += size;
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  g_all.calls++;
  g_all.bytes += count * size;
  return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size) {
  g_all.calls++;
  g_all.bytes += size;
  return __libc_realloc(ptr, size);
}

void free(void *ptr) {
  __libc_free(ptr);
}
#endif /* COUNT_ALL */

static void *hook_malloc(size_t size) {
  g_cmcp.calls++;
  g_cmcp.bytes += size;
  return malloc(size);
}

static void *hook_calloc(size_t count, size_t size) {
  g_cmcp.calls++;
  g_cmcp.bytes += count * size;
  return calloc(count, size);
}

static void *hook_realloc(void *ptr, size_t size) {
  g_cmcp.calls++;
  g_cmcp.bytes += size;
  return realloc(ptr, size);
}

static void hook_free(void *ptr) {
  free(ptr);
}

/* ---- options ------------------------------------------------------------ */

typedef struct options {
  size_t requests; /* N: requests per repetition */
  size_t reps;     /* K: timed repetitions per era */
  size_t warmup;   /* W: untimed repetitions per era */
  int legacy, modern;
  const char *text; /* the echo argument */
} options;

static void usage(FILE *f) {
  fprintf(f, "usage: bench_engine [--requests N] [--reps K] [--warmup W]\n"
             "                    [--era both|legacy|modern] [--text TEXT]\n"
             "defaults: --requests 5000 --reps 21 --warmup 3 --era both "
             "--text hello\n");
}

/* Parses a decimal count in [min, max]; returns 0 or -1. */
static int parse_count(const char *s, size_t min, size_t max, size_t *out) {
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

/* 1 if text can be put between JSON quotes as it is (printable ASCII other
 * than '"' and '\'), so that the expected reply is known byte for byte. */
static int plain_text(const char *text) {
  for (; *text != '\0'; text++)
    if (*text < 0x20 || *text > 0x7e || *text == '"' || *text == '\\')
      return 0;
  return 1;
}

static int parse_era(const char *s, options *o) {
  o->legacy = strcmp(s, "both") == 0 || strcmp(s, "legacy") == 0;
  o->modern = strcmp(s, "both") == 0 || strcmp(s, "modern") == 0;
  return o->legacy || o->modern ? 0 : -1;
}

/* Fills o from argv; returns 0, 1 for --help, or -1 on a bad option. */
static int parse_options(int argc, char **argv, options *o) {
  int i, rc = 0;

  *o = (options){5000, 21, 3, 1, 1, "hello"};
  for (i = 1; i < argc && rc == 0; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0)
      return 1;
    if (v == NULL)
      return -1;
    if (strcmp(a, "--requests") == 0)
      rc = parse_count(v, 1, 10000000, &o->requests);
    else if (strcmp(a, "--reps") == 0)
      rc = parse_count(v, 1, 1000, &o->reps);
    else if (strcmp(a, "--warmup") == 0)
      rc = parse_count(v, 0, 1000, &o->warmup);
    else if (strcmp(a, "--era") == 0)
      rc = parse_era(v, o);
    else if (strcmp(a, "--text") == 0)
      rc = plain_text(v) && strlen(v) < 4096 ? (o->text = v, 0) : -1;
    else
      rc = -1;
  }
  return rc;
}

/* ---- the server and its peers ------------------------------------------- */

static const char ECHO_TOOL[] =
    "{\"name\":\"echo\",\"title\":\"Echo\",\"description\":\"Returns the "
    "given text unchanged, as one text content block.\",\"inputSchema\":{"
    "\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
    "\"description\":\"The text to send back\"}},\"required\":[\"text\"],"
    "\"additionalProperties\":false},\"annotations\":{\"readOnlyHint\":true,"
    "\"idempotentHint\":true,\"openWorldHint\":false}}";

/* echo: returns its "text" argument as text content (as cmcpd's does). */
static void tool_echo(cmcp_call_t *call, void *data) {
  const char *text;

  (void)data;
  if (cmcp_call_arg_string(call, "text", &text) != 0) {
    cmcp_call_tool_error(call, "echo: argument text must be a string");
    return;
  }
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

/* What a peer's transport saw. last holds the latest message while
 * keep_last is set (checks only, never during timed runs). */
typedef struct sink {
  unsigned long long msgs, bytes;
  int closed;
  int keep_last;
  char last[8192];
} sink;

static int sink_send(void *ctx, const char *json, size_t len,
                     const cmcp__out_info *info) {
  sink *s = ctx;

  (void)info;
  s->msgs++;
  s->bytes += len;
  if (s->keep_last) {
    size_t n = len < sizeof(s->last) - 1 ? len : sizeof(s->last) - 1;
    memcpy(s->last, json, n);
    s->last[n] = '\0';
  }
  return 0;
}

static void sink_close(void *ctx, const char *reason) {
  sink *s = ctx;

  s->closed = 1;
  fprintf(stderr, "bench_engine: the engine closed a peer: %s\n", reason);
}

static const cmcp__peer_ops SINK_OPS = {sink_send, NULL, NULL, sink_close};

/* ---- request texts ------------------------------------------------------ */

#define LEGACY_FMT                                                             \
  "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":{"    \
  "\"name\":\"echo\",\"arguments\":{\"text\":\"%s\"}}}"
#define MODERN_FMT                                                             \
  "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":{"    \
  "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","     \
  "\"io.modelcontextprotocol/clientCapabilities\":{},"                         \
  "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"bench_engine\","         \
  "\"version\":\"1\"}},\"name\":\"echo\",\"arguments\":{\"text\":\"%s\"}}}"

/* N request texts back to back in one block; off[i] is where the i-th
 * starts (off[N] is the end). */
typedef struct batch {
  char *text;
  size_t *off;
  size_t n, cap;
} batch;

/* Allocates room for n requests of the given format and text. */
static int batch_init(batch *b, size_t n, const char *fmt, const char *text) {
  b->n = n;
  b->cap = n * (strlen(fmt) + strlen(text) + 24);
  b->text = malloc(b->cap);
  b->off = malloc((n + 1) * sizeof(*b->off));
  return b->text != NULL && b->off != NULL ? 0 : -1;
}

static void batch_free(batch *b) {
  free(b->text);
  free(b->off);
}

/* Writes the requests with ids first_id, first_id + 1, ... */
static void batch_fill(batch *b, const char *fmt, const char *text,
                       unsigned long long first_id) {
  size_t i, at = 0;

  for (i = 0; i < b->n; i++) {
    int w = snprintf(b->text + at, b->cap - at, fmt, first_id + i, text);
    b->off[i] = at;
    at += (size_t)w;
  }
  b->off[b->n] = at;
}

/* ---- the timed loop ----------------------------------------------------- */

/* Feeds every request of b to peer; returns the first failing status or 0.
 * Kept out of line (and per era, below) so that callgrind can collect
 * inside it alone with --toggle-collect. */
static __attribute__((noinline)) int feed_batch(cmcp__peer_t *peer,
                                                const batch *b) {
  size_t i;
  int rc;

  for (i = 0; i < b->n; i++) {
    rc = cmcp__peer_feed(peer, b->text + b->off[i], b->off[i + 1] - b->off[i]);
    if (rc != 0)
      return rc;
  }
  return 0;
}

__attribute__((noinline)) int feed_batch_legacy(cmcp__peer_t *peer,
                                                const batch *b);
__attribute__((noinline)) int feed_batch_modern(cmcp__peer_t *peer,
                                                const batch *b);

int feed_batch_legacy(cmcp__peer_t *peer, const batch *b) {
  return feed_batch(peer, b);
}

int feed_batch_modern(cmcp__peer_t *peer, const batch *b) {
  return feed_batch(peer, b);
}

/* Nanoseconds on the given clock: CLOCK_MONOTONIC for wall time, or
 * CLOCK_THREAD_CPUTIME_ID for the CPU time this thread got, which leaves
 * out the time other processes of a busy machine held the core. */
static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;

  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One era under test: its peer, transport counters and results. */
typedef struct era {
  const char *name;
  const char *fmt;
  int legacy; /* 1: initialize the peer before the first request */
  int (*feed)(cmcp__peer_t *, const batch *);
  cmcp__peer_t *peer;
  sink out;
  batch b;
  double *ns;      /* CPU ns per request of each timed repetition */
  double *wall;    /* wall-clock ns per request, likewise */
  alloc_count all; /* totals over the timed repetitions */
  alloc_count cmcp;
  unsigned long long out_bytes;
} era;

/* Runs one repetition with ids from first_id; when slot is not negative
 * (a timed repetition) stores the CPU and wall ns per request in
 * e->ns[slot] and e->wall[slot]. Returns 0, or -1 when a request went
 * unanswered or the feed failed. */
static int run_rep(era *e, const options *o, unsigned long long first_id,
                   long slot) {
  alloc_count all0 = g_all, cmcp0 = g_cmcp;
  unsigned long long msgs0 = e->out.msgs, bytes0 = e->out.bytes;
  uint64_t c0, c1, t0, t1;
  int rc;

  batch_fill(&e->b, e->fmt, o->text, first_id);
  t0 = clock_ns(CLOCK_MONOTONIC);
  c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  rc = e->feed(e->peer, &e->b);
  c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  t1 = clock_ns(CLOCK_MONOTONIC);
  if (rc != 0 || e->out.msgs - msgs0 != o->requests || e->out.closed) {
    fprintf(stderr, "bench_engine: %s: %llu replies to %zu requests (%s)\n",
            e->name, e->out.msgs - msgs0, o->requests, cmcp_strerror(rc));
    return -1;
  }
  if (slot < 0)
    return 0;
  e->ns[slot] = (double)(c1 - c0) / (double)o->requests;
  e->wall[slot] = (double)(t1 - t0) / (double)o->requests;
  e->all.calls += g_all.calls - all0.calls;
  e->all.bytes += g_all.bytes - all0.bytes;
  e->cmcp.calls += g_cmcp.calls - cmcp0.calls;
  e->cmcp.bytes += g_cmcp.bytes - cmcp0.bytes;
  e->out_bytes += e->out.bytes - bytes0;
  return 0;
}

/* ---- checks ------------------------------------------------------------- */

/* Feeds one message and checks that the single reply contains every one
 * of the given fragments. Returns 0 or -1. */
static int expect_reply(era *e, const char *msg, const char *want1,
                        const char *want2) {
  unsigned long long msgs0 = e->out.msgs;
  int rc;

  e->out.keep_last = 1;
  e->out.last[0] = '\0';
  rc = cmcp__peer_feed(e->peer, msg, strlen(msg));
  e->out.keep_last = 0;
  if (rc == 0 && e->out.msgs == msgs0 + 1 && strstr(e->out.last, want1) &&
      (want2 == NULL || strstr(e->out.last, want2)))
    return 0;
  fprintf(stderr, "bench_engine: %s: unexpected reply to %s\n  got: %s\n",
          e->name, msg, e->out.msgs == msgs0 ? "(nothing)" : e->out.last);
  return -1;
}

/* Initializes the legacy peer at 2025-11-25. */
static int legacy_handshake(era *e) {
  static const char init[] =
      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
      "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":"
      "{\"name\":\"bench_engine\",\"version\":\"1\"}}}";
  static const char done[] =
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

  if (expect_reply(e, init, "\"protocolVersion\":\"2025-11-25\"", NULL) != 0)
    return -1;
  return cmcp__peer_feed(e->peer, done, strlen(done)) == 0 ? 0 : -1;
}

/* Sends one echo request of the era and checks the reply carries the id
 * and the text back. */
static int check_echo(era *e, const char *text) {
  char msg[8192], id[64], body[4200];

  snprintf(msg, sizeof(msg), e->fmt, 1ULL, text);
  snprintf(id, sizeof(id), "\"id\":1,");
  snprintf(body, sizeof(body), "{\"type\":\"text\",\"text\":\"%s\"}", text);
  return expect_reply(e, msg, id, body);
}

/* ---- statistics --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

/* The p-th percentile (0..100, nearest rank) of sorted v[0..n). */
static double percentile(const double *v, size_t n, double p) {
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.5);

  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return v[rank - 1];
}

static double median(const double *v, size_t n) {
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prints the era's row and its RESULT line. */
static void report(era *e, const options *o) {
  double n = (double)(o->requests * o->reps), med, lo, hi, spread, wall;
  /* without the process-wide counters the totals are unknown */
  double all_calls = COUNT_ALL ? (double)e->all.calls / n : NAN;
  double all_bytes = COUNT_ALL ? (double)e->all.bytes / n : NAN;

  qsort(e->ns, o->reps, sizeof(*e->ns), cmp_double);
  qsort(e->wall, o->reps, sizeof(*e->wall), cmp_double);
  med = median(e->ns, o->reps);
  lo = percentile(e->ns, o->reps, 10);
  hi = percentile(e->ns, o->reps, 90);
  spread = med > 0 ? (hi - lo) / med * 100 : 0;
  wall = median(e->wall, o->reps);
  printf("%-7s %7.0f %7.0f %7.1f%% %8.0f %11.2f %10.2f %8.0f %7.0f\n", e->name,
         med, e->ns[0], spread, wall, (double)e->cmcp.calls / n, all_calls,
         all_bytes, (double)e->out_bytes / n);
  printf("RESULT engine era=%s median_ns=%.0f min_ns=%.0f spread_pct=%.1f "
         "wall_median_ns=%.0f wall_min_ns=%.0f cmcp_allocs=%.2f "
         "all_allocs=%.2f all_alloc_bytes=%.0f reply_bytes=%.0f "
         "requests=%zu reps=%zu\n",
         e->name, med, e->ns[0], spread, wall, e->wall[0],
         (double)e->cmcp.calls / n, all_calls, all_bytes,
         (double)e->out_bytes / n, o->requests, o->reps);
}

/* ---- main --------------------------------------------------------------- */

/* Creates the era's peer and buffers and checks one request end to end. */
static int era_open(era *e, cmcp_server_t *srv, const options *o) {
  e->peer = cmcp__peer_new(srv, &SINK_OPS, &e->out);
  e->ns = calloc(o->reps, sizeof(*e->ns));
  e->wall = calloc(o->reps, sizeof(*e->wall));
  if (e->peer == NULL || e->ns == NULL || e->wall == NULL ||
      batch_init(&e->b, o->requests, e->fmt, o->text) != 0) {
    fprintf(stderr, "bench_engine: out of memory\n");
    return -1;
  }
  if (e->legacy && legacy_handshake(e) != 0)
    return -1;
  return check_echo(e, o->text);
}

static void era_close(era *e) {
  if (e->peer != NULL)
    cmcp__peer_close(e->peer);
  batch_free(&e->b);
  free(e->ns);
  free(e->wall);
}

/* Warm-up, then the interleaved timed repetitions. */
static int run_all(era **eras, size_t neras, const options *o) {
  unsigned long long id = 2;
  size_t r, i;

  for (r = 0; r < o->warmup + o->reps; r++) {
    for (i = 0; i < neras; i++) {
      long slot = r < o->warmup ? -1 : (long)(r - o->warmup);
      if (run_rep(eras[i], o, id, slot) != 0)
        return -1;
      id += o->requests;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  era legacy = {.name = "legacy",
                .fmt = LEGACY_FMT,
                .legacy = 1,
                .feed = feed_batch_legacy};
  era modern = {.name = "modern", .fmt = MODERN_FMT, .feed = feed_batch_modern};
  era *eras[2];
  size_t neras = 0, i;
  cmcp_server_t *srv = NULL;
  options o;
  int rc, status = 1;

  rc = parse_options(argc, argv, &o);
  if (rc != 0) {
    usage(rc > 0 ? stdout : stderr);
    return rc > 0 ? 0 : 2;
  }
  cmcp_set_allocator(hook_malloc, hook_realloc, hook_calloc, hook_free);
  srv = cmcp_server_new("bench_engine", CMCP_VERSION_STRING);
  if (srv == NULL ||
      cmcp_server_add_tool_json(srv, ECHO_TOOL, 0, tool_echo, NULL) != 0) {
    fprintf(stderr, "bench_engine: cannot set up the server\n");
    goto out;
  }
  if (o.legacy)
    eras[neras++] = &legacy;
  if (o.modern)
    eras[neras++] = &modern;
  for (i = 0; i < neras; i++)
    if (era_open(eras[i], srv, &o) != 0)
      goto out;
  printf("bench_engine: %zu requests x %zu reps per era, %zu warm-up, "
         "interleaved; text \"%s\"\n",
         o.requests, o.reps, o.warmup, o.text);
  if (run_all(eras, neras, &o) != 0)
    goto out;
  printf("%-7s %7s %7s %8s %8s %11s %10s %8s %7s\n", "era", "cpu_ns", "min_ns",
         "spread", "wall_ns", "allocs_cmcp", "allocs_all", "alloc_B",
         "reply_B");
  for (i = 0; i < neras; i++)
    report(eras[i], &o);
  printf("(per request. cpu_ns: median over the repetitions of this "
         "thread's CPU time; min_ns its minimum; spread: (p90 - p10) / "
         "median; wall_ns: median wall-clock time. allocs_cmcp: through "
         "cmcp_set_allocator; allocs_all and alloc_B: every malloc of the "
         "process, json-c's included)\n");
  status = 0;
out:
  era_close(&legacy);
  era_close(&modern);
  cmcp_server_free(srv);
  return status;
}
