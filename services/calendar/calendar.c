/* services/calendar/calendar.c — claim, fetch, expand, apply (calendar.h). Everything but the
 * transfer itself runs on the loop thread: logs, metrics, Redis. */
#include "services/calendar/calendar.h"
#include "services/calendar/caldav.h"
#include "services/calendar/store.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "common/sutimer.h"
#include "protocols/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why a sync failed, as the reason label of sync_failures_total. */
static const char *const reasons[] = { "http", "size", "redirects", "tls", "network", "invalid", "other" };
#define N_REASONS (sizeof reasons / sizeof reasons[0])
#define FULL_READ_MS 3600000            /* unchanged tags still mean a whole read this often */

typedef struct call {
    rw_calendar_t *cal;                 /* NULL once the service is destroyed */
    char user[64];
    int ok;
    uint64_t t0_us;
    rw_cal_job_t *job;                  /* a CalDAV delta waiting for the events kept (owned) */
    struct call *prev, *next;
} call_t;

struct rw_calendar {
    su_root_t *root;
    rw_aredis_t *redis;
    struct rw_pub *pub;
    rw_calendar_opts_t opts;
    char instance[128];
    rw_cal_fetcher_t *fetcher;
    rw_redis_script_t *claim, *apply;
    su_timer_t *timer;
    int claiming;
    call_t *inflight;
    rw_counter_t *synced, *unchanged, *not_modified, *dav_full, *dav_delta, *dav_events, *failed[N_REASONS], *lost, *presence[2], *diverts[3];
    rw_histogram_t *latency;
    rw_gauge_t *pending;
};

static call_t *call_new(rw_calendar_t *cal, const char *user)
{
    call_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cal = cal;
    snprintf(c->user, sizeof c->user, "%s", user ? user : "");
    c->next = cal->inflight;
    if (c->next)
        c->next->prev = c;
    cal->inflight = c;
    return c;
}

static void call_free(call_t *c)
{
    rw_cal_job_free(&c->job);
    if (c->cal) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->cal->inflight = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    free(c);
}

static const char *reason_of(const char *err)
{
    if (!strncmp(err, "HTTP ", 5))
        return "http";
    if (!strncmp(err, "body over", 9))
        return "size";
    if (strstr(err, "redirects"))
        return "redirects";
    if (strstr(err, "SSL") || strstr(err, "TLS") || strstr(err, "certificate"))
        return "tls";
    if (strstr(err, "onnect") || strstr(err, "resolve") || strstr(err, "imeout") || strstr(err, "timed out"))
        return "network";
    if (!strncmp(err, "stopped", 7))
        return "other";
    return "invalid";
}

static void count_failure(rw_calendar_t *cal, const char *reason)
{
    for (size_t i = 0; i < N_REASONS; i++)
        if (!strcmp(reasons[i], reason))
            rw_counter_inc(cal->failed[i]);
}

/* block: "start-end" in ms, or "" */
static void publish(rw_calendar_t *cal, const char *type, const char *user, const char *block, uint64_t now)
{
    static rw_event_t ev;               /* loop thread only; too big for the stack */
    if (!cal->pub || rw_proto_event_init(&ev, type) < 0)
        return;
    snprintf(ev.calendar.user, sizeof ev.calendar.user, "%s", user);
    unsigned long long s = 0, e = 0;
    if (sscanf(block, "%llu-%llu", &s, &e) == 2)
        ev.calendar.start_ms = s, ev.calendar.end_ms = e;
    ev.ts_ms = now;
    rw_pub_publish(cal->pub, &ev);
}

