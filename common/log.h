/* common/log.h — structured logs: one JSON object per line on stderr.
 * Every line has ts (RFC 3339 UTC, ms), level, svc, inst and event, then the fields given:
 *     rw_log_warn("router_timeout", RW_S("call_id", cid), RW_I("deadline_ms", 150));
 * Strings are JSON-escaped, so hostile input cannot break a line. Never log secrets.
 * Lines below the configured level cost one comparison. Not thread-safe by design: one loop
 * thread per process writes logs. */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdio.h>

typedef enum { RW_LOG_DEBUG = 0, RW_LOG_INFO, RW_LOG_WARN, RW_LOG_ERROR } rw_log_level_t;

typedef enum { RW_F_END = 0, RW_F_STR, RW_F_INT, RW_F_UINT, RW_F_DBL, RW_F_BOOL } rw_field_type_t;

typedef struct {
    const char *key;
    rw_field_type_t type;
    union { const char *s; long long i; unsigned long long u; double d; int b; } v;
} rw_field_t;

#define RW_S(k, x) ((rw_field_t){ .key = (k), .type = RW_F_STR, .v.s = (x) })
#define RW_I(k, x) ((rw_field_t){ .key = (k), .type = RW_F_INT, .v.i = (long long) (x) })
#define RW_U(k, x) ((rw_field_t){ .key = (k), .type = RW_F_UINT, .v.u = (unsigned long long) (x) })
#define RW_D(k, x) ((rw_field_t){ .key = (k), .type = RW_F_DBL, .v.d = (double) (x) })
#define RW_B(k, x) ((rw_field_t){ .key = (k), .type = RW_F_BOOL, .v.b = !!(x) })

/* svc and inst are copied. Until called, lines say svc "ringway", inst "-". */
void rw_log_init(const char *svc, const char *inst, rw_log_level_t min_level);
void rw_log_set_level(rw_log_level_t min_level);
/* The identity lines carry (what rw_log_init set), e.g. for /health answers. */
const char *rw_log_svc(void);
const char *rw_log_inst(void);
/* Tests may send lines elsewhere; NULL restores stderr. */
void rw_log_set_output(FILE *out);
/* "debug", "info", "warn"/"warning", "error" (any case) -> 0; else RW_EINVAL. */
int rw_log_level_parse(const char *name, rw_log_level_t *level);
int rw_log_enabled(rw_log_level_t level);

/* fields ends with an entry whose type is RW_F_END; use the macros below. */
void rw_log_emit(rw_log_level_t level, const char *event, const rw_field_t *fields);

#define RW_LOG_(lvl, ev, ...)                                                              \
    do {                                                                                   \
        if (rw_log_enabled(lvl))                                                           \
            rw_log_emit((lvl), (ev), (const rw_field_t[]){ __VA_ARGS__ __VA_OPT__(,) { 0 } }); \
    } while (0)
#define rw_log_debug(ev, ...) RW_LOG_(RW_LOG_DEBUG, ev, __VA_ARGS__)
#define rw_log_info(ev, ...) RW_LOG_(RW_LOG_INFO, ev, __VA_ARGS__)
#define rw_log_warn(ev, ...) RW_LOG_(RW_LOG_WARN, ev, __VA_ARGS__)
#define rw_log_error(ev, ...) RW_LOG_(RW_LOG_ERROR, ev, __VA_ARGS__)

#endif
