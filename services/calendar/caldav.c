/* services/calendar/caldav.c — CalDAV discovery and calendar-query (caldav.h).
 * XML is parsed with libxml2 without network access or entity expansion; hrefs are resolved
 * against the URL they came from (relative paths are the norm). */
#include "services/calendar/caldav.h"
#include "common/err.h"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_DAV "DAV:"
#define NS_CALDAV "urn:ietf:params:xml:ns:caldav"

static const char propfind_body[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop>"
    "<d:resourcetype/><d:current-user-principal/><c:calendar-home-set/></d:prop></d:propfind>";

static const char tag_body[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<d:propfind xmlns:d=\"DAV:\" xmlns:cs=\"http://calendarserver.org/ns/\"><d:prop>"
    "<cs:getctag/><d:sync-token/></d:prop></d:propfind>";

static const char report_body[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
    "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
    "<c:filter><c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\"/></c:comp-filter></c:filter>"
    "</c:calendar-query>";

static bool is(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && !strcmp((const char *) n->ns->href, ns) &&
           !strcmp((const char *) n->name, name);
}

/* The first element ns:name at or below n, depth first. */
static xmlNode *find(xmlNode *n, const char *ns, const char *name)
{
    for (; n; n = n->next) {
        if (is(n, ns, name))
            return n;
        xmlNode *c = find(n->children, ns, name);
        if (c)
            return c;
    }
    return NULL;
}

static xmlDoc *parse(const char *xml, size_t len)
{
    if (len > (size_t) 0x7fffffff)
        return NULL;
    return xmlReadMemory(xml, (int) len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int append(char **out, size_t *out_len, const char *s)
{
    size_t l = strlen(s);
    char *o = realloc(*out, *out_len + l + 2);
    if (!o)
        return RW_ENOMEM;
    memcpy(o + *out_len, s, l);
    o[*out_len + l] = '\n';
    o[*out_len + l + 1] = 0;
    *out = o;
    *out_len += l + 1;
    return 0;
}

int rw_caldav_calendar_data(const char *xml, size_t len, char **out, size_t *out_len, char *err, size_t err_len)
{
    xmlDoc *doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!is(root, NS_DAV, "multistatus")) {
        xmlFreeDoc(doc);
        snprintf(err, err_len, "CalDAV answer is not a DAV multistatus");
        return RW_EINVAL;
    }
    int rc = 0;
    for (xmlNode *r = root->children; r && rc == 0; r = r->next) {
        if (!is(r, NS_DAV, "response"))
            continue;
        xmlNode *cd = find(r->children, NS_CALDAV, "calendar-data");
        xmlChar *text = cd ? xmlNodeGetContent(cd) : NULL;
        if (text && text[0])
            rc = append(out, out_len, (const char *) text);
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return rc;
}

/* href (absolute or relative) resolved against base. malloc'd. */
static char *resolve(const char *base, const char *href)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, href, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
        out = strdup(s);
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

/* What one PROPFIND (Depth 0) says about url. Each out string is malloc'd or NULL. */
static int propfind(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, const char *depth,
                    xmlDoc **doc, char **final_url)
{
    char *xml;
    size_t len;
    long status;
    if (rw_cal_http(opts, job, "PROPFIND", url, depth, propfind_body, &xml, &len, &status, final_url) < 0)
        return RW_EIO;
    *doc = parse(xml, len);
    free(xml);
    if (!*doc || !is(xmlDocGetRootElement(*doc), NS_DAV, "multistatus")) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        free(*final_url);
        *final_url = NULL;
        snprintf(job->error, sizeof job->error, "CalDAV PROPFIND answer is not a DAV multistatus");
        return RW_EINVAL;
    }
    return 0;
}

/* The href inside the first ns:name of doc, resolved against base; NULL if none. */
static char *href_of(xmlDoc *doc, const char *ns, const char *name, const char *base)
{
    xmlNode *p = find(xmlDocGetRootElement(doc), ns, name);
    xmlNode *h = p ? find(p->children, NS_DAV, "href") : NULL;
    xmlChar *t = h ? xmlNodeGetContent(h) : NULL;
    char *out = t ? resolve(base, (const char *) t) : NULL;
    xmlFree(t);
    return out;
}

/* The calendar collections listed by a Depth 1 PROPFIND of a home. */
static int calendars_in(xmlDoc *doc, const char *base, char **urls, int max)
{
    int n = 0;
    for (xmlNode *r = xmlDocGetRootElement(doc)->children; r && n < max; r = r->next) {
        xmlNode *rt = is(r, NS_DAV, "response") ? find(r->children, NS_DAV, "resourcetype") : NULL;
        xmlNode *h = rt ? find(r->children, NS_DAV, "href") : NULL;
        if (!h || !find(rt->children, NS_CALDAV, "calendar"))
            continue;
        xmlChar *t = xmlNodeGetContent(h);
        if (t && (urls[n] = resolve(base, (const char *) t)))
            n++;
        xmlFree(t);
    }
    return n;
}

/* The user's calendar collections from url: itself when it is one, else through the principal
 * and the calendar home. */
static int discover(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, char **urls, int max)
{
    xmlDoc *doc = NULL;
    char *at = NULL, *home = NULL, *principal = NULL;
    int n = 0;
    if (propfind(opts, job, job->url, "0", &doc, &at) < 0)
        return 0;
    xmlNode *rt = find(xmlDocGetRootElement(doc), NS_DAV, "resourcetype");
    if (rt && find(rt->children, NS_CALDAV, "calendar")) {
        urls[0] = at;
        xmlFreeDoc(doc);
        return 1;
    }
    home = href_of(doc, NS_CALDAV, "calendar-home-set", at);
    principal = home ? NULL : href_of(doc, NS_DAV, "current-user-principal", at);
    xmlFreeDoc(doc), doc = NULL;
    free(at), at = NULL;
    if (!home && principal && propfind(opts, job, principal, "0", &doc, &at) == 0) {
        home = href_of(doc, NS_CALDAV, "calendar-home-set", at);
        xmlFreeDoc(doc), doc = NULL;
        free(at), at = NULL;
    }
    if (home && propfind(opts, job, home, "1", &doc, &at) == 0) {
        n = calendars_in(doc, at, urls, max);
        xmlFreeDoc(doc);
        free(at);
    }
    if (!job->error[0] && n == 0)
        snprintf(job->error, sizeof job->error, "CalDAV: no calendar found from the URL");
    free(home);
    free(principal);
    return n;
}

/* The calendar's change tag: its getctag, else its sync-token; "" when it has neither. */
static int calendar_tag(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, char *tag, size_t len)
{
    char *xml;
    size_t n;
    long status;
    tag[0] = 0;
    if (rw_cal_http(opts, job, "PROPFIND", url, "0", tag_body, &xml, &n, &status, NULL) < 0)
        return RW_EIO;
    xmlDoc *doc = parse(xml, n);
    free(xml);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *t = root ? find(root, "http://calendarserver.org/ns/", "getctag") : NULL;
    if (!t && root)
        t = find(root, NS_DAV, "sync-token");
    xmlChar *text = t ? xmlNodeGetContent(t) : NULL;
    snprintf(tag, len, "%s", text ? (const char *) text : "");
    xmlFree(text);
    xmlFreeDoc(doc);
    return 0;
}

/* job->tag: "n:tag1 tag2 ..." of every calendar, or "" when one has no tag. Sets
 * job->unchanged when it equals the tag the job came with. */
static void calendars_tag(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, char **urls, int n)
{
    char all[sizeof job->tag], one[200];
    size_t len = (size_t) snprintf(all, sizeof all, "%d:", n);
    for (int i = 0; i < n; i++) {
        if (calendar_tag(opts, job, urls[i], one, sizeof one) < 0 || !one[0] || len + strlen(one) + 2 >= sizeof all) {
            job->error[0] = 0;   /* no usable tag: read whole, as before */
            job->tag[0] = 0;
            return;
        }
        len += (size_t) snprintf(all + len, sizeof all - len, "%s%s", i ? " " : "", one);
    }
    job->unchanged = job->tag[0] && !strcmp(job->tag, all);
    snprintf(job->tag, sizeof job->tag, "%s", all);
}

void rw_caldav_fetch(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job)
{
    char *urls[RW_CALDAV_MAX_CALENDARS] = { 0 };
    int n = discover(opts, job, urls, RW_CALDAV_MAX_CALENDARS);
    if (n > 0 && !job->error[0])
        calendars_tag(opts, job, urls, n);
    if (job->unchanged) {
        for (int i = 0; i < n; i++)
            free(urls[i]);
        return;
    }
    char *out = NULL;
    size_t out_len = 0;
    for (int i = 0; i < n && !job->error[0]; i++) {
        char *xml;
        size_t len;
        long status;
        if (rw_cal_http(opts, job, "REPORT", urls[i], "1", report_body, &xml, &len, &status, NULL) < 0)
            break;
        if (out_len + len > opts->max_body)
            snprintf(job->error, sizeof job->error, "body over %zu bytes", opts->max_body);
        else
            rw_caldav_calendar_data(xml, len, &out, &out_len, job->error, sizeof job->error);
        free(xml);
    }
    for (int i = 0; i < n; i++)
        free(urls[i]);
    if (job->error[0] || n == 0) {
        free(out);
        return;
    }
    job->body = out ? out : strdup("");
    job->body_len = out_len;
}

/* The next "BEGIN:VCALENDAR" at a line start in [p, end), or end. */
static const char *next_calendar(const char *p, const char *end)
{
    for (const char *q = p; q + 15 <= end; q++)
        if ((q == p || q[-1] == '\n') && !strncasecmp(q, "BEGIN:VCALENDAR", 15))
            return q;
    return end;
}

static int by_start(const void *a, const void *b)
{
    const rw_cal_meeting_t *x = a, *y = b;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

int rw_caldav_expand(const char *text, size_t len, uint64_t from_ms, uint64_t to_ms,
                     const rw_cal_policy_t *policy, rw_cal_meeting_t **out, size_t *n,
                     char *err, size_t err_len)
{
    const char *end = text + len, *p = next_calendar(text, end);
    rw_cal_meeting_t *all = NULL;
    size_t total = 0;
    *out = NULL, *n = 0;
    err[0] = 0;
    while (p < end) {
        const char *q = next_calendar(p + 15, end);
        rw_cal_meeting_t *m;
        size_t k;
        int rc = rw_cal_expand(p, (size_t) (q - p), from_ms, to_ms, policy, &m, &k, err, err_len);
        if (rc == 0 && total + k > RW_CAL_MAX_MEETINGS) {
            free(m);
            snprintf(err, err_len, "more meetings in the look-ahead window than the limit");
            rc = RW_ERANGE;
        }
        if (rc < 0) {
            free(all);
            return rc;
        }
        rw_cal_meeting_t *a = k ? realloc(all, (total + k) * sizeof *a) : all;
        if (k && !a) {
            free(m), free(all);
            return RW_ENOMEM;
        }
        if (k)
            memcpy(a + total, m, k * sizeof *m);
        all = a, total += k;
        free(m);
        p = q;
    }
    if (total)
        qsort(all, total, sizeof *all, by_start);
    *out = all, *n = total;
    return 0;
}
