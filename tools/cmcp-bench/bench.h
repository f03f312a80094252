/* bench.h: what cmcp-bench's files share.
 *
 * One process runs one libuv loop holding many clients (run.c); each client
 * speaks MCP (mcp.c) over HTTP/1.1 connections (http.c, sse.c) or shares a
 * server's stdio (stdio.c). Every second the loop emits a tick: counters and
 * a latency histogram of that second. With --procs the parent (main.c) runs
 * children that print their ticks as JSON lines; the parent merges them
 * exactly (report.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include "base/base.h"
#include "hist.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- errors by kind ------------------------------------------------------ */
typedef enum {
  BENCH_E_CONNECT,  /* could not connect, or the connection broke idle */
  BENCH_E_TIMEOUT,  /* no complete answer within --timeout */
  BENCH_E_REFUSED,  /* HTTP 503 (overload refusal) */
  BENCH_E_HTTP,     /* any other HTTP status but 200/202 */
  BENCH_E_RPC,      /* a JSON-RPC error response */
  BENCH_E_TOOL,     /* a tools/call result with isError true */
  BENCH_E_PROTOCOL, /* a malformed answer, a wrong id, a cut response */
  BENCH_E_KINDS
} bench_err;

extern const char *const bench_err_names[BENCH_E_KINDS];

/* ---- counters, ticks ------------------------------------------------------
 */
typedef struct bench_counters {
  uint64_t sent;   /* requests written */
  uint64_t ok;     /* successful answers */
  uint64_t late;   /* open loop: sent after their intended time waited
                      for a free connection */
  uint64_t unsent; /* open loop: dropped, the backlog was full */
  uint64_t err[BENCH_E_KINDS];
  uint64_t retry_after;        /* 503s that carried Retry-After */
  uint64_t handshakes;         /* clients that completed their handshake */
  uint64_t handshake_errors;   /* the sum of the five below */
  uint64_t handshake_connect;  /* no connection (or none within --timeout) */
  uint64_t handshake_timeout;  /* no answer within --timeout */
  uint64_t handshake_refused;  /* HTTP 503 */
  uint64_t handshake_http;     /* another HTTP status */
  uint64_t handshake_protocol; /* a JSON-RPC error, a bad or cut answer */
  uint64_t streams_opened;     /* GET or subscriptions/listen streams */
  uint64_t stream_errors;      /* streams that could not open */
  uint64_t streams_dropped;    /* streams the server ended */
  uint64_t stream_events;      /* SSE events on held streams */
  uint64_t lag_us; /* sum over sends of (send time - intended time) */
  uint64_t bytes_out;
  uint64_t bytes_in;
} bench_counters;

/* Name and offset of every uint64_t field of bench_counters but err[]. */
typedef struct {
  const char *name;
  size_t offset;
} bench_field;
extern const bench_field bench_counter_fields[];
extern const size_t bench_counter_nfields;

uint64_t bench_errors(const bench_counters *c);
void bench_counters_add(bench_counters *dst, const bench_counters *src);

/* One second of one process. */
typedef struct bench_tick {
  int sec;          /* 1 for the first second, ... */
  int ms;           /* its length: 1000 but for the last one */
  int step;         /* plateau index with --steps, else 0 */
  int steady;       /* every client of the plateau was ready all second */
  int warm;         /* within --warmup: out of the totals */
  uint64_t clients; /* clients ready (handshake done) at the end */
  uint64_t target;  /* clients wanted at the end */
  uint64_t streams; /* streams open at the end */
  bench_counters c;
  bench_hist *h;   /* latencies of answers received this second, each
                      from its request's intended send time */
  bench_hist *svc; /* the same answers, from their actual send time */
} bench_tick;

/* ---- options ------------------------------------------------------------- */
typedef enum {
  BENCH_M_TOOLS_CALL,
  BENCH_M_TOOLS_LIST,
  BENCH_M_RESOURCES_LIST,
  BENCH_M_RESOURCES_READ,
  BENCH_M_PROMPTS_LIST,
  BENCH_M_PROMPTS_GET,
  BENCH_M_PING,
  BENCH_M_DISCOVER,
  BENCH_M_COUNT
} bench_method;

