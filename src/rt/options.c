/* src/rt/options.c: the common command-line options (see options.h). */
#include "rt/options.h"
#include "base/shed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
  OPT_STDIO,
  OPT_LISTEN,
  OPT_METRICS_LISTEN,
  OPT_THREADS,
  OPT_MAX_CONNECTIONS,
  OPT_ALLOWED_ORIGIN,
  OPT_LOG_LEVEL,
  OPT_WORKERS,
  OPT_QUEUE,
  OPT_MAX_INFLIGHT,
  OPT_MAX_MESSAGE_BYTES,
  OPT_DRAIN_TIMEOUT,
  OPT_JSON_RESPONSE,
  OPT_SESSION_IDLE_TIMEOUT,
  OPT_MAX_SESSIONS,
  OPT_MAX_QUEUE_DELAY,
  OPT_SESSION_EVENTS,
  OPT_MAX_MEMORY,
  OPT_HTTP_LIMIT, /* first of CMCP__HTTP_LIMIT_COUNT ids, in that order */
  OPT_HELP = OPT_HTTP_LIMIT + CMCP__HTTP_LIMIT_COUNT,
  OPT_VERSION
};

typedef struct opt_def {
  const char *name;
  enum opt_id id;
  const char *value; /* name of the value in messages; NULL: a flag */
  int64_t min, max;  /* for numbers (min > max: not a number) */
} opt_def;

static const opt_def opt_table[] = {
    {"--stdio", OPT_STDIO, NULL, 1, 0},
    {"--listen", OPT_LISTEN, "HOST:PORT", 1, 0},
    {"--metrics-listen", OPT_METRICS_LISTEN, "HOST:PORT", 1, 0},
    {"--threads", OPT_THREADS, "N", 1, 1024},
    {"--max-connections", OPT_MAX_CONNECTIONS, "N", 1, 10000000},
    {"--allowed-origin", OPT_ALLOWED_ORIGIN, "ORIGIN", 1, 0},
    {"--log-level", OPT_LOG_LEVEL, "LEVEL", 1, 0},
    {"--workers", OPT_WORKERS, "N", 1, 1024},
    {"--queue", OPT_QUEUE, "N", 1, 1 << 20},
    {"--max-inflight", OPT_MAX_INFLIGHT, "N", 1, 1 << 24},
    {"--max-message-bytes", OPT_MAX_MESSAGE_BYTES, "N", 64, (int64_t)1 << 30},
    {"--drain-timeout", OPT_DRAIN_TIMEOUT, "MS", 0, 3600000},
    {"--json-response", OPT_JSON_RESPONSE, NULL, 1, 0},
    {"--session-idle-timeout", OPT_SESSION_IDLE_TIMEOUT, "MS", 1, 86400000},
    {"--max-sessions", OPT_MAX_SESSIONS, "N", 1, 10000000},
    {"--session-events", OPT_SESSION_EVENTS, "N", 1, 1 << 20},
    {"--max-memory", OPT_MAX_MEMORY, "BYTES", 1, 0}, /* parse_bytes */
    {"--max-queue-delay", OPT_MAX_QUEUE_DELAY, "MS", 0, 60000},
    {"--max-header-bytes", OPT_HTTP_LIMIT + CMCP__HTTP_MAX_HEADER_BYTES, "N",
     256, 1 << 20},
    {"--max-header-count", OPT_HTTP_LIMIT + CMCP__HTTP_MAX_HEADER_COUNT, "N", 4,
     10000},
    {"--max-url-bytes", OPT_HTTP_LIMIT + CMCP__HTTP_MAX_URL_BYTES, "N", 16,
     1 << 20},
    {"--header-timeout", OPT_HTTP_LIMIT + CMCP__HTTP_HEADER_TIMEOUT, "MS", 1,
     3600000},
    {"--body-timeout", OPT_HTTP_LIMIT + CMCP__HTTP_BODY_TIMEOUT, "MS", 1,
     3600000},
    {"--idle-timeout", OPT_HTTP_LIMIT + CMCP__HTTP_IDLE_TIMEOUT, "MS", 1,
     86400000},
    {"--send-timeout", OPT_HTTP_LIMIT + CMCP__HTTP_SEND_TIMEOUT, "MS", 1,
     3600000},
    {"--max-pipelined", OPT_HTTP_LIMIT + CMCP__HTTP_MAX_PIPELINED, "N", 1,
     1024},
    {"--max-outbound-bytes", OPT_HTTP_LIMIT + CMCP__HTTP_MAX_OUTBOUND, "N",
     4096, (int64_t)1 << 30},
    {"--help", OPT_HELP, NULL, 1, 0},
    {"-h", OPT_HELP, NULL, 1, 0},
    {"--version", OPT_VERSION, NULL, 1, 0},
};

