/* bus/discovery.h — which instances of a service are alive: static lists and a Redis registry.
 * Part of bus.h. An announcer owns its heartbeat timer; a watcher owns its timer and its view.
 * Neither owns the Redis connection, which must outlive them. */
#ifndef RW_BUS_DISCOVERY_H
#define RW_BUS_DISCOVERY_H

#include <stddef.h>
#include "bus/request.h"
#include "common/redis.h"

/* ---- Discovery (bus/discovery.c) --------------------------------------------------------
 * Registry in Redis: sorted set "rw:svc:<service>", member "<instance>|<endpoint>", score =
 * expiry (wall ms). An announcer refreshes it every ttl/3 (retrying every 100 ms until Redis
 * confirms) and removes it when destroyed; a
 * watcher reads the live members every poll_ms and hands the endpoints to a client when the
 * view changes. While Redis is unreachable the watcher keeps its last view. */
typedef struct rw_announcer rw_announcer_t;
typedef struct rw_watcher rw_watcher_t;

/* Split "tcp://a:1, tcp://b:2" (commas, optional spaces) and set them on the client. */
int rw_bus_static_endpoints(rw_client_t *cli, const char *list);

/* instance and endpoint: no '|'; ttl_ms >= 300. The first ZADD is sent at once. */
rw_announcer_t *rw_announcer_new(su_root_t *root, rw_aredis_t *redis, const char *service,
                                 const char *instance, const char *endpoint, unsigned ttl_ms);
/* Sends ZREM (fire and forget) and stops the heartbeat. */
void rw_announcer_destroy(rw_announcer_t **self);

/* Called with the sorted, de-duplicated endpoints whenever the view changes. */
typedef void rw_watcher_fn(void *arg, const char *const *endpoints, size_t n);

/* cli may be NULL; when set, rw_client_set_endpoints() is called on each change. fn may be
 * NULL. poll_ms 0 = 500. The first read is sent at once. */
rw_watcher_t *rw_watcher_new(su_root_t *root, rw_aredis_t *redis, const char *service,
                             unsigned poll_ms, rw_client_t *cli, rw_watcher_fn *fn, void *arg);
void rw_watcher_destroy(rw_watcher_t **self);
/* The current view: count, and endpoint i (NULL past the end). */
size_t rw_watcher_count(const rw_watcher_t *self);
const char *rw_watcher_endpoint(const rw_watcher_t *self, size_t i);

#endif
