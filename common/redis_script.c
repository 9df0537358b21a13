/* common/redis_script.c — EVALSHA with an EVAL fallback on NOSCRIPT (redis_script.h). */
#include "common/redis_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

#include "common/err.h"

/* Calls whose arguments fit a block of this size come from the script's free list, so a
 * call costs no malloc once the list holds as many as are in flight. */
#define CALL_BLOCK 512
#define MAX_SPARE_CALLS 1024

typedef struct call {             /* one command in flight; argv/argl point past the struct */
    rw_redis_script_t *script;    /* NULL once the script was destroyed */
    int pooled;                   /* a CALL_BLOCK block */
    struct call *next, *prev;
    rw_aredis_t *redis;
    rw_aredis_fn *fn;
    void *arg;
    int by_sha;                   /* sent as EVALSHA: a NOSCRIPT reply is retried as EVAL */
    int argc;                     /* 3 + the script's arguments */
    const char **argv;
    size_t *argl;
    char numkeys[16];
} call_t;

struct rw_redis_script {
    const char *lua;
    char sha[2 * SHA1_DIGEST_SIZE + 1];
    int loaded;                   /* an EVAL succeeded: EVALSHA from now on */
    call_t *calls;                /* in flight */
    call_t *spare;                /* finished CALL_BLOCK blocks, linked by next */
    unsigned n_spare;
};

rw_redis_script_t *rw_redis_script_new(const char *lua)
{
    static const char hex[] = "0123456789abcdef";
    struct sha1_ctx ctx;
    uint8_t d[SHA1_DIGEST_SIZE];
    rw_redis_script_t *self = lua ? calloc(1, sizeof *self) : NULL;
    if (!self)
        return NULL;
    self->lua = lua;
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(lua), (const uint8_t *) lua);
    sha1_digest(&ctx, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++) {
        self->sha[2 * i] = hex[d[i] >> 4];
        self->sha[2 * i + 1] = hex[d[i] & 15];
    }
    return self;
}

void rw_redis_script_destroy(rw_redis_script_t **self)
{
    if (!self || !*self)
        return;
    for (call_t *c = (*self)->calls; c; c = c->next)
        c->script = NULL;
    for (call_t *c = (*self)->spare, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(*self);
    *self = NULL;
}

const char *rw_redis_script_sha(const rw_redis_script_t *self)
{
    return self->sha;
}

static void unlink_call(call_t *c)
{
    if (!c->script)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->script->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void on_reply(void *arg, redisReply *reply);

/* A finished call back to its script's free list, or freed (script destroyed, list full). */
static void release(call_t *c)
{
    rw_redis_script_t *s = c->script;
    if (s && c->pooled && s->n_spare < MAX_SPARE_CALLS) {
        c->next = s->spare;
        s->spare = c;
        s->n_spare++;
    } else {
        free(c);
    }
}

static int send_call(call_t *c)
{
    rw_redis_script_t *s = c->script;
    c->argv[0] = c->by_sha ? "EVALSHA" : "EVAL";
    c->argv[1] = c->by_sha ? s->sha : s->lua;
    c->argl[0] = strlen(c->argv[0]);
    c->argl[1] = strlen(c->argv[1]);
    return rw_aredis_commandargv(c->redis, on_reply, c, c->argc, c->argv, c->argl);
}

static void on_reply(void *arg, redisReply *reply)
{
    call_t *c = arg;
    rw_redis_script_t *s = c->script;
    if (s && c->by_sha && reply && reply->type == REDIS_REPLY_ERROR
        && !strncmp(reply->str, "NOSCRIPT", 8)) {
        s->loaded = 0;            /* Redis lost its script cache: the text once more */
        c->by_sha = 0;
        if (send_call(c) == 0)
            return;
        reply = NULL;
    }
    if (s && !c->by_sha && reply && reply->type != REDIS_REPLY_ERROR)
        s->loaded = 1;
    unlink_call(c);
    rw_aredis_fn *fn = c->fn;
    void *fn_arg = c->arg;
    release(c);                   /* before fn, which may destroy the script */
    if (fn)
        fn(fn_arg, reply);
}

static call_t *call_new(rw_redis_script_t *s, int argc, const char *const *args, const size_t *argl)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += (argl ? argl[i] : strlen(args[i])) + 1;
    size_t n = (size_t) argc + 3, need = sizeof (call_t) + n * (sizeof (char *) + sizeof (size_t)) + bytes;
    call_t *c = NULL;
    int pooled = need <= CALL_BLOCK;
    if (pooled && s->spare) {
        c = s->spare;
        s->spare = c->next;
        s->n_spare--;
    } else if (!(c = malloc(pooled ? CALL_BLOCK : need))) {
        return NULL;
    }
    memset(c, 0, sizeof *c);
    c->pooled = pooled;
    c->argc = (int) n;
    c->argv = (const char **) (void *) (c + 1);
    c->argl = (size_t *) (void *) (c->argv + n);
    char *p = (char *) (c->argl + n);
    for (int i = 0; i < argc; i++) {
        size_t len = argl ? argl[i] : strlen(args[i]);
        memcpy(p, args[i], len);
        p[len] = '\0';
        c->argv[3 + i] = p;
        c->argl[3 + i] = len;
        p += len + 1;
    }
    return c;
}

int rw_redis_script_run(rw_redis_script_t *self, rw_aredis_t *redis, int numkeys, int argc,
                        const char *const *args, const size_t *argl, rw_aredis_fn *fn, void *arg)
{
    if (!self || !redis || argc < 0 || numkeys < 0 || numkeys > argc || (argc && !args))
        return RW_EINVAL;
    call_t *c = call_new(self, argc, args, argl);
    if (!c)
        return RW_ENOMEM;
    c->script = self;
    c->redis = redis;
    c->fn = fn;
    c->arg = arg;
    c->by_sha = self->loaded;
    char digits[16];                /* numkeys in decimal, without snprintf's cost per call */
    size_t nd = 0, len = 0;
    do
        digits[nd++] = (char) ('0' + numkeys % 10);
    while ((numkeys /= 10) > 0);
    while (nd > 0)
        c->numkeys[len++] = digits[--nd];
    c->numkeys[len] = '\0';
    c->argv[2] = c->numkeys;
    c->argl[2] = len;
    c->next = self->calls;
    if (self->calls)
        self->calls->prev = c;
    self->calls = c;
    int rc = send_call(c);
    if (rc != 0) {
        unlink_call(c);
        release(c);
    }
    return rc;
}
