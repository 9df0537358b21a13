/* tests/unit/sipedge/hunt_test.c — sip-edge's feature codes (hunt.h) against a huntgroup stand-in
 * on a real ZeroMQ socket: *71..*74 become agent requests (login, logout, pause with the reason
 * "phone", resume) for the authenticated user; the answer is 480 naming the new state when
 * done, 403 with huntgroup's reason when refused, 503 when no instance answers by the
 * deadline; anything else is no feature code and is routed as usual. */
#include <sofia-sip/su_wait.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "common/err.h"
#include "common/log.h"
#include "protocols/huntgroup.h"
#include "services/sip-edge/hunt.h"
#include "tests/unit/bus/bus_test_util.h"

static su_root_t *root;

typedef struct {
    rw_hg_req_t last;                   /* the last request the stand-in got */
    int refuse;                         /* answer "error" instead of "done" */
} standin_t;

typedef struct {
    int done, status;
    char phrase[160];
} answer_t;

static void setup(void)
{
    rw_log_init("hunt-test", "t1", RW_LOG_ERROR);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
}

static void teardown(void)
{
    su_root_destroy(root);
    root = NULL;
    su_deinit();
}

/* The huntgroup side: the state an agent operation leads to, or a refusal. */
static void on_request(void *arg, rw_request_t *req, const void *body, size_t len)
{
    standin_t *s = arg;
    rw_hg_reply_t rep;
    msgpack_sbuffer sb;
    memset(&rep, 0, sizeof rep);
    ck_assert_int_eq(rw_proto_hg_req_decode(body, len, &s->last), 0);
    if (s->refuse) {
        rep.status = RW_HGS_ERROR;
        snprintf(rep.reason, sizeof rep.reason, "%s is a member of no group", s->last.agent);
    } else {
        rep.status = RW_HGS_DONE;
        const char *op = s->last.agent_op;
        snprintf(rep.state, sizeof rep.state, "%s", !strcmp(op, "pause") ? "paused"
                 : !strcmp(op, "logout") ? "logged_out" : "available");
    }
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_reply_encode(&rep, &sb), 0);
    rw_server_reply(req, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void never(void *arg, rw_request_t *req, const void *body, size_t len)
{
    (void) arg;
    (void) body;
    (void) len;
    rw_request_drop(&req);              /* an instance that hangs */
}

static void on_answer(void *arg, int status, const char *phrase)
{
    answer_t *a = arg;
    a->status = status;
    snprintf(a->phrase, sizeof a->phrase, "%s", phrase);
    a->done = 1;
}

/* One feature code through env; the answer within 2 s. */
static answer_t dial(rw_hunt_env_t *env, const char *user, const char *code)
{
    answer_t a = { 0 };
    ck_assert_int_eq(rw_hunt_feature(env, user, code, on_answer, &a), 0);
    ck_assert(run_until(root, &a.done, 2000));
    return a;
}

START_TEST(test_feature_codes_become_agent_requests_answered_480_with_the_state)
{
    static const struct { const char *code, *op, *reason, *phrase; } rows[] = {
        { "*71", "login", "", "Agent bob available" },
        { "*72", "logout", "", "Agent bob logged_out" },
        { "*73", "pause", "phone", "Agent bob paused" },
        { "*74", "resume", "", "Agent bob available" },
    };
    standin_t s = { 0 };
    rw_server_t *srv = rw_server_new(root, "tcp://127.0.0.1:0", on_request, &s);
    ck_assert_ptr_nonnull(srv);
    const char *ep = rw_server_endpoint(srv);
    rw_client_t *cli = rw_client_new(root, "huntgroup", NULL);
    ck_assert_int_eq(rw_client_set_endpoints(cli, &ep, 1), 0);
    rw_hunt_opts_t o = { cli, NULL, 1000, 180 };
    rw_hunt_env_t *env = rw_hunt_env_new(&o, NULL);
    ck_assert_ptr_nonnull(env);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        answer_t a = dial(env, "bob", rows[i].code);
        ck_assert_int_eq(s.last.op, RW_HGOP_AGENT);
        ck_assert_str_eq(s.last.agent, "bob");
        ck_assert_str_eq(s.last.agent_op, rows[i].op);
        ck_assert_str_eq(s.last.reason, rows[i].reason);
        ck_assert_str_eq(s.last.group, "");             /* every group of the agent's */
        ck_assert_int_eq(a.status, 480);
        ck_assert_str_eq(a.phrase, rows[i].phrase);
    }
    s.refuse = 1;
    answer_t a = dial(env, "alice", "*71");
    ck_assert_int_eq(a.status, 403);
    ck_assert_str_eq(a.phrase, "alice is a member of no group");
    rw_hunt_env_destroy(&env);
    ck_assert_ptr_null(env);
    rw_client_destroy(&cli);
    rw_server_destroy(&srv);
}
END_TEST

START_TEST(test_no_huntgroup_answering_gives_503)
{
    rw_server_t *mute = rw_server_new(root, "tcp://127.0.0.1:0", never, NULL);
    ck_assert_ptr_nonnull(mute);
    const char *ep = rw_server_endpoint(mute);
    rw_client_t *cli = rw_client_new(root, "huntgroup", NULL);
    ck_assert_int_eq(rw_client_set_endpoints(cli, &ep, 1), 0);
    rw_hunt_opts_t o = { cli, NULL, 100, 180 };
    rw_hunt_env_t *env = rw_hunt_env_new(&o, NULL);
    answer_t a = dial(env, "bob", "*71");
    ck_assert_int_eq(a.status, 503);
    rw_hunt_env_destroy(&env);
    rw_client_destroy(&cli);
    rw_server_destroy(&mute);
}
END_TEST

START_TEST(test_other_numbers_are_no_feature_codes)
{
    static const char *const numbers[] = { "2100", "*7", "*70", "*75", "*710", "*71#", "71", "**71", "" };
    rw_client_t *cli = rw_client_new(root, "huntgroup", NULL);
    rw_hunt_opts_t o = { cli, NULL, 100, 180 };
    rw_hunt_env_t *env = rw_hunt_env_new(&o, NULL);
    answer_t a = { 0 };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        ck_assert_int_eq(rw_hunt_feature(env, "bob", numbers[i], on_answer, &a), RW_ENOTFOUND);
    ck_assert_int_eq(rw_hunt_feature(env, "", "*71", on_answer, &a), RW_EINVAL);   /* no user */
    rw_hunt_opts_t none = { NULL, NULL, 100, 180 };
    rw_hunt_env_t *off = rw_hunt_env_new(&none, NULL);
    ck_assert_int_eq(rw_hunt_feature(off, "bob", "*71", on_answer, &a), RW_EINVAL);  /* no client */
    ck_assert_int_eq(a.done, 0);
    rw_hunt_env_destroy(&off);
    rw_hunt_env_destroy(&env);
    rw_hunt_env_destroy(&env);                           /* NULL: a no-op */
    rw_client_destroy(&cli);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sipedge_hunt");
    TCase *tc = tcase_create("feature_codes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_feature_codes_become_agent_requests_answered_480_with_the_state);
    tcase_add_test(tc, test_no_huntgroup_answering_gives_503);
    tcase_add_test(tc, test_other_numbers_are_no_feature_codes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
