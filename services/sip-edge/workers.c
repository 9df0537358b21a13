/* services/sip-edge/workers.c — the supervisor of sip-edge's worker processes (workers.h).
 * Workers are started with fork() + execve() of this same executable, so each one starts from
 * a clean process (no inherited loop, sockets or threads) and a restart is the same path as
 * the first start. The supervisor's own loop is an su_root with a signalfd for SIGTERM, SIGINT
 * and SIGCHLD (blocked before anything else exists) and the usual HTTP server; no Redis.
 * Workers outlive their supervisor: the run file (one per SIP port, locked while a supervisor
 * lives) names their pids and relay ports, and the next supervisor adopts the ones still
 * running, watching them through a pidfd since they are not its children. */
#include "services/sip-edge/workers.h"
#include "services/sip-edge/workers_run.h"

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000           /* a worker that lived this long restarts without delay growth */
#define STOP_GRACE_MS 10000       /* SIGTERM, then SIGKILL after this */

extern char **environ;

typedef struct sup sup_t;

typedef struct {
    sup_t *sup;
    unsigned index;
    pid_t pid;                    /* 0 while not running */
    unsigned long long start;     /* its start time in /proc (clock ticks since boot) */
    int pidfd, pidfd_index;       /* an adopted worker: watched through this, not SIGCHLD */
    su_wait_t pidfd_wait;
    uint64_t started_ms;
    unsigned backoff_ms;
    unsigned restarts;
    long http_port;
    su_timer_t *restart;
    char *argv[64 + 3];
    char index_arg[16];
    char env[3][256];
    char **envp;
} worker_t;

struct sup {
    su_root_t *root;
    int sig_fd, sig_index;
    su_wait_t sig_wait;
    sigset_t orig_mask;
    rw_run_file_t *run;           /* locked while this supervisor lives (workers_run.h) */
    char exe[4096];               /* this executable, so workers show its name in ps */
    rw_metrics_t *metrics;
    rw_http_t *http;
    rw_gauge_t *g_alive;
    rw_counter_t *c_restarts, *c_exits, *c_adopted;
    su_timer_t *kill_timer;
    worker_t *w;
    unsigned n, alive;
    int stopping, exit_code;
    char relay_env[RW_WORKERS_MAX * 6 + 32];   /* RINGWAY_SIP_RELAY_PORTS=p0,p1,... */
};

unsigned rw_workers_count(long configured)
{
    long n = configured;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > RW_WORKERS_MAX ? RW_WORKERS_MAX : (unsigned) n;
}

int rw_workers_index(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--worker") != 0)
            continue;
        char *end;
        long v = strtol(argv[i + 1], &end, 10);
        return *end || end == argv[i + 1] || v < 0 || v >= RW_WORKERS_MAX ? -1 : (int) v;
    }
    return -1;
}

int rw_workers_endpoint(const char *endpoint, unsigned offset, char *out, size_t len)
{
    const char *colon = strrchr(endpoint, ':');
    int n;
    if (!endpoint[0] || (colon && (!strcmp(colon, ":0") || !strcmp(colon, ":*")))) {
        n = snprintf(out, len, "%s", endpoint);
        return n < 0 || (size_t) n >= len ? RW_ERANGE : 0;
    }
    if (!colon || colon[1] == '\0' || colon[1] == '/')
        return RW_EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port + (long) offset > 65535)
        return RW_EINVAL;
    n = snprintf(out, len, "%.*s:%ld", (int) (colon - endpoint), endpoint, port + (long) offset);
    return n < 0 || (size_t) n >= len ? RW_ERANGE : 0;
}

