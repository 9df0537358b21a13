/* services/sip-edge/auth.c — digest authentication of device requests (see auth.h).
 * Per checked request: local checks (lockout, credentials, nonce), then one Lua script in Redis
 * that records the nonce count and returns the user's HA1s, then the verdict. Every answer and
 * every callback is delivered from a timer or a Redis reply, never inside rw_auth_check(). */
#include "services/sip-edge/auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/auth_digest.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/redis_script.h"
#include "common/log.h"
#include "services/sip-edge/digest.h"
#include "services/sip-edge/nonce.h"
#include "services/sip-edge/peers.h"
#include "services/sip-edge/ttlmap.h"

#define HA1_CACHE_MS (3600 * 1000ULL) /* used only when Redis does not answer */
#define CACHE_CAP 65536
#define SLOW_STEP_MS 500              /* added per failure beyond half the limit */
#define SLOW_MAX_MS 3000

/* KEYS[1] rw:num:<ext>, KEYS[2] rw:nc:<nonce>, KEYS[3] rw:authlock:<source>; ARGV[1] nc
 * (decimal), ARGV[2] nonce ttl ms. Returns {-ms} while the source is locked out (by any
 * instance), {fresh} for an unknown extension, else {fresh, id, ha1, ha1_sha256, realm}. */
static const char SCRIPT[] =
    "local lock = redis.call('PTTL', KEYS[3])\n"
    "if lock > 0 then return {-lock} end\n"
    "local fresh = 1\n"
    "local prev = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if tonumber(ARGV[1]) <= prev then fresh = 0 else\n"
    "  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end\n"
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return {fresh} end\n"
    "local h = redis.call('HMGET', 'rw:user:' .. id, 'ha1', 'ha1_sha256', 'realm')\n"
    "return {fresh, id, h[1] or '', h[2] or '', h[3] or ''}\n";

/* KEYS[1] rw:authfail:<source>, KEYS[2] rw:authlock:<source>; ARGV limit, window ms, lockout
 * ms. Counts one failure for every instance; at the limit the source is locked out everywhere. */
static const char FAIL_SCRIPT[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n >= tonumber(ARGV[1]) then redis.call('SET', KEYS[2], n, 'PX', ARGV[3]) end\n"
    "return n\n";

typedef struct {                      /* HA1 cache entry, key = extension */
    char id[64];
    char ha1[33];
    char ha1_sha256[65];
} cached_user_t;

typedef struct {                      /* failures per source address */
    unsigned count;
    uint64_t window_start_ms, locked_until_ms;
} fails_t;

typedef struct check check_t;

struct rw_auth {
    su_root_t *root;
    rw_aredis_t *redis;
    rw_redis_script_t *script;        /* SCRIPT, by SHA1 once Redis has it */
    rw_redis_script_t *fail_script;   /* FAIL_SCRIPT */
    char realm[64], secret[128];
    rw_nonce_key_t nonce_key;         /* secret keyed into the nonces' HMAC once */
    char nc_ttl_ms[24];               /* how long Redis keeps a nonce count: the nonce's life + 5 s */
    unsigned nonce_ttl_s, fail_limit, fail_window_s, lockout_s;
    int n_algs;
    rw_digest_alg_t algs[2];          /* challenges offered, in order */
    rw_ttlmap_t *users, *ncs, *fails;
    check_t *pending;                 /* doubly linked */
    rw_counter_t *c_challenge, *c_ok, *c_fail, *c_stale, *c_replay, *c_locked, *c_lockouts,
        *c_bad, *c_fallback, *c_unavailable;
};

enum { V_NONE = 0, V_OK, V_CHALLENGE, V_STALE, V_FORBIDDEN, V_BAD, V_LOCKED, V_UNAVAILABLE };

struct check {
    check_t *next, **prev;
    rw_auth_t *auth;                  /* NULL once the auth object is gone */
    nta_incoming_t *irq;              /* NULL: rw_auth_check_msg, the verdict goes to vfn */
    int as_proxy, verdict, redis_pending;
    rw_auth_fn *fn;
    rw_auth_verdict_fn *vfn;
    void *arg;
    su_timer_t *timer;
    rw_digest_alg_t alg;
    unsigned retry_after;
    uint32_t nc;
    char source[64], method[32], user[16], nonce[RW_NONCE_LEN + 1], ncs[9], cnonce[128],
        uri[256], response[RW_DIGEST_HEX_MAX], user_id[64];
};

static uint64_t now_ms(void) { return rw_clock_wall_ms(); }

static int parse_algs(rw_auth_t *a, const char *list)
{
    char buf[64], *save = NULL;
    a->n_algs = 0;
    snprintf(buf, sizeof buf, "%s", list && *list ? list : "MD5");
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int alg = rw_digest_alg_parse(t);
        if (alg < 0 || a->n_algs == 2 || (a->n_algs == 1 && (int) a->algs[0] == alg))
            return -1;
        a->algs[a->n_algs++] = (rw_digest_alg_t) alg;
    }
    return a->n_algs ? 0 : -1;
}

