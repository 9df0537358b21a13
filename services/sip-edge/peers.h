/* services/sip-edge/peers.h — trusted SIP peers (PBXs, carriers) and outbound trunks.
 * Parsed once from the config key sip.peers: entries separated by ';', each
 * "NAME HOST:PORT MODE [PREFIX,PREFIX...]" with MODE one of proxy (trusted caller, calls are
 * proxied), redirect (trusted caller that only asks "where to?": answered 302) or trunk (an
 * outbound trunk for numbers with those prefixes; also trusted as a caller). PORT 0 = any
 * source port. The table is immutable after rw_peers_parse(); it owns nothing on the heap. */
#ifndef RW_SIPEDGE_PEERS_H
#define RW_SIPEDGE_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

#define RW_PEERS_MAX 32
#define RW_PEER_MAX_PREFIXES 8

typedef enum { RW_PEER_PROXY = 0, RW_PEER_REDIRECT, RW_PEER_TRUNK } rw_peer_mode_t;

typedef struct {
    char name[32];
    char host[64];                  /* "127.0.0.1" or "::1" (no brackets) */
    unsigned port;                  /* 0 = any source port; SIP default 5060 when sending */
    rw_peer_mode_t mode;
    size_t n_prefixes;
    char prefixes[RW_PEER_MAX_PREFIXES][24];
} rw_peer_t;

typedef struct {
    size_t n;
    rw_peer_t peers[RW_PEERS_MAX];
} rw_peers_t;

/* 0, or RW_EINVAL with a one-line reason in err. An empty text gives an empty table. */
int rw_peers_parse(rw_peers_t *out, const char *text, char *err, size_t err_len);
/* The peer a request came from (address family, host and, when the peer has one, port), or NULL. */
const rw_peer_t *rw_peers_match(const rw_peers_t *self, const struct sockaddr *sa);
/* The numeric host (IPv6 without brackets) and port of an IPv4/IPv6 address: 0; -1 for any
 * other family (host "" then). port may be NULL. */
int rw_peers_addr_host(const struct sockaddr *sa, char *host, size_t len, unsigned *port);
const rw_peer_t *rw_peers_find(const rw_peers_t *self, const char *name);
/* Trunks for number, in order: the longest matching prefix first, then config order. Returns
 * how many were written (at most max). A trunk without prefixes matches every number. */
size_t rw_peers_trunks_for(const rw_peers_t *self, const char *number, const rw_peer_t **out, size_t max);
/* "sip:USER@HOST:PORT" (IPv6 hosts bracketed) into buf; RW_ERANGE when it does not fit. */
int rw_peer_uri(const rw_peer_t *peer, const char *user, char *buf, size_t len);

#endif
