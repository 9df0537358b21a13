/* services/sip-edge/workers_run.c — the supervisor's run file (workers_run.h): a few lines of
 * text, read once when a supervisor starts and rewritten whenever one of its workers starts or
 * ends. The flock, not the file's existence, says whether a supervisor lives: the kernel drops
 * it with the process, however that ends. */
#include "services/sip-edge/workers_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

#define RUN_TEXT_MAX 8192

struct rw_run_file {
    int fd;
    char path[4096];
};

int rw_run_file_parse(const char *text, char *relay, size_t relay_len, rw_worker_rec_t *recs,
                      unsigned max)
{
    int named = 0;
    if (relay_len)
        relay[0] = '\0';
    for (unsigned i = 0; i < max; i++)
        recs[i] = (rw_worker_rec_t) { 0, 0 };
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t) (eol - line) : strlen(line);
        char buf[512];
        unsigned index;
        int pid, used = 0;
        unsigned long long start;
        if (n < sizeof buf) {
            memcpy(buf, line, n);
            buf[n] = '\0';
            if (!strncmp(buf, "relay ", 6) && n - 6 < relay_len
                && strspn(buf + 6, "0123456789,") == n - 6)
                memcpy(relay, buf + 6, n - 6 + 1);
            else if (sscanf(buf, "worker %u %d %llu%n", &index, &pid, &start, &used) == 3
                     && (size_t) used == n && index < max && pid > 1 && start > 0 && !recs[index].pid) {
                recs[index] = (rw_worker_rec_t) { pid, start };
                named++;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return named;
}

unsigned long long rw_run_file_proc_start(int pid)
{
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return 0;
    stat[n] = '\0';
    /* "pid (comm) state ppid ... starttime": comm may hold spaces and ')', so from the last ')'. */
    char *p = strrchr(stat, ')');
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == '\0')
        return 0;
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        p = p ? p + 1 : NULL;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

int rw_run_file_open(const char *dir, const char *addr, long port, rw_run_file_t **out)
{
    rw_run_file_t *self = calloc(1, sizeof *self);
    int rc = RW_ENOMEM;
    *out = NULL;
    if (!self)
        return rc;
    self->fd = -1;
    int n = snprintf(self->path, sizeof self->path, "%s/ringway-sip-edge-%s-%ld.run", dir, addr, port);
    if (n < 0 || (size_t) n >= sizeof self->path) {
        rw_log_error("run_file_failed", RW_S("dir", dir), RW_S("error", "path too long"));
        rc = RW_ERANGE;
        goto fail;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rw_log_warn("run_dir_failed", RW_S("dir", dir), RW_S("error", strerror(errno)));
    self->fd = open(self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->fd < 0) {
        rw_log_error("run_file_failed", RW_S("path", self->path), RW_S("error", strerror(errno)));
        rc = RW_EIO;
        goto fail;
    }
    if (flock(self->fd, LOCK_EX | LOCK_NB) != 0) {
        rw_log_error("supervisor_already_running", RW_S("path", self->path),
                     RW_S("error", errno == EWOULDBLOCK ? "another supervisor holds the run file" : strerror(errno)));
        rc = errno == EWOULDBLOCK ? RW_EEXIST : RW_EIO;
        goto fail;
    }
    *out = self;
    return 0;
fail:
    rw_run_file_destroy(&self, 0);
    return rc;
}

const char *rw_run_file_path(const rw_run_file_t *self)
{
    return self->path;
}

int rw_run_file_read(rw_run_file_t *self, char *relay, size_t relay_len, rw_worker_rec_t *recs,
                     unsigned max)
{
    char text[RUN_TEXT_MAX];
    ssize_t len = pread(self->fd, text, sizeof text - 1, 0);
    text[len > 0 ? len : 0] = '\0';
    return rw_run_file_parse(text, relay, relay_len, recs, max);
}

void rw_run_file_write(rw_run_file_t *self, const char *relay, const rw_worker_rec_t *recs, unsigned n)
{
    char text[RUN_TEXT_MAX];
    size_t off = (size_t) snprintf(text, sizeof text, "relay %s\n", relay);
    for (unsigned i = 0; i < n && off < sizeof text; i++)
        if (recs[i].pid)
            off += (size_t) snprintf(text + off, sizeof text - off, "worker %u %d %llu\n", i,
                                     recs[i].pid, recs[i].start);
    if (off >= sizeof text)
        return;
    /* Over the old text, then cut to length: a reader never finds the file empty. */
    if (pwrite(self->fd, text, off, 0) != (ssize_t) off || ftruncate(self->fd, (off_t) off) != 0)
        rw_log_warn("run_file_failed", RW_S("path", self->path), RW_S("error", strerror(errno)));
}

void rw_run_file_destroy(rw_run_file_t **selfp, int remove)
{
    rw_run_file_t *self = *selfp;
    if (!self)
        return;
    if (remove && self->fd >= 0 && ftruncate(self->fd, 0) == 0)
        unlink(self->path);
    if (self->fd >= 0)
        close(self->fd);
    free(self);
    *selfp = NULL;
}