static void on_applied(void *arg, redisReply *r)
{
    call_t *c = arg;
    rw_calendar_t *cal = c->cal;
    if (!cal) {
        call_free(c);
        return;
    }
    uint64_t now = rw_clock_wall_ms();
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 6 || r->element[0]->type != REDIS_REPLY_STRING) {
        rw_log_warn("calendar_apply_failed", RW_S("user", c->user),
                    RW_S("error", r && r->type == REDIS_REPLY_ERROR ? r->str : "redis unreachable"));
        call_free(c);
        return;
    }
    const char *f[6];
    for (size_t i = 0; i < 6; i++)
        f[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
    if (!strcmp(f[0], "lost")) {
        rw_counter_inc(cal->lost);
        rw_log_warn("calendar_lease_lost", RW_S("user", c->user));
        call_free(c);
        return;
    }
    if (c->ok)
        rw_histogram_observe(cal->latency, (double) (rw_clock_mono_us() - c->t0_us) / 1e6);
    if (!strcmp(f[1], "set") || !strcmp(f[1], "cleared"))
        rw_counter_inc(cal->presence[f[1][0] == 'c']);
    if (!strcmp(f[2], "started") || !strcmp(f[2], "ended"))
        publish(cal, f[2][0] == 's' ? "calendar.meeting_started" : "calendar.meeting_ended", c->user, f[4], now);
    if (!strcmp(f[3], "set") || !strcmp(f[3], "cleared")) {
        rw_counter_inc(cal->diverts[f[3][0] == 'c']);
        publish(cal, f[3][0] == 's' ? "calendar.divert_set" : "calendar.divert_cleared", c->user, f[5], now);
    } else if (!strcmp(f[3], "manual")) {
        rw_counter_inc(cal->diverts[2]);
        rw_log_info("calendar_divert_kept", RW_S("user", c->user), RW_S("why", "a divert set by hand is in place"));
    }
    call_free(c);
}

/* ok: 1 read, 0 failed, 2 unchanged (the tags matched). job (may be NULL): on a read, the
 * CalDAV events kept for the next delta (rw:cal:ev:<id>) are replaced by job's items, or
 * changed by them when job->delta; without it (an ICS feed) none are kept. */
static void apply(rw_calendar_t *cal, const char *user, int ok, const char *blocks, const char *meetings,
                  size_t count, const char *error, const char *tag, uint64_t t0_us, const rw_cal_job_t *job)
{
    char now[24], poll[24], n[24];
    size_t n_items = ok == 1 && job ? job->n_items : 0, argc = 11 + 2 * n_items;
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    snprintf(poll, sizeof poll, "%u", cal->opts.poll_ms);
    snprintf(n, sizeof n, "%zu", count);
    const char **args = calloc(argc, sizeof *args);
    char **vals = calloc(n_items + 1, sizeof *vals);
    call_t *c = args && vals ? call_new(cal, user) : NULL;
    if (!c)
        goto out;
    const char *fixed[] = { user, cal->instance, now, poll, ok == 2 ? "2" : ok ? "1" : "0", blocks ? blocks : "",
                            meetings ? meetings : "[]", error ? error : "", n, tag ? tag : "",
                            !job || ok != 1 ? "" : job->delta ? "delta" : "full" };
    memcpy(args, fixed, sizeof fixed);
    for (size_t i = 0; i < n_items; i++) {      /* href -> "etag\ndata", "" when deleted */
        const rw_cal_item_t *it = &job->items[i];
        args[11 + 2 * i] = it->href;
        if (it->data && asprintf(&vals[i], "%s\n%s", it->etag, it->data) < 0) {
            vals[i] = NULL;
            call_free(c);
            goto out;
        }
        args[12 + 2 * i] = vals[i] ? vals[i] : "";
    }
    c->ok = ok;
    c->t0_us = t0_us;
    if (rw_redis_script_run(cal->apply, cal->redis, 0, (int) argc, args, NULL, on_applied, c) < 0)
        call_free(c);   /* the lease runs out and another sync takes the user */
out:
    for (size_t i = 0; vals && i < n_items; i++)
        free(vals[i]);
    free(vals);
    free(args);
}

int rw_calendar_parse(const char *kind, const char *body, size_t len, const char *tz, uint64_t now_ms,
                      uint64_t lookahead_ms, bool tentative_busy, char **blocks, char **meetings,
                      size_t *count, char *err, size_t err_len)
{
    rw_cal_policy_t pol = { tz, tentative_busy };
    rw_cal_meeting_t *m = NULL;
    size_t n = 0;
    *blocks = *meetings = NULL;
    *count = 0;
    int rc = !strcmp(kind, "caldav")
                 ? rw_caldav_expand(body, len, now_ms, now_ms + lookahead_ms, &pol, &m, &n, err, err_len)
                 : rw_cal_expand(body, len, now_ms, now_ms + lookahead_ms, &pol, &m, &n, err, err_len);
    if (rc < 0)
        return rc;
    *meetings = rw_cal_meetings_json(m, n);
    *count = n;
    n = rw_cal_merge(m, n);
    *blocks = rw_cal_blocks_text(m, n);
    free(m);
    if (!*meetings || !*blocks) {
        free(*meetings), free(*blocks);
        *meetings = *blocks = NULL;
        snprintf(err, err_len, "out of memory");
        return RW_ENOMEM;
    }
    return 0;
}

