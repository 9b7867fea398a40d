/* Sweep files: parsing (libyaml's document API, so every error can name its line) and the
 * deterministic expansion into runs. The config part of the file goes through the config
 * module's own loader, so a sweep file accepts exactly what `mdmlab train` accepts. */
#include "forward/config_schema.h"
#include "sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *const sweep_sections[] = {"grid",   "zip",   "exclude", "seeds",
                                             "report", "sweep", NULL};

typedef struct Parse {
    const char *origin;
    yaml_document_t doc;
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
static int flow_text(Parse *p, yaml_node_t *n, StrBuf *out) {
    if (n->type == YAML_SCALAR_NODE) {
        sb_printf(out, "%s", node_text(n));
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return err_set(p->err, "%s:%zu: expected a value or a list, got a mapping", p->origin,
                       node_line(n));
    sb_append(out, "[", 1);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        if (it != n->data.sequence.items.start) sb_append(out, ",", 1);
        if (flow_text(p, node_at(p, *it), out)) return -1;
    }
    sb_append(out, "]", 1);
    return 0;
}

/* "name(a, b, c)" → up to 3 numbers; returns how many were read, -1 if not that call. */
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

static void push_number(StrList *l, double v, int as_integer, Err *err, int *rc) {
    char buf[64];
    if (as_integer)
        snprintf(buf, sizeof(buf), "%.0f", v);
    else
        snprintf(buf, sizeof(buf), "%.6g", v);
    if (*rc == 0) *rc = list_push(l, buf, err);
}

/* range(a, b[, step]) as Python's (b excluded), linspace(a, b, n) and logspace(a, b, n) as
 * numpy's (10^a .. 10^b, both ends included). Returns 1 if the scalar was such a call. */
static int expand_generator(Parse *p, const yaml_node_t *n, const char *key, StrList *out,
                            int *rc) {
    const char *s = node_text(n);
    double a[3];
    int ints, got;
    const char *what = NULL;
    if ((got = parse_call(s, "range", a, &ints)) >= 0) {
        if (got < 2) {
            what = "range(start, stop[, step])";
        } else {
            double step = got == 3 ? a[2] : 1.0;
            if (step == 0.0) {
                *rc = err_set(p->err, "%s:%zu: key '%s': range step must not be 0", p->origin,
                              node_line(n), key);
                return 1;
            }
            long count = (long)ceil((a[1] - a[0]) / step - 1e-9);
            if (count > 100000) count = 100000;
            for (long i = 0; i < count; i++) push_number(out, a[0] + i * step, ints, p->err, rc);
        }
    } else if ((got = parse_call(s, "linspace", a, &ints)) >= 0 ||
               (got = parse_call(s, "logspace", a, &ints)) >= 0) {
        int log = s[1] == 'o';
        if (got != 3 || a[2] < 1 || a[2] != floor(a[2]) || a[2] > 100000) {
            what = log ? "logspace(start_exponent, stop_exponent, count)"
                       : "linspace(start, stop, count)";
        } else {
            int count = (int)a[2];
            for (int i = 0; i < count; i++) {
                double x = count == 1 ? a[0] : a[0] + (a[1] - a[0]) * i / (count - 1);
                push_number(out, log ? pow(10.0, x) : x, 0, p->err, rc);
            }
        }
    } else {
        return 0;
    }
    if (what)
        *rc = err_set(p->err, "%s:%zu: key '%s': expected %s, got '%s'", p->origin, node_line(n),
                      key, what, s);
    else if (*rc == 0 && out->n == 0)
        *rc = err_set(p->err, "%s:%zu: key '%s': '%s' gives no values", p->origin, node_line(n),
                      key, s);
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
    if (n->data.sequence.items.start == n->data.sequence.items.top)
        return err_set(p->err, "%s:%zu: key '%s': empty list", p->origin, node_line(n), key);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        StrBuf text = {0};
        int rc = flow_text(p, node_at(p, *it), &text);
        if (rc == 0) rc = list_push(out, text.data ? text.data : "", p->err);
        sb_free(&text);
        if (rc) return -1;
    }
    return 0;
}

/* ---- checking values against the config's key table ------------------------------------- */

static int apply_value(Config *cfg, const char *key, const char *value, Err *err) {
    char assignment[SWEEP_KEY_LEN + CFG_PATH + 2];
    snprintf(assignment, sizeof(assignment), "%s=%s", key, value);
    return config_apply_override(cfg, assignment, err);
}

