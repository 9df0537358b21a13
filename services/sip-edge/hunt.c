/* services/sip-edge/hunt.c — the hunt-group leg of a call (hunt.h). One state machine per
 * queued caller: ask `next`; on `offer` look each new agent's extension up, then their
 * bindings, and fork to them inside the exec's current stage; on `wait` ask again after
 * retry_ms; report `no_answer` / `busy` when every offered branch failed or rang out,
 * `answered` at the winning 2xx, `caller_gone` at the caller's CANCEL; `overflow` and errors
 * rewrite the plan's final action and end the stage. A leg outlives its exec (detached, ex =
 * NULL) while a request or lookup of its own is in flight; the last one frees it. */
#include "services/sip-edge/hunt.h"
#include "services/sip-edge/plan_exec_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/e164.h"
#include "common/err.h"
#include "common/log.h"
#include "protocols/huntgroup.h"

#define HUNT_MAX_FAILURES 3       /* bus requests in a row that no instance answered */
#define HUNT_MAX_GROUPS 4         /* overflows to another group, at most */
#define HUNT_REASK_MS 200         /* after a failed request */

struct rw_hunt_env {
    rw_hunt_opts_t o;
    rw_counter_t *offers, *overflows, *errors, *answered, *abandoned;
};

struct rw_hunt {
    rw_exec_t *ex;                /* NULL once the exec is freed (detached) */
    int done;                     /* the leg ended; the exec may still run (its final action),
                                     and its branches still point at targets[] */
    rw_hunt_env_t *env;
    su_timer_t *timer;
    int refs;                     /* the exec's, plus one per request or lookup in flight */
    int asking;                   /* a `next` is in flight */
    int reporting;                /* an offer's outcome is in flight: `next` waits for it */
    uint32_t then_ms;             /* then ask at once (0) or after this long */
    unsigned reports, asked_at;   /* outcomes the leg waited for; their count when `next` went */
    int offered;                  /* agents ring for the current offer */
    int lookups;                  /* agent lookups of the current offer in flight */
    int sent;                     /* branches the current offer forked */
    int failures, groups;
    unsigned offer_no;            /* bumped at each new offer: late lookups of an old one drop */
    unsigned gen;                 /* the exec's stage generation the leg belongs to */
    uint64_t ring_until;          /* monotonic ms the offer rings until */
    uint32_t retry_ms;
    size_t rr_len;                /* ex->rr up to its closing '>' (no ;hg=N yet) */
    char call_id[128], group[160];
    uint32_t n_agents;
    rw_hg_agent_t agents[RW_HG_MAX_AGENTS];
    rw_target_t targets[RW_HG_MAX_AGENTS];   /* the branches' targets: one per agent */
};

typedef struct {                  /* one agent's lookup: extension, then bindings */
    rw_hunt_t *h;
    unsigned idx, offer;
} agent_lookup_t;

rw_hunt_env_t *rw_hunt_env_new(const rw_hunt_opts_t *opts, rw_metrics_t *m)
{
    rw_hunt_env_t *env = calloc(1, sizeof *env);
    if (!env)
        return NULL;
    env->o = *opts;
    if (env->o.queued_status != 182)
        env->o.queued_status = 180;
    if (!env->o.deadline_ms)
        env->o.deadline_ms = 400;
    if (m) {
        env->offers = rw_metrics_counter(m, "hunt_offers_total", "hunt group offers rung (one per offer, all its agents)");
        env->overflows = rw_metrics_counter(m, "hunt_overflows_total", "queued callers sent to their group's overflow");
        env->errors = rw_metrics_counter(m, "hunt_errors_total", "hunt group legs ended by an error or no huntgroup answer (plan's final action)");
        env->answered = rw_metrics_counter(m, "hunt_answered_total", "queued callers answered by an agent");
        env->abandoned = rw_metrics_counter(m, "hunt_abandoned_total", "queued callers who hung up while waiting");
    }
    return env;
}

rw_client_t *rw_hunt_env_client(const rw_hunt_env_t *env, unsigned *deadline_ms)
{
    if (!env)
        return NULL;
    *deadline_ms = env->o.deadline_ms;
    return env->o.client;
}

void rw_hunt_env_destroy(rw_hunt_env_t **pself)
{
    if (!pself || !*pself)
        return;
    free(*pself);
    *pself = NULL;
}

/* The leg still carries the call. */
static int live(const rw_hunt_t *h)
{
    return h->ex && !h->done;
}

