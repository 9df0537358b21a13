/* tests/unit/gateway/gateway_http_test.c — the gateway's HTTP layer and identity without a
 * server: route matching with {name} captures (table), 404 versus 405, If-Match, errors as JSON
 * whatever bytes they quote, content types, Argon2id hashes, roles; local HS256 tokens against accounts in a real redis-server (signed,
 * expired, tampered, another secret, a password changed, the account removed); and OpenID
 * Connect tokens signed here with fresh RSA and EC keys whose public halves form the JWKS file
 * the checker reads (RS256 and ES256 accepted; wrong issuer, wrong audience, expired, not yet
 * valid, an unknown key, alg "none" and a key of the wrong type refused). Every time is given:
 * no verdict reads the clock. */
#include <check.h>
#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "services/gateway/account.h"
#include "services/gateway/auth.h"
#include "services/gateway/gateway.h"
#include "tests/harness/redis_fixture.h"

#define NOW_MS 1800000000000ull             /* a fixed instant */
#define NOW_S (NOW_MS / 1000)
#define SECRET "0123456789abcdef0123456789abcdef-unit"
#define ISSUER "https://id.example.test/realms/staff"
#define AUDIENCE "ringway-api"

static rw_redis_fixture_t fx;
static rw_redis_t *r;
static cjose_jwk_t *rsa_key, *ec_key, *stranger_key;   /* stranger: not in the JWKS */
static char jwks_path[256];

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
    if (jwks_path[0])
        unlink(jwks_path);
}

/* ---- routes ---------------------------------------------------------------------------------- */
static const struct {
    const char *pattern, *path;
    bool match;
    size_t n;
    const char *cap0, *cap1;
} route_cases[] = {
    { "/api/v1/me", "/api/v1/me", true, 0, NULL, NULL },
    { "/api/v1/me", "/api/v1/me/", false, 0, NULL, NULL },
    { "/api/v1/me", "/api/v1/m", false, 0, NULL, NULL },
    { "/api/v1/users/{id}", "/api/v1/users/alice", true, 1, "alice", NULL },
    { "/api/v1/users/{id}", "/api/v1/users/", false, 0, NULL, NULL },
    { "/api/v1/users/{id}", "/api/v1/users/alice/settings", false, 0, NULL, NULL },
    { "/api/v1/users/{id}/settings", "/api/v1/users/alice/settings", true, 1, "alice", NULL },
    { "/api/v1/users/{id}/devices/{device}", "/api/v1/users/bob/devices/desk", true, 2, "bob", "desk" },
    { "/api/v1/users/{id}/devices/{device}", "/api/v1/users/bob/devices", false, 0, NULL, NULL },
    { "/api/v1/groups/{id}/agents/{user}/{op}", "/api/v1/groups/hd/agents/bob/pause", true, 3, "hd", "bob" },
    { "/api/v1/trunks", "/api/v1/trunks/uk", false, 0, NULL, NULL },
};

START_TEST(test_route_patterns_capture_one_segment_each)
{
    char caps[4][128];
    size_t n;
    for (size_t i = 0; i < sizeof route_cases / sizeof route_cases[0]; i++) {
        bool got = gw_route_match(route_cases[i].pattern, route_cases[i].path, caps, 4, &n);
        ck_assert_msg(got == route_cases[i].match, "%s vs %s", route_cases[i].pattern, route_cases[i].path);
        if (!got)
            continue;
        ck_assert_uint_eq(n, route_cases[i].n);
        if (route_cases[i].cap0)
            ck_assert_str_eq(caps[0], route_cases[i].cap0);
        if (route_cases[i].cap1)
            ck_assert_str_eq(caps[1], route_cases[i].cap1);
    }
}
END_TEST

static void nop(gw_req_t *req, gw_resp_t *resp)
{
    (void) req;
    (void) resp;
}

