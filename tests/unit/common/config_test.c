/* tests/unit/common/config_test.c — configuration: INI file, RINGWAY_* environment,
 * precedence (default < file < environment < rw_config_set) and one exact error line for
 * every kind of mistake an operator can make. Each case runs in a fresh temporary
 * directory holding "ringway.conf", so error lines are stable. */
#include "common/config.h"
#include "common/err.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const rw_cfg_spec_t spec[] = {
    { "log_level", RW_CFG_STR, "info", 0, 0, "Lowest level logged." },
    { "sip.port", RW_CFG_INT, "5060", 1, 65535, "SIP port." },
    { "sip.addr", RW_CFG_STR, "127.0.0.1", 0, 0, "SIP address." },
    { "redis.host", RW_CFG_STR, NULL, 0, 0, "Redis host (required)." },
    { "redis.password", RW_CFG_STR, "", 0, 0, "Redis password." },
    { "router.trace", RW_CFG_BOOL, "false", 0, 0, "Trace plans." },
    { "router.offset", RW_CFG_INT, "0", 0, 0, "Any integer." },
    { NULL, 0, NULL, 0, 0, NULL },
};

static char dir[64];
static rw_config_t *cfg;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/rw_config_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chdir(dir), 0);
    cfg = rw_config_new();
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(rw_config_add_spec(cfg, spec), 0);
}

static void teardown(void)
{
    rw_config_destroy(&cfg);
    unlink("ringway.conf");
    ck_assert_int_eq(chdir("/"), 0);
    rmdir(dir);
}

