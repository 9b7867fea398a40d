/* Shared host implementation of the non-matmul ops (see cpu_ops.h for the determinism and
 * threading rules). Each op is a driver that splits the work into chunks whose boundaries
 * depend only on the shapes, and a kernel that handles one chunk; kernels are the hot
 * loops and are compiled per ISA level (CPU_KERNEL). */
#include "cpu_ops.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
/* clang does not vectorize the float max reductions (NaN semantics) and would warn that
 * their simd request failed; GCC, the project's compiler, vectorizes them. */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

enum {
    ELEM_CHUNK = 8192,   /* elements per chunk of elementwise ops */
    SUMSQ_CHUNK = 16384, /* elements per partial sum of sumsq */
    COL_BLOCK = 64,      /* columns per task of the column-parallel reductions */
    MIN_PARALLEL = 32768 /* below this many elements an op runs on the calling thread */
};

static int team_size(const Backend *be, long work) {
    if (work < MIN_PARALLEL || be->threads < 1) return 1;
    return be->threads;
}

static long min_long(long a, long b) {
    return a < b ? a : b;
}

/* Rows per chunk so that a chunk holds about ELEM_CHUNK elements. */
static long rows_per_chunk(long row_len) {
    long r = ELEM_CHUNK / (row_len > 0 ? row_len : 1);
    return r > 0 ? r : 1;
}

void *cpu_scratch(Backend *be, const char *op, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) backend_fail(be, "%s: out of memory for %zu bytes of scratch", op, bytes);
    return p;
}

/* ---- exp ---------------------------------------------------------------------------- */

static inline uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* expf that vectorizes: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, the Cephes
 * polynomial for exp(r), and 2^n applied as two factors so the subnormal range needs no
 * special case. Measured over every float in [-110, 90], with and without FMA contraction:
 * at most 1 ulp from the correctly rounded result in the normal range, within a subnormal ulp below
 * it, +inf from ~88.72, 0 below ~-103.3, NaN stays NaN. The clamps are integer min on the bit
 * patterns (signed for the upper bound, unsigned for the lower) so the loop has no float selects:
 * GCC will not if-convert those under the default -ftrapping-math and would not vectorize. */
static inline float fast_expf(float x) {
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    uint32_t xb = float_bits(x);
    uint32_t is_nan = (xb & 0x7fffffffu) > 0x7f800000u;
    uint32_t nan_bits = (0u - is_nan) & 0x7fc00000u; /* ORed into the result at the end */
    int32_t hi = (int32_t)float_bits(88.8f), xs = (int32_t)xb;
    uint32_t lo = float_bits(-104.0f), xu = (uint32_t)(xs < hi ? xs : hi);
    x = bits_float(xu < lo ? xu : lo);

    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    uint32_t ni = float_bits(t) - float_bits(shifter);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t n1 = (uint32_t)((int32_t)ni >> 1), n2 = ni - n1;
    float y = p * bits_float((n1 + 127u) << 23) * bits_float((n2 + 127u) << 23);
    return bits_float(float_bits(y) | nan_bits);
}

static inline float sigmoidf(float x) {
    return 1.0f / (1.0f + fast_expf(-x));
}

/* ---- memory ------------------------------------------------------------------------- */

void *cpu_alloc(Backend *be, size_t bytes) {
    (void)be;
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    if (rounded < bytes) return NULL; /* overflow */
    void *p = aligned_alloc(64, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

void cpu_free(Backend *be, void *p) {
    (void)be;
    free(p);
}

void cpu_upload(Backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memcpy(dst, src, bytes);
}

void cpu_download(Backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memcpy(dst, src, bytes);
}

void cpu_copy(Backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes && dst != src) memmove(dst, src, bytes);
}

void cpu_zero(Backend *be, void *p, size_t bytes) {
    (void)be;
    if (bytes) memset(p, 0, bytes);
}

int cpu_sync(Backend *be) {
    return be->status;
}

/* ---- embedding ---------------------------------------------------------------------- */

void cpu_embedding_forward(Backend *be, float *out, const int *tokens, const float *wte, int n,
                           int d) {
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * d, wte + (size_t)tokens[i] * d, (size_t)d * sizeof(float));
}

