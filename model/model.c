/* Transformer forward and backward, written out by hand over the backend ops. */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OPS(m) ((m)->be->ops)

long model_embedding_rows(const ModelConfig *c) {
    return c->sub_tokens > 1 ? (long)c->sub_tokens * (c->sub_base + 1) : c->vocab;
}

const SubTokenizer *model_sub_tokenizer(const Model *m) {
    return m->cfg.sub_tokens > 1 ? &m->sub : NULL;
}

static void param_shapes(const ModelConfig *c, long size[P_COUNT]) {
    long d = c->d, L = c->layers, f = c->ffn, V = c->vocab;
    size[P_WTE] = model_embedding_rows(c) * d;
    size[P_LN1] = L * d;
    size[P_QKVW] = L * 3 * d * d;
    size[P_QKVB] = L * 3 * d;
    size[P_OW] = L * d * d;
    size[P_OB] = L * d;
    size[P_LN2] = L * d;
    size[P_W1] = L * f * d;
    size[P_W2] = L * f * d;
    size[P_W3] = L * d * f;
    size[P_LNF] = d;
    size[P_HEAD] = c->tied_head ? 0 : V * d;
}

long model_param_count(const ModelConfig *cfg) {
    long size[P_COUNT], n = 0;
    param_shapes(cfg, size);
    for (int i = 0; i < P_COUNT; i++) n += size[i];
    return n;
}

long model_param_layout(const ModelConfig *cfg, long offset[P_COUNT], long size[P_COUNT]) {
    long off = 0;
    param_shapes(cfg, size);
    for (int i = 0; i < P_COUNT; i++) {
        offset[i] = off;
        off += (size[i] + 15) & ~15L;
    }
    return off;
}

double model_step_flops(const ModelConfig *c, int B) {
    double tokens = (double)B * c->seq_len, vd = (double)c->vocab * c->d;
    /* every parameter takes part in a matmul except the embedding lookup; the head always
     * does, whether or not it shares the embedding's storage */
    double matmul_params = (double)model_param_count(c) - (double)model_embedding_rows(c) * c->d +
                           (c->tied_head ? vd : 0.0);
    double attention = 12.0 * c->layers * (double)c->seq_len * c->seq_len * c->d * B;
    return 6.0 * matmul_params * tokens + attention;
}

static void point_tensors(float *base, const long offset[P_COUNT], ParamTensors *t) {
    for (int i = 0; i < P_COUNT; i++) t->t[i] = base + offset[i];
}

/* Carves every activation out of one buffer; with base == NULL it only counts floats. */
static size_t layout_activations(Activations *a, float *base, const ModelConfig *c, int B) {
    size_t L = (size_t)c->layers, BT = (size_t)B * c->seq_len, d = (size_t)c->d;
    size_t f = (size_t)c->ffn, att = (size_t)B * c->heads * c->seq_len * c->seq_len;
    size_t used = 0;
#define CARVE(field, n)                                                                            \
    do {                                                                                           \
        a->field = base ? base + used : NULL;                                                      \
        used += ((size_t)(n) + 15) & ~(size_t)15; /* keep 64-byte alignment */                     \
    } while (0)
    CARVE(resid, (L + 1) * BT * d);
    CARVE(resid_mid, L * BT * d);
    CARVE(rstd1, L * BT);
    CARVE(rstd2, L * BT);
    CARVE(q, L * BT * d);
    CARVE(k, L * BT * d);
    CARVE(v, L * BT * d);
    CARVE(att, L * att);
    CARVE(merged, L * BT * d);
    CARVE(h1, L * BT * f);
    CARVE(h2, L * BT * f);
    CARVE(lnf, BT * d);
    CARVE(rstdf, BT);
    CARVE(logits, BT * (size_t)c->vocab);
    CARVE(loss_rows, BT);
    CARVE(ln, BT * d);
    CARVE(qkv, BT * 3 * d);
    CARVE(y, BT * d);
    CARVE(ffn_act, BT * f);
    CARVE(dresid, BT * d);
    CARVE(dln, BT * d);
    CARVE(dq, BT * d);
    CARVE(dk, BT * d);
    CARVE(dv, BT * d);
    CARVE(dy, BT * d);
    CARVE(datt, att);
    CARVE(dmerged, BT * d);
    CARVE(dh1, BT * f);
    CARVE(dh2, BT * f);
#undef CARVE
    /* The fused qkv gradient reuses the qkv scratch: the forward's qkv is dead by then. */
    a->dqkv = a->qkv;
    return used;
}

