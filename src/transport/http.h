/* src/transport/http.h: a generic HTTP/1.1 server on one libuv loop.
 *
 * Internal. Knows nothing about MCP: it accepts connections, parses requests
 * with llhttp (strict: no lenient flags, bare LF and obs-fold rejected), hands
 * each complete request (head + body) to one handler, and writes responses
 * back strictly in request order, whatever order the handler answers in.
 * A malformed or refused request (400, 408, 413, 414, 417, 431, 501; an
 * HTTP/1.1 request without exactly one Host is a 400) is answered by the
 * server with Connection: close, after the answers queued before it.
 *
 * Back-pressure: reading stops while max_pipelined requests wait for their
 * answers or while max_outbound_bytes of answers wait for the peer to read
 * them, and resumes as they drain. A peer that shuts its side while one of
 * its requests is unanswered is taken as gone: that request is aborted.
 *
 * Threading: one server lives on one loop; every function here must be called
 * on that loop's thread. A multi-threaded runtime runs one server per loop,
 * each with its own SO_REUSEPORT listener (or an adopted listening fd).
 *
 * Callback contract (libuv's): if a call fails, the callback it would have
 * armed never runs; callbacks never fire inside the call that armed them.
 * The handler only ever runs from a read callback.
 *
 * Request lifetime: the handler receives a request handle that stays valid
 * until the request is answered (cmcp__http_respond, or cmcp__http_stream_end
 * after cmcp__http_stream_begin), or until its connection closes first; in
 * that case the abort callback set with cmcp__http_request_on_abort runs and
 * the handle is gone when it returns. An owner that answers asynchronously
 * must therefore set an abort callback. Every admitted request is answered
 * exactly once or aborted exactly once.
 */
#ifndef CMCP_TRANSPORT_HTTP_H
#define CMCP_TRANSPORT_HTTP_H

#include "base/base.h"
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- configuration ----------------------------------------------------- */
typedef struct cmcp__http_config {
  size_t max_header_bytes;    /* request line + headers; 16 KiB -> 431 */
  unsigned max_header_count;  /* 100 -> 431 */
  size_t max_body_bytes;      /* 4 MiB -> 413 */
  size_t max_url_bytes;       /* request target; 8 KiB -> 414 */
  uint32_t header_timeout_ms; /* first byte to end of headers; 10 s -> 408 */
  uint32_t body_timeout_ms;   /* end of headers to end of body; 30 s -> 408 */
  uint32_t idle_timeout_ms;   /* keep-alive idle; 60 s -> silent close */
  uint32_t send_timeout_ms;   /* answer bytes not moving; 30 s -> close */
  uint32_t drain_timeout_ms;  /* cmcp__http_server_close deadline; 10 s */
  unsigned max_connections;   /* 10,000; beyond: 503 + Retry-After, close */
  unsigned max_pipelined;     /* requests waiting for an answer per conn; 16 */
  size_t max_outbound_bytes;  /* unwritten response bytes per conn; 1 MiB */
} cmcp__http_config;

/* Fills cfg with the defaults above. A zero field given to
 * cmcp__http_server_new also takes its default. */
void cmcp__http_config_init(cmcp__http_config *cfg);

/* ---- requests ---------------------------------------------------------- */
typedef struct cmcp__http_request cmcp__http_request;

/* Called once per complete request (head and body read), on the loop. */
typedef void (*cmcp__http_handler_fn)(cmcp__http_request *req, void *data);
/* Called when the connection closes before req was answered (peer gone,
 * timeout, server drain deadline, slow consumer dropped). req is freed when
 * the callback returns; it must not be answered from inside it. */
typedef void (*cmcp__http_abort_fn)(cmcp__http_request *req, void *data);

/* "GET", "POST", ... (never NULL). */
const char *cmcp__http_request_method(const cmcp__http_request *req);
/* The request target's path, without the query ("/mcp"). */
const char *cmcp__http_request_path(const cmcp__http_request *req);
/* The query without its '?', or "" when there is none. */
const char *cmcp__http_request_query(const cmcp__http_request *req);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
int cmcp__http_request_minor(const cmcp__http_request *req);
/* The nth (0-based) value of header name (case-insensitive), trailing
 * whitespace removed; NULL when there is no such occurrence. */
const char *cmcp__http_request_header_nth(const cmcp__http_request *req,
                                          const char *name, size_t nth);
/* The first value of header name, or NULL. */
const char *cmcp__http_request_header(const cmcp__http_request *req,
                                      const char *name);
/* Number of header lines, and the ith (name, value) pair in wire order.
 * Returns CMCP_ENOENT when i is out of range. */
size_t cmcp__http_request_header_count(const cmcp__http_request *req);
int cmcp__http_request_header_at(const cmcp__http_request *req, size_t i,
                                 const char **name, const char **value);
/* The body (chunked bodies already decoded); *len gets its length. The
 * bytes are followed by a NUL that is not counted. Never NULL. */
