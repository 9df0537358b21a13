/* services/huntgroup/decide.c — arguments for, and replies of, the decision script (decide.h). */
#include "services/huntgroup/decide.h"
#include "common/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rw_hg_decide_args(const rw_hg_req_t *req, uint64_t now_ms, uint32_t rnd, const rw_hg_policy_t *p,
                      rw_hg_argbuf_t *b, const char *argv[RW_HG_ARGC])
{
    static const char *const ops[] = { "next", "outcome", NULL, "stats" };
    if ((unsigned) req->op > RW_HGOP_STATS || !ops[req->op])
        return RW_EINVAL;
    const char *result = rw_proto_hg_result_name(req->result);
    snprintf(b->now, sizeof b->now, "%llu", (unsigned long long) now_ms);
    snprintf(b->rnd, sizeof b->rnd, "%u", rnd);
    snprintf(b->timeout, sizeof b->timeout, "%u", p->caller_timeout_ms);
    snprintf(b->talk, sizeof b->talk, "%llu", (unsigned long long) req->talk_ms);
    snprintf(b->retry, sizeof b->retry, "%u", p->retry_ms);
    snprintf(b->interval, sizeof b->interval, "%llu", (unsigned long long) req->interval_ms);
    argv[0] = ops[req->op];
    argv[1] = b->now;
    argv[2] = b->rnd;
    argv[3] = b->timeout;
    argv[4] = req->call_id;
    argv[5] = req->group;
    argv[6] = req->caller;
    argv[7] = req->agent;
    argv[8] = result ? result : "";
    argv[9] = b->talk;
    argv[10] = b->retry;
    argv[11] = b->interval;
    argv[12] = req->dialled;
    return 0;
}

static const char *str_at(const redisReply *rep, size_t i)
{
    return i < rep->elements && rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : NULL;
}

static long long int_at(const redisReply *rep, size_t i)
{
    if (i >= rep->elements)
        return 0;
    if (rep->element[i]->type == REDIS_REPLY_INTEGER)
        return rep->element[i]->integer;
    if (rep->element[i]->type == REDIS_REPLY_STRING)
        return atoll(rep->element[i]->str);
    return 0;
}

static void fill_event(rw_hg_event_t *e, const char *const f[7])
{
    snprintf(e->type, sizeof e->type, "%s", f[0]);
    snprintf(e->group, sizeof e->group, "%s", f[1]);
    snprintf(e->agent, sizeof e->agent, "%s", f[2]);
    snprintf(e->state, sizeof e->state, "%s", f[3]);
    snprintf(e->call_id, sizeof e->call_id, "%s", f[4]);
    e->position = (uint32_t) strtoul(f[5], NULL, 10);
    e->wait_ms = strtoull(f[6], NULL, 10);
}

static void add_event(rw_hg_events_t *evs, const char *const f[7])
{
    if (!evs)
        return;
    if (evs->n == RW_HG_MAX_EVENTS) {
        evs->dropped++;
        return;
    }
    fill_event(&evs->ev[evs->n++], f);
}

static void parse_events(const redisReply *list, rw_hg_events_t *evs)
{
    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        const redisReply *e = list->element[i];
        const char *f[7];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 7)
            continue;
        for (size_t k = 0; k < 7; k++)
            f[k] = e->element[k]->type == REDIS_REPLY_STRING ? e->element[k]->str : "";
        add_event(evs, f);
    }
}

static void error_reply(rw_hg_reply_t *out, const char *why)
{
    out->status = RW_HGS_ERROR;
    snprintf(out->reason, sizeof out->reason, "%s", why);
}

