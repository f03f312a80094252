/* src/proto/complete.c: turning a finished call into its answer.
 *
 * Runs on the peer's loop thread. A result or error is sent and the call
 * retired; a call that needs input becomes an InputRequiredResult on the
 * 2026-07-28 wire, or real server->client requests on a legacy session
 * (the call then waits in the in-flight table until every answer is in).
 */
#include "engine.h"

#include <string.h>

/* Fills a random hex elicitationId (2025-11-25 requires one in URL mode). */
static int ensure_elicitation_id(json_object *params) {
  unsigned char raw[8];
  char hex[17];
  int i;
  if (json_object_object_get_ex(params, "elicitationId", NULL))
    return 0;
  if (cmcp__random(raw, sizeof(raw)) != 0)
    return CMCP_EIO;
  for (i = 0; i < 8; i++)
    snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  return json_object_object_add(params, "elicitationId",
                                json_object_new_string(hex)) == 0
             ? 0
             : CMCP_ENOMEM;
}

/* Why a legacy session cannot carry this ask, or NULL if it can. */
static const char *legacy_ask_problem(const cmcp_call_t *call,
                                      json_object *ask) {
  const char *method = cmcp__json_get_string(ask, "method");
  json_object *params = cmcp__json_get_object(ask, "params"), *missing;
  const char *mode = cmcp__json_get_string(params, "mode");
  if (strcmp(method, "elicitation/create") == 0) {
    if (call->version > CMCP__V2025_06_18)
      return "elicitation needs protocol version 2025-06-18 or later";
    if (mode != NULL && strcmp(mode, "url") == 0 &&
        call->version > CMCP__V2025_11_25)
      return "URL elicitation needs protocol version 2025-11-25";
  }
  missing = cmcp__ask_missing_cap(call, ask);
  if (missing != NULL) {
    json_object_put(missing);
    return "the client did not declare the capability it needs";
  }
  return NULL;
}

/* Adapts an ask's params to the session's version, in place. */
static int legacy_adapt(const cmcp_call_t *call, json_object *ask) {
  json_object *params = cmcp__json_get_object(ask, "params");
  const char *mode = cmcp__json_get_string(params, "mode");
  if (strcmp(cmcp__json_get_string(ask, "method"), "elicitation/create") != 0)
    return 0;
  if (call->version > CMCP__V2025_11_25) { /* 2025-06-18: no mode field */
    json_object_object_del(params, "mode");
    return 0;
  }
  return mode != NULL && strcmp(mode, "url") == 0
             ? ensure_elicitation_id(params)
             : 0;
}

/* Sends the call's asks as server->client requests. Returns 1 when the
 * call now waits for the answers, 0 when it was answered (error). */
static int legacy_input(cmcp_call_t *call) {
  cmcp__peer_t *peer = call->peer;
  char text[300];
  if (call->asks == NULL || json_object_object_length(call->asks) == 0) {
    cmcp__send_error(peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Internal error: the handler needs input but asked for "
                     "none",
                     NULL);
    return 0;
  }
  {
    json_object_object_foreach(call->asks, key, ask) {
      const char *why = legacy_ask_problem(call, ask);
      if (why != NULL || legacy_adapt(call, ask) != 0) {
        snprintf(text, sizeof(text),
                 "Internal error: cannot ask the client "
                 "for '%s': %s",
                 key, why != NULL ? why : "out of memory");
        cmcp__send_error(peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR, text,
                         NULL);
        return 0;
      }
    }
  }
  if (call->inputs == NULL && (call->inputs = json_object_new_object()) == NULL)
    goto nomem;
  /* The handler's state comes back to it in the next round. */
  if (call->state_out != NULL) {
    cmcp__free(call->state_in);
    call->state_in = call->state_out;
    call->state_out = NULL;
  }
  {
    json_object_object_foreach(call->asks, key, ask) {
      int rc =
          cmcp__send_ask(peer, call, key, cmcp__json_get_string(ask, "method"),
                         cmcp__json_get_object(ask, "params"));
      if (rc == CMCP_ECLOSED)
        return 0;
      if (rc != 0)
        goto nomem;
    }
  }
  json_object_put(call->asks);
  call->asks = NULL;
  return 1;
nomem:
  cmcp__asks_drop_call(peer, call);
  cmcp__send_error(peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR, "Out of memory",
                   NULL);
  return 0;
}

