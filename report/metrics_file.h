/* Metrics files: the plain-text samples the regression gate compares (the files under ci/baselines/
 * and what `mdmlab metrics` / the CI bench writes). Format (tab-separated, UTF-8):
 *
 *   # mdmlab metrics v1
 *   # machine: <fingerprint: cpu model, cores, backend list>
 *   metric  direction  kind  gate  rel_tol  abs_tol  value
 *   loss@300/process=random,seed=1  lower  exact  gate  0.02  0.01  1.234567
 *   tokens_per_s/backend=onednn     higher sampled info 0.10  0     40593.3
 *
 * One row per sample: a metric with several rows (repeats, seeds) is a sample set.
 * direction: lower | higher is better. kind: exact (deterministic for fixed config, seed
 * and backend: one value, compared by the tolerances alone) | sampled (noisy: compared by
 * a significance test AND the tolerances). gate: gate (a regression fails the check) |
 * info (reported, never fails). A change is practically significant when it is worse by
 * more than rel_tol * |baseline| AND more than abs_tol.
 *
 * Reading: lines starting with '#' are comments ("# mdmlab metrics vN" must say version 1;
 * "# machine:" sets the fingerprint), blank lines and CRLF endings are accepted, the column
 * header line is required before the rows, tolerances must be >= 0, numbers finite, and rows
 * of one metric must agree in every column but value. */
#ifndef MDMLAB_METRICS_FILE_H
#define MDMLAB_METRICS_FILE_H

#include "base/util.h"

#define METRIC_NAME_LEN 192

typedef struct MetricRow {
    char name[METRIC_NAME_LEN];
    int higher_is_better; /* direction */
    int exact;            /* kind */
    int gated;            /* gate */
    double rel_tol, abs_tol;
    double value;
} MetricRow;

typedef struct MetricsFile {
    char machine[256];
    MetricRow *rows;
    int n, cap;
} MetricsFile;

/* Errors name the file and line ("FILE:LINE: column 'direction': expected lower|higher"). */
int metrics_file_read(MetricsFile *mf, const char *path, Err *err);
/* Atomic write (write_file_atomic). */
int metrics_file_write(const MetricsFile *mf, const char *path, Err *err);
int metrics_file_add(MetricsFile *mf, const MetricRow *row, Err *err);
void metrics_file_free(MetricsFile *mf);
/* "cpu=<model>;cores=<n>;backends=<list>" from /proc/cpuinfo and the build. */
void machine_fingerprint(char *out, size_t n);

#endif