static void unref(rw_hunt_t *h)
{
    if (--h->refs > 0)
        return;
    if (h->timer)
        su_timer_destroy(h->timer);
    free(h);
}

static void count(rw_counter_t *c)
{
    if (c)
        rw_counter_inc(c);
}

/* ---- Requests ----------------------------------------------------------------------------- */
typedef struct {                  /* one outcome in flight */
    rw_hunt_t *h;                 /* the leg asking `next` once it is in (a ref), or NULL */
    uint32_t then_ms;             /* when to ask: 0 at once, else after this long */
    char call_id[128];
} outcome_t;

static void ask(rw_hunt_t *h);
static void later(rw_hunt_t *h, uint32_t ms);
static void unref(rw_hunt_t *h);
static int live(const rw_hunt_t *h);

static void on_outcome_reply(void *arg, int status, const void *body, size_t len)
{
    rw_hg_reply_t rep;
    outcome_t *o = arg;
    if (status == 0 && rw_proto_hg_reply_decode(body, len, &rep) == 0 && rep.status == RW_HGS_ERROR)
        rw_log_warn("hunt_outcome_refused", RW_S("call_id", o->call_id), RW_S("reason", rep.reason));
    else if (status != 0)
        rw_log_warn("hunt_outcome_unanswered", RW_S("call_id", o->call_id), RW_I("status", status));
    rw_hunt_t *h = o->h;
    free(o);
    if (!h)
        return;
    h->reporting = 0;
    if (live(h)) {
        if (h->then_ms)
            later(h, h->then_ms);
        else
            ask(h);
    }
    unref(h);
}

/* Logged when refused. With h, the leg's next `next` waits for it (h->reporting meanwhile):
 * asked at once, or after then_ms. A `next` racing an offer's no_answer or busy to another
 * instance would find the agents still offered to this call and be given them again, and
 * their outcome would then undo that offer; a reply to a `next` sent before the outcome is
 * dropped for the same reason. */
static void report_and(rw_hunt_env_t *env, const char *call_id, rw_hg_result_t result, const char *agent,
                       uint64_t talk_ms, rw_hunt_t *h, uint32_t then_ms)
{
    rw_hg_req_t rq;
    msgpack_sbuffer sb;
    outcome_t *o = env->o.client ? calloc(1, sizeof *o) : NULL;
    if (o) {
        memset(&rq, 0, sizeof rq);
        rq.op = RW_HGOP_OUTCOME;
        rq.result = result;
        rq.talk_ms = talk_ms;
        snprintf(rq.call_id, sizeof rq.call_id, "%s", call_id);
        snprintf(rq.agent, sizeof rq.agent, "%s", agent ? agent : "");
        snprintf(o->call_id, sizeof o->call_id, "%s", call_id);
        o->h = h;
        msgpack_sbuffer_init(&sb);
        if (rw_proto_hg_req_encode(&rq, &sb) != 0
            || rw_client_request(env->o.client, sb.data, sb.size, env->o.deadline_ms, on_outcome_reply, o) != 0) {
            free(o);
            o = NULL;
        }
        msgpack_sbuffer_destroy(&sb);
    }
    if (!h)
        return;
    if (o) {                      /* on_outcome_reply asks */
        h->refs++;
        h->reports++;
        h->reporting = 1;
        h->then_ms = then_ms;
    } else if (then_ms)
        later(h, then_ms);
    else
        ask(h);
}

/* Fire and forget: the outcome does not change what the call does. */
static void report(rw_hunt_env_t *env, const char *call_id, rw_hg_result_t result, const char *agent,
                   uint64_t talk_ms)
{
    report_and(env, call_id, result, agent, talk_ms, NULL, 0);
}

static void fail_leg(rw_hunt_t *h, const char *why);

static void on_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_hunt_t *h = (rw_hunt_t *) arg;
    (void) m;
    (void) t;
    if (!live(h))
        return;
    if (h->failures >= HUNT_MAX_FAILURES) {
        fail_leg(h, "no huntgroup answered");
        return;
    }
    if (h->offered && rw_clock_mono_ms() >= h->ring_until) {
        /* the offer rang out: its branches are cancelled, every agent offered missed it */
        rw_exec_cancel_all(h->ex, -1);
        h->offered = 0;
        report_and(h->env, h->call_id, RW_HGR_NO_ANSWER, "", 0, h, 0);
        return;
    }
    ask(h);
}