rw_auth_t *rw_auth_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                       const rw_auth_opts_t *opts)
{
    if (!root || !opts || !opts->realm || !*opts->realm || !opts->nonce_secret
        || !*opts->nonce_secret || strlen(opts->realm) >= 64 || strlen(opts->nonce_secret) >= 128)
        return NULL;
    rw_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->root = root;
    a->redis = redis;
    snprintf(a->realm, sizeof a->realm, "%s", opts->realm);
    snprintf(a->secret, sizeof a->secret, "%s", opts->nonce_secret);
    rw_nonce_key_init(&a->nonce_key, a->secret);
    a->nonce_ttl_s = opts->nonce_ttl_s ? opts->nonce_ttl_s : 300;
    a->fail_limit = opts->fail_limit ? opts->fail_limit : 10;
    a->fail_window_s = opts->fail_window_s ? opts->fail_window_s : 60;
    a->lockout_s = opts->lockout_s ? opts->lockout_s : 300;
    snprintf(a->nc_ttl_ms, sizeof a->nc_ttl_ms, "%llu", a->nonce_ttl_s * 1000ULL + 5000ULL);
    if (parse_algs(a, opts->algorithms) < 0) {
        free(a);
        return NULL;
    }
    a->users = rw_ttlmap_new(sizeof(cached_user_t), CACHE_CAP);
    a->ncs = rw_ttlmap_new(sizeof(uint32_t), CACHE_CAP * 4);
    a->fails = rw_ttlmap_new(sizeof(fails_t), CACHE_CAP);
    a->script = rw_redis_script_new(SCRIPT);
    a->fail_script = rw_redis_script_new(FAIL_SCRIPT);
    if (!a->users || !a->ncs || !a->fails || !a->script || !a->fail_script) {
        rw_auth_destroy(&a);
        return NULL;
    }
#define C(field, name, help) a->field = rw_metrics_counter(metrics, name, help)
    C(c_challenge, "auth_total{result=\"challenged\"}", "Digest checks by result");
    C(c_ok, "auth_total{result=\"ok\"}", "Digest checks by result");
    C(c_fail, "auth_total{result=\"forbidden\"}", "Digest checks by result");
    C(c_stale, "auth_total{result=\"stale\"}", "Digest checks by result");
    C(c_replay, "auth_total{result=\"replayed\"}", "Digest checks by result");
    C(c_locked, "auth_total{result=\"locked_out\"}", "Digest checks by result");
    C(c_bad, "auth_total{result=\"malformed\"}", "Digest checks by result");
    C(c_unavailable, "auth_total{result=\"unavailable\"}", "Digest checks by result");
    C(c_lockouts, "auth_lockouts_total", "Source addresses locked out after repeated failures");
    C(c_fallback, "auth_cache_fallback_total", "Digest checks answered from the HA1 cache (Redis away)");
#undef C
    return a;
}

