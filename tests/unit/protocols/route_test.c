/* tests/unit/protocols/route_test.c — the route request and the route plan: round trips,
 * limits, encoder refusals, text rendering, and fixed-seed mutation loops that must never
 * crash. Hostile hand-made inputs are in route_hostile_test.c. */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mutate.h"
#include "route_fixtures.h"
#include "samples.h"

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
    ck_assert_ptr_nonnull(
        strstr(buf, "trace:\n  10:04 Tue Europe/London; rule 'workday' matched\n"));
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

/* ---- device targets ---- */

/* A plan as an older or newer router might write it: one stage, a devices target naming a
 * device (or not), a number target carrying a "device" key it should not have. */
static void hand_plan(msgpack_sbuffer *sb, const char *device, size_t device_len)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
#define KV(k, v) (msgpack_pack_str_with_body(&pk, k, strlen(k)), msgpack_pack_str_with_body(&pk, v, strlen(v)))
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    KV("call_id", "c1");
    KV("status", "ok");
    KV("final", "busy");
    msgpack_pack_str_with_body(&pk, "stages", 6);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "ring_ms", 7);
    msgpack_pack_uint32(&pk, 1000);
    msgpack_pack_str_with_body(&pk, "targets", 7);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, device ? 3 : 2);
    KV("type", "devices");
    KV("aor", "sip:2001@ringway.local");
    if (device) {
        msgpack_pack_str_with_body(&pk, "device", 6);
        msgpack_pack_str_with_body(&pk, device, device_len);
    }
    msgpack_pack_map(&pk, 3);
    KV("type", "number");
    KV("number", "+447700900123");
    KV("device", "desk");
#undef KV
}

START_TEST(test_device_target_round_trips_and_reads_as_text)
{
    static rw_plan_t in, out;
    msgpack_sbuffer sb;
    char buf[2048];
    sample_plan(&in);
    strcpy(in.stages[0].targets[0].device, "desk");
    encode_plan(&in, &sb);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert(rw_proto_plan_equal(&in, &out));
    ck_assert_str_eq(out.stages[0].targets[0].device, "desk");
    ck_assert_str_eq(out.stages[0].targets[1].device, "");
    ck_assert_int_eq(rw_proto_plan_format(&out, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "  devices sip:2001@ringway.example.org device desk\n"));
    out.stages[0].targets[0].device[0] = '\0';
    ck_assert(!rw_proto_plan_equal(&in, &out));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_device_key_is_optional_and_ignored_on_other_types)
{
    static rw_plan_t out;
    msgpack_sbuffer sb;
    hand_plan(&sb, NULL, 0);                               /* a router that knows no devices */
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert_str_eq(out.stages[0].targets[0].device, "");
    ck_assert_str_eq(out.stages[0].targets[1].device, "");   /* on a number: ignored */
    msgpack_sbuffer_destroy(&sb);
    char at[64], beyond[65];
    memset(at, 'd', 63);
    memset(beyond, 'd', 64);
    hand_plan(&sb, at, 63);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), 0);
    ck_assert_uint_eq(strnlen(out.stages[0].targets[0].device, 64), 63);
    msgpack_sbuffer_destroy(&sb);
    hand_plan(&sb, beyond, 64);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
    hand_plan(&sb, "de\0sk", 5);
    ck_assert_int_eq(rw_proto_plan_decode(sb.data, sb.size, &out), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_encoder_refuses_a_device_on_other_targets)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    sample_plan(&p);
    strcpy(p.stages[0].targets[1].device, "desk");        /* a number */
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_EINVAL);
    msgpack_sbuffer_destroy(&sb);
    sample_plan(&p);
    memset(p.stages[0].targets[0].device, 'd', sizeof p.stages[0].targets[0].device);
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_plan_encode(&p, &sb), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
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
    tcase_add_test(tc, test_device_target_round_trips_and_reads_as_text);
    tcase_add_test(tc, test_device_key_is_optional_and_ignored_on_other_types);
    tcase_add_test(tc, test_encoder_refuses_a_device_on_other_targets);
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