int rw_workers_env(const rw_config_t *cfg, const char *instance, unsigned index, char out[3][256])
{
    char pub[200];
    long http = rw_config_int(cfg, "http.port");
    if (http && http + 1 + (long) index > 65535)
        return RW_EINVAL;
    if (rw_workers_endpoint(rw_config_str(cfg, "bus.pub"), 1 + index, pub, sizeof pub) != 0)
        return RW_EINVAL;
    int a = snprintf(out[0], 256, "RINGWAY_INSTANCE=%s-w%u", instance, index);
    snprintf(out[1], 256, "RINGWAY_HTTP_PORT=%ld", http ? http + 1 + (long) index : 0L);
    int c = snprintf(out[2], 256, "RINGWAY_BUS_PUB=%s", pub);
    return a < 0 || a >= 256 || c < 0 || c >= 256 ? RW_ERANGE : 0;
}

int rw_workers_parse_ports(const char *list, unsigned short *ports, int max)
{
    int n = 0;
    for (const char *p = list ? list : ""; *p && n < max; n++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 65535 || (*end && *end != ','))
            return RW_EINVAL;
        ports[n] = (unsigned short) v;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* n free UDP ports on 127.0.0.1, held together while chosen so they differ. */
static int free_ports(unsigned n, unsigned short *ports)
{
    int fds[RW_WORKERS_MAX], rc = 0;
    unsigned i;
    for (i = 0; i < n && rc == 0; i++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *) &a, sizeof a) != 0
            || getsockname(fds[i], (struct sockaddr *) &a, &len) != 0)
            rc = RW_EIO;
        ports[i] = ntohs(a.sin_port);
    }
    while (i-- > 0)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

int rw_workers_relay_env(const rw_config_t *cfg, unsigned n, char *out, size_t len)
{
    unsigned short ports[RW_WORKERS_MAX];
    long base = rw_config_int(cfg, "sip.relay_port");
    if (n < 1 || n > RW_WORKERS_MAX || (base && base + (long) n - 1 > 65535))
        return RW_EINVAL;
    for (unsigned i = 0; base && i < n; i++)
        ports[i] = (unsigned short) (base + (long) i);
    if (!base && free_ports(n, ports) != 0)
        return RW_EIO;
    size_t k = (size_t) snprintf(out, len, "RINGWAY_SIP_RELAY_PORTS=");
    for (unsigned i = 0; i < n && k < len; i++)
        k += (size_t) snprintf(out + k, len - k, "%s%u", i ? "," : "", ports[i]);
    return k < len ? 0 : RW_ERANGE;
}

/* ---- The run file ------------------------------------------------------------------------ */

static const char *run_dir(const rw_config_t *cfg)
{
    const char *dir = rw_config_str(cfg, "sip.run_dir");
    if (!dir[0])
        dir = getenv("XDG_RUNTIME_DIR");
    return dir && dir[0] ? dir : "/tmp";
}

/* The relay ports and every running worker, for the next supervisor. */
static void run_file_write(sup_t *s)
{
    rw_worker_rec_t recs[RW_WORKERS_MAX];
    for (unsigned i = 0; i < s->n; i++)
        recs[i] = (rw_worker_rec_t) { s->w[i].pid, s->w[i].start };
    if (s->run)
        rw_run_file_write(s->run, strchr(s->relay_env, '=') + 1, recs, s->n);
}

/* ---- Starting, watching and reaping ---------------------------------------------------------- */

static void running(sup_t *s, worker_t *w, pid_t pid, unsigned long long start)
{
    w->pid = pid;
    w->start = start;
    w->started_ms = rw_clock_mono_ms();
    s->alive++;
    rw_gauge_set(s->g_alive, s->alive);
}

static int spawn(worker_t *w)
{
    sup_t *s = w->sup;
    pid_t pid = fork();
    if (pid < 0) {
        rw_log_error("worker_fork_failed", RW_U("worker", w->index), RW_S("error", strerror(errno)));
        return RW_EIO;
    }
    if (pid == 0) {               /* only async-signal-safe calls until execve */
        sigprocmask(SIG_SETMASK, &s->orig_mask, NULL);
        execve(s->exe, w->argv, w->envp);
        _exit(127);
    }
    running(s, w, pid, rw_run_file_proc_start(pid));
    run_file_write(s);
    rw_log_info("worker_started", RW_U("worker", w->index), RW_I("pid", pid),
                RW_I("http_port", w->http_port));
    return 0;
}

