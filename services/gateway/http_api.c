/* services/gateway/http_api.c — the gateway's HTTP server: the API under /api/, the web page
 * everywhere else. libmicrohttpd runs one thread per connection, so a handler may block on
 * Redis; each connection thread has its own blocking Redis connection, made at its first API
 * request and closed with the connection. A body over gateway.max_body is refused with 413 from
 * its Content-Length, before it is read (a chunked one is counted and dropped). Answers are
 * JSON, errors {"error":{"code","message"}}; a handler's stream becomes text/event-stream. The
 * web page's files are served by web_files.c. */
#include "services/gateway/gateway.h"
#include "services/gateway/auth.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_MAX_CAPS 4
#define STREAM_BLOCK 4096

struct gw_http {
    gw_ctx_t *gw;
    struct MHD_Daemon *daemon;
    int port;
};

typedef struct {                 /* one connection (its thread) */
    rw_redis_t *redis;
} conn_t;

typedef struct {                 /* one request in progress */
    char *body;
    size_t len, cap;
    bool too_big;
    uint64_t t0_us;
} request_t;

typedef struct {                 /* one server-sent event stream */
    gw_ctx_t *gw;
    gw_stream_fn *fn;
    void *arg;
    void (*free_fn)(void *arg);
} stream_t;

const gw_route_t *const gw_route_tables[] = {
    gw_routes_auth, gw_routes_staff, gw_routes_admin, gw_routes_supervisor, NULL,
};

/* ---- routes ---------------------------------------------------------------------------------- */
bool gw_route_match(const char *pattern, const char *path, char caps[][128], size_t max_caps,
                    size_t *n_caps)
{
    const char *p = pattern, *s = path;
    *n_caps = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!close || n == 0 || n >= 128 || *n_caps == max_caps)
                return false;
            memcpy(caps[*n_caps], s, n);
            caps[(*n_caps)++][n] = '\0';
            p = close + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

const gw_route_t *gw_route_find(const gw_route_t *const *tables, const char *method,
                                const char *path, char caps[][128], size_t *n_caps,
                                bool *path_known)
{
    *path_known = false;
    for (size_t t = 0; tables[t]; t++)
        for (const gw_route_t *r = tables[t]; r->method; r++) {
            if (!gw_route_match(r->pattern, path, caps, GW_MAX_CAPS, n_caps))
                continue;
            *path_known = true;
            if (!strcmp(r->method, method) || (!strcmp(method, "HEAD") && !strcmp(r->method, "GET")))
                return r;
        }
    *n_caps = 0;
    return NULL;
}

/* ---- the helpers of api.h ------------------------------------------------------------------ */
void gw_error(gw_resp_t *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    if (!body) {                     /* a message quoting bytes that are not UTF-8 (a path) */
        for (char *p = msg; *p; p++)
            if ((unsigned char) *p >= 0x80 || (unsigned char) *p < 0x20)
                *p = '?';
        body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    }
    gw_json(r, status, body);
}

void gw_json(gw_resp_t *r, int status, json_t *body)
{
    json_decref(r->json);
    r->status = status;
    r->json = body;
}

const char *gw_query(const gw_req_t *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

void gw_page(const gw_req_t *req, size_t *limit, const char **cursor)
{
    const char *l = gw_query(req, "limit"), *c = gw_query(req, "cursor");
    char *end;
    long v = l ? strtol(l, &end, 10) : 0;
    *limit = l && *end == '\0' && v > 0 ? (size_t) (v > 500 ? 500 : v) : 50;
    *cursor = c ? c : "";
}

void gw_set_etag(gw_resp_t *r, const char *tag)
{
    snprintf(r->etag, sizeof r->etag, "\"%s\"", tag ? tag : "");
}

/* One entity-tag of an If-Match list equals "\"tag\"" (weak tags never match: RFC 9110). */
static bool match_list(const char *list, const char *tag)
{
    size_t tlen = strlen(tag);
    const char *p = list;
    while (*p) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return true;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == tlen + 2 && p[0] == '"' && p[m - 1] == '"' && !strncmp(p + 1, tag, tlen))
            return true;
        p += n;
    }
    return false;
}

