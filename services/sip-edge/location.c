/* services/sip-edge/location.c — the location store: bindings in Redis, a copy in memory.
 * Redis layout (docs/sip-edge.md "Location store"): hash rw:loc:<aor>, field = binding key
 * (+sip.instance or contact URI), value = "<expires_ms>\t<q x1000>\t<contact>\t<path>\t
 * <received>\t<instance>\t<user agent>\t<device>" (values written before devices have no
 * device field: they belong to no device); the key expires 60 s after its last binding. Updates
 * are one Lua script; lookups one HGETALL, on the master, else (not connected, no answer in
 * time, an error) on the replica the master's connection found through the sentinels, else
 * from the cache. The cache keeps each AOR's values joined by '\n'. */
#include "services/sip-edge/location.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "common/sutimer.h"
#include "services/sip-edge/ttlmap.h"

#define CACHE_CAP 65536
#define CACHE_GRACE_MS 60000ULL       /* keep an AOR this long after its last expiry */
#define SWEEP_MS 1000
#define SWEEP_BATCH 32
#define GONE_MAX (2 * RW_LOCATION_MAX_BINDINGS)

/* KEYS[1] rw:loc:<aor>, KEYS[2] rw:user:<id>:devices (only with a device); ARGV: now_ms,
 * remove_all, max, device ("" = none), then field/value pairs (value "" = remove). Returns
 * {-1} when the device is not a sip device of the user ringing this AOR, {0} when too many
 * bindings would be live, else {1, n_gone, kind_1, value_1, ..., live values...} with kind
 * "E" expired, "R" removed. A value's device is its eighth tab-separated field. */
static const char UPDATE_SCRIPT[] =
    "local now, dev = tonumber(ARGV[1]), ARGV[4]\n"
    "if dev ~= '' then\n"
    "  local d = redis.call('HGET', KEYS[2], dev)\n"
    "  if d ~= 'sip ' and d ~= 'sip ' .. string.sub(KEYS[1], 8) then return {-1} end\n"
    "end\n"
    "local function dev_of(v)\n"
    "  return string.match(v, '^' .. string.rep('[^\t]*\t', 7) .. '([^\t]*)') or ''\n"
    "end\n"
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local live, gone, n = {}, {}, 0\n"
    "for i = 1, #all, 2 do\n"
    "  local e = tonumber(string.match(all[i + 1], '^(%d+)')) or 0\n"
    "  if e <= now then gone[#gone + 1] = 'E'; gone[#gone + 1] = all[i + 1]\n"
    "  elseif ARGV[2] == '1' and (dev == '' or dev_of(all[i + 1]) == dev) then\n"
    "    gone[#gone + 1] = 'R'; gone[#gone + 1] = all[i + 1]\n"
    "  else live[all[i]] = all[i + 1]; n = n + 1 end\n"
    "end\n"
    "for i = 5, #ARGV, 2 do\n"
    "  local f, v = ARGV[i], ARGV[i + 1]\n"
    "  if v == '' then\n"
    "    if live[f] then gone[#gone + 1] = 'R'; gone[#gone + 1] = live[f]; live[f] = nil; n = n - 1 end\n"
    "  else\n"
    "    if not live[f] then n = n + 1 end\n"
    "    live[f] = v\n"
    "  end\n"
    "end\n"
    "if n > tonumber(ARGV[3]) then return {0} end\n"
    "redis.call('DEL', KEYS[1])\n"
    "local out, maxe = {1, #gone / 2}, 0\n"
    "for i = 1, #gone do out[#out + 1] = gone[i] end\n"
    "for f, v in pairs(live) do\n"
    "  redis.call('HSET', KEYS[1], f, v)\n"
    "  local e = tonumber(string.match(v, '^(%d+)'))\n"
    "  if e > maxe then maxe = e end\n"
    "  out[#out + 1] = v\n"
    "end\n"
    "if maxe > 0 then redis.call('PEXPIREAT', KEYS[1], maxe + 60000) end\n"
    "return out\n";

typedef struct {                      /* cache value */
    char *blob;                       /* encoded bindings joined by '\n', NULL = none */
    uint64_t min_exp_ms;              /* earliest expiry, 0 = none (or sweep in progress) */
    int owned;                        /* written by this instance: swept for reg.expired */
} cached_t;

enum { OP_LOOKUP, OP_UPDATE, OP_SWEEP };

