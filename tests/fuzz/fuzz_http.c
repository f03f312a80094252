/* libFuzzer target: the HTTP/1.1 connection core, no sockets.
 *
 * Input: byte 0 picks the handler's behaviour and the pipeline bound, byte 1
 * the size of the pieces the rest is fed in; the rest is what a peer sends.
 * Some requests are answered at once (full, streamed, closing), some are
 * kept and answered later in reverse order, some aborted; output is taken
 * and acknowledged between pieces, like the libuv sink does. */
#include "transport/http_conn.h"

#include <stdint.h>
#include <string.h>

#define MAX_KEPT 64

typedef struct fuzz_state {
  cmcp__http_conn conn; /* first: the sink finds its state from the conn */
  cmcp__http_request *kept[MAX_KEPT];
  unsigned nkept;
  unsigned mode;
  unsigned seen;
} fuzz_state;

static void drop_kept(fuzz_state *fs, cmcp__http_request *req) {
  unsigned i;
  for (i = 0; i < fs->nkept; i++)
    if (fs->kept[i] == req) {
      fs->kept[i] = fs->kept[--fs->nkept];
      return;
    }
}

static void on_abort(cmcp__http_request *req, void *data) {
  drop_kept(data, req);
}

static void fz_want_write(cmcp__http_conn *c) {
  (void)c;
}
static void fz_set_reading(cmcp__http_conn *c, int on) {
  (void)c;
  (void)on;
}
static void fz_set_timer(cmcp__http_conn *c, int kind) {
  (void)c;
  (void)kind;
}
static void fz_finish(cmcp__http_conn *c, int graceful) {
  (void)graceful;
  cmcp__http_conn_teardown(c);
}

static const cmcp__http_conn_ops fuzz_ops = {fz_want_write, fz_set_reading,
                                             fz_set_timer, fz_finish};

/* Reads everything a handler may read, so the accessors run too. */
static size_t touch(cmcp__http_request *req) {
  const char *n, *v;
  size_t i, len, sum = strlen(cmcp__http_request_method(req));
  sum += strlen(cmcp__http_request_path(req));
  sum += strlen(cmcp__http_request_query(req));
  for (i = 0; cmcp__http_request_header_at(req, i, &n, &v) == 0; i++)
    sum += strlen(n) + strlen(v);
  v = cmcp__http_request_header(req, "content-type");
  sum += v != NULL ? strlen(v) : 0;
  cmcp__http_request_body(req, &len);
  return sum + len;
}

static void stream_answer(cmcp__http_request *req, size_t n) {
  static const char data[] = "data: fuzz\n\n";
  size_t i;
  if (cmcp__http_stream_begin(req, 200, NULL, 0) != 0)
    return;
  for (i = 0; i < n % 4; i++)
    cmcp__http_stream_write(req, data, sizeof(data) - 1);
  cmcp__http_stream_end(req);
}

static void handler(cmcp__http_request *req, void *data) {
  fuzz_state *fs = data;
  static const cmcp__http_header close_hdr = {"Connection", "close"};
  size_t n = touch(req);
  unsigned pick = (fs->mode >> (2 * (fs->seen++ % 3))) & 3;
  if (pick == 0 && fs->nkept < MAX_KEPT) {
    cmcp__http_request_on_abort(req, on_abort, fs);
    fs->kept[fs->nkept++] = req;
  } else if (pick == 1) {
    stream_answer(req, n);
  } else if (pick == 2 && (fs->mode & 0x80)) {
    cmcp__http_respond(req, 200, &close_hdr, 1, "bye", 3);
  } else if (pick == 2 && (fs->mode & 0x40)) {
    cmcp__http_request_abort(req);
  } else {
    cmcp__http_respond(req, 200, NULL, 0, "ok", 2);
  }
}

/* Takes the output and reports it written, as a sink would. */
static void drain_output(cmcp__http_conn *c) {
  cmcp__http_chunk *list = cmcp__http_conn_take_output(c), *ch;
  size_t n = 0;
  for (ch = list; ch != NULL; ch = ch->next)
    n += ch->len;
  cmcp__http_chunks_free(list);
  if (n > 0)
    cmcp__http_conn_written(c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz_state fs;
  cmcp__http_ctx ctx;
  size_t piece, off;
  if (size < 2)
    return 0;
  memset(&fs, 0, sizeof(fs));
  memset(&ctx, 0, sizeof(ctx));
  cmcp__http_config_init(&ctx.cfg);
  ctx.cfg.max_header_bytes = 2048;
  ctx.cfg.max_header_count = 16;
  ctx.cfg.max_body_bytes = 4096;
  ctx.cfg.max_url_bytes = 512;
  ctx.cfg.max_pipelined = 1 + (data[0] & 3);
  ctx.cfg.max_outbound_bytes = 256;
  ctx.on_request = handler;
  ctx.data = &fs;
  ctx.ops = &fuzz_ops;
  fs.mode = data[0];
  piece = 1 + data[1];
  cmcp__http_conn_init(&fs.conn, &ctx);
  for (off = 2; off < size && !fs.conn.closed; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    cmcp__http_conn_feed(&fs.conn, (const char *)data + off, n);
    cmcp__http_conn_resume(&fs.conn);
    if (off & 1)
      drain_output(&fs.conn);
  }
  /* answer what was kept, newest first (out of order) */
  while (fs.nkept > 0 && !fs.conn.closed) {
    cmcp__http_request *req = fs.kept[--fs.nkept];
    cmcp__http_respond(req, 200, NULL, 0, "late", 4);
    cmcp__http_conn_resume(&fs.conn);
    drain_output(&fs.conn);
  }
  cmcp__http_conn_eof(&fs.conn);
  drain_output(&fs.conn);
  if (fs.conn.ctx->stats.requests > 0 && fs.conn.closed == 0 &&
      cmcp__http_conn_idle(&fs.conn))
    cmcp__http_conn_timeout(&fs.conn);
  cmcp__http_conn_teardown(&fs.conn);
  return 0;
}
