/* common/redis_su.c — the hiredis event adapter for su_root (see redis_su.h).
 * Writes are batched: once connected, hiredis' request for a write event arms a timer due at once
 * instead of registering for EPOLLOUT, so every command issued in one loop turn leaves in
 * one write() before the loop sleeps, with no epoll_ctl pair and no extra wake per command.
 * Only when that write is partial (the socket is full), or while connecting, does the
 * adapter wait for the socket to become writable.
 * hiredis may free the context, and call our cleanup, from inside redisAsyncHandleRead or
 * redisAsyncHandleWrite (a refused connect, a reset connection). So the wake and flush
 * handlers mark themselves in_wake, and cleanup during one only marks the adapter dead: the
 * handler frees it once hiredis has returned, and never touches the context again after that. */
#include "common/redis_su.h"

#include <sofia-sip/su_wait.h>
#include <stdlib.h>

typedef struct {
    redisAsyncContext *ac;
    su_root_t *root;
    su_timer_t *flush;     /* 0 ms: writes what the commands of this loop turn queued */
    su_wait_t wait;
    int index, mask, fd, in_wake, dead, flushing, flush_armed;
} su_redis_t;

static void release(su_redis_t *e)
{
    su_timer_destroy(e->flush);
    free(e);
}

static int su_redis_wake(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    su_redis_t *e = (su_redis_t *) arg;
    int ev = su_wait_events(w, e->fd);

    (void) magic;
    e->in_wake = 1;
    if ((ev & SU_WAIT_OUT) && (e->mask & SU_WAIT_OUT)) {
        e->flushing = 1;    /* a partial write here waits for EPOLLOUT again */
        redisAsyncHandleWrite(e->ac);
        e->flushing = 0;
    }
    if (!e->dead && (ev & (SU_WAIT_IN | SU_WAIT_HUP | SU_WAIT_ERR)))
        redisAsyncHandleRead(e->ac);
    e->in_wake = 0;
    if (e->dead)
        release(e);    /* cleanup ran inside a handler */
    return 0;
}

static void on_flush(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    su_redis_t *e = (su_redis_t *) arg;

    (void) magic;
    (void) t;
    e->flush_armed = 0;
    e->in_wake = e->flushing = 1;
    redisAsyncHandleWrite(e->ac);
    e->in_wake = e->flushing = 0;
    if (e->dead)
        release(e);    /* destroying a one-shot timer from its own callback is allowed */
}

static void su_redis_mask(su_redis_t *e, int mask)
{
    if (mask == e->mask || e->dead)
        return;
    e->mask = mask;
    if (e->index <= 0) {
        su_wait_create(&e->wait, e->fd, mask);
        e->index = su_root_register(e->root, &e->wait, su_redis_wake, (su_wakeup_arg_t *) e, 0);
    } else {
        su_root_eventmask(e->root, e->index, e->fd, mask);
    }
}

static void add_read(void *p) { su_redis_t *e = p; su_redis_mask(e, e->mask | SU_WAIT_IN); }
static void del_read(void *p) { su_redis_t *e = p; su_redis_mask(e, e->mask & ~SU_WAIT_IN); }
static void del_write(void *p) { su_redis_t *e = p; su_redis_mask(e, e->mask & ~SU_WAIT_OUT); }

static void add_write(void *p)
{
    su_redis_t *e = p;

    if (e->dead)
        return;
    if (e->flushing || !(e->ac->c.flags & REDIS_CONNECTED) || (e->mask & SU_WAIT_OUT)) {
        su_redis_mask(e, e->mask | SU_WAIT_OUT);
        return;
    }
    if (e->flush_armed)
        return;
    /* Due at once, and deferrable: Sofia expires the ordinary timers, then the deferrable
     * ones, then polls, so armed from any callback (a socket's, an ordinary or a lazy timer's)
     * the flush still runs before the loop sleeps. (An interval of 0 would count from now and
     * wait a turn; an ordinary timer armed from a lazy one would wait for the next wake.) */
    static const su_time_t due = { 0, 0 };
    if (su_timer_set_at(e->flush, on_flush, (su_wakeup_arg_t *) e, due) == 0)
        e->flush_armed = 1;
    else
        su_redis_mask(e, e->mask | SU_WAIT_OUT);   /* cannot defer: wait for EPOLLOUT */
}

static void cleanup(void *p)
{
    su_redis_t *e = p;

    if (e->index > 0)
        su_root_deregister(e->root, e->index);
    e->index = 0;
    su_timer_reset(e->flush);
    e->flush_armed = 0;
    e->ac->ev.data = NULL;
    e->dead = 1;
    if (!e->in_wake)
        release(e);
}

int rw_redis_su_attach(su_root_t *root, redisAsyncContext *ac)
{
    su_redis_t *e;

    if (!root || !ac || ac->ev.data || !(e = calloc(1, sizeof *e)))
        return REDIS_ERR;
    if (!(e->flush = su_timer_create(su_root_task(root), 0)) || su_timer_deferrable(e->flush, 1) != 0) {
        su_timer_destroy(e->flush);
        free(e);
        return REDIS_ERR;
    }
    e->ac = ac;
    e->root = root;
    e->fd = ac->c.fd;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = e;
    return REDIS_OK;
}
