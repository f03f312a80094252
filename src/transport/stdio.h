/* src/transport/stdio.h: the stdio transport. Internal.
 *
 * Serves one peer on a pair of file descriptors with newline-delimited
 * JSON-RPC (spec, basic/transports, "stdio"), on a private libuv loop:
 *   - input of any kind: pipe, socket, tty, regular file or /dev/null (the
 *     last two are read with plain read(): libuv cannot open them as
 *     streams); output likewise (a file or /dev/null is written with
 *     write());
 *   - input is split by the framer (framing.h); a line longer than the
 *     message limit is answered with -32600 and skipped without buffering;
 *   - output is queued in a bounded buffer and written once per loop turn.
 *     Back-pressure: when the queue reaches the outbound limit, input stops
 *     being read until it drains to half; a message that would take the
 *     queue past twice the limit is refused with CMCP_ELIMIT, which the
 *     engine treats as a slow consumer and ends the conversation;
 *   - blocking handlers run on a bounded worker pool, asynchronous ones
 *     finish through a mailbox; the peer's tick runs on a timer.
 *
 * End of input (EOF): reading stops; responses keep flowing while in-flight
 * work finishes, and the transport ends when nothing is in flight. A call
 * that waits for the client's answer to a server->client request can never
 * finish, since the answer would have come on the closed input: once no
 * blocking job is left and the server has asked the client anything, the
 * peer is closed (those calls are cancelled) after the responses of the
 * finished work are written. Output is flushed before the transport ends.
 *
 * Signals (only when asked for, by cmcp_server_main): SIGINT/SIGTERM stop
 * reading and give in-flight work drain_timeout_ms to finish. At the
 * deadline (or on a second signal) the calls still in flight are cancelled
 * and the output and the cancelled blocking handlers get one more second;
 * past that the output is dropped and handlers still running are left to
 * the process's end (CMCP_ETIMEDOUT below).
 */
#ifndef CMCP_STDIO_H
#define CMCP_STDIO_H

#include "cmcp/server.h"
#include <stddef.h>
#include <stdint.h>

typedef struct cmcp__stdio_config {
  size_t max_message_bytes; /* longest line (CMCP_LIMIT_MESSAGE_BYTES) */
  size_t outbound_bytes;    /* back-pressure threshold */
  int workers;              /* worker threads */
  size_t worker_queue;      /* waiting blocking calls */
  int handle_signals;       /* install SIGINT/SIGTERM handling */
  int64_t drain_timeout_ms; /* with handle_signals */
  uint32_t max_queue_delay_ms; /* shed new requests above it; 0: off */
} cmcp__stdio_config;

/* Fills cfg from the server's limits (drain timeout 5000 ms, no signals). */
void cmcp__stdio_config_from(cmcp__stdio_config *cfg, const cmcp_server_t *srv);

/* Serves srv on in_fd/out_fd until the conversation ends (see above). The
 * descriptors are not closed and their file status flags are restored.
 * Returns 0 on a clean end (EOF, signal, or the reader of out_fd gone),
 * CMCP_ECLOSED if the engine ended the conversation (slow consumer),
 * CMCP_EIO on a read error or unusable descriptor, CMCP_ENOMEM, or
 * CMCP_ETIMEDOUT when a drain timeout left blocking handlers running: their
 * threads still use srv and the transport's memory, so the caller must
 * then end the process without freeing anything. */
int cmcp__stdio_serve(cmcp_server_t *srv, int in_fd, int out_fd,
                      const cmcp__stdio_config *cfg);

#endif /* CMCP_STDIO_H */
