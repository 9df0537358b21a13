/* tests/unit/sipedge/plan_exec_test.c — plan execution bookkeeping that needs no network:
 * identity headers removed from relayed responses (colleague diverts: divert_test.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

#include "common/err.h"
#include "services/sip-edge/plan_exec.h"

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
    tcase_add_test(tc, strip_identity_removes_private_identity_headers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
