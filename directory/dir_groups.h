/* directory/dir_groups.h — hunt groups in the directory (Redis, keys in docs/huntgroup.md): a
 * group's number, members (users, optionally one device each) with tier, penalty, weight and
 * skills, its distribution strategy and parameters, limits and overflow; and the agents' log in /
 * log out / pause / resume, which the huntgroup service reads for every decision.
 * Every write is validated first and a bad group gets an error naming the problem; nothing is
 * written for a group that fails. Blocking Redis connection: CLI, imports and tests only. */
#ifndef RW_DIR_GROUPS_H
#define RW_DIR_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/redis.h"
#include "common/e164.h"

#define RW_GROUP_MAX_MEMBERS 64
#define RW_GROUP_MAX_SKILLS 8
#define RW_GROUP_MAX_PRIORITY 16

typedef enum {
    RW_HG_RINGALL = 0, RW_HG_LINEAR, RW_HG_RRMEMORY, RW_HG_RRORDERED, RW_HG_LONGEST_IDLE,
    RW_HG_FEWEST_CALLS, RW_HG_LEAST_TALK, RW_HG_RANDOM, RW_HG_WEIGHTED_RANDOM, RW_HG_PROGRESSIVE,
    RW_HG_N_STRATEGIES
} rw_hg_strategy_t;

typedef struct {
    char user[64];                   /* a directory user id */
    char device[64];                 /* one device of that user, "" = all their devices */
    uint32_t tier;                   /* 1..9: tier 2 is offered only after tier_wait_s or when
                                        tier 1 is all busy */
    uint32_t penalty;                /* 0..99: order inside a tier (linear, round robin) */
    uint32_t weight;                 /* 1..1000: share under weighted_random */
    char skills[160];                /* comma-separated skill names the agent has, "" = none */
} rw_group_member_t;

typedef struct {
    char id[64];                     /* [a-z0-9._-], 1..63 */
    char ext[16];                    /* internal extension of the group (required) */
    char number[24];                 /* public number, E.164, may be "" */
    char name[128];
    rw_hg_strategy_t strategy;
    uint32_t ring_ms;                /* how long one offer rings, 1000..600000 */
    uint32_t prog_start;             /* ring_progressive: agents rung at once first, 1..16 */
    uint32_t prog_step_s;            /* ring_progressive: one more agent every S s, 1..600 */
    uint32_t tier_wait_s;            /* W: the next tier joins after W s of waiting, 0 = only
                                        when the tiers before are all busy */
    uint32_t max_wait_s;             /* a caller waits at most this long, then overflow, 1..86400 */
    uint32_t max_len;                /* callers waiting at most, 0 = no limit */
    bool join_empty;                 /* join while no agent is logged in */
    uint32_t wrapup_s;               /* after each call the agent rests this long, 0..3600 */
    uint32_t autopause;              /* pause an agent after N offers missed in a row, 0 = never */
    uint32_t sl_s;                   /* service level threshold: answered within S s, 1..3600 */
    char overflow[160];              /* "busy", "group:ID", "number:+E164", "voicemail:USER" */
    char priority[400];              /* comma-separated E.164 callers who jump the queue */
    char skills[160];                /* skills every caller of this group needs, "" = none */
    char caller_skills[400];         /* "+33:french,+49:german": callers whose number starts so
                                        need that skill too */
    char dialled_skills[400];        /* "+441632960101:french,3001:german": callers who dialled
                                        that number or extension need that skill too */
    uint32_t n_members;
    rw_group_member_t members[RW_GROUP_MAX_MEMBERS];
} rw_group_t;

/* "ringall", "linear", ...; NULL past the end. And the reverse (RW_EINVAL). */
const char *rw_hg_strategy_name(rw_hg_strategy_t s);
int rw_hg_strategy_parse(const char *name, rw_hg_strategy_t *out);

/* A group with the defaults (docs/huntgroup.md) and no members; id copied. */
void rw_group_defaults(rw_group_t *g, const char *id);
/* Defaults of a member (tier 1, penalty 0, weight 1). */
void rw_group_member_defaults(rw_group_member_t *m, const char *user);

