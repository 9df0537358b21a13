/* tests/harness/redis_fixture.c — a real redis-server per test (see redis_fixture.h). */
#include "tests/harness/redis_fixture.h"
#include "tests/harness/proc.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

static int ping_ok(int port)
{
    struct timeval tv = { 0, 200000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static int spawn_on(rw_redis_fixture_t *f)
{
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", f->port);
    snprintf(log, sizeof log, "%s/redis.log", f->dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--dir", f->dir, "--logfile", "",
               "--loglevel", "warning", (char *) NULL);
        _exit(127);
    }
    f->pid = pid;
    for (int i = 0; i < 100; i++) {  /* up to 5 s */
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            return -1;               /* died: port taken */
        }
        if (ping_ok(f->port))
            return 0;
        nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    f->pid = 0;
    return -1;
}

int rw_redis_fixture_start(rw_redis_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/rw-redis-XXXXXX", P_tmpdir);
    if (!mkdtemp(f->dir))
        return -1;
    for (int attempt = 0; attempt < 10; attempt++) {
        f->port = rw_proc_free_port();
        if (f->port > 0 && spawn_on(f) == 0)
            return 0;
    }
    rmdir(f->dir);
    return -1;
}

int rw_redis_fixture_restart(rw_redis_fixture_t *f)
{
    if (f->pid)
        return 0;
    for (int attempt = 0; attempt < 20; attempt++) {  /* the port may linger briefly */
        if (spawn_on(f) == 0)
            return 0;
        nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
    }
    return -1;
}

void rw_redis_fixture_kill(rw_redis_fixture_t *f)
{
    if (!f->pid)
        return;
    kill(f->pid, SIGCONT);
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
}

void rw_redis_fixture_suspend(rw_redis_fixture_t *f)
{
    if (f->pid)
        kill(f->pid, SIGSTOP);
}

void rw_redis_fixture_resume(rw_redis_fixture_t *f)
{
    if (f->pid)
        kill(f->pid, SIGCONT);
}

void rw_redis_fixture_stop(rw_redis_fixture_t *f)
{
    if (f->pid) {
        kill(f->pid, SIGCONT);
        if (rw_proc_stop(f->pid, 3000) == -1)
            waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    if (f->dir[0]) {
        char path[320];
        snprintf(path, sizeof path, "%s/redis.log", f->dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/dump.rdb", f->dir);
        unlink(path);
        rmdir(f->dir);
        f->dir[0] = '\0';
    }
}

rw_aredis_t *rw_redis_fixture_client(const rw_redis_fixture_t *f, su_root_t *root)
{
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = f->port, .command_timeout_ms = 300,
                          .backoff_max_ms = 200 };
    rw_aredis_t *a = rw_aredis_new(root, &o);
    uint64_t end = rw_clock_mono_ms() + 3000 * (uint64_t) rw_proc_wrap_scale();
    while (a && !rw_aredis_connected(a) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    if (a && !rw_aredis_connected(a))
        rw_aredis_destroy(&a);
    if (a)
        rw_aredis_command(a, NULL, NULL, "FLUSHALL");
    return a;
}
