/* common/e164.c — turn what a caller dialled into E.164, an internal extension or a service
 * number, by a number plan. Works in fixed buffers on the stack: nothing is allocated.
 *
 * The order of the checks matters: emergency/service numbers first (they must never be taken
 * for an extension), then internal extensions, then the international prefix (before the
 * national one, since "00" starts with "0"), then the national prefix, then "+" forms.
 * A string of digits that matches none of these (a local number without its area code, say)
 * is rejected: Ringway cannot tell where it should go. */
#include "common/e164.h"

#include <ctype.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

#define E164_MAX_DIGITS 15    /* country code + national significant number (ITU-T E.164) */
#define E164_MIN_DIGITS 7     /* anything shorter is no public number anywhere */
#define NSN_MIN_DIGITS 6      /* own-country national significant number, after the prefix */
#define DIALLED_MAX 64        /* digits and '+' kept from the input, separators dropped */

const rw_numplan_t rw_numplan_uk = {
    .country_code = "44",
    .national_prefix = "0",
    .intl_prefix = "00",
    .ext_min_len = 4,
    .ext_max_len = 4,
    .ext_first_digits = "1234567",
};

/* Numbers that reach the emergency services in every plan Ringway knows. */
static const char *const service_numbers[] = { "112", "911", "999", NULL };

/* The user part of "tel:..." or "sip:user@host;params" (or the whole string otherwise),
 * without URI parameters. Sets *len; NULL when a SIP URI has no user part. */
static const char *user_part(const char *s, size_t *len)
{
    const char *end;
    bool sip = false;

    if (strncasecmp(s, "tel:", 4) == 0)
        s += 4;
    else if (strncasecmp(s, "sip:", 4) == 0)
        s += 4, sip = true;
    else if (strncasecmp(s, "sips:", 5) == 0)
        s += 5, sip = true;
    if (sip) {
        end = strchr(s, '@');
        if (!end)
            return NULL;
    } else {
        end = s + strlen(s);
    }
    for (const char *p = s; p < end; p++) {
        if (*p == ';') {       /* ";phone-context=...", ";isub=..." */
            end = p;
            break;
        }
    }
    *len = (size_t) (end - s);
    return s;
}

/* Keep digits and a leading '+', drop visual separators, refuse anything else. */
static int strip_separators(const char *s, size_t len, char *out, size_t out_len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        if (!(isdigit((unsigned char) c) || (c == '+' && n == 0)))
            return RW_EINVAL;
        if (n + 1 >= out_len)
            return RW_EINVAL;     /* far longer than any number */
        out[n++] = c;
    }
    out[n] = '\0';
    return n ? 0 : RW_EINVAL;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return prefix && *prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_service(const char *digits)
{
    for (int i = 0; service_numbers[i]; i++)
        if (strcmp(digits, service_numbers[i]) == 0)
            return true;
    return false;
}

static bool is_extension(const rw_numplan_t *plan, const char *digits)
{
    size_t len = strlen(digits);

    if (plan->ext_max_len <= 0 || len < (size_t) plan->ext_min_len
        || len > (size_t) plan->ext_max_len)
        return false;
    return !plan->ext_first_digits || strchr(plan->ext_first_digits, digits[0]);
}

/* cc_nsn is country code + national significant number, digits only. */
static int put_e164(const rw_numplan_t *plan, const char *cc_nsn, char *out, size_t out_len)
{
    size_t len = strlen(cc_nsn);

    if (len < E164_MIN_DIGITS || len > E164_MAX_DIGITS || cc_nsn[0] == '0')
        return RW_EINVAL;
    if (has_prefix(cc_nsn, plan->country_code)
        && len - strlen(plan->country_code) < NSN_MIN_DIGITS)
        return RW_EINVAL;
    if (len + 2 > out_len)
        return RW_ERANGE;
    out[0] = '+';
    memcpy(out + 1, cc_nsn, len + 1);
    return 0;
}

static int put_plain(const char *digits, char *out, size_t out_len)
{
    size_t len = strlen(digits);

    if (len + 1 > out_len)
        return RW_ERANGE;
    memcpy(out, digits, len + 1);
    return 0;
}

static int classify(const rw_numplan_t *plan, const char *num, char *out, size_t out_len,
                    rw_num_kind_t *kind)
{
    char cc_nsn[DIALLED_MAX + 8];

    if (num[0] == '+') {
        *kind = RW_NUM_E164;
        return put_e164(plan, num + 1, out, out_len);
    }
    if (is_service(num)) {
        *kind = RW_NUM_SERVICE;
        return put_plain(num, out, out_len);
    }
    if (is_extension(plan, num)) {
        *kind = RW_NUM_EXTENSION;
        return put_plain(num, out, out_len);
    }
    *kind = RW_NUM_E164;
    if (has_prefix(num, plan->intl_prefix))
        return put_e164(plan, num + strlen(plan->intl_prefix), out, out_len);
    if (has_prefix(num, plan->national_prefix)) {
        const char *nsn = num + strlen(plan->national_prefix);
        if (strlen(nsn) < NSN_MIN_DIGITS || !plan->country_code)
            return RW_EINVAL;
        snprintf(cc_nsn, sizeof cc_nsn, "%s%s", plan->country_code, nsn);
        return put_e164(plan, cc_nsn, out, out_len);
    }
    return RW_EINVAL;
}

int rw_e164_normalise(const rw_numplan_t *plan, const char *dialled, char *out, size_t out_len,
                      rw_num_kind_t *kind)
{
    char num[DIALLED_MAX + 1];
    rw_num_kind_t k = 0;
    const char *user;
    size_t len = 0;
    int rc;

    if (!out || out_len == 0)
        return RW_EINVAL;
    out[0] = '\0';
    if (!plan || !dialled)
        return RW_EINVAL;
    user = user_part(dialled, &len);
    if (!user)
        return RW_EINVAL;
    rc = strip_separators(user, len, num, sizeof num);
    if (rc == 0)
        rc = classify(plan, num, out, out_len, &k);
    if (rc != 0) {
        out[0] = '\0';
        return rc;
    }
    if (kind)
        *kind = k;
    return 0;
}
