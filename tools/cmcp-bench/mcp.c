/* mcp.c: what cmcp-bench says in MCP, and each client's life.
 *
 * Modern (2026-07-28): stateless; a client's handshake is server/discover;
 * every request carries _meta protocolVersion + clientCapabilities and the
 * MCP-Protocol-Version, Mcp-Method and (tools/call, prompts/get,
 * resources/read) Mcp-Name headers; the held stream is a POST
 * subscriptions/listen. Legacy (2025-11-25 and older): initialize, the
 * Mcp-Session-Id it returns, notifications/initialized, then requests with
 * the session id and MCP-Protocol-Version; the held stream is a GET.
 *
 * Requests are scheduled at intended times (client.h: next, interval); an
 * intended time waits in the client's backlog until a connection is free,
 * and latency is measured from it, so a slow answer delays no measurement
 * (no coordinated omission).
 */
#define _GNU_SOURCE /* memmem */
#include "client.h"

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#define META_MODERN                                                            \
  "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","     \
  "\"io.modelcontextprotocol/clientCapabilities\":{}"
#define HANDSHAKE 0xff
#define BACKOFF_MS 1000
#define STREAM_KIND 0xfe
/* Client i starts at the fraction (i x GOLDEN mod 1) of its interval:
 * any number of clients spread evenly, none firing together. */
#define GOLDEN 0.6180339887498949
#define TIMER_SLACK_NS 2000000 /* libuv timers wake within 1-2 ms */

/* ---- templates ----------------------------------------------------------- */

/* The resource URI: the --resource template with {bytes} replaced. */
static int resource_uri(const bench_runner *r, cmcp__buf *b) {
  const char *t = r->o->resource, *at = strstr(t, "{bytes}");
  if (at == NULL)
    return cmcp__buf_adds(b, t);
  if (cmcp__buf_add(b, t, (size_t)(at - t)) != 0 ||
      cmcp__buf_printf(b, "%zu", r->o->payload) != 0)
    return CMCP_ENOMEM;
  return cmcp__buf_adds(b, at + 7);
}

/* The params of method m after "params":{ (without the closing braces of
 * params and of _meta). */
static int params(const bench_runner *r, int m, cmcp__buf *b) {
  const bench_opts *o = r->o;
  int rc = 0;
  switch (m) {
  case BENCH_M_TOOLS_CALL:
    if (o->tool_args != NULL)
      rc = cmcp__buf_printf(b, "\"name\":\"%s\",\"arguments\":%s", o->tool,
                            o->tool_args);
    else
      rc = cmcp__buf_printf(b, "\"name\":\"%s\",\"arguments\":{\"%s\":\"%s\"}",
                            o->tool, o->tool_arg, r->pad);
    break;
  case BENCH_M_PROMPTS_GET:
    rc = cmcp__buf_printf(b, "\"name\":\"%s\",\"arguments\":{\"%s\":\"%s\"}",
                          o->prompt, o->prompt_arg, r->pad);
    break;
  case BENCH_M_RESOURCES_READ:
    rc = cmcp__buf_adds(b, "\"uri\":\"");
    if (rc == 0)
      rc = resource_uri(r, b);
    if (rc == 0)
      rc = cmcp__buf_adds(b, "\"");
    break;
  default: /* no argument: the payload pads _meta */
    break;
  }
  return rc;
}

/* 1 if method m carries the payload in an argument. */
static int has_argument(int m) {
  return m == BENCH_M_TOOLS_CALL || m == BENCH_M_PROMPTS_GET;
}

