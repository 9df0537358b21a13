/* common/config.c — declared configuration keys, read from an INI file (libinih) and then
 * from RINGWAY_* environment variables, every value validated against its spec.
 * Precedence, lowest first: the spec's default, the file, the environment, rw_config_set().
 * The first problem found becomes one error line naming where it came from (file:line,
 * variable or key), so an operator can fix it without reading code. */
#include "common/config.h"
#include "common/err.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>

typedef enum { SRC_DEFAULT = 0, SRC_FILE, SRC_ENV, SRC_SET } source_t;

typedef struct {
    const rw_cfg_spec_t *spec;
    char *text;             /* NULL: not set (required key without a value yet) */
    long ival;
    bool bval;
    source_t source;
} entry_t;

struct rw_config {
    entry_t *entries;
    size_t n, cap;
    bool skip_unknown;      /* rw_config_skip_unknown() */
};

static void say(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

rw_config_t *rw_config_new(void)
{
    return calloc(1, sizeof(rw_config_t));
}

void rw_config_destroy(rw_config_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->n; i++)
        free((*self)->entries[i].text);
    free((*self)->entries);
    free(*self);
    *self = NULL;
}

static entry_t *find(const rw_config_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].spec->key, key) == 0)
            return &c->entries[i];
    return NULL;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = { "true", "yes", "on", "1" }, *no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return RW_EINVAL;
}

/* Checks text against the spec; on success stores the parsed form in *ival / *bval.
 * The message (without any "where:" prefix) goes into why. */
static int check_value(const rw_cfg_spec_t *spec, const char *text, long *ival, bool *bval,
                       char *why, size_t why_len)
{
    if (spec->type == RW_CFG_BOOL) {
        if (parse_bool(text, bval) == 0)
            return 0;
        say(why, why_len, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
        return RW_EINVAL;
    }
    if (spec->type != RW_CFG_INT)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || isspace((unsigned char) *text) || *end != '\0') {
        say(why, why_len, "'%s' is not an integer", text);
        return RW_EINVAL;
    }
    if (errno == ERANGE) {
        say(why, why_len, "%s is out of range", text);
        return RW_ERANGE;
    }
    if (spec->min != 0 || spec->max != 0) {
        if (v < spec->min) {
            say(why, why_len, "%ld is below the minimum %ld", v, spec->min);
            return RW_ERANGE;
        }
        if (v > spec->max) {
            say(why, why_len, "%ld is above the maximum %ld", v, spec->max);
            return RW_ERANGE;
        }
    }
    *ival = v;
    return 0;
}

/* Validates and stores; where prefixes the message ("ringway.conf:3", "RINGWAY_X"...). */
static int assign(entry_t *e, const char *text, source_t source, const char *where,
                  char *err, size_t err_len)
{
    char why[256];
    long ival = 0;
    bool bval = false;
    int rc = check_value(e->spec, text, &ival, &bval, why, sizeof why);
    if (rc != 0) {
        say(err, err_len, "%s: %s", where, why);
        return RW_EINVAL;
    }
    char *copy = strdup(text);
    if (!copy) {
        say(err, err_len, "%s: out of memory", where);
        return RW_ENOMEM;
    }
    free(e->text);
    e->text = copy;
    e->ival = ival;
    e->bval = bval;
    e->source = source;
    return 0;
}

static int add_one(rw_config_t *c, const rw_cfg_spec_t *spec)
{
    if (spec->type != RW_CFG_STR && spec->type != RW_CFG_INT && spec->type != RW_CFG_BOOL)
        return RW_EINVAL;
    if (spec->type == RW_CFG_INT && spec->min > spec->max)
        return RW_EINVAL;
    if (find(c, spec->key))
        return RW_EEXIST;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        entry_t *entries = realloc(c->entries, cap * sizeof *entries);
        if (!entries)
            return RW_ENOMEM;
        c->entries = entries;
        c->cap = cap;
    }
    entry_t *e = &c->entries[c->n];
    memset(e, 0, sizeof *e);
    e->spec = spec;
    if (spec->def) {
        int rc = assign(e, spec->def, SRC_DEFAULT, spec->key, NULL, 0);
        if (rc != 0)
            return rc;      /* a default that fails its own spec is a bug in the table */
    }
    c->n++;
    return 0;
}

