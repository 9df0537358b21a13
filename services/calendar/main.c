/* services/calendar/main.c — ringway-calendar: wiring only (config, parts, loop, teardown). */
#include "services/core/service.h"
#include "services/calendar/calendar.h"
#include "common/log.h"

#include <curl/curl.h>
#include <libxml/parser.h>

static const rw_cfg_spec_t calendar_spec[] = {
    { "calendar.poll_ms", RW_CFG_INT, "300000", 1000, 86400000, "a user's calendar is read again after this (changes followed within it)" },
    { "calendar.lookahead_h", RW_CFG_INT, "336", 1, 8784, "hours ahead of now expanded into meetings" },
    { "calendar.tick_ms", RW_CFG_INT, "1000", 50, 60000, "how often users whose sync is due are claimed" },
    { "calendar.lease_ms", RW_CFG_INT, "60000", 1000, 3600000, "a claimed user is this instance's for at most this long (a killed instance's users come back after it)" },
    { "calendar.batch", RW_CFG_INT, "16", 1, 4096, "calendars being fetched by one instance at most" },
    { "calendar.max_body", RW_CFG_INT, "5242880", 1024, 268435456, "bytes of one source at most; a larger one fails" },
    { "calendar.timeout_ms", RW_CFG_INT, "20000", 100, 600000, "one HTTP request's whole time at most" },
    { "calendar.max_redirects", RW_CFG_INT, "5", 0, 50, "redirects followed per request" },
    { "calendar.tentative_busy", RW_CFG_BOOL, "true", 0, 0, "whether STATUS:TENTATIVE meetings count" },
    { "calendar.ca_file", RW_CFG_STR, "", 0, 0, "CA bundle for https sources (empty: the system's)" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const rw_service_def_t calendar_def = { "calendar", calendar_spec, "9106" };

int main(int argc, char **argv)
{
    int code;
    rw_service_t *svc = rw_service_configure(&calendar_def, argc, argv, &code);
    if (!svc)
        return code;
    const rw_config_t *cfg = rw_service_config(svc);
    rw_calendar_opts_t opts = {
        .instance = rw_service_instance(svc),
        .tick_ms = (unsigned) rw_config_int(cfg, "calendar.tick_ms"),
        .poll_ms = (unsigned) rw_config_int(cfg, "calendar.poll_ms"),
        .lease_ms = (unsigned) rw_config_int(cfg, "calendar.lease_ms"),
        .batch = (unsigned) rw_config_int(cfg, "calendar.batch"),
        .lookahead_ms = (uint64_t) rw_config_int(cfg, "calendar.lookahead_h") * 3600000u,
        .tentative_busy = rw_config_bool(cfg, "calendar.tentative_busy"),
        .fetch = { .max_body = (size_t) rw_config_int(cfg, "calendar.max_body"),
                   .timeout_ms = rw_config_int(cfg, "calendar.timeout_ms"),
                   .max_redirects = rw_config_int(cfg, "calendar.max_redirects"),
                   .ca_file = rw_config_str(cfg, "calendar.ca_file") },
    };
    if (opts.lease_ms < 2 * (unsigned) opts.fetch.timeout_ms) {
        rw_log_error("config_invalid", RW_S("error", "calendar.lease_ms must be at least twice calendar.timeout_ms"));
        rw_service_destroy(&svc);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || rw_service_start(svc) < 0) {
        rw_service_destroy(&svc);
        return 1;
    }
    xmlInitParser();
    rw_calendar_t *cal = rw_calendar_new(rw_service_root(svc), rw_service_redis(svc), rw_service_metrics(svc),
                                         rw_service_pub(svc), &opts);
    if (!cal) {
        rw_service_destroy(&svc);
        return 1;
    }
    rw_log_info("calendar_ready", RW_U("poll_ms", opts.poll_ms), RW_U("lookahead_h", opts.lookahead_ms / 3600000u));
    code = rw_service_run(svc);
    rw_calendar_destroy(&cal);
    rw_service_destroy(&svc);
    xmlCleanupParser();
    curl_global_cleanup();
    return code;
}
