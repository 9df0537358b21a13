/* common/directory.h — Ringway's directory of users and devices in Redis (schema 1).
 * The key layout is documented in docs/directory.md; this module is the only writer of it.
 * Every write is validated first (ids, extensions, E.164 numbers, duplicates) and a bad entry
 * gets an error naming it; nothing is written for an entry that fails. Uses the blocking
 * Redis connection: for the CLI, the demo loader and start-up, never for the call path. */
#ifndef RW_DIRECTORY_H
#define RW_DIRECTORY_H

#include <stddef.h>
#include "common/redis.h"
#include "common/e164.h"

#define RW_DIR_SCHEMA 1

typedef struct {
    char id[64];          /* [a-z0-9._-], 1..63 chars */
    char ext[16];         /* internal extension, also the SIP digest user name */
    char number[24];      /* public number, E.164 with '+', may be "" */
    char name[128];
    char site[64];
    char tz[64];          /* IANA zone, "Europe/London" */
    char realm[64];       /* digest realm the HA1 was made for */
    char ha1[33];         /* hex MD5(ext:realm:password) */
} rw_dir_user_t;

/* HA1 for digest authentication: hex MD5 of "user:realm:password" into out[33]. */
void rw_dir_ha1(const char *user, const char *realm, const char *password, char out[33]);

/* Validate and store a user (replacing an existing one with the same id), its number index
 * and, when password is not NULL, its HA1. RW_EINVAL with a reason in err on bad input,
 * RW_EEXIST when the extension or number belongs to another user, RW_EIO when Redis fails. */
int rw_dir_user_put(rw_redis_t *r, const rw_numplan_t *plan, rw_dir_user_t *u,
                    const char *password, char *err, size_t err_len);
/* Device "kind uri": kind is "sip" (uri: the AOR, or "" for the user's own),
 * "number" (an E.164 number) or "voicemail". */
int rw_dir_device_put(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const char *device_id, const char *kind, const char *address,
                      char *err, size_t err_len);
/* Look a user up by id. RW_ENOTFOUND, RW_EIO. */
int rw_dir_user_get(rw_redis_t *r, const char *id, rw_dir_user_t *u);
/* Load a JSON directory file (format in docs/directory.md). On error names the entry
 * ("users[3].number: ...") and returns; entries before it stay written. *n_users counts. */
int rw_dir_import_file(rw_redis_t *r, const rw_numplan_t *plan, const char *path,
                       int *n_users, char *err, size_t err_len);

#endif
