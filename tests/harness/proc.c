/* tests/harness/proc.c — start, probe and stop real processes for tests (see proc.h). */
#include "tests/harness/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ ms / 1000, (long) (ms % 1000) * 1000000L }, NULL);
}

/* The kernel's ephemeral range ("32768 60999"): ports handed to outgoing connections. */
static void ephemeral_range(int *lo, int *hi)
{
    *lo = 32768;
    *hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", lo, hi) != 2) {
            *lo = 32768;
            *hi = 60999;
        }
        fclose(f);
    }
}

static int bindable(int type, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return 0;
    int ok = bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* A port free for both TCP and UDP on 127.0.0.1, chosen below the ephemeral range so that no
 * outgoing connection of another test can take it between this call and the bind of the
 * process it is meant for (tests run in parallel). */
int rw_proc_free_port(void)
{
    static unsigned seed;
    int lo, hi;
    ephemeral_range(&lo, &hi);
    int top = lo > 12000 ? lo - 1 : 65535, bottom = lo > 12000 ? 10000 : (hi < 64000 ? hi + 1 : 10000);
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (unsigned) getpid() * 2654435761u ^ (unsigned) ts.tv_nsec;
    }
    for (int attempt = 0; attempt < 500; attempt++) {
        int port = bottom + (int) (rand_r(&seed) % (unsigned) (top - bottom + 1));
        if (bindable(SOCK_STREAM, (uint16_t) port) && bindable(SOCK_DGRAM, (uint16_t) port))
            return port;
    }
    return -1;
}

pid_t rw_proc_spawn(const char *const *argv, const char *const *env, const char *log_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (log_path) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    for (size_t i = 0; env && env[i]; i++)
        putenv((char *) env[i]);
    /* RINGWAY_WRAP="valgrind --error-exitcode=99 ..." runs every service under that command
     * (`make valgrind`). */
    const char *wrap = getenv("RINGWAY_WRAP");
    if (wrap && *wrap) {
        char *copy = strdup(wrap), *save = NULL;
        const char *args[64];
        size_t n = 0;
        for (char *w = strtok_r(copy, " ", &save); w && n < 48; w = strtok_r(NULL, " ", &save))
            args[n++] = w;
        for (size_t i = 0; argv[i] && n < 63; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execvp(args[0], (char *const *) args);
        _exit(127);
    }
    execvp(argv[0], (char *const *) argv);
    _exit(127);
}

int rw_proc_http_get(int port, const char *path, int *status, char *body, size_t body_len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char buf[65536];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
        goto fail;
    int n = snprintf(buf, sizeof buf, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, buf, (size_t) n) != n)
        goto fail;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t) r;
        if (got == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/%*s %d", status) != 1)
        return -1;
    if (body && body_len) {
        const char *b = strstr(buf, "\r\n\r\n");
        snprintf(body, body_len, "%s", b ? b + 4 : "");
    }
    return 0;
fail:
    close(fd);
    return -1;
}

unsigned rw_proc_wrap_scale(void)
{
    const char *w = getenv("RINGWAY_WRAP"), *s = getenv("RINGWAY_WRAP_SCALE");
    if (!w || !*w)
        return 1;
    long n = s && *s ? strtol(s, NULL, 10) : 10;
    return n >= 1 && n <= 1000 ? (unsigned) n : 10;
}

int rw_proc_wait_http(int port, const char *path, int timeout_ms)
{
    timeout_ms *= (int) rw_proc_wrap_scale();   /* valgrind starts a service that much slower */
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int status = 0;
        if (rw_proc_http_get(port, path, &status, NULL, 0) == 0 && status == 200)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

int rw_proc_stop(pid_t pid, int grace_ms)
{
    int st;
    grace_ms *= (int) rw_proc_wrap_scale();
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    for (int waited = 0; waited <= grace_ms; waited += 10) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

const char *rw_proc_build_path(const char *rel, char *buf, size_t len)
{
    const char *dir = getenv("RINGWAY_BUILD_DIR");
    snprintf(buf, len, "%s/%s", dir ? dir : ".", rel);
    return buf;
}
