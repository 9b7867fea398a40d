/* The long and wide tables of `mdmlab export` (export.h). */
#include "export.h"

#include "csv.h"
#include "labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Row {
    int run, metric;
    double step, value, train_s;
} Row;

/* Names interned in first-seen order (metrics, axis keys). */
typedef struct Names {
    char **name;
    int n, cap;
} Names;

static int names_index(Names *s, const char *name, size_t len) {
    for (int i = 0; i < s->n; i++)
        if (strlen(s->name[i]) == len && strncmp(s->name[i], name, len) == 0) return i;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->name = realloc_or_die(s->name, (size_t)s->cap * sizeof *s->name, "export names");
    }
    s->name[s->n] = realloc_or_die(NULL, len + 1, "export names");
    memcpy(s->name[s->n], name, len);
    s->name[s->n][len] = '\0';
    return s->n++;
}

static void names_free(Names *s) {
    for (int i = 0; i < s->n; i++) free(s->name[i]);
    free(s->name);
    memset(s, 0, sizeof *s);
}

typedef struct Table {
    Row *rows;
    long n, cap;
    Names metrics, axes;
} Table;

static void add_row(Table *t, int run, const char *metric, double step, double value,
                    double train_s) {
    if (!isfinite(value)) return;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->rows = realloc_or_die(t->rows, (size_t)t->cap * sizeof *t->rows, "export rows");
    }
    t->rows[t->n++] =
        (Row){run, names_index(&t->metrics, metric, strlen(metric)), step, value, train_s};
}

/* Every numeric column of DIR/NAME but step, wall_s and train_s, as metrics; eval.csv's
 * per decoding ("accuracy/margin:1"). A missing file adds nothing. */
static int read_table(Table *t, int run, const char *dir, const char *name, Err *err) {
    static const char *const eval_metrics[] = {"accuracy", "nfe", "idle_step_ratio"};
    Csv c;
    Err missing;
    if (csv_open(&c, dir, name, &missing)) return 0; /* missing or empty: no rows */
    int eval = strcmp(name, "eval.csv") == 0;
    int c_step = csv_col(&c, "step", 1, err), c_ts = csv_col(&c, "train_s", 0, err);
    int c_pol = eval ? csv_col(&c, "policy", 1, err) : -1;
    int c_k = eval ? csv_col(&c, "tokens_per_step", 1, err) : -1;
    int rc = c_step < 0 || (eval && (c_pol < 0 || c_k < 0)) ? -1 : 0;
    while (rc == 0) {
        int got = csv_next(&c, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        double step, ts;
        if (csv_num(&c, c_step, &step, err) || csv_num(&c, c_ts, &ts, err)) {
            rc = -1;
            break;
        }
        for (int col = 0; col < c.n_cols && rc == 0; col++) {
            const char *h = c.cols[col];
            int wanted = !eval;
            for (int e = 0; e < 3 && eval; e++) wanted |= strcmp(h, eval_metrics[e]) == 0;
            if (!wanted || col == c_step || col == c_ts || strcmp(h, "wall_s") == 0) continue;
            double v;
            char *end;
            v = strtod(c.field[col], &end);
            if (end == c.field[col] || *end) continue; /* not a number */
            char metric[128];
            if (eval)
                snprintf(metric, sizeof metric, "%s/%s:%s", h, c.field[c_pol], c.field[c_k]);
            else
                snprintf(metric, sizeof metric, "%s", h);
            add_row(t, run, metric, step, v, ts);
        }
    }
    csv_close(&c);
    return rc;
}

static void axis_keys(Table *t, const char *label) {
    LabelItem it[LABEL_MAX_ITEMS];
    int n = label_items(label, it);
    for (int i = 0; i < n; i++) names_index(&t->axes, it[i].key, (size_t)it[i].key_len);
}

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(StrBuf *sb, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        sb_printf(sb, "%s", s);
        return;
    }
    sb_append(sb, "\"", 1);
    for (; *s; s++) {
        if (*s == '"') sb_append(sb, "\"", 1);
        sb_append(sb, s, 1);
    }
    sb_append(sb, "\"", 1);
}

static const char *run_id(const ReportRun *r) {
    const char *slash = strrchr(r->dir, '/');
    return slash && slash[1] ? slash + 1 : r->dir;
}

/* The identifying cells of a row: run_id, method, seed, axes. */
static void head_cells(StrBuf *sb, const Table *t, const ReportRun *r, int json) {
    char value[512];
    if (json) {
        sb_printf(sb, "{\"run_id\": ");
        sb_json_string(sb, run_id(r));
        sb_printf(sb, ", \"method\": ");
        sb_json_string(sb, r->method);
        sb_printf(sb, ", \"seed\": %ld", r->seed);
        for (int a = 0; a < t->axes.n; a++) {
            label_value(r->method, t->axes.name[a], value, sizeof value);
            sb_printf(sb, ", ");
            sb_json_string(sb, t->axes.name[a]);
            sb_printf(sb, ": ");
            sb_json_string(sb, value);
        }
        return;
    }
    csv_field(sb, run_id(r));
    sb_append(sb, ",", 1);
    csv_field(sb, r->method);
    sb_printf(sb, ",%ld", r->seed);
    for (int a = 0; a < t->axes.n; a++) {
        label_value(r->method, t->axes.name[a], value, sizeof value);
        sb_append(sb, ",", 1);
        csv_field(sb, value);
    }
}

static void num(StrBuf *sb, double x) {
    if (isfinite(x))
        sb_printf(sb, "%.10g", x);
    else
        sb_printf(sb, "%s", "");
}

