/* Every built backend against the reference backend, and the registry.
 *  - matmul on the Sudoku model's shapes (full size: the linear layer 5184x768x256 in the
 *    three transpose patterns of forward and backward, and the batched attention products
 *    256 x (162x162x32, 162x32x162) with the model's strides and alpha) and on small odd
 *    shapes covering all four transpose cases, padded leading dimensions, batch strides,
 *    a broadcast (zero-stride) operand, alpha, beta, beta = 0 over NaN, k = 0, alpha = 0:
 *    norm-wise relative error to ref <= 1e-5 (entries outside C's m x n never written);
 *  - a second identical call gives bit-identical results;
 *  - every other op on shapes large enough to run in parallel: copies and permutations
 *    bit-identical to ref, float math within 1e-5 norm-wise relative error per output; the
 *    cases cover as many ops as BackendOps has;
 *  - every op pointer of every backend is filled; the sticky status (first error kept,
 *    reported by sync, real failures recorded instead of aborting);
 *  - create/destroy work; "auto" is the first backend; threads <= 0 means the cores not busy
 *    (backend_threads_for_load's rule);
 *    unknown names fail with a message that names the built backends. */
#include "backends/backend.h"
#include "check.h"

#include <omp.h>
#include <stddef.h>
#include <string.h>

typedef struct Shape {
    const char *name;
    int ta, tb, m, n, k, batch;
    int pad;       /* extra columns in every leading dimension */
    long gap;      /* extra elements between batch items */
    int broadcast; /* stride_b = 0: one B for the whole batch */
    float alpha, beta;
    int nan_c; /* C starts as NaN (only with beta = 0) */
} Shape;

