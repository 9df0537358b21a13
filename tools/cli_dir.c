/* tools/cli_dir.c — the `ringway` commands that write the directory: users, devices, rules,
 * profiles, calendar diverts, trunks and the fallback rebuild. All writes go through
 * directory/directory.h, which validates them and leaves the change notice for the routers; each
 * is said to be saved only once durable (cli_durable: exit 3 when only the master has it), then
 * what the fallback does with the change. */
#include "tools/cli.h"
#include "common/clock.h"
#include "directory/directory.h"
#include "common/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int dir_fn(const cli_opts_t *o, rw_redis_t *r, const char **args, char *err, size_t len);

/* After a settings write: what the fallback will do with it. sip-edge evaluates the settings in
 * Redis at the time of each call no router answers (docs/routing.md), so a saved change is the
 * fallback's at once; there is no stored plan to wait for. */
#define FALLBACK_NOTE "sip-edge evaluates these settings at call time if no router answers"
const char cli_fallback_line[] = "fallback: current (" FALLBACK_NOTE ")";

/* Says "saved" only once the write is durable (cli_durable); CLI_UNSAFE, said, when not. */
static int saved(const cli_opts_t *o, rw_redis_t *r, const char *what)
{
    if (cli_durable(o, r) != CLI_OK)
        return CLI_UNSAFE;
    if (o->json)
        printf("{\"ok\":true,\"done\":\"%s\",\"fallback\":\"current\"}\n", what);
    else
        printf("%s\n%s\n", what, cli_fallback_line);
    return 0;
}

static int user_add(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    rw_dir_user_t u;
    memset(&u, 0, sizeof u);
    if (!o->ext || !o->password)
        return snprintf(err, len, "user add needs --ext and --password"), RW_EINVAL;
    snprintf(u.id, sizeof u.id, "%s", a[2]);
    snprintf(u.ext, sizeof u.ext, "%s", o->ext);
    snprintf(u.number, sizeof u.number, "%s", o->number ? o->number : "");
    snprintf(u.name, sizeof u.name, "%s", o->name ? o->name : "");
    snprintf(u.site, sizeof u.site, "%s", o->site ? o->site : "");
    snprintf(u.tz, sizeof u.tz, "%s", o->tz ? o->tz : "Europe/London");
    snprintf(u.realm, sizeof u.realm, "%s", o->realm ? o->realm : "ringway.local");
    int rc = rw_dir_user_put(r, &rw_numplan_uk, &u, o->password, err, len);
    return rc < 0 ? rc : saved(o, r, "user saved");
}

static int user_rm(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_user_rm(r, a[2], err, len);
    return rc < 0 ? rc : saved(o, r, "user removed");
}

static int device_add(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_device_put(r, &rw_numplan_uk, a[2], a[3], a[4], a[5] ? a[5] : "", err, len);
    return rc < 0 ? rc : saved(o, r, "device saved");
}

static int device_rm(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_device_rm(r, &rw_numplan_uk, a[2], a[3], err, len);
    return rc < 0 ? rc : saved(o, r, "device removed");
}

static int rule_set(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_rule_set(r, &rw_numplan_uk, a[2], a[3], a[4], err, len);
    return rc < 0 ? rc : saved(o, r, "rule saved");
}

static int rule_clear(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_rule_clear(r, &rw_numplan_uk, a[2], a[3], a[4], err, len);
    return rc < 0 ? rc : saved(o, r, "rules cleared");
}

