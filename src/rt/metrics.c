/* src/rt/metrics.c: the Prometheus text exposition of base/stats.h, and
 * the --metrics-listen endpoint (a thread with its own loop). */
#include "rt/metrics.h"
#include "transport/http.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- process ------------------------------------------------------------ */

uint64_t cmcp__metrics_rss_bytes(void) {
  char text[128], *end;
  unsigned long long resident;
  long page = sysconf(_SC_PAGESIZE);
  ssize_t n;
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0 || page <= 0)
    return 0;
  text[n] = '\0';
  /* "size resident shared ...", in pages */
  (void)strtoull(text, &end, 10);
  if (end == text || *end != ' ')
    return 0;
  resident = strtoull(end + 1, &end, 10);
  if (*end != ' ' && *end != '\n' && *end != '\0')
    return 0;
  return (uint64_t)resident * (uint64_t)page;
}

/* ---- exposition --------------------------------------------------------- */

/* # HELP and # TYPE lines of one metric family. */
static int family(cmcp__buf *b, const char *name, const char *type,
                  const char *help) {
  return cmcp__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                          type);
}

/* One unlabelled sample with its family header. */
static int scalar(cmcp__buf *b, const char *name, const char *type,
                  const char *help, unsigned long long v) {
  int rc = family(b, name, type, help);
  return rc != 0 ? rc : cmcp__buf_printf(b, "%s %llu\n", name, v);
}

typedef struct scalar_def {
  const char *name;
  const char *type;
  const char *help;
  int counter; /* index in counter[] when >= 0 */
  int gauge;   /* else index in gauge[] */
} scalar_def;

static const scalar_def scalars[] = {
    {"cmcp_connections", "gauge", "Open HTTP connections.", -1,
     CMCP__SG_CONNECTIONS},
    {"cmcp_connections_accepted_total", "counter",
     "HTTP connections accepted (refused ones excluded).",
     CMCP__SC_CONNECTIONS_ACCEPTED, 0},
    {"cmcp_sessions", "gauge", "Live legacy (Mcp-Session-Id) sessions.", -1,
     CMCP__SG_SESSIONS},
    {"cmcp_sessions_created_total", "counter", "Legacy sessions created.",
     CMCP__SC_SESSIONS_CREATED, 0},
    {"cmcp_streams", "gauge",
     "Open SSE streams (GET streams, subscriptions/listen, per-request).", -1,
     CMCP__SG_STREAMS},
    {"cmcp_streams_opened_total", "counter", "SSE streams opened.",
     CMCP__SC_STREAMS_OPENED, 0},
    {"cmcp_inflight_requests", "gauge",
     "Admitted requests whose handler has not finished.", -1,
     CMCP__SG_INFLIGHT},
    {"cmcp_worker_queue_depth", "gauge",
     "Blocking calls waiting for a worker thread.", -1, CMCP__SG_WORKER_QUEUE},
    {"cmcp_outbound_bytes", "gauge",
     "Response bytes queued for sending and not yet written.", -1,
     CMCP__SG_OUTBOUND_BYTES},
};

static int render_scalars(cmcp__buf *b, const cmcp__stats_snapshot *s) {
  size_t i;
  int rc = 0;
  for (i = 0; i < CMCP__ARRAY_SIZE(scalars) && rc == 0; i++) {
    const scalar_def *d = &scalars[i];
    unsigned long long v = d->counter >= 0
                               ? (unsigned long long)s->counter[d->counter]
                               : (unsigned long long)s->gauge[d->gauge];
    rc = scalar(b, d->name, d->type, d->help, v);
  }
  return rc;
}

/* 1 when method m has seen a request. */
static int method_seen(const cmcp__stats_snapshot *s, int m) {
  int o;
  for (o = 0; o < CMCP__SO_COUNT; o++)
    if (s->requests[m][o] != 0)
      return 1;
  return 0;
}

/* cmcp_requests_total{method,outcome}: every outcome of every method seen
 * (methods never called have no series). */