static void check_free(check_t *c)
{
    if (c->next)
        c->next->prev = c->prev;
    if (c->prev)
        *c->prev = c->next;
    su_timer_destroy(c->timer);
    free(c);
}

/* The challenge values (one per algorithm offered, a fresh nonce); returns whether two. */
static int challenge_values(rw_auth_t *a, int stale, char h[2][256])
{
    char nonce[RW_NONCE_LEN + 1];
    rw_nonce_make_k(&a->nonce_key, now_ms() / 1000, nonce);
    h[1][0] = '\0';
    for (int i = 0; i < a->n_algs; i++)
        snprintf(h[i], 256, "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
                 a->realm, nonce, rw_digest_alg_name(a->algs[i]),
                 stale ? ", stale=true" : "");
    return a->n_algs > 1;
}

/* The answer of a refusal as status, phrase and header lines, for both ends (finish, finish_msg). */
static void refusal(check_t *c, rw_auth_verdict_t *v, char *headers, size_t cap)
{
    rw_auth_t *a = c->auth;
    headers[0] = '\0';
    switch (c->verdict) {
    case V_CHALLENGE:
    case V_STALE: {
        char h[2][256];
        int two = challenge_values(a, c->verdict == V_STALE, h);
        const char *name = c->as_proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
        snprintf(headers, cap, "%s: %s\r\n%s%s%s%s", name, h[0], two ? name : "", two ? ": " : "",
                 two ? h[1] : "", two ? "\r\n" : "");
        v->status = c->as_proxy ? 407 : 401;
        v->phrase = c->as_proxy ? sip_407_Proxy_auth_required : sip_401_Unauthorized;
        if (c->verdict == V_CHALLENGE)
            rw_counter_inc(a->c_challenge);
        break;
    }
    case V_FORBIDDEN: v->status = 403; v->phrase = sip_403_Forbidden; break;
    case V_BAD: v->status = 400; v->phrase = "Malformed Credentials"; break;
    default:
        snprintf(headers, cap, "Retry-After: %u\r\n", c->retry_after ? c->retry_after : 1);
        v->status = 503;
        v->phrase = sip_503_Service_unavailable;
        break;
    }
    v->headers = headers;
}

/* rw_auth_check_msg's end: the verdict to vfn, then the check freed. */
static void finish_msg(check_t *c)
{
    char headers[600];
    rw_auth_verdict_t v = { .ok = c->verdict == V_OK, .ext = c->user, .user_id = c->user_id };
    if (!v.ok)
        refusal(c, &v, headers, sizeof headers);
    rw_auth_verdict_fn *fn = c->vfn;
    void *arg = c->arg;
    char user[16], id[64];
    memcpy(user, c->user, sizeof user);
    memcpy(id, c->user_id, sizeof id);
    v.ext = user;
    v.user_id = id;
    check_free(c);
    fn(arg, &v);
}

/* Answers (unless OK), runs the callback once and frees the check. */
static void finish(check_t *c)
{
    if (!c->irq) {
        finish_msg(c);
        return;
    }
    if (c->verdict != V_OK) {
        char headers[600];
        rw_auth_verdict_t v = { 0 };
        refusal(c, &v, headers, sizeof headers);
        nta_incoming_treply(c->irq, v.status, v.phrase, TAG_IF(headers[0], SIPTAG_HEADER_STR(headers)),
                            TAG_END());
    }
    rw_auth_fn *fn = c->fn;
    void *arg = c->arg;
    int ok = c->verdict == V_OK;
    char user[16], id[64];
    memcpy(user, c->user, sizeof user);
    memcpy(id, c->user_id, sizeof id);
    check_free(c);
    fn(arg, ok ? RW_AUTH_OK : RW_AUTH_ANSWERED, ok ? user : NULL, ok ? id : NULL);
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) magic;
    (void) t;
    finish((check_t *) arg);
}

