/* tests/unit/presence/merge_test.c — the presence merge script against a real redis-server,
 * with the time given by the test (the script never reads a clock): the effective state from
 * registrations, calls (ringing, answered, ended; per device; a colleague calling), manual settings with an until,
 * and the calendar, by the documented precedence (docs/presence.md); each change reported once
 * (a second run, as by a second instance, reports nothing); calls forgotten after their bounds
 * or when their publisher left the registry or no longer vouches for them (rw:calls:<publisher>,
 * rw:calls:ended); a device's own address of record; refusals;
 * records queued for writers without a bus. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/presence/merge.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static rw_redis_t *r;
static rw_pres_changes_t ch;
static rw_pres_policy_t pol = { .ringing_max_ms = 60000, .call_max_ms = 3600000, .call_registry = "" };
static const char *caller = "";      /* the from of the next call events */
#define T0 1800000000000ull

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void cmd(const char *fmt, const char *a, const char *b)
{
    redisReply *x = rw_redis_command(r, fmt, a, b);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_ne(x->type, REDIS_REPLY_ERROR);
    freeReplyObject(x);
}

static void add_user(const char *id, const char *ext)
{
    cmd("HSET rw:user:%s ext %s realm ringway.local", id, ext);
    cmd("SET rw:num:%s %s", ext, id);
    cmd("HSET rw:user:%s:devices softphone sip desk sip", id, "");
    cmd("SADD rw:users %s%s", id, "");
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 5000 };
    r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(r);
    redisReply *x = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(x);
    freeReplyObject(x);
    add_user("alice", "2001");
    add_user("bob", "2002");
    pol.call_registry = "";
    pol.calls_live_ms = 0;
    caller = "";
}

static void teardown(void)
{
    rw_redis_destroy(&r);
}

static int sync_user(const char *id, uint64_t now)
{
    const char *extra[] = { id };
    ck_assert_int_eq(rw_pres_run_sync(r, "sync", now, &pol, extra, 1, &ch, NULL, 0), 0);
    return (int) ch.n;
}

static int event(const char *type, const char *user, const char *aor, const char *call_id, const char *pub,
                 uint64_t now)
{
    const char *extra[] = { type, user, aor, call_id, pub, "sip:2001@127.0.0.1:5070", caller };
    ck_assert_int_eq(rw_pres_run_sync(r, "event", now, &pol, extra, 7, &ch, NULL, 0), 0);
    return (int) ch.n;
}

static int manual(const char *id, const char *state, const char *until, uint64_t now, char *err, size_t n)
{
    const char *extra[] = { id, state, until };
    int rc = rw_pres_run_sync(r, "manual", now, &pol, extra, 3, &ch, err, n);
    return rc;
}

static int source(const char *id, const char *name, const char *value, uint64_t now)
{
    const char *extra[] = { id, name, value };
    return rw_pres_run_sync(r, "source", now, &pol, extra, 3, &ch, NULL, 0);
}

/* The stored effective state, "state/source/until/activity". */
static const char *stored(const char *id)
{
    static char buf[160];
    redisReply *x = rw_redis_command(r, "HMGET rw:presence:%s state source until_ms activity", id);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(x->type, REDIS_REPLY_ARRAY);
    snprintf(buf, sizeof buf, "%s/%s/%s/%s", x->element[0]->str ? x->element[0]->str : "-",
             x->element[1]->str ? x->element[1]->str : "-", x->element[2]->str ? x->element[2]->str : "-",
             x->element[3]->str ? x->element[3]->str : "-");
    freeReplyObject(x);
    return buf;
}

