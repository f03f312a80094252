/* src/transport/framing.c: newline-delimited message splitter (see
 * framing.h for the rules). */
#include "transport/framing.h"

#include <string.h>

/* A carry buffer that grew past this is released after its line, so an
 * idle stdio connection holds no large buffer. */
#define FRAMER_KEEP_BYTES ((size_t)64 * 1024)

void cmcp__framer_init(cmcp__framer *f, size_t max_bytes) {
  f->max_bytes = max_bytes ? max_bytes : 1;
  /* One byte more than a line may hold: a '\r' waiting for its '\n'. */
  cmcp__buf_init(&f->line, f->max_bytes + 1);
  f->skipping = 0;
  f->oversized = 0;
}

void cmcp__framer_free(cmcp__framer *f) {
  cmcp__buf_free(&f->line);
  f->skipping = 0;
}

/* Empties the carry buffer, giving back its memory if it grew large. */
static void carry_reset(cmcp__framer *f) {
  if (f->line.cap > FRAMER_KEEP_BYTES)
    cmcp__buf_free(&f->line);
  else
    cmcp__buf_reset(&f->line);
}

/* 1 if text[0..len) holds only JSON whitespace (or nothing). */
static int is_blank(const char *text, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    char c = text[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      return 0;
  }
  return 1;
}

/* Reports a line that passed the limit (once per line) and drops what was
 * carried of it. seen is the number of its bytes seen so far. */
static int report_oversize(cmcp__framer *f, uint64_t seen, cmcp__frame_cb cb,
                           void *ctx) {
  carry_reset(f);
  f->oversized++;
  return cb(ctx, CMCP__FRAME_OVERSIZE, NULL, (size_t)seen);
}

/* The last byte of carry + seg[0..n), or '\0' when both are empty. */
static char last_byte(const cmcp__framer *f, const char *seg, size_t n) {
  if (n > 0)
    return seg[n - 1];
  if (f->line.len > 0)
    return f->line.data[f->line.len - 1];
  return '\0';
}

/* Completes the carried line with seg[0..n) (the bytes before a '\n') and
 * delivers it. Without carried bytes the line is delivered in place. */
static int end_line(cmcp__framer *f, const char *seg, size_t n,
                    cmcp__frame_cb cb, void *ctx) {
  size_t total = f->line.len + n, len;
  const char *text = seg;
  int rc = 0;
  len = total - (last_byte(f, seg, n) == '\r' ? 1 : 0);
  if (len > f->max_bytes)
    return report_oversize(f, total, cb, ctx);
  if (f->line.len > 0) {
    rc = cmcp__buf_add(&f->line, seg, n);
    if (rc != 0)
      goto out; /* ENOMEM: the line is lost */
    text = f->line.data;
  }
  if (!is_blank(text, len))
    rc = cb(ctx, CMCP__FRAME_LINE, text, len);
out:
  carry_reset(f);
  return rc;
}

/* Carries seg[0..n) (no '\n' in it) to the next chunk, or starts skipping
 * if the line can no longer fit: more than max_bytes + 1 bytes, or exactly
 * that many without a final '\r' that a '\n' could still follow. */
static int carry(cmcp__framer *f, const char *seg, size_t n, cmcp__frame_cb cb,
                 void *ctx) {
  size_t total = f->line.len + n;
  int rc;
  if (total > f->max_bytes + 1 ||
      (total == f->max_bytes + 1 && last_byte(f, seg, n) != '\r')) {
    f->skipping = 1;
    return report_oversize(f, total, cb, ctx);
  }
  rc = cmcp__buf_add(&f->line, seg, n);
  if (rc != 0) {
    carry_reset(f);
    f->skipping = 1;
  }
  return rc;
}

int cmcp__framer_push(cmcp__framer *f, const char *data, size_t len,
                      size_t *consumed, cmcp__frame_cb cb, void *ctx) {
  size_t pos = 0;
  int rc = 0;
  while (pos < len && rc == 0) {
    const char *p = data + pos;
    const char *nl = memchr(p, '\n', len - pos);
    size_t seg = nl != NULL ? (size_t)(nl - p) : len - pos;
    pos += seg + (nl != NULL ? 1 : 0);
    if (f->skipping) {
      if (nl != NULL)
        f->skipping = 0; /* the oversize line ends here */
    } else if (nl != NULL) {
      rc = end_line(f, p, seg, cb, ctx);
    } else {
      rc = carry(f, p, seg, cb, ctx);
    }
  }
  if (consumed != NULL)
    *consumed = pos;
  return rc < 0 ? rc : 0;
}

int cmcp__framer_finish(cmcp__framer *f, cmcp__frame_cb cb, void *ctx) {
  int rc = 0;
  if (!f->skipping && f->line.len > 0)
    rc = end_line(f, NULL, 0, cb, ctx);
  f->skipping = 0;
  carry_reset(f);
  return rc < 0 ? rc : 0;
}
