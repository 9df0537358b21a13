/* fuzz/fuzz_hg.c — libFuzzer target for the hunt group messages: the same bytes are decoded as a
 * request (rw_proto_hg_req_decode) and as a reply (rw_proto_hg_reply_decode). Whatever decodes
 * must re-encode and decode to an equal message; anything else aborts (a finding). */
#include <stdint.h>
#include <stdlib.h>

#include "protocols/huntgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rw_hg_reply_t rep, rep2;
    rw_hg_req_t req, req2;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    if (rw_proto_hg_req_decode(data, size, &req) == 0
        && (rw_proto_hg_req_encode(&req, &sb) != 0 || rw_proto_hg_req_decode(sb.data, sb.size, &req2) != 0
            || !rw_proto_hg_req_equal(&req, &req2)))
        abort();
    sb.size = 0;
    if (rw_proto_hg_reply_decode(data, size, &rep) == 0
        && (rw_proto_hg_reply_encode(&rep, &sb) != 0 || rw_proto_hg_reply_decode(sb.data, sb.size, &rep2) != 0
            || !rw_proto_hg_reply_equal(&rep, &rep2)))
        abort();
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
