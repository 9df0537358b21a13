/* services/sip-edge/divert.h — colleague diverts. A NUMBER target holding an extension (no
 * leading '+') is a colleague: a new route request for the extension, with the current user
 * appended to the diversions (the router's loop guard), goes to router; when router gives no
 * plan, the colleague's fallback plan is used. The plan comes back through one callback, which
 * runs exactly once per divert started; the caller replaces the rest of its call's plan with
 * it. A divert owns its request in flight; the caller's arg must live until the callback ran. */
#ifndef RW_SIPEDGE_DIVERT_H
#define RW_SIPEDGE_DIVERT_H

#include "bus/bus.h"
#include "protocols/events.h"
#include "protocols/route.h"
#include "services/sip-edge/fallback.h"

typedef struct {
    rw_client_t *router;          /* NULL: every divert is skipped */
    unsigned deadline_ms;
    rw_fallback_store_t *fb;      /* colleague plans when router does not answer; may be NULL */
} rw_divert_env_t;

typedef struct {
    /* 1 while the call still wants the answer: asked before the fallback is tried and before
     * a router plan is remembered in the fallback store. */
    int (*wanted)(void *arg);
    /* status 0 with the colleague's plan (valid during the call only) and how it was found
     * (RW_FALLBACK_NONE: from router), else an error and no plan: the divert is skipped. */
    void (*done)(void *arg, int status, const rw_plan_t *plan, rw_fallback_t kind);
} rw_divert_cb_t;

/* 1 when t is a colleague divert (a NUMBER target holding an extension). */
int rw_divert_is_colleague(const rw_target_t *t);
/* The route request for a divert from user (the current plan's user id) to extension ext:
 * call's request with callee = ext and user appended to diversions (once). RW_EINVAL for an
 * empty or oversized ext, RW_ERANGE when the diversions list is full (the divert is dropped). */
int rw_divert_request(const rw_route_req_t *call, const char *user, const char *ext,
                      rw_route_req_t *out);
/* Sends the divert's route request (rw_divert_request) to env->router. 0: cb->done will run
 * once, later; an error (no router, bad or full request, no memory): it never runs. */
int rw_divert_start(const rw_divert_env_t *env, const rw_route_req_t *call, const char *user,
                    const char *ext, const rw_divert_cb_t *cb, void *arg);

#endif
