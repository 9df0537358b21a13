/* bus/server.c — the answering side of request/reply: a ROUTER bound for one service instance.
 * Receives [identity][request-id][body], hands the body to the handler with a request handle
 * that keeps identity and id until rw_server_reply() sends [identity][request-id][answer].
 * ROUTER_MANDATORY + SNDTIMEO 0 make a reply to a vanished or saturated client fail at once
 * (counted) instead of vanishing silently; malformed messages are counted and dropped. */
#include "bus/loop_internal.h"
#include "bus/request.h"
#include "common/err.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define RID_LEN 8
#define IDENT_MAX 255

struct rw_request {
    rw_server_t *srv;
    rw_request_t *prev, *next;
    size_t ident_len;
    unsigned char rid[RID_LEN];
    unsigned char ident[IDENT_MAX];
};

struct rw_server {
    su_root_t *root;
    zsock_t *sock;
    rw_bus_watch_t *watch;
    char *endpoint;
    rw_server_fn *fn;
    void *arg;
    rw_request_t *pending;      /* handed to the handler, not yet answered */
    rw_server_stats_t st;
};

static void unlink_req(rw_request_t *req)
{
    rw_server_t *srv = req->srv;
    if (req->prev)
        req->prev->next = req->next;
    else
        srv->pending = req->next;
    if (req->next)
        req->next->prev = req->prev;
}

static void bad_frame(rw_server_t *srv, int parts)
{
    /* Hostile peers could flood the log: say it at 1, 2, 4, 8... */
    uint64_t n = ++srv->st.bad_frames;
    if ((n & (n - 1)) == 0)
        rw_log_warn("bus_bad_request", RW_S("endpoint", srv->endpoint), RW_I("parts", parts),
                    RW_U("bad_total", n));
}

static void on_request(void *arg, zsock_t *sock)
{
    rw_server_t *srv = arg;
    zmq_msg_t parts[3];
    int n = rw_bus_recv_parts(sock, parts, 3);
    if (n < 0)
        return;
    if (n != 3 || zmq_msg_size(&parts[0]) == 0 || zmq_msg_size(&parts[0]) > IDENT_MAX
        || zmq_msg_size(&parts[1]) != RID_LEN) {
        bad_frame(srv, n);
        rw_bus_close_parts(parts, n < 3 ? n : 3);
        return;
    }
    rw_request_t *req = calloc(1, sizeof *req);
    if (!req) {
        srv->st.dropped++;
        rw_bus_close_parts(parts, 3);
        return;
    }
    req->srv = srv;
    req->ident_len = zmq_msg_size(&parts[0]);
    memcpy(req->ident, zmq_msg_data(&parts[0]), req->ident_len);
    memcpy(req->rid, zmq_msg_data(&parts[1]), RID_LEN);
    req->next = srv->pending;
    if (srv->pending)
        srv->pending->prev = req;
    srv->pending = req;
    srv->st.requests++;
    /* The handler may reply, keep req, or even destroy the server: touch nothing after. */
    srv->fn(srv->arg, req, zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]));
    rw_bus_close_parts(parts, 3);
}

rw_server_t *rw_server_new(su_root_t *root, const char *bind_endpoint, rw_server_fn *fn, void *arg)
{
    if (!root || !bind_endpoint || !fn)
        return NULL;
    rw_bus_init();
    rw_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->root = root;
    srv->fn = fn;
    srv->arg = arg;
    srv->sock = zsock_new(ZMQ_ROUTER);
    if (!srv->sock)
        goto fail;
    zsock_set_router_mandatory(srv->sock, 1);
    zsock_set_sndtimeo(srv->sock, 0);
    zsock_set_maxmsgsize(srv->sock, RW_BUS_MAX_MSG);
    zsock_set_sndhwm(srv->sock, RW_BUS_REQUEST_HWM);
    zsock_set_rcvhwm(srv->sock, RW_BUS_REQUEST_HWM);
    rw_bus_curve_server(srv->sock);
    if (zsock_bind(srv->sock, "%s", bind_endpoint) < 0) {
        rw_log_error("bus_bind_failed", RW_S("endpoint", bind_endpoint));
        goto fail;
    }
    srv->endpoint = zsock_last_endpoint(srv->sock);
    if (!srv->endpoint)
        goto fail;
    srv->watch = rw_bus_watch_new(root, srv->sock, on_request, srv);
    if (!srv->watch)
        goto fail;
    return srv;
fail:
    rw_server_destroy(&srv);
    return NULL;
}

void rw_server_destroy(rw_server_t **self)
{
    if (!self || !*self)
        return;
    rw_server_t *srv = *self;
    *self = NULL;
    while (srv->pending) {
        rw_request_t *req = srv->pending;
        rw_request_drop(&req);
    }
    rw_bus_watch_destroy(&srv->watch);
    zsock_destroy(&srv->sock);
    free(srv->endpoint);            /* from zsock_last_endpoint(): malloc'd */
    free(srv);
}

const char *rw_server_endpoint(const rw_server_t *self)
{
    return self ? self->endpoint : NULL;
}

int rw_server_reply(rw_request_t *req, const void *body, size_t len)
{
    if (!req)
        return RW_EINVAL;
    rw_server_t *srv = req->srv;
    const void *data[3] = { req->ident, req->rid, body ? body : "" };
    size_t lens[3] = { req->ident_len, RID_LEN, body ? len : 0 };
    int rc = rw_bus_send_parts(srv->sock, data, lens, 3);
    if (rc == 0) {
        srv->st.replies++;
    } else {
        srv->st.reply_drops++;
        rw_log_debug("bus_reply_dropped", RW_S("endpoint", srv->endpoint), RW_I("rc", rc));
    }
    unlink_req(req);
    free(req);
    rw_bus_watch_kick(srv->watch);
    return rc;
}

void rw_request_drop(rw_request_t **req)
{
    if (!req || !*req)
        return;
    (*req)->srv->st.dropped++;
    unlink_req(*req);
    free(*req);
    *req = NULL;
}

void rw_server_stats(const rw_server_t *self, rw_server_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (self)
        *out = self->st;
}
