/* tests/unit/gateway/res_supervisor_test.c — the wallboard resources and the event hub, against
 * a real redis-server: the live board of a group with a waiting caller (its wait from the time it
 * joined), its supervisor 200 and another group's 403; stats per interval; the hub's ring (a
 * reader sees only notes after it started, only its group's queue notes and every presence
 * note, skips ahead when it fell more than the ring behind, ends when the hub closes, a waiting
 * reader is woken by a feed from another thread); and the SSE stream: a snapshot first, then one
 * message with the new board per event of the group or presence change of a member. */
#include "tests/unit/gateway/res_harness.h"

#include <pthread.h>
#include <time.h>

#include "common/clock.h"
#include "directory/dir_board.h"
#include "directory/dir_groups.h"
#include "services/gateway/events.h"

#define GROUP(id, ext) "{\"id\":\"" id "\",\"ext\":\"" ext "\",\"members\":[{\"user\":\"alice\"},{\"user\":\"bob\"}]}"

static void setup(void)
{
    res_setup_redis();
    add_user("alice", "2001", "+447700900001");
    add_user("bob", "2002", "+447700900002");
    gw_identity_t admin = who_admin();
    gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP("sales", "3001"), NULL, NULL);
    ck_assert_int_eq(a.status, 201);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP("support", "3002"), NULL, NULL);
    ck_assert_int_eq(a.status, 201);
    res_free(&a);
}

static void queue_event(rw_event_t *ev, const char *type, const char *group, const char *call)
{
    rw_proto_event_init(ev, type);
    snprintf(ev->queue.group, sizeof ev->queue.group, "%s", group);
    snprintf(ev->queue.call_id, sizeof ev->queue.call_id, "%s", call);
}

/* A caller waiting in sales since 5 s ago, as the decision script leaves it. */
static void caller_waits(const char *call)
{
    uint64_t joined = rw_clock_wall_ms() - 5000;
    freeReplyObject(rw_redis_command(r, "ZADD rw:hg:q:sales 1000000000001 %s", call));
    freeReplyObject(rw_redis_command(r, "HSET rw:hg:call:%s group sales caller +441632960999 joined %llu", call,
                                     (unsigned long long) joined));
}

START_TEST(live_board_and_rights)
{
    gw_identity_t sup = who_supervisor("carol", "sales");
    caller_waits("c1");
    gw_resp_t a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/live", &sup, NULL, NULL, "sales", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_int_eq((int) json_integer_value(json_object_get(a.json, "waiting")), 1);
    json_t *c = json_array_get(json_object_get(a.json, "callers"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "caller")), "+441632960999");
    ck_assert_int_ge((int) json_integer_value(json_object_get(c, "wait_ms")), 5000);
    ck_assert_int_ge((int) json_integer_value(json_object_get(a.json, "longest_wait_ms")), 5000);
    ck_assert_int_eq((int) json_integer_value(json_object_get(json_object_get(a.json, "agents_by_state"),
                                                              "logged_out")), 2);
    res_free(&a);
    a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/live", &sup, NULL, NULL, "support", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/events", &sup, NULL, NULL, "support", NULL);
    ck_assert_int_eq(a.status, 403);
    ck_assert_ptr_null(a.stream);
    res_free(&a);
    gw_identity_t admin = who_admin();
    a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/live", &admin, NULL, NULL, "nogroup", NULL);
    ck_assert_int_eq(a.status, 404);
    res_free(&a);
}
END_TEST

START_TEST(stats_per_interval)
{
    gw_identity_t sup = who_supervisor("carol", "sales");
    uint64_t start = 1796000000000ull - 1796000000000ull % RW_HG_INTERVAL_MS;
    freeReplyObject(rw_redis_command(r, "HSET rw:hg:stats:sales:%llu answered 4 answered_sl 3 abandoned 2",
                                     (unsigned long long) start));
    gw_resp_t a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/stats", &sup, NULL, NULL, "sales", NULL);
    ck_assert_int_eq(a.status, 200);                   /* no ?interval: the current one */
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "items")), 1);
    res_free(&a);
    json_t *iv = rw_hg_interval(r, "sales", start);
    ck_assert_int_eq((int) json_integer_value(json_object_get(iv, "answered")), 4);
    ck_assert(json_real_value(json_object_get(iv, "sl_pct_answered")) == 75.0);
    ck_assert(json_real_value(json_object_get(iv, "sl_pct_offered")) == 50.0);
    json_decref(iv);
}
END_TEST

typedef struct {
    gw_events_t *hub;
    uint64_t delay_ms;
} feeder_t;

static void *feed_later(void *arg)
{
    feeder_t *f = arg;
    rw_event_t ev;
    /* most likely after the reader parked, showing the wake-up; fed earlier, the reader finds
     * the note at once: the verdict is the same either way */
    struct timespec ts = { 0, (long) f->delay_ms * 1000000L };
    nanosleep(&ts, NULL);
    queue_event(&ev, "queue.joined", "sales", "late");
    gw_events_feed(f->hub, &ev);
    return NULL;
}

