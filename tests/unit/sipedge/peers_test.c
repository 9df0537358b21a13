/* tests/unit/sipedge/peers_test.c — sip.peers parsing, source matching, trunk choice by prefix. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "services/sip-edge/peers.h"

static const char *const TABLE =
    "pbx 127.0.0.1:5070 redirect; peer 127.0.0.1:0 proxy; "
    "t1 127.0.0.1:5081 trunk +44; t2 [::1]:5082 trunk +44,+4420; any 127.0.0.1:5083 trunk";

static rw_peers_t parsed(void)
{
    rw_peers_t p;
    char err[128] = "";
    ck_assert_int_eq(rw_peers_parse(&p, TABLE, err, sizeof err), 0);
    return p;
}

START_TEST(parses_every_mode_address_and_prefix)
{
    rw_peers_t p = parsed();
    ck_assert_uint_eq(p.n, 5);
    ck_assert_int_eq(p.peers[0].mode, RW_PEER_REDIRECT);
    ck_assert_int_eq(p.peers[1].mode, RW_PEER_PROXY);
    ck_assert_uint_eq(p.peers[1].port, 0);
    ck_assert_int_eq(p.peers[3].mode, RW_PEER_TRUNK);
    ck_assert_str_eq(p.peers[3].host, "::1");
    ck_assert_uint_eq(p.peers[3].n_prefixes, 2);
    ck_assert_str_eq(p.peers[3].prefixes[1], "+4420");
    ck_assert_ptr_eq(rw_peers_find(&p, "t2"), &p.peers[3]);
    ck_assert_ptr_null(rw_peers_find(&p, "nope"));
}
END_TEST

START_TEST(empty_text_gives_empty_table)
{
    rw_peers_t p;
    char err[64];
    ck_assert_int_eq(rw_peers_parse(&p, "", err, sizeof err), 0);
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

static const char *const BAD[] = {
    "pbx 127.0.0.1:5070",               /* no mode */
    "pbx 127.0.0.1:5070 sideways",      /* unknown mode */
    "pbx host.example:5070 proxy",      /* not an address */
    "pbx 127.0.0.1 proxy",              /* no port */
    "pbx [::1 proxy",                   /* unclosed bracket */
};

START_TEST(refuses_malformed_entries_with_a_reason)
{
    rw_peers_t p;
    char err[128] = "";
    ck_assert_int_eq(rw_peers_parse(&p, BAD[_i], err, sizeof err), RW_EINVAL);
    ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(matches_source_by_address_and_port)
{
    rw_peers_t p = parsed();
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5070) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_ptr_eq(rw_peers_match(&p, (struct sockaddr *) &a), &p.peers[0]);
    a.sin_port = htons(40000);          /* only the port-0 peer takes any port */
    ck_assert_ptr_eq(rw_peers_match(&p, (struct sockaddr *) &a), &p.peers[1]);
    inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    ck_assert_ptr_null(rw_peers_match(&p, (struct sockaddr *) &a));
    struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_port = htons(5082) };
    inet_pton(AF_INET6, "::1", &b.sin6_addr);
    ck_assert_ptr_eq(rw_peers_match(&p, (struct sockaddr *) &b), &p.peers[3]);
}
END_TEST

static const struct { const char *number; const char *order; } TRUNKS[] = {
    { "+442071234567", "t2 t1 any" },   /* +4420 is longer than +44 */
    { "+441632960001", "t1 t2 any" },   /* same prefix length: config order */
    { "+33123456789", "any" },          /* only the trunk without prefixes */
};

START_TEST(chooses_trunks_longest_prefix_first_then_config_order)
{
    rw_peers_t p = parsed();
    const rw_peer_t *out[RW_PEERS_MAX];
    size_t n = rw_peers_trunks_for(&p, TRUNKS[_i].number, out, RW_PEERS_MAX);
    char got[128] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(got, i ? " " : "");
        strcat(got, out[i]->name);
    }
    ck_assert_str_eq(got, TRUNKS[_i].order);
}
END_TEST

START_TEST(peer_uri_brackets_ipv6_and_refuses_overflow)
{
    rw_peers_t p = parsed();
    char buf[64];
    ck_assert_int_eq(rw_peer_uri(&p.peers[3], "+441632960001", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "sip:+441632960001@[::1]:5082");
    ck_assert_int_eq(rw_peer_uri(&p.peers[2], "+441632960001", buf, 10), RW_ERANGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("peers");
    TCase *tc = tcase_create("peers");
    tcase_add_test(tc, parses_every_mode_address_and_prefix);
    tcase_add_test(tc, empty_text_gives_empty_table);
    tcase_add_loop_test(tc, refuses_malformed_entries_with_a_reason, 0, (int) (sizeof BAD / sizeof BAD[0]));
    tcase_add_test(tc, matches_source_by_address_and_port);
    tcase_add_loop_test(tc, chooses_trunks_longest_prefix_first_then_config_order, 0,
                        (int) (sizeof TRUNKS / sizeof TRUNKS[0]));
    tcase_add_test(tc, peer_uri_brackets_ipv6_and_refuses_overflow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
