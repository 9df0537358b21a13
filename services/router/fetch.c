/* services/router/fetch.c — the decision's Redis script and its reply parser (fetch.h). */
#include "services/router/fetch.h"
#include "services/router/schedule.h"
#include "common/err.h"
#include "common/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV[1] "num" (KEYS[1] = rw:num:<n>) or "id" (KEYS[1] = user id); ARGV[2] = the trunk table
 * version the router holds. Reply: nil, or {id, ext, name, realm, tz, settings, ver,
 * {dev, "kind address", ...}, {live per device}, {presence, until_ms},
 * {divert start_ms, end_ms, to, ext}, trunk_ver, trunks or nil}. */
const char rw_router_lookup_lua[] =
    "local id = KEYS[1]\n"
    "if ARGV[1] ~= 'id' then id = redis.call('GET', KEYS[1]) end\n"
    "if not id then return false end\n"
    "local uk = 'rw:user:' .. id\n"
    "local u = redis.call('HMGET', uk, 'ext', 'name', 'realm', 'tz', 'settings', 'ver')\n"
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
    "return {id, u[1], u[2] or '', u[3] or '', u[4] or '', u[5] or '', u[6] or '0', devs, live,\n"
    "  {p[1] or '', p[2] or '0'}, {d[1] or '0', d[2] or '0', d[3] or '', d[4] or ''}, tv, trunks}\n";

#define CACHE_SLOTS 256

typedef struct {
    char id[64];
    char ver[24];
    rw_settings_t settings;          /* pinned + active profile only */
} cache_slot_t;

struct rw_router_cache {
    cache_slot_t *slots[CACHE_SLOTS];
    char trunk_ver[24];
};

rw_router_cache_t *rw_router_cache_new(void)
{
    rw_router_cache_t *c = calloc(1, sizeof *c);
    if (c)
        snprintf(c->trunk_ver, sizeof c->trunk_ver, "-");
    return c;
}

void rw_router_cache_destroy(rw_router_cache_t **pself)
{
    rw_router_cache_t *c = pself ? *pself : NULL;
    if (!c)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(c->slots[i]);
    free(c);
    *pself = NULL;
}

const char *rw_router_cache_trunk_ver(const rw_router_cache_t *c)
{
    return c->trunk_ver;
}

static const char *str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char) *s++) * 16777619u;
    return h % CACHE_SLOTS;
}

static const rw_settings_t *settings_for(rw_router_cache_t *c, const rw_numplan_t *np,
                                         const char *id, const char *json, const char *ver)
{
    char err[256];
    if (!json[0])
        return NULL;
    cache_slot_t **slot = &c->slots[hash(id)];
    if (*slot && !strcmp((*slot)->id, id) && !strcmp((*slot)->ver, ver))
        return &(*slot)->settings;
    if (!*slot && !(*slot = malloc(sizeof **slot)))
        return NULL;
    snprintf((*slot)->id, sizeof (*slot)->id, "%s", id);
    snprintf((*slot)->ver, sizeof (*slot)->ver, "%s", ver);
    if (rw_rules_parse(json, np, true, &(*slot)->settings, err, sizeof err) < 0) {
        rw_log_warn("settings_unreadable", RW_S("user", id), RW_S("error", err));
        (*slot)->id[0] = '\0';
        return NULL;
    }
    return &(*slot)->settings;
}

static int cmp_trunk(const void *a, const void *b)
{
    return ((const rw_router_trunk_t *) a)->order - ((const rw_router_trunk_t *) b)->order;
}

static void parse_trunks(const redisReply *t, rw_router_policy_t *pol)
{
    pol->n_trunks = 0;
    for (size_t i = 0; i + 1 < t->elements && pol->n_trunks < RW_ROUTER_MAX_TRUNKS; i += 2) {
        rw_router_trunk_t *tr = &pol->trunks[pol->n_trunks];
        json_t *j = json_loads(str(t->element[i + 1]), 0, NULL), *p;
        size_t k;
        memset(tr, 0, sizeof *tr);
        snprintf(tr->name, sizeof tr->name, "%s", str(t->element[i]));
        tr->order = (int) json_integer_value(json_object_get(j, "order"));
        json_array_foreach(json_object_get(j, "prefixes"), k, p)
            if (k < 4)
                snprintf(tr->prefixes[k], sizeof tr->prefixes[k], "%s", json_string_value(p) ? json_string_value(p) : "");
        json_decref(j);
        pol->n_trunks++;
    }
    qsort(pol->trunks, pol->n_trunks, sizeof pol->trunks[0], cmp_trunk);
}

