/* tests/unit/sipedge/divert_test.c — colleague diverts without a network: which NUMBER targets
 * are colleagues, the route request of a divert, and the diverts refused before any is sent. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/sip-edge/divert.h"

static const struct { rw_target_type_t type; const char *number; int colleague; } KINDS[] = {
    { RW_TARGET_NUMBER, "2002", 1 },            /* an extension: routed again */
    { RW_TARGET_NUMBER, "+447700900123", 0 },   /* E.164: through trunks */
    { RW_TARGET_NUMBER, "", 0 },
    { RW_TARGET_DEVICES, "sip:2002@ringway.local", 0 },
    { RW_TARGET_VOICEMAIL, "2002", 0 },
};

START_TEST(colleague_is_a_number_target_holding_an_extension)
{
    rw_target_t t;
    memset(&t, 0, sizeof t);
    t.type = KINDS[_i].type;
    strcpy(t.number, KINDS[_i].number);
    ck_assert_int_eq(rw_divert_is_colleague(&t), KINDS[_i].colleague);
}
END_TEST

static rw_route_req_t call(void)
{
    rw_route_req_t rq;
    memset(&rq, 0, sizeof rq);
    strcpy(rq.call_id, "c1");
    strcpy(rq.caller, "+441632960999");
    strcpy(rq.callee, "2004");
    strcpy(rq.callee_uri, "sip:2004@ringway.local");
    strcpy(rq.source, "trunk:peer");
    rq.time_ms = 1234;
    rq.redirect_mode = true;
    return rq;
}

START_TEST(divert_request_targets_the_extension_and_records_the_user)
{
    rw_route_req_t in = call(), out;
    ck_assert_int_eq(rw_divert_request(&in, "dave", "2001", &out), 0);
    ck_assert_str_eq(out.callee, "2001");
    ck_assert_str_eq(out.callee_uri, "");
    ck_assert_str_eq(out.caller, "+441632960999");   /* the original caller is kept */
    ck_assert_str_eq(out.call_id, "c1");
    ck_assert_uint_eq(out.time_ms, 1234);
    ck_assert(!out.redirect_mode);
    ck_assert_uint_eq(out.n_diversions, 1);
    ck_assert_str_eq(out.diversions[0], "dave");
}
END_TEST

START_TEST(divert_request_adds_a_user_once)
{
    rw_route_req_t in = call(), out;
    in.n_diversions = 1;
    strcpy(in.diversions[0], "dave");
    ck_assert_int_eq(rw_divert_request(&in, "dave", "2001", &out), 0);
    ck_assert_uint_eq(out.n_diversions, 1);
}
END_TEST

START_TEST(divert_request_refuses_a_full_list_and_bad_extensions)
{
    rw_route_req_t in = call(), out;
    for (int i = 0; i < RW_ROUTE_MAX_DIVERSIONS; i++) {
        in.diversions[i][0] = (char) ('a' + i);
        in.n_diversions++;
    }
    ck_assert_int_eq(rw_divert_request(&in, "dave", "2001", &out), RW_ERANGE);
    in.n_diversions = 0;
    ck_assert_int_eq(rw_divert_request(&in, "dave", "", &out), RW_EINVAL);
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(rw_divert_request(&in, "dave", big, &out), RW_EINVAL);
}
END_TEST

static int never_wanted(void *arg)
{
    (void) arg;
    return 0;
}

static void count_done(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind)
{
    (void) status;
    (void) plan;
    (void) kind;
    (*(int *) arg)++;
}

START_TEST(divert_start_refuses_without_router_or_with_a_full_list)
{
    const rw_divert_cb_t cb = { never_wanted, count_done };
    const rw_divert_env_t env = { NULL, 150, NULL };
    rw_route_req_t in = call();
    int done = 0;
    ck_assert_int_eq(rw_divert_start(&env, &in, "dave", "2001", &cb, &done), RW_EINVAL);
    for (int i = 0; i < RW_ROUTE_MAX_DIVERSIONS; i++) {
        in.diversions[i][0] = (char) ('a' + i);
        in.n_diversions++;
    }
    ck_assert_int_eq(rw_divert_start(&env, &in, "dave", "2001", &cb, &done), RW_ERANGE);
    ck_assert_int_eq(done, 0);    /* a refused divert never calls back */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("divert");
    TCase *tc = tcase_create("divert");
    tcase_add_loop_test(tc, colleague_is_a_number_target_holding_an_extension, 0,
                        (int) (sizeof KINDS / sizeof KINDS[0]));
    tcase_add_test(tc, divert_request_targets_the_extension_and_records_the_user);
    tcase_add_test(tc, divert_request_adds_a_user_once);
    tcase_add_test(tc, divert_request_refuses_a_full_list_and_bad_extensions);
    tcase_add_test(tc, divert_start_refuses_without_router_or_with_a_full_list);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
