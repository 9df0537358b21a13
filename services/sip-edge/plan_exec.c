/* services/sip-edge/plan_exec.c — one call's plan carried out as a forking proxy (plan_exec.h):
 * stages, location lookups, colleague diverts, the caller's CANCEL and the call's life. The
 * branches themselves are plan_branch.c's. */
#include "services/sip-edge/plan_exec_priv.h"
#include "services/sip-edge/calls_live.h"
#include "services/sip-edge/divert.h"
#include "services/sip-edge/hunt.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

static void advance(rw_exec_t *ex);

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
        rw_str_copy(ev.call.reason, sizeof ev.call.reason, reason);
    if (rw_pub_publish(env->pub, &ev) == 0)
        rw_calls_live_note(env->calls_live, &ev);   /* O(1), memory only */
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

void rw_exec_strip_credentials(msg_t *msg, sip_t *sip)
{
    while (sip->sip_proxy_authorization)
        sip_header_remove(msg, sip, (sip_header_t *) sip->sip_proxy_authorization);
}

void rw_exec_relay_response(nta_incoming_t *irq, msg_t *rsp, int status)
{
    sip_t *rs = sip_object(rsp);
    if (!rs || !rs->sip_via) {
        msg_destroy(rsp);
        nta_incoming_treply(irq, status, sip_status_phrase(status), TAG_END());
        return;
    }
    rw_exec_strip_identity(rsp, rs);
    rw_hunt_relay_call_id(irq, rsp);   /* a queue call's offer has its own Call-ID (hunt.h) */
    nta_incoming_mreply(irq, rsp);
}

/* host (an IPv6 reference without its brackets) and port (default 5060) of a URI or Via. */
static int same_place(const char *ref, const char *port_str, const char *host, unsigned port)
{
    char h[64];
    size_t n = ref ? strlen(ref) : 0;
    if (!n || n >= sizeof h)
        return 0;
    if (ref[0] == '[' && n > 2) {
        memcpy(h, ref + 1, n - 2);
        h[n - 2] = '\0';
    } else
        memcpy(h, ref, n + 1);
    return !strcasecmp(h, host) && (port_str ? (unsigned) atoi(port_str) : 5060) == port;
}

/* msg's Contact names where msg came from: host, port, transport=tcp over TCP. */
static void contact_to_source(msg_t *msg, sip_contact_t *m, const char *host, unsigned port, int tcp)
{
    su_home_t *home = msg_home(msg);
    char ref[72], digits[8];
    snprintf(ref, sizeof ref, strchr(host, ':') ? "[%s]" : "%s", host);
    snprintf(digits, sizeof digits, "%u", port);
    url_t *c = m->m_url;
    char *h = su_strdup(home, ref), *p = su_strdup(home, digits);
    if (!h || !p)
        return;
    url_strip_transport(c);       /* its transport parameters and port */
    c->url_host = h;
    c->url_port = p;
    if (tcp)
        url_param_add(home, c, "transport=tcp");
    msg_fragment_clear(m->m_common);
}

/* Over UDP a source that is not the top Via's sent-by is a NAT; over TCP the device's own
 * connection is how it is reached (RFC 5923's idea). */
void rw_exec_nat_contact(msg_t *req)
{
    sip_t *sip = sip_object(req);
    su_addrinfo_t *ai = msg_addrinfo(req);
    char host[64];
    unsigned port = 0;
    if (!sip || !sip->sip_contact || !sip->sip_via || !ai || !ai->ai_addr
        || rw_peers_addr_host((const struct sockaddr *) ai->ai_addr, host, sizeof host, &port) != 0)
        return;
    int tcp = ai->ai_protocol == IPPROTO_TCP;
    if (!tcp && same_place(sip->sip_via->v_host, sip->sip_via->v_port, host, port))
        return;                   /* reachable where it says it is */
    contact_to_source(req, sip->sip_contact, host, port, tcp);
}

