/* tools/ringway.c — the `ringway` operator CLI: options, configuration, the command table and
 * what every command shares (errors, times, the Redis connection). The commands live in
 * tools/cli_*.c; docs/cli.md describes them all.
 * The configuration is the services' own: `-c FILE` (or $RINGWAY_CONFIG) and the RINGWAY_*
 * variables, so the CLI reaches the Redis the services use (host and port, or Sentinel, with
 * the password and db) and knows sip-edge's voicemail.uri and sip.peers for `explain`. Keys of
 * the file the CLI does not use are skipped, so any service's file will do.
 * Exit codes: 0 done, 1 refused or failed, 2 usage, 3 saved on the master but not yet safe
 * against a failover (docs/cli.md). */
#include "common/err.h"
#include "common/log.h"
#include "bus/curve.h"
#include "services/core/service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/cli_calendar.h"
#include "tools/cli_group.h"
#include "tools/cli_account.h"

/* The keys the CLI reads; the redis.* ones as every service declares them. */
static const rw_cfg_spec_t cli_spec[] = {
    { "redis.host", RW_CFG_STR, "127.0.0.1", 0, 0, "Redis address (numeric) when no sentinels are set" },
    { "redis.port", RW_CFG_INT, "6379", 1, 65535, "Redis port" },
    { "redis.sentinels", RW_CFG_STR, "", 0, 0, "comma-separated host:port of Redis Sentinels" },
    { "redis.master_name", RW_CFG_STR, "ringway", 0, 0, "Sentinel's name for the master" },
    { "redis.password", RW_CFG_STR, "", 0, 0, "Redis AUTH password" },
    { "redis.db", RW_CFG_INT, "0", 0, 15, "Redis database number" },
    { "redis.connect_timeout_ms", RW_CFG_INT, "1000", 1, 60000, "Redis connect timeout" },
    { "redis.command_timeout_ms", RW_CFG_INT, "2000", 1, 60000, "Redis command timeout" },
    { "redis.durable_replicas", RW_CFG_INT, "-1", -1, 16, "replicas a saved change waits for (-1: 1 with sentinels, else 0)" },
    { "redis.durable_timeout_ms", RW_CFG_INT, "1000", 1, 60000, "bound on the wait for replicas" },
    { "router.endpoints", RW_CFG_STR, "", 0, 0, "static router endpoints (empty: the registry)" },
    { "voicemail.uri", RW_CFG_STR, "", 0, 0, "sip-edge's voicemail server (explain)" },
    { "sip.peers", RW_CFG_STR, "", 0, 0, "sip-edge's peers and trunks (explain)" },
    { "bus.curve_cert", RW_CFG_STR, "", 0, 0, "the bus's CurveZMQ certificate (explain, events, queue watch)" },
    { "bus.curve_allow", RW_CFG_STR, "", 0, 0, "certificates allowed to connect (unused by the CLI's clients)" },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Every command: its words, argument counts (words included) and synopsis. */
typedef enum { GRP_DIR, GRP_USER, GRP_LIVE, GRP_EXPLAIN, GRP_EVENTS, GRP_GROUP, GRP_CALENDAR, GRP_ACCOUNT, GRP_BUS } group_t;
static const struct {
    const char *noun, *verb;         /* verb NULL: the noun alone */
    int min, max;
    group_t grp;
    const char *synopsis;
} commands[] = {
    { "import", NULL, 2, 2, GRP_USER, "import FILE.json" },
    { "user", "list", 2, 2, GRP_USER, "user list" },
    { "user", "show", 3, 3, GRP_USER, "user show USER" },
    { "user", "add", 3, 3, GRP_DIR, "user add USER --ext EXT --password PW [--number N] [--name NAME]" },
    { "user", "rm", 3, 3, GRP_DIR, "user rm USER" },
    { "device", "add", 5, 6, GRP_DIR, "device add USER DEVICE sip|number|voicemail [ADDRESS]" },
    { "device", "rm", 4, 4, GRP_DIR, "device rm USER DEVICE" },
    { "rule", "set", 5, 5, GRP_DIR, "rule set USER PROFILE|pinned 'RULE-JSON'" },
    { "rule", "clear", 4, 5, GRP_DIR, "rule clear USER PROFILE|pinned [NAME]" },
    { "rule", "show", 3, 3, GRP_DIR, "rule show USER" },
    { "profile", "switch", 4, 4, GRP_DIR, "profile switch USER PROFILE" },
    { "divert", "set", 6, 6, GRP_DIR, "divert set USER TO START END" },
    { "divert", "clear", 3, 3, GRP_DIR, "divert clear USER" },
    { "divert", "show", 3, 3, GRP_LIVE, "divert show USER" },
    { "presence", "set", 4, 4, GRP_LIVE, "presence set USER STATE [--until TIME]" },
    { "presence", "clear", 3, 3, GRP_LIVE, "presence clear USER" },
    { "presence", "show", 3, 3, GRP_LIVE, "presence show USER" },
    { "regs", NULL, 2, 2, GRP_LIVE, "regs USER" },
    { "calendar", "set", 5, 5, GRP_CALENDAR, "calendar set USER ics|caldav URL [--user U --password-file F]" },
    { "calendar", "clear", 3, 3, GRP_CALENDAR, "calendar clear USER" },
    { "calendar", "show", 3, 3, GRP_CALENDAR, "calendar show USER" },
    { "calendar", "sync", 3, 3, GRP_CALENDAR, "calendar sync USER" },
    { "trunk", "add", 5, 5, GRP_DIR, "trunk add NAME +PREFIX[,+P...] sip:ADDRESS [--order N]" },
    { "trunk", "rm", 3, 3, GRP_DIR, "trunk rm NAME" },
    { "explain", NULL, 2, 2, GRP_EXPLAIN, "explain NUMBER [--from CALLER] [--at TIME]" },
    { "events", NULL, 1, 2, GRP_EVENTS, "events [TOPIC] [--follow | --for SECONDS] [--count N]" },
    { "fallback", "rebuild", 2, 2, GRP_DIR, "fallback rebuild" },
    { "group", "list", 2, 2, GRP_GROUP, "group list" },
    { "group", "show", 3, 3, GRP_GROUP, "group show GROUP" },
    { "group", "add", 4, 8, GRP_GROUP, "group add GROUP EXT [members=U1,U2] [KEY=VALUE...]" },
    { "group", "set", 4, 8, GRP_GROUP, "group set GROUP KEY=VALUE..." },
    { "group", "rm", 3, 3, GRP_GROUP, "group rm GROUP" },
    { "group", "import", 3, 3, GRP_GROUP, "group import FILE.json" },
    { "group", "export", 2, 2, GRP_GROUP, "group export" },
    { "member", "add", 4, 8, GRP_GROUP, "member add GROUP USER [tier=N] [penalty=N] [weight=N] [skills=A,B] [device=D]" },
    { "member", "set", 5, 8, GRP_GROUP, "member set GROUP USER KEY=VALUE..." },
    { "member", "rm", 4, 4, GRP_GROUP, "member rm GROUP USER" },
    { "agent", "login", 3, 4, GRP_GROUP, "agent login USER [GROUP]" },
    { "agent", "logout", 3, 4, GRP_GROUP, "agent logout USER [GROUP]" },
    { "agent", "pause", 4, 4, GRP_GROUP, "agent pause USER REASON" },
    { "agent", "resume", 3, 3, GRP_GROUP, "agent resume USER" },
    { "agent", "status", 3, 3, GRP_GROUP, "agent status USER" },
    { "queue", "show", 3, 3, GRP_GROUP, "queue show GROUP" },
    { "queue", "watch", 3, 3, GRP_GROUP, "queue watch GROUP [--follow | --for SECONDS] [--count N]" },
    { "account", "list", 2, 2, GRP_ACCOUNT, "account list" },
    { "account", "add", 3, 6, GRP_ACCOUNT, "account add NAME [user=U] [roles=R,...] [groups=G,...] [--password-file F]" },
    { "account", "passwd", 3, 3, GRP_ACCOUNT, "account passwd NAME [--password-file F]" },
    { "account", "rm", 3, 3, GRP_ACCOUNT, "account rm NAME" },
    { "bus", "keygen", 3, 3, GRP_BUS, "bus keygen FILE" },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

void cli_usage(FILE *out)
{
    fprintf(out,
        "usage: ringway [-c FILE] [--redis HOST:PORT] [--json] COMMAND ...\n"
        "  import FILE.json                 load users, devices, rules and trunks from a file\n"
        "  user list | show USER | rm USER\n"
        "  user add USER --ext EXT --password PW [--number N] [--name NAME] [--site S]\n"
        "           [--tz ZONE] [--realm REALM]\n"
        "  device add USER DEVICE sip|number|voicemail [ADDRESS]   device rm USER DEVICE\n"
        "  rule set USER PROFILE|pinned 'RULE-JSON'   rule clear USER PROFILE|pinned [NAME]\n"
        "  rule show USER                   profile switch USER PROFILE\n"
        "  divert set USER TO START END     divert clear USER     divert show USER\n"
        "  presence set USER STATE [--until TIME]     presence clear USER     presence show USER\n"
        "           STATE: available busy away in_meeting dnd offline\n"
        "  regs USER                        the user's live registrations\n"
        "  calendar set USER ics|caldav URL [--user U --password-file F]   calendar clear USER\n"
        "  calendar show USER               calendar sync USER: read it now, print the result\n"
        "  trunk add NAME +PREFIX[,+P...] sip:ADDRESS [--order N]   trunk rm NAME\n"
        "  explain NUMBER [--from CALLER] [--at TIME] [--router ENDPOINT]\n"
        "                                   where a call would ring, why, and what sip-edge sends\n"
        "  events [TOPIC] [--follow | --for SECONDS] [--count N]\n"
        "                                   bus events of every live publisher (default 10 s)\n"
        "  fallback rebuild                 have the routers rewrite every fallback plan\n"
        "  group list | show GROUP | rm GROUP | export | import FILE.json\n"
        "  group add GROUP EXT [members=U1,U2] [KEY=VALUE...]   group set GROUP KEY=VALUE...\n"
        "           KEY: strategy ring_ms prog_start prog_step_s tier_wait_s max_wait_s max_len\n"
        "           join_empty wrapup_s autopause sl_s overflow priority skills caller_skills\n"
        "           dialled_skills number name (docs/huntgroup.md)\n"
        "  member add|set GROUP USER [tier=N penalty=N weight=N skills=A,B device=D]\n"
        "  member rm GROUP USER\n"
        "  agent login|logout USER [GROUP]  agent pause USER REASON  agent resume|status USER\n"
        "  queue show GROUP                 queue watch GROUP: live wallboard from queue.* events\n"
        "  account add NAME [user=U] [roles=supervisor,admin] [groups=G1,G2] [--password-file F]\n"
        "  account passwd NAME [--password-file F]   account rm NAME   account list\n"
        "                                   the gateway's local accounts; the password is read\n"
        "                                   from the file or the first line of standard input\n"
        "  bus keygen FILE                  a CurveZMQ key pair for the bus: FILE (public) and\n"
        "                                   FILE_secret (0600); set bus.curve_cert = FILE\n"
        "Configuration: the services' own, from -c FILE (or RINGWAY_CONFIG) and RINGWAY_*\n"
        "  variables: redis.* (host, port, sentinels, password, db), router.endpoints, and\n"
        "  sip-edge's voicemail.uri and sip.peers. --redis HOST:PORT overrides the address.\n"
        "TIME: 2026-03-29T09:30:00Z, 2026-03-29T10:30:00+01:00 or milliseconds since the epoch;\n"
        "  a time without a zone is refused.\n"
        "--json: results as JSON on stdout; an error as {\"ok\":false,\"error\":...} on stderr.\n"
        "Exit codes: 0 done, 1 refused or failed (the reason on stderr), 2 usage error,\n"
        "  3 saved on the Redis master but not yet on a replica (not safe against a failover).\n"
        "Details: docs/cli.md.\n");
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ringway: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(ringway --help lists the commands)\n", stderr);
    return CLI_USAGE;
}

int cli_fail(const cli_opts_t *o, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (o && o->json) {
        json_t *j = json_pack("{s:b,s:s}", "ok", 0, "error", why);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"ok\":false}");
        free(s);
        json_decref(j);
    } else {
        fprintf(stderr, "ringway: %s\n", why);
    }
    return CLI_FAILED;
}

int cli_durable(const cli_opts_t *o, rw_redis_t *r)
{
    char why[300];
    if (rw_redis_durable(r, why, sizeof why) == 0)
        return CLI_OK;
    if (o->json) {
        json_t *j = json_pack("{s:b,s:b,s:s}", "ok", 0, "saved_on_master", 1, "error", why);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", s ? s : "{\"ok\":false}");
        free(s);
        json_decref(j);
    } else {
        fprintf(stderr, "ringway: %s\n", why);
    }
    return CLI_UNSAFE;
}

void cli_progress(const char *fmt, ...)
{
    va_list ap;
    fputs("ringway: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void cli_print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    printf("%s\n", s ? s : "null");
    free(s);
    json_decref(j);
}

rw_redis_t *connect_redis(const cli_opts_t *o)
{
    rw_redis_opts_t ro;
    char where[300];
    rw_service_redis_opts(o->cfg, &ro);
    if (ro.sentinels && ro.sentinels[0])
        snprintf(where, sizeof where, "master '%s' through sentinels %s", ro.master_name, ro.sentinels);
    else
        snprintf(where, sizeof where, "%s:%d", ro.host, ro.port);
    rw_redis_t *r = rw_redis_new(&ro);
    redisReply *rep = r ? rw_redis_command(r, "PING") : NULL;
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        cli_fail(o, "cannot reach Redis at %s%s%s%s (set -c FILE, RINGWAY_REDIS_* or --redis)", where,
                 rep ? ": " : "", rep ? rep->str : "",
                 !rep && ro.password && ro.password[0] ? ", or it refused redis.password" : "");
        if (rep)
            freeReplyObject(rep);
        rw_redis_destroy(&r);
        return NULL;
    }
    freeReplyObject(rep);
    return r;
}

/* "+01:00", "+0100", "+01", "-05:30" -> seconds east of UTC; -1 when not an offset. */
static int parse_offset(const char *s, long *secs)
{
    int h = 0, m = 0, n = 0;
    if ((s[0] != '+' && s[0] != '-') ||
        !(sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) == 2 || sscanf(s + 1, "%2d%2d%n", &h, &m, &n) == 2 ||
          (m = 0, sscanf(s + 1, "%2d%n", &h, &n) == 1)) ||
        s[1 + n] || n < 2 || h > 14 || m > 59)
        return -1;
    *secs = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    return 0;
}

