/* services/core/loopnap.h — naps instead of spins in the last millisecond before a timer.
 * Sofia's loop sleeps only whole milliseconds: with a timer due in less than one it polls its
 * epoll descriptor with timeout 0 again and again until the timer is due (tens of thousands of
 * epoll_wait calls a second in a busy sip-edge, whose transactions keep NTA's timer armed).
 * This module exports epoll_create() and epoll_wait() for the whole process (the real ones are
 * found with dlsym(RTLD_NEXT)): the epoll descriptor created while capture is on is the loop's,
 * and on it a zero-timeout poll that follows one which found nothing waits up to
 * RW_LOOPNAP_US instead (ppoll on the epoll descriptor): any event still ends it at once; a
 * timer runs at most that late. Every other descriptor and thread is passed through untouched. */
#ifndef RW_LOOPNAP_H
#define RW_LOOPNAP_H

#include <stdint.h>

#define RW_LOOPNAP_US 200

/* Around su_root_create(): on = 1 before, 0 after. */
void rw_loopnap_capture(int on);
/* Before su_root_destroy(): its descriptor number may be reused by anything afterwards. */
void rw_loopnap_release(void);
/* Zero-timeout polls of the loop descriptor passed through, and naps taken instead. */
void rw_loopnap_stats(uint64_t *polls, uint64_t *naps);

#endif
