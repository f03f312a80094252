/* Unit tests for the Streamable HTTP endpoint (src/transport/mcp_*.c) on
 * the loop threads of src/rt/loops.c: real sockets on 127.0.0.1, the
 * runtime in this process, each loop on its own port so that a test can
 * pick which loop a request reaches (session forwarding). */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "rt/loops.h"
#include <cmcp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 5
#define RESP_MAX (256 * 1024)

#define ACCEPT_BOTH "Accept: application/json, text/event-stream\r\n"
#define JSON_CT "Content-Type: application/json\r\n"
#define MODERN_META                                                            \
  "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","     \
  "\"io.modelcontextprotocol/clientCapabilities\":{}}"
#define INIT_BODY                                                              \
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"       \
  "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":"     \
  "{\"name\":\"t\",\"version\":\"1\"}}}"

/* ---- the server under test ----------------------------------------------- */

static void echo(cmcp_call_t *call, void *data) {
  const char *text = "none";
  (void)data;
  cmcp_call_arg_string(call, "text", &text);
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

/* Reports progress first: the modern answer must then be a stream. */
static void steps(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_progress(call, 1, 2, "half");
  cmcp_call_add_text(call, "stepped");
  cmcp_call_done(call);
}

/* A blocking handler that takes a while (drain on stop). */
static void slow(cmcp_call_t *call, void *data) {
  (void)data;
  usleep(300 * 1000);
  cmcp_call_add_text(call, "slept");
  cmcp_call_done(call);
}

/* A blocking handler that waits until its call is cancelled (at most 5 s)
 * and says whether it was. */
static atomic_int waited_cancelled;
static void wait_cancel(cmcp_call_t *call, void *data) {
  int i;
  (void)data;
  for (i = 0; i < 500 && !cmcp_call_is_cancelled(call); i++)
    usleep(10 * 1000);
  atomic_store(&waited_cancelled, cmcp_call_is_cancelled(call) ? 1 : -1);
  cmcp_call_add_text(call, "waited");
  cmcp_call_done(call);
}

typedef struct rig {
  cmcp_server_t *srv;
  cmcp__loops *loops;
  int port[2];
} rig;

/* Starts two loops, each on its own port, with cfg's endpoint options. */
static void rig_start(rig *r, const cmcp__mcp_config *mcp) {
  cmcp__loops_config cfg;
  memset(r, 0, sizeof *r);
  r->srv = cmcp_server_new("test", "1.0");
  assert_non_null(r->srv);
  assert_int_equal(
      cmcp_server_add_tool(r->srv, "echo", "echo",
                           "{\"type\":\"object\",\"properties\":{\"text\":"
                           "{\"type\":\"string\"}}}",
                           echo, NULL),
      0);
  assert_int_equal(
      cmcp_server_add_tool(r->srv, "steps", "s", NULL, steps, NULL), 0);
  assert_int_equal(
      cmcp_server_add_tool_json(r->srv,
                                "{\"name\":\"slow\",\"inputSchema\":{\"type\":"
                                "\"object\"}}",
                                CMCP_FEATURE_BLOCKING, slow, NULL),
      0);
  assert_int_equal(
      cmcp_server_add_tool_json(
          r->srv,
          "{\"name\":\"where\",\"inputSchema\":{\"type\":\"object\","
          "\"properties\":{\"region\":{\"type\":\"string\",\"x-mcp-header\":"
          "\"Region\"},\"opts\":{\"type\":\"object\",\"properties\":{"
          "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"N\"}}}}}}",
          0, echo, NULL),
      0);
  assert_int_equal(
      cmcp_server_add_tool_json(r->srv,
                                "{\"name\":\"wait\",\"inputSchema\":{\"type\":"
                                "\"object\"}}",
                                CMCP_FEATURE_BLOCKING, wait_cancel, NULL),
      0);
  memset(&cfg, 0, sizeof cfg);
  cfg.threads = 2;
  cfg.separate_ports = 1;
  cfg.mcp = *mcp;
  if (cfg.mcp.host == NULL)
    cfg.mcp.host = "127.0.0.1";
  if (cfg.mcp.drain_timeout_ms == 0)
    cfg.mcp.drain_timeout_ms = 3000;
  assert_int_equal(cmcp__loops_start(&r->loops, r->srv, &cfg), 0);
  r->port[0] = cmcp__loops_port(r->loops, 0);
  r->port[1] = cmcp__loops_port(r->loops, 1);
  assert_true(r->port[0] > 0 && r->port[1] > 0 && r->port[0] != r->port[1]);
}

static void rig_stop(rig *r) {
  cmcp__loops_stop(r->loops, 0);
  cmcp__loops_wait(r->loops);
  cmcp_server_free(r->srv);
}

static rig *plain_rig(void) {
  static rig r;
  cmcp__mcp_config mcp;
  memset(&mcp, 0, sizeof mcp);
  rig_start(&r, &mcp);
  return &r;
}

/* ---- a small HTTP client ------------------------------------------------- */

typedef struct resp {
  int status;
  char head[8192];
  char body[RESP_MAX];
  size_t body_len;
} resp;

static int dial(int port) {
  struct sockaddr_in a;
  struct timeval tv = {IO_TIMEOUT_S, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Sends a request (extra: header lines ending in CRLF), asking the server
 * to close the connection after its answer unless keep. */
static int send_req_conn(int port, const char *method, const char *path,
                         const char *extra, const char *body, int keep) {
  char buf[16384];
  int fd = dial(port), n;
  size_t blen = body != NULL ? strlen(body) : 0;
  n = snprintf(buf, sizeof buf,
               "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
               "%sContent-Length: %zu\r\n\r\n%s",
               method, path, port, keep ? "" : "Connection: close\r\n",
               extra != NULL ? extra : "", blen, body != NULL ? body : "");
  assert_true(n > 0 && (size_t)n < sizeof buf);
  assert_int_equal(send(fd, buf, (size_t)n, MSG_NOSIGNAL), n);
  return fd;
}

static int send_req(int port, const char *method, const char *path,
                    const char *extra, const char *body) {
  return send_req_conn(port, method, path, extra, body, 0);
}

/* Decodes a chunked body in place. */
static size_t unchunk(char *b, size_t n) {
  size_t in = 0, out = 0;
  while (in < n) {
    char *end;
    unsigned long sz = strtoul(b + in, &end, 16);
    char *crlf = strstr(b + in, "\r\n");
    if (crlf == NULL || sz == 0)
      break;
    in = (size_t)(crlf - b) + 2;
    if (in + sz > n)
      sz = n - in;
    memmove(b + out, b + in, sz);
    out += sz;
    in += sz + 2;
    (void)end;
  }
  b[out] = '\0';
  return out;
}

/* Reads a whole answer (the server closes after it). */
static void read_resp(int fd, resp *r) {
  static char raw[RESP_MAX + 8192];
  size_t n = 0;
  ssize_t k;
  char *sep;
  while (n < sizeof raw - 1 &&
         (k = recv(fd, raw + n, sizeof raw - 1 - n, 0)) > 0)
    n += (size_t)k;
  close(fd);
  raw[n] = '\0';
  sep = strstr(raw, "\r\n\r\n");
  assert_non_null(sep);
  assert_true((size_t)(sep - raw) < sizeof r->head);
  memcpy(r->head, raw, (size_t)(sep - raw));
  r->head[sep - raw] = '\0';
  r->status = (int)strtol(raw + 9, NULL, 10);
  r->body_len = n - (size_t)(sep + 4 - raw);
  memcpy(r->body, sep + 4, r->body_len);
  r->body[r->body_len] = '\0';
  if (strcasestr(r->head, "Transfer-Encoding: chunked") != NULL)
    r->body_len = unchunk(r->body, r->body_len);
}

static void request(int port, const char *method, const char *path,
                    const char *extra, const char *body, resp *r) {
  read_resp(send_req(port, method, path, extra, body), r);
}

/* The value of header name in r (static buffer), or NULL. */
static const char *header(const resp *r, const char *name) {
  static char v[256];
  char pat[96];
  const char *p;
  size_t n;
  snprintf(pat, sizeof pat, "\r\n%s:", name);
  p = strcasestr(r->head, pat);
  if (p == NULL)
    return NULL;
  p += strlen(pat);
  while (*p == ' ')
    p++;
  n = strcspn(p, "\r\n");
  if (n >= sizeof v)
    n = sizeof v - 1;
  memcpy(v, p, n);
  v[n] = '\0';
  return v;
}

/* Reads from a stream until needle shows up; returns what came. */
static const char *read_until(int fd, const char *needle) {
  static char buf[65536];
  static size_t n;
  ssize_t k;
  if (needle == NULL) {
    n = 0;
    buf[0] = '\0';
    return buf;
  }
  while (strstr(buf, needle) == NULL && n < sizeof buf - 1) {
    k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
    if (k <= 0)
      break;
    n += (size_t)k;
    buf[n] = '\0';
  }
  assert_non_null(strstr(buf, needle));
  return buf;
}

/* ---- legacy helpers ------------------------------------------------------ */

/* Initializes a session through port; its id goes in sid. */
static void init_session(int port, char *sid, size_t len) {
  resp r;
  const char *h;
  request(port, "POST", "/mcp", ACCEPT_BOTH JSON_CT, INIT_BODY, &r);
  assert_int_equal(r.status, 200);
  h = header(&r, "Mcp-Session-Id");
  assert_non_null(h);
  snprintf(sid, len, "%s", h);
  assert_non_null(strstr(r.body, "\"protocolVersion\":\"2025-11-25\""));
  /* A priming event (id, empty data) comes first. */
  assert_int_equal(strncmp(r.body, "id: 1-", 6), 0);
}

/* POSTs body to session sid through port. */
static void session_post(int port, const char *sid, const char *body, resp *r) {
  char extra[512];
  snprintf(extra, sizeof extra,
           ACCEPT_BOTH JSON_CT "Mcp-Session-Id: %s\r\n"
                               "MCP-Protocol-Version: 2025-11-25\r\n",
           sid);
  request(port, "POST", "/mcp", extra, body, r);
}

static void initialized(int port, const char *sid) {
  resp r;
  session_post(port, sid,
               "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
               &r);
  assert_int_equal(r.status, 202);
  assert_int_equal(r.body_len, 0);
}

#define CALL_ECHO(id, text)                                                    \
  "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"tools/call\",\"params\":"  \
  "{\"name\":\"echo\",\"arguments\":{\"text\":\"" text "\"}}}"

/* ---- tests --------------------------------------------------------------- */

static void health_and_routing(void **state) {
  rig *r = plain_rig();
  resp a;
  (void)state;
  request(r->port[0], "GET", "/health", NULL, NULL, &a);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(a.body, "\"status\":\"ok\""));
  assert_non_null(strstr(a.body, "\"sessions\":0"));
  assert_non_null(strstr(a.body, "\"uptimeSeconds\":"));
  request(r->port[0], "GET", "/elsewhere", NULL, NULL, &a);
  assert_int_equal(a.status, 404);
  request(r->port[0], "PUT", "/mcp", NULL, NULL, &a);
  assert_int_equal(a.status, 405);
  assert_string_equal(header(&a, "Allow"), "GET, POST, DELETE");
  request(r->port[0], "POST", "/health", NULL, NULL, &a);
  assert_int_equal(a.status, 405);
  rig_stop(r);
}

static void legacy_session_happy_path(void **state) {
  rig *r = plain_rig();
  char sid[64];
  resp a;
  (void)state;
  init_session(r->port[0], sid, sizeof sid);
  assert_non_null(strchr(sid, '.'));
  initialized(r->port[0], sid);
  session_post(r->port[0], sid, CALL_ECHO(2, "hi"), &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(header(&a, "Content-Type"), "text/event-stream");
  assert_string_equal(header(&a, "X-Accel-Buffering"), "no");
  assert_non_null(strstr(a.body, "retry: 1000"));
  assert_non_null(strstr(a.body, "event: message\ndata: {\"jsonrpc\":\"2.0\","
                                 "\"id\":2,\"result\""));
  assert_non_null(strstr(a.body, "\"text\":\"hi\""));
  request(r->port[0], "GET", "/health", NULL, NULL, &a);
  assert_non_null(strstr(a.body, "\"sessions\":1"));
  rig_stop(r);
}

static void session_forwarded_to_its_owner_loop(void **state) {
  rig *r = plain_rig();
  char sid[64], extra[256];
  resp a;
  (void)state;
  init_session(r->port[0], sid, sizeof sid);
  assert_non_null(strstr(sid, ".0")); /* owned by loop 0 */
  initialized(r->port[1], sid);       /* through loop 1 */
  session_post(r->port[1], sid, CALL_ECHO(7, "via-1"), &a);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(a.body, "\"id\":7,\"result\""));
  assert_non_null(strstr(a.body, "via-1"));
  snprintf(extra, sizeof extra, "Mcp-Session-Id: %s\r\n", sid);
  request(r->port[1], "DELETE", "/mcp", extra, NULL, &a);
  assert_int_equal(a.status, 200);
  session_post(r->port[0], sid, CALL_ECHO(8, "x"), &a);
  assert_int_equal(a.status, 404);
  request(r->port[1], "DELETE", "/mcp", extra, NULL, &a);
  assert_int_equal(a.status, 404);
  rig_stop(r);
}

static void post_errors(void **state) {
  rig *r = plain_rig();
  char sid[64];
  resp a;
  (void)state;
  request(r->port[0], "POST", "/mcp", JSON_CT, INIT_BODY, &a);
  assert_int_equal(a.status, 406);
  request(r->port[0], "POST", "/mcp", "Accept: application/json\r\n" JSON_CT,
          INIT_BODY, &a);
  assert_int_equal(a.status, 406);
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH "Content-Type: text/plain\r\n", INIT_BODY, &a);
  assert_int_equal(a.status, 415);
  request(r->port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, "{nope", &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "-32700"));
  request(r->port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, "[" INIT_BODY "]",
          &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "-32600"));
  request(r->port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, CALL_ECHO(3, "x"),
          &a);
  assert_int_equal(a.status, 400); /* no session */
  assert_non_null(strstr(a.body, "Mcp-Session-Id"));
  session_post(r->port[0], "0123456789abcdef0123456789abcdef.0",
               CALL_ECHO(4, "x"), &a);
  assert_int_equal(a.status, 404);
  session_post(r->port[0], "not-a-session", CALL_ECHO(4, "x"), &a);
  assert_int_equal(a.status, 404);
  init_session(r->port[0], sid, sizeof sid);
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "Mcp-Session-Id: x\r\n"
                              "MCP-Protocol-Version: 1999-01-01\r\n",
          CALL_ECHO(5, "x"), &a);
  assert_int_equal(a.status, 400);
  rig_stop(r);
}

