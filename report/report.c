/* report_write: groups a sweep's runs by method, compares every method with the baseline
 * (speedup.h) and writes the data, gnuplot scripts, figures and summaries (report.h). */
#include "report.h"

#include "collect.h"
#include "gnuplot.h"
#include "pareto.h"
#include "report_extras.h"
#include "warnings.h"
#include "axis.h"
#include "labels.h"
#include "speedup.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Method {
    const char *label;
    int n_runs;        /* runs listed for the method, whatever their state */
    int n_done;        /* of which done: data[0..n_done) */
    RunData *data;     /* [n_runs] */
    long *seeds;       /* [n_runs] seeds of the done runs */
    int has_curves;    /* n_done > 0: acc and loss are built */
    MethodCurves acc;  /* accuracy of the report's policy and k */
    MethodCurves loss; /* training loss */
    int has_val;       /* every done run has a validation bound: val is built */
    MethodCurves val;  /* validation bound under random masking (scored tasks' elbo.csv) */
    int compared;      /* a non-baseline method with curves, compared with a baseline with curves */
    SpeedupResult sp;
} Method;

typedef struct Report {
    const ReportSpec *spec;
    Method *m;
    int n, baseline;
    int likelihood; /* language models: curves of the validation NELBO, no speedup */
    int has_decode; /* some run has ancestral-sampler rows: decode.tsv and its figure */
    int decoding;   /* the methods differ in decoding (eval.*) only: each curve is its method's
                       own decoding, and pareto.tsv and its figure are drawn */
    int has_pareto;
    int has_val;     /* some method has validation curves: val_loss.tsv and its figure */
    StrBuf warnings; /* warnings.h: one per line */
    int n_warnings;
    char axis_keys[AXIS_MAX_KEYS][AXIS_KEY_LEN]; /* numeric grid axes: axis_KEY.tsv/.gp */
    int n_axes;
} Report;

/* The runs' extras per method, for report_extras.c. */
typedef struct Extras {
    ExtrasMethod *m;
    const RunExtras **runs;
} Extras;

static void report_free(Report *r) {
    for (int i = 0; i < r->n; i++) {
        Method *m = &r->m[i];
        for (int s = 0; s < m->n_done; s++) run_data_free(&m->data[s]);
        free(m->data);
        free(m->seeds);
        method_curves_free(&m->acc);
        method_curves_free(&m->loss);
        method_curves_free(&m->val);
    }
    free(r->m);
    sb_free(&r->warnings);
    memset(r, 0, sizeof *r);
}

static int is_done(const ReportRun *run) {
    return strcmp(run->state, "done") == 0;
}

/* ---- grouping and statistics -------------------------------------------------------------- */

static int find_method(const Report *r, const char *label) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->m[i].label, label) == 0) return i;
    return -1;
}

static int group_runs(Report *r, Err *err) {
    const ReportSpec *spec = r->spec;
    r->m = calloc(spec->n_runs > 0 ? (size_t)spec->n_runs : 1, sizeof *r->m);
    if (!r->m) return err_set(err, "report: out of memory");
    for (int i = 0; i < spec->n_runs; i++) {
        int k = find_method(r, spec->runs[i].method);
        if (k < 0) r->m[k = r->n++].label = spec->runs[i].method;
        r->m[k].n_runs++;
    }
    for (int i = 0; i < r->n; i++) {
        r->m[i].data = calloc((size_t)r->m[i].n_runs, sizeof(RunData));
        r->m[i].seeds = calloc((size_t)r->m[i].n_runs, sizeof(long));
        if (!r->m[i].data || !r->m[i].seeds) return err_set(err, "report: out of memory");
    }
    r->baseline = spec->baseline[0] ? find_method(r, spec->baseline) : 0;
    if (r->baseline < 0)
        return err_set(err, "report: baseline '%s' is not the method of any run", spec->baseline);
    return 0;
}

static int read_runs(Report *r, Err *err) {
    const ReportSpec *spec = r->spec;
    for (int i = 0; i < spec->n_runs; i++) {
        const ReportRun *run = &spec->runs[i];
        if (!is_done(run)) continue;
        Method *m = &r->m[find_method(r, run->method)];
        /* a decoding sweep's methods each decode their own way: each run's own rows */
        const char *policy = r->decoding ? "" : spec->policy;
        if (run_data_read(&m->data[m->n_done], run->dir, policy, spec->tokens_per_step,
                          r->likelihood, err))
            return -1;
        m->seeds[m->n_done++] = run->seed;
    }
    return 0;
}

/* The validation-bound curves of a method whose done runs all have them. */
static int build_val_curves(Method *m, Err *err) {
    for (int s = 0; s < m->n_done; s++)
        if (m->data[s].val.n == 0) return 0;
    const Curve **val = malloc((size_t)m->n_done * sizeof *val);
    if (!val) return err_set(err, "report: out of memory");
    for (int s = 0; s < m->n_done; s++) val[s] = &m->data[s].val;
    Err why;
    int rc = method_curves_build(&m->val, val, m->n_done, 0.0, &why);
    free(val);
    if (rc) return err_set(err, "report: method '%s': validation curves: %s", m->label, why.msg);
    m->has_val = 1;
    return 0;
}

