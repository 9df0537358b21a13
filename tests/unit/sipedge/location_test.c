/* tests/unit/sipedge/location_test.c — the location store against a real redis-server:
 * encoding, add/refresh/remove/"*", q order, max bindings, expiry (never returned, swept with
 * an event), and lookups from memory while Redis is stopped or gone; bindings tagged with the
 * device they registered as, checked against the directory, "*" of a device. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_wait.h>

#include "common/clock.h"
#include "common/err.h"
#include "services/sip-edge/location.h"
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