int cli_parse_time(const char *s, uint64_t *ms, char *why, size_t why_len)
{
    struct tm tm;
    long off = 0;
    char *end;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (end) {
        if (*end == ':' && !(end = strptime(end, ":%S", &tm)))
            return snprintf(why, why_len, "'%s' is not a time like 2026-03-29T09:30:00Z", s), RW_EINVAL;
        if (!*end)
            return snprintf(why, why_len, "'%s' has no zone: add Z (UTC) or an offset like +01:00", s),
                   RW_EINVAL;
        if (strcmp(end, "Z") && parse_offset(end, &off) < 0)
            return snprintf(why, why_len, "'%s': '%s' is not Z or an offset like +01:00", s, end), RW_EINVAL;
        time_t t = timegm(&tm) - off;
        if (t < 0)
            return snprintf(why, why_len, "'%s' is before 1970", s), RW_EINVAL;
        *ms = (uint64_t) t * 1000u;
        return 0;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-')
        return snprintf(why, why_len, "'%s' is not 2026-03-29T09:30:00Z, an offset time or epoch ms", s),
               RW_EINVAL;
    *ms = v;
    return 0;
}

void cli_format_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%llu", (unsigned long long) ms);
}

static const char *const value_opts[] = { "--router", "--from", "--at", "--until", "--ext", "--number",
                                          "--name", "--site", "--tz", "--realm", "--password", "--order",
                                          "--user", "--password-file", NULL };

