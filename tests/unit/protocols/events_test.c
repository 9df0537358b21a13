/* tests/unit/protocols/events_test.c — bus events: round trips of every family, the family
 * helpers, envelope rules, hostile inputs (truncation, wrong types, missing fields, limits,
 * versions) and a fixed-seed mutation loop over every family. */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mutate.h"
#include "protocols/codec.h"
#include "protocols/events.h"
#include "samples.h"

#define FAMILIES (RW_EVF_DIRECTORY + 1)

static int decode_event(const void *d, size_t n)
{
    rw_event_t ev;
    return rw_proto_event_decode(d, n, &ev);
}

static void encode_event(const rw_event_t *ev, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    ck_assert_int_eq(rw_proto_event_encode(ev, sb), 0);
}

START_TEST(test_every_family_round_trips)
{
    rw_event_t in, out;
    msgpack_sbuffer sb;
    sample_event(&in, (rw_event_family_t) _i);
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_event_equal(&in, &out));
    ck_assert_str_eq(out.type, in.type);
    ck_assert_str_eq(out.id, "sip-edge-1/1718000000000000/42");
    ck_assert_str_eq(out.publisher, "sip-edge-1");
    ck_assert_uint_eq(out.epoch, in.epoch);
    ck_assert_uint_eq(out.seq, 42);
    ck_assert_uint_eq(out.ts_ms, in.ts_ms);
    ck_assert_uint_eq(out.version, RW_EVENT_VERSION);
    ck_assert_int_eq(rw_proto_event_family(out.type), _i);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_family_bodies_carry_their_fields)
{
    rw_event_t in, out;
    msgpack_sbuffer sb;

    sample_event(&in, RW_EVF_CALL);
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert_int_eq(out.call.cause, 200);
    ck_assert_int_eq(out.call.fallback, RW_FALLBACK_LAST_PLAN);
    ck_assert_uint_eq(out.call.talk_ms, 61000);
    msgpack_sbuffer_destroy(&sb);

    sample_event(&in, RW_EVF_PRESENCE);
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert_int_eq(out.presence.state, RW_PRESENCE_IN_MEETING);
    ck_assert_str_eq(out.presence.source, "calendar");
    msgpack_sbuffer_destroy(&sb);

    sample_event(&in, RW_EVF_CALENDAR);
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert_str_eq(out.calendar.summary, "Budget review \xe2\x80\x94 room 4");
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_every_presence_state_and_negative_cause_round_trip)
{
    rw_event_t in, out;
    msgpack_sbuffer sb;
    for (int s = RW_PRESENCE_AVAILABLE; s <= RW_PRESENCE_OFFLINE; s++) {
        sample_event(&in, RW_EVF_PRESENCE);
        in.presence.state = (rw_presence_state_t) s;
        encode_event(&in, &sb);
        ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
        ck_assert_int_eq(out.presence.state, s);
        msgpack_sbuffer_destroy(&sb);
    }
    sample_event(&in, RW_EVF_CALL);
    in.call.cause = -1;
    in.call.fallback = RW_FALLBACK_NONE;
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_event_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_minimal_events_round_trip)
{
    rw_event_t in, out;
    msgpack_sbuffer sb;
    ck_assert_int_eq(rw_proto_event_init(&in, "reg.expired"), 0);
    strcpy(in.id, "p/1/1");
    strcpy(in.publisher, "p");
    strcpy(in.reg.aor, "sip:2001@r");
    encode_event(&in, &sb);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_event_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

static const struct { const char *type; rw_event_family_t family; } family_table[] = {
    { "call.offered", RW_EVF_CALL }, { "call.failed", RW_EVF_CALL },
    { "reg.bound", RW_EVF_REG }, { "presence.changed", RW_EVF_PRESENCE },
    { "queue.agent_state", RW_EVF_QUEUE }, { "calendar.meeting_ended", RW_EVF_CALENDAR },
    { "directory.changed", RW_EVF_DIRECTORY }, { "callback.x", RW_EVF_UNKNOWN },
    { "call", RW_EVF_UNKNOWN }, { "", RW_EVF_UNKNOWN }, { ".call", RW_EVF_UNKNOWN },
    { "registry.x", RW_EVF_UNKNOWN }, { "Call.offered", RW_EVF_UNKNOWN },
};

START_TEST(test_family_is_the_prefix_before_the_first_dot)
{
    ck_assert_int_eq(rw_proto_event_family(family_table[_i].type), family_table[_i].family);
}
END_TEST

START_TEST(test_family_names)
{
    ck_assert_str_eq(rw_proto_event_family_name(RW_EVF_CALL), "call");
    ck_assert_str_eq(rw_proto_event_family_name(RW_EVF_DIRECTORY), "directory");
    ck_assert_str_eq(rw_proto_event_family_name((rw_event_family_t) 99), "unknown");
    ck_assert_int_eq(rw_proto_event_family(NULL), RW_EVF_UNKNOWN);
}
END_TEST

START_TEST(test_init_and_encode_refuse_bad_envelopes)
{
    rw_event_t ev;
    msgpack_sbuffer sb;
    char long_type[60];
    memset(long_type, 'a', sizeof long_type - 1);
    long_type[sizeof long_type - 1] = '\0';
    ck_assert_int_eq(rw_proto_event_init(&ev, long_type), RW_ERANGE);
    ck_assert_int_eq(rw_proto_event_init(&ev, "call offered"), RW_EINVAL);
    ck_assert_int_eq(rw_proto_event_init(&ev, ""), RW_EINVAL);
    ck_assert_int_eq(rw_proto_event_init(&ev, NULL), RW_EINVAL);
    msgpack_sbuffer_init(&sb);
    sample_event(&ev, RW_EVF_CALL);
    ev.publisher[0] = '\0';
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_EINVAL);
    sample_event(&ev, RW_EVF_CALL);
    ev.call.call_id[0] = '\0';
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_EINVAL);
    sample_event(&ev, RW_EVF_CALL);
    ev.version = 2;
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_EINVAL);
    sample_event(&ev, RW_EVF_PRESENCE);
    ev.presence.state = (rw_presence_state_t) 42;
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_EINVAL);
    sample_event(&ev, RW_EVF_REG);
    memset(ev.id, 'i', sizeof ev.id);
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_ERANGE);
    sample_event(&ev, RW_EVF_REG);
    memset(ev.type, 'r', sizeof ev.type);
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), RW_ERANGE);
    sample_event(&ev, RW_EVF_REG);
    ev.version = 0;                                       /* 0 means "current" */
    ck_assert_int_eq(rw_proto_event_encode(&ev, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_truncated_events_are_refused_at_every_offset)
{
    rw_event_t ev;
    msgpack_sbuffer sb;
    sample_event(&ev, (rw_event_family_t) _i);
    encode_event(&ev, &sb);
    mt_check_truncations(decode_event, &sb);
    msgpack_sbuffer_write(&sb, "\x00", 1);
    ck_assert_int_eq(mt_decode_exact(decode_event, sb.data, sb.size), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

static const char *const *required_for(rw_event_family_t f)
{
#define ENVELOPE "v", "type", "id", "pub", "epoch", "seq", "ts"
    static const char *const unknown[] = { ENVELOPE, NULL };
    static const char *const call[] = { ENVELOPE, "body", "body.call_id", NULL };
    static const char *const reg[] = { ENVELOPE, "body", "body.aor", NULL };
    static const char *const presence[] = { ENVELOPE, "body", "body.user", "body.state", NULL };
    static const char *const queue[] = { ENVELOPE, "body", "body.group", NULL };
    static const char *const calendar[] = { ENVELOPE, "body", "body.user", NULL };
    static const char *const directory[] = { ENVELOPE, "body", "body.user", NULL };
#undef ENVELOPE
    static const char *const *const table[] = { unknown, call, reg, presence, queue, calendar,
                                                directory };
    return table[f];
}

START_TEST(test_missing_required_fields_are_refused_and_optional_ones_are_not)
{
    rw_event_t ev;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    sample_event(&ev, (rw_event_family_t) _i);
    encode_event(&ev, &sb);
    msgpack_object *root = mt_unpack(&u, &sb);
    mt_ctx_t c = { decode_event, required_for((rw_event_family_t) _i), 0, 0 };
    mt_walk(root, root, "", mt_visit_remove, &c);
    ck_assert_int_eq(c.failures, 0);
    ck_assert_int_ge(c.visited, 7);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_wrong_type_for_every_value_is_refused)
{
    rw_event_t ev;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    sample_event(&ev, (rw_event_family_t) _i);
    encode_event(&ev, &sb);
    msgpack_object *root = mt_unpack(&u, &sb);
    mt_ctx_t c = { decode_event, NULL, 0, 0 };
    mt_walk(root, root, "", mt_visit_wrong_type, &c);
    ck_assert_int_eq(c.failures, 0);
    ck_assert_int_ge(c.visited, 7);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Decode the sample of `family` with the value at path replaced by obj. */
static int decode_replaced(rw_event_family_t family, const char *path, msgpack_object obj)
{
    rw_event_t ev;
    msgpack_sbuffer sb;
    sample_event(&ev, family);
    encode_event(&ev, &sb);
    int rc = mt_decode_replaced(decode_event, &sb, path, obj);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static const struct { rw_event_family_t f; const char *path; size_t limit; } string_limits[] = {
    { RW_EVF_CALL, "id", 127 }, { RW_EVF_CALL, "pub", 63 },
    { RW_EVF_CALL, "body.call_id", 127 }, { RW_EVF_CALL, "body.user", 63 },
    { RW_EVF_CALL, "body.from", 127 }, { RW_EVF_CALL, "body.to", 127 },
    { RW_EVF_CALL, "body.target", 255 }, { RW_EVF_CALL, "body.reason", 63 },
    { RW_EVF_REG, "body.aor", 127 }, { RW_EVF_REG, "body.contact", 255 },
    { RW_EVF_REG, "body.instance", 127 }, { RW_EVF_REG, "body.ua", 127 },
    { RW_EVF_REG, "body.device", 63 },
    { RW_EVF_PRESENCE, "body.user", 63 }, { RW_EVF_PRESENCE, "body.source", 31 },
    { RW_EVF_QUEUE, "body.group", 63 }, { RW_EVF_QUEUE, "body.call_id", 127 },
    { RW_EVF_QUEUE, "body.agent", 63 }, { RW_EVF_QUEUE, "body.state", 31 },
    { RW_EVF_CALENDAR, "body.user", 63 }, { RW_EVF_CALENDAR, "body.uid", 255 },
    { RW_EVF_CALENDAR, "body.summary", 127 }, { RW_EVF_DIRECTORY, "body.user", 63 },
    { RW_EVF_DIRECTORY, "body.what", 63 },
};

START_TEST(test_strings_at_limit_pass_and_beyond_are_erange)
{
    rw_event_family_t f = string_limits[_i].f;
    const char *path = string_limits[_i].path;
    size_t limit = string_limits[_i].limit;
    ck_assert_int_eq(decode_replaced(f, path, mt_str(limit)), 0);
    ck_assert_int_eq(decode_replaced(f, path, mt_str(limit + 1)), RW_ERANGE);
}
END_TEST

START_TEST(test_type_must_be_a_valid_topic)
{
    char t47[48];
    memset(t47, 'a', 47);
    t47[47] = '\0';
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_named(t47)), 0);
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_str(48)), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_named("has space")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_named("UPPER.case")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_named("")), RW_EPROTO);
    /* A known family's type on a message without a body is missing its body. */
    ck_assert_int_eq(decode_replaced(RW_EVF_UNKNOWN, "type", mt_named("call.offered")), RW_EPROTO);
}
END_TEST

