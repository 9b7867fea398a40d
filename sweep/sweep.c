/* Sweep files: parsing (libyaml's document API, so every error can name its line) and the
 * deterministic expansion into runs. The config part of the file goes through the config
 * module's own loader, so a sweep file accepts exactly what `mdmlab train` accepts. */
#include "forward/config_schema.h"
#include "sweep.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "backends/backend.h"
#include "forward/forward.h"

static const char *const sweep_sections[] = {"grid",   "zip",   "exclude", "seeds",
                                             "report", "sweep", NULL};

int sweep_is_section(const char *name) {
    for (const char *const *s = sweep_sections; *s; s++)
        if (strcmp(*s, name) == 0) return 1;
    return 0;
}

/* A value spelled from nested lists (a schedule is two levels inside its axis list and a few
 * hundred characters) is at most this deep and long; past that it is a mistake or an alias
 * cycle, and stopping there keeps a hostile file from exhausting the stack or memory. */
#define VALUE_MAX_DEPTH 8
#define VALUE_MAX_LEN   4096

/* Integers a double holds exactly: an integer range beyond them would repeat or skip values. */
#define EXACT_INT_MAX 9007199254740992.0

/* The most resamples and jobs the sweep file may ask for (as the command line's -j). */
#define OPTION_INT_MAX 1000000

typedef struct Parse {
    const char *origin;
    yaml_document_t doc;
    char *const *overrides; /* command-line key=value, to name one when it is at fault */
    int n_overrides;
    Err *err;
} Parse;

static size_t node_line(const yaml_node_t *n) {
    return n->start_mark.line + 1;
}

static const char *node_text(const yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *node_at(Parse *p, int index) {
    return yaml_document_get_node(&p->doc, index);
}

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a value";
}

/* ---- a hash index (64-bit hash -> item), for linear-time duplicate and exclusion checks ---- */

typedef struct HashIndex {
    uint64_t *hash;
    int *item; /* -1 = empty slot */
    size_t mask;
} HashIndex;

static int hash_index_init(HashIndex *h, size_t n, Err *err) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    h->mask = cap - 1;
    h->hash = malloc(cap * sizeof(*h->hash));
    h->item = malloc(cap * sizeof(*h->item));
    if (!h->hash || !h->item) return err_set(err, "out of memory");
    memset(h->item, 0xff, cap * sizeof(*h->item));
    return 0;
}

static void hash_index_free(HashIndex *h) {
    free(h->hash);
    free(h->item);
    memset(h, 0, sizeof(*h));
}

/* The item stored under `hash`, or -1 when there is none; `slot` is where it is or would go. */
static int hash_index_find(const HashIndex *h, uint64_t hash, size_t *slot) {
    size_t i = (size_t)(hash ^ (hash >> 32)) & h->mask;
    while (h->item[i] >= 0 && h->hash[i] != hash) i = (i + 1) & h->mask;
    *slot = i;
    return h->item[i];
}

/* Stores item under hash unless the hash is taken; returns the item already there, or -1. The
 * caller inserts at most the n items the index was sized for. */
static int hash_index_put(HashIndex *h, uint64_t hash, int item) {
    size_t slot;
    int there = hash_index_find(h, hash, &slot);
    if (there >= 0) return there;
    h->hash[slot] = hash;
    h->item[slot] = item;
    return -1;
}

/* ---- value lists ------------------------------------------------------------------------ */

typedef struct StrList {
    char **items;
    int n, cap;
} StrList;

static int list_push(StrList *l, const char *s, Err *err) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        char **items = realloc(l->items, (size_t)cap * sizeof(*items));
        if (!items) return err_set(err, "out of memory");
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(s))) return err_set(err, "out of memory");
    l->n++;
    return 0;
}

