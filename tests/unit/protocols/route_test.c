/* tests/unit/protocols/route_test.c — the route request and the route plan: round trips,
 * limits, every hostile input the decoders must refuse, text rendering, and a fixed-seed
 * mutation loop that must never crash. */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mutate.h"
#include "protocols/codec.h"
#include "protocols/route.h"
#include "samples.h"

static int decode_req(const void *d, size_t n)
{
    rw_route_req_t r;
    return rw_proto_route_req_decode(d, n, &r);
}

static int decode_plan(const void *d, size_t n)
{
    rw_plan_t *p = malloc(sizeof *p);
    int rc = rw_proto_plan_decode(d, n, p);
    free(p);
    return rc;
}

static void encode_req(const rw_route_req_t *r, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    ck_assert_int_eq(rw_proto_route_req_encode(r, sb), 0);
}

static void encode_plan(const rw_plan_t *p, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    ck_assert_int_eq(rw_proto_plan_encode(p, sb), 0);
}

/* ---- round trips ---- */

START_TEST(test_route_req_round_trips)
{
    rw_route_req_t in, out;
    msgpack_sbuffer sb;
    sample_route_req(&in);
    encode_req(&in, &sb);
    ck_assert_int_eq(rw_proto_route_req_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_route_req_equal(&in, &out));
    ck_assert_str_eq(out.diversions[1], "2003");
    ck_assert(out.redirect_mode);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_minimal_route_req_round_trips)
{
    rw_route_req_t in = { .time_ms = 1 }, out;
    msgpack_sbuffer sb;
    strcpy(in.call_id, "c");
    strcpy(in.caller, "anonymous");
    strcpy(in.callee, "2001");
    strcpy(in.source, "device");
    encode_req(&in, &sb);
    ck_assert_int_eq(rw_proto_route_req_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_route_req_equal(&in, &out));
    ck_assert_uint_eq(out.n_diversions, 0);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_plan_round_trips)
{
    static rw_plan_t in, out;
    msgpack_sbuffer sb;
    sample_plan(&in);
    encode_plan(&in, &sb);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    ck_assert_uint_eq(out.n_stages, 3);
    ck_assert_int_eq(out.stages[0].targets[1].type, RW_TARGET_NUMBER);
    ck_assert_str_eq(out.stages[0].targets[1].trunks[1], "backup");
    ck_assert(out.stages[0].targets[1].is_private);
    ck_assert_str_eq(out.final_target.mailbox, "2001");
    ck_assert_str_eq(out.trace[0], "10:04 Tue Europe/London; rule 'workday' matched");
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Every final action, with and without a target, survives the trip. */
START_TEST(test_plan_every_final_round_trips)
{
    static rw_plan_t in, out;
    msgpack_sbuffer sb;
    sample_plan(&in);
    in.final = (rw_final_t) _i;
    memset(&in.final_target, 0, sizeof in.final_target);
    if (in.final == RW_FINAL_VOICEMAIL || in.final == RW_FINAL_NUMBER) {
        in.final_target.type = in.final == RW_FINAL_VOICEMAIL ? RW_TARGET_VOICEMAIL
                                                              : RW_TARGET_NUMBER;
        strcpy(in.final_target.number, "+441632960999");
    }
    encode_plan(&in, &sb);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    ck_assert_int_eq(out.final, in.final);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_not_found_plan_without_stages_round_trips)
{
    static rw_plan_t in, out;
    msgpack_sbuffer sb;
    memset(&in, 0, sizeof in);
    strcpy(in.call_id, "x");
    in.status = RW_PLAN_NOT_FOUND;
    in.final = RW_FINAL_UNAVAILABLE;
    encode_plan(&in, &sb);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    ck_assert_int_eq(out.status, RW_PLAN_NOT_FOUND);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_full_plan_at_every_limit_round_trips)
{
    static rw_plan_t in, out;
    msgpack_sbuffer sb;
    memset(&in, 0, sizeof in);
    memset(in.call_id, 'c', sizeof in.call_id - 1);
    in.final = RW_FINAL_BUSY;
    for (int s = 0; s < RW_PLAN_MAX_STAGES; s++) {
        rw_stage_t *st;
        ck_assert_int_eq(rw_proto_plan_add_stage(&in, 1000u * (unsigned) s, &st), 0);
        for (int t = 0; t < RW_PLAN_MAX_TARGETS; t++) {
            rw_target_t *tg;
            char num[128];
            memset(num, '9', sizeof num - 1);
            num[127] = '\0';
            ck_assert_int_eq(rw_proto_stage_add_target(st, RW_TARGET_NUMBER, num, &tg), 0);
            tg->n_trunks = RW_PLAN_MAX_TRUNKS;
            for (int k = 0; k < RW_PLAN_MAX_TRUNKS; k++)
                memset(tg->trunks[k], 'a' + k, sizeof tg->trunks[k] - 1);
            memset(tg->diversion, 'd', sizeof tg->diversion - 1);
        }
        ck_assert_int_eq(rw_proto_stage_add_target(st, RW_TARGET_DEVICES, "x", NULL), RW_ERANGE);
    }
    ck_assert_int_eq(rw_proto_plan_add_stage(&in, 1, NULL), RW_ERANGE);
    for (int i = 0; i < RW_PLAN_MAX_TRACE; i++)
        ck_assert_int_eq(rw_proto_plan_trace(&in, "%0200d", i), 0);
    ck_assert_int_eq(rw_proto_plan_trace(&in, "one too many"), RW_ERANGE);
    encode_plan(&in, &sb);
    ck_assert_uint_le(sb.size, 65536);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- encoder refusals ---- */

START_TEST(test_encoder_refuses_impossible_plans)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    sample_plan(&p);
    p.n_stages = RW_PLAN_MAX_STAGES + 1;
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_ERANGE);
    sample_plan(&p);
    p.stages[0].n_targets = RW_PLAN_MAX_TARGETS + 1;
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_ERANGE);
    sample_plan(&p);
    p.n_trace = RW_PLAN_MAX_TRACE + 1;
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_ERANGE);
    sample_plan(&p);
    p.stages[1].n_targets = 0;
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    sample_plan(&p);
    p.final_target.type = RW_TARGET_NUMBER;               /* voicemail final needs voicemail */
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    sample_plan(&p);
    p.stages[0].targets[0].n_trunks = 1;                  /* trunks on a devices target */
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    sample_plan(&p);
    p.call_id[0] = '\0';
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    sample_plan(&p);
    memset(p.user, 'u', sizeof p.user);                   /* no NUL inside the buffer */
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_ERANGE);
    sample_plan(&p);
    p.status = (rw_plan_status_t) 7;
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_encoder_refuses_bad_requests)
{
    rw_route_req_t r;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    sample_route_req(&r);
    r.n_diversions = RW_ROUTE_MAX_DIVERSIONS + 1;
    ck_assert_int_eq(rw_proto_route_req_encode(&r, &sb), RW_ERANGE);
    sample_route_req(&r);
    r.callee[0] = '\0';
    ck_assert_int_eq(rw_proto_route_req_encode(&r, &sb), RW_EINVAL);
    sample_route_req(&r);
    r.diversions[1][0] = '\0';
    ck_assert_int_eq(rw_proto_route_req_encode(&r, &sb), RW_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_truncated_messages_are_refused_at_every_offset)
{
    static rw_plan_t p;
    rw_route_req_t r;
    msgpack_sbuffer a, b;
    sample_route_req(&r);
    sample_plan(&p);
    encode_req(&r, &a);
    encode_plan(&p, &b);
    mt_check_truncations(decode_req, &a);
    mt_check_truncations(decode_plan, &b);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}
END_TEST

START_TEST(test_trailing_bytes_are_refused)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    sample_plan(&p);
    encode_plan(&p, &sb);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    ck_assert_int_eq(mt_decode_exact(decode_plan, sb.data, sb.size), RW_EPROTO);
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), 0);  /* two plans back to back */
    ck_assert_int_eq(mt_decode_exact(decode_plan, sb.data, sb.size), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

static const char *const req_required[] = {
    "v", "call_id", "caller", "callee", "time_ms", "source", NULL,
};
static const char *const plan_required[] = {
    "v", "call_id", "status", "final", "final_target", "final_target.type",
    "final_target.mailbox", "stages[].ring_ms", "stages[].targets", "stages[].targets[].type",
    "stages[].targets[].aor", "stages[].targets[].number", "stages[].targets[].group",
    "stages[].targets[].mailbox", NULL,
};

static void walk_message(mt_decode_fn fn, const msgpack_sbuffer *sb, const char *const *required,
                         mt_visit_fn visit, int min_visits)
{
    msgpack_unpacked u;
    msgpack_object *root = mt_unpack(&u, sb);
    mt_ctx_t c = { fn, required, 0, 0 };
    mt_walk(root, root, "", visit, &c);
    msgpack_unpacked_destroy(&u);
    ck_assert_int_eq(c.failures, 0);
    ck_assert_int_ge(c.visited, min_visits);
}

START_TEST(test_missing_required_fields_are_refused_and_optional_ones_are_not)
{
    static rw_plan_t p;
    rw_route_req_t r;
    msgpack_sbuffer a, b;
    sample_route_req(&r);
    sample_plan(&p);
    encode_req(&r, &a);
    encode_plan(&p, &b);
    walk_message(decode_req, &a, req_required, mt_visit_remove, 9);
    walk_message(decode_plan, &b, plan_required, mt_visit_remove, 29);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}
END_TEST

START_TEST(test_wrong_type_for_every_value_is_refused)
{
    static rw_plan_t p;
    rw_route_req_t r;
    msgpack_sbuffer a, b;
    sample_route_req(&r);
    sample_plan(&p);
    encode_req(&r, &a);
    encode_plan(&p, &b);
    walk_message(decode_req, &a, req_required, mt_visit_wrong_type, 11);
    walk_message(decode_plan, &b, plan_required, mt_visit_wrong_type, 40);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}
END_TEST

/* Replace every value found at `path` by `obj`, decode, restore. */
typedef struct {
    const char *path;
    msgpack_object obj;
    int hits;
} replace_t;

static void visit_replace(msgpack_object *root, msgpack_object *slot, msgpack_object *map,
                          uint32_t idx, const char *path, void *arg)
{
    replace_t *r = arg;
    (void) root;
    (void) map;
    (void) idx;
    if (strcmp(path, r->path) == 0) {
        *slot = r->obj;
        r->hits++;
    }
}

static int decode_replaced(mt_decode_fn fn, const msgpack_sbuffer *sb, const char *path,
                           msgpack_object obj)
{
    msgpack_unpacked u;
    msgpack_object *root = mt_unpack(&u, sb);
    replace_t r = { path, obj, 0 };
    mt_walk(root, root, "", visit_replace, &r);
    ck_assert_msg(r.hits > 0, "no value at %s", path);
    int rc = mt_decode_object(fn, root);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static msgpack_object str_obj(size_t n)
{
    static char xs[1024];
    memset(xs, 'x', sizeof xs);
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t) n, xs } };
}