static int set_value_opt(cli_opts_t *o, const char *name, const char *v)
{
    const char **slots[] = { &o->router, &o->from, &o->at, &o->until, &o->ext, &o->number, &o->name,
                             &o->site, &o->tz, &o->realm, &o->password, &o->order, &o->login,
                             &o->password_file };
    for (int i = 0; value_opts[i]; i++)
        if (!strcmp(name, value_opts[i]))
            return *slots[i] = v, 0;
    return -1;
}

static int parse_uint(const char *flag, const char *v, unsigned max, unsigned *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || v[0] == '-' || n > max)
        return cli_usage_error("%s '%s' is not a number from 0 to %u", flag, v, max);
    *out = (unsigned) n;
    return 0;
}

/* The options wherever they stand; the other words into args. 0, or CLI_USAGE (said). */
static int parse_args(int argc, char **argv, cli_opts_t *o, rw_config_t *cfg, const char **args, int *n,
                      int *help)
{
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--follow"))
            o->follow = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            *help = 1;
        else if (a[0] == '-' && a[1] && !has_value && (!strcmp(a, "-c") || set_value_opt(o, a, "") == 0 ||
                 !strcmp(a, "--config") || !strcmp(a, "--redis") || !strcmp(a, "--count") ||
                 !strcmp(a, "--for")))
            return cli_usage_error("%s needs a value", a);
        else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            o->config_path = argv[++i];
        else if (!strcmp(a, "--redis")) {
            const char *hp = argv[++i], *colon = strrchr(hp, ':');
            char host[128];
            snprintf(host, sizeof host, "%.*s", colon ? (int) (colon - hp) : (int) strlen(hp), hp);
            if (!host[0] || rw_config_set(cfg, "redis.host", host, err, sizeof err) < 0 ||
                (colon && rw_config_set(cfg, "redis.port", colon + 1, err, sizeof err) < 0))
                return cli_usage_error("--redis '%s' is not HOST:PORT%s%s", hp, host[0] ? ": " : "",
                                       host[0] ? err : "");
        } else if (!strcmp(a, "--count")) {
            if (parse_uint(a, argv[++i], 1000000, &o->count))
                return CLI_USAGE;
        } else if (!strcmp(a, "--for")) {
            if (parse_uint(a, argv[++i], 86400, &o->for_s))
                return CLI_USAGE;
        } else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) {
            if (set_value_opt(o, a, argv[i + 1]) < 0)
                return cli_usage_error("unknown option '%s'", a);
            i++;
        } else if (*n == 8)
            return cli_usage_error("too many arguments ('%s')", a);
        else
            args[(*n)++] = a;
    }
    return 0;
}