static void list_free(StrList *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* A nested list node (e.g. one schedule [[4, 0], [8, 500]]) re-spelled as flow text, the
 * form config_apply_override parses. */
static int flow_text(Parse *p, yaml_node_t *n, const char *key, int depth, StrBuf *out) {
    if (depth > VALUE_MAX_DEPTH || out->len > VALUE_MAX_LEN)
        return err_set(p->err,
                       "%s:%zu: key '%s': a value nested more than %d deep or longer than %d "
                       "characters",
                       p->origin, node_line(n), key, VALUE_MAX_DEPTH, VALUE_MAX_LEN);
    if (n->type == YAML_SCALAR_NODE) {
        sb_printf(out, "%s", node_text(n));
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return err_set(p->err, "%s:%zu: key '%s': expected a value or a list, got a mapping",
                       p->origin, node_line(n), key);
    sb_append(out, "[", 1);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        if (it != n->data.sequence.items.start) sb_append(out, ",", 1);
        if (flow_text(p, node_at(p, *it), key, depth + 1, out)) return -1;
    }
    sb_append(out, "]", 1);
    return 0;
}

/* ---- generators: range, linspace, logspace ---------------------------------------------- */

/* "name(a, b, c)" → up to 3 numbers; returns how many were read, -1 if not that call, 0 when
 * malformed. */
static int parse_call(const char *s, const char *name, double *args, int *all_integers) {
    size_t k = strlen(name);
    if (strncmp(s, name, k) != 0) return -1;
    const char *q = s + k;
    while (*q == ' ') q++;
    if (*q != '(') return -1;
    q++;
    int n = 0;
    *all_integers = 1;
    for (;;) {
        while (*q == ' ') q++;
        if (*q == ')' && n == 0) break;
        char *end;
        double v = strtod(q, &end);
        if (end == q || n == 3) return 0;
        for (const char *c = q; c < end; c++)
            if (*c == '.' || *c == 'e' || *c == 'E') *all_integers = 0;
        args[n++] = v;
        q = end;
        while (*q == ' ') q++;
        if (*q == ',') {
            q++;
            continue;
        }
        if (*q != ')') return 0;
        break;
    }
    q++;
    while (*q == ' ') q++;
    return *q ? 0 : n;
}

/* An axis cannot have more values than a grid has runs: refused before any is made. `what`
 * says what gives them: "the list", or a generator call (quoted). */
static int too_many_values(Parse *p, size_t line, const char *key, const char *what, int quoted,
                           double count) {
    const char *q = quoted ? "'" : "";
    if (isfinite(count))
        return err_set(p->err,
                       "%s:%zu: key '%s': %s%s%s gives %.0f values, more than the %d runs a "
                       "sweep may have",
                       p->origin, line, key, q, what, q, count, SWEEP_MAX_RUNS);
    return err_set(p->err,
                   "%s:%zu: key '%s': %s%s%s gives too many values (a sweep may have %d runs)",
                   p->origin, line, key, q, what, q, SWEEP_MAX_RUNS);
}

typedef struct Generator {
    Parse *p;
    const yaml_node_t *node;
    const char *key;
    const char *call; /* its text, e.g. "range(0, 10, 2)" */
    double arg[3];
    int n_args, integers;
} Generator;

static int generator_error(const Generator *g, const char *what) {
    return err_set(g->p->err, "%s:%zu: key '%s': '%s': %s", g->p->origin, node_line(g->node),
                   g->key, g->call, what);
}

static int push_number(const Generator *g, StrList *out, double v, int as_integer) {
    if (!isfinite(v)) return generator_error(g, "gives a value that is not a finite number");
    char buf[64];
    if (as_integer)
        snprintf(buf, sizeof(buf), "%.0f", v);
    else
        snprintf(buf, sizeof(buf), "%.6g", v);
    return list_push(out, buf, g->p->err);
}

/* range(start, stop[, step]) as Python's: stop excluded. */
static int range_values(const Generator *g, StrList *out) {
    double start = g->arg[0], stop = g->arg[1], step = g->n_args == 3 ? g->arg[2] : 1.0;
    if (step == 0.0)
        return err_set(g->p->err, "%s:%zu: key '%s': range step must not be 0", g->p->origin,
                       node_line(g->node), g->key);
    if (g->integers &&
        (fabs(start) > EXACT_INT_MAX || fabs(stop) > EXACT_INT_MAX || fabs(step) > EXACT_INT_MAX))
        return generator_error(g, "integers beyond 2^53 are not exact");
    double count = ceil((stop - start) / step - 1e-9);
    if (isnan(count) || count > SWEEP_MAX_RUNS)
        return too_many_values(g->p, node_line(g->node), g->key, g->call, 1, count);
    for (long i = 0; i < (count < 1 ? 0 : (long)count); i++)
        if (push_number(g, out, start + (double)i * step, g->integers)) return -1;
    return 0;
}

/* linspace(a, b, n) and logspace(a, b, n) as numpy's: n values, both ends included. */
static int spaced_values(const Generator *g, int log, StrList *out) {
    double count = g->arg[2];
    if (count < 1 || count != floor(count))
        return generator_error(g, "the count must be a whole number of at least 1");
    if (count > SWEEP_MAX_RUNS)
        return too_many_values(g->p, node_line(g->node), g->key, g->call, 1, count);
    int n = (int)count;
    double a = g->arg[0], b = g->arg[1];
    for (int i = 0; i < n; i++) {
        double x = n == 1 ? a : a + (b - a) * i / (n - 1);
        if (push_number(g, out, log ? pow(10.0, x) : x, 0)) return -1;
    }
    return 0;
}

/* A generator call's values. Returns 1 if the scalar was such a call (*rc then says whether it
 * expanded), 0 if it is a plain value. */
static int expand_generator(Parse *p, const yaml_node_t *n, const char *key, StrList *out,
                            int *rc) {
    Generator g = {.p = p, .node = n, .key = key, .call = node_text(n)};
    static const char *const names[] = {"range", "linspace", "logspace"};
    static const char *const usage[] = {"range(start, stop[, step])",
                                        "linspace(start, stop, count)",
                                        "logspace(start_exponent, stop_exponent, count)"};
    int kind = 0;
    while (kind < 3 && (g.n_args = parse_call(g.call, names[kind], g.arg, &g.integers)) < 0) kind++;
    if (kind == 3) return 0;
    if (g.n_args < 2 || (kind > 0 && g.n_args != 3)) {
        *rc = err_set(p->err, "%s:%zu: key '%s': expected %s, got '%s'", p->origin, node_line(n),
                      key, usage[kind], g.call);
        return 1;
    }
    for (int i = 0; i < g.n_args; i++)
        if (!isfinite(g.arg[i])) {
            *rc = generator_error(&g, "the arguments must be finite numbers");
            return 1;
        }
    *rc = kind == 0 ? range_values(&g, out) : spaced_values(&g, kind == 2, out);
    if (*rc == 0 && out->n == 0)
        *rc = err_set(p->err, "%s:%zu: key '%s': '%s' gives no values", p->origin, node_line(n),
                      key, g.call);
    return 1;
}

/* An axis's values: a list (of values or, for schedule keys, of lists), a generator call, or
 * one plain value. */
static int axis_values(Parse *p, yaml_node_t *n, const char *key, StrList *out) {
    if (n->type == YAML_MAPPING_NODE)
        return err_set(p->err, "%s:%zu: key '%s': expected a list of values, got a mapping",
                       p->origin, node_line(n), key);
    if (n->type == YAML_SCALAR_NODE) {
        int rc = 0;
        if (expand_generator(p, n, key, out, &rc)) return rc;
        return list_push(out, node_text(n), p->err);
    }
    ptrdiff_t items = n->data.sequence.items.top - n->data.sequence.items.start;
    if (items == 0)
        return err_set(p->err, "%s:%zu: key '%s': empty list", p->origin, node_line(n), key);
    if (items > SWEEP_MAX_RUNS)
        return too_many_values(p, node_line(n), key, "the list", 0, (double)items);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        StrBuf text = {0};
        int rc = flow_text(p, node_at(p, *it), key, 0, &text);
        if (rc == 0) rc = list_push(out, text.data ? text.data : "", p->err);
        sb_free(&text);
        if (rc) return -1;
    }
    return 0;
}

/* ---- the backend ------------------------------------------------------------------------ */

/* The config checks every other registered name where it is set; a backend it leaves to the
 * machine that runs (a checkpoint may name one built elsewhere). A sweep runs here, so it
 * checks the backend of every run before the first starts: auto or one built here. */
