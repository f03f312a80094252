/* src/rt/worker.c: the bounded worker pool for blocking handlers.
 *
 * A fixed set of threads takes jobs from one FIFO protected by a mutex and
 * a condition variable. The FIFO holds at most queue_max waiting jobs:
 * submit refuses with CMCP_ELIMIT beyond that, so overload is answered at
 * once instead of queued. A finished job travels back to the loop through
 * the mailbox in a node embedded in the job, so finishing never allocates
 * and cannot fail for lack of memory. */
#include "rt/rt.h"
#include "base/stats.h"

typedef struct job {
  cmcp__mail mail; /* completion node; first member */
  struct job *next;
  void (*work)(void *);
  void (*done)(void *);
  void *arg;
  cmcp__workers *pool;
} job;

struct cmcp__workers {
  cmcp__mailbox *mb;
  uv_mutex_t lock;
  uv_cond_t cond;
  job *head, *tail; /* waiting jobs, under lock */
  size_t queued;    /* under lock */
  size_t queue_max;
  int stopping; /* under lock */
  int abandon;  /* under lock: setup failed, threads exit silently */
  int nthreads;
  uv_thread_t *threads;
  cmcp__mail *exit_mail; /* one per thread, pushed as it exits */
  int exited;            /* loop thread only */
  size_t pending;        /* loop thread only */
  int closing;           /* loop thread only */
  void (*on_closed)(void *);
  void *closed_data;
};

/* Runs on the loop: a job finished. */
static void job_done(void *arg) {
  job *j = arg;
  cmcp__workers *w = j->pool;
  w->pending--;
  if (j->done != NULL)
    j->done(j->arg);
  cmcp__free(j);
}

/* Waits for a job; NULL once the pool stops and the queue is empty. */
static job *next_job(cmcp__workers *w) {
  job *j;
  uv_mutex_lock(&w->lock);
  while (w->head == NULL && !w->stopping)
    uv_cond_wait(&w->cond, &w->lock);
  j = w->head;
  if (j != NULL) {
    w->head = j->next;
    if (w->head == NULL)
      w->tail = NULL;
    w->queued--;
    cmcp__stats_gauge_add(CMCP__SG_WORKER_QUEUE, -1);
  }
  uv_mutex_unlock(&w->lock);
  return j;
}

static void thread_main(void *arg) {
  cmcp__mail *exit_mail = arg;
  cmcp__workers *w = exit_mail->arg;
  job *j;
  int quiet;
  while ((j = next_job(w)) != NULL) {
    j->work(j->arg);
    j->mail.fn = job_done;
    j->mail.arg = j;
    j->mail.owned = 0;
    if (cmcp__mailbox_push(w->mb, &j->mail) != 0) {
      /* The mailbox closed before the pool: a misuse; the completion is
       * lost, but the job is not leaked. */
      cmcp__log(CMCP_LOG_ERROR, "worker: completion dropped (mailbox closed)");
      cmcp__free(j);
    }
  }
  uv_mutex_lock(&w->lock);
  quiet = w->abandon;
  uv_mutex_unlock(&w->lock);
  if (!quiet && cmcp__mailbox_push(w->mb, exit_mail) != 0)
    cmcp__log(CMCP_LOG_ERROR, "worker: exit notice dropped (mailbox closed)");
}

/* Stops the threads started so far and waits for them (setup failure). */
static void stop_and_join(cmcp__workers *w, int started) {
  int i;
  uv_mutex_lock(&w->lock);
  w->stopping = 1;
  w->abandon = 1;
  uv_cond_broadcast(&w->cond);
  uv_mutex_unlock(&w->lock);
  for (i = 0; i < started; i++)
    uv_thread_join(&w->threads[i]);
}

static void pool_free(cmcp__workers *w) {
  uv_cond_destroy(&w->cond);
  uv_mutex_destroy(&w->lock);
  cmcp__free(w->threads);
  cmcp__free(w->exit_mail);
  cmcp__free(w);
}

/* Runs on the loop: one thread has left; after the last, join them all
 * (each has returned or is returning) and report the close. */
