/* tools/cli.h — what the files of the `ringway` CLI share: options, the configuration (the same
 * file and RINGWAY_* variables the services read), the Redis connection, time parsing, errors.
 * Exit codes everywhere: 0 done, 1 refused or failed (the reason on stderr; with --json one
 * JSON object on stderr), 2 usage (a bad flag, command or argument, named on stderr), 3 saved
 * on the Redis master but not yet safe against a failover (cli_durable). */
#ifndef RW_TOOLS_CLI_H
#define RW_TOOLS_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include "common/config.h"
#include "common/redis.h"

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_UNSAFE = 3 };

typedef struct {
    const rw_config_t *cfg;   /* redis.*, router.endpoints, voicemail.uri, sip.peers */
    const char *config_path;  /* -c FILE or $RINGWAY_CONFIG, NULL: defaults and environment */
    const char *router;       /* --router: endpoints, comma-separated */
    const char *from, *at, *until;
    const char *ext, *number, *name, *site, *tz, *realm, *password, *order;
    const char *login, *password_file;   /* calendar set --user, --password-file */
    uint64_t at_ms;           /* --at, 0 = now */
    uint64_t until_ms;        /* --until, 0 = open-ended */
    unsigned count;           /* events --count N, 0 = no limit */
    unsigned for_s;           /* events --for SECONDS */
    int follow;               /* events --follow */
    int json;
    unsigned deadline_ms;
} cli_opts_t;

/* The full usage text on out. */
void cli_usage(FILE *out);
/* A usage error: "ringway: <why>" and a pointer to --help on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A refusal or failure: "ringway: <why>" on stderr, or {"ok":false,"error":"<why>"} on stderr
 * with --json; returns CLI_FAILED. */
int cli_fail(const cli_opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After a write the person is told is saved, before saying so: CLI_OK once it is durable
 * (rw_redis_durable on r, the connection that wrote), else CLI_UNSAFE after saying on stderr
 * (as JSON with --json) that it is on the master only. */
int cli_durable(const cli_opts_t *o, rw_redis_t *r);
/* A progress line on stderr ("ringway: import: 100 of 2500 users"); never on stdout. */
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON value on stdout (compact, one line) and frees it. */
void cli_print_json(json_t *j);

/* The Redis the configuration names (host/port or Sentinel, password, db); NULL after saying
 * why on stderr. */
rw_redis_t *connect_redis(const cli_opts_t *o);
/* "2026-03-29T09:30:00Z", "...T10:30:00+01:00" (or +0100, +01), seconds optional, or
 * milliseconds since the epoch. A date and time without a zone is refused (RW_EINVAL, and
 * why says so): the operator's and the user's zone may differ. */
int cli_parse_time(const char *s, uint64_t *ms, char *why, size_t why_len);
/* "2026-03-29T09:30:00Z" (UTC) of ms into buf. */
void cli_format_time(uint64_t ms, char *buf, size_t len);

/* The commands, one file each: 0, 1 or 2 as above. n counts args (noun, verb, arguments). */
int cli_dir_command(const cli_opts_t *o, int n, const char **args);   /* tools/cli_dir.c */
/* The line every settings write prints after its result (tools/cli_dir.c, docs/routing.md). */
extern const char cli_fallback_line[];
int cli_user_command(const cli_opts_t *o, int n, const char **args);  /* tools/cli_user.c */
int cli_live_command(const cli_opts_t *o, int n, const char **args);  /* tools/cli_live.c */
int cli_explain(const cli_opts_t *o, const char *number);              /* tools/cli_explain.c */
int cli_events(const cli_opts_t *o, const char *topic);                /* tools/cli_events.c */

#endif
