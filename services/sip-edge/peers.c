/* services/sip-edge/peers.c — parsing and matching of trusted peers and trunks (peers.h). */
#include "services/sip-edge/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static int copy_tok(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= len)
        return RW_ERANGE;
    memcpy(dst, src, n + 1);
    return 0;
}

static int parse_addr(rw_peer_t *p, const char *addr)
{
    const char *colon;
    char host[64];
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t) (end - addr - 1) >= sizeof host)
            return RW_EINVAL;
        memcpy(host, addr + 1, (size_t) (end - addr - 1));
        host[end - addr - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t) (colon - addr) >= sizeof host)
            return RW_EINVAL;
        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    unsigned char buf[sizeof(struct in6_addr)];
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return RW_EINVAL;
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return RW_EINVAL;
    strcpy(p->host, host);
    p->port = (unsigned) port;
    return 0;
}

static int parse_prefixes(rw_peer_t *p, char *list)
{
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (p->n_prefixes == RW_PEER_MAX_PREFIXES || copy_tok(p->prefixes[p->n_prefixes], 24, t))
            return RW_ERANGE;
        p->n_prefixes++;
    }
    return 0;
}

static int parse_entry(rw_peer_t *p, char *entry, char *err, size_t err_len)
{
    char *save = NULL, *f[5] = { 0 };
    size_t n = 0;
    for (char *t = strtok_r(entry, " \t", &save); t && n < 5; t = strtok_r(NULL, " \t", &save))
        f[n++] = t;
    if (n < 3 || n > 4) {
        snprintf(err, err_len, "peer entry needs NAME HOST:PORT MODE [PREFIXES]");
        return RW_EINVAL;
    }
    memset(p, 0, sizeof *p);
    if (copy_tok(p->name, sizeof p->name, f[0]) || parse_addr(p, f[1])) {
        snprintf(err, err_len, "peer %s: bad name or address %s", f[0], f[1]);
        return RW_EINVAL;
    }
    if (!strcmp(f[2], "proxy"))
        p->mode = RW_PEER_PROXY;
    else if (!strcmp(f[2], "redirect"))
        p->mode = RW_PEER_REDIRECT;
    else if (!strcmp(f[2], "trunk"))
        p->mode = RW_PEER_TRUNK;
    else {
        snprintf(err, err_len, "peer %s: mode must be proxy, redirect or trunk", p->name);
        return RW_EINVAL;
    }
    if (n == 4 && parse_prefixes(p, f[3])) {
        snprintf(err, err_len, "peer %s: too many or too long prefixes", p->name);
        return RW_EINVAL;
    }
    return 0;
}

int rw_peers_parse(rw_peers_t *out, const char *text, char *err, size_t err_len)
{
    char buf[4096];
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return 0;
    if (strlen(text) >= sizeof buf) {
        snprintf(err, err_len, "sip.peers is longer than %zu bytes", sizeof buf - 1);
        return RW_EINVAL;
    }
    strcpy(buf, text);
    char *save = NULL;
    for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        if (strspn(e, " \t") == strlen(e))
            continue;
        if (out->n == RW_PEERS_MAX) {
            snprintf(err, err_len, "more than %d peers", RW_PEERS_MAX);
            return RW_EINVAL;
        }
        if (parse_entry(&out->peers[out->n], e, err, err_len))
            return RW_EINVAL;
        for (size_t i = 0; i < out->n; i++)
            if (!strcmp(out->peers[i].name, out->peers[out->n].name)) {
                snprintf(err, err_len, "peer %s defined twice", out->peers[i].name);
                return RW_EINVAL;
            }
        out->n++;
    }
    return 0;
}

int rw_peers_addr_host(const struct sockaddr *sa, char *host, size_t len, unsigned *port)
{
    unsigned p = 0;
    host[0] = '\0';
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t) len);
        p = ntohs(in->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t) len);
        p = ntohs(in6->sin6_port);
    } else
        return -1;
    if (port)
        *port = p;
    return 0;
}

const rw_peer_t *rw_peers_match(const rw_peers_t *self, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN];
    unsigned port;
    if (rw_peers_addr_host(sa, host, sizeof host, &port) != 0)
        return NULL;
    for (size_t i = 0; i < self->n; i++) {
        const rw_peer_t *p = &self->peers[i];
        unsigned char a[sizeof(struct in6_addr)], b[sizeof(struct in6_addr)];
        int fam = strchr(p->host, ':') ? AF_INET6 : AF_INET;
        if (fam != sa->sa_family || inet_pton(fam, p->host, a) != 1 || inet_pton(fam, host, b) != 1)
            continue;
        if (memcmp(a, b, fam == AF_INET ? 4 : 16) == 0 && (p->port == 0 || p->port == port))
            return p;
    }
    return NULL;
}

const rw_peer_t *rw_peers_find(const rw_peers_t *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (!strcmp(self->peers[i].name, name))
            return &self->peers[i];
    return NULL;
}

/* Length of the longest prefix of p matching number; 0 for a trunk without prefixes, -1 none. */
static int prefix_len(const rw_peer_t *p, const char *number)
{
    int best = p->n_prefixes ? -1 : 0;
    for (size_t i = 0; i < p->n_prefixes; i++) {
        size_t n = strlen(p->prefixes[i]);
        if (!strncmp(number, p->prefixes[i], n) && (int) n > best)
            best = (int) n;
    }
    return best;
}

size_t rw_peers_trunks_for(const rw_peers_t *self, const char *number, const rw_peer_t **out, size_t max)
{
    size_t n = 0;
    for (int want = 24; want >= 0 && n < max; want--)
        for (size_t i = 0; i < self->n && n < max; i++)
            if (self->peers[i].mode == RW_PEER_TRUNK && prefix_len(&self->peers[i], number) == want)
                out[n++] = &self->peers[i];
    return n;
}

int rw_peer_uri(const rw_peer_t *peer, const char *user, char *buf, size_t len)
{
    int v6 = strchr(peer->host, ':') != NULL;
    int n = snprintf(buf, len, "sip:%s%s%s%s%s:%u", user ? user : "", user && *user ? "@" : "",
                     v6 ? "[" : "", peer->host, v6 ? "]" : "", peer->port ? peer->port : 5060);
    return n < 0 || (size_t) n >= len ? RW_ERANGE : 0;
}
