/* tests/unit/directory/dir_settings_test.c — what the directory refuses when rules are saved,
 * against a real redis-server: overlapping schedules of one kind (windows that wrap past
 * midnight into the next day, the week's end into its start; touching windows are fine),
 * rules that can never apply because an earlier one takes all their calls (saved, with a
 * warning), devices that do not exist (rules and calendar diverts), a device still used by a calendar
 * divert, divert loops of two and three users, unknown time zones; a colleague's new
 * extension reaching the rules and calendar diverts that send calls to them; and that `ver`
 * counts every write to a user. Nothing is written when a check fails. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "common/err.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static rw_redis_t *r;

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void add_user(const char *id, const char *ext, const char *tz)
{
    rw_dir_user_t u;
    char err[256];
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.ext, sizeof u.ext, "%s", ext);
    snprintf(u.tz, sizeof u.tz, "%s", tz);
    snprintf(u.realm, sizeof u.realm, "ringway.local");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rw_dir_device_put(r, &rw_numplan_uk, id, "softphone", "sip", "", err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_device_put(r, &rw_numplan_uk, id, "mobile", "number", "+447700900001", err,
                                       sizeof err), 0);
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 2000 };
    r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(r);
    redisReply *rep = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    add_user("alice", "2001", "Europe/London");
    add_user("bob", "2002", "Europe/London");
    add_user("carol", "2003", "Australia/Sydney");
}

static void teardown(void)
{
    rw_redis_destroy(&r);
}

static long long ver(const char *id)
{
    redisReply *rep = rw_redis_command(r, "HGET rw:user:%s ver", id);
    ck_assert_ptr_nonnull(rep);
    long long v = rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
    freeReplyObject(rep);
    return v;
}

#define RULE(name, extra) "{\"name\":\"" name "\"," extra "}"
#define DND_AT(name, days, time) RULE(name, "\"days\":\"" days "\",\"time\":\"" time "\",\"action\":\"dnd\"")
#define RING_AT(name, days, time) RULE(name, "\"days\":\"" days "\",\"time\":\"" time "\",\"action\":\"ring\"," \
                                       "\"ring\":[\"softphone\"]")
#define ALL "mon,tue,wed,thu,fri,sat,sun"

static const struct {
    const char *what, *first, *second;
    const char *error;               /* NULL: both saved */
    const char *warning;             /* saved with this warning; NULL: none */
} pairs[] = {
    { "a working day and an overnight window on the same days", RING_AT("day", "mon-fri", "09:00-17:30"),
      DND_AT("night", "mon-fri", "22:00-06:00"), NULL, NULL },
    { "two overnight windows that share the small hours", DND_AT("night", ALL, "22:00-06:00"),
      DND_AT("early", ALL, "05:00-07:00"), "schedules of rules 'night' and 'early' overlap", NULL },
    { "Friday's night runs into Saturday", DND_AT("fri-night", "fri", "22:00-06:00"),
      DND_AT("sat-early", "sat", "01:00-03:00"), "overlap", NULL },
    { "Sunday's night runs into Monday", DND_AT("sun-night", "sun", "22:00-06:00"),
      DND_AT("mon-early", "mon", "05:00-08:00"), "overlap", NULL },
    { "Sunday's night ends where Monday's window starts", DND_AT("sun-night", "sun", "22:00-06:00"),
      DND_AT("mon-early", "mon", "06:00-08:00"), NULL, NULL },
    { "windows that touch", RING_AT("am", "mon-fri", "09:00-12:00"), RING_AT("pm", "mon-fri", "12:00-17:00"),
      NULL, NULL },
    { "windows that overlap by a minute", RING_AT("am", "mon-fri", "09:00-12:00"),
      RING_AT("pm", "mon-fri", "11:59-17:00"), "overlap", NULL },
    { "the same hours on other days", RING_AT("week", "mon-fri", "09:00-17:00"),
      RING_AT("weekend", "sat,sun", "09:00-17:00"), NULL, NULL },
    { "a ring and a no-answer divert at the same hours", RING_AT("day", "mon-fri", "09:00-17:00"),
      RULE("na", "\"days\":\"mon-fri\",\"time\":\"09:00-17:00\",\"action\":\"divert\",\"on\":\"no_answer\","
                 "\"to\":\"voicemail\""), NULL, NULL },
    { "the same hours for one presence, then for any",
      RULE("away", "\"presence\":[\"away\"],\"days\":\"mon-fri\",\"time\":\"09:00-17:00\",\"action\":\"dnd\""),
      RING_AT("day", "mon-fri", "09:00-17:00"), NULL, NULL },
    { "a rule for every call before a timed one", RULE("all", "\"action\":\"ring\",\"ring\":[\"mobile\"]"),
      DND_AT("night", ALL, "22:00-06:00"), NULL,
      "warning: office: rule 'night' can never apply: rule 'all' before it" },
    { "a timed rule before the rule for every call", DND_AT("night", ALL, "22:00-06:00"),
      RULE("all", "\"action\":\"ring\",\"ring\":[\"mobile\"]"), NULL, NULL },
    { "whole weekdays before a window on them", RULE("week", "\"days\":\"mon-fri\",\"action\":\"dnd\""),
      RING_AT("day", "mon-fri", "09:00-17:00"), NULL, "rule 'day' can never apply" },
    { "dnd with exceptions lets calls on to later rules",
      RULE("dnd", "\"action\":\"dnd\",\"except\":[\"+441632960002\"]"), RING_AT("day", "mon-fri", "09:00-17:00"),
      NULL, NULL },
    { "a rule for any presence before an away rule", RULE("all", "\"action\":\"ring\",\"ring\":[\"mobile\"]"),
      RULE("away", "\"presence\":[\"away\"],\"action\":\"dnd\""), NULL, "rule 'away' can never apply" },
    { "an away rule before a meeting rule", RULE("away", "\"presence\":[\"away\"],\"action\":\"dnd\""),
      RULE("meet", "\"presence\":[\"in_meeting\"],\"action\":\"dnd\""), NULL, NULL },
    { "a caller rule before a rule for every call",
      RULE("vip", "\"callers\":[\"+4420*\"],\"action\":\"ring\",\"ring\":[\"mobile\"]"),
      RULE("all", "\"action\":\"dnd\""), NULL, NULL },
    { "a time with trailing text", RING_AT("day", "mon-fri", "09:00-17:30"),
      RING_AT("bad", "sat", "09:00-17:30x"), "is not HH:MM-HH:MM", NULL },
    { "a window starting at 24:00", RING_AT("day", "mon-fri", "09:00-17:30"),
      RING_AT("bad", "sat", "24:00-06:00"), "is not HH:MM (00:00-23:59)", NULL },
    { "ringing a device that does not exist", RING_AT("day", "mon-fri", "09:00-17:30"),
      RULE("pager", "\"action\":\"ring\",\"ring\":[\"pager\"]"), "rings device 'pager' which does not exist",
      NULL },
    { "diverting to a device that does not exist", RING_AT("day", "mon-fri", "09:00-17:30"),
      RULE("fwd", "\"action\":\"divert\",\"to\":\"pager\""), "diverts to device 'pager' which does not exist",
      NULL },
};

