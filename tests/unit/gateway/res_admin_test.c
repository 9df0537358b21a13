/* tests/unit/gateway/res_admin_test.c — the admin resources through the gateway's handlers,
 * against a real redis-server: only admins (403 for staff); users listed by pages with a
 * cursor, created (409 when the id exists, 422 with the directory's sentence for a bad
 * extension), changed under If-Match (a stale ETag: 412, nothing changed) and removed; devices;
 * hunt groups refused as the directory refuses them (no members, an unknown strategy, weight 0:
 * 422 each, nothing stored), created, read by their supervisor, changed under If-Match; agents'
 * log in by themselves or their supervisor, not by a colleague; trunks; the whole directory
 * exported and imported back; and two admins changing one user (one group) at once with the same
 * ETag: one 200, one 412, the winner's change kept. */
#include "tests/unit/gateway/res_harness.h"

#include <pthread.h>

#include "directory/dir_groups.h"

static void setup(void)
{
    res_setup_redis();
    add_user("alice", "2001", "+447700900001");
    add_user("bob", "2002", "+447700900002");
}

static int count_keys(const char *pattern)
{
    redisReply *rep = rw_redis_command(r, "KEYS %s", pattern);
    ck_assert_ptr_nonnull(rep);
    int n = (int) rep->elements;
    freeReplyObject(rep);
    return n;
}

START_TEST(staff_are_refused)
{
    gw_identity_t alice = who_staff("alice");
    gw_resp_t a = res_call(gw_routes_admin, "GET", "/api/v1/users", &alice, NULL, NULL, NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/users", &alice, "{\"id\":\"eve\",\"ext\":\"2005\",\"password\":\"x\"}",
                 NULL, NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    ck_assert_int_eq(count_keys("rw:user:eve"), 0);
    a = res_call(gw_routes_admin, "GET", "/api/v1/directory", &alice, NULL, NULL, NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
}
END_TEST

START_TEST(users_create_list_change_remove)
{
    gw_identity_t admin = who_admin();
    gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/users", &admin,
                           "{\"id\":\"carol\",\"ext\":\"2003\",\"name\":\"Carol\",\"password\":\"pw3\","
                           "\"devices\":[{\"id\":\"softphone\",\"kind\":\"sip\"}]}", NULL, NULL);
    ck_assert_msg(a.status == 201, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "name"), "Carol");
    char etag[80];
    snprintf(etag, sizeof etag, "%s", a.etag);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/users", &admin, "{\"id\":\"carol\",\"ext\":\"2009\",\"password\":\"x\"}",
                 NULL, NULL);
    ck_assert_int_eq(a.status, 409);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/users", &admin, "{\"id\":\"dave\",\"ext\":\"12ab\",\"password\":\"x\"}",
                 NULL, NULL);
    ck_assert_int_eq(a.status, 422);
    ck_assert_msg(strstr(res_message(&a), "12ab"), "%s", res_message(&a));
    res_free(&a);
    ck_assert_int_eq(count_keys("rw:user:dave"), 0);
    /* one page holds all three (the page size comes from ?limit=, read by the HTTP layer) */
    a = res_call(gw_routes_admin, "GET", "/api/v1/users", &admin, NULL, NULL, NULL);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "items")), 3);
    ck_assert_ptr_null(json_object_get(a.json, "next"));
    res_free(&a);
    /* change under If-Match; the stale tag then gets 412 and nothing changes */
    a = res_call(gw_routes_admin, "PUT", "/api/v1/users/{id}", &admin, "{\"name\":\"Carol Cooper\"}", etag, "carol",
                 NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    res_free(&a);
    a = res_call(gw_routes_admin, "PUT", "/api/v1/users/{id}", &admin, "{\"name\":\"Someone Else\"}", etag, "carol",
                 NULL);
    ck_assert_int_eq(a.status, 412);
    res_free(&a);
    rw_dir_user_t u;
    ck_assert_int_eq(rw_dir_user_get(r, "carol", &u), 0);
    ck_assert_str_eq(u.name, "Carol Cooper");
    /* devices */
    a = res_call(gw_routes_admin, "PUT", "/api/v1/users/{id}/devices/{device}", &admin,
                 "{\"kind\":\"number\",\"address\":\"07700 900003\"}", NULL, "carol", "mobile", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    res_free(&a);
    a = res_call(gw_routes_admin, "PUT", "/api/v1/users/{id}/devices/{device}", &admin, "{\"kind\":\"fax\"}", NULL,
                 "carol", "fax", NULL);
    ck_assert_int_eq(a.status, 422);
    res_free(&a);
    a = res_call(gw_routes_admin, "DELETE", "/api/v1/users/{id}/devices/{device}", &admin, NULL, NULL, "carol",
                 "mobile", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
    a = res_call(gw_routes_admin, "DELETE", "/api/v1/users/{id}", &admin, NULL, NULL, "carol", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
    ck_assert_int_eq(count_keys("rw:user:carol"), 0);
}
END_TEST

START_TEST(users_paginated)
{
    gw_identity_t admin = who_admin();
    char id[16], ext[8], mob[24];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "u%d", i);
        snprintf(ext, sizeof ext, "30%02d", i);
        snprintf(mob, sizeof mob, "+4477009001%02d", i);
        add_user(id, ext, mob);
    }
    /* gw_page reads ?limit from the HTTP layer: without one, 50 a page, all 7 at once */
    gw_resp_t a = res_call(gw_routes_admin, "GET", "/api/v1/users", &admin, NULL, NULL, NULL);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "items")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(a.json, "items"), 0), "id")),
                     "alice");
    res_free(&a);
}
END_TEST

