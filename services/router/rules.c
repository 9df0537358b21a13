/* services/router/rules.c — the routing decision: which of a user's rules apply to this call
 * and the plan they make, with a trace line for every choice. Pure (plan_build.h); the
 * precedence implemented here is the one documented in docs/routing.md:
 *   loop guard > pinned rules > calendar divert > active profile rules > default,
 * first matching rule of each kind wins within that order. */
#include "services/router/plan_build.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const rw_rule_t *primary;        /* ring, divert always or dnd */
    const rw_rule_t *busy, *no_answer, *unreachable;
} choice_t;

/* A caller matches by what they presented, or, for a colleague calling from their device,
 * by their public number too (rules are mostly written with public numbers). */
static bool in_list(const char list[][24], uint8_t n, const char *caller, const char *number)
{
    for (uint8_t i = 0; i < n; i++)
        if (rw_rules_caller_match(list[i], caller) || (number[0] && rw_rules_caller_match(list[i], number)))
            return true;
    return false;
}

static bool time_matches(const rw_rule_t *r, const rw_router_user_t *u)
{
    int day = u->local_wday, min = u->local_min;
    if (r->from_min >= 0) {
        if (r->to_min > r->from_min) {
            if (min < r->from_min || min >= r->to_min)
                return false;
        } else if (min < r->from_min) {
            if (min >= r->to_min)
                return false;
            day = (day + 6) % 7;     /* the small hours belong to the previous day's window */
        }
    }
    return !r->days || (r->days & (1 << day));
}

static bool rule_matches(const rw_rule_t *r, const rw_router_user_t *u, const char *caller)
{
    int pres = rw_rules_presence_bit(u->presence[0] ? u->presence : "available");
    if (!time_matches(r, u))
        return false;
    if (r->presence && !(r->presence & pres))
        return false;
    return !r->n_callers || in_list(r->callers, r->n_callers, caller, u->caller_number);
}

static void consider(const rw_rule_t *r, const rw_router_user_t *u, const rw_route_req_t *req,
                     choice_t *c, rw_plan_t *plan)
{
    if (!rule_matches(r, u, req->caller))
        return;
    if (r->action == RW_ACT_DND && in_list(r->except, r->n_except, req->caller, u->caller_number)) {
        if (!c->primary)             /* said only when it changes the decision */
            rw_proto_plan_trace(plan, "rule '%s' (do not disturb): caller %s is an exception", r->name,
                                req->caller);
        return;
    }
    if (r->action == RW_ACT_DIVERT && r->on != RW_ON_ALWAYS) {
        const rw_rule_t **slot = r->on == RW_ON_BUSY ? &c->busy
                               : r->on == RW_ON_NO_ANSWER ? &c->no_answer : &c->unreachable;
        if (!*slot)
            *slot = r;
        return;
    }
    if (!c->primary)
        c->primary = r;
}

static bool in_diversions(const rw_route_req_t *req, const char *user)
{
    for (uint32_t i = 0; i < req->n_diversions && i < RW_ROUTE_MAX_DIVERSIONS; i++)
        if (!strcmp(req->diversions[i], user))
            return true;
    return false;
}

/* Adds a divert destination to the plan: a stage, or the final action for voicemail.
 * Returns false when the destination cannot be used (loop, missing device). */
