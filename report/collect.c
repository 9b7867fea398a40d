#include "collect.h"

#include "csv.h"

#include "stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- run directories -------------------------------------------------------------------- */

void run_data_free(RunData *rd) {
    curve_free(&rd->eval);
    curve_free(&rd->loss);
    curve_free(&rd->speed);
    curve_free(&rd->val);
}

static int check_order(Csv *c, const Curve *curve, double step, Err *err) {
    if (curve->n > 0 && !(step > curve->step[curve->n - 1]))
        return err_set(err, "%s:%d: step %g does not follow step %g", c->path, c->line, step,
                       curve->step[curve->n - 1]);
    return 0;
}

/* policy "" takes the run's own first row's policy and k (a decoding sweep's methods each
 * decode their own way). */
static int read_eval(RunData *rd, const char *dir, const char *policy_in, int k, Err *err) {
    char policy[32];
    snprintf(policy, sizeof policy, "%s", policy_in);
    Csv c;
    if (csv_open(&c, dir, "eval.csv", err)) return -1;
    int c_step = csv_col(&c, "step", 1, err), c_pol = csv_col(&c, "policy", 1, err);
    int c_k = csv_col(&c, "tokens_per_step", 1, err), c_acc = csv_col(&c, "accuracy", 1, err);
    int c_ts = csv_col(&c, "train_s", 0, err);
    int rc = c_step < 0 || c_pol < 0 || c_k < 0 || c_acc < 0 ? -1 : 0;
    while (rc == 0) {
        int got = csv_next(&c, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        double step, kk, acc, ts;
        if (csv_num(&c, c_step, &step, err) || csv_num(&c, c_k, &kk, err) ||
            csv_num(&c, c_acc, &acc, err) || csv_num(&c, c_ts, &ts, err)) {
            rc = -1;
            break;
        }
        if (!policy[0]) { /* the run's own decoding: its first row's */
            snprintf(policy, sizeof policy, "%s", c.field[c_pol]);
            k = (int)kk;
        }
        if (strcmp(c.field[c_pol], policy) != 0 || kk != k) continue;
        rc = check_order(&c, &rd->eval, step, err);
        if (rc == 0) rc = curve_push(&rd->eval, step, acc, ts, err);
    }
    if (rc == 0 && rd->eval.n == 0)
        rc = err_set(err, "%s: no rows with policy '%s' and tokens_per_step %d", c.path, policy, k);
    csv_close(&c);
    return rc;
}

static int read_train(RunData *rd, const char *dir, Err *err) {
    Csv c;
    if (csv_open(&c, dir, "train.csv", err)) return -1;
    int c_step = csv_col(&c, "step", 1, err), c_loss = csv_col(&c, "loss", 1, err);
    int c_tps = csv_col(&c, "tokens_per_s", 1, err), c_ts = csv_col(&c, "train_s", 0, err);
    int rc = c_step < 0 || c_loss < 0 || c_tps < 0 ? -1 : 0;
    while (rc == 0) {
        int got = csv_next(&c, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        double step, loss, tps, ts;
        if (csv_num(&c, c_step, &step, err) || csv_num(&c, c_loss, &loss, err) ||
            csv_num(&c, c_tps, &tps, err) || csv_num(&c, c_ts, &ts, err)) {
            rc = -1;
            break;
        }
        rc = check_order(&c, &rd->loss, step, err);
        if (rc == 0) rc = curve_push(&rd->loss, step, loss, ts, err);
        if (rc == 0) rc = curve_push(&rd->speed, step, tps, ts, err);
    }
    if (rc == 0 && rd->loss.n == 0) rc = err_set(err, "%s: no rows", c.path);
    csv_close(&c);
    return rc;
}

/* elbo.csv as a curve of the run (step, nelbo, train_s) into `into`; its last row into the
 * extras. */
static int read_elbo(RunData *rd, const char *dir, Curve *into, Err *err) {
    Csv c;
    if (csv_open(&c, dir, "elbo.csv", err)) return -1;
    int c_step = csv_col(&c, "step", 1, err), c_nelbo = csv_col(&c, "nelbo", 1, err);
    int c_ppl = csv_col(&c, "ppl_bound", 1, err), c_bpb = csv_col(&c, "bits_per_byte", 1, err);
    int c_ts = csv_col(&c, "train_s", 0, err);
    int rc = c_step < 0 || c_nelbo < 0 || c_ppl < 0 || c_bpb < 0 ? -1 : 0;
    RunExtras *x = &rd->extras;
    while (rc == 0) {
        int got = csv_next(&c, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        double step, nelbo, ts;
        if (csv_num(&c, c_step, &step, err) || csv_num(&c, c_nelbo, &nelbo, err) ||
            csv_num(&c, c_ppl, &x->ppl_bound, err) || csv_num(&c, c_bpb, &x->bits_per_byte, err) ||
            csv_num(&c, c_ts, &ts, err)) {
            rc = -1;
            break;
        }
        rc = check_order(&c, into, step, err);
        if (rc == 0) rc = curve_push(into, step, nelbo, ts, err);
        x->has_elbo = 1;
        x->elbo_step = step;
        x->nelbo = nelbo;
    }
    if (rc == 0 && into->n == 0) rc = err_set(err, "%s: no rows", c.path);
    csv_close(&c);
    return rc;
}

int run_last_eval_rows(const char *dir, LastEvalRow **rows, int *n, double *step_out, Err *err) {
    *rows = NULL;
    *n = 0;
    Csv c;
    if (csv_open(&c, dir, "eval.csv", err)) return -1;
    int c_step = csv_col(&c, "step", 1, err), c_pol = csv_col(&c, "policy", 1, err);
    int c_k = csv_col(&c, "tokens_per_step", 1, err), c_acc = csv_col(&c, "accuracy", 1, err);
    int c_nfe = csv_col(&c, "nfe", 0, err), c_idle = csv_col(&c, "idle_step_ratio", 0, err);
    int rc = c_step < 0 || c_pol < 0 || c_k < 0 || c_acc < 0 ? -1 : 0, cap = 0;
    double last = -INFINITY;
    while (rc == 0) {
        int got = csv_next(&c, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        LastEvalRow row;
        double step;
        if (csv_num(&c, c_step, &step, err) || csv_num(&c, c_k, &row.k, err) ||
            csv_num(&c, c_acc, &row.accuracy, err) || csv_num(&c, c_nfe, &row.nfe, err) ||
            csv_num(&c, c_idle, &row.idle_step_ratio, err)) {
            rc = -1;
            break;
        }
        if (step < last) continue;
        if (step > last) *n = 0; /* a later step: the rows kept so far are not the last */
        last = step;
        snprintf(row.policy, sizeof row.policy, "%s", c.field[c_pol]);
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *rows = realloc_or_die(*rows, (size_t)cap * sizeof **rows, "eval rows");
        }
        (*rows)[(*n)++] = row;
    }
    csv_close(&c);
    if (step_out) *step_out = *n ? last : NAN;
    return rc;
}

/* The "ancestral" rows of eval.csv at its last step, into the extras (none without them). */
static int read_decode_rows(RunExtras *x, const char *dir, Err *err) {
    LastEvalRow *rows;
    int n;
    int rc = run_last_eval_rows(dir, &rows, &n, NULL, err);
    for (int i = 0; i < n && rc == 0; i++) {
        if (strcmp(rows[i].policy, "ancestral") != 0 || !isfinite(rows[i].idle_step_ratio) ||
            x->n_decode == RUN_DECODE_MAX)
            continue;
        x->decode[x->n_decode++] =
            (DecodeRow){rows[i].k, rows[i].nfe, rows[i].idle_step_ratio, rows[i].accuracy};
    }
    free(rows);
    return rc;
}

int run_has_elbo_rows(const char *dir) {
    Csv c;
    Err ignored;
    if (csv_open(&c, dir, "elbo.csv", &ignored)) return 0;
    int has = csv_next(&c, &ignored) == 1;
    csv_close(&c);
    return has;
}

int run_has_accuracy_rows(const char *dir) {
    LastEvalRow *rows;
    int n, has = 0;
    Err ignored;
    if (run_last_eval_rows(dir, &rows, &n, NULL, &ignored) == 0)
        for (int i = 0; i < n; i++) has |= !isnan(rows[i].accuracy);
    free(rows);
    return has;
}

int run_data_read(RunData *rd, const char *dir, const char *policy, int tokens_per_step,
                  int likelihood, Err *err) {
    memset(rd, 0, sizeof *rd);
    int rc = likelihood ? read_elbo(rd, dir, &rd->eval, err)
                        : read_eval(rd, dir, policy, tokens_per_step, err);
    if (rc == 0 && !likelihood && run_has_elbo_rows(dir)) rc = read_elbo(rd, dir, &rd->val, err);
    if (rc == 0) rc = read_train(rd, dir, err);
    if (rc == 0) rc = read_decode_rows(&rd->extras, dir, err);
    if (rc) run_data_free(rd);
    return rc;
}

/* ---- regression-gate rows --------------------------------------------------------------- */

/* How the gate compares each kind of row (metrics_file.h); name and value filled per row. */
static const MetricRow loss_row = {"", 0, 1, 1, 0.02, 0.01, 0.0};
static const MetricRow accuracy_row = {"", 1, 1, 1, 0.0, 0.05, 0.0};
static const MetricRow tokens_row = {"", 1, 0, 0, 0.10, 0.0, 0.0};
static const MetricRow nelbo_row = {"", 0, 1, 1, 0.02, 0.01, 0.0};

static int add_row(MetricsFile *out, const MetricRow *kind, double value, Err *err, const char *fmt,
                   ...) MDM_PRINTF(5, 6);

static int add_row(MetricsFile *out, const MetricRow *kind, double value, Err *err, const char *fmt,
                   ...) {
    MetricRow row = *kind;
    row.value = value;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(row.name, sizeof row.name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof row.name)
        return err_set(err, "metric name longer than %d bytes: %s...", METRIC_NAME_LEN - 1,
                       row.name);
    return metrics_file_add(out, &row, err);
}

/* accuracy@<last eval step>/<policy>:<k>/<method>/seed=<s> for every policy:k pair evaluated
 * at the last step of the run's eval.csv (text runs' decoding rows have no accuracy). */
static int add_accuracy_rows(const ReportRun *run, MetricsFile *out, Err *err) {
    LastEvalRow *rows;
    int n, scored = 0;
    double last;
    int rc = run_last_eval_rows(run->dir, &rows, &n, &last, err);
    for (int i = 0; i < n && rc == 0; i++) {
        if (isnan(rows[i].accuracy)) continue;
        scored++;
        rc = add_row(out, &accuracy_row, rows[i].accuracy, err, "accuracy@%.0f/%s:%.0f/%s/seed=%ld",
                     last, rows[i].policy, rows[i].k, run->method, run->seed);
    }
    if (rc == 0 && !scored && !run_has_elbo_rows(run->dir))
        rc = err_set(err, "%s/eval.csv: no rows", run->dir);
    free(rows);
    return rc;
}

static int add_train_rows(const ReportRun *run, MetricsFile *out, Err *err) {
    RunData rd;
    memset(&rd, 0, sizeof rd);
    int rc = read_train(&rd, run->dir, err);
    if (rc == 0) {
        const Curve *l = &rd.loss;
        rc = add_row(out, &loss_row, l->value[l->n - 1], err, "loss@%.0f/%s/seed=%ld",
                     l->step[l->n - 1], run->method, run->seed);
    }
    /* The first logged row includes start-up and warm-up; a one-row file has no sample. */
    if (rc == 0 && rd.speed.n > 1)
        rc = add_row(out, &tokens_row, stats_median(rd.speed.value + 1, rd.speed.n - 1), err,
                     "tokens_per_s/%s", run->method);
    run_data_free(&rd);
    return rc;
}

/* nelbo@<last step>/<method>/seed=<s> for a run with a validation bound. */
static int add_nelbo_row(const ReportRun *run, MetricsFile *out, Err *err) {
    if (!run_has_elbo_rows(run->dir)) return 0;
    RunData rd;
    memset(&rd, 0, sizeof rd);
    int rc = read_elbo(&rd, run->dir, &rd.eval, err);
    if (rc == 0)
        rc = add_row(out, &nelbo_row, rd.extras.nelbo, err, "nelbo@%.0f/%s/seed=%ld",
                     rd.extras.elbo_step, run->method, run->seed);
    run_data_free(&rd);
    return rc;
}

int report_collect_metrics(const ReportSpec *spec, MetricsFile *out, Err *err) {
    for (int i = 0; i < spec->n_runs; i++) {
        const ReportRun *run = &spec->runs[i];
        if (strcmp(run->state, "done") != 0) continue;
        if (add_train_rows(run, out, err) || add_accuracy_rows(run, out, err) ||
            add_nelbo_row(run, out, err))
            return -1;
    }
    return 0;
}
