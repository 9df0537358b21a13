/* common/log.c — structured JSON logs, one object per line.
 * Each line is assembled in memory and handed to the kernel with one write (or one fwrite
 * for a test's FILE), so lines from several processes sharing stderr never interleave.
 * Strings are escaped for JSON and invalid UTF-8 is replaced by U+FFFD: whatever a caller
 * logs, the line stays one valid JSON object. The state below is what log.h documents:
 * the identity set by rw_log_init, the level and the output. */
#include "common/log.h"
#include "common/clock.h"
#include "common/err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_NAME_MAX 64
#define LOG_STR_MAX 8192        /* longer string values are cut and marked */

static char log_svc[LOG_NAME_MAX] = "ringway";
static char log_inst[LOG_NAME_MAX] = "-";
static rw_log_level_t log_min = RW_LOG_INFO;
static FILE *log_out;           /* NULL: stderr, written with write(2) */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
    char local[2048];
} line_t;

static void put(line_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = b->p == b->local ? malloc(cap) : realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        if (b->p == b->local)
            memcpy(p, b->local, b->len);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(line_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) need = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3;
        if (s[0] == 0xe0) lo = 0xa0;            /* overlong */
        if (s[0] == 0xed) hi = 0x9f;            /* surrogates */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 4;
        if (s[0] == 0xf0) lo = 0x90;            /* overlong */
        if (s[0] == 0xf4) hi = 0x8f;            /* above U+10FFFF */
    } else return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

static void put_json_str(line_t *b, const char *str)
{
    const unsigned char *s = (const unsigned char *) str;
    size_t n = strlen(str), i = 0;
    char esc[8];
    put(b, "\"", 1);
    while (i < n && i < LOG_STR_MAX) {
        size_t run = i;             /* copy plain printable ASCII in runs */
        while (run < n && run < LOG_STR_MAX && s[run] >= 0x20 && s[run] < 0x7f
               && s[run] != '"' && s[run] != '\\')
            run++;
        put(b, str + i, run - i);
        i = run;
        if (i >= n || i >= LOG_STR_MAX)
            break;
        unsigned char c = s[i];
        if (c == '"') puts_(b, "\\\"");
        else if (c == '\\') puts_(b, "\\\\");
        else if (c == '\n') puts_(b, "\\n");
        else if (c == '\r') puts_(b, "\\r");
        else if (c == '\t') puts_(b, "\\t");
        else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(b, esc);
        } else {
            size_t k = utf8_len(s + i, n - i);
            if (k) {
                put(b, str + i, k);
                i += k;
                continue;
            }
            puts_(b, "\\ufffd");
        }
        i++;
    }
    if (i < n)
        puts_(b, "...[truncated]");
    put(b, "\"", 1);
}

static void put_double(line_t *b, double d)
{
    char num[40];
    if (!isfinite(d)) {
        puts_(b, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {   /* shortest text that reads back the same */
        snprintf(num, sizeof num, "%.*g", prec, d);
        if (strtod(num, NULL) == d)
            break;
    }
    puts_(b, num);
}

static void put_field(line_t *b, const rw_field_t *f)
{
    char num[32];
    put(b, ",", 1);
    put_json_str(b, f->key ? f->key : "");
    put(b, ":", 1);
    switch (f->type) {
    case RW_F_STR:
        if (f->v.s) put_json_str(b, f->v.s);
        else puts_(b, "null");
        break;
    case RW_F_INT:
        snprintf(num, sizeof num, "%lld", f->v.i);
        puts_(b, num);
        break;
    case RW_F_UINT:
        snprintf(num, sizeof num, "%llu", f->v.u);
        puts_(b, num);
        break;
    case RW_F_DBL:
        put_double(b, f->v.d);
        break;
    case RW_F_BOOL:
        puts_(b, f->v.b ? "true" : "false");
        break;
    default:
        puts_(b, "null");
        break;
    }
}

static void put_ts(line_t *b)
{
    uint64_t ms = rw_clock_wall_ms();
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    char ts[48];
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(ts, sizeof ts, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned) (ms % 1000));
    puts_(b, ts);
}

static const char *level_name(rw_log_level_t level)
{
    switch (level) {
    case RW_LOG_DEBUG: return "debug";
    case RW_LOG_INFO: return "info";
    case RW_LOG_WARN: return "warn";
    default: return "error";
    }
}

static void write_line(const char *p, size_t len)
{
    if (log_out) {
        fwrite(p, 1, len, log_out);
        fflush(log_out);
        return;
    }
    while (len > 0) {               /* stderr: one write(2); loop only if cut short */
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t) n;
    }
}

void rw_log_emit(rw_log_level_t level, const char *event, const rw_field_t *fields)
{
    line_t b = { .cap = sizeof b.local };
    b.p = b.local;
    puts_(&b, "{\"ts\":");
    put_ts(&b);
    puts_(&b, ",\"level\":\"");
    puts_(&b, level_name(level));
    puts_(&b, "\",\"svc\":");
    put_json_str(&b, log_svc);
    puts_(&b, ",\"inst\":");
    put_json_str(&b, log_inst);
    puts_(&b, ",\"event\":");
    put_json_str(&b, event ? event : "");
    for (const rw_field_t *f = fields; f && f->type != RW_F_END; f++)
        put_field(&b, f);
    puts_(&b, "}\n");
    if (b.oom) {
        static const char oom[] = "{\"level\":\"error\",\"event\":\"log_line_dropped\"}\n";
        write_line(oom, sizeof oom - 1);
    } else {
        write_line(b.p, b.len);
    }
    if (b.p != b.local)
        free(b.p);
}

static void copy_name(char *dst, const char *src, const char *def)
{
    snprintf(dst, LOG_NAME_MAX, "%s", src && *src ? src : def);
}

void rw_log_init(const char *svc, const char *inst, rw_log_level_t min_level)
{
    copy_name(log_svc, svc, "ringway");
    copy_name(log_inst, inst, "-");
    log_min = min_level;
}

const char *rw_log_svc(void)
{
    return log_svc;
}

const char *rw_log_inst(void)
{
    return log_inst;
}

void rw_log_set_level(rw_log_level_t min_level)
{
    log_min = min_level;
}

void rw_log_set_output(FILE *out)
{
    log_out = out;
}

int rw_log_level_parse(const char *name, rw_log_level_t *level)
{
    static const struct { const char *name; rw_log_level_t level; } names[] = {
        { "debug", RW_LOG_DEBUG }, { "info", RW_LOG_INFO }, { "warn", RW_LOG_WARN },
        { "warning", RW_LOG_WARN }, { "error", RW_LOG_ERROR },
    };
    if (!name || !level)
        return RW_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return RW_EINVAL;
}

int rw_log_enabled(rw_log_level_t level)
{
    return level >= log_min;
}
