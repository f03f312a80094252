/* client.h: clients, their connections and the runner that drives them
 * (run.c, mcp.c, http.c, stdio.c). */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include "bench.h"
#include "client/sse_parse.h"
#include "llhttp.h"

/* ---- HTTP connections (http.c) ---------------------------------------------
 */
enum {
  CONN_CONNECTING = 1,
  CONN_IDLE,    /* connected, no request in flight */
  CONN_BUSY,    /* a request in flight */
  CONN_HOLDING, /* an open stream being read */
  CONN_CLOSING
};

struct bench_client;

typedef struct bench_conn {
  uv_tcp_t tcp;
  llhttp_t parser;
  struct bench_client *cl;
  uint8_t state;
  uint8_t is_stream; /* reads an endless stream: count events only */
  uint8_t sse;       /* the response is text/event-stream */
  uint8_t retry_after;
  uint8_t in_sid; /* reading the Mcp-Session-Id value */
  uint8_t in_ct;  /* reading the Content-Type value */
  uint8_t in_ra;  /* reading Retry-After */
  uint8_t paused; /* slow read: reading stopped until the timer */
  uint8_t done;   /* the response is complete */
  uint8_t method; /* bench_method of the request, or 0xff (handshake) */
  uint16_t status;
  char field[20];
  uint8_t field_len;
  char sid[96]; /* Mcp-Session-Id of an initialize answer */
  uint8_t sid_len;
  int64_t id;              /* JSON-RPC id of the request in flight */
  uint64_t intended;       /* ns: when the request was meant to go */
  uint64_t sent_at;        /* ns: when it went */
  uint64_t deadline;       /* ms (uv_now): when it times out */
  cmcp__buf body;          /* JSON answer (or the answer event's data) */
  cmcp__ssep *ssep;        /* while an SSE body is read */
  uv_timer_t *slow;        /* slow read: resumes reading */
  uint64_t budget;         /* slow read: bytes still allowed this period */
  struct bench_conn *next; /* the client's other connections */
} bench_conn;

/* Opens a connection for cl from the next source address. The client hears
 * of it through bench_on_connected(). 0, or a negative cmcp status. */
int bench_conn_open(struct bench_client *cl, bench_conn *c);
/* Sends one request (whole bytes, taken over). 0 or a negative status. */
int bench_conn_send(bench_conn *c, char *req, size_t len);
/* Closes the connection; bench_on_closed() runs from its close callback. */
void bench_conn_close(bench_conn *c);

/* ---- what the connections tell the client layer (mcp.c) -------------------
 */
void bench_on_connected(bench_conn *c, int status);
/* A whole response: status, body (JSON) or NULL. */
void bench_on_response(bench_conn *c);
/* An event on a held stream. */
void bench_on_stream_event(bench_conn *c, const char *data, size_t len);
/* The connection broke (err: a bench_err) before or during a response. */
void bench_on_broken(bench_conn *c, int err);
/* The close callback ran: the memory of c is free to reuse. */
void bench_on_closed(bench_conn *c);

/* ---- clients and the runner ------------------------------------------------
 */
enum {
  CL_OFF,       /* not started */
  CL_HANDSHAKE, /* initialize / discover in progress */
  CL_READY,
  CL_BACKOFF, /* waiting to retry its handshake */
  CL_DONE
};

#define BENCH_BACKLOG 16 /* open loop: intended times waiting per client */

typedef struct bench_runner bench_runner;

typedef struct bench_client {
  bench_runner *r;
  int index; /* global client number (all processes) */
  uint8_t state;
  uint8_t hs;      /* handshake step */
  uint8_t waiting; /* closed loop: the next request waits for an answer */
  uint8_t stream_wanted;
  uint8_t idle; /* holds a stream, sends nothing */
  uint8_t nconns;
  char *sid;         /* legacy session id */
  bench_conn *conns; /* request connections */
  bench_conn *stream;
  uv_timer_t timer;
  uint64_t next;                   /* ns: intended time of the next request */
  uint64_t interval;               /* ns between requests (0: unpaced) */
  uint64_t seq;                    /* requests made */
  uint64_t backlog[BENCH_BACKLOG]; /* intended times not yet sent */
  uint8_t bl_head, bl_len;
  uint8_t bl_late;   /* the oldest waited for a connection */
  uint64_t retry_at; /* ms: retry the handshake, reopen the stream */
} bench_client;

