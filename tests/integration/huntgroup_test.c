/* tests/integration/huntgroup_test.c — two real ringway-huntgroup processes against a real
 * redis-server, asked over real ZeroMQ: requests alternating between the instances never offer
 * one agent two calls and round robin spreads 30 calls 10/10/10, weighted random 10,000
 * decisions within 5 % of the weights' shares; after kill -9 of the instance
 * that took 5 waiting callers, the other serves all 5 in arrival order; an agent on a call of
 * their own (call.* events of a publisher in the registry) skipped; queue.* events on the
 * bus, per-group figures on /metrics, a malformed request answered with an error, SIGTERM;
 * a CLI event left under a lease by an instance killed before releasing it is published once
 * and released; while Redis is stopped a queued caller's `next` is answered wait (held, not
 * an error) for huntgroup.redis_hold_ms, the caller keeps their place when Redis returns, and
 * past the hold (Redis killed) the answer is an error. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "protocols/huntgroup.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"
#include "tests/unit/huntgroup/hg_fixture.h"

typedef struct {
    pid_t pid;
    int http_port;
    char endpoint[64], pub[64];
} hg_proc_t;

static rw_redis_fixture_t redis;
static rw_redis_t *dir;
static char logdir[256];
static hg_proc_t h1, h2;
static su_root_t *root;
static rw_client_t *c1, *c2;

/* Turns the loop for ms milliseconds of the monotonic clock (su_root_step returns early when
 * there is work). */
static void run_loop_ms(unsigned ms)
{
    uint64_t until = rw_clock_mono_ms() + ms;
    while (rw_clock_mono_ms() < until)
        su_root_step(root, 10);
}

static void add_user(const char *id, const char *ext)
{
    hg_add_user(dir, id, ext);
}

static void start_hg(hg_proc_t *p, const char *name)
{
    char bin[512], log[400], e_http[64], e_bind[96], e_redis[64], e_inst[64], e_pub[96];
    p->http_port = rw_proc_free_port();
    snprintf(p->endpoint, sizeof p->endpoint, "tcp://127.0.0.1:%d", rw_proc_free_port());
    snprintf(p->pub, sizeof p->pub, "tcp://127.0.0.1:%d", rw_proc_free_port());
    snprintf(e_http, sizeof e_http, "RINGWAY_HTTP_PORT=%d", p->http_port);
    snprintf(e_bind, sizeof e_bind, "RINGWAY_HUNTGROUP_BIND=%s", p->endpoint);
    snprintf(e_pub, sizeof e_pub, "RINGWAY_BUS_PUB=%s", p->pub);
    snprintf(e_redis, sizeof e_redis, "RINGWAY_REDIS_PORT=%d", redis.port);
    snprintf(e_inst, sizeof e_inst, "RINGWAY_INSTANCE=%s", name);
    snprintf(log, sizeof log, "%s/%s.log", logdir, name);
    const char *argv[] = { rw_proc_build_path("services/huntgroup/ringway-huntgroup", bin, sizeof bin), NULL };
    const char *env[] = { e_http, e_bind, e_redis, e_inst, e_pub, "RINGWAY_HUNTGROUP_CALLER_TIMEOUT_MS=600000",
                          "RINGWAY_HUNTGROUP_STATS_MS=100", "RINGWAY_HUNTGROUP_REDIS_HOLD_MS=3000",
                          "RINGWAY_REDIS_COMMAND_TIMEOUT_MS=300", NULL };
    p->pid = rw_proc_spawn(argv, env, log);
    ck_assert_int_gt(p->pid, 0);
    ck_assert_msg(rw_proc_wait_http(p->http_port, "/health", 5000) == 0, "huntgroup %s not healthy", name);
}

