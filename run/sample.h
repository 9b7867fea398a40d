/* Inference by iterative unmasking. The sampler sees the model only through a logits
 * callback, so it is testable with fake logits and reusable by every task. */
#ifndef MDMLAB_SAMPLE_H
#define MDMLAB_SAMPLE_H

#include "base/util.h"
#include "tasks/lib/subtoken.h"

typedef enum {
    POLICY_TOPK = 0, /* score = max_v p(v)                         */
    POLICY_MARGIN,   /* score = p(1st) - p(2nd)                    */
    POLICY_ENTROPY,  /* score = -entropy (lowest entropy first)    */
    POLICY_RANDOM,   /* uniform random order                       */
    POLICY_L2R,      /* leftmost first (autoregressive baselines)  */
    POLICY_COUNT
} UnmaskPolicy;

/* Fill logits[B*T*V] (host memory) for tokens[B*T]. Returns 0, or -1 with err set. */
typedef int (*LogitsFn)(void *ctx, const int *tokens, int B, float *logits, Err *err);

typedef struct SampleOptions {
    UnmaskPolicy policy;
    int tokens_per_step; /* k positions unmasked per step (>= 1) */
    double threshold;    /* > 0: unmask every position whose max prob > threshold; if none
                            qualifies, fall back to the single best position */
    double temperature;  /* 0: argmax token; > 0: Gumbel-max sample at this temperature */
    int block_size;      /* > 0: decode block by block, see sample_decode; 0: no blocks */
    int ancestral_steps; /* > 0: MDLM's ancestral sampler with T = this many steps (policy,
                            k, threshold and blocks unused), see sample_decode */
    /* Model scheduling: "L4,H8,L4" names the model of each step, segments in order from the
     * first step (t = 1); L calls light_fn, H the heavy model (fn). NULL or "" = every step
     * heavy. The segments sum to the schedule's length: ancestral_steps for the ancestral
     * sampler; schedule_steps for the policy decoder, where a sequence that has revealed r of
     * the M positions it began with is at schedule step floor(r * schedule_steps / M). */
    const char *schedule;
    int schedule_steps;
    LogitsFn light_fn;
    void *light_ctx;
    /* MDM-Prime (ancestral only): the units are sub-tokens of this sub-tokenizer (the model's),
     * tokens hold their states (subtoken.h); NULL: the units are tokens. */
    const SubTokenizer *sub;
    /* Optional: told after each batch of an evaluation (run/eval.c) how many of its total
     * examples are decoded, so a command can show progress; the sampler never calls it. */
    void (*on_batch)(void *ctx, long done, long total);
    void *on_batch_ctx;
} SampleOptions;

/* What a decoding cost, for one batch. */
typedef struct SampleStats {
    int model_calls;        /* forward passes on the batch */
    int light_calls;        /* of which by the light model (opt->schedule) */
    double nfe;             /* per sequence, mean over the batch: the passes a decoder of that
                               sequence alone makes (none while it is unchanged since the last) */
    double light_nfe;       /* of nfe, the passes by the light model */
    double idle_step_ratio; /* ancestral: steps that reveal nothing in a sequence / T, mean
                               over the batch; 0 for the policy decoder, whose steps all reveal */
} SampleStats;

/* Decodes every position of tokens[B*T] that holds mask_id, in place; logits_buf holds
 * B*T*V floats. Two samplers:
 * - the policy decoder (opt->ancestral_steps = 0): each step calls fn once on the whole batch;
 *   per sequence it picks positions by policy among its still-masked ones and writes the
 *   chosen token (mask_id itself is never chosen). With opt->block_size > 0 the positions
 *   masked on entry are split, in order, into blocks of block_size (prompt positions are
 *   skipped, like the training split of the answer), and only the first block that still has
 *   masked positions is eligible: blocks are decoded left to right, each by the policy;
 * - with opt->ancestral_steps = T > 0, MDLM's ancestral sampler under the linear schedule
 * alpha_t = 1 - t: at the step from t = i/T to s = (i-1)/T every masked position is revealed
 * with probability (alpha_s - alpha_t) / (1 - alpha_t) = 1/i, its token drawn from the model
 * (argmax at temperature 0, else Gumbel-max at opt->temperature), so the last step reveals
 * the rest. The model is called only when some sequence changed since its last call. With
 * opt->sub (MDM-Prime) the units are sub-tokens: each masked digit is revealed with that
 * probability, and a position that reveals any takes them from one token drawn from its
 * logits (which the model restricted to the tokens consistent with its known digits), so the
 * digits always spell a token. An idle step is one that reveals no unit. stats may be NULL. */
int sample_decode(const SampleOptions *opt, LogitsFn fn, void *ctx, int *tokens, int B, int T,
                  int V, int mask_id, Rng *rng, float *logits_buf, SampleStats *stats, Err *err);
/* Parses a schedule ("L4,H8,L4": segments of L or H and a step count) for `steps` steps into
 * light[steps] (1 = light), first step first; errors name the key eval.schedule. */
int sample_parse_schedule(const char *spec, int steps, unsigned char *light, Err *err);

const char *policy_name(UnmaskPolicy p);
int policy_from_name(const char *name, UnmaskPolicy *out); /* 0 ok, -1 unknown */

#endif