static void worker_exited(sup_t *s, worker_t *w, int code, int sig);

static void unwatch(sup_t *s, worker_t *w)
{
    if (w->pidfd < 0)
        return;
    if (w->pidfd_index > 0)
        su_root_deregister(s->root, w->pidfd_index);
    close(w->pidfd);
    w->pidfd = -1;
    w->pidfd_index = 0;
}

/* An adopted worker ended: its pidfd is readable. Its exit status went to its new parent. */
static int on_pidfd(su_root_magic_t *m, su_wait_t *wt, su_wakeup_arg_t *arg)
{
    worker_t *w = (worker_t *) arg;
    (void) m;
    (void) wt;
    worker_exited(w->sup, w, -1, -1);
    unwatch(w->sup, w);
    return 0;
}

/* Takes over worker I of a previous supervisor, if that process still runs (same pid and start
 * time, not a zombie). The pidfd is opened before the start time is checked again, so a pid
 * reused in between is never watched. */
static int adopt_one(sup_t *s, worker_t *w, const rw_worker_rec_t *rec)
{
    if (rw_run_file_proc_start(rec->pid) != rec->start)
        return RW_ENOTFOUND;
    int fd = (int) syscall(SYS_pidfd_open, rec->pid, 0);
    if (fd < 0)
        return RW_EIO;
    if (rw_run_file_proc_start(rec->pid) != rec->start) {
        close(fd);
        return RW_ENOTFOUND;
    }
    su_wait_create(&w->pidfd_wait, fd, SU_WAIT_IN);
    w->pidfd_index = su_root_register(s->root, &w->pidfd_wait, on_pidfd, w, 0);
    if (w->pidfd_index <= 0) {
        w->pidfd_index = 0;
        close(fd);
        return RW_EIO;
    }
    w->pidfd = fd;
    running(s, w, rec->pid, rec->start);
    rw_counter_inc(s->c_adopted);
    rw_log_info("worker_adopted", RW_U("worker", w->index), RW_I("pid", rec->pid),
                RW_I("http_port", w->http_port));
    return 0;
}

/* The workers a previous supervisor left running: adopted when the worker count is the same
 * (they keep their relay ports, which every new worker then gets too), else stopped. */
static void adopt(sup_t *s)
{
    char relay[sizeof s->relay_env - sizeof "RINGWAY_SIP_RELAY_PORTS="];
    rw_worker_rec_t recs[RW_WORKERS_MAX];
    unsigned short ports[RW_WORKERS_MAX];
    if (rw_run_file_read(s->run, relay, sizeof relay, recs, RW_WORKERS_MAX) <= 0)
        return;
    int same = rw_workers_parse_ports(relay, ports, RW_WORKERS_MAX) == (int) s->n;
    for (unsigned i = 0; i < RW_WORKERS_MAX; i++) {
        if (!recs[i].pid || rw_run_file_proc_start(recs[i].pid) != recs[i].start)
            continue;
        if (same && i < s->n && adopt_one(s, &s->w[i], &recs[i]) == 0)
            continue;
        rw_log_warn("worker_stray_stopped", RW_U("worker", i), RW_I("pid", recs[i].pid),
                    RW_S("reason", same ? "cannot watch it" : "the worker count changed"));
        kill(recs[i].pid, SIGTERM);
    }
    if (s->alive)
        snprintf(s->relay_env, sizeof s->relay_env, "RINGWAY_SIP_RELAY_PORTS=%s", relay);
}

static void on_restart(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    worker_t *w = (worker_t *) arg;
    (void) m;
    (void) t;
    if (w->sup->stopping || w->pid)
        return;
    w->restarts++;
    rw_counter_inc(w->sup->c_restarts);
    if (spawn(w) != 0)
        su_timer_set_interval(w->restart, on_restart, w, BACKOFF_MAX_MS);
}

