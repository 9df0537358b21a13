/* bench/huntgroup_bench.c — hunt group decisions over the bus against a real redis-server,
 * answered by spawned ringway-huntgroup processes: one instance, then two. A client keeps
 * `window` callers in flight: each asks `next` (a new call, offered an agent at once: the group
 * has `agents` members logged in, rrmemory), then reports `caller_gone`, which frees the agent,
 * then the next caller starts. Prints decisions per second (script runs: next + outcome), the
 * latency p50/p99 of `next`, and CPU per decision of each huntgroup process and of redis-server
 * (the decisions are serialised in Redis, which runs every script: it bounds the rate).
 * Usage: bench/bench_huntgroup [seconds=3] [window=16] [agents=20]
 * BENCH_HG_CPU_PCT=P caps each huntgroup at P % of one core (cgroup quota, bench/cpucap.h), so
 * one instance against two measures the instances and not a machine too small for both. */
#include <sofia-sip/su_wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/cpucap.h"
#include "bus/bus.h"
#include "common/clock.h"
#include "directory/dir_groups.h"
#include "directory/directory.h"
#include "common/log.h"
#include "protocols/huntgroup.h"
#include "tests/harness/proc.h"
#include "tests/harness/redis_fixture.h"

typedef struct {
    pid_t pid;
    int bus_port, http_port;
    char name[16];
} hg_t;

typedef struct {
    su_root_t *root;
    rw_client_t *cli;
    uint64_t seq, decisions, failed, offers;
    uint64_t *lat;
    size_t n_lat, max_lat;
    int running;
    msgpack_sbuffer sb;
} bench_t;

typedef struct {
    bench_t *b;
    uint64_t t0;
    char call[32];
    int outcome;
} pending_t;

static void on_reply(void *arg, int status, const void *body, size_t len);

static int send_req(bench_t *b, pending_t *p)
{
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = p->outcome ? RW_HGOP_OUTCOME : RW_HGOP_NEXT;
    snprintf(q.call_id, sizeof q.call_id, "%s", p->call);
    snprintf(q.group, sizeof q.group, "bench");
    snprintf(q.caller, sizeof q.caller, "+441632960500");
    q.result = p->outcome ? RW_HGR_CALLER_GONE : RW_HGR_NONE;
    b->sb.size = 0;
    p->t0 = rw_clock_mono_us();
    if (rw_proto_hg_req_encode(&q, &b->sb) < 0)
        return -1;
    return rw_client_request(b->cli, b->sb.data, b->sb.size, 2000, on_reply, p);
}

static void start_call(bench_t *b, pending_t *p)
{
    snprintf(p->call, sizeof p->call, "bench-%llu", (unsigned long long) b->seq++);
    p->outcome = 0;
    if (send_req(b, p) < 0)
        free(p);
}

static void on_reply(void *arg, int status, const void *body, size_t len)
{
    static rw_hg_reply_t rep;
    pending_t *p = arg;
    bench_t *b = p->b;
    b->decisions++;
    if (status || rw_proto_hg_reply_decode(body, len, &rep) < 0 || rep.status == RW_HGS_ERROR)
        b->failed++;
    if (!p->outcome) {
        if (b->lat && b->n_lat < b->max_lat)
            b->lat[b->n_lat++] = rw_clock_mono_us() - p->t0;
        b->offers += !status && rep.status == RW_HGS_OFFER;
        p->outcome = 1;                  /* the caller hangs up: the agent is free again */
        if (send_req(b, p) < 0)
            free(p);
        return;
    }
    if (b->running)
        start_call(b, p);
    else
        free(p);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

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
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

static int start_hg(int redis_port, hg_t *h, int i)
{
    char bin[512], e_http[64], e_bind[96], e_redis[64], e_inst[64];
    snprintf(h->name, sizeof h->name, "bench-hg-%d", i);
    h->http_port = rw_proc_free_port();
    h->bus_port = rw_proc_free_port();
    snprintf(e_http, sizeof e_http, "RINGWAY_HTTP_PORT=%d", h->http_port);
    snprintf(e_bind, sizeof e_bind, "RINGWAY_HUNTGROUP_BIND=tcp://127.0.0.1:%d", h->bus_port);
    snprintf(e_redis, sizeof e_redis, "RINGWAY_REDIS_PORT=%d", redis_port);
    snprintf(e_inst, sizeof e_inst, "RINGWAY_INSTANCE=%s", h->name);
    const char *argv[] = { rw_proc_build_path("services/huntgroup/ringway-huntgroup", bin, sizeof bin), NULL };
    const char *env[] = { e_http, e_bind, e_redis, e_inst, "RINGWAY_LOG_LEVEL=warn", "RINGWAY_HUNTGROUP_CALL_EVENTS=",
                          NULL };
    h->pid = rw_proc_spawn(argv, env, "/dev/null");
    if (h->pid <= 0 || rw_proc_wait_http(h->http_port, "/health", 5000) < 0)
        return -1;
    const char *cap = getenv("BENCH_HG_CPU_PCT");
    if (cap && atoi(cap) > 0 && rw_cpucap_put(h->pid, h->name, (unsigned) atoi(cap)) < 0)
        fprintf(stderr, "bench: could not cap %s at %s %% of a core (cgroup cpu controller)\n", h->name, cap);
    return 0;
}

static int load_group(int port, unsigned agents)
{
    static rw_group_t g;
    char err[300];
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = port, .command_timeout_ms = 5000 };
    rw_redis_t *r = rw_redis_new(&o);
    int rc = r ? 0 : -1;
    rw_group_defaults(&g, "bench");
    snprintf(g.ext, sizeof g.ext, "3000");
    g.join_empty = true;
    g.autopause = 0;
    for (unsigned i = 0; rc == 0 && i < agents && i < RW_GROUP_MAX_MEMBERS; i++) {
        rw_dir_user_t u;
        memset(&u, 0, sizeof u);
        snprintf(u.id, sizeof u.id, "agent%u", i);
        snprintf(u.ext, sizeof u.ext, "%u", 2000 + i);
        snprintf(u.realm, sizeof u.realm, "ringway.local");
        rc = rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err);
        rw_group_member_defaults(&g.members[g.n_members++], u.id);
    }
    if (rc == 0)
        rc = rw_dir_group_put(r, &rw_numplan_uk, &g, err, sizeof err);
    for (unsigned i = 0; rc == 0 && i < g.n_members; i++)
        rc = rw_dir_agent_op(r, "login", g.members[i].user, "", "", rw_clock_wall_ms(), NULL, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "bench: directory: %s\n", err);
    rw_redis_destroy(&r);
    return rc;
}

