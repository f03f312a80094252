/* src/proto/seal.c: HMAC-SHA256 sealed tokens (see seal.h for the format)
 * and a SHA-256 helper, on OpenSSL 3. */
#include "seal.h"

#include "base/base64.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#define SEAL_VERSION 1
#define SEAL_HDR 9  /* version + expiry */
#define SEAL_TAG 32 /* HMAC-SHA256 */

struct cmcp__sealer {
  EVP_MAC *mac; /* the HMAC implementation, fetched once */
  unsigned char *key;
  size_t keylen;
};

cmcp__sealer_t *cmcp__sealer_new(const void *key, size_t len) {
  cmcp__sealer_t *s;
  if (key == NULL)
    len = 32;
  else if (len < CMCP__SEAL_MIN_KEY)
    return NULL;
  s = cmcp__calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->key = cmcp__malloc(len);
  if (s->key == NULL)
    goto fail;
  s->keylen = len;
  if (key != NULL)
    memcpy(s->key, key, len);
  else if (cmcp__random(s->key, len) != 0)
    goto fail;
  s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (s->mac == NULL)
    goto fail;
  return s;
fail:
  cmcp__sealer_free(s);
  return NULL;
}

void cmcp__sealer_free(cmcp__sealer_t *s) {
  if (s == NULL)
    return;
  if (s->key != NULL) {
    OPENSSL_cleanse(s->key, s->keylen);
    cmcp__free(s->key);
  }
  EVP_MAC_free(s->mac);
  cmcp__free(s);
}

static void put_be64(unsigned char *p, uint64_t v) {
  int i;
  for (i = 7; i >= 0; i--) {
    p[i] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
}

static uint64_t get_be64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

/* tag = HMAC-SHA256(key, hdr[0..9) | be64(len) | payload | binding). The
 * payload length is in the MAC input so that bytes cannot move between the
 * payload and the binding. Fresh context per call keeps the sealer
 * immutable and therefore shareable across threads. */
static int seal_tag(const cmcp__sealer_t *s, const unsigned char *hdr,
                    const unsigned char *payload, size_t len,
                    const char *binding, unsigned char tag[SEAL_TAG]) {
  OSSL_PARAM params[2];
  unsigned char lenbuf[8];
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(s->mac);
  size_t outl = 0;
  int ok;
  if (ctx == NULL)
    return CMCP_ECRYPTO;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  put_be64(lenbuf, (uint64_t)len);
  ok = EVP_MAC_init(ctx, s->key, s->keylen, params) &&
       EVP_MAC_update(ctx, hdr, SEAL_HDR) &&
       EVP_MAC_update(ctx, lenbuf, sizeof(lenbuf)) &&
       (len == 0 || EVP_MAC_update(ctx, payload, len)) &&
       EVP_MAC_update(ctx, (const unsigned char *)binding, strlen(binding)) &&
       EVP_MAC_final(ctx, tag, &outl, SEAL_TAG) && outl == SEAL_TAG;
  EVP_MAC_CTX_free(ctx);
  return ok ? 0 : CMCP_ECRYPTO;
}

int cmcp__seal_at(const cmcp__sealer_t *s, const void *payload, size_t len,
                  const char *binding, int64_t ttl_ms, int64_t now_ms,
                  cmcp__buf *out) {
  unsigned char *raw = NULL;
  size_t rawlen;
  int rc;
  if (s == NULL || out == NULL || ttl_ms <= 0 || (payload == NULL && len > 0))
    return CMCP_EINVAL;
  if (len > (CMCP__SEAL_MAX_TOKEN / 4) * 3 - SEAL_HDR - SEAL_TAG)
    return CMCP_ELIMIT;
  if (now_ms < 0 || now_ms > INT64_MAX - ttl_ms)
    return CMCP_EINVAL;
  rawlen = SEAL_HDR + len + SEAL_TAG;
  raw = cmcp__malloc(rawlen);
  if (raw == NULL)
    return CMCP_ENOMEM;
  raw[0] = SEAL_VERSION;
  put_be64(raw + 1, (uint64_t)(now_ms + ttl_ms));
  if (len > 0)
    memcpy(raw + SEAL_HDR, payload, len);
  rc = seal_tag(s, raw, raw + SEAL_HDR, len, binding ? binding : "",
                raw + SEAL_HDR + len);
  if (rc == 0)
    rc = cmcp__base64_encode(raw, rawlen, CMCP__B64_URL, out);
  cmcp__free(raw);
  return rc;
}

int cmcp__seal(const cmcp__sealer_t *s, const void *payload, size_t len,
               const char *binding, int64_t ttl_ms, cmcp__buf *out) {
  return cmcp__seal_at(s, payload, len, binding, ttl_ms, cmcp__wall_ms(), out);
}

/* Decodes token into *raw (caller frees) after the cheap shape checks. */
static int unseal_decode(const char *token, unsigned char **raw,
                         size_t *rawlen) {
  size_t tlen = strnlen(token, CMCP__SEAL_MAX_TOKEN + 1);
  cmcp__buf b;
  int rc;
  if (tlen > CMCP__SEAL_MAX_TOKEN)
    return CMCP_ECRYPTO;
  cmcp__buf_init(&b, CMCP__SEAL_MAX_TOKEN);
  rc = cmcp__base64_decode(token, tlen, CMCP__B64_URL, &b);
  if (rc == CMCP_ENOMEM) {
    cmcp__buf_free(&b);
    return rc;
  }
  if (rc != 0 || b.len < SEAL_HDR + SEAL_TAG ||
      (unsigned char)b.data[0] != SEAL_VERSION) {
    cmcp__buf_free(&b);
    return CMCP_ECRYPTO;
  }
  *raw = (unsigned char *)cmcp__buf_take(&b, rawlen);
  return 0;
}

int cmcp__unseal_at(const cmcp__sealer_t *s, const char *token,
                    const char *binding, int64_t now_ms, cmcp__buf *out) {
  unsigned char *raw = NULL, tag[SEAL_TAG];
  size_t rawlen = 0, plen;
  uint64_t expiry;
  int rc;
  if (s == NULL || token == NULL || out == NULL)
    return CMCP_EINVAL;
  rc = unseal_decode(token, &raw, &rawlen);
  if (rc != 0)
    return rc;
  plen = rawlen - SEAL_HDR - SEAL_TAG;
  rc = seal_tag(s, raw, raw + SEAL_HDR, plen, binding ? binding : "", tag);
  if (rc != 0)
    goto out;
  /* The tag is checked before anything in the token is trusted. */
  if (CRYPTO_memcmp(tag, raw + SEAL_HDR + plen, SEAL_TAG) != 0) {
    rc = CMCP_ECRYPTO;
    goto out;
  }
  expiry = get_be64(raw + 1);
  if (now_ms < 0 || (uint64_t)now_ms > expiry) {
    rc = CMCP_EEXPIRED;
    goto out;
  }
  rc = cmcp__buf_add(out, raw + SEAL_HDR, plen);
out:
  OPENSSL_cleanse(tag, sizeof(tag));
  cmcp__free(raw);
  return rc;
}

int cmcp__unseal(const cmcp__sealer_t *s, const char *token,
                 const char *binding, cmcp__buf *out) {
  return cmcp__unseal_at(s, token, binding, cmcp__wall_ms(), out);
}

int cmcp__sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int outl = 0;
  if (EVP_Digest(data, len, out, &outl, EVP_sha256(), NULL) != 1 ||
      outl != 32) {
    memset(out, 0, 32);
    return CMCP_ECRYPTO;
  }
  return 0;
}
