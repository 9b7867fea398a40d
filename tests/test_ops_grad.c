/* Every op of every built backend against its definition (the backends share the non-matmul
 * ops today, but each is checked as if it were its own implementation):
 *  - every op with a backward: the backward against central finite differences of a scalar
 *    objective (sum of out * random weights, or the summed loss for cross-entropy) whose
 *    forward is a double-precision reference, so float noise does not swamp the difference;
 *  - every forward against a straightforward double-precision implementation, plus the
 *    properties that define it (RoPE preserves norms, causal softmax rows are exactly zero
 *    above the diagonal, the partially causal mask follows the contract's hash, cross-entropy is
 * -log softmax, exp over/underflow and NaN);
 *  - max_log_prob bit-identical to the arithmetic backend.h specifies (required of the CPU
 *    backends, all the built ones today: PUMA's runs are gated bit for bit), and close to
 *    the double-precision log-softmax maximum;
 *  - matmul, all four transpose cases with padded leading dimensions, batch strides,
 *    alpha, beta, and beta = 0 over a NaN-filled C, against a double triple loop;
 *  - AdamW (two steps), sumsq, scale, add, EMA against hand computations;
 *  - no failure recorded (sync returns 0) after all of it;
 *  - determinism: the same ops twice with 3 threads give bit-identical output, and with 1
 *    and 3 threads too (matmul excepted outside ref: the library backends split a product
 *    by thread count). */
#include "backends/backend.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static float *dev_alloc(Backend *be, long n) {
    float *p = be->ops->alloc(be, (size_t)n * sizeof(float));
    if (!p) {
        fprintf(stderr, "alloc of %ld floats failed\n", n);
        exit(2);
    }
    return p;
}

static float *dev_from(Backend *be, const float *host, long n) {
    float *p = dev_alloc(be, n);
    be->ops->upload(be, p, host, (size_t)n * sizeof(float));
    return p;
}

static float *host_normal(Rng *r, long n, double scale) {
    float *p = malloc((size_t)n * sizeof(float));
    for (long i = 0; i < n; i++) p[i] = (float)(scale * rng_normal(r));
    return p;
}

static double *to_double(const float *x, long n) {
    double *d = malloc((size_t)n * sizeof(double));
    for (long i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *download(Backend *be, const float *dev, long n) {
    float *h = malloc((size_t)n * sizeof(float));
    be->ops->download(be, h, dev, (size_t)n * sizeof(float));
    return h;
}

static double dot_d(const double *a, const double *b, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Every element of got within atol + rtol * |want|; reports the first few misses. */
static void check_all_close(const char *what, const float *got, const double *want, long n,
                            double rtol, double atol) {
    int misses = 0;
    for (long i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(want[i]);
        int ok = fabs(got[i] - want[i]) <= tol;
        check_count++;
        if (!ok) {
            check_failures++;
            if (misses++ < 5)
                fprintf(stderr, "%s[%ld]: got %.9g, want %.9g\n", what, i, got[i], want[i]);
        }
    }
}

static int bits_equal(const float *a, const float *b, long n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* ---- finite differences ------------------------------------------------------------- */

/* An op under test: inputs in double, a double-precision loss of them. */
typedef struct GradCase GradCase;
struct GradCase {
    double (*loss)(const GradCase *c);
    double *in[3];
    const double *weights;  /* random upstream gradient: loss = sum(out * weights) */
    const int *ints;        /* tokens or targets */
    const float *cos, *sin; /* RoPE tables */
    int n, d, B, T, H, hd, causal;
    int rope_reference; /* qkv_split_rope: PUMA's reference variant */
    float future_keep;  /* softmax: partially causal mask */
    uint64_t mask_seed;
    double eps;
};

/* The backward's gradient of input `which` against central differences of c->loss. */
static void check_gradient(const char *what, GradCase *c, int which, const float *grad, long len,
                           double rtol, double atol) {
    double *x = c->in[which];
    int misses = 0;
    for (long i = 0; i < len; i++) {
        double xi = x[i], h = 1e-5 * fmax(1.0, fabs(xi));
        x[i] = xi + h;
        double up = c->loss(c);
        x[i] = xi - h;
        double down = c->loss(c);
        x[i] = xi;
        double fd = (up - down) / (2.0 * h);
        check_count++;
        if (fabs(grad[i] - fd) > atol + rtol * fabs(fd)) {
            check_failures++;
            if (misses++ < 5)
                fprintf(stderr, "%s: d/d[%ld]: backward %.9g, finite difference %.9g\n", what, i,
                        grad[i], fd);
        }
    }
}

/* ---- double-precision references ---------------------------------------------------- */

static void ref_rmsnorm(double *out, double *rstd, const double *x, const double *w, int n, int d,
                        double eps) {
    for (int i = 0; i < n; i++) {
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += x[i * d + j] * x[i * d + j];
        double r = 1.0 / sqrt(ss / d + eps);
        if (rstd) rstd[i] = r;
        for (int j = 0; j < d; j++) out[i * d + j] = x[i * d + j] * r * w[j];
    }
}

/* RoPE tables (T, hd): cos and sin of angle t * 10000^(-(j mod hd/2) / (hd/2)) for dim j; both
 * variants use these (the reference's cat(freqs, freqs)), they differ in which dims pair. */
static void rope_tables(float *cs, float *sn, int T, int hd) {
    int half = hd / 2;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < hd; j++) {
            int i = j % half;
            double angle = t * pow(10000.0, -2.0 * i / hd);
            cs[t * hd + j] = (float)cos(angle);
            sn[t * hd + j] = (float)sin(angle);
        }
}

/* RoPE of one head vector, written as each variant's own formula (not the op's pair form).
 * standard: (x_i, x_{i+half}) rotated by angle i. reference: x * cos + rotate_half(x) * sin,
 * rotate_half(x)_{2i} = -x_{2i+1}, rotate_half(x)_{2i+1} = x_{2i}, cos/sin indexed by dim. */
static void ref_rope_vec(double *out, const double *x, const float *cs, const float *sn, int hd,
                         int reference) {
    int half = hd / 2;
    for (int j = 0; j < hd; j++) {
        double c = cs[j], s = sn[j];
        if (reference)
            out[j] = x[j] * c + (j % 2 ? x[j - 1] : -x[j + 1]) * s;
        else
            out[j] = j < half ? x[j] * c - x[j + half] * s : x[j - half] * s + x[j] * c;
    }
}

/* q, k, v (B, H, T, hd) from qkv (B, T, 3*H*hd), applying RoPE to q and k. */
static void ref_qkv_rope(double *q, double *k, double *v, const double *qkv, const float *cs,
                         const float *sn, int B, int T, int H, int hd, int reference) {
    int D = H * hd;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                const double *row = qkv + ((size_t)b * T + t) * 3 * D + h * hd;
                size_t off = (((size_t)b * H + h) * T + t) * hd;
                ref_rope_vec(q + off, row, cs + t * hd, sn + t * hd, hd, reference);
                ref_rope_vec(k + off, row + D, cs + t * hd, sn + t * hd, hd, reference);
                for (int i = 0; i < hd; i++) v[off + i] = row[2 * D + i];
            }
}

/* Key j attended by row r under softmax_forward's mask. */
static int ref_attended(long r, int j, int T, int causal, float keep, uint64_t seed) {
    return !causal || j <= r % T || attention_future_key_kept(seed, r, j, keep);
}

static void ref_softmax(double *out, const double *x, long rows, int T, int causal, float keep,
                        uint64_t seed) {
    for (long r = 0; r < rows; r++) {
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < T; j++)
            if (ref_attended(r, j, T, causal, keep, seed)) mx = fmax(mx, x[r * T + j]);
        for (int j = 0; j < T; j++)
            if (ref_attended(r, j, T, causal, keep, seed)) sum += exp(x[r * T + j] - mx);
        for (int j = 0; j < T; j++)
            out[r * T + j] =
                ref_attended(r, j, T, causal, keep, seed) ? exp(x[r * T + j] - mx) / sum : 0.0;
    }
}

static double ref_silu(double a) {
    return a / (1.0 + exp(-a));
}

/* Weighted cross-entropy rows: w * (logsumexp - logit[target]). */
static double ref_xent_row(const double *logits, int V, int target, double w) {
    if (w == 0.0) return 0.0;
    double mx = -INFINITY, sum = 0.0;
    for (int j = 0; j < V; j++) mx = fmax(mx, logits[j]);
    for (int j = 0; j < V; j++) sum += exp(logits[j] - mx);
    return w * (mx + log(sum) - logits[target]);
}

/* ---- losses for the finite differences ---------------------------------------------- */

static double loss_embedding(const GradCase *c) {
    double s = 0.0;
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->d; j++)
            s += c->weights[i * c->d + j] * c->in[0][c->ints[i] * c->d + j];
    return s;
}

