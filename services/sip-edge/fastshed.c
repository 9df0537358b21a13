/* services/sip-edge/fastshed.c — a stateless 503 from a raw INVITE (fastshed.h). */
#include "services/sip-edge/fastshed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rw_fastshed_seen {
    struct { uint64_t hash, until_ms; } slot[RW_FASTSHED_SEEN];
};

static uint64_t branch_hash(const char *b, size_t n)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char) b[i]) * 1099511628211ULL;
    return h ? h : 1;
}

rw_fastshed_seen_t *rw_fastshed_seen_new(void)
{
    return calloc(1, sizeof(rw_fastshed_seen_t));
}

void rw_fastshed_seen_destroy(rw_fastshed_seen_t **self)
{
    if (self) {
        free(*self);
        *self = NULL;
    }
}

void rw_fastshed_seen_add(rw_fastshed_seen_t *self, const char *branch, size_t n, uint64_t until_ms)
{
    if (!self || !branch || !n)
        return;
    uint64_t h = branch_hash(branch, n);
    self->slot[h % RW_FASTSHED_SEEN].hash = h;
    self->slot[h % RW_FASTSHED_SEEN].until_ms = until_ms;
}

int rw_fastshed_seen_has(const rw_fastshed_seen_t *self, const char *branch, size_t n, uint64_t now_ms)
{
    if (!self || !branch || !n)
        return 0;
    uint64_t h = branch_hash(branch, n);
    return self->slot[h % RW_FASTSHED_SEEN].hash == h && self->slot[h % RW_FASTSHED_SEEN].until_ms > now_ms;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int name_is(const char *p, size_t n, const char *full, const char *compact)
{
    return (n == strlen(full) && !strncasecmp(p, full, n)) || (compact && n == 1 && (p[0] | 0x20) == compact[0]);
}

/* Case-insensitive search for needle in s[0..n). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!strncasecmp(s + i, needle, k))
            return s + i;
    return NULL;
}

/* The To value's part that may hold parameters: after the name-addr's '>', else after the URI. */
static void to_params(const char *v, size_t n, const char **pp, size_t *pn)
{
    const char *lt = memchr(v, '<', n);
    if (lt) {
        const char *gt = memchr(lt, '>', (size_t) (v + n - lt));
        if (!gt) {                    /* malformed: treat all of it as parameters */
            *pp = v, *pn = n;
            return;
        }
        *pp = gt + 1, *pn = (size_t) (v + n - gt - 1);
        return;
    }
    *pp = v, *pn = n;
}

/* The top Via names the datagram's source: UDP, the source's IPv4 address and port, no rport
 * or maddr (answering those is left to Sofia). */
static int via_is_source(const char *v, size_t n, const struct sockaddr *from, const char **branch, size_t *bn)
{
    if (!from || from->sa_family != AF_INET || n < 12 || strncasecmp(v, "SIP/2.0/UDP", 11) || !is_ws(v[11]))
        return 0;
    const struct sockaddr_in *sin = (const struct sockaddr_in *) from;
    size_t i = 11;
    while (i < n && is_ws(v[i]))
        i++;
    size_t h = i;
    while (i < n && v[i] != ':' && v[i] != ';' && v[i] != ',' && !is_ws(v[i]))
        i++;
    char host[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
    if (i - h == 0 || i - h >= sizeof host || !inet_ntop(AF_INET, &sin->sin_addr, src, sizeof src))
        return 0;
    memcpy(host, v + h, i - h);
    host[i - h] = '\0';
    if (strcmp(host, src))
        return 0;
    unsigned port = 5060;
    if (i < n && v[i] == ':') {
        port = 0;
        size_t d = ++i;
        while (i < n && v[i] >= '0' && v[i] <= '9' && i - d < 5)
            port = port * 10 + (unsigned) (v[i++] - '0');
        if (i == d)
            return 0;
    }
    if (port != ntohs(sin->sin_port))
        return 0;
    size_t e = i;                     /* the first value's parameters end at a comma */
    while (e < n && v[e] != ',')
        e++;
    const char *b = find_ci(v + i, e - i, ";branch=");
    if (!b)
        return 0;
    b += 8;
    size_t k = 0;
    while (b + k < v + e && b[k] != ';' && b[k] != ',' && !is_ws(b[k]))
        k++;
    *branch = b, *bn = k;
    return k && !find_ci(v + i, e - i, "rport") && !find_ci(v + i, e - i, "maddr");
}

/* "<digits> INVITE" with optional white space around. */
static int cseq_is_invite(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++;
    if (i == 0 || i >= n || !is_ws(v[i]))
        return 0;
    while (i < n && is_ws(v[i]))
        i++;
    while (n > i && is_ws(v[n - 1]))
        n--;
    return n - i == 6 && !memcmp(v + i, "INVITE", 6);
}

rw_fastshed_kind_t rw_fastshed_parse(const char *buf, size_t len, const struct sockaddr *from, rw_fastshed_t *fs)
{
    memset(fs, 0, sizeof *fs);
    int invite;
    if (len > 7 && !memcmp(buf, "INVITE ", 7))
        invite = 1;
    else if (len > 4 && !memcmp(buf, "ACK ", 4))
        invite = 0;
    else
        return RW_FASTSHED_OTHER;
    const char *end = buf + len, *p = memchr(buf, '\n', len);
    if (!p || p - buf < 9 || p[-1] != '\r' || memcmp(p - 8, "SIP/2.0", 7))
        return RW_FASTSHED_OTHER;
    p++;
    int n_from = 0, n_to = 0, n_callid = 0, n_cseq = 0, via_ok = 0;
    size_t total = 0;
    const char *to_v = NULL, *cseq_v = NULL;
    size_t to_vn = 0, cseq_vn = 0;
    for (;;) {
        const char *nl = p < end ? memchr(p, '\n', (size_t) (end - p)) : NULL;
        if (!nl || nl == p || nl[-1] != '\r')
            return RW_FASTSHED_OTHER; /* no end of headers, or a bare LF */
        size_t ll = (size_t) (nl - 1 - p);
        if (ll == 0)
            break;
        if (is_ws(*p))
            return RW_FASTSHED_OTHER; /* folded */
        const char *colon = memchr(p, ':', ll);
        if (!colon)
            return RW_FASTSHED_OTHER;
        size_t nn = (size_t) (colon - p);
        while (nn && is_ws(p[nn - 1]))
            nn--;
        const char *v = colon + 1;
        size_t vn = (size_t) (p + ll - v);
        while (vn && is_ws(*v))
            v++, vn--;
        size_t at = (size_t) (p - buf);
        if (name_is(p, nn, "via", "v")) {
            if (fs->n_via == RW_FASTSHED_VIAS)
                return RW_FASTSHED_OTHER;
            if (fs->n_via == 0) {
                const char *b = NULL;
                size_t bn = 0;
                via_ok = via_is_source(v, vn, from, &b, &bn);
                if (via_ok)
                    fs->branch_at = (size_t) (b - buf), fs->branch_len = bn;
            }
            fs->via_at[fs->n_via] = at, fs->via_len[fs->n_via] = ll;
            fs->n_via++;
            total += ll + 2;
        } else if (name_is(p, nn, "from", "f")) {
            n_from++, fs->from_at = at, fs->from_len = ll, total += ll + 2;
        } else if (name_is(p, nn, "to", "t")) {
            n_to++, fs->to_at = at, fs->to_len = ll, to_v = v, to_vn = vn, total += ll + 2;
        } else if (name_is(p, nn, "call-id", "i")) {
            n_callid++, fs->callid_at = at, fs->callid_len = ll, total += ll + 2;
        } else if (name_is(p, nn, "cseq", NULL)) {
            n_cseq++, fs->cseq_at = at, fs->cseq_len = ll, cseq_v = v, cseq_vn = vn, total += ll + 2;
        }
        p = nl + 1;
    }
    if (n_from != 1 || n_to != 1 || n_callid != 1 || n_cseq != 1 || fs->n_via == 0)
        return RW_FASTSHED_OTHER;
    const char *tp;
    size_t tn;
    to_params(to_v, to_vn, &tp, &tn);
    if (!invite)
        return find_ci(tp, tn, "tag=" RW_FASTSHED_TAG) ? RW_FASTSHED_ACK_OURS : RW_FASTSHED_OTHER;
    if (find_ci(tp, tn, "tag") || !cseq_is_invite(cseq_v, cseq_vn) || !via_ok
        || total + 128 > RW_FASTSHED_MAX)
        return RW_FASTSHED_OTHER;
    return RW_FASTSHED_NEW_INVITE;
}

static size_t put(char *out, size_t at, size_t cap, const char *s, size_t n)
{
    if (at + n > cap)
        return cap + 1;
    memcpy(out + at, s, n);
    return at + n;
}

size_t rw_fastshed_503(const rw_fastshed_t *fs, const char *buf, unsigned retry_after_s, uint32_t tag_id,
                       char *out, size_t cap)
{
    static const char status[] = "SIP/2.0 503 Service Unavailable\r\n";
    size_t at = put(out, 0, cap, status, sizeof status - 1);
    for (int i = 0; i < fs->n_via; i++) {
        at = put(out, at, cap, buf + fs->via_at[i], fs->via_len[i]);
        at = put(out, at, cap, "\r\n", 2);
    }
    at = put(out, at, cap, buf + fs->from_at, fs->from_len);
    at = put(out, at, cap, "\r\n", 2);
    size_t tl = fs->to_len;
    while (tl && is_ws(buf[fs->to_at + tl - 1]))
        tl--;
    at = put(out, at, cap, buf + fs->to_at, tl);
    char tail[96];
    int k = snprintf(tail, sizeof tail, ";tag=" RW_FASTSHED_TAG "%08x\r\n", (unsigned) tag_id);
    at = put(out, at, cap, tail, (size_t) k);
    at = put(out, at, cap, buf + fs->callid_at, fs->callid_len);
    at = put(out, at, cap, "\r\n", 2);
    at = put(out, at, cap, buf + fs->cseq_at, fs->cseq_len);
    at = put(out, at, cap, "\r\n", 2);
    k = snprintf(tail, sizeof tail, "Retry-After: %u\r\nContent-Length: 0\r\n\r\n", retry_after_s);
    at = put(out, at, cap, tail, (size_t) k);
    return at > cap ? 0 : at;
}
