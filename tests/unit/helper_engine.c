/* tests/unit/helper_engine.c: the test transport of helper_engine.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tp_job {
  tp_job *next;
  void (*fn)(void *);
  void *arg;
};

static int tp_send(void *ctx, const char *json, size_t len,
                   const cmcp__out_info *info) {
  tpeer *tp = ctx;
  json_object *o;
  if (tp->send_rc != 0)
    return tp->send_rc;
  o = json_tokener_parse(json);
  assert_non_null(o);
  assert_int_equal(strlen(json), len);
  assert_true(tp->n < TP_MAX);
  tp->out[tp->n] = o;
  tp->kind[tp->n] = info->kind;
  tp->status[tp->n] = info->http_status;
  tp->related[tp->n] =
      info->related_id != NULL
          ? json_tokener_parse(json_object_to_json_string(info->related_id))
          : NULL;
  tp->n++;
  return 0;
}

static int tp_post(void *ctx, void (*fn)(void *), void *arg) {
  tpeer *tp = ctx;
  tp_job *j = malloc(sizeof(*j));
  if (j == NULL)
    return CMCP_ENOMEM;
  j->next = NULL;
  j->fn = fn;
  j->arg = arg;
  pthread_mutex_lock(&tp->mu);
  if (tp->tail != NULL)
    tp->tail->next = j;
  else
    tp->head = j;
  tp->tail = j;
  pthread_cond_signal(&tp->cv);
  pthread_mutex_unlock(&tp->mu);
  return 0;
}

typedef struct tp_blocking {
  tpeer *tp;
  void (*work)(void *);
  void (*done)(void *);
  void *arg;
} tp_blocking;

static void *blocking_main(void *p) {
  tp_blocking *b = p;
  tpeer *tp = b->tp;
  b->work(b->arg);
  tp_post(tp, b->done, b->arg);
  pthread_mutex_lock(&tp->mu);
  tp->threads--;
  pthread_cond_signal(&tp->cv);
  pthread_mutex_unlock(&tp->mu);
  free(b);
  return NULL;
}

static int tp_run_blocking(void *ctx, void (*work)(void *),
                           void (*done)(void *), void *arg) {
  tpeer *tp = ctx;
  tp_blocking *b = malloc(sizeof(*b));
  pthread_t t;
  if (b == NULL)
    return CMCP_ENOMEM;
  b->tp = tp;
  b->work = work;
  b->done = done;
  b->arg = arg;
  pthread_mutex_lock(&tp->mu);
  tp->threads++;
  pthread_mutex_unlock(&tp->mu);
  if (pthread_create(&t, NULL, blocking_main, b) != 0) {
    pthread_mutex_lock(&tp->mu);
    tp->threads--;
    pthread_mutex_unlock(&tp->mu);
    free(b);
    return CMCP_ENOMEM;
  }
  pthread_detach(t);
  return 0;
}

static int tp_busy(void *ctx, void (*work)(void *), void (*done)(void *),
                   void *arg) {
  (void)ctx;
  (void)work;
  (void)done;
  (void)arg;
  return CMCP_ELIMIT;
}

static void tp_close(void *ctx, const char *reason) {
  tpeer *tp = ctx;
  (void)reason;
  tp->close_calls++;
  if (tp->close_now && tp->peer != NULL) {
    cmcp__peer_t *peer = tp->peer;
    tp->peer = NULL;
    cmcp__peer_close(peer);
  }
}

/* A tpeer with its ops set and no peer yet. */
static tpeer *tp_alloc(cmcp_server_t *srv, unsigned flags) {
  tpeer *tp = calloc(1, sizeof(*tp));
  assert_non_null(tp);
  tp->srv = srv;
  pthread_mutex_init(&tp->mu, NULL);
  pthread_cond_init(&tp->cv, NULL);
  tp->ops.send = tp_send;
  tp->ops.post = (flags & TP_POST) ? tp_post : NULL;
  tp->ops.run_blocking = (flags & TP_BUSY)       ? tp_busy
                         : (flags & TP_BLOCKING) ? tp_run_blocking
                                                 : NULL;
  tp->ops.close = tp_close;
  return tp;
}

tpeer *tp_new(cmcp_server_t *srv, unsigned flags) {
  tpeer *tp = tp_alloc(srv, flags);
  tp->peer = cmcp__peer_new(srv, &tp->ops, tp);
  assert_non_null(tp->peer);
  return tp;
}

