/* opts.c: cmcp-bench's options and profiles.
 *
 * Defaults first, then the --profile's values, then every explicit option,
 * whatever their order on the command line: explicit options override a
 * profile's values.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_URL "http://127.0.0.1:8080/mcp"

static const char usage[] =
    "usage: cmcp-bench [--profile NAME] [options]\n"
    "\n"
    "A load generator that speaks MCP (both eras) over Streamable HTTP or\n"
    "stdio. Latency is measured from each request's intended send time.\n"
    "\n"
    "Target:\n"
    "  --url URL               MCP endpoint (default " DEFAULT_URL ");\n"
    "                          the host must be a numeric IPv4 address\n"
    "  --stdio 'CMD ARGS'      spawn the server and speak over its stdio\n"
    "  --protocol VERSION      2026-07-28 (stateless, default) or 2025-11-25,\n"
    "                          2025-06-18, 2025-03-26, 2024-11-05 (sessions)\n"
    "Load:\n"
    "  --profile NAME          baseline, high-load, low-load, slow-client,\n"
    "                          bomber, flood, soak (see README)\n"
    "  --clients N             concurrent clients (default 10)\n"
    "  --client-rate R         requests/s per client; 0 = next request as\n"
    "                          soon as the answer is in (default 0)\n"
    "  --rate R                total requests/s over all clients (overrides\n"
    "                          --client-rate)\n"
    "  --closed-loop           a client waits for its answer (default)\n"
    "  --open-loop             requests go at their intended times whatever\n"
    "                          the answers (needs --rate or --client-rate)\n"
    "  --mix M:W[,M:W...]      methods and weights: tools/call, tools/list,\n"
    "                          resources/list, resources/read, prompts/list,\n"
    "                          prompts/get, ping, server/discover\n"
    "                          (default tools/call:1)\n"
    "  --payload BYTES         argument size (tools/call, prompts/get),\n"
    "                          resource size (resources/read), else _meta\n"
    "                          padding (default 64)\n"
    "  --duration S            run time in seconds (default 10)\n"
    "  --warmup S              first seconds left out of the results\n"
    "  --ramp S                start the clients evenly over S seconds\n"
    "  --steps N,N,...         plateaus of client counts (flood)\n"
    "  --step-duration S       seconds per plateau (default 10)\n"
    "  --requests N            stop after N requests in all\n"
    "  --timeout MS            per request, and for the drain at the end\n"
    "                          (default 10000)\n"
    "  --streams, --no-streams each client also holds a notification stream\n"
    "                          (legacy: GET; 2026-07-28: "
    "subscriptions/listen)\n"
    "  --conns-per-client N    request connections per client (default 1\n"
    "                          closed loop, 4 open loop)\n"
    "  --slow-read BYTES       each connection reads at most BYTES a second\n"
    "  --source-addrs SPEC     bind connections round-robin to these source\n"
    "                          addresses: A.B.C.D-A.B.C.E, a comma list, or\n"
    "                          none (default 127.0.0.2-127.0.0.9 for a\n"
    "                          127.0.0.1 target)\n"
    "  --connect-concurrency N handshakes in progress at most (default 256)\n"
    "  --tool NAME             tool of tools/call (default echo)\n"
    "  --tool-arg NAME         its string argument (default text)\n"
    "  --tool-args JSON        the whole arguments object instead (no\n"
    "                          payload), e.g. '{\"ms\":100}' for sleep\n"
    "  --resource URI          resources/read URI; {bytes} becomes the\n"
    "                          payload size (default bench://blob/{bytes})\n"
    "  --prompt NAME           prompt of prompts/get (default echo)\n"
    "  --prompt-arg NAME       its string argument (default text)\n"
    "Processes:\n"
    "  --procs N               generator processes (default: 1, or enough\n"
    "                          to keep each under --fds-per-proc)\n"
    "  --fds-per-proc N        connections per process at most (16000)\n"
    "Capacity (bomber, soak):\n"
    "  --capacity N            answers/s the server manages; unset: measured\n"
    "                          first by a closed-loop probe\n"
    "  --capacity-factor F     offered rate = F x capacity\n"
    "  --capacity-duration S   probe length (default 5)\n"
    "  --capacity-clients N    probe clients (default 32)\n"
    "Output:\n"
    "  --format md|csv|json    summary format on --output (default md)\n"
    "  --json, --csv           the same as --format json / csv\n"
    "  --output FILE           where the summary goes (default stdout)\n"
    "  --json-file FILE        also write the JSON report there\n"
    "  --csv-file FILE         also write the CSV summary there\n"
    "  --timeseries FILE       per-second CSV: clients, ok, errors, p50/p99\n"
    "  --plot FILE.png         latency and throughput over time (gnuplot)\n"
    "  --progress, --no-progress  live line on stderr (default: on a tty)\n"
    "  --help\n";

/* 0 if v is a JSON object (the text goes into requests as it is). */
static int json_object_valid(const char *v) {
  json_object *j = json_tokener_parse(v);
  int ok = json_object_is_type(j, json_type_object);
  json_object_put(j);
  return ok ? 0 : -1;
}

