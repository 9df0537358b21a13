/* tests/unit/protocols/codec_test.c — the msgpack helpers: the pre-scan (table of byte strings
 * it must accept or refuse), rw_mp_open's framing and version rules, find-by-key and the typed
 * getters' type, range and length checks, and the field tables. */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "protocols/codec.h"

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    int rc;
} prescan_case_t;

#define B(s) s, sizeof(s) - 1

static const prescan_case_t prescan_cases[] = {
    { "positive fixint", B("\x05"), 0 },
    { "nil", B("\xc0"), 0 },
    { "empty map", B("\x80"), 0 },
    { "fixmap of one", B("\x81\xa1k\x01"), 0 },
    { "str8", B("\xd9\x03" "abc"), 0 },
    { "bin16", B("\xc5\x00\x02" "ab"), 0 },
    { "float64", B("\xcb\x00\x00\x00\x00\x00\x00\x00\x00"), 0 },
    { "fixext4", B("\xd6\x01\x00\x00\x00\x00"), 0 },
    { "ext8", B("\xc7\x02\x01" "ab"), 0 },
    { "array16 of two", B("\xdc\x00\x02\x01\x02"), 0 },
    { "map32 of one", B("\xdf\x00\x00\x00\x01\x01\x02"), 0 },
    { "empty input", "", 0, RW_EPROTO },
    { "reserved 0xc1", B("\xc1"), RW_EPROTO },
    { "array bomb 2^24", B("\xdd\x01\x00\x00\x00"), RW_EPROTO },
    { "array bomb 2^32-1", B("\xdd\xff\xff\xff\xff"), RW_EPROTO },
    { "map bomb", B("\xdf\x7f\xff\xff\xff"), RW_EPROTO },
    { "str32 bomb", B("\xdb\xff\xff\xff\xff"), RW_EPROTO },
    { "bin32 bomb", B("\xc6\xff\xff\xff\xff"), RW_EPROTO },
    { "ext32 bomb", B("\xc9\xff\xff\xff\xff\x01"), RW_EPROTO },
    { "truncated length", B("\xda\x00"), RW_EPROTO },
    { "truncated uint64", B("\xcf\x00\x00"), RW_EPROTO },
    { "truncated fixstr", B("\xa5" "ab"), RW_EPROTO },
    { "truncated map value", B("\x81\xa1k"), RW_EPROTO },
    { "two objects", B("\x01\x02"), RW_EPROTO },
    { "trailing nil", B("\x80\xc0"), RW_EPROTO },
};

START_TEST(test_prescan_table)
{
    const prescan_case_t *c = &prescan_cases[_i];
    void *copy = malloc(c->len ? c->len : 1);
    memcpy(copy, c->bytes, c->len);
    ck_assert_msg(rw_mp_prescan(copy, c->len) == c->rc, "%s", c->name);
    free(copy);
}
END_TEST

START_TEST(test_prescan_refuses_null)
{
    ck_assert_int_eq(rw_mp_prescan(NULL, 0), RW_EPROTO);
}
END_TEST

/* {"v":1,"s":"abc","u":300,"n":-7,"b":true,"a":[1,2,3],"m":{},"e":"busy","z":"a\0b"} */
static void sample(msgpack_sbuffer *sb, uint64_t version)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    rw_mp_packer_init(&pk, sb);
    msgpack_pack_map(&pk, 9);
    ck_assert_int_eq(rw_mp_pack_kv_uint(&pk, "v", version), 0);
    ck_assert_int_eq(rw_mp_pack_kv_str(&pk, "s", "abc", 4), 0);
    ck_assert_int_eq(rw_mp_pack_kv_uint(&pk, "u", 300), 0);
    ck_assert_int_eq(rw_mp_pack_kv_int(&pk, "n", -7), 0);
    ck_assert_int_eq(rw_mp_pack_kv_bool(&pk, "b", true), 0);
    rw_mp_pack_key(&pk, "a");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_int(&pk, 3);
    rw_mp_pack_key(&pk, "m");
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(rw_mp_pack_kv_str(&pk, "e", "busy", 5), 0);
    rw_mp_pack_key(&pk, "z");
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "a\0b", 3);
}

