/* common/http.h — each service's small HTTP server: /health and /metrics.
 * libmicrohttpd in epoll mode, driven from the service's su_root loop (no extra thread), so
 * a /health answer also proves the loop is turning. GET /health answers 200 {"status":"ok",...}
 * or 503 {"status":"degraded","detail":...} from the health callback; GET /metrics answers the
 * registry's Prometheus text; anything else 404, a method other than GET/HEAD 405.
 * Extra routes (the gateway's API) are added with rw_http_route(). */
#ifndef RW_HTTP_H
#define RW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sofia-sip/su_wait.h>
#include "common/metrics.h"

typedef struct rw_http rw_http_t;

/* Write a short reason into detail when unhealthy; return 0 healthy, non-zero degraded. */
typedef int rw_http_health_fn(void *arg, char *detail, size_t detail_len);

/* A route handler fills *status, *body (malloc'd, taken over), *content_type (static). */
typedef void rw_http_route_fn(void *arg, const char *method, const char *path,
                              const char *req_body, size_t req_len,
                              int *status, char **body, size_t *body_len,
                              const char **content_type);

/* addr is a numeric IPv4/IPv6 address; port 0 picks a free one (see rw_http_port). */
rw_http_t *rw_http_new(su_root_t *root, const char *addr, uint16_t port, rw_metrics_t *metrics,
                       rw_http_health_fn *health, void *arg);
uint16_t rw_http_port(const rw_http_t *self);
/* Requests whose path starts with prefix go to fn (after /health and /metrics). */
int rw_http_route(rw_http_t *self, const char *prefix, rw_http_route_fn *fn, void *arg);
void rw_http_destroy(rw_http_t **self);

#endif
