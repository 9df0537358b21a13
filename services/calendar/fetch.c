/* services/calendar/fetch.c — one worker thread runs libcurl transfers; results come back to
 * the loop through a pipe (a job pointer per write, atomic below PIPE_BUF). */
#include "services/calendar/fetch.h"
#include "services/calendar/caldav.h"
#include "common/err.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_MAX 4096

struct rw_cal_fetcher {
    su_root_t *root;
    rw_cal_fetch_opts_t opts;
    char *ca_file;
    rw_cal_done_fn *fn;
    void *arg;
    int pipe_fd[2];
    su_wait_t wait;
    int index;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rw_cal_job_t *queue[QUEUE_MAX];
    size_t head, count, in_flight;
    atomic_int stop;                    /* also read by a transfer's progress callback */
};

typedef struct {
    char *buf;
    size_t len, max;
    int over;
} body_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t add = size * n;
    if (b->len + add > b->max) {
        b->over = 1;
        return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    char *nb = realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->buf = nb;
    b->len += add;
    b->buf[b->len] = 0;
    return add;
}

/* Ends a transfer when the fetcher stops (libcurl calls it about once a second, and on data). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
    const atomic_int *stop = arg;
    return stop && atomic_load(stop);
}

int rw_cal_http(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *method, const char *url,
                const char *depth, const char *body, char **out, size_t *len, long *status, char **final_url)
{
    body_t b = { .max = opts->max_body };
    struct curl_slist *hdr = NULL;
    char depth_hdr[32];
    *out = NULL, *len = 0, *status = 0;
    if (final_url)
        *final_url = NULL;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(job->error, sizeof job->error, "libcurl could not start");
        return RW_ENOMEM;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, opts->max_redirects);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) opts->max_body);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ringway-calendar");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *) opts->stop);
    if (strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTREDIR, (long) CURL_REDIR_POST_ALL);
        hdr = curl_slist_append(hdr, "Content-Type: application/xml; charset=utf-8");
    }
    if (depth) {
        snprintf(depth_hdr, sizeof depth_hdr, "Depth: %s", depth);
        hdr = curl_slist_append(hdr, depth_hdr);
    }
    if (hdr)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (opts->ca_file && *opts->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, opts->ca_file);
    if (job->login && *job->login) {
        curl_easy_setopt(c, CURLOPT_USERNAME, job->login);
        curl_easy_setopt(c, CURLOPT_PASSWORD, job->password ? job->password : "");
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) (CURLAUTH_BASIC | CURLAUTH_DIGEST));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(job->error, sizeof job->error, "stopped");
    else if (b.over || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(job->error, sizeof job->error, "body over %zu bytes", opts->max_body);
    else if (rc == CURLE_TOO_MANY_REDIRECTS)
        snprintf(job->error, sizeof job->error, "more than %ld redirects", opts->max_redirects);
    else if (rc != CURLE_OK)
        snprintf(job->error, sizeof job->error, "%s", curl_easy_strerror(rc));   /* TLS, DNS, refused... */
    else if (*status < 200 || *status > 299)
        snprintf(job->error, sizeof job->error, "HTTP %ld", *status);
    if (!job->error[0] && final_url) {
        char *eff = NULL;
        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
        *final_url = strdup(eff ? eff : url);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    if (job->error[0]) {
        free(b.buf);
        return RW_EIO;
    }
    *out = b.buf ? b.buf : strdup("");
    *len = b.len;
    return *out ? 0 : RW_ENOMEM;
}

void rw_cal_fetch_run(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job)
{
    long status;
    job->error[0] = 0;
    if (!strcmp(job->kind, "caldav")) {
        rw_caldav_fetch(opts, job);
    } else {
        job->tag[0] = 0;   /* an ICS feed is read whole each time */
        rw_cal_http(opts, job, "GET", job->url, NULL, NULL, &job->body, &job->body_len, &status, NULL);
    }
}

