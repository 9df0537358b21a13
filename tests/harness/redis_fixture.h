/* tests/harness/redis_fixture.h — a real redis-server for one test, on a free loopback port.
 * Start picks a free port, starts redis-server (no persistence) in a temporary directory and
 * waits for PING; if the port was taken meanwhile it retries on another. Stop sends SIGTERM,
 * reaps the child and removes the directory. Suspend/resume (SIGSTOP/SIGCONT) and kill/restart
 * on the same port let tests show what happens while Redis is away. */
#ifndef RW_REDIS_FIXTURE_H
#define RW_REDIS_FIXTURE_H

#include <sofia-sip/su_wait.h>
#include <sys/types.h>
#include "common/redis.h"

typedef struct {
    int port;          /* the port Redis listens on (127.0.0.1) */
    pid_t pid;         /* 0 when not running */
    char dir[256];     /* its temporary directory */
} rw_redis_fixture_t;

/* 0 on success; f is zeroed first. */
int rw_redis_fixture_start(rw_redis_fixture_t *f);
/* Start again on f->port (after rw_redis_fixture_kill); 0 on success. */
int rw_redis_fixture_restart(rw_redis_fixture_t *f);
/* SIGKILL the server and reap it; the directory stays for a restart. */
void rw_redis_fixture_kill(rw_redis_fixture_t *f);
void rw_redis_fixture_suspend(rw_redis_fixture_t *f);
void rw_redis_fixture_resume(rw_redis_fixture_t *f);
/* SIGTERM, reap, remove the directory. Safe to call twice. */
void rw_redis_fixture_stop(rw_redis_fixture_t *f);
/* An asynchronous client of f on root with short timeouts (commands 300 ms, reconnect back-off
 * up to 200 ms), once connected (the loop turned for up to 3 s, scaled for RINGWAY_WRAP), with a
 * FLUSHALL queued; NULL when it did not connect. */
rw_aredis_t *rw_redis_fixture_client(const rw_redis_fixture_t *f, su_root_t *root);

#endif
