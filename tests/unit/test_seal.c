/* Unit tests for src/proto/seal (sealed tokens, SHA-256) and src/base/base64
 * (RFC 4648 vectors, strict decoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_alloc.h"

#include "base/base64.h"
#include "proto/seal.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1790000000000LL /* a fixed "now" in ms since the epoch */

static const char k_key[] = "0123456789abcdef0123456789abcdef";
static const char k_bind[] = "tools/call\nweather\nsha256-of-args";

/* ---- base64 ------------------------------------------------------------ */

static void check_encode(const char *in, cmcp__b64_variant v,
                         const char *want) {
  cmcp__buf b;
  cmcp__buf_init(&b, 64);
  assert_int_equal(cmcp__base64_encode(in, strlen(in), v, &b), 0);
  assert_string_equal(b.data, want);
  assert_int_equal(b.len, cmcp__base64_encoded_len(strlen(in), v));
  cmcp__buf_reset(&b);
  assert_int_equal(cmcp__base64_decode(want, strlen(want), v, &b), 0);
  assert_int_equal(b.len, strlen(in));
  assert_memory_equal(b.data, in, b.len);
  cmcp__buf_free(&b);
}

/* RFC 4648 section 10 test vectors, both alphabets. */
static void base64_rfc4648_vectors(void **state) {
  static const char *const v[][3] = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(v); i++) {
    check_encode(v[i][0], CMCP__B64_STD, v[i][1]);
    check_encode(v[i][0], CMCP__B64_URL, v[i][2]);
  }
}

/* The two alphabets differ in exactly the last two characters. */
static void base64_alphabets(void **state) {
  static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 64);
  assert_int_equal(cmcp__base64_encode(bytes, 3, CMCP__B64_STD, &b), 0);
  assert_string_equal(b.data, "+/+/");
  cmcp__buf_reset(&b);
  assert_int_equal(cmcp__base64_encode(bytes, 3, CMCP__B64_URL, &b), 0);
  assert_string_equal(b.data, "-_-_");
  assert_int_equal(cmcp__base64_check("-_-_", 4, CMCP__B64_STD, NULL),
                   CMCP_EPARSE);
  assert_int_equal(cmcp__base64_check("+/+/", 4, CMCP__B64_URL, NULL),
                   CMCP_EPARSE);
  cmcp__buf_free(&b);
}

