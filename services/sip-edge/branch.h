/* services/sip-edge/branch.h — INVITE branches sip-edge keeps itself once NTA lets them go.
 * NTA holds every INVITE client transaction 32 s after its final response (timer D, ~28 KB);
 * plan_exec destroys a branch's client transaction at its first provisional (the INVITE has
 * arrived, its retransmissions are over) and adopts the branch here. From then on this module
 * does what RFC 3261 still asks of the branch: responses matched by the top Via branch (from
 * the agent's message callback) go to the owner; CANCEL (9.1) as its own client transaction;
 * the ACK for a non-2xx final response (17.1.1.3), sent again for each retransmission of that
 * response for 64*T1 (UDP only); timer C (16.8: 3 min without a response -> CANCEL); and a
 * final answer owed 64*T1 after a CANCEL ends the branch as 408. The set owns its branches;
 * after the owner's callback for a final response (or the 408) the branch is freed. */
#ifndef RW_SIPEDGE_BRANCH_H
#define RW_SIPEDGE_BRANCH_H

#include <stddef.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#define RW_BRANCH_TIMER_C_MS 180000u
#define RW_BRANCH_T1X64_MS 32000u

typedef struct rw_branches rw_branches_t;
typedef struct rw_branch rw_branch_t;

/* A response for an adopted branch: rsp (taken; our Via removed) or NULL with status 408 when
 * the final answer never came. For status >= 200 b is freed when this returns. */
typedef void rw_branch_fn(void *owner, rw_branch_t *b, msg_t *rsp, int status);

/* timer_c_ms / t1x64_ms: 0 = the RFC values above (tests pass shorter ones). NULL on error. */
rw_branches_t *rw_branches_new(su_root_t *root, nta_agent_t *nta, size_t capacity,
                               unsigned timer_c_ms, unsigned t1x64_ms);
/* Frees every branch without a callback and without CANCEL. */
void rw_branches_destroy(rw_branches_t **self);
/* Takes over orq's branch (an INVITE with a provisional response and no final one): copies
 * what it needs; on success the caller destroys orq (NTA frees it at once). next_hop: the
 * route URL the INVITE was sent with, or NULL. RW_ERANGE when the set is full (keep orq). */
int rw_branch_adopt(rw_branches_t *self, nta_outgoing_t *orq, const char *next_hop,
                    rw_branch_fn *fn, void *owner, rw_branch_t **out);
/* Sends CANCEL once; the final answer (487 or another) still comes to the owner. */
int rw_branch_cancel(rw_branch_t *b);
/* The same with extra header lines in the CANCEL ("Reason: ...\r\n", RFC 3326), or NULL. */
int rw_branch_cancel_with(rw_branch_t *b, const char *headers);
int rw_branch_cancelled(const rw_branch_t *b);
/* The route URL the INVITE was sent with ("" for none), as given to rw_branch_adopt. */
const char *rw_branch_hop(const rw_branch_t *b);
/* Frees a branch without a callback (shutdown). */
void rw_branch_drop(rw_branch_t **b);
/* A response no client transaction took. 1 when it was an adopted branch's (handed to its
 * owner) or a retransmitted non-2xx final answered with the ACK again: msg is taken. 0 when
 * it is none of those: msg stays the caller's. */
int rw_branches_response(rw_branches_t *self, msg_t *msg, sip_t *sip);
/* Adopted branches, and ACK records kept for retransmissions. */
size_t rw_branches_count(const rw_branches_t *self, size_t *acks);

#endif