/* Row t of the cos and sin tables (T, hd) of qkv_split_rope_forward: dim j turns by angle
 * t * theta^(-(j mod hd/2) / (hd/2)) in both variants (they differ in which dims pair). */
static void rope_table_row(const ModelConfig *c, int t, float *cs, float *sn) {
    int hd = c->d / c->heads, half = hd / 2;
    for (int j = 0; j < hd; j++) {
        int i = j % half;
        if (c->rope == ROPE_REFERENCE) {
            /* in float32, as the reference computes 1 / base^(arange(0, hd, 2) / hd), the
             * product with t and cat(freqs, freqs).cos() */
            float inv_freq = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)hd);
            float angle = (float)t * inv_freq;
            cs[j] = cosf(angle);
            sn[j] = sinf(angle);
        } else {
            double angle = t * pow(c->rope_theta, -(double)i / half);
            cs[j] = (float)cos(angle);
            sn[j] = (float)sin(angle);
        }
    }
}

static int rope_pair_stride(const ModelConfig *c) {
    return c->rope == ROPE_REFERENCE ? 1 : c->d / c->heads / 2;
}

static int fill_rope_tables(Model *m) {
    const ModelConfig *c = &m->cfg;
    int T = c->seq_len, hd = c->d / c->heads;
    size_t n = (size_t)T * hd;
    float *cs = malloc(2 * n * sizeof(float));
    if (!cs) return -1;
    for (int t = 0; t < T; t++) rope_table_row(c, t, cs + (size_t)t * hd, cs + n + (size_t)t * hd);
    OPS(m)->upload(m->be, m->rope_cos, cs, n * sizeof(float));
    OPS(m)->upload(m->be, m->rope_sin, cs + n, n * sizeof(float));
    free(cs);
    return 0;
}

static size_t param_bytes(const Model *m) {
    return (size_t)m->n_params_padded * sizeof(float);
}

/* Allocates every buffer of m, sized by its config, max_batch, n_params_padded and act_floats;
 * -1 if any allocation failed (the others stay for model_free). */
static int alloc_buffers(Model *m, int with_ema) {
    Backend *be = m->be;
    const BackendOps *ops = be->ops;
    const ModelConfig *cfg = &m->cfg;
    size_t pbytes = param_bytes(m);
    m->params = ops->alloc(be, pbytes);
    m->grads = ops->alloc(be, pbytes);
    m->adam_m = ops->alloc(be, pbytes);
    m->adam_v = ops->alloc(be, pbytes);
    m->ema = with_ema ? ops->alloc(be, pbytes) : NULL;
    m->act_buffer = ops->alloc(be, m->act_floats * sizeof(float));
    size_t BT = (size_t)m->max_batch * cfg->seq_len;
    m->tokens = ops->alloc(be, BT * sizeof(int));
    m->targets = ops->alloc(be, BT * sizeof(int));
    m->weights = ops->alloc(be, BT * sizeof(float));
    size_t rope = (size_t)cfg->seq_len * (cfg->d / cfg->heads) * sizeof(float);
    m->rope_cos = ops->alloc(be, rope);
    m->rope_sin = ops->alloc(be, rope);
    m->loss_rows_host = malloc(BT * sizeof(float));
    int ok = m->params && m->grads && m->adam_m && m->adam_v && (m->ema || !with_ema) &&
             m->act_buffer && m->tokens && m->targets && m->weights && m->rope_cos && m->rope_sin &&
             m->loss_rows_host;
    if (ok && cfg->sub_tokens > 1) {
        size_t codes = (size_t)cfg->vocab * cfg->sub_tokens * sizeof(int);
        m->sub_codes = ops->alloc(be, codes);
        m->sub_ids = ops->alloc(be, BT * cfg->sub_tokens * sizeof(int));
        m->sub_ids_host = malloc(BT * cfg->sub_tokens * sizeof(int));
        ok = m->sub_codes && m->sub_ids && m->sub_ids_host;
        if (ok) ops->upload(be, m->sub_codes, m->sub.codes, codes);
    }
    return ok ? 0 : -1;
}

