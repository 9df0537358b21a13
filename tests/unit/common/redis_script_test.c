/* tests/unit/common/redis_script_test.c — Lua scripts by SHA1 against a real redis-server: the
 * first call works before Redis knows the script, later calls are EVALSHA (counted by INFO
 * commandstats), a SCRIPT FLUSH is survived through the EVAL fallback, the SHA1 is Redis's own,
 * a call in flight when its script object is destroyed still calls back once, many calls in
 * flight (small ones on reused memory, large ones not) each get their own answer, and a
 * callback may destroy its script. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/redis.h"
#include "common/redis_script.h"
#include "tests/harness/redis_fixture.h"

static const char LUA[] = "redis.call('SET', KEYS[1], ARGV[1])\nreturn ARGV[1] .. ':' .. KEYS[1]\n";

static rw_redis_fixture_t fx;
static su_root_t *root;
static rw_aredis_t *ar;
static rw_redis_t *sync_r;

typedef struct {
    int calls;
    char answer[64];
} result_t;

#define RUN_UNTIL(cond, ms)                                                     \
    do {                                                                        \
        uint64_t until_ = rw_clock_mono_ms() + (ms);                            \
        while (!(cond) && rw_clock_mono_ms() < until_)                          \
            su_root_step(root, 10);                                             \
    } while (0)

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void setup(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    atexit(stop_server);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .connect_timeout_ms = 300,
                          .command_timeout_ms = 500 };
    ar = rw_aredis_new(root, &o);
    sync_r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(ar);
    ck_assert_ptr_nonnull(sync_r);
    RUN_UNTIL(rw_aredis_connected(ar), 2000);
    ck_assert(rw_aredis_connected(ar));
}

static void teardown(void)
{
    rw_aredis_destroy(&ar);
    rw_redis_destroy(&sync_r);
    su_root_destroy(root);
    root = NULL;
    su_deinit();
    stop_server();
}

/* calls=N of cmdstat_<cmd> in INFO commandstats; 0 when the command never ran. */
static long calls_of(const char *cmd)
{
    redisReply *r = rw_redis_command(sync_r, "INFO commandstats");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    char needle[64];
    snprintf(needle, sizeof needle, "cmdstat_%s:calls=", cmd);
    const char *p = strstr(r->str, needle);
    long n = p ? strtol(p + strlen(needle), NULL, 10) : 0;
    freeReplyObject(r);
    return n;
}

static void on_result(void *arg, redisReply *reply)
{
    result_t *res = arg;
    res->calls++;
    if (reply && reply->type == REDIS_REPLY_STRING)
        snprintf(res->answer, sizeof res->answer, "%s", reply->str);
    else
        snprintf(res->answer, sizeof res->answer, "%s", reply ? "(error)" : "(none)");
}

/* Runs the script once and waits for its answer. */
static void run_once(rw_redis_script_t *s, const char *key, const char *value, const char *expect)
{
    result_t res = { 0 };
    const char *args[] = { key, value };
    ck_assert_int_eq(rw_redis_script_run(s, ar, 1, 2, args, NULL, on_result, &res), 0);
    RUN_UNTIL(res.calls > 0, 2000);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_str_eq(res.answer, expect);
}

START_TEST(first_call_sends_the_text_and_later_calls_use_evalsha)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    ck_assert_ptr_nonnull(s);
    run_once(s, "k1", "v1", "v1:k1");             /* Redis has never seen the script */
    ck_assert_int_eq(calls_of("eval"), 1);
    ck_assert_int_eq(calls_of("evalsha"), 0);
    for (int i = 0; i < 3; i++)
        run_once(s, "k2", "v2", "v2:k2");
    ck_assert_int_eq(calls_of("eval"), 1);
    ck_assert_int_eq(calls_of("evalsha"), 3);
    rw_redis_script_destroy(&s);
    ck_assert_ptr_null(s);
    rw_redis_script_destroy(&s);
}
END_TEST

START_TEST(script_flush_is_survived_by_sending_the_text_again)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    run_once(s, "k1", "v1", "v1:k1");
    run_once(s, "k1", "v2", "v2:k1");
    redisReply *r = rw_redis_command(sync_r, "SCRIPT FLUSH");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    long sha_before = calls_of("evalsha");
    run_once(s, "k1", "v3", "v3:k1");             /* NOSCRIPT, then EVAL */
    ck_assert_int_eq(calls_of("eval"), 2);
    run_once(s, "k1", "v4", "v4:k1");             /* cached again: EVALSHA */
    ck_assert_int_eq(calls_of("eval"), 2);
    ck_assert_int_gt(calls_of("evalsha"), sha_before);
    r = rw_redis_command(sync_r, "GET k1");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->str, "v4");
    freeReplyObject(r);
    rw_redis_script_destroy(&s);
}
END_TEST

