/* services/gateway/res_admin.c — the directory for admins: users, devices, hunt groups and their
 * agents, trunks, and the whole directory as one import file. Every check and write is the
 * directory's (directory/), the same code as the CLI's, so a request the CLI would refuse is
 * refused here with the directory's own sentence (422). A change answers only once durable
 * (rw_redis_durable: 503 with the reason when not) and is audited. Users carry the directory's
 * `ver` as ETag; groups and trunks, which have none, a tag of their stored JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "directory/dir_export.h"
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "services/gateway/api.h"
#include "services/gateway/res_common.h"

#define P0 (req->params[0])
#define P1 (req->params[1])
#define P2 (req->params[2])

static bool admin(gw_req_t *req, gw_resp_t *r)
{
    if (gw_is_admin(req))
        return true;
    gw_error(r, 403, "forbidden", "only an admin may do this");
    return false;
}

static bool body_object(gw_req_t *req, gw_resp_t *r)
{
    if (json_is_object(req->body))
        return true;
    gw_error(r, 400, "bad_request", "the body must be a JSON object");
    return false;
}

/* ---- users ------------------------------------------------------------------------------ */

static json_t *user_json(const rw_dir_user_t *u, const char *ver)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", u->id, "ext", u->ext, "number", u->number, "name",
                     u->name, "site", u->site, "tz", u->tz, "realm", u->realm, "ver", ver);
}

/* ?limit=&cursor=: users in id order; the cursor is the offset of the next page. */
static void list_users(gw_req_t *req, gw_resp_t *r)
{
    size_t limit;
    const char *cursor;
    if (!admin(req, r))
        return;
    gw_page(req, &limit, &cursor);
    long off = cursor && cursor[0] ? strtol(cursor, NULL, 10) : 0;
    if (off < 0)
        off = 0;
    redisReply *ids = rw_redis_command(req->redis, "SORT rw:users ALPHA LIMIT %ld %ld", off, (long) limit + 1);
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < ids->elements && i < limit; i++) {
        rw_dir_user_t u;
        char ver[24];
        if (rw_dir_user_get(req->redis, ids->element[i]->str, &u) < 0)
            continue;
        redisReply *v = rw_redis_command(req->redis, "HGET rw:user:%s ver", u.id);
        snprintf(ver, sizeof ver, "%s", v && v->type == REDIS_REPLY_STRING ? v->str : "0");
        if (v)
            freeReplyObject(v);
        json_array_append_new(items, user_json(&u, ver));
    }
    json_t *o = json_pack("{s:o}", "items", items);
    if (ids->elements > limit) {
        char next[24];
        snprintf(next, sizeof next, "%ld", off + (long) limit);
        json_object_set_new(o, "next", json_string(next));
    }
    freeReplyObject(ids);
    gw_json(r, 200, o);
}

/* The body's fields over u (those present); a bad type is a 400. */
static bool user_fields(gw_req_t *req, gw_resp_t *r, rw_dir_user_t *u)
{
    static const struct { const char *name; size_t off, len; } f[] = {
        { "ext", offsetof(rw_dir_user_t, ext), sizeof ((rw_dir_user_t *) 0)->ext },
        { "number", offsetof(rw_dir_user_t, number), sizeof ((rw_dir_user_t *) 0)->number },
        { "name", offsetof(rw_dir_user_t, name), sizeof ((rw_dir_user_t *) 0)->name },
        { "site", offsetof(rw_dir_user_t, site), sizeof ((rw_dir_user_t *) 0)->site },
        { "tz", offsetof(rw_dir_user_t, tz), sizeof ((rw_dir_user_t *) 0)->tz },
        { "realm", offsetof(rw_dir_user_t, realm), sizeof ((rw_dir_user_t *) 0)->realm },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        json_t *v = json_object_get(req->body, f[i].name);
        if (!v)
            continue;
        if (!json_is_string(v) || strlen(json_string_value(v)) >= f[i].len) {
            gw_error(r, 400, "bad_request", "%s: must be a string of at most %zu characters", f[i].name, f[i].len - 1);
            return false;
        }
        memcpy((char *) u + f[i].off, json_string_value(v), strlen(json_string_value(v)) + 1);
    }
    json_t *pw = json_object_get(req->body, "password");
    if (pw && !json_is_string(pw)) {
        gw_error(r, 400, "bad_request", "password: must be a string");
        return false;
    }
    return true;
}

