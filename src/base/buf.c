/* src/base/buf.c: the bounded growable buffer. */
#include "base.h"

#include <stdio.h>
#include <string.h>

void cmcp__buf_init(cmcp__buf *b, size_t limit) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->limit = limit ? limit : 1;
}

/* Makes room for n more bytes plus a NUL, doubling up to the limit. */
static int buf_reserve(cmcp__buf *b, size_t n) {
  size_t need, cap;
  char *p;
  if (n > b->limit || b->len > b->limit - n)
    return CMCP_ELIMIT;
  need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  if (cap > b->limit + 1)
    cap = b->limit + 1;
  p = cmcp__realloc(b->data, cap);
  if (p == NULL)
    return CMCP_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int cmcp__buf_add(cmcp__buf *b, const void *p, size_t n) {
  int rc = buf_reserve(b, n);
  if (rc != 0)
    return rc;
  if (n > 0)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int cmcp__buf_adds(cmcp__buf *b, const char *s) {
  return cmcp__buf_add(b, s, strlen(s));
}

int cmcp__buf_printf(cmcp__buf *b, const char *fmt, ...) {
  va_list ap;
  int n, rc;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return CMCP_EINVAL;
  rc = buf_reserve(b, (size_t)n);
  if (rc != 0)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void cmcp__buf_consume(cmcp__buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data != NULL)
    b->data[b->len] = '\0';
}

void cmcp__buf_reset(cmcp__buf *b) {
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

void cmcp__buf_free(cmcp__buf *b) {
  cmcp__free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

char *cmcp__buf_take(cmcp__buf *b, size_t *len) {
  char *p = b->data;
  if (p == NULL)
    p = cmcp__strdup("");
  if (len != NULL)
    *len = b->len;
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}
