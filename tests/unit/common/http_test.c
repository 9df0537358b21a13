/* tests/unit/common/http_test.c — the /health and /metrics server driven by an su_root.
 * A client thread speaks plain HTTP over a loopback socket while the test thread turns the
 * loop with su_root_step(), so every answer also proves the epoll/timer glue works. */
#include <sofia-sip/su_wait.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct {
    int unhealthy;
    const char *detail;
} health_state_t;

static su_root_t *root;
static rw_metrics_t *metrics;
static rw_http_t *http;
static health_state_t health;

static int health_fn(void *arg, char *detail, size_t detail_len)
{
    health_state_t *st = arg;
    if (st->unhealthy && st->detail)
        snprintf(detail, detail_len, "%s", st->detail);
    return st->unhealthy;
}

static void setup(void)
{
    ck_assert_int_eq(su_init(), 0);
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    rw_log_init("router", "router-1", RW_LOG_ERROR);
    metrics = rw_metrics_new("ringway_router");
    rw_counter_add(rw_metrics_counter(metrics, "requests_total{result=\"ok\"}", "Requests."), 7);
    memset(&health, 0, sizeof health);
    http = rw_http_new(root, "127.0.0.1", 0, metrics, health_fn, &health);
    ck_assert_ptr_nonnull(http);
}

static void teardown(void)
{
    rw_http_destroy(&http);
    ck_assert_ptr_null(http);
    rw_metrics_destroy(&metrics);
    su_root_destroy(root);
    su_deinit();
}

/* ---- a tiny blocking client run on its own thread ---- */

typedef struct {
    int family;
    uint16_t port;
    const char *request;            /* sent as is */
    size_t body_pad;                /* then this many 'x' bytes in 64 KiB chunks (chunked) */
    char response[65536];
    size_t len;
    int status;
    atomic_int done;
} client_t;

static int connect_to(int family, uint16_t port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        a.sin6_addr = in6addr_loopback;
        rc = connect(fd, (struct sockaddr *) &a, sizeof a);
    } else {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *) &a, sizeof a);
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t) k;
    }
}

static void send_chunks(int fd, size_t total)
{
    static char chunk[65536];
    char head[32];
    memset(chunk, 'x', sizeof chunk);
    while (total > 0) {
        size_t n = total < sizeof chunk ? total : sizeof chunk;
        snprintf(head, sizeof head, "%zx\r\n", n);
        send_all(fd, head, strlen(head));
        send_all(fd, chunk, n);
        send_all(fd, "\r\n", 2);
        total -= n;
    }
    send_all(fd, "0\r\n\r\n", 5);
}

static void *client_run(void *arg)
{
    client_t *c = arg;
    int fd = connect_to(c->family ? c->family : AF_INET, c->port);
    if (fd >= 0) {
        struct timeval tv = { .tv_sec = 5 };    /* a server that never answers fails the test */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        send_all(fd, c->request, strlen(c->request));
        if (c->body_pad)
            send_chunks(fd, c->body_pad);
        ssize_t k;
        while (c->len < sizeof c->response - 1
               && (k = recv(fd, c->response + c->len, sizeof c->response - 1 - c->len, 0)) > 0)
            c->len += (size_t) k;
        c->response[c->len] = '\0';
        sscanf(c->response, "HTTP/1.%*d %d", &c->status);
        close(fd);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

/* Sends raw request text and turns the loop until the answer is in. */
static client_t *exchange_on(int family, uint16_t port, const char *request, size_t body_pad)
{
    client_t *c = calloc(1, sizeof *c);
    pthread_t t;
    ck_assert_ptr_nonnull(c);
    c->family = family;
    c->port = port;
    c->request = request;
    c->body_pad = body_pad;
    ck_assert_int_eq(pthread_create(&t, NULL, client_run, c), 0);
    for (int i = 0; i < 1000 && !atomic_load(&c->done); i++)
        su_root_step(root, 10);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return c;
}

static client_t *exchange(const char *request)
{
    return exchange_on(AF_INET, rw_http_port(http), request, 0);
}

static const char *body_of(const client_t *c)
{
    const char *b = strstr(c->response, "\r\n\r\n");
    return b ? b + 4 : "";
}

static int has_header(const client_t *c, const char *line)
{
    const char *end = strstr(c->response, "\r\n\r\n");
    const char *hit = strcasestr(c->response, line);
    return hit && end && hit < end;
}

/* ---- tests ---- */

START_TEST(test_port_zero_binds_a_free_port)
{
    ck_assert_uint_gt(rw_http_port(http), 0);
    rw_http_t *second = rw_http_new(root, "127.0.0.1", 0, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(second);
    ck_assert_uint_ne(rw_http_port(second), rw_http_port(http));
    rw_http_destroy(&second);
}
END_TEST

START_TEST(test_health_ok_reports_identity)
{
    client_t *c = exchange("GET /health HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(c->status, 200);
    ck_assert(has_header(c, "Content-Type: application/json"));
    json_t *doc = json_loads(body_of(c), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "svc")), "router");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "inst")), "router-1");
    ck_assert(json_is_integer(json_object_get(doc, "uptime_s")));
    ck_assert_ptr_null(json_object_get(doc, "detail"));
    json_decref(doc);
    free(c);
}
END_TEST

START_TEST(test_health_degraded_is_503_with_detail)
{
    health.unhealthy = 1;
    health.detail = "redis \"down\"";
    client_t *c = exchange("GET /health HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(c->status, 503);
    json_t *doc = json_loads(body_of(c), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "degraded");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "detail")), "redis \"down\"");
    json_decref(doc);
    free(c);
}
END_TEST

