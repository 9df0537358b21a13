/* tests/unit/huntgroup/dir_groups_test.c — hunt groups in the directory against a real
 * redis-server: what is refused at save time (no members, an unknown strategy, a member that is
 * not a user, a weight of 0 or -1, a device that does not exist, a number another user holds, an
 * overflow to a group that does not exist...) with nothing written; a group read back as saved;
 * import and export of the "groups" array; removal refused while another group overflows to it;
 * agents' log in, pause with a reason, resume and log out. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "common/err.h"
#include "tests/harness/redis_fixture.h"
#include "tests/unit/huntgroup/hg_fixture.h"

static rw_redis_fixture_t fx;
static rw_redis_t *r;
static rw_group_t g, back;

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void add_user(const char *id, const char *ext)
{
    char err[256];
    hg_add_user(r, id, ext);
    ck_assert_int_eq(rw_dir_device_put(r, &rw_numplan_uk, id, "desk", "sip", "", err, sizeof err), 0);
}

static void setup(void)
{
    if (!fx.pid) {
        ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
        atexit(stop_server);
    }
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 2000 };
    r = rw_redis_new(&o);
    ck_assert_ptr_nonnull(r);
    redisReply *rep = rw_redis_command(r, "FLUSHALL");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    add_user("alice", "2001");
    add_user("bob", "2002");
}

static void teardown(void)
{
    rw_redis_destroy(&r);
}

/* A valid group: sales on 3000 with alice and bob. */
static void sales(void)
{
    rw_group_defaults(&g, "sales");
    snprintf(g.ext, sizeof g.ext, "3000");
    rw_group_member_defaults(&g.members[0], "alice");
    rw_group_member_defaults(&g.members[1], "bob");
    g.n_members = 2;
}

static long long groups_count(void)
{
    redisReply *rep = rw_redis_command(r, "SCARD rw:groups");
    long long n = rep ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

static const struct {
    const char *what, *key, *value;  /* group setting (key NULL: see member_*) */
    const char *member_key, *member_value;
    int drop_members;
    const char *error;               /* a part of the message */
} bad[] = {
    { "no members", NULL, NULL, NULL, NULL, 1, "has no members" },
    { "unknown strategy", "strategy", "fastest", NULL, NULL, 0, "unknown strategy 'fastest'" },
    { "weight 0", NULL, NULL, "weight", "0", 0, "weight 0 is out of range" },
    { "weight -1", NULL, NULL, "weight", "-1", 0, "weight -1 is out of range" },
    { "tier 0", NULL, NULL, "tier", "0", 0, "tier 0 is out of range" },
    { "unknown device", NULL, NULL, "device", "mobile", 0, "device 'mobile' does not exist" },
    { "bad skills", NULL, NULL, "skills", "French!", 0, "skills 'French!'" },
    { "ext of a user", "ext", "2001", NULL, NULL, 0, "2001 already belongs to user 'alice'" },
    { "ext not internal", "ext", "+441632960001", NULL, NULL, 0, "is not an internal extension" },
    { "bad number", "number", "12ab", NULL, NULL, 0, "'12ab' is not a valid public number" },
    { "overflow group unknown", "overflow", "group:nobody", NULL, NULL, 0, "overflow group 'nobody' does not exist" },
    { "overflow to itself", "overflow", "group:sales", NULL, NULL, 0, "overflow to the group itself" },
    { "overflow kind", "overflow", "fax:1", NULL, NULL, 0, "must be busy, group:ID" },
    { "overflow voicemail", "overflow", "voicemail:zed", NULL, NULL, 0, "no such user" },
    { "priority caller", "priority", "01632960001", NULL, NULL, 0, "is not an E.164 number" },
    { "caller skills", "caller_skills", "+33french", NULL, NULL, 0, "is not +PREFIX:skill" },
    { "ring_ms", "ring_ms", "10", NULL, NULL, 0, "ring_ms 10 is out of range" },
    { "join_empty", "join_empty", "maybe", NULL, NULL, 0, "is not yes or no" },
    { "unknown key", "colour", "red", NULL, NULL, 0, "unknown group setting 'colour'" },
};

START_TEST(test_bad_group_refused_at_save_with_reason)
{
    char err[400] = "";
    int rc;
    sales();
    if (bad[_i].drop_members)
        g.n_members = 0;
    if (bad[_i].key)
        rc = rw_group_set(&g, bad[_i].key, bad[_i].value, err, sizeof err);
    else if (bad[_i].member_key)
        rc = rw_group_member_set(&g.members[0], bad[_i].member_key, bad[_i].member_value, err, sizeof err);
    else
        rc = 0;
    if (rc == 0)
        rc = rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err);
    ck_assert_msg(rc < 0, "%s: saved", bad[_i].what);
    ck_assert_msg(strstr(err, bad[_i].error), "%s: '%s' lacks '%s'", bad[_i].what, err, bad[_i].error);
    ck_assert_int_eq(groups_count(), 0);
}
END_TEST

