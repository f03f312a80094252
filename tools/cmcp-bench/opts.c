/* opts.c: cmcp-bench's options and profiles.
 *
 * Defaults first, then the --profile's values, then every explicit option,
 * whatever their order on the command line: explicit options override a
 * profile's values.
 */
#include "bench.h"
#include "rt/options.h"

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
    "  --idle-clients N        N more clients (idle sessions) that do their\n"
    "                          handshake, hold a stream and send nothing\n"
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
  int64_t v;
  if (cmcp__parse_int64(s, 0, 100000000, &v) != 0)
    return -1;
  *out = (int)v;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  int64_t v;
  if (cmcp__parse_int64(s, 0, INT64_MAX, &v) != 0)
    return -1;
  *out = (uint64_t)v;
  return 0;
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
    o->conns_per_client = 4;
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

static int set_url(const char *v, bench_opts *o) {
  o->url = v;
  return parse_url(v, o);
}

static int set_tool_args(const char *v, bench_opts *o) {
  o->tool_args = v;
  return json_object_valid(v);
}

/* How an option's value is stored. */
typedef enum {
  K_STR,  /* const char * */
  K_INT,  /* int >= lo */
  K_DBL,  /* double >= 0, > 0 when lo is 1 */
  K_U64,  /* uint64_t */
  K_SIZE, /* size_t <= 16 MiB */
  K_SET,  /* a flag: int = lo */
  K_FN,   /* parsed by fn */
  K_SKIP, /* --profile: applied before the others */
  K_HELP
} kind;

#define AT(field) offsetof(bench_opts, field)

static const struct {
  const char *name;
  kind k;
  size_t off;
  int lo;
  int (*fn)(const char *v, bench_opts *o);
} table[] = {
    {"--url", K_FN, 0, 0, set_url},
    {"--stdio", K_STR, AT(stdio_cmd), 0, NULL},
    {"--protocol", K_FN, 0, 0, set_protocol},
    {"--profile", K_SKIP, 0, 0, NULL},
    {"--clients", K_INT, AT(clients), 1, NULL},
    {"--client-rate", K_DBL, AT(client_rate), 0, NULL},
    {"--rate", K_DBL, AT(rate), 0, NULL},
    {"--closed-loop", K_SET, AT(open_loop), 0, NULL},
    {"--open-loop", K_SET, AT(open_loop), 1, NULL},
    {"--mix", K_FN, 0, 0, parse_mix},
    {"--payload", K_SIZE, AT(payload), 0, NULL},
    {"--duration", K_DBL, AT(duration), 1, NULL},
    {"--warmup", K_DBL, AT(warmup), 0, NULL},
    {"--ramp", K_DBL, AT(ramp), 0, NULL},
    {"--steps", K_FN, 0, 0, parse_steps},
    {"--step-duration", K_DBL, AT(step_duration), 1, NULL},
    {"--requests", K_U64, AT(max_requests), 0, NULL},
    {"--timeout", K_INT, AT(timeout_ms), 1, NULL},
    {"--streams", K_SET, AT(streams), 1, NULL},
    {"--no-streams", K_SET, AT(streams), 0, NULL},
    {"--idle-clients", K_INT, AT(idle), 0, NULL},
    {"--conns-per-client", K_INT, AT(conns_per_client), 1, NULL},
    {"--slow-read", K_SIZE, AT(slow_read), 0, NULL},
    {"--source-addrs", K_FN, 0, 0, parse_sources},
    {"--connect-concurrency", K_INT, AT(connect_concurrency), 1, NULL},
    {"--tool", K_STR, AT(tool), 0, NULL},
    {"--tool-arg", K_STR, AT(tool_arg), 0, NULL},
    {"--tool-args", K_FN, 0, 0, set_tool_args},
    {"--resource", K_STR, AT(resource), 0, NULL},
    {"--prompt", K_STR, AT(prompt), 0, NULL},
    {"--prompt-arg", K_STR, AT(prompt_arg), 0, NULL},
    {"--procs", K_INT, AT(procs), 1, NULL},
    {"--fds-per-proc", K_INT, AT(fds_per_proc), 2, NULL},
    {"--capacity", K_DBL, AT(capacity), 1, NULL},
    {"--capacity-factor", K_DBL, AT(capacity_factor), 0, NULL},
    {"--capacity-duration", K_DBL, AT(capacity_duration), 1, NULL},
    {"--capacity-clients", K_INT, AT(capacity_clients), 1, NULL},
    {"--format", K_FN, 0, 0, set_format},
    {"--json", K_SET, AT(format), BENCH_FMT_JSON, NULL},
    {"--csv", K_SET, AT(format), BENCH_FMT_CSV, NULL},
    {"--output", K_STR, AT(output), 0, NULL},
    {"--json-file", K_STR, AT(json_file), 0, NULL},
    {"--csv-file", K_STR, AT(csv_file), 0, NULL},
    {"--timeseries", K_STR, AT(timeseries), 0, NULL},
    {"--plot", K_STR, AT(plot), 0, NULL},
    {"--progress", K_SET, AT(progress), 1, NULL},
    {"--no-progress", K_SET, AT(progress), 0, NULL},
    {"--child", K_INT, AT(child_index), 0, NULL},
    {"--help", K_HELP, 0, 0, NULL},
};

#define NOPTS (sizeof table / sizeof table[0])

/* Applies table entry k with value v (NULL for a flag): 0 or -1. */
static int apply(bench_opts *o, size_t k, const char *v) {
  void *field = (char *)o + table[k].off;
  uint64_t u;
  double d;
  int n;
  switch (table[k].k) {
  case K_STR:
    *(const char **)field = v;
    return 0;
  case K_INT:
    if (parse_int(v, &n) != 0 || n < table[k].lo)
      return -1;
    *(int *)field = n;
    return 0;
  case K_DBL:
    if (parse_double(v, &d) != 0 || (table[k].lo && d <= 0))
      return -1;
    *(double *)field = d;
    return 0;
  case K_U64:
    return parse_u64(v, (uint64_t *)field);
  case K_SIZE:
    if (parse_u64(v, &u) != 0 || u > (16u << 20))
      return -1;
    *(size_t *)field = (size_t)u;
    return 0;
  case K_SET:
    *(int *)field = table[k].lo;
    return 0;
  case K_FN:
    return table[k].fn(v, o);
  default:
    return 0;
  }
}

static int takes_value(size_t k) {
  return table[k].k != K_SET && table[k].k != K_HELP;
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
    long conns = (long)most * (o->conns_per_client + (o->streams ? 1 : 0)) +
                 2L * o->idle;
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
    for (k = 0; k < NOPTS && strcmp(argv[i], table[k].name) != 0; k++)
      ;
    if (k == NOPTS) {
      fprintf(stderr, "cmcp-bench: unknown option %s (see --help)\n", argv[i]);
      return -1;
    }
    if (table[k].k == K_HELP) {
      fputs(usage, stdout);
      return 1;
    }
    if (takes_value(k) && i + 1 >= argc) {
      fprintf(stderr, "cmcp-bench: %s needs a value\n", argv[i]);
      return -1;
    }
    if (apply(o, k, takes_value(k) ? argv[i + 1] : NULL) != 0) {
      fprintf(stderr, "cmcp-bench: bad value for %s: %s\n", argv[i],
              takes_value(k) ? argv[i + 1] : "");
      return -1;
    }
    i += takes_value(k);
  }
  return finish(o);
}