static int check_backend(const Config *cfg, Err *err) {
    const char *names[16] = {"auto"};
    int n = 1;
    for (int i = 0; i < backend_count() && n < 16; i++) names[n++] = backend_at(i)->name;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], cfg->backend) == 0) return 0;
    StrBuf known = {0};
    for (int i = 0; i < n; i++) sb_printf(&known, "%s%s", i ? ", " : "", names[i]);
    const char *hint = config_closest_name(cfg->backend, names, n);
    int rc = hint ? err_set(err, "unknown backend '%s' (did you mean '%s'? known: %s)",
                            cfg->backend, hint, known.data)
                  : err_set(err, "unknown backend '%s' (known: %s)", cfg->backend, known.data);
    sb_free(&known);
    return rc;
}

/* ---- config fields ---------------------------------------------------------------------- */

static const void *field_of(const ConfigKey *k, const Config *cfg) {
    return config_key_field(cfg, k);
}

static int schedule_entries(const Schedule *s) {
    return s->n < 0 ? 0 : s->n > SCHEDULE_MAX ? SCHEDULE_MAX : s->n;
}

/* A key's value as a 64-bit fingerprint: values equal after parsing (1e-3 and 0.001) have equal
 * fingerprints. */
static uint64_t field_fingerprint(const ConfigKey *k, const Config *cfg) {
    const void *f = field_of(k, cfg);
    switch (k->type) {
    case CFG_T_STRING:
        return fnv1a64(f, strnlen(f, k->size), FNV1A64_INIT);
    case CFG_T_DOUBLE: {
        double v = *(const double *)f;
        if (v == 0.0) v = 0.0; /* -0.0 == 0.0 */
        return fnv1a64(&v, sizeof(v), FNV1A64_INIT);
    }
    case CFG_T_SCHEDULE: {
        const Schedule *s = f;
        int n = schedule_entries(s);
        uint64_t h = fnv1a64(&n, sizeof(n), FNV1A64_INIT);
        h = fnv1a64(s->value, (size_t)n * sizeof(long), h);
        return fnv1a64(s->step, (size_t)n * sizeof(long), h);
    }
    default:
        return fnv1a64(f, k->size, FNV1A64_INIT);
    }
}

static int same_field(const ConfigKey *k, const Config *a, const Config *b) {
    const void *x = field_of(k, a), *y = field_of(k, b);
    switch (k->type) {
    case CFG_T_STRING:
        return strncmp(x, y, k->size) == 0;
    case CFG_T_DOUBLE:
        return *(const double *)x == *(const double *)y;
    case CFG_T_SCHEDULE: {
        const Schedule *s = x, *t = y;
        int n = schedule_entries(s);
        return n == schedule_entries(t) &&
               memcmp(s->value, t->value, (size_t)n * sizeof(long)) == 0 &&
               memcmp(s->step, t->step, (size_t)n * sizeof(long)) == 0;
    }
    default:
        return memcmp(x, y, k->size) == 0;
    }
}

static void field_text(const ConfigKey *k, const Config *cfg, char *out, size_t n) {
    const void *f = field_of(k, cfg);
    switch (k->type) {
    case CFG_T_INT:
        snprintf(out, n, "%d", *(const int *)f);
        break;
    case CFG_T_LONG:
        snprintf(out, n, "%ld", *(const long *)f);
        break;
    case CFG_T_DOUBLE:
        snprintf(out, n, "%.17g", *(const double *)f);
        break;
    case CFG_T_BOOL:
        snprintf(out, n, "%s", *(const int *)f ? "true" : "false");
        break;
    case CFG_T_STRING:
        snprintf(out, n, "'%.*s'", (int)strnlen(f, k->size), (const char *)f);
        break;
    default:
        snprintf(out, n, "another schedule");
    }
}

/* A process may need keys of the model (AR: causal attention and shifted logits; its ops'
 * `require` sets them); a run that sets them otherwise would fail as it starts training. */
static int check_process_needs(const Config *cfg, Err *err) {
    const ForwardOps *ops = forward_find(cfg->process);
    if (!ops || !ops->require) return 0;
    Config need = *cfg;
    ops->require(&need);
    for (int i = 0; i < config_key_count(cfg); i++) {
        const ConfigKey *k = config_key_at(cfg, i);
        if (same_field(k, cfg, &need)) continue;
        char want[80], got[80];
        field_text(k, &need, want, sizeof(want));
        field_text(k, cfg, got, sizeof(got));
        return err_set(err, "keys 'process' and '%s': process '%s' needs %s=%s, got %s", k->name,
                       cfg->process, k->name, want, got);
    }
    return 0;
}

/* ---- checking values against the config's key table ------------------------------------- */

/* Every value of key must be accepted by the config (type, bounds, known key, registered name)
 * and a backend must be built here. */
static int check_values(Parse *p, const Config *base, const char *key, const StrList *values,
                        size_t line) {
    Config scratch = *base; /* applying a value sets only its key */
    for (int i = 0; i < values->n; i++) {
        Err e;
        if (config_set_value(&scratch, key, values->items[i], &e) != 0)
            return err_set(p->err, "%s:%zu: %s", p->origin, line, e.msg);
        if (strcmp(key, "backend") == 0 && check_backend(&scratch, &e) != 0)
            return err_set(p->err, "%s:%zu: key '%s': %s", p->origin, line, key, e.msg);
    }
    return 0;
}

/* ---- sections --------------------------------------------------------------------------- */

static int add_axis(Sweep *sw, Parse *p, size_t line, Err *err) {
    (void)p;
    if (sw->n_axes == SWEEP_MAX_AXES)
        return err_set(err, "%s:%zu: more than %d axes", sw->path, line, SWEEP_MAX_AXES);
    SweepAxis *a = &sw->axes[sw->n_axes++];
    memset(a, 0, sizeof(*a));
    a->line = line;
    return 0;
}

