/* services/core/service.c — the Ringway service skeleton (see service.h).
 * Order matters at start: signals are blocked before any thread exists (czmq and hiredis
 * inherit the mask), czmq's own handler is removed, and SIGTERM/SIGINT arrive through a
 * signalfd on the su_root, so the loop — not a handler — decides when to stop. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "services/core/service.h"
#include "services/core/loopnap.h"
#include "bus/bus.h"
#include "common/err.h"
#include "common/log.h"
#include "common/clock.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define N_COMMON_KEYS 16

struct rw_service {
    const rw_service_def_t *def;
    rw_cfg_spec_t spec[N_COMMON_KEYS];   /* the common keys, with this service's defaults */
    rw_config_t *cfg;
    su_root_t *root;
    su_wait_t sig_wait;
    int sig_fd, sig_index;
    rw_metrics_t *metrics;
    rw_http_t *http;
    rw_aredis_t *redis;
    rw_pub_t *pub;
    rw_announcer_t *pub_announcer;     /* "<svc>.events" in the registry */
    char instance[64];
    rw_http_health_fn *health_fn;
    void *health_arg;
    void (*stop_fn)(void *);
    void *stop_arg;
    uint64_t started_ms;
};

static const rw_cfg_spec_t common_spec[N_COMMON_KEYS] = {
    { "instance", RW_CFG_STR, "", 0, 0, "instance id in logs, metrics and the bus (default <svc>-<host>-<pid>)" },
    { "log.level", RW_CFG_STR, "info", 0, 0, "debug, info, warn or error" },
    { "http.addr", RW_CFG_STR, "127.0.0.1", 0, 0, "address of the /health and /metrics server" },
    { "http.port", RW_CFG_INT, NULL, 0, 65535, "port of the /health and /metrics server (0 = any free port)" },
    { "redis.host", RW_CFG_STR, "127.0.0.1", 0, 0, "Redis address (numeric) when no sentinels are set" },
    { "redis.port", RW_CFG_INT, "6379", 1, 65535, "Redis port" },
    { "redis.sentinels", RW_CFG_STR, "", 0, 0, "comma-separated host:port of Redis Sentinels" },
    { "redis.master_name", RW_CFG_STR, "ringway", 0, 0, "Sentinel's name for the master" },
    { "redis.password", RW_CFG_STR, "", 0, 0, "Redis AUTH password" },
    { "redis.db", RW_CFG_INT, "0", 0, 15, "Redis database number" },
    { "redis.connect_timeout_ms", RW_CFG_INT, "500", 1, 60000, "Redis connect timeout" },
    { "redis.command_timeout_ms", RW_CFG_INT, "500", 1, 60000, "Redis command timeout" },
    { "redis.durable_replicas", RW_CFG_INT, "-1", -1, 16, "replicas a saved change waits for (-1: 1 with sentinels, else 0)" },
    { "redis.durable_timeout_ms", RW_CFG_INT, "1000", 1, 60000, "bound on the wait for replicas" },
    { "process.rt_priority", RW_CFG_INT, "0", 0, 99,
      "0 = normal scheduling; 1-99 = real-time SCHED_RR at this priority (every thread)" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static int on_signal(su_root_magic_t *m, su_wait_t *w, su_wakeup_arg_t *arg)
{
    rw_service_t *self = (rw_service_t *) arg;
    struct signalfd_siginfo si;
    (void) m;
    (void) w;
    while (read(self->sig_fd, &si, sizeof si) == (ssize_t) sizeof si) {
        rw_log_info("stop_requested", RW_I("signal", si.ssi_signo));
        if (self->stop_fn) {
            void (*fn)(void *) = self->stop_fn;
            self->stop_fn = NULL;
            fn(self->stop_arg);
        }
        su_root_break(self->root);
    }
    return 0;
}

static int health(void *arg, char *detail, size_t len)
{
    rw_service_t *self = arg;
    if (self->redis && !rw_aredis_connected(self->redis)) {
        snprintf(detail, len, "redis unreachable");
        return 1;
    }
    if (self->health_fn)
        return self->health_fn(self->health_arg, detail, len);
    return 0;
}

static void print_help(const rw_cfg_spec_t *spec)
{
    char env[96];
    for (; spec && spec->key; spec++) {
        rw_config_env_name(spec->key, env, sizeof env);
        printf("  %-28s %-34s default %-12s %s\n", spec->key, env,
               spec->def ? (spec->def[0] ? spec->def : "\"\"") : "(required)",
               spec->help);
    }
}

static const char *config_path(int argc, char **argv, int *help)
{
    const char *path = getenv("RINGWAY_CONFIG");
    *help = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            *help = 1;
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            path = argv[++i];
    }
    return path && path[0] ? path : NULL;
}

static int load_config(rw_service_t *self, int argc, char **argv, int *exit_code)
{
    char err[512];
    int help;
    const char *path = config_path(argc, argv, &help);
    self->cfg = rw_config_new();
    memcpy(self->spec, common_spec, sizeof self->spec);
    for (rw_cfg_spec_t *k = self->spec; k->key; k++)
        if (!strcmp(k->key, "http.port"))
            k->def = self->def->http_port;
    if (!self->cfg || rw_config_add_spec(self->cfg, self->spec) < 0 ||
        rw_config_add_spec(self->cfg, rw_bus_cfg_spec) < 0 ||
        (self->def->spec && rw_config_add_spec(self->cfg, self->def->spec) < 0))
        return RW_ENOMEM;
    if (help) {
        printf("ringway-%s [-c FILE]\nconfiguration keys (file key, environment, default):\n",
               self->def->name);
        print_help(self->spec);
        print_help(rw_bus_cfg_spec);
        print_help(self->def->spec);
        *exit_code = 0;
        return RW_EINVAL;
    }
    if (rw_config_load(self->cfg, path, err, sizeof err) < 0) {
        rw_log_error("config_invalid", RW_S("error", err), RW_S("file", path ? path : ""));
        *exit_code = 2;
        return RW_EINVAL;
    }
    return 0;
}

static int setup_signals(rw_service_t *self)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return RW_EIO;
    self->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sig_fd < 0)
        return RW_EIO;
    su_wait_create(&self->sig_wait, self->sig_fd, SU_WAIT_IN);
    self->sig_index = su_root_register(self->root, &self->sig_wait, on_signal, self, 0);
    return self->sig_index > 0 ? 0 : RW_EIO;
}

