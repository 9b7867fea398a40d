#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

const char compare_usage[] =
    "usage: mdmlab compare BASELINE.tsv CURRENT.tsv [--alpha A] [--bootstrap N]\n"
    "                      [--min-samples N] [--seed S] [--markdown FILE]\n\n"
    "Regression gate: compares a metrics file against a stored baseline and prints a\n"
    "Markdown table and a summary line. Metrics files are tab-separated, one row per sample:\n"
    "metric direction(lower|higher) kind(exact|sampled) gate(gate|info) rel_tol abs_tol value.\n"
    "  exact    regression when worse by more than rel_tol*|baseline| and more than abs_tol\n"
    "  sampled  regression when a two-sided Mann-Whitney U test gives p < A and the median is\n"
    "           worse by more than both tolerances; the bootstrap 95% interval of the ratio\n"
    "           of medians (current/baseline) is shown as the effect size. Not gated when the\n"
    "           machine fingerprints of the two files differ.\n"
    "  info metrics are reported but never fail; metrics only in CURRENT are listed as new.\n\n"
    "  --alpha A        significance level of the U test (default 0.05)\n"
    "  --bootstrap N    resamples for the ratio interval (default 2000, 0 = none)\n"
    "  --min-samples N  samples per side needed for a sampled metric (default 5)\n"
    "  --seed S         bootstrap seed (default 1; the output is deterministic)\n"
    "  --markdown FILE  also write the output to FILE (atomically)\n\n"
    "exit status: 0 ok, 1 regression, 2 run failure (unreadable or malformed file, missing\n"
    "metric), 3 inconclusive (no regression, but too few samples for a gated metric)\n";

void compare_options_default(CompareOptions *opt) {
    opt->alpha = 0.05;
    opt->bootstrap = 2000;
    opt->min_samples = 5;
    opt->seed = 1;
    opt->markdown_path = NULL;
}

void compare_report_free(CompareReport *rep) {
    free(rep->m);
    memset(rep, 0, sizeof(*rep));
}

/* The values of one metric in a file (malloc'd, NULL when absent) and its first row. */
static int collect(const MetricsFile *mf, const char *name, double **vals, int *n,
                   const MetricRow **spec) {
    *vals = NULL;
    *n = 0;
    *spec = NULL;
    int count = 0;
    for (int i = 0; i < mf->n; i++) count += strcmp(mf->rows[i].name, name) == 0;
    if (count == 0) return 0;
    *vals = malloc((size_t)count * sizeof(double));
    if (!*vals) return -1;
    for (int i = 0; i < mf->n; i++) {
        if (strcmp(mf->rows[i].name, name) != 0) continue;
        if (!*spec) *spec = &mf->rows[i];
        (*vals)[(*n)++] = mf->rows[i].value;
    }
    return 0;
}

