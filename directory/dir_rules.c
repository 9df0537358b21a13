/* directory/dir_rules.c — parse and validate a user's routing settings JSON (dir_rules.h). */
#include "directory/dir_rules.h"
#include "common/err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const pres_names[] = { "available", "busy", "away", "in_meeting", "dnd", "offline" };
static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

int rw_rules_presence_bit(const char *state)
{
    for (int i = 0; i < 6; i++)
        if (!strcmp(state, pres_names[i]))
            return 1 << i;
    return 0;
}

bool rw_rules_caller_match(const char *entry, const char *caller)
{
    size_t n = strlen(entry);
    if (n && entry[n - 1] == '*')
        return !strncmp(entry, caller, n - 1);
    return !strcmp(entry, caller);
}

int rw_rules_parse_dest(const char *s, const rw_numplan_t *plan, rw_rule_dest_t *out)
{
    char norm[32];
    rw_num_kind_t kind;
    memset(out, 0, sizeof *out);
    if (!strcmp(s, "voicemail")) {
        out->kind = RW_DEST_VOICEMAIL;
        return 0;
    }
    if (!strncmp(s, "user:", 5) && s[5] && strlen(s + 5) < sizeof out->ref) {
        out->kind = RW_DEST_USER;
        snprintf(out->ref, sizeof out->ref, "%s", s + 5);
        return 0;
    }
    if ((s[0] == '+' || (s[0] >= '0' && s[0] <= '9'))) {
        if (rw_e164_normalise(plan, s, norm, sizeof norm, &kind) < 0 || kind != RW_NUM_E164)
            return RW_EINVAL;
        out->kind = RW_DEST_NUMBER;
        snprintf(out->ref, sizeof out->ref, "%s", norm);
        return 0;
    }
    if (!s[0] || strlen(s) >= 32)
        return RW_EINVAL;
    out->kind = RW_DEST_DEVICE;
    snprintf(out->ref, sizeof out->ref, "%s", s);
    return 0;
}

static int hhmm(const char *s)
{
    int h, m;
    char extra;
    if (sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m))
        return -1;
    return h * 60 + m;
}

static int day_index(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && !strncmp(s, day_names[i], 3))
            return i;
    return -1;
}

/* "mon-fri", "sat,sun", "mon,wed-fri" -> bit mask; -1 if malformed. */
static int parse_days(const char *s)
{
    int mask = 0;
    while (*s) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
        const char *dash = memchr(s, '-', (size_t) (end - s));
        int a = day_index(s, (size_t) ((dash ? dash : end) - s));
        int b = dash ? day_index(dash + 1, (size_t) (end - dash - 1)) : a;
        if (a < 0 || b < 0)
            return -1;
        for (int d = a;; d = (d + 1) % 7) {
            mask |= 1 << d;
            if (d == b)
                break;
        }
        s = comma ? comma + 1 : end;
    }
    return mask;
}

typedef struct { char *err; size_t len; const char *path; } perr_t;

static int fail(perr_t *pe, const char *fmt, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, what);
    snprintf(pe->err, pe->len, "%s: %s", pe->path, msg);
    return RW_EINVAL;
}