static const Shape shapes[] = {
    /* the model, full size */
    {"linear y = x W^T", 0, 1, 5184, 768, 256, 1, 0, 0, 0, 1.0f, 0.0f, 1},
    {"linear dx = dy W", 0, 0, 5184, 256, 768, 1, 0, 0, 0, 1.0f, 0.0f, 0},
    {"linear dW += dy^T x", 1, 0, 768, 256, 5184, 1, 0, 0, 0, 1.0f, 1.0f, 0},
    {"head y = x W^T", 0, 1, 5184, 11, 256, 1, 0, 0, 0, 1.0f, 0.0f, 0},
    {"scores = q k^T / sqrt(hd)", 0, 1, 162, 162, 32, 256, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    {"y = att v", 0, 0, 162, 32, 162, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"datt = dy v^T", 0, 1, 162, 162, 32, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"dv = att^T dy", 1, 0, 162, 32, 162, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"dq = dscores k", 0, 0, 162, 32, 162, 64, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    {"dk = dscores^T q", 1, 0, 162, 32, 162, 64, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    /* odd shapes, all transpose cases */
    {"NN odd", 0, 0, 37, 29, 45, 3, 3, 11, 0, 0.5f, -1.5f, 0},
    {"NT odd", 0, 1, 37, 29, 45, 3, 3, 11, 0, 0.5f, 0.0f, 1},
    {"TN odd", 1, 0, 37, 29, 45, 3, 3, 11, 0, -2.0f, 1.0f, 0},
    {"TT odd", 1, 1, 37, 29, 45, 3, 3, 11, 0, 1.0f, 0.25f, 0},
    {"TT beta 0", 1, 1, 33, 70, 300, 2, 1, 0, 0, 1.0f, 0.0f, 1},
    {"NT broadcast B", 0, 1, 20, 24, 16, 5, 2, 3, 1, 1.0f, 0.0f, 0},
    {"NN broadcast B", 0, 0, 20, 24, 16, 5, 0, 0, 1, 1.0f, 1.0f, 0},
    {"single row", 0, 1, 1, 300, 64, 2, 0, 0, 0, 1.0f, 0.0f, 0},
    {"k = 0", 0, 0, 8, 9, 0, 2, 1, 0, 0, 1.0f, 0.5f, 0},
    {"alpha = 0", 1, 0, 8, 9, 10, 2, 1, 0, 0, 0.0f, 0.0f, 1},
};

/* A matmul problem in host memory: operands, the starting C and the call arguments. */
typedef struct Problem {
    MatmulArgs args; /* pointers filled per backend */
    long na, nb, nc;
    float *a, *b, *c0;
} Problem;

static Problem problem_make(const Shape *s, Rng *r) {
    Problem p = {0};
    int rows_a = s->ta ? s->k : s->m, cols_a = s->ta ? s->m : s->k;
    int rows_b = s->tb ? s->n : s->k, cols_b = s->tb ? s->k : s->n;
    MatmulArgs *g = &p.args;
    *g = (MatmulArgs){.trans_a = s->ta,
                      .trans_b = s->tb,
                      .m = s->m,
                      .n = s->n,
                      .k = s->k,
                      .lda = cols_a + s->pad,
                      .ldb = cols_b + s->pad,
                      .ldc = s->n + s->pad,
                      .batch = s->batch,
                      .alpha = s->alpha,
                      .beta = s->beta};
    g->stride_a = (long)rows_a * g->lda + s->gap;
    g->stride_b = s->broadcast ? 0 : (long)rows_b * g->ldb + s->gap;
    g->stride_c = (long)s->m * g->ldc + s->gap;
    p.na = g->stride_a * s->batch;
    p.nb = s->broadcast ? (long)rows_b * g->ldb : g->stride_b * s->batch;
    p.nc = g->stride_c * s->batch;
    p.a = malloc((size_t)p.na * sizeof(float));
    p.b = malloc((size_t)p.nb * sizeof(float));
    p.c0 = malloc((size_t)p.nc * sizeof(float));
    for (long i = 0; i < p.na; i++) p.a[i] = (float)(2.0 * rng_uniform(r) - 1.0);
    for (long i = 0; i < p.nb; i++) p.b[i] = (float)(2.0 * rng_uniform(r) - 1.0);
    for (long i = 0; i < p.nc; i++) p.c0[i] = s->nan_c ? NAN : (float)(2.0 * rng_uniform(r) - 1.0);
    return p;
}

static void problem_free(Problem *p) {
    free(p->a), free(p->b), free(p->c0);
}

/* Run the problem on a backend; returns C (all nc entries, padding included). */
static float *problem_run(Backend *be, const Problem *p, int times) {
    float *a = be->ops->alloc(be, (size_t)p->na * sizeof(float));
    float *b = be->ops->alloc(be, (size_t)p->nb * sizeof(float));
    float *c = be->ops->alloc(be, (size_t)p->nc * sizeof(float));
    float *out = malloc((size_t)p->nc * sizeof(float));
    if (!a || !b || !c || !out) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    be->ops->upload(be, a, p->a, (size_t)p->na * sizeof(float));
    be->ops->upload(be, b, p->b, (size_t)p->nb * sizeof(float));
    MatmulArgs g = p->args;
    g.a = a, g.b = b, g.c = c;
    for (int t = 0; t < times; t++) {
        be->ops->upload(be, c, p->c0, (size_t)p->nc * sizeof(float));
        be->ops->matmul(be, &g);
    }
    be->ops->sync(be);
    be->ops->download(be, out, c, (size_t)p->nc * sizeof(float));
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, c);
    return out;
}

static int in_result(const MatmulArgs *g, long e) {
    long i = e % g->stride_c / g->ldc, j = e % g->stride_c % g->ldc;
    return i < g->m && j < g->n;
}

/* ||got - want|| / ||want|| over C's m x n entries; padding must be untouched. */
static void compare(const char *backend, const Shape *s, const Problem *p, const float *got,
                    const float *want) {
    double diff = 0.0, norm = 0.0;
    int finite = 1, untouched = 1;
    for (long e = 0; e < p->nc; e++) {
        if (!in_result(&p->args, e)) {
            untouched &= memcmp(&got[e], &p->c0[e], sizeof(float)) == 0;
            continue;
        }
        finite &= isfinite(got[e]);
        diff += ((double)got[e] - want[e]) * ((double)got[e] - want[e]);
        norm += (double)want[e] * want[e];
    }
    double rel = norm > 0 ? sqrt(diff / norm) : sqrt(diff);
    CHECK_MSG(finite, "%s %s: non-finite entries", backend, s->name);
    CHECK_MSG(rel <= 1e-5, "%s %s: relative error to ref %.3g", backend, s->name, rel);
    CHECK_MSG(untouched, "%s %s: wrote outside C's m x n entries", backend, s->name);
}

static void test_matmul_parity(Backend *ref, Backend *be) {
    Rng r;
    rng_seed(&r, 2024, 0);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i];
        Problem p = problem_make(s, &r);
        float *want = problem_run(ref, &p, 1);
        float *got = problem_run(be, &p, 1);
        compare(be->ops->name, s, &p, got, want);
        if (i < 10) { /* the model's shapes: a second call (cached primitive) is identical */
            float *again = problem_run(be, &p, 2);
            CHECK_MSG(memcmp(got, again, (size_t)p.nc * sizeof(float)) == 0,
                      "%s %s: repeated call is not bit-identical", be->ops->name, s->name);
            free(again);
        }
        free(want), free(got);
        problem_free(&p);
    }
}

