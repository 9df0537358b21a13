/* services/gateway/res_common.c — helpers of res_common.h. */
#include "services/gateway/res_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

const rw_numplan_t *const gw_numplan = &rw_numplan_uk;

void gw_dir_error(gw_resp_t *r, int rc, const char *message)
{
    const char *msg = message && message[0] ? message : "the directory could not be reached";
    switch (rc) {
    case RW_EINVAL: gw_error(r, 422, "invalid", "%s", msg); break;
    case RW_EEXIST: gw_error(r, 409, "conflict", "%s", msg); break;
    case RW_ENOTFOUND: gw_error(r, 404, "not_found", "%s", msg); break;
    case RW_EAGAIN: gw_error(r, 412, "changed_elsewhere", "%s", msg); break;
    default:
        gw_error(r, 503, "unavailable", "%s", msg);
        r->retry_after = 1;
    }
}

bool gw_durable(gw_req_t *req, gw_resp_t *r)
{
    char why[256] = "";
    if (rw_redis_durable(req->redis, why, sizeof why) == 0)
        return true;
    gw_error(r, 503, "not_durable", "%s", why[0] ? why : "saved on the master only: not safe against a failover");
    r->retry_after = 1;
    return false;
}

bool gw_committed(gw_req_t *req, gw_resp_t *r, int rc, const char *err, const char *action,
                  const char *target, json_t *detail)
{
    if (rc < 0) {
        gw_dir_error(r, rc, err);
        json_decref(detail);
        return false;
    }
    if (!gw_durable(req, r)) {
        json_decref(detail);
        return false;
    }
    gw_audit(req, action, target, detail);
    return true;
}

bool gw_user_exists(gw_req_t *req, gw_resp_t *r, const char *id)
{
    redisReply *rep = rw_redis_command(req->redis, "EXISTS rw:user:%s", id);
    int ok = rep && rep->type == REDIS_REPLY_INTEGER;
    long long n = ok ? rep->integer : 0;
    if (rep)
        freeReplyObject(rep);
    if (!ok)
        gw_dir_error(r, RW_EIO, "redis unreachable");
    else if (!n)
        gw_error(r, 404, "not_found", "no user '%s'", id);
    return ok && n;
}

bool gw_user_ver(gw_req_t *req, gw_resp_t *r, const char *id, char *out, size_t len)
{
    redisReply *rep = rw_redis_command(req->redis, "HGET rw:user:%s ver", id);
    bool ok = rep && (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_NIL);
    snprintf(out, len, "%s", ok && rep->type == REDIS_REPLY_STRING ? rep->str : "0");
    if (rep)
        freeReplyObject(rep);
    if (!ok)
        gw_dir_error(r, RW_EIO, "redis unreachable");
    return ok;
}

/* RFC 3339 with a zone: Z, +HH:MM, +HHMM or +HH; seconds optional. */
static int parse_rfc3339(const char *s, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (!p)
        return -1;
    if (*p == ':') {
        const char *q = strptime(p + 1, "%S", &tm);
        if (!q)
            return -1;
        p = q;
    }
    long off = 0;
    if (*p == 'Z' && !p[1]) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = 0;
        const char *m = p + 3;
        if (*m == ':')
            m++;
        if (*m) {
            if (!(m[0] >= '0' && m[0] <= '9' && m[1] >= '0' && m[1] <= '9') || m[2])
                return -1;
            mm = (m[0] - '0') * 10 + (m[1] - '0');
        }
        if (hh > 23 || mm > 59)
            return -1;
        off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    time_t t = timegm(&tm);
    if (t == (time_t) -1 || t - off < 0)
        return -1;
    *ms = (uint64_t) (t - off) * 1000u;
    return 0;
}

bool gw_time_text(const char *text, const char *name, uint64_t *ms, gw_resp_t *r)
{
    *ms = 0;
    if (!text || !text[0])
        return true;
    char *end;
    if (text[0] >= '0' && text[0] <= '9') {
        unsigned long long v = strtoull(text, &end, 10);
        if (!*end) {
            *ms = v;
            return true;
        }
    }
    if (parse_rfc3339(text, ms) == 0)
        return true;
    gw_error(r, 400, "bad_request", "%s: '%.40s' is not a time (RFC 3339 with a zone, "
             "\"2026-03-30T10:04:00+01:00\", or milliseconds since the epoch)", name, text);
    return false;
}

bool gw_time_field(json_t *obj, const char *name, uint64_t *ms, gw_resp_t *r)
{
    json_t *v = json_object_get(obj, name);
    *ms = 0;
    if (!v || json_is_null(v))
        return true;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = (uint64_t) json_integer_value(v);
        return true;
    }
    if (json_is_string(v))
        return gw_time_text(json_string_value(v), name, ms, r);
    gw_error(r, 400, "bad_request", "%s: must be an RFC 3339 time or milliseconds since the epoch", name);
    return false;
}

const char *gw_body_str(const gw_req_t *req, const char *name)
{
    return json_string_value(json_object_get(req->body, name));
}

void gw_format_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void gw_text_tag(const char *text, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long) h);
}

json_t *gw_hgetall(rw_redis_t *redis, const char *key)
{
    redisReply *h = rw_redis_command(redis, "HGETALL %s", key);
    if (!h || h->type != REDIS_REPLY_ARRAY) {
        if (h)
            freeReplyObject(h);
        return NULL;
    }
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && h->element[i + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, h->element[i]->str, json_stringn(h->element[i + 1]->str, h->element[i + 1]->len));
    freeReplyObject(h);
    return o;
}
