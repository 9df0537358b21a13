/* services/sip-edge/edge.h — the SIP front of sip-edge: one NTA agent (proxy mode, UDP and
 * TCP on the IPv4 address, optionally the IPv6 one too) on the service's su_root, parsing with
 * the strict request line of sipcheck.h. Every new request first meets the overload guard
 * (503 + Retry-After, stateless), then gets a server transaction, the validation of sipcheck.h
 * (400/416/420/505 naming the fault) and the dispatch: REGISTER -> registrar, OPTIONS addressed
 * to the edge itself -> 200 with Allow/Accept/Supported, everything else -> proxy. Sofia's own
 * log lines go to rw_log (debug); its STUN server is off. In a worker of several sharing the
 * port, the Via branch of every request it sends names the worker (rw_edge_branch); a response
 * the kernel hands to another worker is relayed by it, unchanged, to this worker's loopback relay
 * port (docs/sip-edge.md "Several processes"). With steering (steer.h) the branch also carries
 * the worker's socket index, which it learns by probes, and responses mostly arrive directly.
 * The edge owns the agent; the registrar and proxy are borrowed and must be unset (NULL)
 * before they are destroyed; rw_edge_destroy() must run before su_root_destroy(). */
#ifndef RW_SIPEDGE_EDGE_H
#define RW_SIPEDGE_EDGE_H

#include <sys/socket.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

#include "common/metrics.h"
#include "services/sip-edge/overload.h"
#include "services/sip-edge/sipcheck.h"

#define RW_EDGE_WORKERS_MAX 64

typedef struct rw_edge rw_edge_t;
struct rw_registrar;
struct rw_proxy;

typedef struct {
    const char *addr;             /* "127.0.0.1" */
    const char *addr6;            /* "::1" or "" */
    unsigned port;
    const char *transports;       /* "udp,tcp", "udp" or "tcp" */
    unsigned max_size;            /* bigger messages are answered 413 */
    const char *realm;            /* OPTIONS for the realm is for the edge; may be NULL */
    rw_metrics_t *metrics;        /* may be NULL */
    unsigned t1x64_ms;            /* SIP 64*T1 (timers B, F, H, J); 0 = RFC 3261's 32000 */
    unsigned udp_buffer;          /* SO_RCVBUF/SO_SNDBUF of the UDP sockets, bytes; 0 = the kernel's */
    int worker;                   /* index among processes sharing the SIP port; -1: the only one */
    unsigned n_workers;           /* processes sharing the port (relay_ports has this many) */
    const unsigned short *relay_ports;  /* worker I takes relayed responses on 127.0.0.1:relay_ports[I] */
    int steer;                    /* a worker: learn its socket index for steer.h's program (on the
                                     group when rw_reuseport_steer() turned it on before the bind) */
} rw_edge_opts_t;

rw_edge_t *rw_edge_new(su_root_t *root, const rw_edge_opts_t *opts);
void rw_edge_destroy(rw_edge_t **self);
void rw_edge_set_handlers(rw_edge_t *self, struct rw_registrar *reg, struct rw_proxy *proxy);
nta_agent_t *rw_edge_agent(const rw_edge_t *self);
/* Where SUBSCRIBEs for the presence and dialog packages go (subscribe.h; NULL: to the proxy
 * like any request); borrowed. */
struct rw_subscribe;
void rw_edge_set_subscribe(rw_edge_t *self, struct rw_subscribe *subs);
/* The overload guard new INVITEs and REGISTERs meet (NULL: none); borrowed. */
void rw_edge_set_overload(rw_edge_t *self, rw_overload_t *ov);
/* Turns on refusing INVITEs unparsed (overload.refuse_unparsed): from now on the branches of
 * the INVITEs taken are remembered (fastshed.h's 2 MiB table), which rw_edge_udp_filter needs
 * and nothing else pays for while it is off. 0, or -1 out of memory. */
int rw_edge_refuse_unparsed(rw_edge_t *self);
/* udpio.h's datagram filter (arg: the edge; inert until rw_edge_refuse_unparsed): while the guard refuses INVITEs (for a second
 * after the last refusal) it answers new INVITEs 503 + Retry-After from their raw datagram
 * (fastshed.h), counted like any refusal and in shed_unparsed_total, and drops the ACKs of
 * those 503s; 0 for everything else. */
int rw_edge_udp_filter(void *arg, int fd, const unsigned char *buf, size_t len, const struct sockaddr *from,
                       socklen_t fromlen);
/* 1 when url names this edge (one of its addresses and its port; no port = 5060). */
int rw_edge_is_self(const rw_edge_t *self, const url_t *url);
/* The edge's addresses, port and realm, for sipcheck.h's tests (owned by the edge). */
const rw_sipcheck_self_t *rw_edge_self(const rw_edge_t *self);
/* Record-Route value for requests that arrived over family (AF_INET / AF_INET6), e.g.
 * "<sip:127.0.0.1:5060;lr>". */
const char *rw_edge_record_route(const rw_edge_t *self, int family);
/* The transport a response relayed statelessly must leave by, for the Via it goes to (the one
 * below ours): the IPv6 UDP port for an IPv6 UDP hop, else NULL (NTA's own choice, which is
 * the first UDP port, IPv4, whatever the hop's family). */
struct tport_s *rw_edge_response_tport(const rw_edge_t *self, const sip_via_t *next);
/* A fresh Via branch ("branch=z9hG4bK...") for NTATAG_BRANCH_KEY on every request this process
 * sends, written into buf (64 bytes are enough); NULL (NTA's own branch) for a single process.
 * In a worker it names the worker so responses find their way back to it. */
const char *rw_edge_branch(rw_edge_t *self, char *buf, size_t len);

#endif
