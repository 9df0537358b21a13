/* tests/unit/sipedge/fastshed_test.c — the 503 written from a raw INVITE (read back by Sofia's
 * parser), its ACK recognised, and every request the raw path must leave to Sofia. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>

#include "services/sip-edge/fastshed.h"

#define INVITE_HEAD "INVITE sip:2000@127.0.0.1:5060 SIP/2.0\r\n"
#define VIA "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-abc\r\n"
#define REST "From: <sip:1000@127.0.0.1:5061>;tag=f1\r\n" \
             "To: <sip:2000@127.0.0.1:5060>\r\n" \
             "Call-ID: 1-abc@127.0.0.1\r\n" \
             "CSeq: 1 INVITE\r\n" \
             "Max-Forwards: 70\r\n" \
             "Content-Length: 0\r\n\r\n"

static struct sockaddr_in src(const char *ip, unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static rw_fastshed_kind_t kind_of(const char *m, const char *ip, unsigned port)
{
    struct sockaddr_in a = src(ip, port);
    rw_fastshed_t fs;
    return rw_fastshed_parse(m, strlen(m), (struct sockaddr *) &a, &fs);
}

START_TEST(test_503_read_back_by_sofia)
{
    const char *m = INVITE_HEAD VIA "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-down\r\n" REST;
    struct sockaddr_in a = src("127.0.0.1", 5061);
    rw_fastshed_t fs;
    ck_assert_int_eq(rw_fastshed_parse(m, strlen(m), (struct sockaddr *) &a, &fs), RW_FASTSHED_NEW_INVITE);
    ck_assert_int_eq(fs.n_via, 2);
    ck_assert(fs.branch_len == strlen("z9hG4bK-1-abc") && !memcmp(m + fs.branch_at, "z9hG4bK-1-abc", fs.branch_len));
    char out[RW_FASTSHED_MAX];
    size_t n = rw_fastshed_503(&fs, m, 5, 1, out, sizeof out);
    ck_assert_uint_gt(n, 0);
    ck_assert(n >= 4 && !memcmp(out + n - 4, "\r\n\r\n", 4));
    msg_t *msg = msg_make(sip_default_mclass(), 0, out, (isize_t) n);
    ck_assert_ptr_nonnull(msg);
    sip_t *sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip);
    ck_assert_ptr_nonnull(sip->sip_status);
    ck_assert_int_eq(sip->sip_status->st_status, 503);
    ck_assert_ptr_nonnull(sip->sip_via);
    ck_assert_str_eq(sip->sip_via->v_branch, "z9hG4bK-1-abc");
    ck_assert_ptr_nonnull(sip->sip_via->v_next);
    ck_assert_str_eq(sip->sip_via->v_next->v_branch, "z9hG4bK-down");
    ck_assert_str_eq(sip->sip_from->a_tag, "f1");
    ck_assert_str_eq(sip->sip_to->a_tag, RW_FASTSHED_TAG "00000001");
    ck_assert_str_eq(sip->sip_call_id->i_id, "1-abc@127.0.0.1");
    ck_assert_uint_eq(sip->sip_cseq->cs_seq, 1);
    ck_assert_int_eq(sip->sip_cseq->cs_method, sip_method_invite);
    ck_assert_ptr_nonnull(sip->sip_retry_after);
    ck_assert_uint_eq(sip->sip_retry_after->af_delta, 5);
    ck_assert_ptr_nonnull(sip->sip_content_length);
    ck_assert_uint_eq(sip->sip_content_length->l_length, 0);
    msg_destroy(msg);
    ck_assert_uint_eq(rw_fastshed_503(&fs, m, 5, 1, out, 64), 0);   /* too small: nothing */
}
END_TEST

START_TEST(test_compact_headers)
{
    const char *m = INVITE_HEAD "v: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-c\r\n"
                    "f: <sip:1000@x>;tag=a\r\nt: sip:2000@x\r\ni: c1\r\nCSeq:  7 INVITE \r\nl: 0\r\n\r\n";
    struct sockaddr_in a = src("127.0.0.1", 5061);
    rw_fastshed_t fs;
    ck_assert_int_eq(rw_fastshed_parse(m, strlen(m), (struct sockaddr *) &a, &fs), RW_FASTSHED_NEW_INVITE);
    char out[RW_FASTSHED_MAX];
    size_t n = rw_fastshed_503(&fs, m, 9, 0xabc, out, sizeof out);
    msg_t *msg = msg_make(sip_default_mclass(), 0, out, (isize_t) n);
    sip_t *sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip);
    ck_assert_int_eq(sip->sip_status->st_status, 503);
    ck_assert_str_eq(sip->sip_to->a_tag, RW_FASTSHED_TAG "00000abc");
    ck_assert_str_eq(sip->sip_call_id->i_id, "c1");
    msg_destroy(msg);
}
END_TEST

