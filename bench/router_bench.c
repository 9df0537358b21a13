/* bench/router_bench.c — route decisions over the bus against a real redis-server holding
 * 10,000 users (half with a rule profile), answered by spawned ringway-router processes.
 * Prints, for one instance and then two: the wall rate that client processes keeping `window`
 * requests in flight reach, each process's CPU per decision (router, redis-server, clients),
 * the rate the router's CPU per decision allows on a core of its own, and how busy the whole
 * machine was (when it is saturated the wall rate, and the two-to-one ratio, measure the
 * machine, not the router); then latency p50/p99 of requests paced at `rate`.
 * --callgrind runs the router under valgrind's callgrind three times (0, users and 2 x users
 * decisions) and prints its instructions per decision, cold (first sight of every user) and
 * steady: a figure independent of the machine's load. It runs the router of its own build
 * (RINGWAY_BUILD_DIR overrides). Usage:
 *   bench/bench_router [users=10000] [rate=5000] [seconds=3] [window=256] [clients=2]
 *   bench/bench_router --callgrind [users=10000]
 * Environment: BENCH_ROUTER_CPU_PCT=P caps each router at P % of one core (a cgroup quota),
 * so that one instance against two measures the routers, not a machine too small to hold two
 * routers, Redis and the clients; BENCH_RT_PRIORITY=N runs the routers
 * (process.rt_priority), redis-server and the clients with real-time priority N;
 * BENCH_PACED_ONLY=1 measures latency only; BENCH_LAT_TRACE=PREFIX writes each paced
 * request's send time and latency. The paced client sends each request at its time (it naps,
 * never spins, between answers: services/core/loopnap.h). */
#include <sofia-sip/su_wait.h>

#include <errno.h>
#include <sched.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/cpucap.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocols/route.h"
#include "services/core/loopnap.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

#define RULES "{\"active\":\"office\",\"profiles\":{\"office\":[{\"name\":\"workday\",\"days\":\"mon-fri\"," \
    "\"time\":\"09:00-17:30\",\"action\":\"ring\",\"mode\":\"sequential\",\"ring\":[{\"device\":\"softphone\"," \
    "\"secs\":10},{\"device\":\"mobile\",\"secs\":15}]},{\"name\":\"na\",\"action\":\"divert\",\"on\":" \
    "\"no_answer\",\"to\":\"voicemail\"}]}}"
#define MAX_CLIENTS 8

/* One client: a closed loop (each answer sends the next request) or a paced sender. */
typedef struct {
    su_root_t *root;
    rw_client_t *cli;
    unsigned users, deadline_ms;
    uint64_t sent, done, failed, seq, limit;   /* limit: requests to send at most, 0 = no limit */
    uint64_t *lat;                   /* paced: latency per request, us */
    uint64_t *lat_at;                /* paced, BENCH_LAT_TRACE: when each was sent, us */
    size_t n_lat, max_lat;
    int closed;
    msgpack_sbuffer sb;
} client_t;

typedef struct { client_t *c; uint64_t t0; } pending_t;

typedef struct {                     /* a spawned router */
    pid_t pid;
    int bus_port, http_port;
} router_t;

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

/* ---- The client side ----------------------------------------------------------------- */

static void on_plan(void *arg, int status, const void *body, size_t len);

