/* The forward-process contract: how training masks are drawn. A process fills each
 * training batch (model input with MASK tokens, clean targets, per-position loss weights)
 * and may observe the step's logits after the forward pass (PUMA uses them to advance its
 * chain without an extra forward). The training loop knows nothing of which process runs.
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
    int (*create)(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err);
    void (*destroy)(ForwardProcess *fp);
    /* Fill batch for optimizer step `step` (0-based). Must be a pure function of the run
     * seed, the step and the process state, so a resumed run draws the same batches. */
    void (*make_batch)(ForwardProcess *fp, long step, ForwardBatch *batch);
    /* Optional (NULL): see the logits (host, B*T*V) of the batch just trained on. */
    void (*observe)(ForwardProcess *fp, long step, const float *logits, int V);
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
};

const ForwardOps *forward_find(const char *name);
const char *forward_names(void);
int forward_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err);
void forward_destroy(ForwardProcess *fp);
/* Allocate/free a batch's host arrays. */
int forward_batch_alloc(ForwardBatch *b, int B, int T, Err *err);
void forward_batch_free(ForwardBatch *b);
/* Non-prompt positions of a sequence, in order; returns their count (L_eff). */
int forward_answer_positions(const unsigned char *is_prompt, int T, int *positions);
/* Masks a uniformly random m-subset of positions[0..n) in tokens (positions is permuted:
 * its first m entries are the masked ones). */
void forward_mask_random_subset(Rng *rng, int *tokens, int *positions, int n, int m, int mask_id);
/* Draws a uniformly random training example into targets/is_prompt; returns its index. */
long forward_draw_example(const ForwardProcess *fp, Rng *rng, int *targets,
                          unsigned char *is_prompt);
/* The random-masking batch of `step`: per sequence a random training example with a
 * uniformly random m-subset of its answer masked, m ~ U{1..L_eff}. is_prompt and positions
 * are scratch of seq_len entries. */
void forward_random_masking_batch(const ForwardProcess *fp, long step, ForwardBatch *batch,
                                  unsigned char *is_prompt, int *positions);
/* Set weights of sequence b from its mask: 1/(masked * B) on masked positions, else 0. */
void forward_batch_set_weights(ForwardBatch *batch, int b, int mask_id);

extern const ForwardOps forward_random_ops;
extern const ForwardOps forward_puma_ops;
extern const ForwardOps forward_block_ops;
extern const ForwardOps forward_ar_ops;

#endif
