/* tests/unit/test_client_sse.c: the client's incremental event-stream
 * parser (src/client/sse_parse.c) against the WHATWG rules, fed whole and
 * byte by byte, and against the server's own writer (transport/sse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/sse_parse.h"
#include "helper_alloc.h"
#include "transport/sse.h"

#include <stdio.h>
#include <string.h>

#define MAX_EVENTS 16

typedef struct seen {
  int n;
  char type[MAX_EVENTS][64];
  char data[MAX_EVENTS][256];
  size_t len[MAX_EVENTS];
  char id[MAX_EVENTS][300];
  int stop_at; /* return 1 from this event (1-based); 0 never */
} seen;

static int on_event(void *ud, const cmcp__ssep_event *ev) {
  seen *s = ud;
  assert_true(s->n < MAX_EVENTS);
  snprintf(s->type[s->n], sizeof s->type[0], "%s", ev->type);
  assert_true(ev->len < sizeof s->data[0]);
  memcpy(s->data[s->n], ev->data, ev->len);
  s->data[s->n][ev->len] = '\0';
  assert_int_equal(ev->data[ev->len], '\0');
  s->len[s->n] = ev->len;
  snprintf(s->id[s->n], sizeof s->id[0], "%s", ev->id);
  s->n++;
  return s->n == s->stop_at ? 1 : 0;
}

/* Parses text whole, then byte by byte; both must see the same events.
 * The whole-feed result lands in *s; returns the feed status. */
static int parse(const char *text, size_t len, size_t max, seen *s,
                 cmcp__ssep *keep) {
  cmcp__ssep p;
  seen one;
  size_t i;
  int rc, rc1 = 0;
  memset(s, 0, sizeof *s);
  memset(&one, 0, sizeof one);
  cmcp__ssep_init(&p, max);
  rc = cmcp__ssep_feed(&p, text, len, on_event, s);
  if (keep != NULL)
    *keep = p;
  else
    cmcp__ssep_free(&p);
  cmcp__ssep_init(&p, max);
  for (i = 0; i < len && rc1 == 0; i++)
    rc1 = cmcp__ssep_feed(&p, text + i, 1, on_event, &one);
  cmcp__ssep_free(&p);
  assert_int_equal(rc, rc1);
  assert_int_equal(one.n, s->n);
  for (i = 0; i < (size_t)s->n; i++) {
    assert_string_equal(one.data[i], s->data[i]);
    assert_string_equal(one.type[i], s->type[i]);
    assert_string_equal(one.id[i], s->id[i]);
  }
  return rc;
}

#define PARSE(lit, s) parse(lit, sizeof(lit) - 1, 1024, s, NULL)
#define PARSEK(lit, s, p) parse(lit, sizeof(lit) - 1, 1024, s, p)

static void one_event(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE("data: {\"a\":1}\n\n", &s), 0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.type[0], "message");
  assert_string_equal(s.data[0], "{\"a\":1}");
  assert_string_equal(s.id[0], "");
}

static void line_endings_crlf_cr_lf(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE("data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n"
                         "data: e\r\r\n",
                         &s),
                   0);
  assert_int_equal(s.n, 4);
  assert_string_equal(s.data[0], "a");
  assert_string_equal(s.data[1], "b");
  assert_string_equal(s.data[2], "c");
  assert_string_equal(s.data[3], "d\ne");
}

static void multi_line_data_joined_with_lf(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE("data: one\ndata:two\ndata:  three\ndata\n\n", &s), 0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.data[0], "one\ntwo\n three\n");
}

static void bom_skipped_once(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE("\xEF\xBB\xBF"
                         "data: x\n\n\xEF\xBB\xBF"
                         "data: y\n\n",
                         &s),
                   0);
  /* only the first BOM goes; the second makes an unknown field name */
  assert_int_equal(s.n, 1);
  assert_string_equal(s.data[0], "x");
}

static void partial_bom_is_data(void **state) {
  seen s;
  (void)state;
  /* EF BB then 'd': not a BOM, so the bytes start the field name. */
  assert_int_equal(PARSE("\xEF\xBB"
                         "data: x\n\ndata: y\n\n",
                         &s),
                   0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.data[0], "y");
}