static void base64_strict_decoding(void **state) {
  static const char *const std_bad[] = {
      "Zg",           /* missing padding */
      "Zg=",          /* short padding */
      "Zg===",        /* too much padding */
      "Z===",         /* one data character */
      "====",         /* padding only */
      "Zm9v=",        /* length not a multiple of 4 */
      "Zh==",         /* non-zero trailing bits */
      "Zm9=",         /* non-zero trailing bits */
      "Zm=v",         /* padding in the middle */
      "Zm9v\n",       /* whitespace */
      "Zm 9v",        /* whitespace */
      "Zm9v*A==",     /* outside the alphabet */
      "Zm9vYg==Zm9v", /* data after padding */
  };
  static const char *const url_bad[] = {"Zg==", "Zg=",  "Z",    "Zh",
                                        "Zm9",  "Zm+v", "Zm/v", "Zm9v\r"};
  size_t i, n;
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 64);
  for (i = 0; i < CMCP__ARRAY_SIZE(std_bad); i++) {
    assert_int_equal(
        cmcp__base64_decode(std_bad[i], strlen(std_bad[i]), CMCP__B64_STD, &b),
        CMCP_EPARSE);
    assert_int_equal(b.len, 0);
  }
  for (i = 0; i < CMCP__ARRAY_SIZE(url_bad); i++)
    assert_int_equal(
        cmcp__base64_check(url_bad[i], strlen(url_bad[i]), CMCP__B64_URL, NULL),
        CMCP_EPARSE);
  /* An embedded NUL is just another bad character. */
  assert_int_equal(cmcp__base64_check("Zm\0v", 4, CMCP__B64_STD, NULL),
                   CMCP_EPARSE);
  assert_int_equal(cmcp__base64_check(NULL, 4, CMCP__B64_STD, NULL),
                   CMCP_EPARSE);
  assert_int_equal(cmcp__base64_check(NULL, 0, CMCP__B64_STD, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(cmcp__base64_check("Zm9vYg==", 8, CMCP__B64_STD, &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(cmcp__base64_check("Zm9vYmE", 7, CMCP__B64_URL, &n), 0);
  assert_int_equal(n, 5);
  cmcp__buf_free(&b);
}

static void base64_respects_buffer_limit(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 6);
  assert_int_equal(cmcp__buf_adds(&b, "ab"), 0);
  assert_int_equal(cmcp__base64_encode("foo", 3, CMCP__B64_STD, &b), 0);
  assert_string_equal(b.data, "abZm9v");
  assert_int_equal(cmcp__base64_encode("f", 1, CMCP__B64_URL, &b), CMCP_ELIMIT);
  assert_string_equal(b.data, "abZm9v");
  cmcp__buf_free(&b);
  cmcp__buf_init(&b, 3);
  assert_int_equal(cmcp__base64_decode("Zm9vYg==", 8, CMCP__B64_STD, &b),
                   CMCP_ELIMIT);
  assert_int_equal(b.len, 0);
  assert_int_equal(cmcp__base64_decode("Zm9v", 4, CMCP__B64_STD, &b), 0);
  assert_memory_equal(b.data, "foo", 3);
  cmcp__buf_free(&b);
  assert_int_equal(cmcp__base64_encoded_len(SIZE_MAX, CMCP__B64_STD),
                   (size_t)-1);
}

/* Every byte value survives a round trip through both alphabets. */
static void base64_all_bytes_round_trip(void **state) {
  unsigned char bytes[256];
  cmcp__buf enc, dec;
  size_t i, len;
  int v;
  (void)state;
  for (i = 0; i < sizeof(bytes); i++)
    bytes[i] = (unsigned char)(255 - i);
  for (v = 0; v < 2; v++)
    for (len = 250; len <= 256; len++) {
      cmcp__buf_init(&enc, 1024);
      cmcp__buf_init(&dec, 1024);
      assert_int_equal(
          cmcp__base64_encode(bytes, len, (cmcp__b64_variant)v, &enc), 0);
      assert_int_equal(
          cmcp__base64_decode(enc.data, enc.len, (cmcp__b64_variant)v, &dec),
          0);
      assert_int_equal(dec.len, len);
      assert_memory_equal(dec.data, bytes, len);
      cmcp__buf_free(&enc);
      cmcp__buf_free(&dec);
    }
}

/* ---- sha256 ------------------------------------------------------------ */

static void sha256_vectors(void **state) {
  static const unsigned char abc[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  static const unsigned char empty[32] = {
      0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
      0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
      0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  unsigned char out[32];
  (void)state;
  assert_int_equal(cmcp__sha256("abc", 3, out), 0);
  assert_memory_equal(out, abc, 32);
  assert_int_equal(cmcp__sha256("", 0, out), 0);
  assert_memory_equal(out, empty, 32);
}

/* ---- sealer ------------------------------------------------------------ */

static cmcp__sealer_t *sealer(void) {
  cmcp__sealer_t *s = cmcp__sealer_new(k_key, 32);
  assert_non_null(s);
  return s;
}

/* Seals payload at NOW with a 60 s TTL into tok. */
static void seal_into(const cmcp__sealer_t *s, const char *payload,
                      const char *binding, cmcp__buf *tok) {
  cmcp__buf_init(tok, 4096);
  assert_int_equal(
      cmcp__seal_at(s, payload, strlen(payload), binding, 60000, NOW, tok), 0);
}

static void seal_round_trip(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf tok, out;
  size_t i;
  (void)state;
  seal_into(s, "{\"step\":2,\"answers\":[\"x\"]}", k_bind, &tok);
  assert_int_equal(tok.len, strlen(tok.data));
  for (i = 0; i < tok.len; i++) /* URL-safe, no padding */
    assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                           "yz0123456789-_",
                           tok.data[i]));
  cmcp__buf_init(&out, 4096);
  assert_int_equal(cmcp__unseal_at(s, tok.data, k_bind, NOW + 59999, &out), 0);
  assert_string_equal(out.data, "{\"step\":2,\"answers\":[\"x\"]}");
  /* The same token opens again (the caller handles replay if it must). */
  cmcp__buf_reset(&out);
  assert_int_equal(cmcp__unseal_at(s, tok.data, k_bind, NOW + 60000, &out), 0);
  cmcp__buf_free(&out);
  cmcp__buf_free(&tok);
  cmcp__sealer_free(s);
}

static void seal_empty_payload_and_null_binding(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf tok, out;
  (void)state;
  cmcp__buf_init(&tok, 4096);
  cmcp__buf_init(&out, 16);
  assert_int_equal(cmcp__seal_at(s, NULL, 0, NULL, 1, NOW, &tok), 0);
  assert_int_equal(cmcp__unseal_at(s, tok.data, "", NOW, &out), 0);
  assert_int_equal(out.len, 0);
  assert_int_equal(cmcp__unseal_at(s, tok.data, "x", NOW, &out), CMCP_ECRYPTO);
  cmcp__buf_free(&out);
  cmcp__buf_free(&tok);
  cmcp__sealer_free(s);
}

/* Every single-bit flip of the token text either breaks the base64 or
 * breaks the tag: nothing opens. */
static void seal_rejects_every_bit_flip(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf tok, out;
  size_t i;
  int bit;
  (void)state;
  seal_into(s, "cursor:offset=40", "tools/list", &tok);
  cmcp__buf_init(&out, 4096);
  for (i = 0; i < tok.len; i++)
    for (bit = 0; bit < 8; bit++) {
      char saved = tok.data[i];
      tok.data[i] = (char)(saved ^ (1 << bit));
      if (tok.data[i] != '\0')
        assert_int_equal(cmcp__unseal_at(s, tok.data, "tools/list", NOW, &out),
                         CMCP_ECRYPTO);
      tok.data[i] = saved;
    }
  assert_int_equal(out.len, 0);
  assert_int_equal(cmcp__unseal_at(s, tok.data, "tools/list", NOW, &out), 0);
  cmcp__buf_free(&out);
  cmcp__buf_free(&tok);
  cmcp__sealer_free(s);
}

/* Flipping any bit of the decoded bytes (re-encoded canonically) also
 * fails: this reaches the tag check for every byte, header included. */
static void seal_rejects_every_decoded_bit_flip(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf tok, raw, forged, out;
  size_t i;
  int bit;
  (void)state;
  seal_into(s, "state", k_bind, &tok);
  cmcp__buf_init(&raw, 4096);
  cmcp__buf_init(&out, 4096);
  assert_int_equal(cmcp__base64_decode(tok.data, tok.len, CMCP__B64_URL, &raw),
                   0);
  for (i = 0; i < raw.len; i++)
    for (bit = 0; bit < 8; bit++) {
      raw.data[i] = (char)(raw.data[i] ^ (1 << bit));
      cmcp__buf_init(&forged, 4096);
      assert_int_equal(
          cmcp__base64_encode(raw.data, raw.len, CMCP__B64_URL, &forged), 0);
      assert_int_equal(cmcp__unseal_at(s, forged.data, k_bind, NOW, &out),
                       CMCP_ECRYPTO);
      cmcp__buf_free(&forged);
      raw.data[i] = (char)(raw.data[i] ^ (1 << bit));
    }
  /* Truncated or extended tokens fail too. */
  for (i = 0; i < tok.len; i++) {
    char *cut = strndup(tok.data, i);
    assert_int_equal(cmcp__unseal_at(s, cut, k_bind, NOW, &out), CMCP_ECRYPTO);
    free(cut);
  }
  assert_int_equal(cmcp__buf_adds(&tok, "AA"), 0);
  assert_int_equal(cmcp__unseal_at(s, tok.data, k_bind, NOW, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(out.len, 0);
  cmcp__buf_free(&out);
  cmcp__buf_free(&raw);
  cmcp__buf_free(&tok);
  cmcp__sealer_free(s);
}

static void seal_rejects_wrong_key_and_binding(void **state) {
  cmcp__sealer_t *s = sealer(), *other, *random_key;
  cmcp__buf tok, out;
  char key2[32];
  (void)state;
  memcpy(key2, k_key, 32);
  key2[31] ^= 1;
  other = cmcp__sealer_new(key2, 32);
  random_key = cmcp__sealer_new(NULL, 0);
  assert_non_null(other);
  assert_non_null(random_key);
  seal_into(s, "payload", k_bind, &tok);
  cmcp__buf_init(&out, 4096);
  assert_int_equal(cmcp__unseal_at(other, tok.data, k_bind, NOW, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(cmcp__unseal_at(random_key, tok.data, k_bind, NOW, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(
      cmcp__unseal_at(s, tok.data, "tools/call\nweather\nX", NOW, &out),
      CMCP_ECRYPTO);
  assert_int_equal(cmcp__unseal_at(s, tok.data, NULL, NOW, &out), CMCP_ECRYPTO);
  assert_int_equal(out.len, 0);
  cmcp__buf_free(&out);
  cmcp__buf_free(&tok);
  cmcp__sealer_free(other);
  cmcp__sealer_free(random_key);
  cmcp__sealer_free(s);
}

/* A payload byte cannot slide into the binding: ("ab", "c") and ("a", "bc")
 * have different tags because the payload length is authenticated. */
static void seal_binding_boundary_is_fixed(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf t1, t2, raw, forged, out;
  (void)state;
  seal_into(s, "ab", "c", &t1);
  seal_into(s, "a", "bc", &t2);
  cmcp__buf_init(&raw, 256);
  cmcp__buf_init(&forged, 256);
  cmcp__buf_init(&out, 256);
  /* Splice t1's tag onto a token carrying payload "a". */
  assert_int_equal(cmcp__base64_decode(t1.data, t1.len, CMCP__B64_URL, &raw),
                   0);
  memmove(raw.data + 10, raw.data + 11, raw.len - 11);
  raw.len--;
  assert_int_equal(
      cmcp__base64_encode(raw.data, raw.len, CMCP__B64_URL, &forged), 0);
  assert_int_equal(cmcp__unseal_at(s, forged.data, "bc", NOW, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(cmcp__unseal_at(s, t2.data, "bc", NOW, &out), 0);
  assert_string_equal(out.data, "a");
  cmcp__buf_free(&out);
  cmcp__buf_free(&forged);
  cmcp__buf_free(&raw);
  cmcp__buf_free(&t2);
  cmcp__buf_free(&t1);
  cmcp__sealer_free(s);
}

static void seal_expiry(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf tok, out;
  (void)state;
  seal_into(s, "soon gone", k_bind, &tok);
  cmcp__buf_init(&out, 4096);
  assert_int_equal(cmcp__unseal_at(s, tok.data, k_bind, NOW + 60001, &out),
                   CMCP_EEXPIRED);
  assert_int_equal(cmcp__unseal_at(s, tok.data, k_bind, -1, &out),
                   CMCP_EEXPIRED);
  /* Tampering is reported as such even when the token is also expired. */
  assert_int_equal(cmcp__unseal_at(s, tok.data, "other", NOW + 60001, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(out.len, 0);
  cmcp__buf_free(&tok);
  /* The real clock: a token with a minute to live opens now, one sealed an
   * hour ago with a minute to live does not. */
  cmcp__buf_init(&tok, 4096);
  assert_int_equal(cmcp__seal(s, "x", 1, k_bind, 60000, &tok), 0);
  assert_int_equal(cmcp__unseal(s, tok.data, k_bind, &out), 0);
  assert_string_equal(out.data, "x");
  cmcp__buf_free(&tok);
  cmcp__buf_init(&tok, 4096);
  assert_int_equal(
      cmcp__seal_at(s, "x", 1, k_bind, 60000, cmcp__wall_ms() - 3600000, &tok),
      0);
  assert_int_equal(cmcp__unseal(s, tok.data, k_bind, &out), CMCP_EEXPIRED);
  cmcp__buf_free(&tok);
  cmcp__buf_free(&out);
  cmcp__sealer_free(s);
}

static void unseal_rejects_garbage(void **state) {
  static const char *const bad[] = {
      "",           "A",       "AA",           "not base64!",
      "====",       "AQ",      "AQAAAAAAAAAA", "Zm9vYmFy",
      "with space", "a+b/c==",
  };
  cmcp__sealer_t *s = sealer();
  cmcp__buf out, big;
  size_t i;
  (void)state;
  cmcp__buf_init(&out, 4096);
  for (i = 0; i < CMCP__ARRAY_SIZE(bad); i++)
    assert_int_equal(cmcp__unseal_at(s, bad[i], k_bind, NOW, &out),
                     CMCP_ECRYPTO);
  /* Longer than any token we would make. */
  cmcp__buf_init(&big, CMCP__SEAL_MAX_TOKEN + 8);
  for (i = 0; i < CMCP__SEAL_MAX_TOKEN + 4; i++)
    assert_int_equal(cmcp__buf_add(&big, "A", 1), 0);
  assert_int_equal(cmcp__unseal_at(s, big.data, k_bind, NOW, &out),
                   CMCP_ECRYPTO);
  assert_int_equal(out.len, 0);
  cmcp__buf_free(&big);
  cmcp__buf_free(&out);
  cmcp__sealer_free(s);
}

static void seal_argument_errors(void **state) {
  cmcp__sealer_t *s = sealer();
  cmcp__buf out, small;
  static char huge[CMCP__SEAL_MAX_TOKEN];
  (void)state;
  cmcp__buf_init(&out, 1 << 20);
  assert_null(cmcp__sealer_new(k_key, 15));
  assert_null(cmcp__sealer_new(k_key, 0));
  cmcp__sealer_free(NULL);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", 0, NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", -5, NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, NULL, 1, "", 1, NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(NULL, "x", 1, "", 1, NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", 1, NOW, NULL), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", INT64_MAX, NOW, &out),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", 1, -1, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__seal_at(s, huge, sizeof(huge), "", 1, NOW, &out),
                   CMCP_ELIMIT);
  assert_int_equal(cmcp__unseal_at(NULL, "x", "", NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__unseal_at(s, NULL, "", NOW, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__unseal_at(s, "x", "", NOW, NULL), CMCP_EINVAL);
  assert_int_equal(out.len, 0);
  /* Output limits: the token does not fit, then the payload does not. */
  cmcp__buf_init(&small, 8);
  assert_int_equal(cmcp__seal_at(s, "x", 1, "", 1, NOW, &small), CMCP_ELIMIT);
  assert_int_equal(small.len, 0);
  assert_int_equal(cmcp__seal_at(s, "0123456789", 10, "", 1, NOW, &out), 0);
  assert_int_equal(cmcp__unseal_at(s, out.data, "", NOW, &small), CMCP_ELIMIT);
  assert_int_equal(small.len, 0);
  cmcp__buf_free(&small);
  cmcp__buf_free(&out);
  cmcp__sealer_free(s);
}

/* One sealer shared by several threads: each seals and opens its own
 * payloads and must always get them back. */
static void *seal_worker(void *arg) {
  const cmcp__sealer_t *s = arg;
  char payload[32];
  cmcp__buf tok, out;
  int i, bad = 0;
  for (i = 0; i < 200; i++) {
    snprintf(payload, sizeof(payload), "p%p-%d", (void *)&tok, i);
    cmcp__buf_init(&tok, 4096);
    cmcp__buf_init(&out, 4096);
    bad |= cmcp__seal_at(s, payload, strlen(payload), k_bind, 1000, NOW,
                         &tok) != 0;
    bad |= cmcp__unseal_at(s, tok.data ? tok.data : "", k_bind, NOW, &out) != 0;
    bad |= out.data == NULL || strcmp(out.data, payload) != 0;
    cmcp__buf_free(&tok);
    cmcp__buf_free(&out);
  }
  return bad ? (void *)1 : NULL;
}

static void sealer_is_shareable_across_threads(void **state) {
  cmcp__sealer_t *s = sealer();
  pthread_t th[4];
  void *res;
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(th); i++)
    assert_int_equal(pthread_create(&th[i], NULL, seal_worker, s), 0);
  for (i = 0; i < CMCP__ARRAY_SIZE(th); i++) {
    assert_int_equal(pthread_join(th[i], &res), 0);
    assert_null(res);
  }
  cmcp__sealer_free(s);
}

/* ---- allocation failure ------------------------------------------------ */


/* One sealer + seal + unseal + base64 round with the Nth allocation failing;
 * returns 1 once the run needed fewer than N allocations. */
static int run_with_failure(int n) {
  cmcp__sealer_t *s;
  cmcp__buf tok, out;
  int rc;
  alloc_fail_arm(n);
  s = cmcp__sealer_new(k_key, 32);
  if (s == NULL)
    return 0;
  cmcp__buf_init(&tok, 4096);
  cmcp__buf_init(&out, 4096);
  rc = cmcp__seal_at(s, "payload", 7, k_bind, 1000, NOW, &tok);
  assert_true(rc == 0 || rc == CMCP_ENOMEM);
  assert_true(rc == 0 || tok.len == 0);
  if (rc == 0) {
    rc = cmcp__unseal_at(s, tok.data, k_bind, NOW, &out);
    assert_true(rc == 0 || rc == CMCP_ENOMEM);
    assert_true(rc != 0 || strcmp(out.data, "payload") == 0);
  }
  cmcp__buf_reset(&out);
  rc = cmcp__base64_decode("Zm9v", 4, CMCP__B64_STD, &out);
  assert_true(rc == 0 || rc == CMCP_ENOMEM);
  cmcp__buf_free(&tok);
  cmcp__buf_free(&out);
  cmcp__sealer_free(s);
  return alloc_fail_count() < n;
}

static void survives_every_allocation_failure(void **state) {
  int n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 100 && !run_with_failure(n); n++)
    ;
  alloc_fail_uninstall();
  assert_true(n < 100);
  assert_true(n > 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base64_rfc4648_vectors),
      cmocka_unit_test(base64_alphabets),
      cmocka_unit_test(base64_strict_decoding),
      cmocka_unit_test(base64_respects_buffer_limit),
      cmocka_unit_test(base64_all_bytes_round_trip),
      cmocka_unit_test(sha256_vectors),
      cmocka_unit_test(seal_round_trip),
      cmocka_unit_test(seal_empty_payload_and_null_binding),
      cmocka_unit_test(seal_rejects_every_bit_flip),
      cmocka_unit_test(seal_rejects_every_decoded_bit_flip),
      cmocka_unit_test(seal_rejects_wrong_key_and_binding),
      cmocka_unit_test(seal_binding_boundary_is_fixed),
      cmocka_unit_test(seal_expiry),
      cmocka_unit_test(unseal_rejects_garbage),
      cmocka_unit_test(seal_argument_errors),
      cmocka_unit_test(sealer_is_shareable_across_threads),
      cmocka_unit_test(survives_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
