/* services/gateway/gateway.c — the gateway's configuration and its figures (see gateway.h).
 * Connection threads append what happened to a locked queue; a lazy timer of the loop thread
 * moves it into the metrics registry, which only that thread touches. The queue is bounded:
 * beyond it figures are counted as dropped rather than growing without end. */
#include "services/gateway/gateway.h"
#include "services/gateway/auth.h"
#include "services/core/service.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sutimer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS_FLUSH_MS 200
#define STATS_QUEUE_MAX 65536

#ifndef RW_GW_WEB_ROOT
#define RW_GW_WEB_ROOT "web"
#endif

const rw_cfg_spec_t gw_cfg_spec[] = {
    { "gateway.listen", RW_CFG_STR, "127.0.0.1", 0, 0, "numeric address of the API and web page" },
    { "gateway.port", RW_CFG_INT, "8080", 0, 65535, "port of the API and web page (0 = any free port)" },
    { "gateway.max_connections", RW_CFG_INT, "128", 1, 10000, "connections served at once (one thread and one Redis connection each)" },
    { "gateway.max_body", RW_CFG_INT, "1048576", 1024, 104857600, "largest request body in bytes (413 beyond)" },
    { "gateway.idle_timeout_s", RW_CFG_INT, "60", 1, 3600, "an idle keep-alive connection is closed after this" },
    { "gateway.web_root", RW_CFG_STR, RW_GW_WEB_ROOT, 0, 0, "directory of the web page's files" },
    { "gateway.token_secret", RW_CFG_STR, "", 0, 0, "HS256 key of local tokens, at least 32 characters, the same on every instance (required)" },
    { "gateway.token_ttl_s", RW_CFG_INT, "3600", 60, 604800, "lifetime of a local token" },
    { "gateway.clock_skew_s", RW_CFG_INT, "60", 0, 600, "tolerance on a token's exp and nbf" },
    { "gateway.oidc_issuer", RW_CFG_STR, "", 0, 0, "OpenID Connect issuer (iss) accepted; empty = local accounts only" },
    { "gateway.oidc_audience", RW_CFG_STR, "", 0, 0, "audience (aud) an OpenID Connect token must carry" },
    { "gateway.oidc_jwks", RW_CFG_STR, "", 0, 0, "the provider's JWKS: http(s) URL or file path" },
    { "gateway.oidc_jwks_refresh_s", RW_CFG_INT, "30", 1, 86400, "the JWKS is fetched again for an unknown key id at most once per this" },
    { "gateway.oidc_user_claim", RW_CFG_STR, "preferred_username", 0, 0, "claim naming the directory user" },
    { "gateway.oidc_roles_claim", RW_CFG_STR, "roles", 0, 0, "claim with roles ringway-admin, ringway-supervisor" },
    { "gateway.oidc_groups_claim", RW_CFG_STR, "ringway_groups", 0, 0, "claim with the hunt groups a supervisor sees" },
    { "gateway.login_max_failures", RW_CFG_INT, "5", 1, 1000, "failed logins per user name within the window before 429" },
    { "gateway.login_max_failures_addr", RW_CFG_INT, "20", 1, 100000, "failed logins per client address within the window before 429" },
    { "gateway.login_window_s", RW_CFG_INT, "300", 10, 86400, "the window of failed logins" },
    { "gateway.audit_maxlen", RW_CFG_INT, "100000", 100, 100000000, "entries kept in the audit stream rw:audit (about)" },
    { "gateway.queue_events", RW_CFG_STR, "huntgroup.events", 0, 0, "registry name of the queue.* publishers the live wallboards follow (empty: none)" },
    { "gateway.presence_events", RW_CFG_STR, "presence.events", 0, 0, "registry name of the presence.changed publishers followed (empty: none)" },
    { "gateway.call_events", RW_CFG_STR, "sip_edge.events", 0, 0, "registry name of the call.* publishers whose ended and failed calls are kept as users' recent calls (empty: none)" },
    { NULL, 0, NULL, 0, 0, NULL },
};

int gw_ctx_init(gw_ctx_t *gw, const rw_config_t *cfg, char *err, size_t err_len)
{
    memset(gw, 0, sizeof *gw);
    pthread_mutex_init(&gw->stats_mu, NULL);
    gw->cfg = cfg;
    rw_service_redis_opts(cfg, &gw->redis_opts);
    snprintf(gw->listen, sizeof gw->listen, "%s", rw_config_str(cfg, "gateway.listen"));
    gw->port = (int) rw_config_int(cfg, "gateway.port");
    unsigned char addr[16];
    if (inet_pton(AF_INET, gw->listen, addr) != 1 && inet_pton(AF_INET6, gw->listen, addr) != 1) {
        snprintf(err, err_len, "gateway.listen '%s' is not a numeric IPv4 or IPv6 address", gw->listen);
        return RW_EINVAL;
    }
    gw->max_body = (size_t) rw_config_int(cfg, "gateway.max_body");
    gw->max_connections = (unsigned) rw_config_int(cfg, "gateway.max_connections");
    gw->conn_timeout_s = (unsigned) rw_config_int(cfg, "gateway.idle_timeout_s");
    const char *root = rw_config_str(cfg, "gateway.web_root");
    if (root[0] && !realpath(root, gw->web_root)) {
        rw_log_warn("web_root_missing", RW_S("path", root));
        gw->web_root[0] = '\0';
    }
    gw_auth_opts_t ao = {
        .token_secret = rw_config_str(cfg, "gateway.token_secret"),
        .token_ttl_s = rw_config_int(cfg, "gateway.token_ttl_s"),
        .clock_skew_s = rw_config_int(cfg, "gateway.clock_skew_s"),
        .oidc_issuer = rw_config_str(cfg, "gateway.oidc_issuer"),
        .oidc_audience = rw_config_str(cfg, "gateway.oidc_audience"),
        .oidc_jwks = rw_config_str(cfg, "gateway.oidc_jwks"),
        .user_claim = rw_config_str(cfg, "gateway.oidc_user_claim"),
        .roles_claim = rw_config_str(cfg, "gateway.oidc_roles_claim"),
        .groups_claim = rw_config_str(cfg, "gateway.oidc_groups_claim"),
        .jwks_refresh_s = rw_config_int(cfg, "gateway.oidc_jwks_refresh_s"),
    };
    if (!(gw->auth = gw_auth_new(&ao, err, err_len)))
        return RW_EINVAL;
    return 0;
}

