/* tests/unit/sipedge/fallback_test.c — survivable routing without Redis: the devices plan and
 * the in-memory copies of plans the router gave. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/sip-edge/fallback.h"

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

int main(void)
{
    Suite *s = suite_create("fallback");
    TCase *tc = tcase_create("fallback");
    tcase_add_test(tc, devices_plan_rings_the_aor_then_480);
    tcase_add_test(tc, without_redis_a_remembered_plan_is_used);
    tcase_add_test(tc, without_redis_an_unknown_number_rings_it_as_an_extension);
    tcase_add_test(tc, resolve_refuses_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