/* ---- every other op against ref ----------------------------------------------------- */

/* Shapes large enough that every op runs in parallel (>= 32768 elements). */
enum { PB = 8, PT = 40, PH = 4, PHD = 16, PD = PH * PHD, PN = PB * PT, PFF = 3 * PD, PV = 50 };
enum { PROWS = PB * PH * PT, PX = PN * PFF }; /* attention rows; floats per input array */

/* Host inputs shared by every case. */
typedef struct Inputs {
    float *x, *y, *z;  /* PX normal floats each */
    float *pos;        /* PX floats in [0.5, 1.5): rstd, second moments */
    int tokens[PN];    /* in [0, PV) */
    float weights[PN]; /* loss weights, every third 0 */
    float cs[PT * PHD], sn[PT * PHD];
} Inputs;

/* Device buffers of one case, freed together. */
typedef struct Bufs {
    Backend *be;
    void *p[16];
    int n;
} Bufs;

/* A buffer of `floats` 4-byte elements (float or int), filled from host unless NULL. */
static void *buf(Bufs *b, const void *host, long floats) {
    size_t bytes = (size_t)floats * sizeof(float);
    void *p = b->be->ops->alloc(b->be, bytes);
    if (!p || b->n == 16) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (host) b->be->ops->upload(b->be, p, host, bytes);
    return b->p[b->n++] = p;
}

static void bufs_free(Bufs *b) {
    for (int i = 0; i < b->n; i++) b->be->ops->free(b->be, b->p[i]);
}

/* The host copies of a case's outputs. */
typedef struct Outs {
    const char *what[12];
    float *data[12];
    long n[12];
    int exact[12]; /* a copy or permutation: must be bit-identical to ref */
    int count;
} Outs;

enum { FLOAT_MATH = 0, EXACT = 1 };

static void take(Outs *o, Backend *be, int exact, const char *what, const void *dev, long n) {
    int i = o->count++;
    o->what[i] = what;
    o->n[i] = n;
    o->exact[i] = exact;
    o->data[i] = malloc((size_t)n * sizeof(float));
    be->ops->download(be, o->data[i], dev, (size_t)n * sizeof(float));
}

static void outs_free(Outs *o) {
    for (int i = 0; i < o->count; i++) free(o->data[i]);
}

static void case_memory(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *x = buf(&b, in->x, PX), *c = buf(&b, NULL, PX);
    be->ops->copy(be, c, x, PX * sizeof(float));
    be->ops->zero(be, c + 100, 1000 * sizeof(float));
    take(o, be, EXACT, "upload, copy, zero", c, PX);
    bufs_free(&b);
}

static void case_embedding(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    int *tok = buf(&b, in->tokens, PN);
    float *wte = buf(&b, in->x, PV * PD), *out = buf(&b, NULL, PN * PD);
    float *dwte = buf(&b, in->y, PV * PD), *dout = buf(&b, in->z, PN * PD);
    be->ops->embedding_forward(be, out, tok, wte, PN, PD);
    take(o, be, EXACT, "out", out, PN * PD);
    be->ops->embedding_backward(be, dwte, tok, dout, PN, PD, PV);
    take(o, be, FLOAT_MATH, "dwte", dwte, PV * PD);
    bufs_free(&b);
}

