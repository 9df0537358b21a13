/* tests/unit/sipedge/plan_exec_test.c — plan execution bookkeeping that needs no network:
 * identity headers removed from relayed responses, credentials from authenticated requests,
 * the same-request match of loop detection (colleague diverts: divert_test.c). */
#include <check.h>
#include <stdio.h>
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

static msg_t *request(const char *call_id, unsigned cseq, const char *from_tag, const char *extra)
{
    char raw[512];
    int n = snprintf(raw, sizeof raw,
                     "MESSAGE sip:2001@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
                     "From: <sip:a@x>%s%s\r\nTo: <sip:b@x>\r\nCall-ID: %s\r\nCSeq: %u MESSAGE\r\n"
                     "%sContent-Length: 0\r\n\r\n",
                     from_tag ? ";tag=" : "", from_tag ? from_tag : "", call_id, cseq, extra);
    msg_t *msg = msg_make(sip_default_mclass(), 0, raw, (size_t) n);
    ck_assert_ptr_nonnull(sip_object(msg));
    return msg;
}

START_TEST(strip_credentials_removes_every_proxy_authorization)
{
    msg_t *msg = request("c", 1, "1",
                         "Proxy-Authorization: Digest username=\"2002\", realm=\"r\", nonce=\"n\", "
                         "uri=\"sip:2001@x\", response=\"0\"\r\n"
                         "Proxy-Authorization: Digest username=\"2002\", realm=\"s\", nonce=\"m\", "
                         "uri=\"sip:2001@x\", response=\"1\"\r\n"
                         "Authorization: Digest username=\"2002\", realm=\"d\", nonce=\"k\", "
                         "uri=\"sip:2001@x\", response=\"2\"\r\n");
    sip_t *sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip->sip_proxy_authorization);
    rw_exec_strip_credentials(msg, sip);
    ck_assert_ptr_null(sip->sip_proxy_authorization);
    ck_assert_ptr_nonnull(sip->sip_authorization);   /* for the device, not for us */
    msg_destroy(msg);
}
END_TEST

START_TEST(same_request_matches_call_id_cseq_and_from_tag)
{
    msg_t *a = request("c1", 5, "t", ""), *same = request("c1", 5, "t", "X-Other: 1\r\n");
    msg_t *call = request("c2", 5, "t", ""), *cseq = request("c1", 6, "t", ""), *tag = request("c1", 5, "u", "");
    msg_t *untagged = request("c1", 5, NULL, ""), *untagged2 = request("c1", 5, NULL, "");
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), sip_object(same)), 1);
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), sip_object(call)), 0);
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), sip_object(cseq)), 0);
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), sip_object(tag)), 0);
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), sip_object(untagged)), 0);
    ck_assert_int_eq(rw_exec_same_request(sip_object(untagged), sip_object(untagged2)), 1);
    ck_assert_int_eq(rw_exec_same_request(sip_object(a), NULL), 0);
    ck_assert_int_eq(rw_exec_same_request(NULL, sip_object(a)), 0);
    msg_t *all[] = { a, same, call, cseq, tag, untagged, untagged2 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        msg_destroy(all[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_exec");
    TCase *tc = tcase_create("plan_exec");
    tcase_add_test(tc, strip_identity_removes_private_identity_headers);
    tcase_add_test(tc, strip_credentials_removes_every_proxy_authorization);
    tcase_add_test(tc, same_request_matches_call_id_cseq_and_from_tag);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