START_TEST(test_metrics_serves_prometheus_text)
{
    client_t *c = exchange("GET /metrics HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(c->status, 200);
    ck_assert(has_header(c, "Content-Type: text/plain; version=0.0.4"));
    ck_assert_str_eq(body_of(c), "# HELP ringway_router_requests_total Requests.\n"
                                 "# TYPE ringway_router_requests_total counter\n"
                                 "ringway_router_requests_total{result=\"ok\"} 7\n");
    free(c);
}
END_TEST

static const struct {
    const char *request;
    int status;
} statuses[] = {
    { "GET /nope HTTP/1.0\r\n\r\n", 404 },
    { "GET /healthz HTTP/1.0\r\n\r\n", 404 },
    { "POST /health HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 405 },
    { "DELETE /metrics HTTP/1.0\r\n\r\n", 405 },
    { "PUT /nope HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 405 },
    { "HEAD /health HTTP/1.0\r\n\r\n", 200 },
    { "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200 },
    { "POST /api/x HTTP/1.0\r\nContent-Length: 2000000\r\n\r\n", 413 },
};

START_TEST(test_status_codes)
{
    ck_assert_int_eq(rw_http_route(http, "/api/", NULL, NULL), RW_EINVAL);   /* no handler */
    client_t *c = exchange(statuses[_i].request);
    ck_assert_msg(c->status == statuses[_i].status, "%s -> %d", statuses[_i].request, c->status);
    if (statuses[_i].status == 405)
        ck_assert(has_header(c, "Allow: GET, HEAD"));
    if (strncmp(statuses[_i].request, "HEAD", 4) == 0)
        ck_assert_str_eq(body_of(c), "");
    free(c);
}
END_TEST

static void echo_route(void *arg, const char *method, const char *path, const char *req_body,
                       size_t req_len, int *status, char **body, size_t *body_len,
                       const char **content_type)
{
    int *calls = arg;
    (*calls)++;
    *status = 201;
    *content_type = "text/plain";
    if (asprintf(body, "%s %s %zu %s", method, path, req_len, req_body) < 0)
        *body = NULL;
    *body_len = *body ? strlen(*body) : 0;
}

START_TEST(test_route_gets_method_path_and_body)
{
    int calls = 0;
    ck_assert_int_eq(rw_http_route(http, "/api/", echo_route, &calls), 0);
    ck_assert_int_eq(rw_http_route(http, "api", echo_route, &calls), RW_EINVAL);
    client_t *c = exchange("POST /api/users HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
    ck_assert_int_eq(c->status, 201);
    ck_assert_str_eq(body_of(c), "POST /api/users 5 hello");
    free(c);
    c = exchange("GET /health HTTP/1.0\r\n\r\n");    /* built-ins come first */
    ck_assert_int_eq(c->status, 200);
    free(c);
    ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_streamed_body_over_limit_is_413)
{
    int calls = 0;
    ck_assert_int_eq(rw_http_route(http, "/api/", echo_route, &calls), 0);
    client_t *c = exchange_on(AF_INET, rw_http_port(http),
                              "POST /api/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n", 1200 * 1024);
    ck_assert_int_eq(c->status, 413);
    ck_assert_int_eq(calls, 0);
    free(c);
}
END_TEST

START_TEST(test_idle_connection_does_not_block_others)
{
    uint16_t port = rw_http_port(http);
    int idle = connect_to(AF_INET, port);
    ck_assert_int_ge(idle, 0);
    uint64_t start = rw_clock_mono_ms();
    for (int i = 0; i < 50; i++) {
        client_t *c = exchange("GET /metrics HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(c->status, 200);
        free(c);
    }
    /* answers come from the epoll wake-up, not from the 1 s safety timer */
    ck_assert_uint_lt(rw_clock_mono_ms() - start, 5000);
    close(idle);
}
END_TEST

START_TEST(test_bad_address_is_refused)
{
    ck_assert_ptr_null(rw_http_new(root, "localhost", 0, NULL, NULL, NULL));
    ck_assert_ptr_null(rw_http_new(root, "", 0, NULL, NULL, NULL));
    ck_assert_ptr_null(rw_http_new(NULL, "127.0.0.1", 0, NULL, NULL, NULL));
    ck_assert_ptr_null(rw_http_new(root, "127.0.0.1", rw_http_port(http), NULL, NULL, NULL));
    rw_http_destroy(NULL);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
    a.sin6_addr = in6addr_loopback;
    if (probe < 0 || bind(probe, (struct sockaddr *) &a, sizeof a) != 0) {
        if (probe >= 0)
            close(probe);
        return;                     /* no IPv6 loopback on this host */
    }
    close(probe);
    rw_http_t *v6 = rw_http_new(root, "::1", 0, metrics, NULL, NULL);
    ck_assert_ptr_nonnull(v6);
    client_t *c = exchange_on(AF_INET6, rw_http_port(v6), "GET /health HTTP/1.0\r\n\r\n", 0);
    ck_assert_int_eq(c->status, 200);
    free(c);
    rw_http_destroy(&v6);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_port_zero_binds_a_free_port);
    tcase_add_test(tc, test_health_ok_reports_identity);
    tcase_add_test(tc, test_health_degraded_is_503_with_detail);
    tcase_add_test(tc, test_metrics_serves_prometheus_text);
    tcase_add_loop_test(tc, test_status_codes, 0, sizeof statuses / sizeof statuses[0]);
    tcase_add_test(tc, test_route_gets_method_path_and_body);
    tcase_add_test(tc, test_streamed_body_over_limit_is_413);
    tcase_add_test(tc, test_idle_connection_does_not_block_others);
    tcase_add_test(tc, test_bad_address_is_refused);
    tcase_add_test(tc, test_ipv6_loopback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
