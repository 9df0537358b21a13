/* directory/dir_board.c — a hunt group's board read from Redis (dir_board.h). */
#include "directory/dir_board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const figures[] = { "joined", "offered", "answered", "abandoned", "overflowed",
                                       "answered_sl", "wait_sum_ms", "wait_max_ms" };
#define N_FIGURES (sizeof figures / sizeof figures[0])

static long long hget_ll(rw_redis_t *r, const char *key, const char *field)
{
    redisReply *rep = rw_redis_command(r, "HGET %s %s", key, field);
    long long v = rep && rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
    if (rep)
        freeReplyObject(rep);
    return v;
}

void rw_hg_agent_state(rw_redis_t *r, const char *user, const char *gid, uint64_t now, char *out, size_t len)
{
    char key[128];
    redisReply *in = rw_redis_command(r, "SISMEMBER rw:hg:agent:%s:groups %s", user, gid);
    int logged = in && in->type == REDIS_REPLY_INTEGER && in->integer;
    if (in)
        freeReplyObject(in);
    snprintf(out, len, "logged_out");
    if (!logged)
        return;
    snprintf(key, sizeof key, "rw:hg:agent:%s", user);
    redisReply *rep = rw_redis_command(r, "HGET %s state", key);
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(out, len, "%s", rep->str);
    if (rep)
        freeReplyObject(rep);
    if ((!strcmp(out, "wrap_up") && (uint64_t) hget_ll(r, key, "wrap_until") <= now)
        || (!strcmp(out, "offered") && (uint64_t) hget_ll(r, key, "offer_until") <= now))
        snprintf(out, len, "available");
}

/* The figures of one stats hash into j, with both service levels and the average wait. */
static void add_figures(rw_redis_t *r, const char *key, json_t *j, bool derived)
{
    for (size_t i = 0; i < N_FIGURES; i++)
        json_object_set_new(j, figures[i], json_integer(hget_ll(r, key, figures[i])));
    if (!derived)
        return;
    long long answered = hget_ll(r, key, "answered"), abandoned = hget_ll(r, key, "abandoned"),
              sl = hget_ll(r, key, "answered_sl");
    json_object_set_new(j, "sl_pct_answered", json_real(answered ? 100.0 * (double) sl / (double) answered : 0));
    json_object_set_new(j, "sl_pct_offered",
                        json_real(answered + abandoned ? 100.0 * (double) sl / (double) (answered + abandoned) : 0));
    json_object_set_new(j, "avg_wait_ms", json_integer(answered ? hget_ll(r, key, "wait_sum_ms") / answered : 0));
}

json_t *rw_hg_interval(rw_redis_t *r, const char *gid, uint64_t start_ms)
{
    char key[128];
    json_t *iv = json_object();
    snprintf(key, sizeof key, "rw:hg:stats:%s:%llu", gid, (unsigned long long) start_ms);
    add_figures(r, key, iv, true);
    json_object_set_new(iv, "start_ms", json_integer((json_int_t) start_ms));
    return iv;
}

json_t *rw_hg_board(rw_redis_t *r, const rw_group_t *g, uint64_t now, bool callers)
{
    char key[128];
    const char *gid = g->id;
    json_t *j = json_object(), *agents = json_object(), *by_state = json_object();
    json_t *list = callers ? json_array() : NULL;
    snprintf(key, sizeof key, "rw:hg:stats:%s", gid);
    add_figures(r, key, j, true);
    redisReply *q = rw_redis_command(r, "ZRANGE rw:hg:q:%s 0 -1", gid);
    long long waiting = 0, longest = 0;
    for (size_t i = 0; q && q->type == REDIS_REPLY_ARRAY && i < q->elements; i++) {
        char ck[200];
        snprintf(ck, sizeof ck, "rw:hg:call:%s", q->element[i]->str);
        long long joined = hget_ll(r, ck, "joined");
        long long wait = joined && (long long) now > joined ? (long long) now - joined : 0;
        waiting++;
        if (wait > longest)
            longest = wait;
        if (list) {
            redisReply *c = rw_redis_command(r, "HGET %s caller", ck);
            json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I}", "call_id", q->element[i]->str, "caller",
                                                  c && c->type == REDIS_REPLY_STRING ? c->str : "",
                                                  "position", (json_int_t) i + 1, "wait_ms", (json_int_t) wait));
            if (c)
                freeReplyObject(c);
        }
    }
    if (q)
        freeReplyObject(q);
    /* the current 15-minute interval's figures (rw:hg:stats:<group>:<start ms>) */
    uint64_t start = now - now % RW_HG_INTERVAL_MS;
    json_t *iv = json_object();
    snprintf(key, sizeof key, "rw:hg:stats:%s:%llu", gid, (unsigned long long) start);
    add_figures(r, key, iv, false);
    json_object_set_new(iv, "start_ms", json_integer((json_int_t) start));
    json_object_set_new(j, "interval", iv);
    json_object_set_new(j, "waiting", json_integer(waiting));
    json_object_set_new(j, "longest_wait_ms", json_integer(longest));
    for (uint32_t i = 0; i < g->n_members; i++) {
        char st[32];
        rw_hg_agent_state(r, g->members[i].user, gid, now, st, sizeof st);
        json_object_set_new(agents, g->members[i].user, json_string(st));
        json_object_set_new(by_state, st, json_integer(json_integer_value(json_object_get(by_state, st)) + 1));
    }
    json_object_set_new(j, "group", json_string(gid));
    json_object_set_new(j, "agents", agents);
    json_object_set_new(j, "agents_by_state", by_state);
    if (list)
        json_object_set_new(j, "callers", list);
    return j;
}
