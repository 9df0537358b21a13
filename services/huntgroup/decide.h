/* services/huntgroup/decide.h — the decision core: every hunt group request is one run of one
 * Lua script in Redis (decide.lua, semantics in docs/huntgroup.md), so the answer is the same
 * whichever instance asks and no agent is ever offered two calls. This module only builds the
 * script's arguments from a request and reads its reply; it keeps no state. The time and the
 * random number are passed in, never read here: tests give their own. */
#ifndef RW_HG_DECIDE_H
#define RW_HG_DECIDE_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include "common/redis.h"
#include "protocols/huntgroup.h"

extern const char rw_hg_decide_lua[];   /* generated from decide.lua at configure time */

#define RW_HG_MAX_EVENTS 64             /* queue.* events one decision may produce */

typedef struct {
    unsigned caller_timeout_ms;         /* a caller not asked for this long is gone */
    unsigned retry_ms;                  /* "ask again" for a waiting caller */
} rw_hg_policy_t;

typedef struct {                        /* one queue.* event the decision produced */
    char type[32], group[64], agent[64], state[64], call_id[128];
    uint32_t position;
    uint64_t wait_ms;
} rw_hg_event_t;

typedef struct {
    size_t n;
    size_t dropped;                     /* beyond RW_HG_MAX_EVENTS */
    rw_hg_event_t ev[RW_HG_MAX_EVENTS];
} rw_hg_events_t;

#define RW_HG_ARGC 13
/* The script's ARGV for a request at now_ms with rnd: argv[] points into bufs (kept by the
 * caller until the command is sent). RW_EINVAL for an op the script does not run (agent). */
typedef struct {
    char now[24], rnd[16], timeout[16], talk[24], retry[16], interval[24];
} rw_hg_argbuf_t;
int rw_hg_decide_args(const rw_hg_req_t *req, uint64_t now_ms, uint32_t rnd, const rw_hg_policy_t *p,
                      rw_hg_argbuf_t *bufs, const char *argv[RW_HG_ARGC]);
/* The script's reply into out (call_id copied from req) and evs (may be NULL). RW_EPROTO for a
 * reply of the wrong shape; a script error becomes an RW_HGS_ERROR reply. */
int rw_hg_decide_parse(const rw_hg_req_t *req, const redisReply *rep, rw_hg_reply_t *out,
                       rw_hg_events_t *evs);
/* The same for the agent script (directory/dir_groups.h, run with defer "0"). */
int rw_hg_agent_parse(const redisReply *rep, rw_hg_reply_t *out, rw_hg_events_t *evs);
/* One queue event from rw:hg:events (JSON [type, group, agent, state, call_id, position,
 * wait_ms]). RW_EPROTO when it is not that. */
int rw_hg_event_from_json(const char *json, rw_hg_event_t *ev);

/* Runs the decision on a blocking connection (tests, bench): EVAL, parse. */
int rw_hg_decide_sync(rw_redis_t *r, const rw_hg_req_t *req, uint64_t now_ms, uint32_t rnd,
                      const rw_hg_policy_t *p, rw_hg_reply_t *out, rw_hg_events_t *evs);

#endif
