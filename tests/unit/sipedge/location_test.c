/* tests/unit/sipedge/location_test.c — the location store against a real redis-server:
 * encoding, add/refresh/remove/"*", q order, max bindings, expiry (never returned, swept with
 * an event), and lookups from memory while Redis is stopped or gone; bindings tagged with the
 * device they registered as, checked against the directory, "*" of a device. With a real
 * replica and Sentinel: lookups of AORs never seen before answered by the replica while the
 * master is stopped or killed. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "common/clock.h"
#include "common/err.h"
#include "services/sip-edge/location.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

static rw_redis_fixture_t fx;
static su_root_t *root;
static rw_aredis_t *redis;
static rw_location_t *loc;
static const char *AOR = "sip:2001@ringway.local";

typedef struct {
    int done, status, from_cache, inside;
    size_t n, n_gone, n_expired_gone;
    rw_binding_t b[RW_LOCATION_MAX_BINDINGS];
} result_t;

static int in_call;

static void on_lookup(void *arg, int status, const rw_binding_t *b, size_t n, int from_cache)
{
    result_t *r = arg;
    r->inside = in_call;
    r->done = 1;
    r->status = status;
    r->n = n;
    r->from_cache = from_cache;
    if (n)
        memcpy(r->b, b, n * sizeof *b);
}

static void on_update(void *arg, int status, const rw_binding_t *live, size_t n_live,
                      const rw_location_gone_t *gone, size_t n_gone)
{
    result_t *r = arg;
    on_lookup(arg, status, live, n_live, 0);
    r->n_gone = n_gone;
    for (size_t i = 0; i < n_gone; i++)
        r->n_expired_gone += gone[i].expired;
}

static void run_until(const int *flag, int ms)
{
    uint64_t end = rw_clock_mono_ms() + (uint64_t) ms;
    while (!*flag && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
}

static rw_binding_t binding(const char *contact, float q, int seconds, const char *instance)
{
    rw_binding_t b;
    memset(&b, 0, sizeof b);
    snprintf(b.aor, sizeof b.aor, "%s", AOR);
    snprintf(b.contact, sizeof b.contact, "%s", contact);
    snprintf(b.instance, sizeof b.instance, "%s", instance ? instance : "");
    snprintf(b.user_agent, sizeof b.user_agent, "test\tphone");
    b.q = q;
    b.expires_ms = seconds ? rw_clock_wall_ms() + (uint64_t) seconds * 1000 : 0;
    return b;
}

static result_t update(int remove_all, const rw_binding_t *b, size_t n, size_t max)
{
    result_t r;
    memset(&r, 0, sizeof r);
    in_call = 1;
    ck_assert_int_eq(rw_location_update(loc, AOR, remove_all, b, n, max, on_update, &r), 0);
    in_call = 0;
    run_until(&r.done, 3000);
    ck_assert(r.done);
    ck_assert(!r.inside);
    return r;
}

static result_t update_device(const char *device, int remove_all, const rw_binding_t *b, size_t n)
{
    result_t r;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(rw_location_update_device(loc, AOR, "alice", device, remove_all, b, n, 0,
                                               on_update, &r), 0);
    run_until(&r.done, 3000);
    ck_assert(r.done);
    return r;
}

static void on_done(void *arg, redisReply *rep)
{
    (void) rep;
    *(int *) arg = 1;
}

/* alice's directory entry: two SIP devices on her own AOR, one with an AOR of its own, a mobile. */
static void alice_devices(void)
{
    int done = 0;
    ck_assert_int_eq(rw_aredis_command(redis, on_done, &done, "HSET rw:user:alice:devices desk %s "
                                       "soft %s mobile %s other %s", "sip ", "sip ",
                                       "number +447700900001", "sip sip:2999@ringway.local"), 0);
    run_until(&done, 3000);
    ck_assert(done);
}

static rw_binding_t device_binding(const char *contact, const char *device)
{
    rw_binding_t b = binding(contact, 1, 60, NULL);
    snprintf(b.device, sizeof b.device, "%s", device);
    return b;
}

static result_t lookup(void)
{
    result_t r;
    memset(&r, 0, sizeof r);
    in_call = 1;
    ck_assert_int_eq(rw_location_lookup(loc, AOR, on_lookup, &r), 0);
    in_call = 0;
    run_until(&r.done, 3000);
    ck_assert(r.done);
    ck_assert(!r.inside);
    return r;
}

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
}