static void jnum(StrBuf *sb, double x) {
    if (isfinite(x))
        sb_printf(sb, "%.10g", x);
    else
        sb_printf(sb, "null");
}

/* The CSV header's columns head_cells fills: run_id, method, seed and an axis each. */
static void head_header(StrBuf *sb, const Table *t) {
    sb_printf(sb, "run_id,method,seed");
    for (int a = 0; a < t->axes.n; a++) {
        sb_append(sb, ",", 1);
        csv_field(sb, t->axes.name[a]);
    }
}

static void write_long(StrBuf *sb, const Table *t, const ReportRun *runs, int json) {
    if (!json) {
        head_header(sb, t);
        sb_printf(sb, ",step,metric,value,train_s\n");
    }
    for (long i = 0; i < t->n; i++) {
        const Row *r = &t->rows[i];
        head_cells(sb, t, &runs[r->run], json);
        if (json) {
            sb_printf(sb, ", \"step\": ");
            jnum(sb, r->step);
            sb_printf(sb, ", \"metric\": ");
            sb_json_string(sb, t->metrics.name[r->metric]);
            sb_printf(sb, ", \"value\": ");
            jnum(sb, r->value);
            sb_printf(sb, ", \"train_s\": ");
            jnum(sb, r->train_s);
            sb_printf(sb, "}\n");
        } else {
            sb_append(sb, ",", 1);
            num(sb, r->step);
            sb_append(sb, ",", 1);
            csv_field(sb, t->metrics.name[r->metric]);
            sb_append(sb, ",", 1);
            num(sb, r->value);
            sb_append(sb, ",", 1);
            num(sb, r->train_s);
            sb_append(sb, "\n", 1);
        }
    }
}

static int by_run_step(const void *a, const void *b) {
    const Row *x = a, *y = b;
    if (x->run != y->run) return x->run - y->run;
    return (x->step > y->step) - (x->step < y->step);
}

/* One line per (run, step): the metrics as columns (empty where a step has no value). */
static long write_wide(StrBuf *sb, Table *t, const ReportRun *runs, int json) {
    qsort(t->rows, (size_t)t->n, sizeof *t->rows, by_run_step); /* stable enough: keys unique */
    if (!json) {
        head_header(sb, t);
        sb_printf(sb, ",step,train_s");
        for (int m = 0; m < t->metrics.n; m++) {
            sb_append(sb, ",", 1);
            csv_field(sb, t->metrics.name[m]);
        }
        sb_append(sb, "\n", 1);
    }
    double *cells = malloc((size_t)(t->metrics.n ? t->metrics.n : 1) * sizeof *cells);
    long lines = 0;
    for (long i = 0; i < t->n && cells;) {
        long j = i;
        for (int m = 0; m < t->metrics.n; m++) cells[m] = NAN;
        double train_s = NAN;
        for (; j < t->n && t->rows[j].run == t->rows[i].run && t->rows[j].step == t->rows[i].step;
             j++) {
            cells[t->rows[j].metric] = t->rows[j].value;
            if (isfinite(t->rows[j].train_s)) train_s = t->rows[j].train_s;
        }
        head_cells(sb, t, &runs[t->rows[i].run], json);
        if (json) {
            sb_printf(sb, ", \"step\": ");
            jnum(sb, t->rows[i].step);
            sb_printf(sb, ", \"train_s\": ");
            jnum(sb, train_s);
            for (int m = 0; m < t->metrics.n; m++) {
                if (!isfinite(cells[m])) continue;
                sb_printf(sb, ", ");
                sb_json_string(sb, t->metrics.name[m]);
                sb_printf(sb, ": ");
                jnum(sb, cells[m]);
            }
            sb_printf(sb, "}\n");
        } else {
            sb_append(sb, ",", 1);
            num(sb, t->rows[i].step);
            sb_append(sb, ",", 1);
            num(sb, train_s);
            for (int m = 0; m < t->metrics.n; m++) {
                sb_append(sb, ",", 1);
                num(sb, cells[m]);
            }
            sb_append(sb, "\n", 1);
        }
        lines++;
        i = j;
    }
    free(cells);
    return lines;
}

int export_runs(const ReportRun *runs, int n, const char *out_path, int wide, long *rows_out,
                Err *err) {
    static const char *const files[] = {"train.csv", "eval.csv", "elbo.csv"};
    Table t = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        axis_keys(&t, runs[i].method);
        for (int f = 0; f < 3 && rc == 0; f++) rc = read_table(&t, i, runs[i].dir, files[f], err);
    }
    size_t len = out_path ? strlen(out_path) : 0;
    int json = len > 6 && strcmp(out_path + len - 6, ".jsonl") == 0;
    StrBuf sb = {0};
    long lines = t.n;
    if (rc == 0 && t.n == 0) rc = err_set(err, "export: the runs hold no metrics yet");
    if (rc == 0) {
        if (wide)
            lines = write_wide(&sb, &t, runs, json);
        else
            write_long(&sb, &t, runs, json);
        if (out_path)
            rc = write_file_atomic(out_path, sb.data ? sb.data : "", sb.len, err);
        else if (sb.len && fwrite(sb.data, 1, sb.len, stdout) != sb.len)
            rc = err_set(err, "export: cannot write to standard output");
    }
    if (rows_out) *rows_out = lines;
    sb_free(&sb);
    free(t.rows);
    names_free(&t.metrics);
    names_free(&t.axes);
    return rc;
}