START_TEST(test_rules_saved_or_refused_in_pairs)
{
    char json[2048], err[256] = "";
    snprintf(json, sizeof json, "{\"active\":\"office\",\"profiles\":{\"office\":[%s,%s]}}", pairs[_i].first,
             pairs[_i].second);
    long long before = ver("alice");
    int rc = rw_dir_settings_put(r, &rw_numplan_uk, "alice", json, err, sizeof err);
    if (!pairs[_i].error) {
        ck_assert_msg(rc == 0, "%s: %s", pairs[_i].what, err);
        ck_assert_int_eq(ver("alice"), before + 1);
        if (pairs[_i].warning)
            ck_assert_msg(strstr(err, pairs[_i].warning), "%s: '%s' lacks '%s'", pairs[_i].what, err,
                          pairs[_i].warning);
        else
            ck_assert_msg(!err[0], "%s: warned '%s'", pairs[_i].what, err);
    } else {
        ck_assert_msg(rc == RW_EINVAL, "%s: saved", pairs[_i].what);
        ck_assert_msg(strstr(err, pairs[_i].error), "%s: '%s' lacks '%s'", pairs[_i].what, err, pairs[_i].error);
        ck_assert_int_eq(ver("alice"), before);      /* nothing written */
    }
}
END_TEST

