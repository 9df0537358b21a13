/* tests/unit/sipedge/fallback_test.c — survivable routing: the router's decision made by sip-edge
 * from a real redis-server at the call's own (pinned) time, no router involved: a schedule gives
 * the office-hours plan at Monday 10:00 London and the out-of-hours plan at 19:00, a calendar
 * divert stops at its end; without Redis the in-memory copies of the last plans. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_wait.h>

#include "common/clock.h"
#include "common/err.h"
#include "services/sip-edge/fallback.h"
#include "tests/harness/redis_fixture.h"

typedef struct { int calls, status; rw_fallback_t kind; rw_plan_t plan; } got_t;

static void on_plan(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind)
{
    got_t *g = arg;
    g->calls++;
    g->status = status;
    g->kind = kind;
    if (plan)
        g->plan = *plan;
}

START_TEST(devices_plan_rings_the_aor_then_480)
{
    rw_plan_t p;
    rw_fallback_devices_plan("alice", "2001", "ringway.local", 1500, &p);
    ck_assert_int_eq(p.status, RW_PLAN_OK);
    ck_assert_str_eq(p.user, "alice");
    ck_assert_uint_eq(p.n_stages, 1);
    ck_assert_uint_eq(p.stages[0].ring_ms, 1500);
    ck_assert_int_eq(p.stages[0].targets[0].type, RW_TARGET_DEVICES);
    ck_assert_str_eq(p.stages[0].targets[0].aor, "sip:2001@ringway.local");
    ck_assert_int_eq(p.final, RW_FINAL_UNAVAILABLE);
}
END_TEST

START_TEST(without_redis_a_remembered_plan_is_used)
{
    rw_fallback_store_t *fb = rw_fallback_new(NULL, "ringway.local", 2000, 4, 16);
    ck_assert_ptr_nonnull(fb);
    rw_plan_t p;
    rw_fallback_devices_plan("dave", "2004", "ringway.local", 2000, &p);
    p.final = RW_FINAL_VOICEMAIL;      /* something a devices plan never has */
    rw_fallback_remember(fb, "+441632960004", &p);
    got_t g = { 0 };
    ck_assert_int_eq(rw_fallback_resolve(fb, "+441632960004", on_plan, &g), 0);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.status, RW_OK);
    ck_assert_int_eq(g.kind, RW_FALLBACK_LAST_PLAN);
    ck_assert_str_eq(g.plan.user, "dave");
    ck_assert_int_eq(g.plan.final, RW_FINAL_VOICEMAIL);
    rw_fallback_destroy(&fb);
    ck_assert_ptr_null(fb);
}
END_TEST

START_TEST(without_redis_an_unknown_number_rings_it_as_an_extension)
{
    rw_fallback_store_t *fb = rw_fallback_new(NULL, "ringway.local", 2000, 0, 0);
    got_t g = { 0 };
    ck_assert_int_eq(rw_fallback_resolve(fb, "2001", on_plan, &g), 0);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.kind, RW_FALLBACK_DEVICES);
    ck_assert_str_eq(g.plan.stages[0].targets[0].aor, "sip:2001@ringway.local");
    rw_fallback_destroy(&fb);
}
END_TEST

START_TEST(resolve_refuses_bad_arguments)
{
    rw_fallback_store_t *fb = rw_fallback_new(NULL, "ringway.local", 2000, 0, 0);
    got_t g = { 0 };
    ck_assert_int_eq(rw_fallback_resolve(fb, "", on_plan, &g), RW_EINVAL);
    ck_assert_int_eq(rw_fallback_resolve(fb, "2001", NULL, &g), RW_EINVAL);
    ck_assert_int_eq(g.calls, 0);
    rw_fallback_destroy(&fb);
}
END_TEST

typedef struct {
    rw_redis_fixture_t f;
    su_root_t *root;
    rw_redis_t *sync;
    rw_aredis_t *ar;
    rw_fallback_store_t *fb;
} world_t;

static void on_pong(void *arg, redisReply *rep)
{
    *(int *) arg = rep ? 1 : -1;
}

