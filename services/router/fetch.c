/* services/router/fetch.c — the decision's Redis script and its reply parser (fetch.h). */
#include "services/router/fetch.h"
#include "services/router/schedule.h"
#include "common/err.h"
#include "common/log.h"
#include "protocols/codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ARGV[1] "num" (KEYS[1] = rw:num:<n>) or "id" (KEYS[1] = user id); ARGV[2] = the trunk table
 * version the router holds; ARGV[3] (optional) = the extension of a colleague calling from
 * their device. Reply: nil, or one string, a msgpack array (fields F_* below):
 * [id, ext, name, realm, tz, settings, [dev, "kind address", ...], [live per device],
 * presence, until_ms, divert start_ms, end_ms, to, ext, trunk_ver, [trunk, json, ...] or false,
 * the calling colleague's public number, or "" (looked up only when the callee's settings
 * name "callers" or "except", the only rules that read it)].
 * One bulk string costs hiredis one object instead of some thirty: less to parse and free.
 * A hunt group's number (rw:num:<n> = "group:<id>") answers a shorter array instead:
 * ["group", id, ext, name, overflow, trunk_ver, [trunk, json, ...] or false]. */
const char rw_router_lookup_lua[] =
    "local id = KEYS[1]\n"
    "if ARGV[1] ~= 'id' then id = redis.call('GET', KEYS[1]) end\n"
    "if not id then return false end\n"
    "if string.sub(id, 1, 6) == 'group:' then\n"
    "  local gid = string.sub(id, 7)\n"
    "  local g = redis.call('HMGET', 'rw:group:' .. gid, 'ext', 'name', 'overflow')\n"
    "  if not g[1] then return false end\n"
    "  local gv = redis.call('GET', 'rw:trunks:ver') or '0'\n"
    "  local gt = false\n"
    "  if gv ~= ARGV[2] then gt = redis.call('HGETALL', 'rw:trunks') end\n"
    "  return cmsgpack.pack({'group', gid, g[1], g[2] or '', g[3] or 'busy', gv, gt})\n"
    "end\n"
    "local uk = 'rw:user:' .. id\n"
    "local u = redis.call('HMGET', uk, 'ext', 'name', 'realm', 'tz', 'settings')\n"
    "if not u[1] then return false end\n"
    "local devs = redis.call('HGETALL', uk .. ':devices')\n"
    "local live = {}\n"
    "for i = 2, #devs, 2 do\n"
    "  local k, a = string.match(devs[i], '^(%S+) ?(.*)$')\n"
    "  if k == 'sip' then\n"
    "    if a == '' then a = 'sip:' .. u[1] .. '@' .. (u[3] or '') end\n"
    "    live[#live + 1] = redis.call('EXISTS', 'rw:loc:' .. a)\n"
    "  else live[#live + 1] = 1 end\n"
    "end\n"
    "local p = redis.call('HMGET', 'rw:presence:' .. id, 'state', 'until_ms')\n"
    "local d = redis.call('HMGET', 'rw:divert:' .. id, 'start_ms', 'end_ms', 'to', 'ext')\n"
    "local tv = redis.call('GET', 'rw:trunks:ver') or '0'\n"
    "local trunks = false\n"
    "if tv ~= ARGV[2] then trunks = redis.call('HGETALL', 'rw:trunks') end\n"
    "local alt = ''\n"
    "if ARGV[3] and ARGV[3] ~= '' and u[5] and (string.find(u[5], '\"callers\"', 1, true)\n"
    "    or string.find(u[5], '\"except\"', 1, true)) then\n"
    "  local cid = redis.call('GET', 'rw:num:' .. ARGV[3])\n"
    "  if cid then alt = redis.call('HGET', 'rw:user:' .. cid, 'number') or '' end\n"
    "end\n"
    "return cmsgpack.pack({id, u[1], u[2] or '', u[3] or '', u[4] or '', u[5] or '', devs, live,\n"
    "  p[1] or '', p[2] or '0', d[1] or '0', d[2] or '0', d[3] or '', d[4] or '', tv, trunks, alt})\n";

/* Rules hold callers in E.164 (or as extensions, or "anonymous"): a caller presented in the
 * national format or as a SIP URI is compared in E.164, "Anonymous" as "anonymous". */
static void normalise_caller(const rw_numplan_t *np, rw_route_req_t *rq)
{
    char norm[sizeof rq->caller];
    rw_num_kind_t kind;
    if (!strcasecmp(rq->caller, "anonymous"))
        rw_plan_copy(rq->caller, sizeof rq->caller, "anonymous");
    else if (rw_e164_normalise(np, rq->caller, norm, sizeof norm, &kind) == 0)
        rw_plan_copy(rq->caller, sizeof rq->caller, norm);
}

