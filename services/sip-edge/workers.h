/* services/sip-edge/workers.h — sip-edge as N worker processes sharing one SIP port.
 * rw_workers_run() is the supervisor: it opens no SIP socket and no Redis connection. It starts
 * N copies of this executable (the same arguments plus "--worker I"; RINGWAY_INSTANCE,
 * RINGWAY_HTTP_PORT and RINGWAY_BUS_PUB set per worker, see rw_workers_env), restarts one that
 * dies (after a back-off), serves /health, /metrics and /workers on http.port, and on
 * SIGTERM/SIGINT stops every worker (SIGKILL after 10 s) before it returns. Workers do not die
 * with it: it records them in a run file (workers_run.h, under sip.run_dir) and the next
 * supervisor of the same address and port adopts those still running instead of starting
 * others. A worker is an ordinary sip-edge that also shares the SIP port (reuseport.h) and takes
 * the responses its siblings received for it on a loopback relay port of its own (edge.h). */
#ifndef RW_SIPEDGE_WORKERS_H
#define RW_SIPEDGE_WORKERS_H

#include <stddef.h>

#include "common/config.h"

#define RW_WORKERS_MAX 64

/* sip.processes -> process count: 0 means the online CPUs; at most RW_WORKERS_MAX. */
unsigned rw_workers_count(long configured);
/* The index given by "--worker I" in argv, or -1 (the supervisor, or a single process). */
int rw_workers_index(int argc, char **argv);
/* A ZeroMQ endpoint with its port moved up by offset ("tcp://h:9000" + 2 -> "tcp://h:9002");
 * "" and a port of 0 or '*' stay as they are. RW_EINVAL when it has no numeric port or the
 * result is out of range. */
int rw_workers_endpoint(const char *endpoint, unsigned offset, char *out, size_t len);
/* The three per-worker overrides, as "NAME=value" strings into out[3] (each `len` bytes):
 * instance "<instance>-w<I>", http.port + 1 + I (0 stays 0), bus.pub moved by 1 + I. */
int rw_workers_env(const rw_config_t *cfg, const char *instance, unsigned index,
                   char out[3][256]);
/* "p0,p1,..." -> ports (at most max); the count, or RW_EINVAL on a malformed list. */
int rw_workers_parse_ports(const char *list, unsigned short *ports, int max);
/* "RINGWAY_SIP_RELAY_PORTS=p0,...,p(n-1)" into out: sip.relay_port + I, or (0) n free loopback
 * UDP ports. Every worker gets the same list: worker I takes relayed responses on port I. */
int rw_workers_relay_env(const rw_config_t *cfg, unsigned n, char *out, size_t len);
/* Runs the supervisor of n workers until a stop signal; returns the process's exit code
 * (0 after a clean stop, 2 when the per-worker ports are out of range, 1 on other failures). */
int rw_workers_run(const rw_config_t *cfg, const char *instance, unsigned n, int argc, char **argv);

#endif
