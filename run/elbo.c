/* Validation ELBO / AR NLL per token, and generative perplexity (see elbo.h). */
#include "elbo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "eval.h"

/* RNG stream of window w's mask at time point j: j < 4096 (the eval.elbo_points bound),
 * w < 2^36, tagged so it shares no stream with other users of the same seed. */
static uint64_t mask_stream(long w, int j) {
    return (0x454cULL << 48) | ((uint64_t)w << 12) | (uint64_t)j;
}

/* Host arrays for one batch of windows. */
typedef struct Batch {
    int *tokens, *targets;
    float *weights;
    unsigned char *is_prompt;
} Batch;

static void batch_free(Batch *b) {
    free(b->tokens);
    free(b->targets);
    free(b->weights);
    free(b->is_prompt);
    memset(b, 0, sizeof *b);
}

static int batch_alloc(Batch *b, int B, int T, Err *err) {
    size_t n = (size_t)B * T;
    b->tokens = malloc(n * sizeof(int));
    b->targets = malloc(n * sizeof(int));
    b->weights = malloc(n * sizeof(float));
    b->is_prompt = calloc(n, 1);
    if (!b->tokens || !b->targets || !b->weights || !b->is_prompt) {
        batch_free(b);
        return err_set(err, "elbo: out of memory for a batch of %d x %d", B, T);
    }
    return 0;
}

/* Summed cross-entropy of targets at the weight-1 positions, given model input tokens. */
static double forward_nll(Model *m, const Batch *b, int B) {
    model_forward(m, b->tokens, B);
    return model_loss(m, b->targets, b->weights, 0);
}

/* A position an AR model predicts: not prompt, not position 0 (no context). */
static int ar_scores(const unsigned char *is_prompt, int t) {
    return t > 0 && !is_prompt[t];
}

/* The exact NLL of B sequences in b->targets under an AR model. */
static double ar_batch_nll(Model *m, Batch *b, int B, int T) {
    for (int i = 0; i < B; i++)
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            b->tokens[k] = b->targets[k];
            b->weights[k] = ar_scores(b->is_prompt + (size_t)i * T, t) ? 1.0f : 0.0f;
        }
    return forward_nll(m, b, B);
}

/* Adds the scored positions of a batch to *scored and, when the task says what its tokens
 * decode to (task may be NULL), their bytes to *bytes. */
static void count_scored(const Task *task, const Batch *b, int B, int T, int ar, long *scored,
                         long *bytes) {
    for (int i = 0; i < B; i++)
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            if (ar ? !ar_scores(b->is_prompt + (size_t)i * T, t) : b->is_prompt[k]) continue;
            (*scored)++;
            if (task && task->ops->token_bytes)
                *bytes += task->ops->token_bytes(task, b->targets[k]);
        }
}

/* Masks windows first .. first+B-1 (clean tokens in b->targets) at time t_j: each unit of a
 * non-prompt position (the token, or with a sub-token model each of its digits) hidden with
 * probability t from the stream (seed, window, j), weight 1 on positions with a hidden unit.
 * Returns the number of such positions. */
static long mask_batch_at(const Model *m, int mask_id, Batch *b, long first, int B, int T, int j,
                          double t, uint64_t seed) {
    const SubTokenizer *sub = model_sub_tokenizer(m);
    int ell = sub ? sub->ell : 1;
    long masked = 0;
    for (int i = 0; i < B; i++) {
        Rng r;
        rng_seed(&r, seed, mask_stream(first + i, j));
        for (int p = 0; p < T; p++) {
            size_t k = (size_t)i * T + p;
            unsigned hidden = 0;
            for (int d = 0; d < ell; d++)
                if (rng_uniform(&r) < t && !b->is_prompt[k]) hidden |= 1u << d;
            b->tokens[k] = !hidden ? b->targets[k]
                           : sub   ? subtok_state(sub, b->targets[k], hidden)
                                   : mask_id;
            b->weights[k] = hidden ? 1.0f : 0.0f;
            masked += hidden != 0;
        }
    }
    return masked;
}

