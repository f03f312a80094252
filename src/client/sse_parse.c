/* src/client/sse_parse.c: the incremental event-stream parser (see
 * sse_parse.h). The comments quote the WHATWG "Interpreting an event
 * stream" steps they implement. */
#include "client/sse_parse.h"

#include <string.h>

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

void cmcp__ssep_init(cmcp__ssep *p, size_t max_event) {
  memset(p, 0, sizeof *p);
  /* A line holds a field name, ':', ' ' and the value. */
  cmcp__buf_init(&p->line, max_event + 16);
  /* The data buffer holds the data plus its final LF. */
  cmcp__buf_init(&p->data, max_event + 1);
  cmcp__buf_init(&p->type, CMCP__SSEP_NAME_MAX);
  p->retry_ms = -1;
}

void cmcp__ssep_free(cmcp__ssep *p) {
  cmcp__buf_free(&p->line);
  cmcp__buf_free(&p->data);
  cmcp__buf_free(&p->type);
}

void cmcp__ssep_reset(cmcp__ssep *p) {
  cmcp__buf_reset(&p->line);
  cmcp__buf_reset(&p->data);
  cmcp__buf_reset(&p->type);
  p->has_data = 0;
  p->after_cr = 0;
}

int cmcp__ssep_pending(const cmcp__ssep *p) {
  return p->has_data || p->line.len > 0 || p->type.len > 0;
}

/* "If the field value consists of only ASCII digits, then interpret the
 * field value as an integer in base ten, and set the event stream's
 * reconnection time to that integer. Otherwise, ignore the field." A
 * value too large for 32 bits is ignored too. */
static void set_retry(cmcp__ssep *p, const char *v, size_t n) {
  int64_t ms = 0;
  size_t i;
  if (n == 0 || n > 10)
    return;
  for (i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return;
    ms = ms * 10 + (v[i] - '0');
  }
  if (ms <= UINT32_MAX)
    p->retry_ms = ms;
}

/* "If the field value does not contain U+0000 NULL, then set the last
 * event ID buffer to the field value. Otherwise, ignore the field." */
static int set_id(cmcp__ssep *p, const char *v, size_t n) {
  if (memchr(v, '\0', n) != NULL)
    return 0;
  if (n > CMCP__SSEP_NAME_MAX)
    return CMCP_ELIMIT;
  memcpy(p->id, v, n);
  p->id[n] = '\0';
  return 0;
}

/* Processes one field. */
static int field(cmcp__ssep *p, const char *name, size_t nn, const char *v,
                 size_t n) {
  int rc;
  if (nn == 4 && memcmp(name, "data", 4) == 0) {
    /* "Append the field value to the data buffer, then append a single
     * U+000A LINE FEED (LF) character to the data buffer." */
    rc = cmcp__buf_add(&p->data, v, n);
    if (rc == 0)
      rc = cmcp__buf_add(&p->data, "\n", 1);
    p->has_data = 1;
    return rc;
  }
  if (nn == 5 && memcmp(name, "event", 5) == 0) {
    cmcp__buf_reset(&p->type);
    return n > 0 ? cmcp__buf_add(&p->type, v, n) : 0;
  }
  if (nn == 2 && memcmp(name, "id", 2) == 0)
    return set_id(p, v, n);
  if (nn == 5 && memcmp(name, "retry", 5) == 0)
    set_retry(p, v, n);
  return 0; /* "Otherwise: The field is ignored." */
}