CPU_KERNEL
static void embedding_backward_cols(float *dwte, const int *tokens, const float *dout, int n, int d,
                                    int j0, int j1) {
    for (int i = 0; i < n; i++) {
        float *restrict dst = dwte + (size_t)tokens[i] * d;
        const float *restrict src = dout + (size_t)i * d;
        for (int j = j0; j < j1; j++) dst[j] += src[j];
    }
}

/* Column-parallel: each column block of dwte is owned by one task that adds the rows in
 * order, so no scatter races and the sum order is independent of the thread count. */
void cpu_embedding_backward(Backend *be, float *dwte, const int *tokens, const float *dout, int n,
                            int d, int vocab) {
    (void)vocab;
    int blocks = (d + COL_BLOCK - 1) / COL_BLOCK;
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COL_BLOCK, j1 = j0 + COL_BLOCK < d ? j0 + COL_BLOCK : d;
        embedding_backward_cols(dwte, tokens, dout, n, d, j0, j1);
    }
}

/* ---- rmsnorm ------------------------------------------------------------------------ */

CPU_KERNEL
static void rmsnorm_forward_rows(float *out, float *restrict rstd, const float *x,
                                 const float *restrict w, long r0, long r1, int d, float eps) {
    for (long i = r0; i < r1; i++) {
        const float *xi = x + i * d;
        float *oi = out + i * d;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int j = 0; j < d; j++) ss += xi[j] * xi[j];
        float r = 1.0f / sqrtf(ss / (float)d + eps);
        rstd[i] = r;
        for (int j = 0; j < d; j++) oi[j] = xi[j] * r * w[j];
    }
}

void cpu_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w,
                         int n, int d, float eps) {
    long chunk = rows_per_chunk(d), chunks = (n + chunk - 1) / chunk;
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++)
        rmsnorm_forward_rows(out, rstd, x, w, c * chunk, min_long(n, (c + 1) * chunk), d, eps);
}

/* For rows [r0, r1): dx_j += r w_j g_j - x_j r^3/d * sum_k g_k w_k x_k, and this chunk's
 * share of dw, part_j = sum_i g_ij x_ij r_i (one read of the rows serves both). */
CPU_KERNEL
static void rmsnorm_backward_rows(float *restrict dx, double *restrict part,
                                  const float *restrict dout, const float *restrict x,
                                  const float *restrict w, const float *restrict rstd, long r0,
                                  long r1, int d) {
    for (int j = 0; j < d; j++) part[j] = 0.0;
    for (long i = r0; i < r1; i++) {
        const float *gi = dout + i * d, *xi = x + i * d;
        float *dxi = dx + i * d;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < d; j++) dot += gi[j] * w[j] * xi[j];
        float r = rstd[i];
        float c = dot * r * r * r / (float)d;
        for (int j = 0; j < d; j++) {
            dxi[j] += r * w[j] * gi[j] - c * xi[j];
            part[j] += (double)(gi[j] * xi[j] * r);
        }
    }
}

/* Row chunks are fixed by the shape and their dw shares are added in chunk order, so dw
 * does not depend on the thread count. */
void cpu_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int n, int d) {
    long chunk = rows_per_chunk(d), chunks = (n + chunk - 1) / chunk;
    double *parts = cpu_scratch(be, "rmsnorm_backward", (size_t)chunks * d * sizeof(double));
    if (!parts) return;
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++)
        rmsnorm_backward_rows(dx, parts + c * d, dout, x, w, rstd, c * chunk,
                              min_long(n, (c + 1) * chunk), d);
    for (int j = 0; j < d; j++) {
        double sum = 0.0;
        for (long c = 0; c < chunks; c++) sum += parts[c * d + j];
        dw[j] += (float)sum;
    }
    free(parts);
}

/* ---- bias --------------------------------------------------------------------------- */

CPU_KERNEL
static void bias_forward_rows(float *restrict x, const float *restrict bias, long r0, long r1,
                              int d) {
    for (long i = r0; i < r1; i++) {
        float *xi = x + i * d;
        for (int j = 0; j < d; j++) xi[j] += bias[j];
    }
}

void cpu_bias_forward(Backend *be, float *x, const float *bias, int n, int d) {
    long chunk = rows_per_chunk(d), chunks = (n + chunk - 1) / chunk;
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++)
        bias_forward_rows(x, bias, c * chunk, min_long(n, (c + 1) * chunk), d);
}