static bool add_dest(const rw_router_policy_t *pol, const rw_router_user_t *u,
                     const rw_route_req_t *req, const rw_rule_dest_t *d, const char *reason,
                     rw_plan_t *plan)
{
    rw_stage_t *st = NULL;
    rw_target_t *t = NULL;
    if (d->kind == RW_DEST_VOICEMAIL) {
        rw_plan_final_voicemail(u, plan, RW_FINAL_BUSY, reason);
        return plan->final == RW_FINAL_VOICEMAIL;
    }
    if (d->kind == RW_DEST_USER && (!strcmp(d->ref, u->id) || in_diversions(req, d->ref))) {
        rw_proto_plan_trace(plan, "loop: the call already passed %s, divert to them refused", d->ref);
        return false;
    }
    if (d->kind == RW_DEST_USER && !d->ext[0]) {
        rw_proto_plan_trace(plan, "colleague %s has no extension on record: no divert there", d->ref);
        return false;
    }
    int dev = d->kind == RW_DEST_DEVICE ? rw_plan_device_index(u, d->ref) : 0;
    if (dev < 0) {
        rw_proto_plan_trace(plan, "device '%s' does not exist: no divert there", d->ref);
        return false;
    }
    if (rw_proto_plan_add_stage(plan, d->kind == RW_DEST_DEVICE ? pol->ring_ms : 0, &st) < 0)
        return false;
    if (d->kind == RW_DEST_DEVICE) {
        if (rw_plan_add_device(pol, u, (size_t) dev, st, reason, plan) < 0 || !st->n_targets) {
            plan->n_stages--;
            return false;
        }
        return true;
    }
    /* A colleague is reached through their extension, routed again by sip-edge with this
     * user added to the diversions (their own rules apply, loops stop at the guard). */
    rw_proto_stage_add_target(st, RW_TARGET_NUMBER, d->kind == RW_DEST_USER ? d->ext : d->ref, &t);
    rw_plan_copy(t->diversion, sizeof t->diversion, reason);
    if (d->kind == RW_DEST_NUMBER) {
        rw_plan_add_trunks(pol, t);
        t->is_private = true;        /* a mobile or home number: never put in a 302 */
    }
    return true;
}

static const char *dest_text(const rw_rule_dest_t *d, char *buf, size_t len)
{
    static const char *const kinds[] = { "?", "device", "colleague", "number", "voicemail" };
    snprintf(buf, len, "%s%s%s", kinds[d->kind <= 4 ? d->kind : 0], d->ref[0] ? " " : "", d->ref);
    return buf;
}

static void ring_stages(const rw_router_policy_t *pol, const rw_router_user_t *u,
                        const rw_rule_t *r, const rw_rule_t *na, rw_plan_t *plan)
{
    rw_stage_t *st = NULL;
    uint32_t first = plan->n_stages;
    if (!r) {                        /* default: every SIP device at once */
        unsigned ring = na && na->after_s ? na->after_s * 1000u : pol->ring_ms;
        if (rw_proto_plan_add_stage(plan, ring, &st) < 0)
            return;
        for (size_t i = 0; i < u->n_devices; i++)
            if (!strcmp(u->devices[i].kind, "sip"))
                rw_plan_add_device(pol, u, i, st, NULL, plan);
        rw_proto_plan_trace(plan, "no ring rule: SIP devices together for %u s", ring / 1000);
    } else {
        rw_proto_plan_trace(plan, "rule '%s' matched: ring %s", r->name,
                            r->sequential ? "one after another" : "together");
        for (uint8_t i = 0; i < r->n_ring; i++) {
            unsigned ring = r->ring[i].secs ? r->ring[i].secs * 1000u : pol->ring_ms;
            if (!r->sequential && na && na->after_s)
                ring = na->after_s * 1000u;
            if ((r->sequential || !st) && rw_proto_plan_add_stage(plan, ring, &st) < 0)
                break;
            if (!r->sequential && ring > st->ring_ms)
                st->ring_ms = ring;
            int dev = rw_plan_device_index(u, r->ring[i].device);
            if (dev < 0)
                rw_proto_plan_trace(plan, "device '%s' does not exist: skipped", r->ring[i].device);
            else
                rw_plan_add_device(pol, u, (size_t) dev, st, NULL, plan);
            if (r->sequential && !st->n_targets) {
                plan->n_stages--;    /* this device's stage only: the earlier ones stay */
                st = NULL;
            }
        }
    }
    if (st && !st->n_targets)        /* everything skipped: drop the empty stage */
        plan->n_stages--;
    if (plan->n_stages == first)
        rw_proto_plan_trace(plan, "no %sdevice to ring", r ? "" : "SIP ");
}

