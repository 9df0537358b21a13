/* tests/harness/sipraw.c — raw SIP over UDP for unit tests (see sipraw.h). */
#include "tests/harness/sipraw.h"
#include "common/clock.h"
#include "tests/harness/proc.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int rw_sipraw_await(su_root_t *root, int fd, const char *start, int ms, char *buf, size_t len,
                    struct sockaddr_in *from)
{
    uint64_t end = rw_clock_mono_ms() + (uint64_t) ms * (uint64_t) rw_proc_wrap_scale();
    while (rw_clock_mono_ms() < end) {
        su_root_step(root, 5);
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 0) != 1)
            continue;
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        ssize_t n = recvfrom(fd, buf, len - 1, 0, (struct sockaddr *) &sa, &sl);
        buf[n > 0 ? n : 0] = '\0';
        if (!strncmp(buf, start, strlen(start))) {
            if (from)
                *from = sa;
            return 1;
        }
    }
    return 0;
}

void rw_sipraw_header(const char *raw, const char *name, char *out, size_t len)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *h = strcasestr(raw, key);
    out[0] = '\0';
    if (!h)
        return;
    h += strlen(key);
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    snprintf(out, len, "%.*s", (int) (n < len ? n : len - 1), h);
}
