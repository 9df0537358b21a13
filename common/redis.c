/* common/redis.c — the blocking Redis connection, Sentinel discovery and the options both
 * clients share (the asynchronous client is in redis_async.c).
 * A blocking context whose command failed stays broken (hiredis keeps c->err), so any NULL
 * reply frees it; the next command reconnects, but not before the back-off delay has passed,
 * so a dead Redis costs callers nothing but a clock read. Every step is bounded: connect by
 * connect_timeout_ms, each command by command_timeout_ms. */
#include "common/redis.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_conf.h"

#define DEFAULT_TIMEOUT_MS 500
#define DEFAULT_BACKOFF_MIN_MS 50
#define DEFAULT_BACKOFF_MAX_MS 2000
#define DEFAULT_SENTINEL_PORT 26379
#define DEFAULT_MASTER_NAME "ringway"
#define DEFAULT_DURABLE_TIMEOUT_MS 1000

/* ---- Shared options ------------------------------------------------------------------- */

static int or_default(int v, int def) { return v > 0 ? v : def; }

static char *own_copy(rw_redis_conf_t *cf, int slot, const char *s)
{
    cf->own[slot] = strdup(s ? s : "");
    return cf->own[slot];
}

int rw_redis_conf_init(rw_redis_conf_t *cf, const rw_redis_opts_t *src)
{
    static const rw_redis_opts_t none;

    memset(cf, 0, sizeof *cf);
    cf->o = src ? *src : none;
    if (!own_copy(cf, 0, cf->o.host && *cf->o.host ? cf->o.host : "127.0.0.1")
        || !own_copy(cf, 1, cf->o.sentinels)
        || !own_copy(cf, 2, cf->o.master_name && *cf->o.master_name ? cf->o.master_name
                                                                    : DEFAULT_MASTER_NAME)
        || !own_copy(cf, 3, cf->o.password)) {
        rw_redis_conf_fini(cf);
        return RW_ENOMEM;
    }
    cf->o.host = cf->own[0];
    cf->o.sentinels = cf->own[1];
    cf->o.master_name = cf->own[2];
    cf->o.password = cf->own[3];
    cf->o.port = or_default(cf->o.port, 6379);
    cf->o.connect_timeout_ms = or_default(cf->o.connect_timeout_ms, DEFAULT_TIMEOUT_MS);
    cf->o.command_timeout_ms = or_default(cf->o.command_timeout_ms, DEFAULT_TIMEOUT_MS);
    cf->o.backoff_min_ms = or_default(cf->o.backoff_min_ms, DEFAULT_BACKOFF_MIN_MS);
    cf->o.backoff_max_ms = or_default(cf->o.backoff_max_ms, DEFAULT_BACKOFF_MAX_MS);
    if (cf->o.backoff_max_ms < cf->o.backoff_min_ms)
        cf->o.backoff_max_ms = cf->o.backoff_min_ms;
    cf->o.durable_timeout_ms = or_default(cf->o.durable_timeout_ms, DEFAULT_DURABLE_TIMEOUT_MS);
    if (cf->o.durable_replicas < 0)      /* a Sentinel deployment has replicas to wait for */
        cf->o.durable_replicas = rw_redis_conf_has_sentinels(cf) ? 1 : 0;
    if (!rw_redis_conf_has_sentinels(cf)
        && rw_redis_numeric_host(cf->o.host, cf->host, sizeof cf->host) != 0) {
        rw_log_error("redis_host_unresolved", RW_S("host", cf->o.host));
        rw_redis_conf_fini(cf);
        return RW_ENOTFOUND;
    }
    return 0;
}

void rw_redis_conf_fini(rw_redis_conf_t *cf)
{
    for (int i = 0; i < 4; i++) {
        free(cf->own[i]);
        cf->own[i] = NULL;
    }
}

bool rw_redis_conf_has_sentinels(const rw_redis_conf_t *cf)
{
    return cf->o.sentinels && cf->o.sentinels[strspn(cf->o.sentinels, " ,")] != '\0';
}

