/* services/gateway/auth.c — bearer tokens (see auth.h) and the rights of api.h.
 * Signatures are checked by libcjose, which imports JWKs and verifies JWS; the algorithm is
 * chosen here from the token's header and must match the key's type (RS256: RSA, ES256: EC,
 * HS256: the gateway's own secret only), so a token cannot pick a weaker check ("none", or
 * HS256 keyed with a public key). Claims are then checked here with jansson. */
#include "services/gateway/auth.h"
#include "services/gateway/account.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWKS_MAX_KEYS 32
#define JWKS_MAX_BYTES (1024 * 1024)
#define JWKS_FETCH_TIMEOUT_S 5

typedef struct {
    char kid[128];
    cjose_jwk_kty_t kty;
    cjose_jwk_t *jwk;
} jwk_entry_t;

struct gw_auth {
    char *issuer, *audience, *jwks_src, *user_claim, *roles_claim, *groups_claim;
    long ttl_s, skew_s;
    uint64_t refresh_ms;                     /* at most one JWKS fetch per this */
    cjose_jwk_t *local_key;                  /* HS256 */
    pthread_rwlock_t keys_lock;              /* keys[] are read under it, swapped under it */
    jwk_entry_t keys[JWKS_MAX_KEYS];
    size_t n_keys;
    pthread_mutex_t fetch_mu;                /* one fetch at a time */
    uint64_t last_fetch_ms;                  /* monotonic; 0 = never */
};

/* ---- the JWKS ---------------------------------------------------------------------------- */
typedef struct {
    char *data;
    size_t len;
} fetch_buf_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    fetch_buf_t *b = arg;
    size_t add = size * n;
    if (b->len + add > JWKS_MAX_BYTES)
        return 0;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, p, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static char *fetch_url(const char *url, char *why, size_t why_len)
{
    fetch_buf_t b = { 0 };
    long status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) JWKS_FETCH_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200 || !b.data) {
        snprintf(why, why_len, "%s", rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status not 200");
        free(b.data);
        return NULL;
    }
    return b.data;
}