/* A caller authenticated on a device presents their extension (`ringway explain` stands for
 * one): the script finds their public number too. Never for trunk callers, who could present
 * any digits. "" when the caller is not such a colleague. */
static const char *colleague_ext(const rw_route_req_t *rq)
{
    const char *caller = rq->caller;
    bool device = !strcmp(rq->source, "device") || !strcmp(rq->source, "cli");
    return device && caller[0] && strspn(caller, "0123456789") == strlen(caller) ? caller : "";
}

void rw_router_lookup_args(const rw_numplan_t *np, rw_route_req_t *rq, const char *trunk_ver,
                           char *key, size_t key_size, const char *args[4])
{
    char norm[64];
    rw_num_kind_t kind;
    normalise_caller(np, rq);
    /* A callee that is no valid number is looked up as given: it simply matches nobody. */
    if (rw_e164_normalise(np, rq->callee, norm, sizeof norm, &kind) < 0)
        rw_plan_copy(norm, sizeof norm, rq->callee);
    memcpy(key, "rw:num:", 7);       /* key_size > 7: every caller passes a buffer of 64 or more */
    rw_plan_copy(key + 7, key_size - 7, norm);
    args[0] = key;
    args[1] = "num";
    args[2] = trunk_ver;
    args[3] = colleague_ext(rq);
}

enum { F_ID, F_EXT, F_NAME, F_REALM, F_TZ, F_SETTINGS, F_DEVS, F_LIVE, F_PRES, F_PRES_UNTIL,
       F_DIV_START, F_DIV_END, F_DIV_TO, F_DIV_EXT, F_TRUNK_VER, F_TRUNKS, F_CALLER_NUMBER, N_FIELDS };
/* A hunt group's reply. */
enum { G_TAG, G_ID, G_EXT, G_NAME, G_OVERFLOW, G_TRUNK_VER, G_TRUNKS, N_GROUP_FIELDS };

/* Parsed settings per user. A hit needs the same user id and byte-for-byte the same settings
 * text as the reply carries (the script reads the settings on every decision), so a change is
 * seen by the very next decision whoever wrote it, with or without a version bump. An entry
 * keeps only the pinned rules and the active profile's, copied into `view` on a hit. */
#define CACHE_BUCKETS 16384                  /* power of two */

typedef struct entry {
    struct entry *next;                      /* bucket chain */
    struct entry *older, *newer;             /* insertion order */
    unsigned hash;
    size_t bytes, json_len;
    char *json;                              /* the settings text, after the rules */
    bool bad;                                /* did not parse: the user has no rules */
    char id[64], active[32], profile[32];
    uint8_t n_pinned, n_profile, has_profile;
    rw_rule_t rules[];                       /* pinned, then the active profile's */
} entry_t;

struct rw_router_cache {
    entry_t *buckets[CACHE_BUCKETS];
    entry_t *oldest, *newest;
    size_t bytes, max_bytes;
    rw_router_cache_stats_t st;
    rw_settings_t parsed;                    /* a miss parses here */
    rw_settings_t view;                      /* u->settings of the last decision */
    char *text;                              /* a miss: the settings NUL-terminated */
    size_t text_size;
    msgpack_zone zone;                       /* the reply's arrays; cleared, not freed */
    char trunk_ver[24];
};

rw_router_cache_t *rw_router_cache_new(size_t max_bytes)
{
    rw_router_cache_t *c = calloc(1, sizeof *c);
    if (c && !msgpack_zone_init(&c->zone, 4096)) {
        free(c);
        return NULL;
    }
    if (c) {
        c->max_bytes = max_bytes ? max_bytes : RW_ROUTER_CACHE_BYTES;
        snprintf(c->trunk_ver, sizeof c->trunk_ver, "-");
        snprintf(c->view.pinned.name, sizeof c->view.pinned.name, "pinned");
    }
    return c;
}

void rw_router_cache_destroy(rw_router_cache_t **pself)
{
    rw_router_cache_t *c = pself ? *pself : NULL;
    if (!c)
        return;
    for (entry_t *e = c->oldest, *next; e; e = next) {
        next = e->newer;
        free(e);
    }
    msgpack_zone_destroy(&c->zone);
    free(c->text);
    free(c);
    *pself = NULL;
}

const char *rw_router_cache_trunk_ver(const rw_router_cache_t *c)
{
    return c->trunk_ver;
}

