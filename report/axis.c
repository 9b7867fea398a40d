/* Reports along a grid axis (axis.h). */
#include "axis.h"

#include "labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int number_of(const char *label, const char *key, double *x) {
    char v[256];
    if (!label_value(label, key, v, sizeof v)) return 0;
    char *end;
    *x = strtod(v, &end);
    return end != v && *end == '\0' && isfinite(*x);
}

int axis_numeric_keys(const AxisMethod *m, int n, char keys[][AXIS_KEY_LEN]) {
    int count = 0;
    LabelItem it[LABEL_MAX_ITEMS];
    int items = n > 0 ? label_items(m[0].label, it) : 0;
    for (int k = 0; k < items && count < AXIS_MAX_KEYS; k++) {
        char key[AXIS_KEY_LEN];
        snprintf(key, sizeof key, "%.*s", it[k].key_len, it[k].key);
        int numeric = 1, distinct = 0;
        double first = NAN, x;
        for (int i = 0; i < n && numeric; i++) {
            numeric = number_of(m[i].label, key, &x);
            if (numeric && isnan(first)) first = x;
            distinct |= numeric && x != first;
        }
        if (numeric && distinct) snprintf(keys[count++], AXIS_KEY_LEN, "%s", key);
    }
    return count;
}

int axis_is_log(const AxisMethod *m, int n, const char *key) {
    double lo = INFINITY, hi = -INFINITY, x;
    for (int i = 0; i < n; i++)
        if (number_of(m[i].label, key, &x)) {
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
    return lo > 0 && hi >= 10 * lo;
}

/* Mean, min and max over seeds of each seed's final (last common step) or best value (its
 * highest, or lowest when lower is better). */
static void seed_stats(const MethodCurves *mc, int best, int lower, double out[3]) {
    double sum = 0.0, lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < mc->n_seeds; s++) {
        const double *row = mc->raw + (size_t)s * mc->n_steps;
        double v = row[mc->n_steps - 1];
        for (int j = 0; best && j < mc->n_steps; j++) v = (row[j] < v) == lower ? row[j] : v;
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    out[0] = sum / mc->n_seeds;
    out[1] = lo;
    out[2] = hi;
}

typedef struct Point {
    double x;
    int method;
} Point;

static int by_x(const void *a, const void *b) {
    const Point *p = a, *q = b;
    return (p->x > q->x) - (p->x < q->x);
}

int axis_tsv(StrBuf *sb, const AxisMethod *m, int n, const char *key, int lower_is_better,
             char groups[][AXIS_GROUP_LEN]) {
    int n_groups = 0;
    int *group_of = malloc((size_t)(n > 0 ? n : 1) * sizeof *group_of);
    Point *pts = malloc((size_t)(n > 0 ? n : 1) * sizeof *pts);
    if (!group_of || !pts) {
        free(group_of);
        free(pts);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char rest[AXIS_GROUP_LEN];
        label_without(m[i].label, key, rest, sizeof rest);
        group_of[i] = -1;
        for (int g = 0; g < n_groups; g++)
            if (strcmp(groups[g], rest) == 0) group_of[i] = g;
        if (group_of[i] < 0 && n_groups < AXIS_MAX_GROUPS) {
            snprintf(groups[n_groups], AXIS_GROUP_LEN, "%s", rest);
            group_of[i] = n_groups++;
        }
    }
    sb_printf(sb, "# %s\tfinal mean\tfinal min\tfinal max\tbest mean\tbest min\tbest max\n", key);
    for (int g = 0; g < n_groups; g++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (group_of[i] == g && m[i].curves && number_of(m[i].label, key, &pts[k].x))
                pts[k++].method = i;
        qsort(pts, (size_t)k, sizeof *pts, by_x);
        if (g) sb_printf(sb, "\n\n");
        sb_printf(sb, "# group %d: %s\n", g, groups[g][0] ? groups[g] : "(no other axis)");
        for (int p = 0; p < k; p++) {
            double fin[3], best[3];
            seed_stats(m[pts[p].method].curves, 0, lower_is_better, fin);
            seed_stats(m[pts[p].method].curves, 1, lower_is_better, best);
            sb_printf(sb, "%.10g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\n", pts[p].x, fin[0], fin[1],
                      fin[2], best[0], best[1], best[2]);
        }
    }
    free(group_of);
    free(pts);
    return n_groups;
}
