/* libFuzzer target for the OAuth client's parsers (src/client/oauth_meta.c
 * and oauth_pkce.c). The first byte picks the parser: 0 WWW-Authenticate,
 * 1 protected-resource metadata, 2 authorization-server metadata (the
 * expected issuer is "https://a"), 3 an authorization response URL. The
 * rest is the input. Every parser must return a status without crashing or
 * leaking, and what it returns must hold its documented invariants. */
#include "client/oauth_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void www_auth(const char *s) {
  cmcp__www_auth w;
  int rc = cmcp__www_auth_parse(s, &w);
  if (rc != 0 &&
      (w.scope != NULL || w.error != NULL || w.resource_metadata != NULL))
    abort(); /* a failure leaves nothing behind */
  cmcp__www_auth_clear(&w);
}

static void prm(const char *s, size_t n) {
  cmcp__prm p;
  char err[128];
  if (cmcp__prm_parse(s, n, &p, err, sizeof(err)) == 0 &&
      (p.resource == NULL || p.auth_server == NULL))
    abort();
  cmcp__prm_clear(&p);
}

static void asmeta(const char *s, size_t n) {
  cmcp__asmeta m;
  char err[128];
  if (cmcp__asmeta_parse(s, n, "https://a", &m, err, sizeof(err)) == 0 &&
      (strcmp(m.issuer, "https://a") != 0 || m.token_endpoint == NULL ||
       m.authorization_endpoint == NULL))
    abort();
  cmcp__asmeta_clear(&m);
}

static void redirect(const char *s) {
  char *code = NULL, err[128];
  int rc = cmcp__oauth_check_redirect(s, "S", "https://a", 1, &code, err,
                                      sizeof(err));
  if ((rc == 0) != (code != NULL))
    abort();
  cmcp__free(code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s;
  if (size < 1)
    return 0;
  s = malloc(size);
  if (s == NULL)
    return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0'; /* the text parsers take C strings */
  switch (data[0] & 3) {
  case 0:
    www_auth(s);
    break;
  case 1:
    prm(s, size - 1);
    break;
  case 2:
    asmeta(s, size - 1);
    break;
  default:
    redirect(s);
    break;
  }
  free(s);
  return 0;
}