void cmcp__options_init(cmcp__options *o) {
  memset(o, 0, sizeof *o);
  o->log_level = CMCP_LOG_WARNING;
  o->max_connections = 0;
  o->workers = -1;
  o->queue = -1;
  o->max_inflight = -1;
  o->max_message_bytes = -1;
  o->max_memory = -1;
  o->drain_timeout_ms = CMCP__DRAIN_TIMEOUT_DEFAULT_MS;
  o->max_queue_delay_ms = CMCP__SHED_DEFAULT_MS;
}

int cmcp__parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  long long v;
  if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t' || *s == '+')
    return CMCP_EINVAL;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return CMCP_EINVAL;
  if (v < min || v > max)
    return CMCP_EINVAL;
  *out = (int64_t)v;
  return 0;
}

int cmcp__parse_bytes(const char *s, int64_t *out) {
  static const char units[] = "KMG";
  char num[32];
  const char *u;
  size_t n = s != NULL ? strlen(s) : 0;
  int64_t v, scale = 1;
  if (n == 0 || n >= sizeof num)
    return CMCP_EINVAL;
  u = memchr(units, s[n - 1] & ~0x20, 3); /* K, M, G in either case */
  if (u != NULL) {
    scale = (int64_t)1 << (10 * (1 + (u - units)));
    n--;
  }
  memcpy(num, s, n);
  num[n] = '\0';
  if (cmcp__parse_int64(num, 0, INT64_MAX / scale, &v) != 0)
    return CMCP_EINVAL;
  *out = v * scale;
  return 0;
}

/* Stores --max-memory: a byte count with an optional K, M or G suffix
 * (powers of 1024); 0 turns the budget off. */
static int set_memory(cmcp__options *o, const opt_def *d, const char *v,
                      char *err, size_t errlen) {
  if (cmcp__parse_bytes(v, &o->max_memory) != 0) {
    snprintf(err, errlen,
             "%s: expected a byte count such as 536870912, 512M or 2G (0: "
             "no budget), got '%s'",
             d->name, v);
    return CMCP_EINVAL;
  }
  return 0;
}

/* Finds the option named by arg (up to an '=' if any). */
static const opt_def *find_opt(const char *arg, size_t name_len) {
  size_t i;
  for (i = 0; i < CMCP__ARRAY_SIZE(opt_table); i++) {
    const char *n = opt_table[i].name;
    if (strlen(n) == name_len && strncmp(n, arg, name_len) == 0)
      return &opt_table[i];
  }
  return NULL;
}

/* Splits "HOST:PORT" (or "[v6]:PORT") into host (CMCP__OPT_HOST_MAX
 * bytes) and port; -1 when malformed. "PORT" and ":PORT" mean the loopback
 * address: a server binds to 127.0.0.1 unless told otherwise. */
static int split_host_port(const char *v, char *host, int *port_out) {
  const char *colon = strrchr(v, ':'), *h = "127.0.0.1", *port_text = v;
  size_t hlen = strlen(h);
  int64_t port;
  if (colon != NULL) {
    port_text = colon + 1;
    if (colon != v) { /* a host is given */
      h = v;
      hlen = (size_t)(colon - v);
      if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
        h = v + 1;
        hlen -= 2;
      } else if (memchr(v, ':', hlen) != NULL) {
        return -1; /* an IPv6 host needs brackets */
      }
    }
  }
  if (hlen == 0 || hlen >= CMCP__OPT_HOST_MAX ||
      cmcp__parse_int64(port_text, 0, 65535, &port) != 0)
    return -1;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port_out = (int)port;
  return 0;
}

/* Stores --listen. */
static int parse_listen(cmcp__options *o, const char *v, char *err,
                        size_t errlen) {
  if (split_host_port(v, o->host, &o->port) != 0)
    goto bad;
  o->listen = 1;
  return 0;
bad:
  snprintf(err, errlen,
           "--listen: expected HOST:PORT or PORT (e.g. 127.0.0.1:8080, "
           "[::1]:8080 or 8080; port 0..65535), got '%s'",
           v);
  return CMCP_EINVAL;
}

