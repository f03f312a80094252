/* src/rt/options.h: the command-line options every cmcp server binary
 * takes (DESIGN.md section 6), parsed by cmcp_server_main. Internal; the
 * HTTP transport reads the same struct.
 *
 *   --stdio                     serve on stdin/stdout (the default)
 *   --listen HOST:PORT          serve Streamable HTTP on HOST:PORT (PORT
 *                               or :PORT alone: 127.0.0.1)
 *   --metrics-listen HOST:PORT  serve GET /metrics on a port of its own
 *   --threads N                 loop threads for HTTP
 *   --max-connections N         open HTTP connections at most
 *   --allowed-origin ORIGIN     an Origin accepted by HTTP (repeatable)
 *   --log-level LEVEL           debug ... emergency, or off
 *   --workers N                 worker threads for blocking handlers
 *   --queue N                   blocking calls waiting for a worker
 *   --max-inflight N            admitted requests per process
 *   --max-message-bytes N       longest JSON-RPC message
 *   --max-memory BYTES          process memory budget (K/M/G; 0: none)
 *   --drain-timeout MS          time given to in-flight work at shutdown
 *   --json-response             HTTP: answer legacy POSTs as JSON, not SSE
 *   --session-idle-timeout MS   HTTP: idle legacy sessions end after MS
 *   --max-sessions N            HTTP: live legacy sessions at most
 *   --session-events N          HTTP: events kept per session to resume
 *   --help, --version
 * Each option with a value also accepts the form --name=value. Numbers are
 * decimal integers checked against a range; anything else is a usage error.
 */
#ifndef CMCP_OPTIONS_H
#define CMCP_OPTIONS_H

#include "base/base.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CMCP__OPT_ORIGINS_MAX 64
#define CMCP__OPT_HOST_MAX 256
#define CMCP__DRAIN_TIMEOUT_DEFAULT_MS 5000

/* HTTP layer limits settable from the command line (index into
 * cmcp__options.http); each defaults to the HTTP layer's own value. */
typedef enum {
  CMCP__HTTP_MAX_HEADER_BYTES, /* --max-header-bytes N */
  CMCP__HTTP_MAX_HEADER_COUNT, /* --max-header-count N */
  CMCP__HTTP_MAX_URL_BYTES,    /* --max-url-bytes N */
  CMCP__HTTP_HEADER_TIMEOUT,   /* --header-timeout MS */
  CMCP__HTTP_BODY_TIMEOUT,     /* --body-timeout MS */
  CMCP__HTTP_IDLE_TIMEOUT,     /* --idle-timeout MS */
  CMCP__HTTP_SEND_TIMEOUT,     /* --send-timeout MS */
  CMCP__HTTP_MAX_PIPELINED,    /* --max-pipelined N */
  CMCP__HTTP_MAX_OUTBOUND,     /* --max-outbound-bytes N */
  CMCP__HTTP_LIMIT_COUNT
} cmcp__http_limit;

typedef struct cmcp__options {
  int stdio;                     /* 1: serve stdio (also when no transport
                                    option was given) */
  int listen;                    /* 1: --listen was given */
  char host[CMCP__OPT_HOST_MAX]; /* without brackets for IPv6 */
  int port;                      /* 0..65535 (0: any free port) */
  int metrics_listen;            /* 1: --metrics-listen was given */
  char metrics_host[CMCP__OPT_HOST_MAX];
  int metrics_port;
  int threads;                   /* 0: one per core */
  int64_t max_connections;       /* 0: the transport's default */
  const char *origins[CMCP__OPT_ORIGINS_MAX]; /* borrowed from argv */
  size_t n_origins;
  int log_level_set;
  cmcp_log_level_t log_level;
  /* Limits; -1 when not given (the server's own value stays). */
  int64_t workers;
  int64_t queue;
  int64_t max_inflight;
  int64_t max_message_bytes;
  int64_t max_memory;       /* bytes; 0: no budget */
  int64_t drain_timeout_ms; /* default CMCP__DRAIN_TIMEOUT_DEFAULT_MS */
  int64_t max_queue_delay_ms; /* 0: off; default CMCP__SHED_DEFAULT_MS */
  /* Streamable HTTP; 0 when not given (the transport's default). */
  int json_response;
  int64_t session_idle_timeout_ms;
  int64_t max_sessions;
  int64_t session_events;
  int64_t http[CMCP__HTTP_LIMIT_COUNT]; /* 0: the HTTP layer's default */
  int help;
  int version;
} cmcp__options;

/* Sets every field to its default. */
void cmcp__options_init(cmcp__options *o);

/* Parses argv[1..argc) into o (initialised first). Returns 0, or
 * CMCP_EINVAL for a usage error with a one-line reason in err (naming the
 * option and what was expected). --help and --version set their flags and
 * stop the parse. Strings in o point into argv. */
int cmcp__options_parse(cmcp__options *o, int argc, char **argv, char *err,
                        size_t errlen);

/* Writes the usage text for program prog to f. */
void cmcp__options_usage(FILE *f, const char *prog);

/* Parses a whole decimal integer in [min, max]; CMCP_EINVAL for anything
 * else (empty, sign only, trailing bytes, out of range). */
int cmcp__parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a byte count: decimal digits with an optional K, M or G suffix
 * (either case; powers of 1024). CMCP_EINVAL for anything else or an
 * overflow. */
int cmcp__parse_bytes(const char *s, int64_t *out);

#endif /* CMCP_OPTIONS_H */
