/* tools/cli_group.h — the `ringway group`, `member`, `agent` and `queue` commands
 * (tools/cli_group.c): hunt groups in the directory, agents' state, the live wallboard. */
#ifndef RW_TOOLS_CLI_GROUP_H
#define RW_TOOLS_CLI_GROUP_H

#include "tools/cli.h"

/* 0, 1 or 2 as every command (tools/cli.h); n counts args (noun, verb, arguments). */
int cli_group_command(const cli_opts_t *o, int n, const char **args);

#endif
