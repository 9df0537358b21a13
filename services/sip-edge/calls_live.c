/* services/sip-edge/calls_live.c — calls in progress vouched for in Redis (calls_live.h).
 * The map is the ttlmap of the caches: call id -> whether it was answered. A call's end is
 * always seen by the process that carried it, except a BYE the kernel handed to another
 * process of the same edge: that one names the call in rw:calls:ended, and this process learns
 * it from its next read of that sorted set. The read follows the scores, which are the wall
 * clock (rw_clock_wall_ms, the writers' clock: the processes of one edge share a host); it
 * starts RW_CALLS_LIVE_ENDED_LAG_MS before the last read was sent, so an id whose batch landed
 * after a newer one is still seen, and a read cut by the limit goes on from its last score at
 * the next batch (past the ids with that score already read). */
#include "services/sip-edge/calls_live.h"
#include "services/sip-edge/ttlmap.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sutimer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char answered;
} call_t;

typedef struct flight {
    rw_calls_live_t *cl;                /* NULL once the owner is destroyed */
    int pending;                        /* replies still to come: the write, the read */
} flight_t;

struct rw_calls_live {
    su_root_t *root;
    rw_aredis_t *redis;
    su_timer_t *timer;
    rw_ttlmap_t *calls;
    char publisher[64];                 /* learnt from the first event noted */
    char key[80];                       /* rw:calls:<publisher> */
    int dirty;                          /* the set differs from what Redis holds */
    uint64_t overflow_until_ms;         /* a call could not be held: "*" in the set until then */
    flight_t *inflight;                 /* one batch at a time */
    char (*ended)[128];                 /* BYEs of other processes' calls, not yet written */
    size_t n_ended;
    uint64_t ended_from;                /* rw:calls:ended is read from this score (wall ms) */
    size_t ended_skip;                  /* past this many ids with that very score */
    uint64_t ended_sent_wall;           /* when the read in flight was sent */
    int ended_failing;                  /* a read failed: logged once until one succeeds */
    const char **argv;                  /* SADD/ZADD arguments, grown as needed */
    size_t argv_cap;
    rw_gauge_t *g_calls;
    rw_counter_t *writes, *write_failures, *overflows;
};

static uint64_t now_ms(void) { return rw_clock_mono_ms(); }

void rw_calls_live_note(rw_calls_live_t *cl, const rw_event_t *ev)
{
    if (!cl || !ev->call.call_id[0] || strncmp(ev->type, "call.", 5) != 0)
        return;
    const char *t = ev->type + 5, *cid = ev->call.call_id;
    if (!cl->publisher[0] && ev->publisher[0]) {
        snprintf(cl->publisher, sizeof cl->publisher, "%s", ev->publisher);
        snprintf(cl->key, sizeof cl->key, "rw:calls:%s", cl->publisher);
        cl->dirty = 1;                  /* the set exists ("."), even empty, from now on */
    }
    uint64_t now = now_ms();
    if (!strcmp(t, "ringing") || !strcmp(t, "answered")) {
        int answered = t[0] == 'a';
        call_t *c = rw_ttlmap_get(cl->calls, cid, now);
        if (c && (c->answered || !answered))
            return;                     /* nothing new: a second 180, a retransmitted answer */
        int fresh = !c;
        c = rw_ttlmap_put(cl->calls, cid, now + (answered ? RW_CALLS_LIVE_ANSWERED_MAX_MS
                                                         : RW_CALLS_LIVE_RINGING_MAX_MS), now);
        if (!c) {                       /* full: vouch for every call as long as this one may last */
            if (!cl->overflow_until_ms)
                cl->dirty = 1;
            cl->overflow_until_ms = now + RW_CALLS_LIVE_ANSWERED_MAX_MS;
            rw_counter_inc(cl->overflows);
            return;
        }
        c->answered = (unsigned char) answered;
        if (fresh)
            cl->dirty = 1;
    } else if (!strcmp(t, "ended") || !strcmp(t, "failed")) {
        if (rw_ttlmap_get(cl->calls, cid, now)) {
            rw_ttlmap_del(cl->calls, cid);
            cl->dirty = 1;
        } else if (t[0] == 'e' && !strcmp(ev->call.reason, "bye") && cl->n_ended < RW_CALLS_LIVE_ENDED_MAX) {
            snprintf(cl->ended[cl->n_ended++], sizeof cl->ended[0], "%s", cid);
        }
    }
}