static int build_curves(Report *r, Err *err) {
    for (int i = 0; i < r->n; i++) {
        Method *m = &r->m[i];
        if (m->n_done == 0) continue;
        const Curve **acc = malloc((size_t)m->n_done * sizeof *acc);
        const Curve **loss = malloc((size_t)m->n_done * sizeof *loss);
        int rc = acc && loss ? 0 : err_set(err, "report: out of memory");
        for (int s = 0; s < m->n_done && rc == 0; s++) {
            acc[s] = &m->data[s].eval;
            loss[s] = &m->data[s].loss;
        }
        Err why;
        if (rc == 0 && method_curves_build(&m->acc, acc, m->n_done, r->spec->smoothing, &why))
            rc = err_set(err, "report: method '%s': eval curves: %s", m->label, why.msg);
        if (rc == 0 && method_curves_build(&m->loss, loss, m->n_done, 0.0, &why)) {
            rc = err_set(err, "report: method '%s': loss curves: %s", m->label, why.msg);
            method_curves_free(&m->acc);
        }
        free(acc);
        free(loss);
        if (rc) return -1;
        m->has_curves = 1;
        if (build_val_curves(m, err)) return -1;
        r->has_val |= m->has_val;
    }
    return 0;
}

static int compare_methods(Report *r, Err *err) {
    if (r->likelihood) return 0; /* no target to time: the NELBO is reported as it is */
    const Method *base = &r->m[r->baseline];
    for (int i = 0; i < r->n; i++) {
        Method *m = &r->m[i];
        if (i == r->baseline || !m->has_curves || !base->has_curves) continue;
        /* One RNG stream per method: a method's interval does not depend on the others. */
        SpeedupOptions opt = {r->spec->target, r->spec->bootstrap, r->spec->seed, (uint64_t)i};
        Err why;
        if (speedup_compute(&base->acc, &m->acc, &opt, &m->sp, &why))
            return err_set(err, "report: method '%s': %s", m->label, why.msg);
        m->compared = 1;
    }
    return 0;
}

static int collect_warnings(Report *r, Err *err) {
    WarnMethod *w = calloc(r->n > 0 ? (size_t)r->n : 1, sizeof *w);
    if (!w) return err_set(err, "report: out of memory");
    double top = 0.0;
    for (int i = 0; i < r->n; i++) {
        const Method *m = &r->m[i];
        w[i] = (WarnMethod){m->label, m->n_done, m->has_curves ? &m->acc : NULL,
                            m->compared ? &m->sp : NULL};
        double peak = m->has_curves ? method_curves_peak(&m->acc) : NAN;
        if (isfinite(peak) && peak > top) top = peak;
    }
    /* a language-model sweep has no target: only the seed count applies */
    r->n_warnings = report_warnings(&r->warnings, w, r->n, r->baseline, r->likelihood ? 0 : top);
    free(w);
    if (r->spec->warnings && r->warnings.len)
        sb_append(r->spec->warnings, r->warnings.data, r->warnings.len);
    return 0;
}

/* Mean and sd over seeds of the last common point of a method's curves. */
static void final_point(const MethodCurves *mc, double *step, double *mean, double *sd) {
    *step = *mean = *sd = NAN;
    if (mc->n_steps == 0) return;
    double *v = malloc((size_t)mc->n_seeds * sizeof *v);
    if (!v) return;
    for (int s = 0; s < mc->n_seeds; s++) v[s] = mc->raw[(size_t)s * mc->n_steps + mc->n_steps - 1];
    *step = mc->step[mc->n_steps - 1];
    *mean = stats_mean(v, mc->n_seeds);
    *sd = stats_sd(v, mc->n_seeds);
    free(v);
}

/* ---- formatting --------------------------------------------------------------------------- */

/* %.6g, with integers (steps) in full; `none` for NAN and infinities. */
static void num(StrBuf *sb, double x, const char *none) {
    if (!isfinite(x))
        sb_printf(sb, "%s", none);
    else if (x == floor(x) && fabs(x) < 1e15)
        sb_printf(sb, "%.0f", x);
    else
        sb_printf(sb, "%.6g", x);
}

/* Method labels in TSV cells and Markdown tables: no tabs, line breaks or pipes. */
static void cell_text(StrBuf *sb, const char *s, int markdown) {
    for (; *s; s++) {
        if (*s == '\t' || *s == '\n' || *s == '\r')
            sb_append(sb, " ", 1);
        else if (markdown && *s == '|')
            sb_append(sb, "\\|", 2);
        else
            sb_append(sb, s, 1);
    }
}

static int write_out(const Report *r, const char *name, const StrBuf *sb, Err *err) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", r->spec->out_dir, name);
    return write_file_atomic(path, sb->data ? sb->data : "", sb->len, err);
}

/* ---- curves.tsv, loss.tsv, val_loss.tsv ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { CURVES_ACC, CURVES_LOSS, CURVES_VAL } CurveKind;

/* A method's curves of one kind; NULL when it has none. */
static const MethodCurves *curves_of(const Method *m, CurveKind kind) {
    if (!m->has_curves || (kind == CURVES_VAL && !m->has_val)) return NULL;
    return kind == CURVES_ACC ? &m->acc : kind == CURVES_LOSS ? &m->loss : &m->val;
}

/* The sorted union of the steps of every method's curves of one kind. */
static double *step_union(const Report *r, CurveKind kind, int *n_out) {
    int total = 0;
    for (int i = 0; i < r->n; i++)
        if (curves_of(&r->m[i], kind)) total += curves_of(&r->m[i], kind)->n_steps;
    double *u = malloc((size_t)(total > 0 ? total : 1) * sizeof *u);
    if (!u) return NULL;
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        const MethodCurves *mc = curves_of(&r->m[i], kind);
        if (!mc) continue;
        memcpy(u + n, mc->step, (size_t)mc->n_steps * sizeof *u);
        n += mc->n_steps;
    }
    qsort(u, (size_t)n, sizeof *u, cmp_double);
    int k = 0;
    for (int j = 0; j < n; j++)
        if (k == 0 || u[j] != u[k - 1]) u[k++] = u[j];
    *n_out = k;
    return u;
}

