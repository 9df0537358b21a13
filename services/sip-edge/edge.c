/* services/sip-edge/edge.c — the NTA agent and the request dispatch (edge.h). */
#include "services/sip-edge/edge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_time.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sutimer.h"
#include "services/sip-edge/fastshed.h"
#include "services/sip-edge/proxy.h"
#include "services/sip-edge/registrar.h"
#include "services/sip-edge/reuseport.h"
#include "services/sip-edge/sipcheck.h"
#include "services/sip-edge/steer.h"
#include "services/sip-edge/subscribe.h"

/* SIP's T4 for NTA. NTA keeps an INVITE server transaction for T4 after relaying its 2xx (the
 * caller stopped retransmitting at our 100), waits T4 for ACK retransmissions after a failure
 * (timer I) and for response retransmissions after a non-INVITE's answer (timer K). RFC 3261's
 * 5 s kept every call's INVITE and 200 in memory 5 s: at 4,000 calls/s 20,000 transactions.
 * A retransmission later than 2 s on loopback or a LAN is passed on statelessly or dropped. */
#define EDGE_T4_MS 2000

struct rw_edge {
    nta_agent_t *nta;
    struct rw_registrar *reg;
    struct rw_proxy *proxy;
    struct rw_subscribe *subs;    /* SUBSCRIBE for presence / dialog; borrowed, may be NULL */
    rw_overload_t *ov;            /* borrowed, may be NULL */
    rw_counter_t *rejected;       /* requests answered by validation */
    char addr[64], addr6[64], realm[128];
    unsigned port;
    rw_sipcheck_self_t me;
    char rr4[128], rr6[128];
    int worker;                   /* index among processes sharing the port; -1: the only one */
    unsigned n_workers;
    unsigned short relay[RW_EDGE_WORKERS_MAX];   /* each worker's loopback relay port */
    int relay_fd;                 /* sends responses on to the worker they belong to */
    uint64_t branch_seq;
    unsigned udp_buffer;
    su_timer_t *stats;            /* every second: NTA's transaction counts into the gauges */
    rw_gauge_t *g_irq, *g_orq;
    rw_counter_t *relayed;        /* responses passed on to another worker */
    unsigned steer_idx;           /* this worker's socket in the port's group (RW_STEER_UNKNOWN) */
    uint64_t steer_nonce;         /* the probes' nonce: a base plus the round */
    unsigned steer_round, steer_seen;   /* probe rounds sent; the last one answered */
    su_timer_t *steer_timer;      /* every second: a probe round */
    rw_gauge_t *g_steer;
    tport_t *udp6;                /* the IPv6 SIP port's UDP transport, if any */
    uint64_t queue_read_us;       /* when queue_kb was read from the kernel (monotonic) */
    unsigned queue_kb;            /* the SIP port's unread datagrams, as last read */
    uint64_t fast_until_ms;       /* refusing new INVITEs unparsed until then (monotonic), 0: not */
    uint32_t fast_tag;            /* the last To tag number of those 503s */
    rw_counter_t *fast_shed, *fast_acks;
    rw_fastshed_seen_t *seen;     /* INVITEs taken lately, by branch: their retransmissions pass */
};

/* The SIP port's queue is read from the kernel at most once per QUEUE_READ_US: a system call
 * per new request otherwise, for a rule that looks at the queue over queue_standing_ms. */
#define QUEUE_READ_US 1000
/* After an INVITE was refused, new INVITEs are refused from their raw datagram (fastshed.h)
 * for FAST_SHED_MS after the last refusal, and the ACKs of those 503s dropped unparsed for
 * FAST_ACK_MS more. */
#define FAST_SHED_MS 1000
#define FAST_ACK_MS 5000
#define FAST_SEEN_MS 32000            /* an INVITE's retransmissions end within 64*T1 */

static int relay_response(rw_edge_t *self, msg_t *msg, const sip_t *sip);
static int steer_probe(rw_edge_t *self, const sip_t *sip);

static void sofia_log(void *arg, char const *fmt, va_list ap)
{
    char line[256];
    (void) arg;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    rw_log_debug("sofia", RW_S("line", line));
}