void rw_exec_nat_answer(msg_t *rsp, const url_t *target)
{
    sip_t *sip = sip_object(rsp);
    su_addrinfo_t *ai = msg_addrinfo(rsp);
    char host[64];
    unsigned port = 0;
    if (!sip || !sip->sip_contact || !target || !ai || !ai->ai_addr
        || rw_peers_addr_host((const struct sockaddr *) ai->ai_addr, host, sizeof host, &port) != 0)
        return;
    const url_t *c = sip->sip_contact->m_url;
    if (!same_place(target->url_host, target->url_port, host, port)
        || same_place(c->url_host, c->url_port, host, port))
        return;                   /* not reached at its source, or names it already */
    contact_to_source(rsp, sip->sip_contact, host, port, ai->ai_protocol == IPPROTO_TCP);
}

static void free_exec(rw_exec_t *ex)
{
    rw_exec_env_t *env = ex->env;
    rw_hunt_detach(ex);
    for (lookup_t *lk = ex->pending; lk; lk = lk->next)
        lk->ex = NULL;
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        env->live = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    env->n_live--;
    rw_exec_drop_branches(ex);
    if (ex->timer)
        su_timer_destroy(ex->timer);
    if (ex->irq)
        nta_incoming_destroy(ex->irq);
    if (ex->req)
        msg_destroy(ex->req);
    msg_destroy(ex->best_msg);
    free(ex->contacts);
    free(ex);
}

/* Our own final answer to the caller. */
static void reply_final(rw_exec_t *ex, int status, const char *phrase, const char *reason)
{
    if (ex->replied)
        return;
    ex->replied = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    rw_exec_cancel_all(ex, -1);
    nta_incoming_treply(ex->irq, status, phrase, TAG_END());
    if (status == 487 && ex->env->cancelled)
        rw_counter_inc(ex->env->cancelled);
    else if (ex->env->failed)
        rw_counter_inc(ex->env->failed);
    rw_exec_publish(ex->env, "call.failed", &ex->ev, status, reason);
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
            if (!rw_location_binding_rings(&b[i], lk->t->device))
                continue;         /* another device of the user (docs/sip-edge.md) */
            if (ex->redirect)
                rw_exec_add_contact(ex, b[i].contact);
            else
                rw_exec_send_branch(ex, lk->t, b[i].contact, b[i].path, b[i].received, 0);
        }
    }
    free(lk);
    rw_exec_check(ex);
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
    rw_exec_cancel_all(ex, -1);
    rw_proto_plan_copy(&ex->plan, plan);   /* t pointed into the old plan: not used after this */
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
                          : kind == RW_FALLBACK_EVALUATED ? ex->env->fb_evaluated
                          : kind == RW_FALLBACK_LAST_PLAN ? ex->env->fb_plan : ex->env->fb_devices;
        if (c)
            rw_counter_inc(c);
        divert_to(ex, lk->t, plan, kind);
    }
    free(lk);
    if (ex)
        rw_exec_check(ex);
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
            rw_exec_start_number(ex, t, 0);
        return;
    case RW_TARGET_VOICEMAIL:
        if (voicemail_uri(ex, t->mailbox, uri, sizeof uri) != 0)
            return;
        if (ex->redirect)
            rw_exec_add_contact(ex, uri);
        else
            rw_exec_send_branch(ex, t, uri, NULL, NULL, 0);
        return;
    case RW_TARGET_HUNTGROUP:
        rw_hunt_start(ex, t);     /* no huntgroup client, redirect mode: the stage is skipped */
        return;
    default:
        return;
    }
}

