/* services/calendar/ical.c — iCalendar feeds expanded into meetings with libical.
 * libical parses leniently (it inserts X-LIC-ERROR properties instead of failing); here every
 * such error, an unknown zone, an invalid date or a truncated feed fails the feed instead, so a
 * half-read calendar never replaces a whole one. Occurrences are computed in the event's zone
 * (local wall-clock times through the zone's rules), so a 09:00 weekly meeting stays at 09:00
 * across a DST change. */
#include "services/calendar/ical.h"
#include "common/err.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char uid[128];
    int64_t rid_ms;
} moved_t;

typedef struct {
    icalcomponent *cal;
    icaltimezone *user_zone;
    const rw_cal_policy_t *policy;
    int64_t from_ms, to_ms;
    rw_cal_meeting_t *out;
    size_t n, cap;
    moved_t *moved;          /* instances a RECURRENCE-ID component replaces, sorted */
    size_t n_moved;
    long steps;
    char *err;
    size_t err_len;
} expand_t;

static int fail(expand_t *x, int rc, const char *uid, const char *what)
{
    snprintf(x->err, x->err_len, "%s%s%s", uid && *uid ? "event '" : "", uid && *uid ? uid : "",
             uid && *uid ? "': " : "");
    size_t n = strlen(x->err);
    snprintf(x->err + n, x->err_len - n, "%s", what);
    return rc;
}

/* The zone a property's TZID names: the feed's VTIMEZONE, else the TZ database. */
static int prop_zone(expand_t *x, icalproperty *p, icaltimezone **zone)
{
    *zone = NULL;
    icalparameter *tp = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : NULL;
    const char *tzid = tp ? icalparameter_get_tzid(tp) : NULL;
    if (!tzid)
        return 0;
    *zone = icalcomponent_get_timezone(x->cal, tzid);
    if (!*zone)
        *zone = icaltimezone_get_builtin_timezone(tzid);
    return *zone ? 0 : RW_EINVAL;
}

/* A time as ms since the epoch: UTC, in its zone, or floating/all-day in the user's zone. */
static int64_t time_ms(struct icaltimetype t, icaltimezone *zone, icaltimezone *user_zone)
{
    if (icaltime_is_utc(t))
        zone = icaltimezone_get_utc_timezone();
    else if (!zone)
        zone = (icaltimezone *) t.zone;
    if (!zone || t.is_date)
        zone = user_zone;
    return (int64_t) icaltime_as_timet_with_zone(t, zone) * 1000;
}

static bool valid_time(struct icaltimetype t)
{
    return !icaltime_is_null_time(t) && icaltime_is_valid_time(t) && t.year >= 1900 && t.year <= 2200 &&
           t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= icaltime_days_in_month(t.month, t.year) &&
           t.hour >= 0 && t.hour < 24 && t.minute >= 0 && t.minute < 60 && t.second >= 0 && t.second <= 60;
}

static int cmp_moved(const void *a, const void *b)
{
    const moved_t *x = a, *y = b;
    if (x->rid_ms != y->rid_ms)
        return x->rid_ms < y->rid_ms ? -1 : 1;
    return strcmp(x->uid, y->uid);
}

static bool is_moved(const expand_t *x, const char *uid, int64_t start_ms)
{
    if (!x->n_moved)
        return false;
    moved_t key = { .rid_ms = start_ms };
    snprintf(key.uid, sizeof key.uid, "%s", uid);
    return bsearch(&key, x->moved, x->n_moved, sizeof key, cmp_moved) != NULL;
}

