/* fuzz/fuzz_route_req.c — libFuzzer target for rw_proto_route_req_decode(). Whatever decodes
 * must re-encode and decode to an equal request; anything else aborts (a finding). */
#include <stdint.h>
#include <stdlib.h>

#include "protocols/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rw_route_req_t req, again;
    msgpack_sbuffer sb;

    if (rw_proto_route_req_decode(data, size, &req) != 0)
        return 0;
    msgpack_sbuffer_init(&sb);
    if (rw_proto_route_req_encode(&req, &sb) != 0
        || rw_proto_route_req_decode(sb.data, sb.size, &again) != 0
        || !rw_proto_route_req_equal(&req, &again))
        abort();
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
