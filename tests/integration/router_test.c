/* tests/integration/router_test.c — the real ringway-router binary against a real redis-server,
 * asked over real ZeroMQ sockets: plans for users in the directory, not-found, Redis away and
 * back, two instances with one killed, health, metrics and a clean SIGTERM. */
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
#include "directory/directory.h"
#include "protocols/route.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

typedef struct {
    pid_t pid;
    int http_port, bus_port;
    char endpoint[64];
} router_proc_t;

static rw_redis_fixture_t redis;
static char logdir[256];

static void load_directory(void)
{
    char path[512], err[512];
    int n = 0;
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = redis.port };
    rw_redis_t *r = rw_redis_new(&o);
    snprintf(path, sizeof path, "%s/compose/demo-directory.json", getenv("RINGWAY_SOURCE_DIR"));
    ck_assert_msg(rw_dir_import_file(r, &rw_numplan_uk, path, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_int_ge(n, 4);
    rw_redis_destroy(&r);
}

static char pub_env[96] = "RINGWAY_BUS_PUB=tcp://127.0.0.1:0";


static void start_router(router_proc_t *rp, const char *name)
{
    char bin[512], log[400], e_http[64], e_bind[96], e_redis[64], e_inst[64];
    rp->http_port = rw_proc_free_port();
    rp->bus_port = rw_proc_free_port();
    snprintf(rp->endpoint, sizeof rp->endpoint, "tcp://127.0.0.1:%d", rp->bus_port);
    snprintf(e_http, sizeof e_http, "RINGWAY_HTTP_PORT=%d", rp->http_port);
    snprintf(e_bind, sizeof e_bind, "RINGWAY_ROUTER_BIND=%s", rp->endpoint);
    snprintf(e_redis, sizeof e_redis, "RINGWAY_REDIS_PORT=%d", redis.port);
    snprintf(e_inst, sizeof e_inst, "RINGWAY_INSTANCE=%s", name);
    snprintf(log, sizeof log, "%s/%s.log", logdir, name);
    const char *argv[] = { rw_proc_build_path("services/router/ringway-router", bin, sizeof bin), NULL };
    char e_cmd[64];
    snprintf(e_cmd, sizeof e_cmd, "RINGWAY_REDIS_COMMAND_TIMEOUT_MS=%u", 200 * rw_proc_wrap_scale());
    const char *env[] = { e_http, e_bind, e_redis, e_inst, e_cmd, pub_env, NULL };
    rp->pid = rw_proc_spawn(argv, env, log);
    ck_assert_int_gt(rp->pid, 0);
    ck_assert_msg(rw_proc_wait_http(rp->http_port, "/health", 5000) == 0, "router %s not healthy", name);
}

static void setup(void)
{
    snprintf(logdir, sizeof logdir, "%s/rw-router-it-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(logdir));
    ck_assert_int_eq(rw_redis_fixture_start(&redis), 0);
    load_directory();
    su_init();
}

static void teardown(void)
{
    rw_redis_fixture_stop(&redis);
    su_deinit();
}

/* ---- asking a router over the bus ---------------------------------------------------- */
typedef struct {
    su_root_t *root;
    rw_client_t *cli;
    int done, status;
    uint64_t took_ms;
    rw_plan_t plan;
} asker_t;

static void on_answer(void *arg, int status, const void *body, size_t len)
{
    asker_t *a = arg;
    a->done = 1;
    a->status = status ? status : rw_proto_plan_decode(body, len, &a->plan);
}

static void asker_init(asker_t *a, const char *endpoints)
{
    memset(a, 0, sizeof *a);
    a->root = su_root_create(NULL);
    a->cli = rw_client_new(a->root, "router", NULL);
    ck_assert_ptr_nonnull(a->cli);
    ck_assert_int_eq(rw_bus_static_endpoints(a->cli, endpoints), 0);
    for (int i = 0; i < 20; i++)  /* let the connections come up */
        su_root_step(a->root, 10);
}

static void asker_fini(asker_t *a)
{
    rw_client_destroy(&a->cli);
    su_root_destroy(a->root);
}

static int ask_raw(asker_t *a, const void *body, size_t len, unsigned deadline_ms)
{
    uint64_t t0 = rw_clock_mono_ms();
    deadline_ms *= rw_proc_wrap_scale();
    a->done = 0;
    memset(&a->plan, 0, sizeof a->plan);
    ck_assert_int_eq(rw_client_request(a->cli, body, len, deadline_ms, on_answer, a), 0);
    while (!a->done && rw_clock_mono_ms() - t0 < deadline_ms + 2000)
        su_root_step(a->root, 5);
    ck_assert_msg(a->done, "the bus client never called back");
    a->took_ms = rw_clock_mono_ms() - t0;
    return a->status;
}

/* Every request carries a pinned instant, never the machine's clock: the demo directory's
 * rules depend on the weekday and the hour (alice's "workday" rule, Mon-Fri 08:00-18:00). */
#define SUNDAY_0300_LONDON 1796526000000ull    /* 2026-12-06T03:00:00Z, GMT in December */
#define MONDAY_1000_LONDON 1796637600000ull    /* 2026-12-07T10:00:00Z */

static int ask_at(asker_t *a, const char *callee, unsigned deadline_ms, uint64_t time_ms)
{
    rw_route_req_t rq;
    msgpack_sbuffer sb;
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "it-%s-%llu", callee, (unsigned long long) rw_clock_mono_us());
    strcpy(rq.caller, "+441632960999");
    snprintf(rq.callee, sizeof rq.callee, "%s", callee);
    strcpy(rq.source, "device");
    rq.time_ms = time_ms;
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_route_req_encode(&rq, &sb), 0);
    int rc = ask_raw(a, sb.data, sb.size, deadline_ms);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0)
        ck_assert_str_eq(a->plan.call_id, rq.call_id);
    return rc;
}

