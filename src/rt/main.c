/* src/rt/main.c: cmcp_server_main and cmcp_server_run_stdio, the two
 * calls that run a server object as a program. */
#include "rt/loops.h"
#include "rt/metrics.h"
#include "rt/options.h"
#include "transport/stdio.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

int cmcp_server_run_stdio(cmcp_server_t *srv, int in_fd, int out_fd) {
  cmcp__stdio_config cfg;
  if (srv == NULL)
    return CMCP_EINVAL;
  cmcp__stdio_config_from(&cfg, srv);
  return cmcp__stdio_serve(srv, in_fd, out_fd, &cfg);
}

/* The program name for messages: argv[0] without its folder. */
static const char *prog_name(int argc, char **argv) {
  const char *slash;
  if (argc < 1 || argv[0] == NULL || argv[0][0] == '\0')
    return "cmcp-server";
  slash = strrchr(argv[0], '/');
  return slash != NULL ? slash + 1 : argv[0];
}

/* Sets one limit; a refusal is a usage error naming the option. */
static int set_limit(cmcp_server_t *srv, cmcp_limit_t which, int64_t v,
                     const char *opt, const char *prog) {
  int rc;
  if (v < 0)
    return 0; /* not given */
  rc = cmcp_server_set_limit(srv, which, v);
  if (rc != 0)
    fprintf(stderr, "%s: %s %lld: %s\n", prog, opt, (long long)v,
            cmcp_strerror(rc));
  return rc;
}

/* Applies the limit options to the server. */
static int apply_limits(cmcp_server_t *srv, const cmcp__options *o,
                        const char *prog) {
  int64_t per_peer;
  if (set_limit(srv, CMCP_LIMIT_WORKERS, o->workers, "--workers", prog) ||
      set_limit(srv, CMCP_LIMIT_WORKER_QUEUE, o->queue, "--queue", prog) ||
      set_limit(srv, CMCP_LIMIT_MESSAGE_BYTES, o->max_message_bytes,
                "--max-message-bytes", prog) ||
      set_limit(srv, CMCP_LIMIT_INFLIGHT_TOTAL, o->max_inflight,
                "--max-inflight", prog) ||
      set_limit(srv, CMCP_LIMIT_MEMORY_BYTES,
                o->max_memory == 0 ? INT64_MAX : o->max_memory, "--max-memory",
                prog))
    return CMCP_EINVAL;
  /* One peer can never have more in flight than the whole process. */
  per_peer = cmcp_server_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER);
  if (o->max_inflight > 0 && per_peer > o->max_inflight)
    return set_limit(srv, CMCP_LIMIT_INFLIGHT_PER_PEER, o->max_inflight,
                     "--max-inflight", prog);
  return 0;
}

/* Serves stdin/stdout with SIGINT/SIGTERM handling. Returns the exit
 * status. */
static int main_stdio(cmcp_server_t *srv, const cmcp__options *o,
                      const char *prog) {
  cmcp__stdio_config cfg;
  int rc;
  cmcp__stdio_config_from(&cfg, srv);
  cfg.handle_signals = 1;
  cfg.drain_timeout_ms = o->drain_timeout_ms;
  cfg.max_queue_delay_ms = (uint32_t)o->max_queue_delay_ms;
  rc = cmcp__stdio_serve(srv, STDIN_FILENO, STDOUT_FILENO, &cfg);
  if (rc == CMCP_ETIMEDOUT) {
    /* Blocking handlers outlived the drain timeout. Their threads still
     * use the server, so returning (and letting the caller free it) is not
     * safe: the process ends here. Every response that could be sent was
     * written and flushed already. */
    fflush(NULL);
    _exit(0);
  }
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", prog, cmcp_strerror(rc));
    return 1;
  }
  return 0;
}