/* Answers a request the edge took: Allow with 405 (only requests for the edge itself get one:
 * the methods it implements there), Unsupported with 420, Retry-After with 503. */
static void answer(rw_edge_t *self, nta_incoming_t *irq, int status, const char *phrase, const char *unsupported)
{
    char retry[16];
    snprintf(retry, sizeof retry, "%u", rw_overload_retry_after(self->ov));
    nta_incoming_treply(irq, status, phrase ? phrase : sip_status_phrase(status),
                        TAG_IF(status == 405, SIPTAG_ALLOW_STR(RW_SIPCHECK_ALLOW_SELF)),
                        TAG_IF(status == 420 && unsupported, SIPTAG_UNSUPPORTED_STR(unsupported)),
                        TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR(retry)), TAG_END());
    nta_incoming_destroy(irq);
}

/* Where the request goes and its validation, once (chk->status 0: valid). Validation needs
 * the target first: the edge as the final recipient (REGISTER, OPTIONS to itself) also
 * checks Require. */
static rw_sipcheck_target_t check(const rw_edge_t *self, const sip_t *sip, rw_sipcheck_t *chk)
{
    rw_sipcheck_target_t target = rw_sipcheck_target(&self->me, sip);
    rw_sipcheck_request(sip, target != RW_TARGET_PROXY, chk);
    return target;
}

/* 1 when the registrar took a valid REGISTER without a server transaction (msg consumed):
 * challenged, or answered with its answer kept in a bounded cache for retransmissions, so a
 * registration keeps no NTA transaction for timer J (registrar.h). */
static int challenged(rw_edge_t *self, nta_agent_t *agent, msg_t *msg, const sip_t *sip,
                      rw_sipcheck_target_t target, const rw_sipcheck_t *chk)
{
    (void) agent;
    if (target != RW_TARGET_REGISTRAR || chk->status || !self->reg)
        return 0;
    return rw_registrar_take(self->reg, msg, sip);
}

