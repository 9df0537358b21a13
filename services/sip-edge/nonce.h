/* services/sip-edge/nonce.h — stateless digest nonces any sip-edge instance can verify.
 * A nonce is "<time, 8 hex><unique, 8 hex><HMAC-SHA256(secret, time|unique), 24 hex>" (unique:
 * a per-process random start plus a counter, so no two of one process repeat within 2^32): it
 * carries its own issue time and is authenticated with the secret every instance shares, so
 * no instance has to remember the nonces it handed out. Replay of a nonce count is refused
 * elsewhere (auth.c); this module only makes and checks nonces. Pure functions; the _k forms
 * take the secret already keyed into the HMAC (rw_nonce_key_init), which halves the hashing
 * of every nonce made or checked. */
#ifndef RW_SIPEDGE_NONCE_H
#define RW_SIPEDGE_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/hmac.h>

#define RW_NONCE_LEN 40               /* characters, without the NUL */

typedef struct {
    struct hmac_sha256_ctx keyed;     /* the HMAC state after the key, copied for each use */
} rw_nonce_key_t;

/* Keys k with secret; RW_EINVAL for a NULL or empty secret. */
int rw_nonce_key_init(rw_nonce_key_t *k, const char *secret);
/* Writes a fresh nonce for time now_s into out (RW_NONCE_LEN + 1 bytes). 0 or RW_EINVAL. */
int rw_nonce_make(const char *secret, uint64_t now_s, char out[RW_NONCE_LEN + 1]);
void rw_nonce_make_k(const rw_nonce_key_t *k, uint64_t now_s, char out[RW_NONCE_LEN + 1]);
/* Age of a nonce in seconds (0 when issued in the future by a clock up to 5 s ahead),
 * or -1 when it is malformed, forged or issued more than 5 s in the future. */
int64_t rw_nonce_age(const char *secret, const char *nonce, uint64_t now_s);
int64_t rw_nonce_age_k(const rw_nonce_key_t *k, const char *nonce, uint64_t now_s);

#endif
