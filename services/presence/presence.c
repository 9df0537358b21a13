/* services/presence/presence.c — events in, merge script runs, presence.changed out
 * (presence.h). Each change is reported by the one script run that made it, so the instance
 * that ran it publishes it and no other does; records the CLI queued are popped (LPOP) by one
 * instance each. */
#include "services/presence/presence.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "common/sutimer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_COUNT "100"               /* records popped per list per drain */

typedef enum { JOB_EVENT, JOB_SCAN, JOB_SYNC, JOB_DRAIN_EVENTS, JOB_DRAIN_DIRTY } job_kind_t;

typedef struct job {
    rw_presence_t *p;                   /* NULL once the service is destroyed */
    job_kind_t kind;
    struct job *prev, *next;
} job_t;

struct rw_presence {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_pub_t *pub;
    rw_presence_opts_t opts;
    rw_redis_script_t *merge;
    rw_sub_t *sub;
    rw_watcher_t *watcher;
    su_timer_t *reconcile_timer, *drain_timer;
    int scan_busy, drain_busy;
    char cursor[32];                    /* SSCAN cursor of rw:users; "0" = a new pass */
    uint64_t pass_t0_ms;
    rw_counter_t *events_in, *events_gap, *published, *script_errors, *reconciled, *passes;
    rw_gauge_t *pass_seconds;
    job_t *inflight;
};

static job_t *new_job(rw_presence_t *p, job_kind_t kind)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->p = p;
    j->kind = kind;
    j->next = p->inflight;
    if (j->next)
        j->next->prev = j;
    p->inflight = j;
    return j;
}

/* Unlinks and frees; false when the service is gone (the caller must do nothing more). */
static bool finish(job_t *j, rw_presence_t **out)
{
    rw_presence_t *p = j->p;
    if (p) {
        if (j->prev)
            j->prev->next = j->next;
        else
            p->inflight = j->next;
        if (j->next)
            j->next->prev = j->prev;
    }
    free(j);
    *out = p;
    return p != NULL;
}

static void publish(rw_presence_t *p, const rw_pres_change_t *c)
{
    static rw_event_t ev;               /* loop thread only; too big for the stack */
    rw_log_info("presence_changed", RW_S("user", c->user), RW_S("source", c->source),
                RW_S("activity", c->activity), RW_U("until_ms", c->until_ms));
    if (!p->pub || rw_pres_change_event(c, &ev) < 0)
        return;
    ev.ts_ms = rw_clock_wall_ms();
    if (rw_pub_publish(p->pub, &ev) == 0)
        rw_counter_inc(p->published);
}

/* A script run's reply: publish what changed. */
static void on_merged(void *arg, redisReply *r)
{
    static rw_pres_changes_t ch;
    static char err[128];
    rw_presence_t *p;
    if (!finish(arg, &p))
        return;
    if (rw_pres_parse(r, &ch, err, sizeof err) < 0) {
        rw_counter_inc(p->script_errors);
        rw_log_warn("presence_merge_failed", RW_S("error", r ? err : "no reply from Redis"));
        return;
    }
    for (size_t i = 0; i < ch.n; i++)
        publish(p, &ch.ch[i]);
}

static int run_merge(rw_presence_t *p, job_kind_t kind, const char *op, const char *const *extra, size_t n)
{
    enum { MAX_ARGS = RW_PRES_FIXED_ARGC + 1024 };
    static const char *argv[MAX_ARGS];
    rw_pres_argbuf_t b;
    if (n > MAX_ARGS - RW_PRES_FIXED_ARGC)
        return RW_ERANGE;
    rw_pres_fixed_args(op, rw_clock_wall_ms(), &p->opts.policy, &b, argv);
    for (size_t i = 0; i < n; i++)
        argv[RW_PRES_FIXED_ARGC + i] = extra[i];
    job_t *j = new_job(p, kind);
    if (!j)
        return RW_ENOMEM;
    int rc = rw_redis_script_run(p->merge, p->redis, 0, (int) (RW_PRES_FIXED_ARGC + n), argv, NULL, on_merged, j);
    if (rc < 0) {
        rw_presence_t *unused;
        finish(j, &unused);
    }
    return rc;
}