/* ---- small parsers ------------------------------------------------------- */

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return errno == 0 && end != s && *end == '\0' && *out >= 0 ? 0 : -1;
}

static int parse_int(const char *s, int *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 100000000)
    return -1;
  *out = (int)v;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 10);
  return errno == 0 && end != s && *end == '\0' && s[0] != '-' ? 0 : -1;
}

static int method_index(const char *name, size_t len) {
  int m;
  for (m = 0; m < BENCH_M_COUNT; m++)
    if (strlen(bench_method_names[m]) == len &&
        strncmp(bench_method_names[m], name, len) == 0)
      return m;
  return -1;
}

/* --mix tools/call:2,resources/read:1 (a weight of 1 may be left out). */
static int parse_mix(const char *s, bench_opts *o) {
  memset(o->mix, 0, sizeof o->mix);
  while (*s != '\0') {
    const char *end = strchr(s, ','), *colon;
    size_t len = end ? (size_t)(end - s) : strlen(s);
    int m, w = 1;
    char num[16];
    colon = memchr(s, ':', len);
    m = method_index(s, colon ? (size_t)(colon - s) : len);
    if (m < 0)
      return -1;
    if (colon != NULL) {
      size_t n = len - (size_t)(colon + 1 - s);
      if (n == 0 || n >= sizeof num)
        return -1;
      memcpy(num, colon + 1, n);
      num[n] = '\0';
      if (parse_int(num, &w) != 0 || w > 16)
        return -1;
    }
    o->mix[m] += w;
    s += len + (end ? 1 : 0);
  }
  return 0;
}

static int parse_steps(const char *s, bench_opts *o) {
  o->nsteps = 0;
  if (strcmp(s, "none") == 0)
    return 0;
  while (*s != '\0') {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || v <= 0 || v > 1000000 ||
        o->nsteps == BENCH_MAX_STEPS)
      return -1;
    o->steps[o->nsteps++] = (int)v;
    if (*end == ',')
      end++;
    else if (*end != '\0')
      return -1;
    s = end;
  }
  return 0;
}

static int add_src(bench_opts *o, uint32_t host) {
  if (o->nsrc == BENCH_MAX_SRC)
    return -1;
  memset(&o->src[o->nsrc], 0, sizeof o->src[0]);
  o->src[o->nsrc].sin_family = AF_INET;
  o->src[o->nsrc].sin_addr.s_addr = htonl(host);
  o->nsrc++;
  return 0;
}

/* --source-addrs 127.0.0.2-127.0.0.9 | a,b,c | none */
static int parse_sources(const char *s, bench_opts *o) {
  char buf[512], *tok, *save = NULL;
  o->nsrc = 0;
  if (strcmp(s, "none") == 0)
    return 0;
  if (strlen(s) >= sizeof buf)
    return -1;
  memcpy(buf, s, strlen(s) + 1);
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *dash = strchr(tok, '-');
    struct in_addr a, b;
    uint32_t h;
    if (dash != NULL)
      *dash = '\0';
    if (inet_pton(AF_INET, tok, &a) != 1)
      return -1;
    b = a;
    if (dash != NULL && inet_pton(AF_INET, dash + 1, &b) != 1)
      return -1;
    if (ntohl(b.s_addr) < ntohl(a.s_addr) ||
        ntohl(b.s_addr) - ntohl(a.s_addr) >= BENCH_MAX_SRC)
      return -1;
    for (h = ntohl(a.s_addr); h <= ntohl(b.s_addr); h++)
      if (add_src(o, h) != 0)
        return -1;
  }
  return 0;
}

