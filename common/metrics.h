/* common/metrics.h — counters, gauges and histograms rendered as Prometheus text.
 * A registry owns its metrics; handles stay valid until the registry is destroyed.
 * Names are given without the registry prefix ("requests_total") and may carry a fixed
 * label set ("requests_total{result=\"timeout\"}"): series sharing the part before '{'
 * form one family with one # HELP and # TYPE line. Asking twice for the same name returns
 * the same handle. One loop thread updates and renders; no locking. */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rw_metrics rw_metrics_t;
typedef struct rw_counter rw_counter_t;
typedef struct rw_gauge rw_gauge_t;
typedef struct rw_histogram rw_histogram_t;

/* prefix e.g. "ringway_router"; a metric "requests_total" is shown "ringway_router_requests_total". */
rw_metrics_t *rw_metrics_new(const char *prefix);
void rw_metrics_destroy(rw_metrics_t **self);

/* NULL on a malformed name, or when the name exists with another type. */
rw_counter_t *rw_metrics_counter(rw_metrics_t *self, const char *name, const char *help);
rw_gauge_t *rw_metrics_gauge(rw_metrics_t *self, const char *name, const char *help);
/* bounds: ascending upper bounds in seconds, copied; +Inf is added. NULL/0 = default
 * latency buckets (0.0001 s .. 10 s). */
rw_histogram_t *rw_metrics_histogram(rw_metrics_t *self, const char *name, const char *help,
                                     const double *bounds, size_t n_bounds);

/* All updaters accept NULL and do nothing, so a failed registration cannot crash a caller. */
void rw_counter_inc(rw_counter_t *c);
void rw_counter_add(rw_counter_t *c, uint64_t n);
uint64_t rw_counter_value(const rw_counter_t *c);
void rw_gauge_set(rw_gauge_t *g, double v);
void rw_gauge_add(rw_gauge_t *g, double delta);
double rw_gauge_value(const rw_gauge_t *g);
void rw_histogram_observe(rw_histogram_t *h, double seconds);
uint64_t rw_histogram_count(const rw_histogram_t *h);

/* Prometheus text exposition format 0.0.4. *out is malloc'd and NUL-terminated; caller frees. */
int rw_metrics_render(const rw_metrics_t *self, char **out, size_t *len);

#endif
