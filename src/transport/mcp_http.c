/* src/transport/mcp_http.c: routing of the Streamable HTTP endpoint and
 * the checks every request passes before reaching an engine peer.
 *
 * Order of checks (each answer carries a JSON-RPC error without id unless
 * the request's id is known): path (404) and method (405), Origin and Host
 * (403, DNS-rebinding protection), Accept (406), Content-Type (415), body
 * (400 with -32700 when it is not JSON), then the era: modern requests get
 * their header checks (400 with -32020) and a per-request peer; legacy
 * ones need a session (400 without, 404 for an unknown or ended one).
 */
#include "transport/mcp_int.h"
#include "rt/metrics.h"

#include "base/base64.h"
#include "base/memory.h"
#include "base/stats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"

/* ---- answers ------------------------------------------------------------- */

/* Answers req; a refused answer closes the connection instead. */
static void respond(cmcp__http_request *req, int status,
                    const cmcp__http_header *h, size_t n, const char *body,
                    size_t len) {
  int rc = cmcp__http_respond(req, status, h, n, body, len);
  if (rc != 0) {
    cmcp__log(CMCP_LOG_ERROR, "http: cannot answer %d: %s", status,
              cmcp_strerror(rc));
    cmcp__http_request_abort(req);
  }
}

void cmcp__mcp_respond(cmcp__http_request *req, int status, const char *ctype,
                       const char *sid, int retry_after, const char *body,
                       size_t len) {
  cmcp__http_header h[3];
  char ra[16];
  size_t n = 0;
  if (ctype != NULL)
    h[n++] = (cmcp__http_header){"Content-Type", ctype};
  if (sid != NULL && sid[0] != '\0')
    h[n++] = (cmcp__http_header){"Mcp-Session-Id", sid};
  if (retry_after > 0) {
    snprintf(ra, sizeof ra, "%d", retry_after);
    h[n++] = (cmcp__http_header){"Retry-After", ra};
  }
  respond(req, status, h, n, body, len);
}

/* Same with one extra header (Allow on a 405). */
static void respond_error_hdr(cmcp__http_request *req, int status,
                              json_object *id, int code, const char *message,
                              const cmcp__http_header *extra) {
  cmcp__http_header h[3];
  size_t len = 0, n = 0;
  char *body = cmcp__rpc_encode_error(id, code, message, NULL, &len);
  if (body != NULL) /* out of memory: the status alone */
    h[n++] = (cmcp__http_header){"Content-Type", "application/json"};
  if (status == 503)
    h[n++] = (cmcp__http_header){"Retry-After", "5"};
  if (extra != NULL)
    h[n++] = *extra;
  respond(req, status, h, n, body, body != NULL ? len : 0);
  cmcp__free(body);
}

void cmcp__mcp_respond_error(cmcp__http_request *req, int status,
                             json_object *id, int code, const char *message) {
  respond_error_hdr(req, status, id, code, message, NULL);
}

int cmcp__mcp_stream_begin(cmcp__http_request *req, const char *sid) {
  cmcp__http_header h[4] = {{"Content-Type", "text/event-stream"},
                            {"Cache-Control", "no-cache"},
                            {"X-Accel-Buffering", "no"},
                            {"Mcp-Session-Id", sid}};
  size_t n = sid != NULL && sid[0] != '\0' ? 4 : 3;
  return cmcp__http_stream_begin(req, 200, h, n);
}

/* Skips a JSON string or number at p (within end); NULL if malformed. */
static const char *skip_id(const char *p, const char *end) {
  if (p < end && *p == '"') {
    for (p++; p < end && *p != '"'; p++)
      if (*p == '\\')
        p++;
    return p < end ? p + 1 : NULL;
  }
  while (p < end && (*p == '-' || (*p >= '0' && *p <= '9')))
    p++;
  return p;
}

