/* directory/dir_groups.c — hunt groups and agents in the directory (dir_groups.h,
 * docs/huntgroup.md). A group is one hash of settings plus one hash of members (user -> JSON),
 * written in one MULTI/EXEC with its number index, so a reader never sees half a group.
 * Validation that needs the directory (users, devices, numbers, overflow targets) happens in
 * rw_dir_group_put, before anything is written. */
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const strategy_names[] = {
    [RW_HG_RINGALL] = "ringall", [RW_HG_LINEAR] = "linear", [RW_HG_RRMEMORY] = "rrmemory",
    [RW_HG_RRORDERED] = "rrordered", [RW_HG_LONGEST_IDLE] = "longest_idle",
    [RW_HG_FEWEST_CALLS] = "fewest_calls", [RW_HG_LEAST_TALK] = "least_talk",
    [RW_HG_RANDOM] = "random", [RW_HG_WEIGHTED_RANDOM] = "weighted_random",
    [RW_HG_PROGRESSIVE] = "ring_progressive",
};

const char *rw_hg_strategy_name(rw_hg_strategy_t s)
{
    return (unsigned) s < N(strategy_names) ? strategy_names[s] : NULL;
}

int rw_hg_strategy_parse(const char *name, rw_hg_strategy_t *out)
{
    for (size_t i = 0; i < N(strategy_names); i++)
        if (!strcmp(name, strategy_names[i]))
            return *out = (rw_hg_strategy_t) i, 0;
    return RW_EINVAL;
}

/* A comma-separated list of skill names: each a valid id, at most RW_GROUP_MAX_SKILLS. */
static bool valid_skills(const char *s)
{
    char copy[400], *save = NULL;
    unsigned n = 0;
    if (!s[0])
        return true;
    if (strlen(s) >= sizeof copy)
        return false;
    memcpy(copy, s, strlen(s) + 1);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!rw_dir_valid_id(t) || ++n > RW_GROUP_MAX_SKILLS)
            return false;
    return s[strlen(s) - 1] != ',' && s[0] != ',' && !strstr(s, ",,");
}

void rw_group_defaults(rw_group_t *g, const char *id)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    g->strategy = RW_HG_RRMEMORY;
    g->ring_ms = 15000;
    g->prog_start = 1;
    g->prog_step_s = 5;
    g->tier_wait_s = 30;
    g->max_wait_s = 300;
    g->wrapup_s = 10;
    g->autopause = 3;
    g->sl_s = 20;
    snprintf(g->overflow, sizeof g->overflow, "busy");
}

void rw_group_member_defaults(rw_group_member_t *m, const char *user)
{
    memset(m, 0, sizeof *m);
    snprintf(m->user, sizeof m->user, "%s", user);
    m->tier = 1;
    m->weight = 1;
}

static int parse_u32(const char *key, const char *v, long min, long max, uint32_t *out, char *err,
                     size_t len)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!v[0] || *end || errno)
        return snprintf(err, len, "%s '%s' is not a whole number", key, v), RW_EINVAL;
    if (n < min || n > max)
        return snprintf(err, len, "%s %ld is out of range (%ld to %ld)", key, n, min, max), RW_EINVAL;
    *out = (uint32_t) n;
    return 0;
}

static int set_str(char *dst, size_t size, const char *key, const char *v, char *err, size_t len)
{
    if (strlen(v) >= size)
        return snprintf(err, len, "%s is longer than %zu characters", key, size - 1), RW_EINVAL;
    if (!rw_dir_printable(v))
        return snprintf(err, len, "%s holds control characters", key), RW_EINVAL;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t len)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
        return *out = true, 0;
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
        return *out = false, 0;
    return snprintf(err, len, "%s '%s' is not yes or no", key, v), RW_EINVAL;
}

