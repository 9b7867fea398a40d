#include "eval.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "forward/config_schema.h"
#include "forward/forward.h"
#include "model/model_io.h"
#include "run/session.h"

static int model_logits(void *ctx, const int *tokens, int B, float *logits, Err *err) {
    Model *m = ctx;
    model_forward(m, tokens, B);
    model_logits_to_host(m, logits);
    m->be->ops->sync(m->be);
    return backend_check(m->be, err);
}

/* Forward FLOPs of one model pass over one sequence: a third of a training step's (bench's
 * accounting: the backward pass costs twice the forward). */
static double sequence_flops(const Model *m) {
    return model_step_flops(&m->cfg, 1) / 3.0;
}

/* A light model must decode the heavy model's states: the same length, vocabulary and
 * sub-tokens, and room for its batches. */
static int check_light(const Model *m, const Model *light, const Task *task, Err *err) {
    int T = task->seq_len, V = task->vocab_size;
    if (light->cfg.seq_len != T || light->cfg.vocab != V || light->max_batch < m->max_batch)
        return err_set(err,
                       "eval.light_checkpoint: its model has seq_len %d, vocab %d; the task "
                       "%d, %d",
                       light->cfg.seq_len, light->cfg.vocab, T, V);
    if (!subtok_same(model_sub_tokenizer(m), model_sub_tokenizer(light)))
        return err_set(err,
                       "eval.light_checkpoint: its model reads tokens as %d sub-tokens, the "
                       "heavy model as %d: they must decode the same states",
                       light->cfg.sub_tokens > 1 ? light->cfg.sub_tokens : 1,
                       m->cfg.sub_tokens > 1 ? m->cfg.sub_tokens : 1);
    return 0;
}

/* The sampler options of m (and light, may be NULL) for opt. */
static SampleOptions model_options(const SampleOptions *opt, const Model *m, Model *light) {
    SampleOptions o = *opt;
    o.light_fn = light ? model_logits : NULL;
    o.light_ctx = light;
    o.sub = model_sub_tokenizer(m);
    return o;
}

/* Sums of the batches' SampleStats, per sequence where they are per sequence. */
typedef struct CostSum {
    long sequences, batches, calls;
    double nfe, light_nfe, idle;
} CostSum;

static void cost_add(CostSum *c, const SampleStats *st, int B) {
    c->sequences += B;
    c->batches++;
    c->calls += st->model_calls;
    c->nfe += st->nfe * B;
    c->light_nfe += st->light_nfe * B;
    c->idle += st->idle_step_ratio * B;
}

/* Averages; each sequence's passes are charged by the model that made them. */
static void cost_finish(const CostSum *c, const Model *m, const Model *light, DecodeCost *out) {
    memset(out, 0, sizeof *out);
    if (!c->sequences) return;
    double n = (double)c->sequences, heavy = sequence_flops(m);
    out->model_calls = (double)c->calls / (double)c->batches;
    out->nfe = c->nfe / n;
    out->idle_step_ratio = c->idle / n;
    out->flops =
        ((c->nfe - c->light_nfe) * heavy + (light ? c->light_nfe * sequence_flops(light) : 0.0)) /
        n;
    out->flops_saved = c->nfe > 0 ? 1.0 - out->flops / (out->nfe * heavy) : 0.0;
}

int eval_accuracy(Model *m, Model *light, const Task *task, const SampleOptions *opt, long count,
                  uint64_t seed, EvalResult *out, Err *err) {
    int T = task->seq_len, V = task->vocab_size, Bmax = m->max_batch;
    if (light && check_light(m, light, task, err)) return -1;
    SampleOptions o = model_options(opt, m, light);
    long n = count > 0 && count < task->n_eval ? count : task->n_eval;
    int *tokens = malloc((size_t)Bmax * T * sizeof(int));
    unsigned char *is_prompt = malloc((size_t)T);
    float *logits = malloc((size_t)Bmax * T * V * sizeof(float));
    if (!tokens || !is_prompt || !logits) {
        free(tokens);
        free(is_prompt);
        free(logits);
        return err_set(err, "eval: out of memory");
    }
    double t0 = now_seconds();
    long correct = 0;
    CostSum sum = {0};
    Rng rng;
    rng_seed(&rng, seed, 0x65766100);
    int rc = 0;
    for (long start = 0; start < n && rc == 0; start += Bmax) {
        int B = (int)(n - start < Bmax ? n - start : Bmax);
        for (int b = 0; b < B; b++) {
            int *tok = tokens + (size_t)b * T;
            task->ops->example(task, SPLIT_EVAL, start + b, tok, is_prompt);
            for (int t = 0; t < T; t++)
                if (!is_prompt[t]) tok[t] = task->mask_id;
        }
        SampleStats st;
        rc = sample_decode(&o, model_logits, m, tokens, B, T, V, task->mask_id, &rng, logits, &st,
                           err);
        for (int b = 0; b < B && rc == 0; b++)
            correct += task->ops->score(task, SPLIT_EVAL, start + b, tokens + (size_t)b * T);
        cost_add(&sum, &st, B);
        if (rc == 0 && opt->on_batch) opt->on_batch(opt->on_batch_ctx, start + B, n);
    }
    free(tokens);
    free(is_prompt);
    free(logits);
    if (rc) return rc;
    cost_finish(&sum, m, light, &out->cost);
    out->correct = correct;
    out->total = n;
    out->accuracy = n ? (double)correct / (double)n : 0.0;
    out->seconds = now_seconds() - t0;
    return 0;
}

