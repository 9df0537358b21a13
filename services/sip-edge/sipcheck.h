/* services/sip-edge/sipcheck.h — the edge's request validation, free of sockets and NTA so a
 * fuzzer can drive it: a message class whose request-line parser is strict (RFC 3261 25.1) yet
 * lets a faulty line through marked, the checks of RFC 3261 8.2 and 16.3 (version, required and
 * malformed headers, Proxy-Require/Require, Max-Forwards), "is this URI us?", the choice of
 * handler and the hop changes of a forwarded request (16.6, the proxy's one copy). Answers name
 * the fault in the reason phrase ("400 Bad Max-Forwards").
 * Global state: one message class built on first use (rw_sipcheck_mclass), read-only after. */
#ifndef RW_SIPEDGE_SIPCHECK_H
#define RW_SIPEDGE_SIPCHECK_H

#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>

/* Sofia's SIP message class with the strict request line. A request line that breaks the
 * grammar but still names a method is parsed as "METHOD sip:invalid.invalid SIP/2.0" (or with
 * its own URI when only the version is wrong) and marked, so rw_sipcheck_request() answers it
 * 400/505 through a normal transaction instead of dropping it. Never NULL once built; NULL
 * only when memory ran out on the first call. */
msg_mclass_t const *rw_sipcheck_mclass(void);

typedef struct {
    int status;                   /* 0 = valid, else the status to answer */
    char phrase[64];              /* reason phrase naming the fault */
    char unsupported[128];        /* for 420: the option-tags the edge does not support */
} rw_sipcheck_t;

/* Validates a request the edge will handle. as_uas: the edge is the final recipient (REGISTER,
 * OPTIONS to itself) so Require is checked too; otherwise only Proxy-Require (RFC 3261
 * 16.3 step 4). Returns out->status. */
int rw_sipcheck_request(const sip_t *sip, int as_uas, rw_sipcheck_t *out);

typedef struct {
    const char *addr;             /* "127.0.0.1" */
    const char *addr6;            /* "::1" or "" */
    unsigned port;
    const char *realm;            /* "ringway.local" or NULL */
} rw_sipcheck_self_t;

/* 1 when url names this edge: one of its addresses and its port (no port = 5060). */
int rw_sipcheck_is_self(const rw_sipcheck_self_t *me, const url_t *url);

typedef enum {
    RW_TARGET_REGISTRAR = 1,      /* REGISTER for us */
    RW_TARGET_SELF,               /* OPTIONS for the edge itself: 200 */
    RW_TARGET_PROXY               /* everything else goes to the proxy */
} rw_sipcheck_target_t;

/* Which part handles a valid request. An OPTIONS without user part for one of our addresses
 * (any port) or for the realm, outside a dialog and not routed elsewhere, is for the edge. */
rw_sipcheck_target_t rw_sipcheck_target(const rw_sipcheck_self_t *me, const sip_t *sip);

/* The first Route entry that does not name this edge (NULL: none). */
const sip_route_t *rw_sipcheck_foreign_route(const rw_sipcheck_self_t *me, const sip_t *sip);

/* 1 when a Request-URI without user part names the edge: target SELF's test (its address and
 * port, its address without a port, or the realm), whatever the method. */
int rw_sipcheck_names_edge(const rw_sipcheck_self_t *me, const url_t *ru);

/* The hop changes RFC 3261 16.6 makes to a request the proxy forwards, on msg (its sip): the
 * leading Route entries naming this edge are removed (loose routing, step 6), Max-Forwards
 * goes down by one, or is added as 70 (step 3). RW_ERANGE when Max-Forwards is already 0
 * (483: the Routes are gone, nothing else changed), RW_ENOMEM. */
int rw_sipcheck_prepare_forward(const rw_sipcheck_self_t *me, msg_t *msg, sip_t *sip);

/* Methods the edge answers or forwards (OPTIONS to the edge: Allow). */
#define RW_SIPCHECK_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, PRACK, " \
                          "MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH"
/* Methods the edge itself implements as the final recipient (405 to a request for the edge). */
#define RW_SIPCHECK_ALLOW_SELF "OPTIONS, REGISTER"
#define RW_SIPCHECK_SUPPORTED "path"

#endif
