/* services/router/router.c — route requests from the bus, answered from Redis (router.h). */
#include "services/router/router.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "protocols/route.h"

#include <stdlib.h>
#include <string.h>

/* KEYS[1] = rw:num:<normalised callee>. Returns nil, or {id, ext, name, realm, {k, v, ...}}. */
static const char lookup_lua[] =
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return false end\n"
    "local u = redis.call('HMGET', 'rw:user:' .. id, 'ext', 'name', 'realm')\n"
    "return {id, u[1] or '', u[2] or '', u[3] or '', redis.call('HGETALL', 'rw:user:' .. id .. ':devices')}\n";

struct rw_router {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_server_t *server;
    const rw_numplan_t *numplan;
    rw_router_policy_t policy;
    char sha[48];                    /* lookup script's SHA1 once loaded */
    rw_counter_t *ok, *not_found, *error, *bad;
    rw_histogram_t *latency;
    struct decision *inflight;       /* decisions waiting for Redis */
};

typedef struct decision {
    rw_router_t *router;
    rw_request_t *req;
    rw_route_req_t rq;
    uint64_t t0_us;
    int retried;                     /* EVALSHA failed with NOSCRIPT: sent again as EVAL */
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

static void reply_plan(decision_t *d, const rw_plan_t *plan)
{
    rw_router_t *r = d->router;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (rw_proto_plan_encode(plan, &sb) == 0) {
        rw_server_reply(d->req, sb.data, sb.size);
    } else {
        rw_log_error("plan_encode_failed", RW_S("call_id", plan->call_id));
        rw_request_drop(&d->req);
    }
    msgpack_sbuffer_destroy(&sb);
    rw_counter_inc(plan->status == RW_PLAN_OK ? r->ok
                   : plan->status == RW_PLAN_NOT_FOUND ? r->not_found : r->error);
    rw_histogram_observe(r->latency, (double) (rw_clock_mono_us() - d->t0_us) / 1e6);
    unlink_decision(d);
    free(d);
}

static void reply_error(decision_t *d, const char *why)
{
    static rw_plan_t plan;           /* loop thread only; too big for a small stack frame */
    memset(&plan, 0, sizeof plan);
    snprintf(plan.call_id, sizeof plan.call_id, "%s", d->rq.call_id);
    plan.status = RW_PLAN_ERROR;
    plan.final = RW_FINAL_UNAVAILABLE;
    rw_proto_plan_trace(&plan, "%s", why);
    reply_plan(d, &plan);
}

static void copy_str(char *dst, size_t len, const redisReply *r)
{
    dst[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(dst, len, "%s", r->str);
}

/* Parse {id, ext, name, realm, {dev, "kind address", ...}} into u. */
static int parse_user(const redisReply *rep, rw_router_user_t *u)
{
    memset(u, 0, sizeof *u);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 5)
        return RW_EPROTO;
    copy_str(u->id, sizeof u->id, rep->element[0]);
    copy_str(u->ext, sizeof u->ext, rep->element[1]);
    copy_str(u->name, sizeof u->name, rep->element[2]);
    copy_str(u->realm, sizeof u->realm, rep->element[3]);
    const redisReply *devs = rep->element[4];
    for (size_t i = 0; devs->type == REDIS_REPLY_ARRAY && i + 1 < devs->elements &&
                       u->n_devices < RW_ROUTER_MAX_DEVICES; i += 2) {
        char val[300];
        copy_str(u->devices[u->n_devices].id, sizeof u->devices[0].id, devs->element[i]);
        copy_str(val, sizeof val, devs->element[i + 1]);
        char *sp = strchr(val, ' ');
        if (sp)
            *sp++ = '\0';
        snprintf(u->devices[u->n_devices].kind, sizeof u->devices[0].kind, "%.15s", val);
        snprintf(u->devices[u->n_devices].address, sizeof u->devices[0].address, "%s", sp ? sp : "");
        u->n_devices++;
    }
    return u->id[0] && u->ext[0] ? 0 : RW_EPROTO;
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
        if (!d->retried && !strncmp(rep->str, "NOSCRIPT", 8)) {
            d->retried = 1;
            d->router->sha[0] = '\0';
            send_lookup(d);
            return;
        }
        rw_log_error("lookup_failed", RW_S("error", rep->str));
        reply_error(d, "directory lookup failed");
        return;
    }
    const rw_router_user_t *u = NULL;
    if (rep->type != REDIS_REPLY_NIL) {
        if (parse_user(rep, &user) < 0) {
            reply_error(d, "directory entry is malformed");
            return;
        }
        u = &user;
    }
    rw_router_build_plan(&d->router->policy, &d->rq, u, &plan);
    reply_plan(d, &plan);
}

