/* services/gateway/events.c — the event hub of events.h: a bus subscription in the loop thread
 * writes notes into a bounded ring; SSE connection threads read them. The ring is guarded by
 * one mutex; writers never wait for readers, readers that fall behind skip ahead. */
#include "services/gateway/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "common/log.h"

#include <jansson.h>

#define HUB_DEFAULT_CAPACITY 1024
#define HUB_MAX_ENDPOINTS 32

/* One registry name followed: its current endpoints. */
typedef struct {
    gw_events_t *hub;
    rw_watcher_t *watcher;
    char *eps[HUB_MAX_ENDPOINTS];
    size_t n;
} follow_t;

struct gw_events {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gw_events_note_t *ring;
    size_t capacity;
    uint64_t next_seq;                  /* seq of the next note written; the first is 1 */
    bool closed;
    /* loop thread only */
    rw_sub_t *sub;
    follow_t follow[2];                 /* queue.* and presence.changed publishers */
    rw_counter_t *received;
    rw_aredis_t *redis;
    rw_sub_t *calls;                    /* call.* for the recent calls */
    follow_t calls_follow;
    rw_counter_t *calls_recorded;
    su_root_t *root;
    char *names[3];                     /* registries of follow[0], follow[1], calls_follow */
    unsigned poll_ms;
    bool watching;                      /* the watchers exist (Redis was up once) */
};

struct gw_events_reader {
    gw_events_t *hub;
    char group[64];
    bool any_group;
    uint64_t next;                      /* seq of the next note this reader wants */
};

static gw_events_t *the_hub;            /* set by gw_events_new, cleared by destroy */

gw_events_t *gw_events_hub(void)
{
    return __atomic_load_n(&the_hub, __ATOMIC_ACQUIRE);
}

/* ---- feeding ------------------------------------------------------------------------------ */

void gw_events_feed(gw_events_t *self, const rw_event_t *ev)
{
    if (!self || !ev)
        return;
    rw_event_family_t fam = rw_proto_event_family(ev->type);
    if (fam != RW_EVF_QUEUE && strcmp(ev->type, "presence.changed"))
        return;
    pthread_mutex_lock(&self->lock);
    uint64_t seq = self->next_seq++;
    gw_events_note_t *n = &self->ring[(seq - 1) % self->capacity];
    memset(n, 0, sizeof *n);
    n->seq = seq;
    n->ts_ms = ev->ts_ms;
    snprintf(n->type, sizeof n->type, "%s", ev->type);
    if (fam == RW_EVF_QUEUE) {
        snprintf(n->group, sizeof n->group, "%s", ev->queue.group);
        snprintf(n->user, sizeof n->user, "%s", ev->queue.agent);
        snprintf(n->call_id, sizeof n->call_id, "%s", ev->queue.call_id);
    } else {
        snprintf(n->user, sizeof n->user, "%s", ev->presence.user);
    }
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    gw_events_t *self = arg;
    (void) st;   /* a gap changes nothing: every reader re-reads the whole board from Redis */
    rw_counter_inc(self->received);
    gw_events_feed(self, ev);
}

/* ---- recent calls ------------------------------------------------------------------------- */

const char gw_calls_record_lua[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end\n"
    "redis.call('LPUSH', KEYS[2], ARGV[1])\n"
    "redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)\n"
    "return 1\n";

char *gw_events_call_record(const rw_event_t *ev)
{
    bool ended = !strcmp(ev->type, "call.ended"), failed = !strcmp(ev->type, "call.failed");
    if ((!ended && !failed) || !ev->call.user[0] || !ev->call.call_id[0])
        return NULL;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:I,s:I}", "call_id", ev->call.call_id, "from", ev->call.from,
                          "to", ev->call.to, "outcome", ended ? "answered" : "missed", "target", ev->call.target,
                          "cause", (int) ev->call.cause, "reason", ev->call.reason, "talk_ms",
                          (json_int_t) ev->call.talk_ms, "ts_ms", (json_int_t) ev->ts_ms);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

