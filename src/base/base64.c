/* src/base/base64.c: RFC 4648 base64 (standard and URL-safe alphabets) with
 * strict, canonical decoding. */
#include "base64.h"

#include <stdint.h>
#include <string.h>

static const char k_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char k_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in variant v, or -1 when c is not in its alphabet. */
static int b64_value(unsigned char c, cmcp__b64_variant v) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == (v == CMCP__B64_URL ? '-' : '+'))
    return 62;
  if (c == (v == CMCP__B64_URL ? '_' : '/'))
    return 63;
  return -1;
}

size_t cmcp__base64_encoded_len(size_t len, cmcp__b64_variant v) {
  size_t groups = len / 3, rest = len % 3;
  if (groups > (SIZE_MAX - 4) / 4)
    return (size_t)-1;
  if (rest == 0)
    return groups * 4;
  return groups * 4 + (v == CMCP__B64_URL ? rest + 1 : 4);
}

/* Writes the characters for in[0..n) (n is 1..3) to o; returns how many. */
static size_t encode_group(const unsigned char *in, size_t n, const char *abc,
                           int pad, char *o) {
  uint32_t w = (uint32_t)in[0] << 16;
  size_t k;
  if (n > 1)
    w |= (uint32_t)in[1] << 8;
  if (n > 2)
    w |= in[2];
  for (k = 0; k < 4; k++) {
    if (k <= n)
      o[k] = abc[(w >> (18 - 6 * k)) & 63];
    else if (pad)
      o[k] = '=';
    else
      break;
  }
  return k;
}

int cmcp__base64_encode(const void *data, size_t len, cmcp__b64_variant v,
                        cmcp__buf *out) {
  const unsigned char *in = data;
  const char *abc = v == CMCP__B64_URL ? k_url : k_std;
  size_t need = cmcp__base64_encoded_len(len, v), old = out->len, i;
  char chunk[4];
  int rc;
  if (need == (size_t)-1)
    return CMCP_ELIMIT;
  /* Reserve the whole text first so a limit failure leaves out untouched. */
  if (need > out->limit || old > out->limit - need)
    return CMCP_ELIMIT;
  for (i = 0; i < len; i += 3) {
    size_t n = len - i < 3 ? len - i : 3;
    size_t w = encode_group(in + i, n, abc, v == CMCP__B64_STD, chunk);
    rc = cmcp__buf_add(out, chunk, w);
    if (rc != 0)
      goto fail;
  }
  if (len == 0 && (rc = cmcp__buf_add(out, "", 0)) != 0)
    goto fail;
  return 0;
fail:
  out->len = old;
  if (out->data != NULL)
    out->data[old] = '\0';
  return rc;
}

/* Validates s[0..len) for variant v; on success stores the number of data
 * characters (without padding) in *nchars. */
static int b64_validate(const char *s, size_t len, cmcp__b64_variant v,
                        size_t *nchars) {
  size_t n = len, i;
  int last;
  if (v == CMCP__B64_STD) {
    if (len % 4 != 0)
      return CMCP_EPARSE;
    if (n > 0 && s[n - 1] == '=')
      n--;
    if (n > 0 && s[n - 1] == '=')
      n--;
  }
  if (n % 4 == 1)
    return CMCP_EPARSE;
  if (v == CMCP__B64_STD && len - n != (4 - n % 4) % 4)
    return CMCP_EPARSE;
  for (i = 0; i < n; i++)
    if (b64_value((unsigned char)s[i], v) < 0)
      return CMCP_EPARSE;
  /* Canonical form: the bits after the last whole byte must be zero. */
  if (n % 4 != 0) {
    last = b64_value((unsigned char)s[n - 1], v);
    if ((n % 4 == 2 && (last & 0x0f) != 0) ||
        (n % 4 == 3 && (last & 0x03) != 0))
      return CMCP_EPARSE;
  }
  *nchars = n;
  return 0;
}

int cmcp__base64_check(const char *s, size_t len, cmcp__b64_variant v,
                       size_t *decoded_len) {
  size_t n;
  int rc;
  if (s == NULL && len > 0)
    return CMCP_EPARSE;
  rc = b64_validate(s, len, v, &n);
  if (rc == 0 && decoded_len != NULL)
    *decoded_len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  return rc;
}

int cmcp__base64_decode(const char *s, size_t len, cmcp__b64_variant v,
                        cmcp__buf *out) {
  size_t n, dlen, i, old = out->len;
  unsigned char bytes[3];
  uint32_t w = 0;
  int rc = cmcp__base64_check(s, len, v, &dlen);
  if (rc != 0)
    return rc;
  if (dlen > out->limit || old > out->limit - dlen)
    return CMCP_ELIMIT;
  n = len;
  while (n > 0 && s[n - 1] == '=')
    n--;
  for (i = 0; i < n; i++) {
    w = (w << 6) | (uint32_t)b64_value((unsigned char)s[i], v);
    if (i % 4 == 3 || i == n - 1) {
      size_t chars = i % 4 + 1, k, nb = chars - 1;
      w <<= 6 * (4 - chars);
      for (k = 0; k < nb; k++)
        bytes[k] = (unsigned char)(w >> (16 - 8 * k));
      if ((rc = cmcp__buf_add(out, bytes, nb)) != 0)
        goto fail;
      w = 0;
    }
  }
  if (n == 0 && (rc = cmcp__buf_add(out, "", 0)) != 0)
    goto fail;
  return 0;
fail:
  out->len = old;
  if (out->data != NULL)
    out->data[old] = '\0';
  return rc;
}
