/* tests/unit/protocols/mutate.h — tools for hostile-input tests: decode a buffer copied to an
 * exactly-sized heap block (so ASan sees any over-read), walk every map entry and array element
 * of a valid message, and repack it with one entry removed or one value replaced. Header-only. */
#ifndef RW_TEST_PROTO_MUTATE_H
#define RW_TEST_PROTO_MUTATE_H

#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* A decoder under test: returns its rc; the decoded value is thrown away. */
typedef int (*mt_decode_fn)(const void *data, size_t len);

static inline int mt_decode_exact(mt_decode_fn fn, const void *data, size_t len)
{
    void *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len)
        memcpy(copy, data, len);
    int rc = fn(len ? copy : NULL, len);
    free(copy);
    return rc;
}

static inline int mt_decode_object(mt_decode_fn fn, const msgpack_object *root)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    ck_assert_int_eq(msgpack_pack_object(&pk, *root), 0);
    int rc = mt_decode_exact(fn, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Visitor: `slot` is the value (map value or array element); `map`/`idx` locate a map entry
 * (map is NULL for array elements); `path` is like "stages[].targets[].type". */
typedef void (*mt_visit_fn)(msgpack_object *root, msgpack_object *slot, msgpack_object *map,
                            uint32_t idx, const char *path, void *arg);

static inline void mt_walk(msgpack_object *root, msgpack_object *o, const char *path,
                           mt_visit_fn fn, void *arg)
{
    char sub[256];
    if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                continue;
            int n = snprintf(sub, sizeof sub, "%s%s%.*s", path, path[0] ? "." : "",
                             (int) kv->key.via.str.size, kv->key.via.str.ptr);
            if (n < 0 || (size_t) n >= sizeof sub)
                continue;                 /* a path this deep is not one the tests mutate */
            fn(root, &kv->val, o, i, sub, arg);
            mt_walk(root, &kv->val, sub, fn, arg);
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        int n = snprintf(sub, sizeof sub, "%s[]", path);
        if (n < 0 || (size_t) n >= sizeof sub)
            return;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            fn(root, &o->via.array.ptr[i], NULL, i, sub, arg);
            mt_walk(root, &o->via.array.ptr[i], sub, fn, arg);
        }
    }
}

typedef struct {
    mt_decode_fn decode;
    const char *const *required;      /* NULL-terminated paths */
    int visited, failures;
} mt_ctx_t;

static inline bool mt_is_required(const mt_ctx_t *c, const char *path)
{
    for (const char *const *r = c->required; *r; r++)
        if (strcmp(*r, path) == 0)
            return true;
    return false;
}

/* Remove one map entry: the decoder must fail iff the key is required. */
static inline void mt_visit_remove(msgpack_object *root, msgpack_object *slot, msgpack_object *map,
                                   uint32_t idx, const char *path, void *arg)
{
    mt_ctx_t *c = arg;
    (void) slot;
    if (!map)
        return;
    msgpack_object_kv saved = map->via.map.ptr[idx];
    uint32_t n = map->via.map.size;
    memmove(&map->via.map.ptr[idx], &map->via.map.ptr[idx + 1],
            (n - idx - 1) * sizeof(msgpack_object_kv));
    map->via.map.size = n - 1;
    int rc = mt_decode_object(c->decode, root);
    map->via.map.size = n;
    memmove(&map->via.map.ptr[idx + 1], &map->via.map.ptr[idx],
            (n - idx - 1) * sizeof(msgpack_object_kv));
    map->via.map.ptr[idx] = saved;
    bool required = mt_is_required(c, path);
    if ((rc != 0) != required) {
        fprintf(stderr, "removing %s: rc %d, expected %s\n", path, rc,
                required ? "failure" : "success");
        c->failures++;
    }
    c->visited++;
}

/* Replace a value by nil, a float, then a map: no field of any message takes nil or a float,
 * and a map only where a map is expected, so the first two must always fail. */
static inline void mt_visit_wrong_type(msgpack_object *root, msgpack_object *slot,
                                       msgpack_object *map, uint32_t idx, const char *path,
                                       void *arg)
{
    mt_ctx_t *c = arg;
    msgpack_object saved = *slot;
    msgpack_object bad[2] = { { .type = MSGPACK_OBJECT_NIL },
                              { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 1.5 } };
    (void) map;
    (void) idx;
    for (int i = 0; i < 2; i++) {
        *slot = bad[i];
        int rc = mt_decode_object(c->decode, root);
        if (rc == 0) {
            fprintf(stderr, "%s as %s was accepted\n", path, i ? "float" : "nil");
            c->failures++;
        }
    }
    *slot = saved;
    c->visited++;
}

/* Unpack a valid encoding (owned by u; caller destroys). */
static inline msgpack_object *mt_unpack(msgpack_unpacked *u, const msgpack_sbuffer *sb)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    ck_assert_int_eq(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

/* Every prefix of a valid message must be refused. */
static inline void mt_check_truncations(mt_decode_fn fn, const msgpack_sbuffer *sb)
{
    for (size_t k = 0; k < sb->size; k++)
        ck_assert_msg(mt_decode_exact(fn, sb->data, k) != 0, "prefix of %zu bytes accepted", k);
}

/* Replace every value found at `path` by `obj`, repack, decode, restore: the decoder's rc. */
typedef struct {
    const char *path;
    msgpack_object obj;
    int hits;
} mt_replace_t;

static inline void mt_visit_replace(msgpack_object *root, msgpack_object *slot,
                                    msgpack_object *map, uint32_t idx, const char *path,
                                    void *arg)
{
    mt_replace_t *r = arg;
    (void) root;
    (void) map;
    (void) idx;
    if (strcmp(path, r->path) == 0) {
        *slot = r->obj;
        r->hits++;
    }
}

static inline int mt_decode_replaced(mt_decode_fn fn, const msgpack_sbuffer *sb,
                                     const char *path, msgpack_object obj)
{
    msgpack_unpacked u;
    msgpack_object *root = mt_unpack(&u, sb);
    mt_replace_t r = { path, obj, 0 };
    mt_walk(root, root, "", mt_visit_replace, &r);
    ck_assert_msg(r.hits > 0, "no value at %s", path);
    int rc = mt_decode_object(fn, root);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* A string object of n 'x' bytes (n <= 1024), and one holding s. */
static inline msgpack_object mt_str(size_t n)
{
    static char xs[1024];
    memset(xs, 'x', sizeof xs);
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t) n, xs } };
}

static inline msgpack_object mt_named(const char *s)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                             .via.str = { (uint32_t) strlen(s), s } };
}

static inline msgpack_object mt_uint(uint64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = v };
}

/* A fixed-seed xorshift generator: the mutation loops are the same on every run. */
static inline uint64_t mt_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#endif
