/* common/err.h — Ringway's error codes.
 * Functions that can fail return 0 or one of these negative codes and hand results back
 * through out-parameters. rw_strerror() never returns NULL. */
#ifndef RW_ERR_H
#define RW_ERR_H

enum {
    RW_OK = 0,
    RW_EINVAL = -1,     /* bad argument or malformed input */
    RW_ENOMEM = -2,
    RW_EIO = -3,        /* a socket, file or server failed */
    RW_ETIMEDOUT = -4,  /* no answer before the deadline */
    RW_ENOTFOUND = -5,
    RW_ERANGE = -6,     /* a value or size beyond its limit */
    RW_EAGAIN = -7,     /* try again later (queue full, not connected yet) */
    RW_EPROTO = -8,     /* a peer broke the protocol (bad frame, wrong type) */
    RW_EEXIST = -9,
    RW_ECLOSED = -10,   /* the object is shutting down */
};

const char *rw_strerror(int err);

#endif