static double loss_rmsnorm(const GradCase *c) {
    double *out = malloc((size_t)c->n * c->d * sizeof(double));
    ref_rmsnorm(out, NULL, c->in[0], c->in[1], c->n, c->d, c->eps);
    double s = dot_d(out, c->weights, (long)c->n * c->d);
    free(out);
    return s;
}

static double loss_bias(const GradCase *c) {
    double s = 0.0;
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->d; j++)
            s += c->weights[i * c->d + j] * (c->in[0][i * c->d + j] + c->in[1][j]);
    return s;
}

static double loss_qkv_rope(const GradCase *c) {
    long per = (long)c->B * c->T * c->H * c->hd;
    double *qkv_out = malloc(3 * (size_t)per * sizeof(double));
    ref_qkv_rope(qkv_out, qkv_out + per, qkv_out + 2 * per, c->in[0], c->cos, c->sin, c->B, c->T,
                 c->H, c->hd, c->rope_reference);
    double s = dot_d(qkv_out, c->weights, 3 * per);
    free(qkv_out);
    return s;
}

static double loss_heads_merge(const GradCase *c) {
    double s = 0.0;
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->T; t++)
            for (int h = 0; h < c->H; h++)
                for (int i = 0; i < c->hd; i++)
                    s += c->weights[(((size_t)b * c->T + t) * c->H + h) * c->hd + i] *
                         c->in[0][(((size_t)b * c->H + h) * c->T + t) * c->hd + i];
    return s;
}

static double loss_softmax(const GradCase *c) {
    double *out = malloc((size_t)c->n * c->T * sizeof(double));
    ref_softmax(out, c->in[0], c->n, c->T, c->causal, c->future_keep, c->mask_seed);
    double s = dot_d(out, c->weights, (long)c->n * c->T);
    free(out);
    return s;
}

static double loss_swiglu(const GradCase *c) {
    double s = 0.0;
    for (int i = 0; i < c->n; i++) s += c->weights[i] * ref_silu(c->in[0][i]) * c->in[1][i];
    return s;
}

static double loss_xent(const GradCase *c) {
    double s = 0.0;
    for (int i = 0; i < c->n; i++)
        s += ref_xent_row(c->in[0] + (size_t)i * c->d, c->d, c->ints[i], c->weights[i]);
    return s;
}

/* ---- op tests ----------------------------------------------------------------------- */

static void test_embedding(Backend *be, Rng *r) {
    enum { N = 13, D = 6, V = 5 };
    int tokens[N];
    for (int i = 0; i < N; i++) tokens[i] = (int)rng_below(r, V);
    float *wte_h = host_normal(r, V * D, 1.0), *dout_h = host_normal(r, N * D, 1.0);
    float *wte = dev_from(be, wte_h, V * D), *dout = dev_from(be, dout_h, N * D);
    float *out = dev_alloc(be, N * D), *dwte = dev_alloc(be, V * D);
    int *tok = be->ops->alloc(be, sizeof tokens);
    be->ops->upload(be, tok, tokens, sizeof tokens);

    be->ops->embedding_forward(be, out, tok, wte, N, D);
    float *out_h = download(be, out, N * D);
    int exact = 1;
    for (int i = 0; i < N; i++)
        exact &= memcmp(out_h + i * D, wte_h + tokens[i] * D, D * sizeof(float)) == 0;
    CHECK_MSG(exact, "embedding_forward copies rows of wte");

    /* dwte accumulates onto what is there. */
    float *base = host_normal(r, V * D, 1.0);
    be->ops->upload(be, dwte, base, V * D * sizeof(float));
    be->ops->embedding_backward(be, dwte, tok, dout, N, D, V);
    float *dwte_h = download(be, dwte, V * D);
    for (int i = 0; i < V * D; i++) dwte_h[i] -= base[i];
    GradCase c = {.loss = loss_embedding, .n = N, .d = D, .ints = tokens};
    c.in[0] = to_double(wte_h, V * D);
    double *w = to_double(dout_h, N * D);
    c.weights = w;
    check_gradient("embedding dwte", &c, 0, dwte_h, V * D, 1e-5, 1e-5);

    free(wte_h), free(dout_h), free(out_h), free(base), free(dwte_h), free(c.in[0]), free(w);
    be->ops->free(be, wte), be->ops->free(be, dout), be->ops->free(be, out);
    be->ops->free(be, dwte), be->ops->free(be, tok);
}

