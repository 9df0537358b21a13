/* services/sip-edge/steer.h — responses straight to the worker whose request they answer.
 * Workers sharing the SIP port share one SO_REUSEPORT group; by default the kernel picks the
 * worker by a hash of the sender's address, so a callee's responses reach one worker whatever
 * worker sent its request, and the others' are relayed over loopback (edge.h). A classic BPF
 * program attached to the group (SO_ATTACH_REUSEPORT_CBPF, unprivileged) reads each datagram:
 * a response ("SIP/" first) whose first "z9hG4bKrw" branch carries a socket index goes to that
 * socket of the group; everything else (requests, other branches) gets the kernel's hash.
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

/* Attaches the program to the reuseport group of fd (an IPv4 or IPv6 UDP socket with
 * SO_REUSEPORT, bound). 0, or -1 with errno (the group keeps the kernel's hash). */
int rw_steer_attach(int fd);

/* The probe for socket index k sent by worker with nonce, written into buf (NUL-terminated);
 * its length, or 0 when buf is too small. */
size_t rw_steer_probe(char *buf, size_t len, unsigned worker, unsigned k, uint64_t nonce);

/* 1 when branch (the value after "branch=") is a probe's, with its worker, index and nonce. */
int rw_steer_probe_parse(const char *branch, unsigned *worker, unsigned *k, uint64_t *nonce);

#endif
