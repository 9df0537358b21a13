/* tests/unit/calendar/store_test.c — the calendar's Redis scripts (services/calendar/store.c)
 * against a real redis-server: leases shared by two instances, a lost lease, the calendar
 * presence source (docs/presence.md) and the meeting divert written ahead from the schedule at
 * the time passed, other sources and a divert set by hand left alone, a broken source keeping the last good schedule, a deleted meeting undone.
 * Times are passed to the scripts (year 2100, so PEXPIREAT lies ahead); only the lease's own
 * expiry is Redis's clock, waited for as a condition. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/redis.h"
#include "services/calendar/store.h"
#include "tests/harness/redis_fixture.h"

#define T 4102444800000ULL              /* 2100-01-01 00:00 UTC */

static rw_redis_fixture_t fx;
static rw_redis_t *r;

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

/* One command; its words (no spaces inside any) split on spaces. */
static redisReply *cmd(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *argv[32];
    size_t argl[32];
    int argc = 0;
    for (char *s = strtok(line, " "); s && argc < 32; s = strtok(NULL, " "))
        argv[argc] = s, argl[argc] = strlen(s), argc++;
    redisReply *x = rw_redis_commandargv(r, argc, argv, argl);
    ck_assert_ptr_nonnull(x);
    ck_assert_msg(x->type != REDIS_REPLY_ERROR, "%s", x->str);
    return x;
}

#define run(...) freeReplyObject(cmd(__VA_ARGS__))

static char *hget(const char *key, const char *field)
{
    redisReply *x = rw_redis_command(r, "HGET %s %s", key, field);
    ck_assert_ptr_nonnull(x);
    char *s = x->type == REDIS_REPLY_STRING ? strdup(x->str) : NULL;
    freeReplyObject(x);
    return s;
}

static void assert_field(const char *key, const char *field, const char *want)
{
    char *got = hget(key, field);
    if (!want)
        ck_assert_msg(!got, "%s %s = %s, want none", key, field, got);
    else
        ck_assert_msg(got && !strcmp(got, want), "%s %s = %s, want %s", key, field, got ? got : "(none)", want);
    free(got);
}

/* claim as inst at now; returns how many users it got. */
static size_t claim(const char *inst, unsigned long long now, unsigned lease_ms)
{
    redisReply *x = rw_redis_command(r, "EVAL %s 0 %s %llu %u 10 3600000", rw_cal_claim_lua, inst, now, lease_ms);
    ck_assert_ptr_nonnull(x);
    ck_assert_msg(x->type == REDIS_REPLY_ARRAY, "%s", x->type == REDIS_REPLY_ERROR ? x->str : "?");
    size_t n = x->elements;
    if (n) {
        ck_assert_str_eq(x->element[0]->element[0]->str, "alice");
        ck_assert_str_eq(x->element[0]->element[1]->str, "ics");
        ck_assert_str_eq(x->element[0]->element[5]->str, "Europe/London");
    }
    freeReplyObject(x);
    return n;
}

/* apply as inst at now; the reply's four strings (state, presence source, meeting, divert)
 * joined with '/'. */
static void apply(const char *inst, unsigned long long now, int ok, const char *blocks, const char *err,
                  char *out, size_t len)
{
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%llu", now);
    const char *argv[] = { "EVAL", rw_cal_apply_lua, "0", "alice", inst, now_s, "300000", ok == 2 ? "2" : ok ? "1" : "0",
                           blocks, "[]", err, "1", "3:ctag-1" };
    redisReply *x = rw_redis_commandargv(r, 13, argv, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_msg(x->type == REDIS_REPLY_ARRAY && x->elements == 6, "%s", x->type == REDIS_REPLY_ERROR ? x->str : "?");
    snprintf(out, len, "%s/%s/%s/%s", x->element[0]->str, x->element[1]->str, x->element[2]->str,
             x->element[3]->str);
    freeReplyObject(x);
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 5000 };
    r = rw_redis_new(&o);
    freeReplyObject(cmd("FLUSHALL"));
    run("HSET rw:user:alice tz Europe/London");
    run("HSET rw:cal:alice kind ics url http://127.0.0.1:1/a.ics");
    run("ZADD rw:cal:due 0 alice");
}

static void teardown(void)
{
    rw_redis_destroy(&r);
}

/* Take alice as "a" at T and give her back with blocks. */
static void sync_as_a(unsigned long long now, const char *blocks, char *out, size_t len)
{
    redisReply *x = cmd("SET rw:cal:lease:alice a PX 60000");
    freeReplyObject(x);
    apply("a", now, 1, blocks, "", out, len);
}