/* The body's "devices" ([{id, kind, address}]) through the directory, naming the bad one. */
static int put_devices(gw_req_t *req, const char *user, char *err, size_t len)
{
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(req->body, "devices"), i, d) {
        char derr[256];
        const char *id = json_string_value(json_object_get(d, "id"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *addr = json_string_value(json_object_get(d, "address"));
        int rc = rw_dir_device_put(req->redis, gw_numplan, user, id ? id : "", kind ? kind : "", addr ? addr : "",
                                   derr, sizeof derr);
        if (rc < 0)
            return snprintf(err, len, "devices[%zu]: %s", i, derr), rc;
    }
    return 0;
}

static void answer_user(gw_req_t *req, gw_resp_t *r, const char *id, int status)
{
    rw_dir_user_t u;
    char ver[24];
    if (rw_dir_user_get(req->redis, id, &u) < 0 || !gw_user_ver(req, r, id, ver, sizeof ver)) {
        if (!r->json)
            gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    gw_set_etag(r, ver);
    gw_json(r, status, user_json(&u, ver));
}

static void create_user(gw_req_t *req, gw_resp_t *r)
{
    rw_dir_user_t u;
    char err[512] = "";
    if (!admin(req, r) || !body_object(req, r))
        return;
    const char *id = gw_body_str(req, "id"), *pw = gw_body_str(req, "password");
    memset(&u, 0, sizeof u);
    if (!id || strlen(id) >= sizeof u.id) {
        gw_error(r, 400, "bad_request", "id: a user id is required (1-63 of a-z 0-9 . _ -)");
        return;
    }
    memcpy(u.id, id, strlen(id) + 1);
    snprintf(u.tz, sizeof u.tz, "Europe/London");
    snprintf(u.realm, sizeof u.realm, "ringway.local");
    if (!user_fields(req, r, &u))
        return;
    if (!pw || !pw[0]) {
        gw_error(r, 422, "invalid", "a new user needs a password (their phones' digest password)");
        return;
    }
    redisReply *ex = rw_redis_command(req->redis, "EXISTS rw:user:%s", id);
    long long exists = ex && ex->type == REDIS_REPLY_INTEGER ? ex->integer : -1;
    if (ex)
        freeReplyObject(ex);
    if (exists != 0) {
        if (exists > 0)
            gw_error(r, 409, "conflict", "user '%s' already exists (PUT /api/v1/users/%s changes it)", id, id);
        else
            gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    int rc = rw_dir_user_put(req->redis, gw_numplan, &u, pw, err, sizeof err);
    if (rc == 0)
        rc = put_devices(req, u.id, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "user.create", u.id,
                      json_pack("{s:s,s:s}", "ext", u.ext, "number", u.number)))
        return;
    answer_user(req, r, u.id, 201);
}

/* After a failed directory write under WATCH: Redis answers, so the EXEC was aborted by the
 * watch (someone wrote first; their `ver` bump may follow their EXEC by a moment). */
static bool redis_alive(gw_req_t *req)
{
    redisReply *rep = rw_redis_command(req->redis, "PING");
    bool ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    return ok;
}

static void unwatch(gw_req_t *req)
{
    redisReply *rep = rw_redis_command(req->redis, "UNWATCH");
    if (rep)
        freeReplyObject(rep);
}

/* Replaces the fields given, only at the version the editor read (If-Match): the user's hash
 * is WATCHed before its `ver` is compared, so a write by anyone else before the directory's
 * MULTI/EXEC makes the EXEC fail, and that is answered 412 with nothing written. */
static void change_user(gw_req_t *req, gw_resp_t *r)
{
    rw_dir_user_t u;
    char ver[24], now[24], err[512] = "";
    if (!admin(req, r) || !body_object(req, r) || !gw_user_exists(req, r, P0))
        return;
    redisReply *w = rw_redis_command(req->redis, "WATCH rw:user:%s", P0);
    if (w)
        freeReplyObject(w);
    if (!gw_user_ver(req, r, P0, ver, sizeof ver) || !gw_if_match(req, r, ver, true)) {
        unwatch(req);
        return;
    }
    int rc = rw_dir_user_get(req->redis, P0, &u);
    const char *id = gw_body_str(req, "id");
    if (rc < 0)
        gw_dir_error(r, rc, "redis unreachable");
    else if (id && strcmp(id, P0))
        gw_error(r, 400, "bad_request", "id: a user's id cannot change (remove and create instead)");
    if (rc < 0 || (id && strcmp(id, P0)) || !user_fields(req, r, &u)) {
        unwatch(req);
        return;
    }
    const char *pw = gw_body_str(req, "password");
    rc = rw_dir_user_put(req->redis, gw_numplan, &u, pw && pw[0] ? pw : NULL, err, sizeof err);
    unwatch(req);                    /* EXEC ended the watch, unless a check refused first */
    if (rc == RW_EIO && gw_user_ver(req, r, P0, now, sizeof now) && (strcmp(now, ver) || redis_alive(req))) {
        gw_error(r, 412, "changed_elsewhere", "user '%s' was changed by someone else since version %s: reload it "
                 "and make your change again", P0, ver);
        return;
    }
    if (rc == 0)
        rc = put_devices(req, u.id, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "user.change", u.id,
                      json_pack("{s:s,s:b}", "from_ver", ver, "password", pw && pw[0])))
        return;
    answer_user(req, r, u.id, 200);
}

static void remove_user(gw_req_t *req, gw_resp_t *r)
{
    char ver[24], err[512] = "";
    if (!admin(req, r) || !gw_user_exists(req, r, P0) || !gw_user_ver(req, r, P0, ver, sizeof ver) ||
        !gw_if_match(req, r, ver, false))
        return;
    int rc = rw_dir_user_rm(req->redis, P0, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "user.remove", P0, NULL))
        return;
    gw_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "removed", P0));
}