static char *fetch_file(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    fetch_buf_t b = { 0 };
    char chunk[4096];
    size_t n;
    if (!f) {
        snprintf(why, why_len, "cannot open %s", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (on_body(chunk, 1, n, &b) != n)
            break;
    fclose(f);
    if (!b.data)
        snprintf(why, why_len, "%s is empty or too large", path);
    return b.data;
}

static void release_keys(jwk_entry_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cjose_jwk_release(keys[i].jwk);
}

/* Parses a JWKS document into keys (signature keys of type RSA or EC only). */
static size_t parse_jwks(const char *text, jwk_entry_t *keys, char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    json_t *arr = doc ? json_object_get(doc, "keys") : NULL;
    size_t n = 0, i;
    json_t *k;
    if (!json_is_array(arr)) {
        snprintf(why, why_len, "not a JWKS (no \"keys\" array)");
        json_decref(doc);
        return 0;
    }
    json_array_foreach(arr, i, k) {
        const char *use = json_string_value(json_object_get(k, "use"));
        if (n == JWKS_MAX_KEYS || (use && strcmp(use, "sig") != 0))
            continue;
        cjose_err cerr;
        cjose_jwk_t *jwk = cjose_jwk_import_json((cjose_header_t *) k, &cerr);
        if (!jwk)
            continue;
        cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &cerr);
        if (kty != CJOSE_JWK_KTY_RSA && kty != CJOSE_JWK_KTY_EC) {
            cjose_jwk_release(jwk);
            continue;
        }
        const char *kid = json_string_value(json_object_get(k, "kid"));
        snprintf(keys[n].kid, sizeof keys[n].kid, "%s", kid ? kid : "");
        keys[n].kty = kty;
        keys[n].jwk = jwk;
        n++;
    }
    json_decref(doc);
    if (n == 0)
        snprintf(why, why_len, "no RSA or EC signature key in the JWKS");
    return n;
}

/* Fetches the JWKS and swaps it in. force=false: only when none was fetched yet. At most one
 * fetch per refresh_ms (an unknown kid cannot make the gateway hammer the provider). */
static void refresh_jwks(gw_auth_t *a, bool force)
{
    char why[256] = "";
    jwk_entry_t fresh[JWKS_MAX_KEYS];
    size_t n = 0;
    pthread_mutex_lock(&a->fetch_mu);
    uint64_t now = rw_clock_mono_ms();
    if ((a->last_fetch_ms && now - a->last_fetch_ms < a->refresh_ms) ||
        (!force && a->last_fetch_ms)) {
        pthread_mutex_unlock(&a->fetch_mu);
        return;
    }
    a->last_fetch_ms = now ? now : 1;
    bool url = !strncmp(a->jwks_src, "http://", 7) || !strncmp(a->jwks_src, "https://", 8);
    char *text = url ? fetch_url(a->jwks_src, why, sizeof why) : fetch_file(a->jwks_src, why, sizeof why);
    if (text)
        n = parse_jwks(text, fresh, why, sizeof why);
    free(text);
    if (n > 0) {
        pthread_rwlock_wrlock(&a->keys_lock);
        release_keys(a->keys, a->n_keys);
        memcpy(a->keys, fresh, n * sizeof fresh[0]);
        a->n_keys = n;
        pthread_rwlock_unlock(&a->keys_lock);
        rw_log_info("jwks_loaded", RW_S("source", a->jwks_src), RW_U("keys", n));
    } else {
        rw_log_warn("jwks_failed", RW_S("source", a->jwks_src), RW_S("error", why));
    }
    pthread_mutex_unlock(&a->fetch_mu);
}

/* ---- life ---------------------------------------------------------------------------------- */
static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

gw_auth_t *gw_auth_new(const gw_auth_opts_t *o, char *err, size_t err_len)
{
    cjose_err cerr;
    gw_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_rwlock_init(&a->keys_lock, NULL);
    pthread_mutex_init(&a->fetch_mu, NULL);
    a->ttl_s = o->token_ttl_s;
    a->skew_s = o->clock_skew_s;
    a->refresh_ms = (uint64_t) (o->jwks_refresh_s > 0 ? o->jwks_refresh_s : GW_JWKS_REFRESH_MIN_S) * 1000u;
    a->issuer = dup_or_empty(o->oidc_issuer);
    a->audience = dup_or_empty(o->oidc_audience);
    a->jwks_src = dup_or_empty(o->oidc_jwks);
    a->user_claim = dup_or_empty(o->user_claim);
    a->roles_claim = dup_or_empty(o->roles_claim);
    a->groups_claim = dup_or_empty(o->groups_claim);
    if (!a->issuer || !a->audience || !a->jwks_src || !a->user_claim || !a->roles_claim ||
        !a->groups_claim) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (!o->token_secret || strlen(o->token_secret) < 32) {
        snprintf(err, err_len, "gateway.token_secret must be set, at least 32 characters "
                               "(e.g. head -c 32 /dev/urandom | base64)");
        goto fail;
    }
    if (a->issuer[0] && (!a->audience[0] || !a->jwks_src[0])) {
        snprintf(err, err_len, "gateway.oidc_issuer needs gateway.oidc_audience and gateway.oidc_jwks");
        goto fail;
    }
    a->local_key = cjose_jwk_create_oct_spec((const uint8_t *) o->token_secret, strlen(o->token_secret), &cerr);
    if (!a->local_key) {
        snprintf(err, err_len, "token key: %s", cerr.message);
        goto fail;
    }
    if (a->issuer[0])
        refresh_jwks(a, false);
    return a;
fail:
    gw_auth_destroy(&a);
    return NULL;
}

void gw_auth_destroy(gw_auth_t **self)
{
    gw_auth_t *a = self ? *self : NULL;
    if (!a)
        return;
    release_keys(a->keys, a->n_keys);
    cjose_jwk_release(a->local_key);
    free(a->issuer);
    free(a->audience);
    free(a->jwks_src);
    free(a->user_claim);
    free(a->roles_claim);
    free(a->groups_claim);
    pthread_rwlock_destroy(&a->keys_lock);
    pthread_mutex_destroy(&a->fetch_mu);
    free(a);
    *self = NULL;
}

long gw_auth_token_ttl(const gw_auth_t *self) { return self->ttl_s; }

/* ---- claims ------------------------------------------------------------------------------- */
static bool aud_has(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), want);
    json_array_foreach(aud, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), want))
            return true;
    return false;
}

