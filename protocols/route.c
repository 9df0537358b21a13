/* protocols/route.c — encode and decode the route request and the route plan.
 * The plan is the hot path (one per call): decoding fills fixed arrays in rw_plan_t and checks
 * every count against its limit before touching an element, so a hostile plan can cost no
 * more than its own bytes. Text rendering and builder helpers live in route_text.c. */
#include "protocols/route.h"

#include <stddef.h>
#include <string.h>

#include "common/err.h"
#include "protocols/codec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const status_names[] = {
    [RW_PLAN_OK] = "ok", [RW_PLAN_NOT_FOUND] = "not_found", [RW_PLAN_ERROR] = "error",
};
static const char *const type_names[] = {
    [RW_TARGET_NONE] = NULL, [RW_TARGET_DEVICES] = "devices", [RW_TARGET_NUMBER] = "number",
    [RW_TARGET_HUNTGROUP] = "huntgroup", [RW_TARGET_VOICEMAIL] = "voicemail",
};
/* The key that holds a target's one string, by type. */
static const char *const dest_keys[] = {
    [RW_TARGET_NONE] = NULL, [RW_TARGET_DEVICES] = "aor", [RW_TARGET_NUMBER] = "number",
    [RW_TARGET_HUNTGROUP] = "group", [RW_TARGET_VOICEMAIL] = "mailbox",
};
static const char *const final_names[] = {
    [RW_FINAL_BUSY] = "busy", [RW_FINAL_UNAVAILABLE] = "unavailable",
    [RW_FINAL_VOICEMAIL] = "voicemail", [RW_FINAL_NUMBER] = "number", [RW_FINAL_REJECT] = "reject",
};

static const rw_mp_field_t req_fields[] = {
    RW_MP_FIELD(rw_route_req_t, call_id, "call_id", RW_MP_STR, true),
    RW_MP_FIELD(rw_route_req_t, caller, "caller", RW_MP_STR, true),
    RW_MP_FIELD(rw_route_req_t, callee, "callee", RW_MP_STR, true),
    RW_MP_FIELD(rw_route_req_t, callee_uri, "callee_uri", RW_MP_STR, false),
    RW_MP_FIELD(rw_route_req_t, time_ms, "time_ms", RW_MP_U64, true),
    RW_MP_FIELD(rw_route_req_t, source, "source", RW_MP_STR, true),
    RW_MP_FIELD(rw_route_req_t, redirect_mode, "redirect", RW_MP_BOOL, false),
};

static const rw_mp_field_t plan_fields[] = {
    RW_MP_FIELD(rw_plan_t, call_id, "call_id", RW_MP_STR, true),
    RW_MP_FIELD(rw_plan_t, user, "user", RW_MP_STR, false),
};

static const rw_mp_field_t target_fields[] = {
    RW_MP_FIELD(rw_target_t, is_private, "private", RW_MP_BOOL, false),
    RW_MP_FIELD(rw_target_t, diversion, "diversion", RW_MP_STR, false),
    RW_MP_FIELD(rw_target_t, device, "device", RW_MP_STR, false),
};

const char *rw_proto_plan_status_name(rw_plan_status_t status)
{
    return (unsigned) status < N(status_names) ? status_names[status] : NULL;
}

const char *rw_proto_target_type_name(rw_target_type_t type)
{
    return (unsigned) type < N(type_names) ? type_names[type] : NULL;
}

const char *rw_proto_final_name(rw_final_t final)
{
    return (unsigned) final < N(final_names) ? final_names[final] : NULL;
}

static int pack_enum(msgpack_packer *pk, const char *key, const char *name)
{
    if (!name)
        return RW_EINVAL;
    return rw_mp_pack_kv_str(pk, key, name, strlen(name) + 1);
}

/* A list of strings from rows of a char[n][size] array. */
static int pack_str_list(msgpack_packer *pk, const char *key, const char *rows, size_t size,
                         uint32_t n, bool allow_empty)
{
    int rc = rw_mp_pack_key(pk, key);
    if (rc)
        return rc;
    if (msgpack_pack_array(pk, n) != 0)
        return RW_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (!allow_empty && rows[i * size] == '\0')
            return RW_EINVAL;
        if ((rc = rw_mp_pack_cstr(pk, rows + i * size, size)) != 0)
            return rc;
    }
    return 0;
}

static int unpack_str_list(const msgpack_object *map, const char *key, uint32_t max,
                           char *rows, size_t size, uint32_t *n, bool allow_empty)
{
    const msgpack_object_array *a = NULL;
    int rc = rw_mp_get_array(map, key, false, max, &a);
    if (rc || !a)
        return rc;
    for (uint32_t i = 0; i < a->size; i++) {
        if ((rc = rw_mp_copy_str(&a->ptr[i], rows + i * size, size)) != 0)
            return rc;
        if (!allow_empty && rows[i * size] == '\0')
            return RW_EPROTO;
    }
    *n = a->size;
    return 0;
}

