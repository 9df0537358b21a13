/* tools/cli_events.c — `ringway events [TOPIC]`: the bus events of every live publisher, one
 * line each (or one JSON object each with --json), e.g. `ringway events call.failed` to see why
 * calls fail. Publishers are found in the discovery registry (every live member of each
 * rw:svc:<service>.events) and looked for again every second, so one that starts later is
 * heard too. Without --follow it stops after --for SECONDS (default 10) or --count N events;
 * with --follow it runs until --count N or Ctrl-C. Events published before the subscription
 * reached a publisher are not seen (ZeroMQ's slow joiner): start it, then make the call. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

#define MAX_PUBLISHERS 64

typedef struct {
    const cli_opts_t *o;
    su_root_t *root;
    rw_redis_t *redis;
    rw_sub_t *sub;
    const char *topic;              /* NULL: every event */
    unsigned seen;
    size_t n_eps;
    char *eps[MAX_PUBLISHERS];
} events_t;

static const char *const families[] = { "call.", "reg.", "presence.", "queue.", "calendar.", "directory.",
                                        NULL };
static const char *const presence_names[] = { "available", "busy", "away", "in_meeting", "dnd", "offline" };
static const char *const fallback_names[] = { "none", "last_plan", "devices", "evaluated" };  /* rw_fallback_t */

/* The live publishers' endpoints, sorted: every member of every rw:svc:*.events. */
static size_t read_registry(events_t *ev, char **out, size_t max)
{
    size_t n = 0;
    unsigned long long cursor = 0;
    do {
        redisReply *s = rw_redis_command(ev->redis, "SCAN %llu MATCH rw:svc:*.events COUNT 100", cursor);
        if (!s || s->type != REDIS_REPLY_ARRAY || s->elements != 2) {
            if (s)
                freeReplyObject(s);
            break;
        }
        cursor = strtoull(s->element[0]->str, NULL, 10);
        for (size_t k = 0; k < s->element[1]->elements; k++) {
            redisReply *m = rw_redis_command(ev->redis, "ZRANGEBYSCORE %s %llu +inf", s->element[1]->element[k]->str,
                                             (unsigned long long) rw_clock_wall_ms());
            for (size_t i = 0; m && m->type == REDIS_REPLY_ARRAY && i < m->elements && n < max; i++) {
                const char *bar = strchr(m->element[i]->str, '|');
                if (bar && bar[1])
                    out[n++] = strdup(bar + 1);
            }
            if (m)
                freeReplyObject(m);
        }
        freeReplyObject(s);
    } while (cursor);
    for (size_t i = 1; i < n; i++)                /* insertion sort: a handful of endpoints */
        for (size_t j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
            char *t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static void refresh(events_t *ev, int first)
{
    char *eps[MAX_PUBLISHERS];
    size_t n = read_registry(ev, eps, MAX_PUBLISHERS);
    int same = n == ev->n_eps;
    for (size_t i = 0; same && i < n; i++)
        same = !strcmp(eps[i], ev->eps[i]);
    if (same) {
        for (size_t i = 0; i < n; i++)
            free(eps[i]);
        return;
    }
    for (size_t i = 0; i < ev->n_eps; i++)
        free(ev->eps[i]);
    memcpy(ev->eps, eps, n * sizeof *eps);
    ev->n_eps = n;
    rw_sub_set_endpoints(ev->sub, (const char *const *) ev->eps, n);
    if (!first || n)
        cli_progress("events: listening to %zu publisher%s", n, n == 1 ? "" : "s");
}

static void add_body(json_t *j, const rw_event_t *e)
{
    switch (rw_proto_event_family(e->type)) {
    case RW_EVF_CALL:
        json_object_update_new(j, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:I}", "call_id", e->call.call_id,
                                            "user", e->call.user, "from", e->call.from, "to", e->call.to, "target",
                                            e->call.target, "cause", (int) e->call.cause, "reason", e->call.reason,
                                            "fallback", fallback_names[e->call.fallback % 4], "pdd_ms",
                                            (json_int_t) e->call.pdd_ms, "talk_ms", (json_int_t) e->call.talk_ms));
        break;
    case RW_EVF_REG:
        json_object_update_new(j, json_pack("{s:s,s:s,s:i,s:s,s:s}", "aor", e->reg.aor, "contact", e->reg.contact,
                                            "expires", (int) e->reg.expires, "instance", e->reg.instance,
                                            "user_agent", e->reg.user_agent));
        break;
    case RW_EVF_PRESENCE:
        json_object_update_new(j, json_pack("{s:s,s:s,s:s,s:I,s:s}", "user", e->presence.user, "state",
                                            presence_names[e->presence.state % 6], "source", e->presence.source,
                                            "until_ms", (json_int_t) e->presence.until_ms, "activity",
                                            e->presence.activity));
        break;
    case RW_EVF_QUEUE:
        json_object_update_new(j, json_pack("{s:s,s:s,s:s,s:i,s:I,s:s}", "group", e->queue.group, "call_id",
                                            e->queue.call_id, "agent", e->queue.agent, "position",
                                            (int) e->queue.position, "wait_ms", (json_int_t) e->queue.wait_ms,
                                            "state", e->queue.state));
        break;
    case RW_EVF_CALENDAR:
        json_object_update_new(j, json_pack("{s:s,s:s,s:I,s:I,s:s}", "user", e->calendar.user, "uid",
                                            e->calendar.uid, "start_ms", (json_int_t) e->calendar.start_ms,
                                            "end_ms", (json_int_t) e->calendar.end_ms, "summary",
                                            e->calendar.summary));
        break;
    case RW_EVF_DIRECTORY:
        json_object_update_new(j, json_pack("{s:s,s:s}", "user", e->directory.user, "what", e->directory.what));
        break;
    default:
        break;
    }
}

