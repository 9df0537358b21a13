/* tests/unit/gateway/res_staff_test.c — a user's own resources through the gateway's handlers,
 * against a real redis-server: reading oneself and not a colleague (403), settings with their
 * ETag and If-Match (two editors holding the same version: one saves, the other gets 412 and
 * the directory keeps the first; no If-Match: 428), a rule naming a missing device refused with
 * the directory's sentence and nothing written (422), a profile switch, manual presence and the
 * temporary divert as the CLI writes them, and recent calls recorded once per call. */
#include "tests/unit/gateway/res_harness.h"

#include "common/clock.h"
#include "services/gateway/events.h"

#define SETTINGS_A "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"day\",\"action\":\"ring\"," \
                   "\"ring\":[\"softphone\"]}],\"home\":[{\"name\":\"all\",\"action\":\"ring\",\"ring\":[\"mobile\"]}]}}"
#define SETTINGS_B "{\"active\":\"home\",\"profiles\":{\"home\":[{\"name\":\"all\",\"action\":\"ring\"," \
                   "\"ring\":[\"mobile\"]}]}}"
#define SETTINGS_BAD "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"day\",\"action\":\"ring\"," \
                     "\"ring\":[\"deskphone\"]}]}}"

static void setup(void)
{
    res_setup_redis();
    add_user("alice", "2001", "+447700900001");
    add_user("bob", "2002", "+447700900002");
}

static const char *stored_settings(char *buf, size_t len)
{
    char *s = rw_dir_settings_get(r, "alice");
    ck_assert_ptr_nonnull(s);
    snprintf(buf, len, "%s", s);
    free(s);
    return buf;
}

START_TEST(user_self_and_not_colleague)
{
    gw_identity_t alice = who_staff("alice"), admin = who_admin();
    gw_resp_t a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &alice, NULL, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(res_str(&a, "ext"), "2001");
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "devices")), 2);
    ck_assert_str_eq(a.etag, "\"3\"");                /* the user and two devices: ver counts writes */
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(a.json, "devices"), i, d)
        if (!strcmp(json_string_value(json_object_get(d, "id")), "softphone"))
            ck_assert(json_is_false(json_object_get(d, "registered")));
    res_free(&a);
    /* a live binding for the user's own AOR makes the softphone registered */
    freeReplyObject(rw_redis_command(r, "SET rw:loc:sip:2001@ringway.local x"));
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &alice, NULL, NULL, "alice", NULL);
    json_array_foreach(json_object_get(a.json, "devices"), i, d)
        if (!strcmp(json_string_value(json_object_get(d, "id")), "softphone"))
            ck_assert(json_is_true(json_object_get(d, "registered")));
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &alice, NULL, NULL, "bob", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_A, "\"2\"", "bob", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &admin, NULL, NULL, "bob", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &admin, NULL, NULL, "nobody", NULL);
    ck_assert_int_eq(a.status, 404);
    res_free(&a);
}
END_TEST

START_TEST(settings_etag_and_concurrent_edit)
{
    gw_identity_t alice = who_staff("alice");
    char before[2048], after[2048];
    gw_resp_t a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/settings", &alice, NULL, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    char etag[80];
    snprintf(etag, sizeof etag, "%s", a.etag);
    res_free(&a);
    /* no If-Match: 428, nothing written */
    stored_settings(before, sizeof before);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_A, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 428);
    res_free(&a);
    /* two editors with the same ETag: the first saves, the second gets 412 */
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_A, etag, "alice", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_ne(a.etag, etag);
    res_free(&a);
    stored_settings(before, sizeof before);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_B, etag, "alice", NULL);
    ck_assert_int_eq(a.status, 412);
    ck_assert_msg(strstr(res_message(&a), "reload"), "%s", res_message(&a));
    res_free(&a);
    ck_assert_str_eq(stored_settings(after, sizeof after), before);
    ck_assert_ptr_nonnull(strstr(after, "\"office\""));
    /* a rule naming a device alice does not have: 422 with the directory's sentence */
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/settings", &alice, NULL, NULL, "alice", NULL);
    snprintf(etag, sizeof etag, "%s", a.etag);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_BAD, etag, "alice", NULL);
    ck_assert_int_eq(a.status, 422);
    ck_assert_msg(strstr(res_message(&a), "deskphone"), "%s", res_message(&a));
    res_free(&a);
    ck_assert_str_eq(stored_settings(after, sizeof after), before);
    /* not an object: 400 */
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, "[1,2]", etag, "alice", NULL);
    ck_assert_int_eq(a.status, 400);
    res_free(&a);
}
END_TEST

START_TEST(profile_switch)
{
    gw_identity_t alice = who_staff("alice");
    gw_resp_t a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/settings", &alice, SETTINGS_A, "*", "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/profile", &alice, "{\"profile\":\"home\"}", NULL, "alice",
                 NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}", &alice, NULL, NULL, "alice", NULL);
    ck_assert_str_eq(res_str(&a, "profile"), "home");
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/profile", &alice, "{\"profile\":\"mars\"}", NULL, "alice",
                 NULL);
    ck_assert_int_eq(a.status, 422);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/profile", &alice, "{}", NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 400);
    res_free(&a);
}
END_TEST

