/* services/sip-edge/regcache.h — the answers to recent REGISTERs that were handled without a
 * server transaction, so a retransmitted REGISTER gets its answer again instead of being
 * processed twice (its nonce count would then be refused as a replay). A fixed table of
 * RW_REGCACHE_SLOTS slots allocated once: the memory is bounded whatever the rate. A request's
 * slot is chosen by a hash of its transaction identity (RFC 3261 17.2.3: top Via branch and
 * sent-by, Call-ID, CSeq); a newer request landing on the same slot takes it. An answer is kept
 * until its slot is taken or RW_REGCACHE_HOLD_MS (64*T1, timer J) has passed. No I/O. */
#ifndef RW_SIPEDGE_REGCACHE_H
#define RW_SIPEDGE_REGCACHE_H

#include <stdint.h>

#include <sofia-sip/sip.h>

#define RW_REGCACHE_SLOTS 16384       /* 16384 slots of 496 bytes: 7.75 MiB */
#define RW_REGCACHE_HEADERS 464       /* header text kept per answer; a longer one is not kept */
#define RW_REGCACHE_HOLD_MS 32000

typedef struct rw_regcache rw_regcache_t;

typedef enum {
    RW_REGCACHE_NEW = 0,              /* first seen: the slot is now the request's, in progress */
    RW_REGCACHE_PENDING,              /* a retransmission of a request still in progress */
    RW_REGCACHE_ANSWERED              /* a retransmission of an answered request */
} rw_regcache_state_t;

/* The answer kept for a request. phrase is static; headers are "Name: value\r\n" lines. */
typedef struct {
    int status;
    const char *phrase;
    const char *headers;
} rw_regcache_answer_t;

rw_regcache_t *rw_regcache_new(void);
void rw_regcache_destroy(rw_regcache_t **self);
/* The request's transaction identity hashed (never 0), or 0 when it has none to match on (no
 * Via, Call-ID or CSeq, or a branch without the RFC 3261 magic cookie). */
uint64_t rw_regcache_key(const sip_t *sip);
/* What is known of key at now_ms; for ANSWERED, *answer is filled (valid until the next call). */
rw_regcache_state_t rw_regcache_begin(rw_regcache_t *self, uint64_t key, uint64_t now_ms,
                                      rw_regcache_answer_t *answer);
/* Keeps the answer of key, if key still holds its slot and the headers fit; otherwise the slot
 * is freed and a retransmission is processed as new. */
void rw_regcache_answer(rw_regcache_t *self, uint64_t key, uint64_t now_ms, int status,
                        const char *phrase, const char *headers);
/* Slots holding a request in progress or an answer (tests, metrics). */
unsigned rw_regcache_used(const rw_regcache_t *self, uint64_t now_ms);

#endif