static void origin_and_host_checks(void **state) {
  static rig rr;
  rig *r = &rr;
  static const char *const origins[] = {"https://app.example"};
  cmcp__mcp_config mcp;
  resp a;
  int fd;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.origins = origins;
  mcp.n_origins = 1;
  rig_start(r, &mcp);
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "Origin: http://evil.example\r\n", INIT_BODY, &a);
  assert_int_equal(a.status, 403);
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "Origin: http://localhost:3000\r\n", INIT_BODY,
          &a);
  assert_int_equal(a.status, 200);
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "Origin: https://app.example\r\n", INIT_BODY, &a);
  assert_int_equal(a.status, 200);
  /* A rebinding attack names another host. */
  fd = dial(r->port[0]);
  {
    const char req[] = "POST /mcp HTTP/1.1\r\nHost: evil.example.com\r\n"
                       "Connection: close\r\n" ACCEPT_BOTH JSON_CT
                       "Content-Length: 2\r\n\r\n{}";
    assert_int_equal(send(fd, req, sizeof req - 1, MSG_NOSIGNAL),
                     (ssize_t)sizeof req - 1);
  }
  read_resp(fd, &a);
  assert_int_equal(a.status, 403);
  rig_stop(r);
}

static void modern_requests(void **state) {
  rig *r = plain_rig();
  resp a;
  (void)state;
  request(r->port[1], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/call\r\nMcp-Name: echo\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
          "{\"name\":\"echo\",\"arguments\":{\"text\":\"m\"}," MODERN_META "}}",
          &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(header(&a, "Content-Type"), "application/json");
  assert_null(header(&a, "Mcp-Session-Id"));
  assert_non_null(strstr(a.body, "\"text\":\"m\""));
  /* Mcp-Name in the base64 form. */
  request(r->port[1], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/call\r\n"
                              "Mcp-Name: =?base64?ZWNobw==?=\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
          "{\"name\":\"echo\",\"arguments\":{}," MODERN_META "}}",
          &a);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(a.body, "\"text\":\"none\""));
  rig_stop(r);
}

