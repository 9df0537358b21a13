/* tests/unit/directory/rule_check_test.c — save-time analysis of a user's rules that needs no
 * Redis: a divert to the user's own public number or to themselves is refused with the rule's
 * place (every set, pinned rules included, and a single destination such as a calendar
 * divert's), while diverts to other numbers, colleagues, devices and voicemail pass. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "directory/dir_rules.h"
#include "common/err.h"
#include "directory/rule_check.h"

static rw_settings_t s;

static void parse(const char *json)
{
    char err[256] = "";
    ck_assert_msg(rw_rules_parse(json, &rw_numplan_uk, false, &s, err, sizeof err) == 0, "%s", err);
}

static const struct {
    const char *name, *json;       /* settings of alice, public number +441632960001 */
    const char *err;               /* NULL: accepted */
} cases[] = {
    { "divert always to her own public number",
      "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"fwd\",\"action\":\"divert\","
      "\"to\":\"+441632960001\"}]}}",
      "office: rule 'fwd' diverts to alice's own public number +441632960001: the call would come back to "
      "alice through the phone network (a loop)" },
    { "her own number in national format, on no answer, in a second profile",
      "{\"active\":\"office\",\"profiles\":{\"office\":[],\"home\":[{\"name\":\"na\",\"action\":\"divert\","
      "\"on\":\"no_answer\",\"to\":\"01632 960001\"}]}}",
      "home: rule 'na' diverts to alice's own public number +441632960001: the call would come back to "
      "alice through the phone network (a loop)" },
    { "a pinned rule to herself as a colleague",
      "{\"pinned\":[{\"name\":\"me\",\"action\":\"divert\",\"to\":\"user:alice\"}]}",
      "pinned: rule 'me' diverts to alice themselves (a loop)" },
    { "another number", "{\"pinned\":[{\"name\":\"m\",\"action\":\"divert\",\"to\":\"+447700900001\"}]}", NULL },
    { "a colleague", "{\"pinned\":[{\"name\":\"b\",\"action\":\"divert\",\"to\":\"user:bob\"}]}", NULL },
    { "voicemail and a device",
      "{\"pinned\":[{\"name\":\"v\",\"callers\":[\"anonymous\"],\"action\":\"divert\",\"to\":\"voicemail\"},"
      "{\"name\":\"d\",\"action\":\"divert\",\"to\":\"mobile\"}]}", NULL },
};

START_TEST(test_divert_to_own_number_is_refused)
{
    char err[300] = "";
    parse(cases[_i].json);
    int rc = rw_rule_check_self(&s, "alice", "+441632960001", err, sizeof err);
    if (!cases[_i].err) {
        ck_assert_msg(rc == 0, "%s: refused: %s", cases[_i].name, err);
        return;
    }
    ck_assert_msg(rc == RW_EINVAL, "%s: accepted", cases[_i].name);
    ck_assert_str_eq(err, cases[_i].err);
}
END_TEST

START_TEST(test_a_user_without_a_number_has_no_own_number)
{
    char err[300] = "";
    parse(cases[0].json);
    ck_assert_int_eq(rw_rule_check_self(&s, "alice", "", err, sizeof err), 0);
}
END_TEST

START_TEST(test_single_destination)
{
    rw_rule_dest_t d;
    char err[300] = "";
    ck_assert_int_eq(rw_rules_parse_dest("+441632960001", &rw_numplan_uk, &d), 0);
    ck_assert_int_eq(rw_rule_check_self_dest(&d, "alice", "+441632960001", "the calendar divert", err,
                                             sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "the calendar divert diverts to alice's own public number +441632960001: the call "
                          "would come back to alice through the phone network (a loop)");
    ck_assert_int_eq(rw_rules_parse_dest("+441632960002", &rw_numplan_uk, &d), 0);
    ck_assert_int_eq(rw_rule_check_self_dest(&d, "alice", "+441632960001", "x", err, sizeof err), 0);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("rule_check");
    TCase *tc = tcase_create("self");
    tcase_add_loop_test(tc, test_divert_to_own_number_is_refused, 0, (int) (sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_a_user_without_a_number_has_no_own_number);
    tcase_add_test(tc, test_single_destination);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
