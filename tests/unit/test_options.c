/* Unit tests for src/rt/options.c: the common command-line options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "rt/options.h"
#include <stdio.h>
#include <string.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char g_err[256];

/* Parses a NULL-free argv literal; returns the status. */
static int parse(cmcp__options *o, int argc, const char **argv) {
  return cmcp__options_parse(o, argc, (char **)argv, g_err, sizeof g_err);
}

static void no_transport_defaults_to_stdio(void **state) {
  cmcp__options o;
  const char *argv[] = {"prog"};
  (void)state;
  assert_int_equal(parse(&o, ARGC(argv), argv), 0);
  assert_true(o.stdio);
  assert_false(o.listen);
  assert_int_equal(o.workers, -1);
  assert_int_equal(o.queue, -1);
  assert_int_equal(o.max_inflight, -1);
  assert_int_equal(o.max_message_bytes, -1);
  assert_int_equal(o.drain_timeout_ms, CMCP__DRAIN_TIMEOUT_DEFAULT_MS);
  assert_int_equal(o.log_level_set, 0);
}

static void every_option_is_parsed(void **state) {
  cmcp__options o;
  const char *argv[] = {"prog",
                        "--listen",
                        "127.0.0.1:8080",
                        "--threads",
                        "3",
                        "--max-connections=20000",
                        "--allowed-origin",
                        "http://localhost:3000",
                        "--allowed-origin=https://example.com",
                        "--log-level",
                        "debug",
                        "--workers",
                        "8",
                        "--queue=16",
                        "--max-inflight",
                        "100",
                        "--max-message-bytes",
                        "1048576",
                        "--drain-timeout",
                        "0"};
  (void)state;
  assert_int_equal(parse(&o, ARGC(argv), argv), 0);
  assert_false(o.stdio);
  assert_true(o.listen);
  assert_string_equal(o.host, "127.0.0.1");
  assert_int_equal(o.port, 8080);
  assert_int_equal(o.threads, 3);
  assert_int_equal(o.max_connections, 20000);
  assert_int_equal(o.n_origins, 2);
  assert_string_equal(o.origins[0], "http://localhost:3000");
  assert_string_equal(o.origins[1], "https://example.com");
  assert_true(o.log_level_set);
  assert_int_equal(o.log_level, CMCP_LOG_DEBUG);
  assert_int_equal(o.workers, 8);
  assert_int_equal(o.queue, 16);
  assert_int_equal(o.max_inflight, 100);
  assert_int_equal(o.max_message_bytes, 1048576);
  assert_int_equal(o.drain_timeout_ms, 0);
}

static void listen_forms(void **state) {
  cmcp__options o;
  const char *v6[] = {"prog", "--listen=[::1]:0"};
  const char *name[] = {"prog", "--listen", "localhost:65535"};
  const char *port_only[] = {"prog", "--listen", "8080"};
  const char *colon_port[] = {"prog", "--listen=:9"};
  (void)state;
  /* no host: the loopback address */
  assert_int_equal(parse(&o, ARGC(port_only), port_only), 0);
  assert_string_equal(o.host, "127.0.0.1");
  assert_int_equal(o.port, 8080);
  assert_int_equal(parse(&o, ARGC(colon_port), colon_port), 0);
  assert_string_equal(o.host, "127.0.0.1");
  assert_int_equal(o.port, 9);
  assert_int_equal(parse(&o, ARGC(v6), v6), 0);
  assert_string_equal(o.host, "::1");
  assert_int_equal(o.port, 0);
  assert_int_equal(parse(&o, ARGC(name), name), 0);
  assert_string_equal(o.host, "localhost");
  assert_int_equal(o.port, 65535);
}

