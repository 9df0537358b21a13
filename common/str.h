/* common/str.h — bounded string copies for hot paths, where snprintf("%s") costs several hundred
 * instructions a copy. Header only; no allocation. */
#ifndef RW_COMMON_STR_H
#define RW_COMMON_STR_H

#include <stddef.h>

/* dst = src (NULL = "") truncated to cap - 1 bytes, as snprintf(dst, cap, "%s", src) would;
 * returns the bytes written, not counting the '\0' (nothing is written when cap is 0). */
static inline size_t rw_str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    if (!cap)
        return 0;
    for (; src && src[n] && n + 1 < cap; n++)   /* not strnlen: cap may exceed src's array */
        dst[n] = src[n];
    dst[n] = '\0';
    return n;
}

#endif
