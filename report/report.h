/* `mdmlab report`: turns a sweep's finished runs into figures and statistics.
 * The sweep module (sweep/sweep.*) expands the sweep file and hands the report a list of
 * runs with their method label and seed; the report reads each run directory's eval.csv
 * and train.csv and writes, under out_dir:
 *   curves.tsv + curves.gp (+ .png/.svg)   metric vs step per method: mean and min-max band
 *   loss.tsv + loss.gp (+ .png/.svg)       training loss vs step per method
 *   speedup.tsv + speedup.gp (+ .png/.svg) step and wall-clock speedup over the baseline
 *                                          with bootstrap intervals
 *   summary.md, summary.json
 * Speedup as DESIGN.md defines it (see speedup.h). */
#ifndef MDMLAB_REPORT_H
#define MDMLAB_REPORT_H

#include "base/util.h"

typedef struct ReportRun {
    char dir[1024];   /* the run directory (holds eval.csv, train.csv) */
    char method[512]; /* label of the non-seed axis values, e.g. "process=puma" */
    long seed;
    char state[16]; /* status.json state: done | failed | running | interrupted | pending */
} ReportRun;

typedef struct ReportSpec {
    const char *title;   /* figure titles: the sweep's name */
    const char *out_dir; /* created if missing */
    const ReportRun *runs;
    int n_runs;
    char policy[32]; /* the eval.csv rows that make the curve: policy and k */
    int tokens_per_step;
    char baseline[512]; /* method label of the baseline; "" = the first method */
    double target;      /* > 0: fixed target; <= 0: the lower of the two mean-curve peaks */
    double smoothing;   /* EMA weight of the previous smoothed value, in [0, 1) */
    int bootstrap;      /* resamples for intervals */
    uint64_t seed;      /* bootstrap RNG seed (reports are deterministic) */
    int no_gnuplot;     /* write data and scripts but do not call gnuplot */
    StrBuf *warnings;   /* when not NULL: receives the report's warnings, one per line */
    /* Legend text for methods (n_labels pairs; others get label_readable's form). */
    const char *const *label_method;
    const char *const *label_text;
    int n_labels;
} ReportSpec;

/* Writes the report; 0 on success. A missing gnuplot is not an error: data and scripts are
 * written and *gnuplot_missing is set so the caller can say so. */
int report_write(const ReportSpec *spec, int *gnuplot_missing, Err *err);

#endif
