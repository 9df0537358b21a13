/* common/err.c — text for Ringway's RW_E* error codes, for logs and error lines. */
#include "common/err.h"

const char *rw_strerror(int err)
{
    switch (err) {
    case RW_OK: return "success";
    case RW_EINVAL: return "invalid argument or malformed input";
    case RW_ENOMEM: return "out of memory";
    case RW_EIO: return "input/output error";
    case RW_ETIMEDOUT: return "timed out";
    case RW_ENOTFOUND: return "not found";
    case RW_ERANGE: return "value out of range";
    case RW_EAGAIN: return "try again later";
    case RW_EPROTO: return "protocol error";
    case RW_EEXIST: return "already exists";
    case RW_ECLOSED: return "closed";
    default: return "unknown error";
    }
}
