/* tests/unit/sipedge/sipcheck_test.c — the edge's request validation (sipcheck.h): messages
 * parsed with its strict message class and the status and reason phrase each one gets, the
 * choice of handler, the hop changes of a forwarded request, and the kept fuzz/torture findings (every file in tests/unit/sipedge/fuzz_regress),
 * each of which must parse and validate without a crash and without a status out of range. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_header.h>

#include "common/err.h"
#include "services/sip-edge/sipcheck.h"

static const rw_sipcheck_self_t ME = { "127.0.0.1", "::1", 5060, "ringway.local" };

/* Parses text (LF line ends become CRLF) as one datagram; NULL when Sofia drops it. */
static msg_t *parse(const char *text, size_t len)
{
    msg_t *msg = msg_create(rw_sipcheck_mclass(), 0);
    char *buf = msg_buf_alloc(msg, len * 2 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' && (!i || text[i - 1] != '\r'))
            buf[n++] = '\r';
        buf[n++] = text[i];
    }
    msg_buf_commit(msg, n, 1);
    if (msg_extract(msg) < 0 || !sip_object(msg) || !sip_object(msg)->sip_request) {
        msg_destroy(msg);
        return NULL;
    }
    return msg;
}

#define HDRS "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\nFrom: <sip:a@ringway.local>;tag=1\n" \
             "To: <sip:2001@ringway.local>\nCall-ID: c1@t\n"

static const struct {
    const char *msg;
    int as_uas, status;
    const char *phrase;
} CASES[] = {
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\nMax-Forwards: 70\n\n", 1, 0, "" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/7.0\n" HDRS "CSeq: 1 OPTIONS\n\n", 1, 505, "Version Not Supported" },
    { "OPTIONS  sip:127.0.0.1:5060  SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\n\n", 1, 400, "Bad Request-Line" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0 extra\n" HDRS "CSeq: 1 OPTIONS\n\n", 1, 400, "Bad Request-Line" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0 \n" HDRS "CSeq: 1 OPTIONS\n\n", 1, 400, "Bad Request-Line" },
    { "OPTIONS sip:127.0.0.1:5060;lr=;;==%%zz SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\n\n", 1, 400, "Bad Request-URI" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\nMax-Forwards: -1\n\n", 1, 400, "Bad Max-Forwards" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\nMax-Forwards: 300\n\n", 1, 400, "Bad Max-Forwards" },
    { "INVITE sip:2001@ringway.local SIP/2.0\n" HDRS "CSeq: 1 INVITE\nProxy-Require: foo, bar\n\n", 0, 420, "Bad Extension" },
    { "INVITE sip:2001@ringway.local SIP/2.0\n" HDRS "CSeq: 1 INVITE\nRequire: foo\n\n", 0, 0, "" },
    { "REGISTER sip:ringway.local SIP/2.0\n" HDRS "CSeq: 1 REGISTER\nRequire: path\n\n", 1, 0, "" },
    { "REGISTER sip:ringway.local SIP/2.0\n" HDRS "CSeq: 1 REGISTER\nRequire: gruu\n\n", 1, 420, "Bad Extension" },
    { "CANCEL sip:2001@ringway.local SIP/2.0\n" HDRS "CSeq: 1 CANCEL\nProxy-Require: foo\n\n", 0, 0, "" },
    { "INVITE http://example.com/ SIP/2.0\n" HDRS "CSeq: 1 INVITE\n\n", 0, 416, "Unsupported URI Scheme" },
    { "OPTIONS tel:#l SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\n\n", 0, 400, "Bad Request-URI" },   /* fuzz finding */
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:9\nFrom: <sip:a@b>;tag=1\n"
      "To: <sip:c@d>\nCSeq: 1 OPTIONS\n\n", 1, 400, "Missing Call-ID" },
    { "OPT(I)ONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 OPT\n\n", 1, 400, "Bad Request-Line" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 INVITE\n\n", 1, 400, "CSeq Method Mismatch" },
    { "OPTIONS sip:127.0.0.1:5060 SIP/2.0\n" HDRS "CSeq: 1 OPTIONS\nDate: Fri, 01 Jan 2010 16:00:00 EST\n\n", 1, 0, "" },
};

