/* services/gateway/res_supervisor.c — hunt groups live, their history and server-sent events (supervisor or admin). */
#include "services/gateway/api.h"

const gw_route_t gw_routes_supervisor[] = {
    {NULL, NULL, 0, NULL},
};