CPU_KERNEL
static void bias_backward_cols(float *restrict dbias, const float *restrict dout, int n, int d,
                               int j0, int j1) {
    double acc[COL_BLOCK] = {0};
    int len = j1 - j0;
    for (int i = 0; i < n; i++) {
        const float *gi = dout + (size_t)i * d + j0;
        for (int j = 0; j < len; j++) acc[j] += (double)gi[j];
    }
    for (int j = 0; j < len; j++) dbias[j0 + j] += (float)acc[j];
}

void cpu_bias_backward(Backend *be, float *dbias, const float *dout, int n, int d) {
    int blocks = (d + COL_BLOCK - 1) / COL_BLOCK;
    int threads = team_size(be, (long)n * d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COL_BLOCK, j1 = j0 + COL_BLOCK < d ? j0 + COL_BLOCK : d;
        bias_backward_cols(dbias, dout, n, d, j0, j1);
    }
}

/* ---- qkv split + RoPE --------------------------------------------------------------- */

/* Rotate the half-split pairs (i, i + half) of one head vector by the angles of one
 * position; sign = +1 applies the rotation, -1 its transpose (the inverse). */
/* Each pair (j1, j2) = (j, j + s) of a block of 2s dims maps as
 *   out_j1 = x_j1 cos_j1 - x_j2 sin_j1,   out_j2 = x_j1 sin_j2 + x_j2 cos_j2.
 * Written in the same shape as the rotation it generalises, so that FMA contraction in the
 * kernels rounds the standard variant exactly as before (its losses are gated bit for bit). */
static inline void rope_apply(float *restrict out, const float *restrict in,
                              const float *restrict cs, const float *restrict sn, int hd, int s) {
    for (int blk = 0; blk < hd; blk += 2 * s)
        for (int j1 = blk; j1 < blk + s; j1++) {
            int j2 = j1 + s;
            float x0 = in[j1], x1 = in[j2];
            out[j1] = x0 * cs[j1] - x1 * sn[j1];
            out[j2] = x0 * sn[j2] + x1 * cs[j2];
        }
}

/* The transpose of rope_apply: dx_j1 = d_j1 cos_j1 + d_j2 sin_j2, dx_j2 = -d_j1 sin_j1 +
 * d_j2 cos_j2 (for a rotation, sin_j1 = sin_j2: the rotation by the negated angle). */
static inline void rope_apply_transposed(float *restrict out, const float *restrict in,
                                         const float *restrict cs, const float *restrict sn, int hd,
                                         int s) {
    for (int blk = 0; blk < hd; blk += 2 * s)
        for (int j1 = blk; j1 < blk + s; j1++) {
            int j2 = j1 + s;
            float d0 = in[j1], d1 = in[j2], neg_s1 = -sn[j1], neg_s2 = -sn[j2];
            out[j1] = d0 * cs[j1] - d1 * neg_s2;
            out[j2] = d0 * neg_s1 + d1 * cs[j2];
        }
}

/* One (b, t) row of the fused qkv into the H heads of q, k, v. */
CPU_KERNEL
static void qkv_split_rope_row(float *restrict q, float *restrict k, float *restrict v,
                               const float *restrict qkv, const float *restrict rope_cos,
                               const float *restrict rope_sin, int pair_stride, long bt, int T,
                               int H, int hd) {
    int D = H * hd, t = (int)(bt % T);
    const float *row = qkv + bt * 3 * D;
    const float *cs = rope_cos + (size_t)t * hd, *sn = rope_sin + (size_t)t * hd;
    for (int h = 0; h < H; h++) {
        size_t off = (((bt / T) * H + h) * T + t) * (size_t)hd;
        rope_apply(q + off, row + h * hd, cs, sn, hd, pair_stride);
        rope_apply(k + off, row + D + h * hd, cs, sn, hd, pair_stride);
        memcpy(v + off, row + 2 * D + h * hd, (size_t)hd * sizeof(float));
    }
}