START_TEST(test_route_find_tells_405_from_404)
{
    static const gw_route_t t1[] = { { "GET", "/api/v1/users/{id}", GW_ROLE_ANY, nop },
                                     { "PUT", "/api/v1/users/{id}", GW_ROLE_ADMIN, nop }, { NULL, NULL, 0, NULL } };
    static const gw_route_t t2[] = { { "POST", "/api/v1/login", 0, nop }, { NULL, NULL, 0, NULL } };
    const gw_route_t *const tables[] = { t1, t2, NULL };
    char caps[4][128];
    size_t n;
    bool known;
    const gw_route_t *got = gw_route_find(tables, "PUT", "/api/v1/users/ann", caps, &n, &known);
    ck_assert_ptr_eq(got, &t1[1]);
    ck_assert_str_eq(caps[0], "ann");
    ck_assert_ptr_eq(gw_route_find(tables, "HEAD", "/api/v1/users/ann", caps, &n, &known), &t1[0]);
    ck_assert_ptr_null(gw_route_find(tables, "DELETE", "/api/v1/users/ann", caps, &n, &known));
    ck_assert(known);                                   /* 405 */
    ck_assert_ptr_null(gw_route_find(tables, "GET", "/api/v1/nothing", caps, &n, &known));
    ck_assert(!known);                                  /* 404 */
    ck_assert_ptr_eq(gw_route_find(tables, "POST", "/api/v1/login", caps, &n, &known), &t2[0]);
}
END_TEST

START_TEST(test_every_table_route_is_well_formed)
{
    size_t count = 0;
    for (size_t t = 0; gw_route_tables[t]; t++)
        for (const gw_route_t *rt = gw_route_tables[t]; rt->method; rt++, count++) {
            ck_assert_msg(!strncmp(rt->pattern, "/api/v1/", 8), "%s", rt->pattern);
            ck_assert_ptr_nonnull(rt->fn);
        }
    ck_assert_uint_ge(count, 4);
}
END_TEST

/* ---- helpers of api.h -------------------------------------------------------------------------- */
START_TEST(test_if_match_412_428_and_lists)
{
    gw_req_t req = { 0 };
    gw_resp_t resp = { 0 };
    ck_assert(gw_if_match(&req, &resp, "7", false));
    ck_assert(!gw_if_match(&req, &resp, "7", true));
    ck_assert_int_eq(resp.status, 428);
    req.if_match = "\"6\"";
    ck_assert(!gw_if_match(&req, &resp, "7", false));
    ck_assert_int_eq(resp.status, 412);
    const char *msg = json_string_value(json_object_get(json_object_get(resp.json, "error"), "message"));
    ck_assert_ptr_nonnull(strstr(msg, "changed by someone else"));
    req.if_match = "\"5\", \"7\"";
    ck_assert(gw_if_match(&req, &resp, "7", true));
    req.if_match = "W/\"7\"";                          /* weak tags never match */
    ck_assert(!gw_if_match(&req, &resp, "7", true));
    req.if_match = "*";
    ck_assert(gw_if_match(&req, &resp, "7", true));
    gw_set_etag(&resp, "42");
    ck_assert_str_eq(resp.etag, "\"42\"");
    json_decref(resp.json);
}
END_TEST

START_TEST(test_error_is_json_even_quoting_bad_bytes)
{
    gw_resp_t resp = { 0 };
    gw_error(&resp, 404, "not_found", "no such resource: %s", "/api/v1/\xff\xfe/x");
    ck_assert_int_eq(resp.status, 404);
    ck_assert_ptr_nonnull(resp.json);
    json_t *e = json_object_get(resp.json, "error");
    ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "not_found");
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "no such resource: /api/v1/?" "?/x");
    json_decref(resp.json);
}
END_TEST

START_TEST(test_content_types_of_the_page)
{
    ck_assert_str_eq(gw_content_type("/x/index.html"), "text/html; charset=utf-8");
    ck_assert_str_eq(gw_content_type("app.js"), "text/javascript; charset=utf-8");
    ck_assert_str_eq(gw_content_type("style.CSS"), "text/css; charset=utf-8");
    ck_assert_str_eq(gw_content_type("a.dir/file"), "application/octet-stream");
    ck_assert_str_eq(gw_content_type("README"), "application/octet-stream");
}
END_TEST

