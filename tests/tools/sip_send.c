/* tests/tools/sip_send.c — send one SIP message from a file to a SIP server and print the
 * status line it answered with (the first final response, else the last provisional one, else
 * "none"). Used by the torture and scanner tests; never part of a service.
 *
 * Usage: rw-sip-send [-t] [-r] [-w MS] HOST PORT FILE
 *   -t     send over TCP (default UDP, one datagram); the top Via's UDP becomes TCP
 *   -r     raw: send the file's bytes as they are; otherwise each LF becomes CRLF and these
 *          tokens are expanded: @TARGET@ -> HOST:PORT, @RAND@ -> a fresh hex token,
 *          @PAD<n>@ -> n 'a' characters, and "Content-Length: @AUTO@" -> the body's length
 *   -w MS  how long to wait for answers (default 1000)
 * Exit 0 whenever the message was sent (whatever came back), 2 on usage or I/O errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG (1024 * 1024)

typedef struct { char *p; size_t n, cap; } buf_t;

static int put(buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static int expand(buf_t *out, const char *in, size_t n, const char *target)
{
    char tok[40];
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\n') { if (put(out, "\r\n", 2)) return -1; continue; }
        if (in[i] == '@' && !strncmp(in + i, "@TARGET@", 8)) {
            if (put(out, target, strlen(target))) return -1;
            i += 7; continue;
        }
        if (in[i] == '@' && !strncmp(in + i, "@RAND@", 6)) {
            snprintf(tok, sizeof tok, "%08lx%04x", (unsigned long) random(), (unsigned) (random() & 0xffff));
            if (put(out, tok, strlen(tok))) return -1;
            i += 5; continue;
        }
        if (in[i] == '@' && !strncmp(in + i, "@PAD", 4)) {
            char *end; unsigned long k = strtoul(in + i + 4, &end, 10);
            if (*end == '@' && k <= MAX_MSG) {
                for (unsigned long j = 0; j < k; j++) if (put(out, "a", 1)) return -1;
                i = (size_t) (end - in); continue;
            }
        }
        if (put(out, in + i, 1)) return -1;
    }
    return 0;
}

/* Replace "@AUTO@" in the first Content-Length header with the length of the body. */
static int fix_length(buf_t *b)
{
    if (!b->p) return 0;         /* empty file: nothing to fix */
    char *auto_tok = strstr(b->p, "@AUTO@"), *body = strstr(b->p, "\r\n\r\n");
    if (!auto_tok || !body || auto_tok > body) return 0;
    char num[24];
    size_t blen = b->n - (size_t) (body + 4 - b->p);
    int k = snprintf(num, sizeof num, "%zu", blen);
    buf_t o = { 0 };
    if (put(&o, b->p, (size_t) (auto_tok - b->p)) || put(&o, num, (size_t) k)
        || put(&o, auto_tok + 6, b->n - (size_t) (auto_tok + 6 - b->p))) { free(o.p); return -1; }
    free(b->p);
    *b = o;
    return 0;
}

/* Over TCP the top Via must say TCP (RFC 3261 18.1.1; a server may drop a request whose Via
 * transport is not the one it came over): rewrite "SIP/2.0/UDP" in the first Via line. */
static void tcp_via(buf_t *b)
{
    if (!b->p) return;
    char *end = strstr(b->p, "\r\n\r\n");
    for (char *v = strstr(b->p, "\nVia:"); v && (!end || v < end); v = NULL) {
        char *eol = strstr(v + 1, "\r\n"), *u = strstr(v, "SIP/2.0/UDP");
        if (u && (!eol || u < eol)) memcpy(u + 8, "TCP", 3);
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Scan received bytes for status lines; keep the first final one, else the last provisional. */
static void scan(const char *data, size_t n, char *best, size_t best_len, int *final)
{
    for (size_t i = 0; i + 12 <= n; i++) {
        if ((i && data[i - 1] != '\n') || strncmp(data + i, "SIP/2.0 ", 8)) continue;
        size_t e = i;
        while (e < n && data[e] != '\r' && data[e] != '\n') e++;
        if (*final) return;
        size_t len = e - i < best_len - 1 ? e - i : best_len - 1;
        memcpy(best, data + i, len);
        best[len] = '\0';
        if (data[i + 8] >= '2') *final = 1;
    }
}

int main(int argc, char **argv)
{
    int tcp = 0, raw = 0, opt, rc = 2, fd = -1;
    long wait_ms = 1000;
    while ((opt = getopt(argc, argv, "trw:")) != -1) {
        if (opt == 't') tcp = 1;
        else if (opt == 'r') raw = 1;
        else if (opt == 'w') wait_ms = strtol(optarg, NULL, 10);
        else goto usage;
    }
    if (argc - optind != 3) goto usage;
    const char *host = argv[optind], *port = argv[optind + 1], *file = argv[optind + 2];
    char target[128], best[256] = "none", rx[65536];
    int final = 0;
    buf_t in = { 0 }, msg = { 0 };
    snprintf(target, sizeof target, "%s:%s", host, port);
    struct timespec seed;        /* two runs in one second must not repeat Call-ID and branch */
    clock_gettime(CLOCK_REALTIME, &seed);
    srandom((unsigned) (seed.tv_nsec ^ (seed.tv_sec << 20) ^ (getpid() << 8)));

    FILE *f = fopen(file, "rb");
    if (!f) { fprintf(stderr, "sip_send: %s: %s\n", file, strerror(errno)); return 2; }
    size_t got;
    while ((got = fread(rx, 1, sizeof rx, f)) > 0 && in.n < MAX_MSG)
        if (put(&in, rx, got)) break;
    fclose(f);
    if (!in.p && put(&in, "", 0)) goto fail;
    if (raw ? put(&msg, in.p, in.n) : (expand(&msg, in.p, in.n, target) || fix_length(&msg))) goto fail;
    if (tcp && !raw) tcp_via(&msg);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short) atoi(port)) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "sip_send: bad address\n"); goto fail; }
    fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
        fprintf(stderr, "sip_send: connect: %s\n", strerror(errno));
        goto fail;
    }
    size_t off = 0;
    do {   /* UDP: one datagram (may be empty); TCP: the whole stream */
        ssize_t k = send(fd, msg.p + off, msg.n - off, MSG_NOSIGNAL);
        if (k < 0) { fprintf(stderr, "sip_send: send: %s\n", strerror(errno)); break; }
        off += (size_t) k;
    } while (tcp && off < msg.n);

    long end = now_ms() + wait_ms;
    size_t have = 0;
    while (!final && now_ms() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int) (end - now_ms())) <= 0) break;
        ssize_t k = recv(fd, rx + (tcp ? have : 0), sizeof rx - 1 - (tcp ? have : 0), 0);
        if (k <= 0) break;       /* closed, or ICMP port unreachable: nothing listens */
        if (tcp) { have += (size_t) k; scan(rx, have, best, sizeof best, &final); if (have >= sizeof rx - 1) have = 0; }
        else scan(rx, (size_t) k, best, sizeof best, &final);
    }
    printf("%s\n", best);
    rc = 0;
fail:
    if (fd >= 0) close(fd);
    free(in.p);
    free(msg.p);
    return rc;
usage:
    fprintf(stderr, "usage: rw-sip-send [-t] [-r] [-w MS] HOST PORT FILE\n");
    return 2;
}