/* ---- devices ---------------------------------------------------------------------------- */

static void put_device(gw_req_t *req, gw_resp_t *r)
{
    char err[512] = "";
    if (!admin(req, r) || !body_object(req, r) || !gw_user_exists(req, r, P0))
        return;
    const char *kind = gw_body_str(req, "kind"), *addr = gw_body_str(req, "address");
    if (!kind) {
        gw_error(r, 400, "bad_request", "kind: sip, number or voicemail");
        return;
    }
    int rc = rw_dir_device_put(req->redis, gw_numplan, P0, P1, kind, addr ? addr : "", err, sizeof err);
    if (!gw_committed(req, r, rc, err, "device.put", P0,
                      json_pack("{s:s,s:s,s:s}", "device", P1, "kind", kind, "address", addr ? addr : "")))
        return;
    gw_json(r, 200, json_pack("{s:b,s:s,s:s,s:s,s:s}", "ok", 1, "user", P0, "device", P1, "kind", kind, "address",
                              addr ? addr : ""));
}

static void remove_device(gw_req_t *req, gw_resp_t *r)
{
    char err[512] = "";
    if (!admin(req, r) || !gw_user_exists(req, r, P0))
        return;
    int rc = rw_dir_device_rm(req->redis, gw_numplan, P0, P1, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "device.remove", P0, json_pack("{s:s}", "device", P1)))
        return;
    gw_json(r, 200, json_pack("{s:b,s:s,s:s}", "ok", 1, "user", P0, "removed", P1));
}

/* ---- hunt groups ------------------------------------------------------------------------ */

/* The group (heap: 20 KB), its JSON and tag; an error answered when NULL. */
static rw_group_t *group_load(gw_req_t *req, gw_resp_t *r, const char *id, json_t **json, char tag[17])
{
    rw_group_t *g = malloc(sizeof *g);
    int rc = g ? rw_dir_group_get(req->redis, id, g) : RW_ENOMEM;
    if (rc < 0) {
        free(g);
        if (rc == RW_ENOTFOUND)
            gw_error(r, 404, "not_found", "no hunt group '%s'", id);
        else
            gw_dir_error(r, rc, rc == RW_EPROTO ? "the stored group no longer parses" : "redis unreachable");
        return NULL;
    }
    json_t *j = rw_group_to_json(g);
    redisReply *v = rw_redis_command(req->redis, "HGET rw:group:%s ver", id);   /* bumped by every save */
    snprintf(tag, 17, "%s", v && v->type == REDIS_REPLY_STRING ? v->str : "0");
    if (v)
        freeReplyObject(v);
    if (json)
        *json = j;
    else
        json_decref(j);
    return g;
}