/* ---- passwords and roles ------------------------------------------------------------------------ */
START_TEST(test_password_hash_is_argon2id_salted_and_verifies)
{
    char h1[GW_HASH_MAX], h2[GW_HASH_MAX];
    ck_assert_int_eq(gw_password_hash("correct horse", h1, sizeof h1), 0);
    ck_assert_int_eq(gw_password_hash("correct horse", h2, sizeof h2), 0);
    ck_assert(!strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31));
    ck_assert_str_ne(h1, h2);                          /* a salt each */
    ck_assert(gw_password_verify(h1, "correct horse"));
    ck_assert(!gw_password_verify(h1, "correct horse "));
    ck_assert(!gw_password_verify(h1, ""));
    ck_assert(!gw_password_verify("plain text", "plain text"));
    ck_assert_int_eq(gw_password_hash("x", h1, 20), RW_ERANGE);
}
END_TEST

START_TEST(test_roles_and_groups_parse)
{
    unsigned roles;
    char bad[48], text[64];
    gw_account_t a;
    ck_assert_int_eq(gw_roles_parse("", &roles, bad, sizeof bad), 0);
    ck_assert_uint_eq(roles, GW_ROLE_STAFF);
    ck_assert_int_eq(gw_roles_parse("admin,supervisor", &roles, bad, sizeof bad), 0);
    ck_assert_uint_eq(roles, GW_ROLE_STAFF | GW_ROLE_ADMIN | GW_ROLE_SUPERVISOR);
    gw_roles_format(roles, text, sizeof text);
    ck_assert_str_eq(text, "staff,supervisor,admin");
    ck_assert_int_eq(gw_roles_parse("admin,root", &roles, bad, sizeof bad), RW_EINVAL);
    ck_assert_str_eq(bad, "root");
    ck_assert_int_eq(gw_groups_parse("helpdesk,,sales", &a), 0);
    ck_assert_uint_eq(a.n_groups, 2);
    ck_assert_str_eq(a.groups[1], "sales");
    ck_assert(gw_account_valid_name("alice.smith@example"));
    ck_assert(!gw_account_valid_name("alice smith"));
    ck_assert(!gw_account_valid_name(""));
}
END_TEST

/* ---- tokens ----------------------------------------------------------------------------------- */
static gw_auth_t *new_auth(const char *secret, bool oidc)
{
    char err[256] = "";
    gw_auth_opts_t o = { .token_secret = secret, .token_ttl_s = 3600, .clock_skew_s = 60,
                         .oidc_issuer = oidc ? ISSUER : "", .oidc_audience = AUDIENCE,
                         .oidc_jwks = jwks_path, .user_claim = "preferred_username",
                         .roles_claim = "roles", .groups_claim = "ringway_groups" };
    gw_auth_t *a = gw_auth_new(&o, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    return a;
}

static void put_account(const char *name, const char *user, unsigned roles, unsigned gen)
{
    gw_account_t a = { .roles = roles, .gen = gen };
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.user, sizeof a.user, "%s", user);
    snprintf(a.hash, sizeof a.hash, "$argon2id$not-checked-here");
    gw_groups_parse("helpdesk", &a);
    ck_assert_int_eq(gw_account_put(r, &a), 0);
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 5000 };
    r = rw_redis_new(&o);
    redisReply *x = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(x);
    freeReplyObject(x);
}

static void teardown(void)
{
    rw_redis_destroy(&r);
}

static int check(gw_auth_t *a, const char *token, uint64_t now_ms, gw_identity_t *who, char *why)
{
    return gw_auth_check(a, r, token, now_ms, who, why, 256);
}

