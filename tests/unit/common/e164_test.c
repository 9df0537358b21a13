/* tests/unit/common/e164_test.c — number normalisation, table-driven: what each plan accepts
 * (and as what kind) and what it rejects. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/e164.h"
#include "common/err.h"

/* A North-American-like plan: +1, trunk prefix "1", international "011", no extensions. */
static const rw_numplan_t plan_us = {
    .country_code = "1", .national_prefix = "1", .intl_prefix = "011",
    .ext_min_len = 0, .ext_max_len = 0, .ext_first_digits = NULL,
};
/* A small office: +33, 0, 00, 3-digit extensions starting with any digit. */
static const rw_numplan_t plan_fr3 = {
    .country_code = "33", .national_prefix = "0", .intl_prefix = "00",
    .ext_min_len = 3, .ext_max_len = 3, .ext_first_digits = NULL,
};

typedef struct {
    const rw_numplan_t *plan;
    const char *dialled;
    int rc;
    rw_num_kind_t kind;
    const char *out;
} row_t;

#define UK (&rw_numplan_uk)
#define US (&plan_us)
#define FR (&plan_fr3)
#define OK_E164(p, in, want) { p, in, 0, RW_NUM_E164, want }
#define OK_EXT(p, in) { p, in, 0, RW_NUM_EXTENSION, in }
#define OK_SVC(p, in) { p, in, 0, RW_NUM_SERVICE, in }
#define BAD(p, in) { p, in, RW_EINVAL, 0, "" }

static const row_t rows[] = {
    /* UK: every way of writing the same number */
    OK_E164(UK, "+44 1632 960123", "+441632960123"),
    OK_E164(UK, "01632 960123", "+441632960123"),
    OK_E164(UK, "0044 1632 960123", "+441632960123"),
    OK_E164(UK, "tel:+441632960123", "+441632960123"),
    OK_E164(UK, "TEL:+44-1632-960123;phone-context=example.org", "+441632960123"),
    OK_E164(UK, "sip:01632960123@edge;user=phone", "+441632960123"),
    OK_E164(UK, "sips:+441632960123@edge", "+441632960123"),
    OK_E164(UK, "(01632) 960.123", "+441632960123"),
    OK_E164(UK, "07700 900123", "+447700900123"),
    OK_E164(UK, "00 1 212 555 0100", "+12125550100"),
    OK_E164(UK, "+1 (212) 555-0100", "+12125550100"),
    OK_E164(UK, "+123456789012345", "+123456789012345"),
    /* UK: extensions and service numbers */
    OK_EXT(UK, "2001"),
    { UK, "sip:2001@edge", 0, RW_NUM_EXTENSION, "2001" },
    OK_EXT(UK, "7999"),
    OK_SVC(UK, "999"),
    OK_SVC(UK, "112"),
    { UK, "tel:999", 0, RW_NUM_SERVICE, "999" },
    /* UK: rejects */
    BAD(UK, ""),
    BAD(UK, "+"),
    BAD(UK, "00"),
    BAD(UK, "0"),
    BAD(UK, "   "),
    BAD(UK, "01632 96O123"),           /* letter O for zero */
    BAD(UK, "alice"),
    BAD(UK, "sip:alice@edge"),
    BAD(UK, "sip:edge"),
    BAD(UK, "sip:@edge"),
    BAD(UK, "tel:"),
    BAD(UK, "+1234567890123456"),      /* 16 digits */
    BAD(UK, "0044 1234567890123456"),
    BAD(UK, "01234"),                  /* national number too short */
    BAD(UK, "+44 12345"),              /* own-country NSN too short */
    BAD(UK, "+12345"),                 /* shorter than any public number */
    BAD(UK, "8001"),                   /* extensions start 1-7 */
    BAD(UK, "20011"),                  /* 5 digits: neither extension nor number */
    BAD(UK, "200"),
    BAD(UK, "1632960123"),             /* no trunk prefix: ambiguous */
    BAD(UK, "+44+1632960123"),
    BAD(UK, "01632*960123"),
    BAD(UK, "+0441632960123"),         /* no country code starts with 0 */
    BAD(UK, "0123456789012345678901234567890123456789012345678901234567890123456789"),
    /* US-like plan */
    OK_E164(US, "1 212 555 0100", "+12125550100"),
    OK_E164(US, "+1 212-555-0100", "+12125550100"),
    OK_E164(US, "011 44 1632 960123", "+441632960123"),
    OK_SVC(US, "911"),
    BAD(US, "2001"),                   /* this plan has no extensions */
    BAD(US, "011"),
    BAD(US, "1"),
    BAD(US, "12345"),
    /* 3-digit extensions with any first digit; emergency numbers still win */
    OK_EXT(FR, "123"),
    OK_EXT(FR, "007"),
    OK_SVC(FR, "112"),
    OK_E164(FR, "01 23 45 67 89", "+33123456789"),
    OK_E164(FR, "0044 1632 960123", "+441632960123"),
    BAD(FR, "1234"),
    BAD(FR, "12"),
};

