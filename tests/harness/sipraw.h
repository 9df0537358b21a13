/* tests/harness/sipraw.h — raw SIP over UDP for unit tests that play a device or a caller
 * against a Sofia agent turning on the same su_root. rw_sipraw_await() turns the loop until a
 * datagram starting with `start` reaches fd (ms is scaled for RINGWAY_WRAP), keeping it in buf
 * (NUL-terminated) and its sender in *from (may be NULL); 1 when one came, 0 at the deadline.
 * rw_sipraw_header() copies the value of the first header `name` (case-insensitive) of a raw
 * message into out, "" when it has none. */
#ifndef RW_HARNESS_SIPRAW_H
#define RW_HARNESS_SIPRAW_H

#include <netinet/in.h>
#include <stddef.h>
#include <sofia-sip/su_wait.h>

int rw_sipraw_await(su_root_t *root, int fd, const char *start, int ms, char *buf, size_t len,
                    struct sockaddr_in *from);
void rw_sipraw_header(const char *raw, const char *name, char *out, size_t len);

#endif
