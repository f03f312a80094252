/* src/base/memory.h: the process memory budget (CMCP_LIMIT_MEMORY_BYTES,
 * --max-memory). Internal.
 *
 * The resident set is read from /proc/self/statm. Admission reads a sample
 * that is at most CMCP__MEM_SAMPLE_MS old: the first thread to need a
 * fresher one reads the file (one open/read/close) while the others keep
 * using the last value, so the check costs a clock read and two atomic
 * loads. Where /proc is missing the resident set is unknown and nothing is
 * refused for memory.
 */
#ifndef CMCP_BASE_MEMORY_H
#define CMCP_BASE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define CMCP__MEM_SAMPLE_MS 50
/* The default budget: this share (in percent) of the machine's memory or
 * of the cgroup's limit, whichever is smaller. */
#define CMCP__MEM_DEFAULT_PERCENT 75

/* The resident set of this process in bytes, read now; -1 if unknown. */
int64_t cmcp__mem_rss(void);

/* The resident set as sampled at most CMCP__MEM_SAMPLE_MS ago (sampling
 * again if the last one is older); -1 if unknown. Thread-safe. */
int64_t cmcp__mem_rss_recent(void);

/* The memory this process may use: physical memory, or the memory limit of
 * its cgroup (v2 memory.max, or v1 memory.limit_in_bytes) when that is
 * smaller. -1 if unknown. */
int64_t cmcp__mem_available(void);

/* The default budget: CMCP__MEM_DEFAULT_PERCENT of cmcp__mem_available(),
 * or INT64_MAX (no budget) when that is unknown. */
int64_t cmcp__mem_default_budget(void);

/* 1 if the recent resident set is above budget (budget <= 0 or INT64_MAX:
 * never). When it is and text is not NULL, writes the refusal message,
 * which names the limit, into text (textlen bytes). Thread-safe. */
int cmcp__mem_over(int64_t budget, char *text, size_t textlen);

/* 1 for the requests served even above the budget because they start no
 * new work: ping, resources/unsubscribe and the tasks/ methods (which reach
 * work admitted before). */
int cmcp__mem_spares(const char *method);

#endif /* CMCP_BASE_MEMORY_H */