static bool sees_group(const gw_req_t *req, const char *id)
{
    if (gw_is_admin(req))
        return true;
    for (size_t i = 0; req->who && i < req->who->n_groups; i++)
        if (!strcmp(req->who->groups[i], id))
            return true;
    return false;
}

static void list_groups(gw_req_t *req, gw_resp_t *r)
{
    json_t *ids = rw_dir_group_ids(req->redis), *jid, *items = json_array();
    size_t i;
    if (!ids) {
        json_decref(items);
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    rw_group_t *g = malloc(sizeof *g);
    json_array_foreach(ids, i, jid) {
        const char *id = json_string_value(jid);
        if (!g || !sees_group(req, id) || rw_dir_group_get(req->redis, id, g) < 0)
            continue;
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "id", g->id, "ext", g->ext, "number",
                                               g->number, "name", g->name, "strategy",
                                               rw_hg_strategy_name(g->strategy), "members", (int) g->n_members));
    }
    free(g);
    json_decref(ids);
    gw_json(r, 200, json_pack("{s:o}", "items", items));
}

static void get_group(gw_req_t *req, gw_resp_t *r)
{
    json_t *j;
    char tag[17];
    if (!gw_may_group(req, r, P0))
        return;
    rw_group_t *g = group_load(req, r, P0, &j, tag);
    if (!g)
        return;
    free(g);
    gw_set_etag(r, tag);
    gw_json(r, 200, j);
}

/* Parse the body as a group (the import file's format), id from the path when given; validate
 * and save through the directory. */
static void save_group(gw_req_t *req, gw_resp_t *r, const char *id, int status, const char *action)
{
    char err[512] = "", tag[17];
    rw_group_t *g = malloc(sizeof *g);
    if (!g) {
        gw_error(r, 500, "internal", "out of memory");
        return;
    }
    json_t *body = json_deep_copy(req->body);
    if (id)
        json_object_set_new(body, "id", json_string(id));
    int rc = rw_group_from_json(body, g, err, sizeof err);
    json_decref(body);
    if (rc == 0)
        rc = rw_dir_group_put(req->redis, gw_numplan, g, err, sizeof err);
    if (rc < 0) {
        free(g);
        gw_dir_error(r, rc, err);
        return;
    }
    char gid[64];
    snprintf(gid, sizeof gid, "%s", g->id);
    free(g);
    if (!gw_durable(req, r))
        return;
    gw_audit(req, action, gid, NULL);
    json_t *j;
    g = group_load(req, r, gid, &j, tag);
    if (!g)
        return;
    free(g);
    gw_set_etag(r, tag);
    gw_json(r, status, j);
}

static void create_group(gw_req_t *req, gw_resp_t *r)
{
    if (!admin(req, r) || !body_object(req, r))
        return;
    const char *id = gw_body_str(req, "id");
    if (!id || !id[0]) {
        gw_error(r, 400, "bad_request", "id: a group id is required");
        return;
    }
    json_t *ids = rw_dir_group_ids(req->redis), *jid;
    size_t i;
    bool exists = false;
    if (!ids) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_array_foreach(ids, i, jid)
        exists = exists || !strcmp(json_string_value(jid), id);
    json_decref(ids);
    if (exists) {
        gw_error(r, 409, "conflict", "hunt group '%s' already exists (PUT /api/v1/groups/%s changes it)", id, id);
        return;
    }
    save_group(req, r, NULL, 201, "group.create");
}

/* Only at the version the editor read: the group is WATCHed before its `ver` is compared, so a
 * save by anyone else before the directory's MULTI/EXEC fails the EXEC: 412, nothing written. */
