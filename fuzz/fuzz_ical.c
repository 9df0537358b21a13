/* fuzz/fuzz_ical.c — libFuzzer target for the calendar's untrusted input: the bytes are an
 * iCalendar feed (rw_cal_expand, with libical), or, when they start with '<', a CalDAV
 * multistatus answer whose calendar-data is then expanded (rw_caldav_calendar_data,
 * rw_caldav_expand, libxml2) and whose responses are read as events (rw_caldav_items: each
 * with an absolute href and an ETag, data or none; the sync-token a string). A failure must
 * leave a non-empty reason and no meetings; a
 * success must give sorted meetings, each non-empty and overlapping the window, within the
 * bound, which merge into sorted disjoint blocks. Anything else aborts (a finding). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/calendar/caldav.h"
#include "services/calendar/ical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FROM 1767225600000ULL            /* 2026-01-01 00:00 UTC */
#define TO (FROM + 366ULL * 86400000ULL)

static void check(int rc, rw_cal_meeting_t *m, size_t n, const char *err)
{
    if (rc < 0) {
        if (!err[0] || m || n)
            abort();
        return;
    }
    if (n > RW_CAL_MAX_MEETINGS)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (m[i].start_ms >= m[i].end_ms || m[i].end_ms <= FROM || m[i].start_ms >= TO)
            abort();
        if (i && m[i].start_ms < m[i - 1].start_ms)
            abort();
        if (memchr(m[i].uid, 0, sizeof m[i].uid) == NULL || memchr(m[i].summary, 0, sizeof m[i].summary) == NULL)
            abort();
    }
    size_t k = rw_cal_merge(m, n);
    for (size_t i = 1; i < k; i++)
        if (m[i].start_ms <= m[i - 1].end_ms)
            abort();
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rw_cal_policy_t pol = { "Europe/London", true };
    rw_cal_meeting_t *m = NULL;
    size_t n = 0;
    char err[256] = "";
    if (size && data[0] == '<') {
        char *text = NULL, *token = NULL;
        size_t len = 0, n_items = 0;
        rw_cal_item_t *items = NULL;
        int irc = rw_caldav_items((const char *) data, size, "http://127.0.0.1:5232/alice/meetings/", &items,
                                  &n_items, &token, err, sizeof err);
        if ((irc < 0 && (!err[0] || n_items)) || (n_items && !items))
            abort();
        for (size_t i = 0; i < n_items; i++) {
            if (!items[i].href || strncmp(items[i].href, "http", 4) || !items[i].etag)
                abort();
            free(items[i].href), free(items[i].etag), free(items[i].data);
        }
        free(items);
        free(token);
        err[0] = 0;
        if (rw_caldav_calendar_data((const char *) data, size, &text, &len, err, sizeof err) < 0) {
            if (!err[0] || text)
                abort();
            return 0;
        }
        int rc = rw_caldav_expand(text ? text : "", len, FROM, TO, &pol, &m, &n, err, sizeof err);
        free(text);
        check(rc, m, n, err);
        return 0;
    }
    int rc = rw_cal_expand((const char *) data, size, FROM, TO, &pol, &m, &n, err, sizeof err);
    check(rc, m, n, err);
    return 0;
}
