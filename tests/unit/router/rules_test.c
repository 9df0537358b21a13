/* tests/unit/router/rules_test.c — the routing rules from a table: each rule alone, the
 * precedence between them, schedules across DST changes, and loop protection. Each row is one
 * user state + call, and the plan's stage count, first target, final action and a trace line
 * it must produce. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "services/router/plan_build.h"
#include "services/router/schedule.h"
#include "common/err.h"

static const rw_router_policy_t policy = { .ring_ms = 20000, .max_hops = 4, .n_trunks = 1,
    .trunks = { { .name = "uk-main", .prefixes = { "+44" }, .order = 1 } } };

#define SCHOOL "{\"name\":\"school\",\"callers\":[\"+441632960500\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define WORKDAY "{\"name\":\"workday\",\"days\":\"mon-fri\",\"time\":\"09:00-17:30\",\"action\":\"ring\"," \
                "\"mode\":\"sequential\",\"ring\":[{\"device\":\"softphone\",\"secs\":10},{\"device\":\"mobile\",\"secs\":15}]}"
#define AWAY "{\"name\":\"away\",\"presence\":[\"away\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define MEETING "{\"name\":\"meeting\",\"presence\":[\"in_meeting\"],\"action\":\"divert\",\"to\":\"voicemail\"}"
#define ALWAYS_BOB "{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define NA_BOB "{\"name\":\"na\",\"action\":\"divert\",\"on\":\"no_answer\",\"after\":12,\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define BUSY_VM "{\"name\":\"busy\",\"action\":\"divert\",\"on\":\"busy\",\"to\":\"voicemail\"}"
#define UNREACH_MOB "{\"name\":\"offline\",\"action\":\"divert\",\"on\":\"unreachable\",\"to\":\"mobile\"}"
#define DND "{\"name\":\"dnd\",\"action\":\"dnd\",\"except\":[\"+441632960002\"]}"
#define NIGHT_DND "{\"name\":\"night\",\"time\":\"22:00-07:00\",\"action\":\"dnd\"}"
#define VIP "{\"name\":\"vip\",\"callers\":[\"+4420*\"],\"action\":\"divert\",\"to\":\"+447700900999\"}"
#define PROF(active, rules) "{\"active\":\"" active "\",\"profiles\":{\"office\":[" rules "],\"leave\":[" ALWAYS_BOB "]}}"
#define PINNED(pin, rules) "{\"active\":\"office\",\"pinned\":[" pin "],\"profiles\":{\"office\":[" rules "]}}"

typedef struct {
    const char *name;
    const char *settings;            /* JSON, "" for none */
    const char *at;                  /* UTC instant */
    const char *tz;
    const char *caller;
    const char *presence;
    const char *divert;              /* calendar divert in force, "" = none */
    const char *diverted;            /* one user in the request's diversions, "" = none */
    int softphone_dead;              /* softphone known to have no binding */
    int stages;                      /* expected */
    const char *first;               /* first target of stage 1, "" = no stage */
    rw_final_t final;
    const char *trace;               /* a line containing this */
} row_t;