size_t rw_calls_live_count(const rw_calls_live_t *cl)
{
    return cl ? rw_ttlmap_count(cl->calls) : 0;
}

/* ---- the batch -------------------------------------------------------------------------- */

static int argv_room(rw_calls_live_t *cl, size_t n)
{
    if (n <= cl->argv_cap)
        return 0;
    size_t cap = cl->argv_cap ? cl->argv_cap : 64;
    while (cap < n)
        cap *= 2;
    const char **a = realloc(cl->argv, cap * sizeof *a);
    if (!a)
        return -1;
    cl->argv = a;
    cl->argv_cap = cap;
    return 0;
}

typedef struct {
    const char **argv;
    size_t n;
} fill_t;

static void add_id(void *arg, const char *key, void *value, uint64_t expires_ms)
{
    fill_t *fl = arg;
    (void) value, (void) expires_ms;
    fl->argv[fl->n++] = key;
}

static void on_written(void *arg, redisReply *r);

static flight_t *flight_new(rw_calls_live_t *cl)
{
    flight_t *f = calloc(1, sizeof *f);
    if (f) {
        f->cl = cl;
        f->pending = 1;                 /* the write */
        cl->inflight = f;
    }
    return f;
}

/* One reply of the batch came (or will never come); the last one ends the batch. */
static void flight_done(flight_t *f)
{
    if (--f->pending > 0)
        return;
    if (f->cl)
        f->cl->inflight = NULL;
    free(f);
}

/* SADD rw:calls:<publisher> . <ids...> [*] inside MULTI; 0, or -1 with nothing sent. */
static int write_set(rw_calls_live_t *cl)
{
    size_t n = rw_ttlmap_count(cl->calls);
    if (argv_room(cl, n + 4) < 0)
        return -1;
    fill_t fl = { cl->argv, 3 };
    uint64_t now = now_ms();
    rw_ttlmap_foreach(cl->calls, now, add_id, &fl);
    size_t argc = fl.n;
    cl->argv[0] = "SADD";
    cl->argv[1] = cl->key;
    cl->argv[2] = ".";
    if (cl->overflow_until_ms > now)
        cl->argv[argc++] = "*";
    else
        cl->overflow_until_ms = 0;
    if (rw_aredis_command(cl->redis, NULL, NULL, "DEL %s", cl->key) < 0
        || rw_aredis_commandargv(cl->redis, NULL, NULL, (int) argc, cl->argv, NULL) < 0)
        return -1;
    return 0;
}

static int write_ended(rw_calls_live_t *cl)
{
    if (!cl->n_ended)
        return 0;
    if (argv_room(cl, 2 + 2 * cl->n_ended) < 0)
        return -1;
    char score[24];
    uint64_t wall = rw_clock_wall_ms();
    snprintf(score, sizeof score, "%llu", (unsigned long long) wall);
    size_t argc = 0;
    cl->argv[argc++] = "ZADD";
    cl->argv[argc++] = "rw:calls:ended";
    for (size_t i = 0; i < cl->n_ended; i++) {
        cl->argv[argc++] = score;
        cl->argv[argc++] = cl->ended[i];
    }
    if (rw_aredis_commandargv(cl->redis, NULL, NULL, (int) argc, cl->argv, NULL) < 0
        || rw_aredis_command(cl->redis, NULL, NULL, "ZREMRANGEBYSCORE rw:calls:ended -inf %llu",
                             (unsigned long long) (wall > RW_CALLS_LIVE_ENDED_KEEP_MS
                                                   ? wall - RW_CALLS_LIVE_ENDED_KEEP_MS : 0)) < 0)
        return -1;
    return 0;
}

/* ---- the ids other processes ended ------------------------------------------------------ */

static void on_ended(void *arg, redisReply *r);

/* The next read starts RW_CALLS_LIVE_ENDED_LAG_MS before wall (a time of this process). */
static void read_from(rw_calls_live_t *cl, uint64_t wall)
{
    cl->ended_from = wall > RW_CALLS_LIVE_ENDED_LAG_MS ? wall - RW_CALLS_LIVE_ENDED_LAG_MS : 0;
    cl->ended_skip = 0;
}