START_TEST(test_bad_values_are_refused)
{
    msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1 };
    msgpack_object big = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1ull << 31 };
    msgpack_object huge = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1ull << 33 };
    msgpack_object two = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 2 };
    ck_assert_int_eq(decode_replaced(RW_EVF_CALL, "seq", neg), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(RW_EVF_CALL, "body.cause", big), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(RW_EVF_REG, "body.expires", huge), RW_ERANGE);
    ck_assert_int_eq(decode_replaced(RW_EVF_PRESENCE, "body.state", mt_named("asleep")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(RW_EVF_CALL, "body.fallback", mt_named("maybe")), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(RW_EVF_CALL, "v", two), RW_EPROTO);
    ck_assert_int_eq(decode_replaced(RW_EVF_CALL, "body", mt_str(3)), RW_EPROTO);
}
END_TEST

START_TEST(test_unknown_keys_and_unknown_families_are_tolerated)
{
    rw_event_t in, out;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    /* A future family with a body: the envelope decodes, the body is ignored. */
    sample_event(&in, RW_EVF_CALL);
    strcpy(in.type, "voicemail.left");
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_event_encode(&in, &sb), 0);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert_str_eq(out.type, "voicemail.left");
    ck_assert_str_eq(out.call.call_id, "");                /* no body was written or read */
    msgpack_sbuffer_destroy(&sb);
    /* Unknown keys in the envelope: one more entry in the top-level fixmap. */
    sample_event(&in, RW_EVF_QUEUE);
    encode_event(&in, &sb);
    ck_assert_uint_eq((unsigned char) sb.data[0], 0x88);
    sb.data[0]++;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_str(&pk, 6);
    msgpack_pack_str_body(&pk, "future", 6);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, 2.5);
    ck_assert_int_eq(rw_proto_event_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_event_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_bomb_and_deep_nesting_are_refused)
{
    static const unsigned char bomb[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };
    unsigned char deep[200];
    memset(deep, 0x81, sizeof deep);                      /* {k:{k:{...}}} with fixstr keys */
    for (size_t i = 1; i < sizeof deep - 1; i += 2)
        deep[i] = 0xa0;                                   /* empty-string key */
    deep[sizeof deep - 1] = 0xc0;
    ck_assert_int_eq(mt_decode_exact(decode_event, bomb, sizeof bomb), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_event, deep, sizeof deep - 1), RW_EPROTO);
    ck_assert_int_eq(mt_decode_exact(decode_event, deep, sizeof deep), RW_EPROTO);
}
END_TEST

