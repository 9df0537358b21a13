/* services/gateway/auth.h — who is asking: bearer tokens checked into a gw_identity_t.
 * Two kinds of token. The organisation's OpenID Connect provider signs RS256 or ES256 tokens
 * with a key of its JWKS (fetched once, again on an unknown kid at most every 30 s by default); iss, aud,
 * exp and nbf are checked with a clock skew. The gateway signs HS256 tokens for local accounts
 * (account.h) with gateway.token_secret, shared by every instance; such a token names the
 * account and its generation, so removing the account or changing its password ends it.
 * Thread-safe: every connection thread checks tokens at once; the key set is swapped under a
 * lock. Never logs a token or a password. */
#ifndef RW_GW_AUTH_H
#define RW_GW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/redis.h"
#include "services/gateway/api.h"

typedef struct gw_auth gw_auth_t;

typedef struct {
    const char *token_secret;        /* HS256 key of local tokens (at least 32 bytes) */
    long token_ttl_s;
    long clock_skew_s;               /* tolerance on exp and nbf, both kinds */
    const char *oidc_issuer;         /* "" = no OpenID Connect provider */
    const char *oidc_audience;
    const char *oidc_jwks;           /* http(s) URL or file path */
    const char *user_claim;          /* "preferred_username" */
    const char *roles_claim;         /* "roles": ringway-admin, ringway-supervisor */
    const char *groups_claim;        /* "ringway_groups" */
    long jwks_refresh_s;             /* at most one JWKS fetch per this (0: 30) */
} gw_auth_opts_t;

/* The issuer and audience of the gateway's own tokens. */
#define GW_LOCAL_ISSUER "ringway-gateway"
#define GW_LOCAL_AUDIENCE "ringway"
/* A JWKS is fetched again for an unknown kid no more often than this, by default. */
#define GW_JWKS_REFRESH_MIN_S 30

/* NULL with a sentence in err on a bad option (secret too short, JWKS unreadable is only
 * logged: it is fetched again when a token needs it). Strings are copied. */
gw_auth_t *gw_auth_new(const gw_auth_opts_t *opts, char *err, size_t err_len);
void gw_auth_destroy(gw_auth_t **self);

/* Checks token (the part after "Bearer ") and fills who. redis reads local accounts.
 * 0; RW_EINVAL (refused: why says which check failed, for the 401's message); RW_EIO (Redis
 * unreachable for a local token: 503). now_ms is the wall clock (common/clock.h). */
int gw_auth_check(gw_auth_t *self, rw_redis_t *redis, const char *token, uint64_t now_ms,
                  gw_identity_t *who, char *why, size_t why_len);

/* A local token for account (generation gen), valid token_ttl_s from now_ms: malloc'd compact
 * JWS into *token, its expiry (Unix seconds) into *expires. 0 or RW_EIO. */
int gw_auth_sign_local(gw_auth_t *self, const char *account, unsigned gen, uint64_t now_ms,
                       char **token, uint64_t *expires);

/* The lifetime of local tokens, seconds. */
long gw_auth_token_ttl(const gw_auth_t *self);

#endif