static int send_one(client_t *c)
{
    rw_route_req_t rq;
    pending_t *p = malloc(sizeof *p);
    memset(&rq, 0, sizeof rq);
    snprintf(rq.call_id, sizeof rq.call_id, "bench-%llu", (unsigned long long) c->seq);
    snprintf(rq.caller, sizeof rq.caller, "+441632960999");
    snprintf(rq.callee, sizeof rq.callee, "+44163296%04u", (unsigned) (c->seq * 7919 % c->users));
    snprintf(rq.source, sizeof rq.source, "device");
    rq.time_ms = 1780390800000ull + c->seq * 1000;   /* June 2026, walking through the day */
    c->seq++;
    c->sb.size = 0;
    if (!p || rw_proto_route_req_encode(&rq, &c->sb) < 0)
        return free(p), -1;
    p->c = c;
    p->t0 = rw_clock_mono_us();
    if (rw_client_request(c->cli, c->sb.data, c->sb.size, c->deadline_ms, on_plan, p) < 0)
        return free(p), -1;
    c->sent++;
    return 0;
}

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    pending_t *p = arg;
    client_t *c = p->c;
    (void) body;
    (void) len;
    c->done++;
    if (status)
        c->failed++;
    if (c->lat && c->n_lat < c->max_lat) {
        if (c->lat_at)
            c->lat_at[c->n_lat] = p->t0;
        c->lat[c->n_lat++] = rw_clock_mono_us() - p->t0;
    }
    free(p);
    if (c->closed && (!c->limit || c->sent < c->limit))
        send_one(c);
}

static void drain(client_t *c)
{
    while (c->done < c->sent)
        su_root_step(c->root, 5);
}

/* endpoints: "tcp://127.0.0.1:P1[,tcp://...]"; warm: requests sent (and answered) first. */
static int client_open(client_t *c, const char *endpoints, unsigned users, uint64_t seq0, unsigned warm)
{
    char eps[2][64];
    const char *list[2];
    size_t n = 0;
    for (const char *s = endpoints; s && *s && n < 2; n++) {
        const char *comma = strchr(s, ',');
        snprintf(eps[n], sizeof eps[n], "%.*s", (int) (comma ? comma - s : (long) strlen(s)), s);
        list[n] = eps[n];
        s = comma ? comma + 1 : NULL;
    }
    memset(c, 0, sizeof *c);
    c->users = users;
    c->seq = seq0;
    c->deadline_ms = 2000;
    msgpack_sbuffer_init(&c->sb);
    /* The loop's epoll descriptor naps instead of spinning through the last millisecond
     * before a timer (services/core/loopnap.h): a spinning client would hold a core that the
     * router, redis-server and the I/O threads share, and inflate the very tail it measures. */
    rw_loopnap_capture(1);
    c->root = su_root_create(NULL);
    rw_loopnap_capture(0);
    if (!c->root || !(c->cli = rw_client_new(c->root, "router", NULL)) ||
        rw_client_set_endpoints(c->cli, list, n) < 0)
        return -1;
    for (unsigned i = 0; i < warm; i++)    /* connect, warm the router's settings cache */
        send_one(c);
    drain(c);
    return 0;
}

static void client_close(client_t *c)
{
    rw_client_destroy(&c->cli);
    if (c->root) {
        rw_loopnap_release();
        su_root_destroy(c->root);
    }
    msgpack_sbuffer_destroy(&c->sb);
}

