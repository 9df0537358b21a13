/* services/sip-edge/plan_branch.c — one call's INVITE branches (plan_exec.h): sending them,
 * their responses, CANCEL. A branch starts as an NTA client transaction; at its first
 * provisional response it is adopted by branch.c (when the proxy gave plan_exec a branch set)
 * and NTA's transaction is destroyed, so no call leaves NTA's 32 s timer-D state behind.
 * Responses reach the same handlers either way. */
#include "services/sip-edge/edge.h"
#include "services/sip-edge/plan_exec_priv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

static int branch_live(const branch_t *b)
{
    return b->orq != NULL || b->own != NULL;
}

int rw_exec_live_branches(const rw_exec_t *ex)
{
    int n = ex->cur_lookups;
    for (unsigned i = 0; i < ex->n_br; i++)
        n += branch_live(&ex->br[i]) && ex->br[i].gen == ex->gen && !ex->br[i].cancelled;
    return n;
}

int rw_exec_any_branch(const rw_exec_t *ex)
{
    for (unsigned i = 0; i < ex->n_br; i++)
        if (branch_live(&ex->br[i]))
            return 1;
    return 0;
}

void rw_exec_cancel_all(rw_exec_t *ex, int except)
{
    rw_exec_cancel_with(ex, except, NULL);
}

void rw_exec_cancel_with(rw_exec_t *ex, int except, const char *headers)
{
    for (unsigned i = 0; i < ex->n_br; i++) {
        branch_t *b = &ex->br[i];
        if (!branch_live(b) || (int) i == except || b->cancelled)
            continue;
        b->cancelled = 1;
        if (b->orq)
            nta_outgoing_tcancel(b->orq, NULL, NULL, TAG_IF(headers && *headers, SIPTAG_HEADER_STR(headers)),
                                 TAG_END());
        else
            rw_branch_cancel_with(b->own, headers);
    }
}

size_t rw_exec_reason_lines(const sip_t *sip, char *out, size_t len)
{
    size_t off = 0;
    if (len)
        out[0] = '\0';
    for (const sip_reason_t *r = sip ? sip->sip_reason : NULL; r && len; r = r->re_next) {
        issize_t n = msg_header_e(out + off, (isize_t) (len - off), (const msg_header_t *) r, 0);
        if (n <= 0 || (size_t) n >= len - off) {
            out[off] = '\0';     /* one that does not fit is left out, with those after it */
            break;
        }
        off += (size_t) n;
    }
    return off;
}

void rw_exec_drop_branches(rw_exec_t *ex)
{
    for (unsigned i = 0; i < ex->n_br; i++) {
        if (ex->br[i].orq)
            nta_outgoing_destroy(ex->br[i].orq);
        ex->br[i].orq = NULL;
        rw_branch_drop(&ex->br[i].own);
    }
}

void rw_exec_add_contact(rw_exec_t *ex, const char *uri)
{
    if (ex->n_contacts < RW_EXEC_MAX_BRANCHES)
        rw_str_copy(ex->contacts[ex->n_contacts++], sizeof *ex->contacts, uri);
}

void rw_exec_relay(rw_exec_t *ex, msg_t *rsp)
{
    sip_t *rs = sip_object(rsp);
    rw_exec_relay_response(ex->irq, rsp, rs && rs->sip_status ? rs->sip_status->st_status : 500);
}

msg_t *rw_exec_retarget(msg_t *req, const char *uri, const char *path)
{
    msg_t *fwd = msg_dup(req);
    sip_t *fs = sip_object(fwd);
    if (!fs || !fs->sip_request)
        goto fail;
    su_home_t *home = msg_home(fwd);
    sip_request_t *rq = sip_request_create(home, fs->sip_request->rq_method, fs->sip_request->rq_method_name,
                                           URL_STRING_MAKE(uri), NULL);
    if (!rq || msg_header_replace(fwd, (msg_pub_t *) fs, (msg_header_t *) fs->sip_request, (msg_header_t *) rq) < 0)
        goto fail;
    if (path && *path) {
        sip_route_t *r = sip_route_make(home, path);
        if (r)
            msg_header_insert(fwd, (msg_pub_t *) fs, (msg_header_t *) r);
    }
    return fwd;
fail:
    msg_destroy(fwd);
    return NULL;
}

