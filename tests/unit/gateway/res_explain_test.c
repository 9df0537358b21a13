/* tests/unit/gateway/res_explain_test.c — the sentence of tools/explain.c, which the gateway's
 * explain and `ringway --json explain` both print, for plans built by hand: sequential devices
 * then voicemail (the devices named from the user's own), parallel targets, a number that is
 * not the user's, a colleague's extension, a hunt group, plans without stages, busy, refused
 * and unavailable ends, an unknown number; and that it never overflows a short buffer. */
#include <check.h>
#include <string.h>

#include "tools/explain.h"

static json_t *devices;
static rw_plan_t plan;

static void setup(void)
{
    devices = json_pack("{s:s,s:s,s:s}", "softphone", "sip ", "mobile", "number +447700900001", "voicemail",
                        "voicemail ");
    memset(&plan, 0, sizeof plan);
    plan.status = RW_PLAN_OK;
    snprintf(plan.user, sizeof plan.user, "alice");
}

static void teardown(void)
{
    json_decref(devices);
}

static rw_target_t *target(uint32_t stage, rw_target_type_t type, const char *dest, const char *device)
{
    rw_stage_t *st = &plan.stages[stage];
    if (plan.n_stages <= stage)
        plan.n_stages = stage + 1;
    rw_target_t *t = &st->targets[st->n_targets++];
    memset(t, 0, sizeof *t);
    t->type = type;
    snprintf(t->aor, sizeof t->aor, "%s", dest);
    snprintf(t->device, sizeof t->device, "%s", device ? device : "");
    return t;
}

static const char *sentence(void)
{
    static char out[1024];
    rw_explain_sentence(&plan, "2001", devices, out, sizeof out);
    return out;
}

START_TEST(sequential_then_voicemail)
{
    target(0, RW_TARGET_DEVICES, "sip:2001@ringway.local", NULL);
    plan.stages[0].ring_ms = 15000;
    target(1, RW_TARGET_NUMBER, "+447700900001", NULL);
    plan.stages[1].ring_ms = 20000;
    plan.final = RW_FINAL_VOICEMAIL;
    plan.final_target.type = RW_TARGET_VOICEMAIL;
    ck_assert_str_eq(sentence(), "Calls to 2001 ring your softphone for 15 s, then your mobile; then voicemail.");
}
END_TEST

START_TEST(parallel_and_others)
{
    target(0, RW_TARGET_DEVICES, "sip:2001@ringway.local", "desk");
    target(0, RW_TARGET_NUMBER, "+447700900999", NULL);
    target(0, RW_TARGET_NUMBER, "2002", NULL);
    plan.stages[0].ring_ms = 20000;
    target(1, RW_TARGET_HUNTGROUP, "sales", NULL);
    plan.final = RW_FINAL_BUSY;
    ck_assert_str_eq(sentence(), "Calls to 2001 ring your desk, +447700900999 and extension 2002 for 20 s, then hunt "
                                 "group sales; then the caller hears busy.");
    json_decref(devices);
    devices = json_pack("{s:s,s:s}", "desk", "sip ", "laptop", "sip ");   /* two SIP devices */
    plan.n_stages = 1;
    plan.stages[0].n_targets = 0;
    target(0, RW_TARGET_DEVICES, "sip:2001@ringway.local", NULL);
    plan.final = RW_FINAL_UNAVAILABLE;
    ck_assert_str_eq(sentence(), "Calls to 2001 ring your phones; then the caller hears that you are unavailable.");
}
END_TEST

START_TEST(no_stages)
{
    plan.final = RW_FINAL_VOICEMAIL;
    ck_assert_str_eq(sentence(), "Calls to 2001 go straight to voicemail.");
    plan.final = RW_FINAL_NUMBER;
    plan.final_target.type = RW_TARGET_NUMBER;
    snprintf(plan.final_target.number, sizeof plan.final_target.number, "+447700900001");
    ck_assert_str_eq(sentence(), "Calls to 2001 go straight to your mobile.");
    plan.final = RW_FINAL_REJECT;
    ck_assert_str_eq(sentence(), "Calls to 2001 are refused.");
    plan.final = RW_FINAL_BUSY;
    ck_assert_str_eq(sentence(), "Calls to 2001 get busy.");
    plan.status = RW_PLAN_NOT_FOUND;
    ck_assert_str_eq(sentence(), "No user has the number 2001.");
    plan.status = RW_PLAN_ERROR;
    ck_assert_str_eq(sentence(), "The router could not say where calls to 2001 ring.");
}
END_TEST

START_TEST(short_buffer)
{
    char out[24];
    memset(out, 'x', sizeof out);
    for (int s = 0; s < 4; s++) {
        target((uint32_t) s, RW_TARGET_DEVICES, "sip:2001@ringway.local", "softphone");
        plan.stages[s].ring_ms = 10000;
    }
    plan.final = RW_FINAL_VOICEMAIL;
    rw_explain_sentence(&plan, "2001", devices, out, sizeof out);
    ck_assert_int_eq((int) strlen(out), (int) sizeof out - 1);
    ck_assert(!strncmp(out, "Calls to 2001 ring your", 23));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("res_explain");
    TCase *tc = tcase_create("sentence");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sequential_then_voicemail);
    tcase_add_test(tc, parallel_and_others);
    tcase_add_test(tc, no_stages);
    tcase_add_test(tc, short_buffer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
