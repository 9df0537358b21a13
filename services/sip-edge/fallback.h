/* services/sip-edge/fallback.h — survivable routing: a plan for a call when `router` gave none.
 * Order: the router's own decision made here (rw_routing: the same lookup script, run on this
 * edge's Redis connection, and the same plan builder) for the call's own time, caller and
 * callee, so schedules, time-limited diverts and presence are right at the time of the call and
 * a settings change counts the moment it is in Redis; when Redis does not answer, the in-memory
 * copies: the last plan this edge got or made for the user (fixed-size, direct-mapped caches:
 * memory is bounded by the sizes given to rw_fallback_new), else the dialled number's
 * registered devices. The object owns its caches and its Redis requests in flight (a request
 * outliving the object finishes without calling back). Single-threaded (schedule.h). */
#ifndef RW_SIPEDGE_FALLBACK_H
#define RW_SIPEDGE_FALLBACK_H

#include <stddef.h>
#include "common/redis.h"
#include "protocols/events.h"
#include "protocols/route.h"

typedef struct rw_fallback_store rw_fallback_store_t;   /* kinds: rw_fallback_t, events.h */

/* plan_slots / num_slots 0 = 256 / 4096. ring_ms: how long devices ring in a devices plan, and
 * the default ring time of an evaluated plan (the router's router.ring_ms). */
rw_fallback_store_t *rw_fallback_new(rw_aredis_t *redis, const char *realm, unsigned ring_ms,
                               size_t plan_slots, size_t num_slots);
void rw_fallback_destroy(rw_fallback_store_t **self);
/* Diversions an evaluated plan lets a call pass (the router's router.max_hops; default 4). */
void rw_fallback_set_max_hops(rw_fallback_store_t *self, unsigned max_hops);

/* Keeps a copy of a plan the router gave for number (plan->user must be set). */
void rw_fallback_remember(rw_fallback_store_t *self, const char *number, const rw_plan_t *plan);

/* status RW_OK with a plan and how it was found (RW_FALLBACK_EVALUATED, _LAST_PLAN, _DEVICES),
 * or RW_ENOTFOUND (the number belongs to nobody). rq is the call's route request (callee,
 * caller, source, time, diversions), copied. plan is valid during the call only. fn runs
 * exactly once, possibly inside rw_fallback_resolve_call (when Redis is not connected). */
typedef void rw_fallback_fn(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind);
int rw_fallback_resolve_call(rw_fallback_store_t *self, const rw_route_req_t *rq,
                             rw_fallback_fn *fn, void *arg);
/* The same for a call to number from an anonymous device caller, now. */
int rw_fallback_resolve(rw_fallback_store_t *self, const char *number, rw_fallback_fn *fn, void *arg);

/* A one-stage plan ringing sip:<ext>@realm for ring_ms, then 480. */
void rw_fallback_devices_plan(const char *user, const char *ext, const char *realm, unsigned ring_ms,
                              rw_plan_t *out);

/* "evaluated", "last_plan", "devices" (logs, metrics' labels). */
const char *rw_fallback_kind_name(rw_fallback_t kind);

#endif
