/* tests/harness/proc.h — start real processes for integration tests and wait for them.
 * rw_proc_free_port() finds a free loopback port (TCP and UDP). rw_proc_spawn() runs a program
 * with extra environment variables, its stdout and stderr sent to a log file. rw_proc_wait_http()
 * polls GET path on 127.0.0.1:port until it answers 200. rw_proc_stop() sends SIGTERM and
 * returns the exit status (-1 if it had to be killed after the grace time). */
#ifndef RW_PROC_H
#define RW_PROC_H

#include <stddef.h>
#include <sys/types.h>

int rw_proc_free_port(void);
/* argv is NULL-terminated; env is NULL-terminated "KEY=value" strings added to the environment. */
pid_t rw_proc_spawn(const char *const *argv, const char *const *env, const char *log_path);
/* 0 when GET path answered with `status` within timeout_ms; body (may be NULL) receives it. */
int rw_proc_http_get(int port, const char *path, int *status, char *body, size_t body_len);
int rw_proc_wait_http(int port, const char *path, int timeout_ms);
/* With RINGWAY_WRAP set (e.g. "valgrind --error-exitcode=99"), rw_proc_spawn runs the program
 * under that command and the waits here are rw_proc_wrap_scale() times longer. */
/* 1, or under RINGWAY_WRAP its slow-down factor: RINGWAY_WRAP_SCALE, default 10 (as wrap.sh). */
unsigned rw_proc_wrap_scale(void);
/* Exit code when it exited by itself, 128+signal when killed, -1 when it ignored SIGTERM. */
int rw_proc_stop(pid_t pid, int grace_ms);
/* Path of a built binary: $RINGWAY_BUILD_DIR/<rel> (e.g. "services/router/ringway-router"). */
const char *rw_proc_build_path(const char *rel, char *buf, size_t len);

#endif
