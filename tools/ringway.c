/* tools/ringway.c — the `ringway` operator CLI: options, the read commands and `explain`.
 * The directory-writing commands are in tools/cli_dir.c; every command is listed by usage().
 * Redis is found from RINGWAY_REDIS_HOST / RINGWAY_REDIS_PORT (or --redis HOST:PORT); routers
 * from --router ENDPOINT, RINGWAY_ROUTER_ENDPOINTS, or the Redis registry.
 * Exit codes: 0 done, 1 failed (error on stderr), 2 usage. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/directory.h"
#include "common/err.h"
#include "common/log.h"
#include "protocols/route.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

int usage(void)
{
    fprintf(stderr,
            "usage: ringway [--redis HOST:PORT] [--json] COMMAND\n"
            "  import FILE.json                 load users, devices, rules and trunks from a file\n"
            "  user list | show ID | rm ID\n"
            "  user add ID --ext EXT [--number N] [--name NAME] [--site S] [--tz ZONE]\n"
            "           [--realm REALM] --password PW\n"
            "  device add USER DEVICE sip|number|voicemail [ADDRESS]   device rm USER DEVICE\n"
            "  rule set USER PROFILE|pinned 'RULE-JSON'   rule clear USER PROFILE|pinned [NAME]\n"
            "  rule show USER                   profile switch USER PROFILE\n"
            "  divert set USER TO START END     divert clear USER   (calendar divert; times below)\n"
            "  trunk add NAME +PREFIX[,+P...] sip:ADDRESS [--order N]   trunk rm NAME\n"
            "  explain NUMBER [--from CALLER] [--at TIME] [--router ENDPOINT]\n"
            "  fallback rebuild                 have the routers rewrite every fallback plan\n"
            "TIME is 2026-03-29T09:30:00Z (UTC) or milliseconds since the epoch.\n"
            "Exit codes: 0 done, 1 failed (the reason on stderr), 2 usage error.\n");
    return 2;
}

int cli_parse_time(const char *s, uint64_t *ms)
{
    struct tm tm;
    char *end;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end && (*end == 'Z' || !*end)) {
        time_t t = timegm(&tm);
        *ms = (uint64_t) t * 1000u;
        return t < 0 ? -1 : 0;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end)
        return -1;
    *ms = v;
    return 0;
}

rw_redis_t *connect_redis(const cli_opts_t *o)
{
    rw_redis_opts_t ro = { .host = o->redis_host, .port = o->redis_port,
                           .connect_timeout_ms = 1000, .command_timeout_ms = 2000 };
    rw_redis_t *r = rw_redis_new(&ro);
    redisReply *rep = r ? rw_redis_command(r, "PING") : NULL;
    if (!rep) {
        fprintf(stderr, "ringway: cannot reach Redis at %s:%d\n", o->redis_host, o->redis_port);
        rw_redis_destroy(&r);
        return NULL;
    }
    freeReplyObject(rep);
    return r;
}

static int cmd_import(const cli_opts_t *o, const char *path)
{
    char err[512];
    int n = 0;
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return 1;
    int rc = rw_dir_import_file(r, &rw_numplan_uk, path, &n, err, sizeof err);
    rw_redis_destroy(&r);
    if (rc < 0) {
        fprintf(stderr, "ringway: import stopped: %s (%d users loaded before it)\n", err, n);
        return 1;
    }
    if (err[0])
        fprintf(stderr, "ringway: %s\n", err);
    if (o->json)
        printf("{\"imported_users\":%d}\n", n);
    else
        printf("imported %d users from %s\n", n, path);
    return 0;
}

static int cmd_user_list(const cli_opts_t *o)
{
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return 1;
    redisReply *rep = rw_redis_command(r, "SORT rw:users ALPHA");
    int rc = 1;
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
        if (o->json) {
            char *s = json_dumps(arr, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
        }
        json_decref(arr);
        rc = 0;
    } else {
        fprintf(stderr, "ringway: reading users failed\n");
    }
    if (rep)
        freeReplyObject(rep);
    rw_redis_destroy(&r);
    return rc;
}

static int cmd_user_show(const cli_opts_t *o, const char *id)
{
    rw_dir_user_t u;
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return 1;
    int rc = rw_dir_user_get(r, id, &u);
    if (rc < 0) {
        fprintf(stderr, "ringway: %s\n", rc == RW_ENOTFOUND ? "no such user" : "reading the user failed");
        rw_redis_destroy(&r);
        return 1;
    }
    redisReply *devs = rw_redis_command(r, "HGETALL rw:user:%s:devices", id);
    redisReply *ver = rw_redis_command(r, "HGET rw:user:%s ver", id);
    long long version = ver && ver->type == REDIS_REPLY_STRING ? atoll(ver->str) : 0;
    if (ver)
        freeReplyObject(ver);
    json_t *jd = json_object();
    for (size_t i = 0; devs && devs->type == REDIS_REPLY_ARRAY && i + 1 < devs->elements; i += 2)
        json_object_set_new(jd, devs->element[i]->str, json_string(devs->element[i + 1]->str));
    if (o->json) {
        json_t *ju = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "id", u.id, "ext", u.ext, "number",
                               u.number, "name", u.name, "site", u.site, "tz", u.tz, "ver",
                               (json_int_t) version, "devices", jd);
        char *s = json_dumps(ju, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(ju);
    } else {
        printf("id      %s\next     %s\nnumber  %s\nname    %s\nsite    %s\ntz      %s\n"
               "version %lld (directory writes to this user)\ndevices\n",
               u.id, u.ext, u.number, u.name, u.site, u.tz, version);
        const char *k;
        json_t *v;
        json_object_foreach(jd, k, v) printf("  %-12s %s\n", k, json_string_value(v));
        json_decref(jd);
    }
    if (devs)
        freeReplyObject(devs);
    rw_redis_destroy(&r);
    return 0;
}

/* Routers: --router, else RINGWAY_ROUTER_ENDPOINTS, else the live entries of the registry. */
static char *router_endpoints(const cli_opts_t *o)
{
    if (o->router)
        return strdup(o->router);
    if (getenv("RINGWAY_ROUTER_ENDPOINTS"))
        return strdup(getenv("RINGWAY_ROUTER_ENDPOINTS"));
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return NULL;
    redisReply *rep = rw_redis_command(r, "ZRANGEBYSCORE rw:svc:router %llu +inf",
                                       (unsigned long long) rw_clock_wall_ms());
    char *list = NULL;
    size_t len = 0;
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const char *bar = strchr(rep->element[i]->str, '|');
        if (!bar)
            continue;
        char *grown = realloc(list, len + strlen(bar) + 2);
        if (!grown)
            break;
        list = grown;
        len += (size_t) sprintf(list + len, "%s%s", len ? "," : "", bar + 1);
    }
    if (rep)
        freeReplyObject(rep);
    rw_redis_destroy(&r);
    return list;
}

