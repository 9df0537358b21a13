/* services/sip-edge/reuseport.h — lets several sip-edge processes bind the same SIP port.
 * Sofia-SIP binds its sockets itself and offers no hook to set options before bind(), so the
 * executable defines bind() (exported with -Wl,--export-dynamic-symbol=bind; libsofia's calls
 * land there): once rw_reuseport_enable(port) has run, an IPv4/IPv6 socket bound to that port
 * (UDP or TCP) gets SO_REUSEPORT first; every other bind() goes to libc untouched. The setting
 * is process-wide (bind() is); it never changes a socket bound to another port. */
#ifndef RW_SIPEDGE_REUSEPORT_H
#define RW_SIPEDGE_REUSEPORT_H

#define RW_REUSEPORT_TRACKED_MAX 8

/* Datagram sockets bound to `port` (shared or not) are remembered, at most 8, so the overload
 * guard can read their receive queues. port 0 turns it off (the default). */
void rw_reuseport_track(unsigned port);
/* The remembered sockets (at most max) into fds; their count. Not closed-socket aware: the
 * process binds its SIP sockets once and keeps them. */
int rw_reuseport_udp_fds(int *fds, int max);

/* port 0 turns it off (the default). */
void rw_reuseport_enable(unsigned port);
unsigned rw_reuseport_port(void);

/* on, or spread >= 2: a UDP socket bound to the shared port also gets steer.h's program, which
 * (on, IPv4 only) steers responses to the worker whose request they answer and, with spread
 * >= 2, spreads requests over that many workers by their branch (IPv4 and IPv6; the last
 * attach serves the group). */
void rw_reuseport_steer(int on, unsigned spread);
/* For the IPv4 group: 1 when the program was attached, -1 when attaching failed (errno in
 * *err), 0 when not tried. */
int rw_reuseport_steered(int *err);

#endif