static int copy_key(Parse *p, char *dst, const char *prefix, const yaml_node_t *key) {
    if (key->type != YAML_SCALAR_NODE)
        return err_set(p->err, "%s:%zu: expected a key name, got %s", p->origin, node_line(key),
                       node_kind(key));
    int n = snprintf(dst, SWEEP_KEY_LEN, "%s%s%s", prefix, prefix[0] ? "." : "", node_text(key));
    if (n < 0 || n >= SWEEP_KEY_LEN)
        return err_set(p->err, "%s:%zu: key name too long", p->origin, node_line(key));
    return 0;
}

/* One grid or seed axis from key and its value list. */
static int grid_axis(Sweep *sw, Parse *p, const char *key, yaml_node_t *value, size_t line) {
    for (int i = 0; i < sw->n_axes; i++)
        for (int j = 0; j < sw->axes[i].n_keys; j++)
            if (strcmp(sw->axes[i].keys[j], key) == 0)
                return err_set(p->err, "%s:%zu: key '%s' is already an axis (line %zu)", p->origin,
                               line, key, sw->axes[i].line);
    StrList values = {0};
    int rc = axis_values(p, value, key, &values);
    if (rc == 0) rc = check_values(p, &sw->base, key, &values, node_line(value));
    if (rc == 0) rc = add_axis(sw, p, line, p->err);
    if (rc == 0) {
        SweepAxis *a = &sw->axes[sw->n_axes - 1];
        snprintf(a->keys[0], SWEEP_KEY_LEN, "%s", key);
        a->n_keys = 1;
        a->values = values.items;
        a->n_values = values.n;
        return 0;
    }
    list_free(&values);
    return -1;
}

/* grid: a mapping of key → values, where a nested mapping is a config section. */
static int parse_grid(Sweep *sw, Parse *p, yaml_node_t *map, const char *prefix) {
    if (map->type != YAML_MAPPING_NODE)
        return err_set(p->err, "%s:%zu: '%s' must be a mapping of key: [values], got %s", p->origin,
                       node_line(map), prefix[0] ? prefix : "grid", node_kind(map));
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
        char key[SWEEP_KEY_LEN];
        if (copy_key(p, key, prefix, k)) return -1;
        int rc = v->type == YAML_MAPPING_NODE ? parse_grid(sw, p, v, key)
                                              : grid_axis(sw, p, key, v, node_line(k));
        if (rc) return -1;
    }
    return 0;
}

static int parse_zip_group(Sweep *sw, Parse *p, yaml_node_t *map) {
    if (map->type != YAML_MAPPING_NODE)
        return err_set(p->err, "%s:%zu: a zip group must be a mapping of key: [values], got %s",
                       p->origin, node_line(map), node_kind(map));
    int n_keys = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n_keys < 1 || n_keys > SWEEP_MAX_ZIP)
        return err_set(p->err, "%s:%zu: a zip group needs 1 to %d keys", p->origin, node_line(map),
                       SWEEP_MAX_ZIP);
    if (add_axis(sw, p, node_line(map), p->err)) return -1;
    SweepAxis *a = &sw->axes[sw->n_axes - 1];
    StrList cols[SWEEP_MAX_ZIP];
    memset(cols, 0, sizeof(cols));
    int rc = 0, rows = -1;
    for (int j = 0; j < n_keys && rc == 0; j++) {
        yaml_node_pair_t *pr = map->data.mapping.pairs.start + j;
        yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
        rc = copy_key(p, a->keys[j], "", k);
        for (int i = 0; rc == 0 && i < sw->n_axes - 1; i++)
            for (int m = 0; m < sw->axes[i].n_keys; m++)
                if (strcmp(sw->axes[i].keys[m], a->keys[j]) == 0)
                    rc = err_set(p->err, "%s:%zu: key '%s' is already an axis (line %zu)",
                                 p->origin, node_line(k), a->keys[j], sw->axes[i].line);
        if (rc == 0) rc = axis_values(p, v, a->keys[j], &cols[j]);
        if (rc == 0) rc = check_values(p, &sw->base, a->keys[j], &cols[j], node_line(v));
        if (rc == 0 && rows >= 0 && cols[j].n != rows)
            rc =
                err_set(p->err, "%s:%zu: key '%s': zipped lists must have equal lengths (%d vs %d)",
                        p->origin, node_line(v), a->keys[j], cols[j].n, rows);
        rows = cols[j].n;
    }
    if (rc == 0 && !(a->values = calloc((size_t)rows * (size_t)n_keys, sizeof(char *))))
        rc = err_set(p->err, "out of memory");
    if (rc == 0) {
        a->n_keys = n_keys;
        a->n_values = rows;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < n_keys; j++) {
                a->values[i * n_keys + j] = cols[j].items[i];
                cols[j].items[i] = NULL;
            }
    }
    for (int j = 0; j < n_keys; j++) list_free(&cols[j]);
    return rc;
}

static int parse_zip(Sweep *sw, Parse *p, yaml_node_t *seq) {
    if (seq->type != YAML_SEQUENCE_NODE)
        return err_set(p->err, "%s:%zu: 'zip' must be a list of groups {key: [values], ...}",
                       p->origin, node_line(seq));
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++)
        if (parse_zip_group(sw, p, node_at(p, *it))) return -1;
    return 0;
}

static int parse_exclude(Sweep *sw, Parse *p, yaml_node_t *seq) {
    if (seq->type != YAML_SEQUENCE_NODE)
        return err_set(p->err, "%s:%zu: 'exclude' must be a list of {key: value, ...} entries",
                       p->origin, node_line(seq));
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *map = node_at(p, *it);
        int n_keys = map->type == YAML_MAPPING_NODE
                         ? (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start)
                         : 0;
        if (n_keys < 1 || n_keys > SWEEP_MAX_ZIP)
            return err_set(p->err, "%s:%zu: an exclude entry must be a mapping of 1 to %d keys",
                           p->origin, node_line(map), SWEEP_MAX_ZIP);
        if (sw->n_excludes == SWEEP_MAX_AXES)
            return err_set(p->err, "%s:%zu: more than %d exclude entries", p->origin,
                           node_line(map), SWEEP_MAX_AXES);
        SweepExclude *x = &sw->excludes[sw->n_excludes++];
        memset(x, 0, sizeof(*x));
        for (int j = 0; j < n_keys; j++) {
            yaml_node_pair_t *pr = map->data.mapping.pairs.start + j;
            yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
            StrList values = {0};
            int rc = copy_key(p, x->keys[j], "", k);
            if (rc == 0) rc = axis_values(p, v, x->keys[j], &values);
            if (rc == 0) rc = check_values(p, &sw->base, x->keys[j], &values, node_line(v));
            x->values[j] = values.items;
            x->n_values[j] = values.n;
            x->n_keys = j + 1;
            if (rc) return -1;
        }
    }
    return 0;
}