/* The body of method m after its id: ,"method":..,"params":{...}} */
static int make_post(const bench_runner *r, int m, cmcp__buf *b) {
  int rc = cmcp__buf_printf(b, ",\"method\":\"%s\",\"params\":{",
                            bench_method_names[m]);
  size_t before = b->len;
  int pad =
      !has_argument(m) && m != BENCH_M_RESOURCES_READ && r->o->payload > 0;
  if (rc == 0)
    rc = params(r, m, b);
  if (rc == 0 && (r->o->modern || pad)) {
    if (b->len > before)
      rc = cmcp__buf_adds(b, ",");
    if (rc == 0)
      rc = cmcp__buf_adds(b, r->o->modern ? META_MODERN : "\"_meta\":{");
    if (rc == 0 && pad)
      rc = cmcp__buf_printf(b, "%s\"bench/pad\":\"%s\"",
                            r->o->modern ? "," : "", r->pad);
    if (rc == 0)
      rc = cmcp__buf_adds(b, "}");
  }
  if (rc == 0)
    rc = cmcp__buf_adds(b, "}}");
  return rc;
}

/* The HTTP head of method m, up to the session id and Content-Length. */
static int make_head(const bench_runner *r, int m, cmcp__buf *b) {
  const bench_opts *o = r->o;
  int rc = cmcp__buf_printf(
      b,
      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
      "Accept: application/json, text/event-stream\r\n"
      "MCP-Protocol-Version: %s\r\n",
      o->path, o->host_header, o->protocol);
  if (rc == 0 && o->modern)
    rc = cmcp__buf_printf(b, "Mcp-Method: %s\r\n", bench_method_names[m]);
  if (rc == 0 && o->modern && has_argument(m))
    rc = cmcp__buf_printf(b, "Mcp-Name: %s\r\n",
                          m == BENCH_M_TOOLS_CALL ? o->tool : o->prompt);
  if (rc == 0 && o->modern && m == BENCH_M_RESOURCES_READ) {
    rc = cmcp__buf_adds(b, "Mcp-Name: ");
    if (rc == 0)
      rc = resource_uri(r, b);
    if (rc == 0)
      rc = cmcp__buf_adds(b, "\r\n");
  }
  return rc;
}

int bench_templates_init(bench_runner *r) {
  int m;
  for (m = 0; m < BENCH_M_COUNT; m++) {
    cmcp__buf h, p;
    cmcp__buf_init(&h, 1u << 20);
    cmcp__buf_init(&p, 64u << 20);
    if (make_head(r, m, &h) != 0 || make_post(r, m, &p) != 0) {
      cmcp__buf_free(&h);
      cmcp__buf_free(&p);
      return CMCP_ENOMEM;
    }
    r->head[m] = cmcp__buf_take(&h, NULL);
    r->post[m] = cmcp__buf_take(&p, NULL);
  }
  return 0;
}

void bench_templates_free(bench_runner *r) {
  int m;
  for (m = 0; m < BENCH_M_COUNT; m++) {
    cmcp__free(r->head[m]);
    cmcp__free(r->post[m]);
    r->head[m] = r->post[m] = NULL;
  }
}

int bench_build_body(const bench_runner *r, int m, int64_t id, cmcp__buf *b) {
  int rc =
      cmcp__buf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%lld", (long long)id);
  return rc == 0 ? cmcp__buf_adds(b, r->post[m]) : rc;
}

/* The whole HTTP request of method m for cl with id, taken by the caller. */
static char *build_request(bench_client *cl, int m, int64_t id, size_t *len) {
  bench_runner *r = cl->r;
  cmcp__buf body, req;
  char *out = NULL;
  cmcp__buf_init(&body, 64u << 20);
  cmcp__buf_init(&req, 65u << 20);
  if (bench_build_body(r, m, id, &body) != 0 ||
      cmcp__buf_adds(&req, r->head[m]) != 0)
    goto out;
  if (cl->sid != NULL &&
      cmcp__buf_printf(&req, "Mcp-Session-Id: %s\r\n", cl->sid) != 0)
    goto out;
  if (cmcp__buf_printf(&req, "Content-Length: %zu\r\n\r\n", body.len) != 0 ||
      cmcp__buf_add(&req, body.data, body.len) != 0)
    goto out;
  out = cmcp__buf_take(&req, len);
out:
  cmcp__buf_free(&body);
  cmcp__buf_free(&req);
  return out;
}

