/* bus/curve.c — CurveZMQ for the bus's sockets (see bus/curve.h). */
#include "bus/curve.h"
#include "bus/loop_internal.h"
#include "common/err.h"
#include "common/log.h"

#include <czmq.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static zcert_t *cert;             /* this process's key pair, NULL = plain ZMTP */
static zactor_t *auth;            /* the ZAP handler (zauth) checking clients' keys */

#define ZERO_KEY "0000000000000000000000000000000000000000"

int rw_bus_curve_enable(const char *cert_file, const char *allow_dir)
{
    rw_bus_init();
    if (cert || !cert_file || !*cert_file)
        return RW_EINVAL;
    if (!zsys_has_curve()) {
        rw_log_error("bus_curve_unavailable", RW_S("reason", "libzmq was built without CURVE"));
        return RW_EIO;
    }
    zcert_t *c = zcert_load(cert_file);
    if (!c) {
        rw_log_error("bus_curve_cert_unreadable", RW_S("file", cert_file));
        return RW_EINVAL;
    }
    if (strcmp(zcert_secret_txt(c), ZERO_KEY) == 0) {
        rw_log_error("bus_curve_no_secret", RW_S("file", cert_file),
                     RW_S("reason", "FILE_secret is missing beside it"));
        zcert_destroy(&c);
        return RW_EINVAL;
    }
    char dir[PATH_MAX];
    if (allow_dir && *allow_dir)
        snprintf(dir, sizeof dir, "%s", allow_dir);
    else {
        char copy[PATH_MAX];
        snprintf(copy, sizeof copy, "%s", cert_file);
        snprintf(dir, sizeof dir, "%s", dirname(copy));
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rw_log_error("bus_curve_allow_missing", RW_S("dir", dir));
        zcert_destroy(&c);
        return RW_EINVAL;
    }
    auth = zactor_new(zauth, NULL);
    if (!auth || zstr_sendx(auth, "CURVE", dir, NULL) != 0 || zsock_wait(auth) != 0) {
        rw_log_error("bus_curve_zap_failed", RW_S("dir", dir));
        zactor_destroy(&auth);
        zcert_destroy(&c);
        return RW_EIO;
    }
    cert = c;
    rw_log_info("bus_curve_enabled", RW_S("public_key", zcert_public_txt(cert)), RW_S("allow", dir));
    return 0;
}

void rw_bus_curve_disable(void)
{
    zactor_destroy(&auth);
    zcert_destroy(&cert);
}

int rw_bus_curve_enabled(void)
{
    return cert != NULL;
}

int rw_bus_curve_keygen(const char *cert_file)
{
    zcert_t *c = zcert_new();
    if (!c)
        return RW_EIO;
    zcert_set_meta(c, "name", "%s", "ringway bus");
    mode_t old = umask(077);
    int rc = zcert_save(c, cert_file);
    umask(old);
    zcert_destroy(&c);
    if (rc != 0)
        return RW_EIO;
    chmod(cert_file, 0644);       /* the public half may be shared; FILE_secret stays 0600 */
    return 0;
}

void rw_bus_curve_server(void *sock)
{
    if (!cert)
        return;
    zcert_apply(cert, sock);
    zsock_set_zap_domain(sock, "ringway");
    zsock_set_curve_server(sock, 1);
}

void rw_bus_curve_client(void *sock)
{
    if (!cert)
        return;
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(cert));
}
