/* Unit tests for src/transport/sse.c: SSE event framing and event ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "transport/sse.h"
#include <stdlib.h>
#include <string.h>

/* Fails the allocation after `allow` more successful ones. */
static int alloc_allow = -1;
static void *fail_malloc(size_t n) {
  if (alloc_allow == 0)
    return NULL;
  if (alloc_allow > 0)
    alloc_allow--;
  return malloc(n);
}
static void *fail_realloc(void *p, size_t n) {
  if (alloc_allow == 0)
    return NULL;
  if (alloc_allow > 0)
    alloc_allow--;
  return realloc(p, n);
}
static void *fail_calloc(size_t c, size_t n) {
  if (alloc_allow == 0)
    return NULL;
  if (alloc_allow > 0)
    alloc_allow--;
  return calloc(c, n);
}

static void event_with_id_and_name(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_event(&b, "3-7", "message", "{\"a\":1}", 7), 0);
  assert_string_equal(b.data, "id: 3-7\nevent: message\ndata: {\"a\":1}\n\n");
  cmcp__buf_free(&b);
}

static void data_split_on_every_line_break(void **state) {
  cmcp__buf b;
  const char text[] = "a\nb\r\nc\rd";
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_event(&b, NULL, NULL, text, sizeof text - 1), 0);
  assert_string_equal(b.data, "data: a\ndata: b\ndata: c\ndata: d\n\n");
  cmcp__buf_free(&b);
}

static void empty_lines_inside_data_are_kept(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_event(&b, NULL, NULL, "a\n\nb\n", 5), 0);
  assert_string_equal(b.data, "data: a\ndata: \ndata: b\n\n");
  cmcp__buf_reset(&b);
  assert_int_equal(cmcp__sse_event(&b, NULL, NULL, "", 0), 0);
  assert_string_equal(b.data, "data: \n\n");
  cmcp__buf_free(&b);
}

static void id_or_name_with_newline_is_refused(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_event(&b, "1\n2", NULL, "x", 1), CMCP_EINVAL);
  assert_int_equal(cmcp__sse_event(&b, NULL, "a\rb", "x", 1), CMCP_EINVAL);
  assert_int_equal(cmcp__sse_comment(&b, "a\nb"), CMCP_EINVAL);
  assert_int_equal(cmcp__sse_priming(&b, "1\r", 10), CMCP_EINVAL);
  assert_int_equal(cmcp__sse_priming(&b, NULL, 10), CMCP_EINVAL);
  assert_int_equal(b.len, 0);
  cmcp__buf_free(&b);
}

static void priming_event_has_id_retry_and_empty_data(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_priming(&b, "0-1", 1000), 0);
  assert_string_equal(b.data, "id: 0-1\nretry: 1000\ndata: \n\n");
  cmcp__buf_reset(&b);
  assert_int_equal(cmcp__sse_priming(&b, "0-2", 0), 0);
  assert_string_equal(b.data, "id: 0-2\ndata: \n\n");
  cmcp__buf_free(&b);
}

static void comments_are_keepalives(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 1024);
  assert_int_equal(cmcp__sse_comment(&b, NULL), 0);
  assert_int_equal(cmcp__sse_comment(&b, "ping"), 0);
  assert_string_equal(b.data, ":\n\n: ping\n\n");
  cmcp__buf_free(&b);
}

static void limit_leaves_buffer_unchanged(void **state) {
  cmcp__buf b;
  (void)state;
  cmcp__buf_init(&b, 20);
  assert_int_equal(cmcp__sse_event(&b, "1-1", NULL, "x", 1), 0);
  assert_int_equal(cmcp__sse_event(&b, "1-2", "message", "abcdef", 6),
                   CMCP_ELIMIT);
  assert_string_equal(b.data, "id: 1-1\ndata: x\n\n");
  assert_int_equal(cmcp__sse_priming(&b, "1-3", 1000), CMCP_ELIMIT);
  assert_int_equal(cmcp__sse_comment(&b, "a long comment"), CMCP_ELIMIT);
  assert_string_equal(b.data, "id: 1-1\ndata: x\n\n");
  cmcp__buf_free(&b);
}

static void worst_case_fits_the_event_bound(void **state) {
  char data[300];
  cmcp__buf b;
  (void)state;
  memset(data, '\r', sizeof data);
  cmcp__buf_init(&b, CMCP__SSE_EVENT_MAX(sizeof data));
  assert_int_equal(
      cmcp__sse_event(&b, "12345-67890", "message", data, sizeof data), 0);
  assert_int_equal(b.len, 16 + 15 + 300 * 7 + 1); /* id, event, lines, end */
  cmcp__buf_free(&b);
}

static void out_of_memory_is_reported(void **state) {
  cmcp__buf b;
  (void)state;
  assert_int_equal(
      cmcp_set_allocator(fail_malloc, fail_realloc, fail_calloc, free), 0);
  cmcp__buf_init(&b, 1024);
  alloc_allow = 0;
  assert_int_equal(cmcp__sse_event(&b, "1-1", NULL, "x", 1), CMCP_ENOMEM);
  assert_int_equal(b.len, 0);
  alloc_allow = -1;
  cmcp__buf_free(&b);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
}

static void ids_round_trip(void **state) {
  char id[CMCP__SSE_ID_MAX];
  uint64_t a = 9, b = 9;
  (void)state;
  assert_int_equal(cmcp__sse_id_format(id, sizeof id, 0, 1), 3);
  assert_string_equal(id, "0-1");
  assert_int_equal(cmcp__sse_id_parse(id, &a, &b), 0);
  assert_true(a == 0 && b == 1);
  assert_true(cmcp__sse_id_format(id, sizeof id, 9999999999999999999ULL,
                                  9999999999999999999ULL) > 0);
  assert_int_equal(cmcp__sse_id_parse(id, &a, &b), 0);
  assert_true(a == 9999999999999999999ULL && b == a);
  assert_int_equal(cmcp__sse_id_format(id, sizeof id, UINT64_MAX, 1),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__sse_id_format(id, 3, 1, 1), CMCP_EINVAL);
}

static void malformed_ids_are_refused(void **state) {
  static const char *const bad[] = {"",
                                    "-",
                                    "1",
                                    "1-",
                                    "-1",
                                    "01-1",
                                    "1-01",
                                    "1--1",
                                    "+1-1",
                                    "1-1 ",
                                    " 1-1",
                                    "1-1-1",
                                    "a-1",
                                    "1-b",
                                    "10000000000000000000-1",
                                    "1-10000000000000000000",
                                    "1_1",
                                    "1-1\n"};
  uint64_t a, b;
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cmcp__sse_id_parse(bad[i], &a, &b), CMCP_EPARSE);
  assert_int_equal(cmcp__sse_id_parse(NULL, &a, &b), CMCP_EPARSE);
  assert_int_equal(cmcp__sse_id_parse("0-0", &a, &b), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(event_with_id_and_name),
      cmocka_unit_test(data_split_on_every_line_break),
      cmocka_unit_test(empty_lines_inside_data_are_kept),
      cmocka_unit_test(id_or_name_with_newline_is_refused),
      cmocka_unit_test(priming_event_has_id_retry_and_empty_data),
      cmocka_unit_test(comments_are_keepalives),
      cmocka_unit_test(limit_leaves_buffer_unchanged),
      cmocka_unit_test(worst_case_fits_the_event_bound),
      cmocka_unit_test(out_of_memory_is_reported),
      cmocka_unit_test(ids_round_trip),
      cmocka_unit_test(malformed_ids_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
