/* tools/explain.h — "where does a call ring?", shared by `ringway explain` and the gateway's
 * GET /api/v1/users/{id}/explain (library rw_explain, with cli_edge.c): asking a router for the
 * plan of a call as sip-edge would, the plan as JSON with what sip-edge does with each target,
 * and one plain sentence saying it ("Calls to 2001 ring your softphone for 15 s, then your
 * mobile; then voicemail."). Both callers print exactly what these functions build, so the
 * page and the CLI always agree. */
#ifndef RW_TOOLS_EXPLAIN_H
#define RW_TOOLS_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include "common/redis.h"
#include "protocols/route.h"
#include "tools/cli_edge.h"

/* The routers to ask: `configured` ("tcp://a:1,tcp://b:2") when not empty, else the live entries
 * of the registry rw:svc:router (r may then not be NULL). malloc'd, "" when none; NULL when
 * Redis fails. */
char *rw_explain_routers(rw_redis_t *r, const char *configured);
/* Sends rq to the routers eps (comma-separated) on a loop of its own in the calling thread
 * (su_init() done by the caller) and waits for the plan, up to deadline_ms. 0, RW_EINVAL when
 * the request could not be sent, RW_EPROTO for an answer that does not decode, or the bus's
 * error (RW_ETIMEDOUT, RW_EAGAIN). */
int rw_explain_ask(const char *eps, const rw_route_req_t *rq, unsigned deadline_ms, rw_plan_t *plan);
/* The plan as `ringway explain --json` prints it (status, user, stages with what sip-edge does
 * with each target, final, trace) plus "sentence" when sentence is not NULL. New reference. */
json_t *rw_explain_json(const rw_plan_t *p, const cli_edge_t *edge, const char *sentence);
/* The user's devices (id -> "kind address", rw:user:<id>:devices) as a JSON object, for the
 * sentence's "your mobile"; NULL when Redis fails or id is empty. */
json_t *rw_explain_devices(rw_redis_t *r, const char *user_id);
/* One sentence for a person: "Calls to 2001 ring your softphone for 15 s, then your mobile;
 * then voicemail." devices (may be NULL) names the user's own targets. */
void rw_explain_sentence(const rw_plan_t *p, const char *callee, json_t *devices, char *out, size_t len);

#endif
