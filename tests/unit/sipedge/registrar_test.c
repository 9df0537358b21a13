/* tests/unit/sipedge/registrar_test.c — registrar + digest auth over real SIP on loopback:
 * an NTA server running rw_registrar, an NTA client sending REGISTERs, a real redis-server
 * holding the directory and the bindings, and a bus subscriber watching reg.* events.
 * Devices: alice (2001) has the SIP devices desk and soft; a REGISTER to 2001-desk with her
 * credentials binds for the desk only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#include "bus/bus.h"
#include "common/clock.h"
#include "services/sip-edge/digest.h"
#include "services/sip-edge/nonce.h"
#include "services/sip-edge/registrar.h"
#include "tests/harness/redis_fixture.h"

#define REALM "ringway.local"
#define SECRET "unit-secret"

static rw_redis_fixture_t fx;
static su_root_t *root;
static rw_aredis_t *redis;
static nta_agent_t *server, *client;
static nta_leg_t *leg, *cleg;
static rw_auth_t *auth;
static rw_location_t *loc;
static rw_registrar_t *reg;
static rw_pub_t *pub;
static rw_sub_t *sub;
static rw_metrics_t *metrics;
static char server_uri[64];
static rw_event_t events[16];
static int n_events;

typedef struct {
    int done, status, stale, n_challenges, n_contacts;
    char phrase[64], nonce[64], first_alg[16], min_expires[16], retry_after[16], contacts[1024];
} resp_t;

static void run_until(const int *flag, int ms)
{
    uint64_t end = rw_clock_mono_ms() + (uint64_t) ms;
    while (!*flag && rw_clock_mono_ms() < end)
        su_root_step(root, 5);
}

static char proxy_user[32];

static void on_proxy_auth(void *arg, rw_auth_result_t res, const char *ext, const char *user_id)
{
    nta_incoming_t *irq = arg;
    if (res == RW_AUTH_OK) {
        snprintf(proxy_user, sizeof proxy_user, "%s/%s", ext, user_id);
        nta_incoming_treply(irq, SIP_200_OK, TAG_END());
    }
    nta_incoming_destroy(irq);
}

/* REGISTER goes to the registrar; any other request is authenticated as a proxy would. */
static int on_request(nta_leg_magic_t *m, nta_leg_t *l, nta_incoming_t *irq, const sip_t *sip)
{
    (void) m;
    (void) l;
    if (sip->sip_request->rq_method != sip_method_register)
        return rw_auth_check(auth, irq, sip, 1, on_proxy_auth, irq) == 0 ? 0 : 500;
    return rw_registrar_handle(reg, irq, sip);
}

static void on_event(void *arg, const rw_event_t *ev, rw_seq_status_t st)
{
    (void) arg;
    (void) st;
    if (n_events < 16)
        events[n_events++] = *ev;
}

static const char *param(const msg_param_t *params, const char *name)
{
    size_t n = strlen(name);
    for (; params && *params; params++)
        if (!strncasecmp(*params, name, n) && (*params)[n] == '=')
            return *params + n + 1;
    return NULL;
}

static void unquote(char *dst, size_t cap, const char *s)
{
    if (!s)
        s = "";
    if (*s == '"')
        s++;
    snprintf(dst, cap, "%s", s);
    size_t n = strlen(dst);
    if (n && dst[n - 1] == '"')
        dst[n - 1] = '\0';
}