static void write_conf(const char *text)
{
    FILE *f = fopen("ringway.conf", "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

typedef struct {
    const char *name;
    const char *file;       /* contents of ringway.conf; NULL: no file */
    const char *env[3];     /* "NAME=value" */
    const char *err;        /* expected error line; NULL: success */
    const char *key, *want; /* on success: key's value as text */
} load_case_t;

#define REDIS "[redis]\nhost = r1\n"

static const load_case_t cases[] = {
    { "defaults apply", REDIS, { 0 }, NULL, "sip.port", "5060" },
    { "file sets a sectioned key", "[sip]\nport = 5070\n" REDIS, { 0 }, NULL, "sip.port", "5070" },
    { "key before any section has no dot", "log_level = debug\n" REDIS, { 0 }, NULL,
      "log_level", "debug" },
    { "env supplies a required key", NULL, { "RINGWAY_REDIS_HOST=10.0.0.1" }, NULL,
      "redis.host", "10.0.0.1" },
    { "env overrides file", "[sip]\nport = 5070\n" REDIS, { "RINGWAY_SIP_PORT=5080" }, NULL,
      "sip.port", "5080" },
    { "env overrides a default", REDIS, { "RINGWAY_ROUTER_TRACE=yes" }, NULL, "router.trace",
      "true" },
    { "quotes are dropped", "[redis]\nhost = \"a b\"\n", { 0 }, NULL, "redis.host", "a b" },
    { "inline comment ignored", "[sip]\nport = 5071 ; test port\n" REDIS, { 0 }, NULL,
      "sip.port", "5071" },
    { "full-line comments ignored", "; a\n# b\n[sip]\n; c\nport = 5072\n" REDIS, { 0 }, NULL,
      "sip.port", "5072" },
    { "colon also separates", "[sip]\nport: 5073\n" REDIS, { 0 }, NULL, "sip.port", "5073" },
    { "last repeated key wins", "[sip]\nport = 5074\nport = 5075\n" REDIS, { 0 }, NULL,
      "sip.port", "5075" },
    { "keys are case-sensitive", REDIS "[sip]\nPort = 5060\n", { 0 },
      "ringway.conf:4: unknown key 'sip.Port'", NULL, NULL },
    { "empty string is a value", REDIS "password =\n", { 0 }, NULL, "redis.password", "" },
    { "negative without limits", "[router]\noffset = -40\n" REDIS, { 0 }, NULL,
      "router.offset", "-40" },
    { "max bound is allowed", "[sip]\nport = 65535\n" REDIS, { 0 }, NULL, "sip.port", "65535" },
    { "unknown key", REDIS "[sip]\nprot = 5060\n", { 0 },
      "ringway.conf:4: unknown key 'sip.prot'", NULL, NULL },
    { "unknown top-level key", "colour = red\n" REDIS, { 0 },
      "ringway.conf:1: unknown key 'colour'", NULL, NULL },
    { "file value not an integer", REDIS "[sip]\nport = abc\n", { 0 },
      "ringway.conf:4: sip.port: 'abc' is not an integer", NULL, NULL },
    { "trailing garbage", REDIS "[sip]\nport = 50x\n", { 0 },
      "ringway.conf:4: sip.port: '50x' is not an integer", NULL, NULL },
    { "empty integer", REDIS "[sip]\nport =\n", { 0 },
      "ringway.conf:4: sip.port: '' is not an integer", NULL, NULL },
    { "above maximum", REDIS "[sip]\nport = 70000\n", { 0 },
      "ringway.conf:4: sip.port: 70000 is above the maximum 65535", NULL, NULL },
    { "below minimum", REDIS "[sip]\nport = 0\n", { 0 },
      "ringway.conf:4: sip.port: 0 is below the minimum 1", NULL, NULL },
    { "integer overflow", REDIS "[router]\noffset = 99999999999999999999\n", { 0 },
      "ringway.conf:4: router.offset: 99999999999999999999 is out of range", NULL, NULL },
    { "bad boolean", REDIS "[router]\ntrace = maybe\n", { 0 },
      "ringway.conf:4: router.trace: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)",
      NULL, NULL },
    { "env not an integer", REDIS, { "RINGWAY_SIP_PORT=abc" },
      "RINGWAY_SIP_PORT: 'abc' is not an integer", NULL, NULL },
    { "env above maximum", REDIS, { "RINGWAY_SIP_PORT=70000" },
      "RINGWAY_SIP_PORT: 70000 is above the maximum 65535", NULL, NULL },
    { "env bad boolean", REDIS, { "RINGWAY_ROUTER_TRACE=2" },
      "RINGWAY_ROUTER_TRACE: '2' is not a boolean (true/false, yes/no, on/off, 1/0)", NULL, NULL },
    { "missing required key", "[sip]\nport = 5070\n", { 0 },
      "missing required key 'redis.host' (set it in the file or RINGWAY_REDIS_HOST)", NULL, NULL },
    { "syntax error", REDIS "port 5070\n", { 0 },
      "ringway.conf:3: syntax error (expected 'key = value' or '[section]')", NULL, NULL },
    { "first error wins: syntax before unknown key", "junk\n" REDIS "nope = 1\n", { 0 },
      "ringway.conf:1: syntax error (expected 'key = value' or '[section]')", NULL, NULL },
    { "first error wins: unknown key before syntax", "nope = 1\n" REDIS "junk\n", { 0 },
      "ringway.conf:1: unknown key 'nope'", NULL, NULL },
    { "unknown env variables are ignored", REDIS, { "RINGWAY_NOT_A_KEY=1" }, NULL,
      "sip.port", "5060" },
};

static void check_value(const char *key, const char *want)
{
    for (const rw_cfg_spec_t *s = spec; s->key; s++) {
        if (strcmp(s->key, key) != 0)
            continue;
        if (s->type == RW_CFG_INT)
            ck_assert_int_eq(rw_config_int(cfg, key), strtol(want, NULL, 10));
        else if (s->type == RW_CFG_BOOL)
            ck_assert_int_eq(rw_config_bool(cfg, key), strcmp(want, "true") == 0);
        else
            ck_assert_str_eq(rw_config_str(cfg, key), want);
        return;
    }
    ck_abort_msg("no such key in the test spec: %s", key);
}

START_TEST(test_load_cases)
{
    const load_case_t *c = &cases[_i];
    char err[256] = "";
    if (c->file)
        write_conf(c->file);
    for (int i = 0; i < 3 && c->env[i]; i++)
        ck_assert_int_eq(putenv((char *) c->env[i]), 0);
    int rc = rw_config_load(cfg, c->file ? "ringway.conf" : NULL, err, sizeof err);
    if (c->err) {
        ck_assert_msg(rc == RW_EINVAL, "%s: expected failure", c->name);
        ck_assert_msg(strcmp(err, c->err) == 0, "%s: got '%s'", c->name, err);
    } else {
        ck_assert_msg(rc == 0, "%s: %s", c->name, err);
        check_value(c->key, c->want);
    }
}
END_TEST

static const struct { const char *text; int value; } booleans[] = {
    { "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 },
    { "1", 1 }, { "0", 0 }, { "TRUE", 1 }, { "Off", 0 },
};

START_TEST(test_boolean_spellings)
{
    char text[64], err[256] = "";
    snprintf(text, sizeof text, REDIS "[router]\ntrace = %s\n", booleans[_i].text);
    write_conf(text);
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), 0);
    ck_assert_int_eq(rw_config_bool(cfg, "router.trace"), booleans[_i].value);
}
END_TEST

START_TEST(test_set_wins_over_file_and_env)
{
    char err[256] = "";
    write_conf("[sip]\nport = 5070\n" REDIS);
    ck_assert_int_eq(putenv("RINGWAY_SIP_PORT=5080"), 0);
    ck_assert_int_eq(rw_config_set(cfg, "sip.port", "5090", err, sizeof err), 0);
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), 0);
    ck_assert_int_eq(rw_config_int(cfg, "sip.port"), 5090);
    ck_assert_str_eq(rw_config_str(cfg, "redis.host"), "r1");
}
END_TEST

