/* services/sip-edge/reuseport.c — SO_REUSEPORT for the SIP port's sockets (reuseport.h).
 * bind() here replaces libc's for the whole process; the real one is found once with
 * dlsym(RTLD_NEXT). Kept to the one option and the one port: a bind() that is not ours is
 * passed through byte for byte, errno included. */
#include "services/sip-edge/reuseport.h"
#include "services/sip-edge/steer.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

typedef int bind_fn(int, const struct sockaddr *, socklen_t);

static atomic_uint shared_port;
static atomic_uint tracked_port;
static atomic_int tracked_fds[RW_REUSEPORT_TRACKED_MAX];
static atomic_int n_tracked;
static atomic_int steer_responses, steer_state, steer_errno;
static atomic_uint steer_spread;

void rw_reuseport_track(unsigned port)
{
    atomic_store(&tracked_port, port <= 65535 ? port : 0);
}

int rw_reuseport_udp_fds(int *fds, int max)
{
    int n = atomic_load(&n_tracked);
    n = n < max ? n : max;
    for (int i = 0; i < n; i++)
        fds[i] = atomic_load(&tracked_fds[i]);
    return n;
}

static int is_datagram(int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

/* Remembers fd when it is a datagram socket (after a successful bind to the tracked port). */
static void track(int fd)
{
    if (!is_datagram(fd))
        return;
    int i = atomic_load(&n_tracked);
    if (i < RW_REUSEPORT_TRACKED_MAX) {
        atomic_store(&tracked_fds[i], fd);
        atomic_store(&n_tracked, i + 1);
    }
}

void rw_reuseport_steer(int on, unsigned spread)
{
    atomic_store(&steer_spread, spread);
    atomic_store(&steer_responses, on != 0);
}

int rw_reuseport_steered(int *err)
{
    if (err)
        *err = atomic_load(&steer_errno);
    return atomic_load(&steer_state);
}

/* After a successful bind of a socket to the shared port: a datagram socket gets the steering
 * program (the group's others are unchanged by a failure: they keep the hash). IPv6 spreads
 * requests only: the workers learn their indices in the IPv4 group, which their branches
 * carry; a failure there leaves that group to the hash and is not reported. */
static void steer(int fd, const struct sockaddr *addr)
{
    int v4 = addr->sa_family == AF_INET;
    if ((!v4 && addr->sa_family != AF_INET6) || !is_datagram(fd))
        return;
    unsigned spread = atomic_load(&steer_spread);
    int responses = v4 && atomic_load(&steer_responses);
    if (!responses && spread < 2)
        return;
    int rc = rw_steer_attach(fd, spread, responses);
    if (!v4)
        return;
    if (rc == 0) {
        atomic_store(&steer_state, 1);
    } else {
        atomic_store(&steer_errno, errno);
        atomic_store(&steer_state, -1);
    }
}

void rw_reuseport_enable(unsigned port)
{
    atomic_store(&shared_port, port <= 65535 ? port : 0);
}

unsigned rw_reuseport_port(void)
{
    return atomic_load(&shared_port);
}

static unsigned port_of(const struct sockaddr *addr, socklen_t len)
{
    if (!addr)
        return 0;
    if (addr->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *) addr)->sin_port);
    if (addr->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *) addr)->sin6_port);
    return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    static _Atomic(bind_fn *) next_bind;
    bind_fn *real_bind = atomic_load(&next_bind);
    if (!real_bind) {
        real_bind = (bind_fn *) dlsym(RTLD_NEXT, "bind");
        if (!real_bind) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store(&next_bind, real_bind);
    }
    unsigned port = atomic_load(&shared_port);
    if (port && port_of(addr, len) == port) {
        int on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
            return -1;
    }
    int rc = real_bind(fd, addr, len);
    if (rc == 0 && port && port_of(addr, len) == port) {
        int saved = errno;
        steer(fd, addr);
        errno = saved;
    }
    unsigned tracked = atomic_load(&tracked_port);
    if (rc == 0 && tracked && port_of(addr, len) == tracked)
        track(fd);
    return rc;
}