START_TEST(test_normalise_table_row)
{
    const row_t *r = &rows[_i];
    char out[32];
    rw_num_kind_t kind = 0;

    memset(out, 'x', sizeof out);
    int rc = rw_e164_normalise(r->plan, r->dialled, out, sizeof out, &kind);
    ck_assert_msg(rc == r->rc, "row %d \"%s\": rc %d, want %d (out \"%s\")", _i, r->dialled, rc,
                  r->rc, out);
    ck_assert_msg(strcmp(out, r->out) == 0, "row %d \"%s\": out \"%s\", want \"%s\"", _i,
                  r->dialled, out, r->out);
    if (r->rc == 0)
        ck_assert_msg(kind == r->kind, "row %d \"%s\": kind %d, want %d", _i, r->dialled,
                      (int) kind, (int) r->kind);
}
END_TEST

START_TEST(test_small_output_buffer_is_refused_and_left_empty)
{
    char out[8];
    rw_num_kind_t kind;

    ck_assert_int_eq(rw_e164_normalise(UK, "01632 960123", out, sizeof out, &kind), RW_ERANGE);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(rw_e164_normalise(UK, "2001", out, sizeof out, &kind), 0);
    ck_assert_str_eq(out, "2001");
}
END_TEST

START_TEST(test_null_arguments_are_refused)
{
    char out[32] = "junk";
    rw_num_kind_t kind;

    ck_assert_int_eq(rw_e164_normalise(NULL, "2001", out, sizeof out, &kind), RW_EINVAL);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(rw_e164_normalise(UK, NULL, out, sizeof out, &kind), RW_EINVAL);
    ck_assert_int_eq(rw_e164_normalise(UK, "2001", NULL, 0, &kind), RW_EINVAL);
    ck_assert_int_eq(rw_e164_normalise(UK, "2001", out, sizeof out, NULL), 0);
    ck_assert_str_eq(out, "2001");
}
END_TEST

START_TEST(test_uk_plan_is_the_documented_one)
{
    ck_assert_str_eq(rw_numplan_uk.country_code, "44");
    ck_assert_str_eq(rw_numplan_uk.national_prefix, "0");
    ck_assert_str_eq(rw_numplan_uk.intl_prefix, "00");
    ck_assert_int_eq(rw_numplan_uk.ext_min_len, 4);
    ck_assert_int_eq(rw_numplan_uk.ext_max_len, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e164");
    TCase *tc = tcase_create("normalise");
    tcase_add_loop_test(tc, test_normalise_table_row, 0, (int) (sizeof rows / sizeof rows[0]));
    tcase_add_test(tc, test_small_output_buffer_is_refused_and_left_empty);
    tcase_add_test(tc, test_null_arguments_are_refused);
    tcase_add_test(tc, test_uk_plan_is_the_documented_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
