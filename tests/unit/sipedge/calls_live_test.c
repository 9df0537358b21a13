/* tests/unit/sipedge/calls_live_test.c — the calls a sip-edge process vouches for in Redis
 * (calls_live.h), against a real redis-server: ringing and answered calls listed in
 * rw:calls:<publisher> with "." and a TTL of at most 3 s, ended and failed ones removed at the
 * next batch; a batch with nothing new only refreshes the TTL, and a set Redis lost is written
 * whole again; the BYE of a call another process carried goes to rw:calls:ended (nothing else
 * does); a call whose BYE another process forwarded (rw:calls:ended) leaves this process's map
 * and set, an id it never carried changes nothing, a read cut by its limit goes on at the next
 * batch, an id written late is still seen, and a Redis error is logged once and changes
 * nothing; a full map puts "*" in the set; no Redis, no object. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "services/sip-edge/calls_live.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static su_root_t *root;
static rw_aredis_t *redis;
static rw_redis_t *sync_r;
static rw_calls_live_t *cl;            /* the process edge-w0 */
static rw_calls_live_t *other;         /* another process of the same edge, edge-w1 */
static FILE *logs;                     /* the lines logged, when a test reads them */

/* The wall clock, the clock of rw:calls:ended's scores, pinned at 2026-01-05 09:00 UTC. */
#define T0 1767603600000ULL

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
}

static void teardown_redis(void)
{
    rw_redis_fixture_stop(&fx);
}

static void on_pong(void *arg, redisReply *r)
{
    *(int *) arg = r ? 1 : -1;
}

static void setup(void)
{
    rw_clock_fake_wall(T0);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    redis = rw_redis_fixture_client(&fx, root);
    ck_assert_ptr_nonnull(redis);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 2000 };
    sync_r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(sync_r);
    /* the client's FLUSHALL done before a test writes through sync_r: a PING queued after it */
    int pong = 0;
    ck_assert_int_eq(rw_aredis_command(redis, on_pong, &pong, "PING"), 0);
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (!pong && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert_int_eq(pong, 1);
}

static void teardown(void)
{
    rw_calls_live_destroy(&other);
    rw_calls_live_destroy(&cl);
    if (logs) {
        rw_log_set_output(NULL);
        fclose(logs);
        logs = NULL;
    }
    rw_clock_fake_wall(0);
    rw_redis_destroy(&sync_r);
    rw_aredis_destroy(&redis);
    su_root_destroy(root);
    su_deinit();
}

static void note_on(rw_calls_live_t *c, const char *publisher, const char *type, const char *call_id,
                    const char *reason)
{
    static rw_event_t ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.type, sizeof ev.type, "%s", type);
    snprintf(ev.publisher, sizeof ev.publisher, "%s", publisher);
    snprintf(ev.call.call_id, sizeof ev.call.call_id, "%s", call_id);
    snprintf(ev.call.reason, sizeof ev.call.reason, "%s", reason ? reason : "");
    rw_calls_live_note(c, &ev);
}

static void note(const char *type, const char *call_id, const char *reason)
{
    note_on(cl, "edge-w0", type, call_id, reason);
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

/* ZADD rw:calls:ended score id, as another process's batch does: the ids added. */
static long long ended_at(uint64_t score, const char *id)
{
    redisReply *x = rw_redis_command(sync_r, "ZADD rw:calls:ended %llu %s", (unsigned long long) score, id);
    ck_assert_ptr_nonnull(x);
    long long v = x->type == REDIS_REPLY_INTEGER ? x->integer : -99;
    freeReplyObject(x);
    return v;
}

/* One batch of c, sent as soon as its last one is done (the loop turned, at most 5 s). */
static int batch(rw_calls_live_t *c)
{
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (rw_calls_live_flush(c) != 0) {
        if (rw_clock_mono_ms() >= end)
            return 0;
        su_root_step(root, 10);
    }
    return 1;
}

/* The loop turned until c holds n calls (at most 5 s). */
static int holds(rw_calls_live_t *c, size_t n)
{
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (rw_calls_live_count(c) != n && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    if (rw_calls_live_count(c) == n)
        return 1;
    fprintf(stderr, "%zu calls held, not %zu\n", rw_calls_live_count(c), n);
    return 0;
}

/* One batch, then the loop turned until the set reads want (at most 2 s). */
static int flushed_to(const char *want)
{
    if (!batch(cl))
        return 0;
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

START_TEST(test_a_call_whose_bye_another_process_forwarded_is_dropped)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    other = rw_calls_live_new(root, redis, NULL, 0);
    ck_assert_ptr_nonnull(other);
    note("call.ringing", "x1", NULL);
    note("call.answered", "x1", NULL);
    /* the BYE came to edge-w1, which never carried x1: it names it in rw:calls:ended */
    note_on(other, "edge-w1", "call.ended", "x1", "bye");
    ck_assert_uint_eq(rw_calls_live_count(other), 0);
    ck_assert(batch(other));
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (integer("ZRANK rw:calls:ended %s", "x1") != 0 && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert_int_eq(integer("ZRANK rw:calls:ended %s", "x1"), 0);
    /* edge-w0's next batch reads it and drops the call; the one after lists it no more */
    ck_assert_uint_eq(rw_calls_live_count(cl), 1);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 0));
    ck_assert(flushed_to("."));
    ck_assert_int_eq(integer("ZRANK rw:calls:ended %s", "x1"), 0);   /* presence still sees it */
}
END_TEST

START_TEST(test_an_id_this_process_never_carried_changes_nothing)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.answered", "x1", NULL);
    note("call.answered", "x2", NULL);
    ck_assert(flushed_to(". x1 x2"));           /* read with no rw:calls:ended at all */
    ck_assert(batch(cl));                       /* the first batch is done: nothing dropped */
    ck_assert_uint_eq(rw_calls_live_count(cl), 2);
    ck_assert_int_eq(ended_at(T0, "y1"), 1);
    ck_assert_int_eq(ended_at(T0, "x1"), 1);
    ck_assert_int_eq(ended_at(T0, "z9"), 1);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 1));                    /* x1 only */
    ck_assert(flushed_to(". x2"));
    ck_assert_uint_eq(rw_calls_live_count(cl), 1);
    ck_assert_int_eq(integer("ZCARD %s", "rw:calls:ended"), 3);   /* read, never written */
}
END_TEST