static void change_group(gw_req_t *req, gw_resp_t *r)
{
    char tag[17], now[17];
    if (!admin(req, r) || !body_object(req, r))
        return;
    const char *id = gw_body_str(req, "id");
    if (id && strcmp(id, P0)) {
        gw_error(r, 400, "bad_request", "id: a group's id cannot change");
        return;
    }
    redisReply *w = rw_redis_command(req->redis, "WATCH rw:group:%s rw:group:%s:members", P0, P0);
    if (w)
        freeReplyObject(w);
    rw_group_t *g = group_load(req, r, P0, NULL, tag);
    bool found = g != NULL;
    free(g);
    if (!found || !gw_if_match(req, r, tag, true)) {
        unwatch(req);
        return;
    }
    save_group(req, r, P0, 200, "group.change");
    unwatch(req);
    /* the directory's write failed (not the durability wait after it): was it the watch? */
    const char *code = json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
    if (r->status == 503 && code && !strcmp(code, "unavailable") && (g = group_load(req, r, P0, NULL, now)) != NULL) {
        free(g);
        if (strcmp(now, tag)) {
            json_decref(r->json);
            r->json = NULL;
            r->retry_after = 0;
            gw_error(r, 412, "changed_elsewhere", "hunt group '%s' was changed by someone else since version %s: "
                     "reload it and make your change again", P0, tag);
        }
    }
}

static void remove_group(gw_req_t *req, gw_resp_t *r)
{
    char tag[17], err[512] = "";
    if (!admin(req, r))
        return;
    rw_group_t *g = group_load(req, r, P0, NULL, tag);
    if (!g)
        return;
    free(g);
    if (!gw_if_match(req, r, tag, false))
        return;
    int rc = rw_dir_group_rm(req->redis, P0, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "group.remove", P0, NULL))
        return;
    gw_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "removed", P0));
}

/* POST /groups/{id}/agents/{user}/{op}: the agent themselves, a supervisor of the group or an
 * admin; {"reason": "..."} for a pause. */
static void agent_op(gw_req_t *req, gw_resp_t *r)
{
    static const char *const ops[] = { "login", "logout", "pause", "resume" };
    rw_agent_status_t st;
    char err[512] = "";
    bool known = false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        known = known || !strcmp(P2, ops[i]);
    if (!known) {
        gw_error(r, 404, "not_found", "'%s' is not an agent operation (login, logout, pause, resume)", P2);
        return;
    }
    bool self = req->who && req->who->user[0] && !strcmp(req->who->user, P1);
    if (!self && !gw_may_group(req, r, P0))
        return;
    const char *reason = json_is_object(req->body) ? gw_body_str(req, "reason") : NULL;
    int rc = rw_dir_agent_op(req->redis, P2, P1, P0, reason ? reason : "", rw_clock_wall_ms(), &st, err, sizeof err);
    if (rc < 0) {
        gw_dir_error(r, rc, err);
        return;
    }
    if (!gw_durable(req, r))
        return;
    char action[32];
    snprintf(action, sizeof action, "agent.%s", P2);
    gw_audit(req, action, P1, json_pack("{s:s,s:s}", "group", P0, "reason", reason ? reason : ""));
    gw_json(r, 200, json_pack("{s:b,s:s,s:s,s:s,s:s,s:s}", "ok", 1, "user", P1, "group", P0, "state", st.state,
                              "reason", st.reason, "groups", st.groups));
}

/* ---- trunks ----------------------------------------------------------------------------- */

static json_t *trunk_json(const char *name, const char *stored)
{
    json_t *t = json_loads(stored, 0, NULL);
    if (!json_is_object(t)) {
        json_decref(t);
        t = json_object();
    }
    json_object_set_new(t, "name", json_string(name));
    return t;
}

static void list_trunks(gw_req_t *req, gw_resp_t *r)
{
    if (!admin(req, r))
        return;
    json_t *h = gw_hgetall(req->redis, "rw:trunks");
    if (!h) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_t *items = json_array(), *v;
    const char *name;
    json_object_foreach(h, name, v)
        json_array_append_new(items, trunk_json(name, json_string_value(v)));
    json_decref(h);
    gw_json(r, 200, json_pack("{s:o}", "items", items));
}