static void teardown_redis(void)
{
    rw_redis_fixture_stop(&fx);
}

static void setup(void)
{
    su_init();
    root = su_root_create(NULL);
    redis = rw_redis_fixture_client(&fx, root);
    ck_assert_ptr_nonnull(redis);
    loc = rw_location_new(root, redis, NULL);
    ck_assert_ptr_nonnull(loc);
}

static void teardown(void)
{
    rw_location_destroy(&loc);
    rw_aredis_destroy(&redis);
    su_root_destroy(root);
    su_deinit();
    rw_clock_fake_wall(0);
}

START_TEST(test_encode_decode_round_trip)
{
    rw_binding_t b = binding("sip:2001@10.0.0.1:5062;transport=tcp", 0.25f, 60, "<urn:uuid:1>");
    snprintf(b.path, sizeof b.path, "<sip:edge1;lr>");
    snprintf(b.received, sizeof b.received, "sip:192.0.2.1:40000;transport=udp");
    char buf[2048];
    int n = rw_location_encode(&b, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    rw_binding_t d;
    ck_assert_int_eq(rw_location_decode(AOR, buf, (size_t) n, &d), 0);
    ck_assert_str_eq(d.aor, AOR);
    ck_assert_str_eq(d.contact, b.contact);
    ck_assert_str_eq(d.path, b.path);
    ck_assert_str_eq(d.received, b.received);
    ck_assert_str_eq(d.instance, b.instance);
    ck_assert_str_eq(d.user_agent, "test phone");            /* the tab became a space */
    ck_assert_uint_eq(d.expires_ms, b.expires_ms);
    ck_assert(d.q > 0.249f && d.q < 0.251f);
    ck_assert_int_eq(rw_location_encode(&b, buf, 20), RW_ERANGE);
}
END_TEST

START_TEST(test_device_round_trips_and_older_values_have_none)
{
    rw_binding_t b = binding("sip:2001@10.0.0.1:5062", 1, 60, NULL);
    snprintf(b.device, sizeof b.device, "desk");
    char buf[2048];
    int n = rw_location_encode(&b, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    rw_binding_t d;
    ck_assert_int_eq(rw_location_decode(AOR, buf, (size_t) n, &d), 0);
    ck_assert_str_eq(d.device, "desk");
    ck_assert_str_eq(d.user_agent, "test phone");
    ck_assert(rw_location_binding_rings(&d, "desk"));
    ck_assert(!rw_location_binding_rings(&d, "soft"));
    ck_assert(rw_location_binding_rings(&d, ""));
    ck_assert(rw_location_binding_rings(&d, NULL));
    const char *older = "99\t1000\tsip:x@1.2.3.4\t\t\t\tsome phone";   /* seven fields */
    ck_assert_int_eq(rw_location_decode(AOR, older, strlen(older), &d), 0);
    ck_assert_str_eq(d.user_agent, "some phone");
    ck_assert_str_eq(d.device, "");
    ck_assert(!rw_location_binding_rings(&d, "desk"));
    const char *newer = "99\t1000\tsip:x@1.2.3.4\t\t\t\tua\tsoft\tlater";  /* a ninth field */
    ck_assert_int_eq(rw_location_decode(AOR, newer, strlen(newer), &d), 0);
    ck_assert_str_eq(d.device, "soft");
}
END_TEST

static const char *bad_values[] = { "", "123", "abc\t1000\tsip:x\t\t\t\t", "1\t\t\t\t\t\t",
                                    "1\t1000\t\t\t\t\t" };

START_TEST(test_decode_refuses_malformed_values)
{
    rw_binding_t d;
    ck_assert_int_eq(rw_location_decode(AOR, bad_values[_i], strlen(bad_values[_i]), &d), RW_EPROTO);
}
END_TEST

START_TEST(test_bindings_come_back_highest_q_first)
{
    rw_binding_t b[3] = { binding("sip:a@127.0.0.1:1", 0.1f, 60, NULL),
                          binding("sip:b@127.0.0.1:2", 0.9f, 60, NULL),
                          binding("sip:c@127.0.0.1:3", 0.5f, 60, NULL) };
    result_t r = update(0, b, 3, 0);
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_uint_eq(r.n, 3);
    r = lookup();
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_int_eq(r.from_cache, 0);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_str_eq(r.b[0].contact, "sip:b@127.0.0.1:2");
    ck_assert_str_eq(r.b[1].contact, "sip:c@127.0.0.1:3");
    ck_assert_str_eq(r.b[2].contact, "sip:a@127.0.0.1:1");
}
END_TEST

START_TEST(test_refresh_keeps_one_binding_per_contact_and_instance)
{
    rw_binding_t b[2] = { binding("sip:a@127.0.0.1:1", 1, 60, NULL),
                          binding("sip:b@127.0.0.1:2", 1, 60, "<urn:uuid:x>") };
    update(0, b, 2, 0);
    b[0].expires_ms += 60000;
    snprintf(b[1].contact, sizeof b[1].contact, "sip:b@127.0.0.1:9");   /* moved */
    result_t r = update(0, b, 2, 0);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.n_gone, 0);
    r = lookup();
    ck_assert_uint_eq(r.n, 2);
    int moved = !strcmp(r.b[0].contact, "sip:b@127.0.0.1:9") || !strcmp(r.b[1].contact, "sip:b@127.0.0.1:9");
    ck_assert(moved);
}
END_TEST

START_TEST(test_expires_zero_removes_and_star_removes_all)
{
    rw_binding_t b[3] = { binding("sip:a@127.0.0.1:1", 1, 60, NULL),
                          binding("sip:b@127.0.0.1:2", 1, 60, NULL),
                          binding("sip:c@127.0.0.1:3", 1, 60, NULL) };
    update(0, b, 3, 0);
    rw_binding_t del = binding("sip:a@127.0.0.1:1", 1, 0, NULL);
    result_t r = update(0, &del, 1, 0);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.n_gone, 1);
    ck_assert_uint_eq(r.n_expired_gone, 0);
    r = update(1, NULL, 0, 0);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(r.n_gone, 2);
    r = lookup();
    ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_more_than_max_bindings_changes_nothing)
{
    rw_binding_t b[3] = { binding("sip:a@127.0.0.1:1", 1, 60, NULL),
                          binding("sip:b@127.0.0.1:2", 1, 60, NULL),
                          binding("sip:c@127.0.0.1:3", 1, 60, NULL) };
    update(0, b, 2, 2);
    result_t r = update(0, &b[2], 1, 2);
    ck_assert_int_eq(r.status, RW_ERANGE);
    r = lookup();
    ck_assert_uint_eq(r.n, 2);
}
END_TEST

