/* tests/unit/router/fetch_test.c — the decision's Lua script against a real redis-server and
 * its reply parsed through the settings cache: a change to a user's rules (with or without a
 * version bump, a profile switch, removed or unreadable settings) is seen by the very next
 * decision; repeated decisions are cache hits; users never see each other's rules; a bounded
 * cache evicts and still answers right; devices, presence, calendar divert and trunks are
 * read, and a calling colleague's public number; a malformed reply is refused. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "services/router/fetch.h"
#include "tests/harness/redis_fixture.h"

#define NOW_MS 1780390800000ull         /* 2026-06-02 09:00 UTC, a Tuesday */

static rw_redis_fixture_t fx;
static redisContext *rc;
static rw_router_cache_t *cache;
static rw_router_user_t user;           /* 6 KB: not on the stack */
static rw_router_policy_t policy;

static void stop_server(void)
{
    rw_redis_fixture_stop(&fx);
}

static void setup(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
    atexit(stop_server);
    rc = redisConnect("127.0.0.1", fx.port);
    ck_assert(rc && !rc->err);
    cache = rw_router_cache_new(0);
    ck_assert_ptr_nonnull(cache);
}

static void teardown(void)
{
    rw_router_cache_destroy(&cache);
    ck_assert_ptr_null(cache);
    redisFree(rc);
    stop_server();
}

static void cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_ne(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void add_user(const char *id, const char *number, const char *settings)
{
    cmd("HSET rw:user:%s id %s ext 2001 name %s realm ringway.local tz Europe/London settings %s ver 1",
        id, id, id, settings);
    cmd("HSET rw:user:%s:devices softphone %s mobile %s voicemail %s", id, "sip ",
        "number +447700900001", "voicemail x");
    cmd("SET rw:num:%s %s", number, id);
}

/* One decision's fetch: the script by number, its reply parsed. */
static int fetch(const char *number)
{
    char key[64];
    snprintf(key, sizeof key, "rw:num:%s", number);
    redisReply *r = redisCommand(rc, "EVAL %s 1 %s num %s", rw_router_lookup_lua, key,
                                 rw_router_cache_trunk_ver(cache));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_ne(r->type, REDIS_REPLY_ERROR);
    int rc_parse = rw_router_fetch_parse(cache, &rw_numplan_uk, r, NOW_MS, &user, &policy);
    freeReplyObject(r);
    return rc_parse;
}

static rw_router_cache_stats_t stats(void)
{
    rw_router_cache_stats_t st;
    rw_router_cache_stats(cache, &st);
    return st;
}

/* The first rule of the active profile (or of the pinned set when there is no profile). */
static const rw_rule_t *first_rule(void)
{
    const rw_settings_t *s = user.settings;
    ck_assert_ptr_nonnull(s);
    const rw_rule_set_t *p = rw_rules_active(s);
    const rw_rule_set_t *set = p ? p : &s->pinned;
    ck_assert_int_ge(set->n_rules, 1);
    return &set->rules[0];
}

#define RING "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"desk\",\"action\":\"ring\",\"ring\":[\"softphone\"]}]}}"
#define VM "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"away\",\"action\":\"divert\",\"to\":\"voicemail\"}]}}"
#define TWO "{\"active\":\"office\",\"pinned\":[{\"name\":\"school\",\"callers\":[\"+441632960500\"],\"action\":\"ring\"," \
    "\"ring\":[\"mobile\"]}],\"profiles\":{\"office\":[{\"name\":\"desk\",\"action\":\"ring\",\"ring\":[\"softphone\"]}]," \
    "\"leave\":[{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"voicemail\"}]}}"

START_TEST(test_a_rule_change_is_seen_by_the_next_decision_without_a_version_bump)
{
    add_user("alice", "+441632960001", RING);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(first_rule()->name, "desk");
    ck_assert_int_eq(first_rule()->action, RW_ACT_RING);
    cmd("HSET rw:user:alice settings %s", VM);  /* ver untouched on purpose */
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(first_rule()->name, "away");
    ck_assert_int_eq(first_rule()->action, RW_ACT_DIVERT);
    ck_assert_int_eq(first_rule()->to.kind, RW_DEST_VOICEMAIL);
    ck_assert_uint_eq(stats().misses, 2);
    ck_assert_uint_eq(stats().entries, 1);       /* the old entry was replaced */
}
END_TEST

START_TEST(test_repeated_decisions_are_hits_with_the_same_rules)
{
    add_user("alice", "+441632960001", TWO);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(fetch("+441632960001"), 0);
        ck_assert_int_eq(user.settings->pinned.n_rules, 1);
        ck_assert_str_eq(user.settings->pinned.rules[0].name, "school");
        ck_assert_str_eq(user.settings->pinned.rules[0].callers[0], "+441632960500");
        ck_assert_str_eq(rw_rules_active(user.settings)->name, "office");
        ck_assert_str_eq(first_rule()->ring[0].device, "softphone");
    }
    ck_assert_uint_eq(stats().misses, 1);
    ck_assert_uint_eq(stats().hits, 4);
}
END_TEST

