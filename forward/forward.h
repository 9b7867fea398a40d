/* The forward-process contract: how training masks are drawn. A process fills each
 * training batch (model input with MASK tokens, clean targets, per-position loss weights)
 * and may observe the model's confidence per position after the forward pass (PUMA uses it
 * to advance its chain without an extra forward). The training loop knows nothing of which
 * process runs.
 *
 * Loss weights implement DESIGN.md's loss: per sequence, CE summed over its masked
 * positions divided by their count, then the mean over the batch, so a masked position of
 * sequence b has weight 1 / (masked_b * B) and every other position weight 0. */
#ifndef MDMLAB_FORWARD_H
#define MDMLAB_FORWARD_H

#include "tasks/task.h"
#include "base/config.h"

typedef struct ForwardBatch {
    int B, T;
    int *tokens;    /* (B, T) model input */
    int *targets;   /* (B, T) clean sequence */
    float *weights; /* (B, T) loss weights */
} ForwardBatch;

typedef struct ForwardProcess ForwardProcess;

typedef struct ForwardOps {
    const char *name;
    const char *description;
    /* The process's own keys (base/config.h), or NULL. */
    const ConfigSection *config;
    /* Optional (a process without state or checks of its own leaves it NULL). */
    int (*create)(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err);
    void (*destroy)(ForwardProcess *fp);
    /* Fill batch for optimizer step `step` (0-based). Must be a pure function of the run
     * seed, the step and the process state, so a resumed run draws the same batches. */
    void (*make_batch)(ForwardProcess *fp, long step, ForwardBatch *batch);
    /* Optional (NULL): see the model's confidence on the batch just trained on: host, (B, T),
     * per position the max over tokens other than MASK of the log-softmax of its logits
     * without MASK (the backend op max_log_prob with exclude_id = the task's mask_id). */
    void (*observe)(ForwardProcess *fp, long step, const float *confidence);
    /* Optional: the block size evaluation decodes with at training step `step` when
     * eval.block_size is 0 (a block process decodes block by block, as it trains); NULL or 0:
     * the whole answer at once. */
    int (*decode_block_size)(const Config *cfg, long step);
    /* Optional: set the keys this process requires of the model (AR: causal attention and
     * shifted outputs), so a tool that configures runs itself (bench) can run every process. */
    void (*require)(Config *cfg);
    /* Optional: the digits per token of the model's sub-token input this process trains
     * (MDM-Prime's ell) and, in *permute, the seed of its code permutation (0: none); NULL or
     * a value <= 1: the model reads plain tokens. */
    int (*sub_tokens)(const Config *cfg, uint64_t *permute);
    /* Optional state for checkpoints (NULL when the process is stateless). */
    size_t (*state_bytes)(const ForwardProcess *fp);
    void (*state_save)(const ForwardProcess *fp, void *out);
    int (*state_load)(ForwardProcess *fp, const void *in, size_t bytes, Err *err);
} ForwardOps;

struct ForwardProcess {
    const ForwardOps *ops;
    void *impl;
    const Task *task;
    uint64_t seed;
    int batch;
    /* Scratch for one sequence at a time (task->seq_len entries each), owned by the
     * framework: a process that needs no state of its own allocates nothing. */
    int *positions;
    unsigned char *is_prompt;
};

/* Registry: the processes built in, the baseline (random masking) first. */
int forward_count(void);
const ForwardOps *forward_at(int i);
const ForwardOps *forward_find(const char *name); /* NULL if unknown */
/* Comma-separated names, for --help and error messages. */
const char *forward_names(void);
int forward_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err);
void forward_destroy(ForwardProcess *fp);
/* The RNG of one step of a process: a stream keyed by (run seed, tag, step), so batches
 * depend on (seed, step) only and a resumed run draws the same ones. tag names the use (at
 * most 8 characters, e.g. "ra" for random masking's batches); its bytes, first character in
 * the top byte, plus the step select the stream. */
Rng forward_step_rng(const ForwardProcess *fp, const char *tag, long step);
/* Allocate/free a batch's host arrays. */
int forward_batch_alloc(ForwardBatch *b, int B, int T, Err *err);
void forward_batch_free(ForwardBatch *b);
/* Non-prompt positions of a sequence, in order; returns their count (L_eff). */
int forward_answer_positions(const unsigned char *is_prompt, int T, int *positions);
/* Moves a uniformly random m-subset of items[0..n) to its first m entries (partial
 * Fisher-Yates: one rng_below per chosen item). */
void forward_choose_random_subset(Rng *rng, int *items, int n, int m);
/* Masks a uniformly random m-subset of positions[0..n) in tokens (positions is permuted:
 * its first m entries are the masked ones). */
void forward_mask_random_subset(Rng *rng, int *tokens, int *positions, int n, int m, int mask_id);
/* Draws a uniformly random training example into targets/is_prompt; returns its index. */
long forward_draw_example(const ForwardProcess *fp, Rng *rng, int *targets,
                          unsigned char *is_prompt);
/* The random-masking batch of `step`: per sequence a random training example with a
 * uniformly random m-subset of its answer masked, m ~ U{1..L_eff}. Uses fp's scratch. */
void forward_random_masking_batch(ForwardProcess *fp, long step, ForwardBatch *batch);
/* Set weights of sequence b from its mask: 1/(masked * B) on masked positions, else 0. */
void forward_batch_set_weights(ForwardBatch *batch, int b, int mask_id);

#endif
