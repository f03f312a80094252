/* src/base/shed.h: load shedding on queueing delay (--max-queue-delay).
 *
 * A loop thread feeds the rule the busy time of each of its turns (the
 * time the loop spent running callbacks rather than waiting in poll): a
 * request whose bytes arrive during a turn waits about that long in the
 * socket buffer before the loop reads it. Like CoDel, one slow turn does
 * not shed: the rule sheds once every turn has stayed above the target for
 * at least an interval (two targets), and stops at the first turn at or
 * below the target. While it sheds, new requests are refused at once.
 *
 * Pure arithmetic on the caller's clock (nanoseconds); one instance per
 * thread, no locking.
 */
#ifndef CMCP_BASE_SHED_H
#define CMCP_BASE_SHED_H

#include <stdint.h>

/* --max-queue-delay default. High enough that a loop descheduled for a
 * while on a busy machine does not shed under ordinary load; a deployment
 * that wants a tighter latency bound sets it lower. */
#define CMCP__SHED_DEFAULT_MS 100

typedef struct cmcp__shed {
  uint64_t target_ns;   /* 0: never sheds */
  uint64_t interval_ns; /* above target this long before shedding */
  uint64_t above_since; /* end of the first turn of the run above target;
                           0: the last turn was at or below it */
  uint64_t last_ns;     /* the last turn's busy time */
  uint64_t mark_at;     /* cmcp__shed_mark: clock at the last mark, 0: none */
  uint64_t mark_idle;   /* its idle-time total then */
  int shedding;
} cmcp__shed;

/* Sets the rule up for target_ms (0 turns it off). */
void cmcp__shed_init(cmcp__shed *s, uint32_t target_ms);

/* Feeds one turn that ended at now (ns, monotonic) after busy_ns of work;
 * returns whether new requests are refused from now on. */
int cmcp__shed_turn(cmcp__shed *s, uint64_t now, uint64_t busy_ns);

/* Marks the end of a loop turn at now (ns) with idle_ns, the loop's
 * running total of time spent waiting in poll: the turn since the last
 * mark was busy for the wall time less the time waited, and is fed to
 * cmcp__shed_turn. The first mark only sets the start. */
void cmcp__shed_mark(cmcp__shed *s, uint64_t now, uint64_t idle_ns);

/* Whether new requests are refused now. */
int cmcp__shed_on(const cmcp__shed *s);

#endif /* CMCP_BASE_SHED_H */