static void test_rmsnorm(Backend *be, Rng *r) {
    enum { N = 7, D = 24 };
    const float eps = 1e-5f;
    float *x_h = host_normal(r, N * D, 1.5), *w_h = host_normal(r, D, 1.0);
    float *g_h = host_normal(r, N * D, 1.0);
    float *x = dev_from(be, x_h, N * D), *w = dev_from(be, w_h, D), *g = dev_from(be, g_h, N * D);
    float *out = dev_alloc(be, N * D), *rstd = dev_alloc(be, N);
    float *dx = dev_alloc(be, N * D), *dw = dev_alloc(be, D);

    be->ops->rmsnorm_forward(be, out, rstd, x, w, N, D, eps);
    GradCase c = {.loss = loss_rmsnorm, .n = N, .d = D, .eps = eps};
    c.in[0] = to_double(x_h, N * D);
    c.in[1] = to_double(w_h, D);
    double *want = malloc(N * D * sizeof(double)), want_rstd[N];
    ref_rmsnorm(want, want_rstd, c.in[0], c.in[1], N, D, eps);
    float *out_h = download(be, out, N * D), *rstd_h = download(be, rstd, N);
    check_all_close("rmsnorm out", out_h, want, N * D, 2e-6, 1e-7);
    check_all_close("rmsnorm rstd", rstd_h, want_rstd, N, 2e-6, 0);

    /* Both gradients accumulate: start them at 1 and subtract it afterwards. */
    float ones[N * D];
    for (int i = 0; i < N * D; i++) ones[i] = 1.0f;
    be->ops->upload(be, dx, ones, sizeof ones);
    be->ops->upload(be, dw, ones, D * sizeof(float));
    be->ops->rmsnorm_backward(be, dx, dw, g, x, w, rstd, N, D);
    float *dx_h = download(be, dx, N * D), *dw_h = download(be, dw, D);
    for (int i = 0; i < N * D; i++) dx_h[i] -= 1.0f;
    for (int i = 0; i < D; i++) dw_h[i] -= 1.0f;
    double *gw = to_double(g_h, N * D);
    c.weights = gw;
    check_gradient("rmsnorm dx", &c, 0, dx_h, N * D, 1e-4, 1e-5);
    check_gradient("rmsnorm dw", &c, 1, dw_h, D, 1e-4, 1e-5);

    free(x_h), free(w_h), free(g_h), free(want), free(out_h), free(rstd_h), free(dx_h);
    free(dw_h), free(gw), free(c.in[0]), free(c.in[1]);
    be->ops->free(be, x), be->ops->free(be, w), be->ops->free(be, g), be->ops->free(be, out);
    be->ops->free(be, rstd), be->ops->free(be, dx), be->ops->free(be, dw);
}

static void test_bias(Backend *be, Rng *r) {
    enum { N = 9, D = 70 }; /* D > one column block of the reduction */
    float *x_h = host_normal(r, N * D, 1.0), *b_h = host_normal(r, D, 1.0);
    float *g_h = host_normal(r, N * D, 1.0), *db0 = host_normal(r, D, 1.0);
    float *x = dev_from(be, x_h, N * D), *b = dev_from(be, b_h, D), *g = dev_from(be, g_h, N * D);
    float *db = dev_from(be, db0, D);

    be->ops->bias_forward(be, x, b, N, D);
    float *y_h = download(be, x, N * D);
    int exact = 1;
    for (int i = 0; i < N * D; i++) exact &= y_h[i] == x_h[i] + b_h[i % D];
    CHECK_MSG(exact, "bias_forward adds the bias to every row");

    be->ops->bias_backward(be, db, g, N, D);
    float *db_h = download(be, db, D);
    for (int j = 0; j < D; j++) db_h[j] -= db0[j];
    GradCase c = {.loss = loss_bias, .n = N, .d = D};
    c.in[0] = to_double(x_h, N * D);
    c.in[1] = to_double(b_h, D);
    double *gw = to_double(g_h, N * D);
    c.weights = gw;
    check_gradient("bias dbias", &c, 1, db_h, D, 1e-5, 1e-5);

    free(x_h), free(b_h), free(g_h), free(db0), free(y_h), free(db_h), free(gw);
    free(c.in[0]), free(c.in[1]);
    be->ops->free(be, x), be->ops->free(be, b), be->ops->free(be, g), be->ops->free(be, db);
}

static void test_qkv_split_rope(Backend *be, Rng *r, int reference) {
    enum { B = 2, T = 5, H = 3, HD = 8, D = H * HD, PER = B * T * D };
    const char *name = reference ? "qkv_split_rope(reference)" : "qkv_split_rope(standard)";
    int stride = reference ? 1 : HD / 2;
    float cs_h[T * HD], sn_h[T * HD];
    rope_tables(cs_h, sn_h, T, HD);
    float *qkv_h = host_normal(r, 3 * PER, 1.0), *g_h = host_normal(r, 3 * PER, 1.0);
    float *qkv = dev_from(be, qkv_h, 3 * PER), *cs = dev_from(be, cs_h, T * HD);
    float *sn = dev_from(be, sn_h, T * HD), *g = dev_from(be, g_h, 3 * PER);
    float *q = dev_alloc(be, 3 * PER), *k = q + PER, *v = q + 2 * PER;
    float *dqkv = dev_alloc(be, 3 * PER);

    be->ops->qkv_split_rope_forward(be, q, k, v, qkv, cs, sn, stride, B, T, H, HD);
    GradCase c = {.loss = loss_qkv_rope,
                  .B = B,
                  .T = T,
                  .H = H,
                  .hd = HD,
                  .cos = cs_h,
                  .sin = sn_h,
                  .rope_reference = reference};
    c.in[0] = to_double(qkv_h, 3 * PER);
    double *want = malloc(3 * PER * sizeof(double));
    ref_qkv_rope(want, want + PER, want + 2 * PER, c.in[0], cs_h, sn_h, B, T, H, HD, reference);
    float *got = download(be, q, 3 * PER);
    check_all_close(name, got, want, 3 * PER, 1e-6, 1e-6);

    /* The standard variant is a rotation: each head vector of q and k keeps the norm of its
     * slice of qkv. The reference variant is not (its pairs mix two frequencies). */
    for (int b = 0; !reference && b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int part = 0; part < 2; part++) {
                    const float *in = qkv_h + ((b * T + t) * 3 + part) * D + h * HD;
                    const float *out = got + part * PER + ((b * H + h) * T + t) * HD;
                    double n_in = 0, n_out = 0;
                    for (int i = 0; i < HD; i++) n_in += in[i] * in[i], n_out += out[i] * out[i];
                    CHECK_CLOSE(sqrt(n_out), sqrt(n_in), 1e-6, 1e-7);
                }

    /* The backward overwrites: fill dqkv with garbage first. */
    be->ops->upload(be, dqkv, g_h, 3 * PER * sizeof(float));
    be->ops->qkv_split_rope_backward(be, dqkv, g, g + PER, g + 2 * PER, cs, sn, stride, B, T, H,
                                     HD);
    float *dqkv_h = download(be, dqkv, 3 * PER);
    double *gw = to_double(g_h, 3 * PER);
    c.weights = gw;
    check_gradient(name, &c, 0, dqkv_h, 3 * PER, 1e-5, 1e-5);

    free(qkv_h), free(g_h), free(want), free(got), free(dqkv_h), free(gw), free(c.in[0]);
    be->ops->free(be, qkv), be->ops->free(be, cs), be->ops->free(be, sn), be->ops->free(be, g);
    be->ops->free(be, q), be->ops->free(be, dqkv);
}

