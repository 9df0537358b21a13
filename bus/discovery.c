/* bus/discovery.c — which instances of a service are alive.
 * Static lists come from configuration. The Redis registry is one sorted set per service,
 * "rw:svc:<service>", member "<instance>|<endpoint>", score = the member's expiry in wall-clock
 * ms: an announcer re-adds itself every ttl/3 (ZADD) and removes itself when destroyed (ZREM);
 * a watcher reads the live members (ZRANGEBYSCORE key now +inf) every poll, prunes expired
 * ones (ZREMRANGEBYSCORE key -inf (now) and hands a changed view to the client. A failed read
 * changes nothing: while Redis is away the last view stays. */
#include "bus/discovery.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sutimer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 64
#define MAX_MEMBER 320

/* ---- static lists ----------------------------------------------------------------------- */

int rw_bus_static_endpoints(rw_client_t *cli, const char *list)
{
    if (!cli || !list)
        return RW_EINVAL;
    char *copy = strdup(list), *save = NULL;
    const char *eps[MAX_ENDPOINTS];
    size_t n = 0;
    if (!copy)
        return RW_ENOMEM;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok += strspn(tok, " \t");
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = 0;
        if (len && n < MAX_ENDPOINTS)
            eps[n++] = tok;
    }
    int rc = rw_client_set_endpoints(cli, eps, n);
    free(copy);
    return rc;
}

static int key_of(char *buf, size_t len, const char *service)
{
    int n = snprintf(buf, len, "rw:svc:%s", service);
    return n > 0 && (size_t) n < len ? 0 : RW_ERANGE;
}

/* ---- announcer -------------------------------------------------------------------------- */

struct rw_announcer {
    rw_aredis_t *redis;
    su_timer_t *beat;
    unsigned ttl_ms;
    uint64_t last_ok_ms;      /* wall time of the last ZADD Redis confirmed, 0 = none yet */
    int inflight, dead;       /* a ZADD awaits its answer; destroyed while it did */
    char key[96];
    char member[MAX_MEMBER];
};

/* The beat runs every ANNOUNCE_RETRY_MS; a ZADD goes out when none was confirmed for ttl/3,
 * so a new instance (or one whose Redis came back) appears within that retry time. */
#define ANNOUNCE_RETRY_MS 100

static void on_announced(void *arg, redisReply *r)
{
    rw_announcer_t *a = arg;
    a->inflight = 0;
    if (a->dead) {
        free(a);
        return;
    }
    if (r && r->type == REDIS_REPLY_INTEGER)
        a->last_ok_ms = rw_clock_wall_ms();
}

static void announce(rw_announcer_t *a)
{
    char score[24];
    if (a->inflight || (a->last_ok_ms && rw_clock_wall_ms() - a->last_ok_ms < a->ttl_ms / 3))
        return;
    snprintf(score, sizeof score, "%llu", (unsigned long long) (rw_clock_wall_ms() + a->ttl_ms));
    /* RW_EAGAIN while Redis is down: the next beat tries again. */
    if (rw_aredis_command(a->redis, on_announced, a, "ZADD %s %s %s", a->key, score, a->member) == 0)
        a->inflight = 1;
}

static void on_beat(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    announce(arg);
}

rw_announcer_t *rw_announcer_new(su_root_t *root, rw_aredis_t *redis, const char *service,
                                 const char *instance, const char *endpoint, unsigned ttl_ms)
{
    if (!root || !redis || !service || !*service || !instance || !*instance || !endpoint
        || !*endpoint || strchr(instance, '|') || strchr(endpoint, '|') || ttl_ms < 300)
        return NULL;
    rw_announcer_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->redis = redis;
    a->ttl_ms = ttl_ms;
    int n = snprintf(a->member, sizeof a->member, "%s|%s", instance, endpoint);
    if (key_of(a->key, sizeof a->key, service) != 0 || n < 0 || (size_t) n >= sizeof a->member)
        goto fail;
    a->beat = rw_sutimer_lazy(root, ANNOUNCE_RETRY_MS);
    if (!a->beat || su_timer_set_for_ever(a->beat, on_beat, a) != 0)
        goto fail;
    announce(a);
    rw_log_info("bus_announced", RW_S("key", a->key), RW_S("member", a->member),
                RW_U("ttl_ms", ttl_ms));
    return a;
fail:
    if (a->beat)
        su_timer_destroy(a->beat);
    free(a);
    return NULL;
}

void rw_announcer_destroy(rw_announcer_t **self)
{
    if (!self || !*self)
        return;
    rw_announcer_t *a = *self;
    *self = NULL;
    su_timer_destroy(a->beat);
    rw_aredis_command(a->redis, NULL, NULL, "ZREM %s %s", a->key, a->member);
    if (a->inflight)
        a->dead = 1;      /* on_announced frees it */
    else
        free(a);
}

/* ---- watcher ---------------------------------------------------------------------------- */

typedef struct query {
    rw_watcher_t *w;            /* NULL once the watcher is gone: the reply is ignored */
} query_t;

