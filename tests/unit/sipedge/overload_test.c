/* tests/unit/sipedge/overload_test.c — the overload guard: which signal refuses what (a table),
 * the SIP port's receive queue read from a real UDP socket, and the bind() shim remembering the
 * SIP port's datagram sockets for it. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "services/sip-edge/overload.h"
#include "services/sip-edge/reuseport.h"

static const struct {
    int is_register;
    rw_load_t load;
    const char *reason;           /* NULL: admitted */
} cases[] = {
    { 0, { 0, 0, 0, 0, 0, 0 }, NULL },
    { 0, { 10, 100, 10, 500, 1023, 0 }, NULL },                  /* everything just under */
    { 0, { 0, 0, 0, 0, 1024, 0 }, "queue" },
    { 1, { 0, 0, 0, 0, 4096, 0 }, "queue" },                    /* REGISTERs too */
    { 0, { 11, 0, 0, 0, 0, 0 }, "routing" },
    { 0, { 0, 0, 0, 501, 0, 0 }, "latency" },
    { 0, { 0, 101, 0, 0, 0, 0 }, "calls" },
    { 1, { 0, 101, 0, 0, 0, 0 }, NULL },                       /* calls do not hold REGISTERs */
    { 1, { 0, 0, 11, 0, 0, 0 }, "registers" },
    { 0, { 0, 0, 11, 0, 0, 0 }, NULL },
};

START_TEST(test_each_signal_refuses_at_its_limit)
{
    rw_overload_opts_t o = { .max_routing = 11, .max_wait_ms = 501, .max_queue_kb = 1024,
                             .max_calls = 101, .max_registers = 11, .retry_after_s = 7 };
    rw_overload_t *ov = rw_overload_new(NULL, &o);
    ck_assert_ptr_nonnull(ov);
    const char *r = rw_overload_admit(ov, cases[_i].is_register, &cases[_i].load);
    if (cases[_i].reason)
        ck_assert_msg(r && !strcmp(r, cases[_i].reason), "case %d: got %s", _i, r ? r : "admitted");
    else
        ck_assert_msg(r == NULL, "case %d refused: %s", _i, r);
    ck_assert_uint_eq(rw_overload_retry_after(ov), 7);
    ck_assert(rw_overload_watches_queue(ov));
    rw_overload_destroy(&ov);
}
END_TEST

START_TEST(test_zero_limits_are_off)
{
    rw_overload_opts_t o = { 0 };
    rw_overload_t *ov = rw_overload_new(NULL, &o);
    rw_load_t heavy = { 1000000, 1000000, 1000000, 1000000, 1000000, 0 };
    ck_assert_ptr_null(rw_overload_admit(ov, 0, &heavy));
    ck_assert_ptr_null(rw_overload_admit(ov, 1, &heavy));
    ck_assert(!rw_overload_watches_queue(ov));
    rw_overload_destroy(&ov);
}
END_TEST

/* The queue limit refuses only a standing queue: every reading at or above it for
 * queue_standing_ms. A reading below it starts the count again (a burst that drained). */
START_TEST(test_queue_refuses_only_once_it_stands)
{
    rw_overload_opts_t o = { .max_queue_kb = 1024, .queue_standing_ms = 100 };
    rw_overload_t *ov = rw_overload_new(NULL, &o);
    ck_assert_ptr_nonnull(ov);
    static const struct { uint64_t now_ms; unsigned kb; int is_register; int refused; } steps[] = {
        { 1000, 2000, 0, 0 },      /* first reading at the limit: a burst so far */
        { 1050, 1500, 1, 0 },
        { 1099, 1024, 0, 0 },
        { 1100, 1024, 0, 1 },      /* 100 ms at or above: standing */
        { 1130, 9000, 1, 1 },      /* REGISTERs too */
        { 1131, 1023, 0, 0 },      /* drained below: taken, and the count starts again */
        { 1140, 4096, 0, 0 },
        { 1239, 4096, 0, 0 },
        { 1240, 4096, 0, 1 },
        { 1241, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        rw_load_t l = { .queued_kb = steps[i].kb, .now_ms = steps[i].now_ms };
        const char *r = rw_overload_admit(ov, steps[i].is_register, &l);
        if (steps[i].refused)
            ck_assert_msg(r && !strcmp(r, "queue"), "step %zu (t=%llu): got %s", i,
                          (unsigned long long) steps[i].now_ms, r ? r : "admitted");
        else
            ck_assert_msg(r == NULL, "step %zu (t=%llu) refused: %s", i, (unsigned long long) steps[i].now_ms, r);
    }
    rw_overload_destroy(&ov);
}
END_TEST

/* A UDP socket on 127.0.0.1 bound through the shim; its port into *port. */
static int udp_socket(unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    a.sin_port = htons((uint16_t) *port);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

START_TEST(test_queue_of_the_tracked_sip_socket_is_measured)
{
    unsigned port = 0;
    int probe = udp_socket(&port);            /* find a free port, then track and bind it again */
    close(probe);
    rw_reuseport_track(port);
    int fd = udp_socket(&port);
    int fds[RW_REUSEPORT_TRACKED_MAX];
    int n = rw_reuseport_udp_fds(fds, RW_REUSEPORT_TRACKED_MAX);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(fds[0], fd);
    ck_assert_uint_lt(rw_overload_queued_kb(fds, n), 4);   /* empty */

    unsigned other = 0;
    int tx = udp_socket(&other);                            /* another port: not tracked */
    ck_assert_int_eq(rw_reuseport_udp_fds(fds, RW_REUSEPORT_TRACKED_MAX), 1);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char buf[1000];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(sendto(tx, buf, sizeof buf, 0, (struct sockaddr *) &to, sizeof to), (int) sizeof buf);
    unsigned kb = rw_overload_queued_kb(fds, n);
    ck_assert_msg(kb >= 195, "200 datagrams of 1000 bytes waiting: %u KiB", kb);
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    ck_assert_uint_lt(rw_overload_queued_kb(fds, n), 4);   /* read: empty again */
    rw_reuseport_track(0);
    close(tx);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("overload");
    TCase *tc = tcase_create("overload");
    tcase_add_loop_test(tc, test_each_signal_refuses_at_its_limit, 0, (int) (sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_zero_limits_are_off);
    tcase_add_test(tc, test_queue_refuses_only_once_it_stands);
    tcase_add_test(tc, test_queue_of_the_tracked_sip_socket_is_measured);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
