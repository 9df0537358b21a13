/* tests/unit/sipedge/branch_test.c — adopted INVITE branches (branch.h) over real UDP on
 * loopback: an NTA agent sends an INVITE to a raw socket playing the called device, the branch
 * is adopted at 180 and NTA's transaction destroyed, then the device's responses come back
 * through the agent's message callback. Checks what the device receives (ACK for a non-2xx and
 * again for its retransmission, CANCEL, timer C) and what the owner is told. */
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tagarg.h>

#include "common/clock.h"
#include "services/sip-edge/branch.h"
#include "tests/harness/sipraw.h"

static su_root_t *root;
static nta_agent_t *nta;
static nta_leg_t *leg;
static rw_branches_t *set;
static int dev;                   /* the called device's socket */
static struct sockaddr_in from;   /* where the agent sends from */
static char invite[4096], got[4096];
static int strays;

typedef struct {
    int n, status[8], null_msg;
    rw_branch_t *b;
} owner_t;
static owner_t owner;

static void on_owner(void *arg, rw_branch_t *b, msg_t *rsp, int status)
{
    owner_t *o = arg;
    ck_assert_ptr_eq(b, o->b);
    if (o->n < 8)
        o->status[o->n++] = status;
    o->null_msg += rsp == NULL;
    if (rsp) {
        sip_t *sip = sip_object(rsp);
        ck_assert_ptr_null(sip->sip_via->v_next);    /* ours is gone, the caller's stays */
        msg_destroy(rsp);
    }
    if (status >= 200)
        o->b = NULL;
}

static int on_message(nta_agent_magic_t *m, nta_agent_t *a, msg_t *msg, sip_t *sip)
{
    (void) m;
    (void) a;
    if (sip && sip->sip_status && rw_branches_response(set, msg, sip))
        return 0;
    strays++;
    msg_destroy(msg);
    return 0;
}

static int on_invite(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    (void) m;
    int st = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (st > 100 && st < 200 && !owner.b) {
        ck_assert_int_eq(rw_branch_adopt(set, orq, NULL, on_owner, &owner, &owner.b), 0);
        nta_outgoing_destroy(orq);
    }
    return 0;
}

static void run(int ms)
{
    uint64_t end = rw_clock_mono_ms() + (uint64_t) ms;
    while (rw_clock_mono_ms() < end)
        su_root_step(root, 5);
}

/* Runs the loop until the device receives a datagram starting with `start` (into got). */
static int device_recv(const char *start, int ms)
{
    return rw_sipraw_await(root, dev, start, ms, got, sizeof got, &from);
}

static void device_send(int status, const char *cseq_method, int to_tag)
{
    char via[512], fromh[256], to[256], cid[128], cseq[64], buf[2048];
    rw_sipraw_header(invite, "Via", via, sizeof via);
    rw_sipraw_header(invite, "From", fromh, sizeof fromh);
    rw_sipraw_header(invite, "To", to, sizeof to);
    rw_sipraw_header(invite, "Call-ID", cid, sizeof cid);
    rw_sipraw_header(invite, "CSeq", cseq, sizeof cseq);
    int n = snprintf(buf, sizeof buf, "SIP/2.0 %d Whatever\r\nVia: %s\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller\r\n"
                     "From: %s\r\nTo: %s%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n",
                     status, via, fromh, to, to_tag ? ";tag=dev1" : "", cid, atoi(cseq), cseq_method);
    ck_assert_int_eq(sendto(dev, buf, (size_t) n, 0, (struct sockaddr *) &from, sizeof from), n);
}

static void branch_of(const char *raw, char *out, size_t len)
{
    char via[512];
    rw_sipraw_header(raw, "Via", via, sizeof via);
    const char *b = strstr(via, "branch=");
    snprintf(out, len, "%.*s", b ? (int) strcspn(b + 7, ";, ") : 0, b ? b + 7 : "");
}