/* A read source (job->body) parsed and applied, or its failure recorded; takes job. */
static void finish(rw_calendar_t *cal, rw_cal_job_t *job, uint64_t t0)
{
    char err[256] = "";
    char *blocks = NULL, *meetings = NULL;
    size_t count = 0, fetched = 0;
    const char *tz = job->tz, *kind = job->kind;
    if (job->error[0])
        snprintf(err, sizeof err, "%s", job->error);
    else
        rw_calendar_parse(kind, job->body ? job->body : "", job->body_len, tz, rw_clock_wall_ms(),
                          cal->opts.lookahead_ms, cal->opts.tentative_busy, &blocks, &meetings, &count, err,
                          sizeof err);
    if (err[0]) {
        const char *reason = reason_of(err);
        count_failure(cal, reason);
        rw_log_warn("calendar_source_failed", RW_S("user", job->user), RW_S("kind", kind), RW_S("reason", reason),
                    RW_S("error", err), RW_S("kept", "the last good schedule"));
    } else {
        int dav = !strcmp(kind, "caldav");
        for (size_t i = 0; i < job->n_items; i++)
            fetched += job->items[i].data != NULL;
        rw_counter_inc(cal->synced);
        if (dav) {
            rw_counter_inc(job->delta ? cal->dav_delta : cal->dav_full);
            rw_counter_add(cal->dav_events, fetched);
        }
        rw_log_info("calendar_synced", RW_S("user", job->user), RW_U("meetings", count),
                    RW_S("read", !dav ? "whole" : job->delta ? "changes" : "whole"), RW_U("events_fetched", fetched),
                    RW_U("events_deleted", job->delta ? job->n_items - fetched : 0));
    }
    apply(cal, job->user, !err[0], blocks, meetings, count, err, job->tag, t0, err[0] ? NULL : job);
    free(blocks);
    free(meetings);
    rw_cal_job_free(&job);
    rw_gauge_set(cal->pending, (double) rw_cal_fetcher_pending(cal->fetcher));
}

/* The item of job for href, or NULL. */
static const rw_cal_item_t *item_of(const rw_cal_job_t *job, const char *href)
{
    for (size_t i = 0; i < job->n_items; i++)
        if (!strcmp(job->items[i].href, href))
            return &job->items[i];
    return NULL;
}

static int add_data(char **out, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 2 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 65536);
        while (nc < *len + n + 2)
            nc *= 2;
        char *o = realloc(*out, nc);
        if (!o)
            return RW_ENOMEM;
        *out = o, *cap = nc;
    }
    memcpy(*out + *len, data, n);
    *len += n;
    (*out)[(*len)++] = '\n';
    (*out)[*len] = 0;
    return 0;
}

/* A CalDAV delta: the events kept (rw:cal:ev:<id>, href -> "etag\ndata") with the changes
 * applied are the calendar now; parsed whole, since the look-ahead window moves. */
static void on_cached(void *arg, redisReply *r)
{
    call_t *c = arg;
    rw_calendar_t *cal = c->cal;
    rw_cal_job_t *job = c->job;
    uint64_t t0 = c->t0_us;
    c->job = NULL;
    call_free(c);
    if (!cal || !r || r->type != REDIS_REPLY_ARRAY) {
        if (cal)
            rw_log_warn("calendar_apply_failed", RW_S("user", job->user), RW_S("error", "redis unreachable"));
        rw_cal_job_free(&job);          /* the lease runs out and another sync takes the user */
        return;
    }
    char *body = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i + 1 < r->elements && rc == 0; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || item_of(job, k->str))
            continue;
        const char *data = memchr(v->str, '\n', v->len);
        if (data)
            rc = add_data(&body, &len, &cap, data + 1, v->len - (size_t) (data + 1 - v->str));
    }
    for (size_t i = 0; i < job->n_items && rc == 0; i++)
        if (job->items[i].data)
            rc = add_data(&body, &len, &cap, job->items[i].data, strlen(job->items[i].data));
    if (rc < 0)
        snprintf(job->error, sizeof job->error, "out of memory");
    free(job->body);
    job->body = body;
    job->body_len = len;
    finish(cal, job, t0);
}

