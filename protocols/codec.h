/* protocols/codec.h — msgpack helpers shared by every Ringway message.
 * Decoding side: a pre-scan that refuses any declared size larger than the bytes present
 * (so msgpack-c never reserves memory the input cannot back), one-object parsing with no
 * trailing bytes, find-field-by-key and typed getters that check type, range and length.
 * Encoding side: key/value packers. Nothing here keeps pointers into the input past
 * rw_mp_close(); nothing asserts on input. */
#ifndef RW_PROTO_CODEC_H
#define RW_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define RW_MP_MAX_MSG 65536           /* larger messages are refused (RW_ERANGE) */

/* 0 when data[0..len) is exactly one complete msgpack object whose every declared length
 * fits in the bytes present; RW_EPROTO otherwise (truncated, trailing bytes, reserved 0xc1). */
int rw_mp_prescan(const void *data, size_t len);

/* A parsed message: the root map, valid until rw_mp_close(). */
typedef struct {
    msgpack_unpacked unpacked;
    const msgpack_object *root;       /* always a MAP after a successful rw_mp_open() */
    uint32_t version;                 /* value of "v" */
} rw_mp_doc_t;

/* Length limit, pre-scan, unpack, root must be a map whose "v" is a uint in 1..max_version.
 * 0, RW_ERANGE (too long) or RW_EPROTO. Call rw_mp_close() whatever it returned. */
int rw_mp_open(rw_mp_doc_t *doc, const void *data, size_t len, uint32_t max_version);
void rw_mp_close(rw_mp_doc_t *doc);

/* The value of `key` in `map` (keys that are not strings are skipped). 0 and *val,
 * RW_ENOTFOUND, or RW_EPROTO if the key appears twice or map is not a map. */
int rw_mp_find(const msgpack_object *map, const char *key, const msgpack_object **val);

/* Typed getters. A missing key is RW_EPROTO when `required`, else 0 with *out untouched.
 * A value of the wrong type is RW_EPROTO; beyond `max` (or the buffer) is RW_ERANGE. */
int rw_mp_get_uint(const msgpack_object *map, const char *key, bool required, uint64_t max,
                   uint64_t *out);
int rw_mp_get_u32(const msgpack_object *map, const char *key, bool required, uint32_t *out);
int rw_mp_get_int(const msgpack_object *map, const char *key, bool required, int64_t min,
                  int64_t max, int64_t *out);
int rw_mp_get_bool(const msgpack_object *map, const char *key, bool required, bool *out);
/* Copies into buf[size] with a NUL. RW_ERANGE if it needs more than size-1 bytes, RW_EPROTO
 * if it holds a NUL byte. A required string may still be empty: check that yourself. */
int rw_mp_get_str(const msgpack_object *map, const char *key, bool required, char *buf,
                  size_t size);
/* Copies a string object (e.g. an array element) the same way. */
int rw_mp_copy_str(const msgpack_object *obj, char *buf, size_t size);
/* The string value must equal one of names[0..n) (NULL entries skipped); *out = its index. */
int rw_mp_get_enum(const msgpack_object *map, const char *key, bool required,
                   const char *const *names, size_t n, int *out);
/* An array value with at most max elements (more: RW_ERANGE). */
int rw_mp_get_array(const msgpack_object *map, const char *key, bool required, uint32_t max,
                    const msgpack_object_array **out);
int rw_mp_get_map(const msgpack_object *map, const char *key, bool required,
                  const msgpack_object **out);

/* Encoding. Each packs a string key then the value; return 0 or RW_ENOMEM. Strings come from
 * fixed buffers: rw_mp_pack_kv_str() returns RW_ERANGE if s has no NUL within size bytes. */
void rw_mp_packer_init(msgpack_packer *pk, msgpack_sbuffer *out);
int rw_mp_pack_key(msgpack_packer *pk, const char *key);
int rw_mp_pack_cstr(msgpack_packer *pk, const char *s, size_t size);
int rw_mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t size);
int rw_mp_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t v);
int rw_mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t v);
int rw_mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool v);

/* Field tables: a message's scalar fields described once, used to encode, decode and compare.
 * STR fields are char[size] buffers; a required STR must be present and non-empty. Optional
 * fields equal to zero / "" are not written. */
typedef enum { RW_MP_STR, RW_MP_U64, RW_MP_U32, RW_MP_I32, RW_MP_BOOL } rw_mp_kind_t;
typedef struct {
    const char *key;
    rw_mp_kind_t kind;
    size_t offset;                    /* offsetof(struct, member) */
    size_t size;                      /* sizeof member */
    bool required;
} rw_mp_field_t;

#define RW_MP_FIELD(type, member, key, kind, required) \
    { (key), (kind), offsetof(type, member), sizeof(((type *) 0)->member), (required) }

/* Entries rw_mp_encode_fields() will write (for the map header). */
uint32_t rw_mp_fields_count(const rw_mp_field_t *f, size_t n, const void *base);
/* RW_EINVAL if a required field is zero / "", RW_ERANGE if a string is not terminated. */
int rw_mp_encode_fields(msgpack_packer *pk, const rw_mp_field_t *f, size_t n, const void *base);
int rw_mp_decode_fields(const msgpack_object *map, const rw_mp_field_t *f, size_t n, void *base);
bool rw_mp_fields_equal(const rw_mp_field_t *f, size_t n, const void *a, const void *b);

/* Length of s if it is NUL-terminated within size bytes, else -1. */
long rw_mp_cstr_len(const char *s, size_t size);

#endif
