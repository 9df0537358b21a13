/* directory/directory.c — users and devices in Redis, schema 1 (see directory.h and
 * docs/directory.md). Writes go in one MULTI/EXEC per entry so a reader never sees half a user. */
#include "directory/directory.h"
#include "common/err.h"

#include <jansson.h>
#include <nettle/sha2.h>
#include <sofia-sip/su_md5.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void rw_dir_ha1(const char *user, const char *realm, const char *password, char out[33])
{
    su_md5_t md5;
    su_md5_init(&md5);
    su_md5_strupdate(&md5, user);
    su_md5_update(&md5, ":", 1);
    su_md5_strupdate(&md5, realm);
    su_md5_update(&md5, ":", 1);
    su_md5_strupdate(&md5, password);
    su_md5_hexdigest(&md5, out);
    su_md5_deinit(&md5);
}

void rw_dir_ha1_sha256(const char *user, const char *realm, const char *password, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(user), (const uint8_t *) user);
    sha256_update(&ctx, 1, (const uint8_t *) ":");
    sha256_update(&ctx, strlen(realm), (const uint8_t *) realm);
    sha256_update(&ctx, 1, (const uint8_t *) ":");
    sha256_update(&ctx, strlen(password), (const uint8_t *) password);
    sha256_digest(&ctx, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool rw_dir_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

bool rw_dir_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Who holds index key rw:num:<num>? 0 with owner[0] == 0 when nobody. */
static int num_owner(rw_redis_t *r, const char *num, char *owner, size_t len)
{
    redisReply *rep = rw_redis_command(r, "GET rw:num:%s", num);
    owner[0] = '\0';
    if (!rep)
        return RW_EIO;
    if (rep->type == REDIS_REPLY_STRING)
        snprintf(owner, len, "%s", rep->str);
    int rc = rep->type == REDIS_REPLY_ERROR ? RW_EIO : 0;
    freeReplyObject(rep);
    return rc;
}

int rw_dir_zone_exists(const char *tz)
{
    char path[128];
    if (!tz || !tz[0] || strstr(tz, "..") || tz[0] == '/' || strlen(tz) > 60)
        return 0;
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return access(path, R_OK) == 0;
}

static int check_user(rw_redis_t *r, const rw_numplan_t *plan, rw_dir_user_t *u, char *err, size_t len)
{
    char norm[32], owner[64];
    rw_num_kind_t kind;
    if (!rw_dir_valid_id(u->id))
        return snprintf(err, len, "id '%s' must be 1-63 of a-z 0-9 . _ -", u->id), RW_EINVAL;
    if (rw_e164_normalise(plan, u->ext, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_EXTENSION)
        return snprintf(err, len, "ext '%s' is not an internal extension", u->ext), RW_EINVAL;
    if (u->number[0]) {
        if (rw_e164_normalise(plan, u->number, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_E164)
            return snprintf(err, len, "number '%s' is not a valid public number", u->number), RW_EINVAL;
        if (strlen(norm) >= sizeof u->number)
            return snprintf(err, len, "number '%s' is too long", u->number), RW_EINVAL;
        memcpy(u->number, norm, strlen(norm) + 1);
    }
    if (!rw_dir_printable(u->name) || !rw_dir_printable(u->site) || !rw_dir_printable(u->tz) || !rw_dir_valid_id(u->realm))
        return snprintf(err, len, "name, site, tz or realm holds control characters"), RW_EINVAL;
    /* the router would read an unknown zone as UTC: schedules an hour or more off, silently */
    if (u->tz[0] && !rw_dir_zone_exists(u->tz))
        return snprintf(err, len, "tz '%s' is not a time zone (an IANA name like Europe/London)", u->tz),
               RW_EINVAL;
    const char *keys[2] = { u->ext, u->number };
    for (int i = 0; i < 2; i++) {
        if (!keys[i][0])
            continue;
        int rc = num_owner(r, keys[i], owner, sizeof owner);
        if (rc < 0)
            return snprintf(err, len, "redis unreachable"), rc;
        if (owner[0] && strcmp(owner, u->id) != 0)
            return snprintf(err, len, "%s already belongs to user '%s'", keys[i], owner), RW_EEXIST;
    }
    return 0;
}

static int exec_ok(rw_redis_t *r)
{
    redisReply *rep = rw_redis_command(r, "EXEC");
    int ok = rep && rep->type == REDIS_REPLY_ARRAY;
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : RW_EIO;
}

static int reply_ok(redisReply *rep)   /* frees rep */
{
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : RW_EIO;
}

int rw_dir_user_put(rw_redis_t *r, const rw_numplan_t *plan, rw_dir_user_t *u,
                    const char *password, char *err, size_t len)
{
    int rc = check_user(r, plan, u, err, len);
    if (rc < 0)
        return rc;
    if (password)
        rw_dir_ha1(u->ext, u->realm, password, u->ha1);
    rw_dir_user_t old;
    bool had = rw_dir_user_get(r, u->id, &old) == 0;
    rc = reply_ok(rw_redis_command(r, "MULTI"));
    if (had && strcmp(old.ext, u->ext))
        rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", old.ext));
    if (had && old.number[0] && strcmp(old.number, u->number))
        rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", old.number));
    rc |= reply_ok(rw_redis_command(r, "SET rw:dir:schema %d", RW_DIR_SCHEMA));
    rc |= reply_ok(rw_redis_command(r, "SADD rw:users %s", u->id));
    rc |= reply_ok(rw_redis_command(r, "HSET rw:user:%s id %s ext %s number %s name %s site %s tz %s realm %s ha1 %s",
                                     u->id, u->id, u->ext, u->number, u->name, u->site, u->tz, u->realm, u->ha1));
    if (password) {                   /* RFC 7616 SHA-256 digest; only from a password */
        char ha1_sha256[65];
        rw_dir_ha1_sha256(u->ext, u->realm, password, ha1_sha256);
        rc |= reply_ok(rw_redis_command(r, "HSET rw:user:%s ha1_sha256 %s", u->id, ha1_sha256));
    } else if (!had || strcmp(old.ha1, u->ha1) || strcmp(old.ext, u->ext) || strcmp(old.realm, u->realm)) {
        /* A new MD5 credential (or its user name or realm) makes the SHA-256 one stale; a
         * change of name or number alone keeps both, so phones using SHA-256 still register. */
        rc |= reply_ok(rw_redis_command(r, "HDEL rw:user:%s ha1_sha256", u->id));
    }
    rc |= reply_ok(rw_redis_command(r, "SET rw:num:%s %s", u->ext, u->id));
    if (u->number[0])
        rc |= reply_ok(rw_redis_command(r, "SET rw:num:%s %s", u->number, u->id));
    /* EXEC always: a command refused while queuing makes Redis abort the whole transaction,
     * and the connection never stays inside a MULTI. */
    if (exec_ok(r) < 0 || rc)
        return snprintf(err, len, "redis write failed"), RW_EIO;
    rc = rw_dir_changed(r, u->id);
    if (rc == 0 && had && strcmp(old.ext, u->ext))   /* colleagues divert to the extension */
        rc = rw_dir_refresh_referrers(r, plan, u->id, u->ext, err, len);
    return rc;
}

int rw_dir_device_put(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const char *device_id, const char *kind, const char *address,
                      char *err, size_t len)
{
    char norm[32], value[300];
    rw_num_kind_t nk;
    rw_dir_user_t u;
    if (!rw_dir_valid_id(device_id))
        return snprintf(err, len, "device id '%s' must be 1-63 of a-z 0-9 . _ -", device_id), RW_EINVAL;
    int rc = rw_dir_user_get(r, user_id, &u);
    if (rc == RW_ENOTFOUND)
        return snprintf(err, len, "unknown user '%s'", user_id), rc;
    if (rc < 0)
        return snprintf(err, len, "redis unreachable"), rc;
    if (!strcmp(kind, "sip")) {
        if (address[0] && (strncmp(address, "sip:", 4) || !rw_dir_printable(address) || strchr(address, ' ')))
            return snprintf(err, len, "device '%s': '%s' is not a sip: address", device_id, address), RW_EINVAL;
        snprintf(value, sizeof value, "sip %s", address[0] ? address : "");
    } else if (!strcmp(kind, "number")) {
        if (rw_e164_normalise(plan, address, norm, sizeof norm, &nk) < 0 || nk != RW_NUM_E164)
            return snprintf(err, len, "device '%s': '%s' is not a valid number", device_id, address), RW_EINVAL;
        snprintf(value, sizeof value, "number %s", norm);
    } else if (!strcmp(kind, "voicemail")) {
        snprintf(value, sizeof value, "voicemail %s", u.id);
    } else {
        return snprintf(err, len, "device '%s': kind must be sip, number or voicemail", device_id), RW_EINVAL;
    }
    if (reply_ok(rw_redis_command(r, "HSET rw:user:%s:devices %s %s", user_id, device_id, value)) < 0)
        return snprintf(err, len, "redis write failed"), RW_EIO;
    return rw_dir_changed(r, user_id);
}

static void field(redisReply *rep, size_t i, char *out, size_t len)
{
    out[0] = '\0';
    if (i < rep->elements && rep->element[i]->type == REDIS_REPLY_STRING)
        snprintf(out, len, "%s", rep->element[i]->str);
}

int rw_dir_user_get(rw_redis_t *r, const char *id, rw_dir_user_t *u)
{
    memset(u, 0, sizeof *u);
    redisReply *rep = rw_redis_command(r, "HMGET rw:user:%s id ext number name site tz realm ha1", id);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return RW_EIO;
    }
    field(rep, 0, u->id, sizeof u->id);
    field(rep, 1, u->ext, sizeof u->ext);
    field(rep, 2, u->number, sizeof u->number);
    field(rep, 3, u->name, sizeof u->name);
    field(rep, 4, u->site, sizeof u->site);
    field(rep, 5, u->tz, sizeof u->tz);
    field(rep, 6, u->realm, sizeof u->realm);
    field(rep, 7, u->ha1, sizeof u->ha1);
    freeReplyObject(rep);
    return u->id[0] ? 0 : RW_ENOTFOUND;
}

static const char *jstr(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static int copy(char *dst, size_t len, const char *src, const char *what, char *err, size_t elen)
{
    if (strlen(src) >= len)
        return snprintf(err, elen, "%s is longer than %zu characters", what, len - 1), RW_ERANGE;
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int import_user(rw_redis_t *r, const rw_numplan_t *plan, json_t *ju, const char *realm,
                       char *err, size_t len)
{
    rw_dir_user_t u;
    memset(&u, 0, sizeof u);
    if (!json_is_object(ju))
        return snprintf(err, len, "not an object"), RW_EINVAL;
    const char *pw = jstr(ju, "password", NULL);
    if (copy(u.id, sizeof u.id, jstr(ju, "id", ""), "id", err, len) ||
        copy(u.ext, sizeof u.ext, jstr(ju, "ext", ""), "ext", err, len) ||
        copy(u.number, sizeof u.number, jstr(ju, "number", ""), "number", err, len) ||
        copy(u.name, sizeof u.name, jstr(ju, "name", ""), "name", err, len) ||
        copy(u.site, sizeof u.site, jstr(ju, "site", ""), "site", err, len) ||
        copy(u.tz, sizeof u.tz, jstr(ju, "tz", "Europe/London"), "tz", err, len) ||
        copy(u.realm, sizeof u.realm, realm, "realm", err, len) ||
        copy(u.ha1, sizeof u.ha1, jstr(ju, "ha1", ""), "ha1", err, len))
        return RW_EINVAL;
    if (!pw && strlen(u.ha1) != 32)
        return snprintf(err, len, "needs a password or a 32-hex-digit ha1"), RW_EINVAL;
    int rc = rw_dir_user_put(r, plan, &u, pw, err, len);
    if (rc < 0)
        return rc;
    json_t *devs = json_object_get(ju, "devices"), *d;
    size_t i;
    json_array_foreach(devs, i, d) {
        char derr[256];
        rc = rw_dir_device_put(r, plan, u.id, jstr(d, "id", ""), jstr(d, "kind", ""),
                               jstr(d, "address", ""), derr, sizeof derr);
        if (rc < 0)
            return snprintf(err, len, "devices[%zu]: %s", i, derr), rc;
    }
    return 0;
}

/* Second pass: settings may divert to users later in the file. */
static int import_settings(rw_redis_t *r, const rw_numplan_t *plan, json_t *ju, char *err, size_t len)
{
    json_t *rules = json_object_get(ju, "rules");
    if (!rules)
        return 0;
    json_t *copy = json_deep_copy(rules);
    int rc = copy ? rw_dir_settings_put_json(r, plan, jstr(ju, "id", ""), copy, err, len) : RW_ENOMEM;
    json_decref(copy);
    return rc;
}

static int import_trunks(rw_redis_t *r, json_t *trunks, char *err, size_t len, rw_dir_progress_fn *fn,
                         void *arg)
{
    json_t *t, *p;
    size_t i, k;
    json_array_foreach(trunks, i, t) {
        char prefixes[128] = "", terr[256];
        size_t at = 0;
        json_array_foreach(json_object_get(t, "prefixes"), k, p)
            if (json_is_string(p) && at < sizeof prefixes)
                at += (size_t) snprintf(prefixes + at, sizeof prefixes - at, "%s%s", k ? "," : "",
                                        json_string_value(p));
        int rc = rw_dir_trunk_put(r, jstr(t, "name", ""), prefixes,
                                  (int) json_integer_value(json_object_get(t, "order")),
                                  jstr(t, "address", ""), terr, sizeof terr);
        if (rc < 0)
            return snprintf(err, len, "trunks[%zu]: %s", i, terr), rc;
        if (fn)
            fn(arg, "trunks", i + 1, json_array_size(trunks));
    }
    return 0;
}

int rw_dir_import_file(rw_redis_t *r, const rw_numplan_t *plan, const char *path,
                       int *n_users, char *err, size_t len)
{
    return rw_dir_import_file_progress(r, plan, path, n_users, err, len, NULL, NULL);
}

int rw_dir_import_file_progress(rw_redis_t *r, const rw_numplan_t *plan, const char *path,
                                int *n_users, char *err, size_t len, rw_dir_progress_fn *fn,
                                void *arg)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    *n_users = 0;
    if (!root)
        return snprintf(err, len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text), RW_EINVAL;
    const char *realm = jstr(root, "realm", "ringway.local");
    json_t *users = json_object_get(root, "users"), *ju;
    size_t i;
    int rc = 0;
    if (!json_is_array(users)) {
        snprintf(err, len, "%s: \"users\" must be an array", path);
        rc = RW_EINVAL;
    }
    json_array_foreach(users, i, ju) {
        char uerr[400];
        rc = import_user(r, plan, ju, realm, uerr, sizeof uerr);
        if (rc < 0) {
            snprintf(err, len, "%s: users[%zu]: %s", path, i, uerr);
            break;
        }
        (*n_users)++;
        if (fn)
            fn(arg, "users", i + 1, json_array_size(users));
    }
    if (rc == 0)
        err[0] = '\0';
    json_array_foreach(rc == 0 ? users : NULL, i, ju) {
        char uerr[400] = "";
        rc = import_settings(r, plan, ju, uerr, sizeof uerr);
        if (rc < 0 || (uerr[0] && !err[0]))   /* an error, or the first warning */
            snprintf(err, len, "%s: users[%zu].rules: %s", path, i, uerr);
        if (rc < 0)
            break;
        if (fn)
            fn(arg, "rules", i + 1, json_array_size(users));
    }
    if (rc == 0 && (rc = import_trunks(r, json_object_get(root, "trunks"), err, len, fn, arg)) < 0) {
        char tmp[400];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, len, "%s: %s", path, tmp);
    }
    json_decref(root);
    return rc;
}