static void on_call_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    gw_events_t *self = arg;
    char seen[256], list[96], keep[16], ttl[16];
    (void) st;
    char *rec = gw_events_call_record(ev);
    if (!rec)
        return;
    snprintf(seen, sizeof seen, "rw:recent:seen:%s:%s", ev->call.user, ev->call.call_id);
    snprintf(list, sizeof list, "rw:recent:%s", ev->call.user);
    snprintf(keep, sizeof keep, "%u", (unsigned) GW_CALLS_KEEP);
    snprintf(ttl, sizeof ttl, "%u", (unsigned) GW_CALLS_SEEN_MS);
    const char *argv[] = { "EVAL", gw_calls_record_lua, "2", seen, list, rec, keep, ttl };
    if (rw_aredis_commandargv(self->redis, NULL, NULL, 8, argv, NULL) == 0)
        rw_counter_inc(self->calls_recorded);
    free(rec);
}

static void keep_endpoints(follow_t *f, const char *const *endpoints, size_t n)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->eps[i]);
    f->n = 0;
    for (size_t i = 0; i < n && f->n < HUB_MAX_ENDPOINTS; i++) {
        char *copy = strdup(endpoints[i]);
        if (copy)
            f->eps[f->n++] = copy;
    }
}

static void on_call_publishers(void *arg, const char *const *endpoints, size_t n)
{
    follow_t *f = arg;
    keep_endpoints(f, endpoints, n);
    rw_sub_set_endpoints(f->hub->calls, endpoints, n);
}

/* The union of both registries' endpoints is what the subscriber connects to. */
static void on_publishers(void *arg, const char *const *endpoints, size_t n)
{
    follow_t *f = arg;
    gw_events_t *self = f->hub;
    const char *all[2 * HUB_MAX_ENDPOINTS];
    size_t total = 0;
    keep_endpoints(f, endpoints, n);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < self->follow[k].n; i++) {
            bool dup = false;
            for (size_t j = 0; j < total && !dup; j++)
                dup = !strcmp(all[j], self->follow[k].eps[i]);
            if (!dup)
                all[total++] = self->follow[k].eps[i];
        }
    rw_sub_set_endpoints(self->sub, all, total);
}

/* ---- life --------------------------------------------------------------------------------- */

/* Once, in the loop thread, with Redis connected: each watcher's first read goes out at once. */
static void start_watchers(gw_events_t *self)
{
    if (self->watching)
        return;
    self->watching = true;
    for (int k = 0; k < 2; k++)
        if (self->names[k])
            self->follow[k].watcher = rw_watcher_new(self->root, self->redis, self->names[k], self->poll_ms,
                                                     NULL, on_publishers, &self->follow[k]);
    if (self->names[2])
        self->calls_follow.watcher = rw_watcher_new(self->root, self->redis, self->names[2], self->poll_ms,
                                                    NULL, on_call_publishers, &self->calls_follow);
    rw_log_info("events_following_bus", RW_B("queue", self->names[0] != NULL),
                RW_B("presence", self->names[1] != NULL), RW_B("calls", self->names[2] != NULL));
}

static void on_redis_state(void *arg, bool up)
{
    if (up)
        start_watchers(arg);
}

gw_events_t *gw_events_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m,
                           const gw_events_opts_t *opts)
{
    gw_events_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = opts && opts->capacity ? opts->capacity : HUB_DEFAULT_CAPACITY;
    self->ring = calloc(self->capacity, sizeof *self->ring);
    self->next_seq = 1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &ca);
    pthread_condattr_destroy(&ca);
    gw_events_t *expected = NULL;
    if (!self->ring || !__atomic_compare_exchange_n(&the_hub, &expected, self, false, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_ACQUIRE)) {
        free(self->ring);
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    if (m)
        self->received = rw_metrics_counter(m, "gateway_bus_events_total",
                                            "queue.* and presence.changed events the event hub received");
    const char *names[2] = { opts ? opts->queue_events : NULL, opts ? opts->presence_events : NULL };
    const char *prefixes[2] = { "queue.", "presence." };
    self->root = root;
    self->redis = redis;
    self->poll_ms = opts && opts->poll_ms ? opts->poll_ms : 1000;
    if (root && redis && ((names[0] && names[0][0]) || (names[1] && names[1][0]))) {
        self->sub = rw_sub_new(root, on_event, self, m);
        for (int k = 0; k < 2 && self->sub; k++) {
            self->follow[k].hub = self;
            if (!names[k] || !names[k][0])
                continue;
            if (rw_sub_subscribe(self->sub, prefixes[k]) < 0)
                rw_log_warn("events_subscribe_failed", RW_S("prefix", prefixes[k]));
            else
                self->names[k] = strdup(names[k]);
        }
        if (!self->sub)
            rw_log_warn("events_subscriber_failed");
    }
    const char *calls = opts && opts->call_events ? opts->call_events : "sip_edge.events";
    if (m)
        self->calls_recorded = rw_metrics_counter(m, "gateway_calls_recorded_total",
                                                  "ended and failed calls sent to Redis as recent calls");
    if (root && redis && calls[0]) {
        self->calls = rw_sub_new(root, on_call_event, self, m);
        self->calls_follow.hub = self;
        if (self->calls && rw_sub_subscribe(self->calls, "call.") == 0)
            self->names[2] = strdup(calls);
        else
            rw_log_warn("events_subscribe_failed", RW_S("prefix", "call."));
    }
    if (redis && (self->names[0] || self->names[1] || self->names[2])) {
        /* A registry read before the connection is up fails and the next poll is poll_ms away:
         * the watchers start the moment Redis answers, so no stream is served blind. */
        rw_aredis_on_state(redis, on_redis_state, self);
        if (rw_aredis_connected(redis))
            start_watchers(self);
    }
    return self;
}