static int on_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    resp_t *r = (resp_t *) magic;
    if (!sip || sip->sip_status->st_status < 200) {
        if (!sip) {
            r->status = nta_outgoing_status(orq);
            r->done = 1;
            nta_outgoing_destroy(orq);
        }
        return 0;
    }
    r->status = sip->sip_status->st_status;
    snprintf(r->phrase, sizeof r->phrase, "%s", sip->sip_status->st_phrase);
    const msg_auth_t *ch = sip->sip_www_authenticate ? sip->sip_www_authenticate
                                                     : sip->sip_proxy_authenticate;
    for (const msg_auth_t *w = ch; w; w = w->au_next) {
        if (r->n_challenges++ == 0) {
            unquote(r->nonce, sizeof r->nonce, param(w->au_params, "nonce"));
            unquote(r->first_alg, sizeof r->first_alg, param(w->au_params, "algorithm"));
            r->stale = param(w->au_params, "stale") != NULL;
        }
    }
    if (sip->sip_min_expires)
        snprintf(r->min_expires, sizeof r->min_expires, "%lu", sip->sip_min_expires->me_delta);
    if (sip->sip_retry_after)
        snprintf(r->retry_after, sizeof r->retry_after, "%lu", sip->sip_retry_after->af_delta);
    for (const sip_contact_t *m = sip->sip_contact; m; m = m->m_next) {
        r->n_contacts++;
        size_t at = strlen(r->contacts);
        snprintf(r->contacts + at, sizeof r->contacts - at, "%s%s:%s;q=%s", at ? "," : "",
                 m->m_url->url_user ? m->m_url->url_user : "", m->m_url->url_port ? m->m_url->url_port : "",
                 m->m_q ? m->m_q : "");
    }
    r->done = 1;
    nta_outgoing_destroy(orq);
    return 0;
}

static resp_t do_register(const char *to_user, const char *contact, const char *expires,
                          const char *authz)
{
    resp_t r;
    memset(&r, 0, sizeof r);
    char to[64];
    snprintf(to, sizeof to, "<sip:%s@" REALM ">", to_user);
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        cleg, on_response, (nta_outgoing_magic_t *) &r, URL_STRING_MAKE(server_uri),
        SIP_METHOD_REGISTER, URL_STRING_MAKE("sip:" REALM), SIPTAG_TO_STR(to), SIPTAG_FROM_STR(to),
        TAG_IF(contact, SIPTAG_CONTACT_STR(contact)), TAG_IF(expires, SIPTAG_EXPIRES_STR(expires)),
        TAG_IF(authz, SIPTAG_AUTHORIZATION_STR(authz)), SIPTAG_USER_AGENT_STR("unit-phone"), TAG_END());
    ck_assert_ptr_nonnull(orq);
    run_until(&r.done, 5000);
    ck_assert(r.done);
    return r;
}

static void credentials(char *out, size_t cap, rw_digest_alg_t alg, const char *user,
                        const char *password, const char *nonce, const char *nc)
{
    char ha1[RW_DIGEST_HEX_MAX], resp[RW_DIGEST_HEX_MAX];
    rw_digest_ha1(alg, user, REALM, password, ha1);
    rw_digest_response(alg, ha1, nonce, nc, "c0ffee", "auth", "REGISTER", "sip:" REALM, resp);
    snprintf(out, cap, "Digest username=\"%s\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
             "\", response=\"%s\", algorithm=%s, qop=auth, nc=%s, cnonce=\"c0ffee\"",
             user, nonce, resp, rw_digest_alg_name(alg), nc);
}

/* Challenge, then answer it with the digest user name auth_user, To user to_user. */
static resp_t register_to(const char *to_user, const char *auth_user, const char *password,
                          const char *contact, const char *expires)
{
    resp_t c = do_register(to_user, contact, expires, NULL);
    ck_assert_int_eq(c.status, 401);
    char a[512];
    credentials(a, sizeof a, RW_DIGEST_MD5, auth_user, password, c.nonce, "00000001");
    return do_register(to_user, contact, expires, a);
}

/* Challenge, then answer it. */
static resp_t register_as(const char *user, const char *password, const char *contact,
                          const char *expires)
{
    resp_t c = do_register(user, contact, expires, NULL);
    ck_assert_int_eq(c.status, 401);
    char a[512];
    credentials(a, sizeof a, RW_DIGEST_MD5, user, password, c.nonce, "00000001");
    return do_register(user, contact, expires, a);
}

