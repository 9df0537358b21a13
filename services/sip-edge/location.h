/* services/sip-edge/location.h — the location store: SIP bindings per address of record.
 * Bindings live in Redis (hash rw:loc:<aor>, layout in docs/sip-edge.md "Location store"), so
 * they survive a restart and every sip-edge instance sees them; each change is one Lua script
 * (one round trip). An in-memory copy of recently registered or looked-up AORs answers lookups
 * when Redis is unreachable. Expired bindings are never returned. Callbacks never run inside
 * the call that started them. One loop thread; no locking. */
#ifndef RW_SIPEDGE_LOCATION_H
#define RW_SIPEDGE_LOCATION_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_wait.h>

#include "common/metrics.h"
#include "common/redis.h"

typedef struct {
    char aor[128];                /* "sip:2001@ringway.local" */
    char contact[512];            /* the Contact URI to send to */
    char path[512];               /* Path header value(s) to use as Route, "" if none */
    char received[128];           /* "sip:1.2.3.4:5060;transport=udp" the source the REGISTER came from (NAT), "" if same */
    char instance[160];           /* +sip.instance, "" if none */
    char user_agent[128];
    char device[64];              /* the user's device it registered as ("desk"), "" = none */
    float q;                      /* 0..1, default 1.0 */
    uint64_t expires_ms;          /* wall clock */
} rw_binding_t;

#define RW_LOCATION_MAX_BINDINGS 16

typedef struct rw_location rw_location_t;

/* redis and metrics may be NULL (memory only). */
rw_location_t *rw_location_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics);
/* Pending callbacks run with RW_ECLOSED before this returns. */
void rw_location_destroy(rw_location_t **self);

/* Live bindings of an AOR, highest q first. From Redis; when Redis does not answer in time, from the
 * in-memory copy of recently seen bindings (status RW_OK with from_cache=1). fn never runs inside the call.
 * An AOR without bindings is RW_OK with n = 0. */
typedef void rw_location_fn(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache);
int rw_location_lookup(rw_location_t *self, const char *aor, rw_location_fn *fn, void *arg);

/* Whether a binding rings for a target naming device ("" or NULL: every binding rings; else
 * only the bindings registered as that device). */
int rw_location_binding_rings(const rw_binding_t *b, const char *device);

/* ---- Used by the registrar ------------------------------------------------------------ */
/* The key a binding is stored under: its +sip.instance when it has one, else its contact. */
const char *rw_location_binding_key(const rw_binding_t *b);

/* The stored form of a binding (the Redis hash value, docs/sip-edge.md): returns its length,
 * RW_ERANGE when out is too small. Tabs and line breaks inside fields become spaces. */
int rw_location_encode(const rw_binding_t *b, char *out, size_t len);
/* Parses len bytes of a stored value into *b (aor copied in). 0 or RW_EPROTO. */
int rw_location_decode(const char *aor, const char *val, size_t len, rw_binding_t *b);

/* A binding that left the AOR during an update: removed (Expires 0, "*") or found expired. */
typedef struct {
    rw_binding_t b;
    int expired;                  /* 1: its time ran out; 0: removed by the REGISTER */
} rw_location_gone_t;

/* live: the AOR's bindings after the update (highest q first); gone: what left it.
 * status RW_OK, RW_ERANGE (more than max_bindings would be live: nothing was changed),
 * RW_ENOTFOUND (the device is not a sip device of the user: nothing was changed),
 * RW_EIO (Redis failed or unreachable: nothing was changed), RW_ECLOSED. */
typedef void rw_location_update_fn(void *arg, int status, const rw_binding_t *live, size_t n_live,
                                   const rw_location_gone_t *gone, size_t n_gone);
/* Atomically: when remove_all, drop every binding of aor; then for each change, a binding with
 * expires_ms == 0 removes the binding with the same key and any other replaces (or adds) it;
 * expired bindings are dropped. max_bindings 0 or above RW_LOCATION_MAX_BINDINGS means
 * RW_LOCATION_MAX_BINDINGS. n <= RW_LOCATION_MAX_BINDINGS. fn never runs inside the call. */
int rw_location_update(rw_location_t *self, const char *aor, int remove_all,
                       const rw_binding_t *changes, size_t n, size_t max_bindings,
                       rw_location_update_fn *fn, void *arg);
/* The same for a REGISTER made as one device of the user (device "desk", user_id "alice"):
 * in the same script, the device must be a sip device of the user that rings aor (its
 * directory entry "sip " with no address, or aor itself), else RW_ENOTFOUND; remove_all drops
 * only that device's bindings. The changes carry the device in their device field. device
 * NULL or "" is rw_location_update. */
int rw_location_update_device(rw_location_t *self, const char *aor, const char *user_id,
                              const char *device, int remove_all, const rw_binding_t *changes,
                              size_t n, size_t max_bindings, rw_location_update_fn *fn, void *arg);

/* Called (may be NULL) for bindings this instance finds expired in its periodic sweep
 * (once per binding across all instances: the removal in Redis is atomic). */
typedef void rw_location_expired_fn(void *arg, const rw_binding_t *b);
void rw_location_on_expired(rw_location_t *self, rw_location_expired_fn *fn, void *arg);

#endif
