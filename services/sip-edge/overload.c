/* services/sip-edge/overload.c — the overload guard (overload.h). */
#include "services/sip-edge/overload.h"

#include <linux/sock_diag.h>
#include <stdlib.h>
#include <sys/socket.h>

struct rw_overload {
    rw_overload_opts_t o;
    int queue_high;               /* the last reading was at or above max_queue_kb... */
    uint64_t queue_high_ms;       /* ...and every one since this time */
    rw_counter_t *routing, *latency, *queue, *calls, *registers;
};

rw_overload_t *rw_overload_new(rw_metrics_t *m, const rw_overload_opts_t *opts)
{
    rw_overload_t *self = calloc(1, sizeof *self);
    if (!self || !opts) {
        free(self);
        return NULL;
    }
    self->o = *opts;
    if (!self->o.retry_after_s)
        self->o.retry_after_s = 5;
    if (m) {
        const char *help = "new INVITEs and REGISTERs answered 503 by the overload guard";
        self->routing = rw_metrics_counter(m, "shed_total{reason=\"routing\"}", help);
        self->latency = rw_metrics_counter(m, "shed_total{reason=\"latency\"}", help);
        self->queue = rw_metrics_counter(m, "shed_total{reason=\"queue\"}", help);
        self->calls = rw_metrics_counter(m, "shed_total{reason=\"calls\"}", help);
        self->registers = rw_metrics_counter(m, "shed_total{reason=\"registers\"}", help);
    }
    return self;
}

void rw_overload_destroy(rw_overload_t **pself)
{
    if (pself) {
        free(*pself);
        *pself = NULL;
    }
}

const char *rw_overload_admit(rw_overload_t *self, int is_register, const rw_load_t *l)
{
    if (!self)
        return NULL;
    const rw_overload_opts_t *o = &self->o;
    if (o->max_queue_kb && l->queued_kb >= o->max_queue_kb) {
        if (!self->queue_high) {
            self->queue_high = 1;
            self->queue_high_ms = l->now_ms;
        }
        if (l->now_ms - self->queue_high_ms >= o->queue_standing_ms)
            return rw_counter_inc(self->queue), "queue";
    } else if (o->max_queue_kb) {
        self->queue_high = 0;     /* the queue drained below the limit: a burst, not a standing queue */
    }
    if (is_register) {
        if (o->max_registers && l->registers >= o->max_registers)
            return rw_counter_inc(self->registers), "registers";
        return NULL;
    }
    if (o->max_routing && l->routing >= o->max_routing)
        return rw_counter_inc(self->routing), "routing";
    if (o->max_wait_ms && l->oldest_ms >= o->max_wait_ms)
        return rw_counter_inc(self->latency), "latency";
    if (o->max_calls && l->calls >= o->max_calls)
        return rw_counter_inc(self->calls), "calls";
    return NULL;
}

int rw_overload_watches_queue(const rw_overload_t *self)
{
    return self && self->o.max_queue_kb;
}

unsigned rw_overload_queued_kb(const int *fds, int n)
{
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++) {
        uint32_t mem[SK_MEMINFO_VARS];
        socklen_t len = sizeof mem;
        if (getsockopt(fds[i], SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len > SK_MEMINFO_RMEM_ALLOC * sizeof *mem)
            bytes += mem[SK_MEMINFO_RMEM_ALLOC];
    }
    return (unsigned) (bytes / 1024);
}

unsigned rw_overload_retry_after(const rw_overload_t *self)
{
    return self ? self->o.retry_after_s : 5;
}