/* A handshake or stream request: a whole HTTP request with a given body. */
static char *build_raw(bench_client *cl, const char *method, const char *body,
                       int with_version, size_t *len) {
  const bench_opts *o = cl->r->o;
  cmcp__buf b;
  int rc;
  cmcp__buf_init(&b, 1u << 20);
  if (body == NULL) {
    rc = cmcp__buf_printf(&b,
                          "GET %s HTTP/1.1\r\nHost: %s\r\n"
                          "Accept: text/event-stream\r\n"
                          "MCP-Protocol-Version: %s\r\n"
                          "Mcp-Session-Id: %s\r\n\r\n",
                          o->path, o->host_header, o->protocol,
                          cl->sid != NULL ? cl->sid : "");
  } else {
    rc = cmcp__buf_printf(
        &b,
        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n",
        o->path, o->host_header);
    if (rc == 0 && with_version)
      rc = cmcp__buf_printf(&b, "MCP-Protocol-Version: %s\r\n", o->protocol);
    if (rc == 0 && o->modern)
      rc = cmcp__buf_printf(&b, "Mcp-Method: %s\r\n", method);
    if (rc == 0 && cl->sid != NULL)
      rc = cmcp__buf_printf(&b, "Mcp-Session-Id: %s\r\n", cl->sid);
    if (rc == 0)
      rc = cmcp__buf_printf(&b, "Content-Length: %zu\r\n\r\n%s", strlen(body),
                            body);
  }
  if (rc != 0) {
    cmcp__buf_free(&b);
    return NULL;
  }
  return cmcp__buf_take(&b, len);
}

/* ---- answers ------------------------------------------------------------- */

/* The slow path of bench_classify: a full parse. */
static int classify_parsed(const char *json, size_t len, int64_t id, int m) {
  json_tokener *tok = json_tokener_new();
  json_object *root = NULL, *v, *res;
  int out = BENCH_E_PROTOCOL;
  if (tok == NULL)
    return BENCH_E_PROTOCOL;
  root = json_tokener_parse_ex(tok, json, (int)len);
  json_tokener_free(tok);
  if (!json_object_is_type(root, json_type_object) ||
      !json_object_object_get_ex(root, "id", &v) ||
      !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != id)
    goto out;
  if (json_object_object_get_ex(root, "error", &v)) {
    out = BENCH_E_RPC;
    goto out;
  }
  if (!json_object_object_get_ex(root, "result", &res) ||
      !json_object_is_type(res, json_type_object))
    goto out;
  out = -1;
  if (m == BENCH_M_TOOLS_CALL &&
      json_object_object_get_ex(res, "isError", &v) &&
      json_object_get_boolean(v))
    out = BENCH_E_TOOL;
out:
  json_object_put(root);
  return out;
}

int bench_classify(const char *json, size_t len, int64_t id, int m) {
  char pre[64];
  int n = snprintf(pre, sizeof pre, "{\"jsonrpc\":\"2.0\",\"id\":%lld,",
                   (long long)id);
  /* fast path: the canonical shape every cmcp server writes */
  if (n > 0 && (size_t)n + 10 < len && memcmp(json, pre, (size_t)n) == 0 &&
      json[len - 1] == '}') {
    if (memcmp(json + n, "\"result\":{", 10) == 0) {
      if (m == BENCH_M_TOOLS_CALL &&
          memmem(json, len, "\"isError\":true", 14) != NULL)
        return BENCH_E_TOOL;
      return -1;
    }
    if (memcmp(json + n, "\"error\":{", 9) == 0)
      return BENCH_E_RPC;
  }
  return classify_parsed(json, len, id, m);
}

void bench_record(bench_runner *r, int err, uint64_t intended, uint64_t sent) {
  uint64_t now = bench_now_ns();
  if (err >= 0) {
    r->c.err[err]++;
    return;
  }
  r->c.ok++;
  bench_hist_record(&r->h, now > intended ? (now - intended) / 1000 : 0);
  bench_hist_record(&r->svc, now > sent ? (now - sent) / 1000 : 0);
}