/* ZADD rw:calls:ended of n ids e0000, e0001, ... in groups of 1,000 with one score each
 * (T0 + the group), so that the limit of a read falls inside a group. */
static void add_ended(int n)
{
    const char *argv[2 + 2 * 1000];
    char score[24], ids[1000][16];
    for (int g = 0; g * 1000 < n; g++) {
        snprintf(score, sizeof score, "%llu", T0 + (unsigned long long) g);
        int argc = 0;
        argv[argc++] = "ZADD";
        argv[argc++] = "rw:calls:ended";
        for (int i = g * 1000; i < n && i < (g + 1) * 1000; i++) {
            snprintf(ids[i % 1000], sizeof ids[0], "e%04d", i);
            argv[argc++] = score;
            argv[argc++] = ids[i % 1000];
        }
        redisReply *x = rw_redis_commandargv(sync_r, argc, argv, NULL);
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(x->type, REDIS_REPLY_INTEGER);
        freeReplyObject(x);
    }
}

START_TEST(test_a_read_cut_by_its_limit_goes_on_at_the_next_batch)
{
    ck_assert_int_eq(RW_CALLS_LIVE_ENDED_READ_MAX, 4096);   /* the ids below straddle it */
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.answered", "e0100", NULL);       /* within the first 4,096 ids */
    note("call.answered", "e4500", NULL);       /* past them, in the group the limit cuts */
    note("call.answered", "f1", NULL);          /* in none */
    add_ended(5000);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 2));                    /* e0100 dropped */
    /* the first batch is done when the next is sent; e4500 was past its limit */
    ck_assert(batch(cl));
    ck_assert_uint_eq(rw_calls_live_count(cl), 2);
    ck_assert(holds(cl, 1));                    /* the second went on from there */
    ck_assert(flushed_to(". f1"));
}
END_TEST

START_TEST(test_an_id_written_late_is_still_seen)
{
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.answered", "x1", NULL);
    note("call.answered", "x2", NULL);
    /* a newer id read first (the wall clock, pinned, reads T0 at each read) ... */
    ck_assert_int_eq(ended_at(T0 + 200, "x2"), 1);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 1));
    /* ... then an older one, from a batch that was sent before the read and landed after it */
    ck_assert_int_eq(ended_at(T0 - RW_CALLS_LIVE_ENDED_LAG_MS / 2, "x1"), 1);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 0));
}
END_TEST

/* How many lines logged so far name event. */
static int logged(const char *event)
{
    char want[96], line[1024];
    snprintf(want, sizeof want, "\"event\":\"%s\"", event);
    fflush(logs);
    rewind(logs);
    int n = 0;
    while (fgets(line, sizeof line, logs))
        n += strstr(line, want) != NULL;
    fseek(logs, 0, SEEK_END);
    return n;
}

START_TEST(test_a_redis_error_is_logged_once_and_changes_nothing)
{
    logs = tmpfile();
    ck_assert_ptr_nonnull(logs);
    rw_log_set_output(logs);
    cl = rw_calls_live_new(root, redis, NULL, 0);
    note("call.answered", "x1", NULL);
    redisReply *x = rw_redis_command(sync_r, "SET rw:calls:ended not-a-sorted-set");
    ck_assert(x && x->type == REDIS_REPLY_STATUS);
    freeReplyObject(x);
    ck_assert(flushed_to(". x1"));              /* the write goes on */
    ck_assert(batch(cl));
    ck_assert(flushed_to(". x1"));
    ck_assert(batch(cl));                       /* three reads failed by now */
    ck_assert_int_eq(logged("calls_live_ended_read_failed"), 1);
    ck_assert_uint_eq(rw_calls_live_count(cl), 1);
    ck_assert_int_eq(integer("DEL %s", "rw:calls:ended"), 1);
    ck_assert_int_eq(ended_at(T0, "x1"), 1);
    ck_assert(batch(cl));
    ck_assert(holds(cl, 0));
    ck_assert_int_eq(logged("calls_live_ended_read_recovered"), 1);
    ck_assert(flushed_to("."));
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
    tcase_add_test(tc, test_a_call_whose_bye_another_process_forwarded_is_dropped);
    tcase_add_test(tc, test_an_id_this_process_never_carried_changes_nothing);
    tcase_add_test(tc, test_a_read_cut_by_its_limit_goes_on_at_the_next_batch);
    tcase_add_test(tc, test_an_id_written_late_is_still_seen);
    tcase_add_test(tc, test_a_redis_error_is_logged_once_and_changes_nothing);
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
