/* directory/dir_settings.c — the writes of routing settings and calendar diverts, and the
 * change notice every directory write leaves for the routers (directory.h, docs/routing.md).
 * Validation happens here because it needs the directory: devices and colleagues must exist,
 * schedules in one profile may not overlap, and no divert may close a loop between users; a
 * rule an earlier one leaves no call to is saved with a warning. */
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "directory/dir_rules.h"
#include "directory/rule_check.h"
#include "common/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOOP_DEPTH 12

int rw_dir_changed(rw_redis_t *r, const char *user_id)
{
    redisReply *a = rw_redis_command(r, "HINCRBY rw:user:%s ver 1", user_id);
    redisReply *b = rw_redis_command(r, "RPUSH rw:dir:changes %s", user_id);
    int ok = a && b && a->type != REDIS_REPLY_ERROR && b->type != REDIS_REPLY_ERROR;
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return ok ? 0 : RW_EIO;
}

/* The stored settings JSON of a user (malloc'd, "" when none) or NULL on error. */
char *rw_dir_settings_get(rw_redis_t *r, const char *user_id)
{
    redisReply *rep = rw_redis_command(r, "HGET rw:user:%s settings", user_id);
    char *s = NULL;
    if (rep && (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_NIL))
        s = strdup(rep->type == REDIS_REPLY_STRING ? rep->str : "");
    if (rep)
        freeReplyObject(rep);
    return s;
}

/* Colleagues user_id diverts to through any rule of any profile or its calendar divert. */
static int targets_of(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const rw_settings_t *given, char out[][64], int max)
{
    static _Thread_local rw_settings_t s;   /* too big for the stack; one per thread (gateway) */
    char err[128];
    int n = 0;
    if (!given) {
        char *json = rw_dir_settings_get(r, user_id);
        int rc = json ? rw_rules_parse(json, plan, false, &s, err, sizeof err) : RW_EIO;
        free(json);
        if (rc < 0)
            return 0;
        given = &s;
    }
    for (int p = -1; p < given->n_profiles; p++) {
        const rw_rule_set_t *set = p < 0 ? &given->pinned : &given->profiles[p];
        for (int i = 0; i < set->n_rules && n < max; i++)
            if (set->rules[i].action == RW_ACT_DIVERT && set->rules[i].to.kind == RW_DEST_USER)
                snprintf(out[n++], 64, "%s", set->rules[i].to.ref);
    }
    redisReply *d = rw_redis_command(r, "HGET rw:divert:%s to", user_id);
    if (d && d->type == REDIS_REPLY_STRING && !strncmp(d->str, "user:", 5) && n < max)
        snprintf(out[n++], 64, "%s", d->str + 5);
    if (d)
        freeReplyObject(d);
    return n;
}

/* Depth-first from `from`: does a divert chain reach `origin`? path gets "a -> b -> ...". */
static bool reaches(rw_redis_t *r, const rw_numplan_t *plan, const char *from, const char *origin,
                    int depth, char *path, size_t len)
{
    char next[16][64];
    size_t at = strlen(path);
    snprintf(path + at, len - at, " -> %.63s", from);
    if (!strcmp(from, origin))
        return true;
    if (depth >= MAX_LOOP_DEPTH)
        return false;
    int n = targets_of(r, plan, from, NULL, next, 16);
    for (int i = 0; i < n; i++)
        if (reaches(r, plan, next[i], origin, depth + 1, path, len))
            return true;
    path[at] = '\0';
    return false;
}

int rw_dir_check_loop(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const rw_settings_t *s, const char *extra_target, char *err, size_t len)
{
    char first[17][64], path[512];
    int n = targets_of(r, plan, user_id, s, first, 16);
    if (extra_target)
        snprintf(first[n++], 64, "%s", extra_target);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s", user_id);
        if (reaches(r, plan, first[i], user_id, 0, path, sizeof path))
            return snprintf(err, len, "this would close a divert loop: %s", path), RW_EINVAL;
    }
    return 0;
}

