/* tests/unit/protocols/samples.h — valid example messages, filled to exercise every field.
 * Shared by the protocol unit tests and the fuzz seed-corpus generator. Header-only. */
#ifndef RW_TEST_PROTO_SAMPLES_H
#define RW_TEST_PROTO_SAMPLES_H

#include <stdio.h>
#include <string.h>

#include "protocols/events.h"
#include "protocols/route.h"

static inline void sample_route_req(rw_route_req_t *r)
{
    memset(r, 0, sizeof *r);
    strcpy(r->call_id, "a84b4c76e66710@pc33.example.org");
    strcpy(r->caller, "+441632960001");
    strcpy(r->callee, "2001");
    strcpy(r->callee_uri, "sip:2001@ringway.example.org;user=phone");
    r->time_ms = 1718000000123ull;
    strcpy(r->source, "trunk:bt-sip");
    r->n_diversions = 2;
    strcpy(r->diversions[0], "2002");
    strcpy(r->diversions[1], "2003");
    r->redirect_mode = true;
}

/* A full plan: 3 stages using every target type, final voicemail, 3 trace lines. */
static inline void sample_plan(rw_plan_t *p)
{
    rw_stage_t *s;
    rw_target_t *t;

    memset(p, 0, sizeof *p);
    strcpy(p->call_id, "a84b4c76e66710@pc33.example.org");
    p->status = RW_PLAN_OK;
    strcpy(p->user, "2001");
    rw_proto_plan_add_stage(p, 20000, &s);
    rw_proto_stage_add_target(s, RW_TARGET_DEVICES, "sip:2001@ringway.example.org", NULL);
    rw_proto_stage_add_target(s, RW_TARGET_NUMBER, "+447700900123", &t);
    t->n_trunks = 2;
    strcpy(t->trunks[0], "bt-sip");
    strcpy(t->trunks[1], "backup");
    t->is_private = true;
    strcpy(t->diversion, "no-answer");
    rw_proto_plan_add_stage(p, 15000, &s);
    rw_proto_stage_add_target(s, RW_TARGET_HUNTGROUP, "sales", &t);
    strcpy(t->diversion, "unavailable");
    rw_proto_plan_add_stage(p, 0, &s);
    rw_proto_stage_add_target(s, RW_TARGET_VOICEMAIL, "sip:vm-2001@ringway.example.org", NULL);
    p->final = RW_FINAL_VOICEMAIL;
    p->final_target.type = RW_TARGET_VOICEMAIL;
    strcpy(p->final_target.mailbox, "2001");
    strcpy(p->final_target.diversion, "no-answer");
    rw_proto_plan_trace(p, "10:04 Tue Europe/London; rule '%s' matched", "workday");
    rw_proto_plan_trace(p, "presence available (registration)");
    rw_proto_plan_trace(p, "no calendar divert");
}

/* One event of each family (family index 0..6, 0 = unknown type), every field set. */
static inline void sample_event(rw_event_t *ev, rw_event_family_t family)
{
    static const char *const types[] = {
        "billing.tick", "call.answered", "reg.bound", "presence.changed", "queue.joined",
        "calendar.divert_set", "directory.changed",
    };
    rw_proto_event_init(ev, types[family]);
    strcpy(ev->publisher, "sip-edge-1");
    ev->epoch = 1718000000000000ull;
    ev->seq = 42;
    ev->ts_ms = 1718000000456ull;
    snprintf(ev->id, sizeof ev->id, "%s/%llu/%llu", ev->publisher,
             (unsigned long long) ev->epoch, (unsigned long long) ev->seq);
    switch (family) {
    case RW_EVF_CALL:
        strcpy(ev->call.call_id, "a84b4c76e66710@pc33.example.org");
        strcpy(ev->call.user, "2001");
        strcpy(ev->call.from, "+441632960001");
        strcpy(ev->call.to, "2001");
        strcpy(ev->call.target, "sip:2001@192.0.2.10:5062");
        ev->call.cause = 200;
        strcpy(ev->call.reason, "answered");
        ev->call.fallback = RW_FALLBACK_LAST_PLAN;
        ev->call.pdd_ms = 850;
        ev->call.talk_ms = 61000;
        break;
    case RW_EVF_REG:
        strcpy(ev->reg.aor, "sip:2001@ringway.example.org");
        strcpy(ev->reg.contact, "<sip:2001@192.0.2.10:5062;transport=udp>");
        ev->reg.expires = 3600;
        strcpy(ev->reg.instance, "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
        strcpy(ev->reg.user_agent, "Yealink SIP-T46S 66.86.0.15");
        strcpy(ev->reg.device, "desk");
        break;
    case RW_EVF_PRESENCE:
        strcpy(ev->presence.user, "2001");
        ev->presence.state = RW_PRESENCE_IN_MEETING;
        strcpy(ev->presence.source, "calendar");
        ev->presence.until_ms = 1718003600000ull;
        break;
    case RW_EVF_QUEUE:
        strcpy(ev->queue.group, "sales");
        strcpy(ev->queue.call_id, "q1@pc33.example.org");
        strcpy(ev->queue.agent, "2005");
        ev->queue.position = 3;
        ev->queue.wait_ms = 12000;
        strcpy(ev->queue.state, "on_call");
        break;
    case RW_EVF_CALENDAR:
        strcpy(ev->calendar.user, "2001");
        strcpy(ev->calendar.uid, "040000008200E00074C5B7101A82E008@example.org");
        ev->calendar.start_ms = 1718000000000ull;
        ev->calendar.end_ms = 1718003600000ull;
        strcpy(ev->calendar.summary, "Budget review \xe2\x80\x94 room 4");
        break;
    case RW_EVF_DIRECTORY:
        strcpy(ev->directory.user, "2001");
        strcpy(ev->directory.what, "rules");
        break;
    case RW_EVF_UNKNOWN:
        break;
    }
}

#endif