/* The adjoint of qkv_split_rope_row: apply the transposed RoPE and gather into one dqkv row. */
CPU_KERNEL
static void qkv_merge_unrope_row(float *restrict dqkv, const float *restrict dq,
                                 const float *restrict dk, const float *restrict dv,
                                 const float *restrict rope_cos, const float *restrict rope_sin,
                                 int pair_stride, long bt, int T, int H, int hd) {
    int D = H * hd, t = (int)(bt % T);
    float *row = dqkv + bt * 3 * D;
    const float *cs = rope_cos + (size_t)t * hd, *sn = rope_sin + (size_t)t * hd;
    for (int h = 0; h < H; h++) {
        size_t off = (((bt / T) * H + h) * T + t) * (size_t)hd;
        rope_apply_transposed(row + h * hd, dq + off, cs, sn, hd, pair_stride);
        rope_apply_transposed(row + D + h * hd, dk + off, cs, sn, hd, pair_stride);
        memcpy(row + 2 * D + h * hd, dv + off, (size_t)hd * sizeof(float));
    }
}

void cpu_qkv_split_rope_forward(Backend *be, float *q, float *k, float *v, const float *qkv,
                                const float *rope_cos, const float *rope_sin, int pair_stride,
                                int B, int T, int H, int hd) {
    long rows = (long)B * T;
    int threads = team_size(be, rows * 3 * H * hd);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++)
        qkv_split_rope_row(q, k, v, qkv, rope_cos, rope_sin, pair_stride, r, T, H, hd);
}

void cpu_qkv_split_rope_backward(Backend *be, float *dqkv, const float *dq, const float *dk,
                                 const float *dv, const float *rope_cos, const float *rope_sin,
                                 int pair_stride, int B, int T, int H, int hd) {
    long rows = (long)B * T;
    int threads = team_size(be, rows * 3 * H * hd);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++)
        qkv_merge_unrope_row(dqkv, dq, dk, dv, rope_cos, rope_sin, pair_stride, r, T, H, hd);
}

/* ---- heads merge -------------------------------------------------------------------- */

/* Offset of head h of row bt = (b, t) in the (B, H, T, hd) layout. */
static size_t head_offset(long bt, int h, int T, int H, int hd) {
    return (((size_t)(bt / T) * H + h) * T + (size_t)(bt % T)) * hd;
}

void cpu_heads_merge_forward(Backend *be, float *out, const float *y, int B, int T, int H, int hd) {
    long rows = (long)B * T;
    int threads = team_size(be, rows * H * hd);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++)
        for (int h = 0; h < H; h++)
            memcpy(out + ((size_t)r * H + h) * hd, y + head_offset(r, h, T, H, hd),
                   (size_t)hd * sizeof(float));
}

void cpu_heads_merge_backward(Backend *be, float *dy, const float *dout, int B, int T, int H,
                              int hd) {
    long rows = (long)B * T;
    int threads = team_size(be, rows * H * hd);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++)
        for (int h = 0; h < H; h++)
            memcpy(dy + head_offset(r, h, T, H, hd), dout + ((size_t)r * H + h) * hd,
                   (size_t)hd * sizeof(float));
}

/* ---- softmax ------------------------------------------------------------------------ */

/* Softmax rows are short and the first (max) pass has little work to hide the memory
 * latency behind: fetch a few rows ahead. */
static inline void prefetch_row(const float *row, int len) {
    for (long off = 0; off < (long)len * (long)sizeof(float); off += 64)
        __builtin_prefetch((const char *)row + off, 1, 3);
}

enum {
    PREFETCH_ROWS = 4,   /* rows fetched ahead by the softmax kernels */
    SOFTMAX_STACK = 1024 /* longest row that takes the one-read path */
};

/* Softmax is shift invariant; the usual shift is the row maximum, which costs a pass over a
 * row that is not in cache yet. Shifting by the first score instead and keeping exp in a
 * buffer reads the row once; when some score exceeds the first by more than 64 (exp could
 * approach overflow) the row is left untouched and the caller uses the maximum. */
static inline int softmax_row_first_shift(float *x, float *e, int len) {
    float c = x[0], top = 0.0f, sum = 0.0f;
#pragma omp simd reduction(+ : sum) reduction(max : top)
    for (int j = 0; j < len; j++) {
        float d = x[j] - c;
        top = d > top ? d : top;
        e[j] = fast_expf(d);
        sum += e[j];
    }
    if (!(top <= 64.0f)) return 0;
    float inv = 1.0f / sum;
    for (int j = 0; j < len; j++) x[j] = e[j] * inv;
    return 1;
}

