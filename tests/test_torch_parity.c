/* Parity with PyTorch, in the manner of llm.c's test_gpt2.c: tests/torch_parity/make_parity.py
 * builds the PUMA reference transformer in PyTorch and writes, per case, its weights, a batch,
 * and the float64 logits, loss, parameter gradients and parameters after one clipped AdamW
 * step. This test loads the weights into mdmlab's model on every built backend and checks all
 * four to a relative error of 1e-5 (per tensor: max_i |c_i - t_i| / max_i |t_i|). It also checks
 * the statistics of mdmlab's own PyTorch-style initialisation (MODEL_INIT_TORCH).
 *
 * Usage: test_torch_parity OUTDIR (the directory make_parity.py wrote). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "forward/config_schema.h"
#include "model/model.h"
#include "model/optim.h"
#include "check.h"

#define PARITY_MAGIC   0x6D646D74
#define PARITY_VERSION 1
#define PARITY_TOL     1e-5

static const char *const tensor_names[P_COUNT] = {"wte", "ln1", "qkvw", "qkvb", "ow",  "ob",
                                                  "ln2", "w1",  "w2",   "w3",   "lnf", "head"};
static const char *const case_names[] = {"sudoku_paper", "ar_small", "bidir_standard_rope"};

typedef struct ParityCase {
    char name[33];
    ModelConfig mc;
    int B;
    long size[P_COUNT], n;
    double lr, beta1, beta2, adam_eps, weight_decay, grad_clip, loss, grad_norm;
    int *tokens, *targets;
    float *weights, *params, *logits, *grads, *params_after;
} ParityCase;

static void case_free(ParityCase *c) {
    free(c->tokens);
    free(c->targets);
    free(c->weights);
    free(c->params);
    free(c->logits);
    free(c->grads);
    free(c->params_after);
    memset(c, 0, sizeof(*c));
}

static int read_all(FILE *f, void *dst, size_t size, size_t count) {
    return fread(dst, size, count, f) == count;
}

/* The file format is documented in make_parity.py. Returns 0 on success. */
static int case_load(ParityCase *c, const char *path) {
    memset(c, 0, sizeof(*c));
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    int32_t h[64];
    double s[16];
    int ok = read_all(f, h, sizeof(int32_t), 64) && read_all(f, c->name, 1, 32) &&
             read_all(f, s, sizeof(double), 16);
    if (!ok || h[0] != PARITY_MAGIC || h[1] != PARITY_VERSION || h[13] != P_COUNT) {
        fprintf(stderr, "%s: bad header (magic %#x, version %d)\n", path, ok ? h[0] : 0,
                ok ? h[1] : 0);
        fclose(f);
        return -1;
    }
    ModelConfig *mc = &c->mc;
    memset(mc, 0, sizeof(*mc));
    mc->vocab = h[2];
    mc->seq_len = h[3];
    mc->d = h[4];
    mc->layers = h[5];
    mc->heads = h[6];
    mc->ffn = h[7];
    mc->tied_head = h[8];
    mc->causal = h[9];
    mc->shift_logits = h[10];
    mc->rope = h[11];
    c->B = h[12];
    for (int i = 0; i < P_COUNT; i++) c->n += c->size[i] = h[14 + i];
    mc->rope_theta = (float)s[0];
    mc->norm_eps = (float)s[1];
    c->lr = s[2];
    c->beta1 = s[3];
    c->beta2 = s[4];
    c->adam_eps = s[5];
    c->weight_decay = s[6];
    c->grad_clip = s[7];
    c->loss = s[8];
    c->grad_norm = s[9];
    size_t bt = (size_t)c->B * mc->seq_len, n = (size_t)c->n;
    c->tokens = malloc(bt * sizeof(int));
    c->targets = malloc(bt * sizeof(int));
    c->weights = malloc(bt * sizeof(float));
    c->params = malloc(n * sizeof(float));
    c->logits = malloc(bt * mc->vocab * sizeof(float));
    c->grads = malloc(n * sizeof(float));
    c->params_after = malloc(n * sizeof(float));
    ok = c->tokens && c->targets && c->weights && c->params && c->logits && c->grads &&
         c->params_after && read_all(f, c->tokens, sizeof(int), bt) &&
         read_all(f, c->targets, sizeof(int), bt) && read_all(f, c->weights, sizeof(float), bt) &&
         read_all(f, c->params, sizeof(float), n) &&
         read_all(f, c->logits, sizeof(float), bt * mc->vocab) &&
         read_all(f, c->grads, sizeof(float), n) && read_all(f, c->params_after, sizeof(float), n);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: truncated or out of memory\n", path);
        case_free(c);
        return -1;
    }
    return 0;
}