/* The command args name, or -1 after saying what is wrong. */
static int find_command(int n, const char **args)
{
    int noun_known = 0;
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (strcmp(args[0], commands[c].noun))
            continue;
        noun_known = 1;
        if (commands[c].verb && (n < 2 || strcmp(args[1], commands[c].verb)))
            continue;
        if (n < commands[c].min || n > commands[c].max)
            return cli_usage_error("usage: ringway %s", commands[c].synopsis), -1;
        return (int) c;
    }
    if (noun_known && n >= 2)
        cli_usage_error("unknown command '%s %s'", args[0], args[1]);
    else if (noun_known)
        cli_usage_error("'%s' needs a command", args[0]);
    else
        cli_usage_error("unknown command '%s'", args[0]);
    return -1;
}

static int bus_keygen(const cli_opts_t *o, const char *file)
{
    if (access(file, F_OK) == 0)
        return cli_fail(o, "%s exists: a new key pair would lock out every instance using it", file);
    if (rw_bus_curve_keygen(file) != 0)
        return cli_fail(o, "cannot write %s and %s_secret", file, file);
    if (o->json)
        cli_print_json(json_pack("{s:b, s:s, s:s+}", "ok", 1, "public", file, "secret", file, "_secret"));
    else
        printf("bus key pair: %s (public) and %s_secret (secret, mode 0600): set bus.curve_cert = %s on every host\n",
               file, file, file);
    return CLI_OK;
}