bool gw_if_match(const gw_req_t *req, gw_resp_t *r, const char *current_tag, bool required)
{
    if (!req->if_match || !req->if_match[0]) {
        if (!required)
            return true;
        gw_error(r, 428, "if_match_required",
                 "send If-Match with the ETag you read, so a change by someone else is never overwritten");
        return false;
    }
    if (match_list(req->if_match, current_tag ? current_tag : ""))
        return true;
    gw_error(r, 412, "changed_elsewhere",
             "this was changed by someone else since you read it: reload it and make your change again");
    return false;
}

/* ---- answers ---------------------------------------------------------------------------------- */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *rsp)
{
    if (!rsp)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(conn, status, rsp);
    MHD_destroy_response(rsp);
    return rc;
}

enum MHD_Result gw_send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *msg)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);   /* msg: ASCII */
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    struct MHD_Response *rsp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (rsp) {
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (status == MHD_HTTP_UNAUTHORIZED)
            MHD_add_response_header(rsp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"ringway\"");
    } else {
        free(text);
    }
    return queue(conn, status, rsp);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    (void) pos;
    for (;;) {
        if (atomic_load(&s->gw->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        uint64_t t0 = rw_clock_mono_us();
        long n = s->fn(s->arg, buf, max);
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0)
            return (ssize_t) (n > (long) max ? (long) max : n);
        if (rw_clock_mono_us() - t0 < 5000)    /* a stream that did not wait: do not spin */
            usleep(50000);
    }
}

static void stream_end(void *cls)
{
    stream_t *s = cls;
    if (s->free_fn)
        s->free_fn(s->arg);
    free(s);
}

static struct MHD_Response *stream_response(gw_ctx_t *gw, gw_resp_t *r)
{
    stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    *s = (stream_t){ gw, r->stream, r->stream_arg, r->stream_free };
    r->stream_free = NULL;                 /* the response owns it now */
    struct MHD_Response *rsp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                                 stream_read, s, stream_end);
    if (!rsp) {
        stream_end(s);
        return NULL;
    }
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(rsp, "X-Accel-Buffering", "no");
    return rsp;
}

/* The handler's answer as an MHD response; frees what the handler gave. A HEAD request gets the
 * headers of its GET (MHD sends no body) but never starts a stream. */
static struct MHD_Response *build_response(gw_ctx_t *gw, gw_resp_t *r, bool head)
{
    struct MHD_Response *rsp = NULL;
    char *text = NULL;
    size_t len = 0;
    const char *type = "application/json";
    if (r->stream && !head) {
        rsp = stream_response(gw, r);
    } else {
        if (r->json) {
            text = json_dumps(r->json, JSON_COMPACT);
            len = text ? strlen(text) : 0;
        } else if (r->raw) {
            text = r->raw;
            len = r->raw_len;
            r->raw = NULL;
            type = r->content_type ? r->content_type : "application/octet-stream";
        }
        rsp = MHD_create_response_from_buffer(len, text ? text : (char *) "",
                                              text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!rsp)
            free(text);
        else if (text)
            MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (rsp)
            MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (rsp && r->etag[0])
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_ETAG, r->etag);
    if (rsp && r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (rsp && r->status == 401)
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"ringway\"");
    if (r->stream_free)
        r->stream_free(r->stream_arg);
    json_decref(r->json);
    free(r->raw);
    return rsp;
}

/* ---- the API ---------------------------------------------------------------------------------- */
static void client_address(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "-");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *) ci->client_addr)->sin_addr, out, (socklen_t) len);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ci->client_addr)->sin6_addr, out, (socklen_t) len);
}

static rw_redis_t *conn_redis(gw_ctx_t *gw, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_t *c = ci ? ci->socket_context : NULL;
    if (!c)
        return NULL;
    if (!c->redis)
        c->redis = rw_redis_new(&gw->redis_opts);
    return c->redis;
}

/* The bearer token of the Authorization header, the only place one is read (a token in a
 * query string would end up in access logs and browser history). */