static int parse_numbers(json_t *arr, const rw_numplan_t *plan, char out[][24], uint8_t *n, perr_t *pe)
{
    json_t *v;
    size_t i;
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > RW_RULES_MAX_CALLERS)
        return fail(pe, "%s must be a list of at most 8 numbers", "callers");
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        char norm[32];
        rw_num_kind_t kind;
        if (!s || !s[0] || strlen(s) >= 23)
            return fail(pe, "'%s' is not a number or prefix", s ? s : "?");
        size_t len = strlen(s);
        if (s[len - 1] == '*' || !strcmp(s, "anonymous"))
            snprintf(out[*n], 24, "%.23s", s);  /* prefixes are kept as written */
        else if (rw_e164_normalise(plan, s, norm, sizeof norm, &kind) == 0 && strlen(norm) < 24)
            snprintf(out[*n], 24, "%.23s", norm);
        else
            return fail(pe, "'%s' is not a number or prefix", s);
        (*n)++;
    }
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int parse_conditions(json_t *jr, const rw_numplan_t *plan, rw_rule_t *r, perr_t *pe)
{
    const char *days = jstr(jr, "days"), *time = jstr(jr, "time");
    char from[8] = "", to[8] = "";
    json_t *pres = json_object_get(jr, "presence"), *v;
    size_t i;
    r->from_min = r->to_min = -1;
    if (days) {
        int m = parse_days(days);
        if (m <= 0)
            return fail(pe, "days '%s' is not like mon-fri or sat,sun", days);
        r->days = (uint8_t) m;
    }
    char extra;
    if (time && sscanf(time, "%7[0-9:]-%7[0-9:]%c", from, to, &extra) != 2)
        return fail(pe, "time '%s' is not HH:MM-HH:MM", time);
    if (time) {
        if ((r->from_min = (int16_t) hhmm(from)) < 0 || r->from_min >= 24 * 60)
            return fail(pe, "from '%s' is not HH:MM (00:00-23:59)", from);
        if ((r->to_min = (int16_t) hhmm(to)) < 0)
            return fail(pe, "to '%s' is not HH:MM", to);
        if (r->from_min == r->to_min)
            return fail(pe, "%s: from and to are equal", "time");
    }
    if (pres && !json_is_array(pres))
        return fail(pe, "%s must be a list of states", "presence");
    json_array_foreach(pres, i, v) {
        int bit = json_is_string(v) ? rw_rules_presence_bit(json_string_value(v)) : 0;
        if (!bit)
            return fail(pe, "presence '%s' is not available, busy, away, in_meeting, dnd or offline",
                        json_is_string(v) ? json_string_value(v) : "?");
        r->presence |= (uint8_t) bit;
    }
    return parse_numbers(json_object_get(jr, "callers"), plan, r->callers, &r->n_callers, pe);
}

static int parse_ring(json_t *jr, rw_rule_t *r, perr_t *pe)
{
    json_t *ring = json_object_get(jr, "ring"), *v;
    const char *mode = jstr(jr, "mode");
    size_t i;
    if (!json_is_array(ring) || json_array_size(ring) == 0 || json_array_size(ring) > RW_RULES_MAX_RING)
        return fail(pe, "%s needs 1-6 devices", "ring");
    if (mode && strcmp(mode, "parallel") && strcmp(mode, "sequential"))
        return fail(pe, "mode '%s' is not parallel or sequential", mode);
    r->sequential = mode && !strcmp(mode, "sequential");
    json_array_foreach(ring, i, v) {
        const char *dev = json_is_string(v) ? json_string_value(v) : jstr(v, "device");
        json_int_t secs = json_integer_value(json_object_get(v, "secs"));
        if (!dev || !dev[0] || strlen(dev) >= 32)
            return fail(pe, "%s: each entry needs a device id", "ring");
        if (secs < 0 || secs > 600)
            return fail(pe, "ring time of '%s' must be 0-600 s", dev);
        snprintf(r->ring[r->n_ring].device, 32, "%s", dev);
        r->ring[r->n_ring++].secs = (uint16_t) secs;
    }
    return 0;
}

static int parse_action(json_t *jr, const rw_numplan_t *plan, rw_rule_t *r, perr_t *pe)
{
    const char *act = jstr(jr, "action"), *on = jstr(jr, "on"), *to = jstr(jr, "to");
    static const char *const ons[] = { "always", "busy", "no_answer", "unreachable" };
    if (!act)
        return fail(pe, "%s is missing (ring, divert or dnd)", "action");
    if (!strcmp(act, "ring")) {
        r->action = RW_ACT_RING;
        return parse_ring(jr, r, pe);
    }
    if (!strcmp(act, "dnd")) {
        r->action = RW_ACT_DND;
        return parse_numbers(json_object_get(jr, "except"), plan, r->except, &r->n_except, pe);
    }
    if (strcmp(act, "divert"))
        return fail(pe, "action '%s' is not ring, divert or dnd", act);
    r->action = RW_ACT_DIVERT;
    r->on = RW_ON_ALWAYS;
    if (on) {
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(on, ons[i]))
                k = i;
        if (k < 0)
            return fail(pe, "on '%s' is not always, busy, no_answer or unreachable", on);
        r->on = (rw_rule_on_t) k;
    }
    json_int_t after = json_integer_value(json_object_get(jr, "after"));
    if (after < 0 || after > 600)
        return fail(pe, "%s must be 0-600 seconds", "after");
    r->after_s = (uint16_t) after;
    if (!to || rw_rules_parse_dest(to, plan, &r->to) < 0)
        return fail(pe, "to '%s' is not a device, user:<id>, a number or voicemail", to ? to : "");
    if (r->to.kind == RW_DEST_USER && jstr(jr, "ext"))
        snprintf(r->to.ext, sizeof r->to.ext, "%s", jstr(jr, "ext"));
    return 0;
}

