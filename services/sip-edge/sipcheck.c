/* services/sip-edge/sipcheck.c — request validation without sockets (sipcheck.h). */
#include "services/sip-edge/sipcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_string.h>

#include "common/err.h"

/* Marks on rq_version: each reads "SIP/2.0" (so NTA makes a transaction and the response goes
 * back by the Via, rport included), told apart by address. */
static const char v505[8] = "SIP/2.0";
static const char bad_line[8] = "SIP/2.0";
static const char bad_uri[8] = "SIP/2.0";

static struct msg_hclass_s rq_class[1];  /* Sofia's request-line class with our parser */
static msg_mclass_t *mclass;      /* built once, read-only after */

static int is_token(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("-.!%*_+`'~", c));
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, the whole rest of the line. */
static int version_ok(const char *v)
{
    size_t a, b;
    if (strncasecmp(v, "SIP/", 4))
        return 0;
    v += 4;
    for (a = 0; v[a] >= '0' && v[a] <= '9'; a++) {}
    if (!a || v[a] != '.')
        return 0;
    v += a + 1;
    for (b = 0; v[b] >= '0' && v[b] <= '9'; b++) {}
    return b && !v[b];
}

/* The method by exact name (Sofia's sip_method_d() rejects short unknown methods such as
 * "OPT" that start like a known one). */
static sip_method_t method_of(const char *name)
{
    for (int i = sip_method_invite; i <= sip_method_publish; i++)
        if (sip_method_names[i] && !strcmp(name, sip_method_names[i]))
            return (sip_method_t) i;
    return sip_method_unknown;
}

/* Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 25.1), exactly one SP each.
 * Parsed here in full; a faulty line keeps its method (so CSeq still matches) and is marked. */
static issize_t rq_parse(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
    sip_request_t *rq = (sip_request_t *) h;
    const char *mark = NULL;
    size_t m = 0, e;
    while (m < (size_t) slen && is_token((unsigned char) s[m]))
        m++;
    if (!m || m > 64)
        return -1;                /* no method: not a request we can answer */
    int line = s[m] == ' ' && s[m + 1] > ' ';
    for (e = m + 1; line && (unsigned char) s[e] > ' ' && s[e] != 0x7f; e++) {}
    line = line && s[e] == ' ' && s[e + 1] > ' ' && version_ok(s + e + 1);
    s[m] = '\0';
    rq->rq_method = method_of(s);
    rq->rq_method_name = rq->rq_method ? sip_method_names[rq->rq_method] : s;
    if (!line)
        mark = bad_line;
    else {
        s[e] = '\0';
        if (strcasecmp(s + e + 1, "SIP/2.0"))
            mark = v505;
        if (url_d(rq->rq_url, s + m + 1) < 0 || !rq->rq_url->url_type)
            mark = mark ? mark : bad_uri;
        else if (!mark)
            mark = sip_version_2_0;
    }
    if (mark != sip_version_2_0 && mark != v505) {
        memset(rq->rq_url, 0, sizeof rq->rq_url);
        char *u = su_strdup(home, "sip:invalid.invalid");
        if (!u || url_d(rq->rq_url, u) < 0)
            return -1;
    }
    rq->rq_version = mark;
    return 0;
}

msg_mclass_t const *rw_sipcheck_mclass(void)
{
    if (mclass)
        return mclass;
    msg_mclass_t *mc = msg_mclass_clone(sip_default_mclass(), 0, 0);
    if (!mc)
        return NULL;
    rq_class[0] = sip_request_class[0];
    rq_class->hc_parse = rq_parse;
    mc->mc_request->hr_class = rq_class;
    mclass = mc;
    return mclass;
}

static int fault(rw_sipcheck_t *out, int status, const char *phrase)
{
    out->status = status;
    snprintf(out->phrase, sizeof out->phrase, "%s", phrase);
    return status;
}

/* Headers the edge reads (RFC 3261 16.3 step 1: those must be well-formed; others are
 * ignored and forwarded as they are). */
static const char *const needed[] = {
    "Max-Forwards", "Proxy-Require", "Require", "Route", "Record-Route", "Contact", "Expires",
    "Authorization", "Proxy-Authorization", "Path", "To", "From", "Call-ID", "CSeq", "Via",
    "Content-Length", NULL
};

static int bad_header(const sip_t *sip, rw_sipcheck_t *out)
{
    for (const sip_error_t *er = sip->sip_error; er; er = er->er_next) {
        const char *name = er->er_common->h_class == sip_error_class ? er->er_name
                                                                      : er->er_common->h_class->hc_name;
        for (size_t i = 0; name && needed[i]; i++)
            if (!strcasecmp(name, needed[i])) {
                char phrase[64];
                snprintf(phrase, sizeof phrase, "Bad %s", needed[i]);
                return fault(out, 400, phrase);
            }
    }
    return 0;
}

static int missing(const sip_t *sip, rw_sipcheck_t *out)
{
    if (!sip->sip_via)
        return fault(out, 400, "Missing Via");
    if (!sip->sip_from || !sip->sip_from->a_url->url_type)
        return fault(out, 400, "Missing From");
    if (!sip->sip_to)
        return fault(out, 400, "Missing To");
    if (!sip->sip_call_id || !sip->sip_call_id->i_id)
        return fault(out, 400, "Missing Call-ID");
    if (!sip->sip_cseq)
        return fault(out, 400, "Missing CSeq");
    if (sip->sip_cseq->cs_method != sip->sip_request->rq_method
        || (sip->sip_cseq->cs_method == sip_method_unknown
            && !su_strmatch(sip->sip_cseq->cs_method_name, sip->sip_request->rq_method_name)))
        return fault(out, 400, "CSeq Method Mismatch");
    return 0;
}