int rw_group_set(rw_group_t *g, const char *key, const char *v, char *err, size_t len)
{
    static const struct { const char *key; size_t off; long min, max; } nums[] = {
        { "ring_ms", offsetof(rw_group_t, ring_ms), 1000, 600000 },
        { "prog_start", offsetof(rw_group_t, prog_start), 1, 16 },
        { "prog_step_s", offsetof(rw_group_t, prog_step_s), 1, 600 },
        { "tier_wait_s", offsetof(rw_group_t, tier_wait_s), 0, 86400 },
        { "max_wait_s", offsetof(rw_group_t, max_wait_s), 1, 86400 },
        { "max_len", offsetof(rw_group_t, max_len), 0, 100000 },
        { "wrapup_s", offsetof(rw_group_t, wrapup_s), 0, 3600 },
        { "autopause", offsetof(rw_group_t, autopause), 0, 100 },
        { "sl_s", offsetof(rw_group_t, sl_s), 1, 3600 },
    };
    for (size_t i = 0; i < N(nums); i++)
        if (!strcmp(key, nums[i].key))
            return parse_u32(key, v, nums[i].min, nums[i].max,
                             (uint32_t *) ((char *) g + nums[i].off), err, len);
    if (!strcmp(key, "strategy")) {
        if (rw_hg_strategy_parse(v, &g->strategy) < 0)
            return snprintf(err, len, "unknown strategy '%s' (ringall, linear, rrmemory, rrordered, "
                            "longest_idle, fewest_calls, least_talk, random, weighted_random, "
                            "ring_progressive)", v), RW_EINVAL;
        return 0;
    }
    if (!strcmp(key, "join_empty"))
        return parse_bool(key, v, &g->join_empty, err, len);
    if (!strcmp(key, "ext"))
        return set_str(g->ext, sizeof g->ext, key, v, err, len);
    if (!strcmp(key, "number"))
        return set_str(g->number, sizeof g->number, key, v, err, len);
    if (!strcmp(key, "name"))
        return set_str(g->name, sizeof g->name, key, v, err, len);
    if (!strcmp(key, "overflow"))
        return set_str(g->overflow, sizeof g->overflow, key, v, err, len);
    if (!strcmp(key, "priority"))
        return set_str(g->priority, sizeof g->priority, key, v, err, len);
    if (!strcmp(key, "caller_skills"))
        return set_str(g->caller_skills, sizeof g->caller_skills, key, v, err, len);
    if (!strcmp(key, "dialled_skills"))
        return set_str(g->dialled_skills, sizeof g->dialled_skills, key, v, err, len);
    if (!strcmp(key, "skills")) {
        if (!valid_skills(v))
            return snprintf(err, len, "skills '%s' must be comma-separated names of a-z 0-9 . _ -", v),
                   RW_EINVAL;
        return set_str(g->skills, sizeof g->skills, key, v, err, len);
    }
    return snprintf(err, len, "unknown group setting '%s'", key), RW_EINVAL;
}

int rw_group_member_set(rw_group_member_t *m, const char *key, const char *v, char *err, size_t len)
{
    if (!strcmp(key, "tier"))
        return parse_u32(key, v, 1, 9, &m->tier, err, len);
    if (!strcmp(key, "penalty"))
        return parse_u32(key, v, 0, 99, &m->penalty, err, len);
    if (!strcmp(key, "weight"))
        return parse_u32(key, v, 1, 1000, &m->weight, err, len);
    if (!strcmp(key, "device"))
        return set_str(m->device, sizeof m->device, key, v, err, len);
    if (!strcmp(key, "skills")) {
        if (!valid_skills(v))
            return snprintf(err, len, "skills '%s' must be comma-separated names of a-z 0-9 . _ -", v),
                   RW_EINVAL;
        return set_str(m->skills, sizeof m->skills, key, v, err, len);
    }
    return snprintf(err, len, "unknown member setting '%s' (tier, penalty, weight, skills, device)", key),
           RW_EINVAL;
}

rw_group_member_t *rw_group_member_find(rw_group_t *g, const char *user)
{
    for (uint32_t i = 0; i < g->n_members; i++)
        if (!strcmp(g->members[i].user, user))
            return &g->members[i];
    return NULL;
}

/* ---- save-time checks ---------------------------------------------------------------- */

