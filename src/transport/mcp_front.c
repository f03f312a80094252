/* src/transport/mcp_front.c: HTTP requests of legacy sessions, held by the
 * loop that received them while the session's owner (maybe another loop)
 * serves them.
 *
 * A front is the receiving side of a forwarded request: it has a token
 * unique on its loop, and the owner addresses it as (loop, token). Messages
 * between the two go through the destination loop's mailbox, or are run at
 * once when both are the same loop; either way each pair of loops sees
 * them in order. A front that loses its connection tells the owner
 * (SM_GONE, always through the mailbox, so that it never runs inside the
 * owner's own sending); a message for a token that is gone is dropped.
 */
#include "transport/mcp_int.h"

#include <stdlib.h>
#include <string.h>

struct mcp_front {
  mcp_front *next;
  uint64_t token;
  cmcp__mcp_loop *lp, *owner;
  cmcp__http_request *req;
  char sid[MCP_SID_MAX];
  int streaming;
};

static size_t bucket_of(uint64_t token) {
  return (size_t)(token % MCP_FRONT_BUCKETS);
}

static mcp_front *front_find(cmcp__mcp_loop *lp, uint64_t token) {
  mcp_front *f;
  for (f = lp->fronts[bucket_of(token)]; f != NULL; f = f->next)
    if (f->token == token)
      return f;
  return NULL;
}

static void front_unlink(mcp_front *f) {
  mcp_front **pp = &f->lp->fronts[bucket_of(f->token)];
  while (*pp != NULL && *pp != f)
    pp = &(*pp)->next;
  if (*pp == f)
    *pp = f->next;
}

/* Runs a session message on its owner (mailbox closure). */
static void smsg_run(void *arg) {
  mcp_smsg *m = arg;
  cmcp__mcp_session_handle(m->to, m);
}

/* Tells the owner that the front's request is gone. */
static void front_gone(mcp_front *f) {
  mcp_smsg *m = cmcp__calloc(1, sizeof *m + 1);
  if (m == NULL) {
    cmcp__log(CMCP_LOG_ERROR, "http: out of memory telling a session its "
                              "stream is gone");
    return;
  }
  m->from = f->lp;
  m->to = f->owner;
  m->token = f->token;
  m->op = SM_GONE;
  memcpy(m->sid, f->sid, sizeof m->sid);
  m->mail.fn = smsg_run;
  m->mail.arg = m;
  if (cmcp__mcp_push(f->owner, &m->mail) != 0)
    cmcp__free(m);
}

static void on_front_abort(cmcp__http_request *req, void *data) {
  mcp_front *f = data;
  (void)req;
  front_unlink(f);
  front_gone(f);
  cmcp__free(f);
}

static void smsg_free(mcp_smsg *m) {
  cmcp__free(m->id_text);
  cmcp__free(m);
}

void cmcp__mcp_forward(cmcp__mcp_loop *lp, cmcp__http_request *req,
                       cmcp__mcp_loop *owner, mcp_smsg *m) {
  mcp_front *f = cmcp__calloc(1, sizeof *f);
  if (f == NULL) {
    smsg_free(m);
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Server overloaded: out of memory");
    return;
  }
  f->token = ++lp->next_token;
  f->lp = lp;
  f->owner = owner;
  f->req = req;
  memcpy(f->sid, m->sid, sizeof f->sid);
  f->next = lp->fronts[bucket_of(f->token)];
  lp->fronts[bucket_of(f->token)] = f;
  cmcp__http_request_on_abort(req, on_front_abort, f);
  m->from = lp;
  m->to = owner;
  m->token = f->token;
  m->mail.fn = smsg_run;
  m->mail.arg = m;
  if (owner == lp) {
    cmcp__mcp_session_handle(lp, m);
  } else if (cmcp__mcp_push(owner, &m->mail) != 0) {
    smsg_free(m);
    front_unlink(f);
    cmcp__free(f);
    cmcp__mcp_respond_error(req, 503, NULL, CMCP_MCP_SERVER_OVERLOADED,
                            "Server shutting down");
  }
}

