/* tests/unit/bus/request_test.c — request/reply over real ZeroMQ sockets (loopback tcp, ipc).
 * Servers run in this process or, to show real failures, as child processes of this binary
 * (role "server": bind, answer "<name>:<body>" after a delay). Proves round trips, the retry
 * to another instance when one is killed or slow, late answers dropped and counted, bounded
 * failure with no instance, 10,000 pipelined requests, and garbage frames being ignored. */
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
    rw_log_init("bus-test", "t1", RW_LOG_WARN);
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

/* ---- a child server ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    unsigned delay_ms;
} child_srv_t;

typedef struct {
    rw_request_t *req;
    char answer[256];
    size_t len;
    su_timer_t *timer;
} delayed_t;

static void on_delayed(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    delayed_t *d = arg;
    (void) m;
    rw_server_reply(d->req, d->answer, d->len);
    su_timer_destroy(t);
    free(d);
}

static void child_handler(void *arg, rw_request_t *req, const void *body, size_t len)
{
    child_srv_t *cs = arg;
    delayed_t *d = calloc(1, sizeof *d);
    if (!d) {
        rw_request_drop(&req);
        return;
    }
    d->req = req;
    d->len = (size_t) snprintf(d->answer, sizeof d->answer, "%s:%.*s", cs->name, (int) len,
                               (const char *) body);
    if (cs->delay_ms == 0) {
        on_delayed(NULL, NULL, d);
        return;
    }
    d->timer = su_timer_create(su_root_task(root), 0);
    su_timer_set_interval(d->timer, on_delayed, d, (su_duration_t) cs->delay_ms);
}

/* bus-child --bus-child server <endpoint> <name> <delay_ms>: runs until killed. */
static int child_main(char **argv)
{
    if (strcmp(argv[2], "server") != 0)
        return 2;
    child_srv_t cs = { argv[4], (unsigned) atoi(argv[5]) };
    su_init();
    root = su_root_create(NULL);
    rw_server_t *srv = rw_server_new(root, argv[3], child_handler, &cs);
    if (!srv)
        return 3;
    su_root_run(root);
    return 0;
}

static pid_t start_server(const char *endpoint, const char *name, unsigned delay_ms)
{
    char d[16];
    snprintf(d, sizeof d, "%u", delay_ms);
    return spawn_role("server", endpoint, name, d);
}

static void tcp_endpoint(char *buf, size_t len)
{
    snprintf(buf, len, "tcp://127.0.0.1:%d", rw_proc_free_port());
}

/* ---- client side helpers ----------------------------------------------------------------- */

typedef struct {
    int done;
    int calls;
    int status;
    char body[256];
    uint64_t elapsed_ms;
    uint64_t start_ms;
} answer_t;

static void on_answer(void *arg, int status, const void *body, size_t len)
{
    answer_t *a = arg;
    a->calls++;
    a->done = 1;
    a->status = status;
    a->elapsed_ms = rw_clock_mono_ms() - a->start_ms;
    snprintf(a->body, sizeof a->body, "%.*s", (int) len, body ? (const char *) body : "");
}

static void ask(rw_client_t *cli, const char *body, unsigned deadline_ms, answer_t *a)
{
    memset(a, 0, sizeof *a);
    a->start_ms = rw_clock_mono_ms();
    ck_assert_int_eq(rw_client_request(cli, body, strlen(body), deadline_ms, on_answer, a), 0);
    ck_assert_int_eq(a->calls, 0);           /* never called from inside the request */
}

static void ask_wait(rw_client_t *cli, const char *body, unsigned deadline_ms, answer_t *a)
{
    ask(cli, body, deadline_ms, a);
    run_until(root, &a->done, deadline_ms + 1000);
    ck_assert_int_eq(a->calls, 1);
}

