/* common/rule_check.h — save-time analysis of a user's rules, pure (no I/O): whether two rules
 * of one set are of the same kind with overlapping time windows (refused: the router would take
 * the first and the user could not tell), and the first rule an earlier one leaves no call to
 * (saved with a warning). Windows are spans of minutes in the week read as the router reads
 * them: one wrapping past midnight runs into the next day, Sunday's into Monday. */
#ifndef RW_RULE_CHECK_H
#define RW_RULE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "common/dir_rules.h"

bool rw_rule_check_overlap(const rw_rule_t *a, const rw_rule_t *b);
/* "warning: <set>: rule 'b' can never apply: rule 'a' before it takes every such call", or "". */
void rw_rule_check_dead(const rw_settings_t *s, char *out, size_t len);

#endif