/* The backward gets inputs of its own, not the forward's outputs. */
static void case_rmsnorm(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *x = buf(&b, in->x, PN * PFF), *w = buf(&b, in->y, PFF);
    float *out = buf(&b, NULL, PN * PFF), *rstd = buf(&b, NULL, PN);
    be->ops->rmsnorm_forward(be, out, rstd, x, w, PN, PFF, 1e-5f);
    take(o, be, FLOAT_MATH, "out", out, PN * PFF);
    take(o, be, FLOAT_MATH, "rstd", rstd, PN);
    float *dx = buf(&b, in->z, PN * PFF), *dw = buf(&b, in->z, PFF), *dout = out;
    be->ops->upload(be, dout, in->y, (size_t)PN * PFF * sizeof(float));
    be->ops->upload(be, rstd, in->pos, PN * sizeof(float));
    be->ops->rmsnorm_backward(be, dx, dw, dout, x, w, rstd, PN, PFF);
    take(o, be, FLOAT_MATH, "dx", dx, PN * PFF);
    take(o, be, FLOAT_MATH, "dw", dw, PFF);
    bufs_free(&b);
}

static void case_bias(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *x = buf(&b, in->x, PN * PFF), *bias = buf(&b, in->y, PFF);
    be->ops->bias_forward(be, x, bias, PN, PFF);
    take(o, be, FLOAT_MATH, "x + bias", x, PN * PFF);
    float *dbias = buf(&b, in->z, PFF), *dout = buf(&b, in->y, PN * PFF);
    be->ops->bias_backward(be, dbias, dout, PN, PFF);
    take(o, be, FLOAT_MATH, "dbias", dbias, PFF);
    bufs_free(&b);
}

/* Both RoPE variants: the standard half-split pairs and the reference's adjacent pairs. */
static void case_qkv_split_rope(Backend *be, const Inputs *in, Outs *o) {
    static const int strides[2] = {PHD / 2, 1};
    static const char *const q_what[2] = {"q, k, v (standard)", "q, k, v (reference)"};
    static const char *const dqkv_what[2] = {"dqkv (standard)", "dqkv (reference)"};
    Bufs b = {.be = be};
    float *qkv = buf(&b, in->x, PX), *cs = buf(&b, in->cs, PT * PHD);
    float *sn = buf(&b, in->sn, PT * PHD), *q = buf(&b, NULL, PX), *dqkv = buf(&b, in->z, PX);
    const float *g = qkv; /* the backward's dq, dk, dv */
    for (int i = 0; i < 2; i++) {
        be->ops->qkv_split_rope_forward(be, q, q + PN * PD, q + 2 * PN * PD, qkv, cs, sn,
                                        strides[i], PB, PT, PH, PHD);
        take(o, be, FLOAT_MATH, q_what[i], q, PX);
        be->ops->qkv_split_rope_backward(be, dqkv, g, g + PN * PD, g + 2 * PN * PD, cs, sn,
                                         strides[i], PB, PT, PH, PHD);
        take(o, be, FLOAT_MATH, dqkv_what[i], dqkv, PX);
    }
    bufs_free(&b);
}

static void case_heads_merge(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *y = buf(&b, in->x, PN * PD), *out = buf(&b, in->y, PN * PD);
    float *dy = buf(&b, in->z, PN * PD);
    be->ops->heads_merge_forward(be, out, y, PB, PT, PH, PHD);
    take(o, be, EXACT, "out", out, PN * PD);
    be->ops->heads_merge_backward(be, dy, y, PB, PT, PH, PHD);
    take(o, be, EXACT, "dy", dy, PN * PD);
    bufs_free(&b);
}