static int dispatch(rw_edge_t *self, nta_incoming_t *irq, const sip_t *sip, rw_sipcheck_target_t target,
                    const rw_sipcheck_t *chk)
{
    if (chk->status) {
        rw_counter_inc(self->rejected);
        if (sip->sip_request && sip->sip_request->rq_method == sip_method_ack) {
            nta_incoming_destroy(irq);
            return 0;
        }
        answer(self, irq, chk->status, chk->phrase, chk->unsupported);
        return 0;
    }
    if (target == RW_TARGET_REGISTRAR)
        return self->reg ? rw_registrar_handle(self->reg, irq, sip) : 503;
    if (self->subs && rw_subscribe_wants(sip))
        return rw_subscribe_request(self->subs, irq, sip);
    if (target == RW_TARGET_SELF) {
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(RW_SIPCHECK_ALLOW),
                            SIPTAG_ACCEPT_STR("application/sdp"),
                            SIPTAG_SUPPORTED_STR(RW_SIPCHECK_SUPPORTED), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    return self->proxy ? rw_proxy_request(self->proxy, irq, sip) : 503;
}

/* 1 when new work must be refused before any state exists: a REGISTER, or a request outside
 * a dialog (an INVITE, a MESSAGE or SUBSCRIBE to a user...). Never ACK, CANCEL, requests inside
 * a dialog (they end calls) or OPTIONS to the edge itself (peers' keep-alives: a 503 there
 * would take the edge out of their rotation for longer than the overload lasts). */
/* The overload guard's answer for a new request now (reg: a REGISTER, else an INVITE or
 * another request outside a dialog); a refusal is counted by reason. */
static int refuse_now(rw_edge_t *self, int reg)
{
    rw_load_t load = { 0 };
    if (self->proxy)
        rw_proxy_load(self->proxy, &load.routing, &load.calls, &load.oldest_ms);
    load.registers = rw_registrar_in_flight(self->reg);
    if (rw_overload_watches_queue(self->ov)) {
        uint64_t now_us = rw_clock_mono_us();
        if (!self->queue_read_us || now_us - self->queue_read_us >= QUEUE_READ_US) {
            int fds[RW_REUSEPORT_TRACKED_MAX];
            self->queue_kb = rw_overload_queued_kb(fds, rw_reuseport_udp_fds(fds, RW_REUSEPORT_TRACKED_MAX));
            self->queue_read_us = now_us;
        }
        load.queued_kb = self->queue_kb;
        load.now_ms = now_us / 1000;
    }
    return rw_overload_admit(self->ov, reg, &load) != NULL;
}

static int shed(rw_edge_t *self, const sip_t *sip)
{
    sip_method_t m = sip->sip_request->rq_method;
    int reg = m == sip_method_register;
    if (!self->ov || (sip->sip_to && sip->sip_to->a_tag) || m == sip_method_ack || m == sip_method_cancel)
        return 0;
    if (m == sip_method_options && rw_sipcheck_target(&self->me, sip) == RW_TARGET_SELF)
        return 0;
    if (!refuse_now(self, reg))
        return 0;
    if (m == sip_method_invite)       /* the datagram filter refuses the next ones unparsed */
        self->fast_until_ms = rw_clock_mono_ms() + FAST_SHED_MS;
    return 1;
}

int rw_edge_refuse_unparsed(rw_edge_t *self)
{
    if (!self || (!self->seen && !(self->seen = rw_fastshed_seen_new())))
        return -1;
    return 0;
}

int rw_edge_udp_filter(void *arg, int fd, const unsigned char *buf, size_t len, const struct sockaddr *from,
                       socklen_t fromlen)
{
    rw_edge_t *self = arg;
    if (!self || !self->ov || !self->seen || !self->fast_until_ms)
        return 0;
    uint64_t now = rw_clock_mono_ms();
    if (now >= self->fast_until_ms + FAST_ACK_MS) {
        self->fast_until_ms = 0;      /* the window and its ACKs are over */
        return 0;
    }
    rw_fastshed_t fs;
    rw_fastshed_kind_t kind = rw_fastshed_parse((const char *) buf, len, from, &fs);
    if (kind == RW_FASTSHED_ACK_OURS) {
        rw_counter_inc(self->fast_acks);
        return 1;                     /* the ACK of a 503 below: hop by hop, it ends here */
    }
    if (kind != RW_FASTSHED_NEW_INVITE || now >= self->fast_until_ms
        || rw_fastshed_seen_has(self->seen, (const char *) buf + fs.branch_at, fs.branch_len, now)
        || !refuse_now(self, 0))
        return 0;
    char out[RW_FASTSHED_MAX];
    size_t n = rw_fastshed_503(&fs, (const char *) buf, rw_overload_retry_after(self->ov), ++self->fast_tag,
                               out, sizeof out);
    if (n == 0 || sendto(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL, from, fromlen) < 0)
        return 0;                     /* Sofia's path answers it (and counts the refusal again) */
    rw_counter_inc(self->fast_shed);
    self->fast_until_ms = now + FAST_SHED_MS;
    return 1;
}

/* Every request no transaction matched (NTA has no default leg, so it comes here first) and
 * every stray response. A request is refused 503 statelessly under overload; otherwise it
 * gets a server transaction and the dispatch; the leg-callback contract stays: a status
 * returned by a handler is answered here. */
static int on_message(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    rw_edge_t *self = (rw_edge_t *) magic;
    if (!sip || !sip->sip_request) {
        if (steer_probe(self, sip)) {
            msg_destroy(msg);
            return 0;
        }
        if (relay_response(self, msg, sip))
            return 0;
        if (self->proxy)
            return rw_proxy_stray(self->proxy, msg, sip);
        msg_destroy(msg);
        return 0;
    }
    if (shed(self, sip)) {
        char retry[16];
        snprintf(retry, sizeof retry, "%u", rw_overload_retry_after(self->ov));
        nta_msg_treply(agent, msg, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR(retry), TAG_END());
        return 0;
    }
    rw_sipcheck_t chk;
    rw_sipcheck_target_t target = check(self, sip, &chk);
    if (challenged(self, agent, msg, sip, target, &chk))
        return 0;
    if (target == RW_TARGET_PROXY && !chk.status && self->proxy && rw_proxy_stateless(self->proxy, msg, sip))
        return 0;                 /* an in-dialog ACK or BYE: forwarded with no transaction */
    if (self->seen && sip->sip_request->rq_method == sip_method_invite && sip->sip_via && sip->sip_via->v_branch)
        rw_fastshed_seen_add(self->seen, sip->sip_via->v_branch, strlen(sip->sip_via->v_branch),
                             rw_clock_mono_ms() + FAST_SEEN_MS);
    nta_incoming_t *irq = nta_incoming_create(agent, NULL, msg, sip, TAG_END());
    if (!irq)
        return 0;                 /* NTA freed msg */
    int status = dispatch(self, irq, sip, target, &chk);
    if (status >= 100 && status < 200)
        status = 500;
    if (status >= 200) {
        if (sip->sip_request->rq_method == sip_method_invite && status < 300)
            status = 500;
        answer(self, irq, status, NULL, NULL);
    }
    return 0;
}

static int make_url(char *buf, size_t len, const char *host, unsigned port, const char *tr)
{
    int v6 = strchr(host, ':') != NULL;
    const char *only = strchr(tr, ',') ? "" : (!strcmp(tr, "tcp") ? ";transport=tcp" : ";transport=udp");
    int n = snprintf(buf, len, "sip:%s%s%s:%u%s", v6 ? "[" : "", host, v6 ? "]" : "", port, only);
    return n < 0 || (size_t) n >= len ? -1 : 0;
}

static int add_tport(rw_edge_t *self, const char *url)
{
    if (nta_agent_add_tport(self->nta, URL_STRING_MAKE(url), TAG_IF(self->udp_buffer, TPTAG_UDP_RMEM(self->udp_buffer)),
                            TAG_IF(self->udp_buffer, TPTAG_UDP_WMEM(self->udp_buffer)), TAG_END()) < 0) {
        rw_log_error("sip_bind_failed", RW_S("url", url));
        return -1;
    }
    return 0;
}

/* The IPv6 SIP port, then (in a worker) the relay port. NTA sends a request from the first
 * primary transport of its protocol and family, so requests keep leaving from the SIP port:
 * devices behind NAT see the address they registered with, and the Via names the SIP port. */
static int add_tports(rw_edge_t *self, const rw_edge_opts_t *opts)
{
    char url[160];
    if (self->addr6[0] && (make_url(url, sizeof url, self->addr6, self->port, opts->transports)
                           || add_tport(self, url) != 0))
        return -1;
    if (self->worker < 0)
        return 0;
    snprintf(url, sizeof url, "sip:127.0.0.1:%u;transport=udp", self->relay[self->worker]);
    if (add_tport(self, url) != 0)
        return -1;
    self->relay_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (self->relay_fd < 0)
        return -1;
    rw_log_info("sip_relay_port", RW_I("worker", self->worker), RW_U("port", self->relay[self->worker]));
    return 0;
}

/* Worker index named by a branch rw_edge_branch wrote ("z9hG4bKrw<2 hex><2 hex>.", or an
 * earlier release's "z9hG4bKrw<2 hex>."), or -1. */
static int branch_worker(const char *branch)
{
    if (!branch || strncasecmp(branch, "z9hG4bKrw", 9) != 0 || !isxdigit((unsigned char) branch[9])
        || !isxdigit((unsigned char) branch[10]))
        return -1;
    if (branch[11] != '.' && !(isxdigit((unsigned char) branch[11]) && isxdigit((unsigned char) branch[12])
                               && branch[13] == '.'))
        return -1;
    char hex[3] = { branch[9], branch[10], 0 };
    return (int) strtol(hex, NULL, 16);
}

/* 1 when the response belongs to another worker and was passed on to it (msg consumed). */
static int relay_response(rw_edge_t *self, msg_t *msg, const sip_t *sip)
{
    int k = self->worker < 0 || !sip || !sip->sip_via ? -1 : branch_worker(sip->sip_via->v_branch);
    if (k < 0 || k == self->worker || (unsigned) k >= self->n_workers)
        return 0;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    size_t len = 0;
    char *text = msg_as_string(home, msg, NULL, 0, &len);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(self->relay[k]),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (!text || sendto(self->relay_fd, text, len, 0, (struct sockaddr *) &to, sizeof to) != (ssize_t) len)
        rw_log_warn("sip_relay_failed", RW_I("worker", k), RW_S("call_id", sip->sip_call_id ? sip->sip_call_id->i_id : ""));
    else
        rw_counter_inc(self->relayed);
    su_home_deinit(home);
    msg_destroy(msg);
    return 1;
}

const char *rw_edge_branch(rw_edge_t *self, char *buf, size_t len)
{
    if (!self || self->worker < 0)
        return NULL;
    char token[20];
    self->branch_seq += 0x9e3779b97f4a7c15ULL;
    msg_random_token(token, sizeof token - 1, &self->branch_seq, sizeof self->branch_seq);
    int n = snprintf(buf, len, "branch=z9hG4bKrw%02x%02x.%s", (unsigned) self->worker, self->steer_idx, token);
    return n > 0 && (size_t) n < len ? buf : NULL;
}

/* A probe round: one response-shaped datagram per socket index of the port's group, to the
 * SIP port; the smallest index among those that come back to this worker is its own (steer.h;
 * a probe past the group gets the hash and may come back with a larger one). A round left
 * unanswered forgets the index: responses then take the kernel's hash and the relay. */
static void probe_round(rw_edge_t *self)
{
    if (self->steer_seen != self->steer_round)
        self->steer_idx = RW_STEER_UNKNOWN;
    rw_gauge_set(self->g_steer, self->steer_idx == RW_STEER_UNKNOWN ? -1.0 : (double) self->steer_idx);
    self->steer_round++;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t) self->port) };
    if (inet_pton(AF_INET, self->addr, &to.sin_addr) != 1 || to.sin_addr.s_addr == htonl(INADDR_ANY))
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char text[512];
    for (unsigned k = 0; k < self->n_workers; k++) {
        size_t n = rw_steer_probe(text, sizeof text, (unsigned) self->worker, k, self->steer_nonce + self->steer_round);
        if (n)
            (void) sendto(self->relay_fd, text, n, 0, (struct sockaddr *) &to, sizeof to);
    }
}