typedef struct op op_t;
struct op {
    op_t *next, **prev;
    rw_location_t *loc;               /* NULL once the store is destroyed */
    int kind, redis_pending;
    int on_replica;                   /* the lookup went to the replica: no further try there */
    su_timer_t *timer;
    char aor[128];
    rw_location_fn *lookup_fn;
    rw_location_update_fn *update_fn;
    void *arg;
};

struct rw_location {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_redis_script_t *update;        /* UPDATE_SCRIPT, by SHA1 once Redis has it */
    rw_ttlmap_t *cache;
    op_t *pending;
    su_timer_t *sweep;
    rw_location_expired_fn *expired_fn;
    void *expired_arg;
    rw_counter_t *c_cache_hits, *c_redis_errors, *c_expired, *c_replica;
};

static void cached_free(void *v)
{
    cached_t *c = v;
    free(c->blob);
    c->blob = NULL;
}

/* ---- Encoding ------------------------------------------------------------------------- */
static size_t put_field(char *out, size_t len, size_t at, const char *s, int last)
{
    for (; s && *s; s++) {
        char ch = (*s == '\t' || *s == '\r' || *s == '\n') ? ' ' : *s;
        if (at + 1 < len)
            out[at] = ch;
        at++;
    }
    if (!last) {
        if (at + 1 < len)
            out[at] = '\t';
        at++;
    }
    return at;
}

int rw_location_encode(const rw_binding_t *b, char *out, size_t len)
{
    if (!b || !out || len == 0)
        return RW_EINVAL;
    float q = b->q < 0 ? 0 : b->q > 1 ? 1 : b->q;
    int at = snprintf(out, len, "%llu\t%d\t", (unsigned long long) b->expires_ms,
                      (int) (q * 1000.0f + 0.5f));
    if (at < 0 || (size_t) at >= len)
        return RW_ERANGE;
    size_t n = (size_t) at;
    n = put_field(out, len, n, b->contact, 0);
    n = put_field(out, len, n, b->path, 0);
    n = put_field(out, len, n, b->received, 0);
    n = put_field(out, len, n, b->instance, 0);
    n = put_field(out, len, n, b->user_agent, 0);
    n = put_field(out, len, n, b->device, 1);
    if (n >= len)
        return RW_ERANGE;
    out[n] = '\0';
    return (int) n;
}

static void take(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

int rw_location_decode(const char *aor, const char *val, size_t len, rw_binding_t *b)
{
    if (!aor || !val || !b)
        return RW_EINVAL;
    memset(b, 0, sizeof *b);
    take(b->aor, sizeof b->aor, aor, strlen(aor));
    const char *p = val, *end = val + len;
    const char *f[8];
    size_t fl[8];
    int nf = 0, more = 1;
    for (; nf < 8 && more; nf++) {           /* 7 fields (no device) or 8; more are ignored */
        const char *t = memchr(p, '\t', (size_t) (end - p));
        f[nf] = p;
        fl[nf] = (size_t) ((t ? t : end) - p);
        more = t != NULL;
        if (t)
            p = t + 1;
    }
    if (nf < 7)
        return RW_EPROTO;
    char num[24];
    if (fl[0] == 0 || fl[0] >= sizeof num || fl[1] == 0 || fl[1] >= sizeof num || fl[2] == 0
        || strspn(f[0], "0123456789") < fl[0] || strspn(f[1], "0123456789") < fl[1])
        return RW_EPROTO;
    take(num, sizeof num, f[0], fl[0]);
    b->expires_ms = strtoull(num, NULL, 10);
    take(num, sizeof num, f[1], fl[1]);
    b->q = (float) atoi(num) / 1000.0f;
    take(b->contact, sizeof b->contact, f[2], fl[2]);
    take(b->path, sizeof b->path, f[3], fl[3]);
    take(b->received, sizeof b->received, f[4], fl[4]);
    take(b->instance, sizeof b->instance, f[5], fl[5]);
    take(b->user_agent, sizeof b->user_agent, f[6], fl[6]);
    if (nf == 8)
        take(b->device, sizeof b->device, f[7], fl[7]);
    return RW_OK;
}

int rw_location_binding_rings(const rw_binding_t *b, const char *device)
{
    return !device || !device[0] || !strcmp(b->device, device);
}

const char *rw_location_binding_key(const rw_binding_t *b)
{
    return b->instance[0] ? b->instance : b->contact;
}

static int by_q(const void *x, const void *y)
{
    const rw_binding_t *a = x, *b = y;
    if (a->q != b->q)
        return a->q > b->q ? -1 : 1;
    return a->expires_ms > b->expires_ms ? -1 : a->expires_ms < b->expires_ms;
}

/* ---- The cache ------------------------------------------------------------------------ */
/* Stores the live values (vals[i], lens[i]) of aor; owned sets the flag, never clears it. */
static void cache_store(rw_location_t *self, const char *aor, const char **vals,
                        const size_t *lens, size_t n, int owned)
{
    uint64_t now = rw_clock_wall_ms(), min_exp = 0, max_exp = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t e = strtoull(vals[i], NULL, 10);
        if (!min_exp || e < min_exp)
            min_exp = e;
        if (e > max_exp)
            max_exp = e;
        total += lens[i] + 1;
    }
    if (n == 0) {
        rw_ttlmap_del(self->cache, aor);
        return;
    }
    char *blob = malloc(total);
    if (!blob)
        return;
    char *w = blob;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, vals[i], lens[i]);
        w += lens[i];
        *w++ = i + 1 < n ? '\n' : '\0';
    }
    cached_t *c = rw_ttlmap_put(self->cache, aor, max_exp + CACHE_GRACE_MS, now);
    if (!c) {
        free(blob);
        return;
    }
    free(c->blob);
    c->blob = blob;
    c->min_exp_ms = min_exp;
    c->owned |= owned;
}