extern const char *const bench_method_names[BENCH_M_COUNT];

#define BENCH_MAX_STEPS 32
#define BENCH_MAX_SRC 32
#define BENCH_MIX_MAX 64 /* entries of the expanded method sequence */

enum { BENCH_FMT_MD, BENCH_FMT_CSV, BENCH_FMT_JSON };

typedef struct bench_opts {
  const char *profile;
  /* target */
  const char *url;
  char host[64]; /* numeric IPv4 */
  int port;
  char path[256];
  char host_header[96];
  const char *stdio_cmd; /* --stdio: the server command line */
  const char *protocol;
  int modern; /* protocol is 2026-07-28 */
  /* load */
  int clients;
  double client_rate; /* requests/s per client (0: as fast as answers) */
  double rate;        /* total requests/s; overrides client_rate */
  int open_loop;
  int mix[BENCH_M_COUNT]; /* weights */
  size_t payload;
  double duration, warmup, ramp, step_duration;
  int steps[BENCH_MAX_STEPS];
  int nsteps;
  uint64_t max_requests;
  int timeout_ms;
  int streams; /* every client also holds a notification stream */
  int idle;    /* more clients that only hold a stream (idle sessions) */
  int conns_per_client;
  size_t slow_read; /* bytes/s each connection reads at most (0: all) */
  struct sockaddr_in src[BENCH_MAX_SRC];
  int nsrc;
  int connect_concurrency;
  /* what the requests name */
  const char *tool, *tool_arg, *resource, *prompt, *prompt_arg;
  const char *tool_args; /* a whole arguments object (no payload) */
  /* processes */
  int procs;
  int fds_per_proc;
  int child_index;        /* -1 in the parent */
  int child_clients_base; /* first client index of this child */
  /* capacity (bomber, soak) */
  double capacity;        /* answers/s; 0 = measure */
  double capacity_factor; /* offered rate = factor x capacity */
  double capacity_duration;
  int capacity_clients;
  /* output */
  int format;
  const char *output, *csv_file, *json_file, *timeseries, *plot;
  int progress; /* -1: when stderr is a terminal */
} bench_opts;

/* Parses argv into o (defaults, then the profile, then explicit options).
 * 0, 1 after --help, -1 on a usage error (already reported). */
int bench_opts_parse(bench_opts *o, int argc, char **argv);

/* ---- running ------------------------------------------------------------- */
/* Receives each tick of the run; the tick and its histogram are the
 * caller's again once it returns. */
typedef void (*bench_tick_fn)(const bench_tick *t, void *data);

/* Runs this process's share of the load described by o on a fresh loop
 * until the duration or the request bound ends it, calling fn each
 * second. 0, or a negative cmcp status (setup failed). */
int bench_run(const bench_opts *o, bench_tick_fn fn, void *data);

/* ---- aggregation and reports (report.c) ------------------------------ */
typedef struct bench_report bench_report;

bench_report *bench_report_new(const bench_opts *o, int sources);
void bench_report_free(bench_report *r);
/* Merges one tick from source (a process: 0 .. sources - 1). A second's
 * row is complete (percentiles, progress line) once every source sent
 * that second or is done; a tick for a completed row is dropped. */
void bench_report_add(bench_report *r, int source, const bench_tick *t);
/* source sends no more: its missing seconds no longer hold rows back. */
void bench_report_source_done(bench_report *r, int source);
/* Writes the outputs o asks for. 0, or -1 (reported on stderr). */
int bench_report_write(bench_report *r);
/* Answers per second over the whole run (capacity probes). */
double bench_report_throughput(const bench_report *r);

/* Tick as one JSON line (children to the parent) and back. */
int bench_tick_to_json(const bench_tick *t, cmcp__buf *out);
int bench_tick_from_json(const char *line, size_t len, bench_tick *t);

#endif
