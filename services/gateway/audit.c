/* services/gateway/audit.c — every change made through the API, kept in the Redis stream
 * rw:audit (trimmed to about gateway.audit_maxlen entries) and read back by GET /api/v1/audit.
 * An entry says who (sub, via, directory user), what (action, target, detail as JSON), when
 * (wall clock, ms) and from where (client address). The change is already made when gw_audit
 * runs, so a Redis failure here is logged with the whole entry rather than lost. */
#include "services/gateway/gateway.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_KEY "rw:audit"

void gw_audit(const gw_req_t *req, const char *action, const char *target, json_t *detail)
{
    char ts[24], maxlen[24];
    char *detail_text = detail ? json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const gw_identity_t *who = req->who;
    snprintf(ts, sizeof ts, "%llu", (unsigned long long) rw_clock_wall_ms());
    snprintf(maxlen, sizeof maxlen, "%ld", req->gw && req->gw->cfg ? rw_config_int(req->gw->cfg, "gateway.audit_maxlen") : 100000L);
    const char *argv[] = { "XADD", AUDIT_KEY, "MAXLEN", "~", maxlen, "*",
                           "ts", ts,
                           "sub", who ? who->sub : "",
                           "via", who ? who->via : "",
                           "user", who ? who->user : "",
                           "action", action ? action : "",
                           "target", target ? target : "",
                           "remote", req->remote ? req->remote : "",
                           "detail", detail_text ? detail_text : "null" };
    redisReply *r = req->redis ? rw_redis_commandargv(req->redis, (int) (sizeof argv / sizeof argv[0]), argv, NULL) : NULL;
    bool ok = r && r->type == REDIS_REPLY_STRING;
    rw_log_info(ok ? "audit" : "audit_not_saved", RW_S("sub", who ? who->sub : ""), RW_S("action", action ? action : ""),
                RW_S("target", target ? target : ""), RW_S("remote", req->remote ? req->remote : ""),
                RW_S("detail", detail_text ? detail_text : "null"));
    if (r)
        freeReplyObject(r);
    free(detail_text);
    json_decref(detail);
}

/* One stream entry as a JSON object. */
static json_t *entry_json(const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    json_t *o = json_pack("{s:s%}", "id", e->element[0]->str, e->element[0]->len);
    const redisReply *f = e->element[1];
    for (size_t i = 0; o && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *val;
        if (!strcmp(k->str, "detail"))
            val = json_loadb(v->str, v->len, JSON_DECODE_ANY, NULL);
        else if (!strcmp(k->str, "ts"))
            val = json_integer((json_int_t) strtoll(v->str, NULL, 10));
        else
            val = json_stringn(v->str, v->len);
        json_object_set_new(o, k->str, val ? val : json_null());
    }
    return o;
}

/* GET /api/v1/audit?limit=&cursor=: newest first; cursor is the id of the last entry seen. */
void gw_audit_list(gw_req_t *req, gw_resp_t *resp)
{
    size_t limit;
    const char *cursor;
    char count[16], start[64];
    gw_page(req, &limit, &cursor);
    if (strlen(cursor) > 40 || strspn(cursor, "0123456789-") != strlen(cursor)) {
        gw_error(resp, 400, "bad_cursor", "cursor must be the \"next\" value of the previous page");
        return;
    }
    snprintf(count, sizeof count, "%zu", limit);
    snprintf(start, sizeof start, "%s%s", cursor[0] ? "(" : "+", cursor);
    const char *argv[] = { "XREVRANGE", AUDIT_KEY, start, "-", "COUNT", count };
    redisReply *r = rw_redis_commandargv(req->redis, 6, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        gw_error(resp, 503, "unavailable", "the audit stream could not be read: Redis is unreachable");
        if (r)
            freeReplyObject(r);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < r->elements; i++) {
        json_t *e = entry_json(r->element[i]);
        if (e)
            json_array_append_new(items, e);
    }
    json_t *body = json_pack("{s:o}", "items", items);
    if (r->elements == limit && limit > 0) {
        const redisReply *last = r->element[r->elements - 1];
        if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 && last->element[0]->type == REDIS_REPLY_STRING)
            json_object_set_new(body, "next", json_stringn(last->element[0]->str, last->element[0]->len));
    }
    freeReplyObject(r);
    gw_json(resp, 200, body);
}
