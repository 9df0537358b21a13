/* services/sip-edge/branch.c — adopted INVITE branches: CANCEL, non-2xx ACK, timer C (branch.h).
 * Live branches and the ACKs kept for retransmitted finals share one map keyed by the Via
 * branch; the ACK records also sit in a queue in expiry order (one fixed lifetime), swept as
 * new ones arrive, so they never outlive 64*T1 by much. */
#include "services/sip-edge/branch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_string.h>

#include "common/clock.h"
#include "common/err.h"
#include "services/sip-edge/ttlmap.h"

#define KEY_MAX 96

typedef struct ack_rec {          /* the ACK of a non-2xx final, for its retransmissions */
    struct ack_rec *next;
    uint64_t expires_ms;
    msg_t *ack;
    char key[KEY_MAX];
    char hop[];                   /* the route URL, "" = none */
} ack_rec_t;

typedef struct {
    rw_branch_t *live;
    ack_rec_t *rec;
} slot_t;

struct rw_branch {
    rw_branches_t *set;
    rw_branch_t *next, *prev;
    rw_branch_fn *fn;
    void *owner;
    msg_t *req;                   /* the INVITE as sent (a reference) */
    su_timer_t *timer;            /* timer C; after CANCEL, 64*T1 */
    int cancelled;
    char key[KEY_MAX];
    char hop[];
};

struct rw_branches {
    su_root_t *root;
    nta_agent_t *nta;
    rw_ttlmap_t *map;
    rw_branch_t *live;
    size_t n_live, n_acks;
    ack_rec_t *acks, *acks_tail;
    unsigned timer_c_ms, t1x64_ms;
};

static const uint64_t FOREVER = UINT64_MAX;

static void sweep_acks(rw_branches_t *s, uint64_t now)
{
    while (s->acks && s->acks->expires_ms <= now) {
        ack_rec_t *r = s->acks;
        s->acks = r->next;
        if (!s->acks)
            s->acks_tail = NULL;
        rw_ttlmap_del(s->map, r->key);
        msg_destroy(r->ack);
        free(r);
        s->n_acks--;
    }
}

rw_branches_t *rw_branches_new(su_root_t *root, nta_agent_t *nta, size_t capacity,
                               unsigned timer_c_ms, unsigned t1x64_ms)
{
    rw_branches_t *s = calloc(1, sizeof *s);
    if (!s || !root || !nta || !capacity)
        goto fail;
    s->root = root;
    s->nta = nta;
    s->timer_c_ms = timer_c_ms ? timer_c_ms : RW_BRANCH_TIMER_C_MS;
    s->t1x64_ms = t1x64_ms ? t1x64_ms : RW_BRANCH_T1X64_MS;
    s->map = rw_ttlmap_new(sizeof(slot_t), capacity);
    if (!s->map)
        goto fail;
    return s;
fail:
    rw_branches_destroy(&s);
    return NULL;
}

static void branch_free(rw_branch_t *b)
{
    rw_branches_t *s = b->set;
    if (b->prev)
        b->prev->next = b->next;
    else
        s->live = b->next;
    if (b->next)
        b->next->prev = b->prev;
    s->n_live--;
    if (b->timer)
        su_timer_destroy(b->timer);
    msg_destroy(b->req);
    free(b);
}

void rw_branches_destroy(rw_branches_t **pself)
{
    rw_branches_t *s = pself ? *pself : NULL;
    if (!s)
        return;
    while (s->live)
        branch_free(s->live);
    sweep_acks(s, FOREVER);
    rw_ttlmap_destroy(&s->map);
    free(s);
    *pself = NULL;
}

/* CANCEL (RFC 3261 9.1) or the ACK of a non-2xx (17.1.1.3) for the INVITE req: its Request-URI,
 * Call-ID, From, CSeq number, Route, Max-Forwards and top Via; To from `to`. */