START_TEST(test_no_binding_is_offline_a_binding_available)
{
    ck_assert_int_eq(sync_user("alice", T0), 1);
    ck_assert_str_eq(stored("alice"), "offline/registration/0/idle");
    ck_assert_int_eq(ch.ch[0].state, RW_PRESENCE_OFFLINE);
    cmd("HSET rw:loc:%s k %s", "sip:2001@ringway.local", "v");
    ck_assert_int_eq(event("reg.bound", "", "sip:2001@ringway.local", "", "edge-1", T0 + 1), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
    ck_assert_str_eq(ch.ch[0].user, "alice");
    /* the same fact again (a duplicate, or a second instance): no change reported */
    ck_assert_int_eq(event("reg.bound", "", "sip:2001@ringway.local", "", "edge-1", T0 + 2), 0);
    ck_assert_int_eq(sync_user("alice", T0 + 3), 0);
    cmd("DEL rw:loc:%s%s", "sip:2001@ringway.local", "");
    ck_assert_int_eq(event("reg.expired", "", "sip:2001@ringway.local", "", "edge-1", T0 + 4), 1);
    ck_assert_str_eq(stored("alice"), "offline/registration/0/idle");
}
END_TEST

START_TEST(test_device_aor_finds_its_user)
{
    cmd("HSET rw:user:bob:devices desk %s%s", "sip sip:2002-desk@ringway.local", "");
    cmd("HSET rw:loc:%s k %s", "sip:2002-desk@ringway.local", "v");
    ck_assert_int_eq(event("reg.bound", "", "sip:2002-desk@ringway.local", "", "edge-1", T0), 1);
    ck_assert_str_eq(stored("bob"), "available/registration/0/idle");
    ck_assert_int_eq(event("reg.bound", "", "sip:9999@ringway.local", "", "edge-1", T0), 0);
}
END_TEST

START_TEST(test_ringing_then_on_a_call_then_idle)
{
    cmd("HSET rw:loc:%s k %s", "sip:2001@ringway.local", "v");
    sync_user("alice", T0);
    ck_assert_int_eq(event("call.ringing", "alice", "", "c1", "edge-1", T0 + 10), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/ringing");
    ck_assert_str_eq(ch.ch[0].activity, "ringing");
    ck_assert_int_eq(event("call.answered", "alice", "", "c1", "edge-1", T0 + 20), 1);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    /* a late 180 of the answered call changes nothing */
    ck_assert_int_eq(event("call.ringing", "alice", "", "c1", "edge-1", T0 + 25), 0);
    /* a second call ringing meanwhile: still on a call */
    ck_assert_int_eq(event("call.ringing", "alice", "", "c2", "edge-1", T0 + 30), 0);
    ck_assert_int_eq(event("call.ended", "alice", "", "c1", "edge-1", T0 + 40), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/ringing");
    ck_assert_int_eq(event("call.failed", "alice", "", "c2", "edge-1", T0 + 50), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
}
END_TEST

START_TEST(test_a_colleague_calling_is_on_a_call_too)
{
    sync_user("bob", T0);
    caller = "2002";                 /* bob's extension */
    ck_assert_int_eq(event("call.ringing", "alice", "", "c1", "edge-1", T0 + 1), 1);   /* alice only */
    ck_assert_str_eq(ch.ch[0].user, "alice");
    ck_assert_str_eq(stored("bob"), "offline/registration/0/idle");
    ck_assert_int_eq(event("call.answered", "alice", "", "c1", "edge-1", T0 + 2), 2);
    ck_assert_str_eq(stored("bob"), "busy/call/0/on_call");
    ck_assert_int_eq(event("call.ended", "alice", "", "c1", "edge-1", T0 + 3), 2);
    ck_assert_str_eq(stored("bob"), "offline/registration/0/idle");
    /* a public number presented by a trunk is nobody's call, even when it is a user's */
    cmd("SET rw:num:%s %s", "+441632960002", "bob");
    caller = "+441632960002";
    ck_assert_int_eq(event("call.answered", "alice", "", "c2", "edge-1", T0 + 4), 1);
    ck_assert_str_eq(stored("bob"), "offline/registration/0/idle");
}
END_TEST

START_TEST(test_an_end_naming_no_user_ends_the_call_for_both_sides)
{
    caller = "2002";
    event("call.answered", "alice", "", "c1", "edge-1", T0);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    ck_assert_str_eq(stored("bob"), "busy/call/0/on_call");
    caller = "";
    /* a BYE seen by sip-edge: call.ended with the call id only */
    ck_assert_int_eq(event("call.ended", "", "", "c1", "edge-1", T0 + 1), 2);
    ck_assert_str_eq(stored("alice"), "offline/registration/0/idle");
    ck_assert_str_eq(stored("bob"), "offline/registration/0/idle");
    redisReply *x = rw_redis_command(r, "EXISTS rw:presence:callidx:c1");
    ck_assert_int_eq(x->integer, 0);
    freeReplyObject(x);
}
END_TEST

START_TEST(test_precedence)
{
    /* registration < manual < calendar < on a call < manual dnd */
    cmd("HSET rw:loc:%s k %s", "sip:2001@ringway.local", "v");
    sync_user("alice", T0);
    ck_assert_int_eq(manual("alice", "away", "0", T0 + 1, NULL, 0), 0);
    ck_assert_str_eq(stored("alice"), "away/manual/0/idle");
    ck_assert_int_eq(source("alice", "calendar", "in_meeting 1800000100000 1800000000500", T0 + 2), 0);
    ck_assert_str_eq(stored("alice"), "away/manual/0/idle");     /* the meeting starts at T0+500 */
    ck_assert_int_eq(sync_user("alice", T0 + 500), 1);
    ck_assert_str_eq(stored("alice"), "in_meeting/calendar/1800000100000/idle");
    event("call.answered", "alice", "", "c1", "edge-1", T0 + 600);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    ck_assert_int_eq(manual("alice", "dnd", "1800000050000", T0 + 700, NULL, 0), 0);
    ck_assert_str_eq(stored("alice"), "dnd/manual/1800000050000/on_call");
    /* dnd (which replaced away: one manual setting at a time) ends: on a call again; the call
     * ends: the meeting; the meeting ends: registrations */
    ck_assert_int_eq(sync_user("alice", 1800000050000ull), 1);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    event("call.ended", "alice", "", "c1", "edge-1", 1800000060000ull);
    ck_assert_str_eq(stored("alice"), "in_meeting/calendar/1800000100000/idle");
    ck_assert_int_eq(sync_user("alice", 1800000100000ull), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
    /* manual away, then cleared: registrations again */
    ck_assert_int_eq(manual("alice", "away", "0", 1800000100001ull, NULL, 0), 0);
    ck_assert_str_eq(stored("alice"), "away/manual/0/idle");
    ck_assert_int_eq(manual("alice", "", "0", 1800000100002ull, NULL, 0), 0);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
}
END_TEST

START_TEST(test_calls_forgotten_after_their_bounds)
{
    cmd("HSET rw:loc:%s k %s", "sip:2001@ringway.local", "v");
    event("call.ringing", "alice", "", "c1", "edge-1", T0);
    ck_assert_int_eq(sync_user("alice", T0 + pol.ringing_max_ms - 1), 0);
    ck_assert_int_eq(sync_user("alice", T0 + pol.ringing_max_ms), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
    event("call.answered", "alice", "", "c2", "edge-1", T0);
    ck_assert_int_eq(sync_user("alice", T0 + pol.call_max_ms - 1), 0);
    ck_assert_int_eq(sync_user("alice", T0 + pol.call_max_ms), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
}
END_TEST

START_TEST(test_calls_of_a_publisher_gone_from_the_registry_are_forgotten)
{
    pol.call_registry = "sip-edge.events";
    cmd("ZADD rw:svc:sip-edge.events 1800000005000 %s%s", "edge-1|tcp://127.0.0.1:1", "");
    cmd("ZADD rw:svc:sip-edge.events 1800000009000 %s%s", "edge-2|tcp://127.0.0.1:2", "");
    event("call.answered", "alice", "", "c1", "edge-1", T0);
    event("call.answered", "bob", "", "c2", "edge-2", T0);
    ck_assert_int_eq(sync_user("alice", T0 + 4000), 0);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    /* edge-1's heartbeat ran out at T0+5000; edge-2 still lives */
    ck_assert_int_eq(sync_user("alice", T0 + 6000), 1);
    ck_assert_str_eq(stored("alice"), "offline/registration/0/idle");
    ck_assert_int_eq(sync_user("bob", T0 + 6000), 0);
    ck_assert_str_eq(stored("bob"), "busy/call/0/on_call");
}
END_TEST

START_TEST(test_calls_their_process_no_longer_vouches_for_are_forgotten)
{
    pol.calls_live_ms = 3000;
    cmd("HSET rw:loc:%s k %s", "sip:2001@ringway.local", "v");
    cmd("SADD rw:calls:edge-1 . %s%s", "c1", "");
    event("call.answered", "alice", "", "c1", "edge-1", T0);
    event("call.answered", "bob", "", "c2", "edge-2", T0);     /* edge-2 wrote no set yet */
    /* a call younger than calls_live_ms is kept, listed or not */
    ck_assert_int_eq(sync_user("bob", T0 + 2999), 0);
    ck_assert_str_eq(stored("bob"), "busy/call/0/on_call");
    /* a long call listed by its process is kept at every pass */
    for (uint64_t t = T0 + 1000; t <= T0 + 600000; t += 1000)
        ck_assert_int_eq(sync_user("alice", t), 0);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    /* edge-2 never listed c2 (or died): forgotten once calls_live_ms passed */
    ck_assert_int_eq(sync_user("bob", T0 + 3000), 1);
    ck_assert_str_eq(stored("bob"), "offline/registration/0/idle");
    /* edge-1 no longer lists c1 (its call.ended lost): forgotten at the next pass */
    cmd("SREM rw:calls:edge-1 %s%s", "c1", "");
    ck_assert_int_eq(sync_user("alice", T0 + 601000), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
    /* a full map's "*" vouches for every call of its process */
    cmd("SADD rw:calls:edge-1 . %s%s", "*", "");
    event("call.answered", "alice", "", "c3", "edge-1", T0 + 700000);
    ck_assert_int_eq(sync_user("alice", T0 + 800000), 0);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
    /* a BYE another process saw (rw:calls:ended) ends it at once, even while vouched for */
    cmd("ZADD rw:calls:ended 1 %s%s", "c3", "");
    ck_assert_int_eq(sync_user("alice", T0 + 800001), 1);
    ck_assert_str_eq(stored("alice"), "available/registration/0/idle");
    /* 0: no such check (the default of the policy struct) */
    pol.calls_live_ms = 0;
    event("call.answered", "alice", "", "c4", "edge-9", T0 + 900000);
    ck_assert_int_eq(sync_user("alice", T0 + 990000), 0);
    ck_assert_str_eq(stored("alice"), "busy/call/0/on_call");
}
END_TEST

START_TEST(test_refusals)
{
    char err[128];
    ck_assert_int_eq(manual("nobody", "away", "0", T0, err, sizeof err), RW_EPROTO);
    ck_assert_str_eq(err, "unknown user");
    ck_assert_int_eq(manual("alice", "sleepy", "0", T0, err, sizeof err), RW_EPROTO);
    ck_assert_str_eq(err, "bad value");
    ck_assert_int_eq(manual("alice", "away", "1000", T0, err, sizeof err), RW_EPROTO);
    ck_assert_str_eq(err, "until is past");
    ck_assert_int_eq(source("alice", "weather", "away 0", T0), RW_EPROTO);
    /* a source value written by hand that is not a state is dropped, not obeyed */
    cmd("HSET rw:presence:src:alice calendar %s%s", "garbage", "");
    ck_assert_int_eq(sync_user("alice", T0), 1);
    ck_assert_str_eq(stored("alice"), "offline/registration/0/idle");
}
END_TEST

START_TEST(test_writers_without_a_bus_queue_their_changes)
{
    rw_pres_change_t c;
    pol.notify = 1;
    ck_assert_int_eq(manual("bob", "away", "1800000100000", T0, NULL, 0), 0);
    pol.notify = 0;
    redisReply *x = rw_redis_command(r, "LRANGE rw:presence:events 0 -1");
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(x->elements, 1);
    ck_assert_int_eq(rw_pres_change_from_record(x->element[0]->str, &c), 0);
    freeReplyObject(x);
    ck_assert_str_eq(c.user, "bob");
    ck_assert_int_eq(c.state, RW_PRESENCE_AWAY);
    ck_assert_str_eq(c.source, "manual");
    ck_assert_uint_eq(c.until_ms, 1800000100000ull);
    ck_assert_int_eq(rw_pres_change_from_record("bob\taway\tmanual\t0", &c), RW_EPROTO);
    ck_assert_int_eq(rw_pres_change_from_record("bob\tsleepy\tmanual\t0\tidle", &c), RW_EPROTO);
    ck_assert_int_eq(rw_pres_change_from_record("bob\taway\tmanual\t0\tidle\textra", &c), RW_EPROTO);
}
END_TEST

START_TEST(test_deleted_user_loses_presence)
{
    manual("bob", "away", "0", T0, NULL, 0);
    cmd("DEL rw:user:%s%s", "bob", "");
    ck_assert_int_eq(sync_user("bob", T0 + 1), 0);
    redisReply *x = rw_redis_command(r, "EXISTS rw:presence:bob rw:presence:src:bob");
    ck_assert_int_eq(x->integer, 0);
    freeReplyObject(x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("presence_merge");
    TCase *tc = tcase_create("merge");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_binding_is_offline_a_binding_available);
    tcase_add_test(tc, test_device_aor_finds_its_user);
    tcase_add_test(tc, test_ringing_then_on_a_call_then_idle);
    tcase_add_test(tc, test_a_colleague_calling_is_on_a_call_too);
    tcase_add_test(tc, test_an_end_naming_no_user_ends_the_call_for_both_sides);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_calls_forgotten_after_their_bounds);
    tcase_add_test(tc, test_calls_of_a_publisher_gone_from_the_registry_are_forgotten);
    tcase_add_test(tc, test_calls_their_process_no_longer_vouches_for_are_forgotten);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_writers_without_a_bus_queue_their_changes);
    tcase_add_test(tc, test_deleted_user_loses_presence);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
