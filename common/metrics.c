/* common/metrics.c — a registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format 0.0.4.
 * Series are kept in registration order; the render groups them by family (the name before
 * '{'), so one # HELP / # TYPE pair heads all series of a family. A family has one type. */
#include "common/metrics.h"
#include "common/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

struct rw_counter { uint64_t value; };
struct rw_gauge { double value; };
struct rw_histogram {
    double *bounds;         /* ascending upper bounds; +Inf is implicit */
    uint64_t *buckets;      /* n_bounds + 1 per-bucket (not cumulative) counts */
    size_t n_bounds;
    uint64_t count;
    double sum;
};

typedef struct {
    char *name;             /* as given: "requests_total{result=\"ok\"}" */
    char *family;           /* with prefix: "ringway_router_requests_total" */
    const char *labels;     /* points into name after '{' up to before '}', or "" */
    size_t labels_len;
    char *help;
    kind_t kind;
    struct rw_counter counter;
    struct rw_gauge gauge;
    struct rw_histogram hist;
} metric_t;

struct rw_metrics {
    char *prefix;
    metric_t **items;
    size_t n, cap;
};

static const double default_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    5, 10,
};

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Length of a valid metric name at s, or 0. Label names use the same rule minus ':'. */
static size_t scan_name(const char *s, int allow_colon)
{
    size_t i = 0;
    if (!is_name_start(s[0]) || (!allow_colon && s[0] == ':'))
        return 0;
    while (is_name_char(s[i]) && (allow_colon || s[i] != ':'))
        i++;
    return i;
}

/* Checks `{label="value",...}` exactly to the end of s. "le" is refused in histograms. */
static int valid_labels(const char *s, kind_t kind)
{
    if (*s++ != '{')
        return 0;
    for (;;) {
        size_t n = scan_name(s, 0);
        if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
            return 0;
        if (kind == KIND_HISTOGRAM && n == 2 && strncmp(s, "le", 2) == 0)
            return 0;
        s += n;
        if (s[0] != '=' || s[1] != '"')
            return 0;
        for (s += 2; *s != '"'; s++) {
            if (*s == '\0' || *s == '\n')
                return 0;
            if (*s == '\\' && (s[1] == '\\' || s[1] == '"' || s[1] == 'n'))
                s++;
            else if (*s == '\\')
                return 0;
        }
        s++;
        if (*s == '}')
            return s[1] == '\0';
        if (*s++ != ',')
            return 0;
    }
}

void rw_metrics_destroy(rw_metrics_t **self)
{
    if (!self || !*self)
        return;
    rw_metrics_t *m = *self;
    for (size_t i = 0; i < m->n; i++) {
        metric_t *it = m->items[i];
        free(it->name);
        free(it->family);
        free(it->help);
        free(it->hist.bounds);
        free(it->hist.buckets);
        free(it);
    }
    free(m->items);
    free(m->prefix);
    free(m);
    *self = NULL;
}

rw_metrics_t *rw_metrics_new(const char *prefix)
{
    if (!prefix)
        prefix = "";
    if (*prefix && scan_name(prefix, 1) != strlen(prefix))
        return NULL;
    rw_metrics_t *m = calloc(1, sizeof *m);
    if (!m || !(m->prefix = strdup(prefix)))
        goto fail;
    return m;
fail:
    rw_metrics_destroy(&m);
    return NULL;
}

static metric_t *find(const rw_metrics_t *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i]->name, name) == 0)
            return m->items[i];
    return NULL;
}

static const metric_t *find_family(const rw_metrics_t *m, const char *family, size_t before)
{
    for (size_t i = 0; i < before && i < m->n; i++)
        if (strcmp(m->items[i]->family, family) == 0)
            return m->items[i];
    return NULL;
}

static char *make_family(const char *prefix, const char *name, size_t name_len)
{
    size_t plen = strlen(prefix);
    char *f = malloc(plen + 1 + name_len + 1);
    if (!f)
        return NULL;
    if (plen)
        sprintf(f, "%s_%.*s", prefix, (int) name_len, name);
    else
        sprintf(f, "%.*s", (int) name_len, name);
    return f;
}

