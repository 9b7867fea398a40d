/* Small descriptive statistics shared by the speedup report and the regression gate. */
#ifndef MDMLAB_STATS_H
#define MDMLAB_STATS_H

#include "../harness/util.h"

double stats_mean(const double *x, int n);
/* Sorts a copy; NAN for n == 0. */
double stats_median(const double *x, int n);
/* Linear-interpolated quantile (type 7, like R's default and numpy's "linear") of a sorted
 * array; q in [0, 1]. NAN for n == 0. */
double stats_quantile_sorted(const double *sorted, int n, double q);
void stats_sort(double *x, int n);
/* n indices drawn uniformly with replacement from [0, n): one bootstrap resample. */
void stats_resample(Rng *rng, int *idx, int n);

#endif