/* The range of the min-max bands of every method's curves of one kind (NaN when empty). */
static void curves_range(const Report *r, CurveKind kind, double *lo, double *hi) {
    *lo = *hi = NAN;
    for (int i = 0; i < r->n; i++) {
        const MethodCurves *mc = curves_of(&r->m[i], kind);
        for (int j = 0; mc && j < mc->n_steps; j++) {
            if (isfinite(mc->min_raw[j]) && !(mc->min_raw[j] >= *lo)) *lo = mc->min_raw[j];
            if (isfinite(mc->max_raw[j]) && !(mc->max_raw[j] <= *hi)) *hi = mc->max_raw[j];
        }
    }
}

static int index_of_step(const MethodCurves *mc, double step) {
    int lo = 0, hi = mc->n_steps - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (mc->step[mid] == step) return mid;
        if (mc->step[mid] < step)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* curves.tsv: per method mean, min, max, smoothed mean; loss.tsv and val_loss.tsv: mean, min,
 * max. */
static int write_curve_tsv(const Report *r, CurveKind kind, Err *err) {
    int n_steps, loss = kind != CURVES_ACC;
    double *steps = step_union(r, kind, &n_steps);
    if (!steps) return err_set(err, "report: out of memory");
    StrBuf sb = {0};
    sb_printf(&sb, "# step");
    static const char *const acc_cols[] = {"mean", "min", "max", "smoothed mean"};
    int per = loss ? 3 : 4;
    for (int i = 0; i < r->n; i++)
        for (int c = 0; c < per; c++) {
            sb_append(&sb, "\t", 1);
            cell_text(&sb, r->m[i].label, 0);
            sb_printf(&sb, " %s", acc_cols[c]);
        }
    sb_append(&sb, "\n", 1);
    for (int j = 0; j < n_steps; j++) {
        num(&sb, steps[j], "NaN");
        for (int i = 0; i < r->n; i++) {
            const MethodCurves *mc = curves_of(&r->m[i], kind);
            int k = mc ? index_of_step(mc, steps[j]) : -1;
            double v[4] = {NAN, NAN, NAN, NAN};
            if (k >= 0) {
                v[0] = mc->mean_raw[k];
                v[1] = mc->min_raw[k];
                v[2] = mc->max_raw[k];
                v[3] = mc->mean_smooth[k];
            }
            for (int c = 0; c < per; c++) {
                sb_append(&sb, "\t", 1);
                num(&sb, v[c], "NaN");
            }
        }
        sb_append(&sb, "\n", 1);
    }
    free(steps);
    static const char *const names[] = {"curves.tsv", "loss.tsv", "val_loss.tsv"};
    int rc = write_out(r, names[kind], &sb, err);
    sb_free(&sb);
    return rc;
}

/* ---- speedup.tsv ---------------------------------------------------------------------------- */

static const char *step_status(const Method *m) {
    if (!m->compared) return "no-data";
    return isfinite(m->sp.step_speedup) ? "ok" : "censored";
}

static const char *wall_status(const Method *m) {
    if (!m->compared) return "no-data";
    if (isfinite(m->sp.wall_speedup)) return "ok";
    if (!isfinite(m->sp.step_speedup)) return "censored";
    return "unknown";
}

static int write_speedup_tsv(const Report *r, int *n_rows, int *has_step, int *has_wall, Err *err) {
    StrBuf sb = {0};
    sb_printf(&sb, "# row\tmethod_index\tmethod\tstep_speedup\tstep_lo\tstep_hi\twall_speedup"
                   "\twall_lo\twall_hi\tstep_status\twall_status\ttarget\tresamples"
                   "\tcensored_resamples\n");
    *n_rows = *has_step = *has_wall = 0;
    for (int i = 0; i < r->n; i++) {
        if (i == r->baseline) continue;
        const Method *m = &r->m[i];
        const SpeedupResult *sp = &m->sp;
        double v[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        if (m->compared) {
            double got[7] = {sp->step_speedup, sp->step_lo, sp->step_hi, sp->wall_speedup,
                             sp->wall_lo,      sp->wall_hi, sp->target};
            memcpy(v, got, sizeof v);
            *has_step |= isfinite(sp->step_speedup);
            *has_wall |= isfinite(sp->wall_speedup);
        }
        sb_printf(&sb, "%d\t%d\t", (*n_rows)++, i);
        cell_text(&sb, m->label, 0);
        for (int c = 0; c < 6; c++) {
            sb_append(&sb, "\t", 1);
            num(&sb, v[c], "NaN");
        }
        sb_printf(&sb, "\t%s\t%s\t", step_status(m), wall_status(m));
        num(&sb, v[6], "NaN");
        sb_printf(&sb, "\t%d\t%d\n", sp->resamples, sp->censored_resamples);
    }
    int rc = write_out(r, "speedup.tsv", &sb, err);
    sb_free(&sb);
    return rc;
}

/* ---- gnuplot scripts ------------------------------------------------------------------------ */

static int write_scripts(const Report *r, int n_rows, int has_step, int has_wall, Err *err) {
    const ReportSpec *spec = r->spec;
    const char **labels = malloc((size_t)(r->n > 0 ? r->n : 1) * sizeof *labels);
    /* n_seeds[0, n): runs with curves per method; [n, 2n): runs with validation curves */
    int *n_seeds = malloc((size_t)(r->n > 0 ? 2 * r->n : 1) * sizeof *n_seeds);
    double *target = malloc((size_t)(r->n > 0 ? r->n : 1) * sizeof *target);
    char(*readable)[512] = calloc(r->n > 0 ? (size_t)r->n : 1, sizeof *readable); /* legends */
    if (!labels || !n_seeds || !target || !readable) {
        free(labels);
        free(n_seeds);
        free(target);
        free(readable);
        return err_set(err, "report: out of memory");
    }
    for (int i = 0; i < r->n; i++) {
        label_readable(r->m[i].label, readable[i], sizeof readable[i]);
        for (int k = 0; k < spec->n_labels; k++) /* the sweep file's report.labels win */
            if (strcmp(spec->label_method[k], r->m[i].label) == 0)
                snprintf(readable[i], sizeof readable[i], "%s", spec->label_text[k]);
        labels[i] = readable[i];
        n_seeds[i] = r->m[i].has_curves ? r->m[i].n_done : 0;
        n_seeds[r->n + i] = r->m[i].has_val ? r->m[i].n_done : 0;
        target[i] = r->m[i].compared ? r->m[i].sp.target : NAN;
    }
    GpMethods gm = {r->n, labels, n_seeds};
    const char *title = spec->title ? spec->title : "";
    char ylabel[128];
    if (r->likelihood)
        snprintf(ylabel, sizeof ylabel, "validation NELBO (nats/token, lower is better)");
    else if (r->decoding)
        snprintf(ylabel, sizeof ylabel, "solve accuracy (each method's own decoding)");
    else
        snprintf(ylabel, sizeof ylabel, "solve accuracy (policy %s, k=%d)", spec->policy,
                 spec->tokens_per_step);

    StrBuf sb = {0};
    gp_footnote(&sb, r->warnings.data ? r->warnings.data : "");
    gp_curves_script(&sb, title, ylabel, &gm, target, spec->smoothing > 0.0 && !r->likelihood,
                     !r->likelihood);
    int rc = write_out(r, "curves.gp", &sb, err);
    sb.len = 0;
    double lo, hi;
    curves_range(r, CURVES_LOSS, &lo, &hi);
    gp_loss_script(&sb, title, &gm, 0, lo, hi);
    if (rc == 0) rc = write_out(r, "loss.gp", &sb, err);
    if (r->has_val) {
        GpMethods gv = {r->n, labels, n_seeds + r->n};
        sb.len = 0;
        curves_range(r, CURVES_VAL, &lo, &hi);
        gp_loss_script(&sb, title, &gv, 1, lo, hi);
        if (rc == 0) rc = write_out(r, "val_loss.gp", &sb, err);
    }
    sb.len = 0;
    gp_footnote(&sb, r->warnings.data ? r->warnings.data : "");
    gp_speedup_script(&sb, title, r->n ? r->m[r->baseline].label : "", n_rows, has_step, has_wall);
    if (rc == 0 && !r->likelihood) rc = write_out(r, "speedup.gp", &sb, err);
    sb.len = 0;
    gp_decode_script(&sb, title, &gm);
    if (rc == 0 && r->has_decode) rc = write_out(r, "decode.gp", &sb, err);
    sb_free(&sb);
    free(labels);
    free(n_seeds);
    free(target);
    free(readable);
    return rc;
}

/* ---- summary.md ----------------------------------------------------------------------------- */

static void mean_sd(StrBuf *sb, double mean, double sd, double step) {
    num(sb, mean, "—");
    if (isfinite(sd)) {
        sb_printf(sb, " ± ");
        num(sb, sd, "");
    }
    if (isfinite(step)) {
        sb_printf(sb, " @");
        num(sb, step, "");
    }
}

/* "value (baseline value)" */
static void with_baseline(StrBuf *sb, double v, double b, const char *none) {
    num(sb, v, none);
    sb_printf(sb, " (baseline ");
    num(sb, b, none);
    sb_printf(sb, ")");
}

/* "[lo, hi]", each bound as num() writes it (`none` for a non-finite one). */
static void interval(StrBuf *sb, double lo, double hi, const char *none) {
    sb_printf(sb, "[");
    num(sb, lo, none);
    sb_printf(sb, ", ");
    num(sb, hi, none);
    sb_printf(sb, "]");
}

static void speedup_cell(StrBuf *sb, double x, double lo, double hi, const char *none) {
    num(sb, x, none);
    if (isfinite(x) && isfinite(lo)) {
        sb_printf(sb, " ");
        interval(sb, lo, hi, "");
    }
}

static void md_row(StrBuf *sb, const Report *r, int i) {
    const Method *m = &r->m[i];
    const SpeedupResult *sp = &m->sp;
    sb_printf(sb, "| ");
    cell_text(sb, m->label, 1);
    sb_printf(sb, "%s | %d of %d | ", i == r->baseline ? " (baseline)" : "", m->n_done, m->n_runs);
    if (i == r->baseline) {
        sb_printf(sb, "— | — | — | 1 | — | %s | — | ",
                  m->has_curves && !m->acc.has_train_s ? "n/a" : "1");
    } else if (!m->compared) {
        const char *why = m->has_curves ? "no finished baseline run" : "no finished run";
        sb_printf(sb, "— | — | — | %s | — | %s | — | ", why, why);
    } else {
        num(sb, sp->target, "—");
        sb_printf(sb, " | %d/%d (baseline %d/%d) | ", sp->method.seeds_reached,
                  sp->method.seeds_censored, sp->baseline.seeds_reached,
                  sp->baseline.seeds_censored);
        with_baseline(sb, sp->method.steps_to_target, sp->baseline.steps_to_target, "censored");
        sb_printf(sb, " | ");
        speedup_cell(sb, sp->step_speedup, sp->step_lo, sp->step_hi, "censored");
        sb_printf(sb, " | ");
        with_baseline(sb, sp->method.seconds_to_target, sp->baseline.seconds_to_target, "n/a");
        sb_printf(sb, " | ");
        speedup_cell(sb, sp->wall_speedup, sp->wall_lo, sp->wall_hi,
                     isfinite(sp->step_speedup) ? "n/a" : "censored");
        sb_printf(sb, " | %d/%d | ", sp->censored_resamples, sp->resamples);
    }
    double step, mean, sd;
    if (m->has_curves) {
        final_point(&m->acc, &step, &mean, &sd);
        mean_sd(sb, mean, sd, step);
        sb_printf(sb, " | ");
        final_point(&m->loss, &step, &mean, &sd);
        mean_sd(sb, mean, sd, step);
        sb_printf(sb, " |\n");
    } else {
        sb_printf(sb, "— | — |\n");
    }
}

static void md_method_notes(StrBuf *sb, const Report *r) {
    const ReportSpec *spec = r->spec;
    sb_printf(sb, "\n## How the numbers are made\n\n");
    if (r->decoding)
        sb_printf(sb, "- Curve: the `accuracy` column of each run's eval.csv rows of its own "
                      "decoding (the policy and k of its first row): the methods differ in "
                      "decoding only. Only runs in state `done` contribute.\n");
    else
        sb_printf(sb,
                  "- Curve: the `accuracy` column of each run's eval.csv rows with policy `%s` "
                  "and tokens_per_step %d. Only runs in state `done` contribute.\n",
                  spec->policy, spec->tokens_per_step);
    sb_printf(sb, "- Each seed's curve is cut to the eval steps all seeds of its method share, "
                  "smoothed with an EMA (s_0 = x_0, s_i = a s_(i-1) + (1 - a) x_i, a = ");
    num(sb, spec->smoothing, "");
    sb_printf(sb, ") and averaged over seeds.\n");
    if (spec->target > 0) {
        sb_printf(sb, "- Target: fixed at ");
        num(sb, spec->target, "");
        sb_printf(sb, ".\n");
    } else {
        sb_printf(sb, "- Target: per comparison, the lower of the baseline's and the method's "
                      "mean-curve peaks (if one mean curve never rises above 0, the other's "
                      "peak, and the flat one is censored; if neither does, there is no "
                      "target).\n");
    }
    sb_printf(sb,
              "- Steps-to-target: the first crossing of the target by the mean curve, linearly "
              "interpolated between the eval steps around it. Step speedup = baseline steps / "
              "method steps; `censored` when a mean curve never reaches the target.\n"
              "- Seeds reached/censored: seeds whose own smoothed curve reaches / never "
              "reaches the target. No seed is dropped.\n"
              "- Seconds-to-target: each seed's training seconds (train_s, training steps only) "
              "interpolated at the mean curve's steps-to-target, averaged over seeds; "
              "wall-clock speedup = baseline seconds / method seconds; `n/a` when a run's "
              "eval.csv has no train_s column.\n"
              "- 95%% interval: %d bootstrap resamples (RNG seed %llu): each method's seeds are "
              "resampled with replacement, independently, with the target held fixed; the "
              "interval spans the 2.5%% and 97.5%% quantiles of the speedup over the resamples "
              "in which both mean curves reach the target. The others are counted in the "
              "`censored resamples` column: the interval is conditional on reaching the "
              "target, so read it with care when that count is large (with the peak target, "
              "the method with the lower peak only just reaches it).\n"
              "- Final accuracy and loss: mean ± sd over seeds at the last step all seeds of "
              "the method share (@step).\n",
              spec->bootstrap, (unsigned long long)spec->seed);
}

/* A language-model sweep's main table: no target, no speedup. */
static void md_likelihood_rows(StrBuf *sb, const Report *r) {
    sb_printf(sb, "| method | seeds done | final NELBO, nats/token (mean ± sd) "
                  "| final training loss (mean ± sd) |\n|---|---|---|---|\n");
    for (int i = 0; i < r->n; i++) {
        const Method *m = &r->m[i];
        double step = NAN, mean = NAN, sd = NAN;
        sb_printf(sb, "| ");
        cell_text(sb, m->label, 1);
        sb_printf(sb, " | %d of %d | ", m->n_done, m->n_runs);
        if (m->has_curves) final_point(&m->acc, &step, &mean, &sd);
        mean_sd(sb, mean, sd, step);
        sb_printf(sb, " | ");
        step = mean = sd = NAN;
        if (m->has_curves) final_point(&m->loss, &step, &mean, &sd);
        mean_sd(sb, mean, sd, step);
        sb_printf(sb, " |\n");
    }
}

static int write_summary_md(const Report *r, const Extras *x, Err *err) {
    const ReportSpec *spec = r->spec;
    StrBuf sb = {0};
    sb_printf(&sb, "# %s\n\n", spec->title && *spec->title ? spec->title : "Sweep report");
    sb_printf(&sb, "%d runs, %d methods; baseline: `", spec->n_runs, r->n);
    if (r->n) cell_text(&sb, r->m[r->baseline].label, 1);
    sb_printf(&sb, "`. Figures: curves.png, loss.png%s%s%s", r->likelihood ? "" : ", speedup.png",
              r->has_decode ? ", decode.png" : "",
              r->has_pareto ? ", pareto.png (nfe vs accuracy of every decoding)" : "");
    for (int k = 0; k < r->n_axes; k++) sb_printf(&sb, ", axis_%s.png", r->axis_keys[k]);
    sb_printf(&sb, " (and .svg).\n\n");
    if (r->likelihood) {
        sb_printf(&sb, "A language-model sweep: curves.png is the validation NELBO per method "
                       "(elbo.csv; lower is better), and no speedup is computed.\n\n");
        md_likelihood_rows(&sb, r);
    } else {
        sb_printf(&sb, "| method | seeds done | target | seeds reached/censored | steps-to-target "
                       "| step speedup [95%% interval] | seconds-to-target "
                       "| wall-clock speedup [95%% interval] | censored resamples "
                       "| final accuracy (mean ± sd) | final loss (mean ± sd) |\n"
                       "|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < r->n; i++) md_row(&sb, r, i);
    }
    if (r->n_warnings) {
        sb_printf(&sb, "\n## Warnings\n\n");
        for (const char *line = r->warnings.data; line && *line;) {
            const char *nl = strchr(line, '\n');
            sb_printf(&sb, "- %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
            line = nl ? nl + 1 : line + strlen(line);
        }
    }
    extras_summary_md(&sb, x->m, r->n);

    int missing = 0;
    for (int i = 0; i < spec->n_runs; i++) missing += !is_done(&spec->runs[i]);
    sb_printf(&sb, "\n## Runs not included\n\n");
    if (!missing) sb_printf(&sb, "None: all %d runs are done.\n", spec->n_runs);
    for (int i = 0; i < spec->n_runs; i++) {
        const ReportRun *run = &spec->runs[i];
        if (is_done(run)) continue;
        sb_printf(&sb, "- `");
        cell_text(&sb, run->method, 1);
        sb_printf(&sb, "` seed %ld: %s (%s)\n", run->seed, run->state[0] ? run->state : "unknown",
                  run->dir);
    }
    if (!r->likelihood) md_method_notes(&sb, r);
    int rc = write_out(r, "summary.md", &sb, err);
    sb_free(&sb);
    return rc;
}

/* ---- summary.json --------------------------------------------------------------------------- */

static void jnum(StrBuf *sb, const char *key, double x) {
    sb_printf(sb, ", \"%s\": ", key);
    num(sb, x, "null");
}

static void jinterval(StrBuf *sb, const char *key, double lo, double hi) {
    sb_printf(sb, ", \"%s\": ", key);
    if (!isfinite(lo) || !isfinite(hi))
        sb_printf(sb, "null");
    else
        interval(sb, lo, hi, "null");
}

static void json_method(StrBuf *sb, const Report *r, int i) {
    const Method *m = &r->m[i];
    sb_printf(sb, "    {\"method\": ");
    sb_json_string(sb, m->label);
    sb_printf(sb, ", \"baseline\": %s, \"runs\": %d, \"seeds_done\": %d, \"seeds\": [",
              i == r->baseline ? "true" : "false", m->n_runs, m->n_done);
    for (int s = 0; s < m->n_done; s++) sb_printf(sb, "%s%ld", s ? ", " : "", m->seeds[s]);
    sb_printf(sb, "]");
    double step = NAN, mean = NAN, sd = NAN;
    if (m->has_curves) final_point(&m->acc, &step, &mean, &sd);
    jnum(sb, "final_step", step);
    jnum(sb, "final_accuracy_mean", mean);
    jnum(sb, "final_accuracy_sd", sd);
    step = mean = sd = NAN;
    if (m->has_curves) final_point(&m->loss, &step, &mean, &sd);
    jnum(sb, "final_loss_step", step);
    jnum(sb, "final_loss_mean", mean);
    jnum(sb, "final_loss_sd", sd);
    jnum(sb, "peak", m->has_curves ? method_curves_peak(&m->acc) : NAN);

    /* Comparison fields: null for the baseline and for methods without a comparison. */
    SpeedupSide no_side = {NAN, NAN, NAN, 0, 0};
    SpeedupResult none = {NAN, no_side, no_side, NAN, NAN, NAN, NAN, NAN, NAN, 0, 0};
    const SpeedupResult *sp = m->compared ? &m->sp : &none;
    jnum(sb, "target", sp->target);
    if (m->compared)
        sb_printf(sb,
                  ", \"seeds_reached\": %d, \"seeds_censored\": %d, \"baseline_seeds_reached\": "
                  "%d, \"baseline_seeds_censored\": %d",
                  sp->method.seeds_reached, sp->method.seeds_censored, sp->baseline.seeds_reached,
                  sp->baseline.seeds_censored);
    else
        sb_printf(sb, ", \"seeds_reached\": null, \"seeds_censored\": null, "
                      "\"baseline_seeds_reached\": null, \"baseline_seeds_censored\": null");
    jnum(sb, "steps_to_target", sp->method.steps_to_target);
    jnum(sb, "baseline_steps_to_target", sp->baseline.steps_to_target);
    jnum(sb, "step_speedup", sp->step_speedup);
    jinterval(sb, "step_speedup_interval", sp->step_lo, sp->step_hi);
    jnum(sb, "seconds_to_target", sp->method.seconds_to_target);
    jnum(sb, "baseline_seconds_to_target", sp->baseline.seconds_to_target);
    jnum(sb, "wallclock_speedup", sp->wall_speedup);
    jinterval(sb, "wallclock_speedup_interval", sp->wall_lo, sp->wall_hi);
    if (m->compared)
        sb_printf(sb, ", \"resamples\": %d, \"censored_resamples\": %d", sp->resamples,
                  sp->censored_resamples);
    else
        sb_printf(sb, ", \"resamples\": null, \"censored_resamples\": null");
    sb_printf(sb, ", \"status\": \"%s\", \"wallclock_status\": \"%s\"}",
              i == r->baseline ? "baseline" : step_status(m),
              i == r->baseline ? "baseline" : wall_status(m));
}

static int write_summary_json(const Report *r, const Extras *x, Err *err) {
    const ReportSpec *spec = r->spec;
    StrBuf sb = {0};
    sb_printf(&sb, "{\n  \"title\": ");
    sb_json_string(&sb, spec->title ? spec->title : "");
    sb_printf(&sb, ",\n  \"curve\": \"%s\",\n  \"warnings\": [",
              r->likelihood ? "nelbo" : "accuracy");
    int first_w = 1;
    for (const char *line = r->warnings.data; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)len, line);
        sb_printf(&sb, "%s\n    ", first_w ? "" : ",");
        sb_json_string(&sb, one);
        first_w = 0;
        line += len + (nl != NULL);
    }
    sb_printf(&sb, "%s]", first_w ? "" : "\n  ");
    extras_summary_json(&sb, x->m, r->n);
    sb_printf(&sb, ",\n  \"policy\": ");
    sb_json_string(&sb, spec->policy);
    sb_printf(&sb, ",\n  \"tokens_per_step\": %d,\n  \"baseline\": ", spec->tokens_per_step);
    sb_json_string(&sb, r->n ? r->m[r->baseline].label : "");
    sb_printf(&sb, ",\n  \"smoothing\": ");
    num(&sb, spec->smoothing, "null");
    sb_printf(&sb, ",\n  \"fixed_target\": ");
    num(&sb, spec->target > 0 ? spec->target : NAN, "null");
    sb_printf(&sb, ",\n  \"bootstrap\": %d,\n  \"bootstrap_seed\": %llu,\n", spec->bootstrap,
              (unsigned long long)spec->seed);
    sb_printf(&sb, "  \"interval\": \"2.5%% and 97.5%% quantiles of the speedup over the "
                   "bootstrap resamples in which both mean curves reach the target\",\n");
    sb_printf(&sb, "  \"methods\": [\n");
    for (int i = 0; i < r->n; i++) {
        json_method(&sb, r, i);
        sb_printf(&sb, "%s\n", i + 1 < r->n ? "," : "");
    }
    sb_printf(&sb, "  ],\n  \"runs_not_done\": [");
    int first = 1;
    for (int i = 0; i < spec->n_runs; i++) {
        const ReportRun *run = &spec->runs[i];
        if (is_done(run)) continue;
        sb_printf(&sb, "%s\n    {\"method\": ", first ? "" : ",");
        sb_json_string(&sb, run->method);
        sb_printf(&sb, ", \"seed\": %ld, \"state\": ", run->seed);
        sb_json_string(&sb, run->state);
        sb_printf(&sb, ", \"dir\": ");
        sb_json_string(&sb, run->dir);
        sb_printf(&sb, "}");
        first = 0;
    }
    sb_printf(&sb, "%s]\n}\n", first ? "" : "\n  ");
    int rc = write_out(r, "summary.json", &sb, err);
    sb_free(&sb);
    return rc;
}

/* ---- report_write --------------------------------------------------------------------------- */

static int check_spec(const ReportSpec *spec, Err *err) {
    if (!spec->out_dir || !*spec->out_dir) return err_set(err, "report: no output directory");
    if (!spec->policy[0]) return err_set(err, "report: no eval policy");
    if (spec->n_runs < 0 || (spec->n_runs > 0 && !spec->runs))
        return err_set(err, "report: bad run list");
    if (!(spec->smoothing >= 0.0 && spec->smoothing < 1.0))
        return err_set(err, "report: smoothing %g is outside [0, 1)", spec->smoothing);
    if (spec->bootstrap < 0) return err_set(err, "report: bootstrap %d < 0", spec->bootstrap);
    return 0;
}

static int render_figures(const Report *r, int *gnuplot_missing, Err *err) {
    char gnuplot[4096];
    if (!gnuplot_find(gnuplot, sizeof gnuplot)) {
        if (gnuplot_missing) *gnuplot_missing = 1;
        return 0;
    }
    const char *scripts[] = {"curves.gp",
                             "loss.gp",
                             r->has_val ? "val_loss.gp" : NULL,
                             r->likelihood ? NULL : "speedup.gp",
                             r->has_decode ? "decode.gp" : NULL,
                             r->has_pareto ? "pareto.gp" : NULL};
    for (int i = 0; i < 6; i++)
        if (scripts[i] && gnuplot_run(gnuplot, r->spec->out_dir, scripts[i], err)) return -1;
    for (int k = 0; k < r->n_axes; k++) {
        char name[AXIS_KEY_LEN + 16];
        snprintf(name, sizeof name, "axis_%s.gp", r->axis_keys[k]);
        if (gnuplot_run(gnuplot, r->spec->out_dir, name, err)) return -1;
    }
    return 0;
}

static int extras_build(const Report *r, Extras *x, Err *err) {
    int total = 0;
    for (int i = 0; i < r->n; i++) total += r->m[i].n_done;
    x->m = calloc(r->n > 0 ? (size_t)r->n : 1, sizeof *x->m);
    x->runs = calloc(total > 0 ? (size_t)total : 1, sizeof *x->runs);
    if (!x->m || !x->runs) return err_set(err, "report: out of memory");
    for (int i = 0, k = 0; i < r->n; i++) {
        x->m[i] = (ExtrasMethod){r->m[i].label, r->m[i].n_done, x->runs + k};
        for (int s = 0; s < r->m[i].n_done; s++) x->runs[k++] = &r->m[i].data[s].extras;
    }
    return 0;
}

static void extras_free(Extras *x) {
    free(x->m);
    free(x->runs);
}

static int write_decode_tsv(Report *r, const Extras *x, Err *err) {
    StrBuf sb = {0};
    r->has_decode = extras_decode_tsv(&sb, x->m, r->n);
    int rc = r->has_decode ? write_out(r, "decode.tsv", &sb, err) : 0;
    sb_free(&sb);
    return rc;
}

/* A sweep of decoding choices (methods that differ in eval.* keys only): cost (nfe) vs
 * accuracy of every method and eval row, the non-dominated ones joined. */
static int write_pareto_files(Report *r, Err *err) {
    if (r->likelihood || !r->decoding) return 0;
    ParetoSet pts = {0};
    int rc = pareto_sweep_points(r->spec, &pts, err);
    if (rc == 0 && pts.n > 0) {
        pareto_mark_front(&pts);
        StrBuf sb = {0};
        pareto_tsv(&sb, &pts, "nfe", "accuracy");
        rc = write_out(r, "pareto.tsv", &sb, err);
        sb.len = 0;
        gp_pareto_script(&sb, r->spec->title ? r->spec->title : "", "nfe (model calls per example)",
                         "solve accuracy");
        if (rc == 0) rc = write_out(r, "pareto.gp", &sb, err);
        sb_free(&sb);
        r->has_pareto = rc == 0;
    }
    pareto_free(&pts);
    return rc;
}

/* For every numeric grid axis, the final and best metric against its value (axis.h). */
static int write_axis_files(Report *r, Err *err) {
    AxisMethod *am = calloc(r->n > 0 ? (size_t)r->n : 1, sizeof *am);
    if (!am) return err_set(err, "report: out of memory");
    for (int i = 0; i < r->n; i++)
        am[i] = (AxisMethod){r->m[i].label, r->m[i].has_curves ? &r->m[i].acc : NULL};
    r->n_axes = axis_numeric_keys(am, r->n, r->axis_keys);
    char ylabel[128];
    snprintf(ylabel, sizeof ylabel, "%s",
             r->likelihood ? "validation NELBO (nats/token)" : "solve accuracy");
    int rc = 0;
    for (int k = 0; k < r->n_axes && rc == 0; k++) {
        char groups[AXIS_MAX_GROUPS][AXIS_GROUP_LEN], name[AXIS_KEY_LEN + 16];
        StrBuf sb = {0};
        int n_groups = axis_tsv(&sb, am, r->n, r->axis_keys[k], r->likelihood, groups);
        snprintf(name, sizeof name, "axis_%s.tsv", r->axis_keys[k]);
        rc = write_out(r, name, &sb, err);
        sb.len = 0;
        gp_axis_script(&sb, r->spec->title ? r->spec->title : "", r->axis_keys[k], ylabel, groups,
                       n_groups, axis_is_log(am, r->n, r->axis_keys[k]));
        snprintf(name, sizeof name, "axis_%s.gp", r->axis_keys[k]);
        if (rc == 0) rc = write_out(r, name, &sb, err);
        sb_free(&sb);
    }
    free(am);
    return rc;
}

/* Language-model sweeps are reported by their NELBO: when the first done run logged one and
 * no accuracy (a scored task's bound is its validation loss beside the accuracy). */
static int is_likelihood_sweep(const ReportSpec *spec) {
    for (int i = 0; i < spec->n_runs; i++)
        if (is_done(&spec->runs[i]))
            return run_has_elbo_rows(spec->runs[i].dir) &&
                   !run_has_accuracy_rows(spec->runs[i].dir);
    return 0;
}

int report_write(const ReportSpec *spec, int *gnuplot_missing, Err *err) {
    if (gnuplot_missing) *gnuplot_missing = 0;
    if (check_spec(spec, err)) return -1;
    Report r;
    memset(&r, 0, sizeof r);
    r.spec = spec;
    r.likelihood = is_likelihood_sweep(spec);
    r.decoding = pareto_is_decoding_sweep(spec);
    Extras x = {0};
    int n_rows = 0, has_step = 0, has_wall = 0;
    int rc = group_runs(&r, err);
    if (rc == 0) rc = read_runs(&r, err);
    if (rc == 0) rc = build_curves(&r, err);
    if (rc == 0) rc = compare_methods(&r, err);
    if (rc == 0) rc = collect_warnings(&r, err);
    if (rc == 0) rc = extras_build(&r, &x, err);
    if (rc == 0) rc = make_dirs(spec->out_dir, err);
    if (rc == 0) rc = write_curve_tsv(&r, CURVES_ACC, err);
    if (rc == 0) rc = write_curve_tsv(&r, CURVES_LOSS, err);
    if (rc == 0 && r.has_val) rc = write_curve_tsv(&r, CURVES_VAL, err);
    if (rc == 0) rc = write_speedup_tsv(&r, &n_rows, &has_step, &has_wall, err);
    if (rc == 0) rc = write_decode_tsv(&r, &x, err);
    if (rc == 0) rc = write_pareto_files(&r, err);
    if (rc == 0) rc = write_axis_files(&r, err);
    if (rc == 0) rc = write_scripts(&r, n_rows, has_step, has_wall, err);
    if (rc == 0) rc = write_summary_md(&r, &x, err);
    if (rc == 0) rc = write_summary_json(&r, &x, err);
    if (rc == 0 && !spec->no_gnuplot) rc = render_figures(&r, gnuplot_missing, err);
    extras_free(&x);
    report_free(&r);
    return rc;
}
