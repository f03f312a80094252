/* src/transport/sse.h: Server-Sent Events framing for Streamable HTTP.
 * Internal.
 *
 * Encoding follows the WHATWG event-stream format: each event is a block of
 * "field: value" lines ended by an empty line. Data that holds line breaks
 * (LF, CRLF or a lone CR) is split into one "data:" line per line, which a
 * client joins back with LF. Fields other than data (id, event) may not
 * hold CR, LF or NUL: the format has no escape for them.
 *
 * Event ids: cmcp numbers events per session and gives each stream of a
 * session a number; an id is "STREAM-SEQ" in decimal (no sign, no leading
 * zero, at most 19 digits each), so a Last-Event-ID names both the stream
 * to resume and the last event the client saw on it.
 */
#ifndef CMCP_TRANSPORT_SSE_H
#define CMCP_TRANSPORT_SSE_H

#include "base/base.h"
#include <stddef.h>
#include <stdint.h>

/* Longest event id text, with its NUL ("STREAM-SEQ", 19 digits each). */
#define CMCP__SSE_ID_MAX 40

/* The most bytes one event with len bytes of data can take: every byte a
 * line break ("data: " and LF each), plus the id and event fields. */
#define CMCP__SSE_EVENT_MAX(len) ((len)*7 + 256)

/* Appends one event to out: "id:" when id is not NULL, "event:" when event
 * is not NULL, then data[0..len) as data lines (one empty data line when
 * len is 0), then the blank line. CMCP_EINVAL when id or event holds CR, LF
 * or NUL (nothing appended), CMCP_ELIMIT / CMCP_ENOMEM from the buffer (out
 * keeps what it had). */
int cmcp__sse_event(cmcp__buf *out, const char *id, const char *event,
                    const char *data, size_t len);

/* Appends a priming event: an id, a retry field (retry_ms; none when 0)
 * and one empty data line, so that a client knows where to resume from
 * before any message was sent. Same errors as cmcp__sse_event. */
int cmcp__sse_priming(cmcp__buf *out, const char *id, uint32_t retry_ms);

/* Appends a comment (": text", or ":" alone when text is NULL or empty),
 * which clients ignore: a keep-alive. CMCP_EINVAL for CR/LF in text. */
int cmcp__sse_comment(cmcp__buf *out, const char *text);

/* Writes the id of event seq on stream into buf (at least
 * CMCP__SSE_ID_MAX bytes). Returns the length, or CMCP_EINVAL when buf is
 * too small or a number has more than 19 digits. */
int cmcp__sse_id_format(char *buf, size_t size, uint64_t stream, uint64_t seq);

/* Parses a Last-Event-ID value made by cmcp__sse_id_format, strictly: two
 * decimal numbers (no sign, no leading zeros, 1..19 digits) joined by one
 * '-', nothing before or after. Returns 0, or CMCP_EPARSE (s NULL too). */
int cmcp__sse_id_parse(const char *s, uint64_t *stream, uint64_t *seq);

#endif /* CMCP_TRANSPORT_SSE_H */
