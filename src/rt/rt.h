/* src/rt/rt.h: runtime pieces shared by the transports. Internal.
 *
 * mailbox: a multi-producer, single-consumer queue of closures whose
 *   consumer is one libuv loop. Any thread posts; the loop runs each
 *   closure once, in posting order per producer. It carries the completions
 *   of asynchronous handlers (the engine's ops->post) and of the worker
 *   pool.
 * workers: a fixed set of threads running blocking handlers, fed by a
 *   queue with a hard bound (never libuv's own threadpool, whose queue is
 *   unbounded and shared by the whole process). Each job's done callback
 *   runs on the loop thread, through a mailbox.
 *
 * Threads: every function runs on the loop thread, except
 * cmcp__mailbox_post / cmcp__mailbox_push, which are safe from any thread.
 */
#ifndef CMCP_RT_H
#define CMCP_RT_H

#include "base/base.h"
#include <stddef.h>
#include <uv.h>

/* ---- mailbox ----------------------------------------------------------- */

typedef struct cmcp__mailbox cmcp__mailbox;

/* One queued closure. cmcp__mailbox_push lets a caller embed it in its own
 * struct so that posting never allocates. */
typedef struct cmcp__mail {
  struct cmcp__mail *next;
  void (*fn)(void *arg);
  void *arg;
  unsigned char owned; /* allocated by cmcp__mailbox_post, freed after fn */
} cmcp__mail;

/* Creates a mailbox served by loop (which it keeps alive while open).
 * after_batch, if not NULL, runs on the loop after each batch of closures
 * (a transport uses it to check whether it can finish). CMCP_ENOMEM, or
 * CMCP_EIO if libuv refuses the async handle. */
int cmcp__mailbox_new(cmcp__mailbox **out, uv_loop_t *loop,
                      void (*after_batch)(void *), void *data);

/* Queues fn(arg) to run on the loop thread soon (never inside this call).
 * Safe from any thread. Returns 0, CMCP_ECLOSED once the mailbox is closing
 * (fn will then never run), or CMCP_ENOMEM.
 *
 * Memory: each post allocates one small node (about 32 bytes), freed after
 * fn runs. The mailbox has no bound of its own: every closure corresponds
 * to a call the engine admitted (a completion, or a notification of such a
 * call), so what can be queued is bounded by the in-flight limits
 * (CMCP_LIMIT_INFLIGHT_*, CMCP_LIMIT_WORKER_QUEUE) times what each call
 * posts, not by the rate of input. */
int cmcp__mailbox_post(cmcp__mailbox *mb, void (*fn)(void *), void *arg);

/* Same with a caller-owned node (mail->fn and mail->arg set; the node must
 * stay valid until fn runs or the push fails). Never allocates. */
int cmcp__mailbox_push(cmcp__mailbox *mb, cmcp__mail *mail);

/* Closes the mailbox: later posts return CMCP_ECLOSED, closures already
 * queued run now (inside this call, on the loop thread), and the mailbox is
 * freed in the async handle's close callback, once the loop runs. */
void cmcp__mailbox_close(cmcp__mailbox *mb);

/* Closures delivered so far (statistics; loop thread). */
uint64_t cmcp__mailbox_delivered(const cmcp__mailbox *mb);

/* ---- worker pool ------------------------------------------------------- */

typedef struct cmcp__workers cmcp__workers;

/* Starts nthreads threads (1..1024) with a queue of at most queue_max
 * waiting jobs (>= 1). Completions go through mb, which must outlive the
 * pool. CMCP_EINVAL for a bad count, CMCP_ENOMEM, or CMCP_EIO if a thread
 * cannot be started. */
int cmcp__workers_new(cmcp__workers **out, cmcp__mailbox *mb, int nthreads,
                      size_t queue_max);

/* Runs work(arg) on a worker thread, then done(arg) on the loop thread
 * (done may be NULL). Returns 0, CMCP_ELIMIT when queue_max jobs are
 * already waiting (the queue never grows past it), CMCP_ECLOSED after
 * close, or CMCP_ENOMEM. If it fails, neither callback ever runs. */
int cmcp__workers_submit(cmcp__workers *w, void (*work)(void *),
                         void (*done)(void *), void *arg);

/* Jobs submitted whose done callback has not run yet (waiting, running,
 * or finished and on their way to the loop). */
size_t cmcp__workers_pending(const cmcp__workers *w);

/* Jobs waiting for a thread (not running yet). */
size_t cmcp__workers_queued(cmcp__workers *w);

/* Shuts the pool down without blocking the loop: no new jobs are taken,
 * jobs already queued still run and their done callbacks still run on the
 * loop; each thread exits once the queue is empty and is joined on the
 * loop thread. When the last one is joined, on_closed(data) runs (on the
 * loop, never inside this call) and the pool is freed. The loop must keep
 * running (and the mailbox stay open) until then. */
void cmcp__workers_close(cmcp__workers *w, void (*on_closed)(void *),
                         void *data);

#endif /* CMCP_RT_H */