START_TEST(test_one_instance_at_a_time_and_a_dead_ones_users_come_back)
{
    ck_assert_uint_eq(claim("a", T, 300), 1);
    ck_assert_uint_eq(claim("b", T, 300), 0);                   /* leased to a */
    ck_assert_uint_eq(claim("b", T + 300, 300), 0);              /* due again, lease still held */
    uint64_t t0 = rw_clock_mono_ms();
    for (;;) {                                                   /* a is "killed": wait for its lease to end */
        redisReply *x = cmd("EXISTS rw:cal:lease:alice");
        long long e = x->integer;
        freeReplyObject(x);
        if (!e)
            break;
        ck_assert_msg(rw_clock_mono_ms() - t0 < 5000, "lease never ended");
        usleep(20000);
    }
    ck_assert_uint_eq(claim("b", T + 300, 300), 1);
    char out[64];
    apply("a", T + 400, 1, "", "", out, sizeof out);             /* a woke up: too late */
    ck_assert_str_eq(out, "lost///");
    apply("b", T + 400, 1, "", "", out, sizeof out);
    ck_assert_str_eq(out, "ok///");
    redisReply *x = cmd("ZSCORE rw:cal:due alice");
    ck_assert_uint_eq(strtoull(x->str, NULL, 10), T + 400 + 300000);
    freeReplyObject(x);
}
END_TEST

