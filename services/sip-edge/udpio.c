/* services/sip-edge/udpio.c — Sofia's UDP I/O on the lean path (udpio.h). These definitions
 * replace libsofia's su_getmsgsize, su_vrecv, su_soerror and su_vsend in the executables that
 * link this file; for a socket not on the lean path each does what libsofia's does (Debian's
 * build: one ioctl, recvmsg, getsockopt or sendmsg). */
#include "services/sip-edge/udpio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <sofia-sip/su.h>

#define DGRAM_MAX 65536               /* larger than any UDP payload: never truncated */

typedef struct {
    int fd;
    int have;                         /* a datagram is waiting in buf */
    size_t len;
    struct sockaddr_storage from;
    socklen_t fromlen;
    unsigned char *buf;
} lean_t;

static lean_t lean[RW_UDPIO_MAX];
static int n_lean;
static rw_udpio_filter_fn *filter;
static void *filter_arg;

void rw_udpio_set_filter(rw_udpio_filter_fn *fn, void *arg)
{
    filter = fn;
    filter_arg = fn ? arg : NULL;
}

static lean_t *lean_of(int fd)
{
    for (int i = 0; i < n_lean; i++)
        if (lean[i].fd == fd)
            return &lean[i];
    return NULL;
}

int rw_udpio_lean(const int *fds, int n)
{
    if (n < 0 || n_lean + n > RW_UDPIO_MAX)
        return -1;
    unsigned char *bufs[RW_UDPIO_MAX] = { 0 };
    for (int i = 0; i < n; i++)
        if (!(bufs[i] = malloc(DGRAM_MAX))) {
            for (int k = 0; k < i; k++)
                free(bufs[k]);
            return -1;
        }
    for (int i = 0; i < n; i++) {
        if (lean_of(fds[i])) {
            free(bufs[i]);
            continue;
        }
        lean[n_lean] = (lean_t) { .fd = fds[i], .buf = bufs[i] };
        n_lean++;
    }
    return 0;
}

void rw_udpio_reset(void)
{
    for (int i = 0; i < n_lean; i++)
        free(lean[i].buf);
    memset(lean, 0, sizeof lean);
    n_lean = 0;
    rw_udpio_set_filter(NULL, NULL);
}

int rw_udpio_count(void)
{
    return n_lean;
}

issize_t su_getmsgsize(su_socket_t s)
{
    lean_t *l = lean_of(s);
    if (!l) {
        int n = -1;
        if (ioctl(s, FIONREAD, &n) == -1)
            return -1;
        return (issize_t) n;
    }
    if (l->have)
        return (issize_t) l->len;
    /* Never answer 0 while datagrams may wait: Sofia then reads one byte of the next and
     * drops it. Past the bound of empty datagrams, EAGAIN: Sofia tries again at the loop's
     * next turn; past the bound of filtered ones, the datagram goes to Sofia unfiltered. */
    for (int i = 0, empty = 0;;) {
        if (empty == RW_UDPIO_FILTERED) {
            errno = EAGAIN;
            return -1;
        }
        struct iovec iov = { l->buf, DGRAM_MAX };
        struct msghdr h = { .msg_name = &l->from, .msg_namelen = sizeof l->from, .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = recvmsg(s, &h, MSG_DONTWAIT);
        if (n < 0)                    /* nothing waiting reads as 0, as FIONREAD says */
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (n == 0) {
            empty++;                  /* a zero-length datagram */
            continue;
        }
        if (filter && i < RW_UDPIO_FILTERED
            && filter(filter_arg, s, l->buf, (size_t) n, (struct sockaddr *) &l->from, h.msg_namelen)) {
            i++;
            continue;
        }
        l->have = 1;
        l->len = (size_t) n;
        l->fromlen = h.msg_namelen;
        return (issize_t) n;
    }
}

issize_t su_vrecv(su_socket_t s, su_iovec_t iov[], isize_t iovlen, int flags, su_sockaddr_t *su, socklen_t *sulen)
{
    lean_t *l = lean_of(s);
    if (!l || !l->have || flags) {
        struct msghdr h = { .msg_name = su, .msg_iov = (struct iovec *) iov, .msg_iovlen = iovlen };
        if (su && sulen)
            h.msg_namelen = *sulen;
        ssize_t n = recvmsg(s, &h, flags);
        if (su && sulen)
            *sulen = h.msg_namelen;
        return n;
    }
    size_t at = 0;
    for (isize_t i = 0; i < iovlen && at < l->len; i++) {
        size_t k = l->len - at < iov[i].siv_len ? l->len - at : iov[i].siv_len;
        memcpy(iov[i].siv_base, l->buf + at, k);
        at += k;
    }
    if (su && sulen) {
        memcpy(su, &l->from, *sulen < l->fromlen ? *sulen : l->fromlen);
        *sulen = l->fromlen;
    }
    l->have = 0;
    return (issize_t) at;
}

int su_soerror(su_socket_t s)
{
    if (lean_of(s))
        return 0;                     /* su_vsend clears a pending error itself */
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &len);
    return error;
}

issize_t su_vsend(su_socket_t s, su_iovec_t const iov[], isize_t iovlen, int flags, su_sockaddr_t const *su,
                  socklen_t sulen)
{
    struct msghdr h = { .msg_name = (void *) su, .msg_namelen = sulen, .msg_iov = (struct iovec *) iov,
                        .msg_iovlen = iovlen };
    ssize_t n = sendmsg(s, &h, flags);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && lean_of(s))
        n = sendmsg(s, &h, flags);    /* the first try took a pending error; a real one fails again */
    return n;
}
