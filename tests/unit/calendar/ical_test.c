/* tests/unit/calendar/ical_test.c — iCalendar feeds expanded into meetings (services/calendar/ical.c,
 * caldav.c): recurrences in the event's zone across a DST change, EXDATE, RDATE, a moved and a
 * cancelled instance, all-day events in the user's zone, TRANSP and TENTATIVE policy, and every
 * kind of broken feed refused with a reason. The window is passed: no clock is read. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/calendar/caldav.h"
#include "services/calendar/calendar.h"
#include "services/calendar/ical.h"
#include "services/calendar/store.h"

#define MAR01 1772323200000ULL          /* 2026-03-01 00:00 Europe/London (GMT) */
#define APR30 1777503600000ULL          /* 2026-04-30 00:00 Europe/London (BST) */
#define H 3600000ULL

static const char weekly[] =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:standup\r\nSUMMARY:Team meeting\r\n"
    "DTSTART;TZID=Europe/London:20260302T090000\r\nDTEND;TZID=Europe/London:20260302T100000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6\r\nEXDATE;TZID=Europe/London:20260316T090000\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:standup\r\nSUMMARY:Team meeting (moved)\r\n"
    "RECURRENCE-ID;TZID=Europe/London:20260309T090000\r\n"
    "DTSTART;TZID=Europe/London:20260310T140000\r\nDTEND;TZID=Europe/London:20260310T150000\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:standup\r\nRECURRENCE-ID;TZID=Europe/London:20260406T090000\r\nSTATUS:CANCELLED\r\n"
    "DTSTART;TZID=Europe/London:20260406T090000\r\nDTEND;TZID=Europe/London:20260406T100000\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:offsite\r\nSUMMARY:Offsite\r\nDTSTART;VALUE=DATE:20260325\r\n"
    "DTEND;VALUE=DATE:20260326\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:lunch\r\nTRANSP:TRANSPARENT\r\nDTSTART:20260331T120000Z\r\nDTEND:20260331T130000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:maybe\r\nSTATUS:TENTATIVE\r\nDTSTART;TZID=Europe/London:20260331T140000\r\n"
    "DURATION:PT1H\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

static rw_cal_meeting_t *expand(const char *text, const rw_cal_policy_t *pol, size_t *n, char *err, int *rc)
{
    rw_cal_meeting_t *m = NULL;
    *rc = rw_cal_expand(text, strlen(text), MAR01, APR30, pol, &m, n, err, 256);
    return m;
}

START_TEST(test_weekly_series_in_its_zone_across_dst)
{
    rw_cal_policy_t pol = { "Europe/London", true };
    char err[256];
    size_t n;
    int rc;
    rw_cal_meeting_t *m = expand(weekly, &pol, &n, err, &rc);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(m[0].start_ms, 1772442000000ULL);          /* Mon 2 Mar 09:00 GMT */
    ck_assert_uint_eq(m[0].end_ms, 1772442000000ULL + H);
    ck_assert_str_eq(m[0].uid, "standup");
    ck_assert_uint_eq(m[1].start_ms, 1773151200000ULL);          /* moved: Tue 10 Mar 14:00 GMT */
    ck_assert_str_eq(m[1].summary, "Team meeting (moved)");
    ck_assert_uint_eq(m[2].start_ms, 1774256400000ULL);          /* 23 Mar 09:00 GMT; 16 Mar excluded */
    ck_assert_uint_eq(m[3].start_ms, 1774396800000ULL);          /* all day 25 Mar, London midnight */
    ck_assert_uint_eq(m[3].end_ms, 1774483200000ULL);
    ck_assert_uint_eq(m[4].start_ms, 1774857600000ULL);          /* 30 Mar 09:00 BST = 08:00 UTC */
    ck_assert_uint_eq(m[5].start_ms, 1774962000000ULL);          /* tentative 31 Mar 14:00 BST */
    ck_assert(m[5].tentative);
    free(m);                                                     /* 6 Apr cancelled, lunch transparent */
}
END_TEST