/* http://A.B.C.D:PORT/PATH into host, port, path and the Host header. */
static int parse_url(const char *url, bench_opts *o) {
  const char *p, *slash, *colon;
  size_t hl;
  struct in_addr a;
  if (strncmp(url, "http://", 7) != 0)
    return -1;
  p = url + 7;
  slash = strchr(p, '/');
  if (slash == NULL)
    slash = p + strlen(p);
  colon = memchr(p, ':', (size_t)(slash - p));
  hl = (size_t)((colon ? colon : slash) - p);
  if (hl == 0 || hl >= sizeof o->host)
    return -1;
  memcpy(o->host, p, hl);
  o->host[hl] = '\0';
  if (strcmp(o->host, "localhost") == 0)
    snprintf(o->host, sizeof o->host, "127.0.0.1");
  if (inet_pton(AF_INET, o->host, &a) != 1)
    return -1;
  o->port = 80;
  if (colon != NULL) {
    char num[8];
    size_t n = (size_t)(slash - colon - 1);
    if (n == 0 || n >= sizeof num)
      return -1;
    memcpy(num, colon + 1, n);
    num[n] = '\0';
    if (parse_int(num, &o->port) != 0 || o->port < 1 || o->port > 65535)
      return -1;
  }
  snprintf(o->path, sizeof o->path, "%s", *slash ? slash : "/");
  snprintf(o->host_header, sizeof o->host_header, "%.*s", (int)(slash - p), p);
  return 0;
}

/* ---- profiles ------------------------------------------------------------ */

static void set_mix(bench_opts *o, const char *mix) {
  (void)parse_mix(mix, o);
}

/* Applies profile name's values. -1 if there is no such profile. */
static int apply_profile(bench_opts *o, const char *name) {
  o->profile = name;
  if (strcmp(name, "baseline") == 0) {
    o->clients = 25;
    o->client_rate = 100;
    o->payload = 512;
    set_mix(o, "tools/call,resources/list,resources/read");
    o->duration = 30;
  } else if (strcmp(name, "high-load") == 0) {
    o->clients = 50;
    o->client_rate = 1000;
    o->payload = 2048;
    set_mix(o, "tools/call,resources/read,prompts/get");
    o->duration = 30;
  } else if (strcmp(name, "low-load") == 0) {
    o->clients = 10;
    o->client_rate = 10;
    o->payload = 256;
    set_mix(o, "tools/list,resources/list");
    o->duration = 30;
  } else if (strcmp(name, "slow-client") == 0) {
    o->clients = 5;
    o->client_rate = 1;
    o->payload = 1024;
    set_mix(o, "resources/read");
    o->slow_read = 2048;
    o->duration = 30;
  } else if (strcmp(name, "bomber") == 0) {
    o->clients = 100;
    o->open_loop = 1;
    o->conns_per_client = 16;
    o->payload = 128;
    set_mix(o, "ping");
    o->protocol = "2025-11-25"; /* ping is a legacy method */
    o->capacity_factor = 3;
    o->timeout_ms = 5000;
    o->duration = 30;
  } else if (strcmp(name, "flood") == 0) {
    static const int steps[] = {25, 250, 350, 500, 5000, 9000};
    memcpy(o->steps, steps, sizeof steps);
    o->nsteps = 6;
    o->step_duration = 20;
    o->clients = 9000;
    o->client_rate = 1;
    o->payload = 128;
    o->streams = 1;
    set_mix(o, "tools/call");
  } else if (strcmp(name, "soak") == 0) {
    o->clients = 50;
    o->open_loop = 1;
    o->payload = 512;
    set_mix(o, "tools/call,resources/read");
    o->capacity_factor = 0.5;
    o->duration = 600;
  } else {
    return -1;
  }
  return 0;
}

