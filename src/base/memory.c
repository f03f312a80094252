/* src/base/memory.c: the resident set and the process memory budget (see
 * memory.h). Linux reads /proc and /sys; elsewhere the resident set is
 * unknown and no budget applies. */
#include "base/memory.h"

#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PATH_BYTES 512

static atomic_llong rss_sample = -1; /* bytes, -1: unknown */
static atomic_ullong rss_sampled_at; /* cmcp__now_ms() + 1, 0: never */

/* Reads up to n - 1 bytes of a small file into buf, NUL-terminated.
 * Returns the length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n) {
  ssize_t got = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  do
    got = read(fd, buf, n - 1);
  while (got < 0 && errno == EINTR);
  close(fd);
  if (got < 0)
    return -1;
  buf[got] = '\0';
  return got;
}

/* The leading decimal number of text (spaces before it allowed); -1 when
 * there is none or it does not fit. */
static int64_t leading_number(const char *text, const char **end) {
  char *e = NULL;
  long long v;
  errno = 0;
  v = strtoll(text, &e, 10);
  if (e == text || errno != 0 || v < 0)
    return -1;
  if (end != NULL)
    *end = e;
  return (int64_t)v;
}

int64_t cmcp__mem_rss(void) {
  char buf[256];
  const char *p;
  int64_t pages;
  long page = sysconf(_SC_PAGESIZE);
  /* statm: size resident shared text lib data dt, in pages. */
  if (page <= 0 || read_small("/proc/self/statm", buf, sizeof buf) <= 0 ||
      leading_number(buf, &p) < 0)
    return -1;
  pages = leading_number(p, NULL);
  if (pages < 0 || pages > INT64_MAX / page)
    return -1;
  return pages * page;
}

int64_t cmcp__mem_rss_recent(void) {
  unsigned long long now = cmcp__now_ms() + 1;
  unsigned long long at = atomic_load(&rss_sampled_at);
  /* One thread wins the exchange and samples; the others keep the last
   * value meanwhile. */
  if ((at == 0 || now - at >= CMCP__MEM_SAMPLE_MS) &&
      atomic_compare_exchange_strong(&rss_sampled_at, &at, now))
    atomic_store(&rss_sample, cmcp__mem_rss());
  return atomic_load(&rss_sample);
}

/* The number in a cgroup limit file; -1 for "max", a missing file or
 * anything else. */
static int64_t cgroup_limit_file(const char *path) {
  char buf[64];
  if (read_small(path, buf, sizeof buf) <= 0)
    return -1;
  return leading_number(buf, NULL);
}

/* Keeps the smaller of *best and v (v < 0: no limit). */
static void keep_min(int64_t *best, int64_t v) {
  if (v > 0 && (*best < 0 || v < *best))
    *best = v;
}

/* The cgroup v2 limit of this process: the smallest memory.max of its
 * cgroup and of each ancestor. -1 when none is set. */
static int64_t cgroup2_limit(const char *cg) {
  char rel[PATH_BYTES], path[PATH_BYTES + sizeof CGROUP_ROOT + 16];
  int64_t best = -1;
  size_t n = strcspn(cg, "\n");
  char *slash;
  if (n >= sizeof rel)
    return -1;
  memcpy(rel, cg, n);
  rel[n] = '\0';
  for (;;) { /* at most one turn per path component */
    snprintf(path, sizeof path, "%s%s/memory.max", CGROUP_ROOT,
             strcmp(rel, "/") == 0 ? "" : rel);
    keep_min(&best, cgroup_limit_file(path));
    slash = strrchr(rel, '/');
    if (slash == NULL || slash == rel)
      break;
    *slash = '\0';
  }
  if (strcmp(rel, "/") != 0) {
    snprintf(path, sizeof path, "%s/memory.max", CGROUP_ROOT);
    keep_min(&best, cgroup_limit_file(path));
  }
  return best;
}

/* The memory limit of this process's cgroup (v2, else v1); -1 if none. */
static int64_t cgroup_limit(void) {
  char buf[2048];
  const char *v2, *v1;
  int64_t best = -1;
  if (read_small("/proc/self/cgroup", buf, sizeof buf) <= 0)
    return -1;
  v2 = strncmp(buf, "0::", 3) == 0 ? buf + 3 : strstr(buf, "\n0::");
  if (v2 != NULL && v2 != buf + 3)
    v2 += 4;
  if (v2 != NULL)
    keep_min(&best, cgroup2_limit(v2));
  v1 = strstr(buf, ":memory:");
  if (v1 != NULL) {
    char path[PATH_BYTES + sizeof CGROUP_ROOT + 32];
    int n = (int)strcspn(v1 + 8, "\n");
    if (n < PATH_BYTES) {
      snprintf(path, sizeof path, "%s/memory%.*s/memory.limit_in_bytes",
               CGROUP_ROOT, n, v1 + 8);
      keep_min(&best, cgroup_limit_file(path));
    }
    keep_min(&best,
             cgroup_limit_file(CGROUP_ROOT "/memory/memory.limit_in_bytes"));
  }
  return best;
}

int64_t cmcp__mem_available(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  int64_t phys = -1;
  if (pages > 0 && page > 0 && (int64_t)pages <= INT64_MAX / page)
    phys = (int64_t)pages * page;
  keep_min(&phys, cgroup_limit());
  return phys;
}

int64_t cmcp__mem_default_budget(void) {
  int64_t avail = cmcp__mem_available();
  if (avail <= 0)
    return INT64_MAX;
  return avail / 100 * CMCP__MEM_DEFAULT_PERCENT;
}

int cmcp__mem_over(int64_t budget, char *text, size_t textlen) {
  int64_t rss;
  if (budget <= 0 || budget == INT64_MAX)
    return 0;
  rss = cmcp__mem_rss_recent();
  if (rss < 0 || rss <= budget)
    return 0;
  if (text != NULL && textlen > 0)
    snprintf(text, textlen,
             "Server overloaded: process memory %lld bytes is above its "
             "budget of %lld bytes (CMCP_LIMIT_MEMORY_BYTES, --max-memory); "
             "retry later",
             (long long)rss, (long long)budget);
  return 1;
}

int cmcp__mem_spares(const char *method) {
  return method != NULL && (strcmp(method, "ping") == 0 ||
                            strcmp(method, "resources/unsubscribe") == 0 ||
                            strncmp(method, "tasks/", 6) == 0);
}
