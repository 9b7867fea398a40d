/* Executing a sweep: each run is `mdmlab train RUN/run.yaml train.resume=auto` in its own
 * process group, at most `jobs` at a time. A run that crashes, diverges or times out fails
 * alone; the sweep goes on. Runs whose status says done are skipped, interrupted ones
 * resume from their checkpoint, failed ones are retried only when asked. */
#ifndef MDMLAB_SWEEP_EXEC_H
#define MDMLAB_SWEEP_EXEC_H

#include "sweep.h"

typedef struct SweepExecOptions {
    const char *sweep_dir;
    const char *exe; /* the mdmlab binary the runs execute */
    int jobs;
    int threads; /* per run, when the config leaves threads at 0 (all cores) */
    double timeout_s;
    int retry_failed;
    int fail_fast;
    int shard_index, shard_count; /* run i is in shard i % count */
    int only;                     /* >= 0: run just this plan index */
    const char *command_line;     /* recorded in each run's meta.json */
} SweepExecOptions;

typedef struct SweepOutcome {
    int done, failed, skipped_busy, interrupted, not_selected;
} SweepOutcome;

/* 0 when every selected run is done; 1 when some failed or were interrupted; -1 with err on a
 * harness error (cannot write the run store, cannot fork). */
int sweep_execute(const Sweep *sw, const SweepExecOptions *o, SweepOutcome *out, Err *err);

/* Writes a Slurm array script running each plan index as one task. */
int sweep_write_slurm(const Sweep *sw, const char *sweep_file, char *const *overrides,
                      int n_overrides, const char *sweep_dir, const char *exe,
                      const char *script_path, Err *err);

#endif
