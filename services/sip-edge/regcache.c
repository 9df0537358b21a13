/* services/sip-edge/regcache.c — the answers to recent REGISTERs (regcache.h): one array of
 * fixed-size slots, direct-mapped by the hash of the transaction identity. */
#include "services/sip-edge/regcache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    uint64_t key;                     /* 0: free */
    uint64_t expires_ms;
    const char *phrase;
    uint16_t status;                  /* 0: in progress */
    char headers[RW_REGCACHE_HEADERS];
} slot_t;

_Static_assert(sizeof(slot_t) == 496, "a slot is 496 bytes");

struct rw_regcache {
    slot_t slot[RW_REGCACHE_SLOTS];
};

rw_regcache_t *rw_regcache_new(void)
{
    return calloc(1, sizeof(rw_regcache_t));
}

void rw_regcache_destroy(rw_regcache_t **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;    /* ends every field: "ab","c" differs from "a","bc" */
}

uint64_t rw_regcache_key(const sip_t *sip)
{
    const sip_via_t *v = sip ? sip->sip_via : NULL;
    if (!v || !v->v_branch || strncasecmp(v->v_branch, "z9hG4bK", 7) != 0 || !sip->sip_call_id
        || !sip->sip_cseq)
        return 0;
    uint64_t h = 1469598103934665603ULL;
    h = fnv(h, v->v_branch);
    h = fnv(h, v->v_host);
    h = fnv(h, v->v_port);
    h = fnv(h, sip->sip_call_id->i_id);
    h = (h ^ sip->sip_cseq->cs_seq) * 1099511628211ULL;
    return h ? h : 1;
}

rw_regcache_state_t rw_regcache_begin(rw_regcache_t *self, uint64_t key, uint64_t now_ms,
                                      rw_regcache_answer_t *answer)
{
    slot_t *s = &self->slot[key % RW_REGCACHE_SLOTS];
    if (s->key == key && s->expires_ms > now_ms) {
        if (!s->status)
            return RW_REGCACHE_PENDING;
        answer->status = s->status;
        answer->phrase = s->phrase;
        answer->headers = s->headers;
        return RW_REGCACHE_ANSWERED;
    }
    s->key = key;
    s->status = 0;
    s->expires_ms = now_ms + RW_REGCACHE_HOLD_MS;
    return RW_REGCACHE_NEW;
}

void rw_regcache_answer(rw_regcache_t *self, uint64_t key, uint64_t now_ms, int status,
                        const char *phrase, const char *headers)
{
    slot_t *s = &self->slot[key % RW_REGCACHE_SLOTS];
    if (s->key != key)
        return;                       /* taken by a newer request meanwhile */
    size_t n = headers ? strlen(headers) : 0;
    if (n >= sizeof s->headers || status < 100 || status > 699) {
        s->key = 0;
        return;
    }
    memcpy(s->headers, headers ? headers : "", n + 1);
    s->phrase = phrase;
    s->status = (uint16_t) status;
    s->expires_ms = now_ms + RW_REGCACHE_HOLD_MS;
}

unsigned rw_regcache_used(const rw_regcache_t *self, uint64_t now_ms)
{
    unsigned n = 0;
    for (size_t i = 0; i < RW_REGCACHE_SLOTS; i++)
        n += self->slot[i].key && self->slot[i].expires_ms > now_ms;
    return n;
}
