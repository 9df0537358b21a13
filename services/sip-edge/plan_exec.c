/* services/sip-edge/plan_exec.c — one call's plan carried out as a forking proxy (plan_exec.h). */
#include "services/sip-edge/plan_exec.h"
#include "services/sip-edge/divert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

typedef struct {
    rw_exec_t *ex;
    nta_outgoing_t *orq;
    const rw_target_t *t;
    unsigned gen;                 /* the stage generation it belongs to */
    unsigned trunk;               /* NUMBER: index of the trunk in use */
    int status;                   /* 0 = no final response yet */
    int cancelled;
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
    rw_plan_t plan;
    rw_route_req_t rq;            /* the call's route request (colleague diverts reuse it) */
    rw_ev_call_t ev;
    lookup_t *pending;            /* lookups and route requests in flight */
    char div_reason[32];          /* set once the call was diverted to a colleague's plan */
    char rr[128];
    int redirect;
    unsigned stage;               /* index into plan.stages; n_stages = the final target */
    unsigned gen;                 /* bumped at every stage start */
    su_timer_t *timer;
    branch_t br[RW_EXEC_MAX_BRANCHES];
    unsigned n_br;
    int lookups;                  /* location lookups in flight (each keeps the exec alive) */
    int cur_lookups;              /* those of the current stage */
    int replied, answered, cancelled, in_final, sent180, sent183;
    int best;                     /* best failure status seen */
    msg_t *best_msg;              /* its response (our Via removed), or NULL */
    uint64_t t0;
    char contacts[RW_EXEC_MAX_BRANCHES][512];
    unsigned n_contacts;
};

static void advance(rw_exec_t *ex);
static void check(rw_exec_t *ex);

void rw_exec_publish(rw_exec_env_t *env, const char *type, const rw_ev_call_t *tmpl, int cause,
                     const char *reason)
{
    rw_event_t ev;
    if (!env->pub || rw_proto_event_init(&ev, type) != 0)
        return;
    ev.call = *tmpl;
    if (cause)
        ev.call.cause = cause;
    if (reason)
        snprintf(ev.call.reason, sizeof ev.call.reason, "%s", reason);
    rw_pub_publish(env->pub, &ev);
}

void rw_exec_strip_identity(msg_t *msg, sip_t *sip)
{
    static const char *const names[] = { "P-Asserted-Identity", "P-Preferred-Identity",
                                         "Remote-Party-ID", NULL };
    sip_unknown_t *u = sip->sip_unknown, *next;
    for (; u; u = next) {
        next = u->un_next;
        for (int i = 0; names[i]; i++)
            if (u->un_name && !strcasecmp(u->un_name, names[i])) {
                sip_header_remove(msg, sip, (sip_header_t *) u);
                break;
            }
    }
}

static void free_exec(rw_exec_t *ex)
{
    rw_exec_env_t *env = ex->env;
    for (lookup_t *lk = ex->pending; lk; lk = lk->next)
        lk->ex = NULL;
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        env->live = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    env->n_live--;
    for (unsigned i = 0; i < ex->n_br; i++)
        if (ex->br[i].orq)
            nta_outgoing_destroy(ex->br[i].orq);
    if (ex->timer)
        su_timer_destroy(ex->timer);
    if (ex->irq)
        nta_incoming_destroy(ex->irq);
    if (ex->req)
        msg_destroy(ex->req);
    if (ex->best_msg)
        msg_destroy(ex->best_msg);
    free(ex);
}

/* Branches of the current stage still waiting for a final response, and lookups of it. */
static int live_branches(const rw_exec_t *ex)
{
    int n = ex->cur_lookups;
    for (unsigned i = 0; i < ex->n_br; i++)
        n += ex->br[i].orq != NULL && ex->br[i].gen == ex->gen && !ex->br[i].cancelled;
    return n;
}

static int any_branch(const rw_exec_t *ex)
{
    for (unsigned i = 0; i < ex->n_br; i++)
        if (ex->br[i].orq)
            return 1;
    return 0;
}