static void run(int n, hg_t *hg, pid_t redis_pid, unsigned seconds, unsigned window)
{
    bench_t b;
    char eps[2][64];
    const char *list[2];
    memset(&b, 0, sizeof b);
    msgpack_sbuffer_init(&b.sb);
    for (int i = 0; i < n; i++) {
        snprintf(eps[i], sizeof eps[i], "tcp://127.0.0.1:%d", hg[i].bus_port);
        list[i] = eps[i];
    }
    b.root = su_root_create(NULL);
    b.cli = rw_client_new(b.root, "huntgroup", NULL);
    rw_client_set_endpoints(b.cli, list, (size_t) n);
    for (int i = 0; i < 50; i++)
        su_root_step(b.root, 10);
    b.max_lat = 2000000;
    b.lat = malloc(b.max_lat * sizeof *b.lat);
    double cpu0[2], rcpu0 = cpu_seconds(redis_pid);
    for (int i = 0; i < n; i++)
        cpu0[i] = cpu_seconds(hg[i].pid);
    uint64_t t0 = rw_clock_mono_us(), end = t0 + seconds * 1000000ull;
    b.running = 1;
    for (unsigned i = 0; i < window; i++) {
        pending_t *p = calloc(1, sizeof *p);
        p->b = &b;
        start_call(&b, p);
    }
    while (rw_clock_mono_us() < end)
        su_root_step(b.root, 1);
    double secs = (double) (rw_clock_mono_us() - t0) / 1e6;
    uint64_t done = b.decisions;
    b.running = 0;
    for (int i = 0; i < 2000 && rw_client_endpoint_count(b.cli) && b.decisions < done + 2 * window; i++)
        su_root_step(b.root, 5);
    qsort(b.lat, b.n_lat, sizeof *b.lat, cmp_u64);
    printf("%d instance%s: %.0f decisions/s (%llu in %.1f s, %llu failed, %llu offers), next p50 %.2f ms p99 %.2f ms\n",
           n, n > 1 ? "s" : "", (double) done / secs, (unsigned long long) done, secs,
           (unsigned long long) b.failed, (unsigned long long) b.offers,
           b.n_lat ? (double) b.lat[b.n_lat / 2] / 1000.0 : 0, b.n_lat ? (double) b.lat[b.n_lat * 99 / 100] / 1000.0 : 0);
    for (int i = 0; i < n; i++)
        printf("  %s: %.1f us CPU per decision\n", hg[i].name,
               1e6 * (cpu_seconds(hg[i].pid) - cpu0[i]) / (double) (done ? done : 1));
    printf("  redis-server: %.1f us CPU per decision\n", 1e6 * (cpu_seconds(redis_pid) - rcpu0) / (double) (done ? done : 1));
    free(b.lat);
    rw_client_destroy(&b.cli);
    su_root_destroy(b.root);
    msgpack_sbuffer_destroy(&b.sb);
}

int main(int argc, char **argv)
{
    unsigned seconds = argc > 1 ? (unsigned) atoi(argv[1]) : 3, window = argc > 2 ? (unsigned) atoi(argv[2]) : 16,
             agents = argc > 3 ? (unsigned) atoi(argv[3]) : 20;
    rw_redis_fixture_t redis;
    hg_t hg[2];
    rw_log_init("bench", "huntgroup", RW_LOG_ERROR);
    su_init();
    if (!seconds || !window || !agents || window > 1000 || agents > RW_GROUP_MAX_MEMBERS)
        return fprintf(stderr, "usage: bench_huntgroup [seconds=3] [window=16] [agents=20 (at most %d)]\n",
                       RW_GROUP_MAX_MEMBERS), 2;
    if (rw_redis_fixture_start(&redis) < 0 || load_group(redis.port, agents) < 0)
        return fprintf(stderr, "bench: no redis-server\n"), 1;
    printf("hunt group of %u agents (rrmemory), %u callers in flight, %u s per run\n", agents, window, seconds);
    for (int n = 1; n <= 2; n++) {
        int ok = 1;
        for (int i = 0; i < n && ok; i++)
            ok = start_hg(redis.port, &hg[i], i) == 0;
        if (ok)
            run(n, hg, redis.pid, seconds, window);
        else
            fprintf(stderr, "bench: a huntgroup did not start\n");
        for (int i = 0; i < n; i++) {
            rw_proc_stop(hg[i].pid, 2000);
            if (getenv("BENCH_HG_CPU_PCT"))
                rw_cpucap_remove(hg[i].name);
        }
    }
    rw_redis_fixture_stop(&redis);
    su_deinit();
    return 0;
}
