/* common/redis_async.c — the asynchronous Redis connection on a service's su_root.
 * hiredis 0.14 has no timeouts of its own, so every command carries a deadline in our own
 * record (pending_t, oldest first). One su_timer watches the oldest deadline (and the connect
 * deadline); when it passes, the timer frees the context, which makes hiredis call every
 * pending callback with NULL, and a reconnect is scheduled. Contexts are only ever freed and
 * reconnects only ever started from timers or the public API, never inside a hiredis callback.
 * With sentinels configured, each (re)connect first asks them for the master (or, for a
 * replica connection, a replica) with the blocking steps of redis.c, on a short-lived thread
 * of its own: the loop goes on meanwhile, and the thread hands the address back through an
 * eventfd the loop watches. A discovery outlives its connection when that is destroyed first:
 * the thread and the connection each hold a reference, the last one frees it. */
#include "common/redis.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <hiredis/async.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/redis_conf.h"
#include "common/redis_su.h"
#include "common/sutimer.h"

/* One Sentinel discovery on its thread. Everything it reads is its own copy. */
typedef struct {
    rw_redis_conf_t cf;
    bool is_replica;
    int fd;                          /* eventfd: written once the answer is in */
    atomic_int refs;                 /* the thread's and the connection's */
    atomic_bool done;                /* rc, host and port are written (release/acquire) */
    int rc, port;
    char host[64];
} discovery_t;

typedef struct pending {
    struct pending *prev, *next;
    rw_aredis_t *owner;
    rw_aredis_fn *fn;
    void *arg;
    uint64_t deadline_ms;
} pending_t;

struct rw_aredis {
    rw_redis_conf_t cf;
    su_root_t *root;
    redisAsyncContext *ac;           /* NULL while down */
    su_timer_t *retry_timer, *deadline_timer;
    pending_t *head, *tail;          /* commands sent, oldest first */
    uint64_t connect_deadline_ms;    /* while connecting */
    uint64_t armed_for_ms;           /* when deadline_timer fires; 0 = not armed */
    int login_left;                  /* AUTH/SELECT replies still awaited */
    int backoff_ms;
    bool connecting, connected, reported_up, kill, destroying;
    bool is_replica;                 /* discovers a replica, not the master */
    bool replica_missing;            /* "redis_replica_unknown" logged since the last connect */
    rw_aredis_t *replica;            /* rw_aredis_replica(), NULL until asked for */
    discovery_t *discovery;          /* the one under way, NULL when none */
    su_wait_t discovery_wait;
    int discovery_index;             /* its registration in root, 0 when none */
    void (*state_fn)(void *arg, bool up);
    void *state_arg;
};

static void start_connect(rw_aredis_t *self);

/* ---- Timers --------------------------------------------------------------------------- */

static void on_retry(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) magic;
    (void) t;
    start_connect((rw_aredis_t *) arg);
}

static void schedule_retry(rw_aredis_t *self)
{
    int delay;

    if (self->destroying)
        return;
    delay = rw_redis_backoff_next(&self->backoff_ms, &self->cf.o);
    rw_log_info("redis_reconnect_scheduled", RW_I("retry_ms", delay));
    su_timer_set_interval(self->retry_timer, on_retry, self, delay);
}

static void report(rw_aredis_t *self, bool up)
{
    if (self->reported_up == up)
        return;
    self->reported_up = up;
    if (self->state_fn)
        self->state_fn(self->state_arg, up);
}

/* The connection is gone (hiredis dropped it, or we freed it): tell the owner, try again. */
static void went_down(rw_aredis_t *self, const char *why)
{
    self->ac = NULL;
    self->connecting = self->connected = false;
    self->login_left = 0;
    if (self->destroying) {
        rw_log_info("redis_closed");
        return;
    }
    rw_log_warn("redis_disconnected", RW_S("error", why),
                RW_S("role", self->is_replica ? "replica" : "master"));
    report(self, false);
    schedule_retry(self);
}

/* From a timer or the public API only. Every pending callback gets NULL. */
static void drop_connection(rw_aredis_t *self, const char *why)
{
    redisAsyncContext *ac = self->ac;

    if (!ac)
        return;
    ac->data = NULL;             /* on_disconnect: nothing left to do */
    self->ac = NULL;
    self->connecting = self->connected = false;
    redisAsyncFree(ac);
    went_down(self, why);
}

static void arm_deadline(rw_aredis_t *self);

static void on_deadline(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    rw_aredis_t *self = arg;
    uint64_t now = rw_clock_mono_ms();

    (void) magic;
    (void) t;
    self->armed_for_ms = 0;
    if (self->kill) {
        self->kill = false;
        drop_connection(self, "login failed");
    } else if (self->connecting && now >= self->connect_deadline_ms) {
        drop_connection(self, "connect timed out");
    } else if (self->head && now >= self->head->deadline_ms) {
        drop_connection(self, "command timed out");
    }
    arm_deadline(self);
}