static void test_heads_merge(Backend *be, Rng *r) {
    enum { B = 2, T = 4, H = 3, HD = 5, N = B * T * H * HD };
    float *y_h = host_normal(r, N, 1.0), *g_h = host_normal(r, N, 1.0);
    float *y = dev_from(be, y_h, N), *g = dev_from(be, g_h, N);
    float *out = dev_alloc(be, N), *dy = dev_from(be, y_h, N);

    be->ops->heads_merge_forward(be, out, y, B, T, H, HD);
    float *out_h = download(be, out, N);
    int exact = 1;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < HD; i++)
                    exact &= out_h[((b * T + t) * H + h) * HD + i] ==
                             y_h[((b * H + h) * T + t) * HD + i];
    CHECK_MSG(exact, "heads_merge_forward is the (B,H,T,hd) -> (B,T,H*hd) permutation");

    be->ops->heads_merge_backward(be, dy, out, B, T, H, HD);
    float *back = download(be, dy, N);
    CHECK_MSG(bits_equal(back, y_h, N), "heads_merge_backward inverts the forward");

    be->ops->heads_merge_backward(be, dy, g, B, T, H, HD);
    float *dy_h = download(be, dy, N);
    GradCase c = {.loss = loss_heads_merge, .B = B, .T = T, .H = H, .hd = HD};
    c.in[0] = to_double(y_h, N);
    double *gw = to_double(g_h, N);
    c.weights = gw;
    check_gradient("heads_merge dy", &c, 0, dy_h, N, 1e-5, 1e-5);

    free(y_h), free(g_h), free(out_h), free(back), free(dy_h), free(gw), free(c.in[0]);
    be->ops->free(be, y), be->ops->free(be, g), be->ops->free(be, out), be->ops->free(be, dy);
}

/* Forward against the reference, exact zeros where a key is not attended, and the backward
 * against finite differences; causal with future_keep in (0, 1) is the partially causal mask
 * (the backward takes no mask: it must still be exact). */
static void test_softmax_case(Backend *be, Rng *r, const char *label, int causal, float keep) {
    enum { ROWS = 12, T = 6 }; /* rows = 2 sequences of T query positions */
    const uint64_t seed = 0x5eed;
    float *x_h = host_normal(r, ROWS * T, 2.0), *g_h = host_normal(r, ROWS * T, 1.0);
    float *att = dev_from(be, x_h, ROWS * T), *datt = dev_from(be, g_h, ROWS * T);

    be->ops->softmax_forward(be, att, ROWS, T, causal, keep, seed);
    GradCase c = {.loss = loss_softmax,
                  .n = ROWS,
                  .T = T,
                  .causal = causal,
                  .future_keep = keep,
                  .mask_seed = seed};
    c.in[0] = to_double(x_h, ROWS * T);
    double want[ROWS * T];
    ref_softmax(want, c.in[0], ROWS, T, causal, keep, seed);
    float *p = download(be, att, ROWS * T);
    check_all_close(label, p, want, ROWS * T, 2e-6, 1e-8);
    int zeros = 1, dropped = 0;
    for (int row = 0; row < ROWS; row++)
        for (int j = 0; j < T; j++)
            if (!ref_attended(row, j, T, causal, keep, seed)) {
                zeros &= p[row * T + j] == 0.0f;
                dropped++;
            }
    CHECK_MSG(zeros, "%s: keys not attended are exactly 0", label);
    int future = causal ? ROWS * (T - 1) / 2 : 0; /* future keys of all rows */
    if (causal && keep > 0.0f && keep < 1.0f)
        CHECK_MSG(dropped > 0 && dropped < future, "%s: %d of %d future keys dropped", label,
                  dropped, future);

    be->ops->softmax_backward(be, datt, att, ROWS, T);
    float *d = download(be, datt, ROWS * T);
    double *gw = to_double(g_h, ROWS * T);
    c.weights = gw;
    char what[64];
    snprintf(what, sizeof what, "%s dx", label);
    check_gradient(what, &c, 0, d, ROWS * T, 1e-4, 1e-6);

    free(x_h), free(g_h), free(p), free(d), free(gw), free(c.in[0]);
    be->ops->free(be, att), be->ops->free(be, datt);
}

/* The partially causal mask's endpoints are the plain modes, bit for bit (future_keep 0 =
 * causal, 1 = full), its kept fraction follows future_keep, the same seed gives the same
 * output and another seed another mask. */
static void test_softmax_partial_mask(Backend *be, Rng *r) {
    enum { ROWS = 4 * 64, T = 64 };
    long n = (long)ROWS * T;
    float *x_h = host_normal(r, n, 1.0);
    float *outs[6];
    const struct {
        int causal;
        float keep;
        uint64_t seed;
    } modes[6] = {{0, 0.0f, 0}, {1, 0.0f, 0}, {1, 1.0f, 3},
                  {1, 0.0f, 3}, {1, 0.3f, 3}, {1, 0.3f, 4}};
    for (int i = 0; i < 6; i++) {
        float *att = dev_from(be, x_h, n);
        be->ops->softmax_forward(be, att, ROWS, T, modes[i].causal, modes[i].keep, modes[i].seed);
        outs[i] = download(be, att, n);
        be->ops->free(be, att);
    }
    CHECK_MSG(bits_equal(outs[2], outs[0], n), "future_keep 1 is full attention");
    CHECK_MSG(bits_equal(outs[3], outs[1], n), "future_keep 0 is plain causal attention");
    float *again = dev_from(be, x_h, n);
    be->ops->softmax_forward(be, again, ROWS, T, 1, 0.3f, 3);
    float *again_h = download(be, again, n);
    CHECK_MSG(bits_equal(again_h, outs[4], n), "same mask seed, same partially causal output");
    CHECK_MSG(!bits_equal(outs[5], outs[4], n), "another mask seed gives another mask");
    long future = 0, kept = 0;
    for (long row = 0; row < ROWS; row++)
        for (int j = (int)(row % T) + 1; j < T; j++) {
            future++;
            kept += outs[4][row * T + j] != 0.0f;
        }
    double frac = (double)kept / (double)future;
    CHECK_MSG(fabs(frac - 0.3) < 0.01, "future_keep 0.3 kept %.4f of %ld future keys", frac,
              future);
    for (int i = 0; i < 6; i++) free(outs[i]);
    free(x_h), free(again_h);
    be->ops->free(be, again);
}

/* The exp inside softmax over a wide range: underflow to (sub)normals, no NaN, NaN kept.
 * Row 0 has its maximum last, row 1 a first score far below the others (the kernel's
 * shift by the first score must fall back to the maximum), row 2 a NaN. */