const char *cmcp__http_request_body(const cmcp__http_request *req, size_t *len);
/* Sets the callback run if the connection closes before req is answered. */
void cmcp__http_request_on_abort(cmcp__http_request *req,
                                 cmcp__http_abort_fn fn, void *data);

/* ---- responses --------------------------------------------------------- */
typedef struct cmcp__http_header {
  const char *name;
  const char *value;
} cmcp__http_header;

/* Answers req with a complete response (Content-Length framing); req is
 * invalid afterwards. headers may be NULL when nheaders is 0. Content-Length
 * and Transfer-Encoding are set here and refused in headers; "Connection:
 * close" in headers closes the connection after this response. The bytes are
 * copied. A full response is never refused for the outbound bound (an
 * admitted request always gets its one answer).
 * Returns CMCP_EINVAL (bad status, header name/value with CR/LF/NUL or
 * refused name; req stays unanswered), CMCP_ESTATE (already streaming),
 * CMCP_ENOMEM (req stays unanswered). */
int cmcp__http_respond(cmcp__http_request *req, int status,
                       const cmcp__http_header *headers, size_t nheaders,
                       const void *body, size_t len);

/* Starts a streamed response: chunked transfer encoding on HTTP/1.1; on
 * HTTP/1.0 the body runs to the connection's close. Same header rules and
 * errors as cmcp__http_respond. */
int cmcp__http_stream_begin(cmcp__http_request *req, int status,
                            const cmcp__http_header *headers, size_t nheaders);
/* Queues len bytes of a started stream (len 0 does nothing). Writes made in
 * one loop turn leave in one writev. Returns CMCP_ELIMIT when the
 * connection's unwritten bytes would pass max_outbound_bytes while half of
 * it or more is waiting already (nothing is queued: the peer is not
 * reading; drop it with cmcp__http_request_abort: a write larger than the
 * bound is taken while less is waiting, so one big message gets through),
 * CMCP_ESTATE when no stream was begun, CMCP_ENOMEM. */
int cmcp__http_stream_write(cmcp__http_request *req, const void *data,
                            size_t len);
/* Ends the stream; req is invalid afterwards. CMCP_ESTATE if none was
 * begun, CMCP_ENOMEM (req stays valid; try again or abort it). */
int cmcp__http_stream_end(cmcp__http_request *req);

/* Closes req's connection at once (slow consumer, owner shutting down). req
 * is freed without its abort callback; other requests of the connection get
 * theirs. */
void cmcp__http_request_abort(cmcp__http_request *req);

/* ---- server ------------------------------------------------------------ */
typedef struct cmcp__http_server cmcp__http_server;

typedef struct cmcp__http_stats {
  uint64_t open_connections; /* now */
  uint64_t total_accepted;   /* ever, refused ones excluded */
  uint64_t refused;          /* refused at max_connections */
  uint64_t requests;         /* handed to the handler */
  uint64_t bad_requests;     /* answered 400/408/413/414/431/417 */
} cmcp__http_stats;

/* A server on loop; cfg NULL means the defaults (it is copied). on_request
 * runs for every complete request, with data. NULL on ENOMEM or when
 * on_request is NULL. Nothing listens until listen or adopt. */
cmcp__http_server *cmcp__http_server_new(uv_loop_t *loop,
                                         const cmcp__http_config *cfg,
                                         cmcp__http_handler_fn on_request,
                                         void *data);
/* Binds host (numeric IPv4 or IPv6) and port (0 picks one; read it back
 * with cmcp__http_server_port) and listens. reuseport sets SO_REUSEPORT so
 * several loops can each listen on the same port. CMCP_EINVAL (bad host),
 * CMCP_ESTATE (already listening), CMCP_EIO (bind/listen failed). */
int cmcp__http_server_listen(cmcp__http_server *srv, const char *host, int port,
                             int reuseport);
/* Adopts an already bound (listening or not) TCP socket fd; the server owns
 * it from then on, even on failure. Same errors as listen. */
int cmcp__http_server_adopt(cmcp__http_server *srv, int fd);
/* The bound port, or 0 when not listening. */
int cmcp__http_server_port(const cmcp__http_server *srv);
void cmcp__http_server_stats(const cmcp__http_server *srv,
                             cmcp__http_stats *out);

typedef void (*cmcp__http_close_fn)(cmcp__http_server *srv, void *data);
/* Stops accepting at once; idle connections close now, busy ones close
 * after their pending responses are written. At drain_timeout_ms the rest
 * are closed (their unanswered requests aborted). cb runs (never inside this
 * call) once every handle is closed; srv is freed after it returns. Calling
 * it twice does nothing the second time. */
void cmcp__http_server_close(cmcp__http_server *srv, cmcp__http_close_fn cb,
                             void *data);

/* Bytes of user memory an idle keep-alive connection holds (its struct:
 * the TCP handle, the parser and bookkeeping; no buffer is kept idle). */
size_t cmcp__http_idle_conn_bytes(void);

#endif /* CMCP_TRANSPORT_HTTP_H */