int model_create(Model *m, const ModelConfig *cfg, Backend *be, int max_batch, int with_ema,
                 Err *err) {
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->be = be;
    m->max_batch = max_batch;
    if (cfg->d % cfg->heads || (cfg->d / cfg->heads) % 2)
        return err_set(err, "model: d=%d must split into heads=%d of even size", cfg->d,
                       cfg->heads);
    if (cfg->sub_tokens > 1) {
        if (cfg->tied_head)
            return err_set(err,
                           "model: sub-tokens (MDM-Prime ell=%d) need an untied head "
                           "(model.tied_head=false): the input embeds digits, the head "
                           "predicts tokens",
                           cfg->sub_tokens);
        if (cfg->sub_tokens > BACKEND_SUBTOKEN_MAX_ELL)
            return err_set(err, "model: at most %d sub-tokens per token, got %d",
                           BACKEND_SUBTOKEN_MAX_ELL, cfg->sub_tokens);
        if (subtok_init(&m->sub, cfg->vocab, cfg->sub_mask_id, cfg->sub_tokens, cfg->sub_permute,
                        err) != 0)
            return -1;
        if (cfg->sub_base != m->sub.base) {
            int want = m->sub.base;
            subtok_free(&m->sub);
            return err_set(err,
                           "model: sub-token base %d, but %d digits over a vocabulary of %d "
                           "need base %d",
                           cfg->sub_base, cfg->sub_tokens, cfg->vocab, want);
        }
    }
    m->n_params_padded = model_param_layout(cfg, m->param_offset, m->param_size);
    m->n_params = model_param_count(cfg);
    m->act_floats = layout_activations(&m->a, NULL, cfg, max_batch);
    if (alloc_buffers(m, with_ema) != 0 || fill_rope_tables(m) != 0) {
        double param_mb = (double)param_bytes(m) * (4.0 + !!with_ema) / 1e6;
        double act_mb = (double)m->act_floats * sizeof(float) / 1e6; /* model_free clears m */
        model_free(m);
        return err_set(err,
                       "model: out of memory (%.1f MB of parameters and optimizer state, "
                       "%.1f MB of activations)",
                       param_mb, act_mb);
    }
    layout_activations(&m->a, m->act_buffer, cfg, max_batch);
    point_tensors(m->params, m->param_offset, &m->p);
    point_tensors(m->grads, m->param_offset, &m->g);
    return 0;
}

void model_free(Model *m) {
    if (!m->be) return;
    Backend *be = m->be;
    void *bufs[] = {m->params,     m->grads,     m->adam_m,  m->adam_v,  m->ema,
                    m->act_buffer, m->tokens,    m->targets, m->weights, m->rope_cos,
                    m->rope_sin,   m->sub_codes, m->sub_ids};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        if (bufs[i]) be->ops->free(be, bufs[i]);
    free(m->loss_rows_host);
    free(m->sub_ids_host);
    subtok_free(&m->sub);
    memset(m, 0, sizeof(*m));
}

/* fan_in of tensor i's rows under PyTorch's nn.Linear default (U(+-1/sqrt(fan_in)) for weight
 * and bias); 0 for tensors that are not Linear parameters. */
static int linear_fan_in(const ModelConfig *c, int i) {
    switch (i) {
    case P_QKVW:
    case P_QKVB:
    case P_OW:
    case P_OB:
    case P_W1:
    case P_W2:
    case P_HEAD:
        return c->d;
    case P_W3:
        return c->ffn;
    default:
        return 0;
    }
}

static float draw_weight(Rng *rng, const ModelConfig *c, int i, ModelInit init, float std) {
    if (i == P_LN1 || i == P_LN2 || i == P_LNF) return 1.0f;
    if (init == MODEL_INIT_TORCH) {
        int fan_in = linear_fan_in(c, i);
        if (!fan_in) return (float)rng_normal(rng); /* nn.Embedding */
        double bound = 1.0 / sqrt((double)fan_in);
        return (float)((2.0 * rng_uniform(rng) - 1.0) * bound);
    }
    if (i == P_QKVB || i == P_OB) return 0.0f;
    /* residual-branch outputs */
    float s = (i == P_OW || i == P_W3) ? std / sqrtf(2.0f * c->layers) : std;
    return (float)(rng_normal(rng) * s);
}