static void test_softmax_extremes(Backend *be) {
    enum { T = 9, ROWS = 3 };
    float x_h[ROWS * T] = {0.0f,    -20.0f,  -50.0f,  -87.0f, -90.0f, -100.0f, -104.5f,
                           -200.0f, 3.0f,    -100.0f, 0.0f,   50.0f,  -30.0f,  20.0f,
                           49.0f,   -150.0f, 10.0f,   -60.0f, 1.0f,   2.0f,    NAN,
                           0.0f,    0.0f,    0.0f,    0.0f,   0.0f,   0.0f};
    float *att = dev_from(be, x_h, ROWS * T);
    be->ops->softmax_forward(be, att, ROWS, T, 0, 0.0f, 0);
    float *p = download(be, att, ROWS * T);
    double *xd = to_double(x_h, 2 * T), want[2 * T];
    ref_softmax(want, xd, 2, T, 0, 0.0f, 0);
    check_all_close("softmax wide range", p, want, 2 * T, 3e-6, 3e-45);
    int nan_row = 1;
    for (int j = 2 * T; j < 3 * T; j++) nan_row &= isnan(p[j]);
    CHECK_MSG(nan_row, "a NaN score turns its softmax row into NaN");
    free(p), free(xd);
    be->ops->free(be, att);
}

/* Rows longer than the kernel's stack buffer take the max-shift path. */
static void test_softmax_long_rows(Backend *be, Rng *r) {
    enum { ROWS = 3, T = 1500 };
    float *x_h = host_normal(r, ROWS * T, 4.0);
    float *att = dev_from(be, x_h, ROWS * T);
    be->ops->softmax_forward(be, att, ROWS, T, 0, 0.0f, 0);
    float *p = download(be, att, ROWS * T);
    double *xd = to_double(x_h, ROWS * T), *want = malloc(ROWS * T * sizeof(double));
    ref_softmax(want, xd, ROWS, T, 0, 0.0f, 0);
    check_all_close("softmax long rows", p, want, ROWS * T, 3e-6, 1e-12);
    free(x_h), free(p), free(xd), free(want);
    be->ops->free(be, att);
}

static void test_swiglu(Backend *be, Rng *r) {
    enum { N = 300 };
    float *a_h = host_normal(r, N, 3.0), *b_h = host_normal(r, N, 1.0);
    float *g_h = host_normal(r, N, 1.0);
    a_h[0] = -100.0f, a_h[1] = 100.0f, a_h[2] = -87.5f, a_h[3] = 0.0f, a_h[4] = 30.0f;
    float *a = dev_from(be, a_h, N), *b = dev_from(be, b_h, N), *g = dev_from(be, g_h, N);
    float *out = dev_alloc(be, N), *da = dev_from(be, g_h, N), *db = dev_from(be, g_h, N);

    be->ops->swiglu_forward(be, out, a, b, N);
    double want[N];
    for (int i = 0; i < N; i++) want[i] = ref_silu(a_h[i]) * b_h[i];
    float *out_h = download(be, out, N);
    check_all_close("swiglu out", out_h, want, N, 2e-6, 1e-30);

    be->ops->swiglu_backward(be, da, db, g, a, b, N);
    float *da_h = download(be, da, N), *db_h = download(be, db, N);
    GradCase c = {.loss = loss_swiglu, .n = N};
    c.in[0] = to_double(a_h, N);
    c.in[1] = to_double(b_h, N);
    double *gw = to_double(g_h, N);
    c.weights = gw;
    check_gradient("swiglu da", &c, 0, da_h, N, 1e-4, 1e-6);
    check_gradient("swiglu db", &c, 1, db_h, N, 1e-5, 1e-6);

    free(a_h), free(b_h), free(g_h), free(out_h), free(da_h), free(db_h), free(gw);
    free(c.in[0]), free(c.in[1]);
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, g), be->ops->free(be, out);
    be->ops->free(be, da), be->ops->free(be, db);
}

static void test_xent(Backend *be, Rng *r) {
    enum { N = 10, V = 7 };
    float *x_h = host_normal(r, N * V, 2.0), w_h[N];
    int targets[N];
    for (int i = 0; i < N; i++) {
        targets[i] = (int)rng_below(r, V);
        w_h[i] = i % 4 == 3 ? 0.0f : (float)(0.5 + rng_uniform(r));
    }
    targets[3] = -1;                             /* weight 0: the target must not be read */
    x_h[5 * V] = 80.0f, x_h[5 * V + 1] = -80.0f; /* far apart logits stay finite */
    float *logits = dev_from(be, x_h, N * V), *w = dev_from(be, w_h, N);
    float *loss = dev_alloc(be, N), *dlogits = dev_alloc(be, N * V);
    int *tg = be->ops->alloc(be, sizeof targets);
    be->ops->upload(be, tg, targets, sizeof targets);

    be->ops->xent_forward_backward(be, loss, dlogits, logits, tg, w, N, V);
    float *loss_h = download(be, loss, N), *d_h = download(be, dlogits, N * V);
    GradCase c = {.loss = loss_xent, .n = N, .d = V, .ints = targets};
    c.in[0] = to_double(x_h, N * V);
    double *wd = to_double(w_h, N);
    c.weights = wd;
    double want[N];
    for (int i = 0; i < N; i++) {
        /* -log softmax(target), scaled by the weight */
        double p[V];
        ref_softmax(p, c.in[0] + i * V, 1, V, 0, 0.0f, 0);
        want[i] = w_h[i] == 0.0f ? 0.0 : -w_h[i] * log(p[targets[i]]);
    }
    check_all_close("xent loss", loss_h, want, N, 2e-6, 2e-6);
    check_gradient("xent dlogits", &c, 0, d_h, N * V, 1e-4, 1e-6);

    /* In place (dlogits aliasing logits) gives the same, and NULL dlogits only the loss. */
    be->ops->xent_forward_backward(be, loss, logits, logits, tg, w, N, V);
    float *inplace = download(be, logits, N * V);
    CHECK_MSG(bits_equal(inplace, d_h, N * V), "xent in place matches out of place");
    be->ops->upload(be, logits, x_h, N * V * sizeof(float));
    be->ops->zero(be, loss, N * sizeof(float));
    be->ops->xent_forward_backward(be, loss, NULL, logits, tg, w, N, V);
    float *loss2 = download(be, loss, N);
    CHECK_MSG(bits_equal(loss2, loss_h, N), "xent without dlogits gives the same loss");

    free(x_h), free(loss_h), free(d_h), free(wd), free(c.in[0]), free(inplace), free(loss2);
    be->ops->free(be, logits), be->ops->free(be, w), be->ops->free(be, loss);
    be->ops->free(be, dlogits), be->ops->free(be, tg);
}

/* backend.h's arithmetic for max_log_prob, step by step: the kept logits, their maximum
 * in float, the sum of exp((double)(logit - max)) in double in order, (float)-log(sum). */
static float spec_max_log_prob(const float *row, int V, int exclude_id) {
    float kept[64];
    int n = 0;
    for (int v = 0; v < V; v++)
        if (v != exclude_id) kept[n++] = row[v];
    float hi = kept[0];
    for (int i = 1; i < n; i++) hi = kept[i] > hi ? kept[i] : hi;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += exp((double)(kept[i] - hi));
    return (float)(-log(sum));
}

