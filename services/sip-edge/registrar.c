/* services/sip-edge/registrar.c — REGISTER handling (RFC 3261 10.3, RFC 5626 instance ids,
 * RFC 3327 Path): authenticate, check, update the location store in one script, answer 200
 * with every live Contact, publish reg.* events. A REGISTER whose To user is "<ext>-<device>"
 * speaks for that one device of the user: its bindings are tagged with the device id, so a
 * plan target naming the device rings only them (docs/sip-edge.md "Registrar"). */
#include "services/sip-edge/registrar.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "services/sip-edge/peers.h"
#include "services/sip-edge/regcache.h"

typedef struct reg_op reg_op_t;

struct rw_registrar {
    nta_agent_t *agent;               /* answers REGISTERs taken without a transaction */
    rw_regcache_t *cache;             /* their answers, for retransmissions */
    rw_auth_t *auth;
    rw_location_t *loc;
    rw_pub_t *pub;
    char realm[64];
    unsigned min_expires, max_expires, default_expires, max_bindings;
    reg_op_t *pending;
    unsigned in_flight;               /* REGISTER transactions taken and not yet answered */
    rw_counter_t *c_ok, *c_brief, *c_forbidden, *c_bad, *c_error, *c_too_many, *c_retrans;
};

struct reg_op {
    reg_op_t *next, **prev;
    rw_registrar_t *reg;              /* NULL once the registrar is gone */
    nta_incoming_t *irq;              /* the server transaction, or NULL: */
    msg_t *msg;                       /* the request taken without one (owned), answered by */
    nta_agent_t *agent;               /* nta_msg_treply and kept in the cache under key */
    uint64_t key;
    const sip_t *sip;                 /* the request's, valid while irq or msg lives */
    size_t n_bound;
    uint64_t bound[RW_LOCATION_MAX_BINDINGS];   /* key hashes of the bindings it (re)binds */
    char aor[128];
    char user_id[64];                 /* the authenticated user */
    char device[64];                  /* the device it registers as, "" = the user as a whole */
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return h;
}

/* Answers a request taken without a transaction (msg consumed). Path goes back in a 200
 * (RFC 3327), from the request answered: a retransmission carries the same. The To tag is
 * made from the request's transaction key, so the answer to a retransmission is the same
 * answer (RFC 3261 17.2.2), not one with a new tag. */
static void reply_stateless(nta_agent_t *agent, msg_t *msg, uint64_t key, int status, const char *phrase,
                            const char *headers)
{
    sip_t *sip = sip_object(msg);
    if (key && sip && sip->sip_to && !sip->sip_to->a_tag) {
        static const char hex[] = "0123456789abcdef";
        char tag[18] = "r";
        for (int i = 0; i < 16; i++)
            tag[1 + i] = hex[(key >> (60 - 4 * i)) & 15];
        tag[17] = 0;
        sip_to_tag(msg_home(msg), sip->sip_to, tag);
    }
    nta_msg_treply(agent, msg, status, phrase, TAG_IF(headers && *headers, SIPTAG_HEADER_STR(headers)),
                   TAG_IF(status == 200 && sip && sip->sip_path, SIPTAG_PATH(sip ? sip->sip_path : NULL)),
                   TAG_END());
}

/* Sends the answer (status 0: none) with its extra header lines ("Name: value\r\n", may be
 * NULL) and ends the operation. */
static void op_answer(reg_op_t *o, int status, const char *phrase, const char *headers)
{
    if (status && o->irq)
        nta_incoming_treply(o->irq, status, phrase, TAG_IF(headers && *headers, SIPTAG_HEADER_STR(headers)),
                            TAG_IF(status == 200 && o->sip->sip_path, SIPTAG_PATH(o->sip->sip_path)),
                            TAG_END());
    if (o->msg) {
        if (status && o->reg)
            rw_regcache_answer(o->reg->cache, o->key, rw_clock_mono_ms(), status, phrase, headers);
        if (status)
            reply_stateless(o->agent, o->msg, o->key, status, phrase, headers);
        else
            msg_destroy(o->msg);
    }
    if (o->irq)
        nta_incoming_destroy(o->irq);
    if (o->reg)
        o->reg->in_flight--;
    if (o->next)
        o->next->prev = o->prev;
    if (o->prev)
        *o->prev = o->next;
    free(o);
}