static int add(expand_t *x, icalcomponent *ev, int64_t start, int64_t end, bool tentative)
{
    if (end <= x->from_ms || start >= x->to_ms || end <= start)
        return 0;
    if (x->n == RW_CAL_MAX_MEETINGS)
        return fail(x, RW_ERANGE, NULL, "more meetings in the look-ahead window than the limit");
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 32;
        rw_cal_meeting_t *m = realloc(x->out, cap * sizeof *m);
        if (!m)
            return RW_ENOMEM;
        x->out = m, x->cap = cap;
    }
    rw_cal_meeting_t *m = &x->out[x->n++];
    memset(m, 0, sizeof *m);
    m->start_ms = (uint64_t) (start < 0 ? 0 : start);
    m->end_ms = (uint64_t) end;
    m->tentative = tentative;
    const char *uid = icalcomponent_get_uid(ev), *sum = icalcomponent_get_summary(ev);
    snprintf(m->uid, sizeof m->uid, "%s", uid ? uid : "");
    snprintf(m->summary, sizeof m->summary, "%s", sum ? sum : "");
    return 0;
}

/* Whether an EXDATE of ev removes the instance starting at start_ms. */
static int excluded(expand_t *x, icalcomponent *ev, int64_t start_ms, bool *out)
{
    *out = false;
    for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
        icaltimezone *z;
        struct icaltimetype t = icalproperty_get_exdate(p);
        if (prop_zone(x, p, &z) < 0 || !valid_time(t))
            return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "invalid EXDATE");
        if (time_ms(t, z, x->user_zone) == start_ms)
            *out = true;
    }
    return 0;
}

/* One instance of ev at local start t (dur_ms long), unless excluded or moved. */
static int instance(expand_t *x, icalcomponent *ev, int64_t start, int64_t dur_ms, bool tentative,
                    bool master)
{
    bool ex;
    int rc = excluded(x, ev, start, &ex);
    if (rc < 0 || ex)
        return rc;
    if (master && is_moved(x, icalcomponent_get_uid(ev) ? icalcomponent_get_uid(ev) : "", start))
        return 0;
    return add(x, ev, start, start + dur_ms, tentative);
}

static int expand_rrule(expand_t *x, icalcomponent *ev, icalproperty *rp, struct icaltimetype dt,
                        icaltimezone *zone, int64_t dur_ms, bool tentative, bool master)
{
    struct icalrecurrencetype rule = icalproperty_get_rrule(rp);
    if (rule.freq == ICAL_NO_RECURRENCE)
        return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "invalid RRULE");
    icalrecur_iterator *it = icalrecur_iterator_new(rule, dt);
    if (!it)
        return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "RRULE cannot be expanded");
    int rc = 0;
    for (struct icaltimetype t = icalrecur_iterator_next(it); !icaltime_is_null_time(t);
         t = icalrecur_iterator_next(it)) {
        if (++x->steps > RW_CAL_MAX_ITER) {
            rc = fail(x, RW_ERANGE, icalcomponent_get_uid(ev), "recurrences beyond the expansion limit");
            break;
        }
        int64_t start = time_ms(t, zone, x->user_zone);
        if (start >= x->to_ms)
            break;
        if (start + dur_ms > x->from_ms && (rc = instance(x, ev, start, dur_ms, tentative, master)) < 0)
            break;
    }
    icalrecur_iterator_free(it);
    return rc;
}