static inline void softmax_row_max_shift(float *x, int len) {
    float mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < len; j++) mx = x[j] > mx ? x[j] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < len; j++) {
        float e = fast_expf(x[j] - mx);
        x[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < len; j++) x[j] *= inv;
}

CPU_KERNEL
static void softmax_forward_rows(float *att, long r0, long r1, int T, int causal) {
    float e[SOFTMAX_STACK];
    for (long r = r0; r < r1; r++) {
        float *x = att + r * T;
        if (r + PREFETCH_ROWS < r1) prefetch_row(x + PREFETCH_ROWS * T, T);
        int len = causal ? (int)(r % T) + 1 : T;
        if (len > SOFTMAX_STACK || !softmax_row_first_shift(x, e, len))
            softmax_row_max_shift(x, len);
        for (int j = len; j < T; j++) x[j] = 0.0f;
    }
}

/* A partially causal row (only while attention anneals, so kept simple): the max-shift
 * softmax over the attended keys, exactly 0 for the future keys the mask drops. */
static inline void softmax_row_partial(float *x, long r, int T, float keep, uint64_t seed) {
    int t = (int)(r % T);
    for (int j = t + 1; j < T; j++)
        if (!attention_future_key_kept(seed, r, j, keep)) x[j] = -INFINITY;
    float mx = x[0]; /* keys 0..t are always attended */
    for (int j = 1; j < T; j++) mx = x[j] > mx ? x[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < T; j++) {
        float e = x[j] == -INFINITY ? 0.0f : fast_expf(x[j] - mx);
        x[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) x[j] *= inv;
}

CPU_KERNEL
static void softmax_partial_rows(float *att, long r0, long r1, int T, float keep, uint64_t seed) {
    for (long r = r0; r < r1; r++) softmax_row_partial(att + r * T, r, T, keep, seed);
}

void cpu_softmax_forward(Backend *be, float *att, long rows, int T, int causal, float future_keep,
                         uint64_t mask_seed) {
    long chunk = rows_per_chunk(T), chunks = (rows + chunk - 1) / chunk;
    int threads = team_size(be, rows * T);
    int partial = causal && future_keep > 0.0f && future_keep < 1.0f;
    int plain_causal = causal && !(future_keep > 0.0f);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++) {
        long r0 = c * chunk, r1 = min_long(rows, (c + 1) * chunk);
        if (partial)
            softmax_partial_rows(att, r0, r1, T, future_keep, mask_seed);
        else
            softmax_forward_rows(att, r0, r1, T, plain_causal);
    }
}

CPU_KERNEL
static void softmax_backward_rows(float *restrict datt, const float *restrict att, long r0, long r1,
                                  int T) {
    for (long r = r0; r < r1; r++) {
        float *g = datt + r * T;
        const float *p = att + r * T;
        if (r + PREFETCH_ROWS < r1) {
            prefetch_row(g + PREFETCH_ROWS * T, T);
            prefetch_row(p + PREFETCH_ROWS * T, T);
        }
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < T; j++) dot += p[j] * g[j];
        for (int j = 0; j < T; j++) g[j] = p[j] * (g[j] - dot);
    }
}

void cpu_softmax_backward(Backend *be, float *datt, const float *att, long rows, int T) {
    long chunk = rows_per_chunk(T), chunks = (rows + chunk - 1) / chunk;
    int threads = team_size(be, rows * T);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++)
        softmax_backward_rows(datt, att, c * chunk, min_long(rows, (c + 1) * chunk), T);
}

/* ---- elementwise -------------------------------------------------------------------- */

CPU_KERNEL
static void swiglu_forward_kernel(float *out, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) out[i] = a[i] * sigmoidf(a[i]) * b[i];
}

/* silu'(a) = s (1 + a (1 - s)) with s = sigmoid(a) */
CPU_KERNEL
static void swiglu_backward_kernel(float *da, float *db, const float *dout, const float *a,
                                   const float *b, long n) {
    for (long i = 0; i < n; i++) {
        float x = a[i], g = dout[i], s = sigmoidf(x);
        float dsilu = s * (1.0f + x * (1.0f - s));
        float gb = g * b[i];
        db[i] = g * x * s;
        da[i] = gb * dsilu;
    }
}