static const struct { const char *path; size_t limit; } req_strings[] = {
    { "call_id", 127 }, { "caller", 127 }, { "callee", 127 }, { "callee_uri", 255 },
    { "source", 63 }, { "diverted[]", 63 },
};

static const struct { const char *path; size_t limit; } plan_strings[] = {
    { "call_id", 127 }, { "user", 63 }, { "stages[].targets[].aor", 127 },
    { "stages[].targets[].number", 127 }, { "stages[].targets[].group", 127 },
    { "stages[].targets[].mailbox", 127 }, { "stages[].targets[].trunks[]", 31 },
    { "stages[].targets[].diversion", 31 }, { "final_target.mailbox", 127 },
    { "final_target.diversion", 31 }, { "trace[]", 200 },
};

START_TEST(test_request_strings_at_limit_pass_and_beyond_are_erange)
{
    rw_route_req_t r;
    msgpack_sbuffer sb;
    sample_route_req(&r);
    encode_req(&r, &sb);
    const char *path = req_strings[_i].path;
    size_t limit = req_strings[_i].limit;
    ck_assert_int_eq(decode_replaced(decode_req, &sb, path, str_obj(limit)), 0);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, path, str_obj(limit + 1)), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_plan_strings_at_limit_pass_and_beyond_are_erange)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    sample_plan(&p);
    encode_plan(&p, &sb);
    const char *path = plan_strings[_i].path;
    size_t limit = plan_strings[_i].limit;
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, path, str_obj(limit)), 0);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, path, str_obj(limit + 1)), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* An array of n copies of *elem. */
static msgpack_object array_of(msgpack_object *store, const msgpack_object *elem, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        store[i] = *elem;
    return (msgpack_object){ .type = MSGPACK_OBJECT_ARRAY, .via.array = { n, store } };
}