START_TEST(test_100000_mutated_events_never_crash)
{
    rw_event_t ev, out, again;
    msgpack_sbuffer valid[FAMILIES], re;
    unsigned char buf[1024];
    uint64_t seed = 0x5eed0003;
    int accepted = 0;
    for (int f = 0; f < FAMILIES; f++) {
        sample_event(&ev, (rw_event_family_t) f);
        encode_event(&ev, &valid[f]);
        ck_assert_uint_le(valid[f].size, sizeof buf);
    }
    for (int i = 0; i < 100000; i++) {
        const msgpack_sbuffer *v = &valid[i % FAMILIES];
        size_t len = v->size;
        memcpy(buf, v->data, len);
        for (int k = 0, flips = 1 + (int) (mt_rand(&seed) % 4); k < flips; k++) {
            size_t at = mt_rand(&seed) % len;
            if (mt_rand(&seed) % 8 == 0)
                len = at + 1;
            else
                buf[at] ^= (unsigned char) mt_rand(&seed);
        }
        if (rw_proto_event_decode(buf, len, &out) != 0)
            continue;
        accepted++;
        msgpack_sbuffer_init(&re);
        ck_assert_int_eq(rw_proto_event_encode(&out, &re), 0);
        ck_assert_int_eq(rw_proto_event_decode(re.data, re.size, &again), 0);
        ck_assert(rw_proto_event_equal(&out, &again));
        msgpack_sbuffer_destroy(&re);
    }
    ck_assert_int_gt(accepted, 0);
    for (int f = 0; f < FAMILIES; f++)
        msgpack_sbuffer_destroy(&valid[f]);
}
END_TEST

