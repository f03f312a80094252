/* src/client/fetch.c: one HTTP request on the loop, for OAuth and
 * discovery (see cmcp__fetch in client_int.h). Redirects are never
 * followed: the caller reads Location itself. */
#include "client/client_int.h"
#include "client/curl_loop.h"

#include <limits.h>
#include <string.h>

typedef struct fetch {
  cmcp__curl_xfer x;
  cmcp__curl_loop *cl;
  struct curl_slist *headers;
  cmcp__buf body;
  char *www_authenticate, *location, *content_type;
  int over_limit; /* the body passed max_body */
  int no_memory;
  cmcp__fetch_cb cb;
  void *data;
  char err[CURL_ERROR_SIZE];
} fetch;

static void fetch_free(fetch *f) {
  cmcp__curl_easy_put(f->cl, f->x.easy);
  curl_slist_free_all(f->headers);
  cmcp__buf_free(&f->body);
  cmcp__free(f->www_authenticate);
  cmcp__free(f->location);
  cmcp__free(f->content_type);
  cmcp__curl_loop_put(f->cl);
  cmcp__free(f);
}

/* CURLOPT_WRITEFUNCTION: keeps the body up to its limit. */
static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  fetch *f = ud;
  int rc = cmcp__buf_add(&f->body, p, n);
  if (rc == CMCP_ELIMIT)
    f->over_limit = 1;
  else if (rc != 0)
    f->no_memory = 1;
  (void)size; /* always 1 */
  return rc == 0 ? n : 0;
}

/* Stores a copy of the value (trimmed, bounded) in *slot. */
static void keep_value(fetch *f, char **slot, const char *v, size_t n) {
  cmcp__free(*slot);
  *slot = cmcp__curl_header_copy(v, n);
  if (*slot == NULL)
    f->no_memory = 1;
}

/* CURLOPT_HEADERFUNCTION: keeps the headers the caller can read. A status
 * line starts a new response (after a 100 Continue), so what an earlier
 * one said is dropped. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  fetch *f = ud;
  const char *v;
  (void)size;
  if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    cmcp__free(f->www_authenticate);
    cmcp__free(f->location);
    cmcp__free(f->content_type);
    f->www_authenticate = f->location = f->content_type = NULL;
  } else if (cmcp__curl_header_is(p, n, "WWW-Authenticate", &v)) {
    keep_value(f, &f->www_authenticate, v, n - (size_t)(v - p));
  } else if (cmcp__curl_header_is(p, n, "Location", &v)) {
    keep_value(f, &f->location, v, n - (size_t)(v - p));
  } else if (cmcp__curl_header_is(p, n, "Content-Type", &v)) {
    keep_value(f, &f->content_type, v, n - (size_t)(v - p));
  }
  return f->no_memory ? 0 : n;
}

/* The outcome of a finished transfer as a fetch status and reason. */
static int outcome(const fetch *f, CURLcode rc, const char **detail) {
  *detail = "";
  if (f->over_limit) {
    *detail = "response body too large";
    return CMCP_ELIMIT;
  }
  if (f->no_memory) {
    *detail = "out of memory";
    return CMCP_ENOMEM;
  }
  if (rc == CURLE_OK)
    return 0;
  if (rc == CURLE_OUT_OF_MEMORY) {
    *detail = "out of memory";
    return CMCP_ENOMEM;
  }
  *detail = f->err[0] != '\0' ? f->err : curl_easy_strerror(rc);
  return rc == CURLE_OPERATION_TIMEDOUT ? CMCP_ETIMEDOUT : CMCP_EIO;
}

/* The transfer ended: report it and free everything. */
static void on_done(cmcp__curl_xfer *x, CURLcode rc) {
  fetch *f = (fetch *)x;
  cmcp__fetch_res res;
  long code = 0;
  memset(&res, 0, sizeof res);
  res.status = outcome(f, rc, &res.detail);
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
  res.http_status = code;
  res.body = f->body.len > 0 ? f->body.data : "";
  res.body_len = f->body.len;
  res.www_authenticate = f->www_authenticate;
  res.location = f->location;
  res.content_type = f->content_type;
  f->cb(f->data, &res);
  fetch_free(f);
}

/* Adds the caller's header lines. 0 or CMCP_ENOMEM. */
static int add_headers(fetch *f, const char *const *headers) {
  struct curl_slist *s;
  for (; headers != NULL && *headers != NULL; headers++) {
    if ((s = curl_slist_append(f->headers, *headers)) == NULL)
      return CMCP_ENOMEM;
    f->headers = s;
  }
  return 0;
}

/* Sets up f's easy handle. 0 or a status. */
static int setup(fetch *f, const char *method, const char *url,
                 const char *body, size_t body_len, uint64_t timeout_ms) {
  CURL *e = f->x.easy;
  int bad = 0;
  bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->err) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, f) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, f) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
  if (f->headers != NULL)
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers) != CURLE_OK;
  if (strcmp(method, "POST") == 0) {
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)body_len) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
                            body != NULL ? body : "") != CURLE_OK;
  } else {
    bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
  }
  return bad ? CMCP_EINVAL : 0;
}

int cmcp__fetch(uv_loop_t *loop, const char *method, const char *url,
                const char *const *headers, const char *body, size_t body_len,
                size_t max_body, uint64_t timeout_ms, cmcp__fetch_cb cb,
                void *data) {
  fetch *f;
  int rc;
  if (loop == NULL || method == NULL || url == NULL || cb == NULL ||
      max_body == 0 || timeout_ms > (uint64_t)LONG_MAX ||
      (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) ||
      (body == NULL && body_len > 0))
    return CMCP_EINVAL;
  if ((f = cmcp__calloc(1, sizeof *f)) == NULL)
    return CMCP_ENOMEM;
  cmcp__buf_init(&f->body, max_body);
  f->cb = cb;
  f->data = data;
  f->x.done = on_done;
  rc = CMCP_ENOMEM;
  if ((f->cl = cmcp__curl_loop_get(loop)) == NULL ||
      (f->x.easy = cmcp__curl_easy(f->cl)) == NULL ||
      add_headers(f, headers) != 0)
    goto fail;
  if ((rc = setup(f, method, url, body, body_len, timeout_ms)) != 0 ||
      (rc = cmcp__curl_add(f->cl, &f->x)) != 0)
    goto fail;
  return 0;
fail:
  fetch_free(f);
  return rc;
}
