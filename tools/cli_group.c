/* tools/cli_group.c — `ringway group ...`, `member ...`, `agent ...` and `queue ...`: hunt groups
 * in the directory (directory/dir_groups.h validates every save), agents' log in / pause / resume,
 * and `queue watch GROUP`, a terminal wallboard redrawn from Redis at every queue.* event of the
 * huntgroup instances (found in the registry rw:svc:huntgroup.events). Settings are KEY=VALUE
 * words (docs/huntgroup.md lists them), since options are the CLI's shared ones. A write is said
 * to be done only once durable (cli_durable: exit 3 when only the Redis master has it). */
#include "tools/cli_group.h"

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "directory/dir_board.h"
#include "directory/dir_groups.h"
#include "common/err.h"

static rw_group_t group;             /* 20 KB: one per process, not on the stack */

/* Says "saved" only once the write is durable (cli_durable); CLI_UNSAFE, said, when not. */
static int done(const cli_opts_t *o, rw_redis_t *r, const char *what)
{
    if (cli_durable(o, r) != CLI_OK)
        return CLI_UNSAFE;
    if (o->json)
        printf("{\"ok\":true,\"done\":\"%s\"}\n", what);
    else
        printf("%s\n", what);
    return CLI_OK;
}

/* KEY=VALUE words onto the group (member NULL) or a member; "members=a,b" adds members. */
static int apply_settings(const cli_opts_t *o, rw_group_t *g, rw_group_member_t *m, int n,
                          const char **words)
{
    char key[64], err[300];
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(words[i], '=');
        if (!eq || eq == words[i] || (size_t) (eq - words[i]) >= sizeof key)
            return cli_usage_error("'%s' is not KEY=VALUE", words[i]);
        snprintf(key, sizeof key, "%.*s", (int) (eq - words[i]), words[i]);
        int rc;
        if (!m && !strcmp(key, "members")) {
            char list[512], *save = NULL;
            snprintf(list, sizeof list, "%s", eq + 1);
            rc = 0;
            for (char *u = strtok_r(list, ",", &save); u && rc == 0; u = strtok_r(NULL, ",", &save)) {
                if (rw_group_member_find(g, u))
                    continue;
                if (g->n_members == RW_GROUP_MAX_MEMBERS)
                    return cli_fail(o, "at most %d members", RW_GROUP_MAX_MEMBERS);
                rw_group_member_defaults(&g->members[g->n_members++], u);
            }
        } else {
            rc = m ? rw_group_member_set(m, key, eq + 1, err, sizeof err)
                   : rw_group_set(g, key, eq + 1, err, sizeof err);
            if (rc < 0)
                return cli_fail(o, "%s", err);
        }
    }
    return CLI_OK;
}

static int save(const cli_opts_t *o, rw_redis_t *r, const char *what)
{
    char err[400];
    if (rw_dir_group_put(r, &rw_numplan_uk, &group, err, sizeof err) < 0)
        return cli_fail(o, "group '%s' not saved: %s", group.id, err);
    return done(o, r, what);
}

static int load(const cli_opts_t *o, rw_redis_t *r, const char *id)
{
    int rc = rw_dir_group_get(r, id, &group);
    if (rc == RW_ENOTFOUND)
        return cli_fail(o, "unknown group '%s'", id);
    if (rc < 0)
        return cli_fail(o, "group '%s' could not be read (%s)", id, rw_strerror(rc));
    return CLI_OK;
}

static void print_group(const rw_group_t *g)
{
    printf("group %s  ext %s%s%s  %s\n", g->id, g->ext, g->number[0] ? "  number " : "", g->number, g->name);
    printf("  strategy %s  ring_ms %u", rw_hg_strategy_name(g->strategy), g->ring_ms);
    if (g->strategy == RW_HG_PROGRESSIVE)
        printf("  prog_start %u  prog_step_s %u", g->prog_start, g->prog_step_s);
    printf("\n  tier_wait_s %u  max_wait_s %u  max_len %u  join_empty %s  wrapup_s %u  autopause %u  sl_s %u\n",
           g->tier_wait_s, g->max_wait_s, g->max_len, g->join_empty ? "yes" : "no", g->wrapup_s, g->autopause,
           g->sl_s);
    printf("  overflow %s%s%s%s%s%s%s%s%s\n", g->overflow, g->priority[0] ? "  priority " : "", g->priority,
           g->skills[0] ? "  skills " : "", g->skills, g->caller_skills[0] ? "  caller_skills " : "",
           g->caller_skills, g->dialled_skills[0] ? "  dialled_skills " : "", g->dialled_skills);
    for (uint32_t i = 0; i < g->n_members; i++) {
        const rw_group_member_t *m = &g->members[i];
        printf("  member %-16s tier %u penalty %u weight %u%s%s%s%s\n", m->user, m->tier, m->penalty, m->weight,
               m->device[0] ? " device " : "", m->device, m->skills[0] ? " skills " : "", m->skills);
    }
}