static msg_t *make_request(rw_branches_t *s, msg_t *req, sip_method_t m, const char *name,
                           const sip_to_t *to)
{
    const sip_t *old = sip_object(req);
    msg_t *msg = nta_msg_create(s->nta, 0);
    sip_t *sip = sip_object(msg);
    if (!sip || !old || !old->sip_request || !old->sip_via || !old->sip_cseq)
        goto fail;
    su_home_t *home = msg_home(msg);
    sip_via_t via[1];
    *via = *old->sip_via;
    via->v_next = NULL;
    sip_request_t *rq = sip_request_create(home, m, name, (url_string_t const *) old->sip_request->rq_url, NULL);
    sip_cseq_t *cs = sip_cseq_create(home, old->sip_cseq->cs_seq, m, name);
    if (!rq || !cs || msg_header_insert(msg, (msg_pub_t *) sip, (msg_header_t *) rq) < 0
        || msg_header_insert(msg, (msg_pub_t *) sip, (msg_header_t *) cs) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) via) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) old->sip_from) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) to) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) old->sip_call_id) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) old->sip_route) < 0
        || sip_add_dup(msg, sip, (sip_header_t const *) old->sip_max_forwards) < 0)
        goto fail;
    return msg;
fail:
    msg_destroy(msg);
    return NULL;
}

/* Sends a CANCEL or an ACK with the branch's Via; NTA owns and ends the transaction. */
static int send_request(rw_branches_t *s, msg_t *msg, const char *hop, const char *key, int ack)
{
    url_string_t const *route = hop && *hop ? URL_STRING_MAKE(hop) : NULL;
    nta_outgoing_t *orq = nta_outgoing_mcreate(s->nta, NULL, NULL, route, msg, NTATAG_BRANCH_KEY(key),
                                               NTATAG_USER_VIA(1), TAG_IF(ack, NTATAG_STATELESS(1)),
                                               TAG_END());
    if (!orq) {
        msg_destroy(msg);
        return RW_EIO;
    }
    nta_outgoing_destroy(orq);
    return 0;
}

static void on_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_branch_t *b = (rw_branch_t *) arg;
    (void) m;
    (void) t;
    if (!b->cancelled) {          /* timer C: no final answer for 3 minutes */
        rw_branch_cancel(b);
        return;
    }
    rw_ttlmap_del(b->set->map, b->key);   /* CANCEL got no final answer: the branch ends */
    b->fn(b->owner, b, NULL, 408);
    branch_free(b);
}

int rw_branch_adopt(rw_branches_t *s, nta_outgoing_t *orq, const char *next_hop,
                    rw_branch_fn *fn, void *owner, rw_branch_t **out)
{
    const char *key = nta_outgoing_branch(orq);
    size_t hop_len = next_hop ? strlen(next_hop) : 0;
    uint64_t now = rw_clock_mono_ms();
    if (!key || strlen(key) >= KEY_MAX || !fn)
        return RW_EINVAL;
    sweep_acks(s, now);           /* kept ACKs expire even when no response comes in */
    rw_branch_t *b = calloc(1, sizeof *b + hop_len + 1);
    if (!b)
        return RW_ENOMEM;
    b->set = s;
    b->fn = fn;
    b->owner = owner;
    memcpy(b->key, key, strlen(key) + 1);
    memcpy(b->hop, next_hop ? next_hop : "", hop_len + 1);
    b->req = nta_outgoing_getrequest(orq);
    b->timer = su_timer_create(su_root_task(s->root), 0);
    slot_t *slot = b->req && b->timer ? rw_ttlmap_put(s->map, key, FOREVER, now) : NULL;
    if (!slot) {
        if (b->timer)
            su_timer_destroy(b->timer);
        msg_destroy(b->req);
        free(b);
        return RW_ERANGE;
    }
    slot->live = b;
    b->next = s->live;
    if (s->live)
        s->live->prev = b;
    s->live = b;
    s->n_live++;
    su_timer_set_interval(b->timer, on_timer, (su_timer_arg_t *) b, s->timer_c_ms);
    *out = b;
    return 0;
}

int rw_branch_cancel(rw_branch_t *b)
{
    return rw_branch_cancel_with(b, NULL);
}

int rw_branch_cancel_with(rw_branch_t *b, const char *headers)
{
    if (!b || b->cancelled)
        return 0;
    b->cancelled = 1;
    su_timer_set_interval(b->timer, on_timer, (su_timer_arg_t *) b, b->set->t1x64_ms);
    const sip_t *old = sip_object(b->req);
    msg_t *msg = make_request(b->set, b->req, SIP_METHOD_CANCEL, old ? old->sip_to : NULL);
    if (msg && headers && *headers)
        msg_header_add_str(msg, (msg_pub_t *) sip_object(msg), headers);
    return msg ? send_request(b->set, msg, b->hop, b->key, 0) : RW_ENOMEM;
}

