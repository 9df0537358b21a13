/* protocols/route_text.c — a route plan as text for people (CLI, logs), and small helpers
 * the router uses to build a plan within its limits. Strings in a plan may come from the bus,
 * so control characters are printed as '?': a plan cannot move a terminal's cursor. */
#include "protocols/route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

typedef struct {
    char *buf;
    size_t len, used;
    bool truncated;
} text_t;

static void put_raw(text_t *t, const char *s, size_t n, bool sanitise)
{
    for (size_t i = 0; i < n; i++) {
        if (t->used + 1 >= t->len) {
            t->truncated = true;
            return;
        }
        unsigned char c = (unsigned char) s[i];
        t->buf[t->used++] = sanitise && (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
    t->buf[t->used] = '\0';
}

/* A string from a fixed buffer: stops at its NUL or at the end of the buffer. */
static void put_str(text_t *t, const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    put_raw(t, s, nul ? (size_t) (nul - s) : size, true);
}

static void put_fmt(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(text_t *t, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put_raw(t, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1, false);
}

static void put_target(text_t *t, const rw_target_t *tg)
{
    const char *type = rw_proto_target_type_name(tg->type);
    put_fmt(t, "%s ", type ? type : "?");
    put_str(t, tg->aor, sizeof tg->aor);
    if (tg->type == RW_TARGET_DEVICES && tg->device[0]) {
        put_fmt(t, " device ");
        put_str(t, tg->device, sizeof tg->device);
    }
    for (uint32_t i = 0; i < tg->n_trunks && i < RW_PLAN_MAX_TRUNKS; i++) {
        put_fmt(t, "%s", i ? ", " : " via ");
        put_str(t, tg->trunks[i], sizeof tg->trunks[i]);
    }
    if (tg->is_private)
        put_fmt(t, " (private)");
    if (tg->diversion[0]) {
        put_fmt(t, " [diversion ");
        put_str(t, tg->diversion, sizeof tg->diversion);
        put_fmt(t, "]");
    }
}

int rw_proto_plan_format(const rw_plan_t *plan, char *buf, size_t len)
{
    text_t t = { buf, len, 0, false };
    const char *status = rw_proto_plan_status_name(plan->status);
    const char *final = rw_proto_final_name(plan->final);

    if (len == 0)
        return RW_ERANGE;
    buf[0] = '\0';
    put_fmt(&t, "call ");
    put_str(&t, plan->call_id, sizeof plan->call_id);
    put_fmt(&t, ": %s", status ? status : "?");
    if (plan->user[0]) {
        put_fmt(&t, ", user ");
        put_str(&t, plan->user, sizeof plan->user);
    }
    put_fmt(&t, "\n");
    for (uint32_t i = 0; i < plan->n_stages && i < RW_PLAN_MAX_STAGES; i++) {
        const rw_stage_t *s = &plan->stages[i];
        if (s->ring_ms)
            put_fmt(&t, "stage %u, ring %u ms:\n", (unsigned) i + 1, (unsigned) s->ring_ms);
        else
            put_fmt(&t, "stage %u, ring until answered:\n", (unsigned) i + 1);
        for (uint32_t j = 0; j < s->n_targets && j < RW_PLAN_MAX_TARGETS; j++) {
            put_fmt(&t, "  ");
            put_target(&t, &s->targets[j]);
            put_fmt(&t, "\n");
        }
    }
    put_fmt(&t, "then: %s", final ? final : "?");
    if (plan->final == RW_FINAL_VOICEMAIL || plan->final == RW_FINAL_NUMBER) {
        put_fmt(&t, " -> ");
        put_target(&t, &plan->final_target);
    }
    put_fmt(&t, "\n");
    if (plan->n_trace)
        put_fmt(&t, "trace:\n");
    for (uint32_t i = 0; i < plan->n_trace && i < RW_PLAN_MAX_TRACE; i++) {
        put_fmt(&t, "  ");
        put_str(&t, plan->trace[i], sizeof plan->trace[i]);
        put_fmt(&t, "\n");
    }
    return t.truncated ? RW_ERANGE : 0;
}

int rw_proto_plan_add_stage(rw_plan_t *plan, uint32_t ring_ms, rw_stage_t **stage)
{
    if (plan->n_stages >= RW_PLAN_MAX_STAGES)
        return RW_ERANGE;
    rw_stage_t *s = &plan->stages[plan->n_stages++];
    memset(s, 0, sizeof *s);
    s->ring_ms = ring_ms;
    if (stage)
        *stage = s;
    return 0;
}

int rw_proto_stage_add_target(rw_stage_t *stage, rw_target_type_t type, const char *dest,
                              rw_target_t **target)
{
    if (!dest || !dest[0] || type == RW_TARGET_NONE || !rw_proto_target_type_name(type))
        return RW_EINVAL;
    if (stage->n_targets >= RW_PLAN_MAX_TARGETS)
        return RW_ERANGE;
    size_t n = strlen(dest);
    rw_target_t *t = &stage->targets[stage->n_targets];
    if (n >= sizeof t->aor)
        return RW_ERANGE;
    memset(t, 0, sizeof *t);
    t->type = type;
    memcpy(t->aor, dest, n + 1);
    stage->n_targets++;
    if (target)
        *target = t;
    return 0;
}

/* line[0..end) was cut at `end` bytes: drop a UTF-8 sequence the cut left incomplete. */
static void cut_utf8(char *line, size_t end)
{
    size_t lead = end;
    while (lead > 0 && end - lead < 4 && ((unsigned char) line[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    lead--;                                              /* the byte before the continuations */
    unsigned char c = (unsigned char) line[lead];
    size_t want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (lead + want > end)
        line[lead] = '\0';
}

int rw_proto_plan_trace(rw_plan_t *plan, const char *fmt, ...)
{
    if (plan->n_trace >= RW_PLAN_MAX_TRACE)
        return RW_ERANGE;
    char *line = plan->trace[plan->n_trace];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof plan->trace[0], fmt, ap);
    va_end(ap);
    if (n < 0)
        return RW_EINVAL;
    if ((size_t) n >= sizeof plan->trace[0])
        cut_utf8(line, sizeof plan->trace[0] - 1);
    plan->n_trace++;
    return 0;
}
