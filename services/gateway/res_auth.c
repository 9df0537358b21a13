/* services/gateway/res_auth.c — logging in with a local account, who am I, the audit trail and
 * the OpenAPI document.
 * Failed logins are counted in Redis per user name and per client address (shared by every
 * instance) for gateway.login_window_s; past the limit the answer is 429 with Retry-After, before
 * any password is checked. An unknown name costs the same Argon2 verification as a known one,
 * so the time of the answer does not tell which names exist. At most GW_LOGIN_PARALLEL
 * verifications run at once (each takes 19 MiB for a moment): a flood of logins waits for a
 * turn rather than taking the machine's memory. */
#include "services/gateway/gateway.h"
#include "services/gateway/account.h"
#include "services/gateway/auth.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_USER_KEY "rw:login:fail:user:"
#define GW_LOGIN_PARALLEL 4
#define FAIL_ADDR_KEY "rw:login:fail:addr:"

/* The hash an unknown name is checked against: made once, with the cost of a real one. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[GW_HASH_MAX];

static pthread_mutex_t verify_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t verify_cv = PTHREAD_COND_INITIALIZER;
static int verifying;

static void make_dummy(void)
{
    if (gw_password_hash("no such account: a password nobody has", dummy_hash, sizeof dummy_hash) < 0)
        dummy_hash[0] = '\0';
}

/* One Argon2 verification, no more than GW_LOGIN_PARALLEL at once. */
static bool verify_bounded(const char *hash, const char *password)
{
    pthread_mutex_lock(&verify_mu);
    while (verifying >= GW_LOGIN_PARALLEL)
        pthread_cond_wait(&verify_cv, &verify_mu);
    verifying++;
    pthread_mutex_unlock(&verify_mu);
    bool ok = gw_password_verify(hash, password);
    pthread_mutex_lock(&verify_mu);
    verifying--;
    pthread_cond_signal(&verify_cv);
    pthread_mutex_unlock(&verify_mu);
    return ok;
}

/* Seconds until the window of key ends when its count is at least max; 0 when under it. */
static long over_limit(rw_redis_t *redis, const char *key, long max, bool *redis_down)
{
    redisReply *r = rw_redis_command(redis, "GET %s", key);
    long wait = 0;
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        *redis_down = true;
    } else if (r->type == REDIS_REPLY_STRING && strtol(r->str, NULL, 10) >= max) {
        redisReply *t = rw_redis_command(redis, "PTTL %s", key);
        wait = t && t->type == REDIS_REPLY_INTEGER && t->integer > 0 ? (long) ((t->integer + 999) / 1000) : 1;
        if (t)
            freeReplyObject(t);
    }
    if (r)
        freeReplyObject(r);
    return wait;
}

static void count_failure(rw_redis_t *redis, const char *key, long window_s)
{
    redisReply *r = rw_redis_command(redis, "INCR %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        freeReplyObject(r);
        r = rw_redis_command(redis, "EXPIRE %s %ld", key, window_s);
    }
    if (r)
        freeReplyObject(r);
}