/* Deliver the verdict after delay_ms (0: at the next loop turn). */
static void conclude(check_t *c, int verdict, unsigned delay_ms)
{
    c->verdict = verdict;
    if (su_timer_set_interval(c->timer, on_timer, c, delay_ms) < 0)
        finish(c);                    /* cannot happen with a live root; never leave irq */
}

/* Dotted quad of an IPv4 address (out: 16 bytes), without inet_ntop's sprintf: every
 * checked request needs its source. */
static void ipv4_str(const struct in_addr *a, char *out)
{
    const uint8_t *b = (const uint8_t *) &a->s_addr;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *out++ = (char) ('0' + v / 100);
        if (v >= 10)
            *out++ = (char) ('0' + v / 10 % 10);
        *out++ = (char) ('0' + v % 10);
        *out++ = i < 3 ? '.' : '\0';
    }
}

static void msg_source(msg_t *m, char *out, size_t len)
{
    su_addrinfo_t *ai = m ? msg_addrinfo(m) : NULL;
    if (ai && ai->ai_addr && ai->ai_addr->sa_family == AF_INET && len >= INET_ADDRSTRLEN)
        ipv4_str(&((const struct sockaddr_in *) ai->ai_addr)->sin_addr, out);
    else if (!ai || rw_peers_addr_host((const struct sockaddr *) ai->ai_addr, out, len, NULL) != 0)
        snprintf(out, len, "?");
}

static void source_of(nta_incoming_t *irq, char *out, size_t len)
{
    msg_t *m = nta_incoming_getrequest(irq);
    msg_source(m, out, len);
    msg_destroy(m);
}

static fails_t *fails_of(rw_auth_t *a, const char *source, uint64_t now)
{
    return rw_ttlmap_get(a->fails, source, now);
}

/* Counts the failure in Redis too, so every instance and process shares the lockout. */
static void share_failure(rw_auth_t *a, const char *source)
{
    char kf[80], kl[80], lim[16], win[24], lock[24];
    snprintf(kf, sizeof kf, "rw:authfail:%s", source);
    snprintf(kl, sizeof kl, "rw:authlock:%s", source);
    snprintf(lim, sizeof lim, "%u", a->fail_limit);
    snprintf(win, sizeof win, "%llu", a->fail_window_s * 1000ULL);
    snprintf(lock, sizeof lock, "%llu", a->lockout_s * 1000ULL);
    const char *args[] = { kf, kl, lim, win, lock };
    if (a->redis)
        (void) rw_redis_script_run(a->fail_script, a->redis, 2, 5, args, NULL, NULL, NULL);
}

/* Locks c->source out locally for ms (a lockout another instance started, seen in Redis). */
static void lock_locally(rw_auth_t *a, const char *source, uint64_t ms)
{
    uint64_t now = now_ms();
    fails_t *f = rw_ttlmap_put(a->fails, source, now + ms, now);
    if (f) {
        f->count = a->fail_limit;
        f->window_start_ms = now;
        f->locked_until_ms = now + ms;
    }
}

/* Counts a failure from c->source; returns the delay to apply to the answer. */
static unsigned record_failure(rw_auth_t *a, check_t *c)
{
    uint64_t now = now_ms(), window = a->fail_window_s * 1000ULL;
    share_failure(a, c->source);
    fails_t *f = rw_ttlmap_get(a->fails, c->source, now);
    if (!f || now - f->window_start_ms > window) {
        f = rw_ttlmap_put(a->fails, c->source, now + window, now);
        if (!f)
            return 0;
        f->count = 0;
        f->window_start_ms = now;
    }
    f->count++;
    rw_log_warn("auth_failed", RW_S("source", c->source), RW_S("user", c->user),
                RW_S("method", c->method), RW_I("failures", f->count));
    if (f->count >= a->fail_limit) {
        f->locked_until_ms = now + a->lockout_s * 1000ULL;
        rw_ttlmap_put(a->fails, c->source, f->locked_until_ms, now);
        rw_counter_inc(a->c_lockouts);
        rw_log_warn("auth_lockout", RW_S("source", c->source), RW_I("failures", f->count),
                    RW_I("lockout_s", a->lockout_s));
    }
    unsigned half = a->fail_limit / 2;
    if (f->count <= half)
        return 0;
    unsigned d = (f->count - half) * SLOW_STEP_MS;
    return d > SLOW_MAX_MS ? SLOW_MAX_MS : d;
}

