/* tests/unit/router/plan_build_test.c — the router's default decision, from a table, and
 * device targets: a rule naming some of the user's SIP devices on their own AOR names them in
 * its targets; all of them (or the only one) ring as the whole AOR. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e164.h"

#include "services/router/plan_build.h"

static const rw_router_policy_t policy = { .ring_ms = 20000 };

static rw_route_req_t request(const char *callee)
{
    rw_route_req_t rq;
    memset(&rq, 0, sizeof rq);
    strcpy(rq.call_id, "c1@test");
    strcpy(rq.caller, "+441632960999");
    strcpy(rq.callee, callee);
    strcpy(rq.source, "device");
    return rq;
}

static void add_device(rw_router_user_t *u, const char *id, const char *kind, const char *addr)
{
    strcpy(u->devices[u->n_devices].id, id);
    strcpy(u->devices[u->n_devices].kind, kind);
    strcpy(u->devices[u->n_devices].address, addr);
    u->n_devices++;
}

static rw_router_user_t user(void)
{
    rw_router_user_t u;
    memset(&u, 0, sizeof u);
    strcpy(u.id, "alice");
    strcpy(u.ext, "2001");
    strcpy(u.name, "Alice Archer");
    strcpy(u.realm, "ringway.local");
    return u;
}

static int trace_has(const rw_plan_t *p, const char *needle)
{
    for (uint32_t i = 0; i < p->n_trace; i++)
        if (strstr(p->trace[i], needle))
            return 1;
    return 0;
}

static rw_router_user_t group(const char *overflow)
{
    rw_router_user_t u;
    memset(&u, 0, sizeof u);
    strcpy(u.id, "helpdesk");
    strcpy(u.group, "helpdesk");
    strcpy(u.ext, "2100");
    strcpy(u.name, "Helpdesk");
    strcpy(u.group_overflow, overflow);
    return u;
}

/* A group number: one stage, the group, whatever the overflow; the overflow is the final
 * action sip-edge takes when huntgroup cannot answer. */
