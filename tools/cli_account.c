/* tools/cli_account.c — `ringway account add|passwd|rm|list`: the gateway's local accounts
 * (services/gateway/account.h, docs/gateway.md). A password is read from --password-file or,
 * without it, from the first line of standard input: never from the command line, where other
 * users of the machine could read it. Only its Argon2id hash is stored. Writes are said saved
 * once durable, like every CLI write (exit 3 otherwise). */
#include "tools/cli_account.h"
#include "services/gateway/account.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MAX 1024

/* The password from --password-file or stdin (first line, without its end of line). */
static int read_password(const cli_opts_t *o, char *out, size_t len)
{
    FILE *f = o->password_file ? fopen(o->password_file, "r") : stdin;
    if (!f)
        return cli_fail(o, "cannot read --password-file %s", o->password_file);
    char *got = fgets(out, (int) len, f);
    if (f != stdin)
        fclose(f);
    if (!got)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (strlen(out) < 8)
        return cli_fail(o, "the password must have at least 8 characters (read from %s)",
                        o->password_file ? o->password_file : "standard input");
    return CLI_OK;
}

/* user=U roles=R,... groups=G,... into a; CLI_USAGE (said) on anything else. */
static int apply_settings(const cli_opts_t *o, gw_account_t *a, int n, const char **args)
{
    char bad[48];
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        size_t k = eq ? (size_t) (eq - args[i]) : 0;
        if (k == 4 && !strncmp(args[i], "user", 4)) {
            if (strlen(eq + 1) >= sizeof a->user)
                return cli_usage_error("user '%s' is too long", eq + 1);
            snprintf(a->user, sizeof a->user, "%s", eq + 1);
        } else if (k == 5 && !strncmp(args[i], "roles", 5)) {
            if (gw_roles_parse(eq + 1, &a->roles, bad, sizeof bad) < 0)
                return cli_usage_error("unknown role '%s' (staff, supervisor, admin)", bad);
        } else if (k == 6 && !strncmp(args[i], "groups", 6)) {
            if (gw_groups_parse(eq + 1, a) < 0)
                return cli_usage_error("groups: at most %d names of up to 63 characters", GW_MAX_GROUPS);
        } else {
            return cli_usage_error("'%s' is not user=USER, roles=ROLE,... or groups=GROUP,...", args[i]);
        }
    }
    (void) o;
    return CLI_OK;
}

static int account_add(const cli_opts_t *o, rw_redis_t *r, const char *name, int n, const char **args)
{
    char password[PASSWORD_MAX];
    gw_account_t a = { .roles = GW_ROLE_STAFF };
    int rc = gw_account_get(r, name, &a);
    if (rc == 0)
        return cli_fail(o, "account '%s' exists: change its password with account passwd", name);
    if (rc == RW_EIO)
        return cli_fail(o, "Redis is unreachable");
    a.roles = GW_ROLE_STAFF;
    snprintf(a.name, sizeof a.name, "%s", name);
    if ((rc = apply_settings(o, &a, n, args)) != CLI_OK)
        return rc;
    if ((rc = read_password(o, password, sizeof password)) != CLI_OK)
        return rc;
    rc = gw_password_hash(password, a.hash, sizeof a.hash);
    memset(password, 0, sizeof password);
    if (rc < 0)
        return cli_fail(o, "the password could not be hashed");
    if (gw_account_put(r, &a) < 0)
        return cli_fail(o, "Redis is unreachable");
    return CLI_OK;
}

static int account_passwd(const cli_opts_t *o, rw_redis_t *r, const char *name)
{
    char password[PASSWORD_MAX];
    gw_account_t a;
    int rc = gw_account_get(r, name, &a);
    if (rc == RW_ENOTFOUND)
        return cli_fail(o, "no account '%s'", name);
    if (rc < 0)
        return cli_fail(o, "Redis is unreachable");
    if ((rc = read_password(o, password, sizeof password)) != CLI_OK)
        return rc;
    rc = gw_password_hash(password, a.hash, sizeof a.hash);
    memset(password, 0, sizeof password);
    if (rc < 0)
        return cli_fail(o, "the password could not be hashed");
    a.gen++;                               /* tokens of the old password stop working */
    return gw_account_put(r, &a) < 0 ? cli_fail(o, "Redis is unreachable") : CLI_OK;
}

