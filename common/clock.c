/* common/clock.c — wall and monotonic clocks, with a frozen wall clock for tests.
 * The fake wall time and the offset are the global state clock.h documents: only unit tests
 * set the first; the second is read once, when the program is loaded, from
 * RINGWAY_CLOCK_OFFSET_MS, so every process started with it agrees on the shifted time. */
#include "common/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static uint64_t fake_wall_ms;   /* 0 = use the real clock */
static int64_t offset_ms;       /* RINGWAY_CLOCK_OFFSET_MS; 0 = none */
static int offset_bad;

__attribute__((constructor)) static void read_offset(void)
{
    const char *s = getenv("RINGWAY_CLOCK_OFFSET_MS");
    char *end;
    if (!s || !*s)
        return;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* A century either way is far more than any rehearsal needs; beyond it is a typo. */
    if (errno || *end || v > 3155760000000ll || v < -3155760000000ll) {
        offset_bad = 1;
        return;
    }
    offset_ms = v;
}

int64_t rw_clock_offset_ms(int *bad)
{
    if (bad)
        *bad = offset_bad;
    return offset_ms;
}

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
    return read_ns(CLOCK_REALTIME) / 1000000u + (uint64_t) offset_ms;
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
    uint64_t now = fake_wall_ms ? fake_wall_ms : rw_clock_wall_ms();
    if (ms < 0 && 0 - (uint64_t) ms >= now)
        now = 1;                         /* 0 would mean "real clock" */
    else
        now += (uint64_t) ms;
    fake_wall_ms = now;
}
