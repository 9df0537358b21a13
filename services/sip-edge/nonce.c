/* services/sip-edge/nonce.c — stateless digest nonces (time + random + HMAC-SHA256). */
#include "services/sip-edge/nonce.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

#define MAC_HEX 24                    /* 12 bytes of the HMAC */

static const char HEX[] = "0123456789abcdef";

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[b[i] >> 4];
        out[2 * i + 1] = HEX[b[i] & 15];
    }
}

static void mac_hex(const rw_nonce_key_t *k, const char *head, char out[MAC_HEX + 1])
{
    struct hmac_sha256_ctx ctx = k->keyed;
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_update(&ctx, 16, (const uint8_t *) head);
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    hex(digest, MAC_HEX / 2, out);
    out[MAC_HEX] = '\0';
}

int rw_nonce_key_init(rw_nonce_key_t *k, const char *secret)
{
    if (!k || !secret || !*secret)
        return RW_EINVAL;
    hmac_sha256_set_key(&k->keyed, strlen(secret), (const uint8_t *) secret);
    return RW_OK;
}

/* The nonce's middle: a per-process random start plus a counter. Within a process no two
 * nonces of one second share it (2^32 before it wraps); processes start far apart at random.
 * Drawing 32 random bits per nonce instead cost a system call each and let two nonces of
 * the same second collide (birthday: ~1 % of seconds at 10,000 challenges/s). The HMAC, not
 * this part, makes a nonce unforgeable. */
static uint32_t next_middle(void)
{
    static _Thread_local uint32_t base, count;
    static _Thread_local pid_t owner;
    pid_t pid = getpid();             /* a fork child starts a series of its own */
    if (owner != pid) {
        if (getrandom(&base, sizeof base, GRND_NONBLOCK) != (ssize_t) sizeof base)
            base = (uint32_t) rw_clock_mono_us() ^ ((uint32_t) pid << 16);
        owner = pid, count = 0;
    }
    return base + count++;
}

void rw_nonce_make_k(const rw_nonce_key_t *k, uint64_t now_s, char out[RW_NONCE_LEN + 1])
{
    uint32_t rnd = next_middle();
    uint8_t head[8];
    uint32_t t = (uint32_t) now_s;
    for (int i = 0; i < 4; i++) {                 /* big-endian: "%08x%08x" */
        head[i] = (uint8_t) (t >> (24 - 8 * i));
        head[4 + i] = (uint8_t) (rnd >> (24 - 8 * i));
    }
    hex(head, sizeof head, out);
    mac_hex(k, out, out + 16);
}

int rw_nonce_make(const char *secret, uint64_t now_s, char out[RW_NONCE_LEN + 1])
{
    rw_nonce_key_t k;
    if (!out || rw_nonce_key_init(&k, secret) < 0)
        return RW_EINVAL;
    rw_nonce_make_k(&k, now_s, out);
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

int64_t rw_nonce_age_k(const rw_nonce_key_t *k, const char *nonce, uint64_t now_s)
{
    char head[17], mac[MAC_HEX + 1];
    unsigned diff = 0;
    if (!k || !nonce || strlen(nonce) != RW_NONCE_LEN || !hexdigits(nonce, RW_NONCE_LEN))
        return -1;
    memcpy(head, nonce, 16);
    head[16] = '\0';
    mac_hex(k, head, mac);
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

int64_t rw_nonce_age(const char *secret, const char *nonce, uint64_t now_s)
{
    rw_nonce_key_t k;
    if (rw_nonce_key_init(&k, secret) < 0)
        return -1;
    return rw_nonce_age_k(&k, nonce, now_s);
}
