/* The compute backend contract.
 *
 * A backend owns its memory: every tensor pointer passed to an op below was returned by
 * that backend's alloc (or points inside such a block). Host data crosses only through
 * upload/download, so a device backend (CUDA) can implement every op on the device and a
 * training step never copies activations to the host.
 *
 * All tensors are row-major float32 unless named otherwise; token ids are int32.
 * CPU backends share one OpenMP implementation of every non-matmul op (cpu_ops.c) and
 * differ only in matmul. Every op is deterministic: for a fixed backend and thread count
 * the same inputs give bit-identical outputs (reductions use a fixed partition and order).
 *
 * Errors: ops return no status (a device backend queues them asynchronously). An op that
 * fails (out of memory, a primitive the library refuses, a failed launch) records a sticky
 * error in the Backend with backend_fail, which keeps the FIRST error; sync waits for the
 * queued work and returns that status (0 = ok). After a failure the outputs of the failed op
 * and of later ops are unspecified and the status stays set until the backend is destroyed,
 * so a caller checks sync once per unit of work (a training step) and stops on non-zero.
 * Every member of BackendOps after `description` is an op pointer and every backend fills
 * all of them (the tests walk the struct to check it).
 */
#ifndef MDMLAB_BACKEND_H
#define MDMLAB_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

typedef struct Backend Backend;

enum { BACKEND_SUBTOKEN_MAX_ELL = 8 }; /* subtoken_filter's bound on digits per token */

/* C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b in [0, batch).
 * op(A) is m x k: A stored m x k (lda >= k), or k x m when trans_a (lda >= m).
 * op(B) is k x n: B stored k x n (ldb >= n), or n x k when trans_b (ldb >= k).
 * C is m x n with ldc >= n. stride_* are element offsets between batch items.
 * beta == 0 means C is overwritten (its old contents, even NaN, are ignored). */
typedef struct MatmulArgs {
    int trans_a, trans_b;
    int m, n, k;
    const float *a;
    int lda;
    long stride_a;
    const float *b;
    int ldb;
    long stride_b;
    float *c;
    int ldc;
    long stride_c;
    int batch;
    float alpha, beta;
} MatmulArgs;