/* Full, causal and partially causal attention; the backward on probabilities of its own. */
static void case_softmax(Backend *be, const Inputs *in, Outs *o) {
    static const char *const modes[3] = {"full", "causal", "partially causal"};
    Bufs b = {.be = be};
    float *att = buf(&b, NULL, PROWS * PT);
    for (int mode = 0; mode < 3; mode++) {
        be->ops->upload(be, att, in->x, (size_t)PROWS * PT * sizeof(float));
        be->ops->softmax_forward(be, att, PROWS, PT, mode > 0, mode == 2 ? 0.4f : 0.0f, 99);
        take(o, be, FLOAT_MATH, modes[mode], att, PROWS * PT);
    }
    float *datt = buf(&b, in->y, PROWS * PT);
    be->ops->upload(be, att, in->pos, (size_t)PROWS * PT * sizeof(float));
    be->ops->softmax_backward(be, datt, att, PROWS, PT);
    take(o, be, FLOAT_MATH, "datt", datt, PROWS * PT);
    bufs_free(&b);
}

static void case_elementwise(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *x = buf(&b, in->x, PX), *y = buf(&b, in->y, PX), *z = buf(&b, in->z, PX);
    float *out = buf(&b, NULL, PX), *out2 = buf(&b, NULL, PX);
    be->ops->swiglu_forward(be, out, x, y, PX);
    take(o, be, FLOAT_MATH, "swiglu out", out, PX);
    be->ops->swiglu_backward(be, out, out2, z, x, y, PX);
    take(o, be, FLOAT_MATH, "swiglu da", out, PX);
    take(o, be, FLOAT_MATH, "swiglu db", out2, PX);
    be->ops->add(be, out, x, y, PX);
    take(o, be, FLOAT_MATH, "add", out, PX);
    be->ops->scale(be, out, -0.375f, PX);
    take(o, be, FLOAT_MATH, "scale", out, PX);
    be->ops->ema_update(be, out, z, PX, 0.99f);
    take(o, be, FLOAT_MATH, "ema_update", out, PX);
    float s = (float)be->ops->sumsq(be, x, PX);
    be->ops->upload(be, out, &s, sizeof s);
    take(o, be, FLOAT_MATH, "sumsq", out, 1);
    bufs_free(&b);
}

static void case_xent_forward_backward(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *logits = buf(&b, in->x, PN * PV), *w = buf(&b, in->weights, PN);
    int *tg = buf(&b, in->tokens, PN);
    float *loss = buf(&b, NULL, PN), *dlogits = buf(&b, NULL, PN * PV);
    be->ops->xent_forward_backward(be, loss, dlogits, logits, tg, w, PN, PV);
    take(o, be, FLOAT_MATH, "loss_rows", loss, PN);
    take(o, be, FLOAT_MATH, "dlogits", dlogits, PN * PV);
    bufs_free(&b);
}

/* With a token excluded, and with none. */
static void case_max_log_prob(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *logits = buf(&b, in->x, PX), *out = buf(&b, NULL, PX / PV);
    be->ops->max_log_prob(be, out, logits, PX / PV, PV, 3);
    take(o, be, FLOAT_MATH, "exclude 3", out, PX / PV);
    be->ops->max_log_prob(be, out, logits, PX / PV, PV, -1);
    take(o, be, FLOAT_MATH, "exclude none", out, PX / PV);
    bufs_free(&b);
}

/* MDM-Prime's filter: 2 digits of base 7 over the 50 ids (49 data tokens, MASK = 49 with the
 * all-masked code); each row's digits known or masked at random. Exact: it only writes -inf. */
static void case_subtoken_filter(Backend *be, const Inputs *in, Outs *o) {
    enum { ELL = 2, BASE = 7 };
    int codes_h[PV * ELL], ids_h[ELL * PN];
    for (int v = 0; v < PV; v++) {
        codes_h[v * ELL] = v < PV - 1 ? v / BASE : BASE;
        codes_h[v * ELL + 1] = v < PV - 1 ? v % BASE : BASE;
    }
    for (int i = 0; i < PN; i++) {
        int t = in->tokens[i] % (PV - 1);
        for (int j = 0; j < ELL; j++) {
            int masked = (in->tokens[(i * 7 + j * 13) % PN] % 3) == 0;
            ids_h[j * PN + i] = j * (BASE + 1) + (masked ? BASE : codes_h[t * ELL + j]);
        }
    }
    Bufs b = {.be = be};
    float *logits = buf(&b, in->x, PN * PV);
    int *codes = buf(&b, codes_h, PV * ELL), *ids = buf(&b, ids_h, ELL * PN);
    be->ops->subtoken_filter(be, logits, ids, codes, PN, PV, ELL, BASE);
    take(o, be, EXACT, "logits", logits, PN * PV);
    bufs_free(&b);
}