static void setup_redis(void)
{
    ck_assert_int_eq(rw_redis_fixture_start(&fx), 0);
}

static void teardown_redis(void)
{
    rw_redis_fixture_stop(&fx);
}

static void ignore(void *arg, redisReply *r)
{
    (void) r;
    *(int *) arg += 1;
}

static void start(const char *algorithms, unsigned fail_limit)
{
    su_init();
    root = su_root_create(NULL);
    metrics = rw_metrics_new("ringway_sip_edge");
    rw_redis_opts_t o = { .host = "127.0.0.1", .port = fx.port, .command_timeout_ms = 500 };
    redis = rw_aredis_new(root, &o);
    uint64_t end = rw_clock_mono_ms() + 3000;
    while (!rw_aredis_connected(redis) && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    char ha1[RW_DIGEST_HEX_MAX], ha256[RW_DIGEST_HEX_MAX];
    rw_digest_ha1(RW_DIGEST_MD5, "2001", REALM, "alice-pw", ha1);
    rw_digest_ha1(RW_DIGEST_SHA256, "2001", REALM, "alice-pw", ha256);
    int acks = 0;
    rw_aredis_command(redis, ignore, &acks, "FLUSHALL");
    rw_aredis_command(redis, ignore, &acks, "SET rw:num:2001 alice");
    rw_aredis_command(redis, ignore, &acks, "HSET rw:user:alice id alice ext 2001 realm %s ha1 %s ha1_sha256 %s",
                      REALM, ha1, ha256);
    rw_aredis_command(redis, ignore, &acks, "HSET rw:user:alice:devices desk %s soft %s mobile %s",
                      "sip ", "sip ", "number +447700900001");
    while (acks < 4 && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
    ck_assert_int_eq(acks, 4);

    server = nta_agent_create(root, URL_STRING_MAKE("sip:127.0.0.1:*;transport=udp"), NULL, NULL, TAG_END());
    client = nta_agent_create(root, URL_STRING_MAKE("sip:127.0.0.1:*;transport=udp"), NULL, NULL, TAG_END());
    ck_assert(server && client);
    snprintf(server_uri, sizeof server_uri, "sip:127.0.0.1:%s;transport=udp",
             nta_agent_contact(server)->m_url->url_port);
    leg = nta_leg_tcreate(server, on_request, NULL, NTATAG_NO_DIALOG(1), TAG_END());
    cleg = nta_leg_tcreate(client, NULL, NULL, NTATAG_NO_DIALOG(1), TAG_END());
    rw_auth_opts_t ao = { .realm = REALM, .nonce_secret = SECRET, .fail_limit = fail_limit,
                          .fail_window_s = 60, .lockout_s = 30, .algorithms = algorithms };
    auth = rw_auth_new(root, redis, metrics, &ao);
    loc = rw_location_new(root, redis, metrics);
    pub = rw_pub_new(root, "edge-unit", "tcp://127.0.0.1:0");
    rw_registrar_opts_t ro = { .realm = REALM, .min_expires = 60, .max_expires = 3600,
                               .default_expires = 600, .max_bindings = 4 };
    reg = rw_registrar_new(server, auth, loc, pub, metrics, &ro);
    ck_assert(auth && loc && pub && reg);
    sub = rw_sub_new(root, on_event, NULL, NULL);
    rw_sub_connect(sub, rw_pub_endpoint(pub));
    rw_sub_subscribe(sub, "reg.");
    n_events = 0;
    int never = 0;
    run_until(&never, 200);                                 /* let the subscription settle */
}

static void setup(void) { start(NULL, 10); }
static void setup_sha(void) { start("SHA-256,MD5", 10); }
static void setup_strict(void) { start(NULL, 3); }

static void teardown(void)
{
    rw_registrar_destroy(&reg);
    rw_auth_destroy(&auth);
    rw_location_destroy(&loc);
    nta_leg_destroy(leg);
    nta_leg_destroy(cleg);
    nta_agent_destroy(client);
    nta_agent_destroy(server);
    rw_sub_destroy(&sub);
    rw_pub_destroy(&pub);
    rw_aredis_destroy(&redis);
    rw_metrics_destroy(&metrics);
    su_root_destroy(root);
    su_deinit();
}

static void wait_events(int n)
{
    uint64_t end = rw_clock_mono_ms() + 2000;
    while (n_events < n && rw_clock_mono_ms() < end)
        su_root_step(root, 10);
}

START_TEST(test_no_credentials_get_an_md5_challenge)
{
    resp_t r = do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", NULL);
    ck_assert_int_eq(r.status, 401);
    ck_assert_int_eq(r.n_challenges, 1);
    ck_assert_str_eq(r.first_alg, "MD5");
    ck_assert_int_ge(rw_nonce_age(SECRET, r.nonce, rw_clock_wall_ms() / 1000), 0);
    ck_assert(!r.stale);
}
END_TEST

START_TEST(test_right_password_binds_and_publishes_reg_bound)
{
    resp_t r = register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5999>;q=0.7", "120");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.n_contacts, 1);
    ck_assert_str_eq(r.contacts, "2001:5999;q=0.7");
    wait_events(1);
    ck_assert_int_eq(n_events, 1);
    ck_assert_str_eq(events[0].type, "reg.bound");
    ck_assert_str_eq(events[0].reg.aor, "sip:2001@" REALM);
    ck_assert_str_eq(events[0].reg.contact, "sip:2001@127.0.0.1:5999");
    ck_assert_str_eq(events[0].reg.user_agent, "unit-phone");
    ck_assert_uint_ge(events[0].reg.expires, 118);
}
END_TEST

START_TEST(test_wrong_password_and_unknown_user_get_the_same_403)
{
    resp_t a = register_as("2001", "wrong", "<sip:2001@127.0.0.1:5999>", "120");
    resp_t b = register_as("2999", "alice-pw", "<sip:2999@127.0.0.1:5999>", "120");
    ck_assert_int_eq(a.status, 403);
    ck_assert_int_eq(b.status, 403);
    ck_assert_str_eq(a.phrase, b.phrase);
    ck_assert_int_eq(a.n_challenges, b.n_challenges);
}
END_TEST

START_TEST(test_registering_another_users_address_is_forbidden)
{
    resp_t c = do_register("2002", "<sip:2002@127.0.0.1:5999>", "120", NULL);
    char a[512];
    credentials(a, sizeof a, RW_DIGEST_MD5, "2001", "alice-pw", c.nonce, "00000001");
    resp_t r = do_register("2002", "<sip:2002@127.0.0.1:5999>", "120", a);
    ck_assert_int_eq(r.status, 403);
}
END_TEST

START_TEST(test_expired_nonce_is_stale_and_forged_nonce_rechallenged)
{
    char old[RW_NONCE_LEN + 1], a[512];
    rw_nonce_make(SECRET, rw_clock_wall_ms() / 1000 - 1000, old);
    credentials(a, sizeof a, RW_DIGEST_MD5, "2001", "alice-pw", old, "00000001");
    resp_t r = do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a);
    ck_assert_int_eq(r.status, 401);
    ck_assert(r.stale);
    rw_nonce_make("other-secret", rw_clock_wall_ms() / 1000, old);
    credentials(a, sizeof a, RW_DIGEST_MD5, "2001", "alice-pw", old, "00000001");
    r = do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a);
    ck_assert_int_eq(r.status, 401);
    ck_assert(!r.stale);
}
END_TEST