/* max_v log softmax in double, over the tokens other than exclude_id. */
static double ref_max_log_prob(const float *row, int V, int exclude_id) {
    double hi = -INFINITY, z = 0.0;
    for (int v = 0; v < V; v++)
        if (v != exclude_id) hi = fmax(hi, row[v]);
    for (int v = 0; v < V; v++)
        if (v != exclude_id) z += exp(row[v] - hi);
    return -log(z);
}

/* Rows enough to run in parallel; the excluded token is the row's largest logit in some
 * rows (it must not count), and far-apart logits stay finite. */
static void test_max_log_prob(Backend *be, Rng *r) {
    enum { N = 700, V = 61 };
    float *x_h = host_normal(r, N * V, 3.0);
    for (int i = 0; i < N; i += 7) x_h[i * V + 5] = 40.0f;
    x_h[3 * V] = 90.0f, x_h[3 * V + 1] = -90.0f;
    float *logits = dev_from(be, x_h, N * V), *out = dev_alloc(be, N);
    for (int exclude = -1; exclude <= 5; exclude += 6) {
        be->ops->max_log_prob(be, out, logits, N, V, exclude);
        float *got = download(be, out, N), spec[N];
        double want[N];
        for (int i = 0; i < N; i++) {
            spec[i] = spec_max_log_prob(x_h + i * V, V, exclude);
            want[i] = ref_max_log_prob(x_h + i * V, V, exclude);
        }
        CHECK_MSG(bits_equal(got, spec, N), "max_log_prob (exclude %d) is the specified arithmetic",
                  exclude);
        check_all_close("max_log_prob", got, want, N, 1e-6, 1e-7);
        free(got);
    }
    float one = 2.5f; /* a single kept token is certain: log 1 = 0 */
    be->ops->upload(be, logits, &one, sizeof one);
    be->ops->max_log_prob(be, out, logits, 1, 1, -1);
    float *single = download(be, out, 1);
    CHECK_MSG(single[0] == 0.0f, "max_log_prob of one token is 0, got %g", single[0]);
    free(x_h), free(single);
    be->ops->free(be, logits), be->ops->free(be, out);
}

/* ---- matmul ------------------------------------------------------------------------- */

typedef struct MatmulCase {
    int ta, tb, m, n, k, batch, pad;
    float alpha, beta;
    int nan_c;
} MatmulCase;

/* Element (i, p) of op(X) for X stored with leading dimension ld, transposed when t. */
static double op_elem(const float *x, int ld, int t, int i, int p) {
    return t ? x[(size_t)p * ld + i] : x[(size_t)i * ld + p];
}

static void check_matmul_case(Backend *be, Rng *r, const MatmulCase *mc) {
    int rows_a = mc->ta ? mc->k : mc->m, cols_a = mc->ta ? mc->m : mc->k;
    int rows_b = mc->tb ? mc->n : mc->k, cols_b = mc->tb ? mc->k : mc->n;
    int lda = cols_a + mc->pad, ldb = cols_b + mc->pad, ldc = mc->n + mc->pad;
    long sa = (long)rows_a * lda + 3, sb = (long)rows_b * ldb + 5, sc = (long)mc->m * ldc + 7;
    long na = sa * mc->batch, nb = sb * mc->batch, nc = sc * mc->batch;
    float *a_h = host_normal(r, na, 1.0), *b_h = host_normal(r, nb, 1.0);
    float *c_h = host_normal(r, nc, 1.0);
    if (mc->nan_c)
        for (long i = 0; i < nc; i++) c_h[i] = NAN;
    float *a = dev_from(be, a_h, na), *b = dev_from(be, b_h, nb), *c = dev_from(be, c_h, nc);
    MatmulArgs args = {.trans_a = mc->ta,
                       .trans_b = mc->tb,
                       .m = mc->m,
                       .n = mc->n,
                       .k = mc->k,
                       .a = a,
                       .lda = lda,
                       .stride_a = sa,
                       .b = b,
                       .ldb = ldb,
                       .stride_b = sb,
                       .c = c,
                       .ldc = ldc,
                       .stride_c = sc,
                       .batch = mc->batch,
                       .alpha = mc->alpha,
                       .beta = mc->beta};
    be->ops->matmul(be, &args);
    float *got = download(be, c, nc);

    int misses = 0;
    for (int bi = 0; bi < mc->batch; bi++) {
        const float *A = a_h + bi * sa, *Bm = b_h + bi * sb, *C0 = c_h + bi * sc;
        for (int i = 0; i < mc->m; i++)
            for (int j = 0; j < mc->n; j++) {
                double acc = 0.0, mag = 0.0;
                for (int p = 0; p < mc->k; p++) {
                    double t = op_elem(A, lda, mc->ta, i, p) * op_elem(Bm, ldb, mc->tb, p, j);
                    acc += t, mag += fabs(t);
                }
                double c0 = mc->beta == 0.0f ? 0.0 : mc->beta * (double)C0[(size_t)i * ldc + j];
                double want = mc->alpha * acc + c0;
                /* float summation error bound, with margin */
                double tol = 1e-5 * (fabs(mc->alpha) * mag + fabs(c0)) + 1e-30;
                float g = got[bi * sc + (size_t)i * ldc + j];
                check_count++;
                if (!(fabs(g - want) <= tol)) {
                    check_failures++;
                    if (misses++ < 3)
                        fprintf(stderr,
                                "matmul ta=%d tb=%d m=%d n=%d k=%d batch=%d alpha=%g beta=%g: "
                                "C[%d][%d][%d] = %.9g, want %.9g\n",
                                mc->ta, mc->tb, mc->m, mc->n, mc->k, mc->batch, mc->alpha, mc->beta,
                                bi, i, j, g, want);
                }
            }
    }
    /* Padding between rows and batch items is not written. */
    int untouched = 1;
    for (int bi = 0; bi < mc->batch; bi++)
        for (long e = 0; e < sc; e++) {
            long i = e / ldc, j = e % ldc;
            if (i < mc->m && j < mc->n) continue;
            float want = c_h[bi * sc + e], g = got[bi * sc + e];
            untouched &= memcmp(&want, &g, sizeof g) == 0;
        }
    CHECK_MSG(untouched, "matmul ta=%d tb=%d writes only C's m x n entries", mc->ta, mc->tb);

    free(a_h), free(b_h), free(c_h), free(got);
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, c);
}

static void test_matmul(Backend *be, Rng *r) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            MatmulCase cases[] = {
                {ta, tb, 7, 5, 3, 1, 0, 1.0f, 0.0f, 0},
                {ta, tb, 13, 11, 37, 3, 2, 0.7f, 0.0f, 1},   /* beta 0 over NaN */
                {ta, tb, 20, 33, 300, 2, 1, 1.0f, 1.0f, 0},  /* k over one k block */
                {ta, tb, 17, 9, 16, 4, 3, -0.25f, -0.5f, 0}, /* alpha and beta */
                {ta, tb, 5, 6, 0, 2, 1, 1.0f, 0.5f, 0},      /* k = 0: C = beta C */
                {ta, tb, 5, 6, 4, 2, 1, 0.0f, 0.0f, 1},      /* alpha 0, beta 0 over NaN */
            };
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                check_matmul_case(be, r, &cases[i]);
        }
}

