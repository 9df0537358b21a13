/* services/router/plan_build.c — building blocks of a plan: a device as a target, trunks for
 * a number, the mailbox as the final action. The rules that choose them are in rules.c.
 * SIP devices that share the user's own AOR are told apart by the device id in the target
 * (sip-edge rings only the bindings registered as that device); a stage that rings all of
 * them gets one target without a device, which also rings bindings of no device. */
#include "services/router/plan_build.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* "sip:<ext>@<realm>" into out, cut to fit as snprintf would (without its cost per call). */
static void own_aor(const rw_router_user_t *u, char *out, size_t size)
{
    const char *parts[] = { "sip:", u->ext, "@", u->realm };
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        if (n > size - 1 - at)
            n = size - 1 - at;
        memcpy(out + at, parts[i], n);
        at += n;
    }
    out[at] = '\0';
}

int rw_plan_device_index(const rw_router_user_t *u, const char *device_id)
{
    for (size_t i = 0; i < u->n_devices; i++)
        if (!strcmp(u->devices[i].id, device_id))
            return (int) i;
    return RW_ENOTFOUND;
}

void rw_plan_add_trunks(const rw_router_policy_t *pol, rw_target_t *t)
{
    for (size_t i = 0; i < pol->n_trunks && t->n_trunks < RW_PLAN_MAX_TRUNKS; i++) {
        const rw_router_trunk_t *tr = &pol->trunks[i];
        for (int p = 0; p < 4 && tr->prefixes[p][0]; p++) {
            if (strncmp(t->number, tr->prefixes[p], strlen(tr->prefixes[p])))
                continue;
            rw_plan_copy(t->trunks[t->n_trunks++], sizeof t->trunks[0], tr->name);
            break;
        }
    }
}

/* Whether the stage already rings dest (for a device: that device, or the whole AOR). */
static int same_target(const rw_stage_t *st, rw_target_type_t type, const char *dest,
                       const char *device)
{
    for (uint32_t i = 0; i < st->n_targets; i++)
        if (st->targets[i].type == type && !strcmp(st->targets[i].aor, dest)
            && (!st->targets[i].device[0] || !strcmp(st->targets[i].device, device)))
            return 1;
    return 0;
}

/* A SIP device that rings the user's own AOR: no address of its own, or that AOR itself. */
static bool on_own_aor(const rw_router_user_t *u, size_t i, const char *own)
{
    return !strcmp(u->devices[i].kind, "sip")
           && (!u->devices[i].address[0] || !strcmp(u->devices[i].address, own));
}

static size_t own_aor_devices(const rw_router_user_t *u, const char *own)
{
    size_t n = 0;
    for (size_t i = 0; i < u->n_devices; i++)
        n += on_own_aor(u, i, own);
    return n;
}

/* The device id a target for device dev carries: "" when it is the user's only SIP device on
 * their own AOR (then it rings every binding, as a plain "<ext>" registration is that device
 * too) or has an AOR of its own, else its id. */
static const char *target_device(const rw_router_user_t *u, size_t dev, const char *own)
{
    if (!on_own_aor(u, dev, own) || own_aor_devices(u, own) < 2)
        return "";
    return u->devices[dev].id;
}

/* When one more device would complete the set of the user's own-AOR devices in st, their
 * targets are removed and 1 returned: the caller adds one target without a device instead. */
static int completes_own_aor(const rw_router_user_t *u, rw_stage_t *st, const char *own)
{
    size_t have = 1;                  /* device itself, not yet in st */
    for (uint32_t i = 0; i < st->n_targets; i++)
        if (st->targets[i].type == RW_TARGET_DEVICES && st->targets[i].device[0]
            && !strcmp(st->targets[i].aor, own))
            have++;
    if (have < own_aor_devices(u, own))
        return 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < st->n_targets; i++)
        if (!(st->targets[i].type == RW_TARGET_DEVICES && st->targets[i].device[0]
              && !strcmp(st->targets[i].aor, own)))
            st->targets[k++] = st->targets[i];
    st->n_targets = k;
    return 1;
}

