/* services/huntgroup/huntgroup.c — hunt group requests from the bus, answered by one run of the
 * decision script each (huntgroup.h). The events a decision produced are published by the
 * instance that ran it, so each is published once; changes made by the CLI leave theirs in
 * rw:hg:events, which the instances lease, publish, then release (the router's pattern for
 * rw:dir:changes): an instance killed in between loses none. */
#include "services/huntgroup/huntgroup.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "directory/dir_groups.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "common/sutimer.h"
#include "protocols/huntgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 256                  /* groups with figures on /metrics */
#define EVENTS_BATCH 100                /* CLI events leased per poll */
#define EVENTS_LEASE_MS 2000            /* then another instance takes them again */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const stat_names[] = { "joined", "offered", "answered", "abandoned", "overflowed",
                                          "answered_sl" };
#define N_STATS (sizeof stat_names / sizeof stat_names[0])
static const char *const agent_states[] = { "available", "offered", "on_call", "wrap_up", "paused",
                                            "logged_out" };
#define N_STATES (sizeof agent_states / sizeof agent_states[0])

typedef struct {                        /* one group's figures on /metrics */
    char id[64];
    rw_counter_t *counter[N_STATS];
    uint64_t last[N_STATS];             /* the Redis totals already added */
    rw_gauge_t *waiting, *longest, *agents[N_STATES];
} group_metrics_t;

typedef enum { JOB_REQUEST, JOB_STATS, JOB_PERSONAL, JOB_EVENTS, JOB_GROUPS } job_kind_t;

typedef struct job {
    rw_huntgroup_t *hg;                 /* NULL once the service is destroyed */
    job_kind_t kind;
    rw_request_t *req;
    rw_hg_req_t rq;
    uint64_t t0_us;
    struct job *prev, *next;
} job_t;

struct rw_huntgroup {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_metrics_t *metrics;
    rw_pub_t *pub;
    rw_huntgroup_opts_t opts;
    rw_server_t *server;
    rw_redis_script_t *decide, *agent, *lease, *release;
    rw_sub_t *sub;                      /* call.* events: personal calls */
    rw_watcher_t *watcher;
    su_timer_t *stats_timer, *events_timer;
    int stats_busy, events_busy;
    rw_counter_t *requests[4], *bad, *errors, *events_out, *events_lost;
    rw_histogram_t *latency;
    job_t *inflight;
    uint64_t redis_down_since_ms;       /* monotonic; 0 while Redis answers */
    rw_counter_t *held;
    msgpack_sbuffer sb;
    size_t n_groups;
    group_metrics_t groups[MAX_GROUPS];
};

static job_t *new_job(rw_huntgroup_t *hg, job_kind_t kind)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->hg = hg;
    j->kind = kind;
    j->t0_us = rw_clock_mono_us();
    j->next = hg->inflight;
    if (j->next)
        j->next->prev = j;
    hg->inflight = j;
    return j;
}

static void finish(job_t *j)
{
    if (j->hg) {
        if (j->prev)
            j->prev->next = j->next;
        else
            j->hg->inflight = j->next;
        if (j->next)
            j->next->prev = j->prev;
    }
    free(j);
}

static void publish(rw_huntgroup_t *hg, const rw_hg_event_t *e)
{
    static rw_event_t ev;               /* loop thread only; too big for the stack */
    if (!hg->pub)
        return;
    if (rw_proto_hg_event(&ev, e->type, e->group, e->agent, e->state, e->call_id, e->position,
                          e->wait_ms) < 0) {
        rw_log_warn("queue_event_invalid", RW_S("type", e->type), RW_S("group", e->group));
        return;
    }
    ev.ts_ms = rw_clock_wall_ms();
    rw_pub_publish(hg->pub, &ev);
    rw_counter_inc(hg->events_out);
}

static void publish_all(rw_huntgroup_t *hg, const rw_hg_events_t *evs)
{
    for (size_t i = 0; i < evs->n; i++)
        publish(hg, &evs->ev[i]);
    if (evs->dropped) {
        rw_counter_add(hg->events_lost, evs->dropped);
        rw_log_warn("queue_events_dropped", RW_U("count", evs->dropped));
    }
}

