/* src/transport/sse.c: Server-Sent Events framing (see sse.h). */
#include "transport/sse.h"

#include <stdio.h>
#include <string.h>

#define NUM_DIGITS_MAX 19

/* 1 if s holds no CR, LF (a field value cannot carry them). */
static int field_ok(const char *s) {
  return strpbrk(s, "\r\n") == NULL;
}

/* Appends "name: value\n". */
static int add_field(cmcp__buf *out, const char *name, const char *value) {
  int rc = cmcp__buf_adds(out, name);
  if (rc == 0)
    rc = cmcp__buf_add(out, ": ", 2);
  if (rc == 0)
    rc = cmcp__buf_adds(out, value);
  if (rc == 0)
    rc = cmcp__buf_add(out, "\n", 1);
  return rc;
}

/* Appends data as "data: line\n" lines, splitting on LF, CRLF and CR. */
static int add_data(cmcp__buf *out, const char *data, size_t len) {
  size_t i = 0, start = 0;
  int rc = 0;
  for (;;) {
    if (i == len || data[i] == '\n' || data[i] == '\r') {
      rc = cmcp__buf_add(out, "data: ", 6);
      if (rc == 0 && i > start)
        rc = cmcp__buf_add(out, data + start, i - start);
      if (rc == 0)
        rc = cmcp__buf_add(out, "\n", 1);
      if (rc != 0 || i == len)
        return rc;
      if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
        i++;
      start = ++i;
      if (i == len) /* a trailing line break ends the last line */
        return 0;
      continue;
    }
    i++;
  }
}

/* Restores out to old_len bytes after a failed append. */
static int undo(cmcp__buf *out, size_t old_len, int rc) {
  if (out->len > old_len) {
    out->len = old_len;
    if (out->data != NULL)
      out->data[old_len] = '\0';
  }
  return rc;
}

int cmcp__sse_event(cmcp__buf *out, const char *id, const char *event,
                    const char *data, size_t len) {
  size_t old = out->len;
  int rc = 0;
  if ((id != NULL && !field_ok(id)) || (event != NULL && !field_ok(event)))
    return CMCP_EINVAL;
  if (id != NULL)
    rc = add_field(out, "id", id);
  if (rc == 0 && event != NULL)
    rc = add_field(out, "event", event);
  if (rc == 0)
    rc = add_data(out, data != NULL ? data : "", data != NULL ? len : 0);
  if (rc == 0)
    rc = cmcp__buf_add(out, "\n", 1);
  return rc == 0 ? 0 : undo(out, old, rc);
}

int cmcp__sse_priming(cmcp__buf *out, const char *id, uint32_t retry_ms) {
  size_t old = out->len;
  char retry[16];
  int rc;
  if (id == NULL || !field_ok(id))
    return CMCP_EINVAL;
  rc = add_field(out, "id", id);
  if (rc == 0 && retry_ms > 0) {
    snprintf(retry, sizeof retry, "%u", (unsigned)retry_ms);
    rc = add_field(out, "retry", retry);
  }
  if (rc == 0)
    rc = cmcp__buf_add(out, "data: \n\n", 8);
  return rc == 0 ? 0 : undo(out, old, rc);
}

int cmcp__sse_comment(cmcp__buf *out, const char *text) {
  size_t old = out->len;
  int rc;
  if (text != NULL && !field_ok(text))
    return CMCP_EINVAL;
  if (text == NULL || *text == '\0')
    return cmcp__buf_add(out, ":\n\n", 3);
  rc = cmcp__buf_add(out, ": ", 2);
  if (rc == 0)
    rc = cmcp__buf_adds(out, text);
  if (rc == 0)
    rc = cmcp__buf_add(out, "\n\n", 2);
  return rc == 0 ? 0 : undo(out, old, rc);
}

int cmcp__sse_id_format(char *buf, size_t size, uint64_t stream, uint64_t seq) {
  int n;
  /* 10^19 - 1 is the largest 19-digit number. */
  if (stream > 9999999999999999999ULL || seq > 9999999999999999999ULL)
    return CMCP_EINVAL;
  n = snprintf(buf, size, "%llu-%llu", (unsigned long long)stream,
               (unsigned long long)seq);
  if (n < 0 || (size_t)n >= size)
    return CMCP_EINVAL;
  return n;
}

/* Parses one number of an id at *p, advancing *p past it. */
static int parse_num(const char **p, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  size_t n = 0;
  while (s[n] >= '0' && s[n] <= '9') {
    if (n == NUM_DIGITS_MAX)
      return CMCP_EPARSE;
    v = v * 10 + (uint64_t)(s[n] - '0');
    n++;
  }
  if (n == 0 || (n > 1 && s[0] == '0'))
    return CMCP_EPARSE;
  *p = s + n;
  *out = v;
  return 0;
}

int cmcp__sse_id_parse(const char *s, uint64_t *stream, uint64_t *seq) {
  uint64_t a, b;
  if (s == NULL || parse_num(&s, &a) != 0 || *s++ != '-' ||
      parse_num(&s, &b) != 0 || *s != '\0')
    return CMCP_EPARSE;
  *stream = a;
  *seq = b;
  return 0;
}