static rw_client_t *client_of(const hg_proc_t *p)
{
    rw_client_t *c = rw_client_new(root, "huntgroup", NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(rw_bus_static_endpoints(c, p->endpoint), 0);
    return c;
}

static void setup(void)
{
    static rw_group_t g;
    char err[300];
    snprintf(logdir, sizeof logdir, "%s/rw-hg-it-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(logdir));
    ck_assert_int_eq(rw_redis_fixture_start(&redis), 0);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = redis.port, .command_timeout_ms = 5000 };
    dir = rw_redis_new(&o);
    ck_assert_ptr_nonnull(dir);
    add_user("ann", "2001");
    add_user("ben", "2002");
    add_user("cat", "2003");
    rw_group_defaults(&g, "desk");
    snprintf(g.ext, sizeof g.ext, "3000");
    g.strategy = RW_HG_RRMEMORY;
    g.join_empty = true;
    g.wrapup_s = 0;
    g.autopause = 0;
    g.max_wait_s = 3600;
    const char *who[] = { "ann", "ben", "cat" };
    for (int i = 0; i < 3; i++)
        rw_group_member_defaults(&g.members[i], who[i]);
    g.n_members = 3;
    ck_assert_msg(rw_dir_group_put(dir, &rw_numplan_uk, &g, err, sizeof err) == 0, "%s", err);
    su_init();
    root = su_root_create(NULL);
    start_hg(&h1, "hg-1");
    start_hg(&h2, "hg-2");
    c1 = client_of(&h1);
    c2 = client_of(&h2);
    run_loop_ms(200);                /* let the connections come up */
}

static void teardown(void)
{
    rw_client_destroy(&c1);
    rw_client_destroy(&c2);
    su_root_destroy(root);
    su_deinit();
    if (h1.pid > 0)
        rw_proc_stop(h1.pid, 5000);
    if (h2.pid > 0)
        rw_proc_stop(h2.pid, 5000);
    rw_redis_destroy(&dir);
    rw_redis_fixture_stop(&redis);
}

/* ---- asking over the bus ---------------------------------------------------------------- */
typedef struct {
    int done, status;
    rw_hg_reply_t rep;
} answer_t;

static void on_answer(void *arg, int status, const void *body, size_t len)
{
    answer_t *a = arg;
    a->done = 1;
    a->status = status ? status : rw_proto_hg_reply_decode(body, len, &a->rep);
}

static rw_hg_reply_t *ask_raw(rw_client_t *c, const void *body, size_t len)
{
    static answer_t a;
    unsigned deadline = 2000 * rw_proc_wrap_scale();
    uint64_t t0 = rw_clock_mono_ms();
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(rw_client_request(c, body, len, deadline, on_answer, &a), 0);
    while (!a.done && rw_clock_mono_ms() - t0 < deadline + 2000)
        su_root_step(root, 5);
    ck_assert_msg(a.done && a.status == 0, "no answer (%d)", a.status);
    return &a.rep;
}

static rw_hg_reply_t *ask(rw_client_t *c, rw_hg_op_t op, const char *call, const char *agent, rw_hg_result_t res)
{
    rw_hg_req_t q;
    msgpack_sbuffer sb;
    memset(&q, 0, sizeof q);
    q.op = op;
    snprintf(q.call_id, sizeof q.call_id, "%s", call ? call : "");
    snprintf(q.group, sizeof q.group, "desk");
    snprintf(q.caller, sizeof q.caller, "+441632960500");
    snprintf(q.agent, sizeof q.agent, "%s", agent ? agent : "");
    q.result = res;
    if (op == RW_HGOP_AGENT) {
        snprintf(q.agent_op, sizeof q.agent_op, "%s", call);
        q.call_id[0] = q.group[0] = '\0';
    }
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), 0);
    rw_hg_reply_t *r = ask_raw(c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    ck_assert_msg(r->status != RW_HGS_ERROR, "%s %s: %s", rw_proto_hg_op_name(op), call ? call : "", r->reason);
    return r;
}

static void login(rw_client_t *c, const char *agent)
{
    rw_hg_reply_t *r = ask(c, RW_HGOP_AGENT, "login", agent, RW_HGR_NONE);
    ck_assert_int_eq(r->status, RW_HGS_DONE);
    ck_assert_str_eq(r->state, "available");
}

