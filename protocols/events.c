/* protocols/events.c — encode and decode bus events: the shared envelope and one body per
 * family. Each body is a field table (codec.h), so encoding, decoding, comparison and the
 * documented keys in docs/protocol.md cannot drift apart; the two enums are added by hand. */
#include "protocols/events.h"

#include <string.h>

#include "common/err.h"
#include "protocols/codec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const family_names[] = {
    [RW_EVF_UNKNOWN] = "unknown", [RW_EVF_CALL] = "call", [RW_EVF_REG] = "reg",
    [RW_EVF_PRESENCE] = "presence", [RW_EVF_QUEUE] = "queue", [RW_EVF_CALENDAR] = "calendar",
    [RW_EVF_DIRECTORY] = "directory",
};

static const char *const fallback_names[] = {
    [RW_FALLBACK_NONE] = "none", [RW_FALLBACK_LAST_PLAN] = "last_plan",
    [RW_FALLBACK_DEVICES] = "devices", [RW_FALLBACK_EVALUATED] = "evaluated",
};

static const char *const presence_names[] = {
    [RW_PRESENCE_AVAILABLE] = "available", [RW_PRESENCE_BUSY] = "busy",
    [RW_PRESENCE_AWAY] = "away", [RW_PRESENCE_IN_MEETING] = "in_meeting",
    [RW_PRESENCE_DND] = "dnd", [RW_PRESENCE_OFFLINE] = "offline",
};

static const rw_mp_field_t envelope_fields[] = {
    RW_MP_FIELD(rw_event_t, type, "type", RW_MP_STR, true),
    RW_MP_FIELD(rw_event_t, id, "id", RW_MP_STR, true),
    RW_MP_FIELD(rw_event_t, publisher, "pub", RW_MP_STR, true),
    RW_MP_FIELD(rw_event_t, epoch, "epoch", RW_MP_U64, true),
    RW_MP_FIELD(rw_event_t, seq, "seq", RW_MP_U64, true),
    RW_MP_FIELD(rw_event_t, ts_ms, "ts", RW_MP_U64, true),
};

