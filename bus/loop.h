/* bus/loop.h — ZeroMQ sockets on a Sofia su_root (implemented in bus/loop_su.c).
 * Part of bus.h; the internal side (watching a zsock) is in bus/loop_internal.h. */
#ifndef RW_BUS_LOOP_H
#define RW_BUS_LOOP_H

#include <sofia-sip/su_wait.h>

/* Idempotent: turns off czmq's SIGINT/SIGTERM handler (services use signalfd). Every
 * constructor of the bus calls it, so calling it by hand is only needed before a fork. */
void rw_bus_init(void);

/* Largest message a bus socket accepts; a bigger one is dropped by ZeroMQ (the peer's
 * connection is reset) before it costs memory. */
#define RW_BUS_MAX_MSG 65536

/* ---- Loop glue (bus/loop_su.c) ----------------------------------------------------------
 * The bus keeps one small record per su_root in use (a process-wide list, loop thread only):
 * its kick timer and a periodic sweep that drains every bus socket on that root every
 * RW_BUS_SWEEP_MS (a safety net: wakes of ZMQ_FD and kicks after each operation deliver every
 * message without it). The record goes away with the last socket registered on the root. */
#define RW_BUS_SWEEP_MS 50

#endif
