/* tests/unit/common/redis_test.c — the blocking and asynchronous Redis clients against a real
 * redis-server (and a real redis-sentinel): commands, timeouts while Redis is stopped, failure
 * and recovery when it is killed and restarted, back-off, destroy with commands in flight,
 * AUTH/SELECT, and finding the master through Sentinel. Each test runs in its own child with
 * its own servers. Check kills a test child's process group when it ends, so no server outlives
 * a failed test; the atexit hook also stops them when a test exits any other way. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/redis.h"
#include "common/sutimer.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static pid_t sentinel_pid;
static int sentinel_port;
static char sentinel_dir[256];
static su_root_t *root;

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ ms / 1000, (long) (ms % 1000) * 1000000L }, NULL);
}

static void kill_servers(void)
{
    if (sentinel_pid > 0) {
        rw_proc_stop(sentinel_pid, 2000);
        sentinel_pid = 0;
    }
    if (sentinel_dir[0]) {
        char path[320];
        const char *files[] = { "sentinel.conf", "sentinel.log", NULL };
        for (int i = 0; files[i]; i++) {
            snprintf(path, sizeof path, "%s/%s", sentinel_dir, files[i]);
            unlink(path);
        }
        rmdir(sentinel_dir);
        sentinel_dir[0] = '\0';
    }
    rw_redis_fixture_stop(&fx);
}

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    atexit(kill_servers);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
}

static void teardown_redis(void)
{
    su_root_destroy(root);
    root = NULL;
    su_deinit();
    kill_servers();
}

static rw_redis_opts_t opts_for(int port)
{
    return (rw_redis_opts_t){ .host = "127.0.0.1", .port = port, .connect_timeout_ms = 300,
                              .command_timeout_ms = 300, .backoff_min_ms = 50,
                              .backoff_max_ms = 400 };
}

/* ---- Blocking client ----------------------------------------------------------------- */

START_TEST(test_sync_command_round_trips_and_error_replies_are_replies)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_redis_t *r = rw_redis_new(&o);
    redisReply *rep;

    ck_assert_ptr_nonnull(r);
    rep = rw_redis_command(r, "SET %s %s", "greeting", "hello");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    const char *argv[] = { "GET", "greeting" };
    rep = rw_redis_commandargv(r, 2, argv, NULL);
    ck_assert_ptr_nonnull(rep);
    ck_assert_str_eq(rep->str, "hello");
    freeReplyObject(rep);
    rep = rw_redis_command(r, "INCR greeting");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    ck_assert(rw_redis_connected(r));
    rw_redis_destroy(&r);
    ck_assert_ptr_null(r);
    rw_redis_destroy(&r);
}
END_TEST

START_TEST(test_sync_killed_server_fails_fast_then_recovers_after_backoff)
{
    rw_redis_opts_t o = opts_for(fx.port);
    o.backoff_min_ms = 1500;
    o.backoff_max_ms = 3000;
    rw_redis_t *r = rw_redis_new(&o);
    redisReply *rep = rw_redis_command(r, "PING");

    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    rw_redis_fixture_kill(&fx);
    uint64_t failed_at = rw_clock_mono_ms();
    ck_assert_ptr_null(rw_redis_command(r, "PING"));
    ck_assert_uint_lt(rw_clock_mono_ms() - failed_at, 400);
    ck_assert(!rw_redis_connected(r));

    ck_assert_int_eq(rw_redis_fixture_restart(&fx), 0);
    uint64_t t = rw_clock_mono_ms();
    ck_assert_msg(t - failed_at < 1300, "restart took too long to test the back-off");
    ck_assert_ptr_null(rw_redis_command(r, "PING"));     /* Redis is up, back-off holds */
    ck_assert_uint_lt(rw_clock_mono_ms() - t, 50);        /* ... without trying to connect */

    sleep_ms((int) (failed_at + 1550 - rw_clock_mono_ms()));
    rep = rw_redis_command(r, "PING");
    ck_assert_ptr_nonnull(rep);
    ck_assert_str_eq(rep->str, "PONG");
    freeReplyObject(rep);
    ck_assert(rw_redis_connected(r));
    rw_redis_destroy(&r);
}
END_TEST