static const rw_mp_field_t call_fields[] = {
    RW_MP_FIELD(rw_ev_call_t, call_id, "call_id", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_call_t, user, "user", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_call_t, from, "from", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_call_t, to, "to", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_call_t, target, "target", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_call_t, cause, "cause", RW_MP_I32, false),
    RW_MP_FIELD(rw_ev_call_t, reason, "reason", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_call_t, pdd_ms, "pdd_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_ev_call_t, talk_ms, "talk_ms", RW_MP_U64, false),
};

static const rw_mp_field_t reg_fields[] = {
    RW_MP_FIELD(rw_ev_reg_t, aor, "aor", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_reg_t, contact, "contact", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_reg_t, expires, "expires", RW_MP_U32, false),
    RW_MP_FIELD(rw_ev_reg_t, instance, "instance", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_reg_t, user_agent, "ua", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_reg_t, device, "device", RW_MP_STR, false),
};

static const rw_mp_field_t presence_fields[] = {
    RW_MP_FIELD(rw_ev_presence_t, user, "user", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_presence_t, source, "source", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_presence_t, until_ms, "until_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_ev_presence_t, activity, "activity", RW_MP_STR, false),
};

static const rw_mp_field_t queue_fields[] = {
    RW_MP_FIELD(rw_ev_queue_t, group, "group", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_queue_t, call_id, "call_id", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_queue_t, agent, "agent", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_queue_t, position, "position", RW_MP_U32, false),
    RW_MP_FIELD(rw_ev_queue_t, wait_ms, "wait_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_ev_queue_t, state, "state", RW_MP_STR, false),
};

static const rw_mp_field_t calendar_fields[] = {
    RW_MP_FIELD(rw_ev_calendar_t, user, "user", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_calendar_t, uid, "uid", RW_MP_STR, false),
    RW_MP_FIELD(rw_ev_calendar_t, start_ms, "start_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_ev_calendar_t, end_ms, "end_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_ev_calendar_t, summary, "summary", RW_MP_STR, false),
};

static const rw_mp_field_t directory_fields[] = {
    RW_MP_FIELD(rw_ev_directory_t, user, "user", RW_MP_STR, true),
    RW_MP_FIELD(rw_ev_directory_t, what, "what", RW_MP_STR, false),
};

typedef struct {
    const rw_mp_field_t *fields;
    size_t n;
} body_table_t;

static body_table_t body_table(rw_event_family_t family)
{
    switch (family) {
    case RW_EVF_CALL: return (body_table_t){ call_fields, N(call_fields) };
    case RW_EVF_REG: return (body_table_t){ reg_fields, N(reg_fields) };
    case RW_EVF_PRESENCE: return (body_table_t){ presence_fields, N(presence_fields) };
    case RW_EVF_QUEUE: return (body_table_t){ queue_fields, N(queue_fields) };
    case RW_EVF_CALENDAR: return (body_table_t){ calendar_fields, N(calendar_fields) };
    case RW_EVF_DIRECTORY: return (body_table_t){ directory_fields, N(directory_fields) };
    case RW_EVF_UNKNOWN: break;
    }
    return (body_table_t){ NULL, 0 };
}

rw_event_family_t rw_proto_event_family(const char *type)
{
    const char *dot = type ? strchr(type, '.') : NULL;
    if (!dot)
        return RW_EVF_UNKNOWN;
    size_t n = (size_t) (dot - type);
    for (size_t f = RW_EVF_CALL; f < N(family_names); f++)
        if (strlen(family_names[f]) == n && memcmp(type, family_names[f], n) == 0)
            return (rw_event_family_t) f;
    return RW_EVF_UNKNOWN;
}

const char *rw_proto_event_family_name(rw_event_family_t family)
{
    if ((unsigned) family >= N(family_names))
        return "unknown";
    return family_names[family];
}

/* A topic: 1..47 bytes of [a-z0-9_.-]; subscribers filter on its prefix. */
static bool topic_valid(const char *type, size_t size)
{
    long n = rw_mp_cstr_len(type, size);
    if (n <= 0)
        return false;
    for (long i = 0; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
              || c == '-'))
            return false;
    }
    return true;
}

int rw_proto_event_init(rw_event_t *ev, const char *type)
{
    memset(ev, 0, sizeof *ev);
    ev->version = RW_EVENT_VERSION;
    if (!type)
        return RW_EINVAL;
    if (strlen(type) >= sizeof ev->type)
        return RW_ERANGE;
    memcpy(ev->type, type, strlen(type) + 1);
    return topic_valid(ev->type, sizeof ev->type) ? 0 : RW_EINVAL;
}

static uint32_t body_extra_count(rw_event_family_t family, const rw_event_t *ev)
{
    if (family == RW_EVF_PRESENCE)
        return 1;                                        /* "state" is required */
    if (family == RW_EVF_CALL)
        return ev->call.fallback != RW_FALLBACK_NONE;
    return 0;
}

static int encode_enum(msgpack_packer *pk, const char *key, const char *const *names, size_t n,
                       unsigned v)
{
    if (v >= n)
        return RW_EINVAL;
    return rw_mp_pack_kv_str(pk, key, names[v], strlen(names[v]) + 1);
}

static int encode_body(msgpack_packer *pk, rw_event_family_t family, const rw_event_t *ev)
{
    body_table_t t = body_table(family);
    const void *body = &ev->call;                        /* every member starts here */
    int rc;

    if (!t.fields)
        return 0;
    if ((rc = rw_mp_pack_key(pk, "body")) != 0)
        return rc;
    if (msgpack_pack_map(pk, rw_mp_fields_count(t.fields, t.n, body)
                                 + body_extra_count(family, ev)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_encode_fields(pk, t.fields, t.n, body)) != 0)
        return rc;
    if (family == RW_EVF_PRESENCE)
        return encode_enum(pk, "state", presence_names, N(presence_names), ev->presence.state);
    if (family == RW_EVF_CALL && ev->call.fallback != RW_FALLBACK_NONE)
        return encode_enum(pk, "fallback", fallback_names, N(fallback_names), ev->call.fallback);
    return 0;
}

int rw_proto_event_encode(const rw_event_t *ev, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    rw_event_family_t family;
    uint32_t version = ev->version ? ev->version : RW_EVENT_VERSION;
    int rc;

    if (version != RW_EVENT_VERSION)
        return RW_EINVAL;
    if (rw_mp_cstr_len(ev->type, sizeof ev->type) < 0)
        return RW_ERANGE;
    if (!topic_valid(ev->type, sizeof ev->type))
        return RW_EINVAL;
    family = rw_proto_event_family(ev->type);
    rw_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, 1 + N(envelope_fields) + (family != RW_EVF_UNKNOWN)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(&pk, "v", version)) != 0)
        return rc;
    if ((rc = rw_mp_encode_fields(&pk, envelope_fields, N(envelope_fields), ev)) != 0)
        return rc;
    return encode_body(&pk, family, ev);
}