static void cancel_all(rw_exec_t *ex, int except)
{
    for (unsigned i = 0; i < ex->n_br; i++)
        if (ex->br[i].orq && (int) i != except && !ex->br[i].cancelled) {
            ex->br[i].cancelled = 1;
            nta_outgoing_cancel(ex->br[i].orq);
        }
}

/* Our own final answer to the caller. */
static void reply_final(rw_exec_t *ex, int status, const char *phrase, const char *reason)
{
    if (ex->replied)
        return;
    ex->replied = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    cancel_all(ex, -1);
    nta_incoming_treply(ex->irq, status, phrase, TAG_END());
    if (status == 487 && ex->env->cancelled)
        rw_counter_inc(ex->env->cancelled);
    else if (ex->env->failed)
        rw_counter_inc(ex->env->failed);
    rw_exec_publish(ex->env, "call.failed", &ex->ev, status, reason);
}

static void relay(rw_exec_t *ex, msg_t *rsp)
{
    sip_t *rs = sip_object(rsp);
    int st = rs && rs->sip_status ? rs->sip_status->st_status : 500;
    if (!rs || !rs->sip_via) {   /* a response with only our Via cannot be relayed */
        msg_destroy(rsp);
        nta_incoming_treply(ex->irq, st, sip_status_phrase(st), TAG_END());
        return;
    }
    rw_exec_strip_identity(rsp, rs);
    nta_incoming_mreply(ex->irq, rsp);
}