/* ---- report and execution options ------------------------------------------------------- */

typedef struct OptionField {
    const char *name;
    char type; /* s string, i int (0 to OPTION_INT_MAX), d double (finite, >= 0); m a
                  mapping its caller reads itself */
    void *dst;
    size_t size;
} OptionField;

static int parse_option_number(Parse *p, const yaml_node_t *v, const char *section,
                               const OptionField *f) {
    const char *s = node_text(v);
    char *end = NULL;
    double d = strtod(s, &end);
    int is_int = f->type == 'i';
    if (end == s || *end || !isfinite(d) || d < 0 ||
        (is_int && (d != floor(d) || d > OPTION_INT_MAX))) {
        if (is_int)
            return err_set(p->err,
                           "%s:%zu: key '%s.%s': expected an integer from 0 to %d, got '%s'",
                           p->origin, node_line(v), section, f->name, OPTION_INT_MAX, s);
        return err_set(p->err, "%s:%zu: key '%s.%s': expected a non-negative number, got '%s'",
                       p->origin, node_line(v), section, f->name, s);
    }
    if (is_int)
        *(int *)f->dst = (int)d;
    else
        *(double *)f->dst = d;
    return 0;
}

static int parse_options(Parse *p, yaml_node_t *map, const char *section, const OptionField *f,
                         int n_fields) {
    if (map->type != YAML_MAPPING_NODE)
        return err_set(p->err, "%s:%zu: '%s' must be a mapping, got %s", p->origin, node_line(map),
                       section, node_kind(map));
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
        const OptionField *hit = NULL;
        for (int i = 0; i < n_fields && k->type == YAML_SCALAR_NODE; i++)
            if (strcmp(f[i].name, node_text(k)) == 0) hit = &f[i];
        if (!hit) {
            StrBuf names = {0};
            for (int i = 0; i < n_fields; i++) sb_printf(&names, "%s%s", i ? ", " : "", f[i].name);
            int rc =
                err_set(p->err, "%s:%zu: key '%s.%s': unknown (known: %s)", p->origin, node_line(k),
                        section, k->type == YAML_SCALAR_NODE ? node_text(k) : "?", names.data);
            sb_free(&names);
            return rc;
        }
        if (hit->type == 'm') continue;
        if (v->type != YAML_SCALAR_NODE)
            return err_set(p->err, "%s:%zu: key '%s.%s': expected a single value, got %s",
                           p->origin, node_line(v), section, hit->name, node_kind(v));
        if (hit->type != 's') {
            if (parse_option_number(p, v, section, hit)) return -1;
        } else if (strlen(node_text(v)) >= hit->size) {
            return err_set(p->err, "%s:%zu: key '%s.%s': value too long", p->origin, node_line(v),
                           section, hit->name);
        } else {
            snprintf(hit->dst, hit->size, "%s", node_text(v));
        }
    }
    return 0;
}

static void report_defaults(SweepReportOptions *o) {
    memset(o, 0, sizeof(*o));
    snprintf(o->policy, sizeof(o->policy), "margin");
    o->tokens_per_step = 1;
    o->smoothing = 0.5;
    o->bootstrap = 2000;
}

/* "policy:k" (e.g. "margin:1") into o; -1 when it is not that shape. k is bounded as
 * eval.tokens_per_step. */
static int parse_metric(const char *metric, SweepReportOptions *o) {
    const char *colon = strchr(metric, ':');
    if (!colon || colon == metric || (size_t)(colon - metric) >= sizeof(o->policy)) return -1;
    char *end;
    long k = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || k < 1 || k > 1048576) return -1;
    snprintf(o->policy, sizeof(o->policy), "%.*s", (int)(colon - metric), metric);
    o->tokens_per_step = (int)k;
    return 0;
}

/* report.metric is "policy:k" (e.g. "margin:1"), the eval rows the curves come from. */
/* report.labels: a mapping of method labels to the text the figures show for them. */
static int parse_report_labels(Parse *p, yaml_node_t *map, SweepReportOptions *o) {
    yaml_node_t *labels = NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node_at(p, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(node_text(k), "labels") == 0)
            labels = node_at(p, pr->value);
    }
    if (!labels) return 0;
    if (labels->type != YAML_MAPPING_NODE)
        return err_set(p->err,
                       "%s:%zu: key 'report.labels': expected a mapping of method labels to "
                       "legend text, e.g. {process=puma: PUMA}, got %s",
                       p->origin, node_line(labels), node_kind(labels));
    for (yaml_node_pair_t *pr = labels->data.mapping.pairs.start;
         pr < labels->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
        if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
            return err_set(p->err, "%s:%zu: key 'report.labels': expected METHOD: text pairs",
                           p->origin, node_line(k));
        if (o->n_labels == SWEEP_REPORT_LABELS || strlen(node_text(k)) >= SWEEP_LABEL_LEN ||
            strlen(node_text(v)) >= sizeof o->label_text[0])
            return err_set(p->err,
                           "%s:%zu: key 'report.labels': at most %d labels of at most %zu "
                           "characters",
                           p->origin, node_line(k), SWEEP_REPORT_LABELS,
                           sizeof o->label_text[0] - 1);
        snprintf(o->label_method[o->n_labels], SWEEP_LABEL_LEN, "%s", node_text(k));
        snprintf(o->label_text[o->n_labels++], sizeof o->label_text[0], "%s", node_text(v));
    }
    return 0;
}

