/* fuzz/make_corpus.c — writes valid seed messages for the fuzz targets:
 * <dir>/fuzz_route_req/, <dir>/fuzz_plan/ and <dir>/fuzz_event/ (directories must exist).
 * Seeds are the unit tests' samples plus small variants, so the fuzzers start from every
 * message shape instead of discovering msgpack from nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samples.h"

static int write_seed(const char *dir, const char *target, const char *name,
                      const msgpack_sbuffer *sb)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(sb->data, 1, sb->size, f) != sb->size) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static int seed_plans(const char *dir)
{
    static rw_plan_t p;
    msgpack_sbuffer sb;
    static const rw_final_t finals[] = { RW_FINAL_BUSY, RW_FINAL_UNAVAILABLE, RW_FINAL_NUMBER,
                                         RW_FINAL_REJECT, RW_FINAL_VOICEMAIL };
    int rc = 0;
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        char name[32];
        sample_plan(&p);
        p.final = finals[i];
        if (p.final == RW_FINAL_NUMBER) {
            p.final_target.type = RW_TARGET_NUMBER;
            p.final_target.n_trunks = 1;
            strcpy(p.final_target.trunks[0], "bt-sip");
        }
        p.n_stages = (uint32_t) i % 4;
        msgpack_sbuffer_init(&sb);
        snprintf(name, sizeof name, "plan-%zu", i);
        if (rw_proto_plan_encode(&p, &sb) != 0 || write_seed(dir, "fuzz_plan", name, &sb) != 0)
            rc = -1;
        msgpack_sbuffer_destroy(&sb);
    }
    return rc;
}

int main(int argc, char **argv)
{
    rw_route_req_t r;
    rw_event_t ev;
    msgpack_sbuffer sb;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    sample_route_req(&r);
    msgpack_sbuffer_init(&sb);
    rc |= rw_proto_route_req_encode(&r, &sb) || write_seed(argv[1], "fuzz_route_req", "req-0", &sb);
    msgpack_sbuffer_clear(&sb);
    r.n_diversions = 0;
    r.callee_uri[0] = '\0';
    rc |= rw_proto_route_req_encode(&r, &sb) || write_seed(argv[1], "fuzz_route_req", "req-1", &sb);
    msgpack_sbuffer_destroy(&sb);
    rc |= seed_plans(argv[1]);
    for (int f = RW_EVF_UNKNOWN; f <= RW_EVF_DIRECTORY; f++) {
        char name[32];
        sample_event(&ev, (rw_event_family_t) f);
        msgpack_sbuffer_init(&sb);
        snprintf(name, sizeof name, "event-%s", rw_proto_event_family_name((rw_event_family_t) f));
        rc |= rw_proto_event_encode(&ev, &sb) || write_seed(argv[1], "fuzz_event", name, &sb);
        msgpack_sbuffer_destroy(&sb);
    }
    return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