START_TEST(test_sync_stopped_server_times_out_within_command_timeout)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_redis_t *r = rw_redis_new(&o);
    redisReply *rep = rw_redis_command(r, "PING");

    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    rw_redis_fixture_suspend(&fx);
    uint64_t t = rw_clock_mono_ms();
    ck_assert_ptr_null(rw_redis_command(r, "PING"));
    uint64_t took = rw_clock_mono_ms() - t;
    ck_assert_uint_ge(took, 250);
    ck_assert_uint_lt(took, 800);
    rw_redis_fixture_resume(&fx);
    sleep_ms(100);                                        /* past the 50 ms back-off */
    rep = rw_redis_command(r, "PING");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    rw_redis_destroy(&r);
}
END_TEST

START_TEST(test_sync_starts_while_redis_is_down)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_redis_fixture_kill(&fx);
    rw_redis_t *r = rw_redis_new(&o);

    ck_assert_ptr_nonnull(r);
    uint64_t t = rw_clock_mono_ms();
    ck_assert_ptr_null(rw_redis_command(r, "PING"));
    ck_assert_uint_lt(rw_clock_mono_ms() - t, 400);
    ck_assert(!rw_redis_connected(r));
    rw_redis_destroy(&r);
}
END_TEST

START_TEST(test_sync_auth_and_select_are_sent_after_connect)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_redis_t *admin = rw_redis_new(&o);
    redisReply *rep = rw_redis_command(admin, "CONFIG SET requirepass s3cret");

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    rw_redis_destroy(&admin);

    rw_redis_t *anon = rw_redis_new(&o);
    rep = rw_redis_command(anon, "GET x");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_ERROR);        /* NOAUTH */
    freeReplyObject(rep);
    rw_redis_destroy(&anon);

    o.password = "wrong";
    rw_redis_t *bad = rw_redis_new(&o);
    ck_assert_ptr_null(rw_redis_command(bad, "PING"));
    rw_redis_destroy(&bad);

    o.password = "s3cret";
    o.db = 3;
    rw_redis_t *r = rw_redis_new(&o);
    rep = rw_redis_command(r, "SET where db3");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    o.db = 0;
    rw_redis_t *r0 = rw_redis_new(&o);
    rep = rw_redis_command(r0, "GET where");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_NIL);
    freeReplyObject(rep);
    rep = rw_redis_command(r0, "SELECT 3");
    freeReplyObject(rep);
    rep = rw_redis_command(r0, "GET where");
    ck_assert_str_eq(rep->str, "db3");
    freeReplyObject(rep);
    rw_redis_destroy(&r0);
    rw_redis_destroy(&r);
}
END_TEST

/* ---- Asynchronous client ------------------------------------------------------------- */

typedef struct {
    int calls, nulls, ints, errors;
    long long last;
    int ups, downs;
} tally_t;

static void on_tally(void *arg, redisReply *r)
{
    tally_t *t = arg;
    t->calls++;
    if (!r)
        t->nulls++;
    else if (r->type == REDIS_REPLY_INTEGER) {
        t->ints += r->integer == t->last + 1;
        t->last = r->integer;
    } else if (r->type == REDIS_REPLY_ERROR)
        t->errors++;
}

static void on_state(void *arg, bool up)
{
    tally_t *t = arg;
    if (up)
        t->ups++;
    else
        t->downs++;
}

/* Drive the loop until cond holds or ms milliseconds pass. */
#define RUN_UNTIL(cond, ms)                                                     \
    do {                                                                        \
        uint64_t until_ = rw_clock_mono_ms() + (ms);                            \
        while (!(cond) && rw_clock_mono_ms() < until_)                          \
            su_root_step(root, 10);                                             \
    } while (0)

static rw_aredis_t *connected_aredis(rw_redis_opts_t *o, tally_t *st)
{
    rw_aredis_t *a = rw_aredis_new(root, o);
    ck_assert_ptr_nonnull(a);
    if (st)
        rw_aredis_on_state(a, on_state, st);
    RUN_UNTIL(rw_aredis_connected(a), 2000);
    ck_assert(rw_aredis_connected(a));
    return a;
}