START_TEST(answers_each_fault_with_its_status_and_phrase)
{
    msg_t *msg = parse(CASES[_i].msg, strlen(CASES[_i].msg));
    ck_assert_msg(msg != NULL, "case %d was dropped by the parser", _i);
    rw_sipcheck_t chk;
    ck_assert_int_eq(rw_sipcheck_request(sip_object(msg), CASES[_i].as_uas, &chk), CASES[_i].status);
    ck_assert_str_eq(chk.phrase, CASES[_i].phrase);
    if (chk.status == 420)
        ck_assert_msg(chk.unsupported[0] != '\0', "420 without Unsupported");
    msg_destroy(msg);
}
END_TEST

START_TEST(lists_every_unsupported_option)
{
    const char *m = "INVITE sip:2001@ringway.local SIP/2.0\n" HDRS "CSeq: 1 INVITE\nProxy-Require: foo, bar\n\n";
    msg_t *msg = parse(m, strlen(m));
    rw_sipcheck_t chk;
    ck_assert_int_eq(rw_sipcheck_request(sip_object(msg), 0, &chk), 420);
    ck_assert_str_eq(chk.unsupported, "foo, bar");
    msg_destroy(msg);
}
END_TEST

static const struct {
    const char *line, *extra;
    rw_sipcheck_target_t target;
} TARGETS[] = {
    { "OPTIONS sip:127.0.0.1:5060", "", RW_TARGET_SELF },
    { "OPTIONS sip:[::1]:5060", "", RW_TARGET_SELF },
    { "OPTIONS sip:127.0.0.1", "", RW_TARGET_SELF },
    { "OPTIONS sip:ringway.local", "", RW_TARGET_SELF },
    { "OPTIONS sip:127.0.0.1:5070", "", RW_TARGET_PROXY },
    { "OPTIONS sip:2001@ringway.local", "", RW_TARGET_PROXY },
    { "OPTIONS sip:127.0.0.1:5060", "Route: <sip:192.0.2.1;lr>\n", RW_TARGET_PROXY },
    { "OPTIONS sip:127.0.0.1:5060", "Route: <sip:127.0.0.1:5060;lr>\n", RW_TARGET_SELF },
    { "REGISTER sip:ringway.local", "", RW_TARGET_REGISTRAR },
    { "REGISTER sip:ringway.local", "Route: <sip:127.0.0.1:5060;lr>\n", RW_TARGET_REGISTRAR },
    { "REGISTER sip:other.example", "Route: <sip:192.0.2.1;lr>\n", RW_TARGET_PROXY },
    { "INVITE sip:2001@ringway.local", "", RW_TARGET_PROXY },
};

START_TEST(chooses_the_handler)
{
    char text[512];
    const char *method = strncmp(TARGETS[_i].line, "REGISTER", 8) ? (TARGETS[_i].line[0] == 'I' ? "INVITE" : "OPTIONS") : "REGISTER";
    snprintf(text, sizeof text, "%s SIP/2.0\n" HDRS "CSeq: 1 %s\n%s\n", TARGETS[_i].line, method, TARGETS[_i].extra);
    msg_t *msg = parse(text, strlen(text));
    ck_assert_ptr_nonnull(msg);
    ck_assert_int_eq(rw_sipcheck_target(&ME, sip_object(msg)), TARGETS[_i].target);
    msg_destroy(msg);
}
END_TEST

/* Which Request-URIs without a user part name the edge (a 405 for methods it does not implement). */
START_TEST(names_the_edge_only_without_a_user_part)
{
    static const struct { const char *uri; int edge; } URIS[] = {
        { "sip:127.0.0.1:5060", 1 }, { "sip:127.0.0.1", 1 }, { "sip:ringway.local", 1 },
        { "sip:[::1]:5060", 1 }, { "sip:127.0.0.1:5070", 0 }, { "sip:example.com", 0 },
        { "sip:2001@ringway.local", 0 }, { "sip:2001@127.0.0.1:5060", 0 },
    };
    for (size_t i = 0; i < sizeof URIS / sizeof URIS[0]; i++) {
        url_t u[1];
        char buf[64];
        snprintf(buf, sizeof buf, "%s", URIS[i].uri);
        ck_assert_int_eq(url_d(u, buf), 0);
        ck_assert_msg(rw_sipcheck_names_edge(&ME, u) == URIS[i].edge, "%s", URIS[i].uri);
    }
}
END_TEST

