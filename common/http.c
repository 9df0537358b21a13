/* common/http.c — each service's /health and /metrics server on its su_root loop.
 * libmicrohttpd runs in epoll mode without a thread of its own: its epoll descriptor is
 * registered with the su_root, MHD_run() is called when it wakes, and a one-shot su_timer,
 * re-armed from MHD_get_timeout() after every run, drives MHD's connection timeouts. So a
 * /health answer proves the service's loop is turning. Connections and bodies are capped:
 * this port may face the network. */
#include "common/http.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sutimer.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_CONN_TIMEOUT_S 15
#define HTTP_MAX_TICK_MS 1000       /* safety net when MHD asks for no timeout */

typedef struct {
    char *prefix;
    size_t prefix_len;
    rw_http_route_fn *fn;
    void *arg;
} route_t;

struct rw_http {
    su_root_t *root;
    struct MHD_Daemon *daemon;
    su_wait_t wait;
    int windex;
    su_timer_t *timer;
    rw_metrics_t *metrics;
    rw_http_health_fn *health;
    void *health_arg;
    route_t *routes;
    size_t n_routes;
    uint16_t port;
    uint64_t started_ms;
};

typedef struct {            /* one request in progress */
    char *body;
    size_t len, cap;
    int too_big;
} request_t;

static const char JSON_TYPE[] = "application/json";
static const char METRICS_TYPE[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, char *body,
                               size_t len, const char *type, int owned)
{
    struct MHD_Response *rsp = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!rsp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, status, rsp);
    MHD_destroy_response(rsp);
    return rc;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *json)
{
    return respond(conn, status, (char *) json, strlen(json), JSON_TYPE, 0);
}

static enum MHD_Result serve_health(rw_http_t *h, struct MHD_Connection *conn)
{
    char detail[256] = "";
    int bad = h->health ? h->health(h->health_arg, detail, sizeof detail) : 0;
    detail[sizeof detail - 1] = '\0';
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "status", bad ? "degraded" : "ok",
                            "svc", rw_log_svc(), "inst", rw_log_inst(), "uptime_s",
                            (json_int_t) ((rw_clock_mono_ms() - h->started_ms) / 1000));
    if (doc && bad)
        json_object_set_new(doc, "detail", json_string(detail[0] ? detail : "unhealthy"));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return respond_error(conn, 500, "{\"error\":\"out of memory\"}");
    unsigned status = bad ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
    return respond(conn, status, text, strlen(text), JSON_TYPE, 1);
}

static enum MHD_Result serve_metrics(rw_http_t *h, struct MHD_Connection *conn)
{
    char *text = NULL;
    size_t len = 0;
    if (!h->metrics)
        return respond(conn, MHD_HTTP_OK, "", 0, METRICS_TYPE, 0);
    if (rw_metrics_render(h->metrics, &text, &len) != 0)
        return respond_error(conn, 500, "{\"error\":\"out of memory\"}");
    return respond(conn, MHD_HTTP_OK, text, len, METRICS_TYPE, 1);
}

static enum MHD_Result serve_route(const route_t *r, struct MHD_Connection *conn,
                                   const char *method, const char *url, request_t *req)
{
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    const char *type = NULL;
    r->fn(r->arg, method, url, req->body ? req->body : "", req->len, &status, &body, &len,
          &type);
    if (status < 100 || status > 599) {
        free(body);
        return respond_error(conn, 500, "{\"error\":\"internal error\"}");
    }
    if (!body)
        len = 0;
    return respond(conn, (unsigned) status, body, len, type ? type : "text/plain", body != NULL);
}

static int is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static enum MHD_Result dispatch(rw_http_t *h, struct MHD_Connection *conn, const char *url,
                                const char *method, request_t *req)
{
    if (req->too_big)
        return respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body too large\"}");
    int health = strcmp(url, "/health") == 0, metrics = strcmp(url, "/metrics") == 0;
    if ((health || metrics) && !is_get(method))
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "{\"error\":\"method not allowed\"}");
    if (health)
        return serve_health(h, conn);
    if (metrics)
        return serve_metrics(h, conn);
    for (size_t i = 0; i < h->n_routes; i++)
        if (strncmp(url, h->routes[i].prefix, h->routes[i].prefix_len) == 0)
            return serve_route(&h->routes[i], conn, method, url, req);
    if (!is_get(method))
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "{\"error\":\"method not allowed\"}");
    return respond_error(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}");
}

