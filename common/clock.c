/* common/clock.c — wall and monotonic clocks, with a frozen wall clock for tests.
 * The fake wall time is the one piece of global state clock.h documents; only unit tests
 * set it, so production code always reads CLOCK_REALTIME. */
#include "common/clock.h"

#include <time.h>

static uint64_t fake_wall_ms;   /* 0 = use the real clock */

static uint64_t read_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint64_t rw_clock_wall_ms(void)
{
    if (fake_wall_ms)
        return fake_wall_ms;
    return read_ns(CLOCK_REALTIME) / 1000000u;
}

uint64_t rw_clock_mono_us(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000u;
}

uint64_t rw_clock_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000u;
}

void rw_clock_fake_wall(uint64_t ms)
{
    fake_wall_ms = ms;
}

void rw_clock_advance_wall(int64_t ms)
{
    /* Advancing the real clock makes no sense: freeze it first at "now". */
    uint64_t now = fake_wall_ms ? fake_wall_ms : read_ns(CLOCK_REALTIME) / 1000000u;
    if (ms < 0 && 0 - (uint64_t) ms >= now)
        now = 1;                         /* 0 would mean "real clock" */
    else
        now += (uint64_t) ms;
    fake_wall_ms = now;
}