/* Sends the InputRequiredResult (or the error that replaces it). */
static void modern_input(cmcp_call_t *call) {
  int code = 0;
  const char *msg = NULL;
  json_object *data = NULL, *r = cmcp__mrtr_result(call, &code, &msg, &data);
  if (r == NULL) {
    cmcp__send_error(call->peer, call->id, code, msg, data);
  } else if (cmcp__modern_decorate(call->srv, r, 0, "input_required") != 0) {
    cmcp__send_error(call->peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  } else {
    cmcp__send_result(call->peer, call->id, r);
  }
  if (r != NULL)
    json_object_put(r);
  if (data != NULL)
    json_object_put(data);
}

/* Sends a tools/call result written as text (no json-c tree). */
static void send_tool_result(cmcp_call_t *call) {
  cmcp__out_info info = {CMCP__OUT_RESPONSE, call->id, 0};
  int code = 0;
  const char *msg = NULL;
  cmcp__buf b;
  cmcp__buf_init(&b, (size_t)cmcp__limit(call->srv, CMCP_LIMIT_OUTBOUND_BYTES));
  /* one allocation for the usual answer */
  if (cmcp__w_reserve(
          &b, call->content.len + 192 +
                  (call->modern ? strlen(call->srv->info_modern) : 0)) != 0 ||
      cmcp__w_envelope_start(&b, call->id) != 0 ||
      cmcp__tool_result_text(call, &b, 1, &code, &msg) != 0 ||
      cmcp__buf_add(&b, "}", 1) != 0) {
    cmcp__buf_free(&b);
    cmcp__send_error(call->peer, call->id,
                     code != 0 ? code : CMCP_JSONRPC_INTERNAL_ERROR,
                     msg != NULL ? msg : "Out of memory", NULL);
    return;
  }
  cmcp__send_text(call->peer, b.data, b.len, &info);
  cmcp__buf_free(&b);
}

/* Sends the result of a DONE / TOOL_ERROR call. */
static void send_result(cmcp_call_t *call) {
  int code = 0;
  const char *msg = NULL;
  json_object *r;
  if (call->method == CMCP__M_TOOLS_CALL) {
    send_tool_result(call);
    return;
  }
  r = cmcp__call_result(call, &code, &msg);
  if (r == NULL) {
    cmcp__send_error(call->peer, call->id, code, msg, NULL);
    return;
  }
  if (call->modern && cmcp__modern_decorate(
                          call->srv, r, call->method == CMCP__M_RESOURCES_READ,
                          "complete") != 0)
    cmcp__send_error(call->peer, call->id, CMCP_JSONRPC_INTERNAL_ERROR,
                     "Out of memory", NULL);
  else
    cmcp__send_result(call->peer, call->id, r);
  json_object_put(r);
}

/* Sends the call's outcome; 1 if the call stays in flight. */
static int deliver(cmcp_call_t *call) {
  switch (call->outcome) {
  case CMCP__OUT_ERROR:
    cmcp__send_error(call->peer, call->id, call->err_code,
                     call->err_msg != NULL ? call->err_msg : "Internal error",
                     call->err_data);
    return 0;
  case CMCP__OUT_NEED_INPUT:
    if (!call->modern)
      return legacy_input(call);
    modern_input(call);
    return 0;
  default:
    send_result(call);
    return 0;
  }
}

void cmcp__call_complete(cmcp_call_t *call) {
  cmcp__peer_t *peer = call->peer;
  cmcp__stats_meter *outer;
  int keep = 0;
  if (call->task != NULL && call->srv->tasks != NULL &&
      call->srv->tasks->finished != NULL && call->srv->tasks->finished(call))
    return;
  call->completing = 1;
  /* "Receivers of a cancellation notification SHOULD ... Not send a
   * response for the cancelled request" (cancellation) */
  call->meter.tool_error = call->outcome == CMCP__OUT_TOOL_ERROR;
  outer = cmcp__stats_meter_push(&call->meter);
  if (call->peer_linked && !atomic_load(&peer->closed) &&
      !atomic_load(&call->cancelled))
    keep = deliver(call);
  cmcp__stats_meter_pop(outer);
  call->completing = 0;
  if (keep && call->peer_linked && !atomic_load(&peer->closed))
    return;
  cmcp__asks_drop_call(peer, call);
  cmcp__inflight_remove(peer, call);
  cmcp__call_free(call);
}
