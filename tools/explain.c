/* tools/explain.c — the explanation of a call's route shared by the CLI and the gateway
 * (explain.h): the router request over the bus, the JSON of the plan and its sentence. */
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "tools/explain.h"

#include "bus/bus.h"
#include "common/clock.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rw_explain_routers(rw_redis_t *r, const char *configured)
{
    if (configured && configured[0])
        return strdup(configured);
    if (!r)
        return strdup("");
    redisReply *rep = rw_redis_command(r, "ZRANGEBYSCORE rw:svc:router %llu +inf",
                                       (unsigned long long) rw_clock_wall_ms());
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    char *list = calloc(1, 1);
    size_t len = 0;
    for (size_t i = 0; list && i < rep->elements; i++) {
        const char *bar = rep->element[i]->type == REDIS_REPLY_STRING ? strchr(rep->element[i]->str, '|') : NULL;
        if (!bar)
            continue;
        char *grown = realloc(list, len + strlen(bar) + 2);
        if (!grown)
            break;
        list = grown;
        len += (size_t) sprintf(list + len, "%s%s", len ? "," : "", bar + 1);
    }
    freeReplyObject(rep);
    return list;
}

typedef struct {
    su_root_t *root;
    int status, done;
    rw_plan_t *plan;
} ask_t;

static void on_plan(void *arg, int status, const void *body, size_t len)
{
    ask_t *a = arg;
    a->done = 1;
    a->status = status ? status : rw_proto_plan_decode(body, len, a->plan);
    su_root_break(a->root);
}

int rw_explain_ask(const char *eps, const rw_route_req_t *rq, unsigned deadline_ms, rw_plan_t *plan)
{
    msgpack_sbuffer sb;
    ask_t a = { .plan = plan };
    int rc = RW_EINVAL;
    msgpack_sbuffer_init(&sb);
    a.root = su_root_create(NULL);
    rw_client_t *cli = a.root ? rw_client_new(a.root, "router", NULL) : NULL;
    if (rw_proto_route_req_encode(rq, &sb) == 0 && cli && rw_bus_static_endpoints(cli, eps) == 0 &&
        rw_client_request(cli, sb.data, sb.size, deadline_ms, on_plan, &a) == 0) {
        while (!a.done)
            su_root_run(a.root);
        rc = a.status < 0 ? (a.status == RW_EINVAL ? RW_EPROTO : a.status) : 0;
    }
    rw_client_destroy(&cli);
    if (a.root)
        su_root_destroy(a.root);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static json_t *target_json(const rw_target_t *t, const cli_edge_t *edge)
{
    char how[256];
    json_t *trunks = json_array();
    for (uint32_t i = 0; t->type == RW_TARGET_NUMBER && i < t->n_trunks && i < RW_PLAN_MAX_TRUNKS; i++)
        json_array_append_new(trunks, json_string(t->trunks[i]));
    int rings = cli_edge_target(edge, t, how, sizeof how);
    json_t *o = json_pack("{s:s,s:s,s:o,s:b,s:s,s:{s:b,s:s}}", "type", rw_proto_target_type_name(t->type),
                          "dest", t->aor, "trunks", trunks, "private", t->is_private, "diversion", t->diversion,
                          "at_edge", "rings", rings, "how", how);
    if (o && t->device[0])       /* a devices target that rings one SIP device of the user only */
        json_object_set_new(o, "device", json_string(t->device));
    return o;
}

json_t *rw_explain_json(const rw_plan_t *p, const cli_edge_t *edge, const char *sentence)
{
    char fin[320];
    json_t *trace = json_array(), *stages = json_array();
    for (uint32_t i = 0; i < p->n_trace; i++)
        json_array_append_new(trace, json_string(p->trace[i]));
    for (uint32_t s = 0; s < p->n_stages; s++) {
        json_t *targets = json_array();
        for (uint32_t t = 0; t < p->stages[s].n_targets; t++)
            json_array_append_new(targets, target_json(&p->stages[s].targets[t], edge));
        json_array_append_new(stages, json_pack("{s:i,s:o}", "ring_ms", (int) p->stages[s].ring_ms,
                                                "targets", targets));
    }
    int has_target = p->final == RW_FINAL_VOICEMAIL || p->final == RW_FINAL_NUMBER;
    cli_edge_final(edge, p, fin, sizeof fin);
    json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:s,s:o}", "status", rw_proto_plan_status_name(p->status),
                          "user", p->user, "stages", stages, "final", rw_proto_final_name(p->final),
                          "final_target", has_target ? target_json(&p->final_target, edge) : json_null(),
                          "final_at_edge", fin, "edge_settings", edge->source, "trace", trace);
    if (o && sentence)
        json_object_set_new(o, "sentence", json_string(sentence));
    return o;
}