/* --metrics-listen HOST:PORT: same forms as --listen. */
static int parse_metrics_listen(cmcp__options *o, const char *v, char *err,
                                size_t errlen) {
  if (o->metrics_listen) {
    snprintf(err, errlen, "--metrics-listen: given more than once");
    return CMCP_EINVAL;
  }
  if (split_host_port(v, o->metrics_host, &o->metrics_port) != 0) {
    snprintf(err, errlen,
             "--metrics-listen: expected HOST:PORT or PORT (e.g. "
             "127.0.0.1:9090 or 9090; port 0..65535), got '%s'",
             v);
    return CMCP_EINVAL;
  }
  o->metrics_listen = 1;
  return 0;
}

/* Stores a number option after checking its range. */
static int set_number(cmcp__options *o, const opt_def *d, const char *v,
                      char *err, size_t errlen) {
  int64_t n;
  if (cmcp__parse_int64(v, d->min, d->max, &n) != 0) {
    snprintf(err, errlen, "%s: expected an integer from %lld to %lld, got '%s'",
             d->name, (long long)d->min, (long long)d->max, v);
    return CMCP_EINVAL;
  }
  if (d->id >= OPT_HTTP_LIMIT && d->id < OPT_HELP) {
    o->http[d->id - OPT_HTTP_LIMIT] = n;
    return 0;
  }
  switch (d->id) {
  case OPT_THREADS:
    o->threads = (int)n;
    break;
  case OPT_MAX_CONNECTIONS:
    o->max_connections = n;
    break;
  case OPT_WORKERS:
    o->workers = n;
    break;
  case OPT_QUEUE:
    o->queue = n;
    break;
  case OPT_MAX_INFLIGHT:
    o->max_inflight = n;
    break;
  case OPT_MAX_MESSAGE_BYTES:
    o->max_message_bytes = n;
    break;
  case OPT_SESSION_IDLE_TIMEOUT:
    o->session_idle_timeout_ms = n;
    break;
  case OPT_MAX_SESSIONS:
    o->max_sessions = n;
    break;
  case OPT_MAX_QUEUE_DELAY:
    o->max_queue_delay_ms = n;
    break;
  case OPT_SESSION_EVENTS:
    o->session_events = n;
    break;
  default:
    o->drain_timeout_ms = n;
    break;
  }
  return 0;
}

/* Stores one option that takes a value. */
static int set_value(cmcp__options *o, const opt_def *d, const char *v,
                     char *err, size_t errlen) {
  switch (d->id) {
  case OPT_LISTEN:
    if (o->listen) {
      snprintf(err, errlen, "--listen: given more than once");
      return CMCP_EINVAL;
    }
    return parse_listen(o, v, err, errlen);
  case OPT_METRICS_LISTEN:
    return parse_metrics_listen(o, v, err, errlen);
  case OPT_ALLOWED_ORIGIN:
    if (*v == '\0' || o->n_origins >= CMCP__OPT_ORIGINS_MAX) {
      snprintf(err, errlen, "--allowed-origin: %s",
               *v == '\0' ? "empty origin" : "too many (at most 64)");
      return CMCP_EINVAL;
    }
    o->origins[o->n_origins++] = v;
    return 0;
  case OPT_LOG_LEVEL:
    if (cmcp_log_level_parse(v, &o->log_level) != 0) {
      snprintf(err, errlen,
               "--log-level: expected debug, info, notice, warning, error, "
               "critical, alert, emergency or off, got '%s'",
               v);
      return CMCP_EINVAL;
    }
    o->log_level_set = 1;
    return 0;
  case OPT_MAX_MEMORY:
    return set_memory(o, d, v, err, errlen);
  default:
    return set_number(o, d, v, err, errlen);
  }
}

/* Handles argv[*i]; may take argv[*i + 1] as its value. Returns 1 when the
 * parse should stop early (--help, --version), 0 to go on, or EINVAL. */
