/* common/redis_conf.h — what the blocking and asynchronous Redis clients share (internal).
 * A private copy of the options with defaults filled in and strings owned, the back-off
 * sequence, and turning a host name into a numeric address once, at start-up, so that no
 * later connect resolves names. Used by common/redis.c and common/redis_async.c only. */
#ifndef RW_REDIS_CONF_H
#define RW_REDIS_CONF_H

#include <stddef.h>

#include "common/redis.h"

typedef struct {
    rw_redis_opts_t o;                 /* every string below points into own[] */
    char *own[4];
    char host[64];                     /* o.host as a numeric address */
} rw_redis_conf_t;

/* Copy src (NULL = all defaults), fill defaults, resolve the host. 0, RW_ENOMEM, RW_ENOTFOUND. */
int rw_redis_conf_init(rw_redis_conf_t *cf, const rw_redis_opts_t *src);
void rw_redis_conf_fini(rw_redis_conf_t *cf);
bool rw_redis_conf_has_sentinels(const rw_redis_conf_t *cf);
/* The delay before the next attempt; *cur_ms (0 after success) doubles up to the ceiling. */
int rw_redis_backoff_next(int *cur_ms, const rw_redis_opts_t *o);
/* name (numeric or not) -> numeric address in out; 0 or RW_ENOTFOUND. May block on DNS. */
int rw_redis_numeric_host(const char *name, char *out, size_t len);

#endif
