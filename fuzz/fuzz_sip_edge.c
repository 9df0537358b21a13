/* fuzz/fuzz_sip_edge.c — libFuzzer target for the SIP request path through the edge's own
 * handling: bytes are parsed as one datagram with the edge's message class (strict request
 * line, services/sip-edge/sipcheck.h); then, as the edge does, the target selection (registrar /
 * the edge itself / proxy), one validation (version, required and malformed headers, URI scheme,
 * Max-Forwards, Proxy-Require/Require), the Route walk, and the proxy's own forward preparation
 * (rw_sipcheck_prepare_forward on a copy: own Route removed, Max-Forwards down by one or added,
 * then re-encoded). Anything the edge would pass as valid must also pass Sofia's own sanity
 * check, and a prepared copy must carry Max-Forwards and re-encode; otherwise abort() (a finding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

#include "services/sip-edge/sipcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The proxy's preparation on a copy, as it forwards: a copy it accepts keeps a Max-Forwards
 * below the original's (or 70) and no leading Route of ours, and serializes. */
static void forward(msg_t *msg, const rw_sipcheck_self_t *me)
{
    const sip_t *orig = sip_object(msg);
    unsigned long before = orig->sip_max_forwards ? orig->sip_max_forwards->mf_count : 71;
    msg_t *fwd = msg_dup(msg);
    sip_t *s = sip_object(fwd);
    if (!s) {
        msg_destroy(fwd);
        return;
    }
    if (rw_sipcheck_prepare_forward(me, fwd, s) == 0) {
        if (!s->sip_max_forwards || s->sip_max_forwards->mf_count + 1 != before
            || (s->sip_route && rw_sipcheck_is_self(me, s->sip_route->r_url)))
            abort();
        if (msg_serialize(fwd, (msg_pub_t *) s) == 0)
            (void) msg_prepare(fwd);
    } else if (before != 0)
        abort();                  /* only an exhausted Max-Forwards may refuse (no memory aside) */
    msg_destroy(fwd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rw_sipcheck_self_t me = { "127.0.0.1", "::1", 5060, "ringway.local" };
    const msg_mclass_t *mc = rw_sipcheck_mclass();
    if (!mc || size > 65536)
        return 0;
    msg_t *msg = msg_create(mc, MSG_FLG_EXTRACT_COPY);
    char *buf = msg ? msg_buf_alloc(msg, size + 1) : NULL;
    if (!buf) {
        msg_destroy(msg);
        return 0;
    }
    memcpy(buf, data, size);
    msg_buf_commit(msg, size, 1);
    if (msg_extract(msg) < 0 || !sip_object(msg) || !sip_object(msg)->sip_request) {
        msg_destroy(msg);
        return 0;
    }
    sip_t *sip = sip_object(msg);
    rw_sipcheck_t chk;
    /* As the edge does (edge.c check()): the handler first, on any parsed request, then one
     * validation, with Require when the edge is the final recipient. */
    rw_sipcheck_target_t t = rw_sipcheck_target(&me, sip);
    if (rw_sipcheck_request(sip, t != RW_TARGET_PROXY, &chk) == 0) {
        if (sip_sanity_check(sip) < 0 && !(sip->sip_flags & MSG_FLG_ERROR))
            abort();              /* the edge would take what Sofia calls insane */
        (void) rw_sipcheck_foreign_route(&me, sip);
        (void) rw_sipcheck_is_self(&me, sip->sip_request->rq_url);
        (void) rw_sipcheck_names_edge(&me, sip->sip_request->rq_url);
        forward(msg, &me);
    } else if (chk.status < 400 || chk.status > 599 || !chk.phrase[0]) {
        abort();
    }
    msg_destroy(msg);
    return 0;
}
