/* tests/unit/helper_engine.h: a test transport for the MCP engine.
 *
 * A tpeer wraps one cmcp__peer_t whose ops capture every outbound message
 * (parsed back into json-c), queue ops->post closures for the test thread
 * to run (tp_pump), and run blocking work on real threads. Everything is
 * bounded: queues hold at most TP_MAX messages and every wait has a
 * timeout.
 */
#ifndef CMCP_TEST_HELPER_ENGINE_H
#define CMCP_TEST_HELPER_ENGINE_H

#include "proto/peer.h"

#include <json-c/json.h>
#include <pthread.h>

#define TP_MAX 512

enum {
  TP_POST = 1,     /* ops->post queues for tp_pump (else NULL: inline) */
  TP_BLOCKING = 2, /* ops->run_blocking on a thread (else NULL: inline) */
  TP_BUSY = 4      /* ops->run_blocking answers CMCP_ELIMIT */
};

typedef struct tp_job tp_job;

typedef struct tpeer {
  cmcp_server_t *srv;
  cmcp__peer_t *peer;
  cmcp__peer_ops ops;
  json_object *out[TP_MAX];
  cmcp__out_kind kind[TP_MAX];
  json_object *related[TP_MAX];
  int status[TP_MAX];
  size_t n, next;
  int send_rc; /* what ops->send returns (0 by default) */
  int close_calls;
  int close_now; /* ops->close closes the peer at once */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  tp_job *head, *tail;
  int threads; /* blocking threads still running */
} tpeer;

tpeer *tp_new(cmcp_server_t *srv, unsigned flags);
/* As tp_new with no flags, but NULL when the peer cannot be made (ENOMEM
 * tests). */
tpeer *tp_new_or_null(cmcp_server_t *srv);
/* Closes the peer (if still open), drains posted jobs, frees. */
void tp_free(tpeer *tp);
/* Feeds one message text; asserts the feed returned 0. */
void tp_feed(tpeer *tp, const char *json);
/* The next captured message not yet taken (borrowed; freed by tp_free),
 * or NULL. */
json_object *tp_next(tpeer *tp);
/* Feeds text and returns the next message, failing if there is none. */
json_object *tp_call(tpeer *tp, const char *json);
/* Runs posted closures until at least want messages were captured in
 * total or timeout_ms passed; returns the number captured. */
size_t tp_pump(tpeer *tp, size_t want, int timeout_ms);
/* Legacy handshake at version with the client capabilities caps_json. */
void tp_initialize(tpeer *tp, const char *version, const char *caps_json);

/* A value by dotted path ("result.tools.0.name"; array indexes are
 * numbers), or NULL. */
json_object *jpath(json_object *o, const char *path);
const char *jstr(json_object *o, const char *path);
int64_t jint(json_object *o, const char *path);
/* Asserts o is an error response with code whose message contains part. */
void assert_rpc_error(json_object *o, int code, const char *part);

/* The modern _meta text for a request ("{...}"), with capabilities. */
#define MODERN_META(caps)                                                      \
  "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","     \
  "\"io.modelcontextprotocol/clientCapabilities\":" caps ","                   \
  "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}"

#endif /* CMCP_TEST_HELPER_ENGINE_H */