#define GROUP "{\"id\":\"sales\",\"ext\":\"3001\",\"strategy\":\"linear\",\"members\":[{\"user\":\"alice\"}," \
              "{\"user\":\"bob\"}]}"

START_TEST(groups_validated_by_the_directory)
{
    gw_identity_t admin = who_admin(), sup = who_supervisor("bob", "sales"), alice = who_staff("alice");
    static const char *const bad[] = {
        "{\"id\":\"sales\",\"ext\":\"3001\",\"members\":[]}",
        "{\"id\":\"sales\",\"ext\":\"3001\",\"strategy\":\"shouting\",\"members\":[{\"user\":\"alice\"}]}",
        "{\"id\":\"sales\",\"ext\":\"3001\",\"members\":[{\"user\":\"alice\",\"weight\":0}]}",
        "{\"id\":\"sales\",\"ext\":\"3001\",\"members\":[{\"user\":\"zed\"}]}",
    };
    static const char *const why[] = { "no members", "shouting", "weight", "zed" };
    for (size_t i = 0; i < 4; i++) {
        gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, bad[i], NULL, NULL);
        ck_assert_msg(a.status == 422, "%zu: %d %s", i, a.status, res_message(&a));
        ck_assert_msg(strstr(res_message(&a), why[i]), "%zu: %s", i, res_message(&a));
        res_free(&a);
    }
    ck_assert_int_eq(count_keys("rw:group:*"), 0);
    gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP, NULL, NULL);
    ck_assert_msg(a.status == 201, "%d %s", a.status, res_message(&a));
    char etag[80];
    snprintf(etag, sizeof etag, "%s", a.etag);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP, NULL, NULL);
    ck_assert_int_eq(a.status, 409);
    res_free(&a);
    /* the supervisor reads theirs and sees it in the list; a colleague does not */
    a = res_call(gw_routes_admin, "GET", "/api/v1/groups/{id}", &sup, NULL, NULL, "sales", NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.etag, etag);
    res_free(&a);
    a = res_call(gw_routes_admin, "GET", "/api/v1/groups", &sup, NULL, NULL, NULL);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "items")), 1);
    res_free(&a);
    a = res_call(gw_routes_admin, "GET", "/api/v1/groups/{id}", &alice, NULL, NULL, "sales", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_admin, "PUT", "/api/v1/groups/{id}", &sup, GROUP, etag, "sales", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    /* change under If-Match, then the old tag is stale */
    a = res_call(gw_routes_admin, "PUT", "/api/v1/groups/{id}", &admin,
                 "{\"ext\":\"3001\",\"strategy\":\"ringall\",\"members\":[{\"user\":\"alice\"}]}", etag, "sales", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "strategy"), "ringall");
    res_free(&a);
    a = res_call(gw_routes_admin, "PUT", "/api/v1/groups/{id}", &admin, GROUP, etag, "sales", NULL);
    ck_assert_int_eq(a.status, 412);
    res_free(&a);
    a = res_call(gw_routes_admin, "PUT", "/api/v1/groups/{id}", &admin, GROUP, NULL, "sales", NULL);
    ck_assert_int_eq(a.status, 428);
    res_free(&a);
}
END_TEST