/* ---- connections of a client --------------------------------------------- */

static bench_conn *conn_new(bench_client *cl, int stream) {
  bench_conn *c = cmcp__malloc(sizeof *c);
  if (c == NULL)
    return NULL;
  if (bench_conn_open(cl, c) != 0) {
    if (c->state != CONN_CLOSING) /* else its close callback frees it */
      cmcp__free(c);
    return NULL;
  }
  c->is_stream = (uint8_t)stream;
  c->deadline = uv_now(&cl->r->loop) + (uint64_t)cl->r->o->timeout_ms;
  if (stream) {
    cl->stream = c;
  } else {
    c->next = cl->conns;
    cl->conns = c;
    cl->nconns++;
  }
  return c;
}

static void conn_forget(bench_client *cl, bench_conn *c) {
  bench_conn **pp;
  if (cl->stream == c) {
    cl->stream = NULL;
    return;
  }
  for (pp = &cl->conns; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      cl->nconns--;
      return;
    }
}

void bench_on_closed(bench_conn *c) {
  cmcp__free(c);
}

/* Closes c and forgets it; a held stream open counts as closed. */
static void conn_drop(bench_client *cl, bench_conn *c) {
  if (c == cl->stream && c->state == CONN_HOLDING && c->status == 200)
    cl->r->streams--;
  conn_forget(cl, c);
  bench_conn_close(c);
}

/* ---- handshake ----------------------------------------------------------- */

static void schedule_next(bench_client *cl);
static void dispatch(bench_client *cl);

/* The handshake failed (kind: a bench_err): retry it after a pause. */
static void handshake_failed(bench_client *cl, int kind) {
  bench_runner *r = cl->r;
  bench_conn *c;
  r->c.handshake_errors++;
  switch (kind) {
  case BENCH_E_CONNECT:
    r->c.handshake_connect++;
    break;
  case BENCH_E_TIMEOUT:
    r->c.handshake_timeout++;
    break;
  case BENCH_E_REFUSED:
    r->c.handshake_refused++;
    break;
  case BENCH_E_HTTP:
    r->c.handshake_http++;
    break;
  default:
    r->c.handshake_protocol++;
    break;
  }
  if (cl->state == CL_HANDSHAKE)
    r->handshaking--;
  cl->state = CL_BACKOFF;
  cl->retry_at = uv_now(&r->loop) + BACKOFF_MS;
  while ((c = cl->conns) != NULL)
    conn_drop(cl, c);
  cmcp__free(cl->sid);
  cl->sid = NULL;
}

/* Sends handshake step cl->hs on c. */
static void handshake_send(bench_client *cl, bench_conn *c) {
  const bench_opts *o = cl->r->o;
  char body[512];
  char *req;
  size_t len;
  if (o->modern) {
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"server/discover\","
             "\"params\":{" META_MODERN "}}}");
    req = build_raw(cl, "server/discover", body, 1, &len);
  } else if (cl->hs == 1) {
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
             "\"clientInfo\":{\"name\":\"cmcp-bench\",\"version\":\"1\"}}}",
             o->protocol);
    req = build_raw(cl, "initialize", body, 0, &len);
  } else {
    req = build_raw(cl, "notifications/initialized",
                    "{\"jsonrpc\":\"2.0\",\"method\":"
                    "\"notifications/initialized\"}",
                    1, &len);
  }
  c->method = HANDSHAKE;
  c->id = 0;
  c->deadline = uv_now(&cl->r->loop) + (uint64_t)o->timeout_ms;
  if (req == NULL || bench_conn_send(c, req, len) != 0)
    handshake_failed(cl, BENCH_E_CONNECT);
}

static void open_stream(bench_client *cl);