static void defaults(bench_opts *o) {
  memset(o, 0, sizeof *o);
  o->url = DEFAULT_URL;
  o->protocol = "2026-07-28";
  o->clients = 10;
  o->mix[BENCH_M_TOOLS_CALL] = 1;
  o->payload = 64;
  o->duration = 10;
  o->step_duration = 10;
  o->timeout_ms = 10000;
  o->connect_concurrency = 256;
  o->tool = "echo";
  o->tool_arg = "text";
  o->resource = "bench://blob/{bytes}";
  o->prompt = "echo";
  o->prompt_arg = "text";
  o->fds_per_proc = 16000;
  o->capacity_duration = 5;
  o->capacity_clients = 32;
  o->child_index = -1;
  o->progress = -1;
  o->conns_per_client = 0; /* by loop */
  o->nsrc = -1;            /* by target */
}

/* ---- the option table ------------------------------------------------------
 */

enum {
  O_URL,
  O_STDIO,
  O_PROTOCOL,
  O_PROFILE,
  O_CLIENTS,
  O_CLIENT_RATE,
  O_RATE,
  O_CLOSED,
  O_OPEN,
  O_MIX,
  O_PAYLOAD,
  O_DURATION,
  O_WARMUP,
  O_RAMP,
  O_STEPS,
  O_STEP_DURATION,
  O_REQUESTS,
  O_TIMEOUT,
  O_STREAMS,
  O_NO_STREAMS,
  O_CONNS,
  O_SLOW_READ,
  O_SOURCES,
  O_CONNECT_CONC,
  O_TOOL,
  O_TOOL_ARG,
  O_TOOL_ARGS,
  O_RESOURCE,
  O_PROMPT,
  O_PROMPT_ARG,
  O_PROCS,
  O_FDS,
  O_CAPACITY,
  O_CAP_FACTOR,
  O_CAP_DURATION,
  O_CAP_CLIENTS,
  O_FORMAT,
  O_JSON,
  O_CSV,
  O_OUTPUT,
  O_JSON_FILE,
  O_CSV_FILE,
  O_TIMESERIES,
  O_PLOT,
  O_PROGRESS,
  O_NO_PROGRESS,
  O_CHILD,
  O_HELP
};

static const struct {
  const char *name;
  int arg, id;
} table[] = {
    {"--url", 1, O_URL},
    {"--stdio", 1, O_STDIO},
    {"--protocol", 1, O_PROTOCOL},
    {"--profile", 1, O_PROFILE},
    {"--clients", 1, O_CLIENTS},
    {"--client-rate", 1, O_CLIENT_RATE},
    {"--rate", 1, O_RATE},
    {"--closed-loop", 0, O_CLOSED},
    {"--open-loop", 0, O_OPEN},
    {"--mix", 1, O_MIX},
    {"--payload", 1, O_PAYLOAD},
    {"--duration", 1, O_DURATION},
    {"--warmup", 1, O_WARMUP},
    {"--ramp", 1, O_RAMP},
    {"--steps", 1, O_STEPS},
    {"--step-duration", 1, O_STEP_DURATION},
    {"--requests", 1, O_REQUESTS},
    {"--timeout", 1, O_TIMEOUT},
    {"--streams", 0, O_STREAMS},
    {"--no-streams", 0, O_NO_STREAMS},
    {"--conns-per-client", 1, O_CONNS},
    {"--slow-read", 1, O_SLOW_READ},
    {"--source-addrs", 1, O_SOURCES},
    {"--connect-concurrency", 1, O_CONNECT_CONC},
    {"--tool", 1, O_TOOL},
    {"--tool-arg", 1, O_TOOL_ARG},
    {"--tool-args", 1, O_TOOL_ARGS},
    {"--resource", 1, O_RESOURCE},
    {"--prompt", 1, O_PROMPT},
    {"--prompt-arg", 1, O_PROMPT_ARG},
    {"--procs", 1, O_PROCS},
    {"--fds-per-proc", 1, O_FDS},
    {"--capacity", 1, O_CAPACITY},
    {"--capacity-factor", 1, O_CAP_FACTOR},
    {"--capacity-duration", 1, O_CAP_DURATION},
    {"--capacity-clients", 1, O_CAP_CLIENTS},
    {"--format", 1, O_FORMAT},
    {"--json", 0, O_JSON},
    {"--csv", 0, O_CSV},
    {"--output", 1, O_OUTPUT},
    {"--json-file", 1, O_JSON_FILE},
    {"--csv-file", 1, O_CSV_FILE},
    {"--timeseries", 1, O_TIMESERIES},
    {"--plot", 1, O_PLOT},
    {"--progress", 0, O_PROGRESS},
    {"--no-progress", 0, O_NO_PROGRESS},
    {"--child", 1, O_CHILD},
    {"--help", 0, O_HELP},
};