/* max_i |got_i - want_i| / max_i |want_i|; infinite when got has a NaN. */
static double rel_error(const float *got, const float *want, long n) {
    double diff = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (isnan(e)) return INFINITY;
        if (e > diff) diff = e;
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

/* Worst per-tensor relative error of a parameter-shaped buffer (got in mdmlab's padded layout,
 * want packed); *worst names the tensor. */
static double worst_tensor(const Model *m, const float *got, const float *want, int *worst) {
    double w = 0;
    long off = 0;
    *worst = 0;
    for (int i = 0; i < P_COUNT; i++) {
        double e = rel_error(got + m->param_offset[i], want + off, m->param_size[i]);
        if (e > w) w = e, *worst = i;
        off += m->param_size[i];
    }
    return w;
}

static void run_case(const ParityCase *c, const char *backend) {
    Err err = {{0}};
    Backend be;
    if (backend_create(&be, backend, 2, &err) != 0) {
        CHECK_MSG(0, "backend_create(%s): %s", backend, err.msg);
        return;
    }
    Model m;
    if (model_create(&m, &c->mc, &be, c->B, 0, &err) != 0) {
        CHECK_MSG(0, "%s [%s]: model_create: %s", c->name, backend, err.msg);
        backend_destroy(&be);
        return;
    }
    int sizes_match = 1;
    for (int i = 0; i < P_COUNT; i++) sizes_match &= m.param_size[i] == c->size[i];
    CHECK_MSG(sizes_match, "%s: the file's tensor sizes are not mdmlab's", c->name);
    if (!sizes_match) goto done;

    const BackendOps *ops = be.ops;
    long off = 0;
    for (int i = 0; i < P_COUNT; i++) {
        ops->upload(&be, m.params + m.param_offset[i], c->params + off,
                    (size_t)m.param_size[i] * sizeof(float));
        off += m.param_size[i];
    }
    model_reset_training_state(&m);

    size_t nlogits = (size_t)c->B * c->mc.seq_len * c->mc.vocab;
    size_t pbytes = (size_t)m.n_params_padded * sizeof(float);
    float *logits = malloc(nlogits * sizeof(float)), *buf = malloc(pbytes);
    model_forward(&m, c->tokens, c->B);
    model_logits_to_host(&m, logits);
    double e_logits = rel_error(logits, c->logits, (long)nlogits);
    double loss = model_loss(&m, c->targets, c->weights, 1);
    double e_loss = fabs(loss - c->loss) / fabs(c->loss);
    model_zero_grad(&m);
    model_backward(&m);
    ops->download(&be, buf, m.grads, pbytes);
    int worst_g, worst_p;
    double e_grads = worst_tensor(&m, buf, c->grads, &worst_g);

    Config cfg;
    config_defaults(&cfg);
    cfg.train.lr = c->lr;
    cfg.train.warmup_steps = 0;
    cfg.train.steps = 10;
    cfg.train.beta1 = c->beta1;
    cfg.train.beta2 = c->beta2;
    cfg.train.adam_eps = c->adam_eps;
    cfg.train.weight_decay = c->weight_decay;
    cfg.train.grad_clip = c->grad_clip;
    cfg.train.ema = 0;
    OptimStats st = optim_step(&m, &cfg, 0);
    ops->download(&be, buf, m.params, pbytes);
    double e_params = worst_tensor(&m, buf, c->params_after, &worst_p);
    double e_norm = fabs(st.grad_norm - c->grad_norm) / c->grad_norm;

    printf("torch_parity %s [%s]: logits %.1e, loss %.1e, grads %.1e (worst: %s), "
           "adamw params %.1e (worst: %s, %s)\n",
           c->name, backend, e_logits, e_loss, e_grads, tensor_names[worst_g], e_params,
           tensor_names[worst_p], c->grad_norm > c->grad_clip ? "clipped" : "not clipped");
    CHECK_MSG(e_logits <= PARITY_TOL, "%s [%s]: logits %.3g", c->name, backend, e_logits);
    CHECK_MSG(e_loss <= PARITY_TOL, "%s [%s]: loss %.9g, torch %.9g", c->name, backend, loss,
              c->loss);
    CHECK_MSG(e_grads <= PARITY_TOL, "%s [%s]: grads %.3g in %s", c->name, backend, e_grads,
              tensor_names[worst_g]);
    CHECK_MSG(e_norm <= PARITY_TOL, "%s [%s]: grad norm %.9g, torch %.9g", c->name, backend,
              st.grad_norm, c->grad_norm);
    CHECK_MSG(e_params <= PARITY_TOL, "%s [%s]: params after AdamW %.3g in %s", c->name, backend,
              e_params, tensor_names[worst_p]);
    free(logits);
    free(buf);
done:
    model_free(&m);
    backend_destroy(&be);
}

/* mdmlab's MODEL_INIT_TORCH against PyTorch's defaults on the Sudoku paper shape: the embedding
 * N(0, 1) (no tied head here), every Linear weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * norms 1. */
static void check_torch_init(void) {
    ModelConfig mc = {.vocab = 11,
                      .seq_len = 162,
                      .d = 256,
                      .layers = 8,
                      .heads = 8,
                      .ffn = 768,
                      .tied_head = 0,
                      .rope_theta = 10000.0f,
                      .norm_eps = 1e-6f,
                      .rope = ROPE_REFERENCE};
    Err err = {{0}};
    Backend be;
    Model m;
    if (backend_create(&be, "ref", 2, &err) != 0 || model_create(&m, &mc, &be, 1, 0, &err) != 0) {
        CHECK_MSG(0, "init check setup: %s", err.msg);
        return;
    }
    model_init_params(&m, 1234, MODEL_INIT_TORCH, 0.0f);
    size_t pbytes = (size_t)m.n_params_padded * sizeof(float);
    float *p = malloc(pbytes);
    be.ops->download(&be, p, m.params, pbytes);
    double worst_sd = 0, wte_mean = 0, wte_sd = 0;
    int worst_i = P_QKVW;
    const long fan_in[P_COUNT] = {
        [P_QKVW] = mc.d, [P_QKVB] = mc.d, [P_OW] = mc.d,   [P_OB] = mc.d,
        [P_W1] = mc.d,   [P_W2] = mc.d,   [P_W3] = mc.ffn, [P_HEAD] = mc.d};
    for (int i = 0; i < P_COUNT; i++) {
        const float *x = p + m.param_offset[i];
        long n = m.param_size[i];
        double sum = 0, sumsq = 0, maxabs = 0;
        for (long j = 0; j < n; j++) {
            sum += x[j];
            sumsq += (double)x[j] * x[j];
            if (fabs(x[j]) > maxabs) maxabs = fabs(x[j]);
        }
        double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
        const char *name = tensor_names[i];
        if (i == P_LN1 || i == P_LN2 || i == P_LNF) {
            int ones = 1;
            for (long j = 0; j < n; j++) ones &= x[j] == 1.0f;
            CHECK_MSG(ones, "init %s: norms must be exactly 1", name);
        } else if (i == P_WTE) {
            wte_mean = mean;
            wte_sd = sd;
            /* standard errors of the mean and of the standard deviation of n normal draws */
            CHECK_MSG(fabs(mean) < 4.0 / sqrt((double)n), "init wte: mean %.4f (n %ld)", mean, n);
            CHECK_MSG(fabs(sd - 1.0) < 4.0 / sqrt(2.0 * n), "init wte: std %.4f (n %ld)", sd, n);
        } else {
            double bound = 1.0 / sqrt((double)fan_in[i]), want_sd = bound / sqrt(3.0);
            if (fabs(sd / want_sd - 1.0) > worst_sd)
                worst_sd = fabs(sd / want_sd - 1.0), worst_i = i;
            CHECK_MSG(maxabs <= bound * (1 + 1e-6), "init %s: |x| up to %.6f > bound %.6f", name,
                      maxabs, bound);
            CHECK_MSG(fabs(sd / want_sd - 1.0) < 0.03, "init %s: std %.6f, want %.6f", name, sd,
                      want_sd);
            CHECK_MSG(fabs(mean) < 4.0 * want_sd / sqrt((double)n), "init %s: mean %.6f", name,
                      mean);
        }
    }
    printf("torch_parity init (sudoku_paper shape): wte mean %.4f std %.4f, Linear std off "
           "U(+-1/sqrt(fan_in))'s by %.2f%% at worst (%s)\n",
           wte_mean, wte_sd, 100 * worst_sd, tensor_names[worst_i]);
    free(p);
    model_free(&m);
    backend_destroy(&be);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR (written by tests/torch_parity/make_parity.py)\n",
                argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_torch_init();
    for (size_t k = 0; k < sizeof(case_names) / sizeof(case_names[0]); k++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/case_%s.bin", argv[1], case_names[k]);
        ParityCase c;
        if (case_load(&c, path) != 0) {
            CHECK_MSG(0, "cannot load %s", path);
            continue;
        }
        for (int b = 0; b < backend_count(); b++) run_case(&c, backend_at(b)->name);
        case_free(&c);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("torch_parity: %.1f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    return check_summary("torch_parity");
}
