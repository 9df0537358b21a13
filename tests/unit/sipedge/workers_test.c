/* tests/unit/sipedge/workers_test.c — what the supervisor gives each worker: the process count,
 * the --worker flag, the moved bus endpoint and the three environment overrides; the run file a
 * restarted supervisor reads, and the start time that tells a living worker from a dead one. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/bus_config.h"
#include "common/config.h"
#include "common/err.h"
#include "services/sip-edge/workers.h"
#include "services/sip-edge/workers_run.h"

START_TEST(test_count_zero_means_online_cpus_and_is_capped)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_uint_eq(rw_workers_count(0), cpus > RW_WORKERS_MAX ? RW_WORKERS_MAX : (unsigned) cpus);
    ck_assert_uint_eq(rw_workers_count(1), 1);
    ck_assert_uint_eq(rw_workers_count(3), 3);
    ck_assert_uint_eq(rw_workers_count(1000), RW_WORKERS_MAX);
}
END_TEST

START_TEST(test_worker_index_from_argv)
{
    char *plain[] = { "sip-edge", "-c", "f.conf", NULL };
    char *w1[] = { "sip-edge", "-c", "f.conf", "--worker", "1", NULL };
    char *bad[] = { "sip-edge", "--worker", "x1", NULL };
    char *neg[] = { "sip-edge", "--worker", "-2", NULL };
    char *last[] = { "sip-edge", "--worker", NULL };
    ck_assert_int_eq(rw_workers_index(3, plain), -1);
    ck_assert_int_eq(rw_workers_index(5, w1), 1);
    ck_assert_int_eq(rw_workers_index(3, bad), -1);
    ck_assert_int_eq(rw_workers_index(3, neg), -1);
    ck_assert_int_eq(rw_workers_index(2, last), -1);
}
END_TEST

static const struct { const char *in; unsigned off; int rc; const char *out; } endpoints[] = {
    { "tcp://127.0.0.1:7104", 1, 0, "tcp://127.0.0.1:7105" },
    { "tcp://127.0.0.1:7104", 2, 0, "tcp://127.0.0.1:7106" },
    { "tcp://[::1]:7000", 1, 0, "tcp://[::1]:7001" },
    { "tcp://127.0.0.1:0", 3, 0, "tcp://127.0.0.1:0" },
    { "tcp://*:*", 3, 0, "tcp://*:*" },
    { "", 1, 0, "" },
    { "tcp://127.0.0.1:65535", 1, RW_EINVAL, NULL },
    { "tcp://127.0.0.1:x", 1, RW_EINVAL, NULL },
    { "ipc:///tmp/sock", 1, RW_EINVAL, NULL },
};

START_TEST(test_endpoint_moves_fixed_ports_only)
{
    char out[64];
    int rc = rw_workers_endpoint(endpoints[_i].in, endpoints[_i].off, out, sizeof out);
    ck_assert_int_eq(rc, endpoints[_i].rc);
    if (rc == 0)
        ck_assert_str_eq(out, endpoints[_i].out);
}
END_TEST

static rw_config_t *config(const char *http_port, const char *pub)
{
    static const rw_cfg_spec_t spec[] = {
        { "http.port", RW_CFG_INT, "9104", 0, 65535, "" },
        { "sip.relay_port", RW_CFG_INT, "0", 0, 65535, "" },
        { NULL, 0, NULL, 0, 0, NULL },
    };
    char err[200];
    rw_config_t *c = rw_config_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(rw_config_add_spec(c, spec), 0);
    ck_assert_int_eq(rw_config_add_spec(c, rw_bus_cfg_spec), 0);
    ck_assert_int_eq(rw_config_set(c, "http.port", http_port, err, sizeof err), 0);
    ck_assert_int_eq(rw_config_set(c, "bus.pub", pub, err, sizeof err), 0);
    ck_assert_int_eq(rw_config_load(c, NULL, err, sizeof err), 0);
    return c;
}

START_TEST(test_env_gives_each_worker_its_own_ports_and_name)
{
    char env[3][256];
    rw_config_t *c = config("9104", "tcp://127.0.0.1:7104");
    ck_assert_int_eq(rw_workers_env(c, "edge-a", 1, env), 0);
    ck_assert_str_eq(env[0], "RINGWAY_INSTANCE=edge-a-w1");
    ck_assert_str_eq(env[1], "RINGWAY_HTTP_PORT=9106");
    ck_assert_str_eq(env[2], "RINGWAY_BUS_PUB=tcp://127.0.0.1:7106");
    rw_config_destroy(&c);
    c = config("0", "");
    ck_assert_int_eq(rw_workers_env(c, "edge-a", 0, env), 0);
    ck_assert_str_eq(env[1], "RINGWAY_HTTP_PORT=0");
    ck_assert_str_eq(env[2], "RINGWAY_BUS_PUB=");
    rw_config_destroy(&c);
    c = config("65535", "");
    ck_assert_int_eq(rw_workers_env(c, "edge-a", 0, env), RW_EINVAL);   /* 65536 */
    rw_config_destroy(&c);
}
END_TEST