/* Every value of key must be accepted by the config (type, bounds, known key). */
static int check_values(Parse *p, const Config *base, const char *key, const StrList *values,
                        size_t line) {
    for (int i = 0; i < values->n; i++) {
        Config scratch = *base;
        Err e;
        if (apply_value(&scratch, key, values->items[i], &e) != 0)
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
    if (rc == 0) {
        a->n_keys = n_keys;
        a->n_values = rows;
        a->values = calloc((size_t)rows * (size_t)n_keys, sizeof(char *));
        if (!a->values) rc = err_set(p->err, "out of memory");
        for (int i = 0; rc == 0 && i < rows; i++)
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
    char type; /* s string, i int, d double */
    void *dst;
    size_t size;
} OptionField;

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
        if (v->type != YAML_SCALAR_NODE)
            return err_set(p->err, "%s:%zu: key '%s.%s': expected a single value, got %s",
                           p->origin, node_line(v), section, hit->name, node_kind(v));
        const char *s = node_text(v);
        char *end = NULL;
        if (hit->type == 's') {
            if (strlen(s) >= hit->size)
                return err_set(p->err, "%s:%zu: key '%s.%s': value too long", p->origin,
                               node_line(v), section, hit->name);
            snprintf(hit->dst, hit->size, "%s", s);
            continue;
        }
        double d = strtod(s, &end);
        if (end == s || *end || !isfinite(d) || d < 0 || (hit->type == 'i' && d != floor(d)))
            return err_set(p->err, "%s:%zu: key '%s.%s': expected a non-negative %s, got '%s'",
                           p->origin, node_line(v), section, hit->name,
                           hit->type == 'i' ? "integer" : "number", s);
        if (hit->type == 'i')
            *(int *)hit->dst = (int)d;
        else
            *(double *)hit->dst = d;
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

/* report.metric is "policy:k" (e.g. "margin:1"), the eval rows the curves come from. */
static int parse_report(Parse *p, yaml_node_t *map, SweepReportOptions *o) {
    char metric[48] = "";
    OptionField f[] = {{"metric", 's', metric, sizeof(metric)},
                       {"baseline", 's', o->baseline, sizeof(o->baseline)},
                       {"target", 'd', &o->target, 0},
                       {"smoothing", 'd', &o->smoothing, 0},
                       {"bootstrap", 'i', &o->bootstrap, 0}};
    if (parse_options(p, map, "report", f, 5)) return -1;
    if (o->smoothing >= 1.0)
        return err_set(p->err, "%s:%zu: key 'report.smoothing': must be in [0, 1)", p->origin,
                       node_line(map));
    if (metric[0]) {
        char *colon = strchr(metric, ':');
        int k = colon ? atoi(colon + 1) : 0;
        if (!colon || k < 1 || colon == metric || (size_t)(colon - metric) >= sizeof(o->policy))
            return err_set(p->err, "%s:%zu: key 'report.metric': expected policy:k, e.g. margin:1",
                           p->origin, node_line(map));
        *colon = '\0';
        snprintf(o->policy, sizeof(o->policy), "%s", metric);
        o->tokens_per_step = k;
    }
    return 0;
}

/* ---- the document ----------------------------------------------------------------------- */

static int load_document(Parse *p, const char *text, size_t len) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return err_set(p->err, "%s: cannot initialise the YAML parser", p->origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&parser, &p->doc);
    int rc = 0;
    if (!ok)
        rc = err_set(p->err, "%s:%zu: YAML syntax error: %s", p->origin,
                     parser.problem_mark.line + 1, parser.problem ? parser.problem : "unknown");
    yaml_parser_delete(&parser);
    if (!ok) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        yaml_document_delete(&p->doc);
        return err_set(p->err, "%s: expected a mapping at the top level", p->origin);
    }
    return 0;
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

int sweep_report_options(const char *text, size_t len, const char *origin, SweepReportOptions *o,
                         Err *err) {
    Parse p = {.origin = origin, .err = err};
    report_defaults(o);
    if (load_document(&p, text, len)) return -1;
    yaml_node_t *r = find_section(&p, "report", NULL);
    int rc = r ? parse_report(&p, r, o) : 0;
    yaml_document_delete(&p.doc);
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
    OptionField f[] = {{"jobs", 'i', &sw->jobs, 0}, {"timeout", 'd', &sw->timeout_s, 0}};
    if ((n = find_section(p, "sweep", &line)) && parse_options(p, n, "sweep", f, 2)) return -1;
    return 0;
}

/* ---- expansion -------------------------------------------------------------------------- */

void sweep_run_id(const Config *cfg, char id[SWEEP_ID_LEN]) {
    Config c = *cfg;
    config_reset_roles(&c, CFG_ROLE_EXECUTION);
    StrBuf yaml = {0};
    config_write_yaml(&c, &yaml);
    uint64_t h = fnv1a64(yaml.data, yaml.len, FNV1A64_INIT);
    sb_free(&yaml);
    snprintf(id, SWEEP_ID_LEN, "%016llx", (unsigned long long)h);
}

static int same_config(const Config *a, const Config *b) {
    StrBuf x = {0}, y = {0};
    config_write_yaml(a, &x);
    config_write_yaml(b, &y);
    int same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    sb_free(&x);
    sb_free(&y);
    return same;
}

/* A run matches an exclude entry when, for every key, one of the listed values is already the
 * run's value (compared after parsing, so 1e-3 matches 0.001). */
static int excluded(const Sweep *sw, const Config *cfg) {
    for (int e = 0; e < sw->n_excludes; e++) {
        const SweepExclude *x = &sw->excludes[e];
        int all = 1;
        for (int j = 0; j < x->n_keys && all; j++) {
            int any = 0;
            for (int v = 0; v < x->n_values[j] && !any; v++) {
                Config probe = *cfg;
                Err ignored;
                any = apply_value(&probe, x->keys[j], x->values[j][v], &ignored) == 0 &&
                      same_config(&probe, cfg);
            }
            all = any;
        }
        if (all) return 1;
    }
    return 0;
}

/* Builds combination `combo` (mixed radix over the axes, first axis slowest). */
static int build_run(Sweep *sw, const int *digit, SweepRun *run, Err *err) {
    run->cfg = sw->base;
    StrBuf method = {0};
    int rc = 0;
    for (int a = 0; a < sw->n_axes && rc == 0; a++) {
        const SweepAxis *ax = &sw->axes[a];
        for (int j = 0; j < ax->n_keys && rc == 0; j++) {
            const char *v = ax->values[digit[a] * ax->n_keys + j];
            rc = apply_value(&run->cfg, ax->keys[j], v, err);
            if (strcmp(ax->keys[j], "seed") != 0)
                sb_printf(&method, "%s%s=%s", method.len ? "," : "", ax->keys[j], v);
        }
    }
    snprintf(run->method, sizeof(run->method), "%s", method.len ? method.data : "base");
    sb_free(&method);
    if (rc == 0 && config_validate(&run->cfg, err) != 0) rc = -1;
    if (rc) {
        Err e = *err;
        return err_set(err, "%s: run %s seed=%ld: %s", sw->path, run->method, run->cfg.seed, e.msg);
    }
    run->seed = run->cfg.seed;
    snprintf(run->cfg.name, sizeof(run->cfg.name), "%s", sw->name);
    sweep_run_id(&run->cfg, run->id);
    return 0;
}

static int expand(Sweep *sw, Err *err) {
    long total = 1;
    for (int a = 0; a < sw->n_axes; a++) {
        total *= sw->axes[a].n_values;
        if (total > 100000) return err_set(err, "%s: the grid has more than 100000 runs", sw->path);
    }
    sw->runs = calloc((size_t)total, sizeof(SweepRun));
    if (!sw->runs) return err_set(err, "out of memory");
    int digit[SWEEP_MAX_AXES] = {0};
    for (long c = 0; c < total; c++) {
        long rest = c;
        for (int a = sw->n_axes - 1; a >= 0; a--) {
            digit[a] = (int)(rest % sw->axes[a].n_values);
            rest /= sw->axes[a].n_values;
        }
        SweepRun *run = &sw->runs[sw->n_runs];
        if (build_run(sw, digit, run, err)) return -1;
        if (excluded(sw, &run->cfg)) {
            sw->n_excluded++;
            continue;
        }
        for (int i = 0; i < sw->n_runs; i++)
            if (strcmp(sw->runs[i].id, run->id) == 0)
                return err_set(err,
                               "%s: runs %d (%s seed=%ld) and %d (%s seed=%ld) are the same "
                               "config",
                               sw->path, i, sw->runs[i].method, sw->runs[i].seed, sw->n_runs,
                               run->method, run->seed);
        run->index = sw->n_runs++;
    }
    if (sw->n_runs == 0) return err_set(err, "%s: every run is excluded", sw->path);
    return 0;
}

static void stem_of(const char *path, char *out, size_t n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%.*s", (int)strcspn(base, "."), base);
}

int sweep_load(Sweep *sw, const char *path, char *const *overrides, int n_overrides, Err *err) {
    memset(sw, 0, sizeof(*sw));
    snprintf(sw->path, sizeof(sw->path), "%s", path);
    stem_of(path, sw->name, sizeof(sw->name));
    report_defaults(&sw->report);
    config_defaults(&sw->base);
    if (config_load_yaml_skipping(&sw->base, path, sweep_sections, err)) return -1;
    for (int i = 0; i < n_overrides; i++)
        if (config_apply_override(&sw->base, overrides[i], err)) return -1;
    char *text;
    size_t len;
    if (read_file_all(path, &text, &len, err)) return -1;
    Parse p = {.origin = path, .err = err};
    int rc = load_document(&p, text, len);
    free(text);
    if (rc) return -1;
    rc = parse_sections(sw, &p);
    yaml_document_delete(&p.doc);
    if (rc == 0) rc = expand(sw, err);
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
