/* directory/dir_board.h — a hunt group's board as Redis holds it now: waiting callers, agents by
 * state, longest wait, the totals and a 15-minute interval's figures with the two service
 * levels (docs/huntgroup.md, "Statistics"). One reader for `ringway queue show/watch` and the
 * gateway's GET /groups/{id}/live, /stats and /events, so the maths exist once. Blocking Redis
 * connection; reads only. */
#ifndef RW_DIR_BOARD_H
#define RW_DIR_BOARD_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "common/redis.h"
#include "directory/dir_groups.h"

#define RW_HG_INTERVAL_MS 900000u    /* the statistics' interval: 15 minutes */

/* The board of group g at now_ms (new reference): joined, offered, answered, abandoned,
 * overflowed, answered_sl, wait_sum_ms, wait_max_ms (totals), sl_pct_answered, sl_pct_offered,
 * avg_wait_ms, interval (the current interval's figures and start_ms), waiting,
 * longest_wait_ms, group, agents (user -> state), agents_by_state (state -> count). With
 * callers, also "callers": the waiting callers in queue order, [{call_id, caller, position,
 * wait_ms}]. */
json_t *rw_hg_board(rw_redis_t *r, const rw_group_t *g, uint64_t now_ms, bool callers);
/* The figures of the interval starting at start_ms (a multiple of RW_HG_INTERVAL_MS) with its
 * two service levels and average wait (new reference). */
json_t *rw_hg_interval(rw_redis_t *r, const char *gid, uint64_t start_ms);
/* The agent's state as the decision script sees it at now_ms in group gid (wrap-up and offers
 * end by time): "logged_out", "available", "offered", "on_call", "wrap_up", "paused". */
void rw_hg_agent_state(rw_redis_t *r, const char *user, const char *gid, uint64_t now_ms, char *out,
                       size_t len);

#endif