int rw_config_add_spec(rw_config_t *self, const rw_cfg_spec_t *spec)
{
    if (!self || !spec)
        return RW_EINVAL;
    for (const rw_cfg_spec_t *s = spec; s->key; s++) {
        int rc = add_one(self, s);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the file ---- */

typedef struct {
    rw_config_t *cfg;
    const char *path;
    FILE *fp;
    int line;           /* line the reader handed out last */
    int err_line;       /* first line with an error found here (0: none) */
    char *err;
    size_t err_len;
} file_ctx_t;

static void file_error(file_ctx_t *f, const char *fmt, ...)
{
    char msg[300];
    if (f->err_line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    f->err_line = f->line;
    say(f->err, f->err_len, "%s:%d: %s", f->path, f->line, msg);
}

/* fgets that counts lines and refuses lines too long for inih's buffer. */
static char *read_line(char *str, int num, void *stream)
{
    file_ctx_t *f = stream;
    if (!fgets(str, num, f->fp))
        return NULL;
    f->line++;
    size_t len = strlen(str);
    if (len > 0 && str[len - 1] != '\n' && !feof(f->fp)) {
        int ch = getc(f->fp);
        if (ch == EOF || ch == '\n')
            return str;             /* the line just fitted */
        while ((ch = getc(f->fp)) != EOF && ch != '\n')
            ;
        file_error(f, "line longer than %d characters", num - 1);
    }
    return str;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    file_ctx_t *f = user;
    char key[256], where[512], text[1024];
    if (*section)
        snprintf(key, sizeof key, "%s.%s", section, name);
    else
        snprintf(key, sizeof key, "%s", name);
    entry_t *e = find(f->cfg, key);
    if (!e && f->cfg->skip_unknown)
        return 1;
    if (!e) {
        file_error(f, "unknown key '%s'", key);
        return 0;
    }
    size_t len = strlen(value);     /* one pair of surrounding double quotes is dropped */
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"')
        snprintf(text, sizeof text, "%.*s", (int) (len - 2), value + 1);
    else
        snprintf(text, sizeof text, "%s", value);
    if (e->source == SRC_SET)
        return 1;                   /* set by the program (flags): it wins */
    snprintf(where, sizeof where, "%s:%d: %s", f->path, f->line, key);
    if (!f->err_line && assign(e, text, SRC_FILE, where, f->err, f->err_len) != 0) {
        f->err_line = f->line;
        return 0;
    }
    return 1;
}

static int load_file(rw_config_t *c, const char *path, char *err, size_t err_len)
{
    file_ctx_t f = { .cfg = c, .path = path, .err = err, .err_len = err_len };
    f.fp = fopen(path, "r");
    if (!f.fp) {
        say(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return RW_EINVAL;
    }
    int rc = ini_parse_stream(read_line, &f, on_ini_value, &f);
    fclose(f.fp);
    if (rc == 0 && !f.err_line)
        return 0;
    if (rc > 0 && (!f.err_line || rc < f.err_line))
        say(err, err_len, "%s:%d: syntax error (expected 'key = value' or '[section]')",
            path, rc);
    else if (rc < 0 && !f.err_line)
        say(err, err_len, "%s: cannot read", path);
    return RW_EINVAL;
}

/* ---- environment, checks, public API ---- */

void rw_config_env_name(const char *key, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    size_t n = (size_t) snprintf(buf, len, "RINGWAY_");
    for (const char *k = key ? key : ""; *k && n + 1 < len; k++)
        buf[n++] = isalnum((unsigned char) *k) ? (char) toupper((unsigned char) *k) : '_';
    buf[n < len ? n : len - 1] = '\0';
}

static int load_env(rw_config_t *c, char *err, size_t err_len)
{
    char name[300];
    for (size_t i = 0; i < c->n; i++) {
        entry_t *e = &c->entries[i];
        rw_config_env_name(e->spec->key, name, sizeof name);
        const char *v = getenv(name);
        if (!v || e->source == SRC_SET)
            continue;
        int rc = assign(e, v, SRC_ENV, name, err, err_len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void rw_config_skip_unknown(rw_config_t *self, bool skip)
{
    if (self)
        self->skip_unknown = skip;
}

int rw_config_load(rw_config_t *self, const char *path, char *err, size_t err_len)
{
    char name[300];
    if (!self) {
        say(err, err_len, "no configuration");
        return RW_EINVAL;
    }
    if (path && load_file(self, path, err, err_len) != 0)
        return RW_EINVAL;
    if (load_env(self, err, err_len) != 0)
        return RW_EINVAL;
    for (size_t i = 0; i < self->n; i++) {
        if (!self->entries[i].text) {
            rw_config_env_name(self->entries[i].spec->key, name, sizeof name);
            say(err, err_len, "missing required key '%s' (set it in the file or %s)",
                self->entries[i].spec->key, name);
            return RW_EINVAL;
        }
    }
    return 0;
}

int rw_config_set(rw_config_t *self, const char *key, const char *value, char *err,
                  size_t err_len)
{
    entry_t *e = self && key ? find(self, key) : NULL;
    if (!e) {
        say(err, err_len, "unknown key '%s'", key ? key : "(null)");
        return RW_EINVAL;
    }
    if (!value) {
        say(err, err_len, "%s: no value", key);
        return RW_EINVAL;
    }
    return assign(e, value, SRC_SET, key, err, err_len) == 0 ? 0 : RW_EINVAL;
}

static const entry_t *declared(const rw_config_t *c, const char *key, rw_cfg_type_t type)
{
    const entry_t *e = c && key ? find(c, key) : NULL;
    if (!e || e->spec->type != type) {
        fprintf(stderr, "ringway: configuration key '%s' is %s\n", key ? key : "(null)",
                e ? "read with the wrong type" : "not declared");
        abort();
    }
    return e;
}

const char *rw_config_str(const rw_config_t *self, const char *key)
{
    const entry_t *e = declared(self, key, RW_CFG_STR);
    return e->text ? e->text : "";
}

long rw_config_int(const rw_config_t *self, const char *key)
{
    return declared(self, key, RW_CFG_INT)->ival;
}

bool rw_config_bool(const rw_config_t *self, const char *key)
{
    return declared(self, key, RW_CFG_BOOL)->bval;
}
