/* common/clock.h — the one clock every Ringway module reads.
 * Wall time (for schedules, timestamps) and monotonic time (for deadlines, latencies).
 * Unit tests may freeze the wall clock and step it; nothing else writes to it. The wall clock
 * is shifted by RINGWAY_CLOCK_OFFSET_MS (signed milliseconds, read once at start) when set:
 * every process started with the same value sees the same shifted time, so a whole Ringway
 * can be run "as if" on another day and hour (the test suite's pinned instants, a rehearsal
 * of schedules). Monotonic time is never shifted. */
#ifndef RW_CLOCK_H
#define RW_CLOCK_H

#include <stdint.h>

uint64_t rw_clock_wall_ms(void);     /* milliseconds since the Unix epoch */
uint64_t rw_clock_mono_us(void);     /* microseconds, CLOCK_MONOTONIC */
uint64_t rw_clock_mono_ms(void);

/* The offset in force; *bad (when not NULL) is 1 when the variable was set but not a whole
 * number of milliseconds within a century, in which case no offset applies. */
int64_t rw_clock_offset_ms(int *bad);

/* Tests only: freeze the wall clock at ms (0 returns to the real clock) and move it. */
void rw_clock_fake_wall(uint64_t ms);
void rw_clock_advance_wall(int64_t ms);

#endif