void model_init_params(Model *m, uint64_t seed, ModelInit init, float std) {
    enum { CHUNK = 4096 }; /* staged through the stack: no allocation that could fail */
    float chunk[CHUNK];
    Rng rng;
    rng_seed(&rng, seed, 0x1a17);
    for (int i = 0; i < P_COUNT; i++) {
        float *t = m->params + m->param_offset[i];
        for (long j0 = 0; j0 < m->param_size[i]; j0 += CHUNK) {
            long n = m->param_size[i] - j0 < CHUNK ? m->param_size[i] - j0 : CHUNK;
            for (long j = 0; j < n; j++) chunk[j] = draw_weight(&rng, &m->cfg, i, init, std);
            m->be->ops->upload(m->be, t + j0, chunk, (size_t)n * sizeof(float));
        }
    }
    model_reset_training_state(m);
}

void model_reset_training_state(Model *m) {
    size_t bytes = param_bytes(m);
    const BackendOps *ops = OPS(m);
    if (m->ema) ops->copy(m->be, m->ema, m->params, bytes);
    ops->zero(m->be, m->adam_m, bytes);
    ops->zero(m->be, m->adam_v, bytes);
    ops->zero(m->be, m->grads, bytes);
}

void model_set_attention_mix(Model *m, float future_keep, uint64_t mask_seed) {
    m->mix = (AttentionMix){.active = 1, .future_keep = future_keep, .mask_seed = mask_seed};
}

void model_zero_grad(Model *m) {
    OPS(m)->zero(m->be, m->grads, param_bytes(m));
}

void model_swap_ema(Model *m) {
    if (!m->ema) return;
    float *t = m->params;
    m->params = m->ema;
    m->ema = t;
    point_tensors(m->params, m->param_offset, &m->p);
}

/* The matmul c (rows, cols) = op(a) @ op(b) with op(a) (rows, inner) and op(b) (inner, cols),
 * every matrix packed (its leading dimension is its row length); batch 1, alpha 1, beta 0. */
static MatmulArgs packed_matmul_args(int trans_a, int trans_b, int rows, int cols, int inner,
                                     const float *a, const float *b, float *c) {
    return (MatmulArgs){.trans_a = trans_a,
                        .trans_b = trans_b,
                        .m = rows,
                        .n = cols,
                        .k = inner,
                        .a = a,
                        .lda = trans_a ? rows : inner,
                        .b = b,
                        .ldb = trans_b ? inner : cols,
                        .c = c,
                        .ldc = cols,
                        .batch = 1,
                        .alpha = 1.0f};
}

/* c = op(a) @ op(b), or c += with accumulate (packed_matmul_args' shapes). */
static void dense_matmul(Model *m, int trans_a, int trans_b, int rows, int cols, int inner,
                         const float *a, const float *b, float *c, int accumulate) {
    MatmulArgs x = packed_matmul_args(trans_a, trans_b, rows, cols, inner, a, b, c);
    x.beta = accumulate ? 1.0f : 0.0f;
    OPS(m)->matmul(m->be, &x);
}

/* c = alpha op(a) @ op(b) for each of the batch's B*H heads: per-head packed matrices
 * (packed_matmul_args' shapes) stored one after another. */
static void head_matmul(Model *m, int trans_a, int trans_b, int rows, int cols, int inner,
                        const float *a, const float *b, float *c, float alpha) {
    MatmulArgs x = packed_matmul_args(trans_a, trans_b, rows, cols, inner, a, b, c);
    x.stride_a = (long)rows * inner;
    x.stride_b = (long)inner * cols;
    x.stride_c = (long)rows * cols;
    x.batch = m->batch * m->cfg.heads;
    x.alpha = alpha;
    OPS(m)->matmul(m->be, &x);
}

