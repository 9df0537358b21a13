/* directory/dir_export.h — the whole directory as one import file (docs/directory.md, "Import
 * file"): what `ringway import` and `ringway group import` read back. Users carry their ha1
 * (the stored digest hash: the password itself is never stored), devices and settings as
 * "rules"; then trunks and hunt groups. Blocking Redis connection; reads only. */
#ifndef RW_DIR_EXPORT_H
#define RW_DIR_EXPORT_H

#include <jansson.h>
#include "common/redis.h"

/* New reference, NULL when Redis fails. Users are in id order; "realm" is the first user's
 * (an import file has one realm: users of other realms keep theirs in "realm" of their own
 * entry, which the import ignores). */
json_t *rw_dir_export(rw_redis_t *r);

#endif
