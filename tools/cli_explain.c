/* tools/cli_explain.c — `ringway explain NUMBER`: asks a router for the plan of a call (as
 * sip-edge would, at a given time and from a given caller) and prints it with the router's
 * trace and, for every target and for the end of the plan, what sip-edge will really do with
 * its configuration (tools/cli_edge.h). Routers: --router, router.endpoints (the configuration,
 * RINGWAY_ROUTER_ENDPOINTS), else the live entries of the registry rw:svc:router.
 * A number no user has exits 1, as does a router that does not answer. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"
#include "protocols/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_edge.h"

static char *router_endpoints(const cli_opts_t *o)
{
    const char *conf = rw_config_str(o->cfg, "router.endpoints");
    if (o->router)
        return strdup(o->router);
    if (conf[0])
        return strdup(conf);
    rw_redis_t *r = connect_redis(o);
    if (!r)
        return NULL;
    redisReply *rep = rw_redis_command(r, "ZRANGEBYSCORE rw:svc:router %llu +inf",
                                       (unsigned long long) rw_clock_wall_ms());
    char *list = calloc(1, 1);
    size_t len = 0;
    for (size_t i = 0; list && rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
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

/* The plan as rw_proto_plan_format() writes it, one line per target and one for the final
 * action, each followed by what sip-edge does with it. */
static void print_text(const rw_plan_t *p, const cli_edge_t *edge)
{
    static char text[16384];
    char how[256], fin[320];
    uint32_t stage = 0, target = 0;
    int in_stages = 1;
    rw_proto_plan_format(p, text, sizeof text);
    cli_edge_final(edge, p, fin, sizeof fin);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        fputs(line, stdout);
        if (in_stages && !strncmp(line, "stage ", 6)) {
            stage++;
            target = 0;
        } else if (in_stages && !strncmp(line, "  ", 2) && stage && target < p->stages[stage - 1].n_targets) {
            int rings = cli_edge_target(edge, &p->stages[stage - 1].targets[target++], how, sizeof how);
            if (!rings)
                printf("  (not rung: %s)", how);
            else if (how[0])
                printf("  (sip-edge: %s)", how);
        } else if (in_stages && !strncmp(line, "then: ", 6)) {
            in_stages = 0;
            printf(" (%s)", fin);
        }
        fputc('\n', stdout);
    }
    printf("sip-edge settings read from %s\n", edge->source);
}

static json_t *target_json(const rw_target_t *t, const cli_edge_t *edge)
{
    char how[256];
    json_t *trunks = json_array();
    for (uint32_t i = 0; t->type == RW_TARGET_NUMBER && i < t->n_trunks && i < RW_PLAN_MAX_TRUNKS; i++)
        json_array_append_new(trunks, json_string(t->trunks[i]));
    int rings = cli_edge_target(edge, t, how, sizeof how);
    json_t *o = json_pack("{s:s,s:s,s:o,s:b,s:s,s:{s:b,s:s}}", "type", rw_proto_target_type_name(t->type),
                          "dest", t->aor, "trunks", trunks, "private", t->is_private, "diversion", t->diversion,
                          "at_edge", "rings", rings, "how", how);
    if (o && t->device[0])       /* a devices target that rings one SIP device of the user only */
        json_object_set_new(o, "device", json_string(t->device));
    return o;
}

static void print_json(const rw_plan_t *p, const cli_edge_t *edge)
{
    char fin[320];
    json_t *trace = json_array(), *stages = json_array();
    for (uint32_t i = 0; i < p->n_trace; i++)
        json_array_append_new(trace, json_string(p->trace[i]));
    for (uint32_t s = 0; s < p->n_stages; s++) {
        json_t *targets = json_array();
        for (uint32_t t = 0; t < p->stages[s].n_targets; t++)
            json_array_append_new(targets, target_json(&p->stages[s].targets[t], edge));
        json_array_append_new(stages, json_pack("{s:i,s:o}", "ring_ms", (int) p->stages[s].ring_ms,
                                                "targets", targets));
    }
    int has_target = p->final == RW_FINAL_VOICEMAIL || p->final == RW_FINAL_NUMBER;
    cli_edge_final(edge, p, fin, sizeof fin);
    cli_print_json(json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:s,s:o}", "status", rw_proto_plan_status_name(p->status),
                             "user", p->user, "stages", stages, "final", rw_proto_final_name(p->final),
                             "final_target", has_target ? target_json(&p->final_target, edge) : json_null(),
                             "final_at_edge", fin, "edge_settings", edge->source, "trace", trace));
}

/* Sends the request and turns the loop until the answer or the deadline: 0, the bus's error,
 * or RW_EINVAL when the request could not be sent at all. */
static int ask_router(const cli_opts_t *o, const char *eps, const rw_route_req_t *rq, explain_t *e)
{
    msgpack_sbuffer sb;
    int rc = RW_EINVAL;
    msgpack_sbuffer_init(&sb);
    su_init();
    e->root = su_root_create(NULL);
    rw_client_t *cli = e->root ? rw_client_new(e->root, "router", NULL) : NULL;
    if (rw_proto_route_req_encode(rq, &sb) == 0 && cli && rw_bus_static_endpoints(cli, eps) == 0 &&
        rw_client_request(cli, sb.data, sb.size, o->deadline_ms, on_plan, e) == 0) {
        while (!e->done)
            su_root_run(e->root);
        rc = e->status < 0 ? (e->status == RW_EINVAL ? RW_EPROTO : e->status) : 0;
    }
    rw_client_destroy(&cli);
    if (e->root)
        su_root_destroy(e->root);
    su_deinit();
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int cli_explain(const cli_opts_t *o, const char *number)
{
    static explain_t e;
    static rw_route_req_t rq;
    cli_edge_t edge;
    char why[300];
    if (cli_edge_load(&edge, o->cfg, o->config_path, why, sizeof why) < 0)
        return cli_fail(o, "%s", why);
    if (strlen(number) >= sizeof rq.callee || (o->from && strlen(o->from) >= sizeof rq.caller))
        return cli_fail(o, "the number or caller is too long");
    char *eps = router_endpoints(o);
    if (!eps)
        return CLI_FAILED;                        /* Redis: already said */
    if (!eps[0]) {
        free(eps);
        return cli_fail(o, "no router is running (none in the registry rw:svc:router; "
                           "use --router ENDPOINT or router.endpoints)");
    }
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "explain-%llu", (unsigned long long) rw_clock_mono_us());
    snprintf(rq.caller, sizeof rq.caller, "%s", o->from ? o->from : "anonymous");
    snprintf(rq.callee, sizeof rq.callee, "%s", number);
    snprintf(rq.source, sizeof rq.source, "cli");
    rq.time_ms = o->at_ms ? o->at_ms : rw_clock_wall_ms();
    int rc = ask_router(o, eps, &rq, &e);
    if (rc == RW_EINVAL)
        rc = cli_fail(o, "could not send the request to %s", eps);
    else if (rc < 0)
        rc = cli_fail(o, "no answer from a router at %s (%s)", eps, rw_strerror(rc));
    else {
        if (o->json)
            print_json(&e.plan, &edge);
        else
            print_text(&e.plan, &edge);
        rc = e.plan.status == RW_PLAN_OK ? CLI_OK
           : e.plan.status == RW_PLAN_NOT_FOUND ? cli_fail(o, "no user has the number %s", number)
           : cli_fail(o, "the router could not build a plan for %s", number);
    }
    free(eps);
    return rc;
}