/* ---- route request ---- */

int rw_proto_route_req_encode(const rw_route_req_t *req, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    int rc;

    if (req->n_diversions > RW_ROUTE_MAX_DIVERSIONS)
        return RW_ERANGE;
    rw_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, 1 + rw_mp_fields_count(req_fields, N(req_fields), req)
                                  + (req->n_diversions > 0)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(&pk, "v", RW_ROUTE_VERSION)) != 0
        || (rc = rw_mp_encode_fields(&pk, req_fields, N(req_fields), req)) != 0)
        return rc;
    if (req->n_diversions > 0)
        return pack_str_list(&pk, "diverted", req->diversions[0], sizeof req->diversions[0],
                             req->n_diversions, false);
    return 0;
}

int rw_proto_route_req_decode(const void *data, size_t len, rw_route_req_t *out)
{
    rw_mp_doc_t doc;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = rw_mp_open(&doc, data, len, RW_ROUTE_VERSION)) != 0)
        goto fail;
    if ((rc = rw_mp_decode_fields(doc.root, req_fields, N(req_fields), out)) != 0)
        goto fail;
    if ((rc = unpack_str_list(doc.root, "diverted", RW_ROUTE_MAX_DIVERSIONS, out->diversions[0],
                              sizeof out->diversions[0], &out->n_diversions, false)) != 0)
        goto fail;
    rw_mp_close(&doc);
    return 0;
fail:
    rw_mp_close(&doc);
    memset(out, 0, sizeof *out);
    return rc;
}

bool rw_proto_route_req_equal(const rw_route_req_t *a, const rw_route_req_t *b)
{
    if (!rw_mp_fields_equal(req_fields, N(req_fields), a, b)
        || a->n_diversions != b->n_diversions || a->n_diversions > RW_ROUTE_MAX_DIVERSIONS)
        return false;
    for (uint32_t i = 0; i < a->n_diversions; i++)
        if (strncmp(a->diversions[i], b->diversions[i], sizeof a->diversions[i]) != 0)
            return false;
    return true;
}

/* ---- targets and stages ---- */

static bool final_has_target(rw_final_t final)
{
    return final == RW_FINAL_VOICEMAIL || final == RW_FINAL_NUMBER;
}

static int encode_target(msgpack_packer *pk, const rw_target_t *t)
{
    bool number = t->type == RW_TARGET_NUMBER;
    int rc;

    if ((unsigned) t->type >= N(type_names) || !type_names[t->type])
        return RW_EINVAL;
    if (t->n_trunks > RW_PLAN_MAX_TRUNKS)
        return RW_ERANGE;
    if (t->n_trunks && !number)
        return RW_EINVAL;                                /* trunks belong to numbers only */
    if (rw_mp_cstr_len(t->device, sizeof t->device) < 0)
        return RW_ERANGE;
    if (t->device[0] && t->type != RW_TARGET_DEVICES)
        return RW_EINVAL;                                /* a device belongs to devices only */
    if (rw_mp_cstr_len(t->aor, sizeof t->aor) <= 0)
        return rw_mp_cstr_len(t->aor, sizeof t->aor) < 0 ? RW_ERANGE : RW_EINVAL;
    if (msgpack_pack_map(pk, 2 + (number && t->n_trunks)
                                 + rw_mp_fields_count(target_fields, N(target_fields), t)) != 0)
        return RW_ENOMEM;
    if ((rc = pack_enum(pk, "type", type_names[t->type])) != 0
        || (rc = rw_mp_pack_kv_str(pk, dest_keys[t->type], t->aor, sizeof t->aor)) != 0
        || (rc = rw_mp_encode_fields(pk, target_fields, N(target_fields), t)) != 0)
        return rc;
    if (number && t->n_trunks)
        return pack_str_list(pk, "trunks", t->trunks[0], sizeof t->trunks[0], t->n_trunks, false);
    return 0;
}

static int decode_target(const msgpack_object *map, rw_target_t *t)
{
    int type = 0, rc;

    if (map->type != MSGPACK_OBJECT_MAP)
        return RW_EPROTO;
    if ((rc = rw_mp_get_enum(map, "type", true, type_names, N(type_names), &type)) != 0)
        return rc;
    t->type = (rw_target_type_t) type;
    if ((rc = rw_mp_get_str(map, dest_keys[type], true, t->aor, sizeof t->aor)) != 0)
        return rc;
    if (t->aor[0] == '\0')
        return RW_EPROTO;
    if ((rc = rw_mp_decode_fields(map, target_fields, N(target_fields), t)) != 0)
        return rc;
    if (t->type != RW_TARGET_DEVICES)
        t->device[0] = '\0';                            /* "device" elsewhere is ignored */
    if (t->type != RW_TARGET_NUMBER)
        return 0;                                        /* "trunks" elsewhere is ignored */
    return unpack_str_list(map, "trunks", RW_PLAN_MAX_TRUNKS, t->trunks[0], sizeof t->trunks[0],
                           &t->n_trunks, false);
}