int rw_branch_cancelled(const rw_branch_t *b)
{
    return b && b->cancelled;
}

const char *rw_branch_hop(const rw_branch_t *b)
{
    return b ? b->hop : "";
}

void rw_branch_drop(rw_branch_t **pb)
{
    rw_branch_t *b = pb ? *pb : NULL;
    if (!b)
        return;
    rw_ttlmap_del(b->set->map, b->key);
    branch_free(b);
    *pb = NULL;
}

/* Keeps the ACK of a non-2xx final for its retransmissions (UDP only: TCP does not repeat). */
static void keep_ack(rw_branches_t *s, rw_branch_t *b, msg_t *ack, uint64_t now)
{
    size_t hop_len = strlen(b->hop);
    ack_rec_t *r = calloc(1, sizeof *r + hop_len + 1);
    slot_t *slot = r ? rw_ttlmap_put(s->map, b->key, now + s->t1x64_ms, now) : NULL;
    if (!slot) {
        free(r);
        msg_destroy(ack);
        return;
    }
    *slot = (slot_t){ NULL, r };
    r->expires_ms = now + s->t1x64_ms;
    r->ack = ack;
    memcpy(r->key, b->key, sizeof r->key);
    memcpy(r->hop, b->hop, hop_len + 1);
    if (s->acks_tail)
        s->acks_tail->next = r;
    else
        s->acks = r;
    s->acks_tail = r;
    s->n_acks++;
}

/* A final non-2xx on a live branch: ACK it, keep the ACK, hand the response over, free b. */
static void on_failure(rw_branches_t *s, rw_branch_t *b, msg_t *msg, sip_t *sip, int status, uint64_t now)
{
    msg_t *ack = make_request(s, b->req, SIP_METHOD_ACK, sip->sip_to);
    rw_ttlmap_del(s->map, b->key);
    if (ack) {
        int udp = su_casematch(sip->sip_via->v_protocol, sip_transport_udp);
        msg_t *copy = udp ? msg_dup(ack) : NULL;
        send_request(s, ack, b->hop, b->key, 1);
        if (copy)
            keep_ack(s, b, copy, now);
    }
    sip_header_remove(msg, sip, (sip_header_t *) sip->sip_via);
    b->fn(b->owner, b, msg, status);
    branch_free(b);
}

int rw_branches_response(rw_branches_t *s, msg_t *msg, sip_t *sip)
{
    uint64_t now = rw_clock_mono_ms();
    if (!s || !sip || !sip->sip_status || !sip->sip_via || !sip->sip_via->v_branch || !sip->sip_cseq
        || sip->sip_cseq->cs_method != sip_method_invite)
        return 0;
    sweep_acks(s, now);
    slot_t *slot = rw_ttlmap_get(s->map, sip->sip_via->v_branch, now);
    if (!slot)
        return 0;
    int status = sip->sip_status->st_status;
    rw_branch_t *b = slot->live;
    if (!b) {                     /* a retransmitted final: the same ACK again */
        if (status >= 300 && slot->rec) {
            msg_t *ack = msg_dup(slot->rec->ack);
            if (ack)
                send_request(s, ack, slot->rec->hop, slot->rec->key, 1);
        }
        msg_destroy(msg);
        return 1;
    }
    if (status >= 300) {
        on_failure(s, b, msg, sip, status, now);
        return 1;
    }
    if (status < 200 && !b->cancelled)
        su_timer_set_interval(b->timer, on_timer, (su_timer_arg_t *) b, s->timer_c_ms);
    if (status >= 200)
        rw_ttlmap_del(s->map, b->key);
    sip_header_remove(msg, sip, (sip_header_t *) sip->sip_via);
    b->fn(b->owner, b, msg, status);
    if (status >= 200)
        branch_free(b);
    return 1;
}

size_t rw_branches_count(const rw_branches_t *s, size_t *acks)
{
    if (acks)
        *acks = s ? s->n_acks : 0;
    return s ? s->n_live : 0;
}