typedef struct {
    su_root_t *root;
    int status, done;
    rw_plan_t plan;
} explain_t;

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    explain_t *e = arg;
    e->done = 1;
    e->status = status ? status : rw_proto_plan_decode(body, len, &e->plan);
    su_root_break(e->root);
}

static void print_plan(const cli_opts_t *o, const rw_plan_t *plan)
{
    static char text[16384];
    if (!o->json) {
        rw_proto_plan_format(plan, text, sizeof text);
        fputs(text, stdout);
        return;
    }
    json_t *trace = json_array(), *stages = json_array();
    for (uint32_t i = 0; i < plan->n_trace; i++)
        json_array_append_new(trace, json_string(plan->trace[i]));
    for (uint32_t s = 0; s < plan->n_stages; s++) {
        json_t *targets = json_array();
        for (uint32_t t = 0; t < plan->stages[s].n_targets; t++) {
            const rw_target_t *tg = &plan->stages[s].targets[t];
            json_array_append_new(targets, json_pack("{s:s,s:s,s:s}", "type",
                                                     rw_proto_target_type_name(tg->type), "dest", tg->aor,
                                                     "diversion", tg->diversion));
        }
        json_array_append_new(stages, json_pack("{s:i,s:o}", "ring_ms", (int) plan->stages[s].ring_ms,
                                                "targets", targets));
    }
    json_t *j = json_pack("{s:s,s:s,s:o,s:s,s:o}", "status", rw_proto_plan_status_name(plan->status),
                          "user", plan->user, "stages", stages, "final", rw_proto_final_name(plan->final),
                          "trace", trace);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(j);
}