static bool target_equal(const rw_target_t *a, const rw_target_t *b)
{
    if (a->type != b->type || strncmp(a->aor, b->aor, sizeof a->aor) != 0
        || !rw_mp_fields_equal(target_fields, N(target_fields), a, b)
        || a->n_trunks != b->n_trunks || a->n_trunks > RW_PLAN_MAX_TRUNKS)
        return false;
    for (uint32_t i = 0; i < a->n_trunks; i++)
        if (strncmp(a->trunks[i], b->trunks[i], sizeof a->trunks[i]) != 0)
            return false;
    return true;
}

static int encode_stage(msgpack_packer *pk, const rw_stage_t *s)
{
    int rc;

    if (s->n_targets > RW_PLAN_MAX_TARGETS)
        return RW_ERANGE;
    if (s->n_targets == 0)
        return RW_EINVAL;
    if (msgpack_pack_map(pk, 2) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(pk, "ring_ms", s->ring_ms)) != 0
        || (rc = rw_mp_pack_key(pk, "targets")) != 0)
        return rc;
    if (msgpack_pack_array(pk, s->n_targets) != 0)
        return RW_ENOMEM;
    for (uint32_t i = 0; i < s->n_targets; i++)
        if ((rc = encode_target(pk, &s->targets[i])) != 0)
            return rc;
    return 0;
}

static int decode_stage(const msgpack_object *map, rw_stage_t *s)
{
    const msgpack_object_array *a = NULL;
    int rc;

    if (map->type != MSGPACK_OBJECT_MAP)
        return RW_EPROTO;
    if ((rc = rw_mp_get_u32(map, "ring_ms", true, &s->ring_ms)) != 0
        || (rc = rw_mp_get_array(map, "targets", true, RW_PLAN_MAX_TARGETS, &a)) != 0)
        return rc;
    if (a->size == 0)
        return RW_EPROTO;
    for (uint32_t i = 0; i < a->size; i++) {
        memset(&s->targets[i], 0, sizeof s->targets[i]);   /* optional fields default to 0 */
        if ((rc = decode_target(&a->ptr[i], &s->targets[i])) != 0)
            return rc;
    }
    s->n_targets = a->size;
    return 0;
}

/* ---- plan ---- */

static int check_plan(const rw_plan_t *plan)
{
    if (plan->n_stages > RW_PLAN_MAX_STAGES || plan->n_trace > RW_PLAN_MAX_TRACE)
        return RW_ERANGE;
    if (!rw_proto_plan_status_name(plan->status) || !rw_proto_final_name(plan->final))
        return RW_EINVAL;
    if (final_has_target(plan->final)
        && plan->final_target.type
               != (plan->final == RW_FINAL_VOICEMAIL ? RW_TARGET_VOICEMAIL : RW_TARGET_NUMBER))
        return RW_EINVAL;
    return 0;
}

static int encode_plan_body(msgpack_packer *pk, const rw_plan_t *plan)
{
    int rc;

    if ((rc = pack_enum(pk, "status", status_names[plan->status])) != 0
        || (rc = pack_enum(pk, "final", final_names[plan->final])) != 0)
        return rc;
    if (final_has_target(plan->final)
        && ((rc = rw_mp_pack_key(pk, "final_target")) != 0
            || (rc = encode_target(pk, &plan->final_target)) != 0))
        return rc;
    if ((rc = rw_mp_pack_key(pk, "stages")) != 0)
        return rc;
    if (msgpack_pack_array(pk, plan->n_stages) != 0)
        return RW_ENOMEM;
    for (uint32_t i = 0; i < plan->n_stages; i++)
        if ((rc = encode_stage(pk, &plan->stages[i])) != 0)
            return rc;
    if (plan->n_trace > 0)
        return pack_str_list(pk, "trace", plan->trace[0], sizeof plan->trace[0], plan->n_trace,
                             true);
    return 0;
}

int rw_proto_plan_encode(const rw_plan_t *plan, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    int rc;

    if ((rc = check_plan(plan)) != 0)
        return rc;
    rw_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, 4 + rw_mp_fields_count(plan_fields, N(plan_fields), plan)
                                  + final_has_target(plan->final) + (plan->n_trace > 0)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(&pk, "v", RW_ROUTE_VERSION)) != 0
        || (rc = rw_mp_encode_fields(&pk, plan_fields, N(plan_fields), plan)) != 0)
        return rc;
    return encode_plan_body(&pk, plan);
}