static void login(gw_req_t *req, gw_resp_t *resp)
{
    const rw_config_t *cfg = req->gw->cfg;
    const char *name = json_string_value(json_object_get(req->body, "username"));
    const char *password = json_string_value(json_object_get(req->body, "password"));
    char ukey[128], akey[128];
    bool down = false;
    gw_account_t acc;

    if (!json_is_object(req->body) || !name || !password) {
        gw_error(resp, 400, "bad_request", "send {\"username\":\"...\",\"password\":\"...\"}");
        return;
    }
    if (!gw_account_valid_name(name) || strlen(password) > 1024) {
        gw_error(resp, 401, "login_failed", "wrong user name or password");
        gw_stat(req->gw, GW_STAT_LOGIN_FAILED, NULL, 401, 0);
        return;
    }
    snprintf(ukey, sizeof ukey, FAIL_USER_KEY "%s", name);
    snprintf(akey, sizeof akey, FAIL_ADDR_KEY "%s", req->remote);
    long wait_u = over_limit(req->redis, ukey, rw_config_int(cfg, "gateway.login_max_failures"), &down);
    long wait_a = over_limit(req->redis, akey, rw_config_int(cfg, "gateway.login_max_failures_addr"), &down);
    if (down) {
        gw_error(resp, 503, "unavailable", "accounts cannot be checked: Redis is unreachable");
        resp->retry_after = 1;
        return;
    }
    if (wait_u || wait_a) {
        resp->retry_after = (int) (wait_u > wait_a ? wait_u : wait_a);
        gw_error(resp, 429, "too_many_attempts", "too many failed logins: try again in %d s", resp->retry_after);
        gw_stat(req->gw, GW_STAT_RATE_LIMITED, NULL, 429, 0);
        rw_log_warn("login_rate_limited", RW_S("account", name), RW_S("remote", req->remote));
        return;
    }
    int rc = gw_account_get(req->redis, name, &acc);
    if (rc == RW_EIO) {
        gw_error(resp, 503, "unavailable", "accounts cannot be checked: Redis is unreachable");
        resp->retry_after = 1;
        return;
    }
    pthread_once(&dummy_once, make_dummy);
    bool ok = verify_bounded(rc == 0 ? acc.hash : dummy_hash, password) && rc == 0;
    if (!ok) {
        long window = rw_config_int(cfg, "gateway.login_window_s");
        count_failure(req->redis, ukey, window);
        count_failure(req->redis, akey, window);
        gw_stat(req->gw, GW_STAT_LOGIN_FAILED, NULL, 401, 0);
        rw_log_info("login_failed", RW_S("account", name), RW_S("remote", req->remote));
        gw_error(resp, 401, "login_failed", "wrong user name or password");
        return;
    }
    redisReply *r = rw_redis_command(req->redis, "DEL %s", ukey);
    if (r)
        freeReplyObject(r);
    char *token = NULL;
    uint64_t expires = 0;
    if (gw_auth_sign_local(req->gw->auth, acc.name, acc.gen, rw_clock_wall_ms(), &token, &expires) < 0) {
        gw_error(resp, 500, "internal", "the token could not be signed");
        return;
    }
    gw_stat(req->gw, GW_STAT_LOGIN_OK, NULL, 200, 0);
    rw_log_info("login", RW_S("account", acc.name), RW_S("remote", req->remote));
    gw_json(resp, 200, json_pack("{s:s, s:s, s:I, s:I}", "token", token, "token_type", "Bearer",
                                 "expires", (json_int_t) expires,
                                 "expires_in", (json_int_t) gw_auth_token_ttl(req->gw->auth)));
    free(token);
}

static json_t *roles_json(unsigned roles)
{
    json_t *a = json_array();
    if (roles & GW_ROLE_STAFF)
        json_array_append_new(a, json_string("staff"));
    if (roles & GW_ROLE_SUPERVISOR)
        json_array_append_new(a, json_string("supervisor"));
    if (roles & GW_ROLE_ADMIN)
        json_array_append_new(a, json_string("admin"));
    return a;
}

static void me(gw_req_t *req, gw_resp_t *resp)
{
    const gw_identity_t *who = req->who;
    json_t *groups = json_array();
    for (size_t i = 0; i < who->n_groups; i++)
        json_array_append_new(groups, json_string(who->groups[i]));
    gw_json(resp, 200, json_pack("{s:s, s:s?, s:o, s:o, s:s}", "sub", who->sub,
                                 "user", who->user[0] ? who->user : NULL, "roles", roles_json(who->roles),
                                 "groups", groups, "via", who->via));
}

static void openapi(gw_req_t *req, gw_resp_t *resp)
{
    (void) req;
    size_t n = strlen(req->gw->openapi);
    resp->raw = malloc(n);
    if (!resp->raw) {
        gw_error(resp, 500, "internal", "out of memory");
        return;
    }
    memcpy(resp->raw, req->gw->openapi, n);
    resp->raw_len = n;
    resp->content_type = "application/json";
    resp->status = 200;
}

const gw_route_t gw_routes_auth[] = {
    { "POST", "/api/v1/login", 0, login },
    { "GET", "/api/v1/me", GW_ROLE_ANY, me },
    { "GET", "/api/v1/audit", GW_ROLE_ADMIN, gw_audit_list },
    { "GET", "/api/v1/openapi.json", 0, openapi },
    { NULL, NULL, 0, NULL },
};
