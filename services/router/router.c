/* services/router/router.c — route requests from the bus, answered from Redis (router.h). */
#include "services/router/router.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "common/sutimer.h"
#include "protocols/route.h"
#include "services/router/fetch.h"
#include <sofia-sip/su_wait.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rw_router {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_server_t *server;
    const rw_numplan_t *numplan;
    rw_router_policy_t policy;
    rw_redis_script_t *lookup;       /* the decision's one round trip */
    rw_router_cache_t *cache;        /* parsed settings per user, trunks */
    su_timer_t *fallback_timer;      /* polls rw:dir:changes */
    rw_pub_t *pub;                   /* directory.changed events, may be NULL */
    int fallback_busy;               /* a poll is in flight */
    rw_counter_t *ok, *not_found, *error, *bad, *fallbacks;
    rw_histogram_t *latency;
    struct decision *inflight;       /* decisions waiting for Redis */
    struct decision *spare;          /* finished decisions kept for reuse (no malloc per call) */
    unsigned n_spare;
    msgpack_sbuffer sb;              /* reply encoding, reused */
};

#define MAX_SPARE 1024

typedef struct decision {
    rw_router_t *router;
    rw_request_t *req;
    rw_route_req_t rq;
    uint64_t t0_us;
    int fallback;                    /* rebuilding rw:fallback:<user>, no bus request */
    struct decision *prev, *next;    /* the router's in-flight list */
} decision_t;

static void unlink_decision(decision_t *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else if (d->router)
        d->router->inflight = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

/* Unlinks d and keeps it for the next decision, or frees it. */
static void finish(decision_t *d)
{
    rw_router_t *r = d->router;
    unlink_decision(d);
    if (r && r->n_spare < MAX_SPARE) {
        d->next = r->spare;
        r->spare = d;
        r->n_spare++;
    } else {
        free(d);
    }
}

static void reply_plan(decision_t *d, const rw_plan_t *plan)
{
    rw_router_t *r = d->router;
    r->sb.size = 0;
    if (rw_proto_plan_encode(plan, &r->sb) == 0) {
        rw_server_reply(d->req, r->sb.data, r->sb.size);
    } else {
        rw_log_error("plan_encode_failed", RW_S("call_id", plan->call_id));
        rw_request_drop(&d->req);
    }
    rw_counter_inc(plan->status == RW_PLAN_OK ? r->ok
                   : plan->status == RW_PLAN_NOT_FOUND ? r->not_found : r->error);
    rw_histogram_observe(r->latency, (double) (rw_clock_mono_us() - d->t0_us) / 1e6);
    finish(d);
}

static void write_fallback(decision_t *d, const rw_plan_t *plan);

static void reply_error(decision_t *d, const char *why)
{
    if (d->fallback) {
        rw_log_warn("fallback_not_written", RW_S("user", d->rq.callee), RW_S("error", why));
        finish(d);
        return;
    }
    static rw_plan_t plan;           /* loop thread only; too big for a small stack frame */
    memset(&plan, 0, sizeof plan);
    snprintf(plan.call_id, sizeof plan.call_id, "%s", d->rq.call_id);
    plan.status = RW_PLAN_ERROR;
    plan.final = RW_FINAL_UNAVAILABLE;
    rw_proto_plan_trace(&plan, "%s", why);
    reply_plan(d, &plan);
}

static void send_lookup(decision_t *d);

static void on_lookup(void *arg, redisReply *rep)
{
    decision_t *d = arg;
    static rw_plan_t plan;
    static rw_router_user_t user;
    if (!d->router) {                /* the router was destroyed while Redis worked */
        free(d);
        return;
    }
    if (!rep) {
        reply_error(d, "directory unreachable (Redis)");
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        rw_log_error("lookup_failed", RW_S("error", rep->str));
        reply_error(d, "directory lookup failed");
        return;
    }
    const rw_router_user_t *u = &user;
    int rc = rw_router_fetch_parse(d->router->cache, d->router->numplan, rep, d->rq.time_ms, &user,
                                   &d->router->policy);
    if (rc == RW_ENOTFOUND) {
        u = NULL;
    } else if (rc < 0) {
        reply_error(d, "directory entry is malformed");
        return;
    }
    if (d->fallback) {
        for (size_t i = 0; u && i < user.n_devices; i++)
            user.devices[i].live = 0;    /* registrations change; sip-edge skips dead ones */
        rw_router_build_plan(&d->router->policy, &d->rq, u, &plan);
        write_fallback(d, u ? &plan : NULL);
        return;
    }
    rw_router_build_plan(&d->router->policy, &d->rq, u, &plan);
    reply_plan(d, &plan);
}

/* A caller authenticated on a device presents their extension (`ringway explain` stands for
 * one): the script finds their public number too. Never for trunk callers, who could present
 * any digits. "" when the caller is not such a colleague. */
static const char *colleague_ext(const decision_t *d)
{
    const char *caller = d->rq.caller;
    bool device = !strcmp(d->rq.source, "device") || !strcmp(d->rq.source, "cli");
    return !d->fallback && device && caller[0] && strspn(caller, "0123456789") == strlen(caller)
           ? caller : "";
}

static void send_lookup(decision_t *d)
{
    rw_router_t *r = d->router;
    char key[160], norm[64];
    rw_num_kind_t kind;
    const char *mode = d->fallback ? "id" : "num", *tv = rw_router_cache_trunk_ver(r->cache);
    int rc;
    if (d->fallback) {
        snprintf(key, sizeof key, "%s", d->rq.callee);
        goto send;
    }
    /* A callee that is no valid number is looked up as given: it simply matches nobody. */
    if (rw_e164_normalise(r->numplan, d->rq.callee, norm, sizeof norm, &kind) < 0)
        rw_plan_copy(norm, sizeof norm, d->rq.callee);
    memcpy(key, "rw:num:", 7);
    rw_plan_copy(key + 7, sizeof key - 7, norm);
send:;
    const char *args[] = { key, mode, tv, colleague_ext(d) };
    rc = rw_redis_script_run(r->lookup, r->redis, 1, 4, args, NULL, on_lookup, d);
    if (rc < 0)
        reply_error(d, "directory unreachable (Redis)");   /* a rebuild: logged, plan kept */
}

static void on_fallback_written(void *arg, redisReply *rep)
{
    (void) arg;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        rw_log_warn("fallback_write_failed", RW_S("error", rep ? rep->str : "redis away"));
}

/* SET (or, for a user who no longer exists, DEL) rw:fallback:<id>. */
static void write_fallback(decision_t *d, const rw_plan_t *plan)
{
    rw_router_t *r = d->router;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!plan)
        rw_aredis_command(r->redis, on_fallback_written, NULL, "DEL rw:fallback:%s", d->rq.callee);
    else if (rw_proto_plan_encode(plan, &sb) == 0)
        rw_aredis_command(r->redis, on_fallback_written, NULL, "SET rw:fallback:%s %b", d->rq.callee,
                          sb.data, sb.size);
    rw_counter_inc(r->fallbacks);
    msgpack_sbuffer_destroy(&sb);
    if (r->pub) {
        static rw_event_t ev;        /* loop thread only */
        if (rw_proto_event_init(&ev, "directory.changed") == 0) {
            snprintf(ev.directory.user, sizeof ev.directory.user, "%.63s", d->rq.callee);
            snprintf(ev.directory.what, sizeof ev.directory.what, "%s", plan ? "updated" : "deleted");
            ev.ts_ms = rw_clock_wall_ms();
            rw_pub_publish(r->pub, &ev);
        }
    }
    finish(d);
}