static int cmd_explain(const cli_opts_t *o, const char *number)
{
    static explain_t e;
    rw_route_req_t rq;
    msgpack_sbuffer sb;
    char *eps = router_endpoints(o);
    int rc = 1;
    if (!eps || !eps[0]) {
        fprintf(stderr, "ringway: no router known (use --router ENDPOINT or start a router)\n");
        free(eps);
        return 1;
    }
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "explain-%llu", (unsigned long long) rw_clock_mono_us());
    snprintf(rq.caller, sizeof rq.caller, "%s", o->from ? o->from : "anonymous");
    snprintf(rq.callee, sizeof rq.callee, "%s", number);
    snprintf(rq.source, sizeof rq.source, "cli");
    rq.time_ms = o->at_ms ? o->at_ms : rw_clock_wall_ms();
    msgpack_sbuffer_init(&sb);
    su_init();
    e.root = su_root_create(NULL);
    rw_client_t *cli = rw_client_new(e.root, "router", NULL);
    if (rw_proto_route_req_encode(&rq, &sb) < 0 || !cli || rw_bus_static_endpoints(cli, eps) < 0 ||
        rw_client_request(cli, sb.data, sb.size, o->deadline_ms, on_plan, &e) < 0) {
        fprintf(stderr, "ringway: could not send the request to %s\n", eps);
    } else {
        while (!e.done)
            su_root_run(e.root);
        if (e.status < 0)
            fprintf(stderr, "ringway: no answer from a router (%s)\n", rw_strerror(e.status));
        else {
            print_plan(o, &e.plan);
            rc = 0;
        }
    }
    rw_client_destroy(&cli);
    su_root_destroy(e.root);
    su_deinit();
    msgpack_sbuffer_destroy(&sb);
    free(eps);
    return rc;
}

static const char *const value_opts[] = { "--router", "--from", "--at", "--ext", "--number", "--name",
                                          "--site", "--tz", "--realm", "--password", "--order", NULL };

static int parse_opt(cli_opts_t *o, const char *name, const char *v)
{
    const char **slots[] = { &o->router, &o->from, &o->at, &o->ext, &o->number, &o->name,
                             &o->site, &o->tz, &o->realm, &o->password, &o->order };
    for (int i = 0; value_opts[i]; i++)
        if (!strcmp(name, value_opts[i]))
            return *slots[i] = v, 0;
    return -1;
}

int main(int argc, char **argv)
{
    cli_opts_t o = { .redis_host = "127.0.0.1", .redis_port = 6379, .deadline_ms = 1000 };
    const char *args[8];
    int n = 0;
    rw_log_init("cli", "-", RW_LOG_WARN);
    if (getenv("RINGWAY_REDIS_HOST"))
        snprintf(o.redis_host, sizeof o.redis_host, "%s", getenv("RINGWAY_REDIS_HOST"));
    if (getenv("RINGWAY_REDIS_PORT"))
        o.redis_port = atoi(getenv("RINGWAY_REDIS_PORT"));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            o.json = 1;
        else if (!strcmp(argv[i], "--redis") && i + 1 < argc) {
            const char *hp = argv[++i], *colon = strrchr(hp, ':');
            snprintf(o.redis_host, sizeof o.redis_host, "%.*s", colon ? (int) (colon - hp) : (int) strlen(hp), hp);
            if (colon)
                o.redis_port = atoi(colon + 1);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(), 0;
        else if (!strncmp(argv[i], "--", 2) && i + 1 < argc && parse_opt(&o, argv[i], argv[i + 1]) == 0)
            i++;
        else if ((argv[i][0] == '-' && argv[i][1]) || n == 8)
            return usage();
        else
            args[n++] = argv[i];
    }
    if (o.redis_port <= 0 || o.redis_port > 65535)
        return fprintf(stderr, "ringway: bad Redis port\n"), 2;
    if (o.at && cli_parse_time(o.at, &o.at_ms) < 0)
        return fprintf(stderr, "ringway: --at '%s' is not 2026-03-29T09:30:00Z or epoch ms\n", o.at), 2;
    if (n == 2 && !strcmp(args[0], "import"))
        return cmd_import(&o, args[1]);
    if (n == 2 && !strcmp(args[0], "user") && !strcmp(args[1], "list"))
        return cmd_user_list(&o);
    if (n == 3 && !strcmp(args[0], "user") && !strcmp(args[1], "show"))
        return cmd_user_show(&o, args[2]);
    if (n == 2 && !strcmp(args[0], "explain"))
        return cmd_explain(&o, args[1]);
    return cli_dir_command(&o, n, args);
}