/* The midpoint-rule NELBO of windows first .. first+B-1 (clean tokens in b->targets):
 * sum over j of (1/J) (1/t_j) * [CE summed over the positions masked at t_j]. */
static double masked_batch_bound(Model *m, int mask_id, Batch *b, long first, int B, int T,
                                 const ElboOptions *opt) {
    const int J = opt->points;
    double total = 0.0;
    for (int j = 0; j < J; j++) {
        double t = (j + 0.5) / J;
        long masked = mask_batch_at(m, mask_id, b, first, B, T, j, t, opt->seed);
        if (masked) total += forward_nll(m, b, B) / (t * J);
    }
    return total;
}

static int check_model(const Model *m, const Task *task, const char *what, Err *err) {
    if (m->cfg.causal && !m->cfg.shift_logits)
        return err_set(err,
                       "%s: a causal model without model.shift_logits sees the token it "
                       "predicts; it cannot be scored",
                       what);
    if (m->cfg.seq_len != task->seq_len || m->cfg.vocab != task->vocab_size)
        return err_set(err, "%s: model has seq_len %d, vocab %d; the task %d, %d", what,
                       m->cfg.seq_len, m->cfg.vocab, task->seq_len, task->vocab_size);
    return 0;
}

int eval_elbo(Model *m, const Task *task, const ElboOptions *opt, ElboResult *out, Err *err) {
    if (check_model(m, task, "elbo", err) != 0) return -1;
    const int ar = m->cfg.causal, T = task->seq_len;
    if (!ar && opt->points < 1)
        return err_set(err, "elbo: eval.elbo_points must be >= 1, got %d", opt->points);
    long n = opt->count > 0 && opt->count < task->n_eval ? opt->count : task->n_eval;
    if (n <= 0) return err_set(err, "elbo: the eval split has no windows");
    int Bmax = opt->batch < m->max_batch ? opt->batch : m->max_batch;
    if (Bmax < 1) Bmax = 1;
    if (n < Bmax) Bmax = (int)n;
    Batch b;
    if (batch_alloc(&b, Bmax, T, err) != 0) return -1;
    double t0 = now_seconds(), total = 0.0;
    long scored = 0, bytes = 0;
    for (long start = 0; start < n; start += Bmax) {
        int B = (int)(n - start < Bmax ? n - start : Bmax);
        for (int i = 0; i < B; i++)
            task->ops->example(task, SPLIT_EVAL, start + i, b.targets + (size_t)i * T,
                               b.is_prompt + (size_t)i * T);
        total += ar ? ar_batch_nll(m, &b, B, T)
                    : masked_batch_bound(m, task->mask_id, &b, start, B, T, opt);
        count_scored(task, &b, B, T, ar, &scored, &bytes);
    }
    batch_free(&b);
    if (scored == 0) return err_set(err, "elbo: the eval windows have no scored positions");
    out->nelbo = total / (double)scored;
    out->ppl_bound = exp(out->nelbo);
    out->bits_per_byte = bytes > 0 ? total / (log(2.0) * (double)bytes) : NAN;
    out->tokens = scored;
    out->bytes = bytes;
    out->windows = n;
    out->autoregressive = ar;
    out->seconds = now_seconds() - t0;
    return 0;
}

int elbo_ar_nll(Model *ar, const int *tokens, long n, double *nll, long *scored, Err *err) {
    if (!ar->cfg.causal || !ar->cfg.shift_logits)
        return err_set(err, "AR scoring needs a causal model with shifted outputs "
                            "(model.causal=true, model.shift_logits=true)");
    const int T = ar->cfg.seq_len;
    int Bmax = (int)(n < ar->max_batch ? n : ar->max_batch);
    *nll = 0.0;
    *scored = 0;
    if (n <= 0) return 0;
    Batch b;
    if (batch_alloc(&b, Bmax, T, err) != 0) return -1;
    for (long start = 0; start < n; start += Bmax) {
        int B = (int)(n - start < Bmax ? n - start : Bmax);
        memcpy(b.targets, tokens + (size_t)start * T, (size_t)B * T * sizeof(int));
        *nll += ar_batch_nll(ar, &b, B, T);
        long ignored = 0;
        count_scored(NULL, &b, B, T, 1, scored, &ignored);
    }
    batch_free(&b);
    return 0;
}