/* The user's ring phase failed to produce a target and a rule says where to go instead. */
static void apply_conditionals(const rw_router_policy_t *pol, const rw_router_user_t *u,
                               const rw_route_req_t *req, const choice_t *c, rw_plan_t *plan)
{
    char buf[96];
    if (c->no_answer) {
        rw_proto_plan_trace(plan, "rule '%s': no answer -> %s", c->no_answer->name,
                            dest_text(&c->no_answer->to, buf, sizeof buf));
        add_dest(pol, u, req, &c->no_answer->to, "no-answer", plan);
    }
    if (c->busy && !(c->no_answer && !memcmp(&c->busy->to, &c->no_answer->to, sizeof c->busy->to))) {
        rw_proto_plan_trace(plan, "rule '%s': busy -> %s", c->busy->name,
                            dest_text(&c->busy->to, buf, sizeof buf));
        add_dest(pol, u, req, &c->busy->to, "user-busy", plan);
    }
}

/* The ring phase has a SIP device (numbers and mailboxes are always "reachable"). */
static bool rings_sip(const rw_plan_t *plan)
{
    for (uint32_t s = 0; s < plan->n_stages; s++)
        for (uint32_t t = 0; t < plan->stages[s].n_targets; t++)
            if (plan->stages[s].targets[t].type == RW_TARGET_DEVICES)
                return true;
    return false;
}

/* Every target of the ring phase is a SIP device known to have no live binding. */
static bool all_unreachable(const rw_router_user_t *u, const rw_plan_t *plan)
{
    for (uint32_t s = 0; s < plan->n_stages; s++)
        for (uint32_t t = 0; t < plan->stages[s].n_targets; t++)
            if (plan->stages[s].targets[t].type != RW_TARGET_DEVICES ||
                !rw_plan_aor_dead(u, plan->stages[s].targets[t].aor))
                return false;
    return true;
}

static void collect(const rw_router_user_t *u, const rw_route_req_t *req, choice_t *c,
                    rw_rule_t *calendar, rw_plan_t *plan)
{
    const rw_settings_t *s = u->settings;
    const rw_rule_set_t *prof = s ? rw_rules_active(s) : NULL;
    for (uint8_t i = 0; s && i < s->pinned.n_rules; i++)
        consider(&s->pinned.rules[i], u, req, c, plan);
    if (u->divert_to.kind) {
        memset(calendar, 0, sizeof *calendar);
        rw_plan_copy(calendar->name, sizeof calendar->name, "calendar divert");
        calendar->from_min = calendar->to_min = -1;
        calendar->action = RW_ACT_DIVERT;
        calendar->to = u->divert_to;
        consider(calendar, u, req, c, plan);
    }
    for (uint8_t i = 0; prof && i < prof->n_rules; i++)
        consider(&prof->rules[i], u, req, c, plan);
}

static void header(const rw_route_req_t *req, const rw_router_user_t *u, rw_plan_t *plan)
{
    const rw_rule_set_t *prof = u->settings ? rw_rules_active(u->settings) : NULL;
    rw_proto_plan_trace(plan, "'%s' is %s (%s)", req->callee, u->id, u->name[0] ? u->name : u->ext);
    rw_proto_plan_trace(plan, "%s; profile %s%s%s; presence=%s", u->local_text[0] ? u->local_text : "?",
                        prof ? "'" : "", prof ? prof->name : "none", prof ? "'" : "",
                        u->presence[0] ? u->presence : "unknown");
}

/* The header only: stages and targets are zeroed as they are added (rw_proto_plan_add_stage,
 * rw_proto_stage_add_target) and nothing reads past the counts, so the other 25 KB of the
 * plan need no zeroing on every decision. */
static void plan_reset(rw_plan_t *plan, const char *call_id)
{
    rw_plan_copy(plan->call_id, sizeof plan->call_id, call_id);
    plan->status = RW_PLAN_OK;
    plan->user[0] = '\0';
    plan->n_stages = 0;
    plan->final = RW_FINAL_UNAVAILABLE;
    memset(&plan->final_target, 0, sizeof plan->final_target);
    plan->n_trace = 0;
}