static const char *diversion_of(const rw_exec_t *ex, const rw_target_t *t)
{
    if (ex->div_reason[0])
        return ex->div_reason;
    if (t->diversion[0])
        return t->diversion;
    if (ex->in_final && t->type != RW_TARGET_DEVICES)
        return ex->best == 486 || ex->best == 600 ? "user-busy" : "no-answer";
    return NULL;
}

static int on_branch(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip);

int rw_exec_send_branch(rw_exec_t *ex, const rw_target_t *t, const char *uri, const char *path,
                        const char *next_hop, unsigned trunk)
{
    if (ex->n_br == RW_EXEC_MAX_BRANCHES)
        return RW_ERANGE;
    branch_t *b = &ex->br[ex->n_br];
    msg_t *fwd = rw_exec_retarget(ex->req, uri, path);
    sip_t *fs = sip_object(fwd);
    if (!fs)
        return RW_ENOMEM;
    msg_header_insert(fwd, (msg_pub_t *) fs, (msg_header_t *) sip_record_route_make(msg_home(fwd), ex->rr));
    const char *why = diversion_of(ex, t);
    if (why) {
        char div[400];
        snprintf(div, sizeof div, "Diversion: <sip:%s@%s>;reason=%s;counter=1\r\n", ex->ev.to,
                 ex->env->realm, why);
        msg_header_add_str(fwd, (msg_pub_t *) fs, div);
    }
    memset(b, 0, sizeof *b);
    b->nat = next_hop && *next_hop && !(path && *path);
    b->ex = ex;
    b->t = t;
    b->gen = ex->gen;
    b->trunk = trunk;
    rw_str_copy(b->uri, sizeof b->uri, uri);
    char key[64];
    const char *branch = rw_edge_branch(ex->env->edge, key, sizeof key);
    b->orq = nta_outgoing_mcreate(ex->env->nta, on_branch, (nta_outgoing_magic_t *) b,
                                  next_hop && *next_hop ? URL_STRING_MAKE(next_hop) : NULL, fwd,
                                  TAG_IF(branch, NTATAG_BRANCH_KEY(branch)), TAG_END());
    if (!b->orq)
        return RW_EIO;
    ex->n_br++;
    /* 100 Trying once the INVITE has left: from now on the callee's answer (its 2xx
     * retransmissions) reaches any worker, so the caller may stop retransmitting. Not after a
     * 180/182 of our own (a queued hunt-group caller): that already stopped it. */
    if (!ex->replied && !ex->sent_trying && !ex->sent180 && !ex->sent183) {
        nta_incoming_treply(ex->irq, SIP_100_TRYING, TAG_END());
        ex->sent_trying = 1;
    }
    return 0;
}

/* The trunks of a NUMBER target: named in the plan, else chosen by prefix. */
static size_t trunks_of(const rw_exec_t *ex, const rw_target_t *t, const rw_peer_t **out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->n_trunks && n < max; i++) {
        const rw_peer_t *p = rw_peers_find(ex->env->peers, t->trunks[i]);
        if (p)
            out[n++] = p;
    }
    return n ? n : rw_peers_trunks_for(ex->env->peers, t->number, out, max);
}

int rw_exec_start_number(rw_exec_t *ex, const rw_target_t *t, unsigned from)
{
    const rw_peer_t *tr[RW_PEERS_MAX];
    size_t n = trunks_of(ex, t, tr, RW_PEERS_MAX);
    char uri[256];
    for (unsigned i = from; i < n; i++) {
        if (rw_peer_uri(tr[i], t->number, uri, sizeof uri) != 0)
            continue;
        if (ex->redirect) {
            rw_exec_add_contact(ex, uri);
            return 0;
        }
        if (rw_exec_send_branch(ex, t, uri, NULL, NULL, i) == 0)
            return 0;
    }
    return RW_ENOTFOUND;
}

