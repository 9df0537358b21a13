/* services/core/service.h — the skeleton every Ringway service runs on.
 * rw_service_new() reads the configuration (the common keys below plus the service's own
 * table, from `-c FILE` or $RINGWAY_CONFIG, then RINGWAY_* variables), starts logging, the
 * su_root loop that owns the thread, SIGTERM/SIGINT through a signalfd, the metrics registry,
 * the /health and /metrics server, the asynchronous Redis connection and the event publisher.
 * rw_service_run() turns the loop until a signal; rw_service_destroy() tears down in reverse.
 * The service owns all of these; callers borrow them. */
#ifndef RW_SERVICE_H
#define RW_SERVICE_H

#include <sofia-sip/su_wait.h>
#include "common/config.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/http.h"

typedef struct rw_service rw_service_t;
struct rw_pub;

typedef struct {
    const char *name;              /* "router": logs' svc, metrics prefix ringway_<name> */
    const rw_cfg_spec_t *spec;     /* the service's own keys, or NULL */
    const char *http_port;         /* default for http.port, e.g. "9102" */
} rw_service_def_t;

/* Parses argv (-c FILE, -h). On --help prints the keys and returns NULL with *exit_code 0;
 * on a bad configuration logs the error and returns NULL with *exit_code 2. */
rw_service_t *rw_service_new(const rw_service_def_t *def, int argc, char **argv, int *exit_code);
void rw_service_destroy(rw_service_t **self);
/* rw_service_new() in two steps, for a process that must decide from its configuration
 * before anything starts (sip-edge's supervisor): configure reads the configuration and
 * starts logging only (same arguments and results as rw_service_new); start creates the loop,
 * signals, Redis, publisher and HTTP server. rw_service_destroy() frees either state. */
rw_service_t *rw_service_configure(const rw_service_def_t *def, int argc, char **argv, int *exit_code);
int rw_service_start(rw_service_t *self);

su_root_t *rw_service_root(rw_service_t *self);
const rw_config_t *rw_service_config(rw_service_t *self);
rw_metrics_t *rw_service_metrics(rw_service_t *self);
rw_aredis_t *rw_service_redis(rw_service_t *self);
struct rw_pub *rw_service_pub(rw_service_t *self);   /* NULL when bus.pub is "" */
const char *rw_service_instance(rw_service_t *self);
/* Fill opts from the redis.* keys (strings stay owned by the config). */
void rw_service_redis_opts(const rw_config_t *cfg, rw_redis_opts_t *opts);

/* The service adds its own health check; Redis being down already reports degraded. */
void rw_service_set_health(rw_service_t *self, rw_http_health_fn *fn, void *arg);
/* Called once, inside the loop, when a stop signal arrives (before the loop ends). */
void rw_service_on_stop(rw_service_t *self, void (*fn)(void *arg), void *arg);

/* 0 after a clean stop. */
int rw_service_run(rw_service_t *self);

#endif
