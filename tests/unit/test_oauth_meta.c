/* tests/unit/test_oauth_meta.c: WWW-Authenticate parsing, the well-known
 * metadata URLs in the spec's order, resource matching, protected-resource
 * and authorization-server metadata (with the issuer check), and scope
 * selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "client/oauth_int.h"
#include "helper_alloc.h"

/* ---- WWW-Authenticate -------------------------------------------------- */

static void test_www_auth_bearer(void **state) {
  cmcp__www_auth w;
  (void)state;
  assert_int_equal(
      cmcp__www_auth_parse(
          "Bearer error=\"insufficient_scope\", scope=\"mcp:basic mcp:write\", "
          "resource_metadata=\"https://h/.well-known/"
          "oauth-protected-resource\"",
          &w),
      0);
  assert_string_equal(w.error, "insufficient_scope");
  assert_string_equal(w.scope, "mcp:basic mcp:write");
  assert_string_equal(w.resource_metadata,
                      "https://h/.well-known/oauth-protected-resource");
  cmcp__www_auth_clear(&w);
  assert_null(w.scope);
}

static void test_www_auth_several_challenges(void **state) {
  cmcp__www_auth w;
  (void)state;
  /* A Basic token68 and a DPoP challenge around the Bearer one; names are
   * case-insensitive, values may be tokens, quotes may hold escapes. */
  assert_int_equal(
      cmcp__www_auth_parse("Basic dXNlcjpwYXNz==, DPoP algs=\"ES256\", "
                           "bearer Realm=x, SCOPE=read,resource_metadata = "
                           "\"http://l/m\\\"q\" , Other a=b",
                           &w),
      0);
  assert_string_equal(w.scope, "read");
  assert_string_equal(w.resource_metadata, "http://l/m\"q");
  assert_null(w.error);
  cmcp__www_auth_clear(&w);
  /* Parameters of other schemes are not the Bearer challenge's. */
  assert_int_equal(cmcp__www_auth_parse("DPoP scope=\"x\"", &w), 0);
  assert_null(w.scope);
  /* Just a scheme; NULL; only commas. */
  assert_int_equal(cmcp__www_auth_parse("Bearer", &w), 0);
  assert_null(w.scope);
  assert_int_equal(cmcp__www_auth_parse(NULL, &w), 0);
  assert_int_equal(cmcp__www_auth_parse(" , ,", &w), 0);
  /* The first of a repeated parameter is kept. */
  assert_int_equal(cmcp__www_auth_parse("Bearer scope=a, scope=b", &w), 0);
  assert_string_equal(w.scope, "a");
  cmcp__www_auth_clear(&w);
}

static void test_www_auth_malformed(void **state) {
  cmcp__www_auth w;
  char big[CMCP__OAUTH_MAX_HEADER + 16];
  (void)state;
  assert_int_equal(cmcp__www_auth_parse("Bearer scope=\"open", &w),
                   CMCP_EPARSE);
  assert_null(w.scope);
  assert_int_equal(cmcp__www_auth_parse("Bearer scope=\"a\\", &w), CMCP_EPARSE);
  assert_int_equal(cmcp__www_auth_parse("=x", &w), CMCP_EPARSE);
  assert_int_equal(cmcp__www_auth_parse("Bearer scope=,", &w), 0);
  cmcp__www_auth_clear(&w);
  assert_int_equal(cmcp__www_auth_parse("Bearer a=\"x\", \"y\"", &w),
                   CMCP_EPARSE);
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(cmcp__www_auth_parse(big, &w), CMCP_ELIMIT);
}

/* ---- URLs -------------------------------------------------------------- */