START_TEST(hub_ring_and_readers)
{
    gw_events_opts_t o = { .capacity = 4, .call_events = "" };
    gw_events_t *hub = gw_events_new(NULL, NULL, NULL, &o);
    ck_assert_ptr_nonnull(hub);
    ck_assert_ptr_eq(gw_events_hub(), hub);
    ck_assert_ptr_null(gw_events_new(NULL, NULL, NULL, &o));        /* one per process */
    rw_event_t ev;
    gw_events_note_t note;
    uint64_t skipped = 0;
    queue_event(&ev, "queue.joined", "sales", "before");
    gw_events_feed(hub, &ev);
    gw_events_reader_t *sales = gw_events_reader_new(hub, "sales"), *all = gw_events_reader_new(hub, NULL);
    ck_assert_int_eq(gw_events_wait(sales, 0, &note, &skipped), 0);  /* starts after "before" */
    queue_event(&ev, "queue.joined", "support", "other");
    gw_events_feed(hub, &ev);
    rw_proto_event_init(&ev, "presence.changed");
    snprintf(ev.presence.user, sizeof ev.presence.user, "alice");
    gw_events_feed(hub, &ev);
    rw_proto_event_init(&ev, "call.ended");                          /* not the hub's */
    gw_events_feed(hub, &ev);
    ck_assert_int_eq(gw_events_wait(sales, 0, &note, &skipped), 1);
    ck_assert_str_eq(note.type, "presence.changed");
    ck_assert_str_eq(note.user, "alice");
    ck_assert_int_eq(gw_events_wait(sales, 0, &note, &skipped), 0);
    ck_assert_int_eq(gw_events_wait(all, 0, &note, &skipped), 1);
    ck_assert_str_eq(note.call_id, "other");
    /* six more: the ring keeps 4, "all" is one note behind the window and skips ahead */
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        queue_event(&ev, "queue.left", "sales", id);
        gw_events_feed(hub, &ev);
    }
    ck_assert_int_eq(gw_events_wait(all, 0, &note, &skipped), 1);
    ck_assert_str_eq(note.call_id, "n2");
    ck_assert_int_eq((int) skipped, 3);
    /* a parked reader is woken by a feed from another thread */
    pthread_t t;
    feeder_t f = { hub, 100 };
    for (int i = 0; i < 6; i++)
        gw_events_wait(sales, 0, &note, NULL);
    ck_assert_int_eq(pthread_create(&t, NULL, feed_later, &f), 0);
    ck_assert_int_eq(gw_events_wait(sales, 10000, &note, &skipped), 1);
    ck_assert_str_eq(note.call_id, "late");
    pthread_join(t, NULL);
    gw_events_close(hub);
    ck_assert_int_eq(gw_events_wait(sales, 10000, &note, &skipped), -1);
    ck_assert_ptr_null(gw_events_reader_new(hub, "sales"));
    gw_events_reader_destroy(&sales);
    gw_events_reader_destroy(&all);
    gw_events_destroy(&hub);
    ck_assert_ptr_null(gw_events_hub());
}
END_TEST

/* Reads from the stream until a whole message ("\n\n") is in buf or the stream ends. */
static long read_message(gw_resp_t *a, char *buf, size_t len)
{
    size_t at = 0;
    for (int calls = 0; calls < 50 && (at < 2 || strncmp(buf + at - 2, "\n\n", 2)); calls++) {
        long n = a->stream(a->stream_arg, buf + at, len - at - 1);
        if (n < 0)
            return n;
        at += (size_t) n;
        buf[at] = '\0';
    }
    return (long) at;
}

START_TEST(sse_stream_sends_the_board)
{
    gw_identity_t sup = who_supervisor("carol", "sales");
    gw_events_opts_t o = { .call_events = "" };
    gw_events_t *hub = gw_events_new(NULL, NULL, NULL, &o);
    ck_assert_ptr_nonnull(hub);
    gw_resp_t a = res_call(gw_routes_supervisor, "GET", "/api/v1/groups/{id}/events", &sup, NULL, NULL, "sales", NULL);
    ck_assert_msg(a.status == 200 && a.stream, "%d %s", a.status, res_message(&a));
    static char buf[65536];
    /* small reads: a message longer than the buffer continues on the next call */
    char small[16];
    long n = a.stream(a.stream_arg, small, sizeof small);
    ck_assert_int_eq((int) n, (int) sizeof small);
    ck_assert(!strncmp(small, "event: snapshot\n", 16));
    ck_assert_int_gt((int) read_message(&a, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "\"waiting\":0"));
    caller_waits("c9");
    rw_event_t ev;
    queue_event(&ev, "queue.joined", "sales", "c9");
    gw_events_feed(hub, &ev);
    ck_assert_int_gt((int) read_message(&a, buf, sizeof buf), 0);
    ck_assert_msg(!strncmp(buf, "event: queue.joined\ndata: {", 27), "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "\"waiting\":1"));
    ck_assert_ptr_nonnull(strstr(buf, "\"call_id\":\"c9\""));
    /* another group's event, or a non-member's presence: nothing for this stream within one wait */
    queue_event(&ev, "queue.joined", "support", "x");
    gw_events_feed(hub, &ev);
    ck_assert_int_eq((int) a.stream(a.stream_arg, buf, sizeof buf), 0);
    rw_proto_event_init(&ev, "presence.changed");
    snprintf(ev.presence.user, sizeof ev.presence.user, "zoe");
    gw_events_feed(hub, &ev);
    ck_assert_int_eq((int) a.stream(a.stream_arg, buf, sizeof buf), 0);
    /* a member's presence: the board again */
    snprintf(ev.presence.user, sizeof ev.presence.user, "bob");
    gw_events_feed(hub, &ev);
    ck_assert_int_gt((int) read_message(&a, buf, sizeof buf), 0);
    ck_assert_msg(!strncmp(buf, "event: presence.changed\n", 24), "%s", buf);
    gw_events_close(hub);
    ck_assert_int_eq((int) a.stream(a.stream_arg, buf, sizeof buf), -1);
    res_free(&a);
    gw_events_destroy(&hub);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("res_supervisor");
    TCase *tc = tcase_create("supervisor");
    tcase_add_checked_fixture(tc, setup, res_teardown_redis);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, live_board_and_rights);
    tcase_add_test(tc, stats_per_interval);
    tcase_add_test(tc, hub_ring_and_readers);
    tcase_add_test(tc, sse_stream_sends_the_board);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
