/* tests/unit/bus/curve_test.c — CurveZMQ on the bus (bus/curve.h) over real ZeroMQ sockets.
 * This process enables CURVE with the deployment's key pair and binds a request server and a
 * publisher; clients run as child processes of this binary (role "client": each has its own
 * ZeroMQ context and its own CURVE setting) and ask for up to a bounded time. A child holding
 * the key pair gets answers; one holding another key pair, and one speaking plain ZMTP, never
 * do. Also: key generation (the secret half 0600), refusing a certificate without its secret. */
#include <sofia-sip/su_wait.h>
#include <czmq.h>
#include <check.h>

#include <sys/stat.h>

#include "bus/bus.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/harness/proc.h"
#include "tests/unit/bus/bus_test_util.h"

static su_root_t *root;
static char dir[64], cert_a[128], other_dir[64], cert_b[128];

static void setup(void)
{
    rw_log_init("bus-test", "t1", RW_LOG_ERROR);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    make_tmpdir(dir, sizeof dir);
    make_tmpdir(other_dir, sizeof other_dir);
    ck_assert(dir[0] && other_dir[0]);
    snprintf(cert_a, sizeof cert_a, "%s/bus.cert", dir);
    snprintf(cert_b, sizeof cert_b, "%s/bus.cert", other_dir);
    ck_assert_int_eq(rw_bus_curve_keygen(cert_a), 0);
    ck_assert_int_eq(rw_bus_curve_keygen(cert_b), 0);
}

static void remove_dir(const char *d)
{
    char p[160];
    snprintf(p, sizeof p, "%s/bus.cert", d);
    unlink(p);
    snprintf(p, sizeof p, "%s/bus.cert_secret", d);
    unlink(p);
    rmdir(d);
}

static void teardown(void)
{
    rw_bus_curve_disable();
    su_root_destroy(root);
    root = NULL;
    su_deinit();
    remove_dir(dir);
    remove_dir(other_dir);
}

/* ---- the child client ---------------------------------------------------------------------- */

typedef struct {
    int done, status;
    char body[64];
} answer_t;

static void on_answer(void *arg, int status, const void *body, size_t len)
{
    answer_t *a = arg;
    a->done = 1;
    a->status = status;
    snprintf(a->body, sizeof a->body, "%.*s", (int) len, body ? (const char *) body : "");
}

/* argv: --bus-child client CERT|- ENDPOINT SECONDS. Exit 0 when answered "pong", 10 when
 * never answered in SECONDS, 3 when it could not start. */
static int child_main(char **argv)
{
    if (strcmp(argv[2], "client") != 0)
        return 2;
    rw_log_init("bus-child", "c", RW_LOG_ERROR);
    if (strcmp(argv[3], "-") != 0 && rw_bus_curve_enable(argv[3], NULL) != 0)
        return 3;
    su_init();
    su_root_t *r = su_root_create(NULL);
    rw_client_t *cli = r ? rw_client_new(r, "curve", NULL) : NULL;
    const char *ep = argv[4];
    if (!cli || rw_client_set_endpoints(cli, &ep, 1) != 0)
        return 3;
    uint64_t end = rw_clock_mono_ms() + 1000u * (unsigned) atoi(argv[5]);
    int rc = 10;
    while (rc == 10 && rw_clock_mono_ms() < end) {
        answer_t a = { 0 };
        if (rw_client_request(cli, "ping", 4, 500, on_answer, &a) != 0)
            return 3;
        while (!a.done)
            su_root_step(r, 5);
        if (a.status == 0 && strcmp(a.body, "pong") == 0)
            rc = 0;
        else
            su_root_step(r, 50);  /* not connected (yet): ask again */
    }
    rw_client_destroy(&cli);
    su_root_destroy(r);
    su_deinit();
    rw_bus_curve_disable();
    return rc;
}

static void pong(void *arg, rw_request_t *req, const void *body, size_t len)
{
    (void) arg;
    (void) body;
    (void) len;
    rw_server_reply(req, "pong", 4);
}