/* iss, aud, exp (required) and nbf (when present), with the skew. */
static int check_times_and_names(const gw_auth_t *a, json_t *claims, const char *iss, const char *aud,
                                 uint64_t now_ms, char *why, size_t why_len)
{
    long long now = (long long) (now_ms / 1000);
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    const char *got_iss = json_string_value(json_object_get(claims, "iss"));
    if (!got_iss || strcmp(got_iss, iss) != 0) {
        snprintf(why, why_len, "token issuer is not %s", iss);
        return RW_EINVAL;
    }
    if (!aud_has(json_object_get(claims, "aud"), aud)) {
        snprintf(why, why_len, "token audience is not %s", aud);
        return RW_EINVAL;
    }
    if (!json_is_number(exp)) {
        snprintf(why, why_len, "token has no expiry (exp)");
        return RW_EINVAL;
    }
    /* compared as doubles: a huge exp or nbf (1e300) has no long long to be cast to */
    if (json_number_value(exp) + (double) a->skew_s < (double) now) {
        snprintf(why, why_len, "token expired");
        return RW_EINVAL;
    }
    if (nbf && (!json_is_number(nbf) || json_number_value(nbf) - (double) a->skew_s > (double) now)) {
        snprintf(why, why_len, "token not valid yet (nbf)");
        return RW_EINVAL;
    }
    return 0;
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* A claim holding names: a JSON array of strings or one space-separated string. */
static void claim_names(json_t *v, void (*add)(void *arg, const char *name, size_t n), void *arg)
{
    size_t i;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
            if (json_is_string(item))
                add(arg, json_string_value(item), json_string_length(item));
        return;
    }
    const char *s = json_string_value(v);
    while (s && *s) {
        size_t n = strcspn(s, " ,");
        if (n)
            add(arg, s, n);
        s += n;
        s += strspn(s, " ,");
    }
}

static void add_role(void *arg, const char *name, size_t n)
{
    gw_identity_t *who = arg;
    if (n == 13 && !strncmp(name, "ringway-admin", n))
        who->roles |= GW_ROLE_ADMIN;
    else if (n == 18 && !strncmp(name, "ringway-supervisor", n))
        who->roles |= GW_ROLE_SUPERVISOR;
}

static void add_group(void *arg, const char *name, size_t n)
{
    gw_identity_t *who = arg;
    if (who->n_groups < GW_MAX_GROUPS && n < sizeof who->groups[0]) {
        memcpy(who->groups[who->n_groups], name, n);
        who->groups[who->n_groups++][n] = '\0';
    }
}

/* ---- the two kinds ----------------------------------------------------------------------- */
static int check_local(gw_auth_t *a, cjose_jws_t *jws, rw_redis_t *redis, uint64_t now_ms,
                       gw_identity_t *who, char *why, size_t why_len)
{
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    if (!cjose_jws_verify(jws, a->local_key, &cerr) || !cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) {
        snprintf(why, why_len, "token signature does not verify");
        return RW_EINVAL;
    }
    json_t *claims = json_loadb((const char *) plain, plain_len, 0, NULL);
    int rc = RW_EINVAL;
    if (!json_is_object(claims)) {
        snprintf(why, why_len, "token claims are not a JSON object");
        goto out;
    }
    if ((rc = check_times_and_names(a, claims, GW_LOCAL_ISSUER, GW_LOCAL_AUDIENCE, now_ms, why, why_len)) < 0)
        goto out;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    json_t *gen = json_object_get(claims, "gen");
    gw_account_t acc;
    rc = sub ? gw_account_get(redis, sub, &acc) : RW_ENOTFOUND;
    if (rc == RW_EIO) {
        snprintf(why, why_len, "the directory (Redis) is unreachable");
        goto out;
    }
    if (rc < 0 || !json_is_integer(gen) || (unsigned) json_integer_value(gen) != acc.gen) {
        snprintf(why, why_len, "the account of this token no longer exists or its password changed");
        rc = RW_EINVAL;
        goto out;
    }
    copy_str(who->sub, sizeof who->sub, acc.name);
    copy_str(who->user, sizeof who->user, acc.user);
    who->roles = acc.roles | GW_ROLE_STAFF;
    memcpy(who->groups, acc.groups, sizeof who->groups);
    who->n_groups = acc.n_groups;
    copy_str(who->via, sizeof who->via, "local");
    rc = 0;
out:
    json_decref(claims);
    return rc;
}

