/* fuzz/fuzz_token.c — libFuzzer target for the gateway's bearer-token path: gw_auth_check() of
 * services/gateway/auth.c (compact JWS import by libcjose, the protected header's alg and kid,
 * the signature against a fixed test key, the claims: iss, aud, exp, nbf with the skew, sub,
 * the user, roles and groups claims, a local account's generation).
 * The first byte chooses how the rest becomes a token:
 *   0  the rest is the token itself (what a client sends after "Bearer ");
 *   1  the rest is "<header JSON>\n<payload>", signed HS256 with the fixed local secret, so the
 *      claims checks of a local token are reached (the account "alice", generation 1, is the
 *      only one that exists: gw_account_get is the stub below, no Redis);
 *   2  the same signed ES256 with a fixed EC key that the JWKS file written at start publishes
 *      as kid "fz1", so the OpenID Connect claims mapping is reached.
 * The header's alg is set to the signing key's; its other fields (kid, typ, crit...) are the
 * input's. The time is fixed (2026-01-01T00:00:00Z). Checked on every input: the answer is 0 or
 * RW_EINVAL (no Redis error: the stub has none); a refusal has a reason and leaves the identity
 * zeroed; an acceptance has a subject, "local" or "oidc", the staff role and at most
 * GW_MAX_GROUPS groups, every string terminated within its field; a raw token (mode 0) is never
 * accepted unless it is a well-formed JWS (three dot-separated parts). Anything else aborts.
 * FUZZ_TOKEN_VERBOSE=1 prints each input's verdict (to read a seed or a finding). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "common/err.h"
#include "common/log.h"
#include "services/gateway/account.h"
#include "services/gateway/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SECRET "ringway-fuzz-token-secret-0123456789abcdef"
#define FZ_ISSUER "https://idp.example.org/realms/ringway"
#define FZ_NOW_MS 1767225600000ull          /* 2026-01-01T00:00:00Z */

/* A fixed P-256 key for the fuzzer only (never used anywhere else). */
static const char fz_ec_private[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"_QquJESjMIbGUOW6Fa9e9yhG6_j6da2Hs-GBVnIJ7gw\","
    "\"y\":\"BzkR12X-M5iV7vlPsSqQHb3v-XCn4PGnpaRP00h78r4\",\"d\":\"ZfH1HhYvjZjbknG9hAzK71N3NHdruDk0PDk5i4NShvU\"}";
static const char fz_jwks[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"fz1\",\"use\":\"sig\","
    "\"x\":\"_QquJESjMIbGUOW6Fa9e9yhG6_j6da2Hs-GBVnIJ7gw\","
    "\"y\":\"BzkR12X-M5iV7vlPsSqQHb3v-XCn4PGnpaRP00h78r4\"}]}";

static gw_auth_t *auth;
static int verbose;                         /* FUZZ_TOKEN_VERBOSE=1: one line per input */
static cjose_jwk_t *hs_key, *ec_key;

/* The only account: alice, generation 1, supervisor of helpdesk. */
int gw_account_get(rw_redis_t *redis, const char *name, gw_account_t *a)
{
    (void) redis;
    if (strcmp(name, "alice") != 0)
        return RW_ENOTFOUND;
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "alice");
    snprintf(a->user, sizeof a->user, "alice");
    a->roles = GW_ROLE_STAFF | GW_ROLE_SUPERVISOR;
    snprintf(a->groups[0], sizeof a->groups[0], "helpdesk");
    a->n_groups = 1;
    a->gen = 1;
    return 0;
}

/* auth.c's rights checks answer through gw_error (http_api.c); not reached here. */
void gw_error(gw_resp_t *r, int status, const char *code, const char *fmt, ...)
{
    (void) r;
    (void) status;
    (void) code;
    (void) fmt;
}

static void init(void)
{
    cjose_err cerr;
    rw_log_init("fuzz-token", "f1", RW_LOG_ERROR);
    verbose = getenv("FUZZ_TOKEN_VERBOSE") != NULL;
    char path[] = "/tmp/fuzz_token_jwks_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, fz_jwks, sizeof fz_jwks - 1) != (ssize_t) (sizeof fz_jwks - 1))
        abort();
    close(fd);
    gw_auth_opts_t o = { .token_secret = FZ_SECRET, .token_ttl_s = 3600, .clock_skew_s = 60,
                         .oidc_issuer = FZ_ISSUER, .oidc_audience = "ringway", .oidc_jwks = path,
                         .user_claim = "preferred_username", .roles_claim = "roles",
                         .groups_claim = "ringway_groups", .jwks_refresh_s = 86400 };
    char err[256];
    auth = gw_auth_new(&o, err, sizeof err);   /* reads the JWKS file now */
    unlink(path);
    hs_key = cjose_jwk_create_oct_spec((const uint8_t *) FZ_SECRET, strlen(FZ_SECRET), &cerr);
    ec_key = cjose_jwk_import(fz_ec_private, strlen(fz_ec_private), &cerr);
    if (!auth || !hs_key || !ec_key)
        abort();
}

/* "<header>\n<payload>" signed with key under alg; malloc'd compact JWS or NULL. */
static char *sign(const uint8_t *data, size_t size, cjose_jwk_t *key, const char *alg)
{
    cjose_err cerr;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t) (nl - data) : 0;
    const uint8_t *payload = nl ? nl + 1 : data;
    size_t plen = size - (size_t) (payload - data);
    json_t *h = hlen ? json_loadb((const char *) data, hlen, 0, NULL) : NULL;
    if (!json_is_object(h)) {
        json_decref(h);
        h = json_object();
    }
    char *out = NULL;
    const char *ser = NULL;
    cjose_jws_t *jws = NULL;
    if (h && cjose_header_set((cjose_header_t *) h, CJOSE_HDR_ALG, alg, &cerr))
        jws = cjose_jws_sign(key, (cjose_header_t *) h, payload, plen, &cerr);
    if (jws && cjose_jws_export(jws, &ser, &cerr))
        out = strdup(ser);
    cjose_jws_release(jws);
    json_decref(h);
    return out;
}