int elbo_load_ar_model(Model *ar, Backend *be, const char *ckpt_path, const Task *task,
                       int max_batch, Err *err) {
    if (eval_load_model(ar, be, ckpt_path, task, max_batch, err) != 0) return -1;
    if (ar->cfg.causal && ar->cfg.shift_logits) return 0;
    model_free(ar);
    return err_set(err,
                   "%s: not an autoregressive model (it needs model.causal=true and "
                   "model.shift_logits=true: train one with process: ar)",
                   ckpt_path);
}

/* The entropy (nats) of the token frequencies of one sequence: low for repetitive samples, the
 * failure a low generative perplexity can hide. */
static double sequence_entropy(const int *tokens, int T, int V, int *counts) {
    memset(counts, 0, (size_t)V * sizeof *counts);
    for (int t = 0; t < T; t++)
        if (tokens[t] >= 0 && tokens[t] < V) counts[tokens[t]]++;
    double h = 0.0;
    for (int v = 0; v < V; v++)
        if (counts[v]) h -= (double)counts[v] / T * log((double)counts[v] / T);
    return h;
}

/* Scores each sample alone (for the interval over samples) into out's nll, interval and
 * entropy. */
static int score_samples(Model *ar, const Task *task, const int *samples, int n, GenPplResult *out,
                         Err *err) {
    const int T = task->seq_len, V = task->vocab_size;
    int *counts = malloc((size_t)V * sizeof *counts);
    if (!counts) return err_set(err, "generative perplexity: out of memory");
    double total = 0.0, sum = 0.0, sum_sq = 0.0, entropy = 0.0;
    long scored = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        double nll;
        long k;
        rc = elbo_ar_nll(ar, samples + (size_t)i * T, 1, &nll, &k, err);
        if (rc == 0 && k == 0) rc = err_set(err, "generative perplexity: no token to score");
        if (rc) break;
        total += nll;
        scored += k;
        sum += nll / k;
        sum_sq += (nll / k) * (nll / k);
        entropy += sequence_entropy(samples + (size_t)i * T, T, V, counts);
    }
    free(counts);
    if (rc) return -1;
    double mean = sum / n, var = n > 1 ? (sum_sq - n * mean * mean) / (n - 1) : 0.0;
    double half = 1.959964 * sqrt(var > 0 ? var / n : 0.0);
    out->nll = total / (double)scored;
    out->gen_ppl = exp(out->nll);
    out->gen_ppl_lo = exp(mean - half);
    out->gen_ppl_hi = exp(mean + half);
    out->entropy = entropy / n;
    out->tokens = scored;
    return 0;
}

int eval_gen_perplexity(Model *m, Model *light, Model *ar, const Task *task,
                        const SampleOptions *opt, int n_samples, uint64_t seed, GenPplResult *out,
                        Err *err) {
    if (n_samples < 1)
        return err_set(err, "generative perplexity: eval.samples must be at least 1");
    if (check_model(ar, task, "generative perplexity: AR model", err) != 0) return -1;
    const int T = task->seq_len;
    int *samples = malloc((size_t)n_samples * T * sizeof(int));
    if (!samples) return err_set(err, "generative perplexity: out of memory");
    double t0 = now_seconds();
    int rc = eval_generate(m, light, task, opt, n_samples, seed, samples, &out->cost, err);
    if (rc == 0) rc = score_samples(ar, task, samples, n_samples, out, err);
    free(samples);
    if (rc != 0) return -1;
    out->samples = n_samples;
    out->seconds = now_seconds() - t0;
    return 0;
}

/* log-softmax of one row of V logits into out. */
static void log_softmax_row(const float *logits, int V, double *out) {
    double mx = logits[0], sum = 0.0;
    for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    for (int v = 0; v < V; v++) sum += exp(logits[v] - mx);
    double lse = mx + log(sum);
    for (int v = 0; v < V; v++) out[v] = logits[v] - lse;
}

