/* bench/cpucap.c — CPU quotas for benchmarked processes (see cpucap.h). */
#include "bench/cpucap.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define V1 "/sys/fs/cgroup/cpu"
#define V2 "/sys/fs/cgroup"

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
        snprintf(quota, sizeof quota, "%u", pct * 1000);
        if (write_file(dir, "cpu.cfs_period_us", "100000") < 0 || write_file(dir, "cpu.cfs_quota_us", quota) < 0)
            return -1;
    } else {
        snprintf(quota, sizeof quota, "%u 100000", pct * 1000);
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
