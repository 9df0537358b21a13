/* services/router/plan_build.h — turn a user's directory entry, settings and state into a
 * route plan and its trace. Pure: no I/O, no clock reads (the request carries the time and
 * the caller passes the user's local time), no allocation, so every rule and every
 * combination can be tested from a table. Precedence: docs/routing.md. */
#ifndef RW_PLAN_BUILD_H
#define RW_PLAN_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "protocols/route.h"
#include "directory/dir_rules.h"

#define RW_ROUTER_MAX_DEVICES 16
#define RW_ROUTER_MAX_TRUNKS 16

typedef struct {
    char id[64];
    char ext[16];
    char name[128];
    char realm[64];
    char tz[64];
    size_t n_devices;
    struct {
        char id[64];
        char kind[16];               /* "sip", "number", "voicemail" */
        char address[256];
        int live;                    /* sip: 1 a live binding, -1 none, 0 unknown (fallback) */
    } devices[RW_ROUTER_MAX_DEVICES];
    char presence[16];               /* presence state, "" = unknown (treated as available) */
    rw_rule_dest_t divert_to;        /* calendar divert now in force; kind 0 = none */
    const rw_settings_t *settings;   /* NULL or empty: no personal rules */
    int local_wday;                  /* 0 Monday .. 6 Sunday, in the user's zone */
    int local_min;                   /* minutes since local midnight */
    char local_text[64];             /* "10:04 Tue, Europe/London" for the trace */
    char caller_number[24];          /* a colleague calling from their device (the request's
                                        caller is their extension): their public number, which
                                        caller conditions and exceptions also match; else "" */
    char group[64];                  /* the number is this hunt group's ("" = a user's): then
                                        only id (= group), ext, name and group_overflow are set */
    char group_overflow[160];        /* the group's overflow: "busy", "group:ID",
                                        "number:+E164", "voicemail:USER" */
} rw_router_user_t;

typedef struct {
    char name[32];
    char prefixes[4][16];            /* E.164 prefixes, "+" matches all */
    int order;                       /* lower first */
} rw_router_trunk_t;

typedef struct {
    unsigned ring_ms;                /* how long the user's own devices ring by default */
    unsigned max_hops;               /* diversions a call may go through before it stops */
    size_t n_trunks;
    rw_router_trunk_t trunks[RW_ROUTER_MAX_TRUNKS];  /* sorted by order */
} rw_router_policy_t;

/* Fills *plan for req; user NULL means the callee resolved to nobody (RW_PLAN_NOT_FOUND).
 * Only the header and what the counts cover are written: stages, targets and trace lines
 * past n_stages, n_targets and n_trace keep whatever the buffer held. */
void rw_router_build_plan(const rw_router_policy_t *pol, const rw_route_req_t *req,
                          const rw_router_user_t *user, rw_plan_t *plan);

/* Copies src into dst (size bytes), cut to fit and NUL-terminated: what snprintf(dst, size,
 * "%s", src) does, without parsing a format on every decision. */
static inline void rw_plan_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Helpers shared by the evaluator (plan_build.c). */
int rw_plan_device_index(const rw_router_user_t *u, const char *device_id);
/* Adds the device as a target of st (traced); RW_ENOTFOUND if it has no such device. */
int rw_plan_add_device(const rw_router_policy_t *pol, const rw_router_user_t *u, size_t dev,
                       rw_stage_t *st, const char *diversion, rw_plan_t *plan);
/* True when no SIP device of the user with this AOR is known to have a live binding. */
bool rw_plan_aor_dead(const rw_router_user_t *u, const char *aor);
void rw_plan_add_trunks(const rw_router_policy_t *pol, rw_target_t *t);
/* A hunt group's plan (u->group set): one stage with the RW_TARGET_HUNTGROUP target, the
 * group's overflow as the final action (docs/routing.md "Group numbers"). */
void rw_plan_group(const rw_router_policy_t *pol, const rw_route_req_t *req,
                   const rw_router_user_t *u, rw_plan_t *plan);
/* The user's mailbox as the final action, else `otherwise`. */
void rw_plan_final_voicemail(const rw_router_user_t *u, rw_plan_t *plan, rw_final_t otherwise,
                             const char *diversion);

#endif