START_TEST(test_async_answers_1000_pipelined_incrs_in_order)
{
    rw_redis_opts_t o = opts_for(fx.port);
    tally_t t = { 0 };
    rw_aredis_t *a = connected_aredis(&o, NULL);

    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "INCR %s", "counter"), 0);
    RUN_UNTIL(t.calls == 1000, 5000);
    ck_assert_int_eq(t.calls, 1000);
    ck_assert_int_eq(t.ints, 1000);
    ck_assert_int_eq(t.last, 1000);
    const char *argv[] = { "GET", "counter" };
    ck_assert_int_eq(rw_aredis_commandargv(a, NULL, NULL, 2, argv, NULL), 0);  /* no callback */
    ck_assert_int_eq(rw_aredis_commandargv(a, on_tally, &t, 2, argv, NULL), 0);
    RUN_UNTIL(t.calls == 1001, 2000);
    ck_assert_int_eq(t.calls, 1001);
    rw_aredis_destroy(&a);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(t.calls, 1001);
}
END_TEST

/* A command far larger than the socket buffer leaves in several writes (the adapter waits
 * for EPOLLOUT after a partial one); a command issued from a reply callback still leaves
 * before the loop sleeps. */
typedef struct {
    rw_aredis_t *a;
    int left, answers;
    long long len;
} chain_t;

static void on_chain(void *arg, redisReply *r)
{
    chain_t *ch = arg;
    if (!r)
        return;
    ch->answers++;
    if (r->type == REDIS_REPLY_INTEGER)
        ch->len = r->integer;
    if (ch->left > 0 && ch->left--)
        rw_aredis_command(ch->a, on_chain, ch, "STRLEN %s", "big");
}

START_TEST(test_async_large_command_and_commands_from_callbacks_are_written)
{
    rw_redis_opts_t o = opts_for(fx.port);
    /* 16 MB through the sanitizers on a busy machine: the command timeout must bound a hang,
     * not the machine's speed. */
    o.command_timeout_ms = 8000;
    rw_aredis_t *a = connected_aredis(&o, NULL);
    size_t big = 16u << 20;
    char *value = malloc(big);
    ck_assert_ptr_nonnull(value);
    memset(value, 'v', big);
    const char *argv[] = { "SET", "big", value };
    size_t lens[] = { 3, 3, big };
    chain_t ch = { .a = a, .left = 100 };
    ck_assert_int_eq(rw_aredis_commandargv(a, on_chain, &ch, 3, argv, lens), 0);
    free(value);
    RUN_UNTIL(ch.answers == 101, 20000);
    ck_assert_int_eq(ch.answers, 101);
    ck_assert_int_eq(ch.len, (long long) big);
    rw_aredis_destroy(&a);
}
END_TEST

/* A command issued from a lazy (deferrable) timer's callback is written before the loop
 * sleeps: Sofia runs deferrable timers after computing how long to sleep, so a flush that
 * waited for the next turn would sleep up to max_defer (3 s here) with the command unsent. */
typedef struct {
    rw_aredis_t *a;
    int answered;
} lazy_t;

static void on_lazy_pong(void *arg, redisReply *r)
{
    lazy_t *lz = arg;
    lz->answered = r && r->type == REDIS_REPLY_STATUS;
    su_root_break(root);
}

static void on_lazy(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    lazy_t *lz = (lazy_t *) arg;
    (void) m;
    (void) t;
    if (rw_aredis_command(lz->a, on_lazy_pong, lz, "PING") != 0)
        su_root_break(root);
}

START_TEST(test_async_command_from_a_lazy_timer_is_written_before_the_loop_sleeps)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_aredis_t *a = connected_aredis(&o, NULL);
    lazy_t lz = { .a = a };
    su_timer_t *t = rw_sutimer_lazy(root, 0);
    ck_assert_ptr_nonnull(t);
    su_root_set_max_defer(root, 3000);
    ck_assert_int_eq(su_timer_set_interval(t, on_lazy, (su_timer_arg_t *) &lz, 0), 0);
    uint64_t t0 = rw_clock_mono_ms();
    su_root_run(root);
    uint64_t took = rw_clock_mono_ms() - t0;
    su_root_set_max_defer(root, RW_SUTIMER_SLACK_MS);
    su_timer_destroy(t);
    rw_aredis_destroy(&a);
    ck_assert(lz.answered);
    ck_assert_msg(took < 1000, "PING from a lazy timer answered after %llu ms", (unsigned long long) took);
}
END_TEST