static void later(rw_hunt_t *h, uint32_t ms)
{
    if (h->offered) {
        uint64_t now = rw_clock_mono_ms();
        uint64_t left = h->ring_until > now ? h->ring_until - now : 0;
        if (left < ms)
            ms = (uint32_t) left;
    }
    su_timer_set_interval(h->timer, on_timer, (su_timer_arg_t *) h, ms ? ms : 1);
}

/* The leg is over: the exec moves on to its final action (or has answered / been cancelled). */
static void end_leg(rw_hunt_t *h)
{
    rw_exec_t *ex = h->ex;
    if (!live(h))
        return;
    su_timer_reset(h->timer);
    h->done = 1;
    ex->lookups--;
    if (ex->gen == h->gen && ex->cur_lookups > 0)
        ex->cur_lookups--;
}

/* The plan's final action stands for the group's overflow (an error keeps the router's). */
static void set_final(rw_exec_t *ex, const char *overflow)
{
    rw_target_t *ft = &ex->plan.final_target;
    memset(ft, 0, sizeof *ft);
    if (!strncmp(overflow, "number:", 7) && overflow[7]) {
        ex->plan.final = RW_FINAL_NUMBER;
        ft->type = RW_TARGET_NUMBER;
        snprintf(ft->number, sizeof ft->number, "%.127s", overflow + 7);
    } else if (!strncmp(overflow, "voicemail:", 10) && overflow[10]) {
        ex->plan.final = RW_FINAL_VOICEMAIL;
        ft->type = RW_TARGET_VOICEMAIL;
        snprintf(ft->mailbox, sizeof ft->mailbox, "%.127s", overflow + 10);
    } else {
        ex->plan.final = RW_FINAL_BUSY;
    }
}

/* Ends the stage: agents' failures are forgotten (the final action's answer is the caller's). */
static void finish_stage(rw_hunt_t *h)
{
    rw_exec_t *ex = h->ex;
    rw_exec_cancel_all(ex, -1);
    ex->best = 0;
    msg_destroy(ex->best_msg);
    ex->best_msg = NULL;
    end_leg(h);
    rw_exec_check(ex);
}

static void fail_leg(rw_hunt_t *h, const char *why)
{
    rw_log_warn("hunt_failed", RW_S("call_id", h->call_id), RW_S("group", h->group), RW_S("reason", why));
    count(h->env->errors);
    finish_stage(h);
}

/* ---- Each offer its own dialog (hunt_dialog.c maps the dialog's later messages) ---------- */
/* The caller's INVITE with the current offer's Call-ID (NULL: no memory). */
static msg_t *offer_request(const rw_hunt_t *h)
{
    char id[300];
    msg_t *m = msg_dup(h->ex->req);
    sip_t *s = sip_object(m);
    sip_call_id_t *c = NULL;
    if (s && s->sip_call_id && rw_hunt_offer_call_id(s->sip_call_id->i_id, h->offer_no, id, sizeof id) == 0)
        c = sip_call_id_make(msg_home(m), id);
    if (!c || msg_header_replace(m, (msg_pub_t *) s, (msg_header_t *) s->sip_call_id, (msg_header_t *) c) < 0) {
        msg_destroy(m);
        return NULL;
    }
    return m;
}

/* Our Record-Route names the offer: <sip:edge;lr;hg=N>. */
static void mark_rr(rw_hunt_t *h)
{
    rw_exec_t *ex = h->ex;
    if (h->rr_len)
        snprintf(ex->rr + h->rr_len, sizeof ex->rr - h->rr_len, ";" RW_HUNT_RR_PARAM "=%u>", h->offer_no);
}

/* ---- Agents: extension, bindings, branches ----------------------------------------------- */
static void on_bindings(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache)
{
    agent_lookup_t *al = arg;
    rw_hunt_t *h = al->h;
    (void) from_cache;
    h->lookups--;
    if (live(h) && status == 0 && al->offer == h->offer_no && h->offered) {
        const rw_target_t *t = &h->targets[al->idx];
        msg_t *caller = h->ex->req, *leg = h->rr_len ? offer_request(h) : NULL;
        if (leg)
            h->ex->req = leg;     /* the branches copy it: every agent sees the offer's Call-ID */
        for (size_t i = 0; i < n; i++)
            if (rw_location_binding_rings(&b[i], t->device)
                && rw_exec_send_branch(h->ex, t, b[i].contact, b[i].path, b[i].received, 0) == 0)
                h->sent++;
        h->ex->req = caller;
        msg_destroy(leg);
    }
    rw_exec_t *ex = live(h) ? h->ex : NULL;
    free(al);
    unref(h);
    if (ex)
        rw_exec_check(ex);
}

