/* cmcp/common.h: status codes, allocator hooks, logging, versions.
 *
 * Status codes are negative integers from one table (CMCP_ERRNO_MAP); 0 is
 * success. The table is only ever appended to. JSON-RPC error codes (the
 * CMCP_JSONRPC_* constants) are a separate domain: they travel on the wire,
 * status codes never do.
 */
#ifndef CMCP_COMMON_H
#define CMCP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CMCP_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define CMCP_EXTERN __attribute__((visibility("default")))
#else
#define CMCP_EXTERN
#endif

#define CMCP_VERSION_MAJOR 0
#define CMCP_VERSION_MINOR 1
#define CMCP_VERSION_PATCH 0
#define CMCP_VERSION_STRING "0.1.0"

/* XX(name, value, message). Append only. */
#define CMCP_ERRNO_MAP(XX)                                                     \
  XX(ENOMEM, -1, "out of memory")                                              \
  XX(EINVAL, -2, "invalid argument")                                           \
  XX(EEXIST, -3, "already exists")                                             \
  XX(ENOENT, -4, "not found")                                                  \
  XX(ELIMIT, -5, "a configured limit was reached")                             \
  XX(EPARSE, -6, "malformed input")                                            \
  XX(ESTATE, -7, "operation not valid in the current state")                   \
  XX(EIO, -8, "input/output error")                                            \
  XX(ECLOSED, -9, "connection or call already closed")                         \
  XX(ETIMEDOUT, -10, "timed out")                                              \
  XX(ECANCELED, -11, "canceled")                                               \
  XX(ECRYPTO, -12, "cryptographic failure or tampered data")                   \
  XX(EEXPIRED, -13, "expired")                                                 \
  XX(EPROTO, -14, "protocol error")                                            \
  XX(EUNSUPPORTED, -15, "not supported")                                       \
  XX(EBUSY, -16, "resource busy")                                             \
  XX(ERPC, -17, "the peer answered with a JSON-RPC error")

typedef enum {
#define CMCP_XX(name, value, msg) CMCP_##name = (value),
  CMCP_ERRNO_MAP(CMCP_XX)
#undef CMCP_XX
      CMCP_OK = 0
} cmcp_status_t;

/* A static, human-readable message for a status code; never NULL. */
CMCP_EXTERN const char *cmcp_strerror(int status);
/* The symbolic name ("CMCP_ENOMEM") of a status code; never NULL. */
CMCP_EXTERN const char *cmcp_err_name(int status);

/* JSON-RPC and MCP error codes (the wire domain). */
enum {
  CMCP_JSONRPC_PARSE_ERROR = -32700,
  CMCP_JSONRPC_INVALID_REQUEST = -32600,
  CMCP_JSONRPC_METHOD_NOT_FOUND = -32601,
  CMCP_JSONRPC_INVALID_PARAMS = -32602,
  CMCP_JSONRPC_INTERNAL_ERROR = -32603,
  CMCP_MCP_URL_ELICITATION_REQUIRED = -32042, /* 2025-11-25 */
  CMCP_MCP_HEADER_MISMATCH = -32020,          /* 2026-07-28 */
  CMCP_MCP_MISSING_CAPABILITY = -32021,       /* 2026-07-28 */
  CMCP_MCP_UNSUPPORTED_VERSION = -32022,      /* 2026-07-28 */
  CMCP_MCP_SERVER_OVERLOADED = -32000         /* implementation-defined */
};

/* Allocator hooks. Set them before any other cmcp call; all four must be
 * given. Returns CMCP_EINVAL if one is NULL. The library never aborts on an
 * allocation failure: it returns CMCP_ENOMEM (or NULL) instead. */
typedef void *(*cmcp_malloc_fn)(size_t size);
typedef void *(*cmcp_realloc_fn)(void *ptr, size_t size);
typedef void *(*cmcp_calloc_fn)(size_t count, size_t size);
typedef void (*cmcp_free_fn)(void *ptr);
CMCP_EXTERN int cmcp_set_allocator(cmcp_malloc_fn m, cmcp_realloc_fn r,
                                   cmcp_calloc_fn c, cmcp_free_fn f);

/* Log levels, in the order of RFC 5424 as MCP uses them. */
typedef enum {
  CMCP_LOG_DEBUG = 0,
  CMCP_LOG_INFO,
  CMCP_LOG_NOTICE,
  CMCP_LOG_WARNING,
  CMCP_LOG_ERROR,
  CMCP_LOG_CRITICAL,
  CMCP_LOG_ALERT,
  CMCP_LOG_EMERGENCY,
  CMCP_LOG_OFF /* no level: nothing is sent */
} cmcp_log_level_t;

/* "debug" ... "emergency"; NULL for CMCP_LOG_OFF or out of range. */
CMCP_EXTERN const char *cmcp_log_level_name(cmcp_log_level_t level);
/* Parses a level name; returns CMCP_EINVAL for an unknown name. */
CMCP_EXTERN int cmcp_log_level_parse(const char *name, cmcp_log_level_t *out);

/* The process-wide diagnostic log (stderr by default; never stdout, which
 * belongs to the stdio transport). Messages below the threshold are dropped. */
CMCP_EXTERN void cmcp_log_set_threshold(cmcp_log_level_t level);
typedef void (*cmcp_log_sink_fn)(cmcp_log_level_t level, const char *msg,
                                 void *data);
CMCP_EXTERN void cmcp_log_set_sink(cmcp_log_sink_fn sink, void *data);

/* Protocol versions this library speaks, newest first, NULL-terminated. */
CMCP_EXTERN const char *const *cmcp_protocol_versions(void);
#define CMCP_PROTOCOL_MODERN "2026-07-28"
#define CMCP_PROTOCOL_LEGACY_LATEST "2025-11-25"

#ifdef __cplusplus
}
#endif
#endif /* CMCP_COMMON_H */
