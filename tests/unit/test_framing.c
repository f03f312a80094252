/* Unit tests for src/transport/framing.c: the stdio line splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "transport/framing.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64

typedef struct sink {
  int kinds[MAX_FRAMES];
  char *texts[MAX_FRAMES];
  size_t lens[MAX_FRAMES];
  int n;
  int pause_every; /* ask to pause after each frame when set */
  int fail_with;   /* negative status returned for every frame when set */
} sink;

static int collect(void *ctx, cmcp__frame_kind kind, const char *text,
                   size_t len) {
  sink *s = ctx;
  assert_true(s->n < MAX_FRAMES);
  s->kinds[s->n] = kind;
  s->lens[s->n] = len;
  s->texts[s->n] = NULL;
  if (kind == CMCP__FRAME_LINE) {
    assert_non_null(text);
    s->texts[s->n] = malloc(len + 1);
    memcpy(s->texts[s->n], text, len);
    s->texts[s->n][len] = '\0';
  } else {
    assert_null(text);
  }
  s->n++;
  if (s->fail_with)
    return s->fail_with;
  return s->pause_every ? 1 : 0;
}

static void sink_free(sink *s) {
  int i;
  for (i = 0; i < s->n; i++)
    free(s->texts[i]);
  s->n = 0;
}

/* Pushes text in chunks of `step` bytes; every byte must be consumed. */
static void push_chunks(cmcp__framer *f, sink *s, const char *text,
                        size_t step) {
  size_t len = strlen(text), off = 0;
  while (off < len) {
    size_t n = len - off < step ? len - off : step, used = 0;
    assert_int_equal(cmcp__framer_push(f, text + off, n, &used, collect, s), 0);
    assert_int_equal(used, n);
    off += n;
  }
}

static void lines_split_at_every_chunk_boundary(void **state) {
  const char *in = "{\"a\":1}\n{\"b\":2}\n{\"c\":\"xyz\"}\n";
  size_t step;
  (void)state;
  for (step = 1; step <= strlen(in); step++) {
    cmcp__framer f;
    sink s = {0};
    cmcp__framer_init(&f, 64);
    push_chunks(&f, &s, in, step);
    assert_int_equal(cmcp__framer_finish(&f, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.texts[0], "{\"a\":1}");
    assert_string_equal(s.texts[1], "{\"b\":2}");
    assert_string_equal(s.texts[2], "{\"c\":\"xyz\"}");
    sink_free(&s);
    cmcp__framer_free(&f);
  }
}

static void crlf_line_ends_are_stripped(void **state) {
  cmcp__framer f;
  sink s = {0};
  size_t step;
  (void)state;
  for (step = 1; step <= 6; step++) {
    cmcp__framer_init(&f, 64);
    push_chunks(&f, &s, "{}\r\n[1]\r\n", step);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.texts[0], "{}");
    assert_string_equal(s.texts[1], "[1]");
    assert_int_equal(s.lens[1], 3);
    sink_free(&s);
    cmcp__framer_free(&f);
  }
}

static void empty_and_blank_lines_are_ignored(void **state) {
  cmcp__framer f;
  sink s = {0};
  (void)state;
  cmcp__framer_init(&f, 64);
  push_chunks(&f, &s, "\n\r\n  \t\n{}\n\n", 100);
  assert_int_equal(cmcp__framer_finish(&f, collect, &s), 0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.texts[0], "{}");
  sink_free(&s);
  cmcp__framer_free(&f);
}

static void last_line_without_newline_is_delivered_at_finish(void **state) {
  cmcp__framer f;
  sink s = {0};
  (void)state;
  cmcp__framer_init(&f, 64);
  push_chunks(&f, &s, "{\"x\":1}\n{\"y\"", 3);
  push_chunks(&f, &s, ":2}", 2);
  assert_int_equal(s.n, 1);
  assert_int_equal(cmcp__framer_finish(&f, collect, &s), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.texts[1], "{\"y\":2}");
  /* finish resets: nothing more comes out of a second finish */
  assert_int_equal(cmcp__framer_finish(&f, collect, &s), 0);
  assert_int_equal(s.n, 2);
  sink_free(&s);
  cmcp__framer_free(&f);
}