static void answer(job_t *j, const rw_hg_reply_t *rep)
{
    rw_huntgroup_t *hg = j->hg;
    hg->sb.size = 0;
    if (rw_proto_hg_reply_encode(rep, &hg->sb) == 0) {
        rw_server_reply(j->req, hg->sb.data, hg->sb.size);
    } else {
        rw_log_error("hg_reply_encode_failed", RW_S("call_id", rep->call_id));
        rw_request_drop(&j->req);
    }
    j->req = NULL;
    if (rep->status == RW_HGS_ERROR) {
        rw_counter_inc(hg->errors);
        rw_log_warn("hg_request_failed", RW_S("op", rw_proto_hg_op_name(j->rq.op)),
                    RW_S("call_id", j->rq.call_id), RW_S("group", j->rq.group), RW_S("error", rep->reason));
    }
    rw_histogram_observe(hg->latency, (double) (rw_clock_mono_us() - j->t0_us) / 1e6);
    finish(j);
}

static void answer_error(job_t *j, const char *why)
{
    static rw_hg_reply_t rep;
    memset(&rep, 0, sizeof rep);
    snprintf(rep.call_id, sizeof rep.call_id, "%s", j->rq.call_id);
    rep.status = RW_HGS_ERROR;
    snprintf(rep.reason, sizeof rep.reason, "%s", why);
    answer(j, &rep);
}

/* Redis did not run the request (not connected, no answer in time). A `next` is answered
 * `wait` while Redis has been away for less than redis_hold_ms (retry_ms as usual; position 0:
 * not known); anything else, or a longer outage, is an error. */
static void redis_away(job_t *j, const char *why)
{
    rw_huntgroup_t *hg = j->hg;
    uint64_t now = rw_clock_mono_ms();
    if (!hg->redis_down_since_ms)
        hg->redis_down_since_ms = now;
    if (j->rq.op != RW_HGOP_NEXT || now - hg->redis_down_since_ms >= hg->opts.redis_hold_ms) {
        answer_error(j, why);
        return;
    }
    static rw_hg_reply_t rep;
    memset(&rep, 0, sizeof rep);
    snprintf(rep.call_id, sizeof rep.call_id, "%s", j->rq.call_id);
    rep.status = RW_HGS_WAIT;
    rep.retry_ms = hg->opts.policy.retry_ms;
    snprintf(rep.reason, sizeof rep.reason, "queue state unreachable (Redis): held");
    rw_counter_inc(hg->held);
    answer(j, &rep);
}

static void on_decided(void *arg, redisReply *r)
{
    static rw_hg_reply_t rep;
    static rw_hg_events_t evs;
    job_t *j = arg;
    if (!j->hg) {
        free(j);
        return;
    }
    if (!r) {
        redis_away(j, "queue state unreachable (Redis)");
        return;
    }
    j->hg->redis_down_since_ms = 0;
    int rc = j->rq.op == RW_HGOP_AGENT ? rw_hg_agent_parse(r, &rep, &evs)
                                       : rw_hg_decide_parse(&j->rq, r, &rep, &evs);
    if (r && r->type == REDIS_REPLY_ERROR)
        rw_log_error("hg_script_failed", RW_S("error", r->str));
    if (rc < 0) {
        answer_error(j, "queue decision unreadable");
        return;
    }
    publish_all(j->hg, &evs);
    answer(j, &rep);
}

static int run_decide(rw_huntgroup_t *hg, job_t *j, const rw_hg_req_t *rq, rw_aredis_fn *fn)
{
    rw_hg_argbuf_t b;
    const char *args[RW_HG_ARGC];
    int rc = rw_hg_decide_args(rq, rw_clock_wall_ms(), (uint32_t) random(), &hg->opts.policy, &b, args);
    return rc < 0 ? rc : rw_redis_script_run(hg->decide, hg->redis, 0, RW_HG_ARGC, args, NULL, fn, j);
}