static decision_t *new_decision(rw_router_t *r)
{
    decision_t *d = r->spare;
    if (d) {
        r->spare = d->next;
        r->n_spare--;
    } else if (!(d = malloc(sizeof *d))) {
        return NULL;
    }
    /* d->rq is zeroed where it is filled (the request decoder, on_changes): only the
     * bookkeeping needs resetting here. */
    d->req = NULL;
    d->fallback = 0;
    d->prev = NULL;
    d->router = r;
    d->t0_us = rw_clock_mono_us();
    d->next = r->inflight;
    if (d->next)
        d->next->prev = d;
    r->inflight = d;
    return d;
}

/* Changed users popped from rw:dir:changes: each popped id is this router's alone, so every
 * change is rebuilt exactly once across instances. */
static void on_changes(void *arg, redisReply *rep)
{
    decision_t *poll = arg;
    rw_router_t *r = poll->router;
    if (!r) {                        /* destroyed while Redis worked */
        free(poll);
        return;
    }
    finish(poll);
    r->fallback_busy = 0;
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        decision_t *d;
        if (rep->element[i]->type != REDIS_REPLY_STRING || !(d = new_decision(r)))
            continue;
        d->fallback = 1;
        memset(&d->rq, 0, sizeof d->rq);
        snprintf(d->rq.call_id, sizeof d->rq.call_id, "fallback");
        snprintf(d->rq.caller, sizeof d->rq.caller, "anonymous");
        snprintf(d->rq.callee, sizeof d->rq.callee, "%.63s", rep->element[i]->str);
        d->rq.time_ms = rw_clock_wall_ms();
        send_lookup(d);
    }
}

