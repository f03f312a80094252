/* sse.c: the event-stream parser of cmcp-bench (text/event-stream as the
 * HTML standard defines it: lines end in CRLF, LF or CR; "data:" lines of
 * an event are joined with LF; a blank line ends the event; comments and
 * other fields are skipped). Bounded: a line or an event beyond the limit
 * is an error. */
#include "client.h"

#include <string.h>

void bench_sse_init(bench_sse *s, size_t limit) {
  cmcp__buf_init(&s->line, limit);
  cmcp__buf_init(&s->data, limit);
  s->has_data = 0;
  s->skip_lf = 0;
}

void bench_sse_free(bench_sse *s) {
  cmcp__buf_free(&s->line);
  cmcp__buf_free(&s->data);
}

/* Handles one whole line (without its end). */
static int line(bench_sse *s, const char *p, size_t n, bench_sse_fn fn,
                void *arg) {
  int rc = 0;
  if (n == 0) { /* dispatch */
    if (s->has_data)
      fn(arg, s->data.len > 0 ? s->data.data : "", s->data.len);
    cmcp__buf_reset(&s->data);
    s->has_data = 0;
    return 0;
  }
  if (n >= 5 && memcmp(p, "data:", 5) == 0) {
    p += 5;
    n -= 5;
    if (n > 0 && *p == ' ') {
      p++;
      n--;
    }
    if (s->has_data)
      rc = cmcp__buf_add(&s->data, "\n", 1);
    if (rc == 0)
      rc = cmcp__buf_add(&s->data, p, n);
    s->has_data = 1;
  }
  return rc;
}

int bench_sse_feed(bench_sse *s, const char *p, size_t n, bench_sse_fn fn,
                   void *arg) {
  const char *end = p + n;
  if (n > 0 && s->skip_lf && *p == '\n')
    p++;
  s->skip_lf = 0;
  while (p < end) {
    const char *q = p;
    int rc;
    while (q < end && *q != '\n' && *q != '\r')
      q++;
    if (q == end) /* no line end yet */
      return cmcp__buf_add(&s->line, p, (size_t)(q - p));
    if (s->line.len > 0) {
      rc = cmcp__buf_add(&s->line, p, (size_t)(q - p));
      if (rc == 0)
        rc = line(s, s->line.data, s->line.len, fn, arg);
      cmcp__buf_reset(&s->line);
    } else {
      rc = line(s, p, (size_t)(q - p), fn, arg);
    }
    if (rc != 0)
      return rc;
    /* a CR that ends a line may be followed by the LF of a CRLF */
    if (*q == '\r' && q + 1 < end && q[1] == '\n')
      q++;
    else if (*q == '\r')
      s->skip_lf = q + 1 == end; /* a CRLF split between two chunks */
    p = q + 1;
  }
  return 0;
}
