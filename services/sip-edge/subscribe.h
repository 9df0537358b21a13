/* services/sip-edge/subscribe.h — phones watching colleagues: SUBSCRIBE/NOTIFY for the
 * `presence` (PIDF, RFC 3863) and `dialog` (RFC 4235, busy-lamp fields) event packages.
 * A SUBSCRIBE for a user's extension is authenticated like a call (digest, 407), answered 200
 * with a dialog of its own, and followed by a NOTIFY of the user's effective presence
 * (rw:presence:<id>, docs/presence.md), then one NOTIFY per presence.changed event for that
 * user, until it expires or is ended (Expires: 0). Subscriptions live in this process only:
 * after a restart a refresh gets 481 and the phone subscribes again (RFC 6665 4.1.2.4).
 * Owns its subscriptions, their legs and timers, its event subscriber and watcher; borrows the
 * agent, edge, auth, Redis and metrics, which must outlive it. */
#ifndef RW_SIPEDGE_SUBSCRIBE_H
#define RW_SIPEDGE_SUBSCRIBE_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "common/metrics.h"
#include "common/redis.h"
#include "services/sip-edge/auth.h"
#include "services/sip-edge/edge.h"

typedef struct rw_subscribe rw_subscribe_t;

typedef struct {
    const char *realm;                  /* the entity's domain: sip:<ext>@<realm> */
    unsigned min_expires, max_expires, default_expires;   /* seconds */
    const char *presence_events;        /* registry name of the presence.changed publishers */
    unsigned max_subs;                  /* subscriptions held at once; beyond: 503 */
} rw_subscribe_opts_t;

rw_subscribe_t *rw_subscribe_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_aredis_t *redis,
                                 rw_metrics_t *metrics, const rw_subscribe_opts_t *opts);
/* Ends every subscription (NOTIFY terminated;reason=noresource is not sent: the process stops). */
void rw_subscribe_destroy(rw_subscribe_t **self);

/* 1 when sip is a SUBSCRIBE for the presence or dialog package (this module's). */
int rw_subscribe_wants(const sip_t *sip);
/* Takes a SUBSCRIBE outside a known dialog: 0 when it answered or will answer irq, else a
 * status for the caller to answer (481 for a refresh of a subscription it does not hold). */
int rw_subscribe_request(rw_subscribe_t *self, nta_incoming_t *irq, const sip_t *sip);
/* Subscriptions held now. */
size_t rw_subscribe_count(const rw_subscribe_t *self);

#endif
