/* tests/unit/huntgroup/hg_proto_test.c — the hunt group request and reply on the wire: round
 * trips of every operation, what each operation cannot do without, and hostile bytes (every
 * truncation, a trailing byte, too many agents or figures, wrong types, unknown names) refused
 * with RW_EPROTO / RW_ERANGE and a zeroed result; the queue.* event helper. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "protocols/huntgroup.h"

static rw_hg_req_t sample_req(rw_hg_op_t op)
{
    rw_hg_req_t q;
    memset(&q, 0, sizeof q);
    q.op = op;
    strcpy(q.call_id, "a84b4c76e66710@pc33");
    strcpy(q.group, "sales");
    strcpy(q.caller, "+441632960500");
    if (op == RW_HGOP_OUTCOME) {
        strcpy(q.agent, "ann");
        q.result = RW_HGR_ENDED;
        q.talk_ms = 61000;
    }
    if (op == RW_HGOP_AGENT) {
        strcpy(q.agent, "ann");
        strcpy(q.agent_op, "pause");
        strcpy(q.reason, "lunch");
    }
    return q;
}

static rw_hg_reply_t sample_reply(void)
{
    rw_hg_reply_t r;
    memset(&r, 0, sizeof r);
    strcpy(r.call_id, "a84b4c76e66710@pc33");
    r.status = RW_HGS_OFFER;
    strcpy(r.reason, "offered");
    r.ring_ms = 15000;
    r.retry_ms = 15000;
    r.position = 1;
    r.n_agents = 2;
    strcpy(r.agents[0].user, "ann");
    strcpy(r.agents[0].device, "desk");
    strcpy(r.agents[1].user, "ben");
    r.n_stats = 1;
    strcpy(r.stats[0].name, "answered");
    r.stats[0].value = 7;
    return r;
}

START_TEST(test_request_round_trip_every_op)
{
    rw_hg_req_t q = sample_req((rw_hg_op_t) _i), back;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), 0);
    ck_assert_int_eq(rw_proto_hg_req_decode(sb.data, sb.size, &back), 0);
    ck_assert(rw_proto_hg_req_equal(&q, &back));
    /* every truncation is refused and leaves nothing behind */
    for (size_t n = 0; n < sb.size; n++) {
        ck_assert_int_lt(rw_proto_hg_req_decode(sb.data, n, &back), 0);
        ck_assert_str_eq(back.call_id, "");
    }
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_request_needs_what_its_op_needs)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rw_hg_req_t q = sample_req(RW_HGOP_NEXT);
    q.group[0] = '\0';
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), RW_EINVAL);
    q = sample_req(RW_HGOP_OUTCOME);
    q.result = RW_HGR_NONE;
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), RW_EINVAL);
    q = sample_req(RW_HGOP_AGENT);
    q.agent[0] = '\0';
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), RW_EINVAL);
    q = sample_req(RW_HGOP_NEXT);
    memset(q.caller, 'x', sizeof q.caller);                 /* no NUL inside the field */
    ck_assert_int_eq(rw_proto_hg_req_encode(&q, &sb), RW_ERANGE);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

static int decode_bytes(const char *hex_like, size_t n, rw_hg_req_t *q)
{
    return rw_proto_hg_req_decode(hex_like, n, q);
}

