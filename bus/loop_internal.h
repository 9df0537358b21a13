/* bus/loop_internal.h — for the bus sources only: a zsock watched by the root's bus loop.
 * A watch calls fn once per waiting message (fn must receive exactly one message) until the
 * socket is empty: on a wake of ZMQ_FD and in the periodic sweep. After every send (or connect,
 * disconnect, subscribe) made outside fn the owner calls rw_bus_watch_kick(): it reads
 * ZMQ_EVENTS (so ZMQ_FD signals again, primer
 * section 1) and, when a message is already waiting, arms the loop's 0 ms timer that drains
 * it from the top of the loop, so callbacks never run inside the send.
 * The watch never owns the socket: destroy the watch first, then the socket. fn may destroy
 * any watch, its own included; the memory is reclaimed when the loop is idle. */
#ifndef RW_BUS_LOOP_INTERNAL_H
#define RW_BUS_LOOP_INTERNAL_H

#include <sofia-sip/su_wait.h>   /* Sofia before czmq: czmq's macros break su.h */
#include <czmq.h>

#include "bus/loop.h"

typedef struct rw_bus_watch rw_bus_watch_t;
typedef void rw_bus_recv_fn(void *arg, zsock_t *sock);

/* Registers ZMQ_FD on root, starts the root's sweep if needed, kicks once. */
rw_bus_watch_t *rw_bus_watch_new(su_root_t *root, zsock_t *sock, rw_bus_recv_fn *fn, void *arg);
void rw_bus_watch_destroy(rw_bus_watch_t **self);
void rw_bus_watch_kick(rw_bus_watch_t *self);

/* Receive one whole message: its first `max` parts into parts[] (each to be closed with
 * zmq_msg_close; rw_bus_close_parts does it), the rest discarded. Returns the number of parts
 * the message had, or -1 when nothing could be received. */
int rw_bus_recv_parts(zsock_t *sock, zmq_msg_t *parts, int max);
void rw_bus_close_parts(zmq_msg_t *parts, int n);
/* Send n parts without blocking. 0, RW_EAGAIN (queue full / no peer), or RW_EIO. */
int rw_bus_send_parts(zsock_t *sock, const void *const *data, const size_t *len, int n);

/* CURVE (bus/curve.h): a socket about to bind becomes a CURVE server, one about to connect a
 * CURVE client, when the process enabled it; otherwise nothing changes. */
void rw_bus_curve_server(void *sock);
void rw_bus_curve_client(void *sock);

#endif
