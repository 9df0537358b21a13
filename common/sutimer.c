/* common/sutimer.c — deferrable timers with a bounded delay (see sutimer.h). */
#include "common/sutimer.h"

su_timer_t *rw_sutimer_lazy(su_root_t *root, su_duration_t ms)
{
    su_timer_t *t = root ? su_timer_create(su_root_task(root), ms) : NULL;
    if (!t)
        return NULL;
    su_duration_t max = su_root_get_max_defer(root);
    if (max <= 0 || max > RW_SUTIMER_SLACK_MS)
        su_root_set_max_defer(root, RW_SUTIMER_SLACK_MS);
    if (su_timer_deferrable(t, 1) != 0) {
        su_timer_destroy(t);
        return NULL;
    }
    return t;
}