static void thread_exited(void *arg) {
  cmcp__workers *w = arg;
  int i;
  if (++w->exited < w->nthreads)
    return;
  for (i = 0; i < w->nthreads; i++)
    uv_thread_join(&w->threads[i]);
  if (w->on_closed != NULL)
    w->on_closed(w->closed_data);
  pool_free(w);
}

/* Allocates the pool and its per-thread arrays; no thread started. */
static cmcp__workers *pool_alloc(int nthreads) {
  cmcp__workers *w = cmcp__calloc(1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->threads = cmcp__calloc((size_t)nthreads, sizeof *w->threads);
  w->exit_mail = cmcp__calloc((size_t)nthreads, sizeof *w->exit_mail);
  if (w->threads == NULL || w->exit_mail == NULL)
    goto fail;
  if (uv_mutex_init(&w->lock) != 0)
    goto fail;
  if (uv_cond_init(&w->cond) != 0) {
    uv_mutex_destroy(&w->lock);
    goto fail;
  }
  return w;
fail:
  cmcp__free(w->threads);
  cmcp__free(w->exit_mail);
  cmcp__free(w);
  return NULL;
}

int cmcp__workers_new(cmcp__workers **out, cmcp__mailbox *mb, int nthreads,
                      size_t queue_max) {
  cmcp__workers *w;
  int i;
  *out = NULL;
  if (nthreads < 1 || nthreads > 1024 || queue_max < 1 || mb == NULL)
    return CMCP_EINVAL;
  w = pool_alloc(nthreads);
  if (w == NULL)
    return CMCP_ENOMEM;
  w->mb = mb;
  w->queue_max = queue_max;
  w->nthreads = nthreads;
  for (i = 0; i < nthreads; i++) {
    w->exit_mail[i].fn = thread_exited;
    w->exit_mail[i].arg = w;
    if (uv_thread_create(&w->threads[i], thread_main, &w->exit_mail[i]) != 0)
      goto fail;
  }
  *out = w;
  return 0;
fail:
  cmcp__log(CMCP_LOG_ERROR, "worker: cannot start thread %d of %d", i + 1,
            nthreads);
  stop_and_join(w, i);
  pool_free(w);
  return CMCP_EIO;
}

/* 1 if the waiting queue is full (loop thread). */
static int queue_full(cmcp__workers *w) {
  int full;
  uv_mutex_lock(&w->lock);
  full = w->queued >= w->queue_max;
  uv_mutex_unlock(&w->lock);
  return full;
}

int cmcp__workers_submit(cmcp__workers *w, void (*work)(void *),
                         void (*done)(void *), void *arg) {
  job *j;
  if (w->closing)
    return CMCP_ECLOSED;
  /* Only this thread adds jobs, so the queue can only shrink between this
   * check and the insertion below. */
  if (queue_full(w))
    return CMCP_ELIMIT;
  j = cmcp__calloc(1, sizeof *j);
  if (j == NULL)
    return CMCP_ENOMEM;
  j->work = work;
  j->done = done;
  j->arg = arg;
  j->pool = w;
  uv_mutex_lock(&w->lock);
  if (w->tail != NULL)
    w->tail->next = j;
  else
    w->head = j;
  w->tail = j;
  w->queued++;
  cmcp__stats_gauge_add(CMCP__SG_WORKER_QUEUE, 1);
  uv_cond_signal(&w->cond);
  uv_mutex_unlock(&w->lock);
  w->pending++;
  return 0;
}

size_t cmcp__workers_pending(const cmcp__workers *w) {
  return w->pending;
}

size_t cmcp__workers_queued(cmcp__workers *w) {
  size_t n;
  uv_mutex_lock(&w->lock);
  n = w->queued;
  uv_mutex_unlock(&w->lock);
  return n;
}

void cmcp__workers_close(cmcp__workers *w, void (*on_closed)(void *),
                         void *data) {
  if (w->closing)
    return;
  w->closing = 1;
  w->on_closed = on_closed;
  w->closed_data = data;
  uv_mutex_lock(&w->lock);
  w->stopping = 1;
  uv_cond_broadcast(&w->cond);
  uv_mutex_unlock(&w->lock);
}
