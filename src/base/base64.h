/* src/base/base64.h: RFC 4648 base64, standard and URL-safe, with strict
 * decoding. Internal. */
#ifndef CMCP_BASE_BASE64_H
#define CMCP_BASE_BASE64_H

#include "base.h"

#include <stddef.h>

typedef enum {
  CMCP__B64_STD = 0, /* alphabet A-Z a-z 0-9 + /, '=' padding required */
  CMCP__B64_URL = 1  /* alphabet A-Z a-z 0-9 - _, no padding (RFC 4648 s5) */
} cmcp__b64_variant;

/* Number of characters cmcp__base64_encode produces for len bytes (without
 * the NUL); (size_t)-1 if that does not fit in a size_t. */
size_t cmcp__base64_encoded_len(size_t len, cmcp__b64_variant v);

/* Appends the base64 text of data[0..len) to out (NUL-terminated as every
 * cmcp__buf). Returns 0, CMCP_ELIMIT or CMCP_ENOMEM; on error out keeps its
 * previous contents. */
int cmcp__base64_encode(const void *data, size_t len, cmcp__b64_variant v,
                        cmcp__buf *out);

/* Checks that s[0..len) is canonical base64 of variant v: only alphabet
 * characters (no whitespace, no other alphabet), STD length a multiple of 4
 * with 0-2 '=' only at the end, URL no '=' and length % 4 != 1, and the
 * unused trailing bits zero. On success returns 0 and, if decoded_len is not
 * NULL, stores the decoded size; CMCP_EPARSE otherwise. The empty string is
 * valid (zero bytes). */
int cmcp__base64_check(const char *s, size_t len, cmcp__b64_variant v,
                       size_t *decoded_len);

/* Decodes s[0..len) (same rules as cmcp__base64_check) appending the bytes
 * to out. Returns 0, CMCP_EPARSE, CMCP_ELIMIT or CMCP_ENOMEM; on error out
 * keeps its previous contents. */
int cmcp__base64_decode(const char *s, size_t len, cmcp__b64_variant v,
                        cmcp__buf *out);

#endif /* CMCP_BASE_BASE64_H */