static int all_equal(const double *x, int n) {
    for (int i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

/* How much worse cur is than base (negative: better). */
static double worse_by(const MetricRow *spec, double base, double cur) {
    return spec->higher_is_better ? base - cur : cur - base;
}

/* Practically significant: beyond rel_tol*|base| AND abs_tol. */
static int beyond_tolerance(const MetricRow *spec, double base, double delta) {
    return delta > spec->rel_tol * fabs(base) && delta > spec->abs_tol;
}

/* Bootstrap 95% percentile interval of median(cur)/median(base): each side resampled
 * independently. NAN when a resampled baseline median is 0 (the ratio is undefined). The
 * stream is keyed by the metric name, so the interval does not depend on row order. */
static int ratio_interval(const double *b, int nb, const double *c, int nc, int reps, uint64_t seed,
                          const char *name, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (reps <= 0) return 0;
    int nmax = nb > nc ? nb : nc;
    double *ratios = malloc((size_t)reps * sizeof(double));
    double *buf = malloc((size_t)nmax * sizeof(double));
    int *idx = malloc((size_t)nmax * sizeof(int));
    if (!ratios || !buf || !idx) {
        free(ratios);
        free(buf);
        free(idx);
        return -1;
    }
    Rng rng;
    rng_seed(&rng, seed, fnv1a64(name, strlen(name), FNV1A64_INIT));
    int defined = 1;
    for (int r = 0; r < reps && defined; r++) {
        double med[2];
        for (int side = 0; side < 2; side++) {
            const double *x = side ? c : b;
            int n = side ? nc : nb;
            stats_resample(&rng, idx, n);
            for (int i = 0; i < n; i++) buf[i] = x[idx[i]];
            stats_sort(buf, n);
            med[side] = stats_quantile_sorted(buf, n, 0.5);
        }
        defined = med[0] != 0.0;
        ratios[r] = med[1] / med[0];
    }
    if (defined) {
        stats_sort(ratios, reps);
        *lo = stats_quantile_sorted(ratios, reps, 0.025);
        *hi = stats_quantile_sorted(ratios, reps, 0.975);
    }
    free(ratios);
    free(buf);
    free(idx);
    return 0;
}

static int compare_sampled(MetricCompare *mc, const double *b, int nb, const double *c, int nc,
                           const CompareOptions *opt, int machine_differs) {
    if (nb < opt->min_samples || nc < opt->min_samples) {
        mc->status = machine_differs ? CMP_NOT_COMPARABLE : CMP_INCONCLUSIVE;
        return 0;
    }
    MwuResult mw;
    if (stats_mann_whitney(b, nb, c, nc, &mw) != 0) return -1;
    mc->p = mw.p;
    mc->p_exact = mw.exact;
    if (ratio_interval(b, nb, c, nc, opt->bootstrap, opt->seed, mc->spec.name, &mc->ratio_lo,
                       &mc->ratio_hi) != 0)
        return -1;
    double delta = worse_by(&mc->spec, mc->base, mc->cur);
    int significant = mw.p < opt->alpha;
    if (machine_differs)
        mc->status = CMP_NOT_COMPARABLE;
    else if (significant && beyond_tolerance(&mc->spec, mc->base, delta))
        mc->status = CMP_REGRESSION;
    else if (significant && beyond_tolerance(&mc->spec, mc->base, -delta))
        mc->status = CMP_IMPROVED;
    else
        mc->status = CMP_OK;
    return 0;
}

static int compare_one(MetricCompare *mc, const MetricsFile *base, const MetricsFile *cur,
                       const char *name, const CompareOptions *opt, int machine_differs) {
    double *b, *c;
    const MetricRow *bs, *cs;
    if (collect(base, name, &b, &mc->n_base, &bs) != 0) return -1;
    if (collect(cur, name, &c, &mc->n_cur, &cs) != 0) {
        free(b);
        return -1;
    }
    mc->spec = bs ? *bs : *cs;
    mc->spec.value = NAN;
    mc->base = mc->cur = mc->p = mc->ratio_lo = mc->ratio_hi = NAN;
    mc->sampled = !mc->spec.exact;
    if (!mc->sampled && (!all_equal(b, mc->n_base) || !all_equal(c, mc->n_cur))) mc->sampled = 1;
    if (mc->n_base) mc->base = mc->sampled ? stats_median(b, mc->n_base) : b[0];
    if (mc->n_cur) mc->cur = mc->sampled ? stats_median(c, mc->n_cur) : c[0];
    int rc = 0;
    if (!cs) {
        mc->status = CMP_MISSING;
    } else if (!bs) {
        mc->status = CMP_NEW;
    } else if (bs->higher_is_better != cs->higher_is_better) {
        mc->status = CMP_MISMATCH;
    } else if (mc->sampled) {
        rc = compare_sampled(mc, b, mc->n_base, c, mc->n_cur, opt, machine_differs);
    } else {
        double delta = worse_by(&mc->spec, mc->base, mc->cur);
        mc->status = beyond_tolerance(&mc->spec, mc->base, delta)    ? CMP_REGRESSION
                     : beyond_tolerance(&mc->spec, mc->base, -delta) ? CMP_IMPROVED
                                                                     : CMP_OK;
    }
    free(b);
    free(c);
    return rc;
}

static int name_seen(const MetricCompare *m, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].spec.name, name) == 0) return 1;
    return 0;
}

int compare_metrics(const MetricsFile *base, const MetricsFile *cur, const CompareOptions *opt,
                    CompareReport *rep, Err *err) {
    memset(rep, 0, sizeof(*rep));
    rep->machine_differs =
        base->machine[0] && cur->machine[0] && strcmp(base->machine, cur->machine) != 0;
    rep->m = calloc((size_t)(base->n + cur->n) + 1, sizeof(*rep->m));
    if (!rep->m) return err_set(err, "compare: out of memory");
    const MetricsFile *files[2] = {base, cur};
    for (int f = 0; f < 2; f++) {
        for (int i = 0; i < files[f]->n; i++) {
            const char *name = files[f]->rows[i].name;
            if (name_seen(rep->m, rep->n, name)) continue;
            MetricCompare *mc = &rep->m[rep->n++];
            if (compare_one(mc, base, cur, name, opt, rep->machine_differs) != 0) {
                compare_report_free(rep);
                return err_set(err, "compare: out of memory");
            }
        }
    }
    int failure = 0, regression = 0, inconclusive = 0;
    for (int i = 0; i < rep->n; i++) {
        const MetricCompare *mc = &rep->m[i];
        int gated = mc->spec.gated;
        rep->improved += mc->status == CMP_IMPROVED;
        rep->missing += mc->status == CMP_MISSING;
        rep->regressions += gated && mc->status == CMP_REGRESSION;
        rep->inconclusive += gated && mc->status == CMP_INCONCLUSIVE;
        failure |= gated && (mc->status == CMP_MISSING || mc->status == CMP_MISMATCH);
        regression |= gated && mc->status == CMP_REGRESSION;
        inconclusive |= gated && mc->status == CMP_INCONCLUSIVE;
    }
    rep->exit_status = failure        ? COMPARE_FAILURE
                       : regression   ? COMPARE_REGRESSION
                       : inconclusive ? COMPARE_INCONCLUSIVE
                                      : COMPARE_OK;
    return 0;
}

