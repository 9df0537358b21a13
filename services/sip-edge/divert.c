/* services/sip-edge/divert.c — colleague diverts: route again through router, else the
 * colleague's fallback plan (divert.h). */
#include "services/sip-edge/divert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

typedef struct {                  /* one divert in flight */
    rw_divert_env_t env;
    rw_divert_cb_t cb;
    void *arg;
    char ext[sizeof ((rw_route_req_t *) 0)->callee];
    rw_route_req_t rq;            /* the request sent: the fallback evaluates the same one */
    rw_plan_t plan;               /* the router's answer, decoded */
} divert_t;

int rw_divert_is_colleague(const rw_target_t *t)
{
    return t->type == RW_TARGET_NUMBER && t->number[0] && t->number[0] != '+';
}

int rw_divert_request(const rw_route_req_t *call, const char *user, const char *ext,
                      rw_route_req_t *out)
{
    *out = *call;
    if (!ext[0] || strlen(ext) >= sizeof out->callee)
        return RW_EINVAL;
    snprintf(out->callee, sizeof out->callee, "%s", ext);
    out->callee_uri[0] = '\0';
    out->redirect_mode = false;
    if (!user || !user[0])
        return 0;
    for (uint32_t i = 0; i < out->n_diversions; i++)
        if (!strcmp(out->diversions[i], user))
            return 0;
    if (out->n_diversions >= RW_ROUTE_MAX_DIVERSIONS || strlen(user) >= sizeof out->diversions[0])
        return RW_ERANGE;         /* too many hops already: the divert is dropped */
    snprintf(out->diversions[out->n_diversions++], sizeof out->diversions[0], "%s", user);
    return 0;
}

static void on_fallback(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind)
{
    divert_t *d = arg;
    d->cb.done(d->arg, status, status == 0 ? plan : NULL, kind);
    free(d);
}

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    divert_t *d = arg;
    int ok = status == 0 && rw_proto_plan_decode(body, len, &d->plan) == 0
             && d->plan.status != RW_PLAN_ERROR;
    if (!ok && d->env.fb && d->cb.wanted(d->arg)) {   /* router away: the fallback plan */
        if (rw_fallback_resolve_call(d->env.fb, &d->rq, on_fallback, d) != 0) {
            d->cb.done(d->arg, RW_EIO, NULL, RW_FALLBACK_NONE);
            free(d);
        }
        return;
    }
    if (ok && d->plan.status == RW_PLAN_OK) {
        if (d->env.fb && d->cb.wanted(d->arg))
            rw_fallback_remember(d->env.fb, d->ext, &d->plan);
        d->cb.done(d->arg, 0, &d->plan, RW_FALLBACK_NONE);
    } else
        d->cb.done(d->arg, ok ? RW_ENOTFOUND : RW_EIO, NULL, RW_FALLBACK_NONE);
    free(d);
}

int rw_divert_start(const rw_divert_env_t *env, const rw_route_req_t *call, const char *user,
                    const char *ext, const rw_divert_cb_t *cb, void *arg)
{
    rw_route_req_t rq;
    msgpack_sbuffer sb;
    int rc = rw_divert_request(call, user, ext, &rq);
    if (rc != 0)
        return rc;
    if (!env->router)
        return RW_EINVAL;
    divert_t *d = calloc(1, sizeof *d);
    if (!d)
        return RW_ENOMEM;
    d->env = *env;
    d->cb = *cb;
    d->arg = arg;
    snprintf(d->ext, sizeof d->ext, "%s", ext);
    d->rq = rq;
    msgpack_sbuffer_init(&sb);
    rc = rw_proto_route_req_encode(&rq, &sb);
    if (rc == 0)
        rc = rw_client_request(env->router, sb.data, sb.size, env->deadline_ms, on_plan, d);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        free(d);
    return rc;
}