mcp_fmsg *cmcp__mcp_fmsg_new(cmcp__mcp_loop *to, uint64_t token, mcp_fmsg_op op,
                             const char *data, size_t len) {
  mcp_fmsg *m = cmcp__calloc(1, sizeof *m + len + 1);
  if (m == NULL)
    return NULL;
  m->to = to;
  m->token = token;
  m->op = op;
  m->len = len;
  if (len > 0)
    memcpy(m->data, data, len);
  return m;
}

/* Ends a front whose answer failed: its connection closes; the owner is
 * told. */
static void front_fail(mcp_front *f) {
  cmcp__http_request *req = f->req;
  front_unlink(f);
  front_gone(f);
  cmcp__free(f);
  cmcp__http_request_abort(req);
}

/* Applies a stream message to front f. */
static void front_stream(mcp_front *f, mcp_fmsg *m) {
  if (!f->streaming) {
    if (cmcp__mcp_stream_begin(f->req, m->sid) != 0) {
      front_fail(f);
      return;
    }
    f->streaming = 1;
  }
  if (m->len > 0 && cmcp__http_stream_write(f->req, m->data, m->len) != 0) {
    cmcp__log(CMCP_LOG_WARNING, "http: dropping a session stream whose "
                                "client does not read");
    front_fail(f);
    return;
  }
  if (m->end) {
    if (cmcp__http_stream_end(f->req) != 0) {
      front_fail(f);
      return;
    }
    front_unlink(f);
    cmcp__free(f);
  }
}

/* Delivers a message to its front on this loop. */
static void fmsg_deliver(cmcp__mcp_loop *lp, mcp_fmsg *m) {
  mcp_front *f = front_find(lp, m->token);
  if (f == NULL)
    goto out; /* the request went away meanwhile */
  if (m->op == FM_RESPOND) {
    cmcp__http_request *req = f->req;
    front_unlink(f);
    cmcp__free(f);
    cmcp__mcp_respond(req, m->status, m->ctype, m->sid, m->retry_after, m->data,
                      m->len);
  } else {
    front_stream(f, m);
  }
out:
  cmcp__free(m);
}

static void fmsg_run(void *arg) {
  mcp_fmsg *m = arg;
  fmsg_deliver(m->to, m);
}

void cmcp__mcp_to_front(cmcp__mcp_loop *lp, mcp_fmsg *m) {
  if (m->to == lp) {
    fmsg_deliver(lp, m);
    return;
  }
  m->mail.fn = fmsg_run;
  m->mail.arg = m;
  if (cmcp__mcp_push(m->to, &m->mail) != 0)
    cmcp__free(m); /* that loop has closed: its request is gone */
}

cmcp__mcp_loop *cmcp__mcp_sid_owner(cmcp__mcp_shared *sh, const char *sid) {
  const char *dot;
  size_t i, n = sid != NULL ? strlen(sid) : 0;
  int64_t idx;
  if (n == 0 || n >= MCP_SID_MAX)
    return NULL;
  dot = strrchr(sid, '.');
  if (dot == NULL || dot - sid != 32)
    return NULL;
  for (i = 0; i < 32; i++)
    if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f')))
      return NULL;
  if (dot[1] == '\0' || (dot[1] == '0' && dot[2] != '\0'))
    return NULL;
  idx = 0;
  for (i = 1; dot[i] != '\0'; i++) {
    if (dot[i] < '0' || dot[i] > '9' || i > 5)
      return NULL;
    idx = idx * 10 + (dot[i] - '0');
  }
  return idx < sh->nloops ? sh->loops[idx] : NULL;
}

void cmcp__mcp_fronts_abort(cmcp__mcp_loop *lp) {
  size_t b;
  for (b = 0; b < MCP_FRONT_BUCKETS; b++) {
    while (lp->fronts[b] != NULL) {
      mcp_front *f = lp->fronts[b];
      cmcp__http_request *req = f->req;
      lp->fronts[b] = f->next;
      cmcp__free(f);
      cmcp__http_request_abort(req);
    }
  }
}
