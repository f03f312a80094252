/* src/transport/http_conn.h: one HTTP/1.1 connection's protocol state, with
 * no socket underneath.
 *
 * Internal to src/transport/http*. The connection core parses bytes given to
 * cmcp__http_conn_feed, runs the handler, orders responses, and queues the
 * bytes to send as chunks; what carries them is a sink (cmcp__http_conn_ops):
 * the libuv server in http_server.c, or a fuzz/test harness that drives the
 * core directly.
 */
#ifndef CMCP_TRANSPORT_HTTP_CONN_H
#define CMCP_TRANSPORT_HTTP_CONN_H

#include "transport/http.h"
#include <llhttp.h>

/* One piece of output, allocated with its bytes. */
typedef struct cmcp__http_chunk {
  struct cmcp__http_chunk *next;
  size_t len;
  char data[];
} cmcp__http_chunk;

/* Frees a list of chunks. */
void cmcp__http_chunks_free(cmcp__http_chunk *list);

/* The read deadline a connection is under. */
enum {
  CMCP__HTTP_T_NONE = 0, /* waiting for the handler or the writer */
  CMCP__HTTP_T_HEAD,     /* reading a request head */
  CMCP__HTTP_T_BODY,     /* reading a request body */
  CMCP__HTTP_T_IDLE,     /* keep-alive, nothing in flight */
  CMCP__HTTP_T_LINGER,   /* closing: draining input after the last byte */
  CMCP__HTTP_T_SEND,     /* (sink only) output waits on a peer not reading */
  CMCP__HTTP_T_COUNT
};

typedef struct cmcp__http_conn cmcp__http_conn;

/* What the core asks of its sink. None of them may free the connection. */
typedef struct cmcp__http_conn_ops {
  /* Chunks are ready: take them with cmcp__http_conn_take_output (soon, not
   * necessarily now). */
  void (*want_write)(cmcp__http_conn *c);
  /* Stop (on = 0) or restart (on = 1) reading from the peer. */
  void (*set_reading)(cmcp__http_conn *c, int on);
  /* Arms the read deadline of the given kind from now (NONE disarms). */
  void (*set_timer)(cmcp__http_conn *c, int kind);
  /* The connection is over. graceful: every byte was queued and written,
   * shut the write side down politely; otherwise close at once. The sink
   * must call cmcp__http_conn_teardown (now or soon). */
  void (*finish)(cmcp__http_conn *c, int graceful);
} cmcp__http_conn_ops;

/* What every connection of one server shares. */
typedef struct cmcp__http_ctx {
  cmcp__http_config cfg;
  cmcp__http_handler_fn on_request;
  void *data;
  const cmcp__http_conn_ops *ops;
  cmcp__http_stats stats;
} cmcp__http_ctx;

struct cmcp__http_conn {
  llhttp_t parser;
  cmcp__http_ctx *ctx;
  struct cmcp__http_request *cur;   /* being parsed */
  struct cmcp__http_request *first; /* dispatched, in order */
  struct cmcp__http_request *last;
  cmcp__http_chunk *out_first; /* ready for the sink */
  cmcp__http_chunk *out_last;
  cmcp__buf *unparsed;      /* bytes held while reading is paused */
  size_t out_bytes;         /* unwritten: ready + taken by the sink */
  size_t head_bytes;        /* raw bytes of the head (or trailers) so far */
  uint16_t nqueued;         /* dispatched requests not yet popped */
  uint8_t phase;            /* between messages, head, body, trailers */
  uint8_t event;            /* what made llhttp pause */
  uint16_t error;           /* HTTP status of a parse error, 0 if none */
  uint8_t prev;             /* scanner: last head byte was CR (1) or LF (2) */
  uint8_t timer;            /* CMCP__HTTP_T_* last asked of the sink */
  size_t held_bytes;        /* bytes held by requests not yet at the front */
  unsigned paused : 1;      /* reading stopped: too many queued requests */
  unsigned closing : 1;     /* no more requests: close once output is out */
  unsigned eof : 1;         /* the peer finished sending */
  unsigned closed : 1;      /* torn down */
  unsigned finishing : 1;   /* finish() was called */
  unsigned draining : 1;    /* server shutdown: last response says close */
  unsigned stop_output : 1; /* a response closed the connection */
};