int cmcp__mcp_error_code(const char *text, size_t len) {
  static const char head[] = "{\"jsonrpc\":\"2.0\"",
                    idk[] = ",\"id\":", errk[] = ",\"error\":{\"code\":";
  const char *p = text, *end = text + len;
  int code = 0, neg = 0;
  if (len < sizeof head || memcmp(p, head, sizeof head - 1) != 0)
    return 0;
  p += sizeof head - 1;
  if ((size_t)(end - p) > sizeof idk && memcmp(p, idk, sizeof idk - 1) == 0)
    p = skip_id(p + sizeof idk - 1, end);
  if (p == NULL || (size_t)(end - p) < sizeof errk ||
      memcmp(p, errk, sizeof errk - 1) != 0)
    return 0;
  p += sizeof errk - 1;
  if (p < end && *p == '-') {
    neg = 1;
    p++;
  }
  for (; p < end && *p >= '0' && *p <= '9' && code < 100000000; p++)
    code = code * 10 + (*p - '0');
  return neg ? -code : code;
}

void cmcp__mcp_update_stats(cmcp__mcp_loop *lp) {
  cmcp__http_stats st;
  cmcp__http_server_stats(lp->http, &st);
  atomic_store(&lp->open_conns, st.open_connections);
}

/* GET /health: liveness and a few counters. */
static void serve_health(cmcp__mcp_loop *lp, cmcp__http_request *req) {
  cmcp__mcp_shared *sh = lp->sh;
  uint64_t conns = 0;
  char body[160];
  int i, n;
  for (i = 0; i < sh->nloops; i++)
    conns += atomic_load(&sh->loops[i]->open_conns);
  n = snprintf(body, sizeof body,
               "{\"status\":\"ok\",\"uptimeSeconds\":%llu,\"connections\":%llu,"
               "\"sessions\":%llu}",
               (unsigned long long)((cmcp__now_ms() - sh->start_ms) / 1000),
               (unsigned long long)conns,
               (unsigned long long)atomic_load(&sh->sessions));
  cmcp__mcp_respond(req, 200, "application/json", NULL, 0, body, (size_t)n);
}

/* GET /metrics: the Prometheus text exposition (rt/metrics.h). */
static void serve_metrics(cmcp__http_request *req, const char *method) {
  static const cmcp__http_header allow = {"Allow", "GET"};
  cmcp__buf b;
  if (strcmp(method, "GET") != 0) {
    respond_error_hdr(req, 405, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                      "Method Not Allowed", &allow);
    return;
  }
  cmcp__buf_init(&b, CMCP__METRICS_MAX_BYTES);
  if (cmcp__metrics_render(&b) == 0)
    cmcp__mcp_respond(req, 200, CMCP__METRICS_CONTENT_TYPE, NULL, 0, b.data,
                      b.len);
  else
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Service Unavailable: out of memory");
  cmcp__buf_free(&b);
}

/* ---- header checks ------------------------------------------------------- */

