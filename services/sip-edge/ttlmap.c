/* services/sip-edge/ttlmap.c — bounded expiring map: chained hash table, FNV-1a. Every entry
 * is also on one list of all entries, so walking the map costs its entries, not its buckets
 * (a map sized for 2^16 entries holding a few used to cost ~450,000 instructions a walk). */
#include "services/sip-edge/ttlmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    struct entry *all_prev, *all_next;   /* the list of all entries */
    uint64_t expires_ms;
    char *key;
    max_align_t value[];              /* value_size bytes, suitably aligned */
} entry_t;

struct rw_ttlmap {
    size_t value_size, capacity, count, n_buckets;
    uint64_t last_sweep_ms;
    entry_t **buckets;
    entry_t *all;
    void (*on_free)(void *value);
};

/* Frees e, already unlinked from its bucket, and takes it off the list of all entries. */
static void entry_free(rw_ttlmap_t *self, entry_t *e)
{
    if (e->all_prev)
        e->all_prev->all_next = e->all_next;
    else
        self->all = e->all_next;
    if (e->all_next)
        e->all_next->all_prev = e->all_prev;
    if (self->on_free)
        self->on_free(e->value);
    free(e);
}

void rw_ttlmap_on_free(rw_ttlmap_t *self, void (*fn)(void *value))
{
    if (self)
        self->on_free = fn;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return h;
}

rw_ttlmap_t *rw_ttlmap_new(size_t value_size, size_t capacity)
{
    if (!value_size || !capacity)
        return NULL;
    rw_ttlmap_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->value_size = value_size;
    m->capacity = capacity;
    m->n_buckets = 16;
    while (m->n_buckets < capacity)
        m->n_buckets <<= 1;
    m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void rw_ttlmap_clear(rw_ttlmap_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_buckets; i++) {
        entry_t *e = self->buckets[i];
        while (e) {
            entry_t *next = e->next;
            entry_free(self, e);
            e = next;
        }
        self->buckets[i] = NULL;
    }
    self->count = 0;
    self->all = NULL;
}

void rw_ttlmap_destroy(rw_ttlmap_t **self)
{
    if (!self || !*self)
        return;
    rw_ttlmap_clear(*self);
    free((*self)->buckets);
    free(*self);
    *self = NULL;
}

static entry_t **find(rw_ttlmap_t *self, const char *key)
{
    entry_t **pe = &self->buckets[fnv1a(key) & (self->n_buckets - 1)];
    while (*pe && strcmp((*pe)->key, key) != 0)
        pe = &(*pe)->next;
    return pe;
}

void *rw_ttlmap_get(rw_ttlmap_t *self, const char *key, uint64_t now_ms)
{
    if (!self || !key)
        return NULL;
    entry_t *e = *find(self, key);
    return e && e->expires_ms > now_ms ? e->value : NULL;
}

static void sweep(rw_ttlmap_t *self, uint64_t now_ms)
{
    self->last_sweep_ms = now_ms;
    for (size_t i = 0; i < self->n_buckets; i++) {
        entry_t **pe = &self->buckets[i];
        while (*pe) {
            entry_t *e = *pe;
            if (e->expires_ms <= now_ms) {
                *pe = e->next;
                entry_free(self, e);
                self->count--;
            } else {
                pe = &e->next;
            }
        }
    }
}

void *rw_ttlmap_put(rw_ttlmap_t *self, const char *key, uint64_t expires_ms, uint64_t now_ms)
{
    if (!self || !key)
        return NULL;
    entry_t **pe = find(self, key);
    entry_t *e = *pe;
    if (e) {
        if (e->expires_ms <= now_ms) {
            if (self->on_free)
                self->on_free(e->value);
            memset(e->value, 0, self->value_size);
        }
        e->expires_ms = expires_ms;
        return e->value;
    }
    if (self->count >= self->capacity) {
        if (now_ms < self->last_sweep_ms + 1000 && now_ms >= self->last_sweep_ms)
            return NULL;
        sweep(self, now_ms);
        if (self->count >= self->capacity)
            return NULL;
        pe = find(self, key);
    }
    size_t klen = strlen(key) + 1;
    e = calloc(1, sizeof *e + self->value_size + klen);
    if (!e)
        return NULL;
    e->key = (char *) e->value + self->value_size;
    memcpy(e->key, key, klen);
    e->expires_ms = expires_ms;
    *pe = e;
    e->all_next = self->all;
    if (self->all)
        self->all->all_prev = e;
    self->all = e;
    self->count++;
    return e->value;
}

void rw_ttlmap_del(rw_ttlmap_t *self, const char *key)
{
    if (!self || !key)
        return;
    entry_t **pe = find(self, key);
    if (*pe) {
        entry_t *e = *pe;
        *pe = e->next;
        entry_free(self, e);
        self->count--;
    }
}

size_t rw_ttlmap_count(const rw_ttlmap_t *self)
{
    return self ? self->count : 0;
}

void rw_ttlmap_foreach(rw_ttlmap_t *self, uint64_t now_ms,
                       void (*fn)(void *arg, const char *key, void *value, uint64_t expires_ms),
                       void *arg)
{
    if (!self || !fn)
        return;
    for (entry_t *e = self->all; e; e = e->all_next)
        if (e->expires_ms > now_ms)
            fn(arg, e->key, e->value, e->expires_ms);
}