/* The first stage of a valid plan (owned by u). */
static msgpack_object first_stage(msgpack_unpacked *u, const msgpack_sbuffer *sb)
{
    const msgpack_object *stages;
    msgpack_object *root = mt_unpack(u, sb);
    ck_assert_int_eq(rw_mp_find(root, "stages", &stages), 0);
    return stages->via.array.ptr[0];
}

START_TEST(test_arrays_beyond_limits_are_erange)
{
    static rw_plan_t p;
    rw_route_req_t r;
    msgpack_sbuffer a, b;
    msgpack_unpacked u;
    msgpack_object store[64];
    sample_route_req(&r);
    sample_plan(&p);
    encode_req(&r, &a);
    encode_plan(&p, &b);

    msgpack_object s = str_obj(4);
    ck_assert_int_eq(decode_replaced(decode_req, &a, "diverted", array_of(store, &s, 8)), 0);
    ck_assert_int_eq(decode_replaced(decode_req, &a, "diverted", array_of(store, &s, 9)), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "trace", array_of(store, &s, 32)), 0);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "trace", array_of(store, &s, 33)), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages[].targets[].trunks",
                                     array_of(store, &s, 4)), 0);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages[].targets[].trunks",
                                     array_of(store, &s, 5)), RW_ERANGE);

    msgpack_object stage = first_stage(&u, &b);
    ck_assert_int_eq(stage.type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages", array_of(store, &stage, 8)), 0);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages", array_of(store, &stage, 9)),
                     RW_ERANGE);
    const msgpack_object *targets;
    ck_assert_int_eq(rw_mp_find(&stage, "targets", &targets), 0);
    msgpack_object target = targets->via.array.ptr[0];
    ck_assert_int_eq(target.type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages[].targets",
                                     array_of(store, &target, 8)), 0);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages[].targets",
                                     array_of(store, &target, 9)), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(decode_plan, &b, "stages[].targets",
                                     array_of(store, &target, 0)), RW_EPROTO);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}
