#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double stats_mean(const double *x, int n) {
    if (n <= 0) return NAN;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_sort(double *x, int n) {
    if (n > 1) qsort(x, (size_t)n, sizeof(*x), cmp_double);
}

double stats_quantile_sorted(const double *sorted, int n, double q) {
    if (n <= 0) return NAN;
    if (q <= 0.0) return sorted[0];
    if (q >= 1.0) return sorted[n - 1];
    double h = q * (n - 1);
    int lo = (int)floor(h);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

double stats_median(const double *x, int n) {
    if (n <= 0) return NAN;
    double *c = malloc((size_t)n * sizeof(*c));
    if (!c) return NAN;
    memcpy(c, x, (size_t)n * sizeof(*c));
    stats_sort(c, n);
    double m = stats_quantile_sorted(c, n, 0.5);
    free(c);
    return m;
}

void stats_resample(Rng *rng, int *idx, int n) {
    for (int i = 0; i < n; i++) idx[i] = (int)rng_below(rng, (uint64_t)n);
}