void gw_stat(gw_ctx_t *gw, gw_stat_kind_t kind, const char *route, int status, double seconds)
{
    pthread_mutex_lock(&gw->stats_mu);
    if (gw->stats_n == gw->stats_cap && gw->stats_cap < STATS_QUEUE_MAX) {
        size_t cap = gw->stats_cap ? gw->stats_cap * 2 : 256;
        gw_stat_t *grown = realloc(gw->stats_q, cap * sizeof *grown);
        if (grown) {
            gw->stats_q = grown;
            gw->stats_cap = cap;
        }
    }
    if (gw->stats_n < gw->stats_cap)
        gw->stats_q[gw->stats_n++] = (gw_stat_t){ kind, route, status, seconds };
    else
        gw->stats_dropped++;
    pthread_mutex_unlock(&gw->stats_mu);
}

static void record(rw_metrics_t *m, const gw_stat_t *s)
{
    char name[256];
    switch (s->kind) {
    case GW_STAT_REQUEST:
        snprintf(name, sizeof name, "api_requests_total{route=\"%s\",status=\"%d\"}", s->route, s->status);
        rw_counter_inc(rw_metrics_counter(m, name, "requests answered, by route pattern and status"));
        rw_histogram_observe(rw_metrics_histogram(m, "api_request_seconds",
                                                  "time from a request's headers to its answer", NULL, 0),
                             s->seconds);
        break;
    case GW_STAT_LOGIN_OK:
        rw_counter_inc(rw_metrics_counter(m, "logins_total{result=\"ok\"}", "local logins by result"));
        break;
    case GW_STAT_LOGIN_FAILED:
        rw_counter_inc(rw_metrics_counter(m, "logins_total{result=\"failed\"}", "local logins by result"));
        break;
    case GW_STAT_RATE_LIMITED:
        rw_counter_inc(rw_metrics_counter(m, "logins_total{result=\"rate_limited\"}", "local logins by result"));
        break;
    case GW_STAT_TOKEN_REFUSED:
        rw_counter_inc(rw_metrics_counter(m, "tokens_refused_total", "bearer tokens refused (401)"));
        break;
    }
}

void gw_stats_flush(gw_ctx_t *gw)
{
    gw_stat_t *q;
    size_t n;
    uint64_t dropped;
    if (!gw->metrics)
        return;
    pthread_mutex_lock(&gw->stats_mu);
    q = gw->stats_q;
    n = gw->stats_n;
    dropped = gw->stats_dropped;
    gw->stats_q = NULL;
    gw->stats_n = gw->stats_cap = 0;
    gw->stats_dropped = 0;
    pthread_mutex_unlock(&gw->stats_mu);
    for (size_t i = 0; i < n; i++)
        record(gw->metrics, &q[i]);
    if (dropped)
        rw_counter_add(rw_metrics_counter(gw->metrics, "figures_dropped_total",
                                          "figures not recorded because the queue was full"), dropped);
    free(q);
}

static void on_stats_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    gw_stats_flush((gw_ctx_t *) arg);
}

int gw_ctx_start_stats(gw_ctx_t *gw, su_root_t *root, rw_metrics_t *metrics)
{
    gw->metrics = metrics;
    /* every family exists from the start, so /metrics shows zeros rather than nothing */
    rw_metrics_counter(metrics, "logins_total{result=\"ok\"}", "local logins by result");
    rw_metrics_counter(metrics, "logins_total{result=\"failed\"}", "local logins by result");
    rw_metrics_counter(metrics, "logins_total{result=\"rate_limited\"}", "local logins by result");
    rw_metrics_counter(metrics, "tokens_refused_total", "bearer tokens refused (401)");
    rw_metrics_histogram(metrics, "api_request_seconds", "time from a request's headers to its answer", NULL, 0);
    if (!(gw->stats_timer = rw_sutimer_lazy(root, STATS_FLUSH_MS)))
        return RW_ENOMEM;
    return su_timer_set_for_ever(gw->stats_timer, on_stats_timer, gw) == 0 ? 0 : RW_EIO;
}

void gw_ctx_fini(gw_ctx_t *gw)
{
    if (gw->stats_timer) {
        su_timer_destroy(gw->stats_timer);
        gw->stats_timer = NULL;
    }
    gw_stats_flush(gw);
    gw_auth_destroy(&gw->auth);
    free(gw->stats_q);
    gw->stats_q = NULL;
    pthread_mutex_destroy(&gw->stats_mu);
}
