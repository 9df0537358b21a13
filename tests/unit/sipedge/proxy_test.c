/* tests/unit/sipedge/proxy_test.c — the proxy's answers and relays over real UDP on loopback:
 * an edge and its proxy (no router, no Redis: the location store in memory), a raw socket as
 * the caller (listed as a trusted peer) and another as the called device. In-dialog responses,
 * provisional and final, reach the caller without identity headers; out-of-dialog requests other
 * than INVITE get 405 with Allow for the edge itself, 404 without a user part elsewhere, 483 at
 * Max-Forwards 0, 480 for a user with no registration (Redis away: the user part taken as an
 * extension, the location store's memory copy empty); forwarded to a registered device, no
 * provisional reaches the caller and a 408 (RFC 4320) no answer at all. INVITEs carried out
 * from the plan sip-edge's fallback evaluates (no router): a target naming a device rings only
 * the bindings registered as that device, a target naming none rings every binding of the user. */
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "common/clock.h"
#include "protocols/route.h"
#include "services/sip-edge/edge.h"
#include "services/sip-edge/location.h"
#include "services/sip-edge/proxy.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/sipraw.h"

static su_root_t *root;
static rw_edge_t *edge;
static rw_proxy_t *proxy;
static rw_location_t *loc;
static rw_fallback_store_t *fb;   /* the fallback (settings evaluated here), on the forwarding tests' Redis */
static rw_redis_fixture_t fx;     /* the forwarding tests' location store (fx.pid 0: memory only) */
static rw_aredis_t *redis;
static rw_peers_t peers;
static int caller, device;        /* raw sockets */
static unsigned edge_port, caller_port, device_port;
static char got[8192];

static int udp_socket(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void setup(void)
{
    char spec[128], err[128];
    su_init();
    root = su_root_create(NULL);
    caller = udp_socket(&caller_port);
    device = udp_socket(&device_port);
    snprintf(spec, sizeof spec, "pbx 127.0.0.1:%u proxy", caller_port);
    ck_assert_int_eq(rw_peers_parse(&peers, spec, err, sizeof err), 0);
    edge_port = (unsigned) rw_proc_free_port();
    rw_edge_opts_t eo = { "127.0.0.1", "", edge_port, "udp", 65536, "ringway.local", NULL, 0, 0, -1, 0, NULL, 0 };
    edge = rw_edge_new(root, &eo);
    ck_assert_ptr_nonnull(edge);
    if (fx.pid) {
        redis = rw_redis_fixture_client(&fx, root);
        ck_assert_ptr_nonnull(redis);
    }
    loc = rw_location_new(root, redis, NULL);
    ck_assert_ptr_nonnull(loc);
    if (redis)
        ck_assert_ptr_nonnull(fb = rw_fallback_new(redis, "ringway.local", 20000, 16, 16));
    rw_proxy_opts_t po = { "ringway.local", "", 150, &peers, NULL, NULL };
    proxy = rw_proxy_new(root, edge, NULL, loc, NULL, fb, NULL, NULL, &po);
    ck_assert_ptr_nonnull(proxy);
    rw_edge_set_handlers(edge, NULL, proxy);
}

static void teardown(void)
{
    rw_edge_set_handlers(edge, NULL, NULL);
    rw_proxy_destroy(&proxy);
    rw_fallback_destroy(&fb);
    rw_location_destroy(&loc);
    rw_aredis_destroy(&redis);
    rw_edge_destroy(&edge);
    su_root_destroy(root);
    close(caller);
    close(device);
    su_deinit();
}

static void send_to(int fd, unsigned port, const char *text)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    size_t n = strlen(text);
    ck_assert_int_eq(sendto(fd, text, n, 0, (struct sockaddr *) &a, sizeof a), (ssize_t) n);
}

/* Runs the loop until fd receives a datagram starting with `start` (into got). */
static int recv_on(int fd, const char *start, int ms)
{
    return rw_sipraw_await(root, fd, start, ms, got, sizeof got, NULL);
}

