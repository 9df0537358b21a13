/* tools/cli_edge.h — what sip-edge will really do with a route plan, for `ringway explain`.
 * The router's plan says where a call should ring; sip-edge can only ring what its own
 * configuration allows: a voicemail target needs voicemail.uri, a number needs a trunk in
 * sip.peers. The CLI reads those two keys from the same configuration as sip-edge (-c FILE,
 * RINGWAY_VOICEMAIL_URI, RINGWAY_SIP_PEERS) and applies sip-edge's own rules to them
 * (services/sip-edge/plan_exec.c, peers.c), so explain never promises what the edge won't do. */
#ifndef RW_TOOLS_CLI_EDGE_H
#define RW_TOOLS_CLI_EDGE_H

#include <stddef.h>
#include "common/config.h"
#include "protocols/route.h"
#include "services/sip-edge/peers.h"

typedef struct {
    char voicemail_uri[256];
    rw_peers_t peers;
    char source[320];           /* where the settings came from, for the reader */
} cli_edge_t;

/* 0, or RW_EINVAL with why (sip.peers does not parse, as sip-edge would refuse it). */
int cli_edge_load(cli_edge_t *e, const rw_config_t *cfg, const char *config_path, char *why, size_t len);
/* How sip-edge carries out target t: 1 when it rings it (how: "via carrier-a, carrier-b",
 * "to sip:2001@vm.example" or ""), 0 when it skips it (how: the reason). */
int cli_edge_target(const cli_edge_t *e, const rw_target_t *t, char *how, size_t len);
/* What happens when the plan's stages are over: "the caller gets 486 Busy Here", "sip-edge
 * sends it to sip:2001@vm.example", "not configured at sip-edge: the caller gets 480 ...". */
void cli_edge_final(const cli_edge_t *e, const rw_plan_t *p, char *out, size_t len);

#endif