static void send_lookup(decision_t *d)
{
    rw_router_t *r = d->router;
    char key[160], norm[64];
    rw_num_kind_t kind;
    int rc;
    /* A callee that is no valid number is looked up as given: it simply matches nobody. */
    if (rw_e164_normalise(r->numplan, d->rq.callee, norm, sizeof norm, &kind) < 0)
        snprintf(norm, sizeof norm, "%.63s", d->rq.callee);
    snprintf(key, sizeof key, "rw:num:%s", norm);
    if (r->sha[0])
        rc = rw_aredis_command(r->redis, on_lookup, d, "EVALSHA %s 1 %s", r->sha, key);
    else
        rc = rw_aredis_command(r->redis, on_lookup, d, "EVAL %s 1 %s", lookup_lua, key);
    if (rc < 0)
        reply_error(d, "directory unreachable (Redis)");
}

static void on_script_loaded(void *arg, redisReply *rep)
{
    rw_router_t *r = arg;
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(r->sha, sizeof r->sha, "%s", rep->str);
}

static void on_redis_state(void *arg, bool up)
{
    rw_router_t *r = arg;
    r->sha[0] = '\0';
    if (up)
        rw_aredis_command(r->redis, on_script_loaded, r, "SCRIPT LOAD %s", lookup_lua);
}

static void on_request(void *arg, rw_request_t *req, const void *body, size_t len)
{
    rw_router_t *r = arg;
    decision_t *d = calloc(1, sizeof *d);
    if (!d) {
        rw_request_drop(&req);
        return;
    }
    d->router = r;
    d->req = req;
    d->t0_us = rw_clock_mono_us();
    d->next = r->inflight;
    if (d->next)
        d->next->prev = d;
    r->inflight = d;
    int rc = rw_proto_route_req_decode(body, len, &d->rq);
    if (rc < 0) {
        rw_counter_inc(r->bad);
        rw_log_warn("bad_route_request", RW_S("error", rw_strerror(rc)), RW_U("bytes", len));
        snprintf(d->rq.call_id, sizeof d->rq.call_id, "-");
        reply_error(d, "malformed route request");
        return;
    }
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
    r->server = rw_server_new(root, bind, on_request, r);
    if (!r->server) {
        rw_log_error("bind_failed", RW_S("endpoint", bind));
        free(r);
        return NULL;
    }
    rw_aredis_on_state(redis, on_redis_state, r);
    if (rw_aredis_connected(redis))
        on_redis_state(r, true);
    return r;
}

void rw_router_destroy(rw_router_t **pself)
{
    rw_router_t *r = pself ? *pself : NULL;
    if (!r)
        return;
    rw_aredis_on_state(r->redis, NULL, NULL);
    /* Requests still waiting for Redis are freed with the server; their Redis callbacks
     * then only free the decision. */
    for (decision_t *d = r->inflight, *next; d; d = next) {
        next = d->next;
        d->router = NULL;
        d->req = NULL;
        d->prev = d->next = NULL;
    }
    rw_server_destroy(&r->server);
    free(r);
    *pself = NULL;
}

const char *rw_router_endpoint(const rw_router_t *r)
{
    return rw_server_endpoint(r->server);
}
