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
#include <strings.h>
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

/* Response headers: the validators of the last response (a redirect's are dropped). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    rw_cal_cond_t *cond = arg;
    size_t len = size * n;
    const char *names[] = { "ETag:", "Last-Modified:" };
    char *dst[] = { cond->etag, cond->last_modified };
    size_t cap[] = { sizeof cond->etag, sizeof cond->last_modified };
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        cond->etag[0] = cond->last_modified[0] = 0;
        return len;
    }
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(names[i]);
        if (len <= k || strncasecmp(p, names[i], k))
            continue;
        const char *v = p + k, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t vl = (size_t) (end - v);
        if (vl < cap[i] && !memchr(v, '\t', vl)) {     /* too long or odd: not kept, read whole next time */
            memcpy(dst[i], v, vl);
            dst[i][vl] = 0;
        }
    }
    return len;
}

static int http_do(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *method, const char *url,
                   const char *depth, const char *body, char **out, size_t *len, long *status, char **final_url,
                   rw_cal_cond_t *cond)
{
    body_t b = { .max = opts->max_body };
    struct curl_slist *hdr = NULL;
    char depth_hdr[32], cond_hdr[2][300];
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
    if (cond) {
        if (cond->if_none_match && *cond->if_none_match) {
            snprintf(cond_hdr[0], sizeof cond_hdr[0], "If-None-Match: %s", cond->if_none_match);
            hdr = curl_slist_append(hdr, cond_hdr[0]);
        }
        if (cond->if_modified_since && *cond->if_modified_since) {
            snprintf(cond_hdr[1], sizeof cond_hdr[1], "If-Modified-Since: %s", cond->if_modified_since);
            hdr = curl_slist_append(hdr, cond_hdr[1]);
        }
        cond->etag[0] = cond->last_modified[0] = 0;
        cond->not_modified = 0;
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, cond);
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
    else if (*status == 304 && cond && ((cond->if_none_match && *cond->if_none_match)
                                        || (cond->if_modified_since && *cond->if_modified_since)))
        cond->not_modified = 1;         /* the copy we hold is current */
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

int rw_cal_http(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *method, const char *url,
                const char *depth, const char *body, char **out, size_t *len, long *status, char **final_url)
{
    return http_do(opts, job, method, url, depth, body, out, len, status, final_url, NULL);
}

int rw_cal_http_cond(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job, const char *url, rw_cal_cond_t *cond,
                     char **out, size_t *len, long *status)
{
    return http_do(opts, job, "GET", url, NULL, NULL, out, len, status, NULL, cond);
}

/* FNV-1a of the URL, so that validators are sent only to the URL they came from. */
static unsigned long long url_hash(const char *url)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *url; url++)
        h = (h ^ (unsigned char) *url) * 1099511628211ULL;
    return h;
}

/* An ICS feed: a conditional GET with the validators of the last whole read, kept in the tag as
 * "ics <url hash> <etag> <last-modified>" (tab-separated); a 304 means unchanged. */
static void fetch_ics(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job)
{
    rw_cal_cond_t cond = { 0 };
    char prefix[40], etag[256] = "", lm[128] = "";
    long status;
    int n = snprintf(prefix, sizeof prefix, "ics\t%016llx\t", url_hash(job->url));
    if (!strncmp(job->tag, prefix, (size_t) n)) {
        const char *e = job->tag + n, *tab = strchr(e, '\t');
        if (tab && (size_t) (tab - e) < sizeof etag && strlen(tab + 1) < sizeof lm) {
            memcpy(etag, e, (size_t) (tab - e));
            etag[tab - e] = 0;
            snprintf(lm, sizeof lm, "%s", tab + 1);
        }
    }
    cond.if_none_match = etag;
    cond.if_modified_since = lm;
    job->tag[0] = 0;
    if (rw_cal_http_cond(opts, job, job->url, &cond, &job->body, &job->body_len, &status) < 0)
        return;
    if (cond.not_modified) {
        job->unchanged = 1;
        free(job->body);
        job->body = NULL;
        job->body_len = 0;
    } else if (cond.etag[0] || cond.last_modified[0]) {
        snprintf(job->tag, sizeof job->tag, "%s%s\t%s", prefix, cond.etag, cond.last_modified);
    }
}

void rw_cal_fetch_run(const rw_cal_fetch_opts_t *opts, rw_cal_job_t *job)
{
    job->error[0] = 0;
    job->unchanged = 0;
    if (!strcmp(job->kind, "caldav"))
        rw_caldav_fetch(opts, job);
    else
        fetch_ics(opts, job);
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
    for (size_t i = 0; i < j->n_items; i++) {
        free(j->items[i].href);
        free(j->items[i].etag);
        free(j->items[i].data);
    }
    free(j->items);
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
