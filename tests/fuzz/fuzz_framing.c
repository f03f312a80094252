/* libFuzzer target for the stdio line splitter (src/transport/framing.c).
 * The input is split into chunks whose sizes come from its first bytes;
 * every line delivered must be within the limit, free of '\n', and the
 * total of delivered bytes can never exceed the input. */
#include "transport/framing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_sink {
  size_t max;
  size_t delivered;
} fuzz_sink;

static int check_frame(void *ctx, cmcp__frame_kind kind, const char *text,
                       size_t len) {
  fuzz_sink *s = ctx;
  if (kind == CMCP__FRAME_LINE) {
    if (len == 0 || len > s->max || memchr(text, '\n', len) != NULL)
      abort();
    s->delivered += len;
  } else if (kind != CMCP__FRAME_OVERSIZE || text != NULL || len <= s->max) {
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cmcp__framer f;
  fuzz_sink s;
  size_t off = 2, step;
  if (size < 2)
    return 0;
  s.max = (size_t)(data[0] % 64) + 1;
  s.delivered = 0;
  step = (size_t)(data[1] % 16) + 1;
  cmcp__framer_init(&f, s.max);
  while (off < size) {
    size_t n = size - off < step ? size - off : step, used = 0;
    if (cmcp__framer_push(&f, (const char *)data + off, n, &used, check_frame,
                          &s) != 0 ||
        used != n)
      abort();
    if (f.line.len > s.max + 1)
      abort();
    off += n;
  }
  cmcp__framer_finish(&f, check_frame, &s);
  if (s.delivered > size)
    abort();
  cmcp__framer_free(&f);
  return 0;
}