static void parse_devices(const redisReply *devs, const redisReply *live, rw_router_user_t *u)
{
    for (size_t i = 0; devs->type == REDIS_REPLY_ARRAY && i + 1 < devs->elements &&
                       u->n_devices < RW_ROUTER_MAX_DEVICES; i += 2) {
        const char *val = str(devs->element[i + 1]), *sp = strchr(val, ' ');
        size_t n = u->n_devices++, idx = i / 2;
        snprintf(u->devices[n].id, sizeof u->devices[n].id, "%s", str(devs->element[i]));
        snprintf(u->devices[n].kind, sizeof u->devices[n].kind, "%.*s",
                 sp ? (int) (sp - val) : (int) strlen(val), val);
        snprintf(u->devices[n].address, sizeof u->devices[n].address, "%s", sp ? sp + 1 : "");
        u->devices[n].live = live->type == REDIS_REPLY_ARRAY && idx < live->elements &&
                             live->element[idx]->type == REDIS_REPLY_INTEGER
                             ? (live->element[idx]->integer ? 1 : -1) : 0;
    }
}

int rw_router_fetch_parse(rw_router_cache_t *c, const rw_numplan_t *np, const redisReply *rep,
                          uint64_t now_ms, rw_router_user_t *u, rw_router_policy_t *pol)
{
    rw_local_time_t lt;
    memset(u, 0, sizeof *u);
    if (rep->type == REDIS_REPLY_NIL)
        return RW_ENOTFOUND;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 12)
        return RW_EPROTO;
    for (int i = 7; i <= 10; i++)
        if (rep->element[i]->type != REDIS_REPLY_ARRAY)
            return RW_EPROTO;
    snprintf(u->id, sizeof u->id, "%s", str(rep->element[0]));
    snprintf(u->ext, sizeof u->ext, "%s", str(rep->element[1]));
    snprintf(u->name, sizeof u->name, "%s", str(rep->element[2]));
    snprintf(u->realm, sizeof u->realm, "%s", str(rep->element[3]));
    snprintf(u->tz, sizeof u->tz, "%s", str(rep->element[4]));
    u->settings = settings_for(c, np, u->id, str(rep->element[5]), str(rep->element[6]));
    parse_devices(rep->element[7], rep->element[8], u);
    const redisReply *p = rep->element[9], *d = rep->element[10];
    if (p->elements == 2) {
        uint64_t until = strtoull(str(p->element[1]), NULL, 10);
        if (!until || now_ms < until)
            snprintf(u->presence, sizeof u->presence, "%s", str(p->element[0]));
    }
    if (d->elements == 4) {
        uint64_t start = strtoull(str(d->element[0]), NULL, 10), end = strtoull(str(d->element[1]), NULL, 10);
        if (start <= now_ms && now_ms < end && rw_rules_parse_dest(str(d->element[2]), np, &u->divert_to) == 0)
            snprintf(u->divert_to.ext, sizeof u->divert_to.ext, "%s", str(d->element[3]));
    }
    if (rep->elements > 12 && rep->element[12]->type == REDIS_REPLY_ARRAY) {
        parse_trunks(rep->element[12], pol);
        snprintf(c->trunk_ver, sizeof c->trunk_ver, "%s", str(rep->element[11]));
    }
    rw_schedule_local(u->tz, now_ms, &lt);
    u->local_wday = lt.wday;
    u->local_min = lt.minute;
    snprintf(u->local_text, sizeof u->local_text, "%s", lt.text);
    return u->id[0] && u->ext[0] ? 0 : RW_EPROTO;
}
