/* tests/unit/router/combo_test.c — combinations of rules against the precedence of
 * docs/routing.md, from a table. Each row is the Redis state of one user (settings, devices
 * with their bindings, presence, calendar divert) and one call (caller, time, diversions so
 * far); it goes through the decision's reply parser (fetch.c: presence expiry, the calendar
 * divert's [start, end), the local time) and the plan builder, and the whole plan must read
 * as the row says: "10s sip:2001@ringway.local | 15s +447700900001 => voicemail", each target
 * with its diversion reason after a '/', the final action with its reason likewise. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "services/router/fetch.h"

static rw_router_policy_t policy = { .ring_ms = 20000, .max_hops = 4, .n_trunks = 1,
    .trunks = { { .name = "uk-main", .prefixes = { "+44" }, .order = 1 } } };

/* ---- rules (settings as the directory stores them: colleagues carry their "ext") ---- */
#define WORKDAY "{\"name\":\"workday\",\"days\":\"mon-fri\",\"time\":\"09:00-17:30\",\"action\":\"ring\"," \
    "\"mode\":\"sequential\",\"ring\":[{\"device\":\"softphone\",\"secs\":10},{\"device\":\"mobile\",\"secs\":15}]}"
#define BOTH "{\"name\":\"both\",\"action\":\"ring\",\"ring\":[\"softphone\",\"mobile\"]}"
#define PAR "{\"name\":\"par\",\"action\":\"ring\",\"ring\":[{\"device\":\"softphone\",\"secs\":10}," \
    "{\"device\":\"mobile\",\"secs\":25}]}"
#define PAR0 "{\"name\":\"par0\",\"action\":\"ring\",\"ring\":[{\"device\":\"softphone\",\"secs\":8}," \
    "{\"device\":\"mobile\",\"secs\":0}]}"
#define PREFERRED "{\"name\":\"desk-first\",\"action\":\"ring\",\"mode\":\"sequential\",\"ring\":[" \
    "{\"device\":\"desk\",\"secs\":8},{\"device\":\"softphone\",\"secs\":8},{\"device\":\"mobile\",\"secs\":20}]}"
#define SEQ_GHOST "{\"name\":\"seq\",\"action\":\"ring\",\"mode\":\"sequential\",\"ring\":[" \
    "{\"device\":\"softphone\",\"secs\":10},{\"device\":\"mobile\",\"secs\":15},{\"device\":\"pager\",\"secs\":5}]}"
#define NIGHT_DND "{\"name\":\"night\",\"time\":\"22:00-06:00\",\"action\":\"dnd\"}"
#define FRI_NIGHT "{\"name\":\"fri-night\",\"days\":\"fri\",\"time\":\"22:00-06:00\",\"action\":\"ring\"," \
    "\"ring\":[\"mobile\"]}"
#define LONG_WEEKEND "{\"name\":\"long-weekend\",\"days\":\"fri-mon\",\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define DND_EX "{\"name\":\"dnd\",\"action\":\"dnd\",\"except\":[\"+441632960002\",\"+441632961*\"]}"
#define ANON_DND "{\"name\":\"withheld\",\"callers\":[\"anonymous\"],\"action\":\"dnd\"}"
#define AWAY "{\"name\":\"away\",\"presence\":[\"away\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define MEET "{\"name\":\"meeting\",\"presence\":[\"in_meeting\"],\"action\":\"divert\",\"to\":\"voicemail\"}"
#define ONCALL "{\"name\":\"on-call\",\"presence\":[\"busy\"],\"action\":\"divert\",\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define PRES_DND "{\"name\":\"pres-dnd\",\"presence\":[\"dnd\"],\"action\":\"dnd\"}"
#define FAMILY "{\"name\":\"family\",\"callers\":[\"+441632960500\",\"+441632960501\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define LONDON "{\"name\":\"london\",\"callers\":[\"+4420*\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define LONDON_HQ "{\"name\":\"london-hq\",\"callers\":[\"+44207946*\"],\"action\":\"ring\",\"ring\":[\"desk\"]}"
#define VIP "{\"name\":\"vip\",\"callers\":[\"+4420*\"],\"action\":\"divert\",\"to\":\"+447700900999\"}"
#define SCHOOL "{\"name\":\"school\",\"callers\":[\"+441632960500\"],\"action\":\"ring\",\"ring\":[\"mobile\"]}"
#define BOSS "{\"name\":\"boss\",\"callers\":[\"+441632960777\"],\"action\":\"divert\",\"to\":\"mobile\"}"
#define ALWAYS_BOB "{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define ALWAYS_CAROL "{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"user:carol\",\"ext\":\"2003\"}"
#define ALWAYS_ALICE "{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"user:alice\",\"ext\":\"2001\"}"
#define NO_EXT_BOB "{\"name\":\"cover\",\"action\":\"divert\",\"to\":\"user:bob\"}"
#define NA_BOB "{\"name\":\"na\",\"action\":\"divert\",\"on\":\"no_answer\",\"after\":12,\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define NA_ALICE "{\"name\":\"na\",\"action\":\"divert\",\"on\":\"no_answer\",\"to\":\"user:alice\",\"ext\":\"2001\"}"
#define NA_VM "{\"name\":\"na-vm\",\"action\":\"divert\",\"on\":\"no_answer\",\"after\":15,\"to\":\"voicemail\"}"
#define BUSY_VM "{\"name\":\"busy\",\"action\":\"divert\",\"on\":\"busy\",\"to\":\"voicemail\"}"
#define BUSY_MOB "{\"name\":\"busy\",\"action\":\"divert\",\"on\":\"busy\",\"to\":\"mobile\"}"
#define BUSY_BOB "{\"name\":\"busy\",\"action\":\"divert\",\"on\":\"busy\",\"to\":\"user:bob\",\"ext\":\"2002\"}"
#define UNR_MOB "{\"name\":\"offline\",\"action\":\"divert\",\"on\":\"unreachable\",\"to\":\"mobile\"}"

