/* libFuzzer target for src/transport/sse.c. The first byte picks what the
 * rest is: a Last-Event-ID to parse (an accepted one must format back to
 * the same text), or event data to encode (the encoding must hold no bare
 * CR, and a client that joins the data lines with LF must get the input
 * back with its line breaks made LF and one final break dropped). */
#include "transport/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses, formats back, compares. */
static void check_id(const char *s) {
  char back[CMCP__SSE_ID_MAX];
  uint64_t a, b;
  if (cmcp__sse_id_parse(s, &a, &b) != 0)
    return;
  if (cmcp__sse_id_format(back, sizeof back, a, b) < 0 || strcmp(back, s) != 0)
    abort();
}

/* What a client reads back: data lines joined with LF. */
static void decode(const char *ev, size_t n, cmcp__buf *out) {
  size_t i = 0;
  int first = 1;
  while (i < n) {
    const char *nl = memchr(ev + i, '\n', n - i);
    size_t len;
    if (nl == NULL)
      abort(); /* every line ends with LF */
    len = (size_t)(nl - (ev + i));
    if (len >= 6 && memcmp(ev + i, "data: ", 6) == 0) {
      if (!first)
        cmcp__buf_add(out, "\n", 1);
      cmcp__buf_add(out, ev + i + 6, len - 6);
      first = 0;
    }
    i += len + 1;
  }
}

/* The input with CRLF and CR made LF and one trailing LF dropped. */
static void expected(const char *d, size_t n, cmcp__buf *out) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (d[i] == '\r') {
      if (i + 1 < n && d[i + 1] == '\n')
        i++;
      cmcp__buf_add(out, "\n", 1);
    } else {
      cmcp__buf_add(out, d + i, 1);
    }
  }
  if (out->len > 0 && out->data[out->len - 1] == '\n')
    out->len--;
}

static void check_event(const char *d, size_t n) {
  cmcp__buf ev, got, want;
  cmcp__buf_init(&ev, CMCP__SSE_EVENT_MAX(n));
  cmcp__buf_init(&got, 2 * n + 64);
  cmcp__buf_init(&want, 2 * n + 64);
  if (cmcp__sse_event(&ev, "1-2", "message", d, n) != 0)
    abort();
  if (memchr(ev.data, '\r', ev.len) != NULL || ev.len < 2 ||
      memcmp(ev.data + ev.len - 2, "\n\n", 2) != 0)
    abort();
  decode(ev.data, ev.len - 1, &got);
  expected(d, n, &want);
  if (got.len != want.len ||
      (got.len > 0 && memcmp(got.data, want.data, got.len) != 0))
    abort();
  cmcp__buf_free(&ev);
  cmcp__buf_free(&got);
  cmcp__buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s;
  if (size < 1 || size > 4096)
    return 0;
  s = malloc(size);
  if (s == NULL)
    return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';
  if (data[0] & 1)
    check_id(s);
  else
    check_event(s, size - 1);
  free(s);
  return 0;
}
