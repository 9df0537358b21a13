/* protocols/route.h — the route request (sip-edge -> router), the route plan (router ->
 * sip-edge) with its trace, and their msgpack encoding.
 * All sizes are fixed (no allocation per message: this runs for every call); decoders treat
 * input as hostile and return RW_EPROTO / RW_ERANGE, never crash and never keep pointers into
 * the input. Wire format and limits: docs/protocol.md. */
#ifndef RW_PROTO_ROUTE_H
#define RW_PROTO_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define RW_ROUTE_VERSION 1            /* the major version this code writes and reads */

#define RW_ROUTE_MAX_DIVERSIONS 8     /* users already diverted through (loop protection) */
#define RW_PLAN_MAX_STAGES 8
#define RW_PLAN_MAX_TARGETS 8         /* per stage */
#define RW_PLAN_MAX_TRUNKS 4          /* per number target */
#define RW_PLAN_MAX_TRACE 32          /* trace lines */
#define RW_PLAN_TRACE_LEN 200         /* bytes per trace line, without the NUL */

typedef struct {
    char call_id[128];                /* required: SIP Call-ID */
    char caller[128];                 /* required: E.164, extension or SIP URI user */
    char callee[128];                 /* required: the dialled number / extension */
    char callee_uri[256];             /* optional: the Request-URI as received */
    uint64_t time_ms;                 /* required: wall clock of the call, ms since the epoch */
    char source[64];                  /* required: "device" or "trunk:<name>" */
    uint32_t n_diversions;            /* 0..RW_ROUTE_MAX_DIVERSIONS */
    char diversions[RW_ROUTE_MAX_DIVERSIONS][64];  /* user ids already diverted through */
    bool redirect_mode;               /* the caller only wants "where to?" (302) */
} rw_route_req_t;

typedef enum { RW_PLAN_OK = 0, RW_PLAN_NOT_FOUND, RW_PLAN_ERROR } rw_plan_status_t;

typedef enum {
    RW_TARGET_NONE = 0,               /* only as final_target of a final without a target */
    RW_TARGET_DEVICES,                /* aor: the user's registered devices, expanded by sip-edge */
    RW_TARGET_NUMBER,                 /* number (E.164) through trunks[] in order */
    RW_TARGET_HUNTGROUP,              /* group id, agents chosen by huntgroup */
    RW_TARGET_VOICEMAIL,              /* mailbox id or URI */
} rw_target_type_t;

typedef enum {
    RW_FINAL_BUSY = 0,                /* answer 486 */
    RW_FINAL_UNAVAILABLE,             /* answer 480 */
    RW_FINAL_VOICEMAIL,               /* final_target is a RW_TARGET_VOICEMAIL */
    RW_FINAL_NUMBER,                  /* final_target is a RW_TARGET_NUMBER */
    RW_FINAL_REJECT,                  /* answer 603 */
} rw_final_t;

typedef struct {
    rw_target_type_t type;
    union {                           /* one string; the name says what it holds per type */
        char aor[128];                /* RW_TARGET_DEVICES: "sip:2001@realm" */
        char number[128];             /* RW_TARGET_NUMBER: "+441632960123" */
        char group[128];              /* RW_TARGET_HUNTGROUP: "sales" */
        char mailbox[128];            /* RW_TARGET_VOICEMAIL: "2001" or "sip:vm-2001@realm" */
    };
    uint32_t n_trunks;                /* RW_TARGET_NUMBER only, 0..RW_PLAN_MAX_TRUNKS */
    char trunks[RW_PLAN_MAX_TRUNKS][32];
    char device[64];                  /* RW_TARGET_DEVICES only: the device id whose bindings ring
                                         ("desk"); "" = every binding of the aor */
    bool is_private;                  /* never reveal this target in a 302 (wire key "private") */
    char diversion[32];               /* reason for Diversion/History-Info: "unconditional",
                                         "user-busy", "no-answer", "unavailable",
                                         "time-of-day", "deflection"; "" = none */
} rw_target_t;

