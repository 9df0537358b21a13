/* services/calendar/fetch.h — calendar downloads on a worker thread (libcurl).
 * The loop thread submits a job; one worker thread runs the blocking transfer and hands the
 * job back through a pipe the su_root loop watches, so the loop never waits on the network.
 * The worker never logs, counts or touches Redis: the loop does all of that with the result.
 * Bounds: body size, redirects, total time; http(s) only; TLS verified. The job owns its
 * strings; credentials go to libcurl and nowhere else. */
#ifndef RW_CAL_FETCH_H
#define RW_CAL_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <sofia-sip/su_wait.h>

typedef struct {                        /* one CalDAV event resource */
    char *href;                         /* absolute URL */
    char *etag;                         /* "" when the server gave none */
    char *data;                         /* its calendar-data; NULL: deleted on the server */
} rw_cal_item_t;

typedef struct rw_cal_job {
    char user[64];
    char kind[8];                       /* "ics" or "caldav" */
    char tz[64];                        /* the user's zone (all-day events) */
    char *url, *login, *password;       /* login/password NULL/"" = no authentication */
    char tag[2048];                     /* in: the source's tags at the last full read ("" = read
                                           whole); out: their tags now (CalDAV getctag/sync-token,
                                           an ICS feed's ETag and Last-Modified) */
    int unchanged;                      /* out: the tags matched or the feed answered 304: nothing
                                           was read, the last good schedule stands */
    /* CalDAV (caldav.h): the events read, each with its href and ETag; delta = 1 when they are
       only the changes since the tags the job came with (RFC 6578 sync-collection): changed
       events with data, deleted ones without */
    rw_cal_item_t *items;
    size_t n_items;
    int delta;
    /* results */
    char *body;                         /* malloc'd, NUL-terminated, NULL on failure */
    size_t body_len;
    char error[256];                    /* "" on success: "HTTP 500", "body over 1048576 bytes"... */
    void *arg;                          /* the submitter's */
} rw_cal_job_t;

typedef struct {
    size_t max_body;                    /* bytes */
    long timeout_ms;
    long max_redirects;
    const char *ca_file;                /* NULL/"" = the system's */
    const atomic_int *stop;             /* set by the fetcher: a transfer in progress ends ("stopped") */
} rw_cal_fetch_opts_t;

typedef struct rw_cal_fetcher rw_cal_fetcher_t;
typedef void rw_cal_done_fn(void *arg, rw_cal_job_t *job);   /* the callee owns job */

rw_cal_fetcher_t *rw_cal_fetcher_new(su_root_t *root, const rw_cal_fetch_opts_t *opts,
                                     rw_cal_done_fn *fn, void *arg);
/* Jobs still queued are handed back undone (error "stopped") before this returns. */
void rw_cal_fetcher_destroy(rw_cal_fetcher_t **self);
/* Takes ownership of job; it comes back through fn in the loop. */
int rw_cal_fetcher_submit(rw_cal_fetcher_t *self, rw_cal_job_t *job);
size_t rw_cal_fetcher_pending(const rw_cal_fetcher_t *self);

/* The blocking transfer itself (what the worker runs): a conditional GET for "ics", the CalDAV exchange
 * (services/calendar/caldav.h) for "caldav". */
void rw_cal_fetch_run(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job);
/* One HTTP request with the job's credentials and the bounds of opts: 0 with *out (malloc'd,
 * NUL-terminated) and *status for a 2xx answer, else an error in job->error. depth and body
 * may be NULL. *final_url (malloc'd, may be NULL) is the URL after redirects. */
int rw_cal_http(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *method, const char *url,
                const char *depth, const char *body, char **out, size_t *len, long *status, char **final_url);
/* A conditional GET (RFC 9110): the validators sent, and those of the answer. */
typedef struct {
    const char *if_none_match;          /* in: an ETag ("" or NULL: none) */
    const char *if_modified_since;      /* in: an HTTP date ("" or NULL: none) */
    char etag[256], last_modified[128]; /* out: the response's ("" when absent or too long) */
    int not_modified;                   /* out: 304 to a request with a validator (no body) */
} rw_cal_cond_t;
/* rw_cal_http's GET with validators: 0 also for a 304 (cond->not_modified, *out ""). */
int rw_cal_http_cond(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, rw_cal_cond_t *cond,
                     char **out, size_t *len, long *status);
void rw_cal_job_free(rw_cal_job_t **job);

#endif
