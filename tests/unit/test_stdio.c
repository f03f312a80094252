/* Unit tests for src/transport/stdio.c and src/rt/main.c, in process:
 * cmcp_server_run_stdio on files and pipes with the real engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "transport/stdio.h"
#include <arpa/inet.h>
#include <cmcp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define INIT_LINES                                                             \
  "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"       \
  "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"    \
  "\"name\":\"t\",\"version\":\"1\"}}}\n"                                      \
  "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"

#define CALL(id, tool, args)                                                   \
  "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"tools/call\",\"params\":{" \
  "\"name\":\"" tool "\",\"arguments\":" args "}}\n"

/* A temporary file holding text, positioned at its start. */
static int temp_with(const char *text, size_t len) {
  char path[] = "/tmp/cmcp-test-stdio-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

/* The whole content of fd, NUL-terminated (free it). */
static char *slurp(int fd) {
  off_t end = lseek(fd, 0, SEEK_END);
  char *buf = malloc((size_t)end + 1);
  assert_non_null(buf);
  assert_int_equal(pread(fd, buf, (size_t)end, 0), (ssize_t)end);
  buf[end] = '\0';
  return buf;
}

static void echo_tool(cmcp_call_t *call, void *data) {
  const char *text = "";
  (void)data;
  cmcp_call_arg_string(call, "text", &text);
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

/* async_big: answers 100 KB of text 50 ms later from its own thread. */
#define BIG_CALLS 10
static uv_thread_t g_big_threads[BIG_CALLS];
static int g_big_started;

static void finish_big_later(void *arg) {
  static char text[100001];
  struct timespec ts = {0, 50 * 1000000L};
  nanosleep(&ts, NULL);
  memset(text, 'y', sizeof text - 1);
  cmcp_call_add_text(arg, text);
  cmcp_call_done(arg);
}

static void async_big_tool(cmcp_call_t *call, void *data) {
  (void)data;
  assert_true(g_big_started < BIG_CALLS);
  assert_int_equal(
      uv_thread_create(&g_big_threads[g_big_started++], finish_big_later, call),
      0);
}

/* async: finishes 50 ms later from its own thread. */
static uv_thread_t g_async_thread;
static int g_async_started;

static void finish_later(void *arg) {
  struct timespec ts = {0, 50 * 1000000L};
  nanosleep(&ts, NULL);
  cmcp_call_add_text(arg, "late");
  cmcp_call_done(arg);
}

static void async_tool(cmcp_call_t *call, void *data) {
  (void)data;
  assert_int_equal(uv_thread_create(&g_async_thread, finish_later, call), 0);
  g_async_started = 1;
}

static cmcp_server_t *new_server(void) {
  cmcp_server_t *srv = cmcp_server_new("test-stdio", "1.0");
  assert_non_null(srv);
  assert_int_equal(
      cmcp_server_add_tool(srv, "echo", "Echo", NULL, echo_tool, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "async_big", "Big", NULL, async_big_tool, NULL),
      0);
  assert_int_equal(
      cmcp_server_add_tool(srv, "async", "Async", NULL, async_tool, NULL), 0);
  return srv;
}

static void bad_arguments(void **state) {
  cmcp_server_t *srv = new_server();
  (void)state;
  assert_int_equal(cmcp_server_run_stdio(NULL, 0, 1), CMCP_EINVAL);
  assert_int_equal(cmcp_server_run_stdio(srv, -1, 1), CMCP_EINVAL);
  assert_int_equal(fcntl(1000, F_GETFD), -1); /* not open */
  assert_int_equal(cmcp_server_run_stdio(srv, 1000, 1), CMCP_EIO);
  assert_int_equal(cmcp_server_run_stdio(srv, 0, 1000), CMCP_EIO);
  cmcp_server_free(srv);
}

static void serves_a_file_into_a_file(void **state) {
  static const char in[] = INIT_LINES CALL(1, "echo", "{\"text\":\"hello\"}");
  cmcp_server_t *srv = new_server();
  int in_fd = temp_with(in, sizeof in - 1), out_fd = temp_with("", 0);
  char *out;
  (void)state;
  assert_int_equal(cmcp_server_run_stdio(srv, in_fd, out_fd), 0);
  out = slurp(out_fd);
  assert_non_null(strstr(out, "\"id\":0,\"result\""));
  assert_non_null(strstr(out,
                         "\"id\":1,\"result\":{\"content\":[{\"type\":\"text\","
                         "\"text\":\"hello\"}]"));
  assert_int_equal(out[strlen(out) - 1], '\n');
  free(out);
  close(in_fd);
  close(out_fd);
  cmcp_server_free(srv);
}

static void oversize_line_is_answered_and_skipped(void **state) {
  char in[8192];
  size_t n = 0;
  cmcp_server_t *srv = new_server();
  int in_fd, out_fd = temp_with("", 0);
  char *out;
  (void)state;
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_MESSAGE_BYTES, 1024),
                   0);
  n += (size_t)snprintf(in, sizeof in, "%s", INIT_LINES);
  memset(in + n, 'x', 5000);
  n += 5000;
  n += (size_t)snprintf(in + n, sizeof in - n, "\n%s",
                        CALL(2, "echo", "{\"text\":\"after\"}"));
  in_fd = temp_with(in, n);
  assert_int_equal(cmcp_server_run_stdio(srv, in_fd, out_fd), 0);
  out = slurp(out_fd);
  assert_non_null(strstr(out, "{\"code\":-32600,\"message\":\"Invalid Request: "
                              "message longer than the limit of 1024 bytes"));
  assert_non_null(strstr(out, "\"id\":2,\"result\""));
  assert_non_null(strstr(out, "after"));
  free(out);
  close(in_fd);
  close(out_fd);
  cmcp_server_free(srv);
}

