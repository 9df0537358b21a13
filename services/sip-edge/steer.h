/* services/sip-edge/steer.h — which worker of the SIP port's group reads a datagram.
 * Workers sharing the SIP port share one SO_REUSEPORT group; by default the kernel picks the
 * worker by a hash of the sender's address, so a callee's responses reach one worker whatever
 * worker sent its request (the others' are relayed over loopback, edge.h), and a trunk or SBC
 * sending from one address loads one worker only. A classic BPF program attached to the group
 * (SO_ATTACH_REUSEPORT_CBPF, unprivileged) reads each datagram's first "z9hG4bK" branch:
 * - a response ("SIP/" first) whose branch is "z9hG4bKrw" with a socket index goes to that
 *   socket of the group;
 * - a request (with spread >= 2) goes to socket hash(branch) % spread, so one sender's calls
 *   spread over the workers while a transaction stays on one: its retransmissions, its CANCEL
 *   and the ACK of a failure carry the top Via of the INVITE (RFC 3261 9.1, 17.1.1.3); except
 *   SUBSCRIBE, whose subscription lives in one worker (subscribe.h): its refreshes, with new
 *   branches, must reach that worker, so they keep the sender's hash;
 * - everything else (other branches, no branch in the first RW_STEER_SCAN bytes, an index past
 *   the group) gets the kernel's hash.
 * A worker's branch is "z9hG4bKrw<worker, 2 hex><socket index, 2 hex>.<token>": the index is
 * the worker's place in the group, which the kernel alone knows and which moves when a sibling
 * leaves it, so each worker learns its own by probes: a response-shaped datagram per index,
 * branch "z9hG4bKrw<worker><index>.steer<nonce>", sent to the SIP port; the smallest index
 * among the probes that come back to their sender is its own (a probe for an index past the
 * group gets the hash, and maybe its sender). "ff" (unknown) falls back to the hash, and the relay
 * still passes on any response that reaches the wrong worker. */
#ifndef RW_SIPEDGE_STEER_H
#define RW_SIPEDGE_STEER_H

#include <stddef.h>
#include <stdint.h>

#define RW_STEER_UNKNOWN 0xffu
/* How far into a response the branch is looked for (bytes): a top Via past it is not steered. */
#define RW_STEER_SCAN 480
/* How many bytes of a request's branch after "z9hG4bK" are hashed (up to ';', ',' or space). */
#define RW_STEER_HASHED 32

/* Attaches the program to the reuseport group of fd (an IPv4 or IPv6 UDP socket with
 * SO_REUSEPORT, bound); spread: the workers requests are spread over (0 or 1: requests keep
 * the kernel's hash); responses: steer responses by the index in their branch (0: they keep
 * the hash, as in a group whose indices the workers do not learn: IPv6). 0, or -1 with errno
 * (the group keeps the kernel's hash; EINVAL when there is nothing to steer). */
int rw_steer_attach(int fd, unsigned spread, int responses);

/* The socket index the program gives a request (not a SUBSCRIBE) whose top Via branch is branch
 * (the value after "branch="), or RW_STEER_UNKNOWN when it leaves it to the kernel's hash. */
unsigned rw_steer_request_index(const char *branch, unsigned spread);

/* The probe for socket index k sent by worker with nonce, written into buf (NUL-terminated);
 * its length, or 0 when buf is too small. */
size_t rw_steer_probe(char *buf, size_t len, unsigned worker, unsigned k, uint64_t nonce);

/* 1 when branch (the value after "branch=") is a probe's, with its worker, index and nonce. */
int rw_steer_probe_parse(const char *branch, unsigned *worker, unsigned *k, uint64_t *nonce);

#endif