START_TEST(test_a_profile_switch_is_seen_by_the_next_decision)
{
    add_user("alice", "+441632960001", TWO);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(rw_rules_active(user.settings)->name, "office");
    char *leave = strdup(TWO);
    memcpy(strstr(leave, "\"office\""), "\"leave\" ", 8);       /* "active":"leave" */
    cmd("HSET rw:user:alice settings %s", leave);
    free(leave);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(rw_rules_active(user.settings)->name, "leave");
    ck_assert_str_eq(first_rule()->name, "cover");
    ck_assert_int_eq(user.settings->pinned.n_rules, 1);        /* pinned rules stay */
}
END_TEST

START_TEST(test_removed_or_unreadable_settings_mean_no_rules)
{
    add_user("alice", "+441632960001", RING);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_ptr_nonnull(user.settings);
    cmd("HDEL rw:user:alice settings");
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_ptr_null(user.settings);
    cmd("HSET rw:user:alice settings %s", "{\"profiles\":");
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_ptr_null(user.settings);
    ck_assert_int_eq(fetch("+441632960001"), 0);               /* remembered: not parsed again */
    ck_assert_ptr_null(user.settings);
    ck_assert_uint_eq(stats().misses, 2);
    cmd("HSET rw:user:alice settings %s", RING);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(first_rule()->name, "desk");
}
END_TEST

/* Every user's rule is named after the user: a wrong entry or a stale view would show. */
static void add_numbered_users(int n)
{
    for (int i = 0; i < n; i++) {
        char id[16], num[24], json[256];
        snprintf(id, sizeof id, "u%d", i);
        snprintf(num, sizeof num, "+44163296%04d", i);
        snprintf(json, sizeof json, "{\"pinned\":[{\"name\":\"rule-of-%s\",\"action\":\"ring\",\"ring\":[\"mobile\"]}]}", id);
        add_user(id, num, json);
    }
}

static void check_numbered_users(int n, int rounds)
{
    for (int k = 0; k < rounds * n; k++) {
        int i = (k * 7) % n;
        char num[24], name[32];
        snprintf(num, sizeof num, "+44163296%04d", i);
        snprintf(name, sizeof name, "rule-of-u%d", i);
        ck_assert_int_eq(fetch(num), 0);
        ck_assert_str_eq(first_rule()->name, name);
    }
}

START_TEST(test_users_never_see_each_others_rules)
{
    add_numbered_users(300);
    check_numbered_users(300, 3);
    ck_assert_uint_eq(stats().misses, 300);
    ck_assert_uint_eq(stats().hits, 600);
    ck_assert_uint_eq(stats().evictions, 0);
}
END_TEST

START_TEST(test_a_bounded_cache_evicts_the_oldest_and_still_answers_right)
{
    rw_router_cache_destroy(&cache);
    cache = rw_router_cache_new(8 * 1024);       /* a handful of one-rule entries */
    add_numbered_users(40);
    check_numbered_users(40, 2);
    ck_assert_uint_gt(stats().evictions, 0);
    ck_assert_uint_le(stats().bytes, 8 * 1024);
    ck_assert_uint_ge(stats().entries, 1);
}
END_TEST