END_TEST

/* A valid message with one more entry (raw key and value bytes) in its top-level fixmap. */
static void with_extra_entry(const msgpack_sbuffer *valid, const char *key, const void *val,
                             size_t val_len, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    ck_assert_uint_eq((unsigned char) valid->data[0] & 0xf0, 0x80);   /* a fixmap */
    ck_assert_uint_lt((unsigned char) valid->data[0] & 0x0f, 15);
    msgpack_sbuffer_init(out);
    msgpack_sbuffer_write(out, valid->data, valid->size);
    out->data[0]++;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_str(&pk, strlen(key));
    msgpack_pack_str_body(&pk, key, strlen(key));
    msgpack_sbuffer_write(out, val, val_len);
}

static int plan_with_extra(const char *key, const void *val, size_t val_len)
{
    static rw_plan_t p;
    msgpack_sbuffer valid, sb;
    sample_plan(&p);
    encode_plan(&p, &valid);
    with_extra_entry(&valid, key, val, val_len, &sb);
    int rc = mt_decode_exact(decode_plan, sb.data, sb.size);
    msgpack_sbuffer_destroy(&valid);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

START_TEST(test_array_bomb_is_refused_without_allocating)
{
    static const unsigned char bomb[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };
    static const unsigned char bomb32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char mapbomb[] = { 0xdf, 0x01, 0x00, 0x00, 0x00 };
    static const unsigned char strbomb[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff };
    ck_assert_int_eq(mt_decode_exact(decode_plan, bomb, sizeof bomb), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_req, bomb32, sizeof bomb32), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_plan, mapbomb, sizeof mapbomb), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_plan, strbomb, sizeof strbomb), RW_EPROTO);
    ck_assert_int_eq(plan_with_extra("zz", bomb, sizeof bomb), RW_EPROTO);
}
END_TEST

