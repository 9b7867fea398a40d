/* Task evaluation: mask every answer position of held-out examples, decode with a sampler
 * policy, and score with the task. */
#ifndef MDMLAB_EVAL_H
#define MDMLAB_EVAL_H

#include "tasks/task.h"
#include "base/config.h"
#include "model/model.h"
#include "sample.h"

/* What a decoding cost, averaged: model calls per batch, nfe and idle_step_ratio per
 * sequence (SampleStats), and forward FLOPs per sequence: each of its passes charged by the
 * shape of the model that made it (a third of bench's training-step accounting), so the cost
 * of decoding it alone; flops_saved = 1 - flops / (the same passes by the heavy model). */
typedef struct DecodeCost {
    double model_calls, nfe, idle_step_ratio, flops, flops_saved;
} DecodeCost;

typedef struct EvalResult {
    long correct, total;
    double accuracy;
    DecodeCost cost; /* per example (nfe, idle_step_ratio, flops) or per batch (model_calls) */
    double seconds;
} EvalResult;

/* Evaluate the first `count` (0 = all) examples of the eval split in batches of at most
 * m->max_batch. seed drives random policies and Gumbel sampling. light (may be NULL): the
 * light model of opt->schedule's L steps (model scheduling), same task shape as m. */
int eval_accuracy(Model *m, Model *light, const Task *task, const SampleOptions *opt, long count,
                  uint64_t seed, EvalResult *out, Err *err);
/* What to evaluate, a run directory or a checkpoint file: the checkpoint path into ckpt (the
 * directory's checkpoint.bin), whether it is a directory in *is_dir (may be NULL). */
int eval_checkpoint_path(const char *target, char *ckpt, size_t n, int *is_dir, Err *err);
/* Loads any model of `task`'s vocabulary and length from a checkpoint onto be (EMA weights
 * when it has them). */
int eval_load_model(Model *m, Backend *be, const char *ckpt_path, const Task *task, int max_batch,
                    Err *err);

/* Generates n sequences of task->seq_len tokens into out[n * seq_len]: each starts all MASK
 * and is decoded under opt in batches of at most m->max_batch (seed drives random policies
 * and Gumbel sampling); light (may be NULL) makes opt->schedule's L steps. Its cost in *cost
 * (may be NULL). */
int eval_generate(Model *m, Model *light, const Task *task, const SampleOptions *opt, long n,
                  uint64_t seed, int *out, DecodeCost *cost, Err *err);

/* The decoding block size for an evaluation at training step `step`: eval.block_size when
 * set, else the block process's size in force at that step (so a block-trained model is
 * decoded the way it is trained), else 0 (no blocks). */
int eval_block_size(const Config *cfg, long step);

/* Sampler options of an evaluation at `step` with policy and k tokens per step; threshold,
 * temperature, block size and the sampler (eval.sampler, eval.steps) come from the config. */
SampleOptions eval_sample_options(const Config *cfg, UnmaskPolicy policy, int k, long step);
enum { EVAL_EXTRA_MAX = 64 }; /* decodings eval.extra may list (its string holds fewer) */
/* The decodings eval.extra lists ("policy:k" pairs and "ancestral:T"), at most max of them,
 * into out; returns how many. The config's other sampler settings apply to each. */
int eval_extra_options(const Config *cfg, long step, SampleOptions *out, int max);
/* How an evaluation's rows name its decoding: the policy, or "ancestral" (k is then T). */
const char *eval_sampler_label(const SampleOptions *opt);
int eval_sampler_k(const SampleOptions *opt);

#endif