/* The stored trunk's text, NULL with 404/503 answered. */
static char *trunk_text(gw_req_t *req, gw_resp_t *r, const char *name)
{
    redisReply *rep = rw_redis_command(req->redis, "HGET rw:trunks %s", name);
    char *text = rep && rep->type == REDIS_REPLY_STRING ? strdup(rep->str) : NULL;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
        gw_dir_error(r, RW_EIO, "redis unreachable");
    else if (!text)
        gw_error(r, 404, "not_found", "no trunk '%s'", name);
    if (rep)
        freeReplyObject(rep);
    return text;
}

static void get_trunk(gw_req_t *req, gw_resp_t *r)
{
    char tag[17];
    if (!admin(req, r))
        return;
    char *text = trunk_text(req, r, P0);
    if (!text)
        return;
    gw_text_tag(text, tag);
    gw_set_etag(r, tag);
    gw_json(r, 200, trunk_json(P0, text));
    free(text);
}

/* {"prefixes": ["+44", "+33"] or "+44,+33", "order": 1, "address": "sip:..."} */
static void put_trunk(gw_req_t *req, gw_resp_t *r)
{
    char prefixes[256] = "", err[512] = "", tag[17];
    if (!admin(req, r) || !body_object(req, r))
        return;
    redisReply *rep = rw_redis_command(req->redis, "HGET rw:trunks %s", P0);
    if (rep && rep->type == REDIS_REPLY_STRING) {
        gw_text_tag(rep->str, tag);
        freeReplyObject(rep);
        if (!gw_if_match(req, r, tag, false))
            return;
    } else if (rep) {
        freeReplyObject(rep);
    }
    json_t *p = json_object_get(req->body, "prefixes"), *e;
    size_t i, at = 0;
    if (json_is_string(p))
        snprintf(prefixes, sizeof prefixes, "%s", json_string_value(p));
    json_array_foreach(json_is_array(p) ? p : NULL, i, e)
        if (json_is_string(e) && at < sizeof prefixes)
            at += (size_t) snprintf(prefixes + at, sizeof prefixes - at, "%s%s", i ? "," : "", json_string_value(e));
    json_t *order = json_object_get(req->body, "order");
    const char *addr = gw_body_str(req, "address");
    if (order && !json_is_integer(order)) {
        gw_error(r, 400, "bad_request", "order: must be an integer");
        return;
    }
    int rc = rw_dir_trunk_put(req->redis, P0, prefixes, (int) json_integer_value(order), addr ? addr : "", err,
                              sizeof err);
    if (!gw_committed(req, r, rc, err, "trunk.put", P0,
                      json_pack("{s:s,s:s}", "prefixes", prefixes, "address", addr ? addr : "")))
        return;
    char *text = trunk_text(req, r, P0);
    if (!text)
        return;
    gw_text_tag(text, tag);
    gw_set_etag(r, tag);
    gw_json(r, 200, trunk_json(P0, text));
    free(text);
}

static void remove_trunk(gw_req_t *req, gw_resp_t *r)
{
    char err[512] = "", tag[17];
    if (!admin(req, r))
        return;
    char *text = trunk_text(req, r, P0);
    if (!text)
        return;
    gw_text_tag(text, tag);
    free(text);
    if (!gw_if_match(req, r, tag, false))
        return;
    int rc = rw_dir_trunk_rm(req->redis, P0, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "trunk.remove", P0, NULL))
        return;
    gw_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "removed", P0));
}

/* ---- the whole directory ---------------------------------------------------------------- */

static void export_directory(gw_req_t *req, gw_resp_t *r)
{
    if (!admin(req, r))
        return;
    json_t *j = rw_dir_export(req->redis);
    if (!j) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    gw_json(r, 200, j);
}

/* Replaces every occurrence of the temporary file's name in err by "body". */
static void unname(char *err, size_t len, const char *path)
{
    char out[600];
    size_t at = 0, plen = strlen(path);
    for (const char *p = err; *p && at + 1 < sizeof out;) {
        if (!strncmp(p, path, plen)) {
            at += (size_t) snprintf(out + at, sizeof out - at, "body");
            p += plen;
        } else {
            out[at++] = *p++;
        }
    }
    out[at < sizeof out ? at : sizeof out - 1] = '\0';
    size_t n = strlen(out) < len ? strlen(out) : len - 1;   /* not snprintf: -O2 flags the bound */
    memcpy(err, out, n);
    err[n] = '\0';
}

