/* bus/bus.h — Ringway's messaging over ZeroMQ: events (pub/sub), requests with deadlines
 * (request/reply) and discovery of service instances, all driven by one Sofia su_root loop.
 * Every object is created on a root and used only from that root's thread. Objects own their
 * sockets and timers; x_destroy(&x) frees them (NULL is a no-op) and must run before
 * su_root_destroy(). Callbacks never run inside the call that caused them, except where said.
 * Only bus/ includes <czmq.h>: this header needs Sofia only. Wire formats: docs/bus.md. */
#ifndef RW_BUS_H
#define RW_BUS_H

#include "bus/loop.h"
#include "bus/pubsub.h"
#include "bus/request.h"
#include "bus/discovery.h"
#include "bus/bus_config.h"
#include "bus/curve.h"

#endif
