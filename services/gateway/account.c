/* services/gateway/account.c — local accounts in Redis and their Argon2id password hashes
 * (see account.h). The cost (19 MiB, 2 passes, 1 lane) is the first of OWASP's recommended
 * Argon2id settings; a hash carries its own parameters, so raising them later leaves older
 * hashes verifiable. */
#include "services/gateway/account.h"
#include "common/err.h"

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define HASH_T_COST 2
#define HASH_M_COST_KIB 19456
#define HASH_LANES 1
#define SALT_LEN 16
#define TAG_LEN 32

bool gw_account_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

int gw_password_hash(const char *password, char *out, size_t out_len)
{
    unsigned char salt[SALT_LEN];
    if (!password || !out)
        return RW_EINVAL;
    if (getrandom(salt, sizeof salt, 0) != (ssize_t) sizeof salt)
        return RW_EIO;
    if (argon2_encodedlen(HASH_T_COST, HASH_M_COST_KIB, HASH_LANES, SALT_LEN, TAG_LEN, Argon2_id) > out_len)
        return RW_ERANGE;
    int rc = argon2id_hash_encoded(HASH_T_COST, HASH_M_COST_KIB, HASH_LANES, password, strlen(password),
                                   salt, sizeof salt, TAG_LEN, out, out_len);
    return rc == ARGON2_OK ? 0 : RW_EIO;
}

bool gw_password_verify(const char *encoded, const char *password)
{
    if (!encoded || !password || strncmp(encoded, "$argon2id$", 10) != 0)
        return false;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

static const struct { const char *name; unsigned bit; } role_names[] = {
    { "staff", GW_ROLE_STAFF }, { "supervisor", GW_ROLE_SUPERVISOR }, { "admin", GW_ROLE_ADMIN },
};

int gw_roles_parse(const char *list, unsigned *roles, char *bad, size_t bad_len)
{
    *roles = GW_ROLE_STAFF;
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t i;
        for (i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
            if (strlen(role_names[i].name) == n && !strncmp(p, role_names[i].name, n))
                break;
        if (n > 0 && i == sizeof role_names / sizeof role_names[0]) {
            if (bad)
                snprintf(bad, bad_len, "%.*s", (int) (n > 40 ? 40 : n), p);
            return RW_EINVAL;
        }
        if (n > 0)
            *roles |= role_names[i].bit;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void gw_roles_format(unsigned roles, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        if (!(roles & role_names[i].bit))
            continue;
        int n = snprintf(out + used, len - used, "%s%s", used ? "," : "", role_names[i].name);
        if (n < 0 || (size_t) n >= len - used)
            return;
        used += (size_t) n;
    }
}

int gw_groups_parse(const char *list, gw_account_t *a)
{
    const char *p = list ? list : "";
    a->n_groups = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            if (a->n_groups == GW_MAX_GROUPS || n >= sizeof a->groups[0])
                return RW_ERANGE;
            memcpy(a->groups[a->n_groups], p, n);
            a->groups[a->n_groups++][n] = '\0';
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void copy_field(char *dst, size_t len, const redisReply *v)
{
    snprintf(dst, len, "%.*s", v->type == REDIS_REPLY_STRING ? (int) v->len : 0,
             v->type == REDIS_REPLY_STRING ? v->str : "");
}

int gw_account_get(rw_redis_t *redis, const char *name, gw_account_t *a)
{
    memset(a, 0, sizeof *a);
    if (!gw_account_valid_name(name))
        return RW_ENOTFOUND;
    redisReply *r = rw_redis_command(redis, "HMGET " GW_ACCOUNT_KEY "%s hash user roles groups gen", name);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
        if (r)
            freeReplyObject(r);
        return RW_EIO;
    }
    int rc = RW_ENOTFOUND;
    if (r->element[0]->type == REDIS_REPLY_STRING) {
        char roles[64], groups[GW_MAX_GROUPS * 64], gen[16];
        snprintf(a->name, sizeof a->name, "%s", name);
        copy_field(a->hash, sizeof a->hash, r->element[0]);
        copy_field(a->user, sizeof a->user, r->element[1]);
        copy_field(roles, sizeof roles, r->element[2]);
        copy_field(groups, sizeof groups, r->element[3]);
        copy_field(gen, sizeof gen, r->element[4]);
        if (gw_roles_parse(roles, &a->roles, NULL, 0) < 0)
            a->roles = GW_ROLE_STAFF;       /* an unknown role grants nothing */
        gw_groups_parse(groups, a);
        a->gen = (unsigned) strtoul(gen, NULL, 10);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int gw_account_put(rw_redis_t *redis, const gw_account_t *a)
{
    char key[96], roles[64], groups[GW_MAX_GROUPS * 64] = "", gen[16];
    size_t used = 0;
    snprintf(key, sizeof key, GW_ACCOUNT_KEY "%s", a->name);
    gw_roles_format(a->roles, roles, sizeof roles);
    for (size_t i = 0; i < a->n_groups; i++)
        used += (size_t) snprintf(groups + used, sizeof groups - used, "%s%s", i ? "," : "", a->groups[i]);
    snprintf(gen, sizeof gen, "%u", a->gen);
    const char *argv[] = { "HSET", key, "hash", a->hash, "user", a->user, "roles", roles,
                           "groups", groups, "gen", gen };
    redisReply *r = rw_redis_commandargv(redis, 12, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : RW_EIO;
    if (r)
        freeReplyObject(r);
    if (rc == 0) {
        r = rw_redis_command(redis, "SADD " GW_ACCOUNTS_SET " %s", a->name);
        rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : RW_EIO;
        if (r)
            freeReplyObject(r);
    }
    return rc;
}

int gw_account_del(rw_redis_t *redis, const char *name)
{
    if (!gw_account_valid_name(name))
        return RW_ENOTFOUND;
    redisReply *r = rw_redis_command(redis, "DEL " GW_ACCOUNT_KEY "%s", name);
    int rc = !r || r->type != REDIS_REPLY_INTEGER ? RW_EIO : r->integer == 1 ? 0 : RW_ENOTFOUND;
    if (r)
        freeReplyObject(r);
    r = rw_redis_command(redis, "SREM " GW_ACCOUNTS_SET " %s", name);
    if (r)
        freeReplyObject(r);
    return rc;
}
