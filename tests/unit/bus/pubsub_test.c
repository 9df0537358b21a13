/* tests/unit/bus/pubsub_test.c — events over real ZeroMQ PUB/SUB (loopback tcp and ipc).
 * Proves topic prefix filtering, sequence numbers and ids, gap detection after events were
 * missed, restart detection across a real process restart (role "pub" of this binary run as
 * a child, killed and started again with the same id), duplicates flagged, and hostile
 * frames from a raw PUB counted and ignored. */
#include <sofia-sip/su_wait.h>
#include <czmq.h>
#include <check.h>

#include "bus/bus.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/harness/proc.h"
#include "tests/unit/bus/bus_test_util.h"

static su_root_t *root;

static void setup(void)
{
    rw_log_init("bus-test", "t1", RW_LOG_ERROR);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
}

static void teardown(void)
{
    su_root_destroy(root);
    root = NULL;
    su_deinit();
}

static void make_event(rw_event_t *ev, const char *type)
{
    ck_assert_int_eq(rw_proto_event_init(ev, type), 0);
    switch (rw_proto_event_family(type)) {
    case RW_EVF_CALL: strcpy(ev->call.call_id, "c-1"); break;
    case RW_EVF_PRESENCE: strcpy(ev->presence.user, "alice"); break;
    default: break;
    }
}

/* ---- what the subscriber saw ------------------------------------------------------------- */

#define MAX_SEEN 4096

typedef struct {
    uint64_t n;
    char type[MAX_SEEN][48];
    uint64_t seq[MAX_SEEN], epoch[MAX_SEEN];
    rw_seq_status_t st[MAX_SEEN];
    char last_id[128];
    int foreign;                /* events whose type is not call.* */
} seen_t;

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    seen_t *s = arg;
    if (strncmp(ev->type, "call.", 5) != 0)
        s->foreign++;
    if (s->n < MAX_SEEN) {
        strcpy(s->type[s->n], ev->type);
        s->seq[s->n] = ev->seq;
        s->epoch[s->n] = ev->epoch;
        s->st[s->n] = st;
    }
    strcpy(s->last_id, ev->id);
    s->n++;
}

/* Publishes `type` every 5 ms until the subscriber has seen `want` events in total. */
static void publish_until(rw_pub_t *pub, const char *type, seen_t *s, uint64_t want)
{
    uint64_t end = rw_clock_mono_ms() + 5000;
    while (s->n < want && rw_clock_mono_ms() < end) {
        rw_event_t ev;
        make_event(&ev, type);
        ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
        run_for(root, 5);
    }
    ck_assert_uint_ge(s->n, want);
}

/* ---- child publisher --------------------------------------------------------------------- */

static rw_pub_t *child_pub;

static void on_child_tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_event_t ev;
    (void) m;
    (void) t;
    (void) arg;
    rw_proto_event_init(&ev, "call.offered");     /* no ck_assert outside a test */
    strcpy(ev.call.call_id, "c-1");
    rw_pub_publish(child_pub, &ev);
}

