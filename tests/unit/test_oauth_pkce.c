/* tests/unit/test_oauth_pkce.c: PKCE (RFC 7636 appendix B), state, form
 * encoding, query parsing, the authorization URL and the checks of the
 * authorization response (state, iss per RFC 9207, code, error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "client/oauth_int.h"
#include "helper_alloc.h"

static void test_pkce_rfc7636_vector(void **state) {
  char *c =
      cmcp__oauth_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  (void)state;
  assert_non_null(c);
  assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  cmcp__free(c);
  assert_null(cmcp__oauth_pkce_s256(NULL));
}

static void test_random_verifier_shape(void **state) {
  char *a = cmcp__oauth_random_b64url(32), *b = cmcp__oauth_random_b64url(32);
  size_t i;
  (void)state;
  assert_non_null(a);
  assert_non_null(b);
  /* 43 characters: the shortest verifier RFC 7636 s4.1 allows. */
  assert_int_equal(strlen(a), 43);
  assert_string_not_equal(a, b);
  for (i = 0; a[i] != '\0'; i++)
    assert_non_null(
        strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789-_",
               a[i]));
  cmcp__free(a);
  cmcp__free(b);
  assert_null(cmcp__oauth_random_b64url(0));
  assert_null(cmcp__oauth_random_b64url(65));
}

static void test_form_encoding(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__form_add(&b, 0, "a", "x y&z=1/é"), 0);
  assert_int_equal(cmcp__form_add(&b, 0, "b", "A-Z_.~"), 0);
  assert_string_equal(b.data, "a=x%20y%26z%3D1%2F%C3%A9&b=A-Z_.~");
  assert_int_equal(cmcp__form_add(&b, '?', "c", ""), 0);
  assert_string_equal(b.data + b.len - 3, "?c=");
  cmcp__buf_free(&b);
}

static void test_form_limit_all_or_nothing(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 12);
  assert_int_equal(cmcp__form_add(&b, 0, "a", "1"), 0);
  assert_int_equal(cmcp__form_add(&b, 0, "bbbb", "22222222"), CMCP_ELIMIT);
  assert_string_equal(b.data, "a=1");
  assert_int_equal(b.len, 3);
  cmcp__buf_free(&b);
}

static void test_pct_decode(void **state) {
  char *s;
  (void)state;
  s = cmcp__pct_decode("a+b%20c%2Fd", 11);
  assert_string_equal(s, "a b c/d");
  cmcp__free(s);
  assert_null(cmcp__pct_decode("%2", 2));
  assert_null(cmcp__pct_decode("%zz", 3));
  assert_null(cmcp__pct_decode("a%00b", 5));
  s = cmcp__pct_decode("", 0);
  assert_string_equal(s, "");
  cmcp__free(s);
}

static void test_query_get(void **state) {
  char *v = NULL;
  (void)state;
  assert_int_equal(
      cmcp__query_get("http://h/cb?code=abc&state=x%2By#code=no", "code", &v),
      0);
  assert_string_equal(v, "abc");
  cmcp__free(v);
  assert_int_equal(
      cmcp__query_get("http://h/cb?code=abc&state=x%2By", "state", &v), 0);
  assert_string_equal(v, "x+y");
  cmcp__free(v);
  assert_int_equal(cmcp__query_get("http://h/cb?code=1", "iss", &v),
                   CMCP_ENOENT);
  assert_null(v);
  assert_int_equal(cmcp__query_get("http://h/cb", "code", &v), CMCP_ENOENT);
  /* Parameters must not repeat (RFC 6749 s3.1). */
  assert_int_equal(cmcp__query_get("http://h/cb?code=1&code=2", "code", &v),
                   CMCP_EPARSE);
  assert_null(v);
  assert_int_equal(cmcp__query_get("http://h/cb?code=%zz", "code", &v),
                   CMCP_EPARSE);
  /* A name that only starts the same is another parameter. */
  assert_int_equal(cmcp__query_get("http://h/cb?codex=1&code", "code", &v), 0);
  assert_string_equal(v, "");
  cmcp__free(v);
}

static void test_authorize_url(void **state) {
  char *u;
  (void)state;
  u = cmcp__oauth_authorize_url("https://as/authorize", "id 1",
                                "http://127.0.0.1:5/callback", "CH", "ST",
                                "https://mcp.example/mcp", "a b");
  assert_string_equal(u,
                      "https://as/authorize?response_type=code&client_id=id%201"
                      "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback"
                      "&code_challenge=CH&code_challenge_method=S256&state=ST"
                      "&resource=https%3A%2F%2Fmcp.example%2Fmcp&scope=a%20b");
  cmcp__free(u);
  /* An endpoint with a query keeps it; no scope: none sent. */
  u = cmcp__oauth_authorize_url("https://as/authorize?tenant=1", "c", "r", "CH",
                                "ST", "https://m", NULL);
  assert_non_null(strstr(u, "?tenant=1&response_type=code"));
  assert_null(strstr(u, "scope="));
  cmcp__free(u);
}

