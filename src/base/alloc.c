/* src/base/alloc.c: allocator hooks and the status-code table. */
#include "base.h"

#include <stdlib.h>
#include <string.h>

static cmcp_malloc_fn g_malloc = malloc;
static cmcp_realloc_fn g_realloc = realloc;
static cmcp_calloc_fn g_calloc = calloc;
static cmcp_free_fn g_free = free;

int cmcp_set_allocator(cmcp_malloc_fn m, cmcp_realloc_fn r, cmcp_calloc_fn c,
                       cmcp_free_fn f) {
  if (m == NULL || r == NULL || c == NULL || f == NULL)
    return CMCP_EINVAL;
  g_malloc = m;
  g_realloc = r;
  g_calloc = c;
  g_free = f;
  return 0;
}

void *cmcp__malloc(size_t size) {
  return g_malloc(size ? size : 1);
}

void *cmcp__calloc(size_t count, size_t size) {
  return g_calloc(count ? count : 1, size ? size : 1);
}

void *cmcp__realloc(void *ptr, size_t size) {
  return g_realloc(ptr, size ? size : 1);
}

void cmcp__free(void *ptr) {
  if (ptr != NULL)
    g_free(ptr);
}

char *cmcp__strndup(const char *s, size_t n) {
  char *p;
  if (s == NULL)
    return NULL;
  p = cmcp__malloc(n + 1);
  if (p == NULL)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *cmcp__strdup(const char *s) {
  return s == NULL ? NULL : cmcp__strndup(s, strlen(s));
}

char **cmcp__strv_dup(const char *const *v, int *status) {
  size_t n = 0, i;
  char **out;
  *status = 0;
  if (v == NULL)
    return NULL;
  while (v[n] != NULL)
    n++;
  out = cmcp__calloc(n + 1, sizeof(*out));
  if (out == NULL)
    goto fail;
  for (i = 0; i < n; i++)
    if ((out[i] = cmcp__strdup(v[i])) == NULL)
      goto fail;
  return out;
fail:
  cmcp__strv_free(out);
  *status = CMCP_ENOMEM;
  return NULL;
}

void cmcp__strv_free(char **v) {
  size_t i;
  if (v == NULL)
    return;
  for (i = 0; v[i] != NULL; i++)
    cmcp__free(v[i]);
  cmcp__free(v);
}

const char *cmcp_strerror(int status) {
  switch (status) {
  case 0:
    return "success";
#define CMCP_XX(name, value, msg)                                              \
  case value:                                                                  \
    return msg;
    CMCP_ERRNO_MAP(CMCP_XX)
#undef CMCP_XX
  default:
    return "unknown status";
  }
}

const char *cmcp_err_name(int status) {
  switch (status) {
  case 0:
    return "CMCP_OK";
#define CMCP_XX(name, value, msg)                                              \
  case value:                                                                  \
    return "CMCP_" #name;
    CMCP_ERRNO_MAP(CMCP_XX)
#undef CMCP_XX
  default:
    return "CMCP_UNKNOWN";
  }
}
