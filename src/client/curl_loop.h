/* src/client/curl_loop.h: libcurl's multi-socket interface driven by a libuv
 * loop. One multi handle per uv loop, shared by every client and every
 * fetch on that loop (so connections are reused across them), refcounted.
 * Internal.
 *
 * libcurl forbids calling its multi functions from inside its own
 * callbacks (write, header). A transport that hands a message to the
 * engine from a write callback may see the engine send another request or
 * abandon one at once; cmcp__curl_add and cmcp__curl_cancel therefore
 * defer their work until the current curl call returns when they are
 * called from inside one. Everything runs on the loop's thread.
 */
#ifndef CMCP_CLIENT_CURL_LOOP_H
#define CMCP_CLIENT_CURL_LOOP_H

#include <curl/curl.h>
#include <uv.h>

typedef struct cmcp__curl_loop cmcp__curl_loop;
typedef struct cmcp__curl_xfer cmcp__curl_xfer;

/* One transfer, embedded in its owner's struct. The owner sets easy, done
 * and release; the rest is the loop's. */
struct cmcp__curl_xfer {
  CURL *easy;
  /* The transfer ended (rc CURLE_OK or why not). easy is already out of
   * the multi handle: the owner may clean it up or reuse it. Never runs
   * inside cmcp__curl_add. */
  void (*done)(cmcp__curl_xfer *x, CURLcode rc);
  /* After cmcp__curl_cancel: easy is out of the multi handle and the owner
   * may free it and x. Runs inside cmcp__curl_cancel when that is safe,
   * else once the curl call in progress returns. May be NULL. */
  void (*release)(cmcp__curl_xfer *x);
  /* ---- private ---- */
  cmcp__curl_loop *cl;
  cmcp__curl_xfer *next; /* deferred-work list */
  int state;
};

/* The curl loop of uv loop (created on first use), with a new reference.
 * NULL on ENOMEM or when libcurl cannot be set up. */
cmcp__curl_loop *cmcp__curl_loop_get(uv_loop_t *loop);
/* Drops a reference. The last one closes the multi handle and its uv
 * handles (the memory goes once the loop has run their close callbacks);
 * every transfer must have ended or been cancelled before. */
void cmcp__curl_loop_put(cmcp__curl_loop *cl);
/* The same, then closed(data) once nothing of cl is left on the uv loop
 * (at once when other references remain or cl is NULL), so that a caller
 * on a private loop can close that loop afterwards. */
void cmcp__curl_loop_put_then(cmcp__curl_loop *cl, void (*closed)(void *),
                              void *data);
/* The uv loop it runs on. */
uv_loop_t *cmcp__curl_loop_uv(const cmcp__curl_loop *cl);

/* Starts transfer x (x->easy fully set up). 0, or CMCP_ENOMEM/CMCP_EIO
 * (then done never runs). x->done runs exactly once, later, unless the
 * transfer is cancelled first. */
int cmcp__curl_add(cmcp__curl_loop *cl, cmcp__curl_xfer *x);
/* Stops transfer x: done will not run; release runs once easy is out of
 * the multi handle. Safe on a transfer that was never added or has
 * already ended (release then runs at once). */
void cmcp__curl_cancel(cmcp__curl_xfer *x);
/* An easy handle in its default state: a reused one from the loop's pool
 * (so the steady state allocates none of libcurl's buffers) or a new one.
 * NULL on ENOMEM. */
CURL *cmcp__curl_easy(cmcp__curl_loop *cl);
/* Hands an easy handle that is in no multi handle back to the pool (or
 * cleans it up when the pool is full or cl is NULL). NULL is ignored. */
void cmcp__curl_easy_put(cmcp__curl_loop *cl, CURL *easy);

/* 1 while the loop is inside a libcurl call (in a write or header
 * callback), else 0. */
int cmcp__curl_in_callback(const cmcp__curl_loop *cl);

/* Longest response header value a transport keeps. */
#define CMCP__CURL_HEADER_MAX 8192
/* 1 if the header line p[0..n) is "name: ..." (name compared without
 * case), with *value just after the colon; else 0. */
int cmcp__curl_header_is(const char *p, size_t n, const char *name,
                         const char **value);
/* A copy of the header value v[0..n), trimmed of blanks and CR LF and cut
 * to CMCP__CURL_HEADER_MAX bytes. NULL on ENOMEM. */
char *cmcp__curl_header_copy(const char *v, size_t n);

#endif /* CMCP_CLIENT_CURL_LOOP_H */