/* Runs the loop (serving requests) until the child exits; its exit status. */
static int child_result(pid_t pid)
{
    int st = 0;
    uint64_t end = rw_clock_mono_ms() + 60000;
    while (rw_clock_mono_ms() < end) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        su_root_step(root, 5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

START_TEST(keygen_files)
{
    struct stat st;
    char secret[160];
    snprintf(secret, sizeof secret, "%s_secret", cert_a);
    ck_assert_int_eq(stat(secret, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(cert_a, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    /* the public half alone is not enough to take part */
    unlink(secret);
    ck_assert_int_eq(rw_bus_curve_enable(cert_a, NULL), RW_EINVAL);
    ck_assert(!rw_bus_curve_enabled());
    ck_assert_int_eq(rw_bus_curve_enable("/nonexistent/bus.cert", NULL), RW_EINVAL);
    ck_assert_int_eq(rw_bus_curve_enable(cert_b, "/nonexistent-dir"), RW_EINVAL);
    ck_assert(!rw_bus_curve_enabled());
    ck_assert_int_eq(rw_bus_curve_enable(cert_b, NULL), 0);
    ck_assert(rw_bus_curve_enabled());
    ck_assert_int_eq(rw_bus_curve_enable(cert_b, NULL), RW_EINVAL);   /* once per process */
}
END_TEST

START_TEST(requests_need_the_key_pair)
{
    ck_assert_int_eq(rw_bus_curve_enable(cert_a, NULL), 0);
    rw_server_t *srv = rw_server_new(root, "tcp://127.0.0.1:0", pong, NULL);
    ck_assert_ptr_nonnull(srv);
    const char *ep = rw_server_endpoint(srv);
    /* the deployment's key pair: answered */
    ck_assert_int_eq(child_result(spawn_role("client", cert_a, ep, "30")), 0);
    /* another key pair, then plain ZMTP: never answered (each asks for 3 s) */
    ck_assert_int_eq(child_result(spawn_role("client", cert_b, ep, "3")), 10);
    ck_assert_int_eq(child_result(spawn_role("client", "-", ep, "3")), 10);
    /* and the server still answers its own after both were refused */
    ck_assert_int_eq(child_result(spawn_role("client", cert_a, ep, "30")), 0);
    rw_server_destroy(&srv);
}
END_TEST

typedef struct {
    int n;
    char type[48];
} got_t;

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    got_t *g = arg;
    (void) st;
    g->n++;
    snprintf(g->type, sizeof g->type, "%s", ev->type);
}

START_TEST(events_under_curve)
{
    ck_assert_int_eq(rw_bus_curve_enable(cert_a, NULL), 0);
    rw_pub_t *pub = rw_pub_new(root, "curve-pub", "tcp://127.0.0.1:0");
    ck_assert_ptr_nonnull(pub);
    got_t g = { 0 };
    rw_sub_t *sub = rw_sub_new(root, on_event, &g, NULL);
    ck_assert_ptr_nonnull(sub);
    ck_assert_int_eq(rw_sub_connect(sub, rw_pub_endpoint(pub)), 0);
    ck_assert_int_eq(rw_sub_subscribe(sub, "call."), 0);
    /* a SUB joins asynchronously: publish until the first event arrives (bounded) */
    uint64_t end = rw_clock_mono_ms() + 30000;
    while (!g.n && rw_clock_mono_ms() < end) {
        rw_event_t ev;
        rw_proto_event_init(&ev, "call.offered");
        strcpy(ev.call.call_id, "c-1");
        ck_assert_int_eq(rw_pub_publish(pub, &ev), 0);
        run_for(root, 20);
    }
    ck_assert_int_ge(g.n, 1);
    ck_assert_str_eq(g.type, "call.offered");
    rw_sub_destroy(&sub);
    rw_pub_destroy(&pub);
}
END_TEST

static Suite *curve_suite(void)
{
    Suite *s = suite_create("bus_curve");
    TCase *tc = tcase_create("curve");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, keygen_files);
    tcase_add_test(tc, requests_need_the_key_pair);
    tcase_add_test(tc, events_under_curve);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], BUS_CHILD_FLAG) == 0)
        return child_main(argv);
    SRunner *sr = srunner_create(curve_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
