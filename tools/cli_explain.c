/* tools/cli_explain.c — `ringway explain NUMBER`: asks a router for the plan of a call (as
 * sip-edge would, at a given time and from a given caller) and prints it with the router's
 * trace and, for every target and for the end of the plan, what sip-edge will really do with
 * its configuration (tools/cli_edge.h). Routers: --router, router.endpoints (the configuration,
 * RINGWAY_ROUTER_ENDPOINTS), else the live entries of the registry rw:svc:router. The request,
 * the JSON and the sentence of --json come from tools/explain.c, which the gateway's explain
 * uses too.
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
#include "tools/explain.h"

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
    char *list = rw_explain_routers(r, NULL);
    rw_redis_destroy(&r);
    return list ? list : strdup("");
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

/* The JSON of tools/explain.c with the sentence the gateway shows for the same plan. */
static void print_json(const cli_opts_t *o, const rw_plan_t *p, const cli_edge_t *edge, const char *number)
{
    char sentence[1024];
    json_t *devices = NULL;
    rw_redis_t *r = p->user[0] ? connect_redis(o) : NULL;
    if (r)
        devices = rw_explain_devices(r, p->user);
    rw_redis_destroy(&r);
    rw_explain_sentence(p, number, devices, sentence, sizeof sentence);
    json_decref(devices);
    cli_print_json(rw_explain_json(p, edge, sentence));
}

/* Sends the request and turns a loop until the answer or the deadline (tools/explain.c). */
static int ask_router(const cli_opts_t *o, const char *eps, const rw_route_req_t *rq, rw_plan_t *plan)
{
    su_init();
    int rc = rw_explain_ask(eps, rq, o->deadline_ms, plan);
    su_deinit();
    return rc;
}

int cli_explain(const cli_opts_t *o, const char *number)
{
    static rw_plan_t plan;
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
    int rc = ask_router(o, eps, &rq, &plan);
    if (rc == RW_EINVAL)
        rc = cli_fail(o, "could not send the request to %s", eps);
    else if (rc < 0)
        rc = cli_fail(o, "no answer from a router at %s (%s)", eps, rw_strerror(rc));
    else {
        if (o->json)
            print_json(o, &plan, &edge, number);
        else
            print_text(&plan, &edge);
        rc = plan.status == RW_PLAN_OK ? CLI_OK
           : plan.status == RW_PLAN_NOT_FOUND ? cli_fail(o, "no user has the number %s", number)
           : cli_fail(o, "the router could not build a plan for %s", number);
    }
    free(eps);
    return rc;
}