static void exactly_at_limit_line_is_accepted(void **state) {
  char line[20];
  cmcp__framer f;
  sink s = {0};
  size_t step;
  (void)state;
  memset(line, 'a', 16);
  line[16] = '\0';
  for (step = 1; step <= 20; step++) {
    char in[64];
    snprintf(in, sizeof in, "%s\n%s\r\n", line, line);
    cmcp__framer_init(&f, 16);
    push_chunks(&f, &s, in, step);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.kinds[0], CMCP__FRAME_LINE);
    assert_int_equal(s.lens[0], 16);
    assert_int_equal(s.kinds[1], CMCP__FRAME_LINE);
    assert_int_equal(s.lens[1], 16);
    assert_int_equal(f.oversized, 0);
    sink_free(&s);
    cmcp__framer_free(&f);
  }
}

static void one_past_limit_is_oversize(void **state) {
  cmcp__framer f;
  sink s = {0};
  size_t step;
  (void)state;
  for (step = 1; step <= 20; step++) {
    cmcp__framer_init(&f, 16);
    /* 17 bytes, then 16 bytes + a bare '\r' as content, then a good line */
    push_chunks(&f, &s, "aaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbb\r\r\n{}\n", step);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.kinds[0], CMCP__FRAME_OVERSIZE);
    assert_true(s.lens[0] > 16);
    assert_int_equal(s.kinds[1], CMCP__FRAME_OVERSIZE);
    assert_int_equal(s.kinds[2], CMCP__FRAME_LINE);
    assert_string_equal(s.texts[2], "{}");
    assert_int_equal(f.oversized, 2);
    sink_free(&s);
    cmcp__framer_free(&f);
  }
}

/* A line of 8 MiB against a 1 KiB limit, pushed in 4 KiB chunks: reported
 * once, memory never above the limit, the next line still delivered. */
static void oversize_line_skipped_in_constant_memory(void **state) {
  enum { CHUNK = 4096 };
  char chunk[CHUNK];
  cmcp__framer f;
  sink s = {0};
  size_t i, used;
  (void)state;
  memset(chunk, 'x', sizeof chunk);
  cmcp__framer_init(&f, 1024);
  for (i = 0; i < (8u << 20) / CHUNK; i++) {
    assert_int_equal(
        cmcp__framer_push(&f, chunk, sizeof chunk, &used, collect, &s), 0);
    assert_int_equal(used, sizeof chunk);
    assert_true(f.line.cap <= 1024 + 2);
  }
  assert_int_equal(s.n, 1);
  assert_int_equal(s.kinds[0], CMCP__FRAME_OVERSIZE);
  assert_int_equal(s.lens[0], 4096);
  assert_true(f.skipping);
  assert_int_equal(
      cmcp__framer_push(&f, "xx\n{\"ok\":1}\n", 12, &used, collect, &s), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.texts[1], "{\"ok\":1}");
  assert_int_equal(f.oversized, 1);
  sink_free(&s);
  cmcp__framer_free(&f);
}

static void oversize_line_at_eof_is_dropped(void **state) {
  cmcp__framer f;
  sink s = {0};
  (void)state;
  cmcp__framer_init(&f, 4);
  push_chunks(&f, &s, "123456789", 100);
  assert_int_equal(s.n, 1);
  assert_int_equal(cmcp__framer_finish(&f, collect, &s), 0);
  assert_int_equal(s.n, 1);
  assert_false(f.skipping);
  sink_free(&s);
  cmcp__framer_free(&f);
}

