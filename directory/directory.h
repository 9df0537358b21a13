/* directory/directory.h — Ringway's directory of users and devices in Redis (schema 1).
 * The key layout is documented in docs/directory.md; this module is the only writer of it.
 * Every write is validated first (ids, extensions, E.164 numbers, duplicates) and a bad entry
 * gets an error naming it; nothing is written for an entry that fails. Uses the blocking
 * Redis connection: for the CLI, the demo loader and start-up, never for the call path.
 * A write returns once the master has it; a caller that then tells a person it is saved calls
 * rw_redis_durable() on the same connection first (the CLI does, once per command). */
#ifndef RW_DIRECTORY_H
#define RW_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include "common/redis.h"
#include "common/e164.h"
#include "directory/dir_rules.h"
#include <jansson.h>

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
/* The same with SHA-256 (RFC 7616): hex SHA-256 of "user:realm:password" into out[65].
 * Stored as field ha1_sha256 when a user is written with a password. */
void rw_dir_ha1_sha256(const char *user, const char *realm, const char *password, char out[65]);

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
/* Whether an IANA zone name exists in the TZ database (/usr/share/zoneinfo): 1 or 0. */
int rw_dir_zone_exists(const char *tz);
/* The directory's id rule (users, devices, realms, groups, skills): 1-63 of a-z 0-9 . _ - */
bool rw_dir_valid_id(const char *s);
/* No control characters (names, sites, zones and other free text stored in the directory). */
bool rw_dir_printable(const char *s);
/* Look a user up by id. RW_ENOTFOUND, RW_EIO. */
int rw_dir_user_get(rw_redis_t *r, const char *id, rw_dir_user_t *u);
/* Load a JSON directory file (format in docs/directory.md). On error names the entry
 * ("users[3].number: ...") and returns; entries before it stay written. *n_users counts. On
 * success err holds "" or the first warning of a user's rules (rw_dir_settings_put). */
int rw_dir_import_file(rw_redis_t *r, const rw_numplan_t *plan, const char *path,
                       int *n_users, char *err, size_t err_len);
/* The same, calling fn (when not NULL) after each user of the "users" pass, each user of the
 * "rules" pass and each trunk ("trunks") with how many of how many are done. */
typedef void rw_dir_progress_fn(void *arg, const char *phase, size_t done, size_t total);
int rw_dir_import_file_progress(rw_redis_t *r, const rw_numplan_t *plan, const char *path,
                                int *n_users, char *err, size_t err_len, rw_dir_progress_fn *fn,
                                void *arg);

/* ---- routing settings, trunks, calendar diverts (directory/dir_settings.c, docs/routing.md) ----
 * Every successful write to a user also bumps `ver` in rw:user:<id> and appends the id to the
 * list rw:dir:changes, from which routers announce the change once (directory.changed; a change
 * a router took and could not announce is taken again, docs/routing.md "Change notices"). The
 * fallback needs none of it: sip-edge evaluates the settings at call time. */
int rw_dir_changed(rw_redis_t *r, const char *user_id);
/* The stored settings JSON (malloc'd, "" when none), NULL when Redis fails. */
char *rw_dir_settings_get(rw_redis_t *r, const char *user_id);
/* Validate and store a user's whole settings (format: docs/routing.md). RW_EINVAL names the
 * problem: syntax, a missing device or colleague, overlapping schedules, or a divert loop
 * ("this would close a divert loop: alice -> bob -> alice"). On success err holds "" or a
 * warning ("warning: home: rule 'night' can never apply: ..."); the rule_set, rule_clear and
 * profile_switch calls below, which store through this one, pass it on. */
int rw_dir_settings_put(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                        const char *json, char *err, size_t err_len);
int rw_dir_settings_put_json(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                             json_t *root, char *err, size_t err_len);
/* The same, only while the user's `ver` is still expected_ver (the version the editor read;
 * NULL: whatever it is): RW_EAGAIN with a sentence in err when someone wrote to the user since,
 * and nothing is written. What an editor holding a version uses (the gateway's If-Match). */
int rw_dir_settings_put_if(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, json_t *root,
                           const char *expected_ver, char *err, size_t err_len);
/* Add or replace (by "name") one rule of a profile, or of "pinned". */
int rw_dir_rule_set(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                    const char *profile, const char *rule_json, char *err, size_t err_len);
/* Remove the rule `name` (NULL: all rules) of a profile or of "pinned". RW_ENOTFOUND. */
int rw_dir_rule_clear(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const char *profile, const char *name, char *err, size_t err_len);
int rw_dir_profile_switch(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                          const char *profile, char *err, size_t err_len);
/* RW_EINVAL when user_id's rules (s, or the stored ones when s is NULL) plus extra_target
 * would let a divert chain come back to user_id. */
int rw_dir_check_loop(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                      const rw_settings_t *s, const char *extra_target, char *err, size_t err_len);
/* Calendar divert rw:divert:<id> from start_ms to end_ms (it expires by itself at end_ms).
 * RW_EINVAL for an unknown user, device or colleague, an empty window, or a loop. */
int rw_dir_divert_set(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id, const char *to,
                      uint64_t start_ms, uint64_t end_ms, char *err, size_t err_len);
int rw_dir_divert_clear(rw_redis_t *r, const char *user_id);
/* Remove a device; refused (RW_EEXIST) while a rule or the calendar divert names it. */
int rw_dir_device_rm(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                     const char *device_id, char *err, size_t err_len);
/* A user's extension changed: every rule (saved again) and calendar divert of other users that
 * sends calls to them is given the new one, which the router dials. Called by rw_dir_user_put. */
int rw_dir_refresh_referrers(rw_redis_t *r, const rw_numplan_t *plan, const char *user_id,
                             const char *ext, char *err, size_t err_len);
/* Remove a user, their index keys, devices, settings (and a fallback plan an earlier version
 * stored); refused (RW_EINVAL, the users named) while another user's rules or calendar divert
 * still send calls to them. */
int rw_dir_user_rm(rw_redis_t *r, const char *user_id, char *err, size_t err_len);
/* Trunks: rw:trunks hash name -> {"prefixes":[...],"order":n,"address":"sip:..."}; every write
 * bumps rw:trunks:ver so routers reload the table. prefixes: comma-separated E.164 prefixes. */
int rw_dir_trunk_put(rw_redis_t *r, const char *name, const char *prefixes, int order,
                     const char *address, char *err, size_t err_len);
int rw_dir_trunk_rm(rw_redis_t *r, const char *name, char *err, size_t err_len);

#endif