static void on_extension(void *arg, redisReply *r)
{
    agent_lookup_t *al = arg;
    rw_hunt_t *h = al->h;
    if (live(h) && h->offered && al->offer == h->offer_no && r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_STRING) {
        rw_target_t *t = &h->targets[al->idx];
        const char *realm = r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len
                            ? r->element[1]->str : h->ex->env->realm;
        snprintf(t->aor, sizeof t->aor, "sip:%s@%s", r->element[0]->str, realm);
        if (rw_location_lookup(h->ex->env->loc, t->aor, on_bindings, al) == 0)
            return;               /* on_bindings ends this lookup */
    }
    h->lookups--;
    rw_exec_t *ex = live(h) ? h->ex : NULL;
    free(al);
    unref(h);
    if (ex)
        rw_exec_check(ex);
}

/* Rings agent idx (already in agents[]): its user's extension, then their bindings. */
static void ring_agent(rw_hunt_t *h, unsigned idx)
{
    rw_target_t *t = &h->targets[idx];
    memset(t, 0, sizeof *t);
    t->type = RW_TARGET_DEVICES;
    _Static_assert(sizeof t->device == sizeof h->agents[idx].device, "a member's device fits a target's");
    memcpy(t->device, h->agents[idx].device, sizeof t->device);
    t->device[sizeof t->device - 1] = '\0';
    agent_lookup_t *al = calloc(1, sizeof *al);
    if (!al)
        return;
    *al = (agent_lookup_t){ h, idx, h->offer_no };
    h->refs++;
    h->lookups++;
    if (rw_aredis_command(h->env->o.redis, on_extension, al, "HMGET rw:user:%s ext realm", h->agents[idx].user) != 0) {
        h->refs--;
        h->lookups--;
        free(al);
    }
}

static int known_agent(const rw_hunt_t *h, const char *user)
{
    for (uint32_t i = 0; i < h->n_agents; i++)
        if (!strcmp(h->agents[i].user, user))
            return 1;
    return 0;
}

/* A call has RW_EXEC_MAX_BRANCHES branch slots and a long wait makes many offers: slots at
 * the end whose branch is over are taken again (a live branch's slot never moves: NTA and
 * branch.c point at it). */
static void trim_branches(rw_exec_t *ex)
{
    while (ex->n_br > 0 && !ex->br[ex->n_br - 1].orq && !ex->br[ex->n_br - 1].own)
        ex->n_br--;
}

static void on_offer(rw_hunt_t *h, const rw_hg_reply_t *rep)
{
    if (!h->offered) {
        h->offered = 1;
        h->offer_no++;
        h->n_agents = 0;
        h->sent = 0;
        trim_branches(h->ex);
        mark_rr(h);
        h->ring_until = rw_clock_mono_ms() + (rep->ring_ms ? rep->ring_ms : 15000);
        count(h->env->offers);
    }
    /* a repeated `next` gets the same agents again; ring_progressive may add one */
    for (uint32_t i = 0; i < rep->n_agents && h->n_agents < RW_HG_MAX_AGENTS; i++) {
        if (known_agent(h, rep->agents[i].user))
            continue;
        h->agents[h->n_agents] = rep->agents[i];
        rw_log_info("hunt_offer", RW_S("call_id", h->call_id), RW_S("group", h->group),
                    RW_S("agent", rep->agents[i].user));
        ring_agent(h, h->n_agents++);
    }
}

