/* src/base/base.h: allocator, bounded buffers, logging and clock used
 * throughout libcmcp. Internal. */
#ifndef CMCP_BASE_H
#define CMCP_BASE_H

#include "cmcp/common.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- allocator (goes through cmcp_set_allocator's hooks) --------------- */
void *cmcp__malloc(size_t size);
void *cmcp__calloc(size_t count, size_t size);
void *cmcp__realloc(void *ptr, size_t size);
void cmcp__free(void *ptr);
/* A copy of s (NULL gives NULL), or NULL on ENOMEM. */
char *cmcp__strdup(const char *s);
char *cmcp__strndup(const char *s, size_t n);
/* A deep copy of a NULL-terminated string list. NULL gives NULL with
 * *status 0; on ENOMEM, NULL with *status CMCP_ENOMEM (nothing leaks). */
char **cmcp__strv_dup(const char *const *v, int *status);
/* Frees a list from cmcp__strv_dup and its strings. NULL is ignored. */
void cmcp__strv_free(char **v);

/* ---- bounded growable buffer (curl's dynbuf idea) ---------------------- */
typedef struct cmcp__buf {
  char *data;   /* NUL-terminated when len > 0 */
  size_t len;   /* bytes in use */
  size_t cap;   /* bytes allocated */
  size_t limit; /* most bytes it may ever hold (> 0) */
} cmcp__buf;

/* Sets up an empty buffer that will refuse to grow past limit bytes. */
void cmcp__buf_init(cmcp__buf *b, size_t limit);
/* Appends n bytes. CMCP_ELIMIT past the limit (nothing appended),
 * CMCP_ENOMEM when memory runs out. */
int cmcp__buf_add(cmcp__buf *b, const void *p, size_t n);
int cmcp__buf_adds(cmcp__buf *b, const char *s);
int cmcp__buf_printf(cmcp__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void cmcp__buf_consume(cmcp__buf *b, size_t n);
void cmcp__buf_reset(cmcp__buf *b); /* len = 0, memory kept */
void cmcp__buf_free(cmcp__buf *b);  /* memory released, limit kept */
/* Hands the bytes to the caller (free with cmcp__free); buffer empties. */
char *cmcp__buf_take(cmcp__buf *b, size_t *len);

/* ---- logging (stderr or the user's sink) ------------------------------- */
void cmcp__log(cmcp_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cmcp__log_enabled(cmcp_log_level_t level);

/* ---- clock ------------------------------------------------------------- */
uint64_t cmcp__now_ms(void); /* monotonic milliseconds */
uint64_t cmcp__now_ns(void); /* monotonic nanoseconds */
int64_t cmcp__wall_ms(void); /* milliseconds since the Unix epoch */

/* ---- randomness -------------------------------------------------------- */
/* Fills buf with cryptographically secure random bytes. */
int cmcp__random(void *buf, size_t len);

/* ---- misc -------------------------------------------------------------- */
#define CMCP__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CMCP__UNUSED(x) ((void)(x))

#endif /* CMCP_BASE_H */