/* The client is ready: requests may go. */
static void become_ready(bench_client *cl) {
  bench_runner *r = cl->r;
  r->handshaking--;
  r->ready++;
  r->c.handshakes++;
  cl->state = CL_READY;
  cl->next = bench_now_ns();
  if (cl->interval > 0) /* spread the clients evenly over one interval */
    cl->next +=
        (uint64_t)(fmod(cl->index * GOLDEN, 1.0) * (double)cl->interval);
  if (cl->stream_wanted)
    open_stream(cl);
  if (!cl->idle)
    schedule_next(cl);
}

/* The error kind of a handshake answer with an unexpected status. */
static int status_kind(const bench_conn *c) {
  return c->status == 503 ? BENCH_E_REFUSED : BENCH_E_HTTP;
}

/* An answer to a handshake step. */
static void handshake_answer(bench_client *cl, bench_conn *c) {
  const bench_opts *o = cl->r->o;
  int kind = BENCH_E_PROTOCOL;
  if (!o->modern && cl->hs == 2) {
    if (c->status != 202 && c->status != 200) {
      kind = status_kind(c);
      goto fail;
    }
    become_ready(cl);
    return;
  }
  if (c->status != 200) {
    kind = status_kind(c);
    goto fail;
  }
  if (bench_classify(c->body.data, c->body.len, 0, -1) != -1)
    goto fail;
  if (o->modern) {
    become_ready(cl);
    return;
  }
  if (c->sid_len == 0)
    goto fail;
  cl->sid = cmcp__strndup(c->sid, c->sid_len);
  if (cl->sid == NULL)
    goto fail;
  cl->hs = 2;
  handshake_send(cl, c);
  return;
fail:
  handshake_failed(cl, kind);
}

void bench_client_start(bench_client *cl) {
  bench_runner *r = cl->r;
  cl->state = CL_HANDSHAKE;
  cl->hs = 1;
  r->handshaking++;
  if (r->stdio != NULL) { /* the pipe's handshake is done once for all */
    become_ready(cl);
    return;
  }
  if (conn_new(cl, 0) == NULL)
    handshake_failed(cl, BENCH_E_CONNECT);
}

/* ---- held streams -------------------------------------------------------- */

static void open_stream(bench_client *cl) {
  bench_conn *c = conn_new(cl, 1);
  if (c == NULL) {
    cl->r->c.stream_errors++;
    cl->retry_at = uv_now(&cl->r->loop) + BACKOFF_MS;
  }
}

/* The stream connection is up: ask for the stream. */
static void stream_send(bench_client *cl, bench_conn *c) {
  char *req;
  size_t len;
  if (cl->r->o->modern)
    req = build_raw(cl, "subscriptions/listen",
                    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":"
                    "\"subscriptions/listen\",\"params\":{" META_MODERN
                    "},\"notifications\":{\"toolsListChanged\":true,"
                    "\"resourcesListChanged\":true,"
                    "\"promptsListChanged\":true}}}",
                    1, &len);
  else
    req = build_raw(cl, NULL, NULL, 1, &len);
  c->method = STREAM_KIND;
  c->deadline = uv_now(&cl->r->loop) + (uint64_t)cl->r->o->timeout_ms;
  if (req == NULL || bench_conn_send(c, req, len) != 0) {
    cl->r->c.stream_errors++;
    conn_drop(cl, c);
  }
}

void bench_on_stream_event(bench_conn *c, const char *data, size_t len) {
  (void)data;
  (void)len;
  c->cl->r->c.stream_events++;
}

/* The head of a stream's answer. */
static void stream_answer(bench_client *cl, bench_conn *c) {
  bench_runner *r = cl->r;
  if (c->status == 200 && c->sse) {
    r->c.streams_opened++;
    r->streams++;
    c->deadline = 0;
    return;
  }
  r->c.stream_errors++;
  c->status = 0;
  cl->retry_at = uv_now(&r->loop) + BACKOFF_MS;
  conn_drop(cl, c);
}

/* ---- requests ------------------------------------------------------------ */

