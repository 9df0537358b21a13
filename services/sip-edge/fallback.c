/* services/sip-edge/fallback.c — survivable routing from Redis and in-memory copies (fallback.h). */
#include "services/sip-edge/fallback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/err.h"
#include "common/log.h"

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
    rw_plan_t scratch;
};

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
    if (!self->plans || !self->nums)
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
    s->plan = *plan;
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
            self->scratch = p->plan;
            r->fn(r->arg, RW_OK, &self->scratch, RW_FALLBACK_LAST_PLAN);
            return;
        }
    }
    rw_fallback_devices_plan(r->user, r->number, self->realm, self->ring_ms, &self->scratch);
    r->fn(r->arg, RW_OK, &self->scratch, RW_FALLBACK_DEVICES);
}

static void on_ext(void *arg, redisReply *reply)
{
    fb_req_t *r = arg;
    if (!r->fb)
        goto done;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        answer_from_memory(r);
        goto done;
    }
    const char *ext = reply->type == REDIS_REPLY_STRING && reply->len < 64 ? reply->str : r->number;
    rw_fallback_devices_plan(r->user, ext, r->fb->realm, r->fb->ring_ms, &r->fb->scratch);
    r->fn(r->arg, RW_OK, &r->fb->scratch, RW_FALLBACK_DEVICES);
done:
    req_end(r);
}

static void on_plan(void *arg, redisReply *reply)
{
    fb_req_t *r = arg;
    if (!r->fb)
        goto done;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        answer_from_memory(r);
        goto done;
    }
    if (reply->type == REDIS_REPLY_STRING
        && rw_proto_plan_decode(reply->str, reply->len, &r->fb->scratch) == 0
        && r->fb->scratch.status == RW_PLAN_OK) {
        if (!r->fb->scratch.user[0])
            copy(r->fb->scratch.user, sizeof r->fb->scratch.user, r->user);
        r->fn(r->arg, RW_OK, &r->fb->scratch, RW_FALLBACK_LAST_PLAN);
        goto done;
    }
    if (rw_aredis_command(r->fb->redis, on_ext, r, "HGET rw:user:%s ext", r->user) == 0)
        return;
    answer_from_memory(r);
done:
    req_end(r);
}

static void on_num(void *arg, redisReply *reply)
{
    fb_req_t *r = arg;
    if (!r->fb)
        goto done;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        answer_from_memory(r);
        goto done;
    }
    if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof r->user) {
        r->fn(r->arg, RW_ENOTFOUND, NULL, RW_FALLBACK_NONE);
        goto done;
    }
    copy(r->user, sizeof r->user, reply->str);
    remember_num(r->fb, r->number, r->user);
    if (rw_aredis_command(r->fb->redis, on_plan, r, "GET rw:fallback:%s", r->user) == 0)
        return;
    answer_from_memory(r);
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
    if (!self->redis || rw_aredis_command(self->redis, on_num, r, "GET rw:num:%s", number) != 0) {
        answer_from_memory(r);
        req_end(r);
    }
    return 0;
}