static int ask(asker_t *a, const char *callee, unsigned deadline_ms)
{
    return ask_at(a, callee, deadline_ms, SUNDAY_0300_LONDON);
}

/* ---- tests --------------------------------------------------------------------------- */
START_TEST(test_extension_and_public_number_route_to_the_users_devices)
{
    router_proc_t rp;
    asker_t a;
    start_router(&rp, "router-a");
    asker_init(&a, rp.endpoint);
    const char *dialled[] = { "2001", "+441632960001", "01632 960001", "00441632960001" };
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(ask(&a, dialled[i], 500), 0);
        ck_assert_int_eq(a.plan.status, RW_PLAN_OK);
        ck_assert_str_eq(a.plan.user, "alice");
        ck_assert_uint_eq(a.plan.n_stages, 1);
        ck_assert_str_eq(a.plan.stages[0].targets[0].aor, "sip:2001@ringway.local");
        ck_assert_int_eq(a.plan.final, RW_FINAL_VOICEMAIL);
        ck_assert_uint_gt(a.plan.n_trace, 0);
    }
    /* The same number in office hours: the "workday" rule rings the softphone, then the mobile. */
    ck_assert_int_eq(ask_at(&a, "2001", 500, MONDAY_1000_LONDON), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_OK);
    ck_assert_uint_eq(a.plan.n_stages, 2);
    ck_assert_str_eq(a.plan.stages[0].targets[0].aor, "sip:2001@ringway.local");
    ck_assert_uint_eq(a.plan.stages[0].ring_ms, 15000);
    ck_assert_int_eq(a.plan.stages[1].targets[0].type, RW_TARGET_NUMBER);
    ck_assert_uint_eq(a.plan.stages[1].ring_ms, 20000);
    ck_assert_int_eq(ask(&a, "2999", 500), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_NOT_FOUND);
    ck_assert_int_eq(ask(&a, "not a number; DROP", 500), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_NOT_FOUND);
    /* A malformed request gets an error plan, and the router goes on serving. */
    ck_assert_int_eq(ask_raw(&a, "\x93\x01\x02", 3, 500), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_ERROR);
    ck_assert_int_eq(ask(&a, "2002", 500), 0);
    ck_assert_str_eq(a.plan.user, "bob");

    char body[65536];
    int status = 0;
    ck_assert_int_eq(rw_proc_http_get(rp.http_port, "/metrics", &status, body, sizeof body), 0);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(strstr(body, "ringway_router_decisions_total{result=\"ok\"} 6"));
    ck_assert_ptr_nonnull(strstr(body, "ringway_router_decisions_total{result=\"not_found\"} 2"));
    ck_assert_ptr_nonnull(strstr(body, "ringway_router_bad_requests_total 1"));
    asker_fini(&a);
    ck_assert_int_eq(rw_proc_stop(rp.pid, 5000), 0);
}
END_TEST