static void op_end(reg_op_t *o, int status, const char *phrase)
{
    op_answer(o, status, phrase, NULL);
}

static void publish(rw_registrar_t *r, const char *type, const rw_binding_t *b, uint32_t expires)
{
    if (!r->pub)
        return;
    rw_event_t ev;
    if (rw_proto_event_init(&ev, type) < 0)
        return;
    rw_str_copy(ev.reg.aor, sizeof ev.reg.aor, b->aor);
    rw_str_copy(ev.reg.contact, sizeof ev.reg.contact, b->contact);
    rw_str_copy(ev.reg.instance, sizeof ev.reg.instance, b->instance);
    rw_str_copy(ev.reg.user_agent, sizeof ev.reg.user_agent, b->user_agent);
    rw_str_copy(ev.reg.device, sizeof ev.reg.device, b->device);
    ev.reg.expires = expires;
    if (rw_pub_publish(r->pub, &ev) < 0)
        rw_log_warn("reg_event_lost", RW_S("type", type), RW_S("aor", b->aor));
}

static void on_expired(void *arg, const rw_binding_t *b)
{
    rw_log_info("reg_expired", RW_S("aor", b->aor), RW_S("device", b->device),
                RW_S("contact", b->contact));
    publish(arg, "reg.expired", b, 0);
}

/* q as RFC 3261's qvalue: "0", "1" or "0." and up to three digits ("0.5", "0.05"). */
static const char *q_str(float q, char out[8])
{
    int k = (int) (q * 1000.0f + 0.5f);
    if (k <= 0 || k >= 1000)
        return k <= 0 ? "0" : "1";
    char d[3] = { (char) ('0' + k / 100), (char) ('0' + k / 10 % 10), (char) ('0' + k % 10) };
    int n = d[2] != '0' ? 3 : d[1] != '0' ? 2 : 1;
    memcpy(out, "0.", 2);
    memcpy(out + 2, d, (size_t) n);
    out[2 + n] = '\0';
    return out;
}

/* "<uri>;expires=N;q=0.5;+sip.instance="<urn>"" for each live binding, joined by ", ". */
static void contacts_str(const rw_binding_t *b, size_t n, char *out, size_t len)
{
    uint64_t now = rw_clock_wall_ms();
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        unsigned left = (unsigned) ((b[i].expires_ms - now + 999) / 1000);
        char q[8];
        int w = snprintf(out + at, len - at, "%s<%s>;expires=%u;q=%s%s%s%s", i ? ", " : "",
                         b[i].contact, left, q_str(b[i].q, q),
                         b[i].instance[0] ? ";+sip.instance=\"" : "", b[i].instance,
                         b[i].instance[0] ? "\"" : "");
        if (w < 0 || (size_t) w >= len - at) {
            out[at] = '\0';           /* drop what does not fit rather than truncate a URI */
            break;
        }
        at += (size_t) w;
    }
}