static void world_start(world_t *w)
{
    int ponged = 0;
    ck_assert_int_eq(rw_redis_fixture_start(&w->f), 0);
    su_init();
    w->root = su_root_create(NULL);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = w->f.port };
    w->sync = rw_redis_new(&o);
    w->ar = rw_redis_fixture_client(&w->f, w->root);
    ck_assert_ptr_nonnull(w->ar);
    /* the client's FLUSHALL is done before its PING is answered: then the test writes */
    ck_assert_int_eq(rw_aredis_command(w->ar, on_pong, &ponged, "PING"), 0);
    uint64_t t0 = rw_clock_mono_ms();
    while (!ponged && rw_clock_mono_ms() - t0 < 3000)
        su_root_step(w->root, 10);
    ck_assert_int_eq(ponged, 1);
    w->fb = rw_fallback_new(w->ar, "ringway.local", 4000, 0, 0);
    ck_assert_ptr_nonnull(w->fb);
}

static void world_stop(world_t *w)
{
    rw_fallback_destroy(&w->fb);
    rw_aredis_destroy(&w->ar);
    rw_redis_destroy(&w->sync);
    su_root_destroy(w->root);
    su_deinit();
    rw_redis_fixture_stop(&w->f);
}

/* One command on the synchronous connection, which must succeed. */
#define REDIS_DO(w, ...) do { \
        redisReply *rep_ = rw_redis_command((w)->sync, __VA_ARGS__); \
        ck_assert_ptr_nonnull(rep_); \
        ck_assert_msg(rep_->type != REDIS_REPLY_ERROR, "%s", rep_->str); \
        freeReplyObject(rep_); \
    } while (0)

/* alice (+441632960001, 2001, Europe/London): a softphone and a mobile; office hours ring the
 * softphone, any other time the mobile. Written as the directory writes it. */
static void alice(world_t *w)
{
    static const char settings[] =
        "{\"active\":\"office\",\"profiles\":{\"office\":["
        "{\"name\":\"workday\",\"days\":\"mon-fri\",\"time\":\"09:00-17:30\",\"action\":\"ring\",\"ring\":[\"softphone\"]},"
        "{\"name\":\"evening\",\"action\":\"ring\",\"ring\":[\"mobile\"]}]}}";
    REDIS_DO(w, "SET rw:num:+441632960001 alice");
    REDIS_DO(w, "SET rw:num:2001 alice");
    REDIS_DO(w, "HSET rw:user:alice ext 2001 name Alice realm ringway.local tz Europe/London settings %s",
             settings);
    REDIS_DO(w, "HSET rw:user:alice:devices softphone sip mobile %s", "number +447700900123");
}

static void resolve_call_and_wait(world_t *w, const char *callee, uint64_t time_ms, got_t *g)
{
    rw_route_req_t rq;
    memset(&rq, 0, sizeof rq);
    memset(g, 0, sizeof *g);
    strcpy(rq.call_id, "c1");
    strcpy(rq.caller, "+441632960999");
    strcpy(rq.callee, callee);
    strcpy(rq.source, "trunk:t1");
    rq.time_ms = time_ms;
    ck_assert_int_eq(rw_fallback_resolve_call(w->fb, &rq, on_plan, g), 0);
    uint64_t t0 = rw_clock_mono_ms();
    while (!g->calls && rw_clock_mono_ms() - t0 < 3000)
        su_root_step(w->root, 10);
    ck_assert_int_eq(g->calls, 1);
}

#define MON_1000_LONDON 1796637600000ull   /* 2026-12-07T10:00:00Z, a Monday (GMT) */
#define MON_1900_LONDON 1796670000000ull   /* 2026-12-07T19:00:00Z */

/* The same stored settings, two request times: the schedule decides, no router runs. */
START_TEST(evaluated_plan_follows_the_schedule_at_the_call_time)
{
    world_t w;
    got_t g;
    world_start(&w);
    alice(&w);
    resolve_call_and_wait(&w, "+441632960001", MON_1000_LONDON, &g);
    ck_assert_int_eq(g.status, RW_OK);
    ck_assert_int_eq(g.kind, RW_FALLBACK_EVALUATED);
    ck_assert_str_eq(g.plan.user, "alice");
    ck_assert_uint_eq(g.plan.n_stages, 1);
    ck_assert_int_eq(g.plan.stages[0].targets[0].type, RW_TARGET_DEVICES);
    ck_assert_str_eq(g.plan.stages[0].targets[0].aor, "sip:2001@ringway.local");

    resolve_call_and_wait(&w, "+441632960001", MON_1900_LONDON, &g);
    ck_assert_int_eq(g.kind, RW_FALLBACK_EVALUATED);
    ck_assert_uint_eq(g.plan.n_stages, 1);
    ck_assert_int_eq(g.plan.stages[0].targets[0].type, RW_TARGET_NUMBER);
    ck_assert_str_eq(g.plan.stages[0].targets[0].number, "+447700900123");
    ck_assert(g.plan.stages[0].targets[0].is_private);
    world_stop(&w);
}
END_TEST