static void check_str(const char *s, size_t len)
{
    if (!memchr(s, '\0', len))
        abort();
}

static void check_identity(const gw_identity_t *who, int rc, const char *why)
{
    if (rc != 0 && rc != RW_EINVAL)
        abort();
    if (rc < 0) {
        static const gw_identity_t zero;
        if (!why[0] || memcmp(who, &zero, sizeof zero) != 0)
            abort();
        return;
    }
    check_str(who->sub, sizeof who->sub);
    check_str(who->user, sizeof who->user);
    check_str(who->via, sizeof who->via);
    if (!who->sub[0] || (strcmp(who->via, "local") && strcmp(who->via, "oidc")))
        abort();
    if (!(who->roles & GW_ROLE_STAFF) || (who->roles & ~(unsigned) GW_ROLE_ANY))
        abort();
    if (who->n_groups > GW_MAX_GROUPS)
        abort();
    for (size_t i = 0; i < who->n_groups; i++)
        check_str(who->groups[i], sizeof who->groups[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!auth)
        init();
    if (size < 1 || size > 16384)
        return 0;
    int mode = data[0] % 3;
    data++;
    size--;
    char *token = NULL;
    if (mode == 0) {
        token = malloc(size + 1);
        if (!token)
            return 0;
        memcpy(token, data, size);
        token[size] = '\0';
    } else {
        token = sign(data, size, mode == 1 ? hs_key : ec_key, mode == 1 ? "HS256" : "ES256");
        if (!token)
            return 0;
    }
    gw_identity_t who;
    char why[256] = "";
    int rc = gw_auth_check(auth, NULL, token, FZ_NOW_MS, &who, why, sizeof why);
    check_identity(&who, rc, why);
    if (verbose)
        fprintf(stderr, "mode %d: %s%s (%s %s %u roles, %zu groups)\n", mode, rc == 0 ? "accepted" : "refused: ",
                rc == 0 ? "" : why, who.via, who.sub, who.roles, who.n_groups);
    if (mode == 0 && rc == 0) {
        /* accepted as sent: it must at least be a compact JWS */
        const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        if (!d2 || strchr(d2 + 1, '.'))
            abort();
    }
    free(token);
    return 0;
}
