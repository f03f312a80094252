/* tests/unit/test_engine_bounds.c: the engine's queues that a client or a
 * handler could otherwise grow without end: resources/subscribe URIs per
 * session (CMCP__SUBS_MAX), notifications posted to a peer's loop from
 * other threads (CMCP_LIMIT_OUTBOUND_BYTES): a handler's progress beyond it
 * is refused with CMCP_ELIMIT, and a peer that falls behind server-wide
 * notifications is closed as a slow consumer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"
#include "proto/engine.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SMALL_OUTBOUND 4096

/* ---- subscriptions ---------------------------------------------------- */

static json_object *subscribe(tpeer *tp, int id, const char *method, int n) {
  char req[256];
  snprintf(req, sizeof req,
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":{"
           "\"uri\":\"test://r/%d\"}}",
           id, method, n);
  return tp_call(tp, req);
}

/* Forgets what tp captured so far (its buffer holds TP_MAX messages). */
static void drop_captured(tpeer *tp) {
  size_t j;
  for (j = 0; j < tp->n; j++) {
    json_object_put(tp->out[j]);
    json_object_put(tp->related[j]);
    tp->out[j] = tp->related[j] = NULL;
  }
  tp->n = tp->next = 0;
}

/* The capture buffer holds TP_MAX messages: fill the session's set with
 * notifications that need no answer instead. */
static void test_subscriptions_refused_past_bound(void **state) {
  cmcp_server_t *srv = cmcp_server_new("bounds", "1");
  tpeer *tp = tp_new(srv, 0);
  json_object *r;
  int i;
  (void)state;
  tp_initialize(tp, "2025-11-25", "{}");
  for (i = 0; i < CMCP__SUBS_MAX; i++) {
    r = subscribe(tp, 100 + i, "resources/subscribe", i);
    assert_non_null(jpath(r, "result"));
    drop_captured(tp);
  }
  assert_int_equal(json_object_object_length(tp->peer->subs), CMCP__SUBS_MAX);
  r = subscribe(tp, 1, "resources/subscribe", CMCP__SUBS_MAX);
  assert_rpc_error(r, -32000, "CMCP__SUBS_MAX");
  /* One already held may be subscribed again; after an unsubscribe a new
   * one fits. */
  r = subscribe(tp, 2, "resources/subscribe", 7);
  assert_non_null(jpath(r, "result"));
  r = subscribe(tp, 3, "resources/unsubscribe", 7);
  assert_non_null(jpath(r, "result"));
  r = subscribe(tp, 4, "resources/subscribe", CMCP__SUBS_MAX);
  assert_non_null(jpath(r, "result"));
  tp_free(tp);
  cmcp_server_free(srv);
}

/* ---- posts from other threads ------------------------------------------ */

static atomic_int progress_ok, progress_limited, handler_done;

/* Reports progress 200 times from the worker thread without waiting. */
static void chatty_tool(cmcp_call_t *call, void *data) {
  int i, rc;
  (void)data;
  for (i = 1; i <= 200; i++) {
    rc = cmcp_call_progress(call, i, 200, "a fairly long progress message");
    if (rc == 0)
      atomic_fetch_add(&progress_ok, 1);
    else if (rc == CMCP_ELIMIT)
      atomic_fetch_add(&progress_limited, 1);
  }
  cmcp_call_add_text(call, "done");
  cmcp_call_done(call);
  atomic_store(&handler_done, 1);
}

static void test_handler_progress_bounded(void **state) {
  cmcp_server_t *srv = cmcp_server_new("bounds", "1");
  tpeer *tp;
  int i;
  (void)state;
  assert_int_equal(cmcp_server_add_tool_json(srv, "{\"name\":\"chatty\"}",
                                             CMCP_FEATURE_BLOCKING, chatty_tool,
                                             NULL),
                   0);
  assert_int_equal(
      cmcp_server_set_limit(srv, CMCP_LIMIT_OUTBOUND_BYTES, SMALL_OUTBOUND), 0);
  tp = tp_new(srv, TP_POST | TP_BLOCKING);
  tp_initialize(tp, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"chatty\",\"_meta\":{\"progressToken\":"
              "\"p\"}}}");
  for (i = 0; i < 300 && !atomic_load(&handler_done); i++)
    usleep(10000); /* nothing is pumped meanwhile: the posts pile up */
  assert_true(atomic_load(&handler_done));
  assert_true(atomic_load(&progress_ok) > 0);
  assert_true(atomic_load(&progress_limited) > 0);
  assert_true((size_t)atomic_load(&progress_ok) * 100 < SMALL_OUTBOUND * 2);
  /* What was admitted arrives, then the result; the count is back to 0. */
  tp_pump(tp, tp->n + (size_t)atomic_load(&progress_ok) + 1, 3000);
  assert_int_equal(atomic_load(&tp->peer->posted_bytes), 0);
  assert_int_equal(tp->close_calls, 0);
  tp_free(tp);
  cmcp_server_free(srv);
}

static void test_lagging_peer_closed(void **state) {
  cmcp_server_t *srv = cmcp_server_new("bounds", "1");
  tpeer *tp, *other;
  int i;
  (void)state;
  assert_int_equal(
      cmcp_server_set_limit(srv, CMCP_LIMIT_OUTBOUND_BYTES, SMALL_OUTBOUND), 0);
  tp = tp_new(srv, TP_POST);
  other = tp_new(srv, 0); /* inline: never behind */
  tp_initialize(tp, "2025-11-25", "{}");
  tp_initialize(other, "2025-11-25", "{}");
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"logging/setLevel\","
              "\"params\":{\"level\":\"debug\"}}");
  tp_feed(other, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
                 "\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}");
  while (tp_next(tp) != NULL)
    ;
  while (tp_next(other) != NULL)
    ;
  for (i = 0; i < 100; i++)
    assert_int_equal(cmcp_server_log(srv, CMCP_LOG_ERROR, "t", "flood"), 0);
  assert_true(atomic_load(&tp->peer->lagging));
  assert_true(atomic_load(&tp->peer->posted_bytes) <= SMALL_OUTBOUND);
  /* The other peer got every one. */
  assert_int_equal(other->n - other->next, 100);
  tp_pump(tp, TP_MAX, 200);
  assert_int_equal(tp->close_calls, 1);
  assert_int_equal(atomic_load(&tp->peer->posted_bytes), 0);
  tp_free(other);
  tp_free(tp);
  cmcp_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subscriptions_refused_past_bound),
      cmocka_unit_test(test_handler_progress_bounded),
      cmocka_unit_test(test_lagging_peer_closed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
