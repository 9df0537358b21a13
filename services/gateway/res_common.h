/* services/gateway/res_common.h — what the resource files (res_staff.c, res_admin.c,
 * res_supervisor.c) share: turning the directory's return codes into HTTP errors, the durable
 * write check every change makes before answering, ETags and times. */
#ifndef RW_GW_RES_COMMON_H
#define RW_GW_RES_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include "services/gateway/api.h"
#include "common/e164.h"

/* The number plan of the directory's writes (the same as the CLI's). */
extern const rw_numplan_t *const gw_numplan;

/* A directory error rc with its message: RW_EINVAL 422, RW_EEXIST 409, RW_ENOTFOUND 404,
 * RW_EAGAIN 412, RW_EIO and anything else 503 (Redis unreachable). */
void gw_dir_error(gw_resp_t *r, int rc, const char *message);
/* After a change, before answering: true once durable (rw_redis_durable on the request's
 * connection, which made the writes); else a 503 with the reason and Retry-After 1. */
bool gw_durable(gw_req_t *req, gw_resp_t *r);
/* The end of every change: rc < 0 answers the directory's error (gw_dir_error), a write that is
 * not durable answers 503 (gw_durable), and both return false; otherwise the change is audited
 * (gw_audit) and true returned for the handler to answer. detail is taken over in every case. */
bool gw_committed(gw_req_t *req, gw_resp_t *r, int rc, const char *err, const char *action,
                  const char *target, json_t *detail);
/* The user exists (else 404 "no user 'x'", or 503 when Redis fails). */
bool gw_user_exists(gw_req_t *req, gw_resp_t *r, const char *id);
/* The user's `ver` (docs/directory.md) into out, "0" when none; false and 503 when Redis fails. */
bool gw_user_ver(gw_req_t *req, gw_resp_t *r, const char *id, char *out, size_t len);
/* A time field: a JSON integer (ms since the epoch) or an RFC 3339 string with a zone
 * ("2026-03-30T10:04:00Z", "...+01:00"). Absent: *ms = 0 and true. Else false and a 400
 * naming the field. */
bool gw_time_field(json_t *obj, const char *name, uint64_t *ms, gw_resp_t *r);
/* The same for a query-string value (NULL: *ms = 0). */
bool gw_time_text(const char *text, const char *name, uint64_t *ms, gw_resp_t *r);
/* A string member of the body, or NULL (missing or not a string). */
const char *gw_body_str(const gw_req_t *req, const char *name);
/* "2026-03-30T09:04:00Z" of ms. */
void gw_format_time(uint64_t ms, char *buf, size_t len);
/* A short tag of a text (FNV-1a, 16 hex digits): the ETag of resources without a `ver`. */
void gw_text_tag(const char *text, char out[17]);
/* HGETALL of key as a JSON object of strings (new reference), NULL when Redis fails. */
json_t *gw_hgetall(rw_redis_t *redis, const char *key);

#endif
