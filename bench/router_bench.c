/* bench/router_bench.c — route decisions over the bus against a real redis-server holding
 * 10,000 users (half with a rule profile), answered by spawned ringway-router processes.
 * Prints: decisions/s of one instance (window of requests in flight), latency p50/p99 at a
 * paced rate, and decisions/s of two instances. Usage (from the build directory):
 *   bench/bench_router [users=10000] [rate=5000] [seconds=3] [window=256] */
#include <sofia-sip/su_wait.h>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocols/route.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

#define RULES "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"workday\",\"days\":\"mon-fri\"," \
    "\"time\":\"09:00-17:30\",\"action\":\"ring\",\"mode\":\"sequential\",\"ring\":[{\"device\":\"softphone\"," \
    "\"secs\":10},{\"device\":\"mobile\",\"secs\":15}]},{\"name\":\"na\",\"action\":\"divert\",\"on\":" \
    "\"no_answer\",\"to\":\"voicemail\"}]}}"

typedef struct {
    su_root_t *root;
    rw_client_t *cli;
    unsigned users;
    uint64_t sent, done, failed, seq;
    uint64_t *lat;                   /* paced phase: latency per request, us */
    size_t n_lat, max_lat;
    int window_mode;
    msgpack_sbuffer sb;
} bench_t;

typedef struct { bench_t *b; uint64_t t0; } pending_t;

static int load_users(int port, unsigned n)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        char id[16], num[24];
        snprintf(id, sizeof id, "u%u", i);
        snprintf(num, sizeof num, "+44163296%04u", i);
        redisAppendCommand(c, "HSET rw:user:%s id %s ext %u name %s realm ringway.local tz Europe/London "
                           "settings %s ver 1", id, id, 1000 + i % 7000, id, i % 2 ? RULES : "");
        redisAppendCommand(c, "HSET rw:user:%s:devices softphone %s mobile %s voicemail %s", id, "sip ",
                           "number +447700900001", "voicemail x");
        redisAppendCommand(c, "SET rw:num:%s %s", num, id);
        redisAppendCommand(c, "SADD rw:users %s", id);
    }
    for (unsigned i = 0; i < n * 4; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **) &r) != REDIS_OK)
            return redisFree(c), -1;
        freeReplyObject(r);
    }
    redisFree(c);
    return 0;
}

static void on_plan(void *arg, int status, const void *body, size_t len);

static int send_one(bench_t *b)
{
    rw_route_req_t rq;
    pending_t *p = malloc(sizeof *p);
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "bench-%llu", (unsigned long long) b->seq);
    snprintf(rq.caller, sizeof rq.caller, "+441632960999");
    snprintf(rq.callee, sizeof rq.callee, "+44163296%04u", (unsigned) (b->seq * 7919 % b->users));
    snprintf(rq.source, sizeof rq.source, "device");
    rq.time_ms = 1780390800000ull + b->seq * 1000;   /* June 2026, walking through the day */
    b->seq++;
    b->sb.size = 0;
    if (!p || rw_proto_route_req_encode(&rq, &b->sb) < 0)
        return free(p), -1;
    p->b = b;
    p->t0 = rw_clock_mono_us();
    if (rw_client_request(b->cli, b->sb.data, b->sb.size, 2000, on_plan, p) < 0)
        return free(p), -1;
    b->sent++;
    return 0;
}

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    pending_t *p = arg;
    bench_t *b = p->b;
    (void) body;
    (void) len;
    b->done++;
    if (status)
        b->failed++;
    if (b->lat && b->n_lat < b->max_lat)
        b->lat[b->n_lat++] = rw_clock_mono_us() - p->t0;
    free(p);
    if (b->window_mode)
        send_one(b);
}

static double max_rate(bench_t *b, unsigned window, double secs)
{
    b->window_mode = 1;
    b->done = b->failed = 0;
    b->sent = 0;
    for (unsigned i = 0; i < window; i++)
        send_one(b);
    uint64_t t0 = rw_clock_mono_us(), end = t0 + (uint64_t) (secs * 1e6);
    while (rw_clock_mono_us() < end)
        su_root_step(b->root, 1);
    uint64_t done = b->done;
    double rate = (double) done / ((double) (rw_clock_mono_us() - t0) / 1e6);
    b->window_mode = 0;
    while (b->done < b->sent)
        su_root_step(b->root, 5);
    return rate;
}

/* CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');     /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

/* The rate the client reached is bounded by the client's own CPU on a small machine; the
 * router's CPU per decision says what one router process could carry on a core of its own. */
static void cpu_per_decision(const char *who, pid_t pid, double cpu0, uint64_t decisions)
{
    double used = cpu_seconds(pid) - cpu0;
    if (decisions == 0 || used <= 0)
        return;
    double us = used * 1e6 / (double) decisions;
    printf("  %s CPU per decision: %.1f us (one core: %.0f decisions/s)\n", who, us, 1e6 / us);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *) x, c = *(const uint64_t *) y;
    return a < c ? -1 : a > c;
}

