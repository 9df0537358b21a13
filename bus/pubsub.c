/* bus/pubsub.c — events over ZeroMQ PUB/SUB.
 * A publisher stamps every event with (publisher, epoch, seq per family) and sends
 * [type][msgpack]; a subscriber filters by topic prefix (ZeroMQ matches the first frame's
 * bytes, hence prefixes end with '.'), decodes hostile bytes with protocols/events.c, and
 * classifies each event against the last (epoch, seq) it saw from that publisher and family:
 * OK, GAP, DUP or RESTART. */
#include "bus/loop_internal.h"
#include "bus/pubsub.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PUBLISHERS 4096     /* (publisher, family) pairs tracked per subscriber */

#define MAX_FAMILIES 64         /* families one publisher counts; more share one counter */

typedef struct {
    char name[48];
    uint64_t seq;
} family_seq_t;

struct rw_pub {
    zsock_t *sock;
    char *endpoint;
    char id[64];
    uint64_t epoch;
    family_seq_t fam[MAX_FAMILIES];
    size_t n_fam;
    msgpack_sbuffer buf;
};

typedef struct {
    uint64_t epoch, seq;
} seen_t;

struct rw_sub {
    zsock_t *sock;
    rw_bus_watch_t *watch;
    rw_sub_fn *fn;
    void *arg;
    zhashx_t *seen;             /* "publisher/family" -> seen_t */
    char **eps;                 /* connected through rw_sub_set_endpoints() */
    size_t n_eps;
    rw_sub_stats_t st;
    rw_counter_t *m_ok, *m_gap, *m_missed, *m_dup, *m_restart, *m_bad;
};

/* ---- publisher -------------------------------------------------------------------------- */

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

rw_pub_t *rw_pub_new(su_root_t *root, const char *publisher_id, const char *bind_endpoint)
{
    (void) root;                /* a PUB never receives: nothing to watch */
    if (!publisher_id || !*publisher_id || strlen(publisher_id) > 63 || strchr(publisher_id, '/')
        || !bind_endpoint)
        return NULL;
    rw_bus_init();
    rw_pub_t *pub = calloc(1, sizeof *pub);
    if (!pub)
        return NULL;
    msgpack_sbuffer_init(&pub->buf);
    strcpy(pub->id, publisher_id);
    pub->epoch = wall_us();
    pub->sock = zsock_new(ZMQ_PUB);
    if (!pub->sock)
        goto fail;
    zsock_set_sndtimeo(pub->sock, 0);
    rw_bus_curve_server(pub->sock);
    if (zsock_bind(pub->sock, "%s", bind_endpoint) < 0) {
        rw_log_error("bus_bind_failed", RW_S("endpoint", bind_endpoint));
        goto fail;
    }
    pub->endpoint = zsock_last_endpoint(pub->sock);
    if (!pub->endpoint)
        goto fail;
    return pub;
fail:
    rw_pub_destroy(&pub);
    return NULL;
}

void rw_pub_destroy(rw_pub_t **self)
{
    if (!self || !*self)
        return;
    rw_pub_t *pub = *self;
    *self = NULL;
    zsock_destroy(&pub->sock);
    msgpack_sbuffer_destroy(&pub->buf);
    free(pub->endpoint);
    free(pub);
}

const char *rw_pub_endpoint(const rw_pub_t *pub)
{
    return pub ? pub->endpoint : NULL;
}

/* "call.offered" -> "call" (at most 47 bytes). */
static void family_of(const char *type, char out[48])
{
    size_t n = strcspn(type, ".");
    if (n > 47)
        n = 47;
    memcpy(out, type, n);
    out[n] = 0;
}

static family_seq_t *family_slot(rw_pub_t *pub, const char *family, int create)
{
    for (size_t i = 0; i < pub->n_fam; i++)
        if (strcmp(pub->fam[i].name, family) == 0)
            return &pub->fam[i];
    if (!create)
        return NULL;
    if (pub->n_fam == MAX_FAMILIES)
        return &pub->fam[MAX_FAMILIES - 1];
    family_seq_t *f = &pub->fam[pub->n_fam++];
    strcpy(f->name, family);
    return f;
}

