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
#define BLOCK 7                          /* instructions per offset scanned */
#define HEAD 5
#define TAIL 22                          /* after the scan: ret, then the branch checks */
#define N_INSNS (HEAD + BLOCK * RW_STEER_SCAN + TAIL)

/* The program sees the UDP payload at offset 0. Loads are big-endian words. */
static int build(struct sock_filter *f)
{
    int n = 0;
    f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
    f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5349502fu /* "SIP/" */, 1, 0);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, HASH);          /* a request */
    f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_ST, 0);                      /* M[0] = length */
    const int found = HEAD + BLOCK * RW_STEER_SCAN + 1;
    for (unsigned off = 8; off < 8 + RW_STEER_SCAN; off++) {
        f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_MEM, 0);
        f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, off + 4, 1, 0);
        f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, HASH);      /* the end: not found */
        f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off);
        f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x7a396847u /* "z9hG" */, 0, 2);
        f[n++] = (struct sock_filter) BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, off);
        f[n] = (struct sock_filter) BPF_STMT(BPF_JMP | BPF_JA, (unsigned) (found - (n + 1)));
        n++;
    }
    f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, HASH);          /* not in the first SCAN bytes */
    /* found: X = offset of "z9hG4bKrw"; index = the two hex digits at X + 11. */
    const int fail = n + 20;
    f[n] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4);
    n++;
    f[n] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x34624b72u /* "4bKr" */, 0, (uint8_t) (fail - (n + 1)));
    n++;
    f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_B | BPF_IND, 8);
    f[n] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'w', 0, (uint8_t) (fail - (n + 1)));
    n++;
    for (int digit = 0; digit < 2; digit++) {
        f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_B | BPF_IND, 11u + (unsigned) digit);
        f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 'a', 2, 0);
        f[n++] = (struct sock_filter) BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, '0');
        f[n++] = (struct sock_filter) BPF_STMT(BPF_JMP | BPF_JA, 1);
        f[n++] = (struct sock_filter) BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 'a' - 10);
        if (digit == 0) {
            f[n++] = (struct sock_filter) BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 4);
            f[n++] = (struct sock_filter) BPF_STMT(BPF_ST, 1);              /* M[1] = high digit << 4 */
        }
    }
    f[n++] = (struct sock_filter) BPF_STMT(BPF_MISC | BPF_TAX, 0);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_MEM, 1);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_ALU | BPF_OR | BPF_X, 0);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_A, 0);
    f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, HASH);          /* fail: another branch */
    return n;
}

int rw_steer_attach(int fd)
{
    struct sock_filter *f = calloc(N_INSNS, sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return -1;
    }
    int n = build(f);
    if (n != N_INSNS) {                  /* the layout constants above are wrong */
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