/* Verifies jws with the key named kid (or, without a kid, any key of the type). */
static bool verify_with_jwks(gw_auth_t *a, cjose_jws_t *jws, const char *kid, cjose_jwk_kty_t kty, bool *kid_known)
{
    cjose_err cerr;
    bool ok = false;
    *kid_known = false;
    pthread_rwlock_rdlock(&a->keys_lock);
    for (size_t i = 0; i < a->n_keys && !ok; i++) {
        if (kid && strcmp(a->keys[i].kid, kid) != 0)
            continue;
        *kid_known = true;
        if (a->keys[i].kty == kty)
            ok = cjose_jws_verify(jws, a->keys[i].jwk, &cerr);
    }
    pthread_rwlock_unlock(&a->keys_lock);
    return ok;
}

static int check_oidc(gw_auth_t *a, cjose_jws_t *jws, const char *alg, const char *kid, uint64_t now_ms,
                      gw_identity_t *who, char *why, size_t why_len)
{
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    bool kid_known;
    cjose_jwk_kty_t kty = !strcmp(alg, "RS256") ? CJOSE_JWK_KTY_RSA : CJOSE_JWK_KTY_EC;
    if (!a->issuer[0]) {
        snprintf(why, why_len, "no OpenID Connect provider is configured (gateway.oidc_issuer)");
        return RW_EINVAL;
    }
    refresh_jwks(a, false);                    /* the first time only */
    bool ok = verify_with_jwks(a, jws, kid, kty, &kid_known);
    if (!ok && !kid_known) {                   /* the provider may have rotated its keys */
        refresh_jwks(a, true);
        ok = verify_with_jwks(a, jws, kid, kty, &kid_known);
    }
    if (!ok || !cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) {
        snprintf(why, why_len, kid_known ? "token signature does not verify" : "token signed by an unknown key");
        return RW_EINVAL;
    }
    json_t *claims = json_loadb((const char *) plain, plain_len, 0, NULL);
    int rc = RW_EINVAL;
    if (!json_is_object(claims)) {
        snprintf(why, why_len, "token claims are not a JSON object");
        goto out;
    }
    if ((rc = check_times_and_names(a, claims, a->issuer, a->audience, now_ms, why, why_len)) < 0)
        goto out;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!sub || !sub[0]) {
        snprintf(why, why_len, "token has no subject (sub)");
        rc = RW_EINVAL;
        goto out;
    }
    copy_str(who->sub, sizeof who->sub, sub);
    copy_str(who->user, sizeof who->user, json_string_value(json_object_get(claims, a->user_claim)));
    who->roles = GW_ROLE_STAFF;
    claim_names(json_object_get(claims, a->roles_claim), add_role, who);
    claim_names(json_object_get(claims, a->groups_claim), add_group, who);
    copy_str(who->via, sizeof who->via, "oidc");
    rc = 0;
out:
    json_decref(claims);
    return rc;
}

/* A compact JWS: three parts of unpadded base64url (RFC 7515 3.1), none of a length that no
 * encoding has (4n + 1). libcjose's decoder aborts the process on some inputs outside this shape
 * (an '=' inside a part), so nothing else reaches it. */
