/* services/sip-edge/hunt_dialog.c — each offer of a queue call is its own dialog for the
 * agents' phones (hunt.h): the Call-ID of offer n, and the stateless mapping of the dialog's
 * later messages between the caller's Call-ID and the offer's. hunt.c sends the offers. */
#include "services/sip-edge/hunt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

#include "common/err.h"

/* ---- Each offer its own dialog ----------------------------------------------------------
 * A phone offered the same call twice must not see the same request again: with the caller's
 * Call-ID, From tag and CSeq, a second INVITE while the phone still holds the first one's
 * transaction (timer I/J after its 486 or 487) is a merged request (RFC 3261 8.2.2.2) and is
 * answered 482, and a phone keeping the first call's dialog refuses it. A queue call is
 * offered the way a PBX originates a fresh leg per offer (Asterisk's queue, FreeSWITCH's
 * mod_callcenter), within what a proxy can do: offer n of call C reaches the agents with the
 * Call-ID "hg<n>-C", and our Record-Route carries ";hg=<n>". The mapping is stateless, so any
 * sip-edge process serves the dialog: a request or response whose Route (Record-Route) names
 * offer n gets "hg<n>-" taken off when it has it (from the agent) and put on when it has not
 * (from the caller); a response relayed to an incoming transaction carries that
 * transaction's Call-ID. The caller only ever sees C; the events and huntgroup know C. */
int rw_hunt_offer_call_id(const char *call_id, unsigned offer, char *out, size_t len)
{
    int n = snprintf(out, len, RW_HUNT_RR_PARAM "%u-%s", offer, call_id);
    return n > 0 && (size_t) n < len ? 0 : RW_ERANGE;
}

const char *rw_hunt_caller_call_id(const char *call_id)
{
    const char *p = call_id;
    if (!p || strncmp(p, RW_HUNT_RR_PARAM, 2) || p[2] < '0' || p[2] > '9')
        return call_id;
    for (p += 2; *p >= '0' && *p <= '9'; p++)
        ;
    return *p == '-' && p[1] ? p + 1 : call_id;
}

/* The offer a Route or Record-Route of ours names (";hg=N"), 0 for none. */
static unsigned offer_of(const url_t *url)
{
    char v[16];
    if (!url || !url->url_params || url_param(url->url_params, RW_HUNT_RR_PARAM, v, sizeof v) == 0)
        return 0;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end == '\0' && n > 0 && n < 1000000 ? (unsigned) n : 0;
}

static int swap_call_id(msg_t *msg, sip_t *sip, const char *id)
{
    sip_call_id_t *c = sip_call_id_make(msg_home(msg), id);
    return c && msg_header_replace(msg, (msg_pub_t *) sip, (msg_header_t *) sip->sip_call_id,
                                   (msg_header_t *) c) == 0 ? 0 : RW_ENOMEM;
}

/* The other side's Call-ID for a message of offer n's dialog: "hg<n>-" off when it has it
 * (from the agent), on when it has not (from the caller). */
static int map_call_id(msg_t *msg, sip_t *sip, unsigned offer)
{
    char mine[32], other[300];
    const char *id = sip->sip_call_id->i_id;
    if (rw_hunt_offer_call_id("", offer, mine, sizeof mine) != 0)
        return RW_ERANGE;
    if (!strncmp(id, mine, strlen(mine)))
        snprintf(other, sizeof other, "%s", id + strlen(mine));
    else if (rw_hunt_offer_call_id(id, offer, other, sizeof other) != 0)
        return RW_ERANGE;
    return other[0] ? swap_call_id(msg, sip, other) : RW_EINVAL;
}

/* The offer a message of a queue call's dialog belongs to: a request's top Route (ours), a
 * response's Record-Route. 0 for none (or a dialog from before offers had a Call-ID each);
 * *queue: 1 for a queue call's dialog. */
static unsigned dialog_offer(const sip_t *sip, int *queue)
{
    unsigned offer = 0;
    *queue = 0;
    if (!sip || !sip->sip_call_id)
        return 0;
    if (sip->sip_request) {
        *queue = sip->sip_route && url_has_param(sip->sip_route->r_url, RW_HUNT_RR_PARAM);
        return *queue ? offer_of(sip->sip_route->r_url) : 0;
    }
    for (const sip_record_route_t *rr = sip->sip_record_route; rr && !offer; rr = rr->r_next)
        offer = offer_of(rr->r_url);
    *queue = offer > 0;
    return offer;
}

int rw_hunt_offer_dialog(const sip_t *sip)
{
    int queue;
    return dialog_offer(sip, &queue) > 0;
}

int rw_hunt_dialog(msg_t *msg, sip_t *sip)
{
    int queue;
    unsigned offer = dialog_offer(sip, &queue);
    if (offer)
        map_call_id(msg, sip, offer);
    return queue;
}

int rw_hunt_in_dialog(msg_t **pmsg, sip_t **psip)
{
    int queue;
    unsigned offer = dialog_offer(*psip, &queue);
    if (!offer)
        return queue;
    /* the incoming transaction keeps the request as received: its answer goes back with the
     * sender's Call-ID (rw_hunt_relay_call_id) */
    msg_t *copy = msg_dup(*pmsg);
    sip_t *cs = sip_object(copy);
    if (!cs || !cs->sip_call_id || map_call_id(copy, cs, offer) != 0) {
        msg_destroy(copy);
        return queue;
    }
    msg_addr_copy(copy, *pmsg);
    msg_destroy(*pmsg);
    *pmsg = copy;
    *psip = cs;
    return queue;
}

void rw_hunt_relay_call_id(nta_incoming_t *irq, msg_t *rsp)
{
    sip_t *rs = sip_object(rsp);
    msg_t *rq = rs && rs->sip_call_id ? nta_incoming_getrequest(irq) : NULL;
    sip_t *q = sip_object(rq);
    if (q && q->sip_call_id && strcmp(q->sip_call_id->i_id, rs->sip_call_id->i_id))
        swap_call_id(rsp, rs, q->sip_call_id->i_id);
    msg_destroy(rq);
}