uint64_t rw_pub_seq(const rw_pub_t *pub, const char *family)
{
    if (!pub || !family)
        return 0;
    family_seq_t *f = family_slot((rw_pub_t *) pub, family, 0);
    return f ? f->seq : 0;
}

uint64_t rw_pub_epoch(const rw_pub_t *pub)
{
    return pub ? pub->epoch : 0;
}

/* The event id is written by hand: snprintf cost ~2,000 instructions an event, four events a
 * call. Both copy at most cap - 1 bytes, truncating as snprintf does. */
static size_t put_str(char *buf, size_t cap, size_t at, const char *s)
{
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t put_u64(char *buf, size_t cap, size_t at, uint64_t v)
{
    char digits[24];
    int k = 0;
    do
        digits[k++] = (char) ('0' + v % 10);
    while ((v /= 10) > 0);
    while (k > 0 && at + 1 < cap)
        buf[at++] = digits[--k];
    return at;
}

int rw_pub_publish(rw_pub_t *pub, rw_event_t *ev)
{
    if (!pub || !ev || !ev->type[0] || memchr(ev->type, 0, sizeof ev->type) == NULL)
        return RW_EINVAL;
    char family[48];
    family_of(ev->type, family);
    family_seq_t *f = family_slot(pub, family, 1);
    strcpy(ev->publisher, pub->id);
    ev->epoch = pub->epoch;
    ev->seq = f->seq + 1;
    if (!ev->ts_ms)
        ev->ts_ms = rw_clock_wall_ms();
    if (!ev->version)
        ev->version = RW_EVENT_VERSION;
    size_t at = put_str(ev->id, sizeof ev->id, 0, pub->id);   /* as "%s/%llu/%s/%llu" would */
    at = put_str(ev->id, sizeof ev->id, at, "/");
    at = put_u64(ev->id, sizeof ev->id, at, ev->epoch);
    at = put_str(ev->id, sizeof ev->id, at, "/");
    at = put_str(ev->id, sizeof ev->id, at, family);
    at = put_str(ev->id, sizeof ev->id, at, "/");
    at = put_u64(ev->id, sizeof ev->id, at, ev->seq);
    ev->id[at] = '\0';
    msgpack_sbuffer_clear(&pub->buf);
    int rc = rw_proto_event_encode(ev, &pub->buf);
    if (rc != 0)
        return rc;
    if (pub->buf.size > RW_BUS_MAX_MSG - 64)
        return RW_ERANGE;
    f->seq++;                   /* used even if ZeroMQ refuses: subscribers then see a gap */
    const void *data[2] = { ev->type, pub->buf.data };
    size_t lens[2] = { strlen(ev->type), pub->buf.size };
    return rw_bus_send_parts(pub->sock, data, lens, 2) == 0 ? 0 : RW_EIO;
}

/* ---- subscriber ------------------------------------------------------------------------- */

static void bad_event(rw_sub_t *sub, const char *why)
{
    uint64_t n = ++sub->st.bad_frames;
    rw_counter_inc(sub->m_bad);
    if ((n & (n - 1)) == 0)     /* 1, 2, 4, 8...: hostile peers cannot flood the log */
        rw_log_warn("bus_bad_event", RW_S("why", why), RW_U("bad_total", n));
}

static rw_seq_status_t classify(rw_sub_t *sub, const rw_event_t *ev)
{
    rw_seq_status_t st = { RW_SEQ_OK, 0 };
    char key[64 + 48 + 1], family[48];
    family_of(ev->type, family);
    snprintf(key, sizeof key, "%s/%s", ev->publisher, family);
    seen_t *s = zhashx_lookup(sub->seen, key);
    if (!s) {
        if (zhashx_size(sub->seen) < MAX_PUBLISHERS && (s = calloc(1, sizeof *s)) != NULL) {
            *s = (seen_t){ ev->epoch, ev->seq };
            zhashx_insert(sub->seen, key, s);
        }
    } else if (ev->epoch > s->epoch) {
        st = (rw_seq_status_t){ RW_SEQ_RESTART, ev->seq - 1 };
        *s = (seen_t){ ev->epoch, ev->seq };
    } else if (ev->epoch < s->epoch || ev->seq <= s->seq) {
        st.kind = RW_SEQ_DUP;
    } else {
        if (ev->seq > s->seq + 1)
            st = (rw_seq_status_t){ RW_SEQ_GAP, ev->seq - s->seq - 1 };
        s->seq = ev->seq;
    }
    return st;
}

static void count(rw_sub_t *sub, rw_seq_status_t st)
{
    sub->st.received++;
    switch (st.kind) {
    case RW_SEQ_OK: sub->st.ok++; rw_counter_inc(sub->m_ok); break;
    case RW_SEQ_GAP:
        sub->st.gaps++;
        sub->st.missed += st.missed;
        rw_counter_inc(sub->m_gap);
        rw_counter_add(sub->m_missed, st.missed);
        break;
    case RW_SEQ_DUP: sub->st.dups++; rw_counter_inc(sub->m_dup); break;
    case RW_SEQ_RESTART: sub->st.restarts++; rw_counter_inc(sub->m_restart); break;
    }
}

static void on_event(void *arg, zsock_t *sock)
{
    rw_sub_t *sub = arg;
    zmq_msg_t parts[2];
    rw_event_t ev;
    int n = rw_bus_recv_parts(sock, parts, 2);
    if (n < 0)
        return;
    if (n != 2) {
        bad_event(sub, "frames");
        rw_bus_close_parts(parts, n < 2 ? n : 2);
        return;
    }
    size_t tlen = zmq_msg_size(&parts[0]);
    int rc = rw_proto_event_decode(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), &ev);
    int type_ok = rc == 0 && tlen == strlen(ev.type)
                  && memcmp(zmq_msg_data(&parts[0]), ev.type, tlen) == 0;
    rw_bus_close_parts(parts, 2);
    if (rc != 0 || !type_ok || ev.seq == 0 || !ev.publisher[0]) {
        bad_event(sub, rc != 0 ? "decode" : !type_ok ? "type" : "envelope");
        return;
    }
    rw_seq_status_t st = classify(sub, &ev);
    count(sub, st);
    if (st.kind == RW_SEQ_GAP || st.kind == RW_SEQ_RESTART)
        rw_log_info(st.kind == RW_SEQ_GAP ? "bus_event_gap" : "bus_publisher_restart",
                    RW_S("publisher", ev.publisher), RW_U("missed", st.missed));
    sub->fn(sub->arg, &ev, st);    /* last: fn may destroy the subscriber */
}