static size_t cache_read(rw_location_t *self, const char *aor, rw_binding_t *out, size_t max)
{
    uint64_t now = rw_clock_wall_ms();
    cached_t *c = rw_ttlmap_get(self->cache, aor, now);
    size_t n = 0;
    for (const char *p = c ? c->blob : NULL; p && *p && n < max;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen(p);
        if (rw_location_decode(aor, p, len, &out[n]) == 0 && out[n].expires_ms > now)
            n++;
        p = nl ? nl + 1 : NULL;
    }
    qsort(out, n, sizeof *out, by_q);
    return n;
}

/* ---- Operations ----------------------------------------------------------------------- */
static op_t *op_new(rw_location_t *self, int kind, const char *aor, void *arg)
{
    if (strlen(aor) >= sizeof((op_t *) 0)->aor)
        return NULL;
    op_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->timer = su_timer_create(su_root_task(self->root), 0);
    if (!o->timer) {
        free(o);
        return NULL;
    }
    o->loc = self;
    o->kind = kind;
    o->arg = arg;
    snprintf(o->aor, sizeof o->aor, "%s", aor);
    if ((o->next = self->pending))
        o->next->prev = &o->next;
    o->prev = &self->pending;
    self->pending = o;
    return o;
}

static void op_free(op_t *o)
{
    if (o->next)
        o->next->prev = o->prev;
    if (o->prev)
        *o->prev = o->next;
    su_timer_destroy(o->timer);
    free(o);
}

static void on_lookup_reply(void *arg, redisReply *r);

static void lookup_from_cache(op_t *o)
{
    rw_binding_t b[RW_LOCATION_MAX_BINDINGS];
    size_t n = cache_read(o->loc, o->aor, b, RW_LOCATION_MAX_BINDINGS);
    rw_counter_inc(o->loc->c_cache_hits);
    rw_location_fn *fn = o->lookup_fn;
    void *arg = o->arg;
    op_free(o);
    fn(arg, RW_OK, b, n, 1);
}

static void on_lookup_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    lookup_from_cache((op_t *) arg);
}

/* HGETALL rw:loc:<aor> on conn; 0 when sent (the reply comes to on_lookup_reply). */
static int send_lookup(op_t *o, rw_aredis_t *conn)
{
    /* argv, not a format: hiredis's formatter costs ~7,000 instructions a call here */
    char key[300];
    size_t alen = strlen(o->aor), klen = 7 + alen;
    if (!conn || klen >= sizeof key)
        return RW_EINVAL;
    memcpy(key, "rw:loc:", 7);
    memcpy(key + 7, o->aor, alen + 1);
    const char *argv[2] = { "HGETALL", key };
    const size_t lens[2] = { 7, klen };
    if (rw_aredis_commandargv(conn, on_lookup_reply, o, 2, argv, lens) != 0)
        return RW_EAGAIN;
    o->redis_pending = 1;
    return 0;
}

