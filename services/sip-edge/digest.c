/* services/sip-edge/digest.c — digest response arithmetic with nettle's MD5 and SHA-256. */
#include "services/sip-edge/digest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nettle/md5.h>
#include <nettle/sha2.h>

typedef struct {
    rw_digest_alg_t alg;
    union {
        struct md5_ctx md5;
        struct sha256_ctx sha;
    };
} hash_t;

static void h_init(hash_t *h, rw_digest_alg_t alg)
{
    h->alg = alg;
    if (alg == RW_DIGEST_SHA256)
        sha256_init(&h->sha);
    else
        md5_init(&h->md5);
}

static void h_add(hash_t *h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (h->alg == RW_DIGEST_SHA256)
        sha256_update(&h->sha, n, (const uint8_t *) (s ? s : ""));
    else
        md5_update(&h->md5, n, (const uint8_t *) (s ? s : ""));
}

static void h_hex(hash_t *h, char out[RW_DIGEST_HEX_MAX])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    size_t n = h->alg == RW_DIGEST_SHA256 ? SHA256_DIGEST_SIZE : MD5_DIGEST_SIZE;
    if (h->alg == RW_DIGEST_SHA256)
        sha256_digest(&h->sha, n, d);
    else
        md5_digest(&h->md5, n, d);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int rw_digest_alg_parse(const char *name)
{
    if (!name || !*name || !strcasecmp(name, "MD5"))
        return RW_DIGEST_MD5;
    if (!strcasecmp(name, "SHA-256"))
        return RW_DIGEST_SHA256;
    return -1;
}

const char *rw_digest_alg_name(rw_digest_alg_t alg)
{
    return alg == RW_DIGEST_SHA256 ? "SHA-256" : "MD5";
}

size_t rw_digest_hex_len(rw_digest_alg_t alg)
{
    return alg == RW_DIGEST_SHA256 ? 64 : 32;
}

void rw_digest_ha1(rw_digest_alg_t alg, const char *user, const char *realm,
                   const char *password, char out[RW_DIGEST_HEX_MAX])
{
    hash_t h;
    h_init(&h, alg);
    h_add(&h, user);
    h_add(&h, ":");
    h_add(&h, realm);
    h_add(&h, ":");
    h_add(&h, password);
    h_hex(&h, out);
}

void rw_digest_response(rw_digest_alg_t alg, const char *ha1, const char *nonce, const char *nc,
                        const char *cnonce, const char *qop, const char *method,
                        const char *uri, char out[RW_DIGEST_HEX_MAX])
{
    char ha2[RW_DIGEST_HEX_MAX];
    hash_t h;
    h_init(&h, alg);
    h_add(&h, method);
    h_add(&h, ":");
    h_add(&h, uri);
    h_hex(&h, ha2);
    h_init(&h, alg);
    h_add(&h, ha1);
    h_add(&h, ":");
    h_add(&h, nonce);
    h_add(&h, ":");
    if (qop && *qop) {
        h_add(&h, nc);
        h_add(&h, ":");
        h_add(&h, cnonce);
        h_add(&h, ":");
        h_add(&h, qop);
        h_add(&h, ":");
    }
    h_add(&h, ha2);
    h_hex(&h, out);
}

int rw_digest_equal(const char *a, const char *b)
{
    size_t na = a ? strlen(a) : 0, nb = b ? strlen(b) : 0;
    unsigned diff = na != nb || na == 0;
    for (size_t i = 0; i < na && i < nb; i++) {
        unsigned ca = (unsigned char) a[i] | 0x20u, cb = (unsigned char) b[i] | 0x20u;
        diff |= ca ^ cb;
    }
    return diff == 0;
}