static json_t *account_json(const gw_account_t *a)
{
    char roles[64];
    json_t *groups = json_array();
    gw_roles_format(a->roles, roles, sizeof roles);
    for (size_t i = 0; i < a->n_groups; i++)
        json_array_append_new(groups, json_string(a->groups[i]));
    return json_pack("{s:s, s:s, s:s, s:o}", "name", a->name, "user", a->user, "roles", roles, "groups", groups);
}

static int account_list(const cli_opts_t *o, rw_redis_t *r)
{
    redisReply *names = rw_redis_command(r, "SORT " GW_ACCOUNTS_SET " ALPHA");
    if (!names || names->type != REDIS_REPLY_ARRAY) {
        if (names)
            freeReplyObject(names);
        return cli_fail(o, "Redis is unreachable");
    }
    json_t *all = json_array();
    for (size_t i = 0; i < names->elements; i++) {
        gw_account_t a;
        if (names->element[i]->type != REDIS_REPLY_STRING || gw_account_get(r, names->element[i]->str, &a) < 0)
            continue;
        if (o->json) {
            json_array_append_new(all, account_json(&a));
        } else {
            char roles[64], groups[GW_MAX_GROUPS * 64] = "";
            size_t used = 0;
            gw_roles_format(a.roles, roles, sizeof roles);
            for (size_t g = 0; g < a.n_groups; g++)
                used += (size_t) snprintf(groups + used, sizeof groups - used, "%s%s", g ? "," : "", a.groups[g]);
            printf("%-20s user %-16s roles %-24s groups %s\n", a.name, a.user[0] ? a.user : "-", roles,
                   groups[0] ? groups : "-");
        }
    }
    freeReplyObject(names);
    if (o->json)
        cli_print_json(all);
    else
        json_decref(all);
    return CLI_OK;
}

int cli_account_command(const cli_opts_t *o, int n, const char **args)
{
    const char *verb = args[1];
    if (o->password)
        return cli_usage_error("account: a password is never given on the command line: "
                               "--password-file FILE or standard input");
    if (n >= 3 && !gw_account_valid_name(args[2]))
        return cli_usage_error("account name '%s': 1 to 63 of A-Z a-z 0-9 . _ @ -", args[2]);
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return CLI_FAILED;
    int rc;
    bool wrote = false;
    if (!strcmp(verb, "list")) {
        rc = account_list(o, r);
    } else if (!strcmp(verb, "add")) {
        rc = account_add(o, r, args[2], n - 3, args + 3);
        wrote = rc == CLI_OK;
    } else if (!strcmp(verb, "passwd")) {
        rc = account_passwd(o, r, args[2]);
        wrote = rc == CLI_OK;
    } else {
        int got = gw_account_del(r, args[2]);
        rc = got == RW_ENOTFOUND ? cli_fail(o, "no account '%s'", args[2])
           : got < 0 ? cli_fail(o, "Redis is unreachable") : CLI_OK;
        wrote = rc == CLI_OK;
    }
    if (wrote) {
        rc = cli_durable(o, r);
        if (rc == CLI_OK && o->json)
            cli_print_json(json_pack("{s:b, s:s, s:s}", "ok", 1, "account", args[2], "done", verb));
        else if (rc == CLI_OK)
            printf("account %s: %s, saved\n", args[2], !strcmp(verb, "rm") ? "removed" : !strcmp(verb, "add") ? "added" : "password changed");
    }
    rw_redis_destroy(&r);
    return rc;
}