static void on_steer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    probe_round((rw_edge_t *) arg);
}

/* 1 when the response is a probe (any worker's: never relayed); this worker's own of the
 * current round set its index. A probe for an index past the group gets the kernel's hash
 * and may come back too, but its index is past this worker's true one: the smallest wins. */
static int steer_probe(rw_edge_t *self, const sip_t *sip)
{
    unsigned worker, k;
    uint64_t nonce;
    if (self->worker < 0 || !sip || !sip->sip_via
        || !rw_steer_probe_parse(sip->sip_via->v_branch, &worker, &k, &nonce))
        return 0;
    if (worker == (unsigned) self->worker && nonce == self->steer_nonce + self->steer_round
        && k < RW_STEER_UNKNOWN) {
        unsigned idx = self->steer_seen == self->steer_round && self->steer_idx < k ? self->steer_idx : k;
        self->steer_seen = self->steer_round;
        if (idx != self->steer_idx)
            rw_log_info("sip_steer_index", RW_I("worker", self->worker), RW_U("index", idx));
        self->steer_idx = idx;
        rw_gauge_set(self->g_steer, (double) idx);
    }
    return 1;
}

/* Steering on (the program is on the group): the first round now, then one a second. */
static void start_steer(rw_edge_t *self, su_root_t *root, const rw_edge_opts_t *opts)
{
    int err = 0;
    if (self->worker < 0 || !opts->steer)
        return;
    if (rw_reuseport_steered(&err) != 1) {
        rw_log_warn("sip_steer_off", RW_I("worker", self->worker), RW_S("error", strerror(err)),
                    RW_S("hint", "responses reach their worker by relay"));
        return;
    }
    self->steer_nonce = self->branch_seq ^ ((uint64_t) getpid() << 16);
    if (opts->metrics)
        self->g_steer = rw_metrics_gauge(opts->metrics, "steer_index",
                                         "this worker's socket in the SIP port's group, learnt by probes (-1: unknown)");
    self->steer_seen = self->steer_round;
    probe_round(self);
    self->steer_timer = rw_sutimer_lazy(root, 1000);
    if (self->steer_timer)
        su_timer_run(self->steer_timer, on_steer, (su_timer_arg_t *) self);
}

