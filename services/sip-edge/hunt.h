/* services/sip-edge/hunt.h — the hunt-group leg of a call: a plan stage whose target is a
 * RW_TARGET_HUNTGROUP. The caller hears 180 Ringing (or 182 Queued) while sip-edge asks
 * huntgroup `next` over the bus (the client retries on another instance), rings the offered
 * agents' devices, reports each offer's outcome and asks again; overflow and errors end the
 * stage with the plan's final action rewritten accordingly (docs/sip-edge.md "Hunt groups").
 * A rw_hunt belongs to one exec (plan_exec_priv.h) and outlives it only while a bus request or
 * a lookup of its own is in flight. The env is the proxy's; it borrows the client and Redis. */
#ifndef RW_SIPEDGE_HUNT_H
#define RW_SIPEDGE_HUNT_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "bus/bus.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "protocols/route.h"

typedef struct rw_hunt rw_hunt_t;
typedef struct rw_hunt_env rw_hunt_env_t;
struct rw_exec;

typedef struct {
    rw_client_t *client;          /* huntgroup instances; NULL: hunt groups get the final action */
    rw_aredis_t *redis;           /* agents' extensions, answered queue calls at BYE */
    unsigned deadline_ms;         /* per `next` / `outcome` request (the bus retries at half) */
    unsigned queued_status;       /* 180 or 182: what the caller hears while queued */
} rw_hunt_opts_t;

rw_hunt_env_t *rw_hunt_env_new(const rw_hunt_opts_t *opts, rw_metrics_t *metrics);
/* The huntgroup client (NULL: none) and the deadline of its requests. */
rw_client_t *rw_hunt_env_client(const rw_hunt_env_t *env, unsigned *deadline_ms);
void rw_hunt_env_destroy(rw_hunt_env_t **self);

/* Starts the leg for target t (a group) of ex's current stage: 0, or RW_EINVAL (no client,
 * redirect mode) and then nothing started. While it runs the stage has no ring timer. */
int rw_hunt_start(struct rw_exec *ex, const rw_target_t *t);
/* Called by rw_exec_check after every change of the call: notices an offer that every agent
 * refused or an answer, and the caller's CANCEL (caller_gone). May end the leg. */
void rw_hunt_check(struct rw_exec *ex);
/* 1 while the leg carries ex's current stage. */
int rw_hunt_active(const struct rw_exec *ex);
/* The call is being freed (or aborted): the leg lets go of it. */
void rw_hunt_detach(struct rw_exec *ex);
/* Feature codes dialled from an authenticated phone (hunt_feature.c): *71 log in (every group the user is a
 * member of), *72 log out, *73 pause (reason "phone"), *74 resume. fn gets the final status
 * to answer the INVITE with and its reason phrase (480 "Agent available" and the like on
 * success, 403 with huntgroup's reason when refused, 503 when no instance answered); it runs
 * once, from the loop. RW_ENOTFOUND: code is no feature code (route the call as usual);
 * RW_EINVAL: no huntgroup client (fn never runs). */
typedef void rw_hunt_feature_fn(void *arg, int status, const char *phrase);
int rw_hunt_feature(rw_hunt_env_t *env, const char *user, const char *code, rw_hunt_feature_fn *fn,
                    void *arg);

/* A BYE of a dialog with this Call-ID passed through, its Route marked ";hg" (the leg's
 * Record-Route): when it was a queue call answered by an agent (the huntgroup's call record
 * says so), `ended` is reported with its talk time. Either side's Call-ID will do. */
void rw_hunt_bye(rw_hunt_env_t *env, const char *call_id);

/* Each offer of a queue call is its own dialog for the agents' phones: offer n of call C
 * carries the Call-ID "hg<n>-C" and our Record-Route ";hg=<n>" (hunt_dialog.c says why).
 * rw_hunt_dialog: a message forwarded without a transaction of ours (an in-dialog request,
 * its top Route ours and not yet removed; a response no transaction took, such as a 2xx
 * retransmission, by its Record-Route) gets the other side's Call-ID in place. 1 when it
 * belongs to a queue call's dialog (";hg"), else 0 and msg is untouched.
 * rw_hunt_in_dialog: the same for a request an incoming transaction holds: *msg / *sip may be
 * replaced by a copy with the other side's Call-ID (the reference to the original released;
 * the transaction keeps the request as received).
 * rw_hunt_offer_dialog: 1 for a message of an offer's dialog; a request of one other than ACK
 * takes the transaction path (rw_hunt_in_dialog): the answer it gets has the other side's
 * Call-ID, and only the transaction knows the sender's.
 * rw_hunt_relay_call_id: a response about to be relayed to irq carries irq's Call-ID.
 * rw_hunt_caller_call_id: the caller's Call-ID of either side's (call_id itself when it is
 * no offer's). */
#define RW_HUNT_RR_PARAM "hg"     /* our Record-Route's mark on a queue call's dialogs */
/* The Call-ID of offer n of call_id: 0, or RW_ERANGE when out is too short. */
int rw_hunt_offer_call_id(const char *call_id, unsigned offer, char *out, size_t len);
int rw_hunt_dialog(msg_t *msg, sip_t *sip);
int rw_hunt_offer_dialog(const sip_t *sip);
int rw_hunt_in_dialog(msg_t **msg, sip_t **sip);
void rw_hunt_relay_call_id(nta_incoming_t *irq, msg_t *rsp);
const char *rw_hunt_caller_call_id(const char *call_id);

#endif