static int expand_rdates(expand_t *x, icalcomponent *ev, int64_t dur_ms, bool tentative, bool master)
{
    for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(ev, ICAL_RDATE_PROPERTY)) {
        icaltimezone *z;
        struct icaldatetimeperiodtype d = icalproperty_get_rdate(p);
        if (prop_zone(x, p, &z) < 0)
            return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "RDATE in an unknown time zone");
        int rc;
        if (!icalperiodtype_is_null_period(d.period)) {
            if (!valid_time(d.period.start) || !valid_time(d.period.end))
                return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "invalid RDATE period");
            int64_t s = time_ms(d.period.start, z, x->user_zone), e = time_ms(d.period.end, z, x->user_zone);
            rc = instance(x, ev, s, e - s, tentative, master);
        } else {
            if (!valid_time(d.time))
                return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "invalid RDATE");
            rc = instance(x, ev, time_ms(d.time, z, x->user_zone), dur_ms, tentative, master);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int expand_event(expand_t *x, icalcomponent *ev)
{
    const char *uid = icalcomponent_get_uid(ev);
    icalproperty *sp = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    if (!sp)
        return fail(x, RW_EINVAL, uid, "no DTSTART");
    icaltimezone *zone;
    if (prop_zone(x, sp, &zone) < 0)
        return fail(x, RW_EINVAL, uid, "DTSTART in an unknown time zone");
    struct icaltimetype dt = icalproperty_get_dtstart(sp);
    if (!valid_time(dt))
        return fail(x, RW_EINVAL, uid, "invalid DTSTART");
    int64_t start = time_ms(dt, zone, x->user_zone), dur_ms;
    icalproperty *ep = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
    icalproperty *up = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
    if (ep) {
        icaltimezone *ez;
        struct icaltimetype de = icalproperty_get_dtend(ep);
        if (prop_zone(x, ep, &ez) < 0 || !valid_time(de))
            return fail(x, RW_EINVAL, uid, "invalid DTEND");
        dur_ms = time_ms(de, ez, x->user_zone) - start;
    } else if (up) {
        struct icaldurationtype d = icalproperty_get_duration(up);
        if (icaldurationtype_is_bad_duration(d))
            return fail(x, RW_EINVAL, uid, "invalid DURATION");
        dur_ms = (int64_t) icaldurationtype_as_int(d) * 1000;
    } else {
        dur_ms = dt.is_date ? 86400000 : 0;   /* RFC 5545 3.6.1: one day, or an instant */
    }
    if (dur_ms < 0)
        return fail(x, RW_EINVAL, uid, "ends before it starts");
    icalproperty *tp = icalcomponent_get_first_property(ev, ICAL_TRANSP_PROPERTY);
    icalproperty_status status = icalcomponent_get_status(ev);
    if ((tp && icalproperty_get_transp(tp) == ICAL_TRANSP_TRANSPARENT) || status == ICAL_STATUS_CANCELLED)
        return 0;
    bool tentative = status == ICAL_STATUS_TENTATIVE;
    if (tentative && !x->policy->tentative_busy)
        return 0;
    bool master = !icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
    icalproperty *rp = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
    int rc = rp && master ? expand_rrule(x, ev, rp, dt, zone, dur_ms, tentative, master)
                          : instance(x, ev, start, dur_ms, tentative, master);
    return rc < 0 ? rc : expand_rdates(x, ev, dur_ms, tentative, master);
}

/* The first X-LIC-ERROR libical left anywhere in c, or NULL. */
static const char *parse_error(icalcomponent *c)
{
    icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
    if (p)
        return icalproperty_get_xlicerror(p) ? icalproperty_get_xlicerror(p) : "parse error";
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        const char *e = parse_error(s);
        if (e)
            return e;
    }
    return NULL;
}

/* Records every moved instance (a VEVENT with RECURRENCE-ID) so the master skips it. */
static int collect_moved(expand_t *x)
{
    size_t cap = 0;
    for (icalcomponent *ev = icalcomponent_get_first_component(x->cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(x->cal, ICAL_VEVENT_COMPONENT)) {
        icalproperty *p = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
        if (!p)
            continue;
        icaltimezone *z;
        struct icaltimetype t = icalproperty_get_recurrenceid(p);
        if (prop_zone(x, p, &z) < 0 || !valid_time(t))
            return fail(x, RW_EINVAL, icalcomponent_get_uid(ev), "invalid RECURRENCE-ID");
        if (x->n_moved == cap) {
            cap = cap ? cap * 2 : 16;
            moved_t *m = realloc(x->moved, cap * sizeof *m);
            if (!m)
                return RW_ENOMEM;
            x->moved = m;
        }
        moved_t *m = &x->moved[x->n_moved++];
        snprintf(m->uid, sizeof m->uid, "%s", icalcomponent_get_uid(ev) ? icalcomponent_get_uid(ev) : "");
        m->rid_ms = time_ms(t, z, x->user_zone);
    }
    if (x->n_moved)
        qsort(x->moved, x->n_moved, sizeof *x->moved, cmp_moved);
    return 0;
}

static int cmp_meeting(const void *a, const void *b)
{
    const rw_cal_meeting_t *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return x->end_ms < y->end_ms ? -1 : x->end_ms > y->end_ms;
}

/* Whether the text, trailing blank lines aside, ends with END:VCALENDAR (not truncated). */
static bool whole(const char *text, size_t len)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    return len >= 13 && !strncasecmp(text + len - 13, "END:VCALENDAR", 13);
}

