/* services/sip-edge/nonce.c — stateless digest nonces (time + random + HMAC-SHA256). */
#include "services/sip-edge/nonce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/hmac.h>

#include "common/clock.h"
#include "common/err.h"

#define MAC_HEX 24                    /* 12 bytes of the HMAC */

static void mac_hex(const char *secret, const char *head, char out[MAC_HEX + 1])
{
    struct hmac_sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, strlen(secret), (const uint8_t *) secret);
    hmac_sha256_update(&ctx, 16, (const uint8_t *) head);
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < MAC_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int rw_nonce_make(const char *secret, uint64_t now_s, char out[RW_NONCE_LEN + 1])
{
    uint32_t rnd = 0;
    if (!secret || !*secret || !out)
        return RW_EINVAL;
    if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t) sizeof rnd)
        rnd = (uint32_t) rw_clock_mono_us();      /* uniqueness only: the HMAC gives integrity */
    snprintf(out, 17, "%08x%08x", (uint32_t) now_s, rnd);
    mac_hex(secret, out, out + 16);
    return RW_OK;
}

static int hexdigits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int64_t rw_nonce_age(const char *secret, const char *nonce, uint64_t now_s)
{
    char head[17], mac[MAC_HEX + 1];
    unsigned diff = 0;
    if (!secret || !*secret || !nonce || strlen(nonce) != RW_NONCE_LEN
        || !hexdigits(nonce, RW_NONCE_LEN))
        return -1;
    memcpy(head, nonce, 16);
    head[16] = '\0';
    mac_hex(secret, head, mac);
    for (int i = 0; i < MAC_HEX; i++)          /* constant time */
        diff |= (unsigned) (mac[i] ^ nonce[16 + i]);
    if (diff)
        return -1;
    head[8] = '\0';
    uint32_t ts = (uint32_t) strtoul(head, NULL, 16);
    uint32_t now = (uint32_t) now_s;
    int64_t age = (int64_t) (int32_t) (now - ts); /* wraps correctly across 2106 */
    if (age < -5)
        return -1;
    return age < 0 ? 0 : age;
}
