/* services/sip-edge/fallback.h — survivable routing: a plan for a call when `router` gave none.
 * Order: the user's fallback plan rw:fallback:<user id> (written by router), else the user's
 * registered devices (AOR sip:<ext>@realm); when Redis does not answer either, the in-memory
 * copies of recent plans and number -> user mappings (fixed-size, direct-mapped caches: memory
 * is bounded by the sizes given to rw_fallback_new). The object owns its caches and its Redis
 * requests in flight (a request outliving the object finishes without calling back). */
#ifndef RW_SIPEDGE_FALLBACK_H
#define RW_SIPEDGE_FALLBACK_H

#include <stddef.h>
#include "common/redis.h"
#include "protocols/events.h"
#include "protocols/route.h"

typedef struct rw_fallback_store rw_fallback_store_t;   /* kinds: rw_fallback_t, events.h */

/* plan_slots / num_slots 0 = 256 / 4096. ring_ms: how long devices ring in a devices plan. */
rw_fallback_store_t *rw_fallback_new(rw_aredis_t *redis, const char *realm, unsigned ring_ms,
                               size_t plan_slots, size_t num_slots);
void rw_fallback_destroy(rw_fallback_store_t **self);

/* Keeps a copy of a plan the router gave for number (plan->user must be set). */
void rw_fallback_remember(rw_fallback_store_t *self, const char *number, const rw_plan_t *plan);

/* status RW_OK with a plan and how it was found, or RW_ENOTFOUND (the number belongs to nobody).
 * plan is valid during the call only. fn runs exactly once, possibly inside rw_fallback_resolve
 * (when Redis is not connected). */
typedef void rw_fallback_fn(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind);
int rw_fallback_resolve(rw_fallback_store_t *self, const char *number, rw_fallback_fn *fn, void *arg);

/* A one-stage plan ringing sip:<ext>@realm for ring_ms, then 480. */
void rw_fallback_devices_plan(const char *user, const char *ext, const char *realm, unsigned ring_ms,
                              rw_plan_t *out);

#endif