static bool compact_jws_shape(const char *t, size_t len)
{
    size_t dots = 0, part = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || t[i] == '.') {
            if (part % 4 == 1)
                return false;
            dots += i < len;
            part = 0;
            continue;
        }
        unsigned char c = (unsigned char) t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
        part++;
    }
    return dots == 2;
}

int gw_auth_check(gw_auth_t *a, rw_redis_t *redis, const char *token, uint64_t now_ms,
                  gw_identity_t *who, char *why, size_t why_len)
{
    cjose_err cerr;
    int rc = RW_EINVAL;
    memset(who, 0, sizeof *who);
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > 16384) {
        snprintf(why, why_len, "no token");
        return RW_EINVAL;
    }
    cjose_jws_t *jws = compact_jws_shape(token, len) ? cjose_jws_import(token, len, &cerr) : NULL;
    if (!jws) {
        snprintf(why, why_len, "malformed token");
        return RW_EINVAL;
    }
    cjose_header_t *hdr = cjose_jws_get_protected(jws);
    const char *alg = hdr ? json_string_value(json_object_get((json_t *) hdr, "alg")) : NULL;
    const char *kid = hdr ? json_string_value(json_object_get((json_t *) hdr, "kid")) : NULL;
    if (alg && !strcmp(alg, "HS256"))
        rc = check_local(a, jws, redis, now_ms, who, why, why_len);
    else if (alg && (!strcmp(alg, "RS256") || !strcmp(alg, "ES256")))
        rc = check_oidc(a, jws, alg, kid, now_ms, who, why, why_len);
    else
        snprintf(why, why_len, "token algorithm %.16s is not accepted (RS256, ES256, HS256)", alg ? alg : "(none)");
    cjose_jws_release(jws);
    if (rc < 0)
        memset(who, 0, sizeof *who);
    return rc;
}

int gw_auth_sign_local(gw_auth_t *a, const char *account, unsigned gen, uint64_t now_ms,
                       char **token, uint64_t *expires)
{
    cjose_err cerr;
    const char *ser = NULL;
    uint64_t now = now_ms / 1000;
    *token = NULL;
    *expires = now + (uint64_t) a->ttl_s;
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i}", "iss", GW_LOCAL_ISSUER,
                               "aud", GW_LOCAL_AUDIENCE, "sub", account, "iat", (json_int_t) now,
                               "nbf", (json_int_t) now, "exp", (json_int_t) *expires, "gen", (int) gen);
    char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    cjose_header_t *hdr = cjose_header_new(&cerr);
    cjose_jws_t *jws = NULL;
    if (payload && hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, "HS256", &cerr) &&
        cjose_header_set(hdr, "typ", "JWT", &cerr))
        jws = cjose_jws_sign(a->local_key, hdr, (const uint8_t *) payload, strlen(payload), &cerr);
    if (jws && cjose_jws_export(jws, &ser, &cerr))
        *token = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    json_decref(claims);
    return *token ? 0 : RW_EIO;
}

/* ---- rights (api.h) ------------------------------------------------------------------------ */
bool gw_is_admin(const gw_req_t *req)
{
    return req->who && (req->who->roles & GW_ROLE_ADMIN);
}

bool gw_may_user(const gw_req_t *req, gw_resp_t *r, const char *id)
{
    if (gw_is_admin(req) || (req->who && req->who->user[0] && id && !strcmp(req->who->user, id)))
        return true;
    gw_error(r, 403, "forbidden", "you may only see and change your own settings, not user '%.64s'",
             id ? id : "");
    return false;
}

bool gw_may_group(const gw_req_t *req, gw_resp_t *r, const char *id)
{
    if (gw_is_admin(req))
        return true;
    if (req->who && (req->who->roles & GW_ROLE_SUPERVISOR) && id)
        for (size_t i = 0; i < req->who->n_groups; i++)
            if (!strcmp(req->who->groups[i], id))
                return true;
    gw_error(r, 403, "forbidden", "you do not supervise hunt group '%.64s'", id ? id : "");
    return false;
}
