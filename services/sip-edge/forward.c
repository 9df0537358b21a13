/* services/sip-edge/forward.c — out-of-dialog non-INVITE requests to a user's registrations
 * (forward.h): authentication, the user from the directory, the bindings from the location
 * store, one client transaction per binding and the best response. */
#include "services/sip-edge/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/clock.h"
#include "common/e164.h"
#include "common/err.h"
#include "common/redis_script.h"
#include "common/sutimer.h"
#include "services/sip-edge/plan_exec.h"

typedef struct req req_t;

typedef struct {                  /* one binding's client transaction */
    req_t *r;
    nta_outgoing_t *orq;          /* NULL once final */
} leg_t;

enum { W_NONE, W_AUTH, W_DIRECTORY, W_LOCATION };   /* the callback a request waits for */

struct req {
    rw_forward_t *fw;             /* NULL once the module is gone: the callback only frees */
    req_t *next, *prev;
    nta_incoming_t *irq;
    msg_t *req;                   /* as received, our Route removed, Max-Forwards decremented */
    int wait;
    uint64_t t0;                  /* received (rw_clock_mono_ms) */
    su_timer_t *hold;             /* no final response: kept until the caller's transaction is over */
    int best;                     /* best final failure so far (0: none) */
    msg_t *best_msg;              /* its response, our Via removed */
    unsigned n_legs, n_open;      /* legs sent, legs without a final response */
    char user[128];               /* the Request-URI's user part */
    leg_t legs[RW_LOCATION_MAX_BINDINGS];
};

struct rw_forward {
    su_root_t *root;
    nta_agent_t *nta;
    rw_edge_t *edge;
    rw_auth_t *auth;
    rw_location_t *loc;
    rw_aredis_t *redis;
    const rw_peers_t *peers;
    char realm[128];
    rw_redis_script_t *lookup;
    req_t *live;
    unsigned n_live;
    rw_counter_t *forwarded;
};

/* KEYS[1] = rw:num:<number as normalised>, KEYS[2] = rw:user:<as given>, ARGV[1] = as given:
 * the user's extension, "" for a user without one, nil for nobody. */
static const char lookup_lua[] =
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id and redis.call('EXISTS', KEYS[2]) == 1 then id = ARGV[1] end\n"
    "if not id then return false end\n"
    "return redis.call('HGET', 'rw:user:' .. id, 'ext') or ''\n";

static void lookup_bindings(req_t *r, const char *ext);

static void req_free(req_t *r)
{
    if (r->fw) {
        if (r->prev)
            r->prev->next = r->next;
        else
            r->fw->live = r->next;
        if (r->next)
            r->next->prev = r->prev;
        r->fw->n_live--;
    }
    for (unsigned i = 0; i < r->n_legs; i++)
        if (r->legs[i].orq)
            nta_outgoing_destroy(r->legs[i].orq);   /* NTA finishes it and drops its answer */
    if (r->irq)
        nta_incoming_destroy(r->irq);
    if (r->hold)
        su_timer_destroy(r->hold);
    msg_destroy(r->req);
    msg_destroy(r->best_msg);
    free(r);
}

