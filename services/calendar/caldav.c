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

static const char sync_body_fmt[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<d:sync-collection xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
    "<d:sync-token>%s</d:sync-token><d:sync-level>1</d:sync-level>"
    "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>";

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

/* The root of a DAV multistatus answer (*doc to free), or NULL with err set and nothing to free. */
static xmlNode *multistatus(const char *xml, size_t len, xmlDoc **doc, char *err, size_t err_len)
{
    *doc = parse(xml, len);
    xmlNode *root = *doc ? xmlDocGetRootElement(*doc) : NULL;
    if (!is(root, NS_DAV, "multistatus")) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        snprintf(err, err_len, "CalDAV answer is not a DAV multistatus");
        return NULL;
    }
    return root;
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
    xmlDoc *doc;
    xmlNode *root = multistatus(xml, len, &doc, err, err_len);
    if (!root)
        return RW_EINVAL;
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

/* ---- change tags and incremental sync ------------------------------------------------------
 * job->tag is "dav1" then, per calendar in discovery order, " <url hash>:<s|c>:<value>": its
 * sync-token (s, RFC 6578), else its getctag (c). Equal tags: nothing read. Otherwise each
 * calendar whose old and new entries are both sync-tokens is asked only for its changes
 * (sync-collection from the old token); if any calendar cannot be (a ctag only, a new calendar,
 * the server refuses the token), every calendar is read whole (calendar-query). */

typedef struct {
    char hash[9];
    char kind;                          /* 's' sync-token, 'c' getctag */
    char value[400];
} tag_entry_t;

static void url_hash(const char *url, char out[9])
{
    uint32_t h = 2166136261u;
    for (; *url; url++)
        h = (h ^ (unsigned char) *url) * 16777619u;
    snprintf(out, 9, "%08x", h);
}

/* The calendar's change tag into e: its sync-token, else its getctag; RW_ENOTFOUND when it
 * has neither (or an unusable one: too long, with a space). */
static int calendar_tag(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, tag_entry_t *e)
{
    char *xml;
    size_t n;
    long status;
    url_hash(url, e->hash);
    e->value[0] = 0;
    if (rw_cal_http(opts, job, "PROPFIND", url, "0", tag_body, &xml, &n, &status, NULL) < 0)
        return RW_EIO;
    xmlDoc *doc = parse(xml, n);
    free(xml);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const char *ns[2] = { NS_DAV, "http://calendarserver.org/ns/" }, *name[2] = { "sync-token", "getctag" };
    for (int k = 0; k < 2 && root && !e->value[0]; k++) {
        xmlNode *t = find(root, ns[k], name[k]);
        xmlChar *text = t ? xmlNodeGetContent(t) : NULL;
        if (text && text[0] && strlen((const char *) text) < sizeof e->value && !strpbrk((const char *) text, " \t\r\n")) {
            snprintf(e->value, sizeof e->value, "%s", (const char *) text);
            e->kind = k ? 'c' : 's';
        }
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return e->value[0] ? 0 : RW_ENOTFOUND;
}

static int tag_text(const tag_entry_t *e, int n, char *out, size_t len)
{
    size_t at = (size_t) snprintf(out, len, "dav1");
    for (int i = 0; i < n; i++) {
        int w = snprintf(out + at, len - at, " %s:%c:%s", e[i].hash, e[i].kind, e[i].value);
        if (w < 0 || (size_t) w >= len - at)
            return RW_ERANGE;
        at += (size_t) w;
    }
    return 0;
}

/* The old sync-token of the calendar with this hash in tag, copied into out; 0 or RW_ENOTFOUND. */
static int old_token(const char *tag, const char *hash, char *out, size_t len)
{
    char want[80];
    int w = snprintf(want, sizeof want, " %s:s:", hash);
    if (w < 0 || (size_t) w >= sizeof want)
        return RW_ENOTFOUND;
    const char *p = strncmp(tag, "dav1", 4) ? NULL : strstr(tag, want);
    if (!p)
        return RW_ENOTFOUND;
    p += strlen(want);
    size_t n = strcspn(p, " ");
    if (!n || n >= len)
        return RW_ENOTFOUND;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int push_item(rw_cal_item_t **items, size_t *n, const char *href, const char *etag, const char *data)
{
    rw_cal_item_t *a = realloc(*items, (*n + 1) * sizeof *a);
    if (!a)
        return RW_ENOMEM;
    *items = a;
    rw_cal_item_t *it = &a[*n];
    it->href = strdup(href);
    it->etag = strdup(etag ? etag : "");
    it->data = data ? strdup(data) : NULL;
    if (!it->href || !it->etag || (data && !it->data)) {
        free(it->href), free(it->etag), free(it->data);
        return RW_ENOMEM;
    }
    (*n)++;
    return 0;
}

/* A response's own status (not a propstat's) says 404: the resource is gone. */
static bool gone(xmlNode *response)
{
    for (xmlNode *c = response->children; c; c = c->next)
        if (is(c, NS_DAV, "status")) {
            xmlChar *t = xmlNodeGetContent(c);
            bool g = t && strstr((const char *) t, " 404");
            xmlFree(t);
            return g;
        }
    return false;
}

int rw_caldav_items(const char *xml, size_t len, const char *base, rw_cal_item_t **items, size_t *n,
                    char **token, char *err, size_t err_len)
{
    if (token)
        *token = NULL;
    xmlDoc *doc;
    xmlNode *root = multistatus(xml, len, &doc, err, err_len);
    if (!root)
        return RW_EINVAL;
    int rc = 0;
    for (xmlNode *r = root->children; r && rc == 0; r = r->next) {
        if (token && is(r, NS_DAV, "sync-token") && !*token) {
            xmlChar *t = xmlNodeGetContent(r);
            *token = t ? strdup((const char *) t) : NULL;
            xmlFree(t);
            continue;
        }
        if (!is(r, NS_DAV, "response"))
            continue;
        xmlNode *h = NULL;
        for (xmlNode *c = r->children; c && !h; c = c->next)
            if (is(c, NS_DAV, "href"))
                h = c;
        xmlChar *href = h ? xmlNodeGetContent(h) : NULL;
        char *abs = href ? resolve(base, (const char *) href) : NULL;
        xmlFree(href);
        if (!abs)
            continue;                   /* no usable href: nothing to keep it by */
        if (gone(r)) {
            rc = push_item(items, n, abs, "", NULL);
        } else {
            xmlNode *cd = find(r->children, NS_CALDAV, "calendar-data");
            xmlNode *et = find(r->children, NS_DAV, "getetag");
            xmlChar *data = cd ? xmlNodeGetContent(cd) : NULL, *etag = et ? xmlNodeGetContent(et) : NULL;
            if (data && data[0])
                rc = push_item(items, n, abs, (const char *) etag, (const char *) data);
            xmlFree(data);
            xmlFree(etag);
        }
        free(abs);
    }
    xmlFreeDoc(doc);
    if (rc < 0)
        snprintf(err, err_len, "out of memory");
    return rc;
}

static char *xml_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *o = malloc(n + 1), *q = o;
    if (!o)
        return NULL;
    for (const char *p = s; *p; p++)
        q += *p == '&' ? sprintf(q, "&amp;") : *p == '<' ? sprintf(q, "&lt;") : *p == '>' ? sprintf(q, "&gt;")
                                                                                  : (*q = *p, 1);
    *q = 0;
    return o;
}

/* The changes of one calendar since token (sync-collection), appended to the job's items; the
 * new token into e. 0, or an error (job->error cleared: the caller reads whole instead). */
static int sync_calendar(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, const char *token,
                         tag_entry_t *e, size_t *bytes)
{
    char *tok = xml_escape(token), *body = NULL, *xml = NULL, *fresh = NULL;
    size_t len = 0;
    long status;
    int rc = RW_ENOMEM;
    if (!tok || asprintf(&body, sync_body_fmt, tok) < 0) {
        body = NULL;
        goto out;
    }
    rc = rw_cal_http(opts, job, "REPORT", url, "1", body, &xml, &len, &status, NULL);
    if (rc < 0 || (*bytes += len) > opts->max_body)
        goto out;
    rc = rw_caldav_items(xml, len, url, &job->items, &job->n_items, &fresh, job->error, sizeof job->error);
    if (rc == 0 && fresh && fresh[0] && strlen(fresh) < sizeof e->value && !strpbrk(fresh, " \t\r\n"))
        snprintf(e->value, sizeof e->value, "%s", fresh);
out:
    job->error[0] = 0;                  /* a refused token (403 valid-sync-token), a bad answer... */
    free(tok), free(body), free(xml), free(fresh);
    if (rc == 0 && *bytes > opts->max_body)
        rc = RW_ERANGE;
    return rc;
}

static void drop_items(rw_cal_job_t *job)
{
    for (size_t i = 0; i < job->n_items; i++)
        free(job->items[i].href), free(job->items[i].etag), free(job->items[i].data);
    free(job->items);
    job->items = NULL;
    job->n_items = 0;
}

/* Every calendar read whole (calendar-query): items and body (their calendar-data one after
 * the other). */
static void read_whole(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, char **urls, int n)
{
    size_t bytes = 0;
    drop_items(job);
    job->delta = 0;
    for (int i = 0; i < n && !job->error[0]; i++) {
        char *xml;
        size_t len;
        long status;
        if (rw_cal_http(opts, job, "REPORT", urls[i], "1", report_body, &xml, &len, &status, NULL) < 0)
            break;
        if ((bytes += len) > opts->max_body)
            snprintf(job->error, sizeof job->error, "body over %zu bytes", opts->max_body);
        else
            rw_caldav_items(xml, len, urls[i], &job->items, &job->n_items, NULL, job->error, sizeof job->error);
        free(xml);
    }
    if (job->error[0])
        return;
    char *out = NULL;
    size_t out_len = 0;
    for (size_t i = 0; i < job->n_items; i++)
        if (job->items[i].data && append(&out, &out_len, job->items[i].data) < 0) {
            snprintf(job->error, sizeof job->error, "out of memory");
            free(out);
            return;
        }
    job->body = out ? out : strdup("");
    job->body_len = out_len;
}

void rw_caldav_fetch(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job)
{
    char *urls[RW_CALDAV_MAX_CALENDARS] = { 0 };
    static _Thread_local tag_entry_t ents[RW_CALDAV_MAX_CALENDARS];
    char now_tag[sizeof job->tag] = "", token[sizeof ents[0].value];
    int n = discover(opts, job, urls, RW_CALDAV_MAX_CALENDARS), tagged = 1;
    if (job->error[0] || n <= 0)
        goto done;                      /* discovery failed (it said why) */
    for (int i = 0; i < n && tagged; i++)
        if (calendar_tag(opts, job, urls[i], &ents[i]) < 0)
            tagged = 0;
    job->error[0] = 0;                  /* no usable tag: read whole, as before tags */
    if (tagged && tag_text(ents, n, now_tag, sizeof now_tag) < 0)
        now_tag[0] = 0;
    if (now_tag[0] && job->tag[0] && !strcmp(job->tag, now_tag)) {
        job->unchanged = 1;
        goto done;
    }
    /* only the changes, when every calendar that changed has an old and a new sync-token */
    int delta = now_tag[0] && job->tag[0];
    size_t bytes = 0;
    for (int i = 0; i < n && delta; i++) {
        if (ents[i].kind != 's' || old_token(job->tag, ents[i].hash, token, sizeof token) < 0)
            delta = 0;
        else if (strcmp(token, ents[i].value) && sync_calendar(opts, job, urls[i], token, &ents[i], &bytes) < 0)
            delta = 0;
    }
    if (delta && tag_text(ents, n, now_tag, sizeof now_tag) == 0) {
        job->delta = 1;
        snprintf(job->tag, sizeof job->tag, "%s", now_tag);
        goto done;
    }
    read_whole(opts, job, urls, n);
    snprintf(job->tag, sizeof job->tag, "%s", job->error[0] ? "" : now_tag);
done:
    for (int i = 0; i < n; i++)
        free(urls[i]);
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