/* POST /directory: the import file of docs/directory.md as the body (users, rules, trunks, then
 * groups), loaded by the directory's own import, which stops at the first bad entry and names
 * it (entries before it stay written, as with `ringway import`). */
static void import_directory(gw_req_t *req, gw_resp_t *r)
{
    char path[] = "/tmp/ringway-import-XXXXXX", err[512] = "", gerr[512] = "";
    int n_users = 0, n_groups = 0;
    if (!admin(req, r) || !body_object(req, r))
        return;
    int fd = mkstemp(path);
    if (fd < 0) {
        gw_error(r, 500, "internal", "could not stage the import: %s", strerror(errno));
        return;
    }
    int dumped = json_dumpfd(req->body, fd, JSON_COMPACT);
    close(fd);
    int rc = dumped == 0 ? rw_dir_import_file(req->redis, gw_numplan, path, &n_users, err, sizeof err) : RW_EIO;
    if (rc == 0)
        rc = rw_dir_groups_import_file(req->redis, gw_numplan, path, &n_groups, gerr, sizeof gerr);
    unlink(path);
    unname(err, sizeof err, path);
    unname(gerr, sizeof gerr, path);
    bool wrote = n_users > 0 || n_groups > 0;
    if (wrote && !gw_durable(req, r))
        return;
    if (wrote || rc == 0)
        gw_audit(req, "directory.import", "directory", json_pack("{s:i,s:i,s:b}", "users", n_users, "groups", n_groups,
                                                                 "complete", rc == 0));
    if (rc < 0) {
        gw_error(r, rc == RW_EIO ? 503 : 422, rc == RW_EIO ? "unavailable" : "invalid",
                 "import stopped: %s (%d users and %d groups loaded before it)", gerr[0] ? gerr : err, n_users,
                 n_groups);
        return;
    }
    gw_json(r, 200, json_pack("{s:b,s:i,s:i,s:s}", "ok", 1, "imported_users", n_users, "imported_groups", n_groups,
                              "warning", err));
}

const gw_route_t gw_routes_admin[] = {
    { "GET", "/api/v1/users", GW_ROLE_ANY, list_users },
    { "POST", "/api/v1/users", GW_ROLE_ANY, create_user },
    { "PUT", "/api/v1/users/{id}", GW_ROLE_ANY, change_user },
    { "DELETE", "/api/v1/users/{id}", GW_ROLE_ANY, remove_user },
    { "PUT", "/api/v1/users/{id}/devices/{device}", GW_ROLE_ANY, put_device },
    { "DELETE", "/api/v1/users/{id}/devices/{device}", GW_ROLE_ANY, remove_device },
    { "GET", "/api/v1/groups", GW_ROLE_ANY, list_groups },
    { "POST", "/api/v1/groups", GW_ROLE_ANY, create_group },
    { "GET", "/api/v1/groups/{id}", GW_ROLE_ANY, get_group },
    { "PUT", "/api/v1/groups/{id}", GW_ROLE_ANY, change_group },
    { "DELETE", "/api/v1/groups/{id}", GW_ROLE_ANY, remove_group },
    { "POST", "/api/v1/groups/{id}/agents/{user}/{op}", GW_ROLE_ANY, agent_op },
    { "GET", "/api/v1/trunks", GW_ROLE_ANY, list_trunks },
    { "GET", "/api/v1/trunks/{name}", GW_ROLE_ANY, get_trunk },
    { "PUT", "/api/v1/trunks/{name}", GW_ROLE_ANY, put_trunk },
    { "DELETE", "/api/v1/trunks/{name}", GW_ROLE_ANY, remove_trunk },
    { "GET", "/api/v1/directory", GW_ROLE_ANY, export_directory },
    { "POST", "/api/v1/directory", GW_ROLE_ANY, import_directory },
    { NULL, NULL, 0, NULL },
};
