/* services/gateway/web_files.c — the web page's files: everything outside /api/ is a file of
 * gateway.web_root (index.html for a directory) with its content type, an ETag (304 on
 * If-None-Match) and a Content-Security-Policy that allows only the gateway itself. Nothing
 * outside the root is ever served: a path with ".." is refused, and the file's real path,
 * symbolic links resolved, must lie inside the root's. Anything else is 404. */
#include "services/gateway/gateway.h"
#include "common/clock.h"

#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *gw_content_type(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
        { ".ico", "image/x-icon" }, { ".webmanifest", "application/manifest+json" },
        { ".txt", "text/plain; charset=utf-8" }, { ".woff2", "font/woff2" },
    };
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

/* The real path of path into real when it lies inside root (rlen bytes). */
static bool inside(const char *root, size_t rlen, const char *path, char *real)
{
    return realpath(path, real) && strncmp(real, root, rlen) == 0 && real[rlen] == '/';
}

/* The file url names, opened, its real path in real and its stat in st; -1 when there is none
 * inside the root (missing, a path with "..", a symbolic link leading out, not a regular file). */
static int open_inside(const gw_ctx_t *gw, const char *url, char real[PATH_MAX], struct stat *st)
{
    char path[PATH_MAX];
    size_t rlen = strlen(gw->web_root);
    if (!gw->web_root[0] || url[0] != '/' || strstr(url, "..") || strchr(url, '\\') ||
        snprintf(path, sizeof path, "%s%s%s", gw->web_root, url,
                 url[strlen(url) - 1] == '/' ? "index.html" : "") >= (int) sizeof path ||
        !inside(gw->web_root, rlen, path, real))
        return -1;
    if (stat(real, st) == 0 && S_ISDIR(st->st_mode)) {     /* a directory: its index.html */
        if (snprintf(path, sizeof path, "%s/index.html", real) >= (int) sizeof path ||
            !inside(gw->web_root, rlen, path, real))
            return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

enum MHD_Result gw_serve_file(gw_ctx_t *gw, struct MHD_Connection *conn, const char *url,
                              const char *method, uint64_t t0_us)
{
    char real[PATH_MAX], etag[64];
    struct stat st;
    int status = 404, fd = -1;
    enum MHD_Result rc = MHD_NO;
    struct MHD_Response *rsp = NULL;

    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        status = 405;
        rc = gw_send_error(conn, 405, "method_not_allowed", "only GET and HEAD are served here");
        goto out;
    }
    if ((fd = open_inside(gw, url, real, &st)) < 0) {
        rc = gw_send_error(conn, 404, "not_found", "no such page");
        goto out;
    }
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long) st.st_size,
             (unsigned long long) st.st_mtim.tv_sec * 1000000000ull + (unsigned long long) st.st_mtim.tv_nsec);
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && !strcmp(inm, etag)) {
        close(fd);
        status = 304;
        rsp = MHD_create_response_from_buffer(0, (char *) "", MHD_RESPMEM_PERSISTENT);
    } else {
        status = 200;
        if (!(rsp = MHD_create_response_from_fd((uint64_t) st.st_size, fd)))
            close(fd);
    }
    if (rsp) {
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
        /* the page loads nothing from elsewhere and runs no inline script: say so to the browser */
        MHD_add_response_header(rsp, "Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        MHD_add_response_header(rsp, "Referrer-Policy", "no-referrer");
        if (status == 200)
            MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, gw_content_type(real));
        rc = MHD_queue_response(conn, (unsigned) status, rsp);
        MHD_destroy_response(rsp);
    }
out:
    gw_stat(gw, GW_STAT_REQUEST, "static", status, (double) (rw_clock_mono_us() - t0_us) / 1e6);
    return rc;
}