START_TEST(test_replayed_nonce_count_is_refused)
{
    resp_t c = do_register("2001", NULL, NULL, NULL);
    char a[512];
    credentials(a, sizeof a, RW_DIGEST_MD5, "2001", "alice-pw", c.nonce, "00000001");
    ck_assert_int_eq(do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a).status, 200);
    resp_t r = do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a);
    ck_assert_int_eq(r.status, 401);
    ck_assert(r.stale);
    credentials(a, sizeof a, RW_DIGEST_MD5, "2001", "alice-pw", c.nonce, "00000002");
    ck_assert_int_eq(do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a).status, 200);
}
END_TEST

START_TEST(test_too_brief_gets_423_with_min_expires)
{
    resp_t r = register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5999>", "10");
    ck_assert_int_eq(r.status, 423);
    ck_assert_str_eq(r.min_expires, "60");
}
END_TEST

START_TEST(test_expires_zero_unbinds_and_query_lists)
{
    ck_assert_int_eq(register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5001>;q=0.2, <sip:2001@127.0.0.1:5002>;q=0.8", "120").status, 200);
    resp_t q = register_as("2001", "alice-pw", NULL, NULL);
    ck_assert_int_eq(q.status, 200);
    ck_assert_str_eq(q.contacts, "2001:5002;q=0.8,2001:5001;q=0.2");
    resp_t r = register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5001>", "0");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.n_contacts, 1);
    wait_events(3);
    ck_assert_int_eq(n_events, 3);
    ck_assert_str_eq(events[2].type, "reg.unbound");
    ck_assert_str_eq(events[2].reg.contact, "sip:2001@127.0.0.1:5001");
    r = register_as("2001", "alice-pw", "*", "0");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.n_contacts, 0);
    r = register_as("2001", "alice-pw", "*", "60");
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(r.phrase, "Wildcard Contact Needs Expires 0");
}
END_TEST