static void free_seen(void **item)
{
    free(*item);
    *item = NULL;
}

static void register_metrics(rw_sub_t *sub, rw_metrics_t *m)
{
    if (!m)
        return;
    sub->m_ok = rw_metrics_counter(m, "bus_sub_events_total{seq=\"ok\"}", "Events received");
    sub->m_gap = rw_metrics_counter(m, "bus_sub_events_total{seq=\"gap\"}", "Events received");
    sub->m_dup = rw_metrics_counter(m, "bus_sub_events_total{seq=\"dup\"}", "Events received");
    sub->m_restart = rw_metrics_counter(m, "bus_sub_events_total{seq=\"restart\"}",
                                        "Events received");
    sub->m_missed = rw_metrics_counter(m, "bus_sub_missed_total", "Events lost in sequence gaps");
    sub->m_bad = rw_metrics_counter(m, "bus_sub_bad_frames_total",
                                    "Malformed event messages dropped");
}

rw_sub_t *rw_sub_new(su_root_t *root, rw_sub_fn *fn, void *arg, rw_metrics_t *metrics)
{
    if (!root || !fn)
        return NULL;
    rw_bus_init();
    rw_sub_t *sub = calloc(1, sizeof *sub);
    if (!sub)
        return NULL;
    sub->fn = fn;
    sub->arg = arg;
    sub->seen = zhashx_new();
    sub->sock = zsock_new(ZMQ_SUB);
    if (!sub->seen || !sub->sock)
        goto fail;
    zhashx_set_destructor(sub->seen, free_seen);
    zsock_set_maxmsgsize(sub->sock, RW_BUS_MAX_MSG);
    rw_bus_curve_client(sub->sock);
    sub->watch = rw_bus_watch_new(root, sub->sock, on_event, sub);
    if (!sub->watch)
        goto fail;
    register_metrics(sub, metrics);
    return sub;
fail:
    rw_sub_destroy(&sub);
    return NULL;
}

