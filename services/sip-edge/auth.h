/* services/sip-edge/auth.h — digest authentication of requests from devices.
 * Checks Authorization (REGISTER: 401 + WWW-Authenticate) or Proxy-Authorization (other
 * requests: 407 + Proxy-Authenticate) with RFC 2617/7616 digest, MD5 and SHA-256, qop=auth.
 * Nonces are stateless (nonce.h) so every sip-edge instance verifies any other's; a nonce
 * count is accepted once per nonce (Redis, or memory when Redis is away). HA1 comes from Redis
 * (rw:num:<ext> -> rw:user:<id> ha1 / ha1_sha256) in one round trip and is cached briefly.
 * Unknown user and wrong password get the same 403; a source address with too many failures
 * is slowed, then answered 503 + Retry-After until its lockout ends. Failures and lockouts are
 * counted in Redis too (rw:authfail:<addr>, rw:authlock:<addr>), so a lockout holds on every
 * instance and process; each also counts locally, which decides when Redis is away. */
#ifndef RW_SIPEDGE_AUTH_H
#define RW_SIPEDGE_AUTH_H

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "common/metrics.h"
#include "common/redis.h"

typedef struct rw_auth rw_auth_t;

typedef struct {
    const char *realm;            /* "ringway.local" */
    const char *nonce_secret;     /* shared by all sip-edge instances (config), HMAC key */
    unsigned nonce_ttl_s;         /* default 300 */
    unsigned fail_limit;          /* failures from one source before lockout, default 10 */
    unsigned fail_window_s, lockout_s;   /* defaults 60 and 300 */
    const char *algorithms;       /* challenges offered, in order: "MD5" (NULL/"" = this),
                                     "SHA-256,MD5", "MD5,SHA-256" or "SHA-256" */
} rw_auth_opts_t;

/* NULL on a bad argument (no realm or secret). redis and metrics may be NULL. */
rw_auth_t *rw_auth_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                       const rw_auth_opts_t *opts);
/* Pending checks are finished with RW_AUTH_ANSWERED (irq answered 503) or a 503 verdict
 * before this returns. */
void rw_auth_destroy(rw_auth_t **self);

typedef enum {
    RW_AUTH_OK = 0,
    RW_AUTH_ANSWERED              /* 401/407/403/400/503 already sent on irq */
} rw_auth_result_t;

/* Checks the request's Authorization (REGISTER, as_proxy=0 -> 401/WWW-Authenticate) or
 * Proxy-Authorization (other requests, as_proxy=1 -> 407/Proxy-Authenticate). On failure it answers
 * irq itself. fn runs exactly once, never inside this call; on RW_AUTH_OK it gets the authenticated
 * digest user name (the extension) and the Ringway user id. The caller must not answer or destroy
 * irq before fn runs. Returns 0, or RW_EINVAL/RW_ENOMEM (fn will not run, irq untouched). */
typedef void rw_auth_fn(void *arg, rw_auth_result_t res, const char *ext, const char *user_id);
int rw_auth_check(rw_auth_t *self, nta_incoming_t *irq, const sip_t *sip, int as_proxy,
                  rw_auth_fn *fn, void *arg);

/* The verdict of rw_auth_check_msg: ok with the extension and user id, or the answer the
 * caller must send (status, a static phrase, and header lines such as "WWW-Authenticate:
 * ...\r\n" or "Retry-After: 5\r\n", possibly empty). Valid only during the callback. */
typedef struct {
    int ok;
    const char *ext, *user_id;    /* when ok */
    int status;                   /* when not ok: 401/407/403/400/503 */
    const char *phrase;
    const char *headers;
} rw_auth_verdict_t;
typedef void rw_auth_verdict_fn(void *arg, const rw_auth_verdict_t *v);

/* The same check for a request handled without a server transaction (msg: the request, only
 * read during this call; it may be freed once this returns). Never answers anything itself:
 * fn runs exactly once, never inside this call, and the caller sends the answer it gives.
 * Returns 0, or RW_EINVAL/RW_ENOMEM (fn will not run). */
int rw_auth_check_msg(rw_auth_t *self, msg_t *msg, const sip_t *sip, int as_proxy,
                      rw_auth_verdict_fn *fn, void *arg);

/* A request without credentials for our realm, from a source not locked out, is challenged
 * statelessly (401/407 with nta_msg_treply; msg consumed, no transaction kept): returns 1.
 * Otherwise 0 and msg is untouched (the stateful rw_auth_check path decides). */
int rw_auth_challenge_stateless(rw_auth_t *self, nta_agent_t *agent, msg_t *msg, const sip_t *sip,
                                int as_proxy);

/* Forget every cached HA1 (tests; a directory.changed event). */
void rw_auth_flush_cache(rw_auth_t *self);

#endif
