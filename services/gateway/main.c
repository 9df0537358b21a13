/* services/gateway/main.c — ringway-gateway: wiring only (config, parts, loop, teardown).
 * The service skeleton blocks SIGTERM/SIGINT before the HTTP server's threads exist, so only
 * the loop sees them; at the stop the event hub is closed first (streams end), then the HTTP
 * server joins its connection threads. */
#include "services/core/service.h"
#include "services/gateway/gateway.h"
#include "services/gateway/events.h"
#include "common/clock.h"
#include "common/log.h"

#include <curl/curl.h>
#include <stdio.h>

extern const char rw_gw_openapi_json[];

static const rw_service_def_t gateway_def = { "gateway", gw_cfg_spec, "9110" };

static int health(void *arg, char *detail, size_t len)
{
    gw_ctx_t *gw = arg;
    if (!gw->http) {
        snprintf(detail, len, "the API server is not listening");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int code;
    char err[256];
    gw_ctx_t gw;
    rw_service_t *svc = rw_service_configure(&gateway_def, argc, argv, &code);
    if (!svc)
        return code;
    const rw_config_t *cfg = rw_service_config(svc);
    json_object_seed(0);                      /* before any thread hashes a JSON object */
    curl_global_init(CURL_GLOBAL_DEFAULT);    /* before any thread fetches a JWKS */
    if (gw_ctx_init(&gw, cfg, err, sizeof err) < 0) {
        rw_log_error("config_invalid", RW_S("error", err));
        gw_ctx_fini(&gw);
        rw_service_destroy(&svc);
        curl_global_cleanup();
        return 2;
    }
    gw.openapi = rw_gw_openapi_json;
    if (rw_service_start(svc) < 0) {
        gw_ctx_fini(&gw);
        rw_service_destroy(&svc);
        curl_global_cleanup();
        return 1;
    }
    gw_ctx_start_stats(&gw, rw_service_root(svc), rw_service_metrics(svc));
    gw_events_opts_t eo = { .queue_events = rw_config_str(cfg, "gateway.queue_events"),
                            .presence_events = rw_config_str(cfg, "gateway.presence_events"),
                            .call_events = rw_config_str(cfg, "gateway.call_events") };
    gw.events = gw_events_new(rw_service_root(svc), rw_service_redis(svc), rw_service_metrics(svc), &eo);
    gw.http = gw_http_start(&gw);
    code = 1;
    if (gw.http) {
        rw_service_set_health(svc, health, &gw);
        rw_log_info("gateway_ready", RW_S("listen", gw.listen), RW_I("port", gw_http_port(gw.http)),
                    RW_S("web_root", gw.web_root), RW_B("oidc", rw_config_str(cfg, "gateway.oidc_issuer")[0]));
        code = rw_service_run(svc);
    }
    if (gw.events)
        gw_events_close(gw.events);
    gw_http_stop(&gw.http);
    gw_events_destroy(&gw.events);
    gw_ctx_fini(&gw);
    rw_service_destroy(&svc);
    curl_global_cleanup();
    return code;
}