static const char *bearer(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && !strncasecmp(h, "Bearer ", 7))
        return h + 7 + strspn(h + 7, " ");
    return NULL;
}

/* Identity and roles for route: 0 to go on, else the error is in resp. */
static int authorize(gw_ctx_t *gw, struct MHD_Connection *conn, const gw_route_t *route, gw_req_t *req,
                     gw_identity_t *who, gw_resp_t *resp)
{
    char why[256];
    if (route->roles == 0)
        return 0;
    const char *token = bearer(conn);
    if (!token || !token[0]) {
        gw_error(resp, 401, "unauthenticated", "log in first: send Authorization: Bearer <token>");
        return -1;
    }
    int rc = gw_auth_check(gw->auth, req->redis, token, rw_clock_wall_ms(), who, why, sizeof why);
    if (rc == RW_EIO) {
        gw_error(resp, 503, "unavailable", "%s", why);
        return -1;
    }
    if (rc < 0) {
        gw_stat(gw, GW_STAT_TOKEN_REFUSED, route->pattern, 401, 0);
        gw_error(resp, 401, "invalid_token", "%s", why);
        return -1;
    }
    req->who = who;
    if (!(who->roles & route->roles)) {
        gw_error(resp, 403, "forbidden", "this needs the %s role",
                 route->roles & GW_ROLE_SUPERVISOR ? "supervisor or admin" : "admin");
        return -1;
    }
    return 0;
}

/* "GET, PUT" for a 405's Allow header: the methods of every route of path. */
static void allowed_methods(const char *path, char *out, size_t len)
{
    char caps[GW_MAX_CAPS][128];
    size_t n, used = 0;
    out[0] = '\0';
    for (size_t t = 0; gw_route_tables[t]; t++)
        for (const gw_route_t *r = gw_route_tables[t]; r->method; r++)
            if (gw_route_match(r->pattern, path, caps, GW_MAX_CAPS, &n) && !strstr(out, r->method)) {
                int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", r->method);
                if (w < 0 || (size_t) w >= len - used)
                    return;
                used += (size_t) w;
            }
}

