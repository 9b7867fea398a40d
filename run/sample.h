/* Inference by iterative unmasking. The sampler sees the model only through a logits
 * callback, so it is testable with fake logits and reusable by every task. */
#ifndef MDMLAB_SAMPLE_H
#define MDMLAB_SAMPLE_H

#include "base/util.h"

typedef enum {
    POLICY_TOPK = 0, /* score = max_v p(v)                         */
    POLICY_MARGIN,   /* score = p(1st) - p(2nd)                    */
    POLICY_ENTROPY,  /* score = -entropy (lowest entropy first)    */
    POLICY_RANDOM,   /* uniform random order                       */
    POLICY_L2R,      /* leftmost first (autoregressive baselines)  */
    POLICY_COUNT
} UnmaskPolicy;

typedef struct SampleOptions {
    UnmaskPolicy policy;
    int tokens_per_step; /* k positions unmasked per step (>= 1) */
    double threshold;    /* > 0: unmask every position whose max prob > threshold; if none
                            qualifies, fall back to the single best position */
    double temperature;  /* 0: argmax token; > 0: Gumbel-max sample at this temperature */
    int block_size;      /* > 0: decode block by block, see sample_unmask; 0: no blocks */
} SampleOptions;

/* Fill logits[B*T*V] (host memory) for tokens[B*T]. Returns 0, or -1 with err set. */
typedef int (*LogitsFn)(void *ctx, const int *tokens, int B, float *logits, Err *err);

/* Unmask every position of tokens[B*T] that holds mask_id, in place. Each step calls fn once
 * on the whole batch; per sequence it picks positions by policy among its still-masked ones
 * and writes the chosen token (mask_id itself is never chosen). Returns the number of model
 * calls in *steps (may be NULL). logits_buf holds B*T*V floats.
 * With opt->block_size > 0 the positions masked on entry are split, in order, into blocks of
 * block_size (prompt positions are skipped, like the training split of the answer), and only
 * the first block that still has masked positions is eligible: blocks are decoded left to
 * right, each by the policy. */
int sample_unmask(const SampleOptions *opt, LogitsFn fn, void *ctx, int *tokens, int B, int T,
                  int V, int mask_id, Rng *rng, float *logits_buf, int *steps, Err *err);

const char *policy_name(UnmaskPolicy p);
int policy_from_name(const char *name, UnmaskPolicy *out); /* 0 ok, -1 unknown */

#endif
