/* tools/cli.h — what the files of the `ringway` CLI share: options, the Redis connection,
 * time parsing, usage. Exit codes everywhere: 0 done, 1 failed (reason on stderr), 2 usage. */
#ifndef RW_TOOLS_CLI_H
#define RW_TOOLS_CLI_H

#include <stdint.h>
#include "common/redis.h"

typedef struct {
    char redis_host[64];
    int redis_port;
    const char *router;       /* endpoints, comma-separated */
    const char *from, *at;
    const char *ext, *number, *name, *site, *tz, *realm, *password, *order;
    uint64_t at_ms;           /* --at, 0 = now */
    int json;
    unsigned deadline_ms;
} cli_opts_t;

int usage(void);
rw_redis_t *connect_redis(const cli_opts_t *o);
int cli_parse_time(const char *s, uint64_t *ms);
/* The directory-writing commands (tools/cli_dir.c); usage() when args match none. */
int cli_dir_command(const cli_opts_t *o, int n, const char **args);

#endif