static const struct {
    const char *extra;
    int rc;
    const char *max_forwards;     /* after; NULL: not checked */
    int routes;                   /* Route entries left */
} FORWARDS[] = {
    { "Max-Forwards: 70\n", 0, "69", 0 },
    { "", 0, "70", 0 },           /* none: 70 added (RFC 3261 16.6 step 3) */
    { "Max-Forwards: 1\n", 0, "0", 0 },
    { "Max-Forwards: 0\n", RW_ERANGE, NULL, 0 },
    { "Max-Forwards: 9\nRoute: <sip:127.0.0.1:5060;lr>, <sip:192.0.2.1;lr>\n", 0, "8", 1 },
    { "Max-Forwards: 9\nRoute: <sip:127.0.0.1:5060;lr>\nRoute: <sip:ringway.local;lr>\n", 0, "8", 1 },
    { "Max-Forwards: 9\nRoute: <sip:192.0.2.1;lr>, <sip:127.0.0.1:5060;lr>\n", 0, "8", 2 },
};

START_TEST(prepares_a_forwarded_request)
{
    char text[512];
    snprintf(text, sizeof text, "MESSAGE sip:2001@ringway.local SIP/2.0\n" HDRS "CSeq: 1 MESSAGE\n%s\n",
             FORWARDS[_i].extra);
    msg_t *msg = parse(text, strlen(text));
    ck_assert_ptr_nonnull(msg);
    sip_t *sip = sip_object(msg);
    ck_assert_int_eq(rw_sipcheck_prepare_forward(&ME, msg, sip), FORWARDS[_i].rc);
    int routes = 0;
    for (const sip_route_t *r = sip->sip_route; r; r = r->r_next)
        routes++;
    ck_assert_int_eq(routes, FORWARDS[_i].routes);
    if (FORWARDS[_i].max_forwards) {
        ck_assert_ptr_nonnull(sip->sip_max_forwards);
        char mf[16];
        snprintf(mf, sizeof mf, "%lu", sip->sip_max_forwards->mf_count);
        ck_assert_str_eq(mf, FORWARDS[_i].max_forwards);
        ck_assert_int_eq(msg_serialize(msg, (msg_pub_t *) sip), 0);
        size_t len = 0;
        char *out = msg_as_string(msg_home(msg), msg, NULL, 0, &len);
        char want[32];
        snprintf(want, sizeof want, "Max-Forwards: %s\r\n", FORWARDS[_i].max_forwards);
        ck_assert_msg(out && strstr(out, want), "encoded without %s", want);
    }
    msg_destroy(msg);
}
END_TEST

START_TEST(kept_findings_validate_without_harm)
{
    const char *src = getenv("RINGWAY_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/sipedge/fuzz_regress", src ? src : ".");
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "no %s", path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char file[1400];
        static char data[70000];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        ck_assert_ptr_nonnull(f);
        size_t len = fread(data, 1, sizeof data, f);
        fclose(f);
        msg_t *msg = parse(data, len);
        if (msg) {
            rw_sipcheck_t chk;
            int st = rw_sipcheck_request(sip_object(msg), 1, &chk);
            ck_assert_msg(st == 0 || (st >= 400 && st < 600 && chk.phrase[0]), "%s: status %d", e->d_name, st);
            (void) rw_sipcheck_target(&ME, sip_object(msg));
            msg_destroy(msg);
        }
        n++;
    }
    closedir(d);
    ck_assert_int_gt(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sipcheck");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, answers_each_fault_with_its_status_and_phrase, 0, (int) (sizeof CASES / sizeof CASES[0]));
    tcase_add_test(tc, lists_every_unsupported_option);
    tcase_add_loop_test(tc, chooses_the_handler, 0, (int) (sizeof TARGETS / sizeof TARGETS[0]));
    tcase_add_test(tc, names_the_edge_only_without_a_user_part);
    tcase_add_loop_test(tc, prepares_a_forwarded_request, 0, (int) (sizeof FORWARDS / sizeof FORWARDS[0]));
    tcase_add_test(tc, kept_findings_validate_without_harm);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