/* The bus's CURVE for the commands that use it (explain, events, queue watch). */
static int bus_secure(const cli_opts_t *o)
{
    const char *cert = rw_config_str(o->cfg, "bus.curve_cert");
    if (!cert[0] || rw_bus_curve_enabled())
        return 0;
    if (rw_bus_curve_enable(cert, rw_config_str(o->cfg, "bus.curve_allow")) != 0)
        return cli_fail(o, "bus.curve_cert %s: unreadable, or no %s_secret beside it", cert, cert);
    return 0;
}

static int run(cli_opts_t *o, int n, const char **args)
{
    char why[300];
    int c = find_command(n, args);
    if (c < 0)
        return CLI_USAGE;
    if (o->at && cli_parse_time(o->at, &o->at_ms, why, sizeof why) < 0)
        return cli_usage_error("--at %s", why);
    if (o->until && cli_parse_time(o->until, &o->until_ms, why, sizeof why) < 0)
        return cli_usage_error("--until %s", why);
    if (commands[c].grp != GRP_BUS && bus_secure(o) != 0)
        return CLI_FAILED;
    switch (commands[c].grp) {
    case GRP_USER:
        return cli_user_command(o, n, args);
    case GRP_LIVE:
        return cli_live_command(o, n, args);
    case GRP_EXPLAIN:
        return cli_explain(o, args[1]);
    case GRP_EVENTS:
        return cli_events(o, n > 1 ? args[1] : NULL);
    case GRP_GROUP:
        return cli_group_command(o, n, args);
    case GRP_CALENDAR:
        return cli_calendar_command(o, n, args);
    case GRP_ACCOUNT:
        return cli_account_command(o, n, args);
    case GRP_BUS:
        return bus_keygen(o, args[2]);
    default:
        return cli_dir_command(o, n, args);
    }
}