CPU_KERNEL
static void add_kernel(float *out, const float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) out[i] = x[i] + y[i];
}

CPU_KERNEL
static void scale_kernel(float *x, float s, long n) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

CPU_KERNEL
static void ema_kernel(float *restrict ema, const float *restrict params, long n, float decay) {
    float keep = decay, take = 1.0f - decay;
    for (long i = 0; i < n; i++) ema[i] = keep * ema[i] + take * params[i];
}

/* Run body for each fixed-size chunk [lo, lo + len) of n elements, chunks over threads. */
// clang-format off
#define FOR_EACH_ELEM_CHUNK(be, n, lo, len, body)                                              \
    do {                                                                                       \
        long n_ = (n), chunks_ = (n_ + ELEM_CHUNK - 1) / ELEM_CHUNK;                           \
        int threads_ = team_size((be), n_);                                                    \
        _Pragma("omp parallel for num_threads(threads_) schedule(static)")                     \
        for (long c_ = 0; c_ < chunks_; c_++) {                                                \
            long lo = c_ * ELEM_CHUNK, len = min_long(ELEM_CHUNK, n_ - lo);                    \
            body;                                                                              \
        }                                                                                      \
    } while (0)
// clang-format on

void cpu_swiglu_forward(Backend *be, float *out, const float *a, const float *b, long n) {
    FOR_EACH_ELEM_CHUNK(be, n, lo, len, swiglu_forward_kernel(out + lo, a + lo, b + lo, len));
}

void cpu_swiglu_backward(Backend *be, float *da, float *db, const float *dout, const float *a,
                         const float *b, long n) {
    FOR_EACH_ELEM_CHUNK(be, n, lo, len,
                        swiglu_backward_kernel(da + lo, db + lo, dout + lo, a + lo, b + lo, len));
}

void cpu_add(Backend *be, float *out, const float *x, const float *y, long n) {
    FOR_EACH_ELEM_CHUNK(be, n, lo, len, add_kernel(out + lo, x + lo, y + lo, len));
}

void cpu_scale(Backend *be, float *x, float s, long n) {
    FOR_EACH_ELEM_CHUNK(be, n, lo, len, scale_kernel(x + lo, s, len));
}

void cpu_ema_update(Backend *be, float *ema, const float *params, long n, float decay) {
    FOR_EACH_ELEM_CHUNK(be, n, lo, len, ema_kernel(ema + lo, params + lo, len, decay));
}

/* ---- cross-entropy ------------------------------------------------------------------ */

CPU_KERNEL
static void xent_rows(float *loss_rows, float *dlogits, const float *logits, const int *targets,
                      const float *weights, long r0, long r1, int V) {
    for (long i = r0; i < r1; i++) {
        float w = weights[i];
        const float *x = logits + i * V;
        float *g = dlogits ? dlogits + i * V : NULL;
        if (w == 0.0f) {
            loss_rows[i] = 0.0f;
            if (g) memset(g, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = x[0];
#pragma omp simd reduction(max : mx)
        for (int j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < V; j++) sum += fast_expf(x[j] - mx);
        int tgt = targets[i];
        loss_rows[i] = w * (mx + logf(sum) - x[tgt]);
        if (!g) continue;
        float scale = w / sum;
        for (int j = 0; j < V; j++) g[j] = scale * fast_expf(x[j] - mx);
        g[tgt] -= w;
    }
}

void cpu_xent_forward_backward(Backend *be, float *loss_rows, float *dlogits, const float *logits,
                               const int *targets, const float *weights, int n, int V) {
    long chunk = rows_per_chunk(V), chunks = (n + chunk - 1) / chunk;
    int threads = team_size(be, (long)n * V);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++)
        xent_rows(loss_rows, dlogits, logits, targets, weights, c * chunk,
                  min_long(n, (c + 1) * chunk), V);
}

/* ---- confidence --------------------------------------------------------------------- */

/* The arithmetic backend.h specifies, step for step. Not a CPU_KERNEL: nothing here may be
 * contracted or vectorized differently per ISA, and exp in double is a libm call anyway. */
static float max_log_prob_row(const float *row, int V, int exclude_id) {
    float hi = -INFINITY;
    for (int v = 0; v < V; v++)
        if (v != exclude_id && row[v] > hi) hi = row[v];
    double z = 0.0;
    for (int v = 0; v < V; v++)
        if (v != exclude_id) z += exp((double)(row[v] - hi));
    return (float)(-log(z)); /* log p(argmax) = hi - logsumexp */
}

void cpu_max_log_prob(Backend *be, float *out, const float *logits, int n, int V, int exclude_id) {
    int threads = team_size(be, (long)n * V);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < n; i++) out[i] = max_log_prob_row(logits + (size_t)i * V, V, exclude_id);
}