START_TEST(test_two_instances_never_double_offer)
{
    enum { CALLS = 30 };
    char calls[CALLS][16], holder[3][16] = { "", "", "" }, agent_of[CALLS][64];
    const char *who[] = { "ann", "ben", "cat" };
    int served[3] = { 0 }, done = 0, left[CALLS] = { 0 };
    login(c1, "ann");
    login(c2, "ben");
    login(c1, "cat");
    for (int i = 0; i < CALLS; i++) {
        snprintf(calls[i], sizeof calls[i], "call-%02d", i);
        agent_of[i][0] = '\0';
    }
    /* Rounds: every call not served yet asks, alternating instances; an offer is answered,
     * then ended, through the other instance. An agent offered while holding a call fails. */
    for (int round = 0; done < CALLS && round < 200; round++) {
        for (int i = 0; i < CALLS; i++) {
            if (left[i])
                continue;
            rw_client_t *c = (i + round) % 2 ? c2 : c1, *other = c == c1 ? c2 : c1;
            rw_hg_reply_t *r = ask(c, RW_HGOP_NEXT, calls[i], NULL, RW_HGR_NONE);
            if (r->status == RW_HGS_WAIT)
                continue;
            ck_assert_int_eq(r->status, RW_HGS_OFFER);
            ck_assert_int_eq(r->n_agents, 1);
            int k = 0;
            while (k < 3 && strcmp(r->agents[0].user, who[k]))
                k++;
            ck_assert_int_lt(k, 3);
            ck_assert_msg(!holder[k][0], "%s offered %s while holding %s", who[k], calls[i], holder[k]);
            snprintf(holder[k], sizeof holder[k], "%s", calls[i]);
            snprintf(agent_of[i], sizeof agent_of[i], "%s", who[k]);
            /* a second ask of the same call on the other instance gets the same agent */
            r = ask(other, RW_HGOP_NEXT, calls[i], NULL, RW_HGR_NONE);
            ck_assert_int_eq(r->status, RW_HGS_OFFER);
            ck_assert_str_eq(r->agents[0].user, who[k]);
            ck_assert_int_eq(ask(other, RW_HGOP_OUTCOME, calls[i], who[k], RW_HGR_ANSWERED)->status, RW_HGS_DONE);
        }
        /* the answered calls end (after every waiting caller has asked once more) */
        for (int i = 0; i < CALLS; i++) {
            if (left[i] || !agent_of[i][0])
                continue;
            ck_assert_int_eq(ask(i % 2 ? c1 : c2, RW_HGOP_OUTCOME, calls[i], "", RW_HGR_ENDED)->status, RW_HGS_DONE);
            for (int k = 0; k < 3; k++)
                if (!strcmp(holder[k], calls[i])) {
                    holder[k][0] = '\0';
                    served[k]++;
                }
            left[i] = 1;
            done++;
        }
    }
    ck_assert_int_eq(done, CALLS);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(served[k] == 10, "%s served %d of 30", who[k], served[k]);
    ck_assert_int_eq(rw_proc_stop(h1.pid, 5000), 0);     /* clean exit: no sanitizer report */
    ck_assert_int_eq(rw_proc_stop(h2.pid, 5000), 0);
    h1.pid = h2.pid = 0;
}
END_TEST

