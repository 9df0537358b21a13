/* services/presence/merge.c — arguments for, and replies of, the merge script (merge.h). */
#include "services/presence/merge.h"
#include "common/err.h"
#include "directory/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[] = { "available", "busy", "away", "in_meeting", "dnd", "offline" };

int rw_pres_state_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof state_names / sizeof state_names[0]; i++)
        if (!strcmp(name, state_names[i]))
            return (int) i;
    return -1;
}

void rw_pres_fixed_args(const char *op, uint64_t now_ms, const rw_pres_policy_t *p, rw_pres_argbuf_t *b,
                        const char *argv[RW_PRES_FIXED_ARGC])
{
    snprintf(b->now, sizeof b->now, "%llu", (unsigned long long) now_ms);
    snprintf(b->ring, sizeof b->ring, "%llu", (unsigned long long) p->ringing_max_ms);
    snprintf(b->call, sizeof b->call, "%llu", (unsigned long long) p->call_max_ms);
    argv[0] = op;
    argv[1] = b->now;
    argv[2] = b->ring;
    argv[3] = b->call;
    argv[4] = p->call_registry ? p->call_registry : "";
    argv[5] = p->notify ? "1" : "0";
    snprintf(b->live, sizeof b->live, "%llu", (unsigned long long) p->calls_live_ms);
    argv[6] = b->live;
}

static int fill(rw_pres_change_t *c, const char *const f[5])
{
    int st = rw_pres_state_parse(f[1]);
    if (st < 0 || strlen(f[0]) >= sizeof c->user || !f[0][0])
        return RW_EPROTO;
    snprintf(c->user, sizeof c->user, "%s", f[0]);
    c->state = (rw_presence_state_t) st;
    snprintf(c->source, sizeof c->source, "%s", f[2]);
    c->until_ms = strtoull(f[3], NULL, 10);
    snprintf(c->activity, sizeof c->activity, "%s", f[4]);
    return 0;
}

int rw_pres_parse(const redisReply *rep, rw_pres_changes_t *out, char *err, size_t err_len)
{
    out->n = out->dropped = 0;
    if (err && err_len)
        err[0] = '\0';
    if (!rep)
        return RW_EIO;
    if (rep->type == REDIS_REPLY_ERROR) {
        if (err && err_len) {
            /* "ERR ... script: ...: unknown user" -> "unknown user" */
            const char *s = strrchr(rep->str, ':');
            snprintf(err, err_len, "%s", s ? s + 1 + (s[1] == ' ') : rep->str);
        }
        return RW_EPROTO;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 5)
        return RW_EPROTO;
    for (size_t i = 0; i < rep->elements; i += 5) {
        const char *f[5];
        for (size_t k = 0; k < 5; k++) {
            if (rep->element[i + k]->type != REDIS_REPLY_STRING)
                return RW_EPROTO;
            f[k] = rep->element[i + k]->str;
        }
        if (out->n == RW_PRES_MAX_CHANGES) {
            out->dropped++;
            continue;
        }
        if (fill(&out->ch[out->n], f) < 0)
            return RW_EPROTO;
        out->n++;
    }
    return 0;
}

int rw_pres_change_from_record(const char *rec, rw_pres_change_t *out)
{
    char buf[512], *save = NULL, *tok;
    const char *f[5];
    size_t n = 0;
    if (!rec || strlen(rec) >= sizeof buf)
        return RW_EPROTO;
    snprintf(buf, sizeof buf, "%s", rec);
    for (tok = strtok_r(buf, "\t", &save); tok && n < 5; tok = strtok_r(NULL, "\t", &save))
        f[n++] = tok;
    if (n != 5 || tok)
        return RW_EPROTO;
    return fill(out, f);
}

int rw_pres_change_event(const rw_pres_change_t *c, rw_event_t *ev)
{
    int rc = rw_proto_event_init(ev, "presence.changed");
    if (rc < 0)
        return rc;
    snprintf(ev->presence.user, sizeof ev->presence.user, "%s", c->user);
    ev->presence.state = c->state;
    snprintf(ev->presence.source, sizeof ev->presence.source, "%s", c->source);
    ev->presence.until_ms = c->until_ms;
    snprintf(ev->presence.activity, sizeof ev->presence.activity, "%s", c->activity);
    return 0;
}

int rw_pres_run_sync(rw_redis_t *r, const char *op, uint64_t now_ms, const rw_pres_policy_t *p,
                     const char *const *extra, size_t n_extra, rw_pres_changes_t *out, char *err, size_t err_len)
{
    static _Thread_local rw_pres_changes_t scratch;
    rw_pres_argbuf_t b;
    const char *fixed[RW_PRES_FIXED_ARGC];
    size_t argc = 3 + RW_PRES_FIXED_ARGC + n_extra;
    const char **argv = calloc(argc, sizeof *argv);
    if (!argv)
        return RW_ENOMEM;
    rw_pres_fixed_args(op, now_ms, p, &b, fixed);
    argv[0] = "EVAL";
    argv[1] = rw_presence_merge_lua;
    argv[2] = "0";
    memcpy(argv + 3, fixed, sizeof fixed);
    for (size_t i = 0; i < n_extra; i++)
        argv[3 + RW_PRES_FIXED_ARGC + i] = extra[i];
    redisReply *rep = rw_redis_commandargv(r, (int) argc, argv, NULL);
    free(argv);
    int rc = rw_pres_parse(rep, out ? out : &scratch, err, err_len);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int rw_pres_manual_set(rw_redis_t *r, const char *user, const char *state, uint64_t until_ms, uint64_t now_ms,
                       char *err, size_t err_len)
{
    rw_pres_policy_t pol = RW_PRES_POLICY_DEFAULT;
    char until_arg[24];
    err[0] = '\0';
    if (state && !rw_rules_presence_bit(state))
        return snprintf(err, err_len, "'%s' is not a presence state (available, busy, away, in_meeting, dnd, "
                        "offline)", state), RW_EINVAL;
    if (state && until_ms && until_ms <= now_ms) {
        char when[32];
        time_t t = (time_t) (until_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return snprintf(err, err_len, "until %s is already past", when), RW_EINVAL;
    }
    snprintf(until_arg, sizeof until_arg, "%llu", (unsigned long long) (state ? until_ms : 0));
    const char *extra[] = { user, state ? state : "", until_arg };
    pol.notify = 1;
    int rc = rw_pres_run_sync(r, "manual", now_ms, &pol, extra, 3, NULL, err, err_len);
    if (rc == RW_EPROTO && err[0])
        return rc;
    if (rc < 0 || rw_dir_changed(r, user) < 0)
        return snprintf(err, err_len, "redis write failed"), RW_EIO;
    return 0;
}
