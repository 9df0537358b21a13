/* tools/cli_calendar.c — `calendar set|clear|show|sync` (docs/calendar.md). The source lives in
 * rw:cal:<id> and the sync queue rw:cal:due; the calendar service does the reading. `sync`
 * puts the user first in the queue and waits (bounded) for a service to record a sync.
 * The password is read from a file, stored for the service, and never printed, in text or
 * --json: `show` says only whether one is set. */
#include "common/clock.h"
#include "directory/directory.h"
#include "common/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli_calendar.h"

#define SYNC_WAIT_MS 60000              /* calendar sync: how long a service may take */

static const char *hfield(const redisReply *h, const char *name)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, name))
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL;
    return NULL;
}

/* http(s), no spaces or control characters, no credentials inside. */
static int check_url(const cli_opts_t *o, const char *url)
{
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return cli_fail(o, "'%s' is not an http:// or https:// URL", url);
    if (strlen(url) > 2048)
        return cli_fail(o, "the URL is longer than 2048 characters");
    for (const char *p = url; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == 0x7f)
            return cli_fail(o, "the URL holds a space or control character");
    const char *host = strstr(url, "://") + 3, *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        return cli_fail(o, "the URL holds credentials: give them with --user and --password-file");
    return 0;
}

/* The first line of path, without its newline, into out. */
static int read_password(const cli_opts_t *o, const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail(o, "--password-file %s cannot be read", path);
    if (!fgets(out, (int) len, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0])
        return cli_fail(o, "--password-file %s is empty", path);
    if (strlen(out) >= len - 1)
        return cli_fail(o, "--password-file %s: the password is longer than %zu characters", path, len - 2);
    return 0;
}

static int cal_set(const cli_opts_t *o, rw_redis_t *r, const char *id, const char *kind, const char *url)
{
    rw_dir_user_t u;
    char password[258] = "";
    if (strcmp(kind, "ics") && strcmp(kind, "caldav"))
        return cli_usage_error("calendar kind '%s' is not ics or caldav", kind);
    if (!o->login != !o->password_file)
        return cli_usage_error("--user and --password-file go together");
    int rc = check_url(o, url);
    if (rc)
        return rc;
    if (rw_dir_user_get(r, id, &u) < 0)
        return cli_fail(o, "unknown user '%s'", id);
    if (o->password_file && (rc = read_password(o, o->password_file, password, sizeof password)))
        return rc;
    const char *argv[] = { "HSET", "", "kind", kind, "url", url, "login", o->login ? o->login : "", "password",
                           password };
    char key[96];
    snprintf(key, sizeof key, "rw:cal:%s", id);
    argv[1] = key;
    /* the last good schedule stays until the new source is read */
    redisReply *b = rw_redis_commandargv(r, 10, argv, NULL);
    redisReply *c = b ? rw_redis_command(r, "ZADD rw:cal:due 0 %s", id) : NULL;
    int ok = c && b->type != REDIS_REPLY_ERROR && c->type != REDIS_REPLY_ERROR;
    explicit_bzero(password, sizeof password);
    if (b)
        freeReplyObject(b);
    if (c)
        freeReplyObject(c);
    if (!ok)
        return cli_fail(o, "redis write failed");
    if (cli_durable(o, r) != CLI_OK)            /* said only once durable (exit 3 when not) */
        return CLI_UNSAFE;
    if (o->json)
        cli_print_json(json_pack("{s:b,s:s,s:s,s:s,s:b}", "ok", 1, "user", id, "kind", kind, "url", url, "auth",
                                 o->login != NULL));
    else
        printf("%s: calendar %s %s%s (read by the calendar service within its tick)\n", id, kind, url,
               o->login ? ", with a password" : "");
    return CLI_OK;
}

/* Removes the source, its place in the queue and what it left: the calendar presence source
 * (the presence service merges the user again) and a divert it wrote. */
static const char clear_lua[] =
    "local id = ARGV[1]\n"
    "local n = redis.call('DEL', 'rw:cal:' .. id)\n"
    "redis.call('ZREM', 'rw:cal:due', id)\n"
    "if redis.call('HDEL', 'rw:presence:src:' .. id, 'calendar') == 1 then\n"
    "  redis.call('RPUSH', 'rw:presence:dirty', id) end\n"
    "if redis.call('HGET', 'rw:divert:' .. id, 'source') == 'calendar' then redis.call('DEL', 'rw:divert:' .. id) end\n"
    "return n\n";

static int cal_clear(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    redisReply *a = rw_redis_command(r, "EVAL %s 0 %s", clear_lua, id);
    if (!a || a->type != REDIS_REPLY_INTEGER) {
        if (a)
            freeReplyObject(a);
        return cli_fail(o, "redis write failed");
    }
    long long n = a->integer;
    freeReplyObject(a);
    if (!n)
        return cli_fail(o, "user '%s' has no calendar", id);
    if (cli_durable(o, r) != CLI_OK)
        return CLI_UNSAFE;
    if (o->json)
        cli_print_json(json_pack("{s:b,s:s}", "ok", 1, "user", id));
    else
        printf("%s: calendar cleared\n", id);
    return CLI_OK;
}