/* Our own final answer (a 503 with Retry-After, as the registrar's), then the request is gone. */
static void answer(req_t *r, int status)
{
    nta_incoming_treply(r->irq, status, sip_status_phrase(status),
                        TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
    req_free(r);
}

/* RFC 3261 16.7 step 6 among failures: 6xx, then the lowest class; in 4xx the ones the caller
 * can act on (401, 407, 415, 420, 484) first; 408 (nobody answered) last. */
static int rank(int st)
{
    if (st >= 600)
        return 6;
    if (st == 408)
        return 1;
    if (st < 400)
        return 5;
    if (st == 401 || st == 407 || st == 415 || st == 420 || st == 484)
        return 4;
    return st < 500 ? 3 : 2;
}

/* The silent end of a request that gets no final response (answer_best). */
static void on_hold(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    answer((req_t *) arg, 408);
}

/* Every leg is final and none said 2xx: the best failure goes to the caller (a 503 as 500,
 * 16.7 step 6: it is about the next hop, not us). A 408 (every leg timed out, or said 408) is
 * never sent (RFC 4320: no 408 to a non-INVITE request; no final response at all).
 * nta_incoming_destroy() would answer the unanswered transaction 500; NTA's own 408 to a
 * non-INVITE request is recorded and not sent (the agent does not set NTATAG_PASS_408), but it
 * is sent again for every retransmission of the request while the transaction lingers (timer
 * J). So the transaction stays unanswered (NTA absorbs the retransmissions) until the caller's
 * has surely expired, RW_FORWARD_HOLD_MS after the request came, and ends with that 408. */
static void answer_best(req_t *r)
{
    if (r->best == 408) {
        uint64_t now = rw_clock_mono_ms(), end = r->t0 + RW_FORWARD_HOLD_MS;
        su_duration_t left = now < end ? (su_duration_t) (end - now) : 0;
        if (!left || !(r->hold = rw_sutimer_lazy(r->fw->root, left))
            || su_timer_set(r->hold, on_hold, (su_timer_arg_t *) r) != 0)
            answer(r, 408);
        return;
    }
    if (r->best == 503) {
        answer(r, 500);
        return;
    }
    rw_exec_relay_response(r->irq, r->best_msg, r->best);
    r->best_msg = NULL;
    req_free(r);
}

/* 16.7 step 7: the challenges of every 401/407 go into the one relayed, so the caller can
 * answer them all. */
static void add_challenges(req_t *r, msg_t *rsp, int st)
{
    sip_t *best = sip_object(r->best_msg), *rs = sip_object(rsp);
    if (!best || !rs || (st != 401 && st != 407) || (r->best != 401 && r->best != 407))
        return;
    if (rs->sip_www_authenticate)
        msg_header_add_dup(r->best_msg, (msg_pub_t *) best, (const msg_header_t *) rs->sip_www_authenticate);
    if (rs->sip_proxy_authenticate)
        msg_header_add_dup(r->best_msg, (msg_pub_t *) best, (const msg_header_t *) rs->sip_proxy_authenticate);
}

static int on_leg(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    leg_t *l = (leg_t *) magic;
    req_t *r = l->r;
    int st = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (st < 200)                 /* RFC 4320: no provisional goes to a non-INVITE's caller */
        return 0;
    msg_t *rsp = nta_outgoing_getresponse(orq);
    sip_t *rs = sip_object(rsp);
    if (rs && rs->sip_via)
        sip_header_remove(rsp, rs, (sip_header_t *) rs->sip_via);
    nta_outgoing_destroy(orq);
    l->orq = NULL;
    r->n_open--;
    if (st < 300) {               /* the first 2xx goes on at once and ends the request */
        rw_exec_relay_response(r->irq, rsp, st);
        req_free(r);              /* the legs still open are NTA's to finish, they call no more */
        return 0;
    }
    if (!r->best || rank(st) > rank(r->best)) {
        r->best = st;
        msg_destroy(r->best_msg);
        r->best_msg = rsp;
    } else {
        add_challenges(r, rsp, st);
        msg_destroy(rsp);
    }
    if (!r->n_open)
        answer_best(r);
    return 0;
}

static void send_leg(req_t *r, const rw_binding_t *b)
{
    rw_forward_t *fw = r->fw;
    leg_t *l = &r->legs[r->n_legs];
    msg_t *fwd = rw_exec_retarget(r->req, b->contact, b->path);
    if (!fwd)
        return;
    char key[64];
    const char *branch = rw_edge_branch(fw->edge, key, sizeof key);
    l->r = r;
    l->orq = nta_outgoing_mcreate(fw->nta, on_leg, (nta_outgoing_magic_t *) l,
                                  b->received[0] ? URL_STRING_MAKE(b->received) : NULL, fwd,
                                  TAG_IF(branch, NTATAG_BRANCH_KEY(branch)), TAG_END());
    if (l->orq) {
        r->n_legs++;
        r->n_open++;
    }
}

static void on_bindings(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache)
{
    req_t *r = arg;
    (void) from_cache;
    r->wait = W_NONE;
    if (!r->fw) {
        req_free(r);
        return;
    }
    if (status != RW_OK) {
        answer(r, 503);
        return;
    }
    for (size_t i = 0; i < n && r->n_legs < RW_LOCATION_MAX_BINDINGS; i++)
        send_leg(r, &b[i]);
    if (!r->n_legs) {
        answer(r, 480);
        return;
    }
    rw_counter_inc(r->fw->forwarded);
}

static void lookup_bindings(req_t *r, const char *ext)
{
    char aor[300];
    snprintf(aor, sizeof aor, "sip:%s@%s", ext, r->fw->realm);
    r->wait = W_LOCATION;
    if (rw_location_lookup(r->fw->loc, aor, on_bindings, r) != 0) {
        r->wait = W_NONE;
        answer(r, 480);
    }
}

static void on_user(void *arg, redisReply *reply)
{
    req_t *r = arg;
    r->wait = W_NONE;
    if (!r->fw) {
        req_free(r);
        return;
    }
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        lookup_bindings(r, r->user);   /* directory away: the user part as an extension */
    else if (reply->type != REDIS_REPLY_STRING || !reply->len || reply->len >= 64)
        answer(r, 404);  /* nobody, or a user without an extension */
    else {
        char ext[64];
        memcpy(ext, reply->str, reply->len);
        ext[reply->len] = '\0';
        lookup_bindings(r, ext);
    }
}

/* The Request-URI's user as a number (normalised as router does), an extension or a user id. */
static void lookup_user(req_t *r)
{
    rw_forward_t *fw = r->fw;
    char norm[64], num_key[80], user_key[160];
    rw_num_kind_t kind;
    if (rw_e164_normalise(&rw_numplan_uk, r->user, norm, sizeof norm, &kind) < 0)
        snprintf(norm, sizeof norm, "%.63s", r->user);
    snprintf(num_key, sizeof num_key, "rw:num:%s", norm);
    snprintf(user_key, sizeof user_key, "rw:user:%s", r->user);
    const char *args[] = { num_key, user_key, r->user };
    r->wait = W_DIRECTORY;
    if (!fw->redis || rw_redis_script_run(fw->lookup, fw->redis, 2, 3, args, NULL, on_user, r) != 0) {
        r->wait = W_NONE;
        lookup_bindings(r, r->user);
    }
}

static void on_auth(void *arg, rw_auth_result_t res, const char *ext, const char *user_id)
{
    req_t *r = arg;
    (void) ext;
    (void) user_id;
    r->wait = W_NONE;
    if (res != RW_AUTH_OK || !r->fw) {
        req_free(r);              /* auth answered the caller, or the module is gone */
        return;
    }
    rw_exec_strip_credentials(r->req, sip_object(r->req));
    lookup_user(r);
}

int rw_forward_request(rw_forward_t *fw, nta_incoming_t *irq, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    if (!ru->url_user || !*ru->url_user || strlen(ru->url_user) >= sizeof ((req_t *) 0)->user)
        return 404;
    if (fw->n_live >= RW_FORWARD_MAX)
        return 503;
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return 500;
    r->t0 = rw_clock_mono_ms();
    r->req = nta_incoming_getrequest(irq);
    sip_t *s = sip_object(r->req);
    int rc = s ? rw_sipcheck_prepare_forward(rw_edge_self(fw->edge), r->req, s) : RW_ENOMEM;
    if (rc != 0) {                /* no memory: Max-Forwards 0 was answered 483 before */
        msg_destroy(r->req);
        free(r);
        return 500;
    }
    snprintf(r->user, sizeof r->user, "%s", ru->url_user);
    su_addrinfo_t *ai = msg_addrinfo(r->req);
    const rw_peer_t *peer = ai ? rw_peers_match(fw->peers, ai->ai_addr) : NULL;
    if (!peer) {
        r->wait = W_AUTH;
        if (rw_auth_check(fw->auth, irq, sip, 1, on_auth, r) != 0) {
            msg_destroy(r->req);
            free(r);
            return 503;
        }
    }
    r->fw = fw;
    r->irq = irq;
    if ((r->next = fw->live))
        fw->live->prev = r;
    fw->live = r;
    fw->n_live++;
    if (peer)
        lookup_user(r);
    return 0;
}

int rw_forward_find(const rw_forward_t *fw, const sip_t *sip)
{
    for (const req_t *r = fw->live; r; r = r->next)
        if (rw_exec_same_request(sip_object(r->req), sip))
            return 1;
    return 0;
}

rw_forward_t *rw_forward_new(su_root_t *root, rw_edge_t *edge, rw_auth_t *auth, rw_location_t *loc,
                             rw_aredis_t *redis, const rw_peers_t *peers, const char *realm, rw_metrics_t *m)
{
    rw_forward_t *fw = calloc(1, sizeof *fw);
    if (!fw || !root || !edge)
        goto fail;
    fw->root = root;
    fw->nta = rw_edge_agent(edge);
    fw->edge = edge;
    fw->auth = auth;
    fw->loc = loc;
    fw->redis = redis;
    fw->peers = peers;
    snprintf(fw->realm, sizeof fw->realm, "%s", realm ? realm : "ringway.local");
    if (!(fw->lookup = rw_redis_script_new(lookup_lua)))
        goto fail;
    if (m)
        fw->forwarded = rw_metrics_counter(m, "requests_forwarded_total",
                                           "out-of-dialog requests other than INVITE forwarded to a user's registrations");
    return fw;
fail:
    free(fw);
    return NULL;
}

void rw_forward_destroy(rw_forward_t **pself)
{
    rw_forward_t *fw = pself ? *pself : NULL;
    if (!fw)
        return;
    while (fw->live) {
        req_t *r = fw->live;
        nta_incoming_treply(r->irq, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
        if (r->wait == W_NONE) {
            req_free(r);
            continue;
        }
        fw->live = r->next;       /* detached: its callback frees it */
        if (r->next)
            r->next->prev = NULL;
        r->fw = NULL;
        if (r->wait != W_AUTH) {  /* a Redis answer may come after the agent is gone */
            nta_incoming_destroy(r->irq);
            r->irq = NULL;
        }
    }
    rw_redis_script_destroy(&fw->lookup);
    free(fw);
    *pself = NULL;
}