/* The master did not answer: the replica, once, if it is connected. 0 when asked. */
static int lookup_on_replica(op_t *o)
{
    rw_location_t *self = o->loc;
    rw_aredis_t *replica = rw_aredis_replica(self->redis);   /* NULL while redis is destroyed */
    if (o->on_replica || !rw_aredis_connected(replica))
        return RW_EAGAIN;
    o->on_replica = 1;
    if (send_lookup(o, replica) != 0)
        return RW_EAGAIN;
    rw_counter_inc(self->c_replica);
    return 0;
}

static void on_lookup_reply(void *arg, redisReply *r)
{
    op_t *o = arg;
    o->redis_pending = 0;
    if (!o->loc) {
        op_free(o);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        rw_counter_inc(o->loc->c_redis_errors);
        if (lookup_on_replica(o) != 0)
            lookup_from_cache(o);
        return;
    }
    rw_binding_t b[RW_LOCATION_MAX_BINDINGS];
    const char *vals[RW_LOCATION_MAX_BINDINGS];
    size_t lens[RW_LOCATION_MAX_BINDINGS], n = 0;
    uint64_t now = rw_clock_wall_ms();
    size_t n_vals = 0;
    for (size_t i = 1; i < r->elements && n_vals < RW_LOCATION_MAX_BINDINGS; i += 2) {
        const redisReply *v = r->element[i];
        if (v->type != REDIS_REPLY_STRING || rw_location_decode(o->aor, v->str, v->len, &b[n]) != 0)
            continue;
        vals[n_vals] = v->str;        /* the cache keeps expired ones too: the sweep needs them */
        lens[n_vals++] = v->len;
        if (b[n].expires_ms > now)
            n++;
    }
    cache_store(o->loc, o->aor, vals, lens, n_vals, 0);
    qsort(b, n, sizeof *b, by_q);
    rw_location_fn *fn = o->lookup_fn;
    void *uarg = o->arg;
    op_free(o);
    fn(uarg, RW_OK, b, n, 0);
}

int rw_location_lookup(rw_location_t *self, const char *aor, rw_location_fn *fn, void *arg)
{
    if (!self || !aor || !*aor || !fn)
        return RW_EINVAL;
    op_t *o = op_new(self, OP_LOOKUP, aor, arg);
    if (!o)
        return RW_ENOMEM;
    o->lookup_fn = fn;
    if (send_lookup(o, self->redis) == 0 || lookup_on_replica(o) == 0)
        return RW_OK;
    if (su_timer_set_interval(o->timer, on_lookup_timer, o, 0) < 0) {
        op_free(o);
        return RW_EIO;
    }
    return RW_OK;
}

static void update_done(op_t *o, int status, const rw_binding_t *live, size_t n_live,
                        const rw_location_gone_t *gone, size_t n_gone)
{
    rw_location_t *self = o->loc;
    if (o->kind == OP_SWEEP) {
        for (size_t i = 0; i < n_gone; i++)
            if (gone[i].expired) {
                rw_counter_inc(self->c_expired);
                if (self->expired_fn)
                    self->expired_fn(self->expired_arg, &gone[i].b);
            }
        if (status != RW_OK) {        /* try again later */
            cached_t *c = rw_ttlmap_get(self->cache, o->aor, rw_clock_wall_ms());
            if (c)
                c->min_exp_ms = rw_clock_wall_ms() + 5000;
        }
        op_free(o);
        return;
    }
    rw_location_update_fn *fn = o->update_fn;
    void *arg = o->arg;
    op_free(o);
    fn(arg, status, live, n_live, gone, n_gone);
}

static void on_update_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    update_done((op_t *) arg, RW_EIO, NULL, 0, NULL, 0);
}