static int parse_report(Parse *p, yaml_node_t *map, SweepReportOptions *o) {
    char metric[48] = "";
    OptionField f[] = {{"metric", 's', metric, sizeof(metric)},
                       {"baseline", 's', o->baseline, sizeof(o->baseline)},
                       {"target", 'd', &o->target, 0},
                       {"smoothing", 'd', &o->smoothing, 0},
                       {"bootstrap", 'i', &o->bootstrap, 0},
                       {"labels", 'm', NULL, 0}};
    if (parse_options(p, map, "report", f, 6) || parse_report_labels(p, map, o)) return -1;
    if (o->smoothing >= 1.0)
        return err_set(p->err, "%s:%zu: key 'report.smoothing': must be in [0, 1)", p->origin,
                       node_line(map));
    if (metric[0] && parse_metric(metric, o))
        return err_set(p->err,
                       "%s:%zu: key 'report.metric': expected policy:k with k from 1 to 1048576, "
                       "e.g. margin:1",
                       p->origin, node_line(map));
    return 0;
}

/* ---- the document ----------------------------------------------------------------------- */

/* The one YAML style (base/config.h): the document is parsed once and its nodes walked. */
static int load_document(Parse *p, const char *text, size_t len) {
    return config_yaml_parse(text, len, p->origin, &p->doc, p->err);
}

static yaml_node_t *find_section(Parse *p, const char *name, size_t *line) {
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node_at(p, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(node_text(k), name) == 0) {
            if (line) *line = node_line(k);
            return node_at(p, pr->value);
        }
    }
    return NULL;
}

/* The line where `map` sets a dotted config key ("task: {name: x}" or "task.name: x"), 0 if it
 * does not. */
static size_t key_line_in(Parse *p, yaml_node_t *map, const char *key, int depth) {
    if (!map || map->type != YAML_MAPPING_NODE || depth > VALUE_MAX_DEPTH) return 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node_at(p, pr->key);
        if (k->type != YAML_SCALAR_NODE) continue;
        const char *name = node_text(k);
        size_t n = strlen(name);
        if (strcmp(name, key) == 0) return node_line(k);
        size_t line = n && strncmp(name, key, n) == 0 && key[n] == '.'
                          ? key_line_in(p, node_at(p, pr->value), key + n + 1, depth + 1)
                          : 0;
        if (line) return line;
    }
    return 0;
}

int sweep_report_options(const char *text, size_t len, const char *origin, SweepReportOptions *o,
                         Err *err) {
    Parse p = {.origin = origin, .err = err};
    report_defaults(o);
    if (load_document(&p, text, len)) return -1;
    yaml_node_t *r = find_section(&p, "report", NULL);
    int rc = r ? parse_report(&p, r, o) : 0;
    yaml_document_delete(&p.doc);
    if (rc) err_one_line(err); /* a value quoted into a message may hold a newline */
    return rc;
}

static int parse_sections(Sweep *sw, Parse *p) {
    size_t line = 0;
    yaml_node_t *n;
    if ((n = find_section(p, "seeds", &line)) && grid_axis(sw, p, "seed", n, line)) return -1;
    if ((n = find_section(p, "grid", &line)) && parse_grid(sw, p, n, "")) return -1;
    if ((n = find_section(p, "zip", &line)) && parse_zip(sw, p, n)) return -1;
    if ((n = find_section(p, "exclude", &line)) && parse_exclude(sw, p, n)) return -1;
    if ((n = find_section(p, "report", &line)) && parse_report(p, n, &sw->report)) return -1;
    OptionField f[] = {{"jobs", 'i', &sw->jobs, 0},
                       {"timeout", 'd', &sw->timeout_s, 0},
                       {"launcher", 's', sw->launcher, sizeof sw->launcher},
                       {"ntasks", 'i', &sw->ntasks, 0}};
    if ((n = find_section(p, "sweep", &line)) && parse_options(p, n, "sweep", f, 4)) return -1;
    return 0;
}

/* ---- where a value came from, for errors ------------------------------------------------ */

/* The axis that sets key, or -1. */
static int axis_of(const Sweep *sw, const char *key) {
    for (int a = 0; a < sw->n_axes; a++)
        for (int j = 0; j < sw->axes[a].n_keys; j++)
            if (strcmp(sw->axes[a].keys[j], key) == 0) return a;
    return -1;
}

/* The last command-line override of key (it wins over the file), or NULL. */
static const char *override_of(const Parse *p, const char *key) {
    size_t n = strlen(key);
    for (int i = p->n_overrides - 1; i >= 0; i--) {
        const char *s = p->overrides[i];
        while (*s == ' ') s++;
        if (strncmp(s, key, n) != 0) continue;
        s += n;
        while (*s == ' ') s++;
        if (*s == '=') return p->overrides[i];
    }
    return NULL;
}

/* The base config's backend (the file's or an override's), when no axis replaces it; axis
 * values were checked as they were read. */
static int check_base_backend(const Sweep *sw, Parse *p) {
    Err e;
    if (axis_of(sw, "backend") >= 0 || check_backend(&sw->base, &e) == 0) return 0;
    const char *ov = override_of(p, "backend");
    size_t line = key_line_in(p, yaml_document_get_root_node(&p->doc), "backend", 0);
    if (ov) return err_set(p->err, "%s: override '%s': %s", p->origin, ov, e.msg);
    if (line) return err_set(p->err, "%s:%zu: key 'backend': %s", p->origin, line, e.msg);
    return err_set(p->err, "%s: key 'backend': %s", p->origin, e.msg);
}

/* The line to blame for a run's cross-key error: the first axis, in file order, that sets a key
 * the message names, else where the file sets such a key; 0 if neither. */
static size_t blame_line(const Sweep *sw, Parse *p, const char *msg) {
    char quoted[SWEEP_KEY_LEN + 3];
    for (int a = 0; a < sw->n_axes; a++)
        for (int j = 0; j < sw->axes[a].n_keys; j++) {
            snprintf(quoted, sizeof(quoted), "'%s'", sw->axes[a].keys[j]);
            if (strstr(msg, quoted)) return sw->axes[a].line;
        }
    for (int i = 0; i < config_key_count(&sw->base); i++) {
        const char *name = config_key_at(&sw->base, i)->name;
        snprintf(quoted, sizeof(quoted), "'%s'", name);
        size_t line =
            strstr(msg, quoted) ? key_line_in(p, yaml_document_get_root_node(&p->doc), name, 0) : 0;
        if (line) return line;
    }
    return 0;
}