/* The method of the client's next request, from the mix. */
static int next_method(bench_client *cl) {
  bench_runner *r = cl->r;
  return r->mix[(cl->seq + (uint64_t)cl->index) % (uint64_t)r->nmix];
}

uint64_t bench_client_take(bench_client *cl, int *m, int64_t *id) {
  bench_runner *r = cl->r;
  uint64_t intended = cl->backlog[cl->bl_head], now = bench_now_ns();
  *m = next_method(cl);
  *id = (int64_t)(++cl->seq);
  cl->bl_head = (uint8_t)((cl->bl_head + 1) % BENCH_BACKLOG);
  cl->bl_len--;
  if (cl->bl_late) {
    r->c.late++;
    cl->bl_late = cl->bl_len > 0;
  }
  r->c.sent++;
  r->c.lag_us += now > intended ? (now - intended) / 1000 : 0;
  if (r->budget != UINT64_MAX)
    r->budget--;
  return intended;
}

/* Sends the oldest backlog entry on idle connection c. */
static void send_one(bench_client *cl, bench_conn *c) {
  bench_runner *r = cl->r;
  int m;
  int64_t id;
  uint64_t intended = bench_client_take(cl, &m, &id);
  size_t len;
  char *req;
  c->method = (uint8_t)m;
  c->id = id;
  c->intended = intended;
  c->sent_at = bench_now_ns();
  c->deadline = uv_now(&r->loop) + (uint64_t)r->o->timeout_ms;
  req = build_request(cl, m, id, &len);
  if (req == NULL || bench_conn_send(c, req, len) != 0) {
    bench_record(r, BENCH_E_CONNECT, intended, 0);
    conn_drop(cl, c);
    return;
  }
  r->inflight++;
}

/* Sends what the backlog holds on idle connections; opens one more
 * connection (up to --conns-per-client) when none is free. */
static void dispatch(bench_client *cl) {
  bench_conn *c;
  int connecting = 0;
  if (cl->state != CL_READY || cl->r->stopping)
    return;
  for (c = cl->conns; c != NULL && cl->bl_len > 0; c = c->next) {
    if (c->state == CONN_IDLE)
      send_one(cl, c);
    else if (c->state == CONN_CONNECTING)
      connecting = 1;
  }
  if (cl->bl_len == 0 || connecting)
    return;
  cl->bl_late = 1;
  if (cl->nconns < cl->r->o->conns_per_client && !cl->r->stopping &&
      conn_new(cl, 0) == NULL) {
    cl->r->c.sent++; /* the oldest fails: no connection to be had */
    bench_record(cl->r, BENCH_E_CONNECT, cl->backlog[cl->bl_head], 0);
    cl->bl_head = (uint8_t)((cl->bl_head + 1) % BENCH_BACKLOG);
    cl->bl_len--;
    cl->waiting = 0;
  }
}

/* Queues intended time t; a full backlog drops it (unsent). */
static void backlog_push(bench_client *cl, uint64_t t) {
  if (cl->bl_len == BENCH_BACKLOG) {
    cl->r->c.unsent++;
    return;
  }
  cl->backlog[(cl->bl_head + cl->bl_len) % BENCH_BACKLOG] = t;
  cl->bl_len++;
}

static void fire(bench_client *cl, int timed);

static void on_timer(uv_timer_t *t) {
  fire(t->data, 1);
}

/* Arms the client's timer for its next intended time. */
static void schedule_next(bench_client *cl) {
  bench_runner *r = cl->r;
  uint64_t now = bench_now_ns(), ms;
  if (cl->state != CL_READY || cl->idle || r->stopping || r->budget == 0)
    return;
  if (!r->o->open_loop && cl->waiting)
    return;
  if (cl->next <= now) {
    fire(cl, 0);
    return;
  }
  ms = (cl->next - now + 999999) / 1000000;
  uv_timer_start(&cl->timer, on_timer, ms, 0);
}