static int run_agent(rw_huntgroup_t *hg, job_t *j)
{
    char now[24];
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    const char *args[] = { j->rq.agent_op, j->rq.agent, j->rq.group, j->rq.reason, now, "0" };
    return rw_redis_script_run(hg->agent, hg->redis, 0, 6, args, NULL, on_decided, j);
}

static void on_request(void *arg, rw_request_t *req, const void *body, size_t len)
{
    rw_huntgroup_t *hg = arg;
    job_t *j = new_job(hg, JOB_REQUEST);
    if (!j) {
        rw_request_drop(&req);
        return;
    }
    j->req = req;
    int rc = rw_proto_hg_req_decode(body, len, &j->rq);
    if (rc < 0) {
        rw_counter_inc(hg->bad);
        rw_log_warn("bad_hg_request", RW_S("error", rw_strerror(rc)), RW_U("bytes", len));
        answer_error(j, "malformed hunt group request");
        return;
    }
    rw_counter_inc(hg->requests[j->rq.op]);
    rc = j->rq.op == RW_HGOP_AGENT ? run_agent(hg, j) : run_decide(hg, j, &j->rq, on_decided);
    if (rc == RW_EAGAIN)
        redis_away(j, "queue state unreachable (Redis)");
    else if (rc < 0)
        answer_error(j, "request not runnable");
}

/* ---- per-group figures for /metrics ----------------------------------------------------- */

static group_metrics_t *group_metrics(rw_huntgroup_t *hg, const char *id)
{
    char name[160];
    for (size_t i = 0; i < hg->n_groups; i++)
        if (!strcmp(hg->groups[i].id, id))
            return &hg->groups[i];
    if (hg->n_groups == MAX_GROUPS || strlen(id) >= sizeof hg->groups[0].id)
        return NULL;
    group_metrics_t *g = &hg->groups[hg->n_groups++];
    snprintf(g->id, sizeof g->id, "%s", id);
    for (size_t k = 0; k < N_STATS; k++) {
        snprintf(name, sizeof name, "%s_total{group=\"%s\"}", stat_names[k], id);
        g->counter[k] = rw_metrics_counter(hg->metrics, name,
                                           "Hunt group callers by what happened (all instances: read from Redis)");
    }
    snprintf(name, sizeof name, "waiting{group=\"%s\"}", id);
    g->waiting = rw_metrics_gauge(hg->metrics, name, "Callers waiting in the queue now");
    snprintf(name, sizeof name, "longest_wait_seconds{group=\"%s\"}", id);
    g->longest = rw_metrics_gauge(hg->metrics, name, "Wait of the longest-waiting caller now");
    for (size_t k = 0; k < N_STATES; k++) {
        snprintf(name, sizeof name, "agents{group=\"%s\",state=\"%s\"}", id, agent_states[k]);
        g->agents[k] = rw_metrics_gauge(hg->metrics, name, "Members of the group by agent state");
    }
    return g;
}

static void on_group_stats(void *arg, redisReply *r)
{
    static rw_hg_reply_t rep;
    static rw_hg_events_t evs;
    job_t *j = arg;
    if (!j->hg) {
        free(j);
        return;
    }
    group_metrics_t *g = rw_hg_decide_parse(&j->rq, r, &rep, &evs) == 0 && rep.status == RW_HGS_STATS
                         ? group_metrics(j->hg, j->rq.group) : NULL;
    if (g)
        publish_all(j->hg, &evs);       /* callers found lost: queue.abandoned */
    for (uint32_t i = 0; g && i < rep.n_stats; i++) {
        const rw_hg_stat_t *s = &rep.stats[i];
        for (size_t k = 0; k < N_STATS; k++)
            if (!strcmp(s->name, stat_names[k]) && s->value > g->last[k]) {
                rw_counter_add(g->counter[k], s->value - g->last[k]);
                g->last[k] = s->value;
            }
        for (size_t k = 0; k < N_STATES; k++)
            if (!strncmp(s->name, "agents_", 7) && !strcmp(s->name + 7, agent_states[k]))
                rw_gauge_set(g->agents[k], (double) s->value);
        if (!strcmp(s->name, "waiting"))
            rw_gauge_set(g->waiting, (double) s->value);
        if (!strcmp(s->name, "longest_wait_ms"))
            rw_gauge_set(g->longest, (double) s->value / 1000.0);
    }
    finish(j);
}

