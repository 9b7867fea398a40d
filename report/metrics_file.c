#include "metrics_file.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_MAGIC  "# mdmlab metrics v"
#define METRICS_HEADER "metric\tdirection\tkind\tgate\trel_tol\tabs_tol\tvalue"
#define METRICS_COLS   7

static const char *const column_names[METRICS_COLS] = {"metric",  "direction", "kind", "gate",
                                                       "rel_tol", "abs_tol",   "value"};

int metrics_file_add(MetricsFile *mf, const MetricRow *row, Err *err) {
    size_t name_len = strnlen(row->name, METRIC_NAME_LEN);
    if (name_len == 0 || name_len == METRIC_NAME_LEN)
        return err_set(err, "metric name must have 1 to %d characters", METRIC_NAME_LEN - 1);
    if (strpbrk(row->name, "\t\r\n"))
        return err_set(err, "metric '%s': name contains a tab or line break", row->name);
    if (!isfinite(row->value) || !isfinite(row->rel_tol) || !isfinite(row->abs_tol) ||
        row->rel_tol < 0 || row->abs_tol < 0)
        return err_set(err, "metric '%s': value and tolerances must be finite, tolerances >= 0",
                       row->name);
    if (mf->n == mf->cap) {
        int cap = mf->cap ? 2 * mf->cap : 16;
        MetricRow *grown = realloc(mf->rows, (size_t)cap * sizeof(*grown));
        if (!grown) return err_set(err, "metric '%s': out of memory", row->name);
        mf->rows = grown;
        mf->cap = cap;
    }
    mf->rows[mf->n++] = *row;
    return 0;
}

void metrics_file_free(MetricsFile *mf) {
    free(mf->rows);
    mf->rows = NULL;
    mf->n = mf->cap = 0;
    mf->machine[0] = '\0';
}

/* Splits line in place at tabs; returns the number of fields (up to max, the rest merged into
 * the count so that "wrong column count" can report it). */
static int split_tabs(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line;; n++) {
        char *tab = strchr(p, '\t');
        if (n < max) fields[n] = p;
        if (!tab) return n + 1;
        *tab = '\0';
        p = tab + 1;
    }
}

static int parse_choice(const char *path, int line, int col, const char *text, const char *a,
                        const char *b, int *out, Err *err) {
    if (strcmp(text, a) == 0)
        *out = 0;
    else if (strcmp(text, b) == 0)
        *out = 1;
    else
        return err_set(err, "%s:%d: column '%s': expected %s|%s, got '%s'", path, line,
                       column_names[col], a, b, text);
    return 0;
}

static int parse_number(const char *path, int line, int col, const char *text, int nonneg,
                        double *out, Err *err) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || errno == ERANGE)
        return err_set(err, "%s:%d: column '%s': expected a number, got '%s'", path, line,
                       column_names[col], text);
    if (nonneg && v < 0)
        return err_set(err, "%s:%d: column '%s': expected a number >= 0, got '%s'", path, line,
                       column_names[col], text);
    *out = v;
    return 0;
}

static int parse_row(const char *path, int line, char **f, MetricRow *row, Err *err) {
    memset(row, 0, sizeof(*row));
    size_t len = strlen(f[0]);
    if (len == 0) return err_set(err, "%s:%d: column 'metric': empty name", path, line);
    if (len >= METRIC_NAME_LEN)
        return err_set(err, "%s:%d: column 'metric': name longer than %d characters", path, line,
                       METRIC_NAME_LEN - 1);
    memcpy(row->name, f[0], len + 1);
    int lower_first = 0, is_sampled = 0, is_info = 0;
    if (parse_choice(path, line, 1, f[1], "lower", "higher", &lower_first, err) ||
        parse_choice(path, line, 2, f[2], "exact", "sampled", &is_sampled, err) ||
        parse_choice(path, line, 3, f[3], "gate", "info", &is_info, err) ||
        parse_number(path, line, 4, f[4], 1, &row->rel_tol, err) ||
        parse_number(path, line, 5, f[5], 1, &row->abs_tol, err) ||
        parse_number(path, line, 6, f[6], 0, &row->value, err))
        return -1;
    row->higher_is_better = lower_first;
    row->exact = !is_sampled;
    row->gated = !is_info;
    return 0;
}

/* Rows of one metric are one sample set, so they must agree on everything but the value. */
static int check_consistent(const char *path, int line, const MetricsFile *mf, const MetricRow *row,
                            const int *row_lines, Err *err) {
    for (int i = 0; i < mf->n; i++) {
        const MetricRow *o = &mf->rows[i];
        if (strcmp(o->name, row->name) != 0) continue;
        const char *what = o->higher_is_better != row->higher_is_better ? "direction"
                           : o->exact != row->exact                     ? "kind"
                           : o->gated != row->gated                     ? "gate"
                           : o->rel_tol != row->rel_tol                 ? "rel_tol"
                           : o->abs_tol != row->abs_tol                 ? "abs_tol"
                                                                        : NULL;
        if (what)
            return err_set(err, "%s:%d: metric '%s': column '%s' differs from line %d", path, line,
                           row->name, what, row_lines[i]);
        return 0;
    }
    return 0;
}