static void on_fetched(void *arg, rw_cal_job_t *job)
{
    rw_calendar_t *cal = arg;
    uint64_t t0 = (uint64_t) (uintptr_t) job->arg;
    const char *kind = job->kind;
    if (!strcmp(job->error, "stopped")) {   /* shutting down: the lease ends, another instance syncs */
        rw_cal_job_free(&job);
        return;
    }
    if (!job->error[0] && job->delta && !job->unchanged) {
        call_t *c = call_new(cal, job->user);
        if (!c) {
            rw_cal_job_free(&job);
            return;
        }
        c->job = job;
        c->t0_us = t0;
        if (rw_aredis_command(cal->redis, on_cached, c, "HGETALL rw:cal:ev:%s", c->user) < 0)
            call_free(c);               /* Redis away: the lease runs out, another sync takes it */
        return;
    }
    if (!job->error[0] && job->unchanged) {           /* the last good schedule stands: no parse */
        int ics = strcmp(kind, "caldav") != 0;
        rw_counter_inc(ics ? cal->not_modified : cal->unchanged);
        rw_log_debug(ics ? "calendar_not_modified" : "calendar_unchanged", RW_S("user", job->user));
        apply(cal, job->user, 2, NULL, NULL, 0, NULL, NULL, t0, NULL);
        rw_cal_job_free(&job);
        return;
    }
    finish(cal, job, t0);
}

/* A job for one claimed row {id, kind, url, login, password, tz, tag}. */
static rw_cal_job_t *job_of(redisReply *row)
{
    for (size_t i = 0; i < 7; i++)
        if (row->element[i]->type != REDIS_REPLY_STRING)
            return NULL;
    rw_cal_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->url = strdup(row->element[2]->str);
    j->login = strdup(row->element[3]->str);
    j->password = strdup(row->element[4]->str);
    if (!j->url || !j->login || !j->password) {
        rw_cal_job_free(&j);
        return NULL;
    }
    snprintf(j->kind, sizeof j->kind, "%s", row->element[1]->str);
    snprintf(j->tz, sizeof j->tz, "%s", row->element[5]->str);
    snprintf(j->tag, sizeof j->tag, "%s", row->element[6]->str);
    snprintf(j->user, sizeof j->user, "%s", row->element[0]->str);
    j->arg = (void *) (uintptr_t) rw_clock_mono_us();
    return j;
}

static void on_claimed(void *arg, redisReply *r)
{
    call_t *c = arg;
    rw_calendar_t *cal = c->cal;
    call_free(c);
    if (!cal)
        return;
    cal->claiming = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;   /* Redis away: the next tick asks again */
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *row = r->element[i];
        if (row->type != REDIS_REPLY_ARRAY || row->elements != 7)
            continue;
        rw_cal_job_t *job = job_of(row);
        if (!job || rw_cal_fetcher_submit(cal->fetcher, job) < 0)
            rw_cal_job_free(&job);   /* its lease ends and it is claimed again */
    }
    rw_gauge_set(cal->pending, (double) rw_cal_fetcher_pending(cal->fetcher));
}

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) magic, (void) t;
    rw_calendar_t *cal = (rw_calendar_t *) arg;
    size_t pending = rw_cal_fetcher_pending(cal->fetcher);
    if (cal->claiming || pending >= cal->opts.batch)
        return;
    char now[24], lease[24], max[24], full[24];
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    snprintf(lease, sizeof lease, "%u", cal->opts.lease_ms);
    snprintf(max, sizeof max, "%zu", cal->opts.batch - pending);
    snprintf(full, sizeof full, "%d", FULL_READ_MS);
    const char *args[] = { cal->instance, now, lease, max, full };
    call_t *c = call_new(cal, NULL);
    if (!c)
        return;
    cal->claiming = 1;
    if (rw_redis_script_run(cal->claim, cal->redis, 0, 5, args, NULL, on_claimed, c) < 0) {
        cal->claiming = 0;
        call_free(c);
    }
}