static void test_redirect_ok(void **state) {
  char *code = NULL, err[256];
  (void)state;
  assert_int_equal(
      cmcp__oauth_check_redirect(
          "http://localhost/cb?code=C1&state=S&iss=https%3A%2F%2Fas", "S",
          "https://as", 1, &code, err, sizeof(err)),
      0);
  assert_string_equal(code, "C1");
  cmcp__free(code);
  /* Not advertised and absent: accepted. */
  assert_int_equal(
      cmcp__oauth_check_redirect("http://localhost/cb?code=C2&state=S", "S",
                                 "https://as", 0, &code, err, sizeof(err)),
      0);
  assert_string_equal(code, "C2");
  cmcp__free(code);
}

static void test_redirect_refusals(void **state) {
  char *code = (char *)1, err[256];
  (void)state;
  /* iss advertised but missing. */
  assert_int_equal(cmcp__oauth_check_redirect("http://l/cb?code=C&state=S", "S",
                                              "https://as", 1, &code, err,
                                              sizeof(err)),
                   CMCP_EPROTO);
  assert_null(code);
  assert_non_null(strstr(err, "no iss"));
  /* iss present and wrong, even when not advertised. */
  assert_int_equal(cmcp__oauth_check_redirect(
                       "http://l/cb?code=C&state=S&iss=https%3A%2F%2Fevil", "S",
                       "https://as", 0, &code, err, sizeof(err)),
                   CMCP_EPROTO);
  /* Simple string comparison: a trailing slash is a mismatch. */
  assert_int_equal(cmcp__oauth_check_redirect(
                       "http://l/cb?code=C&state=S&iss=https%3A%2F%2Fas%2F",
                       "S", "https://as", 1, &code, err, sizeof(err)),
                   CMCP_EPROTO);
  /* Malformed iss. */
  assert_int_equal(
      cmcp__oauth_check_redirect("http://l/cb?code=C&state=S&iss=%z", "S",
                                 "https://as", 0, &code, err, sizeof(err)),
      CMCP_EPARSE);
  /* Wrong or missing state. */
  assert_int_equal(cmcp__oauth_check_redirect("http://l/cb?code=C&state=T", "S",
                                              "https://as", 0, &code, err,
                                              sizeof(err)),
                   CMCP_EPROTO);
  assert_int_equal(cmcp__oauth_check_redirect("http://l/cb?code=C", "S",
                                              "https://as", 0, &code, err,
                                              sizeof(err)),
                   CMCP_EPROTO);
  /* No code, or an empty one. */
  assert_int_equal(cmcp__oauth_check_redirect("http://l/cb?state=S", "S",
                                              "https://as", 0, &code, err,
                                              sizeof(err)),
                   CMCP_EPROTO);
  assert_int_equal(cmcp__oauth_check_redirect("http://l/cb?state=S&code=", "S",
                                              "https://as", 0, &code, err,
                                              sizeof(err)),
                   CMCP_EPROTO);
  assert_null(code);
  /* The server's refusal, with its description. */
  assert_int_equal(
      cmcp__oauth_check_redirect(
          "http://l/cb?error=access_denied&error_description=no+way&state=S",
          "S", "https://as", 0, &code, err, sizeof(err)),
      CMCP_EPROTO);
  assert_non_null(strstr(err, "access_denied: no way"));
}

/* Every allocation of the URL and redirect helpers fails cleanly. */
static void test_alloc_failures(void **state) {
  long n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 40; n++) {
    char *u, *code = NULL, err[128];
    int rc;
    alloc_fail_arm(n);
    u = cmcp__oauth_authorize_url("https://as/a", "c", "r", "CH", "ST",
                                  "https://m", "s");
    cmcp__free(u);
    alloc_fail_arm(n);
    rc = cmcp__oauth_check_redirect(
        "http://l/cb?code=C&state=S&iss=https%3A%2F%2Fas", "S", "https://as", 1,
        &code, err, sizeof(err));
    assert_true(rc == 0 || rc == CMCP_EPROTO || rc == CMCP_EPARSE);
    cmcp__free(code);
    alloc_fail_arm(n);
    cmcp__free(cmcp__oauth_pkce_s256("v"));
    cmcp__free(cmcp__oauth_random_b64url(16));
  }
  alloc_fail_uninstall();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pkce_rfc7636_vector),
      cmocka_unit_test(test_random_verifier_shape),
      cmocka_unit_test(test_form_encoding),
      cmocka_unit_test(test_form_limit_all_or_nothing),
      cmocka_unit_test(test_pct_decode),
      cmocka_unit_test(test_query_get),
      cmocka_unit_test(test_authorize_url),
      cmocka_unit_test(test_redirect_ok),
      cmocka_unit_test(test_redirect_refusals),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