/* Asks until every named instance has answered once (connections are asynchronous). */
static void wait_instances(rw_client_t *cli, const char *const *names, int n)
{
    int seen = 0;
    uint64_t end = rw_clock_mono_ms() + 10000;
    while (seen != (1 << n) - 1 && rw_clock_mono_ms() < end) {
        answer_t a;
        ask_wait(cli, "ping", 1000, &a);
        for (int i = 0; i < n; i++)
            if (a.status == 0 && strncmp(a.body, names[i], strlen(names[i])) == 0)
                seen |= 1 << i;
        if (a.status != 0)
            run_for(root, 20);
    }
    ck_assert_int_eq(seen, (1 << n) - 1);
}

/* ---- in-process echo server -------------------------------------------------------------- */

static void echo_handler(void *arg, rw_request_t *req, const void *body, size_t len)
{
    char out[300];
    int n = snprintf(out, sizeof out, "echo:%.*s", (int) len, (const char *) body);
    (void) arg;
    ck_assert_int_eq(rw_server_reply(req, out, (size_t) n), 0);
}

START_TEST(test_round_trip_over_tcp_and_ipc)
{
    char dir[64], ipc[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(ipc, sizeof ipc, "ipc://%s/srv.sock", dir);
    const char *binds[] = { "tcp://127.0.0.1:0", ipc };
    for (size_t i = 0; i < 2; i++) {
        rw_server_t *srv = rw_server_new(root, binds[i], echo_handler, NULL);
        ck_assert_ptr_nonnull(srv);
        const char *ep = rw_server_endpoint(srv);
        if (i == 0)
            ck_assert(strncmp(ep, "tcp://127.0.0.1:", 16) == 0 && strcmp(ep + 16, "0") != 0);
        rw_client_t *cli = rw_client_new(root, "echo", NULL);
        ck_assert_int_eq(rw_client_set_endpoints(cli, &ep, 1), 0);
        const char *names[] = { "echo" };
        wait_instances(cli, names, 1);
        answer_t a;
        ask_wait(cli, "hello", 1000, &a);
        ck_assert_int_eq(a.status, 0);
        ck_assert_str_eq(a.body, "echo:hello");
        rw_server_stats_t ss;
        rw_server_stats(srv, &ss);
        ck_assert_uint_eq(ss.requests, ss.replies);
        rw_client_destroy(&cli);
        rw_server_destroy(&srv);
        ck_assert_ptr_null(cli);
    }
    char sock[160];
    snprintf(sock, sizeof sock, "%s/srv.sock", dir);
    unlink(sock);
    rmdir(dir);
}
END_TEST

/* The handler keeps the request and answers from a timer, as after a Redis reply. */
static void later_handler(void *arg, rw_request_t *req, const void *body, size_t len)
{
    child_srv_t *cs = arg;
    delayed_t *d = calloc(1, sizeof *d);
    ck_assert_ptr_nonnull(d);
    d->req = req;
    d->len = (size_t) snprintf(d->answer, sizeof d->answer, "%s:%.*s", cs->name, (int) len,
                               (const char *) body);
    d->timer = su_timer_create(su_root_task(root), 0);
    su_timer_set_interval(d->timer, on_delayed, d, (su_duration_t) cs->delay_ms);
}

START_TEST(test_reply_later_from_a_timer)
{
    child_srv_t cs = { "later", 30 };
    rw_server_t *srv = rw_server_new(root, "tcp://127.0.0.1:0", later_handler, &cs);
    const char *ep = rw_server_endpoint(srv);
    rw_client_t *cli = rw_client_new(root, "later", NULL);
    rw_client_set_endpoints(cli, &ep, 1);
    const char *names[] = { "later" };
    wait_instances(cli, names, 1);
    answer_t a;
    ask_wait(cli, "x", 1000, &a);
    ck_assert_int_eq(a.status, 0);
    ck_assert_str_eq(a.body, "later:x");
    ck_assert_uint_ge(a.elapsed_ms, 25);
    rw_client_destroy(&cli);
    rw_server_destroy(&srv);
}
END_TEST

START_TEST(test_retry_reaches_other_instance_when_answering_one_is_killed)
{
    char ea[64], eb[64];
    tcp_endpoint(ea, sizeof ea);
    tcp_endpoint(eb, sizeof eb);
    pid_t a = start_server(ea, "A", 100), b = start_server(eb, "B", 100);
    rw_client_t *cli = rw_client_new(root, "router", NULL);
    const char *eps[] = { ea, eb }, *names[] = { "A", "B" };
    rw_client_set_endpoints(cli, eps, 2);
    wait_instances(cli, names, 2);

    /* Round robin puts one of these two on A; A dies while both are in flight. */
    answer_t r1, r2;
    rw_client_stats_t before, after;
    rw_client_stats(cli, &before);
    ask(cli, "one", 500, &r1);
    ask(cli, "two", 500, &r2);
    run_for(root, 20);
    kill_role(&a, SIGKILL);
    run_until(root, &r1.done, 1500);
    run_until(root, &r2.done, 1500);
    ck_assert_int_eq(r1.status, 0);
    ck_assert_int_eq(r2.status, 0);
    ck_assert_str_eq(r1.body, "B:one");
    ck_assert_str_eq(r2.body, "B:two");
    ck_assert_uint_le(r1.elapsed_ms, 500);
    ck_assert_uint_le(r2.elapsed_ms, 500);
    rw_client_stats(cli, &after);
    ck_assert_uint_ge(after.retries - before.retries, 1);

    for (int i = 0; i < 20; i++) {
        answer_t r;
        ask_wait(cli, "next", 500, &r);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.body, "B:next");
    }
    rw_client_destroy(&cli);
    kill_role(&b, SIGKILL);
}
END_TEST

