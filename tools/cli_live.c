/* tools/cli_live.c — a user's live state, as the router and sip-edge see it: `presence set`,
 * `clear` (the manual source, merged by services/presence/merge.h) and `presence show`
 * (rw:presence:<id>, docs/routing.md), `divert show` (the calendar divert
 * rw:divert:<id>) and `regs` (the live bindings in rw:loc:<aor>, docs/sip-edge.md "Location
 * store"). Reads and writes Redis only; times are printed in UTC. */
#include "common/clock.h"
#include "directory/directory.h"
#include "common/err.h"
#include "services/presence/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

/* field -> value of a HGETALL reply, or NULL. */
static const char *hfield(const redisReply *h, const char *name)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (!strcmp(h->element[i]->str, name))
            return h->element[i + 1]->str;
    return NULL;
}

static redisReply *hgetall(rw_redis_t *r, const char *key)
{
    redisReply *h = rw_redis_command(r, "HGETALL %s", key);
    if (h && h->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(h);
        return NULL;
    }
    return h;
}

/* The manual source of the user's presence (docs/presence.md): set with state, cleared with
 * NULL, by rw_pres_manual_set (the gateway's presence writes use it too). The merge script
 * recomputes the effective state at once and queues the change for the presence service to
 * publish. */
static int presence_set(const cli_opts_t *o, rw_redis_t *r, const char *id, const char *state)
{
    char until[32] = "", err[160];
    int rc = rw_pres_manual_set(r, id, state, o->until_ms, rw_clock_wall_ms(), err, sizeof err);
    if (rc == RW_EINVAL)
        return cli_fail(o, "%s", err);
    if (rc == RW_EPROTO)
        return cli_fail(o, "presence not set: %s", err);
    if (rc < 0)
        return cli_fail(o, "redis write failed");
    if (cli_durable(o, r) != CLI_OK)            /* said only once durable (exit 3 when not) */
        return CLI_UNSAFE;
    if (!state) {
        if (o->json)
            cli_print_json(json_pack("{s:b,s:s,s:n}", "ok", 1, "user", id, "state"));
        else
            printf("presence of %s: manual setting cleared\n", id);
        return CLI_OK;
    }
    if (o->until_ms)
        cli_format_time(o->until_ms, until, sizeof until);
    if (o->json)
        cli_print_json(json_pack("{s:b,s:s,s:s,s:I,s:s}", "ok", 1, "user", id, "state", state, "until_ms",
                                 (json_int_t) o->until_ms, "source", "manual"));
    else
        printf("presence of %s: %s%s%s (manual)\n", id, state, until[0] ? " until " : "", until);
    return CLI_OK;
}

static int presence_show(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    char key[96], until[32] = "";
    snprintf(key, sizeof key, "rw:presence:%s", id);
    redisReply *h = hgetall(r, key);
    if (!h)
        return cli_fail(o, "reading %s failed", key);
    const char *state = hfield(h, "state"), *src = hfield(h, "source"), *u = hfield(h, "until_ms");
    uint64_t until_ms = u ? strtoull(u, NULL, 10) : 0;
    int in_force = state && (!until_ms || until_ms > rw_clock_wall_ms());
    if (until_ms)
        cli_format_time(until_ms, until, sizeof until);
    if (o->json)
        cli_print_json(json_pack("{s:s,s:s,s:s?,s:I,s:s?,s:b}", "user", id, "state",
                                 in_force ? state : "available", "set_state", state, "until_ms",
                                 (json_int_t) until_ms, "source", src, "in_force", in_force));
    else if (!state)
        printf("%s: available (no presence set)\n", id);
    else if (!in_force)
        printf("%s: available (%s ended at %s, source %s)\n", id, state, until, src ? src : "?");
    else
        printf("%s: %s%s%s (source %s)\n", id, state, until[0] ? " until " : "", until, src ? src : "?");
    freeReplyObject(h);
    return CLI_OK;
}

static int divert_show(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    char key[96], from[32] = "", to_t[32] = "";
    snprintf(key, sizeof key, "rw:divert:%s", id);
    redisReply *h = hgetall(r, key);
    if (!h)
        return cli_fail(o, "reading %s failed", key);
    const char *to = hfield(h, "to"), *s = hfield(h, "start_ms"), *e = hfield(h, "end_ms");
    uint64_t start = s ? strtoull(s, NULL, 10) : 0, end = e ? strtoull(e, NULL, 10) : 0, now = rw_clock_wall_ms();
    const char *when = !to ? "none" : now < start ? "later" : now < end ? "in force" : "over";
    cli_format_time(start, from, sizeof from);
    cli_format_time(end, to_t, sizeof to_t);
    if (o->json)
        cli_print_json(to ? json_pack("{s:s,s:s,s:I,s:I,s:s}", "user", id, "to", to, "start_ms", (json_int_t) start,
                                      "end_ms", (json_int_t) end, "state", when)
                          : json_pack("{s:s,s:n,s:s}", "user", id, "to", "state", when));
    else if (!to)
        printf("%s: no calendar divert\n", id);
    else
        printf("%s: divert to %s from %s to %s (%s)\n", id, to, from, to_t, when);
    freeReplyObject(h);
    return CLI_OK;
}