static int parse_one(cmcp__options *o, int argc, char **argv, int *i, char *err,
                     size_t errlen) {
  const char *arg = argv[*i], *eq = strchr(arg, '='), *v;
  size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
  const opt_def *d = arg[0] == '-' ? find_opt(arg, name_len) : NULL;
  if (d == NULL) {
    snprintf(err, errlen, "%s '%s' (see --help)",
             arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
    return CMCP_EINVAL;
  }
  if (d->value == NULL) {
    if (eq != NULL) {
      snprintf(err, errlen, "%s takes no value", d->name);
      return CMCP_EINVAL;
    }
    if (d->id == OPT_STDIO)
      o->stdio = 1;
    else if (d->id == OPT_JSON_RESPONSE)
      o->json_response = 1;
    else if (d->id == OPT_HELP)
      o->help = 1;
    else
      o->version = 1;
    return d->id == OPT_STDIO || d->id == OPT_JSON_RESPONSE ? 0 : 1;
  }
  if (eq != NULL) {
    v = eq + 1;
  } else if (*i + 1 < argc) {
    v = argv[++*i];
  } else {
    snprintf(err, errlen, "%s needs a value (%s)", d->name, d->value);
    return CMCP_EINVAL;
  }
  return set_value(o, d, v, err, errlen);
}

int cmcp__options_parse(cmcp__options *o, int argc, char **argv, char *err,
                        size_t errlen) {
  int i, rc;
  cmcp__options_init(o);
  if (errlen > 0)
    err[0] = '\0';
  for (i = 1; i < argc; i++) {
    rc = parse_one(o, argc, argv, &i, err, errlen);
    if (rc < 0)
      return rc;
    if (rc > 0)
      return 0;
  }
  if (o->stdio && o->listen) {
    snprintf(err, errlen, "--stdio and --listen exclude each other");
    return CMCP_EINVAL;
  }
  if (!o->listen)
    o->stdio = 1;
  return 0;
}

void cmcp__options_usage(FILE *f, const char *prog) {
  fprintf(f,
          "Usage: %s [--stdio | --listen HOST:PORT] [options]\n"
          "\n"
          "Serves the Model Context Protocol (cmcp %s).\n"
          "\n"
          "Transport (default: --stdio):\n"
          "  --stdio                  newline-delimited JSON-RPC on stdin and "
          "stdout\n"
          "  --listen HOST:PORT       Streamable HTTP at /mcp on HOST:PORT "
          "(PORT alone:\n"
          "                           127.0.0.1)\n"
          "  --metrics-listen HOST:PORT  Prometheus GET /metrics on a port of "
          "its own\n"
          "                           (HTTP or stdio; /metrics is also on the "
          "--listen port)\n"
          "\n"
          "HTTP:\n"
          "  --threads N              event-loop threads (1-1024; default: one "
          "per core)\n"
          "  --max-connections N      open connections at most\n"
          "  --allowed-origin ORIGIN  accept requests from this Origin "
          "(repeatable)\n"
          "  --json-response          answer legacy POSTs with JSON, not "
          "SSE\n"
          "  --session-idle-timeout MS  end idle sessions after MS (default "
          "600000)\n"
          "  --max-sessions N         live sessions at most (default "
          "10000)\n"
          "  --session-events N       events kept per session for "
          "resumption (default 256)\n"
          "  --max-header-bytes N     request line and headers (default "
          "16384; 431)\n"
          "  --max-header-count N     header lines (default 100; 431)\n"
          "  --max-url-bytes N        request target (default 8192; 414)\n"
          "  --header-timeout MS      to read the headers (default 10000; "
          "408)\n"
          "  --body-timeout MS        to read the body (default 30000; 408)\n"
          "  --idle-timeout MS        keep-alive idle time (default 60000)\n"
          "  --send-timeout MS        output not moving (default 30000)\n"
          "  --max-pipelined N        requests queued per connection "
          "(default 16)\n"
          "  --max-outbound-bytes N   unsent bytes per connection (default "
          "1048576)\n"
          "\n"
          "Limits:\n"
          "  --workers N              threads for blocking handlers (1-1024; "
          "default 4)\n"
          "  --queue N                blocking calls waiting for a worker "
          "(default 1024)\n"
          "  --max-inflight N         requests in progress at once (default "
          "65536)\n"
          "  --max-message-bytes N    longest JSON-RPC message (default "
          "4194304)\n"
          "  --max-memory BYTES       refuse new requests and sessions while "
          "the resident\n"
          "                           set is above BYTES (K, M, G suffixes; 0: "
          "off;\n"
          "                           default 75%% of memory or of the cgroup "
          "limit)\n"
          "  --max-queue-delay MS     refuse new requests while the loop "
          "lags over MS\n"
          "                           (503 / -32000; 0: off; default 100)\n"
          "  --drain-timeout MS       time given to running requests at "
          "SIGINT/SIGTERM\n"
          "                           (0-3600000; default 5000)\n"
          "\n"
          "Other:\n"
          "  --log-level LEVEL        stderr log threshold: debug, info, "
          "notice, warning,\n"
          "                           error, critical, alert, emergency, off "
          "(default warning)\n"
          "  --help                   show this text\n"
          "  --version                show the version\n"
          "\n"
          "Options with a value also accept --name=value. Exit status: 0 on a "
          "clean end,\n"
          "1 on a runtime error, 2 on a usage error.\n",
          prog, CMCP_VERSION_STRING);
}