START_TEST(test_slow_instance_is_overtaken_and_its_late_answer_dropped)
{
    char ea[64], eb[64];
    tcp_endpoint(ea, sizeof ea);
    tcp_endpoint(eb, sizeof eb);
    pid_t a = start_server(ea, "A", 300), b = start_server(eb, "B", 0);
    rw_client_t *cli = rw_client_new(root, "router", NULL);
    const char *eps[] = { ea, eb }, *names[] = { "A", "B" };
    rw_client_set_endpoints(cli, eps, 2);
    wait_instances(cli, names, 2);
    run_for(root, 400);                       /* let A's answers to the warm-up arrive */

    rw_client_stats_t before, after;
    rw_client_stats(cli, &before);
    for (int i = 0; i < 4; i++) {
        answer_t r;
        ask_wait(cli, "q", 100, &r);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.body, "B:q");
        ck_assert_uint_le(r.elapsed_ms, 100);
    }
    run_for(root, 500);                       /* A's answers come back, too late */
    rw_client_stats(cli, &after);
    uint64_t retries = after.retries - before.retries;
    ck_assert_uint_ge(retries, 1);
    ck_assert_uint_eq(after.late_answers - before.late_answers, retries);
    ck_assert_uint_eq(after.answers - before.answers, 4);
    ck_assert_uint_eq(after.pending, 0);
    rw_client_destroy(&cli);
    kill_role(&a, SIGKILL);
    kill_role(&b, SIGKILL);
}
END_TEST

static void never_handler(void *arg, rw_request_t *req, const void *body, size_t len)
{
    (void) arg;
    (void) body;
    (void) len;
    rw_request_drop(&req);
    ck_assert_ptr_null(req);
}