static bool has_device(rw_redis_t *r, const char *user_id, const char *device_id)
{
    redisReply *e = rw_redis_command(r, "HEXISTS rw:user:%s:devices %s", user_id, device_id);
    long long ok = e && e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
    if (e)
        freeReplyObject(e);
    return ok != 0;
}

static int check_set(rw_redis_t *r, const char *user_id, const rw_rule_set_t *set, char *err, size_t len)
{
    for (int i = 0; i < set->n_rules; i++) {
        const rw_rule_t *a = &set->rules[i];
        for (int j = 0; j < a->n_ring; j++)
            if (!has_device(r, user_id, a->ring[j].device))
                return snprintf(err, len, "%s: rule '%s' rings device '%s' which does not exist",
                                set->name, a->name, a->ring[j].device), RW_EINVAL;
        if (a->action == RW_ACT_DIVERT && a->to.kind == RW_DEST_DEVICE && !has_device(r, user_id, a->to.ref))
            return snprintf(err, len, "%s: rule '%s' diverts to device '%s' which does not exist",
                            set->name, a->name, a->to.ref), RW_EINVAL;
        for (int j = 0; j < i; j++)
            if (rw_rule_check_overlap(a, &set->rules[j]))
                return snprintf(err, len, "%s: schedules of rules '%s' and '%s' overlap", set->name,
                                set->rules[j].name, a->name), RW_EINVAL;
    }
    return 0;
}

/* Adds "ext" to every divert to a colleague (the router needs it) and checks they exist. */
static int annotate_users(rw_redis_t *r, json_t *rules, char *err, size_t len)
{
    json_t *jr;
    size_t i;
    json_array_foreach(rules, i, jr) {
        const char *to = json_string_value(json_object_get(jr, "to"));
        rw_dir_user_t u;
        if (!to || strncmp(to, "user:", 5))
            continue;
        if (rw_dir_user_get(r, to + 5, &u) < 0)
            return snprintf(err, len, "rule diverts to unknown user '%s'", to + 5), RW_EINVAL;
        json_object_set_new(jr, "ext", json_string(u.ext));
    }
    return 0;
}

static int annotate(rw_redis_t *r, json_t *root, char *err, size_t len)
{
    const char *name;
    json_t *arr;
    if (json_is_array(json_object_get(root, "pinned")) &&
        annotate_users(r, json_object_get(root, "pinned"), err, len) < 0)
        return RW_EINVAL;
    json_object_foreach(json_object_get(root, "profiles"), name, arr)
        if (json_is_array(arr) && annotate_users(r, arr, err, len) < 0)
            return RW_EINVAL;
    return 0;
}

/* Writes settings, bumps `ver` and leaves the change notice in one step, only while `ver` is
 * still `expected` (NULL: whatever it is). `ver` counts every write to the user, devices
 * included, so a rule checked against devices that changed since is checked again. */
static const char cas_lua[] =
    "if ARGV[1] == '1' and (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[2] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'settings', ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[1], 'ver', 1)\n"
    "redis.call('RPUSH', KEYS[2], ARGV[4])\n"
    "return 1\n";

/* rw_dir_settings_put_json(), or RW_EAGAIN when the user's `ver` is no longer `expected`. */
static int put_checked(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, json_t *root,
                       const char *expected, char *err, size_t len)
{
    static _Thread_local rw_settings_t s;
    rw_dir_user_t u;
    int rc = rw_dir_user_get(r, user_id, &u);
    if (rc < 0)
        return snprintf(err, len, rc == RW_ENOTFOUND ? "unknown user '%s'" : "redis unreachable (%s)",
                        user_id), rc;
    if (annotate(r, root, err, len) < 0)
        return RW_EINVAL;
    char *json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json)
        return snprintf(err, len, "settings cannot be written"), RW_ENOMEM;
    rc = rw_rules_parse(json, plan, false, &s, err, len);
    if (rc == 0)
        rc = rw_rule_check_self(&s, user_id, u.number, err, len);
    for (int p = -1; rc == 0 && p < s.n_profiles; p++)
        rc = check_set(r, user_id, p < 0 ? &s.pinned : &s.profiles[p], err, len);
    if (rc == 0)
        rc = rw_dir_check_loop(r, plan, user_id, &s, NULL, err, len);
    if (rc == 0) {
        redisReply *rep = rw_redis_command(r, "EVAL %s 2 rw:user:%s rw:dir:changes %s %s %s %s", cas_lua,
                                           user_id, expected ? "1" : "0", expected ? expected : "", json,
                                           user_id);
        rc = !rep || rep->type != REDIS_REPLY_INTEGER ? RW_EIO : rep->integer == 0 ? RW_EAGAIN : 0;
        if (rep)
            freeReplyObject(rep);
        if (rc == RW_EIO)
            snprintf(err, len, "redis write failed");
        else if (rc == 0)
            rw_rule_check_dead(&s, err, len);
    }
    free(json);
    return rc;
}