/* Request-URI of a voicemail target: voicemail.uri with the mailbox as user part. */
static int voicemail_uri(const rw_exec_t *ex, const char *mailbox, char *buf, size_t len)
{
    const char *vm = ex->env->voicemail_uri;
    if (!strncasecmp(mailbox, "sip:", 4))
        return snprintf(buf, len, "%s", mailbox) < (int) len ? 0 : RW_ERANGE;
    if (!vm || strncasecmp(vm, "sip:", 4) != 0)
        return RW_ENOTFOUND;
    const char *at = strchr(vm, '@');
    const char *host = at ? at + 1 : vm + 4;
    return snprintf(buf, len, "sip:%s@%s", mailbox, host) < (int) len ? 0 : RW_ERANGE;
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

static int send_branch(rw_exec_t *ex, const rw_target_t *t, const char *uri, const char *path,
                       const char *next_hop, unsigned trunk)
{
    if (ex->n_br == RW_EXEC_MAX_BRANCHES)
        return RW_ERANGE;
    branch_t *b = &ex->br[ex->n_br];
    msg_t *fwd = msg_dup(ex->req);
    sip_t *fs = sip_object(fwd);
    su_home_t *home = msg_home(fwd);
    sip_request_t *rq = fwd ? sip_request_create(home, SIP_METHOD_INVITE, URL_STRING_MAKE(uri), NULL) : NULL;
    if (!rq)
        goto fail;
    msg_header_replace(fwd, (msg_pub_t *) fs, (msg_header_t *) fs->sip_request, (msg_header_t *) rq);
    msg_header_insert(fwd, (msg_pub_t *) fs, (msg_header_t *) sip_record_route_make(home, ex->rr));
    if (path && *path) {
        sip_route_t *r = sip_route_make(home, path);
        if (r)
            msg_header_insert(fwd, (msg_pub_t *) fs, (msg_header_t *) r);
    }
    const char *why = diversion_of(ex, t);
    if (why) {
        char div[400];
        snprintf(div, sizeof div, "Diversion: <sip:%s@%s>;reason=%s;counter=1\r\n", ex->ev.to,
                 ex->env->realm, why);
        msg_header_add_str(fwd, (msg_pub_t *) fs, div);
    }
    memset(b, 0, sizeof *b);
    b->ex = ex;
    b->t = t;
    b->gen = ex->gen;
    b->trunk = trunk;
    snprintf(b->uri, sizeof b->uri, "%s", uri);
    b->orq = nta_outgoing_mcreate(ex->env->nta, on_branch, (nta_outgoing_magic_t *) b,
                                  next_hop && *next_hop ? URL_STRING_MAKE(next_hop) : NULL, fwd, TAG_END());
    if (!b->orq)
        return RW_EIO;
    ex->n_br++;
    return 0;
fail:
    if (fwd)
        msg_destroy(fwd);
    return RW_ENOMEM;
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

static int start_number(rw_exec_t *ex, const rw_target_t *t, unsigned from)
{
    const rw_peer_t *tr[RW_PEERS_MAX];
    size_t n = trunks_of(ex, t, tr, RW_PEERS_MAX);
    char uri[256];
    for (unsigned i = from; i < n; i++) {
        if (rw_peer_uri(tr[i], t->number, uri, sizeof uri) != 0)
            continue;
        if (ex->redirect) {
            snprintf(ex->contacts[ex->n_contacts++ % RW_EXEC_MAX_BRANCHES], 512, "%s", uri);
            return 0;
        }
        if (send_branch(ex, t, uri, NULL, NULL, i) == 0)
            return 0;
    }
    return RW_ENOTFOUND;
}

static lookup_t *lookup_new(rw_exec_t *ex, const rw_target_t *t)
{
    lookup_t *lk = calloc(1, sizeof *lk);
    if (!lk)
        return NULL;
    *lk = (lookup_t){ ex, ex->pending, ex->gen, t };
    ex->pending = lk;
    ex->lookups++;
    ex->cur_lookups++;
    return lk;
}

/* Ends a lookup: 1 when its call is still there and lk was of the current stage. */
static int lookup_end(lookup_t *lk)
{
    rw_exec_t *ex = lk->ex;
    if (!ex)
        return 0;
    for (lookup_t **pp = &ex->pending; *pp; pp = &(*pp)->next)
        if (*pp == lk) {
            *pp = lk->next;
            break;
        }
    ex->lookups--;
    if (lk->gen != ex->gen)
        return 0;
    ex->cur_lookups--;
    return !ex->replied && !ex->cancelled;
}

static void on_lookup(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache)
{
    lookup_t *lk = arg;
    rw_exec_t *ex = lk->ex;
    (void) from_cache;
    int current = lookup_end(lk);
    if (!ex) {
        free(lk);
        return;
    }
    if (status == 0 && current) {
        for (size_t i = 0; i < n; i++) {
            if (ex->redirect) {
                if (ex->n_contacts < RW_EXEC_MAX_BRANCHES)
                    snprintf(ex->contacts[ex->n_contacts++], 512, "%s", b[i].contact);
            } else
                send_branch(ex, lk->t, b[i].contact, b[i].path, b[i].received, 0);
        }
    }
    free(lk);
    check(ex);
}

/* ---- Colleagues (divert.h): the colleague's plan replaces what is left of this call's ---- */
static void divert_to(rw_exec_t *ex, const rw_target_t *t, const rw_plan_t *plan, rw_fallback_t kind)
{
    snprintf(ex->div_reason, sizeof ex->div_reason, "%s", t->diversion[0] ? t->diversion : "deflection");
    rw_route_req_t next;
    if (rw_divert_request(&ex->rq, ex->plan.user, t->number, &next) == 0)
        ex->rq = next;            /* a further divert counts this user too */
    rw_log_info("call_diverted", RW_S("call_id", ex->ev.call_id), RW_S("to", t->number),
                RW_S("user", plan->user), RW_S("reason", ex->div_reason));
    cancel_all(ex, -1);
    ex->plan = *plan;             /* t pointed into the old plan: not used after this */
    ex->stage = 0;
    ex->in_final = 0;
    if (kind != RW_FALLBACK_NONE)
        ex->ev.fallback = kind;
    advance(ex);
}

/* The same test lookup_end makes, without ending the lookup. */
static int colleague_wanted(void *arg)
{
    const lookup_t *lk = arg;
    const rw_exec_t *ex = lk->ex;
    return ex && lk->gen == ex->gen && !ex->replied && !ex->cancelled;
}

static void on_colleague(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind)
{
    lookup_t *lk = arg;
    rw_exec_t *ex = lk->ex;
    int current = lookup_end(lk);
    if (ex && current && status == 0) {
        rw_counter_t *c = kind == RW_FALLBACK_NONE ? NULL
                          : kind == RW_FALLBACK_LAST_PLAN ? ex->env->fb_plan : ex->env->fb_devices;
        if (c)
            rw_counter_inc(c);
        divert_to(ex, lk->t, plan, kind);
    }
    free(lk);
    if (ex)
        check(ex);
}

static void start_colleague(rw_exec_t *ex, const rw_target_t *t)
{
    static const rw_divert_cb_t cb = { colleague_wanted, on_colleague };
    const rw_divert_env_t env = { ex->env->router, ex->env->deadline_ms, ex->env->fb };
    if (ex->redirect)
        return;                   /* a 302 cannot name a colleague */
    lookup_t *lk = lookup_new(ex, t);
    if (lk && rw_divert_start(&env, &ex->rq, ex->plan.user, t->number, &cb, lk) != 0) {
        lookup_end(lk);           /* no router, too many hops: the target is skipped */
        free(lk);
    }
}

static void start_target(rw_exec_t *ex, const rw_target_t *t)
{
    char uri[256];
    switch (t->type) {
    case RW_TARGET_DEVICES: {
        lookup_t *lk = lookup_new(ex, t);
        if (lk && rw_location_lookup(ex->env->loc, t->aor, on_lookup, lk) != 0) {
            lookup_end(lk);
            free(lk);
        }
        return;
    }
    case RW_TARGET_NUMBER:
        if (rw_divert_is_colleague(t))
            start_colleague(ex, t);
        else
            start_number(ex, t, 0);
        return;
    case RW_TARGET_VOICEMAIL:
        if (voicemail_uri(ex, t->mailbox, uri, sizeof uri) != 0)
            return;
        if (ex->redirect && ex->n_contacts < RW_EXEC_MAX_BRANCHES)
            snprintf(ex->contacts[ex->n_contacts++], 512, "%s", uri);
        else if (!ex->redirect)
            send_branch(ex, t, uri, NULL, NULL, 0);
        return;
    default:
        return;                   /* hunt groups are not carried out by sip-edge yet */
    }
}

static void on_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_exec_t *ex = (rw_exec_t *) arg;
    (void) m;
    (void) t;
    if (ex->replied || ex->cancelled)
        return;
    cancel_all(ex, -1);           /* the stage rang out: its branches are cancelled */
    if (ex->best == 0)
        ex->best = 480;
    advance(ex);
}

/* Starts the next stage (or the final action); a stage that starts nothing moves on at once. */
static void advance(rw_exec_t *ex)
{
    for (;;) {
        ex->gen++;
        ex->cur_lookups = 0;
        if (ex->timer)
            su_timer_reset(ex->timer);
        if (ex->stage < ex->plan.n_stages) {
            const rw_stage_t *st = &ex->plan.stages[ex->stage++];
            for (uint32_t i = 0; i < st->n_targets; i++)
                start_target(ex, &st->targets[i]);
            if (ex->redirect)
                return;           /* the 302 goes out when the lookups are done */
            if (live_branches(ex)) {
                su_timer_set_interval(ex->timer, on_timer, (su_timer_arg_t *) ex, st->ring_ms ? st->ring_ms : 20000);
                return;
            }
            continue;
        }
        if (!ex->in_final && (ex->plan.final == RW_FINAL_VOICEMAIL || ex->plan.final == RW_FINAL_NUMBER)) {
            ex->in_final = 1;
            start_target(ex, &ex->plan.final_target);
            if (live_branches(ex)) {
                su_timer_set_interval(ex->timer, on_timer, (su_timer_arg_t *) ex, 120000);
                return;
            }
        }
        break;
    }
    /* Exhausted: busy wins over the configured answer when a device said so. */
    if (ex->best_msg && (ex->best == 486 || ex->best >= 600 || ex->in_final)) {
        msg_t *m = ex->best_msg;
        ex->best_msg = NULL;
        ex->replied = 1;
        relay(ex, m);
        if (ex->env->failed)
            rw_counter_inc(ex->env->failed);
        rw_exec_publish(ex->env, "call.failed", &ex->ev, ex->best, ex->best == 486 ? "busy" : "failed");
        return;
    }
    switch (ex->plan.final) {
    case RW_FINAL_BUSY:
        reply_final(ex, SIP_486_BUSY_HERE, "busy");
        break;
    case RW_FINAL_REJECT:
        reply_final(ex, SIP_603_DECLINE, "rejected");
        break;
    default:
        reply_final(ex, SIP_480_TEMPORARILY_UNAVAILABLE, ex->best == 0 ? "no-target" : "no-answer");
    }
}

static void send_redirect(rw_exec_t *ex)
{
    char list[RW_EXEC_MAX_BRANCHES * 516] = "";
    size_t off = 0;
    if (ex->n_contacts == 0) {
        reply_final(ex, SIP_480_TEMPORARILY_UNAVAILABLE, "no-target");
        return;
    }
    for (unsigned i = 0; i < ex->n_contacts && off < sizeof list; i++) {
        int n = snprintf(list + off, sizeof list - off, "%s<%s>", i ? ", " : "", ex->contacts[i]);
        if (n < 0)
            break;
        off += (size_t) n;
    }
    ex->replied = 1;
    nta_incoming_treply(ex->irq, SIP_302_MOVED_TEMPORARILY, SIPTAG_CONTACT_STR(list), TAG_END());
    if (ex->env->redirected)
        rw_counter_inc(ex->env->redirected);
    rw_exec_publish(ex->env, "call.ended", &ex->ev, 302, "redirected");
}

/* Called after every change: moves the call on and frees it once nothing is left. */
static void check(rw_exec_t *ex)
{
    if (!ex->replied) {
        if (live_branches(ex))
            return;
        if (ex->cancelled)
            reply_final(ex, SIP_487_REQUEST_TERMINATED, "cancelled");
        else if (ex->redirect)
            send_redirect(ex);
        else
            advance(ex);
    }
    if (ex->replied && !ex->lookups && !any_branch(ex))
        free_exec(ex);
}

static void on_provisional(rw_exec_t *ex, const branch_t *b, nta_outgoing_t *orq, int st)
{
    int *sent = st == 183 ? &ex->sent183 : st == 180 ? &ex->sent180 : NULL;
    if (!sent || *sent || ex->replied)
        return;
    *sent = 1;
    msg_t *rsp = nta_outgoing_getresponse(orq);
    if (!rsp)
        return;
    sip_header_remove(rsp, sip_object(rsp), (sip_header_t *) sip_object(rsp)->sip_via);
    relay(ex, rsp);
    if (!ex->ev.pdd_ms) {
        ex->ev.pdd_ms = rw_clock_wall_ms() - ex->t0;
        snprintf(ex->ev.target, sizeof ex->ev.target, "%s", b->uri);
        rw_exec_publish(ex->env, "call.ringing", &ex->ev, st, NULL);
    }
}

static void on_answer(rw_exec_t *ex, branch_t *b, nta_outgoing_t *orq)
{
    msg_t *rsp = nta_outgoing_getresponse(orq);
    if (rsp) {
        sip_header_remove(rsp, sip_object(rsp), (sip_header_t *) sip_object(rsp)->sip_via);
        relay(ex, rsp);           /* every 2xx is relayed (RFC 3261 16.7) */
    }
    if (ex->answered)
        return;
    ex->answered = ex->replied = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    cancel_all(ex, (int) (b - ex->br));
    if (ex->env->answered)
        rw_counter_inc(ex->env->answered);
    snprintf(ex->ev.target, sizeof ex->ev.target, "%s", b->uri);
    rw_exec_publish(ex->env, "call.answered", &ex->ev, 200, NULL);
}

/* Failure priority: 6xx, then 486, then other 4xx, then 5xx, then 408. */
static int rank(int st)
{
    return st >= 600 ? 5 : st == 486 ? 4 : st == 408 ? 1 : st >= 500 ? 2 : st >= 300 ? 3 : 0;
}

static void on_failure(rw_exec_t *ex, branch_t *b, nta_outgoing_t *orq, int st)
{
    if (b->cancelled && st == 487)
        return;
    if (b->t->type == RW_TARGET_NUMBER && (st == 503 || st == 408 || st == 500) && !ex->replied
        && b->gen == ex->gen && start_number(ex, b->t, b->trunk + 1) == 0)
        return;                   /* the next trunk carries it */
    if (rank(st) > rank(ex->best) || ex->best == 0) {
        ex->best = st;
        if (ex->best_msg)
            msg_destroy(ex->best_msg);
        ex->best_msg = nta_outgoing_getresponse(orq);
        if (ex->best_msg)
            sip_header_remove(ex->best_msg, sip_object(ex->best_msg),
                              (sip_header_t *) sip_object(ex->best_msg)->sip_via);
    }
    if (st >= 600 && !ex->replied) {   /* a global failure ends the call */
        msg_t *m = ex->best_msg;
        ex->best_msg = NULL;
        ex->replied = 1;
        cancel_all(ex, -1);
        if (ex->timer)
            su_timer_reset(ex->timer);
        if (m)
            relay(ex, m);
        else
            nta_incoming_treply(ex->irq, st, sip_status_phrase(st), TAG_END());
        if (ex->env->failed)
            rw_counter_inc(ex->env->failed);
        rw_exec_publish(ex->env, "call.failed", &ex->ev, st, "declined");
    }
}

static int on_branch(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    branch_t *b = (branch_t *) magic;
    rw_exec_t *ex = b->ex;
    int st = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (st < 200) {
        on_provisional(ex, b, orq, st);
        return 0;
    }
    if (st < 300)
        on_answer(ex, b, orq);
    else
        on_failure(ex, b, orq, st);
    b->status = st;
    nta_outgoing_destroy(orq);
    b->orq = NULL;
    check(ex);
    return 0;
}

static int on_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    rw_exec_t *ex = (rw_exec_t *) magic;
    (void) irq;
    (void) sip;
    if (ex->replied || ex->cancelled)
        return 0;
    ex->cancelled = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    cancel_all(ex, -1);
    ex->gen++;                    /* nothing of the current stage counts any more */
    ex->cur_lookups = 0;
    check(ex);
    return 0;
}

