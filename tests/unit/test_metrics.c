/* tests/unit/test_metrics.c: the counter shards of base/stats.h, the
 * request meters the engine records through, the Prometheus exposition and
 * the --metrics-listen endpoint of rt/metrics.h.
 *
 * The registry is process-wide, so every test compares snapshots taken
 * before and after what it does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/stats.h"
#include "helper_alloc.h"
#include "helper_engine.h"
#include "rt/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static cmcp__stats_snapshot before, after;

static void snap(cmcp__stats_snapshot *s) {
  cmcp__stats_read(s);
}

#define DELTA(field) ((long long)(after.field - before.field))

/* ---- recording ---------------------------------------------------------- */

static void test_counters_and_labels(void **state) {
  (void)state;
  snap(&before);
  cmcp__stats_count(CMCP__SC_SESSIONS_CREATED);
  cmcp__stats_count(CMCP__SC_SESSIONS_CREATED);
  cmcp__stats_count((cmcp__stats_counter)CMCP__SC_COUNT); /* ignored */
  cmcp__stats_refused(CMCP__REFUSE_MAX_MEMORY);
  cmcp__stats_refused((cmcp__stats_limit)-1); /* ignored */
  cmcp__stats_http_response(503);
  cmcp__stats_http_response(200);
  cmcp__stats_http_response(299); /* not in the table: "other" */
  snap(&after);
  assert_int_equal(DELTA(counter[CMCP__SC_SESSIONS_CREATED]), 2);
  assert_int_equal(DELTA(refused[CMCP__REFUSE_MAX_MEMORY]), 1);
  assert_int_equal(DELTA(http[CMCP__SH_503]), 1);
  assert_int_equal(DELTA(http[CMCP__SH_200]), 1);
  assert_int_equal(DELTA(http[CMCP__SH_OTHER]), 1);
  assert_string_equal(cmcp__stats_limit_name(CMCP__REFUSE_MAX_MEMORY),
                      "max-memory");
  assert_null(cmcp__stats_limit_name(CMCP__REFUSE_COUNT));
  assert_string_equal(cmcp__stats_http_code_name(CMCP__SH_431), "431");
  assert_string_equal(cmcp__stats_http_code_name(CMCP__SH_OTHER), "other");
  assert_null(cmcp__stats_http_code_name(-1));
  assert_string_equal(cmcp__stats_outcome_name(CMCP__SO_TOOL_ERROR),
                      "tool_error");
  assert_string_equal(cmcp__stats_outcome_name(99), "error");
  assert_string_equal(cmcp__stats_method_name(99), "other");
}

static void test_method_lookup(void **state) {
  int m;
  (void)state;
  assert_int_equal(cmcp__stats_method_lookup("tools/call"),
                   CMCP__SM_TOOLS_CALL);
  assert_int_equal(cmcp__stats_method_lookup("resources/templates/list"),
                   CMCP__SM_TEMPLATES_LIST);
  assert_int_equal(cmcp__stats_method_lookup("tasks/cancel"),
                   CMCP__SM_TASKS_CANCEL);
  assert_int_equal(cmcp__stats_method_lookup("tools/cal"), CMCP__SM_OTHER);
  assert_int_equal(cmcp__stats_method_lookup("other"), CMCP__SM_OTHER);
  assert_int_equal(cmcp__stats_method_lookup(""), CMCP__SM_OTHER);
  assert_int_equal(cmcp__stats_method_lookup(NULL), CMCP__SM_OTHER);
  /* every label maps back to itself */
  for (m = 1; m < CMCP__SM_COUNT; m++)
    assert_int_equal(cmcp__stats_method_lookup(cmcp__stats_method_name(m)), m);
}

static void test_gauges_clamp(void **state) {
  (void)state;
  snap(&before);
  cmcp__stats_gauge_add(CMCP__SG_STREAMS, 3);
  cmcp__stats_gauge_add(CMCP__SG_STREAMS, -1);
  cmcp__stats_gauge_add((cmcp__stats_gauge)CMCP__SG_COUNT, 5); /* ignored */
  snap(&after);
  assert_int_equal(DELTA(gauge[CMCP__SG_STREAMS]), 2);
  cmcp__stats_gauge_add(CMCP__SG_STREAMS, -2);
  /* a sum below zero (a change seen half-way) reads as zero */
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES, -1000000);
  snap(&after);
  assert_int_equal(after.gauge[CMCP__SG_OUTBOUND_BYTES], 0);
  cmcp__stats_gauge_add(CMCP__SG_OUTBOUND_BYTES, 1000000);
}

