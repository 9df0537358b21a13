/* fuzz/fuzz_plan.c — libFuzzer target for rw_proto_plan_decode(). Whatever decodes must
 * render as text, re-encode and decode to an equal plan; anything else aborts (a finding). */
#include <stdint.h>
#include <stdlib.h>

#include "protocols/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rw_plan_t plan, again;       /* ~27 KB each: keep them off the fuzzer's stack */
    static char text[16384];
    msgpack_sbuffer sb;

    if (rw_proto_plan_decode(data, size, &plan) != 0)
        return 0;
    (void) rw_proto_plan_format(&plan, text, sizeof text);
    msgpack_sbuffer_init(&sb);
    if (rw_proto_plan_encode(&plan, &sb) != 0
        || rw_proto_plan_decode(sb.data, sb.size, &again) != 0
        || !rw_proto_plan_equal(&plan, &again))
        abort();
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
