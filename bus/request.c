/* bus/request.c — the asking side of request/reply: one DEALER per instance of a service.
 * A request goes to the next instance that accepts it (IMMEDIATE + SNDTIMEO 0 make a down
 * instance refuse at once); at half its deadline it is sent once to another instance; the
 * first answer wins and the callback runs once, at the answer or at the deadline. Pending
 * requests sit in a hash by id, each with its own su_timer; answers to unknown ids (late
 * ones) are dropped and counted. */
#include "bus/loop_internal.h"
#include "bus/request.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RID_LEN 8
#define UNSENT_POLL_MS 10u    /* how often a request no instance accepted tries again */

typedef struct instance {
    rw_client_t *cli;
    uint64_t serial;            /* never reused: pending requests name instances by it */
    char *endpoint;
    zsock_t *sock;
    rw_bus_watch_t *watch;
} instance_t;

typedef struct pending {
    rw_client_t *cli;
    struct pending *next;       /* hash chain */
    uint64_t id;
    rw_client_fn *fn;
    void *arg;
    su_timer_t *timer;
    uint64_t start_us;
    unsigned deadline_ms;
    uint64_t first;             /* serial of the instance that took it; 0 = none yet */
    int retry_done;
    size_t len;
    unsigned char body[];
} pending_t;

typedef struct {
    rw_counter_t *requests, *answers, *retries, *timeouts, *unsent, *late, *send_failures;
    rw_histogram_t *latency;
} client_metrics_t;

struct rw_client {
    su_root_t *root;
    char *service;
    instance_t **inst;
    size_t n_inst, rr;
    uint64_t next_serial, next_id;
    pending_t **buckets;
    size_t n_buckets;           /* power of two */
    int closing;
    rw_client_stats_t st;
    client_metrics_t m;
};

/* ---- pending table ---------------------------------------------------------------------- */

static size_t bucket_of(const rw_client_t *cli, uint64_t id)
{
    return (size_t) (id * 0x9E3779B97F4A7C15ull >> 20) & (cli->n_buckets - 1);
}

static void table_grow(rw_client_t *cli)
{
    size_t n = cli->n_buckets * 2;
    pending_t **b = calloc(n, sizeof *b);
    if (!b)
        return;                 /* longer chains, still correct */
    pending_t **old = cli->buckets;
    size_t old_n = cli->n_buckets;
    cli->buckets = b;
    cli->n_buckets = n;
    for (size_t i = 0; i < old_n; i++)
        for (pending_t *p = old[i], *next; p; p = next) {
            next = p->next;
            size_t k = bucket_of(cli, p->id);
            p->next = b[k];
            b[k] = p;
        }
    free(old);
}

static void table_add(rw_client_t *cli, pending_t *p)
{
    if (cli->st.pending >= cli->n_buckets)
        table_grow(cli);
    size_t k = bucket_of(cli, p->id);
    p->next = cli->buckets[k];
    cli->buckets[k] = p;
    cli->st.pending++;
}

/* Unlinks and returns the request with this id, or NULL. */
static pending_t *table_take(rw_client_t *cli, uint64_t id)
{
    for (pending_t **pp = &cli->buckets[bucket_of(cli, id)]; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            pending_t *p = *pp;
            *pp = p->next;
            cli->st.pending--;
            return p;
        }
    return NULL;
}

/* ---- sending ---------------------------------------------------------------------------- */

static void put_be64(unsigned char *b, uint64_t v)
{
    for (int i = RID_LEN - 1; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char) v;
}

static uint64_t get_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < RID_LEN; i++)
        v = v << 8 | b[i];
    return v;
}

/* Offers p to the instances in round-robin order, skipping `avoid`; returns the serial of
 * the one that took it, or 0. */
