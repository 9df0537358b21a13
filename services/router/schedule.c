/* services/router/schedule.c — local time in an IANA zone for schedules (schedule.h). */
#include "services/router/schedule.h"
#include "directory/directory.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char current_tz[64];          /* zone TZ is set to (documented: single-threaded) */

int rw_schedule_local(const char *tz, uint64_t time_ms, rw_local_time_t *out)
{
    static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    /* current_tz only ever holds a zone that exists (or UTC): no file check for it again */
    int ok = (tz && tz[0] && !strcmp(tz, current_tz)) || rw_dir_zone_exists(tz);
    const char *zone = ok ? tz : "UTC";
    time_t t = (time_t) (time_ms / 1000);
    struct tm tm;
    if (strcmp(current_tz, zone)) {
        setenv("TZ", zone, 1);
        tzset();
        snprintf(current_tz, sizeof current_tz, "%s", zone);
    }
    localtime_r(&t, &tm);
    out->wday = (tm.tm_wday + 6) % 7;
    out->minute = tm.tm_hour * 60 + tm.tm_min;
    /* "HH:MM Ddd, <zone>" as snprintf would write it, without a format to parse per call */
    char *p = out->text;
    p[0] = (char) ('0' + tm.tm_hour / 10);
    p[1] = (char) ('0' + tm.tm_hour % 10);
    p[2] = ':';
    p[3] = (char) ('0' + tm.tm_min / 10);
    p[4] = (char) ('0' + tm.tm_min % 10);
    p[5] = ' ';
    memcpy(p + 6, days[out->wday], 3);
    memcpy(p + 9, ", ", 2);
    size_t n = strnlen(zone, sizeof out->text - 12);
    memcpy(p + 11, zone, n);
    p[11 + n] = '\0';
    return ok ? 0 : RW_EINVAL;
}
