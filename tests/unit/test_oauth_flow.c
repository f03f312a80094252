/* tests/unit/test_oauth_flow.c: the OAuth client's flow against a small
 * authorization server and protected resource on 127.0.0.1 (real sockets,
 * one libuv loop): discovery, registration, the code grant, refresh, the
 * step-up limit, every way the flow gives up, token storage, the
 * cancellation of a waiter, and the loopback user agent end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/oauth_int.h"
#include "helper_alloc.h"

/* ---- a tiny HTTP server ------------------------------------------------ */

typedef struct fake {
  uv_tcp_t server;
  int port;
  char base[64]; /* http://127.0.0.1:PORT */
  /* configuration */
  int no_s256, bad_issuer, wrong_resource, token_status, register_status;
  int no_registration, give_refresh, refresh_status, iss_supported;
  int authorize_no_redirect;
  /* what was seen */
  int prm_hits, meta_hits, register_hits, authorize_hits, token_hits;
  int refresh_hits;
  char last_token_body[2048];
  char last_authorize[2048];
  char last_auth_header[512];
} fake;

typedef struct conn {
  uv_tcp_t tcp;
  uv_write_t w;
  fake *f;
  char in[16384];
  size_t len;
  char out[8192];
} conn;

static void conn_closed(uv_handle_t *h) {
  free(h->data);
}