#define OFFICE(rules) "{\"active\":\"office\",\"profiles\":{\"office\":[" rules "]}}"
#define PINNED(pin, rules) "{\"active\":\"office\",\"pinned\":[" pin "],\"profiles\":{\"office\":[" rules "]}}"
#define PROFILES(active) "{\"active\":\"" active "\",\"profiles\":{\"office\":[" WORKDAY "]," \
    "\"home\":[" NIGHT_DND "," BOTH "],\"leave\":[" ALWAYS_BOB "]}}"

/* ---- what the plans read like ---- */
#define A "sip:2001@ringway.local"          /* alice's softphone (her own AOR) */
#define D "sip:desk-2001@ringway.local"     /* alice's desk phone */
#define M "+447700900001"                   /* alice's mobile */
#define DEFAULT "20s " A "+" D " => voicemail"
#define WORKDAY_STAGES "10s " A " | 15s " M
#define WORKDAY_PLAN WORKDAY_STAGES " => voicemail"

typedef struct {
    const char *name;
    const char *user;                /* alice (default), bob or carol (no mailbox) */
    const char *settings;            /* NULL: none */
    const char *at;                  /* UTC; NULL: Mon 1 June 2026 09:00Z = 10:00 BST */
    const char *tz;                  /* NULL: Europe/London */
    const char *caller;              /* NULL: +441632960999 */
    const char *presence;            /* NULL: none */
    int64_t presence_until;          /* ms from `at`; 0 open-ended */
    const char *divert_to, *divert_ext;
    int64_t divert_start, divert_end;  /* ms from `at`, when divert_to is set */
    const char *diverted;            /* users the call passed, "a,b" */
    const char *dead;                /* SIP devices with no binding, "softphone,desk" */
    const char *caller_number;       /* a colleague caller's public number, as the script finds it */
    const char *plan;                /* expected, rendered */
    const char *trace;               /* a trace line holds this */
    const char *not_trace;           /* and none holds this */
} row_t;

