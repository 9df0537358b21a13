/* common/redis_script.c — EVALSHA with an EVAL fallback on NOSCRIPT (redis_script.h). */
#include "common/redis_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

#include "common/err.h"

typedef struct call {             /* one command in flight; argv/argl point past the struct */
    rw_redis_script_t *script;    /* NULL once the script was destroyed */
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
    if (c->fn)
        c->fn(c->arg, reply);
    free(c);
}

static call_t *call_new(int argc, const char *const *args, const size_t *argl)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += (argl ? argl[i] : strlen(args[i])) + 1;
    size_t n = (size_t) argc + 3;
    call_t *c = malloc(sizeof *c + n * (sizeof (char *) + sizeof (size_t)) + bytes);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
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
    call_t *c = call_new(argc, args, argl);
    if (!c)
        return RW_ENOMEM;
    c->script = self;
    c->redis = redis;
    c->fn = fn;
    c->arg = arg;
    c->by_sha = self->loaded;
    snprintf(c->numkeys, sizeof c->numkeys, "%d", numkeys);
    c->argv[2] = c->numkeys;
    c->argl[2] = strlen(c->numkeys);
    c->next = self->calls;
    if (self->calls)
        self->calls->prev = c;
    self->calls = c;
    int rc = send_call(c);
    if (rc != 0) {
        unlink_call(c);
        free(c);
    }
    return rc;
}
