/* services/gateway/res_staff.c — a user's own resources: who they are and where their devices
 * are registered, their routing settings (ETag = the directory's `ver`, written only while it
 * is still the version the editor read), the active profile, manual presence, the temporary
 * divert, where a call would ring (explain) and their recent calls. The person themselves or an
 * admin (gw_may_user). Every write goes through directory/ or the presence merge script, exactly
 * as the CLI's do, is said done only once durable, and is audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "directory/directory.h"
#include "services/gateway/api.h"
#include "services/gateway/explain.h"
#include "services/gateway/res_common.h"
#include "protocols/route.h"
#include "services/presence/merge.h"

#define ID (req->params[0])

/* Access and existence, in that order: a stranger learns nothing about who exists. */
static bool allowed(gw_req_t *req, gw_resp_t *r)
{
    return gw_may_user(req, r, ID) && gw_user_exists(req, r, ID);
}

static json_t *presence_json(rw_redis_t *redis, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "rw:presence:%s", id);
    json_t *h = gw_hgetall(redis, key);
    if (!h)
        return NULL;
    const char *state = json_string_value(json_object_get(h, "state"));
    const char *src = json_string_value(json_object_get(h, "source"));
    const char *u = json_string_value(json_object_get(h, "until_ms"));
    uint64_t until = u ? strtoull(u, NULL, 10) : 0;
    bool in_force = state && (!until || until > rw_clock_wall_ms());
    json_t *o = json_pack("{s:s,s:s?,s:I,s:s?,s:b}", "state", in_force ? state : "available", "set_state", state,
                          "until_ms", (json_int_t) until, "source", src, "in_force", in_force);
    json_decref(h);
    return o;
}

static json_t *divert_json(rw_redis_t *redis, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "rw:divert:%s", id);
    json_t *h = gw_hgetall(redis, key);
    if (!h)
        return NULL;
    const char *to = json_string_value(json_object_get(h, "to"));
    const char *s = json_string_value(json_object_get(h, "start_ms"));
    const char *e = json_string_value(json_object_get(h, "end_ms"));
    uint64_t start = s ? strtoull(s, NULL, 10) : 0, end = e ? strtoull(e, NULL, 10) : 0, now = rw_clock_wall_ms();
    json_t *o = to ? json_pack("{s:s,s:I,s:I,s:s}", "to", to, "start_ms", (json_int_t) start, "end_ms",
                               (json_int_t) end, "state", now < start ? "later" : now < end ? "in force" : "over")
                   : json_pack("{s:n,s:s}", "to", "state", "none");
    json_decref(h);
    return o;
}

/* ---- GET /users/{id} ------------------------------------------------------------------- */

static void get_user(gw_req_t *req, gw_resp_t *r)
{
    rw_dir_user_t u;
    char ver[24], key[96];
    if (!gw_may_user(req, r, ID))
        return;
    int rc = rw_dir_user_get(req->redis, ID, &u);
    if (rc < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, rc == RW_ENOTFOUND ? "no user '%s'" : "redis unreachable (%s)", ID);
        gw_dir_error(r, rc, msg);
        return;
    }
    if (!gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    snprintf(key, sizeof key, "rw:user:%s:devices", ID);
    json_t *devs = gw_hgetall(req->redis, key), *arr = json_array();
    const char *dev;
    json_t *v;
    json_object_foreach(devs, dev, v) {
        char kind[16] = "", aor[300];
        const char *text = json_string_value(v), *sp = strchr(text, ' ');
        const char *addr = sp ? sp + 1 : "";
        snprintf(kind, sizeof kind, "%.*s", (int) (sp ? (size_t) (sp - text) : strlen(text)), text);
        json_t *d = json_pack("{s:s,s:s,s:s}", "id", dev, "kind", kind, "address", addr);
        if (!strcmp(kind, "sip")) {
            /* the router's test: a binding exists for the device's AOR (docs/directory.md) */
            if (addr[0])
                snprintf(aor, sizeof aor, "%s", addr);
            else
                snprintf(aor, sizeof aor, "sip:%s@%s", u.ext, u.realm);
            redisReply *ex = rw_redis_command(req->redis, "EXISTS rw:loc:%s", aor);
            json_object_set_new(d, "registered", json_boolean(ex && ex->type == REDIS_REPLY_INTEGER && ex->integer));
            if (ex)
                freeReplyObject(ex);
        }
        json_array_append_new(arr, d);
    }
    json_decref(devs);
    char *settings = rw_dir_settings_get(req->redis, ID);
    json_t *st = settings && settings[0] ? json_loads(settings, 0, NULL) : NULL;
    json_t *profiles = json_array();
    const char *pname;
    json_object_foreach(json_object_get(st, "profiles"), pname, v)
        json_array_append_new(profiles, json_string(pname));
    json_t *active = json_object_get(st, "active");
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:O,s:o,s:o*,s:o*}", "id", u.id, "ext", u.ext,
                          "number", u.number, "name", u.name, "site", u.site, "tz", u.tz, "ver", ver,
                          "devices", arr, "profile", json_is_string(active) ? active : json_null(),
                          "profiles", profiles, "presence", presence_json(req->redis, ID), "divert",
                          divert_json(req->redis, ID));
    json_decref(st);
    free(settings);
    gw_set_etag(r, ver);
    gw_json(r, 200, o);
}