static uint64_t send_once(rw_client_t *cli, pending_t *p, uint64_t avoid)
{
    unsigned char rid[RID_LEN];
    put_be64(rid, p->id);
    const void *data[2] = { rid, p->body };
    size_t lens[2] = { RID_LEN, p->len };
    for (size_t k = 0; k < cli->n_inst; k++) {
        size_t i = (cli->rr + k) % cli->n_inst;
        instance_t *in = cli->inst[i];
        if (in->serial == avoid)
            continue;
        if (rw_bus_send_parts(in->sock, data, lens, 2) == 0) {
            cli->rr = i + 1;
            rw_bus_watch_kick(in->watch);
            return in->serial;
        }
        cli->st.send_failures++;
        rw_counter_inc(cli->m.send_failures);
    }
    return 0;
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg);

/* Takes p out of the client and runs its callback last: fn may destroy the client. */
static void finish(rw_client_t *cli, pending_t *p, int status, const void *body, size_t len)
{
    if (p->timer)
        su_timer_destroy(p->timer);
    if (status == 0) {
        cli->st.answers++;
        rw_counter_inc(cli->m.answers);
        rw_histogram_observe(cli->m.latency, (double) (rw_clock_mono_us() - p->start_us) / 1e6);
    } else if (status == RW_ETIMEDOUT) {
        cli->st.timeouts++;
        rw_counter_inc(cli->m.timeouts);
    } else if (status == RW_EAGAIN) {
        cli->st.unsent++;
        rw_counter_inc(cli->m.unsent);
    }
    rw_client_fn *fn = p->fn;
    void *arg = p->arg;
    free(p);
    fn(arg, status, body, len);
}

static void arm(pending_t *p, uint64_t ms)
{
    su_timer_set_interval(p->timer, on_timer, p, (su_duration_t) ms);
}

/* One timer per request: it polls for an instance while none has accepted the request yet
 * (every UNSENT_POLL_MS), sends the one retry at half the deadline, and ends it at the
 * deadline. */
static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    pending_t *p = arg;
    rw_client_t *cli = p->cli;
    (void) magic;
    (void) t;
    uint64_t elapsed = (rw_clock_mono_us() - p->start_us) / 1000, half = p->deadline_ms / 2;
    if (elapsed >= p->deadline_ms || (!p->first && cli->n_inst == 0)) {
        table_take(cli, p->id);
        finish(cli, p, p->first ? RW_ETIMEDOUT : RW_EAGAIN, NULL, 0);
        return;
    }
    uint64_t left = p->deadline_ms - elapsed;
    if (!p->first) {
        p->first = send_once(cli, p, 0);
        if (!p->first)
            arm(p, left < UNSENT_POLL_MS ? left : UNSENT_POLL_MS);
        else if (elapsed < half)
            arm(p, half - elapsed);
        else {
            p->retry_done = 1;   /* accepted too late for a retry to help */
            arm(p, left);
        }
        return;
    }
    if (!p->retry_done) {
        p->retry_done = 1;
        if (send_once(cli, p, p->first)) {
            cli->st.retries++;
            rw_counter_inc(cli->m.retries);
        }
    }
    arm(p, left);
}

int rw_client_request(rw_client_t *cli, const void *body, size_t len, unsigned deadline_ms,
                      rw_client_fn *fn, void *arg)
{
    if (!cli || !fn || deadline_ms == 0 || (!body && len))
        return RW_EINVAL;
    if (cli->closing)
        return RW_ECLOSED;
    if (len > RW_BUS_MAX_MSG - 64)
        return RW_ERANGE;
    pending_t *p = malloc(sizeof *p + (len ? len : 1));
    if (!p)
        return RW_ENOMEM;
    *p = (pending_t){ .cli = cli, .id = ++cli->next_id, .fn = fn, .arg = arg, .len = len,
                      .start_us = rw_clock_mono_us(), .deadline_ms = deadline_ms };
    if (len)
        memcpy(p->body, body, len);
    p->timer = su_timer_create(su_root_task(cli->root), 0);
    if (!p->timer) {
        free(p);
        return RW_ENOMEM;
    }
    unsigned half = deadline_ms / 2;
    p->first = cli->n_inst ? send_once(cli, p, 0) : 0;
    if (!p->first)               /* nobody took it: poll (or fail on the next turn if none) */
        arm(p, cli->n_inst ? (half < UNSENT_POLL_MS ? half : UNSENT_POLL_MS) : 0);
    else if (half == 0) {
        p->retry_done = 1;       /* a 1 ms deadline leaves no time for a retry */
        arm(p, deadline_ms);
    } else {
        arm(p, half);
    }
    table_add(cli, p);
    cli->st.requests++;
    rw_counter_inc(cli->m.requests);
    return 0;
}

