/* tests/unit/sipedge/calls_live_test.c — the calls a sip-edge process vouches for in Redis
 * (calls_live.h), against a real redis-server: ringing and answered calls listed in
 * rw:calls:<publisher> with "." and a TTL of at most 3 s, ended and failed ones removed at the
 * next batch; a batch with nothing new only refreshes the TTL, and a set Redis lost is written
 * whole again; the BYE of a call another process carried goes to rw:calls:ended (nothing else
 * does); a full map puts "*" in the set; no Redis, no object. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "services/sip-edge/calls_live.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static su_root_t *root;
static rw_aredis_t *redis;
static rw_redis_t *sync_r;
static rw_calls_live_t *cl;

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
}

static void teardown_redis(void)
{
    rw_redis_fixture_stop(&fx);
}

static void setup(void)
{
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    redis = rw_redis_fixture_client(&fx, root);
    ck_assert_ptr_nonnull(redis);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 2000 };
    sync_r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(sync_r);
}

static void teardown(void)
{
    rw_calls_live_destroy(&cl);
    rw_redis_destroy(&sync_r);
    rw_aredis_destroy(&redis);
    su_root_destroy(root);
    su_deinit();
}

static void note(const char *type, const char *call_id, const char *reason)
{
    static rw_event_t ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.type, sizeof ev.type, "%s", type);
    snprintf(ev.publisher, sizeof ev.publisher, "edge-w0");
    snprintf(ev.call.call_id, sizeof ev.call.call_id, "%s", call_id);
    snprintf(ev.call.reason, sizeof ev.call.reason, "%s", reason ? reason : "");
    rw_calls_live_note(cl, &ev);
}

/* The members of rw:calls:edge-w0, sorted, space-separated ("" when there is no set). */
static const char *members(void)
{
    static char buf[512];
    redisReply *x = rw_redis_command(sync_r, "SORT rw:calls:edge-w0 ALPHA");
    ck_assert_ptr_nonnull(x);
    buf[0] = '\0';
    for (size_t i = 0; x->type == REDIS_REPLY_ARRAY && i < x->elements; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", x->element[i]->str);
    freeReplyObject(x);
    return buf;
}

static long long integer(const char *fmt, const char *arg)
{
    redisReply *x = rw_redis_command(sync_r, fmt, arg);
    ck_assert_ptr_nonnull(x);
    long long v = x->type == REDIS_REPLY_INTEGER ? x->integer : -99;
    freeReplyObject(x);
    return v;
}

/* One batch, then the loop turned until the set reads want (at most 2 s). */
static int flushed_to(const char *want)
{
    rw_calls_live_flush(cl);
    uint64_t end = rw_clock_mono_ms() + 2000;
    while (rw_clock_mono_ms() < end) {
        su_root_step(root, 10);
        if (!strcmp(members(), want))
            return 1;
    }
    fprintf(stderr, "rw:calls:edge-w0 is '%s', not '%s'\n", members(), want);
    return 0;
}

START_TEST(test_live_calls_listed_ended_ones_removed)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    ck_assert_ptr_nonnull(cl);
    rw_calls_live_flush(cl);            /* no event yet: the publisher is unknown, nothing written */
    ck_assert_str_eq(members(), "");
    note("call.offered", "c0", NULL);   /* offered is no call in progress */
    note("call.ringing", "c1", NULL);
    note("call.ringing", "c2", NULL);
    note("call.answered", "c2", NULL);
    ck_assert_uint_eq(rw_calls_live_count(cl), 2);
    ck_assert(flushed_to(". c1 c2"));
    long long ttl = integer("PTTL %s", "rw:calls:edge-w0");
    ck_assert(ttl > 0 && ttl <= RW_CALLS_LIVE_TTL_MS);
    note("call.failed", "c1", "busy");
    ck_assert(flushed_to(". c2"));
    note("call.ended", "c2", "bye");
    ck_assert(flushed_to("."));
    ck_assert_uint_eq(rw_calls_live_count(cl), 0);
    /* an end this process carried is no BYE of another's */
    ck_assert_int_eq(integer("EXISTS %s", "rw:calls:ended"), 0);
}
END_TEST

START_TEST(test_nothing_new_refreshes_the_ttl_a_lost_set_is_written_whole)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.answered", "c1", NULL);
    ck_assert(flushed_to(". c1"));
    /* Redis sets another TTL; a batch with nothing new brings it back under 3 s */
    ck_assert_int_eq(integer("PEXPIRE %s 600000", "rw:calls:edge-w0"), 1);
    rw_calls_live_flush(cl);
    uint64_t end = rw_clock_mono_ms() + 2000;
    while (integer("PTTL %s", "rw:calls:edge-w0") > RW_CALLS_LIVE_TTL_MS && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert(integer("PTTL %s", "rw:calls:edge-w0") <= RW_CALLS_LIVE_TTL_MS);
    ck_assert_str_eq(members(), ". c1");
    /* the set lost (a failover, a flush): the refresh finds nothing and writes it whole */
    ck_assert_int_eq(integer("DEL %s", "rw:calls:edge-w0"), 1);
    ck_assert(flushed_to(". c1"));
}
END_TEST

START_TEST(test_bye_of_another_process_call_goes_to_ended)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.ended", "c9", "bye");            /* never ringing or answered here */
    note("call.ended", "c8", "redirected");     /* a 302: no call anywhere */
    note("call.failed", "c7", "busy");
    ck_assert(flushed_to("."));
    ck_assert_int_eq(integer("ZCARD %s", "rw:calls:ended"), 1);
    redisReply *x = rw_redis_command(sync_r, "ZSCORE rw:calls:ended c9");
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(x->type, REDIS_REPLY_STRING);
    freeReplyObject(x);
    ck_assert(integer("PTTL %s", "rw:calls:edge-w0") > 0);
}
END_TEST

START_TEST(test_a_full_map_vouches_for_every_call)
{
    cl = rw_calls_live_new(root, redis, NULL, 2);
    note("call.answered", "c1", NULL);
    note("call.answered", "c2", NULL);
    note("call.answered", "c3", NULL);          /* no room */
    ck_assert_uint_eq(rw_calls_live_count(cl), 2);
    ck_assert(flushed_to("* . c1 c2"));
}
END_TEST

START_TEST(test_no_redis_no_object)
{
    ck_assert_ptr_null(rw_calls_live_new(root, NULL, NULL, 0));
    note("call.answered", "c1", NULL);          /* cl is NULL: nothing */
    rw_calls_live_flush(NULL);
    ck_assert_uint_eq(rw_calls_live_count(NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("calls_live");
    TCase *tc = tcase_create("calls_live");
    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, setup_redis, teardown_redis);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_live_calls_listed_ended_ones_removed);
    tcase_add_test(tc, test_nothing_new_refreshes_the_ttl_a_lost_set_is_written_whole);
    tcase_add_test(tc, test_bye_of_another_process_call_goes_to_ended);
    tcase_add_test(tc, test_a_full_map_vouches_for_every_call);
    tcase_add_test(tc, test_no_redis_no_object);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