int eval_generate(Model *m, Model *light, const Task *task, const SampleOptions *opt, long n,
                  uint64_t seed, int *out, DecodeCost *cost, Err *err) {
    int T = task->seq_len, V = task->vocab_size;
    int Bmax = (int)(n < m->max_batch ? n : m->max_batch);
    if (cost) memset(cost, 0, sizeof *cost);
    if (n <= 0) return 0;
    if (light && check_light(m, light, task, err)) return -1;
    float *logits = malloc((size_t)Bmax * T * V * sizeof(float));
    if (!logits) return err_set(err, "generate: out of memory for %d x %d x %d logits", Bmax, T, V);
    SampleOptions o = model_options(opt, m, light);
    Rng rng;
    rng_seed(&rng, seed, 0x67656e00);
    CostSum sum = {0};
    int rc = 0;
    for (long start = 0; start < n && rc == 0; start += Bmax) {
        int B = (int)(n - start < Bmax ? n - start : Bmax);
        int *tok = out + (size_t)start * T;
        for (size_t i = 0; i < (size_t)B * T; i++) tok[i] = task->mask_id;
        SampleStats st;
        rc =
            sample_decode(&o, model_logits, m, tok, B, T, V, task->mask_id, &rng, logits, &st, err);
        cost_add(&sum, &st, B);
    }
    free(logits);
    if (rc == 0 && cost) cost_finish(&sum, m, light, cost);
    return rc;
}

SampleOptions eval_sample_options(const Config *cfg, UnmaskPolicy policy, int k, long step) {
    SampleOptions opt = {.policy = policy,
                         .tokens_per_step = k,
                         .threshold = cfg->eval.threshold,
                         .temperature = cfg->eval.temperature,
                         .block_size = eval_block_size(cfg, step),
                         .ancestral_steps =
                             strcmp(cfg->eval.sampler, "ancestral") == 0 ? cfg->eval.steps : 0,
                         .schedule = cfg->eval.schedule,
                         .schedule_steps = cfg->eval.steps};
    return opt;
}

int eval_extra_options(const Config *cfg, long step, SampleOptions *out, int max) {
    char buf[CFG_STR];
    snprintf(buf, sizeof buf, "%s", cfg->eval.extra);
    char *save = NULL;
    int n = 0;
    for (char *item = strtok_r(buf, ",", &save); item && n < max;
         item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        if (!colon) continue; /* config_validate checked the shape */
        *colon = '\0';
        int k = atoi(colon + 1);
        UnmaskPolicy policy = POLICY_TOPK;
        int ancestral = strcmp(item, "ancestral") == 0;
        if (!ancestral && policy_from_name(item, &policy) != 0) continue;
        out[n] = eval_sample_options(cfg, policy, ancestral ? 1 : k, step);
        out[n++].ancestral_steps = ancestral ? k : 0;
    }
    return n;
}

const char *eval_sampler_label(const SampleOptions *opt) {
    return opt->ancestral_steps > 0 ? "ancestral" : policy_name(opt->policy);
}

int eval_sampler_k(const SampleOptions *opt) {
    return opt->ancestral_steps > 0 ? opt->ancestral_steps : opt->tokens_per_step;
}

int eval_block_size(const Config *cfg, long step) {
    if (cfg->eval.block_size > 0) return cfg->eval.block_size;
    const ForwardOps *process = forward_find(cfg->process);
    return process && process->decode_block_size ? process->decode_block_size(cfg, step) : 0;
}

int eval_load_model(Model *m, Backend *be, const char *ckpt_path, const Task *task, int max_batch,
                    Err *err) {
    memset(m, 0, sizeof *m);
    Checkpoint ck;
    if (checkpoint_read(ckpt_path, &ck, err) != 0) return -1;
    Config c;
    config_defaults(&c);
    int rc = config_load_yaml_string(&c, ck.config_yaml, ck.config_len, ckpt_path, err);
    if (rc == 0) {
        /* vocabulary and length from the task: a different vocabulary shows as a size mismatch
         * of the parameter sections; RoPE is relative, so any length works */
        ModelConfig mc = session_model_config(&c, task);
        int with_ema = checkpoint_section(&ck, "ema") != NULL;
        rc = model_create(m, &mc, be, max_batch, with_ema, err);
        if (rc == 0) rc = model_io_restore(m, &ck, ckpt_path, 0, err);
        if (rc == 0 && with_ema) model_swap_ema(m);
        if (rc != 0) model_free(m);
    }
    checkpoint_free(&ck);
    return rc;
}

int eval_checkpoint_path(const char *target, char *ckpt, size_t n, int *is_dir, Err *err) {
    struct stat st;
    if (stat(target, &st) != 0) return err_set(err, "%s: no such file or directory", target);
    int dir = S_ISDIR(st.st_mode);
    if (is_dir) *is_dir = dir;
    snprintf(ckpt, n, dir ? "%s/checkpoint.bin" : "%s", target);
    return 0;
}