/* At EOF the transport waits for an asynchronous handler finishing on
 * another thread (through the mailbox) before it ends. */
static void eof_waits_for_an_async_handler(void **state) {
  static const char in[] = INIT_LINES CALL(3, "async", "{}");
  cmcp_server_t *srv = new_server();
  int in_fd = temp_with(in, sizeof in - 1), out_fd = temp_with("", 0);
  char *out;
  (void)state;
  g_async_started = 0;
  assert_int_equal(cmcp_server_run_stdio(srv, in_fd, out_fd), 0);
  assert_true(g_async_started);
  uv_thread_join(&g_async_thread);
  out = slurp(out_fd);
  assert_non_null(strstr(out, "\"id\":3,\"result\""));
  assert_non_null(strstr(out, "late"));
  free(out);
  close(in_fd);
  close(out_fd);
  cmcp_server_free(srv);
}

/* Responses that pile up past the outbound bound (ten 100 KB answers
 * finishing together, for a reader that reads nothing) are refused; the
 * engine drops the consumer and the transport ends with CMCP_ECLOSED,
 * without waiting for the queue to drain. */
static void slow_consumer_is_dropped(void **state) {
  static const char in[] =
      INIT_LINES CALL(10, "async_big", "{}") CALL(11, "async_big", "{}")
          CALL(12, "async_big", "{}") CALL(13, "async_big", "{}")
              CALL(14, "async_big", "{}") CALL(15, "async_big", "{}")
                  CALL(16, "async_big", "{}") CALL(17, "async_big", "{}")
                      CALL(18, "async_big", "{}") CALL(19, "async_big", "{}");
  cmcp_server_t *srv = new_server();
  int in_fd = temp_with(in, sizeof in - 1), p_out[2], i;
  (void)state;
  g_big_started = 0;
  assert_int_equal(pipe(p_out), 0); /* never read */
  assert_int_equal(
      cmcp_server_set_limit(srv, CMCP_LIMIT_OUTBOUND_BYTES, 150000), 0);
  assert_int_equal(cmcp_server_set_limit(srv, CMCP_LIMIT_MESSAGE_BYTES, 1024),
                   0);
  assert_int_equal(cmcp_server_run_stdio(srv, in_fd, p_out[1]), CMCP_ECLOSED);
  assert_int_equal(g_big_started, BIG_CALLS);
  for (i = 0; i < BIG_CALLS; i++)
    uv_thread_join(&g_big_threads[i]);
  close(in_fd);
  close(p_out[0]);
  close(p_out[1]);
  cmcp_server_free(srv);
}