static void test_histogram_buckets(void **state) {
  int m = CMCP__SM_PROMPTS_GET;
  (void)state;
  snap(&before);
  cmcp__stats_request(CMCP__SM_PROMPTS_GET, CMCP__SO_OK, 100000); /* le */
  cmcp__stats_request(CMCP__SM_PROMPTS_GET, CMCP__SO_OK, 100001);
  cmcp__stats_request(CMCP__SM_PROMPTS_GET, CMCP__SO_ERROR, 10000000000ull);
  cmcp__stats_request(CMCP__SM_PROMPTS_GET, CMCP__SO_ERROR, 20000000000ull);
  cmcp__stats_request((cmcp__stats_method)77, (cmcp__stats_outcome)77, 1);
  snap(&after);
  assert_int_equal(DELTA(latency[m][0]), 1);
  assert_int_equal(DELTA(latency[m][1]), 1);
  assert_int_equal(DELTA(latency[m][CMCP__STATS_BUCKETS - 1]), 1);
  assert_int_equal(DELTA(latency[m][CMCP__STATS_BUCKETS]), 1);
  assert_int_equal(DELTA(requests[m][CMCP__SO_OK]), 2);
  assert_int_equal(DELTA(requests[m][CMCP__SO_ERROR]), 2);
  assert_int_equal(DELTA(latency_sum_ns[m]), 30000200001ll);
  /* out-of-range labels land on other/error */
  assert_int_equal(DELTA(requests[CMCP__SM_OTHER][CMCP__SO_ERROR]), 1);
  assert_int_equal(cmcp__stats_bucket_ns(0), 100000);
  assert_true(cmcp__stats_bucket_ns(CMCP__STATS_BUCKETS) == UINT64_MAX);
  assert_string_equal(cmcp__stats_bucket_le(CMCP__STATS_BUCKETS), "+Inf");
  assert_null(cmcp__stats_bucket_le(CMCP__STATS_BUCKETS + 1));
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define PER_THREAD 20000

static void *recorder(void *arg) {
  int i, attach = *(int *)arg;
  if (attach) {
    assert_int_equal(cmcp__stats_thread_attach(), 0);
    assert_int_equal(cmcp__stats_thread_attach(), 0); /* idempotent */
  }
  for (i = 0; i < PER_THREAD; i++) {
    cmcp__stats_refused(CMCP__REFUSE_BODY_TIMEOUT);
    cmcp__stats_gauge_add(CMCP__SG_WORKER_QUEUE, 1);
  }
  for (i = 0; i < PER_THREAD; i++)
    cmcp__stats_gauge_add(CMCP__SG_WORKER_QUEUE, -1);
  cmcp__stats_thread_detach();
  cmcp__stats_thread_detach(); /* twice: harmless */
  return NULL;
}

/* Own shards and the common shard at once: nothing is lost, and what a
 * thread recorded survives its detach. */
static void test_threads_sum_exactly(void **state) {
  pthread_t t[THREADS];
  int modes[THREADS] = {1, 1, 0, 0}, i;
  (void)state;
  snap(&before);
  for (i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, recorder, &modes[i]), 0);
  for (i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  snap(&after);
  assert_int_equal(DELTA(refused[CMCP__REFUSE_BODY_TIMEOUT]),
                   THREADS * PER_THREAD);
  assert_int_equal(DELTA(gauge[CMCP__SG_WORKER_QUEUE]), 0);
}

static void test_attach_enomem(void **state) {
  (void)state;
  alloc_fail_install();
  alloc_fail_arm(1);
  assert_int_equal(cmcp__stats_thread_attach(), CMCP_ENOMEM);
  alloc_fail_uninstall();
  /* still counted, on the common shard */
  snap(&before);
  cmcp__stats_refused(CMCP__REFUSE_QUEUE);
  snap(&after);
  assert_int_equal(DELTA(refused[CMCP__REFUSE_QUEUE]), 1);
}

/* ---- meters ------------------------------------------------------------- */

static void test_meters(void **state) {
  cmcp__stats_meter a = {0, CMCP__SM_TOOLS_CALL, 0, 0};
  cmcp__stats_meter b = {0, CMCP__SM_PING, 0, 0}, *outer, *inner;
  (void)state;
  a.t0_ns = b.t0_ns = cmcp__now_ns();
  snap(&before);
  cmcp__stats_answered(CMCP__SO_OK); /* no meter: nothing */
  outer = cmcp__stats_meter_push(&a);
  assert_null(outer);
  assert_ptr_equal(cmcp__stats_meter_current(), &a);
  inner = cmcp__stats_meter_push(&b);
  assert_ptr_equal(inner, &a);
  cmcp__stats_answered(CMCP__SO_REFUSED);
  cmcp__stats_answered(CMCP__SO_OK); /* once only */
  cmcp__stats_meter_pop(inner);
  a.tool_error = 1;
  cmcp__stats_answered(CMCP__SO_OK); /* becomes tool_error */
  cmcp__stats_meter_pop(outer);
  assert_null(cmcp__stats_meter_current());
  cmcp__stats_meter_end(&a, CMCP__SO_CANCELLED); /* done already */
  cmcp__stats_meter_end(NULL, CMCP__SO_CANCELLED);
  snap(&after);
  assert_int_equal(DELTA(requests[CMCP__SM_PING][CMCP__SO_REFUSED]), 1);
  assert_int_equal(DELTA(requests[CMCP__SM_PING][CMCP__SO_OK]), 0);
  assert_int_equal(DELTA(requests[CMCP__SM_TOOLS_CALL][CMCP__SO_TOOL_ERROR]),
                   1);
  assert_int_equal(DELTA(requests[CMCP__SM_TOOLS_CALL][CMCP__SO_CANCELLED]), 0);
  assert_true(a.done && b.done);
}

/* ---- the engine records through meters --------------------------------- */

static cmcp_call_t *parked;

static void ok_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text(call, "ok");
  cmcp_call_done(call);
}

