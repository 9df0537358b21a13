/* common/config.h — one configuration file per service plus RINGWAY_* environment overrides.
 * A service declares its keys in a table (name, type, default, limits, help). The file is INI
 * (libinih): key "port" under "[sip]" is "sip.port"; keys before any section have no dot.
 * The environment then overrides: "sip.port" <- RINGWAY_SIP_PORT. Every value is validated
 * against its spec; an unknown key, a bad number or an out-of-range value is an error naming
 * the file, line (or variable) and key. The config owns every string it returns. */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { RW_CFG_STR, RW_CFG_INT, RW_CFG_BOOL } rw_cfg_type_t;

typedef struct {
    const char *key;      /* "redis.port"; NULL ends a table */
    rw_cfg_type_t type;
    const char *def;      /* default as text; NULL = required (for RW_CFG_STR: may be "") */
    long min, max;        /* for RW_CFG_INT; min == max == 0 means no limit */
    const char *help;     /* one line, for docs and --help */
} rw_cfg_spec_t;

typedef struct rw_config rw_config_t;

rw_config_t *rw_config_new(void);
void rw_config_destroy(rw_config_t **self);
/* Add a table of keys (the table must outlive the config). Several tables may be added. */
int rw_config_add_spec(rw_config_t *self, const rw_cfg_spec_t *spec);
/* Keys in the file that no table declares are skipped instead of refused, for a reader of a
 * shared file that needs only some of its keys (the `ringway` CLI reading a service's file).
 * Off by default: a service refuses a key it does not know, so a typo never goes unnoticed. */
void rw_config_skip_unknown(rw_config_t *self, bool skip);
/* Read path (NULL: no file) then the environment, then check every key.
 * On failure returns RW_EINVAL and writes one line into err. */
int rw_config_load(rw_config_t *self, const char *path, char *err, size_t err_len);
/* Set a value as text, validated (tests, command-line flags). A value set here wins over
 * the file and the environment, also when rw_config_load runs afterwards. */
int rw_config_set(rw_config_t *self, const char *key, const char *value, char *err, size_t err_len);

/* Getters for declared keys; asking for an undeclared key is a programming error (aborts). */
const char *rw_config_str(const rw_config_t *self, const char *key);
long rw_config_int(const rw_config_t *self, const char *key);
bool rw_config_bool(const rw_config_t *self, const char *key);

/* "sip.port" -> "RINGWAY_SIP_PORT" into buf. */
void rw_config_env_name(const char *key, char *buf, size_t len);

#endif