int rw_exec_start(rw_exec_env_t *env, nta_incoming_t *irq, msg_t *req, const rw_plan_t *plan,
                  const rw_route_req_t *rq, const rw_ev_call_t *ev, const char *record_route, int redirect)
{
    rw_exec_t *ex = calloc(1, sizeof *ex);
    if (!ex)
        return RW_ENOMEM;
    ex->timer = su_timer_create(su_root_task(env->root), 0);
    if (!ex->timer) {
        free(ex);
        return RW_ENOMEM;
    }
    ex->env = env;
    ex->irq = irq;
    ex->req = req;
    ex->plan = *plan;
    ex->rq = *rq;
    ex->ev = *ev;
    ex->redirect = redirect;
    ex->t0 = rw_clock_wall_ms();
    snprintf(ex->rr, sizeof ex->rr, "%s", record_route);
    ex->next = env->live;
    if (env->live)
        env->live->prev = ex;
    env->live = ex;
    env->n_live++;
    nta_incoming_bind(irq, on_cancel, (nta_incoming_magic_t *) ex);
    ex->lookups++;                /* hold the exec while the first stage starts */
    advance(ex);
    ex->lookups--;
    check(ex);
    return 0;
}

void rw_exec_abort_all(rw_exec_env_t *env)
{
    while (env->live) {
        rw_exec_t *ex = env->live;
        if (!ex->replied)
            nta_incoming_treply(ex->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        ex->replied = 1;
        cancel_all(ex, -1);
        free_exec(ex);
    }
}

int rw_exec_find(const rw_exec_env_t *env, const sip_t *sip)
{
    for (const rw_exec_t *ex = env->live; ex; ex = ex->next) {
        const sip_t *o = sip_object(ex->req);
        if (o && o->sip_call_id && o->sip_cseq && o->sip_from && sip->sip_from
            && !strcmp(o->sip_call_id->i_id, sip->sip_call_id->i_id)
            && o->sip_cseq->cs_seq == sip->sip_cseq->cs_seq
            && !strcmp(o->sip_from->a_tag ? o->sip_from->a_tag : "", sip->sip_from->a_tag ? sip->sip_from->a_tag : ""))
            return 1;
    }
    return 0;
}
