/* services/sip-edge/subscribe.c — SUBSCRIBE/NOTIFY for presence and dialog (subscribe.h). */
#include "services/sip-edge/subscribe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "services/sip-edge/plan_exec.h"

typedef enum { PKG_PRESENCE = 0, PKG_DIALOG } pkg_t;

typedef struct sub {
    rw_subscribe_t *owner;
    nta_leg_t *leg;
    nta_outgoing_t *orq;                /* the NOTIFY in flight, if any */
    su_timer_t *timer;                  /* expiry */
    pkg_t pkg;
    char user[64], ext[64], contact[160];
    char event[96];                     /* the Event of its NOTIFYs: the package and the
                                         * SUBSCRIBE's id (RFC 6665 8.2.1: echoed) */
    char state[16], activity[16];
    unsigned version;                   /* dialog-info version, from 0 */
    uint64_t expires_ms;                /* monotonic ms when it ends */
    struct sub *prev, *next;
} sub_t;

typedef struct pend {                    /* a SUBSCRIBE being authenticated and looked up */
    rw_subscribe_t *owner;              /* NULL once the module is gone */
    nta_incoming_t *irq;
    const sip_t *sip;                   /* irq's request, alive while irq is */
    pkg_t pkg;
    unsigned expires;
    int looking_up;                     /* past auth: irq is ours to answer */
    char ext[64];
    struct pend *prev, *next;
} pend_t;

struct rw_subscribe {
    su_root_t *root;
    rw_edge_t *edge;
    nta_agent_t *agent;
    rw_auth_t *auth;
    rw_aredis_t *redis;
    rw_subscribe_opts_t opts;
    rw_sub_t *events;
    rw_watcher_t *watcher;
    sub_t *subs;
    pend_t *pending;
    size_t n_subs, n_pending;
    rw_counter_t *c_subscribed, *c_refused, *c_notify, *c_notify_failed;
    rw_gauge_t *g_subs;
};

static const char lookup_lua[] =
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return false end\n"
    "local p = redis.call('HMGET', 'rw:presence:' .. id, 'state', 'activity')\n"
    "return { id, p[1] or 'available', p[2] or 'idle' }\n";

int rw_subscribe_wants(const sip_t *sip)
{
    if (!sip || !sip->sip_request || sip->sip_request->rq_method != sip_method_subscribe || !sip->sip_event)
        return 0;
    const char *e = sip->sip_event->o_type;
    return e && (!strcasecmp(e, "presence") || !strcasecmp(e, "dialog"));
}

/* ---- bodies ------------------------------------------------------------------------------ */

static const char *body_type(pkg_t pkg)
{
    return pkg == PKG_PRESENCE ? "application/pidf+xml" : "application/dialog-info+xml";
}


static const char *rpid_activity(const char *state, const char *activity)
{
    if (!strcmp(activity, "on_call") || !strcmp(state, "busy"))
        return "on-the-phone";
    if (!strcmp(state, "in_meeting"))
        return "meeting";
    if (!strcmp(state, "away"))
        return "away";
    if (!strcmp(state, "dnd"))
        return "busy";
    return NULL;
}

static void body(const sub_t *s, const char *realm, char *out, size_t len)
{
    if (s->pkg == PKG_PRESENCE) {
        const char *act = rpid_activity(s->state, s->activity);
        snprintf(out, len,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
                 "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
                 "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:%s@%s\">\n"
                 " <tuple id=\"ringway\"><status><basic>%s</basic></status><note>%s</note></tuple>\n"
                 "%s%s%s"
                 "</presence>\n",
                 s->ext, realm, strcmp(s->state, "offline") ? "open" : "closed", s->state,
                 act ? " <dm:person id=\"p\"><rpid:activities><rpid:" : "", act ? act : "",
                 act ? "/></rpid:activities></dm:person>\n" : "");
        return;
    }
    const char *st = !strcmp(s->activity, "on_call") ? "confirmed" : !strcmp(s->activity, "ringing") ? "early" : NULL;
    char dialog[160] = "";
    if (st)
        snprintf(dialog, sizeof dialog, " <dialog id=\"%s\" direction=\"recipient\"><state>%s</state></dialog>\n",
                 s->ext, st);
    snprintf(out, len,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"%u\" state=\"full\" "
             "entity=\"sip:%s@%s\">\n%s</dialog-info>\n",
             s->version, s->ext, realm, dialog);
}

