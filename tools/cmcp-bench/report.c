/* report.c: merging ticks and writing what a run measured.
 *
 * Ticks from every process are merged slot by slot (histograms) and field
 * by field (counters) into rows, one a second; a row is complete once
 * every process has sent its tick for that second. Totals leave out the
 * --warmup seconds; a plateau (--steps) counts only its steady seconds
 * (every client of the plateau ready). Outputs: a progress line on a
 * terminal, a Markdown table, CSV, JSON, a per-second time series (CSV) and
 * a gnuplot PNG of latency and throughput over time.
 */
#include "bench.h"

#include <errno.h>
#include <json-c/json.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_ROWS 100000

const char *const bench_err_names[BENCH_E_KINDS] = {
    "connect",       "timeout",    "refused_503", "http_status",
    "jsonrpc_error", "tool_error", "protocol"};

const char *const bench_method_names[BENCH_M_COUNT] = {
    "tools/call",   "tools/list",  "resources/list", "resources/read",
    "prompts/list", "prompts/get", "ping",           "server/discover"};

#define F(x)                                                                   \
  { #x, offsetof(bench_counters, x) }
const bench_field bench_counter_fields[] = {F(sent),
                                            F(ok),
                                            F(late),
                                            F(unsent),
                                            F(retry_after),
                                            F(handshakes),
                                            F(handshake_errors),
                                            F(handshake_connect),
                                            F(handshake_timeout),
                                            F(handshake_refused),
                                            F(handshake_http),
                                            F(handshake_protocol),
                                            F(streams_opened),
                                            F(stream_errors),
                                            F(streams_dropped),
                                            F(stream_events),
                                            F(lag_us),
                                            F(bytes_out),
                                            F(bytes_in)};
#undef F
const size_t bench_counter_nfields =
    sizeof bench_counter_fields / sizeof bench_counter_fields[0];

static uint64_t *field(bench_counters *c, size_t i) {
  return (uint64_t *)((char *)c + bench_counter_fields[i].offset);
}

uint64_t bench_errors(const bench_counters *c) {
  uint64_t n = 0;
  int k;
  for (k = 0; k < BENCH_E_KINDS; k++)
    n += c->err[k];
  return n;
}

void bench_counters_add(bench_counters *dst, const bench_counters *src) {
  size_t i;
  int k;
  for (i = 0; i < bench_counter_nfields; i++)
    *field(dst, i) += *field((bench_counters *)src, i);
  for (k = 0; k < BENCH_E_KINDS; k++)
    dst->err[k] += src->err[k];
}

/* ---- ticks as JSON lines ------------------------------------------------- */

static uint64_t get_u64(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  return (uint64_t)json_object_get_int64(v);
}

/* ,"key":{"min":..,"max":..,"sum":..,"slots":[slot,count,...]} with the
 * non-empty slots of h. */
static int hist_to_json(const bench_hist *h, const char *key, cmcp__buf *out) {
  size_t i;
  int rc, first = 1;
  rc = cmcp__buf_printf(out,
                        ",\"%s\":{\"min\":%llu,\"max\":%llu,\"sum\":%.0f,"
                        "\"slots\":[",
                        key, (unsigned long long)h->min,
                        (unsigned long long)h->max, h->sum);
  for (i = h->lo; rc == 0 && h->total > 0 && i <= h->hi; i++)
    if (h->counts[i] != 0) {
      rc = cmcp__buf_printf(out, "%s%zu,%llu", first ? "" : ",", i,
                            (unsigned long long)h->counts[i]);
      first = 0;
    }
  return rc == 0 ? cmcp__buf_adds(out, "]}") : rc;
}

/* Reads o[key] written by hist_to_json() into h. 0, or -1 when missing. */
static int hist_from_json(json_object *o, const char *key, bench_hist *h) {
  json_object *j, *a, *v;
  size_t i, n;
  bench_hist_reset(h);
  if (!json_object_object_get_ex(o, key, &j) ||
      !json_object_object_get_ex(j, "slots", &a) ||
      !json_object_is_type(a, json_type_array))
    return -1;
  n = json_object_array_length(a);
  for (i = 0; i + 1 < n; i += 2)
    bench_hist_add_slot(
        h, (size_t)json_object_get_int64(json_object_array_get_idx(a, i)),
        (uint64_t)json_object_get_int64(json_object_array_get_idx(a, i + 1)));
  if (h->total > 0) { /* the exact extremes and sum */
    h->min = get_u64(j, "min");
    h->max = get_u64(j, "max");
    if (json_object_object_get_ex(j, "sum", &v))
      h->sum = json_object_get_double(v);
  }
  return 0;
}

int bench_tick_to_json(const bench_tick *t, cmcp__buf *out) {
  size_t i;
  int k, rc;
  rc = cmcp__buf_printf(out,
                        "{\"sec\":%d,\"ms\":%d,\"step\":%d,\"steady\":%d,"
                        "\"warm\":%d,\"clients\":%llu,\"target\":%llu,"
                        "\"streams\":%llu",
                        t->sec, t->ms, t->step, t->steady, t->warm,
                        (unsigned long long)t->clients,
                        (unsigned long long)t->target,
                        (unsigned long long)t->streams);
  for (i = 0; rc == 0 && i < bench_counter_nfields; i++)
    rc = cmcp__buf_printf(
        out, ",\"%s\":%llu", bench_counter_fields[i].name,
        (unsigned long long)*field((bench_counters *)&t->c, i));
  if (rc == 0)
    rc = cmcp__buf_adds(out, ",\"err\":[");
  for (k = 0; rc == 0 && k < BENCH_E_KINDS; k++)
    rc = cmcp__buf_printf(out, "%s%llu", k ? "," : "",
                          (unsigned long long)t->c.err[k]);
  if (rc == 0)
    rc = cmcp__buf_adds(out, "]");
  if (rc == 0)
    rc = hist_to_json(t->h, "h", out);
  if (rc == 0 && t->svc != NULL)
    rc = hist_to_json(t->svc, "s", out);
  if (rc == 0)
    rc = cmcp__buf_adds(out, "}\n");
  return rc;
}

int bench_tick_from_json(const char *line, size_t len, bench_tick *t) {
  json_tokener *tok = json_tokener_new();
  json_object *o = NULL, *a;
  size_t i;
  int rc = -1;
  if (tok == NULL)
    return -1;
  o = json_tokener_parse_ex(tok, line, (int)len);
  json_tokener_free(tok);
  if (!json_object_is_type(o, json_type_object))
    goto out;
  t->sec = (int)get_u64(o, "sec");
  t->ms = (int)get_u64(o, "ms");
  t->step = (int)get_u64(o, "step");
  t->steady = (int)get_u64(o, "steady");
  t->warm = (int)get_u64(o, "warm");
  t->clients = get_u64(o, "clients");
  t->target = get_u64(o, "target");
  t->streams = get_u64(o, "streams");
  memset(&t->c, 0, sizeof t->c);
  for (i = 0; i < bench_counter_nfields; i++)
    *field(&t->c, i) = get_u64(o, bench_counter_fields[i].name);
  if (json_object_object_get_ex(o, "err", &a) &&
      json_object_is_type(a, json_type_array))
    for (i = 0; i < BENCH_E_KINDS && i < json_object_array_length(a); i++)
      t->c.err[i] =
          (uint64_t)json_object_get_int64(json_object_array_get_idx(a, i));
  if (hist_from_json(o, "h", t->h) != 0 ||
      (t->svc != NULL && hist_from_json(o, "s", t->svc) != 0))
    goto out;
  rc = 0;
out:
  json_object_put(o);
  return rc;
}

/* ---- merging ------------------------------------------------------------- */

typedef struct row {
  int sources; /* ticks merged */
  int ms, step, steady, warm;
  uint64_t clients, target, streams;
  bench_counters c;
  bench_hist *h; /* until the row is complete */
  uint64_t p50, p90, p99, max;
} row;

struct bench_report {
  const bench_opts *o;
  int sources;
  int *last;  /* per source: the last second it sent */
  char *gone; /* per source: it sends no more */
  row *rows;
  int nrows; /* rows in use: seconds 1..nrows */
  int shown; /* rows complete and shown */
  bench_hist total;
  bench_hist svc_total; /* latency from send times */
  bench_hist *steps;    /* one per plateau */
  bench_counters tc;
  bench_counters *step_c;
  uint64_t *step_clients; /* most clients ready in a plateau's second */
  uint64_t *step_streams; /* most streams held in one */
  double *step_secs;
  double secs; /* measured seconds (warm-up excluded) */
  int progress;
};

bench_report *bench_report_new(const bench_opts *o, int sources) {
  bench_report *r = cmcp__calloc(1, sizeof *r);
  int i, nsteps = o->nsteps > 0 ? o->nsteps : 1;
  if (r == NULL)
    return NULL;
  r->o = o;
  r->sources = sources;
  r->rows = cmcp__calloc(MAX_ROWS, sizeof *r->rows);
  r->last = cmcp__calloc((size_t)sources, sizeof *r->last);
  r->gone = cmcp__calloc((size_t)sources, sizeof *r->gone);
  r->steps = cmcp__calloc((size_t)nsteps, sizeof *r->steps);
  r->step_c = cmcp__calloc((size_t)nsteps, sizeof *r->step_c);
  r->step_secs = cmcp__calloc((size_t)nsteps, sizeof *r->step_secs);
  r->step_clients = cmcp__calloc((size_t)nsteps, sizeof *r->step_clients);
  r->step_streams = cmcp__calloc((size_t)nsteps, sizeof *r->step_streams);
  if (r->rows == NULL || r->last == NULL || r->gone == NULL ||
      r->steps == NULL || r->step_c == NULL || r->step_secs == NULL ||
      r->step_clients == NULL || r->step_streams == NULL ||
      bench_hist_init(&r->total) != 0 || bench_hist_init(&r->svc_total) != 0)
    goto fail;
  for (i = 0; i < nsteps; i++)
    if (bench_hist_init(&r->steps[i]) != 0)
      goto fail;
  r->progress = o->progress >= 0 ? o->progress : isatty(2);
  return r;
fail:
  bench_report_free(r);
  return NULL;
}

void bench_report_free(bench_report *r) {
  int i, nsteps;
  if (r == NULL)
    return;
  nsteps = r->o->nsteps > 0 ? r->o->nsteps : 1;
  for (i = 0; r->rows != NULL && i < r->nrows; i++)
    if (r->rows[i].h != NULL) {
      bench_hist_free(r->rows[i].h);
      cmcp__free(r->rows[i].h);
    }
  for (i = 0; r->steps != NULL && i < nsteps; i++)
    bench_hist_free(&r->steps[i]);
  bench_hist_free(&r->total);
  bench_hist_free(&r->svc_total);
  cmcp__free(r->rows);
  cmcp__free(r->last);
  cmcp__free(r->gone);
  cmcp__free(r->steps);
  cmcp__free(r->step_c);
  cmcp__free(r->step_secs);
  cmcp__free(r->step_clients);
  cmcp__free(r->step_streams);
  cmcp__free(r);
}

/* Shows the progress line of row i on stderr. */
static void show_progress(bench_report *r, int i) {
  const row *w = &r->rows[i];
  double s = w->ms > 0 ? w->ms / 1000.0 : 1.0;
  fprintf(stderr,
          "\r\033[K%4ds  clients %llu/%llu  streams %llu  %.0f req/s  "
          "ok %llu  err %llu  p50 %.2f ms  p99 %.2f ms%s",
          i + 1, (unsigned long long)w->clients, (unsigned long long)w->target,
          (unsigned long long)w->streams, (double)w->c.ok / s,
          (unsigned long long)w->c.ok, (unsigned long long)bench_errors(&w->c),
          (double)w->p50 / 1000.0, (double)w->p99 / 1000.0,
          w->warm ? "  (warm-up)" : "");
  fflush(stderr);
}

/* Row i is complete: its percentiles are kept, a steady plateau second
 * joins its plateau, and the row's histogram goes. */
static void complete(bench_report *r, int i) {
  row *w = &r->rows[i];
  int nsteps = r->o->nsteps > 0 ? r->o->nsteps : 1;
  int st = w->step < nsteps ? w->step : nsteps - 1;
  if (w->h == NULL)
    return;
  w->p50 = bench_hist_percentile(w->h, 50);
  w->p90 = bench_hist_percentile(w->h, 90);
  w->p99 = bench_hist_percentile(w->h, 99);
  w->max = w->h->total == 0 ? 0 : w->h->max;
  if (!w->warm && w->clients > r->step_clients[st])
    r->step_clients[st] = w->clients;
  if (!w->warm && w->streams > r->step_streams[st])
    r->step_streams[st] = w->streams;
  if (w->steady && !w->warm && r->o->nsteps > 0) {
    bench_hist_merge(&r->steps[st], w->h);
    bench_counters_add(&r->step_c[st], &w->c);
    r->step_secs[st] += w->ms / 1000.0;
  }
  bench_hist_free(w->h);
  cmcp__free(w->h);
  w->h = NULL;
  if (r->progress)
    show_progress(r, i);
}

/* Completes, in order, the rows every source has sent or never will. */
static void complete_ready(bench_report *r) {
  while (r->shown < r->nrows) {
    int s;
    for (s = 0; s < r->sources; s++)
      if (!r->gone[s] && r->last[s] <= r->shown)
        return;
    complete(r, r->shown++);
  }
}

/* Counters of connections rather than requests: they count in warm-up
 * seconds too (clients connect then). */
static void add_setup_counters(bench_counters *dst, const bench_counters *c) {
  dst->handshakes += c->handshakes;
  dst->handshake_errors += c->handshake_errors;
  dst->handshake_connect += c->handshake_connect;
  dst->handshake_timeout += c->handshake_timeout;
  dst->handshake_refused += c->handshake_refused;
  dst->handshake_http += c->handshake_http;
  dst->handshake_protocol += c->handshake_protocol;
  dst->streams_opened += c->streams_opened;
  dst->stream_errors += c->stream_errors;
  dst->streams_dropped += c->streams_dropped;
  dst->stream_events += c->stream_events;
}

void bench_report_add(bench_report *r, int source, const bench_tick *t) {
  row *w;
  int i = t->sec - 1;
  if (i < 0 || i >= MAX_ROWS || source < 0 || source >= r->sources ||
      i < r->shown)
    return;
  w = &r->rows[i];
  if (w->h == NULL && w->sources == 0) {
    w->h = cmcp__malloc(sizeof *w->h);
    if (w->h == NULL || bench_hist_init(w->h) != 0) {
      cmcp__free(w->h);
      w->h = NULL;
    }
    w->steady = 1;
  }
  if (i + 1 > r->nrows)
    r->nrows = i + 1;
  w->sources++;
  if (t->ms > w->ms)
    w->ms = t->ms;
  w->step = t->step;
  w->steady = w->steady && t->steady;
  w->warm = t->warm;
  w->clients += t->clients;
  w->target += t->target;
  w->streams += t->streams;
  bench_counters_add(&w->c, &t->c);
  if (w->h != NULL)
    bench_hist_merge(w->h, t->h);
  if (!t->warm) {
    bench_hist_merge(&r->total, t->h);
    if (t->svc != NULL)
      bench_hist_merge(&r->svc_total, t->svc);
    bench_counters_add(&r->tc, &t->c);
  } else {
    add_setup_counters(&r->tc, &t->c);
  }
  if (t->sec > r->last[source])
    r->last[source] = t->sec;
  complete_ready(r);
}

void bench_report_source_done(bench_report *r, int source) {
  if (source >= 0 && source < r->sources)
    r->gone[source] = 1;
  complete_ready(r);
}

/* Completes what is left once every tick is in; sums the seconds. */
static void finalize(bench_report *r) {
  int i;
  r->secs = 0;
  for (i = 0; i < r->nrows; i++) {
    complete(r, i);
    if (!r->rows[i].warm)
      r->secs += r->rows[i].ms / 1000.0;
  }
  if (r->progress)
    fputc('\n', stderr);
}

double bench_report_throughput(const bench_report *r) {
  double s = 0;
  int i;
  for (i = 0; i < r->nrows; i++)
    if (!r->rows[i].warm)
      s += r->rows[i].ms / 1000.0;
  return s > 0 ? (double)r->tc.ok / s : 0.0;
}

/* ---- outputs ------------------------------------------------------------- */

static const double pcts[] = {50, 90, 95, 99, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p95", "p99", "p99.9"};
#define NPCT 5

static double ms_of(uint64_t us) {
  return (double)us / 1000.0;
}

static const char *loop_name(const bench_opts *o) {
  return o->open_loop ? "open" : "closed";
}

/* The method mix as text: tools/call:1,resources/read:1 */
static void mix_text(const bench_opts *o, char *out, size_t len) {
  size_t used = 0;
  int m;
  out[0] = '\0';
  for (m = 0; m < BENCH_M_COUNT; m++)
    if (o->mix[m] > 0 && used < len) {
      int n = snprintf(out + used, len - used, "%s%s:%d", used ? "," : "",
                       bench_method_names[m], o->mix[m]);
      if (n > 0)
        used += (size_t)n;
    }
}

/* One row of the Markdown latency table. */
static void md_latency_row(FILE *f, const char *name, const bench_hist *h) {
  int k;
  fprintf(f, "| %s | %.3f | %.3f |", name, h->total ? ms_of(h->min) : 0.0,
          bench_hist_mean(h) / 1000.0);
  for (k = 0; k < NPCT; k++)
    fprintf(f, " %.3f |", ms_of(bench_hist_percentile(h, pcts[k])));
  fprintf(f, " %.3f |\n", ms_of(h->max));
}

/* The settings table of the Markdown summary. */
static void md_settings(bench_report *r, FILE *f) {
  const bench_opts *o = r->o;
  char mix[256];
  mix_text(o, mix, sizeof mix);
  fprintf(f, "## cmcp-bench: %s\n\n", o->profile ? o->profile : "custom");
  fprintf(f, "| setting | value |\n|---|---|\n");
  fprintf(f, "| target | %s |\n| protocol | %s |\n",
          o->stdio_cmd ? o->stdio_cmd : o->url, o->protocol);
  fprintf(f, "| clients | %d%s |\n| idle clients | %d |\n| loop | %s |\n",
          o->clients, o->streams ? " (each holding a stream)" : "", o->idle,
          loop_name(o));
  fprintf(f, "| rate per client | %s%.1f/s |\n",
          o->client_rate > 0 ? "" : "unpaced ", o->client_rate);
  fprintf(f, "| mix | %s |\n| payload | %zu B |\n| processes | %d |\n", mix,
          o->payload, o->procs);
  fprintf(f, "| measured | %.1f s |\n\n", r->secs);
}

/* Requests, latency and errors by kind. */
static void md_requests(bench_report *r, FILE *f) {
  const bench_counters *c = &r->tc;
  int k;
  fprintf(f, "| requests | ok | errors | late | unsent | throughput | "
             "mean send lag |\n|---:|---:|---:|---:|---:|---:|---:|\n");
  fprintf(f, "| %llu | %llu | %llu | %llu | %llu | %.0f/s | %.3f ms |\n\n",
          (unsigned long long)c->sent, (unsigned long long)c->ok,
          (unsigned long long)bench_errors(c), (unsigned long long)c->late,
          (unsigned long long)c->unsent, bench_report_throughput(r),
          c->sent ? (double)c->lag_us / (double)c->sent / 1000.0 : 0.0);
  fprintf(f, "| latency (ms) | min | mean |");
  for (k = 0; k < NPCT; k++)
    fprintf(f, " %s |", pct_names[k]);
  fprintf(f, " max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  md_latency_row(f, "from intended send", &r->total);
  md_latency_row(f, "from actual send", &r->svc_total);
  fprintf(f, "\n| error | count |\n|---|---:|\n");
  for (k = 0; k < BENCH_E_KINDS; k++)
    fprintf(f, "| %s | %llu |\n", bench_err_names[k],
            (unsigned long long)c->err[k]);
  fprintf(f, "| (503 with Retry-After) | %llu |\n\n",
          (unsigned long long)c->retry_after);
}

/* Handshakes and streams. */
static void md_connections(bench_report *r, FILE *f) {
  const bench_counters *c = &r->tc;
  fprintf(f,
          "| handshakes | failed (connect/timeout/503/http/protocol) | "
          "streams opened | failed | dropped | events |\n"
          "|---:|---:|---:|---:|---:|---:|\n"
          "| %llu | %llu (%llu/%llu/%llu/%llu/%llu) | %llu | %llu | %llu | "
          "%llu |\n",
          (unsigned long long)c->handshakes,
          (unsigned long long)c->handshake_errors,
          (unsigned long long)c->handshake_connect,
          (unsigned long long)c->handshake_timeout,
          (unsigned long long)c->handshake_refused,
          (unsigned long long)c->handshake_http,
          (unsigned long long)c->handshake_protocol,
          (unsigned long long)c->streams_opened,
          (unsigned long long)c->stream_errors,
          (unsigned long long)c->streams_dropped,
          (unsigned long long)c->stream_events);
}

/* One row per plateau (--steps). */
static void md_steps(bench_report *r, FILE *f) {
  const bench_opts *o = r->o;
  int i;
  fprintf(f, "\n| clients | ready | streams | steady s | req/s | errors | "
             "p50 ms | p95 ms | p99 ms | max ms |\n"
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < o->nsteps; i++) {
    const bench_hist *h = &r->steps[i];
    double s = r->step_secs[i];
    fprintf(f,
            "| %d | %llu | %llu | %.0f | %.0f | %llu | %.3f | %.3f | %.3f "
            "| %.3f |\n",
            o->steps[i], (unsigned long long)r->step_clients[i],
            (unsigned long long)r->step_streams[i], s,
            s > 0 ? (double)r->step_c[i].ok / s : 0.0,
            (unsigned long long)bench_errors(&r->step_c[i]),
            ms_of(bench_hist_percentile(h, 50)),
            ms_of(bench_hist_percentile(h, 95)),
            ms_of(bench_hist_percentile(h, 99)), ms_of(h->max));
  }
}

static void write_md(bench_report *r, FILE *f) {
  md_settings(r, f);
  md_requests(r, f);
  md_connections(r, f);
  if (r->o->nsteps > 0)
    md_steps(r, f);
}

static void write_csv(bench_report *r, FILE *f) {
  const bench_counters *c = &r->tc;
  int k, i;
  fprintf(f, "profile,clients,seconds,sent,ok,errors,late,unsent,rps,"
             "min_ms,mean_ms,p50_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms");
  for (k = 0; k < BENCH_E_KINDS; k++)
    fprintf(f, ",%s", bench_err_names[k]);
  fprintf(f, "\n%s,%d,%.1f,%llu,%llu,%llu,%llu,%llu,%.1f,%.3f,%.3f",
          r->o->profile ? r->o->profile : "custom", r->o->clients, r->secs,
          (unsigned long long)c->sent, (unsigned long long)c->ok,
          (unsigned long long)bench_errors(c), (unsigned long long)c->late,
          (unsigned long long)c->unsent, bench_report_throughput(r),
          r->total.total ? ms_of(r->total.min) : 0.0,
          bench_hist_mean(&r->total) / 1000.0);
  for (k = 0; k < NPCT; k++)
    fprintf(f, ",%.3f", ms_of(bench_hist_percentile(&r->total, pcts[k])));
  fprintf(f, ",%.3f", ms_of(r->total.max));
  for (k = 0; k < BENCH_E_KINDS; k++)
    fprintf(f, ",%llu", (unsigned long long)c->err[k]);
  fputc('\n', f);
  for (i = 0; i < r->o->nsteps; i++) {
    bench_hist *h = &r->steps[i];
    fprintf(
        f, "step,%d,%.1f,%llu,%llu,%llu,,,%.1f,,,%.3f,,%.3f,%.3f,,%.3f\n",
        r->o->steps[i], r->step_secs[i], (unsigned long long)r->step_c[i].sent,
        (unsigned long long)r->step_c[i].ok,
        (unsigned long long)bench_errors(&r->step_c[i]),
        r->step_secs[i] > 0 ? (double)r->step_c[i].ok / r->step_secs[i] : 0.0,
        ms_of(bench_hist_percentile(h, 50)),
        ms_of(bench_hist_percentile(h, 95)),
        ms_of(bench_hist_percentile(h, 99)), ms_of(h->max));
  }
}

/* Latency figures of h in microseconds as a JSON object. */
static json_object *latency_json(const bench_hist *h) {
  json_object *o = json_object_new_object();
  int k;
  json_object_object_add(o, "count", json_object_new_int64((int64_t)h->total));
  json_object_object_add(o, "min",
                         json_object_new_int64(h->total ? (int64_t)h->min : 0));
  json_object_object_add(o, "mean", json_object_new_double(bench_hist_mean(h)));
  for (k = 0; k < NPCT; k++)
    json_object_object_add(
        o, pct_names[k],
        json_object_new_int64((int64_t)bench_hist_percentile(h, pcts[k])));
  json_object_object_add(o, "max", json_object_new_int64((int64_t)h->max));
  return o;
}

static json_object *counters_json(const bench_counters *c) {
  json_object *o = json_object_new_object(), *e = json_object_new_object();
  size_t i;
  int k;
  for (i = 0; i < bench_counter_nfields; i++)
    json_object_object_add(
        o, bench_counter_fields[i].name,
        json_object_new_int64(
            (int64_t) * (const uint64_t *)((const char *)c +
                                           bench_counter_fields[i].offset)));
  json_object_object_add(o, "errors",
                         json_object_new_int64((int64_t)bench_errors(c)));
  for (k = 0; k < BENCH_E_KINDS; k++)
    json_object_object_add(e, bench_err_names[k],
                           json_object_new_int64((int64_t)c->err[k]));
  json_object_object_add(o, "errors_by_kind", e);
  return o;
}

static json_object *settings_json(const bench_opts *o) {
  json_object *s = json_object_new_object(), *mix = json_object_new_object();
  int m;
  json_object_object_add(
      s, "profile", json_object_new_string(o->profile ? o->profile : "custom"));
  json_object_object_add(
      s, "target",
      json_object_new_string(o->stdio_cmd ? o->stdio_cmd : o->url));
  json_object_object_add(
      s, "transport", json_object_new_string(o->stdio_cmd ? "stdio" : "http"));
  json_object_object_add(s, "protocol", json_object_new_string(o->protocol));
  json_object_object_add(s, "clients", json_object_new_int(o->clients));
  json_object_object_add(s, "idle_clients", json_object_new_int(o->idle));
  json_object_object_add(s, "loop", json_object_new_string(loop_name(o)));
  json_object_object_add(s, "client_rate",
                         json_object_new_double(o->client_rate));
  json_object_object_add(s, "offered_rate",
                         json_object_new_double(o->client_rate * o->clients));
  for (m = 0; m < BENCH_M_COUNT; m++)
    if (o->mix[m] > 0)
      json_object_object_add(mix, bench_method_names[m],
                             json_object_new_int(o->mix[m]));
  json_object_object_add(s, "mix", mix);
  json_object_object_add(s, "payload",
                         json_object_new_int64((int64_t)o->payload));
  json_object_object_add(s, "streams", json_object_new_boolean(o->streams));
  json_object_object_add(s, "duration", json_object_new_double(o->duration));
  json_object_object_add(s, "warmup", json_object_new_double(o->warmup));
  json_object_object_add(s, "timeout_ms", json_object_new_int(o->timeout_ms));
  json_object_object_add(s, "procs", json_object_new_int(o->procs));
  json_object_object_add(s, "capacity", json_object_new_double(o->capacity));
  return s;
}

static json_object *report_json(bench_report *r) {
  json_object *j = json_object_new_object(), *a;
  int i;
  json_object_object_add(j, "settings", settings_json(r->o));
  json_object_object_add(j, "seconds", json_object_new_double(r->secs));
  json_object_object_add(j, "requests", counters_json(&r->tc));
  json_object_object_add(j, "throughput",
                         json_object_new_double(bench_report_throughput(r)));
  json_object_object_add(j, "latency_us", latency_json(&r->total));
  json_object_object_add(j, "service_us", latency_json(&r->svc_total));
  a = json_object_new_array();
  for (i = 0; i < r->o->nsteps; i++) {
    json_object *st = json_object_new_object();
    double s = r->step_secs[i];
    json_object_object_add(st, "clients", json_object_new_int(r->o->steps[i]));
    json_object_object_add(st, "seconds", json_object_new_double(s));
    json_object_object_add(st, "clients_ready",
                           json_object_new_int64((int64_t)r->step_clients[i]));
    json_object_object_add(st, "streams_held",
                           json_object_new_int64((int64_t)r->step_streams[i]));
    json_object_object_add(
        st, "throughput",
        json_object_new_double(s > 0 ? (double)r->step_c[i].ok / s : 0.0));
    json_object_object_add(st, "requests", counters_json(&r->step_c[i]));
    json_object_object_add(st, "latency_us", latency_json(&r->steps[i]));
    json_object_array_add(a, st);
  }
  json_object_object_add(j, "steps", a);
  a = json_object_new_array();
  for (i = 0; i < r->nrows; i++) {
    const row *w = &r->rows[i];
    json_object *t = json_object_new_object();
    json_object_object_add(t, "t", json_object_new_int(i + 1));
    json_object_object_add(t, "step", json_object_new_int(w->step));
    json_object_object_add(t, "steady", json_object_new_boolean(w->steady));
    json_object_object_add(t, "ok", json_object_new_int64((int64_t)w->c.ok));
    json_object_object_add(t, "sent",
                           json_object_new_int64((int64_t)w->c.sent));
    json_object_object_add(t, "errors",
                           json_object_new_int64((int64_t)bench_errors(&w->c)));
    json_object_object_add(t, "p50_us", json_object_new_int64((int64_t)w->p50));
    json_object_object_add(t, "p99_us", json_object_new_int64((int64_t)w->p99));
    json_object_object_add(t, "clients",
                           json_object_new_int64((int64_t)w->clients));
    json_object_object_add(t, "streams",
                           json_object_new_int64((int64_t)w->streams));
    json_object_array_add(a, t);
  }
  json_object_object_add(j, "timeseries", a);
  return j;
}

static void write_json(bench_report *r, FILE *f) {
  json_object *j = report_json(r);
  fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
        f);
  fputc('\n', f);
  json_object_put(j);
}

static void write_timeseries(bench_report *r, FILE *f) {
  int i;
  fprintf(f, "t,ms,clients,streams,sent,ok,errors,p50_ms,p90_ms,p99_ms,"
             "max_ms,warm\n");
  for (i = 0; i < r->nrows; i++) {
    const row *w = &r->rows[i];
    fprintf(f, "%d,%d,%llu,%llu,%llu,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%d\n", i + 1,
            w->ms, (unsigned long long)w->clients,
            (unsigned long long)w->streams, (unsigned long long)w->c.sent,
            (unsigned long long)w->c.ok,
            (unsigned long long)bench_errors(&w->c), ms_of(w->p50),
            ms_of(w->p90), ms_of(w->p99), ms_of(w->max), w->warm);
  }
}

/* Opens path for writing ("-" is stdout). */
static FILE *open_out(const char *path) {
  if (strcmp(path, "-") == 0)
    return stdout;
  return fopen(path, "w");
}

static int close_out(FILE *f) {
  if (f == stdout)
    return fflush(f);
  return fclose(f);
}

typedef void (*writer_fn)(bench_report *r, FILE *f);

static int write_to(bench_report *r, const char *path, writer_fn fn) {
  FILE *f = open_out(path);
  if (f == NULL) {
    fprintf(stderr, "cmcp-bench: cannot write %s\n", path);
    return -1;
  }
  fn(r, f);
  if (close_out(f) != 0) {
    fprintf(stderr, "cmcp-bench: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

/* Writes the time series and a gnuplot script, and runs gnuplot. */
/* Runs gnuplot on script: 0, 1 when gnuplot is not installed, -1 when it
 * failed. No shell is involved (paths are passed as they are). */
static int run_gnuplot(const char *script) {
  char *argv[] = {"gnuplot", (char *)script, NULL};
  pid_t pid;
  int status;
  if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0)
    return 1;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return 1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The gnuplot script of a plot: latency above, rates below. */
static int write_script(bench_report *r, const char *path, const char *png,
                        const char *data) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f,
          "set terminal pngcairo size 1000,600 noenhanced\n"
          "set output '%s'\nset datafile separator ','\n"
          "set key top left horizontal\nset lmargin 10\nset rmargin 4\n"
          "set multiplot layout 2,1 title 'cmcp-bench %s'\n"
          "set ylabel 'latency (ms)'\nset logscale y\nset grid\n"
          "plot '%s' skip 1 using 1:8 with lines title 'p50', '' skip 1 "
          "using 1:10 with lines title 'p99', '' skip 1 using 1:11 with "
          "lines title 'max'\n"
          "unset logscale y\nset ylabel 'per second'\nset xlabel 'seconds'\n"
          "plot '%s' skip 1 using 1:($6*1000/$2) with lines title 'ok', '' "
          "skip 1 using 1:($7*1000/$2) with lines title 'errors', '' skip 1 "
          "using 1:3 with lines title 'clients'\n"
          "unset multiplot\n",
          png, r->o->profile ? r->o->profile : "custom", data, data);
  return fclose(f) == 0 ? 0 : -1;
}

/* Writes the time series and a gnuplot script next to png, and draws it.
 * Without gnuplot it warns and draws nothing: the numbers stand alone. */
static int write_plot(bench_report *r, const char *png) {
  char data[4096], script[4096];
  int rc;
  snprintf(data, sizeof data, "%s.csv", png);
  snprintf(script, sizeof script, "%s.gp", png);
  if (strchr(png, '\'') != NULL) {
    fprintf(stderr, "cmcp-bench: --plot: no quote in the file name\n");
    return -1;
  }
  if (write_to(r, data, write_timeseries) != 0 ||
      write_script(r, script, png, data) != 0) {
    fprintf(stderr, "cmcp-bench: cannot write %s\n", script);
    return -1;
  }
  rc = run_gnuplot(script);
  if (rc == 1)
    fprintf(stderr,
            "cmcp-bench: gnuplot is not installed: no plot %s "
            "(apt-get install gnuplot-nox)\n",
            png);
  else if (rc != 0)
    fprintf(stderr, "cmcp-bench: gnuplot failed on %s\n", script);
  return rc < 0 ? -1 : 0;
}

int bench_report_write(bench_report *r) {
  const bench_opts *o = r->o;
  static const writer_fn by_format[] = {write_md, write_csv, write_json};
  int rc = 0;
  finalize(r);
  if (write_to(r, o->output ? o->output : "-", by_format[o->format]) != 0)
    rc = -1;
  if (o->json_file && write_to(r, o->json_file, write_json) != 0)
    rc = -1;
  if (o->csv_file && write_to(r, o->csv_file, write_csv) != 0)
    rc = -1;
  if (o->timeseries && write_to(r, o->timeseries, write_timeseries) != 0)
    rc = -1;
  if (o->plot && write_plot(r, o->plot) != 0)
    rc = -1;
  return rc;
}