/* Request states. */
enum { CMCP__HTTP_R_PENDING = 0, CMCP__HTTP_R_STREAMING, CMCP__HTTP_R_DONE };

struct cmcp__http_request {
  cmcp__http_conn *conn;
  struct cmcp__http_request *next;
  cmcp__buf head; /* url NUL (name NUL value NUL)*, path/query split */
  cmcp__buf body;
  cmcp__http_chunk *held_first; /* output waiting for earlier responses */
  cmcp__http_chunk *held_last;
  cmcp__http_abort_fn on_abort;
  void *abort_data;
  uint32_t names_off; /* first header name in head */
  uint32_t path_off;  /* path in head, UINT32_MAX for "/" */
  uint32_t query_off; /* query in head, 0 for none */
  uint16_t nheaders;
  uint8_t method; /* llhttp_method_t */
  uint8_t minor;  /* HTTP/1.minor */
  uint8_t state;  /* CMCP__HTTP_R_* */
  unsigned keep_alive : 1;
  unsigned head_only : 1;     /* HEAD: headers only */
  unsigned want_continue : 1; /* 100 Continue owed once at the front */
  unsigned chunked : 1;       /* streamed with chunked framing */
  unsigned close_after : 1;   /* the connection closes after this one */
  unsigned synthetic : 1;     /* an error answer made by the server */
  unsigned url_done : 1;      /* parse: url stored */
  unsigned in_field : 1;      /* parse: inside a header name */
  unsigned need_value : 1;    /* parse: a name awaits its value's NUL */
};

/* The reason phrase of an HTTP status ("Unknown" for unlisted ones). */
const char *cmcp__http_reason(int status);
/* A chunk with room for len bytes (len set), or NULL on ENOMEM. */
cmcp__http_chunk *cmcp__http_chunk_new(size_t len);
/* Queues ch as part of req's response: out now if req is at the front,
 * else held until it is. */
void cmcp__http_conn_emit(cmcp__http_conn *c, struct cmcp__http_request *req,
                          cmcp__http_chunk *ch);
/* Pops answered requests off the front, releasing the next one's held
 * output; resumes reading, sends an owed 100 Continue, finishes when due. */
void cmcp__http_conn_advance(cmcp__http_conn *c);
/* Frees a request and everything it holds. NULL is fine. */
void cmcp__http_request_free(struct cmcp__http_request *req);

/* Sets up c (no allocation). */
void cmcp__http_conn_init(cmcp__http_conn *c, cmcp__http_ctx *ctx);
/* Parses len bytes from the peer, dispatching complete requests to the
 * handler. Bytes that arrive while reading is paused are held (bounded);
 * past the bound, or on ENOMEM, the connection is finished. */
void cmcp__http_conn_feed(cmcp__http_conn *c, const char *data, size_t len);
/* Continues parsing bytes held while paused (after set_reading(c, 1)). */
void cmcp__http_conn_resume(cmcp__http_conn *c);
/* The peer shut its write side: no more requests; queued ones are still
 * answered, a partial one is dropped. */
void cmcp__http_conn_eof(cmcp__http_conn *c);
/* The deadline armed by set_timer passed. */
void cmcp__http_conn_timeout(cmcp__http_conn *c);
/* Server shutdown: stop taking requests; finish once queued ones are out. */
void cmcp__http_conn_drain(cmcp__http_conn *c);
/* Hands the ready chunks (NULL if none) to the sink, which must report them
 * with cmcp__http_conn_written once sent or dropped, then free them. */
cmcp__http_chunk *cmcp__http_conn_take_output(cmcp__http_conn *c);
/* n bytes taken earlier left (or were dropped). */
void cmcp__http_conn_written(cmcp__http_conn *c, size_t n);
/* Aborts every unanswered request (abort callbacks run), frees all the core
 * holds except chunks already taken. c is inert afterwards. */
void cmcp__http_conn_teardown(cmcp__http_conn *c);
/* 1 when c holds nothing but its struct (an idle keep-alive connection). */
int cmcp__http_conn_idle(const cmcp__http_conn *c);

#endif /* CMCP_TRANSPORT_HTTP_CONN_H */