/* ---- Responses: rsp is taken (our Via removed) and may be NULL --------------------------- */
/* A phone behind NAT (or registered over TCP) answers with a Contact it cannot be reached at:
 * the INVITE reached it at its binding's received address, but the caller's ACK, BYE and
 * re-INVITEs follow the Contact of its 1xx/2xx. The Contact relayed therefore names that
 * address (host, port and transport), as the registrar's received does for the INVITE; the
 * phone then gets its in-dialog requests where it is reachable, over its own connection on TCP.
 * Not for a binding reached through a Path (its next hop is that proxy, not the phone). */
static void nat_contact(const branch_t *b, const url_t *hop, msg_t *rsp)
{
    sip_t *rs = sip_object(rsp);
    char tp[16];
    if (!b->nat || !hop || !hop->url_host || !rs || !rs->sip_contact)
        return;
    su_home_t *home = msg_home(rsp);
    url_t *c = rs->sip_contact->m_url;
    char *host = su_strdup(home, hop->url_host);
    if (!host)
        return;
    url_strip_transport(c);       /* its transport parameters and port */
    c->url_host = host;
    c->url_port = hop->url_port ? su_strdup(home, hop->url_port) : NULL;
    if (url_param(hop->url_params, "transport", tp, sizeof tp) > 0) {
        char param[32];
        snprintf(param, sizeof param, "transport=%s", tp);
        url_param_add(home, c, param);
    }
    msg_fragment_clear(rs->sip_contact->m_common);
}

static void on_provisional(rw_exec_t *ex, const branch_t *b, msg_t *rsp, int st)
{
    int *sent = st == 183 ? &ex->sent183 : st == 180 ? &ex->sent180 : NULL;
    const sip_t *rs = sip_object(rsp);
    /* A reliable provisional (RFC 3262: RSeq) waits for the caller's PRACK, and its phone gives
     * the call up without one: every one is relayed, whichever phone sent it and however many. */
    int reliable = rs && rs->sip_rseq;
    if ((!reliable && (!sent || *sent)) || ex->replied || !rsp) {
        msg_destroy(rsp);
        return;
    }
    if (sent)
        *sent = 1;
    rw_exec_relay(ex, rsp);
    if (!ex->ev.pdd_ms) {
        ex->ev.pdd_ms = rw_clock_wall_ms() - ex->t0;
        rw_str_copy(ex->ev.target, sizeof ex->ev.target, b->uri);
        rw_exec_publish(ex->env, "call.ringing", &ex->ev, st, NULL);
    }
}

static void on_answer(rw_exec_t *ex, branch_t *b, msg_t *rsp)
{
    if (rsp)
        rw_exec_relay(ex, rsp);   /* every 2xx is relayed (RFC 3261 16.7) */
    if (ex->answered)
        return;
    ex->answered = ex->replied = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    /* RFC 3326: the other phones learn the call was answered (no "missed call" on them) */
    rw_exec_cancel_with(ex, (int) (b - ex->br), RW_EXEC_REASON_ANSWERED);
    if (ex->env->answered)
        rw_counter_inc(ex->env->answered);
    rw_str_copy(ex->ev.target, sizeof ex->ev.target, b->uri);
    rw_exec_publish(ex->env, "call.answered", &ex->ev, 200, NULL);
}

/* Failure priority: 6xx, then 486, then other 4xx, then 5xx, then 408. */
static int rank(int st)
{
    return st >= 600 ? 5 : st == 486 ? 4 : st == 408 ? 1 : st >= 500 ? 2 : st >= 300 ? 3 : 0;
}

