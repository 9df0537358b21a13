/* services/router/fetch.h — the one Redis round trip of a decision: the Lua script that reads
 * the callee's user, devices (with live-binding flags), settings, presence, calendar divert,
 * a calling colleague's public number and, when changed, the trunks; and the parser of its
 * reply into a rw_router_user_t.
 * Parsed settings are cached per user and reused while the settings text the script returns is
 * byte-for-byte the one parsed, so a change is seen by the next decision and a hit neither
 * parses nor allocates. Bounded (oldest entries go first). Owned by one router; single-threaded. */
#ifndef RW_ROUTER_FETCH_H
#define RW_ROUTER_FETCH_H

#include <hiredis/hiredis.h>
#include "common/e164.h"
#include "protocols/route.h"
#include "services/router/plan_build.h"

extern const char rw_router_lookup_lua[];

/* What a decision sends with the script, the same for router and sip-edge's fallback: the
 * request's caller normalised in place (E.164 when it is a number, "anonymous" for any case of
 * it), KEYS[1] = rw:num:<callee in E.164, or as given> written into key (key_size bytes), and
 * args[0..3] = KEYS[1], "num", the cache's trunk version, the calling colleague's extension or
 * "" (a caller on a device presenting digits; never a trunk caller). args point into key, rq
 * and the cache: valid while they are. */
void rw_router_lookup_args(const rw_numplan_t *np, rw_route_req_t *rq, const char *trunk_ver,
                           char *key, size_t key_size, const char *args[4]);

typedef struct rw_router_cache rw_router_cache_t;

typedef struct {
    uint64_t hits, misses;           /* decisions for users with settings */
    uint64_t evictions;              /* entries dropped to stay within the memory bound */
    size_t entries, bytes;           /* held now */
} rw_router_cache_stats_t;

/* Parsed settings kept by default, at most (entries are a few KB each). */
#define RW_ROUTER_CACHE_BYTES ((size_t) 32 << 20)

/* max_bytes: the bound (0 = RW_ROUTER_CACHE_BYTES); the entry just made always stays. */
rw_router_cache_t *rw_router_cache_new(size_t max_bytes);
void rw_router_cache_destroy(rw_router_cache_t **self);
/* The trunk table version the cache holds (ARGV[2] of the script). */
const char *rw_router_cache_trunk_ver(const rw_router_cache_t *self);
void rw_router_cache_stats(const rw_router_cache_t *self, rw_router_cache_stats_t *out);

/* Parse the script's reply. RW_ENOTFOUND for nil, RW_EPROTO for a malformed reply. Fills u
 * (settings point into the cache: valid until the next call; only the fields the plan builder
 * reads are set, devices up to n_devices) and pol's trunks when the reply carried them.
 * now_ms decides whether presence and calendar divert are in force. */
int rw_router_fetch_parse(rw_router_cache_t *self, const rw_numplan_t *np, const redisReply *rep,
                          uint64_t now_ms, rw_router_user_t *u, rw_router_policy_t *pol);

#endif
