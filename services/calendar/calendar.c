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
    rw_counter_t *synced, *unchanged, *failed[N_REASONS], *lost, *presence[2], *diverts[3];
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

/* ok: 1 read, 0 failed, 2 unchanged (the tags matched) */
static void apply(rw_calendar_t *cal, const char *user, int ok, const char *blocks, const char *meetings,
                  size_t count, const char *error, const char *tag, uint64_t t0_us)
{
    char now[24], poll[24], n[24];
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    snprintf(poll, sizeof poll, "%u", cal->opts.poll_ms);
    snprintf(n, sizeof n, "%zu", count);
    const char *args[] = { user, cal->instance, now, poll, ok == 2 ? "2" : ok ? "1" : "0", blocks ? blocks : "",
                           meetings ? meetings : "[]", error ? error : "", n, tag ? tag : "" };
    call_t *c = call_new(cal, user);
    if (!c)
        return;
    c->ok = ok;
    c->t0_us = t0_us;
    if (rw_redis_script_run(cal->apply, cal->redis, 0, 10, args, NULL, on_applied, c) < 0)
        call_free(c);   /* the lease runs out and another sync takes the user */
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

static void on_fetched(void *arg, rw_cal_job_t *job)
{
    rw_calendar_t *cal = arg;
    uint64_t t0 = (uint64_t) (uintptr_t) job->arg;
    char err[256] = "";
    char *blocks = NULL, *meetings = NULL;
    size_t count = 0;
    const char *tz = job->tz, *kind = job->kind;
    if (!strcmp(job->error, "stopped")) {   /* shutting down: the lease ends, another instance syncs */
        rw_cal_job_free(&job);
        return;
    }
    if (!job->error[0] && job->unchanged) {
        rw_counter_inc(cal->unchanged);
        rw_log_debug("calendar_unchanged", RW_S("user", job->user));
        apply(cal, job->user, 2, NULL, NULL, 0, NULL, NULL, t0);
        rw_cal_job_free(&job);
        return;
    }
    if (job->error[0])
        snprintf(err, sizeof err, "%s", job->error);
    else
        rw_calendar_parse(kind, job->body, job->body_len, tz, rw_clock_wall_ms(), cal->opts.lookahead_ms,
                          cal->opts.tentative_busy, &blocks, &meetings, &count, err, sizeof err);
    if (err[0]) {
        const char *reason = reason_of(err);
        count_failure(cal, reason);
        rw_log_warn("calendar_source_failed", RW_S("user", job->user), RW_S("kind", kind), RW_S("reason", reason),
                    RW_S("error", err), RW_S("kept", "the last good schedule"));
    } else {
        rw_counter_inc(cal->synced);
        rw_log_debug("calendar_synced", RW_S("user", job->user), RW_U("meetings", count));
    }
    apply(cal, job->user, !err[0], blocks, meetings, count, err, job->tag, t0);
    free(blocks);
    free(meetings);
    rw_cal_job_free(&job);
    rw_gauge_set(cal->pending, (double) rw_cal_fetcher_pending(cal->fetcher));
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