static void bad_tool(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_tool_error(call, "no");
}

static void park_tool(cmcp_call_t *call, void *data) {
  (void)data;
  parked = call;
}

static cmcp_server_t *engine_server(void) {
  cmcp_server_t *srv = cmcp_server_new("metrics", "1");
  assert_int_equal(cmcp_server_add_tool(srv, "ok", NULL, NULL, ok_tool, NULL),
                   0);
  assert_int_equal(cmcp_server_add_tool(srv, "bad", NULL, NULL, bad_tool, NULL),
                   0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "park", NULL, NULL, park_tool, NULL), 0);
  return srv;
}

#define CALL(id, tool)                                                         \
  "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\","              \
  "\"params\":{\"name\":\"" tool "\"}}"

static void test_engine_outcomes(void **state) {
  cmcp_server_t *srv = engine_server();
  tpeer *tp = tp_new(srv, 0);
  int tc = CMCP__SM_TOOLS_CALL;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  snap(&before);
  tp_call(tp, CALL("1", "ok"));
  tp_call(tp, CALL("2", "ok"));
  tp_call(tp, CALL("3", "bad"));
  tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"no/such\"}");
  tp_call(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}");
  tp_call(tp, CALL("6", "missing")); /* unknown tool: a JSON-RPC error */
  snap(&after);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_OK]), 2);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_TOOL_ERROR]), 1);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_ERROR]), 1);
  assert_int_equal(DELTA(requests[CMCP__SM_OTHER][CMCP__SO_ERROR]), 1);
  assert_int_equal(DELTA(requests[CMCP__SM_PING][CMCP__SO_OK]), 1);
  assert_int_equal(DELTA(gauge[CMCP__SG_INFLIGHT]), 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

/* A refusal at the in-flight bound, a cancelled call, and a call whose
 * peer closes under it. */
static void test_engine_refused_and_cancelled(void **state) {
  cmcp_server_t *srv = engine_server();
  tpeer *tp;
  int tc = CMCP__SM_TOOLS_CALL;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER, 1),
                   0);
  tp = tp_new(srv, 0);
  tp_initialize(tp, "2025-11-25", "{}");
  snap(&before);
  tp_feed(tp, CALL("\"a\"", "park"));
  snap(&after);
  assert_int_equal(DELTA(gauge[CMCP__SG_INFLIGHT]), 1);
  assert_rpc_error(tp_call(tp, CALL("\"b\"", "ok")), -32000, "in flight");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
              "\"params\":{\"requestId\":\"a\"}}");
  cmcp_call_done(parked); /* late: dropped, counted as cancelled */
  tp_feed(tp, CALL("\"c\"", "park"));
  tp_free(tp); /* closes the peer under call c */
  cmcp_call_done(parked);
  snap(&after);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_REFUSED]), 1);
  assert_int_equal(DELTA(refused[CMCP__REFUSE_MAX_INFLIGHT_PEER]), 1);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_CANCELLED]), 2);
  assert_int_equal(DELTA(requests[tc][CMCP__SO_OK]), 0);
  assert_int_equal(DELTA(gauge[CMCP__SG_INFLIGHT]), 0);
  cmcp_server_free(srv);
}