/* ---- events ------------------------------------------------------------------------------ */

static bool call_type_counts(const char *type)
{
    return !strcmp(type, "call.ringing") || !strcmp(type, "call.answered") || !strcmp(type, "call.ended")
           || !strcmp(type, "call.failed");
}

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    rw_presence_t *p = arg;
    const char *extra[7] = { ev->type, "", "", "", ev->publisher, "", "" };
    rw_event_family_t fam = rw_proto_event_family(ev->type);
    if (st.kind == RW_SEQ_GAP || st.kind == RW_SEQ_RESTART) {
        rw_counter_inc(p->events_gap);
        rw_log_warn("presence_events_missed", RW_S("publisher", ev->publisher), RW_U("missed", st.missed));
    }
    if (fam == RW_EVF_CALL) {
        if (!call_type_counts(ev->type) || !ev->call.call_id[0])
            return;
        extra[1] = ev->call.user;
        extra[3] = ev->call.call_id;
        extra[5] = ev->call.target;
        extra[6] = ev->call.from;
    } else if (fam == RW_EVF_REG) {
        extra[2] = ev->reg.aor;
    } else {
        return;
    }
    rw_counter_inc(p->events_in);
    if (run_merge(p, JOB_EVENT, "event", extra, 7) < 0)
        rw_log_warn("presence_event_not_merged", RW_S("type", ev->type), RW_S("id", ev->id));
}

static void on_publishers(void *arg, const char *const *endpoints, size_t n)
{
    rw_presence_t *p = arg;
    rw_sub_set_endpoints(p->sub, endpoints, n);
}

/* ---- reconciliation: every user of the directory, a batch per tick ------------------------ */

static void on_scan(void *arg, redisReply *r)
{
    static const char *ids[1024];
    rw_presence_t *p;
    if (!finish(arg, &p))
        return;
    p->scan_busy = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_ARRAY)
        return;                         /* Redis away: the pass resumes at the same cursor */
    const redisReply *list = r->element[1];
    size_t n = 0;
    for (size_t i = 0; i < list->elements && n < sizeof ids / sizeof ids[0]; i++)
        if (list->element[i]->type == REDIS_REPLY_STRING)
            ids[n++] = list->element[i]->str;
    if (n && run_merge(p, JOB_SYNC, "sync", ids, n) == 0)
        rw_counter_add(p->reconciled, n);
    snprintf(p->cursor, sizeof p->cursor, "%s", r->element[0]->str);
    if (!strcmp(p->cursor, "0")) {      /* a pass is complete */
        uint64_t now = rw_clock_mono_us() / 1000;
        rw_counter_inc(p->passes);
        rw_gauge_set(p->pass_seconds, (double) (now - p->pass_t0_ms) / 1000.0);
        p->pass_t0_ms = now;
    }
}

static void on_reconcile_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_presence_t *p = (rw_presence_t *) arg;
    (void) m, (void) t;
    if (p->scan_busy || !rw_aredis_connected(p->redis))
        return;
    job_t *j = new_job(p, JOB_SCAN);
    if (j && rw_aredis_command(p->redis, on_scan, j, "SSCAN rw:users %s COUNT %u", p->cursor,
                               p->opts.reconcile_batch) == 0)
        p->scan_busy = 1;
    else if (j)
        finish(j, &p);
}

/* ---- writers without a bus -------------------------------------------------------------- */

static void on_dirty(void *arg, redisReply *r)
{
    static const char *ids[128];
    rw_presence_t *p;
    if (!finish(arg, &p))
        return;
    p->drain_busy = 0;
    size_t n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && n < 128; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            ids[n++] = r->element[i]->str;
    if (n)
        run_merge(p, JOB_SYNC, "sync", ids, n);
}

static void on_queued_events(void *arg, redisReply *r)
{
    rw_pres_change_t c;
    rw_presence_t *p;
    if (!finish(arg, &p))
        return;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING && rw_pres_change_from_record(r->element[i]->str, &c) == 0)
            publish(p, &c);
        else
            rw_log_warn("presence_record_invalid", RW_S("list", "rw:presence:events"));
    }
    job_t *j = new_job(p, JOB_DRAIN_DIRTY);
    if (!j || rw_aredis_command(p->redis, on_dirty, j, "LPOP rw:presence:dirty " DRAIN_COUNT) < 0) {
        p->drain_busy = 0;
        if (j)
            finish(j, &p);
    }
}

