/* common/e164.h — normalise what a caller dialled into E.164 or an internal extension.
 * A number plan says the country code, the national and international prefixes and how
 * internal extensions look. Visual separators (space, '-', '.', '(', ')') are dropped,
 * "tel:" / "sip:user@host" forms are reduced to the user part. Never allocates. */
#ifndef RW_E164_H
#define RW_E164_H

#include <stddef.h>

typedef struct {
    const char *country_code;      /* "44" */
    const char *national_prefix;   /* "0" (trunk prefix) */
    const char *intl_prefix;       /* "00" */
    int ext_min_len, ext_max_len;  /* internal extensions: all digits, e.g. 4..4 */
    const char *ext_first_digits;  /* digits an extension may start with, e.g. "1234"; NULL any */
} rw_numplan_t;

typedef enum { RW_NUM_E164 = 1, RW_NUM_EXTENSION, RW_NUM_SERVICE } rw_num_kind_t;

/* The UK plan Ringway's demo uses: +44, 0, 00, 4-digit extensions 1xxx-7xxx. */
extern const rw_numplan_t rw_numplan_uk;

/* out gets "+441632960123" (E.164 with '+'), "2001" (extension) or "999"/"112" (service).
 * RW_EINVAL for anything else (letters, too long/short, empty); out is then "". */
int rw_e164_normalise(const rw_numplan_t *plan, const char *dialled, char *out, size_t out_len,
                      rw_num_kind_t *kind);

#endif