START_TEST(agents_by_self_supervisor_not_colleague)
{
    gw_identity_t admin = who_admin(), alice = who_staff("alice"), bob = who_staff("bob"),
                  sup = who_supervisor("carol", "sales");
    gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP, NULL, NULL);
    ck_assert_int_eq(a.status, 201);
    res_free(&a);
    const char *pat = "/api/v1/groups/{id}/agents/{user}/{op}";
    a = res_call(gw_routes_admin, "POST", pat, &alice, NULL, NULL, "sales", "alice", "login", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "state"), "available");
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", pat, &bob, NULL, NULL, "sales", "alice", "logout", NULL);
    ck_assert_int_eq(a.status, 403);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", pat, &sup, "{\"reason\":\"lunch\"}", NULL, "sales", "alice", "pause", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_str_eq(res_str(&a, "state"), "paused");
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", pat, &sup, NULL, NULL, "sales", "alice", "dance", NULL);
    ck_assert_int_eq(a.status, 404);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", pat, &admin, NULL, NULL, "sales", "alice", "resume", NULL);
    ck_assert_int_eq(a.status, 200);
    res_free(&a);
}
END_TEST

START_TEST(trunks_and_directory_round_trip)
{
    gw_identity_t admin = who_admin();
    gw_resp_t a = res_call(gw_routes_admin, "PUT", "/api/v1/trunks/{name}", &admin,
                           "{\"prefixes\":[\"+44\"],\"order\":1,\"address\":\"sip:carrier.example\"}", NULL, "t1", NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    res_free(&a);
    a = res_call(gw_routes_admin, "GET", "/api/v1/trunks", &admin, NULL, NULL, NULL);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "items")), 1);
    res_free(&a);
    a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP, NULL, NULL);
    ck_assert_int_eq(a.status, 201);
    res_free(&a);
    a = res_call(gw_routes_admin, "GET", "/api/v1/directory", &admin, NULL, NULL, NULL);
    ck_assert_int_eq(a.status, 200);
    char *exported = json_dumps(a.json, JSON_COMPACT);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "users")), 2);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "groups")), 1);
    ck_assert_int_eq((int) json_array_size(json_object_get(a.json, "trunks")), 1);
    res_free(&a);
    freeReplyObject(rw_redis_command(r, "FLUSHALL"));
    a = res_call(gw_routes_admin, "POST", "/api/v1/directory", &admin, exported, NULL, NULL);
    ck_assert_msg(a.status == 200, "%d %s", a.status, res_message(&a));
    ck_assert_int_eq((int) json_integer_value(json_object_get(a.json, "imported_users")), 2);
    ck_assert_int_eq((int) json_integer_value(json_object_get(a.json, "imported_groups")), 1);
    res_free(&a);
    a = res_call(gw_routes_admin, "GET", "/api/v1/directory", &admin, NULL, NULL, NULL);
    char *again = json_dumps(a.json, JSON_COMPACT);
    res_free(&a);
    ck_assert_str_eq(again, exported);
    free(again);
    free(exported);
    /* a bad entry: named, and the message does not leak the staging file's name */
    a = res_call(gw_routes_admin, "POST", "/api/v1/directory", &admin,
                 "{\"users\":[{\"id\":\"zed\",\"ext\":\"99\",\"password\":\"x\"}]}", NULL, NULL);
    ck_assert_int_eq(a.status, 422);
    ck_assert_msg(strstr(res_message(&a), "body: users[0]") && !strstr(res_message(&a), "/tmp/"), "%s",
                  res_message(&a));
    res_free(&a);
}
END_TEST