void rw_cal_job_free(rw_cal_job_t **job)
{
    if (!job || !*job)
        return;
    rw_cal_job_t *j = *job;
    *job = NULL;
    if (j->password)
        explicit_bzero(j->password, strlen(j->password));
    free(j->url);
    free(j->login);
    free(j->password);
    free(j->body);
    free(j);
}

static void *worker(void *arg)
{
    rw_cal_fetcher_t *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stop && f->count == 0)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop)
            break;
        rw_cal_job_t *job = f->queue[f->head];
        f->head = (f->head + 1) % QUEUE_MAX;
        f->count--;
        pthread_mutex_unlock(&f->mu);
        rw_cal_fetch_run(&f->opts, job);
        ssize_t w;
        do
            w = write(f->pipe_fd[1], &job, sizeof job);
        while (w < 0 && errno == EINTR);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static int on_done(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void) magic, (void) w;
    rw_cal_fetcher_t *f = (rw_cal_fetcher_t *) arg;
    rw_cal_job_t *job;
    while (read(f->pipe_fd[0], &job, sizeof job) == (ssize_t) sizeof job) {
        f->in_flight--;
        f->fn(f->arg, job);
    }
    return 0;
}

rw_cal_fetcher_t *rw_cal_fetcher_new(su_root_t *root, const rw_cal_fetch_opts_t *opts,
                                     rw_cal_done_fn *fn, void *arg)
{
    rw_cal_fetcher_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->root = root, f->opts = *opts, f->fn = fn, f->arg = arg;
    f->pipe_fd[0] = f->pipe_fd[1] = -1;
    f->ca_file = strdup(opts->ca_file ? opts->ca_file : "");
    f->opts.ca_file = f->ca_file;
    f->opts.stop = &f->stop;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (!f->ca_file || pipe2(f->pipe_fd, O_CLOEXEC) < 0)
        goto fail;
    fcntl(f->pipe_fd[0], F_SETFL, O_NONBLOCK);
    if (su_wait_create(&f->wait, f->pipe_fd[0], SU_WAIT_IN) != 0)
        goto fail;
    f->index = su_root_register(root, &f->wait, on_done, (su_wakeup_arg_t *) f, 0);
    if (f->index <= 0)
        goto fail;
    if (pthread_create(&f->thread, NULL, worker, f) != 0) {
        su_root_deregister(root, f->index);
        goto fail;
    }
    return f;
fail:
    if (f->pipe_fd[0] >= 0)
        close(f->pipe_fd[0]), close(f->pipe_fd[1]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->ca_file);
    free(f);
    return NULL;
}

void rw_cal_fetcher_destroy(rw_cal_fetcher_t **self)
{
    if (!self || !*self)
        return;
    rw_cal_fetcher_t *f = *self;
    *self = NULL;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);   /* a transfer in progress ends at its next progress call */
    su_root_deregister(f->root, f->index);
    on_done(NULL, NULL, (su_wakeup_arg_t *) f);   /* finished ones */
    while (f->count) {
        rw_cal_job_t *job = f->queue[f->head];
        f->head = (f->head + 1) % QUEUE_MAX;
        f->count--;
        snprintf(job->error, sizeof job->error, "stopped");
        f->fn(f->arg, job);
    }
    close(f->pipe_fd[0]);
    close(f->pipe_fd[1]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->ca_file);
    free(f);
}

int rw_cal_fetcher_submit(rw_cal_fetcher_t *f, rw_cal_job_t *job)
{
    pthread_mutex_lock(&f->mu);
    if (f->count == QUEUE_MAX) {
        pthread_mutex_unlock(&f->mu);
        return RW_EAGAIN;
    }
    f->queue[(f->head + f->count) % QUEUE_MAX] = job;
    f->count++;
    f->in_flight++;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

size_t rw_cal_fetcher_pending(const rw_cal_fetcher_t *f)
{
    return f->in_flight;
}