static void modern_errors(void **state) {
  rig *r = plain_rig();
  const char *call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"echo\"," MODERN_META "}}";
  resp a;
  (void)state;
  request(r->port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, call, &a);
  assert_int_equal(a.status, 400); /* headers missing */
  assert_non_null(strstr(a.body, "-32020"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/list\r\nMcp-Name: echo\r\n",
          call, &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "\"code\":-32020"));
  assert_non_null(strstr(a.body, "\"id\":3"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/call\r\nMcp-Name: other\r\n",
          call, &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "-32020"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: nope/nope\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"nope/nope\",\"params\":"
          "{" MODERN_META "}}",
          &a);
  assert_int_equal(a.status, 404);
  assert_non_null(strstr(a.body, "-32601"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2099-01-01\r\n"
                              "Mcp-Method: tools/list\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\",\"params\":"
          "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
          "\"2099-01-01\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
          &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "-32022"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/list\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}", &a);
  assert_int_equal(a.status, 400);
  assert_non_null(strstr(a.body, "-32602"));
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}," MODERN_META "}", &a);
  assert_int_equal(a.status, 400);
  request(r->port[0], "GET", "/mcp",
          "Accept: text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n",
          NULL, &a);
  assert_int_equal(a.status, 405);
  request(r->port[0], "DELETE", "/mcp", NULL, NULL, &a);
  assert_int_equal(a.status, 405);
  rig_stop(r);
}