void rw_router_cache_stats(const rw_router_cache_t *c, rw_router_cache_stats_t *out)
{
    *out = c->st;
    out->bytes = c->bytes;
}

static bool is_str(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR;
}

/* A string object into dst (size bytes), cut to fit, NUL-terminated; "" for anything else. */
static void copy(char *dst, size_t size, const msgpack_object *o)
{
    size_t n = is_str(o) ? o->via.str.size : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
}

/* Digits in a string (Redis hash values) or an integer; 0 for anything else. */
static uint64_t num(const msgpack_object *o)
{
    char buf[24];
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return o->via.u64;
    copy(buf, sizeof buf, o);
    return strtoull(buf, NULL, 10);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char) *s++) * 16777619u;
    return h;
}

static void unlink_entry(rw_router_cache_t *c, entry_t *e)
{
    entry_t **pp = &c->buckets[e->hash & (CACHE_BUCKETS - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->bytes -= e->bytes;
    c->st.entries--;
    free(e);
}

/* An entry for what c->parsed holds (bad: it did not parse). NULL on no memory. */
static entry_t *entry_new(rw_router_cache_t *c, const char *id, unsigned h, const char *json,
                          size_t json_len, bool bad)
{
    const rw_rule_set_t *prof = bad ? NULL : rw_rules_active(&c->parsed);
    size_t n_pinned = bad ? 0 : c->parsed.pinned.n_rules, n_prof = prof ? prof->n_rules : 0;
    size_t bytes = sizeof (entry_t) + (n_pinned + n_prof) * sizeof (rw_rule_t) + json_len + 1;
    entry_t *e = malloc(bytes);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->bytes = bytes;
    e->bad = bad;
    e->json = (char *) &e->rules[n_pinned + n_prof];
    e->json_len = json_len;
    memcpy(e->json, json, json_len);
    e->json[json_len] = '\0';
    rw_plan_copy(e->id, sizeof e->id, id);
    memcpy(e->active, c->parsed.active, sizeof e->active);
    e->n_pinned = (uint8_t) n_pinned;
    memcpy(e->rules, c->parsed.pinned.rules, n_pinned * sizeof (rw_rule_t));
    if (prof) {
        e->has_profile = 1;
        e->n_profile = (uint8_t) n_prof;
        memcpy(e->profile, prof->name, sizeof e->profile);
        memcpy(&e->rules[n_pinned], prof->rules, n_prof * sizeof (rw_rule_t));
    }
    return e;
}

static void insert(rw_router_cache_t *c, entry_t *e)
{
    entry_t **bucket = &c->buckets[e->hash & (CACHE_BUCKETS - 1)];
    e->next = *bucket;
    *bucket = e;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->bytes += e->bytes;
    c->st.entries++;
    while (c->bytes > c->max_bytes && c->oldest != e) {
        unlink_entry(c, c->oldest);
        c->st.evictions++;
    }
}

/* The settings an entry stands for, in c->view (no more than the rules it holds is copied). */
static const rw_settings_t *view_of(rw_router_cache_t *c, const entry_t *e)
{
    rw_settings_t *v = &c->view;
    if (e->bad)
        return NULL;
    memcpy(v->active, e->active, sizeof v->active);
    v->pinned.n_rules = e->n_pinned;
    memcpy(v->pinned.rules, e->rules, e->n_pinned * sizeof (rw_rule_t));
    v->n_profiles = e->has_profile;
    if (e->has_profile) {
        memcpy(v->profiles[0].name, e->profile, sizeof v->profiles[0].name);
        v->profiles[0].n_rules = e->n_profile;
        memcpy(v->profiles[0].rules, &e->rules[e->n_pinned], e->n_profile * sizeof (rw_rule_t));
    }
    return v;
}

/* The text NUL-terminated in c->text (the parser wants a C string); NULL on no memory. */
static const char *terminated(rw_router_cache_t *c, const char *s, size_t len)
{
    if (len + 1 > c->text_size) {
        char *t = realloc(c->text, len + 1);
        if (!t)
            return NULL;
        c->text = t;
        c->text_size = len + 1;
    }
    memcpy(c->text, s, len);
    c->text[len] = '\0';
    return c->text;
}

static const rw_settings_t *settings_for(rw_router_cache_t *c, const rw_numplan_t *np,
                                         const char *id, const msgpack_object *o)
{
    char err[256];
    if (!is_str(o) || o->via.str.size == 0)
        return NULL;
    const char *json = o->via.str.ptr;   /* not NUL-terminated: it points into the reply */
    size_t len = o->via.str.size;
    unsigned h = hash(id);
    entry_t *e = c->buckets[h & (CACHE_BUCKETS - 1)];
    while (e && (e->hash != h || strcmp(e->id, id)))
        e = e->next;
    if (e && e->json_len == len && !memcmp(e->json, json, len)) {
        c->st.hits++;
        return view_of(c, e);
    }
    c->st.misses++;
    if (e)
        unlink_entry(c, e);          /* the settings changed */
    const char *z = terminated(c, json, len);
    bool bad = !z || rw_rules_parse(z, np, true, &c->parsed, err, sizeof err) < 0;
    if (!z)
        snprintf(err, sizeof err, "no memory");
    if (bad)                         /* logged once per change: the entry remembers it */
        rw_log_warn("settings_unreadable", RW_S("user", id), RW_S("error", err));
    if (!(e = entry_new(c, id, h, json, len, bad)))
        return bad ? NULL : &c->parsed;
    insert(c, e);
    return view_of(c, e);
}

static int cmp_trunk(const void *a, const void *b)
{
    return ((const rw_router_trunk_t *) a)->order - ((const rw_router_trunk_t *) b)->order;
}

static void parse_trunks(const msgpack_object_array *t, rw_router_policy_t *pol)
{
    pol->n_trunks = 0;
    for (size_t i = 0; i + 1 < t->size && pol->n_trunks < RW_ROUTER_MAX_TRUNKS; i += 2) {
        rw_router_trunk_t *tr = &pol->trunks[pol->n_trunks];
        const msgpack_object *v = &t->ptr[i + 1];
        json_t *j = is_str(v) ? json_loadb(v->via.str.ptr, v->via.str.size, 0, NULL) : NULL, *p;
        size_t k;
        memset(tr, 0, sizeof *tr);
        copy(tr->name, sizeof tr->name, &t->ptr[i]);
        tr->order = (int) json_integer_value(json_object_get(j, "order"));
        json_array_foreach(json_object_get(j, "prefixes"), k, p)
            if (k < 4)
                snprintf(tr->prefixes[k], sizeof tr->prefixes[k], "%s", json_string_value(p) ? json_string_value(p) : "");
        json_decref(j);
        pol->n_trunks++;
    }
    qsort(pol->trunks, pol->n_trunks, sizeof pol->trunks[0], cmp_trunk);
}

static void parse_devices(const msgpack_object_array *devs, const msgpack_object_array *live,
                          rw_router_user_t *u)
{
    u->n_devices = 0;
    for (size_t i = 0; i + 1 < devs->size && u->n_devices < RW_ROUTER_MAX_DEVICES; i += 2) {
        const msgpack_object *v = &devs->ptr[i + 1];
        const char *val = is_str(v) ? v->via.str.ptr : "";
        size_t len = is_str(v) ? v->via.str.size : 0, n = u->n_devices++, idx = i / 2;
        const char *sp = memchr(val, ' ', len);
        size_t kind = sp ? (size_t) (sp - val) : len, addr = sp ? len - kind - 1 : 0;
        copy(u->devices[n].id, sizeof u->devices[n].id, &devs->ptr[i]);
        if (kind >= sizeof u->devices[n].kind)
            kind = sizeof u->devices[n].kind - 1;
        memcpy(u->devices[n].kind, val, kind);
        u->devices[n].kind[kind] = '\0';
        if (addr >= sizeof u->devices[n].address)
            addr = sizeof u->devices[n].address - 1;
        if (addr)
            memcpy(u->devices[n].address, sp + 1, addr);
        u->devices[n].address[addr] = '\0';
        u->devices[n].live = idx < live->size && live->ptr[idx].type == MSGPACK_OBJECT_POSITIVE_INTEGER
                             ? (live->ptr[idx].via.u64 ? 1 : -1) : 0;
    }
}

/* Presence and calendar divert in force at now_ms. */
static void parse_state(const msgpack_object *f, const rw_numplan_t *np, uint64_t now_ms,
                        rw_router_user_t *u)
{
    char to[96];
    u->presence[0] = '\0';
    memset(&u->divert_to, 0, sizeof u->divert_to);
    uint64_t until = num(&f[F_PRES_UNTIL]), start = num(&f[F_DIV_START]), end = num(&f[F_DIV_END]);
    if (!until || now_ms < until)
        copy(u->presence, sizeof u->presence, &f[F_PRES]);
    copy(to, sizeof to, &f[F_DIV_TO]);
    if (start <= now_ms && now_ms < end && rw_rules_parse_dest(to, np, &u->divert_to) == 0)
        copy(u->divert_to.ext, sizeof u->divert_to.ext, &f[F_DIV_EXT]);
}

/* The reply's fields, unpacked into c->zone (strings point into the reply); *group is set
 * when the reply is a hunt group's (N_GROUP_FIELDS fields, G_*). */
static int unpack(rw_router_cache_t *c, const redisReply *rep, const msgpack_object **fields, bool *group)
{
    msgpack_object root;
    size_t off = 0;
    if (rep->type != REDIS_REPLY_STRING || rw_mp_prescan(rep->str, rep->len) != 0)
        return RW_EPROTO;
    msgpack_zone_clear(&c->zone);
    if (msgpack_unpack(rep->str, rep->len, &off, &c->zone, &root) != MSGPACK_UNPACK_SUCCESS ||
        root.type != MSGPACK_OBJECT_ARRAY)
        return RW_EPROTO;
    const msgpack_object *f = root.via.array.ptr;
    *group = root.via.array.size == N_GROUP_FIELDS && is_str(&f[G_TAG]) && f[G_TAG].via.str.size == 5
             && !memcmp(f[G_TAG].via.str.ptr, "group", 5);
    if (!*group && (root.via.array.size != N_FIELDS || f[F_DEVS].type != MSGPACK_OBJECT_ARRAY ||
                    f[F_LIVE].type != MSGPACK_OBJECT_ARRAY))
        return RW_EPROTO;
    *fields = f;
    return 0;
}

/* A hunt group: its id, extension, name and overflow; no devices, no settings. */
static int parse_group(rw_router_cache_t *c, const msgpack_object *f, rw_router_user_t *u,
                       rw_router_policy_t *pol)
{
    copy(u->group, sizeof u->group, &f[G_ID]);
    copy(u->id, sizeof u->id, &f[G_ID]);
    copy(u->ext, sizeof u->ext, &f[G_EXT]);
    copy(u->name, sizeof u->name, &f[G_NAME]);
    copy(u->group_overflow, sizeof u->group_overflow, &f[G_OVERFLOW]);
    u->realm[0] = u->tz[0] = u->presence[0] = u->caller_number[0] = u->local_text[0] = '\0';
    memset(&u->divert_to, 0, sizeof u->divert_to);
    if (f[G_TRUNKS].type == MSGPACK_OBJECT_ARRAY) {
        parse_trunks(&f[G_TRUNKS].via.array, pol);
        copy(c->trunk_ver, sizeof c->trunk_ver, &f[G_TRUNK_VER]);
    }
    return u->group[0] && u->ext[0] ? 0 : RW_EPROTO;
}

int rw_router_fetch_parse(rw_router_cache_t *c, const rw_numplan_t *np, const redisReply *rep,
                          uint64_t now_ms, rw_router_user_t *u, rw_router_policy_t *pol)
{
    rw_local_time_t lt;
    const msgpack_object *f = NULL;
    /* Only the fields below are set: zeroing the whole user (6 KB) each decision is not needed. */
    bool group = false;
    u->id[0] = u->ext[0] = u->group[0] = '\0';
    u->n_devices = 0;
    u->settings = NULL;
    if (rep->type == REDIS_REPLY_NIL)
        return RW_ENOTFOUND;
    if (unpack(c, rep, &f, &group) < 0)
        return RW_EPROTO;
    if (group)
        return parse_group(c, f, u, pol);
    copy(u->id, sizeof u->id, &f[F_ID]);
    copy(u->ext, sizeof u->ext, &f[F_EXT]);
    copy(u->name, sizeof u->name, &f[F_NAME]);
    copy(u->realm, sizeof u->realm, &f[F_REALM]);
    copy(u->tz, sizeof u->tz, &f[F_TZ]);
    u->settings = settings_for(c, np, u->id, &f[F_SETTINGS]);
    parse_devices(&f[F_DEVS].via.array, &f[F_LIVE].via.array, u);
    parse_state(f, np, now_ms, u);
    copy(u->caller_number, sizeof u->caller_number, &f[F_CALLER_NUMBER]);
    if (f[F_TRUNKS].type == MSGPACK_OBJECT_ARRAY) {
        parse_trunks(&f[F_TRUNKS].via.array, pol);
        copy(c->trunk_ver, sizeof c->trunk_ver, &f[F_TRUNK_VER]);
    }
    rw_schedule_local(u->tz, now_ms, &lt);
    u->local_wday = lt.wday;
    u->local_min = lt.minute;
    _Static_assert(sizeof u->local_text == sizeof lt.text, "local_text holds the local time text");
    memcpy(u->local_text, lt.text, sizeof lt.text);
    return u->id[0] && u->ext[0] ? 0 : RW_EPROTO;
}