START_TEST(test_local_token_accepted_then_expired)
{
    gw_auth_t *a = new_auth(SECRET, false);
    gw_identity_t who;
    char why[256], *tok;
    uint64_t exp;
    put_account("carol", "carol", GW_ROLE_STAFF | GW_ROLE_SUPERVISOR, 0);
    ck_assert_int_eq(gw_auth_sign_local(a, "carol", 0, NOW_MS, &tok, &exp), 0);
    ck_assert_uint_eq(exp, NOW_S + 3600);
    ck_assert_int_eq(check(a, tok, NOW_MS + 1000, &who, why), 0);
    ck_assert_str_eq(who.sub, "carol");
    ck_assert_str_eq(who.user, "carol");
    ck_assert_str_eq(who.via, "local");
    ck_assert_uint_eq(who.roles, GW_ROLE_STAFF | GW_ROLE_SUPERVISOR);
    ck_assert_uint_eq(who.n_groups, 1);
    ck_assert_str_eq(who.groups[0], "helpdesk");
    /* within the skew after exp, then beyond it */
    ck_assert_int_eq(check(a, tok, (NOW_S + 3600 + 60) * 1000, &who, why), 0);
    ck_assert_int_eq(check(a, tok, (NOW_S + 3600 + 61) * 1000, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token expired");
    ck_assert_str_eq(who.sub, "");
    /* not valid before it was made (beyond the skew) */
    ck_assert_int_eq(check(a, tok, (NOW_S - 61) * 1000, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token not valid yet (nbf)");
    free(tok);
    gw_auth_destroy(&a);
    ck_assert_ptr_null(a);
}
END_TEST

START_TEST(test_local_token_refused_when_tampered_or_another_key)
{
    gw_auth_t *a = new_auth(SECRET, false), *other = new_auth(SECRET "-other-instance", false);
    gw_identity_t who;
    char why[256], *tok, *tok2;
    uint64_t exp;
    put_account("alice", "alice", GW_ROLE_STAFF, 0);
    put_account("admin", "", GW_ROLE_STAFF | GW_ROLE_ADMIN, 0);
    ck_assert_int_eq(gw_auth_sign_local(other, "alice", 0, NOW_MS, &tok, &exp), 0);
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token signature does not verify");
    free(tok);
    /* alice's token with the payload of admin's: the signature no longer covers it */
    ck_assert_int_eq(gw_auth_sign_local(a, "alice", 0, NOW_MS, &tok, &exp), 0);
    ck_assert_int_eq(gw_auth_sign_local(a, "admin", 0, NOW_MS, &tok2, &exp), 0);
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    char *a1 = strchr(tok2, '.'), *a2 = strrchr(tok2, '.');
    char forged[2048];
    snprintf(forged, sizeof forged, "%.*s%.*s%s", (int) (dot1 - tok), tok, (int) (a2 - a1), a1, dot2);
    ck_assert_int_eq(check(a, forged, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_int_eq(check(a, "not.a.token", NOW_MS, &who, why), RW_EINVAL);
    ck_assert_int_eq(check(a, "", NOW_MS, &who, why), RW_EINVAL);
    free(tok);
    free(tok2);
    gw_auth_destroy(&a);
    gw_auth_destroy(&other);
}
END_TEST

START_TEST(test_local_token_ends_with_password_change_or_account)
{
    gw_auth_t *a = new_auth(SECRET, false);
    gw_identity_t who;
    char why[256], *tok;
    uint64_t exp;
    put_account("alice", "alice", GW_ROLE_STAFF, 3);
    ck_assert_int_eq(gw_auth_sign_local(a, "alice", 3, NOW_MS, &tok, &exp), 0);
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), 0);
    put_account("alice", "alice", GW_ROLE_STAFF, 4);          /* account passwd */
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    put_account("alice", "alice", GW_ROLE_STAFF, 3);
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), 0);
    ck_assert_int_eq(gw_account_del(r, "alice"), 0);          /* account rm */
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_int_eq(gw_account_del(r, "alice"), RW_ENOTFOUND);
    free(tok);
    gw_auth_destroy(&a);
}
END_TEST

START_TEST(test_short_secret_refused)
{
    char err[256];
    gw_auth_opts_t o = { .token_secret = "short", .token_ttl_s = 60 };
    ck_assert_ptr_null(gw_auth_new(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "gateway.token_secret"));
    o.token_secret = "";
    ck_assert_ptr_null(gw_auth_new(&o, err, sizeof err));
}
END_TEST

/* An OIDC token: header alg/kid, claims given, signed with key. */
static char *oidc_token(cjose_jwk_t *key, const char *alg, const char *kid, json_t *claims)
{
    cjose_err cerr;
    const char *ser;
    cjose_header_t *hdr = cjose_header_new(&cerr);
    cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &cerr);
    if (kid)
        cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr);
    char *payload = json_dumps(claims, JSON_COMPACT);
    cjose_jws_t *jws = cjose_jws_sign(key, hdr, (const uint8_t *) payload, strlen(payload), &cerr);
    ck_assert_msg(jws != NULL, "%s", cerr.message);
    ck_assert(cjose_jws_export(jws, &ser, &cerr));
    char *out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    json_decref(claims);
    return out;
}

