/* hist.c: the log-linear latency histogram (see hist.h). */
#include "hist.h"

#include "base/base.h"

#include <math.h>
#include <string.h>

/* Position of the highest set bit of v (v > 0). */
static unsigned msb(uint64_t v) {
  return 63u - (unsigned)__builtin_clzll(v);
}

size_t bench_hist_slot(uint64_t us) {
  unsigned shift;
  if (us < BENCH_HIST_SUB)
    return (size_t)us;
  /* shift makes us >> shift fall in [HALF, SUB) */
  shift = msb(us) - 9u;
  if (shift > BENCH_HIST_MAX_SHIFT)
    return BENCH_HIST_SLOTS - 1;
  return BENCH_HIST_SUB + (size_t)(shift - 1) * BENCH_HIST_HALF +
         (size_t)((us >> shift) - BENCH_HIST_HALF);
}

uint64_t bench_hist_slot_low(size_t slot) {
  size_t shift, sub;
  if (slot < BENCH_HIST_SUB)
    return slot;
  shift = (slot - BENCH_HIST_SUB) / BENCH_HIST_HALF + 1;
  sub = (slot - BENCH_HIST_SUB) % BENCH_HIST_HALF + BENCH_HIST_HALF;
  return (uint64_t)sub << shift;
}

uint64_t bench_hist_slot_high(size_t slot) {
  size_t shift;
  if (slot < BENCH_HIST_SUB)
    return slot;
  shift = (slot - BENCH_HIST_SUB) / BENCH_HIST_HALF + 1;
  return bench_hist_slot_low(slot) + ((uint64_t)1 << shift) - 1;
}

int bench_hist_init(bench_hist *h) {
  memset(h, 0, sizeof *h);
  h->counts = cmcp__calloc(BENCH_HIST_SLOTS, sizeof *h->counts);
  if (h->counts == NULL)
    return CMCP_ENOMEM;
  bench_hist_reset(h);
  return 0;
}

void bench_hist_free(bench_hist *h) {
  cmcp__free(h->counts);
  h->counts = NULL;
}

void bench_hist_reset(bench_hist *h) {
  if (h->lo <= h->hi && h->counts != NULL)
    memset(h->counts + h->lo, 0, (h->hi - h->lo + 1) * sizeof *h->counts);
  h->total = 0;
  h->sum = 0;
  h->min = UINT64_MAX;
  h->max = 0;
  h->lo = BENCH_HIST_SLOTS;
  h->hi = 0;
}

/* Counts count values in slot, widening the in-use range. */
static void add(bench_hist *h, size_t slot, uint64_t count) {
  h->counts[slot] += count;
  h->total += count;
  if (slot < h->lo)
    h->lo = slot;
  if (slot > h->hi)
    h->hi = slot;
}

void bench_hist_record(bench_hist *h, uint64_t us) {
  add(h, bench_hist_slot(us), 1);
  h->sum += (double)us;
  if (us < h->min)
    h->min = us;
  if (us > h->max)
    h->max = us;
}

void bench_hist_add_slot(bench_hist *h, size_t slot, uint64_t count) {
  uint64_t lo, hi;
  if (slot >= BENCH_HIST_SLOTS || count == 0)
    return;
  add(h, slot, count);
  lo = bench_hist_slot_low(slot);
  hi = bench_hist_slot_high(slot);
  h->sum += (double)count * ((double)lo + (double)hi) / 2.0;
  if (lo < h->min)
    h->min = lo;
  if (hi > h->max)
    h->max = hi;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src) {
  size_t i;
  if (src->total == 0)
    return;
  for (i = src->lo; i <= src->hi; i++)
    if (src->counts[i] != 0)
      add(dst, i, src->counts[i]);
  dst->sum += src->sum;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
}

uint64_t bench_hist_percentile(const bench_hist *h, double p) {
  uint64_t rank, seen = 0, v;
  size_t i;
  if (h->total == 0)
    return 0;
  if (p <= 0)
    return h->min;
  if (p >= 100)
    return h->max;
  /* the value with rank ceil(p% of total), counting from 1 */
  rank = (uint64_t)ceil((p / 100.0) * (double)h->total);
  if (rank < 1)
    rank = 1;
  for (i = h->lo; i <= h->hi; i++) {
    seen += h->counts[i];
    if (seen >= rank)
      break;
  }
  v = bench_hist_slot_high(i);
  if (v > h->max)
    v = h->max;
  if (v < h->min)
    v = h->min;
  return v;
}

double bench_hist_mean(const bench_hist *h) {
  return h->total == 0 ? 0.0 : h->sum / (double)h->total;
}