START_TEST(test_deep_nesting_is_refused_and_shallow_unknown_values_ignored)
{
    unsigned char deep[1001];
    memset(deep, 0x91, sizeof deep);                      /* [[[[...0...]]]] */
    deep[sizeof deep - 1] = 0x00;
    ck_assert_int_eq(plan_with_extra("zz", deep, sizeof deep), RW_EPROTO);
    ck_assert_int_eq(plan_with_extra("zz", deep + 1000 - 40, 41), RW_EPROTO);
    ck_assert_int_eq(plan_with_extra("zz", deep + 1000 - 10, 11), 0);
    ck_assert_int_eq(mt_decode_exact(decode_plan, deep, sizeof deep), RW_EPROTO);
}
END_TEST

START_TEST(test_unknown_keys_are_ignored)
{
    static rw_plan_t in, out;
    static const unsigned char val[] = { 0x82, 0xa1, 'a', 0x92, 0x01, 0xc3, 0xa1, 'b', 0xc0 };
    static const unsigned char int_key_entry[] = { 0x05, 0xa1, 'x' };
    msgpack_sbuffer valid, sb;
    sample_plan(&in);
    encode_plan(&in, &valid);
    with_extra_entry(&valid, "future_field", val, sizeof val, &sb);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
    /* A key that is not a string is skipped too: splice "05 a1 'x'" as an entry by hand. */
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, valid.data, valid.size);
    sb.data[0]++;
    msgpack_sbuffer_write(&sb, (const char *) int_key_entry, sizeof int_key_entry);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&valid);
}
END_TEST

START_TEST(test_nested_unknown_keys_are_ignored)
{
    static rw_plan_t in, out;
    msgpack_sbuffer valid;
    msgpack_unpacked u;
    sample_plan(&in);
    encode_plan(&in, &valid);
    msgpack_object stage = first_stage(&u, &valid);
    msgpack_object_kv kvs[8];
    ck_assert_uint_lt(stage.via.map.size, 7);
    memcpy(kvs, stage.via.map.ptr, stage.via.map.size * sizeof kvs[0]);
    kvs[stage.via.map.size] = (msgpack_object_kv){ str_obj(3), str_obj(5) };   /* "xxx":"xxxxx" */
    msgpack_object bigger = { .type = MSGPACK_OBJECT_MAP,
                              .via.map = { stage.via.map.size + 1, kvs } };
    msgpack_object store[1];
    ck_assert_int_eq(decode_replaced(decode_plan, &valid, "stages", array_of(store, &bigger, 1)),
                     0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&valid);
    (void) out;
}
END_TEST

static msgpack_object uint_obj(uint64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = v };
}

static msgpack_object named(const char *s)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                             .via.str = { (uint32_t) strlen(s), s } };
}

START_TEST(test_unknown_major_versions_are_refused)
{
    rw_route_req_t r;
    msgpack_sbuffer sb;
    sample_route_req(&r);
    encode_req(&r, &sb);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, "v", uint_obj(1)), 0);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, "v", uint_obj(2)), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, "v", uint_obj(0)), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, "v", uint_obj(1ull << 40)), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_req, &sb, "v", named("1")), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_bad_values_are_refused)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    sample_plan(&p);
    encode_plan(&p, &sb);
    msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -5 };
    msgpack_object nul = { .type = MSGPACK_OBJECT_STR, .via.str = { 3, "a\0b" } };
    msgpack_object bin = { .type = MSGPACK_OBJECT_BIN, .via.bin = { 3, "abc" } };
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "stages[].ring_ms", neg), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "stages[].ring_ms", uint_obj(1ull << 33)),
                     RW_ERANGE);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "call_id", nul), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "call_id", bin), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "call_id", str_obj(0)), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "status", named("maybe")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "final", named("explode")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "stages[].targets[].type", named("fax")),
                     RW_EPROTO);
    /* A voicemail final whose target is a number is contradictory. */
    ck_assert_int_eq(decode_replaced(decode_plan, &sb, "final", named("number")), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_duplicate_keys_are_refused)
{
    static const unsigned char dup[] = { 0xa3, 'd', 'u', 'p' };
    ck_assert_int_eq(plan_with_extra("call_id", dup, sizeof dup), RW_EPROTO);
    ck_assert_int_eq(plan_with_extra("v", "\x01", 1), RW_EPROTO);
}
END_TEST