START_TEST(sha_is_the_one_redis_computes)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    redisReply *r = rw_redis_command(sync_r, "SCRIPT LOAD %s", LUA);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(rw_redis_script_sha(s), r->str);
    freeReplyObject(r);
    rw_redis_script_destroy(&s);
}
END_TEST

START_TEST(call_in_flight_calls_back_once_after_destroy)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    result_t res = { 0 };
    const char *args[] = { "k9", "v9" };
    const size_t lens[] = { 2, 2 };
    ck_assert_int_eq(rw_redis_script_run(s, ar, 1, 2, args, lens, on_result, &res), 0);
    rw_redis_script_destroy(&s);
    RUN_UNTIL(res.calls > 0, 2000);
    su_root_step(root, 50);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_str_eq(res.answer, "v9:k9");
}
END_TEST

START_TEST(bad_arguments_are_refused_without_a_callback)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    result_t res = { 0 };
    const char *args[] = { "k1" };
    ck_assert_int_eq(rw_redis_script_run(s, ar, 2, 1, args, NULL, on_result, &res), RW_EINVAL);
    ck_assert_int_eq(rw_redis_script_run(s, NULL, 1, 1, args, NULL, on_result, &res), RW_EINVAL);
    ck_assert_int_eq(rw_redis_script_run(NULL, ar, 1, 1, args, NULL, on_result, &res), RW_EINVAL);
    ck_assert_ptr_null(rw_redis_script_new(NULL));
    su_root_step(root, 50);
    ck_assert_int_eq(res.calls, 0);
    rw_redis_script_destroy(&s);
}
END_TEST

typedef struct {
    int calls, wrong;
    char expect[64];
} many_t;

static void on_many(void *arg, redisReply *reply)
{
    many_t *m = arg;
    m->calls++;
    if (!reply || reply->type != REDIS_REPLY_STRING || strncmp(reply->str, m->expect, strlen(m->expect)))
        m->wrong++;
}

START_TEST(many_calls_in_flight_each_get_their_own_answer)
{
    rw_redis_script_t *s = rw_redis_script_new(LUA);
    static many_t m[600];
    static char big[2000];
    memset(big, 'x', sizeof big - 1);
    for (int round = 0; round < 3; round++) {     /* later rounds run on reused calls */
        memset(m, 0, sizeof m);
        for (int i = 0; i < 600; i++) {
            char key[32], value[32];
            snprintf(key, sizeof key, "key-%d", i);
            snprintf(value, sizeof value, "value-%d-%d", round, i);
            snprintf(m[i].expect, sizeof m[i].expect, "%s%s", i % 100 == 7 ? "xxxxxxxx" : value,
                     i % 100 == 7 ? "" : ":");
            const char *args[] = { key, i % 100 == 7 ? big : value };  /* some past the pool size */
            ck_assert_int_eq(rw_redis_script_run(s, ar, 1, 2, args, NULL, on_many, &m[i]), 0);
        }
        int done = 0;
        uint64_t until = rw_clock_mono_ms() + 5000;
        while (done < 600 && rw_clock_mono_ms() < until) {
            su_root_step(root, 10);
            done = 0;
            for (int i = 0; i < 600; i++)
                done += m[i].calls;
        }
        for (int i = 0; i < 600; i++) {
            ck_assert_int_eq(m[i].calls, 1);
            ck_assert_int_eq(m[i].wrong, 0);
        }
    }
    rw_redis_script_destroy(&s);
}
END_TEST

static rw_redis_script_t *doomed;

static void destroy_in_callback(void *arg, redisReply *reply)
{
    result_t *res = arg;
    res->calls++;
    snprintf(res->answer, sizeof res->answer, "%s", reply && reply->type == REDIS_REPLY_STRING ? reply->str : "?");
    rw_redis_script_destroy(&doomed);
}

START_TEST(a_callback_may_destroy_its_script)
{
    result_t res = { 0 };
    const char *args[] = { "k5", "v5" };
    doomed = rw_redis_script_new(LUA);
    ck_assert_int_eq(rw_redis_script_run(doomed, ar, 1, 2, args, NULL, destroy_in_callback, &res), 0);
    RUN_UNTIL(res.calls > 0, 2000);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_str_eq(res.answer, "v5:k5");
    ck_assert_ptr_null(doomed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_script");
    TCase *tc = tcase_create("redis_script");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, first_call_sends_the_text_and_later_calls_use_evalsha);
    tcase_add_test(tc, script_flush_is_survived_by_sending_the_text_again);
    tcase_add_test(tc, sha_is_the_one_redis_computes);
    tcase_add_test(tc, call_in_flight_calls_back_once_after_destroy);
    tcase_add_test(tc, bad_arguments_are_refused_without_a_callback);
    tcase_add_test(tc, many_calls_in_flight_each_get_their_own_answer);
    tcase_add_test(tc, a_callback_may_destroy_its_script);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
