/* services/router/main.c — ringway-router: wiring only (config, parts, loop, teardown). */
#include "services/core/service.h"
#include "services/router/router.h"
#include "bus/bus.h"
#include "common/log.h"

static const rw_cfg_spec_t router_spec[] = {
    { "router.bind", RW_CFG_STR, "tcp://127.0.0.1:7101", 0, 0, "ZeroMQ endpoint route requests are answered on" },
    { "router.announce", RW_CFG_STR, "", 0, 0, "endpoint announced in the Redis registry (default: the bound one)" },
    { "router.ring_ms", RW_CFG_INT, "20000", 1000, 600000, "how long a user's own devices ring when no rule says otherwise" },
    { "router.max_hops", RW_CFG_INT, "4", 1, 8, "diversions a call may pass through before it ends at voicemail or busy" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const rw_service_def_t router_def = { "router", router_spec, "9101" };

int main(int argc, char **argv)
{
    int code;
    rw_service_t *svc = rw_service_new(&router_def, argc, argv, &code);
    if (!svc)
        return code;
    const rw_config_t *cfg = rw_service_config(svc);
    static rw_router_policy_t policy;
    policy.ring_ms = (unsigned) rw_config_int(cfg, "router.ring_ms");
    policy.max_hops = (unsigned) rw_config_int(cfg, "router.max_hops");
    rw_router_t *router = rw_router_new(rw_service_root(svc), rw_service_redis(svc),
                                        rw_service_metrics(svc), rw_config_str(cfg, "router.bind"),
                                        &rw_numplan_uk, &policy);
    rw_announcer_t *ann = NULL;
    if (!router) {
        rw_service_destroy(&svc);
        return 1;
    }
    rw_router_set_pub(router, rw_service_pub(svc));
    const char *announce = rw_config_str(cfg, "router.announce");
    ann = rw_announcer_new(rw_service_root(svc), rw_service_redis(svc), "router",
                           rw_service_instance(svc), announce[0] ? announce : rw_router_endpoint(router),
                           (unsigned) rw_config_int(cfg, "bus.discovery_ttl_ms"));
    rw_log_info("router_ready", RW_S("endpoint", rw_router_endpoint(router)));
    code = rw_service_run(svc);
    rw_announcer_destroy(&ann);
    rw_router_destroy(&router);
    rw_service_destroy(&svc);
    return code;
}
