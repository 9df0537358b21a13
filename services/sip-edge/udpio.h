/* services/sip-edge/udpio.h — Sofia-SIP's UDP datagram I/O with two system calls fewer per
 * datagram on the SIP port's sockets.
 * Sofia asks the kernel for a datagram's size (ioctl FIONREAD, su_getmsgsize) before every
 * read, and clears the socket's pending error (getsockopt SO_ERROR, su_soerror) before every
 * send: 13 of sip-edge's ~43 system calls per call. The executable defines su_getmsgsize,
 * su_vrecv, su_soerror and su_vsend (exported with -Wl,--export-dynamic-symbol, so libsofia's
 * calls land here, as pidcache.h does for getpid). For the sockets given to rw_udpio_lean():
 *   - su_getmsgsize reads the next datagram itself (recvmsg, non-blocking) into a buffer of the
 *     socket's and returns its size (0: none waiting; zero-length datagrams are skipped, and
 *     those a filter consumes, rw_udpio_set_filter); the su_vrecv that follows copies it out
 *     with its source address, with no system call;
 *   - su_soerror answers 0 without asking; su_vsend, when a send fails with anything but
 *     EAGAIN/EINTR, sends once more: a pending error (an ICMP error of an earlier datagram,
 *     reported through IP_RECVERR's error queue all the same) fails the first try and is
 *     cleared by it, as the getsockopt cleared it before. A real error fails both.
 * Every other socket (TCP, TLS, sockets not given) takes Sofia's own path byte for byte.
 * The sockets are read and written on the thread running Sofia's loop only. */
#ifndef RW_SIPEDGE_UDPIO_H
#define RW_SIPEDGE_UDPIO_H

#include <stddef.h>
#include <sys/socket.h>

#define RW_UDPIO_MAX 8

/* Takes these datagram sockets (at most RW_UDPIO_MAX in all) onto the lean path; 0, or -1
 * when a buffer cannot be allocated (nothing is changed then). */
int rw_udpio_lean(const int *fds, int n);
/* Gives every socket back to Sofia's own path, dropping a datagram read but not yet taken,
 * and removes the filter (call before the sockets close). */
void rw_udpio_reset(void);
/* How many sockets are on the lean path. */
int rw_udpio_count(void);

/* A look at each datagram read on the lean path before Sofia gets it: 1 when fn consumed it
 * (answered or dropped it itself; it is never given to Sofia), 0 to pass it on. At most
 * RW_UDPIO_FILTERED datagrams are consumed per size query; the next one goes to Sofia
 * unlooked-at. (As many zero-length datagrams in a row answer -1/EAGAIN: Sofia reads again at
 * the loop's next turn.) fn NULL: none (the default). */
#define RW_UDPIO_FILTERED 64
typedef int rw_udpio_filter_fn(void *arg, int fd, const unsigned char *buf, size_t len,
                               const struct sockaddr *from, socklen_t fromlen);
void rw_udpio_set_filter(rw_udpio_filter_fn *fn, void *arg);

#endif
