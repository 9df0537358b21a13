/* tests/unit/common/log_test.c — structured logs: every line is one valid JSON object with
 * ts, level, svc, inst and event, whatever bytes the caller logs. Lines are captured in a
 * temporary file and parsed back with jansson, which rejects invalid JSON and UTF-8. */
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static FILE *capture;

static void setup(void)
{
    capture = tmpfile();
    ck_assert_ptr_nonnull(capture);
    rw_log_set_output(capture);
    rw_clock_fake_wall(1795646356123ull);      /* 2026-11-25T22:39:16.123Z */
}

static void teardown(void)
{
    rw_log_set_output(NULL);
    rw_clock_fake_wall(0);
    fclose(capture);
}

/* Reads every captured line; each must parse as a JSON object. Returns the line count. */
static size_t read_lines(json_t **lines, size_t max)
{
    char buf[65536];
    size_t n = 0;
    fflush(capture);
    rewind(capture);
    while (fgets(buf, sizeof buf, capture)) {
        size_t len = strlen(buf);
        ck_assert_msg(len > 0 && buf[len - 1] == '\n', "line not terminated: %s", buf);
        json_error_t jerr;
        json_t *doc = json_loadb(buf, len - 1, 0, &jerr);
        ck_assert_msg(doc != NULL, "invalid JSON (%s): %s", jerr.text, buf);
        ck_assert(json_is_object(doc));
        ck_assert_uint_lt(n, max);
        lines[n++] = doc;
    }
    return n;
}

static json_t *only_line(void)
{
    json_t *lines[4];
    ck_assert_uint_eq(read_lines(lines, 4), 1);
    return lines[0];
}

START_TEST(test_line_has_standard_fields_in_order)
{
    rw_log_init("router", "router-1", RW_LOG_DEBUG);
    rw_log_info("call_routed", RW_S("call_id", "abc"), RW_I("stages", 2));
    char buf[512];
    rewind(capture);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, capture));
    ck_assert_str_eq(buf, "{\"ts\":\"2026-11-25T22:39:16.123Z\",\"level\":\"info\",\"svc\":\"router\","
                          "\"inst\":\"router-1\",\"event\":\"call_routed\",\"call_id\":\"abc\","
                          "\"stages\":2}\n");
}
END_TEST

START_TEST(test_zero_fields_compiles_and_logs)
{
    rw_log_warn("started");
    json_t *doc = only_line();
    ck_assert_str_eq(json_string_value(json_object_get(doc, "event")), "started");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "svc")), "ringway");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "inst")), "-");
    ck_assert_uint_eq(json_object_size(doc), 5);
    json_decref(doc);
}
END_TEST

static const struct {
    const char *name, *input, *expect;      /* expect: the value jansson decodes */
} hostile[] = {
    { "quote and backslash", "a\"b\\c", "a\"b\\c" },
    { "newline does not split the line", "one\ntwo\r\nthree", "one\ntwo\r\nthree" },
    { "control characters", "\x01\x02\x1f\x7f\t\b\f", "\x01\x02\x1f\x7f\t\b\f" },
    { "valid UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
    { "lone 0xff replaced", "a\xff" "b", "a\xef\xbf\xbd" "b" },
    { "overlong NUL replaced", "\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd" },
    { "surrogate replaced", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "truncated sequence replaced", "x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd" },
    { "above U+10FFFF replaced", "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "json injection stays a string", "\",\"level\":\"error", "\",\"level\":\"error" },
};

START_TEST(test_hostile_strings_stay_valid_json)
{
    rw_log_init("sip-edge", hostile[_i].input, RW_LOG_INFO);
    rw_log_error(hostile[_i].input, RW_S(hostile[_i].input, hostile[_i].input));
    json_t *doc = only_line();
    const char *want = hostile[_i].expect;
    ck_assert_msg(strcmp(json_string_value(json_object_get(doc, "event")), want) == 0,
                  "event: %s", hostile[_i].name);
    ck_assert_msg(json_object_get(doc, want) != NULL, "key: %s", hostile[_i].name);
    ck_assert_msg(strcmp(json_string_value(json_object_get(doc, want)), want) == 0,
                  "value: %s", hostile[_i].name);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "level")), "error");
    json_decref(doc);
}
END_TEST

