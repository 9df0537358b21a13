/* directory/dir_trunks.c — the trunk table routers pick trunks for numbers from (directory.h):
 * rw:trunks maps a name to its prefixes, order and address; every write bumps rw:trunks:ver,
 * which each router compares on every decision and reloads the table when it moved. */
#include "directory/directory.h"
#include "common/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rw_dir_trunk_put(rw_redis_t *r, const char *name, const char *prefixes, int order,
                     const char *address, char *err, size_t len)
{
    char list[256];
    json_t *j = json_pack("{s:[],s:i,s:s}", "prefixes", "order", order, "address", address);
    snprintf(list, sizeof list, "%s", prefixes);
    int n = 0;
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save), n++) {
        if (p[0] != '+' || strlen(p) > 15 || strspn(p + 1, "0123456789") != strlen(p) - 1 || n == 4) {
            json_decref(j);
            return snprintf(err, len, "trunk prefixes are 1-4 comma-separated +digits, not '%s'", p), RW_EINVAL;
        }
        json_array_append_new(json_object_get(j, "prefixes"), json_string(p));
    }
    if (!name[0] || strlen(name) > 31 || strchr(name, ' ') || strncmp(address, "sip:", 4) || !n) {
        json_decref(j);
        return snprintf(err, len, "a trunk needs a name (1-31, no spaces), prefixes and a sip: address"),
               RW_EINVAL;
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    redisReply *a = s ? rw_redis_command(r, "HSET rw:trunks %s %s", name, s) : NULL;
    redisReply *b = a ? rw_redis_command(r, "INCR rw:trunks:ver") : NULL;
    int ok = a && b && a->type != REDIS_REPLY_ERROR;
    free(s);
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return ok ? 0 : (snprintf(err, len, "redis write failed"), RW_EIO);
}

int rw_dir_trunk_rm(rw_redis_t *r, const char *name, char *err, size_t len)
{
    redisReply *a = rw_redis_command(r, "HDEL rw:trunks %s", name);
    int rc = a && a->type == REDIS_REPLY_INTEGER ? (a->integer ? 0 : RW_ENOTFOUND) : RW_EIO;
    if (a)
        freeReplyObject(a);
    if (rc == 0 && (a = rw_redis_command(r, "INCR rw:trunks:ver")))
        freeReplyObject(a);
    if (rc < 0)
        snprintf(err, len, rc == RW_ENOTFOUND ? "no trunk '%s'" : "redis write failed (%s)", name);
    return rc;
}