static int redis_int(rw_redis_t *r, long long *out, const char *fmt, const char *a, const char *b)
{
    redisReply *rep = rw_redis_command(r, fmt, a, b);
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? 0 : RW_EIO;
    if (rc == 0)
        *out = rep->integer;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Who holds rw:num:<num> (a user id or "group:<id>"), "" when nobody. */
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

static int check_numbers(rw_redis_t *r, const rw_numplan_t *plan, rw_group_t *g, char *err, size_t len)
{
    char norm[32], owner[80], self[80];
    rw_num_kind_t kind;
    if (!g->ext[0])
        return snprintf(err, len, "group '%s' needs an extension (ext)", g->id), RW_EINVAL;
    if (rw_e164_normalise(plan, g->ext, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_EXTENSION)
        return snprintf(err, len, "ext '%s' is not an internal extension", g->ext), RW_EINVAL;
    if (g->number[0]) {
        if (rw_e164_normalise(plan, g->number, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_E164
            || strlen(norm) >= sizeof g->number)
            return snprintf(err, len, "number '%s' is not a valid public number", g->number), RW_EINVAL;
        memcpy(g->number, norm, strlen(norm) + 1);
    }
    snprintf(self, sizeof self, "group:%s", g->id);
    const char *nums[2] = { g->ext, g->number };
    for (int i = 0; i < 2; i++) {
        if (!nums[i][0])
            continue;
        if (num_owner(r, nums[i], owner, sizeof owner) < 0)
            return snprintf(err, len, "redis unreachable"), RW_EIO;
        if (owner[0] && strcmp(owner, self))
            return snprintf(err, len, "%s already belongs to %s '%s'", nums[i],
                            strncmp(owner, "group:", 6) ? "user" : "group",
                            strncmp(owner, "group:", 6) ? owner : owner + 6), RW_EEXIST;
    }
    return 0;
}

static int check_members(rw_redis_t *r, const rw_group_t *g, char *err, size_t len)
{
    long long n;
    if (g->n_members == 0)
        return snprintf(err, len, "group '%s' has no members: add at least one", g->id), RW_EINVAL;
    if (g->n_members > RW_GROUP_MAX_MEMBERS)
        return snprintf(err, len, "group '%s' has more than %d members", g->id, RW_GROUP_MAX_MEMBERS),
               RW_EINVAL;
    for (uint32_t i = 0; i < g->n_members; i++) {
        const rw_group_member_t *m = &g->members[i];
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(g->members[j].user, m->user))
                return snprintf(err, len, "member '%s' is listed twice", m->user), RW_EINVAL;
        if (!rw_dir_valid_id(m->user) || redis_int(r, &n, "EXISTS rw:user:%s%s", m->user, "") < 0 || n == 0)
            return snprintf(err, len, "member '%s' is not a user of the directory", m->user), RW_EINVAL;
        if (m->weight < 1 || m->weight > 1000)
            return snprintf(err, len, "member '%s': weight %u must be 1 to 1000", m->user, m->weight),
                   RW_EINVAL;
        if (m->tier < 1 || m->tier > 9 || m->penalty > 99)
            return snprintf(err, len, "member '%s': tier must be 1 to 9, penalty 0 to 99", m->user),
                   RW_EINVAL;
        if (!valid_skills(m->skills))
            return snprintf(err, len, "member '%s': bad skills '%s'", m->user, m->skills), RW_EINVAL;
        if (m->device[0] && (!rw_dir_valid_id(m->device)
                             || redis_int(r, &n, "HEXISTS rw:user:%s:devices %s", m->user, m->device) < 0
                             || n == 0))
            return snprintf(err, len, "member '%s': device '%s' does not exist", m->user, m->device),
                   RW_EINVAL;
    }
    return 0;
}

/* Each item of a comma-separated list through fn; the first failure's message in err. */
static int each_item(const char *list, int (*fn)(const char *item, void *arg, char *err, size_t len),
                     void *arg, char *err, size_t len)
{
    char copy[400], *save = NULL;
    if (strlen(list) >= sizeof copy)
        return snprintf(err, len, "list too long"), RW_EINVAL;
    memcpy(copy, list, strlen(list) + 1);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int rc = fn(t, arg, err, len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_priority_item(const char *item, void *arg, char *err, size_t len)
{
    char norm[32];
    rw_num_kind_t kind;
    if (rw_e164_normalise(arg, item, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_E164
        || strcmp(norm, item))
        return snprintf(err, len, "priority caller '%s' is not an E.164 number (+44...)", item), RW_EINVAL;
    return 0;
}

static int check_prefix_item(const char *item, void *arg, char *err, size_t len)
{
    const char *colon = strchr(item, ':');
    (void) arg;
    if (item[0] != '+' || !colon || colon == item + 1
        || strspn(item + 1, "0123456789") != (size_t) (colon - item - 1) || !colon[1] || !valid_skills(colon + 1)
        || strchr(colon + 1, ','))
        return snprintf(err, len, "caller_skills '%s' is not +PREFIX:skill", item), RW_EINVAL;
    return 0;
}

/* NUMBER:skill, NUMBER an E.164 number (+ and digits) or an extension (digits). */
static int check_dialled_item(const char *item, void *arg, char *err, size_t len)
{
    const char *colon = strchr(item, ':'), *digits = item + (item[0] == '+');
    (void) arg;
    if (!colon || colon == digits || strspn(digits, "0123456789") != (size_t) (colon - digits)
        || !colon[1] || !valid_skills(colon + 1) || strchr(colon + 1, ','))
        return snprintf(err, len, "dialled_skills '%s' is not NUMBER:skill", item), RW_EINVAL;
    return 0;
}

static int check_overflow(rw_redis_t *r, const rw_numplan_t *plan, const rw_group_t *g, char *err,
                          size_t len)
{
    const char *o = g->overflow, *colon = strchr(o, ':');
    char norm[32];
    rw_num_kind_t kind;
    long long n;
    if (!strcmp(o, "busy"))
        return 0;
    if (!colon)
        return snprintf(err, len, "overflow '%s' must be busy, group:ID, number:+E164 or voicemail:USER", o),
               RW_EINVAL;
    if (!strncmp(o, "group:", 6)) {
        if (!strcmp(colon + 1, g->id))
            return snprintf(err, len, "overflow to the group itself"), RW_EINVAL;
        if (!rw_dir_valid_id(colon + 1) || redis_int(r, &n, "SISMEMBER rw:groups %s%s", colon + 1, "") < 0 || !n)
            return snprintf(err, len, "overflow group '%s' does not exist", colon + 1), RW_EINVAL;
        return 0;
    }
    if (!strncmp(o, "number:", 7)) {
        if (rw_e164_normalise(plan, colon + 1, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_E164)
            return snprintf(err, len, "overflow number '%s' is not a valid public number", colon + 1),
                   RW_EINVAL;
        return 0;
    }
    if (!strncmp(o, "voicemail:", 10)) {
        if (!rw_dir_valid_id(colon + 1) || redis_int(r, &n, "EXISTS rw:user:%s%s", colon + 1, "") < 0 || !n)
            return snprintf(err, len, "overflow voicemail of '%s': no such user", colon + 1), RW_EINVAL;
        return 0;
    }
    return snprintf(err, len, "overflow '%s' must be busy, group:ID, number:+E164 or voicemail:USER", o),
           RW_EINVAL;
}

static int check_group(rw_redis_t *r, const rw_numplan_t *plan, rw_group_t *g, char *err, size_t len)
{
    int rc;
    if (!rw_dir_valid_id(g->id))
        return snprintf(err, len, "group id '%s' must be 1-63 of a-z 0-9 . _ -", g->id), RW_EINVAL;
    if (!rw_hg_strategy_name(g->strategy))
        return snprintf(err, len, "unknown strategy"), RW_EINVAL;
    if (!rw_dir_printable(g->name) || !rw_dir_printable(g->overflow))
        return snprintf(err, len, "name or overflow holds control characters"), RW_EINVAL;
    if (g->ring_ms < 1000 || g->ring_ms > 600000 || g->max_wait_s < 1 || g->sl_s < 1
        || g->prog_start < 1 || g->prog_start > 16 || g->prog_step_s < 1)
        return snprintf(err, len, "ring_ms, max_wait_s, sl_s, prog_start or prog_step_s out of range"),
               RW_EINVAL;
    if (!valid_skills(g->skills))
        return snprintf(err, len, "bad skills '%s'", g->skills), RW_EINVAL;
    if ((rc = each_item(g->priority, check_priority_item, (void *) plan, err, len)) < 0
        || (rc = each_item(g->caller_skills, check_prefix_item, NULL, err, len)) < 0
        || (rc = each_item(g->dialled_skills, check_dialled_item, NULL, err, len)) < 0
        || (rc = check_numbers(r, plan, g, err, len)) < 0
        || (rc = check_members(r, g, err, len)) < 0)
        return rc;
    return check_overflow(r, plan, g, err, len);
}

/* ---- storage ----------------------------------------------------------------------- */

static int reply_ok(redisReply *rep)   /* frees rep */
{
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : RW_EIO;
}

static char *member_json(const rw_group_member_t *m, uint32_t pos)
{
    json_t *j = json_pack("{s:i,s:i,s:i,s:i,s:s,s:s}", "tier", (int) m->tier, "penalty", (int) m->penalty,
                          "weight", (int) m->weight, "pos", (int) pos, "device", m->device, "skills",
                          m->skills);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static int write_group(rw_redis_t *r, const rw_group_t *g, const rw_group_t *old, bool had)
{
    char num[32];
    int rc = reply_ok(rw_redis_command(r, "MULTI"));
    if (had) {
        if (strcmp(old->ext, g->ext))
            rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", old->ext));
        if (old->number[0] && strcmp(old->number, g->number))
            rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", old->number));
        for (uint32_t i = 0; i < old->n_members; i++)
            rc |= reply_ok(rw_redis_command(r, "SREM rw:hg:member_of:%s %s", old->members[i].user, g->id));
    }
    rc |= reply_ok(rw_redis_command(r, "DEL rw:group:%s:members", g->id));
    rc |= reply_ok(rw_redis_command(r, "SADD rw:groups %s", g->id));
    rc |= reply_ok(rw_redis_command(
        r, "HSET rw:group:%s id %s ext %s number %s name %s strategy %s ring_ms %u prog_start %u "
           "prog_step_s %u tier_wait_s %u max_wait_s %u max_len %u join_empty %d wrapup_s %u "
           "autopause %u sl_s %u overflow %s priority %s skills %s caller_skills %s dialled_skills %s",
        g->id, g->id, g->ext, g->number, g->name, rw_hg_strategy_name(g->strategy), g->ring_ms,
        g->prog_start, g->prog_step_s, g->tier_wait_s, g->max_wait_s, g->max_len, g->join_empty ? 1 : 0,
        g->wrapup_s, g->autopause, g->sl_s, g->overflow, g->priority, g->skills, g->caller_skills, g->dialled_skills));
    rc |= reply_ok(rw_redis_command(r, "HINCRBY rw:group:%s ver 1", g->id));
    for (uint32_t i = 0; i < g->n_members; i++) {
        char *js = member_json(&g->members[i], i);
        rc |= js ? reply_ok(rw_redis_command(r, "HSET rw:group:%s:members %s %s", g->id,
                                             g->members[i].user, js)) : RW_ENOMEM;
        free(js);
        rc |= reply_ok(rw_redis_command(r, "SADD rw:hg:member_of:%s %s", g->members[i].user, g->id));
    }
    snprintf(num, sizeof num, "%s", g->ext);
    rc |= reply_ok(rw_redis_command(r, "SET rw:num:%s group:%s", num, g->id));
    if (g->number[0])
        rc |= reply_ok(rw_redis_command(r, "SET rw:num:%s group:%s", g->number, g->id));
    rc |= reply_ok(rw_redis_command(r, "INCR rw:groups:ver"));
    redisReply *rep = rw_redis_command(r, "EXEC");
    int ok = rep && rep->type == REDIS_REPLY_ARRAY;
    if (rep)
        freeReplyObject(rep);
    return ok && rc == 0 ? 0 : RW_EIO;
}

int rw_dir_group_put(rw_redis_t *r, const rw_numplan_t *plan, rw_group_t *g, char *err, size_t len)
{
    static _Thread_local rw_group_t old;   /* 20 KB: not on the stack; one per thread (gateway) */
    int rc = check_group(r, plan, g, err, len);
    if (rc < 0)
        return rc;
    rc = rw_dir_group_get(r, g->id, &old);
    if (rc < 0 && rc != RW_ENOTFOUND)
        return snprintf(err, len, "redis unreachable"), RW_EIO;
    if (write_group(r, g, &old, rc == 0) < 0)
        return snprintf(err, len, "redis write failed"), RW_EIO;
    return 0;
}

static void hash_str(redisReply *rep, const char *key, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING && !strcmp(rep->element[i]->str, key)
            && rep->element[i + 1]->type == REDIS_REPLY_STRING)
            snprintf(out, len, "%s", rep->element[i + 1]->str);
}

static int parse_members(redisReply *rep, rw_group_t *g)
{
    uint32_t pos[RW_GROUP_MAX_MEMBERS];
    for (size_t i = 0; i + 1 < rep->elements && g->n_members < RW_GROUP_MAX_MEMBERS; i += 2) {
        rw_group_member_t *m = &g->members[g->n_members];
        json_t *j = rep->element[i + 1]->type == REDIS_REPLY_STRING
                    ? json_loads(rep->element[i + 1]->str, 0, NULL) : NULL;
        int tier = 1, pen = 0, weight = 1, p = 0;
        const char *dev = "", *skills = "";
        if (!j || json_unpack(j, "{s?i,s?i,s?i,s?i,s?s,s?s}", "tier", &tier, "penalty", &pen, "weight",
                              &weight, "pos", &p, "device", &dev, "skills", &skills) < 0) {
            json_decref(j);
            return RW_EPROTO;
        }
        rw_group_member_defaults(m, rep->element[i]->str);
        m->tier = (uint32_t) tier;
        m->penalty = (uint32_t) pen;
        m->weight = (uint32_t) weight;
        snprintf(m->device, sizeof m->device, "%s", dev);
        snprintf(m->skills, sizeof m->skills, "%s", skills);
        pos[g->n_members++] = (uint32_t) p;
        json_decref(j);
    }
    /* back into the order they were saved in (insertion sort: at most 64) */
    for (uint32_t i = 1; i < g->n_members; i++)
        for (uint32_t j = i; j > 0 && pos[j - 1] > pos[j]; j--) {
            rw_group_member_t t = g->members[j];
            uint32_t tp = pos[j];
            g->members[j] = g->members[j - 1];
            pos[j] = pos[j - 1];
            g->members[j - 1] = t;
            pos[j - 1] = tp;
        }
    return 0;
}

int rw_dir_group_get(rw_redis_t *r, const char *id, rw_group_t *g)
{
    char v[400], err[200];
    rw_group_defaults(g, id);
    redisReply *rep = rw_redis_command(r, "HGETALL rw:group:%s", id);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return RW_EIO;
    }
    if (rep->elements == 0) {
        freeReplyObject(rep);
        return RW_ENOTFOUND;
    }
    static const char *const keys[] = { "ext", "number", "name", "strategy", "ring_ms", "prog_start",
                                        "prog_step_s", "tier_wait_s", "max_wait_s", "max_len",
                                        "join_empty", "wrapup_s", "autopause", "sl_s", "overflow",
                                        "priority", "skills", "caller_skills", "dialled_skills" };
    int rc = 0;
    for (size_t i = 0; i < N(keys) && rc == 0; i++) {
        hash_str(rep, keys[i], v, sizeof v);
        if (v[0] || !strcmp(keys[i], "number") || !strcmp(keys[i], "name") || !strcmp(keys[i], "priority")
            || !strcmp(keys[i], "skills") || !strcmp(keys[i], "caller_skills")
            || !strcmp(keys[i], "dialled_skills"))
            rc = rw_group_set(g, keys[i], v, err, sizeof err) < 0 ? RW_EPROTO : 0;
    }
    freeReplyObject(rep);
    if (rc < 0)
        return rc;
    rep = rw_redis_command(r, "HGETALL rw:group:%s:members", id);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return RW_EIO;
    }
    rc = parse_members(rep, g);
    freeReplyObject(rep);
    return rc;
}

int rw_dir_group_rm(rw_redis_t *r, const char *id, char *err, size_t len)
{
    static _Thread_local rw_group_t g, other;
    int rc = rw_dir_group_get(r, id, &g);
    if (rc == RW_ENOTFOUND)
        return snprintf(err, len, "unknown group '%s'", id), rc;
    if (rc < 0)
        return snprintf(err, len, "redis unreachable or group unreadable"), rc;
    json_t *ids = rw_dir_group_ids(r), *jid;
    size_t i;
    char target[80];
    snprintf(target, sizeof target, "group:%s", id);
    json_array_foreach(ids, i, jid) {
        if (rw_dir_group_get(r, json_string_value(jid), &other) == 0 && !strcmp(other.overflow, target)) {
            snprintf(err, len, "group '%s' still overflows to '%s': change it first", other.id, id);
            json_decref(ids);
            return RW_EINVAL;
        }
    }
    json_decref(ids);
    rc = reply_ok(rw_redis_command(r, "MULTI"));
    rc |= reply_ok(rw_redis_command(r, "DEL rw:group:%s rw:group:%s:members", id, id));
    rc |= reply_ok(rw_redis_command(r, "SREM rw:groups %s", id));
    rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", g.ext));
    if (g.number[0])
        rc |= reply_ok(rw_redis_command(r, "DEL rw:num:%s", g.number));
    for (uint32_t k = 0; k < g.n_members; k++) {
        rc |= reply_ok(rw_redis_command(r, "SREM rw:hg:member_of:%s %s", g.members[k].user, id));
        rc |= reply_ok(rw_redis_command(r, "SREM rw:hg:agent:%s:groups %s", g.members[k].user, id));
    }
    rc |= reply_ok(rw_redis_command(r, "DEL rw:hg:logged:%s", id));
    rc |= reply_ok(rw_redis_command(r, "INCR rw:groups:ver"));
    redisReply *rep = rw_redis_command(r, "EXEC");
    if (!rep || rep->type != REDIS_REPLY_ARRAY)
        rc = RW_EIO;
    if (rep)
        freeReplyObject(rep);
    return rc ? (snprintf(err, len, "redis write failed"), RW_EIO) : 0;
}

json_t *rw_dir_group_ids(rw_redis_t *r)
{
    redisReply *rep = rw_redis_command(r, "SORT rw:groups ALPHA");
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(arr, json_string(rep->element[i]->str));
    freeReplyObject(rep);
    return arr;
}

/* ---- JSON (import / export) ------------------------------------------------------------ */

json_t *rw_group_to_json(const rw_group_t *g)
{
    json_t *members = json_array();
    for (uint32_t i = 0; i < g->n_members; i++) {
        const rw_group_member_t *m = &g->members[i];
        json_t *jm = json_pack("{s:s,s:i,s:i,s:i}", "user", m->user, "tier", (int) m->tier, "penalty",
                               (int) m->penalty, "weight", (int) m->weight);
        if (m->device[0])
            json_object_set_new(jm, "device", json_string(m->device));
        if (m->skills[0])
            json_object_set_new(jm, "skills", json_string(m->skills));
        json_array_append_new(members, jm);
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:b,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:o}",
                     "id", g->id, "ext", g->ext, "number", g->number, "name", g->name, "strategy",
                     rw_hg_strategy_name(g->strategy), "ring_ms", (int) g->ring_ms, "prog_start",
                     (int) g->prog_start, "prog_step_s", (int) g->prog_step_s, "tier_wait_s",
                     (int) g->tier_wait_s, "max_wait_s", (int) g->max_wait_s, "max_len", (int) g->max_len,
                     "join_empty", g->join_empty, "wrapup_s", (int) g->wrapup_s, "autopause",
                     (int) g->autopause, "sl_s", (int) g->sl_s, "overflow", g->overflow, "priority",
                     g->priority, "skills", g->skills, "caller_skills", g->caller_skills, "dialled_skills", g->dialled_skills, "members",
                     members);
}

/* A JSON scalar as the text rw_group_set takes; false when it is no scalar. */
static bool scalar_text(json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long) json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    else
        return false;
    return true;
}

static int member_from_json(json_t *jm, rw_group_member_t *m, char *err, size_t len)
{
    const char *key;
    json_t *v;
    char text[400], why[160];
    if (!json_is_object(jm) || !json_is_string(json_object_get(jm, "user")))
        return snprintf(err, len, "needs \"user\""), RW_EINVAL;
    rw_group_member_defaults(m, json_string_value(json_object_get(jm, "user")));
    if (strlen(json_string_value(json_object_get(jm, "user"))) >= sizeof m->user)
        return snprintf(err, len, "user is too long"), RW_EINVAL;
    json_object_foreach(jm, key, v) {
        if (!strcmp(key, "user"))
            continue;
        if (!scalar_text(v, text, sizeof text))
            return snprintf(err, len, "%s: not a string or number", key), RW_EINVAL;
        if (rw_group_member_set(m, key, text, why, sizeof why) < 0)
            return snprintf(err, len, "%s: %s", key, why), RW_EINVAL;
    }
    return 0;
}

int rw_group_from_json(json_t *j, rw_group_t *g, char *err, size_t len)
{
    const char *key;
    json_t *v;
    char text[400], why[240];
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "id")))
        return snprintf(err, len, "a group needs \"id\""), RW_EINVAL;
    if (strlen(json_string_value(json_object_get(j, "id"))) >= sizeof g->id)
        return snprintf(err, len, "id is too long"), RW_EINVAL;
    rw_group_defaults(g, json_string_value(json_object_get(j, "id")));
    json_object_foreach(j, key, v) {
        if (!strcmp(key, "id"))
            continue;
        if (!strcmp(key, "members")) {
            size_t i;
            json_t *jm;
            if (!json_is_array(v) || json_array_size(v) > RW_GROUP_MAX_MEMBERS)
                return snprintf(err, len, "members must be an array of at most %d", RW_GROUP_MAX_MEMBERS),
                       RW_EINVAL;
            json_array_foreach(v, i, jm) {
                if (member_from_json(jm, &g->members[i], why, sizeof why) < 0)
                    return snprintf(err, len, "members[%zu]: %s", i, why), RW_EINVAL;
                g->n_members = (uint32_t) i + 1;
            }
            continue;
        }
        if (!scalar_text(v, text, sizeof text))
            return snprintf(err, len, "%s: not a string, number or boolean", key), RW_EINVAL;
        if (rw_group_set(g, key, text, why, sizeof why) < 0)
            return snprintf(err, len, "%s", why), RW_EINVAL;
    }
    return 0;
}