/* ZRANGEBYSCORE for the batch, sent ahead of its write (the same round trip). None while this
 * process carries no call: there is nothing to drop, and a call noted later ends later. */
static void read_ended(rw_calls_live_t *cl, flight_t *f)
{
    uint64_t wall = rw_clock_wall_ms();
    if (!rw_ttlmap_count(cl->calls)) {
        read_from(cl, wall);
        return;
    }
    if (rw_aredis_command(cl->redis, on_ended, f, "ZRANGEBYSCORE rw:calls:ended %llu +inf WITHSCORES LIMIT %llu %d",
                          (unsigned long long) cl->ended_from, (unsigned long long) cl->ended_skip,
                          RW_CALLS_LIVE_ENDED_READ_MAX) == 0) {
        cl->ended_sent_wall = wall;
        f->pending++;
    }
}

static void ended_failed(rw_calls_live_t *cl, const char *why, const char *detail)
{
    if (!cl->ended_failing)
        rw_log_warn("calls_live_ended_read_failed", RW_S("key", "rw:calls:ended"), RW_S("why", why),
                    RW_S("detail", detail ? detail : ""));
    cl->ended_failing = 1;
}

/* A score of the reply in whole milliseconds (the writers' are whole; any other is floored,
 * which the read's inclusive lower bound and its count of ties agree with; "inf" and anything
 * past 1e18 count as 1e18). */
static int parse_score(const redisReply *e, uint64_t *ms)
{
    if (!e || e->type != REDIS_REPLY_STRING || !e->str)
        return -1;
    char *end;
    double d = strtod(e->str, &end);
    if (end == e->str || *end || isnan(d) || d < 0)
        return -1;
    *ms = d < 1e18 ? (uint64_t) d : (uint64_t) 1e18;
    return 0;
}

/* The ids and scores read: drop the calls carried here, then move the read on. A failed or
 * malformed reply moves nothing: the next batch reads from the same place. */
static void take_ended(rw_calls_live_t *cl, const redisReply *r)
{
    if (!r)
        return;                         /* Redis away or slow: the write's failure is counted */
    if (r->type == REDIS_REPLY_ERROR) {
        ended_failed(cl, "error", r->str);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        ended_failed(cl, "malformed", "not pairs of id and score");
        return;
    }
    size_t n = r->elements / 2, ties = 0;
    uint64_t last = cl->ended_from;
    for (size_t i = 0; i < n; i++) {
        const redisReply *id = r->element[2 * i];
        uint64_t score;
        if (!id || id->type != REDIS_REPLY_STRING || !id->str
            || parse_score(r->element[2 * i + 1], &score) < 0 || score < last) {
            ended_failed(cl, "malformed", "an id or a score out of order");
            return;
        }
        ties = score == last ? ties + 1 : 1;
        last = score;
        size_t held = rw_ttlmap_count(cl->calls);
        rw_ttlmap_del(cl->calls, id->str);
        if (rw_ttlmap_count(cl->calls) < held)
            cl->dirty = 1;              /* the next batch lists it no more */
    }
    if (n >= RW_CALLS_LIVE_ENDED_READ_MAX) {
        /* cut by the limit: on from the last score, past the ids with it read so far */
        cl->ended_skip = (last == cl->ended_from ? cl->ended_skip : 0) + ties;
        cl->ended_from = last;
    } else {
        read_from(cl, cl->ended_sent_wall);
    }
    if (cl->ended_failing)
        rw_log_info("calls_live_ended_read_recovered", RW_S("key", "rw:calls:ended"));
    cl->ended_failing = 0;
}

static void on_ended(void *arg, redisReply *r)
{
    flight_t *f = arg;
    if (f->cl)
        take_ended(f->cl, r);
    flight_done(f);
}

/* ---- the batch, read and write ---------------------------------------------------------- */