static int decode_body(const msgpack_object *root, rw_event_family_t family, rw_event_t *ev)
{
    body_table_t t = body_table(family);
    const msgpack_object *body = NULL;
    int v, rc;

    if (!t.fields)
        return 0;                                        /* unknown family: envelope only */
    if ((rc = rw_mp_get_map(root, "body", true, &body)) != 0)
        return rc;
    if ((rc = rw_mp_decode_fields(body, t.fields, t.n, &ev->call)) != 0)
        return rc;
    if (family == RW_EVF_PRESENCE) {
        v = 0;
        rc = rw_mp_get_enum(body, "state", true, presence_names, N(presence_names), &v);
        ev->presence.state = (rw_presence_state_t) v;
    } else if (family == RW_EVF_CALL) {
        v = RW_FALLBACK_NONE;
        rc = rw_mp_get_enum(body, "fallback", false, fallback_names, N(fallback_names), &v);
        ev->call.fallback = (rw_fallback_t) v;
    }
    return rc;
}

int rw_proto_event_decode(const void *data, size_t len, rw_event_t *ev)
{
    rw_mp_doc_t doc;
    int rc;

    memset(ev, 0, sizeof *ev);
    if ((rc = rw_mp_open(&doc, data, len, RW_EVENT_VERSION)) != 0)
        goto fail;
    ev->version = doc.version;
    if ((rc = rw_mp_decode_fields(doc.root, envelope_fields, N(envelope_fields), ev)) != 0)
        goto fail;
    if (!topic_valid(ev->type, sizeof ev->type)) {
        rc = RW_EPROTO;
        goto fail;
    }
    if ((rc = decode_body(doc.root, rw_proto_event_family(ev->type), ev)) != 0)
        goto fail;
    rw_mp_close(&doc);
    return 0;
fail:
    rw_mp_close(&doc);
    memset(ev, 0, sizeof *ev);
    return rc;
}

bool rw_proto_event_equal(const rw_event_t *a, const rw_event_t *b)
{
    rw_event_family_t family = rw_proto_event_family(a->type);
    body_table_t t = body_table(family);

    if (!rw_mp_fields_equal(envelope_fields, N(envelope_fields), a, b)
        || (a->version ? a->version : RW_EVENT_VERSION)
               != (b->version ? b->version : RW_EVENT_VERSION))
        return false;
    if (t.fields && !rw_mp_fields_equal(t.fields, t.n, &a->call, &b->call))
        return false;
    if (family == RW_EVF_PRESENCE && a->presence.state != b->presence.state)
        return false;
    if (family == RW_EVF_CALL && a->call.fallback != b->call.fallback)
        return false;
    return true;
}
