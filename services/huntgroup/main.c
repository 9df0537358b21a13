/* services/huntgroup/main.c — ringway-huntgroup: wiring only (config, parts, loop, teardown). */
#include "services/core/service.h"
#include "services/huntgroup/huntgroup.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdlib.h>
#include <unistd.h>

static const rw_cfg_spec_t huntgroup_spec[] = {
    { "huntgroup.bind", RW_CFG_STR, "tcp://127.0.0.1:7103", 0, 0, "ZeroMQ endpoint hunt group requests are answered on" },
    { "huntgroup.announce", RW_CFG_STR, "", 0, 0, "endpoint announced in the Redis registry (default: the bound one)" },
    { "huntgroup.retry_ms", RW_CFG_INT, "1000", 100, 60000, "a waiting caller's edge is told to ask again after this" },
    { "huntgroup.caller_timeout_ms", RW_CFG_INT, "10000", 1000, 600000, "a waiting caller whose edge has not asked for this long is gone (abandoned)" },
    { "huntgroup.stats_ms", RW_CFG_INT, "1000", 100, 600000, "how often each group's figures are read from Redis for /metrics" },
    { "huntgroup.events_ms", RW_CFG_INT, "200", 20, 60000, "how often queue.agent_state events of CLI changes are collected and published" },
    { "huntgroup.redis_hold_ms", RW_CFG_INT, "10000", 0, 600000, "Redis unreachable for less than this: callers asking next are held (wait), not sent to the final action" },
    { "huntgroup.call_events", RW_CFG_STR, "sip_edge.events", 0, 0, "registry name of the call.* publishers followed for agents' personal calls (empty: none)" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const rw_service_def_t huntgroup_def = { "huntgroup", huntgroup_spec, "9103" };

int main(int argc, char **argv)
{
    int code;
    rw_service_t *svc = rw_service_configure(&huntgroup_def, argc, argv, &code);
    if (!svc)
        return code;
    const rw_config_t *cfg = rw_service_config(svc);
    rw_huntgroup_opts_t opts = {
        .bind = rw_config_str(cfg, "huntgroup.bind"),
        .policy = { .caller_timeout_ms = (unsigned) rw_config_int(cfg, "huntgroup.caller_timeout_ms"),
                    .retry_ms = (unsigned) rw_config_int(cfg, "huntgroup.retry_ms") },
        .stats_ms = (unsigned) rw_config_int(cfg, "huntgroup.stats_ms"),
        .events_ms = (unsigned) rw_config_int(cfg, "huntgroup.events_ms"),
        .call_events = rw_config_str(cfg, "huntgroup.call_events"),
        .redis_hold_ms = (unsigned) rw_config_int(cfg, "huntgroup.redis_hold_ms"),
    };
    /* a caller whose edge asks every retry_ms must never look gone between two asks */
    if (opts.policy.caller_timeout_ms < 2 * opts.policy.retry_ms) {
        rw_log_error("config_invalid", RW_S("error", "huntgroup.caller_timeout_ms must be at least twice "
                                                      "huntgroup.retry_ms"));
        rw_service_destroy(&svc);
        return 2;
    }
    if (rw_service_start(svc) < 0) {
        rw_service_destroy(&svc);
        return 1;
    }
    srandom((unsigned) (rw_clock_mono_us() ^ (uint64_t) getpid()));
    rw_huntgroup_t *hg = rw_huntgroup_new(rw_service_root(svc), rw_service_redis(svc), rw_service_metrics(svc),
                                          rw_service_pub(svc), &opts);
    if (!hg) {
        rw_service_destroy(&svc);
        return 1;
    }
    const char *announce = rw_config_str(cfg, "huntgroup.announce");
    rw_announcer_t *ann = rw_announcer_new(rw_service_root(svc), rw_service_redis(svc), "huntgroup",
                                           rw_service_instance(svc),
                                           announce[0] ? announce : rw_huntgroup_endpoint(hg),
                                           (unsigned) rw_config_int(cfg, "bus.discovery_ttl_ms"));
    rw_log_info("huntgroup_ready", RW_S("endpoint", rw_huntgroup_endpoint(hg)));
    code = rw_service_run(svc);
    rw_announcer_destroy(&ann);
    rw_huntgroup_destroy(&hg);
    rw_service_destroy(&svc);
    return code;
}
