/* services/sip-edge/calls_live.h — the calls this process carries, vouched for in Redis so
 * that presence forgets a call whose end it never heard of (a lost call.ended, a killed
 * process) within a fixed bound (docs/presence.md "Staleness bound"). Noting a call event is
 * O(1) and touches only memory; once per RW_CALLS_LIVE_PERIOD_MS one batch (MULTI/EXEC) replaces
 * rw:calls:<publisher> — the ids of the calls ringing or answered here, plus "." so that the set
 * exists while empty, with a TTL of RW_CALLS_LIVE_TTL_MS — when it changed, else only refreshes
 * its TTL; the ids of calls whose BYE this process saw but another carried go to rw:calls:ended
 * in the same batch. Pipelined with it, while this process carries calls, the batch reads the
 * ids the other processes put in rw:calls:ended since its last read (at most
 * RW_CALLS_LIVE_ENDED_READ_MAX; the rest at the next batch) and drops those it carries, so the
 * next batch lists them no more. One round trip per batch; no Redis or bus work per call. Owns its map, timer and the batch in flight;
 * borrows the loop and the Redis connection. */
#ifndef RW_SIPEDGE_CALLS_LIVE_H
#define RW_SIPEDGE_CALLS_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_wait.h>

#include "common/metrics.h"
#include "common/redis.h"
#include "protocols/events.h"

#define RW_CALLS_LIVE_PERIOD_MS 1000           /* one batch per this */
#define RW_CALLS_LIVE_TTL_MS 3000              /* rw:calls:<publisher> outlives its writer by this */
#define RW_CALLS_LIVE_ENDED_KEEP_MS 60000      /* ids stay in rw:calls:ended this long */
#define RW_CALLS_LIVE_ANSWERED_MAX_MS 86400000 /* an answered call is vouched for at most a day */
#define RW_CALLS_LIVE_RINGING_MAX_MS 600000    /* a ringing one (its end is always seen here) 10 min */
#define RW_CALLS_LIVE_ENDED_MAX 1024           /* BYEs of other processes' calls kept per batch */
#define RW_CALLS_LIVE_ENDED_READ_MAX 4096      /* ids of rw:calls:ended read per batch */
#define RW_CALLS_LIVE_ENDED_LAG_MS 1000        /* a read goes back this far (an id written late) */

typedef struct rw_calls_live rw_calls_live_t;

/* NULL when redis is NULL (nothing is vouched for: presence then keeps calls to its own
 * bounds) or out of memory. capacity: calls held at once; beyond it the set carries "*" (every
 * call of this publisher vouched for) until the map has room again. metrics may be NULL. */
rw_calls_live_t *rw_calls_live_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                                   size_t capacity);
void rw_calls_live_destroy(rw_calls_live_t **self);
/* A call.* event this process just published (its publisher field set by the bus): ringing and
 * answered calls are held, ended and failed ones dropped. self may be NULL (nothing). */
void rw_calls_live_note(rw_calls_live_t *self, const rw_event_t *ev);
/* The batch now, as the timer does it (tests): 0 when sent; RW_EAGAIN when not (the last
 * batch still in flight, no event noted yet, Redis away or refusing it), RW_ENOMEM; RW_EINVAL
 * for NULL. */
int rw_calls_live_flush(rw_calls_live_t *self);
/* Calls held now. */
size_t rw_calls_live_count(const rw_calls_live_t *self);

#endif