static void pipe_flags_are_restored(void **state) {
  static const char in[] = INIT_LINES;
  cmcp_server_t *srv = new_server();
  int p_in[2], p_out[2], flags_in, flags_out;
  char *out;
  (void)state;
  assert_int_equal(pipe(p_in), 0);
  assert_int_equal(pipe(p_out), 0);
  flags_in = fcntl(p_in[0], F_GETFL);
  flags_out = fcntl(p_out[1], F_GETFL);
  assert_int_equal(write(p_in[1], in, sizeof in - 1), (ssize_t)(sizeof in - 1));
  close(p_in[1]);
  assert_int_equal(cmcp_server_run_stdio(srv, p_in[0], p_out[1]), 0);
  assert_int_equal(fcntl(p_in[0], F_GETFL), flags_in);
  assert_int_equal(fcntl(p_out[1], F_GETFL), flags_out);
  /* the descriptors stay open and usable */
  close(p_out[1]);
  out = calloc(1, 4096);
  assert_true(read(p_out[0], out, 4095) > 0);
  assert_non_null(strstr(out, "\"id\":0,\"result\""));
  free(out);
  close(p_in[0]);
  close(p_out[0]);
  cmcp_server_free(srv);
}

/* Fails the Nth allocation for N = 1, 2, ... until a run needs no more:
 * each run must end cleanly with 0 or CMCP_ENOMEM (ASan checks for leaks
 * and bad frees in the sanitizer build). */
static long g_allocs, g_fail_at;
static void *t_malloc(size_t n) {
  return ++g_allocs == g_fail_at ? NULL : malloc(n);
}
static void *t_realloc(void *p, size_t n) {
  return ++g_allocs == g_fail_at ? NULL : realloc(p, n);
}
static void *t_calloc(size_t c, size_t n) {
  return ++g_allocs == g_fail_at ? NULL : calloc(c, n);
}

static void allocation_failures_end_cleanly(void **state) {
  cmcp_server_t *srv = new_server();
  int null_in = open("/dev/null", O_RDONLY),
      null_out = open("/dev/null", O_WRONLY);
  int rc, clean = 0;
  (void)state;
  assert_true(null_in >= 0 && null_out >= 0);
  for (g_fail_at = 1; g_fail_at < 200 && !clean; g_fail_at++) {
    g_allocs = 0;
    assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free),
                     0);
    rc = cmcp_server_run_stdio(srv, null_in, null_out);
    assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
    if (g_allocs < g_fail_at) {
      assert_int_equal(rc, 0);
      clean = 1;
    } else if (rc != 0 && rc != CMCP_ENOMEM) {
      fail_msg("allocation %ld failed: %s", g_fail_at, cmcp_err_name(rc));
    }
  }
  assert_true(clean);
  close(null_in);
  close(null_out);
  cmcp_server_free(srv);
}

/* unyielding: a blocking tool that ignores cancellation for 3 s. */
static void unyielding_tool(cmcp_call_t *call, void *data) {
  struct timespec ts = {3, 0};
  (void)data;
  nanosleep(&ts, NULL);
  cmcp_call_done(call);
}

static void send_sigterm_soon(void *arg) {
  struct timespec ts = {0, 300 * 1000000L};
  (void)arg;
  nanosleep(&ts, NULL);
  kill(getpid(), SIGTERM);
}

/* The child of drain_timeout_leaves_unyielding_handlers: returns its exit
 * status (0 when serve gave up in time with CMCP_ETIMEDOUT after writing
 * the responses it had). */
