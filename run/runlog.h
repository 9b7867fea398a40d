/* A run directory's append-only record: metrics.jsonl (every row), train.csv, eval.csv,
 * elbo.csv (the validation bound; the same rows as tables), for language models only
 * samples.txt (generated text), and log.txt (the progress lines). Rows are written whole and
 * flushed, so a crash loses at most the row being written; on resume the files are cut
 * back (atomically) to the checkpoint's step, so a resumed run's record matches an
 * uninterrupted one. */
#ifndef MDMLAB_RUNLOG_H
#define MDMLAB_RUNLOG_H

#include <stdio.h>
#include "base/util.h"

typedef struct RunLog {
    FILE *jsonl, *train_csv, *eval_csv, *log;
    FILE *elbo_csv, *samples; /* text tasks (tasks without answers) */
} RunLog;

typedef struct TrainRow {
    long step; /* optimizer steps completed */
    double loss, lr, grad_norm, tokens_per_s;
    double wall_s;  /* seconds since this process started training (evals included) */
    double train_s; /* seconds spent in training steps only, summed across resumes */
} TrainRow;

typedef struct EvalRow {
    long step;
    const char *policy;
    int tokens_per_step;
    long correct, total;
    double accuracy, wall_s, train_s; /* accuracy NaN: a text task's decoding row (no answers) */
    double nfe, idle_step_ratio;      /* SampleStats, averaged over the examples */
} EvalRow;

/* The validation ELBO of a language model (run/elbo.h), per token. */
typedef struct ElboRow {
    long step;
    double nelbo, ppl_bound, bits_per_byte;
    long tokens;
    double train_s;
} ElboRow;

/* The optional tables of runlog_open. */
enum {
    RUNLOG_ELBO = 1,   /* elbo.csv: a validation bound (every task, unless eval.elbo_points 0) */
    RUNLOG_SAMPLES = 2 /* samples.txt: generated sequences (tasks without answers: text) */
};

/* resume_step < 0: start fresh (files truncated); else keep rows with step <= resume_step.
 * tables: RUNLOG_* flags of the optional tables to open too. */
int runlog_open(RunLog *rl, const char *dir, long resume_step, int tables, Err *err);
/* A log whose rows go nowhere (/dev/null): the ranks of a data-parallel run other than 0,
 * which write no run directory. */
int runlog_open_discard(RunLog *rl, Err *err);
void runlog_train(RunLog *rl, const TrainRow *row);
void runlog_eval(RunLog *rl, const EvalRow *row);
void runlog_elbo(RunLog *rl, const ElboRow *row);
/* One generated sequence, rendered on one line: "step<TAB>index<TAB>text" in samples.txt. */
void runlog_sample(RunLog *rl, long step, int index, const char *text);
void runlog_line(RunLog *rl, const char *fmt, ...) MDM_PRINTF(2, 3);
void runlog_close(RunLog *rl);

#endif
