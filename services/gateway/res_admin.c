/* services/gateway/res_admin.c — users, devices, hunt groups, agents, trunks, directory import/export (admin). */
#include "services/gateway/api.h"

const gw_route_t gw_routes_admin[] = {
    {NULL, NULL, 0, NULL},
};