/* Set one setting by name ("strategy", "ring_ms", "overflow", ...) from text: RW_EINVAL with why
 * in err (unknown key, not a number, out of range, unknown strategy). Checks that need the
 * directory happen at save time. Member keys ("tier", "penalty", "weight", "skills", "device")
 * through rw_group_member_set. */
int rw_group_set(rw_group_t *g, const char *key, const char *value, char *err, size_t len);
int rw_group_member_set(rw_group_member_t *m, const char *key, const char *value, char *err,
                        size_t len);
/* The member of user, or NULL. */
rw_group_member_t *rw_group_member_find(rw_group_t *g, const char *user);

/* Validate and store a group (replacing one with the same id), its number index
 * rw:num:<ext|number> = "group:<id>" and every member's rw:hg:member_of:<user>. RW_EINVAL with the
 * reason in err (no members, an unknown user or device, weight out of range, a bad overflow or
 * number), RW_EEXIST when the extension or number belongs to a user or another group, RW_EIO. */
int rw_dir_group_put(rw_redis_t *r, const rw_numplan_t *plan, rw_group_t *g, char *err, size_t len);
/* RW_ENOTFOUND, RW_EIO, RW_EPROTO (a stored entry that no longer parses). */
int rw_dir_group_get(rw_redis_t *r, const char *id, rw_group_t *g);
/* Remove a group; refused (RW_EINVAL) while another group overflows to it. */
int rw_dir_group_rm(rw_redis_t *r, const char *id, char *err, size_t len);
/* 0 when user is a member of no hunt group; RW_EINVAL naming the groups in err when it is (a
 * user is not removed from under a group: rw_dir_user_rm asks this first); RW_EIO. */
int rw_dir_groups_of_member(rw_redis_t *r, const char *user, char *err, size_t len);
/* Sorted group ids as a JSON array of strings (new reference), NULL on RW_EIO. */
json_t *rw_dir_group_ids(rw_redis_t *r);

/* JSON of a group (new reference), the format of the "groups" array of an import file. */
json_t *rw_group_to_json(const rw_group_t *g);
/* Parse one group object; RW_EINVAL naming the field ("members[2].weight: ..."). */
int rw_group_from_json(json_t *j, rw_group_t *g, char *err, size_t len);
/* Import the "groups" array of a directory file (users are imported by rw_dir_import_file):
 * every group saved as rw_dir_group_put, stopping at the first bad one and naming it
 * ("groups[1]: no members"). *n counts the groups saved. A file without "groups" imports none. */
int rw_dir_groups_import_file(rw_redis_t *r, const rw_numplan_t *plan, const char *path, int *n,
                              char *err, size_t len);
/* {"groups":[...]} of every group (new reference), NULL on RW_EIO. */
json_t *rw_dir_groups_export(rw_redis_t *r);

/* ---- agents (live state in Redis, shared with the huntgroup service) ----------------------
 * The agent script below is what the huntgroup service runs for its bus "agent" requests too:
 * KEYS none; ARGV op ("login", "logout", "pause", "resume", "status"), user, group ("" = every
 * group the user is a member of), reason, now_ms, defer ("1": the queue.agent_state events it
 * makes are appended to rw:hg:events for a huntgroup instance to publish; "0": returned).
 * Reply: {err or "", state, reason, groups logged into (array), events (array of flat
 * [type, group, agent, state] quadruples)}. */
extern const char rw_dir_agent_lua[];

typedef struct {
    char state[16];                  /* "logged_out", "available", "offered", "on_call",
                                        "wrap_up", "paused" */
    char reason[64];                 /* pause reason */
    char groups[512];                /* comma-separated groups logged into */
    uint32_t missed;                 /* offers missed in a row */
    bool personal;                   /* on a call of their own (call.* events) */
} rw_agent_status_t;

/* Runs the agent script for op on user (group "" = all of theirs). RW_EINVAL with why in err
 * (unknown user, not a member, a pause without a reason), RW_EIO. out may be NULL. */
int rw_dir_agent_op(rw_redis_t *r, const char *op, const char *user, const char *group,
                    const char *reason, uint64_t now_ms, rw_agent_status_t *out, char *err,
                    size_t len);

#endif
