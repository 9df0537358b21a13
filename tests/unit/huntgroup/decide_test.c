/* tests/unit/huntgroup/decide_test.c — the decision script against a real redis-server, with the
 * time and the random numbers given by the test (no wall clock): each strategy's order over a
 * run of calls (table), round robin spread evenly over two connections taking turns (two
 * instances), weighted random within 5 % of each share over 10,000 decisions, no agent offered
 * two calls (nor across two groups with different tiers), wrap-up, auto-pause after missed
 * offers, an agent on a personal call skipped, priority callers, join rules, overflow at max
 * wait, tiers (after W seconds, when tier 1 is all busy, when nobody of tier 1 is logged in),
 * skills from the caller's prefix and the dialled number, arrival order, callers whose sip-edge
 * went away (the last one swept by the figures pass), ring progressively, and the service-level
 * figures in total and per 15-minute interval. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "common/err.h"
#include "services/huntgroup/decide.h"
#include "tests/harness/redis_fixture.h"
#include "tests/unit/huntgroup/hg_fixture.h"

static rw_redis_fixture_t fx;
static rw_redis_t *r, *r2;           /* two connections: two huntgroup instances */
static rw_group_t g;
static rw_hg_reply_t rep;
static const rw_hg_policy_t policy = { .caller_timeout_ms = 10000, .retry_ms = 1000 };
static const char *const agents[] = { "ann", "ben", "cat", "dan" };
static char dialled[32];             /* what the next callers dialled ("" = not given) */
#define T0 1800000000000ull          /* a fixed instant: the script never reads a clock */

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void add_user(const char *id, const char *ext)
{
    hg_add_user(r, id, ext);
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 5000 };
    r = rw_redis_new(&o);
    r2 = rw_redis_new(&o);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(r2);
    redisReply *x = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(x);
    freeReplyObject(x);
    for (int i = 0; i < 4; i++) {
        char ext[8];
        snprintf(ext, sizeof ext, "20%02d", i + 1);
        add_user(agents[i], ext);
    }
    dialled[0] = '\0';
    rw_group_defaults(&g, "sales");
    snprintf(g.ext, sizeof g.ext, "3000");
    g.wrapup_s = 0;
    g.autopause = 0;
    g.n_members = 3;
    for (int i = 0; i < 3; i++)
        rw_group_member_defaults(&g.members[i], agents[i]);
}

static void teardown(void)
{
    rw_redis_destroy(&r);
    rw_redis_destroy(&r2);
}

static void save(void)
{
    char err[300];
    ck_assert_msg(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err) == 0, "%s", err);
}

static void login(const char *who, uint64_t now)
{
    char err[300];
    ck_assert_msg(rw_dir_agent_op(r, "login", who, "", "", now, NULL, err, sizeof err) == 0, "%s", err);
}

static void save_and_login_all(void)
{
    save();
    for (uint32_t i = 0; i < g.n_members; i++)
        login(g.members[i].user, T0);
}

static rw_hg_status_t next_on(rw_redis_t *conn, const char *call, const char *caller, uint64_t now,
                              uint32_t rnd)
{
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_NEXT;
    snprintf(q.call_id, sizeof q.call_id, "%s", call);
    snprintf(q.group, sizeof q.group, "sales");
    snprintf(q.caller, sizeof q.caller, "%s", caller);
    snprintf(q.dialled, sizeof q.dialled, "%s", dialled);
    ck_assert_int_eq(rw_hg_decide_sync(conn, &q, now, rnd, &policy, &rep, NULL), 0);
    ck_assert_msg(rep.status != RW_HGS_ERROR, "next %s: %s", call, rep.reason);
    return rep.status;
}

static rw_hg_status_t next(const char *call, uint64_t now)
{
    return next_on(r, call, "+441632960500", now, 0);
}

static void outcome(const char *call, const char *agent, rw_hg_result_t res, uint64_t now, uint64_t talk)
{
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_OUTCOME;
    snprintf(q.call_id, sizeof q.call_id, "%s", call);
    snprintf(q.agent, sizeof q.agent, "%s", agent);
    q.result = res;
    q.talk_ms = talk;
    ck_assert_int_eq(rw_hg_decide_sync(r, &q, now, 0, &policy, &rep, NULL), 0);
    ck_assert_msg(rep.status == RW_HGS_DONE, "outcome %s %s: %s", call, agent, rep.reason);
}

