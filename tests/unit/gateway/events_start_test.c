/* tests/unit/gateway/events_start_test.c — the event hub follows the bus from the moment Redis
 * connects. A publisher of queue.* events is announced in a real redis-server under
 * "huntgroup.events"; the hub is created while its own Redis connection is still coming up
 * (as in the gateway, which starts the hub right after the service) with a registry poll of
 * 10 minutes, and a reader opens at once. The reader must see a queue event published after
 * that: only a registry read made when the connection came up can tell the hub where the
 * publisher is. A second case starts the hub on a connection that is already up. */
#include <sofia-sip/su_wait.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/log.h"
#include "services/gateway/events.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

#define POLL_MS 600000u     /* the watchers' own poll never comes within the test */
#define WAIT_MS 10000u      /* bound on every wait, scaled under RINGWAY_WRAP */

static su_root_t *root;
static rw_redis_fixture_t fx;
static rw_aredis_t *announcer_redis;
static rw_pub_t *pub;
static rw_announcer_t *ann;

static rw_aredis_t *connect_redis(void)
{
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .backoff_max_ms = 200 };
    return rw_aredis_new(root, &o);
}

static uint64_t deadline(void)
{
    return rw_clock_mono_ms() + (uint64_t) WAIT_MS * rw_proc_wrap_scale();
}

static void on_zcard(void *arg, redisReply *r)
{
    long long *n = arg;
    *n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

static void setup(void)
{
    rw_log_init("gateway-test", "t1", RW_LOG_ERROR);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    announcer_redis = rw_redis_fixture_client(&fx, root);
    ck_assert_ptr_nonnull(announcer_redis);
    pub = rw_pub_new(root, "hg-test", "tcp://127.0.0.1:0");
    ck_assert_ptr_nonnull(pub);
    ann = rw_announcer_new(root, announcer_redis, "huntgroup.events", "hg1", rw_pub_endpoint(pub), 30000);
    ck_assert_ptr_nonnull(ann);
    /* the publisher is in the registry before the hub exists */
    long long n = 0;
    uint64_t end = deadline();
    while (n != 1 && rw_clock_mono_ms() < end) {
        long long got = -2;
        ck_assert_int_eq(rw_aredis_command(announcer_redis, on_zcard, &got, "ZCARD rw:svc:huntgroup.events"), 0);
        while (got == -2 && rw_clock_mono_ms() < end)
            su_root_step(root, 10);
        n = got;
    }
    ck_assert_int_eq((int) n, 1);
}

static void teardown(void)
{
    rw_announcer_destroy(&ann);
    rw_pub_destroy(&pub);
    rw_aredis_destroy(&announcer_redis);
    rw_redis_fixture_stop(&fx);
    su_root_destroy(root);
    root = NULL;
    su_deinit();
}

/* Publishes queue.joined for sales every 20 ms (a new subscriber's connection takes a moment
 * to reach the publisher) until the reader sees one, or the bound. The call id seen, or "". */
static void publish_until_seen(gw_events_reader_t *r, char *seen, size_t len)
{
    seen[0] = '\0';
    uint64_t end = deadline(), next = 0;
    unsigned i = 0;
    while (rw_clock_mono_ms() < end) {
        if (rw_clock_mono_ms() >= next) {
            rw_event_t ev;
            rw_proto_event_init(&ev, "queue.joined");
            snprintf(ev.queue.group, sizeof ev.queue.group, "sales");
            snprintf(ev.queue.call_id, sizeof ev.queue.call_id, "c%u", i++);
            ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
            next = rw_clock_mono_ms() + 20;
        }
        su_root_step(root, 5);
        gw_events_note_t note;
        if (gw_events_wait(r, 0, &note, NULL) == 1) {
            ck_assert_str_eq(note.type, "queue.joined");
            ck_assert_str_eq(note.group, "sales");
            ck_assert_uint_lt(strlen(note.call_id), len);
            memcpy(seen, note.call_id, strlen(note.call_id) + 1);
            return;
        }
    }
}

static void run_hub(rw_aredis_t *redis)
{
    gw_events_opts_t o = { .queue_events = "huntgroup.events", .presence_events = "", .call_events = "",
                           .poll_ms = POLL_MS };
    gw_events_t *hub = gw_events_new(root, redis, NULL, &o);
    ck_assert_ptr_nonnull(hub);
    gw_events_reader_t *r = gw_events_reader_new(hub, "sales");
    ck_assert_ptr_nonnull(r);
    char seen[64];
    publish_until_seen(r, seen, sizeof seen);
    ck_assert_msg(seen[0], "the hub never followed the announced publisher");
    gw_events_reader_destroy(&r);
    gw_events_close(hub);
    gw_events_destroy(&hub);
    ck_assert_ptr_null(gw_events_hub());
}

START_TEST(hub_follows_once_redis_connects)
{
    rw_aredis_t *redis = connect_redis();
    ck_assert_ptr_nonnull(redis);
    ck_assert(!rw_aredis_connected(redis));     /* the hub starts before the connection is up */
    run_hub(redis);
    rw_aredis_destroy(&redis);
}
END_TEST

START_TEST(hub_follows_on_a_connected_redis)
{
    rw_aredis_t *redis = connect_redis();
    ck_assert_ptr_nonnull(redis);
    uint64_t end = deadline();
    while (!rw_aredis_connected(redis) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert(rw_aredis_connected(redis));
    run_hub(redis);
    rw_aredis_destroy(&redis);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("events_start");
    TCase *tc = tcase_create("start");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hub_follows_once_redis_connects);
    tcase_add_test(tc, hub_follows_on_a_connected_redis);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