void rw_service_redis_opts(const rw_config_t *cfg, rw_redis_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = rw_config_str(cfg, "redis.host");
    o->port = (int) rw_config_int(cfg, "redis.port");
    o->sentinels = rw_config_str(cfg, "redis.sentinels");
    o->master_name = rw_config_str(cfg, "redis.master_name");
    o->password = rw_config_str(cfg, "redis.password");
    o->db = (int) rw_config_int(cfg, "redis.db");
    o->connect_timeout_ms = (int) rw_config_int(cfg, "redis.connect_timeout_ms");
    o->command_timeout_ms = (int) rw_config_int(cfg, "redis.command_timeout_ms");
    o->durable_replicas = (int) rw_config_int(cfg, "redis.durable_replicas");
    o->durable_timeout_ms = (int) rw_config_int(cfg, "redis.durable_timeout_ms");
}

static int start_parts(rw_service_t *self)
{
    char prefix[64];
    rw_redis_opts_t ro;
    const rw_config_t *cfg = self->cfg;

    snprintf(prefix, sizeof prefix, "ringway_%s", self->def->name);
    for (char *p = prefix; *p; p++)
        if (*p == '-')
            *p = '_';
    if (!(self->metrics = rw_metrics_new(prefix)))
        return RW_ENOMEM;
    if (rw_config_str(cfg, "bus.curve_cert")[0]
        && rw_bus_curve_enable(rw_config_str(cfg, "bus.curve_cert"), rw_config_str(cfg, "bus.curve_allow")) != 0)
        return RW_EINVAL;         /* logged: bus_curve_* */
    rw_service_redis_opts(cfg, &ro);
    if (!(self->redis = rw_aredis_new(self->root, &ro)))
        return RW_EIO;
    if (rw_config_str(cfg, "bus.pub")[0] &&
        !(self->pub = rw_pub_new(self->root, self->instance, rw_config_str(cfg, "bus.pub")))) {
        rw_log_error("bus_pub_failed", RW_S("endpoint", rw_config_str(cfg, "bus.pub")));
        return RW_EIO;
    }
    if (self->pub) {
        char svc[64];
        snprintf(svc, sizeof svc, "%s.events", self->def->name);
        self->pub_announcer = rw_announcer_new(self->root, self->redis, svc, self->instance,
                                               rw_pub_endpoint(self->pub),
                                               (unsigned) rw_config_int(cfg, "bus.discovery_ttl_ms"));
    }
    self->http = rw_http_new(self->root, rw_config_str(cfg, "http.addr"),
                             (uint16_t) rw_config_int(cfg, "http.port"), self->metrics, health, self);
    if (!self->http) {
        rw_log_error("http_failed", RW_S("addr", rw_config_str(cfg, "http.addr")),
                     RW_I("port", rw_config_int(cfg, "http.port")));
        return RW_EIO;
    }
    return 0;
}

