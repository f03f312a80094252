/* tests/unit/helper_alloc.c: see helper_alloc.h. */
#include "helper_alloc.h"

#include <cmcp.h>
#include <stdlib.h>

static long g_count, g_fail_at;

static int should_fail(void) {
  return ++g_count == g_fail_at;
}
static void *fail_malloc(size_t n) {
  return should_fail() ? NULL : malloc(n);
}
static void *fail_realloc(void *p, size_t n) {
  return should_fail() ? NULL : realloc(p, n);
}
static void *fail_calloc(size_t c, size_t n) {
  return should_fail() ? NULL : calloc(c, n);
}

void alloc_fail_install(void) {
  alloc_fail_arm(0);
  cmcp_set_allocator(fail_malloc, fail_realloc, fail_calloc, free);
}

void alloc_fail_uninstall(void) {
  alloc_fail_arm(0);
  cmcp_set_allocator(malloc, realloc, calloc, free);
}

void alloc_fail_arm(long n) {
  g_count = 0;
  g_fail_at = n;
}

long alloc_fail_count(void) {
  return g_count;
}
