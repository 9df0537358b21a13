/* services/huntgroup/huntgroup.h — the huntgroup service's request handler: hunt group requests
 * in (protocols/huntgroup.h), one Redis script run each (decide.h), replies and queue.* events
 * out; per-group figures on /metrics; agents' personal calls followed from call.* events.
 * Owns its bus server, subscriber, scripts, timers and in-flight requests; borrows the loop,
 * the Redis connection, the metrics registry and the publisher, which must outlive it. Keeps
 * no queue state of its own: any instance can answer any request, and one that dies loses
 * nothing but the requests it was answering (the caller's bus client asks another). While
 * Redis is unreachable (a failover), `next` is answered `wait` for up to redis_hold_ms, so
 * callers already queued, or arriving, are held rather than sent to the plan's final action. */
#ifndef RW_HUNTGROUP_H
#define RW_HUNTGROUP_H

#include <sofia-sip/su_wait.h>
#include "common/metrics.h"
#include "common/redis.h"
#include "services/huntgroup/decide.h"

struct rw_pub;

typedef struct rw_huntgroup rw_huntgroup_t;

typedef struct {
    const char *bind;                   /* ZeroMQ endpoint requests are answered on */
    rw_hg_policy_t policy;
    unsigned stats_ms;                  /* how often per-group figures are read for /metrics */
    unsigned events_ms;                 /* how often rw:hg:events (CLI changes) is drained */
    const char *call_events;            /* registry service whose call.* events are followed
                                           ("sip_edge.events", as sip-edge announces itself), "" = none */
    unsigned redis_hold_ms;             /* Redis unreachable for less than this: a `next` is
                                           answered `wait` (the caller keeps ringing, the edge
                                           asks again), not an error; 0 = always an error */
} rw_huntgroup_opts_t;

rw_huntgroup_t *rw_huntgroup_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                                 struct rw_pub *pub, const rw_huntgroup_opts_t *opts);
void rw_huntgroup_destroy(rw_huntgroup_t **self);
const char *rw_huntgroup_endpoint(const rw_huntgroup_t *self);

#endif