START_TEST(test_meeting_presence_source_written_ahead_and_removed)
{
    char out[64], blocks[128], want[64];
    snprintf(blocks, sizeof blocks, "%llu-%llu,%llu-%llu", T + 1000, T + 2000, T + 5000, T + 6000);
    snprintf(want, sizeof want, "in_meeting %llu %llu", T + 2000, T + 1000);
    sync_as_a(T + 500, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok/set//");                           /* the next meeting, ahead */
    assert_field("rw:presence:src:alice", "calendar", want);
    redisReply *x = cmd("LRANGE rw:presence:dirty 0 -1");          /* the presence service is told */
    ck_assert_uint_eq(x->elements, 1);
    ck_assert_str_eq(x->element[0]->str, "alice");
    freeReplyObject(x);
    x = cmd("ZSCORE rw:cal:due alice");                            /* woken at the meeting's start */
    ck_assert_uint_eq(strtoull(x->str, NULL, 10), T + 1000);
    freeReplyObject(x);
    sync_as_a(T + 1000, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok//started/");
    sync_as_a(T + 1500, blocks, out, sizeof out);                /* nothing new */
    ck_assert_str_eq(out, "ok///");
    sync_as_a(T + 2000, blocks, out, sizeof out);                /* over: the next one, ahead */
    snprintf(want, sizeof want, "in_meeting %llu %llu", T + 6000, T + 5000);
    ck_assert_str_eq(out, "ok/set/ended/");
    assert_field("rw:presence:src:alice", "calendar", want);
    sync_as_a(T + 2100, "", out, sizeof out);                    /* the meeting was deleted */
    ck_assert_str_eq(out, "ok/cleared//");
    assert_field("rw:presence:src:alice", "calendar", NULL);
}
END_TEST

START_TEST(test_other_presence_sources_are_left_alone)
{
    run("HSET rw:presence:src:alice manual away");
    run("HSET rw:presence:alice state away until_ms 0 source manual");
    char out[64], blocks[64];
    snprintf(blocks, sizeof blocks, "%llu-%llu", T + 1000, T + 2000);
    sync_as_a(T + 1500, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok/set/started/");
    assert_field("rw:presence:src:alice", "manual", "away");
    assert_field("rw:presence:alice", "state", "away");          /* the merge decides, not the calendar */
}
END_TEST

static const char meeting_rule[] =
    "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"meeting\",\"presence\":[\"in_meeting\"],"
    "\"action\":\"divert\",\"to\":\"user:bob\",\"ext\":\"2002\"}]}}";

START_TEST(test_meeting_divert_written_ahead_and_cleared)
{
    const char *argv[] = { "HSET", "rw:user:alice", "settings", meeting_rule };
    freeReplyObject(rw_redis_commandargv(r, 4, argv, NULL));
    char out[64], blocks[64], s[24];
    snprintf(blocks, sizeof blocks, "%llu-%llu", T + 1000, T + 2000);
    sync_as_a(T + 500, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok/set//set");
    snprintf(s, sizeof s, "%llu", T + 1000);
    assert_field("rw:divert:alice", "start_ms", s);
    snprintf(s, sizeof s, "%llu", T + 2000);
    assert_field("rw:divert:alice", "end_ms", s);
    assert_field("rw:divert:alice", "to", "user:bob");
    assert_field("rw:divert:alice", "ext", "2002");
    assert_field("rw:divert:alice", "source", "calendar");
    redisReply *x = cmd("PEXPIRETIME rw:divert:alice");            /* ends by itself, service or not */
    ck_assert_int_eq(x->integer, (long long) (T + 2000));
    freeReplyObject(x);
    sync_as_a(T + 600, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok///");                              /* unchanged: not written again */
    sync_as_a(T + 700, "", out, sizeof out);                     /* meeting deleted */
    ck_assert_str_eq(out, "ok/cleared//cleared");
    assert_field("rw:divert:alice", "to", NULL);
}
END_TEST

START_TEST(test_divert_set_by_hand_is_kept)
{
    const char *argv[] = { "HSET", "rw:user:alice", "settings", meeting_rule };
    freeReplyObject(rw_redis_commandargv(r, 4, argv, NULL));
    run("HSET rw:divert:alice start_ms %llu end_ms %llu to voicemail", T, T + 9000);
    char out[64], blocks[64];
    snprintf(blocks, sizeof blocks, "%llu-%llu", T + 1000, T + 2000);
    sync_as_a(T + 500, blocks, out, sizeof out);
    ck_assert_str_eq(out, "ok/set//manual");
    assert_field("rw:divert:alice", "to", "voicemail");
}
END_TEST

START_TEST(test_broken_source_keeps_the_last_good_schedule)
{
    char out[64], blocks[64];
    snprintf(blocks, sizeof blocks, "%llu-%llu", T + 1000, T + 2000);
    sync_as_a(T + 500, blocks, out, sizeof out);
    freeReplyObject(cmd("SET rw:cal:lease:alice a PX 60000"));
    apply("a", T + 1000, 0, "", "HTTP 500", out, sizeof out);
    ck_assert_str_eq(out, "ok//started/");                       /* from the kept schedule */
    assert_field("rw:cal:alice", "blocks", blocks);
    assert_field("rw:cal:alice", "error", "HTTP 500");
    sync_as_a(T + 1100, blocks, out, sizeof out);
    assert_field("rw:cal:alice", "error", "");
}
END_TEST

/* The tag of the last full read goes out with a claim while that read is recent (under an
 * hour); an unchanged sync keeps the schedule and counts as good. */
static const char *claimed_tag(unsigned long long now, char *out, size_t len)
{
    redisReply *x = rw_redis_command(r, "EVAL %s 0 a %llu 60000 10 3600000", rw_cal_claim_lua, now);
    ck_assert_ptr_nonnull(x);
    ck_assert_msg(x->type == REDIS_REPLY_ARRAY && x->elements == 1, "%s", x->type == REDIS_REPLY_ERROR ? x->str : "?");
    snprintf(out, len, "%s", x->element[0]->element[6]->str);
    freeReplyObject(x);
    freeReplyObject(cmd("DEL rw:cal:lease:alice"));
    freeReplyObject(cmd("ZADD rw:cal:due 0 alice"));
    return out;
}

START_TEST(test_unchanged_tags_keep_the_schedule_and_expire_hourly)
{
    char out[64], blocks[64], tag[64], s[24];
    snprintf(blocks, sizeof blocks, "%llu-%llu", T + 1000, T + 2000);
    ck_assert_str_eq(claimed_tag(T, tag, sizeof tag), "");             /* never read: whole */
    sync_as_a(T + 500, blocks, out, sizeof out);
    assert_field("rw:cal:alice", "tag", "3:ctag-1");
    freeReplyObject(cmd("ZADD rw:cal:due 0 alice"));
    ck_assert_str_eq(claimed_tag(T + 600, tag, sizeof tag), "3:ctag-1");
    freeReplyObject(cmd("SET rw:cal:lease:alice a PX 60000"));
    apply("a", T + 700, 2, "", "", out, sizeof out);
    ck_assert_str_eq(out, "ok///");                              /* nothing changed */
    assert_field("rw:cal:alice", "blocks", blocks);                  /* kept */
    snprintf(s, sizeof s, "%llu", T + 700);
    assert_field("rw:cal:alice", "last_ok_ms", s);
    ck_assert_str_eq(claimed_tag(T + 500 + 3600000, tag, sizeof tag), "");   /* an hour on: whole */
}
END_TEST

START_TEST(test_cleared_calendar_leaves_the_queue)
{
    run("DEL rw:cal:alice");
    ck_assert_uint_eq(claim("a", T, 300), 0);
    redisReply *x = cmd("ZSCORE rw:cal:due alice");
    ck_assert_int_eq(x->type, REDIS_REPLY_NIL);
    freeReplyObject(x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("calendar_store");
    TCase *t = tcase_create("scripts");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_one_instance_at_a_time_and_a_dead_ones_users_come_back);
    tcase_add_test(t, test_meeting_presence_source_written_ahead_and_removed);
    tcase_add_test(t, test_other_presence_sources_are_left_alone);
    tcase_add_test(t, test_meeting_divert_written_ahead_and_cleared);
    tcase_add_test(t, test_divert_set_by_hand_is_kept);
    tcase_add_test(t, test_broken_source_keeps_the_last_good_schedule);
    tcase_add_test(t, test_unchanged_tags_keep_the_schedule_and_expire_hourly);
    tcase_add_test(t, test_cleared_calendar_leaves_the_queue);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
