/* tests/unit/sipedge/nonce_test.c — stateless nonces: age, forgery, tampering, clock skew. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/sip-edge/nonce.h"

static const char *K = "shared-secret";

START_TEST(test_fresh_nonce_has_age_zero_and_grows)
{
    char n[RW_NONCE_LEN + 1];
    ck_assert_int_eq(rw_nonce_make(K, 1700000000, n), 0);
    ck_assert_uint_eq(strlen(n), RW_NONCE_LEN);
    ck_assert_int_eq(rw_nonce_age(K, n, 1700000000), 0);
    ck_assert_int_eq(rw_nonce_age(K, n, 1700000301), 301);
}
END_TEST

START_TEST(test_two_nonces_differ)
{
    char a[RW_NONCE_LEN + 1], b[RW_NONCE_LEN + 1];
    rw_nonce_make(K, 1700000000, a);
    rw_nonce_make(K, 1700000000, b);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_other_secret_is_refused)
{
    char n[RW_NONCE_LEN + 1];
    rw_nonce_make(K, 1700000000, n);
    ck_assert_int_eq(rw_nonce_age("another-secret", n, 1700000000), -1);
}
END_TEST

START_TEST(test_any_changed_character_is_refused)
{
    char n[RW_NONCE_LEN + 1];
    rw_nonce_make(K, 1700000000, n);
    for (int i = 0; i < RW_NONCE_LEN; i++) {
        char t[RW_NONCE_LEN + 1];
        memcpy(t, n, sizeof t);
        t[i] = t[i] == '0' ? '1' : '0';
        ck_assert_msg(rw_nonce_age(K, t, 1700000000) == -1, "position %d accepted", i);
    }
}
END_TEST

static const char *malformed[] = { "", "abc", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                                   "0123456789abcdef0123456789abcdef012345678",
                                   "0123456789ABCDEF0123456789ABCDEF01234567" };

START_TEST(test_malformed_is_refused)
{
    ck_assert_int_eq(rw_nonce_age(K, malformed[_i], 1700000000), -1);
}
END_TEST

START_TEST(test_future_beyond_skew_is_refused)
{
    char n[RW_NONCE_LEN + 1];
    rw_nonce_make(K, 1700000100, n);
    ck_assert_int_eq(rw_nonce_age(K, n, 1700000097), 0);    /* 3 s ahead: tolerated */
    ck_assert_int_eq(rw_nonce_age(K, n, 1700000000), -1);
}
END_TEST

START_TEST(test_bad_arguments)
{
    char n[RW_NONCE_LEN + 1];
    ck_assert_int_eq(rw_nonce_make("", 1, n), RW_EINVAL);
    ck_assert_int_eq(rw_nonce_make(NULL, 1, n), RW_EINVAL);
    ck_assert_int_eq(rw_nonce_age(K, NULL, 1), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nonce");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fresh_nonce_has_age_zero_and_grows);
    tcase_add_test(tc, test_two_nonces_differ);
    tcase_add_test(tc, test_other_secret_is_refused);
    tcase_add_test(tc, test_any_changed_character_is_refused);
    tcase_add_loop_test(tc, test_malformed_is_refused, 0, sizeof malformed / sizeof malformed[0]);
    tcase_add_test(tc, test_future_beyond_skew_is_refused);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