static void comments_and_unknown_fields_ignored(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE(":\n: keep-alive\nfoo: bar\ndata: z\n:x\n\n:\n\n", &s),
                   0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.data[0], "z");
}

static void event_type_and_default(void **state) {
  seen s;
  (void)state;
  assert_int_equal(PARSE("event: ping\ndata: 1\n\ndata: 2\n\nevent\ndata: 3"
                         "\n\n",
                         &s),
                   0);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.type[0], "ping");
  assert_string_equal(s.type[1], "message"); /* type does not carry over */
  assert_string_equal(s.type[2], "message"); /* empty: the default */
}

static void ids_persist_and_priming_event(void **state) {
  seen s;
  cmcp__ssep p;
  (void)state;
  assert_int_equal(PARSEK("id: 7-0\nretry: 500\ndata: \n\ndata: a\n\n"
                          "id: 7-2\ndata: b\n\nid\ndata: c\n\n",
                          &s, &p),
                   0);
  assert_int_equal(s.n, 4);
  assert_string_equal(s.data[0], ""); /* the priming event */
  assert_int_equal(s.len[0], 0);
  assert_string_equal(s.id[0], "7-0");
  assert_string_equal(s.id[1], "7-0"); /* the id buffer persists */
  assert_string_equal(s.id[2], "7-2");
  assert_string_equal(s.id[3], ""); /* "id" alone resets it */
  assert_int_equal(p.retry_ms, 500);
  cmcp__ssep_free(&p);
}

static void id_without_data_still_counts(void **state) {
  seen s;
  cmcp__ssep p;
  (void)state;
  assert_int_equal(PARSEK("id: 9\n\n", &s, &p), 0);
  assert_int_equal(s.n, 0);
  assert_string_equal(p.last_id, "9");
  cmcp__ssep_free(&p);
}

static void id_with_nul_ignored(void **state) {
  seen s;
  static const char text[] = "id: 1\n\nid: a\0b\ndata: x\n\n";
  (void)state;
  assert_int_equal(parse(text, sizeof text - 1, 1024, &s, NULL), 0);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.id[0], "1");
}

static void retry_rules(void **state) {
  cmcp__ssep p;
  seen s;
  (void)state;
  PARSEK("retry: 1500\n\nretry: 15x\n\nretry: -1\n\nretry:\n\n", &s, &p);
  assert_int_equal(p.retry_ms, 1500);
  cmcp__ssep_free(&p);
  PARSEK("retry: 99999999999\n\n", &s, &p);
  assert_int_equal(p.retry_ms, -1); /* too large: ignored */
  cmcp__ssep_free(&p);
  PARSEK("retry: 0\n\n", &s, &p);
  assert_int_equal(p.retry_ms, 0);
  cmcp__ssep_free(&p);
}

static void data_at_limit_and_over(void **state) {
  char text[64];
  seen s;
  (void)state;
  snprintf(text, sizeof text, "data: 0123456789\n\n");
  assert_int_equal(parse(text, strlen(text), 10, &s, NULL), 0);
  assert_int_equal(s.n, 1);
  snprintf(text, sizeof text, "data: 01234\ndata: 56789\n\n");
  assert_int_equal(parse(text, strlen(text), 10, &s, NULL), CMCP_ELIMIT);
  snprintf(text, sizeof text, "data: 0123456789a\n\n");
  assert_int_equal(parse(text, strlen(text), 10, &s, NULL), CMCP_ELIMIT);
  assert_int_equal(s.n, 0);
}

static void endless_line_is_bounded(void **state) {
  char text[200];
  seen s;
  (void)state;
  memset(text, ':', sizeof text); /* a comment that never ends */
  assert_int_equal(parse(text, sizeof text, 64, &s, NULL), CMCP_ELIMIT);
}

static void long_id_and_type_refused(void **state) {
  char text[700];
  seen s;
  (void)state;
  memcpy(text, "id: ", 4);
  memset(text + 4, 'x', 300);
  memcpy(text + 304, "\n\n", 2);
  assert_int_equal(parse(text, 306, 1024, &s, NULL), CMCP_ELIMIT);
  memcpy(text, "event: ", 7);
  memset(text + 7, 'x', 300);
  memcpy(text + 307, "\n\n", 2);
  assert_int_equal(parse(text, 309, 1024, &s, NULL), CMCP_ELIMIT);
}