/* Make sure deadline_timer fires no later than the earliest deadline. */
static void arm_deadline(rw_aredis_t *self)
{
    uint64_t now = rw_clock_mono_ms(), next = 0;

    if (!self->deadline_timer)
        return;
    if (self->kill)
        next = now;
    if (self->connecting && (!next || self->connect_deadline_ms < next))
        next = self->connect_deadline_ms;
    if (self->head && (!next || self->head->deadline_ms < next))
        next = self->head->deadline_ms;
    if (!next || (self->armed_for_ms && self->armed_for_ms <= next))
        return;
    su_timer_reset(self->deadline_timer);
    self->armed_for_ms = next;
    su_timer_set_interval(self->deadline_timer, on_deadline, self,
                          next > now ? (su_duration_t) (next - now) : 0);
}

/* ---- Commands --------------------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    pending_t *p = privdata;
    rw_aredis_t *self = p->owner;
    rw_aredis_fn *fn = p->fn;
    void *arg = p->arg;

    (void) ac;
    if (p->prev)
        p->prev->next = p->next;
    else
        self->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        self->tail = p->prev;
    free(p);
    if (!r)
        self->connected = false; /* the context is going away: refuse new commands */
    else if (self->connected)
        self->backoff_ms = 0;    /* Redis answered a command: start small after a failure */
    if (fn)
        fn(arg, r);
}

static int send_formatted(rw_aredis_t *self, rw_aredis_fn *fn, void *arg, const char *cmd,
                          size_t len)
{
    pending_t *p = calloc(1, sizeof *p);

    if (!p)
        return RW_ENOMEM;
    p->owner = self;
    p->fn = fn;
    p->arg = arg;
    p->deadline_ms = rw_clock_mono_ms() + (uint64_t) self->cf.o.command_timeout_ms;
    p->prev = self->tail;
    if (self->tail)
        self->tail->next = p;
    else
        self->head = p;
    self->tail = p;
    if (redisAsyncFormattedCommand(self->ac, on_reply, p, cmd, len) != REDIS_OK) {
        self->tail = p->prev;
        if (self->tail)
            self->tail->next = NULL;
        else
            self->head = NULL;
        free(p);
        return RW_EIO;
    }
    arm_deadline(self);
    return 0;
}

/* Commands whose replies never end (or come many per command) cannot have one callback. */
static bool is_streaming(const char *cmd, size_t len)
{
    static const char *const names[] = { "subscribe", "psubscribe", "unsubscribe",
                                         "punsubscribe", "monitor", NULL };
    const char *p = memchr(cmd, '$', len), *name;
    char *end;
    long n;

    if (!p)
        return false;
    n = strtol(p + 1, &end, 10);
    name = end + 2;
    if (n <= 0 || name + n > cmd + len)
        return false;
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == (size_t) n && strncasecmp(name, names[i], (size_t) n) == 0)
            return true;
    return false;
}

static int command_formatted(rw_aredis_t *self, rw_aredis_fn *fn, void *arg, char *cmd, int len)
{
    int rc;

    if (len < 0)
        return RW_EINVAL;
    if (is_streaming(cmd, (size_t) len))
        rc = RW_EINVAL;
    else if (!self->connected || !self->ac)
        rc = RW_EAGAIN;
    else
        rc = send_formatted(self, fn, arg, cmd, (size_t) len);
    redisFreeCommand(cmd);
    return rc;
}

int rw_aredis_command(rw_aredis_t *self, rw_aredis_fn *fn, void *arg, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    int len;

    if (!self || !fmt)
        return RW_EINVAL;
    if (!self->connected)
        return RW_EAGAIN;
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    return command_formatted(self, fn, arg, cmd, len);
}