static int group_cmd(const cli_opts_t *o, rw_redis_t *r, int n, const char **a)
{
    const char *verb = a[1];
    char err[400];
    int rc;
    if (!strcmp(verb, "list")) {
        json_t *ids = rw_dir_group_ids(r), *id;
        size_t i;
        if (!ids)
            return cli_fail(o, "redis failed");
        if (o->json)
            return cli_print_json(ids), CLI_OK;
        json_array_foreach(ids, i, id)
            if (rw_dir_group_get(r, json_string_value(id), &group) == 0)
                printf("%-16s %-6s %-14s %-16s %u members\n", group.id, group.ext, group.number,
                       rw_hg_strategy_name(group.strategy), group.n_members);
        json_decref(ids);
        return CLI_OK;
    }
    if (!strcmp(verb, "export")) {
        json_t *j = rw_dir_groups_export(r);
        if (!j)
            return cli_fail(o, "redis failed");
        char *s = json_dumps(j, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(j);
        return CLI_OK;
    }
    if (!strcmp(verb, "import")) {
        int count = 0;
        if (rw_dir_groups_import_file(r, &rw_numplan_uk, a[2], &count, err, sizeof err) < 0)
            return cli_fail(o, "%s (%d group%s imported before it)", err, count, count == 1 ? "" : "s");
        if (cli_durable(o, r) != CLI_OK)
            return CLI_UNSAFE;
        if (o->json)
            cli_print_json(json_pack("{s:b,s:i}", "ok", 1, "imported_groups", count));
        else
            printf("%d group%s imported\n", count, count == 1 ? "" : "s");
        return CLI_OK;
    }
    if (!strcmp(verb, "show")) {
        if ((rc = load(o, r, a[2])) != CLI_OK)
            return rc;
        if (o->json)
            cli_print_json(rw_group_to_json(&group));
        else
            print_group(&group);
        return CLI_OK;
    }
    if (!strcmp(verb, "rm")) {
        if (rw_dir_group_rm(r, a[2], err, sizeof err) < 0)
            return cli_fail(o, "%s", err);
        return done(o, r, "group removed");
    }
    if (!strcmp(verb, "add")) {
        rw_group_defaults(&group, a[2]);
        if (rw_group_set(&group, "ext", a[3], err, sizeof err) < 0)
            return cli_fail(o, "%s", err);
        if ((rc = apply_settings(o, &group, NULL, n - 4, a + 4)) != CLI_OK)
            return rc;
        return save(o, r, "group saved");
    }
    /* set */
    if ((rc = load(o, r, a[2])) != CLI_OK || (rc = apply_settings(o, &group, NULL, n - 3, a + 3)) != CLI_OK)
        return rc;
    return save(o, r, "group saved");
}

static int member_cmd(const cli_opts_t *o, rw_redis_t *r, int n, const char **a)
{
    int rc;
    if ((rc = load(o, r, a[2])) != CLI_OK)
        return rc;
    rw_group_member_t *m = rw_group_member_find(&group, a[3]);
    if (!strcmp(a[1], "rm")) {
        if (!m)
            return cli_fail(o, "'%s' is not a member of group '%s'", a[3], a[2]);
        memmove(m, m + 1, (size_t) (&group.members[group.n_members] - (m + 1)) * sizeof *m);
        group.n_members--;
        return save(o, r, "member removed");
    }
    if (!strcmp(a[1], "add") && !m) {
        if (group.n_members == RW_GROUP_MAX_MEMBERS)
            return cli_fail(o, "group '%s' has %d members already", a[2], RW_GROUP_MAX_MEMBERS);
        m = &group.members[group.n_members++];
        rw_group_member_defaults(m, a[3]);
    } else if (!m) {
        return cli_fail(o, "'%s' is not a member of group '%s'", a[3], a[2]);
    }
    if ((rc = apply_settings(o, &group, m, n - 4, a + 4)) != CLI_OK)
        return rc;
    return save(o, r, "member saved");
}

static int agent_cmd(const cli_opts_t *o, rw_redis_t *r, int n, const char **a)
{
    rw_agent_status_t st;
    char err[300];
    const char *op = a[1], *group_id = "", *reason = "";
    if (!strcmp(op, "pause"))
        reason = a[3];
    else if (n > 3)
        group_id = a[3];
    if (!strcmp(op, "pause") && (!reason[0] || strlen(reason) > 63))
        return cli_usage_error("agent pause needs a REASON of 1 to 63 characters");
    if (rw_dir_agent_op(r, op, a[2], group_id, reason, rw_clock_wall_ms(), &st, err, sizeof err) < 0)
        return cli_fail(o, "%s", err);
    if (strcmp(op, "status") && cli_durable(o, r) != CLI_OK)   /* a log in/out, pause, resume */
        return CLI_UNSAFE;
    if (o->json)
        cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}", "agent", a[2], "state", st.state, "reason",
                                 st.reason, "groups", st.groups, "missed", (int) st.missed, "personal_call",
                                 st.personal));
    else
        printf("%s %s%s%s%s  groups: %s%s\n", a[2], st.state, st.reason[0] ? " (" : "", st.reason,
               st.reason[0] ? ")" : "", st.groups[0] ? st.groups : "(none)",
               st.personal ? "  on a personal call" : "");
    return CLI_OK;
}