static void on_update_reply(void *arg, redisReply *r)
{
    op_t *o = arg;
    o->redis_pending = 0;
    if (!o->loc) {
        op_free(o);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_INTEGER) {
        if (r && r->type == REDIS_REPLY_ERROR)
            rw_log_error("location_script_failed", RW_S("error", r->str));
        rw_counter_inc(o->loc->c_redis_errors);
        update_done(o, RW_EIO, NULL, 0, NULL, 0);
        return;
    }
    if (r->element[0]->integer < 0) {
        update_done(o, RW_ENOTFOUND, NULL, 0, NULL, 0);
        return;
    }
    if (r->element[0]->integer == 0 || r->elements < 2) {
        update_done(o, RW_ERANGE, NULL, 0, NULL, 0);
        return;
    }
    static const size_t LIVE_MAX = RW_LOCATION_MAX_BINDINGS;
    rw_binding_t live[RW_LOCATION_MAX_BINDINGS];
    rw_location_gone_t gone[GONE_MAX];
    const char *vals[RW_LOCATION_MAX_BINDINGS];
    size_t lens[RW_LOCATION_MAX_BINDINGS], n_live = 0, n_gone = 0;
    size_t ng = (size_t) r->element[1]->integer, i = 2;
    for (size_t k = 0; k < ng && i + 1 < r->elements; k++, i += 2) {
        const redisReply *kind = r->element[i], *v = r->element[i + 1];
        if (n_gone < GONE_MAX && kind->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING
            && rw_location_decode(o->aor, v->str, v->len, &gone[n_gone].b) == 0) {
            gone[n_gone].expired = kind->str[0] == 'E';
            n_gone++;
        }
    }
    for (; i < r->elements && n_live < LIVE_MAX; i++) {
        const redisReply *v = r->element[i];
        if (v->type == REDIS_REPLY_STRING && rw_location_decode(o->aor, v->str, v->len, &live[n_live]) == 0) {
            vals[n_live] = v->str;
            lens[n_live] = v->len;
            n_live++;
        }
    }
    cache_store(o->loc, o->aor, vals, lens, n_live, 1);
    qsort(live, n_live, sizeof *live, by_q);
    update_done(o, RW_OK, live, n_live, gone, n_gone);
}

/* who: the device and its user (rw_location_update_device), both NULL for none. */
static int start_update(rw_location_t *self, op_t *o, const char *user_id, const char *device,
                        int remove_all, const rw_binding_t *changes, size_t n, size_t max)
{
    enum { FIXED = 6 };
    const char *argv[FIXED + 2 * RW_LOCATION_MAX_BINDINGS];
    size_t argl[FIXED + 2 * RW_LOCATION_MAX_BINDINGS];
    char key[160], devkey[96], now[24], mx[16], enc[RW_LOCATION_MAX_BINDINGS][1700];
    int nkeys = device && device[0] ? 2 : 1;
    snprintf(key, sizeof key, "rw:loc:%s", o->aor);
    snprintf(devkey, sizeof devkey, "rw:user:%s:devices", nkeys == 2 ? user_id : "");
    snprintf(now, sizeof now, "%llu", (unsigned long long) rw_clock_wall_ms());
    snprintf(mx, sizeof mx, "%zu", max);
    int argc = 0;
    argv[argc++] = key;
    if (nkeys == 2)
        argv[argc++] = devkey;
    argv[argc++] = now, argv[argc++] = remove_all ? "1" : "0", argv[argc++] = mx;
    argv[argc++] = nkeys == 2 ? device : "";
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = rw_location_binding_key(&changes[i]);
        if (changes[i].expires_ms == 0)
            enc[i][0] = '\0';
        else if (rw_location_encode(&changes[i], enc[i], sizeof enc[i]) < 0)
            return RW_ERANGE;
        argv[argc++] = enc[i];
    }
    for (int i = 0; i < argc; i++)
        argl[i] = strlen(argv[i]);
    if (!self->redis
        || rw_redis_script_run(self->update, self->redis, nkeys, argc, argv, argl, on_update_reply, o) < 0)
        return su_timer_set_interval(o->timer, on_update_timer, o, 0) < 0 ? RW_EIO : RW_OK;
    o->redis_pending = 1;
    return RW_OK;
}

int rw_location_update(rw_location_t *self, const char *aor, int remove_all,
                       const rw_binding_t *changes, size_t n, size_t max_bindings,
                       rw_location_update_fn *fn, void *arg)
{
    return rw_location_update_device(self, aor, NULL, NULL, remove_all, changes, n, max_bindings,
                                     fn, arg);
}

