/* tests/unit/sipedge/plan_exec_test.c — plan execution bookkeeping that needs no network:
 * which NUMBER targets are colleagues and the route request of a colleague divert. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

#include "common/err.h"
#include "services/sip-edge/plan_exec.h"

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
    ck_assert_int_eq(rw_exec_is_colleague(&t), KINDS[_i].colleague);
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
    ck_assert_int_eq(rw_exec_divert_request(&in, "dave", "2001", &out), 0);
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
    ck_assert_int_eq(rw_exec_divert_request(&in, "dave", "2001", &out), 0);
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
    ck_assert_int_eq(rw_exec_divert_request(&in, "dave", "2001", &out), RW_ERANGE);
    in.n_diversions = 0;
    ck_assert_int_eq(rw_exec_divert_request(&in, "dave", "", &out), RW_EINVAL);
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(rw_exec_divert_request(&in, "dave", big, &out), RW_EINVAL);
}
END_TEST

START_TEST(strip_identity_removes_private_identity_headers)
{
    static const char raw[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
                              "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
                              "P-Asserted-Identity: <sip:+447700900123@x>\r\nRemote-Party-ID: <sip:+447700900123@x>\r\n"
                              "X-Keep: yes\r\nContent-Length: 0\r\n\r\n";
    msg_t *msg = msg_make(sip_default_mclass(), 0, raw, sizeof raw - 1);
    ck_assert_ptr_nonnull(msg);
    sip_t *sip = sip_object(msg);
    rw_exec_strip_identity(msg, sip);
    int keep = 0, leaked = 0;
    for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next) {
        keep += !strcmp(u->un_name, "X-Keep");
        leaked += !strcmp(u->un_name, "P-Asserted-Identity") || !strcmp(u->un_name, "Remote-Party-ID");
    }
    ck_assert_int_eq(keep, 1);
    ck_assert_int_eq(leaked, 0);
    msg_destroy(msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_exec");
    TCase *tc = tcase_create("plan_exec");
    tcase_add_loop_test(tc, colleague_is_a_number_target_holding_an_extension, 0,
                        (int) (sizeof KINDS / sizeof KINDS[0]));
    tcase_add_test(tc, divert_request_targets_the_extension_and_records_the_user);
    tcase_add_test(tc, divert_request_adds_a_user_once);
    tcase_add_test(tc, divert_request_refuses_a_full_list_and_bad_extensions);
    tcase_add_test(tc, strip_identity_removes_private_identity_headers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