START_TEST(test_async_stopped_server_fails_pending_after_command_timeout)
{
    rw_redis_opts_t o = opts_for(fx.port);
    tally_t t = { 0 }, st = { 0 };
    rw_aredis_t *a = connected_aredis(&o, &st);

    rw_redis_fixture_suspend(&fx);
    uint64_t t0 = rw_clock_mono_ms();
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "PING"), 0);
    RUN_UNTIL(t.calls == 10, 3000);
    uint64_t took = rw_clock_mono_ms() - t0;
    ck_assert_int_eq(t.calls, 10);
    ck_assert_int_eq(t.nulls, 10);
    ck_assert_uint_ge(took, 280);
    ck_assert_uint_lt(took, 2500);     /* failed by the 300 ms timeout, not the 3 s wait */
    ck_assert_int_eq(st.downs, 1);

    RUN_UNTIL(0, 200);                                    /* nothing is called twice */
    ck_assert_int_eq(t.calls, 10);
    rw_redis_fixture_resume(&fx);
    RUN_UNTIL(rw_aredis_connected(a), 2000);
    ck_assert(rw_aredis_connected(a));
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "INCR n"), 0);
    RUN_UNTIL(t.calls == 11, 2000);
    ck_assert_int_eq(t.nulls, 10);
    ck_assert_int_eq(t.ints, 1);
    rw_aredis_destroy(&a);
}
END_TEST

START_TEST(test_async_killed_server_fails_pending_and_reconnects_by_itself)
{
    rw_redis_opts_t o = opts_for(fx.port);
    tally_t t = { 0 }, st = { 0 };
    rw_aredis_t *a = connected_aredis(&o, &st);

    ck_assert_int_eq(st.ups, 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "BLPOP nothing 0"), 0);
    RUN_UNTIL(0, 50);
    rw_redis_fixture_kill(&fx);
    RUN_UNTIL(t.calls == 5, 2000);
    ck_assert_int_eq(t.nulls, 5);
    ck_assert_int_eq(st.downs, 1);
    ck_assert(!rw_aredis_connected(a));
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "PING"), RW_EAGAIN);
    RUN_UNTIL(0, 600);                                    /* a few refused reconnects */
    ck_assert_int_eq(t.calls, 5);

    ck_assert_int_eq(rw_redis_fixture_restart(&fx), 0);
    RUN_UNTIL(rw_aredis_connected(a), 3000);
    ck_assert(rw_aredis_connected(a));
    ck_assert_int_eq(st.ups, 2);
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "INCR k"), 0);
    RUN_UNTIL(t.calls == 6, 2000);
    ck_assert_int_eq(t.ints, 1);
    rw_aredis_destroy(&a);
}
END_TEST

START_TEST(test_async_destroy_calls_every_pending_callback_with_null)
{
    rw_redis_opts_t o = opts_for(fx.port);
    o.command_timeout_ms = 5000;
    tally_t t = { 0 };
    rw_aredis_t *a = connected_aredis(&o, NULL);

    rw_redis_fixture_suspend(&fx);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "PING"), 0);
    RUN_UNTIL(0, 100);                                    /* written, never answered */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "PING"), 0);  /* not even sent */
    ck_assert_int_eq(t.calls, 0);
    rw_aredis_destroy(&a);
    ck_assert_int_eq(t.calls, 5);
    ck_assert_int_eq(t.nulls, 5);
    rw_redis_fixture_resume(&fx);
}
END_TEST

START_TEST(test_async_refuses_commands_until_connected_even_from_a_down_start)
{
    rw_redis_opts_t o = opts_for(fx.port);
    tally_t t = { 0 }, st = { 0 };

    rw_redis_fixture_kill(&fx);
    rw_aredis_t *a = rw_aredis_new(root, &o);
    ck_assert_ptr_nonnull(a);
    rw_aredis_on_state(a, on_state, &st);
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "PING"), RW_EAGAIN);
    RUN_UNTIL(0, 300);
    ck_assert(!rw_aredis_connected(a));
    ck_assert_int_eq(rw_redis_fixture_restart(&fx), 0);
    RUN_UNTIL(rw_aredis_connected(a), 3000);
    ck_assert(rw_aredis_connected(a));
    ck_assert_int_eq(st.ups, 1);
    ck_assert_int_eq(t.calls, 0);
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "SUBSCRIBE %s", "chan"), RW_EINVAL);
    rw_aredis_destroy(&a);
    ck_assert_int_eq(t.calls, 0);
}
END_TEST