/* code and sig are -1 for an adopted worker (its status is its new parent's). */
static void worker_exited(sup_t *s, worker_t *w, int code, int sig)
{
    uint64_t lived = rw_clock_mono_ms() - w->started_ms;
    int adopted = w->pidfd >= 0;
    w->pid = 0;
    w->start = 0;
    s->alive--;
    rw_gauge_set(s->g_alive, s->alive);
    rw_counter_inc(s->c_exits);
    if (s->stopping) {
        rw_log_info("worker_stopped", RW_U("worker", w->index), RW_I("exit_code", code),
                    RW_I("signal", sig), RW_I("adopted", adopted));
        if (code != 0 && !adopted)
            s->exit_code = 1;
        if (s->alive == 0)
            su_root_break(s->root);
        return;
    }
    run_file_write(s);
    rw_log_error("worker_died", RW_U("worker", w->index), RW_I("exit_code", code),
                 RW_I("signal", sig), RW_U("lived_ms", lived), RW_I("adopted", adopted));
    if (lived >= STABLE_MS)
        w->backoff_ms = BACKOFF_MIN_MS;
    unsigned delay = w->backoff_ms;
    w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
    rw_log_info("worker_restart_scheduled", RW_U("worker", w->index), RW_U("delay_ms", delay));
    su_timer_set_interval(w->restart, on_restart, w, delay);
}

static void reap(sup_t *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < s->n; i++)
            if (s->w[i].pid == pid && s->w[i].pidfd < 0)
                worker_exited(s, &s->w[i], WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    if (s->stopping && s->alive == 0)
        su_root_break(s->root);
}

/* ---- Stopping ------------------------------------------------------------------------------ */

static void signal_worker(worker_t *w, int sig)
{
    if (w->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0);
    else if (w->pid)
        kill(w->pid, sig);
}

static void on_kill_timer(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    sup_t *s = (sup_t *) arg;
    (void) m;
    (void) t;
    for (unsigned i = 0; i < s->n; i++)
        if (s->w[i].pid) {
            rw_log_warn("worker_killed", RW_U("worker", i), RW_I("pid", s->w[i].pid));
            signal_worker(&s->w[i], SIGKILL);
        }
    s->exit_code = 1;
}

static void begin_stop(sup_t *s, int exit_code)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->exit_code = exit_code;
    for (unsigned i = 0; i < s->n; i++) {
        su_timer_reset(s->w[i].restart);
        if (s->w[i].pid)
            signal_worker(&s->w[i], SIGTERM);
    }
    su_timer_set_interval(s->kill_timer, on_kill_timer, s, STOP_GRACE_MS);
    if (s->alive == 0)
        su_root_break(s->root);
}

static int on_signal(su_root_magic_t *m, su_wait_t *wt, su_wakeup_arg_t *arg)
{
    sup_t *s = (sup_t *) arg;
    struct signalfd_siginfo si;
    (void) m;
    (void) wt;
    while (read(s->sig_fd, &si, sizeof si) == (ssize_t) sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        rw_log_info("stop_requested", RW_I("signal", si.ssi_signo));
        begin_stop(s, 0);
    }
    reap(s);                      /* SIGCHLDs merge: always look for every exited child */
    return 0;
}

/* ---- /health, /workers ---------------------------------------------------------------------- */

static int health(void *arg, char *detail, size_t len)
{
    sup_t *s = arg;
    if (s->alive == s->n && !s->stopping)
        return 0;
    snprintf(detail, len, "%u of %u workers alive%s", s->alive, s->n, s->stopping ? ", stopping" : "");
    return 1;
}