static void on_groups(void *arg, redisReply *r)
{
    job_t *poll = arg;
    rw_huntgroup_t *hg = poll->hg;
    if (!hg) {
        free(poll);
        return;
    }
    finish(poll);
    hg->stats_busy = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        job_t *j;
        if (r->element[i]->type != REDIS_REPLY_STRING || strlen(r->element[i]->str) >= sizeof j->rq.group
            || !(j = new_job(hg, JOB_STATS)))
            continue;
        j->rq.op = RW_HGOP_STATS;
        snprintf(j->rq.group, sizeof j->rq.group, "%s", r->element[i]->str);
        if (run_decide(hg, j, &j->rq, on_group_stats) < 0)
            finish(j);
    }
}

/* One poll of a timer: at most one in flight (*busy, cleared by its callback), none while
 * Redis is away. */
static void poll_once(rw_huntgroup_t *hg, int *busy, job_kind_t kind, rw_aredis_fn *fn, int argc,
                      const char **argv)
{
    if (*busy || !rw_aredis_connected(hg->redis))
        return;
    job_t *poll = new_job(hg, kind);
    if (poll && rw_aredis_commandargv(hg->redis, fn, poll, argc, argv, NULL) == 0)
        *busy = 1;
    else if (poll)
        finish(poll);
}

static void on_stats_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_huntgroup_t *hg = (rw_huntgroup_t *) arg;
    (void) m, (void) t;
    static const char *cmd[] = { "SMEMBERS", "rw:groups" };
    poll_once(hg, &hg->stats_busy, JOB_GROUPS, on_groups, 2, cmd);
}

/* ---- events the CLI left, personal calls ------------------------------------------------
 * The CLI appends each queue.agent_state event of its changes to the list rw:hg:events. An
 * instance leases up to 100 at a time: one script moves them into the sorted set
 * rw:hg:events:leased, scored with the lease's end (now + 2 s by Redis's clock, so instances
 * need not agree on theirs) and each prefixed with a number of its own (two equal events stay
 * two); it publishes them, then releases the ones still under its lease. An instance killed in
 * between leaves its leases to run out, and the next poll of any instance takes those events
 * first: none is lost (one may be published twice; events are facts, consumers tolerate a
 * duplicate). */

/* KEYS[1] rw:hg:events, KEYS[2] rw:hg:events:leased, KEYS[3] rw:hg:events:seq; ARGV[1] batch,
 * ARGV[2] lease ms. Reply {lease end, "<n> <event>", ...}: expired leases first, then new. */
static const char lease_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local max, lease = tonumber(ARGV[1]), now + tonumber(ARGV[2])\n"
    "local out = {lease}\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)) do\n"
    "  redis.call('ZADD', KEYS[2], lease, m)\n"
    "  out[#out + 1] = m\n"
    "end\n"
    "if #out - 1 < max then\n"
    "  local popped = redis.call('LPOP', KEYS[1], max - (#out - 1))\n"
    "  if popped then for _, e in ipairs(popped) do\n"
    "    local m = redis.call('INCR', KEYS[3]) .. ' ' .. e\n"
    "    redis.call('ZADD', KEYS[2], lease, m)\n"
    "    out[#out + 1] = m\n"
    "  end end\n"
    "end\n"
    "return out\n";

/* KEYS[1] rw:hg:events:leased; ARGV[1] the lease end, ARGV[2..] members: each still under
 * this lease is released (one taken over since, its lease having run out, is its new
 * holder's). */
static const char release_lua[] =
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if s and tonumber(s) == tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1 end\n"
    "end\n"
    "return n\n";

static void on_events_released(void *arg, redisReply *r)
{
    job_t *poll = arg;
    if (!r || r->type == REDIS_REPLY_ERROR)      /* the lease runs out: published again later */
        rw_log_warn("queue_events_release_failed", RW_S("error", r ? r->str : "redis away"));
    if (!poll->hg) {
        free(poll);
        return;
    }
    poll->hg->events_busy = 0;
    finish(poll);
}