static json_t *claims(const char *iss, const char *aud, long long exp_s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[s], s:[s,s]}", "iss", iss, "aud", aud, "sub", "u-1234",
                     "exp", (json_int_t) exp_s, "iat", (json_int_t) NOW_S, "preferred_username", "bob",
                     "roles", "ringway-supervisor", "ringway_groups", "helpdesk", "sales");
}

START_TEST(test_oidc_rs256_and_es256_accepted_with_claims_mapped)
{
    gw_auth_t *a = new_auth(SECRET, true);
    gw_identity_t who;
    char why[256];
    char *tok = oidc_token(rsa_key, "RS256", "rsa-1", claims(ISSUER, AUDIENCE, NOW_S + 300));
    ck_assert_msg(check(a, tok, NOW_MS, &who, why) == 0, "%s", why);
    ck_assert_str_eq(who.sub, "u-1234");
    ck_assert_str_eq(who.user, "bob");
    ck_assert_str_eq(who.via, "oidc");
    ck_assert_uint_eq(who.roles, GW_ROLE_STAFF | GW_ROLE_SUPERVISOR);
    ck_assert_uint_eq(who.n_groups, 2);
    ck_assert_str_eq(who.groups[1], "sales");
    free(tok);
    json_t *c = claims(ISSUER, AUDIENCE, NOW_S + 300);
    json_object_set_new(c, "aud", json_pack("[s,s]", "other", AUDIENCE));   /* aud as a list */
    json_object_set_new(c, "roles", json_string("ringway-admin offline_access"));
    tok = oidc_token(ec_key, "ES256", "ec-1", c);
    ck_assert_msg(check(a, tok, NOW_MS, &who, why) == 0, "%s", why);
    ck_assert_uint_eq(who.roles, GW_ROLE_STAFF | GW_ROLE_ADMIN);
    free(tok);
    gw_auth_destroy(&a);
}
END_TEST