static void workers_route(void *arg, const char *method, const char *path, const char *req_body,
                          size_t req_len, int *status, char **body, size_t *body_len,
                          const char **content_type)
{
    sup_t *s = arg;
    size_t cap = 128 + (size_t) s->n * 128, off = 0;
    (void) method, (void) path, (void) req_body, (void) req_len;
    char *out = malloc(cap);
    if (!out) {
        *status = 500;
        return;
    }
    off += (size_t) snprintf(out + off, cap - off, "{\"workers\":[");
    for (unsigned i = 0; i < s->n; i++) {
        const worker_t *w = &s->w[i];
        off += (size_t) snprintf(out + off, cap - off,
                                 "%s{\"index\":%u,\"pid\":%d,\"alive\":%s,\"adopted\":%s,\"http_port\":%ld,\"restarts\":%u}",
                                 i ? "," : "", i, (int) w->pid, w->pid ? "true" : "false",
                                 w->pidfd >= 0 ? "true" : "false", w->http_port, w->restarts);
    }
    off += (size_t) snprintf(out + off, cap - off, "]}\n");
    *status = 200;
    *body = out;
    *body_len = off;
    *content_type = "application/json";
}

/* ---- Setting up ------------------------------------------------------------------------------ */

static int has_name(const char *entry, const char *assignment)
{
    size_t n = (size_t) (strchr(assignment, '=') - assignment) + 1;
    return strncmp(entry, assignment, n) == 0;
}

/* argv + "--worker I", the environment with this worker's three overrides. */
static int prepare_worker(sup_t *s, unsigned index, const rw_config_t *cfg, const char *instance,
                          int argc, char **argv)
{
    static char flag[] = "--worker";
    worker_t *w = &s->w[index];
    size_t n_env = 0, k = 0;
    w->sup = s;
    w->index = index;
    w->backoff_ms = BACKOFF_MIN_MS;
    if (argc < 1 || argc > 64 || rw_workers_env(cfg, instance, index, w->env) != 0)
        return RW_EINVAL;
    w->http_port = strtol(strchr(w->env[1], '=') + 1, NULL, 10);
    memcpy(w->argv, argv, (size_t) argc * sizeof *argv);
    snprintf(w->index_arg, sizeof w->index_arg, "%u", index);
    w->argv[argc] = flag;
    w->argv[argc + 1] = w->index_arg;
    w->argv[argc + 2] = NULL;
    while (environ && environ[n_env])
        n_env++;
    if (!(w->envp = calloc(n_env + 5, sizeof *w->envp)))
        return RW_ENOMEM;
    for (size_t i = 0; i < n_env; i++)
        if (!has_name(environ[i], w->env[0]) && !has_name(environ[i], w->env[1])
            && !has_name(environ[i], w->env[2]) && !has_name(environ[i], s->relay_env))
            w->envp[k++] = environ[i];
    for (int i = 0; i < 3; i++)
        w->envp[k++] = w->env[i];
    w->envp[k++] = s->relay_env;
    w->restart = su_timer_create(su_root_task(s->root), 0);
    return w->restart ? 0 : RW_ENOMEM;
}

static int setup_loop(sup_t *s, const rw_config_t *cfg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, &s->orig_mask) != 0)
        return RW_EIO;
    if (su_init() != 0)
        return RW_EIO;
    if (!(s->root = su_root_create(NULL)))
        return RW_EIO;
    s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sig_fd < 0)
        return RW_EIO;
    su_wait_create(&s->sig_wait, s->sig_fd, SU_WAIT_IN);
    s->sig_index = su_root_register(s->root, &s->sig_wait, on_signal, s, 0);
    if (s->sig_index <= 0 || !(s->kill_timer = su_timer_create(su_root_task(s->root), 0)))
        return RW_EIO;
    if (!(s->metrics = rw_metrics_new("ringway_sip_edge")))
        return RW_ENOMEM;
    rw_gauge_set(rw_metrics_gauge(s->metrics, "workers_configured", "worker processes configured (sip.processes)"), s->n);
    s->g_alive = rw_metrics_gauge(s->metrics, "workers_alive", "worker processes running");
    s->c_restarts = rw_metrics_counter(s->metrics, "worker_restarts_total", "workers started again after they died");
    s->c_exits = rw_metrics_counter(s->metrics, "worker_exits_total", "worker processes that ended, for any reason");
    s->c_adopted = rw_metrics_counter(s->metrics, "workers_adopted_total", "running workers of a previous supervisor taken over at start");
    s->http = rw_http_new(s->root, rw_config_str(cfg, "http.addr"), (uint16_t) rw_config_int(cfg, "http.port"),
                          s->metrics, health, s);
    if (!s->http) {
        rw_log_error("http_failed", RW_S("addr", rw_config_str(cfg, "http.addr")),
                     RW_I("port", rw_config_int(cfg, "http.port")));
        return RW_EIO;
    }
    return rw_http_route(s->http, "/workers", workers_route, s);
}