json_t *rw_explain_devices(rw_redis_t *r, const char *user_id)
{
    if (!r || !user_id || !user_id[0])
        return NULL;
    redisReply *h = rw_redis_command(r, "HGETALL rw:user:%s:devices", user_id);
    json_t *o = h && h->type == REDIS_REPLY_ARRAY ? json_object() : NULL;
    for (size_t i = 0; o && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && h->element[i + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, h->element[i]->str, json_string(h->element[i + 1]->str));
    if (h)
        freeReplyObject(h);
    return o;
}

/* The device of the user whose stored text is "<kind> <address>", or NULL. */
static const char *device_named(json_t *devices, const char *kind, const char *address)
{
    const char *id;
    json_t *v;
    size_t klen = strlen(kind);
    json_object_foreach(devices, id, v) {
        const char *text = json_string_value(v);
        if (text && !strncmp(text, kind, klen) && text[klen] == ' ' && !strcmp(text + klen + 1, address))
            return id;
    }
    return NULL;
}

/* The only SIP device of the user, or NULL when there are none or several. */
static const char *only_sip_device(json_t *devices)
{
    const char *id, *found = NULL;
    json_t *v;
    int n = 0;
    json_object_foreach(devices, id, v) {
        const char *text = json_string_value(v);
        if (text && !strncmp(text, "sip", 3) && (text[3] == ' ' || !text[3])) {
            found = id;
            n++;
        }
    }
    return n == 1 ? found : NULL;
}

static void target_words(const rw_target_t *t, json_t *devices, char *out, size_t len)
{
    const char *dev;
    switch (t->type) {
    case RW_TARGET_DEVICES:
        if (t->device[0])
            snprintf(out, len, "your %s", t->device);
        else if ((dev = only_sip_device(devices)))
            snprintf(out, len, "your %s", dev);
        else
            snprintf(out, len, "your phones");
        break;
    case RW_TARGET_NUMBER:
        if ((dev = device_named(devices, "number", t->number)))
            snprintf(out, len, "your %s", dev);
        else if (t->number[0] != '+')
            snprintf(out, len, "extension %s", t->number);
        else
            snprintf(out, len, "%s", t->number);
        break;
    case RW_TARGET_HUNTGROUP:
        snprintf(out, len, "hunt group %s", t->group);
        break;
    case RW_TARGET_VOICEMAIL:
        snprintf(out, len, "voicemail");
        break;
    default:
        snprintf(out, len, "nowhere");
    }
}

/* Appends with snprintf semantics; never overflows. */
static size_t add(char *out, size_t len, size_t at, const char *text)
{
    int n = snprintf(out + (at < len ? at : len - 1), at < len ? len - at : 1, "%s", text);
    return at + (n > 0 ? (size_t) n : 0);
}

void rw_explain_sentence(const rw_plan_t *p, const char *callee, json_t *devices, char *out, size_t len)
{
    char words[200], part[400];
    size_t at = 0;
    if (!len)
        return;
    out[0] = '\0';
    if (p->status == RW_PLAN_NOT_FOUND) {
        snprintf(out, len, "No user has the number %s.", callee);
        return;
    }
    if (p->status != RW_PLAN_OK) {
        snprintf(out, len, "The router could not say where calls to %s ring.", callee);
        return;
    }
    snprintf(part, sizeof part, "Calls to %s ", callee);
    at = add(out, len, at, part);
    for (uint32_t s = 0; s < p->n_stages; s++) {
        const rw_stage_t *st = &p->stages[s];
        at = add(out, len, at, s ? ", then " : "ring ");
        for (uint32_t t = 0; t < st->n_targets; t++) {
            target_words(&st->targets[t], devices, words, sizeof words);
            at = add(out, len, at, t == 0 ? "" : t + 1 == st->n_targets ? " and " : ", ");
            at = add(out, len, at, words);
        }
        if (s + 1 < p->n_stages) {                 /* how long before the next stage */
            snprintf(part, sizeof part, " for %u s", (unsigned) ((st->ring_ms + 500) / 1000));
            at = add(out, len, at, part);
        }
    }
    const char *lead = p->n_stages ? "; then " : "go ";
    switch (p->final) {
    case RW_FINAL_VOICEMAIL:
        at = add(out, len, at, lead);
        at = add(out, len, at, p->n_stages ? "voicemail." : "straight to voicemail.");
        break;
    case RW_FINAL_NUMBER:
        target_words(&p->final_target, devices, words, sizeof words);
        snprintf(part, sizeof part, "%s%s%s.", lead, p->n_stages ? "" : "straight to ", words);
        at = add(out, len, at, part);
        break;
    case RW_FINAL_BUSY:
        at = add(out, len, at, p->n_stages ? "; then the caller hears busy." : "get busy.");
        break;
    case RW_FINAL_REJECT:
        at = add(out, len, at, p->n_stages ? "; then the call is refused." : "are refused.");
        break;
    default:
        at = add(out, len, at, p->n_stages ? "; then the caller hears that you are unavailable."
                                           : "get 'unavailable'.");
    }
    (void) at;
}