static int decode_plan_body(const msgpack_object *root, rw_plan_t *out)
{
    const msgpack_object_array *stages = NULL;
    const msgpack_object *ft = NULL;
    int status = 0, final = 0, rc;

    if ((rc = rw_mp_get_enum(root, "status", true, status_names, N(status_names), &status)) != 0
        || (rc = rw_mp_get_enum(root, "final", true, final_names, N(final_names), &final)) != 0)
        return rc;
    out->status = (rw_plan_status_t) status;
    out->final = (rw_final_t) final;
    if (final_has_target(out->final)) {
        if ((rc = rw_mp_get_map(root, "final_target", true, &ft)) != 0
            || (rc = decode_target(ft, &out->final_target)) != 0)
            return rc;
        if (out->final_target.type
            != (out->final == RW_FINAL_VOICEMAIL ? RW_TARGET_VOICEMAIL : RW_TARGET_NUMBER))
            return RW_EPROTO;
    }
    if ((rc = rw_mp_get_array(root, "stages", false, RW_PLAN_MAX_STAGES, &stages)) != 0)
        return rc;
    for (uint32_t i = 0; stages && i < stages->size; i++)
        if ((rc = decode_stage(&stages->ptr[i], &out->stages[i])) != 0)
            return rc;
    out->n_stages = stages ? stages->size : 0;
    return unpack_str_list(root, "trace", RW_PLAN_MAX_TRACE, out->trace[0], sizeof out->trace[0],
                           &out->n_trace, true);
}

int rw_proto_plan_decode(const void *data, size_t len, rw_plan_t *out)
{
    rw_mp_doc_t doc;
    int rc;

    /* Only what the decoder may leave unset is zeroed, not the whole 26 KB: every element
     * below its count is written (a target is zeroed before it is decoded), and nothing past
     * the counts is read by anyone. A failed decode still zeroes everything. */
    memset(out, 0, offsetof(rw_plan_t, stages));      /* n_stages included */
    out->n_trace = 0;
    memset(&out->final_target, 0, sizeof out->final_target);
    if ((rc = rw_mp_open(&doc, data, len, RW_ROUTE_VERSION)) != 0)
        goto fail;
    if ((rc = rw_mp_decode_fields(doc.root, plan_fields, N(plan_fields), out)) != 0
        || (rc = decode_plan_body(doc.root, out)) != 0)
        goto fail;
    rw_mp_close(&doc);
    return 0;
fail:
    rw_mp_close(&doc);
    memset(out, 0, sizeof *out);
    return rc;
}

bool rw_proto_plan_equal(const rw_plan_t *a, const rw_plan_t *b)
{
    if (!rw_mp_fields_equal(plan_fields, N(plan_fields), a, b) || a->status != b->status
        || a->final != b->final || a->n_stages != b->n_stages || a->n_trace != b->n_trace
        || a->n_stages > RW_PLAN_MAX_STAGES || a->n_trace > RW_PLAN_MAX_TRACE)
        return false;
    if (final_has_target(a->final) && !target_equal(&a->final_target, &b->final_target))
        return false;
    for (uint32_t i = 0; i < a->n_stages; i++) {
        const rw_stage_t *sa = &a->stages[i], *sb = &b->stages[i];
        if (sa->ring_ms != sb->ring_ms || sa->n_targets != sb->n_targets
            || sa->n_targets > RW_PLAN_MAX_TARGETS)
            return false;
        for (uint32_t j = 0; j < sa->n_targets; j++)
            if (!target_equal(&sa->targets[j], &sb->targets[j]))
                return false;
    }
    for (uint32_t i = 0; i < a->n_trace; i++)
        if (strncmp(a->trace[i], b->trace[i], sizeof a->trace[i]) != 0)
            return false;
    return true;
}

void rw_proto_plan_copy(rw_plan_t *dst, const rw_plan_t *src)
{
    uint32_t n = src->n_stages < RW_PLAN_MAX_STAGES ? src->n_stages : RW_PLAN_MAX_STAGES;
    uint32_t lines = src->n_trace < RW_PLAN_MAX_TRACE ? src->n_trace : RW_PLAN_MAX_TRACE;
    memcpy(dst, src, offsetof(rw_plan_t, stages));
    dst->n_stages = n;
    for (uint32_t i = 0; i < n; i++) {
        const rw_stage_t *from = &src->stages[i];
        uint32_t k = from->n_targets < RW_PLAN_MAX_TARGETS ? from->n_targets : RW_PLAN_MAX_TARGETS;
        dst->stages[i].ring_ms = from->ring_ms;
        dst->stages[i].n_targets = k;
        memcpy(dst->stages[i].targets, from->targets, k * sizeof from->targets[0]);
    }
    dst->final = src->final;
    dst->final_target = src->final_target;
    dst->n_trace = lines;
    memcpy(dst->trace, src->trace, lines * sizeof src->trace[0]);
}
