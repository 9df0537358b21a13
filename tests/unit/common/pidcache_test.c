/* tests/unit/common/pidcache_test.c — the getpid() of the service executables (pidcache.h):
 * it answers what the kernel says, is the definition the dynamic linker gives shared libraries
 * (exported from the executable, so libzmq's calls land there, not in libc), and a child of
 * fork() gets its own pid, in a child of that child too. */
#include <check.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/pidcache.h"

START_TEST(test_answers_what_the_kernel_says)
{
    pid_t k = rw_pidcache_kernel();
    ck_assert_int_gt(k, 0);
    ck_assert_int_eq(getpid(), k);
    ck_assert_int_eq(getpid(), k);                    /* from memory now: the same */
}
END_TEST

START_TEST(test_shared_libraries_get_this_definition)
{
    pid_t (*seen)(void) = (pid_t (*)(void)) dlsym(RTLD_DEFAULT, "getpid");
    pid_t (*libc)(void) = (pid_t (*)(void)) dlsym(RTLD_NEXT, "getpid");
    ck_assert_ptr_nonnull(seen);
    ck_assert_ptr_nonnull(libc);
    ck_assert(seen == getpid);                        /* what a library's getpid@plt binds to */
    ck_assert(libc != getpid);
    ck_assert_int_eq(seen(), libc());
}
END_TEST

/* In the child: 0 when getpid() is the child's own pid (and a grandchild's is its own). */
static int child_checks(pid_t parent, int depth)
{
    if (getpid() == parent || getpid() != rw_pidcache_kernel())
        return 1;
    if (depth == 0)
        return 0;
    pid_t me = getpid();
    pid_t c = fork();
    if (c < 0)
        return 2;
    if (c == 0)
        _exit(child_checks(me, depth - 1));
    int st = 0;
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 3;
    return getpid() == me ? 0 : 4;                    /* this process's answer is unchanged */
}

START_TEST(test_a_forked_child_gets_its_own_pid)
{
    pid_t parent = getpid();                          /* cached before the fork */
    pid_t c = fork();
    ck_assert_int_ge(c, 0);
    if (c == 0)
        _exit(child_checks(parent, 1));
    int st = 0;
    ck_assert_int_eq(waitpid(c, &st, 0), c);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_int_eq(getpid(), parent);
    ck_assert_int_eq(getpid(), rw_pidcache_kernel());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pidcache");
    TCase *tc = tcase_create("pidcache");
    tcase_add_test(tc, test_answers_what_the_kernel_says);
    tcase_add_test(tc, test_shared_libraries_get_this_definition);
    tcase_add_test(tc, test_a_forked_child_gets_its_own_pid);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