static bool body_method(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

static enum MHD_Result serve_api(gw_ctx_t *gw, struct MHD_Connection *conn, const char *url,
                                 const char *method, request_t *rq)
{
    char caps[GW_MAX_CAPS][128], remote[64];
    size_t n_caps = 0;
    bool known = false;
    gw_identity_t who;
    gw_resp_t resp = { 0 };
    json_t *body = NULL;
    const gw_route_t *route = gw_route_find(gw_route_tables, method, url, caps, &n_caps, &known);
    const char *label = route ? route->pattern : "none";

    client_address(conn, remote, sizeof remote);
    gw_req_t req = { .method = method, .path = url, .remote = remote, .gw = gw, .conn = conn,
                     .if_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH) };
    if (!route) {
        if (known)
            gw_error(&resp, 405, "method_not_allowed", "%s is not allowed on %.200s", method, url);
        else
            gw_error(&resp, 404, "not_found", "no such resource: %.200s", url);
        goto answer;
    }
    for (size_t i = 0; i < n_caps; i++)
        req.params[i] = caps[i];
    req.n_params = n_caps;
    if (rq->len > 0 && body_method(method)) {
        json_error_t jerr;
        body = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!body) {
            gw_error(&resp, 400, "bad_json", "the body is not valid JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
            goto answer;
        }
        req.body = body;
    }
    if (!(req.redis = conn_redis(gw, conn))) {
        gw_error(&resp, 503, "unavailable", "out of memory");
        goto answer;
    }
    if (authorize(gw, conn, route, &req, &who, &resp) < 0)
        goto answer;
    route->fn(&req, &resp);
    if (!resp.status)
        gw_error(&resp, 500, "internal", "the handler gave no answer");
answer:;
    int status = resp.status ? resp.status : 500;
    json_decref(body);
    struct MHD_Response *rsp = build_response(gw, &resp, !strcmp(method, "HEAD"));
    if (rsp && status == 405) {
        char allow[64];
        allowed_methods(url, allow, sizeof allow);
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    gw_stat(gw, GW_STAT_REQUEST, label, status, (double) (rw_clock_mono_us() - rq->t0_us) / 1e6);
    if (status >= 500)
        rw_log_warn("api_error", RW_S("method", method), RW_S("route", label), RW_I("status", status));
    else
        rw_log_debug("api_request", RW_S("method", method), RW_S("route", label), RW_I("status", status),
                     RW_S("sub", req.who ? req.who->sub : ""), RW_S("remote", remote));
    return rsp ? queue(conn, (unsigned) status, rsp) : MHD_NO;
}

/* ---- libmicrohttpd's callbacks ---------------------------------------------------------------- */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    gw_ctx_t *gw = cls;
    request_t *rq = *con_cls;
    (void) version;
    if (!rq) {                                 /* headers only: refuse a large body now */
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->t0_us = rw_clock_mono_us();
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > gw->max_body) {
            char msg[128];
            snprintf(msg, sizeof msg, "the body is larger than %zu bytes (gateway.max_body)", gw->max_body);
            gw_stat(gw, GW_STAT_REQUEST, "none", 413, 0);
            rq->too_big = true;
            return gw_send_error(conn, 413, "too_large", msg);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rq->too_big && rq->len + *upload_size > gw->max_body)
            rq->too_big = true;
        if (!rq->too_big) {
            if (rq->len + *upload_size + 1 > rq->cap) {
                size_t cap = (rq->len + *upload_size + 1) * 2;
                cap = cap > gw->max_body + 1 ? gw->max_body + 1 : cap;
                char *grown = realloc(rq->body, cap);
                if (!grown)
                    return MHD_NO;
                rq->body = grown;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes (gateway.max_body)", gw->max_body);
        gw_stat(gw, GW_STAT_REQUEST, "none", 413, 0);
        return gw_send_error(conn, 413, "too_large", msg);
    }
    if (!strncmp(url, "/api/", 5) || !strcmp(url, "/api"))
        return serve_api(gw, conn, url, method, rq);
    return gw_serve_file(gw, conn, url, method, rq->t0_us);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request_t *rq = *con_cls;
    (void) cls;
    (void) conn;
    (void) toe;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void) cls;
    (void) conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(conn_t));
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn_t *c = *socket_context;
        rw_redis_destroy(&c->redis);
        free(c);
        *socket_context = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void) cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    rw_log_warn("gateway_http", RW_S("detail", msg));
}

struct gw_http *gw_http_start(gw_ctx_t *gw)
{
    struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t) gw->port) };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) gw->port) };
    struct sockaddr *sa;
    /* poll(), not select(): a busy gateway holds descriptors beyond FD_SETSIZE (Redis, clients) */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    struct gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->gw = gw;
    if (inet_pton(AF_INET, gw->listen, &in4.sin_addr) == 1) {
        sa = (struct sockaddr *) &in4;
    } else if (inet_pton(AF_INET6, gw->listen, &in6.sin6_addr) == 1) {
        sa = (struct sockaddr *) &in6;
        flags |= MHD_USE_IPv6;
    } else {
        rw_log_error("gateway_listen_failed", RW_S("addr", gw->listen), RW_S("error", "not a numeric address"));
        free(h);
        return NULL;
    }
    h->daemon = MHD_start_daemon(flags, (uint16_t) gw->port, NULL, NULL, on_request, gw,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, gw,
                                 MHD_OPTION_SOCK_ADDR, sa,
                                 MHD_OPTION_CONNECTION_LIMIT, gw->max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, gw->conn_timeout_s,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, gw,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        rw_log_error("gateway_listen_failed", RW_S("addr", gw->listen), RW_I("port", gw->port),
                     RW_S("error", strerror(errno)));
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : gw->port;
    return h;
}

int gw_http_port(const struct gw_http *h) { return h ? h->port : 0; }

void gw_http_stop(struct gw_http **ph)
{
    struct gw_http *h = ph ? *ph : NULL;
    if (!h)
        return;
    atomic_store(&h->gw->stopping, true);
    MHD_stop_daemon(h->daemon);
    free(h);
    *ph = NULL;
}
