/* services/sip-edge/main.c — ringway-sip-edge: wiring only (config, parts, loop, teardown). */
#include "services/sip-edge/edge.h"
#include "services/sip-edge/fallback.h"
#include "services/sip-edge/peers.h"
#include "services/sip-edge/proxy.h"
#include "services/sip-edge/registrar.h"
#include "services/sip-edge/reuseport.h"
#include "services/sip-edge/subscribe.h"
#include "services/sip-edge/udpio.h"
#include "services/sip-edge/workers.h"
#include "services/core/service.h"
#include "bus/bus.h"
#include "common/log.h"

#include <string.h>
#include <sys/socket.h>

static const rw_cfg_spec_t edge_spec[] = {
    { "sip.addr", RW_CFG_STR, "127.0.0.1", 0, 0, "IPv4 address SIP listens on (UDP and TCP)" },
    { "sip.addr6", RW_CFG_STR, "", 0, 0, "IPv6 address SIP also listens on, e.g. ::1 (empty: none)" },
    { "sip.port", RW_CFG_INT, "5060", 1, 65535, "SIP port" },
    { "sip.transports", RW_CFG_STR, "udp,tcp", 0, 0, "udp,tcp | udp | tcp" },
    { "sip.processes", RW_CFG_INT, "1", 0, RW_WORKERS_MAX, "worker processes sharing the SIP port (0: one per online CPU; 1: no supervisor)" },
    { "sip.relay_port", RW_CFG_INT, "0", 0, 65535, "with several processes: worker I takes responses its siblings received for it on 127.0.0.1 UDP port relay_port + I (0: free ports chosen at start)" },
    { "sip.run_dir", RW_CFG_STR, "", 0, 0, "with several processes: directory of the supervisor's run file, which names the running workers so a restarted supervisor adopts them (empty: $XDG_RUNTIME_DIR, else /tmp)" },
    { "sip.steer_responses", RW_CFG_BOOL, "true", 0, 0, "with several processes: a reuseport program sends each response to the worker whose request it answers, instead of a relay between workers" },
    { "sip.spread_requests", RW_CFG_BOOL, "true", 0, 0, "with several processes: a reuseport program spreads requests over the workers by a hash of their top Via branch, so one sender's calls (a trunk, an SBC) use every worker while a transaction (retransmissions, CANCEL) stays on one; false: the kernel's hash of the sender's address" },
    { "sip.relay_ports", RW_CFG_STR, "", 0, 0, "set by the supervisor for its workers: every worker's relay port, comma-separated" },
    { "sip.udp_lean_io", RW_CFG_BOOL, "true", 0, 0, "the SIP port's UDP sockets read each datagram without Sofia's FIONREAD ioctl and send it without its SO_ERROR getsockopt: two system calls fewer per datagram (docs/sip-edge.md); false: Sofia's own I/O" },
    { "sip.udp_buffer_kb", RW_CFG_INT, "4096", 0, 262144, "receive and send buffer of each UDP socket (0: the kernel's default; capped by net.core.rmem_max/wmem_max)" },
    { "sip.transaction_timeout_ms", RW_CFG_INT, "8000", 2000, 32000, "SIP 64*T1: a forwarded INVITE without any answer fails 408 after this (a non-INVITE gets no 408: RFC 4320), and a finished non-INVITE transaction is kept this long to absorb retransmissions (RFC 3261: 32000); a REGISTER keeps no transaction (its answer is kept in a fixed table, docs/sip-edge.md), a BYE is forwarded statelessly" },
    { "sip.realm", RW_CFG_STR, "ringway.local", 0, 0, "SIP domain and digest realm: AORs are sip:<ext>@<realm>" },
    { "sip.max_size", RW_CFG_INT, "65536", 1024, 1048576, "largest SIP message accepted (bigger: 413)" },
    { "sip.peers", RW_CFG_STR, "", 0, 0, "trusted peers and trunks: 'NAME HOST:PORT proxy|redirect|trunk [PREFIX,...]; ...'" },
    { "auth.nonce_secret", RW_CFG_STR, "", 0, 0, "HMAC key of digest nonces, the same on every sip-edge (required: empty or the example ringway-change-me is refused)" },
    { "auth.nonce_ttl_s", RW_CFG_INT, "300", 10, 86400, "lifetime of a digest nonce" },
    { "auth.fail_limit", RW_CFG_INT, "10", 1, 100000, "failed authentications from one address before lockout" },
    { "auth.fail_window_s", RW_CFG_INT, "60", 1, 86400, "window the failures are counted in" },
    { "auth.lockout_s", RW_CFG_INT, "300", 1, 86400, "how long a locked-out address is refused" },
    { "auth.algorithms", RW_CFG_STR, "MD5", 0, 0, "digest challenges offered, in order: MD5 | SHA-256,MD5 | MD5,SHA-256 | SHA-256" },
    { "reg.min_expires", RW_CFG_INT, "60", 1, 86400, "shorter registrations get 423" },
    { "reg.max_expires", RW_CFG_INT, "3600", 1, 604800, "longer registrations are cut down" },
    { "reg.default_expires", RW_CFG_INT, "3600", 1, 604800, "when the REGISTER gives none" },
    { "reg.max_bindings", RW_CFG_INT, "16", 1, 16, "contacts per address of record" },
    { "router.endpoints", RW_CFG_STR, "", 0, 0, "static router endpoints 'tcp://h:p, ...' (empty: discovery in Redis)" },
    { "router.deadline_ms", RW_CFG_INT, "150", 10, 10000, "time the router has to answer a route request" },
    { "huntgroup.endpoints", RW_CFG_STR, "", 0, 0, "static huntgroup endpoints 'tcp://h:p, ...' (empty: discovery in Redis)" },
    { "huntgroup.deadline_ms", RW_CFG_INT, "400", 10, 10000, "time a huntgroup instance has to answer a hunt group request (the bus asks another at half)" },
    { "huntgroup.queued_status", RW_CFG_INT, "180", 180, 182, "what a queued caller hears: 180 (Ringing: their phone plays ringback) or 182 (Queued)" },
    { "subscribe.presence_events", RW_CFG_STR, "presence.events", 0, 0, "registry name of the presence.changed publishers whose changes are NOTIFYed to subscribers (empty: none)" },
    { "subscribe.max_expires", RW_CFG_INT, "3600", 60, 86400, "longer presence and dialog subscriptions are cut down (shorter than 60 s get 423)" },
    { "subscribe.max_subscriptions", RW_CFG_INT, "10000", 1, 1000000, "subscriptions held at once per process; beyond them a SUBSCRIBE gets 503" },
    { "voicemail.uri", RW_CFG_STR, "", 0, 0, "voicemail server, e.g. sip:vm@127.0.0.1:5090 (user part replaced by the mailbox)" },
    { "fallback.ring_ms", RW_CFG_INT, "20000", 1000, 600000, "how long devices ring in a fallback plan when no rule says otherwise (set it to router.ring_ms)" },
    { "fallback.max_hops", RW_CFG_INT, "4", 1, 8, "diversions a call routed by the fallback may pass through (set it to router.max_hops)" },
    { "fallback.plan_slots", RW_CFG_INT, "256", 1, 65536, "recent plans kept in memory for when Redis is away (the last plan a router gave or the fallback made, per user)" },
    { "fallback.num_slots", RW_CFG_INT, "4096", 1, 1048576, "recent number -> user mappings kept in memory" },
    { "overload.refuse_unparsed", RW_CFG_BOOL, "false", 0, 0, "with sip.udp_lean_io: for a second after the guard refused an INVITE, new INVITEs are refused from their raw datagram, before Sofia parses them, and the ACKs of those 503s dropped unparsed (docs/sip-edge.md)" },
    { "overload.max_routing", RW_CFG_INT, "2000", 0, 1000000, "INVITEs waiting for a routing decision before new ones get 503 (0: off)" },
    { "overload.max_wait_ms", RW_CFG_INT, "1000", 0, 600000, "new INVITEs get 503 while the oldest waiting one has waited this long (0: off)" },
    { "overload.max_queue_kb", RW_CFG_INT, "1024", 0, 1048576, "new INVITEs and REGISTERs get 503 while the SIP port's unread datagrams hold this much kernel memory (0: off)" },
    { "overload.queue_standing_ms", RW_CFG_INT, "100", 0, 60000, "the queue limit refuses only once the queue has stood at it this long (0: at once)" },
    { "overload.max_calls", RW_CFG_INT, "20000", 0, 10000000, "calls in progress before new INVITEs get 503 (0: off)" },
    { "overload.max_registers", RW_CFG_INT, "2000", 0, 1000000, "REGISTER transactions in flight before new ones get 503 (0: off)" },
    { "overload.retry_after_s", RW_CFG_INT, "5", 1, 3600, "Retry-After of those 503s" },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* The example value compose/config once shipped: anyone who read it could forge nonces. */
#define EXAMPLE_SECRET "ringway-change-me"

/* auth.nonce_secret must be the operator's own: empty or the example value refuses the start. */
static int secret_ok(const rw_config_t *cfg)
{
    const char *v = rw_config_str(cfg, "auth.nonce_secret");
    if (v && *v && strcmp(v, EXAMPLE_SECRET) != 0)
        return 1;
    rw_log_error("config_error", RW_S("key", "auth.nonce_secret"),
                 RW_S("error", v && *v ? "is the example value " EXAMPLE_SECRET : "is empty"),
                 RW_S("hint", "generate one with 'openssl rand -base64 32' and give every sip-edge the same "
                              "(RINGWAY_AUTH_NONCE_SECRET or auth.nonce_secret)"));
    return 0;
}

static const rw_service_def_t edge_def = { "sip_edge", edge_spec, "9104" };

typedef struct {
    rw_edge_t *edge;
    rw_auth_t *auth;
    rw_location_t *loc;
    rw_registrar_t *reg;
    rw_client_t *router;
    rw_watcher_t *watcher;
    rw_client_t *huntgroup;
    rw_watcher_t *hg_watcher;
    rw_hunt_env_t *hunt;
    rw_subscribe_t *subs;
    rw_fallback_store_t *fb;
    rw_proxy_t *proxy;
    rw_overload_t *ov;
    rw_peers_t peers;
} parts_t;

/* A worker of several: SO_REUSEPORT on the SIP port, and every worker's relay port. */
static int share_port(const rw_config_t *cfg, int worker, rw_edge_opts_t *eo, unsigned short *ports)
{
    int n = rw_workers_parse_ports(rw_config_str(cfg, "sip.relay_ports"), ports, RW_WORKERS_MAX);
    if (n <= worker) {
        rw_log_error("config_error", RW_S("key", "sip.relay_ports"),
                     RW_S("error", "a worker needs every worker's relay port (set by the supervisor)"));
        return -1;
    }
    eo->steer = rw_config_bool(cfg, "sip.steer_responses");
    rw_reuseport_enable(eo->port);
    rw_reuseport_steer(eo->steer, rw_config_bool(cfg, "sip.spread_requests") ? (unsigned) n : 0);
    eo->worker = worker;
    eo->n_workers = (unsigned) n;
    eo->relay_ports = ports;
    return 0;
}

/* The UDP receive buffers the kernel granted (it caps them at net.core.rmem_max) next to the
 * overload guard's queue limit, which must stay well below them to act before datagrams drop. */
static void log_udp_buffers(const rw_config_t *cfg)
{
    int fds[RW_REUSEPORT_TRACKED_MAX], rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    int n = rw_reuseport_udp_fds(fds, RW_REUSEPORT_TRACKED_MAX);
    if (n > 0)
        getsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
    long limit = rw_config_int(cfg, "overload.max_queue_kb");
    rw_log_info("sip_udp_buffers", RW_I("sockets", n), RW_I("rcvbuf_kb", rcvbuf / 1024),
                RW_I("max_queue_kb", limit));
    if (n > 0 && limit && limit * 2 > rcvbuf / 1024)
        rw_log_warn("overload_queue_limit_high", RW_I("rcvbuf_kb", rcvbuf / 1024), RW_I("max_queue_kb", limit),
                    RW_S("hint", "raise sip.udp_buffer_kb (and net.core.rmem_max) or lower overload.max_queue_kb"));
}

/* worker: its index when one of several processes sharing the SIP port, else -1. */
static int build(rw_service_t *svc, parts_t *p, int worker)
{
    const rw_config_t *cfg = rw_service_config(svc);
    su_root_t *root = rw_service_root(svc);
    rw_metrics_t *m = rw_service_metrics(svc);
    rw_aredis_t *redis = rw_service_redis(svc);
    const char *realm = rw_config_str(cfg, "sip.realm");
    char err[200] = "";
    if (rw_peers_parse(&p->peers, rw_config_str(cfg, "sip.peers"), err, sizeof err)) {
        rw_log_error("config_error", RW_S("key", "sip.peers"), RW_S("error", err));
        return -1;
    }
    rw_edge_opts_t eo = { rw_config_str(cfg, "sip.addr"), rw_config_str(cfg, "sip.addr6"),
                          (unsigned) rw_config_int(cfg, "sip.port"), rw_config_str(cfg, "sip.transports"),
                          (unsigned) rw_config_int(cfg, "sip.max_size"), realm, m,
                          (unsigned) rw_config_int(cfg, "sip.transaction_timeout_ms"),
                          (unsigned) rw_config_int(cfg, "sip.udp_buffer_kb") * 1024u, -1, 0, NULL, 0 };
    unsigned short relay_ports[RW_WORKERS_MAX];
    if (worker >= 0 && share_port(cfg, worker, &eo, relay_ports) != 0)
        return -1;
    rw_overload_opts_t oo = { (unsigned) rw_config_int(cfg, "overload.max_routing"),
                              (unsigned) rw_config_int(cfg, "overload.max_wait_ms"),
                              (unsigned) rw_config_int(cfg, "overload.max_queue_kb"),
                              (unsigned) rw_config_int(cfg, "overload.queue_standing_ms"),
                              (unsigned) rw_config_int(cfg, "overload.max_calls"),
                              (unsigned) rw_config_int(cfg, "overload.max_registers"),
                              (unsigned) rw_config_int(cfg, "overload.retry_after_s") };
    rw_auth_opts_t ao = { realm, rw_config_str(cfg, "auth.nonce_secret"),
                          (unsigned) rw_config_int(cfg, "auth.nonce_ttl_s"), (unsigned) rw_config_int(cfg, "auth.fail_limit"),
                          (unsigned) rw_config_int(cfg, "auth.fail_window_s"), (unsigned) rw_config_int(cfg, "auth.lockout_s"),
                          rw_config_str(cfg, "auth.algorithms") };
    rw_registrar_opts_t ro = { realm, (unsigned) rw_config_int(cfg, "reg.min_expires"),
                               (unsigned) rw_config_int(cfg, "reg.max_expires"),
                               (unsigned) rw_config_int(cfg, "reg.default_expires"),
                               (unsigned) rw_config_int(cfg, "reg.max_bindings") };
    rw_reuseport_track(eo.port);          /* the overload guard reads these sockets' queues */
    if (!(p->edge = rw_edge_new(root, &eo)) || !(p->auth = rw_auth_new(root, redis, m, &ao))
        || !(p->loc = rw_location_new(root, redis, m))
        || !(p->reg = rw_registrar_new(rw_edge_agent(p->edge), p->auth, p->loc, rw_service_pub(svc), m, &ro))
        || !(p->router = rw_client_new(root, "router", m)))
        return -1;
    const char *eps = rw_config_str(cfg, "router.endpoints");
    if (eps[0] ? rw_bus_static_endpoints(p->router, eps) != 0
               : !(p->watcher = rw_watcher_new(root, redis, "router", 0, p->router, NULL, NULL)))
        return -1;
    if (!(p->huntgroup = rw_client_new(root, "huntgroup", m)))
        return -1;
    const char *hg_eps = rw_config_str(cfg, "huntgroup.endpoints");
    if (hg_eps[0] ? rw_bus_static_endpoints(p->huntgroup, hg_eps) != 0
                  : !(p->hg_watcher = rw_watcher_new(root, redis, "huntgroup", 0, p->huntgroup, NULL, NULL)))
        return -1;
    rw_hunt_opts_t ho = { p->huntgroup, redis, (unsigned) rw_config_int(cfg, "huntgroup.deadline_ms"),
                          (unsigned) rw_config_int(cfg, "huntgroup.queued_status") };
    if (!(p->hunt = rw_hunt_env_new(&ho, m)))
        return -1;
    p->fb = rw_fallback_new(redis, realm, (unsigned) rw_config_int(cfg, "fallback.ring_ms"),
                            (size_t) rw_config_int(cfg, "fallback.plan_slots"),
                            (size_t) rw_config_int(cfg, "fallback.num_slots"));
    rw_fallback_set_max_hops(p->fb, (unsigned) rw_config_int(cfg, "fallback.max_hops"));
    rw_proxy_opts_t po = { realm, rw_config_str(cfg, "voicemail.uri"),
                           (unsigned) rw_config_int(cfg, "router.deadline_ms"), &p->peers, redis, p->hunt };
    if (!p->fb || !(p->proxy = rw_proxy_new(root, p->edge, p->auth, p->loc, p->router, p->fb,
                                            rw_service_pub(svc), m, &po)))
        return -1;
    if (!(p->ov = rw_overload_new(m, &oo)))
        return -1;
    unsigned sub_max = (unsigned) rw_config_int(cfg, "subscribe.max_expires");
    rw_subscribe_opts_t so = { realm, 60, sub_max, sub_max < 600 ? sub_max : 600,
                               rw_config_str(cfg, "subscribe.presence_events"),
                               (unsigned) rw_config_int(cfg, "subscribe.max_subscriptions") };
    if (!(p->subs = rw_subscribe_new(root, p->edge, p->auth, redis, m, &so)))
        return -1;
    log_udp_buffers(cfg);
    if (rw_config_bool(cfg, "sip.udp_lean_io")) {
        int fds[RW_REUSEPORT_TRACKED_MAX];
        int n = rw_reuseport_udp_fds(fds, RW_REUSEPORT_TRACKED_MAX);
        if (rw_udpio_lean(fds, n) < 0)
            rw_log_warn("udp_lean_io_off", RW_S("error", "out of memory"));
        else if (rw_config_bool(cfg, "overload.refuse_unparsed") && rw_edge_refuse_unparsed(p->edge) == 0)
            rw_udpio_set_filter(rw_edge_udp_filter, p->edge);
    }
    rw_edge_set_subscribe(p->edge, p->subs);
    rw_edge_set_handlers(p->edge, p->reg, p->proxy);
    rw_edge_set_overload(p->edge, p->ov);
    return 0;
}

static void teardown(parts_t *p)
{
    if (p->edge) {
        rw_edge_set_handlers(p->edge, NULL, NULL);
        rw_edge_set_subscribe(p->edge, NULL);
        rw_edge_set_overload(p->edge, NULL);
    }
    rw_subscribe_destroy(&p->subs);       /* before auth: its checks in flight are auth's to end */
    rw_overload_destroy(&p->ov);
    rw_proxy_destroy(&p->proxy);
    rw_watcher_destroy(&p->watcher);
    rw_client_destroy(&p->router);
    rw_watcher_destroy(&p->hg_watcher);
    rw_client_destroy(&p->huntgroup);     /* after the proxy: legs in flight are detached */
    rw_hunt_env_destroy(&p->hunt);
    rw_fallback_destroy(&p->fb);
    rw_registrar_destroy(&p->reg);
    rw_auth_destroy(&p->auth);
    rw_location_destroy(&p->loc);
    rw_udpio_reset();                     /* before the SIP sockets close */
    rw_edge_destroy(&p->edge);
}

/* With sip.processes > 1 this process supervises the workers (workers.h) and returns its exit
 * code; -1: it is a worker or the only process, and runs SIP itself. */
static int supervise(rw_service_t *svc, int worker, int argc, char **argv)
{
    const rw_config_t *cfg = rw_service_config(svc);
    unsigned n = rw_workers_count(rw_config_int(cfg, "sip.processes"));
    if (worker >= 0 || n <= 1)
        return -1;
    return rw_workers_run(cfg, rw_service_instance(svc), n, argc, argv);
}

int main(int argc, char **argv)
{
    int code;
    parts_t parts = { 0 };
    int worker = rw_workers_index(argc, argv);
    rw_service_t *svc = rw_service_configure(&edge_def, argc, argv, &code);
    if (!svc)
        return code;
    if (!secret_ok(rw_service_config(svc))) {
        rw_service_destroy(&svc);
        return 2;
    }
    if ((code = supervise(svc, worker, argc, argv)) >= 0) {
        rw_service_destroy(&svc);
        return code;
    }
    if (rw_service_start(svc) != 0) {
        rw_service_destroy(&svc);
        return 1;
    }
    if (build(svc, &parts, worker) != 0) {
        rw_log_error("sip_edge_start_failed");
        teardown(&parts);
        rw_service_destroy(&svc);
        return 1;
    }
    rw_log_info("sip_edge_ready", RW_S("addr", rw_config_str(rw_service_config(svc), "sip.addr")),
                RW_I("port", rw_config_int(rw_service_config(svc), "sip.port")), RW_I("worker", worker));
    code = rw_service_run(svc);
    teardown(&parts);
    rw_service_destroy(&svc);
    return code;
}