static void teardown(sup_t *s)
{
    for (unsigned i = 0; s->w && i < s->n; i++) {
        unwatch(s, &s->w[i]);
        su_timer_destroy(s->w[i].restart);
        free(s->w[i].envp);
    }
    su_timer_destroy(s->kill_timer);
    rw_http_destroy(&s->http);
    if (s->root) {
        if (s->sig_index > 0)
            su_root_deregister(s->root, s->sig_index);
        su_root_destroy(s->root);
        su_deinit();
    }
    if (s->sig_fd >= 0)
        close(s->sig_fd);
    rw_run_file_destroy(&s->run, s->alive == 0 && s->stopping);   /* releases the lock */
    rw_metrics_destroy(&s->metrics);
    free(s->w);
}

int rw_workers_run(const rw_config_t *cfg, const char *instance, unsigned n, int argc, char **argv)
{
    sup_t s;
    int code = 1;
    memset(&s, 0, sizeof s);
    s.sig_fd = -1;
    s.n = n;
    ssize_t len = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
    if (len <= 0 || (size_t) len >= sizeof s.exe - 1
        || (s.exe[len] = '\0', strstr(s.exe, " (deleted)")))   /* replaced on disk: run this copy */
        snprintf(s.exe, sizeof s.exe, "/proc/self/exe");
    else
        s.exe[len] = '\0';
    if (n < 1 || n > RW_WORKERS_MAX || !(s.w = calloc(n, sizeof *s.w)))
        goto out;
    for (unsigned i = 0; i < n; i++)
        s.w[i].pidfd = -1;
    if (rw_run_file_open(run_dir(cfg), rw_config_str(cfg, "sip.addr"), rw_config_int(cfg, "sip.port"),
                         &s.run) != 0 || setup_loop(&s, cfg) != 0)
        goto out;
    if (rw_workers_relay_env(cfg, n, s.relay_env, sizeof s.relay_env) != 0) {
        rw_log_error("config_invalid", RW_S("error", "no relay ports for the workers (sip.relay_port)"));
        code = 2;
        goto out;
    }
    for (unsigned i = 0; i < n; i++)
        if (prepare_worker(&s, i, cfg, instance, argc, argv) != 0) {
            rw_log_error("config_invalid", RW_S("error", "per-worker http.port / bus.pub out of range"),
                         RW_U("worker", i));
            code = 2;
            goto out;
        }
    adopt(&s);
    rw_log_info("supervisor_started", RW_U("workers", n), RW_I("http_port", rw_http_port(s.http)),
                RW_I("sip_port", rw_config_int(cfg, "sip.port")), RW_U("adopted", s.alive),
                RW_S("relay_ports", strchr(s.relay_env, '=') + 1), RW_S("run_file", rw_run_file_path(s.run)));
    for (unsigned i = 0; i < n && !s.stopping; i++)
        if (!s.w[i].pid && spawn(&s.w[i]) != 0)
            begin_stop(&s, 1);
    run_file_write(&s);
    if (!s.stopping || s.alive > 0)
        su_root_run(s.root);
    code = s.exit_code;
    rw_log_info("supervisor_stopped", RW_I("exit_code", code));
out:
    teardown(&s);
    return code;
}
