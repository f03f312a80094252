/* src/base/log.c: diagnostics log, log-level names, clock, randomness. */
#include "base.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static cmcp_log_level_t g_threshold = CMCP_LOG_WARNING;
static cmcp_log_sink_fn g_sink;
static void *g_sink_data;

static const char *const level_names[] = {"debug",   "info",     "notice",
                                          "warning", "error",    "critical",
                                          "alert",   "emergency"};

const char *cmcp_log_level_name(cmcp_log_level_t level) {
  if ((unsigned)level >= CMCP__ARRAY_SIZE(level_names))
    return NULL;
  return level_names[level];
}

int cmcp_log_level_parse(const char *name, cmcp_log_level_t *out) {
  size_t i;
  if (name == NULL)
    return CMCP_EINVAL;
  for (i = 0; i < CMCP__ARRAY_SIZE(level_names); i++) {
    if (strcmp(name, level_names[i]) == 0) {
      *out = (cmcp_log_level_t)i;
      return 0;
    }
  }
  if (strcmp(name, "off") == 0) {
    *out = CMCP_LOG_OFF;
    return 0;
  }
  return CMCP_EINVAL;
}

void cmcp_log_set_threshold(cmcp_log_level_t level) {
  g_threshold = level;
}

void cmcp_log_set_sink(cmcp_log_sink_fn sink, void *data) {
  g_sink = sink;
  g_sink_data = data;
}

int cmcp__log_enabled(cmcp_log_level_t level) {
  return level != CMCP_LOG_OFF && level >= g_threshold;
}

void cmcp__log(cmcp_log_level_t level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (!cmcp__log_enabled(level))
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_sink != NULL) {
    g_sink(level, msg, g_sink_data);
    return;
  }
  fprintf(stderr, "cmcp %s: %s\n", cmcp_log_level_name(level), msg);
}

uint64_t cmcp__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cmcp__now_ms(void) {
  return cmcp__now_ns() / 1000000u;
}

int64_t cmcp__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmcp__random(void *buf, size_t len) {
  if (len > (size_t)INT32_MAX)
    return CMCP_EINVAL;
  return RAND_bytes(buf, (int)len) == 1 ? 0 : CMCP_ECRYPTO;
}

const char *const *cmcp_protocol_versions(void) {
  static const char *const versions[] = {"2026-07-28", "2025-11-25",
                                         "2025-06-18", "2025-03-26",
                                         "2024-11-05", NULL};
  return versions;
}
