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

static void random_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    RandomMasking *rm = fp->impl;
    const Task *task = fp->task;
    int T = batch->T;
    Rng rng;
    /* one stream per step: batches depend on (seed, step) only, so resume is exact */
    rng_seed(&rng, fp->seed, 0x7261000000000000ULL + (uint64_t)step);
    for (int b = 0; b < batch->B; b++) {
        int *tgt = batch->targets + (size_t)b * T, *tok = batch->tokens + (size_t)b * T;
        forward_draw_example(fp, &rng, tgt, rm->is_prompt);
        memcpy(tok, tgt, (size_t)T * sizeof(int));
        int n = forward_answer_positions(rm->is_prompt, T, rm->answer_pos);
        if (n > 0) {
            int m = 1 + (int)rng_below(&rng, (uint64_t)n);
            forward_mask_random_subset(&rng, tok, rm->answer_pos, n, m, task->mask_id);
        }
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