/* ---- queue show / watch ------------------------------------------------------------------ */

/* The board (directory/dir_board.c, shared with the gateway's wallboard). */
static json_t *queue_snapshot(rw_redis_t *r, const char *gid)
{
    (void) gid;
    return rw_hg_board(r, &group, rw_clock_wall_ms(), false);
}

static void print_board(const cli_opts_t *o, json_t *j, const char *last)
{
    if (o->json) {
        if (last)
            json_object_set_new(j, "event", json_string(last));
        cli_print_json(json_incref(j));
        return;
    }
    if (isatty(STDOUT_FILENO))
        fputs("\033[H\033[2J", stdout);
#define I(k) (long long) json_integer_value(json_object_get(j, k))
    printf("group %s (%s)  waiting %lld  longest %lld s\n", group.id, rw_hg_strategy_name(group.strategy),
           I("waiting"), I("longest_wait_ms") / 1000);
    printf("joined %lld  offered %lld  answered %lld  abandoned %lld  overflowed %lld  avg wait %lld s\n",
           I("joined"), I("offered"), I("answered"), I("abandoned"), I("overflowed"), I("avg_wait_ms") / 1000);
    printf("SL %u s: %.1f%% of answered, %.1f%% of answered+abandoned\n", group.sl_s,
           json_real_value(json_object_get(j, "sl_pct_answered")),
           json_real_value(json_object_get(j, "sl_pct_offered")));
#undef I
    json_t *iv = json_object_get(j, "interval");
    char since[32];
    cli_format_time((uint64_t) json_integer_value(json_object_get(iv, "start_ms")), since, sizeof since);
#define V(k) (long long) json_integer_value(json_object_get(iv, k))
    printf("since %s: joined %lld  answered %lld (%lld within SL)  abandoned %lld  overflowed %lld\n", since,
           V("joined"), V("answered"), V("answered_sl"), V("abandoned"), V("overflowed"));
#undef V
    const char *k;
    json_t *v;
    printf("agents:");
    json_object_foreach(json_object_get(j, "agents_by_state"), k, v)
        printf(" %s %lld", k, (long long) json_integer_value(v));
    putchar('\n');
    json_object_foreach(json_object_get(j, "agents"), k, v)
        printf("  %-16s %s\n", k, json_string_value(v));
    if (last)
        printf("last: %s\n", last);
    fflush(stdout);
}

typedef struct {
    const cli_opts_t *o;
    su_root_t *root;
    rw_redis_t *redis;
    rw_sub_t *sub;
    unsigned seen;
    char eps_key[2048];              /* the endpoints last set, joined, to see a change */
} watch_t;