static void verify(check_t *c, const char *ha1, const char *ha1_sha256, int fresh)
{
    rw_auth_t *a = c->auth;
    char expected[RW_DIGEST_HEX_MAX];
    const char *h = c->alg == RW_DIGEST_SHA256 ? ha1_sha256 : ha1;
    int known = h && strlen(h) == rw_digest_hex_len(c->alg);
    /* The same arithmetic for an unknown user as for a known one: same time, same answer. */
    rw_digest_response(c->alg, known ? h : "0", c->nonce, c->ncs, c->cnonce, "auth", c->method,
                       c->uri, expected);
    if (!known || !rw_digest_equal(expected, c->response)) {
        rw_counter_inc(a->c_fail);
        conclude(c, V_FORBIDDEN, record_failure(a, c));
        return;
    }
    uint64_t now = now_ms();
    uint32_t *seen = rw_ttlmap_get(a->ncs, c->nonce, now);
    if (!fresh || (seen && c->nc <= *seen)) {
        rw_counter_inc(a->c_replay);
        rw_log_info("auth_nc_replayed", RW_S("source", c->source), RW_S("user", c->user));
        conclude(c, V_STALE, 0);
        return;
    }
    seen = rw_ttlmap_put(a->ncs, c->nonce, now + a->nonce_ttl_s * 1000ULL, now);
    if (seen)
        *seen = c->nc;
    rw_counter_inc(a->c_ok);
    conclude(c, V_OK, 0);
}

static const char *elem(const redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return r->element[i]->str;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char) tolower((unsigned char) *s);
}

static void on_reply(void *arg, redisReply *r)
{
    check_t *c = arg;
    c->redis_pending = 0;
    if (!c->auth) {                   /* the auth object was destroyed meanwhile */
        check_free(c);
        return;
    }
    rw_auth_t *a = c->auth;
    uint64_t now = now_ms();
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_INTEGER) {
        cached_user_t *u = rw_ttlmap_get(a->users, c->user, now);
        if (!u) {
            rw_counter_inc(a->c_unavailable);
            c->retry_after = 5;
            conclude(c, V_UNAVAILABLE, 0);
            return;
        }
        rw_counter_inc(a->c_fallback);
        snprintf(c->user_id, sizeof c->user_id, "%s", u->id);
        verify(c, u->ha1, u->ha1_sha256, 1);
        return;
    }
    if (r->element[0]->integer < 0) {        /* locked out, by this or another instance */
        uint64_t ms = (uint64_t) -r->element[0]->integer;
        rw_counter_inc(a->c_lockouts);            /* first seen here: not yet locked locally */
        rw_log_warn("auth_lockout", RW_S("source", c->source), RW_S("counted", "shared"),
                    RW_I("lockout_s", (long long) (ms / 1000)));
        lock_locally(a, c->source, ms);
        rw_counter_inc(a->c_locked);
        c->retry_after = (unsigned) ((ms + 999) / 1000);
        conclude(c, V_LOCKED, 0);
        return;
    }
    int fresh = r->element[0]->integer != 0;
    if (r->elements < 5 || strcmp(elem(r, 4), a->realm) != 0) {
        verify(c, NULL, NULL, fresh);               /* unknown here */
        return;
    }
    cached_user_t *u = rw_ttlmap_put(a->users, c->user, now + HA1_CACHE_MS, now);
    cached_user_t tmp;
    if (!u)
        u = &tmp;
    snprintf(u->id, sizeof u->id, "%s", elem(r, 1));
    snprintf(u->ha1, sizeof u->ha1, "%s", elem(r, 2));
    snprintf(u->ha1_sha256, sizeof u->ha1_sha256, "%s", elem(r, 3));
    lower(u->ha1);
    lower(u->ha1_sha256);
    snprintf(c->user_id, sizeof c->user_id, "%s", u->id);
    verify(c, u->ha1, u->ha1_sha256, fresh);
}

