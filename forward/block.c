/* Block diffusion with a block-size curriculum. The answer (non-prompt positions, in order)
 * is split into consecutive blocks of S positions (the last may be shorter); S follows the
 * schedule block.size_schedule (fallback block.size), and S = 0 or S >= L_eff is one block,
 * i.e. plain MDM. Per sequence: draw a block n uniformly, keep blocks < n clean (the prefix),
 * mask a uniformly random m ~ U{1..|block n|} subset of block n, and train only on those.
 *
 * Blocks after n are set to MASK with loss weight 0 rather than dropped from the sequence:
 * the model is bidirectional with no block-causal attention mask, so it always sees the
 * full length, and at inference blocks are decoded left to right, so while block n is being
 * decoded every later block is still MASK. Training on exactly that view keeps the input
 * distribution the same as at decoding time. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

typedef struct BlockDiffusion {
    Schedule sizes;  /* block.size_schedule */
    long size;       /* block.size: the size before the schedule's first entry */
    int *answer_pos; /* scratch: non-prompt positions of one sequence */
    unsigned char *is_prompt;
} BlockDiffusion;

static int check_inner(const char *inner, Err *err) {
    if (strcmp(inner, "random") == 0 || strcmp(inner, "puma") == 0) return 0;
    return err_set(err,
                   "key 'block.inner': unknown noise '%s' inside blocks (available: random, puma)",
                   inner);
}

static void block_free(BlockDiffusion *bd) {
    if (!bd) return;
    free(bd->answer_pos);
    free(bd->is_prompt);
    free(bd);
}

static int block_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    if (check_inner(cfg->block.inner, err) != 0) return -1;
    if (strcmp(cfg->block.inner, "puma") == 0) { /* the PUMA chain, one block at a time */
        fp->ops = forward_find("puma");
        return fp->ops->create(fp, cfg, task, err);
    }
    BlockDiffusion *bd = calloc(1, sizeof(*bd));
    if (bd) {
        bd->sizes = cfg->block.size_schedule;
        bd->size = cfg->block.size;
        bd->answer_pos = malloc((size_t)task->seq_len * sizeof(int));
        bd->is_prompt = malloc((size_t)task->seq_len);
    }
    if (!bd || !bd->answer_pos || !bd->is_prompt) {
        block_free(bd);
        return err_set(err, "process 'block': out of memory");
    }
    fp->impl = bd;
    return 0;
}

static void block_destroy(ForwardProcess *fp) {
    block_free(fp->impl);
}

/* The block size in force at `step` for an answer of n positions (one block when S is 0 or
 * covers the whole answer). */
static int block_size_at(const BlockDiffusion *bd, long step, int n) {
    long s = schedule_value_at(&bd->sizes, step, bd->size);
    return s <= 0 || s >= n ? n : (int)s;
}

/* Weights of sequence b: 1/(m * B) on positions[0..m), 0 elsewhere. The shared helper
 * weights every MASK token, but here the hidden later blocks are MASK too and carry none. */
static void set_block_weights(ForwardBatch *batch, int b, const int *positions, int m) {
    float *w = batch->weights + (size_t)b * batch->T;
    memset(w, 0, (size_t)batch->T * sizeof(float));
    for (int i = 0; i < m; i++) w[positions[i]] = 1.0f / ((float)m * (float)batch->B);
}

static void hide_positions(int *tokens, const int *positions, int n, int mask_id) {
    for (int i = 0; i < n; i++) tokens[positions[i]] = mask_id;
}

/* Noises the answer of one sequence (n >= 1 positions, block size S) in place; returns how
 * many positions of the current block were masked, and in *masked where they are listed. */
static int noise_answer(Rng *rng, int *tokens, int *answer_pos, int n, int S, int mask_id,
                        const int **masked) {
    int n_blocks = (n + S - 1) / S;
    int start = S * (int)rng_below(rng, (uint64_t)n_blocks);
    int len = n - start < S ? n - start : S;
    int *block = answer_pos + start;
    int m = 1 + (int)rng_below(rng, (uint64_t)len);
    forward_mask_random_subset(rng, tokens, block, len, m, mask_id);
    hide_positions(tokens, block + len, n - start - len, mask_id);
    *masked = block;
    return m;
}

static void block_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    BlockDiffusion *bd = fp->impl;
    int T = batch->T;
    Rng rng = forward_step_rng(fp, "bl", step);
    for (int b = 0; b < batch->B; b++) {
        int *tgt = batch->targets + (size_t)b * T, *tok = batch->tokens + (size_t)b * T;
        forward_draw_example(fp, &rng, tgt, bd->is_prompt);
        memcpy(tok, tgt, (size_t)T * sizeof(int));
        int n = forward_answer_positions(bd->is_prompt, T, bd->answer_pos);
        const int *masked = bd->answer_pos;
        int m = n > 0 ? noise_answer(&rng, tok, bd->answer_pos, n, block_size_at(bd, step, n),
                                     fp->task->mask_id, &masked)
                      : 0;
        set_block_weights(batch, b, masked, m);
    }
}

/* Evaluation decodes block by block with the block size the curriculum trains at `step`. */
static int block_decode_size(const Config *cfg, long step) {
    return (int)schedule_value_at(&cfg->block.size_schedule, step, cfg->block.size);
}

const ForwardOps forward_block_ops = {
    .name = "block",
    .description = "block diffusion: clean prefix blocks, random noise in one block of size S "
                   "(block.size_schedule curriculum), later blocks hidden",
    .create = block_create,
    .destroy = block_destroy,
    .make_batch = block_make_batch,
    .decode_block_size = block_decode_size,
};