int rw_redis_backoff_next(int *cur_ms, const rw_redis_opts_t *o)
{
    int delay = *cur_ms > 0 ? *cur_ms : o->backoff_min_ms;

    *cur_ms = delay > o->backoff_max_ms / 2 ? o->backoff_max_ms : delay * 2;
    return delay;
}

int rw_redis_numeric_host(const char *name, char *out, size_t len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    unsigned char buf[sizeof(struct in6_addr)];
    int rc;

    if (inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1) {
        if (strlen(name) >= len)
            return RW_ENOTFOUND;
        strcpy(out, name);
        return 0;
    }
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
        return RW_ENOTFOUND;
    rc = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t) len, NULL, 0,
                     NI_NUMERICHOST) == 0 ? 0 : RW_ENOTFOUND;
    freeaddrinfo(res);
    return rc;
}

static struct timeval ms_timeval(int ms)
{
    return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* ---- Blocking steps shared by Sentinel discovery and the blocking client -------------- */

static redisContext *sync_connect(const char *host, int port, int connect_ms, int command_ms)
{
    struct timeval ctv = { connect_ms / 1000, (connect_ms % 1000) * 1000 };
    struct timeval ttv = { command_ms / 1000, (command_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(host, port, ctv);

    if (c && !c->err && redisSetTimeout(c, ttv) == REDIS_OK)
        return c;
    if (c)
        redisFree(c);
    return NULL;
}

/* A reply of the given type, else NULL (the reply, if any, is freed). */
static redisReply *expect(redisReply *r, int type)
{
    if (r && r->type == type)
        return r;
    if (r)
        freeReplyObject(r);
    return NULL;
}

/* AUTH and SELECT as configured; 0 or RW_EIO. Never logs the password. */
static int sync_login(redisContext *c, const rw_redis_opts_t *o)
{
    redisReply *r;

    if (o->password && *o->password) {
        r = expect(redisCommand(c, "AUTH %s", o->password), REDIS_REPLY_STATUS);
        if (!r)
            return RW_EIO;
        freeReplyObject(r);
    }
    if (o->db > 0) {
        r = expect(redisCommand(c, "SELECT %d", o->db), REDIS_REPLY_STATUS);
        if (!r)
            return RW_EIO;
        freeReplyObject(r);
    }
    return 0;
}

/* "host:port", "[v6]:port" or "host" (port 26379) from the first n bytes of s. */
static int parse_sentinel(const char *s, size_t n, char *host, size_t host_len, int *port)
{
    char buf[128], *colon, *h = buf;

    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof buf)
        return RW_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *port = DEFAULT_SENTINEL_PORT;
    colon = strrchr(buf, ':');
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return RW_EINVAL;
        *close = '\0';
        h = buf + 1;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else if (colon && strchr(buf, ':') != colon) {
        colon = NULL;                              /* a bare IPv6 address */
    }
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return RW_EINVAL;
        *port = (int) p;
        *colon = '\0';
    }
    return rw_redis_numeric_host(h, host, host_len);
}

/* Ask one sentinel; 0 and the numeric address of the master it names, else an error. */
static int ask_sentinel(const rw_redis_opts_t *o, const char *sh, int sp, const char *name,
                        char *host, size_t host_len, int *port)
{
    redisContext *c = sync_connect(sh, sp, o->connect_timeout_ms, o->connect_timeout_ms);
    redisReply *r;
    int rc = RW_ENOTFOUND;

    if (!c)
        return RW_EIO;
    r = expect(redisCommand(c, "SENTINEL get-master-addr-by-name %s", name), REDIS_REPLY_ARRAY);
    if (r && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING
        && r->element[1]->type == REDIS_REPLY_STRING) {
        *port = atoi(r->element[1]->str);
        if (*port > 0 && *port <= 65535
            && rw_redis_numeric_host(r->element[0]->str, host, host_len) == 0)
            rc = 0;
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* Connect to host:port, log in and check ROLE says "master". The context, or NULL. */
static redisContext *confirm_master(const rw_redis_opts_t *o, const char *host, int port)
{
    redisContext *c = sync_connect(host, port, o->connect_timeout_ms, o->command_timeout_ms);
    redisReply *r;
    bool master;

    if (!c)
        return NULL;
    if (sync_login(c, o) != 0)
        goto fail;
    r = expect(redisCommand(c, "ROLE"), REDIS_REPLY_ARRAY);
    master = r && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING
             && strcmp(r->element[0]->str, "master") == 0;
    if (r)
        freeReplyObject(r);
    if (master)
        return c;
fail:
    redisFree(c);
    return NULL;
}

/* Sentinels in order; on success *keep (if not NULL) receives the logged-in master context. */
static int discover(const rw_redis_opts_t *o, char *host, size_t host_len, int *port,
                    redisContext **keep)
{
    const char *s = o->sentinels, *name = o->master_name && *o->master_name ? o->master_name
                                                                          : DEFAULT_MASTER_NAME;
    char sh[64];
    int sp;

    while (s && *s) {
        size_t n = strcspn(s, ",");
        if (parse_sentinel(s, n, sh, sizeof sh, &sp) == 0
            && ask_sentinel(o, sh, sp, name, host, host_len, port) == 0) {
            redisContext *c = confirm_master(o, host, *port);
            if (c) {
                if (keep)
                    *keep = c;
                else
                    redisFree(c);
                return 0;
            }
            rw_log_warn("redis_sentinel_stale", RW_S("sentinel", sh), RW_I("sentinel_port", sp),
                        RW_S("master", host), RW_I("port", *port));
        }
        s += n;
        s += *s == ',';
    }
    return RW_ENOTFOUND;
}

int rw_redis_sentinel_master(const rw_redis_opts_t *opts, char *host, size_t host_len, int *port)
{
    rw_redis_opts_t o;
    char found[64];
    int found_port = 0, rc;

    if (!opts || !host || host_len == 0 || !port)
        return RW_EINVAL;
    o = *opts;
    o.connect_timeout_ms = or_default(o.connect_timeout_ms, DEFAULT_TIMEOUT_MS);
    o.command_timeout_ms = or_default(o.command_timeout_ms, DEFAULT_TIMEOUT_MS);
    rc = discover(&o, found, sizeof found, &found_port, NULL);
    if (rc != 0)
        return rc;
    if (strlen(found) >= host_len)
        return RW_ERANGE;
    strcpy(host, found);
    *port = found_port;
    return 0;
}

/* Leading bits a and b (numeric addresses) have in common: 0 when they are not both IPv4 or
 * both IPv6. How near a replica is to the Sentinel listed first (the own site's). */
static int common_bits(const char *a, const char *b)
{
    unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];
    size_t n = 4;
    int bits = 0;

    if (inet_pton(AF_INET, a, x) != 1 || inet_pton(AF_INET, b, y) != 1) {
        if (inet_pton(AF_INET6, a, x) != 1 || inet_pton(AF_INET6, b, y) != 1)
            return 0;
        n = 16;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char d = (unsigned char) (x[i] ^ y[i]);
        if (d == 0) {
            bits += 8;
            continue;
        }
        while (!(d & 0x80)) {
            bits++;
            d = (unsigned char) (d << 1);
        }
        break;
    }
    return bits;
}

/* A field of one entry of SENTINEL replicas (flat name/value pairs), or NULL. */
static const char *entry_field(const redisReply *e, const char *name)
{
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements; i += 2)
        if (e->element[i]->type == REDIS_REPLY_STRING && e->element[i + 1]->type == REDIS_REPLY_STRING
            && strcmp(e->element[i]->str, name) == 0)
            return e->element[i + 1]->str;
    return NULL;
}

/* Ask one sentinel for the master's replicas it sees up; the one sharing the most leading
 * address bits with near (the first sentinel listed) that answers PING after login. */
static int ask_replicas(const rw_redis_opts_t *o, const char *sh, int sp, const char *name,
                        const char *near, char *host, size_t host_len, int *port)
{
    redisContext *c = sync_connect(sh, sp, o->connect_timeout_ms, o->connect_timeout_ms);
    redisReply *r;
    char tried[8][64];
    size_t n_tried = 0;
    int rc = RW_ENOTFOUND;

    if (!c)
        return RW_EIO;
    r = expect(redisCommand(c, "SENTINEL replicas %s", name), REDIS_REPLY_ARRAY);
    redisFree(c);
    while (r && rc != 0 && n_tried < 8) {
        const char *best = NULL;
        int best_bits = -1, best_port = 0;
        char addr[64];
        for (size_t i = 0; i < r->elements; i++) {
            const char *ip = entry_field(r->element[i], "ip"), *pt = entry_field(r->element[i], "port");
            const char *flags = entry_field(r->element[i], "flags");
            int p = pt ? atoi(pt) : 0, bits;
            bool seen = false;
            if (!ip || p <= 0 || p > 65535 || !flags || strstr(flags, "s_down")
                || strstr(flags, "o_down") || strstr(flags, "disconnected")
                || rw_redis_numeric_host(ip, addr, sizeof addr) != 0)
                continue;
            for (size_t k = 0; k < n_tried; k++)
                seen |= strcmp(tried[k], addr) == 0;
            bits = common_bits(addr, near);
            if (!seen && bits > best_bits) {
                best = ip;
                best_bits = bits;
                best_port = p;
            }
        }
        if (!best || rw_redis_numeric_host(best, addr, sizeof addr) != 0)
            break;
        snprintf(tried[n_tried++], sizeof tried[0], "%s", addr);
        c = sync_connect(addr, best_port, o->connect_timeout_ms, o->command_timeout_ms);
        if (c && sync_login(c, o) == 0) {
            redisReply *pong = expect(redisCommand(c, "PING"), REDIS_REPLY_STATUS);
            if (pong && strlen(addr) < host_len) {
                strcpy(host, addr);
                *port = best_port;
                rc = 0;
            }
            if (pong)
                freeReplyObject(pong);
        }
        if (c)
            redisFree(c);
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

int rw_redis_sentinel_replica(const rw_redis_opts_t *opts, char *host, size_t host_len, int *port)
{
    rw_redis_opts_t o;
    const char *s, *name;
    char sh[64], near[64] = "";
    int sp;

    if (!opts || !host || host_len == 0 || !port)
        return RW_EINVAL;
    o = *opts;
    o.connect_timeout_ms = or_default(o.connect_timeout_ms, DEFAULT_TIMEOUT_MS);
    o.command_timeout_ms = or_default(o.command_timeout_ms, DEFAULT_TIMEOUT_MS);
    name = o.master_name && *o.master_name ? o.master_name : DEFAULT_MASTER_NAME;
    for (s = o.sentinels; s && *s;) {
        size_t n = strcspn(s, ",");
        if (parse_sentinel(s, n, sh, sizeof sh, &sp) == 0) {
            if (!near[0])
                snprintf(near, sizeof near, "%s", sh);
            if (ask_replicas(&o, sh, sp, name, near, host, host_len, port) == 0)
                return 0;
        }
        s += n;
        s += *s == ',';
    }
    return RW_ENOTFOUND;
}

/* ---- Blocking connection -------------------------------------------------------------- */

struct rw_redis {
    rw_redis_conf_t cf;
    redisContext *c;
    int backoff_ms;              /* next delay; 0 after a success */
    uint64_t retry_at_ms;        /* no connect attempt before this (monotonic) */
};

rw_redis_t *rw_redis_new(const rw_redis_opts_t *opts)
{
    rw_redis_t *self = calloc(1, sizeof *self);

    if (!self)
        return NULL;
    if (rw_redis_conf_init(&self->cf, opts) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void rw_redis_destroy(rw_redis_t **self)
{
    if (!self || !*self)
        return;
    if ((*self)->c)
        redisFree((*self)->c);
    rw_redis_conf_fini(&(*self)->cf);
    free(*self);
    *self = NULL;
}

static void sync_failed(rw_redis_t *self, const char *why)
{
    int delay = rw_redis_backoff_next(&self->backoff_ms, &self->cf.o);

    rw_log_warn("redis_unavailable", RW_S("error", why), RW_I("retry_ms", delay));
    if (self->c)
        redisFree(self->c);
    self->c = NULL;
    self->retry_at_ms = rw_clock_mono_ms() + (uint64_t) delay;
}

static redisContext *sync_ready(rw_redis_t *self)
{
    const rw_redis_opts_t *o = &self->cf.o;
    char host[64];
    int port;

    if (self->c || rw_clock_mono_ms() < self->retry_at_ms)
        return self->c;
    if (rw_redis_conf_has_sentinels(&self->cf)) {
        if (discover(o, host, sizeof host, &port, &self->c) != 0) {
            sync_failed(self, "no master found through sentinels");
            return NULL;
        }
        if (o->db > 0 && sync_login(self->c, &(rw_redis_opts_t){ .db = o->db }) != 0)
            sync_failed(self, "SELECT failed");
        return self->c;
    }
    self->c = sync_connect(self->cf.host, o->port, o->connect_timeout_ms, o->command_timeout_ms);
    if (!self->c)
        sync_failed(self, "connect failed");
    else if (sync_login(self->c, o) != 0)
        sync_failed(self, "AUTH or SELECT failed");
    return self->c;
}

static redisReply *sync_done(rw_redis_t *self, redisReply *r)
{
    if (r)
        self->backoff_ms = 0;
    else
        sync_failed(self, self->c && self->c->errstr[0] ? self->c->errstr : "no reply");
    return r;
}

redisReply *rw_redis_command(rw_redis_t *self, const char *fmt, ...)
{
    redisContext *c;
    va_list ap;
    void *r;

    if (!self || !fmt || !(c = sync_ready(self)))
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return sync_done(self, r);
}

redisReply *rw_redis_commandargv(rw_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    redisContext *c;

    if (!self || argc <= 0 || !argv || !(c = sync_ready(self)))
        return NULL;
    return sync_done(self, redisCommandArgv(c, argc, argv, argvlen));
}

bool rw_redis_connected(const rw_redis_t *self)
{
    return self && self->c;
}

/* The wait runs on the connection that made the writes, never a new one: WAIT counts only this
 * connection's writes, so on a fresh connection (to a master elected since) it would confirm
 * nothing while saying yes. The socket timeout is stretched to cover the wait. */
int rw_redis_durable(rw_redis_t *self, char *why, size_t why_len)
{
    const rw_redis_opts_t *o;
    redisReply *r;
    int want, rc;

    if (why && why_len)
        why[0] = '\0';
    if (!self || !why || why_len == 0)
        return RW_EINVAL;
    o = &self->cf.o;
    want = o->durable_replicas;
    if (want <= 0)
        return 0;
    if (!self->c) {
        snprintf(why, why_len, "the connection to Redis was lost after the write: not known to be "
                 "saved, nor safe against a failover");
        return RW_EIO;
    }
    redisSetTimeout(self->c, ms_timeval(o->durable_timeout_ms + o->command_timeout_ms));
    r = redisCommand(self->c, "WAIT %d %d", want, o->durable_timeout_ms);
    if (!r) {
        snprintf(why, why_len, "saved on the master, but Redis failed before a replica confirmed "
                 "it: not known to be safe against a failover");
        sync_failed(self, self->c->errstr[0] ? self->c->errstr : "no reply to WAIT");
        return RW_EIO;
    }
    redisSetTimeout(self->c, ms_timeval(o->command_timeout_ms));
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= want) {
        rc = 0;
    } else if (r->type == REDIS_REPLY_INTEGER) {
        if (want == 1)
            snprintf(why, why_len, "saved on the master but not yet on a replica after %d ms: "
                     "not safe against a failover", o->durable_timeout_ms);
        else
            snprintf(why, why_len, "saved on the master but on %lld of %d replicas after %d ms: "
                     "not safe against a failover", r->integer, want, o->durable_timeout_ms);
        rw_log_warn("redis_write_not_durable", RW_I("replicas", (int) r->integer),
                    RW_I("wanted", want), RW_I("timeout_ms", o->durable_timeout_ms));
        rc = RW_ETIMEDOUT;
    } else {
        snprintf(why, why_len, "saved on the master, but it refused WAIT (%s): not known to be "
                 "safe against a failover", r->type == REDIS_REPLY_ERROR ? r->str : "odd reply");
        rc = RW_EIO;
    }
    freeReplyObject(r);
    return rc;
}
