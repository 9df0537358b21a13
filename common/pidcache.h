/* common/pidcache.h — getpid() without a system call, for the service executables.
 * Since glibc 2.25 every getpid() is a system call, and libzmq makes one on each look at a
 * socket's mailbox (its fork check): about three per call in sip-edge and in the router, on a
 * machine where a system call costs microseconds. pidcache.c defines getpid() itself: the first
 * call asks the kernel and keeps the answer; a child of fork() forgets it (pthread_atfork), so
 * fork detection keeps working. The executables that link rw_pidcache export the symbol
 * (-Wl,--export-dynamic-symbol=getpid), so the shared libraries' calls (libzmq's) land there;
 * glibc's own internal uses are untouched. Not linked into rw_common: nothing else gets it by accident.
 * A process made with clone() or vfork() directly (not fork()) would keep its parent's answer;
 * Ringway makes none (posix_spawn's child execs at once and uses glibc's internal getpid). */
#ifndef RW_COMMON_PIDCACHE_H
#define RW_COMMON_PIDCACHE_H

#include <sys/types.h>

/* What the kernel says now (a system call every time): for tests and checks. */
pid_t rw_pidcache_kernel(void);

#endif