/* Adds one batch's masked positions to row: -log p of the clean token under each model and
 * KL(heavy || light) of their predictive distributions. */
static void add_step_terms(const Batch *b, const float *lh, const float *ll, int B, int T, int V,
                           double *lph, double *lpl, StepImportanceRow *row) {
    for (size_t k = 0; k < (size_t)B * T; k++) {
        if (b->weights[k] == 0.0f) continue;
        log_softmax_row(lh + k * V, V, lph);
        log_softmax_row(ll + k * V, V, lpl);
        double kl = 0.0;
        for (int v = 0; v < V; v++) /* a token a sub-token filter ruled out has p = 0 */
            if (isfinite(lph[v])) kl += exp(lph[v]) * (lph[v] - lpl[v]);
        row->loss_heavy -= lph[b->targets[k]];
        row->loss_light -= lpl[b->targets[k]];
        row->kl += kl;
        row->masked++;
    }
}

int eval_step_importance(Model *heavy, Model *light, const Task *task, const ElboOptions *opt,
                         StepImportanceRow *rows, Err *err) {
    if (check_model(heavy, task, "step importance: heavy model", err) ||
        check_model(light, task, "step importance: light model", err))
        return -1;
    if (!subtok_same(model_sub_tokenizer(heavy), model_sub_tokenizer(light)))
        return err_set(err, "step importance: the heavy and the light model read tokens as "
                            "different sub-tokens (MDM-Prime's prime.ell, prime.permute)");
    const int T = task->seq_len, V = task->vocab_size, J = opt->points;
    if (J < 1) return err_set(err, "step importance: --points must be >= 1, got %d", J);
    long n = opt->count > 0 && opt->count < task->n_eval ? opt->count : task->n_eval;
    if (n <= 0) return err_set(err, "step importance: the eval split is empty");
    int Bmax = opt->batch < heavy->max_batch ? opt->batch : heavy->max_batch;
    Bmax = Bmax < light->max_batch ? Bmax : light->max_batch;
    if (n < Bmax) Bmax = (int)n;
    if (Bmax < 1) Bmax = 1;
    Batch b;
    if (batch_alloc(&b, Bmax, T, err) != 0) return -1;
    float *lh = malloc((size_t)Bmax * T * V * sizeof(float));
    float *ll = malloc((size_t)Bmax * T * V * sizeof(float));
    double *lph = malloc((size_t)V * sizeof(double)), *lpl = malloc((size_t)V * sizeof(double));
    int rc = lh && ll && lph && lpl ? 0 : err_set(err, "step importance: out of memory");
    for (int j = 0; j < J; j++) {
        memset(&rows[j], 0, sizeof rows[j]);
        rows[j].t = (j + 0.5) / J;
    }
    /* each batch of windows once, masked at every time point */
    for (long start = 0; start < n && rc == 0; start += Bmax) {
        int B = (int)(n - start < Bmax ? n - start : Bmax);
        for (int i = 0; i < B; i++)
            task->ops->example(task, SPLIT_EVAL, start + i, b.targets + (size_t)i * T,
                               b.is_prompt + (size_t)i * T);
        for (int j = 0; j < J && rc == 0; j++) {
            if (mask_batch_at(heavy, task->mask_id, &b, start, B, T, j, rows[j].t, opt->seed) == 0)
                continue;
            model_forward(heavy, b.tokens, B);
            model_logits_to_host(heavy, lh);
            model_forward(light, b.tokens, B);
            model_logits_to_host(light, ll);
            heavy->be->ops->sync(heavy->be);
            rc = backend_check(heavy->be, err);
            if (rc == 0) add_step_terms(&b, lh, ll, B, T, V, lph, lpl, &rows[j]);
        }
    }
    for (int j = 0; j < J; j++) {
        StepImportanceRow *row = &rows[j];
        if (!row->masked) continue;
        row->loss_heavy /= (double)row->masked;
        row->loss_light /= (double)row->masked;
        row->kl /= (double)row->masked;
    }
    free(lh);
    free(ll);
    free(lph);
    free(lpl);
    batch_free(&b);
    return rc;
}