rw_service_t *rw_service_configure(const rw_service_def_t *def, int argc, char **argv, int *exit_code)
{
    rw_service_t *self = calloc(1, sizeof *self);
    rw_log_level_t level = RW_LOG_INFO;
    char host[32] = "";

    *exit_code = 1;
    if (!self)
        return NULL;
    self->def = def;
    self->sig_fd = -1;
    self->started_ms = rw_clock_mono_ms();
    rw_bus_init();
    rw_log_init(def->name, "-", RW_LOG_INFO);
    if (load_config(self, argc, argv, exit_code) < 0)
        goto fail;
    gethostname(host, sizeof host - 1);
    if (rw_config_str(self->cfg, "instance")[0])
        snprintf(self->instance, sizeof self->instance, "%s", rw_config_str(self->cfg, "instance"));
    else
        snprintf(self->instance, sizeof self->instance, "%s-%s-%d", def->name, host, (int) getpid());
    if (rw_log_level_parse(rw_config_str(self->cfg, "log.level"), &level) < 0) {
        rw_log_error("config_invalid", RW_S("error", "log.level must be debug, info, warn or error"));
        *exit_code = 2;
        goto fail;
    }
    rw_log_init(def->name, self->instance, level);
    *exit_code = 0;
    return self;
fail:
    rw_service_destroy(&self);
    return NULL;
}

/* Real-time scheduling before any thread exists, so libzmq's I/O thread inherits it. Not
 * being allowed (no CAP_SYS_NICE, RLIMIT_RTPRIO 0) is logged and the service runs on. */
static void set_priority(const rw_config_t *cfg)
{
    struct sched_param sp = { .sched_priority = (int) rw_config_int(cfg, "process.rt_priority") };
    if (sp.sched_priority == 0)
        return;
    if (sched_setscheduler(0, SCHED_RR, &sp) == 0)
        rw_log_info("rt_priority_set", RW_S("policy", "SCHED_RR"), RW_I("priority", sp.sched_priority));
    else
        rw_log_warn("rt_priority_refused", RW_I("priority", sp.sched_priority), RW_S("error", strerror(errno)));
}

int rw_service_start(rw_service_t *self)
{
    set_priority(self->cfg);
    if (su_init() != 0)
        return RW_EIO;
    rw_loopnap_capture(1);           /* the loop's epoll descriptor: no spin before timers */
    self->root = su_root_create(NULL);
    rw_loopnap_capture(0);
    if (!self->root)
        return RW_EIO;
    if (setup_signals(self) < 0 || start_parts(self) < 0)
        return RW_EIO;
    return 0;
}

rw_service_t *rw_service_new(const rw_service_def_t *def, int argc, char **argv, int *exit_code)
{
    rw_service_t *self = rw_service_configure(def, argc, argv, exit_code);
    if (self && rw_service_start(self) < 0) {
        *exit_code = 1;
        rw_service_destroy(&self);
    }
    return self;
}

void rw_service_destroy(rw_service_t **pself)
{
    rw_service_t *self = pself ? *pself : NULL;
    if (!self)
        return;
    rw_http_destroy(&self->http);
    rw_announcer_destroy(&self->pub_announcer);
    rw_pub_destroy(&self->pub);
    rw_bus_curve_disable();
    rw_aredis_destroy(&self->redis);
    if (self->root) {
        if (self->sig_index > 0)
            su_root_deregister(self->root, self->sig_index);
        rw_loopnap_release();
        su_root_destroy(self->root);
        su_deinit();
    }
    if (self->sig_fd >= 0)
        close(self->sig_fd);
    rw_metrics_destroy(&self->metrics);
    rw_config_destroy(&self->cfg);
    free(self);
    *pself = NULL;
}

su_root_t *rw_service_root(rw_service_t *self) { return self->root; }
const rw_config_t *rw_service_config(rw_service_t *self) { return self->cfg; }
rw_metrics_t *rw_service_metrics(rw_service_t *self) { return self->metrics; }
rw_aredis_t *rw_service_redis(rw_service_t *self) { return self->redis; }
rw_pub_t *rw_service_pub(rw_service_t *self) { return self->pub; }
const char *rw_service_instance(rw_service_t *self) { return self->instance; }

void rw_service_set_health(rw_service_t *self, rw_http_health_fn *fn, void *arg)
{
    self->health_fn = fn;
    self->health_arg = arg;
}

void rw_service_on_stop(rw_service_t *self, void (*fn)(void *), void *arg)
{
    self->stop_fn = fn;
    self->stop_arg = arg;
}

int rw_service_run(rw_service_t *self)
{
    int bad = 0;
    int64_t offset = rw_clock_offset_ms(&bad);
    if (bad)
        rw_log_warn("clock_offset_ignored", RW_S("error", "RINGWAY_CLOCK_OFFSET_MS is not a whole number of ms"));
    else if (offset)   /* schedules are read at a shifted time: say so on every start */
        rw_log_warn("clock_offset", RW_I("offset_ms", offset), RW_U("wall_ms", rw_clock_wall_ms()));
    rw_log_info("started", RW_S("instance", self->instance),
                RW_I("http_port", rw_http_port(self->http)));
    su_root_run(self->root);
    rw_log_info("stopped", RW_U("uptime_ms", rw_clock_mono_ms() - self->started_ms));
    return 0;
}