START_TEST(test_kill_9_of_the_instance_holding_5_callers)
{
    char calls[5][16];
    /* 5 callers join through instance 1 while nobody is logged in */
    for (int i = 0; i < 5; i++) {
        snprintf(calls[i], sizeof calls[i], "held-%d", i);
        rw_hg_reply_t *r = ask(c1, RW_HGOP_NEXT, calls[i], NULL, RW_HGR_NONE);
        ck_assert_int_eq(r->status, RW_HGS_WAIT);
        ck_assert_int_eq(r->position, (uint32_t) i + 1);
    }
    kill(h1.pid, SIGKILL);
    waitpid(h1.pid, NULL, 0);
    h1.pid = 0;
    login(c2, "ann");
    /* the callers keep asking instance 2, last arrived first; they are served in arrival order */
    int order[5], n = 0, left[5] = { 0 };
    for (int round = 0; n < 5 && round < 50; round++) {
        for (int i = 4; i >= 0; i--) {
            if (left[i])
                continue;
            rw_hg_reply_t *r = ask(c2, RW_HGOP_NEXT, calls[i], NULL, RW_HGR_NONE);
            if (r->status != RW_HGS_OFFER)
                continue;
            ck_assert_str_eq(r->agents[0].user, "ann");
            ck_assert_int_eq(ask(c2, RW_HGOP_OUTCOME, calls[i], "ann", RW_HGR_ANSWERED)->status, RW_HGS_DONE);
            ck_assert_int_eq(ask(c2, RW_HGOP_OUTCOME, calls[i], "ann", RW_HGR_ENDED)->status, RW_HGS_DONE);
            left[i] = 1;
            order[n++] = i;
        }
    }
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(order[i] == i, "served %d as number %d", order[i], i + 1);
    ck_assert_int_eq(rw_proc_stop(h2.pid, 5000), 0);
    h2.pid = 0;
}
END_TEST

/* The answer to `next` for call, error or not. */
static rw_hg_reply_t *ask_next(rw_client_t *c, const char *call)
{
    rw_hg_req_t q;
    msgpack_sbuffer sb;
    memset(&q, 0, sizeof q);
    q.op = RW_HGOP_NEXT;
    snprintf(q.call_id, sizeof q.call_id, "%s", call);
    snprintf(q.group, sizeof q.group, "desk");
    snprintf(q.caller, sizeof q.caller, "+441632960500");
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), 0);
    rw_hg_reply_t *r = ask_raw(c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

START_TEST(test_callers_are_held_while_redis_is_away_and_keep_their_place)
{
    ck_assert_int_eq(ask(c1, RW_HGOP_NEXT, "first", NULL, RW_HGR_NONE)->position, 1);
    ck_assert_int_eq(ask(c1, RW_HGOP_NEXT, "second", NULL, RW_HGR_NONE)->position, 2);
    rw_redis_fixture_suspend(&redis);         /* a failover: Redis does not answer */
    rw_hg_reply_t *r = ask_next(c1, "second");
    ck_assert_msg(r->status == RW_HGS_WAIT, "%s", r->reason);
    ck_assert_uint_eq(r->position, 0);
    ck_assert_uint_gt(r->retry_ms, 0);
    r = ask_next(c2, "new-caller");           /* one arriving meanwhile is held too */
    ck_assert_msg(r->status == RW_HGS_WAIT, "%s", r->reason);
    rw_redis_fixture_resume(&redis);
    uint64_t t0 = rw_clock_mono_ms();
    do {                                      /* held until the instance has reconnected */
        run_loop_ms(100);
        r = ask_next(c1, "second");
    } while (r->position == 0 && rw_clock_mono_ms() - t0 < 5000 * rw_proc_wrap_scale());
    ck_assert_int_eq(r->status, RW_HGS_WAIT);
    ck_assert_uint_eq(r->position, 2);        /* back: the same place */
    /* Redis gone for good: held up to the hold (3 s here), then an error (the final action). */
    rw_redis_fixture_kill(&redis);
    r = ask_next(c1, "second");
    ck_assert_msg(r->status == RW_HGS_WAIT, "%s", r->reason);
    t0 = rw_clock_mono_ms();
    int status = RW_HGS_WAIT;
    while (status == RW_HGS_WAIT && rw_clock_mono_ms() - t0 < 10000 * rw_proc_wrap_scale()) {
        run_loop_ms(200);
        status = ask_next(c1, "second")->status;
    }
    ck_assert_int_eq(status, RW_HGS_ERROR);
}
END_TEST

typedef struct {
    int joined;
    char call[64];
} seen_t;

static void on_queue_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    seen_t *s = arg;
    (void) st;
    if (!strcmp(ev->type, "queue.joined") && !strcmp(ev->queue.group, "desk")
        && !strcmp(ev->queue.call_id, s->call))
        s->joined = 1;
}