/* ---- subscriptions ----------------------------------------------------------------------- */

static void sub_free(sub_t *s)
{
    rw_subscribe_t *self = s->owner;
    if (self) {
        if (s->prev)
            s->prev->next = s->next;
        else
            self->subs = s->next;
        if (s->next)
            s->next->prev = s->prev;
        self->n_subs--;
        rw_gauge_set(self->g_subs, (double) self->n_subs);
    }
    if (s->orq)
        nta_outgoing_destroy(s->orq);
    if (s->timer)
        su_timer_destroy(s->timer);
    if (s->leg)
        nta_leg_destroy(s->leg);
    free(s);
}

static int on_notify_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    sub_t *s = (sub_t *) magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    nta_outgoing_destroy(orq);
    s->orq = NULL;
    if (status >= 300) {
        rw_counter_inc(s->owner->c_notify_failed);
        /* 481 or a timeout: the subscriber is gone (RFC 6665 4.2.2) */
        rw_log_info("subscription_dropped", RW_S("user", s->user), RW_I("status", status));
        sub_free(s);
    }
    return 0;
}

static void on_expired_fn(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg);

/* substate: "active;expires=N" or "terminated;reason=...". A terminated NOTIFY is sent and the
 * subscription freed at once (NTA finishes the transaction on its own). */
static void notify(sub_t *s, const char *substate, int terminated)
{
    rw_subscribe_t *self = s->owner;
    char text[1024], key[64];
    body(s, self->opts.realm, text, sizeof text);
    if (s->orq) {                       /* a newer state replaces the one still in flight */
        nta_outgoing_destroy(s->orq);
        s->orq = NULL;
    }
    const char *branch = rw_edge_branch(self->edge, key, sizeof key);
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        s->leg, terminated ? NULL : on_notify_answer, (nta_outgoing_magic_t *) s, NULL, SIP_METHOD_NOTIFY, NULL,
        SIPTAG_EVENT_STR(s->event), SIPTAG_SUBSCRIPTION_STATE_STR(substate),
        SIPTAG_CONTACT_STR(s->contact),
        SIPTAG_CONTENT_TYPE_STR(body_type(s->pkg)),
        SIPTAG_PAYLOAD_STR(text), TAG_IF(branch, NTATAG_BRANCH_KEY(branch)), TAG_END());
    s->version++;
    if (!orq) {
        rw_counter_inc(self->c_notify_failed);
        rw_log_warn("notify_not_sent", RW_S("user", s->user));
    } else {
        rw_counter_inc(self->c_notify);
    }
    if (terminated) {
        if (orq)
            nta_outgoing_destroy(orq);
        sub_free(s);
        return;
    }
    s->orq = orq;
}

static void notify_active(sub_t *s)
{
    char ss[48];
    uint64_t now = rw_clock_mono_us() / 1000;
    unsigned left = s->expires_ms > now ? (unsigned) ((s->expires_ms - now + 999) / 1000) : 0;
    snprintf(ss, sizeof ss, "active;expires=%u", left);
    notify(s, ss, 0);
}

static void arm(sub_t *s, unsigned expires_s)
{
    s->expires_ms = rw_clock_mono_us() / 1000 + (uint64_t) expires_s * 1000;
    su_timer_set_interval(s->timer, on_expired_fn, (su_timer_arg_t *) s, (su_duration_t) expires_s * 1000);
}

static void on_expired_fn(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    sub_t *s = (sub_t *) arg;
    (void) m, (void) t;
    notify(s, "terminated;reason=timeout", 1);
}

static unsigned clamp_expires(const rw_subscribe_t *self, const sip_t *sip)
{
    unsigned e = sip->sip_expires ? (unsigned) sip->sip_expires->ex_delta : self->opts.default_expires;
    return e > self->opts.max_expires ? self->opts.max_expires : e;
}