/* ---- optimizer and elementwise ------------------------------------------------------ */

static void test_adamw(Backend *be, Rng *r) {
    enum { N = 37 };
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.1f, gs = 0.5f;
    float *p_h = host_normal(r, N, 1.0), *g1 = host_normal(r, N, 1.0);
    float *g2 = host_normal(r, N, 1.0);
    float *p = dev_from(be, p_h, N), *g = dev_from(be, g1, N);
    float *m = dev_alloc(be, N), *v = dev_alloc(be, N);
    double P[N], M[N] = {0}, Vv[N] = {0};
    for (int i = 0; i < N; i++) P[i] = p_h[i];
    for (int t = 1; t <= 2; t++) {
        const float *gh = t == 1 ? g1 : g2;
        be->ops->upload(be, g, gh, N * sizeof(float));
        be->ops->adamw(be, p, g, m, v, N, lr, b1, b2, eps, wd, gs, t);
        for (int i = 0; i < N; i++) {
            double gg = (double)gh[i] * gs;
            M[i] = b1 * M[i] + (1.0 - b1) * gg;
            Vv[i] = b2 * Vv[i] + (1.0 - b2) * gg * gg;
            double mhat = M[i] / (1.0 - pow(b1, t)), vhat = Vv[i] / (1.0 - pow(b2, t));
            P[i] -= lr * (mhat / (sqrt(vhat) + eps) + wd * P[i]);
        }
    }
    float *p_got = download(be, p, N), *m_got = download(be, m, N), *v_got = download(be, v, N);
    check_all_close("adamw params", p_got, P, N, 1e-6, 1e-6);
    check_all_close("adamw m", m_got, M, N, 1e-5, 1e-9);
    check_all_close("adamw v", v_got, Vv, N, 1e-5, 1e-12);
    free(p_h), free(g1), free(g2), free(p_got), free(m_got), free(v_got);
    be->ops->free(be, p), be->ops->free(be, g), be->ops->free(be, m), be->ops->free(be, v);
}

static void test_elementwise(Backend *be, Rng *r) {
    enum { N = 70001 }; /* several chunks, an odd tail */
    float *x_h = host_normal(r, N, 1.0), *y_h = host_normal(r, N, 1.0);
    float *x = dev_from(be, x_h, N), *y = dev_from(be, y_h, N), *out = dev_alloc(be, N);

    double want = 0.0;
    for (int i = 0; i < N; i++) want += (double)x_h[i] * x_h[i];
    CHECK_CLOSE(be->ops->sumsq(be, x, N), want, 1e-6, 0);
    CHECK(be->ops->sumsq(be, x, 0) == 0.0);
    CHECK_CLOSE(be->ops->sumsq(be, x, 5),
                (double)x_h[0] * x_h[0] + (double)x_h[1] * x_h[1] + (double)x_h[2] * x_h[2] +
                    (double)x_h[3] * x_h[3] + (double)x_h[4] * x_h[4],
                1e-6, 0);

    be->ops->add(be, out, x, y, N);
    float *o = download(be, out, N);
    int exact = 1;
    for (int i = 0; i < N; i++) exact &= o[i] == x_h[i] + y_h[i];
    CHECK_MSG(exact, "add");
    be->ops->add(be, x, x, y, N); /* out aliasing x */
    float *o2 = download(be, x, N);
    CHECK_MSG(bits_equal(o, o2, N), "add in place");

    be->ops->scale(be, y, -0.375f, N);
    float *ys = download(be, y, N);
    exact = 1;
    for (int i = 0; i < N; i++) exact &= ys[i] == y_h[i] * -0.375f;
    CHECK_MSG(exact, "scale");

    be->ops->upload(be, x, x_h, N * sizeof(float));
    be->ops->upload(be, out, y_h, N * sizeof(float));
    be->ops->ema_update(be, out, x, N, 0.99f);
    float *e = download(be, out, N);
    double *ew = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) ew[i] = 0.99 * y_h[i] + 0.01 * x_h[i];
    check_all_close("ema", e, ew, N, 1e-6, 1e-7);

    free(x_h), free(y_h), free(o), free(o2), free(ys), free(e), free(ew);
    be->ops->free(be, x), be->ops->free(be, y), be->ops->free(be, out);
}

static void test_memory(Backend *be) {
    size_t sizes[] = {1, 3, 64, 1000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = be->ops->alloc(be, sizes[i]);
        CHECK(p != NULL);
        if (!p) continue;
        CHECK_MSG(((uintptr_t)p & 63) == 0, "alloc(%zu) is 64-byte aligned", sizes[i]);
        int zero = 1;
        for (size_t j = 0; j < sizes[i]; j++) zero &= p[j] == 0;
        CHECK_MSG(zero, "alloc(%zu) is zeroed", sizes[i]);
        memset(p, 0xab, sizes[i]);
        be->ops->zero(be, p, sizes[i]);
        zero = 1;
        for (size_t j = 0; j < sizes[i]; j++) zero &= p[j] == 0;
        CHECK_MSG(zero, "zero(%zu)", sizes[i]);
        be->ops->free(be, p);
    }
    float src[5] = {1, 2, 3, 4, 5}, back[5] = {0};
    float *a = dev_alloc(be, 5), *b = dev_alloc(be, 5);
    be->ops->upload(be, a, src, sizeof src);
    be->ops->copy(be, b, a, sizeof src);
    CHECK(be->ops->sync(be) == 0);
    be->ops->download(be, back, b, sizeof back);
    CHECK(memcmp(src, back, sizeof src) == 0);
    be->ops->free(be, a), be->ops->free(be, b);
}

/* ---- determinism -------------------------------------------------------------------- */

/* Sizes large enough that every op runs in parallel. Runs the ops on backend `be` and
 * returns all outputs concatenated, so two runs can be compared bit for bit; matmul's come
 * last, from *matmul_at on. */
