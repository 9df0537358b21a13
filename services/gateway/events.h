/* services/gateway/events.h — the gateway's event hub: queue.* and presence.changed events from
 * the bus, kept in a bounded ring, read by the server-sent-event streams of
 * GET /api/v1/groups/{id}/events.
 * The hub is created in the gateway's loop thread: it subscribes to the publishers it finds in
 * the registry (discovery, docs/bus.md), read as soon as the Redis connection is up (then every
 * poll_ms), and appends every event it receives to a ring of
 * `capacity` notes under a mutex, then wakes the readers (condition variable). Readers are the
 * SSE connection threads: each waits for the notes of its group, bounded in time. Nobody ever
 * waits for a reader: a reader that falls more than `capacity` notes behind skips ahead to the
 * oldest note kept (and is told how many it missed). One hub per process: the resources find it
 * with gw_events_hub().
 * The hub also records each user's recent calls from the call.* events (GW_CALLS_KEEP per user,
 * docs/gateway.md "Recent calls"): nothing else keeps a call history, and the gateway is what
 * shows it. */
#ifndef RW_GW_EVENTS_H
#define RW_GW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sofia-sip/su_wait.h>
#include "common/metrics.h"
#include "common/redis.h"
#include "protocols/events.h"

typedef struct gw_events gw_events_t;
typedef struct gw_events_reader gw_events_reader_t;

typedef struct {
    const char *queue_events;      /* registry name of the queue.* publishers, "huntgroup.events";
                                      NULL or "": none followed */
    const char *presence_events;   /* registry name of the presence.changed publishers,
                                      "presence.events"; NULL or "": none followed */
    size_t capacity;               /* notes kept in the ring; 0 = 1024 */
    const char *call_events;       /* registry name of the call.* publishers whose ended and
                                      failed calls are recorded as each user's recent calls
                                      (rw:recent:<user>); NULL: "sip_edge.events"; "": none */
    unsigned poll_ms;              /* the registries are read again every poll_ms; 0 = 1000 */
} gw_events_opts_t;

/* Recent calls: a capped list per user, newest first, written once per call and user however
 * many gateways record (a marker key per call decides, in the same script). */
#define GW_CALLS_KEEP 50                     /* entries kept per user */
#define GW_CALLS_SEEN_MS (24u * 3600u * 1000u) /* how long a call's "recorded" marker lives */

/* One note of the ring: what happened, to which group or user. */
typedef struct {
    uint64_t seq;                  /* 1, 2, 3... in the order the hub received them */
    char type[48];                 /* "queue.joined", "presence.changed", ... */
    char group[64];                /* queue.*: the hunt group; "" for presence.changed */
    char user[64];                 /* presence.changed: the user; queue.*: the agent or "" */
    char call_id[128];             /* queue.*: the caller's call, "" otherwise */
    uint64_t ts_ms;                /* when the fact happened (the event's ts_ms) */
} gw_events_note_t;

/* In the loop thread of `root`. redis (the service's asynchronous connection, for discovery)
 * must outlive the hub; m may be NULL. NULL when out of memory or when a hub already exists.
 * The registries are first read the moment redis is connected (at once when it already is):
 * the hub takes redis's state callback (rw_aredis_on_state) and gives it back when destroyed. */
gw_events_t *gw_events_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *m,
                           const gw_events_opts_t *opts);
/* Wakes every reader so their streams end (gw_events_wait answers -1 from then on). Call it
 * before stopping the HTTP daemon, so no SSE connection keeps the daemon waiting. Any thread. */
void gw_events_close(gw_events_t *self);
/* In the loop thread, after the HTTP daemon has stopped (no reader is left). */
void gw_events_destroy(gw_events_t **self);
/* The process's hub, or NULL (no hub: the gateway runs without a bus). */
gw_events_t *gw_events_hub(void);

/* Appends one event (the hub's subscription calls this; tests call it directly). Events of
 * other families are ignored. Any thread. */
void gw_events_feed(gw_events_t *self, const rw_event_t *ev);
/* The JSON record of an ended or failed call for the user's recent calls (malloc'd), NULL for
 * any other event or a call without a user. */
char *gw_events_call_record(const rw_event_t *ev);
/* The script that records it: KEYS rw:recent:seen:<user>:<call id>, rw:recent:<user>; ARGV the
 * record, GW_CALLS_KEEP, GW_CALLS_SEEN_MS. 1 when recorded, 0 when already there. */
extern const char gw_calls_record_lua[];

/* A reader starts after the newest note: it sees what arrives from now on. group: only the
 * queue.* notes of that hunt group, plus every presence.changed note (an agent's presence
 * changes the group's board); NULL: every note. NULL when out of memory or closed. */
gw_events_reader_t *gw_events_reader_new(gw_events_t *hub, const char *group);
void gw_events_reader_destroy(gw_events_reader_t **self);
/* Waits up to timeout_ms for the reader's next note. 1: *note filled; 0: nothing in time;
 * -1: the hub was closed. *skipped (may be NULL) gets how many notes the reader lost by being
 * more than `capacity` notes behind since the last call. */
int gw_events_wait(gw_events_reader_t *self, unsigned timeout_ms, gw_events_note_t *note,
                   uint64_t *skipped);

#endif
