/* services/sip-edge/proxy.h — the proxy: everything but REGISTER and OPTIONS to the edge.
 * An initial INVITE gets 100 Trying, the Max-Forwards (483) and loop (482) checks, digest
 * authentication unless it comes from a trusted peer, a route request to `router` with a
 * deadline (else the fallback plan), then plan_exec carries it out (or answers 302 for a peer in
 * redirect mode when no target is private). Other out-of-dialog requests for a user go to the
 * user's registrations (forward.h); without a user part, 405 for the edge, else 404.
 * In-dialog requests follow their Route headers (our own Route removed); ACK for 2xx and stray
 * 2xx retransmissions pass statelessly. call.* events and sipedge counters. The proxy borrows
 * every part given to rw_proxy_new. */
#ifndef RW_SIPEDGE_PROXY_H
#define RW_SIPEDGE_PROXY_H

#include <stdint.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "bus/bus.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "services/sip-edge/auth.h"
#include "services/sip-edge/edge.h"
#include "services/sip-edge/fallback.h"
#include "services/sip-edge/hunt.h"
#include "services/sip-edge/location.h"
#include "services/sip-edge/peers.h"

typedef struct rw_proxy rw_proxy_t;

typedef struct {
    const char *realm;
    const char *voicemail_uri;    /* "" = none */
    unsigned deadline_ms;         /* router deadline, default 150 */
    const rw_peers_t *peers;
    rw_aredis_t *redis;           /* the directory for non-INVITE requests to users; may be NULL */
    rw_hunt_env_t *hunt;          /* hunt group legs (hunt.h); NULL: a group's plan goes to its final action */
} rw_proxy_opts_t;

rw_proxy_t *rw_proxy_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_location_t *loc,
                         rw_client_t *router, rw_fallback_store_t *fb, rw_pub_t *pub,
                         rw_metrics_t *metrics, const rw_proxy_opts_t *opts);
/* Calls in progress are answered 503 and ended. */
void rw_proxy_destroy(rw_proxy_t **self);
/* The leg callback's contract: a status for NTA to answer with, or 0 when irq was taken. */
int rw_proxy_request(rw_proxy_t *self, nta_incoming_t *irq, const sip_t *sip);
/* Load for the overload guard: INVITEs waiting for their routing decision, calls in progress
 * (those plus the calls whose branches run) and how long the oldest waiting one has waited. */
void rw_proxy_load(const rw_proxy_t *self, unsigned *routing, unsigned *calls, uint64_t *oldest_ms);
/* A message no transaction matched (2xx retransmissions): forwarded statelessly. Takes msg. */
int rw_proxy_stray(rw_proxy_t *self, msg_t *msg, sip_t *sip);
/* Before any transaction: an ACK or a BYE inside a dialog whose top Route is ours is forwarded
 * statelessly (RFC 3261 16.11; NTA's Via branch is a hash of the request, the same for its
 * retransmissions; the answers come back as strays) and 1 returned, msg consumed: no server or
 * client transaction is kept for it. A BYE publishes call.ended once (its retransmissions
 * within 4 s do not). 0: anything else, msg untouched. */
int rw_proxy_stateless(rw_proxy_t *self, msg_t *msg, sip_t *sip);

#endif