static void on_drain_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_presence_t *p = (rw_presence_t *) arg;
    (void) m, (void) t;
    if (p->drain_busy || !rw_aredis_connected(p->redis))
        return;
    job_t *j = new_job(p, JOB_DRAIN_EVENTS);
    if (j && rw_aredis_command(p->redis, on_queued_events, j, "LPOP rw:presence:events " DRAIN_COUNT) == 0)
        p->drain_busy = 1;
    else if (j)
        finish(j, &p);
}

/* ---- life ------------------------------------------------------------------------------- */

static void make_metrics(rw_presence_t *p, rw_metrics_t *m)
{
    p->events_in = rw_metrics_counter(m, "events_total", "call.* and reg.* events merged");
    p->events_gap = rw_metrics_counter(m, "event_gaps_total", "Gaps and restarts seen in publishers' sequences");
    p->published = rw_metrics_counter(m, "changes_published_total", "presence.changed events published");
    p->script_errors = rw_metrics_counter(m, "merge_errors_total", "Merge script runs that failed (Redis away, error)");
    p->reconciled = rw_metrics_counter(m, "reconciled_users_total", "Users recomputed by the reconciliation pass");
    p->passes = rw_metrics_counter(m, "reconcile_passes_total", "Complete reconciliation passes over rw:users");
    p->pass_seconds = rw_metrics_gauge(m, "reconcile_pass_seconds", "Duration of the last complete pass");
}

rw_presence_t *rw_presence_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m, struct rw_pub *pub,
                               const rw_presence_opts_t *opts)
{
    rw_presence_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->root = root;
    p->redis = redis;
    p->pub = pub;
    p->opts = *opts;
    p->opts.policy.notify = 0;
    if (!p->opts.reconcile_batch)
        p->opts.reconcile_batch = 500;
    snprintf(p->cursor, sizeof p->cursor, "0");
    p->pass_t0_ms = rw_clock_mono_us() / 1000;
    make_metrics(p, m);
    p->merge = rw_redis_script_new(rw_presence_merge_lua);
    if (!p->merge)
        goto fail;
    if (opts->call_events && opts->call_events[0]) {
        p->sub = rw_sub_new(root, on_event, p, m);
        if (!p->sub || rw_sub_subscribe(p->sub, "call.") < 0 || rw_sub_subscribe(p->sub, "reg.") < 0)
            goto fail;
        p->watcher = rw_watcher_new(root, redis, opts->call_events, 500, NULL, on_publishers, p);
        if (!p->watcher)
            goto fail;
    }
    p->reconcile_timer = rw_sutimer_lazy(root, opts->reconcile_ms ? opts->reconcile_ms : 1000);
    p->drain_timer = rw_sutimer_lazy(root, opts->drain_ms ? opts->drain_ms : 200);
    if (!p->reconcile_timer || !p->drain_timer)
        goto fail;
    su_timer_set_for_ever(p->reconcile_timer, on_reconcile_timer, (su_timer_arg_t *) p);
    su_timer_set_for_ever(p->drain_timer, on_drain_timer, (su_timer_arg_t *) p);
    return p;
fail:
    rw_log_error("presence_start_failed", RW_S("call_events", opts->call_events ? opts->call_events : ""));
    rw_presence_destroy(&p);
    return NULL;
}

void rw_presence_destroy(rw_presence_t **pself)
{
    rw_presence_t *p = pself ? *pself : NULL;
    if (!p)
        return;
    for (job_t *j = p->inflight; j; j = j->next)
        j->p = NULL;                    /* their callbacks only free them from now on */
    rw_watcher_destroy(&p->watcher);
    rw_sub_destroy(&p->sub);
    if (p->reconcile_timer)
        su_timer_destroy(p->reconcile_timer);
    if (p->drain_timer)
        su_timer_destroy(p->drain_timer);
    rw_redis_script_destroy(&p->merge);
    free(p);
    *pself = NULL;
}