/* The intended time of a request due at t, seen at now. When the client's
 * own timer woke it (timed), a lateness within the timer's millisecond
 * granularity is the generator's, not the server's: the request counts
 * from now. Any other lateness (an answer that came after t, a loop that
 * stalled) stays in the latency. */
static uint64_t intended_time(uint64_t t, uint64_t now, int timed) {
  return timed && now > t && now - t < TIMER_SLACK_NS ? now : t;
}

/* Time for the client's next request(s): into the backlog, then out. */
static void fire(bench_client *cl, int timed) {
  bench_runner *r = cl->r;
  uint64_t now = bench_now_ns();
  /* a backlog left over means the last dispatch found every connection
   * busy; answers and connects dispatch again themselves */
  int waited = cl->bl_len > 0;
  if (cl->state != CL_READY || r->stopping)
    return;
  /* nothing is meant to go at or after the end of --duration */
  if ((cl->interval > 0 ? cl->next : now) >= r->end)
    return;
  if (!r->o->open_loop) {
    if (cl->waiting || r->budget == 0)
      return;
    if (cl->interval > 0 && cl->next > now) { /* woke early: sleep on */
      schedule_next(cl);
      return;
    }
    cl->waiting = 1;
    backlog_push(cl,
                 cl->interval > 0 ? intended_time(cl->next, now, timed) : now);
    cl->next = cl->interval > 0 ? cl->next + cl->interval : now;
  } else {
    while (cl->next <= now && cl->next < r->end) {
      backlog_push(cl, intended_time(cl->next, now, timed));
      cl->next += cl->interval > 0 ? cl->interval : 1000000;
    }
  }
  if (r->stdio != NULL)
    bench_stdio_fire(cl);
  else if (!waited || cl->nconns < r->o->conns_per_client)
    dispatch(cl);
  schedule_next(cl);
}

void bench_client_answered(bench_client *cl) {
  cl->waiting = 0;
  if (cl->r->stdio != NULL)
    bench_stdio_fire(cl);
  schedule_next(cl);
}

/* A request finished (answer, error or timeout): the client goes on. */
static void request_done(bench_client *cl, bench_conn *c, int err) {
  bench_runner *r = cl->r;
  bench_record(r, err, c->intended, c->sent_at);
  r->inflight--;
  c->method = HANDSHAKE;
  cl->waiting = 0;
  dispatch(cl);
  schedule_next(cl);
}

void bench_on_response(bench_conn *c) {
  bench_client *cl = c->cl;
  int err;
  if (c->method == STREAM_KIND) {
    stream_answer(cl, c);
    return;
  }
  if (cl->state == CL_HANDSHAKE) {
    handshake_answer(cl, c);
    return;
  }
  if (c->status == 503) {
    err = BENCH_E_REFUSED;
    if (c->retry_after)
      cl->r->c.retry_after++;
  } else if (c->status != 200) {
    err = BENCH_E_HTTP;
  } else {
    err = bench_classify(c->body.data != NULL ? c->body.data : "", c->body.len,
                         c->id, c->method);
  }
  if (!llhttp_should_keep_alive(&c->parser))
    conn_drop(cl, c);
  request_done(cl, c, err);
}

void bench_on_connected(bench_conn *c, int status) {
  bench_client *cl = c->cl;
  if (status != 0) {
    if (c->is_stream) {
      cl->r->c.stream_errors++;
      cl->retry_at = uv_now(&cl->r->loop) + BACKOFF_MS;
      conn_drop(cl, c);
      return;
    }
    if (cl->state == CL_HANDSHAKE) {
      handshake_failed(cl, BENCH_E_CONNECT);
      return;
    }
    conn_drop(cl, c);
    if (cl->bl_len > 0) { /* the request that waited for it fails */
      uint64_t intended = cl->backlog[cl->bl_head];
      cl->bl_head = (uint8_t)((cl->bl_head + 1) % BENCH_BACKLOG);
      cl->bl_len--;
      cl->r->c.sent++;
      bench_record(cl->r, BENCH_E_CONNECT, intended, 0);
      cl->waiting = 0;
      schedule_next(cl);
    }
    return;
  }
  if (c->is_stream)
    stream_send(cl, c);
  else if (cl->state == CL_HANDSHAKE)
    handshake_send(cl, c);
  else
    dispatch(cl);
}