START_TEST(test_async_auth_and_select_come_first)
{
    rw_redis_opts_t o = opts_for(fx.port);
    rw_redis_t *admin = rw_redis_new(&o);
    redisReply *rep = rw_redis_command(admin, "CONFIG SET requirepass s3cret");
    tally_t t = { 0 }, st = { 0 };

    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    rw_redis_destroy(&admin);

    o.password = "wrong";
    rw_aredis_t *bad = rw_aredis_new(root, &o);
    rw_aredis_on_state(bad, on_state, &st);
    RUN_UNTIL(0, 300);
    ck_assert(!rw_aredis_connected(bad));
    ck_assert_int_eq(st.ups, 0);
    rw_aredis_destroy(&bad);

    o.password = "s3cret";
    o.db = 5;
    rw_aredis_t *a = connected_aredis(&o, NULL);
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "INCR in5"), 0);
    RUN_UNTIL(t.calls == 1, 2000);
    ck_assert_int_eq(t.ints, 1);
    rw_aredis_destroy(&a);

    o.db = 0;
    rw_redis_t *r = rw_redis_new(&o);
    rep = rw_redis_command(r, "EXISTS in5");
    ck_assert_int_eq(rep->integer, 0);
    freeReplyObject(rep);
    freeReplyObject(rw_redis_command(r, "SELECT 5"));
    rep = rw_redis_command(r, "GET in5");
    ck_assert_str_eq(rep->str, "1");
    freeReplyObject(rep);
    rw_redis_destroy(&r);
}
END_TEST

/* ---- Sentinel ------------------------------------------------------------------------- */

static bool sentinel_knows_master(void)
{
    struct timeval tv = { 0, 200000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", sentinel_port, tv);
    bool ok = false;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name ringway");
        ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static void setup_sentinel(void)
{
    char conf[320], log[320];
    FILE *f;

    setup_redis();
    snprintf(sentinel_dir, sizeof sentinel_dir, "%s/rw-sentinel-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(sentinel_dir));
    sentinel_port = rw_proc_free_port();
    snprintf(conf, sizeof conf, "%s/sentinel.conf", sentinel_dir);
    snprintf(log, sizeof log, "%s/sentinel.log", sentinel_dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
               "sentinel monitor ringway 127.0.0.1 %d 1\n",
            sentinel_port, sentinel_dir, fx.port);
    fclose(f);
    const char *argv[] = { "redis-server", conf, "--sentinel", NULL };
    sentinel_pid = rw_proc_spawn(argv, NULL, log);
    ck_assert_int_gt(sentinel_pid, 0);
    for (int i = 0; i < 100 && !sentinel_knows_master(); i++)
        sleep_ms(50);
    ck_assert(sentinel_knows_master());
}

static rw_redis_opts_t sentinel_opts(const char *sentinels, const char *name)
{
    rw_redis_opts_t o = opts_for(1);                      /* host/port unused with sentinels */
    o.host = "192.0.2.1";
    o.sentinels = sentinels;
    o.master_name = name;
    return o;
}

START_TEST(test_sentinel_finds_master_skipping_a_dead_sentinel)
{
    char list[128], host[64] = "";
    int port = 0;

    snprintf(list, sizeof list, "127.0.0.1:%d, 127.0.0.1:%d", rw_proc_free_port(), sentinel_port);
    rw_redis_opts_t o = sentinel_opts(list, "ringway");
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, fx.port);
}
END_TEST

START_TEST(test_sentinel_unknown_name_is_not_found)
{
    char list[64], host[64] = "";
    int port = 0;

    snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port);
    rw_redis_opts_t o = sentinel_opts(list, "nosuchmaster");
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), RW_ENOTFOUND);
    o.sentinels = "";
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), RW_ENOTFOUND);
}
END_TEST

START_TEST(test_sentinel_answer_is_refused_when_role_is_not_master)
{
    char list[64], host[64];
    int port;
    rw_redis_opts_t direct = opts_for(fx.port);
    rw_redis_t *admin = rw_redis_new(&direct);

    /* Make the monitored server a replica of a dead port: the sentinel's answer is stale. */
    freeReplyObject(rw_redis_command(admin, "REPLICAOF 127.0.0.1 %d", rw_proc_free_port()));
    snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port);
    rw_redis_opts_t o = sentinel_opts(list, "ringway");
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), RW_ENOTFOUND);
    freeReplyObject(rw_redis_command(admin, "REPLICAOF NO ONE"));
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), 0);
    rw_redis_destroy(&admin);
}
END_TEST