void cpu_subtoken_filter(Backend *be, float *logits, const int *ids, const int *codes, int n, int V,
                         int ell, int base) {
    int threads = team_size(be, (long)n * V);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < n; i++) {
        int known[BACKEND_SUBTOKEN_MAX_ELL], digit[BACKEND_SUBTOKEN_MAX_ELL], k = 0;
        for (int j = 0; j < ell && j < BACKEND_SUBTOKEN_MAX_ELL; j++) {
            int dj = ids[(size_t)j * n + i] - j * (base + 1);
            if (dj != base) known[k] = j, digit[k++] = dj;
        }
        if (k == 0) continue;
        float *row = logits + (size_t)i * V;
        for (int v = 0; v < V; v++) {
            const int *code = codes + (size_t)v * ell;
            int ok = 1;
            for (int q = 0; q < k && ok; q++) ok = code[known[q]] == digit[q];
            if (!ok) row[v] = -INFINITY;
        }
    }
}

/* ---- reductions and optimizer ------------------------------------------------------- */

/* Float sums over short runs (vectorized), accumulated in double. */
CPU_KERNEL
static double sumsq_kernel(const float *x, long n) {
    double total = 0.0;
    for (long lo = 0; lo < n; lo += 256) {
        long len = n - lo < 256 ? n - lo : 256;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (long i = 0; i < len; i++) s += x[lo + i] * x[lo + i];
        total += s;
    }
    return total;
}

/* Fixed-size chunk sums combined in chunk order: the result depends on n alone. */
double cpu_sumsq(Backend *be, const float *x, long n) {
    long chunks = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    if (chunks <= 1) return n > 0 ? sumsq_kernel(x, n) : 0.0;
    double *partial = cpu_scratch(be, "sumsq", (size_t)chunks * sizeof(double));
    if (!partial) return NAN;
    int threads = team_size(be, n);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long c = 0; c < chunks; c++) {
        long lo = c * SUMSQ_CHUNK;
        partial[c] = sumsq_kernel(x + lo, min_long(SUMSQ_CHUNK, n - lo));
    }
    double total = 0.0;
    for (long c = 0; c < chunks; c++) total += partial[c];
    free(partial);
    return total;
}

typedef struct AdamwCoef {
    float lr, beta1, beta2, eps, wd, grad_scale;
    float inv_bc1, inv_bc2; /* 1 / (1 - beta^t) */
} AdamwCoef;

CPU_KERNEL
static void adamw_kernel(float *restrict p, const float *restrict grads, float *restrict m,
                         float *restrict v, long n, const AdamwCoef *c) {
    const float lr = c->lr, b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->wd;
    const float gs = c->grad_scale, ib1 = c->inv_bc1, ib2 = c->inv_bc2;
    for (long i = 0; i < n; i++) {
        float g = grads[i] * gs;
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * (g * g);
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * ((mi * ib1) / (sqrtf(vi * ib2) + eps) + wd * p[i]);
    }
}

void cpu_adamw(Backend *be, float *params, const float *grads, float *m, float *v, long n, float lr,
               float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t) {
    AdamwCoef c = {.lr = lr,
                   .beta1 = beta1,
                   .beta2 = beta2,
                   .eps = eps,
                   .wd = weight_decay,
                   .grad_scale = grad_scale,
                   .inv_bc1 = (float)(1.0 / (1.0 - pow(beta1, t))),
                   .inv_bc2 = (float)(1.0 / (1.0 - pow(beta2, t)))};
    FOR_EACH_ELEM_CHUNK(be, n, lo, len,
                        adamw_kernel(params + lo, grads + lo, m + lo, v + lo, len, &c));
}