START_TEST(test_devices_presence_and_calendar_divert_are_read)
{
    add_user("alice", "+441632960001", "");
    cmd("SET rw:loc:sip:2001@ringway.local 1");
    cmd("HSET rw:presence:alice state away until_ms 0");
    cmd("HSET rw:divert:alice start_ms %llu end_ms %llu to +447700900777 ext x",
        (unsigned long long) NOW_MS - 1000, (unsigned long long) NOW_MS + 1000);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(user.id, "alice");
    ck_assert_str_eq(user.ext, "2001");
    ck_assert_str_eq(user.realm, "ringway.local");
    ck_assert_ptr_null(user.settings);
    ck_assert_uint_eq(user.n_devices, 3);
    int idx = rw_plan_device_index(&user, "softphone");
    ck_assert_int_ge(idx, 0);
    ck_assert_str_eq(user.devices[idx].kind, "sip");
    ck_assert_str_eq(user.devices[idx].address, "");
    ck_assert_int_eq(user.devices[idx].live, 1);
    idx = rw_plan_device_index(&user, "mobile");
    ck_assert_int_ge(idx, 0);
    ck_assert_str_eq(user.devices[idx].kind, "number");
    ck_assert_str_eq(user.devices[idx].address, "+447700900001");
    ck_assert_str_eq(user.presence, "away");
    ck_assert_int_eq(user.divert_to.kind, RW_DEST_NUMBER);
    ck_assert_str_eq(user.divert_to.ref, "+447700900777");
    ck_assert_str_eq(user.local_text, "10:00 Tue, Europe/London");
    /* Registration gone, presence over, divert ended: the next decision sees all three. */
    cmd("DEL rw:loc:sip:2001@ringway.local");
    cmd("HSET rw:presence:alice until_ms %llu", (unsigned long long) NOW_MS - 1);
    cmd("HSET rw:divert:alice end_ms %llu", (unsigned long long) NOW_MS);
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_int_eq(user.devices[rw_plan_device_index(&user, "softphone")].live, -1);
    ck_assert_str_eq(user.presence, "");
    ck_assert_int_eq(user.divert_to.kind, 0);
    ck_assert_int_eq(fetch("+441632960999"), RW_ENOTFOUND);
}
END_TEST

START_TEST(test_trunks_are_read_when_their_version_changes)
{
    add_user("alice", "+441632960001", "");
    cmd("HSET rw:trunks uk %s fr %s", "{\"prefixes\":[\"+44\"],\"order\":2,\"address\":\"sip:uk\"}",
        "{\"prefixes\":[\"+33\",\"+262\"],\"order\":1,\"address\":\"sip:fr\"}");
    cmd("SET rw:trunks:ver 7");
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(rw_router_cache_trunk_ver(cache), "7");
    ck_assert_uint_eq(policy.n_trunks, 2);
    ck_assert_str_eq(policy.trunks[0].name, "fr");              /* by order */
    ck_assert_str_eq(policy.trunks[0].prefixes[1], "+262");
    ck_assert_str_eq(policy.trunks[1].name, "uk");
    policy.n_trunks = 0;                                         /* not sent again: kept */
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_uint_eq(policy.n_trunks, 0);
    cmd("HDEL rw:trunks fr");
    cmd("SET rw:trunks:ver 8");
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(rw_router_cache_trunk_ver(cache), "8");
    ck_assert_uint_eq(policy.n_trunks, 1);
    ck_assert_str_eq(policy.trunks[0].name, "uk");
}
END_TEST

/* The script with a calling colleague's extension as ARGV[3]. */
static int fetch_from(const char *number, const char *caller_ext)
{
    char key[64];
    snprintf(key, sizeof key, "rw:num:%s", number);
    redisReply *r = redisCommand(rc, "EVAL %s 1 %s num %s %s", rw_router_lookup_lua, key,
                                 rw_router_cache_trunk_ver(cache), caller_ext);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_ne(r->type, REDIS_REPLY_ERROR);
    int rc_parse = rw_router_fetch_parse(cache, &rw_numplan_uk, r, NOW_MS, &user, &policy);
    freeReplyObject(r);
    return rc_parse;
}