int rw_dir_groups_import_file(rw_redis_t *r, const rw_numplan_t *plan, const char *path, int *n,
                              char *err, size_t len)
{
    static _Thread_local rw_group_t g;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *groups, *jg;
    char why[400];
    size_t i;
    int rc = 0;
    *n = 0;
    if (!root)
        return snprintf(err, len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text), RW_EINVAL;
    groups = json_object_get(root, "groups");
    if (groups && !json_is_array(groups)) {
        snprintf(err, len, "%s: \"groups\" must be an array", path);
        rc = RW_EINVAL;
    }
    /* Two passes, so a group may overflow to one later in the file: first every group without
     * its overflow, then each again as written. */
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        json_array_foreach(groups, i, jg) {
            rc = rw_group_from_json(jg, &g, why, sizeof why);
            if (rc == 0 && pass == 0 && !strncmp(g.overflow, "group:", 6))
                snprintf(g.overflow, sizeof g.overflow, "busy");
            if (rc == 0)
                rc = rw_dir_group_put(r, plan, &g, why, sizeof why);
            if (rc < 0) {
                snprintf(err, len, "%s: groups[%zu]: %s", path, i, why);
                break;
            }
            if (pass == 1)
                (*n)++;
        }
    }
    json_decref(root);
    return rc;
}