/* ---- exposition --------------------------------------------------------- */

/* A strict line check of the text format: comments are HELP or TYPE, every
 * sample is name{labels} value with a declared family, histogram buckets
 * are cumulative and end with +Inf equal to _count. */
static void check_exposition(const char *text) {
  char families[64][64], line[512];
  int nfam = 0, i, found, in_hist = 0;
  unsigned long long prev_bucket = 0, inf = 0;
  const char *p = text, *nl;
  while (*p != '\0') {
    char name[128];
    size_t n;
    nl = strchr(p, '\n');
    assert_non_null(nl); /* every line ends with \n */
    n = (size_t)(nl - p);
    assert_true(n > 0 && n < sizeof line);
    memcpy(line, p, n);
    line[n] = '\0';
    p = nl + 1;
    if (strncmp(line, "# HELP ", 7) == 0)
      continue;
    if (strncmp(line, "# TYPE ", 7) == 0) {
      char type[32];
      assert_int_equal(sscanf(line + 7, "%63s %31s", families[nfam], type), 2);
      assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                  strcmp(type, "histogram") == 0);
      nfam++;
      assert_true(nfam < 64);
      continue;
    }
    assert_true(line[0] != '#');
    n = strspn(line, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
    assert_true(n > 0 && n < sizeof name);
    memcpy(name, line, n);
    name[n] = '\0';
    found = 0;
    for (i = 0; i < nfam && !found; i++) {
      size_t fl = strlen(families[i]);
      found = strcmp(name, families[i]) == 0 ||
              (strncmp(name, families[i], fl) == 0 &&
               (strcmp(name + fl, "_bucket") == 0 ||
                strcmp(name + fl, "_sum") == 0 ||
                strcmp(name + fl, "_count") == 0));
    }
    assert_true(found);
    if (strstr(name, "_bucket") != NULL) {
      unsigned long long v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
      if (in_hist)
        assert_true(v >= prev_bucket);
      prev_bucket = v;
      in_hist = 1;
      if (strstr(line, "le=\"+Inf\"") != NULL) {
        inf = v;
        in_hist = 0;
      }
    } else if (strstr(name, "duration_seconds_count") != NULL) {
      assert_true(strtoull(strrchr(line, ' ') + 1, NULL, 10) == inf);
    }
  }
  assert_true(nfam >= 14);
}

static void test_render(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__stats_request(CMCP__SM_TOOLS_LIST, CMCP__SO_OK, 3000000);
  cmcp__stats_request(CMCP__SM_TOOLS_LIST, CMCP__SO_OK, 2000000000);
  cmcp__buf_init(&b, CMCP__METRICS_MAX_BYTES);
  assert_int_equal(cmcp__metrics_render(&b), 0);
  check_exposition(b.data);
  assert_non_null(strstr(b.data, "# TYPE cmcp_requests_total counter\n"));
  assert_non_null(
      strstr(b.data, "# TYPE cmcp_request_duration_seconds histogram\n"));
  assert_non_null(strstr(b.data, "cmcp_request_duration_seconds_bucket{"
                                 "method=\"tools/list\",le=\"+Inf\"}"));
  assert_non_null(strstr(b.data, "cmcp_refusals_total{limit=\"max-memory\"}"));
  assert_non_null(strstr(b.data, "\nprocess_resident_memory_bytes "));
  /* methods never called have no series */
  assert_null(strstr(b.data, "method=\"tasks/result\""));
  cmcp__buf_free(&b);
  assert_true(cmcp__metrics_rss_bytes() > 1024 * 1024);
}

