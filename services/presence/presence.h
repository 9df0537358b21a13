/* services/presence/presence.h — the presence service: call.* and reg.* events in, one run of
 * the merge script each (merge.h), presence.changed out for every change the script reports;
 * a reconciliation pass over every user of the directory, a batch per tick, so that a lost
 * event or a killed instance leaves no state stale beyond a fixed bound (docs/presence.md);
 * changes made by writers without a bus (the CLI) drained from rw:presence:events, users whose
 * sources others changed (the calendar) from rw:presence:dirty. Owns its subscriber, watcher,
 * script, timers and jobs in flight; borrows the loop, Redis, metrics and publisher. Keeps no
 * presence state of its own: any instance can handle any event, and several may run. */
#ifndef RW_PRESENCE_H
#define RW_PRESENCE_H

#include <sofia-sip/su_wait.h>
#include "common/metrics.h"
#include "common/redis.h"
#include "services/presence/merge.h"

struct rw_pub;

typedef struct rw_presence rw_presence_t;

typedef struct {
    const char *call_events;            /* registry name of the call.* / reg.* publishers
                                           ("sip_edge.events"); "" = none followed */
    rw_pres_policy_t policy;            /* bounds of calls in progress (notify is ignored) */
    unsigned reconcile_ms;              /* one reconciliation batch per this */
    unsigned reconcile_batch;           /* users per batch */
    unsigned drain_ms;                  /* how often rw:presence:events / :dirty are drained */
} rw_presence_opts_t;

rw_presence_t *rw_presence_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                               struct rw_pub *pub, const rw_presence_opts_t *opts);
void rw_presence_destroy(rw_presence_t **self);

#endif
