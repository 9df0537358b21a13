/* services/sip-edge/overload.h — the edge's overload guard: decides, before any transaction or
 * call state exists, whether a new INVITE or REGISTER is taken or answered 503 + Retry-After
 * statelessly. Signals: INVITEs still waiting for their routing decision (count, and the age of
 * the oldest one: the time-based signal that rises first when the loop, the router or Redis
 * falls behind), the bytes waiting in the SIP port's UDP receive queue (rises first when the
 * edge itself cannot keep up: datagrams wait in the kernel, unseen; it refuses only once the
 * queue has stood at its limit for queue_standing_ms, so a burst the edge drains by itself is
 * carried, not shed), calls in progress and REGISTER transactions in flight. Each refusal is counted as
 * ringway_sip_edge_shed_total{reason="routing|latency|queue|calls|registers"}. A limit of 0 is off. */
#ifndef RW_SIPEDGE_OVERLOAD_H
#define RW_SIPEDGE_OVERLOAD_H

#include <stdint.h>

#include "common/metrics.h"

typedef struct {
    unsigned max_routing;         /* INVITEs waiting for a routing decision (default 2000) */
    unsigned max_wait_ms;         /* age of the oldest such INVITE (default 1000) */
    unsigned max_queue_kb;        /* kernel memory held by the SIP port's unread datagrams
                                     (default 1024; also applies to REGISTERs) */
    unsigned queue_standing_ms;   /* ...refused only once every reading for this long was at
                                     or above max_queue_kb (default 100; 0: at the first) */
    unsigned max_calls;           /* calls in progress (default 20000) */
    unsigned max_registers;       /* REGISTER transactions in flight (default 2000) */
    unsigned retry_after_s;       /* Retry-After of the 503 (default 5) */
} rw_overload_opts_t;

typedef struct {
    unsigned routing, calls, registers;
    uint64_t oldest_ms;
    unsigned queued_kb;           /* rw_overload_queued_kb() of the SIP port's UDP sockets */
    uint64_t now_ms;              /* monotonic time of the readings */
} rw_load_t;

typedef struct rw_overload rw_overload_t;

rw_overload_t *rw_overload_new(rw_metrics_t *metrics, const rw_overload_opts_t *opts);
void rw_overload_destroy(rw_overload_t **self);
/* NULL: take it. Else the reason it is refused (also counted). is_register: a REGISTER, else
 * an initial INVITE. Remembers since when the queue has been at its limit (readings in
 * non-decreasing now_ms). */
const char *rw_overload_admit(rw_overload_t *self, int is_register, const rw_load_t *load);
unsigned rw_overload_retry_after(const rw_overload_t *self);
/* Kernel memory (KiB, SO_MEMINFO's rmem_alloc) held by the datagrams waiting on the n sockets. */
unsigned rw_overload_queued_kb(const int *fds, int n);
/* Whether the queue limit is on (the edge reads the queues only then). */
int rw_overload_watches_queue(const rw_overload_t *self);

#endif