static void case_adamw(Backend *be, const Inputs *in, Outs *o) {
    Bufs b = {.be = be};
    float *p = buf(&b, in->x, PX), *g = buf(&b, in->y, PX), *m = buf(&b, in->z, PX);
    float *v = buf(&b, in->pos, PX);
    be->ops->adamw(be, p, g, m, v, PX, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.5f, 3);
    take(o, be, FLOAT_MATH, "params", p, PX);
    take(o, be, FLOAT_MATH, "m", m, PX);
    take(o, be, FLOAT_MATH, "v", v, PX);
    bufs_free(&b);
}

typedef struct OpCase {
    const char *ops; /* the BackendOps members it exercises, space-separated */
    void (*run)(Backend *be, const Inputs *in, Outs *out);
} OpCase;

static const OpCase op_cases[] = {
    {"alloc free upload download copy zero", case_memory},
    {"embedding_forward embedding_backward", case_embedding},
    {"rmsnorm_forward rmsnorm_backward", case_rmsnorm},
    {"bias_forward bias_backward", case_bias},
    {"qkv_split_rope_forward qkv_split_rope_backward", case_qkv_split_rope},
    {"heads_merge_forward heads_merge_backward", case_heads_merge},
    {"softmax_forward softmax_backward", case_softmax},
    {"swiglu_forward swiglu_backward add scale ema_update sumsq", case_elementwise},
    {"xent_forward_backward", case_xent_forward_backward},
    {"max_log_prob", case_max_log_prob},
    {"subtoken_filter", case_subtoken_filter},
    {"adamw", case_adamw},
};
/* The ops this file checks outside op_cases: create and destroy (test_registry), matmul
 * (test_matmul_parity) and sync (test_status). */
enum { OPS_ELSEWHERE = 4 };

static Inputs *inputs_make(void) {
    Inputs *in = calloc(1, sizeof *in);
    Rng r;
    rng_seed(&r, 77, 0);
    float **arrays[4] = {&in->x, &in->y, &in->z, &in->pos};
    for (int a = 0; a < 4; a++) {
        float *p = *arrays[a] = malloc(PX * sizeof(float));
        for (long i = 0; i < PX; i++)
            p[i] = a < 3 ? (float)(2.0 * rng_normal(&r)) : (float)(0.5 + rng_uniform(&r));
    }
    for (int i = 0; i < PN; i++) {
        in->tokens[i] = (int)rng_below(&r, PV);
        in->weights[i] = i % 3 ? (float)(0.5 + rng_uniform(&r)) : 0.0f;
    }
    for (int t = 0; t < PT; t++)
        for (int j = 0; j < PHD; j++) {
            double angle = t * pow(10000.0, -2.0 * (j % (PHD / 2)) / PHD);
            in->cs[t * PHD + j] = (float)cos(angle);
            in->sn[t * PHD + j] = (float)sin(angle);
        }
    return in;
}

static void inputs_free(Inputs *in) {
    free(in->x), free(in->y), free(in->z), free(in->pos), free(in);
}

