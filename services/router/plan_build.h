/* services/router/plan_build.h — turn a user's directory entry into a route plan and trace.
 * Pure: no I/O, no clock reads (the request carries the time), no allocation, so every rule
 * can be tested from a table. Devices come as "kind address" strings from the directory. */
#ifndef RW_PLAN_BUILD_H
#define RW_PLAN_BUILD_H

#include <stddef.h>
#include "protocols/route.h"

#define RW_ROUTER_MAX_DEVICES 16

typedef struct {
    char id[64];
    char ext[16];
    char name[128];
    char realm[64];
    size_t n_devices;
    struct { char id[64]; char kind[16]; char address[256]; } devices[RW_ROUTER_MAX_DEVICES];
} rw_router_user_t;

typedef struct {
    unsigned ring_ms;            /* how long the user's own devices ring */
} rw_router_policy_t;

/* Fills *plan for req; user NULL means the callee resolved to nobody (RW_PLAN_NOT_FOUND). */
void rw_router_build_plan(const rw_router_policy_t *pol, const rw_route_req_t *req,
                          const rw_router_user_t *user, rw_plan_t *plan);

#endif
