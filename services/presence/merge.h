/* services/presence/merge.h — the presence merge: every change to a user's presence (a call or
 * registration event, a manual setting, a calendar entry, a reconciliation pass) is one run of
 * one Lua script in Redis (merge.lua; semantics in docs/presence.md), which recomputes the
 * effective state rw:presence:<id> from the sources and reports it only when it changed. This
 * module builds the script's arguments and reads its reply; it keeps no state and reads no
 * clock: callers pass the time. The CLI links it too (`ringway presence set`). */
#ifndef RW_PRESENCE_MERGE_H
#define RW_PRESENCE_MERGE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include "common/redis.h"
#include "protocols/events.h"

extern const char rw_presence_merge_lua[];   /* generated from merge.lua at configure time */

#define RW_PRES_MAX_CHANGES 1024        /* changes one run may report (a sync batch's users) */
#define RW_PRES_FIXED_ARGC 7            /* op, now, ringing max, call max, registry, notify,
                                           calls_live */

typedef struct {
    uint64_t ringing_max_ms;            /* a call ringing longer than this is forgotten */
    uint64_t call_max_ms;               /* an answered call older than this is forgotten */
    const char *call_registry;          /* registry name of the call.* publishers ("" = none) */
    int notify;                         /* 1: changes also queued in rw:presence:events */
    uint64_t calls_live_ms;             /* a call noted longer ago than this that its sip-edge
                                           process no longer lists in rw:calls:<publisher> is
                                           forgotten; 0 = not checked */
} rw_pres_policy_t;

/* The service's defaults (docs/configuration.md), for writers that do not read its keys. */
#define RW_PRES_POLICY_DEFAULT { .ringing_max_ms = 180000, .call_max_ms = 14400000, \
                                 .call_registry = "sip_edge.events", .notify = 0, \
                                 .calls_live_ms = 3000 }

typedef struct {                        /* one change the script reported */
    char user[64];
    rw_presence_state_t state;
    char source[32];
    uint64_t until_ms;
    char activity[16];                  /* "idle", "ringing", "on_call" */
} rw_pres_change_t;

typedef struct {
    size_t n;
    size_t dropped;                     /* beyond RW_PRES_MAX_CHANGES */
    rw_pres_change_t ch[RW_PRES_MAX_CHANGES];
} rw_pres_changes_t;

/* The fixed arguments (ARGV 1-7) for op at now_ms into argv; bufs holds the numbers' text and
 * must live until the command is sent. */
typedef struct {
    char now[24], ring[24], call[24], live[24];
} rw_pres_argbuf_t;
void rw_pres_fixed_args(const char *op, uint64_t now_ms, const rw_pres_policy_t *p,
                        rw_pres_argbuf_t *bufs, const char *argv[RW_PRES_FIXED_ARGC]);

/* The state named by a string ("in_meeting"), or -1. */
int rw_pres_state_parse(const char *name);
/* The script's reply into out (emptied first). RW_EPROTO for a reply of the wrong shape or an
 * error reply (its text copied into err when err is not NULL), RW_EIO for no reply. */
int rw_pres_parse(const redisReply *rep, rw_pres_changes_t *out, char *err, size_t err_len);
/* One record of rw:presence:events ("user\tstate\tsource\tuntil_ms\tactivity"); RW_EPROTO
 * when it is not that. */
int rw_pres_change_from_record(const char *rec, rw_pres_change_t *out);
/* Fills a presence.changed event (type, body) from a change; the publisher fills the rest. */
int rw_pres_change_event(const rw_pres_change_t *c, rw_event_t *ev);

/* Blocking runs (the CLI, tests): the script's op with its own arguments (extra, n_extra), by
 * EVAL. out may be NULL. */
int rw_pres_run_sync(rw_redis_t *r, const char *op, uint64_t now_ms, const rw_pres_policy_t *p,
                     const char *const *extra, size_t n_extra, rw_pres_changes_t *out, char *err,
                     size_t err_len);

/* The manual source of a user's presence, as `ringway presence set/clear` and the gateway's
 * PUT/DELETE /api/v1/users/{id}/presence write it: state NULL clears it, until_ms 0 is
 * open-ended. RW_EINVAL with why in err for a state that is not one (available, busy, away,
 * in_meeting, dnd, offline) or an until_ms not after now_ms; then the merge script (with
 * notify: the change is queued for the presence service to publish; RW_EPROTO with its refusal
 * in err, RW_EIO) and the directory's change notice, so caches of the user refresh. */
int rw_pres_manual_set(rw_redis_t *r, const char *user, const char *state, uint64_t until_ms, uint64_t now_ms,
                       char *err, size_t err_len);

#endif
