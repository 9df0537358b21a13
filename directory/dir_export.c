/* directory/dir_export.c — the directory as an import file (dir_export.h). */
#include "directory/dir_export.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "directory/dir_groups.h"
#include "directory/directory.h"

static json_t *devices_of(rw_redis_t *r, const char *id)
{
    redisReply *h = rw_redis_command(r, "HGETALL rw:user:%s:devices", id);
    if (!h || h->type != REDIS_REPLY_ARRAY) {
        if (h)
            freeReplyObject(h);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *text = h->element[i + 1]->str, *sp = text ? strchr(text, ' ') : NULL;
        json_t *d = json_pack("{s:s,s:s%}", "id", h->element[i]->str, "kind", text ? text : "",
                              sp ? (size_t) (sp - text) : strlen(text ? text : ""));
        if (sp && sp[1])
            json_object_set_new(d, "address", json_string(sp + 1));
        json_array_append_new(arr, d);
    }
    freeReplyObject(h);
    return arr;
}

static json_t *trunks_of(rw_redis_t *r)
{
    redisReply *h = rw_redis_command(r, "HGETALL rw:trunks");
    if (!h || h->type != REDIS_REPLY_ARRAY) {
        if (h)
            freeReplyObject(h);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        json_t *t = json_loads(h->element[i + 1]->str, 0, NULL);
        if (!json_is_object(t)) {
            json_decref(t);
            continue;
        }
        json_object_set_new(t, "name", json_string(h->element[i]->str));
        json_array_append_new(arr, t);
    }
    freeReplyObject(h);
    return arr;
}

json_t *rw_dir_export(rw_redis_t *r)
{
    redisReply *ids = rw_redis_command(r, "SORT rw:users ALPHA");
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        return NULL;
    }
    json_t *users = json_array();
    char realm[64] = "";
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ids->elements; i++) {
        rw_dir_user_t u;
        if ((rc = rw_dir_user_get(r, ids->element[i]->str, &u)) == RW_ENOTFOUND) {
            rc = 0;                       /* removed meanwhile */
            continue;
        }
        if (rc < 0)
            break;
        if (!realm[0])
            memcpy(realm, u.realm, sizeof realm);
        json_t *ju = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", u.id, "ext", u.ext, "number", u.number,
                               "name", u.name, "site", u.site, "tz", u.tz, "ha1", u.ha1);
        if (strcmp(u.realm, realm))
            json_object_set_new(ju, "realm", json_string(u.realm));
        json_t *devs = devices_of(r, u.id);
        char *settings = rw_dir_settings_get(r, u.id);
        if (!devs || !settings) {
            json_decref(ju);
            json_decref(devs);
            free(settings);
            rc = -1;
            break;
        }
        json_object_set_new(ju, "devices", devs);
        json_t *rules = settings[0] ? json_loads(settings, 0, NULL) : NULL;
        if (rules)
            json_object_set_new(ju, "rules", rules);
        free(settings);
        json_array_append_new(users, ju);
    }
    freeReplyObject(ids);
    json_t *trunks = rc == 0 ? trunks_of(r) : NULL;
    json_t *groups = trunks ? rw_dir_groups_export(r) : NULL;
    if (!groups) {
        json_decref(users);
        json_decref(trunks);
        return NULL;
    }
    json_t *out = json_pack("{s:s,s:o,s:o,s:O}", "realm", realm[0] ? realm : "ringway.local", "users", users,
                            "trunks", trunks, "groups", json_object_get(groups, "groups"));
    json_decref(groups);
    return out;
}