static void sleep_until(uint64_t mono_us)
{
    uint64_t now = rw_clock_mono_us();
    if (now < mono_us) {
        struct timespec ts = { (time_t) ((mono_us - now) / 1000000), (long) ((mono_us - now) % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* Closed loop with `window` requests in flight from start_us to end_us (monotonic clock,
 * shared by every process); returns the answers received inside that span. */
static uint64_t closed_loop(client_t *c, unsigned window, uint64_t start_us, uint64_t end_us)
{
    sleep_until(start_us);
    c->closed = 1;
    c->done = c->failed = 0;
    c->sent = 0;
    for (unsigned i = 0; i < window; i++)
        send_one(c);
    while (rw_clock_mono_us() < end_us)
        su_root_step(c->root, 1);
    uint64_t done = c->done;
    c->closed = 0;
    drain(c);
    return done;
}

/* `--worker ENDPOINTS USERS WINDOW START_US END_US SEQ0`: one client process of the
 * capacity phase; prints "answers failed". */
static int worker_main(char **argv)
{
    client_t c;
    su_init();
    rw_log_init("bench", "worker", RW_LOG_ERROR);
    if (client_open(&c, argv[0], (unsigned) atoi(argv[1]), strtoull(argv[5], NULL, 10), 100) < 0)
        return 1;
    uint64_t done = closed_loop(&c, (unsigned) atoi(argv[2]), strtoull(argv[3], NULL, 10),
                                strtoull(argv[4], NULL, 10));
    printf("%llu %llu\n", (unsigned long long) done, (unsigned long long) c.failed);
    client_close(&c);
    su_deinit();
    return 0;
}

/* ---- CPU accounting ------------------------------------------------------------------ */

/* CPU seconds (user + system, every thread) a process has used, from /proc/<pid>/stat. */
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

/* Busy CPU seconds of the whole machine (every core, every process) from /proc/stat. */
static double machine_busy_seconds(void)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return 0;
    /* user nice system idle iowait irq softirq steal: all but idle and iowait are busy */
    return (double) (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double) sysconf(_SC_CLK_TCK);
}

/* The counter value of `ringway_router_decisions_total{result="ok"}` on a router's /metrics. */
static double decisions_answered(const router_t *r)
{
    static char body[65536];
    int status = 0;
    if (rw_proc_http_get(r->http_port, "/metrics", &status, body, sizeof body) < 0 || status != 200)
        return 0;
    const char *p = strstr(body, "ringway_router_decisions_total{result=\"ok\"} ");
    return p ? atof(strchr(p, ' ') + 1) : 0;
}

/* ---- Routers ------------------------------------------------------------------------- */

static int start_router(int redis_port, router_t *r, const char *name)
{
    char bin[512], e_http[64], e_bind[96], e_redis[64], e_inst[64];
    r->http_port = rw_proc_free_port();
    r->bus_port = rw_proc_free_port();
    snprintf(e_http, sizeof e_http, "RINGWAY_HTTP_PORT=%d", r->http_port);
    snprintf(e_bind, sizeof e_bind, "RINGWAY_ROUTER_BIND=tcp://127.0.0.1:%d", r->bus_port);
    snprintf(e_redis, sizeof e_redis, "RINGWAY_REDIS_PORT=%d", redis_port);
    snprintf(e_inst, sizeof e_inst, "RINGWAY_INSTANCE=%s", name);
    const char *argv[] = { rw_proc_build_path("services/router/ringway-router", bin, sizeof bin), NULL };
    const char *rt = getenv("BENCH_RT_PRIORITY"), *cap = getenv("BENCH_ROUTER_CPU_PCT");
    char e_rt[64];
    snprintf(e_rt, sizeof e_rt, "RINGWAY_PROCESS_RT_PRIORITY=%s", rt ? rt : "0");
    const char *env[] = { e_http, e_bind, e_redis, e_inst, "RINGWAY_LOG_LEVEL=warn", e_rt, NULL };
    r->pid = rw_proc_spawn(argv, env, "/dev/null");
    if (r->pid <= 0 || rw_proc_wait_http(r->http_port, "/health", 5000) < 0)
        return -1;
    if (cap && atoi(cap) > 0 && rw_cpucap_put(r->pid, name, (unsigned) atoi(cap)) < 0)
        fprintf(stderr, "bench: could not cap %s at %s %% of a core (cgroup cpu controller)\n", name, cap);
    return 0;
}

static void stop_router(const router_t *r, const char *name)
{
    rw_proc_stop(r->pid, 2000);
    if (getenv("BENCH_ROUTER_CPU_PCT"))
        rw_cpucap_remove(name);
}

/* BENCH_RT_PRIORITY: redis-server and this process (and so its client processes) too. */
static void set_rt(pid_t redis_pid)
{
    const char *rt = getenv("BENCH_RT_PRIORITY");
    struct sched_param sp = { .sched_priority = rt ? atoi(rt) : 0 };
    if (sp.sched_priority > 0 && (sched_setscheduler(redis_pid, SCHED_RR, &sp) < 0
                                  || sched_setscheduler(0, SCHED_RR, &sp) < 0))
        fprintf(stderr, "bench: real-time priority refused: %s\n", strerror(errno));
}

static void endpoints_of(const router_t *r, int n, char *out, size_t len)
{
    int at = 0;
    for (int i = 0; i < n; i++)
        at += snprintf(out + at, len - (size_t) at, "%stcp://127.0.0.1:%d", i ? "," : "", r[i].bus_port);
}

/* ---- Capacity: client processes keep `window` requests in flight ------------------------ */

static pid_t spawn_worker(const char *eps, unsigned users, unsigned window, uint64_t start_us,
                          uint64_t end_us, uint64_t seq0, int *out_fd)
{
    char a[5][32];
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    snprintf(a[0], sizeof a[0], "%u", users);
    snprintf(a[1], sizeof a[1], "%u", window);
    snprintf(a[2], sizeof a[2], "%llu", (unsigned long long) start_us);
    snprintf(a[3], sizeof a[3], "%llu", (unsigned long long) end_us);
    snprintf(a[4], sizeof a[4], "%llu", (unsigned long long) seq0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "bench_router", "--worker", eps, a[0], a[1], a[2], a[3], a[4], (char *) NULL);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

typedef struct {
    double rate;                     /* answers per second, all clients */
    double router_us;                /* summed router CPU per decision */
} capacity_t;

static void print_machine(double busy, double secs, double ours)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double pct = busy / secs * 100;
    printf("  machine: %.0f%% busy of %ld%% (this bench's processes %.0f%%)%s\n", pct, cores * 100,
           ours / secs * 100, pct >= 0.9 * (double) cores * 100
           ? " -> SATURATED: the wall rate is bounded by the machine's cores, not by the router" : "");
}

static capacity_t capacity(const router_t *r, int n, pid_t redis_pid, unsigned users, unsigned window,
                           int clients, double secs)
{
    char eps[160];
    pid_t pid[MAX_CLIENTS];
    int fd[MAX_CLIENTS];
    double rc0[2], rd0[2], cc0[MAX_CLIENTS], cc = 0, rcpu = 0, answered = 0;
    uint64_t done = 0, failed = 0, start = rw_clock_mono_us() + 1500000, end = start + (uint64_t) (secs * 1e6);
    capacity_t out = { 0, 0 };
    endpoints_of(r, n, eps, sizeof eps);
    for (int i = 0; i < clients; i++)
        pid[i] = spawn_worker(eps, users, window / (unsigned) clients, start, end, (uint64_t) i * 1000003u, &fd[i]);
    sleep_until(start);
    double m0 = machine_busy_seconds(), red0 = cpu_seconds(redis_pid);
    for (int i = 0; i < n; i++) {
        rc0[i] = cpu_seconds(r[i].pid);
        rd0[i] = decisions_answered(&r[i]);
    }
    for (int i = 0; i < clients; i++)
        cc0[i] = pid[i] > 0 ? cpu_seconds(pid[i]) : 0;
    sleep_until(end);
    double m1 = machine_busy_seconds(), red = cpu_seconds(redis_pid) - red0;
    for (int i = 0; i < clients; i++)
        cc += pid[i] > 0 ? cpu_seconds(pid[i]) - cc0[i] : 0;
    printf("%s instance%s, %d client processes, %u requests in flight:\n", n == 1 ? "one" : "two",
           n == 1 ? "" : "s", clients, window);
    for (int i = 0; i < n; i++) {
        double cpu = cpu_seconds(r[i].pid) - rc0[i], d = decisions_answered(&r[i]) - rd0[i];
        rcpu += cpu;
        answered += d;
        printf("  router %d: %.0f decisions/s, %.1f us CPU per decision (%.0f%% of a core)\n", i + 1,
               d / secs, d > 0 ? cpu * 1e6 / d : 0, cpu / secs * 100);
    }
    for (int i = 0; i < clients; i++) {
        char line[128] = "";
        FILE *f = pid[i] > 0 ? fdopen(fd[i], "r") : NULL;
        unsigned long long a = 0, b = 0;
        if (f && fgets(line, sizeof line, f) && sscanf(line, "%llu %llu", &a, &b) == 2) {
            done += a;
            failed += b;
        }
        if (f)
            fclose(f);
        if (pid[i] > 0)
            waitpid(pid[i], NULL, 0);
    }
    out.rate = (double) done / secs;
    out.router_us = answered > 0 ? rcpu * 1e6 / answered : 0;
    printf("  wall: %.0f decisions/s (failed %llu)\n", out.rate, (unsigned long long) failed);
    printf("  CPU per decision: routers %.1f us (capacity on a core of their own: %.0f/s), "
           "redis-server %.1f us (%.0f/s), clients %.1f us\n", out.router_us,
           out.router_us > 0 ? 1e6 / out.router_us * n : 0, done ? red * 1e6 / (double) done : 0,
           red > 0 ? (double) done / red : 0, done ? cc * 1e6 / (double) done : 0);
    print_machine(m1 - m0, secs, rcpu + red + cc);
    return out;
}

/* ---- Latency at a paced rate ------------------------------------------------------------ */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *) x, c = *(const uint64_t *) y;
    return a < c ? -1 : a > c;
}

/* BENCH_LAT_TRACE=PREFIX: every paced request's send time (CLOCK_MONOTONIC, us) and latency
 * (us) into PREFIX.<instances>, in the order the answers came: when the slow ones happen, to
 * set beside a scheduler trace taken on the same clock (perf record -k CLOCK_MONOTONIC). */
static void trace_latencies(const client_t *c, int n)
{
    char path[512];
    const char *prefix = getenv("BENCH_LAT_TRACE");
    if (!prefix || !c->lat_at)
        return;
    snprintf(path, sizeof path, "%s.%d", prefix, n);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return;
    }
    for (size_t i = 0; i < c->n_lat; i++)
        fprintf(f, "%llu %llu\n", (unsigned long long) c->lat_at[i], (unsigned long long) c->lat[i]);
    fclose(f);
}

