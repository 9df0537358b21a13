/* common/redis_script.h — a Lua script run on an asynchronous Redis connection by its SHA1.
 * Until an EVAL of the script succeeded on the connection the full text is sent (EVAL, which
 * also caches it in Redis); from then on EVALSHA with the SHA1 computed here. A NOSCRIPT reply
 * (Redis restarted or failed over, SCRIPT FLUSH) is answered by sending that command once
 * more as EVAL, and the next calls use EVAL until one succeeds. The object keeps a pointer to
 * the script text (which must outlive it); calls in flight outlive it (no retry after destroy).
 * It also keeps finished calls' memory for the next ones: no malloc per call once warm. */
#ifndef RW_REDIS_SCRIPT_H
#define RW_REDIS_SCRIPT_H

#include <stddef.h>
#include "common/redis.h"

typedef struct rw_redis_script rw_redis_script_t;

/* NULL when lua is NULL or on no memory. */
rw_redis_script_t *rw_redis_script_new(const char *lua);
void rw_redis_script_destroy(rw_redis_script_t **self);

/* Runs the script on redis with args: numkeys keys, then the other arguments (argl NULL: the
 * lengths are strlen). The arguments are copied. 0: fn (may be NULL) runs exactly once, as an
 * rw_aredis_fn (NULL reply when the command failed, an error reply for a script error), and
 * may destroy the script; RW_EINVAL (bad arguments), RW_ENOMEM or RW_EAGAIN (not connected): fn never runs. */
int rw_redis_script_run(rw_redis_script_t *self, rw_aredis_t *redis, int numkeys, int argc,
                        const char *const *args, const size_t *argl, rw_aredis_fn *fn, void *arg);

/* The script's SHA1, 40 lowercase hex digits. */
const char *rw_redis_script_sha(const rw_redis_script_t *self);

#endif