static const row_t rows[] = {
    /* precedence: pinned > calendar > profile > default */
    { .name = "no rules: SIP devices together, then voicemail", .plan = DEFAULT,
      .trace = "no ring rule: SIP devices together for 20 s" },
    { .name = "pinned caller rule beats the profile's divert always",
      .settings = "{\"active\":\"leave\",\"pinned\":[" SCHOOL "],\"profiles\":{\"leave\":[" ALWAYS_BOB "]}}",
      .caller = "+441632960500", .plan = "20s " M " => voicemail", .trace = "rule 'school' matched" },
    { .name = "other callers follow the profile's divert always",
      .settings = "{\"active\":\"leave\",\"pinned\":[" SCHOOL "],\"profiles\":{\"leave\":[" ALWAYS_BOB "]}}",
      .plan = "0s 2002/unconditional => voicemail/no-answer", .trace = "divert always -> colleague bob" },
    { .name = "pinned caller ring beats do not disturb", .settings = PINNED(SCHOOL, DND_EX),
      .caller = "+441632960500", .plan = "20s " M " => voicemail", .trace = "rule 'school' matched" },
    { .name = "pinned caller divert beats do not disturb", .settings = PINNED(BOSS, DND_EX),
      .caller = "+441632960777", .plan = "20s " M "/unconditional => voicemail/no-answer",
      .trace = "rule 'boss' matched: divert always -> device mobile" },
    { .name = "do not disturb for everyone else", .settings = PINNED(BOSS, DND_EX),
      .plan = "=> voicemail/user-busy", .trace = "rule 'dnd' matched: do not disturb" },
    { .name = "pinned rule beats the calendar divert", .settings = PINNED(SCHOOL, WORKDAY),
      .caller = "+441632960500", .divert_to = "+447700900777", .divert_start = -60000, .divert_end = 60000,
      .plan = "20s " M " => voicemail", .trace = "rule 'school' matched" },
    { .name = "calendar divert beats the profile's schedule", .settings = OFFICE(WORKDAY),
      .divert_to = "+447700900777", .divert_start = -60000, .divert_end = 60000,
      .plan = "0s +447700900777/unconditional => voicemail/no-answer",
      .trace = "rule 'calendar divert' matched: divert always -> number +447700900777" },
    { .name = "a pinned busy divert does not stop the calendar divert", .settings = PINNED(BUSY_VM, WORKDAY),
      .divert_to = "+447700900777", .divert_start = -60000, .divert_end = 60000,
      .plan = "0s +447700900777/unconditional => voicemail/no-answer", .trace = "calendar divert" },
    { .name = "calendar divert beats do not disturb in the profile", .settings = OFFICE(DND_EX),
      .divert_to = "user:bob", .divert_ext = "2002", .divert_start = -60000, .divert_end = 60000,
      .plan = "0s 2002/unconditional => voicemail/no-answer", .trace = "divert always -> colleague bob" },

    /* profile switch: the same settings with another active profile */
    { .name = "profile office in hours", .settings = PROFILES("office"), .plan = WORKDAY_PLAN,
      .trace = "profile 'office'" },
    { .name = "profile home by day rings both", .settings = PROFILES("home"),
      .plan = "20s " A "+" M " => voicemail", .trace = "rule 'both' matched: ring together" },
    { .name = "profile home at night: do not disturb first", .settings = PROFILES("home"),
      .at = "2026-06-01T22:30:00Z", .plan = "=> voicemail/user-busy", .trace = "rule 'night' matched" },
    { .name = "profile leave diverts to a colleague", .settings = PROFILES("leave"),
      .plan = "0s 2002/unconditional => voicemail/no-answer", .trace = "profile 'leave'" },

    /* do not disturb and its exceptions */
    { .name = "dnd exception by number still rings", .settings = OFFICE(DND_EX), .caller = "+441632960002",
      .plan = DEFAULT, .trace = "caller +441632960002 is an exception" },
    { .name = "dnd exception by prefix still rings", .settings = OFFICE(DND_EX), .caller = "+441632961234",
      .plan = DEFAULT, .trace = "is an exception" },
    { .name = "an excepted caller goes on to the next rule", .settings = OFFICE(DND_EX "," WORKDAY),
      .caller = "+441632960002", .plan = WORKDAY_PLAN, .trace = "rule 'workday' matched" },
    { .name = "an exception after the decision is not traced", .settings = OFFICE(WORKDAY "," DND_EX),
      .caller = "+441632960002", .plan = WORKDAY_PLAN, .trace = "rule 'workday' matched",
      .not_trace = "is an exception" },
    { .name = "a colleague calling from their desk matches by public number", .settings = OFFICE(DND_EX),
      .caller = "2002", .caller_number = "+441632960002", .plan = DEFAULT,
      .trace = "caller 2002 is an exception" },
    { .name = "an extension alone is not the public number", .settings = OFFICE(DND_EX), .caller = "2002",
      .plan = "=> voicemail/user-busy", .trace = "rule 'dnd' matched" },
    { .name = "dnd without a mailbox is busy", .user = "carol", .settings = OFFICE(DND_EX),
      .plan = "=> busy", .trace = "do not disturb" },
    { .name = "withheld callers to voicemail", .settings = OFFICE(ANON_DND), .caller = "anonymous",
      .plan = "=> voicemail/user-busy", .trace = "rule 'withheld' matched" },
    { .name = "presented callers ring past the withheld rule", .settings = OFFICE(ANON_DND),
      .plan = DEFAULT, .trace = "no ring rule" },

    /* callers: lists and prefixes; the first matching rule wins, not the longest prefix */
    { .name = "caller in a list", .settings = OFFICE(FAMILY), .caller = "+441632960501",
      .plan = "20s " M " => voicemail", .trace = "rule 'family' matched" },
    { .name = "a colleague in the list calling from their desk", .settings = OFFICE(FAMILY), .caller = "2005",
      .caller_number = "+441632960501", .plan = "20s " M " => voicemail", .trace = "rule 'family' matched" },
    { .name = "caller not in the list", .settings = OFFICE(FAMILY), .plan = DEFAULT, .trace = "no ring rule" },
    { .name = "shorter prefix first wins", .settings = OFFICE(LONDON "," LONDON_HQ), .caller = "+442079460000",
      .plan = "20s " M " => voicemail", .trace = "rule 'london' matched" },
    { .name = "longer prefix first wins", .settings = OFFICE(LONDON_HQ "," LONDON), .caller = "+442079460000",
      .plan = "20s " D " => voicemail", .trace = "rule 'london-hq' matched" },
    { .name = "prefix divert to a number", .settings = OFFICE(VIP), .caller = "+442071234567",
      .plan = "0s +447700900999/unconditional => voicemail/no-answer", .trace = "rule 'vip' matched" },

    /* presence, alone and with schedules and calendar diverts */
    { .name = "away rings the mobile", .settings = OFFICE(AWAY), .presence = "away",
      .plan = "20s " M " => voicemail", .trace = "presence=away" },
    { .name = "in a meeting: voicemail at once", .settings = OFFICE(MEET), .presence = "in_meeting",
      .plan = "=> voicemail/unconditional", .trace = "rule 'meeting' matched: divert always -> voicemail" },
    { .name = "busy (on a call) diverts to a colleague", .settings = OFFICE(ONCALL), .presence = "busy",
      .plan = "0s 2002/unconditional => voicemail/no-answer", .trace = "rule 'on-call' matched" },
    { .name = "presence dnd with a dnd rule", .settings = OFFICE(PRES_DND), .presence = "dnd",
      .plan = "=> voicemail/user-busy", .trace = "rule 'pres-dnd' matched" },
    { .name = "presence dnd alone is only a condition", .presence = "dnd", .plan = DEFAULT,
      .trace = "presence=dnd" },
    { .name = "available does not match an away rule", .settings = OFFICE(AWAY), .presence = "available",
      .plan = DEFAULT, .trace = "presence=available" },
    { .name = "expired presence reads as none", .settings = OFFICE(AWAY), .presence = "away",
      .presence_until = -1, .plan = DEFAULT, .trace = "presence=unknown" },
    { .name = "presence until the future is in force", .settings = OFFICE(AWAY), .presence = "away",
      .presence_until = 60000, .plan = "20s " M " => voicemail", .trace = "rule 'away' matched" },
    { .name = "schedule before a meeting rule: order decides", .settings = OFFICE(WORKDAY "," MEET),
      .presence = "in_meeting", .plan = WORKDAY_PLAN, .trace = "rule 'workday' matched" },
    { .name = "meeting rule before the schedule: order decides", .settings = OFFICE(MEET "," WORKDAY),
      .presence = "in_meeting", .plan = "=> voicemail/unconditional", .trace = "rule 'meeting' matched" },
    { .name = "calendar divert beats a presence rule", .settings = OFFICE(AWAY), .presence = "away",
      .divert_to = "voicemail", .divert_start = -60000, .divert_end = 60000,
      .plan = "=> voicemail/unconditional", .trace = "rule 'calendar divert' matched" },

    /* the calendar divert's window is [start, end) */
    { .name = "divert starting now is in force", .settings = OFFICE(WORKDAY), .divert_to = "+447700900777",
      .divert_start = 0, .divert_end = 3600000, .plan = "0s +447700900777/unconditional => voicemail/no-answer",
      .trace = "calendar divert" },
    { .name = "divert ending now is over", .settings = OFFICE(WORKDAY), .divert_to = "+447700900777",
      .divert_start = -3600000, .divert_end = 0, .plan = WORKDAY_PLAN, .trace = "rule 'workday' matched",
      .not_trace = "calendar" },
    { .name = "divert ending in 1 ms is in force", .settings = OFFICE(WORKDAY), .divert_to = "+447700900777",
      .divert_start = -3600000, .divert_end = 1, .plan = "0s +447700900777/unconditional => voicemail/no-answer",
      .trace = "calendar divert" },
    { .name = "divert starting in 1 ms is not yet", .settings = OFFICE(WORKDAY), .divert_to = "+447700900777",
      .divert_start = 1, .divert_end = 3600000, .plan = WORKDAY_PLAN, .not_trace = "calendar" },
    { .name = "calendar divert to a device that went away", .divert_to = "pager",
      .divert_start = -60000, .divert_end = 60000, .plan = "=> voicemail/deflection",
      .trace = "device 'pager' does not exist: no divert there" },

    /* schedules: bounds, DST in London, other zones, overnight and weekday ranges */
    { .name = "09:00 BST is in hours (start inclusive)", .settings = OFFICE(WORKDAY),
      .at = "2026-06-01T08:00:00Z", .plan = WORKDAY_PLAN, .trace = "09:00 Mon, Europe/London" },
    { .name = "17:29 BST is in hours", .settings = OFFICE(WORKDAY), .at = "2026-06-01T16:29:00Z",
      .plan = WORKDAY_PLAN, .trace = "17:29 Mon" },
    { .name = "17:30 BST is out of hours (end exclusive)", .settings = OFFICE(WORKDAY),
      .at = "2026-06-01T16:30:00Z", .plan = DEFAULT, .trace = "17:30 Mon" },
    { .name = "Friday before DST: 08:30Z is 08:30 GMT, out", .settings = OFFICE(WORKDAY),
      .at = "2026-03-27T08:30:00Z", .plan = DEFAULT, .trace = "08:30 Fri" },
    { .name = "Monday after DST starts: 08:30Z is 09:30 BST, in", .settings = OFFICE(WORKDAY),
      .at = "2026-03-30T08:30:00Z", .plan = WORKDAY_PLAN, .trace = "09:30 Mon" },
    { .name = "Friday before DST ends: 08:30Z is 09:30 BST, in", .settings = OFFICE(WORKDAY),
      .at = "2026-10-23T08:30:00Z", .plan = WORKDAY_PLAN, .trace = "09:30 Fri" },
    { .name = "Monday after DST ends: 08:30Z is 08:30 GMT, out", .settings = OFFICE(WORKDAY),
      .at = "2026-10-26T08:30:00Z", .plan = DEFAULT, .trace = "08:30 Mon" },
    { .name = "night across the spring change: 00:30 GMT", .settings = OFFICE(NIGHT_DND),
      .at = "2026-03-29T00:30:00Z", .plan = "=> voicemail/user-busy", .trace = "00:30 Sun" },
    { .name = "night across the spring change: 04:59Z is 05:59 BST, in", .settings = OFFICE(NIGHT_DND),
      .at = "2026-03-29T04:59:00Z", .plan = "=> voicemail/user-busy", .trace = "05:59 Sun" },
    { .name = "night across the spring change: 05:00Z is 06:00 BST, over", .settings = OFFICE(NIGHT_DND),
      .at = "2026-03-29T05:00:00Z", .plan = DEFAULT, .trace = "06:00 Sun" },
    { .name = "night across the autumn change: 00:30Z is 01:30 BST", .settings = OFFICE(NIGHT_DND),
      .at = "2026-10-25T00:30:00Z", .plan = "=> voicemail/user-busy", .trace = "01:30 Sun" },
    { .name = "night across the autumn change: 05:30Z is 05:30 GMT, in", .settings = OFFICE(NIGHT_DND),
      .at = "2026-10-25T05:30:00Z", .plan = "=> voicemail/user-busy", .trace = "05:30 Sun" },
    { .name = "New York after its DST start: 13:00Z is 09:00 EDT", .settings = OFFICE(WORKDAY),
      .at = "2026-03-09T13:00:00Z", .tz = "America/New_York", .plan = WORKDAY_PLAN,
      .trace = "09:00 Mon, America/New_York" },
    { .name = "New York before it: 13:00Z is 08:00 EST", .settings = OFFICE(WORKDAY),
      .at = "2026-03-06T13:00:00Z", .tz = "America/New_York", .plan = DEFAULT, .trace = "08:00 Fri" },
    { .name = "Sydney Monday 09:00 AEST is Sunday in UTC", .settings = OFFICE(WORKDAY),
      .at = "2026-04-05T23:00:00Z", .tz = "Australia/Sydney", .plan = WORKDAY_PLAN,
      .trace = "09:00 Mon, Australia/Sydney" },
    { .name = "Sydney after its DST end: 22:30Z is 08:30 AEST", .settings = OFFICE(WORKDAY),
      .at = "2026-04-05T22:30:00Z", .tz = "Australia/Sydney", .plan = DEFAULT, .trace = "08:30 Mon" },
    { .name = "Sydney in DST: 22:00Z is 09:00 AEDT", .settings = OFFICE(WORKDAY),
      .at = "2026-03-29T22:00:00Z", .tz = "Australia/Sydney", .plan = WORKDAY_PLAN, .trace = "09:00 Mon" },
    { .name = "Sydney Saturday while UTC is Friday", .settings = OFFICE(WORKDAY),
      .at = "2026-06-05T23:00:00Z", .tz = "Australia/Sydney", .plan = DEFAULT, .trace = "09:00 Sat" },
    { .name = "Friday-night window on Friday 23:00", .settings = OFFICE(FRI_NIGHT),
      .at = "2026-06-05T22:00:00Z", .plan = "20s " M " => voicemail", .trace = "23:00 Fri" },
    { .name = "Friday-night window on Saturday 03:00 (Friday's night)", .settings = OFFICE(FRI_NIGHT),
      .at = "2026-06-06T02:00:00Z", .plan = "20s " M " => voicemail", .trace = "03:00 Sat" },
    { .name = "Friday-night window not on Friday 03:00 (Thursday's night)", .settings = OFFICE(FRI_NIGHT),
      .at = "2026-06-05T02:00:00Z", .plan = DEFAULT, .trace = "03:00 Fri" },
    { .name = "Friday-night window not on Monday 03:00", .settings = OFFICE(FRI_NIGHT),
      .at = "2026-06-08T02:00:00Z", .plan = DEFAULT, .trace = "03:00 Mon" },
    { .name = "weekday range fri-mon wraps the week: Sunday", .settings = OFFICE(LONG_WEEKEND),
      .at = "2026-06-07T12:00:00Z", .plan = "20s " M " => voicemail", .trace = "13:00 Sun" },
    { .name = "weekday range fri-mon: not Tuesday", .settings = OFFICE(LONG_WEEKEND),
      .at = "2026-06-02T12:00:00Z", .plan = DEFAULT, .trace = "13:00 Tue" },

    /* conditional diverts and ring times */
    { .name = "no answer and busy after a sequential ring", .settings = OFFICE(WORKDAY "," NA_BOB "," BUSY_VM),
      .plan = WORKDAY_STAGES " | 0s 2002/no-answer => voicemail/user-busy", .trace = "busy -> voicemail" },
    { .name = "no answer shortens the default ring", .settings = OFFICE(NA_BOB),
      .plan = "12s " A "+" D " | 0s 2002/no-answer => voicemail", .trace = "together for 12 s" },
    { .name = "no answer replaces a parallel ring time", .settings = OFFICE(PAR "," NA_VM),
      .plan = "15s " A "+" M " => voicemail/no-answer", .trace = "no answer -> voicemail" },
    { .name = "a parallel ring lasts its longest device", .settings = OFFICE(PAR),
      .plan = "25s " A "+" M " => voicemail", .trace = "ring together" },
    { .name = "0 s is the router's ring time", .settings = OFFICE(PAR0),
      .plan = "20s " A "+" M " => voicemail", .trace = "ring together" },
    { .name = "sequential keeps its own ring times", .settings = OFFICE(WORKDAY "," NA_VM),
      .plan = WORKDAY_PLAN "/no-answer", .trace = "one after another" },
    { .name = "busy alone is a stage after the ring", .settings = OFFICE(BUSY_MOB),
      .plan = "20s " A "+" D " | 20s " M "/user-busy => voicemail", .trace = "busy -> device mobile" },
    { .name = "busy to the no-answer destination is one stage", .settings = OFFICE(NA_BOB "," BUSY_BOB),
      .plan = "12s " A "+" D " | 0s 2002/no-answer => voicemail", .not_trace = "busy ->" },
    { .name = "unreachable with no binding: the destination alone", .settings = OFFICE(UNR_MOB),
      .dead = "softphone,desk", .plan = "20s " M "/unavailable => voicemail",
      .trace = "no device registered -> device mobile" },
    { .name = "unreachable with a binding: a next stage", .settings = OFFICE(UNR_MOB), .dead = "desk",
      .plan = "20s " A "+" D " | 20s " M "/unavailable => voicemail", .trace = "if no device is registered" },
    { .name = "unreachable with no answer set, bound: no-answer only", .settings = OFFICE(UNR_MOB "," NA_BOB),
      .plan = "12s " A "+" D " | 0s 2002/no-answer => voicemail", .not_trace = "if no device" },
    { .name = "unreachable with no answer set, unbound: unreachable", .settings = OFFICE(UNR_MOB "," NA_BOB),
      .dead = "softphone,desk", .plan = "20s " M "/unavailable => voicemail", .trace = "no device registered" },
    { .name = "unreachable never follows a ring of numbers only", .settings = OFFICE(AWAY "," UNR_MOB),
      .presence = "away", .plan = "20s " M " => voicemail", .not_trace = "no device" },

    /* sequential, preferred device, devices that went away */
    { .name = "preferred device first, then the others", .settings = OFFICE(PREFERRED),
      .plan = "8s " D " | 8s " A " | 20s " M " => voicemail", .trace = "one after another" },
    { .name = "a missing last device keeps the stages before it", .settings = OFFICE(SEQ_GHOST),
      .plan = WORKDAY_PLAN, .trace = "device 'pager' does not exist: skipped" },

    /* colleagues: chains and loops */
    { .name = "chain 1: alice diverts to bob", .settings = OFFICE(ALWAYS_BOB),
      .plan = "0s 2002/unconditional => voicemail/no-answer", .trace = "colleague bob" },
    { .name = "chain 2: bob, reached from alice, diverts to carol", .user = "bob",
      .settings = OFFICE(ALWAYS_CAROL), .diverted = "alice", .plan = "0s 2003/unconditional => voicemail/no-answer",
      .trace = "colleague carol" },
    { .name = "chain 3: carol rings, no mailbox", .user = "carol", .diverted = "alice,bob",
      .plan = "20s sip:2003@ringway.local => unavailable", .trace = "then unavailable (480)" },
    { .name = "loop of 2: bob will not divert back to alice", .user = "bob", .settings = OFFICE(ALWAYS_ALICE),
      .diverted = "alice", .plan = "=> voicemail/deflection", .trace = "loop: the call already passed alice" },
    { .name = "loop of 2: alice reached again stops at once", .settings = OFFICE(ALWAYS_BOB),
      .diverted = "alice,bob", .plan = "=> voicemail/deflection", .trace = "loop protection" },
    { .name = "loop of 3: carol will not divert back to alice", .user = "carol", .settings = OFFICE(ALWAYS_ALICE),
      .diverted = "alice,bob", .plan = "=> busy", .trace = "loop: the call already passed alice" },
    { .name = "too many hops", .diverted = "w,x,y,z", .plan = "=> voicemail/deflection",
      .trace = "through 4 user(s)" },
    { .name = "no answer to a user already passed is left out", .user = "bob", .settings = OFFICE(NA_ALICE),
      .diverted = "alice", .plan = "20s sip:2002@ringway.local => voicemail",
      .trace = "loop: the call already passed alice" },
    { .name = "a colleague without an extension on record", .settings = OFFICE(NO_EXT_BOB),
      .plan = "=> voicemail/deflection", .trace = "colleague bob has no extension on record" },
};