static void on_written(uv_write_t *w, int status) {
  conn *c = w->data;
  (void)status;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void respond(conn *c, int status, const char *extra, const char *body) {
  uv_buf_t b;
  int n = snprintf(c->out, sizeof(c->out),
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   status, extra ? extra : "", strlen(body), body);
  b = uv_buf_init(c->out, (unsigned)n);
  c->w.data = c;
  uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

/* The value of query parameter name in target, copied into out. */
static void qparam(const char *target, const char *name, char *out, size_t n) {
  char *v = NULL;
  out[0] = '\0';
  if (cmcp__query_get(target, name, &v) == 0)
    snprintf(out, n, "%s", v);
  cmcp__free(v);
}

static void handle_meta(conn *c) {
  fake *f = c->f;
  char body[2048];
  f->meta_hits++;
  snprintf(body, sizeof(body),
           "{\"issuer\":\"%s%s\",\"authorization_endpoint\":\"%s/authorize\","
           "\"token_endpoint\":\"%s/token\"%s%s%s%s,"
           "\"scopes_supported\":[\"mcp\",\"offline_access\"],"
           "\"token_endpoint_auth_methods_supported\":[\"client_secret_"
           "basic\"]%s}",
           f->base, f->bad_issuer ? "/evil" : "", f->base, f->base,
           f->no_registration ? "" : ",\"registration_endpoint\":\"",
           f->no_registration ? "" : f->base,
           f->no_registration ? "" : "/register\"",
           f->no_s256 ? "" : ",\"code_challenge_methods_supported\":[\"S256\"]",
           f->iss_supported
               ? ",\"authorization_response_iss_parameter_supported\":true"
               : "");
  respond(c, 200, NULL, body);
}

static void handle_authorize(conn *c, const char *target) {
  fake *f = c->f;
  char state[256], redirect[512], loc[1200], hdr[1300];
  f->authorize_hits++;
  snprintf(f->last_authorize, sizeof(f->last_authorize), "%.2047s", target);
  if (f->authorize_no_redirect) {
    respond(c, 200, NULL, "{}");
    return;
  }
  qparam(target, "state", state, sizeof(state));
  qparam(target, "redirect_uri", redirect, sizeof(redirect));
  snprintf(loc, sizeof(loc), "%s?code=C%d&state=%s", redirect,
           f->authorize_hits, state);
  snprintf(hdr, sizeof(hdr), "Location: %s\r\n", loc);
  respond(c, 302, hdr, "{}");
}

static void handle_token(conn *c, const char *body) {
  fake *f = c->f;
  char out[512];
  int refresh = strstr(body, "grant_type=refresh_token") != NULL;
  f->token_hits++;
  f->refresh_hits += refresh;
  snprintf(f->last_token_body, sizeof(f->last_token_body), "%s", body);
  if (refresh && f->refresh_status != 200) {
    respond(c, f->refresh_status, NULL, "{\"error\":\"invalid_grant\"}");
    return;
  }
  if (!refresh && f->token_status != 200) {
    respond(c, f->token_status, NULL,
            "{\"error\":\"invalid_client\",\"error_description\":\"bad\"}");
    return;
  }
  snprintf(out, sizeof(out),
           "{\"access_token\":\"T%d\",\"token_type\":\"Bearer\","
           "\"expires_in\":60%s}",
           f->token_hits, f->give_refresh ? ",\"refresh_token\":\"R\"" : "");
  respond(c, 200, NULL, out);
}

static void handle(conn *c, const char *method, const char *target,
                   const char *body) {
  fake *f = c->f;
  char prm[512];
  if (strcmp(target, "/.well-known/oauth-protected-resource/mcp") == 0) {
    f->prm_hits++;
    snprintf(prm, sizeof(prm),
             "{\"resource\":\"%s/%s\",\"authorization_servers\":[\"%s\"],"
             "\"scopes_supported\":[\"mcp\"]}",
             f->wrong_resource ? "https://evil.example.com" : f->base, "mcp",
             f->base);
    respond(c, 200, NULL, prm);
  } else if (strcmp(target, "/.well-known/oauth-authorization-server") == 0) {
    handle_meta(c);
  } else if (strncmp(target, "/authorize", 10) == 0) {
    handle_authorize(c, target);
  } else if (strcmp(method, "POST") == 0 && strcmp(target, "/token") == 0) {
    handle_token(c, body);
  } else if (strcmp(method, "POST") == 0 && strcmp(target, "/register") == 0) {
    f->register_hits++;
    if (f->register_status != 201)
      respond(c, f->register_status, NULL, "{\"error\":\"no\"}");
    else
      respond(c, 201, NULL,
              "{\"client_id\":\"cid\",\"client_secret\":\"s e/c\"}");
  } else {
    respond(c, 404, NULL, "{}");
  }
}

/* Once the head and the body (Content-Length) are in, answers. */
static void conn_try(conn *c) {
  char method[8], target[4096], *eoh, *cl, *auth;
  size_t head, blen = 0;
  c->in[c->len] = '\0';
  eoh = strstr(c->in, "\r\n\r\n");
  if (eoh == NULL)
    return;
  head = (size_t)(eoh + 4 - c->in);
  cl = strstr(c->in, "Content-Length: ");
  if (cl != NULL && cl < eoh)
    blen = (size_t)strtoul(cl + 16, NULL, 10);
  if (c->len < head + blen)
    return;
  auth = strstr(c->in, "Authorization: ");
  if (auth != NULL && auth < eoh)
    snprintf(c->f->last_auth_header, sizeof(c->f->last_auth_header), "%.*s",
             (int)strcspn(auth, "\r"), auth);
  if (sscanf(c->in, "%7s %4095s", method, target) != 2)
    return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  handle(c, method, target, c->in + head);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  conn *c = h->data;
  (void)hint;
  *b = uv_buf_init(c->in + c->len, (unsigned)(sizeof(c->in) - 1 - c->len));
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn *c = s->data;
  (void)b;
  if (n < 0) {
    uv_close((uv_handle_t *)s, conn_closed);
    return;
  }
  c->len += (size_t)n;
  conn_try(c);
}

static void on_conn(uv_stream_t *server, int status) {
  conn *c = calloc(1, sizeof(*c));
  assert_int_equal(status, 0);
  c->f = server->data;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
  uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

static void fake_start(fake *f, uv_loop_t *loop) {
  struct sockaddr_in sa;
  int len = sizeof(sa);
  memset(f, 0, sizeof(*f));
  f->token_status = 200;
  f->register_status = 201;
  f->refresh_status = 200;
  uv_tcp_init(loop, &f->server);
  f->server.data = f;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  assert_int_equal(uv_tcp_bind(&f->server, (struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&f->server, 16, on_conn), 0);
  uv_tcp_getsockname(&f->server, (struct sockaddr *)&sa, &len);
  f->port = ntohs(sa.sin_port);
  snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->port);
}

/* ---- driving the flow -------------------------------------------------- */

typedef struct run {
  uv_loop_t loop;
  fake f;
  cmcp_oauth_t *o;
  char url[96]; /* the MCP server URL */
  int done_calls, status;
  char detail[256];
  char saved[4096];
  int saves;
} run;

static void on_done(void *data, int status, const char *detail) {
  run *r = data;
  r->done_calls++;
  r->status = status;
  snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

static void on_save(cmcp_oauth_t *o, const char *state, void *data) {
  run *r = data;
  (void)o;
  r->saves++;
  snprintf(r->saved, sizeof(r->saved), "%s", state);
}

static const char *on_load(cmcp_oauth_t *o, void *data) {
  run *r = data;
  (void)o;
  return r->saved[0] ? r->saved : NULL;
}

static run *run_new(void) {
  run *r = calloc(1, sizeof(*r));
  assert_int_equal(uv_loop_init(&r->loop), 0);
  fake_start(&r->f, &r->loop);
  snprintf(r->url, sizeof(r->url), "%s/mcp", r->f.base);
  r->o = cmcp_oauth_new();
  assert_non_null(r->o);
  assert_int_equal(cmcp_oauth_use_headless(r->o), 0);
  assert_int_equal(cmcp_oauth_set_store(r->o, on_load, on_save, r), 0);
  return r;
}

static void run_free(run *r) {
  cmcp_oauth_free(r->o);
  uv_close((uv_handle_t *)&r->f.server, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&r->loop), 0); /* every handle closed */
  free(r);
}

/* Arms one challenge and runs the loop until its done (bounded). */
static int challenge(run *r, long http_status, const char *www) {
  int rc, i, before = r->done_calls;
  rc = cmcp__oauth_challenge(r->o, &r->loop, r->url, http_status, www, on_done,
                             r);
  if (rc != 0)
    return rc;
  assert_int_equal(r->done_calls, before); /* never inside the call */
  for (i = 0; i < 2000 && r->done_calls == before; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  assert_int_equal(r->done_calls, before + 1);
  return r->status;
}

/* ---- tests ------------------------------------------------------------- */

static void test_full_flow_with_registration(void **state) {
  run *r = run_new();
  (void)state;
  assert_null(cmcp__oauth_token(r->o, r->url));
  assert_int_equal(challenge(r, 401, "Bearer scope=\"mcp\""), 0);
  assert_string_equal(cmcp__oauth_token(r->o, r->url), "T1");
  assert_int_equal(r->f.prm_hits, 1);
  assert_int_equal(r->f.register_hits, 1);
  assert_int_equal(r->f.authorize_hits, 1);
  /* scope from the challenge plus offline_access the AS lists; resource;
   * PKCE S256. */
  assert_non_null(strstr(r->f.last_authorize, "scope=mcp%20offline_access"));
  assert_non_null(strstr(r->f.last_authorize, "code_challenge_method=S256"));
  assert_non_null(strstr(r->f.last_authorize, "resource=http%3A%2F%2F127"));
  assert_non_null(
      strstr(r->f.last_token_body, "grant_type=authorization_code"));
  assert_non_null(strstr(r->f.last_token_body, "code_verifier="));
  /* client_secret_basic with the form-encoded secret ("s e/c"). */
  assert_string_equal(r->f.last_auth_header,
                      "Authorization: Basic Y2lkOnMlMjBlJTJGYw==");
  assert_true(r->saves >= 2);
  assert_non_null(strstr(r->saved, "\"access_token\":\"T1\""));
  run_free(r);
}

static void test_refresh_then_reauthorize(void **state) {
  run *r = run_new();
  (void)state;
  r->f.give_refresh = 1;
  assert_int_equal(challenge(r, 401, NULL), 0);
  assert_string_equal(cmcp__oauth_token(r->o, r->url), "T1");
  /* A later 401 refreshes. */
  assert_int_equal(challenge(r, 401, NULL), 0);
  assert_int_equal(r->f.refresh_hits, 1);
  assert_int_equal(r->f.authorize_hits, 1);
  assert_string_equal(cmcp__oauth_token(r->o, r->url), "T2");
  assert_non_null(strstr(r->f.last_token_body, "refresh_token=R"));
  assert_non_null(strstr(r->f.last_token_body, "resource="));
  /* A refused refresh falls back to a new authorization. */
  r->f.refresh_status = 400;
  assert_int_equal(challenge(r, 401, NULL), 0);
  assert_int_equal(r->f.refresh_hits, 2);
  assert_int_equal(r->f.authorize_hits, 2);
  run_free(r);
}

static void test_step_up_and_its_limit(void **state) {
  run *r = run_new();
  (void)state;
  assert_int_equal(challenge(r, 401, "Bearer scope=\"a\""), 0);
  assert_int_equal(
      challenge(r, 403, "Bearer error=\"insufficient_scope\", scope=\"b\""), 0);
  assert_non_null(strstr(r->f.last_authorize, "scope=a%20offline_access%20b"));
  /* Asking again for scopes already requested cannot help. */
  assert_int_equal(
      challenge(r, 403, "Bearer error=\"insufficient_scope\", scope=\"b\""),
      CMCP_EPROTO);
  assert_non_null(strstr(r->detail, "already requested"));
  assert_int_equal(r->f.authorize_hits, 2);
  /* A 403 that is not about scope is not the OAuth client's. */
  assert_int_equal(cmcp__oauth_challenge(r->o, &r->loop, r->url, 403,
                                         "Bearer error=\"invalid_token\"",
                                         on_done, r),
                   CMCP_EPROTO);
  /* A third authorization within the window is refused. */
  assert_int_equal(
      challenge(r, 403, "Bearer error=\"insufficient_scope\", scope=\"c\""), 0);
  assert_int_equal(
      challenge(r, 403, "Bearer error=\"insufficient_scope\", scope=\"d\""),
      CMCP_ELIMIT);
  run_free(r);
}

/* Each way the flow gives up, with its status and its reason. */
static void test_refusals(void **state) {
  static const int statuses[] = {CMCP_EUNSUPPORTED, CMCP_EPROTO,
                                 CMCP_EPROTO,       CMCP_EPROTO,
                                 CMCP_EPROTO,       CMCP_EUNSUPPORTED};
  static const char *const whys[] = {"PKCE",         "issuer",
                                     "not for",      "invalid_client",
                                     "registration", "pre-registered"};
  size_t i;
  (void)state;
  for (i = 0; i < 6; i++) {
    run *r = run_new();
    int *flags[] = {&r->f.no_s256,         &r->f.bad_issuer,
                    &r->f.wrong_resource,  &r->f.token_status,
                    &r->f.register_status, &r->f.no_registration};
    static const int values[] = {1, 1, 1, 400, 400, 1};
    *flags[i] = values[i];
    assert_int_equal(challenge(r, 401, NULL), statuses[i]);
    assert_non_null(strstr(r->detail, whys[i]));
    assert_string_equal(cmcp_oauth_last_error(r->o), r->detail);
    assert_null(cmcp__oauth_token(r->o, r->url));
    run_free(r);
  }
}

static void test_iss_required(void **state) {
  run *r = run_new();
  (void)state;
  r->f.iss_supported = 1; /* our fake never sends iss */
  assert_int_equal(challenge(r, 401, NULL), CMCP_EPROTO);
  assert_non_null(strstr(r->detail, "no iss"));
  assert_int_equal(r->f.token_hits, 0);
  run_free(r);
}

static void test_no_metadata(void **state) {
  run *r = run_new();
  (void)state;
  /* A resource_metadata URL that is not there. */
  assert_int_equal(challenge(r, 401,
                             "Bearer resource_metadata=\"http://"
                             "127.0.0.1:1/none\""),
                   CMCP_EPROTO);
  assert_non_null(strstr(r->detail, "no protected resource metadata"));
  run_free(r);
}

static void test_pre_registered_and_store(void **state) {
  run *r = run_new();
  cmcp_oauth_t *again;
  (void)state;
  assert_int_equal(cmcp_oauth_set_client(r->o, "pre", NULL, r->f.base), 0);
  assert_int_equal(challenge(r, 401, NULL), 0);
  assert_int_equal(r->f.register_hits, 0);
  assert_non_null(strstr(r->f.last_token_body, "client_id=pre"));
  /* A new object loads the saved state: the token is there at once. */
  again = cmcp_oauth_new();
  assert_int_equal(cmcp_oauth_set_store(again, on_load, NULL, r), 0);
  assert_string_equal(cmcp__oauth_token(again, r->url), "T1");
  cmcp_oauth_free(again);
  run_free(r);
}

static void test_no_user_agent_and_setters(void **state) {
  run *r = run_new();
  cmcp_oauth_t *o = cmcp_oauth_new();
  (void)state;
  cmcp_oauth_free(r->o);
  r->o = o; /* no authorize callback */
  assert_int_equal(challenge(r, 401, NULL), CMCP_ESTATE);
  assert_int_equal(cmcp_oauth_set_client(o, NULL, NULL, NULL), CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_set_client_metadata_url(o, "http://x/m.json"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_set_client_metadata_url(o, "https://x"),
                   CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_set_client_metadata_url(o, "https://x/m.json"),
                   0);
  assert_int_equal(cmcp_oauth_set_redirect_uri(o, "nope"), CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_set_client_name(o, ""), CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_use_loopback(o, 70000, 0), CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_on_authorize(o, NULL, NULL), CMCP_EINVAL);
  assert_int_equal(
      cmcp__oauth_challenge(NULL, &r->loop, r->url, 401, NULL, on_done, r),
      CMCP_EINVAL);
  cmcp_oauth_set_data(o, r);
  assert_ptr_equal(cmcp_oauth_data(o), r);
  assert_string_equal(cmcp_oauth_last_error(NULL), "");
  run_free(r);
}

/* Joins a flow in progress, then withdraws: only the first waiter hears. */
static void test_waiters_and_cancel(void **state) {
  run *r = run_new();
  int i;
  (void)state;
  assert_int_equal(
      cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL, on_done, r), 0);
  assert_int_equal(cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL,
                                         on_done, &r->saves),
                   0);
  cmcp__oauth_cancel(r->o, &r->saves);
  for (i = 0; i < 2000 && r->done_calls == 0; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  assert_int_equal(r->done_calls, 1);
  assert_int_equal(r->status, 0);
  run_free(r);
}

/* Freed while a fetch is in flight: nothing is called, nothing leaks. */
static void test_free_during_flow(void **state) {
  run *r = run_new();
  (void)state;
  assert_int_equal(
      cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL, on_done, r), 0);
  cmcp__oauth_cancel(r->o, r);
  run_free(r); /* frees the object first, then runs the loop dry */
}

/* The loopback user agent, with this test as the browser: it GETs the
 * authorization URL and then the redirect it is given. */
typedef struct browser {
  run *r;
  cmcp_oauth_authz_t *authz;
} browser;

static void on_redirect_page(void *data, const cmcp__fetch_res *res) {
  (void)data;
  assert_int_equal(res->status, 0);
  assert_int_equal(res->http_status, 200);
}

static void on_authorize_page(void *data, const cmcp__fetch_res *res) {
  browser *b = data;
  assert_int_equal(res->http_status, 302);
  assert_non_null(res->location);
  assert_int_equal(cmcp__fetch(&b->r->loop, "GET", res->location, NULL, NULL, 0,
                               4096, 5000, on_redirect_page, b),
                   0);
}

static void as_browser(cmcp_oauth_t *o, cmcp_oauth_authz_t *a, const char *url,
                       void *data) {
  static browser b;
  b.r = data;
  b.authz = a;
  assert_non_null(strstr(cmcp_oauth_authz_redirect_uri(a), "/callback"));
  cmcp__oauth_loopback_authorize(o, a, url, NULL);
  assert_int_equal(cmcp__fetch(cmcp_oauth_authz_loop(a), "GET", url, NULL, NULL,
                               0, 4096, 5000, on_authorize_page, &b),
                   0);
}

static int lb_started;

static void loopback_no_browser(cmcp_oauth_t *o, cmcp_oauth_authz_t *a,
                                const char *url, void *data) {
  (void)data;
  lb_started = 1;
  cmcp__oauth_loopback_authorize(o, a, url, NULL);
}

/* Nobody comes back through the browser and the object goes away: the
 * listener closes at once instead of waiting out its five minutes. */
static void test_loopback_abandoned(void **state) {
  run *r = run_new();
  int i;
  (void)state;
  lb_started = 0;
  assert_int_equal(cmcp_oauth_use_loopback(r->o, 0, 0), 0);
  assert_int_equal(cmcp_oauth_on_authorize(r->o, loopback_no_browser, NULL), 0);
  assert_int_equal(
      cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL, on_done, r), 0);
  for (i = 0; i < 2000 && !lb_started; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  assert_true(lb_started);
  cmcp__oauth_cancel(r->o, r);
  run_free(r); /* returns once every handle is closed: at once */
}

static void test_loopback_agent(void **state) {
  run *r = run_new();
  (void)state;
  assert_int_equal(cmcp_oauth_use_loopback(r->o, 0, 0), 0);
  assert_int_equal(cmcp_oauth_on_authorize(r->o, as_browser, r), 0);
  assert_int_equal(challenge(r, 401, NULL), 0);
  assert_string_equal(cmcp__oauth_token(r->o, r->url), "T1");
  assert_non_null(
      strstr(r->f.last_token_body, "redirect_uri=http%3A%2F%2F127.0.0.1%3A"));
  run_free(r);
}

/* The headless agent meets a page instead of a redirect: the step fails
 * and so does the flow. */
static void test_headless_without_redirect(void **state) {
  run *r = run_new();
  (void)state;
  r->f.authorize_no_redirect = 1;
  assert_int_equal(challenge(r, 401, NULL), CMCP_ECANCELED);
  assert_non_null(strstr(r->detail, "without a redirect"));
  assert_int_equal(r->f.token_hits, 0);
  run_free(r);
}

static cmcp_oauth_authz_t *held;

static void hold_authz(cmcp_oauth_t *o, cmcp_oauth_authz_t *a, const char *url,
                       void *data) {
  (void)o;
  (void)url;
  (void)data;
  held = a;
}

/* The user agent keeps its step past the object's end: finishing it then
 * only frees it; failing one in time fails the flow with the reason. */
static void test_abandoned_and_failed_steps(void **state) {
  run *r = run_new();
  int i;
  (void)state;
  assert_int_equal(cmcp_oauth_on_authorize(r->o, hold_authz, NULL), 0);
  held = NULL;
  assert_int_equal(
      cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL, on_done, r), 0);
  for (i = 0; i < 2000 && held == NULL; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  assert_non_null(held);
  assert_ptr_equal(cmcp_oauth_authz_loop(held), &r->loop);
  assert_int_equal(cmcp_oauth_authz_fail(held, "the user closed the window"),
                   0);
  assert_int_equal(r->status, CMCP_ECANCELED);
  assert_non_null(strstr(r->detail, "closed the window"));
  held = NULL;
  assert_int_equal(
      cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, NULL, on_done, r), 0);
  for (i = 0; i < 2000 && held == NULL; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  assert_non_null(held);
  cmcp__oauth_cancel(r->o, r);
  cmcp_oauth_free(r->o);
  r->o = NULL;
  assert_int_equal(cmcp_oauth_authz_done(held, "http://x/cb?code=1"), 0);
  assert_int_equal(cmcp_oauth_authz_done(NULL, "x"), CMCP_EINVAL);
  assert_int_equal(cmcp_oauth_authz_fail(NULL, "x"), CMCP_EINVAL);
  assert_int_equal(r->done_calls, 1);
  run_free(r);
}

static const char *text_to_load;

static const char *load_text(cmcp_oauth_t *o, void *data) {
  (void)o;
  (void)data;
  return text_to_load;
}

/* Saved state that is not JSON is ignored; more servers than are kept
 * drop the oldest; the current one survives. */
static void test_store_loading(void **state) {
  cmcp_oauth_t *o;
  char big[4096];
  int i, n;
  (void)state;
  o = cmcp_oauth_new();
  text_to_load = "{not json";
  assert_int_equal(cmcp_oauth_set_store(o, load_text, NULL, NULL), 0);
  assert_null(cmcp__oauth_token(o, "https://a/mcp"));
  cmcp_oauth_free(o);
  n = snprintf(big, sizeof(big), "{\"current\":\"https://as0\",\"servers\":[");
  for (i = 0; i < 8; i++)
    n += snprintf(big + n, sizeof(big) - (size_t)n,
                  "%s{\"issuer\":\"https://as%d\",\"access_token\":\"t%d\","
                  "\"resource\":\"https://rs%d.example/mcp\",\"expires_at\":5}",
                  i ? "," : "", i, i, i);
  snprintf(big + n, sizeof(big) - (size_t)n, "]}");
  o = cmcp_oauth_new();
  text_to_load = big;
  assert_int_equal(cmcp_oauth_set_store(o, load_text, NULL, NULL), 0);
  assert_string_equal(cmcp__oauth_token(o, "https://rs0.example/mcp"), "t0");
  /* A token goes only to the resource it was issued for (RFC 8707). */
  assert_string_equal(cmcp__oauth_token(o, "https://rs3.example/mcp/x"), "t3");
  assert_null(cmcp__oauth_token(o, "https://other.example/mcp"));
  assert_null(cmcp__oauth_token(o, "https://rs0.example:8443/mcp"));
  assert_null(cmcp__oauth_token(o, NULL));
  cmcp_oauth_free(o);
  /* A store without a current server gives no token. */
  o = cmcp_oauth_new();
  text_to_load = "{\"servers\":[{\"issuer\":\"https://a\"}]}";
  assert_int_equal(cmcp_oauth_set_store(o, load_text, NULL, NULL), 0);
  assert_null(cmcp__oauth_token(o, "https://a/mcp"));
  assert_int_equal(cmcp_oauth_set_store(NULL, NULL, NULL, NULL), CMCP_EINVAL);
  cmcp_oauth_free(o);
}

static void on_deadline(uv_timer_t *t) {
  *(int *)t->data = 1;
}

/* Runs one whole flow (registration, code grant) with the nth allocation
 * failing: it ends within a bound, with a token or with a status, and
 * nothing leaks (ASan). Returns the allocations it made. */
static long flow_with_failure(long n) {
  run *r = run_new();
  uv_timer_t deadline;
  int expired = 0, rc, i;
  long used;
  uv_timer_init(&r->loop, &deadline);
  deadline.data = &expired;
  uv_timer_start(&deadline, on_deadline, 10000, 0);
  alloc_fail_arm(n);
  rc = cmcp__oauth_challenge(r->o, &r->loop, r->url, 401, "Bearer scope=mcp",
                             on_done, r);
  for (i = 0; rc == 0 && i < 5000 && r->done_calls == 0 && !expired; i++)
    uv_run(&r->loop, UV_RUN_ONCE);
  used = alloc_fail_count();
  alloc_fail_arm(0);
  if (rc == 0 && r->done_calls != 1)
    fprintf(stderr, "no end with allocation %ld failing\n", n);
  assert_true(rc != 0 || r->done_calls == 1);
  assert_true(rc != 0 || r->status != 0 ||
              cmcp__oauth_token(r->o, r->url) != NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  run_free(r);
  return used;
}

static void test_alloc_failures(void **state) {
  long total, n;
  (void)state;
  alloc_fail_install();
  total = flow_with_failure(0);
  assert_true(total > 20);
  for (n = 1; n <= total; n++)
    flow_with_failure(n);
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_flow_with_registration),
      cmocka_unit_test(test_refresh_then_reauthorize),
      cmocka_unit_test(test_step_up_and_its_limit),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_iss_required),
      cmocka_unit_test(test_no_metadata),
      cmocka_unit_test(test_pre_registered_and_store),
      cmocka_unit_test(test_no_user_agent_and_setters),
      cmocka_unit_test(test_waiters_and_cancel),
      cmocka_unit_test(test_free_during_flow),
      cmocka_unit_test(test_loopback_agent),
      cmocka_unit_test(test_loopback_abandoned),
      cmocka_unit_test(test_headless_without_redirect),
      cmocka_unit_test(test_abandoned_and_failed_steps),
      cmocka_unit_test(test_store_loading),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
