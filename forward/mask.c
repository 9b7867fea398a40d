/* Masking helpers shared by the forward processes. */
#include "forward.h"

#include <string.h>

int forward_answer_positions(const unsigned char *is_prompt, int T, int *positions) {
    int n = 0;
    for (int t = 0; t < T; t++)
        if (!is_prompt[t]) positions[n++] = t;
    return n;
}

void forward_choose_random_subset(Rng *rng, int *items, int n, int m) {
    for (int i = 0; i < m; i++) { /* partial Fisher-Yates: the first m form the subset */
        int j = i + (int)rng_below(rng, (uint64_t)(n - i));
        int tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
    }
}

void forward_mask_random_subset(Rng *rng, int *tokens, int *positions, int n, int m, int mask_id) {
    forward_choose_random_subset(rng, positions, n, m);
    for (int i = 0; i < m; i++) tokens[positions[i]] = mask_id;
}

long forward_draw_example(const ForwardProcess *fp, Rng *rng, int *targets,
                          unsigned char *is_prompt) {
    const Task *task = fp->task;
    long idx = (long)rng_below(rng, (uint64_t)task->n_train);
    task->ops->example(task, SPLIT_TRAIN, idx, targets, is_prompt);
    return idx;
}

void forward_random_masking_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    int T = batch->T, mask_id = fp->task->mask_id;
    unsigned char *is_prompt = fp->is_prompt;
    int *positions = fp->positions;
    Rng rng = forward_step_rng(fp, "ra", step);
    for (int b = 0; b < batch->B; b++) {
        int *tgt = batch->targets + (size_t)b * T, *tok = batch->tokens + (size_t)b * T;
        forward_draw_example(fp, &rng, tgt, is_prompt);
        memcpy(tok, tgt, (size_t)T * sizeof(int));
        int n = forward_answer_positions(is_prompt, T, positions);
        if (n > 0) {
            int m = 1 + (int)rng_below(&rng, (uint64_t)n);
            forward_mask_random_subset(&rng, tok, positions, n, m, mask_id);
        }
        forward_batch_set_weights(batch, b, mask_id);
    }
}
