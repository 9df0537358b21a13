/* services/router/fetch.h — the one Redis round trip of a decision: the Lua script that reads
 * the callee's user, devices (with live-binding flags), settings, presence, calendar divert
 * and, when changed, the trunks; and the parser of its reply into a rw_router_user_t.
 * Parsed settings are cached per user, keyed by the version counter stored with them, so a
 * decision allocates nothing on a hit. Owned by one router; single-threaded. */
#ifndef RW_ROUTER_FETCH_H
#define RW_ROUTER_FETCH_H

#include <hiredis/hiredis.h>
#include "common/e164.h"
#include "services/router/plan_build.h"

extern const char rw_router_lookup_lua[];

typedef struct rw_router_cache rw_router_cache_t;

rw_router_cache_t *rw_router_cache_new(void);
void rw_router_cache_destroy(rw_router_cache_t **self);
/* The trunk table version the cache holds (ARGV[2] of the script). */
const char *rw_router_cache_trunk_ver(const rw_router_cache_t *self);

/* Parse the script's reply. RW_ENOTFOUND for nil, RW_EPROTO for a malformed reply. Fills u
 * (settings point into the cache: valid until the next call) and pol's trunks when the reply
 * carried them. now_ms decides whether presence and calendar divert are in force. */
int rw_router_fetch_parse(rw_router_cache_t *self, const rw_numplan_t *np, const redisReply *rep,
                          uint64_t now_ms, rw_router_user_t *u, rw_router_policy_t *pol);

#endif
