/* tests/unit/sipedge/ttlmap_test.c — the bounded expiring map behind sip-edge's caches. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/sip-edge/ttlmap.h"

START_TEST(test_put_get_until_expiry)
{
    rw_ttlmap_t *m = rw_ttlmap_new(sizeof(int), 8);
    int *v = rw_ttlmap_put(m, "a", 1000, 0);
    ck_assert_ptr_nonnull(v);
    *v = 42;
    ck_assert_int_eq(*(int *) rw_ttlmap_get(m, "a", 999), 42);
    ck_assert_ptr_null(rw_ttlmap_get(m, "a", 1000));
    ck_assert_ptr_null(rw_ttlmap_get(m, "b", 0));
    rw_ttlmap_destroy(&m);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_put_keeps_live_value_and_zeroes_expired)
{
    rw_ttlmap_t *m = rw_ttlmap_new(sizeof(int), 8);
    *(int *) rw_ttlmap_put(m, "a", 1000, 0) = 7;
    ck_assert_int_eq(*(int *) rw_ttlmap_put(m, "a", 2000, 500), 7);
    ck_assert_int_eq(*(int *) rw_ttlmap_put(m, "a", 9000, 2500), 0);
    ck_assert_uint_eq(rw_ttlmap_count(m), 1);
    rw_ttlmap_destroy(&m);
}
END_TEST

START_TEST(test_full_map_refuses_then_sweeps_expired)
{
    rw_ttlmap_t *m = rw_ttlmap_new(sizeof(int), 4);
    char k[8];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_ptr_nonnull(rw_ttlmap_put(m, k, i < 2 ? 100 : 10000, 0));
    }
    ck_assert_ptr_null(rw_ttlmap_put(m, "x", 10000, 50));     /* full, nothing expired */
    ck_assert_ptr_nonnull(rw_ttlmap_put(m, "x", 10000, 2000)); /* two expired swept */
    ck_assert_uint_eq(rw_ttlmap_count(m), 3);
    ck_assert_ptr_nonnull(rw_ttlmap_get(m, "k3", 2000));
    rw_ttlmap_destroy(&m);
}
END_TEST

static int freed;
static void on_free(void *v) { freed += *(int *) v; }
static void sum(void *arg, const char *key, void *value, uint64_t exp)
{
    (void) key;
    (void) exp;
    *(int *) arg += *(int *) value;
}

START_TEST(test_foreach_skips_expired_and_free_hook_runs)
{
    rw_ttlmap_t *m = rw_ttlmap_new(sizeof(int), 16);
    rw_ttlmap_on_free(m, on_free);
    *(int *) rw_ttlmap_put(m, "a", 100, 0) = 1;
    *(int *) rw_ttlmap_put(m, "b", 1000, 0) = 2;
    *(int *) rw_ttlmap_put(m, "c", 1000, 0) = 4;
    int total = 0;
    rw_ttlmap_foreach(m, 500, sum, &total);
    ck_assert_int_eq(total, 6);
    freed = 0;
    rw_ttlmap_del(m, "b");
    ck_assert_int_eq(freed, 2);
    rw_ttlmap_destroy(&m);
    ck_assert_int_eq(freed, 7);
}
END_TEST

START_TEST(test_many_keys)
{
    rw_ttlmap_t *m = rw_ttlmap_new(sizeof(int), 5000);
    char k[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        *(int *) rw_ttlmap_put(m, k, 100, 0) = i;
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        ck_assert_int_eq(*(int *) rw_ttlmap_get(m, k, 1), i);
    }
    rw_ttlmap_clear(m);
    ck_assert_uint_eq(rw_ttlmap_count(m), 0);
    rw_ttlmap_destroy(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ttlmap");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_put_get_until_expiry);
    tcase_add_test(tc, test_put_keeps_live_value_and_zeroes_expired);
    tcase_add_test(tc, test_full_map_refuses_then_sweeps_expired);
    tcase_add_test(tc, test_foreach_skips_expired_and_free_hook_runs);
    tcase_add_test(tc, test_many_keys);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
