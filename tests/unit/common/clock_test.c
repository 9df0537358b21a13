/* tests/unit/common/clock_test.c — wall and monotonic clocks, and the frozen wall clock
 * unit tests use to control time. */
#include "common/clock.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_wall_clock_is_close_to_time)
{
    uint64_t ms = rw_clock_wall_ms();
    uint64_t now = (uint64_t) time(NULL) * 1000;
    ck_assert_uint_ge(ms + 2000, now);
    ck_assert_uint_le(ms, now + 2000);
}
END_TEST

START_TEST(test_monotonic_clock_moves_forward)
{
    uint64_t a = rw_clock_mono_us(), am = rw_clock_mono_ms();
    nanosleep(&(struct timespec){ 0, 20 * 1000000 }, NULL);
    uint64_t b = rw_clock_mono_us(), bm = rw_clock_mono_ms();
    ck_assert_uint_ge(b - a, 20000);
    ck_assert_uint_lt(b - a, 2000000);
    ck_assert_uint_ge(bm - am, 19);
    ck_assert_uint_le(am, a / 1000 + 1);
}
END_TEST

START_TEST(test_fake_wall_clock_freezes_and_steps)
{
    rw_clock_fake_wall(1700000000000ull);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1700000000000ull);
    nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1700000000000ull);
    rw_clock_advance_wall(1500);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1700000001500ull);
    rw_clock_advance_wall(-500);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1700000001000ull);
}
END_TEST

START_TEST(test_fake_zero_returns_to_real_clock)
{
    rw_clock_fake_wall(1000);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1000);
    rw_clock_fake_wall(0);
    ck_assert_uint_gt(rw_clock_wall_ms(), 1600000000000ull);
}
END_TEST

START_TEST(test_advance_real_clock_freezes_it_first)
{
    uint64_t before = rw_clock_wall_ms();
    rw_clock_advance_wall(60000);
    uint64_t frozen = rw_clock_wall_ms();
    ck_assert_uint_ge(frozen, before + 60000);
    ck_assert_uint_lt(frozen, before + 62000);
    nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
    ck_assert_uint_eq(rw_clock_wall_ms(), frozen);
}
END_TEST

START_TEST(test_stepping_back_past_epoch_stays_frozen)
{
    rw_clock_fake_wall(1000);
    rw_clock_advance_wall(-5000);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1);
    rw_clock_advance_wall(INT64_MIN);
    ck_assert_uint_eq(rw_clock_wall_ms(), 1);
}
END_TEST

/* RINGWAY_CLOCK_OFFSET_MS is read when the program loads: run this test program again with
 * it set (as "--probe") and read what that process's clock said. */
static int probe(const char *offset, int64_t *got_offset, int *bad, uint64_t *wall)
{
    char cmd[4200], exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = 0;
    snprintf(cmd, sizeof cmd, "RINGWAY_CLOCK_OFFSET_MS='%s' '%s' --probe", offset, exe);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    long long o = 0;
    unsigned long long w = 0;
    int rc = fscanf(f, "%lld %d %llu", &o, bad, &w);
    pclose(f);
    *got_offset = o;
    *wall = w;
    return rc == 3 ? 0 : -1;
}

START_TEST(test_offset_from_the_environment_shifts_the_wall_clock)
{
    int64_t off;
    int bad;
    uint64_t wall, before = (uint64_t) time(NULL) * 1000;
    ck_assert_int_eq(probe("86400000", &off, &bad, &wall), 0);      /* one day ahead */
    ck_assert_int_eq(off, 86400000);
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_ge(wall, before + 86400000 - 2000);
    ck_assert_uint_le(wall, (uint64_t) time(NULL) * 1000 + 86400000 + 2000);
    ck_assert_int_eq(probe("-3600000", &off, &bad, &wall), 0);      /* an hour back */
    ck_assert_int_eq(off, -3600000);
    ck_assert_uint_le(wall, (uint64_t) time(NULL) * 1000 - 3600000 + 2000);
    /* Not a number: ignored (and reported as bad), the clock is the real one. */
    ck_assert_int_eq(probe("tomorrow", &off, &bad, &wall), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(bad, 1);
    ck_assert_uint_ge(wall + 2000, (uint64_t) time(NULL) * 1000);
    ck_assert_int_eq(probe("99999999999999999999", &off, &bad, &wall), 0);
    ck_assert_int_eq(bad, 1);
    /* This process was started without it. */
    ck_assert_int_eq(rw_clock_offset_ms(&bad), 0);
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("clocks");
    tcase_add_test(tc, test_wall_clock_is_close_to_time);
    tcase_add_test(tc, test_monotonic_clock_moves_forward);
    tcase_add_test(tc, test_fake_wall_clock_freezes_and_steps);
    tcase_add_test(tc, test_fake_zero_returns_to_real_clock);
    tcase_add_test(tc, test_advance_real_clock_freezes_it_first);
    tcase_add_test(tc, test_stepping_back_past_epoch_stays_frozen);
    tcase_add_test(tc, test_offset_from_the_environment_shifts_the_wall_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--probe")) {
        int bad = 0;
        int64_t off = rw_clock_offset_ms(&bad);
        printf("%" PRId64 " %d %" PRIu64 "\n", off, bad, rw_clock_wall_ms());
        return 0;
    }
    SRunner *sr = srunner_create(clock_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
