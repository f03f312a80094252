/* src/transport/framing.h: the newline-delimited message splitter of the
 * stdio transport. Internal. Pure: no I/O, no libuv.
 *
 * The stdio transport page of the spec (2025-11-25, 2026-07-28): "Messages
 * are delimited by newlines, and MUST NOT contain embedded newlines." The
 * framer turns a byte stream, given in chunks of any size, into lines:
 *   - a line ends at '\n'; one '\r' right before it is dropped ("\r\n");
 *   - lines that are empty or only JSON whitespace are skipped;
 *   - a line longer than max_bytes (not counting its line end) is reported
 *     once, as soon as it is known to be too long, and then discarded up to
 *     the next '\n' without being buffered: memory stays at most max_bytes
 *     (plus one byte) however long the line is;
 *   - a line that ends with the stream (no final '\n') is delivered by
 *     cmcp__framer_finish.
 * Lines are delivered without their line end and are not NUL-terminated.
 */
#ifndef CMCP_FRAMING_H
#define CMCP_FRAMING_H

#include "base/base.h"
#include <stddef.h>
#include <stdint.h>

typedef enum {
  CMCP__FRAME_LINE = 1, /* a complete line: text[0..len) */
  CMCP__FRAME_OVERSIZE  /* a line passed max_bytes: text is NULL, len is
                           the bytes seen so far (> max_bytes) */
} cmcp__frame_kind;

/* Receives one frame. Returns 0 to go on, > 0 to pause (the push returns
 * at once, after this frame), < 0 to fail the push with that status. The
 * text is valid only during the call. */
typedef int (*cmcp__frame_cb)(void *ctx, cmcp__frame_kind kind,
                              const char *text, size_t len);

typedef struct cmcp__framer {
  cmcp__buf line;     /* the partial line carried across chunks */
  size_t max_bytes;   /* longest line accepted */
  int skipping;       /* discarding an oversize line up to its '\n' */
  uint64_t oversized; /* oversize lines seen so far (statistics) */
} cmcp__framer;

/* Sets up a framer for lines of at most max_bytes bytes (> 0). */
void cmcp__framer_init(cmcp__framer *f, size_t max_bytes);

/* Splits data[0..len) and calls cb for each frame it completes. On return
 * *consumed holds how many bytes were taken: all of them, unless cb asked
 * to pause (the caller pushes the rest later) or failed. Returns 0, the
 * callback's negative status, or CMCP_ENOMEM (the bytes of the partial
 * line are then lost and the line is skipped as if oversize, unreported). */
int cmcp__framer_push(cmcp__framer *f, const char *data, size_t len,
                      size_t *consumed, cmcp__frame_cb cb, void *ctx);

/* Ends the stream: delivers a last line that had no '\n' (if any) and
 * resets the framer. Returns 0 or the callback's negative status. */
int cmcp__framer_finish(cmcp__framer *f, cmcp__frame_cb cb, void *ctx);

/* Releases the framer's memory (it can be used again after init). */
void cmcp__framer_free(cmcp__framer *f);

#endif /* CMCP_FRAMING_H */