static void on_stats(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_edge_t *self = (rw_edge_t *) arg;
    usize_t irq = 0, orq = 0;
    (void) m;
    (void) t;
    nta_agent_get_stats(self->nta, NTATAG_S_IRQ_HASH_USED_REF(irq), NTATAG_S_ORQ_HASH_USED_REF(orq), TAG_END());
    rw_gauge_set(self->g_irq, (double) irq);
    rw_gauge_set(self->g_orq, (double) orq);
}

/* Gauges of the transactions NTA holds, refreshed every second (no timer without metrics). */
static void start_stats(rw_edge_t *self, su_root_t *root, rw_metrics_t *m)
{
    if (!m)
        return;
    self->g_irq = rw_metrics_gauge(m, "transactions{side=\"server\"}", "SIP transactions NTA holds (server: requests received; client: requests sent)");
    self->g_orq = rw_metrics_gauge(m, "transactions{side=\"client\"}", "SIP transactions NTA holds (server: requests received; client: requests sent)");
    self->stats = rw_sutimer_lazy(root, 1000);
    if (self->stats)
        su_timer_run(self->stats, on_stats, (su_timer_arg_t *) self);
}

/* One worker of several sharing the SIP port: its index, its siblings' relay ports, a branch seed. */
static void take_workers(rw_edge_t *self, const rw_edge_opts_t *opts)
{
    self->worker = -1;
    if (opts->n_workers < 2 || opts->worker < 0 || (unsigned) opts->worker >= opts->n_workers
        || opts->n_workers > RW_EDGE_WORKERS_MAX || !opts->relay_ports)
        return;
    self->worker = opts->worker;
    self->n_workers = opts->n_workers;
    memcpy(self->relay, opts->relay_ports, opts->n_workers * sizeof *self->relay);
    self->branch_seq = (uint64_t) su_nanotime(NULL) * 0x100000001b3ULL ^ (uint64_t) getpid() << 32;
}