START_TEST(test_events_metrics_bad_request_sigterm)
{
    seen_t seen;
    memset(&seen, 0, sizeof seen);
    rw_sub_t *sub = rw_sub_new(root, on_queue_event, &seen, NULL);
    ck_assert_ptr_nonnull(sub);
    ck_assert_int_eq(rw_sub_connect(sub, h2.pub), 0);
    ck_assert_int_eq(rw_sub_subscribe(sub, "queue."), 0);
    /* ZeroMQ's slow joiner: callers join until one's event arrives (bounded) */
    uint64_t end = rw_clock_mono_ms() + 15000ull * rw_proc_wrap_scale();
    for (int i = 0; !seen.joined && rw_clock_mono_ms() < end; i++) {
        snprintf(seen.call, sizeof seen.call, "ev-%d", i);
        ck_assert_int_eq(ask(c2, RW_HGOP_NEXT, seen.call, NULL, RW_HGR_NONE)->status, RW_HGS_WAIT);
        for (uint64_t t = rw_clock_mono_ms() + 100; !seen.joined && rw_clock_mono_ms() < t;)
            su_root_step(root, 10);
    }
    ck_assert_msg(seen.joined, "no queue.joined event from instance 2");
    rw_sub_destroy(&sub);
    /* per-group figures from Redis on /metrics */
    char body[65536], want[128];
    int status = 0, found = 0;
    snprintf(want, sizeof want, "ringway_huntgroup_waiting{group=\"desk\"} ");
    end = rw_clock_mono_ms() + 10000ull * rw_proc_wrap_scale();
    while (!found && rw_clock_mono_ms() < end) {
        ck_assert_int_eq(rw_proc_http_get(h2.http_port, "/metrics", &status, body, sizeof body), 0);
        found = strstr(body, want) && strstr(body, "ringway_huntgroup_joined_total{group=\"desk\"}")
                && !strstr(body, "ringway_huntgroup_waiting{group=\"desk\"} 0");
        if (!found)
            usleep(50000);
    }
    ck_assert_msg(found, "no waiting callers of desk on /metrics");
    /* a malformed request gets an error answer, and the service goes on */
    static const unsigned char junk[] = { 0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'n', 'o', 'p', 'e' };
    rw_hg_reply_t *r = ask_raw(c1, junk, sizeof junk);
    ck_assert_int_eq(r->status, RW_HGS_ERROR);
    ck_assert_str_eq(r->reason, "malformed hunt group request");
    ck_assert_int_eq(ask(c1, RW_HGOP_STATS, NULL, NULL, RW_HGR_NONE)->status, RW_HGS_STATS);
    ck_assert_int_eq(rw_proc_stop(h1.pid, 5000), 0);
    ck_assert_int_eq(rw_proc_stop(h2.pid, 5000), 0);
    h1.pid = h2.pid = 0;
}
END_TEST