/* RFC 3261 10.3 step 6: "*" with any other Contact is invalid, whatever Expires says. */
START_TEST(test_wildcard_with_other_contacts_is_refused)
{
    resp_t r = register_as("2001", "alice-pw", "*, <sip:2001@127.0.0.1:5001>", "0");
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(r.phrase, "Wildcard Contact Must Stand Alone");
    r = register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5001>, *", "0");
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(r.phrase, "Wildcard Contact Must Stand Alone");
}
END_TEST

START_TEST(test_other_requests_get_407_and_proxy_authorization_works)
{
    resp_t r;
    memset(&r, 0, sizeof r);
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        cleg, on_response, (nta_outgoing_magic_t *) &r, URL_STRING_MAKE(server_uri), SIP_METHOD_MESSAGE,
        URL_STRING_MAKE("sip:2002@" REALM), SIPTAG_TO_STR("<sip:2002@" REALM ">"),
        SIPTAG_FROM_STR("<sip:2001@" REALM ">"), TAG_END());
    ck_assert_ptr_nonnull(orq);
    run_until(&r.done, 5000);
    ck_assert_int_eq(r.status, 407);
    ck_assert_int_eq(r.n_challenges, 1);
    char ha1[RW_DIGEST_HEX_MAX], resp[RW_DIGEST_HEX_MAX], a[512];
    rw_digest_ha1(RW_DIGEST_MD5, "2001", REALM, "alice-pw", ha1);
    rw_digest_response(RW_DIGEST_MD5, ha1, r.nonce, "00000001", "c0ffee", "auth", "MESSAGE",
                       "sip:2002@" REALM, resp);
    snprintf(a, sizeof a, "Digest username=\"2001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:2002@"
             REALM "\", response=\"%s\", qop=auth, nc=00000001, cnonce=\"c0ffee\"", r.nonce, resp);
    memset(&r, 0, sizeof r);
    orq = nta_outgoing_tcreate(cleg, on_response, (nta_outgoing_magic_t *) &r, URL_STRING_MAKE(server_uri),
                               SIP_METHOD_MESSAGE, URL_STRING_MAKE("sip:2002@" REALM),
                               SIPTAG_TO_STR("<sip:2002@" REALM ">"), SIPTAG_FROM_STR("<sip:2001@" REALM ">"),
                               SIPTAG_PROXY_AUTHORIZATION_STR(a), TAG_END());
    run_until(&r.done, 5000);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(proxy_user, "2001/alice");
}
END_TEST