START_TEST(test_ack_of_ours)
{
    const char *ours = "ACK sip:2000@127.0.0.1:5060 SIP/2.0\r\n" VIA
                       "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>;tag=" RW_FASTSHED_TAG "00000001\r\n"
                       "Call-ID: 1-abc\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    const char *theirs = "ACK sip:2000@127.0.0.1:5060 SIP/2.0\r\n" VIA
                         "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>;tag=abc\r\n"
                         "Call-ID: 1-abc\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq(kind_of(ours, "127.0.0.1", 5061), RW_FASTSHED_ACK_OURS);
    ck_assert_int_eq(kind_of(ours, "10.1.1.1", 9), RW_FASTSHED_ACK_OURS);   /* any source */
    ck_assert_int_eq(kind_of(theirs, "127.0.0.1", 5061), RW_FASTSHED_OTHER);
}
END_TEST

START_TEST(test_tag_in_uri_only_is_new)
{
    const char *m = INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: <sip:tag@x;tag=1>\r\n"
                    "Call-ID: a\r\nCSeq: 1 INVITE\r\n\r\n";
    ck_assert_int_eq(kind_of(m, "127.0.0.1", 5061), RW_FASTSHED_NEW_INVITE);
}
END_TEST

/* Each left to Sofia. */
static const char *const others[] = {
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>;tag=t9\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: sip:2000@x ; TAG = t9\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1\r\n" REST,            /* other port */
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-1\r\n" REST,            /* other host */
    INVITE_HEAD "Via: SIP/2.0/UDP pc.example.com:5061;branch=z9hG4bK-1\r\n" REST,       /* a name */
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\n" REST,                 /* 5060 */
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-1\r\n" REST,
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.1:5061;maddr=1.2.3.4;branch=z9hG4bK-1\r\n" REST,
    INVITE_HEAD "Via: SIP/2.0/UDP 127.0.0.1:5061\r\n" REST,                             /* no branch */
    INVITE_HEAD "Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-1\r\n" REST,
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\n  ;x=1\r\nTo: <sip:2000@x>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\nTo: <sip:2000@x>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nFrom: <sip:1001@x>;tag=f2\r\nTo: <sip:2000@x>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>\r\nCall-ID: a\r\nCSeq: 1 ACK\r\n\r\n",
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>\r\nCSeq: 1 INVITE\r\n\r\n",   /* no Call-ID */
    INVITE_HEAD VIA "From: <sip:1000@x>;tag=f1\r\nTo: <sip:2000@x>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n",  /* no end */
    "INVITE sip:2000@127.0.0.1 SIP/3.0\r\n" VIA REST,
    "OPTIONS sip:2000@127.0.0.1 SIP/2.0\r\n" VIA REST,
    "SIP/2.0 200 OK\r\n" VIA REST,
    "INVITE",
    "",
};

START_TEST(test_left_to_sofia)
{
    ck_assert_int_eq(kind_of(others[_i], "127.0.0.1", 5061), RW_FASTSHED_OTHER);
}
END_TEST

START_TEST(test_ipv6_source_left_to_sofia)
{
    const char *m = INVITE_HEAD "Via: SIP/2.0/UDP [::1]:5061;branch=z9hG4bK-1\r\n" REST;
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(5061), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    rw_fastshed_t fs;
    ck_assert_int_eq(rw_fastshed_parse(m, strlen(m), (struct sockaddr *) &a, &fs), RW_FASTSHED_OTHER);
}
END_TEST

START_TEST(test_seen_branches)
{
    rw_fastshed_seen_t *s = rw_fastshed_seen_new();
    ck_assert_ptr_nonnull(s);
    ck_assert(!rw_fastshed_seen_has(s, "z9hG4bK-a", 9, 1000));
    rw_fastshed_seen_add(s, "z9hG4bK-a", 9, 2000);
    ck_assert(rw_fastshed_seen_has(s, "z9hG4bK-a", 9, 1999));
    ck_assert(!rw_fastshed_seen_has(s, "z9hG4bK-a", 9, 2000));    /* expired */
    ck_assert(!rw_fastshed_seen_has(s, "z9hG4bK-b", 9, 1000));
    ck_assert(!rw_fastshed_seen_has(NULL, "z9hG4bK-a", 9, 1000));
    rw_fastshed_seen_destroy(&s);
    ck_assert_ptr_null(s);
}
END_TEST

int main(void)
{
    su_init();
    Suite *s = suite_create("fastshed");
    TCase *tc = tcase_create("raw");
    tcase_add_test(tc, test_503_read_back_by_sofia);
    tcase_add_test(tc, test_compact_headers);
    tcase_add_test(tc, test_ack_of_ours);
    tcase_add_test(tc, test_tag_in_uri_only_is_new);
    tcase_add_loop_test(tc, test_left_to_sofia, 0, (int) (sizeof others / sizeof others[0]));
    tcase_add_test(tc, test_ipv6_source_left_to_sofia);
    tcase_add_test(tc, test_seen_branches);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_deinit();
    return failed ? 1 : 0;
}