/* prefix + s into out (cap bytes, cut to fit): the keys of every check, without printf. */
static const char *key(char *out, size_t cap, const char *prefix, const char *s)
{
    size_t p = strlen(prefix), n = strlen(s);
    if (n > cap - 1 - p)
        n = cap - 1 - p;
    memcpy(out, prefix, p);
    memcpy(out + p, s, n);
    out[p + n] = '\0';
    return out;
}

static const char *decimal(char out[12], uint32_t v)
{
    char *o = out + 11;
    *o = '\0';
    do
        *--o = (char) ('0' + v % 10);
    while (v /= 10);
    return o;
}

static int lookup(check_t *c)
{
    rw_auth_t *a = c->auth;
    char knum[64], knc[64], klock[80], nc[12];
    const char *args[] = { key(knum, sizeof knum, "rw:num:", c->user),
                           key(knc, sizeof knc, "rw:nc:", c->nonce),
                           key(klock, sizeof klock, "rw:authlock:", c->source),
                           decimal(nc, c->nc), a->nc_ttl_ms };
    if (!a->redis || rw_redis_script_run(a->script, a->redis, 3, 5, args, NULL, on_reply, c) < 0)
        return -1;
    c->redis_pending = 1;
    return 0;
}

static int valid_user(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 16)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && *s != '+' && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* The first Digest credential for our realm, or NULL. */
static const msg_auth_t *our_credential(rw_auth_t *a, const msg_auth_t *au)
{
    for (; au; au = au->au_next) {
        if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0 || !au->au_params)
            continue;
        for (const char *const *p = au->au_params; *p; p++)
            if (!strncasecmp(*p, "realm=", 6) && auth_strcmp(*p + 6, a->realm) == 0)
                return au;
    }
    return NULL;
}

#define COPY(dst, src) (strlen(src) < sizeof(dst) ? (memcpy(dst, src, strlen(src) + 1), 1) : 0)

/* The digest parameters examine() reads (NULL when absent), unquoted into pool. */
typedef struct {
    const char *ar_username, *ar_nonce, *ar_response, *ar_uri, *ar_algorithm, *ar_qop,
        *ar_cnonce, *ar_nc;
    char pool[1024];
} digest_params_t;

/* One "name=value" of Sofia's parameter list: the value unquoted (RFC 7616 quoted-string,
 * backslash escapes) into the pool at *at; NULL when it does not fit. */
static const char *param_value(digest_params_t *d, size_t *at, const char *v)
{
    char *out = d->pool + *at, *end = d->pool + sizeof d->pool - 1, *o = out;
    if (*v != '"') {
        size_t n = strlen(v);
        if (n > (size_t) (end - o))
            return NULL;
        memcpy(o, v, n);
        o += n;
    } else {
        for (v++; *v && *v != '"'; v++) {
            if (*v == '\\' && v[1])
                v++;
            if (o == end)
                return NULL;
            *o++ = *v;
        }
    }
    *o = '\0';
    *at += (size_t) (o - out) + 1;
    return out;
}

/* The parameters by name, the first of each (what auth_digest_response_get gives, without
 * its scan of the list per name); -1 when a value does not fit. */
