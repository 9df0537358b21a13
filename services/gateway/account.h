/* services/gateway/account.h — local accounts: people who log in to the gateway with a
 * password rather than through the organisation's OpenID Connect provider (the demo, small
 * sites). One Redis hash per account, rw:account:<name>, with an Argon2id hash of the password
 * (never the password), the directory user the person is, their extra roles and the hunt groups
 * they supervise; the set rw:accounts lists the names. Shared by the gateway (login) and the
 * `ringway account` commands. Blocking calls on the caller's connection. */
#ifndef RW_GW_ACCOUNT_H
#define RW_GW_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/redis.h"
#include "services/gateway/api.h"

#define GW_ACCOUNT_KEY "rw:account:"
#define GW_ACCOUNTS_SET "rw:accounts"
#define GW_HASH_MAX 160

typedef struct {
    char name[64];                       /* log-in name */
    char user[64];                       /* directory user ("" for none) */
    unsigned roles;                      /* GW_ROLE_* (staff always set) */
    char groups[GW_MAX_GROUPS][64];      /* supervised hunt groups */
    size_t n_groups;
    char hash[GW_HASH_MAX];              /* $argon2id$v=19$m=...,t=...,p=...$salt$hash */
    unsigned gen;                        /* raised by a password change: older tokens stop working */
} gw_account_t;

/* A name of 1..63 characters from [A-Za-z0-9._@-]. */
bool gw_account_valid_name(const char *name);

/* Argon2id of password with a random salt into out ("$argon2id$..."); 0, RW_EIO, RW_EINVAL. */
int gw_password_hash(const char *password, char *out, size_t out_len);
/* True when password matches the encoded hash. Takes the same time for any wrong password. */
bool gw_password_verify(const char *encoded, const char *password);

/* "admin,supervisor" -> bits (staff always added); RW_EINVAL naming the bad role in bad. */
int gw_roles_parse(const char *list, unsigned *roles, char *bad, size_t bad_len);
/* bits -> "staff,supervisor,admin" */
void gw_roles_format(unsigned roles, char *out, size_t len);
/* "helpdesk,sales" -> a->groups; RW_ERANGE beyond GW_MAX_GROUPS or a name over 63 bytes. */
int gw_groups_parse(const char *list, gw_account_t *a);

/* 0, RW_ENOTFOUND, RW_EIO (Redis unreachable). */
int gw_account_get(rw_redis_t *redis, const char *name, gw_account_t *a);
/* Writes every field (and adds the name to rw:accounts); 0 or RW_EIO. */
int gw_account_put(rw_redis_t *redis, const gw_account_t *a);
/* 0, RW_ENOTFOUND, RW_EIO. */
int gw_account_del(rw_redis_t *redis, const char *name);

#endif
