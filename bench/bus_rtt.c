/* bench/bus_rtt.c — request/reply round trip over loopback tcp, server in a child process.
 * Phase 1: N requests one at a time (median, p90, p99, max in µs). Phase 2: the same number
 * pipelined with a fixed window in flight (requests/s). Usage: bench_bus_rtt [N] [window]. */
#include <sofia-sip/su_wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/log.h"

#define BODY "a 48-byte request body, roughly a route lookup.."

static void echo(void *arg, rw_request_t *req, const void *body, size_t len)
{
    (void) arg;
    rw_server_reply(req, body, len);
}

static int run_server(const char *endpoint)
{
    su_init();
    su_root_t *root = su_root_create(NULL);
    rw_server_t *srv = rw_server_new(root, endpoint, echo, NULL);
    if (!srv)
        return 1;
    su_root_run(root);             /* until killed */
    return 0;
}

typedef struct {
    su_root_t *root;
    rw_client_t *cli;
    uint64_t done, failed, sent, total;
    unsigned window;
} bench_t;

static void on_one(void *arg, int status, const void *body, size_t len)
{
    bench_t *b = arg;
    (void) body;
    (void) len;
    b->done++;
    if (status != 0)
        b->failed++;
}

static void on_pipelined(void *arg, int status, const void *body, size_t len)
{
    bench_t *b = arg;
    on_one(arg, status, body, len);
    if (b->sent < b->total && rw_client_request(b->cli, BODY, 48, 5000, on_pipelined, b) == 0)
        b->sent++;
}

/* A loopback port the kernel just handed out (bound, read, released). */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 27999;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof a) == 0
        && getsockname(fd, (struct sockaddr *) &a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    unsigned window = argc > 2 ? (unsigned) atoi(argv[2]) : 64;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", free_port());
    rw_log_init("bench", "b1", RW_LOG_ERROR);
    fflush(stdout);
    pid_t child = fork();          /* before any ZeroMQ context exists in this process */
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(run_server(endpoint));
    }
    su_init();
    bench_t b = { .root = su_root_create(NULL) };
    b.cli = rw_client_new(b.root, "bench", NULL);
    const char *eps[] = { endpoint };
    rw_client_set_endpoints(b.cli, eps, 1);
    for (int i = 0; i < 500 && b.done - b.failed < 100; i++) {     /* connect and warm up */
        uint64_t want = b.done + 1;
        rw_client_request(b.cli, "warm", 4, 1000, on_one, &b);
        while (b.done < want)
            su_root_step(b.root, 10);
    }
    uint64_t *rtt = malloc(n * sizeof *rtt);
    b.done = b.failed = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = rw_clock_mono_us();
        rw_client_request(b.cli, BODY, 48, 1000, on_one, &b);
        while (b.done <= i)
            su_root_step(b.root, 1);
        rtt[i] = rw_clock_mono_us() - t0;
    }
    qsort(rtt, n, sizeof *rtt, cmp_u64);
    printf("one at a time: n=%llu failed=%llu median=%llu us p90=%llu us p99=%llu us max=%llu us\n",
           (unsigned long long) n, (unsigned long long) b.failed,
           (unsigned long long) rtt[n / 2], (unsigned long long) rtt[n * 90 / 100],
           (unsigned long long) rtt[n * 99 / 100], (unsigned long long) rtt[n - 1]);

    b = (bench_t){ .root = b.root, .cli = b.cli, .total = n, .window = window };
    uint64_t t0 = rw_clock_mono_us();
    for (unsigned i = 0; i < window && b.sent < n; i++)
        if (rw_client_request(b.cli, BODY, 48, 5000, on_pipelined, &b) == 0)
            b.sent++;
    while (b.done < b.sent)
        su_root_step(b.root, 1);
    double secs = (double) (rw_clock_mono_us() - t0) / 1e6;
    printf("pipelined: n=%llu window=%u failed=%llu time=%.3f s throughput=%.0f requests/s\n",
           (unsigned long long) b.done, window, (unsigned long long) b.failed, secs,
           (double) b.done / secs);
    free(rtt);
    rw_client_destroy(&b.cli);
    su_root_destroy(b.root);
    su_deinit();
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
