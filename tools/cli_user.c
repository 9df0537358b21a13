/* tools/cli_user.c — `ringway import`, `user list` and `user show`: reading users, and loading
 * a directory file (users, devices, rules, trunks, then its hunt groups) with progress lines on
 * stderr (the result alone goes to stdout). */
#include "common/clock.h"
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

typedef struct {
    uint64_t last_ms;        /* when the last progress line went out */
} progress_t;

/* One line per phase when it ends, and one at most every second (or every 500 entries) while
 * a long file loads, so an operator sees a 100,000-user import move. */
static void on_progress(void *arg, const char *phase, size_t done, size_t total)
{
    progress_t *p = arg;
    uint64_t now = rw_clock_mono_us() / 1000;
    if (done != total && done % 500 && now - p->last_ms < 1000)
        return;
    p->last_ms = now;
    cli_progress("import: %s %zu of %zu", phase, done, total);
}

static int cmd_import(const cli_opts_t *o, const char *path)
{
    char err[512], gerr[512] = "";
    int n = 0, groups = 0;
    progress_t p = { rw_clock_mono_us() / 1000 };
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return CLI_FAILED;
    int rc = rw_dir_import_file_progress(r, &rw_numplan_uk, path, &n, err, sizeof err, on_progress, &p);
    /* the file's "groups" after its users (their members must exist), as `group import` does */
    int grc = rc < 0 ? 0 : rw_dir_groups_import_file(r, &rw_numplan_uk, path, &groups, gerr, sizeof gerr);
    int durable = rc < 0 ? CLI_OK : cli_durable(o, r);      /* one wait covers every entry */
    rw_redis_destroy(&r);
    if (rc < 0)
        return cli_fail(o, "import stopped: %s (%d users loaded before it)", err, n);
    if (grc < 0)
        return cli_fail(o, "import stopped: %s (%d users loaded, %d group%s before it)", gerr, n, groups,
                        groups == 1 ? "" : "s");
    if (durable != CLI_OK)
        return durable;
    if (err[0])
        fprintf(stderr, "ringway: %s\n", err);
    if (o->json)
        cli_print_json(json_pack("{s:b,s:i,s:i,s:s,s:s}", "ok", 1, "imported_users", n, "imported_groups", groups,
                                 "warning", err, "fallback", "current"));
    else if (groups)
        printf("imported %d users and %d group%s from %s\n%s\n", n, groups, groups == 1 ? "" : "s", path,
               cli_fallback_line);
    else
        printf("imported %d users from %s\n%s\n", n, path, cli_fallback_line);
    return CLI_OK;
}

static int cmd_user_list(const cli_opts_t *o)
{
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return CLI_FAILED;
    redisReply *rep = rw_redis_command(r, "SORT rw:users ALPHA");
    int rc = CLI_OK;
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        json_t *arr = json_array();
        for (size_t i = 0; i < rep->elements; i++) {
            rw_dir_user_t u;
            if (rw_dir_user_get(r, rep->element[i]->str, &u) < 0)
                continue;
            if (o->json)
                json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "id", u.id, "ext", u.ext,
                                                     "number", u.number, "name", u.name));
            else
                printf("%-16s %-6s %-16s %s\n", u.id, u.ext, u.number, u.name);
        }
        if (o->json)
            cli_print_json(arr);
        else
            json_decref(arr);
    } else {
        rc = cli_fail(o, "reading users failed");
    }
    if (rep)
        freeReplyObject(rep);
    rw_redis_destroy(&r);
    return rc;
}

/* Devices as objects {id, kind, address}, sorted by id (stored as "<kind> <address>"). */
static json_t *devices_of(rw_redis_t *r, const char *id)
{
    json_t *arr = json_array();
    redisReply *ids = rw_redis_command(r, "HKEYS rw:user:%s:devices", id);
    size_t n = ids && ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
    const char **sorted = n ? calloc(n, sizeof *sorted) : NULL;
    for (size_t i = 0; sorted && i < n; i++) {       /* insertion sort: a handful of devices */
        size_t j = i;
        for (; j > 0 && strcmp(sorted[j - 1], ids->element[i]->str) > 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = ids->element[i]->str;
    }
    for (size_t i = 0; sorted && i < n; i++) {
        redisReply *v = rw_redis_command(r, "HGET rw:user:%s:devices %s", id, sorted[i]);
        const char *val = v && v->type == REDIS_REPLY_STRING ? v->str : "";
        const char *sp = strchr(val, ' ');
        char kind[32];
        snprintf(kind, sizeof kind, "%.*s", sp ? (int) (sp - val) : (int) strlen(val), val);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "id", sorted[i], "kind", kind,
                                             "address", sp ? sp + 1 : ""));
        if (v)
            freeReplyObject(v);
    }
    free(sorted);
    if (ids)
        freeReplyObject(ids);
    return arr;
}

static int cmd_user_show(const cli_opts_t *o, const char *id)
{
    rw_dir_user_t u;
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return CLI_FAILED;
    int rc = rw_dir_user_get(r, id, &u);
    if (rc < 0) {
        rw_redis_destroy(&r);
        return rc == RW_ENOTFOUND ? cli_fail(o, "no such user '%s'", id) : cli_fail(o, "reading the user failed");
    }
    redisReply *ver = rw_redis_command(r, "HGET rw:user:%s ver", id);
    long long version = ver && ver->type == REDIS_REPLY_STRING ? atoll(ver->str) : 0;
    if (ver)
        freeReplyObject(ver);
    json_t *jd = devices_of(r, id);
    rw_redis_destroy(&r);
    if (o->json) {
        cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "id", u.id, "ext", u.ext, "number",
                                 u.number, "name", u.name, "site", u.site, "tz", u.tz, "realm", u.realm, "ver",
                                 (json_int_t) version, "devices", jd));
        return CLI_OK;
    }
    printf("id      %s\next     %s\nnumber  %s\nname    %s\nsite    %s\ntz      %s\n"
           "version %lld (directory writes to this user)\ndevices\n",
           u.id, u.ext, u.number, u.name, u.site, u.tz, version);
    size_t i;
    json_t *d;
    json_array_foreach(jd, i, d)
        printf("  %-12s %s %s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "kind")), json_string_value(json_object_get(d, "address")));
    json_decref(jd);
    return CLI_OK;
}

int cli_user_command(const cli_opts_t *o, int n, const char **args)
{
    if (!strcmp(args[0], "import"))
        return cmd_import(o, args[1]);
    if (n == 2 && !strcmp(args[1], "list"))
        return cmd_user_list(o);
    return cmd_user_show(o, args[2]);
}