/* ---- answers ---------------------------------------------------------------------------- */

static void on_answer(void *arg, zsock_t *sock)
{
    instance_t *in = arg;
    rw_client_t *cli = in->cli;
    zmq_msg_t parts[2];
    int n = rw_bus_recv_parts(sock, parts, 2);
    if (n < 0)
        return;
    if (n != 2 || zmq_msg_size(&parts[0]) != RID_LEN) {
        uint64_t bad = ++cli->st.bad_frames;
        if ((bad & (bad - 1)) == 0)
            rw_log_warn("bus_bad_answer", RW_S("service", cli->service),
                        RW_S("endpoint", in->endpoint), RW_I("parts", n));
        rw_bus_close_parts(parts, n < 2 ? n : 2);
        return;
    }
    pending_t *p = table_take(cli, get_be64(zmq_msg_data(&parts[0])));
    if (!p) {
        cli->st.late_answers++;
        rw_counter_inc(cli->m.late);
    } else {
        finish(cli, p, 0, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
    }
    rw_bus_close_parts(parts, 2);
}

/* ---- instances -------------------------------------------------------------------------- */

static void instance_destroy(instance_t **self)
{
    if (!*self)
        return;
    instance_t *in = *self;
    *self = NULL;
    rw_bus_watch_destroy(&in->watch);
    zsock_destroy(&in->sock);
    free(in->endpoint);
    free(in);
}

static instance_t *instance_new(rw_client_t *cli, const char *endpoint)
{
    instance_t *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->cli = cli;
    in->serial = ++cli->next_serial;
    in->endpoint = strdup(endpoint);
    in->sock = zsock_new(ZMQ_DEALER);
    if (!in->endpoint || !in->sock)
        goto fail;
    zsock_set_immediate(in->sock, 1);
    zsock_set_sndtimeo(in->sock, 0);
    zsock_set_maxmsgsize(in->sock, RW_BUS_MAX_MSG);
    zsock_set_sndhwm(in->sock, RW_BUS_REQUEST_HWM);
    zsock_set_rcvhwm(in->sock, RW_BUS_REQUEST_HWM);
    zsock_set_reconnect_ivl(in->sock, 100);
    zsock_set_reconnect_ivl_max(in->sock, 2000);
    rw_bus_curve_client(in->sock);
    if (zsock_connect(in->sock, "%s", endpoint) != 0) {
        rw_log_warn("bus_bad_endpoint", RW_S("service", cli->service), RW_S("endpoint", endpoint));
        goto fail;
    }
    in->watch = rw_bus_watch_new(cli->root, in->sock, on_answer, in);
    if (!in->watch)
        goto fail;
    return in;
fail:
    instance_destroy(&in);
    return NULL;
}

static instance_t *take_instance(rw_client_t *cli, const char *endpoint)
{
    for (size_t i = 0; i < cli->n_inst; i++)
        if (cli->inst[i] && strcmp(cli->inst[i]->endpoint, endpoint) == 0) {
            instance_t *in = cli->inst[i];
            cli->inst[i] = NULL;
            return in;
        }
    return NULL;
}

int rw_client_set_endpoints(rw_client_t *cli, const char *const *endpoints, size_t n)
{
    if (!cli || (!endpoints && n) || cli->closing)
        return RW_EINVAL;
    instance_t **next = calloc(n ? n : 1, sizeof *next);
    if (!next)
        return RW_ENOMEM;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int dup = !endpoints[i];
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(next[j]->endpoint, endpoints[i]) == 0;
        if (dup)
            continue;
        instance_t *in = take_instance(cli, endpoints[i]);
        if (!in)
            in = instance_new(cli, endpoints[i]);
        if (in)
            next[k++] = in;
        else
            rc = RW_EINVAL;
    }
    for (size_t i = 0; i < cli->n_inst; i++)
        instance_destroy(&cli->inst[i]);
    free(cli->inst);
    cli->inst = next;
    cli->n_inst = k;
    cli->rr = k ? cli->rr % k : 0;
    rw_log_info("bus_endpoints", RW_S("service", cli->service), RW_U("instances", k));
    return rc;
}

