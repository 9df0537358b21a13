/* services/sip-edge/plan_exec_priv.h — what plan_exec.c (stages, lookups, diverts, the call's
 * life), plan_branch.c (the INVITE branches and their responses) and hunt.c (a hunt group
 * stage) share. Not a public API: only those three files include it. One rw_exec per call; its branches live inside it. */
#ifndef RW_SIPEDGE_PLAN_EXEC_PRIV_H
#define RW_SIPEDGE_PLAN_EXEC_PRIV_H

#include <stddef.h>

#include "common/str.h"
#include "services/sip-edge/branch.h"
#include "services/sip-edge/plan_exec.h"

typedef struct {
    rw_exec_t *ex;
    nta_outgoing_t *orq;          /* NTA's client transaction until the first provisional */
    rw_branch_t *own;             /* then the branch kept by branch.c (NULL: NTA keeps it) */
    const rw_target_t *t;
    unsigned gen;                 /* the stage generation it belongs to */
    unsigned trunk;               /* NUMBER: index of the trunk in use */
    int cancelled;
    int nat;                      /* sent to the binding's received address (NAT, TCP): its
                                   * responses' Contact names it (nat_contact, plan_branch.c) */
    char uri[256];
} branch_t;

typedef struct lookup {           /* one location lookup or colleague divert in flight */
    rw_exec_t *ex;                /* NULL once the call is gone: the answer is dropped */
    struct lookup *next;
    unsigned gen;
    const rw_target_t *t;
} lookup_t;

struct rw_exec {
    rw_exec_env_t *env;
    rw_exec_t *next, *prev;
    nta_incoming_t *irq;
    msg_t *req;
    rw_route_req_t rq;            /* the call's route request (colleague diverts reuse it) */
    rw_ev_call_t ev;
    lookup_t *pending;            /* lookups and route requests in flight */
    struct rw_hunt *hunt;         /* the hunt group leg (hunt.h), from its stage to the end */
    char div_reason[32];          /* set once the call was diverted to a colleague's plan */
    char rr[128];
    int redirect;
    unsigned stage;               /* index into plan.stages; n_stages = the final target */
    unsigned gen;                 /* bumped at every stage start */
    su_timer_t *timer;
    unsigned n_br;
    int lookups;                  /* location lookups in flight (each keeps the exec alive) */
    int cur_lookups;              /* those of the current stage */
    int replied, answered, cancelled, in_final, sent180, sent183, sent_trying;
    int best;                     /* best failure status seen */
    msg_t *best_msg;              /* its response (our Via removed), or NULL */
    uint64_t t0;
    char (*contacts)[512];        /* redirect mode only: RW_EXEC_MAX_BRANCHES of them */
    unsigned n_contacts;
    /* Not zeroed at creation (most of a call's bytes): a branch is set when it is sent, the
     * plan copied up to its counts (rw_proto_plan_copy). */
    branch_t br[RW_EXEC_MAX_BRANCHES];
    rw_plan_t plan;
};
#define RW_EXEC_ZEROED offsetof(rw_exec_t, br)

/* plan_exec.c */
void rw_exec_check(rw_exec_t *ex);          /* moves the call on; may free ex */
/* plan_branch.c */
int rw_exec_send_branch(rw_exec_t *ex, const rw_target_t *t, const char *uri, const char *path,
                        const char *next_hop, unsigned trunk);
int rw_exec_start_number(rw_exec_t *ex, const rw_target_t *t, unsigned from);
int rw_exec_live_branches(const rw_exec_t *ex);   /* of the current stage, lookups included */
int rw_exec_any_branch(const rw_exec_t *ex);
void rw_exec_cancel_all(rw_exec_t *ex, int except);
/* The same with extra header lines in every CANCEL (headers may be NULL). */
void rw_exec_cancel_with(rw_exec_t *ex, int except, const char *headers);
/* The CANCEL of the branches that lost to a 2xx (RFC 3326). */
#define RW_EXEC_REASON_ANSWERED "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
void rw_exec_drop_branches(rw_exec_t *ex);        /* frees them without CANCEL */
/* Redirect mode: one more Contact for the 302 (at most RW_EXEC_MAX_BRANCHES, the rest dropped). */
void rw_exec_add_contact(rw_exec_t *ex, const char *uri);
void rw_exec_relay(rw_exec_t *ex, msg_t *rsp);    /* takes rsp (our Via already removed) */

#endif