int rw_hg_decide_parse(const rw_hg_req_t *req, const redisReply *rep, rw_hg_reply_t *out,
                       rw_hg_events_t *evs)
{
    memset(out, 0, sizeof *out);
    snprintf(out->call_id, sizeof out->call_id, "%s", req->call_id);
    if (evs)
        evs->n = evs->dropped = 0;
    if (!rep)
        return error_reply(out, "queue state unreachable (Redis)"), 0;
    if (rep->type == REDIS_REPLY_ERROR)
        return error_reply(out, "queue decision failed"), 0;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 9 || !str_at(rep, 0))
        return RW_EPROTO;
    int st = rw_proto_hg_status_parse(str_at(rep, 0));
    if (st < 0)
        return RW_EPROTO;
    out->status = (rw_hg_status_t) st;
    snprintf(out->reason, sizeof out->reason, "%s", str_at(rep, 1) ? str_at(rep, 1) : "");
    out->ring_ms = (uint32_t) int_at(rep, 2);
    out->retry_ms = (uint32_t) int_at(rep, 3);
    out->position = (uint32_t) int_at(rep, 4);
    snprintf(out->overflow, sizeof out->overflow, "%s", str_at(rep, 5) ? str_at(rep, 5) : "");
    const redisReply *ag = rep->element[6];
    for (size_t i = 0; ag->type == REDIS_REPLY_ARRAY && i + 1 < ag->elements && out->n_agents < RW_HG_MAX_AGENTS;
         i += 2) {
        rw_hg_agent_t *a = &out->agents[out->n_agents++];
        snprintf(a->user, sizeof a->user, "%s", ag->element[i]->type == REDIS_REPLY_STRING ? ag->element[i]->str : "");
        snprintf(a->device, sizeof a->device, "%s",
                 ag->element[i + 1]->type == REDIS_REPLY_STRING ? ag->element[i + 1]->str : "");
    }
    parse_events(rep->element[7], evs);
    const redisReply *ex = rep->element[8];
    for (size_t i = 0; ex->type == REDIS_REPLY_ARRAY && i + 1 < ex->elements && out->n_stats < RW_HG_MAX_STATS;
         i += 2) {
        if (ex->element[i]->type != REDIS_REPLY_STRING)
            continue;
        rw_hg_stat_t *s = &out->stats[out->n_stats++];
        snprintf(s->name, sizeof s->name, "%s", ex->element[i]->str);
        s->value = (uint64_t) int_at(ex, i + 1);
    }
    return 0;
}

int rw_hg_agent_parse(const redisReply *rep, rw_hg_reply_t *out, rw_hg_events_t *evs)
{
    memset(out, 0, sizeof *out);
    if (evs)
        evs->n = evs->dropped = 0;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || !str_at(rep, 0))
        return error_reply(out, rep && rep->type == REDIS_REPLY_ERROR ? "agent operation failed"
                                                                        : "agent state unreachable (Redis)"), 0;
    if (str_at(rep, 0)[0])
        return error_reply(out, str_at(rep, 0)), 0;
    if (rep->elements < 7)
        return RW_EPROTO;
    out->status = RW_HGS_DONE;
    snprintf(out->state, sizeof out->state, "%s", str_at(rep, 1) ? str_at(rep, 1) : "");
    snprintf(out->reason, sizeof out->reason, "%s", str_at(rep, 2) ? str_at(rep, 2) : "");
    const redisReply *e = rep->element[4];
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 3 < e->elements; i += 4) {
        const char *f[7] = { "", "", "", "", "", "0", "0" };
        for (size_t k = 0; k < 4; k++)
            f[k] = e->element[i + k]->type == REDIS_REPLY_STRING ? e->element[i + k]->str : "";
        add_event(evs, f);
    }
    return 0;
}

int rw_hg_event_from_json(const char *json, rw_hg_event_t *ev)
{
    json_t *j = json_loads(json, 0, NULL);
    const char *f[7];
    int rc = RW_EPROTO;
    if (json_is_array(j) && json_array_size(j) == 7) {
        rc = 0;
        for (size_t i = 0; i < 7; i++) {
            json_t *v = json_array_get(j, i);
            if (!json_is_string(v))
                rc = RW_EPROTO;
            f[i] = json_is_string(v) ? json_string_value(v) : "";
        }
        if (rc == 0)
            fill_event(ev, f);
    }
    json_decref(j);
    return rc;
}

int rw_hg_decide_sync(rw_redis_t *r, const rw_hg_req_t *req, uint64_t now_ms, uint32_t rnd,
                      const rw_hg_policy_t *p, rw_hg_reply_t *out, rw_hg_events_t *evs)
{
    rw_hg_argbuf_t b;
    const char *args[RW_HG_ARGC], *argv[3 + RW_HG_ARGC];
    int rc = rw_hg_decide_args(req, now_ms, rnd, p, &b, args);
    if (rc < 0)
        return rc;
    argv[0] = "EVAL";
    argv[1] = rw_hg_decide_lua;
    argv[2] = "0";
    memcpy(argv + 3, args, sizeof args);
    redisReply *rep = rw_redis_commandargv(r, 3 + RW_HG_ARGC, argv, NULL);
    rc = rw_hg_decide_parse(req, rep, out, evs);
    if (rep)
        freeReplyObject(rep);
    return rc;
}