/* A blank line: "dispatch the event". Returns cb's status. */
static int dispatch(cmcp__ssep *p, cmcp__ssep_fn cb, void *ud) {
  cmcp__ssep_event ev;
  int rc;
  /* "Set the last event ID string of the event source to the value of
   * the last event ID buffer." */
  memcpy(p->last_id, p->id, sizeof p->id);
  /* "If the data buffer is an empty string, set the data buffer and the
   * event type buffer to the empty string and return." */
  if (p->data.len == 0) {
    cmcp__buf_reset(&p->type);
    p->has_data = 0;
    return 0;
  }
  /* "If the data buffer's last character is a U+000A LINE FEED (LF)
   * character, then remove the last character from the data buffer." */
  p->data.len--;
  p->data.data[p->data.len] = '\0';
  ev.type = p->type.len > 0 ? p->type.data : "message";
  ev.data = p->data.data;
  ev.len = p->data.len;
  ev.id = p->last_id;
  rc = cb(ud, &ev);
  if (rc != 0)
    return rc; /* p may be gone */
  cmcp__buf_reset(&p->data);
  cmcp__buf_reset(&p->type);
  p->has_data = 0;
  return 0;
}

/* Processes one whole line (without its line break). */
static int line(cmcp__ssep *p, const char *s, size_t n, cmcp__ssep_fn cb,
                void *ud) {
  const char *colon;
  size_t nn;
  if (n == 0)
    return dispatch(p, cb, ud);
  if (s[0] == ':')
    return 0; /* "If the line starts with a U+003A COLON character (:)
                 Ignore the line." */
  colon = memchr(s, ':', n);
  if (colon == NULL) /* the whole line is the field name, value empty */
    return field(p, s, n, "", 0);
  nn = (size_t)(colon - s);
  colon++;
  /* "If value starts with a U+0020 SPACE character, remove it." */
  if (colon < s + n && *colon == ' ')
    colon++;
  return field(p, s, nn, colon, (size_t)(s + n - colon));
}

/* Skips the BOM at the start of the stream; bytes that began like one but
 * were not go to the line buffer. Returns how many bytes of buf it used,
 * or a negative status. */
static long skip_bom(cmcp__ssep *p, const char *buf, size_t len) {
  size_t i = 0;
  while (p->bom < 3 && i < len) {
    if ((unsigned char)buf[i] != BOM[p->bom]) {
      int rc = cmcp__buf_add(&p->line, BOM, (size_t)p->bom);
      p->bom = 3;
      return rc != 0 ? rc : (long)i;
    }
    p->bom++;
    i++;
  }
  return (long)i;
}

/* Index of the first CR or LF in buf[from..len), or len. */
static size_t find_break(const char *buf, size_t from, size_t len) {
  size_t i;
  for (i = from; i < len; i++)
    if (buf[i] == '\n' || buf[i] == '\r')
      break;
  return i;
}

int cmcp__ssep_feed(cmcp__ssep *p, const char *buf, size_t len,
                    cmcp__ssep_fn cb, void *ud) {
  size_t i = 0, j;
  int rc;
  long used = skip_bom(p, buf, len);
  if (used < 0)
    return (int)used;
  i = (size_t)used;
  while (i < len) {
    if (p->after_cr) { /* a CRLF split by the feeds: the LF is no line */
      p->after_cr = 0;
      if (buf[i] == '\n') {
        i++;
        continue;
      }
    }
    j = find_break(buf, i, len);
    if (j == len) /* an unfinished line waits for more */
      return cmcp__buf_add(&p->line, buf + i, len - i);
    if (p->line.len == 0) {
      /* the same bound whether or not the line came in one piece */
      rc =
          j - i > p->line.limit ? CMCP_ELIMIT : line(p, buf + i, j - i, cb, ud);
    } else {
      rc = cmcp__buf_add(&p->line, buf + i, j - i);
      if (rc == 0)
        rc = line(p, p->line.data, p->line.len, cb, ud);
      if (rc == 0)
        cmcp__buf_reset(&p->line);
    }
    if (rc != 0)
      return rc;
    if (buf[j] == '\r') {
      if (j + 1 < len && buf[j + 1] == '\n')
        j++;
      else if (j + 1 == len)
        p->after_cr = 1;
    }
    i = j + 1;
  }
  return 0;
}