static void on_fallback_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_router_t *r = (rw_router_t *) arg;
    (void) m;
    (void) t;
    if (r->fallback_busy || !rw_aredis_connected(r->redis))
        return;
    decision_t *poll = new_decision(r);
    if (!poll)
        return;
    poll->fallback = 2;
    /* LPOP with a count (Redis 6.2): up to 100 ids, atomically this router's; nil when empty */
    if (rw_aredis_command(r->redis, on_changes, poll, "LPOP rw:dir:changes 100") == 0)
        r->fallback_busy = 1;
    else
        finish(poll);
}

/* Rules hold callers in E.164 (or as extensions, or "anonymous"): a caller presented in the
 * national format or as a SIP URI is compared in E.164, "Anonymous" as "anonymous". */
static void normalise_caller(const rw_numplan_t *np, rw_route_req_t *rq)
{
    char norm[sizeof rq->caller];
    rw_num_kind_t kind;
    if (!strcasecmp(rq->caller, "anonymous"))
        rw_plan_copy(rq->caller, sizeof rq->caller, "anonymous");
    else if (rw_e164_normalise(np, rq->caller, norm, sizeof norm, &kind) == 0)
        rw_plan_copy(rq->caller, sizeof rq->caller, norm);
}

static void on_request(void *arg, rw_request_t *req, const void *body, size_t len)
{
    rw_router_t *r = arg;
    decision_t *d = new_decision(r);
    if (!d) {
        rw_request_drop(&req);
        return;
    }
    d->req = req;
    int rc = rw_proto_route_req_decode(body, len, &d->rq);
    if (rc < 0) {
        rw_counter_inc(r->bad);
        rw_log_warn("bad_route_request", RW_S("error", rw_strerror(rc)), RW_U("bytes", len));
        snprintf(d->rq.call_id, sizeof d->rq.call_id, "-");
        reply_error(d, "malformed route request");
        return;
    }
    normalise_caller(r->numplan, &d->rq);
    send_lookup(d);
}

rw_router_t *rw_router_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m,
                           const char *bind, const rw_numplan_t *numplan,
                           const rw_router_policy_t *policy)
{
    rw_router_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->root = root;
    r->redis = redis;
    r->numplan = numplan;
    r->policy = *policy;
    r->ok = rw_metrics_counter(m, "decisions_total{result=\"ok\"}", "Route decisions answered, by result");
    r->not_found = rw_metrics_counter(m, "decisions_total{result=\"not_found\"}", NULL);
    r->error = rw_metrics_counter(m, "decisions_total{result=\"error\"}", NULL);
    r->bad = rw_metrics_counter(m, "bad_requests_total", "Route requests that could not be decoded");
    r->latency = rw_metrics_histogram(m, "decision_seconds", "Time from request to plan", NULL, 0);
    r->fallbacks = rw_metrics_counter(m, "fallback_writes_total", "Fallback plans rebuilt after a change");
    msgpack_sbuffer_init(&r->sb);
    r->cache = rw_router_cache_new(0);
    r->lookup = rw_redis_script_new(rw_router_lookup_lua);
    r->server = r->cache && r->lookup ? rw_server_new(root, bind, on_request, r) : NULL;
    if (!r->server) {
        rw_log_error("bind_failed", RW_S("endpoint", bind));
        rw_redis_script_destroy(&r->lookup);
        rw_router_cache_destroy(&r->cache);
        free(r);
        return NULL;
    }
    r->fallback_timer = rw_sutimer_lazy(root, 200);
    if (r->fallback_timer)
        su_timer_set_for_ever(r->fallback_timer, on_fallback_timer, (su_timer_arg_t *) r);
    return r;
}

void rw_router_destroy(rw_router_t **pself)
{
    rw_router_t *r = pself ? *pself : NULL;
    if (!r)
        return;
    /* Requests still waiting for Redis are freed with the server; their Redis callbacks
     * then only free the decision. */
    for (decision_t *d = r->inflight, *next; d; d = next) {
        next = d->next;
        d->router = NULL;
        d->req = NULL;
        d->prev = d->next = NULL;
    }
    rw_server_destroy(&r->server);
    su_timer_destroy(r->fallback_timer);
    rw_redis_script_destroy(&r->lookup);
    rw_router_cache_destroy(&r->cache);
    for (decision_t *d = r->spare, *next; d; d = next) {
        next = d->next;
        free(d);
    }
    msgpack_sbuffer_destroy(&r->sb);
    free(r);
    *pself = NULL;
}

void rw_router_set_pub(rw_router_t *r, rw_pub_t *pub)
{
    r->pub = pub;
}

const char *rw_router_endpoint(const rw_router_t *r)
{
    return rw_server_endpoint(r->server);
}
