/* directory/rule_check.c — save-time analysis of a user's rules (see rule_check.h). */
#include "directory/rule_check.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* A rule's window as spans of minutes in the week (Monday 00:00 = 0, end exclusive). A window
 * that wraps past midnight runs into the next day as the router reads it, Sunday's into Monday. */
typedef struct { int from, to; } span_t;
#define WEEK_MIN (7 * 1440)

static int week_spans(const rw_rule_t *r, span_t out[14])
{
    uint8_t days = r->days ? r->days : 0x7f;
    int n = 0;
    for (int d = 0; d < 7; d++) {
        if (!(days & (1 << d)))
            continue;
        int from = d * 1440 + (r->from_min < 0 ? 0 : r->from_min);
        int to = r->from_min < 0 ? d * 1440 + 1440
               : d * 1440 + r->to_min + (r->to_min <= r->from_min ? 1440 : 0);
        if (to > WEEK_MIN) {
            out[n++] = (span_t) { 0, to - WEEK_MIN };
            to = WEEK_MIN;
        }
        out[n++] = (span_t) { from, to };
    }
    return n;
}

static bool windows_overlap(const rw_rule_t *a, const rw_rule_t *b)
{
    span_t sa[14], sb[14];
    if (a->from_min < 0 || b->from_min < 0)
        return false;                /* only two explicit time windows can overlap */
    int na = week_spans(a, sa), nb = week_spans(b, sb);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (sa[i].from < sb[j].to && sb[j].from < sa[i].to)
                return true;
    return false;
}

/* Whether every minute of b's window is in a's (a rule without a time holds whole days). */
static bool window_covers(const rw_rule_t *a, const rw_rule_t *b)
{
    uint64_t week[WEEK_MIN / 64 + 1] = { 0 };
    span_t sa[14], sb[14];
    int na = week_spans(a, sa), nb = week_spans(b, sb);
    for (int i = 0; i < na; i++)
        for (int m = sa[i].from; m < sa[i].to; m++)
            week[m / 64] |= 1ull << (m % 64);
    for (int i = 0; i < nb; i++)
        for (int m = sb[i].from; m < sb[i].to; m++)
            if (!(week[m / 64] & (1ull << (m % 64))))
                return false;
    return true;
}

static bool primary(const rw_rule_t *r)
{
    return r->action != RW_ACT_DIVERT || r->on == RW_ON_ALWAYS;
}

/* An earlier rule a takes every call the later rule b could take (same kind, conditions no
 * narrower, no exceptions to let calls past it): b can never apply. */
static bool shadows(const rw_rule_t *a, const rw_rule_t *b)
{
    if (primary(a) != primary(b) || (!primary(a) && a->on != b->on) || a->n_except)
        return false;
    if (a->presence && (!b->presence || (b->presence & ~a->presence)))
        return false;
    if (a->n_callers && (a->n_callers != b->n_callers || memcmp(a->callers, b->callers, sizeof a->callers)))
        return false;
    return window_covers(a, b);
}

static bool same_kind(const rw_rule_t *a, const rw_rule_t *b)
{
    bool pa = primary(a), pb = primary(b);
    return pa == pb && (pa || a->on == b->on) && a->presence == b->presence &&
           a->n_callers == b->n_callers && !memcmp(a->callers, b->callers, sizeof a->callers);
}

bool rw_rule_check_overlap(const rw_rule_t *a, const rw_rule_t *b)
{
    return same_kind(a, b) && windows_overlap(a, b);
}

/* A warning for the first rule that can never apply (saved all the same: order is the user's
 * to choose, and there is no command to insert a rule before another), else "". */
void rw_rule_check_dead(const rw_settings_t *s, char *out, size_t len)
{
    out[0] = '\0';
    for (int p = -1; p < s->n_profiles; p++) {
        const rw_rule_set_t *set = p < 0 ? &s->pinned : &s->profiles[p];
        for (int i = 1; i < set->n_rules; i++)
            for (int j = 0; j < i; j++)
                if (shadows(&set->rules[j], &set->rules[i])) {
                    snprintf(out, len, "warning: %s: rule '%s' can never apply: rule '%s' before it takes "
                             "every such call", set->name, set->rules[i].name, set->rules[j].name);
                    return;
                }
    }
}

int rw_rule_check_self_dest(const rw_rule_dest_t *d, const char *user_id, const char *number,
                            const char *what, char *err, size_t len)
{
    if (d->kind == RW_DEST_NUMBER && number && number[0] && !strcmp(d->ref, number))
        return snprintf(err, len, "%s diverts to %s's own public number %s: the call would come back "
                        "to %s through the phone network (a loop)", what, user_id, number, user_id), RW_EINVAL;
    if (d->kind == RW_DEST_USER && !strcmp(d->ref, user_id))
        return snprintf(err, len, "%s diverts to %s themselves (a loop)", what, user_id), RW_EINVAL;
    return 0;
}

int rw_rule_check_self(const rw_settings_t *s, const char *user_id, const char *number, char *err,
                       size_t len)
{
    char what[96];
    for (int p = -1; p < s->n_profiles; p++) {
        const rw_rule_set_t *set = p < 0 ? &s->pinned : &s->profiles[p];
        for (int i = 0; i < set->n_rules; i++) {
            if (set->rules[i].action != RW_ACT_DIVERT)
                continue;
            snprintf(what, sizeof what, "%s: rule '%s'", set->name, set->rules[i].name);
            if (rw_rule_check_self_dest(&set->rules[i].to, user_id, number, what, err, len) < 0)
                return RW_EINVAL;
        }
    }
    return 0;
}