START_TEST(presence_set_and_clear)
{
    gw_identity_t alice = who_staff("alice");
    gw_resp_t a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/presence", &alice, "{\"state\":\"busy\"}", NULL,
                           "alice", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "state"), "busy");
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/presence", &alice, NULL, NULL, "alice", NULL);
    ck_assert_str_eq(res_str(&a, "state"), "busy");
    ck_assert_str_eq(res_str(&a, "source"), "manual");
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/presence", &alice, "{\"state\":\"asleep\"}", NULL,
                 "alice", NULL);
    ck_assert_int_eq(a.status, 400);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/presence", &alice,
                 "{\"state\":\"away\",\"until\":\"2001-01-01T00:00:00Z\"}", NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 400);                   /* already past */
    res_free(&a);
    a = res_call(gw_routes_staff, "DELETE", "/api/v1/users/{id}/presence", &alice, NULL, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_ne(res_str(&a, "state"), "busy");
    res_free(&a);
}
END_TEST

START_TEST(divert_set_show_clear)
{
    gw_identity_t alice = who_staff("alice");
    char body[200];
    snprintf(body, sizeof body, "{\"to\":\"mobile\",\"until\":%llu}",
             (unsigned long long) (rw_clock_wall_ms() + 3600000));
    gw_resp_t a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/divert", &alice, body, NULL, "alice", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "state"), "in force");
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/divert", &alice, NULL, NULL, "alice", NULL);
    ck_assert_str_eq(res_str(&a, "to"), "mobile");
    res_free(&a);
    snprintf(body, sizeof body, "{\"to\":\"boat\",\"until\":%llu}", (unsigned long long) (rw_clock_wall_ms() + 3600000));
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/divert", &alice, body, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 422);
    res_free(&a);
    a = res_call(gw_routes_staff, "PUT", "/api/v1/users/{id}/divert", &alice, "{\"to\":\"mobile\",\"until\":\"soon\"}",
                 NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 400);
    res_free(&a);
    a = res_call(gw_routes_staff, "DELETE", "/api/v1/users/{id}/divert", &alice, NULL, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/divert", &alice, NULL, NULL, "alice", NULL);
    ck_assert_str_eq(res_str(&a, "state"), "none");
    res_free(&a);
}
END_TEST

/* call.ended recorded twice (two gateways): one entry; newest first; capped. */
START_TEST(recent_calls_once_per_call)
{
    gw_identity_t alice = who_staff("alice");
    rw_event_t ev;
    for (int i = 0; i < GW_CALLS_KEEP + 3; i++) {
        rw_proto_event_init(&ev, i % 2 ? "call.failed" : "call.ended");
        snprintf(ev.call.call_id, sizeof ev.call.call_id, "call-%d", i);
        snprintf(ev.call.user, sizeof ev.call.user, "alice");
        snprintf(ev.call.from, sizeof ev.call.from, "+441632960999");
        ev.ts_ms = 1000 + (uint64_t) i;
        char *rec = gw_events_call_record(&ev);
        ck_assert_ptr_nonnull(rec);
        for (int twice = 0; twice < 2; twice++) {
            char seen[200], keep[16], ttl[16];
            snprintf(seen, sizeof seen, "rw:recent:seen:alice:call-%d", i);
            snprintf(keep, sizeof keep, "%d", GW_CALLS_KEEP);
            snprintf(ttl, sizeof ttl, "%u", GW_CALLS_SEEN_MS);
            const char *argv[] = { "EVAL", gw_calls_record_lua, "2", seen, "rw:recent:alice", rec, keep, ttl };
            redisReply *rep = rw_redis_commandargv(r, 8, argv, NULL);
            ck_assert_ptr_nonnull(rep);
            ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
            ck_assert_int_eq((int) rep->integer, twice ? 0 : 1);
            freeReplyObject(rep);
        }
        free(rec);
    }
    rw_proto_event_init(&ev, "call.ringing");
    ck_assert_ptr_null(gw_events_call_record(&ev));
    gw_resp_t a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/calls", &alice, NULL, NULL, "alice", NULL);
    ck_assert_int_eq(a.status, 200);
    json_t *items = json_object_get(a.json, "items");
    ck_assert_int_eq((int) json_array_size(items), GW_CALLS_KEEP);   /* default page 50 = the cap */
    char newest[32];
    snprintf(newest, sizeof newest, "call-%d", GW_CALLS_KEEP + 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "call_id")), newest);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "outcome")), "answered");
    res_free(&a);
    a = res_call(gw_routes_staff, "GET", "/api/v1/users/{id}/calls", &alice, NULL, NULL, "bob", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("res_staff");
    TCase *tc = tcase_create("staff");
    tcase_add_checked_fixture(tc, setup, res_teardown_redis);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, user_self_and_not_colleague);
    tcase_add_test(tc, settings_etag_and_concurrent_edit);
    tcase_add_test(tc, profile_switch);
    tcase_add_test(tc, presence_set_and_clear);
    tcase_add_test(tc, divert_set_show_clear);
    tcase_add_test(tc, recent_calls_once_per_call);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