rw_edge_t *rw_edge_new(su_root_t *root, const rw_edge_opts_t *opts)
{
    char url[160];
    rw_edge_t *self = calloc(1, sizeof *self);
    if (self)
        self->relay_fd = -1, self->steer_idx = RW_STEER_UNKNOWN;
    if (!self || !opts->addr || strlen(opts->addr) >= sizeof self->addr
        || strlen(opts->addr6 ? opts->addr6 : "") >= sizeof self->addr6)
        goto fail;
    strcpy(self->addr, opts->addr);
    strcpy(self->addr6, opts->addr6 ? opts->addr6 : "");
    snprintf(self->realm, sizeof self->realm, "%s", opts->realm ? opts->realm : "");
    self->port = opts->port;
    self->me = (rw_sipcheck_self_t){ self->addr, self->addr6, self->port, self->realm[0] ? self->realm : NULL };
    if (opts->metrics)
        self->rejected = rw_metrics_counter(opts->metrics, "requests_rejected_total",
                                            "requests answered 4xx/505 by request validation");
    if (opts->metrics)
        self->relayed = rw_metrics_counter(opts->metrics, "responses_relayed_total",
                                           "responses passed on to the worker process whose request they answer");
    if (opts->metrics) {
        self->fast_shed = rw_metrics_counter(opts->metrics, "shed_unparsed_total",
                                             "new INVITEs refused 503 from their raw datagram, before Sofia parsed them (also in shed_total)");
        self->fast_acks = rw_metrics_counter(opts->metrics, "shed_unparsed_acks_total",
                                             "ACKs of those 503s dropped unparsed");
    }
    snprintf(self->rr4, sizeof self->rr4, "<sip:%s:%u;lr>", self->addr, self->port);
    snprintf(self->rr6, sizeof self->rr6, "<sip:[%s]:%u;lr>", self->addr6, self->port);
    su_log_redirect(NULL, sofia_log, self);
    take_workers(self, opts);
    self->udp_buffer = opts->udp_buffer;
    if (make_url(url, sizeof url, self->addr, self->port, opts->transports))
        goto fail;
    const msg_mclass_t *mc = rw_sipcheck_mclass();
    if (!mc)
        goto fail;
    self->nta = nta_agent_create(root, URL_STRING_MAKE(url), on_message, (nta_agent_magic_t *) self,
                                 NTATAG_MCLASS(mc), TPTAG_STUN_SERVER(0), /* its error path leaks */
                                 NTATAG_UA(0), NTATAG_SERVER_RPORT(1), NTATAG_CANCEL_487(0),
                                 NTATAG_MAXSIZE(opts->max_size), NTATAG_TIMEOUT_408(1),
                                 TAG_IF(opts->t1x64_ms, NTATAG_SIP_T1X64(opts->t1x64_ms)), NTATAG_SIP_T4(EDGE_T4_MS),
                                 TAG_IF(opts->udp_buffer, TPTAG_UDP_RMEM(opts->udp_buffer)),
                                 TAG_IF(opts->udp_buffer, TPTAG_UDP_WMEM(opts->udp_buffer)), TAG_END());
    if (!self->nta) {
        rw_log_error("sip_bind_failed", RW_S("url", url));
        goto fail;
    }
    if (add_tports(self, opts) != 0)
        goto fail;
    for (tport_t *tp = tport_primaries(nta_agent_tports(self->nta)); tp; tp = tport_next(tp)) {
        const su_addrinfo_t *ai = tport_get_address(tp);
        if (!self->udp6 && ai && ai->ai_family == AF_INET6 && !strcasecmp(tport_name(tp)->tpn_proto, "udp"))
            self->udp6 = tp;
    }
    start_stats(self, root, opts->metrics);
    start_steer(self, root, opts);
    return self;
fail:
    rw_edge_destroy(&self);
    return NULL;
}

