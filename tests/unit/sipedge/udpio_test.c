/* tests/unit/sipedge/udpio_test.c — Sofia's UDP I/O on the lean path: reads through the size
 * query, zero-length datagrams, sockets left on Sofia's path, a pending ICMP error cleared by
 * the send, a real send error, and the definitions libsofia's calls resolve to. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/su.h>

#include "services/sip-edge/udpio.h"

static int udp_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    socklen_t len = sizeof *addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) addr, &len), 0);
    return fd;
}

static void send_to(int fd, const struct sockaddr_in *to, const void *data, size_t len)
{
    ck_assert_int_eq(sendto(fd, data, len, 0, (const struct sockaddr *) to, sizeof *to), (ssize_t) len);
}

/* Waits (bounded) until fd has events among want. */
static int wait_for(int fd, short want)
{
    struct pollfd p = { .fd = fd, .events = want };
    return poll(&p, 1, 5000) == 1 ? p.revents : 0;
}

static void teardown(void)
{
    rw_udpio_reset();
}

START_TEST(test_lean_read_through_size)
{
    struct sockaddr_in a, b;
    int fa = udp_socket(&a), fb = udp_socket(&b);
    ck_assert_int_eq(rw_udpio_lean(&fa, 1), 0);
    ck_assert_int_eq(rw_udpio_count(), 1);
    send_to(fb, &a, "hello", 5);
    send_to(fb, &a, "world!", 6);
    ck_assert(wait_for(fa, POLLIN) & POLLIN);
    ck_assert_int_eq(su_getmsgsize(fa), 5);
    ck_assert_int_eq(su_getmsgsize(fa), 5);      /* asked again: the same datagram */
    char x[3], y[8];
    su_iovec_t iov[2] = { { .siv_base = x, .siv_len = 3 }, { .siv_base = y, .siv_len = 2 } };
    su_sockaddr_t from;
    socklen_t fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    ck_assert_int_eq(su_vrecv(fa, iov, 2, 0, &from, &fromlen), 5);
    ck_assert(!memcmp(x, "hel", 3) && !memcmp(y, "lo", 2));
    ck_assert_uint_eq(fromlen, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(from.su_sin.sin_port, b.sin_port);
    ck_assert_uint_eq(from.su_sin.sin_addr.s_addr, b.sin_addr.s_addr);
    ck_assert_int_eq(su_getmsgsize(fa), 6);
    char z[6];
    su_iovec_t one = { .siv_base = z, .siv_len = sizeof z };
    fromlen = sizeof from;
    ck_assert_int_eq(su_vrecv(fa, &one, 1, 0, &from, &fromlen), 6);
    ck_assert(!memcmp(z, "world!", 6));
    ck_assert_int_eq(su_getmsgsize(fa), 0);      /* nothing waiting, and nothing blocks */
    close(fa);
    close(fb);
}
END_TEST

START_TEST(test_zero_length_datagram_skipped)
{
    struct sockaddr_in a, b;
    int fa = udp_socket(&a), fb = udp_socket(&b);
    ck_assert_int_eq(rw_udpio_lean(&fa, 1), 0);
    send_to(fb, &a, "", 0);
    send_to(fb, &a, "x", 1);
    ck_assert(wait_for(fa, POLLIN) & POLLIN);
    for (int i = 0; i < 100 && su_getmsgsize(fa) == 0; i++)   /* the second may trail the first */
        wait_for(fa, POLLIN);
    ck_assert_int_eq(su_getmsgsize(fa), 1);
    char c = 0;
    su_iovec_t one = { .siv_base = &c, .siv_len = 1 };
    ck_assert_int_eq(su_vrecv(fa, &one, 1, 0, NULL, NULL), 1);
    ck_assert_int_eq(c, 'x');
    close(fa);
    close(fb);
}
END_TEST

START_TEST(test_other_sockets_keep_sofias_path)
{
    struct sockaddr_in a, b, c;
    int fa = udp_socket(&a), fb = udp_socket(&b), fc = udp_socket(&c);
    ck_assert_int_eq(rw_udpio_lean(&fc, 1), 0);  /* another socket is lean, fa is not */
    send_to(fb, &a, "abcd", 4);
    ck_assert(wait_for(fa, POLLIN) & POLLIN);
    ck_assert_int_eq(su_getmsgsize(fa), 4);
    char buf[8];
    ck_assert_int_eq(recv(fa, buf, sizeof buf, 0), 4);   /* FIONREAD did not consume it */
    ck_assert_int_eq(su_getmsgsize(fa), 0);
    close(fa);
    close(fb);
    close(fc);
}
END_TEST

/* An ICMP port unreachable for an earlier datagram leaves an error pending on the socket;
 * Sofia cleared it with a getsockopt before each send. On the lean path the send clears it. */
static void make_pending_error(int fd)
{
    int on = 1;
    ck_assert_int_eq(setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on), 0);
    struct sockaddr_in dead;
    int fdead = udp_socket(&dead);
    close(fdead);                                /* nothing listens there now */
    send_to(fd, &dead, "ping", 4);
    ck_assert(wait_for(fd, 0) & POLLERR);        /* the ICMP error arrived */
}

