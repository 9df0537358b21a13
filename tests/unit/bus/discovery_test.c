/* tests/unit/bus/discovery_test.c — instance discovery against a real redis-server.
 * Proves static lists are parsed, an announced instance reaches a watcher (and its client),
 * an instance whose heartbeat stops (its process killed, role "announce" of this binary)
 * leaves the view after its TTL, a clean shutdown leaves at once, and a watcher keeps its
 * last view while Redis is down, then follows the registry again when Redis is back. */
#include <sofia-sip/su_wait.h>
#include <check.h>
#include <stdlib.h>

#include "bus/bus.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/harness/redis_fixture.h"
#include "tests/unit/bus/bus_test_util.h"

#define TTL_MS 600

static su_root_t *root;
static rw_redis_fixture_t fx;
static rw_aredis_t *redis;

static rw_aredis_t *connect_redis(int port)
{
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = port, .backoff_max_ms = 200 };
    return rw_aredis_new(root, &o);
}

static void setup(void)
{
    rw_log_init("bus-test", "t1", RW_LOG_ERROR);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    redis = connect_redis(fx.port);
    ck_assert_ptr_nonnull(redis);
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (!rw_aredis_connected(redis) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert(rw_aredis_connected(redis));
}

static void teardown(void)
{
    rw_aredis_destroy(&redis);
    rw_redis_fixture_stop(&fx);
    su_root_destroy(root);
    root = NULL;
    su_deinit();
}

/* bus-child --bus-child announce <redis port> <instance> <endpoint>: heartbeat until killed. */
static int child_main(char **argv)
{
    if (strcmp(argv[2], "announce") != 0)
        return 2;
    su_init();
    root = su_root_create(NULL);
    rw_aredis_t *r = connect_redis(atoi(argv[3]));
    rw_announcer_t *a = rw_announcer_new(root, r, "router", argv[4], argv[5], TTL_MS);
    if (!a)
        return 3;
    su_root_run(root);
    return 0;
}

static rw_announcer_t *announce(const char *service, const char *instance, const char *ep)
{
    rw_announcer_t *a = rw_announcer_new(root, redis, service, instance, ep, TTL_MS);
    ck_assert_ptr_nonnull(a);
    return a;
}

typedef struct {
    int changes;
    size_t n;
    char first[128];
} view_t;

static void on_view(void *arg, const char *const *eps, size_t n)
{
    view_t *v = arg;
    v->changes++;
    v->n = n;
    snprintf(v->first, sizeof v->first, "%s", n ? eps[0] : "");
}

/* Steps the loop until the watcher's view has `want` endpoints; returns the time it took. */
static uint64_t wait_view(rw_watcher_t *w, size_t want, unsigned timeout_ms)
{
    uint64_t start = rw_clock_mono_ms(), end = start + timeout_ms;
    while (rw_watcher_count(w) != want && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert_uint_eq(rw_watcher_count(w), want);
    return rw_clock_mono_ms() - start;
}

START_TEST(test_static_lists_are_split_and_trimmed)
{
    const struct {
        const char *list;
        size_t count;
        int rc;
    } cases[] = {
        { "tcp://127.0.0.1:7001,tcp://127.0.0.1:7002", 2, 0 },
        { " tcp://127.0.0.1:7001 , tcp://127.0.0.1:7002 ,", 2, 0 },
        { "tcp://127.0.0.1:7001,tcp://127.0.0.1:7001", 1, 0 },
        { "", 0, 0 },
        { " , ,", 0, 0 },
        { "tcp://127.0.0.1:7001,nonsense", 1, RW_EINVAL },
    };
    rw_client_t *cli = rw_client_new(root, "router", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(rw_bus_static_endpoints(cli, cases[i].list), cases[i].rc);
        ck_assert_uint_eq(rw_client_endpoint_count(cli), cases[i].count);
    }
    ck_assert_int_eq(rw_bus_static_endpoints(cli, NULL), RW_EINVAL);
    rw_client_destroy(&cli);
}
END_TEST

START_TEST(test_bus_config_keys_load_with_defaults_and_environment)
{
    rw_config_t *cfg = rw_config_new();
    char err[200];
    ck_assert_int_eq(rw_config_add_spec(cfg, rw_bus_cfg_spec), 0);
    setenv("RINGWAY_BUS_DISCOVERY_TTL_MS", "1500", 1);
    ck_assert_int_eq(rw_config_load(cfg, NULL, err, sizeof err), 0);
    unsetenv("RINGWAY_BUS_DISCOVERY_TTL_MS");
    ck_assert_str_eq(rw_config_str(cfg, "bus.pub"), "tcp://127.0.0.1:0");
    ck_assert_int_eq(rw_config_int(cfg, "bus.discovery_ttl_ms"), 1500);
    ck_assert_int_eq(rw_config_int(cfg, "bus.discovery_poll_ms"), 500);
    ck_assert_int_eq(rw_config_set(cfg, "bus.discovery_ttl_ms", "100", err, sizeof err), RW_EINVAL);
    rw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_announced_instance_reaches_watcher_and_client)
{
    rw_client_t *cli = rw_client_new(root, "router", NULL);
    view_t v = { 0 };
    rw_watcher_t *w = rw_watcher_new(root, redis, "router", 100, cli, on_view, &v);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_null(rw_announcer_new(root, redis, "router", "r|1", "tcp://x:1", TTL_MS));
    ck_assert_ptr_null(rw_announcer_new(root, redis, "router", "r1", "tcp://x:1", 100));
    rw_announcer_t *a = announce("router", "r1", "tcp://127.0.0.1:7001");
    rw_announcer_t *b = announce("router", "r2", "tcp://127.0.0.1:7002");
    rw_announcer_t *other = announce("huntgroup", "h1", "tcp://127.0.0.1:7009");
    wait_view(w, 2, 3000);
    ck_assert_str_eq(rw_watcher_endpoint(w, 0), "tcp://127.0.0.1:7001");
    ck_assert_str_eq(rw_watcher_endpoint(w, 1), "tcp://127.0.0.1:7002");
    ck_assert_ptr_null(rw_watcher_endpoint(w, 2));
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 2);
    ck_assert_uint_eq(v.n, 2);

    /* Heartbeats keep them there well past the TTL; the view does not flap. */
    int changes = v.changes;
    run_for(root, 3 * TTL_MS);
    ck_assert_int_eq(v.changes, changes);

    /* A clean shutdown leaves at once (well before the TTL). */
    rw_announcer_destroy(&a);
    ck_assert_ptr_null(a);
    ck_assert_uint_le(wait_view(w, 1, 3000), TTL_MS);
    ck_assert_str_eq(v.first, "tcp://127.0.0.1:7002");
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 1);
    rw_announcer_destroy(&b);
    rw_announcer_destroy(&other);
    rw_watcher_destroy(&w);
    rw_client_destroy(&cli);
}
END_TEST