START_TEST(test_more_contacts_than_allowed_is_refused)
{
    resp_t r = register_as("2001", "alice-pw", "<sip:a@127.0.0.1:1>, <sip:b@127.0.0.1:2>, "
                           "<sip:c@127.0.0.1:3>, <sip:d@127.0.0.1:4>, <sip:e@127.0.0.1:5>", "120");
    ck_assert_int_eq(r.status, 403);
}
END_TEST

START_TEST(test_sha256_offered_first_and_accepted)
{
    resp_t c = do_register("2001", NULL, NULL, NULL);
    ck_assert_int_eq(c.status, 401);
    ck_assert_int_eq(c.n_challenges, 2);
    ck_assert_str_eq(c.first_alg, "SHA-256");
    char a[512];
    credentials(a, sizeof a, RW_DIGEST_SHA256, "2001", "alice-pw", c.nonce, "00000001");
    ck_assert_int_eq(do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a).status, 200);
    credentials(a, sizeof a, RW_DIGEST_SHA256, "2001", "wrong", c.nonce, "00000002");
    ck_assert_int_eq(do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", a).status, 403);
}
END_TEST

START_TEST(test_repeated_failures_lock_the_source_out)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(register_as("2001", "guess", "<sip:2001@127.0.0.1:5999>", "120").status, 403);
    resp_t r = do_register("2001", "<sip:2001@127.0.0.1:5999>", "120", NULL);
    ck_assert_int_eq(r.status, 503);
    ck_assert_int_ge(atoi(r.retry_after), 25);
    char *text = NULL;
    size_t len = 0;
    rw_metrics_render(metrics, &text, &len);
    ck_assert_ptr_nonnull(strstr(text, "ringway_sip_edge_auth_lockouts_total 1"));
    free(text);
}
END_TEST

START_TEST(test_known_user_authenticates_from_cache_while_redis_is_stopped)
{
    ck_assert_int_eq(register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5999>", "120").status, 200);
    rw_redis_fixture_suspend(&fx);
    resp_t r = register_as("2001", "alice-pw", "<sip:2001@127.0.0.1:5999>", "120");
    rw_redis_fixture_resume(&fx);
    /* Auth passed from the HA1 cache; the binding could not be written: 503, not 403. */
    ck_assert_int_eq(r.status, 503);
}
END_TEST

START_TEST(test_a_device_registers_with_the_users_credentials_and_is_tagged)
{
    resp_t r = register_to("2001-desk", "2001", "alice-pw", "<sip:desk@127.0.0.1:5001>", "120");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.contacts, "desk:5001;q=1");
    wait_events(1);
    ck_assert_int_eq(n_events, 1);
    ck_assert_str_eq(events[0].type, "reg.bound");
    ck_assert_str_eq(events[0].reg.aor, "sip:2001@" REALM);     /* the user's AOR, tagged */
    ck_assert_str_eq(events[0].reg.device, "desk");
    r = register_to("2001-soft", "2001", "alice-pw", "<sip:soft@127.0.0.1:5002>", "120");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.contacts, "soft:5002;q=1");              /* its own bindings only */
    ck_assert_int_eq(register_as("2001", "alice-pw", "<sip:plain@127.0.0.1:5003>", "120").status, 200);
    resp_t q = register_as("2001", "alice-pw", NULL, NULL);    /* the user as a whole: all */
    ck_assert_int_eq(q.n_contacts, 3);
    q = register_to("2001-desk", "2001", "alice-pw", NULL, NULL);
    ck_assert_int_eq(q.status, 200);
    ck_assert_str_eq(q.contacts, "desk:5001;q=1");
    wait_events(3);
    ck_assert_str_eq(events[2].reg.device, "");                /* plain 2001: no device */
    /* "*" from the desk removes the desk's binding only. */
    r = register_to("2001-desk", "2001", "alice-pw", "*", "0");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.n_contacts, 0);
    wait_events(4);
    ck_assert_str_eq(events[3].type, "reg.unbound");
    ck_assert_str_eq(events[3].reg.device, "desk");
    q = register_as("2001", "alice-pw", NULL, NULL);
    ck_assert_int_eq(q.n_contacts, 2);
}
END_TEST