static Suite *events_suite(void)
{
    Suite *s = suite_create("protocols.events");
    TCase *tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, test_every_family_round_trips, 0, FAMILIES);
    tcase_add_test(tc, test_family_bodies_carry_their_fields);
    tcase_add_test(tc, test_every_presence_state_and_negative_cause_round_trip);
    tcase_add_test(tc, test_minimal_events_round_trip);
    tcase_add_loop_test(tc, test_family_is_the_prefix_before_the_first_dot, 0,
                        (int) (sizeof family_table / sizeof family_table[0]));
    tcase_add_test(tc, test_family_names);
    tcase_add_test(tc, test_init_and_encode_refuse_bad_envelopes);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_loop_test(tc, test_truncated_events_are_refused_at_every_offset, 0, FAMILIES);
    tcase_add_loop_test(tc, test_missing_required_fields_are_refused_and_optional_ones_are_not,
                        0, FAMILIES);
    tcase_add_loop_test(tc, test_wrong_type_for_every_value_is_refused, 0, FAMILIES);
    tcase_add_loop_test(tc, test_strings_at_limit_pass_and_beyond_are_erange, 0,
                        (int) (sizeof string_limits / sizeof string_limits[0]));
    tcase_add_test(tc, test_type_must_be_a_valid_topic);
    tcase_add_test(tc, test_bad_values_are_refused);
    tcase_add_test(tc, test_unknown_keys_and_unknown_families_are_tolerated);
    tcase_add_test(tc, test_bomb_and_deep_nesting_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutation");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_100000_mutated_events_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(events_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
