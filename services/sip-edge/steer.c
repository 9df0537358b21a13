/* services/sip-edge/steer.c — the reuseport program and the index probes (steer.h). */
#include "services/sip-edge/steer.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define HASH 0xffffffffu                 /* an index past the group: the kernel's hash */
#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u
#define MIX 0x45d9f3bu

/* Scratch memory of the program. */
enum { M_LEN, M_HIGH, M_WORD0, M_HASH, M_BASE };

#define STMT(code, k) ((struct sock_filter) BPF_STMT((code), (k)))
#define JUMP(code, k, jt, jf) ((struct sock_filter) BPF_JUMP((code), (k), (jt), (jf)))

/* Appends to f (room for BPF_MAXINSNS) the request part: X = offset of "z9hG"; the branch's
 * hash modulo spread (rw_steer_request_index() is the same in C), or the kernel's hash when
 * the word is not "z9hG4bK". */
static int build_request(struct sock_filter *f, int n, unsigned spread)
{
    f[n++] = STMT(BPF_LD | BPF_W | BPF_IND, 4);
    f[n++] = STMT(BPF_ALU | BPF_AND | BPF_K, 0xffffff00u);
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x34624b00u /* "4bK" */, 1, 0);
    f[n++] = STMT(BPF_RET | BPF_K, HASH);
    f[n++] = STMT(BPF_STX, M_BASE);
    f[n++] = STMT(BPF_LD | BPF_IMM, FNV_BASIS);
    f[n++] = STMT(BPF_ST, M_HASH);
    const int per_byte = 13;
    const int end = n + per_byte * RW_STEER_HASHED;
    for (unsigned k = 0; k < RW_STEER_HASHED; k++) {
        f[n++] = STMT(BPF_LDX | BPF_MEM, M_BASE);
        f[n++] = STMT(BPF_LD | BPF_B | BPF_IND, 7u + k);
        f[n++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, 0x20, 1, 0);           /* white space, CR: the end */
        f[n] = STMT(BPF_JMP | BPF_JA, (unsigned) (end - (n + 1)));
        n++;
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ';', 0, 1);
        f[n] = STMT(BPF_JMP | BPF_JA, (unsigned) (end - (n + 1)));
        n++;
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ',', 0, 1);
        f[n] = STMT(BPF_JMP | BPF_JA, (unsigned) (end - (n + 1)));
        n++;
        f[n++] = STMT(BPF_MISC | BPF_TAX, 0);
        f[n++] = STMT(BPF_LD | BPF_MEM, M_HASH);
        f[n++] = STMT(BPF_ALU | BPF_XOR | BPF_X, 0);                    /* FNV-1a */
        f[n++] = STMT(BPF_ALU | BPF_MUL | BPF_K, FNV_PRIME);
        f[n++] = STMT(BPF_ST, M_HASH);
    }
    for (int round = 0; round < 2; round++) {   /* h ^= h >> 16; h *= MIX; h ^= h >> 16 */
        f[n++] = STMT(BPF_LD | BPF_MEM, M_HASH);
        f[n++] = STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
        f[n++] = STMT(BPF_MISC | BPF_TAX, 0);
        f[n++] = STMT(BPF_LD | BPF_MEM, M_HASH);
        f[n++] = STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
        if (round == 0) {
            f[n++] = STMT(BPF_ALU | BPF_MUL | BPF_K, MIX);
            f[n++] = STMT(BPF_ST, M_HASH);
        }
    }
    f[n++] = STMT(BPF_ALU | BPF_MOD | BPF_K, spread);
    f[n++] = STMT(BPF_RET | BPF_A, 0);
    return n;
}

/* Appends the response part: X = offset of "z9hG"; index = the two hex digits at X + 11 when
 * the branch is "z9hG4bKrw", else the kernel's hash. */
static int build_response(struct sock_filter *f, int n)
{
    const int fail = n + 20;
    f[n] = STMT(BPF_LD | BPF_W | BPF_IND, 4);
    n++;
    f[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x34624b72u /* "4bKr" */, 0, (uint8_t) (fail - (n + 1)));
    n++;
    f[n++] = STMT(BPF_LD | BPF_B | BPF_IND, 8);
    f[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'w', 0, (uint8_t) (fail - (n + 1)));
    n++;
    for (int digit = 0; digit < 2; digit++) {
        f[n++] = STMT(BPF_LD | BPF_B | BPF_IND, 11u + (unsigned) digit);
        f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 'a', 2, 0);
        f[n++] = STMT(BPF_ALU | BPF_SUB | BPF_K, '0');
        f[n++] = STMT(BPF_JMP | BPF_JA, 1);
        f[n++] = STMT(BPF_ALU | BPF_SUB | BPF_K, 'a' - 10);
        if (digit == 0) {
            f[n++] = STMT(BPF_ALU | BPF_LSH | BPF_K, 4);
            f[n++] = STMT(BPF_ST, M_HIGH);                              /* high digit << 4 */
        }
    }
    f[n++] = STMT(BPF_MISC | BPF_TAX, 0);
    f[n++] = STMT(BPF_LD | BPF_MEM, M_HIGH);
    f[n++] = STMT(BPF_ALU | BPF_OR | BPF_X, 0);
    f[n++] = STMT(BPF_RET | BPF_A, 0);
    f[n++] = STMT(BPF_RET | BPF_K, HASH);                               /* fail: another branch */
    return n;
}

/* The program sees the UDP payload at offset 0. Loads are big-endian words. One scan finds the
 * first "z9hG" within RW_STEER_SCAN bytes, then the first word tells a response ("SIP/") from
 * a request. */
