/* The whole model's gradient against central finite differences, on tiny configs covering
 * bidirectional and causal attention, tied and untied heads, shifted outputs and the
 * partially causal attention of annealing, MDM-Prime's sub-token input and filtered head (on
 * every backend); and cross-backend agreement of one full training
 * step (loss, gradient, updated weights) against `ref`. */
#include <stdlib.h>
#include <string.h>

#include "forward/config_schema.h"
#include "model/model.h"
#include "model/optim.h"
#include "check.h"

typedef struct Fixture {
    Backend be;
    Model m;
    int B;
    int *tokens, *targets;
    float *weights;
    AttentionMix mix; /* set before every forward when active */
} Fixture;

static void fixture_init(Fixture *f, const char *backend, const ModelConfig *mc, int B,
                         ModelInit init, float std) {
    Err err = {{0}};
    memset(f, 0, sizeof(*f));
    f->B = B;
    int rc = backend_create(&f->be, backend, 2, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc = model_create(&f->m, mc, &f->be, B, 0, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    model_init_params(&f->m, 42, init, std);
    int n = B * mc->seq_len, mask_id = mc->vocab - 1;
    f->tokens = malloc(n * sizeof(int));
    f->targets = malloc(n * sizeof(int));
    f->weights = malloc(n * sizeof(float));
    Rng rng;
    rng_seed(&rng, 9, 0);
    const SubTokenizer *sub = model_sub_tokenizer(&f->m);
    for (int i = 0; i < n; i++) {
        f->targets[i] = (int)rng_below(&rng, (uint64_t)mask_id);
        int masked = rng_uniform(&rng) < 0.5;
        f->tokens[i] = masked ? mask_id : f->targets[i];
        if (sub && masked) /* any non-empty set of digits masked: partial states too */
            f->tokens[i] = subtok_state(sub, f->targets[i],
                                        1u + (unsigned)rng_below(&rng, (1u << sub->ell) - 1));
        f->weights[i] = masked ? 1.0f / (float)B : 0.0f;
    }
}

static void fixture_free(Fixture *f) {
    model_free(&f->m);
    backend_destroy(&f->be);
    free(f->tokens);
    free(f->targets);
    free(f->weights);
}

static void fixture_forward(Fixture *f) {
    if (f->mix.active) model_set_attention_mix(&f->m, f->mix.future_keep, f->mix.mask_seed);
    model_forward(&f->m, f->tokens, f->B);
}

static double loss_at(Fixture *f) {
    fixture_forward(f);
    return model_loss(&f->m, f->targets, f->weights, 0);
}

/* mix: NULL for the configured attention. With shifted outputs the fixture keeps loss
 * weight on rows 0 (whose logits are constants) on purpose: the backward must drop them. */
static void check_model_gradient_on(const char *backend, const ModelConfig *mc,
                                    const AttentionMix *mix, ModelInit init, const char *label) {
    Fixture f;
    fixture_init(&f, backend, mc, 2, init, 0.3f);
    if (mix) f.mix = *mix;
    Model *m = &f.m;
    size_t bytes = (size_t)m->n_params_padded * sizeof(float);
    float *params = malloc(bytes), *grads = malloc(bytes);
    fixture_forward(&f);
    model_loss(m, f.targets, f.weights, 1);
    model_zero_grad(m);
    model_backward(m);
    m->be->ops->download(m->be, grads, m->grads, bytes);
    m->be->ops->download(m->be, params, m->params, bytes);
    Rng rng;
    rng_seed(&rng, 5, 1);
    int bad = 0, tested = 0;
    const float eps = 1e-2f;
    for (int t = 0; t < P_COUNT; t++) {
        if (m->param_size[t] == 0) continue;
        for (int s = 0; s < 12; s++) { /* sample entries of every tensor */
            long i = m->param_offset[t] + (long)rng_below(&rng, (uint64_t)m->param_size[t]);
            float orig = params[i];
            params[i] = orig + eps;
            m->be->ops->upload(m->be, m->params, params, bytes);
            double lp = loss_at(&f);
            params[i] = orig - eps;
            m->be->ops->upload(m->be, m->params, params, bytes);
            double lm = loss_at(&f);
            params[i] = orig;
            double fd = (lp - lm) / (2.0 * eps), an = grads[i];
            tested++;
            if (fabs(fd - an) > 2e-3 + 3e-2 * fabs(fd)) {
                bad++;
                fprintf(stderr, "%s: tensor %d index %ld: finite diff %.6g, backward %.6g\n", label,
                        t, i, fd, an);
            }
        }
    }
    m->be->ops->upload(m->be, m->params, params, bytes);
    CHECK_MSG(bad == 0, "%s: %d of %d sampled gradients disagree", label, bad, tested);
    free(params);
    free(grads);
    fixture_free(&f);
}

static void check_model_gradient(const ModelConfig *mc, const AttentionMix *mix, ModelInit init,
                                 const char *label) {
    check_model_gradient_on("ref", mc, mix, init, label);
}

/* Loss, gradient norm and post-step weights of one training step on `backend`. */
static void one_step(const char *backend, const ModelConfig *mc, int B, double *loss, double *gnorm,
                     float *params_after) {
    Fixture f;
    fixture_init(&f, backend, mc, B, MODEL_INIT_TORCH, 0.0f);
    Config cfg;
    config_defaults(&cfg);
    cfg.train.warmup_steps = 0;
    cfg.train.steps = 100;
    model_forward(&f.m, f.tokens, B);
    *loss = model_loss(&f.m, f.targets, f.weights, 1);
    model_zero_grad(&f.m);
    model_backward(&f.m);
    OptimStats st = optim_step(&f.m, &cfg, 0);
    *gnorm = st.grad_norm;
    f.m.be->ops->download(f.m.be, params_after, f.m.params,
                          (size_t)f.m.n_params_padded * sizeof(float));
    fixture_free(&f);
}

static void check_backend_step_parity(int rope, int sub_tokens) {
    ModelConfig mc = {.vocab = 11,
                      .seq_len = 40,
                      .d = 64,
                      .layers = 2,
                      .heads = 4,
                      .ffn = 96,
                      .rope = rope,
                      .rope_theta = 10000.0f,
                      .norm_eps = 1e-6f};
    if (sub_tokens > 1) {
        mc.sub_tokens = sub_tokens;
        mc.sub_base = subtok_base_for(mc.vocab - 1, sub_tokens);
        mc.sub_mask_id = mc.vocab - 1;
        mc.sub_permute = 3;
    }
    long n = 0;
    {
        Fixture f;
        fixture_init(&f, "ref", &mc, 4, MODEL_INIT_TORCH, 0.0f);
        n = f.m.n_params_padded;
        fixture_free(&f);
    }
    float *ref = malloc(n * sizeof(float)), *other = malloc(n * sizeof(float));
    float *init = malloc(n * sizeof(float));
    double ref_loss, ref_norm;
    one_step("ref", &mc, 4, &ref_loss, &ref_norm, ref);
    {
        Fixture f;
        fixture_init(&f, "ref", &mc, 4, MODEL_INIT_TORCH, 0.0f);
        f.m.be->ops->download(f.m.be, init, f.m.params, n * sizeof(float));
        fixture_free(&f);
    }
    for (int b = 0; b < backend_count(); b++) {
        const char *name = backend_at(b)->name;
        double loss, norm;
        one_step(name, &mc, 4, &loss, &norm, other);
        CHECK_CLOSE(loss, ref_loss, 1e-5, 0.0);
        CHECK_CLOSE(norm, ref_norm, 1e-4, 0.0);
        /* compare the update (after - before), which is what the backends computed */
        double diff = 0.0, norm_upd = 0.0;
        for (long i = 0; i < n; i++) {
            double du = (double)(other[i] - init[i]) - (double)(ref[i] - init[i]);
            diff += du * du;
            norm_upd += (double)(ref[i] - init[i]) * (ref[i] - init[i]);
        }
        double rel = sqrt(diff / (norm_upd + 1e-30));
        CHECK_MSG(rel < 1e-3, "backend %s: relative update difference %.3g", name, rel);
        printf("parity rope=%d sub_tokens=%d %-9s loss %.9g (ref %.9g) grad norm %.9g (ref %.9g) "
               "update rel diff "
               "%.2g\n",
               rope, sub_tokens, name, loss, ref_loss, norm, ref_norm, rel);
    }
    free(ref);
    free(other);
    free(init);
}

int main(void) {
    ModelConfig base = {.vocab = 7,
                        .seq_len = 6,
                        .d = 8,
                        .layers = 2,
                        .heads = 2,
                        .ffn = 12,
                        .rope_theta = 10000.0f,
                        .norm_eps = 1e-6f};
    check_model_gradient(&base, NULL, MODEL_INIT_SMALL, "bidirectional/untied");
    ModelConfig causal = base;
    causal.causal = 1;
    causal.tied_head = 1;
    check_model_gradient(&causal, NULL, MODEL_INIT_SMALL, "causal/tied");
    ModelConfig causal_shift = causal;
    causal_shift.shift_logits = 1;
    check_model_gradient(&causal_shift, NULL, MODEL_INIT_SMALL, "causal/tied/shift");
    ModelConfig shift = base;
    shift.shift_logits = 1;
    check_model_gradient(&shift, NULL, MODEL_INIT_SMALL, "bidirectional/untied/shift");
    AttentionMix half = {.active = 1, .future_keep = 0.5f, .mask_seed = 77};
    check_model_gradient(&shift, &half, MODEL_INIT_SMALL,
                         "annealing (future_keep 0.5)/untied/shift");
    /* PUMA's reference model: its RoPE variant and PyTorch's initialisation */
    ModelConfig reference = base;
    reference.rope = ROPE_REFERENCE;
    check_model_gradient(&reference, NULL, MODEL_INIT_TORCH, "reference rope/torch init/untied");
    reference.causal = reference.tied_head = reference.shift_logits = 1;
    check_model_gradient(&reference, NULL, MODEL_INIT_TORCH,
                         "reference rope/torch init/causal/tied/shift");
    /* MDM-Prime: digit-slot input embedding, filtered head; on every backend */
    ModelConfig prime = base;
    prime.sub_tokens = 2;
    prime.sub_base = subtok_base_for(base.vocab - 1, 2);
    prime.sub_mask_id = base.vocab - 1;
    prime.sub_permute = 11;
    for (int b = 0; b < backend_count(); b++) {
        char label[64];
        snprintf(label, sizeof label, "sub-tokens ell=2/%s", backend_at(b)->name);
        check_model_gradient_on(backend_at(b)->name, &prime, NULL, MODEL_INIT_SMALL, label);
    }
    prime.sub_tokens = 3;
    prime.sub_base = subtok_base_for(base.vocab - 1, 3);
    check_model_gradient(&prime, NULL, MODEL_INIT_TORCH, "sub-tokens ell=3/torch init");
    check_backend_step_parity(ROPE_STANDARD, 0);
    check_backend_step_parity(ROPE_REFERENCE, 0);
    check_backend_step_parity(ROPE_REFERENCE, 2);
    return check_summary("model_grad");
}