START_TEST(test_set_validates)
{
    char err[256] = "";
    ck_assert_int_eq(rw_config_set(cfg, "sip.port", "70000", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "sip.port: 70000 is above the maximum 65535");
    ck_assert_int_eq(rw_config_int(cfg, "sip.port"), 5060);
    ck_assert_int_eq(rw_config_set(cfg, "sip.prot", "1", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "unknown key 'sip.prot'");
    ck_assert_int_eq(rw_config_set(cfg, "router.trace", "on", NULL, 0), 0);
    ck_assert(rw_config_bool(cfg, "router.trace"));
}
END_TEST

START_TEST(test_skip_unknown_reads_a_shared_file)
{
    char err[256] = "";
    write_conf("[sip]\nport = 5070\nrealm = x.example\n" REDIS "[overload]\nmax_calls = 9\n");
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "ringway.conf:3: unknown key 'sip.realm'");
    rw_config_skip_unknown(cfg, true);
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), 0);
    ck_assert_int_eq(rw_config_int(cfg, "sip.port"), 5070);
    ck_assert_str_eq(rw_config_str(cfg, "redis.host"), "r1");
    write_conf("[sip]\nport = abc\nrealm = x\n");       /* known keys are still checked */
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "ringway.conf:2: sip.port: 'abc' is not an integer");
}
END_TEST

START_TEST(test_missing_file_is_an_error)
{
    char err[256] = "";
    ck_assert_int_eq(rw_config_load(cfg, "nope.conf", err, sizeof err), RW_EINVAL);
    ck_assert_str_eq(err, "nope.conf: cannot open: No such file or directory");
}
END_TEST

START_TEST(test_overlong_line_is_an_error_not_a_split)
{
    char text[2048], err[256] = "";
    memset(text, 0, sizeof text);
    strcpy(text, REDIS "password = ");
    memset(text + strlen(text), 'x', 1500);
    strcat(text, "\nport = 1\n");
    write_conf(text);
    ck_assert_int_eq(rw_config_load(cfg, "ringway.conf", err, sizeof err), RW_EINVAL);
    ck_assert_msg(strncmp(err, "ringway.conf:3: line longer than ", 33) == 0, "got '%s'", err);
}
END_TEST

START_TEST(test_spec_tables_are_checked)
{
    static const rw_cfg_spec_t dup[] = { { "sip.port", RW_CFG_INT, "1", 0, 0, "" }, { 0 } };
    static const rw_cfg_spec_t bad_def[] = { { "x.n", RW_CFG_INT, "ten", 0, 0, "" }, { 0 } };
    static const rw_cfg_spec_t bad_range[] = { { "x.m", RW_CFG_INT, "5", 9, 1, "" }, { 0 } };
    static const rw_cfg_spec_t more[] = { { "gw.port", RW_CFG_INT, "8080", 1, 65535, "" },
                                          { 0 } };
    ck_assert_int_eq(rw_config_add_spec(cfg, dup), RW_EEXIST);
    ck_assert_int_eq(rw_config_add_spec(cfg, bad_def), RW_EINVAL);
    ck_assert_int_eq(rw_config_add_spec(cfg, bad_range), RW_EINVAL);
    ck_assert_int_eq(rw_config_add_spec(cfg, more), 0);
    ck_assert_int_eq(rw_config_add_spec(NULL, more), RW_EINVAL);
    ck_assert_int_eq(rw_config_int(cfg, "gw.port"), 8080);
}
END_TEST

START_TEST(test_undeclared_key_aborts)
{
    rw_config_str(cfg, "no.such.key");
}
END_TEST

START_TEST(test_wrong_type_aborts)
{
    rw_config_int(cfg, "sip.addr");
}
END_TEST

static const struct { const char *key, *env; size_t len; } env_names[] = {
    { "sip.port", "RINGWAY_SIP_PORT", 64 },
    { "log_level", "RINGWAY_LOG_LEVEL", 64 },
    { "a-b.c2", "RINGWAY_A_B_C2", 64 },
    { "sip.port", "RINGWAY_SI", 11 },
    { "sip.port", "RINGW", 6 },
};

START_TEST(test_env_names)
{
    char buf[64];
    memset(buf, '#', sizeof buf);
    rw_config_env_name(env_names[_i].key, buf, env_names[_i].len);
    ck_assert_str_eq(buf, env_names[_i].env);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_load_cases, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_boolean_spellings, 0, sizeof booleans / sizeof booleans[0]);
    tcase_add_test(tc, test_set_wins_over_file_and_env);
    tcase_add_test(tc, test_set_validates);
    tcase_add_test(tc, test_skip_unknown_reads_a_shared_file);
    tcase_add_test(tc, test_missing_file_is_an_error);
    tcase_add_test(tc, test_overlong_line_is_an_error_not_a_split);
    tcase_add_test(tc, test_spec_tables_are_checked);
    tcase_add_test_raise_signal(tc, test_undeclared_key_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_wrong_type_aborts, SIGABRT);
    tcase_add_loop_test(tc, test_env_names, 0, sizeof env_names / sizeof env_names[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