/* out (N, n_out) = in (N, n_in) @ W^T (+ bias); W is (n_out, n_in). */
static void linear_forward(Model *m, float *out, const float *in, const float *w, const float *bias,
                           int N, int n_in, int n_out) {
    dense_matmul(m, 0, 1, N, n_out, n_in, in, w, out, 0);
    if (bias) OPS(m)->bias_forward(m->be, out, bias, N, n_out);
}

/* din (N, n_in) = dout (N, n_out) @ W, or += with accumulate; W is (n_out, n_in). */
static void linear_input_grad(Model *m, float *din, const float *dout, const float *w, int N,
                              int n_in, int n_out, int accumulate) {
    dense_matmul(m, 0, 0, N, n_in, n_out, dout, w, din, accumulate);
}

/* dW += dout^T @ in, dbias += colsum(dout), din (=, or += when accumulate) dout @ W. */
static void linear_backward(Model *m, float *din, float *dw, float *dbias, const float *dout,
                            const float *in, const float *w, int N, int n_in, int n_out,
                            int accumulate) {
    dense_matmul(m, 1, 0, n_out, n_in, N, dout, in, dw, 1);
    if (dbias) OPS(m)->bias_backward(m->be, dbias, dout, N, n_out);
    if (din) linear_input_grad(m, din, dout, w, N, n_in, n_out, accumulate);
}

/* Layer-l views of the stacked tensors. */
/* Layer l's slices of the stacked per-layer tensors of one parameter-shaped buffer. */
typedef struct LayerParams {
    float *ln1, *qkvw, *qkvb, *ow, *ob, *ln2, *w1, *w2, *w3;
} LayerParams;

typedef struct LayerView {
    float *resid_in, *resid_mid, *resid_out, *rstd1, *rstd2, *q, *k, *v, *att, *merged, *h1, *h2;
    LayerParams w, g; /* weights and their gradients */
} LayerView;

static LayerParams layer_params(float *const *t, const ModelConfig *c, int l) {
    size_t d = c->d, f = c->ffn;
    LayerParams lp = {
        .ln1 = t[P_LN1] + l * d,
        .qkvw = t[P_QKVW] + l * 3 * d * d,
        .qkvb = t[P_QKVB] + l * 3 * d,
        .ow = t[P_OW] + l * d * d,
        .ob = t[P_OB] + l * d,
        .ln2 = t[P_LN2] + l * d,
        .w1 = t[P_W1] + l * f * d,
        .w2 = t[P_W2] + l * f * d,
        .w3 = t[P_W3] + l * d * f,
    };
    return lp;
}

static LayerView layer_view(Model *m, int l) {
    const ModelConfig *c = &m->cfg;
    size_t BT = (size_t)m->max_batch * c->seq_len, d = c->d, f = c->ffn;
    size_t att = (size_t)m->max_batch * c->heads * c->seq_len * c->seq_len;
    const Activations *a = &m->a;
    LayerView v = {
        .resid_in = a->resid + l * BT * d,
        .resid_mid = a->resid_mid + l * BT * d,
        .resid_out = a->resid + (l + 1) * BT * d,
        .rstd1 = a->rstd1 + l * BT,
        .rstd2 = a->rstd2 + l * BT,
        .q = a->q + l * BT * d,
        .k = a->k + l * BT * d,
        .v = a->v + l * BT * d,
        .att = a->att + l * att,
        .merged = a->merged + l * BT * d,
        .h1 = a->h1 + l * BT * f,
        .h2 = a->h2 + l * BT * f,
        .w = layer_params(m->p.t, c, l),
        .g = layer_params(m->g.t, c, l),
    };
    return v;
}

static float *head_weight(Model *m, int grad) {
    float *const *t = grad ? m->g.t : m->p.t;
    return m->cfg.tied_head ? t[P_WTE] : t[P_HEAD];
}

/* Zeroes row 0 of every sequence of the last forward's batch in x (rows of `width`). */
static void zero_first_rows(Model *m, float *x, int width) {
    size_t per_seq = (size_t)m->cfg.seq_len * width;
    for (int b = 0; b < m->batch; b++)
        OPS(m)->zero(m->be, x + b * per_seq, (size_t)width * sizeof(float));
}

