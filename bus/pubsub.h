/* bus/pubsub.h — events over ZeroMQ PUB/SUB with per-publisher sequence tracking.
 * Part of bus.h. A publisher owns its socket; a subscriber owns its socket and its table of
 * publishers seen. Events handed to the callback are valid during the call only. */
#ifndef RW_BUS_PUBSUB_H
#define RW_BUS_PUBSUB_H

#include <stdint.h>
#include "bus/loop.h"
#include "common/metrics.h"
#include "protocols/events.h"

/* ---- Publish/subscribe (bus/pubsub.c) ---------------------------------------------------
 * Frames [type][msgpack event]. A publisher stamps each event with its id, an epoch (its
 * creation time in µs, fixed for the object's life) and a seq counted 1, 2, 3... per FAMILY
 * (the type up to its first dot: "call", "reg", ...), so a subscriber of "call." sees an
 * unbroken sequence even though the same publisher also sends "reg." events it filters out.
 * ev->id is "<publisher>/<epoch>/<family>/<seq>". A subscriber tracks (epoch, seq) per
 * (publisher, family) and says how each event relates to the ones it saw. */
typedef struct rw_pub rw_pub_t;
typedef struct rw_sub rw_sub_t;

/* bind e.g. "tcp://127.0.0.1:7101", "tcp://127.0.0.1:0" (any port) or "ipc:///run/x.sock".
 * publisher_id: 1..63 bytes, no '/'. NULL on a bad argument or a failed bind. */
rw_pub_t *rw_pub_new(su_root_t *root, const char *publisher_id, const char *bind_endpoint);
void rw_pub_destroy(rw_pub_t **self);
/* The endpoint actually bound (the real port when ":0" was asked). */
const char *rw_pub_endpoint(const rw_pub_t *self);
/* Fills ev->publisher, epoch, seq, id, version (RW_EVENT_VERSION when 0) and ts_ms (now, when
 * the caller left it 0: it may give the time the fact happened), encodes and sends
 * [ev->type][payload]. ev->type must be set (rw_proto_event_init()). A PUB never blocks:
 * subscribers that are slow lose events, and see a gap. RW_EINVAL for a bad event, RW_EIO
 * when ZeroMQ refused the send (the seq is used anyway, so subscribers see the loss). */
int rw_pub_publish(rw_pub_t *self, rw_event_t *ev);
/* Last seq used in a family ("call"), 0 before the first. */
uint64_t rw_pub_seq(const rw_pub_t *self, const char *family);
uint64_t rw_pub_epoch(const rw_pub_t *self);

typedef enum {
    RW_SEQ_OK = 0,      /* the next event of a known publisher and family, or the first seen */
    RW_SEQ_GAP,         /* events were missed: `missed` says how many; ev is delivered */
    RW_SEQ_DUP,         /* seq at or below one already seen in this epoch: delivered, flagged */
    RW_SEQ_RESTART,     /* a newer epoch from a known publisher: it restarted and events may
                         * be lost; `missed` = seq - 1 (events of the new epoch not seen) */
} rw_seq_kind_t;

typedef struct {
    rw_seq_kind_t kind;
    uint64_t missed;    /* RW_SEQ_GAP: seq numbers skipped; else 0 */
} rw_seq_status_t;

/* ev is valid during the call only. Every decoded event is delivered, duplicates included
 * (flagged RW_SEQ_DUP): consumers tolerate duplicates; after a GAP or RESTART they should
 * re-read the state they keep from Redis. An older epoch than the known one is RW_SEQ_DUP. */
typedef void rw_sub_fn(void *arg, const rw_event_t *ev, rw_seq_status_t st);

typedef struct {
    uint64_t received;   /* well-formed events delivered */
    uint64_t ok, gaps, missed, dups, restarts;
    uint64_t bad_frames; /* messages dropped: wrong frame count, undecodable, type mismatch */
} rw_sub_stats_t;

/* metrics may be NULL; else counters bus_sub_*_total are registered there. */
rw_sub_t *rw_sub_new(su_root_t *root, rw_sub_fn *fn, void *arg, rw_metrics_t *metrics);
void rw_sub_destroy(rw_sub_t **self);
/* Connect to one publisher (may be called for many; ZeroMQ reconnects by itself). */
int rw_sub_connect(rw_sub_t *self, const char *endpoint);
int rw_sub_disconnect(rw_sub_t *self, const char *endpoint);
/* Make the set of publishers exactly these (e.g. from a discovery watcher): connects new
 * endpoints, disconnects removed ones. RW_EINVAL if some endpoint was refused (others apply). */
int rw_sub_set_endpoints(rw_sub_t *self, const char *const *endpoints, size_t n);
/* prefix must end with '.' ("call.", "presence."), so "call." never matches "callback.x";
 * RW_EINVAL otherwise. Subscribe to whole families: with a narrower prefix the events of the
 * family that are filtered out would show as gaps. Events published before the subscription
 * reaches the publisher are lost (ZeroMQ's slow joiner): the first event seen is RW_SEQ_OK. */
int rw_sub_subscribe(rw_sub_t *self, const char *prefix);
int rw_sub_unsubscribe(rw_sub_t *self, const char *prefix);
void rw_sub_stats(const rw_sub_t *self, rw_sub_stats_t *out);

#endif
