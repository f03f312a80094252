/* tests/fuzz/fuzz_client_msg.c: the client engine fed arbitrary messages
 * from a server.
 *
 * A client that looks connected (a test transport of this file at the
 * engine's boundary records what the engine sends and never fails) has
 * three requests pending — tools/call (ids 1), tools/list (2) and
 * resources/read (3) — and handlers for sampling, elicitation and roots
 * that answer at once, with an error for every third ask. The first byte
 * picks the era; every following line is one message from the server.
 * The engine must not crash or leak, each request's callback must run at
 * most once (exactly once by the end, when the client closes).
 */
#include "client/client_eng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sent; /* messages the engine sent */

static int ft_open(cmcp__ctransport *t) {
  (void)t;
  return 0;
}

static int ft_send(cmcp__ctransport *t, const char *json, size_t len,
                   const cmcp__csend *info) {
  (void)t;
  (void)json;
  (void)len;
  (void)info;
  sent++;
  return 0;
}

static int ft_open_stream(cmcp__ctransport *t) {
  (void)t;
  return CMCP_EUNSUPPORTED;
}

static void ft_abandon(cmcp__ctransport *t, int64_t id) {
  (void)t;
  (void)id;
}

static const char *ft_session_id(cmcp__ctransport *t) {
  (void)t;
  return NULL;
}

static void ft_close(cmcp__ctransport *t, void (*done)(cmcp__ctransport *)) {
  done(t);
  free(t);
}

static const cmcp__ctransport_vtbl ft_vtbl = {
    ft_open, ft_send, ft_open_stream, ft_abandon, ft_session_id, ft_close};

static int asks;

static void on_ask(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  (void)cli;
  (void)data;
  if (++asks % 3 == 0)
    cmcp_ask_reply_error(ask, -1, "refused");
  else if (cmcp_ask_reply(ask, "{\"action\":\"accept\",\"roots\":[]}") != 0)
    cmcp_ask_reply_error(ask, -1, "bad");
}

static void on_note(cmcp_client_t *cli, const char *method, json_object *params,
                    void *data) {
  (void)cli;
  (void)params;
  (void)data;
  if (!method)
    abort();
}

static int calls[3];

static void on_result(cmcp_client_t *cli, int status, json_object *result,
                      void *data) {
  int *n = data;
  (void)cli;
  (void)status;
  if (result)
    (void)json_object_to_json_string(result);
  if (++*n > 1)
    abort(); /* a callback ran twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const methods[] = {"tools/call", "tools/list",
                                        "resources/read"};
  static const char *const params[] = {"{\"name\":\"t\",\"arguments\":{}}",
                                       NULL, "{\"uri\":\"test://x\"}"};
  cmcp_client_t *cli = cmcp_client_new(NULL, "fuzz", "1");
  cmcp__ctransport *t = calloc(1, sizeof(*t));
  size_t i = 1;
  int made = cli != NULL;
  if (!cli || !t || size == 0)
    goto out;
  t->vt = &ft_vtbl;
  t->cli = cli;
  t->loop = cmcp_client_loop(cli);
  cmcp_client_on_sampling(cli, on_ask, NULL);
  cmcp_client_on_elicitation(cli, CMCP_ELICIT_FORM | CMCP_ELICIT_URL, on_ask,
                             NULL);
  cmcp_client_on_roots(cli, 1, on_ask, NULL);
  cmcp_client_on_notification(cli, on_note, NULL);
  cmcp_client_set_limit(cli, CMCP_CLIENT_LIMIT_MESSAGE_BYTES, 1 << 16);
  /* Connected-looking: what cmcp_client_connect leaves behind. */
  cli->t = t;
  t = NULL;
  cli->transport_open = 1;
  cli->state = CMCP__CLI_READY;
  cli->modern = data[0] & 1;
  cli->protocol = cli->modern ? CMCP_PROTOCOL_MODERN : "2025-11-25";
  memset(calls, 0, sizeof(calls));
  for (int k = 0; k < 3; k++)
    if (cmcp_client_request(cli, methods[k], params[k], 0, 0, on_result,
                            &calls[k], NULL) != 0)
      abort();
  while (i < size) {
    const uint8_t *nl = memchr(data + i, '\n', size - i);
    size_t len = nl ? (size_t)(nl - (data + i)) : size - i;
    cmcp__client_on_message(cli, (const char *)data + i, len);
    i += len + 1;
  }
out:
  free(t);
  cmcp_client_free(cli);
  for (int k = 0; k < 3; k++)
    if (made && size > 0 && calls[k] != 1)
      abort(); /* closing must complete every pending request */
  return 0;
}
