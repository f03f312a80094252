/* src/client/sse_parse.h: an incremental text/event-stream parser, as the
 * WHATWG HTML standard ("9.2 Server-sent events", "Interpreting an event
 * stream") describes it: lines end with CRLF, LF or CR (even split across
 * feeds), a leading BOM is skipped, ':' lines are comments, fields are
 * data, event, id and retry, a blank line dispatches. Bounded: a line, an
 * event's data and its type never grow past the limits given at init.
 * Internal. The server-side writer is src/transport/sse.c.
 */
#ifndef CMCP_CLIENT_SSE_PARSE_H
#define CMCP_CLIENT_SSE_PARSE_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* Longest event type and event id kept. */
#define CMCP__SSEP_NAME_MAX 256

/* One dispatched event; everything is valid during the callback only. */
typedef struct cmcp__ssep_event {
  const char *type; /* the event field, "message" when absent */
  const char *data; /* data lines joined with LF (NUL-terminated) */
  size_t len;
  const char *id; /* the last event id so far ("" when none) */
} cmcp__ssep_event;

/* Gets each event; a non-zero return stops the feed at once and is
 * returned by cmcp__ssep_feed (the parser is then not touched again by
 * that call, so the callback may free it). */
typedef int (*cmcp__ssep_fn)(void *data, const cmcp__ssep_event *ev);

typedef struct cmcp__ssep {
  cmcp__buf line;                        /* a line split across feeds */
  cmcp__buf data;                        /* the event's data so far */
  cmcp__buf type;                        /* the event's type ("" : "message") */
  char id[CMCP__SSEP_NAME_MAX + 1];      /* the id buffer */
  char last_id[CMCP__SSEP_NAME_MAX + 1]; /* last event id, set at dispatch */
  int64_t retry_ms; /* the last valid retry field, -1 when none */
  int has_data;     /* a data field was seen in this event */
  int bom;          /* bytes of the BOM matched so far; 3: past it */
  int after_cr;     /* the previous byte ended a line with CR */
} cmcp__ssep;

/* Sets up p for one stream; an event's data may hold up to max_event
 * bytes (a longer one fails the feed with CMCP_ELIMIT). */
void cmcp__ssep_init(cmcp__ssep *p, size_t max_event);
/* Releases p's memory (p may be fed again afterwards from the start of an
 * event, keeping its limits, ids and retry). */
void cmcp__ssep_free(cmcp__ssep *p);
/* Forgets a partly received event and line (a stream cut mid-event),
 * keeping the last event id and retry. */
void cmcp__ssep_reset(cmcp__ssep *p);

/* Parses buf[0..len), calling cb for each whole event. 0, CMCP_ELIMIT (a
 * line, event or name too long), CMCP_ENOMEM, or cb's non-zero return. */
int cmcp__ssep_feed(cmcp__ssep *p, const char *buf, size_t len,
                    cmcp__ssep_fn cb, void *data);

/* 1 while an event has been started and not dispatched. */
int cmcp__ssep_pending(const cmcp__ssep *p);

#endif /* CMCP_CLIENT_SSE_PARSE_H */
