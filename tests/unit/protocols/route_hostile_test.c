/* tests/unit/protocols/route_hostile_test.c — hand-made hostile inputs for the route
 * request and plan decoders: truncation at every offset, trailing bytes, every key removed,
 * every value of the wrong type, strings and arrays at and beyond their limits, the array
 * bomb, deep nesting, unknown keys, versions, duplicates, bad values. */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mutate.h"
#include "protocols/codec.h"
#include "route_fixtures.h"
#include "samples.h"

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
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, path, mt_str(limit)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, path, mt_str(limit + 1)), RW_ERANGE);
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
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, path, mt_str(limit)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, path, mt_str(limit + 1)), RW_ERANGE);
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

    msgpack_object s = mt_str(4);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &a, "diverted", array_of(store, &s, 8)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &a, "diverted", array_of(store, &s, 9)),
                     RW_ERANGE);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "trace", array_of(store, &s, 32)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "trace", array_of(store, &s, 33)),
                     RW_ERANGE);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages[].targets[].trunks",
                                     array_of(store, &s, 4)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages[].targets[].trunks",
                                     array_of(store, &s, 5)), RW_ERANGE);

    msgpack_object stage = first_stage(&u, &b);
    ck_assert_int_eq(stage.type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages", array_of(store, &stage, 8)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages", array_of(store, &stage, 9)),
                     RW_ERANGE);
    const msgpack_object *targets;
    ck_assert_int_eq(rw_mp_find(&stage, "targets", &targets), 0);
    msgpack_object target = targets->via.array.ptr[0];
    ck_assert_int_eq(target.type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages[].targets",
                                     array_of(store, &target, 8)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages[].targets",
                                     array_of(store, &target, 9)), RW_ERANGE);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &b, "stages[].targets",
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
    kvs[stage.via.map.size] = (msgpack_object_kv){ mt_str(3), mt_str(5) };   /* "xxx":"xxxxx" */
    msgpack_object bigger = { .type = MSGPACK_OBJECT_MAP,
                              .via.map = { stage.via.map.size + 1, kvs } };
    msgpack_object store[1];
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &valid, "stages", array_of(store, &bigger, 1)),
                     0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&valid);
    (void) out;
}
END_TEST

START_TEST(test_unknown_major_versions_are_refused)
{
    rw_route_req_t r;
    msgpack_sbuffer sb;
    sample_route_req(&r);
    encode_req(&r, &sb);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, "v", mt_uint(1)), 0);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, "v", mt_uint(2)), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, "v", mt_uint(0)), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, "v", mt_uint(1ull << 40)), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_req, &sb, "v", mt_named("1")), RW_EPROTO);
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
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "stages[].ring_ms", neg), RW_ERANGE);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "stages[].ring_ms", mt_uint(1ull << 33)),
                     RW_ERANGE);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "call_id", nul), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "call_id", bin), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "call_id", mt_str(0)), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "status", mt_named("maybe")), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "final", mt_named("explode")), RW_EPROTO);
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "stages[].targets[].type",
                                        mt_named("fax")),
                     RW_EPROTO);
    /* A voicemail final whose target is a number is contradictory. */
    ck_assert_int_eq(mt_decode_replaced(decode_plan, &sb, "final", mt_named("number")), RW_EPROTO);
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

static Suite *route_hostile_suite(void)
{
    Suite *s = suite_create("protocols.route_hostile");
    TCase *tc;

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

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(route_hostile_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
