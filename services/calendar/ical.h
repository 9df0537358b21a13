/* services/calendar/ical.h — an iCalendar text turned into busy intervals (libical).
 * rw_cal_expand() parses one untrusted feed and expands every VEVENT that falls in
 * [from_ms, to_ms): RRULE, RDATE and EXDATE in the event's own time zone (its TZID: the
 * feed's VTIMEZONE, else the TZ database), moved instances (RECURRENCE-ID), all-day events in
 * the user's zone. TRANSP:TRANSPARENT and STATUS:CANCELLED are never busy; TENTATIVE is busy
 * when the policy says so. Any malformed part fails the whole feed (err says why), so the
 * caller keeps its last good schedule. Pure: no clock, no I/O. */
#ifndef RW_CAL_ICAL_H
#define RW_CAL_ICAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define RW_CAL_MAX_MEETINGS 2000     /* busy instances kept per user and window */
#define RW_CAL_MAX_ITER 100000       /* recurrence steps per feed, a bound against hostile rules */

typedef struct {
    uint64_t start_ms, end_ms;       /* [start, end) UTC */
    char uid[128];
    char summary[128];
    bool tentative;
} rw_cal_meeting_t;

typedef struct {
    const char *tz;                  /* the user's zone for all-day events; NULL/"" = UTC */
    bool tentative_busy;             /* STATUS:TENTATIVE counts as a meeting */
} rw_cal_policy_t;

/* On success *out (malloc'd, sorted by start, caller frees) holds *n meetings. RW_EINVAL with
 * a reason in err for a feed that is not a whole, valid VCALENDAR; RW_ERANGE beyond the bounds. */
int rw_cal_expand(const char *text, size_t len, uint64_t from_ms, uint64_t to_ms,
                  const rw_cal_policy_t *policy, rw_cal_meeting_t **out, size_t *n,
                  char *err, size_t err_len);

/* Meetings merged into busy blocks in place (overlapping or touching ones become one, the
 * first's uid and summary kept); returns the new count. in must be sorted by start. */
size_t rw_cal_merge(rw_cal_meeting_t *m, size_t n);

#endif
