/* src/base/shed.c: the queueing-delay rule of shed.h. */
#include "base/shed.h"

#include <string.h>

void cmcp__shed_init(cmcp__shed *s, uint32_t target_ms) {
  memset(s, 0, sizeof *s);
  s->target_ns = (uint64_t)target_ms * 1000000u;
  s->interval_ns = 2 * s->target_ns;
}

/* A turn at or below the target ends a run above it and the shedding;
 * a turn above it starts a run, or sheds once the run has lasted an
 * interval. now 0 is taken as 1 so that it cannot read as "no run". */
int cmcp__shed_turn(cmcp__shed *s, uint64_t now, uint64_t busy_ns) {
  s->last_ns = busy_ns;
  if (s->target_ns == 0 || busy_ns <= s->target_ns) {
    s->above_since = 0;
    s->shedding = 0;
    return 0;
  }
  if (now == 0)
    now = 1;
  if (s->above_since == 0)
    s->above_since = now;
  else if (now - s->above_since >= s->interval_ns)
    s->shedding = 1;
  return s->shedding;
}

void cmcp__shed_mark(cmcp__shed *s, uint64_t now, uint64_t idle_ns) {
  uint64_t wall = now - s->mark_at, waited = idle_ns - s->mark_idle;
  if (s->mark_at != 0)
    cmcp__shed_turn(s, now, wall > waited ? wall - waited : 0);
  s->mark_at = now;
  s->mark_idle = idle_ns;
}

int cmcp__shed_on(const cmcp__shed *s) {
  return s->shedding;
}