START_TEST(test_unknown_member_refused)
{
    char err[400];
    sales();
    rw_group_member_defaults(&g.members[2], "zed");
    g.n_members = 3;
    ck_assert_int_eq(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "member 'zed' is not a user of the directory");
    ck_assert_int_eq(groups_count(), 0);
}
END_TEST

START_TEST(test_group_read_back_as_saved)
{
    char err[400];
    sales();
    ck_assert_int_eq(rw_group_set(&g, "strategy", "weighted_random", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_set(&g, "number", "01632 960100", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_set(&g, "priority", "+441632960999", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[1], "weight", "3", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[1], "tier", "2", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[1], "skills", "french,german", err, sizeof err), 0);
    ck_assert_int_eq(rw_group_member_set(&g.members[0], "device", "desk", err, sizeof err), 0);
    ck_assert_msg(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rw_dir_group_get(r, "sales", &back), 0);
    ck_assert_str_eq(back.number, "+441632960100");
    ck_assert_int_eq(back.strategy, RW_HG_WEIGHTED_RANDOM);
    ck_assert_int_eq(back.n_members, 2);
    ck_assert_str_eq(back.members[0].user, "alice");
    ck_assert_str_eq(back.members[0].device, "desk");
    ck_assert_str_eq(back.members[1].user, "bob");
    ck_assert_int_eq(back.members[1].weight, 3);
    ck_assert_int_eq(back.members[1].tier, 2);
    ck_assert_str_eq(back.members[1].skills, "french,german");
    /* the number index points at the group, so no user can take the extension */
    redisReply *rep = rw_redis_command(r, "GET rw:num:3000");
    ck_assert_str_eq(rep->str, "group:sales");
    freeReplyObject(rep);
    rw_dir_user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "carol");
    snprintf(u.ext, sizeof u.ext, "3000");
    snprintf(u.realm, sizeof u.realm, "ringway.local");
    ck_assert_int_eq(rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err), RW_EEXIST);
    /* a member removed from the group is no longer a member_of */
    g.n_members = 1;
    ck_assert_int_eq(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err), 0);
    rep = rw_redis_command(r, "SISMEMBER rw:hg:member_of:bob sales");
    ck_assert_int_eq(rep->integer, 0);
    freeReplyObject(rep);
}
END_TEST