static void on_next(void *arg, int status, const void *body, size_t len)
{
    rw_hunt_t *h = arg;
    rw_hg_reply_t rep;
    h->asking = 0;
    if (!live(h) || h->reporting || h->asked_at != h->reports) {
        /* asked before an offer's outcome: the answer may predate it; ask again once it is in */
        if (live(h) && !h->reporting)
            ask(h);
        unref(h);
        return;
    }
    if (status != 0 || rw_proto_hg_reply_decode(body, len, &rep) != 0) {
        if (++h->failures >= HUNT_MAX_FAILURES)
            fail_leg(h, status == 0 ? "bad reply" : "no huntgroup answered");
        else
            later(h, HUNT_REASK_MS);
        unref(h);
        return;
    }
    h->failures = 0;
    h->retry_ms = rep.retry_ms ? rep.retry_ms : 1000;
    switch (rep.status) {
    case RW_HGS_OFFER:
        on_offer(h, &rep);
        later(h, h->retry_ms);
        break;
    case RW_HGS_WAIT:
        later(h, h->retry_ms);
        break;
    case RW_HGS_OVERFLOW:
        rw_log_info("hunt_overflow", RW_S("call_id", h->call_id), RW_S("group", h->group),
                    RW_S("overflow", rep.overflow), RW_S("reason", rep.reason));
        count(h->env->overflows);
        if (!strncmp(rep.overflow, "group:", 6) && rep.overflow[6] && ++h->groups < HUNT_MAX_GROUPS) {
            snprintf(h->group, sizeof h->group, "%.153s", rep.overflow + 6);
            h->offered = 0;
            later(h, 1);
            break;
        }
        set_final(h->ex, rep.overflow);
        finish_stage(h);
        break;
    default:
        fail_leg(h, rep.reason[0] ? rep.reason : "error");
    }
    unref(h);
}

/* The caller as the router compares it: a trunk's national format in E.164, so the group's
 * priority list and caller_skills prefixes (E.164) match it; anything else as presented. */
static void caller_e164(const char *presented, char *out, size_t out_len)
{
    rw_num_kind_t kind;
    if (rw_e164_normalise(&rw_numplan_uk, presented, out, out_len, &kind) < 0)
        snprintf(out, out_len, "%s", presented);
}

