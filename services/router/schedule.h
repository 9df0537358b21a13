/* services/router/schedule.h — a UTC instant as local time in a user's IANA zone.
 * Uses the C library's TZ database (tzdata): it sets TZ and calls tzset() only when the zone
 * differs from the last one converted, so it is NOT thread-safe: the router is single-threaded
 * and is the only part of its process that reads local time. Unknown zones read as UTC. */
#ifndef RW_SCHEDULE_H
#define RW_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int wday;                        /* 0 Monday .. 6 Sunday */
    int minute;                      /* minutes since local midnight */
    char text[64];                   /* "10:04 Tue, Europe/London" */
} rw_local_time_t;

/* 0, or RW_EINVAL when the zone is not in the TZ database (out is then UTC). */
int rw_schedule_local(const char *tz, uint64_t time_ms, rw_local_time_t *out);

#endif