/* "$<n>\r\n" at p; returns the end. */
static char *put_len(char *p, char mark, size_t n)
{
    char digits[24];
    int k = 0;
    do
        digits[k++] = (char) ('0' + n % 10);
    while ((n /= 10) > 0);
    *p++ = mark;
    while (k > 0)
        *p++ = digits[--k];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* What redisFormatCommandArgv() writes, without its sprintf per argument (a hot path: every
 * route decision). *target is freed with redisFreeCommand(). */
static int format_argv(char **target, int argc, const char **argv, const size_t *argvlen)
{
    size_t total = 24;
    for (int i = 0; i < argc; i++)
        total += 24 + (argvlen ? argvlen[i] : strlen(argv[i]));
    char *cmd = malloc(total), *p = cmd;
    if (!cmd)
        return -1;
    p = put_len(p, '*', (size_t) argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        p = put_len(p, '$', n);
        memcpy(p, argv[i], n);
        p += n;
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
    *target = cmd;
    return (int) (p - cmd);
}

int rw_aredis_commandargv(rw_aredis_t *self, rw_aredis_fn *fn, void *arg,
                          int argc, const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;

    if (!self || argc <= 0 || !argv)
        return RW_EINVAL;
    if (!self->connected)
        return RW_EAGAIN;
    int len = format_argv(&cmd, argc, argv, argvlen);
    return command_formatted(self, fn, arg, cmd, len);
}

/* ---- Connection --------------------------------------------------------------------------- */

static void set_up(rw_aredis_t *self)
{
    self->connected = true;
    rw_log_info("redis_connected", RW_S("role", self->is_replica ? "replica" : "master"));
    report(self, true);
}

static void on_login_reply(void *arg, redisReply *r)
{
    rw_aredis_t *self = arg;

    if (!r)
        return;                  /* the connection went away; it is already handled */
    if (r->type == REDIS_REPLY_ERROR) {
        rw_log_error("redis_login_failed", RW_S("error", r->str));
        self->kill = true;       /* free the context from the timer, not from here */
        arm_deadline(self);
    } else if (--self->login_left == 0) {
        self->backoff_ms = 0;
        set_up(self);
    }
}

static void send_login(rw_aredis_t *self)
{
    const rw_redis_opts_t *o = &self->cf.o;
    char *cmd = NULL;
    int len;

    self->login_left = (o->password[0] != '\0') + (o->db > 0);
    if (o->password[0]) {
        len = redisFormatCommand(&cmd, "AUTH %s", o->password);
        if (len < 0 || send_formatted(self, on_login_reply, self, cmd, (size_t) len) != 0)
            self->kill = true;
        redisFreeCommand(cmd);
    }
    if (o->db > 0) {
        len = redisFormatCommand(&cmd, "SELECT %d", o->db);
        if (len < 0 || send_formatted(self, on_login_reply, self, cmd, (size_t) len) != 0)
            self->kill = true;
        redisFreeCommand(cmd);
    }
    if (self->kill)
        arm_deadline(self);
    else if (self->login_left == 0)
        set_up(self);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rw_aredis_t *self = ac->data;

    if (!self)
        return;
    self->connecting = false;
    if (status != REDIS_OK) {
        went_down(self, ac->errstr[0] ? ac->errstr : "connect failed");  /* hiredis frees ac */
        return;
    }
    send_login(self);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rw_aredis_t *self = ac->data;

    (void) status;
    if (self)
        went_down(self, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void discovery_unref(discovery_t *d)
{
    if (atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    close(d->fd);
    rw_redis_conf_fini(&d->cf);
    free(d);
}

static void *discovery_run(void *arg)
{
    discovery_t *d = arg;
    uint64_t one = 1;

    d->rc = d->is_replica ? rw_redis_sentinel_replica(&d->cf.o, d->host, sizeof d->host, &d->port)
                          : rw_redis_sentinel_master(&d->cf.o, d->host, sizeof d->host, &d->port);
    atomic_store_explicit(&d->done, true, memory_order_release);
    if (write(d->fd, &one, sizeof one) != (ssize_t) sizeof one)
        rw_log_error("redis_discovery_wake_failed");
    discovery_unref(d);
    return NULL;
}

/* Stop watching the discovery under way; its thread finishes on its own. */
static void discovery_abandon(rw_aredis_t *self)
{
    if (!self->discovery)
        return;
    if (self->discovery_index > 0)
        su_root_deregister(self->root, self->discovery_index);
    self->discovery_index = 0;
    discovery_unref(self->discovery);
    self->discovery = NULL;
}

static void connect_to(rw_aredis_t *self, const char *host, int port);

static int on_discovered(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    rw_aredis_t *self = (rw_aredis_t *) arg;
    discovery_t *d = self->discovery;
    char host[64];
    int port, rc;

    (void) magic;
    (void) w;
    if (!d || !atomic_load_explicit(&d->done, memory_order_acquire))
        return 0;
    rc = d->rc;
    port = d->port;
    snprintf(host, sizeof host, "%s", d->host);
    discovery_abandon(self);
    if (rc != 0) {
        /* A replica may stay missing for hours (the old master not back after a failover):
         * said once until one is found again, not at every attempt. */
        if (!self->is_replica)
            rw_log_warn("redis_master_unknown", RW_S("master_name", self->cf.o.master_name));
        else if (!self->replica_missing)
            rw_log_warn("redis_replica_unknown", RW_S("master_name", self->cf.o.master_name));
        self->replica_missing = self->is_replica;
        schedule_retry(self);
        return 0;
    }
    self->replica_missing = false;
    connect_to(self, host, port);
    return 0;
}

/* Ask the sentinels on a thread; its answer comes to on_discovered. */
static int discovery_start(rw_aredis_t *self)
{
    discovery_t *d = calloc(1, sizeof *d);
    pthread_attr_t attr;
    pthread_t tid;
    int rc;

    if (!d)
        return RW_ENOMEM;
    d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->fd < 0 || rw_redis_conf_init(&d->cf, &self->cf.o) != 0) {
        if (d->fd >= 0)
            close(d->fd);
        free(d);
        return RW_ENOMEM;
    }
    d->is_replica = self->is_replica;
    atomic_init(&d->refs, 2);
    atomic_init(&d->done, false);
    su_wait_create(&self->discovery_wait, d->fd, SU_WAIT_IN);
    self->discovery_index = su_root_register(self->root, &self->discovery_wait, on_discovered,
                                             (su_wakeup_arg_t *) self, 0);
    self->discovery = d;
    if (self->discovery_index <= 0) {
        atomic_store(&d->refs, 1);
        discovery_abandon(self);
        return RW_EIO;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, discovery_run, d);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_store(&d->refs, 1);      /* no thread: this reference is the last */
        discovery_abandon(self);
        return RW_EIO;
    }
    return 0;
}

static void connect_to(rw_aredis_t *self, const char *host, int port)
{
    redisAsyncContext *ac = redisAsyncConnect(host, port);

    if (!ac || ac->err || rw_redis_su_attach(self->root, ac) != REDIS_OK) {
        rw_log_warn("redis_connect_failed", RW_S("host", host), RW_I("port", port),
                    RW_S("error", ac && ac->errstr[0] ? ac->errstr : "no context"));
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(self);
        return;
    }
    ac->data = self;
    self->ac = ac;
    self->connecting = true;
    self->connect_deadline_ms = rw_clock_mono_ms() + (uint64_t) self->cf.o.connect_timeout_ms;
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    redisAsyncSetConnectCallback(ac, on_connect);
    arm_deadline(self);
}

static void start_connect(rw_aredis_t *self)
{
    if (self->ac || self->discovery || self->destroying)
        return;
    if (!rw_redis_conf_has_sentinels(&self->cf)) {
        connect_to(self, self->cf.host, self->cf.o.port);
        return;
    }
    if (discovery_start(self) != 0) {
        rw_log_warn("redis_discovery_failed", RW_S("error", "no thread or eventfd"));
        schedule_retry(self);
    }
}

static rw_aredis_t *aredis_new(su_root_t *root, const rw_redis_opts_t *opts, bool is_replica)
{
    rw_aredis_t *self;

    if (!root || !(self = calloc(1, sizeof *self)))
        return NULL;
    self->root = root;
    self->is_replica = is_replica;
    if (rw_redis_conf_init(&self->cf, opts) != 0) {
        free(self);
        return NULL;
    }
    self->retry_timer = rw_sutimer_lazy(root, 0);
    self->deadline_timer = rw_sutimer_lazy(root, 0);
    if (!self->retry_timer || !self->deadline_timer)
        goto fail;
    start_connect(self);
    return self;
fail:
    rw_aredis_destroy(&self);
    return NULL;
}

rw_aredis_t *rw_aredis_new(su_root_t *root, const rw_redis_opts_t *opts)
{
    return aredis_new(root, opts, false);
}

rw_aredis_t *rw_aredis_replica(rw_aredis_t *self)
{
    if (!self || self->is_replica || self->destroying || !rw_redis_conf_has_sentinels(&self->cf))
        return NULL;
    if (!self->replica)
        self->replica = aredis_new(self->root, &self->cf.o, true);
    return self->replica;
}

void rw_aredis_destroy(rw_aredis_t **selfp)
{
    rw_aredis_t *self;

    if (!selfp || !(self = *selfp))
        return;
    self->destroying = true;
    rw_aredis_destroy(&self->replica);
    discovery_abandon(self);
    if (self->retry_timer)
        su_timer_destroy(self->retry_timer);
    if (self->deadline_timer)
        su_timer_destroy(self->deadline_timer);
    self->retry_timer = self->deadline_timer = NULL;
    drop_connection(self, "destroyed");     /* pending callbacks get NULL here */
    while (self->head)                      /* none should be left; keep the promise anyway */
        on_reply(NULL, NULL, self->head);
    rw_redis_conf_fini(&self->cf);
    free(self);
    *selfp = NULL;
}

bool rw_aredis_connected(const rw_aredis_t *self)
{
    return self && self->connected;
}

void rw_aredis_on_state(rw_aredis_t *self, void (*fn)(void *arg, bool up), void *arg)
{
    if (!self)
        return;
    self->state_fn = fn;
    self->state_arg = arg;
}
