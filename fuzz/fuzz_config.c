/* fuzz/fuzz_config.c — libFuzzer target for the configuration parser: the bytes are a service's
 * configuration file, read by rw_config_load() (libinih, line length guard, unknown keys, quotes,
 * integer/boolean validation and limits) against the common keys, the bus keys and sip-edge's
 * peer table, whose text then goes through rw_peers_parse(). A load that fails must leave one
 * non-empty error line; a load that succeeds must hold only values inside their specs. Anything
 * else aborts (a finding). The file is a memfd read back through /proc/self/fd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus/bus_config.h"
#include "common/config.h"
#include "services/sip-edge/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The keys every service declares (services/core/service.c) and a few of sip-edge's. */
static const rw_cfg_spec_t spec[] = {
    { "instance", RW_CFG_STR, "", 0, 0, "" },
    { "log.level", RW_CFG_STR, "info", 0, 0, "" },
    { "http.addr", RW_CFG_STR, "127.0.0.1", 0, 0, "" },
    { "http.port", RW_CFG_INT, "0", 0, 65535, "" },
    { "redis.host", RW_CFG_STR, "127.0.0.1", 0, 0, "" },
    { "redis.port", RW_CFG_INT, "6379", 1, 65535, "" },
    { "redis.db", RW_CFG_INT, "0", 0, 15, "" },
    { "redis.password", RW_CFG_STR, "", 0, 0, "" },
    { "sip.port", RW_CFG_INT, "5060", 1, 65535, "" },
    { "sip.peers", RW_CFG_STR, "", 0, 0, "" },
    { "sip.realm", RW_CFG_STR, NULL, 0, 0, "" },
    { "auth.nonce_ttl_s", RW_CFG_INT, "300", 10, 86400, "" },
    { "auth.offset", RW_CFG_INT, "0", -100, 100, "" },
    { "overload.enabled", RW_CFG_BOOL, "true", 0, 0, "" },
    { "overload.max_calls", RW_CFG_INT, "0", 0, 0, "" },
    { NULL, RW_CFG_STR, NULL, 0, 0, NULL },
};

static void check_loaded(const rw_config_t *cfg, const rw_cfg_spec_t *table)
{
    for (const rw_cfg_spec_t *s = table; s->key; s++) {
        if (s->type == RW_CFG_INT && (s->min != 0 || s->max != 0)) {
            long v = rw_config_int(cfg, s->key);
            if (v < s->min || v > s->max)
                abort();
        } else if (s->type == RW_CFG_BOOL) {
            (void) rw_config_bool(cfg, s->key);
        } else if (s->type == RW_CFG_STR && !rw_config_str(cfg, s->key)) {
            abort();
        }
    }
}

static void check_peers(const char *text)
{
    static rw_peers_t peers;
    char err[256] = "";
    if (rw_peers_parse(&peers, text, err, sizeof err) != 0) {
        if (!err[0] || !memchr(err, '\0', sizeof err))
            abort();
        return;
    }
    if (peers.n > RW_PEERS_MAX)
        abort();
    for (size_t i = 0; i < peers.n; i++)
        if (peers.peers[i].n_prefixes > RW_PEER_MAX_PREFIXES || !peers.peers[i].name[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-config", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        unsetenv("RINGWAY_SIP_PORT");   /* only the file speaks */
        unsetenv("RINGWAY_SIP_REALM");
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t) size)
        abort();

    rw_config_t *cfg = rw_config_new();
    char err[512];
    memset(err, 0, sizeof err);
    if (!cfg || rw_config_add_spec(cfg, spec) != 0 || rw_config_add_spec(cfg, rw_bus_cfg_spec) != 0)
        abort();
    if (rw_config_load(cfg, path, err, sizeof err) != 0) {
        if (!err[0] || !memchr(err, '\0', sizeof err) || strchr(err, '\n'))
            abort();
    } else {
        check_loaded(cfg, spec);
        check_loaded(cfg, rw_bus_cfg_spec);
        check_peers(rw_config_str(cfg, "sip.peers"));
    }
    rw_config_destroy(&cfg);
    return 0;
}
