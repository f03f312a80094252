/* libFuzzer target for sealed tokens and base64 (src/proto/seal.c,
 * src/base/base64.c). Any input opened as a token must be refused without a
 * crash (a forgery would need the key); strict base64 must be canonical, so
 * whatever decodes re-encodes to the same text; and sealing the input must
 * open again to the same bytes. */
#include "base/base64.h"
#include "proto/seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The clock the corpus tokens were made at. */
#define FUZZ_NOW 1790000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cmcp__sealer_t *fuzz_sealer(void) {
  static cmcp__sealer_t *s;
  if (s == NULL)
    s = cmcp__sealer_new("cmcp fuzz key, thirty-two bytes!", 32);
  if (s == NULL)
    abort();
  return s;
}

/* decode then encode must give s back; a failed check must fail decode. */
static void check_base64(const char *s, size_t len, cmcp__b64_variant v) {
  cmcp__buf dec, enc;
  size_t n;
  int ok = cmcp__base64_check(s, len, v, &n) == 0;
  cmcp__buf_init(&dec, len + 1);
  cmcp__buf_init(&enc, len + 4);
  if ((cmcp__base64_decode(s, len, v, &dec) == 0) != ok)
    abort();
  if (ok &&
      (dec.len != n || cmcp__base64_encode(dec.data, dec.len, v, &enc) != 0 ||
       enc.len != len || memcmp(enc.data, s, len) != 0))
    abort();
  cmcp__buf_free(&dec);
  cmcp__buf_free(&enc);
}

/* Seals data and opens it again. */
static void check_round_trip(const uint8_t *data, size_t size) {
  cmcp__buf tok, out;
  cmcp__buf_init(&tok, 1 << 20);
  cmcp__buf_init(&out, 1 << 20);
  if (cmcp__seal_at(fuzz_sealer(), data, size, "b", 1000, FUZZ_NOW, &tok) ==
      0) {
    if (cmcp__unseal_at(fuzz_sealer(), tok.data, "b", FUZZ_NOW, &out) != 0 ||
        out.len != size || (size > 0 && memcmp(out.data, data, size) != 0))
      abort();
  }
  cmcp__buf_free(&tok);
  cmcp__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = cmcp__strndup((const char *)data, size);
  cmcp__buf out;
  int rc;
  if (text == NULL)
    return 0;
  cmcp__buf_init(&out, 1 << 20);
  rc = cmcp__unseal_at(fuzz_sealer(), text, "tools/list", FUZZ_NOW, &out);
  if (rc != 0 && rc != CMCP_ECRYPTO && rc != CMCP_EEXPIRED)
    abort();
  if (rc != 0 && out.len != 0)
    abort();
  cmcp__buf_free(&out);
  check_base64((const char *)data, size, CMCP__B64_STD);
  check_base64((const char *)data, size, CMCP__B64_URL);
  check_round_trip(data, size);
  cmcp__free(text);
  return 0;
}