static int append(rw_metrics_t *m, metric_t *it)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        metric_t **items = realloc(m->items, cap * sizeof *items);
        if (!items)
            return RW_ENOMEM;
        m->items = items;
        m->cap = cap;
    }
    m->items[m->n++] = it;
    return 0;
}

/* Finds or creates the series; returns NULL on a bad name, a type clash or no memory. */
static metric_t *lookup(rw_metrics_t *m, const char *name, const char *help, kind_t kind,
                        int *created)
{
    *created = 0;
    if (!m || !name)
        return NULL;
    metric_t *it = find(m, name);
    if (it)
        return it->kind == kind ? it : NULL;
    size_t base = scan_name(name, 1);
    if (base == 0 || (name[base] != '\0' && !valid_labels(name + base, kind)))
        return NULL;
    it = calloc(1, sizeof *it);
    if (!it || !(it->name = strdup(name)) || !(it->family = make_family(m->prefix, name, base))
        || !(it->help = strdup(help ? help : "")))
        goto fail;
    const metric_t *sibling = find_family(m, it->family, m->n);
    if (sibling && sibling->kind != kind)
        goto fail;
    it->kind = kind;
    it->labels = name[base] ? it->name + base + 1 : "";
    it->labels_len = name[base] ? strlen(name) - base - 2 : 0;
    *created = 1;
    return it;
fail:
    if (it) {
        free(it->name);
        free(it->family);
        free(it->help);
        free(it);
    }
    return NULL;
}

static metric_t *add_simple(rw_metrics_t *m, const char *name, const char *help, kind_t kind)
{
    int created;
    metric_t *it = lookup(m, name, help, kind, &created);
    if (it && created && append(m, it) != 0) {
        free(it->name);
        free(it->family);
        free(it->help);
        free(it);
        return NULL;
    }
    return it;
}

rw_counter_t *rw_metrics_counter(rw_metrics_t *self, const char *name, const char *help)
{
    metric_t *it = add_simple(self, name, help, KIND_COUNTER);
    return it ? &it->counter : NULL;
}

rw_gauge_t *rw_metrics_gauge(rw_metrics_t *self, const char *name, const char *help)
{
    metric_t *it = add_simple(self, name, help, KIND_GAUGE);
    return it ? &it->gauge : NULL;
}

static int valid_bounds(const double *bounds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return 0;
    return 1;
}

rw_histogram_t *rw_metrics_histogram(rw_metrics_t *self, const char *name, const char *help,
                                     const double *bounds, size_t n_bounds)
{
    if (!bounds || n_bounds == 0) {
        bounds = default_bounds;
        n_bounds = sizeof default_bounds / sizeof default_bounds[0];
    }
    if (!valid_bounds(bounds, n_bounds))
        return NULL;
    int created;
    metric_t *it = lookup(self, name, help, KIND_HISTOGRAM, &created);
    if (!it || !created)
        return it ? &it->hist : NULL;
    it->hist.n_bounds = n_bounds;
    it->hist.bounds = malloc(n_bounds * sizeof *bounds);
    it->hist.buckets = calloc(n_bounds + 1, sizeof *it->hist.buckets);
    if (!it->hist.bounds || !it->hist.buckets || append(self, it) != 0)
        goto fail;
    memcpy(it->hist.bounds, bounds, n_bounds * sizeof *bounds);
    return &it->hist;
fail:
    free(it->hist.bounds);
    free(it->hist.buckets);
    free(it->name);
    free(it->family);
    free(it->help);
    free(it);
    return NULL;
}

void rw_counter_inc(rw_counter_t *c)
{
    if (c)
        c->value++;
}

void rw_counter_add(rw_counter_t *c, uint64_t n)
{
    if (c)
        c->value += n;
}

uint64_t rw_counter_value(const rw_counter_t *c)
{
    return c ? c->value : 0;
}

void rw_gauge_set(rw_gauge_t *g, double v)
{
    if (g)
        g->value = v;
}