static uint64_t num(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

static void print_time(const char *label, uint64_t ms)
{
    char t[32];
    if (!ms)
        return;
    cli_format_time(ms, t, sizeof t);
    printf("  %-10s %s\n", label, t);
}

static int cal_show(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    redisReply *h = rw_redis_command(r, "HGETALL rw:cal:%s", id);
    if (!h || h->type != REDIS_REPLY_ARRAY) {
        if (h)
            freeReplyObject(h);
        return cli_fail(o, "redis unreachable");
    }
    if (!h->elements) {
        freeReplyObject(h);
        return cli_fail(o, "user '%s' has no calendar", id);
    }
    const char *kind = hfield(h, "kind"), *url = hfield(h, "url"), *login = hfield(h, "login");
    const char *err = hfield(h, "error"), *meetings = hfield(h, "meetings");
    bool auth = login && login[0];
    json_t *list = meetings ? json_loads(meetings, 0, NULL) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    if (o->json) {
        cli_print_json(json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:s,s:I,s:o}", "user", id, "kind", kind ? kind : "",
                                 "url", url ? url : "", "auth", auth, "last_ok_ms",
                                 (json_int_t) num(hfield(h, "last_ok_ms")), "synced_ms",
                                 (json_int_t) num(hfield(h, "synced_ms")), "error", err ? err : "", "error_ms",
                                 (json_int_t) num(hfield(h, "error_ms")), "meetings", list));
        freeReplyObject(h);
        return CLI_OK;
    }
    printf("%s: calendar %s %s%s\n", id, kind ? kind : "?", url ? url : "?", auth ? " (with a password)" : "");
    print_time("last sync", num(hfield(h, "synced_ms")));
    print_time("last good", num(hfield(h, "last_ok_ms")));
    if (err && err[0])
        printf("  error      %s (the last good schedule is kept)\n", err);
    if (!hfield(h, "synced_ms"))
        printf("  not read yet\n");
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        char s[32], e[32];
        cli_format_time((uint64_t) json_integer_value(json_object_get(m, "start_ms")), s, sizeof s);
        cli_format_time((uint64_t) json_integer_value(json_object_get(m, "end_ms")), e, sizeof e);
        const char *sum = json_string_value(json_object_get(m, "summary"));
        printf("  meeting    %s - %s  %s%s\n", s, e, sum ? sum : "",
               json_is_true(json_object_get(m, "tentative")) ? " (tentative)" : "");
    }
    json_decref(list);
    freeReplyObject(h);
    return CLI_OK;
}

static uint64_t synced_ms(rw_redis_t *r, const char *id, int *exists)
{
    redisReply *a = rw_redis_command(r, "HMGET rw:cal:%s kind synced_ms", id);
    uint64_t v = 0;
    *exists = -1;
    if (a && a->type == REDIS_REPLY_ARRAY && a->elements == 2) {
        *exists = a->element[0]->type == REDIS_REPLY_STRING;
        v = a->element[1]->type == REDIS_REPLY_STRING ? num(a->element[1]->str) : 0;
    }
    if (a)
        freeReplyObject(a);
    return v;
}

static int cal_sync(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    int exists;
    uint64_t before = synced_ms(r, id, &exists);
    if (exists < 0)
        return cli_fail(o, "redis unreachable");
    if (!exists)
        return cli_fail(o, "user '%s' has no calendar", id);
    redisReply *a = rw_redis_command(r, "ZADD rw:cal:due 0 %s", id);
    if (a)
        freeReplyObject(a);
    if (!a)
        return cli_fail(o, "redis write failed");
    uint64_t t0 = rw_clock_mono_ms();
    while (synced_ms(r, id, &exists) == before) {
        if (exists <= 0 || rw_clock_mono_ms() - t0 > SYNC_WAIT_MS)
            return cli_fail(o, "no calendar service synced '%s' within %d s (is one running?)", id,
                            SYNC_WAIT_MS / 1000);
        usleep(50000);
    }
    redisReply *h = rw_redis_command(r, "HMGET rw:cal:%s error count", id);
    const char *err = h && h->type == REDIS_REPLY_ARRAY && h->elements == 2 && h->element[0]->str ? h->element[0]->str : "";
    const char *count = h && h->type == REDIS_REPLY_ARRAY && h->elements == 2 && h->element[1]->str ? h->element[1]->str : "0";
    int rc = CLI_OK;
    if (err[0])
        rc = cli_fail(o, "%s: calendar not read: %s (the last good schedule is kept)", id, err);
    else if (o->json)
        cli_print_json(json_pack("{s:b,s:s,s:I}", "ok", 1, "user", id, "meetings", (json_int_t) num(count)));
    else
        printf("%s: calendar read, %s meetings ahead\n", id, count);
    if (h)
        freeReplyObject(h);
    return rc;
}

int cli_calendar_command(const cli_opts_t *o, int n, const char **args)
{
    if ((o->login || o->password_file) && strcmp(args[1], "set"))
        return cli_usage_error("--user and --password-file belong to calendar set");
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return CLI_FAILED;
    int rc;
    if (!strcmp(args[1], "set"))
        rc = cal_set(o, r, args[2], args[3], args[4]);
    else if (!strcmp(args[1], "clear"))
        rc = cal_clear(o, r, args[2]);
    else if (!strcmp(args[1], "show"))
        rc = cal_show(o, r, args[2]);
    else
        rc = cal_sync(o, r, args[2]);
    (void) n;
    rw_redis_destroy(&r);
    return rc;
}