void bench_on_broken(bench_conn *c, int err) {
  bench_client *cl = c->cl;
  if (c->state == CONN_CLOSING)
    return;
  if (c->is_stream) {
    if (c->state == CONN_HOLDING && c->status == 200)
      cl->r->c.streams_dropped++;
    else
      cl->r->c.stream_errors++;
    cl->retry_at = uv_now(&cl->r->loop) + BACKOFF_MS;
    conn_drop(cl, c);
    return;
  }
  if (cl->state == CL_HANDSHAKE) {
    handshake_failed(cl, err < 0 ? BENCH_E_PROTOCOL : err);
    return;
  }
  if (c->state == CONN_BUSY && c->method != HANDSHAKE) {
    conn_drop(cl, c);
    request_done(cl, c, err < 0 ? BENCH_E_PROTOCOL : err);
    return;
  }
  conn_drop(cl, c);
}

/* The run is over: requests in flight count as timeouts; handshakes,
 * streams and connections cut short by the end are no failures. */
static void sweep_final(bench_client *cl) {
  bench_conn *c, *next;
  if (cl->state != CL_READY)
    return;
  for (c = cl->conns; c != NULL; c = next) {
    next = c->next;
    if (c->state == CONN_BUSY && c->method != HANDSHAKE) {
      conn_drop(cl, c);
      request_done(cl, c, BENCH_E_TIMEOUT);
    }
  }
}

/* ---- timeouts, retries, stop -----------------------------------------------
 */

void bench_client_sweep(bench_client *cl, uint64_t now_ms) {
  bench_conn *c, *next;
  if (now_ms == UINT64_MAX) { /* the end: what is in flight times out */
    sweep_final(cl);
    return;
  }
  if (cl->state == CL_BACKOFF && now_ms >= cl->retry_at && !cl->r->stopping) {
    bench_client_start(cl);
    return;
  }
  for (c = cl->conns; c != NULL; c = next) {
    next = c->next;
    if (c->deadline == 0 || now_ms < c->deadline)
      continue;
    if (c->state == CONN_CONNECTING) { /* e.g. a full accept backlog */
      bench_on_connected(c, UV_ETIMEDOUT);
      if (cl->state != CL_READY)
        return;
    } else if (cl->state == CL_HANDSHAKE && c->state == CONN_BUSY) {
      handshake_failed(cl, BENCH_E_TIMEOUT);
      return;
    } else if (c->state == CONN_BUSY && c->method != HANDSHAKE) {
      conn_drop(cl, c);
      request_done(cl, c, BENCH_E_TIMEOUT);
    }
  }
  c = cl->stream;
  if (c != NULL && c->deadline != 0 && now_ms >= c->deadline) {
    cl->r->c.stream_errors++; /* no connection or no answer in time */
    cl->retry_at = now_ms + BACKOFF_MS;
    conn_drop(cl, c);
  }
  if (cl->state == CL_READY && cl->stream_wanted && cl->stream == NULL &&
      now_ms >= cl->retry_at && !cl->r->stopping)
    open_stream(cl);
}

void bench_client_stop(bench_client *cl) {
  bench_conn *c;
  uv_timer_stop(&cl->timer);
  while ((c = cl->conns) != NULL) {
    if (c->state == CONN_BUSY && c->method != HANDSHAKE)
      cl->r->inflight--;
    conn_drop(cl, c);
  }
  if (cl->stream != NULL)
    conn_drop(cl, cl->stream);
  if (cl->state == CL_HANDSHAKE)
    cl->r->handshaking--;
  if (cl->state == CL_READY)
    cl->r->ready--;
  cl->state = CL_DONE;
  cmcp__free(cl->sid);
  cl->sid = NULL;
}
