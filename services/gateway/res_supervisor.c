/* services/gateway/res_supervisor.c — a hunt group's wallboard for its supervisors and admins
 * (gw_may_group): the board now (waiting callers with their waits, agents by state, longest
 * wait, service levels: directory/dir_board.c, the reader `ringway queue show` uses), the
 * figures per 15-minute interval, and the same board live as server-sent events: every
 * queue.* event of the group and every presence change the event hub (events.c) receives
 * sends the board again, re-read from Redis, so a page only redraws. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "directory/dir_board.h"
#include "directory/dir_groups.h"
#include "services/gateway/api.h"
#include "services/gateway/events.h"
#include "services/gateway/gateway.h"
#include "services/gateway/res_common.h"

#define GID (req->params[0])
#define SSE_WAIT_MS 1000u            /* one wait of the stream callback, then it returns */
#define SSE_KEEPALIVE_MS 15000u      /* a comment line when nothing else was sent that long */
#define STATS_MAX_INTERVALS 96       /* one day of 15-minute intervals per answer */

/* The group, or an error answered (404, 503). g is heap memory: rw_group_t is 20 KB. */
static rw_group_t *load_group(rw_redis_t *redis, gw_resp_t *r, const char *id)
{
    rw_group_t *g = malloc(sizeof *g);
    int rc = g ? rw_dir_group_get(redis, id, g) : RW_ENOMEM;
    if (rc == 0)
        return g;
    free(g);
    if (rc == RW_ENOTFOUND)
        gw_error(r, 404, "not_found", "no hunt group '%s'", id);
    else
        gw_dir_error(r, rc, rc == RW_EPROTO ? "the stored group no longer parses" : "redis unreachable");
    return NULL;
}

/* The live board: rw_hg_board with the waiting callers, and the group's settings a wallboard
 * shows next to it. */
static json_t *board_json(rw_redis_t *redis, const rw_group_t *g)
{
    json_t *b = rw_hg_board(redis, g, rw_clock_wall_ms(), true);
    json_object_set_new(b, "name", json_string(g->name));
    json_object_set_new(b, "strategy", json_string(rw_hg_strategy_name(g->strategy)));
    json_object_set_new(b, "sl_s", json_integer(g->sl_s));
    json_object_set_new(b, "now_ms", json_integer((json_int_t) rw_clock_wall_ms()));
    return b;
}

static void get_live(gw_req_t *req, gw_resp_t *r)
{
    if (!gw_may_group(req, r, GID))
        return;
    rw_group_t *g = load_group(req->redis, r, GID);
    if (!g)
        return;
    gw_json(r, 200, board_json(req->redis, g));
    free(g);
}

/* ?interval=T: the 15-minute interval holding T; ?from=T&to=T: every interval between (at most
 * a day's); neither: the totals and the current interval. */