int rw_location_update_device(rw_location_t *self, const char *aor, const char *user_id,
                              const char *device, int remove_all, const rw_binding_t *changes,
                              size_t n, size_t max_bindings, rw_location_update_fn *fn, void *arg)
{
    if (!self || !aor || !*aor || !fn || n > RW_LOCATION_MAX_BINDINGS || (n && !changes))
        return RW_EINVAL;
    if (device && device[0] && (!user_id || !user_id[0] || strlen(user_id) > 63 || strlen(device) > 63))
        return RW_EINVAL;
    if (max_bindings == 0 || max_bindings > RW_LOCATION_MAX_BINDINGS)
        max_bindings = RW_LOCATION_MAX_BINDINGS;
    op_t *o = op_new(self, OP_UPDATE, aor, arg);
    if (!o)
        return RW_ENOMEM;
    o->update_fn = fn;
    int rc = start_update(self, o, user_id, device, remove_all, changes, n, max_bindings);
    if (rc < 0)
        op_free(o);
    return rc;
}

/* ---- Expiry sweep --------------------------------------------------------------------- */
typedef struct {
    char aors[SWEEP_BATCH][128];
    size_t n;
    uint64_t now;
} sweep_t;

static void collect(void *arg, const char *key, void *value, uint64_t expires_ms)
{
    (void) expires_ms;
    sweep_t *s = arg;
    cached_t *c = value;
    if (c->owned && c->min_exp_ms && c->min_exp_ms <= s->now && s->n < SWEEP_BATCH
        && strlen(key) < sizeof s->aors[0]) {
        snprintf(s->aors[s->n++], sizeof s->aors[0], "%s", key);
        c->min_exp_ms = 0;            /* in progress; the reply sets it again */
    }
}

static void on_sweep(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m;
    (void) t;
    rw_location_t *self = (rw_location_t *) arg;
    sweep_t s;
    s.n = 0;
    s.now = rw_clock_wall_ms();
    rw_ttlmap_foreach(self->cache, s.now, collect, &s);
    for (size_t i = 0; i < s.n; i++) {
        op_t *o = op_new(self, OP_SWEEP, s.aors[i], NULL);
        if (o && start_update(self, o, NULL, NULL, 0, NULL, 0, 1000) < 0)
            op_free(o);
    }
}

void rw_location_on_expired(rw_location_t *self, rw_location_expired_fn *fn, void *arg)
{
    if (!self)
        return;
    self->expired_fn = fn;
    self->expired_arg = arg;
}

rw_location_t *rw_location_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics)
{
    if (!root)
        return NULL;
    rw_location_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->root = root;
    l->redis = redis;
    rw_aredis_replica(redis);         /* made now, so it is connected before it is needed */
    l->cache = rw_ttlmap_new(sizeof(cached_t), CACHE_CAP);
    l->sweep = rw_sutimer_lazy(root, SWEEP_MS);
    l->update = rw_redis_script_new(UPDATE_SCRIPT);
    if (!l->cache || !l->sweep || !l->update || su_timer_set_for_ever(l->sweep, on_sweep, (su_timer_arg_t *) l) < 0) {
        rw_location_destroy(&l);
        return NULL;
    }
    rw_ttlmap_on_free(l->cache, cached_free);
    l->c_cache_hits = rw_metrics_counter(metrics, "location_cache_lookups_total",
                                         "Location lookups answered from memory (Redis away)");
    l->c_redis_errors = rw_metrics_counter(metrics, "location_redis_errors_total",
                                           "Location operations Redis did not answer");
    l->c_expired = rw_metrics_counter(metrics, "location_expired_total",
                                      "Bindings removed by the expiry sweep");
    l->c_replica = rw_metrics_counter(metrics, "location_replica_lookups_total",
                                      "Location lookups sent to a replica (the master away)");
    return l;
}

void rw_location_destroy(rw_location_t **self)
{
    if (!self || !*self)
        return;
    rw_location_t *l = *self;
    while (l->pending) {
        op_t *o = l->pending;
        l->pending = o->next;
        if (o->next)
            o->next->prev = &l->pending;
        o->next = NULL;
        o->prev = NULL;
        su_timer_reset(o->timer);
        if (o->kind == OP_LOOKUP)
            o->lookup_fn(o->arg, RW_ECLOSED, NULL, 0, 0);
        else if (o->kind == OP_UPDATE)
            o->update_fn(o->arg, RW_ECLOSED, NULL, 0, NULL, 0);
        o->loc = NULL;
        if (!o->redis_pending)
            op_free(o);
    }
    su_timer_destroy(l->sweep);
    rw_ttlmap_destroy(&l->cache);
    rw_redis_script_destroy(&l->update);
    free(l);
    *self = NULL;
}
