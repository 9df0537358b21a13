/* services/sip-edge/fallback.c — survivable routing: the router's decision made here, else
 * in-memory copies (fallback.h, docs/routing.md "Fallback: evaluated at the time of the call"). */
#include "services/sip-edge/fallback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/clock.h"
#include "common/e164.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "common/redis_script.h"
#include "services/router/fetch.h"
#include "services/router/plan_build.h"

typedef struct { char num[64]; char user[64]; } num_slot_t;
typedef struct { char user[64]; rw_plan_t plan; } plan_slot_t;

typedef struct fb_req {
    rw_fallback_store_t *fb;      /* NULL once the store is gone: finish silently */
    struct fb_req *next, *prev;
    rw_fallback_fn *fn;
    void *arg;
    char number[64];
    char user[64];
    rw_route_req_t rq;            /* the call's request, caller normalised */
} fb_req_t;

struct rw_fallback_store {
    rw_aredis_t *redis;
    char realm[128];
    unsigned ring_ms;
    size_t n_plans, n_nums;
    plan_slot_t *plans;
    num_slot_t *nums;
    fb_req_t *reqs;
    rw_redis_script_t *lookup;    /* the router's script (rw_router_lookup_lua) */
    rw_router_cache_t *cache;     /* parsed settings, trunk table version */
    rw_router_policy_t policy;    /* ring_ms, max_hops and the trunk table */
    rw_router_user_t user;        /* the decision being made (one thread) */
    rw_plan_t scratch;
};

/* Parsed settings kept for evaluations: they happen only while no router answers. */
#define FALLBACK_CACHE_BYTES ((size_t) 8 << 20)

static size_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ull;
    return (size_t) (h % n);
}

rw_fallback_store_t *rw_fallback_new(rw_aredis_t *redis, const char *realm, unsigned ring_ms,
                                     size_t plan_slots, size_t num_slots)
{
    rw_fallback_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->redis = redis;
    rw_str_copy(self->realm, sizeof self->realm, realm);
    self->ring_ms = ring_ms ? ring_ms : 20000;
    self->n_plans = plan_slots ? plan_slots : 256;
    self->n_nums = num_slots ? num_slots : 4096;
    self->plans = calloc(self->n_plans, sizeof *self->plans);
    self->nums = calloc(self->n_nums, sizeof *self->nums);
    self->lookup = rw_redis_script_new(rw_router_lookup_lua);
    self->cache = rw_router_cache_new(FALLBACK_CACHE_BYTES);
    self->policy.ring_ms = self->ring_ms;
    self->policy.max_hops = 4;
    if (!self->plans || !self->nums || !self->lookup || !self->cache)
        rw_fallback_destroy(&self);
    return self;
}

void rw_fallback_destroy(rw_fallback_store_t **pself)
{
    rw_fallback_store_t *self = pself ? *pself : NULL;
    if (!self)
        return;
    for (fb_req_t *r = self->reqs; r; r = r->next)
        r->fb = NULL;
    rw_redis_script_destroy(&self->lookup);
    rw_router_cache_destroy(&self->cache);
    free(self->plans);
    free(self->nums);
    free(self);
    *pself = NULL;
}

void rw_fallback_set_max_hops(rw_fallback_store_t *self, unsigned max_hops)
{
    if (self && max_hops)
        self->policy.max_hops = max_hops;
}

const char *rw_fallback_kind_name(rw_fallback_t kind)
{
    return kind == RW_FALLBACK_EVALUATED ? "evaluated" : kind == RW_FALLBACK_LAST_PLAN ? "last_plan"
           : kind == RW_FALLBACK_DEVICES ? "devices" : "none";
}

static void remember_num(rw_fallback_store_t *self, const char *number, const char *user)
{
    if (!*number || !*user || strlen(number) >= 64 || strlen(user) >= 64)
        return;
    num_slot_t *s = &self->nums[hash(number, self->n_nums)];
    rw_str_copy(s->num, sizeof s->num, number);
    rw_str_copy(s->user, sizeof s->user, user);
}

void rw_fallback_remember(rw_fallback_store_t *self, const char *number, const rw_plan_t *plan)
{
    if (!self || !plan->user[0] || plan->status != RW_PLAN_OK)
        return;
    remember_num(self, number, plan->user);
    plan_slot_t *s = &self->plans[hash(plan->user, self->n_plans)];
    rw_str_copy(s->user, sizeof s->user, plan->user);
    rw_proto_plan_copy(&s->plan, plan);
}

void rw_fallback_devices_plan(const char *user, const char *ext, const char *realm, unsigned ring_ms,
                              rw_plan_t *out)
{
    rw_stage_t *st;
    rw_target_t *t;
    char aor[300];
    memset(out, 0, sizeof *out);
    out->status = RW_PLAN_OK;
    rw_str_copy(out->user, sizeof out->user, user);
    snprintf(aor, sizeof aor, "sip:%s@%s", ext, realm);
    if (rw_proto_plan_add_stage(out, ring_ms, &st) == 0)
        rw_proto_stage_add_target(st, RW_TARGET_DEVICES, aor, &t);
    out->final = RW_FINAL_UNAVAILABLE;
    rw_proto_plan_trace(out, "fallback: the user's registered devices");
}