/* The AORs a user's SIP devices ring: their own sip:<ext>@<realm> and any device's address. */
static size_t aors_of(rw_redis_t *r, const rw_dir_user_t *u, char aors[][160], size_t max)
{
    size_t n = 0;
    snprintf(aors[n++], 160, "sip:%s@%s", u->ext, u->realm);
    redisReply *d = rw_redis_command(r, "HVALS rw:user:%s:devices", u->id);
    for (size_t i = 0; d && d->type == REDIS_REPLY_ARRAY && i < d->elements && n < max; i++) {
        const char *v = d->element[i]->str;
        if (strncmp(v, "sip ", 4) || !v[4])
            continue;
        size_t k = 0;
        while (k < n && strcmp(aors[k], v + 4))
            k++;
        if (k == n)
            snprintf(aors[n++], 160, "%s", v + 4);
    }
    if (d)
        freeReplyObject(d);
    return n;
}

/* One binding value: "<expires_ms>\t<q x 1000>\t<contact>\t<path>\t<received>\t<instance>\t<user
 * agent>[\t<device>]" into f[8] (pointers into v, which is cut at the tabs). */
static int split_binding(char *v, char *f[8])
{
    int n = 0;
    for (char *p = v; n < 8; n++) {
        f[n] = p;
        char *tab = strchr(p, '\t');
        if (!tab) {
            n++;
            break;
        }
        *tab = '\0';
        p = tab + 1;
    }
    for (int i = n; i < 8; i++)
        f[i] = "";
    return n;
}

static int regs(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    rw_dir_user_t u;
    char aors[8][160];
    int rc = rw_dir_user_get(r, id, &u);
    if (rc < 0)
        return rc == RW_ENOTFOUND ? cli_fail(o, "no such user '%s'", id) : cli_fail(o, "reading the user failed");
    size_t na = aors_of(r, &u, aors, 8), live = 0;
    uint64_t now = rw_clock_wall_ms();
    json_t *arr = json_array();
    for (size_t a = 0; a < na; a++) {
        char key[200], *f[8];
        snprintf(key, sizeof key, "rw:loc:%s", aors[a]);
        redisReply *h = hgetall(r, key);
        for (size_t i = 0; h && i + 1 < h->elements; i += 2) {
            if (split_binding(h->element[i + 1]->str, f) < 7)
                continue;
            uint64_t exp = strtoull(f[0], NULL, 10);
            if (exp <= now)
                continue;                       /* expired: sip-edge never rings it */
            double q = strtol(f[1], NULL, 10) / 1000.0;
            long in_s = (long) ((exp - now + 999) / 1000);
            live++;
            if (o->json)
                json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:f,s:s,s:s,s:s,s:s,s:s}", "aor", aors[a],
                                                     "contact", f[2], "expires_in_s", (json_int_t) in_s, "q", q,
                                                     "instance", f[5], "user_agent", f[6], "received", f[4],
                                                     "path", f[3], "device", f[7]));
            else
                printf("%s  %s  expires in %ld s  q %.2f  instance %s  user agent %s  received %s%s%s\n",
                       aors[a], f[2], in_s, q, f[5][0] ? f[5] : "-", f[6][0] ? f[6] : "-",
                       f[4][0] ? f[4] : "-", f[7][0] ? "  device " : "", f[7]);
        }
        if (h)
            freeReplyObject(h);
    }
    if (o->json)
        cli_print_json(arr);
    else {
        json_decref(arr);
        if (!live)
            printf("%s: no live registration (%s)\n", id, aors[0]);
    }
    return CLI_OK;
}

int cli_live_command(const cli_opts_t *o, int n, const char **args)
{
    const char *id = !strcmp(args[0], "regs") ? args[1] : args[2];
    rw_dir_user_t u;
    rw_redis_t *r = connect_redis(o);
    int rc;
    (void) n;
    if (!r)
        return CLI_FAILED;
    if (strcmp(args[0], "regs") && (rc = rw_dir_user_get(r, id, &u)) < 0)
        rc = rc == RW_ENOTFOUND ? cli_fail(o, "no such user '%s'", id) : cli_fail(o, "reading the user failed");
    else if (!strcmp(args[0], "regs"))
        rc = regs(o, r, id);
    else if (!strcmp(args[0], "divert"))
        rc = divert_show(o, r, id);
    else if (!strcmp(args[1], "set") || !strcmp(args[1], "clear"))
        rc = presence_set(o, r, id, !strcmp(args[1], "set") ? args[3] : NULL);
    else
        rc = presence_show(o, r, id);
    rw_redis_destroy(&r);
    return rc;
}
