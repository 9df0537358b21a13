/* common/redis_su.h — hiredis' asynchronous context driven by Sofia's su_root (internal).
 * Attach once, before setting the connect callback (hiredis asks for the first write event
 * then). Commands issued in one loop turn are written together before the loop sleeps.
 * The adapter frees itself when hiredis cleans the context up, even when that happens
 * inside one of its own read/write handlers. Used by common/redis.c only. */
#ifndef RW_REDIS_SU_H
#define RW_REDIS_SU_H

#include <sofia-sip/su_wait.h>
#include <hiredis/async.h>

/* REDIS_OK, or REDIS_ERR when ac already has an adapter or memory ran out. */
int rw_redis_su_attach(su_root_t *root, redisAsyncContext *ac);

#endif