/* The device answers the request in got (both Vias kept) with status and identity headers. */
static void device_answer(int status)
{
    char via[1024] = "", fromh[256], to[256], cid[128], cseq[64], buf[4096];
    const char *p = got;
    size_t off = 0;
    while ((p = strstr(p, "\r\nVia:")) && off < sizeof via) {   /* every Via, in order */
        size_t n = strcspn(p + 2, "\r");
        off += (size_t) snprintf(via + off, sizeof via - off, "%.*s\r\n", (int) n, p + 2);
        p += 2;
    }
    rw_sipraw_header(got, "From", fromh, sizeof fromh);
    rw_sipraw_header(got, "To", to, sizeof to);
    rw_sipraw_header(got, "Call-ID", cid, sizeof cid);
    rw_sipraw_header(got, "CSeq", cseq, sizeof cseq);
    int n = snprintf(buf, sizeof buf, "SIP/2.0 %d Whatever\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
                     "CSeq: %s\r\nP-Asserted-Identity: <sip:+447700900123@ringway.local>\r\n"
                     "Remote-Party-ID: <sip:+447700900123@ringway.local>\r\nX-Keep: yes\r\n"
                     "Content-Length: 0\r\n\r\n", status, via, fromh, to, cid, cseq);
    ck_assert_int_lt(n, (int) sizeof buf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) edge_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(sendto(device, buf, (size_t) n, 0, (struct sockaddr *) &a, sizeof a), n);
}

static void assert_no_identity(void)
{
    ck_assert_msg(!strcasestr(got, "P-Asserted-Identity") && !strcasestr(got, "Remote-Party-ID"),
                  "identity relayed: %.300s", got);
    ck_assert_ptr_nonnull(strstr(got, "X-Keep: yes"));
}

START_TEST(in_dialog_responses_lose_identity_headers)
{
    char req[2048];
    snprintf(req, sizeof req,
             "INVITE sip:bob@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKreinv1;rport\r\n"
             "Route: <sip:127.0.0.1:%u;lr>\r\nFrom: <sip:alice@ringway.local>;tag=a1\r\n"
             "To: <sip:bob@ringway.local>;tag=b1\r\nCall-ID: proxy-test-reinvite\r\nCSeq: 2 INVITE\r\n"
             "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", device_port, caller_port, edge_port);
    send_to(caller, edge_port, req);
    ck_assert(recv_on(device, "INVITE sip:bob@", 3000));
    ck_assert_ptr_null(strstr(got, "Route:"));                  /* ours removed */
    char mf[16];
    rw_sipraw_header(got, "Max-Forwards", mf, sizeof mf);
    ck_assert_str_eq(mf, "69");
    char invite[8192];
    memcpy(invite, got, sizeof invite);
    device_answer(180);
    ck_assert(recv_on(caller, "SIP/2.0 180", 3000));
    assert_no_identity();
    memcpy(got, invite, sizeof got);
    device_answer(200);
    ck_assert(recv_on(caller, "SIP/2.0 200", 3000));
    assert_no_identity();
}
END_TEST

/* RFC 4320: a provisional never answers a non-INVITE, also inside a dialog. */
START_TEST(in_dialog_info_relays_no_provisional)
{
    char req[2048];
    snprintf(req, sizeof req,
             "INFO sip:bob@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKinfo1;rport\r\n"
             "Route: <sip:127.0.0.1:%u;lr>\r\nFrom: <sip:alice@ringway.local>;tag=a1\r\n"
             "To: <sip:bob@ringway.local>;tag=b1\r\nCall-ID: proxy-test-info\r\nCSeq: 3 INFO\r\n"
             "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", device_port, caller_port, edge_port);
    send_to(caller, edge_port, req);
    ck_assert(recv_on(device, "INFO sip:bob@", 3000));
    char info[8192];
    memcpy(info, got, sizeof info);
    device_answer(180);
    ck_assert(!recv_on(caller, "SIP/2.0 180", 500));
    memcpy(got, info, sizeof got);
    device_answer(200);
    ck_assert(recv_on(caller, "SIP/2.0 200", 3000));
}
END_TEST