typedef struct {
    uint32_t ring_ms;                 /* how long this stage rings before the next */
    uint32_t n_targets;               /* 1..RW_PLAN_MAX_TARGETS, rung in parallel */
    rw_target_t targets[RW_PLAN_MAX_TARGETS];
} rw_stage_t;

typedef struct {
    char call_id[128];                /* required: echoes the request */
    rw_plan_status_t status;          /* required */
    char user[64];                    /* the user the callee resolved to, "" if not found */
    uint32_t n_stages;                /* 0..RW_PLAN_MAX_STAGES */
    rw_stage_t stages[RW_PLAN_MAX_STAGES];
    rw_final_t final;                 /* after the last stage */
    rw_target_t final_target;         /* for RW_FINAL_VOICEMAIL / RW_FINAL_NUMBER, else NONE */
    uint32_t n_trace;                 /* 0..RW_PLAN_MAX_TRACE */
    char trace[RW_PLAN_MAX_TRACE][RW_PLAN_TRACE_LEN + 1];  /* why it rings where it does */
} rw_plan_t;

/* Encoders append one msgpack map to `out` (initialised by the caller). RW_EINVAL for a missing
 * required field or an impossible combination, RW_ERANGE for a count beyond its limit or a string
 * not NUL-terminated inside its buffer. On error `out` may hold a partial message: reset it. */
int rw_proto_route_req_encode(const rw_route_req_t *req, msgpack_sbuffer *out);
int rw_proto_plan_encode(const rw_plan_t *plan, msgpack_sbuffer *out);

/* Decode exactly one message of `len` bytes into *out (zeroed first). 0, RW_EPROTO (malformed,
 * wrong type, missing required field, unknown major version, trailing bytes) or RW_ERANGE (a
 * string, array or the message beyond its limit). Unknown keys are ignored. */
int rw_proto_route_req_decode(const void *data, size_t len, rw_route_req_t *out);
/* The same for a plan, except that on success only the header and the elements below each
 * count are defined (26 KB are not zeroed per decode); on failure *out is all zero. */
int rw_proto_plan_decode(const void *data, size_t len, rw_plan_t *out);

/* Human-readable text of a plan, one line per stage / final / trace line, for the CLI and
 * logs. Always NUL-terminates when len > 0; RW_ERANGE if it had to truncate. */
int rw_proto_plan_format(const rw_plan_t *plan, char *buf, size_t len);

/* Names used on the wire and in text: "ok", "devices", "busy", ... NULL for an unknown value. */
const char *rw_proto_plan_status_name(rw_plan_status_t status);
const char *rw_proto_target_type_name(rw_target_type_t type);
const char *rw_proto_final_name(rw_final_t final);

/* Helpers for builders: RW_ERANGE when a limit is reached, else 0 and the new element (zeroed).*/
int rw_proto_plan_add_stage(rw_plan_t *plan, uint32_t ring_ms, rw_stage_t **stage);
int rw_proto_stage_add_target(rw_stage_t *stage, rw_target_type_t type, const char *dest,
                              rw_target_t **target);
/* Appends a printf-formatted trace line, truncated to RW_PLAN_TRACE_LEN bytes; RW_ERANGE when
 * the trace is full (the line is dropped). */
int rw_proto_plan_trace(rw_plan_t *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

bool rw_proto_route_req_equal(const rw_route_req_t *a, const rw_route_req_t *b);
bool rw_proto_plan_equal(const rw_plan_t *a, const rw_plan_t *b);
/* Copies what a reader of src can see (stages, targets and trace lines up to their counts,
 * counts clamped to the limits): a fraction of the struct's 26 KB for a usual plan. Bytes past
 * the counts in dst are left as they were. */
void rw_proto_plan_copy(rw_plan_t *dst, const rw_plan_t *src);

#endif