/* logits = head(lnf). Shifted, one GEMM over all rows but the last, written one row down:
 * row t of a sequence lands on row t+1, and the last row of sequence b lands on row 0 of
 * sequence b+1, which is then zeroed with the other rows 0. */
static void head_forward(Model *m) {
    const ModelConfig *c = &m->cfg;
    Activations *a = &m->a;
    int N = m->batch * c->seq_len;
    if (!c->shift_logits) {
        linear_forward(m, a->logits, a->lnf, head_weight(m, 0), NULL, N, c->d, c->vocab);
        return;
    }
    if (N > 1)
        linear_forward(m, a->logits + c->vocab, a->lnf, head_weight(m, 0), NULL, N - 1, c->d,
                       c->vocab);
    zero_first_rows(m, a->logits, c->vocab);
}

/* The adjoint of head_forward: dlnf and the head gradient from dlogits (in a->logits). Rows 0
 * are constants of the shifted model, so their dlogits are dropped; that also cuts the
 * cross-sequence pairs of the shifted GEMM, and the last row of every sequence gets dlnf 0. */
static void head_backward(Model *m) {
    const ModelConfig *c = &m->cfg;
    Activations *a = &m->a;
    int N = m->batch * c->seq_len, d = c->d, V = c->vocab;
    if (!c->shift_logits) {
        linear_backward(m, a->dln, head_weight(m, 1), NULL, a->logits, a->lnf, head_weight(m, 0), N,
                        d, V, 0);
        return;
    }
    zero_first_rows(m, a->logits, V);
    if (N > 1)
        linear_backward(m, a->dln, head_weight(m, 1), NULL, a->logits + V, a->lnf,
                        head_weight(m, 0), N - 1, d, V, 0);
    OPS(m)->zero(m->be, a->dln + (size_t)(N - 1) * d, (size_t)d * sizeof(float));
}

/* softmax_forward's mask arguments. */
typedef struct AttentionMask {
    int causal;
    float future_keep;
    uint64_t seed;
} AttentionMask;

/* The mask of this forward: the one-shot mix if set (consumed here), else the configured
 * attention. */
static AttentionMask take_attention_mask(Model *m) {
    AttentionMask mask = {.causal = m->cfg.causal};
    if (m->mix.active) mask = (AttentionMask){1, m->mix.future_keep, m->mix.mask_seed};
    m->mix.active = 0;
    return mask;
}

/* The first residual stream from the input: a token's embedding row, or for a sub-token model
 * the sum of its digit slots' rows (slot 0 first, the rest added in order; a->ln is free
 * scratch until the first layer). */
static void embed_input(Model *m, const int *tokens_host, int N) {
    const ModelConfig *c = &m->cfg;
    const BackendOps *ops = OPS(m);
    Activations *a = &m->a;
    int d = c->d, ell = c->sub_tokens, rows = c->sub_base + 1;
    if (ell <= 1) {
        ops->embedding_forward(m->be, a->resid, m->tokens, m->p.t[P_WTE], N, d);
        return;
    }
    int digits[SUBTOKEN_MAX_ELL];
    for (int i = 0; i < N; i++) {
        subtok_digits(&m->sub, tokens_host[i], digits);
        for (int j = 0; j < ell; j++) m->sub_ids_host[(size_t)j * N + i] = j * rows + digits[j];
    }
    ops->upload(m->be, m->sub_ids, m->sub_ids_host, (size_t)ell * N * sizeof(int));
    ops->embedding_forward(m->be, a->resid, m->sub_ids, m->p.t[P_WTE], N, d);
    for (int j = 1; j < ell; j++) {
        ops->embedding_forward(m->be, a->ln, m->sub_ids + (size_t)j * N, m->p.t[P_WTE], N, d);
        ops->add(m->be, a->resid, a->resid, a->ln, (long)N * d);
    }
}