/* Norm-wise relative error of got to want; non-finite entries must match exactly. */
static double rel_error(const float *got, const float *want, long n, int *nonfinite_match) {
    double diff = 0.0, norm = 0.0;
    *nonfinite_match = 1;
    for (long e = 0; e < n; e++) {
        if (!isfinite(want[e]) || !isfinite(got[e])) {
            *nonfinite_match &= memcmp(&got[e], &want[e], sizeof(float)) == 0;
            continue;
        }
        diff += ((double)got[e] - want[e]) * ((double)got[e] - want[e]);
        norm += (double)want[e] * want[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static void compare_case(const char *backend, const OpCase *c, const Outs *got, const Outs *want) {
    for (int i = 0; i < want->count; i++) {
        long n = want->n[i];
        if (want->exact[i]) {
            CHECK_MSG(memcmp(got->data[i], want->data[i], (size_t)n * sizeof(float)) == 0,
                      "%s %s (%s): not bit-identical to ref", backend, c->ops, want->what[i]);
            continue;
        }
        int nonfinite_match;
        double rel = rel_error(got->data[i], want->data[i], n, &nonfinite_match);
        CHECK_MSG(nonfinite_match && rel <= 1e-5, "%s %s (%s): relative error to ref %.3g%s",
                  backend, c->ops, want->what[i], rel,
                  nonfinite_match ? "" : ", non-finite entries differ");
    }
}

static void test_op_parity(Backend *ref, Backend *be, const Inputs *in) {
    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
        Outs want = {0}, got = {0};
        op_cases[i].run(ref, in, &want);
        op_cases[i].run(be, in, &got);
        compare_case(be->ops->name, &op_cases[i], &got, &want);
        outs_free(&want), outs_free(&got);
    }
}

/* ---- the contract ------------------------------------------------------------------- */

_Static_assert(offsetof(BackendOps, create) == 2 * sizeof(const char *) + sizeof(void *),
               "BackendOps: name, description and config, then the op pointers");
_Static_assert((sizeof(BackendOps) - offsetof(BackendOps, create)) % sizeof(void (*)(void)) == 0,
               "BackendOps: only op pointers after config");

static int op_slots(void) {
    return (int)((sizeof(BackendOps) - offsetof(BackendOps, create)) / sizeof(void (*)(void)));
}

/* Every op pointer of the table is filled (walks the struct, so a new op is covered). */
static void test_ops_complete(const BackendOps *o) {
    CHECK_MSG(o->name && o->description, "a backend has a name and a description");
    const unsigned char *slots = (const unsigned char *)o + offsetof(BackendOps, create);
    for (int i = 0; i < op_slots(); i++) {
        void (*fn)(void);
        memcpy(&fn, slots + (size_t)i * sizeof fn, sizeof fn);
        CHECK_MSG(fn != NULL, "backend %s: op pointer %d of BackendOps is NULL", o->name, i);
    }
}

/* op_cases and the tests named by OPS_ELSEWHERE exercise as many ops as BackendOps has. */
static void test_parity_covers_every_op(void) {
    int covered = OPS_ELSEWHERE;
    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++)
        for (const char *c = op_cases[i].ops; *c; c++) covered += c[1] == ' ' || c[1] == '\0';
    CHECK_MSG(covered == op_slots(), "the parity test covers %d ops, BackendOps has %d", covered,
              op_slots());
}

/* The sticky status: sync returns 0 until an op fails; backend_fail keeps the first error,
 * sync returns it and backend_check names the backend and the op. Real failures are
 * recorded, not fatal: ref's matmul out of memory for its transposed copy of B, oneDNN
 * refusing a primitive (a negative leading dimension). */
static void test_status(const BackendOps *o) {
    Backend be;
    Err err = {{0}};
    if (backend_create(&be, o->name, 1, &err) != 0) return;
    CHECK_MSG(be.ops->sync(&be) == 0 && backend_check(&be, &err) == 0, "%s: fresh status", o->name);
    float a[8] = {0}, b[8] = {0}, c[8] = {0};
    MatmulArgs g = {.a = a, .b = b, .c = c, .batch = 1, .alpha = 1.0f};
    g.m = g.n = g.k = g.lda = g.ldb = g.ldc = 2;
    if (strcmp(o->name, "ref") == 0) { /* 2^56 bytes of transposed B: no allocator gives that */
        g.trans_b = 1, g.m = 1, g.batch = 1024;
        g.n = g.k = g.lda = g.ldb = g.ldc = 1 << 22;
    } else if (strcmp(o->name, "onednn") == 0) {
        g.lda = -2;
    } else {
        backend_fail(&be, "matmul: a simulated failure");
    }
    be.ops->matmul(&be, &g);
    backend_fail(&be, "scale: a later failure");
    CHECK_MSG(be.ops->sync(&be) != 0, "%s: sync reports the failure", o->name);
    CHECK(backend_check(&be, &err) != 0);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "backend '%s': matmul: ", o->name);
    CHECK_MSG(strncmp(err.msg, prefix, strlen(prefix)) == 0 && !strstr(err.msg, "later"),
              "%s: the first failure, named: %s", o->name, err.msg);
    CHECK_MSG(be.ops->sync(&be) != 0, "%s: the status is sticky", o->name);
    backend_destroy(&be);
}

