/* services/presence/main.c — ringway-presence: wiring only (config, parts, loop, teardown). */
#include "services/core/service.h"
#include "services/presence/presence.h"
#include "common/log.h"

static const rw_cfg_spec_t presence_spec[] = {
    { "presence.call_events", RW_CFG_STR, "sip_edge.events", 0, 0, "registry name of the call.* and reg.* publishers followed (empty: none)" },
    { "presence.reconcile_ms", RW_CFG_INT, "1000", 50, 600000, "one reconciliation batch of users is recomputed per this" },
    { "presence.reconcile_batch", RW_CFG_INT, "500", 1, 1000, "users recomputed per reconciliation batch" },
    { "presence.ringing_max_ms", RW_CFG_INT, "180000", 1000, 86400000, "a call still ringing after this is forgotten" },
    { "presence.call_max_ms", RW_CFG_INT, "14400000", 1000, 604800000, "an answered call older than this is forgotten" },
    { "presence.calls_live_ms", RW_CFG_INT, "3000", 2000, 600000, "a call noted longer ago than this that its sip-edge process no longer lists (rw:calls:<instance>) is forgotten" },
    { "presence.drain_ms", RW_CFG_INT, "200", 20, 60000, "how often changes queued by the CLI and users marked dirty are collected" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const rw_service_def_t presence_def = { "presence", presence_spec, "9105" };

int main(int argc, char **argv)
{
    int code;
    rw_service_t *svc = rw_service_new(&presence_def, argc, argv, &code);
    if (!svc)
        return code;
    const rw_config_t *cfg = rw_service_config(svc);
    rw_presence_opts_t opts = {
        .call_events = rw_config_str(cfg, "presence.call_events"),
        .policy = { .ringing_max_ms = (uint64_t) rw_config_int(cfg, "presence.ringing_max_ms"),
                    .call_max_ms = (uint64_t) rw_config_int(cfg, "presence.call_max_ms"),
                    .call_registry = rw_config_str(cfg, "presence.call_events"),
                    .calls_live_ms = (uint64_t) rw_config_int(cfg, "presence.calls_live_ms") },
        .reconcile_ms = (unsigned) rw_config_int(cfg, "presence.reconcile_ms"),
        .reconcile_batch = (unsigned) rw_config_int(cfg, "presence.reconcile_batch"),
        .drain_ms = (unsigned) rw_config_int(cfg, "presence.drain_ms"),
    };
    rw_presence_t *p = rw_presence_new(rw_service_root(svc), rw_service_redis(svc), rw_service_metrics(svc),
                                       rw_service_pub(svc), &opts);
    if (!p) {
        rw_service_destroy(&svc);
        return 1;
    }
    rw_log_info("presence_ready", RW_S("call_events", opts.call_events));
    code = rw_service_run(svc);
    rw_presence_destroy(&p);
    rw_service_destroy(&svc);
    return code;
}