int rw_calls_live_flush(rw_calls_live_t *cl)
{
    if (!cl)
        return RW_EINVAL;
    if (cl->inflight || !cl->key[0] || !rw_aredis_connected(cl->redis))
        return RW_EAGAIN;
    if (cl->overflow_until_ms && now_ms() >= cl->overflow_until_ms)
        cl->dirty = 1;                  /* "*" comes out of the set */
    rw_gauge_set(cl->g_calls, (double) rw_ttlmap_count(cl->calls));
    flight_t *f = flight_new(cl);
    if (!f)
        return RW_ENOMEM;
    read_ended(cl, f);
    int full = cl->dirty, rc;
    if (!full && !cl->n_ended) {
        rc = rw_aredis_command(cl->redis, on_written, f, "PEXPIRE %s %u", cl->key, RW_CALLS_LIVE_TTL_MS);
    } else {
        rc = rw_aredis_command(cl->redis, NULL, NULL, "MULTI");
        if (rc == 0 && full)
            rc = write_set(cl);
        if (rc == 0)
            rc = write_ended(cl);
        if (rc == 0)
            rc = rw_aredis_command(cl->redis, NULL, NULL, "PEXPIRE %s %u", cl->key, RW_CALLS_LIVE_TTL_MS);
        if (rc == 0)
            rc = rw_aredis_command(cl->redis, on_written, f, "EXEC");
        else
            rw_aredis_command(cl->redis, NULL, NULL, "DISCARD");
        if (rc == 0) {
            cl->dirty = 0;
            cl->n_ended = 0;
        }
    }
    if (rc < 0) {
        rw_counter_inc(cl->write_failures);
        flight_done(f);                 /* the read's reply, if it was sent, ends the batch */
        return RW_EAGAIN;
    }
    return 0;
}

/* PEXPIRE's reply (0: the set is gone, Redis lost it: written whole at once) or EXEC's. */
static void on_written(void *arg, redisReply *r)
{
    flight_t *f = arg;
    rw_calls_live_t *cl = f->cl;
    flight_done(f);
    if (!cl)
        return;
    if (!r || r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_NIL) {
        cl->dirty = 1;                  /* written whole next time */
        rw_counter_inc(cl->write_failures);
        return;
    }
    rw_counter_inc(cl->writes);
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        cl->dirty = 1;
        rw_calls_live_flush(cl);        /* at once, unless the read's reply is still to come */
    }
}

static void on_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m, (void) t;
    (void) rw_calls_live_flush((rw_calls_live_t *) arg);
}

/* ---- life ------------------------------------------------------------------------------- */

rw_calls_live_t *rw_calls_live_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m, size_t capacity)
{
    if (!root || !redis)
        return NULL;
    rw_calls_live_t *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->root = root;
    cl->redis = redis;
    cl->calls = rw_ttlmap_new(sizeof(call_t), capacity ? capacity : 65536);
    cl->ended = calloc(RW_CALLS_LIVE_ENDED_MAX, sizeof *cl->ended);
    cl->timer = rw_sutimer_lazy(root, RW_CALLS_LIVE_PERIOD_MS);
    read_from(cl, rw_clock_wall_ms());
    if (!cl->calls || !cl->ended || !cl->timer)
        goto fail;
    if (m) {
        cl->g_calls = rw_metrics_gauge(m, "calls_live", "calls ringing or answered here, vouched for in rw:calls:<instance>");
        cl->writes = rw_metrics_counter(m, "calls_live_writes_total", "batches written to rw:calls:<instance>");
        cl->write_failures = rw_metrics_counter(m, "calls_live_write_failures_total",
                                                "batches to rw:calls:<instance> not written (Redis away, error)");
        cl->overflows = rw_metrics_counter(m, "calls_live_overflows_total",
                                           "times the live-call map was full (every call vouched for until it had room)");
    }
    su_timer_set_for_ever(cl->timer, on_timer, (su_timer_arg_t *) cl);
    return cl;
fail:
    rw_log_error("calls_live_start_failed", RW_U("capacity", capacity));
    rw_calls_live_destroy(&cl);
    return NULL;
}

void rw_calls_live_destroy(rw_calls_live_t **pself)
{
    rw_calls_live_t *cl = pself ? *pself : NULL;
    if (!cl)
        return;
    if (cl->inflight)
        cl->inflight->cl = NULL;        /* its reply only frees it */
    if (cl->timer)
        su_timer_destroy(cl->timer);
    rw_ttlmap_destroy(&cl->calls);
    free(cl->ended);
    free(cl->argv);
    free(cl);
    *pself = NULL;
}