/* ---- expansion -------------------------------------------------------------------------- */

static uint64_t run_hash(const Config *cfg) {
    Config c = *cfg;
    config_reset_roles(&c, CFG_ROLE_EXECUTION);
    StrBuf yaml = {0};
    config_write_yaml(&c, &yaml);
    uint64_t h = fnv1a64(yaml.data, yaml.len, FNV1A64_INIT);
    sb_free(&yaml);
    return h;
}

void sweep_run_id(const Config *cfg, char id[SWEEP_ID_LEN]) {
    snprintf(id, SWEEP_ID_LEN, "%016llx", (unsigned long long)run_hash(cfg));
}

/* The values of one exclude key, indexed by fingerprint so that a run is matched in constant
 * time however long the list. */
typedef struct KeyMatch {
    const ConfigKey *key;
    HashIndex values; /* fingerprint -> index of a value with it */
} KeyMatch;

typedef struct ExcludeMatch {
    KeyMatch keys[SWEEP_MAX_AXES][SWEEP_MAX_ZIP];
} ExcludeMatch;

static void exclude_match_free(ExcludeMatch *m, const Sweep *sw) {
    for (int e = 0; e < sw->n_excludes; e++)
        for (int j = 0; j < sw->excludes[e].n_keys; j++) hash_index_free(&m->keys[e][j].values);
}

static int key_match_init(KeyMatch *km, const Sweep *sw, const SweepExclude *x, int j, Err *err) {
    if (!(km->key = config_find_key(&sw->base, x->keys[j])))
        return err_set(err, "%s: exclude: key '%s' is not a config key", sw->path, x->keys[j]);
    if (hash_index_init(&km->values, (size_t)x->n_values[j], err)) return -1;
    Config probe = sw->base;
    for (int v = 0; v < x->n_values[j]; v++) {
        if (config_set_value(&probe, x->keys[j], x->values[j][v], err)) return -1;
        hash_index_put(&km->values, field_fingerprint(km->key, &probe), v);
    }
    return 0;
}

static int exclude_match_init(ExcludeMatch *m, const Sweep *sw, Err *err) {
    memset(m, 0, sizeof(*m));
    for (int e = 0; e < sw->n_excludes; e++)
        for (int j = 0; j < sw->excludes[e].n_keys; j++)
            if (key_match_init(&m->keys[e][j], sw, &sw->excludes[e], j, err)) return -1;
    return 0;
}

/* Whether one of the listed values of exclude key j is the run's value (compared after
 * parsing, so 1e-3 matches 0.001); a fingerprint hit is confirmed by applying that value. */
static int key_matches(const KeyMatch *km, const SweepExclude *x, int j, const Config *cfg) {
    size_t slot;
    int v = hash_index_find(&km->values, field_fingerprint(km->key, cfg), &slot);
    if (v < 0) return 0;
    Config probe = *cfg;
    Err ignored;
    return config_set_value(&probe, x->keys[j], x->values[j][v], &ignored) == 0 &&
           same_field(km->key, &probe, cfg);
}

/* A run is excluded when it matches every key of one exclude entry. */
static int excluded(const Sweep *sw, const ExcludeMatch *m, const Config *cfg) {
    for (int e = 0; e < sw->n_excludes; e++) {
        int all = 1;
        for (int j = 0; j < sw->excludes[e].n_keys && all; j++)
            all = key_matches(&m->keys[e][j], &sw->excludes[e], j, cfg);
        if (all) return 1;
    }
    return 0;
}

/* Grid point `combo`'s config (mixed radix over the axes, the first axis slowest) and, when
 * `method` is given, its label: the non-seed assignments. */
static int combo_config(const Sweep *sw, long combo, Config *cfg, StrBuf *method, Err *err) {
    int digit[SWEEP_MAX_AXES];
    for (int a = sw->n_axes - 1; a >= 0; a--) {
        digit[a] = (int)(combo % sw->axes[a].n_values);
        combo /= sw->axes[a].n_values;
    }
    *cfg = sw->base;
    for (int a = 0; a < sw->n_axes; a++) {
        const SweepAxis *ax = &sw->axes[a];
        for (int j = 0; j < ax->n_keys; j++) {
            const char *v = ax->values[digit[a] * ax->n_keys + j];
            if (config_set_value(cfg, ax->keys[j], v, err)) return -1;
            if (method && strcmp(ax->keys[j], "seed") != 0)
                sb_printf(method, "%s%s=%s", method->len ? "," : "", ax->keys[j], v);
        }
    }
    snprintf(cfg->name, sizeof(cfg->name), "%s", sw->name);
    return 0;
}

int sweep_run_config(const Sweep *sw, const SweepRun *run, Config *cfg, Err *err) {
    return combo_config(sw, run->combo, cfg, NULL, err);
}

/* What expansion carries from run to run. */
typedef struct Expansion {
    ExcludeMatch excludes;
    HashIndex seen; /* run id hash -> run index */
} Expansion;

/* Builds grid point `combo` into run: 1 if it is excluded, 0 if it is a run that would start,
 * -1 (with an error naming the file, the line to blame and the run) if it would not. */
static int build_run(const Sweep *sw, Parse *p, const Expansion *x, long combo, SweepRun *run,
                     uint64_t *hash) {
    Config cfg;
    StrBuf method = {0};
    Err e;
    int rc = combo_config(sw, combo, &cfg, &method, &e);
    snprintf(run->method, sizeof(run->method), "%s", method.len ? method.data : "base");
    sb_free(&method);
    if (rc == 0 && excluded(sw, &x->excludes, &cfg)) return 1;
    if (rc == 0 && config_validate(&cfg, &e) == 0 && check_process_needs(&cfg, &e) == 0) {
        run->combo = combo;
        run->seed = cfg.seed;
        *hash = run_hash(&cfg);
        snprintf(run->id, sizeof(run->id), "%016llx", (unsigned long long)*hash);
        return 0;
    }
    size_t line = blame_line(sw, p, e.msg);
    if (line)
        return err_set(p->err, "%s:%zu: run %s seed=%ld: %s", sw->path, line, run->method, cfg.seed,
                       e.msg);
    return err_set(p->err, "%s: run %s seed=%ld: %s", sw->path, run->method, cfg.seed, e.msg);
}

