/* tools/cli_account.h — the `ringway account` commands (tools/cli_account.c): the gateway's
 * local accounts (services/gateway/account.h). */
#ifndef RW_TOOLS_CLI_ACCOUNT_H
#define RW_TOOLS_CLI_ACCOUNT_H

#include "tools/cli.h"

/* 0, 1, 2 or 3 as every command (tools/cli.h); n counts args (noun, verb, arguments). */
int cli_account_command(const cli_opts_t *o, int n, const char **args);

#endif