static int render_requests(cmcp__buf *b, const cmcp__stats_snapshot *s) {
  int m, o, rc;
  rc = family(b, "cmcp_requests_total", "counter",
              "JSON-RPC requests answered, by method and outcome (ok, "
              "tool_error, error, refused, cancelled).");
  for (m = 0; m < CMCP__SM_COUNT && rc == 0; m++) {
    if (!method_seen(s, m))
      continue;
    for (o = 0; o < CMCP__SO_COUNT && rc == 0; o++)
      rc = cmcp__buf_printf(
          b, "cmcp_requests_total{method=\"%s\",outcome=\"%s\"} %llu\n",
          cmcp__stats_method_name(m), cmcp__stats_outcome_name(o),
          (unsigned long long)s->requests[m][o]);
  }
  return rc;
}

/* One method's histogram: cumulative buckets, _sum in seconds, _count. */
static int render_histogram(cmcp__buf *b, const cmcp__stats_snapshot *s,
                            int m) {
  const char *name = cmcp__stats_method_name(m);
  uint64_t cum = 0, sum = s->latency_sum_ns[m];
  int i, rc = 0;
  for (i = 0; i <= CMCP__STATS_BUCKETS && rc == 0; i++) {
    cum += s->latency[m][i];
    rc = cmcp__buf_printf(b,
                          "cmcp_request_duration_seconds_bucket{method=\"%s\","
                          "le=\"%s\"} %llu\n",
                          name, cmcp__stats_bucket_le(i),
                          (unsigned long long)cum);
  }
  if (rc == 0)
    rc = cmcp__buf_printf(
        b,
        "cmcp_request_duration_seconds_sum{method=\"%s\"} %llu.%09llu\n"
        "cmcp_request_duration_seconds_count{method=\"%s\"} %llu\n",
        name, (unsigned long long)(sum / 1000000000u),
        (unsigned long long)(sum % 1000000000u), name, (unsigned long long)cum);
  return rc;
}

static int render_latency(cmcp__buf *b, const cmcp__stats_snapshot *s) {
  int m, rc;
  rc = family(b, "cmcp_request_duration_seconds", "histogram",
              "Time from a request's arrival to its answer, by method.");
  for (m = 0; m < CMCP__SM_COUNT && rc == 0; m++)
    if (method_seen(s, m))
      rc = render_histogram(b, s, m);
  return rc;
}

static int render_refusals(cmcp__buf *b, const cmcp__stats_snapshot *s) {
  int l, rc;
  rc = family(b, "cmcp_refusals_total", "counter",
              "Work refused or peers dropped at a limit, by limit (named "
              "after its option).");
  for (l = 0; l < CMCP__REFUSE_COUNT && rc == 0; l++)
    rc = cmcp__buf_printf(b, "cmcp_refusals_total{limit=\"%s\"} %llu\n",
                          cmcp__stats_limit_name(l),
                          (unsigned long long)s->refused[l]);
  return rc;
}

static int render_http(cmcp__buf *b, const cmcp__stats_snapshot *s) {
  int h, rc;
  rc = family(b, "cmcp_http_responses_total", "counter",
              "HTTP responses sent, by status code.");
  for (h = 0; h < CMCP__SH_COUNT && rc == 0; h++)
    rc = cmcp__buf_printf(b, "cmcp_http_responses_total{code=\"%s\"} %llu\n",
                          cmcp__stats_http_code_name(h),
                          (unsigned long long)s->http[h]);
  return rc;
}

static int render_process(cmcp__buf *b) {
  unsigned long long rss = cmcp__metrics_rss_bytes();
  int rc = scalar(b, "cmcp_resident_memory_bytes", "gauge",
                  "Resident set size of the process.", rss);
  if (rc == 0)
    rc = scalar(b, "process_resident_memory_bytes", "gauge",
                "Resident memory size in bytes.", rss);
  return rc;
}

int cmcp__metrics_render(cmcp__buf *b) {
  cmcp__stats_snapshot *s = cmcp__malloc(sizeof(*s));
  int rc;
  if (s == NULL)
    return CMCP_ENOMEM;
  cmcp__stats_read(s);
  rc = render_scalars(b, s);
  if (rc == 0)
    rc = render_requests(b, s);
  if (rc == 0)
    rc = render_latency(b, s);
  if (rc == 0)
    rc = render_refusals(b, s);
  if (rc == 0)
    rc = render_http(b, s);
  if (rc == 0)
    rc = render_process(b);
  cmcp__free(s);
  return rc;
}

/* ---- the --metrics-listen endpoint ------------------------------------- */