static void on_event(void *arg, const rw_event_t *e, rw_seq_status_t st)
{
    events_t *ev = arg;
    char ts[32];
    if (ev->topic && strncmp(e->type, ev->topic, strlen(ev->topic)))
        return;
    json_t *j = json_pack("{s:s,s:s,s:s,s:I}", "type", e->type, "publisher", e->publisher, "id", e->id,
                          "ts_ms", (json_int_t) e->ts_ms);
    add_body(j, e);
    if (st.kind == RW_SEQ_GAP)
        json_object_set_new(j, "missed_before", json_integer((json_int_t) st.missed));
    else if (st.kind == RW_SEQ_RESTART)
        json_object_set_new(j, "publisher_restarted", json_true());
    if (ev->o->json) {
        cli_print_json(j);
    } else {
        cli_format_time(e->ts_ms, ts, sizeof ts);
        printf("%s %s %s", ts, e->type, e->publisher);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (!strcmp(k, "type") || !strcmp(k, "publisher") || !strcmp(k, "id") || !strcmp(k, "ts_ms") ||
                (json_is_string(v) && !json_string_length(v)) || (json_is_integer(v) && !json_integer_value(v)) ||
                (!strcmp(k, "fallback") && !strcmp(json_string_value(v), "none")))
                continue;
            if (json_is_string(v))
                printf(" %s=%s", k, json_string_value(v));
            else if (json_is_integer(v))
                printf(" %s=%lld", k, (long long) json_integer_value(v));
            else
                printf(" %s", k);
        }
        putchar('\n');
        json_decref(j);
    }
    fflush(stdout);
    if (ev->o->count && ++ev->seen >= ev->o->count)
        su_root_break(ev->root);
}

static void on_refresh(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m, (void) t;
    refresh((events_t *) arg, 0);
}

static void on_deadline(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m, (void) t;
    su_root_break(((events_t *) arg)->root);
}

/* The family prefix to subscribe for a topic: "call" and "call.failed" -> "call.". */
static int family_prefix(const char *topic, char *out, size_t len)
{
    const char *dot = strchr(topic, '.');
    size_t n = dot ? (size_t) (dot - topic) : strlen(topic);
    if (!n || n + 2 > len)
        return RW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((topic[i] >= 'a' && topic[i] <= 'z') || (topic[i] >= '0' && topic[i] <= '9') || topic[i] == '_'))
            return RW_EINVAL;
    memcpy(out, topic, n);
    memcpy(out + n, ".", 2);
    return 0;
}

int cli_events(const cli_opts_t *o, const char *topic)
{
    static events_t ev;
    char prefix[64];
    int rc = CLI_FAILED;
    if (topic && family_prefix(topic, prefix, sizeof prefix) < 0)
        return cli_usage_error("'%s' is not a topic (call, call.failed, reg., presence ...)", topic);
    memset(&ev, 0, sizeof ev);
    ev.o = o;
    ev.topic = topic;
    if (!(ev.redis = connect_redis(o)))
        return CLI_FAILED;
    su_init();
    ev.root = su_root_create(NULL);
    ev.sub = ev.root ? rw_sub_new(ev.root, on_event, &ev, NULL) : NULL;
    su_timer_t *tick = ev.root ? su_timer_create(su_root_task(ev.root), 1000) : NULL;
    su_timer_t *stop = ev.root ? su_timer_create(su_root_task(ev.root), o->for_s ? o->for_s * 1000u : 1) : NULL;
    int sub_ok = ev.sub != NULL;
    if (sub_ok && topic)
        sub_ok = rw_sub_subscribe(ev.sub, prefix) == 0;
    for (int i = 0; sub_ok && !topic && families[i]; i++)
        sub_ok = rw_sub_subscribe(ev.sub, families[i]) == 0;
    if (!sub_ok || !tick || !stop) {
        cli_fail(o, "could not open the event subscriber");
    } else {
        refresh(&ev, 1);
        if (!ev.n_eps)
            cli_progress("events: no publisher is running yet (none in rw:svc:*.events); waiting for one");
        su_timer_set_for_ever(tick, on_refresh, (su_timer_arg_t *) &ev);
        if (!o->follow)
            su_timer_set(stop, on_deadline, (su_timer_arg_t *) &ev);
        if (o->follow || o->for_s)
            su_root_run(ev.root);
        rc = CLI_OK;
    }
    if (tick)
        su_timer_destroy(tick);
    if (stop)
        su_timer_destroy(stop);
    rw_sub_destroy(&ev.sub);
    for (size_t i = 0; i < ev.n_eps; i++)
        free(ev.eps[i]);
    if (ev.root)
        su_root_destroy(ev.root);
    su_deinit();
    rw_redis_destroy(&ev.redis);
    return rc;
}