static long long personal_calls(const char *user)
{
    redisReply *r = rw_redis_command(dir, "SCARD rw:hg:personal:%s", user);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* Publishes a call event of ann's own until the huntgroup instances noted it (bounded). */
static void own_call(rw_pub_t *pub, const char *type, long long want)
{
    static rw_event_t ev;
    /* the instances find the publisher in the registry within a second, then ZeroMQ's slow
     * joiner: publish until they noted it, for at most 15 s */
    uint64_t end = rw_clock_mono_ms() + 15000ull * rw_proc_wrap_scale();
    while (personal_calls("ann") != want && rw_clock_mono_ms() < end) {
        ck_assert_int_eq(rw_proto_event_init(&ev, type), 0);
        snprintf(ev.call.call_id, sizeof ev.call.call_id, "own-call-1");
        snprintf(ev.call.user, sizeof ev.call.user, "ann");
        rw_pub_publish(pub, &ev);
        run_loop_ms(100);
    }
    ck_assert_int_eq(personal_calls("ann"), want);
}

START_TEST(test_agent_on_own_call_skipped_from_call_events)
{
    /* a publisher standing for sip-edge, found by the instances in the registry */
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = redis.port, .command_timeout_ms = 2000 };
    rw_aredis_t *ar = rw_aredis_new(root, &o);
    ck_assert_ptr_nonnull(ar);
    for (uint64_t end = rw_clock_mono_ms() + 5000ull * rw_proc_wrap_scale();
         !rw_aredis_connected(ar) && rw_clock_mono_ms() < end;)
        su_root_step(root, 10);
    ck_assert(rw_aredis_connected(ar));
    rw_pub_t *pub = rw_pub_new(root, "edge-test", "tcp://127.0.0.1:0");
    ck_assert_ptr_nonnull(pub);
    rw_announcer_t *ann = rw_announcer_new(root, ar, "sip_edge.events", "edge-test", rw_pub_endpoint(pub), 3000);
    ck_assert_ptr_nonnull(ann);
    login(c1, "ann");
    login(c2, "ben");
    own_call(pub, "call.answered", 1);
    for (int i = 0; i < 4; i++) {                 /* ann is skipped whoever asks */
        char call[16];
        snprintf(call, sizeof call, "q%d", i);
        rw_hg_reply_t *r = ask(i % 2 ? c2 : c1, RW_HGOP_NEXT, call, NULL, RW_HGR_NONE);
        ck_assert_int_eq(r->status, RW_HGS_OFFER);
        ck_assert_str_eq(r->agents[0].user, "ben");
        ck_assert_int_eq(ask(c1, RW_HGOP_OUTCOME, call, "", RW_HGR_CALLER_GONE)->status, RW_HGS_DONE);
    }
    own_call(pub, "call.ended", 0);
    rw_hg_reply_t *r = ask(c2, RW_HGOP_NEXT, "q-after", NULL, RW_HGR_NONE);
    ck_assert_int_eq(r->status, RW_HGS_OFFER);
    ck_assert_str_eq(r->agents[0].user, "ann");     /* rrmemory: after ben comes ann again */
    rw_announcer_destroy(&ann);
    rw_pub_destroy(&pub);
    rw_aredis_destroy(&ar);
}
END_TEST

/* weighted_random through the bus: 10,000 decisions, the two instances taking turns (each
 * seeds its own random numbers). Weights 2 and 3: each agent's count within 5 % of its share
 * (4,000 and 6,000) is more than 4 standard deviations wide, so a fair draw fails it less than
 * once in 20,000 runs; a wrong draw (uniform, or one instance ignoring weights) fails it. */
START_TEST(test_weighted_random_over_10000_decisions_two_instances)
{
    static rw_group_t g;
    char err[300], call[24];
    const uint32_t w[2] = { 2, 3 };
    const char *who[2] = { "ann", "ben" };
    unsigned got[2] = { 0, 0 };
    ck_assert_int_eq(rw_dir_group_get(dir, "desk", &g), 0);
    g.strategy = RW_HG_WEIGHTED_RANDOM;
    g.n_members = 2;
    for (int k = 0; k < 2; k++) {
        rw_group_member_defaults(&g.members[k], who[k]);
        g.members[k].weight = w[k];
    }
    ck_assert_msg(rw_dir_group_put(dir, &rw_numplan_uk, &g, err, sizeof err) == 0, "%s", err);
    login(c1, "ann");
    login(c2, "ben");
    for (int n = 0; n < 10000; n++) {
        snprintf(call, sizeof call, "w%d", n);
        rw_hg_reply_t *r = ask(n % 2 ? c2 : c1, RW_HGOP_NEXT, call, NULL, RW_HGR_NONE);
        ck_assert_int_eq(r->status, RW_HGS_OFFER);
        ck_assert_int_eq(r->n_agents, 1);
        int k = !strcmp(r->agents[0].user, "ben");
        ck_assert_msg(k || !strcmp(r->agents[0].user, "ann"), "offered %s", r->agents[0].user);
        got[k]++;
        ck_assert_int_eq(ask(n % 2 ? c1 : c2, RW_HGOP_OUTCOME, call, "", RW_HGR_CALLER_GONE)->status, RW_HGS_DONE);
    }
    printf("weighted_random over 10000 decisions, two instances: ann (2) %u, ben (3) %u\n", got[0], got[1]);
    for (int k = 0; k < 2; k++) {
        double share = 10000.0 * w[k] / 5.0;
        ck_assert_msg(got[k] >= share * 0.95 && got[k] <= share * 1.05, "%s: %u, share %.0f", who[k], got[k], share);
    }
}
END_TEST