START_TEST(test_port_lists_parse_and_refuse_garbage)
{
    unsigned short p[4];
    ck_assert_int_eq(rw_workers_parse_ports("5100,5101,40000", p, 4), 3);
    ck_assert_uint_eq(p[0], 5100);
    ck_assert_uint_eq(p[2], 40000);
    ck_assert_int_eq(rw_workers_parse_ports("", p, 4), 0);
    ck_assert_int_eq(rw_workers_parse_ports(NULL, p, 4), 0);
    ck_assert_int_eq(rw_workers_parse_ports("1,2,3,4,5", p, 4), 4);      /* at most max */
    const char *bad[] = { "0", "65536", "5100;5101", "51x", ",", "5100,,5101", "-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(rw_workers_parse_ports(bad[i], p, 4) < 0, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_relay_ports_fixed_base_or_distinct_free_ports)
{
    char env[400];
    unsigned short p[8];
    char err[200];
    rw_config_t *c = config("9104", "");
    ck_assert_int_eq(rw_config_set(c, "sip.relay_port", "5100", err, sizeof err), 0);
    ck_assert_int_eq(rw_workers_relay_env(c, 3, env, sizeof env), 0);
    ck_assert_str_eq(env, "RINGWAY_SIP_RELAY_PORTS=5100,5101,5102");
    rw_config_destroy(&c);
    c = config("9104", "");
    ck_assert_int_eq(rw_workers_relay_env(c, 8, env, sizeof env), 0);
    ck_assert_int_eq(rw_workers_parse_ports(strchr(env, '=') + 1, p, 8), 8);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(p[i], p[j]);
    ck_assert_int_eq(rw_workers_relay_env(c, 0, env, sizeof env), RW_EINVAL);
    rw_config_destroy(&c);
    c = config("9104", "");
    ck_assert_int_eq(rw_config_set(c, "sip.relay_port", "65535", err, sizeof err), 0);
    ck_assert_int_eq(rw_workers_relay_env(c, 2, env, sizeof env), RW_EINVAL);
    rw_config_destroy(&c);
}
END_TEST

START_TEST(test_run_file_names_relay_ports_and_workers)
{
    rw_worker_rec_t recs[4];
    char relay[64];
    const char *text = "relay 40000,40001\nworker 1 4242 99\nworker 0 4241 98\n"
                       "worker 0 7777 1\n"           /* a second line for 0: ignored */
                       "worker 9 5000 1\n"           /* beyond max */
                       "worker 2 1 5\nworker 3 12 0\n"   /* pid 1, no start time */
                       "worker 3 12 5 extra\nrelay 1;2\n";
    ck_assert_int_eq(rw_run_file_parse(text, relay, sizeof relay, recs, 4), 2);
    ck_assert_str_eq(relay, "40000,40001");
    ck_assert_int_eq(recs[0].pid, 4241);
    ck_assert_uint_eq(recs[0].start, 98);
    ck_assert_int_eq(recs[1].pid, 4242);
    ck_assert_int_eq(recs[2].pid, 0);
    ck_assert_int_eq(recs[3].pid, 0);
    ck_assert_int_eq(rw_run_file_parse("", relay, sizeof relay, recs, 4), 0);
    ck_assert_str_eq(relay, "");
    ck_assert_int_eq(rw_run_file_parse("relay 40000,40001", relay, 6, recs, 4), 0);
    ck_assert_str_eq(relay, "");                       /* too long for the buffer: not taken */
}
END_TEST

START_TEST(test_start_time_of_living_zombie_and_gone_processes)
{
    ck_assert_uint_gt(rw_run_file_proc_start(getpid()), 0);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        char c;
        close(pipefd[1]);
        _exit(read(pipefd[0], &c, 1) < 0);
    }
    close(pipefd[0]);
    unsigned long long start = rw_run_file_proc_start(child);
    ck_assert_uint_ge(start, rw_run_file_proc_start(getpid()));
    close(pipefd[1]);                                   /* the child exits: a zombie until reaped */
    siginfo_t si;
    ck_assert_int_eq(waitid(P_PID, (id_t) child, &si, WEXITED | WNOWAIT), 0);
    ck_assert_uint_eq(rw_run_file_proc_start(child), 0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_uint_eq(rw_run_file_proc_start(child), 0);
    ck_assert_uint_eq(rw_run_file_proc_start(0x7ffffff0), 0);
}
END_TEST

START_TEST(test_run_file_is_locked_recorded_and_removed)
{
    char dir[] = "/tmp/rw-workers-test-XXXXXX", relay[64], path[256];
    rw_run_file_t *a = NULL, *b = NULL;
    rw_worker_rec_t recs[3] = { { 4242, 17 }, { 0, 0 }, { 4244, 19 } }, back[3];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(rw_run_file_open(dir, "127.0.0.1", 5060, &a), 0);
    ck_assert_int_eq(rw_run_file_open(dir, "127.0.0.1", 5060, &b), RW_EEXIST);   /* a second supervisor */
    ck_assert_ptr_null(b);
    ck_assert_int_eq(rw_run_file_open(dir, "127.0.0.1", 5062, &b), 0);           /* another port */
    rw_run_file_destroy(&b, 1);
    rw_run_file_write(a, "40000,40001,40002", recs, 3);
    rw_run_file_write(a, "40000,40001,40002", recs, 3);                           /* rewritten, not appended */
    ck_assert_int_eq(rw_run_file_read(a, relay, sizeof relay, back, 3), 2);
    ck_assert_str_eq(relay, "40000,40001,40002");
    ck_assert_int_eq(back[0].pid, 4242);
    ck_assert_int_eq(back[1].pid, 0);
    ck_assert_uint_eq(back[2].start, 19);
    snprintf(path, sizeof path, "%s", rw_run_file_path(a));
    rw_run_file_destroy(&a, 0);                                                   /* died: the file stays */
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(rw_run_file_open(dir, "127.0.0.1", 5060, &a), 0);           /* the lock went with it */
    ck_assert_int_eq(rw_run_file_read(a, relay, sizeof relay, back, 3), 2);
    rw_run_file_destroy(&a, 1);                                                   /* a clean stop removes it */
    ck_assert_int_ne(access(path, F_OK), 0);
    rw_run_file_destroy(&a, 1);                                                   /* NULL: no-op */
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workers");
    TCase *tc = tcase_create("workers");
    tcase_add_test(tc, test_count_zero_means_online_cpus_and_is_capped);
    tcase_add_test(tc, test_worker_index_from_argv);
    tcase_add_loop_test(tc, test_endpoint_moves_fixed_ports_only, 0, (int) (sizeof endpoints / sizeof endpoints[0]));
    tcase_add_test(tc, test_env_gives_each_worker_its_own_ports_and_name);
    tcase_add_test(tc, test_port_lists_parse_and_refuse_garbage);
    tcase_add_test(tc, test_relay_ports_fixed_base_or_distinct_free_ports);
    tcase_add_test(tc, test_run_file_names_relay_ports_and_workers);
    tcase_add_test(tc, test_start_time_of_living_zombie_and_gone_processes);
    tcase_add_test(tc, test_run_file_is_locked_recorded_and_removed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
