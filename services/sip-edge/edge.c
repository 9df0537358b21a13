/* services/sip-edge/edge.c — the NTA agent and the request dispatch (edge.h). */
#include "services/sip-edge/edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>

#include "common/log.h"
#include "services/sip-edge/proxy.h"
#include "services/sip-edge/registrar.h"

struct rw_edge {
    nta_agent_t *nta;
    nta_leg_t *leg;
    struct rw_registrar *reg;
    struct rw_proxy *proxy;
    char addr[64], addr6[64];
    unsigned port;
    char rr4[128], rr6[128];
};

static void sofia_log(void *arg, char const *fmt, va_list ap)
{
    char line[256];
    (void) arg;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    rw_log_debug("sofia", RW_S("line", line));
}

/* The first Route entry that does not name this edge (NULL: none, the request is for us). A
 * UA with an outbound proxy (Route: <sip:edge;lr>) sends its REGISTER and OPTIONS that way. */
static const sip_route_t *foreign_route(rw_edge_t *self, const sip_t *sip)
{
    const sip_route_t *r = sip->sip_route;
    while (r && rw_edge_is_self(self, r->r_url))
        r = r->r_next;
    return r;
}

/* OPTIONS to the edge itself: no user part in the Request-URI, addressed to us, not in-dialog. */
static int options_for_self(rw_edge_t *self, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    return sip->sip_request->rq_method == sip_method_options && (!ru->url_user || !*ru->url_user)
           && (!sip->sip_to || !sip->sip_to->a_tag) && !foreign_route(self, sip) && rw_edge_is_self(self, ru);
}

static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, const sip_t *sip)
{
    rw_edge_t *self = (rw_edge_t *) magic;
    (void) leg;
    if (!sip || !sip->sip_request || !sip->sip_from || !sip->sip_to || !sip->sip_call_id
        || !sip->sip_cseq || !sip->sip_via)
        return 400;
    if (sip->sip_request->rq_method == sip_method_register && !foreign_route(self, sip)) {
        if (!self->reg)
            return 503;
        return rw_registrar_handle(self->reg, irq, sip);
    }
    if (options_for_self(self, sip)) {
        nta_incoming_treply(irq, SIP_200_OK,
                            SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, PRACK"),
                            SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    if (!self->proxy)
        return 503;
    return rw_proxy_request(self->proxy, irq, sip);
}

static int on_stray(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    rw_edge_t *self = (rw_edge_t *) magic;
    (void) agent;
    if (self->proxy)
        return rw_proxy_stray(self->proxy, msg, sip);
    msg_destroy(msg);
    return 0;
}

static int make_url(char *buf, size_t len, const char *host, unsigned port, const char *tr)
{
    int v6 = strchr(host, ':') != NULL;
    const char *only = strchr(tr, ',') ? "" : (!strcmp(tr, "tcp") ? ";transport=tcp" : ";transport=udp");
    int n = snprintf(buf, len, "sip:%s%s%s:%u%s", v6 ? "[" : "", host, v6 ? "]" : "", port, only);
    return n < 0 || (size_t) n >= len ? -1 : 0;
}

rw_edge_t *rw_edge_new(su_root_t *root, const rw_edge_opts_t *opts)
{
    char url[160];
    rw_edge_t *self = calloc(1, sizeof *self);
    if (!self || !opts->addr || strlen(opts->addr) >= sizeof self->addr
        || strlen(opts->addr6 ? opts->addr6 : "") >= sizeof self->addr6)
        goto fail;
    strcpy(self->addr, opts->addr);
    strcpy(self->addr6, opts->addr6 ? opts->addr6 : "");
    self->port = opts->port;
    snprintf(self->rr4, sizeof self->rr4, "<sip:%s:%u;lr>", self->addr, self->port);
    snprintf(self->rr6, sizeof self->rr6, "<sip:[%s]:%u;lr>", self->addr6, self->port);
    su_log_redirect(NULL, sofia_log, self);
    if (make_url(url, sizeof url, self->addr, self->port, opts->transports))
        goto fail;
    self->nta = nta_agent_create(root, URL_STRING_MAKE(url), on_stray, (nta_agent_magic_t *) self,
                                 NTATAG_UA(0), NTATAG_SERVER_RPORT(1), NTATAG_CANCEL_487(0),
                                 NTATAG_MAXSIZE(opts->max_size), NTATAG_TIMEOUT_408(1), TAG_END());
    if (!self->nta) {
        rw_log_error("sip_bind_failed", RW_S("url", url));
        goto fail;
    }
    if (self->addr6[0]) {
        if (make_url(url, sizeof url, self->addr6, self->port, opts->transports)
            || nta_agent_add_tport(self->nta, URL_STRING_MAKE(url), TAG_END()) < 0) {
            rw_log_error("sip_bind_failed", RW_S("url", url));
            goto fail;
        }
    }
    self->leg = nta_leg_tcreate(self->nta, on_request, (nta_leg_magic_t *) self, NTATAG_NO_DIALOG(1), TAG_END());
    if (!self->leg)
        goto fail;
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
    if (self->leg)
        nta_leg_destroy(self->leg);
    if (self->nta)
        nta_agent_destroy(self->nta);
    free(self);
    *pself = NULL;
}

void rw_edge_set_handlers(rw_edge_t *self, struct rw_registrar *reg, struct rw_proxy *proxy)
{
    self->reg = reg;
    self->proxy = proxy;
}

nta_agent_t *rw_edge_agent(const rw_edge_t *self)
{
    return self->nta;
}

int rw_edge_is_self(const rw_edge_t *self, const url_t *url)
{
    if (!url || !url->url_host)
        return 0;
    const char *port = url_port(url);
    if (!port || (unsigned) atoi(port) != self->port)
        return 0;
    const char *h = url->url_host;
    char host[80];
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && n - 2 < sizeof host) {
        memcpy(host, h + 1, n - 2);
        host[n - 2] = '\0';
        h = host;
    }
    return !strcmp(h, self->addr) || (self->addr6[0] && !strcasecmp(h, self->addr6));
}

const char *rw_edge_record_route(const rw_edge_t *self, int family)
{
    return family == AF_INET6 && self->addr6[0] ? self->rr6 : self->rr4;
}