START_TEST(test_unknown_device_gets_the_same_403_as_a_wrong_password)
{
    resp_t wrong = register_to("2001-desk", "2001", "wrong", "<sip:desk@127.0.0.1:5001>", "120");
    ck_assert_int_eq(wrong.status, 403);
    static const char *const to[] = { "2001-nosuch", "2001-mobile", "2001-Desk", "2001-", "2001-a b" };
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        resp_t r = register_to(to[i], "2001", "alice-pw", "<sip:x@127.0.0.1:5009>", "120");
        ck_assert_int_eq(r.status, 403);
        ck_assert_str_eq(r.phrase, wrong.phrase);
        ck_assert_int_eq(r.n_challenges, wrong.n_challenges);
    }
    resp_t q = register_to("2001-nosuch", "2001", "alice-pw", NULL, NULL);   /* a query too */
    ck_assert_int_eq(q.status, 403);
    ck_assert_str_eq(q.phrase, wrong.phrase);
    /* Another user's address stays "Not Allowed To Register This Address". */
    resp_t other = register_to("2002-desk", "2001", "alice-pw", "<sip:x@127.0.0.1:5009>", "120");
    ck_assert_int_eq(other.status, 403);
    ck_assert_str_ne(other.phrase, wrong.phrase);
    ck_assert_int_eq(register_as("2001", "alice-pw", NULL, NULL).n_contacts, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registrar");
    TCase *tc = tcase_create("md5");
    tcase_add_unchecked_fixture(tc, setup_redis, teardown_redis);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_no_credentials_get_an_md5_challenge);
    tcase_add_test(tc, test_right_password_binds_and_publishes_reg_bound);
    tcase_add_test(tc, test_wrong_password_and_unknown_user_get_the_same_403);
    tcase_add_test(tc, test_registering_another_users_address_is_forbidden);
    tcase_add_test(tc, test_expired_nonce_is_stale_and_forged_nonce_rechallenged);
    tcase_add_test(tc, test_replayed_nonce_count_is_refused);
    tcase_add_test(tc, test_too_brief_gets_423_with_min_expires);
    tcase_add_test(tc, test_expires_zero_unbinds_and_query_lists);
    tcase_add_test(tc, test_wildcard_with_other_contacts_is_refused);
    tcase_add_test(tc, test_more_contacts_than_allowed_is_refused);
    tcase_add_test(tc, test_other_requests_get_407_and_proxy_authorization_works);
    tcase_add_test(tc, test_known_user_authenticates_from_cache_while_redis_is_stopped);
    tcase_add_test(tc, test_a_device_registers_with_the_users_credentials_and_is_tagged);
    tcase_add_test(tc, test_unknown_device_gets_the_same_403_as_a_wrong_password);
    suite_add_tcase(s, tc);
    TCase *sha = tcase_create("sha256");
    tcase_add_unchecked_fixture(sha, setup_redis, teardown_redis);
    tcase_add_checked_fixture(sha, setup_sha, teardown);
    tcase_add_test(sha, test_sha256_offered_first_and_accepted);
    suite_add_tcase(s, sha);
    TCase *strict = tcase_create("lockout");
    tcase_add_unchecked_fixture(strict, setup_redis, teardown_redis);
    tcase_add_checked_fixture(strict, setup_strict, teardown);
    tcase_set_timeout(strict, 30);
    tcase_add_test(strict, test_repeated_failures_lock_the_source_out);
    suite_add_tcase(s, strict);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