static int parse_set(json_t *arr, const char *name, const rw_numplan_t *plan, rw_rule_set_t *set,
                     perr_t *pe)
{
    json_t *jr;
    size_t i;
    char path[96];
    snprintf(set->name, sizeof set->name, "%s", name);
    set->n_rules = 0;
    if (!json_is_array(arr) || json_array_size(arr) > RW_RULES_MAX_PER_SET)
        return snprintf(pe->err, pe->len, "%s: must be a list of at most %d rules", name,
                        RW_RULES_MAX_PER_SET), RW_EINVAL;
    json_array_foreach(arr, i, jr) {
        rw_rule_t *r = &set->rules[set->n_rules++];
        const char *rname = jstr(jr, "name");
        memset(r, 0, sizeof *r);
        snprintf(path, sizeof path, "%s[%zu]", name, i);
        pe->path = path;
        if (!json_is_object(jr))
            return fail(pe, "%s", "not an object");
        snprintf(r->name, sizeof r->name, "%s", rname ? rname : "");
        if (!r->name[0])
            snprintf(r->name, sizeof r->name, "%s#%zu", name, i + 1);
        int rc = parse_conditions(jr, plan, r, pe);
        if (rc == 0)
            rc = parse_action(jr, plan, r, pe);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_root(json_t *root, const rw_numplan_t *plan, bool active_only, rw_settings_t *out,
                      perr_t *pe)
{
    const char *active = jstr(root, "active"), *pname;
    json_t *profiles = json_object_get(root, "profiles"), *pinned = json_object_get(root, "pinned"), *arr;
    if (!json_is_object(root))
        return snprintf(pe->err, pe->len, "settings must be a JSON object"), RW_EINVAL;
    if (active && strlen(active) >= sizeof out->active)
        return snprintf(pe->err, pe->len, "active profile name is too long"), RW_EINVAL;
    snprintf(out->active, sizeof out->active, "%s", active ? active : "");
    if (pinned && parse_set(pinned, "pinned", plan, &out->pinned, pe) < 0)
        return RW_EINVAL;
    snprintf(out->pinned.name, sizeof out->pinned.name, "pinned");
    if (profiles && !json_is_object(profiles))
        return snprintf(pe->err, pe->len, "profiles must be an object of name -> rules"), RW_EINVAL;
    json_object_foreach(profiles, pname, arr) {
        if (active_only && strcmp(pname, out->active))
            continue;
        if (out->n_profiles == RW_RULES_MAX_PROFILES || strlen(pname) >= 32 || !pname[0])
            return snprintf(pe->err, pe->len, "at most %d profiles, names 1-31 characters",
                            RW_RULES_MAX_PROFILES), RW_EINVAL;
        if (parse_set(arr, pname, plan, &out->profiles[out->n_profiles++], pe) < 0)
            return RW_EINVAL;
    }
    if (out->active[0] && !rw_rules_active(out))
        return snprintf(pe->err, pe->len, "active profile '%s' does not exist", out->active), RW_EINVAL;
    return 0;
}

int rw_rules_parse(const char *json, const rw_numplan_t *plan, bool active_only,
                   rw_settings_t *out, char *err, size_t err_len)
{
    json_error_t jerr;
    perr_t pe = { err, err_len, "settings" };
    /* Each set and rule is zeroed as it is started: zeroing all 60 KB here would cost more
     * than the parse (the router parses every user it has not seen yet). */
    memset(out->active, 0, sizeof out->active);
    memset(out->pinned.name, 0, sizeof out->pinned.name);
    out->pinned.n_rules = 0;
    out->n_profiles = 0;
    if (!json || !json[0])
        return 0;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return snprintf(err, err_len, "settings: %d:%d: %s", jerr.line, jerr.column, jerr.text), RW_EINVAL;
    int rc = parse_root(root, plan, active_only, out, &pe);
    json_decref(root);
    return rc;
}

const rw_rule_set_t *rw_rules_active(const rw_settings_t *s)
{
    for (uint8_t i = 0; i < s->n_profiles; i++)
        if (!strcmp(s->profiles[i].name, s->active))
            return &s->profiles[i];
    return NULL;
}
