/* services/sip-edge/ttlmap.h — a bounded string-keyed map whose entries expire.
 * The in-memory caches of sip-edge (HA1s, nonce counts, failures per source, bindings) use it.
 * Each entry holds a fixed-size value, zeroed when created. When the map is full, expired
 * entries are swept (at most once per second); if none were, a put fails (returns NULL):
 * the caches are advisory, so a full map only loses freshness, never memory. No locking. */
#ifndef RW_SIPEDGE_TTLMAP_H
#define RW_SIPEDGE_TTLMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rw_ttlmap rw_ttlmap_t;

/* NULL on a bad argument (value_size or capacity 0) or out of memory. */
rw_ttlmap_t *rw_ttlmap_new(size_t value_size, size_t capacity);
void rw_ttlmap_destroy(rw_ttlmap_t **self);
/* fn (may be NULL) runs on a value just before its entry is freed (values owning memory). */
void rw_ttlmap_on_free(rw_ttlmap_t *self, void (*fn)(void *value));
/* The value of a live entry, or NULL when absent or expired (expires_ms <= now_ms). */
void *rw_ttlmap_get(rw_ttlmap_t *self, const char *key, uint64_t now_ms);
/* The value slot for key with its expiry set to expires_ms: the existing value when the entry
 * is live, else a zeroed one. NULL when the map is full or out of memory. */
void *rw_ttlmap_put(rw_ttlmap_t *self, const char *key, uint64_t expires_ms, uint64_t now_ms);
void rw_ttlmap_del(rw_ttlmap_t *self, const char *key);
void rw_ttlmap_clear(rw_ttlmap_t *self);
size_t rw_ttlmap_count(const rw_ttlmap_t *self);
/* Calls fn for every live entry; fn must not change the map. */
void rw_ttlmap_foreach(rw_ttlmap_t *self, uint64_t now_ms,
                       void (*fn)(void *arg, const char *key, void *value, uint64_t expires_ms),
                       void *arg);

#endif
