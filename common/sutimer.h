/* common/sutimer.h — timers that need no sub-millisecond precision, on a Sofia su_root.
 * Sofia's loop sleeps for the whole milliseconds left before its next timer, then polls
 * without sleeping until the timer is due: up to 1 ms of spinning per expiry (seen as a
 * service's idle CPU). A lazy timer is deferrable: it never sets the sleep itself, it runs
 * when the loop wakes at or after its time, and the loop wakes at least every
 * RW_SUTIMER_SLACK_MS (the root's max_defer, lowered to that once). So it may run up to
 * that late. Safety nets, polls, keep-alives and timeouts of 100 ms and more use these;
 * protocol timers stay ordinary. (A deferrable timer due at once runs before the loop sleeps
 * even when armed from another timer: common/redis_su.c's flush relies on it.) */
#ifndef RW_SUTIMER_H
#define RW_SUTIMER_H

#include <sofia-sip/su_wait.h>

#define RW_SUTIMER_SLACK_MS 25

/* su_timer_create() with default interval ms, made deferrable; NULL on failure. */
su_timer_t *rw_sutimer_lazy(su_root_t *root, su_duration_t ms);

#endif
