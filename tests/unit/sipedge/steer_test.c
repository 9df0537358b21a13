/* tests/unit/sipedge/steer_test.c — the reuseport program on a real group of three UDP sockets
 * on 127.0.0.1 (joined in order, so socket i is index i): a response whose branch carries index
 * k reaches socket k wherever it comes from; a branch past the scan, another branch, "ff" and
 * (without spreading) requests get the kernel's hash (one sender: always one socket); a probe
 * reaches the socket it names and parses back. Spreading over the three: one sender's requests
 * reach the socket rw_steer_request_index() names for their branch, every socket gets some, a
 * transaction's retransmission, CANCEL and ACK reach its INVITE's socket, and a sender's
 * SUBSCRIBEs all reach one socket. On ::1, spreading without response steering: the same for
 * requests, and responses keep the hash. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "services/sip-edge/steer.h"

#define N 3

static int socks[N], tx[4];
static struct sockaddr_storage to;          /* the group's address and port */
static socklen_t tolen;
static unsigned spread;
static int family = AF_INET, responses = 1;

static void setup(void)
{
    int on = 1;
    memset(&to, 0, sizeof to);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &to;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        tolen = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *) &to;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        tolen = sizeof *a;
    }
    for (int i = 0; i < N; i++) {
        socks[i] = socket(family, SOCK_DGRAM, 0);
        ck_assert_int_ge(socks[i], 0);
        ck_assert_int_eq(setsockopt(socks[i], SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
        ck_assert_int_eq(bind(socks[i], (struct sockaddr *) &to, tolen), 0);
        if (i == 0) {                              /* the port the kernel chose, for the others */
            socklen_t len = tolen;
            ck_assert_int_eq(getsockname(socks[0], (struct sockaddr *) &to, &len), 0);
        }
    }
    ck_assert_int_eq(rw_steer_attach(socks[1], spread, responses), 0);   /* any member, for the group */
    for (int i = 0; i < 4; i++) {
        tx[i] = socket(family, SOCK_DGRAM, 0);
        ck_assert_int_ge(tx[i], 0);
    }
}

static void teardown(void)
{
    for (int i = 0; i < N; i++)
        close(socks[i]);
    for (int i = 0; i < 4; i++)
        close(tx[i]);
}

/* Sends text from sender s; the index of the socket that got it (-1: none). */
static int deliver(int s, const char *text)
{
    ck_assert_int_eq(sendto(tx[s], text, strlen(text), 0, (struct sockaddr *) &to, tolen), (int) strlen(text));
    char buf[2048];
    for (int spin = 0; spin < 1000; spin++) {         /* loopback delivery is synchronous; bounded anyway */
        for (int i = 0; i < N; i++)
            if (recv(socks[i], buf, sizeof buf, MSG_DONTWAIT) > 0)
                return i;
        usleep(1000);
    }
    return -1;
}

static void response(char *buf, size_t len, const char *branch, size_t pad)
{
    char filler[1024];
    ck_assert_uint_lt(pad, sizeof filler);
    memset(filler, 'x', pad);
    filler[pad] = '\0';
    snprintf(buf, len, "SIP/2.0 180 Ringing\r\nX-Pad: %s\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
             "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK77\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n", filler, branch);
}

START_TEST(test_response_reaches_the_socket_its_branch_names)
{
    char text[2048];
    for (int k = 0; k < N; k++)
        for (int s = 0; s < 4; s++) {
            char branch[64];
            snprintf(branch, sizeof branch, "z9hG4bKrw%02x%02x.abc", 7, k);
            response(text, sizeof text, branch, (size_t) (s * 90));
            ck_assert_int_eq(deliver(s, text), k);
        }
    /* index 10 and 11 (hex digits a, b) past the group: the hash, still delivered */
    response(text, sizeof text, "z9hG4bKrw000a.abc", 0);
    ck_assert_int_ge(deliver(0, text), 0);
}
END_TEST

/* With the hash, one sender's datagrams all reach one socket; steering sends them elsewhere. */
START_TEST(test_others_get_the_kernels_hash)
{
    char text[2048];
    const char *req = "INVITE sip:2000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKrw0102.abc\r\n\r\n";
    for (int s = 0; s < 4; s++) {
        int first = deliver(s, req);
        ck_assert_int_ge(first, 0);
        response(text, sizeof text, "z9hG4bKrw01ff.abc", 0);          /* unknown index */
        ck_assert_int_eq(deliver(s, text), first);
        response(text, sizeof text, "z9hG4bKab12cd.other", 0);         /* not ours */
        ck_assert_int_eq(deliver(s, text), first);
        response(text, sizeof text, "z9hG4bKrw0102.abc", RW_STEER_SCAN); /* past the scan */
        ck_assert_int_eq(deliver(s, text), first);
        ck_assert_int_eq(deliver(s, "SIP/2.0 100 Trying\r\n\r\n"), first);   /* shorter than the scan */
        /* one sender whose hash is not socket 2 shows the steering moves its responses */
        response(text, sizeof text, "z9hG4bKrw0002.abc", 0);
        ck_assert_int_eq(deliver(s, text), 2);
    }
}
END_TEST

START_TEST(test_probe_reaches_its_index_and_parses)
{
    char text[1024], *b;
    for (unsigned k = 0; k < N; k++) {
        ck_assert_uint_gt(rw_steer_probe(text, sizeof text, 5, k, 0x0123456789abcdefULL), 0);
        ck_assert_int_eq(deliver((int) k, text), (int) k);
        ck_assert_ptr_nonnull(b = strstr(text, "branch="));
        b += 7;
        b[strcspn(b, "\r")] = '\0';
        unsigned w = 99, kk = 99;
        uint64_t nonce = 0;
        ck_assert(rw_steer_probe_parse(b, &w, &kk, &nonce));
        ck_assert_uint_eq(w, 5);
        ck_assert_uint_eq(kk, k);
        ck_assert(nonce == 0x0123456789abcdefULL);
    }
    unsigned w, k;
    uint64_t nonce;
    ck_assert(!rw_steer_probe_parse("z9hG4bKrw0501.abcdef", &w, &k, &nonce));   /* a call's branch */
    ck_assert(!rw_steer_probe_parse("z9hG4bKrw0501.steer0123", &w, &k, &nonce));
    ck_assert(!rw_steer_probe_parse("z9hG4bKrw05.steer0123456789abcdef", &w, &k, &nonce));
    ck_assert(!rw_steer_probe_parse(NULL, &w, &k, &nonce));
    ck_assert_uint_eq(rw_steer_probe(text, 40, 1, 1, 1), 0);                 /* too small */
}
END_TEST

/* ---- requests spread by their branch ------------------------------------------------------ */

static void plain_setup(void)
{
    family = AF_INET;
    spread = 0;
    responses = 1;
    setup();
}

static void spread_setup(void)
{
    family = AF_INET;
    spread = N;
    responses = 1;
    setup();
}

static void request(char *buf, size_t len, const char *method, const char *branch, const char *after,
                    const char *extra)
{
    snprintf(buf, len, "%s sip:2000@ringway.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=%s%s\r\n"
             "From: <sip:bench@ringway.local>;tag=1\r\nTo: <sip:2000@ringway.local>\r\nCall-ID: c%s\r\n"
             "CSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n", method, branch, after, branch, method, extra);
}

START_TEST(test_one_senders_requests_spread_by_branch)
{
    char text[2048], branch[64];
    int got[N] = { 0 };
    for (int i = 0; i < 90; i++) {                  /* SIPp's branches: z9hG4bK-<pid>-<call>-<msg> */
        snprintf(branch, sizeof branch, "z9hG4bK-4242-%d-0", i + 1);
        request(text, sizeof text, "INVITE", branch, ";rport", "");
        unsigned want = rw_steer_request_index(branch, N);
        ck_assert_uint_lt(want, N);
        ck_assert_int_eq(deliver(0, text), (int) want);
        got[want]++;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_ge(got[i], 15);               /* 30 each if even; a poor hash leaves one bare */
    /* what ends the branch: ';', ',', white space, the end; only the first RW_STEER_HASHED bytes count */
    unsigned k = rw_steer_request_index("z9hG4bKabc", N);
    ck_assert_uint_eq(rw_steer_request_index("z9hG4bKabc;rport", N), k);
    ck_assert_uint_eq(rw_steer_request_index("z9hG4bKabc ;rport", N), k);
    ck_assert_uint_eq(rw_steer_request_index("z9hG4bKabc,x", N), k);
    ck_assert_uint_eq(rw_steer_request_index("z9hG4bK0123456789abcdef0123456789abcdefX",
                                             N), rw_steer_request_index("z9hG4bK0123456789abcdef0123456789abcdefY", N));
    ck_assert_uint_eq(rw_steer_request_index("abc", N), RW_STEER_UNKNOWN);
    ck_assert_uint_eq(rw_steer_request_index("z9hG4bKabc", 1), RW_STEER_UNKNOWN);
    const char *after[] = { "", ";rport", " ;received=127.0.0.1", ",x" };
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        request(text, sizeof text, "OPTIONS", "z9hG4bKabc", after[i], "");
        ck_assert_int_eq(deliver(1, text), (int) k);
    }
}
END_TEST

/* Whatever sender and whatever else differs, a transaction's requests reach one socket. */
START_TEST(test_a_transaction_stays_on_one_socket)
{
    char text[2048], branch[64];
    for (int i = 0; i < 30; i++) {
        snprintf(branch, sizeof branch, "z9hG4bK%08x.%d", 0x9e3779b9u * (unsigned) i, i);
        unsigned want = rw_steer_request_index(branch, N);
        request(text, sizeof text, "INVITE", branch, ";rport", "Max-Forwards: 70\r\nContact: <sip:a@127.0.0.1>\r\n");
        ck_assert_int_eq(deliver(i % 4, text), (int) want);
        ck_assert_int_eq(deliver(i % 4, text), (int) want);                /* retransmitted */
        request(text, sizeof text, "CANCEL", branch, ";rport", "Max-Forwards: 70\r\n");
        ck_assert_int_eq(deliver(i % 4, text), (int) want);
        request(text, sizeof text, "ACK", branch, ";rport", "");
        ck_assert_int_eq(deliver(i % 4, text), (int) want);
    }
}
END_TEST

/* A SUBSCRIBE keeps the sender's hash whatever its branch: a refresh (a new branch) must reach
 * the worker that holds the subscription. */
START_TEST(test_subscribe_keeps_the_hash)
{
    char text[2048], branch[64];
    int first = -1, spread_over = 0, seen[N] = { 0 };
    for (int i = 0; i < 30; i++) {
        snprintf(branch, sizeof branch, "z9hG4bK-77-%d-0", i);
        request(text, sizeof text, "SUBSCRIBE", branch, ";rport", "Event: presence\r\n");
        int got = deliver(2, text);
        ck_assert_int_ge(got, 0);
        if (first < 0)
            first = got;
        ck_assert_int_eq(got, first);
        seen[rw_steer_request_index(branch, N)]++;
    }
    for (int i = 0; i < N; i++)
        spread_over += seen[i] > 0;
    ck_assert_int_eq(spread_over, N);             /* an INVITE with those branches would spread */
}
END_TEST

/* IPv6: the workers learn no index there, so responses keep the sender's hash whatever index
 * their branch names, while requests spread (the tests above, run on ::1 too). */
static void spread6_setup(void)
{
    family = AF_INET6;
    spread = N;
    responses = 0;
    setup();
}

START_TEST(test_ipv6_responses_keep_the_hash)
{
    char text[2048];
    for (int s = 0; s < 4; s++) {
        int first = -1;
        for (int k = 0; k < N; k++) {
            char branch[64];
            snprintf(branch, sizeof branch, "z9hG4bKrw%02x%02x.abc", 7, k);
            response(text, sizeof text, branch, 0);
            int got = deliver(s, text);
            ck_assert_int_ge(got, 0);
            if (first < 0)
                first = got;
            ck_assert_int_eq(got, first);
        }
    }
    ck_assert_int_eq(rw_steer_attach(socks[0], 1, 0), -1);   /* nothing to steer: refused */
}
END_TEST

/* No RFC 3261 branch, or none in the scan: the sender's hash (one sender, one socket). */
START_TEST(test_requests_without_a_branch_keep_the_hash)
{
    char text[2048];
    for (int s = 0; s < 4; s++) {
        int first = -1;
        for (int i = 0; i < 6; i++) {
            char branch[32];
            snprintf(branch, sizeof branch, "1b2543x%d", i);               /* RFC 2543: no magic cookie */
            request(text, sizeof text, "INVITE", branch, "", "");
            int got = deliver(s, text);
            ck_assert_int_ge(got, 0);
            if (first < 0)
                first = got;
            ck_assert_int_eq(got, first);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("steer");
    TCase *tc = tcase_create("steer");
    tcase_add_checked_fixture(tc, plain_setup, teardown);
    tcase_add_test(tc, test_response_reaches_the_socket_its_branch_names);
    tcase_add_test(tc, test_others_get_the_kernels_hash);
    tcase_add_test(tc, test_probe_reaches_its_index_and_parses);
    suite_add_tcase(s, tc);
    TCase *sp = tcase_create("spread");
    tcase_add_checked_fixture(sp, spread_setup, teardown);
    tcase_add_test(sp, test_one_senders_requests_spread_by_branch);
    tcase_add_test(sp, test_a_transaction_stays_on_one_socket);
    tcase_add_test(sp, test_requests_without_a_branch_keep_the_hash);
    tcase_add_test(sp, test_subscribe_keeps_the_hash);
    tcase_add_test(sp, test_response_reaches_the_socket_its_branch_names);
    tcase_add_test(sp, test_probe_reaches_its_index_and_parses);
    suite_add_tcase(s, sp);
    TCase *v6 = tcase_create("ipv6");
    tcase_add_checked_fixture(v6, spread6_setup, teardown);
    tcase_add_test(v6, test_one_senders_requests_spread_by_branch);
    tcase_add_test(v6, test_a_transaction_stays_on_one_socket);
    tcase_add_test(v6, test_subscribe_keeps_the_hash);
    tcase_add_test(v6, test_ipv6_responses_keep_the_hash);
    suite_add_tcase(s, v6);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