START_TEST(test_import_export_and_rm_refused_while_overflowed_to)
{
    char path[] = "/tmp/rw-groups-XXXXXX", err[400];
    int fd = mkstemp(path), n = 0;
    ck_assert_int_ge(fd, 0);
    const char *file =
        "{\"users\":[],\"groups\":["
        "{\"id\":\"front\",\"ext\":\"3001\",\"strategy\":\"linear\",\"overflow\":\"group:back\","
        " \"members\":[{\"user\":\"alice\",\"tier\":1},{\"user\":\"bob\",\"tier\":2,\"weight\":2}]},"
        "{\"id\":\"back\",\"ext\":\"3002\",\"join_empty\":true,\"members\":[{\"user\":\"bob\"}]}]}";
    ck_assert_int_eq(write(fd, file, strlen(file)), (ssize_t) strlen(file));
    close(fd);
    ck_assert_msg(rw_dir_groups_import_file(r, &rw_numplan_uk, path, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(rw_dir_group_get(r, "front", &back), 0);
    ck_assert_str_eq(back.overflow, "group:back");
    ck_assert_int_eq(back.strategy, RW_HG_LINEAR);
    json_t *j = rw_dir_groups_export(r);
    ck_assert_int_eq(json_array_size(json_object_get(j, "groups")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "groups"), 1), "id")),
                     "front");
    json_decref(j);
    ck_assert_int_eq(rw_dir_group_rm(r, "back", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "group 'front' still overflows to 'back': change it first");
    ck_assert_int_eq(rw_dir_group_rm(r, "front", err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_group_rm(r, "back", err, sizeof err), 0);
    ck_assert_int_eq(groups_count(), 0);
    /* a bad group in a file is named by its index */
    fd = open(path, O_WRONLY | O_TRUNC);
    const char *badfile = "{\"groups\":[{\"id\":\"x\",\"ext\":\"3003\",\"members\":[{\"user\":\"alice\",\"weight\":0}]}]}";
    ck_assert_int_eq(write(fd, badfile, strlen(badfile)), (ssize_t) strlen(badfile));
    close(fd);
    ck_assert_int_eq(rw_dir_groups_import_file(r, &rw_numplan_uk, path, &n, err, sizeof err), RW_EINVAL);
    ck_assert_msg(strstr(err, "groups[0]: members[0]: weight: weight 0 is out of range"), "%s", err);
    unlink(path);
}
END_TEST

START_TEST(test_agent_login_pause_resume_logout)
{
    char err[300];
    rw_agent_status_t st;
    sales();
    ck_assert_int_eq(rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err), 0);
    ck_assert_int_eq(rw_dir_agent_op(r, "login", "zed", "", "", 1000, &st, err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "unknown user zed");
    ck_assert_int_eq(rw_dir_agent_op(r, "login", "alice", "support", "", 1000, &st, err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "alice is not a member of group support");
    ck_assert_int_eq(rw_dir_agent_op(r, "pause", "alice", "", "lunch", 1000, &st, err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "alice is not logged in");
    ck_assert_int_eq(rw_dir_agent_op(r, "login", "alice", "", "", 1000, &st, err, sizeof err), 0);
    ck_assert_str_eq(st.state, "available");
    ck_assert_str_eq(st.groups, "sales");
    ck_assert_int_eq(rw_dir_agent_op(r, "pause", "alice", "", "", 1000, &st, err, sizeof err), RW_EINVAL);
    ck_assert_int_eq(rw_dir_agent_op(r, "pause", "alice", "", "lunch", 2000, &st, err, sizeof err), 0);
    ck_assert_str_eq(st.state, "paused");
    ck_assert_str_eq(st.reason, "lunch");
    ck_assert_int_eq(rw_dir_agent_op(r, "resume", "alice", "", "", 3000, &st, err, sizeof err), 0);
    ck_assert_str_eq(st.state, "available");
    ck_assert_int_eq(rw_dir_agent_op(r, "logout", "alice", "", "", 4000, &st, err, sizeof err), 0);
    ck_assert_str_eq(st.state, "logged_out");
    ck_assert_str_eq(st.groups, "");
    /* every change left a queue.agent_state event for a huntgroup instance to publish */
    redisReply *rep = rw_redis_command(r, "LLEN rw:hg:events");
    ck_assert_int_eq(rep->integer, 4);
    freeReplyObject(rep);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dir_groups");
    TCase *tc = tcase_create("save");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_bad_group_refused_at_save_with_reason, 0, (int) (sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_unknown_member_refused);
    tcase_add_test(tc, test_group_read_back_as_saved);
    tcase_add_test(tc, test_import_export_and_rm_refused_while_overflowed_to);
    tcase_add_test(tc, test_agent_login_pause_resume_logout);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