static void paced(client_t *c, const router_t *r, int n, unsigned rate, double secs)
{
    uint64_t total = (uint64_t) (rate * secs), t0 = rw_clock_mono_us();
    double cpu0 = 0, cpu = 0;
    for (int i = 0; i < n; i++)
        cpu0 += cpu_seconds(r[i].pid);
    c->max_lat = total;
    c->lat = calloc(total, sizeof *c->lat);
    c->lat_at = getenv("BENCH_LAT_TRACE") ? calloc(total, sizeof *c->lat_at) : NULL;
    c->n_lat = 0;
    c->done = c->sent = c->failed = 0;
    fprintf(stderr, "bench: paced phase starts (%u/s for %.0f s)\n", rate, secs);  /* for tracers */
    while (c->lat && c->sent < total) {
        uint64_t now = rw_clock_mono_us(), due = (now - t0) * rate / 1000000;
        while (c->sent < due && c->sent < total)
            send_one(c);
        /* Sleep until a reply or the next request's time. Sofia sleeps whole milliseconds: a
         * request due sooner is waited for with a zero timeout, which the captured loop turns
         * into a nap of at most RW_LOOPNAP_US that any reply ends (no spin, and no burst of
         * requests sent late together after a 1 ms sleep). */
        uint64_t next = t0 + (c->sent + 1) * 1000000 / rate;
        su_root_step(c->root, next > now + 1000 ? (su_duration_t) ((next - now) / 1000) : 0);
    }
    drain(c);
    for (int i = 0; i < n; i++)
        cpu += cpu_seconds(r[i].pid);
    trace_latencies(c, n);
    qsort(c->lat, c->n_lat, sizeof *c->lat, cmp_u64);
    if (c->n_lat)
        printf("paced %u/s for %.0f s, %s instance%s: n=%zu failed=%llu p50=%.3f ms p99=%.3f ms "
               "max=%.3f ms; router CPU %.1f us per decision\n", rate, secs, n == 1 ? "one" : "two",
               n == 1 ? "" : "s", c->n_lat, (unsigned long long) c->failed, c->lat[c->n_lat / 2] / 1000.0,
               c->lat[c->n_lat * 99 / 100] / 1000.0, c->lat[c->n_lat - 1] / 1000.0,
               (cpu - cpu0) * 1e6 / (double) c->n_lat);
    free(c->lat);
    free(c->lat_at);
    c->lat = c->lat_at = NULL;
}

