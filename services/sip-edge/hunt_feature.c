/* services/sip-edge/hunt_feature.c — feature codes dialled from a phone (hunt.h): *71..*74 as
 * huntgroup agent requests for the authenticated user, and the final answer the INVITE gets. */
#include "services/sip-edge/hunt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "protocols/huntgroup.h"

typedef struct {
    rw_hunt_feature_fn *fn;
    void *arg;
    char user[64];
} feature_t;

static void on_feature(void *arg, int status, const void *body, size_t len)
{
    feature_t *f = arg;
    rw_hg_reply_t rep;
    char phrase[160];
    if (status != 0 || rw_proto_hg_reply_decode(body, len, &rep) != 0) {
        f->fn(f->arg, 503, "Hunt groups unavailable");
    } else if (rep.status != RW_HGS_DONE) {
        snprintf(phrase, sizeof phrase, "%s", rep.reason[0] ? rep.reason : "Refused");
        f->fn(f->arg, 403, phrase);
    } else {
        /* not a 2xx: a 200 would open a dialog with nobody behind it; the phone shows this */
        snprintf(phrase, sizeof phrase, "Agent %s %s", f->user, rep.state[0] ? rep.state : "done");
        f->fn(f->arg, 480, phrase);
    }
    rw_log_info("hunt_feature_code", RW_S("user", f->user), RW_I("status", status),
                RW_S("state", status == 0 ? rep.state : ""));
    free(f);
}

int rw_hunt_feature(rw_hunt_env_t *env, const char *user, const char *code, rw_hunt_feature_fn *fn,
                    void *arg)
{
    static const char *const ops[] = { "login", "logout", "pause", "resume" };
    rw_hg_req_t rq;
    msgpack_sbuffer sb;
    if (!code || code[0] != '*' || code[1] != '7' || code[2] < '1' || code[2] > '4' || code[3])
        return RW_ENOTFOUND;
    unsigned deadline_ms = 0;
    rw_client_t *client = rw_hunt_env_client(env, &deadline_ms);
    if (!client || !user || !user[0] || strlen(user) >= sizeof rq.agent || !fn)
        return RW_EINVAL;
    feature_t *f = calloc(1, sizeof *f);
    if (!f)
        return RW_ENOMEM;
    *f = (feature_t){ .fn = fn, .arg = arg };
    snprintf(f->user, sizeof f->user, "%s", user);
    memset(&rq, 0, sizeof rq);
    rq.op = RW_HGOP_AGENT;
    snprintf(rq.agent, sizeof rq.agent, "%s", user);
    snprintf(rq.agent_op, sizeof rq.agent_op, "%s", ops[code[2] - '1']);
    if (code[2] == '3')
        snprintf(rq.reason, sizeof rq.reason, "phone");
    msgpack_sbuffer_init(&sb);
    int rc = rw_proto_hg_req_encode(&rq, &sb);
    if (rc == 0)
        rc = rw_client_request(client, sb.data, sb.size, deadline_ms, on_feature, f);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        free(f);
    return rc;
}
