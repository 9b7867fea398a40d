/* `mdmlab compare`: the regression gate. Compares a current metrics file (metrics_file.h)
 * against a stored baseline, metric by metric, and writes a Markdown table for CI logs.
 *
 * Per metric (the baseline's row governs direction, kind, gate and tolerances; for a metric
 * only in the current file its own row does):
 *   exact    one value per side (several identical values count as one; differing values
 *            make it sampled). Regression when the current is worse by more than
 *            rel_tol*|baseline| AND more than abs_tol; better by as much: "improved".
 *   sampled  needs >= min_samples values per side, else "inconclusive (n=B/C)". Regression
 *            only when the two-sided Mann-Whitney U test gives p < alpha AND the median moved
 *            in the worse direction by more than rel_tol*|median_base| AND abs_tol
 *            (stats_mann_whitney: exact null distribution without ties for n <= 50, else the
 *            normal approximation with tie and continuity corrections). The bootstrap 95%
 *            percentile interval of median(current)/median(baseline) is printed as the effect
 *            size; it does not decide. When the machine fingerprints differ, sampled metrics
 *            are "not comparable: machine differs" and not gated; exact ones still are.
 *   missing  in the baseline, not in the current: a run failure.
 *   new      only in the current: listed, passes.
 * A metric whose direction differs between the files is "definition differs: direction"
 * (a failure: the baseline must be regenerated). info metrics are reported with an "(info)"
 * status and never change the exit status, even when missing. Machines differ when both files
 * carry a "# machine:" line and the lines differ.
 *
 * Exit status: COMPARE_FAILURE (missing or redefined gated metric, unreadable or malformed
 * file, unwritable --markdown file) > COMPARE_REGRESSION > COMPARE_INCONCLUSIVE (no
 * regression, but a gated sampled metric had too few samples) > COMPARE_OK. */
#ifndef MDMLAB_COMPARE_H
#define MDMLAB_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include "base/util.h"
#include "metrics_file.h"

enum { COMPARE_OK = 0, COMPARE_REGRESSION = 1, COMPARE_FAILURE = 2, COMPARE_INCONCLUSIVE = 3 };

typedef struct CompareOptions {
    double alpha;              /* significance level of the U test (0.05) */
    int bootstrap;             /* resamples for the ratio interval (2000); 0 = none */
    int min_samples;           /* per side, for sampled metrics (5) */
    uint64_t seed;             /* bootstrap RNG seed: the output is deterministic (1) */
    const char *markdown_path; /* also write the output here, atomically; NULL = no */
} CompareOptions;

void compare_options_default(CompareOptions *opt);

typedef enum CompareStatus {
    CMP_OK,
    CMP_IMPROVED,
    CMP_REGRESSION,
    CMP_INCONCLUSIVE,
    CMP_NOT_COMPARABLE, /* sampled, machines differ */
    CMP_MISSING,
    CMP_NEW,
    CMP_MISMATCH /* direction differs between the files */
} CompareStatus;

typedef struct MetricCompare {
    MetricRow spec; /* name, direction, kind, gate, tolerances (value unused) */
    int sampled;    /* as compared: declared sampled, or exact with differing values */
    int n_base, n_cur;
    double base, cur;          /* the value, or the median of the samples; NAN when absent */
    double p;                  /* U test p-value; NAN when not computed */
    int p_exact;               /* 1: exact distribution, 0: normal approximation */
    double ratio_lo, ratio_hi; /* bootstrap 95% interval of cur/base medians; NAN if none */
    CompareStatus status;
} MetricCompare;

typedef struct CompareReport {
    MetricCompare *m; /* baseline order, then metrics new in the current file */
    int n;
    int machine_differs;
    /* counts as in the summary line: regressions and inconclusive are gated metrics only;
     * improved and missing count every metric */
    int regressions, improved, inconclusive, missing;
    int exit_status;
} CompareReport;

/* Compares two loaded files; fills rep (free with compare_report_free). -1 only on allocation
 * failure; the gate's verdict is rep->exit_status. */
int compare_metrics(const MetricsFile *base, const MetricsFile *cur, const CompareOptions *opt,
                    CompareReport *rep, Err *err);
void compare_report_free(CompareReport *rep);

/* Appends the Markdown table and the summary line
 * "compare: N metrics, R regressions, I improved, U inconclusive, M missing". */
void compare_write_markdown(const CompareReport *rep, const char *base_path, const char *cur_path,
                            const MetricsFile *base, const MetricsFile *cur, StrBuf *sb);

/* The whole command: reads both files, compares, writes the Markdown to out (and to
 * opt->markdown_path). Returns the exit status (COMPARE_*). On COMPARE_FAILURE err says why
 * (the first file error, or which metrics are missing / mismatched); after a file error
 * nothing is written to out. */
int compare_files(const char *base_path, const char *cur_path, const CompareOptions *opt, FILE *out,
                  Err *err);

/* Parses the arguments after "compare" into opt and the two paths. Returns 0, 1 when
 * -h/--help was given (print compare_usage, exit 0), or -1 with err set (exit 2). */
int compare_parse_args(int argc, char *const *argv, CompareOptions *opt, const char **base_path,
                       const char **cur_path, Err *err);

extern const char compare_usage[];

#endif