static void on_updated(void *arg, int status, const rw_binding_t *live, size_t n_live,
                       const rw_location_gone_t *gone, size_t n_gone)
{
    reg_op_t *o = arg;
    rw_registrar_t *r = o->reg;
    if (!r || status == RW_ECLOSED) {
        op_end(o, SIP_503_SERVICE_UNAVAILABLE);
        return;
    }
    if (status == RW_ERANGE) {
        rw_counter_inc(r->c_too_many);
        op_end(o, 403, "Too Many Bindings");
        return;
    }
    if (status == RW_ENOTFOUND) {     /* not a sip device of the user: as a wrong password */
        rw_counter_inc(r->c_forbidden);
        rw_log_warn("reg_unknown_device", RW_S("aor", o->aor), RW_S("device", o->device));
        op_end(o, SIP_403_FORBIDDEN);
        return;
    }
    if (status < 0) {
        rw_counter_inc(r->c_error);
        op_answer(o, SIP_503_SERVICE_UNAVAILABLE, "Retry-After: 5\r\n");
        return;
    }
    for (size_t i = 0; i < n_gone; i++)
        publish(r, gone[i].expired ? "reg.expired" : "reg.unbound", &gone[i].b, 0);
    uint64_t now = rw_clock_wall_ms();
    for (size_t i = 0; i < n_live; i++) {     /* what this REGISTER (re)bound */
        uint64_t h = key_hash(rw_location_binding_key(&live[i]));
        for (size_t k = 0; k < o->n_bound; k++)
            if (o->bound[k] == h) {
                publish(r, "reg.bound", &live[i], (uint32_t) ((live[i].expires_ms - now) / 1000));
                rw_log_debug("reg_bound", RW_S("aor", live[i].aor), RW_S("device", live[i].device),
                             RW_S("contact", live[i].contact));
                break;
            }
    }
    /* A device is answered with its own bindings; the user as a whole with all of them. */
    rw_binding_t mine[RW_LOCATION_MAX_BINDINGS];
    size_t n_mine = 0;
    for (size_t i = 0; i < n_live && n_mine < RW_LOCATION_MAX_BINDINGS; i++)
        if (rw_location_binding_rings(&live[i], o->device))
            mine[n_mine++] = live[i];
    live = mine;
    n_live = n_mine;
    char headers[RW_LOCATION_MAX_BINDINGS * 700 + 64];
    size_t at = 0;
    if (n_live) {
        memcpy(headers, "Contact: ", 9);
        contacts_str(live, n_live, headers + 9, sizeof headers - 64);
        at = headers[9] ? 9 + strlen(headers + 9) : 0;
        if (at) {
            memcpy(headers + at, "\r\n", 3);
            at += 2;
        }
    }
    struct tm tm;
    time_t t = time(NULL);
    strftime(headers + at, sizeof headers - at, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime_r(&t, &tm));
    rw_counter_inc(r->c_ok);
    op_answer(o, SIP_200_OK, headers);
}

static void on_listed(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache)
{
    (void) from_cache;
    on_updated(arg, status == RW_OK ? RW_OK : RW_EIO, b, n, NULL, 0);
}

/* The source of the request as "sip:host:port;transport=x" when requests to this binding must
 * go back there rather than to the Contact: over TCP (the device's own connection, which is
 * how a phone behind NAT stays reachable), and over UDP when the source differs from the top
 * Via's sent-by (the device does not know its public address: NAT). Otherwise "": the Contact
 * is used as given, which also lets one client register a contact elsewhere (RFC 3261 10.2.1). */
static void received_of(reg_op_t *o, char *out, size_t len)
{
    char host[64] = "", h[48] = "";
    unsigned port = 0;
    out[0] = '\0';
    msg_t *msg = o->msg ? msg_ref_create(o->msg) : nta_incoming_getrequest(o->irq);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    const sip_via_t *v = o->sip->sip_via;
    if (ai && ai->ai_protocol != IPPROTO_TCP && ai->ai_addr && ai->ai_addr->sa_family == AF_INET
        && v && v->v_host) {          /* the common case, decided without formatting addresses */
        const struct sockaddr_in *in = (const struct sockaddr_in *) ai->ai_addr;
        struct in_addr via;
        unsigned vport = v->v_port ? (unsigned) atoi(v->v_port) : 5060;
        if (inet_pton(AF_INET, v->v_host, &via) == 1 && via.s_addr == in->sin_addr.s_addr
            && vport == ntohs(in->sin_port)) {
            msg_destroy(msg);
            return;
        }
    }
    if (ai && rw_peers_addr_host((const struct sockaddr *) ai->ai_addr, h, sizeof h, &port) == 0)
        snprintf(host, sizeof host, strchr(h, ':') ? "[%s]" : "%s", h);
    int tcp = ai && ai->ai_protocol == IPPROTO_TCP;
    const sip_t *sip = msg ? sip_object(msg) : NULL;
    const sip_via_t *via = sip ? sip->sip_via : NULL;
    int behind_nat = 1;
    if (via && via->v_host) {
        unsigned vport = via->v_port ? (unsigned) atoi(via->v_port) : 5060;
        behind_nat = strcasecmp(via->v_host, host) != 0 || vport != port;
    }
    msg_destroy(msg);
    if (!host[0] || (!tcp && !behind_nat))
        return;
    snprintf(out, len, "sip:%s:%u;transport=%s", host, port, tcp ? "tcp" : "udp");
}

