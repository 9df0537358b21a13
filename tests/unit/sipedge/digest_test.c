/* tests/unit/sipedge/digest_test.c — digest arithmetic against the RFC examples (table). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "services/sip-edge/digest.h"

typedef struct {
    const char *name;
    rw_digest_alg_t alg;
    const char *user, *realm, *password, *method, *uri, *nonce, *nc, *cnonce, *qop;
    const char *response;
} vector_t;

static const vector_t vectors[] = {
    { "RFC 2617 3.5 MD5", RW_DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", "GET",
      "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth",
      "6629fae49393a05397450978507c4ef1" },
    { "RFC 7616 3.9.1 MD5", RW_DIGEST_MD5, "Mufasa", "http-auth@example.org", "Circle of Life", "GET",
      "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
      "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "8ca523f5e9506fed4657c9700eebdbec" },
    { "RFC 7616 3.9.1 SHA-256", RW_DIGEST_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life",
      "GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
      "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth",
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1" },
};

START_TEST(test_response_matches_rfc_example)
{
    const vector_t *v = &vectors[_i];
    char ha1[RW_DIGEST_HEX_MAX], resp[RW_DIGEST_HEX_MAX];
    rw_digest_ha1(v->alg, v->user, v->realm, v->password, ha1);
    ck_assert_uint_eq(strlen(ha1), rw_digest_hex_len(v->alg));
    rw_digest_response(v->alg, ha1, v->nonce, v->nc, v->cnonce, v->qop, v->method, v->uri, resp);
    ck_assert_msg(strcmp(resp, v->response) == 0, "%s: got %s", v->name, resp);
    ck_assert(rw_digest_equal(resp, v->response));
}
END_TEST

START_TEST(test_a_changed_input_changes_the_response)
{
    char ha1[RW_DIGEST_HEX_MAX], a[RW_DIGEST_HEX_MAX], b[RW_DIGEST_HEX_MAX];
    rw_digest_ha1(RW_DIGEST_MD5, "2001", "ringway.local", "pw", ha1);
    rw_digest_response(RW_DIGEST_MD5, ha1, "n", "00000001", "c", "auth", "REGISTER", "sip:x", a);
    rw_digest_response(RW_DIGEST_MD5, ha1, "n", "00000002", "c", "auth", "REGISTER", "sip:x", b);
    ck_assert(!rw_digest_equal(a, b));
    rw_digest_response(RW_DIGEST_MD5, ha1, "n", "00000001", "c", "auth", "INVITE", "sip:x", b);
    ck_assert(!rw_digest_equal(a, b));
}
END_TEST

START_TEST(test_equal_is_case_insensitive_and_rejects_empty_or_prefix)
{
    ck_assert(rw_digest_equal("abcdef", "ABCDEF"));
    ck_assert(!rw_digest_equal("abcdef", "abcde"));
    ck_assert(!rw_digest_equal("", ""));
    ck_assert(!rw_digest_equal(NULL, "a"));
    ck_assert(!rw_digest_equal("abcdef", "abcdeg"));
}
END_TEST

START_TEST(test_algorithm_names_parse)
{
    ck_assert_int_eq(rw_digest_alg_parse(NULL), RW_DIGEST_MD5);
    ck_assert_int_eq(rw_digest_alg_parse(""), RW_DIGEST_MD5);
    ck_assert_int_eq(rw_digest_alg_parse("md5"), RW_DIGEST_MD5);
    ck_assert_int_eq(rw_digest_alg_parse("SHA-256"), RW_DIGEST_SHA256);
    ck_assert_int_eq(rw_digest_alg_parse("MD5-sess"), -1);
    ck_assert_int_eq(rw_digest_alg_parse("SHA-512-256"), -1);
    ck_assert_str_eq(rw_digest_alg_name(RW_DIGEST_SHA256), "SHA-256");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_response_matches_rfc_example, 0, sizeof vectors / sizeof vectors[0]);
    tcase_add_test(tc, test_a_changed_input_changes_the_response);
    tcase_add_test(tc, test_equal_is_case_insensitive_and_rejects_empty_or_prefix);
    tcase_add_test(tc, test_algorithm_names_parse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
