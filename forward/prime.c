/* MDM-Prime's partial masking (Chao et al., "Beyond Masked and Unmasked: Discrete Diffusion
 * Models via Partial Masking"): every answer token is ell sub-tokens (tasks/lib/subtoken.h)
 * and the noise masks sub-tokens, so a token can be partially masked. The model
 * (model.h, sub_tokens) embeds each position's digits and predicts the token, its softmax
 * restricted to the tokens consistent with the known digits (the reference's joint model with
 * the carry-over filter).
 *
 * Loss. The reference (text/diffusion.py) trains on the continuous-time bound: t ~ U(0, 1),
 * each sub-token masked with probability t (alpha_t = 1 - t), loss (1/t) sum over tokens of
 * -log p(x_i | y_t) with the filtered distribution, which is exactly 0 for a token with no
 * masked digit. This process draws the same bound in the count form random masking uses: of
 * the N = ell * L_eff answer sub-tokens, m ~ U{1..N} are masked (a uniform m-subset), and the
 * per-sequence loss is (ell / m) sum over tokens with a masked digit of -log p(x_i | y), i.e.
 * (1/L_eff) (N/m) sum. For any function g of the masked set,
 *   E_t[(1/t) g(S_t)] = sum_S g(S) B(|S|, N - |S| + 1) = N E_{m ~ U{1..N}} E_{|S| = m}[g(S) / m]
 * (the Beta integral of t^(m-1) (1-t)^(N-m)), so both are unbiased for the same NELBO per
 * token; the count form is what plain MDM trains here, and with ell = 1 this process draws the
 * very batches (same RNG stream, same calls) and weights of random masking. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/lib/subtoken.h"

typedef struct PrimeParams {
    int ell;      /* sub-tokens per token */
    long permute; /* seed of the code permutation, 0: none */
} PrimeParams;

static const ConfigKey prime_keys[] = {
    CFG_INT(PrimeParams, "prime.ell", ell, "2", 1, SUBTOKEN_MAX_ELL,
            "MDM-Prime: sub-tokens per token (1 = plain MDM)"),
    CFG_LONG(PrimeParams, "prime.permute", permute, "0", 0, 2147483647L,
             "MDM-Prime: seed of a fixed random permutation of the codes (0 = none)"),
};

static const ConfigSection prime_config_section =
    CFG_SECTION("prime", prime_keys, PrimeParams, NULL);

typedef struct Prime {
    SubTokenizer sub;
    int *units;       /* (T * ell) the answer's sub-tokens as position * ell + digit */
    unsigned *hidden; /* (T) per position, the masked digits as bits */
} Prime;

static void prime_destroy(ForwardProcess *fp) {
    Prime *p = fp->impl;
    if (!p) return;
    subtok_free(&p->sub);
    free(p->units);
    free(p->hidden);
    free(p);
    fp->impl = NULL;
}

static int prime_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    /* a tied head with ell > 1 is refused by model_create (sweeps: by `require`) */
    const PrimeParams *params = config_params_of(cfg, &prime_config_section);
    Prime *p = calloc(1, sizeof *p);
    if (!p) return err_set(err, "process 'prime': out of memory");
    fp->impl = p;
    if (subtok_init(&p->sub, task->vocab_size, task->mask_id, params->ell,
                    (uint64_t)params->permute, err) != 0)
        return -1;
    p->units = malloc((size_t)task->seq_len * params->ell * sizeof(int));
    p->hidden = malloc((size_t)task->seq_len * sizeof(unsigned));
    if (!p->units || !p->hidden) return err_set(err, "process 'prime': out of memory");
    return 0;
}

static int prime_sub_tokens(const Config *cfg, uint64_t *permute) {
    const PrimeParams *params = config_params_of(cfg, &prime_config_section);
    *permute = (uint64_t)params->permute;
    return params->ell;
}

static void prime_require(Config *cfg) {
    const PrimeParams *params = config_params_of(cfg, &prime_config_section);
    if (params->ell > 1) cfg->model.tied_head = 0;
}

/* Per sequence: a random training example, m ~ U{1..N} of its N answer sub-tokens masked,
 * weight ell / (m * B) on every position with a masked digit (see the top of the file). The
 * stream and the calls are random masking's, so ell = 1 gives its batches. */
static void prime_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    Prime *p = fp->impl;
    const int T = batch->T, ell = p->sub.ell;
    Rng rng = forward_step_rng(fp, "ra", step);
    for (int b = 0; b < batch->B; b++) {
        int *tgt = batch->targets + (size_t)b * T, *tok = batch->tokens + (size_t)b * T;
        float *w = batch->weights + (size_t)b * T;
        forward_draw_example(fp, &rng, tgt, fp->is_prompt);
        int n = forward_answer_positions(fp->is_prompt, T, fp->positions), units = n * ell, m = 0;
        memset(p->hidden, 0, (size_t)T * sizeof(unsigned));
        if (n > 0) {
            for (int k = 0; k < units; k++) p->units[k] = fp->positions[k / ell] * ell + k % ell;
            m = 1 + (int)rng_below(&rng, (uint64_t)units);
            forward_choose_random_subset(&rng, p->units, units, m);
            for (int i = 0; i < m; i++) p->hidden[p->units[i] / ell] |= 1u << (p->units[i] % ell);
        }
        float wm = m ? (float)ell / ((float)m * (float)batch->B) : 0.0f;
        for (int t = 0; t < T; t++) {
            tok[t] = p->hidden[t] ? subtok_state(&p->sub, tgt[t], p->hidden[t]) : tgt[t];
            w[t] = p->hidden[t] ? wm : 0.0f;
        }
    }
}

const ForwardOps forward_prime_ops = {
    .name = "prime",
    .description =
        "MDM-Prime: mask m ~ U{1..ell L_eff} of the answer's sub-tokens (partial masking)",
    .config = &prime_config_section,
    .create = prime_create,
    .destroy = prime_destroy,
    .make_batch = prime_make_batch,
    .require = prime_require,
    .sub_tokens = prime_sub_tokens,
};