static void test_registry(void) {
    int n = backend_count();
    CHECK(n >= 1);
    CHECK_MSG(strcmp(backend_at(n - 1)->name, "ref") == 0, "ref is the last resort");
    CHECK(backend_at(-1) == NULL && backend_at(n) == NULL);
    for (int i = 0; i < n; i++) {
        const BackendOps *o = backend_at(i);
        CHECK_MSG(backend_find(o->name) == o, "backend_find(%s)", o->name);
        CHECK_MSG(strstr(backend_names(), o->name) != NULL, "backend_names lists %s", o->name);
    }
    CHECK(backend_find("nope") == NULL);
    CHECK(backend_find("") == NULL);
    CHECK(backend_find(NULL) == NULL);

    Backend be;
    Err err = {{0}};
    CHECK(backend_create(&be, "nope", 1, &err) != 0);
    CHECK_MSG(strstr(err.msg, "nope") != NULL, "message names the request: %s", err.msg);
    for (int i = 0; i < n; i++)
        CHECK_MSG(strstr(err.msg, backend_at(i)->name) != NULL, "message lists %s: %s",
                  backend_at(i)->name, err.msg);
    CHECK(be.ops == NULL && be.impl == NULL);

    CHECK(backend_create(&be, "auto", 0, &err) == 0);
    CHECK(be.ops == backend_at(0));
    /* threads 0: the cores not busy (load varies while tests run: a range, and the rule) */
    CHECK_MSG(be.threads >= 1 && be.threads <= omp_get_num_procs(), "threads 0 -> %d of %d cores",
              be.threads, omp_get_num_procs());
    CHECK(backend_threads_for_load(2, 0.1, 1) == 2);   /* idle: every core */
    CHECK(backend_threads_for_load(2, 3.6, 3) == 1);   /* two busy jobs: one thread */
    CHECK(backend_threads_for_load(8, 2.4, 3) == 6);   /* two of eight busy */
    CHECK(backend_threads_for_load(2, 4.0, 1) == 2);   /* a finished job's lingering load */
    CHECK(backend_threads_for_load(4, 1.0, 9) == 3);   /* a burst of runnable entities */
    CHECK(backend_threads_for_load(2, 40.0, 50) == 1); /* never below one */
    backend_destroy(&be);
    CHECK(be.ops == NULL && be.impl == NULL);

    for (int i = 0; i < n; i++) { /* create, use, destroy, twice */
        for (int round = 0; round < 2; round++) {
            CHECK(backend_create(&be, backend_at(i)->name, 1, &err) == 0);
            CHECK(be.threads == 1);
            float *p = be.ops->alloc(&be, 64);
            CHECK(p != NULL);
            be.ops->free(&be, p);
            backend_destroy(&be);
        }
    }
}

int main(void) {
    test_registry();
    test_parity_covers_every_op();
    Backend ref;
    Err err;
    if (backend_create(&ref, "ref", 2, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    Inputs *in = inputs_make();
    for (int i = 0; i < backend_count(); i++) {
        const BackendOps *o = backend_at(i);
        test_ops_complete(o);
        test_status(o);
        Backend be;
        if (backend_create(&be, o->name, 2, &err) != 0) {
            CHECK_MSG(0, "backend_create(%s): %s", o->name, err.msg);
            continue;
        }
        double t0 = omp_get_wtime();
        test_matmul_parity(&ref, &be);
        test_op_parity(&ref, &be, in);
        CHECK_MSG(be.ops->sync(&be) == 0, "%s: no failure recorded", o->name);
        printf("%s: parity with ref checked in %.2f s\n", o->name, omp_get_wtime() - t0);
        backend_destroy(&be);
    }
    inputs_free(in);
    backend_destroy(&ref);
    return check_summary("backend_parity");
}