/* A table cell must not contain '|' or a line break. */
static void sb_cell_text(StrBuf *sb, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            sb_append(sb, "\\|", 2);
        else if (*s == '\n' || *s == '\r')
            sb_append(sb, " ", 1);
        else
            sb_append(sb, s, 1);
    }
}

static void sb_value(StrBuf *sb, const MetricCompare *mc, double v, int n) {
    if (n == 0)
        sb_printf(sb, "-");
    else if (mc->sampled)
        sb_printf(sb, "%.6g (%d)", v, n);
    else
        sb_printf(sb, "%.6g", v);
}

static void sb_change(StrBuf *sb, double base, double cur) {
    if (isnan(base) || isnan(cur))
        sb_printf(sb, "-");
    else if (base != 0.0)
        sb_printf(sb, "%+.2f%%", 100.0 * (cur - base) / fabs(base));
    else
        sb_printf(sb, "%+.4g", cur - base);
}

static void sb_test(StrBuf *sb, const MetricCompare *mc) {
    if (mc->sampled && mc->spec.exact) sb_printf(sb, "exact values vary, as sampled: ");
    if (!mc->sampled) {
        sb_printf(sb, "exact, tol %g%% & %g", 100.0 * mc->spec.rel_tol, mc->spec.abs_tol);
        return;
    }
    if (isnan(mc->p)) {
        sb_printf(sb, "sampled, tol %g%% & %g", 100.0 * mc->spec.rel_tol, mc->spec.abs_tol);
        return;
    }
    sb_printf(sb, "MWU %s p=%.3g", mc->p_exact ? "exact" : "normal", mc->p);
    if (!isnan(mc->ratio_lo)) sb_printf(sb, ", ratio [%.3f, %.3f]", mc->ratio_lo, mc->ratio_hi);
    sb_printf(sb, ", tol %g%% & %g", 100.0 * mc->spec.rel_tol, mc->spec.abs_tol);
}

static void sb_status(StrBuf *sb, const MetricCompare *mc) {
    switch (mc->status) {
    case CMP_OK:
        sb_printf(sb, "ok");
        break;
    case CMP_IMPROVED:
        sb_printf(sb, "improved");
        break;
    case CMP_REGRESSION:
        sb_printf(sb, "%s", mc->spec.gated ? "**REGRESSION**" : "regression");
        break;
    case CMP_INCONCLUSIVE:
        sb_printf(sb, "inconclusive (n=%d/%d)", mc->n_base, mc->n_cur);
        break;
    case CMP_NOT_COMPARABLE:
        sb_printf(sb, "not comparable: machine differs");
        break;
    case CMP_MISSING:
        sb_printf(sb, "%s", mc->spec.gated ? "**missing**" : "missing");
        break;
    case CMP_NEW:
        sb_printf(sb, "new");
        break;
    case CMP_MISMATCH:
        sb_printf(sb, "definition differs: direction");
        break;
    }
    if (!mc->spec.gated) sb_printf(sb, " (info)");
}

void compare_write_markdown(const CompareReport *rep, const char *base_path, const char *cur_path,
                            const MetricsFile *base, const MetricsFile *cur, StrBuf *sb) {
    sb_printf(sb, "baseline: %s (machine: %s)  \n", base_path,
              base->machine[0] ? base->machine : "unknown");
    sb_printf(sb, "current: %s (machine: %s)  \n", cur_path,
              cur->machine[0] ? cur->machine : "unknown");
    if (rep->machine_differs)
        sb_printf(sb, "**machines differ**: sampled metrics are reported but not gated  \n");
    sb_printf(sb, "sampled metrics: two-sided Mann-Whitney U test (MWU) decides, with the "
                  "tolerances; ratio = bootstrap 95%% interval of median current/baseline\n\n");
    sb_printf(sb, "| metric | direction | baseline | current | change | test | status |\n"
                  "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < rep->n; i++) {
        const MetricCompare *mc = &rep->m[i];
        sb_printf(sb, "| ");
        sb_cell_text(sb, mc->spec.name);
        sb_printf(sb, " | %s | ", mc->spec.higher_is_better ? "higher" : "lower");
        sb_value(sb, mc, mc->base, mc->n_base);
        sb_printf(sb, " | ");
        sb_value(sb, mc, mc->cur, mc->n_cur);
        sb_printf(sb, " | ");
        sb_change(sb, mc->base, mc->cur);
        sb_printf(sb, " | ");
        sb_test(sb, mc);
        sb_printf(sb, " | ");
        sb_status(sb, mc);
        sb_printf(sb, " |\n");
    }
    sb_printf(sb,
              "\ncompare: %d metrics, %d regressions, %d improved, %d inconclusive, %d missing\n",
              rep->n, rep->regressions, rep->improved, rep->inconclusive, rep->missing);
}