int rw_dir_settings_put_json(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                             json_t *root, char *err, size_t len)
{
    return put_checked(r, plan, user_id, root, NULL, err, len);
}

int rw_dir_settings_put_if(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, json_t *root,
                           const char *expected_ver, char *err, size_t len)
{
    int rc = put_checked(r, plan, user_id, root, expected_ver, err, len);
    if (rc == RW_EAGAIN)
        snprintf(err, len, "the settings of '%s' were changed by someone else since version %s: "
                 "reload them and make your change again", user_id, expected_ver ? expected_ver : "?");
    return rc;
}

/* Read, edit, write back only if nobody wrote to the user in between (else read again): two
 * operators, or an operator and a tool, changing the same user at once both keep their change. */
typedef int edit_fn(json_t *root, const void *arg, char *err, size_t len);

static int update(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, edit_fn *edit,
                  const void *arg, char *err, size_t len)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        redisReply *rep = rw_redis_command(r, "HMGET rw:user:%s settings ver", user_id);
        json_t *root = NULL;
        char ver[24] = "0";
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
            redisReply *st = rep->element[0], *v = rep->element[1];
            root = st->type == REDIS_REPLY_STRING && st->len ? json_loads(st->str, 0, NULL) : json_object();
            if (v->type == REDIS_REPLY_STRING)
                snprintf(ver, sizeof ver, "%s", v->str);
        }
        if (rep)
            freeReplyObject(rep);
        int rc = root ? edit(root, arg, err, len) : (snprintf(err, len, "redis unreachable"), RW_EIO);
        if (rc == 0)
            rc = put_checked(r, plan, user_id, root, ver, err, len);
        json_decref(root);
        if (rc != RW_EAGAIN)
            return rc;
    }
    return snprintf(err, len, "the settings of '%s' kept changing while saving: try again", user_id), RW_EAGAIN;
}

int rw_dir_settings_put(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                        const char *json, char *err, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return snprintf(err, len, "settings: %d:%d: %s", jerr.line, jerr.column,
                        root ? "must be an object" : jerr.text), RW_EINVAL;
    }
    int rc = rw_dir_settings_put_json(r, plan, user_id, root, err, len);
    json_decref(root);
    return rc;
}

typedef struct {
    const char *profile, *rule_json, *name, *user;
} rule_arg_t;

static int rule_set_edit(json_t *root, const void *arg, char *err, size_t len)
{
    const rule_arg_t *a = arg;
    json_t *rule = json_loads(a->rule_json, 0, NULL), *arr, *old;
    const char *name = json_string_value(json_object_get(rule, "name"));
    if (!json_is_object(rule) || !name) {
        json_decref(rule);
        return snprintf(err, len, "a rule is a JSON object with a \"name\""), RW_EINVAL;
    }
    if (!strcmp(a->profile, "pinned")) {
        if (!(arr = json_object_get(root, "pinned")))
            json_object_set_new(root, "pinned", arr = json_array());
    } else {
        json_t *profiles = json_object_get(root, "profiles");
        if (!profiles)
            json_object_set_new(root, "profiles", profiles = json_object());
        if (!(arr = json_object_get(profiles, a->profile)))
            json_object_set_new(profiles, a->profile, arr = json_array());
        if (!json_object_get(root, "active"))
            json_object_set_new(root, "active", json_string(a->profile));
    }
    size_t i, at = json_array_size(arr);
    json_array_foreach(arr, i, old)
        if (!strcmp(json_string_value(json_object_get(old, "name")) ?: "", name))
            at = i;
    if (at < json_array_size(arr))
        json_array_set(arr, at, rule);
    else
        json_array_append(arr, rule);
    json_decref(rule);
    return 0;
}

