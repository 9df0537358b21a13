/* bench/cpucap.c — CPU quotas for benchmarked processes (see cpucap.h). */
#include "bench/cpucap.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define V1 "/sys/fs/cgroup/cpu"
#define V2 "/sys/fs/cgroup"
/* A short period: the process runs in slices of pct % of 10 ms instead of being frozen for
 * most of a 100 ms period, which would measure the freezes, not the process. */
#define PERIOD_US 10000u
#define PERIOD_TEXT "10000"

static int write_file(const char *dir, const char *file, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int v1(void)
{
    return access(V1 "/cpu.cfs_quota_us", F_OK) == 0;
}

int rw_cpucap_put(pid_t pid, const char *name, unsigned pct)
{
    char dir[200], quota[64], procs[32];
    snprintf(dir, sizeof dir, "%s/ringway-bench-%s", v1() ? V1 : V2, name);
    if (mkdir(dir, 0755) < 0 && access(dir, F_OK) < 0)
        return -1;
    if (v1()) {
        snprintf(quota, sizeof quota, "%u", pct * PERIOD_US / 100);
        if (write_file(dir, "cpu.cfs_period_us", PERIOD_TEXT) < 0 || write_file(dir, "cpu.cfs_quota_us", quota) < 0)
            return -1;
    } else {
        snprintf(quota, sizeof quota, "%u %u", pct * PERIOD_US / 100, PERIOD_US);
        if (write_file(dir, "cpu.max", quota) < 0)
            return -1;
    }
    snprintf(procs, sizeof procs, "%d", (int) pid);
    return write_file(dir, "cgroup.procs", procs);    /* moves every thread of the process */
}

int rw_cpucap_remove(const char *name)
{
    char dir[200];
    snprintf(dir, sizeof dir, "%s/ringway-bench-%s", v1() ? V1 : V2, name);
    return rmdir(dir);
}
