/* services/sip-edge/workers_run.h — the supervisor's run file: which workers of one SIP address
 * and port run, for the supervisor that starts after this one (workers.h). One file per address
 * and port, held with an exclusive flock while its supervisor lives (a second supervisor is
 * refused) and rewritten in place whenever a worker starts or ends, never left empty between.
 * It only records: signalling and watching the workers is the supervisor's job. */
#ifndef RW_SIPEDGE_WORKERS_RUN_H
#define RW_SIPEDGE_WORKERS_RUN_H

#include <stddef.h>

/* A worker as recorded: its pid and its start time (/proc/PID/stat field 22), which tell it from
 * a later process given the same pid. */
typedef struct {
    int pid;
    unsigned long long start;
} rw_worker_rec_t;

typedef struct rw_run_file rw_run_file_t;

/* Opens and locks DIR/ringway-sip-edge-ADDR-PORT.run (DIR created when missing). RW_EEXIST when
 * another supervisor holds the lock, RW_EIO when the file cannot be opened, RW_ERANGE for a path
 * too long; each logged. */
int rw_run_file_open(const char *dir, const char *addr, long port, rw_run_file_t **out);
const char *rw_run_file_path(const rw_run_file_t *self);
/* What the file records (rw_run_file_parse); the number of workers it names. */
int rw_run_file_read(rw_run_file_t *self, char *relay, size_t relay_len, rw_worker_rec_t *recs,
                     unsigned max);
/* Records the relay-port list "P0,P1,..." and every recs[I] (I < n) whose pid is not 0. */
void rw_run_file_write(rw_run_file_t *self, const char *relay, const rw_worker_rec_t *recs, unsigned n);
/* Closes the file, which releases the lock; with remove, deletes it first (nothing left to
 * adopt). NULL is a no-op. */
void rw_run_file_destroy(rw_run_file_t **self, int remove);

/* The file's text ("relay P0,P1,...\n" and "worker I PID START\n" lines) -> the relay-port list
 * into relay ("" when absent or longer than relay_len) and recs[I] for each worker line with
 * I < max (pid 0 for the others; malformed lines and repeated indexes are ignored). Returns how
 * many workers it names. */
int rw_run_file_parse(const char *text, char *relay, size_t relay_len, rw_worker_rec_t *recs,
                      unsigned max);
/* PID's start time; 0 when no such process runs (none, a zombie, unreadable). */
unsigned long long rw_run_file_proc_start(int pid);

#endif
