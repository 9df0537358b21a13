/* services/router/plan_build.c — the decision for a user without personal rules: ring the
 * user's SIP devices in parallel, then voicemail if they have a mailbox, else unavailable.
 * Each step leaves a line in the trace so the CLI can explain the call. */
#include "services/router/plan_build.h"

#include <stdio.h>
#include <string.h>

static void add_sip_targets(const rw_router_user_t *u, rw_stage_t *st, rw_plan_t *plan)
{
    char own[128];
    snprintf(own, sizeof own, "sip:%s@%s", u->ext, u->realm);
    for (size_t i = 0; i < u->n_devices; i++) {
        const char *aor = u->devices[i].address[0] ? u->devices[i].address : own;
        int dup = 0;
        if (strcmp(u->devices[i].kind, "sip"))
            continue;
        for (uint32_t t = 0; t < st->n_targets; t++)
            dup |= !strcmp(st->targets[t].aor, aor);
        if (dup)
            continue;
        if (rw_proto_stage_add_target(st, RW_TARGET_DEVICES, aor, NULL) < 0) {
            rw_proto_plan_trace(plan, "device '%s' skipped: stage is full", u->devices[i].id);
            continue;
        }
        rw_proto_plan_trace(plan, "device '%s': ring %s", u->devices[i].id, aor);
    }
}

static const char *find_kind(const rw_router_user_t *u, const char *kind)
{
    for (size_t i = 0; i < u->n_devices; i++)
        if (!strcmp(u->devices[i].kind, kind))
            return u->devices[i].id;
    return NULL;
}

void rw_router_build_plan(const rw_router_policy_t *pol, const rw_route_req_t *req,
                          const rw_router_user_t *u, rw_plan_t *plan)
{
    rw_stage_t *st = NULL;
    memset(plan, 0, sizeof *plan);
    snprintf(plan->call_id, sizeof plan->call_id, "%s", req->call_id);
    plan->final = RW_FINAL_UNAVAILABLE;
    if (!u) {
        plan->status = RW_PLAN_NOT_FOUND;
        rw_proto_plan_trace(plan, "'%s' is nobody's extension or number", req->callee);
        return;
    }
    plan->status = RW_PLAN_OK;
    snprintf(plan->user, sizeof plan->user, "%s", u->id);
    rw_proto_plan_trace(plan, "'%s' is %s (%s)", req->callee, u->id, u->name[0] ? u->name : u->ext);
    if (find_kind(u, "sip") && rw_proto_plan_add_stage(plan, pol->ring_ms, &st) == 0) {
        add_sip_targets(u, st, plan);
        rw_proto_plan_trace(plan, "no personal rules: ring SIP devices together for %u s",
                            pol->ring_ms / 1000);
    } else {
        rw_proto_plan_trace(plan, "no SIP device to ring");
    }
    const char *vm = find_kind(u, "voicemail");
    if (vm) {
        plan->final = RW_FINAL_VOICEMAIL;
        plan->final_target.type = RW_TARGET_VOICEMAIL;
        snprintf(plan->final_target.mailbox, sizeof plan->final_target.mailbox, "%s", u->id);
        rw_proto_plan_trace(plan, "then voicemail '%s'", vm);
    } else {
        rw_proto_plan_trace(plan, "then unavailable (480): no voicemail");
    }
}