tpeer *tp_new_or_null(cmcp_server_t *srv) {
  tpeer *tp = tp_alloc(srv, 0);
  tp->peer = cmcp__peer_new(srv, &tp->ops, tp);
  if (tp->peer == NULL) {
    tp_free(tp);
    return NULL;
  }
  return tp;
}

/* Runs every queued job; returns how many ran. */
static int run_jobs(tpeer *tp) {
  int ran = 0;
  for (;;) {
    tp_job *j;
    pthread_mutex_lock(&tp->mu);
    j = tp->head;
    if (j != NULL) {
      tp->head = j->next;
      if (tp->head == NULL)
        tp->tail = NULL;
    }
    pthread_mutex_unlock(&tp->mu);
    if (j == NULL)
      return ran;
    j->fn(j->arg);
    free(j);
    ran++;
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t tp_pump(tpeer *tp, size_t want, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (tp->n < want && now_ms() < deadline) {
    if (run_jobs(tp) == 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 5 * 1000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      pthread_mutex_lock(&tp->mu);
      if (tp->head == NULL)
        pthread_cond_timedwait(&tp->cv, &tp->mu, &ts);
      pthread_mutex_unlock(&tp->mu);
    }
  }
  run_jobs(tp);
  return tp->n;
}

void tp_free(tpeer *tp) {
  size_t i;
  int64_t deadline = now_ms() + 5000;
  if (tp->peer != NULL)
    cmcp__peer_close(tp->peer);
  /* Let blocking threads finish, then run what they posted. */
  for (;;) {
    int busy;
    run_jobs(tp);
    pthread_mutex_lock(&tp->mu);
    busy = tp->threads > 0 || tp->head != NULL;
    pthread_mutex_unlock(&tp->mu);
    if (!busy || now_ms() > deadline)
      break;
    tp_pump(tp, SIZE_MAX, 5);
  }
  for (i = 0; i < tp->n; i++) {
    json_object_put(tp->out[i]);
    if (tp->related[i] != NULL)
      json_object_put(tp->related[i]);
  }
  pthread_mutex_destroy(&tp->mu);
  pthread_cond_destroy(&tp->cv);
  free(tp);
}

void tp_feed(tpeer *tp, const char *json) {
  assert_int_equal(cmcp__peer_feed(tp->peer, json, strlen(json)), 0);
}

json_object *tp_next(tpeer *tp) {
  return tp->next < tp->n ? tp->out[tp->next++] : NULL;
}

json_object *tp_call(tpeer *tp, const char *json) {
  json_object *o;
  tp_feed(tp, json);
  o = tp_next(tp);
  if (o == NULL)
    fail_msg("no message after feeding %s", json);
  return o;
}

void tp_initialize(tpeer *tp, const char *version, const char *caps_json) {
  char text[1024];
  json_object *r;
  snprintf(text, sizeof(text),
           "{\"jsonrpc\":\"2.0\",\"id\":\"init\",\"method\":\"initialize\","
           "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":%s,"
           "\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}",
           version, caps_json);
  r = tp_call(tp, text);
  assert_non_null(jpath(r, "result.protocolVersion"));
  tp_feed(tp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
}

json_object *jpath(json_object *o, const char *path) {
  char buf[256], *save = NULL, *tok;
  snprintf(buf, sizeof(buf), "%s", path);
  for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
       tok = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(o, json_type_array)) {
      char *end;
      long i = strtol(tok, &end, 10);
      o = *end == '\0' ? json_object_array_get_idx(o, (size_t)i) : NULL;
    } else if (!json_object_object_get_ex(o, tok, &o)) {
      o = NULL;
    }
  }
  return o;
}

const char *jstr(json_object *o, const char *path) {
  json_object *v = jpath(o, path);
  return v != NULL && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

int64_t jint(json_object *o, const char *path) {
  json_object *v = jpath(o, path);
  if (v == NULL)
    fail_msg("no %s in %s", path, json_object_to_json_string(o));
  return json_object_get_int64(v);
}

void assert_rpc_error(json_object *o, int code, const char *part) {
  const char *msg = jstr(o, "error.message");
  if (jpath(o, "error.code") == NULL || jint(o, "error.code") != code ||
      msg == NULL || strstr(msg, part) == NULL)
    fail_msg("expected error %d containing \"%s\", got %s", code, part,
             json_object_to_json_string(o));
}
