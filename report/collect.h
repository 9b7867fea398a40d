/* Reading a finished run directory for the report and the regression gate.
 * eval.csv and train.csv are parsed by their header's column names, so columns may be added
 * or reordered; a file without a train_s column (runs older than train_s) reads as
 * "training seconds unknown" (NAN). Errors name the file and line: "DIR/eval.csv:7: ...". */
#ifndef MDMLAB_COLLECT_H
#define MDMLAB_COLLECT_H

#include "metrics_file.h"
#include "report.h"
#include "speedup.h"

/* The ancestral sampler's cost at one T (eval.csv rows with policy "ancestral", k = T). */
typedef struct DecodeRow {
    double steps, nfe, idle_step_ratio, accuracy; /* accuracy NAN for text */
} DecodeRow;

enum { RUN_DECODE_MAX = 16 };

/* What a run reports beyond its curves: its last validation ELBO row (language models) and
 * its ancestral-sampler rows at its last eval step. */
typedef struct RunExtras {
    int has_elbo;
    double elbo_step, nelbo, ppl_bound, bits_per_byte;
    int n_decode;
    DecodeRow decode[RUN_DECODE_MAX];
} RunExtras;

typedef struct RunData {
    Curve eval;  /* the eval.csv rows of one policy and k: step, accuracy, train_s; or, for a
                    language model (likelihood), elbo.csv: step, nelbo, train_s */
    Curve loss;  /* train.csv: step, loss, train_s */
    Curve val;   /* a scored task's elbo.csv: its validation bound under random masking, the
                    same masks for every method (step, nelbo, train_s); empty without one */
    Curve speed; /* train.csv: step, tokens_per_s (NAN without that column), train_s */
    RunExtras extras;
} RunData;

/* Reads DIR/eval.csv (rows with the given policy and tokens_per_step, or with policy "" those
 * of the run's first row; at least one must exist), or with likelihood DIR/elbo.csv (at least one
 * row), and DIR/train.csv (at least one row), and the run's extras; without likelihood, also
 * DIR/elbo.csv when it has rows (into val). */
int run_data_read(RunData *rd, const char *dir, const char *policy, int tokens_per_step,
                  int likelihood, Err *err);
/* One eval.csv row of a run's last eval step. */
typedef struct LastEvalRow {
    char policy[32];
    double k, accuracy, nfe, idle_step_ratio; /* nfe, idle NAN without those columns */
} LastEvalRow;

/* The rows of DIR/eval.csv at its last step (into *step, NAN when none), malloc'ed into *rows
 * (n may be 0). */
int run_last_eval_rows(const char *dir, LastEvalRow **rows, int *n, double *step, Err *err);
/* Whether DIR/elbo.csv holds rows (a validation bound). */
int run_has_elbo_rows(const char *dir);
/* Whether DIR/eval.csv holds an accuracy (a scored task; text runs' rows have none). */
int run_has_accuracy_rows(const char *dir);
void run_data_free(RunData *rd);

/* Appends, per run in state "done", the rows the regression gate compares (metrics_file.h):
 *   loss@<last train step>/<method>/seed=<s>           lower  exact   gate 0.02 0.01
 *   accuracy@<last eval step>/<policy>:<k>/<method>/seed=<s>
 *                                                      higher exact   gate 0    0.05
 *       (one row per policy:k pair evaluated at the run's last eval step)
 *   tokens_per_s/<method>  median over train.csv rows but the first (warm-up), one row
 *                          per seed                    higher sampled info 0.10 0 */
int report_collect_metrics(const ReportSpec *spec, MetricsFile *out, Err *err);

#endif