START_TEST(test_tentative_not_busy_when_the_policy_says_so)
{
    rw_cal_policy_t pol = { "Europe/London", false };
    char err[256];
    size_t n;
    int rc;
    rw_cal_meeting_t *m = expand(weekly, &pol, &n, err, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(n, 5);
    ck_assert(!m[4].tentative);
    free(m);
}
END_TEST

START_TEST(test_all_day_follows_the_users_zone)
{
    rw_cal_policy_t pol = { "America/New_York", true };
    char err[256];
    size_t n;
    int rc;
    rw_cal_meeting_t *m = expand(weekly, &pol, &n, err, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(m[3].start_ms, 1774411200000ULL);          /* 25 Mar 00:00 EDT = 04:00 UTC */
    free(m);
}
END_TEST

START_TEST(test_rdate_and_utc_and_window)
{
    const char *ics = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:r\nDTSTART:20260305T100000Z\n"
                      "DTEND:20260305T103000Z\nRDATE:20260312T100000Z\nRDATE:20270101T100000Z\nEND:VEVENT\n"
                      "BEGIN:VEVENT\nUID:old\nDTSTART:20250101T100000Z\nDTEND:20250101T110000Z\nEND:VEVENT\n"
                      "END:VCALENDAR\n";
    char err[256];
    size_t n;
    int rc;
    rw_cal_meeting_t *m = expand(ics, NULL, &n, err, &rc);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_uint_eq(n, 2);                                     /* 2027 and 2025 are outside the window */
    ck_assert_uint_eq(m[1].start_ms - m[0].start_ms, 7 * 24 * H);
    ck_assert_uint_eq(m[0].end_ms - m[0].start_ms, H / 2);
    free(m);
}
END_TEST

static const struct {
    const char *ics, *why;
} broken[] = {
    { "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260305T100000Z\n", "truncated" },
    { "<html>500</html>", "not an iCalendar" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20261345T100000Z\nEND:VEVENT\nEND:VCALENDAR\n", "" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:garbage\nEND:VEVENT\nEND:VCALENDAR\n", "" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=Mars/Olympus:20260305T100000\nEND:VEVENT\nEND:VCALENDAR\n",
      "unknown time zone" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260305T100000Z\nDTEND:20260305T090000Z\nEND:VEVENT\n"
      "END:VCALENDAR\n", "ends before it starts" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260305T100000Z\nRRULE:FREQ=NONSENSE\nEND:VEVENT\n"
      "END:VCALENDAR\n", "" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nSUMMARY:no start\nEND:VEVENT\nEND:VCALENDAR\n", "no DTSTART" },
    { "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:19700101T000000Z\nDURATION:PT1S\nRRULE:FREQ=SECONDLY\n"
      "END:VEVENT\nEND:VCALENDAR\n", "expansion limit" },
};

START_TEST(test_broken_feed_refused_with_a_reason)
{
    char err[256];
    size_t n;
    int rc;
    rw_cal_meeting_t *m = expand(broken[_i].ics, NULL, &n, err, &rc);
    ck_assert_msg(rc < 0, "feed %d accepted", _i);
    ck_assert_ptr_null(m);
    ck_assert(err[0]);
    ck_assert_msg(strstr(err, broken[_i].why), "feed %d: '%s'", _i, err);
}
END_TEST

START_TEST(test_merge_touching_and_overlapping)
{
    rw_cal_meeting_t m[4] = { { .start_ms = 0, .end_ms = 10 }, { .start_ms = 5, .end_ms = 8 },
                              { .start_ms = 10, .end_ms = 20 }, { .start_ms = 30, .end_ms = 40 } };
    ck_assert_uint_eq(rw_cal_merge(m, 4), 2);
    ck_assert_uint_eq(m[0].end_ms, 20);
    ck_assert_uint_eq(m[1].start_ms, 30);
    char *b = rw_cal_blocks_text(m, 2);
    ck_assert_str_eq(b, "0-20,30-40");
    free(b);
}
END_TEST

START_TEST(test_caldav_multistatus_calendar_data)
{
    const char *xml =
        "<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
        "<d:response><d:href>/a/1.ics</d:href><d:propstat><d:prop><C:calendar-data>BEGIN:VCALENDAR\n"
        "BEGIN:VEVENT\nUID:x\nDTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nEND:VEVENT\nEND:VCALENDAR\n"
        "</C:calendar-data></d:prop></d:propstat></d:response>"
        "<d:response><d:href>/a/2.ics</d:href><d:propstat><d:prop><C:calendar-data>BEGIN:VCALENDAR\n"
        "BEGIN:VEVENT\nUID:y\nDTSTART:20260304T100000Z\nDTEND:20260304T110000Z\nSUMMARY:a &amp; b\nEND:VEVENT\n"
        "END:VCALENDAR\n</C:calendar-data></d:prop></d:propstat></d:response></d:multistatus>";
    char *out = NULL, err[256];
    size_t len = 0, n;
    ck_assert_int_eq(rw_caldav_calendar_data(xml, strlen(xml), &out, &len, err, sizeof err), 0);
    rw_cal_meeting_t *m;
    ck_assert_int_eq(rw_caldav_expand(out, len, MAR01, APR30, NULL, &m, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(m[0].uid, "y");                             /* sorted across resources */
    ck_assert_str_eq(m[0].summary, "a & b");
    free(m);
    free(out);
    out = NULL, len = 0;
    ck_assert_int_eq(rw_caldav_calendar_data("<html/>", 7, &out, &len, err, sizeof err), RW_EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_caldav_sync_collection_changes_and_deletions)
{
    /* RFC 6578 3.6: a changed event with its ETag and data, a deleted one (its response's own
     * status 404), the new token; hrefs resolved against the calendar's URL */
    const char *xml =
        "<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
        "<d:response><d:href>/alice/meetings/e5.ics</d:href><d:propstat><d:prop>"
        "<d:getetag>\"abc\"</d:getetag><c:calendar-data>BEGIN:VCALENDAR\nEND:VCALENDAR</c:calendar-data>"
        "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
        "<d:response><d:href>e6.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"
        "<d:response><d:href>/alice/meetings/</d:href><d:propstat><d:prop/><d:status>HTTP/1.1 200 OK</d:status>"
        "</d:propstat></d:response>"
        "<d:sync-token>http://radicale.org/ns/sync/42</d:sync-token></d:multistatus>";
    rw_cal_item_t *items = NULL;
    size_t n = 0;
    char *token = NULL, err[128];
    ck_assert_int_eq(rw_caldav_items(xml, strlen(xml), "http://127.0.0.1:5232/alice/meetings/", &items, &n, &token,
                                     err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);            /* the collection itself (no data) is no event */
    ck_assert_str_eq(items[0].href, "http://127.0.0.1:5232/alice/meetings/e5.ics");
    ck_assert_str_eq(items[0].etag, "\"abc\"");
    ck_assert_str_eq(items[0].data, "BEGIN:VCALENDAR\nEND:VCALENDAR");
    ck_assert_str_eq(items[1].href, "http://127.0.0.1:5232/alice/meetings/e6.ics");
    ck_assert_ptr_null(items[1].data);
    ck_assert_str_eq(token, "http://radicale.org/ns/sync/42");
    for (size_t i = 0; i < n; i++)
        free(items[i].href), free(items[i].etag), free(items[i].data);
    free(items);
    free(token);
    items = NULL, n = 0;
    ck_assert_int_eq(rw_caldav_items("<html/>", 7, "http://h/", &items, &n, NULL, err, sizeof err), RW_EINVAL);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_parse_gives_blocks_and_meetings)
{
    char *blocks, *meetings, err[256];
    size_t count;
    ck_assert_int_eq(rw_calendar_parse("ics", weekly, strlen(weekly), "Europe/London", MAR01, 30 * 24 * H, true,
                                       &blocks, &meetings, &count, err, sizeof err), 0);
    ck_assert_uint_eq(count, 5);                                 /* up to 31 Mar 00:00 */
    ck_assert_str_eq(blocks, "1772442000000-1772445600000,1773151200000-1773154800000,"
                             "1774256400000-1774260000000,1774396800000-1774483200000,"
                             "1774857600000-1774861200000");
    ck_assert_ptr_nonnull(strstr(meetings, "\"uid\":\"offsite\""));
    free(blocks);
    free(meetings);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("calendar_ical");
    TCase *t = tcase_create("expand");
    tcase_add_test(t, test_weekly_series_in_its_zone_across_dst);
    tcase_add_test(t, test_tentative_not_busy_when_the_policy_says_so);
    tcase_add_test(t, test_all_day_follows_the_users_zone);
    tcase_add_test(t, test_rdate_and_utc_and_window);
    tcase_add_loop_test(t, test_broken_feed_refused_with_a_reason, 0, (int) (sizeof broken / sizeof broken[0]));
    tcase_add_test(t, test_merge_touching_and_overlapping);
    tcase_add_test(t, test_caldav_multistatus_calendar_data);
    tcase_add_test(t, test_caldav_sync_collection_changes_and_deletions);
    tcase_add_test(t, test_parse_gives_blocks_and_meetings);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
