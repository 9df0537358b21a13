/* tests/unit/common/metrics_test.c — the metrics registry and its Prometheus text: exact
 * lines, one HELP/TYPE per family, cumulative histogram buckets with merged labels, and
 * refusal of malformed names and type clashes. */
#include "common/err.h"
#include "common/metrics.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rw_metrics_t *reg;

static void setup(void)
{
    reg = rw_metrics_new("ringway_router");
    ck_assert_ptr_nonnull(reg);
}

static void teardown(void)
{
    rw_metrics_destroy(&reg);
    ck_assert_ptr_null(reg);
}

static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(rw_metrics_render(reg, &text, &len), 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

START_TEST(test_empty_registry_renders_empty_text)
{
    char *text = render();
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

START_TEST(test_counter_and_gauge_render_exactly)
{
    rw_counter_t *c = rw_metrics_counter(reg, "requests_total", "Route requests answered.");
    rw_gauge_t *g = rw_metrics_gauge(reg, "workers", "Busy workers.");
    rw_counter_inc(c);
    rw_counter_add(c, 41);
    rw_gauge_set(g, 2.5);
    rw_gauge_add(g, -1);
    ck_assert_uint_eq(rw_counter_value(c), 42);
    ck_assert(rw_gauge_value(g) == 1.5);
    char *text = render();
    ck_assert_str_eq(text,
        "# HELP ringway_router_requests_total Route requests answered.\n"
        "# TYPE ringway_router_requests_total counter\n"
        "ringway_router_requests_total 42\n"
        "# HELP ringway_router_workers Busy workers.\n"
        "# TYPE ringway_router_workers gauge\n"
        "ringway_router_workers 1.5\n");
    free(text);
}
END_TEST

START_TEST(test_labelled_series_share_one_family_header)
{
    rw_counter_t *ok = rw_metrics_counter(reg, "requests_total{result=\"ok\"}", "Requests.");
    rw_gauge_t *other = rw_metrics_gauge(reg, "queue_depth", "Depth.");
    rw_counter_t *to = rw_metrics_counter(reg, "requests_total{result=\"timeout\"}", "Requests.");
    rw_counter_add(ok, 3);
    rw_counter_inc(to);
    rw_gauge_set(other, 7);
    char *text = render();
    ck_assert_str_eq(text,
        "# HELP ringway_router_requests_total Requests.\n"
        "# TYPE ringway_router_requests_total counter\n"
        "ringway_router_requests_total{result=\"ok\"} 3\n"
        "ringway_router_requests_total{result=\"timeout\"} 1\n"
        "# HELP ringway_router_queue_depth Depth.\n"
        "# TYPE ringway_router_queue_depth gauge\n"
        "ringway_router_queue_depth 7\n");
    free(text);
}
END_TEST

START_TEST(test_histogram_buckets_are_cumulative)
{
    const double bounds[] = { 0.01, 0.1, 1 };
    rw_histogram_t *h = rw_metrics_histogram(reg, "plan_seconds", "Plan time.", bounds, 3);
    rw_histogram_observe(h, 0.005);
    rw_histogram_observe(h, 0.01);     /* on a bound: counted in that bucket (le) */
    rw_histogram_observe(h, 0.5);
    rw_histogram_observe(h, 3);
    rw_histogram_observe(h, NAN);      /* ignored */
    ck_assert_uint_eq(rw_histogram_count(h), 4);
    char *text = render();
    ck_assert_str_eq(text,
        "# HELP ringway_router_plan_seconds Plan time.\n"
        "# TYPE ringway_router_plan_seconds histogram\n"
        "ringway_router_plan_seconds_bucket{le=\"0.01\"} 2\n"
        "ringway_router_plan_seconds_bucket{le=\"0.1\"} 2\n"
        "ringway_router_plan_seconds_bucket{le=\"1\"} 3\n"
        "ringway_router_plan_seconds_bucket{le=\"+Inf\"} 4\n"
        "ringway_router_plan_seconds_sum 3.515\n"
        "ringway_router_plan_seconds_count 4\n");
    free(text);
}
END_TEST

START_TEST(test_histogram_labels_merge_with_le)
{
    const double bounds[] = { 0.1 };
    rw_histogram_t *h = rw_metrics_histogram(reg, "x_seconds{result=\"ok\",site=\"a\"}", "X.",
                                             bounds, 1);
    rw_histogram_observe(h, 0.05);
    char *text = render();
    ck_assert_str_eq(text,
        "# HELP ringway_router_x_seconds X.\n"
        "# TYPE ringway_router_x_seconds histogram\n"
        "ringway_router_x_seconds_bucket{result=\"ok\",site=\"a\",le=\"0.1\"} 1\n"
        "ringway_router_x_seconds_bucket{result=\"ok\",site=\"a\",le=\"+Inf\"} 1\n"
        "ringway_router_x_seconds_sum{result=\"ok\",site=\"a\"} 0.05\n"
        "ringway_router_x_seconds_count{result=\"ok\",site=\"a\"} 1\n");
    free(text);
}
END_TEST

START_TEST(test_default_histogram_buckets_span_100us_to_10s)
{
    rw_histogram_t *h = rw_metrics_histogram(reg, "redis_seconds", "Redis.", NULL, 0);
    rw_histogram_observe(h, 20);
    char *text = render();
    ck_assert_ptr_nonnull(strstr(text, "ringway_router_redis_seconds_bucket{le=\"0.0001\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "ringway_router_redis_seconds_bucket{le=\"10\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "ringway_router_redis_seconds_bucket{le=\"+Inf\"} 1\n"));
    free(text);
}
END_TEST

START_TEST(test_same_name_returns_same_handle)
{
    rw_counter_t *a = rw_metrics_counter(reg, "hits_total", "Hits.");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(rw_metrics_counter(reg, "hits_total", "Other help."), a);
    rw_histogram_t *h = rw_metrics_histogram(reg, "t_seconds", "T.", NULL, 0);
    ck_assert_ptr_eq(rw_metrics_histogram(reg, "t_seconds", "T.", NULL, 0), h);
}
END_TEST

START_TEST(test_type_clash_is_refused)
{
    ck_assert_ptr_nonnull(rw_metrics_counter(reg, "hits_total", "Hits."));
    ck_assert_ptr_null(rw_metrics_gauge(reg, "hits_total", "Hits."));
    ck_assert_ptr_null(rw_metrics_histogram(reg, "hits_total", "Hits.", NULL, 0));
    /* another series of the same family must keep the family's type */
    ck_assert_ptr_null(rw_metrics_gauge(reg, "hits_total{x=\"1\"}", "Hits."));
}
END_TEST

static const struct {
    const char *name;
    int ok;
} names[] = {
    { "requests_total", 1 }, { "a:b_c9", 1 }, { "_x", 1 }, { ":x", 1 },
    { "x{a=\"1\"}", 1 }, { "x{a=\"1\",b_2=\"two words\"}", 1 }, { "x{a=\"q\\\"uote\\\\\"}", 1 },
    { "x{a=\"\"}", 1 },
    { "", 0 }, { "9lives", 0 }, { "has space", 0 }, { "dash-name", 0 }, { "x{", 0 },
    { "x{}", 0 }, { "x{a=1}", 0 }, { "x{a=\"1\"", 0 }, { "x{a=\"1\"}y", 0 },
    { "x{a=\"1\",}", 0 }, { "x{9a=\"1\"}", 0 }, { "x{__a=\"1\"}", 0 }, { "x{a:b=\"1\"}", 0 },
    { "x{a=\"bad\\q\"}", 0 }, { "x{a=\"new\nline\"}", 0 }, { "x{a=\"1\" }", 0 },
};

START_TEST(test_metric_names_are_validated)
{
    rw_counter_t *c = rw_metrics_counter(reg, names[_i].name, "Help.");
    ck_assert_msg((c != NULL) == names[_i].ok, "name '%s' should be %s", names[_i].name,
                  names[_i].ok ? "accepted" : "refused");
}
END_TEST

START_TEST(test_bad_histogram_bounds_and_le_label_are_refused)
{
    const double desc[] = { 1, 0.5 }, dup[] = { 1, 1 }, inf[] = { 1, INFINITY };
    ck_assert_ptr_null(rw_metrics_histogram(reg, "a_seconds", "A.", desc, 2));
    ck_assert_ptr_null(rw_metrics_histogram(reg, "b_seconds", "B.", dup, 2));
    ck_assert_ptr_null(rw_metrics_histogram(reg, "c_seconds", "C.", inf, 2));
    ck_assert_ptr_null(rw_metrics_histogram(reg, "d_seconds{le=\"1\"}", "D.", NULL, 0));
    ck_assert_ptr_nonnull(rw_metrics_counter(reg, "d_total{le=\"1\"}", "D."));
}
END_TEST

START_TEST(test_help_is_escaped_and_gauge_specials_render)
{
    rw_gauge_t *g = rw_metrics_gauge(reg, "g", "Line one\nback\\slash");
    rw_gauge_t *n = rw_metrics_gauge(reg, "n", "");
    rw_gauge_set(g, INFINITY);
    rw_gauge_set(n, NAN);
    char *text = render();
    ck_assert_str_eq(text,
        "# HELP ringway_router_g Line one\\nback\\\\slash\n"
        "# TYPE ringway_router_g gauge\n"
        "ringway_router_g +Inf\n"
        "# HELP ringway_router_n \n"
        "# TYPE ringway_router_n gauge\n"
        "ringway_router_n NaN\n");
    free(text);
}
END_TEST

START_TEST(test_null_handles_and_bad_prefix_are_harmless)
{
    rw_counter_inc(NULL);
    rw_counter_add(NULL, 3);
    rw_gauge_set(NULL, 1);
    rw_gauge_add(NULL, 1);
    rw_histogram_observe(NULL, 1);
    ck_assert_uint_eq(rw_counter_value(NULL), 0);
    ck_assert_uint_eq(rw_histogram_count(NULL), 0);
    ck_assert(rw_gauge_value(NULL) == 0);
    ck_assert_ptr_null(rw_metrics_new("bad prefix"));
    ck_assert_ptr_null(rw_metrics_counter(NULL, "x", "X."));
    ck_assert_ptr_null(rw_metrics_counter(reg, NULL, "X."));
    char *text = NULL;
    ck_assert_int_eq(rw_metrics_render(NULL, &text, NULL), RW_EINVAL);
    rw_metrics_destroy(NULL);
}
END_TEST

START_TEST(test_empty_prefix_uses_bare_names)
{
    rw_metrics_t *bare = rw_metrics_new(NULL);
    rw_counter_inc(rw_metrics_counter(bare, "up_total", "Up."));
    char *text = NULL;
    ck_assert_int_eq(rw_metrics_render(bare, &text, NULL), 0);
    ck_assert_str_eq(text, "# HELP up_total Up.\n# TYPE up_total counter\nup_total 1\n");
    free(text);
    rw_metrics_destroy(&bare);
}
END_TEST

START_TEST(test_many_series_render)
{
    char name[64];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "calls_total{n=\"%d\"}", i);
        rw_counter_add(rw_metrics_counter(reg, name, "Calls."), (uint64_t) i);
    }
    char *text = render();
    ck_assert_ptr_nonnull(strstr(text, "ringway_router_calls_total{n=\"499\"} 499\n"));
    int types = 0;
    for (const char *p = text; (p = strstr(p, "# TYPE")) != NULL; p++)
        types++;
    ck_assert_int_eq(types, 1);
    free(text);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty_registry_renders_empty_text);
    tcase_add_test(tc, test_counter_and_gauge_render_exactly);
    tcase_add_test(tc, test_labelled_series_share_one_family_header);
    tcase_add_test(tc, test_histogram_buckets_are_cumulative);
    tcase_add_test(tc, test_histogram_labels_merge_with_le);
    tcase_add_test(tc, test_default_histogram_buckets_span_100us_to_10s);
    tcase_add_test(tc, test_same_name_returns_same_handle);
    tcase_add_test(tc, test_type_clash_is_refused);
    tcase_add_loop_test(tc, test_metric_names_are_validated, 0, sizeof names / sizeof names[0]);
    tcase_add_test(tc, test_bad_histogram_bounds_and_le_label_are_refused);
    tcase_add_test(tc, test_help_is_escaped_and_gauge_specials_render);
    tcase_add_test(tc, test_null_handles_and_bad_prefix_are_harmless);
    tcase_add_test(tc, test_empty_prefix_uses_bare_names);
    tcase_add_test(tc, test_many_series_render);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
