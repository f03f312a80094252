/* src/client/curl_loop.c: libcurl's multi-socket API on a libuv loop (see
 * curl_loop.h). libcurl tells us which sockets to watch (socket callback)
 * and when to wake it (timer callback); uv_poll and uv_timer do the
 * watching and call curl_multi_socket_action back. */
#include "client/curl_loop.h"

#include "base/base.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

enum {
  XF_IDLE = 0, /* not in the multi handle */
  XF_ADD,      /* waiting in the deferred list to be added */
  XF_ACTIVE,   /* in the multi handle */
  XF_CANCEL,   /* waiting in the deferred list to be removed */
  XF_FAIL      /* waiting in the deferred list to end with ENOMEM */
};

/* Idle easy handles kept per loop for reuse. */
#define EASY_POOL 256

typedef struct poll_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  struct cmcp__curl_loop *cl;
  struct poll_ctx *prev, *next;
} poll_ctx;

struct cmcp__curl_loop {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  int refs;
  int depth;       /* > 0 inside curl_multi_socket_action */
  int dispatching; /* > 0 while deferred work and results are handed out */
  int closing;
  int open_handles; /* uv handles whose close callback has not run */
  cmcp__curl_xfer *deferred, *deferred_tail;
  poll_ctx *polls;
  CURL *pool[EASY_POOL];  /* idle easy handles, reset */
  void (*closed)(void *); /* runs once everything is closed */
  void *closed_data;
  int pooled;
  struct cmcp__curl_loop *next; /* registry */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cmcp__curl_loop *registry;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- uv handles ---------------------------------------------------------- */

static void maybe_free(cmcp__curl_loop *cl) {
  void (*closed)(void *) = cl->closed;
  void *data = cl->closed_data;
  if (!cl->closing || cl->open_handles > 0)
    return;
  cmcp__free(cl);
  if (closed != NULL)
    closed(data);
}

static void on_poll_closed(uv_handle_t *h) {
  poll_ctx *p = h->data;
  cmcp__curl_loop *cl = p->cl;
  cmcp__free(p);
  cl->open_handles--;
  maybe_free(cl);
}

/* Unlinks p and closes its handle; the memory goes in the close callback. */
static void poll_close(poll_ctx *p) {
  cmcp__curl_loop *cl = p->cl;
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    cl->polls = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

static void on_timer_closed(uv_handle_t *h) {
  cmcp__curl_loop *cl = h->data;
  cl->open_handles--;
  maybe_free(cl);
}

/* ---- dispatch ------------------------------------------------------------ */

/* Moves x to the end of the deferred list. */
static void defer(cmcp__curl_loop *cl, cmcp__curl_xfer *x) {
  x->next = NULL;
  if (cl->deferred_tail != NULL)
    cl->deferred_tail->next = x;
  else
    cl->deferred = x;
  cl->deferred_tail = x;
}

/* Adds x to the multi handle now. CURLE_OK or why not. */
static CURLcode add_now(cmcp__curl_loop *cl, cmcp__curl_xfer *x) {
  curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
  if (curl_multi_add_handle(cl->multi, x->easy) != CURLM_OK) {
    x->state = XF_IDLE;
    return CURLE_OUT_OF_MEMORY;
  }
  x->state = XF_ACTIVE;
  return CURLE_OK;
}

/* Takes x out of the multi handle and hands it back to its owner. */
static void release_now(cmcp__curl_loop *cl, cmcp__curl_xfer *x) {
  curl_multi_remove_handle(cl->multi, x->easy);
  x->state = XF_IDLE;
  if (x->release != NULL)
    x->release(x);
}

/* Runs the adds and removals that were asked for inside a curl callback,
 * in order. A failed add ends the transfer through done. */
static void run_deferred(cmcp__curl_loop *cl) {
  while (cl->deferred != NULL) {
    cmcp__curl_xfer *x = cl->deferred;
    cl->deferred = x->next;
    if (cl->deferred == NULL)
      cl->deferred_tail = NULL;
    x->next = NULL;
    if (x->state == XF_CANCEL) {
      release_now(cl, x);
    } else if (x->state == XF_FAIL) {
      curl_multi_remove_handle(cl->multi, x->easy);
      x->state = XF_IDLE;
      x->done(x, CURLE_OUT_OF_MEMORY);
    } else if (x->state == XF_ADD) {
      CURLcode rc = add_now(cl, x);
      if (rc != CURLE_OK)
        x->done(x, rc);
    }
  }
}

/* Hands every finished transfer to its owner. */
static void read_info(cmcp__curl_loop *cl) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(cl->multi, &left)) != NULL) {
    cmcp__curl_xfer *x = NULL;
    CURLcode rc = m->data.result;
    CURL *easy = m->easy_handle;
    if (m->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(cl->multi, easy);
    if (x == NULL || x->state != XF_ACTIVE)
      continue;
    x->state = XF_IDLE;
    x->done(x, rc);
  }
}