/* Option-tags of h (Proxy-Require or Require) the edge does not support, comma-joined. */
static int unsupported(const msg_list_t *h, int uas, rw_sipcheck_t *out)
{
    size_t n = 0;
    out->unsupported[0] = '\0';
    for (; h; h = h->k_next)
        for (size_t i = 0; h->k_items && h->k_items[i]; i++) {
            const char *tag = h->k_items[i];
            if (uas && su_casematch(tag, RW_SIPCHECK_SUPPORTED))
                continue;
            int k = snprintf(out->unsupported + n, sizeof out->unsupported - n, "%s%s", n ? ", " : "", tag);
            if (k < 0 || (size_t) k >= sizeof out->unsupported - n)
                break;
            n += (size_t) k;
        }
    return n ? fault(out, 420, "Bad Extension") : 0;
}

int rw_sipcheck_request(const sip_t *sip, int as_uas, rw_sipcheck_t *out)
{
    memset(out, 0, sizeof *out);
    if (!sip || !sip->sip_request)
        return fault(out, 400, "Bad Request");
    const sip_request_t *rq = sip->sip_request;
    if (rq->rq_version == v505)
        return fault(out, 505, "Version Not Supported");
    if (rq->rq_version == bad_line)
        return fault(out, 400, "Bad Request-Line");
    if (rq->rq_version == bad_uri)
        return fault(out, 400, "Bad Request-URI");
    if (missing(sip, out) || bad_header(sip, out))
        return out->status;
    if (sip->sip_flags & MSG_FLG_TRUNC)
        return fault(out, 400, "Truncated Message");
    const url_t *ru = rq->rq_url;
    switch (ru->url_type) {
    case url_sip: case url_sips:
        if (!ru->url_host || !*ru->url_host)
            return fault(out, 400, "Bad Request-URI");
        break;
    case url_tel:
        if (!ru->url_user || !*ru->url_user)
            return fault(out, 400, "Bad Request-URI");
        break;
    default:
        return fault(out, 416, "Unsupported URI Scheme");
    }
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count > 255)
        return fault(out, 400, "Bad Max-Forwards");
    if (rq->rq_method == sip_method_ack || rq->rq_method == sip_method_cancel)
        return 0;                 /* never answered 420 (RFC 3261 8.2.2.3) */
    if (unsupported((const msg_list_t *) sip->sip_proxy_require, 0, out))
        return out->status;
    if (as_uas && unsupported((const msg_list_t *) sip->sip_require, 1, out))
        return out->status;
    return 0;
}

static int host_is_ours(const rw_sipcheck_self_t *me, const char *h)
{
    char host[80];
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && n - 2 < sizeof host) {
        memcpy(host, h + 1, n - 2);
        host[n - 2] = '\0';
        h = host;
    }
    return !strcmp(h, me->addr) || (me->addr6 && me->addr6[0] && !strcasecmp(h, me->addr6));
}

int rw_sipcheck_is_self(const rw_sipcheck_self_t *me, const url_t *url)
{
    if (!url || !url->url_host)
        return 0;
    const char *port = url_port(url);
    if (!port || (unsigned) atoi(port) != me->port)
        return 0;
    return host_is_ours(me, url->url_host);
}

const sip_route_t *rw_sipcheck_foreign_route(const rw_sipcheck_self_t *me, const sip_t *sip)
{
    const sip_route_t *r = sip->sip_route;
    while (r && rw_sipcheck_is_self(me, r->r_url))
        r = r->r_next;
    return r;
}

int rw_sipcheck_names_edge(const rw_sipcheck_self_t *me, const url_t *ru)
{
    return ru && (!ru->url_user || !*ru->url_user) && ru->url_host
           && (rw_sipcheck_is_self(me, ru) || (me->realm && su_casematch(ru->url_host, me->realm))
               || (!ru->url_port && host_is_ours(me, ru->url_host)));
}

rw_sipcheck_target_t rw_sipcheck_target(const rw_sipcheck_self_t *me, const sip_t *sip)
{
    const sip_request_t *rq = sip->sip_request;
    if (rq->rq_method == sip_method_register && !rw_sipcheck_foreign_route(me, sip))
        return RW_TARGET_REGISTRAR;
    if (rq->rq_method == sip_method_options && (!sip->sip_to || !sip->sip_to->a_tag)
        && !rw_sipcheck_foreign_route(me, sip) && rw_sipcheck_names_edge(me, rq->rq_url))
        return RW_TARGET_SELF;
    return RW_TARGET_PROXY;
}

int rw_sipcheck_prepare_forward(const rw_sipcheck_self_t *me, msg_t *msg, sip_t *sip)
{
    while (sip->sip_route && rw_sipcheck_is_self(me, sip->sip_route->r_url))
        sip_header_remove(msg, sip, (sip_header_t *) sip->sip_route);
    if (!sip->sip_max_forwards) {
        sip_max_forwards_t *mf = sip_max_forwards_make(msg_home(msg), "70");
        return mf && msg_header_insert(msg, (msg_pub_t *) sip, (msg_header_t *) mf) == 0 ? 0 : RW_ENOMEM;
    }
    if (sip->sip_max_forwards->mf_count == 0)
        return RW_ERANGE;
    sip->sip_max_forwards->mf_count--;
    msg_fragment_clear(sip->sip_max_forwards->mf_common);
    return 0;
}