void rw_sub_destroy(rw_sub_t **self)
{
    if (!self || !*self)
        return;
    rw_sub_t *sub = *self;
    *self = NULL;
    rw_bus_watch_destroy(&sub->watch);
    zsock_destroy(&sub->sock);
    zhashx_destroy(&sub->seen);
    for (size_t i = 0; i < sub->n_eps; i++)
        free(sub->eps[i]);
    free(sub->eps);
    free(sub);
}

int rw_sub_connect(rw_sub_t *sub, const char *endpoint)
{
    if (!sub || !endpoint)
        return RW_EINVAL;
    int rc = zsock_connect(sub->sock, "%s", endpoint) == 0 ? 0 : RW_EINVAL;
    rw_bus_watch_kick(sub->watch);
    return rc;
}

int rw_sub_disconnect(rw_sub_t *sub, const char *endpoint)
{
    if (!sub || !endpoint)
        return RW_EINVAL;
    int rc = zsock_disconnect(sub->sock, "%s", endpoint) == 0 ? 0 : RW_ENOTFOUND;
    rw_bus_watch_kick(sub->watch);
    return rc;
}

static int listed(const char *const *eps, size_t n, const char *ep)
{
    for (size_t i = 0; i < n; i++)
        if (eps[i] && strcmp(eps[i], ep) == 0)
            return 1;
    return 0;
}

int rw_sub_set_endpoints(rw_sub_t *sub, const char *const *endpoints, size_t n)
{
    if (!sub || (!endpoints && n))
        return RW_EINVAL;
    char **next = calloc(n ? n : 1, sizeof *next);
    if (!next)
        return RW_ENOMEM;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < sub->n_eps; i++) {
        if (listed(endpoints, n, sub->eps[i])) {
            next[k++] = sub->eps[i];
        } else {
            zsock_disconnect(sub->sock, "%s", sub->eps[i]);
            free(sub->eps[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!endpoints[i] || listed((const char *const *) next, k, endpoints[i]))
            continue;
        char *copy = strdup(endpoints[i]);
        if (copy && zsock_connect(sub->sock, "%s", copy) == 0) {
            next[k++] = copy;
        } else {
            free(copy);
            rc = RW_EINVAL;
        }
    }
    free(sub->eps);
    sub->eps = next;
    sub->n_eps = k;
    rw_bus_watch_kick(sub->watch);
    return rc;
}

static int valid_prefix(const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    return n >= 2 && n < 48 && prefix[n - 1] == '.';
}

int rw_sub_subscribe(rw_sub_t *sub, const char *prefix)
{
    if (!sub || !valid_prefix(prefix))
        return RW_EINVAL;
    zsock_set_subscribe(sub->sock, prefix);
    rw_bus_watch_kick(sub->watch);
    return 0;
}

int rw_sub_unsubscribe(rw_sub_t *sub, const char *prefix)
{
    if (!sub || !valid_prefix(prefix))
        return RW_EINVAL;
    zsock_set_unsubscribe(sub->sock, prefix);
    rw_bus_watch_kick(sub->watch);
    return 0;
}

void rw_sub_stats(const rw_sub_t *sub, rw_sub_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (sub)
        *out = sub->st;
}
