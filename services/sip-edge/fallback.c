/* services/sip-edge/fallback.c — survivable routing from Redis and in-memory copies (fallback.h). */
#include "services/sip-edge/fallback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"

typedef struct { char num[64]; char user[64]; } num_slot_t;
typedef struct { char user[64]; rw_plan_t plan; } plan_slot_t;

typedef struct fb_req {
    rw_fallback_store_t *fb;      /* NULL once the store is gone: finish silently */
    struct fb_req *next, *prev;
    rw_fallback_fn *fn;
    void *arg;
    char number[64];
    char user[64];
} fb_req_t;

struct rw_fallback_store {
    rw_aredis_t *redis;
    char realm[128];
    unsigned ring_ms;
    size_t n_plans, n_nums;
    plan_slot_t *plans;
    num_slot_t *nums;
    fb_req_t *reqs;
    rw_redis_script_t *lookup;
    rw_plan_t scratch;
};

/* One round trip: KEYS[1] = rw:num:<number>. nil for nobody, else {id, plan or "", ext or ""}. */
static const char lookup_lua[] =
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return false end\n"
    "return {id, redis.call('GET', 'rw:fallback:' .. id) or '',\n"
    "        redis.call('HGET', 'rw:user:' .. id, 'ext') or ''}\n";

static size_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ull;
    return (size_t) (h % n);
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

rw_fallback_store_t *rw_fallback_new(rw_aredis_t *redis, const char *realm, unsigned ring_ms,
                                     size_t plan_slots, size_t num_slots)
{
    rw_fallback_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->redis = redis;
    copy(self->realm, sizeof self->realm, realm);
    self->ring_ms = ring_ms ? ring_ms : 20000;
    self->n_plans = plan_slots ? plan_slots : 256;
    self->n_nums = num_slots ? num_slots : 4096;
    self->plans = calloc(self->n_plans, sizeof *self->plans);
    self->nums = calloc(self->n_nums, sizeof *self->nums);
    self->lookup = rw_redis_script_new(lookup_lua);
    if (!self->plans || !self->nums || !self->lookup)
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
    free(self->plans);
    free(self->nums);
    free(self);
    *pself = NULL;
}

static void remember_num(rw_fallback_store_t *self, const char *number, const char *user)
{
    if (!*number || !*user || strlen(number) >= 64 || strlen(user) >= 64)
        return;
    num_slot_t *s = &self->nums[hash(number, self->n_nums)];
    copy(s->num, sizeof s->num, number);
    copy(s->user, sizeof s->user, user);
}

void rw_fallback_remember(rw_fallback_store_t *self, const char *number, const rw_plan_t *plan)
{
    if (!self || !plan->user[0] || plan->status != RW_PLAN_OK)
        return;
    remember_num(self, number, plan->user);
    plan_slot_t *s = &self->plans[hash(plan->user, self->n_plans)];
    copy(s->user, sizeof s->user, plan->user);
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
    copy(out->user, sizeof out->user, user);
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
            copy(r->user, sizeof r->user, s->user);
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

static const char *elem(const redisReply *a, size_t i, size_t *len)
{
    const redisReply *e = a->element[i];
    *len = e->type == REDIS_REPLY_STRING ? e->len : 0;
    return e->type == REDIS_REPLY_STRING ? e->str : "";
}

/* The user's stored plan, else a plan for their registered devices. */
static void on_lookup(void *arg, redisReply *reply)
{
    fb_req_t *r = arg;
    size_t id_len, plan_len, ext_len;
    if (!r->fb)
        goto done;
    if (!reply || reply->type == REDIS_REPLY_ERROR
        || (reply->type == REDIS_REPLY_ARRAY && reply->elements != 3)) {
        answer_from_memory(r);
        goto done;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {   /* nil: the number belongs to nobody */
        r->fn(r->arg, RW_ENOTFOUND, NULL, RW_FALLBACK_NONE);
        goto done;
    }
    const char *id = elem(reply, 0, &id_len), *plan = elem(reply, 1, &plan_len);
    const char *ext = elem(reply, 2, &ext_len);
    if (id_len == 0 || id_len >= sizeof r->user) {
        r->fn(r->arg, RW_ENOTFOUND, NULL, RW_FALLBACK_NONE);
        goto done;
    }
    copy(r->user, sizeof r->user, id);
    remember_num(r->fb, r->number, r->user);
    rw_plan_t *out = &r->fb->scratch;
    if (plan_len && rw_proto_plan_decode(plan, plan_len, out) == 0 && out->status == RW_PLAN_OK) {
        if (!out->user[0])
            copy(out->user, sizeof out->user, r->user);
        r->fn(r->arg, RW_OK, out, RW_FALLBACK_LAST_PLAN);
        goto done;
    }
    rw_fallback_devices_plan(r->user, ext_len && ext_len < 64 ? ext : r->number, r->fb->realm,
                             r->fb->ring_ms, out);
    r->fn(r->arg, RW_OK, out, RW_FALLBACK_DEVICES);
done:
    req_end(r);
}

int rw_fallback_resolve(rw_fallback_store_t *self, const char *number, rw_fallback_fn *fn, void *arg)
{
    if (!self || !number || !*number || strlen(number) >= 64 || !fn)
        return RW_EINVAL;
    fb_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return RW_ENOMEM;
    r->fb = self;
    r->fn = fn;
    r->arg = arg;
    copy(r->number, sizeof r->number, number);
    r->next = self->reqs;
    if (self->reqs)
        self->reqs->prev = r;
    self->reqs = r;
    char key[80];
    snprintf(key, sizeof key, "rw:num:%s", number);
    const char *keys[] = { key };
    if (!self->redis || rw_redis_script_run(self->lookup, self->redis, 1, 1, keys, NULL, on_lookup, r) != 0) {
        answer_from_memory(r);
        req_end(r);
    }
    return 0;
}
