/* services/sip-edge/proxy.c — initial INVITEs to plans, in-dialog routing, strays (proxy.h). */
#include "services/sip-edge/proxy.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "protocols/route.h"
#include "services/sip-edge/branch.h"
#include "services/sip-edge/calls_live.h"
#include "services/sip-edge/forward.h"
#include "services/sip-edge/plan_exec.h"
#include "services/sip-edge/ttlmap.h"

#define BRANCHES_MAX (1u << 18)   /* ringing branches plus ACKs kept for retransmissions */
#define BYES_SEEN_MAX (1u << 16)  /* BYEs remembered so a retransmission publishes nothing */
#define BYE_SEEN_MS 4000          /* how long: a caller retransmits at 0.5, 1.5, 3.5 s (T1 doubling) */

typedef struct pending {
    rw_proxy_t *px;               /* NULL once the proxy is gone */
    struct pending *next, *prev;
    nta_incoming_t *irq;
    msg_t *req;
    const rw_peer_t *peer;
    int refs;                     /* callbacks still to come */
    int cancelled, done;
    uint64_t t0;                  /* when the INVITE arrived (monotonic ms) */
    rw_route_req_t rq;
    rw_ev_call_t ev;
} pending_t;

typedef struct fwd {              /* one in-dialog request forwarded statefully */
    rw_proxy_t *px;
    struct fwd *next, *prev;
    nta_incoming_t *irq;
    nta_outgoing_t *orq;
} fwd_t;

struct rw_proxy {
    su_root_t *root;
    rw_edge_t *edge;
    nta_agent_t *nta;
    rw_auth_t *auth;
    rw_client_t *router;
    rw_fallback_store_t *fb;
    rw_exec_env_t env;
    unsigned deadline_ms;
    char realm[128], vm[256];
    pending_t *pending, *pending_tail;   /* newest first: the tail waited longest */
    unsigned n_pending;
    fwd_t *fwds;
    rw_ttlmap_t *byes_seen;       /* Call-ID + CSeq of the BYEs forwarded statelessly lately */
    rw_forward_t *ood;            /* out-of-dialog requests other than INVITE (forward.h) */
    rw_counter_t *offered, *loops, *too_many_hops;
};

#define LINK(head, x) do { (x)->next = (head); if (head) (head)->prev = (x); (head) = (x); } while (0)
#define UNLINK(head, x) do { if ((x)->prev) (x)->prev->next = (x)->next; else (head) = (x)->next; \
                             if ((x)->next) (x)->next->prev = (x)->prev; } while (0)

static int family_of(msg_t *msg)
{
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    return ai && ai->ai_addr ? ai->ai_addr->sa_family : AF_INET;
}

/* ---- In-dialog requests and strays ------------------------------------------------------ */
static void fwd_end(fwd_t *f)
{
    if (f->px)
        UNLINK(f->px->fwds, f);
    if (f->orq)
        nta_outgoing_destroy(f->orq);
    if (f->irq)
        nta_incoming_destroy(f->irq);
    free(f);
}

/* Responses to an in-dialog request: provisionals (not 100) and the final one relayed like
 * every relayed response (rw_exec_relay_response: identity headers removed); a 503 (from the
 * next hop, or NTA's own when it cannot be reached) is answered 500. */
static int on_fwd(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    fwd_t *f = (fwd_t *) magic;
    int st = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (st == 100 || (st < 200 && nta_incoming_method(f->irq) != sip_method_invite))
        return 0;    /* RFC 4320: no provisional answers a non-INVITE (a BYE, an INFO) */
    if (st == 503) { /* RFC 3261 16.7 step 6: it speaks of the next hop, not of us */
        nta_incoming_treply(f->irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        fwd_end(f);
        return 0;
    }
    msg_t *rsp = nta_outgoing_getresponse(orq);
    sip_t *rs = sip_object(rsp);
    if (rs && rs->sip_via)
        sip_header_remove(rsp, rs, (sip_header_t *) rs->sip_via);
    if (st < 300)
        rw_exec_nat_answer(rsp, nta_outgoing_request_uri(orq));
    rw_exec_relay_response(f->irq, rsp, st);
    if (st >= 200)
        fwd_end(f);
    return 0;
}

/* The caller cancels its re-INVITE: so is the callee's (RFC 3261 16.10), with the caller's
 * Reason; the callee's answer (487, or a 2xx that crossed) is relayed by on_fwd. NTA has
 * answered the CANCEL itself. */
static int on_fwd_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    fwd_t *f = (fwd_t *) magic;
    char reason[512];
    (void) irq;
    rw_exec_reason_lines(sip, reason, sizeof reason);
    if (f->orq)
        nta_outgoing_tcancel(f->orq, NULL, NULL, TAG_IF(reason[0], SIPTAG_HEADER_STR(reason)), TAG_END());
    return 0;
}

