/* protocols/events.h — every event published on the bus, and its msgpack encoding.
 * An event is an envelope every event shares (type, id, publisher, epoch, seq, ts_ms, version)
 * plus a typed body chosen by the family of its type ("call.*", "reg.*", "presence.*",
 * "queue.*", "calendar.*", "directory.*"). Fixed-size buffers only: decoding never allocates
 * per field and never keeps pointers into the input. Wire format: docs/protocol.md. */
#ifndef RW_PROTO_EVENTS_H
#define RW_PROTO_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define RW_EVENT_VERSION 1            /* the major version this code writes and reads */

typedef enum {
    RW_EVF_UNKNOWN = 0,               /* a type outside the families below: envelope only */
    RW_EVF_CALL,                      /* call.offered, .ringing, .answered, .ended, .failed */
    RW_EVF_REG,                       /* reg.bound, reg.unbound, reg.expired */
    RW_EVF_PRESENCE,                  /* presence.changed */
    RW_EVF_QUEUE,                     /* queue.joined, .left, .offered, .answered, .abandoned,
                                         .agent_state */
    RW_EVF_CALENDAR,                  /* calendar.meeting_started, .meeting_ended, .divert_set,
                                         .divert_cleared */
    RW_EVF_DIRECTORY,                 /* directory.changed */
} rw_event_family_t;

typedef enum {                        /* which fallback delivered a call, if any */
    RW_FALLBACK_NONE = 0,             /* the router answered in time */
    RW_FALLBACK_LAST_PLAN,            /* the last plan sip-edge got for the user (Redis unavailable) */
    RW_FALLBACK_DEVICES,              /* straight to the user's registered devices */
    RW_FALLBACK_EVALUATED,            /* the user's settings evaluated by sip-edge itself */
} rw_fallback_t;

typedef enum {
    RW_PRESENCE_AVAILABLE = 0,
    RW_PRESENCE_BUSY,
    RW_PRESENCE_AWAY,
    RW_PRESENCE_IN_MEETING,
    RW_PRESENCE_DND,
    RW_PRESENCE_OFFLINE,
} rw_presence_state_t;

typedef struct {                      /* call.* */
    char call_id[128];                /* required */
    char user[64];                    /* the Ringway user the call was routed to, "" if none */
    char from[128];                   /* caller (number, extension or SIP URI user) */
    char to[128];                     /* what was dialled */
    char target[256];                 /* where it rang / was answered (contact URI or number) */
    int32_t cause;                    /* SIP status (486, 480, 200...), 0 = none yet */
    char reason[64];                  /* "no-answer", "busy", "cancelled", ... */
    rw_fallback_t fallback;
    uint64_t pdd_ms;                  /* post-dial delay: INVITE to first ringing */
    uint64_t talk_ms;                 /* answered to ended */
} rw_ev_call_t;

typedef struct {                      /* reg.* */
    char aor[128];                    /* required, "sip:2001@realm" */
    char contact[256];
    uint32_t expires;                 /* seconds */
    char instance[128];               /* +sip.instance, "" if none */
    char user_agent[128];
    char device[64];                  /* the user's device id the binding belongs to, "" if none */
} rw_ev_reg_t;

typedef struct {                      /* presence.changed */
    char user[64];                    /* required */
    rw_presence_state_t state;        /* required */
    char source[32];                  /* "registration", "call", "manual", "calendar" */
    uint64_t until_ms;                /* wall clock when the state ends by itself, 0 = open */
    char activity[16];                /* calls of the user: "idle", "ringing", "on_call";
                                         "" = not given (optional on the wire) */
} rw_ev_presence_t;

typedef struct {                      /* queue.* */
    char group[64];                   /* required, hunt group id */
    char call_id[128];
    char agent[64];                   /* user id of the agent, "" if none */
    uint32_t position;                /* 1 = next to be offered, 0 = not queued */
    uint64_t wait_ms;
    char state[32];                   /* queue.agent_state: "available", "on_call", "wrap_up",
                                         "logged_out" */
} rw_ev_queue_t;

typedef struct {                      /* calendar.* */
    char user[64];                    /* required */
    char uid[256];                    /* iCalendar UID of the meeting */
    uint64_t start_ms, end_ms;        /* wall clock, ms since the epoch */
    char summary[128];                /* truncated by the publisher, never by the decoder */
} rw_ev_calendar_t;

typedef struct {                      /* directory.changed */
    char user[64];                    /* required */
    char what[64];                    /* "profile", "rules", "devices", "deleted", ... */
} rw_ev_directory_t;

typedef struct {
    /* Envelope (all required on the wire). */
    char type[48];                    /* topic, e.g. "call.offered": [a-z0-9_.-], 1..47 chars */
    char id[128];                     /* unique; the bus writes "<pub>/<epoch>/<family>/<seq>" */
    char publisher[64];               /* instance id of the publisher, 1..63 chars */
    uint64_t epoch;                   /* publisher start time, microseconds since the epoch */
    uint64_t seq;                     /* from 1, per publisher, epoch and family (docs/bus.md) */
    uint64_t ts_ms;                   /* when the fact happened, ms since the epoch */
    uint32_t version;                 /* wire major version; 0 when encoding = RW_EVENT_VERSION */
    /* Body: the member for rw_proto_event_family(type); the others are unused. */
    union {
        rw_ev_call_t call;
        rw_ev_reg_t reg;
        rw_ev_presence_t presence;
        rw_ev_queue_t queue;
        rw_ev_calendar_t calendar;
        rw_ev_directory_t directory;
    };
} rw_event_t;

/* The family of a topic string, by its prefix up to the first dot; RW_EVF_UNKNOWN if none. */
rw_event_family_t rw_proto_event_family(const char *type);
/* "call", "reg", "presence", "queue", "calendar", "directory", "unknown". Never NULL. */
const char *rw_proto_event_family_name(rw_event_family_t family);
/* Zeroes *ev, copies type (RW_ERANGE if longer than 47, RW_EINVAL if not a valid topic) and
 * sets version to RW_EVENT_VERSION. The caller then fills the rest of the envelope and body. */
int rw_proto_event_init(rw_event_t *ev, const char *type);

/* Appends one msgpack map to `out` (initialised by the caller). RW_EINVAL for an invalid type
 * or an empty publisher / id or a missing required body field, RW_ERANGE for a string not
 * NUL-terminated inside its buffer. On error `out` may hold a partial message: reset it. */
int rw_proto_event_encode(const rw_event_t *ev, msgpack_sbuffer *out);
/* Decodes exactly one message of `len` bytes into *ev (zeroed first). 0, RW_EPROTO (malformed,
 * wrong type, missing field, unknown major version, trailing bytes) or RW_ERANGE (a string or
 * the message beyond its limit). Unknown keys are ignored; an unknown family decodes the
 * envelope only. Never crashes, never allocates more than a bound proportional to `len`. */
int rw_proto_event_decode(const void *data, size_t len, rw_event_t *ev);

/* Field-by-field equality of the envelope and of the body of the family (tests, fuzzers). */
bool rw_proto_event_equal(const rw_event_t *a, const rw_event_t *b);

#endif