static void test_url_split(void **state) {
  cmcp__url u;
  (void)state;
  assert_int_equal(cmcp__url_split("HTTPS://Host:8443/a/b?x=1#f", &u), 0);
  assert_int_equal(u.host_len, 9);
  assert_int_equal(u.path_len, 4);
  assert_int_equal(u.query_len, 3);
  assert_int_equal(cmcp__url_split("http://h", &u), 0);
  assert_int_equal(u.path_len, 0);
  assert_null(u.query);
  assert_int_equal(cmcp__url_split("ftp://h/", &u), CMCP_EPARSE);
  assert_int_equal(cmcp__url_split("http:///x", &u), CMCP_EPARSE);
  assert_int_equal(cmcp__url_split("http://u@h/", &u), CMCP_EPARSE);
  assert_int_equal(cmcp__url_split("h/x", &u), CMCP_EPARSE);
  assert_int_equal(cmcp__url_split(NULL, &u), CMCP_EPARSE);
}

static void test_prm_urls(void **state) {
  char *u[2];
  int n;
  (void)state;
  assert_int_equal(cmcp__oauth_prm_urls("http://localhost:5/mcp?x=1", u, &n),
                   0);
  assert_int_equal(n, 2);
  assert_string_equal(
      u[0], "http://localhost:5/.well-known/oauth-protected-resource/mcp");
  assert_string_equal(
      u[1], "http://localhost:5/.well-known/oauth-protected-resource");
  cmcp__free(u[0]);
  cmcp__free(u[1]);
  /* At the root there is only the root document. */
  assert_int_equal(cmcp__oauth_prm_urls("https://h/", u, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(u[0], "https://h/.well-known/oauth-protected-resource");
  cmcp__free(u[0]);
  assert_int_equal(cmcp__oauth_prm_urls("nope", u, &n), CMCP_EINVAL);
  assert_int_equal(n, 0);
}

static void test_as_urls_in_spec_order(void **state) {
  char *u[3];
  int n;
  (void)state;
  assert_int_equal(
      cmcp__oauth_as_urls("https://auth.example.com/tenant1", u, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(u[0], "https://auth.example.com/.well-known/"
                            "oauth-authorization-server/tenant1");
  assert_string_equal(
      u[1],
      "https://auth.example.com/.well-known/openid-configuration/tenant1");
  assert_string_equal(
      u[2],
      "https://auth.example.com/tenant1/.well-known/openid-configuration");
  cmcp__free(u[0]);
  cmcp__free(u[1]);
  cmcp__free(u[2]);
  assert_int_equal(cmcp__oauth_as_urls("https://auth.example.com", u, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(
      u[0], "https://auth.example.com/.well-known/oauth-authorization-server");
  assert_string_equal(
      u[1], "https://auth.example.com/.well-known/openid-configuration");
  cmcp__free(u[0]);
  cmcp__free(u[1]);
  assert_int_equal(cmcp__oauth_as_urls("", u, &n), CMCP_EINVAL);
}

static void test_resource_matches(void **state) {
  (void)state;
  assert_true(cmcp__oauth_resource_matches("http://localhost:5/mcp",
                                           "http://localhost:5/mcp"));
  assert_true(cmcp__oauth_resource_matches("http://localhost:5",
                                           "http://localhost:5/mcp"));
  assert_true(cmcp__oauth_resource_matches("http://localhost:5/",
                                           "http://localhost:5/mcp"));
  assert_true(cmcp__oauth_resource_matches("HTTPS://Example.com:443/api",
                                           "https://example.com/api/mcp"));
  assert_false(cmcp__oauth_resource_matches("https://evil.example.com/mcp",
                                            "http://localhost:5/mcp"));
  assert_false(cmcp__oauth_resource_matches("http://localhost:6/mcp",
                                            "http://localhost:5/mcp"));
  assert_false(cmcp__oauth_resource_matches("https://localhost:5/mcp",
                                            "http://localhost:5/mcp"));
  /* A prefix must end at a segment boundary. */
  assert_false(cmcp__oauth_resource_matches("http://h/mc", "http://h/mcp"));
  assert_false(cmcp__oauth_resource_matches("http://h/mcp/x", "http://h/mcp"));
  assert_false(cmcp__oauth_resource_matches("not a url", "http://h/mcp"));
}

/* ---- metadata documents ------------------------------------------------ */

#define PRM_OK                                                                 \
  "{\"resource\":\"http://localhost:5/mcp\",\"authorization_servers\":"        \
  "[\"http://localhost:6\",\"https://b\"],\"scopes_supported\":[\"a\",\"b\"]}"

static void test_prm_parse(void **state) {
  cmcp__prm p;
  char err[128];
  (void)state;
  assert_int_equal(
      cmcp__prm_parse(PRM_OK, strlen(PRM_OK), &p, err, sizeof(err)), 0);
  assert_string_equal(p.resource, "http://localhost:5/mcp");
  assert_string_equal(p.auth_server, "http://localhost:6");
  assert_string_equal(p.scopes_supported, "a b");
  cmcp__prm_clear(&p);
}

static void test_prm_refusals(void **state) {
  static const char *const bad[] = {
      "[]",
      "{",
      "{\"authorization_servers\":[\"https://a\"]}",
      "{\"resource\":1,\"authorization_servers\":[\"https://a\"]}",
      "{\"resource\":\"https://r\"}",
      "{\"resource\":\"https://r\",\"authorization_servers\":[]}",
      "{\"resource\":\"https://r\",\"authorization_servers\":[1]}",
      /* Plain HTTP to a host that is not loopback. */
      "{\"resource\":\"https://r\",\"authorization_servers\":[\"http://a\"]}",
      "{\"resource\":\"https://r\",\"authorization_servers\":[\"https://a\"],"
      "\"scopes_supported\":\"a b\"}",
      "{\"resource\":\"https://r\",\"authorization_servers\":[\"https://a\"],"
      "\"scopes_supported\":[\"a b\"]}",
  };
  cmcp__prm p;
  char err[128];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(
        cmcp__prm_parse(bad[i], strlen(bad[i]), &p, err, sizeof(err)),
        CMCP_EPARSE);
    assert_null(p.resource);
    assert_true(err[0] != '\0');
  }
}

#define AS_OK                                                                  \
  "{\"issuer\":\"http://localhost:6/t\",\"authorization_endpoint\":"           \
  "\"http://localhost:6/t/authorize\",\"token_endpoint\":"                     \
  "\"http://localhost:6/t/token\",\"registration_endpoint\":"                  \
  "\"http://localhost:6/t/register\",\"code_challenge_methods_supported\":"    \
  "[\"plain\",\"S256\"],\"token_endpoint_auth_methods_supported\":"            \
  "[\"client_secret_post\",\"none\"],\"scopes_supported\":"                    \
  "[\"mcp\",\"offline_access\"],\"client_id_metadata_document_supported\":"    \
  "true,\"authorization_response_iss_parameter_supported\":true}"

static void test_asmeta_parse(void **state) {
  cmcp__asmeta m;
  char err[128];
  (void)state;
  assert_int_equal(cmcp__asmeta_parse(AS_OK, strlen(AS_OK),
                                      "http://localhost:6/t", &m, err,
                                      sizeof(err)),
                   0);
  assert_string_equal(m.token_endpoint, "http://localhost:6/t/token");
  assert_string_equal(m.registration_endpoint, "http://localhost:6/t/register");
  assert_true(m.s256);
  assert_true(m.cimd);
  assert_true(m.iss_supported);
  assert_int_equal(m.auth_methods, CMCP__AUTH_POST | CMCP__AUTH_NONE);
  assert_string_equal(m.scopes_supported, "mcp offline_access");
  cmcp__asmeta_clear(&m);
}

static void test_asmeta_issuer_mismatch(void **state) {
  static const char doc[] =
      "{\"issuer\":\"https://attacker.example.com\",\"authorization_endpoint\":"
      "\"https://a/authorize\",\"token_endpoint\":\"https://a/token\","
      "\"code_challenge_methods_supported\":[\"S256\"]}";
  cmcp__asmeta m;
  char err[160];
  (void)state;
  assert_int_equal(
      cmcp__asmeta_parse(doc, strlen(doc), "https://a", &m, err, sizeof(err)),
      CMCP_EPROTO);
  assert_null(m.issuer);
  assert_non_null(strstr(err, "attacker"));
  /* Identical means identical: no trailing-slash normalization. */
  assert_int_equal(cmcp__asmeta_parse(AS_OK, strlen(AS_OK),
                                      "http://localhost:6/t/", &m, err,
                                      sizeof(err)),
                   CMCP_EPROTO);
}

static void test_asmeta_minimal_and_refusals(void **state) {
  static const char minimal[] =
      "{\"issuer\":\"https://a\",\"authorization_endpoint\":\"https://a/x\","
      "\"token_endpoint\":\"https://a/t\",\"token_endpoint_auth_methods_"
      "supported\":[\"private_key_jwt\"]}";
  static const char *const bad[] = {
      "{\"authorization_endpoint\":\"https://a/x\",\"token_endpoint\":\"https:/"
      "/a/t\"}",
      "{\"issuer\":\"https://a\",\"token_endpoint\":\"https://a/t\"}",
      "{\"issuer\":\"https://a\",\"authorization_endpoint\":\"https://a/x\"}",
      "{\"issuer\":\"https://a\",\"authorization_endpoint\":\"http://a/x\","
      "\"token_endpoint\":\"https://a/t\"}",
      "{\"issuer\":\"https://a\",\"authorization_endpoint\":\"https://a/x\","
      "\"token_endpoint\":\"https://a/t\",\"registration_endpoint\":7}",
      "{\"issuer\":\"https://a\",\"authorization_endpoint\":\"https://a/x\","
      "\"token_endpoint\":\"https://a/"
      "t\",\"code_challenge_methods_supported\":{}}",
      "\"x\"",
  };
  cmcp__asmeta m;
  char err[128];
  size_t i;
  (void)state;
  assert_int_equal(cmcp__asmeta_parse(minimal, strlen(minimal), "https://a", &m,
                                      err, sizeof(err)),
                   0);
  /* No PKCE advertised; a method list with nothing we speak is not the
   * "absent" default. */
  assert_false(m.s256);
  assert_false(m.cimd);
  assert_null(m.registration_endpoint);
  assert_true(m.auth_methods != 0);
  assert_int_equal(m.auth_methods &
                       (CMCP__AUTH_BASIC | CMCP__AUTH_POST | CMCP__AUTH_NONE),
                   0);
  cmcp__asmeta_clear(&m);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(cmcp__asmeta_parse(bad[i], strlen(bad[i]), "https://a", &m,
                                        err, sizeof(err)),
                     CMCP_EPARSE);
}

/* ---- scopes ------------------------------------------------------------ */

static void test_scope_sets(void **state) {
  char *u;
  (void)state;
  assert_true(cmcp__scope_has("a bb c", "bb"));
  assert_false(cmcp__scope_has("a bb c", "b"));
  assert_false(cmcp__scope_has(NULL, "a"));
  assert_true(cmcp__scope_subset("c a", "a  bb c"));
  assert_false(cmcp__scope_subset("a d", "a bb c"));
  assert_true(cmcp__scope_subset(NULL, "a"));
  assert_int_equal(cmcp__scope_union("a b", "b c a", &u), 0);
  assert_string_equal(u, "a b c");
  cmcp__free(u);
  assert_int_equal(cmcp__scope_union(NULL, "", &u), 0);
  assert_null(u);
}

static void test_scope_selection(void **state) {
  char *s;
  (void)state;
  /* WWW-Authenticate first. */
  assert_int_equal(
      cmcp__oauth_select_scope("mcp:basic", "a b", NULL, NULL, 0, 1, &s), 0);
  assert_string_equal(s, "mcp:basic");
  cmcp__free(s);
  /* Else every scope of the resource's scopes_supported. */
  assert_int_equal(
      cmcp__oauth_select_scope(NULL, "a b c", NULL, NULL, 0, 1, &s), 0);
  assert_string_equal(s, "a b c");
  cmcp__free(s);
  /* Else omitted, even with offline_access available. */
  assert_int_equal(
      cmcp__oauth_select_scope(NULL, NULL, "offline_access", NULL, 0, 1, &s),
      0);
  assert_null(s);
  /* offline_access only where the authorization server lists it, and
   * only when wanted. */
  assert_int_equal(cmcp__oauth_select_scope(NULL, "mcp:basic",
                                            "mcp:basic offline_access", NULL, 0,
                                            1, &s),
                   0);
  assert_string_equal(s, "mcp:basic offline_access");
  cmcp__free(s);
  assert_int_equal(cmcp__oauth_select_scope(NULL, "mcp:basic",
                                            "mcp:basic offline_access", NULL, 0,
                                            0, &s),
                   0);
  assert_string_equal(s, "mcp:basic");
  cmcp__free(s);
  assert_int_equal(cmcp__oauth_select_scope(NULL, "a", "a b", NULL, 0, 1, &s),
                   0);
  assert_string_equal(s, "a");
  cmcp__free(s);
  /* Step-up: the union of what was asked before and the challenge. */
  assert_int_equal(
      cmcp__oauth_select_scope("mcp:write", "p", NULL, "mcp:basic", 1, 1, &s),
      0);
  assert_string_equal(s, "mcp:basic mcp:write");
  cmcp__free(s);
}

static void test_alloc_failures(void **state) {
  long n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 60; n++) {
    cmcp__www_auth w;
    cmcp__prm p;
    cmcp__asmeta m;
    char *u[3], *s = NULL, err[128];
    int k, rc;
    alloc_fail_arm(n);
    rc = cmcp__www_auth_parse("Bearer scope=\"a b\", error=x, "
                              "resource_metadata=\"https://h/m\"",
                              &w);
    assert_true(rc == 0 || rc == CMCP_ENOMEM);
    cmcp__www_auth_clear(&w);
    alloc_fail_arm(n);
    if (cmcp__oauth_as_urls("https://a/t", u, &k) == 0)
      while (k > 0)
        cmcp__free(u[--k]);
    alloc_fail_arm(n);
    rc = cmcp__prm_parse(PRM_OK, strlen(PRM_OK), &p, err, sizeof(err));
    assert_true(rc == 0 || rc == CMCP_ENOMEM);
    cmcp__prm_clear(&p);
    alloc_fail_arm(n);
    rc = cmcp__asmeta_parse(AS_OK, strlen(AS_OK), "http://localhost:6/t", &m,
                            err, sizeof(err));
    assert_true(rc == 0 || rc == CMCP_ENOMEM);
    cmcp__asmeta_clear(&m);
    alloc_fail_arm(n);
    rc =
        cmcp__oauth_select_scope(NULL, "a b", "offline_access", NULL, 0, 1, &s);
    assert_true(rc == 0 || rc == CMCP_ENOMEM);
    cmcp__free(s);
  }
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_www_auth_bearer),
      cmocka_unit_test(test_www_auth_several_challenges),
      cmocka_unit_test(test_www_auth_malformed),
      cmocka_unit_test(test_url_split),
      cmocka_unit_test(test_prm_urls),
      cmocka_unit_test(test_as_urls_in_spec_order),
      cmocka_unit_test(test_resource_matches),
      cmocka_unit_test(test_prm_parse),
      cmocka_unit_test(test_prm_refusals),
      cmocka_unit_test(test_asmeta_parse),
      cmocka_unit_test(test_asmeta_issuer_mismatch),
      cmocka_unit_test(test_asmeta_minimal_and_refusals),
      cmocka_unit_test(test_scope_sets),
      cmocka_unit_test(test_scope_selection),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