/* bus-child --bus-child pub <endpoint> <publisher id> <interval ms>: runs until killed. */
static int child_main(char **argv)
{
    if (strcmp(argv[2], "pub") != 0)
        return 2;
    su_init();
    root = su_root_create(NULL);
    child_pub = rw_pub_new(root, argv[4], argv[3]);
    if (!child_pub)
        return 3;
    su_timer_t *t = su_timer_create(su_root_task(root), atoi(argv[5]));
    su_timer_set_for_ever(t, on_child_tick, NULL);
    su_root_run(root);
    return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(test_prefix_gets_its_family_only_over_tcp_and_ipc)
{
    char dir[64], ipc[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(ipc, sizeof ipc, "ipc://%s/pub.sock", dir);
    const char *binds[] = { "tcp://127.0.0.1:0", ipc };
    for (size_t i = 0; i < 2; i++) {
        seen_t *s = calloc(1, sizeof *s);
        rw_pub_t *pub = rw_pub_new(root, "edge-1", binds[i]);
        ck_assert_ptr_nonnull(pub);
        if (i == 0)
            ck_assert(strcmp(rw_pub_endpoint(pub), "tcp://127.0.0.1:0") != 0);
        rw_sub_t *sub = rw_sub_new(root, on_event, s, NULL);
        ck_assert_int_eq(rw_sub_subscribe(sub, "call"), RW_EINVAL);
        ck_assert_int_eq(rw_sub_subscribe(sub, ""), RW_EINVAL);
        ck_assert_int_eq(rw_sub_subscribe(sub, "."), RW_EINVAL);
        ck_assert_int_eq(rw_sub_subscribe(sub, "call."), 0);
        ck_assert_int_eq(rw_sub_connect(sub, rw_pub_endpoint(pub)), 0);
        uint64_t end = rw_clock_mono_ms() + 5000;
        while (s->n < 20 && rw_clock_mono_ms() < end) {
            static const char *const types[] = { "presence.changed", "callback.x", "call.offered",
                                                 "call.answered" };
            for (size_t k = 0; k < 4; k++) {
                rw_event_t ev;
                make_event(&ev, types[k]);
                ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
            }
            run_for(root, 5);
        }
        ck_assert_uint_ge(s->n, 20);
        ck_assert_int_eq(s->foreign, 0);
        rw_sub_destroy(&sub);
        rw_pub_destroy(&pub);
        free(s);
    }
    char path[160];
    snprintf(path, sizeof path, "%s/pub.sock", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_sequence_is_per_family_and_ids_are_unique)
{
    seen_t *s = calloc(1, sizeof *s);
    rw_pub_t *pub = rw_pub_new(root, "edge-1", "tcp://127.0.0.1:0");
    rw_sub_t *sub = rw_sub_new(root, on_event, s, NULL);
    rw_sub_subscribe(sub, "call.");
    rw_sub_connect(sub, rw_pub_endpoint(pub));
    publish_until(pub, "call.offered", s, 1);
    uint64_t first = s->n;
    run_for(root, 50);
    first = s->n;

    /* presence.* events in between are filtered out and must not look like a gap. */
    for (int i = 0; i < 100; i++) {
        rw_event_t ev;
        make_event(&ev, i % 2 ? "call.ringing" : "call.answered");
        ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
        char want[128];
        snprintf(want, sizeof want, "edge-1/%llu/call/%llu", (unsigned long long) rw_pub_epoch(pub),
                 (unsigned long long) ev.seq);
        ck_assert_str_eq(ev.id, want);
        make_event(&ev, "presence.changed");
        ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
    }
    ck_assert_uint_eq(rw_pub_seq(pub, "presence"), 100);
    run_until_count(root, &s->n, first + 100, 3000);
    ck_assert_uint_eq(s->n, first + 100);
    for (uint64_t i = first; i < s->n; i++) {
        ck_assert_int_eq(s->st[i].kind, RW_SEQ_OK);
        ck_assert_uint_eq(s->seq[i], s->seq[i - 1] + 1);
    }
    rw_sub_stats_t st;
    rw_sub_stats(sub, &st);
    ck_assert_uint_eq(st.gaps, 0);
    ck_assert_uint_eq(st.received, s->n);
    rw_sub_destroy(&sub);
    rw_pub_destroy(&pub);
    free(s);
}
END_TEST

START_TEST(test_gap_detected_when_events_published_while_not_subscribed)
{
    seen_t *s = calloc(1, sizeof *s);
    rw_pub_t *pub = rw_pub_new(root, "edge-1", "tcp://127.0.0.1:0");
    rw_sub_t *sub = rw_sub_new(root, on_event, s, NULL);
    rw_sub_subscribe(sub, "call.");
    rw_sub_connect(sub, rw_pub_endpoint(pub));
    publish_until(pub, "call.offered", s, 1);
    run_for(root, 50);
    uint64_t before = s->n, last_seq = s->seq[s->n - 1];

    ck_assert_int_eq(rw_sub_unsubscribe(sub, "call."), 0);
    run_for(root, 200);                       /* the unsubscription reaches the PUB */
    for (int i = 0; i < 7; i++) {
        rw_event_t ev;
        make_event(&ev, "call.offered");
        rw_pub_publish(pub, &ev);
    }
    run_for(root, 100);
    ck_assert_uint_eq(s->n, before);          /* nothing delivered while unsubscribed */
    rw_sub_subscribe(sub, "call.");
    publish_until(pub, "call.offered", s, before + 1);
    uint64_t i = before;
    ck_assert_int_eq(s->st[i].kind, RW_SEQ_GAP);
    ck_assert_uint_ge(s->st[i].missed, 7);
    ck_assert_uint_eq(s->st[i].missed, s->seq[i] - last_seq - 1);
    rw_sub_stats_t st;
    rw_sub_stats(sub, &st);
    ck_assert_uint_eq(st.gaps, 1);
    ck_assert_uint_eq(st.missed, s->st[i].missed);
    rw_sub_destroy(&sub);
    rw_pub_destroy(&pub);
    free(s);
}
END_TEST

START_TEST(test_restart_detected_when_publisher_process_restarts)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", rw_proc_free_port());
    seen_t *s = calloc(1, sizeof *s);
    rw_metrics_t *m = rw_metrics_new("ringway_test");
    rw_sub_t *sub = rw_sub_new(root, on_event, s, m);
    rw_sub_subscribe(sub, "call.");
    rw_sub_connect(sub, ep);
    pid_t child = spawn_role("pub", ep, "edge-7", "10");
    run_until_count(root, &s->n, 5, 10000);
    ck_assert_uint_ge(s->n, 5);
    uint64_t epoch1 = s->epoch[0];

    kill_role(&child, SIGKILL);
    run_for(root, 100);
    uint64_t before = s->n;
    usleep(2000);                             /* a later start: a larger epoch */
    child = spawn_role("pub", ep, "edge-7", "10");
    run_until_count(root, &s->n, before + 3, 10000);
    kill_role(&child, SIGKILL);
    ck_assert_uint_ge(s->n, before + 3);
    uint64_t i = before;
    ck_assert_uint_gt(s->epoch[i], epoch1);
    ck_assert_int_eq(s->st[i].kind, RW_SEQ_RESTART);
    ck_assert_uint_eq(s->st[i].missed, s->seq[i] - 1);
    ck_assert_int_eq(s->st[i + 1].kind, RW_SEQ_OK);
    rw_sub_stats_t st;
    rw_sub_stats(sub, &st);
    ck_assert_uint_eq(st.restarts, 1);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(rw_metrics_render(m, &text, &len), 0);
    ck_assert_ptr_nonnull(strstr(text, "ringway_test_bus_sub_events_total{seq=\"restart\"} 1"));
    free(text);
    rw_sub_destroy(&sub);
    rw_metrics_destroy(&m);
    free(s);
}
END_TEST

/* Sends [type][payload] on a raw PUB. */
static void raw_send(zsock_t *raw, const char *type, const void *data, size_t len)
{
    zmq_send(zsock_resolve(raw), type, strlen(type), ZMQ_SNDMORE);
    zmq_send(zsock_resolve(raw), data, len, 0);
}

static void raw_event(zsock_t *raw, uint64_t epoch, uint64_t seq)
{
    rw_event_t ev;
    make_event(&ev, "call.offered");
    strcpy(ev.publisher, "raw-1");
    snprintf(ev.id, sizeof ev.id, "raw-1/%llu/call/%llu", (unsigned long long) epoch,
             (unsigned long long) seq);
    ev.epoch = epoch;
    ev.seq = seq;
    ev.ts_ms = 1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), 0);
    raw_send(raw, "call.offered", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

START_TEST(test_duplicates_flagged_and_garbage_frames_counted)
{
    seen_t *s = calloc(1, sizeof *s);
    zsock_t *raw = zsock_new(ZMQ_PUB);
    ck_assert_int_ge(zsock_bind(raw, "tcp://127.0.0.1:0"), 0);
    char *ep = zsock_last_endpoint(raw);
    rw_sub_t *sub = rw_sub_new(root, on_event, s, NULL);
    rw_sub_subscribe(sub, "call.");
    rw_sub_connect(sub, ep);
    uint64_t end = rw_clock_mono_ms() + 5000;
    uint64_t seq = 0;
    while (s->n == 0 && rw_clock_mono_ms() < end) {
        raw_event(raw, 1000, ++seq);
        run_for(root, 5);
    }
    ck_assert_uint_eq(s->n, 1);

    /* Hostile input: each must be dropped and counted, none delivered. */
    static const unsigned char dd[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };   /* 2^24-item array */
    static const unsigned char junk[] = { 0xc1, 0xff, 0x00, 0x42 };
    raw_send(raw, "call.offered", dd, sizeof dd);
    raw_send(raw, "call.offered", junk, sizeof junk);
    raw_send(raw, "call.offered", "", 0);
    zstr_send(raw, "call.one-frame-only");
    zstr_sendx(raw, "call.x", "a", "b", NULL);               /* three frames */
    {                                                       /* type frame lies */
        rw_event_t ev;
        make_event(&ev, "call.offered");
        strcpy(ev.publisher, "raw-1");
        strcpy(ev.id, "x");
        ev.epoch = 1000;
        ev.seq = 99;
        ev.ts_ms = 1;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        rw_proto_event_encode(&ev, &sb);
        raw_send(raw, "call.answered", sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    raw_event(raw, 1000, seq);                              /* duplicate of the last */
    raw_event(raw, 1000, seq + 1);                          /* next: OK */
    raw_event(raw, 999, 50);                                /* older epoch: DUP */
    rw_sub_stats_t st = { 0 };
    end = rw_clock_mono_ms() + 3000;
    while ((st.bad_frames < 6 || st.received < 4) && rw_clock_mono_ms() < end) {
        su_root_step(root, 5);
        rw_sub_stats(sub, &st);
    }
    ck_assert_uint_eq(st.bad_frames, 6);
    ck_assert_uint_eq(s->n, 4);
    ck_assert_int_eq(s->st[1].kind, RW_SEQ_DUP);
    ck_assert_int_eq(s->st[2].kind, RW_SEQ_OK);
    ck_assert_uint_eq(s->seq[2], seq + 1);
    ck_assert_int_eq(s->st[3].kind, RW_SEQ_DUP);
    ck_assert_uint_eq(st.dups, 2);
    rw_sub_destroy(&sub);
    zstr_free(&ep);
    zsock_destroy(&raw);
    free(s);
}
END_TEST

START_TEST(test_set_endpoints_follows_the_publisher_set)
{
    seen_t *s = calloc(1, sizeof *s);
    rw_pub_t *p1 = rw_pub_new(root, "edge-1", "tcp://127.0.0.1:0");
    rw_pub_t *p2 = rw_pub_new(root, "edge-2", "tcp://127.0.0.1:0");
    rw_sub_t *sub = rw_sub_new(root, on_event, s, NULL);
    rw_sub_subscribe(sub, "call.");
    const char *both[] = { rw_pub_endpoint(p1), rw_pub_endpoint(p2), rw_pub_endpoint(p1) };
    ck_assert_int_eq(rw_sub_set_endpoints(sub, both, 3), 0);
    publish_until(p1, "call.offered", s, 1);
    uint64_t n = s->n;
    publish_until(p2, "call.offered", s, n + 1);

    const char *second[] = { rw_pub_endpoint(p2), "nonsense" };
    ck_assert_int_eq(rw_sub_set_endpoints(sub, second, 2), RW_EINVAL);
    run_for(root, 100);
    n = s->n;
    for (int i = 0; i < 10; i++) {
        rw_event_t ev;
        make_event(&ev, "call.offered");
        rw_pub_publish(p1, &ev);              /* disconnected: never delivered */
        run_for(root, 5);
    }
    ck_assert_uint_eq(s->n, n);
    publish_until(p2, "call.offered", s, n + 1);
    ck_assert_int_eq(rw_sub_set_endpoints(sub, NULL, 0), 0);
    rw_sub_destroy(&sub);
    rw_pub_destroy(&p1);
    rw_pub_destroy(&p2);
    free(s);
}
END_TEST

START_TEST(test_bad_arguments_are_refused)
{
    ck_assert_ptr_null(rw_pub_new(root, "", "tcp://127.0.0.1:0"));
    ck_assert_ptr_null(rw_pub_new(root, "a/b", "tcp://127.0.0.1:0"));
    ck_assert_ptr_null(rw_pub_new(root, "edge-1", "bogus://x"));
    rw_pub_t *pub = rw_pub_new(root, "edge-1", "tcp://127.0.0.1:0");
    rw_event_t ev;
    memset(&ev, 0, sizeof ev);
    ck_assert_int_eq(rw_pub_publish(pub, &ev), RW_EINVAL);   /* no type */
    make_event(&ev, "call.offered");
    ev.call.call_id[0] = 0;                                  /* missing required field */
    ck_assert_int_ne(rw_pub_publish(pub, &ev), 0);
    ck_assert_uint_eq(rw_pub_seq(pub, "call"), 0);          /* a refused event uses no seq */
    rw_pub_destroy(&pub);
    rw_pub_destroy(&pub);
    ck_assert_ptr_null(rw_sub_new(root, NULL, NULL, NULL));
}
END_TEST

static Suite *pubsub_suite(void)
{
    Suite *s = suite_create("bus_pubsub");
    TCase *tc = tcase_create("pubsub");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_prefix_gets_its_family_only_over_tcp_and_ipc);
    tcase_add_test(tc, test_sequence_is_per_family_and_ids_are_unique);
    tcase_add_test(tc, test_gap_detected_when_events_published_while_not_subscribed);
    tcase_add_test(tc, test_restart_detected_when_publisher_process_restarts);
    tcase_add_test(tc, test_duplicates_flagged_and_garbage_frames_counted);
    tcase_add_test(tc, test_set_endpoints_follows_the_publisher_set);
    tcase_add_test(tc, test_bad_arguments_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], BUS_CHILD_FLAG) == 0)
        return child_main(argv);
    SRunner *sr = srunner_create(pubsub_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
