/* tests/unit/sipedge/fallback_test.c — survivable routing: the stored plan and the devices plan
 * read from a real redis-server, and without Redis the in-memory copies of plans the router gave. */
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

static void resolve_and_wait(su_root_t *root, rw_fallback_store_t *fb, const char *num, got_t *g)
{
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(rw_fallback_resolve(fb, num, on_plan, g), 0);
    uint64_t t0 = rw_clock_mono_ms();
    while (!g->calls && rw_clock_mono_ms() - t0 < 3000)
        su_root_step(root, 10);
    ck_assert_int_eq(g->calls, 1);
}

/* From Redis in one round trip: the stored plan, else the user's devices, else not found. */
START_TEST(from_redis_stored_plan_then_devices_then_not_found)
{
    rw_redis_fixture_t f;
    ck_assert_int_eq(rw_redis_fixture_start(&f), 0);
    su_init();
    su_root_t *root = su_root_create(NULL);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = f.port };
    rw_redis_t *sync = rw_redis_new(&o);
    rw_aredis_t *ar = rw_aredis_new(root, &o);
    for (int i = 0; i < 100 && !rw_aredis_connected(ar); i++)
        su_root_step(root, 10);
    ck_assert(rw_aredis_connected(ar));

    rw_plan_t stored;
    msgpack_sbuffer sb;
    rw_fallback_devices_plan("bob", "2002", "ringway.local", 7000, &stored);
    stored.final = RW_FINAL_BUSY;                 /* tells it apart from a devices plan */
    strcpy(stored.call_id, "fallback");
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_plan_encode(&stored, &sb), 0);
    freeReplyObject(rw_redis_command(sync, "SET rw:num:+441632960002 bob"));
    freeReplyObject(rw_redis_command(sync, "SET rw:fallback:bob %b", sb.data, sb.size));
    freeReplyObject(rw_redis_command(sync, "SET rw:num:+441632960003 carol"));
    freeReplyObject(rw_redis_command(sync, "HSET rw:user:carol ext 2003"));
    msgpack_sbuffer_destroy(&sb);

    rw_fallback_store_t *fb = rw_fallback_new(ar, "ringway.local", 4000, 0, 0);
    got_t g;
    resolve_and_wait(root, fb, "+441632960002", &g);
    ck_assert_int_eq(g.status, RW_OK);
    ck_assert_int_eq(g.kind, RW_FALLBACK_LAST_PLAN);
    ck_assert_int_eq(g.plan.final, RW_FINAL_BUSY);
    ck_assert_str_eq(g.plan.user, "bob");

    resolve_and_wait(root, fb, "+441632960003", &g);
    ck_assert_int_eq(g.status, RW_OK);
    ck_assert_int_eq(g.kind, RW_FALLBACK_DEVICES);
    ck_assert_str_eq(g.plan.stages[0].targets[0].aor, "sip:2003@ringway.local");
    ck_assert_uint_eq(g.plan.stages[0].ring_ms, 4000);

    resolve_and_wait(root, fb, "+441632960999", &g);
    ck_assert_int_eq(g.status, RW_ENOTFOUND);

    rw_fallback_destroy(&fb);
    rw_aredis_destroy(&ar);
    rw_redis_destroy(&sync);
    su_root_destroy(root);
    su_deinit();
    rw_redis_fixture_stop(&f);
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
    tcase_add_test(tc, from_redis_stored_plan_then_devices_then_not_found);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