/* queue: the dialog's Route (ours) was marked ";hg" by a hunt group leg (hunt.h). */
static void publish_bye(rw_proxy_t *px, const sip_t *sip, int queue)
{
    rw_ev_call_t ev;
    memset(&ev, 0, sizeof ev);
    rw_str_copy(ev.call_id, sizeof ev.call_id, queue ? rw_hunt_caller_call_id(sip->sip_call_id->i_id)
                                                        : sip->sip_call_id->i_id);
    if (sip->sip_from->a_url->url_user)
        rw_str_copy(ev.from, sizeof ev.from, sip->sip_from->a_url->url_user);
    if (sip->sip_to->a_url->url_user)
        rw_str_copy(ev.to, sizeof ev.to, sip->sip_to->a_url->url_user);
    rw_exec_publish(&px->env, "call.ended", &ev, 0, "bye");
    if (queue)
        rw_hunt_bye(px->env.hunt, ev.call_id);   /* a queue call's agent goes to wrap-up */
}

static int in_dialog(rw_proxy_t *px, nta_incoming_t *irq, const sip_t *sip)
{
    msg_t *msg = nta_incoming_getrequest(irq);
    sip_t *s = sip_object(msg);
    if (!s)
        return 500;
    /* read before our Route is removed from the message (sip is the same message); a queue
     * call's dialog gets the other side's Call-ID (hunt.h) */
    int queue = rw_hunt_in_dialog(&msg, &s);
    su_addrinfo_t *ai = msg_addrinfo(msg);
    if (ai && ai->ai_addr && !rw_peers_match(px->env.peers, ai->ai_addr))
        rw_exec_nat_contact(msg);  /* a target refresh from a phone behind NAT (plan_exec.h) */
    int rc = rw_sipcheck_prepare_forward(rw_edge_self(px->edge), msg, s);
    if (rc != 0) {
        msg_destroy(msg);
        return rc == RW_ERANGE ? 483 : 500;
    }
    if (sip->sip_request->rq_method == sip_method_ack) {
        nta_msg_tsend(px->nta, msg, NULL, TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    fwd_t *f = calloc(1, sizeof *f);
    if (!f) {
        msg_destroy(msg);
        return 500;
    }
    f->px = px;
    f->irq = irq;
    char key[64];
    const char *branch = rw_edge_branch(px->edge, key, sizeof key);
    f->orq = nta_outgoing_mcreate(px->nta, on_fwd, (nta_outgoing_magic_t *) f, NULL, msg,
                                  TAG_IF(branch, NTATAG_BRANCH_KEY(branch)), TAG_END());
    if (!f->orq) {
        free(f);
        return 500;
    }
    if (sip->sip_request->rq_method == sip_method_invite) {   /* sent on: the caller may stop */
        nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
        nta_incoming_bind(irq, on_fwd_cancel, (nta_incoming_magic_t *) f);
    }
    LINK(px->fwds, f);
    if (sip->sip_request->rq_method == sip_method_bye)
        publish_bye(px, sip, queue);
    return 0;
}

/* 1 the first time this BYE (Call-ID and CSeq) is seen lately, 0 for its retransmissions. */
static int bye_first(rw_proxy_t *px, const sip_t *sip)
{
    char key[300], digits[12];
    unsigned seq = sip->sip_cseq ? sip->sip_cseq->cs_seq : 0;
    size_t d = sizeof digits;
    do                            /* "%u %s" without snprintf's ~1,000 instructions */
        digits[--d] = (char) ('0' + seq % 10);
    while ((seq /= 10) && d > 0);
    size_t n = sizeof digits - d, id = strlen(sip->sip_call_id->i_id);
    if (n + 1 + id >= sizeof key)
        return 1;
    memcpy(key, digits + d, n);
    key[n] = ' ';
    memcpy(key + n + 1, sip->sip_call_id->i_id, id + 1);
    uint64_t now = rw_clock_mono_ms();
    if (rw_ttlmap_get(px->byes_seen, key, now))
        return 0;
    rw_ttlmap_put(px->byes_seen, key, now + BYE_SEEN_MS, now);   /* full: a retransmission may publish again */
    return 1;
}

int rw_proxy_stateless(rw_proxy_t *px, msg_t *msg, sip_t *sip)
{
    sip_method_t m = sip->sip_request->rq_method;
    if ((m != sip_method_ack && m != sip_method_bye) || !sip->sip_route
        || !rw_edge_is_self(px->edge, sip->sip_route->r_url))
        return 0;
    if (m == sip_method_bye && !sip->sip_to->a_tag && !sip->sip_route->r_next)
        return 0;
    if (m == sip_method_bye && rw_hunt_offer_dialog(sip))
        return 0;                 /* its answer must get the sender's Call-ID back (hunt.h) */
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
        return 0;                 /* 483 (BYE) or dropped (ACK) by the transaction path */
    /* read before our Route is removed; a queue call's dialog gets the other side's Call-ID */
    int queue = rw_hunt_dialog(msg, sip);
    if (rw_sipcheck_prepare_forward(rw_edge_self(px->edge), msg, sip) != 0) {
        msg_destroy(msg);
        return 1;
    }
    if (m == sip_method_bye && bye_first(px, sip))
        publish_bye(px, sip, queue);
    nta_msg_tsend(px->nta, msg, NULL, TAG_END());
    return 1;
}

int rw_proxy_stray(rw_proxy_t *px, msg_t *msg, sip_t *sip)
{
    /* An adopted branch's response (branch.h), or a retransmitted non-2xx it ACKs again. */
    if (rw_branches_response(px->env.branches, msg, sip))
        return 0;
    /* Other responses (2xx retransmissions, answers to the BYEs forwarded statelessly):
     * nta_msg_tsend pops our Via itself. No provisional answers a non-INVITE (RFC 4320). */
    if (sip && sip->sip_status && sip->sip_via && sip->sip_via->v_next
        && (sip->sip_status->st_status >= 200 || (sip->sip_cseq && sip->sip_cseq->cs_method == sip_method_invite))) {
        rw_hunt_dialog(msg, sip);    /* a queue call's: the other side's Call-ID */
        rw_exec_strip_identity(msg, sip);
        struct tport_s *tp = rw_edge_response_tport(px->edge, sip->sip_via->v_next);
        nta_msg_tsend(px->nta, msg, NULL, TAG_IF(tp, NTATAG_TPORT(tp)), TAG_END());
    }
    else
        msg_destroy(msg);
    return 0;
}

/* ---- Initial INVITE --------------------------------------------------------------------- */
static void pending_unlink(rw_proxy_t *px, pending_t *p)
{
    if (px->pending_tail == p)
        px->pending_tail = p->prev;
    UNLINK(px->pending, p);
    px->n_pending--;
}

static void pending_unref(pending_t *p)
{
    if (--p->refs > 0)
        return;
    if (p->px)
        pending_unlink(p->px, p);
    if (p->irq)
        nta_incoming_destroy(p->irq);
    if (p->req)
        msg_destroy(p->req);
    free(p);
}

static void pending_answer(pending_t *p, int status, const char *phrase, const char *reason)
{
    if (p->done)
        return;
    p->done = 1;
    if (p->irq)
        nta_incoming_treply(p->irq, status, phrase, TAG_END());
    if (p->px)
        rw_exec_publish(&p->px->env, "call.failed", &p->ev, status, reason);
}

static int any_private_first_stage(const rw_plan_t *plan)
{
    for (uint32_t i = 0; plan->n_stages && i < plan->stages[0].n_targets; i++)
        if (plan->stages[0].targets[i].is_private)
            return 1;
    return 0;
}

static void execute(pending_t *p, const rw_plan_t *plan, rw_fallback_t kind)
{
    rw_proxy_t *px = p->px;
    if (p->done || !px)
        return;
    if (p->cancelled) {
        pending_answer(p, SIP_487_REQUEST_TERMINATED, "cancelled");
        return;
    }
    p->ev.fallback = kind;
    rw_str_copy(p->ev.user, sizeof p->ev.user, plan->user);
    int redirect = p->peer && p->peer->mode == RW_PEER_REDIRECT && !any_private_first_stage(plan);
    const char *rr = rw_edge_record_route(px->edge, family_of(p->req));
    /* No 100 Trying yet: the exec sends it once the INVITE has left for its first branch
     * (plan_exec.h). Until then the caller keeps retransmitting, so an INVITE that a dying
     * worker had taken reaches another worker. */
    if (rw_exec_start(&px->env, p->irq, p->req, plan, &p->rq, &p->ev, rr, redirect) != 0) {
        pending_answer(p, SIP_500_INTERNAL_SERVER_ERROR, "internal");
        return;
    }
    p->irq = NULL;                /* the exec owns them now */
    p->req = NULL;
    p->done = 1;
}

static void on_fallback(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind)
{
    pending_t *p = arg;
    if (p->px && !p->done) {
        if (status != 0)
            pending_answer(p, SIP_404_NOT_FOUND, "not-found");
        else {
            rw_counter_inc(kind == RW_FALLBACK_EVALUATED ? p->px->env.fb_evaluated
                           : kind == RW_FALLBACK_LAST_PLAN ? p->px->env.fb_plan : p->px->env.fb_devices);
            rw_log_warn("call_fallback", RW_S("call_id", p->ev.call_id), RW_S("to", p->ev.to),
                        RW_S("kind", rw_fallback_kind_name(kind)));
            execute(p, plan, kind);
        }
    }
    pending_unref(p);
}

/* Takes over one reference the caller holds; on_fallback releases it. */
static void use_fallback(pending_t *p)
{
    if (rw_fallback_resolve_call(p->px->fb, &p->rq, on_fallback, p) != 0) {
        pending_answer(p, SIP_480_TEMPORARILY_UNAVAILABLE, "unroutable");
        pending_unref(p);
    }
}

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    pending_t *p = arg;
    static rw_plan_t plan;        /* decoded and used within this call only (one thread) */
    if (!p->px || p->done)
        goto out;
    if (status == 0 && rw_proto_plan_decode(body, len, &plan) == 0 && plan.status != RW_PLAN_ERROR) {
        if (plan.status == RW_PLAN_NOT_FOUND) {
            pending_answer(p, SIP_404_NOT_FOUND, "not-found");
            goto out;
        }
        rw_fallback_remember(p->px->fb, p->rq.callee, &plan);
        execute(p, &plan, RW_FALLBACK_NONE);
        goto out;
    }
    rw_log_warn("router_unavailable", RW_S("call_id", p->ev.call_id), RW_I("status", status));
    if (!p->cancelled) {
        use_fallback(p);          /* hands it this callback's reference */
        return;
    }
    pending_answer(p, SIP_487_REQUEST_TERMINATED, "cancelled");
out:
    pending_unref(p);
}

static void route(pending_t *p)
{
    msgpack_sbuffer sb;
    if (p->cancelled) {
        pending_answer(p, SIP_487_REQUEST_TERMINATED, "cancelled");
        return;
    }
    msgpack_sbuffer_init(&sb);
    p->refs++;
    if (rw_proto_route_req_encode(&p->rq, &sb) != 0
        || rw_client_request(p->px->router, sb.data, sb.size, p->px->deadline_ms, on_plan, p) != 0)
        use_fallback(p);          /* hands it the reference on_plan would have released */
    msgpack_sbuffer_destroy(&sb);
}

static void on_feature(void *arg, int status, const char *phrase)
{
    pending_t *p = arg;
    if (p->px && !p->done)
        pending_answer(p, status, phrase, "feature-code");
    pending_unref(p);
}

/* *71..*74 from an authenticated phone: answered here (hunt.h), never routed. 1 when taken. */
static int feature_code(pending_t *p, const char *user_id)
{
    p->refs++;
    int rc = rw_hunt_feature(p->px->env.hunt, user_id, p->rq.callee, on_feature, p);
    if (rc == 0)
        return 1;
    p->refs--;
    if (rc == RW_ENOTFOUND)
        return 0;
    pending_answer(p, SIP_503_SERVICE_UNAVAILABLE, "feature-code");
    return 1;
}

static void on_auth(void *arg, rw_auth_result_t res, const char *ext, const char *user_id)
{
    pending_t *p = arg;
    if (res != RW_AUTH_OK)
        p->done = 1;              /* auth answered the caller */
    else if (p->px && !p->done && !feature_code(p, user_id)) {
        rw_exec_strip_credentials(p->req, sip_object(p->req));
        rw_str_copy(p->rq.caller, sizeof p->rq.caller, ext);
        rw_str_copy(p->ev.from, sizeof p->ev.from, ext);
        route(p);
    }
    pending_unref(p);
}

static int on_cancel_pending(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    (void) irq;
    (void) sip;
    ((pending_t *) magic)->cancelled = 1;
    return 0;
}

static void fill_request(pending_t *p, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    rw_route_req_t *rq = &p->rq;
    rw_str_copy(rq->call_id, sizeof rq->call_id, sip->sip_call_id->i_id);
    rw_str_copy(rq->caller, sizeof rq->caller,
                sip->sip_from->a_url->url_user ? sip->sip_from->a_url->url_user : "anonymous");
    rw_str_copy(rq->callee, sizeof rq->callee, ru->url_user);
    url_e(rq->callee_uri, (isize_t) sizeof rq->callee_uri, ru);
    rq->callee_uri[sizeof rq->callee_uri - 1] = '\0';
    rq->time_ms = rw_clock_wall_ms();
    if (p->peer) {
        size_t n = rw_str_copy(rq->source, sizeof rq->source, "trunk:");
        rw_str_copy(rq->source + n, sizeof rq->source - n, p->peer->name);
    } else
        rw_str_copy(rq->source, sizeof rq->source, "device");
    rq->redirect_mode = p->peer && p->peer->mode == RW_PEER_REDIRECT;
    rw_str_copy(p->ev.call_id, sizeof p->ev.call_id, rq->call_id);
    rw_str_copy(p->ev.from, sizeof p->ev.from, rq->caller);
    rw_str_copy(p->ev.to, sizeof p->ev.to, rq->callee);
}

static int via_has_self(rw_proxy_t *px, const sip_t *sip)
{
    for (const sip_via_t *v = sip->sip_via; v; v = v->v_next) {
        url_t u;
        memset(&u, 0, sizeof u);
        u.url_type = url_sip;
        u.url_host = v->v_host;
        u.url_port = v->v_port;
        if (rw_edge_is_self(px->edge, &u))
            return 1;
    }
    return 0;
}

static int initial_invite(rw_proxy_t *px, nta_incoming_t *irq, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    if (!ru->url_user || !*ru->url_user || strlen(ru->url_user) >= 128)
        return 404;
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
        rw_counter_inc(px->too_many_hops);
        return 483;
    }
    if (via_has_self(px, sip) && rw_exec_find(&px->env, sip)) {
        rw_counter_inc(px->loops);
        return 482;
    }
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return 500;
    p->px = px;
    p->irq = irq;
    p->req = nta_incoming_getrequest(irq);
    p->refs = 1;
    p->t0 = rw_clock_mono_ms();
    if (!px->pending_tail)
        px->pending_tail = p;
    LINK(px->pending, p);
    px->n_pending++;
    nta_incoming_bind(irq, on_cancel_pending, (nta_incoming_magic_t *) p);
    su_addrinfo_t *ai = p->req ? msg_addrinfo(p->req) : NULL;
    p->peer = ai ? rw_peers_match(px->env.peers, ai->ai_addr) : NULL;
    if (!p->req || rw_sipcheck_prepare_forward(rw_edge_self(px->edge), p->req, sip_object(p->req)) != 0)
        pending_answer(p, SIP_500_INTERNAL_SERVER_ERROR, "internal");
    else {
        if (!p->peer)
            rw_exec_nat_contact(p->req);
        fill_request(p, sip);
        rw_counter_inc(px->offered);
        rw_exec_publish(&px->env, "call.offered", &p->ev, 0, NULL);
        p->refs++;
        if (p->peer)
            route(p), p->refs--;
        else if (rw_auth_check(px->auth, irq, sip, 1, on_auth, p) != 0) {
            p->refs--;
            pending_answer(p, SIP_503_SERVICE_UNAVAILABLE, "auth-unavailable");
        }
    }
    pending_unref(p);
    return 0;
}

