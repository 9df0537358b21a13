/* services/router/router.h — the router's request handler: route requests in, plans out.
 * Owns its bus server and its in-flight decisions; borrows the loop, the Redis connection and
 * the metrics registry, which must outlive it. One Redis round trip per decision (a Lua
 * script resolves the number and reads the user and devices). When Redis cannot answer, the
 * reply is an RW_PLAN_ERROR plan at once, so sip-edge falls back without waiting. */
#ifndef RW_ROUTER_H
#define RW_ROUTER_H

#include <sofia-sip/su_wait.h>
#include "common/redis.h"
#include "common/metrics.h"
#include "common/e164.h"
#include "services/router/plan_build.h"

struct rw_pub;

typedef struct rw_router rw_router_t;

rw_router_t *rw_router_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                           const char *bind_endpoint, const rw_numplan_t *plan,
                           const rw_router_policy_t *policy);
void rw_router_destroy(rw_router_t **self);
const char *rw_router_endpoint(const rw_router_t *self);
/* Publish a directory.changed event on pub (borrowed; NULL = none) for every change this
 * router takes from rw:dir:changes: once per change across all instances, again only when a
 * router was killed between taking and announcing it (docs/routing.md). */
void rw_router_set_pub(rw_router_t *self, struct rw_pub *pub);

#endif