struct bench_runner {
  uv_loop_t loop;
  const bench_opts *o;
  bench_tick_fn fn;
  void *fn_data;
  bench_client *clients;
  int nclients;    /* this process's clients */
  int nidle;       /* the first nidle of them are idle */
  int started;     /* clients started so far */
  int ready;       /* clients ready */
  int handshaking; /* clients in their handshake */
  int streams;     /* streams open */
  int src_next;    /* round-robin source address */
  uint64_t t0;     /* ns: start */
  uint64_t end;    /* ns: t0 + --duration; nothing is meant to go later */
  uint64_t budget; /* requests still allowed (UINT64_MAX: no bound) */
  int stopping;
  int sec;
  int step;
  int steady;           /* every wanted client ready since the tick began */
  int step_target;      /* clients wanted now */
  uint64_t drain_until; /* ns since start: in-flight requests give up */
  bench_counters c;     /* this second */
  bench_hist h;         /* this second: latency from intended times */
  bench_hist svc;       /* this second: latency from send times */
  uv_timer_t tick, pace, sweep;
  uv_signal_t sigint; /* ends the run early, with a report */
  uint8_t mix[BENCH_MIX_MAX];
  int nmix;
  char *pad;                 /* payload bytes ('x'), NUL-terminated */
  char *head[BENCH_M_COUNT]; /* HTTP head of each method, up to the
                                session id and Content-Length */
  char *post[BENCH_M_COUNT]; /* body of each method after the id */
  uint64_t inflight;         /* requests sent, not yet answered */
  void *stdio;               /* stdio.c's state with --stdio */
};

uint64_t bench_now_ns(void);
/* Clients wanted at ns since start (ramp, steps). */
int bench_target_clients(const bench_runner *r, uint64_t since);

/* mcp.c */
void bench_client_start(bench_client *cl);
void bench_client_stop(bench_client *cl);
/* Checks timeouts of the client's requests at loop time now_ms. */
void bench_client_sweep(bench_client *cl, uint64_t now_ms);
/* Makes the request templates of every method (run start). 0 or
 * CMCP_ENOMEM; bench_templates_free() releases them. */
int bench_templates_init(bench_runner *r);
void bench_templates_free(bench_runner *r);
/* The JSON-RPC body of request id of method m into b. */
int bench_build_body(const bench_runner *r, int m, int64_t id, cmcp__buf *b);
/* Classifies an answer to request id of method m: -1 ok, else a
 * bench_err. */
int bench_classify(const char *json, size_t len, int64_t id, int m);
/* Takes the oldest intended time off cl's backlog to send it now: counts
 * it sent (and late), gives its method and id. */
uint64_t bench_client_take(bench_client *cl, int *m, int64_t *id);
/* cl's request is over (stdio): the client goes on. */
void bench_client_answered(bench_client *cl);
/* Records the outcome of one request (err: a bench_err, or -1 for ok):
 * an answer's latency from its intended time and from its send (sent). */
void bench_record(bench_runner *r, int err, uint64_t intended, uint64_t sent);

/* stdio.c */
int bench_stdio_start(bench_runner *r);
/* 1 once the server answered the handshake: clients may start. */
int bench_stdio_ready(const bench_runner *r);
void bench_stdio_stop(bench_runner *r);
void bench_stdio_free(bench_runner *r);
void bench_stdio_fire(bench_client *cl);
void bench_stdio_sweep(bench_runner *r, uint64_t now_ms);

#endif
