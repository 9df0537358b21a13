/* bus/loop_su.c — ZeroMQ sockets on a Sofia su_root.
 * ZMQ_FD only says the socket's state may have changed, and only after the application saw it
 * empty, so every wake drains while ZMQ_POLLIN and owners kick after each operation on a
 * socket (read ZMQ_EVENTS, drain from a 0 ms timer if input waits). A periodic sweep (every
 * RW_BUS_SWEEP_MS) drains every watched socket as a safety net; it replaces a check before
 * every poll, which cost two system calls per socket per loop turn (libzmq's poll of its
 * mailbox and its fork check). A kick only marks its watch and arms a 0 ms timer, so the
 * replies sent in one loop turn cost one check per socket, not one each. Watches freed while
 * a drain runs are only marked dead and reclaimed when the outermost drain returns. */
#include "bus/loop_internal.h"
#include "common/err.h"
#include "common/sutimer.h"

#include <errno.h>
#include <stdlib.h>

typedef struct rw_bus_loop rw_bus_loop_t;

struct rw_bus_watch {
    rw_bus_loop_t *loop;
    zsock_t *sock;
    rw_bus_recv_fn *fn;
    void *arg;
    su_wait_t wait;
    int index;                 /* su_root_register() index, > 0 while registered */
    int dead;
    int kicked;                /* an operation ran on the socket: check it at the kick */
    rw_bus_watch_t *next;
};

struct rw_bus_loop {
    su_root_t *root;
    rw_bus_watch_t *watches;   /* live and dead-but-not-reclaimed */
    int depth;                 /* drains running on this root */
    int live;                  /* watches not dead */
    su_timer_t *kick;          /* 0 ms timer: checks the kicked sockets, drains their input */
    int kick_armed;
    su_timer_t *sweep;         /* periodic: drains every watched socket */
    rw_bus_loop_t *next;
};

/* The process's loops, one per root in use (documented in bus/loop.h); loop thread only. */
static rw_bus_loop_t *loops;

void rw_bus_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    zsys_handler_set(NULL);
}

static void reclaim(rw_bus_loop_t *loop)
{
    rw_bus_watch_t **pp = &loop->watches;
    while (*pp) {
        rw_bus_watch_t *w = *pp;
        if (w->dead) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (loop->live > 0)
        return;
    if (loop->kick)
        su_timer_destroy(loop->kick);
    if (loop->sweep)
        su_timer_destroy(loop->sweep);
    for (rw_bus_loop_t **lp = &loops; *lp; lp = &(*lp)->next)
        if (*lp == loop) {
            *lp = loop->next;
            break;
        }
    free(loop);
}

static void leave(rw_bus_loop_t *loop)
{
    if (--loop->depth == 0)
        reclaim(loop);
}

static void drain(rw_bus_watch_t *w)
{
    while (!w->dead && (zsock_events(w->sock) & ZMQ_POLLIN))
        w->fn(w->arg, w->sock);
}

static int on_fd(su_root_magic_t *magic, su_wait_t *wait, su_wakeup_arg_t *arg)
{
    rw_bus_watch_t *w = (rw_bus_watch_t *) arg;
    (void) magic;
    (void) wait;
    if (w->dead)
        return 0;
    rw_bus_loop_t *loop = w->loop;
    loop->depth++;
    drain(w);
    leave(loop);
    return 0;
}

static void drain_all(rw_bus_loop_t *loop)
{
    loop->depth++;
    /* Watches added during the walk go to the head and wait for the next turn; dead ones
     * stay linked until leave(), so w->next stays valid. */
    for (rw_bus_watch_t *w = loop->watches; w; w = w->next)
        drain(w);
    leave(loop);
}

static void on_sweep(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) magic;
    (void) t;
    drain_all((rw_bus_loop_t *) arg);
}

static void on_kick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_bus_loop_t *loop = arg;
    (void) magic;
    (void) t;
    loop->kick_armed = 0;
    loop->depth++;
    for (rw_bus_watch_t *w = loop->watches; w; w = w->next)
        if (w->kicked) {
            w->kicked = 0;
            drain(w);
        }
    leave(loop);
}

void rw_bus_watch_kick(rw_bus_watch_t *w)
{
    if (!w || w->dead)
        return;
    rw_bus_loop_t *loop = w->loop;
    w->kicked = 1;
    if (loop->kick_armed)
        return;
    if (su_timer_set_interval(loop->kick, on_kick, loop, 0) == 0)
        loop->kick_armed = 1;   /* if not, the next kick or the sweep checks it */
}

static rw_bus_loop_t *loop_for(su_root_t *root)
{
    for (rw_bus_loop_t *l = loops; l; l = l->next)
        if (l->root == root)
            return l;
    rw_bus_loop_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->root = root;
    l->kick = su_timer_create(su_root_task(root), 0);
    l->sweep = rw_sutimer_lazy(root, RW_BUS_SWEEP_MS);
    if (!l->kick || !l->sweep || su_timer_run(l->sweep, on_sweep, l) != 0) {
        if (l->kick)
            su_timer_destroy(l->kick);
        if (l->sweep)
            su_timer_destroy(l->sweep);
        free(l);
        return NULL;
    }
    l->next = loops;
    loops = l;
    return l;
}

rw_bus_watch_t *rw_bus_watch_new(su_root_t *root, zsock_t *sock, rw_bus_recv_fn *fn, void *arg)
{
    if (!root || !sock || !fn)
        return NULL;
    rw_bus_loop_t *loop = loop_for(root);
    if (!loop)
        return NULL;
    rw_bus_watch_t *w = calloc(1, sizeof *w);
    if (!w)
        goto fail;
    *w = (rw_bus_watch_t){ .loop = loop, .sock = sock, .fn = fn, .arg = arg };
    if (su_wait_create(&w->wait, zsock_fd(sock), SU_WAIT_IN) != 0)
        goto fail;
    w->index = su_root_register(root, &w->wait, on_fd, (su_wakeup_arg_t *) w, 0);
    if (w->index <= 0)
        goto fail;
    w->next = loop->watches;
    loop->watches = w;
    loop->live++;
    rw_bus_watch_kick(w);
    return w;
fail:
    free(w);
    if (loop->live == 0 && loop->depth == 0)
        reclaim(loop);
    return NULL;
}

void rw_bus_watch_destroy(rw_bus_watch_t **self)
{
    if (!self || !*self)
        return;
    rw_bus_watch_t *w = *self;
    *self = NULL;
    if (w->dead)
        return;
    rw_bus_loop_t *loop = w->loop;
    su_root_deregister(loop->root, w->index);
    w->dead = 1;
    w->sock = NULL;
    loop->live--;
    if (loop->depth == 0)
        reclaim(loop);
}

int rw_bus_recv_parts(zsock_t *sock, zmq_msg_t *parts, int max)
{
    void *s = zsock_resolve(sock);
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            if (n == 0)
                return -1;
            break;               /* cannot happen: parts arrive atomically */
        }
        more = zmq_msg_more(&part);
        if (n < max)
            parts[n] = part;     /* ownership moves to the caller */
        else
            zmq_msg_close(&part);
        n++;
    }
    return n;
}

void rw_bus_close_parts(zmq_msg_t *parts, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

int rw_bus_send_parts(zsock_t *sock, const void *const *data, const size_t *len, int n)
{
    void *s = zsock_resolve(sock);
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(s, data[i], len[i], flags) < 0)
            return (errno == EAGAIN || errno == EHOSTUNREACH) ? RW_EAGAIN : RW_EIO;
    }
    return 0;
}