/* Fills b from one Contact; returns 0, 423 (too brief) or 400. */
static int binding_of(rw_registrar_t *r, reg_op_t *o, const sip_contact_t *m, rw_binding_t *b)
{
    const sip_t *sip = o->sip;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    int rc = 0;
    memset(b, 0, sizeof *b);
    rw_str_copy(b->aor, sizeof b->aor, o->aor);
    rw_str_copy(b->device, sizeof b->device, o->device);
    unsigned long exp = r->default_expires;
    if (m->m_expires)
        exp = strtoul(m->m_expires, NULL, 10);
    else if (sip->sip_expires)
        exp = sip->sip_expires->ex_delta;
    if (exp && exp < r->min_expires) {
        rc = 423;
        goto done;
    }
    if (exp > r->max_expires)
        exp = r->max_expires;
    b->q = 1.0f;
    if (m->m_q) {
        double v = strtod(m->m_q, NULL);
        b->q = (float) (v < 0 ? 0 : v > 1 ? 1 : v);
    }
    char *uri = url_as_string(home, m->m_url);
    if (!uri || strlen(uri) >= sizeof b->contact) {
        rc = 400;
        goto done;
    }
    rw_str_copy(b->contact, sizeof b->contact, uri);
    const char *inst = msg_header_find_param(m->m_common, "+sip.instance");
    if (inst) {
        size_t n = strlen(inst);
        if (n >= 2 && inst[0] == '"' && inst[n - 1] == '"')
            inst++, n -= 2;
        if (n >= sizeof b->instance) {
            rc = 400;
            goto done;
        }
        memcpy(b->instance, inst, n);
        b->instance[n] = '\0';
    }
    if (sip->sip_path) {
        char *p = sip_header_as_string(home, (const sip_header_t *) sip->sip_path);
        if (p && strlen(p) < sizeof b->path)
            rw_str_copy(b->path, sizeof b->path, p);
    }
    if (sip->sip_user_agent && sip->sip_user_agent->g_string)
        rw_str_copy(b->user_agent, sizeof b->user_agent, sip->sip_user_agent->g_string);
    received_of(o, b->received, sizeof b->received);
    b->expires_ms = exp ? rw_clock_wall_ms() + exp * 1000ULL : 0;
done:
    su_home_deinit(home);
    return rc;
}

static int update(rw_registrar_t *r, reg_op_t *o, int remove_all, const rw_binding_t *b, size_t n)
{
    return rw_location_update_device(r->loc, o->aor, o->user_id, o->device, remove_all, b, n,
                                     r->max_bindings, on_updated, o);
}

