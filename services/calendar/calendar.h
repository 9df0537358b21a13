/* services/calendar/calendar.h — the calendar service: turns staff calendars into meeting
 * presence and meeting diverts (docs/calendar.md).
 * Every tick it claims the users whose sync is due (leases in Redis, so instances share the
 * users and never fetch one twice at once), fetches each source on the fetcher's thread,
 * expands the feed on the loop thread and applies the result in one script. A broken source is
 * logged with the user and the reason, counted, and its last good schedule stays in force.
 * Borrows root, redis, metrics and pub; owns the fetcher and the scripts. */
#ifndef RW_CALENDAR_H
#define RW_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sofia-sip/su_wait.h>
#include "common/metrics.h"
#include "common/redis.h"
#include "services/calendar/fetch.h"

struct rw_pub;

typedef struct {
    const char *instance;
    unsigned tick_ms;          /* how often due users are claimed */
    unsigned poll_ms;          /* a user's sources are read again after this */
    unsigned lease_ms;         /* a claimed user is this instance's for at most this long */
    unsigned batch;            /* users in flight per instance at most */
    uint64_t lookahead_ms;     /* the window expanded from now */
    bool tentative_busy;
    rw_cal_fetch_opts_t fetch;
} rw_calendar_opts_t;

typedef struct rw_calendar rw_calendar_t;

rw_calendar_t *rw_calendar_new(su_root_t *root, rw_aredis_t *redis, rw_metrics_t *metrics,
                               struct rw_pub *pub, const rw_calendar_opts_t *opts);
void rw_calendar_destroy(rw_calendar_t **self);

/* What one fetched body becomes, for the loop and for tests: 0 with the apply script's
 * arguments filled (blocks, meetings JSON, count), or an error in err. kind "ics" or "caldav". */
int rw_calendar_parse(const char *kind, const char *body, size_t len, const char *tz, uint64_t now_ms,
                      uint64_t lookahead_ms, bool tentative_busy, char **blocks, char **meetings,
                      size_t *count, char *err, size_t err_len);

#endif