static int rule_show(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    rw_dir_user_t u;
    if (rw_dir_user_get(r, a[2], &u) < 0)
        return snprintf(err, len, "unknown user '%s'", a[2]), RW_ENOTFOUND;
    char *s = rw_dir_settings_get(r, a[2]);
    if (!s)
        return snprintf(err, len, "redis unreachable"), RW_EIO;
    json_t *j = s[0] ? json_loads(s, 0, NULL) : json_object();
    char *out = json_dumps(j, o->json ? JSON_COMPACT | JSON_SORT_KEYS : JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", out ? out : "{}");
    free(out);
    json_decref(j);
    free(s);
    return 0;
}

static int profile_switch(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_profile_switch(r, &rw_numplan_uk, a[2], a[3], err, len);
    return rc < 0 ? rc : saved(o, r, "profile switched");
}

static int divert_set(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    uint64_t start, end;
    char why[200];
    if (cli_parse_time(a[4], &start, why, sizeof why) < 0 || cli_parse_time(a[5], &end, why, sizeof why) < 0)
        return snprintf(err, len, "divert set: %s", why), RW_EINVAL;
    int rc = rw_dir_divert_set(r, &rw_numplan_uk, a[2], a[3], start, end, err, len);
    return rc < 0 ? rc : saved(o, r, "divert saved");
}

static int divert_clear(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_divert_clear(r, a[2]);
    if (rc < 0)
        snprintf(err, len, "redis write failed");
    return rc < 0 ? rc : saved(o, r, "divert cleared");
}

static int trunk_add(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_trunk_put(r, a[2], a[3], o->order ? atoi(o->order) : 0, a[4], err, len);
    return rc < 0 ? rc : saved(o, r, "trunk saved");
}

static int trunk_rm(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    int rc = rw_dir_trunk_rm(r, a[2], err, len);
    return rc < 0 ? rc : saved(o, r, "trunk removed");
}

/* An integer reply, -1 on any failure. */
static long long redis_int(redisReply *rep)
{
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* Progress of a rebuild on stderr: the change list drains as the routers announce the users
 * (directory.changed). Waits while it shrinks (a line a second), at most 10 s without progress;
 * with no router running it says so and returns at once (they are announced when one starts). */
static void rebuild_progress(rw_redis_t *r, long long queued)
{
    if (redis_int(rw_redis_command(r, "ZCOUNT rw:svc:router %llu +inf", (unsigned long long) rw_clock_wall_ms())) <= 0) {
        cli_progress("fallback rebuild: no router is running; the %lld users are announced when one starts",
                     queued);
        return;
    }
    long long left = redis_int(rw_redis_command(r, "LLEN rw:dir:changes")), last = left;
    uint64_t moved_ms = rw_clock_mono_us() / 1000;
    while (left > 0 && rw_clock_mono_us() / 1000 - moved_ms < 10000) {
        cli_progress("fallback rebuild: %lld of %lld queued changes left", left, queued);
        struct timespec ts = { 1, 0 };
        nanosleep(&ts, NULL);
        left = redis_int(rw_redis_command(r, "LLEN rw:dir:changes"));
        if (left < last)
            moved_ms = rw_clock_mono_us() / 1000;
        last = left;
    }
    if (left == 0)
        cli_progress("fallback rebuild: every user announced");
    else
        cli_progress("fallback rebuild: %lld changes still queued after 10 s without progress; are the "
                     "routers healthy?", left);
}

/* Queue every user for the routers: each is announced once (directory.changed), by whichever
 * router takes it, so every cache of a user refreshes. There is no fallback plan to rebuild:
 * sip-edge evaluates the settings at call time. */
static int fallback_rebuild(const cli_opts_t *o, rw_redis_t *r, const char **a, char *err, size_t len)
{
    (void) a;
    redisReply *rep = rw_redis_command(r, "EVAL %s 0",
        "local ids = redis.call('SMEMBERS', 'rw:users') for _, id in ipairs(ids) do "
        "redis.call('RPUSH', 'rw:dir:changes', id) end return #ids");
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    if (n < 0)
        return snprintf(err, len, "redis write failed"), RW_EIO;
    cli_progress("fallback rebuild: queued %lld users", n);
    rebuild_progress(r, n);
    if (o->json)
        printf("{\"ok\":true,\"queued_users\":%lld,\"fallback\":\"current\"}\n", n);
    else
        printf("queued %lld users; the routers announce each as changed\n"
               "fallback: current (" FALLBACK_NOTE "; nothing to rebuild)\n", n);
    return 0;
}

static const struct {
    const char *noun, *verb;
    int min, max;                    /* argument counts including noun and verb */
    dir_fn *fn;
} commands[] = {
    { "user", "add", 3, 3, user_add },           { "user", "rm", 3, 3, user_rm },
    { "device", "add", 5, 6, device_add },       { "device", "rm", 4, 4, device_rm },
    { "rule", "set", 5, 5, rule_set },           { "rule", "clear", 4, 5, rule_clear },
    { "rule", "show", 3, 3, rule_show },         { "profile", "switch", 4, 4, profile_switch },
    { "divert", "set", 6, 6, divert_set },       { "divert", "clear", 3, 3, divert_clear },
    { "trunk", "add", 5, 5, trunk_add },         { "trunk", "rm", 3, 3, trunk_rm },
    { "fallback", "rebuild", 2, 2, fallback_rebuild },
};

/* args have been checked against the command table of tools/ringway.c. */
int cli_dir_command(const cli_opts_t *o, int n, const char **args)
{
    const char *a[8] = { 0 };
    char err[512] = "";
    for (int i = 0; i < n && i < 8; i++)
        a[i] = args[i];
    for (size_t c = 0; n >= 2 && c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(a[0], commands[c].noun) || strcmp(a[1], commands[c].verb))
            continue;
        if (n < commands[c].min || n > commands[c].max)
            return cli_usage_error("wrong number of arguments for '%s %s'", a[0], a[1]);
        rw_redis_t *r = connect_redis(o);
        if (!r)
            return CLI_FAILED;
        int rc = commands[c].fn(o, r, a, err, sizeof err);
        rw_redis_destroy(&r);
        if (rc < 0)
            return cli_fail(o, "%s", err[0] ? err : rw_strerror(rc));
        if (err[0])                  /* saved, with a warning (a rule that can never apply) */
            fprintf(stderr, "ringway: %s\n", err);
        return rc == CLI_UNSAFE ? CLI_UNSAFE : CLI_OK;
    }
    return cli_usage_error("unknown command '%s'", a[0]);
}
