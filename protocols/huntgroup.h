/* protocols/huntgroup.h — the hunt group request (sip-edge, the CLI -> huntgroup) and its reply,
 * their msgpack encoding, and the queue.* event helper.
 * One request shape for every operation: "next" (an agent for this call, or wait, or overflow),
 * "outcome" (what happened to an offer: answered, no_answer, busy, caller_gone, ended), "agent"
 * (log in / out, pause, resume, status: feature codes), "stats" (a group's figures).
 * Fixed sizes only; decoders treat input as hostile (RW_EPROTO / RW_ERANGE, never a crash, no
 * pointers kept into the input). Wire format and the call flow: docs/protocol.md, docs/huntgroup.md. */
#ifndef RW_PROTO_HUNTGROUP_H
#define RW_PROTO_HUNTGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "protocols/events.h"

#define RW_HG_VERSION 1               /* the major version this code writes and reads */
#define RW_HG_MAX_AGENTS 16           /* agents in one offer (ringall, ring_progressive) */
#define RW_HG_MAX_STATS 24            /* name/value pairs in a stats reply */

typedef enum { RW_HGOP_NEXT = 0, RW_HGOP_OUTCOME, RW_HGOP_AGENT, RW_HGOP_STATS } rw_hg_op_t;

typedef enum {
    RW_HGR_NONE = 0, RW_HGR_ANSWERED, RW_HGR_NO_ANSWER, RW_HGR_BUSY, RW_HGR_CALLER_GONE,
    RW_HGR_ENDED
} rw_hg_result_t;

typedef struct {
    rw_hg_op_t op;                    /* required */
    char call_id[128];                /* next, outcome: required */
    char group[64];                   /* next, stats: required; agent: "" = all of the agent's */
    char caller[128];                 /* next: E.164 or extension (priority, caller skills) */
    char dialled[128];                /* next: the number the caller dialled (dialled skills) */
    char agent[64];                   /* outcome: the agent ("" = every agent offered the call);
                                         agent: the user, required */
    rw_hg_result_t result;            /* outcome: required */
    uint64_t talk_ms;                 /* outcome ended: how long the agent talked */
    char agent_op[16];                /* agent: "login", "logout", "pause", "resume", "status" */
    char reason[64];                  /* agent pause: required */
    uint64_t interval_ms;             /* stats: start of a 15-minute interval (ms since the epoch,
                                         a multiple of 900000) for its figures; 0 = totals */
} rw_hg_req_t;

typedef enum {
    RW_HGS_OFFER = 0,                 /* ring agents[] for ring_ms; ask again after retry_ms */
    RW_HGS_WAIT,                      /* nobody yet: keep the caller, ask again after retry_ms */
    RW_HGS_OVERFLOW,                  /* leave the queue: carry out `overflow` */
    RW_HGS_DONE,                      /* an outcome or agent operation was applied */
    RW_HGS_STATS,                     /* stats[] holds the group's figures */
    RW_HGS_ERROR,                     /* reason says why (unknown group, Redis away...) */
} rw_hg_status_t;

typedef struct {
    char user[64];
    char device[64];                  /* "" = every device of the user */
} rw_hg_agent_t;

typedef struct {
    char name[32];
    uint64_t value;
} rw_hg_stat_t;

typedef struct {
    char call_id[128];                /* echoes the request ("" for agent and stats) */
    rw_hg_status_t status;            /* required */
    char reason[128];                 /* human-readable: why wait, why overflow, the error */
    uint32_t ring_ms;                 /* offer: how long each agent rings */
    uint32_t retry_ms;                /* offer, wait: when to ask "next" again */
    uint32_t position;                /* 1 = next to be served, 0 = not queued */
    char overflow[160];               /* overflow: "busy", "group:ID", "number:+E164",
                                         "voicemail:USER" */
    uint32_t n_agents;                /* offer: every agent the call is offered to now */
    rw_hg_agent_t agents[RW_HG_MAX_AGENTS];
    char state[16];                   /* agent: the agent's state after the operation */
    uint32_t n_stats;
    rw_hg_stat_t stats[RW_HG_MAX_STATS];
} rw_hg_reply_t;

/* Encoders append one msgpack map to `out`. RW_EINVAL for a missing required field (per op),
 * RW_ERANGE for a count beyond its limit or an unterminated string. */
int rw_proto_hg_req_encode(const rw_hg_req_t *req, msgpack_sbuffer *out);
int rw_proto_hg_reply_encode(const rw_hg_reply_t *rep, msgpack_sbuffer *out);
/* Decode exactly one message into *out (zeroed first; zeroed again on failure). 0, RW_EPROTO
 * (malformed, wrong type, a field the op requires missing, unknown major version, trailing
 * bytes) or RW_ERANGE (a string, array or the message beyond its limit). Unknown keys ignored. */
int rw_proto_hg_req_decode(const void *data, size_t len, rw_hg_req_t *out);
int rw_proto_hg_reply_decode(const void *data, size_t len, rw_hg_reply_t *out);

bool rw_proto_hg_req_equal(const rw_hg_req_t *a, const rw_hg_req_t *b);
bool rw_proto_hg_reply_equal(const rw_hg_reply_t *a, const rw_hg_reply_t *b);

/* Wire names ("next", "answered", "offer", ...); NULL for an unknown value. And back: the
 * value, or -1. */
const char *rw_proto_hg_op_name(rw_hg_op_t op);
const char *rw_proto_hg_result_name(rw_hg_result_t r);
const char *rw_proto_hg_status_name(rw_hg_status_t s);
int rw_proto_hg_result_parse(const char *name);
int rw_proto_hg_status_parse(const char *name);

/* A queue.* event ready for rw_pub_publish(): type ("queue.joined"...), group, agent, state,
 * call_id, position, wait_ms; strings truncated to their fields. RW_EINVAL for a type outside
 * queue.* or an empty group. */
int rw_proto_hg_event(rw_event_t *ev, const char *type, const char *group, const char *agent,
                      const char *state, const char *call_id, uint32_t position, uint64_t wait_ms);

#endif