static void on_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_exec_t *ex = (rw_exec_t *) arg;
    (void) m;
    (void) t;
    if (ex->replied || ex->cancelled)
        return;
    rw_exec_cancel_all(ex, -1);           /* the stage rang out: its branches are cancelled */
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
            if (rw_hunt_active(ex))
                return;           /* the queue decides how long: no ring timer */
            if (rw_exec_live_branches(ex)) {
                su_timer_set_interval(ex->timer, on_timer, (su_timer_arg_t *) ex, st->ring_ms ? st->ring_ms : 20000);
                return;
            }
            continue;
        }
        if (!ex->in_final && (ex->plan.final == RW_FINAL_VOICEMAIL || ex->plan.final == RW_FINAL_NUMBER)) {
            ex->in_final = 1;
            start_target(ex, &ex->plan.final_target);
            if (rw_exec_live_branches(ex)) {
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
        rw_exec_relay(ex, m);
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
void rw_exec_check(rw_exec_t *ex)
{
    rw_hunt_check(ex);
    if (!ex->replied && ex->cancelled) {
        /* RFC 3261 16.10: the caller's answer comes from the cancelled branches: 487 once the
         * last one is final, or the 2xx of one that answered as the CANCEL crossed it (relayed
         * by on_answer: the call is up and the caller hangs up with BYE) */
        if (!rw_exec_any_branch(ex))
            reply_final(ex, SIP_487_REQUEST_TERMINATED, "cancelled");
    } else if (!ex->replied) {
        if (rw_exec_live_branches(ex))
            return;
        if (ex->redirect)
            send_redirect(ex);
        else
            advance(ex);
    }
    if (ex->replied && !ex->lookups && !rw_exec_any_branch(ex))
        free_exec(ex);
}

static int on_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    rw_exec_t *ex = (rw_exec_t *) magic;
    char reason[512];
    (void) irq;
    if (ex->replied || ex->cancelled)
        return 0;
    ex->cancelled = 1;
    if (ex->timer)
        su_timer_reset(ex->timer);
    /* the caller's Reason goes on to the branches (RFC 3326: why the phones stop ringing) */
    rw_exec_reason_lines(sip, reason, sizeof reason);
    rw_exec_cancel_with(ex, -1, reason);
    ex->gen++;                    /* nothing of the current stage counts any more */
    ex->cur_lookups = 0;
    rw_exec_check(ex);
    return 0;
}

int rw_exec_start(rw_exec_env_t *env, nta_incoming_t *irq, msg_t *req, const rw_plan_t *plan,
                  const rw_route_req_t *rq, const rw_ev_call_t *ev, const char *record_route, int redirect)
{
    rw_exec_t *ex = malloc(sizeof *ex);
    if (!ex)
        return RW_ENOMEM;
    memset(ex, 0, RW_EXEC_ZEROED);
    ex->timer = su_timer_create(su_root_task(env->root), 0);
    if (redirect)
        ex->contacts = calloc(RW_EXEC_MAX_BRANCHES, sizeof *ex->contacts);
    if (!ex->timer || (redirect && !ex->contacts)) {
        if (ex->timer)
            su_timer_destroy(ex->timer);
        free(ex->contacts);
        free(ex);
        return RW_ENOMEM;
    }
    ex->env = env;
    ex->irq = irq;
    ex->req = req;
    rw_proto_plan_copy(&ex->plan, plan);
    ex->rq = *rq;
    ex->ev = *ev;
    ex->redirect = redirect;
    ex->t0 = rw_clock_wall_ms();
    rw_str_copy(ex->rr, sizeof ex->rr, record_route);
    ex->next = env->live;
    if (env->live)
        env->live->prev = ex;
    env->live = ex;
    env->n_live++;
    nta_incoming_bind(irq, on_cancel, (nta_incoming_magic_t *) ex);
    ex->lookups++;                /* hold the exec while the first stage starts */
    advance(ex);
    ex->lookups--;
    rw_exec_check(ex);
    return 0;
}

void rw_exec_abort_all(rw_exec_env_t *env)
{
    while (env->live) {
        rw_exec_t *ex = env->live;
        if (!ex->replied)
            nta_incoming_treply(ex->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        ex->replied = 1;
        rw_exec_cancel_all(ex, -1);
        free_exec(ex);
    }
}

int rw_exec_find(const rw_exec_env_t *env, const sip_t *sip)
{
    for (const rw_exec_t *ex = env->live; ex; ex = ex->next)
        if (rw_exec_same_request(sip_object(ex->req), sip))
            return 1;
    return 0;
}

int rw_exec_same_request(const sip_t *a, const sip_t *b)
{
    const char *ta, *tb;
    if (!a || !b || !a->sip_call_id || !b->sip_call_id || !a->sip_cseq || !b->sip_cseq || !a->sip_from
        || !b->sip_from)
        return 0;
    ta = a->sip_from->a_tag ? a->sip_from->a_tag : "";
    tb = b->sip_from->a_tag ? b->sip_from->a_tag : "";
    return !strcmp(a->sip_call_id->i_id, b->sip_call_id->i_id) && a->sip_cseq->cs_seq == b->sip_cseq->cs_seq
           && !strcmp(ta, tb);
}