START_TEST(test_redis_away_gives_an_error_plan_at_once_and_recovers)
{
    router_proc_t rp;
    asker_t a;
    int status = 0;
    start_router(&rp, "router-r");
    asker_init(&a, rp.endpoint);
    ck_assert_int_eq(ask(&a, "2003", 500), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_OK);

    rw_redis_fixture_kill(&redis);
    ck_assert_int_eq(ask(&a, "2003", 1000), 0);
    ck_assert_int_eq(a.plan.status, RW_PLAN_ERROR);     /* answered, not timed out */
    ck_assert_uint_lt(a.took_ms, 500 * rw_proc_wrap_scale());
    usleep(300000);
    ck_assert_int_eq(rw_proc_http_get(rp.http_port, "/health", &status, NULL, 0), 0);
    ck_assert_int_eq(status, 503);

    ck_assert_int_eq(rw_redis_fixture_restart(&redis), 0);
    load_directory();
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {                /* reconnect with back-off */
        ok = ask(&a, "2003", 500) == 0 && a.plan.status == RW_PLAN_OK;
        if (!ok)
            usleep(100000);
    }
    ck_assert_msg(ok, "router did not recover after Redis came back");
    ck_assert_str_eq(a.plan.user, "carol");
    ck_assert_int_eq(rw_proc_wait_http(rp.http_port, "/health", 3000), 0);
    asker_fini(&a);
    ck_assert_int_eq(rw_proc_stop(rp.pid, 5000), 0);
}
END_TEST

START_TEST(test_killing_one_of_two_routers_loses_no_request)
{
    router_proc_t r1, r2;
    asker_t a;
    char eps[160];
    start_router(&r1, "router-1");
    start_router(&r2, "router-2");
    snprintf(eps, sizeof eps, "%s,%s", r1.endpoint, r2.endpoint);
    asker_init(&a, eps);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(ask(&a, "2004", 200), 0);
        ck_assert_str_eq(a.plan.user, "dev");
    }
    kill(r1.pid, SIGKILL);
    waitpid(r1.pid, NULL, 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(ask(&a, "2004", 200), 0);
        ck_assert_int_eq(a.plan.status, RW_PLAN_OK);
        ck_assert_uint_le(a.took_ms, 250 * rw_proc_wrap_scale());
    }
    asker_fini(&a);
    ck_assert_int_eq(rw_proc_stop(r2.pid, 5000), 0);
}
END_TEST

START_TEST(test_router_announces_itself_in_the_registry)
{
    router_proc_t rp;
    start_router(&rp, "router-reg");
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = redis.port };
    rw_redis_t *r = rw_redis_new(&o);
    redisReply *rep = NULL;
    int found = 0;
    for (int i = 0; i < 40 && !found; i++) {
        rep = rw_redis_command(r, "ZRANGE rw:svc:router 0 -1");
        for (size_t k = 0; rep && rep->type == REDIS_REPLY_ARRAY && k < rep->elements; k++)
            found |= strstr(rep->element[k]->str, "router-reg|") && strstr(rep->element[k]->str, rp.endpoint);
        if (rep)
            freeReplyObject(rep);
        if (!found)
            usleep(50000);
    }
    ck_assert_msg(found, "router-reg never appeared in rw:svc:router");
    ck_assert_int_eq(rw_proc_stop(rp.pid, 5000), 0);
    rw_redis_destroy(&r);
}
END_TEST

typedef struct {
    int seen;
    char user[64], what[64], publisher[64];
} dir_events_t;

static void on_dir_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    dir_events_t *e = arg;
    (void) st;
    if (strcmp(ev->type, "directory.changed") || strcmp(ev->directory.user, "dev"))
        return;
    e->seen++;
    snprintf(e->user, sizeof e->user, "%s", ev->directory.user);
    snprintf(e->what, sizeof e->what, "%s", ev->directory.what);
    snprintf(e->publisher, sizeof e->publisher, "%s", ev->publisher);
}

/* Two routers publishing, a subscriber to both, the import's changes announced and gone by. */
typedef struct {
    router_proc_t r1, r2;
    su_root_t *root;
    rw_sub_t *sub;
    rw_redis_t *r;
    dir_events_t got;
    unsigned scale;                  /* routers under valgrind are slower */
} announce_t;

static long long redis_int(rw_redis_t *r, const char *cmd)
{
    redisReply *rep = rw_redis_command(r, cmd);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    return n;
}

