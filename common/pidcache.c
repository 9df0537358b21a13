/* common/pidcache.c — getpid() answered from memory after the first call (pidcache.h). */
#include "common/pidcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int cached;                /* 0: not known in this process */
static atomic_int watching;              /* the fork handler is in place: the cache may be used */

static void forget(void)
{
    atomic_store_explicit(&cached, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void watch_fork(void)
{
    atomic_store(&watching, pthread_atfork(NULL, NULL, forget) == 0);   /* fails only without memory */
}

pid_t rw_pidcache_kernel(void)
{
    return (pid_t) syscall(SYS_getpid);
}

pid_t getpid(void)
{
    if (!atomic_load_explicit(&watching, memory_order_relaxed))
        return rw_pidcache_kernel();
    pid_t p = (pid_t) atomic_load_explicit(&cached, memory_order_relaxed);
    if (p == 0) {
        p = rw_pidcache_kernel();
        atomic_store_explicit(&cached, (int) p, memory_order_relaxed);
    }
    return p;
}