/* Each bad command line is refused with a message naming the problem. */
static void usage_errors_are_explained(void **state) {
  static const struct {
    const char *args[4];
    const char *needle;
  } cases[] = {
      {{"--threads", "abc"}, "--threads: expected an integer from 1 to 1024"},
      {{"--threads", "4x"}, "got '4x'"},
      {{"--threads", ""}, "got ''"},
      {{"--threads", "0"}, "from 1 to 1024"},
      {{"--threads", "1025"}, "from 1 to 1024"},
      {{"--threads", "+4"}, "got '+4'"},
      {{"--threads", " 4"}, "got ' 4'"},
      {{"--workers", "-1"}, "--workers: expected"},
      {{"--queue", "99999999999999999999"}, "--queue: expected"},
      {{"--max-message-bytes", "10"}, "from 64 to"},
      {{"--drain-timeout", "3600001"}, "--drain-timeout"},
      {{"--max-inflight", "1e3"}, "got '1e3'"},
      {{"--max-connections", "0x10"}, "got '0x10'"},
      {{"--threads"}, "--threads needs a value (N)"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"--stdiox"}, "unknown option '--stdiox'"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--stdio=yes"}, "--stdio takes no value"},
      {{"--stdio", "--listen", "127.0.0.1:1"}, "exclude each other"},
      {{"--listen", "80x"}, "--listen: expected HOST:PORT"},
      {{"--listen", "[]:8080"}, "got '[]:8080'"},
      {{"--listen", "h:"}, "got 'h:'"},
      {{"--listen", "::1:8080"}, "got '::1:8080'"},
      {{"--listen", "h:70000"}, "port 0..65535"},
      {{"--listen", "a:1", "--listen=b:2"}, "given more than once"},
      {{"--log-level", "loud"}, "--log-level: expected debug"},
      {{"--allowed-origin", ""}, "empty origin"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *argv[5] = {"prog"};
    int argc = 1, j;
    cmcp__options o;
    for (j = 0; j < 4 && cases[i].args[j] != NULL; j++)
      argv[argc++] = cases[i].args[j];
    g_err[0] = '\0';
    assert_int_equal(parse(&o, argc, argv), CMCP_EINVAL);
    if (strstr(g_err, cases[i].needle) == NULL)
      fail_msg("case %zu: '%s' does not contain '%s'", i, g_err,
               cases[i].needle);
  }
}

static void too_many_origins(void **state) {
  const char *argv[3 + 2 * CMCP__OPT_ORIGINS_MAX];
  cmcp__options o;
  int argc = 1, i;
  (void)state;
  argv[0] = "prog";
  for (i = 0; i <= CMCP__OPT_ORIGINS_MAX; i++) {
    argv[argc++] = "--allowed-origin";
    argv[argc++] = "http://a";
  }
  assert_int_equal(parse(&o, argc, argv), CMCP_EINVAL);
  assert_non_null(strstr(g_err, "too many"));
  assert_int_equal(parse(&o, argc - 2, argv), 0);
  assert_int_equal(o.n_origins, CMCP__OPT_ORIGINS_MAX);
}

static void help_and_version_stop_the_parse(void **state) {
  cmcp__options o;
  const char *help[] = {"prog", "--help", "--bogus"};
  const char *h[] = {"prog", "-h"};
  const char *version[] = {"prog", "--threads", "2", "--version", "x"};
  (void)state;
  assert_int_equal(parse(&o, ARGC(help), help), 0);
  assert_true(o.help);
  assert_int_equal(parse(&o, ARGC(h), h), 0);
  assert_true(o.help);
  assert_int_equal(parse(&o, ARGC(version), version), 0);
  assert_true(o.version);
  assert_int_equal(o.threads, 2);
}

static void parse_int64_is_strict(void **state) {
  int64_t v = 7;
  (void)state;
  assert_int_equal(cmcp__parse_int64("42", 0, 100, &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(cmcp__parse_int64("-5", -10, 10, &v), 0);
  assert_int_equal(v, -5);
  assert_int_equal(cmcp__parse_int64("9223372036854775807", 0, INT64_MAX, &v),
                   0);
  assert_int_equal(v, INT64_MAX);
  v = 7;
  assert_int_equal(cmcp__parse_int64("9223372036854775808", 0, INT64_MAX, &v),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__parse_int64(NULL, 0, 1, &v), CMCP_EINVAL);
  assert_int_equal(cmcp__parse_int64("-", -1, 1, &v), CMCP_EINVAL);
  assert_int_equal(cmcp__parse_int64("1 ", 0, 9, &v), CMCP_EINVAL);
  assert_int_equal(cmcp__parse_int64("101", 0, 100, &v), CMCP_EINVAL);
  assert_int_equal(v, 7); /* untouched on failure */
}

static void http_limits_are_parsed_and_range_checked(void **state) {
  cmcp__options o;
  char err[256];
  char *argv[] = {"prog",
                  "--listen",
                  "8080",
                  "--max-header-bytes",
                  "4096",
                  "--max-header-count=20",
                  "--max-url-bytes",
                  "512",
                  "--header-timeout",
                  "1500",
                  "--body-timeout",
                  "2000",
                  "--idle-timeout",
                  "3000",
                  "--send-timeout",
                  "4000",
                  "--max-pipelined",
                  "8",
                  "--max-outbound-bytes",
                  "65536"};
  char *low[] = {"prog", "--max-outbound-bytes", "100"};
  char *zero[] = {"prog", "--header-timeout", "0"};
  (void)state;
  assert_int_equal(cmcp__options_parse(&o, 20, argv, err, sizeof err), 0);
  assert_int_equal(o.http[CMCP__HTTP_MAX_HEADER_BYTES], 4096);
  assert_int_equal(o.http[CMCP__HTTP_MAX_HEADER_COUNT], 20);
  assert_int_equal(o.http[CMCP__HTTP_MAX_URL_BYTES], 512);
  assert_int_equal(o.http[CMCP__HTTP_HEADER_TIMEOUT], 1500);
  assert_int_equal(o.http[CMCP__HTTP_BODY_TIMEOUT], 2000);
  assert_int_equal(o.http[CMCP__HTTP_IDLE_TIMEOUT], 3000);
  assert_int_equal(o.http[CMCP__HTTP_SEND_TIMEOUT], 4000);
  assert_int_equal(o.http[CMCP__HTTP_MAX_PIPELINED], 8);
  assert_int_equal(o.http[CMCP__HTTP_MAX_OUTBOUND], 65536);
  assert_int_equal(o.drain_timeout_ms, CMCP__DRAIN_TIMEOUT_DEFAULT_MS);
  assert_int_equal(cmcp__options_parse(&o, 3, low, err, sizeof err),
                   CMCP_EINVAL);
  assert_non_null(strstr(err, "--max-outbound-bytes: expected an integer"));
  assert_int_equal(cmcp__options_parse(&o, 3, zero, err, sizeof err),
                   CMCP_EINVAL);
  assert_non_null(strstr(err, "--header-timeout"));
}

static void usage_text_lists_every_option(void **state) {
  static const char *names[] = {"--stdio",
                                "--listen HOST:PORT",
                                "--threads N",
                                "--max-connections",
                                "--allowed-origin",
                                "--log-level LEVEL",
                                "--workers N",
                                "--queue N",
                                "--max-inflight N",
                                "--max-message-bytes",
                                "--drain-timeout MS",
                                "--max-header-bytes N",
                                "--max-header-count N",
                                "--max-url-bytes N",
                                "--header-timeout MS",
                                "--body-timeout MS",
                                "--idle-timeout MS",
                                "--send-timeout MS",
                                "--max-pipelined N",
                                "--max-outbound-bytes N",
                                "--help",
                                "--version"};
  char text[8192];
  FILE *f = fmemopen(text, sizeof text, "w");
  size_t i;
  (void)state;
  assert_non_null(f);
  cmcp__options_usage(f, "cmcpd");
  fclose(f);
  assert_non_null(strstr(text, "Usage: cmcpd"));
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strstr(text, names[i]) == NULL)
      fail_msg("usage misses %s", names[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(no_transport_defaults_to_stdio),
      cmocka_unit_test(every_option_is_parsed),
      cmocka_unit_test(listen_forms),
      cmocka_unit_test(usage_errors_are_explained),
      cmocka_unit_test(too_many_origins),
      cmocka_unit_test(help_and_version_stop_the_parse),
      cmocka_unit_test(parse_int64_is_strict),
      cmocka_unit_test(http_limits_are_parsed_and_range_checked),
      cmocka_unit_test(usage_text_lists_every_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