static int digest_params(const msg_param_t *params, digest_params_t *d)
{
    static const struct { const char *name; size_t len, off; } names[] = {
#define N(s, f) { s "=", sizeof s, offsetof(digest_params_t, f) }
        N("username", ar_username), N("nonce", ar_nonce), N("response", ar_response),
        N("uri", ar_uri), N("algorithm", ar_algorithm), N("qop", ar_qop),
        N("cnonce", ar_cnonce), N("nc", ar_nc),
#undef N
    };
    size_t at = 0;
    memset(d, 0, offsetof(digest_params_t, pool));
    for (; params && *params; params++)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char **slot = (const char **) ((char *) d + names[i].off);
            if (*slot || strncasecmp(*params, names[i].name, names[i].len) != 0)
                continue;
            if (!(*slot = param_value(d, &at, *params + names[i].len)))
                return -1;
            break;
        }
    return 0;
}

/* Fills c from the credential; returns the verdict when it is decided without Redis. */
static int examine(check_t *c, const msg_auth_t *au)
{
    rw_auth_t *a = c->auth;
    digest_params_t ar[1];
    int v = V_NONE;
    if (digest_params(au->au_params, ar) < 0 || !ar->ar_username || !ar->ar_nonce
        || !ar->ar_response || !ar->ar_uri) {
        v = V_BAD;
        goto done;
    }
    int alg = rw_digest_alg_parse(ar->ar_algorithm);
    int64_t age = rw_nonce_age_k(&a->nonce_key, ar->ar_nonce, now_ms() / 1000);
    if (alg < 0 || !ar->ar_qop || strcasecmp(ar->ar_qop, "auth") != 0 || !ar->ar_cnonce
        || !ar->ar_nc || age < 0) {
        v = V_CHALLENGE;              /* not a form we offered, or not our nonce */
        goto done;
    }
    if (age > (int64_t) a->nonce_ttl_s) {
        v = V_STALE;
        goto done;
    }
    char *end = NULL;
    unsigned long nc = strtoul(ar->ar_nc, &end, 16);
    if (strlen(ar->ar_nc) != 8 || *end || nc == 0 || !COPY(c->cnonce, ar->ar_cnonce)
        || !COPY(c->uri, ar->ar_uri) || !COPY(c->response, ar->ar_response)) {
        v = V_BAD;
        goto done;
    }
    c->alg = (rw_digest_alg_t) alg;
    c->nc = (uint32_t) nc;
    memcpy(c->ncs, ar->ar_nc, 9);
    memcpy(c->nonce, ar->ar_nonce, RW_NONCE_LEN + 1);
    if (!COPY(c->user, ar->ar_username) || !valid_user(c->user))
        snprintf(c->user, sizeof c->user, "-");     /* an impossible extension: unknown */
done:
    return v;
}

/* Starts a check of sip from msg for irq (NULL: the verdict goes to vfn). */
static int start(rw_auth_t *self, nta_incoming_t *irq, msg_t *msg, const sip_t *sip, int as_proxy,
                 rw_auth_fn *fn, rw_auth_verdict_fn *vfn, void *arg)
{
    check_t *c = calloc(1, sizeof *c);
    if (!c)
        return RW_ENOMEM;
    c->timer = su_timer_create(su_root_task(self->root), 0);
    if (!c->timer) {
        free(c);
        return RW_ENOMEM;
    }
    c->auth = self;
    c->irq = irq;
    c->as_proxy = as_proxy;
    c->fn = fn;
    c->vfn = vfn;
    c->arg = arg;
    if ((c->next = self->pending))
        c->next->prev = &c->next;
    c->prev = &self->pending;
    self->pending = c;
    snprintf(c->method, sizeof c->method, "%s", sip->sip_request->rq_method_name);
    if (irq)
        source_of(irq, c->source, sizeof c->source);
    else
        msg_source(msg, c->source, sizeof c->source);

    uint64_t now = now_ms();
    fails_t *f = fails_of(self, c->source, now);
    if (f && f->locked_until_ms > now) {
        rw_counter_inc(self->c_locked);
        c->retry_after = (unsigned) ((f->locked_until_ms - now + 999) / 1000);
        conclude(c, V_LOCKED, 0);
        return RW_OK;
    }
    const msg_auth_t *au = our_credential(self, as_proxy ? sip->sip_proxy_authorization
                                                         : sip->sip_authorization);
    int v = au ? examine(c, au) : V_CHALLENGE;
    if (v == V_BAD)
        rw_counter_inc(self->c_bad);
    if (v == V_STALE)
        rw_counter_inc(self->c_stale);
    if (v == V_NONE && lookup(c) < 0)
        on_reply(c, NULL);            /* Redis away: the cache decides, from a timer */
    else if (v != V_NONE)
        conclude(c, v, 0);
    return RW_OK;
}