/* Sets a double option that must be positive (> 0 when strict). */
static int set_double(const char *v, double *out, int strict) {
  double d;
  if (parse_double(v, &d) != 0 || (strict && d <= 0))
    return -1;
  *out = d;
  return 0;
}

static int set_int(const char *v, int *out, int min) {
  int n;
  if (parse_int(v, &n) != 0 || n < min)
    return -1;
  *out = n;
  return 0;
}

static int set_format(const char *v, bench_opts *o) {
  if (strcmp(v, "md") == 0 || strcmp(v, "markdown") == 0)
    o->format = BENCH_FMT_MD;
  else if (strcmp(v, "csv") == 0)
    o->format = BENCH_FMT_CSV;
  else if (strcmp(v, "json") == 0)
    o->format = BENCH_FMT_JSON;
  else
    return -1;
  return 0;
}

static int set_protocol(const char *v, bench_opts *o) {
  static const char *const known[] = {"2026-07-28", "2025-11-25", "2025-06-18",
                                      "2025-03-26", "2024-11-05"};
  size_t i;
  for (i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(v, known[i]) == 0) {
      o->protocol = known[i];
      return 0;
    }
  return -1;
}

/* Applies option id with value v (NULL for a flag). */
static int apply(bench_opts *o, int id, const char *v) {
  uint64_t u;
  double d;
  switch (id) {
  case O_URL:
    o->url = v;
    return parse_url(v, o);
  case O_STDIO:
    o->stdio_cmd = v;
    return 0;
  case O_PROTOCOL:
    return set_protocol(v, o);
  case O_PROFILE:
    return 0; /* applied first */
  case O_CLIENTS:
    return set_int(v, &o->clients, 1);
  case O_CLIENT_RATE:
    return set_double(v, &o->client_rate, 0);
  case O_RATE:
    return set_double(v, &o->rate, 0);
  case O_CLOSED:
    o->open_loop = 0;
    return 0;
  case O_OPEN:
    o->open_loop = 1;
    return 0;
  case O_MIX:
    return parse_mix(v, o);
  case O_PAYLOAD:
    if (parse_u64(v, &u) != 0 || u > (16u << 20))
      return -1;
    o->payload = (size_t)u;
    return 0;
  case O_DURATION:
    return set_double(v, &o->duration, 1);
  case O_WARMUP:
    return set_double(v, &o->warmup, 0);
  case O_RAMP:
    return set_double(v, &o->ramp, 0);
  case O_STEPS:
    return parse_steps(v, o);
  case O_STEP_DURATION:
    return set_double(v, &o->step_duration, 1);
  case O_REQUESTS:
    return parse_u64(v, &o->max_requests);
  case O_TIMEOUT:
    return set_int(v, &o->timeout_ms, 1);
  case O_STREAMS:
    o->streams = 1;
    return 0;
  case O_NO_STREAMS:
    o->streams = 0;
    return 0;
  case O_CONNS:
    return set_int(v, &o->conns_per_client, 1);
  case O_SLOW_READ:
    if (parse_u64(v, &u) != 0)
      return -1;
    o->slow_read = (size_t)u;
    return 0;
  case O_SOURCES:
    return parse_sources(v, o);
  case O_CONNECT_CONC:
    return set_int(v, &o->connect_concurrency, 1);
  case O_TOOL:
    o->tool = v;
    return 0;
  case O_TOOL_ARG:
    o->tool_arg = v;
    return 0;
  case O_TOOL_ARGS:
    o->tool_args = v;
    return json_object_valid(v);
  case O_RESOURCE:
    o->resource = v;
    return 0;
  case O_PROMPT:
    o->prompt = v;
    return 0;
  case O_PROMPT_ARG:
    o->prompt_arg = v;
    return 0;
  case O_PROCS:
    return set_int(v, &o->procs, 1);
  case O_FDS:
    return set_int(v, &o->fds_per_proc, 2);
  case O_CAPACITY:
    return set_double(v, &o->capacity, 1);
  case O_CAP_FACTOR:
    return set_double(v, &o->capacity_factor, 0);
  case O_CAP_DURATION:
    return set_double(v, &o->capacity_duration, 1);
  case O_CAP_CLIENTS:
    return set_int(v, &o->capacity_clients, 1);
  case O_FORMAT:
    return set_format(v, o);
  case O_JSON:
    o->format = BENCH_FMT_JSON;
    return 0;
  case O_CSV:
    o->format = BENCH_FMT_CSV;
    return 0;
  case O_OUTPUT:
    o->output = v;
    return 0;
  case O_JSON_FILE:
    o->json_file = v;
    return 0;
  case O_CSV_FILE:
    o->csv_file = v;
    return 0;
  case O_TIMESERIES:
    o->timeseries = v;
    return 0;
  case O_PLOT:
    o->plot = v;
    return 0;
  case O_PROGRESS:
    o->progress = 1;
    return 0;
  case O_NO_PROGRESS:
    o->progress = 0;
    return 0;
  case O_CHILD:
    return set_int(v, &o->child_index, 0);
  default:
    break;
  }
  (void)d;
  return -1;
}