int rw_dir_rule_set(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                    const char *profile, const char *rule_json, char *err, size_t len)
{
    rule_arg_t a = { .profile = profile, .rule_json = rule_json };
    return update(r, plan, user_id, rule_set_edit, &a, err, len);
}

static int rule_clear_edit(json_t *root, const void *arg, char *err, size_t len)
{
    const rule_arg_t *a = arg;
    json_t *arr = !strcmp(a->profile, "pinned") ? json_object_get(root, "pinned")
                  : json_object_get(json_object_get(root, "profiles"), a->profile);
    int rc = RW_ENOTFOUND;
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!a->name || !strcmp(json_string_value(json_object_get(json_array_get(arr, i), "name")) ?: "", a->name)) {
            json_array_remove(arr, i);
            rc = 0;
        }
    if (rc)
        snprintf(err, len, "no rule '%s' in %s", a->name ? a->name : "*", a->profile);
    return rc;
}

int rw_dir_rule_clear(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const char *profile, const char *name, char *err, size_t len)
{
    rule_arg_t a = { .profile = profile, .name = name };
    return update(r, plan, user_id, rule_clear_edit, &a, err, len);
}

static int switch_edit(json_t *root, const void *arg, char *err, size_t len)
{
    const rule_arg_t *a = arg;
    if (!json_object_get(json_object_get(root, "profiles"), a->profile))
        return snprintf(err, len, "user '%s' has no profile '%s'", a->user, a->profile), RW_ENOTFOUND;
    json_object_set_new(root, "active", json_string(a->profile));
    return 0;
}

int rw_dir_profile_switch(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                          const char *profile, char *err, size_t len)
{
    rule_arg_t a = { .profile = profile, .user = user_id };
    return update(r, plan, user_id, switch_edit, &a, err, len);
}

static int keep_edit(json_t *root, const void *arg, char *err, size_t len)
{
    (void) root, (void) arg, (void) err, (void) len;
    return 0;
}

int rw_dir_divert_set(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, const char *to,
                      uint64_t start_ms, uint64_t end_ms, char *err, size_t len)
{
    rw_rule_dest_t d;
    rw_dir_user_t u, col;
    char ext[16] = "";
    if (rw_dir_user_get(r, user_id, &u) < 0)
        return snprintf(err, len, "unknown user '%s'", user_id), RW_EINVAL;
    if (end_ms <= start_ms)
        return snprintf(err, len, "a divert must end after it starts"), RW_EINVAL;
    if (rw_rules_parse_dest(to, plan, &d) < 0)
        return snprintf(err, len, "'%s' is not a device, user:<id>, a number or voicemail", to), RW_EINVAL;
    if (rw_rule_check_self_dest(&d, user_id, u.number, "the calendar divert", err, len) < 0)
        return RW_EINVAL;
    if (d.kind == RW_DEST_DEVICE && !has_device(r, user_id, d.ref))
        return snprintf(err, len, "divert to device '%s' which does not exist", d.ref), RW_EINVAL;
    if (d.kind == RW_DEST_USER) {
        if (rw_dir_user_get(r, d.ref, &col) < 0)
            return snprintf(err, len, "unknown user '%s'", d.ref), RW_EINVAL;
        snprintf(ext, sizeof ext, "%s", col.ext);
        int rc = rw_dir_check_loop(r, plan, user_id, NULL, d.ref, err, len);
        if (rc < 0)
            return rc;
    }
    redisReply *a = rw_redis_command(r, "HSET rw:divert:%s start_ms %llu end_ms %llu to %s ext %s", user_id,
                                     (unsigned long long) start_ms, (unsigned long long) end_ms, to, ext);
    redisReply *b = rw_redis_command(r, "PEXPIREAT rw:divert:%s %llu", user_id, (unsigned long long) end_ms);
    int ok = a && b && a->type != REDIS_REPLY_ERROR && b->type != REDIS_REPLY_ERROR;
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    if (!ok)
        return snprintf(err, len, "redis write failed"), RW_EIO;
    return rw_dir_changed(r, user_id);
}