/* 1 if the comma-separated media ranges of accept cover type ("a/b"). */
static int accepts(const char *accept, const char *type) {
  const char *p = accept, *slash = strchr(type, '/');
  size_t mlen = (size_t)(slash - type);
  while (p != NULL && *p != '\0') {
    const char *end = strchr(p, ','), *semi;
    size_t n;
    while (*p == ' ' || *p == '\t')
      p++;
    n = end != NULL ? (size_t)(end - p) : strlen(p);
    semi = memchr(p, ';', n);
    if (semi != NULL)
      n = (size_t)(semi - p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
      n--;
    if ((n == strlen(type) && strncasecmp(p, type, n) == 0) ||
        (n == 3 && strncmp(p, "*/*", 3) == 0) ||
        (n == mlen + 2 && strncasecmp(p, type, mlen + 1) == 0 &&
         p[mlen + 1] == '*'))
      return 1;
    p = end != NULL ? end + 1 : NULL;
  }
  return 0;
}

/* 1 if the Content-Type is application/json (parameters allowed). */
static int is_json_type(const char *ct) {
  size_t n = strlen("application/json");
  if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
    return 0;
  ct += n;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  return *ct == '\0' || *ct == ';';
}

/* 1 if host (no port, no brackets) names the loopback interface. */
static int loopback_name(const char *host, size_t n) {
  return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
         (n == 3 && strncmp(host, "::1", 3) == 0) ||
         (n >= 4 && strncmp(host, "127.", 4) == 0);
}

/* Splits "host[:port]" or "[v6][:port]" and checks the host part is a
 * loopback name, or the bound host. */
static int host_allowed(const cmcp__mcp_shared *sh, const char *hp, size_t n) {
  const char *h = hp, *colon;
  size_t hn = n;
  if (n > 0 && hp[0] == '[') {
    const char *rb = memchr(hp, ']', n);
    if (rb == NULL)
      return 0;
    h = hp + 1;
    hn = (size_t)(rb - h);
  } else if ((colon = memchr(hp, ':', n)) != NULL) {
    hn = (size_t)(colon - hp);
  }
  if (hn == 0)
    return 0;
  if (strlen(sh->cfg.host) == hn && strncasecmp(h, sh->cfg.host, hn) == 0)
    return 1;
  return sh->host_loopback && loopback_name(h, hn);
}

/* "Servers MUST validate the Origin header on all incoming connections to
 * prevent DNS rebinding attacks"; a loopback-bound server also checks
 * Host. 1 when the request may go on. */
static int origin_ok(const cmcp__mcp_shared *sh, cmcp__http_request *req) {
  const char *origin = cmcp__http_request_header(req, "Origin");
  const char *host = cmcp__http_request_header(req, "Host");
  size_t i;
  if (sh->host_loopback && host != NULL &&
      !host_allowed(sh, host, strlen(host)))
    return 0;
  if (origin == NULL)
    return 1;
  for (i = 0; i < sh->cfg.n_origins; i++)
    if (strcasecmp(origin, sh->cfg.origins[i]) == 0)
      return 1;
  if (strncasecmp(origin, "http://", 7) == 0)
    origin += 7;
  else if (strncasecmp(origin, "https://", 8) == 0)
    origin += 8;
  else
    return 0;
  return host_allowed(sh, origin, strlen(origin));
}

/* ---- the parsed POST body ------------------------------------------------ */

typedef struct post_info {
  json_object *root;
  int kind;           /* cmcp__msg_kind, 0 when not a JSON-RPC message */
  json_object *id;    /* borrowed */
  const char *method; /* borrowed */
  json_object *params;
  const char *meta_version; /* params._meta protocol version */
} post_info;

/* Classifies the body's JSON-RPC message. */
static void classify(post_info *pi) {
  json_object *r = pi->root, *meta = NULL, *v = NULL;
  int has_id = json_object_object_get_ex(r, "id", &pi->id);
  pi->method = cmcp__json_get_string(r, "method");
  pi->params = cmcp__json_get_object(r, "params");
  if (pi->method != NULL)
    pi->kind = has_id ? CMCP__MSG_REQUEST : CMCP__MSG_NOTIFICATION;
  else if (json_object_object_get_ex(r, "result", NULL))
    pi->kind = CMCP__MSG_RESULT;
  else if (json_object_object_get_ex(r, "error", NULL))
    pi->kind = CMCP__MSG_ERROR;
  if (json_object_is_type(pi->params, json_type_object) &&
      json_object_object_get_ex(pi->params, "_meta", &meta) &&
      json_object_is_type(meta, json_type_object) &&
      json_object_object_get_ex(meta, META_VERSION, &v))
    pi->meta_version = json_object_is_type(v, json_type_string)
                           ? json_object_get_string(v)
                           : "";
}

/* Parses the body: 0, or answered (400) and -1. */
static int parse_body(cmcp__mcp_loop *lp, cmcp__http_request *req,
                      post_info *pi) {
  cmcp__json_limits lim;
  size_t len;
  const char *body = cmcp__http_request_body(req, &len);
  char err[200];
  int rc;
  lim.max_bytes = 0;
  lim.max_depth = (int)cmcp_server_limit(lp->sh->srv, CMCP_LIMIT_JSON_DEPTH);
  rc = cmcp__json_parse(body, len, &lim, &pi->root, err, sizeof err);
  if (rc == CMCP_ENOMEM) {
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Server overloaded: out of memory");
    return -1;
  }
  if (rc != 0) {
    char msg[256];
    snprintf(msg, sizeof msg, "Parse error: %s", err);
    cmcp__mcp_respond_error(req, 400, NULL,
                            rc == CMCP_EPARSE ? CMCP_JSONRPC_PARSE_ERROR
                                              : CMCP_JSONRPC_INVALID_REQUEST,
                            msg);
    return -1;
  }
  if (json_object_is_type(pi->root, json_type_object))
    classify(pi);
  if (pi->kind == 0) {
    cmcp__mcp_respond_error(req, 400, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            json_object_is_type(pi->root, json_type_array)
                                ? "Invalid Request: batches are not supported"
                                : "Invalid Request: not a JSON-RPC message");
    return -1;
  }
  return 0;
}

/* ---- modern header checks ------------------------------------------------ */

/* Decodes an Mcp-Name value: plain visible ASCII, or "=?base64?...?=". The
 * result (NUL-terminated) goes in out. 0, or -1 for a malformed value. */
static int header_value(const char *v, cmcp__buf *out) {
  size_t n = strlen(v), i;
  if (n >= 11 && strncmp(v, "=?base64?", 9) == 0 &&
      strcmp(v + n - 2, "?=") == 0) {
    if (cmcp__base64_decode(v + 9, n - 11, CMCP__B64_STD, out) != 0)
      return -1;
    return cmcp__buf_add(out, "", 1) == 0 ? 0 : -1;
  }
  for (i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
      return -1;
  return cmcp__buf_add(out, v, n + 1) == 0 ? 0 : -1;
}

/* The body value Mcp-Name mirrors for method (SEP-2243: name or uri;
 * SEP-2663: the taskId of tasks/get, tasks/update, tasks/cancel), or NULL
 * when none; *required says whether the method has one. */
static const char *name_source(const post_info *pi, int *required) {
  static const char *const by_name[] = {"tools/call", "prompts/get"};
  static const char *const by_task[] = {"tasks/get", "tasks/update",
                                        "tasks/cancel"};
  size_t i;
  *required = 1;
  for (i = 0; i < CMCP__ARRAY_SIZE(by_name); i++)
    if (strcmp(pi->method, by_name[i]) == 0)
      return cmcp__json_get_string(pi->params, "name");
  for (i = 0; i < CMCP__ARRAY_SIZE(by_task); i++)
    if (strcmp(pi->method, by_task[i]) == 0)
      return cmcp__json_get_string(pi->params, "taskId");
  if (strcmp(pi->method, "resources/read") == 0)
    return cmcp__json_get_string(pi->params, "uri");
  *required = 0;
  return NULL;
}

/* Checks Mcp-Name against the body. NULL when fine, else why not. */
static const char *check_name(cmcp__http_request *req, const post_info *pi) {
  const char *hv = cmcp__http_request_header(req, "Mcp-Name"), *src, *why;
  cmcp__buf b;
  int required;
  src = name_source(pi, &required);
  if (!required)
    return NULL;
  if (hv == NULL)
    return "Header mismatch: required header Mcp-Name is missing";
  cmcp__buf_init(&b, strlen(hv) + 1);
  if (header_value(hv, &b) != 0)
    why = "Header mismatch: Mcp-Name holds invalid characters or invalid "
          "base64";
  else if (src == NULL || b.len != strlen(src) + 1 || strcmp(b.data, src) != 0)
    why = "Header mismatch: Mcp-Name does not match the request body";
  else
    why = NULL;
  cmcp__buf_free(&b);
  return why;
}

/* Required _meta fields of a modern request: "Rejections of requests
 * missing required _meta fields use HTTP 400 Bad Request" (-32602). NULL
 * when they are there (their values are the engine's to check). */
static const char *modern_meta(const post_info *pi) {
  json_object *meta = NULL, *caps = NULL;
  if (pi->kind != CMCP__MSG_REQUEST)
    return NULL;
  if (!json_object_is_type(pi->params, json_type_object) ||
      !json_object_object_get_ex(pi->params, "_meta", &meta) ||
      !json_object_is_type(meta, json_type_object))
    return "Invalid params: missing required params._meta";
  if (pi->meta_version == NULL)
    return "Invalid params: missing required _meta field " META_VERSION;
  if (!json_object_object_get_ex(meta, META_CAPS, &caps))
    return "Invalid params: missing required _meta field " META_CAPS;
  if (!json_object_is_type(caps, json_type_object))
    return "Invalid params: _meta " META_CAPS " must be an object";
  return NULL;
}

/* "Servers that process the request body MUST reject requests where the
 * values specified in the headers do not match the corresponding values in
 * the request body" (400, -32020). NULL when the headers are fine. */
static const char *modern_headers(cmcp_server_t *srv, cmcp__http_request *req,
                                  const post_info *pi) {
  const char *why;
  const char *pv = cmcp__http_request_header(req, "MCP-Protocol-Version");
  const char *mm = cmcp__http_request_header(req, "Mcp-Method");
  if (pv == NULL)
    return "Header mismatch: required header MCP-Protocol-Version is missing";
  if (pi->meta_version == NULL || strcmp(pv, pi->meta_version) != 0)
    return "Header mismatch: MCP-Protocol-Version does not match _meta "
           "io.modelcontextprotocol/protocolVersion";
  if (pi->kind != CMCP__MSG_REQUEST)
    return NULL; /* header rules for notifications are not defined */
  if (mm == NULL)
    return "Header mismatch: required header Mcp-Method is missing";
  if (strcmp(mm, pi->method) != 0)
    return "Header mismatch: Mcp-Method does not match the request body";
  why = check_name(req, pi);
  if (why == NULL && strcmp(pi->method, "tools/call") == 0)
    why = cmcp__mcp_check_params(
        srv, req, cmcp__json_get_string(pi->params, "name"),
        cmcp__json_get_object(pi->params, "arguments"));
  return why;
}

/* ---- POST ---------------------------------------------------------------- */

/* 1 if version is a legacy version this server speaks. */
static int legacy_version_known(const char *v) {
  const char *const *all = cmcp_protocol_versions();
  for (; *all != NULL; all++)
    if (strcmp(*all, v) == 0 && strcmp(v, CMCP_PROTOCOL_MODERN) != 0)
      return 1;
  return 0;
}

/* A message for the session's owner, with the body copied in. */
static mcp_smsg *smsg_new(mcp_smsg_op op, const char *sid, const char *body,
                          size_t len) {
  mcp_smsg *m = cmcp__calloc(1, sizeof *m + len + 1);
  if (m == NULL)
    return NULL;
  m->op = op;
  snprintf(m->sid, sizeof m->sid, "%s", sid);
  m->len = len;
  if (len > 0)
    memcpy(m->body, body, len);
  return m;
}

/* 1 if a client speaking version reads priming events (2025-11-25+). */
static int reads_priming(const char *version) {
  return version != NULL && strcmp(version, "2025-11-25") >= 0;
}

/* A legacy POST: needs a session, except initialize, which makes one. */
static void legacy_post(cmcp__mcp_loop *lp, cmcp__http_request *req,
                        post_info *pi, const char *sid) {
  const char *hv = cmcp__http_request_header(req, "MCP-Protocol-Version");
  const char *pver = hv;
  cmcp__mcp_loop *owner = lp;
  char fresh[MCP_SID_MAX];
  size_t len;
  const char *body = cmcp__http_request_body(req, &len);
  mcp_smsg *m;
  int init = 0;
  if (hv != NULL && !legacy_version_known(hv)) {
    cmcp__mcp_respond_error(req, 400, pi->id, CMCP_JSONRPC_INVALID_REQUEST,
                            "Bad Request: unsupported MCP-Protocol-Version");
    return;
  }
  if (sid == NULL && pi->kind == CMCP__MSG_REQUEST &&
      strcmp(pi->method, "initialize") == 0) {
    if (cmcp__mcp_sid_make(lp, fresh) != 0) {
      cmcp__mcp_respond_error(req, 503, pi->id, CMCP_MCP_SERVER_OVERLOADED,
                              "Server overloaded: no session id");
      return;
    }
    sid = fresh;
    init = 1;
    if (pver == NULL)
      pver = cmcp__json_get_string(pi->params, "protocolVersion");
  } else if (sid == NULL) {
    /* "Servers that require a session ID SHOULD respond to requests
     * without an Mcp-Session-Id header (other than initialization) with
     * HTTP 400 Bad Request." */
    cmcp__mcp_respond_error(req, 400, pi->id, CMCP_JSONRPC_INVALID_REQUEST,
                            "Bad Request: Mcp-Session-Id header is required");
    return;
  } else if ((owner = cmcp__mcp_sid_owner(lp->sh, sid)) == NULL) {
    cmcp__mcp_respond_error(req, 404, pi->id, CMCP_JSONRPC_INVALID_REQUEST,
                            "Session not found");
    return;
  }
  m = smsg_new(SM_POST, sid, body, len);
  if (m != NULL && pi->kind == CMCP__MSG_REQUEST) {
    size_t idlen = 0;
    const char *idt = cmcp__json_text(pi->id, &idlen);
    m->id_text = idt != NULL ? cmcp__strndup(idt, idlen) : NULL;
    if (m->id_text == NULL) {
      cmcp__free(m);
      m = NULL;
    }
  }
  if (m == NULL) {
    cmcp__mcp_respond_error(req, 503, pi->id, CMCP_MCP_SERVER_OVERLOADED,
                            "Server overloaded: out of memory");
    return;
  }
  m->kind = pi->kind;
  m->init = init;
  m->priming = reads_priming(pver);
  cmcp__mcp_forward(lp, req, owner, m);
}

/* Above the process memory budget (CMCP_LIMIT_MEMORY_BYTES, --max-memory)
 * "new sessions and new requests are refused": 503, Retry-After and a
 * JSON-RPC error naming the limit, before a session or a peer is touched.
 * Notifications and responses go on (they free memory), and so do the
 * requests that start no new work (cmcp__mem_spares). 1 if refused. */
static int refused_for_memory(cmcp__mcp_loop *lp, cmcp__http_request *req,
                              const post_info *pi) {
  char text[256];
  int64_t budget = cmcp_server_limit(lp->sh->srv, CMCP_LIMIT_MEMORY_BYTES);
  if (pi->kind != CMCP__MSG_REQUEST || cmcp__mem_spares(pi->method) ||
      !cmcp__mem_over(budget, text, sizeof text))
    return 0;
  cmcp__stats_refused(CMCP__REFUSE_MAX_MEMORY);
  cmcp__mcp_respond_error(req, 503, pi->id, CMCP_MCP_SERVER_OVERLOADED, text);
  return 1;
}

/* While the loop lags over --max-queue-delay (base/shed.h) a new request
 * is refused at once: 503, Retry-After and a JSON-RPC error naming the
 * limit. Notifications and responses go on. 1 if refused. */
static int refused_for_delay(cmcp__mcp_loop *lp, cmcp__http_request *req,
                             const post_info *pi) {
  if (pi->kind != CMCP__MSG_REQUEST || !cmcp__shed_on(&lp->shed))
    return 0;
  cmcp__stats_refused(CMCP__REFUSE_MAX_QUEUE_DELAY);
  cmcp__mcp_respond_error(req, 503, pi->id, CMCP_MCP_SERVER_OVERLOADED,
                          "Server overloaded: queueing delay over "
                          "--max-queue-delay");
  return 1;
}

static void serve_post(cmcp__mcp_loop *lp, cmcp__http_request *req) {
  const char *accept = cmcp__http_request_header(req, "Accept");
  const char *sid = cmcp__http_request_header(req, "Mcp-Session-Id");
  const char *hv = cmcp__http_request_header(req, "MCP-Protocol-Version");
  post_info pi;
  const char *why;
  size_t len;
  memset(&pi, 0, sizeof pi);
  /* "The client MUST include an Accept header, listing both
   * application/json and text/event-stream as supported content types." */
  if (accept == NULL || !accepts(accept, "application/json") ||
      !accepts(accept, "text/event-stream")) {
    cmcp__mcp_respond_error(req, 406, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Not Acceptable: Accept must list both "
                            "application/json and text/event-stream");
    return;
  }
  if (!is_json_type(cmcp__http_request_header(req, "Content-Type"))) {
    cmcp__mcp_respond_error(req, 415, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Unsupported Media Type: Content-Type must be "
                            "application/json");
    return;
  }
  if (parse_body(lp, req, &pi) != 0 || refused_for_delay(lp, req, &pi) ||
      refused_for_memory(lp, req, &pi))
    goto out;
  if (pi.meta_version != NULL ||
      (sid == NULL && hv != NULL && strcmp(hv, CMCP_PROTOCOL_MODERN) == 0)) {
    if (pi.kind == CMCP__MSG_RESULT || pi.kind == CMCP__MSG_ERROR) {
      cmcp__mcp_respond_error(req, 400, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                              "Bad Request: clients send no responses on "
                              "this protocol version");
    } else if ((why = modern_meta(&pi)) != NULL) {
      cmcp__mcp_respond_error(req, 400, pi.id, CMCP_JSONRPC_INVALID_PARAMS,
                              why);
    } else if ((why = modern_headers(lp->sh->srv, req, &pi)) != NULL) {
      cmcp__mcp_respond_error(req, 400, pi.id, CMCP_MCP_HEADER_MISMATCH, why);
    } else {
      const char *body = cmcp__http_request_body(req, &len);
      cmcp__mcp_modern_serve(lp, req, body, len, pi.kind);
    }
    goto out;
  }
  legacy_post(lp, req, &pi, sid);
out:
  if (pi.root != NULL)
    json_object_put(pi.root);
}

/* ---- GET and DELETE ------------------------------------------------------ */

static const cmcp__http_header allow_post = {"Allow", "POST"};

/* GET opens a session's standalone stream, or resumes one with
 * Last-Event-ID; DELETE ends the session. Without a session (the modern
 * wire has neither) both are 405. */
static void serve_session_op(cmcp__mcp_loop *lp, cmcp__http_request *req,
                             mcp_smsg_op op) {
  const char *sid = cmcp__http_request_header(req, "Mcp-Session-Id");
  const char *hv = cmcp__http_request_header(req, "MCP-Protocol-Version");
  const char *accept = cmcp__http_request_header(req, "Accept");
  const char *last = cmcp__http_request_header(req, "Last-Event-ID");
  cmcp__mcp_loop *owner;
  uint64_t a, b;
  mcp_smsg *m;
  if (sid == NULL || (hv != NULL && strcmp(hv, CMCP_PROTOCOL_MODERN) == 0)) {
    respond_error_hdr(req, 405, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                      "Method Not Allowed: GET and DELETE need a session; "
                      "send requests with POST",
                      &allow_post);
    return;
  }
  if (op == SM_GET &&
      (accept == NULL || !accepts(accept, "text/event-stream"))) {
    cmcp__mcp_respond_error(req, 406, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Not Acceptable: Accept must list "
                            "text/event-stream");
    return;
  }
  if (op == SM_GET && last != NULL && cmcp__sse_id_parse(last, &a, &b) != 0) {
    cmcp__mcp_respond_error(req, 400, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Bad Request: malformed Last-Event-ID");
    return;
  }
  owner = cmcp__mcp_sid_owner(lp->sh, sid);
  if (owner == NULL) {
    cmcp__mcp_respond_error(req, 404, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Session not found");
    return;
  }
  m = smsg_new(op, sid, NULL, 0);
  if (m == NULL) {
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Server overloaded: out of memory");
    return;
  }
  if (last != NULL)
    snprintf(m->last_id, sizeof m->last_id, "%s", last);
  m->priming = reads_priming(hv);
  cmcp__mcp_forward(lp, req, owner, m);
}

/* ---- routing ------------------------------------------------------------- */

static const cmcp__http_header allow_mcp = {"Allow", "GET, POST, DELETE"};
static const cmcp__http_header allow_get = {"Allow", "GET"};

/* "--max-connections N: open connections at most" is the process's bound,
 * while each loop's HTTP server only counts its own: a request arriving
 * when the loops together hold more is refused like an accept over the
 * bound (503, Retry-After, the connection closed). Each loop's count is
 * refreshed at each of its requests and ticks. */
static int over_connection_bound(cmcp__mcp_loop *lp) {
  const cmcp__mcp_shared *sh = lp->sh;
  uint64_t total = 0;
  int i;
  if (sh->cfg.max_connections == 0 || sh->nloops < 2)
    return 0; /* one loop: its HTTP server enforces the bound exactly */
  for (i = 0; i < sh->nloops; i++)
    total += atomic_load(&sh->loops[i]->open_conns);
  return total > sh->cfg.max_connections;
}

static void refuse_connection(cmcp__http_request *req) {
  static const cmcp__http_header close = {"Connection", "close"};
  cmcp__stats_refused(CMCP__REFUSE_MAX_CONNECTIONS); /* across the loops */
  respond_error_hdr(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                    "Service Unavailable: too many connections "
                    "(--max-connections)",
                    &close);
}

void cmcp__mcp_on_request(cmcp__http_request *req, void *data) {
  cmcp__mcp_loop *lp = data;
  const char *path = cmcp__http_request_path(req);
  const char *method = cmcp__http_request_method(req);
  cmcp__mcp_update_stats(lp);
  if (over_connection_bound(lp)) {
    refuse_connection(req);
    return;
  }
  if (strcmp(path, "/metrics") == 0) {
    serve_metrics(req, method);
    return;
  }
  if (strcmp(path, "/health") == 0) {
    if (strcmp(method, "GET") == 0)
      serve_health(lp, req);
    else
      respond_error_hdr(req, 405, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                        "Method Not Allowed", &allow_get);
    return;
  }
  if (strcmp(path, "/mcp") != 0) {
    cmcp__mcp_respond_error(req, 404, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Not Found: the MCP endpoint is /mcp");
    return;
  }
  if (lp->stopping) {
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Service Unavailable: shutting down");
    return;
  }
  if (!origin_ok(lp->sh, req)) {
    cmcp__mcp_respond_error(req, 403, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                            "Forbidden: Origin or Host not allowed");
    return;
  }
  if (strcmp(method, "POST") == 0)
    serve_post(lp, req);
  else if (strcmp(method, "GET") == 0)
    serve_session_op(lp, req, SM_GET);
  else if (strcmp(method, "DELETE") == 0)
    serve_session_op(lp, req, SM_DELETE);
  else
    respond_error_hdr(req, 405, NULL, CMCP_JSONRPC_INVALID_REQUEST,
                      "Method Not Allowed", &allow_mcp);
}
