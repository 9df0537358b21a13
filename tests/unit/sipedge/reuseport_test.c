/* tests/unit/sipedge/reuseport_test.c — the bind() shim: sockets on the enabled port share it
 * (UDP and TCP, IPv4 and IPv6), sockets on any other port and a disabled shim behave as libc. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "services/sip-edge/reuseport.h"

static int bind_to(int family, int type, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t) port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t) port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    int fd = socket(family, type, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *) &ss, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* A port nobody holds now (the kernel's choice for a fresh socket). */
static unsigned free_port(int family, int type)
{
    int fd = bind_to(family, type, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &ss, &len), 0);
    unsigned port = family == AF_INET ? ntohs(((struct sockaddr_in *) &ss)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
    close(fd);
    return port;
}

static int has_reuseport(int fd)
{
    int on = 0;
    socklen_t len = sizeof on;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len), 0);
    return on;
}

START_TEST(test_two_udp_sockets_bind_the_enabled_port)
{
    unsigned port = free_port(AF_INET, SOCK_DGRAM);
    rw_reuseport_enable(port);
    ck_assert_uint_eq(rw_reuseport_port(), port);
    int a = bind_to(AF_INET, SOCK_DGRAM, port);
    int b = bind_to(AF_INET, SOCK_DGRAM, port);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    ck_assert(has_reuseport(a) && has_reuseport(b));
    close(a);
    close(b);
    rw_reuseport_enable(0);
}
END_TEST

START_TEST(test_two_tcp_listeners_bind_the_enabled_port)
{
    unsigned port = free_port(AF_INET, SOCK_STREAM);
    rw_reuseport_enable(port);
    int a = bind_to(AF_INET, SOCK_STREAM, port);
    int b = bind_to(AF_INET, SOCK_STREAM, port);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(listen(a, 8), 0);
    ck_assert_int_eq(listen(b, 8), 0);
    close(a);
    close(b);
    rw_reuseport_enable(0);
}
END_TEST

START_TEST(test_ipv6_sockets_share_the_enabled_port)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    if (probe < 0)
        return;                   /* no IPv6 on this host */
    close(probe);
    int fd = bind_to(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return;                   /* no ::1 */
    close(fd);
    unsigned port = free_port(AF_INET6, SOCK_DGRAM);
    rw_reuseport_enable(port);
    int a = bind_to(AF_INET6, SOCK_DGRAM, port);
    int b = bind_to(AF_INET6, SOCK_DGRAM, port);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    close(a);
    close(b);
    rw_reuseport_enable(0);
}
END_TEST

START_TEST(test_other_ports_are_left_alone)
{
    unsigned sip = free_port(AF_INET, SOCK_DGRAM);
    unsigned other = free_port(AF_INET, SOCK_DGRAM);
    if (other == sip)
        other = free_port(AF_INET, SOCK_DGRAM);
    ck_assert_uint_ne(other, sip);
    rw_reuseport_enable(sip);
    int a = bind_to(AF_INET, SOCK_DGRAM, other);
    ck_assert_int_ge(a, 0);
    ck_assert(!has_reuseport(a));
    ck_assert_int_lt(bind_to(AF_INET, SOCK_DGRAM, other), 0);
    ck_assert_int_eq(errno, EADDRINUSE);
    int any = bind_to(AF_INET, SOCK_DGRAM, 0);      /* port 0 is never "ours" */
    ck_assert_int_ge(any, 0);
    ck_assert(!has_reuseport(any));
    close(a);
    close(any);
    rw_reuseport_enable(0);
}
END_TEST

START_TEST(test_disabled_shim_is_plain_bind)
{
    unsigned port = free_port(AF_INET, SOCK_DGRAM);
    rw_reuseport_enable(0);
    ck_assert_uint_eq(rw_reuseport_port(), 0);
    int a = bind_to(AF_INET, SOCK_DGRAM, port);
    ck_assert_int_ge(a, 0);
    ck_assert_int_lt(bind_to(AF_INET, SOCK_DGRAM, port), 0);
    ck_assert_int_eq(errno, EADDRINUSE);
    close(a);
    rw_reuseport_enable(70000);   /* out of range: off */
    ck_assert_uint_eq(rw_reuseport_port(), 0);
}
END_TEST

START_TEST(test_a_socket_without_reuseport_keeps_the_port)
{
    /* A process that bound the port without the shim (another program, or sip-edge with one
     * process) is not joined silently: the shared bind fails. */
    unsigned port = free_port(AF_INET, SOCK_DGRAM);
    int plain = bind_to(AF_INET, SOCK_DGRAM, port);
    ck_assert_int_ge(plain, 0);
    rw_reuseport_enable(port);
    ck_assert_int_lt(bind_to(AF_INET, SOCK_DGRAM, port), 0);
    ck_assert_int_eq(errno, EADDRINUSE);
    close(plain);
    rw_reuseport_enable(0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reuseport");
    TCase *tc = tcase_create("bind");
    tcase_add_test(tc, test_two_udp_sockets_bind_the_enabled_port);
    tcase_add_test(tc, test_two_tcp_listeners_bind_the_enabled_port);
    tcase_add_test(tc, test_ipv6_sockets_share_the_enabled_port);
    tcase_add_test(tc, test_other_ports_are_left_alone);
    tcase_add_test(tc, test_disabled_shim_is_plain_bind);
    tcase_add_test(tc, test_a_socket_without_reuseport_keeps_the_port);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