static void test_render_limits(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 100);
  assert_int_equal(cmcp__metrics_render(&b), CMCP_ELIMIT);
  cmcp__buf_free(&b);
  cmcp__buf_init(&b, CMCP__METRICS_MAX_BYTES);
  alloc_fail_install();
  alloc_fail_arm(1); /* the snapshot */
  assert_int_equal(cmcp__metrics_render(&b), CMCP_ENOMEM);
  alloc_fail_arm(2); /* the text */
  assert_int_equal(cmcp__metrics_render(&b), CMCP_ENOMEM);
  alloc_fail_uninstall();
  cmcp__buf_free(&b);
}

/* ---- the --metrics-listen endpoint ------------------------------------- */

/* One HTTP/1.0 exchange with 127.0.0.1:port (bounded by a 5 s timeout);
 * the whole answer in out. */
static void http_get(int port, const char *request, char *out, size_t cap) {
  struct sockaddr_in a;
  struct timeval tv = {5, 0};
  size_t got = 0;
  ssize_t n;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(write(fd, request, strlen(request)),
                   (ssize_t)strlen(request));
  while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
    got += (size_t)n;
  out[got] = '\0';
  close(fd);
}

static void test_metrics_server(void **state) {
  static char out[CMCP__METRICS_MAX_BYTES];
  cmcp__metrics_server *ms;
  int port;
  (void)state;
  assert_int_equal(cmcp__metrics_server_start(&ms, "127.0.0.1", 0), 0);
  port = cmcp__metrics_server_port(ms);
  assert_true(port > 0);
  http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", out, sizeof out);
  assert_non_null(strstr(out, "HTTP/1.1 200 "));
  assert_non_null(strstr(out, "text/plain; version=0.0.4"));
  check_exposition(strstr(out, "\r\n\r\n") + 4);
  http_get(port, "GET /health HTTP/1.0\r\n\r\n", out, sizeof out);
  assert_non_null(strstr(out, "HTTP/1.1 200 "));
  http_get(port, "GET /mcp HTTP/1.0\r\n\r\n", out, sizeof out);
  assert_non_null(strstr(out, "HTTP/1.1 404 "));
  http_get(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", out,
           sizeof out);
  assert_non_null(strstr(out, "HTTP/1.1 405 "));
  assert_non_null(strstr(out, "Allow: GET"));
  cmcp__metrics_server_stop(ms);
  cmcp__metrics_server_stop(NULL);
}

static void test_metrics_server_errors(void **state) {
  cmcp__metrics_server *ms, *other;
  (void)state;
  assert_int_equal(cmcp__metrics_server_start(&ms, "not-an-ip", 0),
                   CMCP_EINVAL);
  assert_null(ms);
  assert_int_equal(cmcp__metrics_server_start(&ms, NULL, 0), CMCP_EINVAL);
  assert_int_equal(cmcp__metrics_server_start(&ms, "127.0.0.1", 70000),
                   CMCP_EINVAL);
  /* a port already taken */
  assert_int_equal(cmcp__metrics_server_start(&ms, "127.0.0.1", 0), 0);
  assert_int_equal(cmcp__metrics_server_start(&other, "127.0.0.1",
                                              cmcp__metrics_server_port(ms)),
                   CMCP_EIO);
  cmcp__metrics_server_stop(ms);
  alloc_fail_install();
  alloc_fail_arm(1);
  assert_int_equal(cmcp__metrics_server_start(&ms, "127.0.0.1", 0),
                   CMCP_ENOMEM);
  alloc_fail_arm(2);
  assert_int_equal(cmcp__metrics_server_start(&ms, "127.0.0.1", 0),
                   CMCP_ENOMEM);
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counters_and_labels),
      cmocka_unit_test(test_method_lookup),
      cmocka_unit_test(test_gauges_clamp),
      cmocka_unit_test(test_histogram_buckets),
      cmocka_unit_test(test_threads_sum_exactly),
      cmocka_unit_test(test_attach_enomem),
      cmocka_unit_test(test_meters),
      cmocka_unit_test(test_engine_outcomes),
      cmocka_unit_test(test_engine_refused_and_cancelled),
      cmocka_unit_test(test_render),
      cmocka_unit_test(test_render_limits),
      cmocka_unit_test(test_metrics_server),
      cmocka_unit_test(test_metrics_server_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
