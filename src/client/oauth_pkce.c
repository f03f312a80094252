/* src/client/oauth_pkce.c: PKCE (RFC 7636), state, form encoding, query
 * parsing, the authorization request URL and the checks of the
 * authorization response (RFC 6749 s4.1.2, RFC 9207). */
#include "oauth_int.h"

#include "base/base64.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* The unpadded base64url of n bytes as a new string, or NULL (ENOMEM). */
static char *b64url_dup(const unsigned char *p, size_t n) {
  cmcp__buf b;
  cmcp__buf_init(&b, 128);
  if (cmcp__base64_encode(p, n, CMCP__B64_URL, &b) != 0) {
    cmcp__buf_free(&b);
    return NULL;
  }
  return cmcp__buf_take(&b, NULL);
}

char *cmcp__oauth_random_b64url(size_t nbytes) {
  unsigned char raw[64];
  if (nbytes == 0 || nbytes > sizeof(raw) || cmcp__random(raw, nbytes) != 0)
    return NULL;
  return b64url_dup(raw, nbytes);
}

/* code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), RFC 7636
 * s4.2. */
char *cmcp__oauth_pkce_s256(const char *verifier) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (verifier == NULL || EVP_Digest(verifier, strlen(verifier), md, &mdlen,
                                     EVP_sha256(), NULL) != 1)
    return NULL;
  return b64url_dup(md, mdlen);
}

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends s percent-encoded: everything but RFC 3986 unreserved. */
static int pct_encode(cmcp__buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  char esc[3];
  int rc = 0;
  for (; *s != '\0' && rc == 0; s++) {
    unsigned char c = (unsigned char)*s;
    if (is_unreserved(c)) {
      rc = cmcp__buf_add(b, s, 1);
      continue;
    }
    esc[0] = '%';
    esc[1] = hex[c >> 4];
    esc[2] = hex[c & 15];
    rc = cmcp__buf_add(b, esc, 3);
  }
  return rc;
}

int cmcp__form_add(cmcp__buf *b, char sep, const char *name,
                   const char *value) {
  size_t mark = b->len;
  int rc = 0;
  if (sep != 0)
    rc = cmcp__buf_add(b, &sep, 1);
  else if (b->len > 0)
    rc = cmcp__buf_add(b, "&", 1);
  if (rc == 0)
    rc = pct_encode(b, name);
  if (rc == 0)
    rc = cmcp__buf_add(b, "=", 1);
  if (rc == 0)
    rc = pct_encode(b, value);
  if (rc != 0 && b->data != NULL) {
    b->len = mark; /* all or nothing */
    b->data[mark] = '\0';
  }
  return rc;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *cmcp__pct_decode(const char *s, size_t len) {
  char *out = cmcp__malloc(len + 1);
  size_t i, n = 0;
  if (out == NULL)
    return NULL;
  for (i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      int hi, lo;
      if (len - i < 3)
        goto fail;
      hi = hexval(s[i + 1]);
      lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0)
        goto fail;
      c = hi * 16 + lo;
      i += 2;
    }
    if (c == 0)
      goto fail;
    out[n++] = (char)c;
  }
  out[n] = '\0';
  return out;
fail:
  cmcp__free(out);
  return NULL;
}

int cmcp__query_get(const char *url, const char *name, char **out) {
  const char *q = strchr(url, '?'), *end, *p;
  size_t nlen = strlen(name);
  *out = NULL;
  if (q == NULL)
    return CMCP_ENOENT;
  q++;
  end = strchr(q, '#');
  if (end == NULL)
    end = q + strlen(q);
  for (p = q; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *kend = eq ? eq : stop;
    if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
      const char *v = eq ? eq + 1 : stop;
      if (*out != NULL)
        goto dup;
      *out = cmcp__pct_decode(v, (size_t)(stop - v));
      if (*out == NULL)
        return CMCP_EPARSE; /* a bad escape, or ENOMEM: refuse either way */
    }
    p = amp ? amp + 1 : end;
  }
  return *out != NULL ? 0 : CMCP_ENOENT;
dup:
  /* "Request and response parameters MUST NOT be included more than
   * once" (RFC 6749 s3.1). */
  cmcp__free(*out);
  *out = NULL;
  return CMCP_EPARSE;
}