/* ---- the CLI's events: leased, published, released ------------------------------------- */
typedef struct {
    int probes, taken_over;
} cli_seen_t;

static void on_agent_state(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    cli_seen_t *s = arg;
    (void) st;
    if (strcmp(ev->type, "queue.agent_state") || strcmp(ev->queue.group, "desk"))
        return;
    s->probes += !strcmp(ev->queue.agent, "ann");
    s->taken_over += !strcmp(ev->queue.agent, "cat") && !strcmp(ev->queue.state, "paused");
}

static long long redis_int(const char *cmd)
{
    redisReply *r = rw_redis_command(dir, cmd);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

START_TEST(test_cli_event_leased_by_a_killed_instance_is_published)
{
    static const char probe[] = "[\"queue.agent_state\",\"desk\",\"ann\",\"available\",\"\",\"0\",\"0\"]";
    cli_seen_t seen = { 0, 0 };
    rw_sub_t *sub = rw_sub_new(root, on_agent_state, &seen, NULL);
    ck_assert_ptr_nonnull(sub);
    ck_assert_int_eq(rw_sub_connect(sub, h1.pub), 0);
    ck_assert_int_eq(rw_sub_connect(sub, h2.pub), 0);
    ck_assert_int_eq(rw_sub_subscribe(sub, "queue."), 0);
    /* ZeroMQ's slow joiner: the CLI's events (as dir_groups.c appends them) until one arrives */
    uint64_t end = rw_clock_mono_ms() + 15000ull * rw_proc_wrap_scale();
    while (!seen.probes && rw_clock_mono_ms() < end) {
        redisReply *r = rw_redis_command(dir, "RPUSH rw:hg:events %s", probe);
        ck_assert_ptr_nonnull(r);
        freeReplyObject(r);
        run_loop_ms(300);
    }
    ck_assert_msg(seen.probes > 0, "no queue.agent_state of a CLI change published");
    /* what an instance killed between lease and release leaves: an event under a lease that
     * ended long ago (score: its end, ms of Redis's clock) */
    redisReply *r = rw_redis_command(dir, "ZADD rw:hg:events:leased 1 %s",
                                     "900000 [\"queue.agent_state\",\"desk\",\"cat\",\"paused\",\"\",\"0\",\"0\"]");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    end = rw_clock_mono_ms() + 10000ull * rw_proc_wrap_scale();
    while ((!seen.taken_over || redis_int("ZCARD rw:hg:events:leased") != 0) && rw_clock_mono_ms() < end)
        run_loop_ms(50);
    ck_assert_msg(seen.taken_over == 1, "the leased event was published %d times", seen.taken_over);
    ck_assert_int_eq(redis_int("ZCARD rw:hg:events:leased"), 0);   /* every lease released */
    ck_assert_int_eq(redis_int("LLEN rw:hg:events"), 0);
    rw_sub_destroy(&sub);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("huntgroup");
    TCase *tc = tcase_create("huntgroup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_two_instances_never_double_offer);
    tcase_add_test(tc, test_kill_9_of_the_instance_holding_5_callers);
    tcase_add_test(tc, test_agent_on_own_call_skipped_from_call_events);
    tcase_add_test(tc, test_events_metrics_bad_request_sigterm);
    tcase_add_test(tc, test_cli_event_leased_by_a_killed_instance_is_published);
    tcase_add_test(tc, test_weighted_random_over_10000_decisions_two_instances);
    tcase_add_test(tc, test_callers_are_held_while_redis_is_away_and_keep_their_place);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
