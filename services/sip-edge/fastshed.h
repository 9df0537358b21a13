/* services/sip-edge/fastshed.h — refusing a new INVITE under overload from its raw datagram,
 * before Sofia parses it. While the edge is shedding, a refusal through Sofia costs the whole
 * parse, a message and a serialized 503, and the caller's ACK another parse: at twice the rate
 * the edge can carry that work alone takes the cores. This module reads only the request line
 * and the header lines a stateless 503 copies (RFC 3261 8.2.6.2: Via, From, To, Call-ID,
 * CSeq), and writes the 503 with Retry-After and a To tag of its own, which marks the ACK that
 * answers it. Anything it does not read with certainty (folded or bare-LF lines, a top Via
 * that is not UDP from the datagram's own source address and port, rport or maddr, a repeated
 * From/To/Call-ID/CSeq, a To that may hold a tag, a CSeq method other than INVITE, a top Via
 * without a branch, IPv6) is left to Sofia's full path. No I/O. */
#ifndef RW_SIPEDGE_FASTSHED_H
#define RW_SIPEDGE_FASTSHED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RW_FASTSHED_VIAS 8            /* Via header lines copied at most */
#define RW_FASTSHED_MAX 4096          /* the largest 503 written */
#define RW_FASTSHED_TAG "rwshed"      /* the To tag's prefix */

typedef enum {
    RW_FASTSHED_OTHER = 0,            /* for Sofia */
    RW_FASTSHED_NEW_INVITE,           /* an INVITE outside a dialog this module can answer */
    RW_FASTSHED_ACK_OURS              /* the ACK of a 503 this module wrote */
} rw_fastshed_kind_t;

typedef struct {                      /* spans of whole header lines in the datagram, CRLF excluded */
    size_t via_at[RW_FASTSHED_VIAS], via_len[RW_FASTSHED_VIAS];
    int n_via;
    size_t from_at, from_len, to_at, to_len, callid_at, callid_len, cseq_at, cseq_len;
    size_t branch_at, branch_len;     /* the top Via's branch value */
} rw_fastshed_t;

/* What the datagram is; for RW_FASTSHED_NEW_INVITE *fs holds what the 503 copies. from is the
 * datagram's source (the top Via must name it). */
rw_fastshed_kind_t rw_fastshed_parse(const char *buf, size_t len, const struct sockaddr *from,
                                     rw_fastshed_t *fs);
/* INVITEs taken (given a transaction) lately, by their top Via branch: the retransmission of
 * one must reach its transaction, never a 503 from the raw path. A fixed table of
 * RW_FASTSHED_SEEN slots (2 MiB) of 64-bit branch hashes with an expiry; a newer branch landing
 * on a slot takes it (so under a flood an old call's retransmission may be refused 503). */
#define RW_FASTSHED_SEEN 131072
typedef struct rw_fastshed_seen rw_fastshed_seen_t;
rw_fastshed_seen_t *rw_fastshed_seen_new(void);
void rw_fastshed_seen_destroy(rw_fastshed_seen_t **self);
void rw_fastshed_seen_add(rw_fastshed_seen_t *self, const char *branch, size_t n, uint64_t until_ms);
int rw_fastshed_seen_has(const rw_fastshed_seen_t *self, const char *branch, size_t n, uint64_t now_ms);

/* Writes the 503 for a request parse() called RW_FASTSHED_NEW_INVITE into out; its length, or
 * 0 when cap is too small. tag_id makes the To tag unique. */
size_t rw_fastshed_503(const rw_fastshed_t *fs, const char *buf, unsigned retry_after_s, uint32_t tag_id,
                       char *out, size_t cap);

#endif
