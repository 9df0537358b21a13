/* services/gateway/explain.h — GET /api/v1/users/{id}/explain: the plan of a call to a user's
 * extension at a time and from a caller, asked of a router exactly as `ringway explain` asks
 * (tools/explain.h builds the request, the JSON and the sentence for both). What sip-edge does
 * with each target is judged from sip-edge's voicemail.uri and sip.peers, read from the
 * gateway's environment (RINGWAY_VOICEMAIL_URI, RINGWAY_SIP_PEERS), as the CLI reads them
 * without -c FILE. */
#ifndef RW_GW_EXPLAIN_H
#define RW_GW_EXPLAIN_H

#include <jansson.h>
#include <stdint.h>
#include "common/redis.h"

/* The routers come from the registry rw:svc:router (RINGWAY_ROUTER_ENDPOINTS when set).
 * from: the caller (NULL: "anonymous"). at_ms: the time of the call. On success *out is
 * `ringway explain --json`'s object with "sentence". RW_ENOTFOUND when no user has the number,
 * else RW_EAGAIN (no router), RW_ETIMEDOUT or RW_EIO with a sentence in why. One request at a
 * time per process (each waits for the one before, then at most the deadline of 2 s). */
int rw_explain_user(rw_redis_t *r, const char *number, const char *from, uint64_t at_ms, json_t **out,
                    char *why, size_t why_len);

#endif
