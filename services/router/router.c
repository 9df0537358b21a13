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

struct rw_router {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_server_t *server;
    const rw_numplan_t *numplan;
    rw_router_policy_t policy;
    rw_redis_script_t *lookup;       /* the decision's one round trip */
    rw_router_cache_t *cache;        /* parsed settings per user, trunks */
    rw_redis_script_t *lease, *ack; /* the change list: lease ids, then release them */
    su_timer_t *changes_timer;       /* polls rw:dir:changes */
    rw_pub_t *pub;                   /* directory.changed events, may be NULL */
    int changes_busy;                /* a poll or its release is in flight */
    rw_counter_t *ok, *not_found, *error, *bad, *announced;
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
    int poll;                        /* a change-list poll, no bus request */
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
    rw_router_build_plan(&d->router->policy, &d->rq, u, &plan);
    reply_plan(d, &plan);
}

static void send_lookup(decision_t *d)
{
    rw_router_t *r = d->router;
    char key[160];
    const char *args[4];
    rw_router_lookup_args(r->numplan, &d->rq, rw_router_cache_trunk_ver(r->cache), key, sizeof key, args);
    if (rw_redis_script_run(r->lookup, r->redis, 1, 4, args, NULL, on_lookup, d) < 0)
        reply_error(d, "directory unreachable (Redis)");
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
    /* d->rq is zeroed where it is filled (the request decoder; a change-list poll uses only
     * its call_id): only the bookkeeping needs resetting here. */
    d->req = NULL;
    d->poll = 0;
    d->prev = NULL;
    d->router = r;
    d->t0_us = rw_clock_mono_us();
    d->next = r->inflight;
    if (d->next)
        d->next->prev = d;
    r->inflight = d;
    return d;
}

/* ---- The change list: every directory write appends the user id to rw:dir:changes; routers
 * announce each change once as a directory.changed event (docs/routing.md). An id is leased,
 * not just popped: it moves to the sorted set rw:dir:changes:leased with the lease's end as
 * score, the event is published, then the lease is released. A router killed in between leaves
 * the lease to run out, and the next poll of any router takes the id again: no change is lost
 * (a consumer may see one twice). Redis's own clock (TIME) keeps time, so routers need not
 * agree on theirs. ---- */
#define CHANGES_BATCH 100
#define CHANGES_LEASE_MS 2000
#define STR_(x) #x
#define STR(x) STR_(x)

/* KEYS[1] rw:dir:changes, KEYS[2] rw:dir:changes:leased; ARGV[1] batch, ARGV[2] lease ms.
 * Reply {lease end, id, exists, id, exists, ...}: expired leases first, then new ids. */
static const char lease_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local max, lease = tonumber(ARGV[1]), now + tonumber(ARGV[2])\n"
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)\n"
    "if #ids < max then\n"
    "  local popped = redis.call('LPOP', KEYS[1], max - #ids)\n"
    "  if popped then for _, id in ipairs(popped) do ids[#ids + 1] = id end end\n"
    "end\n"
    "local out, seen = {lease}, {}\n"
    "for _, id in ipairs(ids) do\n"
    "  if not seen[id] then\n"
    "    seen[id] = true\n"
    "    redis.call('ZADD', KEYS[2], lease, id)\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = redis.call('EXISTS', 'rw:user:' .. id)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS[1] rw:dir:changes:leased; ARGV[1] the lease end, ARGV[2..] ids: each id still under this
 * lease is released (one leased again since, by a later change, is left to its new holder). */
static const char ack_lua[] =
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if s and tonumber(s) == tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1 end\n"
    "end\n"
    "return n\n";

static void publish_change(rw_router_t *r, const redisReply *id, const redisReply *exists)
{
    static rw_event_t ev;            /* loop thread only */
    if (!r->pub || rw_proto_event_init(&ev, "directory.changed") != 0)
        return;
    snprintf(ev.directory.user, sizeof ev.directory.user, "%.63s", id->str);
    snprintf(ev.directory.what, sizeof ev.directory.what, "%s",
             exists->type == REDIS_REPLY_INTEGER && exists->integer == 0 ? "deleted" : "updated");
    ev.ts_ms = rw_clock_wall_ms();
    rw_pub_publish(r->pub, &ev);
    rw_counter_inc(r->announced);
}