static int expired_events;
static void on_expired(void *arg, const rw_binding_t *b)
{
    (void) arg;
    ck_assert_str_eq(b->aor, AOR);
    expired_events++;
}

START_TEST(test_expired_binding_is_never_returned_and_swept_once)
{
    rw_clock_fake_wall(rw_clock_wall_ms());
    rw_location_on_expired(loc, on_expired, NULL);
    rw_binding_t b[2] = { binding("sip:a@127.0.0.1:1", 1, 5, NULL),
                          binding("sip:b@127.0.0.1:2", 1, 600, NULL) };
    update(0, b, 2, 0);
    rw_clock_advance_wall(6000);
    result_t r = lookup();
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.b[0].contact, "sip:b@127.0.0.1:2");
    expired_events = 0;
    int never = 0;
    run_until(&never, 1500);                                /* the sweep runs every second */
    ck_assert_int_eq(expired_events, 1);
    run_until(&never, 1200);
    ck_assert_int_eq(expired_events, 1);
}
END_TEST

START_TEST(test_lookup_answers_from_memory_when_redis_is_stopped_or_gone)
{
    rw_binding_t b = binding("sip:a@127.0.0.1:1", 1, 60, NULL);
    update(0, &b, 1, 0);
    rw_redis_fixture_suspend(&fx);
    result_t r = lookup();                                  /* times out after 300 ms */
    rw_redis_fixture_resume(&fx);
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_int_eq(r.from_cache, 1);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.b[0].contact, "sip:a@127.0.0.1:1");
    rw_redis_fixture_kill(&fx);
    int never = 0;
    run_until(&never, 200);
    r = lookup();
    ck_assert_int_eq(r.from_cache, 1);
    ck_assert_uint_eq(r.n, 1);
    result_t u = update(0, &b, 1, 0);
    ck_assert_int_eq(u.status, RW_EIO);
}
END_TEST