int rw_dir_divert_clear(rw_redis_t *r, const char *user_id)
{
    redisReply *a = rw_redis_command(r, "DEL rw:divert:%s", user_id);
    if (a)
        freeReplyObject(a);
    return a ? rw_dir_changed(r, user_id) : RW_EIO;
}

int rw_dir_device_rm(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                     const char *device_id, char *err, size_t len)
{
    static _Thread_local rw_settings_t s;
    char *json = rw_dir_settings_get(r, user_id);
    int rc = json ? rw_rules_parse(json, plan, false, &s, err, len) : RW_EIO;
    free(json);
    for (int p = -1; rc == 0 && p < s.n_profiles; p++) {
        const rw_rule_set_t *set = p < 0 ? &s.pinned : &s.profiles[p];
        for (int i = 0; i < set->n_rules; i++) {
            bool used = set->rules[i].to.kind == RW_DEST_DEVICE && !strcmp(set->rules[i].to.ref, device_id);
            for (int j = 0; j < set->rules[i].n_ring; j++)
                used |= !strcmp(set->rules[i].ring[j].device, device_id);
            if (used)
                return snprintf(err, len, "device '%s' is used by rule '%s' (%s): change the rule first",
                                device_id, set->rules[i].name, set->name), RW_EEXIST;
        }
    }
    if (rc < 0)
        return rc;
    redisReply *a = rw_redis_command(r, "HGET rw:divert:%s to", user_id);
    bool diverted = a && a->type == REDIS_REPLY_STRING && !strcmp(a->str, device_id);
    if (a)
        freeReplyObject(a);
    if (diverted)
        return snprintf(err, len, "device '%s' is the calendar divert's destination: clear it first",
                        device_id), RW_EEXIST;
    a = rw_redis_command(r, "HDEL rw:user:%s:devices %s", user_id, device_id);
    rc = a && a->type == REDIS_REPLY_INTEGER ? (a->integer ? 0 : RW_ENOTFOUND) : RW_EIO;
    if (a)
        freeReplyObject(a);
    if (rc == RW_ENOTFOUND)
        return snprintf(err, len, "user '%s' has no device '%s'", user_id, device_id), rc;
    return rc < 0 ? rc : rw_dir_changed(r, user_id);
}

/* Every other user whose rules or calendar divert send calls to user_id, in one script run. */
static const char referrers_lua[] =
    "local id, out = ARGV[1], {}\n"
    "local needle = '\"user:' .. id .. '\"'\n"
    "for _, u in ipairs(redis.call('SMEMBERS', 'rw:users')) do\n"
    "  if u ~= id then\n"
    "    local s = redis.call('HGET', 'rw:user:' .. u, 'settings')\n"
    "    if s and string.find(s, needle, 1, true) then out[#out + 1] = u end\n"
    "    if redis.call('HGET', 'rw:divert:' .. u, 'to') == 'user:' .. id then\n"
    "      out[#out + 1] = u .. ' (calendar divert)' end\n"
    "  end\n"
    "end\n"
    "table.sort(out)\n"
    "return out\n";

