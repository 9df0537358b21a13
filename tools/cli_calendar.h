/* tools/cli_calendar.h — the `ringway calendar` commands (tools/cli_calendar.c): a user's
 * calendar source (an ICS feed or a CalDAV calendar), its last sync and meetings, and a sync
 * now. Credentials are written to Redis for the calendar service and never printed. */
#ifndef RW_TOOLS_CLI_CALENDAR_H
#define RW_TOOLS_CLI_CALENDAR_H

#include "tools/cli.h"

/* 0, 1 or 2 as every command (tools/cli.h); n counts args (noun, verb, arguments). */
int cli_calendar_command(const cli_opts_t *o, int n, const char **args);

#endif