START_TEST(test_device_bindings_are_tagged_and_checked_in_the_directory)
{
    alice_devices();
    rw_binding_t desk = device_binding("sip:desk@127.0.0.1:1", "desk");
    result_t r = update_device("desk", 0, &desk, 1);
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_uint_eq(r.n, 1);
    r = lookup();
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.b[0].device, "desk");
    /* Not a sip device of alice on this AOR: refused, nothing written. */
    static const char *const refused[] = { "nosuch", "mobile", "other" };
    for (size_t i = 0; i < 3; i++) {
        rw_binding_t b = device_binding("sip:x@127.0.0.1:9", refused[i]);
        ck_assert_int_eq(update_device(refused[i], 0, &b, 1).status, RW_ENOTFOUND);
    }
    ck_assert_int_eq(update_device("nosuch", 0, NULL, 0).status, RW_ENOTFOUND);
    r = lookup();
    ck_assert_uint_eq(r.n, 1);
    result_t q = update_device("soft", 0, NULL, 0);          /* a query: known, nothing bound */
    ck_assert_int_eq(q.status, RW_OK);
    ck_assert_uint_eq(q.n, 1);
}
END_TEST

START_TEST(test_star_from_a_device_removes_only_its_bindings)
{
    alice_devices();
    rw_binding_t desk[2] = { device_binding("sip:d1@127.0.0.1:1", "desk"),
                             device_binding("sip:d2@127.0.0.1:2", "desk") };
    rw_binding_t soft = device_binding("sip:s@127.0.0.1:3", "soft");
    rw_binding_t plain = binding("sip:p@127.0.0.1:4", 1, 60, NULL);
    update_device("desk", 0, desk, 2);
    update_device("soft", 0, &soft, 1);
    update(0, &plain, 1, 0);
    result_t r = update_device("desk", 1, NULL, 0);
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.n_gone, 2);
    for (size_t i = 0; i < r.n; i++)
        ck_assert_str_ne(r.b[i].device, "desk");
    r = update(1, NULL, 0, 0);                              /* the user as a whole: everything */
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(r.n_gone, 2);
}
END_TEST

START_TEST(test_bad_arguments)
{
    result_t r;
    ck_assert_int_eq(rw_location_lookup(loc, "", on_lookup, &r), RW_EINVAL);
    ck_assert_int_eq(rw_location_lookup(loc, AOR, NULL, &r), RW_EINVAL);
    ck_assert_int_eq(rw_location_update(loc, AOR, 0, NULL, 1, 0, on_update, &r), RW_EINVAL);
    ck_assert_int_eq(rw_location_update(loc, AOR, 0, NULL, 0, 0, NULL, &r), RW_EINVAL);
    ck_assert_int_eq(rw_location_update_device(loc, AOR, NULL, "desk", 0, NULL, 0, 0, on_update, &r),
                     RW_EINVAL);
}
END_TEST

/* ---- A replica and a Sentinel ------------------------------------------------------- */
static rw_redis_fixture_t fx_replica;
static pid_t sentinel_pid;
static int sentinel_port;
static char sentinel_dir[256];

/* A blocking command to 127.0.0.1:port; the reply (caller frees) or NULL. */
static redisReply *ask(int port, const char *fmt, const char *arg)
{
    struct timeval tv = { 0, 300000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        r = redisCommand(c, fmt, arg);
    }
    if (c)
        redisFree(c);
    return r;
}

static int replica_linked(void)
{
    redisReply *r = ask(fx_replica.port, "INFO %s", "replication");
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
    if (r)
        freeReplyObject(r);
    return ok;
}

/* The Sentinel lists the replica as up (it learns it from the master's INFO). */
static int sentinel_sees_replica(void)
{
    redisReply *r = ask(sentinel_port, "SENTINEL replicas %s", "ringway");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
    for (size_t i = 0; ok && i + 1 < r->element[0]->elements; i += 2)
        if (!strcmp(r->element[0]->element[i]->str, "flags"))
            ok = !strstr(r->element[0]->element[i + 1]->str, "down")
                 && !strstr(r->element[0]->element[i + 1]->str, "disconnected");
    if (r)
        freeReplyObject(r);
    return ok;
}

#define wait_for(cond, ms) wait_until(cond, ms, #cond)
static void wait_until(int (*cond)(void), int ms, const char *what)
{
    uint64_t end = rw_clock_mono_ms() + (uint64_t) ms * rw_proc_wrap_scale();
    while (!cond() && rw_clock_mono_ms() < end)
        nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
    ck_assert_msg(cond(), "%s not true within %d ms", what, ms);
}