static char *trim_ws(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static int parse_comment(const char *path, int line, char *text, MetricsFile *mf, Err *err) {
    size_t magic_len = strlen(METRICS_MAGIC);
    if (strncmp(text, METRICS_MAGIC, magic_len) == 0) {
        if (strcmp(text + magic_len, "1") != 0)
            return err_set(err, "%s:%d: unsupported metrics file version '%s' (expected 1)", path,
                           line, text + magic_len);
    } else if (strncmp(text, "# machine:", 10) == 0) {
        snprintf(mf->machine, sizeof(mf->machine), "%s", trim_ws(text + 10));
    }
    return 0;
}

int metrics_file_read(MetricsFile *mf, const char *path, Err *err) {
    memset(mf, 0, sizeof(*mf));
    char *data;
    size_t len;
    if (read_file_all(path, &data, &len, err) != 0) return -1;
    if (strlen(data) != len) {
        free(data);
        return err_set(err, "%s: not a text file (contains a NUL byte)", path);
    }
    int *row_lines = NULL; /* line of each row, for consistency errors */
    int seen_header = 0, line = 0, rc = 0;
    char *next = data;
    while (rc == 0 && next && *next) {
        char *text = next;
        char *nl = strchr(text, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        line++;
        size_t tl = strlen(text);
        if (tl > 0 && text[tl - 1] == '\r') text[--tl] = '\0';
        if (tl == 0) continue;
        if (text[0] == '#') {
            rc = parse_comment(path, line, text, mf, err);
            continue;
        }
        if (!seen_header) {
            if (strcmp(text, METRICS_HEADER) != 0)
                rc = err_set(err,
                             "%s:%d: expected the column header "
                             "'metric<TAB>direction<TAB>kind<TAB>gate<TAB>rel_tol<TAB>abs_tol<TAB>"
                             "value'",
                             path, line);
            seen_header = 1;
            continue;
        }
        char *f[METRICS_COLS];
        int nf = split_tabs(text, f, METRICS_COLS);
        if (nf != METRICS_COLS) {
            rc = err_set(err, "%s:%d: expected %d tab-separated columns, got %d", path, line,
                         METRICS_COLS, nf);
            break;
        }
        MetricRow row;
        if (parse_row(path, line, f, &row, err) != 0 ||
            check_consistent(path, line, mf, &row, row_lines, err) != 0 ||
            metrics_file_add(mf, &row, err) != 0) {
            rc = -1;
            break;
        }
        int *grown = realloc(row_lines, (size_t)mf->cap * sizeof(*grown));
        if (!grown) {
            rc = err_set(err, "%s:%d: out of memory", path, line);
            break;
        }
        row_lines = grown;
        row_lines[mf->n - 1] = line;
    }
    if (rc == 0 && !seen_header)
        rc = err_set(err, "%s: no column header line (empty metrics file?)", path);
    free(row_lines);
    free(data);
    if (rc != 0) metrics_file_free(mf);
    return rc;
}

/* The shortest of %.15g..%.17g that reads back as the same double: exact round trips with
 * tolerances that stay readable (0.02, not 0.020000000000000000416). */
static void sb_double(StrBuf *sb, double v) {
    char buf[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    sb_printf(sb, "%s", buf);
}

int metrics_file_write(const MetricsFile *mf, const char *path, Err *err) {
    if (strpbrk(mf->machine, "\r\n"))
        return err_set(err, "%s: machine fingerprint contains a line break", path);
    StrBuf sb = {0};
    sb_printf(&sb, "%s1\n", METRICS_MAGIC);
    if (mf->machine[0]) sb_printf(&sb, "# machine: %s\n", mf->machine);
    sb_printf(&sb, "%s\n", METRICS_HEADER);
    for (int i = 0; i < mf->n; i++) {
        const MetricRow *r = &mf->rows[i];
        sb_printf(&sb, "%s\t%s\t%s\t%s\t", r->name, r->higher_is_better ? "higher" : "lower",
                  r->exact ? "exact" : "sampled", r->gated ? "gate" : "info");
        sb_double(&sb, r->rel_tol);
        sb_printf(&sb, "\t");
        sb_double(&sb, r->abs_tol);
        sb_printf(&sb, "\t");
        sb_double(&sb, r->value);
        sb_printf(&sb, "\n");
    }
    int rc = write_file_atomic(path, sb.data, sb.len, err);
    sb_free(&sb);
    return rc;
}

#ifdef MDMLAB_HAVE_OPENBLAS
#define FP_OPENBLAS ",openblas"
#else
#define FP_OPENBLAS ""
#endif
#ifdef MDMLAB_HAVE_ONEDNN
#define FP_ONEDNN ",onednn"
#else
#define FP_ONEDNN ""
#endif

/* Copies src into dst collapsing whitespace runs to one space and replacing ';' (the field
 * separator), so the fingerprint stays one line without tabs. */
static void copy_clean(char *dst, size_t n, const char *src) {
    size_t o = 0;
    int space = 0;
    for (const char *p = src; *p && o + 1 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < n) dst[o++] = ' ';
        space = 0;
        dst[o++] = c == ';' ? ',' : (char)c;
    }
    dst[o] = '\0';
}

void machine_fingerprint(char *out, size_t n) {
    char model[160] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "model name", 10) != 0) continue;
            char *colon = strchr(line, ':');
            if (colon) copy_clean(model, sizeof(model), colon + 1);
            break;
        }
        fclose(f);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(out, n, "cpu=%s;cores=%ld;backends=ref%s%s", model[0] ? model : "unknown", cores,
             FP_OPENBLAS, FP_ONEDNN);
}