static void close_loop(cmcp__curl_loop *cl);

/* Drives curl for one socket event or a timeout, then runs what curl's
 * callbacks asked for and what finished. */
static void action(cmcp__curl_loop *cl, curl_socket_t fd, int flags) {
  int running = 0;
  cl->depth++;
  cl->dispatching++;
  curl_multi_socket_action(cl->multi, fd, flags, &running);
  cl->depth--;
  run_deferred(cl);
  read_info(cl);
  cl->dispatching--;
  if (cl->dispatching == 0 && cl->refs == 0 && !cl->closing)
    close_loop(cl);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poll_ctx *p = h->data;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  action(p->cl, p->fd, flags);
}

static void on_timer(uv_timer_t *h) {
  action(h->data, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- curl's callbacks ---------------------------------------------------- */

/* A new poll context for fd, linked in; NULL on failure. */
static poll_ctx *poll_open(cmcp__curl_loop *cl, curl_socket_t fd) {
  poll_ctx *p = cmcp__calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  if (uv_poll_init_socket(cl->loop, &p->poll, fd) != 0) {
    cmcp__free(p);
    return NULL;
  }
  p->poll.data = p;
  p->fd = fd;
  p->cl = cl;
  p->next = cl->polls;
  if (cl->polls != NULL)
    cl->polls->prev = p;
  cl->polls = p;
  cl->open_handles++;
  curl_multi_assign(cl->multi, fd, p);
  return p;
}

/* A socket of easy's transfer cannot be watched (no memory for its poll
 * handle): the transfer ends with CURLE_OUT_OF_MEMORY once the curl call
 * in progress returns, instead of waiting forever. */
static void watch_failed(cmcp__curl_loop *cl, CURL *easy) {
  cmcp__curl_xfer *x = NULL;
  if (easy == NULL)
    return;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
  if (x == NULL || x->state != XF_ACTIVE)
    return;
  x->state = XF_FAIL;
  defer(cl, x);
  if (cl->depth == 0) /* no action to run it after: wake the loop */
    uv_timer_start(&cl->timer, on_timer, 0, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants, or stop. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  cmcp__curl_loop *cl = userp;
  poll_ctx *p = socketp;
  int events = 0;
  if (what == CURL_POLL_REMOVE) {
    if (p != NULL) {
      curl_multi_assign(cl->multi, fd, NULL);
      poll_close(p);
    }
    return 0;
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  if ((p == NULL && (p = poll_open(cl, fd)) == NULL) ||
      uv_poll_start(&p->poll, events, on_poll) != 0)
    watch_failed(cl, easy);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: wake curl after timeout_ms (-1: never). */
static int on_timeout(CURLM *multi, long timeout_ms, void *userp) {
  cmcp__curl_loop *cl = userp;
  (void)multi;
  if (timeout_ms < 0)
    return uv_timer_stop(&cl->timer) == 0 ? 0 : -1;
  return uv_timer_start(&cl->timer, on_timer, (uint64_t)timeout_ms, 0) == 0
             ? 0
             : -1;
}

/* ---- life cycle ---------------------------------------------------------- */

/* A new curl loop on loop, or NULL. */
static cmcp__curl_loop *create(uv_loop_t *loop) {
  cmcp__curl_loop *cl = cmcp__calloc(1, sizeof *cl);
  if (cl == NULL)
    return NULL;
  cl->loop = loop;
  cl->multi = curl_multi_init();
  if (cl->multi == NULL || uv_timer_init(loop, &cl->timer) != 0)
    goto fail;
  cl->timer.data = cl;
  cl->open_handles = 1;
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
  return cl;
fail:
  if (cl->multi != NULL)
    curl_multi_cleanup(cl->multi);
  cmcp__free(cl);
  return NULL;
}

cmcp__curl_loop *cmcp__curl_loop_get(uv_loop_t *loop) {
  cmcp__curl_loop *cl;
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK || loop == NULL)
    return NULL;
  pthread_mutex_lock(&registry_lock);
  for (cl = registry; cl != NULL; cl = cl->next)
    if (cl->loop == loop && !cl->closing)
      break;
  if (cl == NULL && (cl = create(loop)) != NULL) {
    cl->next = registry;
    registry = cl;
  }
  if (cl != NULL)
    cl->refs++;
  pthread_mutex_unlock(&registry_lock);
  return cl;
}

/* Unlinks cl from the registry, ends curl and closes every uv handle. */
static void close_loop(cmcp__curl_loop *cl) {
  cmcp__curl_loop **pp;
  pthread_mutex_lock(&registry_lock);
  for (pp = &registry; *pp != NULL; pp = &(*pp)->next)
    if (*pp == cl) {
      *pp = cl->next;
      break;
    }
  cl->closing = 1;
  pthread_mutex_unlock(&registry_lock);
  curl_multi_cleanup(cl->multi); /* may report sockets to forget */
  cl->multi = NULL;
  while (cl->pooled > 0)
    curl_easy_cleanup(cl->pool[--cl->pooled]);
  while (cl->polls != NULL)
    poll_close(cl->polls);
  uv_timer_stop(&cl->timer);
  uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

void cmcp__curl_loop_put_then(cmcp__curl_loop *cl, void (*closed)(void *),
                              void *data) {
  if (cl == NULL || --cl->refs > 0) {
    if (closed != NULL)
      closed(data);
    return;
  }
  cl->closed = closed;
  cl->closed_data = data;
  if (cl->dispatching == 0 && !cl->closing)
    close_loop(cl);
}

void cmcp__curl_loop_put(cmcp__curl_loop *cl) {
  cmcp__curl_loop_put_then(cl, NULL, NULL);
}

uv_loop_t *cmcp__curl_loop_uv(const cmcp__curl_loop *cl) {
  return cl->loop;
}

CURL *cmcp__curl_easy(cmcp__curl_loop *cl) {
  if (cl != NULL && cl->pooled > 0)
    return cl->pool[--cl->pooled];
  return curl_easy_init();
}

void cmcp__curl_easy_put(cmcp__curl_loop *cl, CURL *easy) {
  if (easy == NULL)
    return;
  if (cl == NULL || cl->closing || cl->pooled == EASY_POOL) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  cl->pool[cl->pooled++] = easy;
}

int cmcp__curl_in_callback(const cmcp__curl_loop *cl) {
  return cl->depth > 0;
}

/* ---- transfers ----------------------------------------------------------- */

int cmcp__curl_add(cmcp__curl_loop *cl, cmcp__curl_xfer *x) {
  if (cl == NULL || x == NULL || x->easy == NULL || x->done == NULL ||
      x->state != XF_IDLE)
    return CMCP_EINVAL;
  x->cl = cl;
  if (cl->depth > 0) {
    x->state = XF_ADD;
    defer(cl, x);
    return 0;
  }
  return add_now(cl, x) == CURLE_OK ? 0 : CMCP_ENOMEM;
}

void cmcp__curl_cancel(cmcp__curl_xfer *x) {
  cmcp__curl_loop *cl = x->cl;
  if (x->state == XF_ADD) { /* still in the deferred list: drop it there */
    x->state = XF_CANCEL;
    return;
  }
  if (x->state == XF_CANCEL)
    return;
  if (x->state == XF_FAIL) { /* still in the deferred list: end it there */
    x->state = XF_CANCEL;
    return;
  }
  if (x->state == XF_ACTIVE && cl->depth > 0) {
    x->state = XF_CANCEL;
    defer(cl, x);
    return;
  }
  if (x->state == XF_ACTIVE) {
    release_now(cl, x);
    return;
  }
  if (x->release != NULL)
    x->release(x);
}

/* ---- response headers ---------------------------------------------------- */

int cmcp__curl_header_is(const char *p, size_t n, const char *name,
                         const char **value) {
  size_t k = strlen(name);
  if (n <= k || p[k] != ':' || strncasecmp(p, name, k) != 0)
    return 0;
  *value = p + k + 1;
  return 1;
}

char *cmcp__curl_header_copy(const char *v, size_t n) {
  while (n > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    n--;
  }
  while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' ||
                   v[n - 1] == '\t'))
    n--;
  return cmcp__strndup(v,
                       n > CMCP__CURL_HEADER_MAX ? CMCP__CURL_HEADER_MAX : n);
}