/* One decision for every user, so the router has seen each of them (a running router has). */
static void warm(const router_t *r, unsigned users)
{
    char eps[64];
    client_t c;
    endpoints_of(r, 1, eps, sizeof eps);
    if (client_open(&c, eps, users, 0, 0) == 0) {
        c.limit = users;
        c.closed = 1;
        for (unsigned i = 0; i < 64 && c.sent < users; i++)
            send_one(&c);
        drain(&c);
    }
    client_close(&c);
}

/* ---- Instructions per decision under callgrind ------------------------------------------- */

/* Runs a router under callgrind for exactly `decisions` decisions; its total instructions. */
static double callgrind_run(int redis_port, unsigned users, uint64_t decisions, const char *dir)
{
    char path[512], line[256], eps[64];
    router_t r;
    client_t c;
    double total = -1;
    if (start_router(redis_port, &r, "bench-cg") < 0)
        return -1;
    endpoints_of(&r, 1, eps, sizeof eps);
    if (decisions && client_open(&c, eps, users, 0, 0) == 0) {
        c.deadline_ms = 600000;      /* one instance, slowed down: never retry */
        c.limit = decisions;
        c.closed = 1;
        for (unsigned i = 0; i < 16 && c.sent < decisions; i++)
            send_one(&c);
        drain(&c);
        client_close(&c);
    }
    rw_proc_stop(r.pid, 5000);
    snprintf(path, sizeof path, "%s/cg.%d", dir, (int) r.pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8))
            total = atof(strchr(line, ':') + 1);
    if (f)
        fclose(f);
    if (getenv("BENCH_KEEP_WORK"))   /* for callgrind_annotate */
        printf("kept %s (%llu decisions)\n", path, (unsigned long long) decisions);
    else
        unlink(path);
    return total;
}