int rw_dir_groups_of_member(rw_redis_t *r, const char *user, char *err, size_t len)
{
    redisReply *a = rw_redis_command(r, "SORT rw:hg:member_of:%s ALPHA", user);
    int rc = 0;
    if (!a || a->type != REDIS_REPLY_ARRAY)
        rc = RW_EIO, snprintf(err, len, "redis unreachable (%s)", user);
    else if (a->elements) {
        size_t n = (size_t) snprintf(err, len, "user '%s' is a member of hunt group%s", user,
                                     a->elements == 1 ? "" : "s");
        for (size_t i = 0; i < a->elements && n < len; i++)
            n += (size_t) snprintf(err + n, len - n, "%s %s", i ? "," : "",
                                  a->element[i]->type == REDIS_REPLY_STRING ? a->element[i]->str : "?");
        if (n < len)
            snprintf(err + n, len - n, "; remove them from %s first (ringway member rm GROUP %s)",
                     a->elements == 1 ? "it" : "those", user);
        rc = RW_EINVAL;
    }
    if (a)
        freeReplyObject(a);
    return rc;
}

json_t *rw_dir_groups_export(rw_redis_t *r)
{
    static _Thread_local rw_group_t g;
    json_t *ids = rw_dir_group_ids(r), *jid, *arr = json_array();
    size_t i;
    if (!ids) {
        json_decref(arr);
        return NULL;
    }
    json_array_foreach(ids, i, jid)
        if (rw_dir_group_get(r, json_string_value(jid), &g) == 0)
            json_array_append_new(arr, rw_group_to_json(&g));
    json_decref(ids);
    return json_pack("{s:o}", "groups", arr);
}