START_TEST(test_every_field_type_is_rendered)
{
    rw_log_info("types", RW_I("neg", -42), RW_U("big", 4000000000ull), RW_D("half", 0.5),
                RW_D("tenth", 0.1), RW_D("nan", NAN), RW_D("inf", -INFINITY), RW_B("yes", 7),
                RW_B("no", 0), RW_S("missing", NULL));
    json_t *doc = only_line();
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "neg")), -42);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "big")), 4000000000ll);
    ck_assert(json_number_value(json_object_get(doc, "half")) == 0.5);
    ck_assert(json_number_value(json_object_get(doc, "tenth")) == 0.1);
    ck_assert(json_is_null(json_object_get(doc, "nan")));
    ck_assert(json_is_null(json_object_get(doc, "inf")));
    ck_assert(json_is_true(json_object_get(doc, "yes")));
    ck_assert(json_is_false(json_object_get(doc, "no")));
    ck_assert(json_is_null(json_object_get(doc, "missing")));
    json_decref(doc);
    char buf[1024];
    rewind(capture);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, capture));
    ck_assert_ptr_nonnull(strstr(buf, "\"tenth\":0.1,"));
}
END_TEST

START_TEST(test_extreme_integers_are_printed_exactly)
{
    rw_log_info("ints", RW_U("umax", 18446744073709551615ull), RW_I("imin", -9223372036854775807ll - 1));
    char buf[512];
    rewind(capture);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, capture));
    ck_assert_ptr_nonnull(strstr(buf, ",\"umax\":18446744073709551615,\"imin\":-9223372036854775808}\n"));
}
END_TEST

START_TEST(test_lines_below_level_are_dropped)
{
    rw_log_init("router", "r1", RW_LOG_WARN);
    ck_assert(!rw_log_enabled(RW_LOG_INFO));
    ck_assert(rw_log_enabled(RW_LOG_ERROR));
    rw_log_debug("d");
    rw_log_info("i");
    rw_log_warn("w");
    rw_log_set_level(RW_LOG_DEBUG);
    rw_log_debug("d2");
    json_t *lines[8];
    ck_assert_uint_eq(read_lines(lines, 8), 2);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "event")), "w");
    ck_assert_str_eq(json_string_value(json_object_get(lines[1], "event")), "d2");
    json_decref(lines[0]);
    json_decref(lines[1]);
}
END_TEST

START_TEST(test_huge_string_is_cut_but_valid)
{
    size_t n = 100000;
    char *big = malloc(n + 1);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char) ("\"\\\n\xff" "ab")[i % 6];
    big[n] = '\0';
    rw_log_info("big", RW_S("payload", big));
    free(big);
    json_t *doc = only_line();
    const char *v = json_string_value(json_object_get(doc, "payload"));
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(strstr(v, "[truncated]"));
    ck_assert_uint_lt(strlen(v), 20000);
    json_decref(doc);
}
END_TEST

START_TEST(test_identity_is_copied_and_readable)
{
    char svc[16] = "presence", inst[16] = "presence-2";
    rw_log_init(svc, inst, RW_LOG_INFO);
    strcpy(svc, "changed");
    strcpy(inst, "changed");
    ck_assert_str_eq(rw_log_svc(), "presence");
    ck_assert_str_eq(rw_log_inst(), "presence-2");
    rw_log_init(NULL, "", RW_LOG_INFO);
    ck_assert_str_eq(rw_log_svc(), "ringway");
    ck_assert_str_eq(rw_log_inst(), "-");
}
END_TEST

static const struct {
    const char *name;
    int rc;
    rw_log_level_t level;
} level_names[] = {
    { "debug", 0, RW_LOG_DEBUG }, { "INFO", 0, RW_LOG_INFO }, { "warn", 0, RW_LOG_WARN },
    { "Warning", 0, RW_LOG_WARN }, { "error", 0, RW_LOG_ERROR }, { "fatal", RW_EINVAL, 0 },
    { "", RW_EINVAL, 0 }, { NULL, RW_EINVAL, 0 },
};

START_TEST(test_level_names_parse)
{
    rw_log_level_t level = RW_LOG_ERROR + 1;
    ck_assert_int_eq(rw_log_level_parse(level_names[_i].name, &level), level_names[_i].rc);
    if (level_names[_i].rc == 0)
        ck_assert_int_eq(level, level_names[_i].level);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("lines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_line_has_standard_fields_in_order);
    tcase_add_test(tc, test_zero_fields_compiles_and_logs);
    tcase_add_loop_test(tc, test_hostile_strings_stay_valid_json, 0,
                        sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_every_field_type_is_rendered);
    tcase_add_test(tc, test_extreme_integers_are_printed_exactly);
    tcase_add_test(tc, test_lines_below_level_are_dropped);
    tcase_add_test(tc, test_huge_string_is_cut_but_valid);
    tcase_add_test(tc, test_identity_is_copied_and_readable);
    tcase_add_loop_test(tc, test_level_names_parse, 0, sizeof level_names / sizeof level_names[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
