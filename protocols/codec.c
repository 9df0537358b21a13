/* protocols/codec.c — msgpack helpers: the pre-scan that makes msgpack-c safe on hostile
 * bytes, one-object parsing, typed getters with bounds, key/value packers and field tables.
 * msgpack-c trusts declared lengths (a 5-byte array header made it reserve 512 MiB), so
 * nothing reaches msgpack_unpack_next() before rw_mp_prescan() has checked every length
 * against the bytes actually present. */
#include "protocols/codec.h"

#include <string.h>

#include "common/err.h"

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | *p++;
    return v;
}

/* Header byte -> (fixed bytes to skip, width of a length field, child items). */
static int prescan_header(unsigned b, uint64_t *skip, int *w, uint64_t *items, int *wcount)
{
    static const uint8_t fixed[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };   /* 0xca..0xd3 */

    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f)
        *items = 2 * (b & 0x0f);
    else if (b <= 0x9f)
        *items = b & 0x0f;
    else if (b <= 0xbf)
        *skip = b & 0x1f;
    else if (b == 0xc1)
        return -1;                                       /* reserved, never valid */
    else if (b <= 0xc6)
        *w = 1 << (b - 0xc4);                            /* bin 8/16/32 */
    else if (b <= 0xc9) {
        *w = 1 << (b - 0xc7);                            /* ext 8/16/32 + type byte */
        *skip = 1;
    } else if (b <= 0xd3)
        *skip = fixed[b - 0xca];
    else if (b <= 0xd8)
        *skip = 1 + (1u << (b - 0xd4));                  /* fixext 1..16 + type byte */
    else if (b <= 0xdb)
        *w = 1 << (b - 0xd9);                            /* str 8/16/32 */
    else
        *wcount = (b & 1) ? 4 : 2;                       /* array/map 16/32 */
    return 0;
}

int rw_mp_prescan(const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    uint64_t need = 1;                                   /* objects still to read */

    if (!data)
        return RW_EPROTO;
    while (need) {
        /* Every object takes at least one byte: more pending than bytes left is a lie. */
        if (p >= end || need > (uint64_t) (end - p))
            return RW_EPROTO;
        unsigned b = *p++;
        uint64_t skip = 0, items = 0;
        int w = 0, wcount = 0;
        need--;
        if (prescan_header(b, &skip, &w, &items, &wcount) < 0)
            return RW_EPROTO;
        if (wcount) {
            if (end - p < wcount)
                return RW_EPROTO;
            items = be(p, wcount) * (b >= 0xde ? 2 : 1);
            p += wcount;
        }
        if (w) {
            if (end - p < w)
                return RW_EPROTO;
            skip += be(p, w);
            p += w;
        }
        if (skip > (uint64_t) (end - p))
            return RW_EPROTO;
        p += skip;
        need += items;
    }
    return p == end ? 0 : RW_EPROTO;
}

int rw_mp_open(rw_mp_doc_t *doc, const void *data, size_t len, uint32_t max_version)
{
    size_t off = 0;
    uint64_t v = 0;
    int rc;

    msgpack_unpacked_init(&doc->unpacked);
    doc->root = NULL;
    doc->version = 0;
    if (len > RW_MP_MAX_MSG)
        return RW_ERANGE;
    if ((rc = rw_mp_prescan(data, len)) != 0)
        return rc;
    if (msgpack_unpack_next(&doc->unpacked, data, len, &off) != MSGPACK_UNPACK_SUCCESS
        || off != len)
        return RW_EPROTO;
    if (doc->unpacked.data.type != MSGPACK_OBJECT_MAP)
        return RW_EPROTO;
    doc->root = &doc->unpacked.data;
    if ((rc = rw_mp_get_uint(doc->root, "v", true, UINT32_MAX, &v)) != 0)
        return RW_EPROTO;
    if (v == 0 || v > max_version)
        return RW_EPROTO;                                /* a major version we do not know */
    doc->version = (uint32_t) v;
    return 0;
}

void rw_mp_close(rw_mp_doc_t *doc)
{
    msgpack_unpacked_destroy(&doc->unpacked);
    doc->root = NULL;
}

static bool key_is(const msgpack_object *k, const char *key, size_t klen)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen
           && memcmp(k->via.str.ptr, key, klen) == 0;
}

int rw_mp_find(const msgpack_object *map, const char *key, const msgpack_object **val)
{
    size_t klen = strlen(key);
    const msgpack_object *found = NULL;

    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return RW_EPROTO;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (!key_is(&kv->key, key, klen))
            continue;
        if (found)
            return RW_EPROTO;                            /* duplicate key: ambiguous */
        found = &kv->val;
    }
    if (!found)
        return RW_ENOTFOUND;
    *val = found;
    return 0;
}