static void ask(rw_hunt_t *h)
{
    rw_hg_req_t rq;
    msgpack_sbuffer sb;
    if (h->asking || h->reporting || !live(h))
        return;
    h->asked_at = h->reports;
    memset(&rq, 0, sizeof rq);
    rq.op = RW_HGOP_NEXT;
    snprintf(rq.call_id, sizeof rq.call_id, "%s", h->call_id);
    snprintf(rq.group, sizeof rq.group, "%.63s", h->group);
    caller_e164(h->ex->rq.caller, rq.caller, sizeof rq.caller);
    snprintf(rq.dialled, sizeof rq.dialled, "%s", h->ex->rq.callee);
    msgpack_sbuffer_init(&sb);
    h->refs++;
    h->asking = 1;
    if (rw_proto_hg_req_encode(&rq, &sb) != 0
        || rw_client_request(h->env->o.client, sb.data, sb.size, h->env->o.deadline_ms, on_next, h) != 0) {
        h->refs--;
        h->asking = 0;
        h->failures++;            /* the timer ends the leg after too many: never from here */
        later(h, HUNT_REASK_MS);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* ---- The exec's side ---------------------------------------------------------------------- */
int rw_hunt_start(rw_exec_t *ex, const rw_target_t *t)
{
    rw_hunt_env_t *env = ex->env->hunt;
    if (!env || !env->o.client || ex->redirect || ex->hunt || !t->group[0])
        return RW_EINVAL;
    rw_hunt_t *h = calloc(1, sizeof *h);
    if (!h || !(h->timer = su_timer_create(su_root_task(ex->env->root), 0))) {
        free(h);
        return RW_ENOMEM;
    }
    h->ex = ex;
    h->env = env;
    h->refs = 1;                  /* the exec's, given back by end_leg */
    h->gen = ex->gen;
    snprintf(h->call_id, sizeof h->call_id, "%s", ex->ev.call_id);
    snprintf(h->group, sizeof h->group, "%s", t->group);
    /* Dialogs with an agent record a Route marked ";hg=N" (the offer, mark_rr): their BYE, at
     * whichever sip-edge process, is the only one that looks the queue call up (rw_hunt_bye),
     * and their requests get the offer's Call-ID (rw_hunt_dialog) */
    size_t n = strlen(ex->rr);
    if (n > 1 && ex->rr[n - 1] == '>' && n + 16 < sizeof ex->rr && !strstr(ex->rr, ";" RW_HUNT_RR_PARAM))
        h->rr_len = n - 1;
    ex->hunt = h;
    ex->lookups++;                /* the leg holds the call and keeps its stage alive */
    ex->cur_lookups++;
    if (!ex->sent180) {           /* ringback while queued (or 182: the caller plays its own) */
        ex->sent180 = 1;
        if (env->o.queued_status == 182)
            nta_incoming_treply(ex->irq, SIP_182_QUEUED, TAG_END());
        else
            nta_incoming_treply(ex->irq, SIP_180_RINGING, TAG_END());
    }
    rw_log_info("hunt_queued", RW_S("call_id", h->call_id), RW_S("group", h->group));
    ask(h);
    return 0;
}

/* Branches of the current offer still ringing, or agents still being looked up. */
static int offer_live(const rw_hunt_t *h)
{
    const rw_exec_t *ex = h->ex;
    int n = h->lookups;
    for (unsigned i = 0; i < ex->n_br; i++) {
        const branch_t *b = &ex->br[i];
        n += (b->orq || b->own) && !b->cancelled && b->gen == ex->gen;
    }
    return n;
}

/* The agent whose branch answered (the exec relayed its 2xx and cancelled the others). */
static const char *winner(const rw_hunt_t *h)
{
    const rw_exec_t *ex = h->ex;
    for (unsigned i = 0; i < ex->n_br; i++) {
        const branch_t *b = &ex->br[i];
        if (b->gen == ex->gen && !b->cancelled && !strcmp(b->uri, ex->ev.target)
            && b->t >= h->targets && b->t < h->targets + RW_HG_MAX_AGENTS)
            return h->agents[b->t - h->targets].user;
    }
    return "";
}

void rw_hunt_check(rw_exec_t *ex)
{
    rw_hunt_t *h = ex->hunt;
    if (!h || !live(h))
        return;
    if (ex->answered) {
        const char *agent = winner(h);
        rw_log_info("hunt_answered", RW_S("call_id", h->call_id), RW_S("group", h->group), RW_S("agent", agent));
        count(h->env->answered);
        report(h->env, h->call_id, RW_HGR_ANSWERED, agent, 0);
        end_leg(h);
        return;
    }
    if (ex->cancelled || ex->replied) {
        rw_log_info("hunt_abandoned", RW_S("call_id", h->call_id), RW_S("group", h->group));
        count(h->env->abandoned);
        report(h->env, h->call_id, RW_HGR_CALLER_GONE, "", 0);
        end_leg(h);
        return;
    }
    if (h->offered && !offer_live(h)) {
        /* every agent's branch failed (or none was registered): they missed it; ask again */
        int busy = ex->best == 486 || ex->best == 600 || ex->best == 603;
        h->offered = 0;
        ex->best = 0;
        msg_destroy(ex->best_msg);
        ex->best_msg = NULL;
        su_timer_reset(h->timer);
        /* `next` once huntgroup has the outcome; nobody could be rung (no binding): not again
         * at once */
        report_and(h->env, h->call_id, busy ? RW_HGR_BUSY : RW_HGR_NO_ANSWER, "", 0, h, h->sent ? 0 : h->retry_ms);
    }
}

int rw_hunt_active(const rw_exec_t *ex)
{
    return ex->hunt && live(ex->hunt);
}

void rw_hunt_detach(rw_exec_t *ex)
{
    if (ex->hunt) {
        rw_hunt_t *h = ex->hunt;
        h->ex = NULL;             /* no outcome: an aborted call's caller is dropped by time */
        ex->hunt = NULL;
        su_timer_reset(h->timer);
        unref(h);
    }
}

/* ---- BYE: `ended` for an answered queue call ---------------------------------------------- */
typedef struct {
    rw_hunt_env_t *env;
    char call_id[128];
} bye_t;

static void on_call_record(void *arg, redisReply *r)
{
    bye_t *b = arg;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING
        && !strcmp(r->element[0]->str, "answered") && r->element[1]->type == REDIS_REPLY_STRING) {
        uint64_t at = strtoull(r->element[1]->str, NULL, 10), now = rw_clock_wall_ms();
        report(b->env, b->call_id, RW_HGR_ENDED, "", now > at ? now - at : 0);
    }
    free(b);
}

void rw_hunt_bye(rw_hunt_env_t *env, const char *call_id)
{
    if (!env || !env->o.client || !env->o.redis || !call_id)
        return;
    bye_t *b = calloc(1, sizeof *b);
    if (!b)
        return;
    b->env = env;
    snprintf(b->call_id, sizeof b->call_id, "%s", rw_hunt_caller_call_id(call_id));
    /* any sip-edge process may see the BYE: the huntgroup's record says whether it was a queue
     * call an agent answered, and when */
    if (rw_aredis_command(env->o.redis, on_call_record, b, "HMGET rw:hg:call:%s state answered", b->call_id) != 0)
        free(b);
}