/* ---- agents ----------------------------------------------------------------------------- */

const char rw_dir_agent_lua[] =
    "local op, user, group, reason, now, defer = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]\n"
    "local ak = 'rw:hg:agent:' .. user\n"
    "local gk = ak .. ':groups'\n"
    "if redis.call('EXISTS', 'rw:user:' .. user) == 0 then return {'unknown user ' .. user} end\n"
    "local events = {}\n"
    "local function ev(g, st) table.insert(events, 'queue.agent_state'); table.insert(events, g);\n"
    "  table.insert(events, user); table.insert(events, st) end\n"
    "local targets = {}\n"
    "if group ~= '' then\n"
    "  if redis.call('SISMEMBER', 'rw:hg:member_of:' .. user, group) == 0 then\n"
    "    return {user .. ' is not a member of group ' .. group} end\n"
    "  targets = {group}\n"
    "elseif op == 'login' then targets = redis.call('SMEMBERS', 'rw:hg:member_of:' .. user)\n"
    "  if #targets == 0 then return {user .. ' is a member of no group'} end\n"
    "else targets = redis.call('SMEMBERS', gk) end\n"
    "local state = redis.call('HGET', ak, 'state') or 'logged_out'\n"
    "local function effective()\n"
    "  local s = redis.call('HGET', ak, 'state') or 'logged_out'\n"
    "  if s == 'wrap_up' and tonumber(redis.call('HGET', ak, 'wrap_until') or '0') <= now then return 'available' end\n"
    "  if s == 'offered' and tonumber(redis.call('HGET', ak, 'offer_until') or '0') <= now then return 'available' end\n"
    "  return s end\n"
    "if op == 'login' then\n"
    "  for _, g in ipairs(targets) do redis.call('SADD', gk, g); redis.call('SADD', 'rw:hg:logged:' .. g, user) end\n"
    "  if state == 'logged_out' then\n"
    "    redis.call('HSET', ak, 'state', 'available', 'since', now, 'idle_since', now, 'missed', 0, 'reason', '')\n"
    "  end\n"
    "  for _, g in ipairs(targets) do ev(g, effective()) end\n"
    "elseif op == 'logout' then\n"
    "  for _, g in ipairs(targets) do redis.call('SREM', gk, g); redis.call('SREM', 'rw:hg:logged:' .. g, user); ev(g, 'logged_out') end\n"
    "  if redis.call('SCARD', gk) == 0 then redis.call('HSET', ak, 'state', 'logged_out', 'since', now, 'reason', '') end\n"
    "elseif op == 'pause' then\n"
    "  if reason == '' then return {'a pause needs a reason'} end\n"
    "  if redis.call('SCARD', gk) == 0 then return {user .. ' is not logged in'} end\n"
    "  redis.call('HSET', ak, 'state', 'paused', 'since', now, 'reason', reason)\n"
    "  for _, g in ipairs(redis.call('SMEMBERS', gk)) do ev(g, 'paused') end\n"
    "elseif op == 'resume' then\n"
    "  if redis.call('SCARD', gk) == 0 then return {user .. ' is not logged in'} end\n"
    "  if state == 'paused' then\n"
    "    redis.call('HSET', ak, 'state', 'available', 'since', now, 'idle_since', now, 'missed', 0, 'reason', '')\n"
    "  end\n"
    "  for _, g in ipairs(redis.call('SMEMBERS', gk)) do ev(g, effective()) end\n"
    "elseif op ~= 'status' then return {'unknown agent operation ' .. op} end\n"
    "if defer == '1' and #events > 0 then\n"
    "  for i = 1, #events, 4 do redis.call('RPUSH', 'rw:hg:events', cjson.encode({events[i], events[i+1], events[i+2], events[i+3], '', '0', '0'})) end\n"
    "  redis.call('LTRIM', 'rw:hg:events', -10000, -1)\n"
    "  events = {}\n"
    "end\n"
    "local groups = redis.call('SORT', gk, 'ALPHA')\n"
    "local personal = redis.call('SCARD', 'rw:hg:personal:' .. user)\n"
    "return {'', effective(), redis.call('HGET', ak, 'reason') or '', groups, events,\n"
    "        tonumber(redis.call('HGET', ak, 'missed') or '0'), personal}\n";