/* 0 with *val, 1 when absent and optional, RW_EPROTO otherwise. */
static int lookup(const msgpack_object *map, const char *key, bool required,
                  const msgpack_object **val)
{
    int rc = rw_mp_find(map, key, val);
    if (rc == RW_ENOTFOUND)
        return required ? RW_EPROTO : 1;
    return rc;
}

int rw_mp_get_uint(const msgpack_object *map, const char *key, bool required, uint64_t max,
                   uint64_t *out)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return RW_ERANGE;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return RW_EPROTO;
    if (o->via.u64 > max)
        return RW_ERANGE;
    *out = o->via.u64;
    return 0;
}

int rw_mp_get_u32(const msgpack_object *map, const char *key, bool required, uint32_t *out)
{
    uint64_t v = *out;
    int rc = rw_mp_get_uint(map, key, required, UINT32_MAX, &v);
    if (rc == 0)
        *out = (uint32_t) v;
    return rc;
}

int rw_mp_get_int(const msgpack_object *map, const char *key, bool required, int64_t min,
                  int64_t max, int64_t *out)
{
    const msgpack_object *o;
    int64_t v;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t) INT64_MAX)
            return RW_ERANGE;
        v = (int64_t) o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = o->via.i64;
    else
        return RW_EPROTO;
    if (v < min || v > max)
        return RW_ERANGE;
    *out = v;
    return 0;
}

int rw_mp_get_bool(const msgpack_object *map, const char *key, bool required, bool *out)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return RW_EPROTO;
    *out = o->via.boolean;
    return 0;
}

int rw_mp_copy_str(const msgpack_object *obj, char *buf, size_t size)
{
    if (obj->type != MSGPACK_OBJECT_STR)
        return RW_EPROTO;
    if (obj->via.str.size >= size)
        return RW_ERANGE;
    if (memchr(obj->via.str.ptr, '\0', obj->via.str.size))
        return RW_EPROTO;
    if (obj->via.str.size)
        memcpy(buf, obj->via.str.ptr, obj->via.str.size);
    buf[obj->via.str.size] = '\0';
    return 0;
}

int rw_mp_get_str(const msgpack_object *map, const char *key, bool required, char *buf,
                  size_t size)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    return rw_mp_copy_str(o, buf, size);
}

int rw_mp_get_enum(const msgpack_object *map, const char *key, bool required,
                   const char *const *names, size_t n, int *out)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type != MSGPACK_OBJECT_STR)
        return RW_EPROTO;
    for (size_t i = 0; i < n; i++) {
        if (names[i] && key_is(o, names[i], strlen(names[i]))) {
            *out = (int) i;
            return 0;
        }
    }
    return RW_EPROTO;                                    /* a value this version does not know */
}

int rw_mp_get_array(const msgpack_object *map, const char *key, bool required, uint32_t max,
                    const msgpack_object_array **out)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return RW_EPROTO;
    if (o->via.array.size > max)
        return RW_ERANGE;
    *out = &o->via.array;
    return 0;
}

int rw_mp_get_map(const msgpack_object *map, const char *key, bool required,
                  const msgpack_object **out)
{
    const msgpack_object *o;
    int rc = lookup(map, key, required, &o);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (o->type != MSGPACK_OBJECT_MAP)
        return RW_EPROTO;
    *out = o;
    return 0;
}

/* ---- encoding ---- */

void rw_mp_packer_init(msgpack_packer *pk, msgpack_sbuffer *out)
{
    msgpack_packer_init(pk, out, msgpack_sbuffer_write);
}

long rw_mp_cstr_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    return nul ? (long) (nul - s) : -1;
}

int rw_mp_pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, key, n) != 0)
        return RW_ENOMEM;
    return 0;
}

int rw_mp_pack_cstr(msgpack_packer *pk, const char *s, size_t size)
{
    long n = rw_mp_cstr_len(s, size);
    if (n < 0)
        return RW_ERANGE;
    if (msgpack_pack_str(pk, (size_t) n) != 0 || msgpack_pack_str_body(pk, s, (size_t) n) != 0)
        return RW_ENOMEM;
    return 0;
}

int rw_mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t size)
{
    int rc = rw_mp_pack_key(pk, key);
    return rc ? rc : rw_mp_pack_cstr(pk, s, size);
}

int rw_mp_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
    int rc = rw_mp_pack_key(pk, key);
    if (rc)
        return rc;
    return msgpack_pack_uint64(pk, v) ? RW_ENOMEM : 0;
}

