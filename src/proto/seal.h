/* src/proto/seal.h: sealed (authenticated, expiring) opaque tokens, and
 * SHA-256. Internal.
 *
 * A token is the URL-safe base64 (no padding) of
 *   version (1 byte, 1) | expiry (8 bytes, big-endian ms since the epoch) |
 *   payload | HMAC-SHA256 tag (32 bytes)
 * where the tag covers version, expiry, the payload length, the payload and a
 * caller-given binding string that is not in the token. Used for the
 * 2026-07-28 MRTR requestState (bound to method + tool name + a hash of the
 * arguments so it cannot be replayed on another request) and for opaque list
 * cursors (bound to the list method). Payloads are authenticated, not
 * encrypted: never seal secrets. */
#ifndef CMCP_PROTO_SEAL_H
#define CMCP_PROTO_SEAL_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

#define CMCP__SEAL_MIN_KEY 16      /* shortest key cmcp__sealer_new accepts */
#define CMCP__SEAL_MAX_TOKEN 65536 /* longest token cmcp__unseal considers */

/* Holds a copy of the key; immutable once made, so any number of threads may
 * seal and unseal with one sealer at the same time. */
typedef struct cmcp__sealer cmcp__sealer_t;

/* A sealer with a copy of key[0..len). len < 16 gives NULL. A NULL key means
 * 32 fresh random bytes (tokens then only open in this process). NULL also
 * on ENOMEM or when OpenSSL has no HMAC. */
cmcp__sealer_t *cmcp__sealer_new(const void *key, size_t len);
/* Wipes and frees the key. NULL is a no-op. */
void cmcp__sealer_free(cmcp__sealer_t *s);

/* Seals payload[0..len) bound to binding (NULL means ""), valid for ttl_ms
 * from now, and appends the NUL-terminated token to out. Returns 0,
 * CMCP_EINVAL (ttl_ms <= 0, NULL sealer or out, NULL payload with len > 0,
 * a clock before the epoch or an expiry past INT64_MAX),
 * CMCP_ELIMIT (token over CMCP__SEAL_MAX_TOKEN or out's limit), CMCP_ENOMEM,
 * CMCP_ECRYPTO (OpenSSL failure). On error out keeps its previous contents. */
int cmcp__seal(const cmcp__sealer_t *s, const void *payload, size_t len,
               const char *binding, int64_t ttl_ms, cmcp__buf *out);

/* Opens token with binding (NULL means ""). Returns CMCP_ECRYPTO if the token
 * is malformed, too long or its tag does not verify (tampered, other key,
 * other binding; tags are compared in constant time), CMCP_EEXPIRED if it
 * verifies but now is past its expiry, else 0 with the payload appended to
 * out (CMCP_ELIMIT / CMCP_ENOMEM if it does not fit). CMCP_EINVAL on NULL
 * sealer, token or out. On error out keeps its previous contents. */
int cmcp__unseal(const cmcp__sealer_t *s, const char *token,
                 const char *binding, cmcp__buf *out);

/* The same two with the clock given (ms since the epoch), for tests and for
 * callers that already read the time. */
int cmcp__seal_at(const cmcp__sealer_t *s, const void *payload, size_t len,
                  const char *binding, int64_t ttl_ms, int64_t now_ms,
                  cmcp__buf *out);
int cmcp__unseal_at(const cmcp__sealer_t *s, const char *token,
                    const char *binding, int64_t now_ms, cmcp__buf *out);

/* out = SHA-256 of data[0..len). Returns 0, or CMCP_ECRYPTO if OpenSSL
 * fails (out is then zeroed). */
int cmcp__sha256(const void *data, size_t len, unsigned char out[32]);

#endif /* CMCP_PROTO_SEAL_H */
