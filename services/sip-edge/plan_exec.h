/* services/sip-edge/plan_exec.h — carries out a route plan for one INVITE as a stateful
 * forking proxy: stages in order, the targets of a stage forked in parallel (DEVICES expanded
 * through the location store, NUMBER through trunks in order, VOICEMAIL to voicemail.uri), the
 * stage ends at its ring time or when every branch failed; the first 2xx wins and the other
 * branches are cancelled; a 6xx ends the call; 180/183 are relayed once each; then the final
 * action. Or, in redirect mode, a 302 with the first stage's contacts. One rw_exec per call owns
 * the server transaction, a copy of the request, its branches and its timer; it frees itself
 * when the caller has its final answer and every branch is final. A branch is NTA's client
 * transaction until its first provisional, then env->branches' (CANCEL, non-2xx ACK, timer C:
 * branch.h), so NTA keeps no finished INVITE for timer D. The env is the proxy's. */
#ifndef RW_SIPEDGE_PLAN_EXEC_H
#define RW_SIPEDGE_PLAN_EXEC_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "bus/bus.h"
#include "common/metrics.h"
#include "protocols/events.h"
#include "protocols/route.h"
#include "services/sip-edge/fallback.h"
#include "services/sip-edge/location.h"
#include "services/sip-edge/peers.h"

#define RW_EXEC_MAX_BRANCHES 32

typedef struct rw_exec rw_exec_t;

typedef struct {
    su_root_t *root;
    nta_agent_t *nta;
    rw_location_t *loc;
    const rw_peers_t *peers;
    rw_pub_t *pub;                /* may be NULL */
    const char *realm;
    const char *voicemail_uri;    /* "" = none */
    rw_client_t *router;          /* colleague diverts are routed again; NULL = skipped */
    unsigned deadline_ms;
    rw_fallback_store_t *fb;      /* colleague plans when router does not answer; may be NULL */
    /* (a HUNTGROUP target: hunt.h queues the caller; the stage has no ring timer) */
    rw_counter_t *answered, *failed, *cancelled, *redirected, *fb_plan, *fb_devices, *fb_evaluated;
    rw_counter_t *adopted;        /* branches taken over from NTA at their first provisional */
    struct rw_branches *branches; /* ringing branches kept after NTA's (branch.h); NULL = NTA keeps them */
    struct rw_edge *edge;         /* names this process in Via branches (rw_edge_branch); may be NULL */
    struct rw_hunt_env *hunt;     /* hunt group legs (hunt.h); NULL = hunt groups get the final action */
    rw_exec_t *live;              /* calls in progress (owned by their exec) */
    unsigned n_live;              /* how many */
    struct rw_calls_live *calls_live; /* call events noted for presence (calls_live.h); may be NULL */
} rw_exec_env_t;

/* Takes irq (no 100 Trying sent yet: the exec sends it once the first branch has left, so the
 * caller retransmits until the INVITE is on its way) and req (the request as received, our Route removed,
 * Max-Forwards decremented, credentials removed). rq: the route request the plan answers.
 * ev: the call event template (call id, from, to, user, fallback). record_route: our
 * Record-Route value. 0, or an error after which irq and req still belong to the caller.
 * A NUMBER target holding an extension (no leading '+') is a colleague (divert.h): its plan,
 * from router or else its fallback plan, replaces the rest of this one; its branches carry a
 * Diversion header. */
int rw_exec_start(rw_exec_env_t *env, nta_incoming_t *irq, msg_t *req, const rw_plan_t *plan,
                  const rw_route_req_t *rq, const rw_ev_call_t *ev, const char *record_route,
                  int redirect);
/* Ends every call at once (shutdown): branches and server transactions destroyed. */
void rw_exec_abort_all(rw_exec_env_t *env);
/* Publishes a call.* event (type "call.offered"...) from a template; cause/reason optional. */
void rw_exec_publish(rw_exec_env_t *env, const char *type, const rw_ev_call_t *ev, int cause,
                     const char *reason);
/* Remove our identity headers that could reveal a private target from a response. */
void rw_exec_strip_identity(msg_t *msg, sip_t *sip);
/* Remove the caller's credentials (every Proxy-Authorization) from a request the edge has
 * authenticated: they go no further than the edge. */
void rw_exec_strip_credentials(msg_t *msg, sip_t *sip);
/* A request from a device behind NAT (over UDP, its packets' source is not its top Via's
 * sent-by; over TCP, always): its Contact names an address nobody outside reaches, so requests
 * to it inside the dialog (a callee's BYE, a re-INVITE, a subscription's NOTIFYs) would be
 * lost. The Contact is rewritten in req to name the source (with transport=tcp over TCP), as
 * its registration's received address does for requests to its AOR. Used for the INVITE of a
 * device (trusted peers are servers and keep theirs) and SUBSCRIBEs the edge answers. */
void rw_exec_nat_contact(msg_t *req);
/* The answer to a request sent inside a dialog to target (its Request-URI): when it came from
 * target's very address (a phone behind NAT, reached at the address its Contact was rewritten
 * to) yet its Contact names another (its private one, again), the Contact is rewritten to that
 * source too, so a re-INVITE's 2xx does not move the dialog's target behind the NAT. */
void rw_exec_nat_answer(msg_t *rsp, const url_t *target);
/* sip's Reason headers (RFC 3326) as header lines ("Reason: ...\r\n" each) in out, to copy
 * into the CANCELs a caller's CANCEL causes; "" for none. Returns the length. */
size_t rw_exec_reason_lines(const sip_t *sip, char *out, size_t len);
/* Relays a response (takes rsp, our Via already removed; may be NULL) on irq without the
 * identity headers above: every response the proxy relays goes through here. A response with
 * no Via left (one NTA made itself, a 408) cannot be relayed: irq is answered status instead. */
void rw_exec_relay_response(nta_incoming_t *irq, msg_t *rsp, int status);
/* A copy of req (as prepared for forwarding) sent to uri: the Request-URI replaced (same
 * method), path (a binding's Path, "" or NULL: none) put in front as Route. NULL: no memory. */
msg_t *rw_exec_retarget(msg_t *req, const char *uri, const char *path);
/* 1 when a call with this Call-ID, From tag and CSeq is in progress (loop detection). */
int rw_exec_find(const rw_exec_env_t *env, const sip_t *sip);
/* 1 when a and b (either may be NULL: 0) have the same Call-ID, CSeq number and From tag (an
 * absent tag matching an absent one): the same request, for loop detection. */
int rw_exec_same_request(const sip_t *a, const sip_t *b);

#endif