START_TEST(test_open_accepts_known_versions_only)
{
    msgpack_sbuffer sb;
    rw_mp_doc_t doc;
    sample(&sb, 1);
    ck_assert_int_eq(rw_mp_open(&doc, sb.data, sb.size, 1), 0);
    ck_assert_uint_eq(doc.version, 1);
    ck_assert_int_eq(doc.root->type, MSGPACK_OBJECT_MAP);
    rw_mp_close(&doc);
    msgpack_sbuffer_destroy(&sb);
    sample(&sb, 2);
    ck_assert_int_eq(rw_mp_open(&doc, sb.data, sb.size, 1), RW_EPROTO);
    rw_mp_close(&doc);
    ck_assert_int_eq(rw_mp_open(&doc, sb.data, sb.size, 2), 0);
    rw_mp_close(&doc);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_open_refuses_oversized_and_non_map_input)
{
    rw_mp_doc_t doc;
    char *big = calloc(1, RW_MP_MAX_MSG + 1);
    ck_assert_int_eq(rw_mp_open(&doc, big, RW_MP_MAX_MSG + 1, 1), RW_ERANGE);
    rw_mp_close(&doc);
    free(big);
    ck_assert_int_eq(rw_mp_open(&doc, "\x91\x01", 2, 1), RW_EPROTO);
    rw_mp_close(&doc);
    ck_assert_int_eq(rw_mp_open(&doc, "\x81\xa1v\xa1" "1", 4, 1), RW_EPROTO);  /* v is "1" */
    rw_mp_close(&doc);
    /* 40 nested arrays: msgpack-c's depth limit (32) refuses it after the pre-scan passes. */
    char deep[41];
    memset(deep, 0x91, 40);
    deep[40] = 0x00;
    ck_assert_int_eq(rw_mp_prescan(deep, sizeof deep), 0);
    ck_assert_int_eq(rw_mp_open(&doc, deep, sizeof deep, 1), RW_EPROTO);
    rw_mp_close(&doc);
}
END_TEST