/* Copies the HTTP limit options (0 where not given: the layer's default). */
static void http_limits(const cmcp__options *o, cmcp__http_config *hc) {
  const int64_t *v = o->http;
  hc->max_header_bytes = (size_t)v[CMCP__HTTP_MAX_HEADER_BYTES];
  hc->max_header_count = (unsigned)v[CMCP__HTTP_MAX_HEADER_COUNT];
  hc->max_url_bytes = (size_t)v[CMCP__HTTP_MAX_URL_BYTES];
  hc->header_timeout_ms = (uint32_t)v[CMCP__HTTP_HEADER_TIMEOUT];
  hc->body_timeout_ms = (uint32_t)v[CMCP__HTTP_BODY_TIMEOUT];
  hc->idle_timeout_ms = (uint32_t)v[CMCP__HTTP_IDLE_TIMEOUT];
  hc->send_timeout_ms = (uint32_t)v[CMCP__HTTP_SEND_TIMEOUT];
  hc->max_pipelined = (unsigned)v[CMCP__HTTP_MAX_PIPELINED];
  hc->max_outbound_bytes = (size_t)v[CMCP__HTTP_MAX_OUTBOUND];
}

/* Serves Streamable HTTP on --listen until a signal. Returns the exit
 * status. */
static int main_http(cmcp_server_t *srv, const cmcp__options *o) {
  cmcp__loops_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.threads = o->threads;
  cfg.port = o->port;
  cfg.mcp.host = o->host;
  cfg.mcp.origins = o->origins;
  cfg.mcp.n_origins = o->n_origins;
  cfg.mcp.max_connections = (unsigned)o->max_connections;
  cfg.mcp.drain_timeout_ms = (uint32_t)o->drain_timeout_ms;
  cfg.mcp.json_response = o->json_response;
  cfg.mcp.session_idle_timeout_ms = (uint64_t)o->session_idle_timeout_ms;
  cfg.mcp.max_sessions = (size_t)o->max_sessions;
  cfg.mcp.max_queue_delay_ms = (uint32_t)o->max_queue_delay_ms;
  cfg.mcp.session_events = (size_t)o->session_events;
  http_limits(o, &cfg.mcp.http);
  return cmcp__serve_http(srv, &cfg);
}

/* Starts the --metrics-listen endpoint if asked (*ms stays NULL if not);
 * prints where it listens. Returns 0, or 1 when it cannot be bound. */
static int start_metrics(const cmcp__options *o, const char *prog,
                         cmcp__metrics_server **ms) {
  int rc;
  *ms = NULL;
  if (!o->metrics_listen)
    return 0;
  rc = cmcp__metrics_server_start(ms, o->metrics_host, o->metrics_port);
  if (rc != 0) {
    fprintf(stderr, "%s: --metrics-listen %s:%d: %s\n", prog, o->metrics_host,
            o->metrics_port, cmcp_strerror(rc));
    return 1;
  }
  fprintf(stderr, "%s: metrics on http://%s%s%s:%d/metrics\n", prog,
          strchr(o->metrics_host, ':') ? "[" : "", o->metrics_host,
          strchr(o->metrics_host, ':') ? "]" : "",
          cmcp__metrics_server_port(*ms));
  return 0;
}

int cmcp_server_main(cmcp_server_t *srv, int argc, char **argv) {
  const char *prog = prog_name(argc, argv);
  cmcp__metrics_server *ms;
  cmcp__options o;
  char err[256];
  int rc;
  if (srv == NULL)
    return 1;
  if (cmcp__options_parse(&o, argc, argv, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, err, prog);
    return EXIT_USAGE;
  }
  if (o.help) {
    cmcp__options_usage(stdout, prog);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (o.version) {
    printf("%s (cmcp %s)\n", prog, CMCP_VERSION_STRING);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (o.log_level_set)
    cmcp_log_set_threshold(o.log_level);
  if (apply_limits(srv, &o, prog) != 0)
    return EXIT_USAGE;
  if (start_metrics(&o, prog, &ms) != 0)
    return 1;
  rc = o.listen ? main_http(srv, &o) : main_stdio(srv, &o, prog);
  cmcp__metrics_server_stop(ms);
  return rc;
}