typedef struct BackendOps {
    const char *name;
    const char *description;
    /* The backend's own keys (base/config.h), or NULL. */
    const struct ConfigSection *config;
    /* Set up be->impl; threads > 0 (the caller resolves 0 to the core count). */
    int (*create)(Backend *be, Err *err);
    void (*destroy)(Backend *be);

    /* Memory. alloc returns zeroed memory aligned to 64 bytes, or NULL. */
    void *(*alloc)(Backend *be, size_t bytes);
    void (*free)(Backend *be, void *p);
    void (*upload)(Backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(Backend *be, void *dst, const void *src, size_t bytes);
    void (*copy)(Backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(Backend *be, void *p, size_t bytes);
    /* Waits until every queued op has finished; returns be->status (0 = ok, see above). */
    int (*sync)(Backend *be);

    void (*matmul)(Backend *be, const MatmulArgs *args);

    /* out[i, :] = wte[tokens[i], :] for i < n; d columns. */
    void (*embedding_forward)(Backend *be, float *out, const int *tokens, const float *wte, int n,
                              int d);
    /* dwte[tokens[i], :] += dout[i, :]. Deterministic (no racing scatter). */
    void (*embedding_backward)(Backend *be, float *dwte, const int *tokens, const float *dout,
                               int n, int d, int vocab);

    /* rstd[i] = 1/sqrt(mean(x[i,:]^2) + eps); out[i,:] = x[i,:] * rstd[i] * w. */
    void (*rmsnorm_forward)(Backend *be, float *out, float *rstd, const float *x, const float *w,
                            int n, int d, float eps);
    /* dx += d/dx, dw += d/dw (both ACCUMULATE), given rstd saved by the forward. */
    void (*rmsnorm_backward)(Backend *be, float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *rstd, int n, int d);

    /* x[i, j] += bias[j] for an n x d matrix. */
    void (*bias_forward)(Backend *be, float *x, const float *bias, int n, int d);
    /* dbias[j] += sum_i dout[i, j]. */
    void (*bias_backward)(Backend *be, float *dbias, const float *dout, int n, int d);

    /* Split the fused projection qkv (B, T, 3*H*hd; each row is [q | k | v], head h at columns
     * h*hd) into q, k, v laid out (B, H, T, hd), applying RoPE to q and k.
     * RoPE pairs dims (j1, j2) = (j, j + s) within each block of 2s dims (pair_stride s =
     * hd/2: the standard half-split rotation; s = 1: the adjacent pairs (2i, 2i+1) of PUMA's
     * reference code) and maps each pair as
     *   out_j1 = x_j1 cos(t, j1) - x_j2 sin(t, j1);  out_j2 = x_j1 sin(t, j2) + x_j2 cos(t, j2)
     * with cos/sin tables of shape (T, hd) (backend memory, filled by the caller). With equal
     * angles for j1 and j2 this is a rotation; the reference variant's are not equal. */
    void (*qkv_split_rope_forward)(Backend *be, float *q, float *k, float *v, const float *qkv,
                                   const float *rope_cos, const float *rope_sin, int pair_stride,
                                   int B, int T, int H, int hd);
    /* The adjoint: dqkv = split^T(rope^T(dq), rope^T(dk), dv), rope^T the transpose of the
     * map above. OVERWRITES dqkv. */
    void (*qkv_split_rope_backward)(Backend *be, float *dqkv, const float *dq, const float *dk,
                                    const float *dv, const float *rope_cos, const float *rope_sin,
                                    int pair_stride, int B, int T, int H, int hd);
    /* out (B, T, H*hd) <- y (B, H, T, hd), a permutation; backward is the inverse permutation.
     * Both OVERWRITE their output. */
    void (*heads_merge_forward)(Backend *be, float *out, const float *y, int B, int T, int H,
                                int hd);
    void (*heads_merge_backward)(Backend *be, float *dy, const float *dout, int B, int T, int H,
                                 int hd);

    /* In-place row softmax over `rows` rows of length T (attention scores already scaled).
     * Row r is query position t = r % T. Without causal every key is attended. When causal,
     * a future key j > t is attended iff attention_future_key_kept(mask_seed, r, j,
     * future_keep): never for future_keep <= 0 (plain causal; mask_seed unused), always for
     * future_keep >= 1 (full attention), and in between a fixed pseudo-random subset (a
     * partially causal mask, used to anneal causal attention to full). Entries of keys not
     * attended become exactly 0. */
    void (*softmax_forward)(Backend *be, float *att, long rows, int T, int causal,
                            float future_keep, uint64_t mask_seed);
    /* In-place: datt <- att * (datt - sum_j att_j * datt_j), row by row. Needs no mask: a key
     * the forward did not attend has att exactly 0, so its gradient is exactly 0 too. */
    void (*softmax_backward)(Backend *be, float *datt, const float *att, long rows, int T);

    /* out = silu(a) * b elementwise, silu(x) = x / (1 + exp(-x)). */
    void (*swiglu_forward)(Backend *be, float *out, const float *a, const float *b, long n);
    /* da = dout * b * silu'(a), db = dout * silu(a). OVERWRITES da and db. */
    void (*swiglu_backward)(Backend *be, float *da, float *db, const float *dout, const float *a,
                            const float *b, long n);

    /* out = x + y elementwise; out may alias x or y. */
    void (*add)(Backend *be, float *out, const float *x, const float *y, long n);

    /* Weighted cross-entropy over n rows of V logits, fused with its gradient.
     * For each row i with weight w = weights[i]:
     *   loss_rows[i] = w * (logsumexp(logits[i]) - logits[i, targets[i]])   (0 when w == 0)
     *   dlogits[i, :] = w * (softmax(logits[i]) - onehot(targets[i]))        (0 when w == 0)
     * dlogits may be NULL (evaluation). dlogits may alias logits. */
    void (*xent_forward_backward)(Backend *be, float *loss_rows, float *dlogits,
                                  const float *logits, const int *targets, const float *weights,
                                  int n, int V);
    /* The model's confidence per row of n rows of V logits, token exclude_id left out (none
     * when outside [0, V)): out[i] = max over v != exclude_id of the log-softmax of logits[i]
     * over v != exclude_id. Arithmetic: hi = the kept logits' max in float, z = sum over kept v
     * in ascending order of exp((double)(logit - hi)) in double, out = (float)-log(z). The CPU
     * backends follow it exactly (PUMA consumes it and its runs are gated bit for bit); a
     * device backend matches it to rounding. */
    void (*max_log_prob)(Backend *be, float *out, const float *logits, int n, int V,
                         int exclude_id);

    /* MDM-Prime's filter (tasks/lib/subtoken.h): in place over n rows of V logits, the logit of
     * every token inconsistent with the row's known sub-tokens becomes -INFINITY, so the
     * softmax gives it probability exactly 0 and the cross-entropy gradient is exactly 0 there
     * (no backward op is needed). ids (ell, n): ids[j * n + i] = j * (base + 1) + digit j of
     * row i, digit == base meaning masked; codes (V, ell): the digits of each token. Token v
     * is consistent when codes[v * ell + j] equals every known digit j; ell <=
     * BACKEND_SUBTOKEN_MAX_ELL. Exact (no arithmetic). */
    void (*subtoken_filter)(Backend *be, float *logits, const int *ids, const int *codes, int n,
                            int V, int ell, int base);

    /* Returns sum of x[i]^2 in double, reduced in a fixed order (deterministic). */
    double (*sumsq)(Backend *be, const float *x, long n);
    /* x *= s */
    void (*scale)(Backend *be, float *x, float s, long n);

    /* One AdamW step (decoupled weight decay), t is the 1-based step count:
     *   g = grads * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
     *   p -= lr * ( (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) + wd * p ) */
    void (*adamw)(Backend *be, float *params, const float *grads, float *m, float *v, long n,
                  float lr, float beta1, float beta2, float eps, float weight_decay,
                  float grad_scale, int t);
    /* ema = decay * ema + (1 - decay) * params */
    void (*ema_update)(Backend *be, float *ema, const float *params, long n, float decay);
} BackendOps;

/* The partially causal mask of softmax_forward, part of the contract so that every backend
 * (and the tests' reference) drops the same keys: a splitmix64 hash of (mask_seed, row, key)
 * gives a uniform 24-bit fraction u, and the future key is kept iff u < future_keep. */
static inline int attention_future_key_kept(uint64_t mask_seed, long row, int key,
                                            float future_keep) {
    uint64_t z = mask_seed + 0x9e3779b97f4a7c15ULL * (((uint64_t)row << 32) + (uint32_t)key + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f) < future_keep;
}

struct Backend {
    const BackendOps *ops;
    void *impl;           /* backend-private state (primitive caches, handles) */
    int threads;          /* threads the backend may use */
    int status;           /* 0, or non-zero after an op failed: sticky (see the contract above) */
    char status_msg[256]; /* the first failure: "<op>: <what failed>" */
};

/* Records a failure of an op of be (message "<op>: <what failed>") unless one is already
 * recorded: the first error is the one kept. Call it from the thread that called the op,
 * never from inside a parallel region. */
void backend_fail(Backend *be, const char *fmt, ...) MDM_PRINTF(2, 3);
/* 0 when be->status is 0; else -1 with err = "backend '<name>': <status_msg>". Reads the
 * status as last recorded: call sync first to include queued work. */
int backend_check(const Backend *be, Err *err);

/* What threads=0 means: the cores not busy with other processes right now (at least 1).
 * OpenMP threads wait for each other at every op, so a run that shares its cores with other
 * jobs slows down (measured: 1.49x slower with 2 threads than with 1 beside two busy jobs
 * on 2 cores); on an idle machine it is every core. */
int backend_default_threads(void);
/* Its rule, from /proc/loadavg's 1-minute load and its count of runnable entities (this
 * process included): cores - min(round(load1), running - 1), at least 1. */
int backend_threads_for_load(int cores, double load1, int running);

/* Registry: backends compiled into this build, in order of preference for "auto". */
int backend_count(void);
const BackendOps *backend_at(int i);
const BackendOps *backend_find(const char *name); /* NULL if unknown or not built */
/* Create by name ("auto" = the fastest built backend). threads <= 0 means all cores. */
int backend_create(Backend *be, const char *name, int threads, Err *err);
void backend_destroy(Backend *be);
/* Comma-separated names of built backends, for --help and error messages. */
const char *backend_names(void);

#endif