/* POSTs a modern tools/call of "where" with arguments args and extra
 * headers; returns the status. */
static int where_call(const rig *r, const char *args, const char *hdrs) {
  char extra[512], body[512];
  resp a;
  snprintf(extra, sizeof extra,
           ACCEPT_BOTH JSON_CT
           "MCP-Protocol-Version: 2026-07-28\r\n"
           "Mcp-Method: tools/call\r\nMcp-Name: where\r\n%s",
           hdrs);
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
           "{\"name\":\"where\",\"arguments\":%s," MODERN_META "}}",
           args);
  request(r->port[0], "POST", "/mcp", extra, body, &a);
  if (a.status == 400)
    assert_non_null(strstr(a.body, "-32020"));
  return a.status;
}

static void mcp_param_headers_match_the_arguments(void **state) {
  rig *r = plain_rig();
  (void)state;
  assert_int_equal(where_call(r, "{}", ""), 200);
  assert_int_equal(where_call(r, "{\"region\":null}", ""), 200);
  assert_int_equal(
      where_call(r, "{\"region\":\"eu\"}", "Mcp-Param-Region: eu\r\n"), 200);
  assert_int_equal(where_call(r, "{\"region\":\"eu\"}", ""), 400);
  assert_int_equal(
      where_call(r, "{\"region\":\"eu\"}", "Mcp-Param-Region: us\r\n"), 400);
  assert_int_equal(where_call(r, "{\"region\":\"eu\"}",
                              "mcp-param-region: =?base64?ZXU=?=\r\n"),
                   200);
  assert_int_equal(where_call(r, "{\"region\":\"eu\"}",
                              "Mcp-Param-Region: =?base64?ZXU?=\r\n"),
                   400);
  assert_int_equal(
      where_call(r, "{\"opts\":{\"n\":42}}", "Mcp-Param-N: 42.0\r\n"), 200);
  assert_int_equal(
      where_call(r, "{\"opts\":{\"n\":42}}", "Mcp-Param-N: 43\r\n"), 400);
  rig_stop(r);
}