/* A ringing branch: INVITE sent with a second Via (as a proxy's is), 180 answered, adopted. */
static void start(unsigned timer_c_ms, unsigned t1x64_ms)
{
    su_init();
    root = su_root_create(NULL);
    nta = nta_agent_create(root, URL_STRING_MAKE("sip:127.0.0.1:*;transport=udp"), on_message, NULL,
                           NTATAG_UA(0), TAG_END());
    ck_assert_ptr_nonnull(nta);
    set = rw_branches_new(root, nta, 64, timer_c_ms, t1x64_ms);
    ck_assert_ptr_nonnull(set);
    dev = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(dev, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(getsockname(dev, (struct sockaddr *) &a, &alen), 0);
    char ruri[64], route[64];
    snprintf(ruri, sizeof ruri, "sip:bob@192.0.2.9:5060");    /* reached through the Route */
    snprintf(route, sizeof route, "<sip:127.0.0.1:%u;lr>", ntohs(a.sin_port));
    memset(&owner, 0, sizeof owner);
    strays = 0;
    leg = nta_leg_tcreate(nta, NULL, NULL, NTATAG_NO_DIALOG(1), TAG_END());
    ck_assert_ptr_nonnull(leg);
    nta_outgoing_t *orq = nta_outgoing_tcreate(leg, on_invite, NULL, NULL, SIP_METHOD_INVITE, URL_STRING_MAKE(ruri),
                                               SIPTAG_VIA_STR("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller"),
                                               SIPTAG_FROM_STR("<sip:alice@ringway.local>;tag=a1"),
                                               SIPTAG_TO_STR("<sip:bob@ringway.local>"),
                                               SIPTAG_CALL_ID_STR("branch-test-1"), SIPTAG_CSEQ_STR("7 INVITE"),
                                               SIPTAG_MAX_FORWARDS_STR("69"),
                                               SIPTAG_ROUTE_STR(route), TAG_END());
    ck_assert_ptr_nonnull(orq);
    ck_assert(device_recv("INVITE ", 2000));
    memcpy(invite, got, sizeof invite);
    device_send(180, "INVITE", 1);
    run(100);
    ck_assert_ptr_nonnull(owner.b);
    ck_assert_int_eq(owner.n, 0);                                  /* the 180 was NTA's */
    ck_assert_uint_eq(rw_branches_count(set, NULL), 1);
}

static void stop(void)
{
    rw_branches_destroy(&set);
    nta_leg_destroy(leg);
    nta_agent_destroy(nta);
    su_root_destroy(root);
    close(dev);
    su_deinit();
}

/* CANCEL and ACK copy the INVITE's Request-URI, Route, From, Call-ID, CSeq number and top Via. */
static void assert_same_transaction(const char *method, int to_tag)
{
    char want[128], have[128], a[256], b[256];
    snprintf(want, sizeof want, "%s sip:bob@192.0.2.9:5060 SIP/2.0", method);
    ck_assert_msg(!strncmp(got, want, strlen(want)), "request line: %.60s", got);
    branch_of(invite, a, sizeof a);
    branch_of(got, b, sizeof b);
    ck_assert_str_eq(a, b);
    ck_assert_ptr_null(strstr(got, "z9hG4bKcaller"));             /* only our Via */
    snprintf(want, sizeof want, "7 %s", method);
    rw_sipraw_header(got, "CSeq", have, sizeof have);
    ck_assert_str_eq(have, want);
    rw_sipraw_header(got, "Call-ID", have, sizeof have);
    ck_assert_str_eq(have, "branch-test-1");
    rw_sipraw_header(got, "Route", a, sizeof a);
    rw_sipraw_header(invite, "Route", b, sizeof b);
    ck_assert_str_eq(a, b);
    rw_sipraw_header(got, "To", have, sizeof have);
    ck_assert_int_eq(strstr(have, "tag=dev1") != NULL, to_tag);
    rw_sipraw_header(got, "From", have, sizeof have);
    ck_assert_ptr_nonnull(strstr(have, "tag=a1"));
}

START_TEST(test_non_2xx_final_is_acked_and_acked_again_on_retransmission)
{
    start(0, 0);
    device_send(486, "INVITE", 1);
    ck_assert(device_recv("ACK ", 2000));
    assert_same_transaction("ACK", 1);
    ck_assert_int_eq(owner.n, 1);
    ck_assert_int_eq(owner.status[0], 486);
    ck_assert_ptr_null(owner.b);
    size_t acks = 0;
    ck_assert_uint_eq(rw_branches_count(set, &acks), 0);
    ck_assert_uint_eq(acks, 1);
    device_send(486, "INVITE", 1);                                 /* the ACK was "lost" */
    ck_assert(device_recv("ACK ", 2000));
    assert_same_transaction("ACK", 1);
    ck_assert_int_eq(owner.n, 1);                                  /* the owner heard it once */
    ck_assert_int_eq(strays, 0);
    stop();
}
END_TEST

START_TEST(test_cancel_reaches_the_ringing_branch_and_its_487_is_acked)
{
    start(0, 0);
    device_send(183, "INVITE", 1);                                 /* later provisionals too */
    run(100);
    ck_assert_int_eq(owner.n, 1);
    ck_assert_int_eq(owner.status[0], 183);
    ck_assert_int_eq(rw_branch_cancel(owner.b), 0);
    ck_assert(rw_branch_cancelled(owner.b));
    ck_assert(device_recv("CANCEL ", 2000));
    assert_same_transaction("CANCEL", 0);
    device_send(200, "CANCEL", 1);
    device_send(487, "INVITE", 1);
    ck_assert(device_recv("ACK ", 2000));
    assert_same_transaction("ACK", 1);
    ck_assert_int_eq(owner.n, 2);
    ck_assert_int_eq(owner.status[1], 487);
    ck_assert_int_eq(strays, 0);                                   /* the CANCEL's 200 was NTA's */
    stop();
}
END_TEST

START_TEST(test_timer_c_cancels_and_a_silent_branch_ends_as_408)
{
    start(300, 400);
    ck_assert(device_recv("CANCEL ", 2000));                       /* timer C */
    assert_same_transaction("CANCEL", 0);
    ck_assert_int_eq(owner.n, 0);
    run(600);                                                      /* no answer to the CANCEL */
    ck_assert_int_eq(owner.n, 1);
    ck_assert_int_eq(owner.status[0], 408);
    ck_assert_int_eq(owner.null_msg, 1);
    ck_assert_uint_eq(rw_branches_count(set, NULL), 0);
    stop();
}
END_TEST

START_TEST(test_2xx_goes_to_the_owner_and_its_retransmissions_pass_statelessly)
{
    start(0, 0);
    device_send(200, "INVITE", 1);
    run(100);
    ck_assert_int_eq(owner.n, 1);
    ck_assert_int_eq(owner.status[0], 200);
    size_t acks = 9;
    ck_assert_uint_eq(rw_branches_count(set, &acks), 0);
    ck_assert_uint_eq(acks, 0);                                    /* the 2xx ACK is end to end */
    device_send(200, "INVITE", 1);
    run(100);
    ck_assert_int_eq(owner.n, 1);
    ck_assert_int_eq(strays, 1);                                   /* left to the stateless path */
    stop();
}
END_TEST

START_TEST(test_drop_frees_a_ringing_branch_without_cancel)
{
    start(0, 0);
    rw_branch_drop(&owner.b);
    ck_assert_ptr_null(owner.b);
    ck_assert_uint_eq(rw_branches_count(set, NULL), 0);
    ck_assert(!device_recv("CANCEL ", 300));
    device_send(486, "INVITE", 1);                                 /* unknown now: not taken */
    run(100);
    ck_assert_int_eq(strays, 1);
    ck_assert_int_eq(owner.n, 0);
    stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("branch");
    TCase *tc = tcase_create("branch");
    tcase_add_test(tc, test_non_2xx_final_is_acked_and_acked_again_on_retransmission);
    tcase_add_test(tc, test_cancel_reaches_the_ringing_branch_and_its_487_is_acked);
    tcase_add_test(tc, test_timer_c_cancels_and_a_silent_branch_ends_as_408);
    tcase_add_test(tc, test_2xx_goes_to_the_owner_and_its_retransmissions_pass_statelessly);
    tcase_add_test(tc, test_drop_frees_a_ringing_branch_without_cancel);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