START_TEST(test_hostile_requests_refused)
{
    rw_hg_req_t q;
    /* {"v":1,"op":"next"}: no call or group */
    static const char no_call[] = "\x82\xa1v\x01\xa2op\xa4next";
    ck_assert_int_eq(decode_bytes(no_call, sizeof no_call - 1, &q), RW_EPROTO);
    /* {"v":1,"op":7} wrong type */
    static const char op_int[] = "\x82\xa1v\x01\xa2op\x07";
    ck_assert_int_eq(decode_bytes(op_int, sizeof op_int - 1, &q), RW_EPROTO);
    /* {"v":2,...} unknown major version */
    static const char v2[] = "\x82\xa1v\x02\xa2op\xa5stats";
    ck_assert_int_eq(decode_bytes(v2, sizeof v2 - 1, &q), RW_EPROTO);
    /* an array header claiming 2^32-1 elements */
    static const char huge[] = "\xdd\xff\xff\xff\xff";
    ck_assert_int_eq(decode_bytes(huge, sizeof huge - 1, &q), RW_EPROTO);
    /* a valid request plus one trailing byte */
    rw_hg_req_t ok = sample_req(RW_HGOP_STATS);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_req_encode(&ok, &sb), 0);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    ck_assert_int_eq(rw_proto_hg_req_decode(sb.data, sb.size, &q), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_reply_round_trip_and_limits)
{
    rw_hg_reply_t r = sample_reply(), back;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(rw_proto_hg_reply_encode(&r, &sb), 0);
    ck_assert_int_eq(rw_proto_hg_reply_decode(sb.data, sb.size, &back), 0);
    ck_assert(rw_proto_hg_reply_equal(&r, &back));
    for (size_t n = 0; n < sb.size; n++)
        ck_assert_int_lt(rw_proto_hg_reply_decode(sb.data, n, &back), 0);
    r.n_agents = RW_HG_MAX_AGENTS + 1;
    sb.size = 0;
    ck_assert_int_eq(rw_proto_hg_reply_encode(&r, &sb), RW_ERANGE);
    /* 17 agents on the wire: {"v":1,"status":"offer","agents":[{"user":"a"} x17]} */
    msgpack_packer pk;
    sb.size = 0;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "status", 6);
    msgpack_pack_str_with_body(&pk, "offer", 5);
    msgpack_pack_str_with_body(&pk, "agents", 6);
    msgpack_pack_array(&pk, 17);
    for (int i = 0; i < 17; i++) {
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "user", 4);
        msgpack_pack_str_with_body(&pk, "a", 1);
    }
    ck_assert_int_eq(rw_proto_hg_reply_decode(sb.data, sb.size, &back), RW_ERANGE);
    ck_assert_int_eq(back.n_agents, 0);
    /* a figure that is not a positive integer */
    sb.size = 0;
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "status", 6);
    msgpack_pack_str_with_body(&pk, "stats", 5);
    msgpack_pack_str_with_body(&pk, "stats", 5);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "answered", 8);
    msgpack_pack_int32(&pk, -1);
    ck_assert_int_eq(rw_proto_hg_reply_decode(sb.data, sb.size, &back), RW_EPROTO);
    /* an unknown status */
    sb.size = 0;
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "status", 6);
    msgpack_pack_str_with_body(&pk, "maybe", 5);
    ck_assert_int_eq(rw_proto_hg_reply_decode(sb.data, sb.size, &back), RW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_queue_event_helper)
{
    static rw_event_t ev;
    ck_assert_int_eq(rw_proto_hg_event(&ev, "queue.offered", "sales", "ann", "", "c1", 2, 4500), 0);
    ck_assert_str_eq(ev.queue.group, "sales");
    ck_assert_int_eq(ev.queue.position, 2);
    ck_assert_int_eq(rw_proto_hg_event(&ev, "call.offered", "sales", "", "", "", 0, 0), RW_EINVAL);
    ck_assert_int_eq(rw_proto_hg_event(&ev, "queue.joined", "", "", "", "", 0, 0), RW_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hg_proto");
    TCase *tc = tcase_create("wire");
    tcase_add_loop_test(tc, test_request_round_trip_every_op, RW_HGOP_NEXT, RW_HGOP_STATS + 1);
    tcase_add_test(tc, test_request_needs_what_its_op_needs);
    tcase_add_test(tc, test_hostile_requests_refused);
    tcase_add_test(tc, test_reply_round_trip_and_limits);
    tcase_add_test(tc, test_queue_event_helper);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
