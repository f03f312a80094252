/* libFuzzer target for src/client/sse_parse.c. The first byte picks a
 * split point; the rest is an event stream fed whole, then in two pieces at
 * that point, then byte by byte: every way must give the same events and
 * the same status, no event may pass the data limit, and no data, type or
 * id may hold a CR (line breaks end lines) or an id an LF. */
#include "client/sse_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENT 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
  uint64_t h; /* FNV-1a over every event's type, data and id */
  size_t n;
} digest;

static void mix(digest *d, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    d->h ^= (unsigned char)p[i];
    d->h *= 1099511628211ULL;
  }
  d->h ^= 0xff;
  d->h *= 1099511628211ULL;
}

static int on_event(void *ud, const cmcp__ssep_event *ev) {
  digest *d = ud;
  if (ev->len > MAX_EVENT || memchr(ev->data, '\r', ev->len) != NULL ||
      ev->data[ev->len] != '\0' || strpbrk(ev->type, "\r\n") != NULL ||
      strpbrk(ev->id, "\r\n") != NULL || strlen(ev->id) > CMCP__SSEP_NAME_MAX)
    abort();
  mix(d, ev->type, strlen(ev->type));
  mix(d, ev->data, ev->len);
  mix(d, ev->id, strlen(ev->id));
  d->n++;
  return 0;
}

/* Feeds text in pieces of step bytes (0: whole). */
static int run(const char *text, size_t len, size_t cut, int bytewise,
               digest *d, int64_t *retry) {
  cmcp__ssep p;
  size_t i = 0;
  int rc = 0;
  memset(d, 0, sizeof *d);
  cmcp__ssep_init(&p, MAX_EVENT);
  if (bytewise) {
    for (i = 0; i < len && rc == 0; i++)
      rc = cmcp__ssep_feed(&p, text + i, 1, on_event, d);
  } else {
    rc = cmcp__ssep_feed(&p, text, cut, on_event, d);
    if (rc == 0)
      rc = cmcp__ssep_feed(&p, text + cut, len - cut, on_event, d);
  }
  *retry = p.retry_ms;
  cmcp__ssep_free(&p);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data + 1;
  size_t len, cut;
  digest a, b, c;
  int64_t ra, rb, rc_;
  int sa, sb, sc;
  if (size == 0)
    return 0;
  len = size - 1;
  cut = len == 0 ? 0 : data[0] % (len + 1);
  sa = run(text, len, len, 0, &a, &ra);
  sb = run(text, len, cut, 0, &b, &rb);
  sc = run(text, len, 0, 1, &c, &rc_);
  if (sa != sb || sa != sc || a.h != b.h || a.h != c.h || a.n != b.n ||
      a.n != c.n)
    abort();
  if (sa == 0 && (ra != rb || ra != rc_))
    abort();
  if (sa != 0 && sa != CMCP_ELIMIT && sa != CMCP_ENOMEM)
    abort();
  return 0;
}