START_TEST(test_pending_error_cleared_by_send)
{
    struct sockaddr_in a, b, d, e;
    int fa = udp_socket(&a), fb = udp_socket(&b);
    /* What the kernel does without the clearing: the next send fails with the old error. */
    int fd = udp_socket(&d), fe = udp_socket(&e);
    make_pending_error(fd);
    errno = 0;
    ck_assert_int_eq(sendto(fd, "x", 1, 0, (struct sockaddr *) &e, sizeof e), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    /* The lean socket: no error is reported before the send, and the send goes through. */
    ck_assert_int_eq(rw_udpio_lean(&fa, 1), 0);
    make_pending_error(fa);
    ck_assert_int_eq(su_soerror(fa), 0);
    su_iovec_t iov = { .siv_base = (void *) "ok", .siv_len = 2 };
    su_sockaddr_t to;
    memset(&to, 0, sizeof to);
    memcpy(&to, &b, sizeof b);
    ck_assert_int_eq(su_vsend(fa, &iov, 1, MSG_NOSIGNAL, &to, sizeof b), 2);
    char buf[4];
    ck_assert(wait_for(fb, POLLIN) & POLLIN);
    ck_assert_int_eq(recv(fb, buf, sizeof buf, 0), 2);
    ck_assert(!memcmp(buf, "ok", 2));
    close(fa);
    close(fb);
    close(fd);
    close(fe);
}
END_TEST

START_TEST(test_real_send_error_fails)
{
    struct sockaddr_in a;
    int fa = udp_socket(&a);
    ck_assert_int_eq(rw_udpio_lean(&fa, 1), 0);
    su_sockaddr_t to;
    memset(&to, 0, sizeof to);
    to.su_sin.sin_family = AF_INET;
    to.su_sin.sin_port = htons(9);
    to.su_sin.sin_addr.s_addr = htonl(INADDR_BROADCAST);  /* no SO_BROADCAST: EACCES */
    su_iovec_t iov = { .siv_base = (void *) "x", .siv_len = 1 };
    errno = 0;
    ck_assert_int_eq(su_vsend(fa, &iov, 1, 0, &to, sizeof to.su_sin), -1);
    ck_assert_int_eq(errno, EACCES);
    close(fa);
}
END_TEST

START_TEST(test_bounds)
{
    int fds[RW_UDPIO_MAX + 1];
    for (int i = 0; i <= RW_UDPIO_MAX; i++)
        fds[i] = 100 + i;
    ck_assert_int_eq(rw_udpio_lean(fds, RW_UDPIO_MAX + 1), -1);
    ck_assert_int_eq(rw_udpio_count(), 0);
    ck_assert_int_eq(rw_udpio_lean(fds, 2), 0);
    ck_assert_int_eq(rw_udpio_lean(fds, 2), 0);  /* the same sockets again: counted once */
    ck_assert_int_eq(rw_udpio_count(), 2);
    rw_udpio_reset();
    ck_assert_int_eq(rw_udpio_count(), 0);
}
END_TEST

/* Linked with -Wl,--export-dynamic-symbol (as ringway-sip-edge is), these are the definitions
 * the dynamic linker gives libsofia's calls. */
START_TEST(test_libsofia_calls_land_here)
{
    ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "su_getmsgsize"), (void *) su_getmsgsize);
    ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "su_vrecv"), (void *) su_vrecv);
    ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "su_soerror"), (void *) su_soerror);
    ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "su_vsend"), (void *) su_vsend);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("udpio");
    TCase *tc = tcase_create("lean");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_lean_read_through_size);
    tcase_add_test(tc, test_zero_length_datagram_skipped);
    tcase_add_test(tc, test_other_sockets_keep_sofias_path);
    tcase_add_test(tc, test_pending_error_cleared_by_send);
    tcase_add_test(tc, test_real_send_error_fails);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_libsofia_calls_land_here);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