/* A request from the peer; the status line the caller gets back (into got). */
static void ask(const char *method, const char *ruri, const char *extra, const char *expect)
{
    static int seq;
    char req[2048];
    seq++;
    snprintf(req, sizeof req,
             "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKask%d;rport\r\n"
             "From: <sip:3000@ringway.local>;tag=p%d\r\nTo: <%s>\r\nCall-ID: proxy-test-%d\r\n"
             "CSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n", method, ruri, caller_port, seq, seq, ruri, seq,
             method, extra);
    send_to(caller, edge_port, req);
    ck_assert_msg(recv_on(caller, expect, 3000), "%s %s: wanted %s, last got %.80s", method, ruri, expect, got);
}

START_TEST(method_for_the_edge_itself_is_405_with_allow)
{
    char uri[64], allow[128];
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%u", edge_port);
    ask("MESSAGE", uri, "Max-Forwards: 70\r\n", "SIP/2.0 405");
    rw_sipraw_header(got, "Allow", allow, sizeof allow);
    ck_assert_str_eq(allow, RW_SIPCHECK_ALLOW_SELF);
    ask("SUBSCRIBE", "sip:ringway.local", "", "SIP/2.0 405");
    ask("NEWMETHOD", "sip:ringway.local", "", "SIP/2.0 405");
    ask("OPTIONS", "sip:ringway.local", "", "SIP/2.0 200");     /* the edge answers OPTIONS itself */
}
END_TEST

START_TEST(no_user_part_elsewhere_is_404)
{
    ask("MESSAGE", "sip:example.com", "", "SIP/2.0 404");
    ask("OPTIONS", "sip:192.0.2.7:5060", "", "SIP/2.0 404");
}
END_TEST

START_TEST(exhausted_max_forwards_is_483)
{
    ask("MESSAGE", "sip:2001@ringway.local", "Max-Forwards: 0\r\n", "SIP/2.0 483");
}
END_TEST

START_TEST(user_without_registration_is_480)
{
    ask("MESSAGE", "sip:2001@ringway.local", "", "SIP/2.0 480");   /* no Max-Forwards: 70 added */
    ask("OPTIONS", "tel:+441632960001", "Max-Forwards: 5\r\n", "SIP/2.0 480");
}
END_TEST

static void on_updated(void *arg, int status, const rw_binding_t *live, size_t n_live,
                       const rw_location_gone_t *gone, size_t n_gone)
{
    (void) live;
    (void) gone;
    (void) n_gone;
    *(int *) arg = status == 0 && n_live == 1 ? 1 : -1;
}

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
}

static void teardown_redis(void)
{
    rw_redis_fixture_stop(&fx);
}

