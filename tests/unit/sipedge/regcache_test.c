/* tests/unit/sipedge/regcache_test.c — the bounded cache of REGISTER answers: a retransmission
 * is matched on its transaction identity, in progress or answered; a different CSeq, branch or
 * Call-ID is a new request; answers expire after RW_REGCACHE_HOLD_MS and a slot taken by a newer
 * request loses the older answer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_parser.h>

#include "services/sip-edge/regcache.h"

static msg_t *request(const char *branch, const char *call_id, unsigned cseq)
{
    char text[512];
    int n = snprintf(text, sizeof text,
                     "REGISTER sip:ringway.local SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=%s\r\n"
                     "From: <sip:2001@ringway.local>;tag=a\r\nTo: <sip:2001@ringway.local>\r\n"
                     "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContent-Length: 0\r\n\r\n",
                     branch, call_id, cseq);
    msg_t *m = msg_make(sip_default_mclass(), 0, text, (size_t) n);
    ck_assert_ptr_nonnull(sip_object(m));
    return m;
}

static uint64_t key_of(const char *branch, const char *call_id, unsigned cseq)
{
    msg_t *m = request(branch, call_id, cseq);
    uint64_t k = rw_regcache_key(sip_object(m));
    msg_destroy(m);
    return k;
}

START_TEST(test_key_is_the_transaction_identity)
{
    uint64_t k = key_of("z9hG4bK1", "c1", 2);
    ck_assert_uint_ne(k, 0);
    ck_assert_uint_eq(k, key_of("z9hG4bK1", "c1", 2));
    ck_assert_uint_ne(k, key_of("z9hG4bK2", "c1", 2));
    ck_assert_uint_ne(k, key_of("z9hG4bK1", "c2", 2));
    ck_assert_uint_ne(k, key_of("z9hG4bK1", "c1", 3));
    ck_assert_uint_eq(key_of("rfc2543-branch", "c1", 2), 0);     /* no magic cookie */
}
END_TEST

START_TEST(test_retransmission_in_progress_then_answered)
{
    rw_regcache_t *c = rw_regcache_new();
    rw_regcache_answer_t a;
    uint64_t k = key_of("z9hG4bK1", "c1", 2);
    ck_assert_int_eq(rw_regcache_begin(c, k, 1000, &a), RW_REGCACHE_NEW);
    ck_assert_int_eq(rw_regcache_begin(c, k, 1500, &a), RW_REGCACHE_PENDING);
    rw_regcache_answer(c, k, 1600, 200, "OK", "Contact: <sip:b1@127.0.0.1:5099>;expires=3600\r\n");
    ck_assert_int_eq(rw_regcache_begin(c, k, 2000, &a), RW_REGCACHE_ANSWERED);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.phrase, "OK");
    ck_assert_str_eq(a.headers, "Contact: <sip:b1@127.0.0.1:5099>;expires=3600\r\n");
    ck_assert_uint_eq(rw_regcache_used(c, 2000), 1);
    /* kept RW_REGCACHE_HOLD_MS after the answer, then the request counts as new */
    ck_assert_int_eq(rw_regcache_begin(c, k, 1600 + RW_REGCACHE_HOLD_MS - 1, &a), RW_REGCACHE_ANSWERED);
    ck_assert_int_eq(rw_regcache_begin(c, k, 1600 + RW_REGCACHE_HOLD_MS, &a), RW_REGCACHE_NEW);
    rw_regcache_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_answer_too_long_is_not_kept)
{
    rw_regcache_t *c = rw_regcache_new();
    rw_regcache_answer_t a;
    char big[RW_REGCACHE_HEADERS + 8];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(rw_regcache_begin(c, 7, 0, &a), RW_REGCACHE_NEW);
    rw_regcache_answer(c, 7, 10, 200, "OK", big);
    ck_assert_uint_eq(rw_regcache_used(c, 10), 0);
    ck_assert_int_eq(rw_regcache_begin(c, 7, 20, &a), RW_REGCACHE_NEW);
    rw_regcache_destroy(&c);
}
END_TEST

START_TEST(test_newer_request_takes_the_slot)
{
    rw_regcache_t *c = rw_regcache_new();
    rw_regcache_answer_t a;
    uint64_t k1 = 5, k2 = 5 + RW_REGCACHE_SLOTS;          /* the same slot */
    ck_assert_int_eq(rw_regcache_begin(c, k1, 0, &a), RW_REGCACHE_NEW);
    ck_assert_int_eq(rw_regcache_begin(c, k2, 1, &a), RW_REGCACHE_NEW);
    rw_regcache_answer(c, k1, 2, 200, "OK", "");              /* k1 lost its slot: not kept */
    ck_assert_int_eq(rw_regcache_begin(c, k2, 3, &a), RW_REGCACHE_PENDING);
    rw_regcache_answer(c, k2, 4, 403, "Forbidden", "");
    ck_assert_int_eq(rw_regcache_begin(c, k2, 5, &a), RW_REGCACHE_ANSWERED);
    ck_assert_int_eq(a.status, 403);
    ck_assert_uint_eq(rw_regcache_used(c, 5), 1);
    rw_regcache_destroy(&c);
}
END_TEST

START_TEST(test_memory_is_fixed)
{
    rw_regcache_t *c = rw_regcache_new();
    rw_regcache_answer_t a;
    for (uint64_t k = 1; k <= 4 * RW_REGCACHE_SLOTS; k++) {
        rw_regcache_begin(c, k * 2654435761ULL, k, &a);
        rw_regcache_answer(c, k * 2654435761ULL, k, 200, "OK", "Date: x\r\n");
    }
    ck_assert_uint_le(rw_regcache_used(c, 4 * RW_REGCACHE_SLOTS), RW_REGCACHE_SLOTS);
    rw_regcache_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regcache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_key_is_the_transaction_identity);
    tcase_add_test(tc, test_retransmission_in_progress_then_answered);
    tcase_add_test(tc, test_answer_too_long_is_not_kept);
    tcase_add_test(tc, test_newer_request_takes_the_slot);
    tcase_add_test(tc, test_memory_is_fixed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