/* Leased events: each published, then every lease released in one command. */
static void on_events(void *arg, redisReply *r)
{
    job_t *poll = arg;
    rw_huntgroup_t *hg = poll->hg;
    const char *args[2 + EVENTS_BATCH];          /* the key, the lease end, the members */
    int n = 0;
    if (!hg) {
        free(poll);
        return;
    }
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 1 && r->element[0]->type == REDIS_REPLY_INTEGER) {
        snprintf(poll->rq.call_id, sizeof poll->rq.call_id, "%lld", r->element[0]->integer);
        args[n++] = "rw:hg:events:leased";
        args[n++] = poll->rq.call_id;
        for (size_t i = 1; i < r->elements && n < 2 + EVENTS_BATCH; i++) {
            rw_hg_event_t e;
            const redisReply *m = r->element[i];
            if (m->type != REDIS_REPLY_STRING)
                continue;
            const char *json = strchr(m->str, ' ');
            if (json && rw_hg_event_from_json(json + 1, &e) == 0)
                publish(hg, &e);
            else                                 /* released all the same: it never will be one */
                rw_log_warn("queue_event_unreadable", RW_S("event", m->str));
            args[n++] = m->str;
        }
    } else if (r && r->type == REDIS_REPLY_ERROR) {
        rw_log_warn("queue_events_lease_failed", RW_S("error", r->str));
    }
    if (n > 2 && rw_redis_script_run(hg->release, hg->redis, 1, n, args, NULL, on_events_released, poll) == 0)
        return;                                  /* busy until released */
    hg->events_busy = 0;
    finish(poll);
}

static void on_events_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_huntgroup_t *hg = (rw_huntgroup_t *) arg;
    (void) m, (void) t;
    static const char *args[] = { "rw:hg:events", "rw:hg:events:leased", "rw:hg:events:seq",
                                  STR(EVENTS_BATCH), STR(EVENTS_LEASE_MS) };
    if (hg->events_busy || !rw_aredis_connected(hg->redis))
        return;
    job_t *poll = new_job(hg, JOB_EVENTS);
    if (poll && rw_redis_script_run(hg->lease, hg->redis, 3, 5, args, NULL, on_events, poll) == 0)
        hg->events_busy = 1;
    else if (poll)
        finish(poll);
}

static void on_personal_done(void *arg, redisReply *r)
{
    job_t *j = arg;
    if (j->hg && r && r->type == REDIS_REPLY_ERROR)
        rw_log_warn("personal_call_not_noted", RW_S("user", j->rq.agent), RW_S("error", r->str));
    if (!j->hg)
        free(j);
    else
        finish(j);
}

/* An agent busy on a call of their own is skipped: call.answered marks the callee's user and
 * a caller who is an agent, call.ended or call.failed clears whoever that call marked (the
 * script keeps them by call id: a BYE's call.ended names no user). The script ignores the
 * queue's own calls. Every ended call costs one short script run per instance. */
static void on_call_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    rw_huntgroup_t *hg = arg;
    char now[24];
    (void) st;
    bool on = !strcmp(ev->type, "call.answered");
    if ((!on && strcmp(ev->type, "call.ended") && strcmp(ev->type, "call.failed")) || !ev->call.call_id[0]
        || (on && !ev->call.user[0] && !ev->call.from[0]))
        return;
    job_t *j = new_job(hg, JOB_PERSONAL);
    if (!j)
        return;
    snprintf(j->rq.agent, sizeof j->rq.agent, "%.63s", ev->call.user[0] ? ev->call.user : ev->call.from);
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    const char *args[] = { "personal", now, "0", "0", ev->call.call_id, "", on ? ev->call.from : "", ev->call.user,
                           on ? "on" : "off", "0", "0", "0", "" };
    if (rw_redis_script_run(hg->decide, hg->redis, 0, RW_HG_ARGC, args, NULL, on_personal_done, j) < 0)
        finish(j);
}

static void on_call_publishers(void *arg, const char *const *endpoints, size_t n)
{
    rw_huntgroup_t *hg = arg;
    rw_sub_set_endpoints(hg->sub, endpoints, n);
}

