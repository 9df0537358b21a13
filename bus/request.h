/* bus/request.h — request/reply to a service's instances with a deadline and one retry.
 * Part of bus.h. A server owns its ROUTER and every request not yet answered; a client owns
 * one DEALER per instance, its pending requests (with a copy of their body) and their timers.
 * Answers are matched by request id; late ones are dropped and counted. */
#ifndef RW_BUS_REQUEST_H
#define RW_BUS_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include "bus/loop.h"
#include "common/metrics.h"

/* ---- Request/reply (bus/server.c, bus/request.c) ------------------------------------
 * Frames: client DEALER sends [request-id (8 bytes)][body]; the server ROUTER sees
 * [identity][request-id][body] and answers with the same three frames. */
/* Queue limit of request sockets, in messages per peer: enough for 10,000 requests in
 * flight to one instance. Past it a send fails at once and is counted. */
#define RW_BUS_REQUEST_HWM 50000

typedef struct rw_server rw_server_t;
typedef struct rw_request rw_request_t;

/* Called once per well-formed request. body is valid during the call only. The handler owns
 * req: answer now or later with rw_server_reply(), or rw_request_drop() it. */
typedef void rw_server_fn(void *arg, rw_request_t *req, const void *body, size_t len);

typedef struct {
    uint64_t requests;      /* well-formed requests handed to the handler */
    uint64_t replies;       /* replies accepted by ZeroMQ */
    uint64_t reply_drops;   /* replies ZeroMQ refused: client gone or its queue full */
    uint64_t bad_frames;    /* malformed messages dropped */
    uint64_t dropped;       /* requests dropped unanswered (rw_request_drop, destroy) */
} rw_server_stats_t;

rw_server_t *rw_server_new(su_root_t *root, const char *bind_endpoint, rw_server_fn *fn, void *arg);
/* Frees pending requests too: a handler must not reply to them afterwards, so destroy
 * whatever could still answer (e.g. the async Redis connection) first. */
void rw_server_destroy(rw_server_t **self);
const char *rw_server_endpoint(const rw_server_t *self);
/* Sends [identity][request-id][body] and frees req, whatever the result. 0, or RW_EAGAIN when
 * the client is gone or its queue is full (the client's deadline covers it). */
int rw_server_reply(rw_request_t *req, const void *body, size_t len);
void rw_request_drop(rw_request_t **req);
void rw_server_stats(const rw_server_t *self, rw_server_stats_t *out);

typedef struct rw_client rw_client_t;

/* Called exactly once per accepted request, always from the loop (never from inside
 * rw_client_request()): status 0 with the answer (body valid during the call only);
 * RW_ETIMEDOUT when no answer came by the deadline; RW_EAGAIN when no instance ever accepted
 * the request (at the deadline, or on the next loop turn when the client has no endpoints
 * at all); RW_ECLOSED when the client is destroyed first. */
typedef void rw_client_fn(void *arg, int status, const void *body, size_t len);

typedef struct {
    uint64_t requests, answers, retries;
    uint64_t timeouts;       /* RW_ETIMEDOUT given */
    uint64_t unsent;         /* RW_EAGAIN given */
    uint64_t late_answers;   /* answers to unknown ids: after a retry won, or after a timeout */
    uint64_t send_failures;  /* sends an instance refused (down, or queue full) */
    uint64_t bad_frames;     /* malformed answers dropped */
    uint64_t pending;        /* requests waiting now */
} rw_client_stats_t;

/* service names the client in logs and metrics ("router"). metrics may be NULL; else
 * bus_client_*_total{service="..."} and bus_client_latency_seconds are registered there. */
rw_client_t *rw_client_new(su_root_t *root, const char *service, rw_metrics_t *metrics);
/* Pending requests get RW_ECLOSED, from inside this call (their callbacks must not use the
 * client). */
void rw_client_destroy(rw_client_t **self);
/* Replace the set of instances: sockets of endpoints that remain are kept, removed ones are
 * closed (a request waiting on one retries elsewhere or times out), new ones connected. */
int rw_client_set_endpoints(rw_client_t *self, const char *const *endpoints, size_t n);
size_t rw_client_endpoint_count(const rw_client_t *self);
/* Sends to the next live instance (round robin; an instance that refuses the send is
 * skipped). With no answer by deadline_ms / 2 the request is sent once to another instance
 * (or, if none accepted it yet, to any); fn runs at the first answer or at the deadline.
 * Returns 0 (fn will run exactly once), or RW_EINVAL / RW_ENOMEM / RW_ERANGE (body over
 * RW_BUS_MAX_MSG - 64) and then fn never runs. The body is copied. */
int rw_client_request(rw_client_t *self, const void *body, size_t len, unsigned deadline_ms,
                      rw_client_fn *fn, void *arg);
void rw_client_stats(const rw_client_t *self, rw_client_stats_t *out);

#endif