/* Out of dialog, not INVITE: to a user's registrations (forward.h). Without a user part it is
 * for the edge, which implements only OPTIONS (answered by edge.c) and REGISTER there: 405;
 * for anyone else: 404, as for an INVITE. */
static int other_request(rw_proxy_t *px, nta_incoming_t *irq, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    if (!ru->url_user || !*ru->url_user)
        return sip->sip_request->rq_method != sip_method_options
               && rw_sipcheck_names_edge(rw_edge_self(px->edge), ru) ? 405 : 404;
    if (via_has_self(px, sip) && rw_forward_find(px->ood, sip)) {
        rw_counter_inc(px->loops);
        return 482;
    }
    return rw_forward_request(px->ood, irq, sip);
}

/* RFC 3261 16.4: a strict router (RFC 2543) sends the Record-Route value we gave it as the
 * Request-URI and the real target as the last Route entry. The request is put back the way a
 * loose router sends it: that entry becomes the Request-URI and leaves the Route. Our value is
 * recognised by its `lr` and no user part (a request for the edge itself has no `lr`); the
 * last entry may name the edge too (a user's number at the edge). 1 when the request was one. */
static int strict_routed(rw_proxy_t *px, nta_incoming_t *irq, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    const url_t *top = sip->sip_route ? sip->sip_route->r_url : NULL;
    if (!top || (ru->url_user && *ru->url_user) || !url_has_param(ru, "lr") || !rw_edge_is_self(px->edge, ru)
        || (url_has_param(top, "lr") && rw_edge_is_self(px->edge, top)))   /* loose routing to us */
        return 0;
    msg_t *msg = nta_incoming_getrequest(irq);   /* the message sip belongs to */
    sip_t *s = sip_object(msg);
    int ok = 0;
    if (s && s->sip_request && s->sip_route) {
        sip_route_t *last = s->sip_route;
        while (last->r_next)
            last = last->r_next;
        sip_request_t *rq = sip_request_create(msg_home(msg), s->sip_request->rq_method,
                                               s->sip_request->rq_method_name,
                                               (const url_string_t *) last->r_url, NULL);
        ok = rq && msg_header_replace(msg, (msg_pub_t *) s, (msg_header_t *) s->sip_request,
                                      (msg_header_t *) rq) == 0
             && sip_header_remove(msg, s, (sip_header_t *) last) == 0;
    }
    msg_destroy(msg);             /* our reference only */
    return ok;
}

