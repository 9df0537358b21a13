/* protocols/huntgroup.c — encode and decode the hunt group request and reply (huntgroup.h).
 * Scalar fields are field tables (codec.h); the enums, the agents array and the stats map are
 * added by hand, each count checked against its limit before an element is touched. */
#include "protocols/huntgroup.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "protocols/codec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const op_names[] = {
    [RW_HGOP_NEXT] = "next", [RW_HGOP_OUTCOME] = "outcome", [RW_HGOP_AGENT] = "agent",
    [RW_HGOP_STATS] = "stats",
};
static const char *const result_names[] = {
    [RW_HGR_NONE] = NULL, [RW_HGR_ANSWERED] = "answered", [RW_HGR_NO_ANSWER] = "no_answer",
    [RW_HGR_BUSY] = "busy", [RW_HGR_CALLER_GONE] = "caller_gone", [RW_HGR_ENDED] = "ended",
};
static const char *const status_names[] = {
    [RW_HGS_OFFER] = "offer", [RW_HGS_WAIT] = "wait", [RW_HGS_OVERFLOW] = "overflow",
    [RW_HGS_DONE] = "done", [RW_HGS_STATS] = "stats", [RW_HGS_ERROR] = "error",
};

static const rw_mp_field_t req_fields[] = {
    RW_MP_FIELD(rw_hg_req_t, call_id, "call_id", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, group, "group", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, caller, "caller", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, dialled, "dialled", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, agent, "agent", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, talk_ms, "talk_ms", RW_MP_U64, false),
    RW_MP_FIELD(rw_hg_req_t, agent_op, "agent_op", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, reason, "reason", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_req_t, interval_ms, "interval_ms", RW_MP_U64, false),
};

static const rw_mp_field_t reply_fields[] = {
    RW_MP_FIELD(rw_hg_reply_t, call_id, "call_id", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_reply_t, reason, "reason", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_reply_t, ring_ms, "ring_ms", RW_MP_U32, false),
    RW_MP_FIELD(rw_hg_reply_t, retry_ms, "retry_ms", RW_MP_U32, false),
    RW_MP_FIELD(rw_hg_reply_t, position, "position", RW_MP_U32, false),
    RW_MP_FIELD(rw_hg_reply_t, overflow, "overflow", RW_MP_STR, false),
    RW_MP_FIELD(rw_hg_reply_t, state, "state", RW_MP_STR, false),
};

static const rw_mp_field_t agent_fields[] = {
    RW_MP_FIELD(rw_hg_agent_t, user, "user", RW_MP_STR, true),
    RW_MP_FIELD(rw_hg_agent_t, device, "device", RW_MP_STR, false),
};

const char *rw_proto_hg_op_name(rw_hg_op_t op)
{
    return (unsigned) op < N(op_names) ? op_names[op] : NULL;
}

const char *rw_proto_hg_result_name(rw_hg_result_t r)
{
    return (unsigned) r < N(result_names) ? result_names[r] : NULL;
}

const char *rw_proto_hg_status_name(rw_hg_status_t s)
{
    return (unsigned) s < N(status_names) ? status_names[s] : NULL;
}

static int parse_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (names[i] && !strcmp(names[i], name))
            return (int) i;
    return -1;
}

int rw_proto_hg_result_parse(const char *name)
{
    return parse_name(result_names, N(result_names), name);
}

int rw_proto_hg_status_parse(const char *name)
{
    return parse_name(status_names, N(status_names), name);
}

static int pack_enum(msgpack_packer *pk, const char *key, const char *name)
{
    if (!name)
        return RW_EINVAL;
    return rw_mp_pack_kv_str(pk, key, name, strlen(name) + 1);
}

/* What each operation cannot do without. */
static bool req_complete(const rw_hg_req_t *r)
{
    switch (r->op) {
    case RW_HGOP_NEXT: return r->call_id[0] && r->group[0];
    case RW_HGOP_OUTCOME: return r->call_id[0] && r->result != RW_HGR_NONE;
    case RW_HGOP_AGENT: return r->agent[0] && r->agent_op[0];
    case RW_HGOP_STATS: return r->group[0] != '\0';
    }
    return false;
}

