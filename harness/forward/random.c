/* Random masking, the MDM baseline: per sequence draw m uniform in {1..L_eff} and mask a
 * uniformly random subset of m non-prompt positions. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

typedef struct RandomMasking {
    int *answer_pos; /* scratch: non-prompt positions of one sequence */
    unsigned char *is_prompt;
} RandomMasking;

static int random_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)cfg;
    RandomMasking *rm = calloc(1, sizeof(*rm));
    if (rm) {
        rm->answer_pos = malloc((size_t)task->seq_len * sizeof(int));
        rm->is_prompt = malloc((size_t)task->seq_len);
    }
    if (!rm || !rm->answer_pos || !rm->is_prompt) {
        if (rm) free(rm->answer_pos);
        free(rm);
        return err_set(err, "process 'random': out of memory");
    }
    fp->impl = rm;
    return 0;
}

static void random_destroy(ForwardProcess *fp) {
    RandomMasking *rm = fp->impl;
    free(rm->answer_pos);
    free(rm->is_prompt);
    free(rm);
}

/* Masks a uniformly random subset of size uniform in 1..L_eff of the non-prompt positions.
 * Shared with later processes that noise one block at a time. */
static void mask_sequence(Rng *rng, int *tokens, const unsigned char *is_prompt, int T, int mask_id,
                          int *scratch) {
    int n = 0;
    for (int t = 0; t < T; t++)
        if (!is_prompt[t]) scratch[n++] = t;
    if (n == 0) return;
    int m = 1 + (int)rng_below(rng, (uint64_t)n);
    for (int i = 0; i < m; i++) { /* partial Fisher-Yates: the first m form the subset */
        int j = i + (int)rng_below(rng, (uint64_t)(n - i));
        int tmp = scratch[i];
        scratch[i] = scratch[j];
        scratch[j] = tmp;
        tokens[scratch[i]] = mask_id;
    }
}

static void random_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    RandomMasking *rm = fp->impl;
    const Task *task = fp->task;
    int T = batch->T;
    Rng rng;
    /* one stream per step: batches depend on (seed, step) only, so resume is exact */
    rng_seed(&rng, fp->seed, 0x7261000000000000ULL + (uint64_t)step);
    for (int b = 0; b < batch->B; b++) {
        long idx = (long)rng_below(&rng, (uint64_t)task->n_train);
        int *tgt = batch->targets + (size_t)b * T, *tok = batch->tokens + (size_t)b * T;
        task->ops->example(task, SPLIT_TRAIN, idx, tgt, rm->is_prompt);
        memcpy(tok, tgt, (size_t)T * sizeof(int));
        mask_sequence(&rng, tok, rm->is_prompt, T, task->mask_id, rm->answer_pos);
        forward_batch_set_weights(batch, b, task->mask_id);
    }
}

const ForwardOps forward_random_ops = {
    .name = "random",
    .description = "MDM baseline: mask m ~ U{1..L_eff} random answer positions per sequence",
    .create = random_create,
    .destroy = random_destroy,
    .make_batch = random_make_batch,
};