void model_forward(Model *m, const int *tokens_host, int B) {
    const ModelConfig *c = &m->cfg;
    const BackendOps *ops = OPS(m);
    Backend *be = m->be;
    Activations *a = &m->a;
    int T = c->seq_len, d = c->d, H = c->heads, hd = d / H, N = B * T;
    float scale = 1.0f / sqrtf((float)hd);
    m->batch = B;
    AttentionMask mask = take_attention_mask(m);
    ops->upload(be, m->tokens, tokens_host, (size_t)N * sizeof(int));
    embed_input(m, tokens_host, N);
    for (int l = 0; l < c->layers; l++) {
        LayerView v = layer_view(m, l);
        ops->rmsnorm_forward(be, a->ln, v.rstd1, v.resid_in, v.w.ln1, N, d, c->norm_eps);
        linear_forward(m, a->qkv, a->ln, v.w.qkvw, v.w.qkvb, N, d, 3 * d);
        ops->qkv_split_rope_forward(be, v.q, v.k, v.v, a->qkv, m->rope_cos, m->rope_sin,
                                    rope_pair_stride(c), B, T, H, hd);
        head_matmul(m, 0, 1, T, T, hd, v.q, v.k, v.att, scale);
        ops->softmax_forward(be, v.att, (long)B * H * T, T, mask.causal, mask.future_keep,
                             mask.seed);
        head_matmul(m, 0, 0, T, hd, T, v.att, v.v, a->y, 1.0f);
        ops->heads_merge_forward(be, v.merged, a->y, B, T, H, hd);
        linear_forward(m, v.resid_mid, v.merged, v.w.ow, v.w.ob, N, d, d);
        ops->add(be, v.resid_mid, v.resid_mid, v.resid_in, (long)N * d);

        ops->rmsnorm_forward(be, a->ln, v.rstd2, v.resid_mid, v.w.ln2, N, d, c->norm_eps);
        linear_forward(m, v.h1, a->ln, v.w.w1, NULL, N, d, c->ffn);
        linear_forward(m, v.h2, a->ln, v.w.w2, NULL, N, d, c->ffn);
        ops->swiglu_forward(be, a->ffn_act, v.h1, v.h2, (long)N * c->ffn);
        linear_forward(m, v.resid_out, a->ffn_act, v.w.w3, NULL, N, c->ffn, d);
        ops->add(be, v.resid_out, v.resid_out, v.resid_mid, (long)N * d);
    }
    float *final = a->resid + (size_t)c->layers * m->max_batch * T * d;
    ops->rmsnorm_forward(be, a->lnf, a->rstdf, final, m->p.t[P_LNF], N, d, c->norm_eps);
    head_forward(m);
    if (c->sub_tokens > 1)
        ops->subtoken_filter(be, a->logits, m->sub_ids, m->sub_codes, N, c->vocab, c->sub_tokens,
                             c->sub_base);
}

double model_loss(Model *m, const int *targets_host, const float *weights_host, int want_grad) {
    const BackendOps *ops = OPS(m);
    int N = m->batch * m->cfg.seq_len;
    ops->upload(m->be, m->targets, targets_host, (size_t)N * sizeof(int));
    ops->upload(m->be, m->weights, weights_host, (size_t)N * sizeof(float));
    ops->xent_forward_backward(m->be, m->a.loss_rows, want_grad ? m->a.logits : NULL, m->a.logits,
                               m->targets, m->weights, N, m->cfg.vocab);
    float *rows = m->loss_rows_host;
    ops->download(m->be, rows, m->a.loss_rows, (size_t)N * sizeof(float));
    double sum = 0.0;
    for (int i = 0; i < N; i++) sum += rows[i];
    return sum;
}