static int callgrind_main(int redis_port, unsigned users)
{
    char dir[256], wrap[400];
    snprintf(dir, sizeof dir, "%s/rw-bench-cg-XXXXXX", P_tmpdir);
    if (!mkdtemp(dir))
        return 1;
    snprintf(wrap, sizeof wrap, "valgrind --tool=callgrind --callgrind-out-file=%s/cg.%%p", dir);
    setenv("RINGWAY_WRAP", wrap, 1);
    su_init();
    double i0 = callgrind_run(redis_port, users, 0, dir);
    double i1 = callgrind_run(redis_port, users, users, dir);
    double i2 = callgrind_run(redis_port, users, 2ull * users, dir);
    su_deinit();
    if (!getenv("BENCH_KEEP_WORK"))
        rmdir(dir);
    if (i0 < 0 || i1 < 0 || i2 < 0)
        return fprintf(stderr, "bench: callgrind run failed (is valgrind installed?)\n"), 1;
    printf("router instructions per decision (callgrind, %u users, half with rules): "
           "first sight of each user %.0f, steady state %.0f (start-up and shutdown %.0f)\n",
           users, (i1 - i0) / users, (i2 - i1) / users, i0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && !strcmp(argv[1], "--worker"))
        return worker_main(argv + 2);
    int cg = argc > 1 && !strcmp(argv[1], "--callgrind");
    char **a = argv + cg;
    int na = argc - cg;
    unsigned users = na > 1 ? (unsigned) atoi(a[1]) : 10000, rate = na > 2 ? (unsigned) atoi(a[2]) : 5000;
    double secs = na > 3 ? atof(a[3]) : 3;
    unsigned window = na > 4 ? (unsigned) atoi(a[4]) : 256;
    int clients = na > 5 ? atoi(a[5]) : 2;
    rw_redis_fixture_t redis;
    router_t r[2];
    char bdir[512], eps[160];
    if (users == 0 || rate == 0 || secs <= 0 || window == 0 || clients < 1 || clients > MAX_CLIENTS)
        return fprintf(stderr, "usage: bench_router [users] [rate] [seconds] [window] [clients 1-8]\n"), 2;
    ssize_t n = readlink("/proc/self/exe", bdir, sizeof bdir - 1);
    char *slash = n > 0 ? (bdir[n] = '\0', strrchr(bdir, '/')) : NULL;
    if (slash)
        *slash = '\0';                /* <build>/bench/bench_router -> <build>/bench */
    if (slash && (slash = strrchr(bdir, '/')))
        *slash = '\0';
    if (!getenv("RINGWAY_BUILD_DIR") && slash)
        setenv("RINGWAY_BUILD_DIR", bdir, 1);   /* the build this bench belongs to */
    signal(SIGPIPE, SIG_IGN);
    rw_log_init("bench", "b1", RW_LOG_ERROR);
    if (rw_redis_fixture_start(&redis) < 0 || load_users(redis.port, users) < 0)
        return fprintf(stderr, "bench: redis setup failed\n"), 1;
    if (cg) {
        int rc = callgrind_main(redis.port, users);
        rw_redis_fixture_stop(&redis);
        return rc;
    }
    if (start_router(redis.port, &r[0], "bench-r1") < 0)
        return fprintf(stderr, "bench: router did not start (is it built?)\n"), 1;
    set_rt(redis.pid);
    printf("users=%u in redis (half with a rule profile), %ld cores; each router capped at %s %% of a core; "
           "real-time priority %s\n", users, sysconf(_SC_NPROCESSORS_ONLN),
           getenv("BENCH_ROUTER_CPU_PCT") ? getenv("BENCH_ROUTER_CPU_PCT") : "no cap (100)",
           getenv("BENCH_RT_PRIORITY") ? getenv("BENCH_RT_PRIORITY") : "none");
    su_init();
    client_t c;
    warm(&r[0], users);
    /* BENCH_PACED_ONLY=1: latency only (the paced phases), for comparing builds quickly. */
    int paced_only = getenv("BENCH_PACED_ONLY") && atoi(getenv("BENCH_PACED_ONLY")) > 0;
    capacity_t one = { 0, 0 };
    if (!paced_only)
        one = capacity(r, 1, redis.pid, users, window, clients, secs);
    endpoints_of(r, 1, eps, sizeof eps);
    int capped = getenv("BENCH_ROUTER_CPU_PCT") != NULL;
    if (capped)
        printf("paced: not measured while the routers are capped\n");
    else if (client_open(&c, eps, users, 7777777u, 200) == 0)
        paced(&c, r, 1, rate, secs);
    if (!capped)
        client_close(&c);
    if (start_router(redis.port, &r[1], "bench-r2") == 0) {
        warm(&r[1], users);
        if (!paced_only) {
            capacity_t two = capacity(r, 2, redis.pid, users, window, clients, secs);
            printf("two instances / one: wall %.2fx; router CPU per decision %.1f us vs %.1f us "
                   "(CPU-derived capacity %.2fx)\n", one.rate > 0 ? two.rate / one.rate : 0, two.router_us,
                   one.router_us, two.router_us > 0 ? 2 * one.router_us / two.router_us : 0);
        }
        endpoints_of(r, 2, eps, sizeof eps);
        if (!capped && client_open(&c, eps, users, 8888888u, 200) == 0)
            paced(&c, r, 2, rate, secs);
        if (!capped)
            client_close(&c);
        stop_router(&r[1], "bench-r2");
    }
    su_deinit();
    stop_router(&r[0], "bench-r1");
    rw_redis_fixture_stop(&redis);
    return 0;
}