START_TEST(test_calendar_divert_to_a_missing_device_is_refused)
{
    char err[256] = "";
    long long before = ver("alice");
    ck_assert_int_eq(rw_dir_divert_set(r, &rw_numplan_uk, "alice", "pager", 1000, 2000000000000ull, err,
                                       sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "divert to device 'pager' which does not exist");
    ck_assert_int_eq(ver("alice"), before);
    ck_assert_int_eq(rw_dir_divert_set(r, &rw_numplan_uk, "alice", "mobile", 1000, 4000000000000ull, err,
                                       sizeof err), 0);
    ck_assert_int_eq(ver("alice"), before + 1);
    ck_assert_int_eq(rw_dir_device_rm(r, &rw_numplan_uk, "alice", "mobile", err, sizeof err), RW_EEXIST);
    ck_assert_msg(strstr(err, "calendar divert"), "%s", err);
    ck_assert_int_eq(rw_dir_divert_clear(r, "alice"), 0);
    ck_assert_int_eq(rw_dir_device_rm(r, &rw_numplan_uk, "alice", "mobile", err, sizeof err), 0);
}
END_TEST

#define TO(user) "{\"active\":\"o\",\"profiles\":{\"o\":[{\"name\":\"fwd\",\"action\":\"divert\",\"to\":\"user:" \
                 user "\"}]}}"

START_TEST(test_loops_of_two_and_three_users_are_refused_by_name)
{
    char err[256] = "";
    ck_assert_int_eq(rw_dir_settings_put(r, &rw_numplan_uk, "alice", TO("bob"), err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_settings_put(r, &rw_numplan_uk, "bob", TO("alice"), err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "this would close a divert loop: bob -> alice -> bob");
    ck_assert_int_eq(rw_dir_settings_put(r, &rw_numplan_uk, "bob", TO("carol"), err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_settings_put(r, &rw_numplan_uk, "carol", TO("alice"), err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "this would close a divert loop: carol -> alice -> bob -> carol");
    ck_assert_int_eq(rw_dir_divert_set(r, &rw_numplan_uk, "carol", "user:alice", 1000, 4000000000000ull, err,
                                       sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "this would close a divert loop: carol -> alice -> bob -> carol");
    ck_assert_int_eq(rw_dir_divert_set(r, &rw_numplan_uk, "alice", "user:alice", 1000, 4000000000000ull, err,
                                       sizeof err), RW_EINVAL);
}
END_TEST

START_TEST(test_a_new_extension_reaches_the_colleagues_who_divert_to_it)
{
    rw_dir_user_t bob;
    char err[256] = "";
    ck_assert_int_eq(rw_dir_settings_put(r, &rw_numplan_uk, "alice", TO("bob"), err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_divert_set(r, &rw_numplan_uk, "carol", "user:bob", 1000, 4000000000000ull, err,
                                       sizeof err), 0);
    char *before = rw_dir_settings_get(r, "alice");
    ck_assert_ptr_nonnull(strstr(before, "\"ext\":\"2002\""));
    free(before);
    long long v_alice = ver("alice"), v_carol = ver("carol");
    ck_assert_int_eq(rw_dir_user_get(r, "bob", &bob), 0);
    strcpy(bob.ext, "2012");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &bob, "pw", err, sizeof err) == 0, "%s", err);
    char *after = rw_dir_settings_get(r, "alice");
    ck_assert_msg(strstr(after, "\"ext\":\"2012\"") && !strstr(after, "2002"), "%s", after);
    free(after);
    redisReply *d = rw_redis_command(r, "HGET rw:divert:carol ext");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->str, "2012");
    freeReplyObject(d);
    ck_assert_int_eq(ver("alice"), v_alice + 1);     /* both rebuilt by the routers */
    ck_assert_int_eq(ver("carol"), v_carol + 1);
}
END_TEST

START_TEST(test_an_unknown_time_zone_is_refused)
{
    rw_dir_user_t u;
    char err[256] = "";
    memset(&u, 0, sizeof u);
    strcpy(u.id, "dave");
    strcpy(u.ext, "2004");
    strcpy(u.tz, "Europe/Londn");
    strcpy(u.realm, "ringway.local");
    ck_assert_int_eq(rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err), RW_EINVAL);
    ck_assert_msg(strstr(err, "tz 'Europe/Londn' is not a time zone"), "%s", err);
    ck_assert_int_eq(rw_dir_user_get(r, "dave", &u), RW_ENOTFOUND);
    ck_assert(rw_dir_zone_exists("America/New_York"));
    ck_assert(!rw_dir_zone_exists("../etc/passwd"));
}
END_TEST

static int has_sha256(const char *id)
{
    redisReply *rep = rw_redis_command(r, "HEXISTS rw:user:%s ha1_sha256", id);
    ck_assert_ptr_nonnull(rep);
    int n = (int) rep->integer;
    freeReplyObject(rep);
    return n;
}

/* A user saved again without a password (a name changed by an admin) keeps both digest
 * credentials; a new extension or a raw MD5 ha1 makes the SHA-256 one stale, so it goes. */
START_TEST(test_a_resave_without_password_keeps_the_sha256_credential)
{
    rw_dir_user_t u;
    char err[256];
    ck_assert_int_eq(has_sha256("alice"), 1);
    ck_assert_int_eq(rw_dir_user_get(r, "alice", &u), 0);
    snprintf(u.name, sizeof u.name, "Alice Renamed");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(has_sha256("alice"), 1);
    snprintf(u.ext, sizeof u.ext, "2101");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(has_sha256("alice"), 0);
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, "new-pw", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(has_sha256("alice"), 1);
    memset(u.ha1, '0', 32);
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(has_sha256("alice"), 0);
}
END_TEST

START_TEST(test_ver_counts_every_write_to_the_user)
{
    char err[256] = "";
    long long v = ver("bob");
    ck_assert_int_ge(v, 3);                          /* user, two devices */
    ck_assert_int_eq(rw_dir_rule_set(r, &rw_numplan_uk, "bob", "office",
                                     RULE("x", "\"action\":\"dnd\""), err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_rule_set(r, &rw_numplan_uk, "bob", "home",
                                     RULE("y", "\"action\":\"dnd\""), err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_profile_switch(r, &rw_numplan_uk, "bob", "home", err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_divert_clear(r, "bob"), 0);
    ck_assert_int_eq(ver("bob"), v + 4);
    ck_assert_int_eq(rw_dir_profile_switch(r, &rw_numplan_uk, "bob", "nope", err, sizeof err), RW_ENOTFOUND);
    ck_assert_int_eq(ver("bob"), v + 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dir_settings");
    TCase *tc = tcase_create("dir_settings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_rules_saved_or_refused_in_pairs, 0, (int) (sizeof pairs / sizeof pairs[0]));
    tcase_add_test(tc, test_calendar_divert_to_a_missing_device_is_refused);
    tcase_add_test(tc, test_loops_of_two_and_three_users_are_refused_by_name);
    tcase_add_test(tc, test_a_new_extension_reaches_the_colleagues_who_divert_to_it);
    tcase_add_test(tc, test_an_unknown_time_zone_is_refused);
    tcase_add_test(tc, test_ver_counts_every_write_to_the_user);
    tcase_add_test(tc, test_a_resave_without_password_keeps_the_sha256_credential);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
