#include "session.h"

#include <math.h>
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
    const ForwardOps *process = forward_find(cfg->process);
    uint64_t permute = 0;
    int ell = process && process->sub_tokens ? process->sub_tokens(cfg, &permute) : 0;
    if (ell > 1) { /* MDM-Prime: the model reads each token as ell digits */
        mc.sub_tokens = ell;
        mc.sub_base = subtok_base_for(task->vocab_size - 1, ell);
        mc.sub_mask_id = task->mask_id;
        mc.sub_permute = permute;
    }
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

static int alloc_confidence(Session *s, Err *err) {
    size_t bytes = (size_t)s->batch.B * s->batch.T * sizeof(float);
    s->confidence = s->be.ops->alloc(&s->be, bytes);
    s->confidence_host = malloc(bytes);
    if (!s->confidence || !s->confidence_host)
        return err_set(err, "out of memory for the model's confidence (%zu bytes)", bytes);
    return 0;
}

/* The global batch must split evenly over the ranks; annealing's attention masks are drawn
 * per row of the batch a process forwards, so a slice would draw other masks. */
static int check_parallel_config(const Config *cfg, const Parallel *par, Err *err) {
    if (!par || par->world <= 1) return 0;
    if (cfg->train.batch % par->world)
        return err_set(err, "train.batch=%d does not split over %d MPI ranks: use a multiple",
                       cfg->train.batch, par->world);
    if (cfg->train.attention_anneal_steps > 0)
        return err_set(err, "train.attention_anneal_steps is not data parallel: run it as one "
                            "process");
    return 0;
}

int session_open(Session *s, const Config *cfg, Parallel *par, Err *err) {
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->par = par;
    const Config *c = &s->cfg;
    if (config_validate(c, err) != 0 || check_anneal_config(c, err) != 0 ||
        check_parallel_config(c, par, err) != 0)
        return -1;
    if (backend_create(&s->be, c->backend, c->threads, err) != 0) return -1;
    if (task_create(&s->task, c, err) != 0) return -1;
    ModelConfig mc = session_model_config(c, &s->task);
    int max_batch = c->train.batch > c->eval.batch ? c->train.batch : c->eval.batch;
    if (model_create(&s->model, &mc, &s->be, max_batch, c->train.ema, err) != 0) return -1;
    if (forward_create(&s->fp, c, &s->task, err) != 0) return -1;
    if (forward_batch_alloc(&s->batch, c->train.batch, s->task.seq_len, err) != 0) return -1;
    if (s->fp.ops->observe && alloc_confidence(s, err) != 0) return -1;
    model_init_params(&s->model, (uint64_t)c->seed, session_model_init(c),
                      (float)c->model.init_std);
    return 0;
}

void session_close(Session *s) {
    free(s->confidence_host);
    if (s->confidence) s->be.ops->free(&s->be, s->confidence);
    forward_batch_free(&s->batch);
    if (s->fp.ops) forward_destroy(&s->fp);
    model_free(&s->model);
    if (s->task.ops) task_destroy(&s->task);
    if (s->be.ops) backend_destroy(&s->be);
    memset(s, 0, sizeof(*s));
}

/* The confidence of the forward just run (the n rows of this rank's slice) into
 * confidence_host at row `first`; before model_loss, which overwrites the logits with their
 * gradient. */
static void compute_confidence(Session *s, size_t first, int n) {
    const Model *m = &s->model;
    s->be.ops->max_log_prob(&s->be, s->confidence, m->a.logits, n, m->cfg.vocab, s->task.mask_id);
    s->be.ops->download(&s->be, s->confidence_host + first, s->confidence,
                        (size_t)n * sizeof(float));
}

/* The gradients summed over ranks: through a host buffer, since they are backend memory. */
static int sum_gradients(Session *s, Err *err) {
    Model *m = &s->model;
    Parallel *par = s->par;
    size_t n = (size_t)m->n_params_padded;
    if (par->host_floats < n) {
        free(par->host);
        par->host = malloc(n * sizeof(float));
        par->host_floats = par->host ? n : 0;
        if (!par->host) return err_set(err, "out of memory for the gradient allreduce");
    }
    s->be.ops->download(&s->be, par->host, m->grads, n * sizeof(float));
    if (parallel_sum_floats(par, par->host, n, err)) return -1;
    s->be.ops->upload(&s->be, m->grads, par->host, n * sizeof(float));
    return 0;
}

/* This rank's slice of the gradient and loss, then the sums over ranks (loss in *loss). */
static int combine_over_ranks(Session *s, double *loss, Err *err) {
    int rows = s->batch.B / s->par->world * s->batch.T;
    if (s->confidence && parallel_gather_floats(s->par, s->confidence_host, (size_t)rows, err))
        return -1;
    return sum_gradients(s, err) || parallel_sum_doubles(s->par, loss, 1, err) ? -1 : 0;
}

double session_step(Session *s, long step, OptimStats *st) {
    Model *m = &s->model;
    int world = s->par ? s->par->world : 1, rank = s->par ? s->par->rank : 0;
    int B = s->batch.B / world; /* this rank's slice of the global batch */
    size_t first = (size_t)rank * B * s->batch.T;
    s->fp.ops->make_batch(&s->fp, step, &s->batch);
    anneal_attention(s, step);
    model_forward(m, s->batch.tokens + first, B);
    if (s->confidence) compute_confidence(s, first, B * s->batch.T);
    double loss = model_loss(m, s->batch.targets + first, s->batch.weights + first, 1);
    model_zero_grad(m);
    model_backward(m);
    if (world > 1 && combine_over_ranks(s, &loss, &s->comm_err) != 0) {
        if (!s->failed_step) s->failed_step = step + 1;
        return NAN;
    }
    *st = optim_step(m, &s->cfg, step);
    if (s->be.ops->sync(&s->be) != 0) {
        if (!s->failed_step) s->failed_step = step + 1;
        return NAN;
    }
    if (s->confidence) s->fp.ops->observe(&s->fp, step, s->confidence_host);
    return loss;
}

int session_check(const Session *s, Err *err) {
    if (s->comm_err.msg[0]) return err_set(err, "step %ld: %s", s->failed_step, s->comm_err.msg);
    Err be_err;
    if (backend_check(&s->be, &be_err) == 0) return 0;
    if (!s->failed_step) return err_set(err, "%s", be_err.msg);
    return err_set(err, "step %ld: %s", s->failed_step, be_err.msg);
}