/* Fills what depends on several options. -1 on a contradiction. */
static int finish(bench_opts *o) {
  int i, most = o->clients;
  o->modern = strcmp(o->protocol, "2026-07-28") == 0;
  if (o->host[0] == '\0' && parse_url(o->url, o) != 0)
    return -1;
  if (o->nsrc < 0) {
    o->nsrc = 0;
    if (strcmp(o->host, "127.0.0.1") == 0)
      (void)parse_sources("127.0.0.2-127.0.0.9", o);
  }
  for (i = 0; i < o->nsteps; i++)
    if (o->steps[i] > most)
      most = o->steps[i];
  if (o->nsteps > 0) {
    o->clients = most;
    o->duration = o->nsteps * o->step_duration;
  }
  if (o->conns_per_client == 0)
    o->conns_per_client = o->open_loop ? 4 : 1;
  if (o->capacity > 0 && o->capacity_factor > 0)
    o->rate = o->capacity * o->capacity_factor;
  if (o->rate > 0)
    o->client_rate = o->rate / most;
  if (o->open_loop && o->client_rate <= 0 && o->capacity_factor <= 0) {
    fprintf(stderr, "cmcp-bench: --open-loop needs --rate or --client-rate\n");
    return -1;
  }
  if (o->procs == 0) {
    long conns = (long)most * (o->conns_per_client + (o->streams ? 1 : 0));
    o->procs = (int)((conns + o->fds_per_proc - 1) / o->fds_per_proc);
    if (o->procs < 1)
      o->procs = 1;
  }
  if (o->stdio_cmd != NULL)
    o->procs = 1; /* one server, one pipe */
  return 0;
}

int bench_opts_parse(bench_opts *o, int argc, char **argv) {
  int i;
  size_t k;
  defaults(o);
  for (i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--profile") == 0 && apply_profile(o, argv[i + 1])) {
      fprintf(stderr, "cmcp-bench: unknown profile %s\n", argv[i + 1]);
      return -1;
    }
  for (i = 1; i < argc; i++) {
    for (k = 0; k < sizeof table / sizeof table[0]; k++)
      if (strcmp(argv[i], table[k].name) == 0)
        break;
    if (k == sizeof table / sizeof table[0]) {
      fprintf(stderr, "cmcp-bench: unknown option %s (see --help)\n", argv[i]);
      return -1;
    }
    if (table[k].id == O_HELP) {
      fputs(usage, stdout);
      return 1;
    }
    if (table[k].arg && i + 1 >= argc) {
      fprintf(stderr, "cmcp-bench: %s needs a value\n", argv[i]);
      return -1;
    }
    if (apply(o, table[k].id, table[k].arg ? argv[i + 1] : NULL) != 0) {
      fprintf(stderr, "cmcp-bench: bad value for %s: %s\n", argv[i],
              table[k].arg ? argv[i + 1] : "");
      return -1;
    }
    i += table[k].arg;
  }
  return finish(o);
}