static void get_stats(gw_req_t *req, gw_resp_t *r)
{
    uint64_t at, from, to, now = rw_clock_wall_ms();
    if (!gw_may_group(req, r, GID) || !gw_time_text(gw_query(req, "interval"), "interval", &at, r) ||
        !gw_time_text(gw_query(req, "from"), "from", &from, r) || !gw_time_text(gw_query(req, "to"), "to", &to, r))
        return;
    rw_group_t *g = load_group(req->redis, r, GID);
    if (!g)
        return;
    json_t *items = json_array();
    if (at) {
        json_array_append_new(items, rw_hg_interval(req->redis, GID, at - at % RW_HG_INTERVAL_MS));
    } else if (from) {
        if (!to)
            to = now;
        if (to < from) {
            json_decref(items);
            free(g);
            gw_error(r, 400, "bad_request", "to: must not be before from");
            return;
        }
        uint64_t start = from - from % RW_HG_INTERVAL_MS;
        for (int n = 0; start <= to && n < STATS_MAX_INTERVALS; n++, start += RW_HG_INTERVAL_MS)
            json_array_append_new(items, rw_hg_interval(req->redis, GID, start));
    } else {
        json_array_append_new(items, rw_hg_interval(req->redis, GID, now - now % RW_HG_INTERVAL_MS));
    }
    json_t *board = rw_hg_board(req->redis, g, now, false);
    json_t *totals = json_object();
    static const char *const keys[] = { "joined", "offered", "answered", "abandoned", "overflowed", "answered_sl",
                                        "wait_sum_ms", "wait_max_ms", "sl_pct_answered", "sl_pct_offered",
                                        "avg_wait_ms" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(totals, keys[i], json_object_get(board, keys[i]));
    json_decref(board);
    gw_json(r, 200, json_pack("{s:s,s:i,s:i,s:o,s:o}", "group", GID, "interval_ms", (int) RW_HG_INTERVAL_MS, "sl_s",
                              (int) g->sl_s, "totals", totals, "items", items));
    free(g);
}

/* ---- server-sent events ----------------------------------------------------------------- */

typedef struct {
    gw_ctx_t *gw;
    gw_events_reader_t *reader;
    rw_redis_t *redis;               /* the stream's own: it outlives the request */
    char group[64];
    char *out;                       /* what is still to be written */
    size_t out_len, out_off;
    bool started;
    uint64_t last_write_ms;          /* monotonic */
    char members[RW_GROUP_MAX_MEMBERS][64];   /* the group's agents at the last board */
    size_t n_members;
} sse_t;

/* A note that may change this group's board: its own queue notes (the hub filters those), and
 * presence changes of its members only, so one person's presence does not redraw every board. */
static bool concerns(const sse_t *s, const gw_events_note_t *n)
{
    if (strcmp(n->type, "presence.changed"))
        return true;
    for (size_t i = 0; i < s->n_members; i++)
        if (!strcmp(s->members[i], n->user))
            return true;
    return false;
}

static void sse_free(void *arg)
{
    sse_t *s = arg;
    if (!s)
        return;
    gw_events_reader_destroy(&s->reader);
    rw_redis_destroy(&s->redis);
    free(s->out);
    free(s);
}

/* One message: "event: <type>\ndata: <board JSON>\n\n" (the board carries the note's type and
 * call id in "event"). */
static void sse_message(sse_t *s, const char *type, const gw_events_note_t *note, uint64_t skipped)
{
    rw_group_t *g = malloc(sizeof *g);
    json_t *board = NULL;
    if (g && rw_dir_group_get(s->redis, s->group, g) == 0) {
        board = board_json(s->redis, g);
        s->n_members = g->n_members;
        for (uint32_t i = 0; i < g->n_members; i++)
            memcpy(s->members[i], g->members[i].user, sizeof s->members[i]);
    }
    free(g);
    if (!board)
        board = json_pack("{s:s,s:s}", "group", s->group, "error", "the board could not be read from Redis");
    if (note)
        json_object_set_new(board, "event", json_pack("{s:s,s:s,s:s,s:I}", "type", note->type, "call_id",
                                                      note->call_id, "user", note->user, "ts_ms",
                                                      (json_int_t) note->ts_ms));
    if (skipped)
        json_object_set_new(board, "skipped", json_integer((json_int_t) skipped));
    char *data = json_dumps(board, JSON_COMPACT);
    json_decref(board);
    if (!data)
        return;
    size_t need = strlen(type) + strlen(data) + 32;
    char *msg = malloc(need);
    if (msg) {
        int n = snprintf(msg, need, "event: %s\ndata: %s\n\n", type, data);
        free(s->out);
        s->out = msg;
        s->out_len = (size_t) n;
        s->out_off = 0;
    }
    free(data);
}

static void sse_text(sse_t *s, const char *text)
{
    free(s->out);
    s->out = strdup(text);
    s->out_len = s->out ? strlen(text) : 0;
    s->out_off = 0;
}

static long sse_next(void *arg, char *buf, size_t max)
{
    sse_t *s = arg;
    uint64_t now = rw_clock_mono_ms();
    if (s->out_off >= s->out_len) {
        gw_events_note_t note;
        uint64_t skipped = 0;
        if (atomic_load(&s->gw->stopping))
            return -1;
        if (!s->started) {
            s->started = true;
            sse_message(s, "snapshot", NULL, 0);
        } else {
            int rc = gw_events_wait(s->reader, SSE_WAIT_MS, &note, &skipped);
            if (rc < 0)
                return -1;
            if (rc > 0 && concerns(s, &note)) {
                sse_message(s, note.type, &note, skipped);
            } else if (now - s->last_write_ms >= SSE_KEEPALIVE_MS) {
                sse_text(s, ": keepalive\n\n");
            } else {
                return 0;
            }
        }
    }
    size_t n = s->out_len - s->out_off;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    s->last_write_ms = now;
    return (long) n;
}

static void get_events(gw_req_t *req, gw_resp_t *r)
{
    if (!gw_may_group(req, r, GID))
        return;
    rw_group_t *g = load_group(req->redis, r, GID);
    if (!g)
        return;
    free(g);
    gw_events_t *hub = gw_events_hub();
    sse_t *s = hub ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        gw_error(r, 503, "unavailable", "live events are not available on this gateway (no event hub)");
        return;
    }
    s->gw = req->gw;
    snprintf(s->group, sizeof s->group, "%s", GID);
    s->reader = gw_events_reader_new(hub, GID);
    s->redis = rw_redis_new(&req->gw->redis_opts);
    s->last_write_ms = rw_clock_mono_ms();
    if (!s->reader || !s->redis) {
        sse_free(s);
        gw_error(r, 503, "unavailable", "the event stream could not start");
        return;
    }
    r->status = 200;
    r->stream = sse_next;
    r->stream_arg = s;
    r->stream_free = sse_free;
}

const gw_route_t gw_routes_supervisor[] = {
    { "GET", "/api/v1/groups/{id}/live", GW_ROLE_ANY, get_live },
    { "GET", "/api/v1/groups/{id}/stats", GW_ROLE_ANY, get_stats },
    { "GET", "/api/v1/groups/{id}/events", GW_ROLE_ANY, get_events },
    { NULL, NULL, 0, NULL },
};