START_TEST(test_getters_check_type_range_and_length)
{
    msgpack_sbuffer sb;
    rw_mp_doc_t doc;
    const msgpack_object *m = NULL, *o = NULL;
    const msgpack_object_array *a = NULL;
    uint64_t u = 99;
    uint32_t u32 = 0;
    int64_t i = 0;
    bool b = false;
    char buf[4], tiny[3];
    int e = -1;
    static const char *const names[] = { "ok", NULL, "busy" };

    sample(&sb, 1);
    ck_assert_int_eq(rw_mp_open(&doc, sb.data, sb.size, 1), 0);
    m = doc.root;
    ck_assert_int_eq(rw_mp_find(m, "s", &o), 0);
    ck_assert_int_eq(rw_mp_find(m, "missing", &o), RW_ENOTFOUND);
    ck_assert_int_eq(rw_mp_get_uint(m, "u", true, 1000, &u), 0);
    ck_assert_uint_eq(u, 300);
    ck_assert_int_eq(rw_mp_get_uint(m, "u", true, 299, &u), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_uint(m, "n", true, 1000, &u), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_uint(m, "s", true, 1000, &u), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_uint(m, "missing", true, 1000, &u), RW_EPROTO);
    u = 99;
    ck_assert_int_eq(rw_mp_get_uint(m, "missing", false, 1000, &u), 0);
    ck_assert_uint_eq(u, 99);                             /* optional and absent: untouched */
    ck_assert_int_eq(rw_mp_get_u32(m, "u", true, &u32), 0);
    ck_assert_uint_eq(u32, 300);
    ck_assert_int_eq(rw_mp_get_int(m, "n", true, -10, 10, &i), 0);
    ck_assert_int_eq(i, -7);
    ck_assert_int_eq(rw_mp_get_int(m, "n", true, 0, 10, &i), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_int(m, "u", true, 0, 10, &i), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_int(m, "b", true, 0, 10, &i), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_bool(m, "b", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(rw_mp_get_bool(m, "u", true, &b), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_str(m, "s", true, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "abc");
    ck_assert_int_eq(rw_mp_get_str(m, "s", true, tiny, sizeof tiny), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_str(m, "z", true, buf, sizeof buf), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_str(m, "u", true, buf, sizeof buf), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_enum(m, "e", true, names, 3, &e), 0);
    ck_assert_int_eq(e, 2);
    ck_assert_int_eq(rw_mp_get_enum(m, "s", true, names, 3, &e), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_array(m, "a", true, 3, &a), 0);
    ck_assert_uint_eq(a->size, 3);
    ck_assert_int_eq(rw_mp_get_array(m, "a", true, 2, &a), RW_ERANGE);
    ck_assert_int_eq(rw_mp_get_array(m, "m", true, 2, &a), RW_EPROTO);
    ck_assert_int_eq(rw_mp_get_map(m, "m", true, &o), 0);
    ck_assert_int_eq(rw_mp_get_map(m, "a", true, &o), RW_EPROTO);
    ck_assert_int_eq(rw_mp_find(&a->ptr[0], "x", &o), RW_EPROTO);   /* not a map */
    rw_mp_close(&doc);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_duplicate_keys_are_ambiguous)
{
    static const char dup[] = "\x83\xa1v\x01\xa1k\x01\xa1k\x02";
    rw_mp_doc_t doc;
    const msgpack_object *o;
    ck_assert_int_eq(rw_mp_open(&doc, dup, sizeof dup - 1, 1), 0);
    ck_assert_int_eq(rw_mp_find(doc.root, "k", &o), RW_EPROTO);
    rw_mp_close(&doc);
}
END_TEST

typedef struct {
    char name[8];
    uint64_t big;
    uint32_t small;
    int32_t signed_;
    bool flag;
} demo_t;

static const rw_mp_field_t demo_fields[] = {
    RW_MP_FIELD(demo_t, name, "name", RW_MP_STR, true),
    RW_MP_FIELD(demo_t, big, "big", RW_MP_U64, false),
    RW_MP_FIELD(demo_t, small, "small", RW_MP_U32, false),
    RW_MP_FIELD(demo_t, signed_, "signed", RW_MP_I32, false),
    RW_MP_FIELD(demo_t, flag, "flag", RW_MP_BOOL, false),
};

static int demo_round_trip(const demo_t *in, demo_t *out, uint32_t *entries)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rw_mp_doc_t doc;
    int rc;
    msgpack_sbuffer_init(&sb);
    rw_mp_packer_init(&pk, &sb);
    *entries = rw_mp_fields_count(demo_fields, 5, in);
    msgpack_pack_map(&pk, 1 + *entries);
    rw_mp_pack_kv_uint(&pk, "v", 1);
    if ((rc = rw_mp_encode_fields(&pk, demo_fields, 5, in)) == 0) {
        memset(out, 0, sizeof *out);
        ck_assert_int_eq(rw_mp_open(&doc, sb.data, sb.size, 1), 0);
        rc = rw_mp_decode_fields(doc.root, demo_fields, 5, out);
        rw_mp_close(&doc);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

START_TEST(test_field_tables_round_trip_and_skip_zero_optionals)
{
    demo_t in = { "alice", UINT64_MAX, UINT32_MAX, INT32_MIN, true }, out;
    uint32_t entries;
    ck_assert_int_eq(demo_round_trip(&in, &out, &entries), 0);
    ck_assert_uint_eq(entries, 5);
    ck_assert(rw_mp_fields_equal(demo_fields, 5, &in, &out));
    demo_t sparse = { "bob", 0, 0, 0, false };
    ck_assert_int_eq(demo_round_trip(&sparse, &out, &entries), 0);
    ck_assert_uint_eq(entries, 1);
    ck_assert(rw_mp_fields_equal(demo_fields, 5, &sparse, &out));
    ck_assert(!rw_mp_fields_equal(demo_fields, 5, &in, &out));
    demo_t empty = { "", 1, 1, 1, true };
    ck_assert_int_eq(demo_round_trip(&empty, &out, &entries), RW_EINVAL);
    demo_t unterminated = { "12345678", 0, 0, 0, false };
    ck_assert_int_eq(demo_round_trip(&unterminated, &out, &entries), RW_ERANGE);
}
END_TEST

START_TEST(test_pack_cstr_refuses_unterminated_buffers)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char four[4] = { 'a', 'b', 'c', 'd' };
    msgpack_sbuffer_init(&sb);
    rw_mp_packer_init(&pk, &sb);
    ck_assert_int_eq(rw_mp_pack_cstr(&pk, four, sizeof four), RW_ERANGE);
    ck_assert_int_eq(rw_mp_cstr_len(four, sizeof four), -1);
    four[3] = '\0';
    ck_assert_int_eq(rw_mp_pack_cstr(&pk, four, sizeof four), 0);
    ck_assert_int_eq(rw_mp_cstr_len(four, sizeof four), 3);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Random bytes: whatever the pre-scan accepts, msgpack-c must unpack completely. */
START_TEST(test_prescan_accepted_input_always_unpacks)
{
    uint64_t s = 0x5eed0004;
    unsigned char buf[32];
    int accepted = 0;
    for (int i = 0; i < 200000; i++) {
        size_t len = 1 + (size_t) (s % sizeof buf);
        for (size_t k = 0; k < len; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buf[k] = (unsigned char) (k == 0 ? 0x80 | (s & 0x1f) : s);  /* mostly containers */
        }
        if (rw_mp_prescan(buf, len) != 0)
            continue;
        accepted++;
        msgpack_unpacked u;
        size_t off = 0;
        msgpack_unpacked_init(&u);
        msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *) buf, len, &off);
        ck_assert(r == MSGPACK_UNPACK_SUCCESS || r == MSGPACK_UNPACK_NOMEM_ERROR);
        if (r == MSGPACK_UNPACK_SUCCESS)
            ck_assert_uint_eq(off, len);
        msgpack_unpacked_destroy(&u);
    }
    ck_assert_int_gt(accepted, 100);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("protocols.codec");
    TCase *tc = tcase_create("prescan");
    tcase_add_loop_test(tc, test_prescan_table, 0,
                        (int) (sizeof prescan_cases / sizeof prescan_cases[0]));
    tcase_add_test(tc, test_prescan_refuses_null);
    tcase_add_test(tc, test_prescan_accepted_input_always_unpacks);
    suite_add_tcase(s, tc);
    tc = tcase_create("getters");
    tcase_add_test(tc, test_open_accepts_known_versions_only);
    tcase_add_test(tc, test_open_refuses_oversized_and_non_map_input);
    tcase_add_test(tc, test_getters_check_type_range_and_length);
    tcase_add_test(tc, test_duplicate_keys_are_ambiguous);
    tcase_add_test(tc, test_field_tables_round_trip_and_skip_zero_optionals);
    tcase_add_test(tc, test_pack_cstr_refuses_unterminated_buffers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(codec_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
