/* services/gateway/res_staff.c — a user's own settings, presence, divert, explain and recent calls (self or admin). */
#include "services/gateway/api.h"

const gw_route_t gw_routes_staff[] = {
    {NULL, NULL, 0, NULL},
};