/* 2001 registered at the device socket. */
static void register_device(void)
{
    rw_binding_t b;
    int done = 0;
    memset(&b, 0, sizeof b);
    snprintf(b.aor, sizeof b.aor, "sip:2001@ringway.local");
    snprintf(b.contact, sizeof b.contact, "sip:2001@127.0.0.1:%u", device_port);
    b.q = 1.0f;
    b.expires_ms = rw_clock_wall_ms() + 60000;
    ck_assert_int_eq(rw_location_update(loc, b.aor, 0, &b, 1, 0, on_updated, &done), 0);
    uint64_t end = rw_clock_mono_ms() + 3000 * rw_proc_wrap_scale();
    while (!done && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
    ck_assert_int_eq(done, 1);
}

static const char *const message_2001 =
    "MESSAGE sip:2001@ringway.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKfwd%s;rport\r\n"
    "From: <sip:3000@ringway.local>;tag=f%s\r\nTo: <sip:2001@ringway.local>\r\nCall-ID: fwd-%s\r\n"
    "CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

/* RFC 4320: a forwarded non-INVITE request's caller gets no provisional, only the final answer. */
START_TEST(forwarded_request_relays_no_provisional)
{
    char req[1024], request[8192];
    register_device();
    snprintf(req, sizeof req, message_2001, caller_port, "p", "p", "p");
    send_to(caller, edge_port, req);
    ck_assert_msg(recv_on(device, "MESSAGE sip:2001@127.0.0.1", 3000), "not forwarded: %.80s", got);
    memcpy(request, got, sizeof request);
    device_answer(180);
    memcpy(got, request, sizeof got);
    device_answer(200);
    ck_assert(recv_on(caller, "SIP/2.0 ", 3000));
    ck_assert_msg(!strncmp(got, "SIP/2.0 200", 11), "first answer: %.40s", got);
}
END_TEST

/* RFC 4320: no 408 to a non-INVITE request; a request whose only answer is 408 gets none at all,
 * nor anything for its retransmissions (held until the caller's transaction is over). */
START_TEST(forwarded_request_gets_no_408)
{
    char req[1024];
    register_device();
    snprintf(req, sizeof req, message_2001, caller_port, "t", "t", "t");
    send_to(caller, edge_port, req);
    ck_assert_msg(recv_on(device, "MESSAGE sip:2001@127.0.0.1", 3000), "not forwarded: %.80s", got);
    device_answer(408);
    ck_assert_msg(!recv_on(caller, "SIP/2.0 ", 1000), "answered: %.40s", got);
    send_to(caller, edge_port, req);                  /* a retransmission */
    ck_assert_msg(!recv_on(caller, "SIP/2.0 ", 1000), "retransmission answered: %.40s", got);
}
END_TEST

/* ---- Device targets: alice (2001) has desk and soft; a third phone registered as plain 2001 ---- */

static void on_redis(void *arg, redisReply *r)
{
    *(int *) arg = r && r->type != REDIS_REPLY_ERROR ? 1 : -1;
}

static void redis_do(const char *fmt, const char *a, size_t alen)
{
    int done = 0;
    ck_assert_int_eq(rw_aredis_command(redis, on_redis, &done, fmt, a, alen), 0);
    uint64_t end = rw_clock_mono_ms() + 3000 * rw_proc_wrap_scale();
    while (!done && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
    ck_assert_int_eq(done, 1);
}

static void on_bound(void *arg, int status, const rw_binding_t *live, size_t n_live,
                     const rw_location_gone_t *gone, size_t n_gone)
{
    (void) live;
    (void) n_live;
    (void) gone;
    (void) n_gone;
    *(int *) arg = status == 0 ? 1 : -1;
}

static void bind_as(const char *device_id, unsigned port)
{
    rw_binding_t b;
    int done = 0;
    memset(&b, 0, sizeof b);
    snprintf(b.aor, sizeof b.aor, "sip:2001@ringway.local");
    snprintf(b.contact, sizeof b.contact, "sip:%s@127.0.0.1:%u", device_id[0] ? device_id : "plain", port);
    snprintf(b.device, sizeof b.device, "%s", device_id);
    b.q = 1.0f;
    b.expires_ms = rw_clock_wall_ms() + 60000;
    ck_assert_int_eq(rw_location_update_device(loc, b.aor, "alice", device_id, 0, &b, 1, 0,
                                               on_bound, &done), 0);
    uint64_t end = rw_clock_mono_ms() + 3000 * rw_proc_wrap_scale();
    while (!done && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
    ck_assert_int_eq(done, 1);
}

/* alice's directory entry, her three phones bound, and her settings: a rule ringing `device`
 * only ("" = no rules: all her devices, one target naming none). The router is absent, so
 * sip-edge's fallback evaluates them (fallback.h). */
static void alice_with_plan(const char *device, unsigned desk_port, unsigned soft_port)
{
    char settings[256];
    snprintf(settings, sizeof settings,
             "{\"active\":\"p\",\"profiles\":{\"p\":[{\"name\":\"only\",\"action\":\"ring\",\"ring\":[\"%s\"]}]}}",
             device);
    redis_do("HSET rw:user:alice settings %s", device[0] ? settings : "", 0);
    redis_do("HSET rw:user:alice realm %s", "ringway.local", 0);
    redis_do("SET rw:num:2001 %s", "alice", 0);
    redis_do("HSET rw:user:alice ext %s", "2001", 0);
    redis_do("HSET rw:user:alice:devices desk %s", "sip ", 0);
    redis_do("HSET rw:user:alice:devices soft %s", "sip ", 0);
    bind_as("desk", desk_port);
    bind_as("soft", soft_port);
    bind_as("", device_port);
}

static const char *const invite_2001 =
    "INVITE sip:2001@ringway.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKdev%s;rport\r\n"
    "From: <sip:3000@ringway.local>;tag=f%s\r\nTo: <sip:2001@ringway.local>\r\nCall-ID: dev-%s\r\n"
    "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

/* Which of desk, soft and the plain phone get the call's INVITE. The branches of a stage are
 * all sent in the same loop turn, so once the first has arrived the others are already queued:
 * the short wait for the rest decides nothing by speed. */
static void rung(const char *device_id, const char *tag, int want_desk, int want_soft, int want_plain)
{
    unsigned desk_port, soft_port;
    int desk = udp_socket(&desk_port), soft = udp_socket(&soft_port);
    char req[1024];
    alice_with_plan(device_id, desk_port, soft_port);
    snprintf(req, sizeof req, invite_2001, caller_port, tag, tag, tag);
    send_to(caller, edge_port, req);
    int first = want_desk ? desk : want_soft ? soft : device;
    ck_assert_msg(recv_on(first, "INVITE sip:", 3000), "nothing rang for device '%s'", device_id);
    int got_desk = first == desk || recv_on(desk, "INVITE sip:desk@", 200);
    int got_soft = first == soft || recv_on(soft, "INVITE sip:soft@", 200);
    int got_plain = first == device || recv_on(device, "INVITE sip:plain@", 200);
    ck_assert_int_eq(got_desk, want_desk);
    ck_assert_int_eq(got_soft, want_soft);
    ck_assert_int_eq(got_plain, want_plain);
    close(desk);
    close(soft);
}

START_TEST(target_naming_the_desk_rings_only_the_desk)
{
    rung("desk", "d", 1, 0, 0);
}
END_TEST

START_TEST(target_naming_the_softphone_rings_only_the_softphone)
{
    rung("soft", "s", 0, 1, 0);
}
END_TEST

START_TEST(target_naming_no_device_rings_every_binding)
{
    rung("", "a", 1, 1, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("proxy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, in_dialog_responses_lose_identity_headers);
    tcase_add_test(tc, in_dialog_info_relays_no_provisional);
    tcase_add_test(tc, method_for_the_edge_itself_is_405_with_allow);
    tcase_add_test(tc, no_user_part_elsewhere_is_404);
    tcase_add_test(tc, exhausted_max_forwards_is_483);
    tcase_add_test(tc, user_without_registration_is_480);
    suite_add_tcase(s, tc);
    TCase *fwd = tcase_create("forward");                  /* bindings in a real Redis */
    tcase_add_unchecked_fixture(fwd, setup_redis, teardown_redis);
    tcase_add_checked_fixture(fwd, setup, teardown);
    tcase_set_timeout(fwd, 20);
    tcase_add_test(fwd, forwarded_request_relays_no_provisional);
    tcase_add_test(fwd, forwarded_request_gets_no_408);
    tcase_add_test(fwd, target_naming_the_desk_rings_only_the_desk);
    tcase_add_test(fwd, target_naming_the_softphone_rings_only_the_softphone);
    tcase_add_test(fwd, target_naming_no_device_rings_every_binding);
    suite_add_tcase(s, fwd);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
