/* Reports along a grid axis: for every grid key with numbers for values (train.lr, puma.K),
 * the final and the best metric of each run against that value, one line per group of the
 * other axes' values (the other methods), mean over seeds with the min-max range. */
#ifndef MDMLAB_AXIS_H
#define MDMLAB_AXIS_H

#include "speedup.h"

enum { AXIS_MAX_KEYS = 8, AXIS_MAX_GROUPS = 16, AXIS_KEY_LEN = 128, AXIS_GROUP_LEN = 512 };

typedef struct AxisMethod {
    const char *label;          /* "train.lr=0.001,process=puma" */
    const MethodCurves *curves; /* NULL: no finished run */
} AxisMethod;

/* The keys every labelled method sets to a number, with at least 2 distinct values; returns
 * how many (at most AXIS_MAX_KEYS). */
int axis_numeric_keys(const AxisMethod *m, int n, char keys[][AXIS_KEY_LEN]);
/* axis_KEY.tsv into sb: one block per group (blocks apart by two blank lines, for gnuplot's
 * `index`), rows by increasing value: value, final mean, final min, final max, best mean,
 * best min, best max over seeds (final: a seed's value at its method's last common eval
 * step; best: its highest, or its lowest when lower_is_better). The groups' labels (the other axes;
 * "" when there are none) go to groups; returns their count. */
int axis_tsv(StrBuf *sb, const AxisMethod *m, int n, const char *key, int lower_is_better,
             char groups[][AXIS_GROUP_LEN]);
/* Whether the key's values are positive and span a factor 10 or more (a log axis). */
int axis_is_log(const AxisMethod *m, int n, const char *key);

#endif
