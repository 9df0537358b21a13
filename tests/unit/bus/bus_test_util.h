/* tests/unit/bus/bus_test_util.h — helpers shared by the bus suites (header only).
 * Drive a su_root for a while or until a flag is set, make a temporary directory for ipc://
 * endpoints, and start a helper role of the test binary itself in a child process
 * (fork + exec of /proc/self/exe, so the child has its own fresh ZeroMQ context; it dies
 * with the test through PR_SET_PDEATHSIG). */
#ifndef RW_BUS_TEST_UTIL_H
#define RW_BUS_TEST_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "common/clock.h"

#define BUS_CHILD_FLAG "--bus-child"

/* Steps the loop until *flag becomes non-zero or timeout_ms passes; returns *flag. */
static inline int run_until(su_root_t *root, const volatile int *flag, unsigned timeout_ms)
{
    uint64_t end = rw_clock_mono_ms() + timeout_ms;
    while (!*flag && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
    return *flag;
}

/* Steps the loop until counter >= want or timeout_ms passes; returns the counter. */
static inline uint64_t run_until_count(su_root_t *root, const volatile uint64_t *counter,
                                       uint64_t want, unsigned timeout_ms)
{
    uint64_t end = rw_clock_mono_ms() + timeout_ms;
    while (*counter < want && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
    return *counter;
}

static inline void run_for(su_root_t *root, unsigned ms)
{
    uint64_t end = rw_clock_mono_ms() + ms;
    while (rw_clock_mono_ms() < end)
        su_root_step(root, 5);
}

/* Starts this test binary as `argv0 --bus-child role a1 a2 a3` in a child process. */
static inline pid_t spawn_role(const char *role, const char *a1, const char *a2, const char *a3)
{
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        execl("/proc/self/exe", "bus-child", BUS_CHILD_FLAG, role, a1, a2, a3, (char *) NULL);
        _exit(127);
    }
    return pid;
}

static inline void kill_role(pid_t *pid, int sig)
{
    if (*pid > 0) {
        kill(*pid, sig);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

/* mkdtemp under /tmp; the caller removes it (rmdir) after removing what it put there. */
static inline void make_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/rw-bus-XXXXXX");
    if (!mkdtemp(buf))
        buf[0] = 0;
}

#endif