static void register_metrics(rw_calendar_t *cal, rw_metrics_t *m)
{
    cal->synced = rw_metrics_counter(m, "syncs_total", "Calendar sources read and applied");
    cal->unchanged = rw_metrics_counter(m, "syncs_unchanged_total", "CalDAV syncs whose calendars' tags had not "
                                                                    "changed (nothing read)");
    cal->dav_full = rw_metrics_counter(m, "caldav_reads_total{read=\"whole\"}",
                                       "CalDAV syncs that read every event (calendar-query)");
    cal->dav_delta = rw_metrics_counter(m, "caldav_reads_total{read=\"changes\"}",
                                        "CalDAV syncs that read only the changes (RFC 6578 sync-collection)");
    cal->dav_events = rw_metrics_counter(m, "caldav_events_fetched_total",
                                         "CalDAV events whose calendar-data was transferred");
    cal->not_modified = rw_metrics_counter(m, "ics_not_modified_total", "ICS feeds that answered 304 Not Modified "
                                                                       "to a conditional GET (nothing read or parsed)");
    for (size_t i = 0; i < N_REASONS; i++) {
        char name[96];
        snprintf(name, sizeof name, "sync_failures_total{reason=\"%s\"}", reasons[i]);
        cal->failed[i] = rw_metrics_counter(m, name, "Calendar sources that could not be read; the last good "
                                                     "schedule was kept");
    }
    cal->lost = rw_metrics_counter(m, "leases_lost_total", "Syncs whose lease had passed to another instance");
    cal->presence[0] = rw_metrics_counter(m, "meeting_presence_total{change=\"set\"}",
                                          "Calendar presence source written (docs/presence.md)");
    cal->presence[1] = rw_metrics_counter(m, "meeting_presence_total{change=\"cleared\"}",
                                          "Calendar presence source written (docs/presence.md)");
    cal->diverts[0] = rw_metrics_counter(m, "meeting_diverts_total{change=\"set\"}", "Meeting diverts written");
    cal->diverts[1] = rw_metrics_counter(m, "meeting_diverts_total{change=\"cleared\"}", "Meeting diverts written");
    cal->diverts[2] = rw_metrics_counter(m, "meeting_diverts_total{change=\"kept_manual\"}", "Meeting diverts written");
    cal->latency = rw_metrics_histogram(m, "sync_seconds", "Claim to applied, per successful sync", NULL, 0);
    cal->pending = rw_metrics_gauge(m, "fetches_pending", "Sources being fetched by this instance");
}

rw_calendar_t *rw_calendar_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                               struct rw_pub *pub, const rw_calendar_opts_t *opts)
{
    rw_calendar_t *cal = calloc(1, sizeof *cal);
    if (!cal)
        return NULL;
    cal->root = root, cal->redis = redis, cal->pub = pub, cal->opts = *opts;
    snprintf(cal->instance, sizeof cal->instance, "%s", opts->instance ? opts->instance : "calendar");
    if (!cal->opts.batch)
        cal->opts.batch = 1;
    register_metrics(cal, metrics);
    cal->claim = rw_redis_script_new(rw_cal_claim_lua);
    cal->apply = rw_redis_script_new(rw_cal_apply_lua);
    cal->fetcher = rw_cal_fetcher_new(root, &opts->fetch, on_fetched, cal);
    cal->timer = rw_sutimer_lazy(root, opts->tick_ms ? opts->tick_ms : 1000);
    if (!cal->claim || !cal->apply || !cal->fetcher || !cal->timer) {
        rw_calendar_destroy(&cal);
        return NULL;
    }
    su_timer_set_for_ever(cal->timer, on_tick, (su_timer_arg_t *) cal);
    return cal;
}

void rw_calendar_destroy(rw_calendar_t **self)
{
    rw_calendar_t *cal = self ? *self : NULL;
    if (!cal)
        return;
    if (cal->timer)
        su_timer_destroy(cal->timer);
    cal->timer = NULL;
    /* Jobs done by now are applied if Redis takes them; queued ones are dropped (their lease
     * ends and another instance takes the users). */
    rw_cal_fetcher_destroy(&cal->fetcher);
    for (call_t *c = cal->inflight, *next; c; c = next) {
        next = c->next;
        c->cal = NULL;
    }
    rw_redis_script_destroy(&cal->claim);
    rw_redis_script_destroy(&cal->apply);
    free(cal);
    *self = NULL;
}
