/* The run store: one directory per run under SWEEP_DIR/runs/<id>/, whose status.json is the
 * only record of whether the run finished. It is rewritten atomically at every state change
 * by the sweep process (never by the run itself), so a crash at any moment leaves either the
 * old state or the new one. A run directory also holds run.yaml (the resolved config it was
 * started with), meta.json (command, git commit, machine), output.log (the run's stdout and
 * stderr) and what `mdmlab train` writes (config.yaml, metrics, checkpoint.bin). */
#ifndef MDMLAB_RUNSTORE_H
#define MDMLAB_RUNSTORE_H

#include "sweep.h"

typedef enum {
    RUN_PENDING = 0, /* never started (no status.json) */
    RUN_RUNNING,     /* started; if no process holds its lock, it was cut off: resume it */
    RUN_DONE,        /* `mdmlab train` exited 0 */
    RUN_FAILED,      /* non-zero exit, signal, NaN, timeout */
    RUN_INTERRUPTED  /* stopped on request with a checkpoint: resume it */
} RunState;

typedef struct RunStatus {
    RunState state;
    int attempts;
    int exit_code;                  /* -1 if none */
    int term_signal;                /* 0 if none */
    double started_at, finished_at; /* Unix time */
    double elapsed_s;               /* this attempt */
    char reason[512];               /* why it failed, one line */
} RunStatus;

const char *run_state_name(RunState s);

void runstore_run_dir(const char *sweep_dir, const char *id, char *out, size_t n);
/* Missing status.json = pending. A status.json that does not parse is an error naming it. */
int runstore_read_status(const char *run_dir, RunStatus *st, Err *err);
int runstore_write_status(const char *run_dir, const SweepRun *run, const RunStatus *st, Err *err);
/* Takes the run's lock file (flock, non-blocking). Returns the descriptor (>= 0), -2 if
 * another process holds it, -1 on error. Whoever holds the descriptor owns the run; it is
 * inherited across fork/exec, so the training process keeps the run locked until it exits. */
int runstore_lock(const char *run_dir, Err *err);
/* The last `lines` lines of run_dir/output.log, for failure summaries. */
void runstore_log_tail(const char *run_dir, int lines, StrBuf *out);

/* plan.tsv: index, id, seed, method of every run of the expansion. */
int runstore_write_plan(const char *sweep_dir, const Sweep *sw, Err *err);
/* A run's readable alias, its method's values and seed: "process=puma,puma.K=4" seed 3 is
 * "puma_K4-s3", or the sweep file's report.labels name of the method and the seed ("PUMA
 * K=4" gives "PUMA_K_4-s3"); runstore_write_plan links SWEEP/by-label/ALIAS to runs/ID. */
void runstore_label_alias(const Sweep *sw, const SweepRun *run, char *out, size_t n);
/* 1 if sweep_dir has a plan whose runs differ from sw's (0 if same or no plan). Describes the
 * difference in `why`. */
int runstore_plan_differs(const char *sweep_dir, const Sweep *sw, char *why, size_t n);

#endif