static void on_released(void *arg, redisReply *rep)
{
    decision_t *poll = arg;
    rw_router_t *r = poll->router;
    if (!rep || rep->type == REDIS_REPLY_ERROR)   /* the lease runs out: announced again later */
        rw_log_warn("change_release_failed", RW_S("error", rep ? rep->str : "redis away"));
    if (!r) {                        /* destroyed while Redis worked */
        free(poll);
        return;
    }
    r->changes_busy = 0;
    finish(poll);
}

/* Leased ids: each announced, then every lease released in one command. */
static void on_changes(void *arg, redisReply *rep)
{
    decision_t *poll = arg;
    rw_router_t *r = poll->router;
    const char *args[2 + CHANGES_BATCH];   /* the key, the lease end, the ids */
    int n = 1;
    if (!r) {
        free(poll);
        return;
    }
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 1
        && rep->element[0]->type == REDIS_REPLY_INTEGER) {
        snprintf(poll->rq.call_id, sizeof poll->rq.call_id, "%lld", rep->element[0]->integer);
        args[0] = "rw:dir:changes:leased";
        args[n++] = poll->rq.call_id;
        for (size_t i = 1; i + 1 < rep->elements && n < 2 + CHANGES_BATCH; i += 2) {
            if (rep->element[i]->type != REDIS_REPLY_STRING)
                continue;
            publish_change(r, rep->element[i], rep->element[i + 1]);
            args[n++] = rep->element[i]->str;
        }
    } else if (rep && rep->type == REDIS_REPLY_ERROR) {
        rw_log_warn("change_lease_failed", RW_S("error", rep->str));
    }
    if (n > 2 && rw_redis_script_run(r->ack, r->redis, 1, n, args, NULL, on_released, poll) == 0)
        return;                      /* changes_busy until released: the next poll sees this one's release */
    r->changes_busy = 0;
    finish(poll);
}

static void on_changes_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_router_t *r = (rw_router_t *) arg;
    (void) m;
    (void) t;
    if (r->changes_busy || !rw_aredis_connected(r->redis))
        return;
    decision_t *poll = new_decision(r);
    if (!poll)
        return;
    poll->poll = 1;
    const char *args[] = { "rw:dir:changes", "rw:dir:changes:leased", STR(CHANGES_BATCH),
                           STR(CHANGES_LEASE_MS) };
    if (rw_redis_script_run(r->lease, r->redis, 2, 4, args, NULL, on_changes, poll) == 0)
        r->changes_busy = 1;
    else
        finish(poll);
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
    r->announced = rw_metrics_counter(m, "directory_events_total",
                                      "directory.changed events published, one per change taken from rw:dir:changes");
    msgpack_sbuffer_init(&r->sb);
    r->cache = rw_router_cache_new(0);
    r->lookup = rw_redis_script_new(rw_router_lookup_lua);
    r->lease = rw_redis_script_new(lease_lua);
    r->ack = rw_redis_script_new(ack_lua);
    r->server = r->cache && r->lookup && r->lease && r->ack ? rw_server_new(root, bind, on_request, r) : NULL;
    if (!r->server) {
        rw_log_error("bind_failed", RW_S("endpoint", bind));
        rw_redis_script_destroy(&r->lookup);
        rw_redis_script_destroy(&r->lease);
        rw_redis_script_destroy(&r->ack);
        rw_router_cache_destroy(&r->cache);
        free(r);
        return NULL;
    }
    r->changes_timer = rw_sutimer_lazy(root, 200);
    if (r->changes_timer)
        su_timer_set_for_ever(r->changes_timer, on_changes_timer, (su_timer_arg_t *) r);
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
    su_timer_destroy(r->changes_timer);
    rw_redis_script_destroy(&r->lookup);
    rw_redis_script_destroy(&r->lease);
    rw_redis_script_destroy(&r->ack);
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