int main(int argc, char **argv)
{
    cli_opts_t o = { .deadline_ms = 1000, .for_s = 10 };
    const char *args[8];
    char err[512];
    int n = 0, help = 0, rc;
    rw_log_init("cli", "-", RW_LOG_ERROR);
    rw_config_t *cfg = rw_config_new();
    if (!cfg || rw_config_add_spec(cfg, cli_spec) < 0)
        return fprintf(stderr, "ringway: out of memory\n"), CLI_FAILED;
    rw_config_skip_unknown(cfg, true);
    o.cfg = cfg;
    o.config_path = getenv("RINGWAY_CONFIG") && getenv("RINGWAY_CONFIG")[0] ? getenv("RINGWAY_CONFIG") : NULL;
    rc = parse_args(argc, argv, &o, cfg, args, &n, &help);
    if (rc == 0 && help) {
        cli_usage(stdout);
    } else if (rc == 0 && n == 0) {
        rc = cli_usage_error("no command given");
    } else if (rc == 0 && rw_config_load(cfg, o.config_path, err, sizeof err) < 0) {
        rc = cli_usage_error("configuration: %s", err);
    } else if (rc == 0) {
        rc = run(&o, n, args);
    }
    rw_bus_curve_disable();
    rw_config_destroy(&cfg);
    return rc;
}
