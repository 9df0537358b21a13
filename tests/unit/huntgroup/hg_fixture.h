/* tests/unit/huntgroup/hg_fixture.h — what the hunt group tests share: a directory user with a
 * password, written through directory/directory.h as an operator would (Check assertions). */
#ifndef RW_HG_FIXTURE_H
#define RW_HG_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "directory/directory.h"

static inline void hg_add_user(rw_redis_t *r, const char *id, const char *ext)
{
    rw_dir_user_t u;
    char err[256];
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.ext, sizeof u.ext, "%s", ext);
    snprintf(u.tz, sizeof u.tz, "Europe/London");
    snprintf(u.realm, sizeof u.realm, "ringway.local");
    ck_assert_msg(rw_dir_user_put(r, &rw_numplan_uk, &u, "pw", err, sizeof err) == 0, "%s", err);
}

#endif