int rw_cal_expand(const char *text, size_t len, uint64_t from_ms, uint64_t to_ms,
                  const rw_cal_policy_t *policy, rw_cal_meeting_t **out, size_t *n,
                  char *err, size_t err_len)
{
    static const rw_cal_policy_t def = { NULL, true };
    expand_t x = { .policy = policy ? policy : &def, .from_ms = (int64_t) from_ms, .to_ms = (int64_t) to_ms,
                   .err = err, .err_len = err_len };
    *out = NULL, *n = 0;
    err[0] = 0;
    if (from_ms > INT64_MAX / 2 || to_ms > INT64_MAX / 2 || to_ms <= from_ms)
        return fail(&x, RW_EINVAL, NULL, "empty window");
    if (memchr(text, 0, len) || len < 15 || strncasecmp(text, "BEGIN:VCALENDAR", 15))
        return fail(&x, RW_EINVAL, NULL, "not an iCalendar feed (no BEGIN:VCALENDAR)");
    if (!whole(text, len))
        return fail(&x, RW_EINVAL, NULL, "truncated: no END:VCALENDAR at the end");
    x.user_zone = x.policy->tz && *x.policy->tz ? icaltimezone_get_builtin_timezone(x.policy->tz) : NULL;
    if (!x.user_zone)
        x.user_zone = icaltimezone_get_utc_timezone();
    char *copy = strndup(text, len);
    if (!copy)
        return RW_ENOMEM;
    icalerror_set_errors_are_fatal(0);
    x.cal = icalparser_parse_string(copy);
    free(copy);
    int rc = 0;
    const char *perr;
    if (!x.cal || icalcomponent_isa(x.cal) != ICAL_VCALENDAR_COMPONENT)
        rc = fail(&x, RW_EINVAL, NULL, "not one VCALENDAR");
    else if ((perr = parse_error(x.cal)))
        rc = fail(&x, RW_EINVAL, NULL, perr);
    else
        rc = collect_moved(&x);
    for (icalcomponent *ev = rc == 0 ? icalcomponent_get_first_component(x.cal, ICAL_VEVENT_COMPONENT) : NULL;
         ev && rc == 0; ev = icalcomponent_get_next_component(x.cal, ICAL_VEVENT_COMPONENT))
        rc = expand_event(&x, ev);
    if (x.cal)
        icalcomponent_free(x.cal);
    free(x.moved);
    if (rc < 0) {
        free(x.out);
        if (rc == RW_ENOMEM && !err[0])
            snprintf(err, err_len, "out of memory");
        return rc;
    }
    if (x.n)
        qsort(x.out, x.n, sizeof *x.out, cmp_meeting);
    *out = x.out, *n = x.n;
    return 0;
}

size_t rw_cal_merge(rw_cal_meeting_t *m, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && m[i].start_ms <= m[k - 1].end_ms) {
            if (m[i].end_ms > m[k - 1].end_ms)
                m[k - 1].end_ms = m[i].end_ms;
            m[k - 1].tentative &= m[i].tentative;
        } else {
            m[k++] = m[i];
        }
    }
    return k;
}