static void modern_streams_when_progress_comes_first(void **state) {
  rig *r = plain_rig();
  resp a;
  const char *ev;
  (void)state;
  request(r->port[0], "POST", "/mcp",
          ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                              "Mcp-Method: tools/call\r\nMcp-Name: steps\r\n",
          "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
          "{\"name\":\"steps\",\"_meta\":{\"progressToken\":\"p1\","
          "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
          "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
          &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(header(&a, "Content-Type"), "text/event-stream");
  ev = strstr(a.body, "notifications/progress");
  assert_non_null(ev);
  assert_non_null(strstr(ev, "\"id\":9,\"result\""));
  assert_null(strstr(a.body, "id: ")); /* not resumable on this wire */
  rig_stop(r);
}

static void get_stream_conflict_and_resume(void **state) {
  rig *r = plain_rig();
  char sid[64], extra[256], last[64];
  const char *got, *p;
  resp a;
  int fd, i;
  (void)state;
  init_session(r->port[0], sid, sizeof sid);
  initialized(r->port[0], sid);
  snprintf(extra, sizeof extra,
           "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
           "MCP-Protocol-Version: 2025-11-25\r\n",
           sid);
  fd = send_req(r->port[1], "GET", "/mcp", extra, NULL);
  read_until(fd, NULL);
  got = read_until(fd, "data: \n\n"); /* the priming event */
  assert_non_null(strstr(got, "200 OK"));
  request(r->port[0], "GET", "/mcp", extra, NULL, &a);
  assert_int_equal(a.status, 409);
  assert_int_equal(cmcp_server_notify_list_changed(r->srv, CMCP_LIST_TOOLS), 0);
  got = read_until(fd, "tools/list_changed");
  p = strstr(got, "id: 0-");
  for (i = 0; p != NULL && strstr(p + 1, "id: 0-") != NULL; i++)
    p = strstr(p + 1, "id: 0-"); /* the last id seen */
  assert_non_null(p);
  snprintf(last, sizeof last, "%.*s", (int)strcspn(p + 4, "\n"), p + 4);
  close(fd);
  usleep(100 * 1000); /* the server notices the drop */
  assert_int_equal(cmcp_server_notify_list_changed(r->srv, CMCP_LIST_PROMPTS),
                   0);
  usleep(100 * 1000);
  snprintf(extra, sizeof extra,
           "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
           "MCP-Protocol-Version: 2025-11-25\r\nLast-Event-ID: %s\r\n",
           sid, last);
  fd = send_req(r->port[0], "GET", "/mcp", extra, NULL);
  read_until(fd, NULL);
  got = read_until(fd, "prompts/list_changed");
  assert_null(strstr(got, "tools/list_changed")); /* not repeated */
  close(fd);
  snprintf(extra, sizeof extra,
           "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
           "Last-Event-ID: 01-x\r\n",
           sid);
  request(r->port[0], "GET", "/mcp", extra, NULL, &a);
  assert_int_equal(a.status, 400);
  snprintf(extra, sizeof extra,
           "Accept: application/json\r\n"
           "Mcp-Session-Id: %s\r\n",
           sid);
  request(r->port[0], "GET", "/mcp", extra, NULL, &a);
  assert_int_equal(a.status, 406);
  request(r->port[0], "GET", "/mcp", "Accept: text/event-stream\r\n", NULL, &a);
  assert_int_equal(a.status, 405);
  rig_stop(r);
}

static void json_response_mode(void **state) {
  static rig rr;
  cmcp__mcp_config mcp;
  char sid[64];
  resp a;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.json_response = 1;
  rig_start(&rr, &mcp);
  request(rr.port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, INIT_BODY, &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(header(&a, "Content-Type"), "application/json");
  snprintf(sid, sizeof sid, "%s", header(&a, "Mcp-Session-Id"));
  session_post(rr.port[1], sid, CALL_ECHO(2, "j"), &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(header(&a, "Content-Type"), "application/json");
  assert_int_equal(strncmp(a.body, "{\"jsonrpc\":\"2.0\",\"id\":2", 23), 0);
  rig_stop(&rr);
}

static void session_limits_and_expiry(void **state) {
  static rig rr;
  cmcp__mcp_config mcp;
  char sid[64];
  resp a;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.max_sessions = 1;
  mcp.session_idle_timeout_ms = 1000;
  rig_start(&rr, &mcp);
  init_session(rr.port[0], sid, sizeof sid);
  request(rr.port[1], "POST", "/mcp", ACCEPT_BOTH JSON_CT, INIT_BODY, &a);
  assert_int_equal(a.status, 503);
  assert_non_null(header(&a, "Retry-After"));
  usleep(2500 * 1000); /* idle past the timeout, and a tick */
  session_post(rr.port[0], sid, CALL_ECHO(2, "late"), &a);
  assert_int_equal(a.status, 404);
  init_session(rr.port[1], sid, sizeof sid); /* room again */
  rig_stop(&rr);
}

static void oversize_body_is_413(void **state) {
  static rig rr;
  cmcp__mcp_config mcp;
  char big[4096];
  resp a;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.max_body_bytes = 1024;
  rig_start(&rr, &mcp);
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = '{';
  big[sizeof big - 2] = '}';
  request(rr.port[0], "POST", "/mcp", ACCEPT_BOTH JSON_CT, big, &a);
  assert_int_equal(a.status, 413);
  rig_stop(&rr);
}

static void stop_answers_requests_in_flight(void **state) {
  rig *r = plain_rig();
  char sid[64];
  resp a;
  int fd;
  (void)state;
  init_session(r->port[0], sid, sizeof sid);
  initialized(r->port[0], sid);
  fd = send_req(r->port[0], "POST", "/mcp",
                ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                                    "Mcp-Method: tools/call\r\n"
                                    "Mcp-Name: slow\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
                "\"params\":{\"name\":\"slow\"," MODERN_META "}}");
  usleep(100 * 1000); /* admitted, running on a worker */
  cmcp__loops_stop(r->loops, 0);
  read_resp(fd, &a);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(a.body, "slept"));
  cmcp__loops_wait(r->loops);
  cmcp_server_free(r->srv);
}

/* Starts a modern POST of method (with params JSON without _meta) on its
 * own connection and returns the socket. */
static int modern_open(int port, const char *method, const char *name,
                       const char *params) {
  char extra[512], body[1024];
  snprintf(extra, sizeof extra,
           ACCEPT_BOTH JSON_CT "MCP-Protocol-Version: 2026-07-28\r\n"
                               "Mcp-Method: %s\r\n%s%s%s",
           method, name ? "Mcp-Name: " : "", name ? name : "",
           name ? "\r\n" : "");
  snprintf(body, sizeof body,
           "{\"jsonrpc\":\"2.0\",\"id\":21,\"method\":\"%s\",\"params\":"
           "{%s%s" MODERN_META "}}",
           method, params, params[0] ? "," : "");
  return send_req_conn(port, "POST", "/mcp", extra, body, 1);
}

static void modern_listen_keepalive_and_shutdown_result(void **state) {
  static rig rr;
  cmcp__mcp_config mcp;
  const char *got;
  int fd;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.keepalive_ms = 200;
  rig_start(&rr, &mcp);
  fd = modern_open(rr.port[1], "subscriptions/listen", NULL,
                   "\"notifications\":{\"toolsListChanged\":true}");
  read_until(fd, NULL);
  got = read_until(fd, "notifications/subscriptions/acknowledged");
  assert_non_null(strstr(got, "text/event-stream"));
  assert_int_equal(cmcp_server_notify_list_changed(rr.srv, CMCP_LIST_TOOLS), 0);
  read_until(fd, "notifications/tools/list_changed");
  read_until(fd, "\r\n:\n\n"); /* a keep-alive comment within a tick */
  cmcp__loops_stop(rr.loops, 0);
  /* The listen stream ends with its result, then the last chunk. */
  got = read_until(fd, "\"id\":21,\"result\"");
  read_until(fd, "\r\n0\r\n\r\n");
  close(fd);
  cmcp__loops_wait(rr.loops);
  cmcp_server_free(rr.srv);
}

static void closing_a_modern_stream_cancels_its_call(void **state) {
  rig *r = plain_rig();
  int fd, i;
  (void)state;
  atomic_store(&waited_cancelled, 0);
  fd = modern_open(r->port[0], "tools/call", "wait", "\"name\":\"wait\"");
  usleep(200 * 1000); /* running on a worker */
  close(fd);
  for (i = 0; i < 300 && atomic_load(&waited_cancelled) == 0; i++)
    usleep(10 * 1000);
  assert_int_equal(atomic_load(&waited_cancelled), 1);
  rig_stop(r);
}

static void resume_past_the_event_log_starts_fresh(void **state) {
  static rig rr;
  cmcp__mcp_config mcp;
  char sid[64], extra[320];
  const char *got;
  int fd, i;
  (void)state;
  memset(&mcp, 0, sizeof mcp);
  mcp.session_events = 2;
  rig_start(&rr, &mcp);
  init_session(rr.port[0], sid, sizeof sid);
  initialized(rr.port[0], sid);
  for (i = 0; i < 4; i++) /* stream 0 logs them with nobody attached */
    assert_int_equal(cmcp_server_notify_list_changed(rr.srv, CMCP_LIST_TOOLS),
                     0);
  usleep(100 * 1000);
  /* 0-1 is long gone from a log of two events: a fresh stream, with a
   * priming event and no replay. */
  snprintf(extra, sizeof extra,
           "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
           "MCP-Protocol-Version: 2025-11-25\r\nLast-Event-ID: 0-1\r\n",
           sid);
  fd = send_req(rr.port[0], "GET", "/mcp", extra, NULL);
  read_until(fd, NULL);
  got = read_until(fd, "data: \n\n");
  assert_null(strstr(got, "list_changed"));
  close(fd);
  rig_stop(&rr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(health_and_routing),
      cmocka_unit_test(legacy_session_happy_path),
      cmocka_unit_test(session_forwarded_to_its_owner_loop),
      cmocka_unit_test(post_errors),
      cmocka_unit_test(origin_and_host_checks),
      cmocka_unit_test(modern_requests),
      cmocka_unit_test(modern_errors),
      cmocka_unit_test(mcp_param_headers_match_the_arguments),
      cmocka_unit_test(modern_streams_when_progress_comes_first),
      cmocka_unit_test(get_stream_conflict_and_resume),
      cmocka_unit_test(json_response_mode),
      cmocka_unit_test(session_limits_and_expiry),
      cmocka_unit_test(oversize_body_is_413),
      cmocka_unit_test(modern_listen_keepalive_and_shutdown_result),
      cmocka_unit_test(closing_a_modern_stream_cancels_its_call),
      cmocka_unit_test(resume_past_the_event_log_starts_fresh),
      cmocka_unit_test(stop_answers_requests_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