static float *run_ops_for_determinism(Backend *be, long *len, long *matmul_at) {
    enum { B = 8, T = 40, H = 4, HD = 16, D = H * HD, N = B * T, FF = 3 * D, V = 11 };
    long rows = (long)B * H * T;
    Rng r;
    rng_seed(&r, 7, 1);
    float *x_h = host_normal(&r, N * FF, 1.0), *w_h = host_normal(&r, FF, 1.0);
    float *s_h = host_normal(&r, rows * T, 2.0);
    int tokens[N];
    for (int i = 0; i < N; i++) tokens[i] = (int)rng_below(&r, V);
    float cs_h[T * HD], sn_h[T * HD];
    rope_tables(cs_h, sn_h, T, HD);
    float wts[N];
    for (int i = 0; i < N; i++) wts[i] = i % 3 ? 1.0f : 0.0f;

    long total = 0, cap = 16L * N * FF + 4 * rows * T;
    float *outs = malloc((size_t)cap * sizeof(float));
    float *x = dev_from(be, x_h, N * FF), *w = dev_from(be, w_h, FF);
    float *s = dev_from(be, s_h, rows * T), *cs = dev_from(be, cs_h, T * HD);
    float *sn = dev_from(be, sn_h, T * HD), *wt = dev_from(be, wts, N);
    float *o1 = dev_alloc(be, N * FF), *o2 = dev_alloc(be, N * FF), *o3 = dev_alloc(be, N * FF);
    float *rstd = dev_alloc(be, N), *dw = dev_alloc(be, FF), *att = dev_alloc(be, rows * T);
    int *tok = be->ops->alloc(be, sizeof tokens);
    be->ops->upload(be, tok, tokens, sizeof tokens);
#define KEEP(ptr, n)                                                                               \
    do {                                                                                           \
        be->ops->download(be, outs + total, (ptr), (size_t)(n) * sizeof(float));                   \
        total += (n);                                                                              \
    } while (0)

    be->ops->rmsnorm_forward(be, o1, rstd, x, w, N, FF, 1e-5f);
    KEEP(o1, N * FF);
    KEEP(rstd, N);
    be->ops->rmsnorm_backward(be, o2, dw, o1, x, w, rstd, N, FF);
    KEEP(o2, N * FF);
    KEEP(dw, FF);
    be->ops->bias_backward(be, dw, x, N, FF);
    KEEP(dw, FF);
    be->ops->embedding_backward(be, o3, tok, x, N, FF, V);
    KEEP(o3, V * FF);
    be->ops->qkv_split_rope_forward(be, o1, o1 + N * D, o1 + 2 * N * D, x, cs, sn, 1, B, T, H, HD);
    KEEP(o1, 3 * N * D);
    be->ops->qkv_split_rope_backward(be, o2, o1, o1 + N * D, o1 + 2 * N * D, cs, sn, 1, B, T, H,
                                     HD);
    KEEP(o2, 3 * N * D);
    be->ops->copy(be, att, s, (size_t)rows * T * sizeof(float));
    be->ops->softmax_forward(be, att, rows, T, 1, 0.0f, 0);
    KEEP(att, rows * T);
    be->ops->copy(be, att, s, (size_t)rows * T * sizeof(float));
    be->ops->softmax_forward(be, att, rows, T, 1, 0.4f, 99); /* partially causal */
    KEEP(att, rows * T);
    be->ops->copy(be, o3, s, (size_t)rows * T * sizeof(float));
    be->ops->softmax_backward(be, o3, att, rows, T);
    KEEP(o3, rows * T);
    be->ops->swiglu_forward(be, o1, x, o2, N * FF);
    KEEP(o1, N * FF);
    be->ops->swiglu_backward(be, o2, o3, o1, x, x, N * FF);
    KEEP(o2, N * FF);
    KEEP(o3, N * FF);
    be->ops->xent_forward_backward(be, rstd, o1, x, tok, wt, N, FF); /* vocabulary FF */
    KEEP(o1, N * FF);
    KEEP(rstd, N);
    be->ops->max_log_prob(be, rstd, x, N, FF, 3);
    KEEP(rstd, N);
    double ss = be->ops->sumsq(be, x, N * FF);
    memcpy(outs + total, &ss, sizeof ss);
    total += 2;
    *matmul_at = total;
    MatmulArgs mm = {.trans_a = 0,
                     .trans_b = 1,
                     .m = N,
                     .n = FF,
                     .k = FF,
                     .a = x,
                     .lda = FF,
                     .b = x,
                     .ldb = FF,
                     .c = o1,
                     .ldc = FF,
                     .batch = 1,
                     .alpha = 1.0f};
    be->ops->matmul(be, &mm);
    KEEP(o1, N * FF);
#undef KEEP

    free(x_h), free(w_h), free(s_h);
    float *bufs[] = {x, w, s, cs, sn, wt, o1, o2, o3, rstd, dw, att};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) be->ops->free(be, bufs[i]);
    be->ops->free(be, tok);
    *len = total;
    return outs;
}

static void test_determinism(const char *name) {
    Backend be1, be3;
    Err err;
    if (backend_create(&be1, name, 1, &err) || backend_create(&be3, name, 3, &err)) {
        CHECK_MSG(0, "backend_create(%s): %s", name, err.msg);
        return;
    }
    long n1, n3a, n3b, mm1, mm3;
    float *r1 = run_ops_for_determinism(&be1, &n1, &mm1);
    float *r3a = run_ops_for_determinism(&be3, &n3a, &mm3);
    float *r3b = run_ops_for_determinism(&be3, &n3b, &mm3);
    CHECK(n1 == n3a && n3a == n3b && mm1 == mm3);
    CHECK_MSG(bits_equal(r3a, r3b, n3a), "%s: two runs with 3 threads are bit-identical", name);
    long across = strcmp(name, "ref") == 0 ? n1 : mm1;
    CHECK_MSG(bits_equal(r1, r3a, across), "%s: 1 thread and 3 threads give bit-identical results",
              name);
    free(r1), free(r3a), free(r3b);
    backend_destroy(&be1);
    backend_destroy(&be3);
}

static void test_backend(const char *name) {
    Backend be;
    Err err;
    if (backend_create(&be, name, 2, &err) != 0) {
        CHECK_MSG(0, "backend_create(%s): %s", name, err.msg);
        return;
    }
    int failures = check_failures;
    Rng r;
    rng_seed(&r, 12345, 0);
    test_memory(&be);
    test_embedding(&be, &r);
    test_rmsnorm(&be, &r);
    test_bias(&be, &r);
    test_qkv_split_rope(&be, &r, 0);
    test_qkv_split_rope(&be, &r, 1);
    test_heads_merge(&be, &r);
    test_softmax_case(&be, &r, "softmax", 0, 0.0f);
    test_softmax_case(&be, &r, "causal softmax", 1, 0.0f);
    test_softmax_case(&be, &r, "partially causal softmax", 1, 0.5f);
    test_softmax_partial_mask(&be, &r);
    test_softmax_extremes(&be);
    test_softmax_long_rows(&be, &r);
    test_swiglu(&be, &r);
    test_xent(&be, &r);
    test_max_log_prob(&be, &r);
    test_matmul(&be, &r);
    test_adamw(&be, &r);
    test_elementwise(&be, &r);
    CHECK_MSG(be.ops->sync(&be) == 0, "%s: no failure recorded: %s", name, be.status_msg);
    backend_destroy(&be);
    test_determinism(name);
    printf("%s: %d failed checks\n", name, check_failures - failures);
}

int main(void) {
    for (int i = 0; i < backend_count(); i++) test_backend(backend_at(i)->name);
    return check_summary("ops_grad");
}