int rw_proxy_request(rw_proxy_t *px, nta_incoming_t *irq, const sip_t *sip)
{
    sip_method_t m = sip->sip_request->rq_method;
    int to_tag = sip->sip_to->a_tag != NULL;
    int strict = strict_routed(px, irq, sip);
    /* through us: our Route on top, or (strict routing) our Record-Route as the Request-URI */
    int our_route = strict || (sip->sip_route && rw_edge_is_self(px->edge, sip->sip_route->r_url));
    if (m == sip_method_ack) {
        if (our_route)
            return in_dialog(px, irq, sip);
        nta_incoming_destroy(irq);
        return 0;
    }
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0 && m != sip_method_invite)
        return 483;
    /* more Route entries than ours: a route set to follow (strict: whatever is left of it) */
    int more = strict ? sip->sip_route != NULL : our_route && sip->sip_route->r_next;
    if (to_tag || more) {
        if (our_route)
            return in_dialog(px, irq, sip);
        return rw_edge_is_self(px->edge, sip->sip_request->rq_url) ? 481 : 403;
    }
    if (m == sip_method_invite)
        return initial_invite(px, irq, sip);
    if (m == sip_method_cancel)
        return 481;
    if (m == sip_method_bye || m == sip_method_prack || m == sip_method_update || m == sip_method_info)
        return 481;
    return other_request(px, irq, sip);
}