static void on_failure(rw_exec_t *ex, branch_t *b, msg_t *rsp, int st)
{
    if ((b->cancelled && st == 487)
        || (b->t->type == RW_TARGET_NUMBER && (st == 503 || st == 408 || st == 500) && !ex->replied
            && b->gen == ex->gen && rw_exec_start_number(ex, b->t, b->trunk + 1) == 0)) {
        msg_destroy(rsp);         /* cancelled by us, or the next trunk carries it */
        return;
    }
    if (rank(st) > rank(ex->best) || ex->best == 0) {
        ex->best = st;
        msg_destroy(ex->best_msg);
        ex->best_msg = rsp;
    } else
        msg_destroy(rsp);
    if (st >= 600 && !ex->replied && !ex->hunt) {   /* a global failure ends the call (an
                                                      agent's decline only ends their offer) */
        msg_t *m = ex->best_msg;
        ex->best_msg = NULL;
        ex->replied = 1;
        rw_exec_cancel_all(ex, -1);
        if (ex->timer)
            su_timer_reset(ex->timer);
        if (m)
            rw_exec_relay(ex, m);
        else
            nta_incoming_treply(ex->irq, st, sip_status_phrase(st), TAG_END());
        if (ex->env->failed)
            rw_counter_inc(ex->env->failed);
        rw_exec_publish(ex->env, "call.failed", &ex->ev, st, "declined");
    }
}

static void on_response(branch_t *b, msg_t *rsp, int st)
{
    rw_exec_t *ex = b->ex;
    if (st < 200) {
        on_provisional(ex, b, rsp, st);
        return;
    }
    if (st < 300)
        on_answer(ex, b, rsp);
    else
        on_failure(ex, b, rsp, st);
}

/* An adopted branch's response (branch.c); after a final one it is gone. */
static void on_owned(void *owner, rw_branch_t *own, msg_t *rsp, int st)
{
    branch_t *b = owner;
    if (b->nat) {                 /* the route URL it was sent with: the binding's received */
        char text[512];
        url_t hop[1];
        const char *h = rw_branch_hop(own);
        size_t n = strlen(h);
        if (n && n < sizeof text) {
            memcpy(text, h, n + 1);
            if (url_d(hop, text) >= 0)
                nat_contact(b, hop, rsp);
        }
    }
    if (st >= 200)
        b->own = NULL;
    on_response(b, rsp, st);
    if (st >= 200)
        rw_exec_check(b->ex);
}

/* The first provisional: NTA's transaction gives way to branch.c (unless cancelled already:
 * NTA then still owes the CANCEL it delayed until this response). */
static void adopt(branch_t *b, nta_outgoing_t *orq)
{
    rw_branches_t *set = b->ex->env->branches;
    char hop[512] = "";
    const url_t *route = nta_outgoing_route_uri(orq);
    if (!set || b->cancelled || (route && url_e(hop, (isize_t) sizeof hop, route) >= (issize_t) sizeof hop))
        return;
    if (rw_branch_adopt(set, orq, hop, on_owned, b, &b->own) != 0)
        return;
    nta_outgoing_destroy(orq);    /* not completed, not cancelled: NTA frees it at once */
    b->orq = NULL;
    if (b->ex->env->adopted)
        rw_counter_inc(b->ex->env->adopted);
}

static int on_branch(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    branch_t *b = (branch_t *) magic;
    rw_exec_t *ex = b->ex;
    int st = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    msg_t *rsp = nta_outgoing_getresponse(orq);
    sip_t *rs = sip_object(rsp);
    if (rs && rs->sip_via)
        sip_header_remove(rsp, rs, (sip_header_t *) rs->sip_via);
    nat_contact(b, b->nat ? nta_outgoing_route_uri(orq) : NULL, rsp);
    on_response(b, rsp, st);
    if (st < 200) {
        adopt(b, orq);
        return 0;
    }
    nta_outgoing_destroy(orq);
    b->orq = NULL;
    rw_exec_check(ex);
    return 0;
}
