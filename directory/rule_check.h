/* directory/rule_check.h — save-time analysis of a user's rules, pure (no I/O): whether two rules
 * of one set are of the same kind with overlapping time windows (refused: the router would take
 * the first and the user could not tell), a divert to the user's own public number or to
 * themselves (refused: a loop), and the first rule an earlier one leaves no call to (saved with
 * a warning). Windows are spans of minutes in the week read as the router reads
 * them: one wrapping past midnight runs into the next day, Sunday's into Monday. */
#ifndef RW_RULE_CHECK_H
#define RW_RULE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "directory/dir_rules.h"

bool rw_rule_check_overlap(const rw_rule_t *a, const rw_rule_t *b);
/* "warning: <set>: rule 'b' can never apply: rule 'a' before it takes every such call", or "". */
void rw_rule_check_dead(const rw_settings_t *s, char *out, size_t len);

/* A divert destination that is the user's own public number (the call would leave through a
 * trunk and come straight back to them: a loop through the phone network) or the user
 * themselves (user:<own id>). RW_EINVAL with "<what> diverts to <id>'s own public number
 * <number>: ..." in err, else 0. number may be "" (a user without one). */
int rw_rule_check_self_dest(const rw_rule_dest_t *d, const char *user_id, const char *number,
                            const char *what, char *err, size_t len);
/* The same for every divert of every set of s ("<set>: rule '<name>'" as what). */
int rw_rule_check_self(const rw_settings_t *s, const char *user_id, const char *number, char *err,
                       size_t len);

#endif