struct cmcp__metrics_server {
  uv_loop_t loop;
  uv_async_t stop;
  uv_thread_t thread;
  cmcp__http_server *http;
  int port;
};

/* Answers one request on the metrics port. */
static void on_request(cmcp__http_request *req, void *data) {
  static const cmcp__http_header allow = {"Allow", "GET"};
  cmcp__http_header ct = {"Content-Type", CMCP__METRICS_CONTENT_TYPE};
  const char *path = cmcp__http_request_path(req);
  cmcp__buf b;
  CMCP__UNUSED(data);
  if (strcmp(path, "/metrics") != 0 && strcmp(path, "/health") != 0) {
    cmcp__http_respond(req, 404, NULL, 0, "Not Found\n", 10);
    return;
  }
  if (strcmp(cmcp__http_request_method(req), "GET") != 0) {
    cmcp__http_respond(req, 405, &allow, 1, "Method Not Allowed\n", 19);
    return;
  }
  if (strcmp(path, "/health") == 0) {
    cmcp__http_respond(req, 200, &ct, 1, "ok\n", 3);
    return;
  }
  cmcp__buf_init(&b, CMCP__METRICS_MAX_BYTES);
  if (cmcp__metrics_render(&b) == 0)
    cmcp__http_respond(req, 200, &ct, 1, b.data, b.len);
  else
    cmcp__http_respond(req, 503, NULL, 0, "Service Unavailable\n", 20);
  cmcp__buf_free(&b);
}

static void on_http_closed(cmcp__http_server *srv, void *data) {
  CMCP__UNUSED(srv);
  CMCP__UNUSED(data);
}

static void on_stop(uv_async_t *a) {
  cmcp__metrics_server *ms = a->data;
  if (ms->http != NULL)
    cmcp__http_server_close(ms->http, on_http_closed, NULL);
  ms->http = NULL;
  uv_close((uv_handle_t *)a, NULL);
}

static void thread_main(void *arg) {
  cmcp__metrics_server *ms = arg;
  uv_run(&ms->loop, UV_RUN_DEFAULT);
}

/* Closes every handle of a loop that never ran its thread, then the loop. */
static void discard_loop(cmcp__metrics_server *ms) {
  if (ms->http != NULL)
    cmcp__http_server_close(ms->http, on_http_closed, NULL);
  ms->http = NULL;
  uv_close((uv_handle_t *)&ms->stop, NULL);
  uv_run(&ms->loop, UV_RUN_DEFAULT);
  uv_loop_close(&ms->loop);
}

int cmcp__metrics_server_start(cmcp__metrics_server **out, const char *host,
                               int port) {
  cmcp__metrics_server *ms;
  int rc;
  *out = NULL;
  if (host == NULL || port < 0 || port > 65535)
    return CMCP_EINVAL;
  ms = cmcp__calloc(1, sizeof(*ms));
  if (ms == NULL)
    return CMCP_ENOMEM;
  if (uv_loop_init(&ms->loop) != 0) {
    cmcp__free(ms);
    return CMCP_EIO;
  }
  ms->stop.data = ms;
  if (uv_async_init(&ms->loop, &ms->stop, on_stop) != 0) {
    uv_loop_close(&ms->loop);
    cmcp__free(ms);
    return CMCP_EIO;
  }
  ms->http = cmcp__http_server_new(&ms->loop, NULL, on_request, ms);
  rc = ms->http == NULL ? CMCP_ENOMEM
                        : cmcp__http_server_listen(ms->http, host, port, 0);
  if (rc == 0) {
    ms->port = cmcp__http_server_port(ms->http);
    if (uv_thread_create(&ms->thread, thread_main, ms) != 0)
      rc = CMCP_EIO;
  }
  if (rc != 0)
    goto fail;
  *out = ms;
  return 0;
fail:
  discard_loop(ms);
  cmcp__free(ms);
  return rc;
}

int cmcp__metrics_server_port(const cmcp__metrics_server *ms) {
  return ms != NULL ? ms->port : 0;
}

void cmcp__metrics_server_stop(cmcp__metrics_server *ms) {
  if (ms == NULL)
    return;
  uv_async_send(&ms->stop);
  uv_thread_join(&ms->thread);
  uv_loop_close(&ms->loop);
  cmcp__free(ms);
}