static void stop_sentinel(void)
{
    if (sentinel_pid > 0)
        rw_proc_stop(sentinel_pid, 2000);
    sentinel_pid = 0;
    if (sentinel_dir[0]) {
        char path[320];
        snprintf(path, sizeof path, "%s/sentinel.conf", sentinel_dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/sentinel.log", sentinel_dir);
        unlink(path);
        rmdir(sentinel_dir);
        sentinel_dir[0] = '\0';
    }
}

static void teardown_replica(void)
{
    stop_sentinel();
    rw_redis_fixture_stop(&fx_replica);
    rw_redis_fixture_stop(&fx);
}

/* Master fx, replica fx_replica (REPLICAOF fx), a Sentinel watching fx that sees the replica
 * (down-after 60 s: it never fails over during a test), and redis/loc through the Sentinel. */
static void setup_replica(void)
{
    char conf[320], log[320], list[64];
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    ck_assert_int_eq(rw_redis_fixture_start(&fx_replica), 0);
    atexit(teardown_replica);
    char port[16];
    snprintf(port, sizeof port, "%d", fx.port);
    redisReply *r = ask(fx_replica.port, "REPLICAOF 127.0.0.1 %s", port);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    wait_for(replica_linked, 20000);
    snprintf(sentinel_dir, sizeof sentinel_dir, "%s/rw-sentinel-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(sentinel_dir));
    sentinel_port = rw_proc_free_port();
    snprintf(conf, sizeof conf, "%s/sentinel.conf", sentinel_dir);
    snprintf(log, sizeof log, "%s/sentinel.log", sentinel_dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
               "sentinel monitor ringway 127.0.0.1 %d 1\n"
               "sentinel down-after-milliseconds ringway 60000\n",
            sentinel_port, sentinel_dir, fx.port);
    fclose(f);
    const char *argv[] = { "redis-server", conf, "--sentinel", NULL };
    sentinel_pid = rw_proc_spawn(argv, NULL, log);
    ck_assert_int_gt(sentinel_pid, 0);
    wait_for(sentinel_sees_replica, 20000);

    su_init();
    root = su_root_create(NULL);
    snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port);
    rw_redis_opts_t o = { .sentinels = list, .command_timeout_ms = 300, .connect_timeout_ms = 300,
                          .backoff_max_ms = 200 };
    redis = rw_aredis_new(root, &o);
    ck_assert_ptr_nonnull(redis);
    loc = rw_location_new(root, redis, NULL);
    ck_assert_ptr_nonnull(loc);
    rw_aredis_t *replica = rw_aredis_replica(redis);
    ck_assert_ptr_nonnull(replica);
    ck_assert_ptr_eq(rw_aredis_replica(redis), replica);        /* one, made once */
    ck_assert_ptr_null(rw_aredis_replica(replica));
    uint64_t end = rw_clock_mono_ms() + 3000 * (uint64_t) rw_proc_wrap_scale();
    while ((!rw_aredis_connected(redis) || !rw_aredis_connected(replica)) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert(rw_aredis_connected(redis));
    ck_assert(rw_aredis_connected(replica));
}

/* The binding as another instance writes it: on the master, never through loc (whose memory
 * copy would answer otherwise), then on the replica. */
static int replica_has_binding(void)
{
    redisReply *r = ask(fx_replica.port, "HLEN rw:loc:%s", AOR);
    int ok = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return ok;
}

static void written_elsewhere(const rw_binding_t *b)
{
    char enc[1700];
    ck_assert_int_gt(rw_location_encode(b, enc, sizeof enc), 0);
    int done = 0;
    char key[200];
    snprintf(key, sizeof key, "rw:loc:%s", AOR);
    ck_assert_int_eq(rw_aredis_command(redis, on_done, &done, "HSET %s %s %s", key,
                                       rw_location_binding_key(b), enc), 0);
    run_until(&done, 3000);
    ck_assert(done);
    wait_for(replica_has_binding, 3000);
}

START_TEST(test_sentinel_names_the_replica)
{
    char list[64], host[64] = "";
    int port = 0;
    snprintf(list, sizeof list, "127.0.0.1:%d, 127.0.0.1:%d", rw_proc_free_port(), sentinel_port);
    rw_redis_opts_t o = { .sentinels = list, .connect_timeout_ms = 300 };
    ck_assert_int_eq(rw_redis_sentinel_replica(&o, host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, fx_replica.port);
    o.master_name = "nosuchmaster";
    ck_assert_int_eq(rw_redis_sentinel_replica(&o, host, sizeof host, &port), RW_ENOTFOUND);
}
END_TEST

START_TEST(test_lookup_never_seen_is_read_from_the_replica_while_the_master_is_stopped)
{
    rw_binding_t b = binding("sip:a@127.0.0.1:7", 1, 60, NULL);
    written_elsewhere(&b);
    rw_redis_fixture_suspend(&fx);
    uint64_t t0 = rw_clock_mono_ms();
    result_t r = lookup();                 /* the master times out (300 ms), then the replica */
    uint64_t took = rw_clock_mono_ms() - t0;
    rw_redis_fixture_resume(&fx);
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_int_eq(r.from_cache, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.b[0].contact, "sip:a@127.0.0.1:7");
    ck_assert_uint_lt(took, 2000 * rw_proc_wrap_scale());
}
END_TEST

START_TEST(test_lookup_never_seen_is_read_from_the_replica_while_the_master_is_gone)
{
    rw_binding_t b = binding("sip:b@127.0.0.1:8", 1, 60, NULL);
    written_elsewhere(&b);
    rw_redis_fixture_kill(&fx);
    uint64_t end = rw_clock_mono_ms() + 3000 * (uint64_t) rw_proc_wrap_scale();
    while (rw_aredis_connected(redis) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert(!rw_aredis_connected(redis));  /* refused at once: it goes to the replica */
    result_t r = lookup();
    ck_assert_int_eq(r.status, RW_OK);
    ck_assert_int_eq(r.from_cache, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.b[0].contact, "sip:b@127.0.0.1:8");
    result_t u = update(0, &b, 1, 0);       /* writes are not sent to the replica */
    ck_assert_int_eq(u.status, RW_EIO);
    /* The replica gone too: the memory copy, which now holds what the replica said. */
    rw_redis_fixture_kill(&fx_replica);
    end = rw_clock_mono_ms() + 3000 * (uint64_t) rw_proc_wrap_scale();
    while (rw_aredis_connected(rw_aredis_replica(redis)) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    r = lookup();
    ck_assert_int_eq(r.from_cache, 1);
    ck_assert_uint_eq(r.n, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("location");
    TCase *pure = tcase_create("encoding");
    tcase_add_test(pure, test_encode_decode_round_trip);
    tcase_add_test(pure, test_device_round_trips_and_older_values_have_none);
    tcase_add_loop_test(pure, test_decode_refuses_malformed_values, 0,
                        sizeof bad_values / sizeof bad_values[0]);
    suite_add_tcase(s, pure);
    TCase *tc = tcase_create("redis");
    tcase_add_unchecked_fixture(tc, setup_redis, teardown_redis);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_bindings_come_back_highest_q_first);
    tcase_add_test(tc, test_refresh_keeps_one_binding_per_contact_and_instance);
    tcase_add_test(tc, test_expires_zero_removes_and_star_removes_all);
    tcase_add_test(tc, test_more_than_max_bindings_changes_nothing);
    tcase_add_test(tc, test_expired_binding_is_never_returned_and_swept_once);
    tcase_add_test(tc, test_device_bindings_are_tagged_and_checked_in_the_directory);
    tcase_add_test(tc, test_star_from_a_device_removes_only_its_bindings);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    TCase *away = tcase_create("redis-away");            /* kills its own redis-server */
    tcase_add_unchecked_fixture(away, setup_redis, teardown_redis);
    tcase_add_checked_fixture(away, setup, teardown);
    tcase_set_timeout(away, 20);
    tcase_add_test(away, test_lookup_answers_from_memory_when_redis_is_stopped_or_gone);
    suite_add_tcase(s, away);
    TCase *rep = tcase_create("replica");                 /* its own master, replica, Sentinel */
    tcase_add_checked_fixture(rep, setup_replica, teardown);
    tcase_set_timeout(rep, 90);
    tcase_add_test(rep, test_sentinel_names_the_replica);
    tcase_add_test(rep, test_lookup_never_seen_is_read_from_the_replica_while_the_master_is_stopped);
    tcase_add_test(rep, test_lookup_never_seen_is_read_from_the_replica_while_the_master_is_gone);
    suite_add_tcase(s, rep);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