START_TEST(test_oidc_refusals_each_named)
{
    gw_auth_t *a = new_auth(SECRET, true), *local_only = new_auth(SECRET, false);
    gw_identity_t who;
    char why[256];
    static const struct { const char *iss, *aud; long long exp; const char *why; } cases[] = {
        { "https://evil.example.test", AUDIENCE, NOW_S + 300, "token issuer is not " ISSUER },
        { ISSUER, "another-app", NOW_S + 300, "token audience is not " AUDIENCE },
        { ISSUER, AUDIENCE, NOW_S - 61, "token expired" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *tok = oidc_token(rsa_key, "RS256", "rsa-1", claims(cases[i].iss, cases[i].aud, cases[i].exp));
        ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
        ck_assert_str_eq(why, cases[i].why);
        free(tok);
    }
    json_t *c = claims(ISSUER, AUDIENCE, NOW_S + 300);
    json_object_set_new(c, "nbf", json_integer((json_int_t) NOW_S + 120));
    char *tok = oidc_token(rsa_key, "RS256", "rsa-1", c);
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token not valid yet (nbf)");
    free(tok);
    /* a key the provider never published, under a known kid and under its own */
    tok = oidc_token(stranger_key, "RS256", "rsa-1", claims(ISSUER, AUDIENCE, NOW_S + 300));
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token signature does not verify");
    free(tok);
    tok = oidc_token(stranger_key, "RS256", "rsa-9", claims(ISSUER, AUDIENCE, NOW_S + 300));
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_str_eq(why, "token signed by an unknown key");
    free(tok);
    /* the EC key's kid with RS256: the key's type decides, not the header */
    tok = oidc_token(rsa_key, "RS256", "ec-1", claims(ISSUER, AUDIENCE, NOW_S + 300));
    ck_assert_int_eq(check(a, tok, NOW_MS, &who, why), RW_EINVAL);
    free(tok);
    /* no provider configured */
    tok = oidc_token(rsa_key, "RS256", "rsa-1", claims(ISSUER, AUDIENCE, NOW_S + 300));
    ck_assert_int_eq(check(local_only, tok, NOW_MS, &who, why), RW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "no OpenID Connect provider"));
    free(tok);
    /* alg none: header {"alg":"none"}, claims, empty signature */
    ck_assert_int_eq(check(a, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", NOW_MS, &who, why), RW_EINVAL);
    gw_auth_destroy(&a);
    gw_auth_destroy(&local_only);
}
END_TEST

/* Fresh keys; the JWKS file holds the public halves of rsa_key and ec_key. Runs before the
 * suite (no ck_assert here): exits when a key cannot be made. */
static void make_keys(void)
{
    cjose_err cerr;
    static const uint8_t e[] = { 1, 0, 1 };
    rsa_key = cjose_jwk_create_RSA_random(2048, e, sizeof e, &cerr);
    stranger_key = cjose_jwk_create_RSA_random(2048, e, sizeof e, &cerr);
    ec_key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    char *rsa_pub = NULL, *ec_pub = NULL;
    FILE *f = NULL;
    if (rsa_key && stranger_key && ec_key && cjose_jwk_set_kid(rsa_key, "rsa-1", 5, &cerr) &&
        cjose_jwk_set_kid(ec_key, "ec-1", 4, &cerr)) {
        rsa_pub = cjose_jwk_to_json(rsa_key, false, &cerr);
        ec_pub = cjose_jwk_to_json(ec_key, false, &cerr);
    }
    snprintf(jwks_path, sizeof jwks_path, "/tmp/rw-gw-jwks-%d.json", (int) getpid());
    if (rsa_pub && ec_pub && (f = fopen(jwks_path, "w"))) {
        fprintf(f, "{\"keys\":[%s,%s]}", rsa_pub, ec_pub);
        fclose(f);
    }
    free(rsa_pub);
    free(ec_pub);
    if (!f) {
        fprintf(stderr, "gateway_http_test: test keys or %s could not be made\n", jwks_path);
        exit(EXIT_FAILURE);
    }
}

static void free_keys(void)
{
    cjose_jwk_release(rsa_key);
    cjose_jwk_release(ec_key);
    cjose_jwk_release(stranger_key);
}

static Suite *suite(void)
{
    Suite *s = suite_create("gateway_http");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, test_route_patterns_capture_one_segment_each);
    tcase_add_test(tc, test_route_find_tells_405_from_404);
    tcase_add_test(tc, test_every_table_route_is_well_formed);
    tcase_add_test(tc, test_if_match_412_428_and_lists);
    tcase_add_test(tc, test_error_is_json_even_quoting_bad_bytes);
    tcase_add_test(tc, test_content_types_of_the_page);
    tcase_add_test(tc, test_password_hash_is_argon2id_salted_and_verifies);
    tcase_add_test(tc, test_roles_and_groups_parse);
    suite_add_tcase(s, tc);
    tc = tcase_create("tokens");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_local_token_accepted_then_expired);
    tcase_add_test(tc, test_local_token_refused_when_tampered_or_another_key);
    tcase_add_test(tc, test_local_token_ends_with_password_change_or_account);
    tcase_add_test(tc, test_short_secret_refused);
    tcase_add_test(tc, test_oidc_rs256_and_es256_accepted_with_claims_mapped);
    tcase_add_test(tc, test_oidc_refusals_each_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    json_object_seed(0);
    make_keys();
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free_keys();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