static void pause_stops_after_the_frame(void **state) {
  const char *in = "{}\n[]\n\"s\"\n";
  cmcp__framer f;
  sink s = {0};
  size_t used = 0, off = 0;
  (void)state;
  s.pause_every = 1;
  cmcp__framer_init(&f, 64);
  assert_int_equal(cmcp__framer_push(&f, in, strlen(in), &used, collect, &s),
                   0);
  assert_int_equal(used, 3);
  assert_int_equal(s.n, 1);
  off = used;
  assert_int_equal(
      cmcp__framer_push(&f, in + off, strlen(in) - off, &used, collect, &s), 0);
  assert_int_equal(used, 3);
  off += used;
  assert_int_equal(
      cmcp__framer_push(&f, in + off, strlen(in) - off, &used, collect, &s), 0);
  assert_int_equal(used, 4);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.texts[2], "\"s\"");
  sink_free(&s);
  cmcp__framer_free(&f);
}

static void callback_failure_is_returned(void **state) {
  cmcp__framer f;
  sink s = {0};
  size_t used = 0;
  (void)state;
  s.fail_with = CMCP_ECLOSED;
  cmcp__framer_init(&f, 64);
  assert_int_equal(cmcp__framer_push(&f, "{}\n{}\n", 6, &used, collect, &s),
                   CMCP_ECLOSED);
  assert_int_equal(used, 3);
  assert_int_equal(s.n, 1);
  assert_int_equal(cmcp__framer_push(&f, "{", 1, &used, collect, &s), 0);
  assert_int_equal(cmcp__framer_finish(&f, collect, &s), CMCP_ECLOSED);
  sink_free(&s);
  cmcp__framer_free(&f);
}

/* Allocation failure while carrying a partial line: the push reports
 * CMCP_ENOMEM, the rest of that line is skipped, the next one is fine. */
static int fail_alloc;
static void *t_malloc(size_t n) {
  return fail_alloc ? NULL : malloc(n);
}
static void *t_realloc(void *p, size_t n) {
  return fail_alloc ? NULL : realloc(p, n);
}
static void *t_calloc(size_t c, size_t n) {
  return fail_alloc ? NULL : calloc(c, n);
}

static void carry_out_of_memory_skips_the_line(void **state) {
  cmcp__framer f;
  sink s = {0};
  size_t used = 0;
  (void)state;
  assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free), 0);
  cmcp__framer_init(&f, 64);
  fail_alloc = 1;
  assert_int_equal(cmcp__framer_push(&f, "{\"a\"", 4, &used, collect, &s),
                   CMCP_ENOMEM);
  fail_alloc = 0;
  assert_int_equal(cmcp__framer_push(&f, ":1}\n{}\n", 7, &used, collect, &s),
                   0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.texts[0], "{}");
  /* and when the end of a carried line cannot be appended */
  assert_int_equal(cmcp__framer_push(&f, "{\"b\"", 4, &used, collect, &s), 0);
  /* 4 carried + 60 more bytes need 65 of a 64-byte block: it must grow */
  {
    char tail[62];
    memset(tail, '2', sizeof tail);
    tail[0] = ':';
    tail[59] = '}';
    tail[60] = '\n';
    fail_alloc = 1;
    assert_int_equal(cmcp__framer_push(&f, tail, 61, &used, collect, &s),
                     CMCP_ENOMEM);
  }
  fail_alloc = 0;
  assert_int_equal(s.n, 1);
  assert_int_equal(cmcp__framer_push(&f, "[]\n", 3, &used, collect, &s), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.texts[1], "[]");
  sink_free(&s);
  cmcp__framer_free(&f);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lines_split_at_every_chunk_boundary),
      cmocka_unit_test(crlf_line_ends_are_stripped),
      cmocka_unit_test(empty_and_blank_lines_are_ignored),
      cmocka_unit_test(last_line_without_newline_is_delivered_at_finish),
      cmocka_unit_test(exactly_at_limit_line_is_accepted),
      cmocka_unit_test(one_past_limit_is_oversize),
      cmocka_unit_test(oversize_line_skipped_in_constant_memory),
      cmocka_unit_test(oversize_line_at_eof_is_dropped),
      cmocka_unit_test(pause_stops_after_the_frame),
      cmocka_unit_test(callback_failure_is_returned),
      cmocka_unit_test(carry_out_of_memory_skips_the_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