/* ---- life ------------------------------------------------------------------------------- */

rw_huntgroup_t *rw_huntgroup_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m,
                                 struct rw_pub *pub, const rw_huntgroup_opts_t *opts)
{
    static const char *const ops[] = { "next", "outcome", "agent", "stats" };
    char name[80];
    rw_huntgroup_t *hg = calloc(1, sizeof *hg);
    if (!hg)
        return NULL;
    hg->root = root;
    hg->redis = redis;
    hg->metrics = m;
    hg->pub = pub;
    hg->opts = *opts;
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "requests_total{op=\"%s\"}", ops[i]);
        hg->requests[i] = rw_metrics_counter(m, name, "Hunt group requests answered, by operation");
    }
    hg->bad = rw_metrics_counter(m, "bad_requests_total", "Hunt group requests that could not be decoded");
    hg->errors = rw_metrics_counter(m, "errors_total", "Requests answered with an error (Redis away, unknown group)");
    hg->held = rw_metrics_counter(m, "held_total", "next requests answered wait because Redis was unreachable (huntgroup.redis_hold_ms)");
    hg->events_out = rw_metrics_counter(m, "events_published_total", "queue.* events published");
    hg->events_lost = rw_metrics_counter(m, "events_dropped_total", "queue.* events beyond one decision's limit");
    hg->latency = rw_metrics_histogram(m, "decision_seconds", "Time from request to reply", NULL, 0);
    msgpack_sbuffer_init(&hg->sb);
    hg->decide = rw_redis_script_new(rw_hg_decide_lua);
    hg->agent = rw_redis_script_new(rw_dir_agent_lua);
    hg->lease = rw_redis_script_new(lease_lua);
    hg->release = rw_redis_script_new(release_lua);
    hg->server = hg->decide && hg->agent && hg->lease && hg->release
                 ? rw_server_new(root, opts->bind, on_request, hg) : NULL;
    if (!hg->server) {
        rw_log_error("bind_failed", RW_S("endpoint", opts->bind));
        rw_huntgroup_destroy(&hg);
        return NULL;
    }
    if (opts->call_events && opts->call_events[0]) {
        hg->sub = rw_sub_new(root, on_call_event, hg, m);
        if (hg->sub && rw_sub_subscribe(hg->sub, "call.") == 0)
            hg->watcher = rw_watcher_new(root, redis, opts->call_events, 1000, NULL, on_call_publishers, hg);
    }
    hg->stats_timer = rw_sutimer_lazy(root, opts->stats_ms ? opts->stats_ms : 1000);
    hg->events_timer = rw_sutimer_lazy(root, opts->events_ms ? opts->events_ms : 200);
    if (hg->stats_timer)
        su_timer_set_for_ever(hg->stats_timer, on_stats_timer, (su_timer_arg_t *) hg);
    if (hg->events_timer)
        su_timer_set_for_ever(hg->events_timer, on_events_timer, (su_timer_arg_t *) hg);
    return hg;
}

void rw_huntgroup_destroy(rw_huntgroup_t **pself)
{
    rw_huntgroup_t *hg = pself ? *pself : NULL;
    if (!hg)
        return;
    /* Jobs still waiting for Redis: their callbacks only free them from now on. */
    for (job_t *j = hg->inflight, *next; j; j = next) {
        next = j->next;
        j->hg = NULL;
        j->req = NULL;
    }
    rw_server_destroy(&hg->server);
    rw_watcher_destroy(&hg->watcher);
    rw_sub_destroy(&hg->sub);
    if (hg->stats_timer)
        su_timer_destroy(hg->stats_timer);
    if (hg->events_timer)
        su_timer_destroy(hg->events_timer);
    rw_redis_script_destroy(&hg->decide);
    rw_redis_script_destroy(&hg->agent);
    rw_redis_script_destroy(&hg->lease);
    rw_redis_script_destroy(&hg->release);
    msgpack_sbuffer_destroy(&hg->sb);
    free(hg);
    *pself = NULL;
}

const char *rw_huntgroup_endpoint(const rw_huntgroup_t *hg)
{
    return rw_server_endpoint(hg->server);
}
