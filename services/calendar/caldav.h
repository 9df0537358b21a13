/* services/calendar/caldav.h — reading a CalDAV calendar (RFC 4791) with libcurl and libxml2.
 * The URL may be a calendar collection, a calendar home or any URL of the server that names
 * the user's principal: PROPFIND finds current-user-principal, then calendar-home-set, then
 * the calendar collections in the home; a calendar-query REPORT on each returns every event's
 * calendar-data, which Ringway expands itself (servers such as Radicale do not expand
 * recurrences), or a sync-collection REPORT only the events changed since the last read.
 * Runs on the fetcher's thread: no logs, no metrics, no Redis. */
#ifndef RW_CAL_CALDAV_H
#define RW_CAL_CALDAV_H

#include <stddef.h>
#include <stdint.h>
#include "services/calendar/fetch.h"
#include "services/calendar/ical.h"

#define RW_CALDAV_MAX_CALENDARS 16

/* Before reading, each calendar's sync-token (else getctag) is joined into job->tag; when that
 * equals the tag the job came with, nothing is read (job->unchanged). When every calendar
 * that changed had a sync-token before and has one now, only the changes since are read (an
 * RFC 6578 sync-collection REPORT per changed calendar): job->delta = 1 and job->items holds
 * the changed events (href, ETag, data) and the deleted ones (no data). Otherwise (a server
 * without sync-token, a token it refuses, a new calendar) every calendar is read whole: job->items
 * holds every event and job->body their calendar-data one VCALENDAR after the other. Or
 * job->error. */
void rw_caldav_fetch(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job);

/* The responses of a multistatus (calendar-query or sync-collection) appended to *items: hrefs
 * resolved against base; a response whose own status is 404 is a deleted event (data NULL),
 * one with calendar-data a present or changed one; others are skipped. *token (when not NULL)
 * gets the multistatus' sync-token (malloc'd, NULL when none). 0, or RW_EINVAL with a reason
 * for a body that is not a DAV multistatus. */
int rw_caldav_items(const char *xml, size_t len, const char *base, rw_cal_item_t **items, size_t *n,
                    char **token, char *err, size_t err_len);

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