int rw_plan_add_device(const rw_router_policy_t *pol, const rw_router_user_t *u, size_t dev,
                       rw_stage_t *st, const char *diversion, rw_plan_t *plan)
{
    char aor[128], own[128];
    rw_target_t *t = NULL;
    const char *kind = u->devices[dev].kind, *addr = u->devices[dev].address, *device = "";
    rw_target_type_t type;
    if (!strcmp(kind, "sip")) {
        own_aor(u, own, sizeof own);
        rw_plan_copy(aor, sizeof aor, addr[0] ? addr : own);
        device = target_device(u, dev, own);
        type = RW_TARGET_DEVICES;
    } else if (!strcmp(kind, "number")) {
        rw_plan_copy(aor, sizeof aor, addr);
        type = RW_TARGET_NUMBER;
    } else if (!strcmp(kind, "voicemail")) {
        rw_plan_copy(aor, sizeof aor, u->id);
        type = RW_TARGET_VOICEMAIL;
    } else {
        return RW_ENOTFOUND;
    }
    if (same_target(st, type, aor, device))
        return 0;
    if (device[0] && completes_own_aor(u, st, aor))
        device = "";
    if (rw_proto_stage_add_target(st, type, aor, &t) < 0) {
        rw_proto_plan_trace(plan, "device '%s' skipped: stage is full", u->devices[dev].id);
        return RW_ERANGE;
    }
    rw_plan_copy(t->device, sizeof t->device, device);
    if (type == RW_TARGET_NUMBER) {
        t->is_private = true;
        rw_plan_add_trunks(pol, t);
    }
    if (diversion)
        rw_plan_copy(t->diversion, sizeof t->diversion, diversion);
    if (u->devices[dev].live < 0)
        rw_proto_plan_trace(plan, "device '%s': %s has no registration now", u->devices[dev].id, aor);
    else
        rw_proto_plan_trace(plan, "device '%s': ring %s%s", u->devices[dev].id,
                            type == RW_TARGET_NUMBER ? "number " : "", aor);
    return 0;
}

bool rw_plan_aor_dead(const rw_router_user_t *u, const char *aor)
{
    char own[128];
    own_aor(u, own, sizeof own);
    for (size_t i = 0; i < u->n_devices; i++)
        if (!strcmp(u->devices[i].kind, "sip") && u->devices[i].live >= 0 &&
            !strcmp(u->devices[i].address[0] ? u->devices[i].address : own, aor))
            return false;
    return true;
}

void rw_plan_final_voicemail(const rw_router_user_t *u, rw_plan_t *plan, rw_final_t otherwise,
                             const char *diversion)
{
    for (size_t i = 0; i < u->n_devices; i++) {
        if (strcmp(u->devices[i].kind, "voicemail"))
            continue;
        plan->final = RW_FINAL_VOICEMAIL;
        memset(&plan->final_target, 0, sizeof plan->final_target);
        plan->final_target.type = RW_TARGET_VOICEMAIL;
        rw_plan_copy(plan->final_target.mailbox, sizeof plan->final_target.mailbox, u->id);
        if (diversion)
            rw_plan_copy(plan->final_target.diversion, sizeof plan->final_target.diversion, diversion);
        return;
    }
    plan->final = otherwise;
    memset(&plan->final_target, 0, sizeof plan->final_target);
}

/* The final action a group's overflow stands for when huntgroup cannot be asked: busy, a
 * number through its trunks, a mailbox. An overflow to another group has no final action of
 * its own (sip-edge asks that group when huntgroup answers "overflow"): 480 here. */
static void group_final(const rw_router_policy_t *pol, const char *overflow, rw_plan_t *plan)
{
    memset(&plan->final_target, 0, sizeof plan->final_target);
    if (!strncmp(overflow, "number:", 7) && overflow[7]) {
        plan->final = RW_FINAL_NUMBER;
        plan->final_target.type = RW_TARGET_NUMBER;
        rw_plan_copy(plan->final_target.number, sizeof plan->final_target.number, overflow + 7);
        rw_plan_add_trunks(pol, &plan->final_target);
    } else if (!strncmp(overflow, "voicemail:", 10) && overflow[10]) {
        plan->final = RW_FINAL_VOICEMAIL;
        plan->final_target.type = RW_TARGET_VOICEMAIL;
        rw_plan_copy(plan->final_target.mailbox, sizeof plan->final_target.mailbox, overflow + 10);
    } else if (!strncmp(overflow, "group:", 6)) {
        plan->final = RW_FINAL_UNAVAILABLE;
    } else {
        plan->final = RW_FINAL_BUSY;
    }
}

void rw_plan_group(const rw_router_policy_t *pol, const rw_route_req_t *req,
                   const rw_router_user_t *u, rw_plan_t *plan)
{
    rw_stage_t *st = NULL;
    rw_target_t *t = NULL;
    rw_proto_plan_trace(plan, "'%s' is hunt group %s (%s)", req->callee, u->group,
                        u->name[0] ? u->name : u->ext);
    if (rw_proto_plan_add_stage(plan, 0, &st) == 0 &&
        rw_proto_stage_add_target(st, RW_TARGET_HUNTGROUP, u->group, &t) == 0)
        rw_proto_plan_trace(plan, "queue for the group's agents (huntgroup chooses them)");
    group_final(pol, u->group_overflow, plan);
    rw_proto_plan_trace(plan, "overflow %s; without huntgroup: %s", u->group_overflow,
                        plan->final == RW_FINAL_VOICEMAIL ? "voicemail"
                        : plan->final == RW_FINAL_NUMBER ? "the overflow number"
                        : plan->final == RW_FINAL_BUSY ? "busy (486)" : "unavailable (480)");
}