static void take_body(request_t *req, const char *data, size_t n)
{
    if (req->too_big || n > HTTP_MAX_BODY - req->len) {
        req->too_big = 1;
        return;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 1024;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *p = realloc(req->body, cap);
        if (!p) {
            req->too_big = 1;
            return;
        }
        req->body = p;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    rw_http_t *h = cls;
    request_t *req = *con_cls;
    (void) version;
    if (!req) {
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {  /* refuse before reading it */
            req->too_big = 1;
            return dispatch(h, conn, url, method, req);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(h, conn, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request_t *req = *con_cls;
    (void) cls, (void) conn, (void) toe;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void) cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    rw_log_warn("http_server_error", RW_S("detail", msg));
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg);

/* Runs MHD, then sets the timer to MHD's next deadline. */
static void run_mhd(rw_http_t *h)
{
    MHD_UNSIGNED_LONG_LONG ms = HTTP_MAX_TICK_MS;
    MHD_run(h->daemon);
    if (MHD_get_timeout(h->daemon, &ms) != MHD_YES || ms > HTTP_MAX_TICK_MS)
        ms = HTTP_MAX_TICK_MS;
    su_timer_reset(h->timer);
    su_timer_set_interval(h->timer, on_timer, (su_timer_arg_t *) h, (su_duration_t) ms);
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) magic, (void) t;
    run_mhd((rw_http_t *) arg);
}

static int on_epoll(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void) magic, (void) w;
    run_mhd((rw_http_t *) arg);
    return 0;
}

static struct MHD_Daemon *start_daemon(rw_http_t *h, const char *addr, uint16_t port)
{
    struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
    struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, addr, &in4.sin_addr) == 1) {
        sa = (struct sockaddr *) &in4;
    } else if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1) {
        sa = (struct sockaddr *) &in6;
        flags |= MHD_USE_IPv6;
    } else {
        return NULL;
    }
    return MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,  /* must come first */
                            MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_CONN_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_END);
}

rw_http_t *rw_http_new(su_root_t *root, const char *addr, uint16_t port, rw_metrics_t *metrics,
                       rw_http_health_fn *health, void *arg)
{
    rw_http_t *h = NULL;
    if (!root || !addr)
        goto fail;
    if (!(h = calloc(1, sizeof *h)))
        goto fail;
    h->root = root;
    h->metrics = metrics;
    h->health = health;
    h->health_arg = arg;
    h->started_ms = rw_clock_mono_ms();
    if (!(h->daemon = start_daemon(h, addr, port))) {
        rw_log_error("http_listen_failed", RW_S("addr", addr), RW_U("port", port));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || su_wait_create(&h->wait, info->epoll_fd, SU_WAIT_IN) != 0)
        goto fail;
    h->windex = su_root_register(root, &h->wait, on_epoll, (su_wakeup_arg_t *) h, 0);
    if (h->windex <= 0)
        goto fail;
    if (!(h->timer = rw_sutimer_lazy(root, HTTP_MAX_TICK_MS)))
        goto fail;
    run_mhd(h);
    return h;
fail:
    rw_http_destroy(&h);
    return NULL;
}

uint16_t rw_http_port(const rw_http_t *self)
{
    return self ? self->port : 0;
}

int rw_http_route(rw_http_t *self, const char *prefix, rw_http_route_fn *fn, void *arg)
{
    if (!self || !prefix || prefix[0] != '/' || !fn)
        return RW_EINVAL;
    route_t *routes = realloc(self->routes, (self->n_routes + 1) * sizeof *routes);
    if (!routes)
        return RW_ENOMEM;
    self->routes = routes;
    route_t *r = &routes[self->n_routes];
    if (!(r->prefix = strdup(prefix)))
        return RW_ENOMEM;
    r->prefix_len = strlen(prefix);
    r->fn = fn;
    r->arg = arg;
    self->n_routes++;
    return 0;
}

void rw_http_destroy(rw_http_t **self)
{
    if (!self || !*self)
        return;
    rw_http_t *h = *self;
    if (h->timer)
        su_timer_destroy(h->timer);
    if (h->windex > 0)
        su_root_deregister(h->root, h->windex);
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    for (size_t i = 0; i < h->n_routes; i++)
        free(h->routes[i].prefix);
    free(h->routes);
    free(h);
    *self = NULL;
}