static int build(struct sock_filter *f, unsigned spread, int responses)
{
    int n = 0;
    f[n++] = STMT(BPF_LD | BPF_W | BPF_LEN, 0);
    f[n++] = STMT(BPF_ST, M_LEN);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, 0);
    f[n++] = STMT(BPF_ST, M_WORD0);
    if (!responses) {                           /* responses keep the hash: no scan for them */
        if (spread < 2)
            return -1;                          /* nothing left to do */
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5349502fu /* "SIP/" */, 0, 1);
        f[n++] = STMT(BPF_RET | BPF_K, HASH);
    }
    if (spread < 2) {                           /* requests keep the hash: no scan for them */
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5349502fu /* "SIP/" */, 1, 0);
        f[n++] = STMT(BPF_RET | BPF_K, HASH);
    } else {                                    /* a subscription lives in one worker: its */
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x53554253u /* "SUBS" */, 0, 1);   /* refreshes */
        f[n++] = STMT(BPF_RET | BPF_K, HASH);   /* must come back to it, as the hash brings them */
    }
    const int block = 7;
    const int found = n + block * RW_STEER_SCAN + 1;
    for (unsigned off = 8; off < 8 + RW_STEER_SCAN; off++) {
        f[n++] = STMT(BPF_LD | BPF_MEM, M_LEN);
        f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, off + 4, 1, 0);
        f[n++] = STMT(BPF_RET | BPF_K, HASH);                           /* the end: not found */
        f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, off);
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x7a396847u /* "z9hG" */, 0, 2);
        f[n++] = STMT(BPF_LDX | BPF_W | BPF_IMM, off);
        f[n] = STMT(BPF_JMP | BPF_JA, (unsigned) (found - (n + 1)));
        n++;
    }
    f[n++] = STMT(BPF_RET | BPF_K, HASH);                               /* not in the first SCAN bytes */
    if (n != found)
        return -1;
    if (spread < 2)
        return build_response(f, n);
    if (!responses)
        return build_request(f, n, spread);
    f[n++] = STMT(BPF_LD | BPF_MEM, M_WORD0);
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5349502fu /* "SIP/" */, 0, 1);
    f[n++] = STMT(BPF_JMP | BPF_JA, 0);          /* patched below: to the response part */
    const int ja = n - 1;
    n = build_request(f, n, spread);
    f[ja].k = (unsigned) (n - (ja + 1));
    return build_response(f, n);
}

int rw_steer_attach(int fd, unsigned spread, int responses)
{
    if (spread > RW_STEER_UNKNOWN) {
        errno = EINVAL;
        return -1;
    }
    struct sock_filter *f = calloc(BPF_MAXINSNS + 64, sizeof *f);   /* the builder checks after */
    if (!f) {
        errno = ENOMEM;
        return -1;
    }
    int n = build(f, spread, responses);
    if (n <= 0 || n > BPF_MAXINSNS) {    /* the layout constants are wrong */
        free(f);
        errno = EINVAL;
        return -1;
    }
    struct sock_fprog prog;
    memset(&prog, 0, sizeof prog);       /* the padding after len goes to the kernel too */
    prog.len = (unsigned short) n;
    prog.filter = f;
    int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
    int err = errno;
    free(f);
    errno = err;
    return rc == 0 ? 0 : -1;
}

unsigned rw_steer_request_index(const char *branch, unsigned spread)
{
    if (spread < 2 || !branch || strncmp(branch, "z9hG4bK", 7) != 0)
        return RW_STEER_UNKNOWN;
    uint32_t h = FNV_BASIS;
    for (unsigned k = 0; k < RW_STEER_HASHED; k++) {
        unsigned char c = (unsigned char) branch[7 + k];
        if (c <= 0x20 || c == ';' || c == ',')
            break;
        h = (h ^ c) * FNV_PRIME;
    }
    h ^= h >> 16;
    h *= MIX;
    h ^= h >> 16;
    return h % spread;
}
size_t rw_steer_probe(char *buf, size_t len, unsigned worker, unsigned k, uint64_t nonce)
{
    int n = snprintf(buf, len,
                     "SIP/2.0 200 OK\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKrw%02x%02x.steer%016" PRIx64 "\r\n"
                     "From: <sip:steer@127.0.0.1>;tag=steer\r\n"
                     "To: <sip:steer@127.0.0.1>;tag=steer\r\n"
                     "Call-ID: steer-%016" PRIx64 "\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n",
                     worker & 0xffu, k & 0xffu, nonce, nonce);
    return n > 0 && (size_t) n < len ? (size_t) n : 0;
}

static int hex2(const char *s, unsigned *v)
{
    unsigned r = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            r = r * 16 + (unsigned) (c - '0');
        else if (c >= 'a' && c <= 'f')
            r = r * 16 + (unsigned) (c - 'a' + 10);
        else
            return -1;
    }
    *v = r;
    return 0;
}

int rw_steer_probe_parse(const char *branch, unsigned *worker, unsigned *k, uint64_t *nonce)
{
    if (!branch || strncmp(branch, "z9hG4bKrw", 9) != 0 || hex2(branch + 9, worker) || hex2(branch + 11, k)
        || strncmp(branch + 13, ".steer", 6) != 0)
        return 0;
    const char *h = branch + 19;
    if (strspn(h, "0123456789abcdef") != 16 || h[16])
        return 0;
    *nonce = strtoull(h, NULL, 16);
    return 1;
}