static void callback_stops_the_feed(void **state) {
  cmcp__ssep p;
  seen s;
  (void)state;
  memset(&s, 0, sizeof s);
  s.stop_at = 1;
  cmcp__ssep_init(&p, 100);
  assert_int_equal(
      cmcp__ssep_feed(&p, "data: a\n\ndata: b\n\n", 18, on_event, &s), 1);
  assert_int_equal(s.n, 1);
  cmcp__ssep_free(&p);
}

static void reset_drops_a_partial_event(void **state) {
  cmcp__ssep p;
  seen s;
  (void)state;
  memset(&s, 0, sizeof s);
  cmcp__ssep_init(&p, 100);
  assert_false(cmcp__ssep_pending(&p));
  assert_int_equal(
      cmcp__ssep_feed(&p, "id: 4\ndata: a\n\ndata: {\"cut", 26, on_event, &s),
      0);
  assert_int_equal(s.n, 1);
  assert_true(cmcp__ssep_pending(&p));
  cmcp__ssep_reset(&p); /* the connection was cut mid-event */
  assert_false(cmcp__ssep_pending(&p));
  assert_int_equal(cmcp__ssep_feed(&p, "data: b\n\n", 9, on_event, &s), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.data[1], "b");
  assert_string_equal(s.id[1], "4");
  cmcp__ssep_free(&p);
}

/* What the server writes, the client reads back. */
static void round_trip_with_server_writer(void **state) {
  cmcp__buf b;
  seen s;
  cmcp__ssep p;
  (void)state;
  cmcp__buf_init(&b, 4096);
  assert_int_equal(cmcp__sse_priming(&b, "3-0", 250), 0);
  assert_int_equal(cmcp__sse_event(&b, "3-1", NULL, "l1\r\nl2\rl3", 9), 0);
  assert_int_equal(cmcp__sse_comment(&b, "keep"), 0);
  assert_int_equal(cmcp__sse_event(&b, "3-2", "message", "{}", 2), 0);
  assert_int_equal(parse(b.data, b.len, 1024, &s, &p), 0);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.data[1], "l1\nl2\nl3");
  assert_string_equal(s.id[2], "3-2");
  assert_string_equal(s.data[2], "{}");
  assert_int_equal(p.retry_ms, 250);
  cmcp__ssep_free(&p);
  cmcp__buf_free(&b);
}

/* Every allocation failure gives CMCP_ENOMEM, never a crash or a leak. */
static void allocation_failures(void **state) {
  static const char text[] = "data: abc\ndata: def\nevent: x\n\n";
  long n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 20; n++) {
    cmcp__ssep p;
    seen s;
    int rc;
    memset(&s, 0, sizeof s);
    cmcp__ssep_init(&p, 100);
    alloc_fail_arm(n);
    /* split so the line buffer is used too */
    rc = cmcp__ssep_feed(&p, text, 5, on_event, &s);
    if (rc == 0)
      rc = cmcp__ssep_feed(&p, text + 5, sizeof text - 6, on_event, &s);
    cmcp__ssep_free(&p);
    if (rc == 0) {
      assert_int_equal(s.n, 1);
      break;
    }
    assert_int_equal(rc, CMCP_ENOMEM);
  }
  alloc_fail_uninstall();
  assert_true(n > 1 && n < 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_event),
      cmocka_unit_test(line_endings_crlf_cr_lf),
      cmocka_unit_test(multi_line_data_joined_with_lf),
      cmocka_unit_test(bom_skipped_once),
      cmocka_unit_test(partial_bom_is_data),
      cmocka_unit_test(comments_and_unknown_fields_ignored),
      cmocka_unit_test(event_type_and_default),
      cmocka_unit_test(ids_persist_and_priming_event),
      cmocka_unit_test(id_without_data_still_counts),
      cmocka_unit_test(id_with_nul_ignored),
      cmocka_unit_test(retry_rules),
      cmocka_unit_test(data_at_limit_and_over),
      cmocka_unit_test(endless_line_is_bounded),
      cmocka_unit_test(long_id_and_type_refused),
      cmocka_unit_test(callback_stops_the_feed),
      cmocka_unit_test(reset_drops_a_partial_event),
      cmocka_unit_test(round_trip_with_server_writer),
      cmocka_unit_test(allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
