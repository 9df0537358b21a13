/* tools/cli_edge.c — sip-edge's handling of a plan, as explain reports it (cli_edge.h).
 * Mirrors services/sip-edge/plan_exec.c: a voicemail mailbox that is not a SIP URI is sent to
 * voicemail.uri's host, and not at all without one; a number starting with '+' goes through
 * the trunks the plan names that sip.peers knows, else the trunks whose prefix matches (peers.c);
 * any other number is a colleague's extension, routed again; when every stage is over without
 * an answer the final action runs, and when it cannot start the caller gets 480. */
#include "tools/cli_edge.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int cli_edge_load(cli_edge_t *e, const rw_config_t *cfg, const char *config_path, char *why, size_t len)
{
    char err[256];
    memset(e, 0, sizeof *e);
    snprintf(e->voicemail_uri, sizeof e->voicemail_uri, "%s", rw_config_str(cfg, "voicemail.uri"));
    if (config_path)
        snprintf(e->source, sizeof e->source, "%s and the environment", config_path);
    else
        snprintf(e->source, sizeof e->source, "the environment (no -c FILE)");
    if (rw_peers_parse(&e->peers, rw_config_str(cfg, "sip.peers"), err, sizeof err) < 0)
        return snprintf(why, len, "sip.peers: %s", err), RW_EINVAL;
    return 0;
}

static int voicemail_ok(const cli_edge_t *e, const char *mailbox, char *how, size_t len)
{
    const char *vm = e->voicemail_uri;
    if (!strncasecmp(mailbox, "sip:", 4))
        return snprintf(how, len, "to %s", mailbox), 1;
    if (strncasecmp(vm, "sip:", 4))
        return snprintf(how, len, "not configured at sip-edge (no voicemail.uri)"), 0;
    const char *at = strchr(vm, '@');
    return snprintf(how, len, "to sip:%s@%s", mailbox, at ? at + 1 : vm + 4), 1;
}

/* The trunks sip-edge tries for a number, as in plan_branch.c's trunks_of(). */
static size_t trunks_of(const cli_edge_t *e, const rw_target_t *t, const rw_peer_t **out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->n_trunks && i < RW_PLAN_MAX_TRUNKS && n < RW_PEERS_MAX; i++) {
        const rw_peer_t *p = rw_peers_find(&e->peers, t->trunks[i]);
        if (p)
            out[n++] = p;
    }
    return n ? n : rw_peers_trunks_for(&e->peers, t->number, out, RW_PEERS_MAX);
}

int cli_edge_target(const cli_edge_t *e, const rw_target_t *t, char *how, size_t len)
{
    const rw_peer_t *tr[RW_PEERS_MAX];
    how[0] = '\0';
    switch (t->type) {
    case RW_TARGET_VOICEMAIL:
        return voicemail_ok(e, t->mailbox, how, len);
    case RW_TARGET_NUMBER: {
        if (t->number[0] != '+')
            return snprintf(how, len, "routed again as extension %s", t->number), 1;
        size_t n = trunks_of(e, t, tr), at = 0;
        if (!n)
            return snprintf(how, len, "no trunk at sip-edge for %s (sip.peers)", t->number), 0;
        for (size_t i = 0; i < n && at < len; i++)
            at += (size_t) snprintf(how + at, len - at, "%s%s", i ? ", " : "via ", tr[i]->name);
        return 1;
    }
    case RW_TARGET_HUNTGROUP:
        return snprintf(how, len, "queued: huntgroup offers the call to the group's agents"), 1;
    default:
        return 1;
    }
}

void cli_edge_final(const cli_edge_t *e, const rw_plan_t *p, char *out, size_t len)
{
    char how[256];
    switch (p->final) {
    case RW_FINAL_BUSY:
        snprintf(out, len, "the caller gets 486 Busy Here");
        break;
    case RW_FINAL_REJECT:
        snprintf(out, len, "the caller gets 603 Decline");
        break;
    case RW_FINAL_VOICEMAIL:
    case RW_FINAL_NUMBER:
        if (cli_edge_target(e, &p->final_target, how, len < sizeof how ? len : sizeof how))
            snprintf(out, len, "sip-edge sends it %s", how);
        else
            snprintf(out, len, "%s: the caller gets 480 Temporarily Unavailable", how);
        break;
    default:
        snprintf(out, len, "the caller gets 480 Temporarily Unavailable");
    }
}
