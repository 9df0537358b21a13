/* tests/unit/protocols/route_fixtures.h — encode/decode wrappers for the route tests.
 * Header-only; the decoders' results are thrown away (the tests look at rc only). */
#ifndef RW_TEST_ROUTE_FIXTURES_H
#define RW_TEST_ROUTE_FIXTURES_H

#include <check.h>
#include <msgpack.h>
#include <stdlib.h>

#include "protocols/route.h"

static inline int decode_req(const void *d, size_t n)
{
    rw_route_req_t r;
    return rw_proto_route_req_decode(d, n, &r);
}

static inline int decode_plan(const void *d, size_t n)
{
    rw_plan_t *p = malloc(sizeof *p);
    int rc = rw_proto_plan_decode(d, n, p);
    free(p);
    return rc;
}

static inline void encode_req(const rw_route_req_t *r, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    ck_assert_int_eq(rw_proto_route_req_encode(r, sb), 0);
}

static inline void encode_plan(const rw_plan_t *p, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    ck_assert_int_eq(rw_proto_plan_encode(p, sb), 0);
}


#endif