/* ---- settings -------------------------------------------------------------------------- */

static void get_settings(gw_req_t *req, gw_resp_t *r)
{
    char ver[24];
    if (!allowed(req, r) || !gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    char *text = rw_dir_settings_get(req->redis, ID);
    if (!text) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_t *st = text[0] ? json_loads(text, 0, NULL) : json_object();
    free(text);
    if (!st)
        st = json_object();
    gw_set_etag(r, ver);
    gw_json(r, 200, json_pack("{s:s,s:s,s:o}", "user", ID, "ver", ver, "settings", st));
}

/* Replace the whole settings, only while `ver` is the one the editor read (If-Match): the
 * directory checks and writes in one compare-and-set, so of two editors holding the same
 * version one saves and the other gets 412 with nothing changed. */
static void put_settings(gw_req_t *req, gw_resp_t *r)
{
    char ver[24], err[512] = "";
    if (!allowed(req, r) || !gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    json_t *body = req->body;
    if (json_is_object(json_object_get(body, "settings")))
        body = json_object_get(body, "settings");
    if (!json_is_object(body)) {
        gw_error(r, 400, "bad_request", "the body must be the settings object (profiles, pinned, active)");
        return;
    }
    if (!gw_if_match(req, r, ver, true))
        return;
    json_t *copy = json_deep_copy(body);
    int rc = rw_dir_settings_put_if(req->redis, gw_numplan, ID, copy, ver, err, sizeof err);
    json_decref(copy);
    if (rc < 0) {
        gw_dir_error(r, rc, err);
        return;
    }
    if (!gw_durable(req, r) || !gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    gw_audit(req, "settings.put", ID, json_pack("{s:s}", "ver", ver));
    gw_set_etag(r, ver);
    gw_json(r, 200, json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "user", ID, "ver", ver, "warning", err));
}

static void put_profile(gw_req_t *req, gw_resp_t *r)
{
    char ver[24], err[512] = "";
    if (!allowed(req, r) || !gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    const char *profile = gw_body_str(req, "profile");
    if (!profile) {
        gw_error(r, 400, "bad_request", "profile: a profile name is required ({\"profile\":\"office\"})");
        return;
    }
    if (!gw_if_match(req, r, ver, false))
        return;
    int rc = rw_dir_profile_switch(req->redis, gw_numplan, ID, profile, err, sizeof err);
    if (rc < 0) {
        gw_dir_error(r, rc == RW_ENOTFOUND ? RW_EINVAL : rc, err);   /* no such profile: 422 */
        return;
    }
    if (!gw_durable(req, r) || !gw_user_ver(req, r, ID, ver, sizeof ver))
        return;
    gw_audit(req, "profile.switch", ID, json_pack("{s:s}", "profile", profile));
    gw_set_etag(r, ver);
    gw_json(r, 200, json_pack("{s:b,s:s,s:s,s:s,s:s}", "ok", 1, "user", ID, "profile", profile, "ver", ver,
                              "warning", err));
}

/* ---- presence: the manual source, merged by the presence script as `ringway presence set` -- */

static void get_presence(gw_req_t *req, gw_resp_t *r)
{
    if (!allowed(req, r))
        return;
    json_t *o = presence_json(req->redis, ID);
    if (!o) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_object_set_new(o, "user", json_string(ID));
    gw_json(r, 200, o);
}

/* state NULL clears the manual setting: rw_pres_manual_set, as `ringway presence set/clear`. */
static void set_presence(gw_req_t *req, gw_resp_t *r, const char *state, uint64_t until)
{
    char err[160] = "";
    int rc = rw_pres_manual_set(req->redis, ID, state, until, rw_clock_wall_ms(), err, sizeof err);
    if (rc == RW_EINVAL) {
        gw_error(r, 400, "bad_request", "%s", err);
        return;
    }
    if (rc == RW_EPROTO) {
        gw_error(r, 422, "invalid", "presence not set: %s", err);
        return;
    }
    if (rc < 0) {
        gw_dir_error(r, RW_EIO, err);
        return;
    }
    if (!gw_durable(req, r))
        return;
    gw_audit(req, state ? "presence.set" : "presence.clear", ID,
             state ? json_pack("{s:s,s:I}", "state", state, "until_ms", (json_int_t) until) : NULL);
    json_t *o = presence_json(req->redis, ID);
    if (o)
        json_object_set_new(o, "user", json_string(ID));
    gw_json(r, 200, o ? o : json_pack("{s:s}", "user", ID));
}

static void put_presence(gw_req_t *req, gw_resp_t *r)
{
    uint64_t until;
    if (!allowed(req, r))
        return;
    json_t *state = json_object_get(req->body, "state");
    if (!json_is_string(state)) {
        gw_error(r, 400, "bad_request", "state: a presence state is required (available, busy, away, in_meeting, "
                 "dnd, offline)");
        return;
    }
    if (gw_time_field(req->body, "until", &until, r))
        set_presence(req, r, json_string_value(state), until);
}

static void delete_presence(gw_req_t *req, gw_resp_t *r)
{
    if (allowed(req, r))
        set_presence(req, r, NULL, 0);
}

/* ---- divert: the temporary divert rw:divert:<id>, as `ringway divert set` -------------- */

static void get_divert(gw_req_t *req, gw_resp_t *r)
{
    if (!allowed(req, r))
        return;
    json_t *o = divert_json(req->redis, ID);
    if (!o) {
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_object_set_new(o, "user", json_string(ID));
    gw_json(r, 200, o);
}

/* {"to": "mobile" | "user:bob" | "+447700900123" | "voicemail", "until": T, "from": T (now)} */
static void put_divert(gw_req_t *req, gw_resp_t *r)
{
    uint64_t from, until;
    char err[512] = "";
    if (!allowed(req, r))
        return;
    const char *to = gw_body_str(req, "to");
    if (!to || !to[0]) {
        gw_error(r, 400, "bad_request", "to: a destination is required (a device, user:ID, a number or voicemail)");
        return;
    }
    if (!gw_time_field(req->body, "from", &from, r) || !gw_time_field(req->body, "until", &until, r))
        return;
    if (!until) {
        gw_error(r, 400, "bad_request", "until: when the divert ends is required");
        return;
    }
    if (!from)
        from = rw_clock_wall_ms();
    int rc = rw_dir_divert_set(req->redis, gw_numplan, ID, to, from, until, err, sizeof err);
    if (!gw_committed(req, r, rc, err, "divert.set", ID,
                      json_pack("{s:s,s:I,s:I}", "to", to, "start_ms", (json_int_t) from, "end_ms",
                                (json_int_t) until)))
        return;
    json_t *o = divert_json(req->redis, ID);
    if (o)
        json_object_set_new(o, "user", json_string(ID));
    gw_json(r, 200, o ? o : json_pack("{s:s}", "user", ID));
}

static void delete_divert(gw_req_t *req, gw_resp_t *r)
{
    if (!allowed(req, r))
        return;
    if (rw_dir_divert_clear(req->redis, ID) < 0) {
        gw_dir_error(r, RW_EIO, "redis write failed");
        return;
    }
    if (!gw_durable(req, r))
        return;
    gw_audit(req, "divert.clear", ID, NULL);
    gw_json(r, 200, json_pack("{s:s,s:n,s:s}", "user", ID, "to", "state", "none"));
}

/* ---- explain ---------------------------------------------------------------------------- */

/* Where a call to the user's extension rings at ?at= (now) from ?from= (anonymous): the router's
 * plan and trace, what sip-edge does with it, and one sentence, all from services/gateway's
 * explain module, which `ringway explain` prints too. */
static void get_explain(gw_req_t *req, gw_resp_t *r)
{
    rw_dir_user_t u;
    uint64_t at;
    char why[400];
    if (!allowed(req, r) || !gw_time_text(gw_query(req, "at"), "at", &at, r))
        return;
    int got = rw_dir_user_get(req->redis, ID, &u);
    if (got < 0) {
        gw_dir_error(r, got, got == RW_ENOTFOUND ? "no such user" : "redis unreachable");
        return;
    }
    const char *from = gw_query(req, "from");
    if (from && strlen(from) >= sizeof ((rw_route_req_t *) 0)->caller) {
        gw_error(r, 400, "bad_request", "from: the caller is too long");
        return;
    }
    json_t *o = NULL;
    int rc = rw_explain_user(req->redis, u.ext, from, at ? at : rw_clock_wall_ms(), &o, why, sizeof why);
    if (rc < 0) {
        gw_error(r, rc == RW_ENOTFOUND ? 404 : 503, rc == RW_ENOTFOUND ? "not_found" : "unavailable", "%s", why);
        if (rc != RW_ENOTFOUND)
            r->retry_after = 1;
        return;
    }
    gw_json(r, 200, o);
}

/* ---- recent calls ----------------------------------------------------------------------- */

static void get_calls(gw_req_t *req, gw_resp_t *r)
{
    size_t limit;
    const char *cursor;
    if (!allowed(req, r))
        return;
    gw_page(req, &limit, &cursor);
    long start = cursor && cursor[0] ? strtol(cursor, NULL, 10) : 0;
    if (start < 0)
        start = 0;
    redisReply *rep = rw_redis_command(req->redis, "LRANGE rw:recent:%s %ld %ld", ID, start, start + (long) limit);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        gw_dir_error(r, RW_EIO, "redis unreachable");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < rep->elements && i < limit; i++) {
        json_t *c = rep->element[i]->type == REDIS_REPLY_STRING ? json_loads(rep->element[i]->str, 0, NULL) : NULL;
        if (c)
            json_array_append_new(items, c);
    }
    json_t *o = json_pack("{s:o}", "items", items);
    if (rep->elements > limit) {
        char next[24];
        snprintf(next, sizeof next, "%ld", start + (long) limit);
        json_object_set_new(o, "next", json_string(next));
    }
    freeReplyObject(rep);
    gw_json(r, 200, o);
}

const gw_route_t gw_routes_staff[] = {
    { "GET", "/api/v1/users/{id}", GW_ROLE_ANY, get_user },
    { "GET", "/api/v1/users/{id}/settings", GW_ROLE_ANY, get_settings },
    { "PUT", "/api/v1/users/{id}/settings", GW_ROLE_ANY, put_settings },
    { "PUT", "/api/v1/users/{id}/profile", GW_ROLE_ANY, put_profile },
    { "GET", "/api/v1/users/{id}/presence", GW_ROLE_ANY, get_presence },
    { "PUT", "/api/v1/users/{id}/presence", GW_ROLE_ANY, put_presence },
    { "DELETE", "/api/v1/users/{id}/presence", GW_ROLE_ANY, delete_presence },
    { "GET", "/api/v1/users/{id}/divert", GW_ROLE_ANY, get_divert },
    { "PUT", "/api/v1/users/{id}/divert", GW_ROLE_ANY, put_divert },
    { "DELETE", "/api/v1/users/{id}/divert", GW_ROLE_ANY, delete_divert },
    { "GET", "/api/v1/users/{id}/explain", GW_ROLE_ANY, get_explain },
    { "GET", "/api/v1/users/{id}/calls", GW_ROLE_ANY, get_calls },
    { NULL, NULL, 0, NULL },
};