void rw_edge_destroy(rw_edge_t **pself)
{
    rw_edge_t *self = pself ? *pself : NULL;
    if (!self)
        return;
    su_timer_destroy(self->stats);
    su_timer_destroy(self->steer_timer);
    if (self->nta)
        nta_agent_destroy(self->nta);
    if (self->relay_fd >= 0)
        close(self->relay_fd);
    rw_fastshed_seen_destroy(&self->seen);
    free(self);
    *pself = NULL;
}

void rw_edge_set_handlers(rw_edge_t *self, struct rw_registrar *reg, struct rw_proxy *proxy)
{
    self->reg = reg;
    self->proxy = proxy;
}

void rw_edge_set_subscribe(rw_edge_t *self, struct rw_subscribe *subs)
{
    self->subs = subs;
}

void rw_edge_set_overload(rw_edge_t *self, rw_overload_t *ov)
{
    self->ov = ov;
}

nta_agent_t *rw_edge_agent(const rw_edge_t *self)
{
    return self->nta;
}

int rw_edge_is_self(const rw_edge_t *self, const url_t *url)
{
    return rw_sipcheck_is_self(&self->me, url);
}

const rw_sipcheck_self_t *rw_edge_self(const rw_edge_t *self)
{
    return &self->me;
}

tport_t *rw_edge_response_tport(const rw_edge_t *self, const sip_via_t *next)
{
    if (!self->udp6 || !next || !next->v_protocol || strcasecmp(next->v_protocol, "SIP/2.0/UDP"))
        return NULL;
    const char *host = next->v_received ? next->v_received : next->v_host;
    return host && strchr(host, ':') ? self->udp6 : NULL;
}

const char *rw_edge_record_route(const rw_edge_t *self, int family)
{
    return family == AF_INET6 && self->addr6[0] ? self->rr6 : self->rr4;
}