void rw_proxy_load(const rw_proxy_t *px, unsigned *routing, unsigned *calls, uint64_t *oldest_ms)
{
    *routing = px->n_pending;
    *calls = px->n_pending + px->env.n_live;
    *oldest_ms = px->pending_tail ? rw_clock_mono_ms() - px->pending_tail->t0 : 0;
}

rw_proxy_t *rw_proxy_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_location_t *loc,
                         rw_client_t *router, rw_fallback_store_t *fb, rw_pub_t *pub,
                         rw_metrics_t *m, const rw_proxy_opts_t *opts)
{
    rw_proxy_t *px = calloc(1, sizeof *px);
    if (!px || !edge || !opts)
        goto fail;
    px->root = root;
    px->edge = edge;
    px->nta = rw_edge_agent(edge);
    px->auth = auth;
    px->router = router;
    px->fb = fb;
    px->deadline_ms = opts->deadline_ms ? opts->deadline_ms : 150;
    snprintf(px->realm, sizeof px->realm, "%s", opts->realm ? opts->realm : "ringway.local");
    snprintf(px->vm, sizeof px->vm, "%s", opts->voicemail_uri ? opts->voicemail_uri : "");
    px->env = (rw_exec_env_t){ .root = root, .nta = px->nta, .loc = loc, .peers = opts->peers,
                               .pub = pub, .realm = px->realm, .voicemail_uri = px->vm,
                               .router = router, .deadline_ms = px->deadline_ms, .fb = fb,
                               .edge = edge, .hunt = opts->hunt };
    px->env.branches = rw_branches_new(root, px->nta, BRANCHES_MAX, 0, 0);
    px->ood = rw_forward_new(root, edge, auth, loc, opts->redis, opts->peers, px->realm, m);
    px->env.calls_live = rw_calls_live_new(root, opts->redis, m, 0);   /* NULL without Redis */
    px->byes_seen = rw_ttlmap_new(1, BYES_SEEN_MAX);
    if (!px->env.branches || !px->ood || !px->byes_seen)
        goto fail;
    if (m) {
        px->offered = rw_metrics_counter(m, "calls_offered_total", "initial INVITEs accepted for routing");
        px->env.answered = rw_metrics_counter(m, "calls_answered_total", "calls answered (first 2xx relayed)");
        px->env.failed = rw_metrics_counter(m, "calls_failed_total", "calls ended with a final failure");
        px->env.cancelled = rw_metrics_counter(m, "calls_cancelled_total", "calls cancelled by the caller");
        px->env.redirected = rw_metrics_counter(m, "calls_redirected_total", "calls answered 302 (redirect mode)");
        px->env.fb_evaluated = rw_metrics_counter(m, "fallback_evaluated_total",
                                                  "calls routed by the user's settings evaluated here (no router answered)");
        px->env.fb_plan = rw_metrics_counter(m, "fallback_last_plan_total",
                                             "calls routed by the last plan kept in memory (router and Redis away)");
        px->env.fb_devices = rw_metrics_counter(m, "fallback_devices_total", "calls routed straight to the user's devices");
        px->env.adopted = rw_metrics_counter(m, "branches_adopted_total",
                                             "INVITE branches kept by sip-edge after their first provisional (NTA's transaction ended)");
        px->loops = rw_metrics_counter(m, "loops_total", "requests answered 482 Loop Detected");
        px->too_many_hops = rw_metrics_counter(m, "too_many_hops_total", "requests answered 483");
    }
    return px;
fail:
    if (px) {
        rw_branches_destroy(&px->env.branches);
        rw_forward_destroy(&px->ood);
        rw_calls_live_destroy(&px->env.calls_live);
        rw_ttlmap_destroy(&px->byes_seen);
    }
    free(px);
    return NULL;
}

void rw_proxy_destroy(rw_proxy_t **pself)
{
    rw_proxy_t *px = pself ? *pself : NULL;
    if (!px)
        return;
    rw_exec_abort_all(&px->env);
    rw_calls_live_destroy(&px->env.calls_live);
    rw_forward_destroy(&px->ood);
    rw_branches_destroy(&px->env.branches);
    rw_ttlmap_destroy(&px->byes_seen);
    while (px->fwds) {
        fwd_t *f = px->fwds;
        nta_incoming_treply(f->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        fwd_end(f);
    }
    while (px->pending) {         /* their callbacks come later and only free them */
        pending_t *p = px->pending;
        pending_unlink(px, p);
        if (!p->done && p->irq)
            nta_incoming_treply(p->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        p->done = 1;
        p->px = NULL;
    }
    free(px);
    *pself = NULL;
}