void rw_gauge_add(rw_gauge_t *g, double delta)
{
    if (g)
        g->value += delta;
}

double rw_gauge_value(const rw_gauge_t *g)
{
    return g ? g->value : 0.0;
}

void rw_histogram_observe(rw_histogram_t *h, double seconds)
{
    if (!h || isnan(seconds))
        return;
    size_t i = 0;
    while (i < h->n_bounds && seconds > h->bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += seconds;
}

uint64_t rw_histogram_count(const rw_histogram_t *h)
{
    return h ? h->count : 0;
}

/* ---- rendering ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Prometheus float text: NaN, +Inf, -Inf, else the shortest form that reads back exactly. */
static void format_double(char *buf, size_t len, double d)
{
    if (isnan(d)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, len, "%s", d > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
}

static void put_double(text_t *t, double d)
{
    char num[40];
    format_double(num, sizeof num, d);
    puts_(t, num);
}

static void put_u64(text_t *t, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long) v);
    puts_(t, num);
}

static void put_help(text_t *t, const metric_t *it)
{
    static const char *types[] = { "counter", "gauge", "histogram" };
    puts_(t, "# HELP ");
    puts_(t, it->family);
    put(t, " ", 1);
    for (const char *s = it->help; *s; s++) {
        if (*s == '\\') puts_(t, "\\\\");
        else if (*s == '\n') puts_(t, "\\n");
        else put(t, s, 1);
    }
    puts_(t, "\n# TYPE ");
    puts_(t, it->family);
    put(t, " ", 1);
    puts_(t, types[it->kind]);
    put(t, "\n", 1);
}

/* "family<suffix>{labels}" with an optional extra le label. */
static void put_series(text_t *t, const metric_t *it, const char *suffix, const char *le)
{
    puts_(t, it->family);
    puts_(t, suffix);
    if (it->labels_len || le) {
        put(t, "{", 1);
        put(t, it->labels, it->labels_len);
        if (le) {
            puts_(t, it->labels_len ? ",le=\"" : "le=\"");
            puts_(t, le);
            put(t, "\"", 1);
        }
        put(t, "}", 1);
    }
    put(t, " ", 1);
}

static void put_histogram(text_t *t, const metric_t *it)
{
    const struct rw_histogram *h = &it->hist;
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i <= h->n_bounds; i++) {
        cum += h->buckets[i];
        format_double(le, sizeof le, i < h->n_bounds ? h->bounds[i] : INFINITY);
        put_series(t, it, "_bucket", le);
        put_u64(t, cum);
        put(t, "\n", 1);
    }
    put_series(t, it, "_sum", NULL);
    put_double(t, h->sum);
    put(t, "\n", 1);
    put_series(t, it, "_count", NULL);
    put_u64(t, h->count);
    put(t, "\n", 1);
}

static void put_metric(text_t *t, const metric_t *it)
{
    switch (it->kind) {
    case KIND_COUNTER:
        put_series(t, it, "", NULL);
        put_u64(t, it->counter.value);
        put(t, "\n", 1);
        break;
    case KIND_GAUGE:
        put_series(t, it, "", NULL);
        put_double(t, it->gauge.value);
        put(t, "\n", 1);
        break;
    case KIND_HISTOGRAM:
        put_histogram(t, it);
        break;
    }
}

int rw_metrics_render(const rw_metrics_t *self, char **out, size_t *len)
{
    text_t t = { 0 };
    if (!self || !out)
        return RW_EINVAL;
    put(&t, "", 0);                 /* an empty registry still yields "" */
    for (size_t i = 0; i < self->n; i++) {
        const metric_t *head = self->items[i];
        if (find_family(self, head->family, i))
            continue;               /* family already written with its first series */
        put_help(&t, head);
        for (size_t j = i; j < self->n; j++)
            if (strcmp(self->items[j]->family, head->family) == 0)
                put_metric(&t, self->items[j]);
    }
    if (t.oom) {
        free(t.p);
        return RW_ENOMEM;
    }
    *out = t.p;
    if (len)
        *len = t.len;
    return 0;
}
