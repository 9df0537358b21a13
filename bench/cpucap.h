/* bench/cpucap.h — a CPU quota for a process during a benchmark (Linux cgroups, cpu controller).
 * rw_cpucap_put() moves every thread of pid into a fresh group "ringway-bench-<name>" limited
 * to pct percent of one core (cgroup v1 cpu.cfs_quota_us, or v2 cpu.max); rw_cpucap_remove()
 * deletes the group once its process has exited. Both return 0 or -1 (no cgroup file system,
 * no permission): the caller reports that the cap could not be applied. */
#ifndef RW_BENCH_CPUCAP_H
#define RW_BENCH_CPUCAP_H

#include <sys/types.h>

int rw_cpucap_put(pid_t pid, const char *name, unsigned pct);
int rw_cpucap_remove(const char *name);

#endif