/* Names the first gated metric that makes the comparison a run failure. */
static void describe_failure(const CompareReport *rep, const char *cur_path, Err *err) {
    int missing = 0;
    const char *first = NULL;
    for (int i = 0; i < rep->n; i++) {
        const MetricCompare *mc = &rep->m[i];
        if (!mc->spec.gated) continue;
        if (mc->status == CMP_MISMATCH) {
            err_set(err, "metric '%s': direction differs between baseline and %s", mc->spec.name,
                    cur_path);
            return;
        }
        if (mc->status == CMP_MISSING && missing++ == 0) first = mc->spec.name;
    }
    if (missing == 1)
        err_set(err, "%s: metric '%s' is missing", cur_path, first);
    else if (missing > 1)
        err_set(err, "%s: metric '%s' and %d more are missing", cur_path, first, missing - 1);
}

int compare_files(const char *base_path, const char *cur_path, const CompareOptions *opt, FILE *out,
                  Err *err) {
    MetricsFile base, cur;
    if (metrics_file_read(&base, base_path, err) != 0) return COMPARE_FAILURE;
    if (metrics_file_read(&cur, cur_path, err) != 0) {
        metrics_file_free(&base);
        return COMPARE_FAILURE;
    }
    CompareReport rep;
    int status = COMPARE_FAILURE;
    if (compare_metrics(&base, &cur, opt, &rep, err) == 0) {
        StrBuf sb = {0};
        compare_write_markdown(&rep, base_path, cur_path, &base, &cur, &sb);
        status = rep.exit_status;
        if (status == COMPARE_FAILURE) describe_failure(&rep, cur_path, err);
        if (sb.len) fwrite(sb.data, 1, sb.len, out);
        if (opt->markdown_path && write_file_atomic(opt->markdown_path, sb.data, sb.len, err))
            status = COMPARE_FAILURE;
        sb_free(&sb);
        compare_report_free(&rep);
    }
    metrics_file_free(&base);
    metrics_file_free(&cur);
    return status;
}

static int parse_double_arg(const char *opt, const char *s, double lo, double hi, double *out,
                            Err *err) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v > lo && v < hi))
        return err_set(err, "compare: %s: expected a number in (%g, %g), got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

static int parse_long_arg(const char *opt, const char *s, long lo, long hi, long *out, Err *err) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return err_set(err, "compare: %s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi,
                       s);
    *out = v;
    return 0;
}

int compare_parse_args(int argc, char *const *argv, CompareOptions *opt, const char **base_path,
                       const char **cur_path, Err *err) {
    compare_options_default(opt);
    *base_path = *cur_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
        if (a[0] != '-' || a[1] == '\0') {
            if (!*base_path)
                *base_path = a;
            else if (!*cur_path)
                *cur_path = a;
            else
                return err_set(err, "compare: unexpected argument '%s'", a);
            continue;
        }
        if (i + 1 >= argc) return err_set(err, "compare: %s needs a value", a);
        const char *v = argv[++i];
        long l = 0;
        if (strcmp(a, "--alpha") == 0) {
            if (parse_double_arg(a, v, 0.0, 1.0, &opt->alpha, err)) return -1;
        } else if (strcmp(a, "--bootstrap") == 0) {
            if (parse_long_arg(a, v, 0, 10000000, &l, err)) return -1;
            opt->bootstrap = (int)l;
        } else if (strcmp(a, "--min-samples") == 0) {
            if (parse_long_arg(a, v, 1, 1000000, &l, err)) return -1;
            opt->min_samples = (int)l;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_long_arg(a, v, 0, 2147483647L, &l, err)) return -1;
            opt->seed = (uint64_t)l;
        } else if (strcmp(a, "--markdown") == 0) {
            opt->markdown_path = v;
        } else {
            return err_set(err, "compare: unknown option '%s'", a);
        }
    }
    if (!*cur_path) return err_set(err, "compare: expected BASELINE.tsv and CURRENT.tsv");
    return 0;
}