size_t rw_client_endpoint_count(const rw_client_t *cli)
{
    return cli ? cli->n_inst : 0;
}

/* ---- life ------------------------------------------------------------------------------- */

static void register_metrics(rw_client_t *cli, rw_metrics_t *m)
{
    if (!m)
        return;
    char name[160];
#define RW_CLIENT_COUNTER(field, what, help)                                                   \
    snprintf(name, sizeof name, "bus_client_" what "_total{service=\"%s\"}", cli->service);    \
    cli->m.field = rw_metrics_counter(m, name, help)
    RW_CLIENT_COUNTER(requests, "requests", "Requests sent on the bus");
    RW_CLIENT_COUNTER(answers, "answers", "Requests answered before their deadline");
    RW_CLIENT_COUNTER(retries, "retries", "Requests sent again to another instance");
    RW_CLIENT_COUNTER(timeouts, "timeouts", "Requests unanswered at their deadline");
    RW_CLIENT_COUNTER(unsent, "unsent", "Requests no instance accepted");
    RW_CLIENT_COUNTER(late, "late_answers", "Answers after the request was settled");
    RW_CLIENT_COUNTER(send_failures, "send_failures", "Sends an instance refused");
#undef RW_CLIENT_COUNTER
    snprintf(name, sizeof name, "bus_client_latency_seconds{service=\"%s\"}", cli->service);
    cli->m.latency = rw_metrics_histogram(m, name, "Request round trip time", NULL, 0);
}

rw_client_t *rw_client_new(su_root_t *root, const char *service, rw_metrics_t *metrics)
{
    if (!root || !service || !*service || strlen(service) > 64 || strpbrk(service, "\"\\{}"))
        return NULL;
    rw_bus_init();
    rw_client_t *cli = calloc(1, sizeof *cli);
    if (!cli)
        return NULL;
    cli->root = root;
    cli->n_buckets = 64;
    cli->service = strdup(service);
    cli->buckets = calloc(cli->n_buckets, sizeof *cli->buckets);
    if (!cli->service || !cli->buckets)
        goto fail;
    register_metrics(cli, metrics);
    return cli;
fail:
    rw_client_destroy(&cli);
    return NULL;
}

void rw_client_destroy(rw_client_t **self)
{
    if (!self || !*self || (*self)->closing)
        return;
    rw_client_t *cli = *self;
    *self = NULL;
    cli->closing = 1;
    for (size_t i = 0; cli->buckets && i < cli->n_buckets; i++)
        while (cli->buckets[i]) {
            pending_t *p = cli->buckets[i];
            cli->buckets[i] = p->next;
            cli->st.pending--;
            finish(cli, p, RW_ECLOSED, NULL, 0);
        }
    for (size_t i = 0; i < cli->n_inst; i++)
        instance_destroy(&cli->inst[i]);
    free(cli->inst);
    free(cli->buckets);
    free(cli->service);
    free(cli);
}

void rw_client_stats(const rw_client_t *cli, rw_client_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (cli)
        *out = cli->st;
}
