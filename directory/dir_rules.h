/* directory/dir_rules.h — a user's routing settings: rule profiles and pinned rules.
 * Stored as one compact JSON string per user (docs/routing.md has the format); parsed here
 * into fixed-size structs so the router evaluates them without allocating, and validated
 * here (syntax, times, numbers) before the directory writes them. Pure: no I/O. References
 * to devices and colleagues are checked by directory/directory.c, which can read Redis. */
#ifndef RW_DIR_RULES_H
#define RW_DIR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/e164.h"

#define RW_RULES_MAX_PROFILES 6
#define RW_RULES_MAX_PER_SET 12      /* rules in one profile, and pinned rules */
#define RW_RULES_MAX_CALLERS 8       /* numbers / prefixes in a caller condition or exception */
#define RW_RULES_MAX_RING 6          /* devices in one ring rule */

typedef enum { RW_ACT_RING = 1, RW_ACT_DIVERT, RW_ACT_DND } rw_rule_action_t;
typedef enum { RW_ON_ALWAYS = 0, RW_ON_BUSY, RW_ON_NO_ANSWER, RW_ON_UNREACHABLE } rw_rule_on_t;
typedef enum { RW_DEST_DEVICE = 1, RW_DEST_USER, RW_DEST_NUMBER, RW_DEST_VOICEMAIL } rw_dest_kind_t;

/* Presence states as bits (names as in protocols/events.h). */
enum { RW_PRES_AVAILABLE = 1, RW_PRES_BUSY = 2, RW_PRES_AWAY = 4, RW_PRES_IN_MEETING = 8,
       RW_PRES_DND = 16, RW_PRES_OFFLINE = 32 };

typedef struct {
    rw_dest_kind_t kind;
    char ref[64];                    /* device id, user id or E.164 number; "" for voicemail */
    char ext[16];                    /* RW_DEST_USER: the colleague's extension (set on save) */
} rw_rule_dest_t;

typedef struct {
    char name[32];
    /* Conditions: all must hold. */
    uint8_t days;                    /* bit 0 Monday .. bit 6 Sunday; 0 = every day */
    int16_t from_min, to_min;        /* local [from, to) in minutes; -1 = all day; to <= from
                                        wraps past midnight */
    uint8_t presence;                /* RW_PRES_* bits; 0 = any state */
    uint8_t n_callers;
    char callers[RW_RULES_MAX_CALLERS][24];  /* exact, or a prefix ending in '*' */
    /* Action. */
    rw_rule_action_t action;
    rw_rule_on_t on;                 /* divert: when */
    uint16_t after_s;                /* divert on no answer: ring this long first (0 = default) */
    rw_rule_dest_t to;               /* divert target */
    bool sequential;                 /* ring: one after another, else all at once */
    uint8_t n_ring;
    struct { char device[32]; uint16_t secs; } ring[RW_RULES_MAX_RING];
    uint8_t n_except;                /* dnd: callers who still get through */
    char except[RW_RULES_MAX_CALLERS][24];
} rw_rule_t;

typedef struct {
    char name[32];                   /* profile name; "pinned" for the pinned set */
    uint8_t n_rules;
    rw_rule_t rules[RW_RULES_MAX_PER_SET];
} rw_rule_set_t;

typedef struct {
    char active[32];                 /* the active profile's name, "" = none */
    rw_rule_set_t pinned;
    uint8_t n_profiles;
    rw_rule_set_t profiles[RW_RULES_MAX_PROFILES];
} rw_settings_t;

/* Parse settings JSON into *out: the counts and every set and rule they cover, each zeroed
 * before it is filled (sets and rules past the counts are left as they were: read only what
 * the counts cover). active_only keeps only the pinned set and the active profile (what the
 * router needs). RW_EINVAL with the offending path in err
 * ("profiles.office[2].from: '25:00' is not HH:MM"). Numbers are normalised with plan. */
int rw_rules_parse(const char *json, const rw_numplan_t *plan, bool active_only,
                   rw_settings_t *out, char *err, size_t err_len);
/* The active profile, or NULL. */
const rw_rule_set_t *rw_rules_active(const rw_settings_t *s);
/* Parse one destination: a device id, "user:<id>", a number, or "voicemail". */
int rw_rules_parse_dest(const char *s, const rw_numplan_t *plan, rw_rule_dest_t *out);
/* Does a caller match a list entry (exact, or prefix ending in '*')? */
bool rw_rules_caller_match(const char *entry, const char *caller);
/* Presence bit for a state name, 0 if unknown. */
int rw_rules_presence_bit(const char *state);

#endif