static uint64_t utc_ms(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ck_assert_ptr_nonnull(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return (uint64_t) timegm(&tm) * 1000u;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_num(msgpack_packer *pk, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long) v);
    pack_str(pk, buf);
}

static bool listed(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; p && (p = strstr(p, id)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
            return true;
    return false;
}

/* The user's devices: id, "kind address". */
static const char *const alice_devs[] = { "softphone", "sip ", "desk", "sip sip:desk-2001@ringway.local",
                                          "mobile", "number +447700900001", "voicemail", "voicemail alice", NULL };
static const char *const bob_devs[] = { "softphone", "sip ", "voicemail", "voicemail bob", NULL };
static const char *const carol_devs[] = { "desk", "sip ", "home", "number +441632960999", NULL };

/* What the decision's script would answer for the row (fetch.c's reply layout). */
static void pack_reply(const row_t *t, uint64_t now, msgpack_sbuffer *sb)
{
    const char *id = t->user ? t->user : "alice";
    const char *ext = !strcmp(id, "bob") ? "2002" : !strcmp(id, "carol") ? "2003" : "2001";
    const char *const *devs = !strcmp(id, "bob") ? bob_devs : !strcmp(id, "carol") ? carol_devs : alice_devs;
    size_t n = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    while (devs[n])
        n++;
    msgpack_pack_array(&pk, 17);
    pack_str(&pk, id);
    pack_str(&pk, ext);
    pack_str(&pk, id);
    pack_str(&pk, "ringway.local");
    pack_str(&pk, t->tz ? t->tz : "Europe/London");
    pack_str(&pk, t->settings ? t->settings : "");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        pack_str(&pk, devs[i]);
    msgpack_pack_array(&pk, n / 2);
    for (size_t i = 0; i < n; i += 2)
        msgpack_pack_int(&pk, strncmp(devs[i + 1], "sip", 3) || !listed(t->dead, devs[i]));
    pack_str(&pk, t->presence ? t->presence : "");
    pack_num(&pk, t->presence_until ? (uint64_t) ((int64_t) now + t->presence_until) : 0);
    pack_num(&pk, t->divert_to ? (uint64_t) ((int64_t) now + t->divert_start) : 0);
    pack_num(&pk, t->divert_to ? (uint64_t) ((int64_t) now + t->divert_end) : 0);
    pack_str(&pk, t->divert_to ? t->divert_to : "");
    pack_str(&pk, t->divert_ext ? t->divert_ext : "");
    pack_str(&pk, "0");
    msgpack_pack_false(&pk);
    pack_str(&pk, t->caller_number ? t->caller_number : "");
}

/* "10s sip:... | 15s +44...+... => voicemail/no-answer" */
static void render(const rw_plan_t *p, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    for (uint32_t s = 0; s < p->n_stages; s++) {
        at += (size_t) snprintf(out + at, len - at, "%s%us ", s ? " | " : "", p->stages[s].ring_ms / 1000);
        for (uint32_t i = 0; i < p->stages[s].n_targets; i++) {
            const rw_target_t *t = &p->stages[s].targets[i];
            at += (size_t) snprintf(out + at, len - at, "%s%s%s%s", i ? "+" : "", t->aor,
                                    t->diversion[0] ? "/" : "", t->diversion);
        }
    }
    snprintf(out + at, len - at, "%s=> %s%s%s", at ? " " : "", rw_proto_final_name(p->final),
             p->final_target.diversion[0] ? "/" : "", p->final_target.diversion);
}

static bool trace_has(const rw_plan_t *p, const char *needle)
{
    for (uint32_t i = 0; needle && i < p->n_trace; i++)
        if (strstr(p->trace[i], needle))
            return true;
    return false;
}

START_TEST(test_combination)
{
    const row_t *t = &rows[_i];
    static rw_router_user_t u;
    static rw_plan_t plan;
    static char text[8192], got[1024];
    rw_route_req_t rq;
    redisReply rep;
    msgpack_sbuffer sb;
    rw_router_cache_t *cache = rw_router_cache_new(0);
    ck_assert_ptr_nonnull(cache);
    memset(&rq, 0, sizeof rq);
    rq.time_ms = utc_ms(t->at ? t->at : "2026-06-01T09:00:00Z");
    strcpy(rq.call_id, "combo");
    strcpy(rq.caller, t->caller ? t->caller : "+441632960999");
    strcpy(rq.callee, "2001");
    strcpy(rq.source, "device");
    for (const char *p = t->diverted; p && *p && rq.n_diversions < RW_ROUTE_MAX_DIVERSIONS;) {
        size_t n = strcspn(p, ",");
        snprintf(rq.diversions[rq.n_diversions++], sizeof rq.diversions[0], "%.*s", (int) n, p);
        p += n + (p[n] == ',');
    }
    msgpack_sbuffer_init(&sb);
    pack_reply(t, rq.time_ms, &sb);
    memset(&rep, 0, sizeof rep);
    rep.type = REDIS_REPLY_STRING;
    rep.str = sb.data;
    rep.len = sb.size;
    int rc = rw_router_fetch_parse(cache, &rw_numplan_uk, &rep, rq.time_ms, &u, &policy);
    ck_assert_msg(rc == 0, "%s: parse %d", t->name, rc);
    ck_assert_msg(!t->settings || u.settings, "%s: settings did not parse", t->name);
    rw_router_build_plan(&policy, &rq, &u, &plan);
    rw_proto_plan_format(&plan, text, sizeof text);
    render(&plan, got, sizeof got);
    ck_assert_msg(!strcmp(got, t->plan), "%s:\n  want %s\n  got  %s\n%s", t->name, t->plan, got, text);
    ck_assert_msg(!t->trace || trace_has(&plan, t->trace), "%s: trace lacks '%s'\n%s", t->name, t->trace, text);
    ck_assert_msg(!trace_has(&plan, t->not_trace), "%s: trace has '%s'\n%s", t->name, t->not_trace, text);
    msgpack_sbuffer_destroy(&sb);
    rw_router_cache_destroy(&cache);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("combo");
    TCase *tc = tcase_create("combo");
    tcase_add_loop_test(tc, test_combination, 0, (int) (sizeof rows / sizeof rows[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