START_TEST(test_no_instance_fails_within_deadline)
{
    /* Table: no endpoints at all; an endpoint nobody listens on; a server that never answers. */
    rw_server_t *mute = rw_server_new(root, "tcp://127.0.0.1:0", never_handler, NULL);
    char nobody[64];
    tcp_endpoint(nobody, sizeof nobody);
    const struct {
        const char *endpoint;
        int status;
        uint64_t min_ms, max_ms;
    } cases[] = {
        { NULL, RW_EAGAIN, 0, 50 },
        { nobody, RW_EAGAIN, 100, 300 },
        { rw_server_endpoint(mute), RW_ETIMEDOUT, 100, 300 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rw_client_t *cli = rw_client_new(root, "void", NULL);
        if (cases[i].endpoint)
            rw_client_set_endpoints(cli, &cases[i].endpoint, 1);
        run_for(root, 100);                   /* time to connect where anything listens */
        answer_t a;
        ask_wait(cli, "hello?", 100, &a);
        ck_assert_int_eq(a.status, cases[i].status);
        ck_assert_uint_ge(a.elapsed_ms, cases[i].min_ms);
        ck_assert_uint_le(a.elapsed_ms, cases[i].max_ms);
        rw_client_destroy(&cli);
    }
    rw_server_stats_t ss;
    rw_server_stats(mute, &ss);
    ck_assert_uint_eq(ss.requests, 1);
    ck_assert_uint_eq(ss.dropped, 1);
    rw_server_destroy(&mute);
}
END_TEST

typedef struct {
    uint64_t ok, failed, calls;
} tally_t;

static void on_tally(void *arg, int status, const void *body, size_t len)
{
    tally_t *t = arg;
    (void) body;
    (void) len;
    t->calls++;
    if (status == 0)
        t->ok++;
    else
        t->failed++;
}

START_TEST(test_ten_thousand_pipelined_requests_all_answered)
{
    char dir[64], ipc[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(ipc, sizeof ipc, "ipc://%s/pipe.sock", dir);
    pid_t s = start_server(ipc, "P", 0);
    rw_client_t *cli = rw_client_new(root, "pipe", NULL);
    const char *names[] = { "P" };
    const char *ep = ipc;
    rw_client_set_endpoints(cli, &ep, 1);
    wait_instances(cli, names, 1);
    tally_t t = { 0 };
    rw_client_stats_t st0;
    rw_client_stats(cli, &st0);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(rw_client_request(cli, "n", 1, 20000, on_tally, &t), 0);
    run_until_count(root, &t.calls, 10000, 30000);
    ck_assert_uint_eq(t.ok, 10000);
    ck_assert_uint_eq(t.failed, 0);
    rw_client_stats_t st;
    rw_client_stats(cli, &st);
    ck_assert_uint_eq(st.send_failures - st0.send_failures, 0);
    ck_assert_uint_eq(st.retries - st0.retries, 0);
    ck_assert_uint_eq(st.pending, 0);
    rw_client_destroy(&cli);
    kill_role(&s, SIGKILL);
    char path[160];
    snprintf(path, sizeof path, "%s/pipe.sock", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_garbage_frames_to_server_are_counted_and_ignored)
{
    rw_server_t *srv = rw_server_new(root, "tcp://127.0.0.1:0", echo_handler, NULL);
    const char *ep = rw_server_endpoint(srv);
    zsock_t *raw = zsock_new_dealer(ep);
    ck_assert_ptr_nonnull(raw);
    zstr_send(raw, "one frame only");                         /* 2 parts at the ROUTER */
    zstr_sendx(raw, "abc", "short id", NULL);                 /* id of 3 bytes */
    zstr_sendx(raw, "12345678", "body", "extra", NULL);       /* 4 parts */
    zsock_send(raw, "b", "", (size_t) 0);                     /* empty frame */
    rw_server_stats_t ss = { 0 };
    uint64_t end = rw_clock_mono_ms() + 3000;
    while (ss.bad_frames < 4 && rw_clock_mono_ms() < end) {
        su_root_step(root, 5);
        rw_server_stats(srv, &ss);
    }
    ck_assert_uint_eq(ss.bad_frames, 4);
    ck_assert_uint_eq(ss.requests, 0);

    /* A well-formed request from the same raw socket is still answered. */
    zsock_send(raw, "bs", "ABCDEFGH", (size_t) 8, "ok?");
    end = rw_clock_mono_ms() + 3000;
    while (ss.replies < 1 && rw_clock_mono_ms() < end) {
        su_root_step(root, 5);
        rw_server_stats(srv, &ss);
    }
    ck_assert_uint_eq(ss.replies, 1);
    char *id = NULL, *body = NULL;
    zsock_set_rcvtimeo(raw, 1000);
    ck_assert_int_eq(zstr_recvx(raw, &id, &body, NULL), 2);
    ck_assert_str_eq(id, "ABCDEFGH");
    ck_assert_str_eq(body, "echo:ok?");
    zstr_free(&id);
    zstr_free(&body);

    /* And a normal client still works. */
    rw_client_t *cli = rw_client_new(root, "echo", NULL);
    rw_client_set_endpoints(cli, &ep, 1);
    const char *names[] = { "echo" };
    wait_instances(cli, names, 1);
    rw_client_destroy(&cli);
    zsock_destroy(&raw);
    rw_server_destroy(&srv);
}
END_TEST

START_TEST(test_destroy_with_pending_requests_calls_back_once_with_closed)
{
    rw_server_t *mute = rw_server_new(root, "tcp://127.0.0.1:0", never_handler, NULL);
    const char *ep = rw_server_endpoint(mute);
    rw_client_t *cli = rw_client_new(root, "mute", NULL);
    rw_client_set_endpoints(cli, &ep, 1);
    run_for(root, 100);
    answer_t a;
    ask(cli, "x", 5000, &a);
    run_for(root, 50);
    rw_client_destroy(&cli);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, RW_ECLOSED);
    rw_server_destroy(&mute);
}
END_TEST

START_TEST(test_set_endpoints_keeps_common_ones_and_rejects_bad_ones)
{
    rw_server_t *srv = rw_server_new(root, "tcp://127.0.0.1:0", echo_handler, NULL);
    const char *live = rw_server_endpoint(srv);
    rw_client_t *cli = rw_client_new(root, "echo", NULL);
    const char *first[] = { "tcp://127.0.0.1:1", live, live };
    ck_assert_int_eq(rw_client_set_endpoints(cli, first, 3), 0);
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 2);     /* duplicate ignored */
    const char *names[] = { "echo" };
    wait_instances(cli, names, 1);
    const char *second[] = { live, "not an endpoint" };
    ck_assert_int_eq(rw_client_set_endpoints(cli, second, 2), RW_EINVAL);
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 1);
    answer_t a;
    ask_wait(cli, "kept", 500, &a);                           /* no reconnect needed */
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(rw_client_set_endpoints(cli, NULL, 0), 0);
    ck_assert_uint_eq(rw_client_endpoint_count(cli), 0);
    ck_assert_int_eq(rw_client_request(cli, "x", 1, 0, on_answer, &a), RW_EINVAL);
    rw_client_destroy(&cli);
    rw_server_destroy(&srv);
}
END_TEST

static Suite *request_suite(void)
{
    Suite *s = suite_create("bus_request");
    TCase *tc = tcase_create("request");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_over_tcp_and_ipc);
    tcase_add_test(tc, test_reply_later_from_a_timer);
    tcase_add_test(tc, test_retry_reaches_other_instance_when_answering_one_is_killed);
    tcase_add_test(tc, test_slow_instance_is_overtaken_and_its_late_answer_dropped);
    tcase_add_test(tc, test_no_instance_fails_within_deadline);
    tcase_add_test(tc, test_ten_thousand_pipelined_requests_all_answered);
    tcase_add_test(tc, test_garbage_frames_to_server_are_counted_and_ignored);
    tcase_add_test(tc, test_destroy_with_pending_requests_calls_back_once_with_closed);
    tcase_add_test(tc, test_set_endpoints_keeps_common_ones_and_rejects_bad_ones);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], BUS_CHILD_FLAG) == 0)
        return child_main(argv);
    SRunner *sr = srunner_create(request_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
