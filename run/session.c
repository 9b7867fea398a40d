#include "session.h"

#include <stdlib.h>
#include <string.h>

ModelConfig session_model_config(const Config *cfg, const Task *task) {
    ModelConfig mc = {
        .vocab = task->vocab_size,
        .seq_len = task->seq_len,
        .d = cfg->model.d,
        .layers = cfg->model.layers,
        .heads = cfg->model.heads,
        .ffn = cfg->model.ffn,
        .tied_head = cfg->model.tied_head,
        .causal = cfg->model.causal,
        .shift_logits = cfg->model.shift_logits,
        .rope = strcmp(cfg->model.rope, "reference") == 0 ? ROPE_REFERENCE : ROPE_STANDARD,
        .rope_theta = (float)cfg->model.rope_theta,
        .norm_eps = (float)cfg->model.norm_eps,
    };
    return mc;
}

ModelInit session_model_init(const Config *cfg) {
    return strcmp(cfg->model.init, "torch") == 0 ? MODEL_INIT_TORCH : MODEL_INIT_SMALL;
}

/* Attention annealing goes from the causal attention of an AR initialisation to full
 * attention, so it needs a bidirectional model. */
static int check_anneal_config(const Config *cfg, Err *err) {
    if (cfg->train.attention_anneal_steps > 0 && cfg->model.causal)
        return err_set(err, "train.attention_anneal_steps anneals causal attention to full: it "
                            "needs model.causal=false");
    return 0;
}

/* During the first train.attention_anneal_steps steps the model attends causally plus each
 * future key with probability step / attention_anneal_steps, under a fresh mask per step
 * (a pure function of run seed and step, so resume is exact); later steps, evaluation and
 * sampling use the configured full attention. */
static void anneal_attention(Session *s, long step) {
    long n = s->cfg.train.attention_anneal_steps;
    if (n <= 0 || step >= n) return;
    Rng rng;
    rng_seed(&rng, (uint64_t)s->cfg.seed, 0x616e6e0000000000ULL + (uint64_t)step);
    model_set_attention_mix(&s->model, (float)((double)step / (double)n), rng_u64(&rng));
}

int session_open(Session *s, const Config *cfg, Err *err) {
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    const Config *c = &s->cfg;
    if (config_validate(c, err) != 0 || check_anneal_config(c, err) != 0) return -1;
    if (backend_create(&s->be, c->backend, c->threads, err) != 0) return -1;
    if (task_create(&s->task, c, err) != 0) return -1;
    ModelConfig mc = session_model_config(c, &s->task);
    int max_batch = c->train.batch > c->eval.batch ? c->train.batch : c->eval.batch;
    if (model_create(&s->model, &mc, &s->be, max_batch, c->train.ema, err) != 0) return -1;
    if (forward_create(&s->fp, c, &s->task, err) != 0) return -1;
    if (forward_batch_alloc(&s->batch, c->train.batch, s->task.seq_len, err) != 0) return -1;
    if (s->fp.ops->observe) {
        s->logits_host =
            malloc((size_t)c->train.batch * s->task.seq_len * s->task.vocab_size * sizeof(float));
        if (!s->logits_host) return err_set(err, "out of memory for logits");
    }
    model_init_params(&s->model, (uint64_t)c->seed, session_model_init(c),
                      (float)c->model.init_std);
    return 0;
}

void session_close(Session *s) {
    free(s->logits_host);
    forward_batch_free(&s->batch);
    if (s->fp.ops) forward_destroy(&s->fp);
    model_free(&s->model);
    if (s->task.ops) task_destroy(&s->task);
    if (s->be.ops) backend_destroy(&s->be);
    memset(s, 0, sizeof(*s));
}

double session_step(Session *s, long step, OptimStats *st) {
    Model *m = &s->model;
    s->fp.ops->make_batch(&s->fp, step, &s->batch);
    anneal_attention(s, step);
    model_forward(m, s->batch.tokens, s->batch.B);
    if (s->logits_host) model_logits_to_host(m, s->logits_host);
    double loss = model_loss(m, s->batch.targets, s->batch.weights, 1);
    model_zero_grad(m);
    model_backward(m);
    *st = optim_step(m, &s->cfg, step);
    if (s->logits_host) s->fp.ops->observe(&s->fp, step, s->logits_host, s->task.vocab_size);
    return loss;
}