static int unyielding_child(void) {
  static const char in[] = INIT_LINES CALL(6, "unyielding", "{}");
  cmcp__stdio_config cfg;
  cmcp_server_t *srv = cmcp_server_new("unyielding", "1.0");
  int p_in[2], p_out[2], rc;
  uv_thread_t killer;
  uint64_t t0;
  char out[4096] = {0};
  if (srv == NULL || pipe(p_in) != 0 || pipe(p_out) != 0 ||
      cmcp_server_add_tool_json(srv,
                                "{\"name\":\"unyielding\",\"inputSchema\":"
                                "{\"type\":\"object\"}}",
                                CMCP_FEATURE_BLOCKING, unyielding_tool,
                                NULL) != 0 ||
      write(p_in[1], in, sizeof in - 1) != (ssize_t)(sizeof in - 1))
    return 10;
  cmcp__stdio_config_from(&cfg, srv);
  cfg.handle_signals = 1;
  cfg.drain_timeout_ms = 50;
  t0 = uv_hrtime();
  uv_thread_create(&killer, send_sigterm_soon, NULL);
  rc = cmcp__stdio_serve(srv, p_in[0], p_out[1], &cfg);
  if (rc != CMCP_ETIMEDOUT)
    return 11;
  if (uv_hrtime() - t0 > (uint64_t)2000000000) /* not the handler's 3 s */
    return 12;
  if (read(p_out[0], out, sizeof out - 1) <= 0 ||
      strstr(out, "\"id\":0,\"result\"") == NULL)
    return 13;
  return 0;
}

/* A drain timeout with a blocking handler that does not stop: serve gives
 * up with CMCP_ETIMEDOUT (the process must end: the thread still runs).
 * Run in a child process, which ends with _exit as cmcp_server_main does. */
static void drain_timeout_leaves_unyielding_handlers(void **state) {
  int status = -1;
  pid_t pid;
  (void)state;
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(unyielding_child());
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* A loopback port held by a plain listening socket (no SO_REUSEPORT), so
 * that a server's bind on it fails at once. Returns the socket. */
static int hold_port(char *addr, size_t len) {
  struct sockaddr_in sa;
  socklen_t salen = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 1), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
  snprintf(addr, len, "127.0.0.1:%d", ntohs(sa.sin_port));
  return fd;
}

static void main_reports_bind_failure_and_bad_options(void **state) {
  cmcp_server_t *srv = new_server();
  char addr[32];
  int fd = hold_port(addr, sizeof addr);
  char *listen_busy[] = {"prog", "--listen", addr, NULL};
  char *listen_bad[] = {"prog", "--listen", "127.0.0.1:port", NULL};
  char *bad[] = {"prog", "--queue", "0", NULL};
  char *extra[] = {"prog", "--stdio", "oops", NULL};
  (void)state;
  assert_int_equal(cmcp_server_main(srv, 3, listen_busy), 1);
  close(fd);
  assert_int_equal(cmcp_server_main(srv, 3, listen_bad), 2);
  assert_int_equal(cmcp_server_main(srv, 3, bad), 2);
  assert_int_equal(cmcp_server_main(srv, 3, extra), 2);
  cmcp_server_free(srv);
}

static void main_applies_limit_options(void **state) {
  cmcp_server_t *srv = new_server();
  char *argv[] = {"prog", "--version", NULL};
  char addr[32];
  int fd = hold_port(addr, sizeof addr);
  char *limits[] = {
      "prog", "--workers",      "3", "--queue",  "7",  "--max-message-bytes",
      "2048", "--max-inflight", "5", "--listen", addr, NULL};
  (void)state;
  assert_int_equal(cmcp_server_main(srv, 2, argv), 0);
  /* limits are applied before the transport starts (here: fails to bind) */
  assert_int_equal(cmcp_server_main(srv, 11, limits), 1);
  close(fd);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_WORKERS), 3);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_WORKER_QUEUE), 7);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_MESSAGE_BYTES), 2048);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_INFLIGHT_TOTAL), 5);
  assert_int_equal(cmcp_server_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER), 5);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(serves_a_file_into_a_file),
      cmocka_unit_test(oversize_line_is_answered_and_skipped),
      cmocka_unit_test(eof_waits_for_an_async_handler),
      cmocka_unit_test(slow_consumer_is_dropped),
      cmocka_unit_test(pipe_flags_are_restored),
      cmocka_unit_test(allocation_failures_end_cleanly),
      cmocka_unit_test(drain_timeout_leaves_unyielding_handlers),
      cmocka_unit_test(main_reports_bind_failure_and_bad_options),
      cmocka_unit_test(main_applies_limit_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
