/* services/sip-edge/digest.h — HTTP digest arithmetic (RFC 2617 / RFC 7616), qop=auth.
 * Pure functions over strings: the hash of the algorithm, HA1 from a password (tests, tools)
 * and the expected "response" from a stored HA1. No I/O, no allocation. */
#ifndef RW_SIPEDGE_DIGEST_H
#define RW_SIPEDGE_DIGEST_H

#include <stddef.h>

typedef enum { RW_DIGEST_MD5 = 0, RW_DIGEST_SHA256 } rw_digest_alg_t;

#define RW_DIGEST_HEX_MAX 65          /* SHA-256 hex + NUL */

/* "MD5" (or NULL/empty: the RFC 2617 default) and "SHA-256", case-insensitive; -1 otherwise. */
int rw_digest_alg_parse(const char *name);
const char *rw_digest_alg_name(rw_digest_alg_t alg);
/* Hex length of the algorithm's hash: 32 or 64. */
size_t rw_digest_hex_len(rw_digest_alg_t alg);

/* HA1 = H(user:realm:password) in hex into out (RW_DIGEST_HEX_MAX bytes). */
void rw_digest_ha1(rw_digest_alg_t alg, const char *user, const char *realm,
                   const char *password, char out[RW_DIGEST_HEX_MAX]);
/* response = H(HA1:nonce:nc:cnonce:qop:H(method:uri)); with qop NULL or "" the RFC 2069 form
 * H(HA1:nonce:H(method:uri)). */
void rw_digest_response(rw_digest_alg_t alg, const char *ha1, const char *nonce, const char *nc,
                        const char *cnonce, const char *qop, const char *method,
                        const char *uri, char out[RW_DIGEST_HEX_MAX]);
/* Equality of two hex strings in time independent of where they differ (case-insensitive). */
int rw_digest_equal(const char *a, const char *b);

#endif