START_TEST(test_a_group_number_is_a_hunt_group_stage_with_its_overflow_as_final)
{
    static const struct { const char *overflow; rw_final_t final; rw_target_type_t type; const char *dest; } rows[] = {
        { "busy", RW_FINAL_BUSY, RW_TARGET_NONE, "" },
        { "voicemail:bob", RW_FINAL_VOICEMAIL, RW_TARGET_VOICEMAIL, "bob" },
        { "number:+441632960500", RW_FINAL_NUMBER, RW_TARGET_NUMBER, "+441632960500" },
        { "group:sales", RW_FINAL_UNAVAILABLE, RW_TARGET_NONE, "" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rw_route_req_t rq = request("2100");
        rw_router_user_t u = group(rows[i].overflow);
        rw_plan_t plan;
        rw_router_build_plan(&policy, &rq, &u, &plan);
        ck_assert_int_eq(plan.status, RW_PLAN_OK);
        ck_assert_str_eq(plan.user, "");
        ck_assert_uint_eq(plan.n_stages, 1);
        ck_assert_uint_eq(plan.stages[0].n_targets, 1);
        ck_assert_int_eq(plan.stages[0].targets[0].type, RW_TARGET_HUNTGROUP);
        ck_assert_str_eq(plan.stages[0].targets[0].group, "helpdesk");
        ck_assert_int_eq(plan.final, rows[i].final);
        ck_assert_int_eq(plan.final_target.type, rows[i].type);
        if (rows[i].dest[0])
            ck_assert_str_eq(plan.final_target.number, rows[i].dest);
        ck_assert(trace_has(&plan, "hunt group helpdesk"));
        ck_assert(trace_has(&plan, rows[i].overflow));
    }
}
END_TEST

START_TEST(test_unknown_callee_is_not_found_with_a_reason)
{
    rw_route_req_t rq = request("2999");
    rw_plan_t plan;
    rw_router_build_plan(&policy, &rq, NULL, &plan);
    ck_assert_int_eq(plan.status, RW_PLAN_NOT_FOUND);
    ck_assert_uint_eq(plan.n_stages, 0);
    ck_assert_str_eq(plan.call_id, "c1@test");
    ck_assert(trace_has(&plan, "2999"));
}
END_TEST

START_TEST(test_one_sip_device_rings_the_users_aor)
{
    rw_route_req_t rq = request("2001");
    rw_router_user_t u = user();
    rw_plan_t plan;
    add_device(&u, "softphone", "sip", "");
    rw_router_build_plan(&policy, &rq, &u, &plan);
    ck_assert_int_eq(plan.status, RW_PLAN_OK);
    ck_assert_str_eq(plan.user, "alice");
    ck_assert_uint_eq(plan.n_stages, 1);
    ck_assert_uint_eq(plan.stages[0].ring_ms, 20000);
    ck_assert_uint_eq(plan.stages[0].n_targets, 1);
    ck_assert_int_eq(plan.stages[0].targets[0].type, RW_TARGET_DEVICES);
    ck_assert_str_eq(plan.stages[0].targets[0].aor, "sip:2001@ringway.local");
    ck_assert_int_eq(plan.final, RW_FINAL_UNAVAILABLE);
    ck_assert(trace_has(&plan, "softphone"));
}
END_TEST

START_TEST(test_devices_sharing_an_aor_ring_once_and_others_in_parallel)
{
    rw_route_req_t rq = request("2001");
    rw_router_user_t u = user();
    rw_plan_t plan;
    add_device(&u, "softphone", "sip", "");
    add_device(&u, "deskphone", "sip", "");
    add_device(&u, "lab", "sip", "sip:lab-2001@ringway.local");
    rw_router_build_plan(&policy, &rq, &u, &plan);
    ck_assert_uint_eq(plan.n_stages, 1);
    ck_assert_uint_eq(plan.stages[0].n_targets, 2);
    ck_assert_str_eq(plan.stages[0].targets[1].aor, "sip:lab-2001@ringway.local");
}
END_TEST

START_TEST(test_voicemail_is_the_final_action_when_the_user_has_one)
{
    rw_route_req_t rq = request("+441632960001");
    rw_router_user_t u = user();
    rw_plan_t plan;
    add_device(&u, "softphone", "sip", "");
    add_device(&u, "mobile", "number", "+447700900001");
    add_device(&u, "vm", "voicemail", "");
    rw_router_build_plan(&policy, &rq, &u, &plan);
    ck_assert_int_eq(plan.final, RW_FINAL_VOICEMAIL);
    ck_assert_int_eq(plan.final_target.type, RW_TARGET_VOICEMAIL);
    ck_assert_str_eq(plan.final_target.mailbox, "alice");
    /* A mobile number is private: without a rule it is never rung. */
    for (uint32_t s = 0; s < plan.n_stages; s++)
        for (uint32_t t = 0; t < plan.stages[s].n_targets; t++)
            ck_assert_int_ne(plan.stages[s].targets[t].type, RW_TARGET_NUMBER);
}
END_TEST

START_TEST(test_user_without_sip_device_gets_no_stage)
{
    rw_route_req_t rq = request("2001");
    rw_router_user_t u = user();
    rw_plan_t plan;
    add_device(&u, "vm", "voicemail", "");
    rw_router_build_plan(&policy, &rq, &u, &plan);
    ck_assert_int_eq(plan.status, RW_PLAN_OK);
    ck_assert_uint_eq(plan.n_stages, 0);
    ck_assert_int_eq(plan.final, RW_FINAL_VOICEMAIL);
    ck_assert(trace_has(&plan, "no SIP device"));
}
END_TEST

/* alice with desk and soft on her own AOR, lab on an AOR of its own, a mobile; settings: one
 * profile with the given rules (JSON list). */
static rw_plan_t plan_with_rules(const char *rules, int devices_on_own_aor)
{
    static rw_settings_t settings;
    static rw_router_user_t u;
    rw_plan_t plan;
    char json[1024], err[256];
    rw_route_req_t rq = request("2001");
    u = user();
    add_device(&u, "desk", "sip", "");
    if (devices_on_own_aor > 1)
        add_device(&u, "soft", "sip", "sip:2001@ringway.local");   /* the own AOR, spelt out */
    add_device(&u, "lab", "sip", "sip:lab-2001@ringway.local");
    add_device(&u, "mobile", "number", "+447700900001");
    snprintf(json, sizeof json, "{\"active\":\"p\",\"profiles\":{\"p\":[%s]}}", rules);
    ck_assert_msg(rw_rules_parse(json, &rw_numplan_uk, true, &settings, err, sizeof err) == 0, "%s", err);
    u.settings = rules[0] ? &settings : NULL;
    rw_router_build_plan(&policy, &rq, &u, &plan);
    return plan;
}

#define RING(list, mode) "{\"name\":\"r\",\"action\":\"ring\",\"mode\":\"" mode "\",\"ring\":[" list "]}"

START_TEST(test_a_rule_ringing_one_device_names_it_in_the_target)
{
    rw_plan_t p = plan_with_rules(RING("\"desk\"", "parallel"), 2);
    ck_assert_uint_eq(p.n_stages, 1);
    ck_assert_uint_eq(p.stages[0].n_targets, 1);
    ck_assert_int_eq(p.stages[0].targets[0].type, RW_TARGET_DEVICES);
    ck_assert_str_eq(p.stages[0].targets[0].aor, "sip:2001@ringway.local");
    ck_assert_str_eq(p.stages[0].targets[0].device, "desk");
    p = plan_with_rules(RING("\"soft\",\"mobile\"", "parallel"), 2);
    ck_assert_uint_eq(p.stages[0].n_targets, 2);
    ck_assert_str_eq(p.stages[0].targets[0].device, "soft");
    ck_assert_str_eq(p.stages[0].targets[1].device, "");     /* a number names no device */
}
END_TEST

START_TEST(test_every_device_on_the_own_aor_rings_as_the_whole_aor)
{
    rw_plan_t p = plan_with_rules(RING("\"desk\",\"lab\",\"soft\"", "parallel"), 2);
    ck_assert_uint_eq(p.stages[0].n_targets, 2);
    ck_assert_str_eq(p.stages[0].targets[0].aor, "sip:lab-2001@ringway.local");
    ck_assert_str_eq(p.stages[0].targets[0].device, "");     /* an AOR of its own */
    ck_assert_str_eq(p.stages[0].targets[1].aor, "sip:2001@ringway.local");
    ck_assert_str_eq(p.stages[0].targets[1].device, "");     /* desk + soft = all of them */
    p = plan_with_rules("", 2);                             /* no rule: every SIP device */
    ck_assert_uint_eq(p.stages[0].n_targets, 2);
    ck_assert_str_eq(p.stages[0].targets[0].device, "");
    ck_assert_str_eq(p.stages[0].targets[1].device, "");
    p = plan_with_rules(RING("\"desk\",\"soft\"", "sequential"), 2);
    ck_assert_uint_eq(p.n_stages, 2);                       /* one at a time: each its own */
    ck_assert_str_eq(p.stages[0].targets[0].device, "desk");
    ck_assert_str_eq(p.stages[1].targets[0].device, "soft");
}
END_TEST

START_TEST(test_the_only_device_on_the_own_aor_names_none)
{
    rw_plan_t p = plan_with_rules(RING("\"desk\"", "parallel"), 1);
    ck_assert_uint_eq(p.stages[0].n_targets, 1);
    ck_assert_str_eq(p.stages[0].targets[0].aor, "sip:2001@ringway.local");
    ck_assert_str_eq(p.stages[0].targets[0].device, "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_build");
    TCase *tc = tcase_create("default_decision");
    tcase_add_test(tc, test_unknown_callee_is_not_found_with_a_reason);
    tcase_add_test(tc, test_a_group_number_is_a_hunt_group_stage_with_its_overflow_as_final);
    tcase_add_test(tc, test_one_sip_device_rings_the_users_aor);
    tcase_add_test(tc, test_devices_sharing_an_aor_ring_once_and_others_in_parallel);
    tcase_add_test(tc, test_voicemail_is_the_final_action_when_the_user_has_one);
    tcase_add_test(tc, test_user_without_sip_device_gets_no_stage);
    suite_add_tcase(s, tc);
    tc = tcase_create("devices");
    tcase_add_test(tc, test_a_rule_ringing_one_device_names_it_in_the_target);
    tcase_add_test(tc, test_every_device_on_the_own_aor_rings_as_the_whole_aor);
    tcase_add_test(tc, test_the_only_device_on_the_own_aor_names_none);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