/* Two admins holding the same ETag change the same user (then the same group) at the same
 * moment, 20 times: each time exactly one gets 200 and the other 412, and the directory holds
 * the winner's change. Each editor has its own Redis connection and thread, as in the gateway. */
typedef struct {
    pthread_barrier_t *start;
    const char *pattern, *etag;
    char body[256];
    rw_redis_t *redis;
    int status;
} editor_t;

static void *edit(void *arg)
{
    editor_t *e = arg;
    gw_identity_t admin = who_admin();
    gw_req_t req;
    gw_resp_t resp;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = "PUT";
    req.path = e->pattern;
    req.params[0] = !strcmp(e->pattern, "/api/v1/users/{id}") ? "alice" : "sales";
    req.n_params = 1;
    req.who = &admin;
    req.redis = e->redis;
    req.gw = &gw;
    req.if_match = e->etag;
    req.body = json_loads(e->body, 0, NULL);
    pthread_barrier_wait(e->start);
    res_route(gw_routes_admin, "PUT", e->pattern)->fn(&req, &resp);
    e->status = resp.status;
    json_decref(req.body);
    json_decref(resp.json);
    return NULL;
}

static void race(const char *pattern, const char *get_pattern, const char *body_fmt, const char *field)
{
    gw_identity_t admin = who_admin();
    pthread_barrier_t start;
    editor_t ed[2];
    for (int round = 0; round < 20; round++) {
        gw_resp_t a = res_call(strstr(get_pattern, "users") ? gw_routes_staff : gw_routes_admin, "GET", get_pattern,
                               &admin, NULL, NULL, strstr(get_pattern, "users") ? "alice" : "sales", NULL);
        ck_assert_int_eq(a.status, 200);
        char etag[80];
        snprintf(etag, sizeof etag, "%s", a.etag);
        res_free(&a);
        pthread_barrier_init(&start, NULL, 2);
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            ed[i].start = &start;
            ed[i].pattern = pattern;
            ed[i].etag = etag;
            snprintf(ed[i].body, sizeof ed[i].body, body_fmt, round, i);
            ed[i].redis = rw_redis_new(&gw.redis_opts);
            ed[i].status = 0;
            ck_assert_int_eq(pthread_create(&t[i], NULL, edit, &ed[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            rw_redis_destroy(&ed[i].redis);
        }
        pthread_barrier_destroy(&start);
        int winner = ed[0].status == 200 ? 0 : 1;
        ck_assert_msg((ed[0].status == 200 && ed[1].status == 412) || (ed[0].status == 412 && ed[1].status == 200),
                      "round %d: %d and %d", round, ed[0].status, ed[1].status);
        char expect[64];
        snprintf(expect, sizeof expect, "r%d-e%d", round, winner);
        a = res_call(strstr(get_pattern, "users") ? gw_routes_staff : gw_routes_admin, "GET", get_pattern, &admin,
                     NULL, NULL, strstr(get_pattern, "users") ? "alice" : "sales", NULL);
        ck_assert_str_eq(res_str(&a, field), expect);
        res_free(&a);
    }
}

START_TEST(concurrent_edits_one_wins)
{
    gw_identity_t admin = who_admin();
    gw_resp_t a = res_call(gw_routes_admin, "POST", "/api/v1/groups", &admin, GROUP, NULL, NULL);
    ck_assert_int_eq(a.status, 201);
    res_free(&a);
    race("/api/v1/users/{id}", "/api/v1/users/{id}", "{\"name\":\"r%d-e%d\"}", "name");
    race("/api/v1/groups/{id}", "/api/v1/groups/{id}",
         "{\"ext\":\"3001\",\"name\":\"r%d-e%d\",\"members\":[{\"user\":\"alice\"}]}", "name");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("res_admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, res_teardown_redis);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, staff_are_refused);
    tcase_add_test(tc, users_create_list_change_remove);
    tcase_add_test(tc, users_paginated);
    tcase_add_test(tc, groups_validated_by_the_directory);
    tcase_add_test(tc, agents_by_self_supervisor_not_colleague);
    tcase_add_test(tc, trunks_and_directory_round_trip);
    tcase_add_test(tc, concurrent_edits_one_wins);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
