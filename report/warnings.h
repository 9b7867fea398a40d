/* Where a report's statistics are shaky, in words a reader acts on: fewer than 3 seeds of a
 * method; a target below 5% of the metric's range (the highest mean-curve peak) or first
 * reached in the last interval between evaluations; more than 25% of the bootstrap resamples
 * censored; a speedup interval that contains 1 (no evidence either way). */
#ifndef MDMLAB_REPORT_WARNINGS_H
#define MDMLAB_REPORT_WARNINGS_H

#include "speedup.h"

typedef struct WarnMethod {
    const char *label;
    int n_seeds;                /* done runs */
    const MethodCurves *curves; /* NULL: no data */
    const SpeedupResult *sp;    /* NULL: not compared (the baseline, or no data) */
} WarnMethod;

/* Appends one line per warning to sb (each ending in '\n'); returns how many. m[baseline] is
 * the methods' baseline; range_top: the largest mean-curve peak over the methods. */
int report_warnings(StrBuf *sb, const WarnMethod *m, int n, int baseline, double range_top);

#endif
