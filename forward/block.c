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
#include "puma.h"

#include <stdlib.h>
#include <string.h>

typedef struct BlockDiffusion {
    Schedule sizes; /* block.size_schedule */
    long size;      /* block.size: the size before the schedule's first entry */
} BlockDiffusion;

/* The process's keys. */
typedef struct BlockParams {
    int size;               /* block size S (0 = the whole answer: plain MDM) */
    Schedule size_schedule; /* [[S, step], ...] block-size curriculum */
    char inner[CFG_STR];    /* noise inside the current block: random | puma */
} BlockParams;

static const ConfigKey block_keys[] = {
    CFG_INT(BlockParams, "block.size", size, "0", 0, 1048576,
            "block diffusion: block size S (0 = whole answer, plain MDM)"),
    CFG_SCHEDULE(BlockParams, "block.size_schedule", size_schedule, 1, 1048576,
                 "block diffusion: [[S, step], ...] block-size curriculum"),
    CFG_CHOICE(BlockParams, "block.inner", inner, "random", "random|puma",
               "noise inside the current block: random | puma"),
};

static const ConfigSection block_config_section =
    CFG_SECTION("block", block_keys, BlockParams, NULL);

static int block_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    const BlockParams *params = config_params_of(cfg, &block_config_section);
    if (strcmp(params->inner, "puma") == 0) { /* the PUMA chain, one block at a time */
        fp->ops = forward_find("puma");
        return puma_create_in_blocks(fp, cfg, task, &params->size_schedule, params->size, err);
    }
    BlockDiffusion *bd = calloc(1, sizeof(*bd));
    if (!bd) return err_set(err, "process 'block': out of memory");
    bd->sizes = params->size_schedule;
    bd->size = params->size;
    fp->impl = bd;
    return 0;
}

static void block_destroy(ForwardProcess *fp) {
    free(fp->impl);
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
        forward_draw_example(fp, &rng, tgt, fp->is_prompt);
        memcpy(tok, tgt, (size_t)T * sizeof(int));
        int n = forward_answer_positions(fp->is_prompt, T, fp->positions);
        const int *masked = fp->positions;
        int m = n > 0 ? noise_answer(&rng, tok, fp->positions, n, block_size_at(bd, step, n),
                                     fp->task->mask_id, &masked)
                      : 0;
        set_block_weights(batch, b, masked, m);
    }
}

/* Evaluation decodes block by block with the block size the curriculum trains at `step`. */
static int block_decode_size(const Config *cfg, long step) {
    const BlockParams *params = config_params_of(cfg, &block_config_section);
    return (int)schedule_value_at(&params->size_schedule, step, params->size);
}

const ForwardOps forward_block_ops = {
    .name = "block",
    .description = "block diffusion: clean prefix blocks, random noise in one block of size S "
                   "(block.size_schedule curriculum), later blocks hidden",
    .config = &block_config_section,
    .create = block_create,
    .destroy = block_destroy,
    .make_batch = block_make_batch,
    .decode_block_size = block_decode_size,
};
