/* services/gateway/api.h — the contract between the gateway's HTTP layer and its resources.
 * The HTTP layer (http_api.c) runs libmicrohttpd with one thread per connection; for each
 * request it authenticates the caller (auth.c), matches a route from the resource tables
 * below, parses a JSON body (400 on bad JSON, 413 over gateway.max_body), checks the route's
 * roles (401 without identity, 403 without the role) and calls the handler in that connection's
 * thread with a blocking Redis connection of that thread. Handlers never touch MHD.
 * Errors are always JSON: {"error":{"code":"not_found","message":"no user 'bob'"}}. */
#ifndef RW_GW_API_H
#define RW_GW_API_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "common/redis.h"

enum { GW_ROLE_STAFF = 1u, GW_ROLE_SUPERVISOR = 2u, GW_ROLE_ADMIN = 4u };
#define GW_ROLE_ANY (GW_ROLE_STAFF | GW_ROLE_SUPERVISOR | GW_ROLE_ADMIN)
#define GW_MAX_GROUPS 32

/* Who is asking: from a verified OIDC token or a local account (docs/gateway.md). */
typedef struct {
    char sub[128];                       /* token subject or local account name */
    char user[64];                       /* the directory user this person is ("" for none) */
    unsigned roles;                      /* GW_ROLE_* bits */
    char groups[GW_MAX_GROUPS][64];      /* hunt groups this supervisor sees */
    size_t n_groups;
    char via[8];                         /* "oidc" or "local" */
} gw_identity_t;

struct gw_ctx;                           /* the gateway (gateway.h): config, event hub */

typedef struct gw_req {
    const char *method;                  /* "GET", "PUT", ... */
    const char *path;                    /* without the query string */
    const char *params[4];               /* {name} captures of the route pattern, in order */
    size_t n_params;
    json_t *body;                        /* parsed JSON body (borrowed), NULL when none */
    const char *if_match;                /* If-Match header or NULL */
    const char *remote;                  /* client address, for the audit */
    const gw_identity_t *who;            /* never NULL for a route with roles != 0 */
    rw_redis_t *redis;                   /* this thread's blocking connection (master) */
    struct gw_ctx *gw;
    void *conn;                          /* the HTTP layer's own (query strings) */
} gw_req_t;

/* A streaming body (server-sent events): fn is called in the connection's thread; it may block
 * (up to a few seconds) and returns bytes written into buf, 0 for "nothing yet, call again",
 * -1 to end the response. free_fn is called once when the connection ends. */
typedef long gw_stream_fn(void *arg, char *buf, size_t max);

typedef struct {
    int status;
    json_t *json;                        /* taken over by the layer; sent as application/json */
    char etag[80];                       /* sent as ETag when non-empty (quoted by the setter) */
    const char *content_type;            /* for raw bodies */
    char *raw;                           /* malloc'd raw body, taken over */
    size_t raw_len;
    gw_stream_fn *stream;                /* text/event-stream when set */
    void *stream_arg;
    void (*stream_free)(void *arg);
    int retry_after;                     /* seconds, sent as Retry-After when > 0 (429/503) */
} gw_resp_t;

typedef void gw_handler_fn(gw_req_t *req, gw_resp_t *resp);

typedef struct {
    const char *method;
    const char *pattern;                 /* "/api/v1/users/{id}/rules/{rule}" */
    unsigned roles;                      /* 0: no identity needed (login, openapi) */
    gw_handler_fn *fn;
} gw_route_t;

/* Route tables, each ended by {NULL}: res_auth.c (login, whoami, audit), res_staff.c (a user's
 * own settings), res_admin.c (users, devices, groups, agents, trunks, import/export),
 * res_supervisor.c (queues live and history). */
extern const gw_route_t gw_routes_auth[];
extern const gw_route_t gw_routes_staff[];
extern const gw_route_t gw_routes_admin[];
extern const gw_route_t gw_routes_supervisor[];

/* ---- helpers every handler uses (http_api.c) ---- */
/* {"error":{"code":code,"message":...}} with status. */
void gw_error(gw_resp_t *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gw_json(gw_resp_t *r, int status, json_t *body);          /* takes body */
/* A query-string parameter or NULL. */
const char *gw_query(const gw_req_t *req, const char *name);
/* Pagination: ?limit= (default 50, max 500) and ?cursor= (opaque, "" = start). */
void gw_page(const gw_req_t *req, size_t *limit, const char **cursor);
/* ETag of a resource version: sets r->etag to "\"<tag>\"". */
void gw_set_etag(gw_resp_t *r, const char *tag);
/* If-Match check against the current tag: true when absent-and-optional or equal; otherwise
 * fills a 412 (mismatch) or 428 (required and absent) error into r and returns false. */
bool gw_if_match(const gw_req_t *req, gw_resp_t *r, const char *current_tag, bool required);

/* ---- rights (auth.c) ---- */
bool gw_is_admin(const gw_req_t *req);
/* The caller may read/change directory user `id`: admin, or the person themselves.
 * Otherwise fills 403 into r and returns false. */
bool gw_may_user(const gw_req_t *req, gw_resp_t *r, const char *id);
/* The caller may see hunt group `id`: admin, or a supervisor of it. Else 403 into r. */
bool gw_may_group(const gw_req_t *req, gw_resp_t *r, const char *id);

/* ---- audit (audit.c): every change, who, what, when, from where ---- */
/* Takes detail (may be NULL): gw_audit(req, "divert.set", id, json_pack(...)). */
void gw_audit(const gw_req_t *req, const char *action, const char *target, json_t *detail);

#endif