char *cmcp__oauth_authorize_url(const char *endpoint, const char *client_id,
                                const char *redirect_uri, const char *challenge,
                                const char *state, const char *resource,
                                const char *scope) {
  cmcp__buf b;
  int rc;
  cmcp__buf_init(&b, CMCP__OAUTH_MAX_URL);
  rc = cmcp__buf_adds(&b, endpoint);
  if (rc == 0)
    rc = cmcp__form_add(&b, strchr(endpoint, '?') ? '&' : '?', "response_type",
                        "code");
  if (rc == 0)
    rc = cmcp__form_add(&b, '&', "client_id", client_id);
  if (rc == 0)
    rc = cmcp__form_add(&b, '&', "redirect_uri", redirect_uri);
  if (rc == 0)
    rc = cmcp__form_add(&b, '&', "code_challenge", challenge);
  if (rc == 0)
    rc = cmcp__form_add(&b, '&', "code_challenge_method", "S256");
  if (rc == 0)
    rc = cmcp__form_add(&b, '&', "state", state);
  if (rc == 0 && resource != NULL)
    rc = cmcp__form_add(&b, '&', "resource", resource);
  if (rc == 0 && scope != NULL)
    rc = cmcp__form_add(&b, '&', "scope", scope);
  if (rc != 0) {
    cmcp__buf_free(&b);
    return NULL;
  }
  return cmcp__buf_take(&b, NULL);
}

/* The error parameters of a refused authorization, as a reason. */
static int redirect_error(const char *url, const char *error, char *err,
                          size_t errlen) {
  char *desc = NULL;
  cmcp__query_get(url, "error_description", &desc);
  snprintf(err, errlen, "the authorization server refused: %s%s%s", error,
           desc ? ": " : "", desc ? desc : "");
  cmcp__free(desc);
  return CMCP_EPROTO;
}

/* RFC 9207 s2.4: "Clients that support this specification MUST extract
 * the value of the iss parameter from authorization responses they
 * receive if the parameter is present. Clients MUST then decode the value
 * from its "application/x-www-form-urlencoded" form ... and compare the
 * result to the issuer identifier of the authorization server where the
 * authorization request was sent to. This comparison MUST use simple
 * string comparison." And: "Clients MUST reject authorization responses
 * without the iss parameter from authorization servers that indicate
 * support for the parameter". */
static int check_iss(const char *url, const char *issuer, int iss_supported,
                     char *err, size_t errlen) {
  char *iss = NULL;
  int rc = cmcp__query_get(url, "iss", &iss);
  if (rc == CMCP_ENOENT) {
    if (!iss_supported)
      return 0;
    snprintf(err, errlen,
             "the authorization response has no iss although "
             "the authorization server requires it");
    return CMCP_EPROTO;
  }
  if (rc != 0) {
    snprintf(err, errlen, "the authorization response's iss is malformed");
    return CMCP_EPARSE;
  }
  rc = strcmp(iss, issuer) == 0 ? 0 : CMCP_EPROTO;
  if (rc != 0)
    snprintf(err, errlen,
             "the authorization response's iss '%.200s' is not "
             "the issuer '%.200s'",
             iss, issuer);
  cmcp__free(iss);
  return rc;
}

int cmcp__oauth_check_redirect(const char *redirect_url, const char *state,
                               const char *issuer, int iss_supported,
                               char **code, char *err, size_t errlen) {
  char *v = NULL;
  int rc;
  *code = NULL;
  if (cmcp__query_get(redirect_url, "error", &v) == 0) {
    rc = redirect_error(redirect_url, v, err, errlen);
    cmcp__free(v);
    return rc;
  }
  rc = cmcp__query_get(redirect_url, "state", &v);
  if (rc != 0 || strcmp(v, state) != 0) {
    cmcp__free(v);
    snprintf(err, errlen,
             "the authorization response's state does not "
             "match the request's");
    return CMCP_EPROTO;
  }
  cmcp__free(v);
  rc = check_iss(redirect_url, issuer, iss_supported, err, errlen);
  if (rc != 0)
    return rc;
  rc = cmcp__query_get(redirect_url, "code", code);
  if (rc != 0 || (*code)[0] == '\0') {
    cmcp__free(*code);
    *code = NULL;
    snprintf(err, errlen, "the authorization response has no code");
    return CMCP_EPROTO;
  }
  return 0;
}