static void watch_refresh(watch_t *w)
{
    const char *eps[16];
    char joined[2048] = "";
    size_t n = 0, at = 0;
    redisReply *m = rw_redis_command(w->redis, "ZRANGEBYSCORE rw:svc:huntgroup.events %llu +inf",
                                     (unsigned long long) rw_clock_wall_ms());
    for (size_t i = 0; m && m->type == REDIS_REPLY_ARRAY && i < m->elements && n < 16; i++) {
        const char *bar = strchr(m->element[i]->str, '|');
        if (bar && bar[1]) {
            eps[n++] = bar + 1;
            at += (size_t) snprintf(joined + at, at < sizeof joined ? sizeof joined - at : 0, "%s,", bar + 1);
        }
    }
    if (strcmp(joined, w->eps_key)) {
        snprintf(w->eps_key, sizeof w->eps_key, "%s", joined);
        rw_sub_set_endpoints(w->sub, eps, n);
    }
    if (m)
        freeReplyObject(m);
}

static void on_queue_event(void *arg, const rw_event_t *e, rw_seq_status_t st)
{
    watch_t *w = arg;
    char line[400];
    (void) st;
    if (strcmp(e->queue.group, group.id))
        return;
    snprintf(line, sizeof line, "%s%s%s%s%s%s%s", e->type, e->queue.call_id[0] ? " call=" : "", e->queue.call_id,
             e->queue.agent[0] ? " agent=" : "", e->queue.agent, e->queue.state[0] ? " state=" : "",
             e->queue.state);
    json_t *j = queue_snapshot(w->redis, group.id);
    print_board(w->o, j, line);
    json_decref(j);
    if (w->o->count && ++w->seen >= w->o->count)
        su_root_break(w->root);
}

static void on_tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m, (void) t;
    watch_refresh((watch_t *) arg);
}

static void on_stop(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void) m, (void) t;
    su_root_break(((watch_t *) arg)->root);
}

static int queue_watch(const cli_opts_t *o, rw_redis_t *r)
{
    static watch_t w;
    int rc = CLI_FAILED;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.redis = r;
    su_init();
    w.root = su_root_create(NULL);
    w.sub = w.root ? rw_sub_new(w.root, on_queue_event, &w, NULL) : NULL;
    su_timer_t *tick = w.root ? su_timer_create(su_root_task(w.root), 1000) : NULL;
    su_timer_t *stop = w.root ? su_timer_create(su_root_task(w.root), o->for_s ? o->for_s * 1000u : 1) : NULL;
    if (!w.sub || !tick || !stop || rw_sub_subscribe(w.sub, "queue.") < 0) {
        cli_fail(o, "could not open the event subscriber");
    } else {
        json_t *j = queue_snapshot(r, group.id);
        print_board(o, j, NULL);
        json_decref(j);
        watch_refresh(&w);
        su_timer_set_for_ever(tick, on_tick, (su_timer_arg_t *) &w);
        if (!o->follow)
            su_timer_set(stop, on_stop, (su_timer_arg_t *) &w);
        if (o->follow || o->for_s)
            su_root_run(w.root);
        rc = CLI_OK;
    }
    if (tick)
        su_timer_destroy(tick);
    if (stop)
        su_timer_destroy(stop);
    rw_sub_destroy(&w.sub);
    if (w.root)
        su_root_destroy(w.root);
    su_deinit();
    return rc;
}

static int queue_cmd(const cli_opts_t *o, rw_redis_t *r, const char **a)
{
    int rc = load(o, r, a[2]);
    if (rc != CLI_OK)
        return rc;
    if (!strcmp(a[1], "watch"))
        return queue_watch(o, r);
    json_t *j = queue_snapshot(r, group.id);
    print_board(o, j, NULL);
    json_decref(j);
    return CLI_OK;
}

int cli_group_command(const cli_opts_t *o, int n, const char **args)
{
    rw_redis_t *r = connect_redis(o);
    int rc;
    if (!r)
        return CLI_FAILED;
    if (!strcmp(args[0], "group"))
        rc = group_cmd(o, r, n, args);
    else if (!strcmp(args[0], "member"))
        rc = member_cmd(o, r, n, args);
    else if (!strcmp(args[0], "agent"))
        rc = agent_cmd(o, r, n, args);
    else
        rc = queue_cmd(o, r, args);
    rw_redis_destroy(&r);
    return rc;
}
