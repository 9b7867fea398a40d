/* The training loop: one run = one config, one run directory. */
#ifndef MDMLAB_TRAIN_H
#define MDMLAB_TRAIN_H

#include "tasks/task.h"
#include "model/checkpoint.h"
#include "base/config.h"
#include "model/model.h"
#include "parallel.h"

enum { TRAIN_OK = 0, TRAIN_FAILED = -1, TRAIN_INTERRUPTED = -2 };

/* Run directory of a config: cfg->out_dir, or runs/<name>-s<seed>. */
void train_run_dir(const Config *cfg, char *out, size_t n);

/* Train per cfg, writing config.yaml, metrics, log and checkpoint.bin into the run dir.
 * Resumes from a checkpoint when train.resume names one ("auto": the run dir's own, if
 * present). SIGINT/SIGTERM stop at the next step boundary after writing a checkpoint
 * (TRAIN_INTERRUPTED). `quiet` suppresses terminal progress (tests). */
int train_run(const Config *cfg, int quiet, Err *err);
/* The same as one rank of a data-parallel MPI job (run/parallel.h; NULL: one process): rank 0
 * writes the run directory and evaluates, every rank trains its slice of each batch. */
int train_run_parallel(const Config *cfg, int quiet, Parallel *par, Err *err);

#endif