static void apply(rw_registrar_t *r, reg_op_t *o)
{
    const sip_t *sip = o->sip;
    const sip_contact_t *m = sip->sip_contact;
    if (!m && !o->device[0]) {
        if (rw_location_lookup(r->loc, o->aor, on_listed, o) < 0)
            op_end(o, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    if (!m) {                         /* a device's query: its entry is checked as for a write */
        if (update(r, o, 0, NULL, 0) < 0)
            op_end(o, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    if (m->m_url->url_type == url_any) {             /* "*" */
        if (m->m_next || !sip->sip_expires || sip->sip_expires->ex_delta != 0) {
            rw_counter_inc(r->c_bad);     /* RFC 3261 10.3 step 6 */
            op_end(o, 400, m->m_next ? "Wildcard Contact Must Stand Alone" : "Wildcard Contact Needs Expires 0");
            return;
        }
        if (update(r, o, 1, NULL, 0) < 0)
            op_end(o, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    rw_binding_t b[RW_LOCATION_MAX_BINDINGS];
    size_t n = 0;
    for (; m; m = m->m_next) {
        if (m->m_url->url_type == url_any || n == RW_LOCATION_MAX_BINDINGS) {
            rw_counter_inc(r->c_bad);
            op_end(o, 400, m->m_url->url_type == url_any ? "Wildcard Contact Must Stand Alone" : "Too Many Contacts");
            return;
        }
        int rc = binding_of(r, o, m, &b[n]);
        if (rc == 423) {
            char min[32];
            snprintf(min, sizeof min, "Min-Expires: %u\r\n", r->min_expires);
            rw_counter_inc(r->c_brief);
            op_answer(o, SIP_423_INTERVAL_TOO_BRIEF, min);
            return;
        }
        if (rc) {
            rw_counter_inc(r->c_bad);
            op_end(o, 400, "Bad Contact");
            return;
        }
        if (b[n].expires_ms)
            o->bound[o->n_bound++] = key_hash(rw_location_binding_key(&b[n]));
        n++;
    }
    if (update(r, o, 0, b, n) < 0)
        op_end(o, SIP_500_INTERNAL_SERVER_ERROR);
}

/* The device a To user names for the authenticated extension: "<ext>" is the user as a whole
 * (device ""), "<ext>-<id>" the device id (1..63 of a-z 0-9 . _ -, as the directory allows).
 * 0, -1 for another user's address, -2 for a malformed device id. */
static int device_of(const char *to_user, const char *ext, char *device, size_t cap)
{
    size_t n = strlen(ext);
    device[0] = '\0';
    if (!to_user || strncmp(to_user, ext, n) != 0 || (to_user[n] && to_user[n] != '-'))
        return -1;
    if (!to_user[n])
        return 0;
    const char *id = to_user + n + 1;
    size_t len = strlen(id);
    if (len == 0 || len >= cap || len > 63)
        return -2;
    for (const char *c = id; *c; c++)
        if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && !strchr("._-", *c))
            return -2;
    memcpy(device, id, len + 1);
    return 0;
}

static void on_auth(void *arg, const rw_auth_verdict_t *v)
{
    reg_op_t *o = arg;
    rw_registrar_t *r = o->reg;
    if (!v->ok) {
        op_answer(o, v->status, v->phrase, v->headers);
        return;
    }
    const char *ext = v->ext, *user_id = v->user_id;
    if (!r) {
        op_end(o, SIP_503_SERVICE_UNAVAILABLE);
        return;
    }
    const url_t *to = o->sip->sip_to->a_url;
    int dev = device_of(to->url_user, ext, o->device, sizeof o->device);
    if (dev == -1) {
        rw_counter_inc(r->c_forbidden);
        rw_log_warn("reg_foreign_aor", RW_S("user", ext), RW_S("to", to->url_user ? to->url_user : ""));
        op_end(o, 403, "Not Allowed To Register This Address");
        return;
    }
    if (dev < 0 || (o->device[0] && (!user_id || !*user_id || strlen(user_id) >= sizeof o->user_id))) {
        rw_counter_inc(r->c_forbidden);     /* the same 403 as an unknown device */
        rw_log_warn("reg_unknown_device", RW_S("user", ext), RW_S("to", to->url_user));
        op_end(o, SIP_403_FORBIDDEN);
        return;
    }
    rw_str_copy(o->user_id, sizeof o->user_id, user_id ? user_id : "");
    snprintf(o->aor, sizeof o->aor, "sip:%s@%s", ext, r->realm);
    apply(r, o);
}

static int to_is_sip(const sip_t *sip)
{
    return sip->sip_to && (sip->sip_to->a_url->url_type == url_sip
                           || sip->sip_to->a_url->url_type == url_sips);
}

/* A new operation for the request (irq, or msg taken without a transaction) with its digest
 * check started; NULL when it could not start (nothing taken). */
static reg_op_t *op_start(rw_registrar_t *self, nta_incoming_t *irq, msg_t *msg, const sip_t *sip)
{
    reg_op_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->reg = self;
    o->irq = irq;
    o->agent = self->agent;
    o->sip = sip;
    msg_t *req = msg ? msg : nta_incoming_getrequest(irq);
    int rc = req ? rw_auth_check_msg(self->auth, req, sip, 0, on_auth, o) : RW_ENOMEM;
    if (!msg)
        msg_destroy(req);
    if (rc < 0) {
        free(o);
        return NULL;
    }
    o->msg = msg;
    if ((o->next = self->pending))
        o->next->prev = &o->next;
    o->prev = &self->pending;
    self->pending = o;
    self->in_flight++;
    return o;
}

int rw_registrar_handle(rw_registrar_t *self, nta_incoming_t *irq, const sip_t *sip)
{
    if (!self || !irq || !sip)
        return 500;
    if (!to_is_sip(sip))
        return 400;
    return op_start(self, irq, NULL, sip) ? 0 : 500;
}

int rw_registrar_take(rw_registrar_t *self, msg_t *msg, const sip_t *sip)
{
    if (!self || !self->agent || !msg || !sip || !to_is_sip(sip))
        return 0;
    if (!sip->sip_authorization && rw_auth_challenge_stateless(self->auth, self->agent, msg, sip, 0))
        return 1;
    uint64_t key = rw_regcache_key(sip);
    if (!key)
        return 0;                     /* nothing to match a retransmission on: a transaction */
    rw_regcache_answer_t kept;
    switch (rw_regcache_begin(self->cache, key, rw_clock_mono_ms(), &kept)) {
    case RW_REGCACHE_PENDING:         /* answered when the first copy is */
        rw_counter_inc(self->c_retrans);
        msg_destroy(msg);
        return 1;
    case RW_REGCACHE_ANSWERED:
        rw_counter_inc(self->c_retrans);
        reply_stateless(self->agent, msg, key, kept.status, kept.phrase, kept.headers);
        return 1;
    case RW_REGCACHE_NEW:
        break;
    }
    reg_op_t *o = op_start(self, NULL, msg, sip);
    if (!o) {
        rw_regcache_answer(self->cache, key, rw_clock_mono_ms(), 0, NULL, NULL);   /* frees the slot */
        reply_stateless(self->agent, msg, key, SIP_500_INTERNAL_SERVER_ERROR, NULL);
        return 1;
    }
    o->key = key;
    return 1;
}

unsigned rw_registrar_in_flight(const rw_registrar_t *self)
{
    return self ? self->in_flight : 0;
}

rw_registrar_t *rw_registrar_new(nta_agent_t *nta, rw_auth_t *auth, rw_location_t *loc,
                                 rw_pub_t *pub, rw_metrics_t *metrics,
                                 const rw_registrar_opts_t *opts)
{
    if (!auth || !loc || !opts || !opts->realm || !*opts->realm || strlen(opts->realm) >= 64)
        return NULL;
    rw_registrar_t *r = calloc(1, sizeof *r);
    if (!r || !(r->cache = rw_regcache_new())) {
        free(r);
        return NULL;
    }
    r->agent = nta;
    r->auth = auth;
    r->loc = loc;
    r->pub = pub;
    snprintf(r->realm, sizeof r->realm, "%s", opts->realm);
    r->min_expires = opts->min_expires ? opts->min_expires : 60;
    r->max_expires = opts->max_expires ? opts->max_expires : 3600;
    r->default_expires = opts->default_expires ? opts->default_expires : 3600;
    if (r->max_expires < r->min_expires)
        r->max_expires = r->min_expires;
    if (r->default_expires > r->max_expires)
        r->default_expires = r->max_expires;
    r->max_bindings = opts->max_bindings && opts->max_bindings <= RW_LOCATION_MAX_BINDINGS
                          ? opts->max_bindings : RW_LOCATION_MAX_BINDINGS;
#define C(field, res) r->field = rw_metrics_counter(metrics, "register_total{result=\"" res "\"}", \
                                                    "REGISTER requests by result")
    C(c_ok, "ok");
    C(c_brief, "interval_too_brief");
    C(c_forbidden, "forbidden");
    C(c_bad, "bad_request");
    C(c_error, "error");
    C(c_too_many, "too_many_bindings");
#undef C
    r->c_retrans = rw_metrics_counter(metrics, "register_retransmissions_total",
                                      "REGISTER retransmissions absorbed (dropped while in progress, or answered again)");
    rw_location_on_expired(loc, on_expired, r);
    return r;
}

void rw_registrar_destroy(rw_registrar_t **self)
{
    if (!self || !*self)
        return;
    rw_registrar_t *r = *self;
    rw_location_on_expired(r->loc, NULL, NULL);
    while (r->pending) {              /* finished (503) when auth or location calls back */
        reg_op_t *o = r->pending;
        r->pending = o->next;
        o->reg = NULL;
        o->next = NULL;
        o->prev = NULL;
    }
    rw_regcache_destroy(&r->cache);
    free(r);
    *self = NULL;
}