int rw_auth_check(rw_auth_t *self, nta_incoming_t *irq, const sip_t *sip, int as_proxy,
                  rw_auth_fn *fn, void *arg)
{
    if (!self || !irq || !sip || !sip->sip_request || !fn)
        return RW_EINVAL;
    return start(self, irq, NULL, sip, as_proxy, fn, NULL, arg);
}

int rw_auth_check_msg(rw_auth_t *self, msg_t *msg, const sip_t *sip, int as_proxy,
                      rw_auth_verdict_fn *fn, void *arg)
{
    if (!self || !msg || !sip || !sip->sip_request || !fn)
        return RW_EINVAL;
    return start(self, NULL, msg, sip, as_proxy, NULL, fn, arg);
}

int rw_auth_challenge_stateless(rw_auth_t *self, nta_agent_t *agent, msg_t *msg, const sip_t *sip,
                                int as_proxy)
{
    char source[64], h[2][256];
    if (!self || !agent || !msg || !sip
        || our_credential(self, as_proxy ? sip->sip_proxy_authorization : sip->sip_authorization))
        return 0;
    uint64_t now = now_ms();
    msg_source(msg, source, sizeof source);
    fails_t *f = fails_of(self, source, now);
    if (f && f->locked_until_ms > now)
        return 0;                     /* the stateful path answers 503 + Retry-After */
    int two = challenge_values(self, 0, h);
    rw_counter_inc(self->c_challenge);
    if (as_proxy)
        nta_msg_treply(agent, msg, SIP_407_PROXY_AUTH_REQUIRED, SIPTAG_PROXY_AUTHENTICATE_STR(h[0]),
                       TAG_IF(two, SIPTAG_PROXY_AUTHENTICATE_STR(h[1])), TAG_END());
    else
        nta_msg_treply(agent, msg, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(h[0]),
                       TAG_IF(two, SIPTAG_WWW_AUTHENTICATE_STR(h[1])), TAG_END());
    return 1;
}

void rw_auth_flush_cache(rw_auth_t *self)
{
    if (self)
        rw_ttlmap_clear(self->users);
}

void rw_auth_destroy(rw_auth_t **self)
{
    if (!self || !*self)
        return;
    rw_auth_t *a = *self;
    while (a->pending) {
        check_t *c = a->pending;
        su_timer_reset(c->timer);
        c->verdict = V_UNAVAILABLE;
        if (c->redis_pending) {       /* the reply comes later: answer now, free then */
            rw_auth_fn *fn = c->fn;
            rw_auth_verdict_fn *vfn = c->vfn;
            void *arg = c->arg;
            char headers[600];
            rw_auth_verdict_t v = { 0 };
            if (c->irq)
                nta_incoming_treply(c->irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
            else
                refusal(c, &v, headers, sizeof headers);
            a->pending = c->next;
            if (c->next)
                c->next->prev = NULL;
            c->next = NULL;
            c->prev = NULL;
            c->auth = NULL;
            if (fn)
                fn(arg, RW_AUTH_ANSWERED, NULL, NULL);
            else
                vfn(arg, &v);
        } else {
            finish(c);
        }
    }
    rw_ttlmap_destroy(&a->users);
    rw_ttlmap_destroy(&a->ncs);
    rw_ttlmap_destroy(&a->fails);
    rw_redis_script_destroy(&a->script);
    rw_redis_script_destroy(&a->fail_script);
    free(a);
    *self = NULL;
}