START_TEST(test_instance_whose_heartbeat_stops_leaves_after_ttl)
{
    char port[16];
    snprintf(port, sizeof port, "%d", fx.port);
    pid_t child = spawn_role("announce", port, "r9", "tcp://127.0.0.1:7009");
    view_t v = { 0 };
    rw_watcher_t *w = rw_watcher_new(root, redis, "router", 100, NULL, on_view, &v);
    wait_view(w, 1, 5000);
    ck_assert_str_eq(v.first, "tcp://127.0.0.1:7009");
    kill_role(&child, SIGKILL);               /* no ZREM: only the TTL can remove it */
    uint64_t took = wait_view(w, 0, 5000);
    ck_assert_uint_ge(took, TTL_MS / 3);      /* it lingered until its last expiry... */
    ck_assert_uint_le(took, TTL_MS + 500);    /* ...and not much longer */
    rw_watcher_destroy(&w);
}
END_TEST

START_TEST(test_watcher_keeps_last_view_while_redis_is_down)
{
    rw_client_t *cli = rw_client_new(root, "router", NULL);
    view_t v = { 0 };
    rw_watcher_t *w = rw_watcher_new(root, redis, "router", 100, cli, on_view, &v);
    rw_announcer_t *a = announce("router", "r1", "tcp://127.0.0.1:7001");
    wait_view(w, 1, 3000);
    int changes = v.changes;

    rw_redis_fixture_kill(&fx);
    run_for(root, 3 * TTL_MS);                /* far beyond the TTL */
    ck_assert_uint_eq(rw_watcher_count(w), 1);
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 1);
    ck_assert_int_eq(v.changes, changes);

    /* Redis comes back empty; the heartbeat re-announces and the view follows again. */
    ck_assert_int_eq(rw_redis_fixture_restart(&fx), 0);
    rw_announcer_t *b = NULL;
    uint64_t end = rw_clock_mono_ms() + 10000;
    while (!rw_aredis_connected(redis) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    b = announce("router", "r2", "tcp://127.0.0.1:7002");
    wait_view(w, 2, 5000);
    rw_announcer_destroy(&a);
    rw_announcer_destroy(&b);
    wait_view(w, 0, 3000);
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 0);
    rw_watcher_destroy(&w);
    rw_client_destroy(&cli);
}
END_TEST

START_TEST(test_watcher_destroyed_with_a_read_in_flight)
{
    rw_watcher_t *w = rw_watcher_new(root, redis, "router", 100, NULL, NULL, NULL);
    rw_watcher_destroy(&w);                   /* the first read was sent at creation */
    run_for(root, 200);                       /* its reply arrives and is ignored */
    ck_assert_ptr_null(w);
}
END_TEST

static Suite *discovery_suite(void)
{
    Suite *s = suite_create("bus_discovery");
    TCase *tc = tcase_create("discovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_static_lists_are_split_and_trimmed);
    tcase_add_test(tc, test_bus_config_keys_load_with_defaults_and_environment);
    tcase_add_test(tc, test_announced_instance_reaches_watcher_and_client);
    tcase_add_test(tc, test_instance_whose_heartbeat_stops_leaves_after_ttl);
    tcase_add_test(tc, test_watcher_keeps_last_view_while_redis_is_down);
    tcase_add_test(tc, test_watcher_destroyed_with_a_read_in_flight);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], BUS_CHILD_FLAG) == 0)
        return child_main(argv);
    SRunner *sr = srunner_create(discovery_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
