/* Autoregressive training, the first half of AR initialisation: next-token prediction over
 * the answer. The model input is the clean sequence (no MASK); with causal attention and
 * shifted outputs (model.causal, model.shift_logits) logits row j is computed from
 * positions < j only and predicts token j, so the usual weighted cross-entropy against the
 * clean targets is the next-token loss. Per sequence it is the mean over the predicted
 * answer positions, then the mean over the batch, like the masking processes' loss.
 *
 * Position 0 is never predicted by a shifted model (its logits row is zero), so it carries
 * no weight even when it is an answer position; tasks whose position 0 is a prompt (the
 * Sudoku prompt layout) lose nothing.
 *
 * Evaluation is left-to-right decoding: the ordinary sampler with the "l2r" policy
 * (unmask the leftmost masked position each step) is exact AR decoding for such a model.
 * When position j is the leftmost masked one, every position < j holds the prompt or an
 * already decoded token, and row j sees only those: the MASK placeholders at j and to its
 * right cannot reach it through causal attention, and the shift keeps token j itself out. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

/* Stateless: only checks that the model is an AR model. */
static int ar_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)fp, (void)task;
    if (!cfg->model.causal || !cfg->model.shift_logits)
        return err_set(err, "process 'ar' needs model.causal=true and model.shift_logits=true "
                            "(next-token prediction)");
    return 0;
}

static void ar_require(Config *cfg) {
    cfg->model.causal = 1;
    cfg->model.shift_logits = 1;
}

/* Weight 1/(predicted * B) on the answer positions a shifted model predicts (all but 0). */
static void set_next_token_weights(ForwardBatch *batch, int b, const unsigned char *is_prompt) {
    int T = batch->T, predicted = 0;
    float *w = batch->weights + (size_t)b * T;
    for (int t = 1; t < T; t++) predicted += !is_prompt[t];
    float wp = predicted ? 1.0f / ((float)predicted * (float)batch->B) : 0.0f;
    w[0] = 0.0f;
    for (int t = 1; t < T; t++) w[t] = is_prompt[t] ? 0.0f : wp;
}

static void ar_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    int T = batch->T;
    Rng rng = forward_step_rng(fp, "ar", step);
    for (int b = 0; b < batch->B; b++) {
        int *tgt = batch->targets + (size_t)b * T;
        forward_draw_example(fp, &rng, tgt, fp->is_prompt);
        memcpy(batch->tokens + (size_t)b * T, tgt, (size_t)T * sizeof(int));
        set_next_token_weights(batch, b, fp->is_prompt);
    }
}

const ForwardOps forward_ar_ops = {
    .name = "ar",
    .description = "AR initialisation: next-token loss over the answer (causal, shifted model)",
    .create = ar_create,
    .require = ar_require,
    .make_batch = ar_make_batch,
};
