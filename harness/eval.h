/* Task evaluation: mask every answer position of held-out examples, decode with a sampler
 * policy, and score with the task. */
#ifndef MDMLAB_EVAL_H
#define MDMLAB_EVAL_H

#include "../tasks/task.h"
#include "model.h"
#include "sample.h"

typedef struct EvalResult {
    long correct, total;
    double accuracy;
    double model_calls; /* forward passes per batch, averaged */
    double seconds;
} EvalResult;

/* Evaluate the first `count` (0 = all) examples of the eval split in batches of at most
 * m->max_batch. seed drives random policies and Gumbel sampling. */
int eval_accuracy(Model *m, const Task *task, const SampleOptions *opt, long count, uint64_t seed,
                  EvalResult *out, Err *err);

#endif