/* The offered agents, comma-separated ("" when not an offer). */
static const char *offered(void)
{
    static char buf[256];
    size_t at = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; rep.status == RW_HGS_OFFER && i < rep.n_agents; i++)
        at += (size_t) snprintf(buf + at, sizeof buf - at, "%s%s", i ? "," : "", rep.agents[i].user);
    return buf;
}

static uint64_t stat_in(const char *name, uint64_t interval_ms)
{
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_STATS;
    q.interval_ms = interval_ms;
    snprintf(q.group, sizeof q.group, "sales");
    ck_assert_int_eq(rw_hg_decide_sync(r, &q, T0, 0, &policy, &rep, NULL), 0);
    for (uint32_t i = 0; i < rep.n_stats; i++)
        if (!strcmp(rep.stats[i].name, name))
            return rep.stats[i].value;
    return 0;
}

static uint64_t stat_of(const char *name)
{
    return stat_in(name, 0);
}

/* ---- each strategy's order -------------------------------------------------------------- */

static const struct {
    const char *strategy;
    uint32_t weights[3];
    uint64_t talk_ms[4];             /* talk time of call i (least_talk) */
    uint32_t rnd[4];
    const char *expect[4];           /* offered, call after call (each answered, then ended) */
} order[] = {
    { "ringall", { 1, 1, 1 }, { 0 }, { 0 }, { "ann,ben,cat", "ann,ben,cat", "ann,ben,cat", "ann,ben,cat" } },
    { "linear", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ann", "ann", "ann" } },
    { "rrmemory", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ben", "cat", "ann" } },
    { "rrordered", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ben", "cat", "ann" } },
    { "longest_idle", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ben", "cat", "ann" } },
    { "fewest_calls", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ben", "cat", "ann" } },
    { "least_talk", { 1, 1, 1 }, { 300, 200, 100, 0 }, { 0 }, { "ann", "ben", "cat", "cat" } },
    { "random", { 1, 1, 1 }, { 0 }, { 0, 1, 5, 4 }, { "ann", "ben", "cat", "ben" } },
    { "weighted_random", { 1, 2, 1 }, { 0 }, { 0, 1, 2, 3 }, { "ann", "ben", "ben", "cat" } },
    { "ring_progressive", { 1, 1, 1 }, { 0 }, { 0 }, { "ann", "ann", "ann", "ann" } },
};

START_TEST(test_strategy_order)
{
    char err[200], call[16];
    ck_assert_int_eq(rw_group_set(&g, "strategy", order[_i].strategy, err, sizeof err), 0);
    for (int k = 0; k < 3; k++)
        g.members[k].weight = order[_i].weights[k];
    save_and_login_all();
    uint64_t now = T0 + 1000;
    for (int n = 0; n < 4; n++, now += 1000) {
        snprintf(call, sizeof call, "c%d", n);
        ck_assert_int_eq(next_on(r, call, "+441632960500", now, order[_i].rnd[n]), RW_HGS_OFFER);
        ck_assert_msg(!strcmp(offered(), order[_i].expect[n]), "%s call %d: offered %s, expected %s",
                      order[_i].strategy, n, offered(), order[_i].expect[n]);
        char first[64];
        snprintf(first, sizeof first, "%s", rep.agents[0].user);
        outcome(call, first, RW_HGR_ANSWERED, now + 100, 0);
        outcome(call, first, RW_HGR_ENDED, now + 200, order[_i].talk_ms[n]);
    }
}
END_TEST

START_TEST(test_round_robin_even_across_two_instances)
{
    char call[24];
    g.strategy = RW_HG_RRMEMORY;
    g.n_members = 4;
    rw_group_member_defaults(&g.members[3], "dan");
    save_and_login_all();
    unsigned got[4] = { 0 };
    uint64_t now = T0 + 1000;
    for (int n = 0; n < 1000; n++, now += 10) {
        snprintf(call, sizeof call, "rr%d", n);
        ck_assert_int_eq(next_on(n % 2 ? r2 : r, call, "+441632960500", now, 0), RW_HGS_OFFER);
        ck_assert_int_eq(rep.n_agents, 1);
        for (int k = 0; k < 4; k++)
            got[k] += !strcmp(rep.agents[0].user, agents[k]);
        outcome(call, "", RW_HGR_CALLER_GONE, now + 1, 0);
    }
    for (int k = 0; k < 4; k++)
        ck_assert_msg(got[k] == 250, "%s got %u of 1000", agents[k], got[k]);
}
END_TEST

START_TEST(test_weighted_random_within_5_percent_over_10000)
{
    char call[24];
    uint32_t w[4] = { 1, 2, 3, 4 }, x = 2463534242u;   /* xorshift32, fixed seed */
    g.strategy = RW_HG_WEIGHTED_RANDOM;
    g.n_members = 4;
    rw_group_member_defaults(&g.members[3], "dan");
    for (int k = 0; k < 4; k++)
        g.members[k].weight = w[k];
    save_and_login_all();
    unsigned got[4] = { 0 };
    uint64_t now = T0 + 1000;
    for (int n = 0; n < 10000; n++, now += 10) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        snprintf(call, sizeof call, "w%d", n);
        ck_assert_int_eq(next_on(n % 2 ? r2 : r, call, "+441632960500", now, x % 1000000), RW_HGS_OFFER);
        for (int k = 0; k < 4; k++)
            got[k] += !strcmp(rep.agents[0].user, agents[k]);
        outcome(call, "", RW_HGR_CALLER_GONE, now + 1, 0);
    }
    for (int k = 0; k < 4; k++) {
        double share = 10000.0 * w[k] / 10.0;
        ck_assert_msg(got[k] >= share * 0.95 && got[k] <= share * 1.05, "%s: %u, share %.0f", agents[k], got[k],
                      share);
    }
}
END_TEST

START_TEST(test_no_agent_offered_two_calls)
{
    g.n_members = 1;
    save_and_login_all();
    ck_assert_int_eq(next_on(r, "c1", "+441632960501", T0 + 10, 0), RW_HGS_OFFER);
    ck_assert_int_eq(next_on(r2, "c2", "+441632960502", T0 + 11, 0), RW_HGS_WAIT);
    ck_assert_int_eq(rep.position, 2);
    /* the same request again (a bus retry on the other instance) gets the same offer */
    ck_assert_int_eq(next_on(r2, "c1", "+441632960501", T0 + 12, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    /* the offer ends unanswered: ann is free again and c2 waits behind c1, still first */
    outcome("c1", "ann", RW_HGR_NO_ANSWER, T0 + 15000, 0);
    ck_assert_int_eq(next_on(r2, "c2", "+441632960502", T0 + 15001, 0), RW_HGS_WAIT);
    ck_assert_int_eq(next_on(r, "c1", "+441632960501", T0 + 15002, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
}
END_TEST

START_TEST(test_wrap_up_honoured)
{
    g.n_members = 1;
    g.wrapup_s = 10;
    save_and_login_all();
    ck_assert_int_eq(next("c1", T0), RW_HGS_OFFER);
    outcome("c1", "ann", RW_HGR_ANSWERED, T0 + 1000, 0);
    outcome("c1", "ann", RW_HGR_ENDED, T0 + 61000, 60000);
    ck_assert_int_eq(next("c2", T0 + 62000), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 70999), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 71000), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
}
END_TEST

START_TEST(test_auto_pause_after_missed_offers)
{
    char err[200];
    rw_agent_status_t st;
    g.n_members = 2;
    g.autopause = 2;
    g.strategy = RW_HG_LINEAR;
    save();
    login("ann", T0);
    ck_assert_int_eq(next("c1", T0), RW_HGS_OFFER);
    outcome("c1", "ann", RW_HGR_NO_ANSWER, T0 + 15000, 0);
    ck_assert_int_eq(next("c1", T0 + 15001), RW_HGS_OFFER);
    outcome("c1", "ann", RW_HGR_NO_ANSWER, T0 + 30000, 0);
    ck_assert_int_eq(rw_dir_agent_op(r, "status", "ann", "", "", T0 + 30001, &st, err, sizeof err), 0);
    ck_assert_str_eq(st.state, "paused");
    ck_assert_str_eq(st.reason, "missed 2 offers");
    ck_assert_int_eq(next("c1", T0 + 30002), RW_HGS_WAIT);
    login("ben", T0 + 30003);
    ck_assert_int_eq(next("c1", T0 + 30004), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
}
END_TEST

START_TEST(test_agent_on_personal_call_skipped)
{
    g.strategy = RW_HG_LINEAR;
    save_and_login_all();
    /* what the service runs for call.answered / call.ended of a call of ann's own */
    const char *argv[] = { "EVAL", rw_hg_decide_lua, "0", "personal", "1", "0", "10000", "own-call", "", "",
                           "ann", "on", "0", "1000" };
    redisReply *x = rw_redis_commandargv(r, 14, argv, NULL);
    ck_assert_ptr_nonnull(x);
    freeReplyObject(x);
    ck_assert_int_eq(next("c1", T0 + 10), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    argv[11] = "off";
    x = rw_redis_commandargv(r, 14, argv, NULL);
    freeReplyObject(x);
    ck_assert_int_eq(next("c2", T0 + 20), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
}
END_TEST

/* What the service runs for a call.* event of a call of someone's own: from (the caller),
 * user (the callee's user), on (call.answered) or off (call.ended, call.failed). */
static void personal(const char *call, const char *from, const char *user, const char *on)
{
    const char *argv[] = { "EVAL", rw_hg_decide_lua, "0", "personal", "1", "0", "10000", call, "", from,
                           user, on, "0", "1000" };
    redisReply *x = rw_redis_commandargv(r, 14, argv, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_ne(x->type, REDIS_REPLY_ERROR);
    freeReplyObject(x);
}

START_TEST(test_personal_call_ended_by_a_bye_naming_no_user)
{
    g.strategy = RW_HG_LINEAR;
    save_and_login_all();
    personal("own-in", "+441632960777", "ann", "on");      /* a call to ann, answered */
    ck_assert_int_eq(next("c1", T0 + 10), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    outcome("c1", "", RW_HGR_CALLER_GONE, T0 + 11, 0);
    personal("own-in", "2001", "", "off");                 /* its BYE: call.ended, no user */
    ck_assert_int_eq(next("c2", T0 + 20), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    outcome("c2", "", RW_HGR_CALLER_GONE, T0 + 21, 0);
    /* ann calls out (from: her extension; the callee is no user): she is busy until its end */
    personal("own-out", "2001", "", "on");
    ck_assert_int_eq(next("c3", T0 + 30), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    outcome("c3", "", RW_HGR_CALLER_GONE, T0 + 31, 0);
    personal("own-out", "", "", "off");
    ck_assert_int_eq(next("c4", T0 + 40), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    redisReply *x = rw_redis_command(r, "EXISTS rw:hg:personal_call:own-in rw:hg:personal_call:own-out");
    ck_assert_int_eq(x->integer, 0);
    freeReplyObject(x);
}
END_TEST

START_TEST(test_priority_caller_jumps_the_queue)
{
    char err[200];
    ck_assert_int_eq(rw_group_set(&g, "priority", "+441632960999", err, sizeof err), 0);
    g.join_empty = true;
    save();
    ck_assert_int_eq(next_on(r, "c1", "+441632960501", T0, 0), RW_HGS_WAIT);
    ck_assert_int_eq(next_on(r, "c2", "+441632960502", T0 + 1, 0), RW_HGS_WAIT);
    ck_assert_int_eq(next_on(r, "vip", "+441632960999", T0 + 2, 0), RW_HGS_WAIT);
    ck_assert_int_eq(rep.position, 1);
    ck_assert_int_eq(next_on(r, "c1", "+441632960501", T0 + 3, 0), RW_HGS_WAIT);
    ck_assert_int_eq(rep.position, 2);
}
END_TEST

START_TEST(test_join_rules)
{
    save();                                         /* join_empty no, nobody logged in */
    ck_assert_int_eq(next("c1", T0), RW_HGS_OVERFLOW);
    ck_assert_str_eq(rep.reason, "no agent logged in");
    ck_assert_str_eq(rep.overflow, "busy");
    g.max_len = 1;
    g.n_members = 1;
    save();
    login("ann", T0);
    ck_assert_int_eq(next("c2", T0 + 1), RW_HGS_OFFER);
    ck_assert_int_eq(next("c3", T0 + 2), RW_HGS_OVERFLOW);
    ck_assert_str_eq(rep.reason, "queue full");
    ck_assert_uint_eq(stat_of("overflowed"), 2);
}
END_TEST

START_TEST(test_max_wait_overflows)
{
    char err[200];
    ck_assert_int_eq(rw_group_set(&g, "overflow", "number:+441632960777", err, sizeof err), 0);
    g.max_wait_s = 60;
    g.join_empty = true;
    save();
    ck_assert_int_eq(next("c1", T0), RW_HGS_WAIT);
    ck_assert_int_eq(next("c1", T0 + 59999), RW_HGS_WAIT);
    ck_assert_int_eq(next("c1", T0 + 60000), RW_HGS_OVERFLOW);
    ck_assert_str_eq(rep.overflow, "number:+441632960777");
    ck_assert_uint_eq(stat_of("overflowed"), 1);
    ck_assert_uint_eq(stat_of("waiting"), 0);
}
END_TEST

START_TEST(test_tiers)
{
    g.n_members = 2;
    g.members[1].tier = 2;
    g.tier_wait_s = 30;
    g.strategy = RW_HG_LINEAR;
    save_and_login_all();
    /* ann (tier 1) busy on a call: the caller waits for her W seconds, then ben joins */
    ck_assert_int_eq(next("c1", T0), RW_HGS_OFFER);
    outcome("c1", "ann", RW_HGR_ANSWERED, T0 + 10, 0);
    ck_assert_int_eq(next("c2", T0 + 100), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 30099), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 30100), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    outcome("c2", "ben", RW_HGR_CALLER_GONE, T0 + 30200, 0);
    /* W = 0: tier 2 as soon as tier 1 is all busy */
    g.tier_wait_s = 0;
    save();
    ck_assert_int_eq(next("c3", T0 + 30300), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    outcome("c3", "ben", RW_HGR_CALLER_GONE, T0 + 30400, 0);
    /* W = 30 but nobody of tier 1 logged in: tier 2 at once */
    g.tier_wait_s = 30;
    save();
    outcome("c1", "ann", RW_HGR_ENDED, T0 + 30500, 1000);
    char err[200];
    ck_assert_int_eq(rw_dir_agent_op(r, "logout", "ann", "", "", T0 + 30600, NULL, err, sizeof err), 0);
    ck_assert_int_eq(next("c4", T0 + 30700), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
}
END_TEST

START_TEST(test_skills_from_caller_prefix)
{
    char err[200];
    g.strategy = RW_HG_LINEAR;
    ck_assert_int_eq(rw_group_set(&g, "caller_skills", "+33:french", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[2], "skills", "french", err, sizeof err), 0);
    save_and_login_all();
    ck_assert_int_eq(next_on(r, "fr", "+33142000000", T0, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "cat");
    ck_assert_int_eq(next_on(r, "uk", "+441632960501", T0 + 1, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    /* a French caller with cat busy waits; a later English caller is not held behind them */
    ck_assert_int_eq(next_on(r, "fr2", "+33142000001", T0 + 2, 0), RW_HGS_WAIT);
    ck_assert_int_eq(next_on(r, "uk2", "+441632960502", T0 + 3, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
}
END_TEST

START_TEST(test_skills_from_dialled_number)
{
    char err[200];
    g.strategy = RW_HG_LINEAR;
    ck_assert_int_eq(rw_group_set(&g, "dialled_skills", "+441632960101:german,3001:german", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[1], "skills", "german", err, sizeof err), 0);
    save_and_login_all();
    snprintf(dialled, sizeof dialled, "+441632960101");
    ck_assert_int_eq(next_on(r, "de", "+441632960500", T0, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ben");
    snprintf(dialled, sizeof dialled, "+441632960100");
    ck_assert_int_eq(next_on(r, "uk", "+441632960501", T0 + 1, 0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    dialled[0] = '\0';
    ck_assert_int_eq(rw_group_set(&g, "dialled_skills", "+4416:", err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "dialled_skills '+4416:' is not NUMBER:skill");
}
END_TEST

START_TEST(test_arrival_order_kept)
{
    g.n_members = 1;
    g.join_empty = true;
    save();
    ck_assert_int_eq(next("c1", T0), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 1), RW_HGS_WAIT);
    ck_assert_int_eq(next("c3", T0 + 2), RW_HGS_WAIT);
    login("ann", T0 + 100);
    ck_assert_int_eq(next("c3", T0 + 200), RW_HGS_WAIT);
    ck_assert_int_eq(rep.position, 3);
    ck_assert_int_eq(next("c2", T0 + 201), RW_HGS_WAIT);
    ck_assert_int_eq(next("c1", T0 + 202), RW_HGS_OFFER);
}
END_TEST

START_TEST(test_caller_whose_edge_went_away_is_dropped)
{
    g.n_members = 1;
    g.join_empty = true;
    save();
    ck_assert_int_eq(next("lost", T0), RW_HGS_WAIT);
    ck_assert_int_eq(next("c2", T0 + 1), RW_HGS_WAIT);
    login("ann", T0 + 2);
    ck_assert_int_eq(next("c2", T0 + 9000), RW_HGS_WAIT);       /* lost still counts */
    ck_assert_int_eq(next("c2", T0 + 10001), RW_HGS_OFFER);     /* lost unseen for 10 s: gone */
    ck_assert_int_eq(rep.position, 1);
    ck_assert_uint_eq(stat_of("abandoned"), 1);
}
END_TEST

/* ann is tier 1 in sales and tier 2 in support: an offer in one group keeps her from the other */
START_TEST(test_agent_in_two_groups_one_call_at_a_time)
{
    static rw_group_t support;
    char err[300];
    g.strategy = RW_HG_LINEAR;
    g.n_members = 1;
    save();
    rw_group_defaults(&support, "support");
    snprintf(support.ext, sizeof support.ext, "3001");
    support.strategy = RW_HG_LINEAR;
    support.tier_wait_s = 0;
    rw_group_member_defaults(&support.members[0], "ben");
    rw_group_member_defaults(&support.members[1], "ann");
    support.members[1].tier = 2;
    support.n_members = 2;
    ck_assert_msg(rw_dir_group_put(r, &rw_numplan_uk, &support, err, sizeof err) == 0, "%s", err);
    login("ann", T0);                               /* both of her groups */
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_NEXT;
    snprintf(q.call_id, sizeof q.call_id, "s1");
    snprintf(q.group, sizeof q.group, "support");
    ck_assert_int_eq(rw_hg_decide_sync(r2, &q, T0 + 1, 0, &policy, &rep, NULL), 0);
    ck_assert_int_eq(rep.status, RW_HGS_OFFER);     /* ben is logged out: tier 2 at once */
    ck_assert_str_eq(offered(), "ann");
    ck_assert_int_eq(next("c1", T0 + 2), RW_HGS_WAIT);   /* sales waits for her */
    outcome("s1", "ann", RW_HGR_CALLER_GONE, T0 + 3, 0);
    ck_assert_int_eq(next("c1", T0 + 4), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
}
END_TEST

START_TEST(test_last_caller_lost_swept_by_stats)
{
    g.join_empty = true;
    save();
    ck_assert_int_eq(next("c1", T0), RW_HGS_WAIT);
    ck_assert_int_eq(next("lost", T0 + 1), RW_HGS_WAIT);
    ck_assert_int_eq(next("c1", T0 + 9000), RW_HGS_WAIT);
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_STATS;
    snprintf(q.group, sizeof q.group, "sales");
    static rw_hg_events_t evs;
    ck_assert_int_eq(rw_hg_decide_sync(r, &q, T0 + 10002, 0, &policy, &rep, &evs), 0);
    ck_assert_int_eq(evs.n, 1);                      /* c1 asked at 9000: still there */
    ck_assert_str_eq(evs.ev[0].type, "queue.abandoned");
    ck_assert_str_eq(evs.ev[0].call_id, "lost");
    ck_assert_uint_eq(stat_of("waiting"), 1);
    ck_assert_uint_eq(stat_of("abandoned"), 1);
}
END_TEST

START_TEST(test_ring_progressive)
{
    g.strategy = RW_HG_PROGRESSIVE;
    g.prog_start = 1;
    g.prog_step_s = 5;
    save_and_login_all();
    ck_assert_int_eq(next("c1", T0), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    ck_assert_uint_eq(rep.retry_ms, 5000);
    ck_assert_int_eq(next("c1", T0 + 4999), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann");
    ck_assert_int_eq(next("c1", T0 + 5000), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann,ben");
    ck_assert_int_eq(next("c1", T0 + 10000), RW_HGS_OFFER);
    ck_assert_str_eq(offered(), "ann,ben,cat");
    outcome("c1", "ben", RW_HGR_ANSWERED, T0 + 11000, 0);
    ck_assert_int_eq(next("c2", T0 + 11001), RW_HGS_OFFER);  /* ann and cat were released */
    ck_assert_str_eq(offered(), "ann");
}
END_TEST

START_TEST(test_service_level_figures)
{
    g.sl_s = 20;
    g.n_members = 1;
    g.join_empty = true;
    save();
    login("ann", T0);
    ck_assert_int_eq(next("fast", T0), RW_HGS_OFFER);
    outcome("fast", "ann", RW_HGR_ANSWERED, T0 + 5000, 0);
    ck_assert_int_eq(next("slow", T0 + 6000), RW_HGS_WAIT);
    outcome("fast", "ann", RW_HGR_ENDED, T0 + 40000, 34000);
    ck_assert_int_eq(next("slow", T0 + 40001), RW_HGS_OFFER);
    outcome("slow", "ann", RW_HGR_ANSWERED, T0 + 41000, 0);
    ck_assert_int_eq(next("gone", T0 + 42000), RW_HGS_WAIT);
    outcome("gone", "", RW_HGR_CALLER_GONE, T0 + 43000, 0);
    ck_assert_uint_eq(stat_of("joined"), 3);
    ck_assert_uint_eq(stat_of("answered"), 2);
    ck_assert_uint_eq(stat_of("answered_sl"), 1);
    ck_assert_uint_eq(stat_of("abandoned"), 1);
    ck_assert_uint_eq(stat_of("wait_max_ms"), 35000);
    ck_assert_uint_eq(stat_of("wait_sum_ms"), 40000);
    ck_assert_uint_eq(stat_of("agents_on_call"), 1);
    /* the same figures for the 15-minute interval they fell in, none in the next one */
    ck_assert_uint_eq(stat_in("answered", T0 + 1), 2);
    ck_assert_uint_eq(stat_in("answered_sl", T0 + 899999), 1);
    ck_assert_uint_eq(stat_in("answered", T0 + 900000), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("decide");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_strategy_order, 0, (int) (sizeof order / sizeof order[0]));
    tcase_add_test(tc, test_round_robin_even_across_two_instances);
    tcase_add_test(tc, test_personal_call_ended_by_a_bye_naming_no_user);
    tcase_add_test(tc, test_weighted_random_within_5_percent_over_10000);
    tcase_add_test(tc, test_no_agent_offered_two_calls);
    tcase_add_test(tc, test_wrap_up_honoured);
    tcase_add_test(tc, test_auto_pause_after_missed_offers);
    tcase_add_test(tc, test_agent_on_personal_call_skipped);
    tcase_add_test(tc, test_priority_caller_jumps_the_queue);
    tcase_add_test(tc, test_join_rules);
    tcase_add_test(tc, test_max_wait_overflows);
    tcase_add_test(tc, test_tiers);
    tcase_add_test(tc, test_skills_from_caller_prefix);
    tcase_add_test(tc, test_skills_from_dialled_number);
    tcase_add_test(tc, test_arrival_order_kept);
    tcase_add_test(tc, test_caller_whose_edge_went_away_is_dropped);
    tcase_add_test(tc, test_agent_in_two_groups_one_call_at_a_time);
    tcase_add_test(tc, test_last_caller_lost_swept_by_stats);
    tcase_add_test(tc, test_ring_progressive);
    tcase_add_test(tc, test_service_level_figures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