int rw_proto_hg_req_encode(const rw_hg_req_t *req, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    int rc;
    bool has_result = req->result != RW_HGR_NONE;

    if ((unsigned) req->op >= N(op_names) || (unsigned) req->result >= N(result_names))
        return RW_EINVAL;
    for (size_t i = 0; i < N(req_fields); i++)
        if (req_fields[i].kind == RW_MP_STR
            && rw_mp_cstr_len((const char *) req + req_fields[i].offset, req_fields[i].size) < 0)
            return RW_ERANGE;
    if (!req_complete(req))
        return RW_EINVAL;
    rw_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, 2 + has_result + rw_mp_fields_count(req_fields, N(req_fields), req)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(&pk, "v", RW_HG_VERSION)) != 0
        || (rc = pack_enum(&pk, "op", op_names[req->op])) != 0
        || (rc = rw_mp_encode_fields(&pk, req_fields, N(req_fields), req)) != 0)
        return rc;
    return has_result ? pack_enum(&pk, "result", result_names[req->result]) : 0;
}

int rw_proto_hg_req_decode(const void *data, size_t len, rw_hg_req_t *out)
{
    rw_mp_doc_t doc;
    int v = 0, rc;

    memset(out, 0, sizeof *out);
    if ((rc = rw_mp_open(&doc, data, len, RW_HG_VERSION)) != 0)
        goto fail;
    if ((rc = rw_mp_get_enum(doc.root, "op", true, op_names, N(op_names), &v)) != 0)
        goto fail;
    out->op = (rw_hg_op_t) v;
    v = RW_HGR_NONE;
    if ((rc = rw_mp_get_enum(doc.root, "result", false, result_names, N(result_names), &v)) != 0)
        goto fail;
    out->result = (rw_hg_result_t) v;
    if ((rc = rw_mp_decode_fields(doc.root, req_fields, N(req_fields), out)) != 0)
        goto fail;
    if (!req_complete(out)) {
        rc = RW_EPROTO;
        goto fail;
    }
    rw_mp_close(&doc);
    return 0;
fail:
    rw_mp_close(&doc);
    memset(out, 0, sizeof *out);
    return rc;
}

bool rw_proto_hg_req_equal(const rw_hg_req_t *a, const rw_hg_req_t *b)
{
    return a->op == b->op && a->result == b->result
           && rw_mp_fields_equal(req_fields, N(req_fields), a, b);
}

/* ---- reply ---- */

int rw_proto_hg_reply_encode(const rw_hg_reply_t *rep, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    int rc;

    if ((unsigned) rep->status >= N(status_names))
        return RW_EINVAL;
    if (rep->n_agents > RW_HG_MAX_AGENTS || rep->n_stats > RW_HG_MAX_STATS)
        return RW_ERANGE;
    for (size_t i = 0; i < N(reply_fields); i++)
        if (reply_fields[i].kind == RW_MP_STR
            && rw_mp_cstr_len((const char *) rep + reply_fields[i].offset, reply_fields[i].size) < 0)
            return RW_ERANGE;
    rw_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, 2 + (rep->n_agents > 0) + (rep->n_stats > 0)
                                  + rw_mp_fields_count(reply_fields, N(reply_fields), rep)) != 0)
        return RW_ENOMEM;
    if ((rc = rw_mp_pack_kv_uint(&pk, "v", RW_HG_VERSION)) != 0
        || (rc = pack_enum(&pk, "status", status_names[rep->status])) != 0
        || (rc = rw_mp_encode_fields(&pk, reply_fields, N(reply_fields), rep)) != 0)
        return rc;
    if (rep->n_agents > 0) {
        if ((rc = rw_mp_pack_key(&pk, "agents")) != 0 || msgpack_pack_array(&pk, rep->n_agents) != 0)
            return rc ? rc : RW_ENOMEM;
        for (uint32_t i = 0; i < rep->n_agents; i++) {
            const rw_hg_agent_t *a = &rep->agents[i];
            if (msgpack_pack_map(&pk, rw_mp_fields_count(agent_fields, N(agent_fields), a)) != 0)
                return RW_ENOMEM;
            if ((rc = rw_mp_encode_fields(&pk, agent_fields, N(agent_fields), a)) != 0)
                return rc;
        }
    }
    if (rep->n_stats > 0) {
        if ((rc = rw_mp_pack_key(&pk, "stats")) != 0 || msgpack_pack_map(&pk, rep->n_stats) != 0)
            return rc ? rc : RW_ENOMEM;
        for (uint32_t i = 0; i < rep->n_stats; i++) {
            if (rw_mp_cstr_len(rep->stats[i].name, sizeof rep->stats[i].name) <= 0)
                return RW_EINVAL;
            if ((rc = rw_mp_pack_kv_uint(&pk, rep->stats[i].name, rep->stats[i].value)) != 0)
                return rc;
        }
    }
    return 0;
}