struct rw_watcher {
    rw_aredis_t *redis;
    su_timer_t *poll;
    rw_client_t *cli;
    rw_watcher_fn *fn;
    void *arg;
    char key[96];
    query_t *inflight;
    int redis_ok;               /* last read worked (log transitions only) */
    char *view[MAX_ENDPOINTS];  /* sorted, unique */
    size_t n_view;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Collects the endpoints of a ZRANGEBYSCORE reply into eps (pointers into the reply). */
static size_t parse_members(const redisReply *r, const char **eps)
{
    size_t n = 0;
    for (size_t i = 0; i < r->elements && n < MAX_ENDPOINTS; i++) {
        const redisReply *e = r->element[i];
        if (!e || e->type != REDIS_REPLY_STRING || e->len >= MAX_MEMBER
            || strlen(e->str) != (size_t) e->len)
            continue;
        const char *bar = strchr(e->str, '|');
        if (bar && bar[1])
            eps[n++] = bar + 1;
    }
    qsort(eps, n, sizeof *eps, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(eps[k - 1], eps[i]) != 0)
            eps[k++] = eps[i];
    return k;
}

static int same_view(const rw_watcher_t *w, const char *const *eps, size_t n)
{
    if (n != w->n_view)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(w->view[i], eps[i]) != 0)
            return 0;
    return 1;
}

static void set_view(rw_watcher_t *w, const char *const *eps, size_t n)
{
    char *next[MAX_ENDPOINTS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((next[k] = strdup(eps[i])) != NULL)
            k++;
    for (size_t i = 0; i < w->n_view; i++)
        free(w->view[i]);
    memcpy(w->view, next, k * sizeof *next);
    w->n_view = k;
    rw_log_info("bus_view_changed", RW_S("key", w->key), RW_U("instances", k));
    if (w->cli)
        rw_client_set_endpoints(w->cli, (const char *const *) w->view, w->n_view);
    if (w->fn)
        w->fn(w->arg, (const char *const *) w->view, w->n_view);   /* last: may destroy w */
}

static void on_range(void *arg, redisReply *r)
{
    query_t *q = arg;
    rw_watcher_t *w = q->w;
    free(q);
    if (!w)
        return;
    w->inflight = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (w->redis_ok)
            rw_log_warn("bus_registry_unreachable", RW_S("key", w->key),
                        RW_U("kept_instances", w->n_view));
        w->redis_ok = 0;
        return;                 /* keep the last view */
    }
    w->redis_ok = 1;
    const char *eps[MAX_ENDPOINTS];
    size_t n = parse_members(r, eps);
    if (!same_view(w, eps, n))
        set_view(w, eps, n);
}

static void poll_registry(rw_watcher_t *w)
{
    if (w->inflight)
        return;                 /* the last read is still out: do not pile up */
    char now[24], past[24];
    uint64_t ms = rw_clock_wall_ms();
    snprintf(now, sizeof now, "%llu", (unsigned long long) ms);
    snprintf(past, sizeof past, "(%llu", (unsigned long long) ms);
    query_t *q = calloc(1, sizeof *q);
    if (!q)
        return;
    q->w = w;
    w->inflight = q;
    if (rw_aredis_command(w->redis, on_range, q, "ZRANGEBYSCORE %s %s +inf", w->key, now) != 0) {
        w->inflight = NULL;
        free(q);
        if (w->redis_ok)
            rw_log_warn("bus_registry_unreachable", RW_S("key", w->key),
                        RW_U("kept_instances", w->n_view));
        w->redis_ok = 0;
        return;
    }
    rw_aredis_command(w->redis, NULL, NULL, "ZREMRANGEBYSCORE %s -inf %s", w->key, past);
}

static void on_poll(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    poll_registry(arg);
}

rw_watcher_t *rw_watcher_new(su_root_t *root, rw_aredis_t *redis, const char *service,
                             unsigned poll_ms, rw_client_t *cli, rw_watcher_fn *fn, void *arg)
{
    if (!root || !redis || !service || !*service)
        return NULL;
    rw_watcher_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    *w = (rw_watcher_t){ .redis = redis, .cli = cli, .fn = fn, .arg = arg, .redis_ok = 1 };
    if (key_of(w->key, sizeof w->key, service) != 0)
        goto fail;
    w->poll = rw_sutimer_lazy(root, poll_ms ? poll_ms : 500);
    if (!w->poll || su_timer_set_for_ever(w->poll, on_poll, w) != 0)
        goto fail;
    poll_registry(w);
    return w;
fail:
    if (w->poll)
        su_timer_destroy(w->poll);
    free(w);
    return NULL;
}

void rw_watcher_destroy(rw_watcher_t **self)
{
    if (!self || !*self)
        return;
    rw_watcher_t *w = *self;
    *self = NULL;
    su_timer_destroy(w->poll);
    if (w->inflight)
        w->inflight->w = NULL;  /* its callback still runs once and frees the query */
    for (size_t i = 0; i < w->n_view; i++)
        free(w->view[i]);
    free(w);
}

size_t rw_watcher_count(const rw_watcher_t *w)
{
    return w ? w->n_view : 0;
}

const char *rw_watcher_endpoint(const rw_watcher_t *w, size_t i)
{
    return w && i < w->n_view ? w->view[i] : NULL;
}
