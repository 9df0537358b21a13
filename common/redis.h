/* common/redis.h — Ringway's connections to Redis (hiredis).
 * Two kinds: a blocking one for start-up and the CLI (rw_redis_*), and an asynchronous one
 * driven by a service's su_root loop (rw_aredis_*). Both find the master through Sentinel when
 * sentinels are configured (confirming it with ROLE), reconnect with exponential back-off
 * after a failure, and bound every command by a timeout. Neither ever blocks a loop longer
 * than its timeout. Connect by numeric address: names would be resolved with blocking DNS. */
#ifndef RW_REDIS_H
#define RW_REDIS_H

#include <stdbool.h>
#include <hiredis/hiredis.h>
#include <sofia-sip/su_wait.h>

typedef struct {
    const char *host;          /* "127.0.0.1"; used when no sentinels are given */
    int port;                  /* 6379 */
    const char *sentinels;     /* "127.0.0.1:26379,127.0.0.1:26380" or NULL/"" */
    const char *master_name;   /* Sentinel's name for the master, "ringway" */
    const char *password;      /* NULL/"" = none */
    int db;                    /* SELECT n after connect when > 0 */
    int connect_timeout_ms;    /* default 500 when 0 */
    int command_timeout_ms;    /* default 500 when 0 */
    int backoff_min_ms;        /* first reconnect delay, default 50 when 0 */
    int backoff_max_ms;        /* ceiling, default 2000 when 0 */
    int durable_replicas;      /* replicas rw_redis_durable() waits for: > 0 that many, 0 none,
                                * < 0 one when sentinels are configured, else none */
    int durable_timeout_ms;    /* bound on that wait, default 1000 when 0 */
} rw_redis_opts_t;

/* Ask the configured sentinels, in order, for the master's address and confirm it with ROLE.
 * host receives a numeric address. RW_ENOTFOUND when no sentinel knows a live master. */
int rw_redis_sentinel_master(const rw_redis_opts_t *opts, char *host, size_t host_len, int *port);
/* Ask the configured sentinels, in order, for the master's replicas (SENTINEL replicas) and
 * pick one they see up that answers PING after login: of each sentinel's list, the one whose
 * address shares the most leading bits with the first sentinel listed (the own site's, so the
 * own site's replica). RW_ENOTFOUND when no sentinel names a live replica. */
int rw_redis_sentinel_replica(const rw_redis_opts_t *opts, char *host, size_t host_len, int *port);

/* ---- Blocking connection ------------------------------------------------------------- */
typedef struct rw_redis rw_redis_t;

/* Connects lazily: returns an object even when Redis is down; commands then fail fast. */
rw_redis_t *rw_redis_new(const rw_redis_opts_t *opts);
void rw_redis_destroy(rw_redis_t **self);
/* A reply the caller frees with freeReplyObject(), or NULL when Redis could not be reached
 * (the connection is dropped and re-made on a later call, no sooner than the back-off).
 * An error reply (REDIS_REPLY_ERROR) is returned as a reply. */
redisReply *rw_redis_command(rw_redis_t *self, const char *fmt, ...);
redisReply *rw_redis_commandargv(rw_redis_t *self, int argc, const char **argv, const size_t *argvlen);
bool rw_redis_connected(const rw_redis_t *self);
/* After the writes a person is told are saved: 0 once they are durable by the rule of
 * docs/operations.md. With no replicas to wait for (durable_replicas resolves to 0) that is at
 * once: the master's append-only file holds them. Otherwise `WAIT durable_replicas
 * durable_timeout_ms` on this connection, which covers every write it made. RW_ETIMEDOUT when
 * fewer replicas acknowledged in time, RW_EIO when Redis failed during the wait; both leave in
 * why a sentence for the person ("saved on the master but not yet on a replica after 1000 ms:
 * not safe against a failover"). The writes stay on the master either way. */
int rw_redis_durable(rw_redis_t *self, char *why, size_t why_len);

/* ---- Asynchronous connection on su_root ---------------------------------------------- */
typedef struct rw_aredis rw_aredis_t;

/* reply is NULL when the command failed: not connected, timed out, connection lost, or the
 * connection was destroyed. The reply belongs to hiredis: copy what you keep. */
typedef void rw_aredis_fn(void *arg, redisReply *reply);

rw_aredis_t *rw_aredis_new(su_root_t *root, const rw_redis_opts_t *opts);
/* Every pending callback is called with NULL before this returns. Not to be called from
 * inside one of this connection's own callbacks (reply or state). */
void rw_aredis_destroy(rw_aredis_t **self);
/* Each accepted command's callback runs exactly once (fn may be NULL: fire and forget).
 * RW_EAGAIN when not connected (fn is not called). */
int rw_aredis_command(rw_aredis_t *self, rw_aredis_fn *fn, void *arg, const char *fmt, ...);
int rw_aredis_commandargv(rw_aredis_t *self, rw_aredis_fn *fn, void *arg,
                          int argc, const char **argv, const size_t *argvlen);
bool rw_aredis_connected(const rw_aredis_t *self);
/* Called (may be NULL) each time the connection comes up or goes down. */
void rw_aredis_on_state(rw_aredis_t *self, void (*fn)(void *arg, bool up), void *arg);
/* A second connection of the same options, to a replica found through the sentinels
 * (rw_redis_sentinel_replica), for reads while the master is unreachable or being replaced.
 * Made on the first call, connected and reconnected like this one, owned and destroyed by it
 * (first, so its pending callbacks get NULL before this connection's). NULL without sentinels,
 * on a replica connection itself, or while self is being destroyed. Writes sent there get
 * Redis' READONLY error reply. */
rw_aredis_t *rw_aredis_replica(rw_aredis_t *self);

#endif