static void req_end(fb_req_t *r)
{
    if (r->fb) {
        if (r->prev)
            r->prev->next = r->next;
        else
            r->fb->reqs = r->next;
        if (r->next)
            r->next->prev = r->prev;
    }
    free(r);
}

/* Redis gave no answer: in-memory copies, else the dialled number as an extension. */
static void answer_from_memory(fb_req_t *r)
{
    rw_fallback_store_t *self = r->fb;
    if (!r->user[0]) {
        num_slot_t *s = &self->nums[hash(r->number, self->n_nums)];
        if (!strcmp(s->num, r->number))
            rw_str_copy(r->user, sizeof r->user, s->user);
    }
    if (r->user[0]) {
        plan_slot_t *p = &self->plans[hash(r->user, self->n_plans)];
        if (!strcmp(p->user, r->user)) {
            rw_proto_plan_copy(&self->scratch, &p->plan);
            r->fn(r->arg, RW_OK, &self->scratch, RW_FALLBACK_LAST_PLAN);
            return;
        }
    }
    rw_fallback_devices_plan(r->user, r->number, self->realm, self->ring_ms, &self->scratch);
    r->fn(r->arg, RW_OK, &self->scratch, RW_FALLBACK_DEVICES);
}

/* The router's decision for the call, made from the script's reply at the call's time. */
static void on_lookup(void *arg, redisReply *reply)
{
    fb_req_t *r = arg;
    rw_fallback_store_t *self = r->fb;
    if (!self)
        goto done;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            rw_log_warn("fallback_lookup_failed", RW_S("error", reply->str));
        answer_from_memory(r);
        goto done;
    }
    int rc = rw_router_fetch_parse(self->cache, &rw_numplan_uk, reply, r->rq.time_ms, &self->user,
                                   &self->policy);
    if (rc == RW_ENOTFOUND) {         /* the number belongs to nobody */
        r->fn(r->arg, RW_ENOTFOUND, NULL, RW_FALLBACK_NONE);
        goto done;
    }
    rw_plan_t *out = &self->scratch;
    if (rc == 0)
        rw_router_build_plan(&self->policy, &r->rq, &self->user, out);
    if (rc < 0 || out->status != RW_PLAN_OK) {
        rw_log_warn("fallback_entry_unusable", RW_S("number", r->number), RW_S("error", rw_strerror(rc)));
        rw_str_copy(r->user, sizeof r->user, rc == 0 ? self->user.id : "");
        answer_from_memory(r);
        goto done;
    }
    rw_proto_plan_trace(out, "fallback: evaluated by sip-edge at the time of the call (no router answered)");
    rw_fallback_remember(self, r->number, out);   /* the copy used should Redis go away too */
    r->fn(r->arg, RW_OK, out, RW_FALLBACK_EVALUATED);
done:
    req_end(r);
}

int rw_fallback_resolve_call(rw_fallback_store_t *self, const rw_route_req_t *rq,
                             rw_fallback_fn *fn, void *arg)
{
    if (!self || !rq || !rq->callee[0] || strlen(rq->callee) >= 64 || !fn)
        return RW_EINVAL;
    fb_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return RW_ENOMEM;
    r->fb = self;
    r->fn = fn;
    r->arg = arg;
    r->rq = *rq;
    rw_str_copy(r->number, sizeof r->number, rq->callee);
    r->next = self->reqs;
    if (self->reqs)
        self->reqs->prev = r;
    self->reqs = r;
    char key[160];
    const char *args[4];
    rw_router_lookup_args(&rw_numplan_uk, &r->rq, rw_router_cache_trunk_ver(self->cache), key,
                          sizeof key, args);
    if (!self->redis || rw_redis_script_run(self->lookup, self->redis, 1, 4, args, NULL, on_lookup, r) != 0) {
        answer_from_memory(r);
        req_end(r);
    }
    return 0;
}

int rw_fallback_resolve(rw_fallback_store_t *self, const char *number, rw_fallback_fn *fn, void *arg)
{
    static rw_route_req_t rq;     /* one thread; copied by rw_fallback_resolve_call */
    if (!number || strlen(number) >= sizeof rq.callee)
        return RW_EINVAL;
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "fallback");
    snprintf(rq.caller, sizeof rq.caller, "anonymous");
    snprintf(rq.callee, sizeof rq.callee, "%s", number);
    snprintf(rq.source, sizeof rq.source, "device");
    rq.time_ms = rw_clock_wall_ms();
    return rw_fallback_resolve_call(self, &rq, fn, arg);
}
