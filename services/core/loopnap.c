/* services/core/loopnap.c — naps instead of spins before a Sofia timer (see loopnap.h). */
#include "services/core/loopnap.h"

#include <dlfcn.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <time.h>

typedef int epoll_create_fn(int);
typedef int epoll_wait_fn(int, struct epoll_event *, int, int);

static atomic_int loop_fd = -1;
static _Thread_local int capturing;
static _Thread_local int idle_zero;  /* this thread's last zero-timeout poll of the loop fd found nothing */
static atomic_uint_fast64_t n_polls, n_naps;

static epoll_wait_fn *real_wait(void)
{
    static _Atomic(epoll_wait_fn *) fn;
    epoll_wait_fn *f = atomic_load_explicit(&fn, memory_order_relaxed);
    if (!f) {
        f = (epoll_wait_fn *) dlsym(RTLD_NEXT, "epoll_wait");
        atomic_store_explicit(&fn, f, memory_order_relaxed);
    }
    return f;
}

int epoll_create(int size)
{
    static _Atomic(epoll_create_fn *) fn;
    epoll_create_fn *f = atomic_load_explicit(&fn, memory_order_relaxed);
    if (!f) {
        f = (epoll_create_fn *) dlsym(RTLD_NEXT, "epoll_create");
        atomic_store_explicit(&fn, f, memory_order_relaxed);
    }
    int fd = f(size);
    if (capturing && fd >= 0)
        atomic_store(&loop_fd, fd);
    return fd;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    if (epfd != atomic_load_explicit(&loop_fd, memory_order_relaxed))
        return real_wait()(epfd, events, max, timeout);
    int n;
    if (timeout != 0 || !idle_zero) {
        n = real_wait()(epfd, events, max, timeout);
        if (timeout == 0)
            atomic_fetch_add_explicit(&n_polls, 1, memory_order_relaxed);
    } else {
        /* An epoll descriptor polls readable while it has events: ppoll() naps on it with a
         * sub-millisecond timeout (epoll_pwait2 would too, but valgrind 3.19 lacks it). */
        struct timespec nap = { 0, RW_LOOPNAP_US * 1000L };
        struct pollfd p = { .fd = epfd, .events = POLLIN };
        n = ppoll(&p, 1, &nap, NULL) > 0 ? real_wait()(epfd, events, max, 0) : 0;
        atomic_fetch_add_explicit(&n_naps, 1, memory_order_relaxed);
    }
    idle_zero = timeout == 0 && n == 0;
    return n;
}

void rw_loopnap_capture(int on)
{
    capturing = on;
}

void rw_loopnap_release(void)
{
    atomic_store(&loop_fd, -1);
    idle_zero = 0;
}

void rw_loopnap_stats(uint64_t *polls, uint64_t *naps)
{
    *polls = atomic_load(&n_polls);
    *naps = atomic_load(&n_naps);
}
