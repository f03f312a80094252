/* hist.h: an HDR-style log-linear latency histogram in microseconds.
 *
 * Values below 1,024 us have a slot each (exact); above, every power of two
 * is cut into 512 slots, so a slot is at most 1/512 (0.2%) of its value
 * wide: close to three significant digits from 1 us to 2^36 us (19 hours).
 * Larger values count in the top slot. Histograms merge exactly (slot by
 * slot), so percentiles of a merged histogram are those of all its values.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HIST_SUB 1024     /* values below are exact */
#define BENCH_HIST_HALF 512     /* slots per power of two above */
#define BENCH_HIST_MAX_SHIFT 26 /* 1023 << 26 > 2^36 us */
#define BENCH_HIST_SLOTS                                                       \
  (BENCH_HIST_SUB + BENCH_HIST_MAX_SHIFT * BENCH_HIST_HALF)

typedef struct bench_hist {
  uint64_t *counts;  /* BENCH_HIST_SLOTS */
  uint64_t total;    /* values recorded */
  uint64_t min, max; /* exact extremes (min is UINT64_MAX when empty) */
  double sum;        /* for the mean */
  size_t lo, hi;     /* slots in use lie in [lo, hi] (lo > hi: none) */
} bench_hist;

/* Sets up an empty histogram. 0, or CMCP_ENOMEM. */
int bench_hist_init(bench_hist *h);
void bench_hist_free(bench_hist *h);
/* Empties h, keeping its memory. */
void bench_hist_reset(bench_hist *h);
void bench_hist_record(bench_hist *h, uint64_t us);
/* Adds count values of slot's range, with their sum (for the mean). */
void bench_hist_add_slot(bench_hist *h, size_t slot, uint64_t count);
/* Adds every value of src to dst. */
void bench_hist_merge(bench_hist *dst, const bench_hist *src);

/* The slot of value us, and the highest value slot stands for. */
size_t bench_hist_slot(uint64_t us);
uint64_t bench_hist_slot_high(size_t slot);
uint64_t bench_hist_slot_low(size_t slot);

/* The value at percentile p (0..100): the highest value of the slot that
 * holds it, never above the largest value recorded; 0 when empty. Within
 * 0.2% above the exact percentile. */
uint64_t bench_hist_percentile(const bench_hist *h, double p);
double bench_hist_mean(const bench_hist *h);

#endif