void gw_events_close(gw_events_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->closed = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

void gw_events_destroy(gw_events_t **pself)
{
    gw_events_t *self = pself ? *pself : NULL;
    if (!self)
        return;
    gw_events_t *expected = self;
    __atomic_compare_exchange_n(&the_hub, &expected, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    if (self->redis && (self->names[0] || self->names[1] || self->names[2]))
        rw_aredis_on_state(self->redis, NULL, NULL);
    for (int k = 0; k < 3; k++)
        free(self->names[k]);
    for (int k = 0; k < 2; k++) {
        rw_watcher_destroy(&self->follow[k].watcher);
        for (size_t i = 0; i < self->follow[k].n; i++)
            free(self->follow[k].eps[i]);
    }
    rw_sub_destroy(&self->sub);
    rw_watcher_destroy(&self->calls_follow.watcher);
    for (size_t i = 0; i < self->calls_follow.n; i++)
        free(self->calls_follow.eps[i]);
    rw_sub_destroy(&self->calls);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *pself = NULL;
}

/* ---- reading ------------------------------------------------------------------------------ */

gw_events_reader_t *gw_events_reader_new(gw_events_t *hub, const char *group)
{
    if (!hub)
        return NULL;
    gw_events_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->hub = hub;
    r->any_group = !group;
    snprintf(r->group, sizeof r->group, "%s", group ? group : "");
    pthread_mutex_lock(&hub->lock);
    r->next = hub->next_seq;
    bool closed = hub->closed;
    pthread_mutex_unlock(&hub->lock);
    if (closed) {
        free(r);
        return NULL;
    }
    return r;
}

void gw_events_reader_destroy(gw_events_reader_t **pself)
{
    if (pself && *pself) {
        free(*pself);
        *pself = NULL;
    }
}

static bool wanted(const gw_events_reader_t *r, const gw_events_note_t *n)
{
    return r->any_group || !n->group[0] || !strcmp(n->group, r->group);
}

int gw_events_wait(gw_events_reader_t *self, unsigned timeout_ms, gw_events_note_t *note,
                   uint64_t *skipped)
{
    gw_events_t *hub = self->hub;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    uint64_t lost = 0;
    int rc = 0;
    pthread_mutex_lock(&hub->lock);
    for (;;) {
        if (hub->closed) {
            rc = -1;
            break;
        }
        /* Fell behind the ring: skip to the oldest note still kept. */
        uint64_t oldest = hub->next_seq > hub->capacity ? hub->next_seq - hub->capacity : 1;
        if (self->next < oldest) {
            lost += oldest - self->next;
            self->next = oldest;
        }
        while (self->next < hub->next_seq) {
            const gw_events_note_t *n = &hub->ring[(self->next - 1) % hub->capacity];
            self->next++;
            if (wanted(self, n)) {
                *note = *n;
                rc = 1;
                break;
            }
        }
        if (rc)
            break;
        if (pthread_cond_timedwait(&hub->cond, &hub->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&hub->lock);
    if (skipped)
        *skipped = lost;
    return rc;
}
