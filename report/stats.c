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

double stats_sd(const double *x, int n) {
    if (n < 2) return NAN;
    double m = stats_mean(x, n), ss = 0.0;
    for (int i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    return sqrt(ss / (n - 1));
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

double stats_mwu_exact_sf(int m, int n, double u) {
    if (m < 0 || n < 0) return NAN;
    if (m > n) { /* the distribution of U depends on {m, n} only */
        int t = m;
        m = n;
        n = t;
    }
    /* f(i, j, k) = number of orderings of i x's and j y's with U = k. The largest of the
     * i + j values is either an x (beating all j y's) or a y:
     * f(i, j, k) = f(i-1, j, k-j) + f(i, j-1, k). Sums of positive terms only, so the
     * tails stay accurate in doubles. Rows over i, one polynomial per j. */
    size_t len = (size_t)m * (size_t)n + 1;
    double *prev = calloc((size_t)(n + 1) * len, sizeof(double));
    double *cur = calloc((size_t)(n + 1) * len, sizeof(double));
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return NAN;
    }
    for (int j = 0; j <= n; j++) prev[(size_t)j * len] = 1.0; /* i = 0: U = 0 */
    for (int i = 1; i <= m; i++) {
        for (int j = 0; j <= n; j++) {
            double *f = cur + (size_t)j * len;
            const double *up = prev + (size_t)j * len;
            const double *left = j > 0 ? cur + (size_t)(j - 1) * len : NULL;
            size_t top = (size_t)i * (size_t)j;
            for (size_t k = 0; k <= top; k++) {
                double v = k >= (size_t)j ? up[k - (size_t)j] : 0.0;
                if (left && k <= (size_t)i * (size_t)(j - 1)) v += left[k];
                f[k] = v;
            }
        }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    const double *f = prev + (size_t)n * len;
    double total = 0.0, tail = 0.0;
    for (size_t k = 0; k < len; k++) {
        total += f[k];
        if ((double)k >= u - 1e-9) tail += f[k];
    }
    free(prev);
    free(cur);
    return tail / total;
}

typedef struct Ranked {
    double v;
    int from_x;
} Ranked;

static int cmp_ranked(const void *a, const void *b) {
    double x = ((const Ranked *)a)->v, y = ((const Ranked *)b)->v;
    return (x > y) - (x < y);
}

int stats_mann_whitney(const double *x, int nx, const double *y, int ny, MwuResult *r) {
    if (nx < 1 || ny < 1) return -1;
    int n = nx + ny;
    Ranked *all = malloc((size_t)n * sizeof(*all));
    if (!all) return -1;
    for (int i = 0; i < nx; i++) all[i] = (Ranked){x[i], 1};
    for (int i = 0; i < ny; i++) all[nx + i] = (Ranked){y[i], 0};
    qsort(all, (size_t)n, sizeof(*all), cmp_ranked);
    double rank_sum_x = 0.0, tie_sum = 0.0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && all[j + 1].v == all[i].v) j++;
        double avg_rank = 0.5 * (i + j) + 1.0; /* ranks are 1-based */
        for (int k = i; k <= j; k++)
            if (all[k].from_x) rank_sum_x += avg_rank;
        double t = j - i + 1;
        tie_sum += t * t * t - t;
        i = j + 1;
    }
    free(all);

    double nxy = (double)nx * ny;
    r->u = rank_sum_x - 0.5 * nx * (nx + 1.0);
    double u_max = fmax(r->u, nxy - r->u);
    r->exact = tie_sum == 0.0 && nx <= STATS_MWU_EXACT_MAX && ny <= STATS_MWU_EXACT_MAX;
    if (r->exact) {
        double sf = stats_mwu_exact_sf(nx, ny, u_max);
        if (isnan(sf)) return -1;
        r->p = fmin(1.0, 2.0 * sf);
        return 0;
    }
    double var = nxy / 12.0 * ((n + 1.0) - tie_sum / ((double)n * (n - 1.0)));
    if (!(var > 0.0)) { /* every value equal: no evidence of a shift */
        r->p = 1.0;
        return 0;
    }
    double z = (u_max - 0.5 * nxy - 0.5) / sqrt(var);
    r->p = fmin(1.0, erfc(z / sqrt(2.0)));
    return 0;
}
