/* services/calendar/store.h — the calendar service's Redis scripts (keys in docs/calendar.md).
 * claim: takes up to N users whose sync is due and whose lease is free, leasing each to this
 * instance (rw:cal:lease:<id>, PX lease) and pushing its due time past the lease, so a killed
 * instance's users come back when their lease ends. apply: with the lease still held, stores a
 * good schedule (or keeps the last good one and records the error), then writes meeting
 * presence and the meeting divert from the schedule at `now`, sets the next due time and
 * releases the lease. Both take the time as an argument: nothing here reads a clock. */
#ifndef RW_CAL_STORE_H
#define RW_CAL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "services/calendar/ical.h"

extern const char rw_cal_claim_lua[];
extern const char rw_cal_apply_lua[];

/* The busy blocks as apply's argument: "start-end,start-end" (merged, sorted). malloc'd. */
char *rw_cal_blocks_text(const rw_cal_meeting_t *m, size_t n);
/* The meetings as the JSON list `calendar show` prints: [{"start_ms","end_ms","uid","summary",
 * "tentative"}]. malloc'd. */
char *rw_cal_meetings_json(const rw_cal_meeting_t *m, size_t n);

#endif
