/* src/rt/mailbox.c: MPSC closure queue drained on a libuv loop.
 *
 * Producers append under a mutex and wake the loop with uv_async_send; the
 * loop takes the whole list in one step and runs it outside the lock, so a
 * producer never waits for a closure to run. uv_async_send is called with
 * the mutex held: close sets `closed` under the same mutex before closing
 * the handle, so no producer can touch the handle once it is closing. */
#include "rt/rt.h"

struct cmcp__mailbox {
  uv_async_t async;
  uv_mutex_t lock;
  cmcp__mail *head; /* oldest */
  cmcp__mail *tail; /* newest */
  int closed;
  void (*after_batch)(void *);
  void *data;
  uint64_t delivered;
};

/* Takes every queued closure, oldest first. */
static cmcp__mail *take_all(cmcp__mailbox *mb) {
  cmcp__mail *list;
  uv_mutex_lock(&mb->lock);
  list = mb->head;
  mb->head = NULL;
  mb->tail = NULL;
  uv_mutex_unlock(&mb->lock);
  return list;
}

/* Runs a taken list. A closure may free a caller-owned node, so the link
 * is read before it runs. */
static void run_list(cmcp__mailbox *mb, cmcp__mail *m) {
  while (m != NULL) {
    cmcp__mail *next = m->next;
    int owned = m->owned;
    m->fn(m->arg);
    if (owned)
      cmcp__free(m);
    mb->delivered++;
    m = next;
  }
}

static void on_async(uv_async_t *h) {
  cmcp__mailbox *mb = h->data;
  run_list(mb, take_all(mb));
  if (mb->after_batch != NULL)
    mb->after_batch(mb->data);
}

int cmcp__mailbox_new(cmcp__mailbox **out, uv_loop_t *loop,
                      void (*after_batch)(void *), void *data) {
  cmcp__mailbox *mb = cmcp__calloc(1, sizeof *mb);
  *out = NULL;
  if (mb == NULL)
    return CMCP_ENOMEM;
  if (uv_mutex_init(&mb->lock) != 0)
    goto fail_mutex;
  if (uv_async_init(loop, &mb->async, on_async) != 0)
    goto fail_async;
  mb->async.data = mb;
  mb->after_batch = after_batch;
  mb->data = data;
  *out = mb;
  return 0;
fail_async:
  uv_mutex_destroy(&mb->lock);
fail_mutex:
  cmcp__free(mb);
  return CMCP_EIO;
}

int cmcp__mailbox_push(cmcp__mailbox *mb, cmcp__mail *mail) {
  int rc = 0;
  mail->next = NULL;
  uv_mutex_lock(&mb->lock);
  if (mb->closed) {
    rc = CMCP_ECLOSED;
    goto out;
  }
  if (mb->tail != NULL)
    mb->tail->next = mail;
  else
    mb->head = mail;
  mb->tail = mail;
  uv_async_send(&mb->async);
out:
  uv_mutex_unlock(&mb->lock);
  return rc;
}

int cmcp__mailbox_post(cmcp__mailbox *mb, void (*fn)(void *), void *arg) {
  cmcp__mail *m = cmcp__malloc(sizeof *m);
  int rc;
  if (m == NULL)
    return CMCP_ENOMEM;
  m->fn = fn;
  m->arg = arg;
  m->owned = 1;
  rc = cmcp__mailbox_push(mb, m);
  if (rc != 0)
    cmcp__free(m);
  return rc;
}

static void on_closed(uv_handle_t *h) {
  cmcp__mailbox *mb = h->data;
  uv_mutex_destroy(&mb->lock);
  cmcp__free(mb);
}

void cmcp__mailbox_close(cmcp__mailbox *mb) {
  cmcp__mail *list;
  uv_mutex_lock(&mb->lock);
  mb->closed = 1;
  list = mb->head;
  mb->head = NULL;
  mb->tail = NULL;
  uv_mutex_unlock(&mb->lock);
  run_list(mb, list);
  uv_close((uv_handle_t *)&mb->async, on_closed);
}

uint64_t cmcp__mailbox_delivered(const cmcp__mailbox *mb) {
  return mb->delivered;
}
