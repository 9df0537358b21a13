/* common/clock.h — the one clock every Ringway module reads.
 * Wall time (for schedules, timestamps) and monotonic time (for deadlines, latencies).
 * Unit tests may freeze the wall clock and step it; nothing else writes to it. */
#ifndef RW_CLOCK_H
#define RW_CLOCK_H

#include <stdint.h>

uint64_t rw_clock_wall_ms(void);     /* milliseconds since the Unix epoch */
uint64_t rw_clock_mono_us(void);     /* microseconds, CLOCK_MONOTONIC */
uint64_t rw_clock_mono_ms(void);

/* Tests only: freeze the wall clock at ms (0 returns to the real clock) and move it. */
void rw_clock_fake_wall(uint64_t ms);
void rw_clock_advance_wall(int64_t ms);

#endif
