/* Small descriptive statistics shared by the speedup report and the regression gate. */
#ifndef MDMLAB_STATS_H
#define MDMLAB_STATS_H

#include "base/util.h"

double stats_mean(const double *x, int n);
/* Sample standard deviation (n - 1 in the denominator); NAN for n < 2. */
double stats_sd(const double *x, int n);
/* Sorts a copy; NAN for n == 0. */
double stats_median(const double *x, int n);
/* Linear-interpolated quantile (type 7, like R's default and numpy's "linear") of a sorted
 * array; q in [0, 1]. NAN for n == 0. */
double stats_quantile_sorted(const double *sorted, int n, double q);
void stats_sort(double *x, int n);
/* n indices drawn uniformly with replacement from [0, n): one bootstrap resample. */
void stats_resample(Rng *rng, int *idx, int n);

/* Two-sided Mann-Whitney U test of x against y (what scipy.stats.mannwhitneyu computes with
 * method="auto", except that exact is used up to larger samples). u is U of x: the number of
 * pairs with x > y, ties counting 1/2. Without ties and with both sizes <= STATS_MWU_EXACT_MAX
 * the p-value comes from the exact null distribution, 2 * P(U >= max(U_x, U_y)) capped at 1;
 * otherwise from the normal approximation with the tie-corrected variance and a continuity
 * correction of 0.5 (p = 1 when every value is equal). -1 on allocation failure or n < 1. */
#define STATS_MWU_EXACT_MAX 50
typedef struct MwuResult {
    double u, p;
    int exact; /* 1: exact distribution, 0: normal approximation */
} MwuResult;
int stats_mann_whitney(const double *x, int nx, const double *y, int ny, MwuResult *r);
/* P(U >= u) under the null hypothesis for sizes m and n without ties (exact). NAN on
 * allocation failure. */
double stats_mwu_exact_sf(int m, int n, double u);

#endif