/* A SUBSCRIBE inside a subscription's dialog: a refresh, or Expires: 0 to end it. */
static int on_leg_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, const sip_t *sip)
{
    sub_t *s = (sub_t *) magic;
    char exp[16];
    (void) leg;
    if (!sip || !sip->sip_request)
        return 400;
    if (sip->sip_request->rq_method != sip_method_subscribe) {
        /* the dialog is a subscription and nothing else: RFC 3261 21.4.6 wants Allow with 405 */
        if (sip->sip_request->rq_method != sip_method_ack)
            nta_incoming_treply(irq, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR("SUBSCRIBE"), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    unsigned e = clamp_expires(s->owner, sip);
    if (e && e < s->owner->opts.min_expires) {
        snprintf(exp, sizeof exp, "%u", s->owner->opts.min_expires);
        nta_incoming_treply(irq, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(exp), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    snprintf(exp, sizeof exp, "%u", e);
    nta_incoming_treply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(exp), SIPTAG_CONTACT_STR(s->contact), TAG_END());
    nta_incoming_destroy(irq);
    if (!e) {
        notify(s, "terminated;reason=timeout", 1);
        return 0;
    }
    arm(s, e);
    notify_active(s);
    return 0;
}

static void pend_free(pend_t *p)
{
    rw_subscribe_t *self = p->owner;
    if (self) {
        if (p->prev)
            p->prev->next = p->next;
        else
            self->pending = p->next;
        if (p->next)
            p->next->prev = p->prev;
        self->n_pending--;
    }
    free(p);
}

static void answer(pend_t *p, int status, const char *phrase)
{
    nta_incoming_treply(p->irq, status, phrase, TAG_END());
    nta_incoming_destroy(p->irq);
    pend_free(p);
}

/* The user watched and their state: make the subscription, answer 200, first NOTIFY. */
static void start(pend_t *p, const char *user, const char *state, const char *activity)
{
    rw_subscribe_t *self = p->owner;
    const sip_t *sip = p->sip;
    const url_t *ru = sip->sip_request->rq_url;
    char exp[16];
    sub_t *s = calloc(1, sizeof *s);
    if (!s) {
        answer(p, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    s->owner = self;
    s->pkg = p->pkg;
    snprintf(s->user, sizeof s->user, "%s", user);
    snprintf(s->ext, sizeof s->ext, "%s", p->ext);
    snprintf(s->state, sizeof s->state, "%s", state);
    snprintf(s->activity, sizeof s->activity, "%s", activity);
    const char *id = sip->sip_event ? sip->sip_event->o_id : NULL;
    if (id && strlen(id) < 64 && !strpbrk(id, "\r\n;,\"<>"))
        snprintf(s->event, sizeof s->event, "%s;id=%s", s->pkg == PKG_PRESENCE ? "presence" : "dialog", id);
    else
        snprintf(s->event, sizeof s->event, "%s", s->pkg == PKG_PRESENCE ? "presence" : "dialog");
    snprintf(s->contact, sizeof s->contact, "<sip:%s@%s%s%s>", p->ext, ru->url_host ? ru->url_host : "",
             ru->url_port ? ":" : "", ru->url_port ? ru->url_port : "");
    /* a subscriber behind NAT gets its NOTIFYs where its SUBSCRIBE came from (plan_exec.h) */
    msg_t *req = nta_incoming_getrequest(p->irq);   /* the message sip belongs to */
    rw_exec_nat_contact(req);
    msg_destroy(req);             /* our reference only */
    s->leg = nta_leg_tcreate(self->agent, on_leg_request, (nta_leg_magic_t *) s, SIPTAG_CALL_ID(sip->sip_call_id),
                             SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                             NTATAG_REMOTE_CSEQ(sip->sip_cseq ? sip->sip_cseq->cs_seq : 0), TAG_END());
    s->timer = su_timer_create(su_root_task(self->root), 1000);
    if (!s->leg || !s->timer || !nta_leg_tag(s->leg, NULL)
        || nta_leg_server_route(s->leg, sip->sip_record_route, sip->sip_contact) < 0) {
        s->owner = NULL;
        sub_free(s);
        answer(p, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    s->next = self->subs;
    if (s->next)
        s->next->prev = s;
    self->subs = s;
    self->n_subs++;
    rw_gauge_set(self->g_subs, (double) self->n_subs);
    rw_counter_inc(self->c_subscribed);
    snprintf(exp, sizeof exp, "%u", p->expires);
    nta_incoming_tag(p->irq, nta_leg_get_tag(s->leg));
    nta_incoming_treply(p->irq, SIP_200_OK, SIPTAG_EXPIRES_STR(exp), SIPTAG_CONTACT_STR(s->contact), TAG_END());
    nta_incoming_destroy(p->irq);
    unsigned e = p->expires;
    pend_free(p);
    rw_log_info("subscribed", RW_S("user", s->user), RW_S("package", s->pkg == PKG_PRESENCE ? "presence" : "dialog"),
                RW_U("expires", e));
    if (!e) {                           /* a one-time fetch (RFC 6665 4.1.2.2 / 3.1.1) */
        notify(s, "terminated;reason=timeout", 1);
        return;
    }
    arm(s, e);
    notify_active(s);
}

static void on_lookup(void *arg, redisReply *r)
{
    pend_t *p = arg;
    if (!p->owner) {                    /* the module is gone: irq was answered then */
        free(p);
        return;
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        answer(p, SIP_503_SERVICE_UNAVAILABLE);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING) {
        rw_counter_inc(p->owner->c_refused);
        answer(p, SIP_404_NOT_FOUND);
        return;
    }
    start(p, r->element[0]->str, r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "available",
          r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : "idle");
}

static void on_auth(void *arg, rw_auth_result_t res, const char *ext, const char *user_id)
{
    pend_t *p = arg;
    (void) ext, (void) user_id;
    if (!p->owner || res != RW_AUTH_OK) {   /* the auth module answered irq */
        if (p->owner)
            rw_counter_inc(p->owner->c_refused);
        pend_free(p);
        return;
    }
    p->looking_up = 1;
    if (rw_aredis_command(p->owner->redis, on_lookup, p, "EVAL %s 1 rw:num:%s", lookup_lua, p->ext) < 0)
        answer(p, SIP_503_SERVICE_UNAVAILABLE);
}

/* 1 when the subscriber's Accept (none: the package's default) takes the package's body type,
 * by name or by a wildcard for every application type or every type; a q of 0 refuses it. */
static int accepts(const sip_t *sip, pkg_t pkg)
{
    const char *want = body_type(pkg);
    int listed = 0;
    for (const sip_accept_t *a = sip->sip_accept; a; a = a->ac_next) {
        if (!a->ac_type || !*a->ac_type)
            continue;
        listed = 1;
        if ((!strcasecmp(a->ac_type, want) || !strcmp(a->ac_type, "*/*") || !strcasecmp(a->ac_type, "application/*"))
            && !(a->ac_q && atof(a->ac_q) <= 0.0))
            return 1;
    }
    return !listed;
}

int rw_subscribe_request(rw_subscribe_t *self, nta_incoming_t *irq, const sip_t *sip)
{
    char exp[16];
    if (sip->sip_to && sip->sip_to->a_tag)
        return 481;                     /* a refresh of a subscription not held here */
    const url_t *ru = sip->sip_request->rq_url;
    if (!ru->url_user || !ru->url_user[0] || strlen(ru->url_user) >= 64)
        return 404;
    if (self->n_subs + self->n_pending >= self->opts.max_subs)
        return 503;
    unsigned e = clamp_expires(self, sip);
    if (e && e < self->opts.min_expires) {
        snprintf(exp, sizeof exp, "%u", self->opts.min_expires);
        nta_incoming_treply(irq, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(exp), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    pkg_t pkg = !strcasecmp(sip->sip_event->o_type, "dialog") ? PKG_DIALOG : PKG_PRESENCE;
    if (!accepts(sip, pkg)) {           /* the NOTIFYs could carry nothing it reads */
        nta_incoming_treply(irq, SIP_406_NOT_ACCEPTABLE, SIPTAG_ACCEPT_STR(body_type(pkg)), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    pend_t *p = calloc(1, sizeof *p);
    if (!p)
        return 500;
    p->owner = self;
    p->irq = irq;
    p->sip = sip;
    p->expires = e;
    p->pkg = pkg;
    snprintf(p->ext, sizeof p->ext, "%s", ru->url_user);
    p->next = self->pending;
    if (p->next)
        p->next->prev = p;
    self->pending = p;
    self->n_pending++;
    if (rw_auth_check(self->auth, irq, sip, 1, on_auth, p) < 0) {
        pend_free(p);
        return 500;
    }
    return 0;
}

/* ---- presence.changed ------------------------------------------------------------------- */

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    rw_subscribe_t *self = arg;
    (void) st;
    if (rw_proto_event_family(ev->type) != RW_EVF_PRESENCE)
        return;
    static const char *const names[] = { "available", "busy", "away", "in_meeting", "dnd", "offline" };
    const char *state = names[(unsigned) ev->presence.state % 6];
    const char *activity = ev->presence.activity[0] ? ev->presence.activity : "idle";
    for (sub_t *s = self->subs, *next; s; s = next) {
        next = s->next;
        if (strcmp(s->user, ev->presence.user))
            continue;
        int changed = s->pkg == PKG_PRESENCE ? strcmp(s->state, state) || strcmp(s->activity, activity)
                                             : strcmp(s->activity, activity) != 0;
        snprintf(s->state, sizeof s->state, "%s", state);
        snprintf(s->activity, sizeof s->activity, "%s", activity);
        if (changed)
            notify_active(s);
    }
}

static void on_publishers(void *arg, const char *const *endpoints, size_t n)
{
    rw_subscribe_t *self = arg;
    rw_sub_set_endpoints(self->events, endpoints, n);
}

rw_subscribe_t *rw_subscribe_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_aredis_t *redis,
                                 rw_metrics_t *m, const rw_subscribe_opts_t *opts)
{
    rw_subscribe_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->root = root;
    self->edge = edge;
    self->agent = rw_edge_agent(edge);
    self->auth = auth;
    self->redis = redis;
    self->opts = *opts;
    if (!self->opts.max_subs)
        self->opts.max_subs = 10000;
    self->c_subscribed = rw_metrics_counter(m, "subscriptions_total", "SUBSCRIBEs for presence or dialog accepted");
    self->c_refused = rw_metrics_counter(m, "subscriptions_refused_total", "SUBSCRIBEs refused (auth, unknown user)");
    self->c_notify = rw_metrics_counter(m, "notify_sent_total", "NOTIFYs sent to subscribers");
    self->c_notify_failed = rw_metrics_counter(m, "notify_failed_total", "NOTIFYs not sent or answered with an error");
    self->g_subs = rw_metrics_gauge(m, "subscriptions", "Presence and dialog subscriptions held now");
    if (opts->presence_events && opts->presence_events[0]) {
        self->events = rw_sub_new(root, on_event, self, m);
        if (!self->events || rw_sub_subscribe(self->events, "presence.") < 0
            || !(self->watcher = rw_watcher_new(root, redis, opts->presence_events, 500, NULL, on_publishers, self))) {
            rw_subscribe_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void rw_subscribe_destroy(rw_subscribe_t **pself)
{
    rw_subscribe_t *self = pself ? *pself : NULL;
    if (!self)
        return;
    rw_watcher_destroy(&self->watcher);
    rw_sub_destroy(&self->events);
    /* requests past auth are answered here; their Redis callbacks only free them. Those still
     * in auth are answered by it (it must be destroyed after this module). */
    for (pend_t *p = self->pending; p; p = p->next) {
        if (p->looking_up) {
            nta_incoming_treply(p->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
            nta_incoming_destroy(p->irq);
        }
        p->owner = NULL;
    }
    while (self->subs)
        sub_free(self->subs);
    free(self);
    *pself = NULL;
}

size_t rw_subscribe_count(const rw_subscribe_t *self)
{
    return self ? self->n_subs : 0;
}
