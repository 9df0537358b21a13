/* services/sip-edge/registrar.h — the SIP registrar (RFC 3261 section 10).
 * Handles a REGISTER server transaction completely: digest authentication (auth.h), the
 * To-user must be the authenticated extension (the user as a whole) or "<ext>-<device id>" (one
 * of the user's SIP devices: its bindings are tagged with the device; an unknown one gets the
 * wrong password's 403), Expires checks (423 + Min-Expires), adding,
 * refreshing and removing bindings (location.h; Expires 0 and "*"), a 200 listing every live
 * Contact with its expires, and reg.bound / reg.unbound / reg.expired events on pub. */
#ifndef RW_SIPEDGE_REGISTRAR_H
#define RW_SIPEDGE_REGISTRAR_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "bus/bus.h"
#include "common/metrics.h"
#include "services/sip-edge/auth.h"
#include "services/sip-edge/location.h"

typedef struct {
    const char *realm;            /* "ringway.local": AORs are sip:<ext>@<realm> */
    unsigned min_expires;         /* default 60: less (but not 0) -> 423 */
    unsigned max_expires;         /* default 3600: more is cut down */
    unsigned default_expires;     /* default 3600: when the REGISTER gives none */
    unsigned max_bindings;        /* per AOR, default and ceiling RW_LOCATION_MAX_BINDINGS */
} rw_registrar_opts_t;

typedef struct rw_registrar rw_registrar_t;

/* pub and metrics may be NULL. auth and loc stay owned by the caller and must outlive it; nta
 * (answers of rw_registrar_take) must outlive the requests in progress. */
rw_registrar_t *rw_registrar_new(nta_agent_t *nta, rw_auth_t *auth, rw_location_t *loc,
                                 rw_pub_t *pub, rw_metrics_t *metrics,
                                 const rw_registrar_opts_t *opts);
/* Returns 0 when it took irq (it answers and destroys it), or a status for the caller to
 * answer (500 when it could not start). */
int rw_registrar_handle(rw_registrar_t *self, nta_incoming_t *irq, const sip_t *sip);
/* A valid REGISTER handled with no NTA transaction kept (1, msg consumed): without credentials
 * it is challenged; with them it is answered with nta_msg_treply and the answer is kept in a
 * fixed-size cache (regcache.h) that answers its retransmissions (one still in progress is
 * dropped). 0: msg untouched (no Via branch etc. to match retransmissions on), handle it with
 * rw_registrar_handle. */
int rw_registrar_take(rw_registrar_t *self, msg_t *msg, const sip_t *sip);
/* REGISTER transactions taken and not yet answered (the overload guard reads it). */
unsigned rw_registrar_in_flight(const rw_registrar_t *self);
/* Requests still in progress are answered 503 and destroyed when auth or the location store
 * hands them back: destroy those (rw_auth_destroy, rw_location_destroy) right after this. */
void rw_registrar_destroy(rw_registrar_t **self);

#endif