START_TEST(test_sentinel_without_replicas_names_none)
{
    char list[64], host[64] = "";
    int port = 0;

    snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port);
    rw_redis_opts_t o = sentinel_opts(list, "ringway");
    ck_assert_int_eq(rw_redis_sentinel_replica(&o, host, sizeof host, &port), RW_ENOTFOUND);
    ck_assert_int_eq(rw_redis_sentinel_master(&o, host, sizeof host, &port), 0);
    rw_aredis_t *a = connected_aredis(&o, NULL);
    rw_aredis_t *rep = rw_aredis_replica(a);
    ck_assert_ptr_nonnull(rep);                      /* made, but finds nothing to connect to */
    for (int i = 0; i < 30; i++)
        su_root_step(root, 10);
    ck_assert(!rw_aredis_connected(rep));
    ck_assert(rw_aredis_connected(a));
    rw_aredis_destroy(&a);                           /* the replica connection with it */
    o.sentinels = "";
    o.host = "127.0.0.1";
    o.port = fx.port;
    a = connected_aredis(&o, NULL);
    ck_assert_ptr_null(rw_aredis_replica(a));        /* no sentinels: no replica to find */
    rw_aredis_destroy(&a);
}
END_TEST

START_TEST(test_clients_reach_the_master_through_sentinel)
{
    char list[64];
    tally_t t = { 0 };

    snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port);
    rw_redis_opts_t o = sentinel_opts(list, "ringway");
    rw_redis_t *r = rw_redis_new(&o);
    redisReply *rep = rw_redis_command(r, "INCR via_sentinel");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->integer, 1);
    freeReplyObject(rep);
    rw_redis_destroy(&r);

    rw_aredis_t *a = connected_aredis(&o, NULL);
    t.last = 1;
    ck_assert_int_eq(rw_aredis_command(a, on_tally, &t, "INCR via_sentinel"), 0);
    RUN_UNTIL(t.calls == 1, 2000);
    ck_assert_int_eq(t.ints, 1);
    ck_assert_int_eq(t.last, 2);
    rw_aredis_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis");
    TCase *tc = tcase_create("sync");
    tcase_add_checked_fixture(tc, setup_redis, teardown_redis);
    tcase_add_test(tc, test_sync_command_round_trips_and_error_replies_are_replies);
    tcase_add_test(tc, test_sync_killed_server_fails_fast_then_recovers_after_backoff);
    tcase_add_test(tc, test_sync_stopped_server_times_out_within_command_timeout);
    tcase_add_test(tc, test_sync_starts_while_redis_is_down);
    tcase_add_test(tc, test_sync_auth_and_select_are_sent_after_connect);
    suite_add_tcase(s, tc);

    tc = tcase_create("async");
    tcase_add_checked_fixture(tc, setup_redis, teardown_redis);
    tcase_add_test(tc, test_async_answers_1000_pipelined_incrs_in_order);
    tcase_add_test(tc, test_async_large_command_and_commands_from_callbacks_are_written);
    tcase_add_test(tc, test_async_command_from_a_lazy_timer_is_written_before_the_loop_sleeps);
    tcase_add_test(tc, test_async_stopped_server_fails_pending_after_command_timeout);
    tcase_add_test(tc, test_async_killed_server_fails_pending_and_reconnects_by_itself);
    tcase_add_test(tc, test_async_destroy_calls_every_pending_callback_with_null);
    tcase_add_test(tc, test_async_refuses_commands_until_connected_even_from_a_down_start);
    tcase_add_test(tc, test_async_auth_and_select_come_first);
    suite_add_tcase(s, tc);

    tc = tcase_create("sentinel");
    tcase_add_checked_fixture(tc, setup_sentinel, teardown_redis);
    tcase_add_test(tc, test_sentinel_finds_master_skipping_a_dead_sentinel);
    tcase_add_test(tc, test_sentinel_unknown_name_is_not_found);
    tcase_add_test(tc, test_sentinel_answer_is_refused_when_role_is_not_master);
    tcase_add_test(tc, test_clients_reach_the_master_through_sentinel);
    tcase_add_test(tc, test_sentinel_without_replicas_names_none);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
