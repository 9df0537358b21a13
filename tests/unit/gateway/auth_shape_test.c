/* tests/unit/gateway/auth_shape_test.c — a bearer token that is not a compact JWS is refused as
 * "malformed token" before libcjose sees it. Among them the input fuzz_token found
 * (fuzz/regress/fuzz_token/cjose-base64-assert): an '=' inside a base64url part made libcjose's
 * decoder fail an assertion and abort the whole gateway, for any client, before any check.
 * A well-formed local token still passes the shape and is refused only by its signature.
 * A signed token whose exp or nbf lies beyond any integer (1e300, the fuzzer's other finding:
 * undefined behaviour casting it) is judged as the number it is. */
#include <check.h>
#include <cjose/cjose.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "services/gateway/auth.h"

#define SECRET "ringway-auth-shape-test-secret-0123456789"

static gw_auth_t *new_auth(void)
{
    gw_auth_opts_t o = { .token_secret = SECRET, .token_ttl_s = 3600, .clock_skew_s = 60,
                         .oidc_issuer = "", .user_claim = "preferred_username", .roles_claim = "roles",
                         .groups_claim = "ringway_groups" };
    char err[256];
    gw_auth_t *a = gw_auth_new(&o, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    return a;
}

START_TEST(test_not_a_compact_jws_is_malformed)
{
    rw_log_init("gateway-test", "t1", RW_LOG_ERROR);
    gw_auth_t *a = new_auth();
    static const char *const bad[] = {
        "eivly=h.GciOiJub25lIn0.eyJzdWZSJ9.",          /* the fuzzer's: libcjose aborted on it */
        "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln",               /* padding */
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln.extra",          /* four parts */
        "eyJhbGciOiJIUzI1NiJ9.e30",                     /* two parts */
        "eyJhbGciOiJIUzI1NiJ9.e30aa.c2ln",              /* a part of 4n + 1 characters */
        "eyJhbGciOiJIUzI1NiJ9.e3+/.c2ln",               /* base64, not base64url */
        "eyJhbGciOiJIUzI1NiJ9 .e30.c2ln",               /* a space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_identity_t who;
        char why[256] = "";
        ck_assert_int_eq(gw_auth_check(a, NULL, bad[i], 1767225600000ull, &who, why, sizeof why), RW_EINVAL);
        ck_assert_msg(!strcmp(why, "malformed token"), "%s: %s", bad[i], why);
        ck_assert_str_eq(who.sub, "");
    }
    /* the right shape, another key's signature: past the shape, refused by the signature */
    gw_identity_t who;
    char why[256] = "";
    ck_assert_int_eq(gw_auth_check(a, NULL,
                                   "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9."
                                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                   1767225600000ull, &who, why, sizeof why), RW_EINVAL);
    ck_assert_str_eq(why, "token signature does not verify");
    gw_auth_destroy(&a);
}
END_TEST

/* payload signed HS256 with SECRET: a malloc'd compact JWS */
static char *sign(const char *payload)
{
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *) SECRET, strlen(SECRET), &cerr);
    cjose_header_t *h = cjose_header_new(&cerr);
    ck_assert(k && h && cjose_header_set(h, CJOSE_HDR_ALG, "HS256", &cerr));
    cjose_jws_t *jws = cjose_jws_sign(k, h, (const uint8_t *) payload, strlen(payload), &cerr);
    const char *ser = NULL;
    ck_assert(jws && cjose_jws_export(jws, &ser, &cerr));
    char *out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    cjose_jwk_release(k);
    return out;
}

START_TEST(test_times_beyond_any_integer)
{
    rw_log_init("gateway-test", "t1", RW_LOG_ERROR);
    gw_auth_t *a = new_auth();
    static const struct { const char *claims, *why; } cases[] = {
        { "{\"iss\":\"ringway-gateway\",\"aud\":\"ringway\",\"sub\":\"alice\",\"exp\":-1e300}", "token expired" },
        { "{\"iss\":\"ringway-gateway\",\"aud\":\"ringway\",\"sub\":\"alice\",\"exp\":1767229200,"
          "\"nbf\":1e300}", "token not valid yet (nbf)" },
        { "{\"iss\":\"ringway-gateway\",\"aud\":\"ringway\",\"sub\":\"alice\",\"exp\":1767229200,"
          "\"nbf\":19223372036854775807.5}", "token not valid yet (nbf)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = sign(cases[i].claims);
        gw_identity_t who;
        char why[256] = "";
        ck_assert_int_eq(gw_auth_check(a, NULL, t, 1767225600000ull, &who, why, sizeof why), RW_EINVAL);
        ck_assert_msg(!strcmp(why, cases[i].why), "%s: %s", cases[i].claims, why);
        free(t);
    }
    gw_auth_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth_shape");
    TCase *tc = tcase_create("shape");
    tcase_add_test(tc, test_not_a_compact_jws_is_malformed);
    tcase_add_test(tc, test_times_beyond_any_integer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
