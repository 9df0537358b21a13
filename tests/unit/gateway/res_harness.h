/* tests/unit/gateway/res_harness.h — calling the gateway's resource handlers directly, as the
 * HTTP layer would after authentication: a real redis-server (tests/harness/redis_fixture.h),
 * a request with an identity, a body and If-Match, the route found in the resource tables by
 * method and pattern, and the answer inspected. Header-only: each test file includes it once. */
#ifndef RW_TEST_RES_HARNESS_H
#define RW_TEST_RES_HARNESS_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "directory/directory.h"
#include "services/gateway/api.h"
#include "services/gateway/gateway.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static rw_redis_t *r;
static gw_ctx_t gw;

static inline void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

/* A fresh Redis (flushed) and the gateway context's Redis options pointing at it. */
static inline void res_setup_redis(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    memset(&gw, 0, sizeof gw);
    gw.redis_opts.host = "127.0.0.1";
    gw.redis_opts.port = fx.port;
    gw.redis_opts.command_timeout_ms = 2000;
    r = rw_redis_new(&gw.redis_opts);
    ck_assert_ptr_nonnull(r);
    redisReply *rep = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
}

static inline void res_teardown_redis(void)
{
    rw_redis_destroy(&r);
}

static inline void add_user(const char *id, const char *ext, const char *mobile)
{
    rw_dir_user_t u;
    char err[256];
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.ext, sizeof u.ext, "%s", ext);
    snprintf(u.tz, sizeof u.tz, "Europe/London");
    snprintf(u.realm, sizeof u.realm, "ringway.local");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rw_dir_device_put(r, &rw_numplan_uk, id, "softphone", "sip", "", err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_device_put(r, &rw_numplan_uk, id, "mobile", "number", mobile, err, sizeof err), 0);
}

/* Identities. */
static inline gw_identity_t who_staff(const char *user)
{
    gw_identity_t w;
    memset(&w, 0, sizeof w);
    snprintf(w.sub, sizeof w.sub, "%s", user);
    snprintf(w.user, sizeof w.user, "%s", user);
    snprintf(w.via, sizeof w.via, "local");
    w.roles = GW_ROLE_STAFF;
    return w;
}

static inline gw_identity_t who_admin(void)
{
    gw_identity_t w = who_staff("root");
    w.user[0] = '\0';
    w.roles = GW_ROLE_STAFF | GW_ROLE_ADMIN;
    return w;
}

static inline gw_identity_t who_supervisor(const char *user, const char *group)
{
    gw_identity_t w = who_staff(user);
    w.roles |= GW_ROLE_SUPERVISOR;
    snprintf(w.groups[0], sizeof w.groups[0], "%s", group);
    w.n_groups = 1;
    return w;
}

static inline const gw_route_t *res_route(const gw_route_t *table, const char *method, const char *pattern)
{
    for (const gw_route_t *rt = table; rt->method; rt++)
        if (!strcmp(rt->method, method) && !strcmp(rt->pattern, pattern))
            return rt;
    ck_abort_msg("no route %s %s", method, pattern);
    return NULL;
}

/* Calls the handler of method+pattern with params (NULL-ended), body text (NULL: none) and
 * If-Match (NULL: none). The caller frees the answer with res_free. */
static inline gw_resp_t res_call(const gw_route_t *table, const char *method, const char *pattern, const gw_identity_t *who,
                          const char *body, const char *if_match, ...)
{
    gw_req_t req;
    gw_resp_t resp;
    va_list ap;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = method;
    req.path = pattern;
    req.who = who;
    req.redis = r;
    req.gw = &gw;
    req.remote = "127.0.0.1";
    req.if_match = if_match;
    va_start(ap, if_match);
    for (const char *p; req.n_params < 4 && (p = va_arg(ap, const char *));)
        req.params[req.n_params++] = p;
    va_end(ap);
    json_error_t jerr;
    req.body = body ? json_loads(body, 0, &jerr) : NULL;
    ck_assert_msg(!body || req.body, "test body does not parse: %s", jerr.text);
    res_route(table, method, pattern)->fn(&req, &resp);
    json_decref(req.body);
    return resp;
}

static inline void res_free(gw_resp_t *a)
{
    json_decref(a->json);
    free(a->raw);
    if (a->stream_free)
        a->stream_free(a->stream_arg);
    memset(a, 0, sizeof *a);
}

/* The error message of an answer, "" when none. */
static inline const char *res_message(const gw_resp_t *a)
{
    const char *m = json_string_value(json_object_get(json_object_get(a->json, "error"), "message"));
    return m ? m : "";
}

static inline const char *res_str(const gw_resp_t *a, const char *key)
{
    const char *s = json_string_value(json_object_get(a->json, key));
    return s ? s : "";
}

#endif
