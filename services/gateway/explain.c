/* services/gateway/explain.c — the gateway's side of explain (explain.h). */
#include "services/gateway/explain.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "tools/explain.h"

#define EXPLAIN_DEADLINE_MS 2000

/* A bus client and its loop per request, one request at a time: explain is a person's click,
 * not a call path, and one loop at a time keeps Sofia's per-thread state simple. */
static pthread_mutex_t explain_mu = PTHREAD_MUTEX_INITIALIZER;

static int edge_from_env(cli_edge_t *e, char *why, size_t len)
{
    const char *vm = getenv("RINGWAY_VOICEMAIL_URI"), *peers = getenv("RINGWAY_SIP_PEERS");
    char err[256];
    memset(e, 0, sizeof *e);
    snprintf(e->voicemail_uri, sizeof e->voicemail_uri, "%s", vm ? vm : "");
    snprintf(e->source, sizeof e->source, "the gateway's environment");
    if (rw_peers_parse(&e->peers, peers ? peers : "", err, sizeof err) < 0)
        return snprintf(why, len, "sip.peers: %s", err), RW_EINVAL;
    return 0;
}

int rw_explain_user(rw_redis_t *r, const char *number, const char *from, uint64_t at_ms, json_t **out,
                    char *why, size_t why_len)
{
    rw_route_req_t *rq = calloc(1, sizeof *rq);
    rw_plan_t *plan = calloc(1, sizeof *plan);
    cli_edge_t *edge = calloc(1, sizeof *edge);
    char sentence[1024];
    int rc = 0;
    *out = NULL;
    if (!rq || !plan || !edge) {
        rc = RW_ENOMEM;
        snprintf(why, why_len, "out of memory");
        goto done;
    }
    if ((rc = edge_from_env(edge, why, why_len)) < 0)
        goto done;
    if (strlen(number) >= sizeof rq->callee || (from && strlen(from) >= sizeof rq->caller)) {
        rc = RW_EINVAL;
        snprintf(why, why_len, "the number or caller is too long");
        goto done;
    }
    char *eps = rw_explain_routers(r, getenv("RINGWAY_ROUTER_ENDPOINTS"));
    if (!eps || !eps[0]) {
        free(eps);
        rc = eps ? RW_EAGAIN : RW_EIO;
        snprintf(why, why_len, eps ? "no router is running (none in the registry rw:svc:router)"
                                   : "redis unreachable");
        goto done;
    }
    snprintf(rq->call_id, sizeof rq->call_id, "explain-gw-%llu", (unsigned long long) rw_clock_mono_us());
    snprintf(rq->caller, sizeof rq->caller, "%s", from && from[0] ? from : "anonymous");
    snprintf(rq->callee, sizeof rq->callee, "%s", number);
    snprintf(rq->source, sizeof rq->source, "cli");
    rq->time_ms = at_ms;
    pthread_mutex_lock(&explain_mu);
    rc = rw_explain_ask(eps, rq, EXPLAIN_DEADLINE_MS, plan);
    pthread_mutex_unlock(&explain_mu);
    if (rc < 0) {
        snprintf(why, why_len, "no answer from a router at %s (%s)", eps, rw_strerror(rc));
        free(eps);
        rc = rc == RW_ETIMEDOUT ? RW_ETIMEDOUT : RW_EIO;
        goto done;
    }
    free(eps);
    if (plan->status == RW_PLAN_NOT_FOUND) {
        rc = RW_ENOTFOUND;
        snprintf(why, why_len, "no user has the number %s", number);
        goto done;
    }
    json_t *devices = rw_explain_devices(r, plan->user);
    rw_explain_sentence(plan, number, devices, sentence, sizeof sentence);
    json_decref(devices);
    *out = rw_explain_json(plan, edge, sentence);
    rc = *out ? 0 : RW_ENOMEM;
done:
    free(rq);
    free(plan);
    free(edge);
    return rc;
}