static int decode_agents(const msgpack_object *root, rw_hg_reply_t *out)
{
    const msgpack_object_array *a = NULL;
    int rc = rw_mp_get_array(root, "agents", false, RW_HG_MAX_AGENTS, &a);
    if (rc || !a)
        return rc;
    for (uint32_t i = 0; i < a->size; i++) {
        if (a->ptr[i].type != MSGPACK_OBJECT_MAP)
            return RW_EPROTO;
        if ((rc = rw_mp_decode_fields(&a->ptr[i], agent_fields, N(agent_fields), &out->agents[i])) != 0)
            return rc;
    }
    out->n_agents = a->size;
    return 0;
}

static int decode_stats(const msgpack_object *root, rw_hg_reply_t *out)
{
    const msgpack_object *m = NULL;
    int rc = rw_mp_get_map(root, "stats", false, &m);
    if (rc || !m)
        return rc;
    if (m->via.map.size > RW_HG_MAX_STATS)
        return RW_ERANGE;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if ((rc = rw_mp_copy_str(&kv->key, out->stats[i].name, sizeof out->stats[i].name)) != 0)
            return rc;
        if (!out->stats[i].name[0])
            return RW_EPROTO;
        if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return RW_EPROTO;
        out->stats[i].value = kv->val.via.u64;
    }
    out->n_stats = m->via.map.size;
    return 0;
}

int rw_proto_hg_reply_decode(const void *data, size_t len, rw_hg_reply_t *out)
{
    rw_mp_doc_t doc;
    int v = 0, rc;

    memset(out, 0, sizeof *out);
    if ((rc = rw_mp_open(&doc, data, len, RW_HG_VERSION)) != 0)
        goto fail;
    if ((rc = rw_mp_get_enum(doc.root, "status", true, status_names, N(status_names), &v)) != 0)
        goto fail;
    out->status = (rw_hg_status_t) v;
    if ((rc = rw_mp_decode_fields(doc.root, reply_fields, N(reply_fields), out)) != 0
        || (rc = decode_agents(doc.root, out)) != 0 || (rc = decode_stats(doc.root, out)) != 0)
        goto fail;
    rw_mp_close(&doc);
    return 0;
fail:
    rw_mp_close(&doc);
    memset(out, 0, sizeof *out);
    return rc;
}

bool rw_proto_hg_reply_equal(const rw_hg_reply_t *a, const rw_hg_reply_t *b)
{
    if (a->status != b->status || a->n_agents != b->n_agents || a->n_stats != b->n_stats
        || a->n_agents > RW_HG_MAX_AGENTS || a->n_stats > RW_HG_MAX_STATS
        || !rw_mp_fields_equal(reply_fields, N(reply_fields), a, b))
        return false;
    for (uint32_t i = 0; i < a->n_agents; i++)
        if (!rw_mp_fields_equal(agent_fields, N(agent_fields), &a->agents[i], &b->agents[i]))
            return false;
    for (uint32_t i = 0; i < a->n_stats; i++)
        if (strncmp(a->stats[i].name, b->stats[i].name, sizeof a->stats[i].name)
            || a->stats[i].value != b->stats[i].value)
            return false;
    return true;
}

int rw_proto_hg_event(rw_event_t *ev, const char *type, const char *group, const char *agent,
                      const char *state, const char *call_id, uint32_t position, uint64_t wait_ms)
{
    int rc = rw_proto_event_init(ev, type);
    if (rc < 0)
        return rc;
    if (rw_proto_event_family(ev->type) != RW_EVF_QUEUE || !group || !group[0])
        return RW_EINVAL;
    snprintf(ev->queue.group, sizeof ev->queue.group, "%s", group);
    snprintf(ev->queue.agent, sizeof ev->queue.agent, "%s", agent ? agent : "");
    snprintf(ev->queue.state, sizeof ev->queue.state, "%s", state ? state : "");
    snprintf(ev->queue.call_id, sizeof ev->queue.call_id, "%s", call_id ? call_id : "");
    ev->queue.position = position;
    ev->queue.wait_ms = wait_ms;
    return 0;
}
