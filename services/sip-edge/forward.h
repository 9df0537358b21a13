/* services/sip-edge/forward.h — out-of-dialog requests other than INVITE for a Ringway user
 * (OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH, methods the edge does not know):
 * forwarded statefully to every live registration of the user the Request-URI names (number,
 * extension or user id, as for an INVITE's callee), the best final response relayed (RFC 3261
 * 16.7), no provisional and no 408 (RFC 4320). Callers from devices authenticate as for an
 * INVITE (407); trusted peers do not. Unknown user 404, no live registration 480. No
 * Record-Route: these requests make no dialog of ours.
 * The module borrows every part given to rw_forward_new and owns the requests in progress. */
#ifndef RW_SIPEDGE_FORWARD_H
#define RW_SIPEDGE_FORWARD_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "common/metrics.h"
#include "common/redis.h"
#include "services/sip-edge/auth.h"
#include "services/sip-edge/edge.h"
#include "services/sip-edge/location.h"
#include "services/sip-edge/peers.h"

#define RW_FORWARD_MAX 4096       /* requests in progress; more are answered 503 */
/* A request no leg answered (only timeouts or 408s) gets no final response (RFC 4320); it is
 * held, unanswered, until this long after it came: RFC 3261's 64*T1 (T1 500 ms), the caller's
 * timer F, so the caller has stopped retransmitting before NTA ends the transaction. */
#define RW_FORWARD_HOLD_MS 32000

typedef struct rw_forward rw_forward_t;

/* redis and metrics may be NULL (users are then looked up as extensions). NULL on no memory. */
rw_forward_t *rw_forward_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_location_t *loc,
                             rw_aredis_t *redis, const rw_peers_t *peers, const char *realm,
                             rw_metrics_t *metrics);
/* Requests in progress (held ones too) are answered 503 and ended. */
void rw_forward_destroy(rw_forward_t **self);
/* A valid out-of-dialog request (no To tag) other than INVITE, ACK and CANCEL, whose
 * Request-URI has a user part, Max-Forwards above 0. The leg callback's contract: a status for
 * the caller to answer with, or 0 when irq was taken. */
int rw_forward_request(rw_forward_t *self, nta_incoming_t *irq, const sip_t *sip);
/* 1 when a request with this Call-ID, From tag and CSeq is in progress (loop detection). */
int rw_forward_find(const rw_forward_t *self, const sip_t *sip);

#endif