/* A change is in force for the very next fallback: nothing waits for a router to rebuild. */
START_TEST(evaluated_plan_sees_a_change_at_once)
{
    world_t w;
    got_t g;
    world_start(&w);
    alice(&w);
    resolve_call_and_wait(&w, "2001", MON_1000_LONDON, &g);
    ck_assert_int_eq(g.plan.stages[0].targets[0].type, RW_TARGET_DEVICES);
    REDIS_DO(&w, "HSET rw:user:alice settings %s", "{\"active\":\"office\",\"profiles\":{\"office\":["
             "{\"name\":\"away\",\"action\":\"ring\",\"ring\":[\"mobile\"]}]}}");
    resolve_call_and_wait(&w, "2001", MON_1000_LONDON, &g);
    ck_assert_int_eq(g.kind, RW_FALLBACK_EVALUATED);
    ck_assert_str_eq(g.plan.stages[0].targets[0].number, "+447700900123");
    world_stop(&w);
}
END_TEST

/* A calendar divert (rw:divert:<id>) applies inside [start_ms, end_ms) of the call's time only. */
START_TEST(time_limited_divert_stops_at_its_end)
{
    world_t w;
    got_t g;
    world_start(&w);
    alice(&w);
    REDIS_DO(&w, "HSET rw:divert:alice start_ms %llu end_ms %llu to +447700900555",
             MON_1000_LONDON - 60000, MON_1000_LONDON + 60000);
    resolve_call_and_wait(&w, "+441632960001", MON_1000_LONDON + 59999, &g);
    ck_assert_str_eq(g.plan.stages[0].targets[0].number, "+447700900555");
    resolve_call_and_wait(&w, "+441632960001", MON_1000_LONDON + 60000, &g);
    ck_assert_int_eq(g.plan.stages[0].targets[0].type, RW_TARGET_DEVICES);
    world_stop(&w);
}
END_TEST

/* Nobody behind the number: not found. Redis gone afterwards: the last plan made is used. */
START_TEST(unknown_number_then_redis_gone_uses_the_last_plan)
{
    world_t w;
    got_t g;
    world_start(&w);
    alice(&w);
    resolve_call_and_wait(&w, "+441632960999", MON_1000_LONDON, &g);
    ck_assert_int_eq(g.status, RW_ENOTFOUND);
    resolve_call_and_wait(&w, "+441632960001", MON_1900_LONDON, &g);
    ck_assert_int_eq(g.kind, RW_FALLBACK_EVALUATED);
    rw_redis_fixture_stop(&w.f);
    resolve_call_and_wait(&w, "+441632960001", MON_1000_LONDON, &g);
    ck_assert_int_eq(g.status, RW_OK);
    ck_assert_int_eq(g.kind, RW_FALLBACK_LAST_PLAN);     /* stale: made for 19:00 */
    ck_assert_str_eq(g.plan.stages[0].targets[0].number, "+447700900123");
    world_stop(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fallback");
    TCase *tc = tcase_create("fallback");
    tcase_add_test(tc, devices_plan_rings_the_aor_then_480);
    tcase_add_test(tc, without_redis_a_remembered_plan_is_used);
    tcase_add_test(tc, without_redis_an_unknown_number_rings_it_as_an_extension);
    tcase_add_test(tc, resolve_refuses_bad_arguments);
    tcase_add_test(tc, evaluated_plan_follows_the_schedule_at_the_call_time);
    tcase_add_test(tc, evaluated_plan_sees_a_change_at_once);
    tcase_add_test(tc, time_limited_divert_stops_at_its_end);
    tcase_add_test(tc, unknown_number_then_redis_gone_uses_the_last_plan);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