int rw_mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t v)
{
    int rc = rw_mp_pack_key(pk, key);
    if (rc)
        return rc;
    return msgpack_pack_int64(pk, v) ? RW_ENOMEM : 0;
}

int rw_mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool v)
{
    int rc = rw_mp_pack_key(pk, key);
    if (rc)
        return rc;
    return (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? RW_ENOMEM : 0;
}

/* ---- field tables ---- */

#define AT(base, f, T) ((T *) (void *) ((char *) (base) + (f)->offset))
#define CAT(base, f, T) ((const T *) (const void *) ((const char *) (base) + (f)->offset))

static bool field_is_zero(const rw_mp_field_t *f, const void *base)
{
    switch (f->kind) {
    case RW_MP_STR: return CAT(base, f, char)[0] == '\0';
    case RW_MP_U64: return *CAT(base, f, uint64_t) == 0;
    case RW_MP_U32: return *CAT(base, f, uint32_t) == 0;
    case RW_MP_I32: return *CAT(base, f, int32_t) == 0;
    case RW_MP_BOOL: return !*CAT(base, f, bool);
    }
    return true;
}

uint32_t rw_mp_fields_count(const rw_mp_field_t *f, size_t n, const void *base)
{
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += f[i].required || !field_is_zero(&f[i], base);
    return count;
}

static int encode_field(msgpack_packer *pk, const rw_mp_field_t *f, const void *base)
{
    switch (f->kind) {
    case RW_MP_STR: return rw_mp_pack_kv_str(pk, f->key, CAT(base, f, char), f->size);
    case RW_MP_U64: return rw_mp_pack_kv_uint(pk, f->key, *CAT(base, f, uint64_t));
    case RW_MP_U32: return rw_mp_pack_kv_uint(pk, f->key, *CAT(base, f, uint32_t));
    case RW_MP_I32: return rw_mp_pack_kv_int(pk, f->key, *CAT(base, f, int32_t));
    case RW_MP_BOOL: return rw_mp_pack_kv_bool(pk, f->key, *CAT(base, f, bool));
    }
    return RW_EINVAL;
}

int rw_mp_encode_fields(msgpack_packer *pk, const rw_mp_field_t *f, size_t n, const void *base)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].kind == RW_MP_STR && rw_mp_cstr_len(CAT(base, &f[i], char), f[i].size) < 0)
            return RW_ERANGE;
        if (field_is_zero(&f[i], base)) {
            if (f[i].required && f[i].kind == RW_MP_STR)
                return RW_EINVAL;                        /* required strings are non-empty */
            if (!f[i].required)
                continue;
        }
        int rc = encode_field(pk, &f[i], base);
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_field(const msgpack_object *map, const rw_mp_field_t *f, void *base)
{
    int64_t i64 = 0;
    uint64_t u64 = 0;
    int rc;

    switch (f->kind) {
    case RW_MP_STR:
        rc = rw_mp_get_str(map, f->key, f->required, AT(base, f, char), f->size);
        if (rc == 0 && f->required && AT(base, f, char)[0] == '\0')
            rc = RW_EPROTO;
        return rc;
    case RW_MP_U64:
        return rw_mp_get_uint(map, f->key, f->required, UINT64_MAX, AT(base, f, uint64_t));
    case RW_MP_U32:
        rc = rw_mp_get_uint(map, f->key, f->required, UINT32_MAX, &u64);
        if (rc == 0)
            *AT(base, f, uint32_t) = (uint32_t) u64;
        return rc;
    case RW_MP_I32:
        rc = rw_mp_get_int(map, f->key, f->required, INT32_MIN, INT32_MAX, &i64);
        if (rc == 0)
            *AT(base, f, int32_t) = (int32_t) i64;
        return rc;
    case RW_MP_BOOL:
        return rw_mp_get_bool(map, f->key, f->required, AT(base, f, bool));
    }
    return RW_EINVAL;
}

int rw_mp_decode_fields(const msgpack_object *map, const rw_mp_field_t *f, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        int rc = decode_field(map, &f[i], base);
        if (rc)
            return rc;
    }
    return 0;
}

bool rw_mp_fields_equal(const rw_mp_field_t *f, size_t n, const void *a, const void *b)
{
    for (size_t i = 0; i < n; i++) {
        const void *pa = (const char *) a + f[i].offset, *pb = (const char *) b + f[i].offset;
        if (f[i].kind == RW_MP_STR) {
            if (strncmp(pa, pb, f[i].size) != 0)
                return false;
        } else if (f[i].kind == RW_MP_BOOL) {
            if (*(const bool *) pa != *(const bool *) pb)
                return false;
        } else if (memcmp(pa, pb, f[i].size) != 0) {
            return false;
        }
    }
    return true;
}