int rw_dir_agent_op(rw_redis_t *r, const char *op, const char *user, const char *group,
                    const char *reason, uint64_t now_ms, rw_agent_status_t *out, char *err, size_t len)
{
    char now[24];
    snprintf(now, sizeof now, "%llu", (unsigned long long) now_ms);
    const char *argv[] = { "EVAL", rw_dir_agent_lua, "0", op, user, group ? group : "",
                           reason ? reason : "", now, "1" };
    if (!rw_dir_valid_id(user))
        return snprintf(err, len, "'%s' is not a user id", user), RW_EINVAL;
    redisReply *rep = rw_redis_commandargv(r, (int) N(argv), argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
        || rep->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(err, len, "redis failed%s%s", rep && rep->type == REDIS_REPLY_ERROR ? ": " : "",
                 rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "");
        if (rep)
            freeReplyObject(rep);
        return RW_EIO;
    }
    if (rep->element[0]->str[0]) {
        snprintf(err, len, "%s", rep->element[0]->str);
        freeReplyObject(rep);
        return RW_EINVAL;
    }
    if (out && rep->elements >= 7) {
        memset(out, 0, sizeof *out);
        snprintf(out->state, sizeof out->state, "%s", rep->element[1]->str ? rep->element[1]->str : "");
        snprintf(out->reason, sizeof out->reason, "%s", rep->element[2]->str ? rep->element[2]->str : "");
        size_t at = 0;
        for (size_t i = 0; i < rep->element[3]->elements && at < sizeof out->groups; i++)
            at += (size_t) snprintf(out->groups + at, sizeof out->groups - at, "%s%s", i ? "," : "",
                                    rep->element[3]->element[i]->str);
        out->missed = (uint32_t) rep->element[5]->integer;
        out->personal = rep->element[6]->integer > 0;
    }
    freeReplyObject(rep);
    return 0;
}