static const row_t rows[] = {
    { "no rules: SIP devices together then voicemail", "", "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960999", "", "", "", 0, 1, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL, "no ring rule" },
    { "schedule in hours rings one after another", PROF("office", WORKDAY), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "10:00 Mon, Europe/London" },
    { "schedule out of hours falls to the default", PROF("office", WORKDAY), "2026-06-01T17:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 1, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "no ring rule" },
    { "weekend does not match mon-fri", PROF("office", WORKDAY), "2026-06-06T10:00:00Z", "Europe/London",
      "+441632960999", "", "", "", 0, 1, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL, "Sat" },
    { "DST starts: 08:30 UTC on 29 Mar is 09:30 BST, in hours", PROF("office", WORKDAY),
      "2026-03-30T08:30:00Z", "Europe/London", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local",
      RW_FINAL_VOICEMAIL, "09:30 Mon" },
    { "the day before DST 08:30 UTC is 08:30 GMT, out of hours", PROF("office", WORKDAY),
      "2026-03-27T08:30:00Z", "Europe/London", "+441632960999", "", "", "", 0, 1, "sip:2001@ringway.local",
      RW_FINAL_VOICEMAIL, "08:30 Fri" },
    { "DST ends: 16:45 UTC on 26 Oct is 16:45 GMT, in hours", PROF("office", WORKDAY),
      "2026-10-26T16:45:00Z", "Europe/London", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local",
      RW_FINAL_VOICEMAIL, "16:45 Mon" },
    { "New York: 13:00 UTC is 09:00 EDT, in hours", PROF("office", WORKDAY), "2026-06-01T13:00:00Z",
      "America/New_York", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "09:00 Mon, America/New_York" },
    { "New York in winter: 13:00 UTC is 08:00 EST, out of hours", PROF("office", WORKDAY),
      "2026-12-07T13:00:00Z", "America/New_York", "+441632960999", "", "", "", 0, 1,
      "sip:2001@ringway.local", RW_FINAL_VOICEMAIL, "08:00 Mon" },
    { "night window wraps midnight: 01:00 matches", PROF("office", NIGHT_DND), "2026-06-02T00:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 0, "", RW_FINAL_VOICEMAIL, "do not disturb" },
    { "presence away rings the mobile", PROF("office", AWAY), "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960999", "away", "", "", 0, 1, "+447700900001", RW_FINAL_VOICEMAIL, "rule 'away' matched" },
    { "presence in a meeting sends to voicemail", PROF("office", MEETING), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "in_meeting", "", "", 0, 0, "", RW_FINAL_VOICEMAIL, "divert always" },
    { "do not disturb: voicemail", PROF("office", DND), "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960999", "", "", "", 0, 0, "", RW_FINAL_VOICEMAIL, "do not disturb" },
    { "do not disturb lets an exception through", PROF("office", DND), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960002", "", "", "", 0, 1, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "is an exception" },
    { "caller prefix diverts to a number via trunks", PROF("office", VIP), "2026-06-01T09:00:00Z",
      "Europe/London", "+442079460000", "", "", "", 0, 1, "+447700900999", RW_FINAL_VOICEMAIL, "rule 'vip'" },
    { "no answer after 12 s goes to a colleague", PROF("office", NA_BOB), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "no answer -> colleague bob" },
    { "busy goes to voicemail", PROF("office", BUSY_VM), "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960999", "", "", "", 0, 1, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL, "busy -> voicemail" },
    { "unreachable with no binding rings the mobile at once", PROF("office", UNREACH_MOB),
      "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "", "", "", 1, 1, "+447700900001",
      RW_FINAL_VOICEMAIL, "no device registered" },
    { "unreachable with a binding is a next stage", PROF("office", UNREACH_MOB), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 2, "sip:2001@ringway.local", RW_FINAL_VOICEMAIL,
      "if no device is registered" },
    { "profile 'leave' diverts always to a colleague", PROF("leave", WORKDAY), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "", "", 0, 1, "2002", RW_FINAL_VOICEMAIL, "profile 'leave'" },
    { "pinned rule beats the profile's divert", "{\"active\":\"leave\",\"pinned\":[" SCHOOL "],"
      "\"profiles\":{\"leave\":[" ALWAYS_BOB "]}}", "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960500", "", "", "", 0, 1, "+447700900001", RW_FINAL_VOICEMAIL, "rule 'school' matched" },
    { "pinned rule beats do not disturb", PINNED(SCHOOL, DND), "2026-06-01T09:00:00Z", "Europe/London",
      "+441632960500", "", "", "", 0, 1, "+447700900001", RW_FINAL_VOICEMAIL, "rule 'school'" },
    { "calendar divert beats the profile", PROF("office", WORKDAY), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "+447700900777", "", 0, 1, "+447700900777", RW_FINAL_VOICEMAIL,
      "calendar divert" },
    { "pinned rule beats the calendar divert", PINNED(SCHOOL, WORKDAY), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960500", "", "+447700900777", "", 0, 1, "+447700900001", RW_FINAL_VOICEMAIL,
      "rule 'school'" },
    { "first matching ring rule in profile order wins", PROF("office", AWAY "," WORKDAY),
      "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "away", "", "", 0, 1, "+447700900001",
      RW_FINAL_VOICEMAIL, "rule 'away'" },
    { "ring rule with no-answer and busy together", PROF("office", WORKDAY "," NA_BOB "," BUSY_VM),
      "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "", "", "", 0, 3, "sip:2001@ringway.local",
      RW_FINAL_VOICEMAIL, "busy -> voicemail" },
    { "loop: the call already passed this user", PROF("office", ALWAYS_BOB), "2026-06-01T09:00:00Z",
      "Europe/London", "+441632960999", "", "", "alice", 0, 0, "", RW_FINAL_VOICEMAIL, "loop protection" },
    { "loop: divert to a user already passed is refused", PROF("office", ALWAYS_BOB),
      "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "", "", "bob", 0, 0, "", RW_FINAL_VOICEMAIL,
      "loop: the call already passed bob" },
};

static uint64_t utc_ms(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ck_assert_ptr_nonnull(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return (uint64_t) timegm(&tm) * 1000u;
}

static void add_device(rw_router_user_t *u, const char *id, const char *kind, const char *addr, int live)
{
    size_t n = u->n_devices++;
    strcpy(u->devices[n].id, id);
    strcpy(u->devices[n].kind, kind);
    strcpy(u->devices[n].address, addr);
    u->devices[n].live = live;
}

static int trace_has(const rw_plan_t *p, const char *needle)
{
    for (uint32_t i = 0; i < p->n_trace; i++)
        if (strstr(p->trace[i], needle))
            return 1;
    return 0;
}

/* The plan for row t. */
static void build_row(const row_t *t, rw_plan_t *plan)
{
    static rw_settings_t settings;
    static rw_router_user_t u;
    rw_route_req_t rq;
    rw_local_time_t lt;
    char err[256];
    memset(&u, 0, sizeof u);
    memset(&rq, 0, sizeof rq);
    strcpy(u.id, "alice");
    strcpy(u.ext, "2001");
    strcpy(u.name, "Alice Archer");
    strcpy(u.realm, "ringway.local");
    add_device(&u, "softphone", "sip", "", t->softphone_dead ? -1 : 1);
    add_device(&u, "mobile", "number", "+447700900001", 1);
    add_device(&u, "voicemail", "voicemail", "alice", 1);
    ck_assert_msg(rw_rules_parse(t->settings, &rw_numplan_uk, true, &settings, err, sizeof err) == 0,
                  "%s: %s", t->name, err);
    u.settings = &settings;
    snprintf(u.presence, sizeof u.presence, "%s", t->presence);
    if (t->divert[0])
        ck_assert_int_eq(rw_rules_parse_dest(t->divert, &rw_numplan_uk, &u.divert_to), 0);
    rq.time_ms = utc_ms(t->at);
    ck_assert_int_eq(rw_schedule_local(t->tz, rq.time_ms, &lt), 0);
    u.local_wday = lt.wday;
    u.local_min = lt.minute;
    strcpy(u.local_text, lt.text);
    strcpy(rq.call_id, "c1");
    strcpy(rq.caller, t->caller);
    strcpy(rq.callee, "2001");
    strcpy(rq.source, "device");
    if (t->diverted[0]) {
        strcpy(rq.diversions[0], t->diverted);
        rq.n_diversions = 1;
    }
    rw_router_build_plan(&policy, &rq, &u, plan);
}

START_TEST(test_rule_table)
{
    const row_t *t = &rows[_i];
    static rw_plan_t plan;
    build_row(t, &plan);
    char text[8192];
    rw_proto_plan_format(&plan, text, sizeof text);
    ck_assert_msg((int) plan.n_stages == t->stages, "%s: %u stages\n%s", t->name, plan.n_stages, text);
    if (t->first[0])
        ck_assert_msg(!strcmp(plan.stages[0].targets[0].aor, t->first), "%s: first target\n%s", t->name, text);
    ck_assert_msg(plan.final == t->final, "%s: final\n%s", t->name, text);
    ck_assert_msg(trace_has(&plan, t->trace), "%s: trace lacks '%s'\n%s", t->name, t->trace, text);
}
END_TEST

/* A number a rule or a calendar divert sends calls to is someone's mobile or home line: marked
 * private like a device's number, so sip-edge never puts it in a 302 (it proxies instead). */
START_TEST(test_divert_to_a_number_is_private)
{
    static const row_t by_rule = { "rule divert to a number", PROF("office", VIP), "2026-06-01T09:00:00Z",
        "Europe/London", "+442079460000", "", "", "", 0, 1, "+447700900999", RW_FINAL_VOICEMAIL, "vip" };
    static const row_t by_calendar = { "calendar divert to a number", PROF("office", WORKDAY),
        "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "", "+447700900777", "", 0, 1,
        "+447700900777", RW_FINAL_VOICEMAIL, "calendar divert" };
    static const row_t to_colleague = { "divert to a colleague", PROF("office", ALWAYS_BOB),
        "2026-06-01T09:00:00Z", "Europe/London", "+441632960999", "", "", "", 0, 1, "2002",
        RW_FINAL_VOICEMAIL, "cover" };
    static rw_plan_t plan;
    build_row(&by_rule, &plan);
    ck_assert_uint_eq(plan.n_stages, 1);
    ck_assert_int_eq(plan.stages[0].targets[0].type, RW_TARGET_NUMBER);
    ck_assert_str_eq(plan.stages[0].targets[0].number, "+447700900999");
    ck_assert(plan.stages[0].targets[0].is_private);
    build_row(&by_calendar, &plan);
    ck_assert_str_eq(plan.stages[0].targets[0].number, "+447700900777");
    ck_assert(plan.stages[0].targets[0].is_private);
    build_row(&to_colleague, &plan);    /* an extension, routed again inside Ringway */
    ck_assert_str_eq(plan.stages[0].targets[0].number, "2002");
    ck_assert(!plan.stages[0].targets[0].is_private);
}
END_TEST

START_TEST(test_dst_boundaries_of_europe_london)
{
    rw_local_time_t lt;
    ck_assert_int_eq(rw_schedule_local("Europe/London", utc_ms("2026-03-29T00:59:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 0 * 60 + 59);            /* 00:59 GMT */
    ck_assert_int_eq(rw_schedule_local("Europe/London", utc_ms("2026-03-29T01:00:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 2 * 60);                 /* clocks jump to 02:00 BST */
    ck_assert_int_eq(lt.wday, 6);                        /* Sunday */
    ck_assert_int_eq(rw_schedule_local("Europe/London", utc_ms("2026-10-25T00:59:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 1 * 60 + 59);            /* 01:59 BST */
    ck_assert_int_eq(rw_schedule_local("Europe/London", utc_ms("2026-10-25T01:00:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 1 * 60);                 /* back to 01:00 GMT */
    ck_assert_int_eq(rw_schedule_local("Australia/Sydney", utc_ms("2026-04-04T15:59:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 2 * 60 + 59);            /* 02:59 AEDT */
    ck_assert_int_eq(rw_schedule_local("Australia/Sydney", utc_ms("2026-04-04T16:00:00Z"), &lt), 0);
    ck_assert_int_eq(lt.minute, 2 * 60);                 /* 02:00 AEST */
}
END_TEST

START_TEST(test_unknown_zone_reads_as_utc_with_an_error)
{
    rw_local_time_t lt;
    ck_assert_int_eq(rw_schedule_local("Mars/Olympus", utc_ms("2026-06-01T09:00:00Z"), &lt), RW_EINVAL);
    ck_assert_int_eq(lt.minute, 9 * 60);
}
END_TEST

static const struct { const char *json, *error; } bad_settings[] = {
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"time\":\"25:00-26:00\",\"action\":\"dnd\"}]}}", "is not HH:MM" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"days\":\"mon-frx\",\"action\":\"dnd\"}]}}", "days 'mon-frx'" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"action\":\"divert\",\"to\":\"12ab\"}]}}", "is not a device" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"action\":\"divert\",\"on\":\"later\",\"to\":\"voicemail\"}]}}", "on 'later'" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"presence\":[\"sleepy\"],\"action\":\"dnd\"}]}}", "presence 'sleepy'" },
    { "{\"active\":\"home\",\"profiles\":{\"o\":[]}}", "active profile 'home' does not exist" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"action\":\"ring\",\"ring\":[]}]}}", "ring needs 1-6 devices" },
    { "{\"profiles\":{\"o\":[{\"name\":\"x\",\"action\":\"jump\"}]}}", "action 'jump'" },
    { "[1,2]", "must be a JSON object" },
    { "{\"profiles\":", "settings: " },
};

START_TEST(test_bad_settings_are_refused_with_their_place)
{
    static rw_settings_t s;
    char err[256] = "";
    ck_assert_int_eq(rw_rules_parse(bad_settings[_i].json, &rw_numplan_uk, false, &s, err, sizeof err), RW_EINVAL);
    ck_assert_msg(strstr(err, bad_settings[_i].error), "'%s' lacks '%s'", err, bad_settings[_i].error);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_rule_table, 0, (int) (sizeof rows / sizeof rows[0]));
    tcase_add_test(tc, test_divert_to_a_number_is_private);
    tcase_add_test(tc, test_dst_boundaries_of_europe_london);
    tcase_add_test(tc, test_unknown_zone_reads_as_utc_with_an_error);
    tcase_add_loop_test(tc, test_bad_settings_are_refused_with_their_place, 0,
                        (int) (sizeof bad_settings / sizeof bad_settings[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
