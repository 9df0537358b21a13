/* services/calendar/caldav.h — reading a CalDAV calendar (RFC 4791) with libcurl and libxml2.
 * The URL may be a calendar collection, a calendar home or any URL of the server that names
 * the user's principal: PROPFIND finds current-user-principal, then calendar-home-set, then
 * the calendar collections in the home; a calendar-query REPORT on each returns every event's
 * calendar-data, which Ringway expands itself (servers such as Radicale do not expand
 * recurrences). Runs on the fetcher's thread: no logs, no metrics, no Redis. */
#ifndef RW_CAL_CALDAV_H
#define RW_CAL_CALDAV_H

#include <stddef.h>
#include <stdint.h>
#include "services/calendar/fetch.h"
#include "services/calendar/ical.h"

#define RW_CALDAV_MAX_CALENDARS 16

/* Fills job->body with the calendar-data of every event, one VCALENDAR after the other, or
 * job->error. Before reading, the calendars' getctag (else sync-token) are joined into
 * job->tag; when that equals the tag the job came with, nothing is read (job->unchanged). */
void rw_caldav_fetch(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job);

/* The calendar-data texts of a multistatus answer appended to *out (one VCALENDAR each, a
 * newline between). 0, or RW_EINVAL with a reason for a body that is not a DAV multistatus. */
int rw_caldav_calendar_data(const char *xml, size_t len, char **out, size_t *out_len, char *err,
                            size_t err_len);

/* Several VCALENDARs one after the other (what rw_caldav_fetch leaves) expanded as one feed
 * each and merged in start order; the first broken one fails the whole (rw_cal_expand). */
int rw_caldav_expand(const char *text, size_t len, uint64_t from_ms, uint64_t to_ms,
                     const rw_cal_policy_t *policy, rw_cal_meeting_t **out, size_t *n,
                     char *err, size_t err_len);

#endif