/* The number of grid points, the product of the axis lengths; more than SWEEP_MAX_RUNS is an
 * error naming the axes and the line of the one that crosses the limit (checked before each
 * product, which so cannot overflow). */
static int grid_size(const Sweep *sw, long *total, Err *err) {
    long n = 1;
    for (int a = 0; a < sw->n_axes; a++) {
        long len = sw->axes[a].n_values;
        if (len <= SWEEP_MAX_RUNS / n) {
            n *= len;
            continue;
        }
        StrBuf axes = {0};
        for (int b = 0; b < sw->n_axes; b++) {
            sb_printf(&axes, "%s", b ? " x " : "");
            for (int j = 0; j < sw->axes[b].n_keys; j++)
                sb_printf(&axes, "%s%s", j ? "+" : "", sw->axes[b].keys[j]);
            sb_printf(&axes, "[%d]", sw->axes[b].n_values);
        }
        int rc = err_set(err, "%s:%zu: the grid has more than %d runs: %s", sw->path,
                         sw->axes[a].line, SWEEP_MAX_RUNS, axes.data);
        sb_free(&axes);
        return rc;
    }
    *total = n;
    return 0;
}

/* Adds the run just built unless another run has its config. */
static int add_unique_run(Sweep *sw, HashIndex *ids, uint64_t hash, Err *err) {
    SweepRun *run = &sw->runs[sw->n_runs];
    int twin = hash_index_put(ids, hash, sw->n_runs);
    if (twin >= 0)
        return err_set(err, "%s: runs %d (%s seed=%ld) and %d (%s seed=%ld) are the same config",
                       sw->path, twin, sw->runs[twin].method, sw->runs[twin].seed, sw->n_runs,
                       run->method, run->seed);
    run->index = sw->n_runs++;
    return 0;
}

static void expansion_free(Expansion *x, const Sweep *sw) {
    exclude_match_free(&x->excludes, sw);
    hash_index_free(&x->seen);
}

/* Every grid point in order: the runs, the excluded count, or the first error. */
static int expand_runs(Sweep *sw, Parse *p, long total) {
    Expansion *x = calloc(1, sizeof(*x));
    if (!x) return err_set(p->err, "out of memory");
    sw->n_runs = sw->n_excluded = 0;
    int rc = exclude_match_init(&x->excludes, sw, p->err);
    if (rc == 0) rc = hash_index_init(&x->seen, (size_t)total, p->err);
    for (long c = 0; c < total && rc == 0; c++) {
        uint64_t hash = 0;
        int got = build_run(sw, p, x, c, &sw->runs[sw->n_runs], &hash);
        if (got == 1)
            sw->n_excluded++;
        else if (got == 0)
            rc = add_unique_run(sw, &x->seen, hash, p->err);
        else
            rc = got;
    }
    expansion_free(x, sw);
    free(x);
    return rc;
}

static int expand(Sweep *sw, Parse *p) {
    long total = 0;
    if (grid_size(sw, &total, p->err)) return -1;
    if (!(sw->runs = calloc((size_t)total, sizeof(SweepRun))))
        return err_set(p->err, "out of memory");
    int rc = expand_runs(sw, p, total);
    if (rc == 0 && sw->n_runs == 0) rc = err_set(p->err, "%s: every run is excluded", sw->path);
    return rc;
}

static void stem_of(const char *path, char *out, size_t n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%.*s", (int)strcspn(base, "."), base);
}

/* The file's sections, checked names and the expansion, all before anything runs. */
/* The base config (the file's config keys, then the overrides), then the sweep's sections,
 * from one parse of the file. */
static int load_sweep_file(Sweep *sw, const char *path, char *const *overrides, int n_overrides,
                           Err *err) {
    char *text;
    size_t len;
    if (read_file_all(path, &text, &len, err)) return -1;
    Parse p = {.origin = path, .overrides = overrides, .n_overrides = n_overrides, .err = err};
    int rc = load_document(&p, text, len);
    free(text);
    if (rc) return -1;
    rc = config_load_yaml_document(&sw->base, &p.doc, path, sweep_sections, err);
    for (int i = 0; i < n_overrides && rc == 0; i++) {
        Err e;
        if ((rc = config_apply_override(&sw->base, overrides[i], &e)) != 0)
            err_set(err, "%s: %s", path, e.msg);
    }
    if (rc == 0) rc = parse_sections(sw, &p);
    if (rc == 0) rc = check_base_backend(sw, &p);
    if (rc == 0) rc = expand(sw, &p);
    yaml_document_delete(&p.doc);
    return rc;
}

int sweep_load(Sweep *sw, const char *path, char *const *overrides, int n_overrides, Err *err) {
    memset(sw, 0, sizeof(*sw));
    snprintf(sw->path, sizeof(sw->path), "%s", path);
    stem_of(path, sw->name, sizeof(sw->name));
    report_defaults(&sw->report);
    config_defaults(&sw->base);
    int rc = load_sweep_file(sw, path, overrides, n_overrides, err);
    if (rc) err_one_line(err); /* a value quoted into a message may hold a newline */
    return rc;
}

void sweep_free(Sweep *sw) {
    for (int a = 0; a < sw->n_axes; a++) {
        for (int i = 0; i < sw->axes[a].n_values * sw->axes[a].n_keys; i++)
            free(sw->axes[a].values[i]);
        free(sw->axes[a].values);
    }
    for (int e = 0; e < sw->n_excludes; e++)
        for (int j = 0; j < sw->excludes[e].n_keys; j++) {
            for (int v = 0; v < sw->excludes[e].n_values[j]; v++)
                free(sw->excludes[e].values[j][v]);
            free(sw->excludes[e].values[j]);
        }
    free(sw->runs);
    memset(sw, 0, sizeof(*sw));
}