START_TEST(test_oversized_message_is_erange)
{
    static char big[70000];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_str(&pk, sizeof big);
    msgpack_pack_str_body(&pk, big, sizeof big);
    ck_assert_int_eq(plan_with_extra("padding", sb.data, sb.size), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_not_a_map_and_empty_input_are_refused)
{
    static const unsigned char arr[] = { 0x91, 0x01 };
    static const unsigned char reserved[] = { 0xc1 };
    ck_assert_int_eq(mt_decode_exact(decode_plan, arr, sizeof arr), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_plan, reserved, sizeof reserved), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_plan, "", 0), RW_EPROTO);
    ck_assert_int_eq(decode_req(NULL, 0), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_req, "\x80", 1), RW_EPROTO);   /* {} has no v */
}
END_TEST

/* ---- text ---- */

START_TEST(test_plan_format_reads_as_text)
{
    static rw_plan_t p;
    char buf[2048];
    sample_plan(&p);
    ck_assert_int_eq(rw_proto_plan_format(&p, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "call a84b4c76e66710@pc33.example.org: ok, user 2001\n"));
    ck_assert_ptr_nonnull(strstr(buf, "stage 1, ring 20000 ms:\n"
                                      "  devices sip:2001@ringway.example.org\n"
                                      "  number +447700900123 via bt-sip, backup (private)"
                                      " [diversion no-answer]\n"));
    ck_assert_ptr_nonnull(strstr(buf, "stage 3, ring until answered:\n"));
    ck_assert_ptr_nonnull(strstr(buf, "then: voicemail -> voicemail 2001 [diversion no-answer]\n"));
    ck_assert_ptr_nonnull(strstr(buf, "trace:\n  10:04 Tue Europe/London; rule 'workday' matched\n"));
}
END_TEST

START_TEST(test_plan_format_truncates_safely_and_hides_control_characters)
{
    static rw_plan_t p;
    char small[16], buf[2048];
    sample_plan(&p);
    ck_assert_int_eq(rw_proto_plan_format(&p, small, sizeof small), RW_ERANGE);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(rw_proto_plan_format(&p, small, 0), RW_ERANGE);
    strcpy(p.trace[0], "evil\x1b[2Jline\r");
    ck_assert_int_eq(rw_proto_plan_format(&p, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "evil?[2Jline?\n"));
    ck_assert_ptr_null(strchr(buf, '\x1b'));
}
END_TEST

START_TEST(test_trace_lines_are_cut_at_a_character_boundary)
{
    static rw_plan_t p;
    char line[260];
    memset(&p, 0, sizeof p);
    memset(line, 'a', 199);
    strcpy(line + 199, "\xc3\xa9 and more");           /* 'é' straddles byte 200 */
    ck_assert_int_eq(rw_proto_plan_trace(&p, "%s", line), 0);
    ck_assert_uint_eq(strlen(p.trace[0]), 199);
    memset(line, 'b', 198);
    strcpy(line + 198, "\xc3\xa9xyz");                 /* 'é' fits exactly */
    ck_assert_int_eq(rw_proto_plan_trace(&p, "%s", line), 0);
    ck_assert_uint_eq(strlen(p.trace[1]), 200);
}
END_TEST

/* ---- mutation loop ---- */

static void mutate(const msgpack_sbuffer *valid, unsigned char *buf, size_t *len, uint64_t *seed)
{
    memcpy(buf, valid->data, valid->size);
    *len = valid->size;
    int flips = 1 + (int) (mt_rand(seed) % 4);
    for (int f = 0; f < flips; f++) {
        size_t at = mt_rand(seed) % *len;
        uint64_t how = mt_rand(seed) % 8;
        if (how < 5)
            buf[at] ^= (unsigned char) (1u << (mt_rand(seed) % 8));
        else if (how < 7)
            buf[at] = (unsigned char) mt_rand(seed);
        else
            *len = at + 1;                                /* truncate */
    }
}

