/* fuzz/fuzz_event.c — libFuzzer target for rw_proto_event_decode(). Whatever decodes must
 * re-encode and decode to an equal event; anything else aborts (a finding). */
#include <stdint.h>
#include <stdlib.h>

#include "protocols/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rw_event_t ev, again;
    msgpack_sbuffer sb;

    if (rw_proto_event_decode(data, size, &ev) != 0)
        return 0;
    (void) rw_proto_event_family_name(rw_proto_event_family(ev.type));
    msgpack_sbuffer_init(&sb);
    if (rw_proto_event_encode(&ev, &sb) != 0
        || rw_proto_event_decode(sb.data, sb.size, &again) != 0
        || !rw_proto_event_equal(&ev, &again))
        abort();
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