static void paced(bench_t *b, unsigned rate, double secs)
{
    uint64_t total = (uint64_t) (rate * secs), t0 = rw_clock_mono_us();
    b->max_lat = total;
    b->lat = calloc(total, sizeof *b->lat);
    b->n_lat = 0;
    b->done = b->sent = b->failed = 0;
    while (b->sent < total) {
        uint64_t due = (rw_clock_mono_us() - t0) * rate / 1000000;
        while (b->sent < due && b->sent < total)
            send_one(b);
        su_root_step(b->root, 1);   /* sleeps until a reply or 1 ms: the client must not spin */
    }
    while (b->done < b->sent)
        su_root_step(b->root, 5);
    qsort(b->lat, b->n_lat, sizeof *b->lat, cmp_u64);
    printf("paced %u/s for %.0f s: n=%zu failed=%llu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", rate, secs,
           b->n_lat, (unsigned long long) b->failed, b->lat[b->n_lat / 2] / 1000.0,
           b->lat[b->n_lat * 99 / 100] / 1000.0, b->lat[b->n_lat - 1] / 1000.0);
    free(b->lat);
    b->lat = NULL;
}

static pid_t start_router(int redis_port, int *bus_port, const char *name)
{
    char bin[512], e_http[64], e_bind[96], e_redis[64], e_inst[64];
    int http = rw_proc_free_port();
    *bus_port = rw_proc_free_port();
    snprintf(e_http, sizeof e_http, "RINGWAY_HTTP_PORT=%d", http);
    snprintf(e_bind, sizeof e_bind, "RINGWAY_ROUTER_BIND=tcp://127.0.0.1:%d", *bus_port);
    snprintf(e_redis, sizeof e_redis, "RINGWAY_REDIS_PORT=%d", redis_port);
    snprintf(e_inst, sizeof e_inst, "RINGWAY_INSTANCE=%s", name);
    const char *argv[] = { rw_proc_build_path("services/router/ringway-router", bin, sizeof bin), NULL };
    const char *env[] = { e_http, e_bind, e_redis, e_inst, "RINGWAY_LOG_LEVEL=warn", NULL };
    pid_t pid = rw_proc_spawn(argv, env, "/dev/null");
    if (pid <= 0 || rw_proc_wait_http(http, "/health", 5000) < 0)
        return -1;
    return pid;
}

static void use_endpoints(bench_t *b, const int *ports, int n)
{
    char eps[2][64];
    const char *list[2];
    for (int i = 0; i < n; i++) {
        snprintf(eps[i], sizeof eps[i], "tcp://127.0.0.1:%d", ports[i]);
        list[i] = eps[i];
    }
    rw_client_set_endpoints(b->cli, list, (size_t) n);
    for (int i = 0; i < 200; i++)    /* connect and warm the settings cache */
        send_one(b);
    while (b->done < b->sent)
        su_root_step(b->root, 5);
}

int main(int argc, char **argv)
{
    unsigned users = argc > 1 ? (unsigned) atoi(argv[1]) : 10000, rate = argc > 2 ? (unsigned) atoi(argv[2]) : 5000;
    double secs = argc > 3 ? atof(argv[3]) : 3;
    unsigned window = argc > 4 ? (unsigned) atoi(argv[4]) : 256;
    rw_redis_fixture_t redis;
    int ports[2];
    char bdir[512];
    if (!getenv("RINGWAY_BUILD_DIR") && getcwd(bdir, sizeof bdir))
        setenv("RINGWAY_BUILD_DIR", bdir, 1);
    rw_log_init("bench", "b1", RW_LOG_ERROR);
    if (rw_redis_fixture_start(&redis) < 0 || load_users(redis.port, users) < 0)
        return fprintf(stderr, "bench: redis setup failed\n"), 1;
    pid_t r1 = start_router(redis.port, &ports[0], "bench-r1"), r2 = -1;
    if (r1 < 0)
        return fprintf(stderr, "bench: router did not start (run from the build directory)\n"), 1;
    su_init();
    bench_t b = { .root = su_root_create(NULL), .users = users };
    msgpack_sbuffer_init(&b.sb);
    b.cli = rw_client_new(b.root, "router", NULL);
    printf("users=%u in redis (half with a rule profile), window=%u\n", users, window);
    use_endpoints(&b, ports, 1);
    double c_router = cpu_seconds(r1), c_redis = cpu_seconds(redis.pid);
    double one = max_rate(&b, window, secs);
    printf("one instance: %.0f decisions/s (failed %llu)\n", one, (unsigned long long) b.failed);
    cpu_per_decision("router", r1, c_router, b.done);
    cpu_per_decision("redis-server", redis.pid, c_redis, b.done);
    paced(&b, rate, secs);
    if ((r2 = start_router(redis.port, &ports[1], "bench-r2")) > 0) {
        use_endpoints(&b, ports, 2);
        double two = max_rate(&b, window, secs);
        printf("two instances: %.0f decisions/s (failed %llu), %.2fx one\n", two,
               (unsigned long long) b.failed, two / one);
        paced(&b, rate, secs);
    }
    rw_client_destroy(&b.cli);
    su_root_destroy(b.root);
    su_deinit();
    msgpack_sbuffer_destroy(&b.sb);
    rw_proc_stop(r1, 2000);
    if (r2 > 0)
        rw_proc_stop(r2, 2000);
    rw_redis_fixture_stop(&redis);
    return 0;
}