START_TEST(test_100000_mutated_requests_never_crash)
{
    rw_route_req_t r, out, again;
    msgpack_sbuffer valid, re;
    unsigned char buf[1024];
    size_t len;
    uint64_t seed = 0x5eed0001;
    int accepted = 0;
    sample_route_req(&r);
    encode_req(&r, &valid);
    ck_assert_uint_le(valid.size, sizeof buf);
    for (int i = 0; i < 100000; i++) {
        mutate(&valid, buf, &len, &seed);
        if (rw_proto_route_req_decode(buf, len, &out) != 0)
            continue;
        accepted++;
        msgpack_sbuffer_init(&re);
        ck_assert_int_eq(rw_proto_route_req_encode(&out, &re), 0);
        ck_assert_int_eq(rw_proto_route_req_decode(re.data, re.size, &again), 0);
        ck_assert(rw_proto_route_req_equal(&out, &again));
        msgpack_sbuffer_destroy(&re);
    }
    ck_assert_int_gt(accepted, 0);                        /* flips inside strings still decode */
    msgpack_sbuffer_destroy(&valid);
}
END_TEST

START_TEST(test_100000_mutated_plans_never_crash)
{
    static rw_plan_t p, out, again;
    msgpack_sbuffer valid, re;
    static unsigned char buf[4096];
    size_t len;
    uint64_t seed = 0x5eed0002;
    int accepted = 0;
    sample_plan(&p);
    encode_plan(&p, &valid);
    ck_assert_uint_le(valid.size, sizeof buf);
    for (int i = 0; i < 100000; i++) {
        mutate(&valid, buf, &len, &seed);
        if (rw_proto_plan_decode(buf, len, &out) != 0)
            continue;
        accepted++;
        msgpack_sbuffer_init(&re);
        ck_assert_int_eq(rw_proto_plan_encode(&out, &re), 0);
        ck_assert_int_eq(rw_proto_plan_decode(re.data, re.size, &again), 0);
        ck_assert(rw_proto_plan_equal(&out, &again));
        msgpack_sbuffer_destroy(&re);
    }
    ck_assert_int_gt(accepted, 0);
    msgpack_sbuffer_destroy(&valid);
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("protocols.route");
    TCase *tc = tcase_create("round_trip");
    tcase_add_test(tc, test_route_req_round_trips);
    tcase_add_test(tc, test_minimal_route_req_round_trips);
    tcase_add_test(tc, test_plan_round_trips);
    tcase_add_loop_test(tc, test_plan_every_final_round_trips, RW_FINAL_BUSY, RW_FINAL_REJECT + 1);
    tcase_add_test(tc, test_not_found_plan_without_stages_round_trips);
    tcase_add_test(tc, test_full_plan_at_every_limit_round_trips);
    tcase_add_test(tc, test_encoder_refuses_impossible_plans);
    tcase_add_test(tc, test_encoder_refuses_bad_requests);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, test_truncated_messages_are_refused_at_every_offset);
    tcase_add_test(tc, test_trailing_bytes_are_refused);
    tcase_add_test(tc, test_missing_required_fields_are_refused_and_optional_ones_are_not);
    tcase_add_test(tc, test_wrong_type_for_every_value_is_refused);
    tcase_add_loop_test(tc, test_request_strings_at_limit_pass_and_beyond_are_erange, 0,
                        (int) (sizeof req_strings / sizeof req_strings[0]));
    tcase_add_loop_test(tc, test_plan_strings_at_limit_pass_and_beyond_are_erange, 0,
                        (int) (sizeof plan_strings / sizeof plan_strings[0]));
    tcase_add_test(tc, test_arrays_beyond_limits_are_erange);
    tcase_add_test(tc, test_array_bomb_is_refused_without_allocating);
    tcase_add_test(tc, test_deep_nesting_is_refused_and_shallow_unknown_values_ignored);
    tcase_add_test(tc, test_unknown_keys_are_ignored);
    tcase_add_test(tc, test_nested_unknown_keys_are_ignored);
    tcase_add_test(tc, test_unknown_major_versions_are_refused);
    tcase_add_test(tc, test_bad_values_are_refused);
    tcase_add_test(tc, test_duplicate_keys_are_refused);
    tcase_add_test(tc, test_oversized_message_is_erange);
    tcase_add_test(tc, test_not_a_map_and_empty_input_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_test(tc, test_plan_format_reads_as_text);
    tcase_add_test(tc, test_plan_format_truncates_safely_and_hides_control_characters);
    tcase_add_test(tc, test_trace_lines_are_cut_at_a_character_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutation");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_100000_mutated_requests_never_crash);
    tcase_add_test(tc, test_100000_mutated_plans_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(route_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