static void announce_start(announce_t *a)
{
    int pub1 = rw_proc_free_port(), pub2 = rw_proc_free_port();
    char ep1[64], ep2[64];
    memset(a, 0, sizeof *a);
    a->scale = rw_proc_wrap_scale();
    snprintf(ep1, sizeof ep1, "tcp://127.0.0.1:%d", pub1);
    snprintf(ep2, sizeof ep2, "tcp://127.0.0.1:%d", pub2);
    snprintf(pub_env, sizeof pub_env, "RINGWAY_BUS_PUB=%s", ep1);
    start_router(&a->r1, "router-p1");
    snprintf(pub_env, sizeof pub_env, "RINGWAY_BUS_PUB=%s", ep2);
    start_router(&a->r2, "router-p2");
    snprintf(pub_env, sizeof pub_env, "RINGWAY_BUS_PUB=tcp://127.0.0.1:0");
    a->root = su_root_create(NULL);
    a->sub = rw_sub_new(a->root, on_dir_event, &a->got, NULL);
    ck_assert_int_eq(rw_sub_connect(a->sub, ep1), 0);
    ck_assert_int_eq(rw_sub_connect(a->sub, ep2), 0);
    ck_assert_int_eq(rw_sub_subscribe(a->sub, "directory."), 0);
    for (int i = 0; i < 30; i++)       /* let the subscriptions reach both publishers */
        su_root_step(a->root, 10);
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = redis.port };
    a->r = rw_redis_new(&o);
    /* The import queued every user: let the routers work through it first. */
    for (unsigned i = 0; i < 100 * a->scale; i++) {
        long long left = redis_int(a->r, "LLEN rw:dir:changes") + redis_int(a->r, "ZCARD rw:dir:changes:leased");
        su_root_step(a->root, 20);
        if (left == 0)
            break;
    }
    for (int i = 0; i < 25; i++)       /* and let their events go by */
        su_root_step(a->root, 20);
    a->got.seen = 0;
}

/* Until dev's change was announced, then as long again for a second (wrong) one; the lease is
 * released by then. */
static void announce_wait(announce_t *a)
{
    uint64_t t0 = rw_clock_mono_ms();
    while (a->got.seen == 0 && rw_clock_mono_ms() - t0 < 5000 * a->scale)
        su_root_step(a->root, 20);
    for (unsigned i = 0; i < 25 * a->scale; i++)
        su_root_step(a->root, 20);
    for (unsigned i = 0; i < 100 * a->scale && redis_int(a->r, "ZCARD rw:dir:changes:leased") != 0; i++)
        su_root_step(a->root, 20);
}

static void announce_stop(announce_t *a)
{
    rw_redis_destroy(&a->r);
    rw_sub_destroy(&a->sub);
    su_root_destroy(a->root);
    ck_assert_int_eq(rw_proc_stop(a->r1.pid, 5000), 0);
    ck_assert_int_eq(rw_proc_stop(a->r2.pid, 5000), 0);
}

/* A directory change is announced (directory.changed) by exactly one of two routers, and
 * neither the change list nor a lease is left behind. */
START_TEST(test_a_change_is_published_once)
{
    announce_t a;
    announce_start(&a);
    ck_assert_int_eq(rw_dir_changed(a.r, "dev"), 0);
    announce_wait(&a);
    ck_assert_int_eq(a.got.seen, 1);
    ck_assert_str_eq(a.got.user, "dev");
    ck_assert_str_eq(a.got.what, "updated");
    ck_assert_int_eq(redis_int(a.r, "LLEN rw:dir:changes"), 0);
    ck_assert_int_eq(redis_int(a.r, "ZCARD rw:dir:changes:leased"), 0);
    announce_stop(&a);
}
END_TEST

/* A router killed after taking a change and before announcing it leaves a lease that runs
 * out (here: one that ended long ago, as the dead router left it): a live router announces
 * the change and releases the lease. No change is lost. */
START_TEST(test_a_change_taken_by_a_killed_router_is_still_published)
{
    announce_t a;
    announce_start(&a);
    redisReply *rep = rw_redis_command(a.r, "ZADD rw:dir:changes:leased 1 dev");
    ck_assert(rep && rep->type == REDIS_REPLY_INTEGER);
    freeReplyObject(rep);
    announce_wait(&a);
    ck_assert_int_eq(a.got.seen, 1);
    ck_assert_str_eq(a.got.user, "dev");
    ck_assert_int_eq(redis_int(a.r, "ZCARD rw:dir:changes:leased"), 0);
    announce_stop(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_integration");
    TCase *tc = tcase_create("router");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_extension_and_public_number_route_to_the_users_devices);
    tcase_add_test(tc, test_redis_away_gives_an_error_plan_at_once_and_recovers);
    tcase_add_test(tc, test_killing_one_of_two_routers_loses_no_request);
    tcase_add_test(tc, test_router_announces_itself_in_the_registry);
    tcase_add_test(tc, test_a_change_is_published_once);
    tcase_add_test(tc, test_a_change_taken_by_a_killed_router_is_still_published);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
