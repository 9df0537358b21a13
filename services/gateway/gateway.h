/* services/gateway/gateway.h — the gateway's context: its configuration, the HTTP server, the
 * identity checker and the figures the connection threads record.
 * The gateway owns one gw_ctx; the loop thread creates and destroys it, connection threads
 * borrow it. Connection threads never touch the metrics registry (one loop thread renders it):
 * they record into a locked queue that a timer of the loop drains (gw_stats_*). */
#ifndef RW_GW_GATEWAY_H
#define RW_GW_GATEWAY_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>
#include <sofia-sip/su_wait.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "services/gateway/api.h"

struct gw_auth;
struct gw_http;
struct gw_events;

/* What the connection threads record for /metrics. */
typedef enum {
    GW_STAT_REQUEST = 0,     /* route, status, seconds */
    GW_STAT_LOGIN_OK,
    GW_STAT_LOGIN_FAILED,
    GW_STAT_RATE_LIMITED,
    GW_STAT_TOKEN_REFUSED,
} gw_stat_kind_t;

typedef struct {
    gw_stat_kind_t kind;
    const char *route;       /* a route pattern (static), "static" or "none" */
    int status;
    double seconds;
} gw_stat_t;

typedef struct gw_ctx {
    const rw_config_t *cfg;
    rw_redis_opts_t redis_opts;          /* each connection thread's blocking Redis */
    char listen[64];
    int port;                            /* gateway.port; 0 = any free (see gw_http_port) */
    size_t max_body;
    unsigned max_connections;
    unsigned conn_timeout_s;
    char web_root[PATH_MAX];             /* realpath of gateway.web_root, "" when missing */
    const char *openapi;                 /* the OpenAPI document (compiled in) */
    struct gw_auth *auth;
    struct gw_http *http;
    struct gw_events *events;            /* the live hub (events.c), NULL when none */
    atomic_bool stopping;                /* streams end, the server drains */

    /* figures: recorded by any thread, moved into `metrics` by the loop thread */
    pthread_mutex_t stats_mu;
    gw_stat_t *stats_q;
    size_t stats_n, stats_cap;
    uint64_t stats_dropped;
    rw_metrics_t *metrics;
    su_timer_t *stats_timer;
} gw_ctx_t;

/* The gateway's own configuration keys (docs/configuration.md). */
extern const rw_cfg_spec_t gw_cfg_spec[];

/* Reads the gateway.* keys and the redis.* keys; 0, or RW_EINVAL with a sentence in err. */
int gw_ctx_init(gw_ctx_t *gw, const rw_config_t *cfg, char *err, size_t err_len);
/* Starts draining recorded figures into metrics every 200 ms on root. */
int gw_ctx_start_stats(gw_ctx_t *gw, su_root_t *root, rw_metrics_t *metrics);
/* Drains what is queued into the metrics (the loop thread; also at the stop). */
void gw_stats_flush(gw_ctx_t *gw);
void gw_ctx_fini(gw_ctx_t *gw);

/* Any thread: one figure. route is a static string. */
void gw_stat(gw_ctx_t *gw, gw_stat_kind_t kind, const char *route, int status, double seconds);

/* ---- the HTTP server (http_api.c) ---- */
/* Listens on gateway.listen:gateway.port with one thread per connection. NULL on failure. */
struct gw_http *gw_http_start(gw_ctx_t *gw);
int gw_http_port(const struct gw_http *h);
/* Stops accepting, ends streams, joins every connection thread. */
void gw_http_stop(struct gw_http **h);

/* ---- route matching (http_api.c; unit-tested) ---- */
/* Matches path against pattern ("/api/v1/users/{id}"): true with the {name} captures written
 * into caps (copies of at most cap_len-1 bytes each, at most max_caps). A capture is one
 * non-empty segment. */
bool gw_route_match(const char *pattern, const char *path, char caps[][128], size_t max_caps,
                    size_t *n_caps);
/* The route of tables (NULL-ended list of tables) for method and path, or NULL; *path_known is
 * set when some route has that path under another method (405 rather than 404). */
const gw_route_t *gw_route_find(const gw_route_t *const *tables, const char *method,
                                const char *path, char caps[][128], size_t *n_caps,
                                bool *path_known);
/* The four tables of api.h, NULL-ended. */
extern const gw_route_t *const gw_route_tables[];

/* GET /api/v1/audit (audit.c). */
void gw_audit_list(gw_req_t *req, gw_resp_t *resp);

/* Content-Type for a static file name ("index.html" -> "text/html; charset=utf-8"). */
const char *gw_content_type(const char *name);

/* ---- inside the HTTP server (http_api.c, web_files.c): MHD results ---- */
/* Queues {"error":{"code","message"}} with status; msg must be ASCII. */
enum MHD_Result gw_send_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *msg);
/* GET/HEAD of a file of gateway.web_root (web_files.c); t0_us: when the request began. */
enum MHD_Result gw_serve_file(gw_ctx_t *gw, struct MHD_Connection *conn, const char *url, const char *method,
                              uint64_t t0_us);

#endif