static void attention_backward(Model *m, const LayerView *v) {
    const ModelConfig *c = &m->cfg;
    const BackendOps *ops = OPS(m);
    Backend *be = m->be;
    Activations *a = &m->a;
    int B = m->batch, T = c->seq_len, d = c->d, H = c->heads, hd = d / H, N = B * T;
    float scale = 1.0f / sqrtf((float)hd);
    /* resid_mid = resid_in + o(merged): a->dresid is d(resid_mid) here. */
    linear_backward(m, a->dmerged, v->g.ow, v->g.ob, a->dresid, v->merged, v->w.ow, N, d, d, 0);
    ops->heads_merge_backward(be, a->dy, a->dmerged, B, T, H, hd);
    /* y = att v */
    head_matmul(m, 0, 1, T, T, hd, a->dy, v->v, a->datt, 1.0f);
    head_matmul(m, 1, 0, T, hd, T, v->att, a->dy, a->dv, 1.0f);
    ops->softmax_backward(be, a->datt, v->att, (long)B * H * T, T);
    /* att_pre = scale q k^T */
    head_matmul(m, 0, 0, T, hd, T, a->datt, v->k, a->dq, scale);
    head_matmul(m, 1, 0, T, hd, T, a->datt, v->q, a->dk, scale);
    ops->qkv_split_rope_backward(be, a->dqkv, a->dq, a->dk, a->dv, m->rope_cos, m->rope_sin,
                                 rope_pair_stride(c), B, T, H, hd);
    /* recompute the normed input instead of storing it per layer */
    ops->rmsnorm_forward(be, a->ln, v->rstd1, v->resid_in, v->w.ln1, N, d, c->norm_eps);
    linear_backward(m, a->dln, v->g.qkvw, v->g.qkvb, a->dqkv, a->ln, v->w.qkvw, N, d, 3 * d, 0);
    ops->rmsnorm_backward(be, a->dresid, v->g.ln1, a->dln, v->resid_in, v->w.ln1, v->rstd1, N, d);
}

static void ffn_backward(Model *m, const LayerView *v) {
    const ModelConfig *c = &m->cfg;
    const BackendOps *ops = OPS(m);
    Backend *be = m->be;
    Activations *a = &m->a;
    int N = m->batch * c->seq_len, d = c->d, f = c->ffn;
    /* resid_out = resid_mid + w3(swiglu): a->dresid is d(resid_out). */
    ops->swiglu_forward(be, a->ffn_act, v->h1, v->h2, (long)N * f);
    linear_backward(m, NULL, v->g.w3, NULL, a->dresid, a->ffn_act, v->w.w3, N, f, d, 0);
    float *dffn = a->ffn_act; /* the recomputed activation is dead after dW3 */
    linear_input_grad(m, dffn, a->dresid, v->w.w3, N, f, d, 0);
    ops->swiglu_backward(be, a->dh1, a->dh2, dffn, v->h1, v->h2, (long)N * f);
    ops->rmsnorm_forward(be, a->ln, v->rstd2, v->resid_mid, v->w.ln2, N, d, c->norm_eps);
    linear_backward(m, a->dln, v->g.w1, NULL, a->dh1, a->ln, v->w.w1, N, d, f, 0);
    linear_backward(m, a->dln, v->g.w2, NULL, a->dh2, a->ln, v->w.w2, N, d, f, 1);
    ops->rmsnorm_backward(be, a->dresid, v->g.ln2, a->dln, v->resid_mid, v->w.ln2, v->rstd2, N, d);
}

void model_backward(Model *m) {
    const ModelConfig *c = &m->cfg;
    const BackendOps *ops = OPS(m);
    Backend *be = m->be;
    Activations *a = &m->a;
    int N = m->batch * c->seq_len, d = c->d;
    head_backward(m); /* a->logits holds dlogits (model_loss with want_grad) */
    ops->zero(be, a->dresid, (size_t)N * d * sizeof(float));
    float *final = a->resid + (size_t)c->layers * m->max_batch * c->seq_len * d;
    ops->rmsnorm_backward(be, a->dresid, m->g.t[P_LNF], a->dln, final, m->p.t[P_LNF], a->rstdf, N,
                          d);
    for (int l = c->layers - 1; l >= 0; l--) {
        LayerView v = layer_view(m, l);
        ffn_backward(m, &v);
        attention_backward(m, &v);
    }
    if (c->sub_tokens <= 1) {
        ops->embedding_backward(be, m->g.t[P_WTE], m->tokens, a->dresid, N, d, c->vocab);
        return;
    }
    long rows = model_embedding_rows(c);
    for (int j = 0; j < c->sub_tokens; j++) /* every slot's row gets the whole input gradient */
        ops->embedding_backward(be, m->g.t[P_WTE], m->sub_ids + (size_t)j * N, a->dresid, N, d,
                                (int)rows);
}

void model_logits_to_host(Model *m, float *out) {
    size_t n = (size_t)m->batch * m->cfg.seq_len * m->cfg.vocab;
    OPS(m)->download(m->be, out, m->a.logits, n * sizeof(float));
}
