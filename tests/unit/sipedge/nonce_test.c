/* tests/unit/sipedge/nonce_test.c — stateless nonces: age, uniqueness, forgery, tampering, clock skew. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The nonce's middle 8 hex digits, as a number. */
static uint32_t middle(const char *n)
{
    char m[9];
    memcpy(m, n + 8, 8);
    m[8] = '\0';
    return (uint32_t) strtoul(m, NULL, 16);
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

/* Two clients must never share a nonce: its count is kept per nonce. 200,000 in one second
 * (32 random bits each would collide with near certainty: ~4.6 expected pairs). */
START_TEST(test_nonces_of_one_second_are_unique)
{
    enum { N = 200000 };
    uint32_t *mid = malloc(N * sizeof *mid);
    rw_nonce_key_t k;
    ck_assert_ptr_nonnull(mid);
    ck_assert_int_eq(rw_nonce_key_init(&k, K), 0);
    for (size_t i = 0; i < N; i++) {
        char n[RW_NONCE_LEN + 1];
        rw_nonce_make_k(&k, 1700000000, n);
        mid[i] = middle(n);
    }
    qsort(mid, N, sizeof *mid, by_u32);
    size_t dups = 0;
    for (size_t i = 1; i < N; i++)
        dups += mid[i] == mid[i - 1];
    free(mid);
    ck_assert_uint_eq(dups, 0);
}
END_TEST

/* A forked worker does not repeat its parent's series. */
START_TEST(test_fork_child_makes_other_nonces)
{
    enum { N = 1000 };
    char n[RW_NONCE_LEN + 1];
    uint32_t parent[N], child[N];
    int fds[2];
    rw_nonce_make(K, 1700000000, n);  /* the parent's series has begun */
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (size_t i = 0; i < N; i++) {
            rw_nonce_make(K, 1700000000, n);
            child[i] = middle(n);
        }
        _exit(write(fds[1], child, sizeof child) == (ssize_t) sizeof child ? 0 : 1);
    }
    close(fds[1]);
    for (size_t i = 0; i < N; i++) {
        rw_nonce_make(K, 1700000000, n);
        parent[i] = middle(n);
    }
    size_t got = 0;
    while (got < sizeof child) {
        ssize_t r = read(fds[0], (char *) child + got, sizeof child - got);
        if (r <= 0)
            break;
        got += (size_t) r;
    }
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_uint_eq(got, sizeof child);
    qsort(parent, N, sizeof *parent, by_u32);
    size_t shared = 0;
    for (size_t i = 0; i < N; i++)
        shared += bsearch(&child[i], parent, N, sizeof *parent, by_u32) != NULL;
    ck_assert_uint_eq(shared, 0);
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
    tcase_add_test(tc, test_nonces_of_one_second_are_unique);
    tcase_add_test(tc, test_fork_child_makes_other_nonces);
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