START_TEST(test_a_calling_colleagues_public_number_is_read)
{
    add_user("alice", "+441632960001", RING);        /* no rule reads the caller's number */
    cmd("HSET rw:user:bob id bob ext 2002 number +441632960002");
    cmd("SET rw:num:2002 bob");
    ck_assert_int_eq(fetch_from("+441632960001", "2002"), 0);
    ck_assert_str_eq(user.caller_number, "");                  /* so it is not looked up */
    add_user("alice", "+441632960001", TWO);          /* a pinned rule with "callers" */
    ck_assert_int_eq(fetch_from("+441632960001", "2002"), 0);
    ck_assert_str_eq(user.caller_number, "+441632960002");
    ck_assert_int_eq(fetch_from("+441632960001", "2999"), 0);     /* nobody's extension */
    ck_assert_str_eq(user.caller_number, "");
    ck_assert_int_eq(fetch("+441632960001"), 0);                  /* no caller given */
    ck_assert_str_eq(user.caller_number, "");
}
END_TEST

START_TEST(test_a_group_number_resolves_to_the_group_with_its_overflow)
{
    cmd("HSET rw:group:helpdesk id helpdesk ext 2100 name Helpdesk overflow voicemail:bob ver 1");
    cmd("SET rw:num:2100 group:helpdesk");
    cmd("SET rw:num:+441632960100 group:helpdesk");
    cmd("HSET rw:trunks uk %s", "{\"prefixes\":[\"+44\"],\"order\":1,\"address\":\"sip:uk\"}");
    cmd("SET rw:trunks:ver 3");
    ck_assert_int_eq(fetch("2100"), 0);
    ck_assert_str_eq(user.group, "helpdesk");
    ck_assert_str_eq(user.ext, "2100");
    ck_assert_str_eq(user.name, "Helpdesk");
    ck_assert_str_eq(user.group_overflow, "voicemail:bob");
    ck_assert_uint_eq(user.n_devices, 0);
    ck_assert_ptr_null(user.settings);
    ck_assert_str_eq(rw_router_cache_trunk_ver(cache), "3");    /* trunks come with a group too */
    ck_assert_uint_eq(policy.n_trunks, 1);
    ck_assert_int_eq(fetch("+441632960100"), 0);
    ck_assert_str_eq(user.group, "helpdesk");
    add_user("alice", "+441632960001", "");          /* a user's number after it: no group left */
    ck_assert_int_eq(fetch("+441632960001"), 0);
    ck_assert_str_eq(user.group, "");
    ck_assert_str_eq(user.id, "alice");
    cmd("SET rw:num:2101 group:gone");                /* the group's hash is gone: nobody */
    ck_assert_int_eq(fetch("2101"), RW_ENOTFOUND);
}
END_TEST

START_TEST(test_a_malformed_reply_is_refused)
{
    redisReply *r = redisCommand(rc, "EVAL %s 0", "return cmsgpack.pack({'alice', '2001'})");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(rw_router_fetch_parse(cache, &rw_numplan_uk, r, NOW_MS, &user, &policy), RW_EPROTO);
    freeReplyObject(r);
    r = redisCommand(rc, "EVAL %s 0", "return '\\221\\255\\255\\255\\255'");   /* 0xdd: an array of 4G elements */
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_uint_eq(r->len, 5);
    ck_assert_int_eq((unsigned char) r->str[0], 0xdd);
    ck_assert_int_eq(rw_router_fetch_parse(cache, &rw_numplan_uk, r, NOW_MS, &user, &policy), RW_EPROTO);
    freeReplyObject(r);
}
END_TEST

int main(void)
{
    rw_log_init("fetch_test", "t1", RW_LOG_ERROR);
    Suite *s = suite_create("router_fetch");
    TCase *tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_a_rule_change_is_seen_by_the_next_decision_without_a_version_bump);
    tcase_add_test(tc, test_repeated_decisions_are_hits_with_the_same_rules);
    tcase_add_test(tc, test_a_profile_switch_is_seen_by_the_next_decision);
    tcase_add_test(tc, test_removed_or_unreadable_settings_mean_no_rules);
    tcase_add_test(tc, test_users_never_see_each_others_rules);
    tcase_add_test(tc, test_a_bounded_cache_evicts_the_oldest_and_still_answers_right);
    tcase_add_test(tc, test_devices_presence_and_calendar_divert_are_read);
    tcase_add_test(tc, test_trunks_are_read_when_their_version_changes);
    tcase_add_test(tc, test_a_calling_colleagues_public_number_is_read);
    tcase_add_test(tc, test_a_malformed_reply_is_refused);
    tcase_add_test(tc, test_a_group_number_resolves_to_the_group_with_its_overflow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