void rw_router_build_plan(const rw_router_policy_t *pol, const rw_route_req_t *req,
                          const rw_router_user_t *u, rw_plan_t *plan)
{
    choice_t c = { 0 };
    rw_rule_t calendar;
    char buf[96];
    plan_reset(plan, req->call_id);
    if (!u) {
        plan->status = RW_PLAN_NOT_FOUND;
        rw_proto_plan_trace(plan, "'%s' is nobody's extension or number", req->callee);
        return;
    }
    plan->status = RW_PLAN_OK;
    if (u->group[0]) {               /* a hunt group: no user, no rules */
        rw_plan_group(pol, req, u, plan);
        return;
    }
    rw_plan_copy(plan->user, sizeof plan->user, u->id);
    header(req, u, plan);
    if (in_diversions(req, u->id) || (pol->max_hops && req->n_diversions >= pol->max_hops)) {
        rw_proto_plan_trace(plan, "loop protection: call already diverted through %u user(s)%s",
                            req->n_diversions, in_diversions(req, u->id) ? " including this one" : "");
        rw_plan_final_voicemail(u, plan, RW_FINAL_BUSY, "deflection");
        rw_proto_plan_trace(plan, "ends at %s", plan->final == RW_FINAL_VOICEMAIL ? "voicemail" : "busy");
        return;
    }
    collect(u, req, &c, &calendar, plan);
    const rw_rule_t *p = c.primary;
    if (p && p->action == RW_ACT_DND) {
        rw_proto_plan_trace(plan, "rule '%s' matched: do not disturb", p->name);
        rw_plan_final_voicemail(u, plan, RW_FINAL_BUSY, "user-busy");
        return;
    }
    if (p && p->action == RW_ACT_DIVERT) {
        rw_proto_plan_trace(plan, "rule '%s' matched: divert always -> %s", p->name,
                            dest_text(&p->to, buf, sizeof buf));
        if (add_dest(pol, u, req, &p->to, "unconditional", plan) && plan->final != RW_FINAL_VOICEMAIL)
            rw_plan_final_voicemail(u, plan, RW_FINAL_UNAVAILABLE, "no-answer");
        else if (plan->final != RW_FINAL_VOICEMAIL)
            rw_plan_final_voicemail(u, plan, RW_FINAL_BUSY, "deflection");
        return;
    }
    ring_stages(pol, u, p && p->action == RW_ACT_RING ? p : NULL, c.no_answer, plan);
    if (c.unreachable && all_unreachable(u, plan)) {
        rw_proto_plan_trace(plan, "rule '%s': no device registered -> %s", c.unreachable->name,
                            dest_text(&c.unreachable->to, buf, sizeof buf));
        plan->n_stages = 0;
        add_dest(pol, u, req, &c.unreachable->to, "unavailable", plan);
    } else {
        apply_conditionals(pol, u, req, &c, plan);
        if (c.unreachable && !c.no_answer && !c.busy && rings_sip(plan)) {
            /* Registrations may end before the call: sip-edge skips a DEVICES target with no
             * binding at once, which moves the call to this stage. */
            rw_proto_plan_trace(plan, "rule '%s': if no device is registered -> %s", c.unreachable->name,
                                dest_text(&c.unreachable->to, buf, sizeof buf));
            add_dest(pol, u, req, &c.unreachable->to, "unavailable", plan);
        }
    }
    if (plan->final == RW_FINAL_UNAVAILABLE)
        rw_plan_final_voicemail(u, plan, RW_FINAL_UNAVAILABLE, NULL);
    rw_proto_plan_trace(plan, "then %s", plan->final == RW_FINAL_VOICEMAIL ? "voicemail"
                        : plan->final == RW_FINAL_BUSY ? "busy (486)" : "unavailable (480)");
}