/* RW_EINVAL naming the users who still divert to user_id; 0 when nobody does. */
static int check_referrers(rw_redis_t *r, const char *user_id, char *err, size_t len)
{
    redisReply *a = rw_redis_command(r, "EVAL %s 0 %s", referrers_lua, user_id);
    if (!a || a->type != REDIS_REPLY_ARRAY) {
        if (a)
            freeReplyObject(a);
        return snprintf(err, len, "redis unreachable (%s)", user_id), RW_EIO;
    }
    int rc = 0;
    if (a->elements) {
        size_t n = (size_t) snprintf(err, len, "user '%s' is still a divert target of", user_id);
        for (size_t i = 0; i < a->elements && n < len; i++)
            n += (size_t) snprintf(err + n, len - n, "%s %s", i ? "," : "",
                                  a->element[i]->str ? a->element[i]->str : "?");
        if (n < len)
            snprintf(err + n, len - n, "; change their rules first");
        rc = RW_EINVAL;
    }
    freeReplyObject(a);
    return rc;
}

/* Sets the calendar divert's "ext" only while the divert exists (it expires by itself). */
static const char divert_ext_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'ext', ARGV[1]) end\n"
    "return 0\n";

/* Rewrites one referrer: its settings are saved again (which stores every colleague's current
 * extension with the rule), or its calendar divert gets ext. */
static int refresh_one(rw_redis_t *r, const rw_numplan_t *plan, const char *who, const char *ext,
                       char *err, size_t len)
{
    char id[64];
    const char *cal = strstr(who, " (calendar divert)");
    snprintf(id, sizeof id, "%.*s", (int) (cal ? (size_t) (cal - who) : strlen(who)), who);
    if (cal) {
        redisReply *a = rw_redis_command(r, "EVAL %s 1 rw:divert:%s %s", divert_ext_lua, id, ext);
        int ok = a && a->type != REDIS_REPLY_ERROR;
        if (a)
            freeReplyObject(a);
        return ok ? rw_dir_changed(r, id) : RW_EIO;
    }
    return update(r, plan, id, keep_edit, NULL, err, len);   /* saving refreshes the stored ext */
}

int rw_dir_refresh_referrers(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                             const char *ext, char *err, size_t len)
{
    char why[256] = "redis unreachable";
    redisReply *a = rw_redis_command(r, "EVAL %s 0 %s", referrers_lua, user_id);
    int rc = a && a->type == REDIS_REPLY_ARRAY ? 0 : RW_EIO;
    for (size_t i = 0; rc == 0 && i < a->elements; i++) {
        const char *who = a->element[i]->type == REDIS_REPLY_STRING ? a->element[i]->str : "";
        if ((rc = refresh_one(r, plan, who, ext, why, sizeof why)) < 0)
            snprintf(err, len, "'%s' saved, but %s still dials the old extension: %s", user_id, who, why);
    }
    if (rc < 0 && !(a && a->type == REDIS_REPLY_ARRAY))
        snprintf(err, len, "'%s' saved, but its colleagues' rules could not be read: %s", user_id, why);
    if (a)
        freeReplyObject(a);
    return rc;
}

int rw_dir_user_rm(rw_redis_t *r, const char *user_id, char *err, size_t len)
{
    rw_dir_user_t u;
    int rc = rw_dir_user_get(r, user_id, &u);
    if (rc < 0)
        return snprintf(err, len, "unknown user '%s'", user_id), rc;
    if ((rc = check_referrers(r, user_id, err, len)) < 0 || (rc = rw_dir_groups_of_member(r, user_id, err, len)) < 0)
        return rc;
    const char *cmds[] = { "DEL rw:num:%s", "DEL rw:num:%s", "DEL rw:user:%s", "DEL rw:user:%s:devices",
                           "DEL rw:divert:%s", "DEL rw:fallback:%s", "SREM rw:users %s" };
    const char *args[] = { u.ext, u.number, user_id, user_id, user_id, user_id, user_id };
    for (int i = 0; i < 7; i++) {
        if (!args[i][0])
            continue;
        redisReply *a = rw_redis_command(r, cmds[i], args[i]);
        if (!a)
            return snprintf(err, len, "redis write failed"), RW_EIO;
        freeReplyObject(a);
    }
    redisReply *a = rw_redis_command(r, "RPUSH rw:dir:changes %s", user_id);
    if (a)
        freeReplyObject(a);
    return 0;
}
